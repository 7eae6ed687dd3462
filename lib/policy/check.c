/*
 * policy/check — gathering the facts of a domain check. See check.h.
 *
 * Order of work (each arrow is an asynchronous step; every MX host moves
 * through its steps independently of the others):
 *
 *   start -> MX, _mta-sts TXT, _smtp._tls TXT      (three lookups at once)
 *   MX    -> for each host: A and AAAA             (RFC 7672 §2.2.1)
 *   A+AAAA secure -> TLSA _25._tcp.<final CNAME target>, and when that
 *            has no records and the name was an alias,
 *            TLSA _25._tcp.<original name>         (RFC 7672 §2.2.3)
 *   A+AAAA insecure -> no TLSA lookup: pre-DANE TLS (RFC 7672 §2.2.3)
 *   then  -> one STARTTLS probe per address, verified as our relay would
 *   _mta-sts valid -> fetch the policy (RFC 8461 §3.3), and once a host's
 *            addresses are known, one PKIX STARTTLS probe of its first
 *            address (RFC 8461 §4.2)
 *
 * A counter of outstanding steps ends the check: when it reaches zero a
 * zero-timeout event runs the verdict and the caller's callback, so the
 * callback never runs inside a resolver or probe callback.
 */
#include "policy/check.h"
#include "util/text.h"

#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/dname.h"

#define CHECK_DEFAULT_STEP_MS	10000

struct check_host {
	struct tg_check *check;		/* borrowed: the owner */
	struct tg_check_mx *mx;		/* borrowed: in the report */
	struct tg_dns_query *q_a, *q_aaaa, *q_tlsa;
	int a_done, aaaa_done;
	int tlsa_on_original;		/* fallback lookup under way */
	struct tg_probe *probes[TG_CHECK_ADDRS_MAX];
	struct tg_tls_verify verify;	/* lives until every probe ended */
	const char *names[2];		/* DANE-TA reference identifiers */
	struct tg_probe *sts_probe;	/* the PKIX probe (MTA-STS) */
	struct tg_tls_verify sts_verify;
	int sts_started;
};

struct tg_check {
	struct event_base *base;	/* borrowed */
	struct tg_resolver *resolver;	/* borrowed */
	struct tg_check_params params;	/* strings point into the copies */
	char helo[TG_DNS_NAME_SIZE];
	struct tg_check_report *report;	/* owned until handed over */
	struct tg_dns_query *q_mx, *q_sts, *q_rpt;
	struct tg_stsclient_fetcher fetcher;	/* .start NULL: no fetch */
	void *sts_fetch;		/* the fetcher's handle, while
					   running */
	struct tg_cache_sts *cached;	/* owned: the relay's row, or NULL */
	struct check_host hosts[TG_CHECK_MX_MAX];
	int pending;
	struct event *done;		/* owned */
	tg_check_cb cb;
	void *arg;
};

static void check_step_done(struct tg_check *c);
static void check_host_probe(struct check_host *h);
static void check_sts_start(struct tg_check *c);

/* ---- TXT records: _mta-sts and _smtp._tls ---- */

static void
check_txt_facts(const struct tg_dns_answer *ans, struct tg_check_txt *t,
    const char **texts, size_t *lens, char store[][1024], size_t *n)
{
	struct tg_err err;
	size_t i;

	t->looked_up = 1;
	t->status = ans->status;
	t->security = ans->security;
	*n = 0;
	for (i = 0; i < ans->nrr && *n < 8; i++) {
		if (ans->rr[i].type != TG_DNS_T_TXT)
			continue;
		if (tg_dns_txt_join(ans->rr[i].data, ans->rr[i].len, store[*n],
		    sizeof(store[0]), &lens[*n], &err) != 0) {
			tg_text_fmt(t->error, sizeof(t->error), "%s", err.msg);
			continue;
		}
		texts[*n] = store[*n];
		(*n)++;
	}
	t->nrecords = *n;
}

static void
check_on_sts_txt(const struct tg_dns_answer *ans, void *arg)
{
	struct tg_check *c = arg;
	struct tg_check_report *rep = c->report;
	char store[8][1024];
	const char *texts[8];
	size_t lens[8], n;
	struct tg_err err;

	c->q_sts = NULL;
	check_txt_facts(ans, &rep->sts_txt, texts, lens, store, &n);
	if (ans->status == TG_DNS_OK) {
		if (tg_sts_txt_select(texts, lens, n, &rep->sts, &err) == 0) {
			rep->sts_txt.valid = 1;
			check_sts_start(c);
		} else
			tg_text_fmt(rep->sts_txt.error,
			    sizeof(rep->sts_txt.error), "%s", err.msg);
	} else if (ans->status == TG_DNS_TEMPFAIL) {
		tg_text_fmt(rep->sts_txt.error, sizeof(rep->sts_txt.error),
		    "%s", ans->error);
	}
	check_step_done(c);
}

static void
check_on_rpt_txt(const struct tg_dns_answer *ans, void *arg)
{
	struct tg_check *c = arg;
	struct tg_check_report *rep = c->report;
	char store[8][1024];
	const char *texts[8];
	size_t lens[8], n;
	struct tg_err err;

	c->q_rpt = NULL;
	check_txt_facts(ans, &rep->tlsrpt_txt, texts, lens, store, &n);
	if (ans->status == TG_DNS_OK) {
		if (tg_tlsrpt_txt_select(texts, lens, n, &rep->tlsrpt,
		    &err) == 0)
			rep->tlsrpt_txt.valid = 1;
		else
			tg_text_fmt(rep->tlsrpt_txt.error,
			    sizeof(rep->tlsrpt_txt.error), "%s", err.msg);
	} else if (ans->status == TG_DNS_TEMPFAIL) {
		tg_text_fmt(rep->tlsrpt_txt.error,
		    sizeof(rep->tlsrpt_txt.error), "%s", ans->error);
	}
	check_step_done(c);
}

/* ---- per MX host: TLSA ---- */

static int
check_query(struct tg_check *c, struct tg_dns_query **slot,
    const char *name, uint16_t type, tg_dns_cb *cb, void *arg)
{
	struct tg_err err;

	*slot = tg_resolver_query(c->resolver, name, type, cb, arg, &err);
	if (*slot == NULL)
		return -1;
	c->pending++;
	return 0;
}

static void check_on_tlsa(const struct tg_dns_answer *ans, void *arg);

static void
check_tlsa_lookup(struct check_host *h, const char *base)
{
	struct tg_check_mx *mx = h->mx;

	tg_text_fmt(mx->tlsa_base, sizeof(mx->tlsa_base), "%s", base);
	tg_text_fmt(mx->tlsa_owner, sizeof(mx->tlsa_owner), "_%u._tcp.%s",
	    h->check->params.port, base);
	mx->tlsa_looked_up = 1;
	if (check_query(h->check, &h->q_tlsa, mx->tlsa_owner, TG_DNS_T_TLSA,
	    check_on_tlsa, h) != 0) {
		mx->tlsa_status = TG_DNS_TEMPFAIL;
		mx->tlsa_security = TG_DNS_INDETERMINATE;
		tg_text_fmt(mx->tlsa_why, sizeof(mx->tlsa_why),
		    "could not start the TLSA lookup");
		check_host_probe(h);
	}
}

static void
check_tlsa_records(struct tg_check_mx *mx, const struct tg_dns_answer *ans)
{
	struct tg_err err;
	size_t i;

	mx->ntlsa = 0;
	for (i = 0; i < ans->nrr && mx->ntlsa < TG_CHECK_TLSA_MAX; i++) {
		if (ans->rr[i].type != TG_DNS_T_TLSA)
			continue;
		if (tg_tlsa_parse_wire(ans->rr[i].data, ans->rr[i].len,
		    &mx->tlsa[mx->ntlsa], &err) == 0)
			mx->ntlsa++;
	}
	mx->tlsa_usable = tg_tlsa_count_usable(mx->tlsa, mx->ntlsa);
	mx->tlsa_rollover = tg_tlsa_has_rollover(mx->tlsa, mx->ntlsa);
}

static void
check_on_tlsa(const struct tg_dns_answer *ans, void *arg)
{
	struct check_host *h = arg;
	struct tg_check_mx *mx = h->mx;
	struct tg_check *c = h->check;

	h->q_tlsa = NULL;
	mx->tlsa_status = ans->status;
	mx->tlsa_security = ans->security;
	tg_text_fmt(mx->tlsa_why, sizeof(mx->tlsa_why), "%s",
	    ans->security == TG_DNS_BOGUS ? ans->why_bogus : ans->error);
	/*
	 * RFC 7672 §2.2.3: with a secure CNAME chain, TLSA is looked up at
	 * the final target first; when that has no records (secure denial)
	 * the original name is tried as the TLSA base domain.
	 */
	if (mx->is_cname && !h->tlsa_on_original &&
	    ans->security == TG_DNS_SECURE &&
	    (ans->status == TG_DNS_NXDOMAIN || ans->status == TG_DNS_NODATA)) {
		h->tlsa_on_original = 1;
		check_tlsa_lookup(h, mx->host);
		check_step_done(c);
		return;
	}
	if (ans->status == TG_DNS_OK)
		check_tlsa_records(mx, ans);
	check_host_probe(h);
	check_step_done(c);
}

/* ---- per MX host: STARTTLS probes ---- */

struct check_probe_ctx {
	struct check_host *host;
	size_t index;
};

static void
check_on_probe(const struct tg_probe_result *res, void *arg)
{
	struct check_probe_ctx *pc = arg;
	struct check_host *h = pc->host;
	struct tg_check_addr *a = &h->mx->addrs[pc->index];

	h->probes[pc->index] = NULL;
	a->probed = 1;
	a->probe = *res;
	a->tlsa_match = res->tls_started && res->tls.mode == TG_TLS_DANE &&
	    res->tls.verified && res->tls.dane_depth >= 0;
	free(pc);
	check_step_done(h->check);
}

/*
 * Verification as our relay would do it: DANE with the secure usable TLSA
 * records, the TLSA base domain as SNI and first reference identifier and,
 * when the MX RRset is secure, the MX host name and the next-hop domain as
 * further DANE-TA identifiers (RFC 7672 §3.2.2); otherwise opportunistic
 * TLS. The check never aborts a handshake (report_only), so that it can
 * show the chain that failed.
 */
static void
check_host_verify(struct check_host *h)
{
	struct tg_check_mx *mx = h->mx;
	struct tg_tls_verify *v = &h->verify;
	size_t n = 0;

	memset(v, 0, sizeof(*v));
	v->report_only = 1;
	v->host = mx->host;
	if (mx->tlsa_looked_up && mx->tlsa_status == TG_DNS_OK &&
	    mx->tlsa_security == TG_DNS_SECURE) {
		v->mode = TG_TLS_DANE;
		v->tlsa_base = mx->tlsa_base;
		v->tlsa = mx->tlsa;
		v->tlsa_n = mx->ntlsa;
		if (h->check->report->mx_security == TG_DNS_SECURE) {
			if (strcmp(mx->host, mx->tlsa_base) != 0)
				h->names[n++] = mx->host;
			h->names[n++] = h->check->report->domain;
		}
		v->names = h->names;
		v->n_names = n;
	} else {
		v->mode = TG_TLS_OPPORTUNISTIC;
	}
}

static void
check_host_probe(struct check_host *h)
{
	struct tg_check *c = h->check;
	struct tg_probe_params pp;
	struct check_probe_ctx *pc;
	struct tg_err err;
	size_t i;

	if (!c->params.probe)
		return;
	check_host_verify(h);
	for (i = 0; i < h->mx->naddrs; i++) {
		tg_probe_params_init(&pp);
		pp.addr = h->mx->addrs[i].addr;
		pp.port = c->params.port;
		pp.helo_name = c->helo;
		pp.ctx = c->params.ctx;
		pp.verify = &h->verify;
		pp.connect_ms = pp.banner_ms = pp.ehlo_ms = pp.starttls_ms =
		    pp.tls_ms = pp.quit_ms = c->params.step_timeout_ms;
		if ((pc = calloc(1, sizeof(*pc))) == NULL)
			continue;
		pc->host = h;
		pc->index = i;
		h->probes[i] = tg_probe_start(c->base, &pp, check_on_probe, pc,
		    &err);
		if (h->probes[i] == NULL) {
			free(pc);
			h->mx->addrs[i].probed = 1;
			h->mx->addrs[i].probe.status = TG_PROBE_INTERNAL;
			tg_text_fmt(h->mx->addrs[i].probe.reason,
			    sizeof(h->mx->addrs[i].probe.reason), "%s",
			    err.msg);
			continue;
		}
		c->pending++;
	}
}

/* ---- MTA-STS: the policy and a PKIX session per MX host ---- */

static void
check_on_sts_probe(const struct tg_probe_result *res, void *arg)
{
	struct check_host *h = arg;
	struct tg_check_mx *mx = h->mx;

	h->sts_probe = NULL;
	mx->webpki_probed = 1;
	mx->webpki = *res;
	check_step_done(h->check);
}

/*
 * RFC 8461 §4.2: the MX's certificate must be valid in the web PKI for
 * the MX host name, which is also the SNI (§7.1). One session, on the
 * first address; report_only so the check sees the chain that failed.
 */
static void
check_host_sts_probe(struct check_host *h)
{
	struct tg_check *c = h->check;
	struct tg_check_mx *mx = h->mx;
	struct tg_probe_params pp;
	struct tg_err err;

	if (!c->params.probe || !c->report->sts_txt.valid || h->sts_started ||
	    !h->a_done || !h->aaaa_done || mx->naddrs == 0)
		return;
	h->sts_started = 1;
	memset(&h->sts_verify, 0, sizeof(h->sts_verify));
	h->sts_verify.mode = TG_TLS_PKIX;
	h->sts_verify.host = mx->host;
	h->sts_verify.report_only = 1;
	tg_probe_params_init(&pp);
	pp.addr = mx->addrs[0].addr;
	pp.port = c->params.port;
	pp.helo_name = c->helo;
	pp.ctx = c->params.ctx;
	pp.verify = &h->sts_verify;
	pp.connect_ms = pp.banner_ms = pp.ehlo_ms = pp.starttls_ms =
	    pp.tls_ms = pp.quit_ms = c->params.step_timeout_ms;
	tg_text_fmt(mx->webpki_addr, sizeof(mx->webpki_addr), "%s", pp.addr);
	h->sts_probe = tg_probe_start(c->base, &pp, check_on_sts_probe, h,
	    &err);
	if (h->sts_probe == NULL) {
		mx->webpki_probed = 1;
		mx->webpki.status = TG_PROBE_INTERNAL;
		tg_text_fmt(mx->webpki.reason, sizeof(mx->webpki.reason), "%s",
		    err.msg);
		return;
	}
	c->pending++;
}

/* 1 if the cached and the fetched policy say different things. */
static int
check_sts_differs(const struct tg_cache_sts_policy *cp,
    const struct tg_sts_policy *p)
{
	size_t i;

	if (cp->mode != (int)p->mode || cp->max_age != p->max_age ||
	    cp->n_mx != p->count)
		return 1;
	for (i = 0; i < p->count; i++)
		if (strcmp(cp->mx[i], p->mx[i]) != 0)
			return 1;
	return 0;
}

static void
check_on_sts_fetch(const struct tg_sts_fetch_result *r, void *arg)
{
	struct tg_check *c = arg;
	struct tg_check_sts_facts *f = &c->report->sts_policy;

	c->sts_fetch = NULL;
	f->fetched = 1;
	f->ok = r->ok;
	f->http_status = r->status;
	tg_text_fmt(f->url, sizeof(f->url), "%s", r->url);
	if (r->ok) {
		f->policy = r->policy;
		f->cached_differs = c->cached != NULL &&
		    check_sts_differs(&c->cached->policy, &r->policy);
	} else {
		f->result_type = r->err.result_type != NULL ?
		    r->err.result_type : TG_FETCH_RESULT_FETCH_ERROR;
		tg_text_fmt(f->error, sizeof(f->error), "%s", r->err.msg);
	}
	check_step_done(c);
}

/* The _mta-sts record is valid: fetch the policy, probe the hosts whose
 * addresses are known already (the others start when theirs are). */
static void
check_sts_start(struct tg_check *c)
{
	struct tg_check_sts_facts *f = &c->report->sts_policy;
	struct tg_err err;
	size_t i;

	if (c->fetcher.start != NULL) {
		c->sts_fetch = c->fetcher.start(c->fetcher.ctx,
		    c->report->domain, check_on_sts_fetch, c, &err);
		if (c->sts_fetch != NULL) {
			c->pending++;
		} else {
			f->fetched = 1;
			f->result_type = TG_FETCH_RESULT_FETCH_ERROR;
			tg_text_fmt(f->error, sizeof(f->error), "%s", err.msg);
		}
	}
	for (i = 0; i < c->report->nmx; i++)
		check_host_sts_probe(&c->hosts[i]);
}

/* What the relay's cache holds for the domain (read once, at start). */
static void
check_sts_cache(struct tg_check *c, struct tg_cache *cache)
{
	struct tg_check_sts_facts *f = &c->report->sts_policy;
	struct tg_cache_sts *row;
	struct tg_err err;

	if (cache == NULL || (row = malloc(sizeof(*row))) == NULL)
		return;
	if (tg_cache_sts_get(cache, c->report->domain, row, &err) == 0 &&
	    row->has_policy) {
		f->cached = 1;
		tg_text_fmt(f->cached_id, sizeof(f->cached_id), "%s",
		    row->policy.id);
		f->cached_mode = (enum tg_sts_mode)row->policy.mode;
		f->cached_max_age = row->policy.max_age;
		f->cached_fetched_at = row->policy.fetched_at;
		f->cached_expires_at = row->policy.expires_at;
		c->cached = row;
		return;
	}
	free(row);
}

/* ---- per MX host: addresses ---- */

static enum tg_dns_security
check_weakest(enum tg_dns_security a, enum tg_dns_security b)
{
	/* bogus < indeterminate < insecure < secure, for our purposes */
	static const int rank[] = { 1, 2, 3, 0 };	/* by enum value */

	return rank[a] <= rank[b] ? a : b;
}

static void
check_addr_answer(struct check_host *h, const struct tg_dns_answer *ans)
{
	struct tg_check_mx *mx = h->mx;
	struct tg_err err;
	size_t i;

	if (ans->status == TG_DNS_TEMPFAIL) {
		mx->addr_tempfail = 1;
		tg_text_fmt(mx->addr_error, sizeof(mx->addr_error), "%s",
		    ans->error);
	}
	if (ans->security == TG_DNS_BOGUS)
		tg_text_fmt(mx->addr_error, sizeof(mx->addr_error), "%s",
		    ans->why_bogus);
	/* An empty family (NODATA) says nothing about the other's security. */
	if (ans->status == TG_DNS_OK || ans->status == TG_DNS_TEMPFAIL ||
	    ans->security == TG_DNS_BOGUS || h->a_done + h->aaaa_done == 0)
		mx->addr_security = (h->a_done + h->aaaa_done == 0) ?
		    ans->security : check_weakest(mx->addr_security,
		    ans->security);
	if (ans->ncname > 0) {
		mx->is_cname = 1;
		tg_text_fmt(mx->canon, sizeof(mx->canon), "%s", ans->canon);
	}
	for (i = 0; i < ans->nrr && mx->naddrs < TG_CHECK_ADDRS_MAX; i++) {
		if (ans->rr[i].type != ans->qtype)
			continue;
		if (tg_dns_addr_text(ans->rr[i].type, ans->rr[i].data,
		    ans->rr[i].len, mx->addrs[mx->naddrs].addr,
		    sizeof(mx->addrs[0].addr), &err) == 0)
			mx->naddrs++;
	}
}

/* Both address lookups are in: decide about TLSA, or probe right away. */
static void
check_addrs_complete(struct check_host *h)
{
	struct tg_check_mx *mx = h->mx;

	check_host_sts_probe(h);
	if (mx->naddrs > 0 && mx->addr_security == TG_DNS_SECURE &&
	    h->check->report->mx_security != TG_DNS_BOGUS) {
		check_tlsa_lookup(h, mx->is_cname ? mx->canon : mx->host);
		return;
	}
	/* Insecure or bogus addresses: no TLSA lookup (RFC 7672 §2.2.3). */
	check_host_probe(h);
}

static void
check_on_addr(const struct tg_dns_answer *ans, void *arg)
{
	struct check_host *h = arg;

	check_addr_answer(h, ans);
	if (ans->qtype == TG_DNS_T_A) {
		h->q_a = NULL;
		h->a_done = 1;
	} else {
		h->q_aaaa = NULL;
		h->aaaa_done = 1;
	}
	if (h->a_done && h->aaaa_done)
		check_addrs_complete(h);
	check_step_done(h->check);
}

/* ---- the MX RRset ---- */

static void
check_host_start(struct tg_check *c, size_t i, const char *host,
    unsigned pref)
{
	struct check_host *h = &c->hosts[i];
	struct tg_check_mx *mx = &c->report->mx[i];

	h->check = c;
	h->mx = mx;
	tg_text_fmt(mx->host, sizeof(mx->host), "%s", host);
	tg_text_fmt(mx->canon, sizeof(mx->canon), "%s", host);
	mx->pref = pref;
	mx->addr_security = TG_DNS_INDETERMINATE;
	if (check_query(c, &h->q_a, host, TG_DNS_T_A, check_on_addr, h) != 0)
		h->a_done = 1;
	if (check_query(c, &h->q_aaaa, host, TG_DNS_T_AAAA, check_on_addr,
	    h) != 0)
		h->aaaa_done = 1;
	if (h->a_done && h->aaaa_done) {
		mx->addr_tempfail = 1;
		tg_text_fmt(mx->addr_error, sizeof(mx->addr_error),
		    "could not start the address lookups");
	}
}

static void
check_on_mx(const struct tg_dns_answer *ans, void *arg)
{
	struct tg_check *c = arg;
	struct tg_check_report *rep = c->report;
	struct tg_dns_mx mxs[TG_DNS_RR_MAX];
	struct tg_err err;
	size_t n = 0, i;

	c->q_mx = NULL;
	rep->mx_status = ans->status;
	rep->mx_security = ans->security;
	tg_text_fmt(rep->mx_error, sizeof(rep->mx_error), "%s",
	    ans->security == TG_DNS_BOGUS ? ans->why_bogus : ans->error);
	if (ans->status == TG_DNS_NODATA) {
		/* RFC 5321 §5.1: no MX, the domain itself is the MX. */
		rep->implicit_mx = 1;
		rep->nmx = 1;
		check_host_start(c, 0, rep->domain, 0);
	} else if (ans->status == TG_DNS_OK) {
		if (tg_dns_answer_mx(ans, mxs, TG_DNS_RR_MAX, &n, &err) != 0) {
			rep->mx_status = TG_DNS_TEMPFAIL;
			tg_text_fmt(rep->mx_error, sizeof(rep->mx_error),
			    "malformed MX record: %s", err.msg);
			n = 0;
		}
		if (n == 1 && mxs[0].is_null)
			rep->null_mx = 1;	/* RFC 7505: no mail at all */
		for (i = 0; i < n && !rep->null_mx; i++) {
			if (rep->nmx == TG_CHECK_MX_MAX) {
				rep->mx_skipped++;
				continue;
			}
			if (mxs[i].is_null)
				continue;
			check_host_start(c, rep->nmx++, mxs[i].exchange,
			    mxs[i].pref);
		}
	}
	check_step_done(c);
}

/* ---- start, end ---- */

static void
check_free(struct tg_check *c)
{
	size_t i, j;

	for (i = 0; i < TG_CHECK_MX_MAX; i++) {
		struct check_host *h = &c->hosts[i];
		if (h->q_a != NULL)
			tg_resolver_cancel(c->resolver, h->q_a);
		if (h->q_aaaa != NULL)
			tg_resolver_cancel(c->resolver, h->q_aaaa);
		if (h->q_tlsa != NULL)
			tg_resolver_cancel(c->resolver, h->q_tlsa);
		for (j = 0; j < TG_CHECK_ADDRS_MAX; j++)
			if (h->probes[j] != NULL)
				tg_probe_cancel(h->probes[j]);
		if (h->sts_probe != NULL)
			tg_probe_cancel(h->sts_probe);
	}
	if (c->sts_fetch != NULL)
		c->fetcher.cancel(c->fetcher.ctx, c->sts_fetch);
	free(c->cached);
	if (c->q_mx != NULL)
		tg_resolver_cancel(c->resolver, c->q_mx);
	if (c->q_sts != NULL)
		tg_resolver_cancel(c->resolver, c->q_sts);
	if (c->q_rpt != NULL)
		tg_resolver_cancel(c->resolver, c->q_rpt);
	if (c->done != NULL)
		event_free(c->done);
	free(c->report);
	free(c);
}

static void
check_on_done(evutil_socket_t fd, short what, void *arg)
{
	struct tg_check *c = arg;
	struct tg_check_report *rep = c->report;

	(void)fd;
	(void)what;
	c->report = NULL;
	tg_check_judge(rep);
	c->cb(rep, c->arg);
	check_free(c);
}

static void
check_step_done(struct tg_check *c)
{
	if (--c->pending == 0)
		event_active(c->done, EV_TIMEOUT, 0);
}

struct tg_check *
tg_check_start(struct event_base *base, struct tg_resolver *r,
    const struct tg_check_params *params, tg_check_cb cb, void *arg,
    struct tg_err *err)
{
	char name[TG_DNS_NAME_SIZE + 16];
	struct tg_check *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->report = calloc(1, sizeof(*c->report))) == NULL) {
		free(c);
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	if (tg_dname_normalize(params->domain, c->report->domain,
	    sizeof(c->report->domain), err) != 0) {
		check_free(c);
		return NULL;
	}
	c->report->checked_at = tg_clock_now();
	c->base = base;
	c->resolver = r;
	c->params = *params;
	c->params.domain = c->report->domain;
	if (c->params.port == 0)
		c->params.port = 25;
	if (c->params.step_timeout_ms <= 0)
		c->params.step_timeout_ms = CHECK_DEFAULT_STEP_MS;
	tg_text_fmt(c->helo, sizeof(c->helo), "%s", params->helo_name != NULL ?
	    params->helo_name : "localhost");
	c->cb = cb;
	c->arg = arg;
	if (params->sts_fetcher != NULL)
		c->fetcher = *params->sts_fetcher;
	check_sts_cache(c, params->sts_cache);
	c->done = event_new(base, -1, 0, check_on_done, c);
	c->pending = 1;		/* held until every lookup has started */
	if (c->done == NULL ||
	    check_query(c, &c->q_mx, c->report->domain, TG_DNS_T_MX,
	    check_on_mx, c) != 0) {
		check_free(c);
		tg_err_set(err, TG_ERR_TEMP, NULL,
		    "cannot start the MX lookup");
		return NULL;
	}
	tg_text_fmt(name, sizeof(name), "_mta-sts.%s", c->report->domain);
	check_query(c, &c->q_sts, name, TG_DNS_T_TXT, check_on_sts_txt, c);
	tg_text_fmt(name, sizeof(name), "_smtp._tls.%s", c->report->domain);
	check_query(c, &c->q_rpt, name, TG_DNS_T_TXT, check_on_rpt_txt, c);
	check_step_done(c);
	return c;
}

void
tg_check_cancel(struct tg_check *c)
{
	if (c != NULL)
		check_free(c);
}
