/*
 * Unit tests of the MTA-STS policy body (RFC 8461 §3.2): a conformance
 * table of valid and broken policies, the generator and its round trip,
 * and MX pattern matching (RFC 8461 §4.1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/stspolicy.h"

#define E TG_STS_MODE_ENFORCE
#define T TG_STS_MODE_TESTING
#define N TG_STS_MODE_NONE

struct pcase {
	const char *what;
	const char *body;
	size_t len;		/* 0: strlen(body) */
	int ok;
	enum tg_sts_mode mode;	/* when ok */
	long max_age;		/* when ok */
	size_t count;		/* when ok */
	const char *mx0;	/* when ok and count > 0 */
	const char *msg;	/* when !ok: part of the error message */
};

#define NUL_BODY "version: STSv1\nmode: enforce\nmx: m.exa\0mple\n" \
	"max_age: 60\n"
#define OK(w, b, m, a, c, x) { w, b, 0, 1, m, a, c, x, NULL }
#define BAD(w, b, s) { w, b, 0, 0, N, 0, 0, NULL, s }

static const struct pcase pcases[] = {
	OK("RFC example, LF",
	    "version: STSv1\nmode: enforce\nmx: mail.example.com\n"
	    "mx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\n",
	    E, 604800, 3, "mail.example.com"),
	OK("CRLF", "version: STSv1\r\nmode: testing\r\nmx: mx.example.com\r\n"
	    "max_age: 86400\r\n", T, 86400, 1, "mx.example.com"),
	OK("mixed LF and CRLF", "version: STSv1\nmode: enforce\r\n"
	    "mx: mx.example.com\nmax_age: 1\r\n", E, 1, 1, "mx.example.com"),
	OK("no final line end", "version: STSv1\nmode: enforce\n"
	    "mx: mx.example.com\nmax_age: 86400", E, 86400, 1,
	    "mx.example.com"),
	OK("trailing WSP", "version: STSv1 \t\nmode: enforce  \r\n"
	    "mx: mx.example.com\t\nmax_age: 86400 \n", E, 86400, 1,
	    "mx.example.com"),
	OK("no WSP after colon", "version:STSv1\nmode:enforce\n"
	    "mx:mx.example.com\nmax_age:86400\n", E, 86400, 1,
	    "mx.example.com"),
	OK("tab after colon", "version:\tSTSv1\nmode:\tenforce\n"
	    "mx:\tmx.example.com\nmax_age:\t86400\n", E, 86400, 1,
	    "mx.example.com"),
	OK("unknown keys ignored", "version: STSv1\nfoo: bar baz\n"
	    "mode: enforce\nx-ext.1_a: =;,\nmx: mx.example.com\n"
	    "max_age: 86400\nunicode: caf\xc3\xa9\n", E, 86400, 1,
	    "mx.example.com"),
	OK("version not first", "mode: enforce\nmx: mx.example.com\n"
	    "max_age: 86400\nversion: STSv1\n", E, 86400, 1,
	    "mx.example.com"),
	OK("duplicate mode: first wins", "version: STSv1\nmode: testing\n"
	    "mode: enforce\nmx: mx.example.com\nmax_age: 86400\n", T, 86400,
	    1, "mx.example.com"),
	OK("duplicate invalid mode ignored", "version: STSv1\nmode: none\n"
	    "mode: bogus\nmax_age: 86400\n", N, 86400, 0, NULL),
	OK("duplicate max_age: first wins", "version: STSv1\nmode: none\n"
	    "max_age: 5\nmax_age: 99999999999\n", N, 5, 0, NULL),
	OK("duplicate version ignored", "version: STSv1\nversion: STSv2\n"
	    "mode: none\nmax_age: 5\n", N, 5, 0, NULL),
	OK("mx repeated, kept once", "version: STSv1\nmode: enforce\n"
	    "mx: a.example.com\nmx: A.example.com\nmax_age: 9\n", E, 9, 1,
	    "a.example.com"),
	OK("max_age 0", "version: STSv1\nmode: enforce\nmx: m.example\n"
	    "max_age: 0\n", E, 0, 1, "m.example"),
	OK("max_age 31557600", "version: STSv1\nmode: enforce\nmx: m.example\n"
	    "max_age: 31557600\n", E, 31557600, 1, "m.example"),
	OK("max_age 10 digits with leading zeros", "version: STSv1\n"
	    "mode: enforce\nmx: m.example\nmax_age: 0000086400\n", E, 86400,
	    1, "m.example"),
	OK("mode none without mx", "version: STSv1\nmode: none\n"
	    "max_age: 86400\n", N, 86400, 0, NULL),
	OK("mode none with mx", "version: STSv1\nmode: none\nmx: m.example\n"
	    "max_age: 86400\n", N, 86400, 1, "m.example"),
	OK("empty lines skipped", "version: STSv1\n\nmode: enforce\r\n\r\n"
	    "mx: m.example\n  \nmax_age: 60\n\n\n", E, 60, 1, "m.example"),
	OK("mx upper case stored lower", "version: STSv1\nmode: enforce\n"
	    "mx: *.MX.Example.COM\nmax_age: 60\n", E, 60, 1,
	    "*.mx.example.com"),
	OK("mx trailing dot dropped", "version: STSv1\nmode: enforce\n"
	    "mx: mail.example.com.\nmax_age: 60\n", E, 60, 1,
	    "mail.example.com"),
	OK("mx single label", "version: STSv1\nmode: enforce\nmx: mailhost\n"
	    "max_age: 60\n", E, 60, 1, "mailhost"),
	OK("Mode (capital) is an unknown field", "version: STSv1\n"
	    "mode: testing\nMode: enforce\nmx: m.example\nmax_age: 60\n", T,
	    60, 1, "m.example"),

	BAD("max_age too large", "version: STSv1\nmode: enforce\n"
	    "max_age: 99999999999\nmx: m.example\n",
	    "line 3: max_age: 99999999999 is larger than 31557600"),
	BAD("max_age 31557601", "version: STSv1\nmode: enforce\n"
	    "mx: m.example\nmax_age: 31557601\n",
	    "line 4: max_age: 31557601 is larger than 31557600"),
	BAD("max_age non-digit", "version: STSv1\nmode: enforce\n"
	    "mx: m.example\nmax_age: 1d\n", "line 4: max_age: '1d' is not"),
	BAD("max_age leading +", "version: STSv1\nmode: enforce\n"
	    "mx: m.example\nmax_age: +86400\n", "line 4: max_age: '+86400'"),
	BAD("max_age negative", "version: STSv1\nmode: enforce\n"
	    "mx: m.example\nmax_age: -1\n", "line 4: max_age"),
	BAD("max_age empty", "version: STSv1\nmode: enforce\n"
	    "mx: m.example\nmax_age:\n", "line 4: max_age: empty"),
	BAD("max_age inner space", "version: STSv1\nmode: enforce\n"
	    "mx: m.example\nmax_age: 86 400\n", "line 4: max_age"),
	BAD("mode Enforce (case-sensitive ABNF)", "version: STSv1\n"
	    "mode: Enforce\nmx: m.example\nmax_age: 60\n",
	    "line 2: mode: 'Enforce' is not enforce, testing or none"),
	BAD("mode unknown", "version: STSv1\nmode: strict\nmx: m.example\n"
	    "max_age: 60\n", "line 2: mode: 'strict'"),
	BAD("only Mode (capital)", "version: STSv1\nMode: enforce\n"
	    "mx: m.example\nmax_age: 60\n", "no mode field"),
	BAD("missing version", "mode: enforce\nmx: m.example\nmax_age: 60\n",
	    "no version field"),
	BAD("version STSv2", "version: STSv2\nmode: enforce\nmx: m.example\n"
	    "max_age: 60\n", "line 1: version: 'STSv2' is not STSv1"),
	BAD("version lower case", "version: stsv1\nmode: enforce\n"
	    "mx: m.example\nmax_age: 60\n", "line 1: version"),
	BAD("missing mode", "version: STSv1\nmx: m.example\nmax_age: 60\n",
	    "no mode field"),
	BAD("missing max_age", "version: STSv1\nmode: none\n",
	    "no max_age field"),
	BAD("enforce without mx", "version: STSv1\nmode: enforce\n"
	    "max_age: 60\n", "mode enforce requires at least one mx"),
	BAD("testing without mx", "version: STSv1\nmode: testing\n"
	    "max_age: 60\n", "mode testing requires at least one mx"),
	BAD("nmx typo: no mx", "version: STSv1\nmode: enforce\n"
	    "nmx: m.example\nmax_age: 60\n", "requires at least one mx"),
	BAD("mx wildcard inside", "version: STSv1\nmode: enforce\n"
	    "mx: mail.*.example.com\nmax_age: 60\n",
	    "line 3: mx: 'mail.*.example.com': '*' is allowed only"),
	BAD("mx partial wildcard", "version: STSv1\nmode: enforce\n"
	    "mx: mx*.example.com\nmax_age: 60\n", "'*' is allowed only"),
	BAD("mx bare *", "version: STSv1\nmode: enforce\nmx: *\n"
	    "max_age: 60\n", "'*' is allowed only"),
	BAD("mx *. alone", "version: STSv1\nmode: enforce\nmx: *.\n"
	    "max_age: 60\n", "line 3: mx"),
	BAD("mx double wildcard", "version: STSv1\nmode: enforce\n"
	    "mx: *.*.example.com\nmax_age: 60\n", "'*' is allowed only"),
	BAD("mx empty", "version: STSv1\nmode: enforce\nmx:\n"
	    "max_age: 60\n", "line 3: mx: empty mx pattern"),
	BAD("mx empty label", "version: STSv1\nmode: enforce\n"
	    "mx: a..example.com\nmax_age: 60\n", "empty label"),
	BAD("mx underscore", "version: STSv1\nmode: enforce\n"
	    "mx: a_b.example.com\nmax_age: 60\n", "other than a letter"),
	BAD("mx hyphen edge", "version: STSv1\nmode: enforce\n"
	    "mx: -a.example.com\nmax_age: 60\n", "hyphen"),
	BAD("mx two patterns on a line", "version: STSv1\nmode: enforce\n"
	    "mx: a.example.com b.example.com\nmax_age: 60\n", "line 3: mx"),
	BAD("mx label of 64", "version: STSv1\nmode: enforce\nmx: "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".example\nmax_age: 60\n", "longer than 63"),
	BAD("empty body", "", "empty policy"),
	BAD("only line ends", "\r\n\n", "no version field"),
	BAD("no colon", "version: STSv1\nmode enforce\nmx: m.example\n"
	    "max_age: 60\n", "line 2: expected 'name: value'"),
	BAD("space before colon", "version: STSv1\nmode : enforce\n"
	    "mx: m.example\nmax_age: 60\n", "line 2: expected"),
	BAD("leading space", "version: STSv1\n mode: enforce\n"
	    "mx: m.example\nmax_age: 60\n", "line 2: expected"),
	BAD("bare CR as line end", "version: STSv1\rmode: enforce\r"
	    "mx: m.example\rmax_age: 60\r", "line 1: control character 0x0d"),
	BAD("control character", "version: STSv1\nmode: enforce\x01\n"
	    "mx: m.example\nmax_age: 60\n", "line 2: control character 0x01"),
	BAD("field name too long", "version: STSv1\nmode: none\n"
	    "a23456789012345678901234567890123: x\nmax_age: 60\n",
	    "line 3: field name longer than 32"),
	BAD("JSON body", "{\"version\": \"STSv1\"}\n", "line 1: expected"),
	BAD("HTML body", "<html><body>mode: enforce</body></html>\n",
	    "line 1: expected"),
	{ "NUL in body", NUL_BODY, sizeof(NUL_BODY) - 1, 0, N, 0, 0, NULL,
	    "line 3: NUL byte" },
};

static void
test_policy_table(void **state)
{
	struct tg_sts_policy p;
	struct tg_err err;
	size_t i, len;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];
		len = c->len ? c->len : strlen(c->body);
		tg_err_clear(&err);
		rc = tg_sts_policy_parse(c->body, len, &p, &err);
		if (c->ok) {
			if (rc != 0)
				fail_msg("%s: %s", c->what, err.msg);
			if (p.mode != c->mode || p.max_age != c->max_age ||
			    p.count != c->count)
				fail_msg("%s: got mode %s max_age %ld count "
				    "%zu", c->what, tg_sts_mode_name(p.mode),
				    p.max_age, p.count);
			if (c->count > 0 && strcmp(p.mx[0], c->mx0) != 0)
				fail_msg("%s: mx[0] '%s'", c->what, p.mx[0]);
			continue;
		}
		if (rc != -1)
			fail_msg("%s: accepted", c->what);
		if (strstr(err.msg, c->msg) == NULL)
			fail_msg("%s: message '%s' lacks '%s'", c->what,
			    err.msg, c->msg);
		if (err.result_type == NULL ||
		    strcmp(err.result_type, "sts-policy-invalid") != 0)
			fail_msg("%s: result type", c->what);
		assert_int_equal(err.cls, TG_ERR_PERM);
	}
	assert_true(sizeof(pcases) / sizeof(pcases[0]) >= 30);
}

/* The error offset points at the start of the offending line. */
static void
test_policy_offsets(void **state)
{
	const char *b = "version: STSv1\r\nmode: bad\r\n";
	struct tg_sts_policy p;
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_sts_policy_parse(b, strlen(b), &p, &err), -1);
	assert_int_equal(err.offset, 16);
	b = "version: STSv1\nmode: none\n";
	assert_int_equal(tg_sts_policy_parse(b, strlen(b), &p, &err), -1);
	assert_int_equal(err.offset, (long)strlen(b));
}

static void
test_policy_limits(void **state)
{
	struct tg_sts_policy p;
	struct tg_err err;
	struct tg_buf b;
	int i;

	(void)state;
	/* 32 distinct patterns fit, 33 do not. */
	tg_buf_init(&b, TG_STS_BODY_MAX + 1);
	assert_int_equal(tg_buf_puts(&b, "version: STSv1\nmode: enforce\n"
	    "max_age: 60\n"), 0);
	for (i = 0; i < TG_STS_MX_MAX; i++)
		assert_int_equal(tg_buf_printf(&b, "mx: m%d.example\n", i), 0);
	assert_int_equal(tg_sts_policy_parse(b.data, b.len, &p, &err), 0);
	assert_int_equal(p.count, TG_STS_MX_MAX);
	assert_string_equal(p.mx[31], "m31.example");
	assert_int_equal(tg_buf_puts(&b, "mx: one-more.example\n"), 0);
	assert_int_equal(tg_sts_policy_parse(b.data, b.len, &p, &err), -1);
	assert_non_null(strstr(err.msg, "more than 32 mx patterns"));

	/* Exactly the body limit is parsed; one byte more is refused
	 * before parsing. */
	tg_buf_reset(&b);
	assert_int_equal(tg_buf_puts(&b, "version: STSv1\nmode: none\n"
	    "max_age: 60\n"), 0);
	while (b.len <= TG_STS_BODY_MAX)
		assert_int_equal(tg_buf_puts(&b, "\n"), 0);
	assert_int_equal(tg_sts_policy_parse(b.data, b.len, &p, &err), -1);
	assert_non_null(strstr(err.msg, "larger than 65536"));
	assert_int_equal(tg_sts_policy_parse(b.data, TG_STS_BODY_MAX, &p,
	    &err), 0);
	tg_buf_free(&b);
}

static void
test_policy_format(void **state)
{
	static const char want[] = "version: STSv1\r\nmode: enforce\r\n"
	    "mx: mail.example.com\r\nmx: *.example.net\r\n"
	    "max_age: 604800\r\n";
	struct tg_sts_policy p, q;
	struct tg_err err;
	struct tg_buf b;
	size_t i;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.mode = TG_STS_MODE_ENFORCE;
	p.max_age = 604800;
	p.count = 2;
	strcpy(p.mx[0], "mail.example.com");
	strcpy(p.mx[1], "*.example.net");
	tg_buf_init(&b, TG_STS_BODY_MAX);
	assert_int_equal(tg_sts_policy_format(&p, &b, &err), 0);
	assert_string_equal(b.data, want);

	/* Every valid case of the table survives parse → format → parse. */
	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];
		if (!c->ok)
			continue;
		assert_int_equal(tg_sts_policy_parse(c->body,
		    strlen(c->body), &p, &err), 0);
		tg_buf_reset(&b);
		assert_int_equal(tg_sts_policy_format(&p, &b, &err), 0);
		assert_non_null(strstr(b.data, "\r\n"));
		if (tg_sts_policy_parse(b.data, b.len, &q, &err) != 0)
			fail_msg("%s: round trip: %s", c->what, err.msg);
		assert_memory_equal(&p, &q, sizeof(p));
	}

	/* The generator refuses what the parser would refuse. */
	memset(&p, 0, sizeof(p));
	p.mode = TG_STS_MODE_TESTING;
	p.max_age = 60;
	assert_int_equal(tg_sts_policy_format(&p, &b, &err), -1);
	p.count = 1;
	strcpy(p.mx[0], "a.*.example");
	assert_int_equal(tg_sts_policy_format(&p, &b, &err), -1);
	strcpy(p.mx[0], "a.example");
	p.max_age = TG_STS_MAX_AGE_MAX + 1;
	assert_int_equal(tg_sts_policy_format(&p, &b, &err), -1);
	p.max_age = 60;
	p.mode = (enum tg_sts_mode)7;
	assert_int_equal(tg_sts_policy_format(&p, &b, &err), -1);
	assert_int_equal(err.cls, TG_ERR_BUG);
	tg_buf_free(&b);
}

struct mcase {
	const char *pattern;
	const char *host;
	int match;
};

static const struct mcase mcases[] = {
	{ "mail.example.com", "mail.example.com", 1 },
	{ "mail.example.com", "MAIL.Example.COM", 1 },
	{ "MAIL.EXAMPLE.COM", "mail.example.com", 1 },
	{ "mail.example.com", "mail.example.com.", 1 },
	{ "mail.example.com.", "mail.example.com", 1 },
	{ "mail.example.com", "mail.example.co", 0 },
	{ "mail.example.com", "xmail.example.com", 0 },
	{ "mail.example.com", "a.mail.example.com", 0 },
	{ "*.example.com", "mail.example.com", 1 },
	{ "*.example.com", "MAIL.EXAMPLE.COM.", 1 },
	{ "*.example.com", "example.com", 0 },
	{ "*.example.com", "a.b.example.com", 0 },
	{ "*.example.com", ".example.com", 0 },
	{ "*.example.com", "mailexample.com", 0 },
	{ "*.example.com", "mail.example.org", 0 },
	{ "*.example.com", "*.example.com", 0 },
	{ "*.example.com", "mail..example.com", 0 },
	/* RFC-CHECKLIST "users complain" 2: one label only. */
	{ "*.mx.microsoft", "tenant.mx.microsoft", 1 },
	{ "*.mx.microsoft", "tenant.h-v1.mx.microsoft", 0 },
	{ "*.mx.microsoft", "mx.microsoft", 0 },
	{ "*.example.com", "example.com.evil.net", 0 },
	{ "mail.example.com", "", 0 },
	{ "mail.example.com", ".", 0 },
	{ "", "mail.example.com", 0 },
};

static void
test_mx_match(void **state)
{
	struct tg_sts_policy p;
	size_t i, idx = 99;

	(void)state;
	for (i = 0; i < sizeof(mcases) / sizeof(mcases[0]); i++) {
		const struct mcase *c = &mcases[i];
		if (tg_sts_mx_match(c->pattern, c->host) != c->match)
			fail_msg("'%s' vs '%s': expected %d", c->pattern,
			    c->host, c->match);
	}
	memset(&p, 0, sizeof(p));
	p.count = 2;
	strcpy(p.mx[0], "mail.example.com");
	strcpy(p.mx[1], "*.example.net");
	assert_int_equal(tg_sts_policy_match(&p, "mx1.example.net", &idx), 1);
	assert_int_equal(idx, 1);
	assert_int_equal(tg_sts_policy_match(&p, "mail.example.com", NULL), 1);
	assert_int_equal(tg_sts_policy_match(&p, "a.b.example.net", NULL), 0);
	assert_int_equal(tg_sts_policy_match(&p, "evil.net", NULL), 0);
}

static void
test_mx_pattern_check(void **state)
{
	char out[TG_DNAME_MAX + 1], big[TG_DNAME_MAX + 8];
	struct tg_err err;
	size_t i;

	(void)state;
	assert_int_equal(tg_sts_mx_pattern_check("*.Example.NET.", out,
	    sizeof(out), &err), 0);
	assert_string_equal(out, "*.example.net");
	assert_int_equal(tg_sts_mx_pattern_check("xn--bcher-kva.example",
	    out, sizeof(out), &err), 0);
	assert_int_equal(tg_sts_mx_pattern_check("b\xc3\xbc" "cher.example",
	    out, sizeof(out), &err), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 60; i < sizeof(big) - 1; i += 61)
		big[i] = '.';
	assert_int_equal(tg_sts_mx_pattern_check(big, out, sizeof(out),
	    &err), -1);
	assert_non_null(strstr(err.msg, "longer than 253"));
	assert_int_equal(tg_sts_mx_pattern_check("a.example", out, 4, &err),
	    -1);
	assert_int_equal(err.cls, TG_ERR_BUG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_table),
		cmocka_unit_test(test_policy_offsets),
		cmocka_unit_test(test_policy_limits),
		cmocka_unit_test(test_policy_format),
		cmocka_unit_test(test_mx_match),
		cmocka_unit_test(test_mx_pattern_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
