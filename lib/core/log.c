/*
 * core/log — see log.h.
 */
#include "core/log.h"

#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "util/limits.h"

static char log_ident[32] = "tlsgate";
static enum tg_log_dest log_dest = TG_LOG_STDERR;
static enum tg_log_level log_min = TG_LOG_INFO;

static const char *const level_names[] = {
	"debug", "info", "warn", "err", "fatal"
};

static tg_log_tap_fn log_tap;
static void *log_tap_arg;
static enum tg_log_level log_tap_min = TG_LOG_ERR;
static __thread int log_in_tap;	/* the tap's own lines stop here */

void
tg_log_set_tap(enum tg_log_level min_level, tg_log_tap_fn fn, void *arg)
{
	log_tap_min = min_level;
	log_tap_arg = arg;
	log_tap = fn;
}

const char *
tg_log_level_name(enum tg_log_level level)
{
	return level_names[level];
}

static void
log_tapped(enum tg_log_level level, const char *line)
{
	if (log_tap == NULL || level < log_tap_min || log_in_tap)
		return;
	log_in_tap = 1;
	log_tap(log_tap_arg, level, line);
	log_in_tap = 0;
}

void
tg_log_open(const char *ident, enum tg_log_dest dest,
    enum tg_log_level min_level)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_dest = dest;
	log_min = min_level;
	if (dest == TG_LOG_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

int
tg_log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

void
tg_log_escape(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (dstlen == 0)
		return;
	for (i = 0; i < srclen && o + 1 < dstlen; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			dst[o++] = (char)c;
			continue;
		}
		if (o + 4 >= dstlen)
			break;
		dst[o++] = '\\';
		dst[o++] = 'x';
		dst[o++] = hex[c >> 4];
		dst[o++] = hex[c & 15];
	}
	dst[o] = '\0';
}

static int
syslog_priority(enum tg_log_level level)
{
	switch (level) {
	case TG_LOG_DEBUG:
		return LOG_DEBUG;
	case TG_LOG_INFO:
		return LOG_INFO;
	case TG_LOG_WARN:
		return LOG_WARNING;
	case TG_LOG_ERR:
		return LOG_ERR;
	case TG_LOG_FATAL:
		break;
	}
	return LOG_CRIT;
}

void
tg_log(enum tg_log_level level, const char *sid, const char *fmt, ...)
{
	char raw[TG_LOG_LINE_MAX], line[TG_LOG_LINE_MAX], ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int n;

	if (level < log_min || log_dest == TG_LOG_NONE)
		return;
	va_start(ap, fmt);
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	tg_log_escape(line, sizeof(line), raw, strlen(raw));
	if (log_dest == TG_LOG_SYSLOG) {
		if (sid != NULL)
			syslog(syslog_priority(level), "sid=%s %s", sid, line);
		else
			syslog(syslog_priority(level), "%s", line);
		log_tapped(level, line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	/* One fprintf per line so concurrent writers do not interleave. */
	fprintf(stderr, "%s.%03ldZ %s %s: %s%s%s%s\n", ts,
	    now.tv_nsec / 1000000, log_ident, level_names[level],
	    sid != NULL ? "sid=" : "", sid != NULL ? sid : "",
	    sid != NULL ? " " : "", line);
	log_tapped(level, line);
}

void
tg_log_new_sid(char sid[TG_SID_LEN + 1])
{
	/* Crockford base32: no I, L, O, U, easy to read out over the phone. */
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	unsigned char rnd[TG_SID_LEN];
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	for (i = 0; i < TG_SID_LEN; i++)
		sid[i] = alphabet[rnd[i] & 31];
	sid[TG_SID_LEN] = '\0';
}
