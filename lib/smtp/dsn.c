/*
 * smtp/dsn — see dsn.h.
 */
#include "smtp/dsn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_TEXT	512	/* bytes of one diagnostic kept */

void
tg_dsn_date(time_t t, char *out, size_t outlen)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
tg_dsn_xtext_decode(const char *s, char *out, size_t outlen)
{
	size_t o = 0;
	int hi, lo;

	for (; *s != '\0'; s++) {
		int c = (unsigned char)*s;

		/* RFC 3461 §4: xchar is "!" to "~" except "+" and "=". */
		if (c == '+') {
			if ((hi = hexval(s[1])) < 0 || (lo = hexval(s[2])) < 0)
				return -1;
			c = hi * 16 + lo;
			s += 2;
		} else if (c < '!' || c > '~' || c == '=')
			return -1;
		if (c == 0 || c == '\r' || c == '\n' || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	if (outlen == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

/* A header field value must stay one line. */
static int
clean(const char *s)
{
	return s == NULL || strpbrk(s, "\r\n") == NULL;
}

static int
put(struct tg_buf *b, struct tg_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
put(struct tg_buf *b, struct tg_err *err, const char *fmt, ...)
{
	va_list ap;
	char *tmp;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return tg_err_set(err, TG_ERR_BUG, NULL, "DSN: bad format");
	if (b->len + (size_t)n > b->limit)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.0",
		    "DSN larger than its limit");
	if ((tmp = malloc((size_t)n + 1)) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.0", "out of memory");
	va_start(ap, fmt);
	(void)vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	va_end(ap);
	n = tg_buf_append(b, tmp, (size_t)n);
	free(tmp);
	if (n != 0)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.0",
		    "DSN larger than its limit");
	return 0;
}

static int
check_params(const struct tg_dsn_params *p, struct tg_err *err)
{
	size_t i;

	if (p->reporting_mta == NULL || p->sender == NULL ||
	    p->sender[0] == '\0' || p->queue_id == NULL || p->nrcpt == 0 ||
	    p->rcpt == NULL || p->read == NULL)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "DSN: missing field, recipient or reader");
	if (!clean(p->reporting_mta) || !clean(p->sender) ||
	    !clean(p->queue_id) || !clean(p->envid))
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "DSN: line break in a field");
	for (i = 0; i < p->nrcpt; i++) {
		const struct tg_dsn_rcpt *r = &p->rcpt[i];

		if (r->addr == NULL || r->action == NULL || r->status == NULL)
			return tg_err_set(err, TG_ERR_BUG, NULL,
			    "DSN: recipient %zu incomplete", i);
		if (!clean(r->addr) || !clean(r->orcpt) ||
		    !clean(r->remote_mta) || !clean(r->diagnostic) ||
		    !clean(r->status) || !clean(r->action))
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "DSN: line break in recipient %zu", i);
	}
	return 0;
}

static int
put_headers(const struct tg_dsn_params *p, const char *boundary,
    struct tg_buf *b, struct tg_err *err)
{
	char date[40];

	tg_dsn_date(p->now, date, sizeof(date));
	return put(b, err, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
	    "To: <%s>\r\n"
	    "Subject: Undelivered Mail Returned to Sender\r\n"
	    "Date: %s\r\n"
	    "Message-ID: <%s.%lld.dsn@%s>\r\n"
	    "Auto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s\"\r\n"
	    "\r\n"
	    "This is a MIME-encapsulated message.\r\n\r\n",
	    p->reporting_mta, p->sender, date, p->queue_id,
	    (long long)p->now, p->reporting_mta, boundary);
}

/* The human-readable part (RFC 6522 §3: first part). */
static int
put_notice(const struct tg_dsn_params *p, const char *boundary,
    struct tg_buf *b, struct tg_err *err)
{
	size_t i;

	if (put(b, err, "--%s\r\nContent-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=%s\r\n\r\n"
	    "This is the mail system at host %s.\r\n\r\n"
	    "Your message could not be delivered to one or more "
	    "recipients.\r\nThe details are below; the headers of your "
	    "message are attached.\r\n\r\n", boundary,
	    p->utf8 ? "utf-8" : "us-ascii", p->reporting_mta) != 0)
		return -1;
	for (i = 0; i < p->nrcpt; i++)
		if (put(b, err, "<%s>: %.*s\r\n", p->rcpt[i].addr,
		    LINE_MAX_TEXT, p->rcpt[i].diagnostic != NULL ?
		    p->rcpt[i].diagnostic : p->rcpt[i].status) != 0)
			return -1;
	return put(b, err, "\r\n");
}

/* RFC 3464 §2.3: one recipient's fields. */
static int
put_rcpt(const struct tg_dsn_params *p, const struct tg_dsn_rcpt *r,
    struct tg_buf *b, struct tg_err *err)
{
	char orcpt[TG_SPOOL_FIELD_MAX + 1], date[40];
	const char *semi;

	if (put(b, err, "\r\nFinal-Recipient: %s; %s\r\n",
	    p->utf8 ? "utf-8" : "rfc822", r->addr) != 0)
		return -1;
	/* §2.3.1: Original-Recipient is the ORCPT, xtext decoded. */
	if (r->orcpt != NULL && (semi = strchr(r->orcpt, ';')) != NULL &&
	    tg_dsn_xtext_decode(semi + 1, orcpt, sizeof(orcpt)) == 0 &&
	    put(b, err, "Original-Recipient: %.*s; %s\r\n",
	    (int)(semi - r->orcpt), r->orcpt, orcpt) != 0)
		return -1;
	if (put(b, err, "Action: %s\r\nStatus: %s\r\n", r->action,
	    r->status) != 0)
		return -1;
	if (r->remote_mta != NULL && r->remote_mta[0] != '\0' &&
	    put(b, err, "Remote-MTA: dns; %s\r\n", r->remote_mta) != 0)
		return -1;
	if (r->diagnostic != NULL && r->diagnostic[0] != '\0' &&
	    put(b, err, "Diagnostic-Code: %s; %.*s\r\n",
	    r->remote_mta != NULL && r->remote_mta[0] != '\0' ? "smtp" :
	    "x-tlsgate", LINE_MAX_TEXT, r->diagnostic) != 0)
		return -1;
	if (r->last_attempt != 0) {
		tg_dsn_date(r->last_attempt, date, sizeof(date));
		if (put(b, err, "Last-Attempt-Date: %s\r\n", date) != 0)
			return -1;
	}
	return 0;
}

/* RFC 3464 §2.2 per-message fields, then each recipient. */
static int
put_status(const struct tg_dsn_params *p, const char *boundary,
    struct tg_buf *b, struct tg_err *err)
{
	char date[40], envid[TG_SPOOL_FIELD_MAX + 1];
	size_t i;

	tg_dsn_date(p->arrival, date, sizeof(date));
	if (put(b, err, "--%s\r\nContent-Description: Delivery report\r\n"
	    "Content-Type: message/%sdelivery-status\r\n\r\n"
	    "Reporting-MTA: dns; %s\r\nX-Tlsgate-Queue-ID: %s\r\n", boundary,
	    p->utf8 ? "global-" : "", p->reporting_mta, p->queue_id) != 0)
		return -1;
	if (p->envid != NULL && tg_dsn_xtext_decode(p->envid, envid,
	    sizeof(envid)) == 0 && put(b, err, "Original-Envelope-Id: %s\r\n",
	    envid) != 0)
		return -1;
	if (put(b, err, "Arrival-Date: %s\r\n", date) != 0)
		return -1;
	for (i = 0; i < p->nrcpt; i++)
		if (put_rcpt(p, &p->rcpt[i], b, err) != 0)
			return -1;
	return put(b, err, "\r\n");
}

/*
 * Copy the original: everything (full) or the header section, which ends
 * at the first empty line. Cut at a line end at TG_DSN_RETURN_MAX.
 */
static int
put_original(const struct tg_dsn_params *p, int full, struct tg_buf *b,
    struct tg_err *err)
{
	char *buf = malloc(TG_DSN_RETURN_MAX + 1), *end;
	size_t have = 0, keep;
	ssize_t r;

	if (buf == NULL)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.0", "out of memory");
	while (have < TG_DSN_RETURN_MAX && (r = p->read(p->read_arg,
	    buf + have, TG_DSN_RETURN_MAX - have, err)) > 0)
		have += (size_t)r;
	if (have < TG_DSN_RETURN_MAX && r < 0) {
		free(buf);
		return -1;
	}
	buf[have] = '\0';
	keep = have;
	if (!full && (end = memmem(buf, have, "\r\n\r\n", 4)) != NULL)
		keep = (size_t)(end - buf) + 2;
	/* Cut short: end at the last line end, never in a half line. */
	if (keep == TG_DSN_RETURN_MAX)
		while (keep > 0 && buf[keep - 1] != '\n')
			keep--;
	r = tg_buf_append(b, buf, keep);
	free(buf);
	if (r != 0)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.0",
		    "DSN larger than its limit");
	if (keep > 0 && b->data[b->len - 1] != '\n')
		return put(b, err, "\r\n");
	return 0;
}

int
tg_dsn_build(const struct tg_dsn_params *p, struct tg_buf *out,
    struct tg_err *err)
{
	char boundary[TG_SPOOL_FIELD_MAX + 64];
	int full;

	if (check_params(p, err) != 0)
		return -1;
	snprintf(boundary, sizeof(boundary), "%s.%lld/%s", p->queue_id,
	    (long long)p->now, "tlsgate-dsn");
	/* RFC 3461 §4.3: RET=FULL asks for the whole message, when it is
	 * small enough to be sent back (Postfix bounce_size_limit). */
	full = p->ret_full && p->size <= TG_DSN_RETURN_MAX;
	if (put_headers(p, boundary, out, err) != 0 ||
	    put_notice(p, boundary, out, err) != 0 ||
	    put_status(p, boundary, out, err) != 0 ||
	    put(out, err, "--%s\r\nContent-Description: %s\r\n"
	    "Content-Type: %s\r\n\r\n", boundary, full ?
	    "Undelivered Message" : "Undelivered Message Headers",
	    full ? (p->utf8 ? "message/global" : "message/rfc822") :
	    (p->utf8 ? "message/global-headers" :
	    "text/rfc822-headers")) != 0 ||
	    put_original(p, full, out, err) != 0)
		return -1;
	return put(out, err, "\r\n--%s--\r\n", boundary);
}
