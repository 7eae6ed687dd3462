/*
 * core/log — the only way tlsgate writes a log line.
 *
 * One line per outcome, "key=value" pairs after a short text, with the
 * session id first when there is one:
 *   sid=7KQ2M9XD4TBA peer=192.0.2.1 result=accepted queue_id=...
 * Lines go to stderr (foreground, tests, systemd) or to syslog (mail
 * facility). Control characters in a line are escaped so that a peer
 * cannot forge or split log lines (RELIABILITY I-12). No other lib module
 * prints anything.
 */
#ifndef TG_CORE_LOG_H
#define TG_CORE_LOG_H

#include <stddef.h>

enum tg_log_level {
	TG_LOG_DEBUG = 0,
	TG_LOG_INFO,
	TG_LOG_WARN,
	TG_LOG_ERR,
	TG_LOG_FATAL
};

enum tg_log_dest { TG_LOG_STDERR = 0, TG_LOG_SYSLOG, TG_LOG_NONE };

#define TG_SID_LEN 12

/* Set program name, destination and minimum level. Call once at start. */
void tg_log_open(const char *ident, enum tg_log_dest dest,
    enum tg_log_level min_level);

/* Parse "debug", "info", "warn", "err"; -1 if unknown. */
int tg_log_level_parse(const char *name);

/* Write one line. sid may be NULL. */
void tg_log(enum tg_log_level level, const char *sid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * A tap on the log: fn sees every line written at min_level or above —
 * as written (escaped), without the time stamp, program and sid — on the
 * thread that wrote it, after it was written. Lines fn writes itself do
 * not reach it again. NULL fn: no tap.
 */
typedef void (*tg_log_tap_fn)(void *arg, enum tg_log_level level,
    const char *line);
void tg_log_set_tap(enum tg_log_level min_level, tg_log_tap_fn fn,
    void *arg);

/* "debug", "info", "warn", "err", "fatal". */
const char *tg_log_level_name(enum tg_log_level level);

/* Fill sid with a fresh random session id (TG_SID_LEN chars + NUL). */
void tg_log_new_sid(char sid[TG_SID_LEN + 1]);

/* Copy src into dst escaping control and non-ASCII bytes as \xNN; the
 * result is always NUL-terminated and at most dstlen - 1 bytes. */
void tg_log_escape(char *dst, size_t dstlen, const char *src, size_t srclen);

#define tg_log_debug(sid, ...) tg_log(TG_LOG_DEBUG, sid, __VA_ARGS__)
#define tg_log_info(sid, ...) tg_log(TG_LOG_INFO, sid, __VA_ARGS__)
#define tg_log_warn(sid, ...) tg_log(TG_LOG_WARN, sid, __VA_ARGS__)
#define tg_log_err(sid, ...) tg_log(TG_LOG_ERR, sid, __VA_ARGS__)

#endif
