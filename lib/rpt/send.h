/*
 * rpt/send — our daily TLS-RPT reports about the mail we relayed to other
 * domains (RFC 8460 §4, §5), from building to delivery.
 *
 * Owns:
 *   - building one report per policy domain and UTC day (§4.1: 00:00 to
 *     23:59:59) from the relay's session results in reports.db
 *     (store/reports: tg_reports_record_session): one policy entry per
 *     distinct (type, policy strings, mx hosts), its success and failure
 *     totals, one failure-details entry per distinct failure; policy
 *     strings as RFC 8460 §4.4 wants them (TLSA: one "u s m hex" per RR;
 *     STS: the policy's lines, one "mx:" per pattern; no-policy-found:
 *     none, the policy-domain still given, checklist "users complain" 6);
 *   - asking the domain whether it wants reports: the `_smtp._tls` TXT
 *     (§3, rpt/tlsrpt) looked up when the report is made. No record, or
 *     not exactly one v=TLSRPTv1 record: nothing is sent, ever, and the
 *     day is recorded as "not requested". A bogus or failed lookup is
 *     tried again at the next run;
 *   - gzip (§5.2) and the §5.1 file name, the report stored in
 *     reports.db with one delivery per rua URI;
 *   - delivering: https by POST (§5.3.2, net/fetch), mailto as a message
 *     submitted over SMTP to our relay (§5.3.1, smtp/client); retries
 *     with exponential backoff for up to TG_RPT_SEND_TRY_S (a day, §5.4),
 *     the first try after a random delay (§4.1) unless run by hand;
 *   - the mail itself: multipart/report; report-type="tlsrpt", a text
 *     part and the application/tlsrpt+gzip part, TLS-Report-Domain and
 *     TLS-Report-Submitter (§5.3.1), DKIM-signed with libopendkim when a
 *     key is configured (no l=, §3);
 *   - the submission marker (below).
 *
 * Does not own: recording sessions (the relay), DNS and HTTP machinery,
 * the schedule (rptd's timer, `tlsgate report send`), SQL.
 *
 * Decisions:
 *   - HTTPS certificates are verified (web PKI: sts.ca_file or the system
 *     store, name checked). RFC 8460 §5.3.2 lets a submitter ignore
 *     certificate errors; we do not, because a report names our sending
 *     addresses and the receiving side's hosts, and an endpoint that
 *     cannot prove its name could be anyone. A certificate failure is a
 *     failed attempt like any other, retried; a domain that also lists a
 *     mailto: gets the report that way. The SSRF guard of net/fetch
 *     applies: a published rua cannot make us POST to private or local
 *     addresses (unless sts.allow_private_addresses, for test networks).
 *   - HTTP 2xx is success (§5.3.2); other 4xx than 408 and 429 are final
 *     (the collector refuses this report; sending it again cannot help);
 *     everything else is retried.
 *   - SMTP: 250 after the data is success; a 5xx final; anything else,
 *     including an unreachable relay, is retried. While the relay cannot
 *     be reached the message is also written to the outbox directory
 *     (one file per delivery, removed once the relay took it), so an
 *     administrator can see and hand over what is waiting; with no relay
 *     configured at all the outbox is the hand-over and the delivery is
 *     done once the file is written.
 *   - The reporting organization (report.org_name), contact
 *     (report.contact) and the submitter domain come from the config.
 *     The submitter is the domain of report.contact when that is a mail
 *     address, else relay.hostname; it is the sender in the file name,
 *     the TLS-Report-Submitter, the DKIM d= and the domain of From.
 *
 * Submission marker (RFC 8460 §5.3.1, RFC-CHECKLIST 46): every report
 * mail starts with the line of smtp/submark, added after DKIM signing
 * (not covered by the signature), so that our relay delivers it whatever
 * the collector's TLS policy and leaves its sessions out of the reports.
 *
 * DKIM signing (RFC 8460 §3): with report.dkim_selector set, the key is
 * the PEM RSA private key <state_dir>/dkim/<selector>.key; the matching
 * record to publish is <selector>._domainkey.<submitter> TXT
 * "v=DKIM1; k=rsa; s=email:tlsrpt; p=...". Without a selector the mail
 * is not signed (collectors are then required to ignore it, so the
 * daemon warns once per run).
 */
#ifndef TG_RPT_SEND_H
#define TG_RPT_SEND_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/conf.h"
#include "dns/resolver.h"
#include "net/fetch.h"
#include "rpt/report.h"
#include "smtp/submark.h"
#include "store/reports.h"
#include "util/buf.h"
#include "util/err.h"


struct tg_send_config {
	const char *org_name;		/* organization-name; required */
	const char *contact;		/* contact-info; required */
	const char *submitter;		/* our domain (above); required */
	const char *mail_from;		/* From: and MAIL FROM; required */
	const char *helo_name;		/* EHLO name towards the relay */
	const char *relay_addr;		/* IP literal; NULL/"": outbox only */
	unsigned relay_port;
	const char *outbox_dir;		/* required for mailto */
	const char *dkim_selector;	/* NULL/"": no signature */
	const char *dkim_key_file;	/* PEM, with a selector */
	const unsigned char *marker_key; /* TG_SUBMARK_KEY_LEN bytes */
	struct tg_fetch_params fetch;	/* ca_file, private addresses... */
	unsigned delay_max_s;		/* random delay of a day's first try */
};

/* The config of a run: all strings borrowed for the sender's life. */

struct tg_send;

/* What a run did, one event per step, for the CLI and tests. */
enum tg_send_event_kind {
	TG_SEND_EV_BUILT = 0,		/* a report was made (json set) */
	TG_SEND_EV_NOT_REQUESTED,	/* no usable _smtp._tls record */
	TG_SEND_EV_LOOKUP_FAILED,	/* DNS: try again next run */
	TG_SEND_EV_DELIVERED,		/* 2xx / 250 / outbox hand-over */
	TG_SEND_EV_RETRY,		/* failed, tried again later */
	TG_SEND_EV_FAILED		/* failed for good, or expired */
};

struct tg_send_event {
	enum tg_send_event_kind kind;
	const char *day;
	const char *domain;
	const char *uri;		/* deliveries; "" otherwise */
	const char *filename;		/* §5.1 */
	const char *json;		/* BUILT: the report JSON */
	const char *rua;		/* BUILT: the URIs, comma-separated */
	const char *text;		/* reason, reply, "" */
	int64_t success, failure;	/* BUILT: session totals */
};

typedef void (*tg_send_event_fn)(const struct tg_send_event *ev, void *arg);
typedef void (*tg_send_done_fn)(struct tg_send *s, void *arg);

/* Flags of tg_send_run. */
#define TG_SEND_NOW	0x1u	/* no random delay; every pending delivery
				   of the day is due now */
#define TG_SEND_DRY_RUN	0x2u	/* build and report, store and send nothing */

/*
 * A sender on base with resolver res, fetcher f and database db (all
 * borrowed, outliving it); cfg copied (its strings borrowed). NULL with
 * err for a bad config.
 */
struct tg_send *tg_send_new(struct event_base *base, struct tg_resolver *res,
    struct tg_fetch *f, struct tg_reports *db,
    const struct tg_send_config *cfg, struct tg_err *err);

/* Cancel what is in flight (no done callback) and free. NULL-safe. Not
 * from inside its callbacks. */
void tg_send_free(struct tg_send *s);

/*
 * Start one run for day ("YYYY-MM-DD"; NULL: yesterday, UTC, by
 * util/clock): make the day's missing reports, then attempt every
 * delivery that is due. A day that has not ended is refused. ev (may be
 * NULL) hears every step; done is called once, from the loop, when
 * nothing is left in flight. Returns 0, or -1 with err (a run is going
 * on, bad day) and no callback.
 */
int tg_send_run(struct tg_send *s, const char *day, unsigned flags,
    tg_send_event_fn ev, tg_send_done_fn done, void *arg,
    struct tg_err *err);

/* 1 while a run is going on. */
int tg_send_busy(const struct tg_send *s);

/* Counts of the last run. */
struct tg_send_stats {
	unsigned built, not_requested, lookup_failed;
	unsigned delivered, retried, failed;
};
void tg_send_stats(const struct tg_send *s, struct tg_send_stats *out);

/* ---- from the configuration ---- */

/* A sender config with the storage its strings point into. */
struct tg_send_settings {
	struct tg_send_config cfg;	/* points into the fields below */
	char submitter[TG_DNAME_MAX + 1];
	char mail_from[TG_CONF_TEXT_MAX];
	char helo_name[TG_DNAME_MAX + 1];
	char relay_addr[TG_CONF_HOST_MAX];
	char outbox_dir[TG_PATH_MAX];
	char dkim_key_file[TG_PATH_MAX];
	unsigned char marker_key[TG_SUBMARK_KEY_LEN];
};

/*
 * Fill s from conf (borrowed; its strings must outlive s's use): the
 * org name, contact, submitter, From, EHLO name and relay address (the
 * first relay.listen entry; "every address" means the loopback), the
 * outbox <state_dir>/reports/outbox, the DKIM key file of
 * report.dkim_selector, the marker key (created when create_key is set),
 * the fetch settings of the sts.* keys and report.send_delay. Returns 0
 * or -1 with err (report.org_name or report.contact unset, no usable
 * submitter domain, bad selector, key file unreadable).
 */
int tg_send_settings_load(const struct tg_conf *conf, int create_key,
    struct tg_send_settings *s, struct tg_err *err);

/* ---- pure parts, exported for the daemon, the relay and tests ---- */

/*
 * Build the report of day for policy domain from db's session rows
 * (report_id borrowed, copied). *out taken by the caller
 * (tg_report_free); TG_REPORTS_NOTFOUND when there are no rows.
 */
int tg_send_build(struct tg_reports *db, const struct tg_send_config *cfg,
    const char *day, const char *domain, const char *report_id,
    struct tg_report **out, struct tg_err *err);

/*
 * The report mail for recipient rcpt (an address, borrowed) carrying gz
 * (len bytes, the gzip'd report) under filename, for policy domain, with
 * report_id; DKIM-signed as cfg says; marker first. Into out
 * (initialised by the caller; at most its limit). 0 or -1 with err.
 */
int tg_send_mail_build(const struct tg_send_config *cfg, const char *rcpt,
    const char *domain, const char *report_id, const char *filename,
    const void *gz, size_t len, time_t now, struct tg_buf *out,
    struct tg_err *err);

/*
 * The address of a "mailto:" URI (RFC 6068: up to "?", percent-decoded;
 * one address of local@domain without spaces, angle brackets or
 * controls) into out. 0 or -1 with err.
 */
int tg_send_mailto_addr(const char *uri, char *out, size_t outlen,
    struct tg_err *err);

/* The time of the next try after attempts failed tries (1, 2, ...):
 * TG_RPT_SEND_BACKOFF_S doubled per try, capped. */
time_t tg_send_next_try(int64_t attempts, time_t now);

#endif
