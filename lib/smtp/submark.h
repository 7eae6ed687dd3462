/*
 * smtp/submark — the report-submission marker: how the relay knows that
 * a message is a TLS report of our own reporting daemon.
 *
 * RFC 8460 §5.3.1: report mail "MUST" be delivered even when the TLS
 * policy of the collector's domain cannot be met, and those sessions
 * SHOULD be left out of the next report (RFC-CHECKLIST 46). The relay
 * must therefore tell our own reports from any other mail without
 * trusting anything a third party could write. The report sender puts
 *     TLSGate-Report: v=1; mac=<64 lower-case hex digits>
 * as the first line of the message; mac is HMAC-SHA256 keyed with the 32
 * bytes of <state_dir>/report-submit.key (mode 0600, made by the first
 * program that needs it) over every byte after that line's CRLF (the
 * content as submitted, after SMTP dot-unstuffing). The relay prepends
 * its own Received field on receipt, so the marker is looked for as the
 * first line or right after one leading Received field.
 *
 * A relay that verifies the mac delivers with opportunistic TLS, records
 * no TLS-RPT session and removes the marker line before sending. A
 * forged or altered message fails the check and is handled like any
 * other mail: the marker cannot be used to escape TLS enforcement, and a
 * replay needs the exact bytes of one of our reports, which never leave
 * the gateway with the marker on them.
 *
 * Owns: the key file, the mac, finding and checking the line. Does not
 * own: composing reports (rpt/send), the delivery decision (policy).
 */
#ifndef TG_SMTP_SUBMARK_H
#define TG_SMTP_SUBMARK_H

#include <stddef.h>

#include "util/err.h"

#define TG_SUBMARK_FIELD	"TLSGate-Report"
#define TG_SUBMARK_KEY_FILE	"report-submit.key"
#define TG_SUBMARK_KEY_LEN	32
/* The whole marker line with its CRLF. */
#define TG_SUBMARK_LINE_LEN	(sizeof(TG_SUBMARK_FIELD ": v=1; mac=") - 1 + \
				 64 + 2)
/* The largest message taken for a report of ours: reports are at most
 * TG_RPT_SEND_GZ_MAX gzip'd, base64 in a MIME mail; anything larger is
 * handled as other mail without reading it whole. */
#define TG_SUBMARK_MSG_MAX	(4u * 1024 * 1024)
/* How far into the content the marker may start: one Received field. */
#define TG_SUBMARK_SEARCH_MAX	4096

/*
 * Read (create when create is set and it is missing: 32 random bytes,
 * mode 0600, fsync'd) the key <state_dir>/TG_SUBMARK_KEY_FILE into key.
 * 0 or -1 with err.
 */
int tg_submark_key_load(const char *state_dir, int create,
    unsigned char key[TG_SUBMARK_KEY_LEN], struct tg_err *err);

/*
 * The marker line (with CRLF and a NUL: TG_SUBMARK_LINE_LEN + 1 bytes)
 * for the n bytes at p that will follow it.
 */
void tg_submark_line(const unsigned char key[TG_SUBMARK_KEY_LEN],
    const void *p, size_t n, char line[TG_SUBMARK_LINE_LEN + 1]);

/*
 * 1 if msg (len bytes) starts with a marker line whose mac matches the
 * rest of msg under key, else 0. *body_off (may be NULL) gets the
 * offset of what follows the marker line.
 */
int tg_submark_check(const unsigned char key[TG_SUBMARK_KEY_LEN],
    const char *msg, size_t len, size_t *body_off);

/*
 * Where a marker line may start in content (the first len bytes of a
 * message, at most TG_SUBMARK_SEARCH_MAX looked at): 0 when the content
 * starts with the field name, or the offset just after one leading
 * Received field when the marker follows it; -1 when there is no marker
 * line (nothing is verified here; see tg_submark_check).
 */
long tg_submark_locate(const char *content, size_t len);

#endif
