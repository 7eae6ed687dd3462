/*
 * Unit tests for smtp/smtpcmd, the SMTP server's command parser: verbs
 * (incl. HTTP requests, RELIABILITY I-11), EHLO names, MAIL and RCPT paths
 * (RFC 5321 §4.1.2; the RELIABILITY I-09 address forms), ESMTP parameters
 * (SIZE, BODY, SMTPUTF8, RET, ENVID, NOTIFY, ORCPT) and UTF-8. All tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "smtp/smtpcmd.h"

/* ---- verbs -------------------------------------------------------------- */

static const struct {
	const char *line;
	size_t len;		/* 0: strlen */
	int rc;
	enum tg_smtpcmd_verb verb;
	const char *arg;
} verb_cases[] = {
	{ "EHLO client.example", 0, 0, TG_SMTPCMD_EHLO, "client.example" },
	{ "ehlo client.example", 0, 0, TG_SMTPCMD_EHLO, "client.example" },
	{ "HeLo x", 0, 0, TG_SMTPCMD_HELO, "x" },
	{ "MAIL FROM:<>", 0, 0, TG_SMTPCMD_MAIL, "FROM:<>" },
	{ "RCPT TO:<a@b>", 0, 0, TG_SMTPCMD_RCPT, "TO:<a@b>" },
	{ "DATA", 0, 0, TG_SMTPCMD_DATA, "" },
	{ "QUIT", 0, 0, TG_SMTPCMD_QUIT, "" },
	{ "STARTTLS", 0, 0, TG_SMTPCMD_STARTTLS, "" },
	{ "starttls x", 0, 0, TG_SMTPCMD_STARTTLS, "x" },
	{ "NOOP anything", 0, 0, TG_SMTPCMD_NOOP, "anything" },
	{ "RSET", 0, 0, TG_SMTPCMD_RSET, "" },
	{ "VRFY a", 0, 0, TG_SMTPCMD_VRFY, "a" },
	{ "EXPN a", 0, 0, TG_SMTPCMD_EXPN, "a" },
	{ "HELP", 0, 0, TG_SMTPCMD_HELP, "" },
	{ "AUTH PLAIN", 0, 0, TG_SMTPCMD_AUTH, "PLAIN" },
	{ "BDAT 100 LAST", 0, 0, TG_SMTPCMD_BDAT, "100 LAST" },
	{ "GET / HTTP/1.1", 0, 0, TG_SMTPCMD_HTTP, "/ HTTP/1.1" },
	{ "POST /x HTTP/1.0", 0, 0, TG_SMTPCMD_HTTP, "/x HTTP/1.0" },
	{ "CONNECT a:443 HTTP/1.1", 0, 0, TG_SMTPCMD_HTTP, "a:443 HTTP/1.1" },
	{ "Host: mail.example", 0, 0, TG_SMTPCMD_HTTP, "mail.example" },
	{ "User-Agent: x", 0, 0, TG_SMTPCMD_HTTP, "x" },
	{ "XYZZY", 0, 0, TG_SMTPCMD_UNKNOWN, "" },
	{ "MAILFROM:<a@b>", 0, 0, TG_SMTPCMD_UNKNOWN, "" },
	{ "", 0, 0, TG_SMTPCMD_UNKNOWN, "" },
	{ "EHLO a\rb", 0, 500, 0, NULL },
	{ "EHLO a\nb", 0, 500, 0, NULL },
	{ "EHLO a\tb", 0, 500, 0, NULL },
	{ "EHLO a\x7f", 0, 500, 0, NULL },
	{ "EHLO a\0b", 8, 500, 0, NULL },
	{ "EHLO \xc3\xa9", 0, 0, TG_SMTPCMD_EHLO, "\xc3\xa9" },
};

static void
test_verbs(void **state)
{
	struct tg_smtpcmd c;
	struct tg_err err;
	size_t i, len;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(verb_cases) / sizeof(verb_cases[0]); i++) {
		len = verb_cases[i].len != 0 ? verb_cases[i].len :
		    strlen(verb_cases[i].line);
		print_message("# %zu\n", i);
		rc = tg_smtpcmd_parse(verb_cases[i].line, len, &c, &err);
		assert_int_equal(rc, verb_cases[i].rc);
		if (rc != 0) {
			assert_string_equal(err.status, "5.5.2");
			continue;
		}
		assert_int_equal(c.verb, verb_cases[i].verb);
		assert_int_equal(c.arglen, strlen(verb_cases[i].arg));
		assert_memory_equal(c.arg, verb_cases[i].arg, c.arglen);
	}
	assert_string_equal(tg_smtpcmd_verb_name(TG_SMTPCMD_STARTTLS),
	    "STARTTLS");
}

/* ---- EHLO/HELO ---------------------------------------------------------- */

static void
test_helo(void **state)
{
	char name[TG_SMTPD_HELO_MAX + 1], big[300];
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_smtpcmd_helo("mx.example", 10, name, &err), 0);
	assert_string_equal(name, "mx.example");
	assert_int_equal(tg_smtpcmd_helo("[192.0.2.1]  ", 13, name, &err), 0);
	assert_string_equal(name, "[192.0.2.1]");
	assert_int_equal(tg_smtpcmd_helo("", 0, name, &err), 501);
	assert_int_equal(tg_smtpcmd_helo("   ", 3, name, &err), 501);
	assert_int_equal(tg_smtpcmd_helo("a b", 3, name, &err), 501);
	assert_int_equal(tg_smtpcmd_helo("\xc3\xa9", 2, name, &err), 501);
	memset(big, 'a', sizeof(big));
	assert_int_equal(tg_smtpcmd_helo(big, TG_SMTPD_HELO_MAX, name, &err),
	    0);
	assert_int_equal(tg_smtpcmd_helo(big, TG_SMTPD_HELO_MAX + 1, name,
	    &err), 501);
}

/* ---- MAIL ---------------------------------------------------------------- */

struct mcase {
	const char *arg;
	int esmtp;
	int rc;
	const char *status;	/* on failure */
	const char *addr;	/* on success */
	unsigned flags;
};

static const struct mcase mail_cases[] = {
	{ "FROM:<a@b.example>", 1, 0, NULL, "a@b.example", 0 },
	{ "from:<a@b.example>", 0, 0, NULL, "a@b.example", 0 },
	{ "FROM: <a@b.example>", 1, 0, NULL, "a@b.example", 0 },
	{ "FROM:<a@b.example>  ", 1, 0, NULL, "a@b.example", 0 },
	{ "FROM:<>", 1, 0, NULL, "", TG_SMTPCMD_P_NULL },
	{ "FROM:<@r1.example,@r2.example:a@b.example>", 1, 0, NULL,
	    "a@b.example", TG_SMTPCMD_P_ROUTE },
	{ "FROM:<@r1..example:a@b.example>", 1, 553, "5.1.7", NULL, 0 },
	{ "FROM:a@b.example", 1, 501, "5.5.2", NULL, 0 },
	{ "FROM <a@b.example>", 1, 501, "5.5.2", NULL, 0 },
	{ "TO:<a@b.example>", 1, 501, "5.5.2", NULL, 0 },
	{ "FROM:<a@b.example", 1, 553, "5.1.7", NULL, 0 },
	{ "FROM:<a@b.example>x", 1, 501, "5.5.4", NULL, 0 },
	{ "FROM:<a@b.example> SIZE=1000", 0, 555, "5.5.4", NULL, 0 },
	{ "FROM:<a@b.example> SIZE=", 1, 501, "5.5.4", NULL, 0 },
	{ "FROM:<a@b.example> SIZE=12a", 1, 501, "5.5.4", NULL, 0 },
	{ "FROM:<a@b.example> SIZE=123456789012345678901", 1, 501, "5.5.4",
	    NULL, 0 },
	{ "FROM:<a@b.example> SIZE=1 SIZE=2", 1, 501, "5.5.4", NULL, 0 },
	{ "FROM:<a@b.example> BODY=BINARYMIME", 1, 501, "5.5.4", NULL, 0 },
	{ "FROM:<a@b.example> BODY", 1, 501, "5.5.4", NULL, 0 },
	{ "FROM:<a@b.example> FOO=bar", 1, 555, "5.5.4", NULL, 0 },
	{ "FROM:<a@b.example> AUTH=<>", 1, 555, "5.5.4", NULL, 0 },
	{ "FROM:<a@b.example> REQUIRETLS=yes", 1, 501, "5.5.4", NULL, 0 },
	{ "FROM:<a@b.example> REQUIRETLS REQUIRETLS", 1, 501, "5.5.4", NULL,
	    0 },
	{ "FROM:<a@b.example> REQUIRETLS", 0, 555, "5.5.4", NULL, 0 },
	{ "FROM:<a@b.example> -X", 1, 501, "5.5.4", NULL, 0 },
	{ "FROM:<a@b.example> ENVID=a=b", 1, 501, "5.5.4", NULL, 0 },
	{ "FROM:<a@b.example> ENVID=ab+2", 1, 501, "5.5.4", NULL, 0 },
	{ "FROM:<a@b.example> ENVID=ab+2G", 1, 501, "5.5.4", NULL, 0 },
	{ "FROM:<a@b.example> RET=ALL", 1, 501, "5.5.4", NULL, 0 },
	{ "FROM:<a@b.example> SMTPUTF8=yes", 1, 501, "5.5.4", NULL, 0 },
	{ "FROM:<\xc3\xa9@b.example>", 1, 553, "5.6.7", NULL, 0 },
	{ "FROM:<\xc3\xa9@b.example> SMTPUTF8", 1, 0, NULL,
	    "\xc3\xa9@b.example", TG_SMTPCMD_P_UTF8 },
	{ "FROM:<\xc3@b.example> SMTPUTF8", 1, 553, "5.1.7", NULL, 0 },
	{ "FROM:<a@\xe4\xbe\x8b.example> SMTPUTF8", 1, 0, NULL,
	    "a@\xe4\xbe\x8b.example", TG_SMTPCMD_P_UTF8 },
};

static void
test_mail(void **state)
{
	struct tg_smtpcmd_mail m;
	struct tg_err err;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(mail_cases) / sizeof(mail_cases[0]); i++) {
		const struct mcase *c = &mail_cases[i];

		print_message("# %s\n", c->arg);
		rc = tg_smtpcmd_mail(c->arg, strlen(c->arg), c->esmtp, &m,
		    &err);
		assert_int_equal(rc, c->rc);
		if (rc != 0) {
			assert_string_equal(err.status, c->status);
			continue;
		}
		assert_string_equal(m.path.addr, c->addr);
		assert_int_equal(m.path.flags, c->flags);
	}
}

static void
test_mail_params(void **state)
{
	struct tg_smtpcmd_mail m;
	struct tg_err err;
	char arg[256];
	const char *a;

	(void)state;
	a = "FROM:<a@b.example> SIZE=1000 BODY=8BITMIME RET=HDRS "
	    "ENVID=QQ+2B314 SMTPUTF8";
	assert_int_equal(tg_smtpcmd_mail(a, strlen(a), 1, &m, &err), 0);
	assert_true(m.size_given);
	assert_int_equal(m.size, 1000);
	assert_int_equal(m.body, TG_SMTPCMD_BODY_8BITMIME);
	assert_int_equal(m.ret, TG_SMTPCMD_RET_HDRS);
	assert_string_equal(m.envid, "QQ+2B314");
	assert_true(m.smtputf8);
	assert_false(m.requiretls);
	a = "FROM:<a@b.example> size=1 body=7bit ret=full requiretls";
	assert_int_equal(tg_smtpcmd_mail(a, strlen(a), 1, &m, &err), 0);
	assert_true(m.requiretls);			/* RFC 8689 §2 */
	assert_int_equal(m.body, TG_SMTPCMD_BODY_7BIT);
	assert_int_equal(m.ret, TG_SMTPCMD_RET_FULL);
	/* RFC 1870: 20 digits saturate instead of wrapping (I-07). */
	a = "FROM:<a@b.example> SIZE=99999999999999999999";
	assert_int_equal(tg_smtpcmd_mail(a, strlen(a), 1, &m, &err), 0);
	assert_int_equal(m.size, UINT64_MAX);
	a = "FROM:<a@b.example> SIZE=18446744073709551615";
	assert_int_equal(tg_smtpcmd_mail(a, strlen(a), 1, &m, &err), 0);
	assert_int_equal(m.size, UINT64_MAX);
	/* RFC 3461 §4.4: ENVID of 100 characters, not 101. */
	snprintf(arg, sizeof(arg), "FROM:<a@b.example> ENVID=%0100d", 0);
	assert_int_equal(tg_smtpcmd_mail(arg, strlen(arg), 1, &m, &err), 0);
	snprintf(arg, sizeof(arg), "FROM:<a@b.example> ENVID=%0101d", 0);
	assert_int_equal(tg_smtpcmd_mail(arg, strlen(arg), 1, &m, &err), 501);
}

/* ---- RCPT ---------------------------------------------------------------- */

static const struct mcase rcpt_cases[] = {
	/* RELIABILITY I-09: valid forms pass as they are. */
	{ "TO:<u@external.example>", 1, 0, NULL, "u@external.example", 0 },
	{ "TO:<u%external.example@ours.example>", 1, 0, NULL,
	    "u%external.example@ours.example", 0 },
	{ "TO:<\"u@external.example\"@ours.example>", 1, 0, NULL,
	    "\"u@external.example\"@ours.example", TG_SMTPCMD_P_QUOTED },
	{ "TO:<external.example!u@ours.example>", 1, 0, NULL,
	    "external.example!u@ours.example", 0 },
	{ "TO:<@ours.example:u@external.example>", 1, 0, NULL,
	    "u@external.example", TG_SMTPCMD_P_ROUTE },
	{ "TO:<U@Ours.EXAMPLE>", 1, 0, NULL, "U@Ours.EXAMPLE", 0 },
	{ "TO:<u@[192.0.2.1]>", 1, 0, NULL, "u@[192.0.2.1]",
	    TG_SMTPCMD_P_LITERAL },
	{ "TO:<u@[IPv6:2001:db8::1]>", 1, 0, NULL, "u@[IPv6:2001:db8::1]",
	    TG_SMTPCMD_P_LITERAL },
	{ "TO:<\"a b\"@x.example>", 1, 0, NULL, "\"a b\"@x.example",
	    TG_SMTPCMD_P_QUOTED },
	{ "TO:<\"a\\\"b\"@x.example>", 1, 0, NULL, "\"a\\\"b\"@x.example",
	    TG_SMTPCMD_P_QUOTED },
	{ "TO:<Postmaster>", 1, 0, NULL, "Postmaster",
	    TG_SMTPCMD_P_POSTMASTER },
	{ "TO:<postmaster>", 1, 0, NULL, "postmaster",
	    TG_SMTPCMD_P_POSTMASTER },
	{ "TO:<only@single>", 1, 0, NULL, "only@single", 0 },
	/* ... malformed ones do not. */
	{ "TO:<u@external.example@ours.example>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:<u@ours.example.>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:<u@[300.1.1.1]>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:<u@[example.com]>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:<u@[IPv6:1.2.3.4]>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:<u@-bad.example>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:<u@bad-.example>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:<u@a..b>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:<u@a_b.example>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:<u..v@b.example>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:<.u@b.example>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:<u.@b.example>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:<\"unterminated@b.example>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:<u v@b.example>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:<bob>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:<>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:<@ours.example,u@x.example>", 1, 553, "5.1.3", NULL, 0 },
	{ "TO:u@b.example", 1, 501, "5.5.2", NULL, 0 },
	{ "TO:<u@\xc3\xa9.example>", 1, 553, "5.6.7", NULL, 0 },
	{ "TO:<u@b.example> SIZE=1", 1, 555, "5.5.4", NULL, 0 },
	{ "TO:<u@b.example> NOTIFY=NEVER", 0, 555, "5.5.4", NULL, 0 },
	{ "TO:<u@b.example> NOTIFY=NEVER,DELAY", 1, 501, "5.5.4", NULL, 0 },
	{ "TO:<u@b.example> NOTIFY=SOMETIMES", 1, 501, "5.5.4", NULL, 0 },
	{ "TO:<u@b.example> NOTIFY=", 1, 501, "5.5.4", NULL, 0 },
	{ "TO:<u@b.example> NOTIFY=SUCCESS,", 1, 501, "5.5.4", NULL, 0 },
	{ "TO:<u@b.example> ORCPT=rfc822", 1, 501, "5.5.4", NULL, 0 },
	{ "TO:<u@b.example> ORCPT=;x", 1, 501, "5.5.4", NULL, 0 },
	{ "TO:<u@b.example> ORCPT=rfc822;a b", 1, 555, "5.5.4", NULL, 0 },
	{ "TO:<u@b.example> ORCPT=rfc822;a+4", 1, 501, "5.5.4", NULL, 0 },
	{ "TO:<u@b.example> ORCPT=r;a ORCPT=r;b", 1, 501, "5.5.4", NULL, 0 },
};

static void
test_rcpt(void **state)
{
	struct tg_smtpcmd_rcpt r;
	struct tg_err err;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(rcpt_cases) / sizeof(rcpt_cases[0]); i++) {
		const struct mcase *c = &rcpt_cases[i];

		print_message("# %s\n", c->arg);
		rc = tg_smtpcmd_rcpt(c->arg, strlen(c->arg), c->esmtp, 0, &r,
		    &err);
		assert_int_equal(rc, c->rc);
		if (rc != 0) {
			assert_string_equal(err.status, c->status);
			continue;
		}
		assert_string_equal(r.path.addr, c->addr);
		assert_int_equal(r.path.flags, c->flags);
	}
}

static void
test_rcpt_params(void **state)
{
	struct tg_smtpcmd_rcpt r;
	struct tg_err err;
	char arg[600], local[300];
	const char *a;

	(void)state;
	a = "TO:<u@b.example> NOTIFY=success,FAILURE "
	    "ORCPT=rfc822;u+40b.example";
	assert_int_equal(tg_smtpcmd_rcpt(a, strlen(a), 1, 0, &r, &err), 0);
	assert_int_equal(r.notify, TG_SMTPCMD_NOTIFY_SUCCESS |
	    TG_SMTPCMD_NOTIFY_FAILURE);
	assert_string_equal(r.orcpt, "rfc822;u+40b.example");
	a = "TO:<u@b.example> NOTIFY=NEVER";
	assert_int_equal(tg_smtpcmd_rcpt(a, strlen(a), 1, 0, &r, &err), 0);
	assert_int_equal(r.notify, TG_SMTPCMD_NOTIFY_NEVER);
	/* The at index splits local part and domain, quotes included. */
	a = "TO:<\"x@y\"@ours.example>";
	assert_int_equal(tg_smtpcmd_rcpt(a, strlen(a), 1, 0, &r, &err), 0);
	assert_int_equal(r.path.at, 5);
	assert_string_equal(r.path.addr + r.path.at + 1, "ours.example");
	/* SMTPUTF8 from the MAIL command allows UTF-8 here (RFC 6531). */
	a = "TO:<\xc3\xa9@\xc3\xa9.example> ORCPT=utf-8;\xc3\xa9@x";
	assert_int_equal(tg_smtpcmd_rcpt(a, strlen(a), 1, 1, &r, &err), 0);
	assert_int_equal(r.path.flags, TG_SMTPCMD_P_UTF8);
	a = "TO:<u@b.example> ORCPT=rfc822;\xc3\xa9";
	assert_int_equal(tg_smtpcmd_rcpt(a, strlen(a), 1, 1, &r, &err), 501);
	/* RFC 5321 §4.5.3.1.3: 256 octets of path with its brackets. */
	memset(local, 'l', sizeof(local));
	snprintf(arg, sizeof(arg), "TO:<%.*s@b.example>", 256 - 2 - 10,
	    local);
	assert_int_equal(tg_smtpcmd_rcpt(arg, strlen(arg), 1, 0, &r, &err),
	    0);
	snprintf(arg, sizeof(arg), "TO:<%.*s@b.example>", 256 - 2 - 9,
	    local);
	assert_int_equal(tg_smtpcmd_rcpt(arg, strlen(arg), 1, 0, &r, &err),
	    553);
	/* A 64-octet label is one too many (RFC 1035 §2.3.4). */
	snprintf(arg, sizeof(arg), "TO:<u@%.*s.example>", 63, local);
	assert_int_equal(tg_smtpcmd_rcpt(arg, strlen(arg), 1, 0, &r, &err),
	    0);
	snprintf(arg, sizeof(arg), "TO:<u@%.*s.example>", 64, local);
	assert_int_equal(tg_smtpcmd_rcpt(arg, strlen(arg), 1, 0, &r, &err),
	    553);
	/* ORCPT of 500 characters, not 501 (RFC 3461 §4.2). */
	snprintf(arg, sizeof(arg), "TO:<u@b.example> ORCPT=rfc822;%0493d", 0);
	assert_int_equal(tg_smtpcmd_rcpt(arg, strlen(arg), 1, 0, &r, &err),
	    0);
	snprintf(arg, sizeof(arg), "TO:<u@b.example> ORCPT=rfc822;%0494d", 0);
	assert_int_equal(tg_smtpcmd_rcpt(arg, strlen(arg), 1, 0, &r, &err),
	    501);
}

/* ---- UTF-8 (RFC 3629) --------------------------------------------------- */

static void
test_utf8(void **state)
{
	static const struct {
		const char *s;
		int ok;
	} u[] = {
		{ "plain", 1 }, { "\xc3\xa9", 1 }, { "\xe4\xbe\x8b", 1 },
		{ "\xf0\x9f\x98\x80", 1 }, { "\xc0\xaf", 0 }, { "\xc1\xbf", 0 },
		{ "\xe0\x80\xaf", 0 }, { "\xed\xa0\x80", 0 },
		{ "\xf4\x90\x80\x80", 0 }, { "\xf8\x88\x80\x80\x80", 0 },
		{ "\xe2\x82", 0 }, { "\x80", 0 }, { "\xc3\xa9\xc3", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		assert_int_equal(tg_smtpcmd_utf8_valid(u[i].s, strlen(u[i].s)),
		    u[i].ok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_helo),
		cmocka_unit_test(test_mail),
		cmocka_unit_test(test_mail_params),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_rcpt_params),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
