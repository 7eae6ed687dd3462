/*
 * tlsgate-mxd — the inbound MX: the Internet hands it the mail for the
 * hosted domains.
 *
 * mxd listens on mx.listen, speaks ESMTP with STARTTLS (the store's
 * current MX certificate, the one senders check against our TLSA record:
 * RFC 7672 §4), takes mail from anyone but only for the hosted domains
 * (`tlsgate domain add`; smtp/server's inbound mode), and writes each
 * message durably to its own spool, spool_dir/inbound, before it
 * answers 250. Delivery is smtp/delivery's engine with a fixed route per
 * hosted domain: the domain's inbound route (`--route host:port`, the
 * internal mail server), with STARTTLS required or not as mx.route_tls
 * says. A hosted domain without a route is answered 451 4.3.5 at RCPT,
 * so that nothing is taken that cannot be handed on. Mail to other
 * domains — the DSNs for messages the internal server refused after we
 * took them — goes out by MX under DANE and MTA-STS, as relayd's does.
 * A recipient that is one of the hosted domains' TLS-RPT mailboxes (a
 * mailto: of its rua) is not handed on: its copy goes into the report
 * inbox for tlsgate-rptd (rpt/inbox), durably, before it is marked
 * delivered (RFC 8460 §3: rptd checks the DKIM signature).
 * Every other recipient is verified with its route before RCPT is
 * answered (mx.verify_recipients; smtp/rcptverify): one the internal
 * server refuses is refused there and then.
 *
 * The snapshot (net/daemon) holds the tg_smtpd_conf (host name, limits,
 * the hosted domains, the TLS context) and the routes; a reload (SIGHUP,
 * or a store change such as `tlsgate domain add`) applies to new
 * sessions and to every destination decided afterwards.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/listener.h>

#include "core/log.h"
#include "net/daemon.h"
#include "rpt/inbox.h"
#include "smtp/mta.h"
#include "store/store.h"
#include "util/path.h"
#include "util/text.h"

/* The queue of mxd, below spool_dir (relayd's queue is spool_dir). */
#define MXD_SPOOL_SUBDIR	"inbound"

struct mxd {
	struct tg_daemon *daemon;	/* borrowed */
	struct tg_mta *mta;		/* owned: spool, server, delivery */
	struct tg_tls_server *tls;	/* owned reference: last one loaded */
	int running;			/* the first snapshot is in force */
};

/* A hosted domain's route, parsed from the store's "host[:port]". */
struct mxd_route {
	char domain[TG_DNAME_MAX + 1];
	struct tg_delivery_route to;
};

/* A TLS-RPT mailbox of a hosted domain (a mailto: of its rua). */
struct mxd_mailbox {
	char addr[TG_STORE_RUA_MAX + 1];	/* lower case */
};

/* The daemon's own part of a snapshot. */
struct mxd_snap {
	struct tg_smtpd_conf *smtpd;	/* owned reference */
	struct mxd_route *routes;	/* owned, by domain */
	size_t nroutes;
	struct mxd_mailbox *mailboxes;	/* owned, sorted */
	size_t nmailboxes, capmailboxes;
};

/* ---- routes -------------------------------------------------------- */

static int
route_cmp(const void *a, const void *b)
{
	const struct mxd_route *x = a, *y = b;

	return strcmp(x->domain, y->domain);
}

/* The engine asks for a destination's route (tg_delivery_route_fn). */
static int
mxd_route(void *ctx, const char *domain, struct tg_delivery_route *out)
{
	struct mxd *m = ctx;
	struct tg_snapshot *snap = tg_daemon_snapshot(m->daemon);
	struct mxd_snap *ms = snap->data;
	struct mxd_route key, *r;
	int found = 0;

	tg_text_fmt(key.domain, sizeof(key.domain), "%s", domain);
	r = ms->nroutes == 0 ? NULL : bsearch(&key, ms->routes, ms->nroutes,
	    sizeof(key), route_cmp);
	if (r != NULL) {
		*out = r->to;
		out->require_tls = snap->conf->mx_route_tls;
		found = 1;
	}
	tg_snapshot_unref(snap);
	return found;
}

/* ---- TLS reports by mail --------------------------------------------- */

static int
mailbox_cmp(const void *a, const void *b)
{
	const struct mxd_mailbox *x = a, *y = b;

	return strcmp(x->addr, y->addr);
}

/* The mailto: URIs of rua ("mailto:a@b,https://...", normalised by the
 * store) into ms; -1 when out of memory. */
static int
mxd_add_mailboxes(struct mxd_snap *ms, const char *rua)
{
	const char *p = rua, *end;
	struct mxd_mailbox *v;
	size_t n, i;

	for (; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		if (n <= 7 || strncasecmp(p, "mailto:", 7) != 0 ||
		    n - 7 >= sizeof(v->addr))
			continue;
		if (ms->nmailboxes == ms->capmailboxes) {
			ms->capmailboxes = ms->capmailboxes == 0 ? 8 :
			    ms->capmailboxes * 2;
			v = realloc(ms->mailboxes, ms->capmailboxes *
			    sizeof(*v));
			if (v == NULL)
				return -1;
			ms->mailboxes = v;
		}
		v = &ms->mailboxes[ms->nmailboxes++];
		for (i = 0; i < n - 7; i++)
			v->addr[i] = (char)tolower((unsigned char)p[7 + i]);
		v->addr[n - 7] = '\0';
	}
	return 0;
}

static int
mxd_is_mailbox(const struct mxd_snap *ms, const char *addr)
{
	struct mxd_mailbox key;
	size_t i, n = strlen(addr);

	if (ms->nmailboxes == 0 || n >= sizeof(key.addr))
		return 0;
	for (i = 0; i <= n; i++)
		key.addr[i] = (char)tolower((unsigned char)addr[i]);
	return bsearch(&key, ms->mailboxes, ms->nmailboxes, sizeof(key),
	    mailbox_cmp) != NULL;
}

/* A report mailbox is ours, not the internal server's, to judge. */
static int
mxd_verify_skip(void *ctx, const char *addr)
{
	struct mxd *m = ctx;
	struct tg_snapshot *snap = tg_daemon_snapshot(m->daemon);
	int skip = mxd_is_mailbox(snap->data, addr);

	tg_snapshot_unref(snap);
	return skip;
}

static ssize_t
mxd_read_msg(void *arg, void *buf, size_t cap, struct tg_err *err)
{
	return tg_spool_msg_read(arg, buf, cap, err);
}

/* Mark recipients i of m delivered into the inbox (which[i] set). */
static void
mxd_mark_inbox(struct tg_spool_msg *m, const char *qid, const char *which,
    size_t n)
{
	const struct tg_spool_env *env = tg_spool_msg_env(m);
	struct tg_err err;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!which[i])
			continue;
		if (tg_spool_mark(m, i, TG_SPOOL_DELIVERED, 0, "2.0.0 in the "
		    "report inbox", &err) != 0)
			tg_log_warn(NULL, "event=report-inbox queue_id=%s "
			    "rcpt=<%s> result=unmarked error=\"%s\"", qid,
			    env->rcpt[i].addr, err.msg);
		else
			tg_log_info(NULL, "event=report-inbox queue_id=%s "
			    "rcpt=<%s> result=stored", qid, env->rcpt[i].addr);
	}
}

/*
 * tg_mta_local_fn: copies for TLS-RPT mailboxes go into the report
 * inbox. When that fails they stay pending and go to the internal
 * server with the rest: nothing is lost either way.
 */
static void
mxd_local(void *ctx, struct tg_spool *sp, const char *qid,
    const struct tg_spool_env *env)
{
	struct mxd *m = ctx;
	struct tg_snapshot *snap = tg_daemon_snapshot(m->daemon);
	struct mxd_snap *ms = snap->data;
	char which[TG_SPOOL_RCPT_MAX], dir[TG_PATH_MAX];
	struct tg_spool_msg *msg = NULL;
	struct tg_err err;
	size_t i, hits = 0;

	for (i = 0; i < env->nrcpt && i < sizeof(which); i++) {
		which[i] = (char)mxd_is_mailbox(ms, env->rcpt[i].addr);
		hits += (size_t)which[i];
	}
	if (hits == 0)
		goto out;
	if (tg_inbox_dir(snap->conf, dir, sizeof(dir)) != 0) {
		tg_err_set(&err, TG_ERR_PERM, NULL, "state_dir is too long");
		goto failed;
	}
	if (tg_spool_msg_open(sp, qid, &msg, &err) != 0 ||
	    tg_inbox_put(dir, qid, mxd_read_msg, msg, TG_RPT_MAIL_MAX,
	    &err) != 0)
		goto failed;
	mxd_mark_inbox(msg, qid, which, i);
	goto close;
failed:
	tg_log_warn(NULL, "event=report-inbox queue_id=%s result=failed "
	    "error=\"%s\" action=\"handed to the internal server\"", qid,
	    err.msg);
close:
	if (msg != NULL && tg_spool_msg_close(&msg, &err) < 0)
		tg_log_warn(NULL, "event=report-inbox queue_id=%s "
		    "result=close-failed error=\"%s\"", qid, err.msg);
out:
	tg_snapshot_unref(snap);
}

/* ---- snapshot ------------------------------------------------------ */

struct domains_arg {
	struct tg_smtpd_conf *sc;
	struct mxd_snap *ms;
	size_t cap;
	int failed;
};

/* One hosted domain: its recipients are taken (or deferred without a
 * usable route), and its route remembered. */
static int
mxd_add_domain(const struct tg_store_domain *d, void *arg)
{
	struct domains_arg *a = arg;
	struct tg_delivery_route to;
	struct mxd_route *v;
	struct tg_err err;
	int routed = d->inbound_route[0] != '\0' &&
	    tg_delivery_route_parse(d->inbound_route, &to) == 0;

	if (d->inbound_route[0] != '\0' && !routed)
		tg_log_warn(NULL, "event=mx-route domain=%s route=\"%s\" "
		    "result=unusable action=\"mail for it is deferred\"",
		    d->name, d->inbound_route);
	if (tg_smtpd_conf_add_domain(a->sc, d->name, !routed, &err) != 0 ||
	    mxd_add_mailboxes(a->ms, d->tlsrpt_rua) != 0) {
		a->failed = 1;
		return -1;
	}
	if (!routed)
		return 0;
	if (a->ms->nroutes == a->cap) {
		a->cap = a->cap == 0 ? 16 : a->cap * 2;
		v = realloc(a->ms->routes, a->cap * sizeof(*v));
		if (v == NULL) {
			a->failed = 1;
			return -1;
		}
		a->ms->routes = v;
	}
	v = &a->ms->routes[a->ms->nroutes++];
	tg_text_fmt(v->domain, sizeof(v->domain), "%s", d->name);
	v->to = to;
	return 0;
}

/* Hosted domains, routes and TLS from the store. */
static int
mxd_from_store(struct mxd *m, const struct tg_conf *conf,
    struct mxd_snap *ms, struct tg_err *err)
{
	struct domains_arg a = { ms->smtpd, ms, 0, 0 };
	struct tg_store *st = NULL;

	if (tg_store_open_readonly(conf->state_dir, &st, err) != 0) {
		if (m->running)
			return -1;	/* keep the rules in force */
		tg_log_warn(NULL, "event=store-open result=failed "
		    "error=\"%s\" action=\"no hosted domains: every "
		    "recipient is refused\"", err->msg);
		return 0;
	}
	if (tg_store_domain_list(st, mxd_add_domain, &a, err) != 0 ||
	    tg_smtpd_conf_store_tls(ms->smtpd, st, conf->relay_hostname,
	    &m->tls, err) != 0) {
		tg_store_close(st);
		if (a.failed)
			tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return -1;
	}
	tg_store_close(st);
	if (ms->nroutes > 1)
		qsort(ms->routes, ms->nroutes, sizeof(*ms->routes),
		    route_cmp);
	if (ms->nmailboxes > 1)
		qsort(ms->mailboxes, ms->nmailboxes, sizeof(*ms->mailboxes),
		    mailbox_cmp);
	tg_log_info(NULL, "event=mx-domains count=%zu routed=%zu "
	    "report_mailboxes=%zu%s", ms->smtpd->ndomains, ms->nroutes,
	    ms->nmailboxes, ms->smtpd->ndomains == 0 ?
	    " action=\"every recipient is refused\"" : "");
	return 0;
}

static void
mxd_snapshot_free(void *data)
{
	struct mxd_snap *ms = data;

	if (ms == NULL)
		return;
	tg_smtpd_conf_unref(ms->smtpd);
	free(ms->routes);
	free(ms->mailboxes);
	free(ms);
}

static int
mxd_snapshot_build(struct tg_daemon *d, const struct tg_conf *conf,
    void **data, struct tg_err *err)
{
	struct mxd *m = tg_daemon_arg(d);
	struct tg_smtpd_conf *sc;
	struct mxd_snap *ms;

	if ((sc = tg_mta_smtpd_conf(conf, err)) == NULL)
		return -1;
	if ((ms = calloc(1, sizeof(*ms))) == NULL) {
		tg_smtpd_conf_unref(sc);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	ms->smtpd = sc;
	sc->inbound = 1;
	if (mxd_from_store(m, conf, ms, err) != 0) {
		mxd_snapshot_free(ms);
		return -1;
	}
	*data = ms;
	return 0;
}

static void
mxd_snapshot_changed(struct tg_daemon *d)
{
	struct mxd *m = tg_daemon_arg(d);
	struct tg_snapshot *snap = tg_daemon_snapshot(d);

	m->running = 1;
	/* Also makes every destination be decided afresh: new routes. */
	tg_mta_reload(m->mta, snap->conf);
	tg_snapshot_unref(snap);
}

/* ---- sessions and stopping ----------------------------------------- */

static void
mxd_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct mxd *m = arg;
	struct tg_snapshot *snap = tg_daemon_snapshot(m->daemon);
	struct mxd_snap *ms = snap->data;

	(void)l;
	tg_mta_accept(m->mta, fd, sa, salen, ms->smtpd);
	tg_snapshot_unref(snap);
}

static void
mxd_stopped(void *arg)
{
	struct mxd *m = arg;

	tg_daemon_stopped(m->daemon);
}

static void
mxd_stop(struct tg_daemon *d)
{
	struct mxd *m = tg_daemon_arg(d);

	tg_mta_shutdown(m->mta, mxd_stopped, m);
}

/* Spool, delivery and server, as `user` (the listeners are bound). */
static int
mxd_start(struct tg_daemon *d, struct tg_err *err)
{
	struct mxd *m = tg_daemon_arg(d);
	struct tg_snapshot *snap = tg_daemon_snapshot(m->daemon);
	struct tg_mta_hooks hooks = { mxd_route, m, mxd_local, m,
		mxd_verify_skip, m };
	char dir[TG_PATH_MAX];
	int rc;

	if (tg_path_fmt(dir, sizeof(dir), "%s/%s", snap->conf->spool_dir,
	    MXD_SPOOL_SUBDIR) != 0)
		rc = tg_err_set(err, TG_ERR_PERM, NULL,
		    "spool_dir is too long");
	else
		rc = tg_mta_open(tg_daemon_base(m->daemon), snap->conf, dir,
		    &hooks, &m->mta, err);
	tg_snapshot_unref(snap);
	return rc;
}

static const struct tg_daemon_ops mxd_ops = {
	.snapshot_build = mxd_snapshot_build,
	.snapshot_free = mxd_snapshot_free,
	.start = mxd_start,
	.snapshot_changed = mxd_snapshot_changed,
	.stop = mxd_stop,
};

/* The listeners, while still privileged (port 25). */
static int
mxd_bind(struct mxd *m, struct tg_err *err)
{
	struct tg_snapshot *snap = tg_daemon_snapshot(m->daemon);
	int rc;

	rc = tg_daemon_listen(m->daemon, snap->conf->mx_listen.v,
	    snap->conf->mx_listen.n, mxd_accept, m, err);
	tg_snapshot_unref(snap);
	return rc;
}

int
main(int argc, char **argv)
{
	struct tg_daemon_args args;
	struct mxd m;
	struct tg_err err;
	int rc;

	memset(&m, 0, sizeof(m));
	rc = tg_daemon_parse_args(argc, argv, "tlsgate-mxd", &args, &err);
	if (rc != 0) {
		fprintf(rc == 1 ? stdout : stderr, "%s", err.msg);
		return rc == 1 ? 0 : 2;
	}
	if (tg_daemon_new("mxd", &args, &mxd_ops, &m, &m.daemon, &err) != 0) {
		fprintf(stderr, "tlsgate-mxd: %s\n", err.msg);
		return 1;
	}
	rc = 0;
	if (mxd_bind(&m, &err) != 0 || tg_daemon_run(m.daemon, &err) != 0) {
		tg_log(TG_LOG_FATAL, NULL, "event=fatal error=\"%s\"", err.msg);
		rc = 1;
	}
	tg_mta_free(m.mta);
	tg_tls_server_unref(m.tls);
	tg_daemon_free(m.daemon);
	return rc;
}
