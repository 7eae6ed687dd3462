/*
 * Unit tests of policy/txtfield: splitting "name=value; ..." TXT records
 * (RFC 8461 §3.1, RFC 8460 §3), the version test and the choice of the
 * one record that starts with it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "policy/txtfield.h"

/* The fields of text as "name=value|..." ("!" before a bad one). */
static void
fields(const char *text, char *out, size_t outlen)
{
	struct tg_txtfield f;
	size_t pos = 0, n = 0;

	out[0] = '\0';
	while (tg_txtfield_next(text, strlen(text), &pos, &f) == 1)
		n += (size_t)snprintf(out + n, outlen - n, "%s%s%.*s=%.*s",
		    n > 0 ? "|" : "", f.bad ? "!" : "", (int)f.name_len,
		    f.name != NULL ? f.name : "", (int)f.value_len,
		    f.value != NULL ? f.value : "");
}

static void
test_fields(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "v=STSv1; id=20240101", "v=STSv1|id=20240101" },
		{ "v=STSv1;id=1;", "v=STSv1|id=1" },
		{ "v=STSv1 ;  id=1 ; ", "v=STSv1|id=1" },
		{ "v=TLSRPTv1; rua=mailto:a@b.example, https://c.example/r",
		  "v=TLSRPTv1|rua=mailto:a@b.example, https://c.example/r" },
		{ "v=STSv1; junk; id=1", "v=STSv1|!junk=|id=1" },
		{ "v=STSv1; =x", "v=STSv1|!=" },
		{ "", "" },
	};
	char got[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fields(cases[i].text, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("'%s': got '%s', want '%s'", cases[i].text,
			    got, cases[i].want);
	}
}

/* A control character or a byte outside ASCII makes its field bad. */
static void
test_bad_bytes(void **state)
{
	char got[128];

	(void)state;
	fields("v=STSv1; id=a\x01" "b", got, sizeof(got));
	assert_non_null(strstr(got, "!id="));
	fields("v=STSv1; id=caf\xc3\xa9", got, sizeof(got));
	assert_non_null(strstr(got, "!id="));
}

static void
test_has_version(void **state)
{
	(void)state;
	assert_true(tg_txtfield_has_version("v=STSv1; id=1", 13, "v=STSv1"));
	assert_true(tg_txtfield_has_version("v=STSv1", 7, "v=STSv1"));
	assert_true(tg_txtfield_has_version("v=STSv1 ;id=1", 13, "v=STSv1"));
	assert_false(tg_txtfield_has_version("v=STSv10; id=1", 14,
	    "v=STSv1"));
	assert_false(tg_txtfield_has_version("id=1; v=STSv1", 13,
	    "v=STSv1"));
	assert_false(tg_txtfield_has_version("v=stsv1; id=1", 13,
	    "v=STSv1"));
}

/* Exactly one record may start with the version (RFC 8461 §3.1). */
static void
test_select(void **state)
{
	const char *t[3] = { "google-site-verification=x", "v=STSv1; id=1",
	    "v=spf1 -all" };
	size_t l[3], which = 9;
	struct tg_err err;
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		l[i] = strlen(t[i]);
	assert_int_equal(tg_txtfield_select(t, l, 3, "v=STSv1", "RFC 8461",
	    &which, &err), 0);
	assert_int_equal(which, 1);
	t[2] = "v=STSv1; id=2";
	l[2] = strlen(t[2]);
	assert_int_equal(tg_txtfield_select(t, l, 3, "v=STSv1", "RFC 8461",
	    &which, &err), -1);
	assert_non_null(strstr(err.msg, "exactly one"));
	assert_int_equal(tg_txtfield_select(t, l, 1, "v=STSv1", "RFC 8461",
	    &which, &err), -1);
	assert_non_null(strstr(err.msg, "no TXT record"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_bad_bytes),
		cmocka_unit_test(test_has_version),
		cmocka_unit_test(test_select),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
