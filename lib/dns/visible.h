/*
 * dns/visible — is a record set what we expect at every authoritative
 * server of its zone, and to a validating resolver?
 *
 * RFC-CHECKLIST 24 (RFC 7671 §8.1, §8.4): after an UPDATE returned
 * NOERROR (dns/dnsupdate), the change counts as published only once
 * every authoritative server serves it and a validating resolver sees it
 * with DNSSEC status secure; the rollover then waits two TTLs before the
 * new key is used, so that no cache still holds a set without it.
 *
 * The check: the zone's NS set and each name server's addresses through
 * the validating resolver (a bogus or failed answer is an error); then
 * every address (at most TG_VISIBLE_SERVERS_MAX) asked directly, without
 * recursion, over UDP and again over TCP when the answer is truncated:
 * the answer must be authoritative and hold exactly the expected records
 * (order and TTL aside, names compared in canonical form); then the
 * validating resolver's own answer, the same way, and secure. An empty
 * expected set means "no such RRset" (NODATA or NXDOMAIN).
 *
 * Owns: the direct queries (ldns) and the comparison. Does not own: the
 * resolver settings (the caller's tg_resolver_config), deciding what to
 * expect or how long to wait (the rollover).
 */
#ifndef TG_DNS_VISIBLE_H
#define TG_DNS_VISIBLE_H

#include <stddef.h>
#include <stdint.h>

#include "dns/resolver.h"
#include "util/err.h"

#define TG_VISIBLE_SERVERS_MAX	16
#define TG_VISIBLE_RRS_MAX	32

struct tg_visible_server {
	char name[TG_DNS_NAME_SIZE];	/* the NS host */
	char addr[TG_DNS_ADDR_TEXT_SIZE];
	int matches;			/* serves exactly the expected set */
	char why[160];			/* when not: what it serves, or the
					 * failure */
};

struct tg_visible_result {
	int visible;			/* every server and the resolver */
	size_t nservers;
	struct tg_visible_server server[TG_VISIBLE_SERVERS_MAX];
	int resolver_matches;		/* secure and exactly the set */
	char resolver_why[160];
	uint32_t ttl;			/* the RRset's TTL (largest seen):
					 * the rollover waits 2 x this */
	char summary[256];		/* one line for the log */
};

/*
 * Check (owner, type) of zone against want (n records in presentation
 * form, "3 1 1 ab..."; n 0: the RRset must not exist), each query within
 * timeout_ms, the resolver's cfg (dns.* settings). 0 with *res (visible
 * or not), or -1 with err when the NS set or the addresses cannot be
 * had (bogus, failure), or want does not parse.
 */
int tg_visible_check(const struct tg_resolver_config *cfg, const char *zone,
    const char *owner, uint16_t type, const char *const *want, size_t n,
    int timeout_ms, struct tg_visible_result *res, struct tg_err *err);

/*
 * The comparison alone (pure): do the records of type at owner in an
 * answer — nrr rdata in wire form, data[i] of len[i] bytes — equal want
 * (presentation form)? 1, 0, or -1 with err when want does not parse.
 * On 0, diff says what differs ("2 records, want 1").
 */
int tg_visible_same(const char *owner, uint16_t type,
    const char *const *want, size_t n, const unsigned char *const *data,
    const size_t *len, size_t nrr, char *diff, size_t difflen,
    struct tg_err *err);

#endif
