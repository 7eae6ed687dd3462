/*
 * policy/check_env — a check's resolver, TLS context, MTA-STS fetcher
 * and cache, from the config (see check_env.h).
 */
#include "policy/check_env.h"

#include <string.h>

#include "dns/resolver_conf.h"
#include "dns/resolver_unbound.h"
#include "tls/tls_client.h"

int
tg_check_env_init(struct tg_check_env *e, struct event_base *base,
    const struct tg_conf *conf, int timeout_s, struct tg_err *err)
{
	struct tg_resolver_config rc;
	struct tg_err ignored;

	memset(e, 0, sizeof(*e));
	e->helo_name = conf->relay_hostname;
	e->timeout_s = timeout_s;
	tg_resolver_config_from_conf(conf, &rc);
	if ((e->r = tg_resolver_unbound_new(base, &rc, err)) == NULL ||
	    (e->ctx = tg_tls_client_ctx_new(conf->sts_ca_file[0] != '\0' ?
	    conf->sts_ca_file : NULL, err)) == NULL ||
	    (e->fetch = tg_fetch_new(base, err)) == NULL) {
		tg_check_env_fini(e);
		return -1;
	}
	tg_stsclient_https_init(&e->https, e->fetch, conf);
	e->https.params.connect_timeout_ms = (long)timeout_s * 1000;
	tg_stsclient_fetcher_https(&e->https, &e->fetcher);
	/* The relay's cache, if there is one: read only. */
	if (tg_cache_open_readonly(conf->state_dir, &e->cache, &ignored) != 0)
		e->cache = NULL;
	return 0;
}

void
tg_check_env_params(const struct tg_check_env *e, const char *domain,
    int probe, struct tg_check_params *p)
{
	memset(p, 0, sizeof(*p));
	p->domain = domain;
	p->helo_name = e->helo_name;
	p->ctx = e->ctx;
	p->step_timeout_ms = e->timeout_s * 1000;
	p->probe = probe;
	p->sts_fetcher = probe && e->fetch != NULL ? &e->fetcher : NULL;
	p->sts_cache = e->cache;
}

void
tg_check_env_fini(struct tg_check_env *e)
{
	tg_resolver_free(e->r);
	tg_fetch_free(e->fetch);
	tg_cache_close(e->cache);
	SSL_CTX_free(e->ctx);
	memset(e, 0, sizeof(*e));
}
