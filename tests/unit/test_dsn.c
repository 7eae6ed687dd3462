/*
 * Unit tests of smtp/dsn: the RFC 3464 report built from a scripted
 * original message — structure, fields, CRLF only, what is returned
 * (headers / full / cut), refusals, xtext and dates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/dsn.h"

struct src {
	const char *data;
	size_t len, pos;
	int fail;
};

static ssize_t
src_read(void *arg, void *buf, size_t cap, struct tg_err *err)
{
	struct src *s = arg;
	size_t n = s->len - s->pos < cap ? s->len - s->pos : cap;

	if (s->fail)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.0", "read failed");
	if (n > 7)
		n = 7;		/* small pieces: the reader must loop */
	memcpy(buf, s->data + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

static const char original[] =
    "From: Alice <alice@inside.example>\r\n"
    "To: bob@dest.example\r\n"
    "Subject: hello\r\n"
    "Message-ID: <1@inside.example>\r\n"
    "\r\n"
    "Body line one\r\n"
    "SECRET-BODY-TEXT\r\n";

static struct tg_dsn_rcpt rcpts[] = {
	{ "bob@dest.example", "rfc822;bob+2Bx@dest.example", "failed",
	  "5.1.1", "mx.dest.example", "550 5.1.1 no such user", 1700000000 },
	{ "carol@other.example", NULL, "failed", "4.4.7", NULL,
	  "message expired: TLSA mismatch", 0 },
};

static void
params(struct tg_dsn_params *p, struct src *s)
{
	memset(p, 0, sizeof(*p));
	memset(s, 0, sizeof(*s));
	s->data = original;
	s->len = strlen(original);
	p->reporting_mta = "relay.inside.example";
	p->sender = "alice@inside.example";
	p->queue_id = "0123456789ABCDEFGH";
	p->envid = "env+2B1";
	p->arrival = 1700000000;
	p->now = 1700003600;
	p->rcpt = rcpts;
	p->nrcpt = 2;
	p->size = s->len;
	p->read = src_read;
	p->read_arg = s;
}

/* Every line end is CRLF: no bare CR or LF anywhere. */
static void
assert_crlf_only(const char *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (t[i] == '\n')
			assert_true(i > 0 && t[i - 1] == '\r');
		if (t[i] == '\r')
			assert_true(i + 1 < n && t[i + 1] == '\n');
	}
}

static void
test_structure(void **state)
{
	struct tg_dsn_params p;
	struct tg_buf b;
	struct tg_err err;
	struct src s;
	const char *t;

	(void)state;
	params(&p, &s);
	tg_buf_init(&b, TG_DSN_MAX);
	assert_int_equal(tg_dsn_build(&p, &b, &err), 0);
	t = tg_buf_cstr(&b);
	assert_crlf_only(t, b.len);
	assert_non_null(strstr(t, "To: <alice@inside.example>\r\n"));
	assert_non_null(strstr(t, "Auto-Submitted: auto-replied\r\n"));
	assert_non_null(strstr(t, "Content-Type: multipart/report; "
	    "report-type=delivery-status;"));
	assert_non_null(strstr(t, "Date: Tue, 14 Nov 2023 23:13:20 +0000"));
	assert_non_null(strstr(t, "Content-Type: message/delivery-status"));
	assert_non_null(strstr(t,
	    "Reporting-MTA: dns; relay.inside.example\r\n"));
	assert_non_null(strstr(t, "Original-Envelope-Id: env+1\r\n"));
	assert_non_null(strstr(t, "Arrival-Date: Tue, 14 Nov 2023 22:13:20"));
	assert_non_null(strstr(t, "\r\n\r\nFinal-Recipient: rfc822; "
	    "bob@dest.example\r\nOriginal-Recipient: rfc822; "
	    "bob+x@dest.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
	    "Remote-MTA: dns; mx.dest.example\r\nDiagnostic-Code: smtp; "
	    "550 5.1.1 no such user\r\nLast-Attempt-Date: "));
	assert_non_null(strstr(t, "Final-Recipient: rfc822; "
	    "carol@other.example\r\nAction: failed\r\nStatus: 4.4.7\r\n"
	    "Diagnostic-Code: x-tlsgate; message expired"));
	/* RET not FULL: the headers only, as text/rfc822-headers. */
	assert_non_null(strstr(t, "Content-Type: text/rfc822-headers\r\n\r\n"
	    "From: Alice <alice@inside.example>\r\n"));
	assert_non_null(strstr(t, "Message-ID: <1@inside.example>\r\n"));
	assert_null(strstr(t, "SECRET-BODY-TEXT"));
	/* The closing boundary ends the message. */
	assert_non_null(strstr(t, "--0123456789ABCDEFGH.1700003600/"
	    "tlsgate-dsn--\r\n"));
	assert_int_equal(strcmp(t + b.len - 2, "\r\n"), 0);
	tg_buf_free(&b);
}

static void
test_ret_full(void **state)
{
	struct tg_dsn_params p;
	struct tg_buf b;
	struct tg_err err;
	struct src s;

	(void)state;
	params(&p, &s);
	p.ret_full = 1;
	tg_buf_init(&b, TG_DSN_MAX);
	assert_int_equal(tg_dsn_build(&p, &b, &err), 0);
	assert_non_null(strstr(tg_buf_cstr(&b),
	    "Content-Type: message/rfc822\r\n"));
	assert_non_null(strstr(tg_buf_cstr(&b), "SECRET-BODY-TEXT\r\n"));
	tg_buf_free(&b);
	/* Too large to return: headers only. */
	params(&p, &s);
	p.ret_full = 1;
	p.size = TG_DSN_RETURN_MAX + 1;
	tg_buf_init(&b, TG_DSN_MAX);
	assert_int_equal(tg_dsn_build(&p, &b, &err), 0);
	assert_null(strstr(tg_buf_cstr(&b), "SECRET-BODY-TEXT"));
	assert_non_null(strstr(tg_buf_cstr(&b), "text/rfc822-headers"));
	tg_buf_free(&b);
}

/* A header section longer than the cap is cut at a line end. */
static void
test_cut(void **state)
{
	size_t n = 2 * TG_DSN_RETURN_MAX, i;
	char *big = malloc(n + 1), *part;
	struct tg_dsn_params p;
	struct tg_buf b;
	struct tg_err err;
	struct src s;

	(void)state;
	assert_non_null(big);
	for (i = 0; i + 10 <= n; i += 10)
		memcpy(big + i, "X-H: 1234\n", 10);
	for (i = 0; i + 10 <= n; i += 10)
		big[i + 8] = '\r';	/* "X-H: 123\r\n" */
	big[n] = '\0';
	params(&p, &s);
	s.data = big;
	s.len = n;
	p.size = n;
	tg_buf_init(&b, TG_DSN_MAX);
	assert_int_equal(tg_dsn_build(&p, &b, &err), 0);
	assert_crlf_only(tg_buf_cstr(&b), b.len);
	part = strstr(tg_buf_cstr(&b), "text/rfc822-headers\r\n\r\n");
	assert_non_null(part);
	assert_true(strlen(part) < TG_DSN_RETURN_MAX + 200);
	tg_buf_free(&b);
	free(big);
}

static void
test_utf8(void **state)
{
	struct tg_dsn_params p;
	struct tg_buf b;
	struct tg_err err;
	struct src s;

	(void)state;
	params(&p, &s);
	p.utf8 = 1;
	tg_buf_init(&b, TG_DSN_MAX);
	assert_int_equal(tg_dsn_build(&p, &b, &err), 0);
	assert_non_null(strstr(tg_buf_cstr(&b),
	    "message/global-delivery-status"));
	assert_non_null(strstr(tg_buf_cstr(&b), "message/global-headers"));
	assert_non_null(strstr(tg_buf_cstr(&b), "Final-Recipient: utf-8; "));
	tg_buf_free(&b);
}

static void
test_refusals(void **state)
{
	struct tg_dsn_rcpt bad = { "x@y\r\nBcc: z@w", NULL, "failed",
	    "5.0.0", NULL, NULL, 0 };
	struct tg_dsn_params p;
	struct tg_buf b;
	struct tg_err err;
	struct src s;

	(void)state;
	tg_buf_init(&b, TG_DSN_MAX);
	params(&p, &s);
	p.sender = "";		/* never a DSN to <> (RFC 5321 §4.5.5) */
	assert_int_equal(tg_dsn_build(&p, &b, &err), -1);
	assert_int_equal(err.cls, TG_ERR_BUG);
	params(&p, &s);
	p.nrcpt = 0;
	assert_int_equal(tg_dsn_build(&p, &b, &err), -1);
	params(&p, &s);
	p.rcpt = &bad;
	p.nrcpt = 1;
	assert_int_equal(tg_dsn_build(&p, &b, &err), -1);
	assert_int_equal(err.cls, TG_ERR_PERM);
	params(&p, &s);
	s.fail = 1;
	tg_buf_reset(&b);
	assert_int_equal(tg_dsn_build(&p, &b, &err), -1);
	assert_int_equal(err.cls, TG_ERR_TEMP);
	tg_buf_free(&b);
	/* A buffer too small fails instead of cutting the report. */
	params(&p, &s);
	tg_buf_init(&b, 200);
	assert_int_equal(tg_dsn_build(&p, &b, &err), -1);
	assert_int_equal(err.cls, TG_ERR_TEMP);
	tg_buf_free(&b);
}

static void
test_xtext(void **state)
{
	static const struct { const char *in, *out; } ok[] = {
		{ "plain@example.org", "plain@example.org" },
		{ "a+2Bb", "a+b" },
		{ "a+3Db", "a=b" },
		{ "", "" },
	};
	static const char *const bad[] = { "a+2", "a+zz", "a b", "a=b",
	    "a+0D", "a+00", "a+2b" };
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(tg_dsn_xtext_decode(ok[i].in, out,
		    sizeof(out)), 0);
		assert_string_equal(out, ok[i].out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(tg_dsn_xtext_decode(bad[i], out,
		    sizeof(out)), -1);
	assert_int_equal(tg_dsn_xtext_decode("abcdef", out, 4), -1);
}

static void
test_date(void **state)
{
	char d[40];

	(void)state;
	tg_dsn_date(0, d, sizeof(d));
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
	tg_dsn_date(1709164800, d, sizeof(d));	/* leap day */
	assert_string_equal(d, "Thu, 29 Feb 2024 00:00:00 +0000");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_ret_full),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_date),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
