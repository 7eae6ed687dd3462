/*
 * rpt/collect — taking in the TLS-RPT reports other mail systems send
 * about our domains (RFC 8460 §5.3), whichever way they arrive.
 *
 * Owns: the one ingest path shared by the HTTPS endpoint (rptd), the CLI
 * import and the inbound MX: bytes plus what they claim to be
 *   → media type check → bounded inflate (rpt/gzip) → report JSON parse
 *     and schema check (rpt/report) → keep only the policies of domains we
 *     host → store once per (organization, report-id) with the original,
 *     under the database quota (store/reports)
 * and one log line per outcome. Also the hosted-domain set that decides
 * what "our" domains are, and the collector's per-source rate limiter
 * (RELIABILITY R-04).
 *
 * Does not own: HTTP (rptd), reading files (cli), MIME and DKIM
 * (rpt/mail, which this module calls for mailed reports), SQL.
 *
 * Decisions, each with its reason:
 *   - Media types (RFC 8460 §5.3.2, §6): the body must be declared
 *     application/tlsrpt+gzip or application/tlsrpt+json (parameters
 *     ignored, case-insensitive); anything else is "unsupported media
 *     type". A +json body that is gzip, a +gzip body that is not exactly
 *     one gzip member, or gzip inside the gzip is refused: one layer only
 *     (R-01).
 *   - Caps: the body at params.body_max (HTTP 413), the inflated JSON at
 *     TG_RPT_JSON_MAX with the ratio cap of rpt/gzip (413).
 *   - Reports for domains we do not host are discarded: a policy
 *     counts as ours when its policy-domain is a hosted domain or below
 *     one (some senders name the MX host for DANE policies). A report
 *     with no policy of ours is refused (403) and nothing is stored; a
 *     report with some is stored with those only, and the number dropped
 *     is kept with it. The original is kept whole either way.
 *   - Mailed reports must carry a DKIM signature that rpt/mail accepts
 *     (RFC 8460 §3: otherwise the report MUST be ignored): such a mail
 *     is refused, not stored. There is deliberately no switch to store
 *     unsigned mail: an administrator importing an archive whose signing
 *     keys are gone can save the attachment and import the .json.gz,
 *     which says who vouches for it (the administrator, source "import").
 *   - The JSON is authoritative (RFC 8460 §5.6): the TLS-Report-Domain
 *     header, the subject and the file name are not used to decide
 *     anything.
 *   - Duplicates (same organization-name and report-id) are not stored
 *     again and are answered as success (200): the sender did nothing
 *     wrong, and a retry after a lost response must not loop.
 */
#ifndef TG_RPT_COLLECT_H
#define TG_RPT_COLLECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "rpt/mail.h"
#include "store/reports.h"
#include "store/store.h"
#include "util/err.h"

#define TG_COLLECT_MEDIA_GZIP	"application/tlsrpt+gzip"
#define TG_COLLECT_MEDIA_JSON	"application/tlsrpt+json"
#define TG_COLLECT_MEDIA_MAIL	"message/rfc822"

/* ---- hosted domains ---------------------------------------------------- */

struct tg_collect_domains;

/* An empty set; NULL when out of memory. */
struct tg_collect_domains *tg_collect_domains_new(void);

/* NULL-safe. */
void tg_collect_domains_free(struct tg_collect_domains *d);

/* Add one name (normalised here). Returns 0 or -1 with err. */
int tg_collect_domains_add(struct tg_collect_domains *d, const char *name,
    struct tg_err *err);

/* A set holding every domain of config.db (st borrowed). NULL with err. */
struct tg_collect_domains *tg_collect_domains_load(struct tg_store *st,
    struct tg_err *err);

/* 1 if name is a hosted domain or below one, else 0. */
int tg_collect_domains_match(const struct tg_collect_domains *d,
    const char *name);

/* Number of names in the set. */
size_t tg_collect_domains_count(const struct tg_collect_domains *d);

/* ---- ingest -------------------------------------------------------------- */

struct tg_collect_params {
	struct tg_reports *db;			/* borrowed */
	const struct tg_collect_domains *domains;	/* borrowed */
	size_t body_max;		/* 0: TG_RPT_BODY_MAX */
	int64_t db_max;			/* reports.db quota; 0: none */
};

/* Where a report came from; strings borrowed. */
struct tg_collect_origin {
	const char *source;		/* TG_REPORTS_SRC_* */
	const char *peer;		/* client address, file name; or NULL */
	const char *sid;		/* log session id, or NULL */
	time_t received;		/* 0: now */
};

enum tg_collect_status {
	TG_COLLECT_STORED = 0,		/* 201 */
	TG_COLLECT_DUPLICATE,		/* 200: stored before */
	TG_COLLECT_BAD_TYPE,		/* 415 */
	TG_COLLECT_TOO_LARGE,		/* 413 */
	TG_COLLECT_INVALID,		/* 400 */
	TG_COLLECT_NOT_OURS,		/* 403: no policy for a hosted domain */
	TG_COLLECT_UNSIGNED,		/* 403: mail without acceptable DKIM */
	TG_COLLECT_NO_ROOM,		/* 507: larger than the whole quota */
	TG_COLLECT_TEMP			/* 503: try again later */
};

#define TG_COLLECT_TEXT_MAX	256

struct tg_collect_result {
	enum tg_collect_status status;
	int64_t id;			/* report id in reports.db, or 0 */
	size_t kept;			/* policies stored */
	size_t discarded;		/* policies not ours */
	int64_t pruned;			/* old reports removed for room */
	char org[TG_COLLECT_TEXT_MAX];		/* cut, for messages */
	char report_id[TG_COLLECT_TEXT_MAX];	/* cut, for messages */
	/* Why it was refused: "policies[0].summary: missing", "gzip: ...",
	 * or "stored" / "duplicate". */
	char reason[TG_ERR_MSG_MAX];
};

/*
 * The kind of body a Content-Type value (borrowed, may be NULL) declares:
 * 1 for application/tlsrpt+gzip, 0 for application/tlsrpt+json (media
 * type only, parameters ignored, case-insensitive), -1 for anything else
 * (RFC 8460 §5.3.2). For refusing a POST before its body is read.
 */
int tg_collect_media_type(const char *content_type);

/* "stored", "duplicate", "unsupported-media-type", ... Static. */
const char *tg_collect_status_name(enum tg_collect_status s);

/* The HTTP status to answer with (RFC 8460 §5.3.2: 200/201 success). */
int tg_collect_http_status(enum tg_collect_status s);

/*
 * Ingest one report body of len bytes (borrowed) declared as
 * content_type (the Content-Type value; borrowed). Returns 0 when the
 * report is stored or was stored before (res->status STORED or
 * DUPLICATE), else -1 with res->status and res->reason saying why.
 * Nothing is stored on -1.
 */
int tg_collect_body(const struct tg_collect_params *p,
    const char *content_type, const void *body, size_t len,
    const struct tg_collect_origin *o, struct tg_collect_result *res);

/*
 * tg_collect_body in two steps, so that the costly one can run on
 * another thread than the database's (rptd: the HTTPS server's):
 * tg_collect_prepare checks, inflates and parses body (borrowed: it
 * must stay until tg_collect_store), and needs nothing else; 0 with *out,
 * or -1 with *out NULL and res saying why. tg_collect_store keeps what
 * is ours (p) and stores it, or — prep NULL — takes res as prepare left
 * it; either way it logs the outcome and returns as tg_collect_body.
 */
struct tg_collect_prepared;
int tg_collect_prepare(const char *content_type, const void *body,
    size_t len, size_t body_max, struct tg_collect_prepared **out,
    struct tg_collect_result *res);
int tg_collect_store(const struct tg_collect_params *p,
    const struct tg_collect_prepared *prep,
    const struct tg_collect_origin *o, struct tg_collect_result *res);
void tg_collect_prepared_free(struct tg_collect_prepared *prep);

/*
 * Ingest one mailed report: an RFC 5322 message of len bytes (borrowed)
 * checked by m (borrowed; its key lookup decides where DKIM keys come
 * from). The original message is kept. Returns as tg_collect_body;
 * UNSIGNED when no signature satisfies RFC 8460 §3, TEMP when the key
 * lookup failed temporarily.
 */
int tg_collect_mail(const struct tg_collect_params *p, struct tg_rptmail *m,
    const char *msg, size_t len, const struct tg_collect_origin *o,
    struct tg_collect_result *res);

/*
 * Ingest a file an administrator imports: name decides the kind
 * ("*.json" report JSON, "*.json.gz" / "*.gz" gzip, "*.eml" a mailed
 * report checked by m, which may be NULL when no mail is expected);
 * any other name is judged by its first bytes (gzip magic, "{", or a
 * header line). Returns as tg_collect_body.
 */
int tg_collect_file(const struct tg_collect_params *p, struct tg_rptmail *m,
    const char *name, const void *data, size_t len,
    const struct tg_collect_origin *o, struct tg_collect_result *res);

/*
 * A tg_rptmail_key_fn (rpt/mail) that asks DNS for the DKIM key: the TXT
 * record at <selector>._domainkey.<domain>, looked up synchronously with
 * tg_dns_resolve_sync and the resolver settings arg (a const struct
 * tg_resolver_config *). NXDOMAIN or NODATA: not found; a failed or
 * bogus lookup: try later. It blocks: for the CLI, or a worker thread.
 */
enum tg_rptmail_key_status tg_collect_dns_key(void *arg,
    const char *selector, const char *domain, char *buf, size_t buflen);

/* ---- rate limit (RELIABILITY R-04) --------------------------------------- */

/*
 * Token buckets per source: an IPv4 address, or an IPv6 /64 (one
 * subscriber's prefix, so rotating addresses inside it does not help;
 * IPv4-mapped IPv6 addresses count as IPv4). Each bucket holds up to
 * per_minute tokens and refills at per_minute a minute. The table has a
 * fixed number of slots (memory bounded whatever the number of
 * sources); when the slots a source hashes to are taken, the least
 * recently used is reused.
 */
struct tg_collect_limiter;

/* per_minute ≥ 1; slots 0: TG_RPT_RATE_SLOTS. NULL when out of memory. */
struct tg_collect_limiter *tg_collect_limiter_new(unsigned per_minute,
    size_t slots);

/* NULL-safe. */
void tg_collect_limiter_free(struct tg_collect_limiter *l);

/* Take one token for sa at now_ms (monotonic). 1: allowed, 0: limited
 * (HTTP 429); unsupported address families are allowed. */
int tg_collect_limiter_admit(struct tg_collect_limiter *l,
    const struct sockaddr *sa, long long now_ms);

#endif
