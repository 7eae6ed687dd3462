/*
 * Unit tests for smtp/client: whole connections and transactions against
 * a scripted fake SMTP server on 127.0.0.1 in the same event loop, which
 * records every byte it receives (RFC-CHECKLIST 9-15, 49-50;
 * RELIABILITY §0.3-0.5, O-01, O-07-O-10, I-02, Q-05).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "smtp/client.h"
#include "support/listen.h"
#include "support/pki.h"
#include "tls/tls_client.h"
#include "util/clock.h"

/* ---- the fake server ---- */

#define EHLO_FULL "250-fake.example\r\n250-PIPELINING\r\n" \
	"250-SIZE 1000000\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n" \
	"250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n"
#define EHLO_TLS "250-tls.fake.example\r\n250-PIPELINING\r\n" \
	"250-SIZE 1000000\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n" \
	"250 ENHANCEDSTATUSCODES\r\n"
#define EHLO_BARE "250-fake.example\r\n250 STARTTLS\r\n"

struct fake_conf {
	const char *banner;	/* NULL: a 220 */
	const char *ehlo;	/* NULL: EHLO_FULL */
	const char *tls_ehlo;	/* NULL: EHLO_TLS */
	const char *starttls;	/* NULL: "220 2.0.0 Ready" */
	int starttls_raw;	/* after that reply, no TLS: count bytes */
	const char *data;	/* reply to DATA; NULL: 354 or 554 */
	const char *final;	/* reply to "."; NULL: 250 */
	const char *silent;	/* step at which replies stop */
	int helo_only;		/* EHLO -> 502 */
};

struct fake {
	struct event_base *base;
	struct evconnlistener *lst;
	unsigned port;
	SSL_CTX *ctx;
	struct fake_conf conf;
	struct bufferevent *bev;
	int tls, raw, in_data, mail_ok, rcpt_ok, mute;
	int accepts, handshakes, resumed;
	int n_ehlo, n_tls_ehlo, n_helo, n_starttls, n_mail, n_rcpt;
	int n_data, n_rset, n_quit;
	int mail_in_clear;
	size_t raw_bytes;
	char sni[256];		/* server name of the last handshake */
	size_t discarded;	/* plaintext left over at STARTTLS */
	struct evbuffer *inbuf;	/* received, not yet processed */
	struct evbuffer *all;	/* everything received (inside TLS too) */
	struct evbuffer *clear;	/* everything received in clear */
	struct evbuffer *log;	/* command lines, each + "\n" */
	char *msg[8];		/* DATA as on the wire, with "." */
	size_t msg_len[8];
	int nmsg;
};

static struct fake F;

static void fake_read_cb(struct bufferevent *bev, void *arg);

static void
fake_say(struct fake *f, const char *s)
{
	if (f->bev != NULL && !f->mute)
		bufferevent_write(f->bev, s, strlen(s));
}

/* At the configured step the server falls silent for good. */
static int
fake_silent(struct fake *f, const char *step)
{
	if (f->conf.silent != NULL && strcmp(f->conf.silent, step) == 0)
		f->mute = 1;
	return f->mute;
}

static void
fake_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct fake *f = arg;
	SSL *ssl;

	if (what & BEV_EVENT_CONNECTED) {
		const char *sni;

		ssl = bufferevent_openssl_get_ssl(bev);
		sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
		snprintf(f->sni, sizeof(f->sni), "%s", sni ? sni : "");
		f->handshakes++;
		f->resumed += SSL_session_reused(ssl) ? 1 : 0;
		return;
	}
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) && bev == f->bev) {
		bufferevent_free(f->bev);
		f->bev = NULL;
	}
}

static void
fake_start_tls(struct fake *f)
{
	SSL *ssl = SSL_new(f->ctx);
	struct bufferevent *t;

	/* RFC 3207 §4.2 / CVE-2011-0411: drop plaintext read so far. */
	f->discarded += evbuffer_get_length(f->inbuf);
	evbuffer_drain(f->inbuf, evbuffer_get_length(f->inbuf));
	t = bufferevent_openssl_filter_new(f->base, f->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	assert_non_null(t);
	bufferevent_openssl_set_allow_dirty_shutdown(t, 1);
	f->bev = t;
	f->tls = 1;
	bufferevent_setcb(t, fake_read_cb, NULL, fake_event_cb, f);
	bufferevent_enable(t, EV_READ | EV_WRITE);
}

/* Returns 1 when the connection switched to TLS or raw mode. */
static int
fake_starttls(struct fake *f)
{
	const char *r = f->conf.starttls ? f->conf.starttls :
	    "220 2.0.0 Ready to start TLS\r\n";

	f->n_starttls++;
	if (fake_silent(f, "starttls"))
		return 0;
	fake_say(f, r);
	if (f->conf.starttls_raw) {
		f->raw = 1;
		return 1;
	}
	if (strncmp(r, "220", 3) != 0)
		return 0;
	fake_start_tls(f);
	return 1;
}

static void
fake_ehlo(struct fake *f)
{
	if (f->tls) {
		f->n_tls_ehlo++;
		if (!fake_silent(f, "tls-ehlo"))
			fake_say(f, f->conf.tls_ehlo ? f->conf.tls_ehlo :
			    EHLO_TLS);
		return;
	}
	f->n_ehlo++;
	if (fake_silent(f, "ehlo"))
		return;
	if (f->conf.helo_only)
		fake_say(f, "502 5.5.2 Error: command not recognized\r\n");
	else
		fake_say(f, f->conf.ehlo ? f->conf.ehlo : EHLO_FULL);
}

static void
fake_rcpt(struct fake *f, const char *line)
{
	static char big[1024 * 1024 + 1];

	f->n_rcpt++;
	if (fake_silent(f, "rcpt"))
		return;
	if (!f->mail_ok) {
		fake_say(f, "503 5.5.1 Error: need MAIL command\r\n");
	} else if (strncmp(line, "RCPT TO:<bad", 12) == 0) {
		fake_say(f, "550 5.1.1 <bad>: Recipient address rejected\r\n");
	} else if (strncmp(line, "RCPT TO:<temp", 13) == 0) {
		fake_say(f, "450 4.2.1 Mailbox busy, try later\r\n");
	} else if (strncmp(line, "RCPT TO:<bye", 12) == 0) {
		fake_say(f, "421 4.4.2 fake.example closing\r\n");
	} else if (strncmp(line, "RCPT TO:<hostile", 16) == 0) {
		memset(big, 'a', sizeof(big) - 1);
		memcpy(big, "250 ", 4);
		fake_say(f, big);
	} else {
		f->rcpt_ok++;
		fake_say(f, "250 2.1.5 Ok\r\n");
	}
}

static void
fake_data_cmd(struct fake *f)
{
	const char *r = f->conf.data;

	f->n_data++;
	if (fake_silent(f, "data"))
		return;
	if (r == NULL)
		r = f->rcpt_ok > 0 ? "354 End data with <CR><LF>.<CR><LF>\r\n" :
		    "554 5.5.1 Error: no valid recipients\r\n";
	fake_say(f, r);
	if (strncmp(r, "354", 3) != 0)
		return;
	f->in_data = 1;
	if (fake_silent(f, "body"))
		bufferevent_disable(f->bev, EV_READ);
}

static int
fake_command(struct fake *f, const char *line)
{
	evbuffer_add_printf(f->log, "%s\n", line);
	if (strncmp(line, "EHLO ", 5) == 0) {
		fake_ehlo(f);
	} else if (strncmp(line, "HELO ", 5) == 0) {
		f->n_helo++;
		if (!fake_silent(f, "helo"))
			fake_say(f, "250 fake.example\r\n");
	} else if (strcmp(line, "STARTTLS") == 0 && !f->tls) {
		return fake_starttls(f);
	} else if (strncmp(line, "MAIL FROM:", 10) == 0) {
		f->n_mail++;
		f->rcpt_ok = 0;
		f->mail_in_clear |= !f->tls;
		f->mail_ok = strncmp(line, "MAIL FROM:<refuse", 17) != 0;
		if (fake_silent(f, "mail"))
			return 0;
		fake_say(f, f->mail_ok ? "250 2.1.0 Ok\r\n" :
		    "550 5.7.1 Sender refused\r\n");
	} else if (strncmp(line, "RCPT TO:", 8) == 0) {
		fake_rcpt(f, line);
	} else if (strcmp(line, "DATA") == 0) {
		fake_data_cmd(f);
	} else if (strcmp(line, "RSET") == 0) {
		f->n_rset++;
		f->mail_ok = 0;
		if (!fake_silent(f, "rset"))
			fake_say(f, "250 2.0.0 Ok\r\n");
	} else if (strcmp(line, "QUIT") == 0) {
		f->n_quit++;
		fake_say(f, "221 2.0.0 Bye\r\n");
	} else {
		fake_say(f, "502 5.5.2 Error: command not recognized\r\n");
	}
	return 0;
}

/* The content up to and with CRLF "." CRLF, exactly as sent. */
static int
fake_data(struct fake *f)
{
	struct evbuffer_ptr p;
	size_t n;

	if (evbuffer_get_length(f->inbuf) >= 3 &&
	    memcmp(evbuffer_pullup(f->inbuf, 3), ".\r\n", 3) == 0)
		n = 3;
	else {
		p = evbuffer_search(f->inbuf, "\r\n.\r\n", 5, NULL);
		if (p.pos < 0)
			return 0;
		n = (size_t)p.pos + 5;
	}
	assert_true(f->nmsg < 8);
	f->msg[f->nmsg] = malloc(n);
	assert_non_null(f->msg[f->nmsg]);
	evbuffer_remove(f->inbuf, f->msg[f->nmsg], n);
	f->msg_len[f->nmsg++] = n;
	f->in_data = 0;
	f->mail_ok = 0;
	evbuffer_add_printf(f->log, "<data>\n");
	if (!fake_silent(f, "dot"))
		fake_say(f, f->conf.final ? f->conf.final :
		    "250 2.0.0 Ok: queued as FAKE\r\n");
	return 1;
}

static void
fake_process(struct fake *f)
{
	size_t n;
	char *line;

	for (;;) {
		if (f->in_data) {
			if (!fake_data(f))
				return;
			continue;
		}
		line = evbuffer_readln(f->inbuf, &n, EVBUFFER_EOL_CRLF_STRICT);
		if (line == NULL)
			return;
		if (fake_command(f, line)) {
			free(line);
			return;
		}
		free(line);
	}
}

static void
fake_read_cb(struct bufferevent *bev, void *arg)
{
	struct fake *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);
	char *buf;

	if (n == 0)
		return;
	buf = malloc(n);
	assert_non_null(buf);
	evbuffer_remove(in, buf, n);
	if (f->raw) {
		f->raw_bytes += n;
		free(buf);
		return;
	}
	evbuffer_add(f->all, buf, n);
	if (!f->tls)
		evbuffer_add(f->clear, buf, n);
	evbuffer_add(f->inbuf, buf, n);
	free(buf);
	fake_process(f);
}

static void
fake_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct fake *f = arg;

	(void)l;
	(void)sa;
	(void)salen;
	if (f->bev != NULL)
		bufferevent_free(f->bev);
	f->accepts++;
	f->tls = f->raw = f->in_data = f->mail_ok = f->rcpt_ok = 0;
	f->mute = 0;
	evbuffer_drain(f->inbuf, evbuffer_get_length(f->inbuf));
	f->bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(f->bev, fake_read_cb, NULL, fake_event_cb, f);
	bufferevent_enable(f->bev, EV_READ | EV_WRITE);
	if (!fake_silent(f, "banner"))
		fake_say(f, f->conf.banner ? f->conf.banner :
		    "220 fake.example ESMTP ready\r\n");
}

static void
fake_start(struct fake *f, struct event_base *base, SSL_CTX *ctx,
    const struct fake_conf *conf)
{
	memset(f, 0, sizeof(*f));
	f->base = base;
	f->ctx = ctx;
	if (conf != NULL)
		f->conf = *conf;
	f->inbuf = evbuffer_new();
	f->all = evbuffer_new();
	f->clear = evbuffer_new();
	f->log = evbuffer_new();
	f->lst = tg_test_listen(base, fake_accept, f, &f->port);
}

static void
fake_stop(struct fake *f)
{
	int i;

	if (f->lst == NULL)
		return;
	if (f->bev != NULL)
		bufferevent_free(f->bev);
	evconnlistener_free(f->lst);
	evbuffer_free(f->inbuf);
	evbuffer_free(f->all);
	evbuffer_free(f->clear);
	evbuffer_free(f->log);
	for (i = 0; i < f->nmsg; i++)
		free(f->msg[i]);
	memset(f, 0, sizeof(*f));
}

/* The command log as a C string (borrowed from f->log). */
static const char *
fake_log(struct fake *f)
{
	evbuffer_add(f->log, "", 1);
	return (const char *)evbuffer_pullup(f->log, -1);
}

/* RELIABILITY I-02: every byte received used CRLF only. */
static void
assert_crlf_only(struct evbuffer *b)
{
	size_t i, n = evbuffer_get_length(b);
	const unsigned char *p = evbuffer_pullup(b, -1);

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n'))
			fail_msg("bare CR at byte %zu", i);
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			fail_msg("bare LF at byte %zu", i);
	}
}

/* ---- the world ---- */

struct world {
	struct event_base *base;
	EVP_PKEY *key, *other_key, *ca_key, *ta_key;
	X509 *leaf, *other, *ca, *ta_leaf, *ta_odd;
	SSL_CTX *server, *client;
	SSL_CTX *srv_ta;	/* ta_leaf (mx.example.net) + CA */
	SSL_CTX *srv_ta_odd;	/* ta_odd (other.example) + CA */
	SSL_CTX *srv_noroot;	/* ta_leaf alone */
	struct tg_tlsa_rr rr[2];	/* 3 1 1 of the leaf, of another key */
	struct tg_tlsa_rr ta[4];	/* 2 1 1, 2 0 1, 2 0 0, 2 1 0 of CA */
	struct tg_tlsa_rr ee[4];	/* 3 0 1, 3 1 2 of leaf; 3 1 2 other;
					 * 1 1 1 of ta_leaf */
};

static struct world w;

/* A private CA and two leaves it issued, for DANE-TA(2). */
static int
world_setup_ta(void)
{
	const char *mx[] = { "mx.example.net", NULL };
	const char *odd[] = { "other.example", NULL };
	static const uint8_t ta_rr[4][3] = { { 2, 1, 1 }, { 2, 0, 1 },
		{ 2, 0, 0 }, { 2, 1, 0 } };
	struct tg_err err;
	int i, bad = 0;

	w.ca_key = tg_test_key();
	w.ta_key = tg_test_key();
	w.ca = tg_test_cert(w.ca_key, "Test CA", NULL, -1, 30, 1, NULL, NULL);
	w.ta_leaf = tg_test_cert(w.ta_key, NULL, mx, -1, 30, 0, w.ca,
	    w.ca_key);
	w.ta_odd = tg_test_cert(w.ta_key, NULL, odd, -1, 30, 0, w.ca,
	    w.ca_key);
	w.srv_ta = tg_test_server_ctx(w.ta_leaf, w.ta_key, w.ca);
	w.srv_ta_odd = tg_test_server_ctx(w.ta_odd, w.ta_key, w.ca);
	w.srv_noroot = tg_test_server_ctx(w.ta_leaf, w.ta_key, NULL);
	for (i = 0; i < 4; i++)
		bad |= tg_tlsa_from_cert(w.ca, ta_rr[i][0], ta_rr[i][1],
		    ta_rr[i][2], &w.ta[i], &err);
	bad |= tg_tlsa_from_cert(w.leaf, 3, 0, 1, &w.ee[0], &err);
	bad |= tg_tlsa_from_cert(w.leaf, 3, 1, 2, &w.ee[1], &err);
	bad |= tg_tlsa_from_cert(w.other, 3, 1, 2, &w.ee[2], &err);
	bad |= tg_tlsa_from_cert(w.ta_leaf, 1, 1, 1, &w.ee[3], &err);
	return bad ? -1 : 0;
}

static int
world_setup(void **state)
{
	/* O-01 shape: the served leaf is expired and names nothing we
	 * ask for; DANE-EE authenticates it all the same. */
	const char *names[] = { "unrelated.example", NULL };
	struct tg_err err;

	(void)state;
	alarm(120);		/* a hung loop fails instead of hanging */
	w.key = tg_test_key();
	w.other_key = tg_test_key();
	w.leaf = tg_test_cert(w.key, NULL, names, -30, -1, 0, NULL, NULL);
	w.other = tg_test_cert(w.other_key, NULL, names, -1, 30, 0, NULL,
	    NULL);
	w.server = tg_test_server_ctx(w.leaf, w.key, NULL);
	w.client = tg_tls_client_ctx_new(NULL, &err);
	if (w.client == NULL ||
	    tg_tlsa_from_cert(w.leaf, 3, 1, 1, &w.rr[0], &err) < 0 ||
	    tg_tlsa_from_cert(w.other, 3, 1, 1, &w.rr[1], &err) < 0)
		return -1;
	return world_setup_ta();
}

static int
world_teardown(void **state)
{
	(void)state;
	SSL_CTX_free(w.server);
	SSL_CTX_free(w.client);
	SSL_CTX_free(w.srv_ta);
	SSL_CTX_free(w.srv_ta_odd);
	SSL_CTX_free(w.srv_noroot);
	X509_free(w.leaf);
	X509_free(w.other);
	X509_free(w.ca);
	X509_free(w.ta_leaf);
	X509_free(w.ta_odd);
	EVP_PKEY_free(w.key);
	EVP_PKEY_free(w.other_key);
	EVP_PKEY_free(w.ca_key);
	EVP_PKEY_free(w.ta_key);
	return 0;
}

static int
base_setup(void **state)
{
	(void)state;
	w.base = event_base_new();
	return w.base == NULL ? -1 : 0;
}

/* Stop the fake server, then run the loop until nothing is left: every
 * client closed has freed itself by then (a leak shows under ASan). */
static int
base_teardown(void **state)
{
	(void)state;
	fake_stop(&F);
	event_base_dispatch(w.base);
	event_base_free(w.base);
	w.base = NULL;
	return 0;
}

/* ---- content sources ---- */

struct src {
	const char *p;
	size_t len, off;
	size_t step;		/* bytes per read at most, 0: any */
	size_t fail_after;	/* fail once off reaches it, 0: never */
	int endless;		/* 'x' lines for ever */
};

static ssize_t
src_read(void *arg, void *buf, size_t cap, struct tg_err *err)
{
	struct src *s = arg;
	size_t n, i;

	if (s->fail_after > 0 && s->off >= s->fail_after) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "disk on fire");
		return -1;
	}
	n = s->step > 0 && s->step < cap ? s->step : cap;
	if (s->endless) {
		for (i = 0; i < n; i++)
			((char *)buf)[i] = i % 64 == 63 ? '\n' : 'x';
		return (ssize_t)n;
	}
	if (n > s->len - s->off)
		n = s->len - s->off;
	if (s->fail_after > 0 && n > s->fail_after - s->off)
		n = s->fail_after - s->off;
	memcpy(buf, s->p + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

/* ---- driving a client ---- */

#define MAXR 4

struct txn_copy {
	struct tg_smtpc_txn_result tr;
	struct tg_smtpc_rcpt_result rr[MAXR];
	struct tg_smtpc_conn conn;
};

struct drv {
	struct tg_smtpc *c;
	int ready;
	struct tg_smtpc_conn conn;	/* at the ready callback */
	struct tg_smtpc_conn end;	/* when the driver closed */
	const struct tg_smtpc_txn *txn[3];
	int ntxn, sent, done;
	struct txn_copy res[3];
	int send_rc;			/* last tg_smtpc_send */
	struct tg_err send_err;
	int keep;			/* do not close at the end */
	int try_send;			/* send even after a failure */
};

static int pending;

static void on_done(struct tg_smtpc *c, const struct tg_smtpc_txn_result *res,
    void *arg);

static void
drv_finish(struct drv *d)
{
	d->end = *tg_smtpc_result(d->c);
	if (!d->keep) {
		tg_smtpc_close(d->c);
		d->c = NULL;
	}
	if (--pending <= 0)
		event_base_loopbreak(w.base);
}

static void
drv_send(struct drv *d)
{
	d->send_rc = tg_smtpc_send(d->c, d->txn[d->sent], on_done, d,
	    &d->send_err);
	if (d->send_rc == 0)
		d->sent++;
	else
		drv_finish(d);
}

static void
on_ready(struct tg_smtpc *c, const struct tg_smtpc_conn *res, void *arg)
{
	struct drv *d = arg;

	assert_ptr_equal(c, d->c);
	d->ready++;
	d->conn = *res;
	if ((res->status == TG_SMTPC_OK || d->try_send) && d->ntxn > 0)
		drv_send(d);
	else
		drv_finish(d);
}

static void
on_done(struct tg_smtpc *c, const struct tg_smtpc_txn_result *res, void *arg)
{
	struct drv *d = arg;
	struct txn_copy *t = &d->res[d->done++];
	size_t i;

	(void)c;
	t->tr = *res;
	for (i = 0; i < res->nrcpt && i < MAXR; i++)
		t->rr[i] = res->rcpt[i];
	t->conn = *res->conn;
	if (d->sent < d->ntxn)
		drv_send(d);
	else
		drv_finish(d);
}

static void
on_safety(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(w.base);
}

static void
loop_for(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(w.base, &tv);
	event_base_dispatch(w.base);
}

/* Run until every driver finished (or 10 s), then a little longer so
 * the fake server sees what the client did last (QUIT). */
static void
run_loop(void)
{
	struct timeval ten = { 10, 0 };
	struct event *safety = evtimer_new(w.base, on_safety, NULL);

	evtimer_add(safety, &ten);
	event_base_dispatch(w.base);
	event_free(safety);
	loop_for(100);
	assert_int_equal(pending, 0);
}

static void
verify_dane(struct tg_tls_verify *v, const struct tg_tlsa_rr *rr, size_t n)
{
	memset(v, 0, sizeof(*v));
	v->mode = TG_TLS_DANE;
	v->tlsa_base = "mx.example.net";
	v->tlsa = rr;
	v->tlsa_n = n;
}

static void
params_for(struct tg_smtpc_params *pp, enum tg_smtpc_tls tls,
    const struct tg_tls_verify *v)
{
	tg_smtpc_params_init(pp);
	pp->addr = "127.0.0.1";
	pp->port = F.port;
	pp->helo_name = "relay.example.org";
	pp->mx_host = "mx.example.net";
	pp->tls = tls;
	pp->ctx = w.client;
	pp->verify = v;
	pp->tmo.connect_ms = 2000;
	pp->tmo.banner_ms = 2000;
	pp->tmo.helo_ms = 2000;
	pp->tmo.starttls_ms = 2000;
	pp->tmo.tls_ms = 2000;
	pp->tmo.mail_ms = 2000;
	pp->tmo.rcpt_ms = 2000;
	pp->tmo.data_ms = 2000;
	pp->tmo.body_ms = 2000;
	pp->tmo.dot_ms = 2000;
	pp->tmo.rset_ms = 2000;
	pp->tmo.quit_ms = 300;
	pp->tmo.idle_ms = 2000;
}

static void
drv_run(struct drv *d, const struct tg_smtpc_params *pp)
{
	struct tg_err err;

	pending = 1;
	d->c = tg_smtpc_connect(w.base, pp, on_ready, d, &err);
	assert_non_null(d->c);
	assert_int_equal(d->ready, 0);	/* never inside connect */
	run_loop();
	assert_int_equal(d->ready, 1);
}

static void
expect_conn(const struct tg_smtpc_conn *r, enum tg_smtpc_status st,
    enum tg_smtpc_step step)
{
	if (r->status != st || (st != TG_SMTPC_OK && r->step != step))
		fail_msg("status %s at %s (%s), want %s at %s",
		    tg_smtpc_status_name(r->status),
		    tg_smtpc_step_name(r->step), r->why.text,
		    tg_smtpc_status_name(st), tg_smtpc_step_name(step));
}

static void
expect_outcome(const struct tg_smtpc_outcome *o, enum tg_err_class cls,
    const char *status)
{
	if (o->cls != cls || strcmp(o->status, status) != 0)
		fail_msg("outcome %s %s (%s), want %s %s",
		    tg_err_class_name(o->cls), o->status, o->text,
		    tg_err_class_name(cls), status);
}

/* A message of two recipients over content c. */
struct msg {
	struct tg_spool_rcpt rcpt[MAXR];
	struct tg_smtpc_txn txn;
	struct src src;
};

static void
msg_init(struct msg *m, const char *content, const char *r1, const char *r2)
{
	memset(m, 0, sizeof(*m));
	m->rcpt[0].addr = (char *)r1;
	m->rcpt[1].addr = (char *)r2;
	m->txn.sender = "sender@example.org";
	m->txn.rcpt = m->rcpt;
	m->txn.nrcpt = r2 != NULL ? 2 : 1;
	m->txn.size = strlen(content);
	m->txn.read = src_read;
	m->txn.read_arg = &m->src;
	m->src.p = content;
	m->src.len = strlen(content);
}

/* ---- plaintext transactions, content and envelope ---- */

/* Bare LF, bare CR, leading dots and a smuggling payload (SEC Consult
 * 2023: "<LF>.<CR><LF>" then commands); no final line end. */
static const char tricky[] = "Subject: t\n\n.leading\r\nplain\rcr\n"
    ".\r\nMAIL FROM:<evil@example.com>\r\n\n.\nlast";
static const char tricky_wire[] = "Subject: t\r\n\r\n..leading\r\n"
    "plain\r\ncr\r\n..\r\nMAIL FROM:<evil@example.com>\r\n\r\n..\r\n"
    "last\r\n.\r\n";

/* The connection facts of a plaintext session with the full EHLO. */
static void
check_plain_conn(const struct drv *d)
{
	assert_string_equal(d->conn.banner_name, "fake.example");
	assert_string_equal(d->conn.ehlo_name, "fake.example");
	assert_string_equal(d->conn.peer_ip, "127.0.0.1");
	assert_string_equal(d->conn.local_ip, "127.0.0.1");
	assert_string_equal(d->conn.mx_host, "mx.example.net");
	assert_int_equal(d->conn.peer_port, F.port);
	assert_true(d->conn.esmtp);
	assert_int_equal(d->conn.ext, TG_SMTPC_EXT_STARTTLS |
	    TG_SMTPC_EXT_SIZE | TG_SMTPC_EXT_8BITMIME |
	    TG_SMTPC_EXT_SMTPUTF8 | TG_SMTPC_EXT_PIPELINING |
	    TG_SMTPC_EXT_DSN | TG_SMTPC_EXT_ENHANCED);
	assert_int_equal(d->conn.size_max, 1000000);
	assert_false(d->conn.tls_started);
	assert_int_equal(d->end.transactions, 1);
}

static void
test_plain_txn(void **state)
{
	static const size_t steps[] = { 1, 7, 0 };
	struct tg_smtpc_params pp;
	char want[512];
	struct msg m;
	struct drv d;
	size_t i;

	(void)state;
	fake_start(&F, w.base, w.server, NULL);
	for (i = 0; i < 3; i++) {
		msg_init(&m, tricky, "a@example.net", "b@example.net");
		m.src.step = steps[i];
		m.rcpt[0].notify = TG_SPOOL_NOTIFY_SUCCESS |
		    TG_SPOOL_NOTIFY_FAILURE;
		m.rcpt[0].orcpt = "rfc822;a@example.net";
		m.rcpt[1].notify = TG_SPOOL_NOTIFY_NEVER;
		m.txn.envid = "env+2Bid";
		m.txn.ret = TG_SPOOL_RET_HDRS;
		m.txn.flags = TG_SPOOL_F_8BITMIME;
		memset(&d, 0, sizeof(d));
		d.txn[0] = &m.txn;
		d.ntxn = 1;
		params_for(&pp, TG_SMTPC_TLS_NONE, NULL);
		pp.ctx = NULL;
		drv_run(&d, &pp);
		expect_conn(&d.conn, TG_SMTPC_OK, TG_SMTPC_STEP_READY);
		assert_int_equal(d.done, 1);
		assert_int_equal(d.res[0].tr.delivered, 2);
		assert_int_equal(d.res[0].tr.accepted, 2);
		expect_outcome(&d.res[0].tr.mail, TG_ERR_NONE, "2.1.0");
		expect_outcome(&d.res[0].rr[0].final, TG_ERR_NONE, "2.0.0");
		expect_outcome(&d.res[0].rr[1].final, TG_ERR_NONE, "2.0.0");
		assert_string_equal(d.res[0].tr.data.text,
		    "250 2.0.0 Ok: queued as FAKE");
		assert_int_equal(d.res[0].tr.bytes, strlen(tricky));
		assert_int_equal(d.res[0].tr.normalised, 6);
		assert_int_equal(d.res[0].tr.dot_unanswered, 0);
		/* The wire: CRLF only, stuffed, one message (RELIABILITY
		 * I-02: the smuggled MAIL was never a command). */
		assert_int_equal(F.nmsg, (int)i + 1);
		assert_int_equal(F.msg_len[i], sizeof(tricky_wire) - 1);
		assert_memory_equal(F.msg[i], tricky_wire,
		    sizeof(tricky_wire) - 1);
		assert_int_equal(F.n_mail, (int)i + 1);
		assert_int_equal(F.n_quit, (int)i + 1);
	}
	assert_crlf_only(F.all);
	assert_int_equal(F.accepts, 3);
	/* The envelope parameters (RFC 1870, 6152, 3461). */
	snprintf(want, sizeof(want), "MAIL FROM:<sender@example.org> "
	    "SIZE=%zu BODY=8BITMIME RET=HDRS ENVID=env+2Bid\n",
	    strlen(tricky));
	assert_non_null(strstr(fake_log(&F), want));
	assert_non_null(strstr(fake_log(&F), "RCPT TO:<a@example.net> "
	    "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@example.net\n"));
	assert_non_null(strstr(fake_log(&F),
	    "RCPT TO:<b@example.net> NOTIFY=NEVER\n"));
	assert_null(strstr(fake_log(&F), "SMTPUTF8"));
	assert_null(strstr(fake_log(&F), "STARTTLS"));
	check_plain_conn(&d);
}

/* A probe (recipient verification): MAIL and RCPT, then RSET, never
 * DATA; the results are the RCPT replies; nothing is delivered. With and
 * without pipelining. */
static void
test_probe(void **state)
{
	struct fake_conf plain = { .ehlo = "250 fake.example\r\n" };
	struct tg_smtpc_params pp;
	struct msg m;
	struct drv d;
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		fake_stop(&F);
		fake_start(&F, w.base, w.server, k == 0 ? NULL : &plain);
		msg_init(&m, "", "good@example.net", "bad@example.net");
		m.txn.probe = 1;
		m.txn.read = NULL;
		m.txn.sender = "";
		memset(&d, 0, sizeof(d));
		d.txn[0] = &m.txn;
		d.ntxn = 1;
		params_for(&pp, TG_SMTPC_TLS_NONE, NULL);
		pp.ctx = NULL;
		drv_run(&d, &pp);
		assert_int_equal(d.done, 1);
		assert_int_equal(d.res[0].tr.delivered, 0);
		assert_int_equal(d.res[0].tr.accepted, 1);
		expect_outcome(&d.res[0].rr[0].rcpt, TG_ERR_NONE, "2.1.5");
		expect_outcome(&d.res[0].rr[1].rcpt, TG_ERR_PERM, "5.1.1");
		expect_outcome(&d.res[0].rr[0].final, TG_ERR_NONE, "2.1.5");
		assert_int_equal(F.n_data, 0);
		assert_int_equal(F.nmsg, 0);
		assert_non_null(strstr(fake_log(&F), "MAIL FROM:<>"));
		assert_non_null(strstr(fake_log(&F),
		    "RCPT TO:<bad@example.net>\nRSET\n"));
		assert_null(strstr(fake_log(&F), "DATA"));
	}
}

/* A server with no extensions: no parameters at all, no pipelining;
 * BODY=8BITMIME is left out (the content goes as is). */
static void
test_no_extensions(void **state)
{
	struct fake_conf fc = { .ehlo = "250 fake.example\r\n" };
	struct tg_smtpc_params pp;
	struct msg m;
	struct drv d;

	(void)state;
	fake_start(&F, w.base, w.server, &fc);
	msg_init(&m, "hello\r\n", "a@example.net", "b@example.net");
	m.rcpt[0].notify = TG_SPOOL_NOTIFY_SUCCESS;
	m.rcpt[0].orcpt = "rfc822;a@example.net";
	m.txn.envid = "x";
	m.txn.ret = TG_SPOOL_RET_FULL;
	m.txn.flags = TG_SPOOL_F_8BITMIME;
	memset(&d, 0, sizeof(d));
	d.txn[0] = &m.txn;
	d.ntxn = 1;
	params_for(&pp, TG_SMTPC_TLS_MAY, NULL);
	pp.verify = NULL;
	pp.tls = TG_SMTPC_TLS_NONE;
	drv_run(&d, &pp);
	assert_int_equal(d.res[0].tr.delivered, 2);
	assert_int_equal(d.conn.ext, 0);
	assert_string_equal(fake_log(&F), "EHLO relay.example.org\n"
	    "MAIL FROM:<sender@example.org>\nRCPT TO:<a@example.net>\n"
	    "RCPT TO:<b@example.net>\nDATA\n<data>\nRSET\nQUIT\n");
	assert_crlf_only(F.all);
}

/* RFC 5321 §3.2: EHLO refused -> HELO, only when TLS is not required. */
static void
test_helo_fallback(void **state)
{
	struct fake_conf fc = { .helo_only = 1 };
	struct tg_smtpc_params pp;
	struct tg_tls_verify v;
	struct msg m;
	struct drv d;

	(void)state;
	fake_start(&F, w.base, w.server, &fc);
	verify_dane(&v, w.rr, 1);
	msg_init(&m, "hi\r\n", "a@example.net", NULL);
	memset(&d, 0, sizeof(d));
	d.txn[0] = &m.txn;
	d.ntxn = 1;
	params_for(&pp, TG_SMTPC_TLS_MAY, &v);
	drv_run(&d, &pp);
	expect_conn(&d.conn, TG_SMTPC_OK, TG_SMTPC_STEP_READY);
	assert_false(d.conn.esmtp);
	assert_int_equal(F.n_helo, 1);
	assert_int_equal(d.res[0].tr.delivered, 1);
	assert_false(d.conn.tls_started);
	fake_stop(&F);
	/* REQUIRE: no HELO; a temporary TLS failure, nothing sent. */
	fake_start(&F, w.base, w.server, &fc);
	memset(&d, 0, sizeof(d));
	d.txn[0] = &m.txn;
	d.ntxn = 1;
	d.try_send = 1;
	params_for(&pp, TG_SMTPC_TLS_REQUIRE, &v);
	drv_run(&d, &pp);
	expect_conn(&d.conn, TG_SMTPC_EHLO_REJECTED, TG_SMTPC_STEP_EHLO);
	expect_outcome(&d.conn.why, TG_ERR_TEMP, "4.7.4");
	assert_int_equal(F.n_helo, 0);
	assert_int_equal(F.n_mail, 0);
	assert_int_equal(F.n_quit, 1);
	assert_int_equal(d.send_rc, -1);
	assert_int_equal(d.send_err.cls, TG_ERR_TEMP);
}

/* ---- STARTTLS ---- */

/* RFC 7672 §3.1.1: DANE-EE authenticates an expired leaf with no name
 * we asked for; RFC 3207 §4.1-4.2: EHLO again, earlier extensions
 * forgotten (the plaintext SIZE 10 and DSN no longer apply). */
static void
test_dane_txn(void **state)
{
	struct fake_conf fc = {
		.ehlo = "250-fake.example\r\n250-SIZE 10\r\n250-DSN\r\n"
		    "250 STARTTLS\r\n",
		.tls_ehlo = "250-tls.fake.example\r\n250-PIPELINING\r\n"
		    "250 SIZE 100000\r\n",
	};
	struct tg_smtpc_params pp;
	struct tg_tls_verify v;
	struct msg m;
	struct drv d;

	(void)state;
	fake_start(&F, w.base, w.server, &fc);
	verify_dane(&v, w.rr, 1);
	msg_init(&m, tricky, "a@example.net", "b@example.net");
	m.rcpt[0].notify = TG_SPOOL_NOTIFY_SUCCESS;
	memset(&d, 0, sizeof(d));
	d.txn[0] = &m.txn;
	d.ntxn = 1;
	params_for(&pp, TG_SMTPC_TLS_REQUIRE, &v);
	drv_run(&d, &pp);
	expect_conn(&d.conn, TG_SMTPC_OK, TG_SMTPC_STEP_READY);
	assert_true(d.conn.tls_started);
	assert_false(d.conn.tls_resumed);
	assert_true(d.conn.tls.handshake_done);
	assert_true(d.conn.tls.verified);
	assert_int_equal(d.conn.tls.dane_depth, 0);
	assert_int_equal(d.conn.tls.tlsa_index, 0);
	assert_null(d.conn.result_type);
	assert_string_equal(d.conn.ehlo_name, "tls.fake.example");
	assert_int_equal(d.conn.ext, TG_SMTPC_EXT_PIPELINING |
	    TG_SMTPC_EXT_SIZE);
	assert_int_equal(d.conn.size_max, 100000);
	assert_int_equal(d.res[0].tr.delivered, 2);
	/* Nothing of the transaction in clear; all of it inside TLS. */
	assert_false(F.mail_in_clear);
	evbuffer_add(F.clear, "", 1);
	assert_string_equal(evbuffer_pullup(F.clear, -1),
	    "EHLO relay.example.org\r\nSTARTTLS\r\n");
	assert_int_equal(F.n_tls_ehlo, 1);
	assert_int_equal(F.handshakes, 1);
	/* RFC-CHECKLIST 15, RFC 7672 §8.1: SNI is the TLSA base domain. */
	assert_string_equal(F.sni, "mx.example.net");
	assert_int_equal(F.nmsg, 1);
	assert_memory_equal(F.msg[0], tricky_wire, sizeof(tricky_wire) - 1);
	assert_null(strstr(fake_log(&F), "NOTIFY"));	/* no DSN in TLS */
	assert_int_equal(F.discarded, 0);
	assert_crlf_only(F.all);
	assert_int_equal(F.n_quit, 1);
}

static void
run_require(const struct fake_conf *fc, const struct tg_tlsa_rr *rr,
    int report_only, enum tg_smtpc_tls tls, struct drv *d, struct msg *m)
{
	struct tg_smtpc_params pp;
	static struct tg_tls_verify v;

	fake_start(&F, w.base, w.server, fc);
	verify_dane(&v, rr, 1);
	v.report_only = report_only;
	msg_init(m, "hi\r\n", "a@example.net", NULL);
	memset(d, 0, sizeof(*d));
	d->txn[0] = &m->txn;
	d->ntxn = 1;
	d->try_send = 1;
	params_for(&pp, tls, &v);
	drv_run(d, &pp);
}

/* RFC-CHECKLIST 9, RELIABILITY O-07: no STARTTLS offered. */
static void
test_require_no_starttls(void **state)
{
	struct fake_conf fc = { .ehlo = "250-fake.example\r\n"
	    "250 PIPELINING\r\n" };
	struct msg m;
	struct drv d;

	(void)state;
	run_require(&fc, &w.rr[0], 0, TG_SMTPC_TLS_REQUIRE, &d, &m);
	expect_conn(&d.conn, TG_SMTPC_NO_STARTTLS, TG_SMTPC_STEP_EHLO);
	expect_outcome(&d.conn.why, TG_ERR_TEMP, "4.7.4");
	assert_string_equal(d.conn.result_type, "starttls-not-supported");
	assert_int_equal(d.send_rc, -1);
	assert_int_equal(d.send_err.cls, TG_ERR_TEMP);
	assert_int_equal(F.n_starttls, 0);
	assert_int_equal(F.n_mail, 0);
	assert_int_equal(F.n_quit, 1);
	fake_stop(&F);
	/* MAY: plaintext delivery on the same connection. */
	run_require(&fc, &w.rr[0], 0, TG_SMTPC_TLS_MAY, &d, &m);
	expect_conn(&d.conn, TG_SMTPC_OK, TG_SMTPC_STEP_READY);
	assert_int_equal(d.res[0].tr.delivered, 1);
	assert_true(F.mail_in_clear);
}

/* RFC-CHECKLIST 9, O-07: 454 to STARTTLS. */
static void
test_require_454(void **state)
{
	struct fake_conf fc = { .starttls = "454 4.7.0 TLS not available\r\n" };
	struct msg m;
	struct drv d;

	(void)state;
	run_require(&fc, &w.rr[0], 0, TG_SMTPC_TLS_REQUIRE, &d, &m);
	expect_conn(&d.conn, TG_SMTPC_STARTTLS_REFUSED,
	    TG_SMTPC_STEP_STARTTLS);
	expect_outcome(&d.conn.why, TG_ERR_TEMP, "4.7.4");
	assert_non_null(strstr(d.conn.why.text, "454 4.7.0"));
	assert_string_equal(d.conn.result_type, "starttls-not-supported");
	assert_int_equal(F.n_mail, 0);
	assert_false(F.mail_in_clear);
	assert_int_equal(F.n_quit, 1);
	fake_stop(&F);
	/* MAY: the session goes on in plaintext (RFC 3207 §4). */
	run_require(&fc, &w.rr[0], 0, TG_SMTPC_TLS_MAY, &d, &m);
	expect_conn(&d.conn, TG_SMTPC_OK, TG_SMTPC_STEP_READY);
	assert_true(d.conn.starttls_refused);
	assert_false(d.conn.tls_started);
	assert_int_equal(d.res[0].tr.delivered, 1);
}

/* RFC-CHECKLIST 10, RFC 6698 §4.1: a TLSA mismatch aborts the handshake;
 * nothing is sent, in clear or in TLS; MAY does not retry in clear. */
static void
test_dane_mismatch(void **state)
{
	static const enum tg_smtpc_tls levels[] = { TG_SMTPC_TLS_REQUIRE,
		TG_SMTPC_TLS_MAY };
	struct msg m;
	struct drv d;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		run_require(NULL, &w.rr[1], 0, levels[i], &d, &m);
		expect_conn(&d.conn, TG_SMTPC_NOT_VERIFIED, TG_SMTPC_STEP_TLS);
		expect_outcome(&d.conn.why, TG_ERR_TEMP, "4.7.5");
		assert_string_equal(d.conn.result_type, "tlsa-invalid");
		assert_false(d.conn.tls.handshake_done);
		assert_int_equal(F.n_tls_ehlo, 0);
		assert_int_equal(F.n_mail, 0);
		assert_int_equal(F.handshakes, 0);
		assert_int_equal(F.accepts, 1);
		assert_int_equal(d.send_rc, -1);
		fake_stop(&F);
	}
}

/*
 * The DANE rules as the sending side meets them (RFC-CHECKLIST 11-14;
 * RELIABILITY O-01-O-03): the client hands the RRset to tls/tls_client
 * and delivers only what that verification allows.
 */
struct dane_case {
	const char *name;
	SSL_CTX **srv;
	struct tg_tlsa_rr *rr[2];
	const char *name2;		/* an extra reference identifier */
	enum tg_smtpc_status st;
	int verified;
	int depth;			/* of the match, when verified */
	int index;
};

static void
dane_cases(struct dane_case *c)
{
	struct dane_case t[] = {
		{ "O-01 3 0 1 expired leaf", &w.server, { &w.ee[0] }, NULL,
		    TG_SMTPC_OK, 1, 0, 0 },
		{ "O-02a 2 1 1 base domain", &w.srv_ta, { &w.ta[0] }, NULL,
		    TG_SMTPC_OK, 1, 1, 0 },
		{ "O-02b 2 1 1 MX name", &w.srv_ta_odd, { &w.ta[0] },
		    "other.example", TG_SMTPC_OK, 1, 1, 0 },
		{ "O-02c 2 1 1 wrong name", &w.srv_ta_odd, { &w.ta[0] }, NULL,
		    TG_SMTPC_NOT_VERIFIED, 0, 0, 0 },
		{ "O-03 2 0 1 root not sent", &w.srv_noroot, { &w.ta[1] },
		    NULL, TG_SMTPC_NOT_VERIFIED, 0, 0, 0 },
		{ "O-03 2 0 0 full TA", &w.srv_noroot, { &w.ta[2] }, NULL,
		    TG_SMTPC_OK, 1, 1, 0 },
		/* A bare TA key: OpenSSL names the depth of the
		 * certificate it signed. */
		{ "O-03 2 1 0 full TA key", &w.srv_noroot, { &w.ta[3] }, NULL,
		    TG_SMTPC_OK, 1, 0, 0 },
		{ "13: 1 1 1 unusable", &w.srv_ta, { &w.ee[3] }, NULL,
		    TG_SMTPC_OK, 0, 0, 0 },
		{ "14: 3 1 2 preferred", &w.server, { &w.rr[1], &w.ee[1] },
		    NULL, TG_SMTPC_OK, 1, 0, 1 },
		{ "14: 3 1 1 ignored", &w.server, { &w.rr[0], &w.ee[2] },
		    NULL, TG_SMTPC_NOT_VERIFIED, 0, 0, 0 },
	};

	memcpy(c, t, sizeof(t));
}

#define DANE_CASES 10

static void
check_dane(const struct dane_case *c, const struct drv *d)
{
	const struct tg_smtpc_conn *r = &d->conn;

	if (r->status != c->st || r->tls.verified != c->verified)
		fail_msg("%s: %s, verified %d (%s)", c->name,
		    tg_smtpc_status_name(r->status), r->tls.verified,
		    r->why.text);
	if (c->verified && (r->tls.dane_depth != c->depth ||
	    r->tls.tlsa_index != c->index))
		fail_msg("%s: depth %d index %d", c->name, r->tls.dane_depth,
		    r->tls.tlsa_index);
	if (c->st == TG_SMTPC_OK) {
		assert_int_equal(d->res[0].tr.delivered, 1);
		return;
	}
	/* RFC 6698 §4.1: the handshake is aborted, nothing is sent. */
	assert_int_equal(r->step, TG_SMTPC_STEP_TLS);
	assert_non_null(r->result_type);
	assert_int_equal(F.n_tls_ehlo, 0);
	assert_int_equal(F.n_mail, 0);
}

static void
test_dane_rules(void **state)
{
	struct dane_case cases[DANE_CASES];
	struct tg_tlsa_rr rrs[2];
	struct tg_smtpc_params pp;
	struct tg_tls_verify v;
	const char *names[1];
	struct msg m;
	struct drv d;
	size_t i, n;

	(void)state;
	dane_cases(cases);
	for (i = 0; i < DANE_CASES; i++) {
		const struct dane_case *c = &cases[i];

		fake_start(&F, w.base, *c->srv, NULL);
		for (n = 0; n < 2 && c->rr[n] != NULL; n++)
			rrs[n] = *c->rr[n];
		verify_dane(&v, rrs, n);
		names[0] = c->name2;
		v.names = names;
		v.n_names = c->name2 != NULL;
		msg_init(&m, "hi\r\n", "a@example.net", NULL);
		memset(&d, 0, sizeof(d));
		d.txn[0] = &m.txn;
		d.ntxn = 1;
		params_for(&pp, TG_SMTPC_TLS_REQUIRE, &v);
		drv_run(&d, &pp);
		check_dane(c, &d);
		fake_stop(&F);
	}
}

/* report_only (MTA-STS testing, RFC 8461 §5): deliver, report. */
static void
test_report_only(void **state)
{
	struct msg m;
	struct drv d;

	(void)state;
	run_require(NULL, &w.rr[1], 1, TG_SMTPC_TLS_REQUIRE, &d, &m);
	expect_conn(&d.conn, TG_SMTPC_OK, TG_SMTPC_STEP_READY);
	assert_true(d.conn.tls.handshake_done);
	assert_false(d.conn.tls.verified);
	assert_string_equal(d.conn.result_type, "tlsa-invalid");
	assert_int_equal(d.res[0].tr.delivered, 1);
}

/* A REQUIRETLS message (RFC 8689) over DANE with the TLSA record rr. */
static void
run_requiretls(const char *tls_ehlo, const struct tg_tlsa_rr *rr,
    int report_only, int hop, struct drv *d, struct msg *m)
{
	static struct fake_conf fc;
	struct tg_smtpc_params pp;
	static struct tg_tls_verify v;

	memset(&fc, 0, sizeof(fc));
	fc.tls_ehlo = tls_ehlo;
	fake_start(&F, w.base, w.server, &fc);
	verify_dane(&v, rr, 1);
	v.report_only = report_only;
	msg_init(m, "secret\r\n", "a@example.net", NULL);
	m->txn.flags = TG_SPOOL_F_REQUIRETLS;
	m->txn.requiretls_hop = hop;
	memset(d, 0, sizeof(*d));
	d->txn[0] = &m->txn;
	d->ntxn = 1;
	params_for(&pp, TG_SMTPC_TLS_REQUIRE, &v);
	drv_run(d, &pp);
	expect_conn(&d->conn, TG_SMTPC_OK, TG_SMTPC_STEP_READY);
}

#define EHLO_TLS_RTLS "250-tls.fake.example\r\n250-PIPELINING\r\n" \
	"250-REQUIRETLS\r\n250 ENHANCEDSTATUSCODES\r\n"

/* RFC 8689 §4.2.1, §5: the four conditions, each one failing alone. */
static void
test_requiretls(void **state)
{
	struct msg m;
	struct drv d;

	(void)state;
	/* All met: MAIL carries REQUIRETLS. */
	run_requiretls(EHLO_TLS_RTLS, &w.rr[0], 0, 1, &d, &m);
	assert_true(d.conn.ext & TG_SMTPC_EXT_REQUIRETLS);
	assert_int_equal(d.res[0].tr.delivered, 1);
	assert_non_null(strstr(fake_log(&F),
	    "MAIL FROM:<sender@example.org> REQUIRETLS\n"));
	assert_false(F.mail_in_clear);
	fake_stop(&F);
	/* The server does not offer REQUIRETLS: returned, never sent. */
	run_requiretls(NULL, &w.rr[0], 0, 1, &d, &m);
	expect_outcome(&d.res[0].tr.mail, TG_ERR_PERM, "5.7.30");
	assert_int_equal(d.res[0].tr.delivered, 0);
	assert_int_equal(F.n_mail, 0);
	assert_int_equal(F.nmsg, 0);
	fake_stop(&F);
	/* A host nobody vouched for (no DANE, no MTA-STS). */
	run_requiretls(EHLO_TLS_RTLS, &w.rr[0], 0, 0, &d, &m);
	expect_outcome(&d.res[0].tr.mail, TG_ERR_PERM, "5.7.10");
	assert_int_equal(F.n_mail, 0);
	fake_stop(&F);
	/* TLS up but not authenticated (report-only, wrong record):
	 * deferred, since the certificate may be fixed. */
	run_requiretls(EHLO_TLS_RTLS, &w.rr[1], 1, 1, &d, &m);
	assert_false(d.conn.tls.verified);
	expect_outcome(&d.res[0].tr.mail, TG_ERR_TEMP, "4.7.10");
	assert_int_equal(F.n_mail, 0);
	assert_int_equal(F.nmsg, 0);
}

/* RELIABILITY O-08, CVE-2021-38371: replies injected after "220". */
static void
test_starttls_injection(void **state)
{
	struct fake_conf fc = {
		.starttls = "220 2.0.0 Ready\r\n250-injected\r\n"
		    "250 PIPELINING\r\n",
		.starttls_raw = 1,
	};
	struct msg m;
	struct drv d;

	(void)state;
	run_require(&fc, &w.rr[0], 0, TG_SMTPC_TLS_REQUIRE, &d, &m);
	expect_conn(&d.conn, TG_SMTPC_PROTOCOL_ERROR, TG_SMTPC_STEP_STARTTLS);
	expect_outcome(&d.conn.why, TG_ERR_TEMP, "4.5.0");
	assert_non_null(strstr(d.conn.why.text, "injection"));
	assert_false(d.conn.tls_started);
	assert_int_equal(F.raw_bytes, 0);	/* not one TLS byte */
	assert_int_equal(F.n_mail, 0);
}

/* A server that stops at the handshake, or hangs up in it. */
static void
test_handshake_failures(void **state)
{
	struct fake_conf fc = { .starttls_raw = 1 };
	struct tg_smtpc_params pp;
	struct tg_tls_verify v;
	struct drv d;

	(void)state;
	fake_start(&F, w.base, w.server, &fc);
	verify_dane(&v, w.rr, 1);
	memset(&d, 0, sizeof(d));
	params_for(&pp, TG_SMTPC_TLS_REQUIRE, &v);
	pp.tmo.tls_ms = 200;
	drv_run(&d, &pp);
	expect_conn(&d.conn, TG_SMTPC_TLS_FAILED, TG_SMTPC_STEP_TLS);
	assert_true(d.conn.elapsed_ms >= 190 && d.conn.elapsed_ms < 2000);
	assert_string_equal(d.conn.result_type, "validation-failure");
	assert_true(F.raw_bytes > 0);		/* the ClientHello */
	assert_int_equal(F.n_mail, 0);
}

/* ---- hostile replies (RELIABILITY O-09, CVE-2020-8794) ---- */

static void
test_hostile_replies(void **state)
{
	static char lines[10000 * 10 + 32], longline[1024 * 1024 + 8];
	struct {
		const char *ehlo;
		const char *why;
	} cases[] = {
		{ lines, "more than 100 lines" },
		{ longline, "longer than 2048" },
		{ "2x0 fake.example\r\n", "bad reply code" },
		{ "250-fake.example\r\n550 no\r\n", "within a 250 reply" },
		{ "250 fake\x01.example\r\n", "control character" },
		{ "250 fake.example\n", "CRLF" },
	};
	struct fake_conf fc = { 0 };
	struct tg_smtpc_params pp;
	struct drv d;
	size_t i;

	(void)state;
	for (i = 0; i < 10000; i++)
		memcpy(lines + 10 * i, "250-SPAM\r\n", 10);
	memcpy(lines + 100000, "250 OK\r\n", 9);
	memset(longline, 'a', sizeof(longline) - 1);
	memcpy(longline, "250 ", 4);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fc.ehlo = cases[i].ehlo;
		fake_start(&F, w.base, w.server, &fc);
		memset(&d, 0, sizeof(d));
		params_for(&pp, TG_SMTPC_TLS_NONE, NULL);
		drv_run(&d, &pp);
		expect_conn(&d.conn, TG_SMTPC_PROTOCOL_ERROR,
		    TG_SMTPC_STEP_EHLO);
		expect_outcome(&d.conn.why, TG_ERR_TEMP, "4.5.0");
		if (strstr(d.conn.why.text, cases[i].why) == NULL)
			fail_msg("case %zu: %s", i, d.conn.why.text);
		assert_int_equal(F.n_mail, 0);
		fake_stop(&F);
	}
}

/* A hostile reply inside a transaction: every recipient deferred. */
static void
test_hostile_in_txn(void **state)
{
	struct tg_smtpc_params pp;
	struct msg m;
	struct drv d;

	(void)state;
	fake_start(&F, w.base, w.server, NULL);
	msg_init(&m, "hi\r\n", "a@example.net", "hostile@example.net");
	memset(&d, 0, sizeof(d));
	d.txn[0] = &m.txn;
	d.ntxn = 1;
	params_for(&pp, TG_SMTPC_TLS_NONE, NULL);
	drv_run(&d, &pp);
	assert_int_equal(d.done, 1);
	expect_conn(&d.res[0].conn, TG_SMTPC_PROTOCOL_ERROR,
	    TG_SMTPC_STEP_RCPT);
	expect_outcome(&d.res[0].rr[0].final, TG_ERR_TEMP, "4.5.0");
	expect_outcome(&d.res[0].rr[1].final, TG_ERR_TEMP, "4.5.0");
	assert_int_equal(d.res[0].tr.delivered, 0);
	assert_int_equal(F.nmsg, 0);
}

/* ---- per-recipient and DATA results ---- */

static void
test_rcpt_mixed(void **state)
{
	static const char *const ehlos[] = { NULL,
		"250-fake.example\r\n250 ENHANCEDSTATUSCODES\r\n" };
	struct fake_conf fc = { 0 };
	struct tg_smtpc_params pp;
	struct msg m;
	struct drv d;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {		/* pipelined, then not */
		fc.ehlo = ehlos[i];
		fake_start(&F, w.base, w.server, &fc);
		msg_init(&m, "hi\r\n", "ok@example.net", "bad@example.net");
		m.rcpt[2].addr = "temp@example.net";
		m.txn.nrcpt = 3;
		memset(&d, 0, sizeof(d));
		d.txn[0] = &m.txn;
		d.ntxn = 1;
		params_for(&pp, TG_SMTPC_TLS_NONE, NULL);
		drv_run(&d, &pp);
		assert_int_equal(d.res[0].tr.accepted, 1);
		assert_int_equal(d.res[0].tr.delivered, 1);
		expect_outcome(&d.res[0].rr[0].final, TG_ERR_NONE, "2.0.0");
		expect_outcome(&d.res[0].rr[1].final, TG_ERR_PERM, "5.1.1");
		assert_int_equal(d.res[0].rr[1].rcpt.code, 550);
		expect_outcome(&d.res[0].rr[2].final, TG_ERR_TEMP, "4.2.1");
		assert_string_equal(d.res[0].rr[2].final.text,
		    "450 4.2.1 Mailbox busy, try later");
		assert_int_equal(F.nmsg, 1);
		assert_int_equal(F.n_rset, 1);
		assert_true(d.end.status == TG_SMTPC_OK);
		fake_stop(&F);
	}
}

struct data_case {
	const char *name;
	const char *sender;
	const char *data;	/* reply to DATA */
	const char *final;	/* reply to "." */
	enum tg_err_class cls;
	const char *status;
	int nmsg;
};

static const struct data_case data_cases[] = {
	{ "final 452", NULL, NULL, "452 4.3.1 Insufficient storage\r\n",
	    TG_ERR_TEMP, "4.3.1", 1 },
	{ "final 554", NULL, NULL, "554 5.6.0 Content rejected\r\n",
	    TG_ERR_PERM, "5.6.0", 1 },
	{ "final 550 no enhanced", NULL, NULL, "550 rejected\r\n",
	    TG_ERR_PERM, "5.0.0", 1 },
	{ "DATA 554", NULL, "554 5.5.1 Not now\r\n", NULL, TG_ERR_PERM,
	    "5.5.1", 0 },
	{ "DATA 451", NULL, "451 4.3.0 Later\r\n", NULL, TG_ERR_TEMP,
	    "4.3.0", 0 },
	{ "MAIL 550", "refuse@example.org", NULL, NULL, TG_ERR_PERM,
	    "5.7.1", 0 },
};

static void
test_data_replies(void **state)
{
	struct fake_conf fc = { 0 };
	struct tg_smtpc_params pp;
	struct msg m;
	struct drv d;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]); i++) {
		const struct data_case *c = &data_cases[i];

		fc.data = c->data;
		fc.final = c->final;
		fake_start(&F, w.base, w.server, &fc);
		msg_init(&m, "hi\r\n", "a@example.net", "b@example.net");
		if (c->sender != NULL)
			m.txn.sender = c->sender;
		memset(&d, 0, sizeof(d));
		d.txn[0] = &m.txn;
		d.ntxn = 1;
		params_for(&pp, TG_SMTPC_TLS_NONE, NULL);
		drv_run(&d, &pp);
		assert_int_equal(d.done, 1);
		assert_int_equal(d.res[0].tr.delivered, 0);
		for (j = 0; j < 2; j++)
			if (d.res[0].rr[j].final.cls != c->cls ||
			    strcmp(d.res[0].rr[j].final.status, c->status))
				fail_msg("%s: rcpt %zu: %s %s", c->name, j,
				    d.res[0].rr[j].final.status,
				    d.res[0].rr[j].final.text);
		assert_int_equal(F.nmsg, c->nmsg);
		/* The connection stays good for the next message. */
		assert_int_equal(d.end.status, TG_SMTPC_OK);
		assert_int_equal(F.n_rset, 1);
		fake_stop(&F);
	}
}

/* RFC 2920 §3.1: every RCPT refused yet 354 to the pipelined DATA: an
 * empty message ends it, the recipients stay refused. */
static void
test_all_refused_354(void **state)
{
	struct fake_conf fc = { .data = "354 go ahead\r\n" };
	struct tg_smtpc_params pp;
	struct msg m;
	struct drv d;

	(void)state;
	fake_start(&F, w.base, w.server, &fc);
	msg_init(&m, "secret\r\n", "bad1@example.net", "bad2@example.net");
	memset(&d, 0, sizeof(d));
	d.txn[0] = &m.txn;
	d.ntxn = 1;
	params_for(&pp, TG_SMTPC_TLS_NONE, NULL);
	drv_run(&d, &pp);
	assert_int_equal(d.res[0].tr.delivered, 0);
	expect_outcome(&d.res[0].rr[0].final, TG_ERR_PERM, "5.1.1");
	expect_outcome(&d.res[0].rr[1].final, TG_ERR_PERM, "5.1.1");
	assert_int_equal(F.nmsg, 1);
	assert_int_equal(F.msg_len[0], 3);
	assert_memory_equal(F.msg[0], ".\r\n", 3);
	assert_int_equal(d.res[0].tr.bytes, 0);
	assert_int_equal(F.n_rset, 1);
}

/* RFC 6531 §3.2: a message that needs SMTPUTF8 is not downgraded; a
 * too large one is not sent (RFC 1870 §6); the connection stays good. */
static void
test_local_refusals(void **state)
{
	struct fake_conf fc = { .ehlo = "250-fake.example\r\n"
	    "250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n" };
	struct msg m1, m2, m3;
	struct tg_smtpc_params pp;
	struct drv d;
	char big[2000];

	(void)state;
	fake_start(&F, w.base, w.server, &fc);
	msg_init(&m1, "hi\r\n", "a@example.net", NULL);
	m1.txn.flags = TG_SPOOL_F_SMTPUTF8;
	msg_init(&m2, "hi\r\n", "j\xc3\xb6rg@example.net", NULL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	msg_init(&m3, big, "a@example.net", NULL);
	memset(&d, 0, sizeof(d));
	d.txn[0] = &m1.txn;
	d.txn[1] = &m2.txn;
	d.txn[2] = &m3.txn;
	d.ntxn = 3;
	params_for(&pp, TG_SMTPC_TLS_NONE, NULL);
	drv_run(&d, &pp);
	assert_int_equal(d.done, 3);
	expect_outcome(&d.res[0].rr[0].final, TG_ERR_PERM, "5.6.7");
	expect_outcome(&d.res[0].tr.mail, TG_ERR_PERM, "5.6.7");
	expect_outcome(&d.res[1].rr[0].final, TG_ERR_PERM, "5.6.7");
	expect_outcome(&d.res[2].rr[0].final, TG_ERR_PERM, "5.3.4");
	assert_int_equal(F.n_mail, 0);
	assert_int_equal(F.accepts, 1);
	assert_int_equal(F.n_quit, 1);
	fake_stop(&F);
	/* Offered: the parameter is sent. */
	fake_start(&F, w.base, w.server, NULL);
	msg_init(&m2, "hi\r\n", "j\xc3\xb6rg@example.net", NULL);
	memset(&d, 0, sizeof(d));
	d.txn[0] = &m2.txn;
	d.ntxn = 1;
	params_for(&pp, TG_SMTPC_TLS_NONE, NULL);
	drv_run(&d, &pp);
	assert_int_equal(d.res[0].tr.delivered, 1);
	assert_non_null(strstr(fake_log(&F),
	    "MAIL FROM:<sender@example.org> SIZE=4 SMTPUTF8\n"));
}

/* Envelope strings never inject commands; bad xtext is left out. */
static void
test_envelope_checks(void **state)
{
	struct tg_smtpc_params pp;
	struct msg m1, m2;
	struct drv d;

	(void)state;
	fake_start(&F, w.base, w.server, NULL);
	msg_init(&m1, "hi\r\n", "evil@example.net>\r\nRSET", "a@example.net");
	m1.txn.envid = "a=b";
	m1.rcpt[1].orcpt = "rfc822;a@example.net\r\nQUIT";
	m1.rcpt[1].notify = TG_SPOOL_NOTIFY_DELAY;
	msg_init(&m2, "hi\r\n", "a@example.net", NULL);
	m2.txn.sender = "x\n@example.org";
	memset(&d, 0, sizeof(d));
	d.txn[0] = &m1.txn;
	d.txn[1] = &m2.txn;
	d.ntxn = 2;
	params_for(&pp, TG_SMTPC_TLS_NONE, NULL);
	drv_run(&d, &pp);
	expect_outcome(&d.res[0].rr[0].final, TG_ERR_PERM, "5.1.3");
	assert_int_equal(d.res[0].rr[0].rcpt.code, 0);
	expect_outcome(&d.res[0].rr[1].final, TG_ERR_NONE, "2.0.0");
	expect_outcome(&d.res[1].rr[0].final, TG_ERR_PERM, "5.1.7");
	assert_string_equal(fake_log(&F), "EHLO relay.example.org\n"
	    "MAIL FROM:<sender@example.org> SIZE=4\n"
	    "RCPT TO:<a@example.net> NOTIFY=DELAY\nDATA\n<data>\nRSET\n"
	    "QUIT\n");
	assert_crlf_only(F.all);
}

/* ---- connection reuse, resumption ---- */

/* Two messages, one TCP connection, RSET between (RFC 5321 §4.1.1.5);
 * the second is handed over from inside the first's callback. */
static void
test_reuse(void **state)
{
	struct tg_smtpc_params pp;
	struct tg_tls_verify v;
	struct msg m1, m2;
	struct drv d;

	(void)state;
	fake_start(&F, w.base, w.server, NULL);
	verify_dane(&v, w.rr, 1);
	msg_init(&m1, "one\r\n", "a@example.net", NULL);
	msg_init(&m2, "two\r\n", "b@example.net", NULL);
	memset(&d, 0, sizeof(d));
	d.txn[0] = &m1.txn;
	d.txn[1] = &m2.txn;
	d.ntxn = 2;
	params_for(&pp, TG_SMTPC_TLS_REQUIRE, &v);
	drv_run(&d, &pp);
	assert_int_equal(d.done, 2);
	assert_int_equal(d.res[0].tr.delivered, 1);
	assert_int_equal(d.res[1].tr.delivered, 1);
	assert_int_equal(d.end.transactions, 2);
	assert_int_equal(F.accepts, 1);
	assert_int_equal(F.handshakes, 1);
	assert_int_equal(F.nmsg, 2);
	assert_memory_equal(F.msg[0], "one\r\n.\r\n", 8);
	assert_memory_equal(F.msg[1], "two\r\n.\r\n", 8);
	assert_string_equal(fake_log(&F), "EHLO relay.example.org\n"
	    "STARTTLS\nEHLO relay.example.org\n"
	    "MAIL FROM:<sender@example.org> SIZE=5\n"
	    "RCPT TO:<a@example.net>\nDATA\n<data>\nRSET\n"
	    "MAIL FROM:<sender@example.org> SIZE=5\n"
	    "RCPT TO:<b@example.net>\nDATA\n<data>\nRSET\nQUIT\n");
}

static void
resume_once(struct tg_smtpc_cache *cache, const struct tg_tlsa_rr *rr,
    size_t n, struct drv *d)
{
	struct tg_smtpc_params pp;
	struct tg_tls_verify v;
	static struct msg m;

	verify_dane(&v, rr, n);
	msg_init(&m, "hi\r\n", "a@example.net", NULL);
	memset(d, 0, sizeof(*d));
	d->txn[0] = &m.txn;
	d->ntxn = 1;
	params_for(&pp, TG_SMTPC_TLS_REQUIRE, &v);
	pp.cache = cache;
	drv_run(d, &pp);
}

/* RELIABILITY O-10: the second connection resumes; with other TLSA
 * records it does not, and with a wrong one the full handshake fails. */
static void
test_resumption(void **state)
{
	struct tg_smtpc_cache *cache;
	struct tg_tlsa_rr both[2];
	struct tg_err err;
	struct drv d;

	(void)state;
	both[0] = w.rr[1];
	both[1] = w.rr[0];
	assert_non_null(cache = tg_smtpc_cache_new(4, 0, &err));
	fake_start(&F, w.base, w.server, NULL);
	resume_once(cache, &w.rr[0], 1, &d);
	expect_conn(&d.conn, TG_SMTPC_OK, TG_SMTPC_STEP_READY);
	assert_false(d.conn.tls_resumed);
	assert_int_equal(tg_smtpc_cache_count(cache), 1);
	resume_once(cache, &w.rr[0], 1, &d);
	assert_true(d.conn.tls_resumed);
	assert_int_equal(F.resumed, 1);
	assert_true(d.conn.tls.verified);
	assert_int_equal(d.conn.tls.dane_depth, 0);
	assert_int_equal(d.conn.tls.tlsa_index, 0);
	assert_int_equal(d.res[0].tr.delivered, 1);
	assert_int_equal(tg_smtpc_cache_count(cache), 1);
	/* A changed RRset that still matches: full handshake. */
	resume_once(cache, both, 2, &d);
	expect_conn(&d.conn, TG_SMTPC_OK, TG_SMTPC_STEP_READY);
	assert_false(d.conn.tls_resumed);
	assert_int_equal(F.resumed, 1);
	assert_int_equal(d.conn.tls.tlsa_index, 1);
	assert_int_equal(tg_smtpc_cache_count(cache), 2);
	/* A changed RRset that does not match: no resumption, defer. */
	resume_once(cache, &w.rr[1], 1, &d);
	expect_conn(&d.conn, TG_SMTPC_NOT_VERIFIED, TG_SMTPC_STEP_TLS);
	assert_false(d.conn.tls_resumed);
	assert_int_equal(F.resumed, 1);
	assert_int_equal(F.accepts, 4);
	assert_int_equal(F.nmsg, 3);
	/* Bounded in age. */
	tg_clock_set(tg_clock_now() + TG_SMTPC_CACHE_AGE_S + 60);
	assert_int_equal(tg_smtpc_cache_count(cache), 0);
	tg_clock_set(0);
	tg_smtpc_cache_free(cache);
	tg_smtpc_cache_free(NULL);
}

/* Bounded in size: with room for two sessions, the oldest goes. The
 * three RRsets all match, so each is its own cache key. */
static void
test_cache_bound(void **state)
{
	struct tg_smtpc_cache *cache;
	struct tg_tlsa_rr sets[3][2];
	struct tg_err err;
	struct drv d;
	size_t i;

	(void)state;
	sets[0][0] = w.rr[0];
	sets[1][0] = w.rr[1];
	sets[1][1] = w.rr[0];
	sets[2][0] = w.ee[0];
	assert_non_null(cache = tg_smtpc_cache_new(2, 0, &err));
	fake_start(&F, w.base, w.server, NULL);
	for (i = 0; i < 3; i++) {
		resume_once(cache, sets[i], i == 1 ? 2 : 1, &d);
		expect_conn(&d.conn, TG_SMTPC_OK, TG_SMTPC_STEP_READY);
		assert_false(d.conn.tls_resumed);
	}
	assert_int_equal(tg_smtpc_cache_count(cache), 2);
	resume_once(cache, sets[0], 1, &d);	/* evicted */
	assert_false(d.conn.tls_resumed);
	resume_once(cache, sets[2], 1, &d);
	assert_true(d.conn.tls_resumed);
	assert_true(d.conn.tls.verified);
	assert_int_equal(F.resumed, 1);
	assert_int_equal(tg_smtpc_cache_count(cache), 2);
	tg_smtpc_cache_free(cache);
}

/* ---- timeouts: every step ---- */

struct tmo_case {
	const char *silent;
	enum tg_smtpc_tls tls;
	int plain_ehlo;		/* 1: no PIPELINING; 2: no EHLO at all */
	int ntxn;
	enum tg_smtpc_step step;
};

static const struct tmo_case tmo_cases[] = {
	{ "banner", TG_SMTPC_TLS_NONE, 0, 0, TG_SMTPC_STEP_BANNER },
	{ "ehlo", TG_SMTPC_TLS_NONE, 0, 0, TG_SMTPC_STEP_EHLO },
	{ "helo", TG_SMTPC_TLS_MAY, 2, 0, TG_SMTPC_STEP_HELO },
	{ "starttls", TG_SMTPC_TLS_REQUIRE, 0, 0, TG_SMTPC_STEP_STARTTLS },
	{ "tls-ehlo", TG_SMTPC_TLS_REQUIRE, 0, 0, TG_SMTPC_STEP_TLS_EHLO },
	{ "mail", TG_SMTPC_TLS_NONE, 1, 1, TG_SMTPC_STEP_MAIL },
	{ "rcpt", TG_SMTPC_TLS_NONE, 1, 1, TG_SMTPC_STEP_RCPT },
	{ "data", TG_SMTPC_TLS_NONE, 1, 1, TG_SMTPC_STEP_DATA },
	{ "mail", TG_SMTPC_TLS_NONE, 0, 1, TG_SMTPC_STEP_MAIL },
	{ "body", TG_SMTPC_TLS_NONE, 0, 1, TG_SMTPC_STEP_BODY },
	{ "dot", TG_SMTPC_TLS_REQUIRE, 0, 1, TG_SMTPC_STEP_DOT },
	{ "rset", TG_SMTPC_TLS_NONE, 0, 2, TG_SMTPC_STEP_RSET },
};

static void
check_tmo(const struct tmo_case *c, const struct drv *d,
    const struct tg_smtpc_conn *r)
{
	expect_conn(r, TG_SMTPC_TIMEOUT, c->step);
	expect_outcome(&r->why, TG_ERR_TEMP, "4.4.2");
	if (r->elapsed_ms < 190 || r->elapsed_ms > 3000)
		fail_msg("%s: %lld ms", c->silent, r->elapsed_ms);
	if (c->ntxn == 0)
		return;
	/* The transaction that was cut: every recipient deferred. */
	expect_outcome(&d->res[c->ntxn - 1].rr[0].final, TG_ERR_TEMP, "4.4.2");
	assert_int_equal(d->res[c->ntxn - 1].tr.dot_unanswered,
	    c->step == TG_SMTPC_STEP_DOT);
	if (c->step == TG_SMTPC_STEP_RSET)	/* the first one went */
		assert_int_equal(d->res[0].tr.delivered, 1);
}

static void
test_timeouts(void **state)
{
	struct tg_smtpc_params pp;
	struct fake_conf fc;
	struct tg_tls_verify v;
	struct msg m1, m2;
	struct drv d;
	size_t i;

	(void)state;
	verify_dane(&v, w.rr, 1);
	for (i = 0; i < sizeof(tmo_cases) / sizeof(tmo_cases[0]); i++) {
		const struct tmo_case *c = &tmo_cases[i];

		memset(&fc, 0, sizeof(fc));
		fc.silent = c->silent;
		if (c->plain_ehlo == 1)
			fc.ehlo = "250-fake.example\r\n250 SIZE\r\n";
		fc.helo_only = c->plain_ehlo == 2;
		fake_start(&F, w.base, w.server, &fc);
		msg_init(&m1, "hi\r\n", "a@example.net", NULL);
		msg_init(&m2, "hi\r\n", "a@example.net", NULL);
		if (c->step == TG_SMTPC_STEP_BODY)
			m1.src.endless = 1;
		memset(&d, 0, sizeof(d));
		d.txn[0] = &m1.txn;
		d.txn[1] = &m2.txn;
		d.ntxn = c->ntxn;
		params_for(&pp, c->tls, &v);
		pp.tmo.banner_ms = pp.tmo.helo_ms = pp.tmo.starttls_ms = 200;
		pp.tmo.mail_ms = pp.tmo.rcpt_ms = pp.tmo.data_ms = 200;
		pp.tmo.body_ms = pp.tmo.dot_ms = pp.tmo.rset_ms = 200;
		drv_run(&d, &pp);
		assert_int_equal(d.done, c->ntxn);
		check_tmo(c, &d, c->ntxn > 0 ? &d.res[c->ntxn - 1].conn :
		    &d.conn);
		assert_int_equal(F.nmsg, c->step == TG_SMTPC_STEP_DOT ||
		    c->step == TG_SMTPC_STEP_RSET);
		fake_stop(&F);
	}
}

/* A kept connection idle for idle_ms says QUIT and becomes unusable;
 * a server that says 421 while we are idle ends it too. */
static void
test_idle(void **state)
{
	struct tg_smtpc_params pp;
	struct msg m;
	struct tg_err err;
	struct drv d;

	(void)state;
	fake_start(&F, w.base, w.server, NULL);
	memset(&d, 0, sizeof(d));
	d.keep = 1;
	params_for(&pp, TG_SMTPC_TLS_NONE, NULL);
	pp.tmo.idle_ms = 200;
	drv_run(&d, &pp);
	assert_true(tg_smtpc_usable(d.c));
	loop_for(400);
	assert_int_equal(F.n_quit, 1);
	assert_false(tg_smtpc_usable(d.c));
	msg_init(&m, "hi\r\n", "a@example.net", NULL);
	assert_int_equal(tg_smtpc_send(d.c, &m.txn, on_done, &d, &err), -1);
	assert_int_equal(err.cls, TG_ERR_TEMP);
	assert_int_equal(tg_smtpc_result(d.c)->status, TG_SMTPC_OK);
	tg_smtpc_close(d.c);
	/* 421 while idle. */
	memset(&d, 0, sizeof(d));
	d.keep = 1;
	pp.tmo.idle_ms = 2000;
	drv_run(&d, &pp);
	fake_say(&F, "421 4.4.2 fake.example idle too long\r\n");
	loop_for(100);
	assert_false(tg_smtpc_usable(d.c));
	assert_int_equal(tg_smtpc_result(d.c)->status, TG_SMTPC_CLOSED);
	assert_int_equal(tg_smtpc_result(d.c)->why.code, 421);
	tg_smtpc_close(d.c);
}

/* RFC 5321 §3.8: 421 inside a transaction ends the connection; the
 * recipients are deferred, the 421 kept as the RCPT reply. */
static void
test_421_in_txn(void **state)
{
	struct tg_smtpc_params pp;
	struct msg m;
	struct drv d;

	(void)state;
	fake_start(&F, w.base, w.server, NULL);
	msg_init(&m, "hi\r\n", "a@example.net", "bye@example.net");
	memset(&d, 0, sizeof(d));
	d.txn[0] = &m.txn;
	d.ntxn = 1;
	params_for(&pp, TG_SMTPC_TLS_NONE, NULL);
	drv_run(&d, &pp);
	expect_conn(&d.res[0].conn, TG_SMTPC_CLOSED, TG_SMTPC_STEP_RCPT);
	assert_int_equal(d.res[0].rr[1].rcpt.code, 421);
	expect_outcome(&d.res[0].rr[0].final, TG_ERR_TEMP, "4.4.2");
	expect_outcome(&d.res[0].rr[1].final, TG_ERR_TEMP, "4.4.2");
	assert_int_equal(d.res[0].tr.delivered, 0);
	assert_int_equal(F.nmsg, 0);
}

/* A 4 MiB message, in clear and in TLS: the output is refilled as it
 * drains (never more than TG_SMTPC_OUT_HIGH queued by the client), and
 * the server gets every byte, stuffed, in order. */
static void
test_large_message(void **state)
{
	const size_t lines = 40000, len = 100;
	struct fake_conf fc = {
		.ehlo = "250-fake.example\r\n250-PIPELINING\r\n"
		    "250-SIZE 0\r\n250 STARTTLS\r\n",
		.tls_ehlo = "250-fake.example\r\n250 SIZE 5000000\r\n",
	};
	struct tg_smtpc_params pp;
	struct tg_tls_verify v;
	char *content, *wire;
	size_t i, k, wn = 0;
	struct msg m;
	struct drv d;

	(void)state;
	content = malloc(lines * len + 1);
	wire = malloc(lines * (len + 1) + 4);
	assert_non_null(content);
	assert_non_null(wire);
	for (i = 0; i < lines; i++) {
		char *l = content + i * len;

		memset(l, 'a' + (char)(i % 26), len - 2);
		snprintf(l, 12, "%c%09zu", i % 1000 == 0 ? '.' : 'L', i);
		l[10] = ' ';
		memcpy(l + len - 2, "\r\n", 2);
		if (l[0] == '.')
			wire[wn++] = '.';
		memcpy(wire + wn, l, len);
		wn += len;
	}
	content[lines * len] = '\0';
	memcpy(wire + wn, ".\r\n", 3);
	wn += 3;
	verify_dane(&v, w.rr, 1);
	fake_start(&F, w.base, w.server, &fc);
	for (k = 0; k < 2; k++) {
		msg_init(&m, content, "a@example.net", NULL);
		memset(&d, 0, sizeof(d));
		d.txn[0] = &m.txn;
		d.ntxn = 1;
		params_for(&pp, k == 0 ? TG_SMTPC_TLS_NONE :
		    TG_SMTPC_TLS_REQUIRE, &v);
		drv_run(&d, &pp);
		assert_int_equal(d.res[0].tr.delivered, 1);
		assert_int_equal(d.res[0].tr.bytes, lines * len);
		assert_int_equal(d.conn.tls_started, k);
		assert_int_equal(F.nmsg, (int)k + 1);
		assert_int_equal(F.msg_len[k], wn);
		assert_memory_equal(F.msg[k], wire, wn);
	}
	free(content);
	free(wire);
}

/* A content read error: the data is never ended with ".", the
 * connection is closed (RELIABILITY §0.2: a retry, never a truncated
 * message). */
static void
test_read_error(void **state)
{
	struct tg_smtpc_params pp;
	struct msg m;
	struct drv d;

	(void)state;
	fake_start(&F, w.base, w.server, NULL);
	msg_init(&m, tricky, "a@example.net", NULL);
	m.src.fail_after = 20;
	memset(&d, 0, sizeof(d));
	d.txn[0] = &m.txn;
	d.ntxn = 1;
	params_for(&pp, TG_SMTPC_TLS_NONE, NULL);
	drv_run(&d, &pp);
	expect_conn(&d.res[0].conn, TG_SMTPC_INTERNAL, TG_SMTPC_STEP_BODY);
	expect_outcome(&d.res[0].rr[0].final, TG_ERR_TEMP, "4.3.0");
	assert_non_null(strstr(d.res[0].rr[0].final.text, "disk on fire"));
	assert_int_equal(F.nmsg, 0);
	assert_null(F.bev);		/* the server saw the close */
}

/* ---- set-up, errors, names ---- */

static void
test_connect_refused(void **state)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct tg_smtpc_params pp;
	struct drv d;
	int s;

	(void)state;
	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	memset(&d, 0, sizeof(d));
	params_for(&pp, TG_SMTPC_TLS_NONE, NULL);
	pp.port = ntohs(sin.sin_port);
	drv_run(&d, &pp);
	expect_conn(&d.conn, TG_SMTPC_CONNECT_REFUSED, TG_SMTPC_STEP_CONNECT);
	expect_outcome(&d.conn.why, TG_ERR_TEMP, "4.4.1");
	close(s);
}

/* A listener whose backlog is full drops our SYN: the connect step
 * times out (Linux: backlog 0 holds one connection). */
static void
test_connect_timeout(void **state)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct tg_smtpc_params pp;
	struct drv d;
	int l, filler;

	(void)state;
	l = socket(AF_INET, SOCK_STREAM, 0);
	filler = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 0), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(connect(filler, (struct sockaddr *)&sin,
	    sizeof(sin)), 0);
	memset(&d, 0, sizeof(d));
	params_for(&pp, TG_SMTPC_TLS_NONE, NULL);
	pp.port = ntohs(sin.sin_port);
	pp.tmo.connect_ms = 200;
	drv_run(&d, &pp);
	expect_conn(&d.conn, TG_SMTPC_CONNECT_TIMEOUT, TG_SMTPC_STEP_CONNECT);
	expect_outcome(&d.conn.why, TG_ERR_TEMP, "4.4.1");
	assert_true(d.conn.elapsed_ms >= 190 && d.conn.elapsed_ms < 2000);
	close(filler);
	close(l);
}

static void
test_params_and_free(void **state)
{
	struct tg_smtpc_params pp;
	struct tg_tls_verify v;
	struct tg_smtpc *c;
	struct tg_err err;
	struct msg m;
	struct drv d;

	(void)state;
	verify_dane(&v, w.rr, 1);
	params_for(&pp, TG_SMTPC_TLS_MAY, &v);
	pp.addr = "mx.example.net";
	assert_null(tg_smtpc_connect(w.base, &pp, on_ready, &d, &err));
	assert_int_equal(err.cls, TG_ERR_BUG);
	pp.addr = "::1";
	pp.helo_name = "bad name";
	assert_null(tg_smtpc_connect(w.base, &pp, on_ready, &d, &err));
	pp.helo_name = "relay.example.org";
	pp.verify = NULL;
	assert_null(tg_smtpc_connect(w.base, &pp, on_ready, &d, &err));
	pp.verify = &v;
	assert_null(tg_smtpc_connect(w.base, &pp, NULL, &d, &err));
	pp.port = 70000;
	assert_null(tg_smtpc_connect(w.base, &pp, on_ready, &d, &err));
	/* Freed or closed before anything happened: no callback. */
	fake_start(&F, w.base, w.server, NULL);
	params_for(&pp, TG_SMTPC_TLS_MAY, &v);
	memset(&d, 0, sizeof(d));
	assert_non_null(c = tg_smtpc_connect(w.base, &pp, on_ready, &d,
	    &err));
	msg_init(&m, "hi\r\n", "a@example.net", NULL);
	assert_int_equal(tg_smtpc_send(c, &m.txn, on_done, &d, &err), -1);
	assert_int_equal(err.cls, TG_ERR_BUG);	/* not ready yet */
	tg_smtpc_free(c);
	assert_non_null(c = tg_smtpc_connect(w.base, &pp, on_ready, &d,
	    &err));
	tg_smtpc_close(c);
	tg_smtpc_close(NULL);
	tg_smtpc_free(NULL);
	loop_for(200);
	assert_int_equal(d.ready, 0);
	assert_string_equal(tg_smtpc_status_name(TG_SMTPC_NOT_VERIFIED),
	    "not-verified");
	assert_string_equal(tg_smtpc_step_name(TG_SMTPC_STEP_TLS_EHLO),
	    "tls-ehlo");
	assert_string_equal(tg_smtpc_status_name((enum tg_smtpc_status)99),
	    "unknown");
}

/* IPv6 literal addresses connect too (refused on a closed port). */
static void
test_ipv6(void **state)
{
	struct tg_smtpc_params pp;
	struct drv d;

	(void)state;
	memset(&d, 0, sizeof(d));
	params_for(&pp, TG_SMTPC_TLS_NONE, NULL);
	pp.addr = "::1";
	pp.port = 1;
	drv_run(&d, &pp);
	assert_int_not_equal(d.conn.status, TG_SMTPC_OK);
	assert_int_equal(d.conn.step, TG_SMTPC_STEP_CONNECT);
	assert_string_equal(d.conn.peer_ip, "::1");
}

#define CT(f) cmocka_unit_test_setup_teardown(f, base_setup, base_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		CT(test_plain_txn),
		CT(test_probe),
		CT(test_no_extensions),
		CT(test_helo_fallback),
		CT(test_dane_txn),
		CT(test_requiretls),
		CT(test_require_no_starttls),
		CT(test_require_454),
		CT(test_dane_mismatch),
		CT(test_dane_rules),
		CT(test_report_only),
		CT(test_starttls_injection),
		CT(test_handshake_failures),
		CT(test_hostile_replies),
		CT(test_hostile_in_txn),
		CT(test_rcpt_mixed),
		CT(test_data_replies),
		CT(test_all_refused_354),
		CT(test_local_refusals),
		CT(test_envelope_checks),
		CT(test_reuse),
		CT(test_resumption),
		CT(test_cache_bound),
		CT(test_timeouts),
		CT(test_idle),
		CT(test_421_in_txn),
		CT(test_large_message),
		CT(test_read_error),
		CT(test_connect_refused),
		CT(test_connect_timeout),
		CT(test_params_and_free),
		CT(test_ipv6),
	};

	return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
