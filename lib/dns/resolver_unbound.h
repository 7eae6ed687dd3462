/*
 * dns/resolver_unbound — the real resolver: libunbound on the caller's
 * libevent loop.
 *
 * Debian's libunbound is built with libevent, so ub_ctx_create_event()
 * makes a resolver that does all its I/O as events on our event_base and
 * answers through ub_resolve_event(): no extra thread, no pipe, no
 * blocking call. libunbound recurses from the root (or forwards, or asks
 * the stub servers) and validates DNSSEC from the configured trust
 * anchor; this module only applies the settings and turns each response
 * packet into a struct tg_dns_answer (dns/dns.h).
 *
 * Settings applied (struct tg_resolver_config, dns/resolver.h):
 *   - trust anchor: DS/DNSKEY zone-file records (ub_ctx_add_ta_file), or
 *     an RFC 5011 autotrust file (ub_ctx_add_ta_autr); checked to hold at
 *     least one DS or DNSKEY record before libunbound sees it;
 *   - forwarders (ub_ctx_set_fwd) and stub zones (ub_ctx_set_stub);
 *   - a stub zone is a zone the operator wants resolved, so the local
 *     zones libunbound answers by itself (RFC 6761 §6.2 "test.", "invalid.",
 *     RFC 6303 reverse zones, ...) are removed at the stub zone and at
 *     every zone above it; with a stub for the root, or forwarders, "test."
 *     is removed too, as a private test root serves it;
 *   - do-not-query-localhost off when a forwarder or stub is on a
 *     loopback address (libunbound refuses to ask 127.0.0.1 otherwise).
 * The settings are applied at creation, so a bad trust anchor file is
 * reported by tg_resolver_unbound_new() rather than by the first query.
 *
 * libunbound's own log lines (errors, and its validation failures) go to
 * core/log as "unbound: ..." lines.
 */
#ifndef TG_DNS_RESOLVER_UNBOUND_H
#define TG_DNS_RESOLVER_UNBOUND_H

#include "dns/resolver.h"

/*
 * A libunbound resolver on base (borrowed; it must outlive the resolver)
 * with the settings in cfg (borrowed, only read here). Returns the
 * resolver (free with tg_resolver_free), or NULL with err when the trust
 * anchor file cannot be read or holds no DS/DNSKEY record, libunbound
 * rejects a setting, or memory runs out.
 */
struct tg_resolver *tg_resolver_unbound_new(struct event_base *base,
    const struct tg_resolver_config *cfg, struct tg_err *err);

#endif
