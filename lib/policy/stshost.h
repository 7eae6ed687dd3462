/*
 * policy/stshost — what the MTA-STS policy host serves for a hosted
 * domain, and when (RFC 8461 §3, §8.1, §8.3).
 *
 * Owns:
 *   - the policy of a domain's configuration: its body (stspolicy's
 *     canonical form, CRLF lines) and its id. The id is the first 20 hex
 *     digits of the body's SHA-256: it changes whenever the body changes
 *     (RFC 8461 §3.1: it "MUST uniquely identify a given instance of a
 *     policy") and comes back the same after a crash or restart, so the
 *     id published in DNS and the body served can never disagree after
 *     one.
 *   - the publication state machine, one step per reload of stsd: given
 *     the configuration (or its absence), the record of what is served
 *     and the time, what to serve now and the record to write once it is
 *     served. The record is written only after the body is served, and
 *     `tlsgate sts show` prints the id of the record, so a new id is
 *     shown for publication only once its body is served (§8.1).
 *     Removing MTA-STS (mode off, or the domain removed) serves mode
 *     none with a small max_age under a new id until every testing or
 *     enforce policy a sender may have cached has expired — max_age
 *     after the moment that policy stopped being served — and only then
 *     nothing (§8.3).
 *   - the check behind `tlsgate sts set`: which MX hosts of the domain no
 *     pattern covers (RFC 8461 §4.1).
 * Pure: no I/O, no clock (now is an argument), no logging.
 *
 * Does not own: serving (daemons/stsd, net/http), storing the record
 * (store), looking up the MX records (the caller: dns).
 */
#ifndef TG_POLICY_STSHOST_H
#define TG_POLICY_STSHOST_H

#include <stddef.h>
#include <time.h>

#include "dns/dns.h"
#include "store/store.h"
#include "util/err.h"
#include "util/limits.h"

/* RFC 8461 §8.3: "a small max_age (e.g., one day)" while withdrawing. */
#define TG_STSHOST_WITHDRAW_MAX_AGE	86400L

/* Hex digits of SHA-256 in a policy id (<= TG_STS_ID_MAX). */
#define TG_STSHOST_ID_LEN	20

/* A policy we serve. */
struct tg_stshost_policy {
	enum tg_store_sts_mode mode;		/* none, testing or enforce */
	long max_age;
	char body[TG_STS_HOST_BODY_MAX + 1];	/* NUL-terminated */
	size_t len;
	char id[TG_STS_ID_MAX + 1];
};

/*
 * The policy of configuration d (borrowed; sts_mode not off). Errors
 * (TG_ERR_PERM): mode off, enforce or testing without an mx pattern
 * (RFC 8461 §3.2), a bad pattern, max_age out of range.
 */
int tg_stshost_policy_of(const struct tg_store_domain *d,
    struct tg_stshost_policy *out, struct tg_err *err);

/* The mode none policy of a withdrawal, with max_age seconds. */
void tg_stshost_policy_none(long max_age, struct tg_stshost_policy *out);

/* The id of len bytes of body: TG_STSHOST_ID_LEN lower-case hex digits. */
void tg_stshost_id(const char *body, size_t len,
    char out[TG_STS_ID_MAX + 1]);

enum tg_stshost_action {
	TG_STSHOST_NOTHING = 0,	/* nothing served, nothing recorded */
	TG_STSHOST_KEEP,	/* serve the record as it is */
	TG_STSHOST_SERVE,	/* serve next, then record it */
	TG_STSHOST_REMOVE	/* serve nothing, delete the record */
};

struct tg_stshost_step {
	enum tg_stshost_action action;
	/* KEEP: a copy of prev; SERVE: the record to write once served. */
	struct tg_store_sts_served next;
};

/*
 * One step for domain (borrowed, normalised): d is its configuration
 * (NULL when it is no longer in the store), prev the record of what is
 * served (NULL: none), now the time. Returns 0 with *out, or -1 with err
 * when d's policy cannot be built (the caller keeps serving prev).
 */
int tg_stshost_step(const char *domain, const struct tg_store_domain *d,
    const struct tg_store_sts_served *prev, time_t now,
    struct tg_stshost_step *out, struct tg_err *err);

/* Name of an action, for logs: "nothing", "keep", "serve", "remove". */
const char *tg_stshost_action_name(enum tg_stshost_action a);

/*
 * The MX hosts of domain (borrowed, normalised) that none of the
 * npatterns patterns covers (RFC 8461 §4.1), given the MX answer for the
 * domain (borrowed): their names go to uncovered[0..*n) (room for max;
 * more are counted in *n but not written). No MX record at all (NXDOMAIN
 * or NODATA): the domain itself is the implicit MX (RFC 5321 §5.1). A
 * null MX (RFC 7505): nothing to cover. Returns 0, or -1 with err when
 * the answer cannot tell (temporary failure, DNSSEC bogus, malformed).
 */
int tg_stshost_mx_uncovered(const char *domain,
    const struct tg_dns_answer *mx,
    const char (*patterns)[TG_DNAME_MAX + 3], size_t npatterns,
    char (*uncovered)[TG_DNS_NAME_SIZE], size_t max, size_t *n,
    struct tg_err *err);

#endif
