/*
 * policy/stsclient — "which MTA-STS policy applies to domain D now?",
 * asynchronously on the caller's libevent loop (RFC 8461 §3, §5.1).
 *
 * Owns: one lookup from start to answer — the `_mta-sts.<D>` TXT lookup
 * through the resolver interface (CNAMEs followed by the resolver, RFC
 * 8461 §3.1), consulting the policy cache (store/cache), the decision
 * (policy/stscache), the HTTPS fetch when one is needed (policy/sts on
 * net/fetch, or an injected fetcher), recording the outcome in the cache,
 * and an answer saying which policy applies and what a TLS-RPT report
 * must say about the discovery (RFC 8460 §4.3.2.2). Fetches for one
 * domain are shared: lookups that need the same fetch wait for one
 * request. Proactive refreshes (RFC 8461 §3.3) run in the background,
 * owned by the client, after the lookup that found them due has had its
 * answer.
 *
 * Does not own: what a policy means for a delivery (MX matching and
 * certificate checks: the relay, with tg_sts_policy_match and
 * tls/tls_client in PKIX mode), DANE precedence (RFC 8461 §2: policy),
 * the resolver, the fetcher, the cache and the event loop (all borrowed).
 *
 * The policy domain is the domain given, exactly: the recipient domain,
 * or the smarthost's domain for a smarthost route, never a parent
 * (RFC 8461 §3.4). Nothing here walks up the name.
 *
 * Every lookup asks DNS for the TXT record afresh (the client keeps no
 * TXT answers), so a relay about to fail a message permanently under an
 * enforce policy re-checks the policy id simply by looking up again
 * (RFC 8461 §5.1).
 *
 * Never downgrade: a lookup whose cache row cannot be read (database
 * busy, I/O) answers TG_STSCLIENT_ERROR, and the caller defers instead of
 * delivering as if there were no policy. A damaged row (a stored value
 * that breaks the rules) is logged and treated as absent, so the next
 * valid fetch repairs it.
 *
 * Logging: a failed fetch while a policy other than mode none is cached
 * is logged as a warning (RFC 8461 §3.3: alert administrators "unless the
 * cached policy mode is none"), as is a cache that cannot be written. The
 * relay logs each lookup's outcome itself.
 *
 * Callbacks run once per lookup, from their own event on the loop (never
 * inside tg_stsclient_lookup, a resolver or a fetch callback), unless the
 * lookup is cancelled or the client freed first. A callback may start and
 * cancel lookups, and may free the client.
 */
#ifndef TG_POLICY_STSCLIENT_H
#define TG_POLICY_STSCLIENT_H

#include <time.h>

#include "dns/resolver.h"
#include "net/fetch.h"
#include "policy/sts.h"
#include "policy/stscache.h"
#include "store/cache.h"
#include "util/err.h"

struct event_base;

/*
 * A policy fetcher: how the client gets https://mta-sts.<D>/...; the
 * default is tg_sts_fetch_policy on net/fetch. Tests inject scripted
 * ones. start begins fetching the policy of domain (borrowed) and calls
 * cb(result, arg) once, from the event loop, unless cancelled; it
 * returns a handle, or NULL with err when the fetch cannot start.
 * cancel stops a fetch whose callback has not run.
 */
struct tg_stsclient_fetcher {
	void *(*start)(void *ctx, const char *domain, tg_sts_fetch_cb *cb,
	    void *arg, struct tg_err *err);
	void (*cancel)(void *ctx, void *handle);
	void *ctx;
};

/*
 * The default fetcher's context: net/fetch with params (pointers in it
 * borrowed). tg_stsclient_fetcher_https points *out at h, which must stay
 * valid (and unchanged) for as long as *out is used.
 */
struct tg_stsclient_https {
	struct tg_fetch *fetch;		/* borrowed */
	struct tg_fetch_params params;
	struct tg_cidr own[TG_FETCH_OWN_MAX];	/* see _https_init */
	size_t n_own;
};
void tg_stsclient_fetcher_https(struct tg_stsclient_https *h,
    struct tg_stsclient_fetcher *out);

/*
 * Set h up for fetching with f (borrowed) as conf (borrowed; its
 * sts.ca_file is pointed to) says: sts.ca_file (else the system store),
 * sts.allow_private_addresses, sts.fetch_timeout; and, for the SSRF guard
 * of net/fetch, this host's own addresses (every interface address that
 * the guard would not refuse anyway, getifaddrs(3)), so a policy host
 * name pointed at the gateway itself is refused (RELIABILITY O-13).
 */
struct tg_conf;
void tg_stsclient_https_init(struct tg_stsclient_https *h,
    struct tg_fetch *f, const struct tg_conf *conf);

struct tg_stsclient_params {
	struct event_base *base;	/* borrowed: the loop */
	struct tg_resolver *resolver;	/* borrowed, on base */
	struct tg_cache *cache;		/* borrowed, read-write */
	/* The default fetcher: net/fetch with these parameters (copied;
	 * what they point to is borrowed for the client's lifetime). */
	struct tg_fetch *fetch;		/* borrowed; NULL with fetcher */
	struct tg_fetch_params fetch_params;
	/* Or an injected fetcher (copied); used when start is set. */
	struct tg_stsclient_fetcher fetcher;
};

/* Where the policy in an answer comes from. */
enum tg_stsclient_status {
	TG_STSCLIENT_NO_POLICY = 0,	/* deliver as without MTA-STS */
	TG_STSCLIENT_CACHED,		/* the cached policy, in force */
	TG_STSCLIENT_FETCHED,		/* a policy fetched by this lookup */
	TG_STSCLIENT_ERROR		/* cache unreadable: defer */
};

struct tg_sts_outcome {
	char domain[TG_DNAME_MAX + 1];	/* the policy domain, normalised */
	enum tg_stsclient_status status;
	/* The policy that applies (status CACHED or FETCHED). */
	struct tg_sts_policy policy;
	char policy_id[TG_STS_ID_MAX + 1];	/* TXT id it was fetched
						   under */
	time_t fetched_at;
	time_t expires_at;
	/* Discovery (RFC 8461 §3.1). */
	enum tg_stscache_txt txt;
	char txt_id[TG_STS_ID_MAX + 1];	/* when txt is VALID */
	char txt_error[TG_ERR_MSG_MAX];	/* why the TXT is unusable, or "" */
	enum tg_stscache_why why;	/* the cache decision */
	int fetched;			/* this lookup waited for a fetch */
	int fetch_ok;			/* ... and it brought a valid policy */
	int refreshing;			/* a background refresh was started */
	/* For TLS-RPT (RFC 8460 §4.3.2.2), when this lookup could not get
	 * the current policy: "sts-policy-fetch-error", "sts-policy-invalid"
	 * or "sts-webpki-invalid"; NULL otherwise. reason says what
	 * happened, with the URL; it is also set for status ERROR. */
	const char *result_type;
	char reason[TG_ERR_MSG_MAX];
};

/* Called once with the answer (borrowed, valid during the call). */
typedef void tg_stsclient_cb(const struct tg_sts_outcome *o, void *arg);

struct tg_stsclient;
struct tg_stsclient_lookup;

/*
 * A client. p is copied. Returns NULL with err (TG_ERR_BUG) when base,
 * resolver or cache is missing, or neither fetch nor fetcher.start is
 * given; TG_ERR_TEMP when out of memory.
 */
struct tg_stsclient *tg_stsclient_new(const struct tg_stsclient_params *p,
    struct tg_err *err);

/* Cancel every lookup (no callbacks) and every fetch, and free c.
 * NULL-safe. A fetch cancelled here records nothing in the cache. */
void tg_stsclient_free(struct tg_stsclient *c);

/* Flags of tg_stsclient_lookup. */
#define TG_STSCLIENT_FORCE	0x1	/* fetch now if the TXT is valid */

/*
 * Start a lookup of the MTA-STS policy of domain (borrowed, copied after
 * normalisation). Returns a handle valid until the callback has run or
 * the lookup is cancelled, or NULL with err (TG_ERR_PERM for a bad
 * domain name, TG_ERR_TEMP when the lookup cannot start).
 */
struct tg_stsclient_lookup *tg_stsclient_lookup(struct tg_stsclient *c,
    const char *domain, unsigned flags, tg_stsclient_cb *cb, void *arg,
    struct tg_err *err);

/* Cancel a lookup whose callback has not run: it never runs. A fetch
 * it started goes on and still updates the cache. */
void tg_stsclient_cancel(struct tg_stsclient_lookup *l);

/* Lookups whose callback has not run, and fetches in flight. */
size_t tg_stsclient_pending(const struct tg_stsclient *c);
size_t tg_stsclient_fetching(const struct tg_stsclient *c);

/* "no-policy", "cached", "fetched", "error". */
const char *tg_stsclient_status_name(enum tg_stsclient_status s);

#endif
