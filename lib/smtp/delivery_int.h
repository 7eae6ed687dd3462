/*
 * smtp/delivery_int — what the delivery engine's files share; other
 * modules include smtp/delivery.h.
 *
 * delivery.c       the engine, queue runs, messages, jobs, outcomes, DSNs
 * delivery_plan.c  resolving a destination into a plan (policy decision)
 * delivery_conn.c  sessions: connections, transactions, TLS-RPT, the log
 *
 * Ownership: the engine owns its destinations (a list), each destination
 * its waiting jobs and its current plan (refcounted: a session keeps the
 * plan it connected under), each job a reference on its message; a
 * session belongs to its destination and holds the job it is sending.
 */
#ifndef TG_SMTP_DELIVERY_INT_H
#define TG_SMTP_DELIVERY_INT_H

#include <sys/queue.h>

#include "core/log.h"
#include "policy/policy.h"
#include "smtp/delivery.h"
#include "smtp/dsnlimit.h"
#include "smtp/dsn.h"
#include "smtp/submark.h"

struct dlv_dest;
struct dlv_sess;

/* One recipient that failed in this round, waiting for its DSN. */
struct dlv_fail {
	int set;
	char status[TG_SMTPC_STATUS_MAX];
	char mx[TG_DNAME_MAX + 1];
	char diag[TG_SPOOL_REASON_MAX];
};

/* A message open for delivery. */
struct dlv_msg {
	struct tg_delivery *d;			/* borrowed */
	struct tg_spool_msg *m;			/* owned */
	char qid[TG_SPOOL_QID_LEN + 1];
	int refs;				/* jobs not finished */
	struct dlv_fail *fail;			/* owned, nrcpt, or NULL */
	/* A verified report of ours (smtp/submark): the marker line at
	 * content offset mark_at, mark_len bytes, is not sent. */
	int report;
	uint64_t mark_at;
	size_t mark_len;
	TAILQ_ENTRY(dlv_msg) link;
};

/* The recipients of one message for one destination. */
struct dlv_job {
	struct dlv_msg *msg;			/* reference held */
	struct dlv_dest *dest;			/* borrowed */
	size_t n;
	size_t *idx;				/* owned: recipient indices */
	struct tg_spool_rcpt *rcpt;		/* owned array, borrowed
						   strings */
	struct tg_spool_cursor cur;
	uint64_t pos;				/* content bytes read at cur */
	long long queued_ms;
	TAILQ_ENTRY(dlv_job) link;
};
TAILQ_HEAD(dlv_jobs, dlv_job);

/* What to do with a destination: the lookups' results and the policy
 * decision, frozen. */
struct dlv_host {
	char name[TG_DNS_NAME_SIZE];
	char canon[TG_DNS_NAME_SIZE];
	char tlsa_base[TG_DNS_NAME_SIZE];
	int is_cname;
	size_t naddr;
	char addr[TG_DELIVERY_ADDRS_MAX][TG_DNS_ADDR_TEXT_SIZE];
	struct tg_tlsa_rr *tlsa;		/* owned, up to TLSA_MAX */
	size_t ntlsa;
};

struct dlv_plan {
	int refs;
	char domain[TG_DNS_NAME_SIZE];
	unsigned port;				/* a route's; 0: p.port */
	time_t made;				/* tg_clock_now */
	long long made_ms;
	struct dlv_host host[TG_POLICY_MX_MAX];
	struct tg_policy_host in_host[TG_POLICY_MX_MAX];
	struct tg_sts_policy sts_policy;
	char sts_id[TG_STS_ID_MAX + 1];
	char sts_fail_type[64];
	char sts_reason[TG_ERR_MSG_MAX];
	int recorded;				/* refusals sent to TLS-RPT */
	char local_error[TG_ERR_MSG_MAX];	/* store unreadable: defer */
	struct tg_policy_input in;
	struct tg_policy_decision dec;
};

struct dlv_resolve;		/* lookups in flight (delivery_plan.c) */

struct dlv_dest {
	struct tg_delivery *d;			/* borrowed */
	char domain[TG_DNS_NAME_SIZE];
	int report;				/* for our reports only */
	struct dlv_jobs jobs;			/* waiting */
	size_t njobs;
	struct dlv_plan *plan;			/* owned reference, or NULL */
	struct dlv_resolve *res;		/* owned, while resolving */
	unsigned busy;				/* sessions
						   connecting/sending */
	TAILQ_HEAD(, dlv_sess) active;		/* those sessions */
	TAILQ_HEAD(, dlv_sess) idle;		/* kept connections */
	unsigned nidle;
	int waiting;				/* on d->starved */
	struct event *timer;			/* owned: idle expiry, gc */
	TAILQ_ENTRY(dlv_dest) link;
	TAILQ_ENTRY(dlv_dest) wlink;		/* d->starved */
};

/* One connection of a destination, and the job it carries. */
struct dlv_sess {
	struct dlv_dest *dest;			/* borrowed */
	struct dlv_plan *plan;			/* reference held */
	struct dlv_job *job;			/* owned while sending */
	struct tg_smtpc *conn;			/* owned */
	struct tg_tls_verify verify;		/* borrows from plan */
	struct tg_smtpc_txn txn;		/* borrows from job */
	int parked;				/* on dest->idle, not active */
	size_t host, addr;			/* the one connected to */
	size_t tried;				/* host of the last attempt */
	int ready;				/* connection usable */
	unsigned msgs;				/* transactions on it */
	long long idle_since_ms;
	char sid[TG_SID_LEN + 1];
	/* The last failure, for deferring when no host is left. */
	char last_status[TG_SMTPC_STATUS_MAX];
	char last_reason[TG_POLICY_TEXT_MAX];
	TAILQ_ENTRY(dlv_sess) link;
};

struct tg_delivery {
	struct tg_delivery_params p;		/* copy; helo copied below */
	char helo[TG_DNS_NAME_SIZE];
	unsigned char report_key[TG_SUBMARK_KEY_LEN];	/* p.report_key */
	const struct tg_delivery_smtp_ops *smtp;
	TAILQ_HEAD(, dlv_msg) msgs;		/* open messages */
	size_t nmsgs;
	TAILQ_HEAD(, dlv_dest) dests;
	size_t ndests;
	TAILQ_HEAD(, dlv_dest) starved;		/* waiting for a session slot */
	unsigned busy;				/* sessions in all */
	struct event *run_ev;			/* owned: queue run (now) */
	struct event *retry_ev;			/* owned: next due */
	struct event *sig_flush, *sig_refresh;	/* owned, or NULL */
	int run_pending;
	int stopping;
	struct tg_dsnlimit *dsn_limit;		/* owned; NULL: no limit */
	struct tg_delivery_stats st;
};

/* ---- delivery.c: jobs and outcomes -------------------------------- */

/* Outcome for every recipient of job: DELIVERED (cls NONE), TEMP
 * (deferred or, past the lifetime, failed) or PERM (failed). mx may be
 * NULL. Frees the job. */
void dlv_job_outcome_all(struct dlv_job *job, enum tg_err_class cls,
    const char *status, const char *reason, const char *mx);

/* Outcome for recipient k (index into job->idx) of job. */
void dlv_job_outcome(struct dlv_job *job, size_t k, enum tg_err_class cls,
    const char *status, const char *reason, const char *mx);

/* The job's recipients are all decided: release it (and its message). */
void dlv_job_done(struct dlv_job *job);

/* Free the job's memory only (shutting down: nothing is marked). */
void dlv_job_free(struct dlv_job *job);

/* A session slot became free somewhere: start waiting destinations. */
void dlv_slots_freed(struct tg_delivery *d);

/* ---- delivery_plan.c ------------------------------------------------ */

/* Start resolving dest; dlv_dest_planned runs when the plan is in. */
void dlv_plan_start(struct dlv_dest *dest);
void dlv_plan_cancel(struct dlv_dest *dest);
void dlv_plan_unref(struct dlv_plan *plan);

/* ---- delivery_conn.c ------------------------------------------------- */

/* The plan of dest is in (or the waiting jobs changed): act on it. */
void dlv_dest_pump(struct dlv_dest *dest);

/* Shutting down: free every session of dest at once, busy ones with
 * their jobs, which are dropped unmarked. */
void dlv_dest_close_all(struct dlv_dest *dest);

/* Close kept connections idle too long or no longer usable; 1 while
 * some remain. */
int dlv_dest_expire_idle(struct dlv_dest *dest);

/* Record one TLS-RPT session (conn may be NULL). */
void dlv_rpt_record(struct tg_delivery *d, const struct dlv_plan *plan,
    size_t host, const struct tg_smtpc_conn *conn, const char *result_type,
    const char *reason);

#endif
