/*
 * util/clock — "now", with an override for tests.
 *
 * All of lib/ asks tg_clock_now() for the wall-clock time, never time()
 * directly, so that expiry, max_age and retry logic can be tested at any
 * date. The override comes from tg_clock_set() or, for whole programs
 * under test, the environment variable TLSGATE_FAKE_NOW (seconds since
 * the epoch), read once.
 */
#ifndef TG_UTIL_CLOCK_H
#define TG_UTIL_CLOCK_H

#include <time.h>

/* Seconds since the epoch: the override if one is set, else time(). */
time_t tg_clock_now(void);

/* Set (now > 0) or remove (now == 0) the override. */
void tg_clock_set(time_t now);

/* Monotonic milliseconds, for timeouts and durations (never overridden). */
long long tg_clock_mono_ms(void);

/* Format t as RFC 3339 UTC ("2026-12-03T18:56:38Z") into out. */
void tg_clock_format(time_t t, char *out, size_t outlen);

#endif
