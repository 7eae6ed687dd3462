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
#include "smtp/delivery.h"
#include "smtp/server.h"
#include "smtp/spool.h"
#include "store/store.h"
#include "tls/tls_server.h"
#include "util/cidr.h"
#include "util/dname.h"

struct relay {
	struct tg_daemon *daemon;	/* borrowed */
	struct tg_spool *spool;		/* owned */
	struct tg_smtpd *smtpd;		/* owned */
	struct tg_tls_server *tls;	/* owned reference: last one loaded */
	struct tg_delivery_env *delivery; /* owned: the delivery engine */
	int running;			/* the first snapshot is in force */
};

/* The daemon's own part of a snapshot. */
struct relay_snap {
	struct tg_smtpd_conf *smtpd;	/* owned reference */
};

/* The certificate relayd serves: the current MX certificate for
 * relay.hostname, else any current MX certificate. */
struct relay_cert {
	const char *hostname;		/* borrowed */
	char cert[TG_PATH_MAX];
	char key[TG_PATH_MAX];
	int found;			/* 0 none, 1 other name, 2 our name */
};

/*
 * The seam to the delivery engine: called once per message the spool has
 * committed (its 250 is on its way to the client).
 */
static void
relayd_on_queued(void *arg, const char *qid, const struct tg_spool_env *env)
{
	struct relay *r = arg;

	(void)env;
	tg_delivery_kick(tg_delivery_env_engine(r->delivery), qid);
}

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

static int
relay_pick_cert(const struct tg_store_cert *c, void *arg)
{
	struct relay_cert *rc = arg;
	int rank;

	if (c->state != TG_STORE_CERT_CURRENT)
		return 0;
	rank = strcmp(c->name, rc->hostname) == 0 ? 2 : 1;
	if (rank > rc->found) {
		rc->found = rank;
		snprintf(rc->cert, sizeof(rc->cert), "%s", c->cert_path);
		snprintf(rc->key, sizeof(rc->key), "%s", c->key_path);
	}
	return 0;
}

/* Load (or keep) the TLS context for rc; a failure keeps the old one. */
static void
relay_tls(struct relay *r, const struct relay_cert *rc,
    struct tg_smtpd_conf *sc)
{
	struct tg_tls_server *ts;
	struct tg_err err;

	if (rc->found == 0) {
		tg_log_warn(NULL, "event=tls result=none reason=\"no current "
		    "MX certificate in the store\" action=\"STARTTLS not "
		    "offered\"");
	} else if (!tg_tls_server_same_files(r->tls, rc->cert, rc->key)) {
		if (tg_tls_server_new(rc->cert, rc->key, &ts, &err) == 0) {
			tg_tls_server_unref(r->tls);
			r->tls = ts;
			tg_log_info(NULL, "event=tls result=loaded cert=%s",
			    rc->cert);
		} else
			tg_log_warn(NULL, "event=tls result=failed cert=%s "
			    "error=\"%s\" action=\"%s\"", rc->cert, err.msg,
			    r->tls != NULL ? "kept the previous certificate" :
			    "STARTTLS not offered");
	}
	if (r->tls != NULL)
		tg_smtpd_conf_set_tls(sc, tg_tls_server_ctx(r->tls));
}

/* Relay networks and TLS from the store. */
static int
relay_from_store(struct relay *r, const struct tg_conf *conf,
    struct tg_smtpd_conf *sc, struct tg_err *err)
{
	struct relay_cert rc = { conf->relay_hostname, "", "", 0 };
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
	    tg_store_cert_list(st, NULL, TG_STORE_CERT_MX, relay_pick_cert,
	    &rc, err) != 0) {
		tg_store_close(st);
		return -1;
	}
	tg_store_close(st);
	relay_tls(r, &rc, sc);
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

	/* RFC 5321 §4.1.1.1: our EHLO name is a fully-qualified name. */
	if (!tg_dname_is_valid(conf->relay_hostname))
		return tg_err_set(err, TG_ERR_PERM, NULL, "relay.hostname "
		    "'%s' is not a fully-qualified domain name; set it in the "
		    "config", conf->relay_hostname);
	rs = calloc(1, sizeof(*rs));
	sc = tg_smtpd_conf_new();
	if (rs == NULL || sc == NULL) {
		free(rs);
		tg_smtpd_conf_unref(sc);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	snprintf(sc->hostname, sizeof(sc->hostname), "%s",
	    conf->relay_hostname);
	/* The spool's ceilings bound the configured limits (room is left
	 * for the Received header). */
	sc->max_size = (uint64_t)conf->smtp_max_message_size;
	if (sc->max_size > (uint64_t)TG_SPOOL_MSG_SIZE_MAX - TG_SPOOL_CHUNK)
		sc->max_size = (uint64_t)TG_SPOOL_MSG_SIZE_MAX - TG_SPOOL_CHUNK;
	sc->max_rcpt = conf->smtp_max_recipients < TG_SPOOL_RCPT_MAX ?
	    (size_t)conf->smtp_max_recipients : TG_SPOOL_RCPT_MAX;
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
	tg_delivery_env_reload(r->delivery, snap->conf);
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
	struct tg_err err;

	(void)l;
	if (tg_smtpd_accept(r->smtpd, fd, sa, salen, rs->smtpd, &err) != 0)
		tg_log_err(NULL, "event=accept result=failed error=\"%s\"",
		    err.msg);
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

	tg_smtpd_shutdown(r->smtpd, relay_stopped, r);
}

/* Spool, delivery and server, as `user` (the listeners are bound). */
static int
relay_start(struct tg_daemon *d, struct tg_err *err)
{
	struct relay *r = tg_daemon_arg(d);
	struct tg_snapshot *snap = tg_daemon_snapshot(r->daemon);
	const struct tg_conf *conf = snap->conf;
	struct tg_spool_opts opts;
	int rc = -1;

	memset(&opts, 0, sizeof(opts));
	/* The spool's own cap is its ceiling: the configured limit, which
	 * a reload may change, is enforced by the server. */
	opts.max_size = (uint64_t)TG_SPOOL_MSG_SIZE_MAX;
	if (tg_spool_open(conf->spool_dir, &opts, &r->spool, err) != 0) {
		tg_err_prefix(err, "spool %s", conf->spool_dir);
		goto out;
	}
	tg_log_info(NULL, "event=spool-open dir=%s messages=%zu",
	    conf->spool_dir, tg_spool_count(r->spool));
	if (tg_delivery_env_open(tg_daemon_base(r->daemon), conf, r->spool,
	    &r->delivery, err) != 0)
		goto out;
	tg_delivery_kick(tg_delivery_env_engine(r->delivery), NULL);
	if (tg_smtpd_new(tg_daemon_base(r->daemon), r->spool,
	    relayd_on_queued, r, &r->smtpd, err) != 0)
		goto out;
	rc = 0;
out:
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
	tg_smtpd_free(r.smtpd);
	tg_delivery_env_free(r.delivery);
	tg_spool_free(r.spool);
	tg_tls_server_unref(r.tls);
	tg_daemon_free(r.daemon);
	return rc;
}
