/*
 * dns/dnshook — one DNS change made by the administrator's program
 * (dane.update_hook, etc/tlsgate.conf), for DNS hosts without RFC 2136:
 *
 *   PROGRAM add|delete ZONE OWNER TTL TYPE RDATA [EXPECTED...]
 *
 * OWNER absolute (a final dot), each EXPECTED a record the RRset holds
 * now as far as tlsgate knows, one argument each. Exit 0: done; exit
 * TG_DNSHOOK_NOT_AS_EXPECTED: the zone does not hold EXPECTED, nothing
 * changed (an RFC 2136 prerequisite that failed); anything else: failed.
 * The program is run by core/hookrun. Used by the DANE rollover (TLSA,
 * with the RRset it expects) and by ACME dns-01 (TXT).
 */
#ifndef TG_DNS_DNSHOOK_H
#define TG_DNS_DNSHOOK_H

#include <stddef.h>

#include "core/hookrun.h"
#include "util/err.h"

#define TG_DNSHOOK_NOT_AS_EXPECTED	3	/* the exit status */
#define TG_DNSHOOK_EXPECTED_MAX		(TG_HOOKRUN_ARGS_MAX - 6)

struct tg_dnshook_change {
	int add;			/* 1 add, 0 delete */
	const char *zone;
	const char *owner;		/* absolute */
	long long ttl;
	const char *type;		/* "TLSA", "TXT" */
	const char *rdata;		/* presentation form */
	const char *const *expected;	/* nexpected records, may be NULL */
	size_t nexpected;		/* <= TG_DNSHOOK_EXPECTED_MAX */
};

/*
 * Run h's program for c, at most timeout_ms. 0 with *status (its exit
 * status, or TG_HOOKRUN_KILLED) and output (what it wrote, outlen >= 1);
 * -1 with err when it could not be run.
 */
int tg_dnshook_run(struct tg_hookrun *h, const struct tg_dnshook_change *c,
    int timeout_ms, int *status, char *output, size_t outlen,
    struct tg_err *err);

/* What an exit status means, for a log line or an error: "done", "the
 * zone is not as expected", "killed at its deadline", "failed". */
const char *tg_dnshook_status_text(int status);

#endif
