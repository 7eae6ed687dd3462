/*
 * smtp/dsn — delivery status notifications (RFC 3464), built as a whole
 * message ready to be queued.
 *
 * This module owns: the text of a non-delivery report — the headers
 * (From the mail system, To the original sender, Auto-Submitted, RFC 3834
 * §5), a multipart/report (RFC 6522) with a human-readable part, a
 * message/delivery-status part (RFC 3464 §2: per-message and
 * per-recipient fields) and the returned original: its header section as
 * text/rfc822-headers, or the whole message as message/rfc822 when the
 * sender asked RET=FULL (RFC 3461 §4.3) and it is small enough. SMTPUTF8
 * messages get message/global-delivery-status and message/global-headers
 * (RFC 6533 §6). Every line ends in CRLF.
 *
 * It does not own: deciding whether a DSN is due (the delivery engine:
 * never for the null reverse-path, RFC 5321 §4.5.5 and §6.1; only for
 * recipients whose NOTIFY allows it, RFC 3461 §4.1), nor queueing it.
 *
 * tg_dsn_build is pure: it reads the original content only through the
 * callback it is given, and writes only into the caller's buffer.
 */
#ifndef TG_SMTP_DSN_H
#define TG_SMTP_DSN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"

/* One recipient the report is about; strings borrowed. */
struct tg_dsn_rcpt {
	const char *addr;		/* Final-Recipient, without <> */
	const char *orcpt;		/* RFC 3461 ORCPT "type;xtext",
					   or NULL */
	const char *action;		/* "failed" or "delayed"
					   (RFC 3464 §2.3.3) */
	const char *status;		/* "5.1.1" (RFC 3463) */
	const char *remote_mta;		/* MX host name, or NULL */
	const char *diagnostic;		/* the reply or our reason, or NULL */
	time_t last_attempt;		/* 0: not given */
};

/* Content reader, as tg_spool_msg_read: count, 0 at end, -1 with err. */
typedef ssize_t (*tg_dsn_read_fn)(void *arg, void *buf, size_t cap,
    struct tg_err *err);

struct tg_dsn_params {
	const char *reporting_mta;	/* our host name (Reporting-MTA) */
	const char *sender;		/* the original reverse-path: To */
	const char *queue_id;		/* the original queue id */
	const char *envid;		/* RFC 3461 ENVID (xtext), or NULL */
	time_t arrival;			/* Arrival-Date */
	time_t now;			/* Date */
	int ret_full;			/* RFC 3461 RET=FULL was given */
	int utf8;			/* SMTPUTF8 message: global types */
	const struct tg_dsn_rcpt *rcpt;	/* nrcpt >= 1 */
	size_t nrcpt;
	uint64_t size;			/* content bytes of the original */
	tg_dsn_read_fn read;		/* the original's content */
	void *read_arg;
};

/*
 * Append the whole DSN message to out (its limit should be at least
 * TG_DSN_MAX). The original's header section is returned cut at a line
 * end to at most TG_DSN_RETURN_MAX bytes; the whole message only with
 * ret_full and size <= TG_DSN_RETURN_MAX. Returns 0, or -1 with err: a
 * missing field or recipient (TG_ERR_BUG), a text field with CR, LF or
 * NUL (TG_ERR_PERM), the read callback's error, or out's limit reached
 * (TG_ERR_TEMP).
 */
int tg_dsn_build(const struct tg_dsn_params *p, struct tg_buf *out,
    struct tg_err *err);

/* RFC 5322 §3.3 date-time of t in UTC ("Thu, 03 Dec 2026 18:56:38
 * +0000") into out (at least 32 bytes), independent of the locale. */
void tg_dsn_date(time_t t, char *out, size_t outlen);

/*
 * Decode RFC 3461 §4 xtext ("a+2Bb" -> "a+b") into out (outlen bytes,
 * NUL-terminated). Returns 0, or -1 when s is not valid xtext or does
 * not fit.
 */
int tg_dsn_xtext_decode(const char *s, char *out, size_t outlen);

#endif
