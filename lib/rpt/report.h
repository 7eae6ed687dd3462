/*
 * rpt/report — the TLS-RPT aggregate report (RFC 8460 §4), in JSON.
 *
 * Owns: one normalised struct for a report, whether received or our own;
 * parsing and validating a received report's JSON into it (jansson);
 * generating the JSON of our own reports from it; the RFC 8460 §4.3
 * result types; the report file name of RFC 8460 §5.1.
 *
 * Does not own: gzip (rpt/gzip), mail and DKIM (rpt/mail), HTTP, the
 * store, aggregating session results into counts, scheduling.
 *
 * Parsing. Everything a collector receives is hostile (RELIABILITY R-02)
 * and real senders vary (RFC-CHECKLIST, "users complain" 7), so:
 *   - the input is bounded (TG_RPT_JSON_MAX) and its nesting depth is
 *     checked on the raw bytes, strings-aware, before jansson sees it
 *     (TG_RPT_JSON_DEPTH_MAX): jansson itself recurses to depth 2048;
 *   - duplicate object keys are refused anywhere: RFC 8460 §4 makes the
 *     report I-JSON, and RFC 7493 §2.3 forbids duplicate names; two
 *     "total-failure-session-count" keys would let two readers of the
 *     same report see different numbers;
 *   - "\u0000" in a string is refused (no C-string truncation); jansson
 *     refuses invalid UTF-8 and lone surrogates;
 *   - counts must be JSON integers, 0 ≤ n ≤ 2^53 (RFC 7493 §2.2);
 *   - arrays and strings are bounded (TG_RPT_POLICIES_MAX,
 *     TG_RPT_DETAILS_MAX, TG_RPT_STRINGS_MAX, TG_RPT_FIELD_MAX);
 *   - tolerated, because large senders do it: "mx-host" as a string or
 *     an array; "contact-info" null or missing; "sending-mta-ip" and any
 *     other optional failure-details field missing; timestamps without a
 *     zone (read as UTC) or with fractional seconds; an end-datetime at
 *     midnight of the next day; "additional-info" for
 *     "additional-information"; unknown keys (ignored); result types
 *     outside §4.3 (kept as text, flagged).
 * Errors name the JSON path of the offending value, e.g.
 * "policies[1].summary.total-failure-session-count: not an integer";
 * JSON syntax errors carry the byte offset.
 *
 * Generating. Our reports follow RFC 8460 §4 strictly: policies always an
 * array (§4), policy-domain as a normalised A-label name, TLSA
 * policy-string one "u s m hex" string per RR, STS policy-string one
 * "mx:" line per pattern (§4.4), counts as JSON integers, result types
 * only from §4.3, contact-info present.
 */
#ifndef TG_RPT_REPORT_H
#define TG_RPT_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tls/tlsa.h"
#include "util/buf.h"
#include "util/err.h"

/* RFC 7493 §2.2: integers beyond 2^53 are not interoperable. */
#define TG_REPORT_COUNT_MAX	((uint64_t)1 << 53)
/* A policy-string entry: a TLSA RR with a full certificate fits. */
#define TG_REPORT_PSTRING_MAX	TG_TLSA_TEXT_MAX

/* RFC 8460 §4.3 result types. */
enum tg_report_result {
	TG_RR_UNKNOWN = 0,	/* not a §4.3 type: text kept, report
				   flagged */
	TG_RR_STARTTLS_NOT_SUPPORTED,	/* §4.3.1 */
	TG_RR_CERTIFICATE_HOST_MISMATCH,
	TG_RR_CERTIFICATE_EXPIRED,
	TG_RR_CERTIFICATE_NOT_TRUSTED,
	TG_RR_VALIDATION_FAILURE,
	TG_RR_TLSA_INVALID,		/* §4.3.2.1 */
	TG_RR_DNSSEC_INVALID,
	TG_RR_DANE_REQUIRED,
	TG_RR_STS_POLICY_FETCH_ERROR,	/* §4.3.2.2 */
	TG_RR_STS_POLICY_INVALID,
	TG_RR_STS_WEBPKI_INVALID
};

/* RFC 8460 §4.4 policy-type. */
enum tg_report_policy_type {
	TG_REPORT_POLICY_TLSA = 1,
	TG_REPORT_POLICY_STS,
	TG_REPORT_POLICY_NONE		/* "no-policy-found" */
};

/* Set in tg_report.flags by the parser. */
#define TG_REPORT_F_UNKNOWN_RESULT	0x01 /* a result type outside §4.3 */
#define TG_REPORT_F_NO_CONTACT		0x02	/* contact-info null/missing */
#define TG_REPORT_F_LOCAL_TIME		0x04	/* a timestamp had no zone */
#define TG_REPORT_F_MX_HOST_STRING	0x08	/* an mx-host was a string */

struct tg_report_failure {
	enum tg_report_result result;	/* TG_RR_UNKNOWN: see result_type */
	char *result_type;		/* owned; as received */
	char *sending_mta_ip;		/* owned; NULL if absent */
	char *receiving_mx_hostname;	/* owned; NULL if absent */
	char *receiving_mx_helo;	/* owned; NULL if absent */
	char *receiving_ip;		/* owned; NULL if absent */
	uint64_t failed_session_count;
	char *additional_information;	/* owned; NULL if absent */
	char *failure_reason_code;	/* owned; NULL if absent; free text */
};

struct tg_report_policy {
	enum tg_report_policy_type type;
	char *domain;			/* owned; policy-domain, normalised */
	char **strings;			/* owned; policy-string[] */
	size_t n_strings;
	char **mx_hosts;		/* owned; mx-host, string or array */
	size_t n_mx_hosts;
	uint64_t success_count;		/* total-successful-session-count */
	uint64_t failure_count;		/* total-failure-session-count */
	struct tg_report_failure *failures;	/* owned; failure-details[] */
	size_t n_failures;
};

struct tg_report {
	char *org_name;			/* owned; organization-name */
	char *report_id;		/* owned; report-id */
	char *contact_info;		/* owned; NULL if null or missing */
	time_t start;			/* date-range start-datetime, UTC */
	time_t end;			/* date-range end-datetime, UTC */
	struct tg_report_policy *policies;	/* owned */
	size_t n_policies;
	unsigned flags;			/* TG_REPORT_F_* (parser only) */
};

/* "certificate-expired" etc., or NULL for TG_RR_UNKNOWN. Static. */
const char *tg_report_result_name(enum tg_report_result r);

/* The §4.3 type named s (exact, case-sensitive), else TG_RR_UNKNOWN. */
enum tg_report_result tg_report_result_from_name(const char *s);

/* "tlsa", "sts", "no-policy-found"; NULL if out of range. Static. */
const char *tg_report_policy_type_name(enum tg_report_policy_type t);

/*
 * Parse and validate len bytes of report JSON (borrowed; need not be
 * NUL-terminated). On success returns 0 and *out (taken by the caller:
 * tg_report_free). On failure returns -1, *out NULL, err (permanent;
 * temporary only when out of memory) naming the JSON path or offset.
 */
int tg_report_parse(const char *json, size_t len, struct tg_report **out,
    struct tg_err *err);

/* Release r and everything it owns. NULL-safe. */
void tg_report_free(struct tg_report *r);

/*
 * Building our own report. tg_report_new copies its strings (contact
 * may be NULL here, but tg_report_to_json requires it); NULL when out of
 * memory. The add functions copy their arguments and return 0, or -1
 * with err (a limit passed, a bad value, out of memory). The counts of a
 * policy are set directly in the struct.
 */
struct tg_report *tg_report_new(const char *org_name, const char *report_id,
    const char *contact, time_t start, time_t end);

/* A new policy (domain is normalised; see util/dname). Borrowed pointer
 * into r, valid until the next tg_report_add_policy. NULL on error. */
struct tg_report_policy *tg_report_add_policy(struct tg_report *r,
    enum tg_report_policy_type type, const char *domain, struct tg_err *err);

/* One policy-string entry, as given. */
int tg_report_policy_add_string(struct tg_report_policy *p, const char *s,
    struct tg_err *err);

/* One TLSA RR as "u s m hex" (RFC 8460 §4.4; tg_tlsa_print). */
int tg_report_policy_add_tlsa(struct tg_report_policy *p,
    const struct tg_tlsa_rr *rr, struct tg_err *err);

/*
 * The lines of an MTA-STS policy (RFC 8461 §3.2): "version: STSv1",
 * "mode: <mode>", one "mx: <pattern>" per pattern, "max_age: <n>".
 */
int tg_report_policy_add_sts(struct tg_report_policy *p, const char *mode,
    long max_age, const char *const *mx, size_t n_mx, struct tg_err *err);

/* One mx-host entry. */
int tg_report_policy_add_mx(struct tg_report_policy *p, const char *mx,
    struct tg_err *err);

/* One failure-details entry; f is copied (its strings may be NULL
 * except that f->result must be a §4.3 type; f->result_type is
 * ignored and set from f->result). */
int tg_report_policy_add_failure(struct tg_report_policy *p,
    const struct tg_report_failure *f, struct tg_err *err);

/*
 * Generate the RFC 8460 §4 JSON of r into out (initialised by the
 * caller; appended to; limit TG_RPT_JSON_MAX unless out's is lower).
 * Returns 0, or -1 with err naming what violates the rules above.
 */
int tg_report_to_json(const struct tg_report *r, struct tg_buf *out,
    struct tg_err *err);

/*
 * RFC 8460 §5.1 file name:
 *   sender "!" policy-domain "!" begin "!" end [ "!" unique-id ]
 *   "." ( "json" / "json.gz" )
 * sender and policy_domain must be domain names (normalised here);
 * begin/end are written as seconds since the epoch; unique_id (NULL or
 * "" for none) must be a MIME token without "!". Returns 0 or -1 with
 * err (bad component, or outlen too small).
 */
int tg_report_filename(const char *sender, const char *policy_domain,
    time_t begin, time_t end, const char *unique_id, int gzip, char *out,
    size_t outlen, struct tg_err *err);

/* The UTC day containing t, as RFC 8460 §4.1 reports cover it:
 * 00:00:00 to 23:59:59. */
void tg_report_utc_day(time_t t, time_t *start, time_t *end);

/*
 * RFC 3339 date-time as reports carry it. Accepts
 * YYYY-MM-DD("T"/"t"/" ")hh:mm:ss[.frac][("Z"/"z"/±hh:mm)]; without a
 * zone the time is taken as UTC and *local (may be NULL) is set to 1.
 * Returns 0 or -1.
 */
int tg_report_parse_time(const char *s, time_t *out, int *local);

#endif
