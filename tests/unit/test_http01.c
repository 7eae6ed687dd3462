/*
 * Unit tests of net/http01: token and key authorization syntax (table),
 * building and freezing a set (refused entries leave it unchanged),
 * lookups of request paths — served, unknown, expired, bad token, other
 * path, no set — and the token as it is logged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "net/http01.h"

#define TOKEN	"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
#define KEYAUTH	TOKEN ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
#define PATH	TG_HTTP01_PREFIX TOKEN

static void
test_syntax(void **state)
{
	static const struct {
		const char *s;
		int token, keyauth;
	} cases[] = {
		{ TOKEN, 1, 1 },
		{ KEYAUTH, 0, 1 },		/* '.' is no base64url */
		{ "a", 1, 1 },
		{ "A-z_09", 1, 1 },
		{ "", 0, 0 },
		{ "abc=", 0, 1 },		/* no padding */
		{ "a+b", 0, 1 },		/* base64, not base64url */
		{ "a/b", 0, 1 },
		{ "a b", 0, 0 },
		{ "a\tb", 0, 0 },
		{ "ab\n", 0, 0 },
		{ "a\x7f", 0, 0 },
		{ "caf\xc3\xa9", 0, 0 },
		{ "~!\"#$%&'()*+,./:;<=>?@[\\]^`{|}", 0, 1 },
	};
	char big[TG_HTTP01_KEYAUTH_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (tg_http01_token_valid(cases[i].s) != cases[i].token)
			fail_msg("token \"%s\": not %d", cases[i].s,
			    cases[i].token);
		if (tg_http01_keyauth_valid(cases[i].s) != cases[i].keyauth)
			fail_msg("keyauth \"%s\": not %d", cases[i].s,
			    cases[i].keyauth);
	}
	/* The limits, and one over. */
	memset(big, 'a', sizeof(big));
	big[TG_HTTP01_TOKEN_MAX] = '\0';
	assert_true(tg_http01_token_valid(big));
	big[TG_HTTP01_TOKEN_MAX] = 'a';
	big[TG_HTTP01_TOKEN_MAX + 1] = '\0';
	assert_false(tg_http01_token_valid(big));
	memset(big, 'a', sizeof(big));
	big[TG_HTTP01_KEYAUTH_MAX] = '\0';
	assert_true(tg_http01_keyauth_valid(big));
	big[TG_HTTP01_KEYAUTH_MAX] = 'a';
	big[TG_HTTP01_KEYAUTH_MAX + 1] = '\0';
	assert_false(tg_http01_keyauth_valid(big));
}

static struct tg_http01_set *
make_set(void)
{
	struct tg_http01_set *s;
	struct tg_err err;

	assert_int_equal(tg_http01_set_new(&s, &err), 0);
	/* Out of order: freeze sorts. */
	assert_int_equal(tg_http01_set_add(s, "zz", "zz.k", 200, &err), 0);
	assert_int_equal(tg_http01_set_add(s, TOKEN, KEYAUTH, 200, &err), 0);
	assert_int_equal(tg_http01_set_add(s, "A", "A.k", 100, &err), 0);
	assert_int_equal(tg_http01_set_add(s, "m-_", "m-_.k", 200, &err), 0);
	return s;
}

static void
test_set_add(void **state)
{
	struct tg_http01_set *s = make_set();
	struct tg_err err;
	char big[TG_HTTP01_TOKEN_MAX + 2];

	(void)state;
	assert_int_equal(tg_http01_set_count(s), 4);
	assert_int_equal(tg_http01_set_add(s, "zz", "other", 300, &err), -1);
	assert_int_equal(err.cls, TG_ERR_PERM);
	assert_non_null(strstr(err.msg, "twice"));
	assert_int_equal(tg_http01_set_add(s, "a.b", "k", 300, &err), -1);
	assert_non_null(strstr(err.msg, "token:"));
	assert_int_equal(tg_http01_set_add(s, "ok", "k k", 300, &err), -1);
	assert_non_null(strstr(err.msg, "key_authorization:"));
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(tg_http01_set_add(s, big, "k", 300, &err), -1);
	assert_int_equal(tg_http01_set_count(s), 4);
	tg_http01_set_freeze(s);
	tg_http01_set_freeze(s);		/* twice: nothing more */
	assert_int_equal(tg_http01_set_add(s, "new", "k", 300, &err), -1);
	assert_int_equal(err.cls, TG_ERR_BUG);
	assert_int_equal(tg_http01_set_count(s), 4);
	/* References: the last one frees (ASan sees a leak or a double
	 * free otherwise). */
	assert_ptr_equal(tg_http01_set_ref(s), s);
	tg_http01_set_unref(s);
	tg_http01_set_unref(s);
	tg_http01_set_unref(NULL);
}

/* Room for TG_HTTP01_SET_MAX challenges, and not one more. */
static void
test_set_full(void **state)
{
	struct tg_http01_set *s;
	struct tg_err err;
	const char *ka;
	char token[16];
	int i;

	(void)state;
	assert_int_equal(tg_http01_set_new(&s, &err), 0);
	for (i = 0; i < TG_HTTP01_SET_MAX; i++) {
		snprintf(token, sizeof(token), "t%d", i);
		assert_int_equal(tg_http01_set_add(s, token, "k", 10, &err),
		    0);
	}
	assert_int_equal(tg_http01_set_add(s, "one-more", "k", 10, &err), -1);
	assert_non_null(strstr(err.msg, "more than"));
	tg_http01_set_freeze(s);
	assert_int_equal(tg_http01_lookup(s, TG_HTTP01_PREFIX "t4095", 5,
	    &ka), TG_HTTP01_SERVED);
	tg_http01_set_unref(s);
}

static void
test_lookup(void **state)
{
	static const struct {
		const char *path;
		time_t now;
		enum tg_http01_result want;
		const char *keyauth;
	} cases[] = {
		{ PATH, 0, TG_HTTP01_SERVED, KEYAUTH },
		{ PATH, 199, TG_HTTP01_SERVED, KEYAUTH },
		{ PATH, 200, TG_HTTP01_UNKNOWN, NULL },	/* expired */
		{ TG_HTTP01_PREFIX "A", 99, TG_HTTP01_SERVED, "A.k" },
		{ TG_HTTP01_PREFIX "A", 100, TG_HTTP01_UNKNOWN, NULL },
		{ TG_HTTP01_PREFIX "m-_", 0, TG_HTTP01_SERVED, "m-_.k" },
		{ TG_HTTP01_PREFIX "zz", 0, TG_HTTP01_SERVED, "zz.k" },
		{ TG_HTTP01_PREFIX "a", 0, TG_HTTP01_UNKNOWN, NULL },
		{ TG_HTTP01_PREFIX "z", 0, TG_HTTP01_UNKNOWN, NULL },
		{ PATH "x", 0, TG_HTTP01_UNKNOWN, NULL },
		{ TG_HTTP01_PREFIX, 0, TG_HTTP01_BAD_TOKEN, NULL },
		{ PATH "/", 0, TG_HTTP01_BAD_TOKEN, NULL },
		{ TG_HTTP01_PREFIX "../mta-sts.txt", 0, TG_HTTP01_BAD_TOKEN,
		    NULL },
		{ TG_HTTP01_PREFIX "zz=", 0, TG_HTTP01_BAD_TOKEN, NULL },
		{ "/.well-known/acme-challenge", 0, TG_HTTP01_NOT_CHALLENGE,
		    NULL },
		{ "/.well-known/mta-sts.txt", 0, TG_HTTP01_NOT_CHALLENGE,
		    NULL },
		{ "/", 0, TG_HTTP01_NOT_CHALLENGE, NULL },
		{ "", 0, TG_HTTP01_NOT_CHALLENGE, NULL },
	};
	struct tg_http01_set *s = make_set();
	const char *ka;
	size_t i;

	(void)state;
	tg_http01_set_freeze(s);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ka = "unset";
		if (tg_http01_lookup(s, cases[i].path, cases[i].now, &ka) !=
		    cases[i].want)
			fail_msg("case %zu (%s at %lld): not %d", i,
			    cases[i].path, (long long)cases[i].now,
			    (int)cases[i].want);
		if (cases[i].keyauth == NULL)
			assert_null(ka);
		else
			assert_string_equal(ka, cases[i].keyauth);
	}
	/* No set yet (nothing published): nothing is known. */
	assert_int_equal(tg_http01_lookup(NULL, PATH, 0, &ka),
	    TG_HTTP01_UNKNOWN);
	assert_null(ka);
	assert_int_equal(tg_http01_lookup(NULL, "/x", 0, &ka),
	    TG_HTTP01_NOT_CHALLENGE);
	tg_http01_set_unref(s);
}

static void
test_token_for_log(void **state)
{
	static const struct {
		const char *path, *want;
	} cases[] = {
		{ PATH, "evaGxfAD..." },
		{ TG_HTTP01_PREFIX "abcdefgh", "abcdefgh" },
		{ TG_HTTP01_PREFIX "abc", "abc" },
		{ TG_HTTP01_PREFIX "a b\"c\n=x..", "a?b?c??x..." },
		{ TG_HTTP01_PREFIX, "-" },
		{ "/other", "-" },
	};
	char out[TG_HTTP01_TOKEN_LOG_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'X', sizeof(out));
		tg_http01_token_for_log(cases[i].path, out);
		assert_string_equal(out, cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_set_add),
		cmocka_unit_test(test_set_full),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_token_for_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
