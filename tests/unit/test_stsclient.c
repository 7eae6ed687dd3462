/*
 * Unit tests of policy/stsclient: whole lookups on a libevent loop with
 * scripted DNS (dns/resolver_fake), a scripted policy fetcher, a real
 * cache.db in a temporary directory and a fixed clock — the RFC 8461
 * cache rules end to end (§3.1, §3.3, §3.4, §5.1, §10.2; RELIABILITY
 * O-13, O-14) and the TLS-RPT result types of failed discovery (RFC 8460
 * §4.3.2.2). One test runs the default fetcher against an in-process
 * HTTPS server (libmicrohttpd, throw-away PKI).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <microhttpd.h>
#include <openssl/pem.h>

#include "dns/resolver_fake.h"
#include "policy/stsclient.h"
#include "support/pki.h"
#include "util/clock.h"

#define NOW	((time_t)1700000000)
#define ENFORCE	"version: STSv1\r\nmode: enforce\r\nmx: mx.a.example\r\n" \
	"mx: *.mx.a.example\r\nmax_age: 604800\r\n"
#define TESTING	"version: STSv1\nmode: testing\nmx: mx2.a.example\n" \
	"max_age: 86400\n"
#define NONE	"version: STSv1\nmode: none\nmax_age: 3600\n"

/* ---- a scripted fetcher ---- */

struct fake_req {
	struct fake_fetcher *ff;
	tg_sts_fetch_cb *cb;
	void *arg;
	char domain[TG_DNAME_MAX + 1];
	struct event *ev;
	struct fake_req *next;
};

struct fake_fetcher {
	struct event_base *base;
	int starts, cancels, completed;
	char last_domain[TG_DNAME_MAX + 1];
	/* The script for the next completions. */
	const char *body;		/* NULL: fail */
	const char *result_type;
	const char *msg;
	int hold;			/* 1: complete only on release */
	struct fake_req *reqs;		/* started, not completed */
};

static void
fake_unlink(struct fake_req *q)
{
	struct fake_req **pp;

	for (pp = &q->ff->reqs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			return;
		}
}

static void
fake_complete(evutil_socket_t fd, short what, void *arg)
{
	struct fake_req *q = arg;
	struct fake_fetcher *ff = q->ff;
	struct tg_sts_fetch_result r;

	(void)fd;
	(void)what;
	memset(&r, 0, sizeof(r));
	snprintf(r.url, sizeof(r.url), "https://mta-sts.%s/.well-known/"
	    "mta-sts.txt", q->domain);
	if (ff->body != NULL) {
		r.status = 200;
		r.body = ff->body;
		r.body_len = strlen(ff->body);
		r.ok = tg_sts_policy_parse(r.body, r.body_len, &r.policy,
		    &r.err) == 0;
	} else {
		r.err.cls = TG_ERR_TEMP;
		r.err.result_type = ff->result_type;
		snprintf(r.err.msg, sizeof(r.err.msg), "%s: %s", r.url,
		    ff->msg);
	}
	fake_unlink(q);
	ff->completed++;
	q->cb(&r, q->arg);
	event_free(q->ev);
	free(q);
}

static void *
fake_start(void *ctx, const char *domain, tg_sts_fetch_cb *cb, void *arg,
    struct tg_err *err)
{
	struct fake_fetcher *ff = ctx;
	struct fake_req *q = calloc(1, sizeof(*q));

	(void)err;
	assert_non_null(q);
	q->ff = ff;
	q->cb = cb;
	q->arg = arg;
	snprintf(q->domain, sizeof(q->domain), "%s", domain);
	snprintf(ff->last_domain, sizeof(ff->last_domain), "%s", domain);
	q->ev = event_new(ff->base, -1, 0, fake_complete, q);
	assert_non_null(q->ev);
	q->next = ff->reqs;
	ff->reqs = q;
	ff->starts++;
	if (!ff->hold)
		event_active(q->ev, EV_TIMEOUT, 0);
	return q;
}

static void
fake_cancel(void *ctx, void *handle)
{
	struct fake_fetcher *ff = ctx;
	struct fake_req *q = handle;

	fake_unlink(q);
	event_free(q->ev);
	free(q);
	ff->cancels++;
}

static void
fake_release(struct fake_fetcher *ff)
{
	struct fake_req *q;

	ff->hold = 0;
	for (q = ff->reqs; q != NULL; q = q->next)
		event_active(q->ev, EV_TIMEOUT, 0);
}

/* ---- the test bench ---- */

struct bench {
	struct event_base *base;
	struct tg_resolver *r;
	struct tg_cache *cache;
	struct tg_stsclient *c;
	struct fake_fetcher ff;
	char dir[64];
};

struct answer {
	int calls;
	struct tg_sts_outcome o;
};

static void
bench_client(struct bench *b)
{
	struct tg_stsclient_params p;
	struct tg_err err;

	if (tg_cache_open(b->dir, &b->cache, &err) != 0)
		fail_msg("cache: %s", err.msg);
	memset(&p, 0, sizeof(p));
	p.base = b->base;
	p.resolver = b->r;
	p.cache = b->cache;
	p.fetcher.start = fake_start;
	p.fetcher.cancel = fake_cancel;
	p.fetcher.ctx = &b->ff;
	b->c = tg_stsclient_new(&p, &err);
	assert_non_null(b->c);
}

static struct bench *
bench_new(void)
{
	struct bench *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	tg_clock_set(NOW);
	b->base = event_base_new();
	assert_non_null(b->base);
	b->r = tg_resolver_fake_new(b->base);
	assert_non_null(b->r);
	b->ff.base = b->base;
	b->ff.result_type = "sts-policy-fetch-error";
	b->ff.msg = "HTTP status 404";
	strcpy(b->dir, "/tmp/tg-stsclient-XXXXXX");
	assert_non_null(mkdtemp(b->dir));
	bench_client(b);
	return b;
}

/* Drop the client and the cache connection (a relay stopping). */
static void
bench_stop(struct bench *b)
{
	tg_stsclient_free(b->c);
	tg_cache_close(b->cache);
	b->c = NULL;
	b->cache = NULL;
}

static void
bench_free(struct bench *b)
{
	char p[128];
	static const char *const names[] = { "cache.db", "cache.db-wal",
	    "cache.db-shm" };
	size_t i;

	bench_stop(b);
	tg_resolver_free(b->r);
	event_base_free(b->base);
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", b->dir, names[i]);
		unlink(p);
	}
	rmdir(b->dir);
	free(b);
	tg_clock_set(0);
}

static void
txt(struct bench *b, const char *domain, int status, const char *rdata)
{
	char name[300];
	struct tg_err err;

	snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	if (tg_resolver_fake_add(b->r, name, TG_DNS_T_TXT, status,
	    TG_DNS_INSECURE, rdata, &err) != 0)
		fail_msg("script %s: %s", name, err.msg);
}

static void
on_answer(const struct tg_sts_outcome *o, void *arg)
{
	struct answer *a = arg;

	a->calls++;
	a->o = *o;
}

/* Start a lookup of domain; the loop is not run. */
static struct tg_stsclient_lookup *
start(struct bench *b, const char *domain, unsigned flags, struct answer *a)
{
	struct tg_stsclient_lookup *l;
	struct tg_err err;

	memset(a, 0, sizeof(*a));
	l = tg_stsclient_lookup(b->c, domain, flags, on_answer, a, &err);
	if (l == NULL)
		fail_msg("lookup %s: %s", domain, err.msg);
	return l;
}

/* Run the loop until every lookup has been answered (10 s at most). */
static void
run(struct bench *b)
{
	long long deadline = tg_clock_mono_ms() + 10000;

	while (tg_stsclient_pending(b->c) > 0 &&
	    tg_clock_mono_ms() < deadline) {
		if (event_base_loop(b->base,
		    EVLOOP_ONCE | EVLOOP_NONBLOCK) != 0)
			usleep(1000);
		else
			usleep(100);
	}
	assert_int_equal(tg_stsclient_pending(b->c), 0);
}

static struct answer *
lookup(struct bench *b, const char *domain, unsigned flags)
{
	static struct answer a;

	start(b, domain, flags, &a);
	run(b);
	assert_int_equal(a.calls, 1);
	return &a;
}

static void
expect(const struct answer *a, enum tg_stsclient_status st,
    enum tg_stscache_why why, const char *result_type)
{
	if (a->o.status != st || a->o.why != why)
		fail_msg("got %s/%s, want %s/%s (%s)",
		    tg_stsclient_status_name(a->o.status),
		    tg_stscache_why_name(a->o.why),
		    tg_stsclient_status_name(st), tg_stscache_why_name(why),
		    a->o.reason);
	if (result_type == NULL && a->o.result_type != NULL)
		fail_msg("unexpected result type %s (%s)", a->o.result_type,
		    a->o.reason);
	if (result_type != NULL && (a->o.result_type == NULL ||
	    strcmp(a->o.result_type, result_type) != 0))
		fail_msg("result type %s, want %s", a->o.result_type != NULL ?
		    a->o.result_type : "(none)", result_type);
}

static struct tg_cache_sts *
row(struct bench *b, const char *domain)
{
	static struct tg_cache_sts r;
	struct tg_err err;

	if (tg_cache_sts_get(b->cache, domain, &r, &err) != 0)
		fail_msg("row %s: %s", domain, err.msg);
	return &r;
}

/* A domain whose enforce policy (id "id1") was fetched at NOW. */
static struct bench *
bench_primed(void)
{
	struct bench *b = bench_new();
	struct answer *a;

	txt(b, "a.example", TG_DNS_OK, "\"v=STSv1; id=id1\"");
	b->ff.body = ENFORCE;
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_FETCHED, TG_STSCACHE_FIRST_FETCH, NULL);
	b->ff.body = NULL;
	return b;
}

/* ---- tests ---- */

static void
test_first_fetch_then_cached(void **state)
{
	struct bench *b = bench_primed();
	struct answer *a;

	(void)state;
	assert_int_equal(b->ff.starts, 1);
	assert_string_equal(b->ff.last_domain, "a.example");
	assert_true(row(b, "a.example")->has_policy);
	assert_string_equal(row(b, "a.example")->policy.id, "id1");
	assert_string_equal(row(b, "a.example")->txt_id, "id1");
	/* RFC 8461 §5.1: the same id needs no fetch. */
	tg_clock_set(NOW + 3600);
	a = lookup(b, "A.Example.", 0);
	expect(a, TG_STSCLIENT_CACHED, TG_STSCACHE_CURRENT, NULL);
	assert_int_equal(b->ff.starts, 1);
	assert_int_equal(a->o.policy.mode, TG_STS_MODE_ENFORCE);
	assert_int_equal(a->o.policy.count, 2);
	assert_string_equal(a->o.policy.mx[1], "*.mx.a.example");
	assert_string_equal(a->o.policy_id, "id1");
	assert_int_equal(a->o.fetched_at, NOW);
	assert_int_equal(a->o.expires_at, NOW + 604800);
	assert_string_equal(a->o.domain, "a.example");
	assert_false(a->o.fetched);
	bench_free(b);
}

static void
test_id_change_blackholed(void **state)
{
	struct bench *b = bench_primed();
	struct answer *a;

	(void)state;
	/* O-14 (b): new id, HTTPS fails: the cached policy stays. */
	tg_clock_set(NOW + 60);
	txt(b, "a.example", TG_DNS_OK, "\"v=STSv1; id=id2\"");
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_CACHED, TG_STSCACHE_ID_CHANGED,
	    "sts-policy-fetch-error");
	assert_true(a->o.fetched);
	assert_false(a->o.fetch_ok);
	assert_string_equal(a->o.policy_id, "id1");
	assert_string_equal(a->o.txt_id, "id2");
	assert_non_null(strstr(a->o.reason, "HTTP status 404"));
	assert_int_equal(b->ff.starts, 2);
	assert_int_equal(row(b, "a.example")->attempt.failures, 1);
	assert_string_equal(row(b, "a.example")->txt_id, "id2");
	/* RFC 8461 §3.3: not again for this id within five minutes; the
	 * failure stands for these lookups too. */
	tg_clock_set(NOW + 60 + 299);
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_CACHED, TG_STSCACHE_RATE_LIMITED,
	    "sts-policy-fetch-error");
	assert_int_equal(b->ff.starts, 2);
	assert_non_null(strstr(a->o.reason, "HTTP status 404"));
	/* Five minutes later it is tried again, and now it works. */
	tg_clock_set(NOW + 60 + 300);
	b->ff.body = TESTING;
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_FETCHED, TG_STSCACHE_ID_CHANGED, NULL);
	assert_int_equal(b->ff.starts, 3);
	assert_int_equal(a->o.policy.mode, TG_STS_MODE_TESTING);
	assert_string_equal(a->o.policy_id, "id2");
	assert_int_equal(row(b, "a.example")->attempt.failures, 0);
	assert_int_equal(row(b, "a.example")->policy.max_age, 86400);
	bench_free(b);
}

static void
test_txt_gone_keeps_cached(void **state)
{
	struct bench *b = bench_primed();
	struct answer *a;

	(void)state;
	tg_clock_set(NOW + 600);
	/* O-14 (a): the record is removed. */
	txt(b, "a.example", TG_DNS_NXDOMAIN, NULL);
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_CACHED, TG_STSCACHE_KEPT, NULL);
	assert_int_equal(a->o.txt, TG_STSCACHE_TXT_NONE);
	assert_string_equal(row(b, "a.example")->txt_id, "");
	/* O-14 (c): two records. */
	txt(b, "a.example", TG_DNS_OK, "\"v=STSv1; id=x1\"\n"
	    "\"v=STSv1; id=x2\"");
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_CACHED, TG_STSCACHE_KEPT, NULL);
	assert_int_equal(a->o.txt, TG_STSCACHE_TXT_INVALID);
	assert_non_null(strstr(a->o.txt_error, "exactly one"));
	/* A failed lookup. */
	txt(b, "a.example", TG_DNS_TEMPFAIL, NULL);
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_CACHED, TG_STSCACHE_KEPT, NULL);
	assert_int_equal(a->o.txt, TG_STSCACHE_TXT_TEMPFAIL);
	/* A forged (bogus) answer. */
	assert_int_equal(tg_resolver_fake_add(b->r, "_mta-sts.a.example",
	    TG_DNS_T_TXT, TG_DNS_OK, TG_DNS_BOGUS, "\"v=STSv1; id=evil\"",
	    NULL), 0);
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_CACHED, TG_STSCACHE_KEPT, NULL);
	assert_int_equal(b->ff.starts, 1);
	/* Until max_age has run out. */
	tg_clock_set(NOW + 604800);
	txt(b, "a.example", TG_DNS_NXDOMAIN, NULL);
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_NO_POLICY, TG_STSCACHE_NOT_PUBLISHED, NULL);
	bench_free(b);
}

static void
test_failures_without_cache(void **state)
{
	struct bench *b = bench_new();
	struct answer *a;

	(void)state;
	txt(b, "a.example", TG_DNS_OK, "\"v=STSv1; id=id1\"");
	/* RFC 8461 §3.3: deliver as without MTA-STS, report the failure. */
	b->ff.result_type = "sts-webpki-invalid";
	b->ff.msg = "TLS: certificate has expired";
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_NO_POLICY, TG_STSCACHE_FIRST_FETCH,
	    "sts-webpki-invalid");
	assert_non_null(strstr(a->o.reason, "https://mta-sts.a.example/"));
	assert_false(row(b, "a.example")->has_policy);
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_NO_POLICY, TG_STSCACHE_RATE_LIMITED,
	    "sts-webpki-invalid");
	/* An invalid policy is sts-policy-invalid; a new id is tried now. */
	txt(b, "a.example", TG_DNS_OK, "\"v=STSv1; id=id2\"");
	b->ff.body = "version: STSv1\nmode: enforce\nmax_age: 99999999999\n";
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_NO_POLICY, TG_STSCACHE_FIRST_FETCH,
	    "sts-policy-invalid");
	assert_non_null(strstr(a->o.reason, "max_age"));
	assert_int_equal(b->ff.starts, 2);
	assert_int_equal(row(b, "a.example")->attempt.failures, 2);
	assert_string_equal(row(b, "a.example")->attempt.result,
	    "sts-policy-invalid");
	bench_free(b);
}

static void
test_mode_none_replaces(void **state)
{
	struct bench *b = bench_primed();
	struct answer *a;

	(void)state;
	/* RFC 8461 §8.3: a valid "none" policy replaces enforce. */
	tg_clock_set(NOW + 100);
	txt(b, "a.example", TG_DNS_OK, "\"v=STSv1; id=gone\"");
	b->ff.body = NONE;
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_FETCHED, TG_STSCACHE_ID_CHANGED, NULL);
	assert_int_equal(a->o.policy.mode, TG_STS_MODE_NONE);
	assert_int_equal(row(b, "a.example")->policy.mode, TG_CACHE_STS_NONE);
	assert_int_equal(row(b, "a.example")->policy.expires_at,
	    NOW + 100 + 3600);
	bench_free(b);
}

static void
test_background_refresh(void **state)
{
	struct bench *b = bench_primed();
	struct answer a;

	(void)state;
	/* A day later the policy is refreshed while it stays in force; the
	 * lookup does not wait for it. */
	tg_clock_set(NOW + 86400);
	b->ff.hold = 1;
	b->ff.body = TESTING;
	start(b, "a.example", 0, &a);
	run(b);
	assert_int_equal(a.calls, 1);
	expect(&a, TG_STSCLIENT_CACHED, TG_STSCACHE_REFRESH, NULL);
	assert_true(a.o.refreshing);
	assert_int_equal(tg_stsclient_fetching(b->c), 1);
	assert_int_equal(row(b, "a.example")->policy.mode,
	    TG_CACHE_STS_ENFORCE);
	fake_release(&b->ff);
	event_base_loop(b->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(tg_stsclient_fetching(b->c), 0);
	assert_int_equal(row(b, "a.example")->policy.mode,
	    TG_CACHE_STS_TESTING);
	assert_int_equal(row(b, "a.example")->policy.fetched_at, NOW + 86400);
	/* A failed refresh leaves the policy, counts the failure. */
	tg_clock_set(NOW + 86400 + 43200);
	b->ff.body = NULL;
	start(b, "a.example", 0, &a);
	run(b);
	expect(&a, TG_STSCLIENT_CACHED, TG_STSCACHE_REFRESH, NULL);
	event_base_loop(b->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(tg_stsclient_fetching(b->c), 0);
	assert_int_equal(row(b, "a.example")->policy.mode,
	    TG_CACHE_STS_TESTING);
	assert_int_equal(row(b, "a.example")->attempt.failures, 1);
	assert_int_equal(b->ff.starts, 3);
	bench_free(b);
}

static void
test_policy_domain_exact(void **state)
{
	struct bench *b = bench_new();
	struct tg_cache_sts *r;
	struct answer *a;

	(void)state;
	/* RFC 8461 §3.4: user@sub.example.com takes sub.example.com's
	 * policy only; the parent's is never asked for. */
	txt(b, "example.com", TG_DNS_OK, "\"v=STSv1; id=parent\"");
	txt(b, "sub.example.com", TG_DNS_NXDOMAIN, NULL);
	b->ff.body = ENFORCE;
	a = lookup(b, "sub.example.com", 0);
	expect(a, TG_STSCLIENT_NO_POLICY, TG_STSCACHE_NOT_PUBLISHED, NULL);
	assert_int_equal(tg_resolver_fake_count(b->r, "_mta-sts.example.com",
	    TG_DNS_T_TXT), 0);
	assert_int_equal(b->ff.starts, 0);
	/* No row is made for a domain without MTA-STS. */
	r = malloc(sizeof(*r));
	assert_non_null(r);
	assert_int_equal(tg_cache_sts_get(b->cache, "sub.example.com", r,
	    NULL), TG_CACHE_NOTFOUND);
	free(r);
	bench_free(b);
}

static void
test_txt_forms_and_cname(void **state)
{
	struct bench *b = bench_new();
	struct tg_err err;
	struct answer *a;

	(void)state;
	/* RFC 8461 §3.1: strings concatenated, other records and unknown
	 * fields ignored; a CNAME is followed (by the resolver), and the
	 * policy host stays mta-sts.<policy domain>. */
	assert_int_equal(tg_resolver_fake_add(b->r, "_mta-sts.a.example",
	    TG_DNS_T_CNAME, TG_DNS_OK, TG_DNS_INSECURE, "_mta-sts.b.example.",
	    &err), 0);
	txt(b, "b.example", TG_DNS_OK, "\"v=STSv1; \" \"id=split1; ext=1\"\n"
	    "\"google-site-verification=xyz\"");
	b->ff.body = ENFORCE;
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_FETCHED, TG_STSCACHE_FIRST_FETCH, NULL);
	assert_string_equal(a->o.txt_id, "split1");
	assert_string_equal(b->ff.last_domain, "a.example");
	/* "v=STSv10" is not a v=STSv1 record: none published. */
	txt(b, "c.example", TG_DNS_OK, "\"v=STSv10; id=x\"");
	a = lookup(b, "c.example", 0);
	expect(a, TG_STSCLIENT_NO_POLICY, TG_STSCACHE_NOT_PUBLISHED, NULL);
	/* A record without an id is invalid. */
	txt(b, "d.example", TG_DNS_OK, "\"v=STSv1;\"");
	a = lookup(b, "d.example", 0);
	expect(a, TG_STSCLIENT_NO_POLICY, TG_STSCACHE_TXT_UNUSABLE, NULL);
	assert_int_equal(a->o.txt, TG_STSCACHE_TXT_INVALID);
	assert_int_equal(b->ff.starts, 1);
	bench_free(b);
}

static void
test_shared_fetch_and_force(void **state)
{
	struct bench *b = bench_new();
	struct answer a1, a2, *a;

	(void)state;
	txt(b, "a.example", TG_DNS_OK, "\"v=STSv1; id=id1\"");
	b->ff.body = ENFORCE;
	b->ff.hold = 1;
	start(b, "a.example", 0, &a1);
	start(b, "a.example", 0, &a2);
	event_base_loop(b->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(b->ff.starts, 1);	/* one fetch for both */
	assert_int_equal(a1.calls + a2.calls, 0);
	fake_release(&b->ff);
	run(b);
	expect(&a1, TG_STSCLIENT_FETCHED, TG_STSCACHE_FIRST_FETCH, NULL);
	expect(&a2, TG_STSCLIENT_FETCHED, TG_STSCACHE_FIRST_FETCH, NULL);
	/* Forced: fetched although the cached policy is current. */
	a = lookup(b, "a.example", TG_STSCLIENT_FORCE);
	expect(a, TG_STSCLIENT_FETCHED, TG_STSCACHE_FORCED, NULL);
	assert_int_equal(b->ff.starts, 2);
	bench_free(b);
}

static void
test_cancel_and_free(void **state)
{
	struct bench *b = bench_new();
	struct tg_stsclient_lookup *l;
	struct answer a;
	struct tg_err err;

	(void)state;
	txt(b, "a.example", TG_DNS_OK, "\"v=STSv1; id=id1\"");
	b->ff.body = ENFORCE;
	l = start(b, "a.example", 0, &a);
	tg_stsclient_cancel(l);
	event_base_loop(b->base, EVLOOP_NONBLOCK);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b->ff.starts, 0);
	/* Freeing the client with a lookup waiting on a fetch. */
	b->ff.hold = 1;
	start(b, "a.example", 0, &a);
	event_base_loop(b->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(b->ff.starts, 1);
	assert_int_equal(tg_stsclient_pending(b->c), 1);
	bench_stop(b);
	assert_int_equal(b->ff.cancels, 1);
	event_base_loop(b->base, EVLOOP_NONBLOCK);
	assert_int_equal(a.calls, 0);
	/* Bad input. */
	bench_client(b);
	assert_null(tg_stsclient_lookup(b->c, "bad_name..example", 0,
	    on_answer, &a, &err));
	assert_int_equal(err.cls, TG_ERR_PERM);
	bench_free(b);
}

static void
test_restart_keeps_policy(void **state)
{
	struct bench *b = bench_primed();
	struct answer *a;

	(void)state;
	/* O-14 (d): the relay restarts; the cache file is all it has. */
	bench_stop(b);
	bench_client(b);
	tg_clock_set(NOW + 7200);
	txt(b, "a.example", TG_DNS_NXDOMAIN, NULL);
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_CACHED, TG_STSCACHE_KEPT, NULL);
	assert_int_equal(a->o.policy.mode, TG_STS_MODE_ENFORCE);
	assert_int_equal(b->ff.starts, 1);
	bench_free(b);
}

static void
test_cache_not_writable(void **state)
{
	struct bench *b = bench_new();
	struct tg_stsclient_params p;
	struct tg_cache_sts *r;
	struct tg_cache *ro;
	struct tg_err err;
	struct answer *a;

	(void)state;
	/* A cache that cannot be written (a full disk, a read-only file):
	 * the fetched policy still applies to this lookup; nothing is kept. */
	assert_int_equal(tg_cache_open_readonly(b->dir, &ro, &err), 0);
	tg_stsclient_free(b->c);
	memset(&p, 0, sizeof(p));
	p.base = b->base;
	p.resolver = b->r;
	p.cache = ro;
	p.fetcher.start = fake_start;
	p.fetcher.cancel = fake_cancel;
	p.fetcher.ctx = &b->ff;
	b->c = tg_stsclient_new(&p, &err);
	assert_non_null(b->c);
	txt(b, "a.example", TG_DNS_OK, "\"v=STSv1; id=id1\"");
	b->ff.body = ENFORCE;
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_FETCHED, TG_STSCACHE_FIRST_FETCH, NULL);
	r = malloc(sizeof(*r));
	assert_non_null(r);
	assert_int_equal(tg_cache_sts_get(b->cache, "a.example", r, &err),
	    TG_CACHE_NOTFOUND);
	free(r);
	bench_stop(b);
	tg_cache_close(ro);
	/* Missing parts are refused. */
	p.cache = NULL;
	assert_null(tg_stsclient_new(&p, &err));
	assert_int_equal(err.cls, TG_ERR_BUG);
	bench_free(b);
}

/* ---- the default fetcher against a real HTTPS server ---- */

static enum MHD_Result
srv_handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	static int marker;
	struct MHD_Response *r;
	enum MHD_Result rc;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	(void)upload_size;
	if (*con_cls == NULL) {
		*con_cls = &marker;
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(strlen(ENFORCE), (void *)ENFORCE,
	    MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "text/plain");
	rc = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return rc;
}

static char *
pem_of(X509 *x, EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	if (x != NULL)
		assert_int_equal(PEM_write_bio_X509(b, x), 1);
	else
		assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0,
		    NULL, NULL), 1);
	n = BIO_get_mem_data(b, &p);
	out = calloc(1, (size_t)n + 1);
	assert_non_null(out);
	memcpy(out, p, (size_t)n);
	BIO_free(b);
	return out;
}

static void
test_https_fetcher(void **state)
{
	static const char *const sans[] = { "mta-sts.a.example", NULL };
	EVP_PKEY *ca_key = tg_test_key(), *key = tg_test_key();
	X509 *ca = tg_test_cert(ca_key, "test CA", NULL, -1, 30, 1, NULL, NULL);
	X509 *leaf = tg_test_cert(key, "mta-sts.a.example", sans, -1, 30, 0,
	    ca, ca_key);
	char *cert = pem_of(leaf, NULL), *pkey = pem_of(NULL, key);
	char ca_file[] = "/tmp/tg-stsclient-ca-XXXXXX", conn[128];
	const char *conns[1] = { conn };
	struct tg_stsclient_params p;
	struct sockaddr_in sin;
	struct MHD_Daemon *d;
	struct tg_fetch *f;
	struct tg_err err;
	struct bench *b;
	struct answer *a;
	FILE *fp;
	int fd;

	(void)state;
	fd = mkstemp(ca_file);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_int_equal(PEM_write_X509(fp, ca), 1);
	fclose(fp);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0,
	    NULL, NULL, srv_handle, NULL, MHD_OPTION_HTTPS_MEM_KEY, pkey,
	    MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&sin, MHD_OPTION_END);
	assert_non_null(d);
	snprintf(conn, sizeof(conn), "mta-sts.a.example:443:127.0.0.1:%u",
	    MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
	b = bench_new();
	tg_stsclient_free(b->c);
	tg_clock_set(0);	/* certificates are judged at the real time */
	f = tg_fetch_new(b->base, &err);
	assert_non_null(f);
	memset(&p, 0, sizeof(p));
	p.base = b->base;
	p.resolver = b->r;
	p.cache = b->cache;
	p.fetch = f;
	p.fetch_params.ca_file = ca_file;
	p.fetch_params.allow_private_addresses = 1;
	p.fetch_params.connect_to = conns;
	p.fetch_params.n_connect_to = 1;
	p.fetch_params.timeout_ms = 5000;
	b->c = tg_stsclient_new(&p, &err);
	assert_non_null(b->c);
	txt(b, "a.example", TG_DNS_OK, "\"v=STSv1; id=real1\"");
	a = lookup(b, "a.example", 0);
	expect(a, TG_STSCLIENT_FETCHED, TG_STSCACHE_FIRST_FETCH, NULL);
	assert_string_equal(a->o.policy.mx[0], "mx.a.example");
	assert_memory_equal(row(b, "a.example")->policy.body, ENFORCE,
	    strlen(ENFORCE));
	bench_stop(b);
	tg_fetch_free(f);
	bench_free(b);
	MHD_stop_daemon(d);
	unlink(ca_file);
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	free(cert);
	free(pkey);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_fetch_then_cached),
		cmocka_unit_test(test_id_change_blackholed),
		cmocka_unit_test(test_txt_gone_keeps_cached),
		cmocka_unit_test(test_failures_without_cache),
		cmocka_unit_test(test_mode_none_replaces),
		cmocka_unit_test(test_background_refresh),
		cmocka_unit_test(test_policy_domain_exact),
		cmocka_unit_test(test_txt_forms_and_cname),
		cmocka_unit_test(test_shared_fetch_and_force),
		cmocka_unit_test(test_cancel_and_free),
		cmocka_unit_test(test_restart_keeps_policy),
		cmocka_unit_test(test_cache_not_writable),
		cmocka_unit_test(test_https_fetcher),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
