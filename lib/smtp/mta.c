/*
 * smtp/mta — see mta.h.
 */
#include "smtp/mta.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "smtp/rcptverify.h"
#include "util/dname.h"
#include "util/text.h"

struct tg_mta {
	struct tg_spool *spool;		/* owned */
	struct tg_delivery_env *delivery;	/* owned */
	struct tg_smtpd *smtpd;		/* owned */
	struct tg_rcptv *rcptv;		/* owned; NULL without routes */
	int verify;			/* mx.verify_recipients */
	struct tg_mta_hooks hooks;
};

/* One verification on behalf of a session (the server's handle). */
struct mta_vq {
	struct tg_mta *m;
	struct tg_rcptv_q *q;
	tg_smtpd_verdict_cb cb;
	void *arg;
	char addr[TG_SMTP_PATH_MAX + 1];
};

struct tg_smtpd_conf *
tg_mta_smtpd_conf(const struct tg_conf *conf, struct tg_err *err)
{
	struct tg_smtpd_conf *sc;

	if (!tg_dname_is_valid(conf->relay_hostname)) {
		tg_err_set(err, TG_ERR_PERM, NULL, "relay.hostname '%s' is "
		    "not a fully-qualified domain name; set it in the config",
		    conf->relay_hostname);
		return NULL;
	}
	if ((sc = tg_smtpd_conf_new()) == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	tg_text_fmt(sc->hostname, sizeof(sc->hostname), "%s",
	    conf->relay_hostname);
	sc->max_size = (uint64_t)conf->smtp_max_message_size;
	if (sc->max_size > (uint64_t)TG_SPOOL_MSG_SIZE_MAX - TG_SPOOL_CHUNK)
		sc->max_size = (uint64_t)TG_SPOOL_MSG_SIZE_MAX - TG_SPOOL_CHUNK;
	sc->max_rcpt = conf->smtp_max_recipients < TG_SPOOL_RCPT_MAX ?
	    (size_t)conf->smtp_max_recipients : TG_SPOOL_RCPT_MAX;
	return sc;
}

/* The seam between the two halves: a message is on disk, deliver it. */
static void
mta_on_queued(void *arg, const char *qid, const struct tg_spool_env *env)
{
	struct tg_mta *m = arg;

	if (m->hooks.local != NULL)
		m->hooks.local(m->hooks.local_ctx, m->spool, qid, env);
	tg_delivery_kick(tg_delivery_env_engine(m->delivery), qid);
}

/* ---- recipient verification (server.h: the verifier) ----------------- */

/* RELIABILITY I-10: 550 5.1.1, with what the internal server said. */
static void
mta_verdict(const char *addr, const struct tg_rcptv_result *res,
    struct tg_smtpd_verdict *vd)
{
	memset(vd, 0, sizeof(*vd));
	if (res->answer != TG_RCPTV_REFUSED)
		return;		/* taken, or no answer: the queue copes */
	vd->code = 550;
	tg_text_fmt(vd->status, sizeof(vd->status), "5.1.1");
	tg_text_fmt(vd->text, sizeof(vd->text), "<%s>: Recipient address "
	    "rejected: the internal server said: %s", addr, res->text);
}

static void
mta_verified(void *arg, const struct tg_rcptv_result *res)
{
	struct mta_vq *vq = arg;
	struct tg_smtpd_verdict vd;

	mta_verdict(vq->addr, res, &vd);
	vq->cb(vq->arg, &vd);
	free(vq);
}

static void *
mta_verify_ask(void *ctx, const char *addr, tg_smtpd_verdict_cb cb,
    void *arg, struct tg_smtpd_verdict *now)
{
	struct tg_mta *m = ctx;
	struct tg_delivery_route rt;
	struct tg_rcptv_result res;
	const char *at = strrchr(addr, '@');
	struct mta_vq *vq;

	memset(now, 0, sizeof(*now));
	if (!m->verify || at == NULL || (m->hooks.verify_skip != NULL &&
	    m->hooks.verify_skip(m->hooks.verify_ctx, addr)) ||
	    m->hooks.route(m->hooks.route_ctx, at + 1, &rt) != 1)
		return NULL;
	if ((vq = calloc(1, sizeof(*vq))) == NULL)
		return NULL;		/* take it: only a check */
	vq->m = m;
	vq->cb = cb;
	vq->arg = arg;
	tg_text_fmt(vq->addr, sizeof(vq->addr), "%s", addr);
	vq->q = tg_rcptv_ask(m->rcptv, &rt, addr, mta_verified, vq, &res);
	if (vq->q == NULL) {
		mta_verdict(addr, &res, now);
		free(vq);
		return NULL;
	}
	return vq;
}

static void
mta_verify_cancel(void *ctx, void *handle)
{
	struct mta_vq *vq = handle;

	(void)ctx;
	tg_rcptv_cancel(vq->m->rcptv, vq->q);
	free(vq);
}

static int
mta_verify_open(struct tg_mta *m, struct event_base *base,
    const struct tg_conf *conf, struct tg_err *err)
{
	struct tg_rcptv_params p;
	struct tg_smtpd_verifier v = { mta_verify_ask, mta_verify_cancel, m };

	memset(&p, 0, sizeof(p));
	p.base = base;
	p.resolver = tg_delivery_env_route_resolver(m->delivery);
	p.ssl_ctx = tg_delivery_env_ssl_ctx(m->delivery);
	p.helo_name = conf->relay_hostname;
	if ((m->rcptv = tg_rcptv_new(&p, err)) == NULL)
		return -1;
	m->verify = conf->mx_verify_recipients;
	tg_smtpd_set_verifier(m->smtpd, &v);
	/* Its senders are anyone: backscatter is limited too. */
	tg_delivery_set_dsn_limit(tg_delivery_env_engine(m->delivery),
	    (unsigned)conf->mx_dsn_rate_limit);
	return 0;
}

int
tg_mta_open(struct event_base *base, const struct tg_conf *conf,
    const char *spool_dir, const struct tg_mta_hooks *hooks,
    struct tg_mta **out, struct tg_err *err)
{
	struct tg_mta *m = calloc(1, sizeof(*m));
	struct tg_spool_opts opts;

	*out = NULL;
	if (m == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	if (hooks != NULL)
		m->hooks = *hooks;
	memset(&opts, 0, sizeof(opts));
	/* The spool's own cap is its ceiling: the configured limit, which
	 * a reload may change, is enforced by the server. */
	opts.max_size = (uint64_t)TG_SPOOL_MSG_SIZE_MAX;
	if (tg_spool_open(spool_dir, &opts, &m->spool, err) != 0) {
		tg_err_prefix(err, "spool %s", spool_dir);
		tg_mta_free(m);
		return -1;
	}
	tg_log_info(NULL, "event=spool-open dir=%s messages=%zu", spool_dir,
	    tg_spool_count(m->spool));
	if (tg_delivery_env_open(base, conf, m->spool, &m->delivery,
	    err) != 0 || (m->hooks.route != NULL &&
	    tg_delivery_env_set_route(m->delivery, conf, m->hooks.route,
	    m->hooks.route_ctx, err) != 0) ||
	    tg_smtpd_new(base, m->spool, mta_on_queued, m, &m->smtpd,
	    err) != 0 || (m->hooks.route != NULL &&
	    mta_verify_open(m, base, conf, err) != 0)) {
		tg_mta_free(m);
		return -1;
	}
	tg_delivery_kick(tg_delivery_env_engine(m->delivery), NULL);
	*out = m;
	return 0;
}

void
tg_mta_accept(struct tg_mta *m, evutil_socket_t fd, const struct sockaddr *sa,
    int salen, struct tg_smtpd_conf *sc)
{
	struct tg_err err;

	if (tg_smtpd_accept(m->smtpd, fd, sa, salen, sc, &err) != 0)
		tg_log_err(NULL, "event=accept result=failed error=\"%s\"",
		    err.msg);
}

void
tg_mta_reload(struct tg_mta *m, const struct tg_conf *conf)
{
	if (m == NULL)
		return;
	tg_delivery_env_reload(m->delivery, conf);
	if (m->rcptv != NULL) {
		/* Routes may have changed: ask afresh. */
		m->verify = conf->mx_verify_recipients;
		tg_rcptv_flush(m->rcptv);
		tg_delivery_set_dsn_limit(tg_delivery_env_engine(m->delivery),
		    (unsigned)conf->mx_dsn_rate_limit);
	}
}

void
tg_mta_shutdown(struct tg_mta *m, void (*done)(void *arg), void *arg)
{
	tg_smtpd_shutdown(m->smtpd, done, arg);
}

void
tg_mta_free(struct tg_mta *m)
{
	if (m == NULL)
		return;
	tg_smtpd_free(m->smtpd);
	tg_rcptv_free(m->rcptv);
	tg_delivery_env_free(m->delivery);
	tg_spool_free(m->spool);
	free(m);
}
