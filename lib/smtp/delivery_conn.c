/*
 * smtp/delivery — see delivery.h. This file: acting on a destination's
 * plan — sessions, connections host by host and address by address,
 * transactions, connection reuse, TLS-RPT records and the delivery log.
 */
#include "smtp/delivery_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "util/clock.h"
#include "util/text.h"

static void sess_on_ready(struct tg_smtpc *c, const struct tg_smtpc_conn *res,
    void *arg);
static void sess_on_done(struct tg_smtpc *c,
    const struct tg_smtpc_txn_result *res, void *arg);
static void sess_send(struct dlv_sess *s);

/* ---- TLS-RPT ------------------------------------------------------------ */

void
dlv_rpt_record(struct tg_delivery *d, const struct dlv_plan *plan,
    size_t host, const struct tg_smtpc_conn *conn, const char *result_type,
    const char *reason)
{
	const struct tg_policy_host_decision *hd = host < plan->dec.nhosts ?
	    &plan->dec.hosts[host] : NULL;
	struct tg_reports_session s;
	struct tg_err err;

	/* RFC 8460 §5.3.1: a report's own sessions are left out; a route
	 * goes to a server of our own, not to the Internet. */
	if (d->p.reports == NULL || plan->in.report_submission ||
	    plan->in.route)
		return;
	memset(&s, 0, sizeof(s));
	s.when = tg_clock_now();
	s.policy_domain = plan->domain;
	s.policy_type = hd != NULL ? hd->rpt_type : TG_REPORTS_TLSA;
	s.policy_strings = hd != NULL ? hd->rpt_strings : "";
	s.mx_hosts = hd != NULL ? hd->rpt_mx : "";
	s.result_type = result_type;
	if (hd != NULL)
		s.receiving_mx_hostname = plan->host[host].name;
	if (conn != NULL) {
		s.sending_ip = conn->local_ip;
		s.receiving_ip = conn->peer_ip;
		s.receiving_mx_helo = conn->ehlo_name;
	}
	if (result_type != NULL) {
		s.additional_information = reason;
		s.failure_reason_code = conn != NULL ?
		    tg_smtpc_status_name(conn->status) : NULL;
	}
	if (tg_reports_record_session(d->p.reports, &s, &err) != 0)
		tg_log_warn(NULL, "event=tlsrpt-record domain=%s result=failed "
		    "error=\"%s\"", plan->domain, err.msg);
}

/* The RFC 8460 result type of a connection that became usable, or NULL
 * for a clean success; *record is 0 when nothing is to be counted. */
static const char *
rpt_ready_type(const struct tg_policy_host_decision *hd,
    const struct tg_smtpc_conn *res, int *record)
{
	*record = 1;
	if (hd->rpt_failure != NULL)
		return hd->rpt_failure;
	if (!res->tls_started) {
		/* Plaintext: a failure where a policy asked for TLS; an
		 * opportunistic session without TLS is no TLS session. */
		*record = hd->rpt_type != TG_REPORTS_NO_POLICY;
		return "starttls-not-supported";
	}
	if (hd->report_only && !res->tls.verified)
		return res->tls.result_type != NULL ? res->tls.result_type :
		    "validation-failure";
	return NULL;
}

/* A failed connection: counted when TLS or a policy check failed. */
static const char *
rpt_fail_type(const struct tg_smtpc_conn *res)
{
	switch (res->status) {
	case TG_SMTPC_NO_STARTTLS:
	case TG_SMTPC_STARTTLS_REFUSED:
		return "starttls-not-supported";
	case TG_SMTPC_TLS_FAILED:
	case TG_SMTPC_NOT_VERIFIED:
		return res->result_type != NULL ? res->result_type :
		    "validation-failure";
	default:
		return res->tls_started && res->result_type != NULL ?
		    res->result_type : NULL;
	}
}

/* Record once per plan what the policy refused before connecting. */
static void
rpt_plan_refusals(struct tg_delivery *d, struct dlv_plan *plan)
{
	const struct tg_policy_host_decision *hd;
	size_t i;

	if (plan->recorded)
		return;
	plan->recorded = 1;
	if (plan->dec.verdict != TG_POLICY_DELIVER && plan->dec.nhosts == 0 &&
	    plan->dec.result_type != NULL)
		dlv_rpt_record(d, plan, TG_POLICY_MX_MAX, NULL,
		    plan->dec.result_type, plan->dec.reason);
	for (i = 0; i < plan->dec.nhosts; i++) {
		hd = &plan->dec.hosts[i];
		if (hd->action == TG_POLICY_SKIP && hd->result_type != NULL)
			dlv_rpt_record(d, plan, i, NULL, hd->result_type,
			    hd->reason);
	}
}

/* ---- the log line ------------------------------------------------------- */

/* What verification achieved, in the words of the log (STYLE 13). */
static void
verify_text(const struct dlv_sess *s, const struct tg_smtpc_conn *c,
    char *out, size_t outlen)
{
	const struct tg_policy_host_decision *hd =
	    &s->plan->dec.hosts[s->host];

	if (c == NULL || !c->tls_started)
		tg_text_fmt(out, outlen, "%s", hd->rule == TG_POLICY_RULE_STS ?
		    "sts testing: no TLS" : "opportunistic (no TLS)");
	else if (hd->mode == TG_TLS_DANE)
		tg_text_fmt(out, outlen, "%s", c->tls.verified ?
		    (hd->mx_secure ? "dane verified" :
		    "dane verified (insecure MX)") : "dane unauthenticated "
		    "(no usable TLSA)");
	else if (hd->mode == TG_TLS_PKIX && !hd->report_only)
		tg_text_fmt(out, outlen, "sts verified");
	else if (hd->mode == TG_TLS_PKIX)
		tg_text_fmt(out, outlen, "sts testing: %s", c->tls.verified ?
		    "verified" : c->tls.result_type != NULL ?
		    c->tls.result_type : "not verified");
	else
		tg_text_fmt(out, outlen, "opportunistic");
}

static void
sess_log(const struct dlv_sess *s, const struct dlv_job *job,
    const struct tg_smtpc_conn *c, const char *result, const char *status,
    const char *reason, size_t ok)
{
	const struct dlv_plan *plan = s->plan;
	char verify[96];

	verify_text(s, c, verify, sizeof(verify));
	tg_log_info(s->sid, "event=delivery queue_id=%s domain=%s mx=%s "
	    "addr=%s policy=%s tls=%s verify=\"%s\" result=%s status=%s "
	    "rcpts=%zu/%zu reused=%u delay=%llds%s%s%s", job->msg->qid,
	    plan->domain, plan->host[s->host].name,
	    plan->host[s->host].addr[s->addr],
	    tg_policy_rule_name(plan->dec.hosts[s->host].rule),
	    c != NULL && c->tls_started ? c->tls.version : "none", verify,
	    result, status, ok, job->n, s->msgs > 1 ? s->msgs - 1 : 0,
	    (long long)(tg_clock_now() -
	    tg_spool_msg_env(job->msg->m)->arrival),
	    reason != NULL ? " reason=\"" : "", reason != NULL ? reason : "",
	    reason != NULL ? "\"" : "");
}

/* ---- sessions ----------------------------------------------------------- */

static struct dlv_sess *
sess_new(struct dlv_dest *dest)
{
	struct tg_delivery *d = dest->d;
	struct dlv_sess *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->dest = dest;
	s->plan = dest->plan;
	s->plan->refs++;
	tg_log_new_sid(s->sid);
	TAILQ_INSERT_TAIL(&dest->active, s, link);
	dest->busy++;
	d->busy++;
	d->st.active_sessions = d->busy;
	if (d->busy > d->st.max_active_sessions)
		d->st.max_active_sessions = d->busy;
	return s;
}

/* End a busy session: its connection (closed politely unless hard),
 * its slot. The job must be gone already. */
static void
sess_end(struct dlv_sess *s, int hard)
{
	struct tg_delivery *d = s->dest->d;

	if (s->conn != NULL)
		(hard ? d->smtp->free : d->smtp->close)(s->conn);
	if (s->parked) {
		TAILQ_REMOVE(&s->dest->idle, s, link);
		s->dest->nidle--;
	} else {
		TAILQ_REMOVE(&s->dest->active, s, link);
		s->dest->busy--;
		d->busy--;
		d->st.active_sessions = d->busy;
	}
	dlv_plan_unref(s->plan);
	free(s);
}

/* The next address, or the next host the plan says to try. 0 when
 * there is one, -1 when the plan is exhausted. */
static int
sess_advance(struct dlv_sess *s)
{
	const struct dlv_plan *plan = s->plan;

	if (++s->addr < plan->host[s->host].naddr)
		return 0;
	for (s->host++, s->addr = 0; s->host < plan->dec.nhosts; s->host++)
		if (plan->dec.hosts[s->host].action == TG_POLICY_TRY &&
		    plan->host[s->host].naddr > 0)
			return 0;
	return -1;
}

static int
sess_first(struct dlv_sess *s)
{
	s->host = 0;
	s->addr = (size_t)-1;
	if (s->plan->dec.nhosts > 0 &&
	    s->plan->dec.hosts[0].action == TG_POLICY_TRY &&
	    s->plan->host[0].naddr > 0) {
		s->addr = 0;
		return 0;
	}
	s->addr = s->plan->host[0].naddr;
	return sess_advance(s);
}

/*
 * No host left: defer this job and every job waiting for the
 * destination with the last failure, and forget the plan so that the
 * next attempt resolves again.
 */
static void
sess_exhausted(struct dlv_sess *s)
{
	struct dlv_dest *dest = s->dest;
	const char *status = s->last_status[0] != '\0' ? s->last_status :
	    "4.4.1";
	struct dlv_job *job;
	char reason[TG_POLICY_TEXT_MAX + 32];

	tg_text_fmt(reason, sizeof(reason), "%s", s->last_reason[0] != '\0' ?
	    s->last_reason : "no MX host could be reached");
	while ((job = s->job) != NULL || (job = TAILQ_FIRST(&dest->jobs)) !=
	    NULL) {
		if (job == s->job)
			s->job = NULL;
		else {
			TAILQ_REMOVE(&dest->jobs, job, link);
			dest->njobs--;
		}
		tg_log_info(s->sid, "event=delivery queue_id=%s domain=%s "
		    "mx=%s policy=%s tls=none verify=\"%s\" result=deferred "
		    "status=%s rcpts=0/%zu", job->msg->qid, dest->domain,
		    s->plan->host[s->tried].name,
		    tg_policy_rule_name(s->plan->dec.hosts[s->tried].rule),
		    reason, status, job->n);
		dlv_job_outcome_all(job, TG_ERR_TEMP, status, reason, NULL);
	}
	if (dest->plan == s->plan) {
		dlv_plan_unref(dest->plan);
		dest->plan = NULL;
	}
	sess_end(s, 0);
	dlv_slots_freed(dest->d);
}

static void
sess_connect(struct dlv_sess *s)
{
	struct tg_delivery *d = s->dest->d;
	const struct dlv_plan *plan = s->plan;
	const struct tg_policy_host_decision *hd;
	struct tg_smtpc_params p;
	struct tg_err err;

	for (;;) {
		s->tried = s->host;
		hd = &plan->dec.hosts[s->host];
		tg_policy_tls_verify(&plan->in, &plan->dec, s->host,
		    &s->verify);
		tg_smtpc_params_init(&p);
		p.addr = plan->host[s->host].addr[s->addr];
		p.port = plan->port != 0 ? plan->port : d->p.port;
		p.helo_name = d->helo;
		p.mx_host = plan->host[s->host].name;
		p.tls = hd->tls == TG_POLICY_TLS_REQUIRE ?
		    TG_SMTPC_TLS_REQUIRE : TG_SMTPC_TLS_MAY;
		p.ctx = d->p.ssl_ctx;
		p.verify = &s->verify;
		p.cache = d->p.tls_cache;
		p.tmo = d->p.tmo;
		s->ready = 0;
		s->msgs = 0;
		d->st.connections++;
		s->conn = d->smtp->connect(d->p.base, &p, sess_on_ready, s,
		    &err);
		if (s->conn != NULL)
			return;
		tg_text_fmt(s->last_status, sizeof(s->last_status), "4.3.0");
		tg_text_fmt(s->last_reason, sizeof(s->last_reason),
		    "%s[%s]: %s", plan->host[s->host].name, p.addr, err.msg);
		if (sess_advance(s) != 0) {
			sess_exhausted(s);
			return;
		}
	}
}

static void
sess_on_ready(struct tg_smtpc *c, const struct tg_smtpc_conn *res, void *arg)
{
	struct dlv_sess *s = arg;
	const struct tg_policy_host_decision *hd = &s->plan->dec.hosts[s->host];
	struct tg_delivery *d = s->dest->d;
	const char *rt;
	int record;

	if (res->status == TG_SMTPC_OK) {
		s->ready = 1;
		rt = rpt_ready_type(hd, res, &record);
		if (record)
			dlv_rpt_record(d, s->plan, s->host, res, rt,
			    rt != NULL ? res->why.text : NULL);
		sess_send(s);
		return;
	}
	if ((rt = rpt_fail_type(res)) != NULL)
		dlv_rpt_record(d, s->plan, s->host, res, rt, res->why.text);
	tg_text_fmt(s->last_status, sizeof(s->last_status), "%s",
	    res->why.status[0] != '\0' ? res->why.status : "4.4.1");
	tg_text_fmt(s->last_reason, sizeof(s->last_reason), "%s[%s]: %s",
	    s->plan->host[s->host].name, res->peer_ip, res->why.text);
	tg_log_info(s->sid, "event=connect domain=%s mx=%s addr=%s policy=%s "
	    "result=failed status=%s step=%s reason=\"%s\"", s->dest->domain,
	    s->plan->host[s->host].name, res->peer_ip,
	    tg_policy_rule_name(hd->rule), tg_smtpc_status_name(res->status),
	    tg_smtpc_step_name(res->step), res->why.text);
	d->smtp->close(c);
	s->conn = NULL;
	if (sess_advance(s) != 0)
		sess_exhausted(s);
	else
		sess_connect(s);
}

/* ---- transactions ------------------------------------------------------- */

static ssize_t
job_read(void *arg, void *buf, size_t cap, struct tg_err *err)
{
	struct dlv_job *job = arg;
	const struct dlv_msg *msg = job->msg;
	char skip[TG_SUBMARK_LINE_LEN];
	ssize_t k;

	/* A report of ours: the marker line stays here (submark.h). It
	 * may span records, hence the loop (bounded by mark_len). */
	while (msg->report && job->pos >= msg->mark_at &&
	    job->pos < msg->mark_at + msg->mark_len) {
		k = tg_spool_msg_pread(job->msg->m, &job->cur, skip,
		    (size_t)(msg->mark_at + msg->mark_len - job->pos), err);
		if (k <= 0)
			return k < 0 ? k : tg_err_set(err, TG_ERR_BUG, NULL,
			    "message changed while sent");
		job->pos += (uint64_t)k;
	}
	if (msg->report && job->pos < msg->mark_at &&
	    cap > msg->mark_at - job->pos)
		cap = (size_t)(msg->mark_at - job->pos);
	k = tg_spool_msg_pread(job->msg->m, &job->cur, buf, cap, err);
	if (k > 0)
		job->pos += (uint64_t)k;
	return k;
}

static void
sess_send(struct dlv_sess *s)
{
	struct tg_delivery *d = s->dest->d;
	struct dlv_job *job = s->job;
	const struct tg_spool_env *env = tg_spool_msg_env(job->msg->m);
	struct tg_err err;

	memset(&s->txn, 0, sizeof(s->txn));
	s->txn.sender = env->sender;
	s->txn.rcpt = job->rcpt;
	s->txn.nrcpt = job->n;
	s->txn.envid = env->envid;
	s->txn.ret = env->ret;
	s->txn.flags = env->flags;
	s->txn.requiretls_hop = tg_policy_requiretls_hop(
	    &s->plan->dec.hosts[s->host]);
	s->txn.size = tg_spool_msg_size(job->msg->m) - job->msg->mark_len;
	s->txn.read = job_read;
	s->txn.read_arg = job;
	tg_spool_cursor_init(job->msg->m, &job->cur);
	job->pos = 0;
	if (d->smtp->send(s->conn, &s->txn, sess_on_done, s, &err) == 0)
		return;
	/* The kept connection went away meanwhile: a new one, from the
	 * first host again (nothing was sent). */
	d->smtp->close(s->conn);
	s->conn = NULL;
	if (err.cls == TG_ERR_TEMP && s->msgs > 0 && sess_first(s) == 0) {
		sess_connect(s);
		return;
	}
	tg_text_fmt(s->last_status, sizeof(s->last_status), "4.3.0");
	tg_text_fmt(s->last_reason, sizeof(s->last_reason), "%s", err.msg);
	sess_exhausted(s);
}

/* What happened to a job's recipients, for its log line. */
struct dlv_tally {
	size_t ok, perm, temp;
	char status[TG_SMTPC_STATUS_MAX];	/* of the first failure */
	char why[TG_SPOOL_REASON_MAX];		/* its reason */
};

/* Per recipient, from the client's results (client.h: final). */
static void
sess_outcomes(struct dlv_sess *s, struct dlv_job *job,
    const struct tg_smtpc_txn_result *res, struct dlv_tally *t)
{
	const char *mx = s->plan->host[s->host].name;
	const struct tg_smtpc_outcome *o;
	char reason[TG_SPOOL_REASON_MAX];
	enum tg_err_class cls;
	size_t k;

	memset(t, 0, sizeof(*t));
	for (k = 0; k < job->n; k++) {
		o = k < res->nrcpt ? &res->rcpt[k].final : NULL;
		if (o != NULL && o->cls == TG_ERR_NONE) {
			t->ok++;
			dlv_job_outcome(job, k, TG_ERR_NONE, "2.0.0", o->text,
			    mx);
			continue;
		}
		/* No result for a recipient never happens (the client
		 * answers all); if it did, it is only deferred. */
		cls = o != NULL && o->cls == TG_ERR_PERM ? TG_ERR_PERM :
		    TG_ERR_TEMP;
		/* Code 0: our own check before MAIL, not the server's. */
		tg_text_fmt(reason, sizeof(reason), "%s[%s]%s: %s%s", mx,
		    s->plan->host[s->host].addr[s->addr],
		    o != NULL && o->code == 0 ? "" : " said",
		    o != NULL ? o->text : "no result", res->dot_unanswered ?
		    " (no reply to end of data: may be a duplicate)" : "");
		if (t->perm + t->temp == 0) {
			tg_text_fmt(t->why, sizeof(t->why), "%s", reason);
			tg_text_fmt(t->status, sizeof(t->status), "%s",
			    o != NULL && o->status[0] != '\0' ? o->status :
			    cls == TG_ERR_PERM ? "5.0.0" : "4.0.0");
		}
		if (cls == TG_ERR_PERM)
			t->perm++;
		else
			t->temp++;
		dlv_job_outcome(job, k, cls, o != NULL &&
		    o->status[0] != '\0' ? o->status : cls == TG_ERR_PERM ?
		    "5.0.0" : "4.0.0", reason, mx);
	}
}

static void
sess_park(struct dlv_sess *s)
{
	struct dlv_dest *dest = s->dest;
	struct tg_delivery *d = dest->d;
	struct timeval tv = { TG_DELIVERY_IDLE_S, 0 };

	TAILQ_REMOVE(&dest->active, s, link);
	dest->busy--;
	d->busy--;
	d->st.active_sessions = d->busy;
	s->parked = 1;
	s->idle_since_ms = tg_clock_mono_ms();
	TAILQ_INSERT_TAIL(&dest->idle, s, link);
	dest->nidle++;
	evtimer_add(dest->timer, &tv);
}

static void
sess_on_done(struct tg_smtpc *c, const struct tg_smtpc_txn_result *res,
    void *arg)
{
	struct dlv_sess *s = arg;
	struct dlv_dest *dest = s->dest;
	struct tg_delivery *d = dest->d;
	struct dlv_job *job = s->job;
	struct dlv_tally t;

	(void)c;
	s->job = NULL;
	s->msgs++;
	sess_outcomes(s, job, res, &t);
	sess_log(s, job, res->conn, t.ok == job->n ? "delivered" : t.ok > 0 ?
	    "partial" : t.temp == 0 ? "bounced" : "deferred",
	    t.ok == job->n ? "2.0.0" : t.status, t.ok == job->n ? NULL : t.why,
	    t.ok);
	dlv_job_done(job);
	if (!d->smtp->usable(s->conn) || s->plan != dest->plan) {
		sess_end(s, 0);
		dlv_slots_freed(d);
		dlv_dest_pump(dest);
		return;
	}
	if ((job = TAILQ_FIRST(&dest->jobs)) != NULL &&
	    s->msgs < TG_DELIVERY_REUSE_MAX) {
		TAILQ_REMOVE(&dest->jobs, job, link);
		dest->njobs--;
		s->job = job;
		d->st.reused++;
		sess_send(s);
		return;
	}
	if (job != NULL) {		/* this connection has done enough */
		sess_end(s, 0);
		dlv_slots_freed(d);
		dlv_dest_pump(dest);
		return;
	}
	sess_park(s);
	dlv_slots_freed(d);
}

/* ---- a destination's plan in action ------------------------------------- */

static int
plan_fresh(const struct dlv_plan *plan)
{
	time_t now = tg_clock_now();

	return plan != NULL && plan->dec.verdict == TG_POLICY_DELIVER &&
	    now >= plan->made && now - plan->made < TG_DELIVERY_PLAN_TTL_S;
}

/* The plan says defer or bounce: every waiting job gets it. */
static void
dest_refuse(struct dlv_dest *dest)
{
	struct dlv_plan *plan = dest->plan;
	const struct tg_policy_decision *dec = &plan->dec;
	enum tg_err_class cls = dec->verdict == TG_POLICY_BOUNCE ?
	    TG_ERR_PERM : TG_ERR_TEMP;
	struct dlv_job *job;

	rpt_plan_refusals(dest->d, plan);
	while ((job = TAILQ_FIRST(&dest->jobs)) != NULL) {
		TAILQ_REMOVE(&dest->jobs, job, link);
		dest->njobs--;
		tg_log_info(NULL, "event=delivery queue_id=%s domain=%s mx=- "
		    "policy=%s tls=none verify=\"%s\" result=%s status=%s "
		    "rcpts=0/%zu", job->msg->qid, dest->domain,
		    tg_policy_rule_name(dec->rule), dec->reason,
		    cls == TG_ERR_PERM ? "bounced" : "deferred", dec->status,
		    job->n);
		dlv_job_outcome_all(job, cls, dec->status, dec->reason, NULL);
	}
	/* A refusal is not kept: the next attempt asks again. */
	dest->plan = NULL;
	dlv_plan_unref(plan);
}

/* A kept connection for the next job, if one is still usable. */
static struct dlv_sess *
dest_take_idle(struct dlv_dest *dest)
{
	struct tg_delivery *d = dest->d;
	struct dlv_sess *s;

	while ((s = TAILQ_FIRST(&dest->idle)) != NULL) {
		if (s->plan != dest->plan || !d->smtp->usable(s->conn) ||
		    s->msgs >= TG_DELIVERY_REUSE_MAX) {
			sess_end(s, 0);
			continue;
		}
		TAILQ_REMOVE(&dest->idle, s, link);
		dest->nidle--;
		s->parked = 0;
		TAILQ_INSERT_TAIL(&dest->active, s, link);
		dest->busy++;
		d->busy++;
		d->st.active_sessions = d->busy;
		if (d->busy > d->st.max_active_sessions)
			d->st.max_active_sessions = d->busy;
		d->st.reused++;
		return s;
	}
	return NULL;
}

static void
dest_starve(struct dlv_dest *dest)
{
	if (!dest->waiting) {
		dest->waiting = 1;
		TAILQ_INSERT_TAIL(&dest->d->starved, dest, wlink);
	}
}

void
dlv_dest_pump(struct dlv_dest *dest)
{
	struct tg_delivery *d = dest->d;
	struct dlv_sess *s;
	struct dlv_job *job;

	if (dest->njobs == 0 || dest->res != NULL)
		return;
	if (dest->plan != NULL &&
	    dest->plan->dec.verdict != TG_POLICY_DELIVER) {
		dest_refuse(dest);
		return;
	}
	if (!plan_fresh(dest->plan)) {
		dlv_plan_start(dest);
		return;
	}
	rpt_plan_refusals(d, dest->plan);
	while ((job = TAILQ_FIRST(&dest->jobs)) != NULL) {
		if ((s = dest_take_idle(dest)) == NULL) {
			if (dest->busy >= d->p.dest_sessions)
				return;
			if (d->busy >= d->p.max_sessions) {
				dest_starve(dest);
				return;
			}
			if ((s = sess_new(dest)) == NULL)
				return;
		}
		TAILQ_REMOVE(&dest->jobs, job, link);
		dest->njobs--;
		s->job = job;
		if (s->conn != NULL)
			sess_send(s);
		else if (sess_first(s) == 0)
			sess_connect(s);
		else
			sess_exhausted(s);
	}
}

void
dlv_dest_close_all(struct dlv_dest *dest)
{
	struct dlv_sess *s;

	while ((s = TAILQ_FIRST(&dest->idle)) != NULL)
		sess_end(s, 1);
	while ((s = TAILQ_FIRST(&dest->active)) != NULL) {
		if (s->job != NULL)
			dlv_job_free(s->job);
		s->job = NULL;
		sess_end(s, 1);
	}
}

/* Idle connections past TG_DELIVERY_IDLE_S are closed. 1 while some
 * remain. */
int
dlv_dest_expire_idle(struct dlv_dest *dest)
{
	long long now = tg_clock_mono_ms();
	struct dlv_sess *s, *next;

	for (s = TAILQ_FIRST(&dest->idle); s != NULL; s = next) {
		next = TAILQ_NEXT(s, link);
		if (now - s->idle_since_ms < TG_DELIVERY_IDLE_S * 1000LL &&
		    dest->d->smtp->usable(s->conn))
			continue;
		sess_end(s, 0);
	}
	return dest->nidle > 0;
}
