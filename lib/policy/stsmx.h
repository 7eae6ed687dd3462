/*
 * policy/stsmx — whether the mx patterns of a hosted domain cover its MX
 * hosts as DNS has them now (RFC 8461 §4.1): the check behind "enforce
 * needs every MX covered" of `tlsgate sts set`, `tlsgate domain add|set`
 * and the admin API, in one place.
 *
 * Owns: the MX lookup (blocking, through dns's tg_dns_resolve_sync with
 * the resolver settings of the config: at most dns.timeout), and the
 * uncovered hosts as one line of text for a message ("a.example, b.example
 * and 3 more"). Which host a pattern covers is policy/stshost's.
 *
 * Does not own: what a caller does about it (the CLI and the admin API
 * refuse enforce and warn for testing, each in its own words).
 */
#ifndef TG_POLICY_STSMX_H
#define TG_POLICY_STSMX_H

#include <stddef.h>

#include "core/conf.h"
#include "dns/dns.h"
#include "store/store.h"
#include "util/err.h"

/* Uncovered hosts named in the text; more are counted ("and N more"). */
#define TG_STSMX_NAMED	8

/*
 * Look up the MX records of domain (borrowed) now, with conf's resolver
 * settings; blocks until answered or dns.timeout. *out (owned:
 * tg_dns_answer_free) may say TG_DNS_TEMPFAIL. Returns 0, or -1 with err
 * (no resolver could be set up).
 */
int tg_stsmx_lookup(const struct tg_conf *conf, const char *domain,
    struct tg_dns_answer **out, struct tg_err *err);

/*
 * The MX hosts of d (borrowed) in the answer mx (borrowed, for d->name)
 * that none of d's patterns covers, as text in what (whatlen bytes; ""
 * when all are covered). Returns 0 when all are covered, 1 when some are
 * not, -1 with err when the answer cannot tell (temporary failure,
 * DNSSEC bogus, malformed). Pure.
 */
int tg_stsmx_uncovered(const struct tg_store_domain *d,
    const struct tg_dns_answer *mx, char *what, size_t whatlen,
    struct tg_err *err);

/* tg_stsmx_lookup, then tg_stsmx_uncovered: 0, 1 or -1 as that. */
int tg_stsmx_check(const struct tg_conf *conf,
    const struct tg_store_domain *d, char *what, size_t whatlen,
    struct tg_err *err);

#endif
