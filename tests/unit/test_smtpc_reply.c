/*
 * Unit tests for smtp/reply, the strict SMTP reply parser shared by the
 * probe and the outbound client: table-driven line cases, the limits
 * (RELIABILITY O-09), EHLO keywords and parameters, enhanced status
 * codes (RFC 2034, RFC 3463) and reading from a libevent buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <event2/buffer.h>

#include "smtp/reply.h"

/* ---- lines ---- */

struct reply_case {
	const char *name;
	const char *lines[4];	/* fed in order; NULL ends */
	int ok;			/* 1: all accepted */
	int done;
	int code;
	const char *text;
	long offset;		/* error offset in the bad line, or -1 */
};

static const struct reply_case reply_cases[] = {
	{ "single", { "220 mx.example ESMTP\r\n" }, 1, 1, 220,
	    "mx.example ESMTP", -1 },
	{ "bare code", { "250\r\n" }, 1, 1, 250, "", -1 },
	{ "multi-line", { "250-mx.example\r\n", "250-PIPELINING\r\n",
	    "250 STARTTLS\r\n" }, 1, 1, 250,
	    "mx.example\nPIPELINING\nSTARTTLS", -1 },
	{ "incomplete", { "250-mx.example\r\n" }, 1, 0, 250, "mx.example",
	    -1 },
	{ "tab and 8-bit text", { "220 h\t\xc3\xa9\r\n" }, 1, 1, 220,
	    "h\t\xc3\xa9", -1 },
	{ "bare LF end", { "250 ok\n" }, 0, 0, 0, NULL, 7 },
	{ "bare CR inside", { "250 o\rk\r\n" }, 0, 0, 0, NULL, 5 },
	{ "NUL", { "250 o\0k\r\n" }, 0, 0, 0, NULL, -1 },
	{ "escape char", { "250 \x1b[31m\r\n" }, 0, 0, 0, NULL, 4 },
	{ "code 1xx", { "150 go\r\n" }, 0, 0, 0, NULL, 0 },
	{ "code 6xx", { "650 go\r\n" }, 0, 0, 0, NULL, 0 },
	{ "code x6x", { "260 go\r\n" }, 0, 0, 0, NULL, 1 },
	{ "letters", { "2a0 go\r\n" }, 0, 0, 0, NULL, 1 },
	{ "short", { "25\r\n" }, 0, 0, 0, NULL, 0 },
	{ "bad separator", { "250_ok\r\n" }, 0, 0, 0, NULL, 3 },
	{ "code changes", { "250-a\r\n", "550 b\r\n" }, 0, 0, 0, NULL, 0 },
	{ "empty line", { "\r\n" }, 0, 0, 0, NULL, 0 },
};

/* The NUL case needs its length given explicitly. */
static size_t
case_len(const char *line)
{
	if (strcmp(line, "250 o") == 0)
		return 9;
	return strlen(line);
}

static void
test_reply_parser(void **state)
{
	struct tg_smtp_reply r;
	struct tg_err err;
	size_t i, j;
	int rc = 0;

	(void)state;
	for (i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		const struct reply_case *c = &reply_cases[i];

		tg_smtp_reply_init(&r);
		for (j = 0; j < 4 && c->lines[j] != NULL; j++) {
			rc = tg_smtp_reply_line(&r, c->lines[j],
			    case_len(c->lines[j]), &err);
			if (rc < 0)
				break;
		}
		if ((rc == 0) != c->ok)
			fail_msg("%s: rc %d (%s)", c->name, rc, err.msg);
		if (c->ok) {
			assert_int_equal(r.done, c->done);
			assert_int_equal(r.code, c->code);
			assert_string_equal(tg_buf_cstr(&r.text), c->text);
		} else if (c->offset >= 0 && err.offset != c->offset) {
			fail_msg("%s: offset %ld, want %ld", c->name,
			    err.offset, c->offset);
		}
		tg_smtp_reply_free(&r);
	}
}

static void
test_reply_limits(void **state)
{
	char line[TG_SMTP_LINE_MAX + 8];
	struct tg_smtp_reply r;
	struct tg_err err;
	int i;

	(void)state;
	/* Exactly TG_SMTP_REPLY_LINES_MAX lines pass, one more fails. */
	tg_smtp_reply_init(&r);
	for (i = 0; i < TG_SMTP_REPLY_LINES_MAX - 1; i++)
		assert_int_equal(tg_smtp_reply_line(&r, "250-x\r\n", 7, &err),
		    0);
	assert_int_equal(tg_smtp_reply_line(&r, "250-x\r\n", 7, &err), 0);
	assert_int_equal(tg_smtp_reply_line(&r, "250 x\r\n", 7, &err), -1);
	assert_non_null(strstr(err.msg, "more than"));
	tg_smtp_reply_free(&r);
	/* A line of TG_SMTP_LINE_MAX bytes passes, one more fails. */
	tg_smtp_reply_init(&r);
	memset(line, 'a', sizeof(line));
	memcpy(line, "250 ", 4);
	memcpy(line + TG_SMTP_LINE_MAX - 2, "\r\n", 2);
	assert_int_equal(tg_smtp_reply_line(&r, line, TG_SMTP_LINE_MAX,
	    &err), 0);
	tg_smtp_reply_free(&r);
	tg_smtp_reply_init(&r);
	memcpy(line + TG_SMTP_LINE_MAX - 2, "a\r\n", 3);
	assert_int_equal(tg_smtp_reply_line(&r, line, TG_SMTP_LINE_MAX + 1,
	    &err), -1);
	/* A line after the last one is a bug of the caller. */
	tg_smtp_reply_free(&r);
	tg_smtp_reply_init(&r);
	assert_int_equal(tg_smtp_reply_line(&r, "250 a\r\n", 7, &err), 0);
	assert_int_equal(tg_smtp_reply_line(&r, "250 a\r\n", 7, &err), -1);
	assert_int_equal(err.cls, TG_ERR_BUG);
	tg_smtp_reply_free(&r);
}

static void
test_reply_keyword(void **state)
{
	static const char *ehlo[] = { "250-starttls.example\r\n",
		"250-PIPELINING\r\n", "250-SIZE 1000\r\n", "250-\r\n",
		"250 starttls\r\n" };
	struct tg_smtp_reply r;
	struct tg_err err;
	size_t i;

	(void)state;
	tg_smtp_reply_init(&r);
	for (i = 0; i < 5; i++)
		assert_int_equal(tg_smtp_reply_line(&r, ehlo[i],
		    strlen(ehlo[i]), &err), 0);
	assert_true(tg_smtp_reply_has_keyword(&r, "STARTTLS"));
	assert_true(tg_smtp_reply_has_keyword(&r, "size"));
	assert_false(tg_smtp_reply_has_keyword(&r, "SIZ"));
	assert_false(tg_smtp_reply_has_keyword(&r, "CHUNKING"));
	tg_smtp_reply_free(&r);
	/* The greeting line is not a keyword. */
	tg_smtp_reply_init(&r);
	assert_int_equal(tg_smtp_reply_line(&r, "250 STARTTLS\r\n", 14, &err),
	    0);
	assert_false(tg_smtp_reply_has_keyword(&r, "STARTTLS"));
	tg_smtp_reply_free(&r);
}

static void
test_reply_ehlo_param(void **state)
{
	static const char *ehlo[] = { "250-mx.example greets you\r\n",
		"250-SIZE 10240000\r\n", "250-8BITMIME\r\n",
		"250-AUTH PLAIN LOGIN\r\n", "250 dsn\r\n" };
	struct tg_smtp_reply r;
	struct tg_err err;
	char out[8];
	size_t i;

	(void)state;
	tg_smtp_reply_init(&r);
	for (i = 0; i < 5; i++)
		assert_int_equal(tg_smtp_reply_line(&r, ehlo[i],
		    strlen(ehlo[i]), &err), 0);
	assert_int_equal(tg_smtp_reply_ehlo_param(&r, "size", out,
	    sizeof(out)), 1);
	assert_string_equal(out, "1024000");	/* cut to the buffer */
	assert_int_equal(tg_smtp_reply_ehlo_param(&r, "8BITMIME", out,
	    sizeof(out)), 1);
	assert_string_equal(out, "");
	assert_int_equal(tg_smtp_reply_ehlo_param(&r, "AUTH", out,
	    sizeof(out)), 1);
	assert_string_equal(out, "PLAIN L");
	assert_int_equal(tg_smtp_reply_ehlo_param(&r, "DSN", out,
	    sizeof(out)), 1);
	assert_int_equal(tg_smtp_reply_ehlo_param(&r, "mx.example", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "");
	tg_smtp_reply_free(&r);
}

struct enh_case {
	const char *line;
	int found;
	const char *status;
};

static const struct enh_case enh_cases[] = {
	{ "250 2.1.0 Ok\r\n", 1, "2.1.0" },
	{ "550 5.1.1\r\n", 1, "5.1.1" },
	{ "451 4.123.456 later\r\n", 1, "4.123.456" },
	{ "250 Ok\r\n", 0, "" },
	{ "250\r\n", 0, "" },
	{ "550 4.1.1 class differs\r\n", 0, "" },
	{ "354 3.0.0 no class 3\r\n", 0, "" },
	{ "550 5.1234.1 too long\r\n", 0, "" },
	{ "550 5.1.1x glued\r\n", 0, "" },
	{ "550 5..1 empty\r\n", 0, "" },
	{ "550 5.1 short\r\n", 0, "" },
};

static void
test_reply_enhanced(void **state)
{
	char out[TG_SMTP_ENHANCED_MAX];
	struct tg_smtp_reply r;
	struct tg_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(enh_cases) / sizeof(enh_cases[0]); i++) {
		const struct enh_case *c = &enh_cases[i];

		tg_smtp_reply_init(&r);
		assert_int_equal(tg_smtp_reply_line(&r, c->line,
		    strlen(c->line), &err), 0);
		if (tg_smtp_reply_enhanced(&r, out) != c->found ||
		    strcmp(out, c->status) != 0)
			fail_msg("%s: got '%s'", c->line, out);
		tg_smtp_reply_free(&r);
	}
}

static void
test_reply_read(void **state)
{
	struct evbuffer *in = evbuffer_new();
	struct tg_smtp_reply r;
	struct tg_err err;
	const char *first;
	char big[TG_SMTP_LINE_MAX + 10];
	size_t n;

	(void)state;
	tg_smtp_reply_init(&r);
	/* Split anywhere, with a following reply left in the buffer. */
	evbuffer_add(in, "250-a\r\n25", 9);
	assert_int_equal(tg_smtp_reply_read(&r, in, &err), 0);
	evbuffer_add(in, "0 b c\r\n354 go\r\n", 15);
	assert_int_equal(tg_smtp_reply_read(&r, in, &err), 1);
	assert_int_equal(r.code, 250);
	first = tg_smtp_reply_first(&r, &n);
	assert_int_equal(n, 1);
	assert_memory_equal(first, "a", 1);
	assert_int_equal(evbuffer_get_length(in), 8);
	tg_smtp_reply_free(&r);
	assert_int_equal(tg_smtp_reply_read(&r, in, &err), 1);
	assert_int_equal(r.code, 354);
	tg_smtp_reply_free(&r);
	/* A line that never ends is refused once it reaches the limit. */
	memset(big, 'x', sizeof(big));
	evbuffer_add(in, "220 ", 4);
	evbuffer_add(in, big, sizeof(big));
	assert_int_equal(tg_smtp_reply_read(&r, in, &err), -1);
	assert_non_null(strstr(err.msg, "longer"));
	tg_smtp_reply_free(&r);
	evbuffer_free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_parser),
		cmocka_unit_test(test_reply_limits),
		cmocka_unit_test(test_reply_keyword),
		cmocka_unit_test(test_reply_ehlo_param),
		cmocka_unit_test(test_reply_enhanced),
		cmocka_unit_test(test_reply_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
