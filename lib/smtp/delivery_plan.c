/*
 * smtp/delivery — see delivery.h. This file: resolving one destination
 * into a plan — MX, per host A/AAAA and TLSA, MTA-STS and the local
 * policy, all concurrently, or a route's host — and the policy decision
 * over it.
 */
#include "smtp/delivery_int.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "util/clock.h"
#include "util/text.h"

struct dlv_rhost {
	struct dlv_resolve *r;			/* borrowed: parent */
	size_t i;
	struct tg_dns_query *qa, *qaaaa, *qtlsa;	/* outstanding */
	int a_done, aaaa_done;
	int tlsa_on_original;
	int n_answers;				/* address answers in */
	enum tg_dns_status a_status;
};

struct dlv_resolve {
	struct dlv_dest *dest;			/* borrowed */
	struct dlv_plan *plan;			/* owned until installed */
	struct tg_dns_query *qmx;
	void *sts;				/* lookup handle */
	struct dlv_rhost h[TG_POLICY_MX_MAX];
	int pending;				/* lookups outstanding */
	int finishing;
};

static void plan_step_done(struct dlv_resolve *r);

void
dlv_plan_unref(struct dlv_plan *plan)
{
	size_t i;

	if (plan == NULL || --plan->refs > 0)
		return;
	for (i = 0; i < TG_POLICY_MX_MAX; i++)
		free(plan->host[i].tlsa);
	free(plan);
}

/* bogus < indeterminate < insecure < secure */
static enum tg_dns_security
weakest(enum tg_dns_security a, enum tg_dns_security b)
{
	static const int rank[] = { 1, 2, 3, 0 };	/* by enum value */

	return rank[a] <= rank[b] ? a : b;
}

/* A route's host is an internal name: the route resolver, when there
 * is one (it may answer from a hosts file). */
static struct tg_resolver *
plan_resolver(const struct dlv_dest *dest, const struct dlv_plan *plan)
{
	const struct tg_delivery_params *p = &dest->d->p;

	return plan->in.route && p->route_resolver != NULL ?
	    p->route_resolver : p->resolver;
}

static int
plan_query(struct dlv_resolve *r, struct tg_dns_query **slot,
    const char *name, uint16_t type, tg_dns_cb *cb, void *arg)
{
	struct tg_err err;

	*slot = tg_resolver_query(plan_resolver(r->dest, r->plan), name, type,
	    cb, arg, &err);
	if (*slot == NULL)
		return -1;
	r->pending++;
	return 0;
}

/* ---- TLSA ------------------------------------------------------------- */

static void plan_on_tlsa(const struct tg_dns_answer *ans, void *arg);

static void
plan_tlsa_lookup(struct dlv_rhost *rh, const char *base)
{
	struct dlv_plan *plan = rh->r->plan;
	struct tg_policy_host *in = &plan->in_host[rh->i];
	struct dlv_host *h = &plan->host[rh->i];
	char owner[TG_DNS_NAME_SIZE + 16];

	tg_text_fmt(h->tlsa_base, sizeof(h->tlsa_base), "%s", base);
	tg_text_fmt(owner, sizeof(owner), "_%u._tcp.%s",
	    rh->r->dest->d->p.port, base);
	in->tlsa_looked_up = 1;
	if (plan_query(rh->r, &rh->qtlsa, owner, TG_DNS_T_TLSA, plan_on_tlsa,
	    rh) != 0) {
		in->tlsa_status = TG_DNS_TEMPFAIL;
		in->tlsa_security = TG_DNS_INDETERMINATE;
	}
}

/* Keep the parseable records; an RRset none of whose records parses is
 * treated as a failed lookup (never as "no TLSA"). */
static void
plan_tlsa_records(struct dlv_rhost *rh, const struct tg_dns_answer *ans)
{
	struct tg_policy_host *in = &rh->r->plan->in_host[rh->i];
	struct dlv_host *h = &rh->r->plan->host[rh->i];
	struct tg_err err;
	size_t i;

	if (h->tlsa == NULL && (h->tlsa = calloc(TG_DELIVERY_TLSA_MAX,
	    sizeof(*h->tlsa))) == NULL) {
		in->tlsa_status = TG_DNS_TEMPFAIL;
		return;
	}
	h->ntlsa = 0;
	for (i = 0; i < ans->nrr && h->ntlsa < TG_DELIVERY_TLSA_MAX; i++)
		if (ans->rr[i].type == TG_DNS_T_TLSA &&
		    tg_tlsa_parse_wire(ans->rr[i].data, ans->rr[i].len,
		    &h->tlsa[h->ntlsa], &err) == 0)
			h->ntlsa++;
	if (h->ntlsa == 0)
		in->tlsa_status = TG_DNS_TEMPFAIL;
	in->tlsa = h->tlsa;
	in->tlsa_n = h->ntlsa;
}

static void
plan_on_tlsa(const struct tg_dns_answer *ans, void *arg)
{
	struct dlv_rhost *rh = arg;
	struct dlv_resolve *r = rh->r;
	struct tg_policy_host *in = &r->plan->in_host[rh->i];
	struct dlv_host *h = &r->plan->host[rh->i];

	rh->qtlsa = NULL;
	in->tlsa_status = ans->status;
	in->tlsa_security = ans->security;
	/* RFC 7672 §2.2.3: with a secure CNAME chain the target is asked
	 * first; on a secure denial there, the original name is the TLSA
	 * base domain. */
	if (h->is_cname && !rh->tlsa_on_original &&
	    ans->security == TG_DNS_SECURE &&
	    (ans->status == TG_DNS_NXDOMAIN || ans->status == TG_DNS_NODATA)) {
		rh->tlsa_on_original = 1;
		plan_tlsa_lookup(rh, h->name);
	} else if (ans->status == TG_DNS_OK)
		plan_tlsa_records(rh, ans);
	plan_step_done(r);
}

/* ---- addresses ---------------------------------------------------------- */

/*
 * Fold one A or AAAA answer into the host. Any bogus answer makes the
 * host bogus, any failure makes its lookup failed: a secure A next to a
 * failed AAAA must not pass as "insecure" and lose its TLSA (RFC 7672
 * §2.2.3 asks for DANE where the addresses are secure).
 */
static void
plan_addr_answer(struct dlv_rhost *rh, const struct tg_dns_answer *ans)
{
	struct tg_policy_host *in = &rh->r->plan->in_host[rh->i];
	struct dlv_host *h = &rh->r->plan->host[rh->i];
	struct tg_err err;
	size_t i;

	in->addr_security = rh->n_answers++ == 0 ? ans->security :
	    weakest(in->addr_security, ans->security);
	if (ans->status == TG_DNS_TEMPFAIL)
		in->addr_status = TG_DNS_TEMPFAIL;
	else if (in->addr_status != TG_DNS_TEMPFAIL &&
	    in->addr_status != TG_DNS_OK)
		in->addr_status = ans->status == TG_DNS_OK ? TG_DNS_NODATA :
		    ans->status;	/* OK only with an address, below */
	if (ans->ncname > 0) {
		h->is_cname = 1;
		tg_text_fmt(h->canon, sizeof(h->canon), "%s", ans->canon);
	}
	if (ans->status != TG_DNS_OK || ans->security == TG_DNS_BOGUS)
		return;
	for (i = 0; i < ans->nrr && h->naddr < TG_DELIVERY_ADDRS_MAX; i++)
		if (ans->rr[i].type == ans->qtype &&
		    tg_dns_addr_text(ans->rr[i].type, ans->rr[i].data,
		    ans->rr[i].len, h->addr[h->naddr], sizeof(h->addr[0]),
		    &err) == 0)
			h->naddr++;
	if (h->naddr > 0 && in->addr_status != TG_DNS_TEMPFAIL)
		in->addr_status = TG_DNS_OK;
}

static void
plan_on_addr(const struct tg_dns_answer *ans, void *arg)
{
	struct dlv_rhost *rh = arg;
	struct dlv_resolve *r = rh->r;
	struct tg_policy_host *in = &r->plan->in_host[rh->i];
	struct dlv_host *h = &r->plan->host[rh->i];

	if (ans->qtype == TG_DNS_T_A) {
		rh->qa = NULL;
		rh->a_done = 1;
	} else {
		rh->qaaaa = NULL;
		rh->aaaa_done = 1;
	}
	plan_addr_answer(rh, ans);
	if (rh->a_done && rh->aaaa_done) {
		if (in->addr_status == TG_DNS_TEMPFAIL)
			h->naddr = 0;
		/* RFC 7672 §2.2.3: TLSA only for secure addresses. */
		if (h->naddr > 0 && in->addr_security == TG_DNS_SECURE &&
		    r->plan->in.mx_security != TG_DNS_BOGUS &&
		    !r->plan->in.report_submission && !r->plan->in.route)
			plan_tlsa_lookup(rh, h->is_cname ? h->canon : h->name);
	}
	plan_step_done(r);
}

static void
plan_host_start(struct dlv_resolve *r, size_t i, const char *name,
    unsigned pref)
{
	struct dlv_plan *plan = r->plan;
	struct dlv_rhost *rh = &r->h[i];
	struct tg_policy_host *in = &plan->in_host[i];
	struct dlv_host *h = &plan->host[i];

	rh->r = r;
	rh->i = i;
	tg_text_fmt(h->name, sizeof(h->name), "%s", name);
	tg_text_fmt(h->canon, sizeof(h->canon), "%s", name);
	tg_text_fmt(h->tlsa_base, sizeof(h->tlsa_base), "%s", name);
	in->name = h->name;
	in->pref = pref;
	in->tlsa_base = h->tlsa_base;
	in->addr_status = TG_DNS_NODATA;
	in->addr_security = TG_DNS_INDETERMINATE;
	plan->in.nhosts = i + 1;
	if (plan_query(r, &rh->qa, name, TG_DNS_T_A, plan_on_addr, rh) != 0)
		rh->a_done = 1;
	if (plan_query(r, &rh->qaaaa, name, TG_DNS_T_AAAA, plan_on_addr,
	    rh) != 0)
		rh->aaaa_done = 1;
	if (rh->a_done || rh->aaaa_done)
		in->addr_status = TG_DNS_TEMPFAIL;	/* could not ask */
}

/* ---- MX ----------------------------------------------------------------- */

static void
plan_on_mx(const struct tg_dns_answer *ans, void *arg)
{
	struct dlv_resolve *r = arg;
	struct dlv_plan *plan = r->plan;
	struct tg_dns_mx *mxs;
	struct tg_err err;
	size_t n = 0, i, k = 0;

	r->qmx = NULL;
	plan->in.mx_status = ans->status;
	plan->in.mx_security = ans->security;
	if (ans->security == TG_DNS_BOGUS || ans->status == TG_DNS_TEMPFAIL) {
		/* RFC 7672 §2.1.1: no host lookups, the domain is deferred. */
	} else if (ans->status == TG_DNS_NODATA) {
		/* RFC 5321 §5.1: no MX, the domain itself is the host. */
		plan_host_start(r, 0, plan->domain, 0);
	} else if (ans->status == TG_DNS_OK) {
		mxs = calloc(TG_DNS_RR_MAX, sizeof(*mxs));
		if (mxs == NULL || tg_dns_answer_mx(ans, mxs, TG_DNS_RR_MAX, &n,
		    &err) != 0) {
			plan->in.mx_status = TG_DNS_TEMPFAIL;	/* malformed */
			n = 0;
		}
		/* RFC 7505 §3: a null MX alone means no mail at all. */
		plan->in.null_mx = n == 1 && mxs[0].is_null;
		for (i = 0; i < n && !plan->in.null_mx &&
		    k < TG_POLICY_MX_MAX; i++)
			if (!mxs[i].is_null)
				plan_host_start(r, k++, mxs[i].exchange,
				    mxs[i].pref);
		free(mxs);
	}
	plan_step_done(r);
}

/* ---- MTA-STS ------------------------------------------------------------ */

static void
plan_on_sts(const struct tg_sts_outcome *o, void *arg)
{
	struct dlv_resolve *r = arg;
	struct dlv_plan *plan = r->plan;
	struct tg_policy_sts *sts = &plan->in.sts;

	r->sts = NULL;
	switch (o->status) {
	case TG_STSCLIENT_CACHED:
	case TG_STSCLIENT_FETCHED:
		plan->sts_policy = o->policy;
		tg_text_fmt(plan->sts_id, sizeof(plan->sts_id), "%s",
		    o->policy_id);
		sts->state = TG_POLICY_STS_ACTIVE;
		break;
	case TG_STSCLIENT_NO_POLICY:
		/* RFC 8461 §3.3: a failed discovery without a cached policy
		 * is "no policy", reported (RFC 8460 §4.3.2.2). */
		sts->state = o->result_type != NULL ? TG_POLICY_STS_FAILED :
		    TG_POLICY_STS_NONE;
		break;
	case TG_STSCLIENT_ERROR:
	default:
		sts->state = TG_POLICY_STS_UNAVAILABLE;
		break;
	}
	if (o->result_type != NULL)
		tg_text_fmt(plan->sts_fail_type, sizeof(plan->sts_fail_type),
		    "%s", o->result_type);
	tg_text_fmt(plan->sts_reason, sizeof(plan->sts_reason), "%s",
	    o->reason);
	plan_step_done(r);
}

static void
plan_sts_start(struct dlv_resolve *r)
{
	const struct tg_delivery_sts *ops = &r->dest->d->p.sts;
	struct tg_err err;

	/* A report of ours is sent whatever the policy says: no need. */
	if (ops->lookup == NULL || r->plan->in.report_submission)
		return;
	r->sts = ops->lookup(ops->ctx, r->plan->domain, plan_on_sts, r, &err);
	if (r->sts == NULL) {
		/* Not knowing is not "no policy" (never downgrade). */
		r->plan->in.sts.state = TG_POLICY_STS_UNAVAILABLE;
		tg_text_fmt(r->plan->sts_reason, sizeof(r->plan->sts_reason),
		    "%s", err.msg);
		return;
	}
	r->pending++;
}

/* ---- the decision ------------------------------------------------------- */

static void
plan_local(struct dlv_plan *plan, struct tg_store *store)
{
	struct tg_store_dest_policy dp;
	struct tg_err err;
	int rc;

	if (store == NULL || plan->in.report_submission || plan->in.route)
		return;
	rc = tg_store_dest_get(store, plan->domain, &dp, &err);
	if (rc == 0) {
		plan->in.has_local = 1;
		plan->in.local = dp.mode;
	} else if (rc != TG_STORE_NOTFOUND) {
		plan->in.local_unavailable = 1;
		tg_text_fmt(plan->local_error, sizeof(plan->local_error), "%s",
		    err.msg);
	}
}

static void
plan_finish(struct dlv_resolve *r)
{
	struct dlv_dest *dest = r->dest;
	struct dlv_plan *plan = r->plan;

	plan_local(plan, dest->d->p.store);
	plan->in.hosts = plan->in_host;
	plan->in.domain = plan->domain;
	if (plan->in.sts.state == TG_POLICY_STS_ACTIVE) {
		plan->in.sts.policy = &plan->sts_policy;
		plan->in.sts.id = plan->sts_id;
	}
	if (plan->in.sts.state == TG_POLICY_STS_FAILED)
		plan->in.sts.fail_type = plan->sts_fail_type;
	plan->in.sts.fail_reason = plan->sts_reason;
	tg_policy_decide(&plan->in, &plan->dec, NULL);
	plan->made = tg_clock_now();
	plan->made_ms = tg_clock_mono_ms();
	dest->d->st.resolutions++;
	dlv_plan_unref(dest->plan);
	dest->plan = plan;
	r->plan = NULL;
	dest->res = NULL;
	free(r);
	dlv_dest_pump(dest);
}

static void
plan_step_done(struct dlv_resolve *r)
{
	if (--r->pending > 0 || r->finishing)
		return;
	r->finishing = 1;
	plan_finish(r);
}

/*
 * A route instead of the MX: one host, the route's. An address given as
 * such needs no lookup; a name is looked up as an MX host would be
 * (A and AAAA), its TLSA never.
 */
static void
plan_route_start(struct dlv_resolve *r, const struct tg_delivery_route *rt)
{
	struct dlv_plan *plan = r->plan;
	struct tg_policy_host *in = &plan->in_host[0];
	struct dlv_host *h = &plan->host[0];
	unsigned char bin[16];

	plan->in.route = 1;
	plan->in.route_tls = rt->require_tls;
	plan->port = rt->port;
	plan->in.mx_status = TG_DNS_OK;
	plan->in.mx_security = TG_DNS_INDETERMINATE;
	if (inet_pton(AF_INET, rt->host, bin) != 1 &&
	    inet_pton(AF_INET6, rt->host, bin) != 1) {
		plan_host_start(r, 0, rt->host, 0);
		return;
	}
	tg_text_fmt(h->name, sizeof(h->name), "%s", rt->host);
	tg_text_fmt(h->canon, sizeof(h->canon), "%s", rt->host);
	tg_text_fmt(h->addr[0], sizeof(h->addr[0]), "%s", rt->host);
	h->naddr = 1;
	in->name = h->name;
	in->tlsa_base = h->name;
	in->addr_status = TG_DNS_OK;
	in->addr_security = TG_DNS_INDETERMINATE;
	plan->in.nhosts = 1;
}

void
dlv_plan_start(struct dlv_dest *dest)
{
	struct tg_delivery_route rt;

	struct dlv_resolve *r;

	if (dest->res != NULL)
		return;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->plan = calloc(1, sizeof(*r->plan))) == NULL) {
		free(r);
		tg_log_err(NULL, "event=delivery domain=%s result=deferred "
		    "reason=\"out of memory\"", dest->domain);
		return;
	}
	r->dest = dest;
	r->plan->refs = 1;
	r->plan->in.report_submission = dest->report;
	tg_text_fmt(r->plan->domain, sizeof(r->plan->domain), "%s",
	    dest->domain);
	dest->res = r;
	r->pending = 1;		/* held until every lookup is started */
	memset(&rt, 0, sizeof(rt));
	if (!dest->report && dest->d->p.route != NULL &&
	    dest->d->p.route(dest->d->p.route_ctx, dest->domain, &rt) == 1) {
		plan_route_start(r, &rt);
		plan_step_done(r);
		return;
	}
	if (plan_query(r, &r->qmx, dest->domain, TG_DNS_T_MX, plan_on_mx,
	    r) != 0) {
		r->plan->in.mx_status = TG_DNS_TEMPFAIL;
		r->plan->in.mx_security = TG_DNS_INDETERMINATE;
	}
	plan_sts_start(r);
	plan_step_done(r);
}

void
dlv_plan_cancel(struct dlv_dest *dest)
{
	struct dlv_resolve *r = dest->res;
	struct tg_resolver *res;
	size_t i;

	if (r == NULL)
		return;
	res = plan_resolver(dest, r->plan);
	if (r->qmx != NULL)
		tg_resolver_cancel(res, r->qmx);
	for (i = 0; i < TG_POLICY_MX_MAX; i++) {
		if (r->h[i].qa != NULL)
			tg_resolver_cancel(res, r->h[i].qa);
		if (r->h[i].qaaaa != NULL)
			tg_resolver_cancel(res, r->h[i].qaaaa);
		if (r->h[i].qtlsa != NULL)
			tg_resolver_cancel(res, r->h[i].qtlsa);
	}
	if (r->sts != NULL && dest->d->p.sts.cancel != NULL)
		dest->d->p.sts.cancel(dest->d->p.sts.ctx, r->sts);
	dlv_plan_unref(r->plan);
	free(r);
	dest->res = NULL;
}
