/*
 * policy/stsclient — see stsclient.h.
 *
 * One lookup:
 *   start -> TXT _mta-sts.<D>                       (RFC 8461 §3.1)
 *   TXT   -> load the cache row, decide (policy/stscache), note the id
 *         -> answer now (cached policy or none), maybe starting a
 *            background refresh;
 *         or wait for a fetch (shared with other lookups of D)
 *   fetch -> record the attempt (and a valid policy) in the cache, then
 *            answer every lookup waiting for it.
 * Answers are delivered from each lookup's own zero-delay event.
 */
#include "policy/stsclient.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "core/conf.h"
#include "core/log.h"
#include "util/clock.h"
#include "util/dname.h"
#include "util/text.h"

struct stsc_fetch {
	struct tg_stsclient *c;		/* borrowed: the owner */
	char domain[TG_DNAME_MAX + 1];
	char id[TG_STS_ID_MAX + 1];	/* the TXT id it fetches for */
	void *handle;			/* the fetcher's */
	int alert;			/* a policy other than none is cached */
	unsigned failures;		/* consecutive failures before this */
	struct stsc_fetch *next;
};

struct tg_stsclient_lookup {
	struct tg_stsclient *c;		/* borrowed: the owner */
	unsigned flags;
	struct tg_dns_query *dq;	/* the TXT lookup, while running */
	struct stsc_fetch *wait;	/* the fetch it waits for, or NULL */
	struct event *ev;		/* owned: delivers the answer */
	tg_stsclient_cb *cb;
	void *arg;
	struct tg_stsclient_lookup *prev, *next;
	struct tg_sts_outcome out;
};

struct tg_stsclient {
	struct event_base *base;	/* borrowed */
	struct tg_resolver *resolver;	/* borrowed */
	struct tg_cache *cache;		/* borrowed */
	struct tg_stsclient_https https;	/* the default fetcher's */
	struct tg_stsclient_fetcher fetcher;
	struct tg_stsclient_lookup *lookups;	/* owned */
	struct stsc_fetch *fetches;		/* owned */
	size_t nlookups, nfetches;
};

static const char *const status_names[] = {
	"no-policy", "cached", "fetched", "error"
};

const char *
tg_stsclient_status_name(enum tg_stsclient_status s)
{
	if ((size_t)s < sizeof(status_names) / sizeof(status_names[0]))
		return status_names[s];
	return "?";
}

/* The RFC 8460 §4.3.2.2 result type as one of our static strings. */
static const char *
stsc_result_type(const char *t)
{
	if (t != NULL && strcmp(t, TG_STS_RESULT_POLICY_INVALID) == 0)
		return TG_STS_RESULT_POLICY_INVALID;
	if (t != NULL && strcmp(t, TG_FETCH_RESULT_WEBPKI_INVALID) == 0)
		return TG_FETCH_RESULT_WEBPKI_INVALID;
	return TG_FETCH_RESULT_FETCH_ERROR;
}

/* ---- the default fetcher: policy/sts over net/fetch ---- */

static void *
stsc_https_start(void *ctx, const char *domain, tg_sts_fetch_cb *cb,
    void *arg, struct tg_err *err)
{
	struct tg_stsclient_https *https = ctx;
	struct tg_sts_fetch *h;

	if (tg_sts_fetch_policy(https->fetch, domain, &https->params, cb, arg,
	    &h, err) != 0)
		return NULL;
	return h;
}

static void
stsc_https_cancel(void *ctx, void *handle)
{
	(void)ctx;
	tg_sts_fetch_cancel(handle);
}

/* This host's addresses that the SSRF rule alone would let through. */
static void
stsc_own_addresses(struct tg_stsclient_https *h)
{
	struct ifaddrs *ifa, *i;
	struct tg_cidr *c;
	socklen_t len;

	h->n_own = 0;
	if (getifaddrs(&ifa) != 0)
		return;
	for (i = ifa; i != NULL && h->n_own < TG_FETCH_OWN_MAX;
	    i = i->ifa_next) {
		if (i->ifa_addr == NULL || (i->ifa_addr->sa_family != AF_INET &&
		    i->ifa_addr->sa_family != AF_INET6))
			continue;
		len = i->ifa_addr->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		if (tg_fetch_addr_refusal(i->ifa_addr, len, NULL, 0) != NULL)
			continue;
		c = &h->own[h->n_own++];
		memset(c, 0, sizeof(*c));
		c->family = i->ifa_addr->sa_family;
		if (c->family == AF_INET) {
			memcpy(c->addr, &((struct sockaddr_in *)(void *)
			    i->ifa_addr)->sin_addr, 4);
			c->prefix = 32;
		} else {
			memcpy(c->addr, &((struct sockaddr_in6 *)(void *)
			    i->ifa_addr)->sin6_addr, 16);
			c->prefix = 128;
		}
	}
	freeifaddrs(ifa);
}

void
tg_stsclient_https_init(struct tg_stsclient_https *h, struct tg_fetch *f,
    const struct tg_conf *conf)
{
	memset(h, 0, sizeof(*h));
	h->fetch = f;
	h->params.ca_file = conf->sts_ca_file[0] != '\0' ? conf->sts_ca_file :
	    NULL;
	h->params.allow_private_addresses = conf->sts_allow_private_addresses;
	if (conf->sts_fetch_timeout > 0)
		h->params.timeout_ms = (long)conf->sts_fetch_timeout * 1000;
	stsc_own_addresses(h);
	h->params.own = h->own;
	h->params.n_own = h->n_own;
}

void
tg_stsclient_fetcher_https(struct tg_stsclient_https *h,
    struct tg_stsclient_fetcher *out)
{
	out->start = stsc_https_start;
	out->cancel = stsc_https_cancel;
	out->ctx = h;
}

/* ---- the TXT record (RFC 8461 §3.1) ---- */

/* A record "starting with v=STSv1": the version, then a delimiter. */
static int
stsc_is_candidate(const char *t, size_t n)
{
	static const char v[] = "v=STSv1";
	size_t vl = sizeof(v) - 1;

	return n >= vl && memcmp(t, v, vl) == 0 &&
	    (n == vl || t[vl] == ';' || t[vl] == ' ' || t[vl] == '\t');
}

/* Count the v=STSv1 records of ans; *first gets the first one (owned). */
static size_t
stsc_candidates(const struct tg_dns_answer *ans, char **first,
    size_t *first_len)
{
	const struct tg_dns_rr *rr;
	size_t i, n = 0, len;
	char *text;

	*first = NULL;
	for (i = 0; i < ans->nrr; i++) {
		rr = &ans->rr[i];
		if (rr->type != TG_DNS_T_TXT || rr->len == 0)
			continue;
		if ((text = malloc(rr->len + 1)) == NULL)
			continue;
		if (tg_dns_txt_join(rr->data, rr->len, text, rr->len + 1, &len,
		    NULL) != 0) {
			/* Unreadable: judge by its first string alone. */
			len = rr->data[0] < rr->len ? rr->data[0] : rr->len - 1;
			memcpy(text, rr->data + 1, len);
			text[len] = '\0';
			len = 0;	/* a candidate, but never a valid one */
		}
		if (!stsc_is_candidate(text, strlen(text))) {
			free(text);
			continue;
		}
		if (n++ == 0) {
			*first = text;
			*first_len = len;
		} else {
			free(text);
		}
	}
	return n;
}

static void
stsc_txt_records(const struct tg_dns_answer *ans, struct tg_sts_outcome *o)
{
	struct tg_sts_txt txt;
	struct tg_err err;
	char *first;
	size_t n, len = 0;

	n = stsc_candidates(ans, &first, &len);
	if (n == 0) {
		o->txt = TG_STSCACHE_TXT_NONE;
		tg_text_fmt(o->txt_error, sizeof(o->txt_error), "no TXT "
		    "record starts with v=STSv1");
	} else if (n > 1) {
		o->txt = TG_STSCACHE_TXT_INVALID;
		tg_text_fmt(o->txt_error, sizeof(o->txt_error), "%zu TXT "
		    "records start with v=STSv1; exactly one is allowed "
		    "(RFC 8461 §3.1)", n);
	} else if (len == 0 || tg_sts_txt_parse(first, len, &txt, &err) != 0) {
		o->txt = TG_STSCACHE_TXT_INVALID;
		tg_text_fmt(o->txt_error, sizeof(o->txt_error), "%s", len == 0 ?
		    "the v=STSv1 record cannot be read" : err.msg);
	} else {
		o->txt = TG_STSCACHE_TXT_VALID;
		memcpy(o->txt_id, txt.id, sizeof(o->txt_id));
	}
	free(first);
}

static void
stsc_txt_classify(const struct tg_dns_answer *ans, struct tg_sts_outcome *o)
{
	if (ans->security == TG_DNS_BOGUS) {
		/* Not authentic: as good as no answer (the cache stays). */
		o->txt = TG_STSCACHE_TXT_TEMPFAIL;
		tg_text_fmt(o->txt_error, sizeof(o->txt_error), "DNSSEC "
		    "validation failed: %s", ans->why_bogus);
		return;
	}
	switch (ans->status) {
	case TG_DNS_OK:
		stsc_txt_records(ans, o);
		break;
	case TG_DNS_NXDOMAIN:
	case TG_DNS_NODATA:
		o->txt = TG_STSCACHE_TXT_NONE;
		tg_text_fmt(o->txt_error, sizeof(o->txt_error), "no _mta-sts "
		    "TXT record");
		break;
	default:
		o->txt = TG_STSCACHE_TXT_TEMPFAIL;
		tg_text_fmt(o->txt_error, sizeof(o->txt_error), "TXT lookup "
		    "failed: %s", ans->error);
		break;
	}
}

/* ---- answering ---- */

static void
stsc_unlink(struct tg_stsclient_lookup *l)
{
	struct tg_stsclient *c = l->c;

	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		c->lookups = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	l->prev = l->next = NULL;
	c->nlookups--;
}

static void
stsc_lookup_free(struct tg_stsclient_lookup *l)
{
	if (l->ev != NULL)
		event_free(l->ev);
	free(l);
}

static void
stsc_on_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct tg_stsclient_lookup *l = arg;

	(void)fd;
	(void)what;
	stsc_unlink(l);		/* the callback may free the client */
	l->cb(&l->out, l->arg);
	stsc_lookup_free(l);
}

static void
stsc_finish(struct tg_stsclient_lookup *l)
{
	event_active(l->ev, EV_TIMEOUT, 0);
}

/* ---- the cache row ---- */

/*
 * Load the row of l's domain into e and the cached policy into l's
 * outcome. Returns 1 with a row, 0 without one (absent, or damaged and
 * logged: the next valid fetch replaces it), -1 when the cache cannot be
 * read (l's outcome says so).
 */
static int
stsc_load(struct tg_stsclient_lookup *l, struct tg_cache_sts *e)
{
	struct tg_sts_outcome *o = &l->out;
	struct tg_err err;
	int r;

	r = tg_cache_sts_get(l->c->cache, o->domain, e, &err);
	if (r == TG_CACHE_NOTFOUND)
		return 0;
	if (r != 0 && err.cls == TG_ERR_PERM) {
		tg_log_err(NULL, "MTA-STS cache row unusable, ignored "
		    "domain=%s reason=\"%s\"", o->domain, err.msg);
		return 0;
	}
	if (r != 0) {
		o->status = TG_STSCLIENT_ERROR;
		tg_text_fmt(o->reason, sizeof(o->reason), "MTA-STS cache: %s",
		    err.msg);
		return -1;
	}
	if (e->has_policy &&
	    tg_stscache_to_policy(&e->policy, &o->policy, &err) != 0) {
		tg_log_err(NULL, "MTA-STS cached policy unusable, ignored "
		    "domain=%s reason=\"%s\"", o->domain, err.msg);
		e->has_policy = 0;
	}
	return 1;
}

/* Remember the TXT id seen, when it changed (not for every domain
 * without MTA-STS: only rows that exist or are about to). */
static void
stsc_note_txt(struct tg_stsclient_lookup *l, const struct tg_cache_sts *e,
    time_t now)
{
	const struct tg_sts_outcome *o = &l->out;
	const char *id;
	struct tg_err err;

	if (o->txt == TG_STSCACHE_TXT_VALID)
		id = o->txt_id;
	else if (o->txt == TG_STSCACHE_TXT_NONE && e != NULL)
		id = "";
	else
		return;
	if (e != NULL && strcmp(e->txt_id, id) == 0)
		return;
	if (tg_cache_sts_save_txt(l->c->cache, o->domain, id, now, &err) != 0)
		tg_log_warn(NULL, "MTA-STS cache not updated domain=%s "
		    "reason=\"%s\"", o->domain, err.msg);
}

static void
stsc_use_cached(struct tg_sts_outcome *o, const struct tg_cache_sts *e)
{
	o->status = TG_STSCLIENT_CACHED;
	memcpy(o->policy_id, e->policy.id, sizeof(o->policy_id));
	o->fetched_at = e->policy.fetched_at;
	o->expires_at = e->policy.expires_at;
}

/* A fetch was due, but the last one for this id failed just now: that
 * failure stands for this lookup too (RFC 8461 §3.3). */
static void
stsc_rate_limited(struct tg_sts_outcome *o, const struct tg_cache_sts *e,
    time_t now)
{
	o->result_type = stsc_result_type(e->attempt.result);
	tg_text_fmt(o->reason, sizeof(o->reason), "not fetched again "
	    "before %lds: the fetch %lds ago failed: %s",
	    (long)(TG_STS_RETRY_S - (now - e->attempt.at)),
	    (long)(now - e->attempt.at), e->attempt.error);
}

/* ---- fetching ---- */

static struct stsc_fetch *
stsc_fetch_find(struct tg_stsclient *c, const char *domain)
{
	struct stsc_fetch *f;

	for (f = c->fetches; f != NULL; f = f->next)
		if (strcmp(f->domain, domain) == 0)
			return f;
	return NULL;
}

static void stsc_on_fetch(const struct tg_sts_fetch_result *r, void *arg);

static struct stsc_fetch *
stsc_fetch_start(struct tg_stsclient_lookup *l, const struct tg_cache_sts *e,
    struct tg_err *err)
{
	struct tg_stsclient *c = l->c;
	struct stsc_fetch *f;

	if (c->nfetches >= TG_STS_FETCHES_MAX) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "too many policy fetches "
		    "in flight (%d)", TG_STS_FETCHES_MAX);
		return NULL;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	f->c = c;
	memcpy(f->domain, l->out.domain, sizeof(f->domain));
	memcpy(f->id, l->out.txt_id, sizeof(f->id));
	f->alert = e != NULL && e->has_policy &&
	    e->policy.mode != TG_CACHE_STS_NONE;
	f->failures = e != NULL ? e->attempt.failures : 0;
	f->handle = c->fetcher.start(c->fetcher.ctx, f->domain, stsc_on_fetch,
	    f, err);
	if (f->handle == NULL) {
		free(f);
		return NULL;
	}
	f->next = c->fetches;
	c->fetches = f;
	c->nfetches++;
	return f;
}

/* Start or join the fetch the decision asks for. */
static void
stsc_fetch(struct tg_stsclient_lookup *l, const struct tg_cache_sts *e,
    const struct tg_stscache_decision *d)
{
	struct tg_sts_outcome *o = &l->out;
	struct stsc_fetch *f;
	struct tg_err err;

	f = stsc_fetch_find(l->c, o->domain);
	if (f == NULL && (f = stsc_fetch_start(l, e, &err)) == NULL) {
		if (d->wait) {
			o->fetched = 1;
			o->result_type = TG_FETCH_RESULT_FETCH_ERROR;
			tg_text_fmt(o->reason, sizeof(o->reason),
			    "policy fetch not started: %s", err.msg);
		}
		return;
	}
	if (d->wait)
		l->wait = f;
	else
		o->refreshing = 1;
}

static void
stsc_fetch_unlink(struct tg_stsclient *c, struct stsc_fetch *f)
{
	struct stsc_fetch **pp;

	for (pp = &c->fetches; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			c->nfetches--;
			return;
		}
}

/* Record the attempt, and a valid policy, in the cache. */
static void
stsc_record(struct stsc_fetch *f, const struct tg_sts_fetch_result *r,
    const struct tg_cache_sts_policy *p, time_t now)
{
	struct tg_cache_sts_attempt a;
	struct tg_err err;

	memset(&a, 0, sizeof(a));
	a.at = now;
	memcpy(a.id, f->id, sizeof(a.id));
	a.ok = p != NULL;
	if (!a.ok) {
		tg_text_fmt(a.result, sizeof(a.result), "%s",
		    stsc_result_type(r->err.result_type));
		tg_text_fmt(a.error, sizeof(a.error), "%s", r->ok ?
		    "the fetched policy does not fit the cache" : r->err.msg);
	}
	if (tg_cache_sts_save_fetch(f->c->cache, f->domain, &a, p, &err) != 0)
		tg_log_warn(NULL, "MTA-STS cache not updated domain=%s "
		    "reason=\"%s\"", f->domain, err.msg);
	/* RFC 8461 §3.3: alert on failed refreshes unless mode none. */
	if (!a.ok && f->alert)
		tg_log_warn(NULL, "MTA-STS policy fetch failed, cached policy "
		    "stays in force domain=%s id=%s failures=%u "
		    "result=%s reason=\"%s\"", f->domain, f->id,
		    f->failures + 1, a.result, a.error);
}

static void
stsc_fetch_outcome(struct tg_sts_outcome *o, const struct stsc_fetch *f,
    const struct tg_sts_fetch_result *r, const struct tg_cache_sts_policy *p)
{
	o->fetched = 1;
	if (p != NULL) {
		o->status = TG_STSCLIENT_FETCHED;
		o->fetch_ok = 1;
		o->policy = r->policy;
		memcpy(o->policy_id, f->id, sizeof(o->policy_id));
		o->fetched_at = p->fetched_at;
		o->expires_at = p->expires_at;
		o->result_type = NULL;
		o->reason[0] = '\0';
		return;
	}
	/* The cached policy, if any, stays (RFC 8461 §3.3). */
	o->result_type = stsc_result_type(r->err.result_type);
	tg_text_fmt(o->reason, sizeof(o->reason), "%s", r->ok ?
	    "the fetched policy does not fit the cache" : r->err.msg);
}

static void
stsc_on_fetch(const struct tg_sts_fetch_result *r, void *arg)
{
	struct stsc_fetch *f = arg;
	struct tg_stsclient *c = f->c;
	struct tg_stsclient_lookup *l;
	struct tg_cache_sts_policy *p = NULL;
	time_t now = tg_clock_now();
	struct tg_err err;

	stsc_fetch_unlink(c, f);
	if (r->ok && ((p = malloc(sizeof(*p))) == NULL ||
	    tg_stscache_from_fetch(&r->policy, r->body, r->body_len, f->id,
	    now, p, &err) != 0)) {
		free(p);
		p = NULL;
	}
	stsc_record(f, r, p, now);
	for (l = c->lookups; l != NULL; l = l->next)
		if (l->wait == f) {
			l->wait = NULL;
			stsc_fetch_outcome(&l->out, f, r, p);
			stsc_finish(l);
		}
	free(p);
	free(f);
}

/* ---- the lookup ---- */

static void
stsc_decide(struct tg_stsclient_lookup *l, struct tg_cache_sts *e, int have)
{
	struct tg_sts_outcome *o = &l->out;
	struct tg_stscache_decision d;
	time_t now = tg_clock_now();

	tg_stscache_decide(have ? e : NULL, o->txt, o->txt_id, now,
	    (l->flags & TG_STSCLIENT_FORCE) != 0, &d);
	o->why = d.why;
	stsc_note_txt(l, have ? e : NULL, now);
	if (d.use_cached)
		stsc_use_cached(o, e);
	if (d.why == TG_STSCACHE_RATE_LIMITED)
		stsc_rate_limited(o, e, now);
	if (d.fetch)
		stsc_fetch(l, have ? e : NULL, &d);
}

static void
stsc_on_txt(const struct tg_dns_answer *ans, void *arg)
{
	struct tg_stsclient_lookup *l = arg;
	struct tg_cache_sts *e;
	int have;

	l->dq = NULL;
	stsc_txt_classify(ans, &l->out);
	if ((e = malloc(sizeof(*e))) == NULL) {
		l->out.status = TG_STSCLIENT_ERROR;
		tg_text_fmt(l->out.reason, sizeof(l->out.reason),
		    "out of memory");
	} else if ((have = stsc_load(l, e)) >= 0) {
		stsc_decide(l, e, have);
	}
	free(e);
	if (l->wait == NULL)
		stsc_finish(l);
}

struct tg_stsclient_lookup *
tg_stsclient_lookup(struct tg_stsclient *c, const char *domain,
    unsigned flags, tg_stsclient_cb *cb, void *arg, struct tg_err *err)
{
	struct tg_stsclient_lookup *l;
	char name[TG_DNAME_MAX + 16];

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	l->c = c;
	l->flags = flags;
	l->cb = cb;
	l->arg = arg;
	if (tg_dname_normalize(domain, l->out.domain, sizeof(l->out.domain),
	    err) != 0) {
		free(l);
		return NULL;
	}
	/* RFC 8461 §3.4: the policy domain itself, never a parent. */
	tg_text_fmt(name, sizeof(name), "_mta-sts.%s", l->out.domain);
	if ((l->ev = event_new(c->base, -1, 0, stsc_on_deliver, l)) == NULL ||
	    (l->dq = tg_resolver_query(c->resolver, name, TG_DNS_T_TXT,
	    stsc_on_txt, l, err)) == NULL) {
		if (l->ev == NULL)
			tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		stsc_lookup_free(l);
		return NULL;
	}
	l->next = c->lookups;
	if (c->lookups != NULL)
		c->lookups->prev = l;
	c->lookups = l;
	c->nlookups++;
	return l;
}

void
tg_stsclient_cancel(struct tg_stsclient_lookup *l)
{
	if (l == NULL)
		return;
	if (l->dq != NULL)
		tg_resolver_cancel(l->c->resolver, l->dq);
	stsc_unlink(l);
	stsc_lookup_free(l);
}

size_t
tg_stsclient_pending(const struct tg_stsclient *c)
{
	return c->nlookups;
}

size_t
tg_stsclient_fetching(const struct tg_stsclient *c)
{
	return c->nfetches;
}

struct tg_stsclient *
tg_stsclient_new(const struct tg_stsclient_params *p, struct tg_err *err)
{
	struct tg_stsclient *c;

	if (p->base == NULL || p->resolver == NULL || p->cache == NULL ||
	    (p->fetch == NULL && p->fetcher.start == NULL)) {
		tg_err_set(err, TG_ERR_BUG, NULL, "MTA-STS client: base, "
		    "resolver, cache and a fetcher are required");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	c->base = p->base;
	c->resolver = p->resolver;
	c->cache = p->cache;
	c->https.fetch = p->fetch;
	c->https.params = p->fetch_params;
	if (p->fetcher.start != NULL)
		c->fetcher = p->fetcher;
	else
		tg_stsclient_fetcher_https(&c->https, &c->fetcher);
	return c;
}

void
tg_stsclient_free(struct tg_stsclient *c)
{
	struct stsc_fetch *f;

	if (c == NULL)
		return;
	while (c->lookups != NULL)
		tg_stsclient_cancel(c->lookups);
	while ((f = c->fetches) != NULL) {
		c->fetches = f->next;
		c->fetcher.cancel(c->fetcher.ctx, f->handle);
		free(f);
	}
	free(c);
}
