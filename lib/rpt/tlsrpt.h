/*
 * rpt/tlsrpt — SMTP TLS Reporting (RFC 8460), pure parts.
 *
 * Owns: the `_smtp._tls` TXT record (RFC 8460 §3): choosing the one record
 * among an RRset and parsing its rua list. Beside it: rpt/report (report
 * JSON, result types, file names), rpt/gzip (bounded gzip), rpt/mail
 * (mailed reports and their DKIM check).
 */
#ifndef TG_RPT_TLSRPT_H
#define TG_RPT_TLSRPT_H

#include <stddef.h>

#include "util/err.h"

#define TG_TLSRPT_RUA_MAX	8	/* URIs kept from one rua field */
#define TG_TLSRPT_URI_MAX	512

struct tg_tlsrpt_txt {
	size_t rua_count;
	char rua[TG_TLSRPT_RUA_MAX][TG_TLSRPT_URI_MAX];
};

/*
 * Parse one record's text (strings concatenated, RFC 8460 §3). It must
 * start with "v=TLSRPTv1" and carry a rua field with one or more mailto:
 * or https: URIs separated by commas (WSP allowed around them). Unknown
 * fields are ignored. Returns 0 or -1 with err (offset set).
 */
int tg_tlsrpt_txt_parse(const char *text, size_t len,
    struct tg_tlsrpt_txt *out, struct tg_err *err);

/*
 * Among the TXT records at _smtp._tls.<domain>, keep those starting with
 * "v=TLSRPTv1"; exactly one must remain, else no reporting (RFC 8460 §3).
 */
int tg_tlsrpt_txt_select(const char *const *texts, const size_t *lens,
    size_t n, struct tg_tlsrpt_txt *out, struct tg_err *err);

#endif
