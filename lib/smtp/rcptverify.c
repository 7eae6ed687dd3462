/*
 * smtp/rcptverify — recipient verification by SMTP probe (see
 * rcptverify.h).
 *
 * A probe is one question to one route about one address: it looks up
 * the route's host (unless it is an address), connects with smtp/client,
 * sends the probe transaction and ends with QUIT. Its budget is one
 * timer over all of it, from the first question on (waiting for a turn
 * included). Questions about the same address while its probe
 * waits or runs join that probe. The cache is a util/agetab by address:
 * the oldest answer goes first.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "core/log.h"
#include "smtp/rcptverify.h"
#include "util/agetab.h"
#include "util/clock.h"
#include "util/text.h"

/* One cached answer, key and text in the same allocation (a full cache
 * is TG_RCPTV_CACHE_MAX of these: no fixed-size buffers). */
struct rv_entry {
	struct tg_agetab_entry base;	/* key: the address, lower case */
	time_t expires;
	enum tg_rcptv_answer answer;
	const char *text;		/* the reply; "" for TAKEN */
};

struct tg_rcptv_q {
	TAILQ_ENTRY(tg_rcptv_q) link;	/* probe->qs */
	struct rv_probe *probe;
	tg_rcptv_cb cb;
	void *arg;
};

TAILQ_HEAD(rv_qlist, tg_rcptv_q);

struct rv_probe {
	TAILQ_ENTRY(rv_probe) link;	/* v->active or v->waiting */
	struct tg_rcptv *v;
	int active;
	struct tg_delivery_route route;
	char addr[TG_SMTP_PATH_MAX + 1];	/* as first asked */
	char key[TG_SMTP_PATH_MAX + 1];		/* lower case */
	struct rv_qlist qs;
	struct tg_dns_query *dns;	/* while looking up the host */
	uint16_t dns_type;
	struct tg_smtpc *c;		/* while connected */
	struct event *begin;		/* starts the work from the loop */
	struct event *timer;		/* the budget */
	char ip[TG_DNS_ADDR_TEXT_SIZE];
	struct tg_tls_verify verify;
	struct tg_spool_rcpt rcpt;
	struct tg_smtpc_txn txn;
};

TAILQ_HEAD(rv_probelist, rv_probe);

/* A connection saying QUIT after its probe ended: freed at shutdown if
 * it is still there. */
struct rv_linger {
	TAILQ_ENTRY(rv_linger) link;	/* v->lingering */
	struct tg_rcptv *v;
	struct tg_smtpc *c;
};

TAILQ_HEAD(rv_lingerlist, rv_linger);

struct tg_rcptv {
	struct tg_rcptv_params p;
	char helo[TG_DNAME_MAX + 1];
	struct rv_probelist active, waiting;
	size_t nactive, nwaiting;
	struct tg_agetab cache;		/* of rv_entry */
	struct rv_lingerlist lingering;
	size_t nlingering;
	unsigned long probes, cached;
};

static void probe_start(struct rv_probe *pr);

static void
key_of(const char *addr, char *key, size_t keylen)
{
	size_t i;

	for (i = 0; addr[i] != '\0' && i + 1 < keylen; i++)
		key[i] = (char)tolower((unsigned char)addr[i]);
	key[i] = '\0';
}

/* ---- cache ----------------------------------------------------------- */

static void
entry_free(struct tg_agetab_entry *e)
{
	free(e);
}

/* The live entry for key, or NULL (an expired one is dropped). */
static struct rv_entry *
cache_find(struct tg_rcptv *v, const char *key)
{
	struct rv_entry *e;

	e = (struct rv_entry *)tg_agetab_find(&v->cache, key);
	if (e == NULL || e->expires > tg_clock_now())
		return e;
	tg_agetab_drop(&v->cache, &e->base);
	return NULL;
}

static void
cache_put(struct tg_rcptv *v, const char *key,
    const struct tg_rcptv_result *res)
{
	struct rv_entry *e;
	const char *text;
	size_t klen, tlen;

	if (res->answer == TG_RCPTV_UNKNOWN)
		return;
	if ((e = cache_find(v, key)) != NULL)
		tg_agetab_drop(&v->cache, &e->base);
	/* A refusal keeps the reply: the next question gets it too. */
	text = res->answer == TG_RCPTV_REFUSED ? res->text : "";
	klen = strlen(key) + 1;
	tlen = strlen(text) + 1;
	if ((e = calloc(1, sizeof(*e) + klen + tlen)) == NULL)
		return;		/* only a cache */
	memcpy((char *)(e + 1), key, klen);
	memcpy((char *)(e + 1) + klen, text, tlen);
	e->base.key = (const char *)(e + 1);
	e->text = e->base.key + klen;
	e->answer = res->answer;
	e->expires = tg_clock_now() + (res->answer == TG_RCPTV_TAKEN ?
	    TG_RCPTV_TAKEN_TTL_S : TG_RCPTV_REFUSED_TTL_S);
	if (tg_agetab_add(&v->cache, &e->base) != 0)
		free(e);
}

void
tg_rcptv_flush(struct tg_rcptv *v)
{
	tg_agetab_clear(&v->cache);
}

/* ---- probes ---------------------------------------------------------- */

static void
result_set(struct tg_rcptv_result *res, enum tg_rcptv_answer a,
    const char *text)
{
	memset(res, 0, sizeof(*res));
	res->answer = a;
	tg_text_fmt(res->text, sizeof(res->text), "%s", text);
}

static void
linger_freed(void *arg)
{
	struct rv_linger *l = arg;

	TAILQ_REMOVE(&l->v->lingering, l, link);
	l->v->nlingering--;
	free(l);
}

/* QUIT, and keep track until the connection is gone. */
static void
linger_close(struct tg_rcptv *v, struct tg_smtpc *c)
{
	struct rv_linger *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		tg_smtpc_close(c);	/* untracked: only at exit a leak */
		return;
	}
	l->v = v;
	l->c = c;
	TAILQ_INSERT_TAIL(&v->lingering, l, link);
	v->nlingering++;
	tg_smtpc_close_notify(c, linger_freed, l);
}

/* Stop whatever the probe is doing (no callback of it runs after). */
static void
probe_stop(struct rv_probe *pr, int shutting_down)
{
	if (pr->dns != NULL) {
		tg_resolver_cancel(pr->v->p.resolver, pr->dns);
		pr->dns = NULL;
	}
	if (pr->c != NULL) {
		if (shutting_down)
			tg_smtpc_free(pr->c);
		else
			linger_close(pr->v, pr->c);
		pr->c = NULL;
	}
	if (pr->timer != NULL) {
		event_free(pr->timer);
		pr->timer = NULL;
	}
	if (pr->begin != NULL) {
		event_free(pr->begin);
		pr->begin = NULL;
	}
}

static void
probe_unlink(struct rv_probe *pr)
{
	struct tg_rcptv *v = pr->v;

	if (pr->active) {
		TAILQ_REMOVE(&v->active, pr, link);
		v->nactive--;
	} else {
		TAILQ_REMOVE(&v->waiting, pr, link);
		v->nwaiting--;
	}
}

/* Start waiting probes while there is room. */
static void
probes_next(struct tg_rcptv *v)
{
	struct rv_probe *pr;

	while (v->nactive < TG_RCPTV_ACTIVE_MAX &&
	    (pr = TAILQ_FIRST(&v->waiting)) != NULL)
		probe_start(pr);
}

/*
 * The probe has its answer: cache it, tell every question (a callback
 * may ask or cancel others: the list is taken one at a time), free it,
 * start the next one.
 */
static void
probe_finish(struct rv_probe *pr, const struct tg_rcptv_result *res)
{
	struct tg_rcptv *v = pr->v;
	struct tg_rcptv_q *q;

	probe_stop(pr, 0);
	probe_unlink(pr);
	cache_put(v, pr->key, res);
	tg_log_info(NULL, "event=rcpt-verify rcpt=\"%s\" route=%s "
	    "answer=%s text=\"%s\"", pr->addr, pr->route.host,
	    res->answer == TG_RCPTV_TAKEN ? "taken" :
	    res->answer == TG_RCPTV_REFUSED ? "refused" : "unknown",
	    res->text);
	while ((q = TAILQ_FIRST(&pr->qs)) != NULL) {
		TAILQ_REMOVE(&pr->qs, q, link);
		q->cb(q->arg, res);
		free(q);
	}
	free(pr);
	probes_next(v);
}

static void
probe_fail(struct rv_probe *pr, const char *why)
{
	struct tg_rcptv_result res;

	result_set(&res, TG_RCPTV_UNKNOWN, why);
	probe_finish(pr, &res);
}

static void
probe_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	probe_fail(arg, "no answer in time");
}

static void
probe_on_done(struct tg_smtpc *c, const struct tg_smtpc_txn_result *tr,
    void *arg)
{
	struct rv_probe *pr = arg;
	const struct tg_smtpc_outcome *o;
	struct tg_rcptv_result res;

	(void)c;
	o = tr->nrcpt == 1 ? &tr->rcpt[0].rcpt : &tr->mail;
	if (tr->mail.cls != TG_ERR_NONE)
		o = &tr->mail;		/* MAIL FROM:<> refused: no answer */
	if (o->code >= 200 && o->code < 300)
		result_set(&res, TG_RCPTV_TAKEN, o->text);
	else if (o->code >= 500 && o->code < 600 && o != &tr->mail)
		result_set(&res, TG_RCPTV_REFUSED, o->text);
	else
		result_set(&res, TG_RCPTV_UNKNOWN, o->text[0] != '\0' ?
		    o->text : "no reply to RCPT");
	probe_finish(pr, &res);
}

static void
probe_on_ready(struct tg_smtpc *c, const struct tg_smtpc_conn *cr,
    void *arg)
{
	struct rv_probe *pr = arg;
	struct tg_err err;
	char why[TG_SMTPC_TEXT_MAX + 64];

	(void)c;
	if (cr->status != TG_SMTPC_OK) {
		tg_text_fmt(why, sizeof(why), "%s: %s",
		    tg_smtpc_status_name(cr->status), cr->why.text);
		probe_fail(pr, why);
		return;
	}
	memset(&pr->txn, 0, sizeof(pr->txn));
	pr->rcpt.addr = pr->addr;
	pr->txn.sender = "";
	pr->txn.rcpt = &pr->rcpt;
	pr->txn.nrcpt = 1;
	pr->txn.probe = 1;
	if (tg_smtpc_send(pr->c, &pr->txn, probe_on_done, pr, &err) != 0)
		probe_fail(pr, err.msg);
}

static void
probe_connect(struct rv_probe *pr)
{
	struct tg_rcptv *v = pr->v;
	struct tg_smtpc_params sp;
	struct tg_err err;
	int ms = v->p.budget_ms;

	tg_smtpc_params_init(&sp);
	sp.addr = pr->ip;
	sp.port = pr->route.port != 0 ? pr->route.port : 25;
	sp.helo_name = v->helo;
	sp.mx_host = pr->route.host;
	sp.tls = pr->route.require_tls ? TG_SMTPC_TLS_REQUIRE :
	    TG_SMTPC_TLS_MAY;
	sp.ctx = v->p.ssl_ctx;
	/* As delivery on a route: encrypted, not authenticated
	 * (policy/policy: the route rule). */
	memset(&pr->verify, 0, sizeof(pr->verify));
	pr->verify.mode = TG_TLS_OPPORTUNISTIC;
	pr->verify.host = pr->route.host;
	sp.verify = &pr->verify;
	/* Every step within the budget; the timer ends the whole. */
	sp.tmo.connect_ms = sp.tmo.banner_ms = sp.tmo.helo_ms = ms;
	sp.tmo.starttls_ms = sp.tmo.tls_ms = sp.tmo.mail_ms = ms;
	sp.tmo.rcpt_ms = sp.tmo.rset_ms = sp.tmo.quit_ms = ms;
	sp.tmo.idle_ms = ms;
	pr->c = tg_smtpc_connect(v->p.base, &sp, probe_on_ready, pr, &err);
	if (pr->c == NULL)
		probe_fail(pr, err.msg);
}

static void
probe_on_addr(const struct tg_dns_answer *ans, void *arg)
{
	struct rv_probe *pr = arg;
	struct tg_err err;
	char why[TG_DNS_NAME_SIZE + 64];
	size_t i;

	pr->dns = NULL;
	for (i = 0; ans->status == TG_DNS_OK && i < ans->nrr; i++)
		if (tg_dns_addr_text(ans->rr[i].type, ans->rr[i].data,
		    ans->rr[i].len, pr->ip, sizeof(pr->ip), &err) == 0) {
			probe_connect(pr);
			return;
		}
	if (pr->dns_type == TG_DNS_T_A) {
		/* No IPv4 address: try IPv6 before giving up. */
		pr->dns_type = TG_DNS_T_AAAA;
		pr->dns = tg_resolver_query(pr->v->p.resolver,
		    pr->route.host, pr->dns_type, probe_on_addr, pr, &err);
		if (pr->dns == NULL)
			probe_fail(pr, err.msg);
		return;
	}
	tg_text_fmt(why, sizeof(why), "no address for %s: %s",
	    pr->route.host, tg_dns_status_name(ans->status));
	probe_fail(pr, why);
}

/* From the probe's begin event, never inside tg_rcptv_ask: a probe
 * that fails at once would otherwise answer inside it. */
static void
probe_begin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rv_probe *pr = arg;
	struct tg_err err;
	unsigned char bin[16];

	(void)fd;
	(void)what;
	if (inet_pton(AF_INET, pr->route.host, bin) == 1 ||
	    inet_pton(AF_INET6, pr->route.host, bin) == 1) {
		tg_text_fmt(pr->ip, sizeof(pr->ip), "%s", pr->route.host);
		probe_connect(pr);
		return;
	}
	pr->dns_type = TG_DNS_T_A;
	pr->dns = tg_resolver_query(pr->v->p.resolver, pr->route.host,
	    pr->dns_type, probe_on_addr, pr, &err);
	if (pr->dns == NULL)
		probe_fail(pr, err.msg);
}

/* Waiting -> active; the work begins from an event of its own. */
static void
probe_start(struct rv_probe *pr)
{
	struct tg_rcptv *v = pr->v;

	TAILQ_REMOVE(&v->waiting, pr, link);
	v->nwaiting--;
	TAILQ_INSERT_TAIL(&v->active, pr, link);
	v->nactive++;
	pr->active = 1;
	v->probes++;
	event_active(pr->begin, EV_TIMEOUT, 0);
}

/* ---- the API --------------------------------------------------------- */

struct tg_rcptv *
tg_rcptv_new(const struct tg_rcptv_params *p, struct tg_err *err)
{
	struct tg_rcptv *v;

	if (p->base == NULL || p->resolver == NULL || p->ssl_ctx == NULL ||
	    p->helo_name == NULL || p->helo_name[0] == '\0') {
		tg_err_set(err, TG_ERR_BUG, NULL, "recipient verification "
		    "without loop, resolver, TLS context or EHLO name");
		return NULL;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	v->p = *p;
	tg_text_fmt(v->helo, sizeof(v->helo), "%s", p->helo_name);
	v->p.helo_name = v->helo;
	if (v->p.budget_ms <= 0)
		v->p.budget_ms = TG_RCPTV_BUDGET_S * 1000;
	if (v->p.cache_max == 0)
		v->p.cache_max = TG_RCPTV_CACHE_MAX;
	TAILQ_INIT(&v->active);
	TAILQ_INIT(&v->waiting);
	tg_agetab_init(&v->cache, v->p.cache_max, entry_free);
	TAILQ_INIT(&v->lingering);
	return v;
}

static void
probe_free_all(struct tg_rcptv *v, struct rv_probelist *list)
{
	struct rv_probe *pr;
	struct tg_rcptv_q *q;

	while ((pr = TAILQ_FIRST(list)) != NULL) {
		probe_stop(pr, 1);
		probe_unlink(pr);
		while ((q = TAILQ_FIRST(&pr->qs)) != NULL) {
			TAILQ_REMOVE(&pr->qs, q, link);
			free(q);
		}
		free(pr);
	}
	(void)v;
}

void
tg_rcptv_free(struct tg_rcptv *v)
{
	if (v == NULL)
		return;
	probe_free_all(v, &v->active);
	probe_free_all(v, &v->waiting);
	/* Each free calls linger_freed, which takes it off the list. */
	while (!TAILQ_EMPTY(&v->lingering))
		tg_smtpc_free(TAILQ_FIRST(&v->lingering)->c);
	tg_rcptv_flush(v);
	free(v);
}

static struct rv_probe *
probe_new(struct tg_rcptv *v)
{
	struct rv_probe *pr;
	struct timeval tv;

	if ((pr = calloc(1, sizeof(*pr))) == NULL)
		return NULL;
	pr->v = v;
	pr->begin = evtimer_new(v->p.base, probe_begin_cb, pr);
	pr->timer = evtimer_new(v->p.base, probe_timer_cb, pr);
	if (pr->begin == NULL || pr->timer == NULL) {
		probe_stop(pr, 1);
		free(pr);
		return NULL;
	}
	/* The budget runs from the question: time spent waiting for a
	 * turn counts, so that no client waits longer than that. */
	tv.tv_sec = v->p.budget_ms / 1000;
	tv.tv_usec = (v->p.budget_ms % 1000) * 1000;
	evtimer_add(pr->timer, &tv);
	return pr;
}

static struct rv_probe *
probe_find(struct rv_probelist *list, const char *key)
{
	struct rv_probe *pr;

	TAILQ_FOREACH(pr, list, link)
		if (strcmp(pr->key, key) == 0)
			return pr;
	return NULL;
}

struct tg_rcptv_q *
tg_rcptv_ask(struct tg_rcptv *v, const struct tg_delivery_route *route,
    const char *addr, tg_rcptv_cb cb, void *arg, struct tg_rcptv_result *now)
{
	char key[TG_SMTP_PATH_MAX + 1];
	struct rv_probe *pr;
	struct rv_entry *e;
	struct tg_rcptv_q *q;

	if (strlen(addr) > TG_SMTP_PATH_MAX) {
		result_set(now, TG_RCPTV_UNKNOWN, "address too long");
		return NULL;
	}
	key_of(addr, key, sizeof(key));
	if ((e = cache_find(v, key)) != NULL) {
		result_set(now, e->answer, e->text);
		now->cached = 1;
		v->cached++;
		return NULL;
	}
	if ((pr = probe_find(&v->active, key)) == NULL &&
	    (pr = probe_find(&v->waiting, key)) == NULL) {
		if (v->nwaiting >= TG_RCPTV_WAIT_MAX) {
			result_set(now, TG_RCPTV_UNKNOWN, "too many "
			    "verifications waiting");
			return NULL;
		}
		if ((pr = probe_new(v)) == NULL) {
			result_set(now, TG_RCPTV_UNKNOWN, "out of memory");
			return NULL;
		}
		pr->route = *route;
		tg_text_fmt(pr->addr, sizeof(pr->addr), "%s", addr);
		tg_text_fmt(pr->key, sizeof(pr->key), "%s", key);
		TAILQ_INIT(&pr->qs);
		TAILQ_INSERT_TAIL(&v->waiting, pr, link);
		v->nwaiting++;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		if (TAILQ_EMPTY(&pr->qs) && !pr->active) {
			probe_stop(pr, 1);
			probe_unlink(pr);
			free(pr);
		}
		result_set(now, TG_RCPTV_UNKNOWN, "out of memory");
		return NULL;
	}
	q->probe = pr;
	q->cb = cb;
	q->arg = arg;
	TAILQ_INSERT_TAIL(&pr->qs, q, link);
	probes_next(v);
	return q;
}

void
tg_rcptv_cancel(struct tg_rcptv *v, struct tg_rcptv_q *q)
{
	(void)v;
	if (q == NULL)
		return;
	TAILQ_REMOVE(&q->probe->qs, q, link);
	free(q);
}

void
tg_rcptv_stats(const struct tg_rcptv *v, struct tg_rcptv_stats *out)
{
	out->probes = v->probes;
	out->cached = v->cached;
	out->active = v->nactive;
	out->waiting = v->nwaiting;
	out->entries = v->cache.n;
	out->closing = v->nlingering;
}
