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

#endif
