/*
 * smtp/server_data — DATA in the SMTP server: the envelope handed to the
 * spool, the Received header, the content through smtp/dotstuff into the
 * spool, the DATA deadline, and the group commit that gives the 250.
 */
#include "smtp/server_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"

/* RFC 3848, RFC 6531 §3.7.3: the "with" protocol of the Received line. */
static const char *
data_proto(const struct tg_smtpd_sess *s)
{
	if (s->mail.smtputf8)
		return s->tls ? "UTF8SMTPS" : "UTF8SMTP";
	if (s->tls)
		return "ESMTPS";
	return s->esmtp ? "ESMTP" : "SMTP";
}

/* The envelope as the spool takes it; everything borrowed from s. */
static void
data_env(struct tg_smtpd_sess *s, struct tg_spool_env *env)
{
	memset(env, 0, sizeof(*env));
	env->sender = s->mail.path.addr;
	env->envid = s->mail.envid[0] != '\0' ? s->mail.envid : NULL;
	env->ret = s->mail.ret == TG_SMTPCMD_RET_FULL ? TG_SPOOL_RET_FULL :
	    s->mail.ret == TG_SMTPCMD_RET_HDRS ? TG_SPOOL_RET_HDRS :
	    TG_SPOOL_RET_UNSET;
	if (s->mail.smtputf8)
		env->flags |= TG_SPOOL_F_SMTPUTF8;
	if (s->mail.body == TG_SMTPCMD_BODY_8BITMIME)
		env->flags |= TG_SPOOL_F_8BITMIME;
	if (s->mail.requiretls)				/* RFC 8689 §4.1 */
		env->flags |= TG_SPOOL_F_REQUIRETLS;
	env->helo = s->helo;
	env->client_addr = s->peer;
	env->proto = (char *)data_proto(s);
	env->tls_version = s->tls ? s->tls_version : NULL;
	env->tls_cipher = s->tls ? s->tls_cipher : NULL;
	env->rcpt = s->rcpt;
	env->nrcpt = s->nrcpt;
}

/* RFC 5322 §3.3 date-time in UTC, independent of the locale. */
static void
data_date(char *out, size_t outlen)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t now = tg_clock_now();
	struct tm tm;

	gmtime_r(&now, &tm);
	snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    wd[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A bounded text being built; over is set when something did not fit. */
struct hdrbuf {
	char s[2048];
	size_t n;
	int over;
};

static void __attribute__((format(printf, 2, 3)))
hdr_add(struct hdrbuf *h, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (h->over)
		return;
	va_start(ap, fmt);
	k = vsnprintf(h->s + h->n, sizeof(h->s) - h->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(h->s) - h->n)
		h->over = 1;
	else
		h->n += (size_t)k;
}

/*
 * RFC 5321 §4.4: the trace header at the top of the content. "for" only
 * with a single recipient (optional in §4.4; several would tell each
 * recipient about the others).
 */
static int
data_received(struct tg_smtpd_sess *s, struct tg_err *err)
{
	struct hdrbuf h;
	char date[64];

	h.n = 0;
	h.over = 0;
	data_date(date, sizeof(date));
	hdr_add(&h, "Received: from %s ([%s%s])\r\n", s->helo,
	    strchr(s->peer, ':') != NULL ? "IPv6:" : "", s->peer);
	hdr_add(&h, "\tby %s (tlsgate) with %s id %s", s->conf->hostname,
	    data_proto(s), s->qid);
	if (s->tls)
		hdr_add(&h, "\r\n\t(using %s with cipher %s)", s->tls_version,
		    s->tls_cipher);
	if (s->nrcpt == 1)
		hdr_add(&h, "\r\n\tfor <%s>", s->rcpt[0].addr);
	hdr_add(&h, ";\r\n\t%s\r\n", date);
	if (h.over)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.0",
		    "Received header too long");
	return tg_spool_write(s->wmsg, h.s, h.n, err);
}

/* The reply for a spool failure (spool.h: 4.3.0, 4.3.1 or 5.3.4). */
static int
spool_code(const struct tg_err *err)
{
	if (err->cls == TG_ERR_PERM && strcmp(err->status, "5.3.4") == 0)
		return 552;
	return strcmp(err->status, "4.3.1") == 0 ? 452 : 451;
}

static const char *
spool_status(int code)
{
	return code == 552 ? "5.3.4" : code == 452 ? "4.3.1" : "4.3.0";
}

static const char *
spool_text(int code)
{
	return code == 552 ? "Error: message too big for system" :
	    code == 452 ? "Error: insufficient system storage" :
	    "Error: cannot queue the message now";
}

void
tg_smtpd_data_begin(struct tg_smtpd_sess *s)
{
	struct tg_spool_env env;
	struct tg_err err;
	int code;

	data_env(s, &env);
	if (tg_spool_begin(s->srv->spool, &env, &s->wmsg, &err) == 0) {
		snprintf(s->qid, sizeof(s->qid), "%s",
		    tg_spool_wmsg_id(s->wmsg));
		if (data_received(s, &err) == 0)
			goto go;
		tg_spool_abort(&s->wmsg);
	}
	/* RELIABILITY §1.9.6: 451 4.3.0, or 452 4.3.1 for space. */
	code = spool_code(&err);
	tg_log_warn(s->sid, "peer=%s event=message result=deferred code=%d "
	    "reason=\"spool: %s\"", s->peer, code, err.msg);
	tg_smtpd_reply_err(s, code, spool_status(code), spool_text(code));
	return;
go:
	tg_dotstuff_init(&s->dec, &s->conf->hdr);
	s->reject_code = 0;
	s->data_in = 0;
	s->data_start = tg_clock_mono_ms();
	s->deadline = s->data_start + s->conf->data_timeout_ms;
	s->phase = TG_SMTPD_DATA;
	tg_smtpd_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	tg_smtpd_arm(s);
}

/* Remember why the message will be refused; its spool file goes now. */
static void
data_reject(struct tg_smtpd_sess *s, int code, const char *status,
    const char *text)
{
	s->reject_code = code;
	snprintf(s->reject_status, sizeof(s->reject_status), "%s", status);
	snprintf(s->reject_text, sizeof(s->reject_text), "%s", text);
	tg_spool_abort(&s->wmsg);
}

/* Decoded content: checked, then written to the spool. */
static void
data_content(struct tg_smtpd_sess *s, const unsigned char *p, size_t n)
{
	struct tg_err err;
	int code;

	if (s->reject_code != 0)
		return;
	if (s->dec.flags & TG_DOTSTUFF_BAD)
		data_reject(s, 554, "5.6.0", tg_dotstuff_reason(s->dec.flags));
	else if (s->dec.flags & TG_DOTSTUFF_HDR)
		data_reject(s, 552, "5.3.4", tg_dotstuff_reason(s->dec.flags));
	else if (s->dec.flags & TG_DOTSTUFF_HOPS)
		/* RFC 5321 §6.3; RFC 3463 X.4.6 "routing loop detected". */
		data_reject(s, 554, "5.4.6", tg_dotstuff_reason(s->dec.flags));
	else if (s->dec.out_bytes > s->conf->max_size)
		data_reject(s, 552, "5.3.4", "Error: message exceeds fixed "
		    "maximum message size");
	else if (n > 0 && tg_spool_write(s->wmsg, p, n, &err) != 0) {
		code = spool_code(&err);
		tg_log_warn(s->sid, "peer=%s event=spool-write result=failed "
		    "error=\"%s\"", s->peer, err.msg);
		data_reject(s, code, spool_status(code), spool_text(code));
	}
}

/* Postfix smtpd_min_data_rate: bytes received extend the deadline, which
 * never lies more than data_timeout ahead. */
static void
data_rate(struct tg_smtpd_sess *s, uint64_t got)
{
	long long now = tg_clock_mono_ms();
	unsigned rate = s->conf->min_data_rate > 0 ? s->conf->min_data_rate :
	    1;

	s->data_in += got;
	s->deadline += (long long)(got * 1000 / rate);
	if (s->deadline > now + s->conf->data_timeout_ms)
		s->deadline = now + s->conf->data_timeout_ms;
}

static void
data_log_rejected(struct tg_smtpd_sess *s)
{
	char from[3 * TG_SMTPD_PATH_MAX + 1];

	tg_smtpd_log_bytes(from, sizeof(from), s->mail.path.addr,
	    strlen(s->mail.path.addr));
	tg_log_info(s->sid, "peer=%s event=message result=rejected code=%d "
	    "status=%s reason=\"%s\" from=<%s> nrcpt=%zu size=%llu "
	    "offset=%llu", s->peer, s->reject_code, s->reject_status,
	    s->reject_text, from, s->nrcpt,
	    (unsigned long long)s->dec.out_bytes,
	    (unsigned long long)s->dec.bad_offset);
}

/* <CRLF>.<CRLF> seen: refuse, or queue for the group commit. */
static void
data_end(struct tg_smtpd_sess *s, struct evbuffer *in)
{
	if (!s->esmtp && evbuffer_get_length(in) > 0) {
		/* RFC 2920 §3.1: no PIPELINING, nothing may follow "." */
		tg_smtpd_violation(s, "pipelining without EHLO");
		return;
	}
	if (s->reject_code != 0) {
		int code = s->reject_code;
		char status[sizeof(s->reject_status)];
		char text[sizeof(s->reject_text)];

		memcpy(status, s->reject_status, sizeof(status));
		memcpy(text, s->reject_text, sizeof(text));
		data_log_rejected(s);
		s->rejected++;
		s->srv->stats.rejected++;
		tg_smtpd_reset(s);
		s->phase = TG_SMTPD_READY;
		tg_smtpd_arm(s);
		tg_smtpd_reply_err(s, code, status, text);
		return;
	}
	s->phase = TG_SMTPD_COMMIT;
	s->in_commit = 1;
	TAILQ_INSERT_TAIL(&s->srv->commits, s, clink);
	event_active(s->srv->committer, EV_TIMEOUT, 0);
	tg_smtpd_arm(s);
}

/* Decode the contiguous pieces of in (an evbuffer may hold empty
 * chains: skip them); returns the bytes consumed. */
static size_t
data_pieces(struct tg_smtpd_sess *s, struct evbuffer *in)
{
	struct evbuffer_iovec v[8];
	size_t total = 0, n, used, outlen;
	int nv, i;

	nv = evbuffer_peek(in, -1, NULL, v, 8);
	if (nv > 8)
		nv = 8;
	for (i = 0; i < nv && !tg_dotstuff_done(&s->dec); i++) {
		n = v[i].iov_len < TG_SMTPD_SCRATCH ? v[i].iov_len :
		    TG_SMTPD_SCRATCH;
		used = tg_dotstuff_feed(&s->dec, v[i].iov_base, n,
		    s->srv->scratch, &outlen);
		data_content(s, s->srv->scratch, outlen);
		total += used;
		if (used < v[i].iov_len)
			break;
	}
	evbuffer_drain(in, total);
	return total;
}

int
tg_smtpd_data_input(struct tg_smtpd_sess *s, struct evbuffer *in)
{
	uint64_t got = 0;
	size_t k;

	while (!tg_dotstuff_done(&s->dec) && evbuffer_get_length(in) > 0) {
		if ((k = data_pieces(s, in)) == 0)
			break;
		got += k;
	}
	data_rate(s, got);
	if (!tg_dotstuff_done(&s->dec)) {
		tg_smtpd_arm(s);
		return 0;
	}
	data_end(s, in);
	return 1;
}

/* ---- group commit ------------------------------------------------------ */

void
tg_smtpd_commit_cancel(struct tg_smtpd_sess *s)
{
	if (!s->in_commit)
		return;
	TAILQ_REMOVE(&s->srv->commits, s, clink);
	s->in_commit = 0;
	/* No 250 was given: removing the message loses no promise. */
	tg_spool_abort(&s->wmsg);
}

static void
commit_ok(struct tg_smtpd_sess *s)
{
	struct tg_smtpd *srv = s->srv;
	struct tg_spool_env env;
	char from[3 * TG_SMTPD_PATH_MAX + 1];

	/* RFC 5321 §6.1: the message is on disk; now say so. */
	tg_smtpd_reply(s, 250, "2.0.0", "Ok: queued as %s", s->qid);
	tg_smtpd_log_bytes(from, sizeof(from), s->mail.path.addr,
	    strlen(s->mail.path.addr));
	tg_log_info(s->sid, "peer=%s event=message result=queued "
	    "queue_id=%s from=<%s> nrcpt=%zu size=%llu tls=%s delay=%lldms",
	    s->peer, s->qid, from, s->nrcpt,
	    (unsigned long long)s->dec.out_bytes, s->tls ? s->tls_version :
	    "none", tg_clock_mono_ms() - s->data_start);
	s->messages++;
	srv->stats.queued++;
	if (srv->queued != NULL) {
		data_env(s, &env);
		snprintf(env.qid, sizeof(env.qid), "%s", s->qid);
		srv->queued(srv->queued_arg, s->qid, &env);
	}
}

static void
commit_failed(struct tg_smtpd_sess *s, const struct tg_err *err)
{
	int code = spool_code(err);

	tg_log_warn(s->sid, "peer=%s event=message result=deferred code=%d "
	    "queue_id=%s reason=\"spool: %s\"", s->peer, code, s->qid,
	    err->msg);
	s->reject_code = code;
}

/* The commit of s is over (status 0: durable). */
static void
commit_done(struct tg_smtpd_sess *s, int status, const struct tg_err *err)
{
	int code = 0;

	if (status == 0)
		commit_ok(s);
	else {
		commit_failed(s, err);
		code = s->reject_code;
	}
	tg_smtpd_reset(s);
	s->phase = TG_SMTPD_READY;
	tg_smtpd_arm(s);
	if (code != 0)
		tg_smtpd_reply_err(s, code, spool_status(code),
		    spool_text(code));
	tg_smtpd_process(s);
}

void
tg_smtpd_commit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tg_smtpd *srv = arg;
	struct tg_smtpd_batch *b = srv->batch;
	struct tg_smtpd_sess *s;
	size_t n = 0, i;

	(void)fd;
	(void)what;
	while (n < TG_SPOOL_BATCH_MAX &&
	    (s = TAILQ_FIRST(&srv->commits)) != NULL) {
		TAILQ_REMOVE(&srv->commits, s, clink);
		s->in_commit = 0;
		b->sess[n] = s;
		b->w[n] = s->wmsg;
		s->wmsg = NULL;
		n++;
	}
	if (!TAILQ_EMPTY(&srv->commits))
		event_active(srv->committer, EV_TIMEOUT, 0);
	if (n == 0)
		return;
	tg_spool_commit_batch(srv->spool, b->w, n, b->status, b->errs);
	for (i = 0; i < n; i++)
		commit_done(b->sess[i], b->status[i], &b->errs[i]);
}
