/*
 * Unit tests of the MTA-STS policy cache: the decision rules of
 * policy/stscache as a table at a fixed time (RFC 8461 §3.3, §5.1,
 * §10.2; RELIABILITY O-14), the conversion between fetched policies and
 * cache rows, and store/cache (cache.db) in a temporary state directory:
 * round trips, persistence across a reopen, the split writes (a failed
 * fetch never touches the policy, an older fetch never replaces a newer
 * one), validation, read-only use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/stscache.h"
#include "store/cache.h"

#define NOW	((time_t)1700000000)
#define DAY	86400L
#define WEEK	(7 * DAY)

/* ---- the decision table ---- */

struct entry_spec {
	int present;		/* 0: no row at all */
	int has_policy;
	const char *id;		/* policy id */
	long fetched_ago;	/* seconds before NOW */
	long max_age;
	int mode;
	long attempt_ago;	/* 0: no attempt */
	const char *attempt_id;
	int attempt_ok;
};

struct decide_case {
	const char *what;
	struct entry_spec e;
	enum tg_stscache_txt txt;
	const char *txt_id;
	int force;
	enum tg_stscache_why why;
	int use_cached, fetch, wait;
};

#define NOROW		{ 0, 0, NULL, 0, 0, 0, 0, NULL, 0 }
#define CACHED(id, ago, age) \
	{ 1, 1, id, ago, age, TG_CACHE_STS_ENFORCE, 0, NULL, 0 }
#define CACHED_FAIL(id, ago, age, aago, aid) \
	{ 1, 1, id, ago, age, TG_CACHE_STS_ENFORCE, aago, aid, 0 }
#define V	TG_STSCACHE_TXT_VALID
#define N	TG_STSCACHE_TXT_NONE
#define INV	TG_STSCACHE_TXT_INVALID
#define TF	TG_STSCACHE_TXT_TEMPFAIL

static const struct decide_case decide_cases[] = {
	{ "nothing cached, no TXT: no MTA-STS", NOROW, N, NULL, 0,
	  TG_STSCACHE_NOT_PUBLISHED, 0, 0, 0 },
	{ "nothing cached, two TXT records: no MTA-STS (§3.1)", NOROW, INV,
	  NULL, 0, TG_STSCACHE_TXT_UNUSABLE, 0, 0, 0 },
	{ "nothing cached, TXT lookup failed: no MTA-STS", NOROW, TF, NULL, 0,
	  TG_STSCACHE_TXT_UNUSABLE, 0, 0, 0 },
	{ "nothing cached, valid TXT: fetch and wait", NOROW, V, "A", 0,
	  TG_STSCACHE_FIRST_FETCH, 0, 1, 1 },
	{ "same id, fresh: cached, no fetch (§3, §5.1)", CACHED("A", 3600,
	  WEEK), V, "A", 0, TG_STSCACHE_CURRENT, 1, 0, 0 },
	{ "id changed: fetch and wait, cached as fallback (§3.3)",
	  CACHED("A", 3600, WEEK), V, "B", 0, TG_STSCACHE_ID_CHANGED, 1, 1,
	  1 },
	{ "TXT removed: cached policy stays (O-14 a)", CACHED("A", 3600,
	  WEEK), N, NULL, 0, TG_STSCACHE_KEPT, 1, 0, 0 },
	{ "two TXT records: cached policy stays (O-14 c)", CACHED("A", 3600,
	  WEEK), INV, NULL, 0, TG_STSCACHE_KEPT, 1, 0, 0 },
	{ "TXT lookup fails: cached policy stays", CACHED("A", 3600, WEEK), TF,
	  NULL, 0, TG_STSCACHE_KEPT, 1, 0, 0 },
	{ "a day old: background refresh (§3.3)", CACHED("A", DAY, WEEK), V,
	  "A", 0, TG_STSCACHE_REFRESH, 1, 1, 0 },
	{ "23 hours old: no refresh yet", CACHED("A", DAY - 3600, WEEK), V,
	  "A", 0, TG_STSCACHE_CURRENT, 1, 0, 0 },
	{ "short max_age: refresh at half of it", CACHED("A", 1800, 3600), V,
	  "A", 0, TG_STSCACHE_REFRESH, 1, 1, 0 },
	{ "short max_age: not before half of it", CACHED("A", 1799, 3600), V,
	  "A", 0, TG_STSCACHE_CURRENT, 1, 0, 0 },
	{ "expired, no TXT: no MTA-STS", CACHED("A", WEEK, WEEK), N, NULL, 0,
	  TG_STSCACHE_NOT_PUBLISHED, 0, 0, 0 },
	{ "expired, valid TXT: fetch and wait", CACHED("A", WEEK + 1, WEEK), V,
	  "A", 0, TG_STSCACHE_FIRST_FETCH, 0, 1, 1 },
	{ "max_age 0: never in force", CACHED("A", 0, 0), V, "A", 0,
	  TG_STSCACHE_FIRST_FETCH, 0, 1, 1 },
	{ "expired, fetch for this id failed 100 s ago: rate limited",
	  CACHED_FAIL("A", WEEK, WEEK, 100, "A"), V, "A", 0,
	  TG_STSCACHE_RATE_LIMITED, 0, 0, 0 },
	{ "expired, failed 299 s ago: still limited",
	  CACHED_FAIL("A", WEEK, WEEK, 299, "A"), V, "A", 0,
	  TG_STSCACHE_RATE_LIMITED, 0, 0, 0 },
	{ "expired, failed 300 s ago: may fetch again",
	  CACHED_FAIL("A", WEEK, WEEK, 300, "A"), V, "A", 0,
	  TG_STSCACHE_FIRST_FETCH, 0, 1, 1 },
	{ "new id whose fetch failed 10 s ago: cached, no fetch (O-14 b)",
	  CACHED_FAIL("A", 3600, WEEK, 10, "B"), V, "B", 0,
	  TG_STSCACHE_RATE_LIMITED, 1, 0, 0 },
	{ "the failure was for another id: a new id is tried at once",
	  CACHED_FAIL("A", 3600, WEEK, 10, "A"), V, "B", 0,
	  TG_STSCACHE_ID_CHANGED, 1, 1, 1 },
	{ "refresh due, last refresh failed 10 s ago: cached only",
	  CACHED_FAIL("A", 2 * DAY, WEEK, 10, "A"), V, "A", 0,
	  TG_STSCACHE_RATE_LIMITED, 1, 0, 0 },
	{ "a successful attempt does not rate-limit",
	  { 1, 1, "A", 3600, WEEK, TG_CACHE_STS_ENFORCE, 10, "B", 1 }, V, "B",
	  0, TG_STSCACHE_ID_CHANGED, 1, 1, 1 },
	{ "attempt in the future (clock went back): not limited",
	  CACHED_FAIL("A", WEEK, WEEK, -1000, "A"), V, "A", 0,
	  TG_STSCACHE_FIRST_FETCH, 0, 1, 1 },
	{ "only failures recorded, no policy: as if nothing cached",
	  { 1, 0, NULL, 0, 0, 0, 400, "A", 0 }, N, NULL, 0,
	  TG_STSCACHE_NOT_PUBLISHED, 0, 0, 0 },
	{ "cached mode none is a policy too: kept", { 1, 1, "A", 60, WEEK,
	  TG_CACHE_STS_NONE, 0, NULL, 0 }, N, NULL, 0, TG_STSCACHE_KEPT, 1, 0,
	  0 },
	{ "forced: fetch despite a current cache", CACHED("A", 60, WEEK), V,
	  "A", 1, TG_STSCACHE_FORCED, 1, 1, 1 },
	{ "forced: fetch despite the rate limit",
	  CACHED_FAIL("A", WEEK, WEEK, 10, "A"), V, "A", 1,
	  TG_STSCACHE_FORCED, 0, 1, 1 },
	{ "forced without a valid TXT: nothing to fetch", CACHED("A", 60,
	  WEEK), N, NULL, 1, TG_STSCACHE_KEPT, 1, 0, 0 },
};

static void
make_entry(const struct entry_spec *s, struct tg_cache_sts *e)
{
	memset(e, 0, sizeof(*e));
	strcpy(e->domain, "example.org");
	e->has_policy = s->has_policy;
	if (s->has_policy) {
		strcpy(e->policy.id, s->id);
		e->policy.mode = s->mode;
		e->policy.max_age = s->max_age;
		e->policy.fetched_at = NOW - s->fetched_ago;
		e->policy.expires_at = e->policy.fetched_at + s->max_age;
	}
	if (s->attempt_ago != 0) {
		e->attempt.at = NOW - s->attempt_ago;
		strcpy(e->attempt.id, s->attempt_id);
		e->attempt.ok = s->attempt_ok;
	}
}

static void
test_decide_table(void **state)
{
	struct tg_cache_sts *e = malloc(sizeof(*e));
	struct tg_stscache_decision d;
	size_t i;

	(void)state;
	assert_non_null(e);
	for (i = 0; i < sizeof(decide_cases) / sizeof(decide_cases[0]); i++) {
		const struct decide_case *c = &decide_cases[i];
		make_entry(&c->e, e);
		tg_stscache_decide(c->e.present ? e : NULL, c->txt,
		    c->txt_id != NULL ? c->txt_id : "", NOW, c->force, &d);
		if (d.why != c->why || d.use_cached != c->use_cached ||
		    d.fetch != c->fetch || d.wait != c->wait)
			fail_msg("%s: got %s use=%d fetch=%d wait=%d, want %s "
			    "use=%d fetch=%d wait=%d", c->what,
			    tg_stscache_why_name(d.why), d.use_cached, d.fetch,
			    d.wait, tg_stscache_why_name(c->why),
			    c->use_cached, c->fetch, c->wait);
	}
	free(e);
}

static void
test_predicates(void **state)
{
	struct entry_spec s = CACHED("A", 100, 1000);
	struct tg_cache_sts *e = malloc(sizeof(*e));

	(void)state;
	assert_non_null(e);
	make_entry(&s, e);
	assert_false(tg_stscache_in_force(NULL, NOW));
	assert_true(tg_stscache_in_force(e, NOW));
	/* In force up to, not including, fetched_at + max_age. */
	assert_true(tg_stscache_in_force(e, NOW + 899));
	assert_false(tg_stscache_in_force(e, NOW + 900));
	assert_false(tg_stscache_refresh_due(e, NOW + 399));
	assert_true(tg_stscache_refresh_due(e, NOW + 400));
	assert_false(tg_stscache_refresh_due(e, NOW + 900));	/* expired */
	assert_false(tg_stscache_rate_limited(e, "A", NOW));
	assert_string_equal(tg_stscache_why_name(TG_STSCACHE_ID_CHANGED),
	    "id-changed");
	assert_string_equal(tg_stscache_txt_name(TG_STSCACHE_TXT_INVALID),
	    "invalid");
	free(e);
}

/* ---- fetched policy <-> cache row ---- */

#define BODY "version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\n" \
	"mx: *.mx.example.org\r\nmax_age: 604800\r\n"

static void
parse_body(const char *body, struct tg_sts_policy *p)
{
	struct tg_err err;

	if (tg_sts_policy_parse(body, strlen(body), p, &err) != 0)
		fail_msg("policy: %s", err.msg);
}

static void
test_convert(void **state)
{
	struct tg_sts_policy *p = malloc(sizeof(*p)), *q = malloc(sizeof(*q));
	struct tg_cache_sts_policy *cp = malloc(sizeof(*cp));
	struct tg_err err;

	(void)state;
	assert_non_null(p);
	assert_non_null(q);
	assert_non_null(cp);
	parse_body(BODY, p);
	assert_int_equal(tg_stscache_from_fetch(p, BODY, strlen(BODY), "id1",
	    NOW, cp, &err), 0);
	assert_int_equal(cp->mode, TG_CACHE_STS_ENFORCE);
	assert_int_equal(cp->max_age, 604800);
	assert_int_equal(cp->n_mx, 2);
	assert_string_equal(cp->mx[1], "*.mx.example.org");
	assert_int_equal(cp->fetched_at, NOW);
	assert_int_equal(cp->expires_at, NOW + 604800);
	assert_memory_equal(cp->body, BODY, strlen(BODY));
	assert_int_equal(tg_stscache_to_policy(cp, q, &err), 0);
	assert_int_equal(q->mode, TG_STS_MODE_ENFORCE);
	assert_string_equal(q->mx[0], "mail.example.org");
	/* Stored fields that disagree with the stored body are refused. */
	cp->mode = TG_CACHE_STS_TESTING;
	assert_int_equal(tg_stscache_to_policy(cp, q, &err), -1);
	assert_non_null(strstr(err.msg, "disagree"));
	cp->mode = TG_CACHE_STS_ENFORCE;
	strcpy(cp->mx[0], "evil.example.net");
	assert_int_equal(tg_stscache_to_policy(cp, q, &err), -1);
	assert_non_null(strstr(err.msg, "evil.example.net"));
	/* A body that does not parse is refused. */
	memcpy(cp->body, "version: STSv2\n", 15);
	cp->body_len = 15;
	assert_int_equal(tg_stscache_to_policy(cp, q, &err), -1);
	assert_int_equal(err.cls, TG_ERR_PERM);
	free(p);
	free(q);
	free(cp);
}

/* ---- store/cache ---- */

struct dir {
	char path[64];
};

static void
dir_make(struct dir *d)
{
	strcpy(d->path, "/tmp/tg-stscache-XXXXXX");
	assert_non_null(mkdtemp(d->path));
}

static void
dir_remove(struct dir *d)
{
	char p[128];
	static const char *const names[] = { "cache.db", "cache.db-wal",
	    "cache.db-shm" };
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", d->path, names[i]);
		unlink(p);
	}
	rmdir(d->path);
}

static struct tg_cache *
cache_open(const struct dir *d)
{
	struct tg_cache *c;
	struct tg_err err;

	if (tg_cache_open(d->path, &c, &err) != 0)
		fail_msg("open: %s", err.msg);
	return c;
}

static void
policy_of(const char *body, const char *id, time_t at,
    struct tg_cache_sts_policy *cp)
{
	struct tg_sts_policy *p = malloc(sizeof(*p));
	struct tg_err err;

	assert_non_null(p);
	parse_body(body, p);
	assert_int_equal(tg_stscache_from_fetch(p, body, strlen(body), id, at,
	    cp, &err), 0);
	free(p);
}

static void
attempt_of(time_t at, const char *id, int ok, const char *result,
    struct tg_cache_sts_attempt *a)
{
	memset(a, 0, sizeof(*a));
	a->at = at;
	strcpy(a->id, id);
	a->ok = ok;
	if (!ok) {
		strcpy(a->result, result);
		snprintf(a->error, sizeof(a->error), "failure at %ld",
		    (long)at);
	}
}

static void
get_row(struct tg_cache *c, const char *domain, struct tg_cache_sts *r)
{
	struct tg_err err;
	int rc = tg_cache_sts_get(c, domain, r, &err);

	if (rc != 0)
		fail_msg("get %s: %d %s", domain, rc, err.msg);
}

static void
test_store_roundtrip(void **state)
{
	struct tg_cache_sts_policy *cp = malloc(sizeof(*cp));
	struct tg_cache_sts *r = malloc(sizeof(*r));
	struct tg_cache_sts_attempt a;
	struct tg_cache *c;
	struct tg_err err;
	struct stat st;
	struct dir d;
	char path[128];

	(void)state;
	assert_non_null(cp);
	assert_non_null(r);
	dir_make(&d);
	c = cache_open(&d);
	snprintf(path, sizeof(path), "%s/cache.db", d.path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(tg_cache_sts_get(c, "example.org", r, &err),
	    TG_CACHE_NOTFOUND);
	/* The TXT id alone makes a row without a policy. */
	assert_int_equal(tg_cache_sts_save_txt(c, "Example.ORG.", "id1", NOW,
	    &err), 0);
	get_row(c, "example.org", r);
	assert_string_equal(r->domain, "example.org");
	assert_string_equal(r->txt_id, "id1");
	assert_int_equal(r->txt_seen_at, NOW);
	assert_false(r->has_policy);
	/* A valid fetch stores the policy, body byte for byte. */
	policy_of(BODY, "id1", NOW, cp);
	attempt_of(NOW, "id1", 1, NULL, &a);
	assert_int_equal(tg_cache_sts_save_fetch(c, "example.org", &a, cp,
	    &err), 0);
	get_row(c, "example.org", r);
	assert_true(r->has_policy);
	assert_int_equal(r->policy.mode, TG_CACHE_STS_ENFORCE);
	assert_int_equal(r->policy.max_age, 604800);
	assert_int_equal(r->policy.n_mx, 2);
	assert_string_equal(r->policy.mx[0], "mail.example.org");
	assert_string_equal(r->policy.mx[1], "*.mx.example.org");
	assert_int_equal(r->policy.body_len, strlen(BODY));
	assert_memory_equal(r->policy.body, BODY, strlen(BODY));
	assert_string_equal(r->policy.id, "id1");
	assert_int_equal(r->policy.expires_at, NOW + 604800);
	assert_true(r->attempt.ok);
	assert_int_equal(r->attempt.failures, 0);
	assert_string_equal(r->txt_id, "id1");	/* untouched by the fetch */
	tg_cache_close(c);
	/* Persistent: a new connection (a restarted relay) sees it all. */
	c = cache_open(&d);
	get_row(c, "example.org", r);
	assert_true(r->has_policy);
	assert_memory_equal(r->policy.body, BODY, strlen(BODY));
	assert_int_equal(tg_cache_sts_remove(c, "example.org", &err), 0);
	assert_int_equal(tg_cache_sts_remove(c, "example.org", &err),
	    TG_CACHE_NOTFOUND);
	tg_cache_close(c);
	dir_remove(&d);
	free(cp);
	free(r);
}

static void
test_store_failure_keeps_policy(void **state)
{
	struct tg_cache_sts_policy *cp = malloc(sizeof(*cp));
	struct tg_cache_sts *r = malloc(sizeof(*r));
	struct tg_cache_sts_attempt a;
	struct tg_cache *c;
	struct tg_err err;
	struct dir d;

	(void)state;
	assert_non_null(cp);
	assert_non_null(r);
	dir_make(&d);
	c = cache_open(&d);
	/* Failures before any policy: counted, no policy appears. */
	attempt_of(NOW - 1000, "id1", 0, "sts-policy-fetch-error", &a);
	assert_int_equal(tg_cache_sts_save_fetch(c, "example.org", &a, NULL,
	    &err), 0);
	attempt_of(NOW - 900, "id1", 0, "sts-webpki-invalid", &a);
	assert_int_equal(tg_cache_sts_save_fetch(c, "example.org", &a, NULL,
	    &err), 0);
	get_row(c, "example.org", r);
	assert_false(r->has_policy);
	assert_int_equal(r->attempt.failures, 2);
	assert_string_equal(r->attempt.result, "sts-webpki-invalid");
	assert_string_equal(r->attempt.error, "failure at 1699999100");
	/* A success resets the count. */
	policy_of(BODY, "id1", NOW - 800, cp);
	attempt_of(NOW - 800, "id1", 1, NULL, &a);
	assert_int_equal(tg_cache_sts_save_fetch(c, "example.org", &a, cp,
	    &err), 0);
	/* A later failure (another id) records the attempt only. */
	attempt_of(NOW, "id2", 0, "sts-policy-invalid", &a);
	assert_int_equal(tg_cache_sts_save_fetch(c, "example.org", &a, NULL,
	    &err), 0);
	get_row(c, "example.org", r);
	assert_true(r->has_policy);
	assert_string_equal(r->policy.id, "id1");
	assert_int_equal(r->policy.fetched_at, NOW - 800);
	assert_int_equal(r->attempt.failures, 1);
	assert_string_equal(r->attempt.id, "id2");
	assert_false(r->attempt.ok);
	/* An older fetch (a slower writer) never replaces a newer policy. */
	policy_of("version: STSv1\nmode: none\nmax_age: 60\n", "id0",
	    NOW - 5000, cp);
	attempt_of(NOW - 5000, "id0", 1, NULL, &a);
	assert_int_equal(tg_cache_sts_save_fetch(c, "example.org", &a, cp,
	    &err), 0);
	get_row(c, "example.org", r);
	assert_string_equal(r->policy.id, "id1");
	assert_int_equal(r->policy.mode, TG_CACHE_STS_ENFORCE);
	/* A newer valid one does, mode none included (RFC 8461 §8.3). */
	policy_of("version: STSv1\nmode: none\nmax_age: 60\n", "id3", NOW, cp);
	attempt_of(NOW, "id3", 1, NULL, &a);
	assert_int_equal(tg_cache_sts_save_fetch(c, "example.org", &a, cp,
	    &err), 0);
	get_row(c, "example.org", r);
	assert_string_equal(r->policy.id, "id3");
	assert_int_equal(r->policy.mode, TG_CACHE_STS_NONE);
	assert_int_equal(r->policy.n_mx, 0);
	assert_int_equal(r->attempt.failures, 0);
	tg_cache_close(c);
	dir_remove(&d);
	free(cp);
	free(r);
}

static void
test_store_validation(void **state)
{
	struct tg_cache_sts_policy *cp = malloc(sizeof(*cp));
	struct tg_cache_sts *r = malloc(sizeof(*r));
	struct tg_cache_sts_attempt a;
	struct tg_cache *c;
	struct tg_err err;
	struct dir d;

	(void)state;
	assert_non_null(cp);
	assert_non_null(r);
	dir_make(&d);
	c = cache_open(&d);
	attempt_of(NOW, "id1", 1, NULL, &a);
	policy_of(BODY, "id1", NOW, cp);
	cp->max_age = TG_STS_MAX_AGE_MAX + 1;
	cp->expires_at = cp->fetched_at + cp->max_age;
	assert_int_equal(tg_cache_sts_save_fetch(c, "example.org", &a, cp,
	    &err), -1);
	assert_non_null(strstr(err.msg, "max_age"));
	policy_of(BODY, "id1", NOW, cp);
	cp->expires_at++;
	assert_int_equal(tg_cache_sts_save_fetch(c, "example.org", &a, cp,
	    &err), -1);
	assert_non_null(strstr(err.msg, "expires_at"));
	policy_of(BODY, "id1", NOW, cp);
	cp->mode = 3;
	assert_int_equal(tg_cache_sts_save_fetch(c, "example.org", &a, cp,
	    &err), -1);
	policy_of(BODY, "id1", NOW, cp);
	strcpy(cp->mx[0], "Mail.Example.org");
	assert_int_equal(tg_cache_sts_save_fetch(c, "example.org", &a, cp,
	    &err), -1);
	assert_non_null(strstr(err.msg, "mx"));
	policy_of(BODY, "bad-id", NOW, cp);
	assert_int_equal(tg_cache_sts_save_fetch(c, "example.org", &a, cp,
	    &err), -1);
	assert_non_null(strstr(err.msg, "policy_id"));
	assert_int_equal(tg_cache_sts_save_txt(c, "example.org",
	    "0123456789012345678901234567890123", NOW, &err), -1);
	assert_int_equal(tg_cache_sts_save_txt(c, "bad_name!.org", "x", NOW,
	    &err), -1);
	assert_int_equal(tg_cache_sts_get(c, "bad name", r, &err), -1);
	/* Nothing was written by any of these. */
	assert_int_equal(tg_cache_sts_get(c, "example.org", r, &err),
	    TG_CACHE_NOTFOUND);
	tg_cache_close(c);
	dir_remove(&d);
	free(cp);
	free(r);
}

struct list_ctx {
	int n;
	int stop_after;
	char seen[4][TG_DNAME_MAX + 1];
};

static int
list_fn(const struct tg_cache_sts *row, void *arg, struct tg_err *err)
{
	struct list_ctx *l = arg;

	(void)err;
	snprintf(l->seen[l->n], sizeof(l->seen[0]), "%s", row->domain);
	l->n++;
	return l->n == l->stop_after;
}

static void
test_store_list_readonly(void **state)
{
	struct tg_cache_sts *r = malloc(sizeof(*r));
	struct list_ctx l;
	struct tg_cache *c, *ro;
	struct tg_err err;
	struct dir d;

	(void)state;
	assert_non_null(r);
	dir_make(&d);
	assert_int_equal(tg_cache_open_readonly(d.path, &ro, &err), -1);
	assert_non_null(strstr(err.msg, "no cache database"));
	c = cache_open(&d);
	assert_int_equal(tg_cache_sts_save_txt(c, "b.example", "x", NOW, &err),
	    0);
	assert_int_equal(tg_cache_sts_save_txt(c, "a.example", "y", NOW, &err),
	    0);
	assert_int_equal(tg_cache_sts_save_txt(c, "c.example", "z", NOW, &err),
	    0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(tg_cache_sts_list(c, list_fn, &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.seen[0], "a.example");
	assert_string_equal(l.seen[2], "c.example");
	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	assert_int_equal(tg_cache_sts_list(c, list_fn, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(tg_cache_open_readonly(d.path, &ro, &err), 0);
	get_row(ro, "b.example", r);
	assert_string_equal(r->txt_id, "x");
	assert_int_equal(tg_cache_sts_save_txt(ro, "b.example", "q", NOW,
	    &err), -1);
	assert_int_equal(err.cls, TG_ERR_PERM);
	tg_cache_close(ro);
	tg_cache_close(c);
	assert_string_equal(tg_cache_sts_mode_name(TG_CACHE_STS_TESTING),
	    "testing");
	assert_string_equal(tg_cache_sts_mode_name(7), "invalid");
	dir_remove(&d);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide_table),
		cmocka_unit_test(test_predicates),
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_store_roundtrip),
		cmocka_unit_test(test_store_failure_keeps_policy),
		cmocka_unit_test(test_store_validation),
		cmocka_unit_test(test_store_list_readonly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
