/*
 * tlsgate-rptd — TLS reporting (RFC 8460), both ways.
 *
 * Collects the reports other mail systems send about our domains: HTTPS
 * POST at rpt.path on rpt.listen (rptd_in.c), with the certificates of
 * our MX and MTA-STS host names (rptd_view.c), stored by rpt/collect in
 * <state_dir>/reports.db for the hosted domains of config.db only.
 * Sends our own daily reports about the mail our relay delivered
 * (rptd_out.c, rpt/send). Reports that arrive by mail come in through
 * the inbound MX, which leaves them in the report inbox (rptd_mail.c),
 * or `tlsgate report import`.
 *
 * The HTTPS server has its own thread (net/http); a report's body is
 * handed to the loop's thread when complete, where it is checked and
 * stored with the daemon's one reports.db connection. The store and the
 * HTTPS server start after the privilege drop, so reports.db, its WAL
 * and the outbox belong to the daemons' user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "rptd.h"

static void
rptd_on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct rptd *r = arg;

	(void)l;
	if (r->http == NULL) {
		close(fd);
		return;
	}
	(void)tg_http_accept(r->http, fd, sa, salen);
}

/* ---- snapshots ---- */

static int
rptd_snapshot_build(struct tg_daemon *d, const struct tg_conf *conf,
    void **data, struct tg_err *err)
{
	struct rptd_view *v;

	(void)d;
	if (rptd_view_build(conf, &v, err) != 0)
		return -1;
	*data = v;
	return 0;
}

static void
rptd_snapshot_free(void *data)
{
	rptd_view_free(data);
}

/* First snapshot in the final process: open the store, start serving
 * and reporting. */
static int
rptd_start(struct rptd *r, const struct tg_conf *conf)
{
	struct tg_err err;

	if (r->started)
		return 0;
	r->started = 1;
	if (tg_reports_open(conf->state_dir, 0, &r->db, &err) != 0 ||
	    tg_http_start(r->http, &err) != 0 ||
	    rptd_out_start(r, &err) != 0 ||
	    rptd_mail_start(r, conf, &err) != 0) {
		tg_log(TG_LOG_FATAL, NULL, "event=fatal error=\"%s\"", err.msg);
		tg_daemon_request_stop(r->daemon);
		return -1;
	}
	tg_log_info(NULL, "event=rptd-start path=%s", rptd_path);
	return 0;
}

static void
rptd_publish(struct rptd *r, const struct tg_conf *conf)
{
	struct rptd_pub *pub = calloc(1, sizeof(*pub));
	struct tg_err err;

	if (pub == NULL) {
		tg_log_err(NULL, "event=rpt-publish result=failed error=\"out "
		    "of memory\"");
		return;
	}
	pub->body_max = (size_t)conf->rpt_max_body_size;
	if (tg_http_publish(r->http, pub, free, &err) != 0)
		tg_log_err(NULL, "event=rpt-publish result=failed error=\"%s\"",
		    err.msg);
}

static void
rptd_snapshot_changed(struct tg_daemon *d)
{
	struct rptd *r = tg_daemon_arg(d);
	struct tg_snapshot *snap = tg_daemon_snapshot(d);
	struct rptd_view *v = snap->data;
	struct tg_err err;

	if (r->http != NULL && rptd_start(r, snap->conf) == 0) {
		if (v->certs != NULL)
			tg_http_set_certs(r->http, v->certs);
		else
			tg_log_warn(NULL, "event=rpt-cert result=none "
			    "action=\"keeping the certificates in use\"");
		rptd_publish(r, snap->conf);
		if (rptd_limits_apply(r, snap->conf, &err) != 0)
			tg_log_err(NULL, "event=rpt-limits result=failed "
			    "error=\"%s\"", err.msg);
		rptd_out_changed(r);
		rptd_mail_wake(r);
		tg_log_info(NULL, "event=rpt-view domains=%zu certificates=%zu",
		    tg_collect_domains_count(v->domains), v->ncerts);
	}
	tg_snapshot_unref(snap);
}

static void
rptd_stop(struct tg_daemon *d)
{
	struct rptd *r = tg_daemon_arg(d);

	tg_http_free(r->http);
	r->http = NULL;
	rptd_out_free(r);
	rptd_mail_free(r);
	tg_daemon_stopped(d);
}

static const struct tg_daemon_ops rptd_ops = {
	.snapshot_build = rptd_snapshot_build,
	.snapshot_free = rptd_snapshot_free,
	.snapshot_changed = rptd_snapshot_changed,
	.stop = rptd_stop,
};

static int
rptd_setup(struct rptd *r, struct tg_err *err)
{
	struct tg_snapshot *snap = tg_daemon_snapshot(r->daemon);
	const struct tg_conf *conf = snap->conf;
	struct tg_http_config cfg;
	int rc;

	/* Routes are borrowed for the server's life: rpt.path is fixed. */
	snprintf(rptd_path, sizeof(rptd_path), "%s", conf->rpt_path);
	tg_http_config_init(&cfg);
	cfg.routes = rptd_routes;
	cfg.nroutes = rptd_nroutes;
	cfg.arg = r;
	cfg.batch_begin = rptd_batch_begin;
	cfg.batch_end = rptd_batch_end;
	/* The hard cap; rpt.max_body_size (reloadable) is checked per
	 * request below it. */
	cfg.body_max = TG_RPT_JSON_MAX;
	rc = tg_http_new(tg_daemon_base(r->daemon), &cfg, &r->http, err);
	if (rc == 0)
		rc = tg_daemon_listen(r->daemon, conf->rpt_listen.v,
		    conf->rpt_listen.n, rptd_on_accept, r, err);
	tg_snapshot_unref(snap);
	return rc;
}

int
main(int argc, char **argv)
{
	struct tg_daemon_args args;
	struct rptd r;
	struct tg_err err;
	int rc;

	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.lock, NULL);
	rc = tg_daemon_parse_args(argc, argv, "tlsgate-rptd", &args, &err);
	if (rc != 0) {
		fprintf(rc == 1 ? stdout : stderr, "%s", err.msg);
		return rc == 1 ? 0 : 2;
	}
	if (tg_daemon_new("rptd", &args, &rptd_ops, &r, &r.daemon,
	    &err) != 0) {
		fprintf(stderr, "tlsgate-rptd: %s\n", err.msg);
		return 1;
	}
	rc = 0;
	if (rptd_setup(&r, &err) != 0 || tg_daemon_run(r.daemon, &err) != 0) {
		tg_log(TG_LOG_FATAL, NULL, "event=fatal error=\"%s\"", err.msg);
		rc = 1;
	}
	tg_http_free(r.http);
	rptd_out_free(&r);
	rptd_mail_free(&r);
	tg_reports_close(r.db);
	tg_collect_limiter_free(r.limiter);
	tg_daemon_free(r.daemon);
	pthread_mutex_destroy(&r.lock);
	return rc;
}
