/*
 * rpt/summary — the summary of received TLS reports (RFC 8460) that
 * `tlsgate report summary` prints and the console's GET /api/reports
 * shows: per UTC day (of a report's date range start) and policy domain,
 * the successful and failed sessions and the reports counted, the failed
 * sessions per result type (RFC 8460 §4.3), the counts per reporting
 * organisation; and over the whole period the partners (organisation,
 * domain) with the most failures.
 *
 * Owns: loading the four summaries of store/reports into memory, their
 * JSON form, and the success rate. Does not own: the SQL (store/reports),
 * the text form (the CLI's), parsing or storing reports (rpt/report,
 * rpt/collect).
 *
 * The JSON form: {"days": [{"day", "domain", "success", "failure",
 * "success_rate" (percent, 100 without sessions), "reports",
 * "failures_by_result": {type: count}, "by_organization":
 * [{"organization", "success", "failure"}]}], "top_failing_partners":
 * [{"organization", "domain", "success", "failure"}]} (at most
 * TG_RPTSUM_PARTNERS, those with a failure only). Every string came from
 * a stranger's report: jansson escapes it, a reader must still treat it
 * as text.
 */
#ifndef TG_RPT_SUMMARY_H
#define TG_RPT_SUMMARY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "store/reports.h"
#include "util/err.h"

/* The partners with the most failures that are shown. */
#define TG_RPTSUM_PARTNERS	10

/* One row of a summary (struct tg_reports_rx_sum, copied). */
struct tg_rptsum_row {
	char day[11];			/* "YYYY-MM-DD"; "" for partners */
	char *domain, *key;		/* owned */
	int64_t success, failure, reports;
};

struct tg_rptsum_rows {
	struct tg_rptsum_row *v;	/* owned */
	size_t n, cap;
};

/* The four summaries (store/reports: TG_REPORTS_BY_*). */
struct tg_rptsum {
	struct tg_rptsum_rows day, result, org, partner;
};

/*
 * Load into *s (overwritten; release with tg_rptsum_clear, also after a
 * failure) the summaries of db (borrowed) for domain (NULL: every
 * domain) over reports whose date range starts at or after since (0:
 * all). 0, or -1 with err.
 */
int tg_rptsum_load(struct tg_reports *db, const char *domain, time_t since,
    struct tg_rptsum *s, struct tg_err *err);

/*
 * The same from <state_dir>/reports.db, opened read-only for the call:
 * a database that does not exist yet (no report ever received) gives
 * empty summaries. 0, or -1 with err.
 */
int tg_rptsum_read(const char *state_dir, const char *domain, time_t since,
    struct tg_rptsum *s, struct tg_err *err);

/* Release what s owns and zero it. NULL-safe. */
void tg_rptsum_clear(struct tg_rptsum *s);

/* 1 when a and b are of the same day and domain. */
int tg_rptsum_same_day(const struct tg_rptsum_row *a,
    const struct tg_rptsum_row *b);

/* The success rate in percent: 100 when there was no session. */
double tg_rptsum_rate(int64_t success, int64_t failure);

/* The JSON form of s (borrowed; see above): a new reference, NULL when
 * out of memory. */
json_t *tg_rptsum_json(const struct tg_rptsum *s);

#endif
