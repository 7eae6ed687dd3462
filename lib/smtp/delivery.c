/*
 * smtp/delivery — see delivery.h. This file: the engine's life, queue
 * runs, open messages, jobs per destination, recipient outcomes
 * (delivered, deferred with backoff, failed, expired) and DSNs.
 */
#include "smtp/delivery_int.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "util/clock.h"
#include "util/dname.h"
#include "util/text.h"

#define DEF_MAX_SESSIONS	100
/* Postfix default_destination_concurrency_limit */
#define DEF_DEST_SESSIONS	20
#define DEF_MIN_BACKOFF		300	/* Postfix minimal_backoff_time */
#define DEF_MAX_BACKOFF		4000	/* Postfix maximal_backoff_time */
/* Postfix maximal_queue_lifetime */
#define DEF_MAX_LIFETIME	(5 * 86400L)
#define RETRY_POLL_S		30 /* queue run when nothing else wakes us */
#define DSN_RETRY_S		60	/* a DSN that could not be queued */

static const struct tg_delivery_smtp_ops smtpc_ops = {
	tg_smtpc_connect, tg_smtpc_send, tg_smtpc_usable, tg_smtpc_close,
	tg_smtpc_free
};

static void msg_finish(struct dlv_msg *msg);
static void arm_retry(struct tg_delivery *d);

/* ---- MTA-STS through policy/stsclient ------------------------------------ */

static void *
sts_lookup(void *ctx, const char *domain, tg_stsclient_cb *cb, void *arg,
    struct tg_err *err)
{
	return tg_stsclient_lookup(ctx, domain, 0, cb, arg, err);
}

static void
sts_cancel(void *ctx, void *handle)
{
	(void)ctx;
	tg_stsclient_cancel(handle);
}

void
tg_delivery_sts_client(struct tg_delivery_sts *s, struct tg_stsclient *c)
{
	s->lookup = sts_lookup;
	s->cancel = sts_cancel;
	s->ctx = c;
}

/* ---- destinations ------------------------------------------------------- */

static void
dest_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dlv_dest *dest = arg;
	struct tg_delivery *d = dest->d;
	struct timeval tv = { TG_DELIVERY_IDLE_S, 0 };

	(void)fd;
	(void)what;
	if (dlv_dest_expire_idle(dest)) {
		evtimer_add(dest->timer, &tv);
		return;
	}
	if (dest->njobs > 0 || dest->busy > 0 || dest->res != NULL)
		return;		/* busy again: its sessions re-arm */
	TAILQ_REMOVE(&d->dests, dest, link);
	d->ndests--;
	if (dest->waiting)
		TAILQ_REMOVE(&d->starved, dest, wlink);
	dlv_plan_unref(dest->plan);
	event_free(dest->timer);
	free(dest);
}

/* Our reports get destinations of their own: they are decided by
 * another rule, and must not share a plan or a connection with the rest
 * of the domain's mail. */
static struct dlv_dest *
dest_get(struct tg_delivery *d, const char *domain, int report)
{
	struct dlv_dest *dest;

	TAILQ_FOREACH(dest, &d->dests, link)
		if (strcmp(dest->domain, domain) == 0 && dest->report == report)
			return dest;
	if (d->ndests >= TG_DELIVERY_DOMAINS_MAX ||
	    (dest = calloc(1, sizeof(*dest))) == NULL)
		return NULL;
	dest->timer = evtimer_new(d->p.base, dest_on_timer, dest);
	if (dest->timer == NULL) {
		free(dest);
		return NULL;
	}
	dest->d = d;
	dest->report = report;
	tg_text_fmt(dest->domain, sizeof(dest->domain), "%s", domain);
	TAILQ_INIT(&dest->jobs);
	TAILQ_INIT(&dest->active);
	TAILQ_INIT(&dest->idle);
	TAILQ_INSERT_TAIL(&d->dests, dest, link);
	d->ndests++;
	return dest;
}

/* An emptied destination is dropped after the idle period. */
static void
dest_maybe_idle(struct dlv_dest *dest)
{
	struct timeval tv = { TG_DELIVERY_IDLE_S, 0 };

	if (dest->njobs == 0 && dest->busy == 0 &&
	    !evtimer_pending(dest->timer, NULL))
		evtimer_add(dest->timer, &tv);
}

void
dlv_slots_freed(struct tg_delivery *d)
{
	struct dlv_dest *dest;

	while (d->busy < d->p.max_sessions &&
	    (dest = TAILQ_FIRST(&d->starved)) != NULL) {
		TAILQ_REMOVE(&d->starved, dest, wlink);
		dest->waiting = 0;
		dlv_dest_pump(dest);
	}
}

/* ---- jobs and outcomes -------------------------------------------------- */

void
dlv_job_free(struct dlv_job *job)
{
	free(job->idx);
	free(job->rcpt);
	free(job);
}

void
dlv_job_done(struct dlv_job *job)
{
	struct dlv_msg *msg = job->msg;
	struct dlv_dest *dest = job->dest;

	dlv_job_free(job);
	if (--msg->refs == 0)
		msg_finish(msg);
	dest_maybe_idle(dest);
}

static long
backoff(const struct tg_delivery *d, uint32_t attempts)
{
	long b = d->p.min_backoff;

	while (attempts-- > 0 && b < d->p.max_backoff)
		b *= 2;
	return b < d->p.max_backoff ? b : d->p.max_backoff;
}

/* Recipient i failed for good: kept for the DSN, written at the end. */
static void
msg_fail(struct dlv_msg *msg, size_t i, const char *status,
    const char *reason, const char *mx)
{
	size_t n = tg_spool_msg_env(msg->m)->nrcpt;
	struct dlv_fail *f;

	if (msg->fail == NULL &&
	    (msg->fail = calloc(n, sizeof(*msg->fail))) == NULL) {
		/* Without memory for the DSN: try again later. */
		(void)tg_spool_mark(msg->m, i, TG_SPOOL_DEFERRED,
		    tg_clock_now() + DSN_RETRY_S, reason, NULL);
		return;
	}
	f = &msg->fail[i];
	f->set = 1;
	tg_text_fmt(f->status, sizeof(f->status), "%s", status);
	tg_text_fmt(f->mx, sizeof(f->mx), "%s", mx != NULL ? mx : "");
	tg_text_fmt(f->diag, sizeof(f->diag), "%s", reason);
	msg->d->st.failed++;
}

void
dlv_job_outcome(struct dlv_job *job, size_t k, enum tg_err_class cls,
    const char *status, const char *reason, const char *mx)
{
	struct dlv_msg *msg = job->msg;
	struct tg_delivery *d = msg->d;
	const struct tg_spool_env *env = tg_spool_msg_env(msg->m);
	size_t i = job->idx[k];
	const struct tg_spool_rcpt_state *rs = tg_spool_msg_rcpt(msg->m, i);
	char text[TG_SPOOL_REASON_MAX];
	time_t now = tg_clock_now();
	struct tg_err err;

	if (cls == TG_ERR_NONE) {
		if (tg_spool_mark(msg->m, i, TG_SPOOL_DELIVERED, 0, reason,
		    &err) != 0)
			tg_log_err(NULL, "event=journal queue_id=%s "
			    "result=failed error=\"%s\"", msg->qid, err.msg);
		d->st.delivered++;
		return;
	}
	tg_text_fmt(text, sizeof(text), "%s %s", status, reason);
	if (cls == TG_ERR_PERM) {
		msg_fail(msg, i, status, text, mx);
		return;
	}
	/* RFC 5321 §4.5.4.1: give up after the queue lifetime. */
	if (now - env->arrival >= d->p.max_lifetime) {
		tg_text_fmt(text, sizeof(text), "%s message expired after %ld "
		    "s in the queue; last reason: %s", status,
		    (long)(now - env->arrival), reason);
		msg_fail(msg, i, status, text, mx);
		return;
	}
	if (tg_spool_mark(msg->m, i, TG_SPOOL_DEFERRED, now +
	    backoff(d, rs->attempts), text, &err) != 0)
		tg_log_err(NULL, "event=journal queue_id=%s result=failed "
		    "error=\"%s\"", msg->qid, err.msg);
	d->st.deferred++;
}

void
dlv_job_outcome_all(struct dlv_job *job, enum tg_err_class cls,
    const char *status, const char *reason, const char *mx)
{
	size_t k;

	for (k = 0; k < job->n; k++)
		dlv_job_outcome(job, k, cls, status, reason, mx);
	dlv_job_done(job);
}

/* ---- DSNs --------------------------------------------------------------- */

static ssize_t
dsn_read(void *arg, void *buf, size_t cap, struct tg_err *err)
{
	struct dlv_msg *msg = arg;

	return tg_spool_msg_read(msg->m, buf, cap, err);
}

/* RFC 3461 §4.1: a failure DSN unless NOTIFY was given without FAILURE. */
static int
notify_failure(unsigned notify)
{
	return notify == 0 || (notify & TG_SPOOL_NOTIFY_FAILURE) != 0;
}

/* Build the DSN for the failed recipients that want one into b. 0 when
 * built, 1 when nobody wants one, -1 on error. */
static int
dsn_build(struct dlv_msg *msg, struct tg_buf *b, struct tg_err *err)
{
	const struct tg_spool_env *env = tg_spool_msg_env(msg->m);
	struct tg_dsn_rcpt *r;
	struct tg_dsn_params p;
	size_t i, n = 0;
	int rc;

	if ((r = calloc(env->nrcpt, sizeof(*r))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.0", "out of memory");
	for (i = 0; i < env->nrcpt; i++) {
		if (!msg->fail[i].set || !notify_failure(env->rcpt[i].notify))
			continue;
		r[n].addr = env->rcpt[i].addr;
		r[n].orcpt = env->rcpt[i].orcpt;
		r[n].action = "failed";
		r[n].status = msg->fail[i].status;
		r[n].remote_mta = msg->fail[i].mx;
		r[n].diagnostic = msg->fail[i].diag;
		r[n].last_attempt = tg_clock_now();
		n++;
	}
	memset(&p, 0, sizeof(p));
	p.reporting_mta = msg->d->helo;
	p.sender = env->sender;
	p.queue_id = msg->qid;
	p.envid = env->envid;
	p.arrival = env->arrival;
	p.now = tg_clock_now();
	/* RFC 8689 §5: what had to travel under TLS is not returned in a
	 * report that may not; its header says which message it was. */
	p.ret_full = env->ret == TG_SPOOL_RET_FULL &&
	    !(env->flags & TG_SPOOL_F_REQUIRETLS);
	p.utf8 = (env->flags & TG_SPOOL_F_SMTPUTF8) != 0;
	p.rcpt = r;
	p.nrcpt = n;
	p.size = tg_spool_msg_size(msg->m);
	p.read = dsn_read;
	p.read_arg = msg;
	tg_spool_msg_rewind(msg->m);
	rc = n == 0 ? 1 : tg_dsn_build(&p, b, err);
	free(r);
	return rc;
}

/* Queue the DSN (null reverse-path: it never causes one itself). */
static int
dsn_queue(struct dlv_msg *msg, const struct tg_buf *b, char *qid,
    struct tg_err *err)
{
	const struct tg_spool_env *env = tg_spool_msg_env(msg->m);
	struct tg_spool_rcpt rcpt = { env->sender, NULL,
	    TG_SPOOL_NOTIFY_NEVER };
	struct tg_spool_env denv;
	struct tg_spool_wmsg *w;

	memset(&denv, 0, sizeof(denv));
	denv.sender = "";
	denv.helo = msg->d->helo;
	denv.client_addr = "127.0.0.1";
	denv.proto = "LOCAL";
	denv.flags = env->flags & (TG_SPOOL_F_SMTPUTF8 | TG_SPOOL_F_8BITMIME);
	denv.rcpt = &rcpt;
	denv.nrcpt = 1;
	if (tg_spool_begin(msg->d->p.spool, &denv, &w, err) != 0)
		return -1;
	if (tg_spool_write(w, b->data, b->len, err) != 0) {
		tg_spool_abort(&w);
		return -1;
	}
	return tg_spool_commit(&w, qid, err);
}

/*
 * The failures of this round: one DSN for them, queued before they are
 * written as final, so that a crash in between repeats the failure
 * (and its DSN) instead of losing the report. A message from <> gets
 * none (RFC 5321 §4.5.5, §6.1).
 */
static void
msg_failures(struct dlv_msg *msg)
{
	const struct tg_spool_env *env = tg_spool_msg_env(msg->m);
	char dqid[TG_SPOOL_QID_LEN + 1] = "";
	enum tg_spool_rstate st = TG_SPOOL_FAILED;
	struct tg_buf b;
	struct tg_err err;
	size_t i;
	int rc = 1;

	if (env->sender[0] != '\0') {
		tg_buf_init(&b, TG_DSN_MAX);
		rc = dsn_build(msg, &b, &err);
		/* RELIABILITY I-10: backscatter is rate-limited. */
		if (rc == 0 && msg->d->dsn_limit != NULL &&
		    !tg_dsnlimit_take(msg->d->dsn_limit, env->sender,
		    tg_clock_now()))
			rc = 2;
		if (rc == 0)
			rc = dsn_queue(msg, &b, dqid, &err);
		tg_buf_free(&b);
	}
	if (rc < 0) {
		tg_log_err(NULL, "event=dsn queue_id=%s result=deferred "
		    "error=\"%s\"", msg->qid, err.msg);
		st = TG_SPOOL_DEFERRED;
	} else if (rc == 0) {
		msg->d->st.dsns++;
		tg_log_info(NULL, "event=dsn queue_id=%s dsn_id=%s to=<%s> "
		    "result=queued", msg->qid, dqid, env->sender);
	} else if (rc == 2) {
		msg->d->st.dsns_limited++;
		tg_log_warn(NULL, "event=dsn queue_id=%s to=<%s> "
		    "result=limited reason=\"more DSNs to the sender's domain "
		    "than its limit in an hour\"", msg->qid, env->sender);
	} else
		tg_log_info(NULL, "event=dsn queue_id=%s result=none "
		    "reason=\"%s\"", msg->qid, env->sender[0] == '\0' ?
		    "null sender" : "NOTIFY without FAILURE");
	for (i = 0; i < env->nrcpt; i++)
		if (msg->fail[i].set && tg_spool_mark(msg->m, i, st,
		    tg_clock_now() + DSN_RETRY_S, msg->fail[i].diag, &err) != 0)
			tg_log_err(NULL, "event=journal queue_id=%s "
			    "result=failed error=\"%s\"", msg->qid, err.msg);
	if (dqid[0] != '\0')
		tg_delivery_kick(msg->d, dqid);
}

/* ---- messages ----------------------------------------------------------- */

static void
msg_free(struct dlv_msg *msg)
{
	struct tg_delivery *d = msg->d;

	TAILQ_REMOVE(&d->msgs, msg, link);
	d->nmsgs--;
	d->st.open_messages = d->nmsgs;
	free(msg->fail);
	free(msg);
}

/* Every job of the message is decided: failures, close, next run. */
static void
msg_finish(struct dlv_msg *msg)
{
	struct tg_delivery *d = msg->d;
	int was_full = d->nmsgs >= TG_DELIVERY_OPEN_MAX;
	struct tg_err err;

	if (msg->fail != NULL)
		msg_failures(msg);
	if (tg_spool_msg_close(&msg->m, &err) < 0)
		tg_log_err(NULL, "event=spool-remove queue_id=%s result=failed "
		    "error=\"%s\"", msg->qid, err.msg);
	msg_free(msg);
	if (was_full)
		tg_delivery_kick(d, NULL);
	else
		arm_retry(d);
}

/* The domain of a recipient, normalised; -1 when it has none we can
 * route to (an address literal or a bad name). */
static int
rcpt_domain(const char *addr, char *out, size_t outlen)
{
	const char *at = strrchr(addr, '@');

	if (at == NULL || at[1] == '[')
		return -1;
	return tg_dname_normalize(at + 1, out, outlen, NULL);
}

static struct dlv_job *
job_new(struct dlv_msg *msg, struct dlv_dest *dest, size_t max)
{
	struct dlv_job *job = calloc(1, sizeof(*job));

	if (job == NULL ||
	    (job->idx = calloc(max, sizeof(*job->idx))) == NULL ||
	    (job->rcpt = calloc(max, sizeof(*job->rcpt))) == NULL) {
		if (job != NULL)
			free(job->idx);
		free(job);
		return NULL;
	}
	job->msg = msg;
	job->dest = dest;
	job->queued_ms = tg_clock_mono_ms();
	msg->refs++;
	return job;
}

/* The destination of each recipient not final yet (NULL: none, and a
 * recipient without a routable domain fails at once). */
static void
msg_dests(struct dlv_msg *msg, struct dlv_dest **dests)
{
	const struct tg_spool_env *env = tg_spool_msg_env(msg->m);
	char domain[TG_DNS_NAME_SIZE];
	enum tg_spool_rstate st;
	size_t i;

	for (i = 0; i < env->nrcpt; i++) {
		dests[i] = NULL;
		st = tg_spool_msg_rcpt(msg->m, i)->state;
		if (st == TG_SPOOL_DELIVERED || st == TG_SPOOL_FAILED)
			continue;
		if (rcpt_domain(env->rcpt[i].addr, domain, sizeof(domain)) != 0)
			msg_fail(msg, i, "5.1.2", "5.1.2 the recipient domain "
			    "cannot be routed", NULL);
		else if ((dests[i] = dest_get(msg->d, domain, msg->report)) ==
		    NULL)
			(void)tg_spool_mark(msg->m, i, TG_SPOOL_DEFERRED,
			    tg_clock_now() + msg->d->p.min_backoff, "4.3.2 too "
			    "many destinations in progress", NULL);
	}
}

/* One job per destination, recipients in envelope order; the
 * destinations that got one are left in touched[0..*ntouched). */
static void
msg_jobs(struct dlv_msg *msg, struct dlv_dest **dests,
    struct dlv_dest **touched, size_t *ntouched)
{
	const struct tg_spool_env *env = tg_spool_msg_env(msg->m);
	struct dlv_job *job;
	size_t i, k, n;

	*ntouched = 0;
	for (i = 0; i < env->nrcpt; i++) {
		struct dlv_dest *dest = dests[i];

		if (dest == NULL)
			continue;
		for (n = 0, k = i; k < env->nrcpt; k++)
			n += dests[k] == dest;
		if ((job = job_new(msg, dest, n)) == NULL) {
			tg_log_err(NULL, "event=delivery queue_id=%s "
			    "result=deferred reason=\"out of memory\"",
			    msg->qid);
			break;
		}
		for (k = i; k < env->nrcpt; k++) {
			if (dests[k] != dest)
				continue;
			job->idx[job->n] = k;
			job->rcpt[job->n++] = env->rcpt[k];
			dests[k] = NULL;
		}
		TAILQ_INSERT_TAIL(&dest->jobs, job, link);
		dest->njobs++;
		evtimer_del(dest->timer);
		touched[(*ntouched)++] = dest;
	}
}

/*
 * Is msg a report of our own (smtp/submark)? Only a message whose
 * content has the marker line where our sender puts it is read whole and
 * checked; any failure means "no": it is then handled as other mail.
 */
static void
msg_report_check(struct dlv_msg *msg)
{
	struct tg_delivery *d = msg->d;
	uint64_t size = tg_spool_msg_size(msg->m);
	struct tg_spool_cursor cur;
	struct tg_err err;
	char *buf;
	size_t len = 0, off;
	ssize_t k;
	long at;

	if (d->p.report_key == NULL || size > TG_SUBMARK_MSG_MAX ||
	    size < TG_SUBMARK_LINE_LEN || (buf = malloc(size)) == NULL)
		return;
	tg_spool_cursor_init(msg->m, &cur);
	/* The head first: most mail stops here. */
	while (len < size && len < TG_SUBMARK_SEARCH_MAX &&
	    (k = tg_spool_msg_pread(msg->m, &cur, buf + len,
	    TG_SUBMARK_SEARCH_MAX - len, &err)) > 0)
		len += (size_t)k;
	if ((at = tg_submark_locate(buf, len)) >= 0) {
		while (len < size && (k = tg_spool_msg_pread(msg->m, &cur,
		    buf + len, size - len, &err)) > 0)
			len += (size_t)k;
		if (len == size && tg_submark_check(d->report_key, buf +
		    at, len - (size_t)at, &off)) {
			msg->report = 1;
			msg->mark_at = (uint64_t)at;
			msg->mark_len = off;
		} else
			tg_log_warn(NULL, "event=delivery queue_id=%s "
			    "report_marker=invalid action=\"handled as any "
			    "other mail\"", msg->qid);
	}
	free(buf);
}

/* Open qid and hand its recipients to their destinations. 1 to stop the
 * run (too many messages open). */
static int
msg_take(struct tg_delivery *d, const char *qid)
{
	struct dlv_dest **dests, **touched;
	struct tg_spool_msg *m;
	struct dlv_msg *msg;
	struct tg_err err;
	size_t n, i;

	if (d->nmsgs >= TG_DELIVERY_OPEN_MAX)
		return 1;
	if (tg_spool_msg_open(d->p.spool, qid, &m, &err) != 0)
		return 0;	/* gone, open, or quarantined (reported) */
	if (tg_spool_msg_held(m) || tg_spool_msg_done(m)) {
		(void)tg_spool_msg_close(&m, NULL);	/* done: removed */
		return 0;
	}
	n = tg_spool_msg_env(m)->nrcpt;
	msg = calloc(1, sizeof(*msg));
	dests = calloc(2 * n, sizeof(*dests));
	if (msg == NULL || dests == NULL) {
		free(msg);
		free(dests);
		(void)tg_spool_msg_close(&m, NULL);
		return 1;
	}
	touched = dests + n;
	msg->d = d;
	msg->m = m;
	tg_text_fmt(msg->qid, sizeof(msg->qid), "%s", qid);
	TAILQ_INSERT_TAIL(&d->msgs, msg, link);
	d->st.open_messages = ++d->nmsgs;
	msg->refs = 1;		/* ours, until every job is handed over */
	msg_report_check(msg);
	msg_dests(msg, dests);
	msg_jobs(msg, dests, touched, &n);
	/* Pump only now: a destination may decide (and finish jobs) at
	 * once. */
	for (i = 0; i < n; i++)
		dlv_dest_pump(touched[i]);
	free(dests);
	if (--msg->refs == 0)
		msg_finish(msg);
	return 0;
}

/* ---- queue runs --------------------------------------------------------- */

struct run_ids {
	char (*id)[TG_SPOOL_QID_LEN + 1];
	size_t n, max;
};

/* tg_spool_due lets its callback touch only that message: collect the
 * ids, take them afterwards. */
static int
run_collect(void *arg, const char *qid)
{
	struct run_ids *r = arg;

	memcpy(r->id[r->n++], qid, sizeof(r->id[0]));
	return r->n == r->max;
}

static void
arm_retry(struct tg_delivery *d)
{
	time_t next = tg_spool_next_due(d->p.spool), now = tg_clock_now();
	struct timeval tv = { RETRY_POLL_S, 0 };

	if (d->stopping)
		return;
	if (next > now && next - now < RETRY_POLL_S)
		tv.tv_sec = next - now;
	else if (next != 0 && next <= now && d->nmsgs < TG_DELIVERY_OPEN_MAX)
		tv.tv_sec = 1;		/* due, but not taken: soon again */
	evtimer_add(d->retry_ev, &tv);
}

static void
on_run(evutil_socket_t fd, short what, void *arg)
{
	struct tg_delivery *d = arg;
	struct run_ids r = { NULL, 0, 0 };
	size_t i;

	(void)fd;
	(void)what;
	d->run_pending = 0;
	r.max = TG_DELIVERY_OPEN_MAX - d->nmsgs;
	if (r.max > 0 && (r.id = calloc(r.max, sizeof(*r.id))) != NULL) {
		tg_spool_due(d->p.spool, tg_clock_now(), run_collect, &r);
		for (i = 0; i < r.n && !msg_take(d, r.id[i]); i++)
			;
		free(r.id);
	}
	arm_retry(d);
}

void
tg_delivery_kick(struct tg_delivery *d, const char *qid)
{
	(void)qid;	/* a run takes every due message, this one too */
	if (d == NULL || d->stopping || d->run_pending)
		return;
	d->run_pending = 1;
	event_active(d->run_ev, EV_TIMEOUT, 0);
}

void
tg_delivery_flush(struct tg_delivery *d)
{
	size_t n = tg_spool_flush(d->p.spool);

	tg_log_info(NULL, "event=queue-flush due=%zu", n);
	tg_delivery_kick(d, NULL);
}

void
tg_delivery_refresh(struct tg_delivery *d)
{
	tg_spool_refresh_held(d->p.spool);
	tg_delivery_kick(d, NULL);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	if (sig == SIGUSR1)
		tg_delivery_flush(arg);
	else
		tg_delivery_refresh(arg);
}

/* ---- the engine --------------------------------------------------------- */

void
tg_delivery_params_init(struct tg_delivery_params *p)
{
	memset(p, 0, sizeof(*p));
}

static void
defaults(struct tg_delivery_params *p)
{
	if (p->port == 0)
		p->port = 25;
	if (p->max_sessions == 0)
		p->max_sessions = DEF_MAX_SESSIONS;
	if (p->dest_sessions == 0)
		p->dest_sessions = DEF_DEST_SESSIONS;
	if (p->min_backoff <= 0)
		p->min_backoff = DEF_MIN_BACKOFF;
	if (p->max_backoff <= 0)
		p->max_backoff = DEF_MAX_BACKOFF;
	if (p->max_backoff < p->min_backoff)
		p->max_backoff = p->min_backoff;
	if (p->max_lifetime <= 0)
		p->max_lifetime = DEF_MAX_LIFETIME;
}

static int
engine_events(struct tg_delivery *d, struct tg_err *err)
{
	d->run_ev = event_new(d->p.base, -1, 0, on_run, d);
	d->retry_ev = evtimer_new(d->p.base, on_run, d);
	if (d->run_ev == NULL || d->retry_ev == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	if (!d->p.signals)
		return 0;
	d->sig_flush = evsignal_new(d->p.base, SIGUSR1, on_signal, d);
	d->sig_refresh = evsignal_new(d->p.base, SIGUSR2, on_signal, d);
	if (d->sig_flush == NULL || d->sig_refresh == NULL ||
	    evsignal_add(d->sig_flush, NULL) != 0 ||
	    evsignal_add(d->sig_refresh, NULL) != 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL,
		    "cannot handle SIGUSR1/SIGUSR2");
	return 0;
}

struct tg_delivery *
tg_delivery_new(const struct tg_delivery_params *p, struct tg_err *err)
{
	struct tg_delivery *d;

	if (p->base == NULL || p->spool == NULL || p->resolver == NULL ||
	    p->ssl_ctx == NULL || p->helo_name == NULL ||
	    !tg_dname_is_valid(p->helo_name)) {
		tg_err_set(err, TG_ERR_BUG, NULL, "delivery: base, spool, "
		    "resolver, TLS context and a valid EHLO name are needed");
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	d->p = *p;
	defaults(&d->p);
	tg_text_fmt(d->helo, sizeof(d->helo), "%s", p->helo_name);
	d->p.helo_name = d->helo;
	if (p->report_key != NULL) {
		memcpy(d->report_key, p->report_key, sizeof(d->report_key));
		d->p.report_key = d->report_key;
	}
	d->smtp = p->smtp != NULL ? p->smtp : &smtpc_ops;
	TAILQ_INIT(&d->msgs);
	TAILQ_INIT(&d->dests);
	TAILQ_INIT(&d->starved);
	if (engine_events(d, err) != 0) {
		tg_delivery_free(d);
		return NULL;
	}
	return d;
}

static void
engine_free_dest(struct dlv_dest *dest)
{
	struct dlv_job *job;

	dlv_plan_cancel(dest);
	dlv_dest_close_all(dest);
	while ((job = TAILQ_FIRST(&dest->jobs)) != NULL) {
		TAILQ_REMOVE(&dest->jobs, job, link);
		dlv_job_free(job);
	}
	dlv_plan_unref(dest->plan);
	if (dest->timer != NULL)
		event_free(dest->timer);
	free(dest);
}

void
tg_delivery_free(struct tg_delivery *d)
{
	struct dlv_dest *dest;
	struct dlv_msg *msg;

	if (d == NULL)
		return;
	d->stopping = 1;
	while ((dest = TAILQ_FIRST(&d->dests)) != NULL) {
		TAILQ_REMOVE(&d->dests, dest, link);
		engine_free_dest(dest);
	}
	/* Nothing in flight is marked: it is tried again later. */
	while ((msg = TAILQ_FIRST(&d->msgs)) != NULL) {
		(void)tg_spool_msg_close(&msg->m, NULL);
		msg_free(msg);
	}
	if (d->run_ev != NULL)
		event_free(d->run_ev);
	if (d->retry_ev != NULL)
		event_free(d->retry_ev);
	if (d->sig_flush != NULL)
		event_free(d->sig_flush);
	if (d->sig_refresh != NULL)
		event_free(d->sig_refresh);
	tg_dsnlimit_free(d->dsn_limit);
	free(d);
}

void
tg_delivery_set_limits(struct tg_delivery *d, unsigned max_sessions,
    unsigned dest_sessions, long min_backoff, long max_backoff,
    long max_lifetime)
{
	struct dlv_dest *dest;

	if (max_sessions > 0)
		d->p.max_sessions = max_sessions;
	if (dest_sessions > 0)
		d->p.dest_sessions = dest_sessions;
	if (min_backoff > 0)
		d->p.min_backoff = min_backoff;
	if (max_backoff > 0)
		d->p.max_backoff = max_backoff;
	if (max_lifetime > 0)
		d->p.max_lifetime = max_lifetime;
	defaults(&d->p);
	/* A reload may come from a store change (a local policy): decide
	 * every destination afresh; connections under an old plan are not
	 * reused. */
	TAILQ_FOREACH(dest, &d->dests, link) {
		dlv_plan_unref(dest->plan);
		dest->plan = NULL;
	}
	dlv_slots_freed(d);
}

void
tg_delivery_set_dsn_limit(struct tg_delivery *d, unsigned max)
{
	struct tg_err err;

	if (max == 0) {
		tg_dsnlimit_free(d->dsn_limit);
		d->dsn_limit = NULL;
	} else if (d->dsn_limit != NULL)
		tg_dsnlimit_set_max(d->dsn_limit, max);
	else if ((d->dsn_limit = tg_dsnlimit_new(max, TG_DSNLIMIT_WINDOW_S,
	    &err)) == NULL)
		tg_log_err(NULL, "event=dsn-limit result=failed error=\"%s\"",
		    err.msg);
}

void
tg_delivery_set_route(struct tg_delivery *d, tg_delivery_route_fn route,
    void *ctx, struct tg_resolver *resolver)
{
	d->p.route = route;
	d->p.route_ctx = ctx;
	d->p.route_resolver = resolver;
}

void
tg_delivery_stats(const struct tg_delivery *d, struct tg_delivery_stats *out)
{
	*out = d->st;
}

int
tg_delivery_idle(const struct tg_delivery *d)
{
	const struct dlv_dest *dest;

	if (d->nmsgs > 0 || d->busy > 0 || d->run_pending)
		return 0;
	TAILQ_FOREACH(dest, &d->dests, link)
		if (dest->res != NULL)
			return 0;
	return 1;
}
