/*
 * policy/sts — MTA-STS (RFC 8461), the sender side's pure parts.
 *
 * Owns: the `_mta-sts` TXT record — choosing the one record among an
 * RRset and parsing it (RFC 8461 §3.1). Fetching and parsing the HTTPS
 * policy, MX pattern matching and the policy cache are added beside it.
 * Pure functions: bytes in, struct or error out; no I/O.
 */
#ifndef TG_POLICY_STS_H
#define TG_POLICY_STS_H

#include <stddef.h>

#include "util/err.h"

#define TG_STS_ID_MAX 32	/* RFC 8461 §3.1: sts-id = 1*32(ALPHA / DIGIT) */

struct tg_sts_txt {
	char id[TG_STS_ID_MAX + 1];
};

/*
 * Parse one TXT record's text (its strings already concatenated without
 * spaces, RFC 8461 §3.1). Returns 0, or -1 with err (offset set) when the
 * record does not start with "v=STSv1" or has no valid id. Unknown fields
 * are ignored.
 */
int tg_sts_txt_parse(const char *text, size_t len, struct tg_sts_txt *out,
    struct tg_err *err);

/*
 * Choose among the TXT records at _mta-sts.<domain> (RFC 8461 §3.1):
 * records not starting with "v=STSv1" are ignored; exactly one must remain
 * and be valid, else there is no MTA-STS policy. texts/lens are borrowed.
 * Returns 0 with *out filled, or -1 with err explaining (none, several,
 * invalid).
 */
int tg_sts_txt_select(const char *const *texts, const size_t *lens,
    size_t n, struct tg_sts_txt *out, struct tg_err *err);

#endif
