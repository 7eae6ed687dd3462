/*
 * net/http — the HTTPS server on libmicrohttpd (see http.h).
 *
 * Life of a connection: the daemon's listener accepts it and
 * tg_http_accept hands it to MHD (MHD_add_connection, which applies the
 * connection and per-address limits and wakes MHD's thread). MHD tells
 * us it started (NOTIFY_CONNECTION): we give it a struct http_conn as its
 * socket context, with its request deadline. During the TLS handshake
 * GnuTLS asks http_cert_cb for a certificate: the SNI name picks one from
 * the server's current set, and the connection keeps a reference to that
 * set. Each request then goes through http_access (MHD calls it once when
 * the header is in, once per piece of body, then until a reply is queued)
 * and http_completed; the connection's deadline restarts after each
 * request. MHD tells us when the connection closed (before it closes the
 * socket) and the http_conn is freed.
 *
 * Two threads meet here; h->lock guards what they share: the current
 * certificate set and published data, the connection list (deadlines),
 * and the hand-off queue of in_loop requests.
 *
 * A plain server (cfg.plain) is the same without TLS: MHD is started
 * without it, so there is no handshake, no certificate callback and no
 * SNI; the request's host comes from its Host header, unchecked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/log.h"
#include "net/http_int.h"
#include "util/clock.h"
#include "util/dname.h"
#include "util/limits.h"
#include "util/text.h"

/* Listen queue of a socket of our own (tg_http_listen). */
#define TG_HTTP_BACKLOG		511
/* How often the loop looks for requests past their deadline. */
#define HTTP_DEADLINE_TICK_MS	250

void
tg_http_config_init(struct tg_http_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->threads = 1;
	cfg->conn_max = TG_HTTP_CONN_MAX;
	cfg->per_ip_max = TG_HTTP_PER_IP_MAX;
	cfg->idle_timeout_s = TG_HTTP_IDLE_TIMEOUT_S;
	cfg->request_timeout_s = TG_HTTP_REQUEST_TIMEOUT_S;
	cfg->memory_max = TG_HTTP_MEMORY_MAX;
	cfg->body_max = TG_HTTP_BODY_MAX;
}

/* ---- published data ---- */

static struct http_pub *
http_pub_ref(struct http_pub *p)
{
	if (p != NULL)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

static void
http_pub_unref(struct http_pub *p)
{
	if (p == NULL || atomic_fetch_sub(&p->refs, 1) > 1)
		return;
	if (p->release != NULL)
		p->release(p->data);
	free(p);
}

int
tg_http_publish(struct tg_http *h, void *data, void (*release)(void *data),
    struct tg_err *err)
{
	struct http_pub *p, *old;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		if (release != NULL)
			release(data);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	atomic_init(&p->refs, 1);
	p->data = data;
	p->release = release;
	pthread_mutex_lock(&h->lock);
	old = h->pub;
	h->pub = p;
	pthread_mutex_unlock(&h->lock);
	http_pub_unref(old);
	return 0;
}

/* ---- request deadlines (slow senders; RELIABILITY H-03) ---- */

/* (Re)start c's deadline, under h->lock. It goes to the tail: the list
 * stays sorted because every deadline is now + the same duration. */
static void
http_deadline_restart(struct http_conn *c)
{
	struct tg_http *h = c->http;

	if (c->listed)
		TAILQ_REMOVE(&h->conns, c, link);
	c->deadline_ms = tg_clock_mono_ms() +
	    (long long)h->cfg.request_timeout_s * 1000;
	TAILQ_INSERT_TAIL(&h->conns, c, link);
	c->listed = 1;
}

/* One line a second at most for refused connections: a flood must not
 * become a flood of log lines. */
static void
http_log_refused(struct tg_http *h)
{
	long long now = tg_clock_mono_ms();

	if (h->refused == 0 || now - h->refused_logged_ms < 1000)
		return;
	tg_log_info(NULL, "event=http-accept result=refused connections=%u "
	    "reason=\"connection or per-address limit\"", h->refused);
	h->refused = 0;
	h->refused_logged_ms = now;
}

/*
 * Cut off every connection past its deadline: shutting its socket down
 * makes MHD see the end of the stream and close it its own way. Safe
 * under the lock: MHD unlists a connection (NOTIFY_CLOSED) before it
 * closes the socket, so the descriptor is still the connection's.
 */
static void
http_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct tg_http *h = arg;
	struct http_conn *c;
	long long now = tg_clock_mono_ms();
	int cut = 0;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&h->lock);
	while ((c = TAILQ_FIRST(&h->conns)) != NULL && c->deadline_ms <= now) {
		TAILQ_REMOVE(&h->conns, c, link);
		c->listed = 0;
		(void)shutdown(c->fd, SHUT_RDWR);
		cut++;
	}
	pthread_mutex_unlock(&h->lock);
	if (cut > 0)
		tg_log_info(NULL, "event=http-deadline connections=%d "
		    "result=closed", cut);
	http_log_refused(h);
}

/* ---- connections (server's thread) ---- */

static void
http_conn_start(struct tg_http *h, struct MHD_Connection *mc,
    void **socket_context)
{
	const union MHD_ConnectionInfo *ci;
	struct http_conn *c;

	*socket_context = NULL;
	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL || (c = calloc(1, sizeof(*c))) == NULL) {
		/* Without a context every handshake of this connection fails
		 * (http_cert_cb), so it cannot be served by mistake. */
		return;
	}
	c->http = h;
	c->fd = ci->connect_fd;
	*socket_context = c;
	/*
	 * Resumption: a client that comes back with a ticket skips the
	 * certificate and its signature, most of a handshake's cost (MHD
	 * has no option for it; its session exists once the connection
	 * is started, before the handshake). Not resuming is harmless.
	 */
	ci = h->cfg.plain ? NULL : MHD_get_connection_info(mc,
	    MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci != NULL && ci->tls_session != NULL) {
		if (h->ticket_key.data != NULL)
			(void)gnutls_session_ticket_enable_server(
			    ci->tls_session, &h->ticket_key);
		http_flight_init(c, ci->tls_session);
	}
	pthread_mutex_lock(&h->lock);
	h->nconns++;
	http_deadline_restart(c);
	pthread_mutex_unlock(&h->lock);
}

static void
http_conn_close(struct tg_http *h, struct http_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	if (c->listed)
		TAILQ_REMOVE(&h->conns, c, link);
	h->nconns--;
	pthread_mutex_unlock(&h->lock);
	tg_http_certs_unref(c->certs);
	free(c);
}

static void
http_on_connection(void *cls, struct MHD_Connection *mc,
    void **socket_context, enum MHD_ConnectionNotificationCode toe)
{
	struct tg_http *h = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		http_conn_start(h, mc, socket_context);
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		http_conn_close(h, *socket_context);
		*socket_context = NULL;
	}
}

static struct http_conn *
http_conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci == NULL ? NULL : ci->socket_context;
}

/* The SNI name of session, normalised into out; -1 if none or bad. */
static int
http_sni(gnutls_session_t session, char *out, size_t outlen)
{
	char raw[TG_DNAME_MAX + 2];
	size_t len = sizeof(raw);
	unsigned type;

	if (gnutls_server_name_get(session, raw, &len, &type, 0) != 0 ||
	    type != GNUTLS_NAME_DNS)
		return -1;
	return tg_dname_host_normalize(raw, out, outlen, NULL);
}

/*
 * GnuTLS's certificate callback (gnutls_certificate_retrieve_function2,
 * what MHD_OPTION_HTTPS_CERT_CALLBACK takes in MHD 0.9.75). MHD sets the
 * session's pointer to its connection. No SNI, or a name without a
 * certificate: -1 ends the handshake (RFC 8461 §7.1, ALPACA). The chain
 * and key stay owned by the set; the connection holds a reference to it.
 */
static int
http_cert_cb(gnutls_session_t session, const gnutls_datum_t *req_ca_dn,
    int nreqs, const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
    gnutls_pcert_st **pcert, unsigned int *pcert_length,
    gnutls_privkey_t *privkey)
{
	struct MHD_Connection *mc = gnutls_session_get_ptr(session);
	struct http_conn *c = mc == NULL ? NULL : http_conn_of(mc);
	char name[TG_DNAME_MAX + 1];

	(void)req_ca_dn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	if (c == NULL)
		return -1;
	if (http_sni(session, name, sizeof(name)) != 0) {
		tg_log_info(NULL, "event=http-tls result=refused "
		    "reason=no-sni");
		return -1;
	}
	if (c->certs == NULL) {
		pthread_mutex_lock(&c->http->lock);
		if (c->http->certs != NULL)
			c->certs = tg_http_certs_ref(c->http->certs);
		pthread_mutex_unlock(&c->http->lock);
	}
	if (c->certs == NULL || tg_http_certs_find(c->certs, name, pcert,
	    pcert_length, privkey) != 0) {
		tg_log_info(NULL, "event=http-tls sni=%s result=refused "
		    "reason=unknown-sni", name);
		return -1;
	}
	memcpy(c->sni, name, sizeof(c->sni));
	return 0;
}

/* ---- requests (server's thread) ---- */

static unsigned
http_method_bit(const char *method)
{
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0)
		return TG_HTTP_GET;
	if (strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
		return TG_HTTP_HEAD;
	if (strcmp(method, MHD_HTTP_METHOD_POST) == 0)
		return TG_HTTP_POST;
	return 0;
}

/*
 * The Host header names the connection's SNI name (ALPACA: a request for
 * another host on this connection is refused). A missing Host is only
 * possible in HTTP/1.0 (MHD refuses HTTP/1.1 without one); the SNI name
 * then stands.
 */
static int
http_host_matches(const char *host, const char *sni)
{
	char name[TG_DNAME_MAX + 2];
	size_t len;

	if (sni[0] == '\0')
		return 0;
	if (host == NULL)
		return 1;
	len = strcspn(host, ":");
	if (host[0] == '[' || len == 0 || len >= sizeof(name))
		return 0;
	memcpy(name, host, len);
	name[len] = '\0';
	if (name[len - 1] == '.')
		name[len - 1] = '\0';
	return strcasecmp(name, sni) == 0;
}

/* The first route whose path is path, or a prefix of it (http.h). */
static const struct tg_http_route *
http_route_find(const struct tg_http *h, const char *path)
{
	const struct tg_http_route *r;
	size_t i;

	for (i = 0; i < h->cfg.nroutes; i++) {
		r = &h->cfg.routes[i];
		if (r->prefix ? strncmp(r->path, path, strlen(r->path)) == 0 :
		    strcmp(r->path, path) == 0)
			return r;
	}
	return NULL;
}

/*
 * Plain HTTP: the name in the Host header (RFC 9110 §7.2: uri-host
 * [":" port]) into req->host, normalised; "" when there is none or it is
 * no name (an IPv6 literal, say). Nothing is refused here.
 */
static void
http_plain_host(struct tg_http_request *req, const char *host)
{
	char name[TG_DNAME_MAX + 2];
	size_t len;

	req->host[0] = '\0';
	if (host == NULL || host[0] == '[')
		return;
	len = strcspn(host, ":");
	if (len == 0 || len >= sizeof(name))
		return;
	memcpy(name, host, len);
	name[len] = '\0';
	if (tg_dname_normalize(name, req->host, sizeof(req->host), NULL) != 0)
		req->host[0] = '\0';
}

/*
 * The SNI name when the handshake did not go through http_cert_cb: a
 * resumed session (no certificate is sent). The name must still have a
 * certificate in the current set, as in a full handshake; else it stays
 * "" and every request is answered 421.
 */
static void
http_conn_sni(struct http_conn *c, struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci;
	struct tg_http_certs *cs;
	gnutls_pcert_st *pc;
	gnutls_privkey_t key;
	unsigned npc;
	int known;

	if (c->sni[0] != '\0')
		return;
	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || http_sni(ci->tls_session, c->sni,
	    sizeof(c->sni)) != 0) {
		c->sni[0] = '\0';
		return;
	}
	pthread_mutex_lock(&c->http->lock);
	cs = c->http->certs;
	known = cs != NULL && tg_http_certs_find(cs, c->sni, &pc, &npc,
	    &key) == 0;
	pthread_mutex_unlock(&c->http->lock);
	if (!known) {
		tg_log_info(NULL, "event=http-tls sni=%s result=refused "
		    "reason=unknown-sni resumed=1", c->sni);
		c->sni[0] = '\0';
	}
}

/* Decide, from the header alone, whether the request goes to a route. */
static void
http_classify(struct tg_http_request *req)
{
	const char *host;

	host = MHD_lookup_connection_value(req->mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_HOST);
	if (req->http->cfg.plain)
		http_plain_host(req, host);
	else
		http_conn_sni(req->conn, req->mc);
	req->route = http_route_find(req->http, req->path);
	if (!req->http->cfg.plain && !http_host_matches(host, req->conn->sni))
		req->err_status = MHD_HTTP_MISDIRECTED_REQUEST;
	else if (req->route == NULL)
		req->err_status = MHD_HTTP_NOT_FOUND;
	else if ((req->method & req->route->methods) == 0)
		req->err_status = MHD_HTTP_METHOD_NOT_ALLOWED;
}

/* A POST body announced larger than the cap is refused before it comes. */
static int
http_body_too_large(const struct tg_http_request *req)
{
	const char *cl;
	unsigned long long n;
	char *end;

	cl = MHD_lookup_connection_value(req->mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl == NULL)
		return 0;
	errno = 0;
	n = strtoull(cl, &end, 10);
	return errno != 0 || *end != '\0' || n > req->http->cfg.body_max;
}

static enum MHD_Result
http_begin(struct tg_http *h, struct MHD_Connection *mc, const char *url,
    const char *method, void **req_cls)
{
	struct http_conn *c = http_conn_of(mc);
	struct tg_http_request *req;

	if (c == NULL || (req = calloc(1, sizeof(*req))) == NULL)
		return MHD_NO;
	req->http = h;
	req->conn = c;
	req->mc = mc;
	req->method = http_method_bit(method);
	req->method_name = method;
	req->path = url;
	pthread_mutex_lock(&h->lock);
	req->pub = http_pub_ref(h->pub);
	pthread_mutex_unlock(&h->lock);
	*req_cls = req;
	http_classify(req);
	if (req->method != TG_HTTP_POST)
		return MHD_YES;		/* answered at the end */
	/* A POST is refused before its body is read. */
	if (req->err_status == 0 && http_body_too_large(req))
		req->err_status = MHD_HTTP_CONTENT_TOO_LARGE;
	if (req->err_status != 0)
		return http_reply_error(req, req->err_status);
	if (req->route->on_headers != NULL &&
	    req->route->on_headers(req, h->cfg.arg) != 0)
		return MHD_NO;
	return MHD_YES;
}

static enum MHD_Result
http_body(struct tg_http_request *req, const char *data, size_t *len)
{
	struct tg_http *h = req->http;
	size_t n = *len;

	*len = 0;
	if ((uint64_t)n > h->cfg.body_max - req->body_len) {
		/* A body without Content-Length grew past the cap: MHD
		 * 0.9.75 cannot answer in the middle of a body. */
		tg_log_info(NULL, "event=http peer=%s result=closed "
		    "reason=body-too-large", tg_http_request_peer(req));
		return MHD_NO;
	}
	req->body_len += n;
	if (req->status != 0 || req->err_status != 0 || req->route == NULL ||
	    req->method != TG_HTTP_POST || req->route->on_body == NULL)
		return MHD_YES;		/* discarded */
	return req->route->on_body(req, data, n, h->cfg.arg) == 0 ?
	    MHD_YES : MHD_NO;
}

/* Hand an in_loop request to the loop: suspend its connection, queue it,
 * wake the loop (http_on_wake resumes the connection). */
static enum MHD_Result
http_hand_off(struct tg_http_request *req)
{
	struct tg_http *h = req->http;
	uint64_t one = 1;

	pthread_mutex_lock(&h->lock);
	if (h->stopping) {
		pthread_mutex_unlock(&h->lock);
		return MHD_NO;
	}
	req->handed = 1;
	MHD_suspend_connection(req->mc);
	TAILQ_INSERT_TAIL(&h->handoff, req, link);
	pthread_mutex_unlock(&h->lock);
	if (write(h->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		tg_log_err(NULL, "event=http-handoff error=\"%s\"",
		    strerror(errno));
	return MHD_YES;
}

/* The loop has answered: queue its reply. */
static enum MHD_Result
http_handed_back(struct tg_http_request *req)
{
	struct MHD_Response *resp = req->pending;
	int r;

	if (req->abort || resp == NULL)
		return MHD_NO;
	req->pending = NULL;
	r = http_queue(req, req->pending_status, resp);
	MHD_destroy_response(resp);
	return r == 0 ? MHD_YES : MHD_NO;
}

static enum MHD_Result
http_complete(struct tg_http_request *req)
{
	if (req->status != 0)
		return MHD_YES;
	if (req->handed)
		return http_handed_back(req);
	if (req->err_status != 0)
		return http_reply_error(req, req->err_status);
	if (req->route->in_loop) {
		if (req->route->on_prepare != NULL &&
		    req->route->on_prepare(req, req->http->cfg.arg) != 0)
			return MHD_NO;
		return http_hand_off(req);
	}
	if (req->route->on_complete(req, req->http->cfg.arg) != 0)
		return MHD_NO;
	if (req->status == 0)
		return http_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR);
	return MHD_YES;
}

static enum MHD_Result
http_access(void *cls, struct MHD_Connection *mc, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct tg_http_request *req = *req_cls;

	(void)version;
	if (req == NULL)
		return http_begin(cls, mc, url, method, req_cls);
	if (*upload_data_size > 0)
		return http_body(req, upload_data, upload_data_size);
	return http_complete(req);
}

static void
http_completed(void *cls, struct MHD_Connection *mc, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct tg_http *h = cls;
	struct tg_http_request *req = *req_cls;

	(void)mc;
	if (req == NULL)
		return;
	tg_log_debug(NULL, "event=http peer=%s host=%s method=%s path=%s "
	    "status=%u%s", tg_http_request_peer(req), tg_http_request_host(req),
	    req->method_name, req->path, req->status,
	    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" :
	    " result=aborted");
	if (req->route != NULL && req->route->on_done != NULL)
		req->route->on_done(req, h->cfg.arg);
	if (req->pending != NULL)
		MHD_destroy_response(req->pending);
	http_pub_unref(req->pub);
	pthread_mutex_lock(&h->lock);
	http_deadline_restart(req->conn);
	pthread_mutex_unlock(&h->lock);
	free(req);
	*req_cls = NULL;
}

/* ---- the hand-off, loop's side ---- */

/* The route answers; the reply waits in req->pending. */
static void
http_loop_complete(struct tg_http *h, struct tg_http_request *req)
{
	req->on_loop = 1;
	if (req->route->on_complete(req, h->cfg.arg) != 0)
		req->abort = 1;
	else if (req->pending == NULL)
		(void)http_reply_new(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    http_error_response(req, MHD_HTTP_INTERNAL_SERVER_ERROR));
}

/* The batch could not be made durable: what said "done" says 503. */
static void
http_batch_failed(struct tg_http_request *req)
{
	static const char text[] = "503 could not be stored now; try again "
	    "later\n";
	struct MHD_Response *resp;

	if (req->abort || req->pending == NULL || req->pending_status < 200 ||
	    req->pending_status > 299)
		return;
	resp = http_response(req->http, "text/plain; charset=utf-8", text,
	    sizeof(text) - 1);
	if (resp == NULL) {
		req->abort = 1;		/* no reply rather than a false 2xx */
		return;
	}
	MHD_destroy_response(req->pending);
	req->pending = resp;
	req->pending_status = MHD_HTTP_SERVICE_UNAVAILABLE;
}

/* Let the reply go: from here on req belongs to the server's thread. */
static void
http_loop_release(struct tg_http_request *req)
{
	struct MHD_Connection *mc = req->mc;

	req->on_loop = 0;
	MHD_resume_connection(mc);
}

static void
http_on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct tg_http *h = arg;
	struct http_req_list todo, done;
	struct tg_http_request *req;
	uint64_t n;
	int batch, failed;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		tg_log_err(NULL, "event=http-handoff error=\"%s\"",
		    strerror(errno));
	TAILQ_INIT(&todo);
	TAILQ_INIT(&done);
	pthread_mutex_lock(&h->lock);
	TAILQ_CONCAT(&todo, &h->handoff, link);
	pthread_mutex_unlock(&h->lock);
	if (TAILQ_EMPTY(&todo))
		return;
	batch = h->cfg.batch_begin != NULL &&
	    h->cfg.batch_begin(h->cfg.arg) == 0;
	while ((req = TAILQ_FIRST(&todo)) != NULL) {
		TAILQ_REMOVE(&todo, req, link);
		http_loop_complete(h, req);
		if (!batch) {
			http_loop_release(req);
			continue;
		}
		TAILQ_INSERT_TAIL(&done, req, link);
	}
	failed = batch && h->cfg.batch_end(h->cfg.arg) != 0;
	while ((req = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, req, link);
		if (failed)
			http_batch_failed(req);
		http_loop_release(req);
	}
}

/* ---- the server ---- */

__attribute__((format(printf, 2, 0)))
static void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	tg_log_debug(NULL, "event=http-mhd msg=\"%s\"", msg);
}

static int
http_check_config(const struct tg_http_config *cfg, struct tg_err *err)
{
	size_t i;

	if (cfg->nroutes > TG_HTTP_ROUTES_MAX)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "more than %d routes", TG_HTTP_ROUTES_MAX);
	for (i = 0; i < cfg->nroutes; i++)
		if (cfg->routes[i].path == NULL ||
		    cfg->routes[i].on_complete == NULL ||
		    cfg->routes[i].methods == 0)
			return tg_err_set(err, TG_ERR_BUG, NULL,
			    "route %zu is incomplete", i);
	if (cfg->csp != NULL && strpbrk(cfg->csp, "\r\n") != NULL)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "the CSP has a line break");
	if ((cfg->batch_begin == NULL) != (cfg->batch_end == NULL))
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "batch_begin and batch_end go together");
	if (cfg->conn_max == 0 || cfg->per_ip_max == 0 ||
	    cfg->request_timeout_s == 0 || cfg->memory_max < 4096 ||
	    cfg->threads == 0 || cfg->threads > TG_HTTP_THREADS_MAX)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "http limits out of range");
	return 0;
}

int
tg_http_new(struct event_base *base, const struct tg_http_config *cfg,
    struct tg_http **out, struct tg_err *err)
{
	struct timeval tick = { 0, HTTP_DEADLINE_TICK_MS * 1000 };
	struct tg_http *h;

	*out = NULL;
	if (http_check_config(cfg, err) != 0)
		return -1;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	h->base = base;
	h->cfg = *cfg;
	TAILQ_INIT(&h->conns);
	TAILQ_INIT(&h->handoff);
	pthread_mutex_init(&h->lock, NULL);
	h->listen_fd = -1;
	if (cfg->plain ||
	    gnutls_session_ticket_key_generate(&h->ticket_key) != 0)
		h->ticket_key.data = NULL;	/* full handshakes only */
	h->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->wake_fd >= 0)
		h->wake_ev = event_new(base, h->wake_fd, EV_READ | EV_PERSIST,
		    http_on_wake, h);
	h->deadline_ev = event_new(base, -1, EV_PERSIST, http_on_deadline, h);
	if (h->wake_ev == NULL || h->deadline_ev == NULL ||
	    event_add(h->wake_ev, NULL) != 0 ||
	    event_add(h->deadline_ev, &tick) != 0) {
		tg_http_free(h);
		return tg_err_set(err, TG_ERR_TEMP, NULL,
		    "cannot set up the loop events: %s", strerror(errno));
	}
	*out = h;
	return 0;
}

/*
 * The options that depend on the server: its own listening socket (MHD
 * refuses MHD_OPTION_LISTEN_SOCKET beside NO_LISTEN_SOCKET, even an
 * invalid one: given only when there is a socket), and TLS's (none on a
 * plain server). opts has room for four.
 */
static void
http_start_options(struct tg_http *h, const char *prio,
    struct MHD_OptionItem *opts)
{
	size_t n = 0;

	if (h->listen_fd >= 0)
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET,
		    h->listen_fd, NULL };
	if (!h->cfg.plain) {
		/* MHD takes the callback through a void * in an array. */
		opts[n++] = (struct MHD_OptionItem){
		    MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)http_cert_cb };
		opts[n++] = (struct MHD_OptionItem){
		    MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)(uintptr_t)prio };
	}
	opts[n] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
}

int
tg_http_start(struct tg_http *h, struct tg_err *err)
{
	const char *prio = h->cfg.priorities != NULL ? h->cfg.priorities :
	    TG_HTTP_PRIORITIES;
	unsigned pool = h->cfg.threads > 1 ? h->cfg.threads : 0;
	struct MHD_OptionItem opts[4];

	if (h->mhd != NULL)
		return tg_err_set(err, TG_ERR_BUG, NULL, "started twice");
	http_start_options(h, prio, opts);
	h->mhd = MHD_start_daemon((h->cfg.plain ? 0 : MHD_USE_TLS) |
	    MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
	    (h->listen_fd < 0 ? MHD_USE_NO_LISTEN_SOCKET : 0), 0, NULL, NULL,
	    http_access, h,
	    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, h,
	    MHD_OPTION_ARRAY, opts,
	    MHD_OPTION_THREAD_POOL_SIZE, pool,
	    MHD_OPTION_CONNECTION_LIMIT, h->cfg.conn_max,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->cfg.per_ip_max,
	    MHD_OPTION_CONNECTION_TIMEOUT, h->cfg.idle_timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, h->cfg.memory_max,
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, h,
	    MHD_OPTION_NOTIFY_CONNECTION, http_on_connection, h,
	    MHD_OPTION_END);
	if (h->mhd == NULL && h->cfg.plain)
		return tg_err_set(err, TG_ERR_TEMP, NULL,
		    "libmicrohttpd did not start");
	if (h->mhd == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL,
		    "libmicrohttpd did not start (TLS priorities \"%s\"?)",
		    prio);
	h->listen_fd = -1;		/* MHD's now: it closes it */
	return 0;
}

int
tg_http_listen(struct tg_http *h, const struct sockaddr *sa, int salen,
    struct tg_err *err)
{
	int fd, one = 1;

	if (h->listen_fd >= 0 || h->mhd != NULL)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "one listening socket, before start");
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) != 0 || bind(fd, sa, (socklen_t)salen) != 0 ||
	    listen(fd, TG_HTTP_BACKLOG) != 0) {
		if (fd >= 0)
			close(fd);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "cannot listen: %s",
		    strerror(errno));
	}
	h->listen_fd = fd;
	return 0;
}

/* Give every request waiting for the loop back to MHD, to be closed. */
static void
http_drain_handoff(struct tg_http *h)
{
	struct http_req_list todo;
	struct tg_http_request *req;

	TAILQ_INIT(&todo);
	pthread_mutex_lock(&h->lock);
	h->stopping = 1;
	TAILQ_CONCAT(&todo, &h->handoff, link);
	pthread_mutex_unlock(&h->lock);
	while ((req = TAILQ_FIRST(&todo)) != NULL) {
		TAILQ_REMOVE(&todo, req, link);
		req->abort = 1;
		MHD_resume_connection(req->mc);
	}
}

void
tg_http_free(struct tg_http *h)
{
	if (h == NULL)
		return;
	if (h->mhd != NULL) {
		http_drain_handoff(h);
		MHD_stop_daemon(h->mhd);	/* closes every connection */
	}
	if (h->wake_ev != NULL)
		event_free(h->wake_ev);
	if (h->deadline_ev != NULL)
		event_free(h->deadline_ev);
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	tg_http_certs_unref(h->certs);
	http_pub_unref(h->pub);
	pthread_mutex_destroy(&h->lock);
	if (h->ticket_key.data != NULL) {
		gnutls_memset(h->ticket_key.data, 0, h->ticket_key.size);
		gnutls_free(h->ticket_key.data);
	}
	free(h);
}

int
tg_http_accept(struct tg_http *h, evutil_socket_t fd,
    const struct sockaddr *sa, int salen)
{
	int one = 1;

	if (h->mhd == NULL || salen < 0) {
		close(fd);
		return -1;
	}
	/* GnuTLS writes a handshake flight in more than one send: with
	 * Nagle's algorithm the second waits for the peer's delayed ACK
	 * (40 ms on Linux) — every new connection would pay it. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (MHD_add_connection(h->mhd, fd, sa, (socklen_t)salen) != MHD_YES) {
		/* MHD closed it: over a limit (MHD's errno then says ENFILE,
		 * which is not what happened), or out of memory. */
		h->refused++;
		http_log_refused(h);
		return -1;
	}
	return 0;
}

void
tg_http_set_certs(struct tg_http *h, struct tg_http_certs *certs)
{
	struct tg_http_certs *old;

	if (certs != NULL)
		tg_http_certs_ref(certs);
	pthread_mutex_lock(&h->lock);
	old = h->certs;
	h->certs = certs;
	pthread_mutex_unlock(&h->lock);
	tg_http_certs_unref(old);
}

unsigned
tg_http_connections(struct tg_http *h)
{
	unsigned n;

	pthread_mutex_lock(&h->lock);
	n = h->nconns;
	pthread_mutex_unlock(&h->lock);
	return n;
}
