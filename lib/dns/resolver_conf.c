/*
 * dns/resolver_conf — see resolver_conf.h.
 */
#include "dns/resolver_conf.h"

#include <stdio.h>

void
tg_resolver_config_from_conf(const struct tg_conf *conf,
    struct tg_resolver_config *rc)
{
	size_t i;

	tg_resolver_config_init(rc);
	snprintf(rc->trust_anchor_file, sizeof(rc->trust_anchor_file), "%s",
	    conf->dns_trust_anchor_file);
	for (i = 0; i < conf->dns_forward.n && i < TG_DNS_SERVERS_MAX; i++) {
		snprintf(rc->forward[i].addr, sizeof(rc->forward[i].addr), "%s",
		    conf->dns_forward.v[i].host);
		rc->forward[i].port = conf->dns_forward.v[i].port;
		rc->nforward++;
	}
	for (i = 0; i < conf->dns_stub.n && i < TG_DNS_SERVERS_MAX; i++) {
		snprintf(rc->stub[i].zone, sizeof(rc->stub[i].zone), "%s",
		    conf->dns_stub.v[i].zone);
		snprintf(rc->stub[i].server.addr,
		    sizeof(rc->stub[i].server.addr), "%s",
		    conf->dns_stub.v[i].addr.host);
		rc->stub[i].server.port = conf->dns_stub.v[i].addr.port;
		rc->nstub++;
	}
	rc->timeout_s = (unsigned)conf->dns_timeout;
}
