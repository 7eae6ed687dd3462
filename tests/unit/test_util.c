/*
 * Unit tests of the util layer: err, buf, dname, clock, path and text
 * formatting, and log escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/dname.h"
#include "util/err.h"
#include "util/path.h"
#include "util/text.h"

/* A file name that does not fit is an error and an empty string, never
 * a shortened name; text is cut and stays terminated. */
static void
test_path_and_text(void **state)
{
	char p[8], t[8];

	(void)state;
	assert_int_equal(tg_path_fmt(p, sizeof(p), "%s/%s", "ab", "cd"), 0);
	assert_string_equal(p, "ab/cd");
	assert_int_equal(tg_path_fmt(p, sizeof(p), "%s/%s", "abc", "defg"),
	    -1);
	assert_string_equal(p, "");
	assert_int_equal(tg_path_fmt(p, sizeof(p), "%s", "1234567"), 0);
	assert_int_equal(tg_path_fmt(p, sizeof(p), "%s", "12345678"), -1);
	tg_text_fmt(t, sizeof(t), "%s", "a long reason");
	assert_string_equal(t, "a long ");
	tg_text_fmt(t, sizeof(t), "n=%d", 42);
	assert_string_equal(t, "n=42");
}

static void
test_err_set_and_prefix(void **state)
{
	struct tg_err err;

	(void)state;
	tg_err_clear(&err);
	assert_int_equal(err.cls, TG_ERR_NONE);
	assert_int_equal(tg_err_set(&err, TG_ERR_TEMP, "4.7.5", "x=%d", 5), -1);
	assert_int_equal(err.cls, TG_ERR_TEMP);
	assert_string_equal(err.status, "4.7.5");
	assert_string_equal(err.msg, "x=5");
	tg_err_prefix(&err, "mx %s", "a.example");
	assert_string_equal(err.msg, "mx a.example: x=5");
	assert_int_equal(tg_err_set(NULL, TG_ERR_PERM, NULL, "ignored"), -1);
	assert_int_equal(tg_err_set_at(&err, TG_ERR_PERM, 17, "bad"), -1);
	assert_int_equal(err.offset, 17);
	assert_string_equal(tg_err_class_name(TG_ERR_PERM), "permanent");
}

static void
test_err_prefix_truncates(void **state)
{
	struct tg_err err;
	char big[2 * TG_ERR_MSG_MAX];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tg_err_set(&err, TG_ERR_PERM, NULL, "%s", big);
	tg_err_prefix(&err, "%s", big);
	assert_true(strlen(err.msg) < TG_ERR_MSG_MAX);
}

static void
test_buf_limit(void **state)
{
	struct tg_buf b;

	(void)state;
	tg_buf_init(&b, 8);
	assert_string_equal(tg_buf_cstr(&b), "");
	assert_int_equal(tg_buf_puts(&b, "12345"), 0);
	assert_int_equal(tg_buf_puts(&b, "6789"), -1);	/* would be 9 > 8 */
	assert_int_equal(b.len, 5);			/* unchanged */
	assert_int_equal(tg_buf_puts(&b, "678"), 0);
	assert_string_equal(tg_buf_cstr(&b), "12345678");
	assert_int_equal(tg_buf_printf(&b, "%d", 1), -1);
	tg_buf_consume(&b, 3);
	assert_string_equal(tg_buf_cstr(&b), "45678");
	assert_int_equal(tg_buf_printf(&b, "%s", "abc"), 0);
	assert_string_equal(tg_buf_cstr(&b), "45678abc");
	tg_buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	tg_buf_free(&b);
	tg_buf_free(NULL);
}

static void
test_buf_binary_and_take(void **state)
{
	struct tg_buf b;
	char *s;

	(void)state;
	tg_buf_init(&b, 1 << 20);
	assert_int_equal(tg_buf_append(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_int_equal(memcmp(b.data, "a\0b", 4), 0);	/* NUL kept after */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(tg_buf_puts(&b, "0123456789"), 0);
	assert_int_equal(b.len, 10003);
	s = tg_buf_take(&b);
	assert_non_null(s);
	assert_null(b.data);
	free(s);
}

struct dname_case {
	const char *in;
	const char *out;	/* NULL: must fail */
	const char *err;	/* substring of the error */
};

static const struct dname_case dname_cases[] = {
	{ "Example.ORG", "example.org", NULL },
	{ "example.org.", "example.org", NULL },
	{ "mx-1.a.example", "mx-1.a.example", NULL },
	{ "xn--bcher-kva.example", "xn--bcher-kva.example", NULL },
	{ "", NULL, "empty" },
	{ "localhost", NULL, "two labels" },
	{ "a..b", NULL, "empty label" },
	{ "-a.example", NULL, "hyphen" },
	{ "a-.example", NULL, "hyphen" },
	{ "a_b.example", NULL, "character" },
	{ "a b.example", NULL, "character" },
	{ "bücher.example", NULL, "A-label" },
	{ "a;rm -rf.example", NULL, "character" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.x",
	  NULL, "63" },
};

static void
test_dname_table(void **state)
{
	char out[TG_DNAME_MAX + 1];
	struct tg_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dname_cases) / sizeof(dname_cases[0]); i++) {
		const struct dname_case *c = &dname_cases[i];
		int rc = tg_dname_normalize(c->in, out, sizeof(out), &err);
		if (c->out != NULL) {
			assert_int_equal(rc, 0);
			assert_string_equal(out, c->out);
		} else {
			assert_int_equal(rc, -1);
			if (strstr(err.msg, c->err) == NULL)
				fail_msg("case '%s': '%s' lacks '%s'", c->in,
				    err.msg, c->err);
		}
	}
}

static void
test_dname_too_long(void **state)
{
	char name[400], out[TG_DNAME_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i + 2 < sizeof(name); i += 2)
		memcpy(name + i, "a.", 2);
	name[i] = 'a';
	name[i + 1] = '\0';
	assert_int_equal(tg_dname_normalize(name, out, sizeof(out), NULL), -1);
}

static void
test_dname_subdomain(void **state)
{
	(void)state;
	assert_true(tg_dname_is_subdomain("a.b.example", "b.example"));
	assert_true(tg_dname_is_subdomain("b.example", "b.example"));
	assert_false(tg_dname_is_subdomain("ab.example", "b.example"));
	assert_false(tg_dname_is_subdomain("example", "b.example"));
	assert_true(tg_dname_is_valid("a.example"));
	assert_false(tg_dname_is_valid("A.example"));
}

/* A host name may have one label; everything else is as strict. */
static void
test_dname_host(void **state)
{
	char out[TG_DNAME_MAX + 1];
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_dname_normalize("localhost", out, sizeof(out),
	    &err), -1);
	assert_int_equal(tg_dname_host_normalize("LocalHost.", out,
	    sizeof(out), &err), 0);
	assert_string_equal(out, "localhost");
	assert_int_equal(tg_dname_host_normalize("Admin.Example.org", out,
	    sizeof(out), &err), 0);
	assert_string_equal(out, "admin.example.org");
	assert_int_equal(tg_dname_host_normalize("local_host", out,
	    sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "character"));
	assert_int_equal(tg_dname_host_normalize("-x", out, sizeof(out),
	    &err), -1);
	assert_int_equal(tg_dname_host_normalize("", out, sizeof(out), &err),
	    -1);
	assert_int_equal(tg_dname_host_normalize("127.0.0.1:9443", out,
	    sizeof(out), &err), -1);
}

static void
test_clock_override(void **state)
{
	char s[32];

	(void)state;
	tg_clock_set(1000000000);
	assert_int_equal(tg_clock_now(), 1000000000);
	tg_clock_format(tg_clock_now(), s, sizeof(s));
	assert_string_equal(s, "2001-09-09T01:46:40Z");
	tg_clock_set(0);
	assert_true(tg_clock_now() > 1700000000);
	assert_true(tg_clock_mono_ms() > 0);
}

static void
test_log_escape(void **state)
{
	char out[64];
	char sid[TG_SID_LEN + 1], sid2[TG_SID_LEN + 1];

	(void)state;
	tg_log_escape(out, sizeof(out), "a\r\nb\x1b[31m\\", 10);
	assert_string_equal(out, "a\\x0d\\x0ab\\x1b[31m\\x5c");
	tg_log_escape(out, 4, "abcdef", 6);
	assert_string_equal(out, "abc");
	tg_log_new_sid(sid);
	tg_log_new_sid(sid2);
	assert_int_equal(strlen(sid), TG_SID_LEN);
	assert_string_not_equal(sid, sid2);
	assert_int_equal(tg_log_level_parse("warn"), TG_LOG_WARN);
	assert_int_equal(tg_log_level_parse("loud"), -1);
}

/* What the log tap saw. */
static char tapped[512];
static unsigned ntapped;

static void
tap(void *arg, enum tg_log_level level, const char *line)
{
	(void)arg;
	ntapped++;
	snprintf(tapped, sizeof(tapped), "%s %s", tg_log_level_name(level),
	    line);
	tg_log_err(NULL, "event=from-the-tap");	/* not seen again */
}

static void
test_log_tap(void **state)
{
	(void)state;
	tg_log_set_tap(TG_LOG_WARN, tap, NULL);
	tg_log_info("ABCDEFGHJKMN", "event=quiet");
	assert_int_equal(ntapped, 0);
	tg_log_warn("ABCDEFGHJKMN", "event=x result=\n%s", "bad");
	assert_int_equal(ntapped, 1);
	assert_string_equal(tapped, "warn event=x result=\\x0abad");
	tg_log_err(NULL, "event=y");
	assert_int_equal(ntapped, 2);
	assert_string_equal(tapped, "err event=y");
	tg_log_set_tap(TG_LOG_WARN, NULL, NULL);
	tg_log_err(NULL, "event=z");
	assert_int_equal(ntapped, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_set_and_prefix),
		cmocka_unit_test(test_err_prefix_truncates),
		cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_buf_binary_and_take),
		cmocka_unit_test(test_dname_table),
		cmocka_unit_test(test_dname_too_long),
		cmocka_unit_test(test_dname_subdomain),
		cmocka_unit_test(test_dname_host),
		cmocka_unit_test(test_clock_override),
		cmocka_unit_test(test_log_escape),
		cmocka_unit_test(test_log_tap),
		cmocka_unit_test(test_path_and_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
