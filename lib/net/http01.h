/*
 * net/http01 — what tlsgate-stsd answers to ACME http-01 validation
 * requests (RFC 8555 §8.3): GET http://<host>/.well-known/acme-challenge/
 * <token> is answered 200 with the key authorization of that token.
 *
 * Owns: the challenge set (token -> key authorization, each with its
 * expiry time), immutable once frozen and shared between threads by
 * reference counting; the syntax of tokens and key authorizations; the
 * lookup of one request path at one time. Pure: no I/O, no logging, no
 * store, no clock (callers pass now).
 *
 * Does not own: where challenges come from (the store, written by the
 * controller), the HTTP server (net/http) or what is logged (stsd).
 */
#ifndef TG_NET_HTTP01_H
#define TG_NET_HTTP01_H

#include <stddef.h>
#include <time.h>

#include "util/err.h"

/* RFC 8555 §8.3: the path of a challenge is this prefix and the token. */
#define TG_HTTP01_PREFIX	"/.well-known/acme-challenge/"
/* Bounds of what we serve; the store's are the same. */
#define TG_HTTP01_TOKEN_MAX	128
#define TG_HTTP01_KEYAUTH_MAX	256
/* Challenges in one set: far more than any order has open at once. */
#define TG_HTTP01_SET_MAX	4096
/* How much of a token is logged ("evaGxfAD..."): enough to find it. */
#define TG_HTTP01_TOKEN_LOG	8

struct tg_http01_set;

/* The outcome of a lookup. */
enum tg_http01_result {
	TG_HTTP01_SERVED = 0,	/* *keyauth is the answer */
	TG_HTTP01_UNKNOWN,	/* a token, but no unexpired challenge */
	TG_HTTP01_BAD_TOKEN,	/* below the prefix, but no token syntax */
	TG_HTTP01_NOT_CHALLENGE	/* another path */
};

/*
 * RFC 8555 §8.3: 1..TG_HTTP01_TOKEN_MAX characters of the base64url
 * alphabet (RFC 4648 §5, no padding). 1 if token is one, else 0.
 */
int tg_http01_token_valid(const char *token);

/*
 * RFC 8555 §8.1 (token "." thumbprint), as we take it: 1..
 * TG_HTTP01_KEYAUTH_MAX printable ASCII characters without spaces. 1 if
 * keyauth is one, else 0.
 */
int tg_http01_keyauth_valid(const char *keyauth);

/* A new empty set, one reference. 0, or -1 with err (memory). */
int tg_http01_set_new(struct tg_http01_set **out, struct tg_err *err);

/*
 * Add a challenge to s (not frozen): token and keyauth (copied, checked
 * as above) served until expires (exclusive). Errors (TG_ERR_PERM): bad
 * token or key authorization, token already in the set, set full
 * (TG_HTTP01_SET_MAX); TG_ERR_TEMP: memory. The set is unchanged then.
 */
int tg_http01_set_add(struct tg_http01_set *s, const char *token,
    const char *keyauth, time_t expires, struct tg_err *err);

/* Make s ready for lookups (sorts it); no add afterwards. From then on
 * it may be shared with other threads, read only. */
void tg_http01_set_freeze(struct tg_http01_set *s);

/* Challenges in s. */
size_t tg_http01_set_count(const struct tg_http01_set *s);

/* Take another reference (returns s); drop one (NULL-safe; the
 * signature of a tg_http_publish release function). Atomic: either
 * thread. */
struct tg_http01_set *tg_http01_set_ref(struct tg_http01_set *s);
void tg_http01_set_unref(void *s);

/*
 * Look up the request path (decoded, without query string) in s (frozen;
 * NULL: an empty set) at time now. TG_HTTP01_SERVED sets *keyauth
 * (borrowed from s: valid while the caller holds its reference); every
 * other result sets it to NULL.
 */
enum tg_http01_result tg_http01_lookup(const struct tg_http01_set *s,
    const char *path, time_t now, const char **keyauth);

/*
 * The token of path for a log line, into out (TG_HTTP01_TOKEN_LOG_LEN
 * bytes): its first TG_HTTP01_TOKEN_LOG characters, "..." if there are
 * more, every character outside base64url shown as '?' (the path is the
 * client's); "-" for an empty token or a path not below
 * TG_HTTP01_PREFIX.
 */
#define TG_HTTP01_TOKEN_LOG_LEN	(TG_HTTP01_TOKEN_LOG + 4)
void tg_http01_token_for_log(const char *path, char *out);

#endif
