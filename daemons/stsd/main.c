/*
 * tlsgate-stsd — the MTA-STS policy host (RFC 8461 §3.2, §3.3).
 *
 * Serves https://mta-sts.<domain>/.well-known/mta-sts.txt for every
 * hosted domain with MTA-STS on sts.listen, GET and HEAD, Content-Type
 * text/plain, with the certificate of that host name picked by SNI (an
 * unknown or missing name ends the handshake: RFC 8461 §7.1, ALPACA);
 * anything else is 404, 405 or 421 (net/http). On every store change it
 * builds a new view (stsd_view.c: the policy of each domain, RFC 8461
 * §8.1/§8.3 publication and removal rules from policy/stshost), swaps the
 * certificates and the bodies without dropping connections, and only
 * then records what it serves, which is what `tlsgate sts show` prints.
 * When a withdrawal window ends it reloads by itself (SIGHUP to itself).
 *
 * With ACME on (acme.directory set when stsd starts: listen addresses are
 * not reloadable), it also answers the http-01 challenges of RFC 8555
 * §8.3 on sts.http_listen (default *:80), plain HTTP, for any host name:
 * GET or HEAD http://<host>/.well-known/acme-challenge/<token> is 200
 * with the key authorization the controller put in the store for that
 * token (Content-Type application/octet-stream, nothing added), while it
 * has not expired; an unknown token or one that is no token is 404, as
 * is every other path; other methods 405. One log line per challenge
 * request (event=acme-challenge). A challenge put in the store is
 * answered after the next reload, within store.poll_interval; one past
 * its expiry time is not answered even before that. Port 80 serves
 * nothing else, and without ACME nothing listens there.
 *
 * Each server has its own thread (net/http explains why); requests are
 * answered there from the published, immutable site or challenge set.
 * Privileges: stsd reads the sts private keys on every reload
 * (RELIABILITY P-01); both servers' sockets are bound before the drop.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "net/daemon.h"
#include "stsd.h"
#include "util/clock.h"

struct stsd {
	struct tg_daemon *daemon;	/* borrowed */
	struct tg_http *http;		/* owned */
	struct tg_http *http01;		/* owned; NULL: ACME off */
	struct event *change_ev;	/* the next withdrawal ends */
	int started;
};

static int
stsd_on_policy(struct tg_http_request *req, void *arg)
{
	static const char none[] = "no MTA-STS policy here\n";
	const struct stsd_site *site = tg_http_request_data(req);
	const struct tg_http_body *body;

	(void)arg;
	body = site == NULL ? NULL :
	    stsd_site_find(site, tg_http_request_host(req));
	if (body == NULL)
		return tg_http_reply_text(req, 404, STSD_CONTENT_TYPE, none,
		    sizeof(none) - 1);
	return tg_http_reply(req, 200, body);
}

static const struct tg_http_route stsd_routes[] = {
	{ STSD_POLICY_PATH, TG_HTTP_GET | TG_HTTP_HEAD, 0, NULL, NULL,
	    stsd_on_policy, NULL, NULL, 0 },
};

/* RFC 8555 §8.3: the key authorization of the token in the path, on the
 * server's thread, from the published challenge set (net/http01). */
static int
stsd_on_challenge(struct tg_http_request *req, void *arg)
{
	static const char none[] = "no such challenge\n";
	const char *path = tg_http_request_path(req);
	const char *host = tg_http_request_host(req);
	char token[TG_HTTP01_TOKEN_LOG_LEN];
	enum tg_http01_result r;
	const char *keyauth;

	(void)arg;
	r = tg_http01_lookup(tg_http_request_data(req), path, tg_clock_now(),
	    &keyauth);
	tg_http01_token_for_log(path, token);
	tg_log_info(NULL, "event=acme-challenge token=%s host=%s peer=%s "
	    "result=%s", token, host[0] != '\0' ? host : "-",
	    tg_http_request_peer(req), r == TG_HTTP01_SERVED ? "served" :
	    "unknown");
	if (r != TG_HTTP01_SERVED)
		return tg_http_reply_text(req, 404, "text/plain", none,
		    sizeof(none) - 1);
	return tg_http_reply_text(req, 200, STSD_ACME_CONTENT_TYPE, keyauth,
	    strlen(keyauth));
}

static const struct tg_http_route stsd_acme_routes[] = {
	{ .path = TG_HTTP01_PREFIX, .methods = TG_HTTP_GET | TG_HTTP_HEAD,
	    .on_complete = stsd_on_challenge, .prefix = 1 },
};

/* ---- snapshots: one view each ---- */

static int
stsd_snapshot_build(struct tg_daemon *d, const struct tg_conf *conf,
    void **data, struct tg_err *err)
{
	struct stsd_view *v;

	(void)d;
	if (stsd_view_build(conf, tg_clock_now(), &v, err) != 0)
		return -1;
	*data = v;
	return 0;
}

static void
stsd_snapshot_free(void *data)
{
	stsd_view_free(data);
}

static void
stsd_on_change(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	/* A withdrawal window has ended; nothing changed in the store, so
	 * ask the runtime for a reload as an administrator would. */
	tg_log_info(NULL, "event=sts-policy result=window-ended "
	    "action=reload");
	raise(SIGHUP);
}

static void
stsd_schedule(struct stsd *s, const struct stsd_view *v)
{
	struct timeval tv = { 0, 0 };
	time_t now = tg_clock_now();

	evtimer_del(s->change_ev);
	if (v->next_change == 0)
		return;
	tv.tv_sec = v->next_change > now ? v->next_change - now + 1 : 1;
	evtimer_add(s->change_ev, &tv);
}

static int
stsd_start(struct stsd *s)
{
	struct tg_err err;

	if (s->started)
		return 0;
	/* After the fork and the privilege drop: the servers' threads must
	 * live in the final process. */
	if (tg_http_start(s->http, &err) != 0 ||
	    (s->http01 != NULL && tg_http_start(s->http01, &err) != 0)) {
		tg_log(TG_LOG_FATAL, NULL, "event=fatal error=\"%s\"", err.msg);
		tg_daemon_request_stop(s->daemon);
		return -1;
	}
	s->started = 1;
	return 0;
}

/* The view's challenges (none when ACME was turned off by a reload) for
 * the plain server, when there is one. */
static void
stsd_publish_challenges(struct stsd *s, const struct stsd_view *v)
{
	struct tg_err err;

	if (s->http01 == NULL)
		return;
	if (tg_http_publish(s->http01, v->acme == NULL ? NULL :
	    tg_http01_set_ref(v->acme), tg_http01_set_unref, &err) != 0)
		tg_log_err(NULL, "event=acme-publish result=failed "
		    "error=\"%s\"", err.msg);
	else if (v->acme != NULL)
		tg_log_debug(NULL, "event=acme-publish challenges=%zu",
		    tg_http01_set_count(v->acme));
}

static void
stsd_snapshot_changed(struct tg_daemon *d)
{
	struct stsd *s = tg_daemon_arg(d);
	struct tg_snapshot *snap = tg_daemon_snapshot(d);
	struct stsd_view *v = snap->data;
	struct tg_err err;

	if (s->http != NULL && stsd_start(s) == 0) {
		tg_http_set_certs(s->http, v->certs);
		if (tg_http_publish(s->http, stsd_site_ref(v->site),
		    stsd_site_unref, &err) != 0)
			tg_log_err(NULL, "event=sts-publish result=failed "
			    "error=\"%s\"", err.msg);
		else
			/* Served now: record it (RFC 8461 §8.1). */
			stsd_view_commit(snap->conf, v);
		stsd_schedule(s, v);
		stsd_publish_challenges(s, v);
	}
	tg_snapshot_unref(snap);
}

static void
stsd_stop(struct tg_daemon *d)
{
	struct stsd *s = tg_daemon_arg(d);

	tg_http_free(s->http);
	s->http = NULL;
	tg_http_free(s->http01);
	s->http01 = NULL;
	tg_daemon_stopped(d);
}

static const struct tg_daemon_ops stsd_ops = {
	.snapshot_build = stsd_snapshot_build,
	.snapshot_free = stsd_snapshot_free,
	.snapshot_changed = stsd_snapshot_changed,
	.stop = stsd_stop,
};

/* What both servers share: stsd's limits; GET and HEAD only. */
static void
stsd_http_config(struct tg_http_config *cfg, const struct tg_conf *conf,
    struct stsd *s)
{
	tg_http_config_init(cfg);
	cfg->arg = s;
	cfg->body_max = 0;		/* GET and HEAD only */
	cfg->conn_max = (unsigned)conf->sts_max_connections;
	cfg->per_ip_max = (unsigned)conf->sts_max_connections_per_address;
}

/*
 * ACME on at start: the plain HTTP server of the http-01 challenges on
 * sts.http_listen, bound now (the sandbox allows no listener later).
 */
static int
stsd_setup_http01(struct stsd *s, const struct tg_conf *conf,
    struct tg_err *err)
{
	struct tg_http_config cfg;

	if (conf->acme_directory[0] == '\0')
		return 0;
	stsd_http_config(&cfg, conf, s);
	cfg.plain = 1;
	cfg.routes = stsd_acme_routes;
	cfg.nroutes = sizeof(stsd_acme_routes) / sizeof(stsd_acme_routes[0]);
	if (tg_http_new(tg_daemon_base(s->daemon), &cfg, &s->http01,
	    err) != 0 || tg_daemon_http_listen(s->daemon, &s->http01,
	    &conf->sts_http_listen, err) != 0) {
		tg_err_prefix(err, "sts.http_listen (ACME http-01)");
		return -1;
	}
	tg_log_info(NULL, "event=acme-http01 result=listening "
	    "path=" TG_HTTP01_PREFIX);
	return 0;
}

static int
stsd_setup(struct stsd *s, struct tg_err *err)
{
	struct tg_snapshot *snap = tg_daemon_snapshot(s->daemon);
	struct tg_http_config cfg;
	int rc;

	stsd_http_config(&cfg, snap->conf, s);
	cfg.routes = stsd_routes;
	cfg.nroutes = sizeof(stsd_routes) / sizeof(stsd_routes[0]);
	s->change_ev = evtimer_new(tg_daemon_base(s->daemon), stsd_on_change,
	    s);
	rc = s->change_ev == NULL ? tg_err_set(err, TG_ERR_TEMP, NULL,
	    "out of memory") : tg_http_new(tg_daemon_base(s->daemon), &cfg,
	    &s->http, err);
	if (rc == 0)
		rc = tg_daemon_http_listen(s->daemon, &s->http,
		    &snap->conf->sts_listen, err);
	if (rc == 0)
		rc = stsd_setup_http01(s, snap->conf, err);
	tg_snapshot_unref(snap);
	return rc;
}

int
main(int argc, char **argv)
{
	struct tg_daemon_args args;
	struct stsd s = { NULL, NULL, NULL, NULL, 0 };
	struct tg_err err;
	int rc;

	rc = tg_daemon_parse_args(argc, argv, "tlsgate-stsd", &args, &err);
	if (rc != 0) {
		fprintf(rc == 1 ? stdout : stderr, "%s", err.msg);
		return rc == 1 ? 0 : 2;
	}
	if (tg_daemon_new("stsd", &args, &stsd_ops, &s, &s.daemon,
	    &err) != 0) {
		fprintf(stderr, "tlsgate-stsd: %s\n", err.msg);
		return 1;
	}
	rc = 0;
	if (stsd_setup(&s, &err) != 0 || tg_daemon_run(s.daemon, &err) != 0) {
		tg_log(TG_LOG_FATAL, NULL, "event=fatal error=\"%s\"", err.msg);
		rc = 1;
	}
	tg_http_free(s.http);
	tg_http_free(s.http01);
	if (s.change_ev != NULL)
		event_free(s.change_ev);
	tg_daemon_free(s.daemon);
	return rc;
}
