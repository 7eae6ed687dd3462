/*
 * util/clock — see clock.h.
 */
#include "util/clock.h"

#include <stdlib.h>

static time_t clock_override;
static int clock_env_read;

time_t
tg_clock_now(void)
{
	const char *env;

	if (!clock_env_read) {
		clock_env_read = 1;
		env = getenv("TLSGATE_FAKE_NOW");
		if (env != NULL && clock_override == 0)
			clock_override = (time_t)strtoll(env, NULL, 10);
	}
	return clock_override > 0 ? clock_override : time(NULL);
}

void
tg_clock_set(time_t now)
{
	clock_env_read = 1;
	clock_override = now;
}

long long
tg_clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
tg_clock_format(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
