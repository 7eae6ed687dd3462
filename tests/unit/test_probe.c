/*
 * Unit tests for smtp/probe: whole probes against scripted fake SMTP
 * servers on 127.0.0.1 in the same event loop (RELIABILITY O-07, O-08,
 * O-09; RFC 3207; RFC 7672 §2.2). The reply parser is tested in
 * test_smtpc_reply.c.
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

#include "smtp/probe.h"
#include "support/listen.h"
#include "support/pki.h"
#include "tls/tls_client.h"

/* ---- fake SMTP servers ---- */

enum fake_mode {
	F_GOOD,
	F_NO_STARTTLS,
	F_REFUSE,		/* 454 to STARTTLS */
	F_STALL,		/* "220 ready" then silence */
	F_INJECT,		/* replies injected after "220 ready" */
	F_BANNER_INJECT,	/* replies injected after the banner */
	F_HOSTILE,		/* EHLO reply with too many lines */
	F_LONG_LINE,		/* banner line without end */
	F_SILENT,		/* no banner */
	F_BANNER_554,
	F_HANGUP		/* closes the connection at STARTTLS */
};

struct fake {
	struct event_base *base;
	struct evconnlistener *lst;
	unsigned port;
	enum fake_mode mode;
	SSL_CTX *ctx;
	struct bufferevent *bev;
	int tls, raw, closed;
	int saw_ehlo, saw_starttls, saw_tls_ehlo, saw_quit;
	size_t raw_bytes;	/* bytes read after a fake "220 ready" */
};

static void fake_read_cb(struct bufferevent *bev, void *arg);

static void
fake_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct fake *f = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		f->closed = 1;
}

static void
fake_say(struct fake *f, const char *s)
{
	bufferevent_write(f->bev, s, strlen(s));
}

static void
fake_start_tls(struct fake *f)
{
	SSL *ssl = SSL_new(f->ctx);
	struct bufferevent *t;

	t = bufferevent_openssl_filter_new(f->base, f->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	assert_non_null(t);
	bufferevent_openssl_set_allow_dirty_shutdown(t, 1);
	f->bev = t;
	f->tls = 1;
	bufferevent_setcb(t, fake_read_cb, NULL, fake_event_cb, f);
	bufferevent_enable(t, EV_READ | EV_WRITE);
}

static void
fake_ehlo(struct fake *f)
{
	int i;

	if (f->tls) {
		f->saw_tls_ehlo = 1;
		fake_say(f, "250-fake.example\r\n250 PIPELINING\r\n");
		return;
	}
	f->saw_ehlo = 1;
	if (f->mode == F_NO_STARTTLS) {
		fake_say(f, "250-fake.example\r\n250 PIPELINING\r\n");
		return;
	}
	if (f->mode == F_HOSTILE) {
		for (i = 0; i < 150; i++)
			fake_say(f, "250-SPAM\r\n");
		fake_say(f, "250 STARTTLS\r\n");
		return;
	}
	fake_say(f, "250-fake.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
}

/* Returns 1 when the connection switched to TLS or raw mode. */
static int
fake_starttls(struct fake *f)
{
	f->saw_starttls = 1;
	switch (f->mode) {
	case F_REFUSE:
		fake_say(f, "454 4.7.0 TLS not available\r\n");
		return 0;
	case F_STALL:
		fake_say(f, "220 2.0.0 Ready\r\n");
		f->raw = 1;
		return 1;
	case F_INJECT:
		fake_say(f, "220 2.0.0 Ready\r\n250-injected\r\n"
		    "250 PIPELINING\r\n");
		f->raw = 1;
		return 1;
	case F_HANGUP:
		bufferevent_free(f->bev);
		f->bev = NULL;
		return 1;
	default:
		fake_say(f, "220 2.0.0 Ready\r\n");
		fake_start_tls(f);
		return 1;
	}
}

static int
fake_command(struct fake *f, const char *cmd)
{
	if (strncmp(cmd, "EHLO ", 5) == 0)
		fake_ehlo(f);
	else if (strcmp(cmd, "STARTTLS") == 0 && !f->tls)
		return fake_starttls(f);
	else if (strcmp(cmd, "QUIT") == 0) {
		f->saw_quit = 1;
		fake_say(f, "221 2.0.0 Bye\r\n");
	} else
		fake_say(f, "500 5.5.1 unknown\r\n");
	return 0;
}

static void
fake_read_cb(struct bufferevent *bev, void *arg)
{
	struct fake *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line;

	if (f->raw) {
		f->raw_bytes += evbuffer_get_length(in);
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF_STRICT))) {
		int switched = fake_command(f, line);

		free(line);
		if (switched)
			return;
	}
}

static const char *
fake_banner(enum fake_mode mode)
{
	static char longline[3000];

	switch (mode) {
	case F_SILENT:
		return "";
	case F_BANNER_INJECT:
		return "220 fake.example ESMTP\r\n250-injected\r\n"
		    "250 STARTTLS\r\n";
	case F_BANNER_554:
		return "554 5.3.2 go away\r\n";
	case F_LONG_LINE:
		memset(longline, 'a', sizeof(longline) - 1);
		memcpy(longline, "220-", 4);
		return longline;
	default:
		return "220 fake.example ESMTP\r\n";
	}
}

static void
fake_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct fake *f = arg;

	(void)l;
	(void)sa;
	(void)salen;
	if (f->bev != NULL) {
		close(fd);
		return;
	}
	f->bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(f->bev, fake_read_cb, NULL, fake_event_cb, f);
	bufferevent_enable(f->bev, EV_READ | EV_WRITE);
	fake_say(f, fake_banner(f->mode));
}

static void
fake_start(struct fake *f, struct event_base *base, enum fake_mode mode,
    SSL_CTX *ctx)
{
	memset(f, 0, sizeof(*f));
	f->base = base;
	f->mode = mode;
	f->ctx = ctx;
	f->lst = tg_test_listen(base, fake_accept, f, &f->port);
}

static void
fake_stop(struct fake *f)
{
	if (f->bev != NULL)
		bufferevent_free(f->bev);
	evconnlistener_free(f->lst);
}

/* ---- running probes ---- */

struct world {
	struct event_base *base;
	EVP_PKEY *key, *other_key;
	X509 *leaf, *other;
	SSL_CTX *server, *client;
	struct tg_tlsa_rr *rr;		/* 3 1 1 of the leaf */
	struct tg_tlsa_rr *wrong;	/* 3 1 1 of another key */
};

static struct world w;

static int
world_setup(void **state)
{
	/* O-01 shape: the served leaf is expired and names nothing we
	 * ask for; DANE-EE authenticates it all the same. */
	const char *names[] = { "unrelated.example", NULL };
	struct tg_err err;

	(void)state;
	w.key = tg_test_key();
	w.other_key = tg_test_key();
	w.leaf = tg_test_cert(w.key, NULL, names, -30, -1, 0, NULL, NULL);
	w.other = tg_test_cert(w.other_key, NULL, names, -1, 30, 0, NULL,
	    NULL);
	w.server = tg_test_server_ctx(w.leaf, w.key, NULL);
	w.client = tg_tls_client_ctx_new(NULL, &err);
	w.rr = calloc(1, sizeof(*w.rr));
	w.wrong = calloc(1, sizeof(*w.wrong));
	if (w.client == NULL ||
	    tg_tlsa_from_cert(w.leaf, 3, 1, 1, w.rr, &err) < 0 ||
	    tg_tlsa_from_cert(w.other, 3, 1, 1, w.wrong, &err) < 0)
		return -1;
	return 0;
}

static int
world_teardown(void **state)
{
	(void)state;
	SSL_CTX_free(w.server);
	SSL_CTX_free(w.client);
	X509_free(w.leaf);
	X509_free(w.other);
	EVP_PKEY_free(w.key);
	EVP_PKEY_free(w.other_key);
	free(w.rr);
	free(w.wrong);
	return 0;
}

static int
base_setup(void **state)
{
	(void)state;
	w.base = event_base_new();
	return w.base == NULL ? -1 : 0;
}

static int
base_teardown(void **state)
{
	(void)state;
	event_base_free(w.base);
	w.base = NULL;
	return 0;
}

struct outcome {
	int done;
	struct tg_probe_result res;
};

static int pending;		/* probes still running */

static void
on_done(const struct tg_probe_result *res, void *arg)
{
	struct outcome *o = arg;

	o->done++;
	memcpy(&o->res, res, sizeof(*res));
	if (--pending <= 0)
		event_base_loopbreak(w.base);
}

static void
on_safety(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(w.base);
}

/* Run the loop until every probe has reported (or 10 s pass), then a
 * little longer so the fake server sees what the client did last. */
static void
run_loop(void)
{
	struct timeval ten = { 10, 0 }, settle = { 0, 50000 };
	struct event *safety = evtimer_new(w.base, on_safety, NULL);

	evtimer_add(safety, &ten);
	event_base_dispatch(w.base);
	event_free(safety);
	event_base_loopexit(w.base, &settle);
	event_base_dispatch(w.base);
	assert_int_equal(pending, 0);
}

static void
verify_dane(struct tg_tls_verify *v, const struct tg_tlsa_rr *rr)
{
	memset(v, 0, sizeof(*v));
	v->mode = TG_TLS_DANE;
	v->tlsa_base = "mx.example.net";
	v->tlsa = rr;
	v->tlsa_n = 1;
}

static void
params_for(struct tg_probe_params *pp, unsigned port,
    const struct tg_tls_verify *v)
{
	tg_probe_params_init(pp);
	pp->addr = "127.0.0.1";
	pp->port = port;
	pp->helo_name = "probe.example.org";
	pp->ctx = w.client;
	pp->verify = v;
	pp->connect_ms = 2000;
	pp->banner_ms = 2000;
	pp->ehlo_ms = 2000;
	pp->starttls_ms = 2000;
	pp->tls_ms = 2000;
	pp->quit_ms = 2000;
}

/* Probe one fake server in mode with v; the outcome lands in *o. */
static void
probe_fake(struct fake *f, enum fake_mode mode, const struct tg_tls_verify *v,
    int tls_ms, int banner_ms, struct outcome *o)
{
	struct tg_probe_params pp;
	struct tg_err err;

	memset(o, 0, sizeof(*o));
	pending = 1;
	fake_start(f, w.base, mode, w.server);
	params_for(&pp, f->port, v);
	if (tls_ms > 0)
		pp.tls_ms = tls_ms;
	if (banner_ms > 0)
		pp.banner_ms = banner_ms;
	assert_non_null(tg_probe_start(w.base, &pp, on_done, o, &err));
	run_loop();
	assert_int_equal(o->done, 1);
}

static void
expect(const struct outcome *o, enum tg_probe_status st,
    enum tg_probe_step step)
{
	if (o->res.status != st || o->res.step != step)
		fail_msg("status %s at %s (%s), want %s at %s",
		    tg_probe_status_name(o->res.status),
		    tg_probe_step_name(o->res.step), o->res.reason,
		    tg_probe_status_name(st), tg_probe_step_name(step));
}

static void
test_good_dane(void **state)
{
	struct tg_tls_verify v;
	struct outcome o;
	struct fake f;

	(void)state;
	verify_dane(&v, w.rr);
	probe_fake(&f, F_GOOD, &v, 0, 0, &o);
	expect(&o, TG_PROBE_OK, TG_PROBE_STEP_DONE);
	assert_string_equal(o.res.banner, "220 fake.example ESMTP");
	assert_true(o.res.starttls_offered);
	assert_true(o.res.tls_started);
	assert_true(o.res.tls.handshake_done);
	assert_true(o.res.tls.verified);
	assert_int_equal(o.res.tls.dane_depth, 0);
	assert_int_equal(o.res.tls.tlsa_index, 0);
	assert_true(o.res.tls_ehlo_ok);
	assert_null(o.res.result_type);
	assert_true(o.res.elapsed_ms >= 0 && o.res.elapsed_ms < 5000);
	/* The server saw EHLO again inside TLS, then QUIT (RFC 3207 §4.1). */
	assert_true(f.saw_tls_ehlo);
	assert_true(f.saw_quit);
	fake_stop(&f);
}

static void
test_dane_mismatch(void **state)
{
	struct tg_tls_verify v;
	struct outcome o;
	struct fake f;

	(void)state;
	verify_dane(&v, w.wrong);
	probe_fake(&f, F_GOOD, &v, 0, 0, &o);
	expect(&o, TG_PROBE_NOT_VERIFIED, TG_PROBE_STEP_TLS);
	assert_string_equal(o.res.result_type, "tlsa-invalid");
	assert_false(o.res.tls.handshake_done);
	assert_false(o.res.tls_ehlo_ok);
	/* RFC 7672 §3: the handshake is aborted, nothing sent in TLS. */
	assert_false(f.saw_tls_ehlo);
	fake_stop(&f);
}

static void
test_dane_mismatch_report_only(void **state)
{
	struct tg_tls_verify v;
	struct outcome o;
	struct fake f;

	(void)state;
	verify_dane(&v, w.wrong);
	v.report_only = 1;
	probe_fake(&f, F_GOOD, &v, 0, 0, &o);
	expect(&o, TG_PROBE_NOT_VERIFIED, TG_PROBE_STEP_TLS);
	assert_string_equal(o.res.result_type, "tlsa-invalid");
	assert_true(o.res.tls.handshake_done);
	assert_true(o.res.tls_ehlo_ok);
	assert_true(f.saw_tls_ehlo);
	assert_true(f.saw_quit);
	fake_stop(&f);
}

static void
test_opportunistic(void **state)
{
	struct tg_tls_verify v = { 0 };
	struct outcome o;
	struct fake f;

	(void)state;
	v.mode = TG_TLS_OPPORTUNISTIC;
	v.host = "mx.example.net";
	probe_fake(&f, F_GOOD, &v, 0, 0, &o);
	expect(&o, TG_PROBE_OK, TG_PROBE_STEP_DONE);
	assert_false(o.res.tls.verified);
	assert_false(o.res.tls.auth_required);
	assert_non_null(o.res.tls.result_type);	/* what PKIX would say */
	fake_stop(&f);
}

static void
test_no_starttls(void **state)
{
	struct tg_tls_verify v;
	struct outcome o;
	struct fake f;

	(void)state;
	verify_dane(&v, w.rr);
	probe_fake(&f, F_NO_STARTTLS, &v, 0, 0, &o);
	expect(&o, TG_PROBE_NO_STARTTLS, TG_PROBE_STEP_EHLO);
	assert_false(o.res.starttls_offered);
	assert_false(o.res.tls_started);
	assert_string_equal(o.res.result_type, "starttls-not-supported");
	assert_false(f.saw_starttls);
	assert_true(f.saw_quit);
	fake_stop(&f);
}

static void
test_starttls_refused(void **state)
{
	struct tg_tls_verify v;
	struct outcome o;
	struct fake f;

	(void)state;
	verify_dane(&v, w.rr);
	probe_fake(&f, F_REFUSE, &v, 0, 0, &o);
	expect(&o, TG_PROBE_STARTTLS_REFUSED, TG_PROBE_STEP_STARTTLS);
	assert_int_equal(o.res.reply_code, 454);
	assert_string_equal(o.res.reply, "454 4.7.0 TLS not available");
	assert_string_equal(o.res.result_type, "starttls-not-supported");
	assert_non_null(strstr(o.res.reason, "454"));
	assert_true(f.saw_quit);
	fake_stop(&f);
}

static void
test_handshake_stall(void **state)
{
	struct tg_tls_verify v;
	struct outcome o;
	struct fake f;

	(void)state;
	verify_dane(&v, w.rr);
	probe_fake(&f, F_STALL, &v, 300, 0, &o);
	expect(&o, TG_PROBE_HANDSHAKE_TIMEOUT, TG_PROBE_STEP_TLS);
	assert_true(o.res.elapsed_ms >= 290);
	assert_true(o.res.elapsed_ms < 3000);
	assert_true(o.res.tls_started);
	assert_true(f.raw_bytes > 0);	/* the ClientHello went out */
	fake_stop(&f);
}

/* O-08 / CVE-2021-38371: replies injected after "220 Ready". */
static void
test_injection_after_starttls(void **state)
{
	struct tg_tls_verify v;
	struct outcome o;
	struct fake f;

	(void)state;
	verify_dane(&v, w.rr);
	probe_fake(&f, F_INJECT, &v, 0, 0, &o);
	expect(&o, TG_PROBE_PROTOCOL_ERROR, TG_PROBE_STEP_STARTTLS);
	assert_non_null(strstr(o.res.reason, "injection"));
	assert_false(o.res.tls_started);
	/* Aborted before a single TLS byte was sent. */
	assert_int_equal(f.raw_bytes, 0);
	assert_true(f.closed);
	fake_stop(&f);
}

static void
test_banner_injection(void **state)
{
	struct tg_tls_verify v;
	struct outcome o;
	struct fake f;

	(void)state;
	verify_dane(&v, w.rr);
	probe_fake(&f, F_BANNER_INJECT, &v, 0, 0, &o);
	expect(&o, TG_PROBE_PROTOCOL_ERROR, TG_PROBE_STEP_BANNER);
	assert_false(f.saw_ehlo);
	fake_stop(&f);
}

/* O-09: hostile replies. */
static void
test_hostile_multiline(void **state)
{
	struct tg_tls_verify v;
	struct outcome o;
	struct fake f;

	(void)state;
	verify_dane(&v, w.rr);
	probe_fake(&f, F_HOSTILE, &v, 0, 0, &o);
	expect(&o, TG_PROBE_PROTOCOL_ERROR, TG_PROBE_STEP_EHLO);
	assert_non_null(strstr(o.res.reason, "more than"));
	assert_false(f.saw_starttls);
	fake_stop(&f);
}

static void
test_long_line(void **state)
{
	struct tg_tls_verify v;
	struct outcome o;
	struct fake f;

	(void)state;
	verify_dane(&v, w.rr);
	probe_fake(&f, F_LONG_LINE, &v, 0, 0, &o);
	expect(&o, TG_PROBE_PROTOCOL_ERROR, TG_PROBE_STEP_BANNER);
	assert_non_null(strstr(o.res.reason, "longer"));
	fake_stop(&f);
}

static void
test_banner_timeout(void **state)
{
	struct tg_tls_verify v;
	struct outcome o;
	struct fake f;

	(void)state;
	verify_dane(&v, w.rr);
	probe_fake(&f, F_SILENT, &v, 0, 200, &o);
	expect(&o, TG_PROBE_TIMEOUT, TG_PROBE_STEP_BANNER);
	assert_true(o.res.elapsed_ms >= 190);
	fake_stop(&f);
}

static void
test_banner_rejected(void **state)
{
	struct tg_tls_verify v;
	struct outcome o;
	struct fake f;

	(void)state;
	verify_dane(&v, w.rr);
	probe_fake(&f, F_BANNER_554, &v, 0, 0, &o);
	expect(&o, TG_PROBE_BANNER_REJECTED, TG_PROBE_STEP_BANNER);
	assert_int_equal(o.res.reply_code, 554);
	assert_true(f.saw_quit);
	assert_false(f.saw_ehlo);
	fake_stop(&f);
}

static void
test_server_hangs_up(void **state)
{
	struct tg_tls_verify v;
	struct outcome o;
	struct fake f;

	(void)state;
	verify_dane(&v, w.rr);
	probe_fake(&f, F_HANGUP, &v, 0, 0, &o);
	expect(&o, TG_PROBE_CLOSED, TG_PROBE_STEP_STARTTLS);
	assert_false(o.res.tls_started);
	fake_stop(&f);
}

static void
test_connect_refused(void **state)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct tg_probe_params pp;
	struct tg_tls_verify v;
	struct tg_err err;
	struct outcome o;
	int s;

	(void)state;
	/* A bound socket that does not listen: its port refuses. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	verify_dane(&v, w.rr);
	params_for(&pp, ntohs(sin.sin_port), &v);
	memset(&o, 0, sizeof(o));
	pending = 1;
	assert_non_null(tg_probe_start(w.base, &pp, on_done, &o, &err));
	/* The callback never runs inside tg_probe_start. */
	assert_int_equal(o.done, 0);
	run_loop();
	assert_int_equal(o.done, 1);
	expect(&o, TG_PROBE_CONNECT_REFUSED, TG_PROBE_STEP_CONNECT);
	close(s);
}

/* Two probes at once on one loop, as `tlsgate check` runs them. */
static void
test_concurrent(void **state)
{
	struct tg_probe_params p1, p2;
	struct tg_tls_verify v;
	struct outcome o1, o2;
	struct fake f1, f2;
	struct tg_err err;

	(void)state;
	verify_dane(&v, w.rr);
	fake_start(&f1, w.base, F_GOOD, w.server);
	fake_start(&f2, w.base, F_NO_STARTTLS, w.server);
	params_for(&p1, f1.port, &v);
	params_for(&p2, f2.port, &v);
	memset(&o1, 0, sizeof(o1));
	memset(&o2, 0, sizeof(o2));
	pending = 2;
	assert_non_null(tg_probe_start(w.base, &p1, on_done, &o1, &err));
	assert_non_null(tg_probe_start(w.base, &p2, on_done, &o2, &err));
	run_loop();
	assert_int_equal(o1.done, 1);
	assert_int_equal(o2.done, 1);
	expect(&o1, TG_PROBE_OK, TG_PROBE_STEP_DONE);
	expect(&o2, TG_PROBE_NO_STARTTLS, TG_PROBE_STEP_EHLO);
	fake_stop(&f1);
	fake_stop(&f2);
}

static void
test_params_and_cancel(void **state)
{
	struct tg_probe_params pp;
	struct tg_tls_verify v;
	struct tg_probe *p;
	struct tg_err err;
	struct outcome o;
	struct fake f;

	(void)state;
	verify_dane(&v, w.rr);
	params_for(&pp, 25, &v);
	pp.addr = "mx.example.net";
	assert_null(tg_probe_start(w.base, &pp, on_done, &o, &err));
	pp.addr = "::1";
	pp.helo_name = "bad name";
	assert_null(tg_probe_start(w.base, &pp, on_done, &o, &err));
	pp.helo_name = "probe.example.org";
	pp.verify = NULL;
	assert_null(tg_probe_start(w.base, &pp, on_done, &o, &err));
	/* A cancelled probe never calls back and leaks nothing. */
	fake_start(&f, w.base, F_GOOD, w.server);
	params_for(&pp, f.port, &v);
	memset(&o, 0, sizeof(o));
	pending = 0;
	assert_non_null(p = tg_probe_start(w.base, &pp, on_done, &o, &err));
	tg_probe_cancel(p);
	tg_probe_cancel(NULL);
	run_loop();
	assert_int_equal(o.done, 0);
	fake_stop(&f);
	assert_string_equal(tg_probe_status_name(TG_PROBE_NOT_VERIFIED),
	    "not-verified");
	assert_string_equal(tg_probe_step_name(TG_PROBE_STEP_TLS_EHLO),
	    "tls-ehlo");
}

#define PT(f) cmocka_unit_test_setup_teardown(f, base_setup, base_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		PT(test_good_dane),
		PT(test_dane_mismatch),
		PT(test_dane_mismatch_report_only),
		PT(test_opportunistic),
		PT(test_no_starttls),
		PT(test_starttls_refused),
		PT(test_handshake_stall),
		PT(test_injection_after_starttls),
		PT(test_banner_injection),
		PT(test_hostile_multiline),
		PT(test_long_line),
		PT(test_banner_timeout),
		PT(test_banner_rejected),
		PT(test_server_hangs_up),
		PT(test_connect_refused),
		PT(test_concurrent),
		PT(test_params_and_cancel),
	};

	return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
