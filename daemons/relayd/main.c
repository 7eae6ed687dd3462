/*
 * tlsgate-relayd — the outbound relay: the internal mail server hands it
 * the organisation's outgoing mail.
 *
 * Built so far: the receiving side. relayd listens on relay.listen,
 * speaks ESMTP with STARTTLS (the store's current MX certificate), takes
 * mail only from the networks of the store's relay list (`tlsgate relay
 * allow CIDR`; an empty list refuses everyone), and writes each message
 * durably to the spool in spool_dir before it answers 250. On start the
 * spool is checked and what it holds stays queued.
 * Delivery to the Internet is smtp/delivery's engine, on the same loop:
 * relayd_on_queued hands it each committed message, and it delivers
 * under the TLS each destination's DANE / MTA-STS / local policy demands.
 *
 * The snapshot (net/daemon) holds one tg_smtpd_conf: host name, limits,
 * the relay networks and the TLS context. Sessions keep the one they
 * started with; a reload (SIGHUP, or a store change such as `tlsgate
 * relay allow`) applies to new sessions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/listener.h>

#include "core/log.h"
#include "net/daemon.h"
#include "smtp/mta.h"
#include "store/store.h"
#include "tls/tls_server.h"
#include "util/cidr.h"

struct relay {
	struct tg_daemon *daemon;	/* borrowed */
	struct tg_mta *mta;		/* owned: spool, server, delivery */
	struct tg_tls_server *tls;	/* owned reference: last one loaded */
	int running;			/* the first snapshot is in force */
};

/* The daemon's own part of a snapshot. */
struct relay_snap {
	struct tg_smtpd_conf *smtpd;	/* owned reference */
};

/* ---- snapshot -------------------------------------------------------- */

static int
relay_add_net(const struct tg_store_relay_net *n, void *arg)
{
	struct tg_smtpd_conf *sc = arg;
	struct tg_cidr c;
	struct tg_err err;

	if (tg_cidr_parse(n->cidr, &c, &err) != 0 ||
	    tg_smtpd_conf_add_net(sc, &c, &err) != 0)
		tg_log_warn(NULL, "event=relay-network result=skipped "
		    "network=%s error=\"%s\"", n->cidr, err.msg);
	return 0;
}

/* Relay networks and TLS from the store. */
static int
relay_from_store(struct relay *r, const struct tg_conf *conf,
    struct tg_smtpd_conf *sc, struct tg_err *err)
{
	struct tg_store *st = NULL;

	if (tg_store_open_readonly(conf->state_dir, &st, err) != 0) {
		if (r->running)
			return -1;	/* keep the rules in force */
		tg_log_warn(NULL, "event=store-open result=failed error=\"%s\" "
		    "action=\"no relay networks: every client is refused\"",
		    err->msg);
		return 0;
	}
	if (tg_store_relay_list(st, relay_add_net, sc, err) != 0 ||
	    tg_smtpd_conf_store_tls(sc, st, conf->relay_hostname, &r->tls,
	    err) != 0) {
		tg_store_close(st);
		return -1;
	}
	tg_store_close(st);
	tg_log_info(NULL, "event=relay-networks count=%zu%s", sc->nnets,
	    sc->nnets == 0 ? " action=\"every client is refused\"" : "");
	return 0;
}

static int
relay_snapshot_build(struct tg_daemon *d, const struct tg_conf *conf,
    void **data, struct tg_err *err)
{
	struct relay *r = tg_daemon_arg(d);
	struct relay_snap *rs;
	struct tg_smtpd_conf *sc;

	if ((sc = tg_mta_smtpd_conf(conf, err)) == NULL)
		return -1;
	sc->requiretls = conf->relay_requiretls;	/* RFC 8689 */
	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		tg_smtpd_conf_unref(sc);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	if (relay_from_store(r, conf, sc, err) != 0) {
		tg_smtpd_conf_unref(sc);
		free(rs);
		return -1;
	}
	rs->smtpd = sc;
	*data = rs;
	return 0;
}

static void
relay_snapshot_free(void *data)
{
	struct relay_snap *rs = data;

	tg_smtpd_conf_unref(rs->smtpd);
	free(rs);
}

static void
relay_snapshot_changed(struct tg_daemon *d)
{
	struct relay *r = tg_daemon_arg(d);
	struct tg_snapshot *snap = tg_daemon_snapshot(d);

	r->running = 1;
	tg_mta_reload(r->mta, snap->conf);
	tg_snapshot_unref(snap);
}

/* ---- sessions and stopping -------------------------------------------- */

static void
relay_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct relay *r = arg;
	struct tg_snapshot *snap = tg_daemon_snapshot(r->daemon);
	struct relay_snap *rs = snap->data;

	(void)l;
	tg_mta_accept(r->mta, fd, sa, salen, rs->smtpd);
	tg_snapshot_unref(snap);
}

static void
relay_stopped(void *arg)
{
	struct relay *r = arg;

	tg_daemon_stopped(r->daemon);
}

static void
relay_stop(struct tg_daemon *d)
{
	struct relay *r = tg_daemon_arg(d);

	tg_mta_shutdown(r->mta, relay_stopped, r);
}

/* Spool, delivery and server, as `user` (the listeners are bound). */
static int
relay_start(struct tg_daemon *d, struct tg_err *err)
{
	struct relay *r = tg_daemon_arg(d);
	struct tg_snapshot *snap = tg_daemon_snapshot(r->daemon);
	int rc;

	rc = tg_mta_open(tg_daemon_base(r->daemon), snap->conf,
	    snap->conf->spool_dir, NULL, &r->mta, err);
	tg_snapshot_unref(snap);
	return rc;
}

static const struct tg_daemon_ops relay_ops = {
	.snapshot_build = relay_snapshot_build,
	.snapshot_free = relay_snapshot_free,
	.start = relay_start,
	.snapshot_changed = relay_snapshot_changed,
	.stop = relay_stop,
};

/* The listeners, while still privileged; connections wait in the
 * backlog until the loop runs, after relay_start. */
static int
relay_bind(struct relay *r, struct tg_err *err)
{
	struct tg_snapshot *snap = tg_daemon_snapshot(r->daemon);
	int rc;

	rc = tg_daemon_listen(r->daemon, snap->conf->relay_listen.v,
	    snap->conf->relay_listen.n, relay_accept, r, err);
	tg_snapshot_unref(snap);
	return rc;
}

int
main(int argc, char **argv)
{
	struct tg_daemon_args args;
	struct relay r;
	struct tg_err err;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = tg_daemon_parse_args(argc, argv, "tlsgate-relayd", &args, &err);
	if (rc != 0) {
		fprintf(rc == 1 ? stdout : stderr, "%s", err.msg);
		return rc == 1 ? 0 : 2;
	}
	if (tg_daemon_new("relayd", &args, &relay_ops, &r, &r.daemon,
	    &err) != 0) {
		fprintf(stderr, "tlsgate-relayd: %s\n", err.msg);
		return 1;
	}
	rc = 0;
	if (relay_bind(&r, &err) != 0 || tg_daemon_run(r.daemon, &err) != 0) {
		tg_log(TG_LOG_FATAL, NULL, "event=fatal error=\"%s\"", err.msg);
		rc = 1;
	}
	tg_mta_free(r.mta);
	tg_tls_server_unref(r.tls);
	tg_daemon_free(r.daemon);
	return rc;
}
