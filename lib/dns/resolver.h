/*
 * dns/resolver — the asynchronous resolver interface, and its settings.
 *
 * Everything above the dns layer resolves through a struct tg_resolver:
 * an ops table plus the state every implementation shares (the caller's
 * libevent loop, the query timeout, the list of outstanding queries). Two
 * implementations exist: dns/resolver_unbound.h (libunbound on the
 * caller's event_base, DNSSEC-validating) and dns/resolver_fake.h
 * (scripted answers for unit tests). Callers never see libunbound.
 *
 * The contract, the same for both:
 *   - tg_resolver_query() starts a lookup and returns a handle; the
 *     callback runs later from the event loop — never inside
 *     tg_resolver_query() itself — exactly once, unless the query is
 *     cancelled or the resolver freed first.
 *   - The callback gets a borrowed answer, valid only while it runs;
 *     tg_dns_answer_dup() keeps a copy. The handle is finished once the
 *     callback has started (cancelling it from inside its own callback is
 *     a harmless no-op; afterwards it is invalid).
 *   - Every query ends within the resolver's timeout: if no answer has
 *     come by then, the callback gets TG_DNS_TEMPFAIL ("timed out").
 *   - A callback may start or cancel other queries and may free the
 *     resolver; the remaining callbacks then never run.
 *
 * This module also owns the resolver settings (trust anchor, forwarders,
 * stub zones, timeout) and the parsing of their "IP[@PORT]" and
 * "ZONE=IP[@PORT]" forms; the libunbound implementation applies them.
 */
#ifndef TG_DNS_RESOLVER_H
#define TG_DNS_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"
#include "util/err.h"
#include "util/limits.h"

struct event_base;
struct event;

/* Called with the answer (borrowed) and the caller's arg. */
typedef void tg_dns_cb(const struct tg_dns_answer *ans, void *arg);

/* One outstanding query; owned by the resolver. */
struct tg_dns_query;

/*
 * What an implementation provides. The shared code in resolver.c owns the
 * query objects, their timeout and the deferred delivery; an
 * implementation only starts and stops lookups (see resolver_impl.h).
 */
struct tg_resolver_ops {
	const char *name;	/* "unbound", "fake" */
	/* Begin resolving q (q's name and type are set). The implementation
	 * later calls tg_resolver_complete(q, ...) once — possibly before
	 * start returns. Returns 0, or -1 with err (then it must not have
	 * called tg_resolver_complete). */
	int (*start)(void *impl, struct tg_dns_query *q, struct tg_err *err);
	/* Forget q: it was cancelled or timed out before completing. */
	void (*stop)(void *impl, struct tg_dns_query *q);
	/* Release impl; every query has been stopped already. */
	void (*free)(void *impl);
};

struct tg_resolver {
	const struct tg_resolver_ops *ops;	/* borrowed, static */
	void *impl;				/* owned, via ops->free */
	struct event_base *base;		/* borrowed:
						   the caller's loop */
	unsigned timeout_s;			/* per query */
	struct tg_dns_query *queries;		/* owned: outstanding ones */
};

/*
 * Start looking up name (text form, trailing dot optional, at most
 * TG_DNAME_MAX octets) for rrtype. cb (with arg) will receive the answer.
 * Returns the query handle, or NULL with err when the name is not a
 * valid domain name, memory runs out or the implementation refuses (a
 * libunbound set-up error).
 */
struct tg_dns_query *tg_resolver_query(struct tg_resolver *r,
    const char *name, uint16_t rrtype, tg_dns_cb *cb, void *arg,
    struct tg_err *err);

/* Cancel q: its callback will not run. q must be outstanding on r (or
 * inside its own callback, where this does nothing). */
void tg_resolver_cancel(struct tg_resolver *r, struct tg_dns_query *q);

/* Number of queries whose callback has not run yet. */
size_t tg_resolver_pending(const struct tg_resolver *r);

/* Cancel every outstanding query and free the resolver. NULL-safe. The
 * event_base is not touched beyond removing the resolver's events. */
void tg_resolver_free(struct tg_resolver *r);

/*
 * Run n questions (at most TG_DNS_SYNC_MAX) on r's event loop until all
 * are answered or timeout_ms has passed; out[i] receives a copy of the
 * answer to qs[i] (owned by the caller), a question still open at the
 * deadline gets a TG_DNS_TEMPFAIL answer. The loop must not be running
 * already. Returns 0 with every out[i] set, or -1 with err and every
 * out[i] NULL.
 */
int tg_resolver_run(struct tg_resolver *r, const struct tg_dns_question *qs,
    size_t n, struct tg_dns_answer **out, long timeout_ms,
    struct tg_err *err);

/* --- Settings --- */

/* A server address: a numeric IPv4 or IPv6 address and a port. */
struct tg_resolver_server {
	char addr[TG_DNS_ADDR_TEXT_SIZE];	/* canonical (inet_ntop) text */
	uint16_t port;				/* 53 unless given */
};

/* Queries at or below zone go to server, without recursion from the
 * root (libunbound stub-zone). */
struct tg_resolver_stub {
	char zone[TG_DNS_NAME_SIZE];	/* lower case, no trailing dot, "." */
	struct tg_resolver_server server;
};

struct tg_resolver_config {
	/* DS or DNSKEY records in zone-file form, or an RFC 5011 autotrust
	 * file as unbound-anchor writes it (detected by its ";;id:" line;
	 * it is then kept up to date and must be writable). "" disables
	 * DNSSEC validation: every answer is insecure. */
	char trust_anchor_file[TG_PATH_MAX];
	size_t nforward;
	struct tg_resolver_server forward[TG_DNS_SERVERS_MAX];
	size_t nstub;
	struct tg_resolver_stub stub[TG_DNS_SERVERS_MAX];
	unsigned timeout_s;		/* per query; 0 = TG_DNS_TIMEOUT_S */
	/* A hosts file answered from first (its answers are insecure), or
	 * "": DNS only. For internal next hops (mxd's routes), never for
	 * the Internet's MX hosts, whose DANE must not hang on a file. */
	char hosts_file[TG_PATH_MAX];
};

/* The Debian dns-root-data trust anchor for the public root. */
#define TG_RESOLVER_ROOT_ANCHOR "/usr/share/dns/root.key"

/* Empty settings: no trust anchor, full recursion, default timeout. */
void tg_resolver_config_init(struct tg_resolver_config *cfg);

/*
 * Parse "IP[@PORT]" ("192.0.2.53", "::1@5353") into out. Returns 0, or -1
 * with err when the address is not a numeric IPv4/IPv6 address or the
 * port is not a number in 1..65535.
 */
int tg_resolver_server_parse(const char *s, struct tg_resolver_server *out,
    struct tg_err *err);

/*
 * Parse "ZONE=IP[@PORT]" ("test=127.0.0.53@5353", ".=127.0.0.1") into
 * out. The zone is letters, digits, '-' and '_' in labels of 1..63
 * octets, at most TG_DNAME_MAX in all, trailing dot optional; "." is the
 * root. Returns 0, or -1 with err saying what is wrong.
 */
int tg_resolver_stub_parse(const char *s, struct tg_resolver_stub *out,
    struct tg_err *err);

/* Parse s and append it to cfg's forwarders / stubs; -1 with err on a
 * parse error or when TG_DNS_SERVERS_MAX entries are there already. */
int tg_resolver_config_add_forward(struct tg_resolver_config *cfg,
    const char *s, struct tg_err *err);
int tg_resolver_config_add_stub(struct tg_resolver_config *cfg,
    const char *s, struct tg_err *err);

#endif
