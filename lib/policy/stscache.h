/*
 * policy/stscache — the rules of the MTA-STS policy cache (RFC 8461 §3.3,
 * §5.1, §10.2; RELIABILITY O-14).
 *
 * Owns: the pure decisions a sender takes about a domain's cached policy
 * once it knows what the `_mta-sts` TXT lookup said and what time it is —
 * is the cached policy still in force, must a policy be fetched now, must
 * the answer wait for that fetch — and the conversion between a fetched
 * policy (policy/sts) and a cache row (store/cache). No I/O, no clock:
 * "now" is a parameter, so every rule is table-tested at fixed times.
 *
 * Does not own: the rows (store/cache), the TXT lookup and the fetch
 * (policy/stsclient, policy/sts), what a policy means for a delivery.
 *
 * The rules:
 *   - a cached policy is in force from its fetch until fetched_at +
 *     max_age (RFC 8461 §3.2 max_age, §5.1), whatever DNS says meanwhile:
 *     a removed TXT record, two records, an invalid record or a failed
 *     lookup leave it in force (RFC 8461 §3.1, §3.3, §10.2; O-14 (a)–(c),
 *     (e)). Without a cached policy they mean "no MTA-STS";
 *   - a TXT id equal to the cached policy's id needs no fetch (RFC 8461
 *     §3, §5.1); a different id does, and the answer waits for it: the
 *     new policy applies if the fetch brings a valid one, else the cached
 *     policy stays (RFC 8461 §3.3);
 *   - a valid TXT record and no cached policy in force: fetch and wait;
 *   - proactive refresh (RFC 8461 §3.3 "once per day", §10.2): once the
 *     cached policy is min(TG_STS_REFRESH_S, max_age / 2) seconds old it
 *     is fetched again in the background while it stays in force;
 *   - after a failed fetch for an id, no new attempt for that same id for
 *     TG_STS_RETRY_S seconds (RFC 8461 §3.3: "limit further attempts to a
 *     period of five minutes or longer per version ID"); a new id may be
 *     tried at once;
 *   - only a valid fetched policy, mode none included, replaces the cached
 *     one (RFC 8461 §3.3, §8.3); a failed fetch never does (enforced by
 *     store/cache, which writes a failure without the policy columns).
 * The policy domain is exactly the domain asked about (RFC 8461 §3.4):
 * nothing here ever looks at a parent domain.
 */
#ifndef TG_POLICY_STSCACHE_H
#define TG_POLICY_STSCACHE_H

#include <time.h>

#include "policy/sts.h"
#include "store/cache.h"
#include "util/err.h"

/* What the `_mta-sts` TXT lookup found (RFC 8461 §3.1). */
enum tg_stscache_txt {
	TG_STSCACHE_TXT_VALID = 0,	/* exactly one valid v=STSv1 record */
	TG_STSCACHE_TXT_NONE,		/* NXDOMAIN, NODATA, no v=STSv1 */
	TG_STSCACHE_TXT_INVALID,	/* several v=STSv1 records, a bad one */
	TG_STSCACHE_TXT_TEMPFAIL	/* lookup failed; also DNSSEC bogus */
};

/* Why the decision is what it is (for logs, JSON and tests). */
enum tg_stscache_why {
	TG_STSCACHE_NOT_PUBLISHED = 0,	/* no TXT record, nothing cached */
	TG_STSCACHE_TXT_UNUSABLE,	/* TXT invalid or failed, no cache */
	TG_STSCACHE_FIRST_FETCH,	/* TXT valid, nothing cached in force */
	TG_STSCACHE_CURRENT,		/* TXT id = cached id, fresh enough */
	TG_STSCACHE_REFRESH,		/* cached policy old: refresh it */
	TG_STSCACHE_ID_CHANGED,		/* TXT id differs from the cached one */
	TG_STSCACHE_RATE_LIMITED,	/* a fetch is due; last one failed */
	TG_STSCACHE_KEPT,		/* TXT gone/bad/failed: cached kept */
	TG_STSCACHE_FORCED		/* the caller asked for a fetch */
};

struct tg_stscache_decision {
	enum tg_stscache_why why;
	int use_cached;		/* 1: the cached policy is in force now */
	int fetch;		/* 1: start a fetch for the TXT id */
	int wait;		/* 1: the answer waits for that fetch */
};

/* 1 if entry (NULL: none) holds a policy in force at now: fetched and
 * not expired (RFC 8461 §3.2 max_age). */
int tg_stscache_in_force(const struct tg_cache_sts *entry, time_t now);

/* 1 if entry's policy is in force and old enough to refresh. */
int tg_stscache_refresh_due(const struct tg_cache_sts *entry, time_t now);

/* 1 if the last attempt of entry failed for txt_id (borrowed) less than
 * TG_STS_RETRY_S seconds before now (RFC 8461 §3.3). */
int tg_stscache_rate_limited(const struct tg_cache_sts *entry,
    const char *txt_id, time_t now);

/*
 * The decision for one lookup: entry (borrowed; NULL when the domain has
 * no row), what the TXT lookup found and its id (borrowed; used when txt
 * is VALID), the time, and force (1: fetch whenever the TXT record is
 * valid, ignoring freshness and the rate limit — an administrator's
 * "refresh now"). Pure; fills *out.
 */
void tg_stscache_decide(const struct tg_cache_sts *entry,
    enum tg_stscache_txt txt, const char *txt_id, time_t now, int force,
    struct tg_stscache_decision *out);

/*
 * The cache form of a policy fetched at now under TXT id (borrowed):
 * the parsed policy p and the body exactly as served (borrowed, len
 * bytes). Returns 0, or -1 with err (TG_ERR_BUG) when the body is too
 * long or an mx pattern does not fit.
 */
int tg_stscache_from_fetch(const struct tg_sts_policy *p, const char *body,
    size_t len, const char *id, time_t now, struct tg_cache_sts_policy *out,
    struct tg_err *err);

/*
 * The policy a cache row holds, re-parsed from its stored body and
 * compared with its stored mode, max_age and mx patterns: a row whose
 * fields and body disagree is refused (TG_ERR_PERM), so a damaged or
 * edited cache never applies a policy that was not fetched as such.
 * Returns 0 with *out filled, or -1 with err.
 */
int tg_stscache_to_policy(const struct tg_cache_sts_policy *cp,
    struct tg_sts_policy *out, struct tg_err *err);

/* "not-published", "txt-unusable", "first-fetch", "current", "refresh",
 * "id-changed", "rate-limited", "kept", "forced". */
const char *tg_stscache_why_name(enum tg_stscache_why why);

/* "valid", "none", "invalid", "tempfail". */
const char *tg_stscache_txt_name(enum tg_stscache_txt txt);

#endif
