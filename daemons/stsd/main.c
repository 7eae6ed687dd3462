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
 * The HTTPS server has its own thread (net/http explains why); requests
 * are answered there from the published, immutable site. Privileges:
 * stsd reads the sts private keys on every reload (RELIABILITY P-01).
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
	    stsd_on_policy, NULL, NULL },
};

static void
stsd_on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct stsd *s = arg;

	(void)l;
	if (s->http == NULL) {
		close(fd);
		return;
	}
	(void)tg_http_accept(s->http, fd, sa, salen);
}

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
	/* After the fork and the privilege drop: the server's thread must
	 * live in the final process. */
	if (tg_http_start(s->http, &err) != 0) {
		tg_log(TG_LOG_FATAL, NULL, "event=fatal error=\"%s\"", err.msg);
		tg_daemon_request_stop(s->daemon);
		return -1;
	}
	s->started = 1;
	return 0;
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
	}
	tg_snapshot_unref(snap);
}

static void
stsd_stop(struct tg_daemon *d)
{
	struct stsd *s = tg_daemon_arg(d);

	tg_http_free(s->http);
	s->http = NULL;
	tg_daemon_stopped(d);
}

static const struct tg_daemon_ops stsd_ops = {
	.snapshot_build = stsd_snapshot_build,
	.snapshot_free = stsd_snapshot_free,
	.snapshot_changed = stsd_snapshot_changed,
	.stop = stsd_stop,
};

/*
 * One address (the usual case): the HTTPS server's thread accepts on it
 * itself, a thread hand-off less per connection (net/http). Bound here,
 * before the privilege drop, like the runtime's listeners.
 */
static int
stsd_listen_one(struct stsd *s, const struct tg_conf_addr *a,
    struct tg_err *err)
{
	struct sockaddr_storage ss;
	char spec[TG_CONF_HOST_MAX + 16];
	int sslen = sizeof(ss);

	if (a->host[0] == '\0')
		snprintf(spec, sizeof(spec), "[::]:%u", a->port);
	else if (strchr(a->host, ':') != NULL)
		snprintf(spec, sizeof(spec), "[%s]:%u", a->host, a->port);
	else
		snprintf(spec, sizeof(spec), "%s:%u", a->host, a->port);
	memset(&ss, 0, sizeof(ss));
	if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss,
	    &sslen) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "cannot parse listen address %s", spec);
	if (tg_http_listen(s->http, (struct sockaddr *)&ss, sslen, err) != 0) {
		tg_err_prefix(err, "%s", spec);
		return -1;
	}
	tg_log_info(NULL, "event=listen address=%s", spec);
	return 0;
}

static int
stsd_setup(struct stsd *s, struct tg_err *err)
{
	struct tg_snapshot *snap = tg_daemon_snapshot(s->daemon);
	struct tg_http_config cfg;
	int rc;

	tg_http_config_init(&cfg);
	cfg.routes = stsd_routes;
	cfg.nroutes = sizeof(stsd_routes) / sizeof(stsd_routes[0]);
	cfg.arg = s;
	cfg.body_max = 0;		/* GET and HEAD only */
	cfg.conn_max = (unsigned)snap->conf->sts_max_connections;
	cfg.per_ip_max = (unsigned)snap->conf->sts_max_connections_per_address;
	s->change_ev = evtimer_new(tg_daemon_base(s->daemon), stsd_on_change,
	    s);
	rc = s->change_ev == NULL ? tg_err_set(err, TG_ERR_TEMP, NULL,
	    "out of memory") : tg_http_new(tg_daemon_base(s->daemon), &cfg,
	    &s->http, err);
	if (rc == 0 && snap->conf->sts_listen.n == 1)
		rc = stsd_listen_one(s, &snap->conf->sts_listen.v[0], err);
	else if (rc == 0)
		rc = tg_daemon_listen(s->daemon, snap->conf->sts_listen.v,
		    snap->conf->sts_listen.n, stsd_on_accept, s, err);
	tg_snapshot_unref(snap);
	return rc;
}

int
main(int argc, char **argv)
{
	struct tg_daemon_args args;
	struct stsd s = { NULL, NULL, NULL, 0 };
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
	if (s.change_ev != NULL)
		event_free(s.change_ev);
	tg_daemon_free(s.daemon);
	return rc;
}
