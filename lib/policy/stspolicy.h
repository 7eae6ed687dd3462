/*
 * policy/stspolicy — the MTA-STS policy body (RFC 8461 §3.2) and MX
 * pattern matching (RFC 8461 §4.1). Part of the sts module (policy/sts.h
 * includes this header); kept apart because it is pure text handling.
 *
 * Owns: parsing the body served at
 * https://mta-sts.<domain>/.well-known/mta-sts.txt into a struct, the
 * reverse (a canonical body from a struct, for the policy host and for
 * round-trip tests), checking one mx pattern, and matching an MX host
 * name against the patterns.
 *
 * Does not own: fetching the body (policy/sts, net/fetch), caching it,
 * deciding what a policy means for a delivery (policy).
 *
 * Parsing rules, as strict as RFC 8461 §3.2 and no stricter:
 *   - lines end in LF or CRLF (the ABNF's sts-policy-term = LF / CRLF;
 *     the prose's "CRLF-separated" is the subject of erratum 6253);
 *     the last line may lack an end;
 *   - a line is `name ":" *WSP value *WSP`; the name is
 *     (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / "."); the value has
 *     no control characters (UTF-8 is allowed in extension values);
 *   - names and the values of version and mode are case-sensitive
 *     (RFC 7405 %s"..." in the ABNF): "Enforce" is not a mode, and
 *     "Mode: enforce" is an unknown field, so the mode is then missing;
 *   - unknown fields are ignored; of a repeated field other than mx only
 *     the first counts, later ones are ignored entirely (RFC 8461 §3.2);
 *   - version (= "STSv1"), mode (enforce / testing / none) and max_age
 *     (1*10 DIGIT, at most 31557600) are required, in any order: the
 *     ABNF fixes no order, so version need not be the first line;
 *   - at least one mx unless mode is none; every mx value is
 *     ["*."] Domain (RFC 5321 §4.1.2), the wildcard only as the whole
 *     leftmost label.
 * Two deliberate leniencies, because refusing a policy means delivering
 * as if the domain had no MTA-STS at all (a downgrade): empty lines are
 * skipped, and one trailing dot on an mx pattern is accepted (and
 * dropped). mx patterns are stored in lower case.
 *
 * Every parse error names the line ("line 3: max_age: 99999999999 is
 * larger than 31557600") and carries the RFC 8460 result type
 * "sts-policy-invalid".
 */
#ifndef TG_POLICY_STSPOLICY_H
#define TG_POLICY_STSPOLICY_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"

/* RFC 8460 §4.3.2.2 result type of every policy parse failure. */
#define TG_STS_RESULT_POLICY_INVALID "sts-policy-invalid"

/* RFC 8461 §5: what a sending MTA does on a validation failure. */
enum tg_sts_mode {
	TG_STS_MODE_NONE = 0,
	TG_STS_MODE_TESTING,
	TG_STS_MODE_ENFORCE
};

struct tg_sts_policy {
	enum tg_sts_mode mode;
	long max_age;				/* seconds, 0..31557600 */
	size_t count;				/* mx patterns in mx[] */
	char mx[TG_STS_MX_MAX][TG_DNAME_MAX + 1]; /* lower case, no dot */
};

/*
 * Parse a policy body (len bytes, borrowed; need not be NUL-terminated;
 * may contain NULs, which are errors). Bodies longer than
 * TG_STS_BODY_MAX are refused before anything else. Returns 0 with *out
 * filled, or -1 with err (TG_ERR_PERM, result_type "sts-policy-invalid",
 * offset = start of the offending line or len for a missing field).
 * Repeated identical mx patterns are kept once; more than TG_STS_MX_MAX
 * distinct ones is an error.
 */
int tg_sts_policy_parse(const char *body, size_t len,
    struct tg_sts_policy *out, struct tg_err *err);

/*
 * Append the canonical body of p to out: version, mode, each mx, max_age,
 * each line ended by CRLF (RFC 8461 §3.2 example order). Returns 0, or -1
 * with err (TG_ERR_BUG) when p is not a valid policy (bad mode, max_age
 * out of range, bad pattern, no mx with mode enforce/testing) or out's
 * limit is reached; out is then left as it was.
 */
int tg_sts_policy_format(const struct tg_sts_policy *p, struct tg_buf *out,
    struct tg_err *err);

/* "enforce", "testing", "none", or "?" for a value out of range. */
const char *tg_sts_mode_name(enum tg_sts_mode mode);

/*
 * Check one mx pattern (NUL-terminated, borrowed) and write its stored
 * form (lower case, trailing dot dropped) into out (at least
 * TG_DNAME_MAX + 1 bytes). Returns 0, or -1 with err (TG_ERR_PERM) saying
 * what is wrong ("'a.*.example.com': '*' is allowed only as the whole
 * leftmost label").
 */
int tg_sts_mx_pattern_check(const char *pattern, char *out, size_t outlen,
    struct tg_err *err);

/*
 * RFC 8461 §4.1: 1 if the MX host name matches the pattern, else 0.
 * Case-insensitive; one trailing dot on either is ignored. "*.example.com"
 * matches exactly one extra leftmost label: "mail.example.com", but not
 * "example.com" nor "a.b.example.com". A host containing '*' or an empty
 * label never matches. Both arguments borrowed, NUL-terminated.
 */
int tg_sts_mx_match(const char *pattern, const char *host);

/*
 * 1 if host matches any mx pattern of p (RFC 8461 §4.1), else 0. With
 * index non-NULL, *index is set to the first matching pattern.
 */
int tg_sts_policy_match(const struct tg_sts_policy *p, const char *host,
    size_t *index);

#endif
