/*
 * Unit tests for smtp/server: whole SMTP sessions against the server in
 * the same event loop, over socket pairs (the client side is plain
 * non-blocking I/O, or OpenSSL for STARTTLS), writing to a real spool in
 * a temporary directory. Peer addresses are given to tg_smtpd_accept, so
 * the access check sees allowed and refused clients without a network.
 *
 * Covered: the transaction and what lands in the spool (envelope, DSN
 * parameters, Received, content byte for byte after unstuffing), the
 * relay access check (RELIABILITY I-09), input before the greeting and
 * pipelining rules (I-05), every I-01 smuggling variant in one write and
 * byte by byte, limits (I-06, I-07), timeouts and the data rate (I-08),
 * STARTTLS and injection (I-03, I-04, RFC 3207), HTTP on the SMTP port
 * (I-11), spool failures (Q-03: 451/452, nothing left), the group commit
 * and the graceful stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "smtp/server.h"
#include "smtp/spool.h"
#include "tls/cert.h"
#include "tls/tls_server.h"
#include "util/clock.h"

#define ALLOWED		"192.0.2.10"
#define REFUSED		"198.51.100.7"
#define WAIT_MS		5000

/* ---- fixture ------------------------------------------------------------ */

struct client {
	int fd;
	SSL *ssl;
	char in[256 * 1024];
	size_t inlen;
	int eof;
};

static struct {
	char dir[64];
	struct event_base *base;
	struct tg_spool *spool;
	struct tg_smtpd *srv;
	struct tg_smtpd_conf *conf;
	struct tg_tls_server *tls;
	SSL_CTX *cctx;
	struct client c, c2;
	/* what the queued callback saw */
	size_t nqueued;
	char qid[TG_SPOOL_QID_LEN + 1];
	char sender[300], rcpt0[300], orcpt0[600], envid[128], proto[16];
	size_t nrcpt;
	unsigned notify0, flags;
	int ret;
	int stopped;
	/* spool fault injection */
	int fail_fsync, fail_write_enospc;
} F;

static void
on_queued(void *arg, const char *qid, const struct tg_spool_env *env)
{
	(void)arg;
	F.nqueued++;
	snprintf(F.qid, sizeof(F.qid), "%s", qid);
	assert_string_equal(env->qid, qid);
	snprintf(F.sender, sizeof(F.sender), "%s", env->sender);
	snprintf(F.rcpt0, sizeof(F.rcpt0), "%s", env->rcpt[0].addr);
	snprintf(F.orcpt0, sizeof(F.orcpt0), "%s",
	    env->rcpt[0].orcpt != NULL ? env->rcpt[0].orcpt : "");
	snprintf(F.envid, sizeof(F.envid), "%s",
	    env->envid != NULL ? env->envid : "");
	snprintf(F.proto, sizeof(F.proto), "%s", env->proto);
	F.notify0 = env->rcpt[0].notify;
	F.nrcpt = env->nrcpt;
	F.flags = env->flags;
	F.ret = (int)env->ret;
}

static int
fi_fsync(int fd)
{
	if (F.fail_fsync) {
		errno = EIO;
		return -1;
	}
	return fsync(fd);
}

static ssize_t
fi_write(int fd, const void *p, size_t n)
{
	if (F.fail_write_enospc) {
		errno = ENOSPC;
		return -1;
	}
	return write(fd, p, n);
}

static const struct tg_spool_io fi_io = { fi_write, fi_fsync, NULL };

static void
make_tls(void)
{
	const char *names[] = { "relay.example.net" };
	char key[128], crt[128];
	struct tg_err err;

	snprintf(key, sizeof(key), "%s/key.pem", F.dir);
	snprintf(crt, sizeof(crt), "%s/cert.pem", F.dir);
	if (tg_cert_make_self_signed(names, 1, 30, key, crt, &err) != 0 ||
	    tg_tls_server_new(crt, key, &F.tls, &err) != 0)
		fail_msg("TLS: %s", err.msg);
	assert_true(tg_tls_server_same_files(F.tls, crt, key));
	assert_false(tg_tls_server_same_files(F.tls, key, crt));
	F.cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(F.cctx);
	SSL_CTX_set_verify(F.cctx, SSL_VERIFY_NONE, NULL);
}

static int
setup(void **state)
{
	struct tg_spool_opts o;
	struct tg_cidr net;
	struct tg_err err;

	(void)state;
	memset(&F, 0, sizeof(F));
	F.c.fd = F.c2.fd = -1;
	snprintf(F.dir, sizeof(F.dir), "/tmp/tg-smtpd-XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	memset(&o, 0, sizeof(o));
	o.io = &fi_io;
	if (tg_spool_open(F.dir, &o, &F.spool, &err) != 0)
		fail_msg("spool: %s", err.msg);
	F.base = event_base_new();
	assert_int_equal(tg_smtpd_new(F.base, F.spool, on_queued, NULL,
	    &F.srv, &err), 0);
	F.conf = tg_smtpd_conf_new();
	snprintf(F.conf->hostname, sizeof(F.conf->hostname),
	    "relay.example.net");
	assert_int_equal(tg_cidr_parse("192.0.2.0/24", &net, &err), 0);
	assert_int_equal(tg_smtpd_conf_add_net(F.conf, &net, &err), 0);
	make_tls();
	tg_smtpd_conf_set_tls(F.conf, tg_tls_server_ctx(F.tls));
	return 0;
}

static void
client_close(struct client *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	client_close(&F.c);
	client_close(&F.c2);
	tg_smtpd_free(F.srv);
	tg_smtpd_conf_unref(F.conf);
	tg_tls_server_unref(F.tls);
	SSL_CTX_free(F.cctx);
	tg_spool_free(F.spool);
	event_base_free(F.base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", F.dir);
	if (system(cmd) != 0)
		return -1;
	return 0;
}

/* ---- the client --------------------------------------------------------- */

/* Run the server's loop a little: all that is ready, then up to 1 ms. */
static void
pump(void)
{
	struct timeval tv = { 0, 1000 };

	event_base_loop(F.base, EVLOOP_NONBLOCK);
	event_base_loopexit(F.base, &tv);
	event_base_dispatch(F.base);
}

static void
client_read(struct client *c)
{
	ssize_t n;
	int e;

	while (!c->eof && c->inlen < sizeof(c->in)) {
		if (c->ssl != NULL) {
			n = SSL_read(c->ssl, c->in + c->inlen,
			    (int)(sizeof(c->in) - c->inlen));
			if (n <= 0) {
				e = SSL_get_error(c->ssl, (int)n);
				if (e == SSL_ERROR_WANT_READ)
					return;
				c->eof = 1;
				return;
			}
		} else {
			n = read(c->fd, c->in + c->inlen,
			    sizeof(c->in) - c->inlen);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (n <= 0) {
				c->eof = 1;
				return;
			}
		}
		c->inlen += (size_t)n;
	}
}

static void
client_send_on(struct client *c, const void *p, size_t n)
{
	const char *b = p;
	long long end = tg_clock_mono_ms() + WAIT_MS;
	ssize_t k;

	while (n > 0) {
		if (c->ssl != NULL)
			k = SSL_write(c->ssl, b, (int)n);
		else
			k = write(c->fd, b, n);
		if (k > 0) {
			b += k;
			n -= (size_t)k;
			continue;
		}
		if (tg_clock_mono_ms() > end)
			fail_msg("client cannot write");
		pump();
		client_read(c);
	}
}

static void
send_on(struct client *c, const char *s)
{
	client_send_on(c, s, strlen(s));
}

static void
send_str(const char *s)
{
	send_on(&F.c, s);
}

/* One byte at a time, letting the server run after each. */
static void
send_bytewise(const void *p, size_t n)
{
	const char *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		client_send_on(&F.c, b + i, 1);
		event_base_loop(F.base, EVLOOP_NONBLOCK);
	}
}

/* Length of the first complete reply in c->in, 0 if none yet. */
static size_t
reply_len(const struct client *c)
{
	size_t i = 0, eol;

	while (i < c->inlen) {
		const char *nl = memchr(c->in + i, '\n', c->inlen - i);

		if (nl == NULL)
			return 0;
		eol = (size_t)(nl - c->in) + 1;
		if (eol - i < 4 || c->in[i + 3] == ' ')
			return eol;
		i = eol;
	}
	return 0;
}

/* Wait for the next reply on c; it must start with prefix. */
static const char *
expect_on(struct client *c, const char *prefix)
{
	static char text[8192];
	long long end = tg_clock_mono_ms() + WAIT_MS;
	size_t n;

	while ((n = reply_len(c)) == 0) {
		if (c->eof)
			fail_msg("connection closed; expected %s", prefix);
		if (tg_clock_mono_ms() > end)
			fail_msg("no reply; expected %s (have %.*s)", prefix,
			    (int)c->inlen, c->in);
		pump();
		client_read(c);
	}
	n = n < sizeof(text) ? n : sizeof(text) - 1;
	memcpy(text, c->in, n);
	text[n] = '\0';
	memmove(c->in, c->in + n, c->inlen - n);
	c->inlen -= n;
	if (strncmp(text, prefix, strlen(prefix)) != 0)
		fail_msg("expected %s, got %s", prefix, text);
	return text;
}

static const char *
expect(const char *prefix)
{
	return expect_on(&F.c, prefix);
}

/* The server closes the connection, with nothing more said. */
static void
expect_closed(void)
{
	long long end = tg_clock_mono_ms() + WAIT_MS;

	while (!F.c.eof) {
		if (tg_clock_mono_ms() > end)
			fail_msg("connection still open");
		pump();
		client_read(&F.c);
	}
	if (F.c.inlen > 0)
		fail_msg("unexpected reply: %.*s", (int)F.c.inlen, F.c.in);
	/* As a real client would: the server lingers until we close. */
	client_close(&F.c);
}

/* Nothing arrives for ms milliseconds. */
static void
expect_quiet(int ms)
{
	long long end = tg_clock_mono_ms() + ms;

	while (tg_clock_mono_ms() < end) {
		pump();
		client_read(&F.c);
	}
	if (F.c.inlen > 0 || F.c.eof)
		fail_msg("unexpected: %.*s%s", (int)F.c.inlen, F.c.in,
		    F.c.eof ? " (closed)" : "");
}

static void
connect_as_on(struct client *c, const char *peer, const char *early)
{
	struct sockaddr_in sa;
	struct tg_err err;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(40000);
	assert_int_equal(inet_pton(AF_INET, peer, &sa.sin_addr), 1);
	client_close(c);
	c->fd = sv[1];
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	if (early != NULL)
		assert_int_equal(write(c->fd, early, strlen(early)),
		    (ssize_t)strlen(early));
	assert_int_equal(tg_smtpd_accept(F.srv, sv[0], (struct sockaddr *)&sa,
	    sizeof(sa), F.conf, &err), 0);
}

static void
connect_ok(void)
{
	connect_as_on(&F.c, ALLOWED, NULL);
	expect("220 relay.example.net ESMTP");
}

static void
ehlo(void)
{
	send_str("EHLO client.example\r\n");
	expect("250-relay.example.net");
}

/* Read the queued message's content into buf; returns its length. */
static size_t
spool_content(const char *qid, char *buf, size_t cap)
{
	struct tg_spool_msg *m;
	struct tg_err err;
	size_t n = 0;
	ssize_t r;

	if (tg_spool_msg_open(F.spool, qid, &m, &err) != 0)
		fail_msg("open %s: %s", qid, err.msg);
	while ((r = tg_spool_msg_read(m, buf + n, cap - n, &err)) > 0)
		n += (size_t)r;
	assert_true(r == 0);
	tg_spool_msg_close(&m, &err);
	return n;
}

/* The content without our Received header (its first lines). */
static const char *
after_received(const char *content, size_t n)
{
	const char *p = content;

	assert_true(n > 10 && strncmp(p, "Received: from ", 15) == 0);
	for (;;) {
		p = strstr(p, "\r\n");
		assert_non_null(p);
		p += 2;
		if (*p != '\t')
			return p;
	}
}

/* ---- the transaction ---------------------------------------------------- */

static void
test_transaction(void **state)
{
	static const char body[] = "From: a@example.org\r\nSubject: t\r\n\r\n"
	    "..leading dot\r\nline\r\n...\r\n.\r\n";
	static const char want[] = "From: a@example.org\r\nSubject: t\r\n\r\n"
	    ".leading dot\r\nline\r\n..\r\n";
	char content[4096];
	const char *r;
	size_t n;

	(void)state;
	connect_ok();
	send_str("EHLO client.example\r\n");
	r = expect("250-relay.example.net\r\n");
	assert_non_null(strstr(r, "250-PIPELINING\r\n"));
	assert_non_null(strstr(r, "250-SIZE 10240000\r\n"));
	assert_non_null(strstr(r, "8BITMIME\r\n"));
	assert_non_null(strstr(r, "ENHANCEDSTATUSCODES\r\n"));
	assert_non_null(strstr(r, "SMTPUTF8\r\n"));
	assert_non_null(strstr(r, "DSN\r\n"));
	assert_non_null(strstr(r, "250 STARTTLS\r\n"));
	send_str("MAIL FROM:<a@example.org> SIZE=100 BODY=8BITMIME RET=HDRS "
	    "ENVID=E+2B1\r\n");
	expect("250 2.1.0");
	send_str("RCPT TO:<b@example.com> NOTIFY=FAILURE,DELAY "
	    "ORCPT=rfc822;b+40example.com\r\n");
	expect("250 2.1.5");
	send_str("DATA\r\n");
	expect("354 ");
	send_str(body);
	r = expect("250 2.0.0 Ok: queued as ");
	assert_int_equal(F.nqueued, 1);
	assert_int_equal(strncmp(r + 24, F.qid, TG_SPOOL_QID_LEN), 0);
	assert_string_equal(F.sender, "a@example.org");
	assert_string_equal(F.rcpt0, "b@example.com");
	assert_string_equal(F.orcpt0, "rfc822;b+40example.com");
	assert_int_equal(F.notify0, TG_SPOOL_NOTIFY_FAILURE |
	    TG_SPOOL_NOTIFY_DELAY);
	assert_string_equal(F.envid, "E+2B1");
	assert_int_equal(F.ret, TG_SPOOL_RET_HDRS);
	assert_int_equal(F.flags, TG_SPOOL_F_8BITMIME);
	assert_string_equal(F.proto, "ESMTP");
	assert_int_equal(tg_spool_count(F.spool), 1);
	n = spool_content(F.qid, content, sizeof(content) - 1);
	content[n] = '\0';
	/* RFC 5321 §4.4 trace header, then the content, unstuffed. */
	assert_non_null(strstr(content, "Received: from client.example "
	    "([192.0.2.10])\r\n\tby relay.example.net (tlsgate) with ESMTP "
	    "id "));
	assert_non_null(strstr(content, "\tfor <b@example.com>;\r\n"));
	assert_string_equal(after_received(content, n), want);
	/* The session goes on: a second message, two recipients. */
	send_str("MAIL FROM:<>\r\nRCPT TO:<c@example.com>\r\n"
	    "RCPT TO:<d@example.com>\r\nDATA\r\n");
	expect("250 2.1.0");
	expect("250 2.1.5");
	expect("250 2.1.5");
	expect("354 ");
	send_str("x\r\n.\r\nQUIT\r\n");
	expect("250 2.0.0 Ok: queued as ");
	expect("221 2.0.0");
	expect_closed();
	assert_int_equal(F.nqueued, 2);
	assert_string_equal(F.sender, "");
	assert_int_equal(F.nrcpt, 2);
	assert_int_equal(tg_spool_count(F.spool), 2);
}

static void
test_sequence_errors(void **state)
{
	(void)state;
	connect_ok();
	send_str("MAIL FROM:<a@b.example>\r\n");
	expect("503 5.5.1");
	ehlo();
	send_str("RCPT TO:<a@b.example>\r\n");
	expect("503 5.5.1");
	send_str("DATA\r\n");
	expect("503 5.5.1");
	send_str("MAIL FROM:<a@b.example>\r\n");
	expect("250 ");
	send_str("MAIL FROM:<a@b.example>\r\n");
	expect("503 5.5.1 Error: nested");
	send_str("DATA\r\n");
	expect("554 5.5.1 Error: no valid recipients");
	send_str("RCPT TO:<u@x.example@y.example>\r\n");
	expect("553 5.1.3");
	send_str("RCPT TO:<Postmaster>\r\n");
	expect("550 5.1.1");
	send_str("RCPT TO:<u@x.example> FOO=1\r\n");
	expect("555 5.5.4");
	send_str("RSET\r\n");
	expect("250 2.0.0");
	send_str("RCPT TO:<a@b.example>\r\n");
	expect("503 5.5.1");
	send_str("XYZZY\r\n");
	expect("500 5.5.2");
	send_str("VRFY a\r\n");
	expect("252 2.5.2");
	send_str("EXPN a\r\n");
	expect("502 5.5.1");
	send_str("AUTH PLAIN\r\n");
	expect("503 5.5.1");
	send_str("HELP\r\n");
	expect("214 ");
	send_str("QUIT now\r\n");
	expect("501 5.5.4");
	send_str("QUIT\r\n");
	expect("221 ");
	expect_closed();
	assert_int_equal(tg_spool_count(F.spool), 0);
}

/* ---- access (RELIABILITY I-09) ------------------------------------------- */

static void
test_refused_client(void **state)
{
	struct tg_smtpd_stats st;

	(void)state;
	connect_as_on(&F.c, REFUSED, NULL);
	/* RFC 5321 §3.1: 554 instead of the greeting, then only QUIT. */
	expect("554 5.7.1 relay.example.net Error: access denied");
	send_str("EHLO x.example\r\n");
	expect("503 5.5.1");
	send_str("MAIL FROM:<a@b.example>\r\n");
	expect("503 5.5.1");
	send_str("RCPT TO:<u@external.example>\r\n");
	expect("503 5.5.1");
	send_str("DATA\r\n");
	expect("503 5.5.1");
	send_str("QUIT\r\n");
	expect("221 ");
	expect_closed();
	tg_smtpd_get_stats(F.srv, &st);
	assert_int_equal(st.refused, 1);
	assert_int_equal(tg_spool_count(F.spool), 0);
	assert_int_equal(F.nqueued, 0);
}

static void
test_refused_until_errors(void **state)
{
	int i;

	(void)state;
	F.conf->max_errors = 5;
	connect_as_on(&F.c, REFUSED, NULL);
	expect("554 5.7.1");
	for (i = 0; i < 4; i++) {
		send_str("NOOP\r\n");
		expect("503 ");
	}
	send_str("NOOP\r\n");
	expect("503 ");
	expect("421 4.7.0");
	expect_closed();
}

/* An allowed client may relay any well-formed address as it is. */
static void
test_address_forms(void **state)
{
	static const char *const ok[] = {
		"u@external.example", "u%external.example@ours.example",
		"\"u@external.example\"@ours.example",
		"external.example!u@ours.example", "u@[192.0.2.1]",
	};
	size_t i;

	(void)state;
	connect_ok();
	ehlo();
	send_str("MAIL FROM:<a@b.example>\r\n");
	expect("250 ");
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char line[300];

		snprintf(line, sizeof(line), "RCPT TO:<%s>\r\n", ok[i]);
		send_str(line);
		expect("250 2.1.5");
	}
	send_str("RCPT TO:<@ours.example:u@external.example>\r\n");
	expect("250 2.1.5");
	send_str("RCPT TO:<u@ours.example.>\r\n");
	expect("553 5.1.3");
	send_str("DATA\r\n");
	expect("354 ");
	send_str("x\r\n.\r\n");
	expect("250 ");
	assert_int_equal(F.nrcpt, 6);
	/* The source route is dropped (RFC 5321 §4.1.1.3). */
	assert_string_equal(F.rcpt0, "u@external.example");
}

/* ---- an inbound MX's gate: the recipient (I-09) ------------------- */

static void
inbound_conf(void)
{
	struct tg_err err;

	F.conf->inbound = 1;
	assert_int_equal(tg_smtpd_conf_add_domain(F.conf, "Ours.Example.",
	    0, &err), 0);
	assert_int_equal(tg_smtpd_conf_add_domain(F.conf, "later.example",
	    1, &err), 0);
	assert_int_equal(tg_smtpd_conf_add_domain(F.conf, "ours.example", 0,
	    &err), 0);
	assert_int_equal(F.conf->ndomains, 2);
	assert_int_equal(tg_smtpd_conf_add_domain(F.conf, "bad..name", 0,
	    &err), -1);
	assert_non_null(tg_smtpd_conf_domain(F.conf, "OURS.example"));
	assert_null(tg_smtpd_conf_domain(F.conf, "ours.example."));
	assert_null(tg_smtpd_conf_domain(F.conf, "sub.ours.example"));
}

/* Anyone may connect; only recipients in the hosted domains are taken,
 * and nothing that routes mail on elsewhere. */
static void
test_inbound_gate(void **state)
{
	static const struct {
		const char *rcpt, *reply;
	} cases[] = {
		{ "u@ours.example", "250 2.1.5" },
		{ "U@OURS.Example", "250 2.1.5" },
		{ "u@external.example", "554 5.7.1 <u@external.example>: "
		    "Relay access denied" },
		{ "u@sub.ours.example", "554 5.7.1" },
		{ "u@[192.0.2.1]", "554 5.7.1" },
		{ "u@ours.example.", "553 5.1.3" },
		{ "u%external.example@ours.example", "550 5.7.1" },
		{ "external.example!u@ours.example", "550 5.7.1" },
		{ "\"u@external.example\"@ours.example", "550 5.7.1" },
		{ "u@later.example", "451 4.3.5" },
		{ "@ours.example:u@external.example", "554 5.7.1" },
		{ "Postmaster", "250 2.1.5" },
	};
	size_t i;

	(void)state;
	inbound_conf();
	F.conf->max_errors = 100;
	connect_as_on(&F.c, REFUSED, NULL);	/* not in any network */
	expect("220 ");
	ehlo();
	send_str("MAIL FROM:<a@sender.example>\r\n");
	expect("250 ");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char line[300];

		snprintf(line, sizeof(line), "RCPT TO:<%s>\r\n",
		    cases[i].rcpt);
		send_str(line);
		expect(cases[i].reply);
	}
	send_str("DATA\r\n");
	expect("354 ");
	send_str("x\r\n.\r\n");
	expect("250 ");
	assert_int_equal(F.nrcpt, 3);
	assert_string_equal(F.rcpt0, "u@ours.example");
}

/* ---- recipient verification (I-10) -------------------------------- */

/* A scripted verifier: "now-ok"/"now-bad" answer at once, "later-ok"/
 * "later-bad" from a timer, "never" not at all. */
struct fake_vq {
	struct event *ev;
	tg_smtpd_verdict_cb cb;
	void *arg;
	int bad;
};

static struct {
	int asked, cancelled, answered;
	char last[300];
	struct fake_vq *open[8];
} V;

static void
fake_verdict(int bad, struct tg_smtpd_verdict *vd)
{
	memset(vd, 0, sizeof(*vd));
	if (!bad)
		return;
	vd->code = 550;
	snprintf(vd->status, sizeof(vd->status), "5.1.1");
	snprintf(vd->text, sizeof(vd->text), "no such user here");
}

static void
fake_vq_drop(struct fake_vq *q)
{
	size_t i;

	for (i = 0; i < 8; i++)
		if (V.open[i] == q)
			V.open[i] = NULL;
	event_free(q->ev);
	free(q);
}

static void
fake_vq_fire(evutil_socket_t fd, short what, void *arg)
{
	struct fake_vq *q = arg;
	struct tg_smtpd_verdict vd;

	(void)fd;
	(void)what;
	fake_verdict(q->bad, &vd);
	V.answered++;
	q->cb(q->arg, &vd);
	fake_vq_drop(q);
}

static void *
fake_ask(void *ctx, const char *addr, tg_smtpd_verdict_cb cb, void *arg,
    struct tg_smtpd_verdict *now)
{
	struct timeval tv = { 0, 30000 };
	struct fake_vq *q;
	size_t i;

	(void)ctx;
	V.asked++;
	snprintf(V.last, sizeof(V.last), "%s", addr);
	if (strncmp(addr, "now-", 4) == 0) {
		fake_verdict(strncmp(addr, "now-bad", 7) == 0, now);
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	assert_non_null(q);
	q->cb = cb;
	q->arg = arg;
	q->bad = strncmp(addr, "later-bad", 9) == 0;
	q->ev = evtimer_new(F.base, fake_vq_fire, q);
	assert_non_null(q->ev);
	if (strncmp(addr, "never", 5) != 0)
		evtimer_add(q->ev, &tv);
	for (i = 0; i < 8 && V.open[i] != NULL; i++)
		;
	assert_true(i < 8);
	V.open[i] = q;
	return q;
}

static void
fake_cancel(void *ctx, void *handle)
{
	(void)ctx;
	V.cancelled++;
	fake_vq_drop(handle);
}

static void
verify_conf(void)
{
	struct tg_smtpd_verifier v = { fake_ask, fake_cancel, NULL };

	memset(&V, 0, sizeof(V));
	inbound_conf();
	tg_smtpd_set_verifier(F.srv, &v);
}

/* Pipelined recipients: each RCPT is answered once its verification is
 * in, in order, and the DATA behind them waits; postmaster and refused
 * domains are not asked. */
static void
test_inbound_verify(void **state)
{
	(void)state;
	verify_conf();
	connect_as_on(&F.c, REFUSED, NULL);
	expect("220 ");
	ehlo();
	send_str("MAIL FROM:<a@sender.example>\r\n"
	    "RCPT TO:<later-ok@ours.example>\r\n"
	    "RCPT TO:<later-bad@ours.example>\r\n"
	    "RCPT TO:<now-bad@ours.example>\r\n"
	    "RCPT TO:<now-ok@ours.example>\r\n"
	    "RCPT TO:<Postmaster@Ours.Example>\r\n"
	    "RCPT TO:<u@external.example>\r\n"
	    "DATA\r\n");
	expect("250 2.1.0");
	expect("250 2.1.5");
	assert_non_null(strstr(expect("550 5.1.1"), "no such user here"));
	expect("550 5.1.1");
	expect("250 2.1.5");
	expect("250 2.1.5");
	expect("554 5.7.1");
	expect("354 ");
	send_str("x\r\n.\r\n");
	expect("250 ");
	assert_int_equal(F.nrcpt, 3);
	assert_string_equal(F.rcpt0, "later-ok@ours.example");
	assert_int_equal(V.asked, 4);
	assert_int_equal(V.answered, 2);
	assert_int_equal(V.cancelled, 0);
	/* Without a verifier every recipient the gate takes is taken. */
	tg_smtpd_set_verifier(F.srv, NULL);
	send_str("MAIL FROM:<a@sender.example>\r\n");
	expect("250 ");
	send_str("RCPT TO:<now-bad@ours.example>\r\n");
	expect("250 2.1.5");
	assert_int_equal(V.asked, 4);
}

/* A client that leaves, or times out, while its RCPT is being verified:
 * the question is cancelled and no answer reaches a freed session. */
static void
test_inbound_verify_gone(void **state)
{
	(void)state;
	verify_conf();
	connect_as_on(&F.c, REFUSED, NULL);
	expect("220 ");
	ehlo();
	send_str("MAIL FROM:<a@sender.example>\r\n");
	expect("250 ");
	send_str("RCPT TO:<never@ours.example>\r\n");
	expect_quiet(100);
	assert_int_equal(V.asked, 1);
	client_close(&F.c);
	{
		long long end = tg_clock_mono_ms() + WAIT_MS;

		while (V.cancelled == 0 && tg_clock_mono_ms() < end)
			pump();
	}
	assert_int_equal(V.cancelled, 1);
	/* The command timeout covers the wait. */
	F.conf->cmd_timeout_ms = 200;
	connect_as_on(&F.c, REFUSED, NULL);
	expect("220 ");
	ehlo();
	send_str("MAIL FROM:<a@sender.example>\r\n");
	expect("250 ");
	send_str("RCPT TO:<never@ours.example>\r\n");
	expect("421 4.4.2");
	assert_int_equal(V.cancelled, 2);
	assert_int_equal(V.answered, 0);
}

/* An inbound server without a single hosted domain takes nothing, not
 * even <Postmaster>. */
static void
test_inbound_no_domains(void **state)
{
	(void)state;
	F.conf->inbound = 1;
	connect_ok();
	ehlo();
	send_str("MAIL FROM:<a@sender.example>\r\n");
	expect("250 ");
	send_str("RCPT TO:<u@ours.example>\r\n");
	expect("554 5.7.1");
	send_str("RCPT TO:<Postmaster>\r\n");
	expect("554 5.7.1");
	send_str("DATA\r\n");
	expect("554 5.5.1");
}

/* ---- pipelining and greeting (RELIABILITY I-05) ------------------------- */

static void
test_pregreet_peek(void **state)
{
	(void)state;
	connect_as_on(&F.c, ALLOWED, "EHLO early.example\r\n");
	expect("554 5.5.0");
	expect_closed();
}

static void
test_pregreet_delay(void **state)
{
	(void)state;
	F.conf->greet_delay_ms = 300;
	connect_as_on(&F.c, ALLOWED, NULL);
	expect_quiet(50);
	send_str("EHLO early.example\r\n");
	expect("554 5.5.0");
	expect_closed();
	/* A patient client gets the greeting after the delay. */
	connect_as_on(&F.c, ALLOWED, NULL);
	expect("220 ");
}

static void
test_pipelining(void **state)
{
	(void)state;
	/* With EHLO: MAIL, RCPT, DATA in one group is fine (RFC 2920). */
	connect_ok();
	ehlo();
	send_str("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
	    "DATA\r\n");
	expect("250 2.1.0");
	expect("250 2.1.5");
	expect("354 ");
	send_str("x\r\n.\r\nRSET\r\nQUIT\r\n");
	expect("250 2.0.0 Ok: queued");
	expect("250 2.0.0");
	expect("221 ");
	expect_closed();
	/* Content before the 354. */
	connect_ok();
	ehlo();
	send_str("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
	    "DATA\r\nSubject: x\r\n\r\nearly\r\n.\r\n");
	expect("250 2.1.0");
	expect("250 2.1.5");
	expect("554 5.5.0");
	expect_closed();
	/* A command behind EHLO. */
	connect_ok();
	send_str("EHLO a.example\r\nMAIL FROM:<a@b.example>\r\n");
	expect("554 5.5.0");
	expect_closed();
	/* No pipelining at all after HELO. */
	connect_ok();
	send_str("HELO a.example\r\n");
	expect("250 relay.example.net");
	send_str("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
	expect("554 5.5.0");
	expect_closed();
	assert_int_equal(tg_spool_count(F.spool), 1);
}

static void
test_helo_session(void **state)
{
	(void)state;
	connect_ok();
	send_str("HELO a.example\r\n");
	expect("250 relay.example.net");
	/* No ESMTP parameters after HELO (RFC 5321 §4.1.1.11). */
	send_str("MAIL FROM:<a@b.example> SIZE=10\r\n");
	expect("555 5.5.4");
	send_str("MAIL FROM:<a@b.example>\r\n");
	expect("250 ");
	send_str("RCPT TO:<c@d.example>\r\n");
	expect("250 ");
	send_str("DATA\r\n");
	expect("354 ");
	send_str("x\r\n.\r\n");
	expect("250 ");
	assert_string_equal(F.proto, "SMTP");
	send_str("STARTTLS\r\n");
	expect("503 5.5.1");
}

/* ---- smuggling (RELIABILITY I-01) --------------------------------------- */

static const struct {
	const char *seq;
	size_t len;
} smug[] = {
	{ "\n.\n", 3 }, { "\n.\r\n", 4 }, { "\r\n.\n", 4 }, { "\r.\r", 3 },
	{ "\r\n.\r", 4 }, { "\r.\r\n", 4 }, { "\n.\r", 3 },
	{ "\r\n\0.\r\n", 6 },
};

static size_t
smug_message(size_t k, char *buf)
{
	static const char head[] = "From: a@example.org\r\n\r\nhello";
	static const char tail[] = "MAIL FROM:<ceo@example.org>\r\n"
	    "RCPT TO:<victim@example.net>\r\nDATA\r\nFrom: ceo@example.org"
	    "\r\n\r\nsmuggled\r\n\r\n.\r\nQUIT\r\n";
	size_t n = 0;

	memcpy(buf, head, sizeof(head) - 1);
	n += sizeof(head) - 1;
	memcpy(buf + n, smug[k].seq, smug[k].len);
	n += smug[k].len;
	memcpy(buf + n, tail, sizeof(tail) - 1);
	return n + sizeof(tail) - 1;
}

/* One transaction, one reply: 554 5.6.0 after the real end, then the
 * QUIT that followed it; no smuggled command ran, nothing was queued. */
static void
smug_run(size_t k, int bytewise)
{
	char buf[512];
	size_t n = smug_message(k, buf);

	connect_ok();
	ehlo();
	send_str("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n"
	    "DATA\r\n");
	expect("250 ");
	expect("250 ");
	expect("354 ");
	if (bytewise)
		send_bytewise(buf, n);
	else
		client_send_on(&F.c, buf, n);
	expect("554 5.6.0");
	expect("221 ");
	expect_closed();
	assert_int_equal(tg_spool_count(F.spool), 0);
	assert_int_equal(F.nqueued, 0);
}

static void
test_smuggling(void **state)
{
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(smug) / sizeof(smug[0]); k++) {
		smug_run(k, 0);
		smug_run(k, 1);
	}
}

/* ---- limits (RELIABILITY I-06, I-07) ------------------------------------ */

static void
test_line_too_long(void **state)
{
	char line[TG_SMTP_LINE_MAX * 3];

	(void)state;
	connect_ok();
	ehlo();
	memset(line, 'A', sizeof(line));
	memcpy(line, "NOOP ", 5);
	client_send_on(&F.c, line, sizeof(line));
	send_str("\r\nNOOP\r\n");
	expect("500 5.5.2 Error: line too long");
	expect("250 2.0.0");
	/* Exactly at the limit, with its CRLF, is fine. */
	memset(line, 'A', TG_SMTP_LINE_MAX - 2);
	memcpy(line, "NOOP ", 5);
	memcpy(line + TG_SMTP_LINE_MAX - 2, "\r\n", 2);
	client_send_on(&F.c, line, TG_SMTP_LINE_MAX);
	expect("250 2.0.0");
}

static void
test_recipient_limit(void **state)
{
	(void)state;
	F.conf->max_rcpt = 3;
	connect_ok();
	ehlo();
	send_str("MAIL FROM:<a@b.example>\r\n");
	expect("250 ");
	send_str("RCPT TO:<1@d.example>\r\nRCPT TO:<2@d.example>\r\n"
	    "RCPT TO:<3@d.example>\r\nRCPT TO:<4@d.example>\r\nDATA\r\n");
	expect("250 ");
	expect("250 ");
	expect("250 ");
	expect("452 4.5.3");
	expect("354 ");
	send_str("x\r\n.\r\n");
	expect("250 ");
	assert_int_equal(F.nrcpt, 3);
}

static void
test_size_limits(void **state)
{
	char big[3000];

	(void)state;
	F.conf->max_size = 1000;
	connect_ok();
	ehlo();
	/* RFC 1870 §6.1: declared too big. */
	send_str("MAIL FROM:<a@b.example> SIZE=1001\r\n");
	expect("552 5.3.4");
	send_str("MAIL FROM:<a@b.example> SIZE=99999999999999999999\r\n");
	expect("552 5.3.4");
	/* Not declared: read to the end, then 552, nothing kept. */
	send_str("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
	    "DATA\r\n");
	expect("250 ");
	expect("250 ");
	expect("354 ");
	memset(big, 'x', sizeof(big));
	big[1000] = '\r';
	big[1001] = '\n';
	client_send_on(&F.c, big, sizeof(big));
	send_str("\r\n.\r\n");
	expect("552 5.3.4");
	assert_int_equal(tg_spool_count(F.spool), 0);
	/* Exactly the limit passes. */
	send_str("MAIL FROM:<a@b.example> SIZE=1000\r\nRCPT TO:<c@d.example>"
	    "\r\nDATA\r\n");
	expect("250 ");
	expect("250 ");
	expect("354 ");
	client_send_on(&F.c, big, 998);
	send_str("\r\n.\r\n");
	expect("250 2.0.0 Ok");
	assert_int_equal(tg_spool_count(F.spool), 1);
}

static void
test_header_limits(void **state)
{
	(void)state;
	F.conf->hdr.count_max = 3;
	connect_ok();
	ehlo();
	send_str("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
	    "DATA\r\n");
	expect("250 ");
	expect("250 ");
	expect("354 ");
	send_str("A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\nbody\r\n.\r\n");
	expect("552 5.3.4");
	assert_int_equal(tg_spool_count(F.spool), 0);
}

static void
test_error_limit(void **state)
{
	(void)state;
	F.conf->max_errors = 3;
	connect_ok();
	send_str("FOO\r\n");
	expect("500 ");
	send_str("BAR\r\n");
	expect("500 ");
	send_str("BAZ\r\n");
	expect("500 ");
	expect("421 4.7.0");
	expect_closed();
}

static void
test_session_limits(void **state)
{
	(void)state;
	F.conf->max_per_client = 1;
	connect_ok();
	connect_as_on(&F.c2, ALLOWED, NULL);
	expect_on(&F.c2, "421 4.7.0");
	/* Another client is not affected. */
	connect_as_on(&F.c2, "192.0.2.11", NULL);
	expect_on(&F.c2, "220 ");
}

/* ---- timeouts (RELIABILITY I-08) ---------------------------------------- */

static void
test_command_timeout(void **state)
{
	(void)state;
	F.conf->cmd_timeout_ms = 150;
	connect_ok();
	/* A command trickling in does not reset the deadline. */
	send_str("NO");
	pump();
	send_str("O");
	expect("421 4.4.2");
	expect_closed();
}

static void
test_data_rate(void **state)
{
	long long end;

	(void)state;
	F.conf->data_timeout_ms = 300;
	F.conf->min_data_rate = 1000000;	/* far above the trickle */
	connect_ok();
	ehlo();
	send_str("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
	    "DATA\r\n");
	expect("250 ");
	expect("250 ");
	expect("354 ");
	end = tg_clock_mono_ms() + 2000;
	while (!F.c.eof && F.c.inlen == 0 && tg_clock_mono_ms() < end) {
		if (write(F.c.fd, "x", 1) != 1)
			break;
		pump();
		client_read(&F.c);
	}
	expect("421 4.4.2");
	expect_closed();
	assert_int_equal(tg_spool_count(F.spool), 0);
}

/* ---- STARTTLS (RFC 3207; RELIABILITY I-03, I-04) ------------------------ */

static void
tls_handshake(struct client *c, const char *alpn, size_t alpnlen, int ok)
{
	long long end = tg_clock_mono_ms() + WAIT_MS;
	int rc, e;

	c->ssl = SSL_new(F.cctx);
	assert_non_null(c->ssl);
	if (alpn != NULL)
		SSL_set_alpn_protos(c->ssl, (const unsigned char *)alpn,
		    (unsigned)alpnlen);
	SSL_set_fd(c->ssl, c->fd);
	while ((rc = SSL_connect(c->ssl)) != 1) {
		e = SSL_get_error(c->ssl, rc);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			if (ok)
				fail_msg("handshake failed");
			return;
		}
		if (tg_clock_mono_ms() > end)
			fail_msg("handshake timed out");
		pump();
	}
	if (!ok)
		fail_msg("handshake succeeded");
}

static void
test_starttls(void **state)
{
	char content[4096];
	const char *r;
	size_t n;

	(void)state;
	connect_ok();
	ehlo();
	send_str("STARTTLS now\r\n");
	expect("501 5.5.4");
	send_str("MAIL FROM:<a@b.example>\r\n");
	expect("250 ");
	send_str("STARTTLS\r\n");
	expect("503 5.5.1");
	send_str("RSET\r\n");
	expect("250 ");
	/* I-03: plaintext in the same write as STARTTLS is never run. */
	send_str("STARTTLS\r\nRSET\r\nMAIL FROM:<evil@b.example>\r\n");
	expect("220 2.0.0");
	assert_int_equal(F.c.inlen, 0);
	tls_handshake(&F.c, NULL, 0, 1);
	/* Nothing answers the injected RSET and MAIL inside TLS. */
	expect_quiet(50);
	/* RFC 3207 §4.2: the session starts over; EHLO is needed again. */
	send_str("MAIL FROM:<a@b.example>\r\n");
	expect("503 5.5.1 Error: send HELO/EHLO first");
	send_str("EHLO client.example\r\n");
	r = expect("250-relay.example.net");
	assert_null(strstr(r, "STARTTLS"));
	send_str("STARTTLS\r\n");
	expect("503 5.5.1");
	send_str("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
	    "DATA\r\n");
	expect("250 ");
	expect("250 ");
	expect("354 ");
	send_str("over TLS\r\n.\r\n");
	expect("250 2.0.0 Ok: queued");
	assert_string_equal(F.proto, "ESMTPS");
	n = spool_content(F.qid, content, sizeof(content) - 1);
	content[n] = '\0';
	assert_non_null(strstr(content, "with ESMTPS id"));
	assert_non_null(strstr(content, "(using TLSv1."));
	assert_string_equal(after_received(content, n), "over TLS\r\n");
	assert_int_equal(tg_spool_count(F.spool), 1);
}

/* RFC 8689 §2, §4.1: REQUIRETLS offered and taken only under TLS. */
static void
test_requiretls(void **state)
{
	const char *r;

	(void)state;
	/* Not offered: the parameter is unknown, even under TLS. */
	connect_ok();
	send_str("EHLO client.example\r\n");
	assert_null(strstr(expect("250-"), "REQUIRETLS"));
	send_str("MAIL FROM:<a@b.example> REQUIRETLS\r\n");
	expect("555 5.5.4");
	F.conf->requiretls = 1;
	connect_ok();
	send_str("EHLO client.example\r\n");
	r = expect("250-");
	assert_non_null(strstr(r, "STARTTLS"));
	assert_null(strstr(r, "REQUIRETLS"));
	send_str("MAIL FROM:<a@b.example> REQUIRETLS\r\n");
	expect("530 5.7.10");
	send_str("STARTTLS\r\n");
	expect("220 ");
	tls_handshake(&F.c, NULL, 0, 1);
	send_str("EHLO client.example\r\n");
	assert_non_null(strstr(expect("250-"), "250 REQUIRETLS"));
	send_str("MAIL FROM:<a@b.example> REQUIRETLS\r\n"
	    "RCPT TO:<c@d.example>\r\nDATA\r\n");
	expect("250 ");
	expect("250 ");
	expect("354 ");
	send_str("secret\r\n.\r\n");
	expect("250 2.0.0 Ok: queued");
	assert_true(F.flags & TG_SPOOL_F_REQUIRETLS);
	/* The next transaction of the session without it: not tagged. */
	send_str("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
	    "DATA\r\n");
	expect("250 ");
	expect("250 ");
	expect("354 ");
	send_str("plain\r\n.\r\n");
	expect("250 2.0.0 Ok: queued");
	assert_int_equal(F.flags & TG_SPOOL_F_REQUIRETLS, 0);
	assert_int_equal(tg_spool_count(F.spool), 2);
}

static void
test_starttls_alpn(void **state)
{
	static const char http[] = "\x08http/1.1";
	static const char smtp[] = "\x08http/1.1\x04smtp";

	(void)state;
	/* RELIABILITY I-11 (ALPACA): ALPN without "smtp" is refused. */
	connect_ok();
	ehlo();
	send_str("STARTTLS\r\n");
	expect("220 ");
	tls_handshake(&F.c, http, sizeof(http) - 1, 0);
	connect_ok();
	ehlo();
	send_str("STARTTLS\r\n");
	expect("220 ");
	tls_handshake(&F.c, smtp, sizeof(smtp) - 1, 1);
	send_str("NOOP\r\n");
	expect("250 ");
}

static void
test_starttls_unavailable(void **state)
{
	(void)state;
	tg_smtpd_conf_set_tls(F.conf, NULL);
	connect_ok();
	send_str("EHLO client.example\r\n");
	assert_null(strstr(expect("250-"), "STARTTLS"));
	send_str("STARTTLS\r\n");
	expect("454 4.7.0");
}

static void
test_tls_timeout(void **state)
{
	(void)state;
	F.conf->tls_timeout_ms = 150;
	connect_ok();
	ehlo();
	send_str("STARTTLS\r\n");
	expect("220 ");
	/* No ClientHello: the session ends without a plaintext word. */
	expect_closed();
}

/* ---- cross-protocol (RELIABILITY I-11) ---------------------------------- */

static void
test_http(void **state)
{
	(void)state;
	connect_ok();
	send_str("GET / HTTP/1.1\r\n");
	expect("554 5.5.1");
	expect_closed();
	connect_ok();
	ehlo();
	send_str("POST /x HTTP/1.1\r\n");
	expect("554 5.5.1");
	expect_closed();
	connect_ok();
	send_str("BDAT 10 LAST\r\n");
	expect("554 5.5.1");
	expect_closed();
}

/* ---- the spool (RELIABILITY §1.9, Q-03) -------------------------------- */

static void
data_transaction(void)
{
	send_str("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
	    "DATA\r\n");
	expect("250 ");
	expect("250 ");
}

static void
test_spool_failures(void **state)
{
	(void)state;
	connect_ok();
	ehlo();
	/* fsync fails at commit: 451, nothing queued, no callback. */
	data_transaction();
	expect("354 ");
	F.fail_fsync = 1;
	send_str("x\r\n.\r\n");
	expect("451 4.3.0");
	F.fail_fsync = 0;
	assert_int_equal(tg_spool_count(F.spool), 0);
	assert_int_equal(F.nqueued, 0);
	/* The disk is full while the content is written: 452 4.3.1. */
	data_transaction();
	expect("354 ");
	F.fail_write_enospc = 1;
	{
		char big[70000];

		memset(big, 'y', sizeof(big));
		big[500] = '\r';
		big[501] = '\n';
		client_send_on(&F.c, big, sizeof(big));
	}
	send_str("\r\n.\r\n");
	expect("452 4.3.1");
	F.fail_write_enospc = 0;
	assert_int_equal(tg_spool_count(F.spool), 0);
	/* ... and when it fails at DATA already. */
	send_str("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
	expect("250 ");
	expect("250 ");
	F.fail_write_enospc = 1;
	send_str("DATA\r\n");
	expect("452 4.3.1");
	F.fail_write_enospc = 0;
	/* Space back: the next message is queued. */
	send_str("DATA\r\n");
	expect("354 ");
	send_str("x\r\n.\r\n");
	expect("250 2.0.0 Ok: queued");
	assert_int_equal(tg_spool_count(F.spool), 1);
	assert_int_equal(F.nqueued, 1);
}

/* Two clients end their messages in the same turn: one batch, two
 * promises. */
static void
test_group_commit(void **state)
{
	char qid1[64];

	(void)state;
	connect_ok();
	ehlo();
	data_transaction();
	expect("354 ");
	connect_as_on(&F.c2, ALLOWED, NULL);
	expect_on(&F.c2, "220 ");
	send_on(&F.c2, "EHLO b.example\r\n");
	expect_on(&F.c2, "250-");
	send_on(&F.c2, "MAIL FROM:<e@f.example>\r\nRCPT TO:<g@h.example>"
	    "\r\nDATA\r\n");
	expect_on(&F.c2, "250 ");
	expect_on(&F.c2, "250 ");
	expect_on(&F.c2, "354 ");
	assert_int_equal(write(F.c.fd, "one\r\n.\r\n", 8), 8);
	assert_int_equal(write(F.c2.fd, "two\r\n.\r\n", 8), 8);
	snprintf(qid1, sizeof(qid1), "%s", expect("250 2.0.0 Ok: queued as "));
	assert_string_not_equal(qid1 + 24, expect_on(&F.c2,
	    "250 2.0.0 Ok: queued as ") + 24);
	assert_int_equal(tg_spool_count(F.spool), 2);
	assert_int_equal(F.nqueued, 2);
}

/* A client that leaves before its reply: whatever happens, no crash and
 * no half-written file; the spool stays consistent. */
static void
test_client_gone_at_end(void **state)
{
	struct tg_smtpd_stats st;
	long long end;

	(void)state;
	connect_ok();
	ehlo();
	data_transaction();
	expect("354 ");
	assert_int_equal(write(F.c.fd, "x\r\n.\r\n", 6), 6);
	client_close(&F.c);
	end = tg_clock_mono_ms() + 1000;
	do {
		pump();
		tg_smtpd_get_stats(F.srv, &st);
	} while (st.active > 0 && tg_clock_mono_ms() < end);
	assert_int_equal(st.active, 0);
	assert_true(tg_spool_count(F.spool) <= 1);
	assert_int_equal(tg_spool_count(F.spool), F.nqueued);
}

/* ---- graceful stop ------------------------------------------------------ */

static void
on_stopped(void *arg)
{
	(void)arg;
	F.stopped++;
}

static void
test_shutdown(void **state)
{
	long long end;

	(void)state;
	connect_ok();
	ehlo();
	connect_as_on(&F.c2, ALLOWED, NULL);
	expect_on(&F.c2, "220 ");
	send_on(&F.c2, "EHLO b.example\r\n");
	expect_on(&F.c2, "250-");
	data_transaction();
	expect("354 ");
	tg_smtpd_shutdown(F.srv, on_stopped, NULL);
	/* The idle session ends at once; the one in DATA finishes. */
	expect_on(&F.c2, "421 4.3.2");
	client_close(&F.c2);
	send_str("last\r\n.\r\n");
	expect("250 2.0.0 Ok: queued");
	expect("421 4.3.2");
	expect_closed();
	end = tg_clock_mono_ms() + 1000;
	while (F.stopped == 0 && tg_clock_mono_ms() < end)
		pump();
	assert_int_equal(F.stopped, 1);
	assert_int_equal(tg_spool_count(F.spool), 1);
}

static void
test_conf(void **state)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	struct tg_cidr net;
	struct tg_err err;

	(void)state;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.200", &s4.sin_addr);
	assert_true(tg_smtpd_conf_allows(F.conf, (struct sockaddr *)&s4));
	inet_pton(AF_INET, "192.0.3.1", &s4.sin_addr);
	assert_false(tg_smtpd_conf_allows(F.conf, (struct sockaddr *)&s4));
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:192.0.2.5", &s6.sin6_addr);
	assert_true(tg_smtpd_conf_allows(F.conf, (struct sockaddr *)&s6));
	inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
	assert_false(tg_smtpd_conf_allows(F.conf, (struct sockaddr *)&s6));
	assert_int_equal(tg_cidr_parse("2001:db8::/32", &net, &err), 0);
	assert_int_equal(tg_smtpd_conf_add_net(F.conf, &net, &err), 0);
	assert_true(tg_smtpd_conf_allows(F.conf, (struct sockaddr *)&s6));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_transaction),
		T(test_sequence_errors),
		T(test_refused_client),
		T(test_refused_until_errors),
		T(test_address_forms),
		T(test_inbound_gate),
		T(test_inbound_no_domains),
		T(test_inbound_verify),
		T(test_inbound_verify_gone),
		T(test_pregreet_peek),
		T(test_pregreet_delay),
		T(test_pipelining),
		T(test_helo_session),
		T(test_smuggling),
		T(test_line_too_long),
		T(test_recipient_limit),
		T(test_size_limits),
		T(test_header_limits),
		T(test_error_limit),
		T(test_session_limits),
		T(test_command_timeout),
		T(test_data_rate),
		T(test_starttls),
		T(test_requiretls),
		T(test_starttls_alpn),
		T(test_starttls_unavailable),
		T(test_tls_timeout),
		T(test_http),
		T(test_spool_failures),
		T(test_group_commit),
		T(test_client_gone_at_end),
		T(test_shutdown),
		T(test_conf),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
