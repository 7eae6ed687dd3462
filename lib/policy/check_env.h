/*
 * policy/check_env — what a check of policy/check runs with, set up from
 * the config as `tlsgate check` and the console's checks (admin/checks)
 * both need it: a validating resolver on the caller's loop (trust
 * anchor, forwarders, stub zones), a TLS client context whose trust
 * store is sts.ca_file (else the system's), the MTA-STS fetcher of the
 * relay (net/fetch: sts.ca_file, sts.allow_private_addresses, the SSRF
 * guard) and, when there is one, the relay's policy cache, read only.
 */
#ifndef TG_POLICY_CHECK_ENV_H
#define TG_POLICY_CHECK_ENV_H

#include <event2/event.h>
#include <openssl/ssl.h>

#include "core/conf.h"
#include "dns/resolver.h"
#include "net/fetch.h"
#include "policy/check.h"
#include "policy/stsclient.h"
#include "store/cache.h"
#include "util/err.h"

struct tg_check_env {
	struct tg_resolver *r;
	SSL_CTX *ctx;
	struct tg_fetch *fetch;
	struct tg_stsclient_https https;	/* fetcher.ctx points here */
	struct tg_stsclient_fetcher fetcher;
	struct tg_cache *cache;		/* NULL when there is none */
	const char *helo_name;		/* conf's relay.hostname */
	int timeout_s;
};

/*
 * Set e up on base from conf (borrowed, outlives e), each step of a check
 * limited to timeout_s seconds. 0, or -1 with err (e is then cleaned:
 * tg_check_env_fini is still safe).
 */
int tg_check_env_init(struct tg_check_env *e, struct event_base *base,
    const struct tg_conf *conf, int timeout_s, struct tg_err *err);

/* The parameters of a check of domain (borrowed) under e; probe 0: DNS
 * only, no connection and no fetch. */
void tg_check_env_params(const struct tg_check_env *e, const char *domain,
    int probe, struct tg_check_params *p);

/* Free what e holds. Safe on a zeroed or failed e. */
void tg_check_env_fini(struct tg_check_env *e);

#endif
