/*
 * smtp/probe — see probe.h.
 */
#include "smtp/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "core/log.h"
#include "util/clock.h"

/* ---- the session ---- */

struct tg_probe {
	struct event_base *base;	/* borrowed */
	enum tg_probe_step state;
	struct sockaddr_storage sa;
	socklen_t salen;
	char addr[INET6_ADDRSTRLEN];
	unsigned port;
	char helo[TG_DNAME_MAX + 1];
	SSL_CTX *ctx;			/* borrowed */
	const struct tg_tls_verify *verify; /* borrowed */
	int tmo_ms[TG_PROBE_STEP_DONE];
	int fd;				/* owned until the bufferevent has it */
	struct event *conn_ev;		/* owned */
	struct event *timer;		/* owned */
	struct event *done_ev;		/* owned */
	struct bufferevent *bev;	/* owned: socket, later TLS filter */
	struct tg_smtp_reply reply;
	int failed;			/* res holds the first failure */
	int ended;
	long long start_ms;
	tg_probe_cb cb;
	void *arg;
	struct tg_probe_result res;
};

static void probe_read_cb(struct bufferevent *bev, void *arg);
static void probe_event_cb(struct bufferevent *bev, short what, void *arg);

/* Record the first failure; later ones do not overwrite it. */
static void __attribute__((format(printf, 3, 4)))
probe_fail(struct tg_probe *p, enum tg_probe_status st, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = 1;
	p->res.status = st;
	p->res.step = p->state;
	va_start(ap, fmt);
	vsnprintf(p->res.reason, sizeof(p->res.reason), fmt, ap);
	va_end(ap);
}

static void
probe_teardown(struct tg_probe *p)
{
	if (p->timer != NULL)
		event_free(p->timer);
	if (p->conn_ev != NULL)
		event_free(p->conn_ev);
	/* Safe inside the bufferevent's own callback: libevent holds a
	 * reference until the callback returns. */
	if (p->bev != NULL)
		bufferevent_free(p->bev);
	if (p->fd >= 0)
		close(p->fd);
	p->timer = NULL;
	p->conn_ev = NULL;
	p->bev = NULL;
	p->fd = -1;
	tg_smtp_reply_free(&p->reply);
}

/* End the session and deliver the result from a fresh event. */
static void
probe_end(struct tg_probe *p)
{
	if (p->ended)
		return;
	p->ended = 1;
	probe_teardown(p);
	if (!p->failed)
		p->res.step = TG_PROBE_STEP_DONE;
	p->res.elapsed_ms = tg_clock_mono_ms() - p->start_ms;
	event_active(p->done_ev, EV_TIMEOUT, 0);
}

static void __attribute__((format(printf, 3, 4)))
probe_abort(struct tg_probe *p, enum tg_probe_status st, const char *fmt, ...)
{
	va_list ap;
	char msg[sizeof(p->res.reason)];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	probe_fail(p, st, "%s", msg);
	probe_end(p);
}

static void
probe_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tg_probe *p = arg;

	(void)fd;
	(void)what;
	p->cb(&p->res, p->arg);
	event_free(p->done_ev);
	free(p);
}

void
tg_probe_cancel(struct tg_probe *p)
{
	if (p == NULL)
		return;
	probe_teardown(p);
	if (p->done_ev != NULL)
		event_free(p->done_ev);
	free(p);
}

static void
probe_enter(struct tg_probe *p, enum tg_probe_step st)
{
	struct timeval tv;
	int ms = p->tmo_ms[st];

	p->state = st;
	tg_smtp_reply_free(&p->reply);
	tg_smtp_reply_init(&p->reply);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(p->timer, &tv);
}

static void __attribute__((format(printf, 2, 3)))
probe_send(struct tg_probe *p, const char *fmt, ...)
{
	char cmd[TG_SMTP_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd) ||
	    bufferevent_write(p->bev, cmd, (size_t)n) != 0)
		probe_abort(p, TG_PROBE_INTERNAL, "cannot queue a command");
}

/* The server refused a step: say QUIT before reporting (RFC 5321
 * §4.1.1.10), with its own short timeout. */
static void
probe_quit(struct tg_probe *p)
{
	probe_send(p, "QUIT\r\n");
	if (!p->ended)
		probe_enter(p, TG_PROBE_STEP_QUIT);
}

/* Remember the deciding reply: code and first line, escaped. */
static void
probe_note_reply(struct tg_probe *p)
{
	const char *t = tg_buf_cstr(&p->reply.text);
	const char *nl = strchr(t, '\n');
	size_t n = nl != NULL ? (size_t)(nl - t) : strlen(t);
	char esc[TG_PROBE_TEXT_MAX - 8];

	tg_log_escape(esc, sizeof(esc), t, n);
	p->res.reply_code = p->reply.code;
	snprintf(p->res.reply, sizeof(p->res.reply), "%03d %s",
	    p->reply.code % 1000, esc);
}

/* ---- one handler per state ---- */

static void
st_banner(struct tg_probe *p)
{
	probe_note_reply(p);
	if (p->reply.code != 220) {
		probe_fail(p, TG_PROBE_BANNER_REJECTED, "greeting refused: %s",
		    p->res.reply);
		probe_quit(p);
		return;
	}
	snprintf(p->res.banner, sizeof(p->res.banner), "%s", p->res.reply);
	probe_send(p, "EHLO %s\r\n", p->helo);
	if (!p->ended)
		probe_enter(p, TG_PROBE_STEP_EHLO);
}

static void
st_ehlo(struct tg_probe *p)
{
	probe_note_reply(p);
	if (p->reply.code != 250) {
		probe_fail(p, TG_PROBE_EHLO_REJECTED, "EHLO refused: %s",
		    p->res.reply);
		probe_quit(p);
		return;
	}
	p->res.starttls_offered =
	    tg_smtp_reply_has_keyword(&p->reply, "STARTTLS");
	if (!p->res.starttls_offered) {
		probe_fail(p, TG_PROBE_NO_STARTTLS,
		    "server does not offer STARTTLS");
		p->res.result_type = "starttls-not-supported";
		probe_quit(p);
		return;
	}
	probe_send(p, "STARTTLS\r\n");
	if (!p->ended)
		probe_enter(p, TG_PROBE_STEP_STARTTLS);
}

static void
probe_start_tls(struct tg_probe *p)
{
	struct bufferevent *tls;
	struct tg_err err;
	SSL *ssl;

	if ((ssl = tg_tls_client_new(p->ctx, p->verify, &err)) == NULL) {
		probe_abort(p, TG_PROBE_INTERNAL, "TLS setup: %s", err.msg);
		return;
	}
	p->res.tls_started = 1;
	tls = bufferevent_openssl_filter_new(p->base, p->bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		/* libevent has freed ssl and the socket bufferevent. */
		p->bev = NULL;
		probe_abort(p, TG_PROBE_INTERNAL, "cannot start TLS");
		return;
	}
	p->bev = tls;
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	bufferevent_setcb(tls, probe_read_cb, NULL, probe_event_cb, p);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
	probe_enter(p, TG_PROBE_STEP_TLS);
}

static void
st_starttls(struct tg_probe *p)
{
	probe_note_reply(p);
	if (p->reply.code != 220) {
		probe_fail(p, TG_PROBE_STARTTLS_REFUSED, "STARTTLS refused: %s",
		    p->res.reply);
		p->res.result_type = "starttls-not-supported";
		probe_quit(p);
		return;
	}
	probe_start_tls(p);
}

static void
st_tls_ehlo(struct tg_probe *p)
{
	probe_note_reply(p);
	if (p->reply.code != 250)
		probe_fail(p, TG_PROBE_EHLO_REJECTED,
		    "EHLO over TLS refused: %s", p->res.reply);
	else
		p->res.tls_ehlo_ok = 1;
	probe_quit(p);
}

static void
st_quit(struct tg_probe *p)
{
	probe_end(p);
}

typedef void (*probe_handler)(struct tg_probe *p);

static const probe_handler probe_handlers[TG_PROBE_STEP_DONE] = {
	[TG_PROBE_STEP_BANNER] = st_banner,
	[TG_PROBE_STEP_EHLO] = st_ehlo,
	[TG_PROBE_STEP_STARTTLS] = st_starttls,
	[TG_PROBE_STEP_TLS_EHLO] = st_tls_ehlo,
	[TG_PROBE_STEP_QUIT] = st_quit,
};

/* ---- I/O ---- */

/* A complete reply: nothing may follow it, since we never pipeline
 * (CVE-2021-38371: after "220" to STARTTLS this is an injection). */
static void
probe_dispatch(struct tg_probe *p, struct evbuffer *in)
{
	evtimer_del(p->timer);
	if (evbuffer_get_length(in) > 0 && p->state != TG_PROBE_STEP_QUIT) {
		probe_note_reply(p);
		if (p->state == TG_PROBE_STEP_STARTTLS)
			probe_abort(p, TG_PROBE_PROTOCOL_ERROR,
			    "plaintext after the STARTTLS reply "
			    "(response injection)");
		else
			probe_abort(p, TG_PROBE_PROTOCOL_ERROR,
			    "data after the reply, before our next command");
		return;
	}
	probe_handlers[p->state](p);
}

static void
probe_read_cb(struct bufferevent *bev, void *arg)
{
	struct tg_probe *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct tg_err err;
	int rc;

	if (p->ended)
		return;
	if (probe_handlers[p->state] == NULL) {
		probe_abort(p, TG_PROBE_PROTOCOL_ERROR,
		    "data from the server out of turn");
		return;
	}
	if ((rc = tg_smtp_reply_read(&p->reply, in, &err)) == 0)
		return;
	if (rc < 0) {
		probe_abort(p, TG_PROBE_PROTOCOL_ERROR, "bad reply: %s",
		    err.msg);
		return;
	}
	/* Nothing is left in "in" after probe_dispatch, and after
	 * STARTTLS the bufferevent is a new one: this read is over. */
	probe_dispatch(p, in);
}

/* The last OpenSSL error libevent saw on this bufferevent, as text. */
static void
probe_ssl_error(struct bufferevent *bev, char *out, size_t outlen)
{
	unsigned long e, last = 0;

	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		last = e;
	if (last != 0)
		ERR_error_string_n(last, out, outlen);
	else
		snprintf(out, outlen, "connection closed");
	ERR_clear_error();
}

static void
probe_tls_failed(struct tg_probe *p)
{
	struct tg_tls_result *t = &p->res.tls;
	char ebuf[200];

	if (t->auth_required && t->verify_code != X509_V_OK) {
		p->res.result_type = t->result_type;
		probe_abort(p, TG_PROBE_NOT_VERIFIED, "%s", t->reason);
		return;
	}
	p->res.result_type = "validation-failure";
	probe_ssl_error(p->bev, ebuf, sizeof(ebuf));
	snprintf(t->reason, sizeof(t->reason), "TLS handshake failed: %s",
	    ebuf);
	probe_abort(p, TG_PROBE_HANDSHAKE_FAILED, "%s", t->reason);
}

static void
probe_tls_event(struct tg_probe *p, short what)
{
	SSL *ssl = bufferevent_openssl_get_ssl(p->bev);
	int ok = (what & BEV_EVENT_CONNECTED) != 0;

	evtimer_del(p->timer);
	tg_tls_client_result(ssl, p->verify, ok, &p->res.tls);
	if (!ok) {
		probe_tls_failed(p);
		return;
	}
	if (!tg_tls_result_ok(&p->res.tls)) {
		/* Only with report_only: the handshake went on. */
		probe_fail(p, TG_PROBE_NOT_VERIFIED, "%s", p->res.tls.reason);
		p->res.result_type = p->res.tls.result_type;
	}
	/* RFC 3207 §4.2: forget the pre-TLS EHLO; ask again (§4.1). */
	probe_send(p, "EHLO %s\r\n", p->helo);
	if (!p->ended)
		probe_enter(p, TG_PROBE_STEP_TLS_EHLO);
}

static void
probe_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tg_probe *p = arg;

	(void)bev;
	if (p->state == TG_PROBE_STEP_TLS) {
		probe_tls_event(p, what);
		return;
	}
	if (p->state == TG_PROBE_STEP_QUIT) {
		probe_end(p);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		probe_abort(p, TG_PROBE_CLOSED,
		    "connection closed by the server");
	} else if ((what & BEV_EVENT_ERROR) && p->res.tls_started) {
		char ebuf[200];

		probe_ssl_error(p->bev, ebuf, sizeof(ebuf));
		probe_abort(p, TG_PROBE_CLOSED, "TLS error: %s", ebuf);
	} else if (what & BEV_EVENT_ERROR) {
		probe_abort(p, TG_PROBE_CLOSED, "connection error: %s",
		    strerror(EVUTIL_SOCKET_ERROR()));
	}
}

static void
probe_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tg_probe *p = arg;

	(void)fd;
	(void)what;
	switch (p->state) {
	case TG_PROBE_STEP_CONNECT:
		probe_abort(p, TG_PROBE_CONNECT_TIMEOUT, "connect timed out");
		return;
	case TG_PROBE_STEP_TLS:
		p->res.result_type = "validation-failure";
		probe_abort(p, TG_PROBE_HANDSHAKE_TIMEOUT,
		    "TLS handshake timed out");
		return;
	case TG_PROBE_STEP_QUIT:
		probe_end(p);
		return;
	default:
		probe_abort(p, TG_PROBE_TIMEOUT, "no reply in time");
		return;
	}
}

/* ---- connecting ---- */

static void
probe_connected(struct tg_probe *p)
{
	p->bev = bufferevent_socket_new(p->base, p->fd, BEV_OPT_CLOSE_ON_FREE);
	if (p->bev == NULL) {
		probe_abort(p, TG_PROBE_INTERNAL, "out of memory");
		return;
	}
	p->fd = -1;
	/* Memory bound while a reply is incomplete: one line's worth is
	 * all we ever need buffered. */
	bufferevent_setwatermark(p->bev, EV_READ, 0, 4 * TG_SMTP_LINE_MAX);
	bufferevent_setcb(p->bev, probe_read_cb, NULL, probe_event_cb, p);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	probe_enter(p, TG_PROBE_STEP_BANNER);
}

static void
probe_connect_error(struct tg_probe *p, int e)
{
	if (e == ECONNREFUSED)
		probe_abort(p, TG_PROBE_CONNECT_REFUSED, "connection refused");
	else if (e == ETIMEDOUT)
		probe_abort(p, TG_PROBE_CONNECT_TIMEOUT, "connect timed out");
	else
		probe_abort(p, TG_PROBE_CONNECT_FAILED, "connect: %s",
		    strerror(e));
}

static void
probe_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tg_probe *p = arg;
	socklen_t len = sizeof(int);
	int e = 0;

	(void)what;
	evtimer_del(p->timer);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	if (e != 0) {
		probe_connect_error(p, e);
		return;
	}
	probe_connected(p);
}

static void
probe_connect(struct tg_probe *p)
{
	p->fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		probe_abort(p, TG_PROBE_INTERNAL, "socket: %s",
		    strerror(errno));
		return;
	}
	if (connect(p->fd, (struct sockaddr *)&p->sa, p->salen) < 0 &&
	    errno != EINPROGRESS) {
		probe_connect_error(p, errno);
		return;
	}
	p->conn_ev = event_new(p->base, p->fd, EV_WRITE, probe_connect_cb, p);
	if (p->conn_ev == NULL) {
		probe_abort(p, TG_PROBE_INTERNAL, "out of memory");
		return;
	}
	event_add(p->conn_ev, NULL);
	probe_enter(p, TG_PROBE_STEP_CONNECT);
}

/* ---- setting up ---- */

void
tg_probe_params_init(struct tg_probe_params *p)
{
	memset(p, 0, sizeof(*p));
	p->port = 25;
	p->connect_ms = TG_SMTP_CONNECT_TIMEOUT_S * 1000;
	p->banner_ms = TG_SMTP_GREETING_TIMEOUT_S * 1000;
	p->ehlo_ms = TG_SMTP_CMD_TIMEOUT_S * 1000;
	p->starttls_ms = TG_SMTP_CMD_TIMEOUT_S * 1000;
	p->tls_ms = TG_TLS_HANDSHAKE_TIMEOUT_S * 1000;
	p->quit_ms = TG_SMTP_CMD_TIMEOUT_S * 1000;
}

static int
probe_ms(int ms, int dflt)
{
	return ms > 0 ? ms : dflt;
}

static void
probe_set_timeouts(struct tg_probe *p, const struct tg_probe_params *pp)
{
	struct tg_probe_params d;

	tg_probe_params_init(&d);
	p->tmo_ms[TG_PROBE_STEP_CONNECT] = probe_ms(pp->connect_ms,
	    d.connect_ms);
	p->tmo_ms[TG_PROBE_STEP_BANNER] = probe_ms(pp->banner_ms, d.banner_ms);
	p->tmo_ms[TG_PROBE_STEP_EHLO] = probe_ms(pp->ehlo_ms, d.ehlo_ms);
	p->tmo_ms[TG_PROBE_STEP_STARTTLS] = probe_ms(pp->starttls_ms,
	    d.starttls_ms);
	p->tmo_ms[TG_PROBE_STEP_TLS] = probe_ms(pp->tls_ms, d.tls_ms);
	p->tmo_ms[TG_PROBE_STEP_TLS_EHLO] = p->tmo_ms[TG_PROBE_STEP_EHLO];
	p->tmo_ms[TG_PROBE_STEP_QUIT] = probe_ms(pp->quit_ms, d.quit_ms);
}

/* The EHLO argument goes on the wire: printable, no spaces. */
static int
probe_helo_ok(const char *h)
{
	size_t i, n = h != NULL ? strlen(h) : 0;

	if (n == 0 || n > TG_DNAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (h[i] <= 0x20 || h[i] >= 0x7f)
			return 0;
	return 1;
}

static int
probe_parse_addr(struct tg_probe *p, const char *addr, unsigned port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&p->sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&p->sa;

	memset(&p->sa, 0, sizeof(p->sa));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		p->salen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		p->salen = sizeof(*s6);
	} else
		return -1;
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	return 0;
}

static int
probe_check_params(const struct tg_probe_params *pp, tg_probe_cb cb,
    struct tg_err *err)
{
	if (pp->addr == NULL || strlen(pp->addr) >= INET6_ADDRSTRLEN)
		return tg_err_set(err, TG_ERR_BUG, NULL, "no address");
	if (!probe_helo_ok(pp->helo_name))
		return tg_err_set(err, TG_ERR_BUG, NULL, "bad EHLO name");
	if (pp->ctx == NULL || pp->verify == NULL || cb == NULL)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "no TLS context, verification parameters or callback");
	if (pp->port > 65535)
		return tg_err_set(err, TG_ERR_BUG, NULL, "bad port %u",
		    pp->port);
	return 0;
}

static struct tg_probe *
probe_new(struct event_base *base, const struct tg_probe_params *pp,
    struct tg_err *err)
{
	struct tg_probe *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	p->fd = -1;
	p->base = base;
	p->port = pp->port != 0 ? pp->port : 25;
	if (probe_parse_addr(p, pp->addr, p->port) < 0) {
		free(p);
		tg_err_set(err, TG_ERR_BUG, NULL, "'%s' is not an IP address",
		    pp->addr);
		return NULL;
	}
	snprintf(p->helo, sizeof(p->helo), "%s", pp->helo_name);
	p->ctx = pp->ctx;
	p->verify = pp->verify;
	probe_set_timeouts(p, pp);
	tg_smtp_reply_init(&p->reply);
	p->timer = evtimer_new(base, probe_timeout_cb, p);
	p->done_ev = event_new(base, -1, 0, probe_done_cb, p);
	if (p->timer == NULL || p->done_ev == NULL) {
		tg_probe_cancel(p);
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	return p;
}

struct tg_probe *
tg_probe_start(struct event_base *base, const struct tg_probe_params *pp,
    tg_probe_cb cb, void *arg, struct tg_err *err)
{
	struct tg_probe *p;

	if (probe_check_params(pp, cb, err) < 0)
		return NULL;
	if ((p = probe_new(base, pp, err)) == NULL)
		return NULL;
	p->cb = cb;
	p->arg = arg;
	p->start_ms = tg_clock_mono_ms();
	p->res.status = TG_PROBE_OK;
	p->res.tls.dane_depth = -1;
	p->res.tls.tlsa_index = -1;
	probe_connect(p);
	return p;
}

const char *
tg_probe_status_name(enum tg_probe_status s)
{
	static const char *const names[] = {
		[TG_PROBE_OK] = "ok",
		[TG_PROBE_CONNECT_REFUSED] = "connect-refused",
		[TG_PROBE_CONNECT_TIMEOUT] = "connect-timeout",
		[TG_PROBE_CONNECT_FAILED] = "connect-failed",
		[TG_PROBE_BANNER_REJECTED] = "banner-rejected",
		[TG_PROBE_EHLO_REJECTED] = "ehlo-rejected",
		[TG_PROBE_NO_STARTTLS] = "no-starttls",
		[TG_PROBE_STARTTLS_REFUSED] = "starttls-refused",
		[TG_PROBE_HANDSHAKE_FAILED] = "handshake-failed",
		[TG_PROBE_HANDSHAKE_TIMEOUT] = "handshake-timeout",
		[TG_PROBE_NOT_VERIFIED] = "not-verified",
		[TG_PROBE_TIMEOUT] = "timeout",
		[TG_PROBE_CLOSED] = "closed",
		[TG_PROBE_PROTOCOL_ERROR] = "protocol-error",
		[TG_PROBE_INTERNAL] = "internal-error",
	};

	if ((size_t)s >= sizeof(names) / sizeof(names[0]) || names[s] == NULL)
		return "unknown";
	return names[s];
}

const char *
tg_probe_step_name(enum tg_probe_step s)
{
	static const char *const names[] = {
		[TG_PROBE_STEP_CONNECT] = "connect",
		[TG_PROBE_STEP_BANNER] = "banner",
		[TG_PROBE_STEP_EHLO] = "ehlo",
		[TG_PROBE_STEP_STARTTLS] = "starttls",
		[TG_PROBE_STEP_TLS] = "tls",
		[TG_PROBE_STEP_TLS_EHLO] = "tls-ehlo",
		[TG_PROBE_STEP_QUIT] = "quit",
		[TG_PROBE_STEP_DONE] = "done",
	};

	if ((size_t)s >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[s];
}
