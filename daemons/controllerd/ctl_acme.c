/*
 * controllerd: ACME certificates (acme/renew) on a worker thread.
 *
 * A look (at start, hourly, on every store change) lists the store's
 * certificates and picks those that want a CA-issued certificate
 * (tg_acme_renew_reason: self-signed, or within acme.renew_before of
 * expiry) and are not waiting out a failure. They are renewed one after
 * the other on a thread of its own, since an order takes seconds to
 * minutes of blocking requests; the loop goes on meanwhile and notices
 * the end with a short timer; expired challenges are purged from the
 * store between jobs. A failure waits 5 minutes, doubling up to
 * a day, per name (kept in memory: a restart tries again at once) — a
 * CA counts failed validations, and a person has to look at a refusal.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/renew.h"
#include "core/log.h"
#include "ctl.h"
#include "store/store.h"
#include "util/clock.h"

#define ACME_JOB_MAX		16	/* certificates in one job */
#define ACME_BACKOFF_MIN_S	300
#define ACME_BACKOFF_MAX_S	86400
#define ACME_NAMES_MAX		256	/* names with a failure kept */

struct acme_item {
	int64_t id;
	char name[TG_DNAME_MAX + 1];
	const char *reason;		/* static */
	int rc;				/* tg_acme_renew's */
	struct tg_err err;
	struct tg_acme_renewed done;
};

struct acme_wait {
	char name[TG_DNAME_MAX + 1];
	unsigned failures;
	time_t next;			/* no try before */
};

struct ctl_acme {
	pthread_t thread;
	atomic_int finished;		/* the thread is done with the job */
	atomic_int stopping;		/* the daemon stops: give up */
	int running;			/* a thread to join */
	struct tg_conf conf;		/* the job's copy */
	struct acme_item items[ACME_JOB_MAX];
	size_t nitems;
	struct acme_wait waits[ACME_NAMES_MAX];
	size_t nwaits;
	struct tg_hookrun *hook;	/* borrowed: dane.update_hook's */
};

struct ctl_acme *
ctl_acme_new(void)
{
	return calloc(1, sizeof(struct ctl_acme));
}

void
ctl_acme_set_hook(struct ctl_acme *a, struct tg_hookrun *hook)
{
	a->hook = hook;
}

void
ctl_acme_free(struct ctl_acme *a)
{
	if (a == NULL)
		return;
	/* An order in flight gives up within a second or so. */
	atomic_store(&a->stopping, 1);
	if (a->running)
		pthread_join(a->thread, NULL);
	free(a);
}

static struct acme_wait *
acme_wait_find(struct ctl_acme *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->nwaits; i++)
		if (strcmp(a->waits[i].name, name) == 0)
			return &a->waits[i];
	return NULL;
}

/* A failure for name: the next try waits longer. */
static void
acme_wait_more(struct ctl_acme *a, const char *name, time_t now)
{
	struct acme_wait *w = acme_wait_find(a, name);
	long delay = ACME_BACKOFF_MIN_S;
	unsigned i;

	if (w == NULL && a->nwaits < ACME_NAMES_MAX) {
		w = &a->waits[a->nwaits++];
		memset(w, 0, sizeof(*w));
		snprintf(w->name, sizeof(w->name), "%s", name);
	}
	if (w == NULL)
		return;
	w->failures++;
	for (i = 1; i < w->failures && delay < ACME_BACKOFF_MAX_S; i++)
		delay *= 2;
	w->next = now + (delay < ACME_BACKOFF_MAX_S ? delay :
	    ACME_BACKOFF_MAX_S);
}

static void
acme_wait_clear(struct ctl_acme *a, const char *name)
{
	struct acme_wait *w = acme_wait_find(a, name);

	if (w != NULL)
		*w = a->waits[--a->nwaits];
}

static void *
acme_thread(void *arg)
{
	struct ctl_acme *a = arg;
	size_t i;

	for (i = 0; i < a->nitems; i++)
		a->items[i].rc = tg_acme_renew(&a->conf, a->items[i].id,
		    &a->stopping, a->hook, &a->items[i].done,
		    &a->items[i].err);
	atomic_store(&a->finished, 1);
	return NULL;
}

/* One line per certificate of the finished job. */
static void
acme_report(struct ctl_acme *a)
{
	const struct acme_item *it;
	time_t now = tg_clock_now();
	size_t i;

	for (i = 0; i < a->nitems; i++) {
		it = &a->items[i];
		if (it->rc == 0) {
			acme_wait_clear(a, it->name);
			tg_log_info(NULL, "event=acme name=%s reason=%s "
			    "result=issued not_after=%lld spki=%s "
			    "issuer=\"%s\"", it->name, it->reason,
			    (long long)it->done.not_after,
			    it->done.spki_sha256, it->done.issuer);
			continue;
		}
		acme_wait_more(a, it->name, now);
		tg_log(it->err.cls == TG_ERR_TEMP ? TG_LOG_WARN : TG_LOG_ERR,
		    NULL, "event=acme name=%s reason=%s result=failed "
		    "class=%s retry_in=%lld error=\"%s\"", it->name, it->reason,
		    tg_err_class_name(it->err.cls),
		    (long long)(acme_wait_find(a, it->name) != NULL ?
		    acme_wait_find(a, it->name)->next - now : 0), it->err.msg);
	}
}

int
ctl_acme_poll(struct ctl_acme *a)
{
	if (!a->running)
		return 0;
	if (!atomic_load(&a->finished))
		return 1;
	pthread_join(a->thread, NULL);
	a->running = 0;
	acme_report(a);
	return 0;
}

struct acme_pick {
	struct ctl_acme *a;
	time_t now;
};

static int
acme_pick_one(const struct tg_store_cert *c, void *arg)
{
	struct acme_pick *p = arg;
	struct ctl_acme *a = p->a;
	const struct acme_wait *w = acme_wait_find(a, c->name);
	struct acme_item *it;
	struct tg_err err;
	const char *why;
	int self;

	if (a->nitems == ACME_JOB_MAX || (w != NULL && w->next > p->now) ||
	    c->role == TG_STORE_CERT_ADMIN || c->state == TG_STORE_CERT_RETIRED)
		return 0;
	if ((self = tg_acme_cert_self_issued(c->cert_path, &err)) < 0) {
		tg_log_warn(NULL, "event=acme name=%s result=unreadable "
		    "error=\"%s\"", c->name, err.msg);
		return 0;
	}
	why = tg_acme_renew_reason(c, self, a->conf.acme_renew_before,
	    p->now);
	if (why == NULL)
		return 0;
	it = &a->items[a->nitems++];
	memset(it, 0, sizeof(*it));
	it->id = c->id;
	it->reason = why;
	snprintf(it->name, sizeof(it->name), "%s", c->name);
	return 0;
}

/* Challenges left behind by an order cut short (a crash, a kill) go
 * once they have expired: stsd would serve them until then anyway. */
static void
acme_purge(const struct tg_conf *conf, time_t now)
{
	struct tg_store *st = NULL;
	struct tg_err err;

	if (tg_store_open(conf->state_dir, &st, &err) != 0 ||
	    tg_store_acme_challenge_purge(st, now, &err) != 0)
		tg_log_warn(NULL, "event=acme-challenge result=not-purged "
		    "error=\"%s\"", err.msg);
	tg_store_close(st);
}

int
ctl_acme_look(struct ctl_acme *a, const struct tg_conf *conf)
{
	struct acme_pick pick = { a, tg_clock_now() };
	struct tg_store *st = NULL;
	struct tg_err err;
	size_t i;

	if (a->running || conf->acme_directory[0] == '\0')
		return a->running;
	a->conf = *conf;
	a->nitems = 0;
	acme_purge(conf, pick.now);
	if (tg_store_open_readonly(conf->state_dir, &st, &err) != 0 ||
	    tg_store_cert_list(st, NULL, -1, acme_pick_one, &pick,
	    &err) != 0) {
		tg_log_warn(NULL, "event=acme result=failed error=\"%s\"",
		    err.msg);
		tg_store_close(st);
		return 0;
	}
	tg_store_close(st);
	if (a->nitems == 0)
		return 0;
	for (i = 0; i < a->nitems; i++)
		tg_log_info(NULL, "event=acme name=%s reason=%s "
		    "result=ordering", a->items[i].name, a->items[i].reason);
	atomic_store(&a->finished, 0);
	if (pthread_create(&a->thread, NULL, acme_thread, a) != 0) {
		tg_log_err(NULL, "event=acme result=failed error=\"cannot "
		    "start a thread\"");
		return 0;
	}
	a->running = 1;
	return 1;
}
