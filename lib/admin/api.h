/*
 * admin/api — the admin API of the web console (web/API.md), as one
 * function from a request to a reply, without sockets: controllerd feeds
 * it what net/http received and sends back what it returns; the unit test
 * feeds it directly, with a fake clock.
 *
 * Owns:
 *   - the checks every request passes, in this order (RELIABILITY S-04,
 *     S-05): a Host that is admin.hostname or admin.hostname:port for a
 *     port of admin.listen (421: DNS rebinding); on every POST an Origin
 *     of exactly "https://" and that Host (403: cross-site requests,
 *     login CSRF); the session cookie on everything but the login (401);
 *     on every POST but the login the session's CSRF token in
 *     X-CSRF-Token (403); a JSON body (Content-Type application/json,
 *     at most TG_ADMIN_BODY_MAX bytes, an object whose fields are known).
 *   - the login: the throttle asked first (429 with retry_after), the
 *     password verified against the store's hash (an unknown user costs
 *     the same through tg_password_verify_dummy, and gets the same 401
 *     message), a rehash when the stored parameters are weaker than the
 *     current ones, last_login recorded, a new session (never the one a
 *     cookie named: no fixation) and its cookie; logout destroys the
 *     session and clears the cookie. A session whose user has left the
 *     store is destroyed at its next request.
 *   - the endpoints: the session, hosted domains (list, add, MTA-STS
 *     mode, remove; values checked as the store and `tlsgate domain` /
 *     `tlsgate sts set` check them, enforce refused while an MX host is
 *     not covered: policy/stsmx), certificates (the store's rows, with
 *     the issuer read from each certificate file), the queues of relayd
 *     and mxd (as `tlsgate queue list --json` shows them:
 *     smtp/queueview), hold, release and delete of one queued message
 *     (as `tlsgate queue hold|release|delete`: smtp/queueview's journal
 *     records, then SIGUSR2 to the queue's daemon) and the summary
 *     of received TLS reports (as `tlsgate report summary --json`:
 *     rpt/summary).
 *   - one log line per state-changing request (event=admin action=...
 *     user=... peer=... result=...); never a password, hash or token.
 *
 * Does not own: HTTP (net/http: TLS, connection limits, the security
 * headers), passwords (admin/password), sessions and the throttle
 * (admin/session), storage and its own checks (store), the MX lookup
 * (policy/stsmx, or a test's), the spools (relayd's and mxd's: read,
 * and journal records appended, without their lock) and reports.db
 * (rptd's: only read).
 *
 * Not thread-safe: everything it is given is used without locks, from
 * one thread (controllerd's loop). It blocks while a password is hashed
 * (scrypt, ~0.3 s), while an MX lookup for enforce runs (at most
 * dns.timeout), and while a queue (each message verified: at most
 * TG_ADMIN_QUEUE_MAX shown, but every one read until then) or
 * reports.db is read.
 */
#ifndef TG_ADMIN_API_H
#define TG_ADMIN_API_H

#include <stddef.h>
#include <time.h>

#include "admin/session.h"
#include "core/conf.h"
#include "admin/checks.h"
#include "dns/dns.h"
#include "store/store.h"
#include "util/err.h"
#include "util/limits.h"

/* The session cookie's name (web/API.md). */
#define TG_ADMINAPI_COOKIE	"tg_session"

/* Every path of the API starts so; the rest is the API's to route. */
#define TG_ADMINAPI_PREFIX	"/api/"

/* What the API works with; every pointer borrowed, for the call. */
struct tg_adminapi {
	struct tg_store *store;			/* read-write */
	struct tg_sessions *sessions;
	struct tg_login_throttle *throttle;
	/* admin.hostname and the ports of admin.listen (the Host check),
	 * the resolver settings (the MX lookup). */
	const struct tg_conf *conf;
	unsigned password_ln;		/* scrypt ln; 0: TG_PASSWORD_LN */
	/*
	 * The MX lookup of the enforce check: *out (owned by the caller)
	 * as tg_stsmx_lookup gives it; 0, or -1 with err. NULL:
	 * tg_stsmx_lookup with conf (blocks).
	 */
	int (*mx_lookup)(void *arg, const char *domain,
	    struct tg_dns_answer **out, struct tg_err *err);
	void *mx_arg;
	/* The domain checks (admin/checks), run on the daemon's loop;
	 * NULL: /api/checks answers 503. */
	struct tg_admin_checks *checks;
};

/* One request; every pointer borrowed. Header values are NULL when the
 * header is absent. */
struct tg_adminapi_request {
	const char *method;		/* "GET", "HEAD", "POST", ... */
	const char *path;		/* without the query string */
	const char *host;		/* Host */
	const char *origin;		/* Origin */
	const char *csrf;		/* X-CSRF-Token */
	const char *cookie;		/* Cookie */
	const char *content_type;	/* Content-Type */
	/* An argument of the query string by name (decoded; NULL: absent),
	 * from qarg_ctx; qarg NULL: the request has none. */
	const char *(*qarg)(const void *qarg_ctx, const char *name);
	const void *qarg_ctx;
	const char *peer;		/* the client's address, as text */
	const void *body;		/* may be NULL when body_len is 0 */
	size_t body_len;
	time_t now;
};

#define TG_ADMINAPI_COOKIE_MAX	160	/* a Set-Cookie value, with NUL */

/* The reply: status, a JSON body and the headers to add ("": none). */
struct tg_adminapi_reply {
	unsigned status;
	char *body;		/* owned: JSON text, NUL-terminated; NULL
				   only when out of memory */
	size_t body_len;
	char set_cookie[TG_ADMINAPI_COOKIE_MAX];	/* Set-Cookie */
	char retry_after[24];				/* Retry-After */
	char allow[24];					/* Allow (405) */
};

/* The media type of every reply body. */
#define TG_ADMINAPI_CONTENT_TYPE	"application/json"

/*
 * Answer req (borrowed) with api (borrowed) into *rep (filled; release
 * with tg_adminapi_reply_clear). Never fails: every problem is a reply
 * (4xx with {"error": "..."}, or 500/503 when the store fails).
 */
void tg_adminapi_handle(const struct tg_adminapi *api,
    const struct tg_adminapi_request *req, struct tg_adminapi_reply *rep);

/* Release what rep owns and zero it. NULL-safe. */
void tg_adminapi_reply_clear(struct tg_adminapi_reply *rep);

/*
 * The console's host name from name (admin.hostname): a host name,
 * letters, digits and hyphens in dot-separated labels, one label allowed
 * ("localhost"), normalised into out (TG_DNAME_MAX + 1 bytes: lower
 * case, no trailing dot) — the name of its certificate and of the Host
 * check. 0, or -1 with err saying why.
 */
int tg_adminapi_hostname(const char *name, char *out, size_t outlen,
    struct tg_err *err);

#endif
