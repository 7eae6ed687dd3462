/*
 * net/fetch — HTTPS GET (and POST) on libcurl's multi-socket API, driven
 * by the caller's libevent loop. No blocking calls and no threads of our own
 * (libcurl's threaded resolver may run one while a name is looked up).
 *
 * Owns: running a GET against one https URL with the hardening an
 * MTA-STS policy fetch needs (RFC 8461 §3.2, §3.3, §7.2):
 *   - https only (CURLOPT_PROTOCOLS_STR), redirects never followed: a 3xx
 *     is delivered as a response, with its Location, for the caller to
 *     refuse;
 *   - web-PKI validation for the URL's host name (peer and host checks
 *     on; the CA file given, else the system store), SNI = that name,
 *     TLS >= 1.2;
 *   - the body capped at body_max bytes, enforced in the write callback
 *     (a body without Content-Length is aborted as soon as it passes the
 *     cap) as well as by CURLOPT_MAXFILESIZE for announced lengths;
 *   - connect and total timeouts;
 *   - no cookies, no HTTP cache headers, no proxy from the environment,
 *     no content encodings, User-Agent "tlsgate/<version>";
 *   - an SSRF guard where the address is actually chosen
 *     (CURLOPT_OPENSOCKETFUNCTION), so DNS rebinding cannot slip past it:
 *     loopback, private, shared (100.64/10), link-local, unspecified,
 *     multicast, reserved addresses and the caller's own addresses are
 *     refused, unless allow_private_addresses turns the guard off (test
 *     networks only);
 *   - every request has its own curl multi handle, so nothing — no DNS
 *     cache entry, no resolve override, no open connection — is shared
 *     between two requests; connections are never reused.
 * Failures are classed by RFC 8460 §4.3.2.2 result type: certificate and
 * TLS handshake errors "sts-webpki-invalid", every other transport
 * failure "sts-policy-fetch-error".
 *
 * Does not own: what a status code or content type means (the caller:
 * policy/sts), DNS policy (curl's resolver, or the resolve overrides).
 *
 * Callbacks: a request's callback is called exactly once, from the event
 * loop, never from inside tg_fetch_get; or never, if the request is
 * cancelled first (then its on_cancel hook, if set, is called instead).
 */
#ifndef TG_NET_FETCH_H
#define TG_NET_FETCH_H

#include <stddef.h>
#include <sys/socket.h>

#include "util/buf.h"
#include "util/cidr.h"
#include "util/err.h"
#include "util/limits.h"

struct event_base;
struct tg_fetch;
struct tg_fetch_req;

/* RFC 8460 §4.3.2.2 result types of fetch failures. */
#define TG_FETCH_RESULT_FETCH_ERROR	"sts-policy-fetch-error"
#define TG_FETCH_RESULT_WEBPKI_INVALID	"sts-webpki-invalid"

struct tg_fetch_params {
	const char *ca_file;		/* borrowed; NULL: the system store */
	long connect_timeout_ms;	/* 0: TG_FETCH_CONNECT_TIMEOUT_S */
	long timeout_ms;		/* whole request;
					   0: TG_STS_FETCH_TIMEOUT_S */
	size_t body_max;		/* 0: TG_STS_BODY_MAX */
	int allow_private_addresses;	/* 1: no SSRF guard (tests) */
	const struct tg_cidr *own;	/* borrowed, copied; refused too */
	size_t n_own;			/* at most TG_FETCH_OWN_MAX */
	/* Test aids: libcurl CURLOPT_RESOLVE entries
	 * "host:port:address[,address]" point a name at addresses without
	 * DNS; CURLOPT_CONNECT_TO entries "host:port:conn-host:conn-port"
	 * send a connection for host:port elsewhere (another port too).
	 * Borrowed, copied, at most TG_FETCH_RESOLVE_MAX each. The URL's host
	 * is still the TLS server name and the name verified, and the SSRF
	 * guard still judges the address finally connected to. */
	const char *const *resolve;
	size_t n_resolve;
	const char *const *connect_to;
	size_t n_connect_to;
};

struct tg_fetch_result {
	int ok;				/* 1: a complete HTTP response */
	long status;			/* HTTP status, 0 if none */
	/* Media type of Content-Type, parameters and WSP stripped, case
	 * kept; "" when absent. */
	char content_type[TG_FETCH_CTYPE_MAX + 1];
	char location[TG_FETCH_LOCATION_MAX + 1]; /* 3xx target, or "" */
	char peer_ip[TG_CONF_HOST_MAX];	/* address connected to, or "" */
	struct tg_buf body;		/* at most body_max bytes */
	long long elapsed_ms;
	/* When !ok: class TG_ERR_TEMP, result_type one of the two above,
	 * and a reason ("timed out after 1000 ms", "refused to connect to
	 * 127.0.0.1 (loopback)", "TLS: SSL certificate problem: ..."). */
	struct tg_err err;
};

/*
 * Called once per request with its result. res and its body belong to
 * the fetcher and are valid during the call only; the callback may keep
 * the body by taking it (tg_buf_take(&res->body)). The request handle is
 * gone once the callback runs. The callback may start and cancel other
 * requests, but must not call tg_fetch_free.
 */
typedef void tg_fetch_cb(struct tg_fetch_result *res, void *arg);

/*
 * A fetcher on base (borrowed; must outlive the fetcher). Returns NULL
 * with err if libcurl or libevent cannot be set up.
 */
struct tg_fetch *tg_fetch_new(struct event_base *base, struct tg_err *err);

/* Cancel every pending request (their callbacks are not called; their
 * on_cancel hooks are) and free the fetcher. NULL-safe. */
void tg_fetch_free(struct tg_fetch *f);

/*
 * Start a GET of url (borrowed; "https://" only, at most
 * TG_FETCH_URL_MAX bytes) with params p (borrowed, copied; NULL means
 * all defaults). On success returns 0 and, if out is non-NULL, *out is a
 * handle valid until the callback runs or the request is cancelled.
 * Returns -1 with err (TG_ERR_PERM for a bad URL or parameter,
 * TG_ERR_TEMP when out of resources); the callback is then never called.
 */
int tg_fetch_get(struct tg_fetch *f, const char *url,
    const struct tg_fetch_params *p, tg_fetch_cb *cb, void *arg,
    struct tg_fetch_req **out, struct tg_err *err);

/*
 * Start a POST of len bytes of body (borrowed, copied; at most
 * TG_FETCH_POST_MAX) with the media type content_type (borrowed, copied;
 * no control characters) to url, with everything else as tg_fetch_get:
 * https only, no redirects followed, web-PKI validation, SSRF guard,
 * timeouts, the reply body capped at p->body_max. No "Expect:
 * 100-continue". Used to submit TLS-RPT reports (RFC 8460 §5.3.2).
 * Returns as tg_fetch_get.
 */
int tg_fetch_post(struct tg_fetch *f, const char *url,
    const struct tg_fetch_params *p, const char *content_type,
    const void *body, size_t len, tg_fetch_cb *cb, void *arg,
    struct tg_fetch_req **out, struct tg_err *err);

/*
 * Set a hook called with the request's arg if the request ends without
 * its callback (tg_fetch_cancel, tg_fetch_free): lets a caller free arg.
 */
void tg_fetch_set_on_cancel(struct tg_fetch_req *r, void (*fn)(void *arg));

/* Cancel a pending request: no callback; on_cancel is called. */
void tg_fetch_cancel(struct tg_fetch_req *r);

/* Number of requests whose callback has not run yet. */
size_t tg_fetch_pending(const struct tg_fetch *f);

/*
 * The SSRF rule alone: NULL if a connection to sa (len bytes, borrowed)
 * is allowed, else why not: "loopback", "private", "shared address
 * space", "link-local", "unspecified", "multicast", "reserved", "own
 * address", "unsupported address family". IPv4-mapped IPv6 addresses are
 * judged as the IPv4 address. own (borrowed) may be NULL when n_own is 0.
 */
const char *tg_fetch_addr_refusal(const struct sockaddr *sa, socklen_t len,
    const struct tg_cidr *own, size_t n_own);

/* 1 if media type ct equals type, ASCII case-insensitively, else 0. */
int tg_fetch_media_type_is(const char *ct, const char *type);

#endif
