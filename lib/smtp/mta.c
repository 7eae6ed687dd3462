/*
 * smtp/mta — see mta.h.
 */
#include "smtp/mta.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "util/dname.h"
#include "util/text.h"

struct tg_mta {
	struct tg_spool *spool;		/* owned */
	struct tg_delivery_env *delivery;	/* owned */
	struct tg_smtpd *smtpd;		/* owned */
	struct tg_mta_hooks hooks;
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
	    err) != 0 || tg_smtpd_new(base, m->spool, mta_on_queued, m,
	    &m->smtpd, err) != 0) {
		tg_mta_free(m);
		return -1;
	}
	if (m->hooks.route != NULL)
		tg_delivery_set_route(tg_delivery_env_engine(m->delivery),
		    m->hooks.route, m->hooks.route_ctx);
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
	if (m != NULL)
		tg_delivery_env_reload(m->delivery, conf);
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
	tg_delivery_env_free(m->delivery);
	tg_spool_free(m->spool);
	free(m);
}
