/*
 * smtp/delivery — see delivery.h. This file: everything the engine
 * needs, built from the bootstrap configuration for tlsgate-relayd — the
 * DNSSEC-validating resolver, the MTA-STS client with its cache and
 * HTTPS fetcher, reports.db, the store (local policies), the TLS client
 * context and session cache — so that the daemon only opens and frees
 * one object.
 */
#include "smtp/delivery_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/conf.h"
#include "core/log.h"
#include "dns/resolver_conf.h"
#include "dns/resolver_unbound.h"
#include "net/fetch.h"
#include "store/cache.h"
#include "util/text.h"

struct tg_delivery_env {
	struct tg_resolver *resolver;		/* owned */
	struct tg_resolver *route_resolver;	/* owned, may be NULL */
	struct tg_fetch *fetch;			/* owned */
	struct tg_cache *cache;			/* owned */
	struct tg_stsclient *sts;		/* owned */
	struct tg_stsclient_https https;	/* fetch parameters */
	char ca_file[TG_PATH_MAX];		/* https.params.ca_file */
	struct tg_reports *reports;		/* owned */
	struct tg_store *store;			/* owned, may be NULL */
	SSL_CTX *ctx;				/* owned */
	struct tg_smtpc_cache *tls_cache;	/* owned */
	struct tg_delivery *engine;		/* owned */
	struct event_base *base;		/* borrowed */
};

/* MTA-STS: cache.db, net/fetch with the sts.* settings, the client. */
static int
env_sts(struct tg_delivery_env *e, struct event_base *base,
    const struct tg_conf *conf, struct tg_err *err)
{
	struct tg_stsclient_params p;

	if (tg_cache_open(conf->state_dir, &e->cache, err) != 0 ||
	    (e->fetch = tg_fetch_new(base, err)) == NULL)
		return -1;
	tg_stsclient_https_init(&e->https, e->fetch, conf);
	/* The config snapshot may go away on a reload: keep our copy. */
	tg_text_fmt(e->ca_file, sizeof(e->ca_file), "%s", conf->sts_ca_file);
	e->https.params.ca_file = e->ca_file[0] != '\0' ? e->ca_file : NULL;
	memset(&p, 0, sizeof(p));
	p.base = base;
	p.resolver = e->resolver;
	p.cache = e->cache;
	p.fetch = e->fetch;
	p.fetch_params = e->https.params;
	e->sts = tg_stsclient_new(&p, err);
	return e->sts != NULL ? 0 : -1;
}

/*
 * The report-submission key, shared with tlsgate-rptd (smtp/submark);
 * made here when missing, so that whichever daemon starts first makes
 * it. Without it the relay runs, but treats no message as our report.
 */
static const unsigned char *
env_report_key(const struct tg_conf *conf,
    unsigned char key[TG_SUBMARK_KEY_LEN])
{
	struct tg_err err;

	if (tg_submark_key_load(conf->state_dir, 1, key, &err) == 0)
		return key;
	tg_log_warn(NULL, "event=delivery-setup report_key=none error=\"%s\" "
	    "action=\"TLS reports are delivered like other mail\"", err.msg);
	return NULL;
}

static int
env_engine(struct tg_delivery_env *e, struct event_base *base,
    const struct tg_conf *conf, struct tg_spool *spool, struct tg_err *err)
{
	struct tg_delivery_params p;
	unsigned char key[TG_SUBMARK_KEY_LEN];

	tg_delivery_params_init(&p);
	p.base = base;
	p.spool = spool;
	p.resolver = e->resolver;
	tg_delivery_sts_client(&p.sts, e->sts);
	p.store = e->store;
	p.reports = e->reports;
	p.ssl_ctx = e->ctx;
	p.tls_cache = e->tls_cache;
	p.helo_name = conf->relay_hostname;
	p.max_sessions = (unsigned)conf->relay_max_connections;
	p.dest_sessions = (unsigned)conf->relay_destination_concurrency;
	p.min_backoff = (long)conf->queue_min_backoff;
	p.max_backoff = (long)conf->queue_max_backoff;
	p.max_lifetime = (long)conf->queue_max_lifetime;
	p.signals = 1;
	p.report_key = env_report_key(conf, key);
	e->engine = tg_delivery_new(&p, err);
	OPENSSL_cleanse(key, sizeof(key));
	return e->engine != NULL ? 0 : -1;
}

int
tg_delivery_env_open(struct event_base *base, const struct tg_conf *conf,
    struct tg_spool *spool, struct tg_delivery_env **out, struct tg_err *err)
{
	struct tg_delivery_env *e = calloc(1, sizeof(*e));
	struct tg_resolver_config rc;
	struct tg_err serr;

	*out = NULL;
	if (e == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	e->base = base;
	tg_resolver_config_from_conf(conf, &rc);
	if (tg_store_open_readonly(conf->state_dir, &e->store, &serr) != 0) {
		e->store = NULL;
		tg_log_warn(NULL, "event=delivery-setup store=none "
		    "error=\"%s\" action=\"no local destination policies\"",
		    serr.msg);
	}
	if ((e->resolver = tg_resolver_unbound_new(base, &rc, err)) == NULL ||
	    env_sts(e, base, conf, err) != 0 ||
	    tg_reports_open(conf->state_dir, 0, &e->reports, err) != 0 ||
	    (e->ctx = tg_tls_client_ctx_new(conf->sts_ca_file[0] != '\0' ?
	    conf->sts_ca_file : NULL, err)) == NULL ||
	    (e->tls_cache = tg_smtpc_cache_new(0, 0, err)) == NULL ||
	    env_engine(e, base, conf, spool, err) != 0) {
		tg_err_prefix(err, "delivery");
		tg_delivery_env_free(e);
		return -1;
	}
	*out = e;
	return 0;
}

struct tg_delivery *
tg_delivery_env_engine(struct tg_delivery_env *e)
{
	return e != NULL ? e->engine : NULL;
}

int
tg_delivery_env_set_route(struct tg_delivery_env *e,
    const struct tg_conf *conf, tg_delivery_route_fn route, void *ctx,
    struct tg_err *err)
{
	struct tg_resolver_config rc;

	if (e->route_resolver == NULL) {
		tg_resolver_config_from_conf(conf, &rc);
		tg_text_fmt(rc.hosts_file, sizeof(rc.hosts_file),
		    "/etc/hosts");
		e->route_resolver = tg_resolver_unbound_new(e->base, &rc, err);
		if (e->route_resolver == NULL) {
			tg_err_prefix(err, "route resolver");
			return -1;
		}
	}
	tg_delivery_set_route(e->engine, route, ctx, e->route_resolver);
	return 0;
}

struct tg_resolver *
tg_delivery_env_route_resolver(struct tg_delivery_env *e)
{
	return e != NULL ? e->route_resolver : NULL;
}

SSL_CTX *
tg_delivery_env_ssl_ctx(struct tg_delivery_env *e)
{
	return e->ctx;
}

void
tg_delivery_env_reload(struct tg_delivery_env *e, const struct tg_conf *conf)
{
	if (e == NULL)
		return;
	tg_delivery_set_limits(e->engine, (unsigned)conf->relay_max_connections,
	    (unsigned)conf->relay_destination_concurrency,
	    (long)conf->queue_min_backoff, (long)conf->queue_max_backoff,
	    (long)conf->queue_max_lifetime);
}

void
tg_delivery_env_free(struct tg_delivery_env *e)
{
	if (e == NULL)
		return;
	/* The engine first: it holds lookups on the others. */
	tg_delivery_free(e->engine);
	tg_stsclient_free(e->sts);
	tg_fetch_free(e->fetch);
	tg_cache_close(e->cache);
	tg_resolver_free(e->resolver);
	tg_resolver_free(e->route_resolver);
	tg_smtpc_cache_free(e->tls_cache);
	SSL_CTX_free(e->ctx);
	tg_reports_close(e->reports);
	tg_store_close(e->store);
	free(e);
}

int
tg_delivery_route_parse(const char *spec, struct tg_delivery_route *out)
{
	const char *end, *colon;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (spec[0] == '[') {
		if ((end = strchr(spec, ']')) == NULL)
			return -1;
		n = (size_t)(end - spec - 1);
		if (n == 0 || n >= sizeof(out->host))
			return -1;
		memcpy(out->host, spec + 1, n);
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(spec, ':');
		n = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
		if (n == 0 || n >= sizeof(out->host))
			return -1;
		memcpy(out->host, spec, n);
	}
	out->port = colon != NULL ? (unsigned)strtoul(colon + 1, NULL, 10) :
	    25;
	return out->port >= 1 && out->port <= 65535 ? 0 : -1;
}
