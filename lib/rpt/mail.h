/*
 * rpt/mail — TLS-RPT reports received by e-mail (RFC 8460 §3, §5.3).
 *
 * Owns: taking one RFC 5322 message that claims to carry a report,
 * checking its DKIM signature with libopendkim, finding the report part
 * of its multipart/report; report-type="tlsrpt" body, decoding it
 * (base64 with OpenSSL's EVP_Decode*, quoted-printable, 7bit/8bit/binary)
 * and inflating it (rpt/gzip) into report JSON, plus the header fields
 * a collector keeps (TLS-Report-Domain, TLS-Report-Submitter, RFC 8460
 * §5.3).
 *
 * Does not own: SMTP, the mailbox, parsing the JSON (rpt/report), DNS.
 * The DKIM key lookup is a seam: the caller supplies a function that
 * returns the TXT record at <selector>._domainkey.<domain> (the daemon
 * wires it to dns/), or, for tests, a key file read by libopendkim's own
 * file query method (DKIM_QUERY_FILE; lines "sel._domainkey.domain
 * v=DKIM1; k=rsa; p=..."). The lookup is synchronous, as libopendkim's
 * is: a caller on the event loop runs tg_rptmail_parse in a worker, or
 * answers the callback from records it fetched beforehand.
 *
 * Acceptance (RFC 8460 §3), in this order:
 *   - the message is at most message_max bytes, its header section at
 *     most TG_RPT_MAIL_HEADER_MAX, and its top-level Content-Type is
 *     multipart/report with report-type=tlsrpt (one each of
 *     Content-Type, TLS-Report-Domain, TLS-Report-Submitter);
 *   - exactly one direct part is application/tlsrpt+gzip or
 *     application/tlsrpt+json (nested multiparts are not searched);
 *   - at least one DKIM signature verifies (header and body hash) and:
 *       has no l= tag ("DKIM signatures MUST NOT use the l= attribute");
 *       its key's service types (s=) are absent, "*", or include
 *       "tlsrpt" (RFC 8460 §3: reports signed with a key lacking
 *       s=tlsrpt SHOULD be ignored; opts.accept_email_only_keys relaxes
 *       this for keys that say s=email only);
 *       when opts.require_aligned is set, its d= is the
 *       TLS-Report-Submitter domain or a parent of it.
 *     A message without such a signature MUST be ignored: it is refused
 *     here, before its report part is decoded or inflated;
 *   - the part decodes and inflates within the caps: one gzip layer for
 *     +gzip, no gzip at all for +json, at most report_max bytes of JSON.
 * Signature times (t=, x=) are judged by libopendkim against the system
 * clock, time(), with its default drift; util/clock's override does not
 * reach them.
 * libopendkim accepts only keys with s= absent, "*" or "email"; a key
 * saying s=tlsrpt only is handed to it with "email" added (callback mode
 * only: in key-file mode libopendkim reads the key itself and refuses
 * such a key).
 */
#ifndef TG_RPT_MAIL_H
#define TG_RPT_MAIL_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"

enum tg_rptmail_keys {
	TG_RPTMAIL_KEYS_CALLBACK = 0,	/* opts.key_lookup */
	TG_RPTMAIL_KEYS_FILE		/* opts.key_file, for tests */
};

enum tg_rptmail_key_status {
	TG_RPTMAIL_KEY_FOUND = 0,	/* record text written to buf */
	TG_RPTMAIL_KEY_NOTFOUND,	/* NXDOMAIN / NODATA */
	TG_RPTMAIL_KEY_TEMPFAIL		/* try the whole message later */
};

/*
 * Find the DKIM key record for selector/domain (both borrowed) and
 * write its text, strings concatenated, NUL-terminated, into buf
 * (buflen bytes, about 1 KiB: libopendkim's limit).
 */
typedef enum tg_rptmail_key_status (*tg_rptmail_key_fn)(void *arg,
    const char *selector, const char *domain, char *buf, size_t buflen);

struct tg_rptmail_opts {
	enum tg_rptmail_keys keys;
	tg_rptmail_key_fn key_lookup;	/* KEYS_CALLBACK */
	void *key_arg;			/* borrowed; passed to key_lookup */
	const char *key_file;		/* KEYS_FILE; copied */
	size_t message_max;		/* 0: TG_RPT_MAIL_MAX */
	size_t report_max;		/* 0: TG_RPT_JSON_MAX */
	int accept_email_only_keys;	/* see above; default 0 */
	int require_aligned;		/* see above; default 0 */
};

#define TG_RPTMAIL_TEXT_MAX	256

struct tg_rptmail_result {
	int verified;			/* a signature satisfied RFC 8460 §3 */
	char reason[TG_RPTMAIL_TEXT_MAX];	/* why (not) */
	char dkim_domain[TG_DNAME_MAX + 1];	/* d= of it, or "" */
	char dkim_selector[TG_LABEL_MAX + 1];	/* s= of it, or "" */
	int aligned;			/* d= is the submitter or a parent */
	char report_domain[TG_DNAME_MAX + 1];	/* TLS-Report-Domain, or "" */
	char submitter[TG_DNAME_MAX + 1];	/* TLS-Report-Submitter/"" */
	char from[TG_RPTMAIL_TEXT_MAX];		/* raw, unfolded, cut */
	char subject[TG_RPTMAIL_TEXT_MAX];
	char message_id[TG_RPTMAIL_TEXT_MAX];
	char filename[TG_RPTMAIL_TEXT_MAX];	/* of the report part, or "" */
	int gzip;			/* part was application/tlsrpt+gzip */
	struct tg_buf report;		/* owned; the JSON, only on success */
};

struct tg_rptmail;

/*
 * A verifier with its own libopendkim library handle. opts is copied
 * (key_arg stays borrowed). Returns NULL with err when libopendkim
 * cannot be set up or opts is inconsistent. Not thread-safe: one per
 * thread. Free with tg_rptmail_free.
 */
struct tg_rptmail *tg_rptmail_new(const struct tg_rptmail_opts *opts,
    struct tg_err *err);

/* Release m. NULL-safe. */
void tg_rptmail_free(struct tg_rptmail *m);

/* Prepare res for tg_rptmail_parse; release it with ..._result_free. */
void tg_rptmail_result_init(struct tg_rptmail_result *res);
void tg_rptmail_result_free(struct tg_rptmail_result *res);

/*
 * Check and unpack one message (len bytes, borrowed; CRLF or LF line
 * ends). Returns 0 when the report is acceptable: res->verified is 1 and
 * res->report holds the JSON. Otherwise -1 with err: permanent for a
 * malformed or unauthenticated message (ignore it), temporary when the
 * key lookup said TEMPFAIL or memory ran out (try again later); res
 * still carries whatever header fields and DKIM reason were found.
 */
int tg_rptmail_parse(struct tg_rptmail *m, const char *msg, size_t len,
    struct tg_rptmail_result *res, struct tg_err *err);

#endif
