/*
 * smtp/reply — the strict, bounded parser of SMTP server replies, shared
 * by every SMTP client of tlsgate (smtp/probe, smtp/client).
 *
 * This module owns: assembling one reply (RFC 5321 §4.2) from lines,
 * with every limit checked before anything is stored; reading EHLO
 * keywords and their parameters (RFC 5321 §4.1.1.1); the enhanced status
 * code at the start of the text (RFC 2034 §4, RFC 3463 §2); and taking
 * reply lines off a libevent input buffer.
 *
 * It does not own: sessions, sockets, timeouts, or deciding what a
 * reply means for a session.
 *
 * Hostile servers (RELIABILITY O-09, CVE-2020-8794): a line longer than
 * TG_SMTP_LINE_MAX, more than TG_SMTP_REPLY_LINES_MAX lines or
 * TG_SMTP_REPLY_MAX bytes of text, a line not ending in CRLF or with a
 * bare CR/LF inside, a bad reply code or one that changes between the
 * lines, a bad separator, NUL or control bytes: each is an error
 * (TG_ERR_PERM with the offset in the line). Everything except
 * tg_smtp_reply_read is pure.
 */
#ifndef TG_SMTP_REPLY_H
#define TG_SMTP_REPLY_H

#include <stddef.h>

#include <event2/buffer.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"

/* "5.123.456" and NUL. */
#define TG_SMTP_ENHANCED_MAX	16

/* One reply. The text of each line (after the code and separator) is
 * kept, lines joined by '\n'. */
struct tg_smtp_reply {
	int code;		/* 0 before the first line */
	size_t lines;
	int done;		/* the last line ("250 x" or "250") came */
	struct tg_buf text;	/* limit TG_SMTP_REPLY_MAX */
};

void tg_smtp_reply_init(struct tg_smtp_reply *r);

/* Release the text; the reply is empty (as after init) afterwards. */
void tg_smtp_reply_free(struct tg_smtp_reply *r);

/*
 * Add a line (len bytes, ending in CRLF). Errors (TG_ERR_PERM, with the
 * offset in the line): no CRLF or a bare CR/LF inside, longer than
 * TG_SMTP_LINE_MAX, code not [2-5][0-5][0-9], separator not SP/'-',
 * NUL or control bytes, a code different from the first line's, more
 * than TG_SMTP_REPLY_LINES_MAX lines or TG_SMTP_REPLY_MAX bytes. A line
 * after the reply is done is a caller bug (TG_ERR_BUG).
 */
int tg_smtp_reply_line(struct tg_smtp_reply *r, const char *line,
    size_t len, struct tg_err *err);

/*
 * Take lines off in (a libevent input buffer) into r until the reply is
 * done: 1 done (bytes after the reply stay in in), 0 more bytes needed,
 * -1 with err: a line error above, or TG_SMTP_LINE_MAX bytes without a
 * line end (so the buffer never needs to hold more than that).
 */
int tg_smtp_reply_read(struct tg_smtp_reply *r, struct evbuffer *in,
    struct tg_err *err);

/* 1 if an EHLO reply (lines after the first) lists keyword,
 * case-insensitively (RFC 5321 §4.1.1.1). */
int tg_smtp_reply_has_keyword(const struct tg_smtp_reply *r,
    const char *keyword);

/*
 * Like has_keyword, and copy the keyword's parameters (the rest of its
 * line after one space, "" when none) into out (outlen > 0; cut short
 * if needed).
 */
int tg_smtp_reply_ehlo_param(const struct tg_smtp_reply *r,
    const char *keyword, char *out, size_t outlen);

/*
 * The enhanced status code at the start of the text (RFC 2034 §4:
 * "250 2.1.0 Ok"; RFC 3463 §2: class "." 1*3digit "." 1*3digit, class
 * equal to the reply's first digit), followed by a space or the end of
 * the line. 1 and out filled, or 0 (out "").
 */
int tg_smtp_reply_enhanced(const struct tg_smtp_reply *r,
    char out[TG_SMTP_ENHANCED_MAX]);

/* The first line's text (borrowed, not NUL-terminated) and its length. */
const char *tg_smtp_reply_first(const struct tg_smtp_reply *r, size_t *len);

#endif
