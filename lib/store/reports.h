/*
 * store/reports — reports.db: what TLS reporting (RFC 8460) needs.
 *
 * Owns the reports database file (`<state_dir>/reports.db`) and, in it,
 * the outbound TLS session results: for every delivery attempt of the
 * relay, one count added to an aggregate row keyed by UTC day, policy
 * domain, policy (type, strings, mx hosts) and, for failures, the RFC 8460
 * §4.3 result type and failure details. The daily report job reads these
 * rows back per (domain, day). Aggregating on write keeps the table small
 * however much mail flows: one row per distinct outcome per day.
 * Received reports (the collector) live in the same file, in tables of
 * their own.
 *
 * Like the rest of lib/store, this is the only code with SQL for these
 * tables; all values are bound parameters.
 */
#ifndef TG_STORE_REPORTS_H
#define TG_STORE_REPORTS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/err.h"
#include "util/limits.h"

#define TG_REPORTS_FILE		"reports.db"
#define TG_REPORTS_TEXT_MAX	1024	/* any text field of a result */
#define TG_REPORTS_POLICY_MAX	4096	/* policy strings, joined */

struct tg_reports;

/* RFC 8460 §4.4: the policy types a report knows. */
enum tg_reports_policy_type {
	TG_REPORTS_TLSA = 0,
	TG_REPORTS_STS,
	TG_REPORTS_NO_POLICY
};

/*
 * One TLS session outcome. policy_strings and mx_hosts hold several
 * values separated by '\n' (a TLSA RRset "3 1 1 ab..\n3 1 1 cd..", STS
 * policy lines "version: STSv1\nmode: enforce\nmx: ..."). result_type is
 * NULL or "" for a success, otherwise an RFC 8460 §4.3 type; the failure
 * fields are ignored for successes. All strings borrowed; NULL = "".
 */
struct tg_reports_session {
	time_t when;
	const char *policy_domain;
	enum tg_reports_policy_type policy_type;
	const char *policy_strings;
	const char *mx_hosts;
	const char *result_type;
	const char *sending_ip;
	const char *receiving_mx_hostname;
	const char *receiving_mx_helo;
	const char *receiving_ip;
	const char *additional_information;
	const char *failure_reason_code;
};

/* An aggregate row as read back; strings are copies. */
struct tg_reports_row {
	char day[11];				/* "2026-12-03" (UTC) */
	char policy_domain[TG_DNAME_MAX + 1];
	enum tg_reports_policy_type policy_type;
	char policy_strings[TG_REPORTS_POLICY_MAX];
	char mx_hosts[TG_REPORTS_TEXT_MAX];
	char result_type[64];			/* "" = success */
	char sending_ip[64];
	char receiving_mx_hostname[TG_DNAME_MAX + 1];
	char receiving_mx_helo[TG_DNAME_MAX + 1];
	char receiving_ip[64];
	char additional_information[TG_REPORTS_TEXT_MAX];
	char failure_reason_code[TG_REPORTS_TEXT_MAX];
	int64_t count;
};

/*
 * Open (creating and migrating unless readonly) <state_dir>/reports.db.
 * Returns 0 with *out, or -1 with err.
 */
int tg_reports_open(const char *state_dir, int readonly,
    struct tg_reports **out, struct tg_err *err);

/* NULL-safe. */
void tg_reports_close(struct tg_reports *r);

/* The connection, for sibling modules of lib/store that add tables to
 * reports.db (borrowed). */
struct sqlite3 *tg_reports_db(struct tg_reports *r);

/*
 * Group commit of received reports: between batch_begin and batch_end,
 * tg_reports_rx_add calls share one write transaction (each is a
 * savepoint of it: one that fails is undone alone), made durable by the
 * one fsync of batch_end. Nothing added in the batch is stored before
 * batch_end returns 0; on -1 (err) none of it is. 0 or -1 with err.
 */
int tg_reports_batch_begin(struct tg_reports *r, struct tg_err *err);
int tg_reports_batch_end(struct tg_reports *r, struct tg_err *err);

/* "tlsa", "sts", "no-policy-found". */
const char *tg_reports_policy_type_name(enum tg_reports_policy_type t);

/* 1 if s is one of the RFC 8460 §4.3 result types, else 0. */
int tg_reports_result_type_valid(const char *s);

/*
 * Count one session. Validates the policy domain (a domain name), the
 * result type (§4.3) and the text lengths; bad input → -1, TG_ERR_PERM,
 * nothing written.
 */
int tg_reports_record_session(struct tg_reports *r,
    const struct tg_reports_session *s, struct tg_err *err);

typedef int (*tg_reports_row_fn)(const struct tg_reports_row *row,
    void *arg);

/*
 * Call fn for every aggregate row of day ("YYYY-MM-DD") and policy domain
 * (NULL: every domain), ordered by domain, policy, success first. fn
 * returning non-zero stops the walk (that value is returned).
 */
int tg_reports_sessions(struct tg_reports *r, const char *day,
    const char *policy_domain, tg_reports_row_fn fn, void *arg,
    struct tg_err *err);

typedef int (*tg_reports_domain_fn)(const char *policy_domain, void *arg);

/* Call fn for every policy domain with results on day. */
int tg_reports_session_domains(struct tg_reports *r, const char *day,
    tg_reports_domain_fn fn, void *arg, struct tg_err *err);

/* Remove session rows older than day (exclusive); *removed may be NULL. */
int tg_reports_prune_sessions(struct tg_reports *r, const char *before_day,
    int64_t *removed, struct tg_err *err);

/* The UTC day of t as "YYYY-MM-DD" into out (at least 11 bytes). */
void tg_reports_day(time_t t, char out[11]);

/* ==== Received reports and our own outgoing reports ====================
 * (store/reports_rx.c)
 *
 * Received reports (RFC 8460 §4, collected by rpt/collect) are stored
 * normalised: one row per report (organization, contact, report-id, date
 * range, how it arrived), one per policy (type, policy strings, policy
 * domain, mx hosts, success and failure counts), one per failure-details
 * entry. The original as received is kept gzip-compressed beside them
 * (split into chunks under sqlite's value length limit), so a report can
 * be re-read or handed to another tool later. A report is stored once
 * per (organization-name, report-id) (RELIABILITY R-04): adding it again
 * changes nothing and says so.
 *
 * Quota: tg_reports_rx_add takes the database size the caller
 * allows; when the new report would pass it, the oldest received reports
 * (by arrival) are removed first, in the same transaction. If removing
 * every received report would still not make room, nothing is stored.
 * Our session results and outgoing reports are never pruned for room:
 * they are small and are pruned by age (tg_reports_prune_sessions,
 * tg_reports_tx_prune).
 *
 * Outgoing reports (rpt/send): one row per (UTC day, policy domain) made
 * from the session results, with the gzip of its JSON, and one delivery
 * row per rua URI with its retry state. The UNIQUE (day, domain) key
 * makes generating a day twice (daemon and CLI at once) harmless.
 *
 * Read functions call fn once per row, in a stable order; the strings of
 * the row are borrowed for the duration of the call only.
 */

struct tg_buf;

/* Returned by functions that address one row that does not exist. */
#define TG_REPORTS_NOTFOUND	1

/* How a received report arrived. */
#define TG_REPORTS_SRC_HTTPS	"https"		/* RFC 8460 §5.3.2 POST */
#define TG_REPORTS_SRC_MAIL	"mail"		/* §5.3.1, DKIM-verified */
#define TG_REPORTS_SRC_IMPORT	"import"	/* tlsgate report import */

/* One failure-details entry (RFC 8460 §4.4). Strings borrowed, NULL = "". */
struct tg_reports_rx_failure {
	const char *result_type;	/* required; kept as received */
	const char *sending_mta_ip;
	const char *receiving_mx_hostname;
	const char *receiving_mx_helo;
	const char *receiving_ip;
	const char *additional_information;
	const char *failure_reason_code;
	int64_t failed_session_count;
};

/* One policy of a report. On read, strings/mx_hosts are decoded copies
 * owned by the store for the duration of the callback. */
struct tg_reports_rx_policy {
	int64_t id;				/* read only */
	enum tg_reports_policy_type type;
	const char *domain;			/* normalised name */
	const char *const *strings;		/* policy-string[] */
	size_t n_strings;
	const char *const *mx_hosts;		/* mx-host[] */
	size_t n_mx_hosts;
	int64_t success;		/* total-successful-session-count */
	int64_t failure;		/* total-failure-session-count */
	const struct tg_reports_rx_failure *failures;	/* add only */
	size_t n_failures;
};

/* A received report, to add (all borrowed) or as read back (counts
 * filled in, policies NULL: see tg_reports_rx_policies). */
struct tg_reports_rx_report {
	int64_t id;			/* read only */
	const char *org;		/* organization-name, required */
	const char *report_id;		/* required */
	const char *contact;		/* NULL/"" when null or missing */
	time_t start, end;		/* date-range, UTC */
	time_t received;
	const char *source;		/* TG_REPORTS_SRC_* */
	const char *peer;		/* client IP, file name; may be "" */
	const char *auth;		/* "dkim=pass d=... s=..." or "" */
	unsigned flags;			/* rpt/report TG_REPORT_F_* */
	int64_t discarded;		/* policies dropped: not our domains */
	const char *raw_media;		/* media type of the original */
	const void *raw_gz;		/* add only: gzip of the original */
	size_t raw_gz_len;
	int64_t raw_size;		/* bytes of the original */
	const struct tg_reports_rx_policy *policies;	/* add only */
	size_t n_policies;
	/* Read only. */
	int64_t n_policies_stored, success, failure;
	const char *domains;		/* policy domains, comma-separated */
};

/*
 * Store one received report (validated by the caller: rpt/report) in one
 * transaction, pruning the oldest received reports first when the
 * database would pass quota bytes (0: no quota). Returns 0 with *id set
 * and *duplicate 0 when stored; 0 with *id the existing report and
 * *duplicate 1 when (org, report_id) is stored already (nothing
 * changed); -1 with err (TG_ERR_PERM for bad values or "quota: no room",
 * TG_ERR_TEMP when busy). *pruned (may be NULL) counts removed reports.
 */
int tg_reports_rx_add(struct tg_reports *r,
    const struct tg_reports_rx_report *in, int64_t quota, int64_t *id,
    int *duplicate, int64_t *pruned, struct tg_err *err);

typedef int (*tg_reports_rx_fn)(const struct tg_reports_rx_report *rep,
    void *arg);
typedef int (*tg_reports_rx_policy_fn)(
    const struct tg_reports_rx_policy *pol, void *arg);
typedef int (*tg_reports_rx_failure_fn)(
    const struct tg_reports_rx_failure *f, void *arg);

/*
 * Received reports with a policy for domain (NULL: any) whose date range
 * starts at or after since (0: any), by start time, then id. fn
 * returning non-zero stops the walk and is returned.
 */
int tg_reports_rx_list(struct tg_reports *r, const char *domain,
    time_t since, tg_reports_rx_fn fn, void *arg, struct tg_err *err);

/* The report with this id: fn called once; TG_REPORTS_NOTFOUND if none. */
int tg_reports_rx_get(struct tg_reports *r, int64_t id, tg_reports_rx_fn fn,
    void *arg, struct tg_err *err);

/* The policies of report id, in the order received. */
int tg_reports_rx_policies(struct tg_reports *r, int64_t id,
    tg_reports_rx_policy_fn fn, void *arg, struct tg_err *err);

/* The failure details of policy id, in the order received. */
int tg_reports_rx_failures(struct tg_reports *r, int64_t policy_id,
    tg_reports_rx_failure_fn fn, void *arg, struct tg_err *err);

/*
 * The original of report id, still gzip-compressed, into out
 * (initialised by the caller; appended to, within its limit), and its
 * media type into media (medialen bytes). 0, TG_REPORTS_NOTFOUND or -1.
 */
int tg_reports_rx_raw(struct tg_reports *r, int64_t id, struct tg_buf *out,
    char *media, size_t medialen, struct tg_err *err);

/* Summaries over received reports, per UTC day of the date range start. */
enum tg_reports_rx_group {
	TG_REPORTS_BY_DAY = 0,	/* day, domain: counts, reports */
	TG_REPORTS_BY_RESULT,	/* day, domain, result type: failed sessions */
	TG_REPORTS_BY_ORG,	/* day, domain, organization: counts */
	TG_REPORTS_BY_PARTNER	/* domain, organization over the whole
				   period, most failures first */
};

struct tg_reports_rx_sum {
	const char *day;	/* "YYYY-MM-DD"; "" for BY_PARTNER */
	const char *domain;
	const char *key;	/* result type or organization; "" for BY_DAY */
	int64_t success;	/* BY_RESULT: 0 */
	int64_t failure;	/* BY_RESULT: failed-session-count sum */
	int64_t reports;	/* distinct reports counted */
};

typedef int (*tg_reports_rx_sum_fn)(const struct tg_reports_rx_sum *s,
    void *arg);

/* One summary; domain NULL = every domain, since 0 = all time. */
int tg_reports_rx_summary(struct tg_reports *r, enum tg_reports_rx_group g,
    const char *domain, time_t since, tg_reports_rx_sum_fn fn, void *arg,
    struct tg_err *err);

/* Bytes the database file uses (pages in use × page size). */
int tg_reports_usage(struct tg_reports *r, int64_t *bytes,
    struct tg_err *err);

/* States of a delivery of one of our reports to one rua URI. */
enum tg_reports_tx_state {
	TG_REPORTS_TX_PENDING = 0,	/* to be (re)tried at next_try */
	TG_REPORTS_TX_SENT,		/* 2xx, or 250 from the relay */
	TG_REPORTS_TX_FAILED,		/* refused for good (5xx, bad URI) */
	TG_REPORTS_TX_EXPIRED		/* still failing at its deadline */
};

/* "pending", "sent", "failed", "expired"; "invalid" out of range. */
const char *tg_reports_tx_state_name(enum tg_reports_tx_state s);

/* One outgoing report, to add (borrowed). */
struct tg_reports_tx_new {
	const char *day;		/* "YYYY-MM-DD" */
	const char *policy_domain;
	const char *report_id;
	const char *filename;		/* RFC 8460 §5.1 */
	time_t created;
	const char *rua;		/* as published, for the record */
	const char *note;		/* why nothing is sent, or "" */
	int64_t success, failure;	/* session totals of the report */
	const void *gz;			/* NULL when nothing is sent */
	size_t gz_len;
};

/*
 * Record an outgoing report and one pending delivery per URI (uris
 * borrowed, n ≤ TG_STORE_RUA_URIS_MAX), first tried at first_try, given
 * up at deadline. When (day, domain) is recorded already nothing changes
 * and *exists is 1. Returns 0 or -1 with err.
 */
int tg_reports_tx_add(struct tg_reports *r, const struct tg_reports_tx_new *t,
    const char *const *uris, size_t n, time_t first_try, time_t deadline,
    int64_t *id, int *exists, struct tg_err *err);

/* 1 in *exists when a report for (day, domain) is recorded. */
int tg_reports_tx_exists(struct tg_reports *r, const char *day,
    const char *policy_domain, int *exists, struct tg_err *err);

/* A delivery as read back; strings and gz borrowed during the call. */
struct tg_reports_tx_delivery {
	int64_t id, report;
	const char *day, *policy_domain, *report_id, *filename, *uri;
	const char *note;
	enum tg_reports_tx_state state;
	int64_t attempts;
	time_t created, next_try, deadline, updated;
	const char *last_error;
	int64_t success, failure;
	const void *gz;			/* NULL when the report has none */
	size_t gz_len;
};

typedef int (*tg_reports_tx_fn)(const struct tg_reports_tx_delivery *d,
    void *arg);

/*
 * Deliveries: of day (NULL: any); with due set, only pending ones whose
 * next_try <= now. By next_try, id.
 */
int tg_reports_tx_deliveries(struct tg_reports *r, const char *day, int due,
    time_t now, tg_reports_tx_fn fn, void *arg, struct tg_err *err);

/* Outgoing reports recorded without deliveries (nothing asked for, or
 * nothing to send), for listings: fn gets uri "" and state SENT. */
int tg_reports_tx_unsent(struct tg_reports *r, const char *day,
    tg_reports_tx_fn fn, void *arg, struct tg_err *err);

/*
 * Record the outcome of an attempt on delivery id: its new state,
 * attempt count, next try and error text (NULL = ""; cut to
 * TG_REPORTS_TEXT_MAX - 1 bytes). 0, TG_REPORTS_NOTFOUND or -1.
 */
int tg_reports_tx_set(struct tg_reports *r, int64_t id,
    enum tg_reports_tx_state state, int64_t attempts, time_t next_try,
    const char *last_error, time_t now, struct tg_err *err);

/* Remove outgoing reports of days before before_day (exclusive). */
int tg_reports_tx_prune(struct tg_reports *r, const char *before_day,
    int64_t *removed, struct tg_err *err);

/* ==== end of received/outgoing reports ==== */

#endif
