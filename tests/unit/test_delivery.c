/*
 * Unit tests of smtp/delivery without sockets: a real spool, store and
 * reports.db in a temporary directory, scripted DNS (dns/resolver_fake),
 * a scripted MTA-STS source and a scripted SMTP client that records
 * every connection (with the TLS requirement and verification asked
 * for) and every transaction (with the content streamed to it).
 * Covered: DANE delivery, TLSA mismatch (deferred, nothing sent,
 * reported), MX failover, partial 5xx with one DSN, no DSN for <>,
 * expiry, connection reuse, concurrency limits, MTA-STS enforce (PKIX,
 * MX mismatch), dane-only, bogus and null MX, hold and flush,
 * multi-domain messages, backoff, TLS-RPT rows, fixed routes (mxd).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "core/log.h"
#include "dns/resolver_fake.h"
#include "smtp/delivery.h"
#include "smtp/submark.h"
#include "util/clock.h"

#define KEY "0101010101010101010101010101010101010101010101010101010101010101"
enum { S = TG_DNS_SECURE, I = TG_DNS_INSECURE, B = TG_DNS_BOGUS,
    X = TG_DNS_INDETERMINATE };
enum { OK = TG_DNS_OK, NX = TG_DNS_NXDOMAIN, ND = TG_DNS_NODATA,
    TF = TG_DNS_TEMPFAIL };

/* ---- the scripted SMTP client -------------------------------------------- */

/* What the server at one address does. */
struct server {
	char addr[46];
	enum tg_smtpc_status status;	/* of the connection */
	const char *result_type;	/* on a TLS failure */
	int plaintext;			/* no STARTTLS offered (MAY) */
	int rcpt_code[4];		/* per recipient: 0 = 250 */
	int data_code;			/* 0 = 250 */
	int delay_ms;			/* before each callback */
};

struct conn_rec {
	char addr[46];
	char mx[254];
	enum tg_smtpc_tls tls;
	enum tg_tls_mode mode;
	int report_only;
	char tlsa_base[254];
	size_t tlsa_n;
	char host[254];
	unsigned port;
};

struct txn_rec {
	unsigned flags;			/* TG_SPOOL_F_* */
	int requiretls_hop;
	char sender[256];
	size_t nrcpt;
	char rcpt0[256];
	char content[4096];
	size_t len;
};

static struct {
	struct server srv[8];
	size_t nsrv;
	struct conn_rec conns[64];
	size_t nconns;
	struct txn_rec txns[64];
	size_t ntxns;
	int open_conns;
} fk;

struct tg_smtpc {		/* the fake's own connection object */
	struct event_base *base;
	const struct server *srv;
	struct tg_smtpc_conn res;
	tg_smtpc_ready_cb ready;
	tg_smtpc_done_cb done;
	void *arg, *done_arg;
	struct tg_smtpc_txn_result tr;
	struct tg_smtpc_rcpt_result rr[8];
	struct event *ev;
	int usable, closed;
};

static const struct server *
fk_server(const char *addr)
{
	size_t i;

	for (i = 0; i < fk.nsrv; i++)
		if (strcmp(fk.srv[i].addr, addr) == 0)
			return &fk.srv[i];
	return NULL;
}

static void
fk_on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct tg_smtpc *c = arg;

	(void)fd;
	(void)what;
	c->usable = c->res.status == TG_SMTPC_OK;
	c->ready(c, &c->res, c->arg);
}

static void
fk_schedule(struct tg_smtpc *c, event_callback_fn fn)
{
	struct timeval tv = { 0, c->srv != NULL ? c->srv->delay_ms * 1000 : 0 };

	if (c->ev != NULL)
		event_free(c->ev);
	c->ev = evtimer_new(c->base, fn, c);
	evtimer_add(c->ev, &tv);
}

static void
fk_record_conn(const struct tg_smtpc_params *p)
{
	struct conn_rec *r = &fk.conns[fk.nconns++];

	memset(r, 0, sizeof(*r));
	snprintf(r->addr, sizeof(r->addr), "%s", p->addr);
	snprintf(r->mx, sizeof(r->mx), "%s", p->mx_host ? p->mx_host : "");
	r->tls = p->tls;
	r->mode = p->verify->mode;
	r->report_only = p->verify->report_only;
	snprintf(r->tlsa_base, sizeof(r->tlsa_base), "%s",
	    p->verify->tlsa_base ? p->verify->tlsa_base : "");
	r->tlsa_n = p->verify->tlsa_n;
	r->port = p->port;
	snprintf(r->host, sizeof(r->host), "%s",
	    p->verify->host ? p->verify->host : "");
}

static struct tg_smtpc *
fk_connect(struct event_base *base, const struct tg_smtpc_params *p,
    tg_smtpc_ready_cb ready, void *arg, struct tg_err *err)
{
	struct tg_smtpc *c = calloc(1, sizeof(*c));

	(void)err;
	assert_non_null(c);
	fk_record_conn(p);
	c->base = base;
	c->srv = fk_server(p->addr);
	c->ready = ready;
	c->arg = arg;
	snprintf(c->res.peer_ip, sizeof(c->res.peer_ip), "%s", p->addr);
	snprintf(c->res.local_ip, sizeof(c->res.local_ip), "127.0.0.9");
	snprintf(c->res.ehlo_name, sizeof(c->res.ehlo_name), "%s",
	    p->mx_host);
	c->res.status = c->srv == NULL ? TG_SMTPC_CONNECT_REFUSED :
	    c->srv->status;
	if (c->res.status != TG_SMTPC_OK) {
		c->res.why.cls = TG_ERR_TEMP;
		snprintf(c->res.why.status, sizeof(c->res.why.status), "%s",
		    c->res.status == TG_SMTPC_NOT_VERIFIED ? "4.7.5" : "4.4.1");
		snprintf(c->res.why.text, sizeof(c->res.why.text), "%s",
		    tg_smtpc_status_name(c->res.status));
		c->res.result_type = c->srv != NULL ? c->srv->result_type :
		    NULL;
		c->res.tls_started = c->res.status == TG_SMTPC_NOT_VERIFIED;
	} else if (!c->srv->plaintext) {
		c->res.tls_started = 1;
		c->res.tls.verified = p->verify->mode != TG_TLS_OPPORTUNISTIC;
		snprintf(c->res.tls.version, sizeof(c->res.tls.version),
		    "TLSv1.3");
	}
	fk.open_conns++;
	fk_schedule(c, fk_on_ready);
	return c;
}

static void
fk_on_done(evutil_socket_t fd, short what, void *arg)
{
	struct tg_smtpc *c = arg;

	(void)fd;
	(void)what;
	c->done(c, &c->tr, c->done_arg);
}

static void
fk_outcome(struct tg_smtpc_outcome *o, int code)
{
	memset(o, 0, sizeof(*o));
	o->code = code == 0 ? 250 : code;
	o->cls = code >= 500 ? TG_ERR_PERM : code >= 400 ? TG_ERR_TEMP :
	    TG_ERR_NONE;
	snprintf(o->status, sizeof(o->status), "%s", code >= 500 ? "5.1.1" :
	    code >= 400 ? "4.2.0" : "2.0.0");
	snprintf(o->text, sizeof(o->text), "%d %s", o->code, o->status);
}

/* Read the whole content through the engine's reader, as the client. */
static void
fk_read_all(const struct tg_smtpc_txn *t, struct txn_rec *r)
{
	char buf[97];
	struct tg_err err;
	ssize_t n;

	while ((n = t->read(t->read_arg, buf, sizeof(buf), &err)) > 0) {
		if (r->len + (size_t)n < sizeof(r->content))
			memcpy(r->content + r->len, buf, (size_t)n);
		r->len += (size_t)n;
	}
	assert_int_equal(n, 0);
}

static int
fk_send(struct tg_smtpc *c, const struct tg_smtpc_txn *t,
    tg_smtpc_done_cb cb, void *arg, struct tg_err *err)
{
	struct txn_rec *r = &fk.txns[fk.ntxns++];
	size_t i, ok = 0;

	if (!c->usable)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "not usable");
	memset(r, 0, sizeof(*r));
	snprintf(r->sender, sizeof(r->sender), "%s", t->sender);
	snprintf(r->rcpt0, sizeof(r->rcpt0), "%s", t->rcpt[0].addr);
	r->nrcpt = t->nrcpt;
	r->flags = t->flags;
	r->requiretls_hop = t->requiretls_hop;
	fk_read_all(t, r);
	assert_int_equal(r->len, t->size);
	memset(&c->tr, 0, sizeof(c->tr));
	c->tr.rcpt = c->rr;
	c->tr.nrcpt = t->nrcpt;
	c->tr.conn = &c->res;
	for (i = 0; i < t->nrcpt && i < 8; i++) {
		fk_outcome(&c->rr[i].rcpt, i < 4 ? c->srv->rcpt_code[i] : 0);
		if (c->rr[i].rcpt.cls == TG_ERR_NONE)
			ok++;
	}
	fk_outcome(&c->tr.data, ok > 0 ? c->srv->data_code : 0);
	for (i = 0; i < t->nrcpt && i < 8; i++)
		c->rr[i].final = c->rr[i].rcpt.cls != TG_ERR_NONE ?
		    c->rr[i].rcpt : c->tr.data;
	/* As smtp/client refuses before MAIL (client.h: REQUIRETLS). */
	if ((t->flags & TG_SPOOL_F_REQUIRETLS) && !t->requiretls_hop) {
		fk_outcome(&c->tr.mail, 550);
		snprintf(c->tr.mail.status, sizeof(c->tr.mail.status),
		    "5.7.10");
		for (i = 0; i < t->nrcpt && i < 8; i++)
			c->rr[i].final = c->tr.mail;
	}
	c->done = cb;
	c->done_arg = arg;
	fk_schedule(c, fk_on_done);
	return 0;
}

static int
fk_usable(const struct tg_smtpc *c)
{
	return c->usable && !c->closed;
}

static void
fk_free(struct tg_smtpc *c)
{
	if (c == NULL)
		return;
	if (c->ev != NULL)
		event_free(c->ev);
	fk.open_conns--;
	free(c);
}

static const struct tg_delivery_smtp_ops fk_ops = {
	fk_connect, fk_send, fk_usable, fk_free, fk_free
};

static struct server *
add_server(const char *addr, enum tg_smtpc_status st)
{
	struct server *s = &fk.srv[fk.nsrv++];

	memset(s, 0, sizeof(*s));
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	s->status = st;
	return s;
}

/* ---- the scripted MTA-STS source ----------------------------------------- */

static struct {
	int active;
	enum tg_sts_mode mode;
	const char *mx;
	int pending;
} sts;

struct sts_lk {
	struct event *ev;
	tg_stsclient_cb *cb;
	void *arg;
	struct tg_sts_outcome o;
};

static void
sts_fire(evutil_socket_t fd, short what, void *arg)
{
	struct sts_lk *l = arg;

	(void)fd;
	(void)what;
	event_free(l->ev);
	sts.pending--;
	l->cb(&l->o, l->arg);
	free(l);
}

static void *
sts_lookup(void *ctx, const char *domain, tg_stsclient_cb *cb, void *arg,
    struct tg_err *err)
{
	struct sts_lk *l = calloc(1, sizeof(*l));
	struct timeval tv = { 0, 0 };

	(void)err;
	assert_non_null(l);
	snprintf(l->o.domain, sizeof(l->o.domain), "%s", domain);
	l->o.status = TG_STSCLIENT_NO_POLICY;
	if (sts.active && strcmp(domain, "s.example") == 0) {
		l->o.status = TG_STSCLIENT_FETCHED;
		l->o.policy.mode = sts.mode;
		l->o.policy.max_age = 86400;
		l->o.policy.count = 1;
		snprintf(l->o.policy.mx[0], sizeof(l->o.policy.mx[0]), "%s",
		    sts.mx);
		snprintf(l->o.policy_id, sizeof(l->o.policy_id), "1");
	}
	l->cb = cb;
	l->arg = arg;
	l->ev = evtimer_new(ctx, sts_fire, l);
	evtimer_add(l->ev, &tv);
	sts.pending++;
	return l;
}

/* A source that cannot start a lookup (as with an unreadable cache). */
static void *
sts_lookup_error(void *ctx, const char *domain, tg_stsclient_cb *cb,
    void *arg, struct tg_err *err)
{
	(void)ctx;
	(void)domain;
	(void)cb;
	(void)arg;
	tg_err_set(err, TG_ERR_TEMP, NULL, "cache.db is locked");
	return NULL;
}

static void
sts_cancel(void *ctx, void *handle)
{
	struct sts_lk *l = handle;

	(void)ctx;
	event_free(l->ev);
	sts.pending--;
	free(l);
}

/* ---- fixture ------------------------------------------------------------ */

struct fx {
	char dir[64];
	struct event_base *base;
	struct tg_resolver *res;
	struct tg_spool *sp;
	struct tg_store *st;
	struct tg_reports *rp;
	SSL_CTX *ctx;
	struct tg_delivery *d;
	struct tg_delivery_params p;
};

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void
script(struct fx *f, const char *name, uint16_t type, int st, int sec,
    const char *rdata)
{
	struct tg_err err;

	if (tg_resolver_fake_add(f->res, name, type, st, sec, rdata, &err) != 0)
		fail_msg("script %s: %s", name, err.msg);
}

/* A domain with one secure MX host and an address; tlsa: NULL none. */
static void
script_domain(struct fx *f, const char *domain, const char *mx,
    const char *addr, int sec, const char *tlsa)
{
	char rdata[300], owner[300];

	snprintf(rdata, sizeof(rdata), "10 %s.", mx);
	script(f, domain, TG_DNS_T_MX, OK, sec, rdata);
	script(f, mx, TG_DNS_T_A, OK, sec, addr);
	script(f, mx, TG_DNS_T_AAAA, ND, sec, NULL);
	snprintf(owner, sizeof(owner), "_25._tcp.%s", mx);
	if (tlsa != NULL)
		script(f, owner, TG_DNS_T_TLSA, OK, S, tlsa);
	else
		script(f, owner, TG_DNS_T_TLSA, NX, S, NULL);
}

static void
engine(struct fx *f)
{
	struct tg_err err;

	tg_delivery_free(f->d);
	f->d = tg_delivery_new(&f->p, &err);
	if (f->d == NULL)
		fail_msg("engine: %s", err.msg);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct tg_err err;
	char sub[128];

	memset(&fk, 0, sizeof(fk));
	memset(&sts, 0, sizeof(sts));
	snprintf(f->dir, sizeof(f->dir), "/tmp/tg-dlv-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(sub, sizeof(sub), "%s/spool", f->dir);
	assert_non_null(f->base = event_base_new());
	assert_non_null(f->res = tg_resolver_fake_new(f->base));
	assert_int_equal(tg_spool_open(sub, NULL, &f->sp, &err), 0);
	assert_int_equal(tg_store_open(f->dir, &f->st, &err), 0);
	assert_int_equal(tg_reports_open(f->dir, 0, &f->rp, &err), 0);
	assert_non_null(f->ctx = tg_tls_client_ctx_new(NULL, &err));
	tg_delivery_params_init(&f->p);
	f->p.base = f->base;
	f->p.spool = f->sp;
	f->p.resolver = f->res;
	f->p.store = f->st;
	f->p.reports = f->rp;
	f->p.ssl_ctx = f->ctx;
	f->p.smtp = &fk_ops;
	f->p.helo_name = "relay.inside.example";
	f->p.min_backoff = 60;
	f->p.max_backoff = 600;
	f->p.sts.lookup = sts_lookup;
	f->p.sts.cancel = sts_cancel;
	f->p.sts.ctx = f->base;
	engine(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tg_delivery_free(f->d);
	assert_int_equal(fk.open_conns, 0);
	assert_int_equal(sts.pending, 0);
	SSL_CTX_free(f->ctx);
	tg_reports_close(f->rp);
	tg_store_close(f->st);
	tg_spool_free(f->sp);
	tg_resolver_free(f->res);
	event_base_free(f->base);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	tg_clock_set(0);
	return 0;
}

/* Queue a message with content body from sender to rcpts
 * (NULL-terminated). */
static void
queue_env(struct fx *f, const char *sender, const char *const *rcpts,
    const char *body, unsigned flags, enum tg_spool_ret ret,
    char qid[TG_SPOOL_QID_LEN + 1])
{
	struct tg_spool_rcpt r[4];
	struct tg_spool_env env;
	struct tg_spool_wmsg *w;
	struct tg_err err;
	size_t n;

	for (n = 0; rcpts[n] != NULL; n++) {
		r[n].addr = (char *)rcpts[n];
		r[n].orcpt = NULL;
		r[n].notify = 0;
	}
	memset(&env, 0, sizeof(env));
	env.sender = (char *)sender;
	env.helo = "inside.example";
	env.client_addr = "10.0.0.1";
	env.proto = "ESMTP";
	env.flags = flags;
	env.ret = ret;
	env.rcpt = r;
	env.nrcpt = n;
	assert_int_equal(tg_spool_begin(f->sp, &env, &w, &err), 0);
	assert_int_equal(tg_spool_write(w, body, strlen(body), &err), 0);
	assert_int_equal(tg_spool_commit(&w, qid, &err), 0);
}

static void
queue_body(struct fx *f, const char *sender, const char *const *rcpts,
    const char *body, char qid[TG_SPOOL_QID_LEN + 1])
{
	queue_env(f, sender, rcpts, body, 0, TG_SPOOL_RET_UNSET, qid);
}

static void
queue(struct fx *f, const char *sender, const char *const *rcpts,
    char qid[TG_SPOOL_QID_LEN + 1])
{
	queue_body(f, sender, rcpts, "Subject: test\r\n\r\nhello\r\n", qid);
}

/* Run the loop until the engine has nothing in flight. */
static void
run(struct fx *f)
{
	long long t0 = tg_clock_mono_ms();

	tg_delivery_kick(f->d, NULL);
	do {
		event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (tg_clock_mono_ms() - t0 > 5000) {
			struct tg_delivery_stats st;

			tg_delivery_stats(f->d, &st);
			fail_msg("the engine did not settle: %zu open, %zu "
			    "busy", st.open_messages, st.active_sessions);
		}
	} while (!tg_delivery_idle(f->d));
}

struct qstate {
	const char *qid;
	int found;
	enum tg_spool_rstate st[4];
	char reason[4][TG_SPOOL_REASON_MAX];
	time_t next[4];
	char sender[256];
	size_t n;
};

static int
q_one(void *arg, const struct tg_spool_info *info)
{
	struct qstate *q = arg;
	size_t i;

	if (q->qid != NULL && strcmp(info->env->qid, q->qid) != 0)
		return 0;
	q->found++;
	q->n = info->env->nrcpt;
	snprintf(q->sender, sizeof(q->sender), "%s", info->env->sender);
	for (i = 0; i < info->env->nrcpt && i < 4; i++) {
		q->st[i] = info->rs[i].state;
		q->next[i] = info->rs[i].next_attempt;
		snprintf(q->reason[i], sizeof(q->reason[i]), "%s",
		    info->rs[i].reason);
	}
	return 0;
}

static void
qlook(struct fx *f, const char *qid, struct qstate *q)
{
	struct tg_err err;

	memset(q, 0, sizeof(*q));
	q->qid = qid;
	assert_int_equal(tg_spool_list(f->sp, q_one, q, &err), 0);
}

struct rrow {
	const char *domain;
	int n, ok, fail;
	char last_type[64];
	enum tg_reports_policy_type ptype;
	char strings[TG_REPORTS_POLICY_MAX];
};

static int
r_one(const struct tg_reports_row *row, void *arg)
{
	struct rrow *r = arg;

	r->n++;
	if (row->result_type[0] == '\0')
		r->ok += (int)row->count;
	else {
		r->fail += (int)row->count;
		snprintf(r->last_type, sizeof(r->last_type), "%s",
		    row->result_type);
	}
	r->ptype = row->policy_type;
	snprintf(r->strings, sizeof(r->strings), "%s", row->policy_strings);
	return 0;
}

static void
rlook(struct fx *f, const char *domain, struct rrow *r)
{
	char day[11];
	struct tg_err err;

	memset(r, 0, sizeof(*r));
	tg_reports_day(tg_clock_now(), day);
	assert_int_equal(tg_reports_sessions(f->rp, day, domain, r_one, r,
	    &err), 0);
}

/* ---- tests -------------------------------------------------------------- */

static const char *const RCPT_A[] = { "bob@a.example", NULL };

/* RFC 7672: secure MX, secure address, usable TLSA: STARTTLS required,
 * DANE verification with the records, TLSA base = MX name; delivered,
 * removed, counted as a tlsa success. */
static void
test_dane_delivered(void **state)
{
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_delivery_stats st;
	struct qstate q;
	struct rrow r;

	script_domain(f, "a.example", "mx.a.example", "192.0.2.1", S,
	    "3 1 1 " KEY);
	add_server("192.0.2.1", TG_SMTPC_OK);
	queue(f, "alice@inside.example", RCPT_A, qid);
	run(f);
	assert_int_equal(fk.nconns, 1);
	assert_int_equal(fk.conns[0].tls, TG_SMTPC_TLS_REQUIRE);
	assert_int_equal(fk.conns[0].mode, TG_TLS_DANE);
	assert_false(fk.conns[0].report_only);
	assert_string_equal(fk.conns[0].tlsa_base, "mx.a.example");
	assert_int_equal(fk.conns[0].tlsa_n, 1);
	assert_int_equal(fk.ntxns, 1);
	assert_string_equal(fk.txns[0].sender, "alice@inside.example");
	assert_string_equal(fk.txns[0].rcpt0, "bob@a.example");
	assert_non_null(strstr(fk.txns[0].content, "hello\r\n"));
	qlook(f, qid, &q);
	assert_int_equal(q.found, 0);		/* delivered and removed */
	assert_int_equal(tg_spool_count(f->sp), 0);
	rlook(f, "a.example", &r);
	assert_int_equal(r.ok, 1);
	assert_int_equal(r.fail, 0);
	assert_int_equal(r.ptype, TG_REPORTS_TLSA);
	assert_string_equal(r.strings, "3 1 1 " KEY);
	tg_delivery_stats(f->d, &st);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.open_messages, 0);
}

/* O-04: the served key matches no TLSA record: deferred, still queued,
 * no transaction (nothing sent in any form), tlsa-invalid recorded,
 * retry after the minimal backoff. */
static void
test_tlsa_mismatch(void **state)
{
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];
	struct server *s;
	struct qstate q;
	struct rrow r;
	time_t now = tg_clock_now();

	script_domain(f, "a.example", "mx.a.example", "192.0.2.1", S,
	    "3 1 1 " KEY);
	s = add_server("192.0.2.1", TG_SMTPC_NOT_VERIFIED);
	s->result_type = "tlsa-invalid";
	queue(f, "alice@inside.example", RCPT_A, qid);
	run(f);
	assert_int_equal(fk.nconns, 1);
	assert_int_equal(fk.ntxns, 0);
	qlook(f, qid, &q);
	assert_int_equal(q.found, 1);
	assert_int_equal(q.st[0], TG_SPOOL_DEFERRED);
	assert_non_null(strstr(q.reason[0], "4.7.5"));
	assert_true(q.next[0] >= now + 60 && q.next[0] <= now + 62);
	rlook(f, "a.example", &r);
	assert_int_equal(r.ok, 0);
	assert_int_equal(r.fail, 1);
	assert_string_equal(r.last_type, "tlsa-invalid");
	/* Not due yet: a run does nothing. */
	run(f);
	assert_int_equal(fk.nconns, 1);
	/* The fault fixed, the retry delivers (with a fresh decision). */
	s->status = TG_SMTPC_OK;
	tg_clock_set(now + 3600);
	run(f);
	assert_int_equal(fk.ntxns, 1);
	assert_int_equal(tg_spool_count(f->sp), 0);
}

/* RFC 5321 §5.1: the first MX refuses, the second takes the mail; the
 * backoff doubles for a recipient deferred twice. */
static void
test_failover_backoff(void **state)
{
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];
	struct qstate q;
	time_t now = tg_clock_now();

	script(f, "a.example", TG_DNS_T_MX, OK, I, "10 mx1.a.example.\n"
	    "20 mx2.a.example.");
	script(f, "mx1.a.example", TG_DNS_T_A, OK, I, "192.0.2.1");
	script(f, "mx1.a.example", TG_DNS_T_AAAA, ND, I, NULL);
	script(f, "mx2.a.example", TG_DNS_T_A, OK, I, "192.0.2.2");
	script(f, "mx2.a.example", TG_DNS_T_AAAA, ND, I, NULL);
	add_server("192.0.2.1", TG_SMTPC_CONNECT_REFUSED);
	add_server("192.0.2.2", TG_SMTPC_OK)->data_code = 451;
	queue(f, "alice@inside.example", RCPT_A, qid);
	run(f);
	/* RFC 7672 §2.2.3: insecure addresses, no TLSA lookup at all. */
	assert_int_equal(tg_resolver_fake_count(f->res,
	    "_25._tcp.mx1.a.example", TG_DNS_T_TLSA), 0);
	assert_int_equal(fk.nconns, 2);
	assert_string_equal(fk.conns[1].addr, "192.0.2.2");
	assert_int_equal(fk.conns[1].tls, TG_SMTPC_TLS_MAY);
	assert_int_equal(fk.conns[1].mode, TG_TLS_OPPORTUNISTIC);
	assert_int_equal(fk.ntxns, 1);
	qlook(f, qid, &q);
	assert_int_equal(q.st[0], TG_SPOOL_DEFERRED);
	assert_true(q.next[0] >= now + 60 && q.next[0] <= now + 62);
	tg_clock_set(now + 100);
	run(f);
	qlook(f, qid, &q);
	assert_true(q.next[0] >= now + 100 + 120 && q.next[0] <= now + 222);
}

/* A 5xx for one recipient: the other delivered, one DSN (null sender,
 * to the original sender) for the failed one; the original is gone. */
static void
test_partial_bounce_dsn(void **state)
{
	static const char *const rcpts[] = { "bob@a.example",
	    "nobody@a.example", NULL };
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_delivery_stats st;
	struct qstate q;

	script_domain(f, "a.example", "mx.a.example", "192.0.2.1", I, NULL);
	add_server("192.0.2.1", TG_SMTPC_OK)->rcpt_code[1] = 550;
	script(f, "inside.example", TG_DNS_T_MX, TF, X, NULL);
	queue(f, "alice@inside.example", rcpts, qid);
	run(f);
	assert_int_equal(fk.ntxns, 1);
	assert_int_equal(fk.txns[0].nrcpt, 2);
	qlook(f, qid, &q);
	assert_int_equal(q.found, 0);
	qlook(f, NULL, &q);
	assert_int_equal(q.found, 1);		/* the DSN, deferred */
	assert_string_equal(q.sender, "");
	tg_delivery_stats(f->d, &st);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.dsns, 1);
}

/* RFC 8689 §4.2.1: the engine tells the client which hosts may take a
 * REQUIRETLS message (DANE with a secure MX: yes; opportunistic: no);
 * the refused one comes back with its header only, even with RET=FULL
 * (§5). */
static void
test_requiretls(void **state)
{
	static const char *const rcpt_b[] = { "carol@b.example", NULL };
	static const char body[] = "Subject: private\r\n\r\nthe secret\r\n";
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1], qid2[TG_SPOOL_QID_LEN + 1];
	const struct txn_rec *dsn = NULL;
	size_t i;

	script_domain(f, "a.example", "mx.a.example", "192.0.2.1", S,
	    "3 1 1 " KEY);
	add_server("192.0.2.1", TG_SMTPC_OK);
	script_domain(f, "b.example", "mx.b.example", "192.0.2.2", I, NULL);
	add_server("192.0.2.2", TG_SMTPC_OK);
	script_domain(f, "inside.example", "mx.inside.example", "192.0.2.3",
	    I, NULL);
	add_server("192.0.2.3", TG_SMTPC_OK);
	queue_env(f, "alice@inside.example", RCPT_A, body,
	    TG_SPOOL_F_REQUIRETLS, TG_SPOOL_RET_FULL, qid);
	queue_env(f, "alice@inside.example", rcpt_b, body,
	    TG_SPOOL_F_REQUIRETLS, TG_SPOOL_RET_FULL, qid2);
	run(f);
	for (i = 0; i < fk.ntxns; i++) {
		const struct txn_rec *t = &fk.txns[i];

		if (strcmp(t->rcpt0, "bob@a.example") == 0) {
			assert_int_equal(t->flags, TG_SPOOL_F_REQUIRETLS);
			assert_true(t->requiretls_hop);
		} else if (strcmp(t->rcpt0, "carol@b.example") == 0) {
			assert_int_equal(t->flags, TG_SPOOL_F_REQUIRETLS);
			assert_false(t->requiretls_hop);
		} else {
			dsn = t;
		}
	}
	assert_int_equal(fk.ntxns, 3);
	assert_non_null(dsn);
	assert_string_equal(dsn->sender, "");
	assert_string_equal(dsn->rcpt0, "alice@inside.example");
	assert_int_equal(dsn->flags & TG_SPOOL_F_REQUIRETLS, 0);
	assert_non_null(strstr(dsn->content, "5.7.10"));
	assert_non_null(strstr(dsn->content, "Subject: private"));
	assert_null(strstr(dsn->content, "the secret"));
	assert_int_equal(tg_spool_count(f->sp), 0);
}

/* RELIABILITY I-10: with a limit of one DSN per sender domain, the
 * second bounce to the same domain is not written (the recipient fails
 * all the same); another domain still gets its DSN. */
static void
test_dsn_limit(void **state)
{
	static const char *const nobody[] = { "nobody@a.example", NULL };
	static const char *const senders[] = { "alice@inside.example",
	    "bob@INSIDE.example", "carol@other.example" };
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_delivery_stats st;
	size_t i;

	tg_delivery_set_dsn_limit(f->d, 1);
	script_domain(f, "a.example", "mx.a.example", "192.0.2.1", I, NULL);
	add_server("192.0.2.1", TG_SMTPC_OK)->rcpt_code[0] = 550;
	script(f, "inside.example", TG_DNS_T_MX, TF, X, NULL);
	script(f, "other.example", TG_DNS_T_MX, TF, X, NULL);
	for (i = 0; i < 3; i++) {
		queue(f, senders[i], nobody, qid);
		run(f);
	}
	tg_delivery_stats(f->d, &st);
	assert_int_equal(st.failed, 3);
	assert_int_equal(st.dsns, 2);
	assert_int_equal(st.dsns_limited, 1);
	/* Two DSNs wait in the queue, nothing else. */
	assert_int_equal(tg_spool_count(f->sp), 2);
	/* No limit: every bounce has its DSN. */
	tg_delivery_set_dsn_limit(f->d, 0);
	queue(f, senders[1], nobody, qid);
	run(f);
	tg_delivery_stats(f->d, &st);
	assert_int_equal(st.dsns, 3);
}

/* RFC 5321 §4.5.5: a bounce of a message from <> causes no DSN. */
static void
test_no_dsn_for_dsn(void **state)
{
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_delivery_stats st;

	script_domain(f, "a.example", "mx.a.example", "192.0.2.1", I, NULL);
	add_server("192.0.2.1", TG_SMTPC_OK)->rcpt_code[0] = 550;
	queue(f, "", RCPT_A, qid);
	run(f);
	tg_delivery_stats(f->d, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.dsns, 0);
	assert_int_equal(tg_spool_count(f->sp), 0);
}

/* past the queue lifetime a temporary failure fails the recipient
 * and the sender gets a DSN saying it expired. */
static void
test_expiry(void **state)
{
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_delivery_stats st;
	struct qstate q;

	f->p.max_lifetime = 3600;
	engine(f);
	script_domain(f, "a.example", "mx.a.example", "192.0.2.1", I, NULL);
	add_server("192.0.2.1", TG_SMTPC_CONNECT_REFUSED);
	script(f, "inside.example", TG_DNS_T_MX, TF, X, NULL);
	queue(f, "alice@inside.example", RCPT_A, qid);
	run(f);
	qlook(f, qid, &q);
	assert_int_equal(q.st[0], TG_SPOOL_DEFERRED);
	tg_clock_set(tg_clock_now() + 3601);
	run(f);
	qlook(f, qid, &q);
	assert_int_equal(q.found, 0);
	tg_delivery_stats(f->d, &st);
	assert_int_equal(st.dsns, 1);
	qlook(f, NULL, &q);
	assert_string_equal(q.sender, "");
}

/* Several messages to one destination: one connection carries them all
 * (dest_sessions 1); with more sessions allowed, never more at once. */
static void
test_reuse_and_limits(void **state)
{
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_delivery_stats st;
	int i;

	f->p.dest_sessions = 1;
	engine(f);
	script_domain(f, "a.example", "mx.a.example", "192.0.2.1", S,
	    "3 1 1 " KEY);
	add_server("192.0.2.1", TG_SMTPC_OK)->delay_ms = 2;
	for (i = 0; i < 5; i++)
		queue(f, "alice@inside.example", RCPT_A, qid);
	run(f);
	assert_int_equal(fk.nconns, 1);
	assert_int_equal(fk.ntxns, 5);
	tg_delivery_stats(f->d, &st);
	assert_int_equal(st.reused, 4);
	assert_int_equal(st.max_active_sessions, 1);
	assert_int_equal(tg_spool_count(f->sp), 0);
	/* Three per destination, two in all. */
	memset(&fk.conns, 0, sizeof(fk.conns));
	fk.nconns = fk.ntxns = 0;
	f->p.dest_sessions = 3;
	f->p.max_sessions = 2;
	engine(f);
	for (i = 0; i < 8; i++)
		queue(f, "alice@inside.example", RCPT_A, qid);
	run(f);
	tg_delivery_stats(f->d, &st);
	assert_int_equal(st.max_active_sessions, 2);
	assert_int_equal(fk.ntxns, 8);
	assert_int_equal(tg_spool_count(f->sp), 0);
}

/* RFC 8461 enforce: the MX matches, TLS and PKIX for the MX name; then
 * an MX outside the patterns: deferred without connecting, reported. */
static void
test_sts_enforce(void **state)
{
	static const char *const rcpt[] = { "x@s.example", NULL };
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];
	struct qstate q;
	struct rrow r;

	sts.active = 1;
	sts.mode = TG_STS_MODE_ENFORCE;
	sts.mx = "mx.s.example";
	script_domain(f, "s.example", "mx.s.example", "192.0.2.5", I, NULL);
	add_server("192.0.2.5", TG_SMTPC_OK);
	queue(f, "alice@inside.example", rcpt, qid);
	run(f);
	assert_int_equal(fk.nconns, 1);
	assert_int_equal(fk.conns[0].tls, TG_SMTPC_TLS_REQUIRE);
	assert_int_equal(fk.conns[0].mode, TG_TLS_PKIX);
	assert_string_equal(fk.conns[0].host, "mx.s.example");
	assert_int_equal(fk.ntxns, 1);
	rlook(f, "s.example", &r);
	assert_int_equal(r.ok, 1);
	assert_int_equal(r.ptype, TG_REPORTS_STS);
	/* Now the policy names another MX. */
	sts.mx = "mail.s.example";
	tg_clock_set(tg_clock_now() + 120);	/* past the plan's life */
	queue(f, "alice@inside.example", rcpt, qid);
	run(f);
	assert_int_equal(fk.nconns, 1);
	qlook(f, qid, &q);
	assert_int_equal(q.st[0], TG_SPOOL_DEFERRED);
	rlook(f, "s.example", &r);
	assert_int_equal(r.fail, 1);
	assert_string_equal(r.last_type, "validation-failure");
}

/* RFC 7672 §6, checklist item 16: dane-only without TLSA: deferred,
 * "dane-required", no connection. */
static void
test_dane_only(void **state)
{
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_err err;
	struct qstate q;
	struct rrow r;

	assert_int_equal(tg_store_dest_set(f->st, "a.example",
	    TG_STORE_DEST_DANE_ONLY, NULL, &err), 0);
	script_domain(f, "a.example", "mx.a.example", "192.0.2.1", I, NULL);
	add_server("192.0.2.1", TG_SMTPC_OK);
	queue(f, "alice@inside.example", RCPT_A, qid);
	run(f);
	assert_int_equal(fk.nconns, 0);
	qlook(f, qid, &q);
	assert_int_equal(q.st[0], TG_SPOOL_DEFERRED);
	assert_non_null(strstr(q.reason[0], "dane-only"));
	rlook(f, "a.example", &r);
	assert_string_equal(r.last_type, "dane-required");
}

/* RFC 7672 §2.1.1: a bogus MX RRset defers the domain, no address or
 * TLSA lookups; RFC 7505: a null MX fails at once (DSN). */
static void
test_bogus_and_null_mx(void **state)
{
	static const char *const rcpt[] = { "x@null.example", NULL };
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_delivery_stats st;
	struct qstate q;

	script(f, "a.example", TG_DNS_T_MX, OK, B, "10 mx.a.example.");
	script(f, "mx.a.example", TG_DNS_T_A, OK, S, "192.0.2.1");
	queue(f, "alice@inside.example", RCPT_A, qid);
	run(f);
	assert_int_equal(fk.nconns, 0);
	assert_int_equal(tg_resolver_fake_count(f->res, "mx.a.example",
	    TG_DNS_T_A), 0);
	qlook(f, qid, &q);
	assert_int_equal(q.st[0], TG_SPOOL_DEFERRED);
	script(f, "null.example", TG_DNS_T_MX, OK, S, "0 .");
	script(f, "inside.example", TG_DNS_T_MX, TF, X, NULL);
	queue(f, "alice@inside.example", rcpt, qid);
	run(f);
	qlook(f, qid, &q);
	assert_int_equal(q.found, 0);
	tg_delivery_stats(f->d, &st);
	assert_int_equal(st.dsns, 1);
}

/* A held message is left alone; flush makes deferred messages due. */
static void
test_hold_flush(void **state)
{
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1], q2[TG_SPOOL_QID_LEN + 1];
	struct server *s;
	struct tg_err err;

	script_domain(f, "a.example", "mx.a.example", "192.0.2.1", I, NULL);
	s = add_server("192.0.2.1", TG_SMTPC_CONNECT_REFUSED);
	queue(f, "alice@inside.example", RCPT_A, qid);
	queue(f, "alice@inside.example", RCPT_A, q2);
	assert_int_equal(tg_spool_hold(f->sp, q2, 1, &err), 0);
	run(f);
	assert_int_equal(fk.nconns, 1);	/* the held one not tried */
	s->status = TG_SMTPC_OK;
	run(f);
	assert_int_equal(fk.ntxns, 0);		/* not due yet */
	tg_delivery_flush(f->d);
	run(f);
	assert_int_equal(fk.ntxns, 1);
	assert_int_equal(tg_spool_count(f->sp), 1);	/* the held one */
	assert_int_equal(tg_spool_hold(f->sp, q2, 0, &err), 0);
	run(f);
	assert_int_equal(fk.ntxns, 2);
	assert_int_equal(tg_spool_count(f->sp), 0);
}

/* Recipients in two domains: one delivered, the other's TLSA lookup is
 * bogus (host skipped, dnssec-invalid): the message stays with one. */
static void
test_two_domains(void **state)
{
	static const char *const rcpts[] = { "bob@a.example", "eve@b.example",
	    NULL };
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];
	struct qstate q;
	struct rrow r;

	script_domain(f, "a.example", "mx.a.example", "192.0.2.1", S,
	    "3 1 1 " KEY);
	script(f, "b.example", TG_DNS_T_MX, OK, S, "10 mx.b.example.");
	script(f, "mx.b.example", TG_DNS_T_A, OK, S, "192.0.2.2");
	script(f, "mx.b.example", TG_DNS_T_AAAA, ND, S, NULL);
	script(f, "_25._tcp.mx.b.example", TG_DNS_T_TLSA, OK, B, "3 1 1 " KEY);
	add_server("192.0.2.1", TG_SMTPC_OK);
	add_server("192.0.2.2", TG_SMTPC_OK);
	queue(f, "alice@inside.example", rcpts, qid);
	run(f);
	assert_int_equal(fk.nconns, 1);
	assert_string_equal(fk.conns[0].addr, "192.0.2.1");
	qlook(f, qid, &q);
	assert_int_equal(q.st[0], TG_SPOOL_DELIVERED);
	assert_int_equal(q.st[1], TG_SPOOL_DEFERRED);
	rlook(f, "b.example", &r);
	assert_string_equal(r.last_type, "dnssec-invalid");
}

/* RFC 7672 §2.2.3 (checklist item 6): the MX host is a secure CNAME;
 * no TLSA at the target (secure denial), so the original name is the
 * TLSA base domain, and SNI. */
static void
test_cname_tlsa_base(void **state)
{
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];

	script(f, "a.example", TG_DNS_T_MX, OK, S, "10 mx.a.example.");
	script(f, "mx.a.example", TG_DNS_T_CNAME, OK, S, "host.b.example.");
	script(f, "host.b.example", TG_DNS_T_A, OK, S, "192.0.2.7");
	script(f, "host.b.example", TG_DNS_T_AAAA, ND, S, NULL);
	script(f, "_25._tcp.host.b.example", TG_DNS_T_TLSA, ND, S, NULL);
	script(f, "_25._tcp.mx.a.example", TG_DNS_T_TLSA, OK, S, "3 1 1 " KEY);
	add_server("192.0.2.7", TG_SMTPC_OK);
	queue(f, "alice@inside.example", RCPT_A, qid);
	run(f);
	assert_int_equal(tg_resolver_fake_count(f->res,
	    "_25._tcp.host.b.example", TG_DNS_T_TLSA), 1);
	assert_int_equal(fk.nconns, 1);
	assert_int_equal(fk.conns[0].mode, TG_TLS_DANE);
	assert_string_equal(fk.conns[0].tlsa_base, "mx.a.example");
	assert_int_equal(fk.ntxns, 1);
}

/* STS lookup errors (cache unreadable) defer, never deliver as if there
 * were no policy; a dest_policies read error likewise. */
static void
test_unknown_policy_defers(void **state)
{
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];
	struct qstate q;

	f->p.sts.lookup = sts_lookup_error;
	engine(f);
	script_domain(f, "a.example", "mx.a.example", "192.0.2.1", I, NULL);
	add_server("192.0.2.1", TG_SMTPC_OK);
	queue(f, "alice@inside.example", RCPT_A, qid);
	run(f);
	assert_int_equal(fk.nconns, 0);
	qlook(f, qid, &q);
	assert_int_equal(q.st[0], TG_SPOOL_DEFERRED);
	assert_non_null(strstr(q.reason[0], "MTA-STS"));
}

/* ---- our own TLS reports (smtp/submark) ------------------------------- */

static const unsigned char REPORT_KEY[TG_SUBMARK_KEY_LEN] = { 7, 7, 7 };
#define RPT_RECEIVED "Received: from relay ([127.0.0.1])\r\n\tby gw " \
	"(tlsgate) with ESMTP id X;\r\n\tThu, 3 Dec 2026 10:00:00 +0000\r\n"
#define RPT_BODY "From: tlsrpt@inside.example\r\nSubject: Report\r\n" \
	"\r\nthe report\r\n"

/* The content relayd spools for a report of rptd: its Received field,
 * the marker made with key, the report mail; tamper changes the mail
 * after the mac was made. */
static void
report_content(const unsigned char *key, int tamper, char *out,
    size_t outlen)
{
	char mark[TG_SUBMARK_LINE_LEN + 1];

	tg_submark_line(key, RPT_BODY, strlen(RPT_BODY), mark);
	snprintf(out, outlen, "%s%s%s", RPT_RECEIVED, mark, RPT_BODY);
	if (tamper)
		*strstr(out, "the report") = 'T';
}

/* RFC 8460 §5.3.1: a verified report to a DANE domain goes with
 * opportunistic TLS, without the marker line, and is not recorded for
 * TLS-RPT; other mail to the same domain in the same run still gets DANE
 * on a connection of its own. */
static void
test_report_submission(void **state)
{
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1], qid2[TG_SPOOL_QID_LEN + 1];
	char content[1024];
	const struct txn_rec *t;
	struct rrow r;
	size_t i;

	f->p.report_key = REPORT_KEY;
	engine(f);
	script_domain(f, "a.example", "mx.a.example", "192.0.2.1", S,
	    "3 1 1 " KEY);
	add_server("192.0.2.1", TG_SMTPC_OK);
	report_content(REPORT_KEY, 0, content, sizeof(content));
	queue_body(f, "tlsrpt@inside.example", RCPT_A, content, qid);
	queue(f, "alice@inside.example", RCPT_A, qid2);
	run(f);
	assert_int_equal(tg_spool_count(f->sp), 0);
	assert_int_equal(fk.nconns, 2);
	assert_int_equal(fk.ntxns, 2);
	for (i = 0; i < 2; i++) {
		t = &fk.txns[i];
		if (strcmp(t->sender, "tlsrpt@inside.example") != 0)
			continue;
		/* The marker line is gone, everything around it stays. */
		assert_int_equal(t->len, strlen(content) -
		    TG_SUBMARK_LINE_LEN);
		assert_null(strstr(t->content, TG_SUBMARK_FIELD));
		assert_memory_equal(t->content, RPT_RECEIVED,
		    strlen(RPT_RECEIVED));
		assert_string_equal(t->content + strlen(RPT_RECEIVED),
		    RPT_BODY);
	}
	for (i = 0; i < 2; i++)
		if (fk.conns[i].mode == TG_TLS_OPPORTUNISTIC)
			assert_int_equal(fk.conns[i].tls, TG_SMTPC_TLS_MAY);
		else
			assert_int_equal(fk.conns[i].mode, TG_TLS_DANE);
	assert_int_not_equal(fk.conns[0].mode, fk.conns[1].mode);
	/* Only the other message's session is in the reports. */
	rlook(f, "a.example", &r);
	assert_int_equal(r.ok, 1);
	assert_int_equal(r.fail, 0);
}

/* A marker under another key, or over altered content, is ignored: the
 * message is handled as any other mail (DANE here, and the mismatch
 * defers it: nothing is sent). */
static void
test_report_marker_forged(void **state)
{
	static const unsigned char other[TG_SUBMARK_KEY_LEN] = { 8 };
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1], qid2[TG_SPOOL_QID_LEN + 1];
	char content[1024];
	struct qstate q;
	struct server *s;

	f->p.report_key = REPORT_KEY;
	engine(f);
	script_domain(f, "a.example", "mx.a.example", "192.0.2.1", S,
	    "3 1 1 " KEY);
	s = add_server("192.0.2.1", TG_SMTPC_NOT_VERIFIED);
	s->result_type = "tlsa-invalid";
	report_content(other, 0, content, sizeof(content));
	queue_body(f, "tlsrpt@inside.example", RCPT_A, content, qid);
	report_content(REPORT_KEY, 1, content, sizeof(content));
	queue_body(f, "tlsrpt@inside.example", RCPT_A, content, qid2);
	run(f);
	assert_int_equal(fk.ntxns, 0);
	assert_true(fk.nconns >= 1);
	assert_int_equal(fk.conns[0].mode, TG_TLS_DANE);
	assert_int_equal(fk.conns[0].tls, TG_SMTPC_TLS_REQUIRE);
	qlook(f, qid, &q);
	assert_int_equal(q.st[0], TG_SPOOL_DEFERRED);
	qlook(f, qid2, &q);
	assert_int_equal(q.st[0], TG_SPOOL_DEFERRED);
}

/* Without a key nothing is a report: the real marker changes nothing. */
static void
test_report_no_key(void **state)
{
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1], content[1024];

	script_domain(f, "a.example", "mx.a.example", "192.0.2.1", S,
	    "3 1 1 " KEY);
	add_server("192.0.2.1", TG_SMTPC_OK);
	report_content(REPORT_KEY, 0, content, sizeof(content));
	queue_body(f, "tlsrpt@inside.example", RCPT_A, content, qid);
	run(f);
	assert_int_equal(fk.nconns, 1);
	assert_int_equal(fk.conns[0].mode, TG_TLS_DANE);
	assert_int_equal(fk.txns[0].len, strlen(content));
}

/* ---- routes (mxd: a hosted domain's internal mail server) ---------- */

static int
route_ours(void *ctx, const char *domain, struct tg_delivery_route *out)
{
	(void)ctx;
	if (strcmp(domain, "ours.example") == 0) {
		snprintf(out->host, sizeof(out->host), "192.0.2.50");
		out->port = 2525;
		return 1;
	}
	if (strcmp(domain, "named.example") == 0) {
		snprintf(out->host, sizeof(out->host), "mail.inside.example");
		out->require_tls = 1;
		return 1;
	}
	return 0;
}

/* A routed domain goes to its route's host and port, with the TLS the
 * route asks for and no verification; no MX, TLSA or MTA-STS lookup,
 * no local policy, nothing recorded for TLS-RPT. Other domains of the
 * same message still go by their MX. */
static void
test_route(void **state)
{
	static const char *const rcpts[] = { "bob@ours.example",
	    "carol@named.example", "dave@a.example", NULL };
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_err err;
	struct rrow r;
	size_t i, seen = 0;

	f->p.route = route_ours;
	engine(f);
	/* A local policy that would refuse them, were it asked. */
	assert_int_equal(tg_store_dest_set(f->st, "ours.example",
	    TG_STORE_DEST_DANE_ONLY, NULL, &err), 0);
	script(f, "mail.inside.example", TG_DNS_T_A, OK, S, "10.0.0.25");
	script(f, "mail.inside.example", TG_DNS_T_AAAA, ND, S, NULL);
	script_domain(f, "a.example", "mx.a.example", "192.0.2.1", S,
	    "3 1 1 " KEY);
	add_server("192.0.2.50", TG_SMTPC_OK);
	add_server("10.0.0.25", TG_SMTPC_OK);
	add_server("192.0.2.1", TG_SMTPC_OK);
	queue(f, "alice@outside.example", rcpts, qid);
	run(f);
	assert_int_equal(fk.nconns, 3);
	assert_int_equal(fk.ntxns, 3);
	for (i = 0; i < fk.nconns; i++) {
		const struct conn_rec *c = &fk.conns[i];

		if (strcmp(c->addr, "192.0.2.50") == 0) {
			assert_int_equal(c->port, 2525);
			assert_int_equal(c->tls, TG_SMTPC_TLS_MAY);
			assert_int_equal(c->mode, TG_TLS_OPPORTUNISTIC);
			seen |= 1;
		} else if (strcmp(c->addr, "10.0.0.25") == 0) {
			assert_int_equal(c->port, 25);	/* the engine's */
			assert_string_equal(c->mx, "mail.inside.example");
			assert_int_equal(c->tls, TG_SMTPC_TLS_REQUIRE);
			assert_int_equal(c->mode, TG_TLS_OPPORTUNISTIC);
			assert_int_equal(c->tlsa_n, 0);
			seen |= 2;
		} else {
			assert_string_equal(c->addr, "192.0.2.1");
			assert_int_equal(c->mode, TG_TLS_DANE);
			seen |= 4;
		}
	}
	assert_int_equal(seen, 7);
	assert_int_equal(tg_spool_count(f->sp), 0);
	assert_int_equal(tg_resolver_fake_count(f->res, "ours.example",
	    TG_DNS_T_MX), 0);
	assert_int_equal(tg_resolver_fake_count(f->res, "named.example",
	    TG_DNS_T_MX), 0);
	assert_int_equal(tg_resolver_fake_count(f->res,
	    "_25._tcp.mail.inside.example", TG_DNS_T_TLSA), 0);
	rlook(f, "ours.example", &r);
	assert_int_equal(r.n, 0);
	rlook(f, "named.example", &r);
	assert_int_equal(r.n, 0);
	rlook(f, "a.example", &r);
	assert_int_equal(r.ok, 1);
}

/* A route whose server does not offer STARTTLS though the route asks
 * for it: deferred, nothing sent. */
static void
test_route_tls_required(void **state)
{
	static const char *const rcpts[] = { "carol@named.example", NULL };
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];
	struct server *s;
	struct qstate q;

	f->p.route = route_ours;
	engine(f);
	script(f, "mail.inside.example", TG_DNS_T_A, OK, I, "10.0.0.25");
	script(f, "mail.inside.example", TG_DNS_T_AAAA, ND, I, NULL);
	s = add_server("10.0.0.25", TG_SMTPC_NO_STARTTLS);
	(void)s;
	queue(f, "alice@outside.example", rcpts, qid);
	run(f);
	assert_int_equal(fk.nconns, 1);
	assert_int_equal(fk.conns[0].tls, TG_SMTPC_TLS_REQUIRE);
	assert_int_equal(fk.ntxns, 0);
	qlook(f, qid, &q);
	assert_int_equal(q.found, 1);
	assert_int_equal(q.st[0], TG_SPOOL_DEFERRED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dane_delivered, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tlsa_mismatch, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failover_backoff, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_partial_bounce_dsn, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_requiretls, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dsn_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_dsn_for_dsn, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reuse_and_limits, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sts_enforce, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dane_only, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bogus_and_null_mx, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hold_flush, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_two_domains, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cname_tlsa_base, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_policy_defers,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_submission,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_marker_forged,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_route, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_tls_required, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_report_no_key,
		    setup, teardown),
	};

	tg_log_open("test_delivery", TG_LOG_STDERR, TG_LOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
