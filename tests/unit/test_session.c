/*
 * Unit tests of admin/session: sessions (ids, CSRF tokens, idle and
 * absolute timeouts, logout, a user's sessions ended, LRU eviction) and
 * the login throttle (free failures, doubling waits, the cap, the
 * address-wide count, a good login, the bound), all on a fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/session.h"

#define T0	((time_t)1700000000)

static int
sessions_setup(void **state)
{
	struct tg_sessions *t;

	assert_int_equal(tg_sessions_new(&t, NULL), 0);
	*state = t;
	return 0;
}

static int
sessions_teardown(void **state)
{
	tg_sessions_free(*state);
	return 0;
}

static const struct tg_session *
create(struct tg_sessions *t, const char *user, time_t now)
{
	const struct tg_session *s;
	struct tg_err err;

	if (tg_sessions_create(t, user, now, &s, &err) != 0)
		fail_msg("create: %s", err.msg);
	assert_non_null(s);
	return s;
}

static void
test_session_create_find(void **state)
{
	struct tg_sessions *t = *state;
	const struct tg_session *s, *f;
	char id[TG_SESSION_TOKEN_LEN + 1];

	s = create(t, "admin", T0);
	assert_string_equal(s->user, "admin");
	assert_int_equal(s->created, T0);
	assert_int_equal(s->last_seen, T0);
	assert_string_not_equal(s->id, s->csrf);
	memcpy(id, s->id, sizeof(id));
	f = tg_sessions_find(t, id, T0 + 60);
	assert_ptr_equal(f, s);
	assert_int_equal(f->last_seen, T0 + 60);
	assert_int_equal(tg_sessions_count(t), 1);
	/* A near miss, a prefix, too long, empty, NULL. */
	id[5] = id[5] == 'A' ? 'B' : 'A';
	assert_null(tg_sessions_find(t, id, T0 + 61));
	memcpy(id, s->id, sizeof(id));
	id[TG_SESSION_TOKEN_LEN - 1] = '\0';
	assert_null(tg_sessions_find(t, id, T0 + 61));
	assert_null(tg_sessions_find(t, "", T0 + 61));
	assert_null(tg_sessions_find(t, NULL, T0 + 61));
	assert_int_equal(tg_sessions_count(t), 1);
}

static void
test_session_refuses_bad_user(void **state)
{
	struct tg_sessions *t = *state;
	const struct tg_session *s;
	char big[TG_STORE_USER_MAX + 2];
	struct tg_err err;

	memset(big, 'u', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(tg_sessions_create(t, big, T0, &s, &err), -1);
	assert_null(s);
	assert_int_equal(tg_sessions_create(t, "", T0, &s, &err), -1);
	assert_int_equal(tg_sessions_count(t), 0);
	big[TG_STORE_USER_MAX] = '\0';
	assert_int_equal(tg_sessions_create(t, big, T0, &s, &err), 0);
	assert_string_equal(s->user, big);
}

static void
test_session_idle_timeout(void **state)
{
	struct tg_sessions *t = *state;
	char id[TG_SESSION_TOKEN_LEN + 1];
	time_t now = T0;

	memcpy(id, create(t, "admin", T0)->id, sizeof(id));
	/* Kept alive by use: every request within the idle time. */
	while (now < T0 + 3 * TG_SESSION_IDLE_S) {
		now += TG_SESSION_IDLE_S - 1;
		assert_non_null(tg_sessions_find(t, id, now));
	}
	now += TG_SESSION_IDLE_S;
	assert_null(tg_sessions_find(t, id, now));
	assert_int_equal(tg_sessions_count(t), 0);
	/* Gone for good, even if the clock comes back. */
	assert_null(tg_sessions_find(t, id, now - TG_SESSION_IDLE_S));
}

static void
test_session_absolute_timeout(void **state)
{
	struct tg_sessions *t = *state;
	char id[TG_SESSION_TOKEN_LEN + 1];
	time_t now = T0;

	memcpy(id, create(t, "admin", T0)->id, sizeof(id));
	while (now + 600 < T0 + TG_SESSION_ABSOLUTE_S) {
		now += 600;
		assert_non_null(tg_sessions_find(t, id, now));
	}
	assert_non_null(tg_sessions_find(t, id,
	    T0 + TG_SESSION_ABSOLUTE_S - 1));
	assert_null(tg_sessions_find(t, id, T0 + TG_SESSION_ABSOLUTE_S));
	assert_int_equal(tg_sessions_count(t), 0);
}

/* A login never reuses an id, not even the same user's (fixation). */
static void
test_session_new_login_new_id(void **state)
{
	struct tg_sessions *t = *state;
	char a[TG_SESSION_TOKEN_LEN + 1], b[TG_SESSION_TOKEN_LEN + 1];
	const struct tg_session *s;

	s = create(t, "admin", T0);
	memcpy(a, s->id, sizeof(a));
	s = create(t, "admin", T0);
	memcpy(b, s->id, sizeof(b));
	assert_string_not_equal(a, b);
	assert_string_equal(tg_sessions_find(t, a, T0 + 1)->id, a);
	assert_string_equal(tg_sessions_find(t, b, T0 + 1)->id, b);
	assert_int_equal(tg_sessions_count(t), 2);
}

static void
test_session_destroy(void **state)
{
	struct tg_sessions *t = *state;
	char a[TG_SESSION_TOKEN_LEN + 1], b[TG_SESSION_TOKEN_LEN + 1];

	memcpy(a, create(t, "admin", T0)->id, sizeof(a));
	memcpy(b, create(t, "admin", T0)->id, sizeof(b));
	tg_sessions_destroy(t, a);
	assert_null(tg_sessions_find(t, a, T0 + 1));
	assert_non_null(tg_sessions_find(t, b, T0 + 1));
	tg_sessions_destroy(t, a);
	tg_sessions_destroy(t, "no such session");
	tg_sessions_destroy(t, NULL);
	assert_int_equal(tg_sessions_count(t), 1);
}

static void
test_session_destroy_user(void **state)
{
	struct tg_sessions *t = *state;
	char a1[TG_SESSION_TOKEN_LEN + 1], a2[TG_SESSION_TOKEN_LEN + 1];
	char b[TG_SESSION_TOKEN_LEN + 1];

	memcpy(a1, create(t, "alice", T0)->id, sizeof(a1));
	memcpy(b, create(t, "bob", T0)->id, sizeof(b));
	memcpy(a2, create(t, "alice", T0)->id, sizeof(a2));
	tg_sessions_destroy_user(t, "alice");
	assert_int_equal(tg_sessions_count(t), 1);
	assert_null(tg_sessions_find(t, a1, T0 + 1));
	assert_null(tg_sessions_find(t, a2, T0 + 1));
	assert_string_equal(tg_sessions_find(t, b, T0 + 1)->user, "bob");
	tg_sessions_destroy_user(t, "carol");
	assert_int_equal(tg_sessions_count(t), 1);
}

/* TG_SESSION_MAX + 1 logins: the least recently used one goes. */
static void
test_session_lru_eviction(void **state)
{
	struct tg_sessions *t = *state;
	static char ids[TG_SESSION_MAX][TG_SESSION_TOKEN_LEN + 1];
	char extra[TG_SESSION_TOKEN_LEN + 1];
	size_t i;

	for (i = 0; i < TG_SESSION_MAX; i++)
		memcpy(ids[i], create(t, "admin", T0)->id, sizeof(ids[i]));
	assert_int_equal(tg_sessions_count(t), TG_SESSION_MAX);
	/* The oldest login is in use; the second oldest is not. */
	assert_non_null(tg_sessions_find(t, ids[0], T0 + 1));
	memcpy(extra, create(t, "admin", T0 + 2)->id, sizeof(extra));
	assert_int_equal(tg_sessions_count(t), TG_SESSION_MAX);
	assert_null(tg_sessions_find(t, ids[1], T0 + 3));
	assert_non_null(tg_sessions_find(t, ids[0], T0 + 3));
	assert_non_null(tg_sessions_find(t, extra, T0 + 3));
	for (i = 2; i < TG_SESSION_MAX; i++)
		assert_non_null(tg_sessions_find(t, ids[i], T0 + 3));
}

static void
test_session_csrf(void **state)
{
	struct tg_sessions *t = *state;
	char other[TG_SESSION_TOKEN_LEN + 1], tok[TG_SESSION_TOKEN_LEN + 2];
	const struct tg_session *s;

	memcpy(other, create(t, "admin", T0)->csrf, sizeof(other));
	s = create(t, "admin", T0);
	assert_int_equal(tg_sessions_csrf_ok(s, s->csrf), 1);
	assert_int_equal(tg_sessions_csrf_ok(s, other), 0);
	assert_int_equal(tg_sessions_csrf_ok(s, s->id), 0);
	assert_int_equal(tg_sessions_csrf_ok(s, ""), 0);
	assert_int_equal(tg_sessions_csrf_ok(s, NULL), 0);
	assert_int_equal(tg_sessions_csrf_ok(NULL, s->csrf), 0);
	snprintf(tok, sizeof(tok), "%sx", s->csrf);
	assert_int_equal(tg_sessions_csrf_ok(s, tok), 0);
	memcpy(tok, s->csrf, TG_SESSION_TOKEN_LEN);
	tok[TG_SESSION_TOKEN_LEN - 1] = '\0';
	assert_int_equal(tg_sessions_csrf_ok(s, tok), 0);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int
is_b64url(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_'))
			return 0;
	return i == TG_SESSION_TOKEN_LEN;
}

/* 1000 logins: 2000 tokens, all 43 base64url characters, all unique. */
static void
test_session_ids_unique(void **state)
{
	struct tg_sessions *t = *state;
	static char seen[2000][TG_SESSION_TOKEN_LEN + 1];
	const struct tg_session *s;
	size_t i, n = 0;
	void *tree = NULL;

	for (i = 0; i < 1000; i++) {
		s = create(t, "admin", T0);
		assert_true(is_b64url(s->id));
		assert_true(is_b64url(s->csrf));
		memcpy(seen[n++], s->id, sizeof(seen[0]));
		memcpy(seen[n++], s->csrf, sizeof(seen[0]));
	}
	for (i = 0; i < n; i++) {
		void **hit = tsearch(seen[i], &tree, cmp_str);

		assert_non_null(hit);
		assert_ptr_equal(*hit, seen[i]);
	}
	for (i = 0; i < n; i++)
		tdelete(seen[i], &tree, cmp_str);
	assert_int_equal(tg_sessions_count(t), TG_SESSION_MAX);
}

/* ---- login throttle ---- */

static int
throttle_setup(void **state)
{
	struct tg_login_throttle *t;

	assert_int_equal(tg_login_throttle_new(&t, NULL), 0);
	*state = t;
	return 0;
}

static int
throttle_teardown(void **state)
{
	tg_login_throttle_free(*state);
	return 0;
}

#define ADDR	"192.0.2.7"

static void
test_throttle_backoff(void **state)
{
	struct tg_login_throttle *t = *state;
	time_t now = T0;
	long want = 1;
	int i;

	for (i = 0; i < TG_LOGIN_FREE_FAILURES; i++) {
		assert_int_equal(tg_login_throttle_wait(t, "admin", ADDR,
		    now), 0);
		tg_login_throttle_fail(t, "admin", ADDR, now);
	}
	/* Then 1, 2, 4, ... seconds from the last failure, capped. */
	for (i = 0; i < 16; i++) {
		assert_int_equal(tg_login_throttle_wait(t, "admin", ADDR,
		    now), want);
		assert_int_equal(tg_login_throttle_wait(t, "admin", ADDR,
		    now + want - 1), 1);
		assert_int_equal(tg_login_throttle_wait(t, "admin", ADDR,
		    now + want), 0);
		now += want;
		tg_login_throttle_fail(t, "admin", ADDR, now);
		want = want * 2 > TG_LOGIN_WAIT_MAX_S ? TG_LOGIN_WAIT_MAX_S :
		    want * 2;
	}
	assert_int_equal(want, TG_LOGIN_WAIT_MAX_S);
	assert_int_equal(tg_login_throttle_wait(t, "admin", ADDR, now),
	    TG_LOGIN_WAIT_MAX_S);
	/* A clock that went back does not make the wait longer. */
	assert_int_equal(tg_login_throttle_wait(t, "admin", ADDR,
	    now - 5000), TG_LOGIN_WAIT_MAX_S);
	/* Another address is not held back; the same name in upper case
	 * from this one is. */
	assert_int_equal(tg_login_throttle_wait(t, "admin", "192.0.2.8",
	    now), 0);
	assert_int_equal(tg_login_throttle_wait(t, "ADMIN", ADDR, now),
	    TG_LOGIN_WAIT_MAX_S);
}

/* Five users tried once each from one address: the sixth waits too. */
static void
test_throttle_address_wide(void **state)
{
	struct tg_login_throttle *t = *state;
	char user[32];
	int i;

	for (i = 0; i < TG_LOGIN_FREE_FAILURES + 1; i++) {
		snprintf(user, sizeof(user), "user%d", i);
		tg_login_throttle_fail(t, user, ADDR, T0);
	}
	assert_int_equal(tg_login_throttle_wait(t, "admin", ADDR, T0), 2);
	assert_int_equal(tg_login_throttle_wait(t, "nobody", ADDR, T0), 2);
	assert_int_equal(tg_login_throttle_wait(t, "admin", "2001:db8::1",
	    T0), 0);
	/* No user name can stand for the address alone. */
	assert_int_equal(tg_login_throttle_wait(t, "", "198.51.100.1", T0),
	    0);
	for (i = 0; i < 10; i++)
		tg_login_throttle_fail(t, "", "198.51.100.1", T0);
	tg_login_throttle_ok(t, "", "198.51.100.1");
	assert_int_equal(tg_login_throttle_wait(t, "admin", "198.51.100.1",
	    T0), 32);
}

static void
test_throttle_ok_clears_pair(void **state)
{
	struct tg_login_throttle *t = *state;
	int i;

	for (i = 0; i < TG_LOGIN_FREE_FAILURES + 2; i++)
		tg_login_throttle_fail(t, "admin", ADDR, T0);
	assert_int_equal(tg_login_throttle_wait(t, "admin", ADDR, T0), 4);
	tg_login_throttle_ok(t, "admin", ADDR);
	/* The address still counts the seven failures. */
	assert_int_equal(tg_login_throttle_wait(t, "admin", ADDR, T0), 4);
	assert_int_equal(tg_login_throttle_wait(t, "admin", ADDR, T0 + 4), 0);
	/* The pair starts again; the address carries on from eight. */
	tg_login_throttle_fail(t, "admin", ADDR, T0 + 4);
	assert_int_equal(tg_login_throttle_wait(t, "admin", ADDR, T0 + 4), 8);
	tg_login_throttle_ok(t, "admin", ADDR);
	tg_login_throttle_ok(t, "nobody", "203.0.113.1");
}

/* After TG_LOGIN_FORGET_S without a failure, a key starts again. */
static void
test_throttle_forgets(void **state)
{
	struct tg_login_throttle *t = *state;
	time_t later = T0 + TG_LOGIN_FORGET_S;
	int i;

	for (i = 0; i < TG_LOGIN_FREE_FAILURES + 8; i++)
		tg_login_throttle_fail(t, "admin", ADDR, T0);
	assert_int_equal(tg_login_throttle_wait(t, "admin", ADDR, T0), 256);
	assert_int_equal(tg_login_throttle_wait(t, "admin", ADDR, later), 0);
	tg_login_throttle_fail(t, "admin", ADDR, later);
	assert_int_equal(tg_login_throttle_wait(t, "admin", ADDR, later), 0);
}

static void
test_throttle_bounded(void **state)
{
	struct tg_login_throttle *t = *state;
	char addr[64], user[TG_STORE_USER_MAX * 2];
	int i;

	for (i = 0; i < TG_LOGIN_KEYS_MAX * 2; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16,
		    (i >> 8) & 255, i & 255);
		tg_login_throttle_fail(t, "admin", addr, T0 + i);
		assert_true(tg_login_throttle_count(t) <= TG_LOGIN_KEYS_MAX);
	}
	assert_int_equal(tg_login_throttle_count(t), TG_LOGIN_KEYS_MAX);
	/* One address trying many names keeps its own count: it is
	 * renewed at each failure, so the names push out others. */
	for (i = 0; i < TG_LOGIN_KEYS_MAX * 2; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		tg_login_throttle_fail(t, user, ADDR, T0 + 9000);
	}
	assert_int_equal(tg_login_throttle_count(t), TG_LOGIN_KEYS_MAX);
	assert_int_equal(tg_login_throttle_wait(t, "admin", ADDR, T0 + 9000),
	    TG_LOGIN_WAIT_MAX_S);
	/* Overlong names and addresses are cut, not overflowed. */
	memset(user, 'x', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	memset(addr, '1', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	tg_login_throttle_fail(t, user, addr, T0);
	assert_int_equal(tg_login_throttle_wait(t, user, addr, T0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define S(fn) cmocka_unit_test_setup_teardown(fn, sessions_setup, \
	    sessions_teardown)
#define L(fn) cmocka_unit_test_setup_teardown(fn, throttle_setup, \
	    throttle_teardown)
		S(test_session_create_find),
		S(test_session_refuses_bad_user),
		S(test_session_idle_timeout),
		S(test_session_absolute_timeout),
		S(test_session_new_login_new_id),
		S(test_session_destroy),
		S(test_session_destroy_user),
		S(test_session_lru_eviction),
		S(test_session_csrf),
		S(test_session_ids_unique),
		L(test_throttle_backoff),
		L(test_throttle_address_wide),
		L(test_throttle_ok_clears_pair),
		L(test_throttle_forgets),
		L(test_throttle_bounded),
#undef S
#undef L
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
