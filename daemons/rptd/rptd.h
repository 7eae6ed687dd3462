/*
 * daemons/rptd/rptd.h — the parts of tlsgate-rptd, the TLS-RPT daemon
 * (RFC 8460).
 *
 * main.c        the daemon: runtime, HTTPS server, reloads, stop
 * rptd_in.c     collecting: the POST route at rpt.path (RFC 8460 §5.3.2)
 *               feeding rpt/collect, with the early refusals (media
 *               type, Content-Encoding, size, rate)
 * rptd_view.c   a view, rebuilt on every store change: the hosted
 *               domains reports are taken for, and the certificates the
 *               collector presents
 * rptd_out.c    reporting: the timer that runs rpt/send (our daily
 *               reports) and prunes old rows
 * rptd_mail.c   reports by mail: the report inbox mxd fills, checked
 *               (DKIM) and stored on a thread of its own
 */
#ifndef TG_RPTD_H
#define TG_RPTD_H

#include <pthread.h>
#include <stddef.h>

#include "core/conf.h"
#include "net/daemon.h"
#include "net/fetch.h"
#include "net/http.h"
#include "rpt/collect.h"
#include "rpt/send.h"
#include "store/reports.h"
#include "util/err.h"

/* How often the reporting job looks for work (and at start). */
#define RPTD_TICK_S	300
/* How often the report inbox is looked at. */
#define RPTD_MAIL_TICK_S	5

struct rptd_mail;

struct rptd_view {
	struct tg_collect_domains *domains;	/* owned */
	struct tg_http_certs *certs;		/* owned reference; may be
						   NULL: keep the last set */
	size_t ncerts;
};

/* Settings the server's thread reads (published, immutable). */
struct rptd_pub {
	size_t body_max;
};

struct rptd {
	struct tg_daemon *daemon;	/* borrowed */
	struct tg_http *http;		/* owned */
	struct tg_reports *db;		/* owned; loop thread only */
	int started;
	/* Rate limiting happens on the server's threads. */
	pthread_mutex_t lock;
	struct tg_collect_limiter *limiter;	/* owned, under lock */
	unsigned rate;				/* under lock */
	/* Reporting, on the loop. */
	struct event *tick;		/* owned */
	struct tg_resolver *res;	/* owned */
	struct tg_fetch *fetch;		/* owned */
	struct tg_send *send;		/* owned; NULL: reporting is off */
	struct tg_snapshot *send_snap;	/* reference: send's conf strings */
	struct tg_send_settings set;
	int dkim_warned;
	int settings_changed;
	char why_off[TG_ERR_MSG_MAX];	/* why reporting is off, logged once */
	char pruned_day[11];
	struct rptd_mail *mail;		/* owned: the report inbox's thread */
};

extern const struct tg_http_route rptd_routes[];
extern const size_t rptd_nroutes;

/* The route's path: rpt.path, fixed at start (routes are borrowed). */
extern char rptd_path[TG_PATH_MAX];

int rptd_view_build(const struct tg_conf *conf, struct rptd_view **out,
    struct tg_err *err);
void rptd_view_free(struct rptd_view *v);

/* Apply the rate limit of conf (on a reload too). */
/* net/http's group commit of the collector's reports (rptd_in.c). */
int rptd_batch_begin(void *arg);
int rptd_batch_end(void *arg);

int rptd_limits_apply(struct rptd *r, const struct tg_conf *conf,
    struct tg_err *err);

/* Reporting: set up on the first snapshot, tick, rebuild, free. */
int rptd_out_start(struct rptd *r, struct tg_err *err);
void rptd_out_changed(struct rptd *r);
void rptd_out_free(struct rptd *r);

/* Reports by mail: start the inbox thread (conf borrowed for the call),
 * ask it to look now, stop and free it (NULL-safe, joins the thread). */
int rptd_mail_start(struct rptd *r, const struct tg_conf *conf,
    struct tg_err *err);
void rptd_mail_wake(struct rptd *r);
void rptd_mail_free(struct rptd *r);

#endif
