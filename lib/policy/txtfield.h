/*
 * policy/txtfield — the "name=value; name=value" syntax shared by the
 * MTA-STS (RFC 8461 §3.1) and TLS-RPT (RFC 8460 §3) TXT records.
 *
 * Both grammars are: field *(field-delim field) [field-delim], with
 * field-delim = *WSP ";" *WSP and field = name "=" value, where a value
 * is a run of visible characters other than ";" (and, for TLS-RPT's rua,
 * may contain "," and WSP around it). This module splits a record into
 * fields; each record parser decides what the fields mean.
 */
#ifndef TG_POLICY_TXTFIELD_H
#define TG_POLICY_TXTFIELD_H

#include <stddef.h>

#include "util/err.h"

struct tg_txtfield {
	const char *name;	/* borrowed from the record text */
	size_t name_len;
	const char *value;	/* borrowed; trailing WSP trimmed */
	size_t value_len;
	size_t offset;		/* where the field starts */
	int bad;		/* no '=' or an empty name */
};

/*
 * Take the next field at *pos. Returns 1 with f filled, 0 at the end.
 * A control character or non-ASCII byte makes the field bad.
 */
int tg_txtfield_next(const char *text, size_t len, size_t *pos,
    struct tg_txtfield *f);

/*
 * 1 if the record starts with version ("v=STSv1") followed by its end, a
 * ";" or WSP — the discovery rule of both RFC 8461 §3.1 and RFC 8460 §3.
 */
int tg_txtfield_has_version(const char *text, size_t len,
    const char *version);

/*
 * Among n TXT records keep those starting with version; exactly one must
 * remain: its index goes to *which. Otherwise -1 with err ("no TXT record
 * starts with ..." or "2 TXT records start with ...; exactly one is
 * allowed (<rfc>)").
 */
int tg_txtfield_select(const char *const *texts, const size_t *lens,
    size_t n, const char *version, const char *rfc, size_t *which,
    struct tg_err *err);

#endif
