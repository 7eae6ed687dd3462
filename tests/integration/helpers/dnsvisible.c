/*
 * dnsvisible — run dns/visible's check, for the integration test
 * against the lab.
 *
 *   dnsvisible CONF ZONE OWNER TYPE [RDATA...]
 *
 * CONF is a tlsgate config (its dns.* settings). Prints "visible" or
 * "not-visible", the summary, and the TTL; exit 0 when visible, 1 when
 * not, 2 when the check could not run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "core/conf.h"
#include "dns/resolver_conf.h"
#include "dns/visible.h"

int
main(int argc, char **argv)
{
	struct tg_resolver_config rc;
	struct tg_visible_result res;
	struct tg_conf *conf;
	struct tg_err err;
	uint16_t type;

	if (argc < 5)
		return 2;
	if (tg_conf_load(argv[1], &conf, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	tg_resolver_config_from_conf(conf, &rc);
	type = (uint16_t)ldns_get_rr_type_by_name(argv[4]);
	if (tg_visible_check(&rc, argv[2], argv[3], type,
	    (const char *const *)&argv[5], (size_t)(argc - 5), 3000, &res,
	    &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		tg_conf_free(conf);
		return 2;
	}
	printf("%s: %s; ttl=%u\n", res.visible ? "visible" : "not-visible",
	    res.summary, res.ttl);
	tg_conf_free(conf);
	return res.visible ? 0 : 1;
}
