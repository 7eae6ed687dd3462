/*
 * smtp/dsnlimit — how many DSNs may go to one sender domain.
 *
 * mxd takes mail from anyone; when a message it took cannot be handed
 * on, its DSN goes to the sender, who for such mail is forged more often
 * than not (backscatter). RELIABILITY I-10: those DSNs are rate-limited
 * per sender domain. A fixed window per domain: at most max DSNs in
 * window_s seconds, counted from the first one of the window; a DSN over
 * the limit is not written (the recipients still fail, and the log says
 * so). Domains are compared in lower case; at most TG_DSNLIMIT_DOMAINS
 * are remembered, the one whose window began first is forgotten first.
 *
 * Owns: the counters. Pure: the time is the caller's.
 */
#ifndef TG_SMTP_DSNLIMIT_H
#define TG_SMTP_DSNLIMIT_H

#include <time.h>

#include "util/err.h"

#define TG_DSNLIMIT_DOMAINS	10000
#define TG_DSNLIMIT_WINDOW_S	3600

struct tg_dsnlimit;

/* A limit of max DSNs per domain per window_s (> 0). NULL with err when
 * out of memory or max is 0 (no limit: no object). */
struct tg_dsnlimit *tg_dsnlimit_new(unsigned max, long window_s,
    struct tg_err *err);

void tg_dsnlimit_free(struct tg_dsnlimit *l);	/* NULL-safe */

/* A new max for every domain (a reload); the counts are kept. */
void tg_dsnlimit_set_max(struct tg_dsnlimit *l, unsigned max);

/*
 * May a DSN go to sender (an address; the domain is what follows its
 * last "@", the whole of it without one) at now? 1: yes, counted; 0:
 * over the limit.
 */
int tg_dsnlimit_take(struct tg_dsnlimit *l, const char *sender, time_t now);

/* Domains remembered now. */
size_t tg_dsnlimit_count(const struct tg_dsnlimit *l);

#endif
