/*
 * policy/sts — MTA-STS (RFC 8461), the sender side.
 *
 * Owns: the `_mta-sts` TXT record — choosing the one record among an
 * RRset and parsing it (RFC 8461 §3.1); the policy body and MX pattern
 * matching (policy/stspolicy.h, included here); and fetching a domain's
 * policy over HTTPS (RFC 8461 §3.2, §3.3) on net/fetch.
 * The TXT and policy parsers are pure functions: bytes in, struct or
 * error out; no I/O. The policy cache and the per-destination decision
 * are elsewhere.
 */
#ifndef TG_POLICY_STS_H
#define TG_POLICY_STS_H

#include <stddef.h>

#include "net/fetch.h"
#include "policy/stspolicy.h"
#include "util/err.h"
#include "util/limits.h"	/* TG_STS_ID_MAX: RFC 8461 §3.1 */

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

/* "https://mta-sts." + domain + "/.well-known/mta-sts.txt" */
#define TG_STS_URL_MAX (TG_DNAME_MAX + 48)

/*
 * The policy URL of domain (borrowed; normalised first, see util/dname)
 * into out (at least TG_STS_URL_MAX + 1 bytes), RFC 8461 §3.2. Returns 0,
 * or -1 with err for a bad domain name.
 */
int tg_sts_policy_url(const char *domain, char *out, size_t outlen,
    struct tg_err *err);

struct tg_sts_fetch;

struct tg_sts_fetch_result {
	int ok;				/* 1: policy is valid */
	struct tg_sts_policy policy;	/* when ok */
	/* When !ok: result_type "sts-policy-fetch-error",
	 * "sts-webpki-invalid" or "sts-policy-invalid" (RFC 8460
	 * §4.3.2.2) and a reason naming the URL. */
	struct tg_err err;
	char url[TG_STS_URL_MAX + 1];
	long status;			/* HTTP status, 0 if none */
	const char *body;		/* borrowed during the callback: */
	size_t body_len;		/* the body as received, if any */
	char peer_ip[TG_CONF_HOST_MAX];
};

/* Called once with the outcome; r is valid during the call only. */
typedef void tg_sts_fetch_cb(const struct tg_sts_fetch_result *r,
    void *arg);

/*
 * Fetch and parse the MTA-STS policy of domain (borrowed) with fetcher f
 * (borrowed) and params p (borrowed, copied; NULL: defaults, which are
 * TG_STS_BODY_MAX and TG_STS_FETCH_TIMEOUT_S): GET
 * https://mta-sts.<domain>/.well-known/mta-sts.txt, never following a
 * redirect (RFC 8461 §3.3), and require status 200 and Content-Type
 * text/plain, parameters ignored (RFC 8461 §3.2 says SHOULD; anything
 * else is treated as a fetch error), then parse the body. cb is called
 * once, from the event loop, unless the fetch is cancelled first. On
 * success returns 0 and, if out is non-NULL, a handle valid until cb
 * runs; -1 with err for a bad domain or when the fetch cannot start.
 */
int tg_sts_fetch_policy(struct tg_fetch *f, const char *domain,
    const struct tg_fetch_params *p, tg_sts_fetch_cb *cb, void *arg,
    struct tg_sts_fetch **out, struct tg_err *err);

/* Cancel a pending policy fetch; its callback is not called. */
void tg_sts_fetch_cancel(struct tg_sts_fetch *h);

#endif
