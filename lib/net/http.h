/*
 * net/http — the HTTPS server of the daemons (stsd, rptd, controllerd),
 * a thin layer over libmicrohttpd (MHD, which does its TLS with GnuTLS),
 * and the plain HTTP server of stsd's ACME http-01 answers (config
 * plain, below).
 *
 * Owns:
 *   - running MHD beside the daemon's libevent loop without blocking it
 *     (STYLE rule 10). MHD runs its own thread (MHD_USE_POLL_INTERNAL_
 *     THREAD, or a pool of them: config threads), which does all network
 *     I/O, TLS and HTTP parsing. Why not on the loop: MHD 0.9.75's
 *     epoll mode (the only one that can be driven from an outside loop
 *     at scale) keeps a connection whose TLS handshake is half done on
 *     its "ready" list, so MHD_get_timeout says 0 until the peer sends
 *     the rest: one client that stops after a byte makes the process spin
 *     at 100% CPU. Its poll() mode waits properly, but only in a thread
 *     of its own.
 *   - the hand-off between the two threads, both ways:
 *       loop -> server: tg_http_set_certs and tg_http_publish swap a
 *       refcounted, immutable object under a lock; each connection and
 *       each request holds a reference to the one it started with;
 *       server -> loop: a route marked in_loop has its on_complete called
 *       on the loop's thread (the connection is suspended, the request
 *       queued, the loop woken through an eventfd; the reply goes back
 *       and the connection is resumed). Other routes answer on the
 *       server's thread from the published data, without a hand-off.
 *   - accepting: the daemon runtime binds and accepts (net/daemon.h,
 *     tg_daemon_listen, so sockets are bound before the privilege drop);
 *     tg_http_accept hands each accepted socket to MHD.
 *   - TLS: versions 1.2 and 1.3 only (TG_HTTP_PRIORITIES); the
 *     certificate chosen per SNI name from a certificate set (struct
 *     tg_http_certs: names -> PEM chain + key, loaded from the same PEM
 *     files OpenSSL reads). Names are host names, one label allowed
 *     (util/dname tg_dname_host_normalize: "localhost" for the console).
 *     A ClientHello without SNI, or with a name that has no certificate,
 *     ends the handshake (RFC 8461 §7.1; ALPACA). The set is swapped at
 *     run time with tg_http_set_certs: new handshakes use the new set,
 *     open connections keep the one they started with until they close.
 *   - limits: connections in all, connections per client address, an
 *     idle timeout, a per-request deadline (a request must be complete
 *     within request_timeout_s of the connection's start or of the
 *     previous request's end, checked every second — slow senders are cut
 *     off), a per-connection memory pool that bounds the request header
 *     (a header that does not fit is answered 431 by MHD, or the
 *     connection is closed), and a cap on POST bodies (413). MHD's
 *     strict client discipline is on (MHD_OPTION_STRICT_FOR_CLIENT).
 *   - routes: a path, exact or a prefix, and the methods it accepts.
 *     Unknown path: 404. Known path, other method: 405 with Allow. A
 *     Host header that names another host than the SNI name: 421 (RFC
 *     9110 §15.5.20; ALPACA). HEAD is answered by MHD from the GET reply,
 *     without body.
 *   - the security headers of every reply (nosniff, no framing, no
 *     referrer, CSP "default-src 'none'" unless the server sets its own
 *     (config csp), HSTS, Cache-Control: no-store); a route may add
 *     other headers to a reply (tg_http_reply_headers: Set-Cookie), but
 *     never replace those.
 *   - plain HTTP (config plain = 1), for answers that must come over
 *     port 80 (ACME http-01, RFC 8555 §8.3): no TLS at all, so no
 *     certificate set and no SNI; the request's host is its Host header,
 *     which nothing checks (a route that cares looks at it). Every limit
 *     above applies as it does to HTTPS, and the security headers too,
 *     except HSTS (RFC 6797 §7.2: never over plain HTTP).
 *
 * Does not own: what is served (the daemon's handlers), listening sockets
 * (net/daemon), where certificates come from (store, controller).
 *
 * Threads: tg_http_new, _start, _free, _accept, _set_certs, _publish and
 * _connections are for the loop's thread. Route callbacks run on the
 * server's thread unless said otherwise; there they may use the request,
 * its published data (read only) and their own ctx, nothing else of the
 * daemon. Certificate sets and bodies are immutable once handed over and
 * may be released on either thread.
 */
#ifndef TG_NET_HTTP_H
#define TG_NET_HTTP_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/err.h"

/* GnuTLS priorities: TLS 1.3 and 1.2 only, GnuTLS's NORMAL suites. */
#define TG_HTTP_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* The Content-Security-Policy of every reply unless the server sets its
 * own: nothing in a reply may load or run anything, or be framed. */
#define TG_HTTP_CSP_DEFAULT "default-src 'none'; frame-ancestors 'none'"

/* Method bits of a route. */
#define TG_HTTP_GET	0x01u
#define TG_HTTP_HEAD	0x02u
#define TG_HTTP_POST	0x04u

struct tg_http;
struct tg_http_certs;
struct tg_http_body;
struct tg_http_request;

/*
 * One route. Callbacks get the request (borrowed, valid until on_done
 * returns) and the config's arg. Answer with tg_http_reply or
 * tg_http_reply_text from on_headers (only to refuse a POST early) or
 * from on_complete (always; no answer there is a 500).
 *
 * A request goes to the first route, in the order given, whose path is
 * the request's path (without query string), or, for a route with
 * prefix set, the start of it: prefix "/.well-known/acme-challenge/"
 * takes "/.well-known/acme-challenge/" and every path below it; what
 * follows is the route's to check (MHD has decoded %-escapes already).
 */
struct tg_http_route {
	const char *path;	/* e.g. "/.well-known/mta-sts.txt" */
	unsigned methods;	/* TG_HTTP_GET | TG_HTTP_HEAD | TG_HTTP_POST */
	/* 1: on_complete runs on the loop's thread (a hand-off per
	 * request); 0: on the server's thread. */
	int in_loop;
	/* POST only, may be NULL: the header is complete, no body yet.
	 * Return 0 to go on, or reply and return 0 to refuse the body, or
	 * return -1 to close the connection without a reply. */
	int (*on_headers)(struct tg_http_request *req, void *arg);
	/* POST only, may be NULL: the next piece of the body (the total is
	 * at most body_max). Return 0, or -1 to close the connection. */
	int (*on_body)(struct tg_http_request *req, const void *data,
	    size_t len, void *arg);
	/* The request is complete: reply. Return 0, or -1 to close the
	 * connection without a reply. */
	int (*on_complete)(struct tg_http_request *req, void *arg);
	/* May be NULL: the request is over (answered, refused or the
	 * connection broke). Release what the route keeps in the request's
	 * ctx. Also called from tg_http_free for requests in flight. */
	void (*on_done)(struct tg_http_request *req, void *arg);
	/* in_loop routes, may be NULL: the request is complete, on the
	 * server's thread, just before it goes to the loop — for work that
	 * needs none of the daemon's state (decoding, parsing), so that it
	 * does not hold up the loop. It keeps its result in the ctx and
	 * does not reply. Return 0, or -1 to close the connection. */
	int (*on_prepare)(struct tg_http_request *req, void *arg);
	/* 1: path is a prefix (above); 0: the exact path. */
	int prefix;
};

struct tg_http_config {
	const struct tg_http_route *routes;	/* borrowed; outlives http */
	size_t nroutes;				/* <= TG_HTTP_ROUTES_MAX */
	void *arg;			/* borrowed; to callbacks */
	/* 1: plain HTTP, no TLS (certificates, SNI, the Host check and
	 * priorities do not apply); 0: HTTPS. */
	int plain;
	const char *priorities;		/* NULL: TG_HTTP_PRIORITIES */
	/* The Content-Security-Policy of every reply (borrowed; outlives
	 * http; no CR or LF); NULL: TG_HTTP_CSP_DEFAULT. */
	const char *csp;
	unsigned threads;		/* server threads,
					   1..TG_HTTP_THREADS_MAX */
	unsigned conn_max;		/* connections in all */
	unsigned per_ip_max;		/* connections per client address */
	unsigned idle_timeout_s;	/* no traffic for this long: close */
	unsigned request_timeout_s;	/* deadline of a request, above */
	size_t memory_max;		/* per-connection pool (header) */
	size_t body_max;		/* POST body cap, bytes */
	/*
	 * Group commit for in_loop routes, both NULL or both set: the
	 * requests handed to the loop together are answered between
	 * batch_begin and batch_end (on the loop's thread), and none of
	 * their replies leaves before batch_end returns, so a daemon can
	 * make them durable with one sync. batch_end returning -1 turns
	 * every 2xx reply of the batch into 503; batch_begin returning -1
	 * answers the requests one by one without a batch.
	 */
	int (*batch_begin)(void *arg);
	int (*batch_end)(void *arg);
};

/* Fill cfg with the defaults of util/limits.h (TG_HTTP_*), no routes. */
void tg_http_config_init(struct tg_http_config *cfg);

/*
 * Make an HTTPS (or plain HTTP) server for the loop base (borrowed) with
 * cfg (copied; its routes and arg stay borrowed). It has no thread and
 * takes no connection until tg_http_start. Returns 0 and *out (owned:
 * tg_http_free), or -1 with err (bad config, memory).
 */
int tg_http_new(struct event_base *base, const struct tg_http_config *cfg,
    struct tg_http **out, struct tg_err *err);

/*
 * Start the server's threads. Call it after the process has become what
 * it will stay: after net/daemon's fork and privilege drop (a fork would
 * lose the threads), e.g. from the first snapshot_changed. Without a
 * certificate set every handshake fails (HTTPS). Returns 0, or -1 with
 * err (MHD or GnuTLS failing to start, bad TLS priorities).
 */
int tg_http_start(struct tg_http *h, struct tg_err *err);

/*
 * Stop the threads, close every connection (on_done is called for
 * requests in flight, on the calling thread or the server's) and free
 * the server. NULL-safe. Not from inside one of its callbacks.
 */
void tg_http_free(struct tg_http *h);

/*
 * Hand an accepted, non-blocking socket (taken: closed on failure) from
 * peer sa (borrowed, salen bytes) to the server. Over the connection
 * limits, or before tg_http_start, the socket is closed at once.
 * Returns 0, or -1 when refused. Fits an evconnlistener callback.
 */
int tg_http_accept(struct tg_http *h, evutil_socket_t fd,
    const struct sockaddr *sa, int salen);

/*
 * Listen on sa (salen bytes) in the server's own thread: the socket is
 * bound now (call it while still privileged) and handed to MHD at
 * tg_http_start, which then accepts without a hand-off from the loop —
 * a thread wake-up less on every new connection. One socket at most;
 * more addresses go through the daemon's listeners and tg_http_accept.
 * Returns 0, or -1 with err (address in use, permission, twice).
 */
int tg_http_listen(struct tg_http *h, const struct sockaddr *sa, int salen,
    struct tg_err *err);

/*
 * Use certs (borrowed; the server takes its own reference) for new
 * handshakes; NULL refuses every handshake. Open connections are not
 * touched.
 */
void tg_http_set_certs(struct tg_http *h, struct tg_http_certs *certs);

/*
 * Publish data (taken) for the routes that answer on the server's
 * thread: a request sees the data published when it began
 * (tg_http_request_data) until it is over. The data replaced is released
 * with its release function (called with its data) once the last request
 * using it is over — on either thread, so release must only free.
 * release may be NULL. Returns 0, or -1 with err (memory; data is then
 * released at once).
 */
int tg_http_publish(struct tg_http *h, void *data,
    void (*release)(void *data), struct tg_err *err);

/* Open connections right now. */
unsigned tg_http_connections(struct tg_http *h);

/* ---- certificate sets ---- */

/* A new empty set, one reference. 0, or -1 with err (memory). */
int tg_http_certs_new(struct tg_http_certs **out, struct tg_err *err);

/*
 * Add the certificate for the host name name (normalised; one entry per
 * name): a PEM chain (leaf first, at most TG_CHAIN_MAX certificates) and
 * its unencrypted PEM private key, from files (read bounded by
 * TG_CERT_FILE_MAX) or from memory. The leaf must be valid for name and
 * the key must belong to it. Errors (TG_ERR_PERM): unreadable file, bad
 * PEM, key mismatch, name not covered, duplicate name, set full
 * (TG_HTTP_CERTS_MAX). Add only before the set is handed to a server.
 */
int tg_http_certs_add_files(struct tg_http_certs *cs, const char *name,
    const char *cert_file, const char *key_file, struct tg_err *err);
int tg_http_certs_add_pem(struct tg_http_certs *cs, const char *name,
    const char *cert_pem, size_t cert_len, const char *key_pem,
    size_t key_len, struct tg_err *err);

/* Names in the set. */
size_t tg_http_certs_count(const struct tg_http_certs *cs);

/* Whether the set has a certificate for name (normalised first). */
int tg_http_certs_has(const struct tg_http_certs *cs, const char *name);

/* Take another reference (returns cs); drop one (NULL-safe). */
struct tg_http_certs *tg_http_certs_ref(struct tg_http_certs *cs);
void tg_http_certs_unref(struct tg_http_certs *cs);

/* ---- reply bodies built once, sent many times ---- */

/*
 * A reply body: data (copied, len <= TG_HTTP_REPLY_MAX) with its
 * Content-Type (copied) and the security headers. *out is owned by the
 * caller: tg_http_body_free may be called, on either thread, while
 * replies using it are still being sent (each holds its own reference).
 */
int tg_http_body_new(const char *content_type, const void *data, size_t len,
    struct tg_http_body **out, struct tg_err *err);
void tg_http_body_free(struct tg_http_body *b);

/* ---- requests, inside route callbacks ---- */

/* The method's bit (TG_HTTP_GET, ...), and its name. */
unsigned tg_http_request_method(const struct tg_http_request *req);
const char *tg_http_request_method_name(const struct tg_http_request *req);

/* The path, without query string. */
const char *tg_http_request_path(const struct tg_http_request *req);

/*
 * The host name of the request: the SNI name of the connection, lower
 * case, no trailing dot (the Host header, if any, has been checked to
 * name the same host). On a plain server: the Host header's name, lower
 * case, without port or trailing dot, unchecked against anything; ""
 * when there is none or it is no name util/dname takes (an IPv6 literal
 * is not; IPv4 digits pass).
 */
const char *tg_http_request_host(const struct tg_http_request *req);

/* The client's address as text. */
const char *tg_http_request_peer(const struct tg_http_request *req);

/* A request header (case-insensitive name), or NULL. Borrowed. */
const char *tg_http_request_header(const struct tg_http_request *req,
    const char *name);

/*
 * An argument of the query string (case-sensitive name), percent-decoded,
 * or NULL when absent or given without a value ("?name"); the first when
 * it is given twice. Borrowed.
 */
const char *tg_http_request_arg(const struct tg_http_request *req,
    const char *name);

/* Body bytes received so far. */
uint64_t tg_http_request_body_len(const struct tg_http_request *req);

/* The data published when the request began (NULL: none). Read only. */
void *tg_http_request_data(const struct tg_http_request *req);

/* The route's per-request state (NULL at first). */
void *tg_http_request_ctx(const struct tg_http_request *req);
void tg_http_request_set_ctx(struct tg_http_request *req, void *ctx);

/*
 * Queue the reply: status and a prebuilt body (borrowed; the reply keeps
 * its own reference, or a copy when answering from the loop's thread),
 * or text (copied) with its Content-Type. Once per request. Returns 0,
 * or -1 (already answered, not allowed at this point, or memory).
 */
int tg_http_reply(struct tg_http_request *req, unsigned status,
    const struct tg_http_body *body);
int tg_http_reply_text(struct tg_http_request *req, unsigned status,
    const char *content_type, const char *text, size_t len);

/* A header a route adds to a reply; both strings borrowed. */
struct tg_http_header {
	const char *name;
	const char *value;
};

/*
 * tg_http_reply_text with nhdrs (<= TG_HTTP_REPLY_HEADERS_MAX) more
 * headers (copied), e.g. Set-Cookie or Retry-After. A name that is not
 * an HTTP token, Content-Type or one of the security headers, or a value
 * with CR or LF, is refused: -1 and nothing queued (answer otherwise).
 */
int tg_http_reply_headers(struct tg_http_request *req, unsigned status,
    const char *content_type, const char *text, size_t len,
    const struct tg_http_header *hdrs, size_t nhdrs);

#endif
