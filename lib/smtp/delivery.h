/*
 * smtp/delivery — the delivery engine of tlsgate-relayd: from the spool
 * to the Internet, under the TLS each destination's policy demands.
 *
 * This module owns, on the relay's libevent loop:
 *   - queue runs: taking due messages from the spool (tg_spool_due,
 *     tg_spool_msg_open), at most TG_DELIVERY_OPEN_MAX open at once, and
 *     grouping each message's undelivered recipients by destination
 *     domain into jobs;
 *   - per destination: its route, when params->route gives one (only
 *     the route host's addresses are looked up), else resolving it —
 *     MX, A/AAAA, TLSA with the rules of
 *     RFC 7672 §2.2.3 (no TLSA lookup for insecure addresses; a secure
 *     CNAME's target first, then the original name), the MTA-STS policy
 *     (through the tg_delivery_sts interface: policy/stsclient) and the
 *     local policy (store dest_policies) — and asking policy/policy for
 *     the one decision; the decision is kept for at most
 *     TG_DELIVERY_PLAN_TTL_S and only while it says "deliver";
 *   - connections through smtp/client: hosts in preference order, each
 *     host's addresses in turn (RFC 5321 §5.1), with the TLS requirement
 *     and verification the decision gives; a connection that is ready is
 *     reused for further messages to the same destination (at most
 *     TG_DELIVERY_REUSE_MAX), and kept idle for a short while; at most
 *     dest_sessions connections per destination and max_sessions in all;
 *     when every host of a destination failed, its waiting jobs are
 *     deferred together;
 *   - outcomes per recipient: delivered; a temporary failure deferred
 *     with exponential backoff (min_backoff doubling up to max_backoff),
 *     or failed when the message is older than max_lifetime; a permanent
 *     failure (5xx, null MX, NXDOMAIN) failed at once;
 *   - DSNs (smtp/dsn, RFC 3464): when a message has been handled, one DSN
 *     covers every recipient that failed in that round and whose NOTIFY
 *     asks for it (RFC 3461 §4.1); it is queued in the spool with the
 *     null reverse-path before the failures are written to the journal
 *     (so a crash repeats the failure, never loses its report); a message
 *     from <> never causes a DSN (RFC 5321 §4.5.5, §6.1);
 *   - TLS-RPT (RFC 8460): every connection that reached TLS negotiation
 *     or a policy check, and every host or destination the policy
 *     refused, is counted in store/reports with the policy type and
 *     strings, the MX, both IP addresses, the EHLO name and, on failure,
 *     the §4.3 result type;
 *   - one log line per delivery (STYLE 13): queue id, recipient domain,
 *     MX, policy that decided, TLS version, verification ("dane
 *     verified", "sts verified", "opportunistic", ... or the deferral
 *     reason), result, status, delay.
 * It does not own: receiving mail (smtp/server), the spool format, the
 * policy rules (policy/policy), the SMTP client, the MTA-STS cache, the
 * resolver, the store or the event loop — all borrowed.
 *
 * Durability (RELIABILITY §0.2, Q-05, Q-06): a recipient is marked
 * delivered only after the server's 2xx to the end of data; a crash at
 * any point leaves it pending or deferred in its journal, so it is tried
 * again — a duplicate at worst, never a loss. Nothing is marked for
 * transactions cut short by tg_delivery_free.
 *
 * Operator signals (params->signals): SIGUSR1 makes every queued message
 * due now (`tlsgate queue flush`); SIGUSR2 re-reads the journals of held
 * messages (`tlsgate queue release`).
 */
#ifndef TG_SMTP_DELIVERY_H
#define TG_SMTP_DELIVERY_H

#include <stddef.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "dns/resolver.h"
#include "policy/stsclient.h"
#include "smtp/client.h"
#include "smtp/spool.h"
#include "store/reports.h"
#include "store/store.h"
#include "util/err.h"
#include "util/limits.h"

/*
 * The SMTP client as the engine uses it: smtp/client's functions by
 * default; unit tests plug in scripted ones (STYLE 11). Same contracts
 * as in smtp/client.h.
 */
struct tg_delivery_smtp_ops {
	struct tg_smtpc *(*connect)(struct event_base *base,
	    const struct tg_smtpc_params *params, tg_smtpc_ready_cb ready,
	    void *arg, struct tg_err *err);
	int (*send)(struct tg_smtpc *c, const struct tg_smtpc_txn *txn,
	    tg_smtpc_done_cb cb, void *arg, struct tg_err *err);
	int (*usable)(const struct tg_smtpc *c);
	void (*close)(struct tg_smtpc *c);
	void (*free)(struct tg_smtpc *c);
};

/*
 * Where the MTA-STS answer comes from (RFC 8461 §3, §5.1): lookup starts
 * finding the policy that applies to domain now and calls cb once from
 * the loop (unless cancelled), returning a handle or NULL with err;
 * cancel drops a lookup whose callback has not run. NULL lookup: no
 * MTA-STS at all. tg_delivery_sts_client fills it for policy/stsclient.
 */
struct tg_delivery_sts {
	void *(*lookup)(void *ctx, const char *domain, tg_stsclient_cb *cb,
	    void *arg, struct tg_err *err);
	void (*cancel)(void *ctx, void *handle);
	void *ctx;
};

/* A fixed next hop for a destination domain (mxd: a hosted domain's
 * route to its internal mail server), instead of its MX hosts. */
struct tg_delivery_route {
	char host[TG_DNS_NAME_SIZE];	/* name, or IPv4/IPv6 address */
	unsigned port;			/* 0: the engine's port */
	int require_tls;		/* STARTTLS required, else may */
};

/* A route as the store keeps it ("host", "host:port", "[IPv6]:port";
 * the port 25 when not given) into *out (require_tls 0). 0, or -1 for a
 * malformed one. */
int tg_delivery_route_parse(const char *spec, struct tg_delivery_route *out);

/* 1 with *out when domain has a route, 0 when it goes by its MX. */
typedef int (*tg_delivery_route_fn)(void *ctx, const char *domain,
    struct tg_delivery_route *out);

struct tg_delivery_params {
	struct event_base *base;		/* borrowed: the loop */
	struct tg_spool *spool;			/* borrowed, the owner's */
	struct tg_resolver *resolver;		/* borrowed, on base */
	struct tg_delivery_sts sts;		/* copied; lookup may be NULL */
	struct tg_store *store;			/* borrowed; NULL: no local
						 * policies */
	struct tg_reports *reports;		/* borrowed; NULL: not
						 * recorded */
	SSL_CTX *ssl_ctx;			/* borrowed:
						 * tg_tls_client_ctx_new */
	struct tg_smtpc_cache *tls_cache;	/* borrowed, may be NULL */
	const struct tg_delivery_smtp_ops *smtp; /* borrowed; NULL:
						  * smtp/client */
	const char *helo_name;			/* copied: our EHLO name */
	unsigned port;				/* 0: 25 */
	unsigned max_sessions;			/* connections in all; 0: 100 */
	unsigned dest_sessions;			/* per destination; 0: 20 */
	long min_backoff;			/* seconds; 0: 300 */
	long max_backoff;			/* seconds; 0: 4000 */
	long max_lifetime;			/* seconds; 0: 5 days */
	struct tg_smtpc_timeouts tmo;		/* 0 members: client defaults */
	int signals;				/* handle SIGUSR1/SIGUSR2 */
	/* The report-submission key (smtp/submark), TG_SUBMARK_KEY_LEN
	 * bytes, copied; NULL: no message is treated as our report. */
	const unsigned char *report_key;
	/* Fixed next hops, asked whenever a destination is decided; NULL:
	 * every destination by its MX (RFC 5321 §5.1). A routed
	 * destination gets no MX, TLSA or MTA-STS lookup, no local policy
	 * and no TLS-RPT record (policy/policy: the route rule). */
	tg_delivery_route_fn route;
	void *route_ctx;			/* borrowed, to route */
	/* Looks up route host names (borrowed, on base); NULL: resolver. */
	struct tg_resolver *route_resolver;
};

/* Counters, for tests and status. */
struct tg_delivery_stats {
	unsigned long delivered;	/* recipients */
	unsigned long deferred;
	unsigned long failed;
	unsigned long dsns;		/* DSN messages queued */
	unsigned long dsns_limited;	/* not written: the sender domain's
					 * limit (tg_delivery_set_dsn_limit) */
	unsigned long connections;	/* connection attempts */
	unsigned long reused;		/* transactions on a kept connection */
	unsigned long resolutions;	/* destination decisions made */
	size_t open_messages;		/* now */
	size_t active_sessions;		/* now, busy or connecting */
	size_t max_active_sessions;	/* high-water mark */
};

struct tg_delivery;

/* Set params to the defaults (everything 0 / NULL). */
void tg_delivery_params_init(struct tg_delivery_params *p);

/* Fill s with the functions of policy/stsclient for client c
 * (borrowed). */
void tg_delivery_sts_client(struct tg_delivery_sts *s, struct tg_stsclient *c);

/*
 * A new engine (p copied; what it points to borrowed for the engine's
 * lifetime). Nothing runs until tg_delivery_kick (or the first signal).
 * NULL with err (TG_ERR_BUG) when base, spool, resolver, ssl_ctx or
 * helo_name is missing; TG_ERR_TEMP when out of memory.
 */
struct tg_delivery *tg_delivery_new(const struct tg_delivery_params *p,
    struct tg_err *err);

/*
 * Stop everything at once: connections closed without QUIT, lookups
 * cancelled, messages closed with their journals as they are (nothing
 * in flight is marked: it is tried again later). NULL-safe. Not from
 * inside the engine's own callbacks.
 */
void tg_delivery_free(struct tg_delivery *d);

/*
 * There is work: a message was just queued (qid, may be NULL), or the
 * caller wants a queue run. The message is opened directly when there
 * is room; otherwise, and for qid NULL, a queue run is scheduled on the
 * loop. Never runs delivery inside the call.
 */
void tg_delivery_kick(struct tg_delivery *d, const char *qid);

/* `tlsgate queue flush`: every queued message due now, then a run. */
void tg_delivery_flush(struct tg_delivery *d);

/* `tlsgate queue release`: held messages re-read their journals. */
void tg_delivery_refresh(struct tg_delivery *d);

/* Reloadable settings: limits, backoff and lifetime (0: keep). Every
 * destination is decided afresh afterwards (a reload also follows store
 * changes, such as a new local policy). */
void tg_delivery_set_limits(struct tg_delivery *d, unsigned max_sessions,
    unsigned dest_sessions, long min_backoff, long max_backoff,
    long max_lifetime);

/* Fixed next hops from now on (params->route, route_ctx and
 * route_resolver; NULL: none, the resolver). Call it before the first
 * kick, or follow it with a reload (tg_delivery_set_limits), so that no
 * destination keeps an old plan. */
void tg_delivery_set_route(struct tg_delivery *d, tg_delivery_route_fn route,
    void *ctx, struct tg_resolver *resolver);

/*
 * At most max DSNs per sender domain per hour from now on (smtp/dsnlimit;
 * 0: no limit, the default). Over it a DSN is not written: the
 * recipients fail all the same, logged as event=dsn result=limited.
 * mxd sets it (its senders are anyone); relayd's are its own users.
 */
void tg_delivery_set_dsn_limit(struct tg_delivery *d, unsigned max);

/* Current counters. */
void tg_delivery_stats(const struct tg_delivery *d,
    struct tg_delivery_stats *out);

/* 1 when nothing is in flight: no open message, lookup or busy
 * connection (idle kept connections do not count). */
int tg_delivery_idle(const struct tg_delivery *d);

/* ---- Set-up for tlsgate-relayd --------------------------------------- */

struct tg_conf;
struct tg_delivery_env;

/*
 * Everything the engine needs, from the bootstrap config (borrowed for
 * the call): the libunbound resolver (dns.*), policy/stsclient with
 * cache.db and net/fetch (sts.*), reports.db, the store read-only for
 * local policies (missing: none, with a warning), the TLS client context
 * (sts.ca_file for MTA-STS's web PKI), a TLS session cache, and the
 * engine on base for spool (borrowed), with relay.hostname as EHLO name,
 * relay.max_connections, relay.destination_concurrency, queue.* and the
 * operator signals. Open it while privileged. Returns 0 with *out, or -1
 * with err.
 */
int tg_delivery_env_open(struct event_base *base, const struct tg_conf *conf,
    struct tg_spool *spool, struct tg_delivery_env **out, struct tg_err *err);

/* The engine (borrowed), or NULL for NULL. */
struct tg_delivery *tg_delivery_env_engine(struct tg_delivery_env *e);

/*
 * Fixed next hops for the engine (tg_delivery_set_route), whose host
 * names are looked up by a resolver of their own: the dns.* settings of
 * conf (borrowed for the call) and /etc/hosts first, as an internal
 * name may be known only there. 0, or -1 with err.
 */
int tg_delivery_env_set_route(struct tg_delivery_env *e,
    const struct tg_conf *conf, tg_delivery_route_fn route, void *ctx,
    struct tg_err *err);

/* That resolver (borrowed; NULL before tg_delivery_env_set_route). */
struct tg_resolver *tg_delivery_env_route_resolver(struct tg_delivery_env *e);

/* The engine's TLS client context (borrowed). */
SSL_CTX *tg_delivery_env_ssl_ctx(struct tg_delivery_env *e);

/* A reloaded config: the reloadable limits. NULL-safe. */
void tg_delivery_env_reload(struct tg_delivery_env *e,
    const struct tg_conf *conf);

/* Engine first, then the rest. NULL-safe. */
void tg_delivery_env_free(struct tg_delivery_env *e);

#endif
