/*
 * smtp/client — see client.h. This file: the connection (connect,
 * greeting, EHLO/HELO, STARTTLS, TLS, QUIT), I/O and timeouts, the
 * object's life. Transactions are in client_txn.c, the session cache in
 * client_cache.c.
 */
#include "smtp/client_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "core/log.h"
#include "util/clock.h"
#include "util/text.h"

static void smtpc_read_cb(struct bufferevent *bev, void *arg);
static void smtpc_write_cb(struct bufferevent *bev, void *arg);
static void smtpc_event_cb(struct bufferevent *bev, short what, void *arg);

/* ---- outcomes ---- */

static enum tg_err_class
smtpc_code_class(int code)
{
	if (code >= 500)
		return TG_ERR_PERM;
	return code >= 400 ? TG_ERR_TEMP : TG_ERR_NONE;
}

/* The reply as one escaped line: "550 5.1.1 text second line". */
static void
smtpc_reply_text(const struct tg_smtp_reply *r, char *out, size_t outlen)
{
	char flat[TG_SMTPC_TEXT_MAX], esc[TG_SMTPC_TEXT_MAX];
	const char *t = tg_buf_cstr(&r->text);
	size_t i, n = r->text.len < sizeof(flat) - 1 ? r->text.len :
	    sizeof(flat) - 1;

	for (i = 0; i < n; i++)
		flat[i] = t[i] == '\n' ? ' ' : t[i];
	tg_log_escape(esc, sizeof(esc), flat, n);
	tg_text_fmt(out, outlen, "%03d%s%s", r->code % 1000,
	    esc[0] != '\0' ? " " : "", esc);
}

void
tg_smtpc_outcome_reply(struct tg_smtpc_outcome *o,
    const struct tg_smtp_reply *r)
{
	memset(o, 0, sizeof(*o));
	o->code = r->code;
	o->cls = smtpc_code_class(r->code);
	/* RFC 2034 §4; without one, the class of the reply code alone. */
	if (!tg_smtp_reply_enhanced(r, o->status) && o->cls != TG_ERR_NONE)
		tg_text_fmt(o->status, sizeof(o->status), "%d.0.0",
		    r->code / 100);
	smtpc_reply_text(r, o->text, sizeof(o->text));
}

/* Record the first connection failure; later ones do not replace it. */
static int
smtpc_fail_begin(struct tg_smtpc *c, enum tg_smtpc_status st)
{
	if (c->res.status != TG_SMTPC_OK)
		return 0;
	c->res.status = st;
	c->res.step = c->state;
	return 1;
}

static void __attribute__((format(printf, 5, 6)))
smtpc_fail(struct tg_smtpc *c, enum tg_smtpc_status st,
    enum tg_err_class cls, const char *status, const char *fmt, ...)
{
	struct tg_smtpc_outcome *o = &c->res.why;
	va_list ap;

	if (!smtpc_fail_begin(c, st))
		return;
	memset(o, 0, sizeof(*o));
	o->cls = cls;
	tg_text_fmt(o->status, sizeof(o->status), "%s", status);
	va_start(ap, fmt);
	vsnprintf(o->text, sizeof(o->text), fmt, ap);
	va_end(ap);
}

/* A failure decided by the current reply: its code, class and text. */
static void
smtpc_fail_reply(struct tg_smtpc *c, enum tg_smtpc_status st,
    const char *what)
{
	char text[TG_SMTPC_TEXT_MAX];

	if (!smtpc_fail_begin(c, st))
		return;
	tg_smtpc_outcome_reply(&c->res.why, &c->reply);
	memcpy(text, c->res.why.text, sizeof(text));
	tg_text_fmt(c->res.why.text, sizeof(c->res.why.text), "%s: %s",
	    what, text);
}

/* ---- the end of a connection ---- */

static void
smtpc_teardown(struct tg_smtpc *c)
{
	if (c->timer != NULL)
		evtimer_del(c->timer);
	if (c->conn_ev != NULL)
		event_free(c->conn_ev);
	/* Safe inside the bufferevent's own callback: libevent holds a
	 * reference until the callback returns. */
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->fd >= 0)
		close(c->fd);
	c->conn_ev = NULL;
	c->bev = NULL;
	c->fd = -1;
	tg_smtp_reply_free(&c->reply);
}

/* The connection is over: report to whoever waits, free if closing. */
static void
smtpc_end(struct tg_smtpc *c)
{
	if (c->state == TG_SMTPC_STEP_DONE)
		return;
	smtpc_teardown(c);
	c->state = TG_SMTPC_STEP_DONE;
	c->res.elapsed_ms = tg_clock_mono_ms() - c->start_ms;
	tg_smtpc_txn_abort(c);
	if (c->ready_due)
		event_active(c->ready_ev, EV_TIMEOUT, 0);
	if (c->closing)
		event_active(c->free_ev, EV_TIMEOUT, 0);
}

void
tg_smtpc_lost(struct tg_smtpc *c, enum tg_smtpc_status st, const char *status,
    const char *fmt, ...)
{
	char msg[TG_SMTPC_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	smtpc_fail(c, st, TG_ERR_TEMP, status, "%s", msg);
	smtpc_end(c);
}

void
tg_smtpc_enter(struct tg_smtpc *c, enum tg_smtpc_step st)
{
	struct timeval tv;
	int ms;

	c->state = st;
	if (st >= TG_SMTPC_STEP_DONE)
		return;
	ms = c->tmo_ms[st];
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

int
tg_smtpc_sendf(struct tg_smtpc *c, const char *fmt, ...)
{
	char cmd[TG_SMTP_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd) || c->bev == NULL ||
	    bufferevent_write(c->bev, cmd, (size_t)n) != 0) {
		tg_smtpc_lost(c, TG_SMTPC_INTERNAL, "4.3.0",
		    "cannot queue a command");
		return -1;
	}
	return 0;
}

/* RFC 5321 §4.1.1.10: say QUIT, wait for 221 or the close. */
void
tg_smtpc_quit(struct tg_smtpc *c)
{
	if (tg_smtpc_sendf(c, "QUIT\r\n") == 0)
		tg_smtpc_enter(c, TG_SMTPC_STEP_QUIT);
}

/* The server refused a step: record, then QUIT politely. */
static void
smtpc_refused(struct tg_smtpc *c, enum tg_smtpc_status st, const char *what)
{
	smtpc_fail_reply(c, st, what);
	tg_smtpc_quit(c);
}

void
tg_smtpc_to_ready(struct tg_smtpc *c)
{
	if (c->closing) {
		tg_smtpc_quit(c);
		return;
	}
	if (c->txn != NULL && c->txn_waiting) {
		c->txn_waiting = 0;
		tg_smtpc_txn_begin(c);
		return;
	}
	if (c->ready_due)
		event_active(c->ready_ev, EV_TIMEOUT, 0);
	tg_smtpc_enter(c, TG_SMTPC_STEP_READY);
}

/* ---- greeting and EHLO ---- */

/* The first word of the reply's first line, escaped (a server name). */
static void
smtpc_first_word(const struct tg_smtp_reply *r, char *out, size_t outlen)
{
	size_t n, w;
	const char *t = tg_smtp_reply_first(r, &n);

	for (w = 0; w < n && t[w] != ' ' && t[w] != '\t'; w++)
		;
	tg_log_escape(out, outlen, t, w);
}

static void
st_banner(struct tg_smtpc *c)
{
	if (c->reply.code != 220) {
		smtpc_refused(c, TG_SMTPC_BANNER_REJECTED, "greeting refused");
		return;
	}
	smtpc_reply_text(&c->reply, c->res.banner, sizeof(c->res.banner));
	smtpc_first_word(&c->reply, c->res.banner_name,
	    sizeof(c->res.banner_name));
	if (tg_smtpc_sendf(c, "EHLO %s\r\n", c->helo) == 0)
		tg_smtpc_enter(c, TG_SMTPC_STEP_EHLO);
}

static const struct {
	const char *kw;
	unsigned bit;
} smtpc_exts[] = {
	{ "STARTTLS", TG_SMTPC_EXT_STARTTLS },
	{ "SIZE", TG_SMTPC_EXT_SIZE },
	{ "8BITMIME", TG_SMTPC_EXT_8BITMIME },
	{ "SMTPUTF8", TG_SMTPC_EXT_SMTPUTF8 },
	{ "PIPELINING", TG_SMTPC_EXT_PIPELINING },
	{ "DSN", TG_SMTPC_EXT_DSN },
	{ "ENHANCEDSTATUSCODES", TG_SMTPC_EXT_ENHANCED },
	{ "REQUIRETLS", TG_SMTPC_EXT_REQUIRETLS },
};

/* The EHLO reply replaces every extension seen before (RFC 3207 §4.2). */
static void
smtpc_parse_ehlo(struct tg_smtpc *c)
{
	char param[32], *end;
	unsigned long long v;
	size_t i;

	c->res.esmtp = 1;
	c->res.ext = 0;
	c->res.size_max = 0;
	smtpc_first_word(&c->reply, c->res.ehlo_name,
	    sizeof(c->res.ehlo_name));
	for (i = 0; i < sizeof(smtpc_exts) / sizeof(smtpc_exts[0]); i++)
		if (tg_smtp_reply_has_keyword(&c->reply, smtpc_exts[i].kw))
			c->res.ext |= smtpc_exts[i].bit;
	/* RFC 1870 §4: "SIZE" [SP 1*20DIGIT]; 0 or none: no fixed limit. */
	if (tg_smtp_reply_ehlo_param(&c->reply, "SIZE", param,
	    sizeof(param)) && param[0] >= '0' && param[0] <= '9') {
		errno = 0;
		v = strtoull(param, &end, 10);
		if (errno == 0 && *end == '\0')
			c->res.size_max = (uint64_t)v;
	}
}

static void
smtpc_after_ehlo(struct tg_smtpc *c)
{
	if (c->tls == TG_SMTPC_TLS_NONE) {
		tg_smtpc_to_ready(c);
	} else if (c->res.ext & TG_SMTPC_EXT_STARTTLS) {
		if (tg_smtpc_sendf(c, "STARTTLS\r\n") == 0)
			tg_smtpc_enter(c, TG_SMTPC_STEP_STARTTLS);
	} else if (c->tls == TG_SMTPC_TLS_REQUIRE) {
		/* RFC 7672 §2.2: no fallback to plaintext. */
		smtpc_fail(c, TG_SMTPC_NO_STARTTLS, TG_ERR_TEMP, "4.7.4",
		    "TLS is required, but was not offered by the server");
		c->res.result_type = "starttls-not-supported";
		tg_smtpc_quit(c);
	} else {
		tg_smtpc_to_ready(c);
	}
}

static void
st_ehlo(struct tg_smtpc *c)
{
	if (c->reply.code == 250) {
		smtpc_parse_ehlo(c);
		smtpc_after_ehlo(c);
	} else if (c->reply.code >= 500 && c->tls != TG_SMTPC_TLS_REQUIRE) {
		/* RFC 5321 §3.2: an old server; HELO has no STARTTLS. */
		if (tg_smtpc_sendf(c, "HELO %s\r\n", c->helo) == 0)
			tg_smtpc_enter(c, TG_SMTPC_STEP_HELO);
	} else if (c->reply.code >= 500) {
		/* Without EHLO there is no STARTTLS: a TLS problem. */
		smtpc_fail_reply(c, TG_SMTPC_EHLO_REJECTED,
		    "EHLO refused, TLS required");
		c->res.why.cls = TG_ERR_TEMP;
		tg_text_fmt(c->res.why.status, sizeof(c->res.why.status),
		    "4.7.4");
		c->res.result_type = "starttls-not-supported";
		tg_smtpc_quit(c);
	} else {
		smtpc_refused(c, TG_SMTPC_EHLO_REJECTED, "EHLO refused");
	}
}

static void
st_helo(struct tg_smtpc *c)
{
	if (c->reply.code != 250) {
		smtpc_refused(c, TG_SMTPC_EHLO_REJECTED, "HELO refused");
		return;
	}
	c->res.esmtp = 0;
	c->res.ext = 0;
	smtpc_first_word(&c->reply, c->res.ehlo_name,
	    sizeof(c->res.ehlo_name));
	tg_smtpc_to_ready(c);
}

/* ---- TLS ---- */

/* Offer the cached session for this peer and these verification
 * parameters, if any (RELIABILITY O-10: the key covers the TLSA set). */
static void
smtpc_offer_session(struct tg_smtpc *c, SSL *ssl)
{
	SSL_SESSION *sess;

	if (c->cache == NULL)
		return;
	sess = tg_smtpc_cache_take(c->cache, c->sess_key, &c->sess_facts);
	if (sess == NULL)
		return;
	if (SSL_set_session(ssl, sess) == 1)
		c->sess_offered = 1;
	SSL_SESSION_free(sess);
	ERR_clear_error();
}

static void
smtpc_start_tls(struct tg_smtpc *c)
{
	struct bufferevent *tls;
	struct tg_err err;
	SSL *ssl;

	if ((ssl = tg_tls_client_new(c->ctx, c->verify, &err)) == NULL) {
		tg_smtpc_lost(c, TG_SMTPC_INTERNAL, "4.3.0", "TLS setup: %s",
		    err.msg);
		return;
	}
	smtpc_offer_session(c, ssl);
	c->res.tls_started = 1;
	tls = bufferevent_openssl_filter_new(c->base, c->bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		/* libevent has freed ssl and the socket bufferevent. */
		c->bev = NULL;
		tg_smtpc_lost(c, TG_SMTPC_INTERNAL, "4.3.0",
		    "cannot start TLS");
		return;
	}
	c->bev = tls;
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	bufferevent_setwatermark(tls, EV_READ, 0, 4 * TG_SMTP_LINE_MAX);
	bufferevent_setwatermark(tls, EV_WRITE, TG_SMTPC_OUT_HIGH / 2, 0);
	bufferevent_setcb(tls, smtpc_read_cb, smtpc_write_cb, smtpc_event_cb,
	    c);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
	tg_smtpc_enter(c, TG_SMTPC_STEP_TLS);
}

static void
st_starttls(struct tg_smtpc *c)
{
	if (c->reply.code == 220) {
		smtpc_start_tls(c);
		return;
	}
	c->res.result_type = "starttls-not-supported";
	if (c->tls == TG_SMTPC_TLS_REQUIRE) {
		/* Whatever the code: a TLS problem, temporary. */
		smtpc_fail_reply(c, TG_SMTPC_STARTTLS_REFUSED,
		    "STARTTLS refused");
		c->res.why.cls = TG_ERR_TEMP;
		tg_text_fmt(c->res.why.status, sizeof(c->res.why.status),
		    "4.7.4");
		tg_smtpc_quit(c);
		return;
	}
	/* MAY: the session goes on in its plaintext state (RFC 3207 §4). */
	c->res.starttls_refused = 1;
	tg_smtpc_to_ready(c);
}

/* The last OpenSSL error libevent saw on this bufferevent, as text. */
static void
smtpc_ssl_error(struct bufferevent *bev, char *out, size_t outlen)
{
	unsigned long e, last = 0;

	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		last = e;
	if (last != 0)
		ERR_error_string_n(last, out, outlen);
	else
		tg_text_fmt(out, outlen, "connection closed");
	ERR_clear_error();
}

static void
smtpc_tls_failed(struct tg_smtpc *c)
{
	struct tg_tls_result *t = &c->res.tls;
	char ebuf[200];

	if (t->auth_required && t->verify_code != X509_V_OK) {
		c->res.result_type = t->result_type;
		tg_smtpc_lost(c, TG_SMTPC_NOT_VERIFIED, "4.7.5", "%s",
		    t->reason);
		return;
	}
	c->res.result_type = "validation-failure";
	smtpc_ssl_error(c->bev, ebuf, sizeof(ebuf));
	tg_text_fmt(t->reason, sizeof(t->reason), "TLS handshake failed: %s",
	    ebuf);
	tg_smtpc_lost(c, TG_SMTPC_TLS_FAILED, "4.7.5", "%s", t->reason);
}

/* A resumed session was authenticated by the full handshake that made
 * it, under the same cache key; report what that one established. */
static void
smtpc_resumed(struct tg_smtpc *c)
{
	struct tg_tls_result *t = &c->res.tls;
	const struct tg_smtpc_facts *f = &c->sess_facts;

	if (!f->verified || !t->auth_required)
		return;
	t->verified = 1;
	t->dane_depth = f->dane_depth;
	t->tlsa_index = f->tlsa_index;
	t->tlsa_usage = f->usage;
	t->tlsa_selector = f->selector;
	t->tlsa_mtype = f->mtype;
	t->result_type = NULL;
	t->reason[0] = '\0';
}

static void
smtpc_tls_event(struct tg_smtpc *c, short what)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	int ok = (what & BEV_EVENT_CONNECTED) != 0;

	evtimer_del(c->timer);
	tg_tls_client_result(ssl, c->verify, ok, &c->res.tls);
	if (!ok) {
		smtpc_tls_failed(c);
		return;
	}
	c->res.tls_resumed = SSL_session_reused(ssl) ? 1 : 0;
	if (c->res.tls_resumed && c->sess_offered)
		smtpc_resumed(c);
	if (!tg_tls_result_ok(&c->res.tls)) {
		c->res.result_type = c->res.tls.result_type;
		if (!c->verify->report_only) {
			tg_smtpc_lost(c, TG_SMTPC_NOT_VERIFIED, "4.7.5", "%s",
			    c->res.tls.reason);
			return;
		}
	}
	/* RFC 3207 §4.2: forget the pre-TLS EHLO; ask again (§4.1). */
	c->res.ext = 0;
	c->res.size_max = 0;
	if (tg_smtpc_sendf(c, "EHLO %s\r\n", c->helo) == 0)
		tg_smtpc_enter(c, TG_SMTPC_STEP_TLS_EHLO);
}

/* Keep the session of a good connection for the next one; tickets of
 * TLS 1.3 have arrived by the time the EHLO reply has. */
static void
smtpc_store_session(struct tg_smtpc *c)
{
	struct tg_smtpc_facts f;
	const struct tg_tls_result *t = &c->res.tls;
	SSL_SESSION *sess;

	if (c->cache == NULL || !tg_tls_result_ok(t))
		return;
	/* A copy: OpenSSL marks the connection's own session object
	 * not resumable when the SSL is freed without close_notify. */
	sess = SSL_SESSION_dup(SSL_get0_session(
	    bufferevent_openssl_get_ssl(c->bev)));
	if (sess == NULL)
		return;
	if (!SSL_SESSION_is_resumable(sess)) {
		SSL_SESSION_free(sess);
		return;
	}
	memset(&f, 0, sizeof(f));
	f.verified = t->verified;
	f.dane_depth = t->dane_depth;
	f.tlsa_index = t->tlsa_index;
	f.usage = t->tlsa_usage;
	f.selector = t->tlsa_selector;
	f.mtype = t->tlsa_mtype;
	tg_smtpc_cache_put(c->cache, c->sess_key, sess, &f);
}

static void
st_tls_ehlo(struct tg_smtpc *c)
{
	if (c->reply.code != 250) {
		smtpc_refused(c, TG_SMTPC_EHLO_REJECTED,
		    "EHLO over TLS refused");
		return;
	}
	smtpc_parse_ehlo(c);
	smtpc_store_session(c);
	tg_smtpc_to_ready(c);
}

/* A reply while idle: the server is closing (421, RFC 5321 §3.8). */
static void
st_ready(struct tg_smtpc *c)
{
	smtpc_fail_reply(c, TG_SMTPC_CLOSED, "server spoke while idle");
	smtpc_end(c);
}

static void
st_quit(struct tg_smtpc *c)
{
	smtpc_end(c);
}

typedef void (*smtpc_handler)(struct tg_smtpc *c);

static const smtpc_handler smtpc_handlers[TG_SMTPC_STEP_DONE] = {
	[TG_SMTPC_STEP_BANNER] = st_banner,
	[TG_SMTPC_STEP_EHLO] = st_ehlo,
	[TG_SMTPC_STEP_HELO] = st_helo,
	[TG_SMTPC_STEP_STARTTLS] = st_starttls,
	[TG_SMTPC_STEP_TLS_EHLO] = st_tls_ehlo,
	[TG_SMTPC_STEP_READY] = st_ready,
	[TG_SMTPC_STEP_MAIL] = tg_smtpc_st_mail,
	[TG_SMTPC_STEP_RCPT] = tg_smtpc_st_rcpt,
	[TG_SMTPC_STEP_DATA] = tg_smtpc_st_data,
	[TG_SMTPC_STEP_DOT] = tg_smtpc_st_dot,
	[TG_SMTPC_STEP_RSET] = tg_smtpc_st_rset,
	[TG_SMTPC_STEP_QUIT] = st_quit,
};

/* ---- I/O ---- */

/* More replies due after this one: only inside a pipelined MAIL, RCPT,
 * DATA group (RFC 2920 §3.1). */
static int
smtpc_more_due(const struct tg_smtpc *c)
{
	return c->pipelining && (c->state == TG_SMTPC_STEP_MAIL ||
	    c->state == TG_SMTPC_STEP_RCPT);
}

/* A complete reply. Bytes after it when no reply is due are a server
 * speaking out of turn (CVE-2021-38371: after "220" to STARTTLS, an
 * injection attempt; nothing is sent in TLS then). */
static void
smtpc_dispatch(struct tg_smtpc *c, struct evbuffer *in)
{
	evtimer_del(c->timer);
	if (c->state == TG_SMTPC_STEP_QUIT) {
		smtpc_end(c);
		return;
	}
	if (evbuffer_get_length(in) > 0 && !smtpc_more_due(c)) {
		tg_smtpc_note_reply(c);
		tg_smtpc_lost(c, TG_SMTPC_PROTOCOL_ERROR, "4.5.0", "%s",
		    c->state == TG_SMTPC_STEP_STARTTLS ?
		    "plaintext after the STARTTLS reply (response injection)" :
		    "data after the reply, before our next command");
		return;
	}
	if (c->reply.code == 421 && c->state != TG_SMTPC_STEP_READY) {
		/* RFC 5321 §3.8: the server is closing the channel. */
		tg_smtpc_note_reply(c);
		smtpc_fail_reply(c, TG_SMTPC_CLOSED, "server closing");
		smtpc_end(c);
		return;
	}
	smtpc_handlers[c->state](c);
}

static void
smtpc_read_cb(struct bufferevent *bev, void *arg)
{
	struct tg_smtpc *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct tg_err err;
	int rc;

	while (c->bev == bev && evbuffer_get_length(in) > 0) {
		if (smtpc_handlers[c->state] == NULL) {
			tg_smtpc_lost(c, TG_SMTPC_PROTOCOL_ERROR, "4.5.0",
			    "data from the server out of turn (%s)",
			    tg_smtpc_step_name(c->state));
			return;
		}
		if ((rc = tg_smtp_reply_read(&c->reply, in, &err)) == 0)
			return;
		if (rc < 0) {
			tg_smtpc_lost(c, TG_SMTPC_PROTOCOL_ERROR, "4.5.0",
			    "bad reply: %s", err.msg);
			return;
		}
		smtpc_dispatch(c, in);
		tg_smtp_reply_free(&c->reply);
	}
}

static void
smtpc_write_cb(struct bufferevent *bev, void *arg)
{
	struct tg_smtpc *c = arg;

	if (c->bev == bev && c->state == TG_SMTPC_STEP_BODY)
		tg_smtpc_body_pump(c);
}

static void
smtpc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tg_smtpc *c = arg;
	char ebuf[200];

	(void)bev;
	if (c->state == TG_SMTPC_STEP_TLS) {
		smtpc_tls_event(c, what);
	} else if (c->state == TG_SMTPC_STEP_QUIT) {
		smtpc_end(c);
	} else if (what & BEV_EVENT_EOF) {
		tg_smtpc_lost(c, TG_SMTPC_CLOSED, "4.4.2",
		    "connection closed by the server");
	} else if ((what & BEV_EVENT_ERROR) && c->res.tls_started) {
		smtpc_ssl_error(c->bev, ebuf, sizeof(ebuf));
		tg_smtpc_lost(c, TG_SMTPC_CLOSED, "4.4.2", "TLS error: %s",
		    ebuf);
	} else if (what & BEV_EVENT_ERROR) {
		tg_smtpc_lost(c, TG_SMTPC_CLOSED, "4.4.2",
		    "connection error: %s",
		    strerror(EVUTIL_SOCKET_ERROR()));
	}
}

static void
smtpc_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tg_smtpc *c = arg;

	(void)fd;
	(void)what;
	switch (c->state) {
	case TG_SMTPC_STEP_CONNECT:
		tg_smtpc_lost(c, TG_SMTPC_CONNECT_TIMEOUT, "4.4.1",
		    "connect timed out");
		return;
	case TG_SMTPC_STEP_TLS:
		c->res.result_type = "validation-failure";
		tg_smtpc_lost(c, TG_SMTPC_TLS_FAILED, "4.4.2",
		    "TLS handshake timed out");
		return;
	case TG_SMTPC_STEP_QUIT:
		smtpc_end(c);
		return;
	case TG_SMTPC_STEP_READY:
		tg_smtpc_quit(c);	/* idle: not a failure */
		return;
	default:
		tg_smtpc_lost(c, TG_SMTPC_TIMEOUT, "4.4.2",
		    "%s timed out", tg_smtpc_step_name(c->state));
		return;
	}
}

/* ---- connecting ---- */

static void
smtpc_local_ip(struct tg_smtpc *c, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const void *a;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	a = ss.ss_family == AF_INET6 ?
	    (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr :
	    (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
	if (inet_ntop(ss.ss_family, a, c->res.local_ip,
	    sizeof(c->res.local_ip)) == NULL)
		c->res.local_ip[0] = '\0';
}

static void
smtpc_connected(struct tg_smtpc *c)
{
	smtpc_local_ip(c, c->fd);
	c->bev = bufferevent_socket_new(c->base, c->fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		tg_smtpc_lost(c, TG_SMTPC_INTERNAL, "4.3.0", "out of memory");
		return;
	}
	c->fd = -1;
	/* Memory bound while a reply is incomplete: a few lines' worth is
	 * all we ever need buffered. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 4 * TG_SMTP_LINE_MAX);
	bufferevent_setwatermark(c->bev, EV_WRITE, TG_SMTPC_OUT_HIGH / 2, 0);
	bufferevent_setcb(c->bev, smtpc_read_cb, smtpc_write_cb,
	    smtpc_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	tg_smtpc_enter(c, TG_SMTPC_STEP_BANNER);
}

static void
smtpc_connect_error(struct tg_smtpc *c, int e)
{
	if (e == ECONNREFUSED)
		tg_smtpc_lost(c, TG_SMTPC_CONNECT_REFUSED, "4.4.1",
		    "connection refused");
	else if (e == ETIMEDOUT)
		tg_smtpc_lost(c, TG_SMTPC_CONNECT_TIMEOUT, "4.4.1",
		    "connect timed out");
	else
		tg_smtpc_lost(c, TG_SMTPC_CONNECT_FAILED, "4.4.1",
		    "connect: %s", strerror(e));
}

static void
smtpc_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tg_smtpc *c = arg;
	socklen_t len = sizeof(int);
	int e = 0;

	(void)what;
	evtimer_del(c->timer);
	event_free(c->conn_ev);
	c->conn_ev = NULL;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	if (e != 0) {
		smtpc_connect_error(c, e);
		return;
	}
	smtpc_connected(c);
}

/* Runs from its own event, so that no callback runs inside
 * tg_smtpc_connect even when connect() fails at once. */
static void
smtpc_start_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tg_smtpc *c = arg;

	(void)fd;
	(void)what;
	event_free(c->conn_ev);
	c->conn_ev = NULL;
	c->fd = socket(c->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		tg_smtpc_lost(c, TG_SMTPC_INTERNAL, "4.3.0", "socket: %s",
		    strerror(errno));
		return;
	}
	if (connect(c->fd, (struct sockaddr *)&c->sa, c->salen) < 0 &&
	    errno != EINPROGRESS) {
		smtpc_connect_error(c, errno);
		return;
	}
	c->conn_ev = event_new(c->base, c->fd, EV_WRITE, smtpc_connect_cb, c);
	if (c->conn_ev == NULL) {
		tg_smtpc_lost(c, TG_SMTPC_INTERNAL, "4.3.0", "out of memory");
		return;
	}
	event_add(c->conn_ev, NULL);
}

/* ---- callbacks and the object's life ---- */

static void
smtpc_ready_fire(evutil_socket_t fd, short what, void *arg)
{
	struct tg_smtpc *c = arg;

	(void)fd;
	(void)what;
	if (!c->ready_due || c->closing)
		return;
	c->ready_due = 0;
	c->res.elapsed_ms = tg_clock_mono_ms() - c->start_ms;
	c->ready_cb(c, &c->res, c->ready_arg);
}

static void
smtpc_destroy(struct tg_smtpc *c)
{
	smtpc_teardown(c);
	tg_smtpc_txn_release(c);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->ready_ev != NULL)
		event_free(c->ready_ev);
	if (c->done_ev != NULL)
		event_free(c->done_ev);
	if (c->free_ev != NULL)
		event_free(c->free_ev);
	if (c->freed != NULL)
		c->freed(c->freed_arg);
	free(c);
}

static void
smtpc_free_fire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	smtpc_destroy(arg);
}

void
tg_smtpc_free(struct tg_smtpc *c)
{
	if (c != NULL)
		smtpc_destroy(c);
}

void
tg_smtpc_close(struct tg_smtpc *c)
{
	if (c == NULL || c->closing)
		return;
	c->closing = 1;
	event_del(c->ready_ev);
	event_del(c->done_ev);
	switch (c->state) {
	case TG_SMTPC_STEP_READY:
		tg_smtpc_quit(c);
		return;
	case TG_SMTPC_STEP_RSET:	/* QUIT follows the RSET reply */
	case TG_SMTPC_STEP_QUIT:
		return;
	default:
		/* Connecting, or inside a transaction: no QUIT can be said
		 * in the middle of a command; just close. */
		smtpc_teardown(c);
		c->state = TG_SMTPC_STEP_DONE;
		event_active(c->free_ev, EV_TIMEOUT, 0);
		return;
	}
}

void
tg_smtpc_close_notify(struct tg_smtpc *c, void (*freed)(void *arg),
    void *arg)
{
	c->freed = freed;
	c->freed_arg = arg;
	tg_smtpc_close(c);
}

int
tg_smtpc_usable(const struct tg_smtpc *c)
{
	return c != NULL && !c->closing && c->res.status == TG_SMTPC_OK &&
	    (c->state == TG_SMTPC_STEP_READY || c->state == TG_SMTPC_STEP_RSET);
}

const struct tg_smtpc_conn *
tg_smtpc_result(const struct tg_smtpc *c)
{
	return &c->res;
}

/* ---- setting up ---- */

void
tg_smtpc_params_init(struct tg_smtpc_params *p)
{
	memset(p, 0, sizeof(*p));
	p->port = 25;
	p->tls = TG_SMTPC_TLS_MAY;
}

static int
smtpc_ms(int ms, int dflt_s)
{
	return ms > 0 ? ms : dflt_s * 1000;
}

static void
smtpc_set_timeouts(struct tg_smtpc *c, const struct tg_smtpc_timeouts *t)
{
	int *m = c->tmo_ms;

	m[TG_SMTPC_STEP_CONNECT] = smtpc_ms(t->connect_ms,
	    TG_SMTP_CONNECT_TIMEOUT_S);
	m[TG_SMTPC_STEP_BANNER] = smtpc_ms(t->banner_ms,
	    TG_SMTP_GREETING_TIMEOUT_S);
	m[TG_SMTPC_STEP_EHLO] = smtpc_ms(t->helo_ms, TG_SMTP_CMD_TIMEOUT_S);
	m[TG_SMTPC_STEP_HELO] = m[TG_SMTPC_STEP_EHLO];
	m[TG_SMTPC_STEP_TLS_EHLO] = m[TG_SMTPC_STEP_EHLO];
	m[TG_SMTPC_STEP_STARTTLS] = smtpc_ms(t->starttls_ms,
	    TG_SMTP_CMD_TIMEOUT_S);
	m[TG_SMTPC_STEP_TLS] = smtpc_ms(t->tls_ms, TG_TLS_HANDSHAKE_TIMEOUT_S);
	m[TG_SMTPC_STEP_READY] = smtpc_ms(t->idle_ms, TG_SMTPC_IDLE_TIMEOUT_S);
	m[TG_SMTPC_STEP_MAIL] = smtpc_ms(t->mail_ms, TG_SMTP_CMD_TIMEOUT_S);
	m[TG_SMTPC_STEP_RCPT] = smtpc_ms(t->rcpt_ms, TG_SMTP_CMD_TIMEOUT_S);
	m[TG_SMTPC_STEP_DATA] = smtpc_ms(t->data_ms,
	    TG_SMTPC_DATA_INIT_TIMEOUT_S);
	m[TG_SMTPC_STEP_BODY] = smtpc_ms(t->body_ms,
	    TG_SMTPC_DATA_XFER_TIMEOUT_S);
	m[TG_SMTPC_STEP_DOT] = smtpc_ms(t->dot_ms,
	    TG_SMTPC_DATA_DONE_TIMEOUT_S);
	m[TG_SMTPC_STEP_RSET] = smtpc_ms(t->rset_ms, TG_SMTPC_RSET_TIMEOUT_S);
	m[TG_SMTPC_STEP_QUIT] = smtpc_ms(t->quit_ms, TG_SMTPC_QUIT_TIMEOUT_S);
}

/* The EHLO argument goes on the wire: printable, no spaces. */
static int
smtpc_helo_ok(const char *h)
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
smtpc_parse_addr(struct tg_smtpc *c, const char *addr, unsigned port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&c->sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->sa;

	memset(&c->sa, 0, sizeof(c->sa));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		c->salen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		c->salen = sizeof(*s6);
	} else
		return -1;
	tg_text_fmt(c->res.peer_ip, sizeof(c->res.peer_ip), "%s", addr);
	c->res.peer_port = port;
	return 0;
}

static int
smtpc_check_params(const struct tg_smtpc_params *pp, tg_smtpc_ready_cb cb,
    struct tg_err *err)
{
	if (pp->addr == NULL || strlen(pp->addr) >= INET6_ADDRSTRLEN)
		return tg_err_set(err, TG_ERR_BUG, NULL, "no address");
	if (!smtpc_helo_ok(pp->helo_name))
		return tg_err_set(err, TG_ERR_BUG, NULL, "bad EHLO name");
	if (pp->tls != TG_SMTPC_TLS_NONE && pp->tls != TG_SMTPC_TLS_MAY &&
	    pp->tls != TG_SMTPC_TLS_REQUIRE)
		return tg_err_set(err, TG_ERR_BUG, NULL, "bad TLS level");
	if (pp->tls != TG_SMTPC_TLS_NONE &&
	    (pp->ctx == NULL || pp->verify == NULL))
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "no TLS context or verification parameters");
	if (cb == NULL)
		return tg_err_set(err, TG_ERR_BUG, NULL, "no callback");
	if (pp->port > 65535)
		return tg_err_set(err, TG_ERR_BUG, NULL, "bad port %u",
		    pp->port);
	if (pp->mx_host != NULL && strlen(pp->mx_host) > TG_DNAME_MAX)
		return tg_err_set(err, TG_ERR_BUG, NULL, "MX name too long");
	return 0;
}

/* The session cache key: this peer under these verification
 * parameters (RELIABILITY O-10). */
static void
smtpc_session_key(struct tg_smtpc *c)
{
	char peer[INET6_ADDRSTRLEN + 16];

	if (c->verify == NULL)
		return;
	tg_text_fmt(peer, sizeof(peer), c->sa.ss_family == AF_INET6 ?
	    "[%s]:%u" : "%s:%u", c->res.peer_ip, c->res.peer_port);
	tg_tls_session_key(c->verify, peer, c->sess_key);
}

static struct tg_smtpc *
smtpc_new(struct event_base *base, const struct tg_smtpc_params *pp,
    struct tg_err *err)
{
	struct tg_smtpc *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	c->fd = -1;
	c->base = base;
	if (smtpc_parse_addr(c, pp->addr, pp->port != 0 ? pp->port : 25) < 0) {
		free(c);
		tg_err_set(err, TG_ERR_BUG, NULL, "'%s' is not an IP address",
		    pp->addr);
		return NULL;
	}
	tg_text_fmt(c->helo, sizeof(c->helo), "%s", pp->helo_name);
	tg_text_fmt(c->res.mx_host, sizeof(c->res.mx_host), "%s",
	    pp->mx_host != NULL ? pp->mx_host : "");
	c->tls = pp->tls;
	if (c->tls != TG_SMTPC_TLS_NONE) {
		c->ctx = pp->ctx;
		c->verify = pp->verify;
		c->cache = pp->cache;
	}
	smtpc_session_key(c);
	smtpc_set_timeouts(c, &pp->tmo);
	tg_smtp_reply_init(&c->reply);
	c->timer = evtimer_new(base, smtpc_timeout_cb, c);
	c->ready_ev = event_new(base, -1, 0, smtpc_ready_fire, c);
	c->done_ev = event_new(base, -1, 0, tg_smtpc_done_fire, c);
	c->free_ev = event_new(base, -1, 0, smtpc_free_fire, c);
	if (c->timer == NULL || c->ready_ev == NULL || c->done_ev == NULL ||
	    c->free_ev == NULL) {
		smtpc_destroy(c);
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	return c;
}

struct tg_smtpc *
tg_smtpc_connect(struct event_base *base, const struct tg_smtpc_params *pp,
    tg_smtpc_ready_cb ready, void *arg, struct tg_err *err)
{
	struct tg_smtpc *c;

	if (smtpc_check_params(pp, ready, err) < 0)
		return NULL;
	if ((c = smtpc_new(base, pp, err)) == NULL)
		return NULL;
	c->ready_cb = ready;
	c->ready_arg = arg;
	c->ready_due = 1;
	c->start_ms = tg_clock_mono_ms();
	c->res.status = TG_SMTPC_OK;
	c->res.tls.dane_depth = -1;
	c->res.tls.tlsa_index = -1;
	/* The connect starts from the loop, under the connect timeout. */
	if ((c->conn_ev = event_new(base, -1, 0, smtpc_start_cb, c)) == NULL) {
		smtpc_destroy(c);
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	event_active(c->conn_ev, EV_TIMEOUT, 0);
	tg_smtpc_enter(c, TG_SMTPC_STEP_CONNECT);
	return c;
}

const char *
tg_smtpc_status_name(enum tg_smtpc_status s)
{
	static const char *const names[] = {
		[TG_SMTPC_OK] = "ok",
		[TG_SMTPC_CONNECT_REFUSED] = "connect-refused",
		[TG_SMTPC_CONNECT_TIMEOUT] = "connect-timeout",
		[TG_SMTPC_CONNECT_FAILED] = "connect-failed",
		[TG_SMTPC_BANNER_REJECTED] = "banner-rejected",
		[TG_SMTPC_EHLO_REJECTED] = "ehlo-rejected",
		[TG_SMTPC_NO_STARTTLS] = "no-starttls",
		[TG_SMTPC_STARTTLS_REFUSED] = "starttls-refused",
		[TG_SMTPC_TLS_FAILED] = "tls-failed",
		[TG_SMTPC_NOT_VERIFIED] = "not-verified",
		[TG_SMTPC_TIMEOUT] = "timeout",
		[TG_SMTPC_CLOSED] = "closed",
		[TG_SMTPC_PROTOCOL_ERROR] = "protocol-error",
		[TG_SMTPC_INTERNAL] = "internal-error",
	};

	if ((size_t)s >= sizeof(names) / sizeof(names[0]) || names[s] == NULL)
		return "unknown";
	return names[s];
}

const char *
tg_smtpc_step_name(enum tg_smtpc_step s)
{
	static const char *const names[] = {
		[TG_SMTPC_STEP_CONNECT] = "connect",
		[TG_SMTPC_STEP_BANNER] = "banner",
		[TG_SMTPC_STEP_EHLO] = "ehlo",
		[TG_SMTPC_STEP_HELO] = "helo",
		[TG_SMTPC_STEP_STARTTLS] = "starttls",
		[TG_SMTPC_STEP_TLS] = "tls",
		[TG_SMTPC_STEP_TLS_EHLO] = "tls-ehlo",
		[TG_SMTPC_STEP_READY] = "ready",
		[TG_SMTPC_STEP_MAIL] = "mail",
		[TG_SMTPC_STEP_RCPT] = "rcpt",
		[TG_SMTPC_STEP_DATA] = "data",
		[TG_SMTPC_STEP_BODY] = "body",
		[TG_SMTPC_STEP_DOT] = "dot",
		[TG_SMTPC_STEP_RSET] = "rset",
		[TG_SMTPC_STEP_QUIT] = "quit",
		[TG_SMTPC_STEP_DONE] = "done",
	};

	if ((size_t)s >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[s];
}
