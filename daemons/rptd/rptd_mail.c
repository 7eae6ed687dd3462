/*
 * daemons/rptd/rptd_mail.c — TLS reports that arrived by mail: the
 * files tlsgate-mxd left in the report inbox (rpt/inbox), checked and
 * stored by rpt/collect (DKIM with the keys in DNS, RFC 8460 §3).
 *
 * Checking a signature asks DNS for the key, synchronously (libopendkim
 * waits for its answer), so this runs on a thread of its own with its
 * own reports.db connection and verifier, never on the loop: a slow
 * DNS server must not hold up the HTTPS collector. It looks at the inbox
 * every RPTD_MAIL_TICK_S and when the loop wakes it, reads the hosted
 * domains afresh each time, and stops between two files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "dns/resolver_conf.h"
#include "rpt/inbox.h"
#include "rpt/mail.h"
#include "rptd.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"

/* Files handled in one pass, at most. */
#define RPTD_MAIL_PASS_MAX	1000

struct rptd_mail {
	pthread_t thread;
	int running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;			/* under lock */
	int wake;			/* under lock */
	char state_dir[TG_PATH_MAX];
	char dir[TG_PATH_MAX];
	struct tg_resolver_config rc;	/* a copy: the thread's own */
	int64_t db_max;
	/* The thread's own. */
	struct tg_reports *db;
	struct tg_rptmail *verifier;
	struct tg_collect_params p;
};

static int
mail_stopping(struct rptd_mail *mw)
{
	int stop;

	pthread_mutex_lock(&mw->lock);
	stop = mw->stop;
	pthread_mutex_unlock(&mw->lock);
	return stop;
}

static int
mail_read(const char *path, struct tg_buf *b, struct tg_err *err)
{
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "cannot open: %s",
		    strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (tg_buf_append(b, chunk, (size_t)n) != 0) {
			close(fd);
			return tg_err_set(err, TG_ERR_PERM, NULL, "larger than "
			    "%d bytes", TG_RPT_MAIL_MAX);
		}
	close(fd);
	return n < 0 ? tg_err_set(err, TG_ERR_TEMP, NULL, "read: %s",
	    strerror(errno)) : 0;
}

/* One file: stored (or refused for good) and removed, or kept. */
static int
mail_one(void *arg, const char *path, time_t mtime)
{
	struct rptd_mail *mw = arg;
	struct tg_collect_origin o = { TG_REPORTS_SRC_MAIL, NULL, NULL, 0 };
	struct tg_collect_result res;
	struct tg_buf b;
	struct tg_err err;
	const char *name = strrchr(path, '/');

	if (mail_stopping(mw))
		return 1;
	o.peer = name != NULL ? name + 1 : path;
	memset(&res, 0, sizeof(res));
	tg_buf_init(&b, TG_RPT_MAIL_MAX);
	if (mail_read(path, &b, &err) != 0) {
		res.status = err.cls == TG_ERR_PERM ? TG_COLLECT_TOO_LARGE :
		    TG_COLLECT_TEMP;
		snprintf(res.reason, sizeof(res.reason), "%s", err.msg);
	} else
		(void)tg_collect_mail(&mw->p, mw->verifier, b.data, b.len, &o,
		    &res);
	tg_buf_free(&b);
	if (tg_inbox_done(res.status, mtime, tg_clock_now())) {
		if (unlink(path) != 0)
			tg_log_warn(NULL, "event=report-mail file=%s "
			    "result=not-removed error=\"%s\"", o.peer,
			    strerror(errno));
		tg_log_info(NULL, "event=report-mail file=%s result=%s "
		    "action=removed%s%s%s", o.peer,
		    tg_collect_status_name(res.status),
		    res.status == TG_COLLECT_TEMP ? " reason=\"given up "
		    "after a day: " : "", res.status == TG_COLLECT_TEMP ?
		    res.reason : "", res.status == TG_COLLECT_TEMP ? "\"" : "");
	} else
		tg_log_info(NULL, "event=report-mail file=%s result=%s "
		    "action=kept reason=\"%s\"", o.peer,
		    tg_collect_status_name(res.status), res.reason);
	return 0;
}

/* One pass over the inbox, with the hosted domains of now. */
static void
mail_pass(struct rptd_mail *mw)
{
	struct tg_collect_domains *doms;
	struct tg_store *st;
	struct tg_err err;

	if (tg_store_open_readonly(mw->state_dir, &st, &err) != 0) {
		tg_log_warn(NULL, "event=report-mail result=skipped "
		    "error=\"%s\"", err.msg);
		return;
	}
	doms = tg_collect_domains_load(st, &err);
	tg_store_close(st);
	if (doms == NULL) {
		tg_log_warn(NULL, "event=report-mail result=skipped "
		    "error=\"%s\"", err.msg);
		return;
	}
	mw->p.domains = doms;
	if (tg_inbox_each(mw->dir, RPTD_MAIL_PASS_MAX, mail_one, mw,
	    &err) != 0)
		tg_log_warn(NULL, "event=report-mail result=failed "
		    "error=\"%s\"", err.msg);
	mw->p.domains = NULL;
	tg_collect_domains_free(doms);
}

static void *
mail_thread(void *arg)
{
	struct rptd_mail *mw = arg;
	struct timespec until;

	for (;;) {
		mail_pass(mw);
		pthread_mutex_lock(&mw->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += RPTD_MAIL_TICK_S;
		while (!mw->stop && !mw->wake &&
		    pthread_cond_timedwait(&mw->cond, &mw->lock, &until) == 0)
			;
		mw->wake = 0;
		if (mw->stop) {
			pthread_mutex_unlock(&mw->lock);
			return NULL;
		}
		pthread_mutex_unlock(&mw->lock);
	}
}

int
rptd_mail_start(struct rptd *r, const struct tg_conf *conf,
    struct tg_err *err)
{
	struct rptd_mail *mw = calloc(1, sizeof(*mw));
	struct tg_rptmail_opts mo;

	if (mw == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	pthread_mutex_init(&mw->lock, NULL);
	pthread_cond_init(&mw->cond, NULL);
	r->mail = mw;
	snprintf(mw->state_dir, sizeof(mw->state_dir), "%s", conf->state_dir);
	if (tg_inbox_dir(conf, mw->dir, sizeof(mw->dir)) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "state_dir is too long");
	tg_resolver_config_from_conf(conf, &mw->rc);
	memset(&mo, 0, sizeof(mo));
	mo.keys = TG_RPTMAIL_KEYS_CALLBACK;
	mo.key_lookup = tg_collect_dns_key;
	mo.key_arg = &mw->rc;
	if ((mw->verifier = tg_rptmail_new(&mo, err)) == NULL ||
	    tg_reports_open(conf->state_dir, 0, &mw->db, err) != 0)
		return -1;
	mw->p.db = mw->db;
	mw->p.body_max = TG_RPT_JSON_MAX;
	mw->p.db_max = conf->rpt_max_db_size;
	if (pthread_create(&mw->thread, NULL, mail_thread, mw) != 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL,
		    "cannot start the report mail thread");
	mw->running = 1;
	return 0;
}

void
rptd_mail_wake(struct rptd *r)
{
	struct rptd_mail *mw = r->mail;

	if (mw == NULL)
		return;
	pthread_mutex_lock(&mw->lock);
	mw->wake = 1;
	pthread_cond_signal(&mw->cond);
	pthread_mutex_unlock(&mw->lock);
}

void
rptd_mail_free(struct rptd *r)
{
	struct rptd_mail *mw = r->mail;

	if (mw == NULL)
		return;
	if (mw->running) {
		pthread_mutex_lock(&mw->lock);
		mw->stop = 1;
		pthread_cond_signal(&mw->cond);
		pthread_mutex_unlock(&mw->lock);
		pthread_join(mw->thread, NULL);
	}
	tg_rptmail_free(mw->verifier);
	tg_reports_close(mw->db);
	pthread_cond_destroy(&mw->cond);
	pthread_mutex_destroy(&mw->lock);
	free(mw);
	r->mail = NULL;
}
