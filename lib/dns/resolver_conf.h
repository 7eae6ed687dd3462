/*
 * dns/resolver_conf — the resolver settings of the bootstrap config.
 *
 * Every program that resolves (the CLI's check, the relay, the report
 * sender, the policy host's MX check) builds its libunbound resolver
 * from the same keys: dns.trust_anchor_file, dns.forward, dns.stub and
 * dns.timeout. This is the one place that maps them.
 */
#ifndef TG_DNS_RESOLVER_CONF_H
#define TG_DNS_RESOLVER_CONF_H

#include "core/conf.h"
#include "dns/resolver.h"

/* Fill rc from conf (both borrowed). Entries past TG_DNS_SERVERS_MAX are
 * not taken (the config allows no more than that). */
void tg_resolver_config_from_conf(const struct tg_conf *conf,
    struct tg_resolver_config *rc);

#endif
