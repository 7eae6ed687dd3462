/*
 * util/err — the one error shape of libtlsgate.
 *
 * Every fallible function in lib/ returns an int (0 = success, -1 = failure)
 * and, when the caller passes a non-NULL struct tg_err, fills it with:
 *   - the class: temporary (retry later), permanent (will not get better),
 *     or bug (our own mistake: callers usually assert on it);
 *   - an enhanced status code (RFC 3463, e.g. "4.7.5") where SMTP needs one;
 *   - the RFC 8460 §4.3 result type where TLS reporting needs one;
 *   - the byte offset into the input where a parser stopped;
 *   - a bounded, human-readable message.
 * The struct is plain data: no allocation, safe to copy.
 */
#ifndef TG_UTIL_ERR_H
#define TG_UTIL_ERR_H

#include <stddef.h>

#define TG_ERR_MSG_MAX 512

enum tg_err_class {
	TG_ERR_NONE = 0,
	TG_ERR_TEMP,		/* temporary: retry may succeed */
	TG_ERR_PERM,		/* permanent: bad input, policy refusal */
	TG_ERR_BUG		/* internal inconsistency */
};

struct tg_err {
	enum tg_err_class cls;
	char status[8];		/* enhanced status code, "" if none */
	const char *result_type; /* RFC 8460 result type, static, or NULL */
	long offset;		/* parser offset, -1 if not applicable */
	char msg[TG_ERR_MSG_MAX];
};

/* Reset err to "no error". NULL-safe. */
void tg_err_clear(struct tg_err *err);

/*
 * Fill err (NULL-safe) with class, enhanced status (may be NULL) and a
 * printf-style message; always returns -1 so callers can write
 * `return tg_err_set(err, ...);`.
 */
int tg_err_set(struct tg_err *err, enum tg_err_class cls, const char *status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Like tg_err_set, with a parser offset. */
int tg_err_set_at(struct tg_err *err, enum tg_err_class cls, long offset,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Prefix the existing message with "prefix: ". NULL-safe. */
void tg_err_prefix(struct tg_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Name of a class: "temporary", "permanent", "bug" or "none". */
const char *tg_err_class_name(enum tg_err_class cls);

#endif
