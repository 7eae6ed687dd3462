/*
 * net/http_int — what the files of net/http share; not for other modules.
 *
 * http.c        the server: MHD beside the loop, connections, TLS,
 *               requests and routes, the hand-off to the loop
 * http_reply.c  replies (bodies, security headers, error pages) and the
 *               request accessors
 * http_certs.c  certificate sets (GnuTLS pcerts and keys per host name)
 * http_flight.c how TLS records reach the socket (segments per flight)
 */
#ifndef TG_NET_HTTP_INT_H
#define TG_NET_HTTP_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "net/http.h"
#include "util/limits.h"

struct http_conn {
	struct tg_http *http;		/* borrowed */
	int fd;				/* MHD's; only shut down here */
	gnutls_session_t tls;		/* MHD's; NULL without a session */
	int tickets_pushed;		/* http_flight: tickets went out */
	struct tg_http_certs *certs;	/* owned ref: set of the handshake */
	char sni[TG_DNAME_MAX + 1];	/* "" until the handshake */
	long long deadline_ms;		/* tg_clock_mono_ms; under lock */
	int listed;			/* in http->conns; under lock */
	TAILQ_ENTRY(http_conn) link;
};

TAILQ_HEAD(http_conn_list, http_conn);

/* Data published for the routes (tg_http_publish). */
struct http_pub {
	atomic_int refs;
	void *data;			/* owned */
	void (*release)(void *data);
};

TAILQ_HEAD(http_req_list, tg_http_request);

struct tg_http {
	struct event_base *base;	/* borrowed */
	struct MHD_Daemon *mhd;		/* owned; NULL until started */
	struct tg_http_config cfg;
	struct event *wake_ev;		/* wake_fd is readable */
	struct event *deadline_ev;	/* every HTTP_DEADLINE_TICK_MS */
	int wake_fd;			/* eventfd: hand-offs are queued */
	int listen_fd;			/* owned until MHD takes it; -1 */
	unsigned refused;		/* accepts refused, not logged yet */
	long long refused_logged_ms;	/* when that was last logged */
	pthread_mutex_t lock;		/* guards the fields below */
	struct tg_http_certs *certs;	/* owned ref; NULL: refuse all */
	struct http_pub *pub;		/* owned ref; NULL: none */
	struct http_conn_list conns;	/* by deadline, oldest first */
	unsigned nconns;
	struct http_req_list handoff;	/* in_loop requests to answer */
	int stopping;
	/* TLS session tickets (RFC 8446 §4.6.1): GnuTLS's master key, from
	 * which it derives rotating ticket keys. Never leaves the process. */
	gnutls_datum_t ticket_key;
};

struct tg_http_request {
	struct tg_http *http;		/* borrowed */
	struct http_conn *conn;		/* borrowed */
	struct MHD_Connection *mc;	/* borrowed */
	const struct tg_http_route *route;	/* NULL: no route */
	struct http_pub *pub;		/* owned ref, may be NULL */
	unsigned method;		/* TG_HTTP_*, 0 = other */
	const char *method_name;	/* MHD's, valid for the request */
	const char *path;		/* MHD's, valid for the request */
	unsigned err_status;		/* != 0: answer with this error */
	unsigned status;		/* what was queued, 0 = nothing */
	uint64_t body_len;
	void *ctx;			/* the route's */
	/* The loop's answer to an in_loop request. */
	int handed;			/* went to the loop */
	int on_loop;			/* on_complete is running there */
	int abort;			/* close without a reply */
	struct MHD_Response *pending;	/* owned ref */
	unsigned pending_status;
	TAILQ_ENTRY(tg_http_request) link;
	char peer[INET6_ADDRSTRLEN];
	char host[TG_DNAME_MAX + 1];	/* plain: of the Host header, or "" */
};

struct tg_http_body {
	struct MHD_Response *resp;	/* owned reference */
	char *content_type;		/* owned; for replies from the loop */
	char *data;			/* owned */
	size_t len;
};

/* ---- http_flight.c ---- */

/* Send c's TLS records (session tls, MHD's) through http_flight's push
 * function, which sends a server flight in as few segments as it can. */
void http_flight_init(struct http_conn *c, gnutls_session_t tls);

/* ---- http_reply.c ---- */

/* A reply of data (copied) with the security headers of server h (NULL:
 * an HTTPS server's defaults; HSTS only over TLS, h's own CSP if it has
 * one); NULL when out of memory. */
struct MHD_Response *http_response(const struct tg_http *h,
    const char *content_type, const void *data, size_t len);

/* Queue resp (a reference is taken) as the reply of req; 0 or -1. */
int http_queue(struct tg_http_request *req, unsigned status,
    struct MHD_Response *resp);

/* The reply to req (resp taken): queued now on the server's thread, kept
 * as req->pending on the loop's. 0 or -1. */
int http_reply_new(struct tg_http_request *req, unsigned status,
    struct MHD_Response *resp);

/* An error page of this module ("404 Not Found", with Allow on 405). */
struct MHD_Response *http_error_response(const struct tg_http_request *req,
    unsigned status);
enum MHD_Result http_reply_error(struct tg_http_request *req,
    unsigned status);

/*
 * The chain and key for name (exact, already lower case, no trailing
 * dot), borrowed from cs: valid while the caller holds a reference to
 * cs. Returns 0, or -1 when cs has no certificate for name.
 */
int tg_http_certs_find(struct tg_http_certs *cs, const char *name,
    gnutls_pcert_st **pcerts, unsigned *npcerts, gnutls_privkey_t *key);

#endif
