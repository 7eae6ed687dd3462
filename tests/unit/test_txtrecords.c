/*
 * Unit tests of the _mta-sts (RFC 8461 §3.1) and _smtp._tls (RFC 8460 §3)
 * TXT record parsers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "policy/sts.h"
#include "rpt/tlsrpt.h"

struct sts_case {
	const char *txt;
	const char *id;		/* NULL: invalid */
};

static const struct sts_case sts_cases[] = {
	{ "v=STSv1; id=20160831085700Z;", "20160831085700Z" },
	{ "v=STSv1;id=abc", "abc" },
	{ "v=STSv1; id=abc; future=1", "abc" },		/* unknown ignored */
	{ "v=STSv1;  id = abc ;", "abc" },
	{ "v=STSv1; id=first; id=second", "first" },
	{ "v=STSv1; id=123456789012345678901234567890ab",
	    "123456789012345678901234567890ab" },
	{ "v=STSv1; id=123456789012345678901234567890abc", NULL }, /* 33 */
	{ "v=STSv1; id=a-b", NULL },
	{ "v=STSv1; id=", NULL },
	{ "v=STSv1;", NULL },
	{ "v=STSv2; id=abc", NULL },
	{ "id=abc; v=STSv1", NULL },
	{ "v=STSv10; id=abc", NULL },
	{ "v=STSv1; junk; id=abc", NULL },
	{ "v=STSv1; id=ab\x01", NULL },
};

static void
test_sts_txt_table(void **state)
{
	struct tg_sts_txt t;
	struct tg_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sts_cases) / sizeof(sts_cases[0]); i++) {
		const struct sts_case *c = &sts_cases[i];
		int rc = tg_sts_txt_parse(c->txt, strlen(c->txt), &t, &err);
		if (c->id == NULL) {
			if (rc != -1)
				fail_msg("'%s' should be invalid", c->txt);
		} else {
			if (rc != 0)
				fail_msg("'%s': %s", c->txt, err.msg);
			assert_string_equal(t.id, c->id);
		}
	}
}

static void
test_sts_txt_select(void **state)
{
	const char *one[] = { "spf stuff", "v=STSv1; id=x1", "other" };
	const char *two[] = { "v=STSv1; id=a", "v=STSv1; id=b" };
	const char *none[] = { "v=spf1 -all" };
	size_t l1[] = { 9, 14, 5 }, l2[] = { 13, 13 }, l0[] = { 11 };
	struct tg_sts_txt t;
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_sts_txt_select(one, l1, 3, &t, &err), 0);
	assert_string_equal(t.id, "x1");
	assert_int_equal(tg_sts_txt_select(two, l2, 2, &t, &err), -1);
	assert_non_null(strstr(err.msg, "exactly one"));
	assert_int_equal(tg_sts_txt_select(none, l0, 1, &t, &err), -1);
	assert_int_equal(tg_sts_txt_select(NULL, NULL, 0, &t, &err), -1);
}

struct rpt_case {
	const char *txt;
	size_t n;		/* URIs expected; 0 = invalid */
	const char *last;
};

static const struct rpt_case rpt_cases[] = {
	{ "v=TLSRPTv1; rua=mailto:tlsrpt@example.com", 1,
	  "mailto:tlsrpt@example.com" },
	{ "v=TLSRPTv1;rua=mailto:a@example.com, https://r.example.com/x", 2,
	  "https://r.example.com/x" },
	{ "v=TLSRPTv1; rua=https://r.example.com/x; ext=1;", 1,
	  "https://r.example.com/x" },
	{ "v=TLSRPTv1; rua=http://r.example.com/x", 0, NULL },
	{ "v=TLSRPTv1; rua=tlsrpt@example.com", 0, NULL },
	{ "v=TLSRPTv1; rua=", 0, NULL },
	{ "v=TLSRPTv1;", 0, NULL },
	{ "v=TLSRPTv2; rua=mailto:a@b.c", 0, NULL },
	{ "rua=mailto:a@b.c; v=TLSRPTv1", 0, NULL },
	{ "v=TLSRPTv1; rua=mailto:a@b.c,,mailto:d@e.f", 0, NULL },
};

static void
test_tlsrpt_txt_table(void **state)
{
	struct tg_tlsrpt_txt t;
	struct tg_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rpt_cases) / sizeof(rpt_cases[0]); i++) {
		const struct rpt_case *c = &rpt_cases[i];
		int rc = tg_tlsrpt_txt_parse(c->txt, strlen(c->txt), &t, &err);
		if (c->n == 0) {
			if (rc != -1)
				fail_msg("'%s' should be invalid", c->txt);
			continue;
		}
		if (rc != 0)
			fail_msg("'%s': %s", c->txt, err.msg);
		assert_int_equal(t.rua_count, c->n);
		assert_string_equal(t.rua[c->n - 1], c->last);
	}
}

static void
test_tlsrpt_txt_select(void **state)
{
	const char *two[] = { "v=TLSRPTv1; rua=mailto:a@b.c",
	    "v=TLSRPTv1; rua=mailto:d@e.f" };
	size_t l2[] = { 28, 28 };
	struct tg_tlsrpt_txt t;
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_tlsrpt_txt_select(two, l2, 1, &t, &err), 0);
	assert_string_equal(t.rua[0], "mailto:a@b.c");
	assert_int_equal(tg_tlsrpt_txt_select(two, l2, 2, &t, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sts_txt_table),
		cmocka_unit_test(test_sts_txt_select),
		cmocka_unit_test(test_tlsrpt_txt_table),
		cmocka_unit_test(test_tlsrpt_txt_select),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
