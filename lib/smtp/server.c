/*
 * smtp/server — see server.h. This file: the conf, the server, and each
 * session's life: accept, greeting, reading commands, timers, replies,
 * closing and freeing.
 */
#include "smtp/server_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "util/clock.h"

static void sess_read_cb(struct bufferevent *bev, void *arg);
static void sess_write_cb(struct bufferevent *bev, void *arg);
static void sess_event_cb(struct bufferevent *bev, short what, void *arg);

/* ---- conf ------------------------------------------------------------ */

struct tg_smtpd_conf *
tg_smtpd_conf_new(void)
{
	struct tg_smtpd_conf *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->refs = 1;
	snprintf(c->hostname, sizeof(c->hostname), "localhost");
	c->max_size = TG_SPOOL_MSG_SIZE_DEFAULT;
	c->max_rcpt = TG_SPOOL_RCPT_MAX;
	c->cmd_timeout_ms = TG_SMTP_CMD_TIMEOUT_S * 1000;
	c->data_timeout_ms = TG_SMTPD_DATA_TIMEOUT_S * 1000;
	c->tls_timeout_ms = TG_SMTP_TLS_TIMEOUT_S * 1000;
	c->close_timeout_ms = TG_SMTPD_CLOSE_TIMEOUT_S * 1000;
	c->min_data_rate = TG_SMTPD_MIN_DATA_RATE;
	c->max_errors = TG_SMTPD_ERRORS_MAX;
	c->max_sessions = TG_SMTPD_SESSIONS_MAX;
	c->max_per_client = TG_SMTPD_PER_CLIENT_MAX;
	return c;
}

int
tg_smtpd_conf_add_net(struct tg_smtpd_conf *c, const struct tg_cidr *net,
    struct tg_err *err)
{
	struct tg_cidr *n;

	n = realloc(c->nets, (c->nnets + 1) * sizeof(*n));
	if (n == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	c->nets = n;
	c->nets[c->nnets++] = *net;
	return 0;
}

void
tg_smtpd_conf_set_tls(struct tg_smtpd_conf *c, SSL_CTX *ctx)
{
	if (ctx != NULL)
		SSL_CTX_up_ref(ctx);
	SSL_CTX_free(c->tls);
	c->tls = ctx;
}

void
tg_smtpd_conf_ref(struct tg_smtpd_conf *c)
{
	c->refs++;
}

void
tg_smtpd_conf_unref(struct tg_smtpd_conf *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	SSL_CTX_free(c->tls);
	free(c->nets);
	free(c->domains);
	free(c);
}

int
tg_smtpd_conf_allows(const struct tg_smtpd_conf *c, const struct sockaddr *sa)
{
	const void *addr;
	size_t i;

	if (sa->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		addr = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	else
		return 0;
	for (i = 0; i < c->nnets; i++)
		if (tg_cidr_contains(&c->nets[i], sa->sa_family, addr))
			return 1;
	return 0;
}

/* ---- server ---------------------------------------------------------- */

static void sess_free(struct tg_smtpd_sess *s);
static void sess_kill(struct tg_smtpd_sess *s);
static void sess_linger(struct tg_smtpd_sess *s);

/* Free dead sessions; finish a graceful stop when none is left. */
static void
srv_reap(evutil_socket_t fd, short what, void *arg)
{
	struct tg_smtpd *srv = arg;
	struct tg_smtpd_sess *s, *next;

	(void)fd;
	(void)what;
	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, link);
		if (s->phase == TG_SMTPD_DEAD)
			sess_free(s);
	}
	if (srv->stopping && TAILQ_EMPTY(&srv->sessions) &&
	    srv->stop_done != NULL) {
		void (*done)(void *) = srv->stop_done;

		srv->stop_done = NULL;
		done(srv->stop_arg);
	}
}

int
tg_smtpd_new(struct event_base *base, struct tg_spool *spool,
    tg_smtpd_queued_fn queued, void *arg, struct tg_smtpd **out,
    struct tg_err *err)
{
	struct tg_smtpd *srv;

	*out = NULL;
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	srv->base = base;
	srv->spool = spool;
	srv->queued = queued;
	srv->queued_arg = arg;
	TAILQ_INIT(&srv->sessions);
	TAILQ_INIT(&srv->commits);
	srv->reaper = event_new(base, -1, 0, srv_reap, srv);
	srv->committer = event_new(base, -1, 0, tg_smtpd_commit_cb, srv);
	srv->scratch = malloc(TG_SMTPD_SCRATCH);
	srv->batch = malloc(sizeof(*srv->batch));
	if (srv->reaper == NULL || srv->committer == NULL ||
	    srv->scratch == NULL || srv->batch == NULL) {
		tg_smtpd_free(srv);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	*out = srv;
	return 0;
}

void
tg_smtpd_free(struct tg_smtpd *srv)
{
	struct tg_smtpd_sess *s;

	if (srv == NULL)
		return;
	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL) {
		if (s->phase != TG_SMTPD_DEAD && s->end_reason == NULL)
			s->end_reason = "server-stopped";
		sess_free(s);
	}
	if (srv->reaper != NULL)
		event_free(srv->reaper);
	if (srv->committer != NULL)
		event_free(srv->committer);
	free(srv->scratch);
	free(srv->batch);
	free(srv);
}

void
tg_smtpd_get_stats(const struct tg_smtpd *srv, struct tg_smtpd_stats *out)
{
	*out = srv->stats;
}

/* ---- replies --------------------------------------------------------- */

void
tg_smtpd_reply(struct tg_smtpd_sess *s, int code, const char *status,
    const char *fmt, ...)
{
	struct evbuffer *out;
	va_list ap;

	if (s->bev == NULL || s->phase == TG_SMTPD_DEAD)
		return;
	out = bufferevent_get_output(s->bev);
	if (status != NULL)
		evbuffer_add_printf(out, "%d %s ", code, status);
	else
		evbuffer_add_printf(out, "%d ", code);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

int
tg_smtpd_reply_err(struct tg_smtpd_sess *s, int code, const char *status,
    const char *text)
{
	tg_smtpd_reply(s, code, status, "%s", text);
	if (++s->errors >= s->conf->max_errors &&
	    s->phase != TG_SMTPD_CLOSING) {
		/* Postfix smtpd_hard_error_limit. */
		tg_smtpd_reply(s, 421, "4.7.0", "%s Error: too many errors",
		    s->conf->hostname);
		tg_smtpd_close(s, "too-many-errors");
	}
	return -1;
}

int
tg_smtpd_reply_parse(struct tg_smtpd_sess *s, int code,
    const struct tg_err *err)
{
	return tg_smtpd_reply_err(s, code, err->status[0] != '\0' ?
	    err->status : NULL, err->msg);
}

/* ---- timers ---------------------------------------------------------- */

void
tg_smtpd_arm(struct tg_smtpd_sess *s)
{
	struct timeval tv;
	long long ms;

	switch (s->phase) {
	case TG_SMTPD_GREET:
		ms = s->conf->greet_delay_ms;
		break;
	case TG_SMTPD_DATA:
		ms = s->deadline - tg_clock_mono_ms();
		if (ms < 0)
			ms = 0;
		break;
	case TG_SMTPD_TLS:
		ms = s->conf->tls_timeout_ms;
		break;
	case TG_SMTPD_CLOSING:
		/* The TLS layer's buffer has no callback of ours: poll. */
		ms = 20;
		break;
	case TG_SMTPD_COMMIT:
	case TG_SMTPD_DEAD:
		evtimer_del(s->timer);
		return;
	default:
		ms = s->conf->cmd_timeout_ms;
		break;
	}
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(s->timer, &tv);
}

static void
sess_greet(struct tg_smtpd_sess *s)
{
	if (!s->conf->inbound &&
	    !tg_smtpd_conf_allows(s->conf, (struct sockaddr *)&s->sa)) {
		/* RFC 5321 §3.1: 554 instead of 220, then wait for QUIT. */
		s->phase = TG_SMTPD_REFUSED;
		s->srv->stats.refused++;
		tg_log_info(s->sid, "peer=%s event=connect result=refused "
		    "reason=\"not in a relay network\"", s->peer);
		tg_smtpd_reply(s, 554, "5.7.1", "%s Error: access denied for "
		    "%s", s->conf->hostname, s->peer);
	} else {
		s->phase = TG_SMTPD_INIT;
		tg_log_info(s->sid, "peer=%s event=connect result=ok",
		    s->peer);
		tg_smtpd_reply(s, 220, NULL, "%s ESMTP tlsgate",
		    s->conf->hostname);
	}
	tg_smtpd_arm(s);
}

static void
sess_timeout(struct tg_smtpd_sess *s)
{
	const char *what = s->phase == TG_SMTPD_DATA ? "data-timeout" :
	    s->phase == TG_SMTPD_TLS ? "tls-timeout" : "timeout";

	if (s->phase == TG_SMTPD_TLS) {
		/* Nothing plaintext may be said inside a TLS attempt. */
		s->end_reason = what;
		sess_kill(s);
		return;
	}
	tg_smtpd_reply(s, 421, "4.4.2", "%s Error: timeout exceeded",
	    s->conf->hostname);
	tg_smtpd_close(s, what);
}

/* Output fully handed to the kernel, below the TLS layer too. */
static int
sess_flushed(struct tg_smtpd_sess *s)
{
	struct bufferevent *under;

	if (s->bev == NULL)
		return 1;
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) > 0)
		return 0;
	under = bufferevent_get_underlying(s->bev);
	return under == NULL ||
	    evbuffer_get_length(bufferevent_get_output(under)) == 0;
}

static void
sess_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tg_smtpd_sess *s = arg;

	(void)fd;
	(void)what;
	switch (s->phase) {
	case TG_SMTPD_GREET:
		sess_greet(s);
		break;
	case TG_SMTPD_CLOSING:
		sess_linger(s);
		break;
	case TG_SMTPD_DEAD:
		break;
	default:
		sess_timeout(s);
		break;
	}
}

/* ---- closing and freeing --------------------------------------------- */

static void
sess_kill(struct tg_smtpd_sess *s)
{
	if (s->phase == TG_SMTPD_DEAD)
		return;
	s->phase = TG_SMTPD_DEAD;
	tg_smtpd_verify_cancel(s);
	if (s->in_commit)
		tg_smtpd_commit_cancel(s);
	if (s->bev != NULL) {
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
		bufferevent_setcb(s->bev, NULL, NULL, NULL, NULL);
	}
	if (s->timer != NULL)
		evtimer_del(s->timer);
	event_active(s->srv->reaper, EV_TIMEOUT, 0);
}

/*
 * A lingering close, as web servers do it: flush the last reply, shut
 * down our sending side, then read and drop whatever the client still
 * sends until it closes too, or until the close deadline. Closing a
 * socket with unread input makes the kernel answer with a RST, and a RST
 * can make the client's kernel drop our last reply before it is read.
 */
static void
sess_linger(struct tg_smtpd_sess *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);

	evbuffer_drain(in, evbuffer_get_length(in));
	if (!s->shut && sess_flushed(s)) {
		if (s->fd >= 0)
			(void)shutdown(s->fd, SHUT_WR);
		s->shut = 1;
	}
	if (tg_clock_mono_ms() >= s->deadline)
		sess_kill(s);
	else
		tg_smtpd_arm(s);
}

void
tg_smtpd_close(struct tg_smtpd_sess *s, const char *reason)
{
	if (s->phase == TG_SMTPD_DEAD || s->phase == TG_SMTPD_CLOSING)
		return;
	if (s->end_reason == NULL)
		s->end_reason = reason;
	tg_smtpd_verify_cancel(s);
	if (s->in_commit)
		tg_smtpd_commit_cancel(s);
	if (s->bev == NULL) {
		sess_kill(s);
		return;
	}
	/* A failed TLS handshake: nothing more to read, only the alert
	 * to flush. */
	if (s->phase != TG_SMTPD_TLS)
		bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	s->phase = TG_SMTPD_CLOSING;
	s->deadline = tg_clock_mono_ms() + s->conf->close_timeout_ms;
	sess_linger(s);
}

static void
sess_log_end(const struct tg_smtpd_sess *s)
{
	tg_log_info(s->sid, "peer=%s event=disconnect reason=%s messages=%u "
	    "rejected=%u errors=%u tls=%s duration=%lldms", s->peer,
	    s->end_reason != NULL ? s->end_reason : "unknown", s->messages,
	    s->rejected, s->errors, s->tls ? s->tls_version : "none",
	    tg_clock_mono_ms() - s->start_ms);
}

static void
sess_free(struct tg_smtpd_sess *s)
{
	struct tg_smtpd *srv = s->srv;

	tg_smtpd_verify_cancel(s);
	if (s->in_commit)
		tg_smtpd_commit_cancel(s);
	tg_smtpd_reset(s);
	sess_log_end(s);
	TAILQ_REMOVE(&srv->sessions, s, link);
	srv->stats.active--;
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	else if (s->fd >= 0)
		close(s->fd);
	if (s->timer != NULL)
		event_free(s->timer);
	free(s->rcpt);
	tg_smtpd_conf_unref(s->conf);
	free(s);
}

/* ---- input ----------------------------------------------------------- */

/* A quoted value never breaks the key=value line (RELIABILITY I-12);
 * core/log escapes what is left of the control characters. */
void
tg_smtpd_log_bytes(char *dst, size_t dstlen, const void *bytes, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *src = bytes;
	size_t i, o = 0;

	for (i = 0; i < len && o + 4 < dstlen; i++) {
		if (src[i] >= 0x20 && src[i] < 0x7f && src[i] != '"' &&
		    src[i] != '%' && src[i] != '\\') {
			dst[o++] = (char)src[i];
			continue;
		}
		dst[o++] = '%';
		dst[o++] = hex[src[i] >> 4];
		dst[o++] = hex[src[i] & 15];
	}
	dst[o] = '\0';
}

void
tg_smtpd_log_input(struct tg_smtpd_sess *s, const char *event,
    const void *bytes, size_t len, int code, const struct tg_err *err)
{
	char text[4 * TG_SMTPD_LOG_INPUT_MAX + 1];

	tg_smtpd_log_bytes(text, sizeof(text), bytes,
	    len < TG_SMTPD_LOG_INPUT_MAX ? len : TG_SMTPD_LOG_INPUT_MAX);
	tg_log(code >= 500 && strcmp(event, "violation") == 0 ? TG_LOG_WARN :
	    TG_LOG_INFO, s->sid, "peer=%s event=%s result=rejected code=%d "
	    "status=%s reason=\"%s\" input=\"%s%s\"", s->peer, event, code,
	    err->status[0] != '\0' ? err->status : "-", err->msg, text,
	    len > TG_SMTPD_LOG_INPUT_MAX ? "..." : "");
}

void
tg_smtpd_violation(struct tg_smtpd_sess *s, const char *what)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	unsigned char raw[TG_SMTPD_LOG_INPUT_MAX];
	struct tg_err err;
	ev_ssize_t n;

	n = evbuffer_copyout(in, raw, sizeof(raw));
	tg_err_set(&err, TG_ERR_PERM, "5.5.0", "%s", what);
	tg_smtpd_log_input(s, "violation", raw, n > 0 ? (size_t)n : 0, 554,
	    &err);
	evbuffer_drain(in, evbuffer_get_length(in));
	/* RFC 2920 §3.1; Postfix smtpd_forbid_unauth_pipelining. */
	tg_smtpd_reply(s, 554, "5.5.0", "Error: SMTP protocol "
	    "synchronization");
	tg_smtpd_close(s, "protocol-synchronization");
}

void
tg_smtpd_reset(struct tg_smtpd_sess *s)
{
	size_t i;

	for (i = 0; i < s->nrcpt; i++) {
		free(s->rcpt[i].addr);
		free(s->rcpt[i].orcpt);
	}
	s->nrcpt = 0;
	memset(&s->mail, 0, sizeof(s->mail));
	tg_spool_abort(&s->wmsg);
	s->qid[0] = '\0';
	s->reject_code = 0;
	if (s->phase == TG_SMTPD_MAIL || s->phase == TG_SMTPD_RCPT)
		s->phase = s->helo[0] != '\0' ? TG_SMTPD_READY :
		    TG_SMTPD_INIT;
}

/*
 * Take one CRLF-terminated line (RFC 5321 §2.3.8) into line. Returns 1
 * with *len set, 0 when more input is needed, 2 when an over-long line
 * was dropped (and answered).
 */
static int
sess_take_line(struct tg_smtpd_sess *s, struct evbuffer *in, char *line,
    size_t *len)
{
	struct evbuffer_ptr p;
	size_t have = evbuffer_get_length(in), eol = 0;

	p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_CRLF_STRICT);
	if (p.pos < 0) {
		if (have > TG_SMTP_LINE_MAX) {
			/* Keep the last byte: it may be the CR of the CRLF. */
			evbuffer_drain(in, have - 1);
			s->discard_line = 1;
		}
		return 0;
	}
	if (s->discard_line || (size_t)p.pos + 2 > TG_SMTP_LINE_MAX) {
		evbuffer_drain(in, (size_t)p.pos + eol);
		s->discard_line = 0;
		tg_smtpd_reply_err(s, 500, "5.5.2", "Error: line too long");
		return 2;
	}
	evbuffer_remove(in, line, (size_t)p.pos);
	evbuffer_drain(in, eol);
	line[p.pos] = '\0';
	*len = (size_t)p.pos;
	return 1;
}

/* Replies waiting to be read by the client: too many means stop. */
static int
sess_output_full(struct tg_smtpd_sess *s)
{
	return evbuffer_get_length(bufferevent_get_output(s->bev)) >
	    TG_SMTPD_OUTPUT_MAX;
}

static int
sess_command_phase(const struct tg_smtpd_sess *s)
{
	return s->phase == TG_SMTPD_REFUSED || s->phase == TG_SMTPD_INIT ||
	    s->phase == TG_SMTPD_READY || s->phase == TG_SMTPD_MAIL ||
	    s->phase == TG_SMTPD_RCPT;
}

/* Graceful stop: a session between commands ends now. */
static int
sess_stop_check(struct tg_smtpd_sess *s)
{
	if (!s->srv->stopping || !sess_command_phase(s))
		return 0;
	tg_smtpd_reply(s, 421, "4.3.2", "%s Service shutting down",
	    s->conf->hostname);
	tg_smtpd_close(s, "shutdown");
	return 1;
}

void
tg_smtpd_process(struct tg_smtpd_sess *s)
{
	char line[TG_SMTP_LINE_MAX + 1];
	struct evbuffer *in;
	size_t len;
	int rc;

	if (s->bev == NULL)
		return;
	in = bufferevent_get_input(s->bev);
	while (s->phase != TG_SMTPD_DEAD && s->phase != TG_SMTPD_CLOSING) {
		if (s->phase == TG_SMTPD_GREET) {
			if (evbuffer_get_length(in) > 0)
				tg_smtpd_violation(s, "input before the "
				    "greeting");
			return;
		}
		if (s->phase == TG_SMTPD_DATA) {
			if (!tg_smtpd_data_input(s, in))
				return;
			continue;
		}
		if (!sess_command_phase(s) || sess_stop_check(s) ||
		    sess_output_full(s) || evbuffer_get_length(in) == 0)
			return;
		if ((rc = sess_take_line(s, in, line, &len)) == 0)
			return;
		if (rc == 1)
			tg_smtpd_command(s, line, len,
			    evbuffer_get_length(in) > 0);
		if (sess_command_phase(s))
			tg_smtpd_arm(s);
	}
}

static void
sess_read_cb(struct bufferevent *bev, void *arg)
{
	struct tg_smtpd_sess *s = arg;

	(void)bev;
	if (s->phase == TG_SMTPD_CLOSING)
		sess_linger(s);
	else
		tg_smtpd_process(s);
}

static void
sess_write_cb(struct bufferevent *bev, void *arg)
{
	struct tg_smtpd_sess *s = arg;

	(void)bev;
	if (s->phase == TG_SMTPD_CLOSING) {
		sess_linger(s);
		return;
	}
	/* Replies drained: resume commands that waited for room. */
	if (sess_command_phase(s) &&
	    evbuffer_get_length(bufferevent_get_input(s->bev)) > 0)
		tg_smtpd_process(s);
}

/* ---- STARTTLS (RFC 3207 §4) ----------------------------------------- */

/* CVE-2011-0411: plaintext that came with STARTTLS is never executed. */
static void
sess_discard_injection(struct tg_smtpd_sess *s, struct evbuffer *in)
{
	unsigned char raw[TG_SMTPD_LOG_INPUT_MAX];
	size_t len = evbuffer_get_length(in);
	struct tg_err err;
	ev_ssize_t n;

	n = evbuffer_copyout(in, raw, sizeof(raw));
	tg_err_set(&err, TG_ERR_PERM, NULL, "plaintext after STARTTLS "
	    "discarded");
	tg_smtpd_log_input(s, "starttls-injection", raw,
	    n > 0 ? (size_t)n : 0, 0, &err);
	evbuffer_drain(in, len);
}

void
tg_smtpd_starttls(struct tg_smtpd_sess *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct bufferevent *tls;
	SSL *ssl;

	if (evbuffer_get_length(in) > 0)
		sess_discard_injection(s, in);
	if ((ssl = SSL_new(s->conf->tls)) == NULL) {
		tg_smtpd_reply_err(s, 454, "4.7.0",
		    "TLS not available due to temporary reason");
		return;
	}
	/* The 220 goes out in plaintext ahead of everything the filter
	 * writes; input from now on is read by OpenSSL only. */
	tg_smtpd_reply(s, 220, "2.0.0", "Ready to start TLS");
	tls = bufferevent_openssl_filter_new(s->srv->base, s->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		/* libevent has freed ssl, the socket bufferevent and fd. */
		s->bev = NULL;
		s->fd = -1;
		s->end_reason = "tls-setup-failed";
		sess_kill(s);
		return;
	}
	s->bev = tls;
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	bufferevent_setcb(tls, sess_read_cb, sess_write_cb, sess_event_cb, s);
	bufferevent_setwatermark(tls, EV_READ, 0, TG_SMTPD_INPUT_MAX);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
	s->phase = TG_SMTPD_TLS;
	tg_smtpd_arm(s);
}

/* ---- TLS handshake end ----------------------------------------------- */

static void
sess_tls_done(struct tg_smtpd_sess *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

	snprintf(s->tls_version, sizeof(s->tls_version), "%s",
	    SSL_get_version(ssl));
	snprintf(s->tls_cipher, sizeof(s->tls_cipher), "%s",
	    SSL_get_cipher_name(ssl));
	s->tls = 1;
	/* RFC 3207 §4.2: forget everything learnt before TLS. */
	s->esmtp = 0;
	s->helo[0] = '\0';
	tg_smtpd_reset(s);
	s->phase = TG_SMTPD_INIT;
	tg_log_info(s->sid, "peer=%s event=starttls result=ok tls=%s "
	    "cipher=%s", s->peer, s->tls_version, s->tls_cipher);
	tg_smtpd_arm(s);
	tg_smtpd_process(s);
}

static void
sess_tls_failed(struct tg_smtpd_sess *s)
{
	unsigned long e, last = 0;
	char text[128] = "handshake failed";

	while ((e = bufferevent_get_openssl_error(s->bev)) != 0)
		last = e;
	if (last != 0)
		ERR_error_string_n(last, text, sizeof(text));
	tg_log_info(s->sid, "peer=%s event=starttls result=failed "
	    "error=\"%s\"", s->peer, text);
	/* Let OpenSSL's alert reach the client before closing. */
	tg_smtpd_close(s, "tls-failed");
}

static void
sess_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tg_smtpd_sess *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (s->phase == TG_SMTPD_TLS)
			sess_tls_done(s);
		return;
	}
	if (s->phase == TG_SMTPD_TLS) {
		sess_tls_failed(s);
		return;
	}
	if (s->phase == TG_SMTPD_CLOSING && !(what & BEV_EVENT_EOF) &&
	    bufferevent_get_underlying(s->bev) != NULL) {
		/* A failed TLS layer may still hold its alert for the
		 * socket: stop reading, keep flushing. */
		bufferevent_disable(s->bev, EV_READ);
		sess_linger(s);
		return;
	}
	if (s->end_reason == NULL)
		s->end_reason = s->phase == TG_SMTPD_DATA ? "lost-in-data" :
		    (what & BEV_EVENT_EOF) ? "eof" : "io-error";
	sess_kill(s);
}

/* ---- accept ------------------------------------------------------------ */

/* Address text; an IPv4-mapped IPv6 address is shown as IPv4. */
static void
sess_peer_text(struct tg_smtpd_sess *s)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&s->sa;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&s->sa;

	if (s->sa.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], s->peer,
		    sizeof(s->peer));
	else if (s->sa.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &s6->sin6_addr, s->peer, sizeof(s->peer));
	else if (s->sa.ss_family == AF_INET)
		inet_ntop(AF_INET, &s4->sin_addr, s->peer, sizeof(s->peer));
	else
		snprintf(s->peer, sizeof(s->peer), "unknown");
}

/* Same client for the per-client limit: IPv4 address, or IPv6 /64. */
static int
sess_same_client(const struct tg_smtpd_sess *a, const struct tg_smtpd_sess *b)
{
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&a->sa;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)&b->sa;

	if (a->sa.ss_family != b->sa.ss_family)
		return 0;
	if (a->sa.ss_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
		return memcmp(&a6->sin6_addr, &b6->sin6_addr, 8) == 0;
	return strcmp(a->peer, b->peer) == 0;
}

/* RELIABILITY I-08: too many sessions in all or from this client. */
static int
sess_over_limit(const struct tg_smtpd_sess *s)
{
	const struct tg_smtpd_sess *o;
	unsigned same = 0;

	if (s->srv->stats.active > s->conf->max_sessions)
		return 1;
	TAILQ_FOREACH(o, &s->srv->sessions, link)
		if (o != s && o->phase != TG_SMTPD_DEAD &&
		    sess_same_client(o, s) && ++same >= s->conf->max_per_client)
			return 1;
	return 0;
}

/* The bufferevent, the timer, callbacks; -1 when out of memory. */
static int
sess_setup_io(struct tg_smtpd_sess *s)
{
	int one = 1;

	/* BENCH.md: replies must not wait for the client's delayed ACK. */
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	evutil_make_socket_nonblocking(s->fd);
	s->timer = evtimer_new(s->srv->base, sess_timer_cb, s);
	s->bev = bufferevent_socket_new(s->srv->base, s->fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (s->timer == NULL || s->bev == NULL)
		return -1;
	bufferevent_setcb(s->bev, sess_read_cb, sess_write_cb, sess_event_cb,
	    s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, TG_SMTPD_INPUT_MAX);
	return 0;
}

/* RELIABILITY I-05: bytes already waiting before we said anything. */
static int
sess_pregreet(struct tg_smtpd_sess *s)
{
	char raw[TG_SMTPD_LOG_INPUT_MAX];
	struct tg_err err;
	ssize_t n;

	n = recv(s->fd, raw, sizeof(raw), MSG_PEEK | MSG_DONTWAIT);
	if (n <= 0)
		return 0;
	tg_err_set(&err, TG_ERR_PERM, "5.5.0", "input before the greeting");
	tg_smtpd_log_input(s, "violation", raw, (size_t)n, 554, &err);
	tg_smtpd_reply(s, 554, "5.5.0", "Error: SMTP protocol "
	    "synchronization");
	tg_smtpd_close(s, "protocol-synchronization");
	return 1;
}

int
tg_smtpd_accept(struct tg_smtpd *srv, evutil_socket_t fd,
    const struct sockaddr *sa, int salen, struct tg_smtpd_conf *conf,
    struct tg_err *err)
{
	struct tg_smtpd_sess *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		close(fd);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	s->srv = srv;
	s->fd = fd;
	s->conf = conf;
	tg_smtpd_conf_ref(conf);
	if (salen > 0 && (size_t)salen <= sizeof(s->sa))
		memcpy(&s->sa, sa, (size_t)salen);
	s->start_ms = tg_clock_mono_ms();
	tg_log_new_sid(s->sid);
	sess_peer_text(s);
	TAILQ_INSERT_TAIL(&srv->sessions, s, link);
	srv->stats.active++;
	srv->stats.sessions++;
	if (sess_setup_io(s) != 0) {
		s->end_reason = "out-of-memory";
		sess_kill(s);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	s->phase = TG_SMTPD_GREET;
	if (sess_over_limit(s)) {
		tg_log_warn(s->sid, "peer=%s event=connect result=refused "
		    "reason=\"too many connections\"", s->peer);
		tg_smtpd_reply(s, 421, "4.7.0", "%s Error: too many "
		    "connections", conf->hostname);
		tg_smtpd_close(s, "too-many-connections");
		return 0;
	}
	if (sess_pregreet(s))
		return 0;
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (conf->greet_delay_ms > 0)
		tg_smtpd_arm(s);
	else
		sess_greet(s);
	return 0;
}

void
tg_smtpd_shutdown(struct tg_smtpd *srv, void (*done)(void *arg), void *arg)
{
	struct tg_smtpd_sess *s;

	srv->stopping = 1;
	srv->stop_done = done;
	srv->stop_arg = arg;
	TAILQ_FOREACH(s, &srv->sessions, link) {
		if (s->phase == TG_SMTPD_GREET || s->phase == TG_SMTPD_TLS)
			tg_smtpd_close(s, "shutdown");
		else
			sess_stop_check(s);
	}
	/* Finish from the reaper, also when there was nothing to do. */
	event_active(srv->reaper, EV_TIMEOUT, 0);
}
