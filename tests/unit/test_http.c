/*
 * Unit tests of net/http: a real HTTPS server (libmicrohttpd on a
 * libevent loop) on 127.0.0.1 and a random port, driven in the same
 * thread as its libcurl client (curl multi and the event loop take turns),
 * with self-signed P-256 certificates for two names made in the test.
 * Covered: SNI picks the certificate, unknown or missing SNI ends the
 * handshake, Host must match SNI (421), 404, 405 with Allow, HEAD, the
 * security headers, an oversized header, the POST body cap (413, and a
 * chunked body cut off), body streaming, a certificate swap that keeps
 * open connections, data published to the server's thread and replies
 * made on the loop's, the per-address limit, the request deadline, a
 * listening socket of the server's own, the checks made when
 * certificates are added, how the server's TLS flights are cut into
 * TCP segments, prefix routes, a server's own CSP and a route's own
 * headers, a host name of one label, and a plain HTTP server (no TLS,
 * the Host header as the request's host, no HSTS, the same limits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h>	/* tcp_info with the segment counters */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "net/http.h"
#include "support/pki.h"
#include "util/clock.h"

/* ---- certificates made in the test ---- */

struct pem {
	char *cert, *key;
};

static struct pem pem_a, pem_b, pem_other, pem_local;

static char *
pem_of(X509 *x, EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	if (x != NULL)
		assert_int_equal(PEM_write_bio_X509(b, x), 1);
	else
		assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0,
		    NULL, NULL), 1);
	n = BIO_get_mem_data(b, &p);
	out = calloc(1, (size_t)n + 1);
	assert_non_null(out);
	memcpy(out, p, (size_t)n);
	BIO_free(b);
	return out;
}

static void
pem_make(struct pem *p, const char *name)
{
	const char *sans[] = { name, NULL };
	EVP_PKEY *k = tg_test_key();
	X509 *x = tg_test_cert(k, name, sans, -1, 30, 0, NULL, NULL);

	p->cert = pem_of(x, NULL);
	p->key = pem_of(NULL, k);
	X509_free(x);
	EVP_PKEY_free(k);
}

static struct tg_http_certs *
certs_of(int with_a, int with_b)
{
	struct tg_http_certs *cs;
	struct tg_err err;

	assert_int_equal(tg_http_certs_new(&cs, &err), 0);
	if (with_a)
		assert_int_equal(tg_http_certs_add_pem(cs, "a.test",
		    pem_a.cert, strlen(pem_a.cert), pem_a.key,
		    strlen(pem_a.key), &err), 0);
	if (with_b)
		assert_int_equal(tg_http_certs_add_pem(cs, "B.Test.",
		    pem_b.cert, strlen(pem_b.cert), pem_b.key,
		    strlen(pem_b.key), &err), 0);
	return cs;
}

/* ---- the server under test ---- */

struct upload {
	size_t bytes;
	unsigned sum;
	int prepared_off_loop;	/* on_prepare ran, not on the loop's thread */
};

struct srv {
	struct event_base *base;
	struct evconnlistener *lst;
	struct tg_http *http;
	unsigned short port;
	int done_calls;		/* on_done calls */
	int body_calls;
	int loop_calls;		/* on_complete calls on the loop's thread */
	int released;		/* published data released */
	int batch_begins, batch_ends;	/* group commit hooks called */
	int batch_begin_fails, batch_end_fails;	/* what they return */
	int loop_in_batch;	/* loop on_complete calls inside a batch */
	int in_batch;
};

static pthread_t main_thread;

static struct srv srv;

static int
route_policy(struct tg_http_request *req, void *arg)
{
	char text[128];

	(void)arg;
	snprintf(text, sizeof(text), "policy for %s\n",
	    tg_http_request_host(req));
	return tg_http_reply_text(req, 200, "text/plain", text, strlen(text));
}

static int
route_upload_body(struct tg_http_request *req, const void *data,
    size_t len, void *arg)
{
	struct upload *u = tg_http_request_ctx(req);
	const unsigned char *p = data;
	size_t i;

	(void)arg;
	if (u == NULL) {
		u = calloc(1, sizeof(*u));
		assert_non_null(u);
		tg_http_request_set_ctx(req, u);
	}
	for (i = 0; i < len; i++)
		u->sum = u->sum * 31 + p[i];
	u->bytes += len;
	srv.body_calls++;
	return 0;
}

static int
route_upload_done(struct tg_http_request *req, void *arg)
{
	struct upload *u = tg_http_request_ctx(req);
	char text[64];

	(void)arg;
	if (pthread_equal(pthread_self(), main_thread))
		srv.loop_calls++;
	srv.loop_in_batch += srv.in_batch;
	snprintf(text, sizeof(text), "got %zu %u %llu%s\n",
	    u == NULL ? 0 : u->bytes, u == NULL ? 0 : u->sum,
	    (unsigned long long)tg_http_request_body_len(req),
	    u != NULL && u->prepared_off_loop ? " prepared" : "");
	return tg_http_reply_text(req, 200, "text/plain", text, strlen(text));
}

/* Runs on the server's thread before the hand-off to the loop. */
static int
route_upload_prepare(struct tg_http_request *req, void *arg)
{
	struct upload *u = tg_http_request_ctx(req);

	(void)arg;
	if (u != NULL)
		u->prepared_off_loop = !pthread_equal(pthread_self(),
		    main_thread);
	return 0;
}

static void
route_upload_free(struct tg_http_request *req, void *arg)
{
	(void)arg;
	free(tg_http_request_ctx(req));
	tg_http_request_set_ctx(req, NULL);
	srv.done_calls++;
}

/* Published data: a prebuilt body. */
struct pubdata {
	struct tg_http_body *body;
};

static void
pub_release(void *data)
{
	struct pubdata *p = data;

	tg_http_body_free(p->body);
	free(p);
	srv.released++;
}

static void
publish(const char *text)
{
	struct pubdata *p = calloc(1, sizeof(*p));
	struct tg_err err;

	assert_non_null(p);
	assert_int_equal(tg_http_body_new("text/plain", text, strlen(text),
	    &p->body, &err), 0);
	assert_int_equal(tg_http_publish(srv.http, p, pub_release, &err), 0);
}

static int
route_pub(struct tg_http_request *req, void *arg)
{
	struct pubdata *p = tg_http_request_data(req);

	(void)arg;
	if (p == NULL)
		return tg_http_reply_text(req, 503, "text/plain", "none\n", 5);
	return tg_http_reply(req, 200, p->body);
}

static int
route_loop(struct tg_http_request *req, void *arg)
{
	struct pubdata *p = tg_http_request_data(req);

	(void)arg;
	if (pthread_equal(pthread_self(), main_thread))
		srv.loop_calls++;
	return tg_http_reply(req, 200, p->body);
}

/* A prefix route: the rest of the path and the host, as text. */
static int
route_files(struct tg_http_request *req, void *arg)
{
	char text[512];

	(void)arg;
	snprintf(text, sizeof(text), "file '%s' for '%s'\n",
	    tg_http_request_path(req) + strlen("/files/"),
	    tg_http_request_host(req));
	return tg_http_reply_text(req, 200, "text/plain", text, strlen(text));
}

/* Headers of the route's own; those it may not set are refused. */
static int
route_headers(struct tg_http_request *req, void *arg)
{
	static const struct tg_http_header sec[] = {
		{ "Content-Security-Policy", "default-src *" } };
	static const struct tg_http_header ctype[] = {
		{ "content-type", "text/html" } };
	static const struct tg_http_header split[] = {
		{ "X-A", "a\r\nX-B: b" } };
	static const struct tg_http_header name[] = { { "X A", "a" } };
	static const struct tg_http_header good[] = {
		{ "Set-Cookie", "s=1; Secure; HttpOnly" },
		{ "Retry-After", "5" } };

	(void)arg;
	if (tg_http_reply_headers(req, 200, "text/plain", "x", 1, sec,
	    1) != -1 || tg_http_reply_headers(req, 200, "text/plain", "x", 1,
	    ctype, 1) != -1 || tg_http_reply_headers(req, 200, "text/plain",
	    "x", 1, split, 1) != -1 || tg_http_reply_headers(req, 200,
	    "text/plain", "x", 1, name, 1) != -1)
		return tg_http_reply_text(req, 500, "text/plain", "taken\n", 6);
	return tg_http_reply_headers(req, 201, "text/plain", "headers\n", 8,
	    good, 2);
}

static const struct tg_http_route routes[] = {
	{ "/policy", TG_HTTP_GET | TG_HTTP_HEAD, 0, NULL, NULL, route_policy,
	    NULL, NULL, 0 },
	/* Before the prefix route below: the first that matches wins. */
	{ "/files/pinned", TG_HTTP_GET, 0, NULL, NULL, route_policy, NULL,
	    NULL, 0 },
	{ "/files/", TG_HTTP_GET | TG_HTTP_HEAD, 0, NULL, NULL, route_files,
	    NULL, NULL, 1 },
	{ "/upload", TG_HTTP_POST, 1, NULL, route_upload_body,
	    route_upload_done, route_upload_free, route_upload_prepare, 0 },
	{ "/pub", TG_HTTP_GET, 0, NULL, NULL, route_pub, NULL, NULL, 0 },
	{ "/loop", TG_HTTP_GET, 1, NULL, NULL, route_loop, NULL, NULL, 0 },
	{ "/headers", TG_HTTP_GET, 0, NULL, NULL, route_headers, NULL, NULL,
	    0 },
	{ "/loop-headers", TG_HTTP_GET, 1, NULL, NULL, route_headers, NULL,
	    NULL, 0 },
};

static void
srv_on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	(void)arg;
	(void)tg_http_accept(srv.http, fd, sa, salen);
}

static void
srv_start(const struct tg_http_config *over)
{
	struct tg_http_config cfg;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct tg_http_certs *cs;
	struct tg_err err;

	memset(&srv, 0, sizeof(srv));
	if (over != NULL)
		cfg = *over;
	else
		tg_http_config_init(&cfg);
	cfg.routes = routes;
	cfg.nroutes = sizeof(routes) / sizeof(routes[0]);
	srv.base = event_base_new();
	assert_non_null(srv.base);
	assert_int_equal(tg_http_new(srv.base, &cfg, &srv.http, &err), 0);
	/* Not started yet: connections are refused. */
	assert_int_equal(tg_http_accept(srv.http, dup(0), NULL, 0), -1);
	assert_int_equal(tg_http_start(srv.http, &err), 0);
	cs = certs_of(1, 1);
	tg_http_set_certs(srv.http, cs);
	tg_http_certs_unref(cs);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.lst = evconnlistener_new_bind(srv.base, srv_on_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
	    (struct sockaddr *)&sin, sizeof(sin));
	assert_non_null(srv.lst);
	assert_int_equal(getsockname(evconnlistener_get_fd(srv.lst),
	    (struct sockaddr *)&sin, &len), 0);
	srv.port = ntohs(sin.sin_port);
}

static void
srv_stop(void)
{
	evconnlistener_free(srv.lst);
	tg_http_free(srv.http);
	event_base_free(srv.base);
}

static void
pump(int ms)
{
	long long end = tg_clock_mono_ms() + ms;

	while (tg_clock_mono_ms() < end) {
		event_base_loop(srv.base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

/* ---- the client ---- */

struct reply {
	CURLcode rc;
	long status;
	char body[4096];
	size_t body_len;
	char headers[4096];
	size_t headers_len;
	long connects;
	curl_off_t content_length;
	CURL *easy;		/* set by perform */
	int resumed;		/* the TLS session was resumed */
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n, room = sizeof(r->body) - 1 - r->body_len;

	if (len < room)
		room = len;
	memcpy(r->body + r->body_len, p, room);
	r->body_len += room;
	r->body[r->body_len] = '\0';
	return len;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n, room = sizeof(r->headers) - 1 - r->headers_len;
	struct curl_tlssessioninfo *tls = NULL;

	/* The TLS session exists only during the transfer: look now. */
	if (r->headers_len == 0 && curl_easy_getinfo(r->easy,
	    CURLINFO_TLS_SSL_PTR, &tls) == CURLE_OK && tls != NULL &&
	    tls->backend == CURLSSLBACKEND_OPENSSL && tls->internals != NULL)
		r->resumed = SSL_session_reused(tls->internals);
	if (len < room)
		room = len;
	memcpy(r->headers + r->headers_len, p, room);
	r->headers_len += room;
	r->headers[r->headers_len] = '\0';
	return len;
}

/* A handle for https://host:port/path with host pinned to 127.0.0.1 and
 * ca (a PEM certificate, NULL: no verification) as the only trust. */
static CURL *
client(const char *host, const char *path, const char *ca,
    struct curl_slist **resolve)
{
	char url[256], rs[128];
	struct curl_blob blob;
	CURL *e = curl_easy_init();

	assert_non_null(e);
	snprintf(url, sizeof(url), "https://%s:%u%s", host, srv.port, path);
	snprintf(rs, sizeof(rs), "%s:%u:127.0.0.1", host, srv.port);
	*resolve = curl_slist_append(NULL, rs);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_RESOLVE, *resolve);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
	if (getenv("TEST_HTTP_VERBOSE") != NULL)
		curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
	if (ca != NULL) {
		blob.data = (void *)(uintptr_t)ca;
		blob.len = strlen(ca);
		blob.flags = CURL_BLOB_COPY;
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
	} else {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return e;
}

/* One multi handle per test: it holds curl's connection cache and the
 * resolve overrides, so a handle used again reuses its connection. */
static CURLM *multi;

static void
perform(CURL *e, struct reply *r)
{
	CURLM *m = multi;
	CURLMsg *msg;
	int running = 1, left;

	memset(r, 0, sizeof(*r));
	r->rc = CURLE_OK;
	r->easy = e;
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_multi_add_handle(m, e);
	while (running) {
		curl_multi_perform(m, &running);
		event_base_loop(srv.base, EVLOOP_NONBLOCK);
		if (running)
			curl_multi_wait(m, NULL, 0, 1, NULL);
	}
	while ((msg = curl_multi_info_read(m, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			r->rc = msg->data.result;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &r->connects);
	curl_easy_getinfo(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
	    &r->content_length);
	curl_multi_remove_handle(m, e);
	/* Let the server see the end of the exchange. */
	pump(5);
}

static void
get(const char *host, const char *path, const char *ca, struct reply *r)
{
	struct curl_slist *rs;
	CURL *e = client(host, path, ca, &rs);

	perform(e, r);
	curl_easy_cleanup(e);
	curl_slist_free_all(rs);
}

/* A handle for http://host:port/path (plain HTTP), host pinned to
 * 127.0.0.1. */
static CURL *
plain_client(const char *host, const char *path, struct curl_slist **resolve)
{
	char url[256], rs[128];
	CURL *e = curl_easy_init();

	assert_non_null(e);
	snprintf(url, sizeof(url), "http://%s:%u%s", host, srv.port, path);
	snprintf(rs, sizeof(rs), "%s:%u:127.0.0.1", host, srv.port);
	*resolve = curl_slist_append(NULL, rs);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_RESOLVE, *resolve);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
	if (getenv("TEST_HTTP_VERBOSE") != NULL)
		curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
	return e;
}

static void
plain_get(const char *host, const char *path, struct reply *r)
{
	struct curl_slist *rs;
	CURL *e = plain_client(host, path, &rs);

	perform(e, r);
	curl_easy_cleanup(e);
	curl_slist_free_all(rs);
}

/* ---- tests ---- */

static int
setup(void **state)
{
	struct tg_http_config cfg;

	tg_http_config_init(&cfg);
	srv_start(state == NULL || *state == NULL ? NULL : *state);
	multi = curl_multi_init();
	assert_non_null(multi);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	curl_multi_cleanup(multi);
	srv_stop();
	return 0;
}

static void
test_sni_selects_certificate(void **state)
{
	struct reply r;

	(void)state;
	get("a.test", "/policy", pem_a.cert, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "policy for a.test\n");
	get("b.test", "/policy", pem_b.cert, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_string_equal(r.body, "policy for b.test\n");
	/* a.test is not served with b.test's certificate. */
	get("a.test", "/policy", pem_b.cert, &r);
	assert_int_equal(r.rc, CURLE_PEER_FAILED_VERIFICATION);
}

static void
test_unknown_sni_refused(void **state)
{
	struct reply r;

	(void)state;
	/* No verification by the client: the server itself refuses. */
	get("c.test", "/policy", NULL, &r);
	assert_int_equal(r.rc, CURLE_SSL_CONNECT_ERROR);
	assert_int_equal(r.status, 0);
	/* An IP address in the URL: curl sends no SNI. */
	get("127.0.0.1", "/policy", NULL, &r);
	assert_int_equal(r.rc, CURLE_SSL_CONNECT_ERROR);
	assert_int_equal(tg_http_connections(srv.http), 0);
}

static void
test_status_codes(void **state)
{
	struct reply r;
	struct curl_slist *rs, *hdr;
	CURL *e;

	(void)state;
	get("a.test", "/nothing-here", pem_a.cert, &r);
	assert_int_equal(r.status, 404);
	get("a.test", "/policy?x=1", pem_a.cert, &r);
	assert_int_equal(r.status, 200);
	/* POST where only GET and HEAD are served. */
	e = client("a.test", "/policy", pem_a.cert, &rs);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, "x=1");
	perform(e, &r);
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.headers, "Allow: GET, HEAD\r\n"));
	curl_easy_cleanup(e);
	curl_slist_free_all(rs);
	/* Host naming another host than the SNI name (ALPACA). */
	e = client("a.test", "/policy", pem_a.cert, &rs);
	hdr = curl_slist_append(NULL, "Host: b.test");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
	perform(e, &r);
	assert_int_equal(r.status, 421);
	curl_slist_free_all(hdr);
	/* The same host with a port and a trailing dot is fine. */
	hdr = curl_slist_append(NULL, "Host: A.TEST.:443");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
	perform(e, &r);
	assert_int_equal(r.status, 200);
	curl_easy_cleanup(e);
	curl_slist_free_all(hdr);
	curl_slist_free_all(rs);
}

static void
test_head_and_headers(void **state)
{
	struct curl_slist *rs;
	struct reply r;
	CURL *e;

	(void)state;
	e = client("b.test", "/policy", pem_b.cert, &rs);
	curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	perform(e, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	assert_int_equal(r.content_length, strlen("policy for b.test\n"));
	assert_non_null(strstr(r.headers, "Content-Type: text/plain\r\n"));
	assert_non_null(strstr(r.headers,
	    "X-Content-Type-Options: nosniff\r\n"));
	assert_non_null(strstr(r.headers, "Strict-Transport-Security: "));
	assert_non_null(strstr(r.headers, "Content-Security-Policy: "
	    "default-src 'none'"));
	curl_easy_cleanup(e);
	curl_slist_free_all(rs);
}

static void
test_header_too_large(void **state)
{
	struct curl_slist *rs, *hdr;
	struct reply r;
	char *big;
	CURL *e;

	(void)state;
	big = malloc(40000);
	assert_non_null(big);
	memcpy(big, "X-Big: ", 7);
	memset(big + 7, 'a', 40000 - 8);
	big[40000 - 1] = '\0';
	e = client("a.test", "/policy", pem_a.cert, &rs);
	hdr = curl_slist_append(NULL, big);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
	perform(e, &r);
	/* 431, or the connection closed; never served. */
	if (r.rc == CURLE_OK)
		assert_int_equal(r.status, 431);
	else
		assert_int_equal(r.status, 0);
	curl_easy_cleanup(e);
	curl_slist_free_all(hdr);
	curl_slist_free_all(rs);
	free(big);
	/* The server goes on serving. */
	get("a.test", "/policy", pem_a.cert, &r);
	assert_int_equal(r.status, 200);
}

static struct tg_http_config small_body_cfg;

/* ---- TLS session resumption ---- */

/* A client that comes back with its ticket resumes (no certificate, no
 * signature: most of a handshake's cost); the resumed session still
 * needs its SNI name in the current certificate set, else 421. */
static void
test_resumption(void **state)
{
	struct curl_slist *rs;
	struct tg_http_certs *cs;
	struct reply r;
	CURL *e;

	(void)state;
	e = client("a.test", "/policy", pem_a.cert, &rs);
	/* A new connection per request, the same handle: its session. */
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	perform(e, &r);
	assert_int_equal(r.status, 200);
	assert_false(r.resumed);
	perform(e, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.connects, 1);	/* a new connection ... */
	assert_true(r.resumed);			/* ... resumed */
	assert_string_equal(r.body, "policy for a.test\n");
	/* a.test leaves the set: resuming its session gets nothing. */
	cs = certs_of(0, 1);
	tg_http_set_certs(srv.http, cs);
	tg_http_certs_unref(cs);
	perform(e, &r);
	if (r.resumed)
		assert_int_equal(r.status, 421);
	else
		assert_int_not_equal(r.rc, CURLE_OK);	/* handshake refused */
	curl_easy_cleanup(e);
	curl_slist_free_all(rs);
}

/* ---- group commit (batch hooks) ---- */

static int
batch_begin(void *arg)
{
	(void)arg;
	assert_true(pthread_equal(pthread_self(), main_thread));
	srv.batch_begins++;
	if (srv.batch_begin_fails)
		return -1;
	srv.in_batch = 1;
	return 0;
}

static int
batch_end(void *arg)
{
	(void)arg;
	assert_true(srv.in_batch);
	srv.in_batch = 0;
	srv.batch_ends++;
	return srv.batch_end_fails ? -1 : 0;
}

static struct tg_http_config batch_cfg;

static void
post_upload(struct reply *r)
{
	struct curl_slist *rs;
	CURL *e = client("a.test", "/upload", pem_a.cert, &rs);

	curl_easy_setopt(e, CURLOPT_POSTFIELDS, "report");
	perform(e, r);
	curl_easy_cleanup(e);
	curl_slist_free_all(rs);
}

/* In-loop requests are answered inside batch_begin/batch_end; a batch
 * that cannot be made durable turns its 2xx into 503, and one that
 * cannot begin is answered request by request. */
static void
test_batch(void **state)
{
	struct reply r;

	(void)state;
	post_upload(&r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "got 6 "));
	assert_int_equal(srv.batch_begins, 1);
	assert_int_equal(srv.batch_ends, 1);
	assert_int_equal(srv.loop_in_batch, 1);
	/* Not in a batch: GET of the server's thread. */
	get("a.test", "/policy", pem_a.cert, &r);
	assert_int_equal(srv.batch_begins, 1);
	srv.batch_end_fails = 1;
	post_upload(&r);
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.body, "could not be stored"));
	assert_int_equal(srv.batch_ends, 2);
	srv.batch_end_fails = 0;
	srv.batch_begin_fails = 1;
	post_upload(&r);
	assert_int_equal(r.status, 200);
	assert_int_equal(srv.batch_begins, 3);
	assert_int_equal(srv.batch_ends, 2);
	assert_int_equal(srv.loop_in_batch, 2);
}

static size_t
read_zeros(char *buf, size_t size, size_t n, void *arg)
{
	size_t *left = arg, len = size * n;

	if (len > *left)
		len = *left;
	memset(buf, 'z', len);
	*left -= len;
	return len;
}

static void
test_body_cap(void **state)
{
	struct curl_slist *rs, *hdr;
	struct reply r;
	char body[2001];
	size_t left;
	CURL *e;

	(void)state;
	memset(body, 'y', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	/* Within the cap: streamed to the route whole. */
	e = client("a.test", "/upload", pem_a.cert, &rs);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 1000L);
	perform(e, &r);
	assert_int_equal(r.status, 200);
	assert_true(strncmp(r.body, "got 1000 ", 9) == 0);
	/* on_prepare ran on the server's thread, before the loop's turn. */
	assert_non_null(strstr(r.body, " prepared\n"));
	assert_true(srv.body_calls >= 1);
	/* Announced larger than the cap: 413 before any body is read. */
	srv.body_calls = 0;
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 2000L);
	perform(e, &r);
	assert_int_equal(r.status, 413);
	assert_int_equal(srv.body_calls, 0);
	curl_easy_cleanup(e);
	curl_slist_free_all(rs);
	/* Chunked, growing past the cap: cut off, no reply. */
	e = client("a.test", "/upload", pem_a.cert, &rs);
	left = 5000;
	hdr = curl_slist_append(NULL, "Transfer-Encoding: chunked");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, read_zeros);
	curl_easy_setopt(e, CURLOPT_READDATA, &left);
	perform(e, &r);
	assert_int_not_equal(r.rc, CURLE_OK);
	assert_true(r.status < 200);	/* at most "100 Continue" */
	curl_easy_cleanup(e);
	curl_slist_free_all(hdr);
	curl_slist_free_all(rs);
	/* Every request that reached the route was finished; the whole
	 * ones were answered on the loop's thread. */
	pump(20);
	assert_int_equal(srv.done_calls, 3);
	assert_int_equal(srv.loop_calls, 1);
}

static void
test_publish_and_loop(void **state)
{
	struct reply r;

	(void)state;
	get("a.test", "/pub", pem_a.cert, &r);
	assert_int_equal(r.status, 503);
	publish("first\n");
	get("a.test", "/pub", pem_a.cert, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "first\n");
	assert_non_null(strstr(r.headers, "X-Frame-Options: DENY\r\n"));
	assert_non_null(strstr(r.headers, "Strict-Transport-Security: "));
	publish("second\n");
	pump(20);
	assert_int_equal(srv.released, 1);
	get("b.test", "/pub", pem_b.cert, &r);
	assert_string_equal(r.body, "second\n");
	/* The same data, answered from the loop's thread. */
	get("b.test", "/loop", pem_b.cert, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "second\n");
	assert_non_null(strstr(r.headers, "X-Frame-Options: DENY\r\n"));
	assert_int_equal(srv.loop_calls, 1);
}

static void
test_cert_swap_keeps_connections(void **state)
{
	struct tg_http_certs *only_b;
	struct curl_slist *rs;
	struct reply r;
	CURL *e;

	(void)state;
	e = client("a.test", "/policy", pem_a.cert, &rs);
	perform(e, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.connects, 1);
	only_b = certs_of(0, 1);
	tg_http_set_certs(srv.http, only_b);
	tg_http_certs_unref(only_b);
	/* The open connection (which chose a.test's certificate from the
	 * old set) is still answered... */
	perform(e, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.connects, 0);
	assert_string_equal(r.body, "policy for a.test\n");
	curl_easy_cleanup(e);
	curl_slist_free_all(rs);
	/* ...a new one for a.test is not, b.test still is. */
	get("a.test", "/policy", NULL, &r);
	assert_int_equal(r.rc, CURLE_SSL_CONNECT_ERROR);
	get("b.test", "/policy", pem_b.cert, &r);
	assert_int_equal(r.status, 200);
	/* No set at all: nothing is served. */
	tg_http_set_certs(srv.http, NULL);
	get("b.test", "/policy", NULL, &r);
	assert_int_equal(r.rc, CURLE_SSL_CONNECT_ERROR);
}

static int
tcp_connect(void)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(srv.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

/* 1 if the server closed fd (EOF or reset), 0 if it is still open. */
static int
tcp_closed(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, 0);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static struct tg_http_config per_ip_cfg;

static void
test_per_ip_limit(void **state)
{
	int fd[3], i;

	(void)state;
	for (i = 0; i < 3; i++) {
		fd[i] = tcp_connect();
		pump(30);
	}
	assert_int_equal(tg_http_connections(srv.http), 2);
	assert_false(tcp_closed(fd[0]));
	assert_false(tcp_closed(fd[1]));
	assert_true(tcp_closed(fd[2]));
	for (i = 0; i < 3; i++)
		close(fd[i]);
	pump(30);
	assert_int_equal(tg_http_connections(srv.http), 0);
}

static struct tg_http_config deadline_cfg;

static void
test_request_deadline(void **state)
{
	int fd;

	(void)state;
	fd = tcp_connect();
	/* One byte of a ClientHello, then nothing more: within the idle
	 * timeout, but past the request deadline. */
	assert_int_equal(send(fd, "\x16", 1, 0), 1);
	pump(300);
	assert_int_equal(tg_http_connections(srv.http), 1);
	assert_false(tcp_closed(fd));
	pump(1200);
	assert_true(tcp_closed(fd));
	assert_int_equal(tg_http_connections(srv.http), 0);
	close(fd);
}

/* The server's own thread accepts on a socket of its own. */
static void
test_own_listener(void **state)
{
	struct tg_http_config cfg;
	struct tg_http_certs *cs;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct tg_http *h;
	struct tg_err err;
	struct reply r;
	unsigned short port;
	int fd;

	(void)state;
	/* A free port: the kernel's pick, released again. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	tg_http_config_init(&cfg);
	cfg.routes = routes;
	cfg.nroutes = sizeof(routes) / sizeof(routes[0]);
	assert_int_equal(tg_http_new(srv.base, &cfg, &h, &err), 0);
	assert_int_equal(tg_http_listen(h, (struct sockaddr *)&sin,
	    sizeof(sin), &err), 0);
	assert_int_equal(tg_http_listen(h, (struct sockaddr *)&sin,
	    sizeof(sin), &err), -1);
	assert_int_equal(tg_http_start(h, &err), 0);
	cs = certs_of(1, 0);
	tg_http_set_certs(h, cs);
	tg_http_certs_unref(cs);
	srv.port = port;	/* the client follows srv.port */
	get("a.test", "/policy", pem_a.cert, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "policy for a.test\n");
	tg_http_free(h);
}

/* ---- TLS flights and TCP segments (http_flight) ---- */

/* A TLS 1.3 client on memory BIOs over a plain socket, so that the test
 * decides what goes out in which send() and counts the data segments
 * that come in (TCP_INFO). */
struct memtls {
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *in, *out;		/* owned by ssl */
	int fd;
};

static void
memtls_open(struct memtls *m, const char *groups)
{
	m->fd = tcp_connect();
	pump(20);		/* the loop accepts */
	m->ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(m->ctx);
	assert_int_equal(SSL_CTX_set_min_proto_version(m->ctx,
	    TLS1_3_VERSION), 1);
	if (groups != NULL)
		assert_int_equal(SSL_CTX_set1_groups_list(m->ctx, groups), 1);
	m->ssl = SSL_new(m->ctx);
	m->in = BIO_new(BIO_s_mem());
	m->out = BIO_new(BIO_s_mem());
	SSL_set_bio(m->ssl, m->in, m->out);
	SSL_set_connect_state(m->ssl);
	assert_int_equal(SSL_set_tlsext_host_name(m->ssl, "a.test"), 1);
}

static void
memtls_close(struct memtls *m)
{
	SSL_free(m->ssl);
	SSL_CTX_free(m->ctx);
	close(m->fd);
}

/* Send what the client has written so far, in one send(). */
static void
memtls_flush(struct memtls *m)
{
	char buf[16384];
	int n = BIO_read(m->out, buf, sizeof(buf));

	assert_true(n > 0);
	assert_int_equal(BIO_ctrl_pending(m->out), 0);
	assert_int_equal(send(m->fd, buf, (size_t)n, 0), n);
}

/* Wait up to ms for bytes from the server and feed them to the client;
 * the number of bytes, 0 if none came in time. */
static int
memtls_feed(struct memtls *m, int ms)
{
	struct pollfd p = { m->fd, POLLIN, 0 };
	char buf[16384];
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return 0;
	n = recv(m->fd, buf, sizeof(buf), 0);
	assert_true(n > 0);
	assert_int_equal(BIO_write(m->in, buf, (int)n), (int)n);
	return (int)n;
}

static unsigned
data_segments_in(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	return ti.tcpi_data_segs_in;
}

/*
 * The server's flight comes as one segment (ServerHello, the
 * compatibility ChangeCipherSpec, EncryptedExtensions .. Finished), and
 * the session tickets come with the reply to the request that was sent
 * with the client's Finished: two data segments for a handshake and a
 * request, where GnuTLS alone would send four.
 */
static void
test_flight_segments(void **state)
{
	static const char req[] =
	    "GET /policy HTTP/1.1\r\nHost: a.test\r\n\r\n";
	char body[4096] = "";
	size_t got = 0;
	struct memtls m;
	int i, r = -1, n;

	(void)state;
	memtls_open(&m, NULL);
	assert_int_equal(SSL_do_handshake(m.ssl), -1);
	memtls_flush(&m);			/* ClientHello */
	for (i = 0; i < 50 && r != 1; i++) {
		assert_true(memtls_feed(&m, 2000) > 0);
		r = SSL_do_handshake(m.ssl);
	}
	assert_int_equal(r, 1);
	/* Wait a little: a second segment of the flight would be here. */
	(void)memtls_feed(&m, 50);
	assert_int_equal(data_segments_in(m.fd), 1);
	assert_int_equal(SSL_write(m.ssl, req, sizeof(req) - 1),
	    (int)sizeof(req) - 1);
	memtls_flush(&m);			/* Finished and the request */
	for (i = 0; i < 50 && strstr(body, "policy for a.test\n") == NULL;
	    i++) {
		assert_true(memtls_feed(&m, 2000) > 0);
		while ((n = SSL_read(m.ssl, body + got,
		    (int)(sizeof(body) - 1 - got))) > 0)
			got += (size_t)n;
		body[got] = '\0';
	}
	assert_non_null(strstr(body, "HTTP/1.1 200"));
	assert_non_null(strstr(body, "policy for a.test\n"));
	(void)memtls_feed(&m, 50);
	assert_int_equal(data_segments_in(m.fd), 2);
	memtls_close(&m);
}

/* A HelloRetryRequest is not held back: the client must answer it. The
 * client offers a key share only for X448, which this server does not
 * take, so the server asks for another group. */
static void
test_flight_retry_not_held(void **state)
{
	struct memtls m;
	long long t0;
	int i, r = -1;

	(void)state;
	memtls_open(&m, "X448:X25519");
	assert_int_equal(SSL_do_handshake(m.ssl), -1);
	t0 = tg_clock_mono_ms();
	memtls_flush(&m);			/* ClientHello, X448 share */
	/* MSG_MORE would hold the reply for the kernel's 200 ms. */
	assert_true(memtls_feed(&m, 150) > 0);
	assert_true(tg_clock_mono_ms() - t0 < 150);
	assert_int_equal(SSL_do_handshake(m.ssl), -1);
	memtls_flush(&m);			/* second ClientHello */
	for (i = 0; i < 50 && r != 1; i++) {
		assert_true(memtls_feed(&m, 2000) > 0);
		r = SSL_do_handshake(m.ssl);
	}
	assert_int_equal(r, 1);
	memtls_close(&m);
}

static struct tg_http_config no_x448_cfg;

/* ---- prefix routes ---- */

static void
test_prefix_route(void **state)
{
	struct curl_slist *rs;
	struct reply r;
	CURL *e;

	(void)state;
	get("a.test", "/files/a/b.txt", pem_a.cert, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "file 'a/b.txt' for 'a.test'\n");
	get("a.test", "/files/", pem_a.cert, &r);
	assert_string_equal(r.body, "file '' for 'a.test'\n");
	get("a.test", "/files/c?x=1", pem_a.cert, &r);
	assert_string_equal(r.body, "file 'c' for 'a.test'\n");
	/* The exact route listed before the prefix takes its path, and
	 * only that. */
	get("a.test", "/files/pinned", pem_a.cert, &r);
	assert_string_equal(r.body, "policy for a.test\n");
	get("a.test", "/files/pinned/x", pem_a.cert, &r);
	assert_string_equal(r.body, "file 'pinned/x' for 'a.test'\n");
	/* Escapes are decoded: the rest is for the route to check. */
	get("a.test", "/files/%2e%2e/policy", pem_a.cert, &r);
	assert_string_equal(r.body, "file '../policy' for 'a.test'\n");
	/* Not below the prefix. */
	get("a.test", "/files", pem_a.cert, &r);
	assert_int_equal(r.status, 404);
	get("a.test", "/filesx/a", pem_a.cert, &r);
	assert_int_equal(r.status, 404);
	e = client("a.test", "/files/a", pem_a.cert, &rs);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, "x=1");
	perform(e, &r);
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.headers, "Allow: GET, HEAD\r\n"));
	curl_easy_cleanup(e);
	curl_slist_free_all(rs);
}

/* A server's own CSP on every reply (prebuilt bodies, replies made on
 * either thread, error pages); a route's own headers beside the
 * security headers, never instead of them. */
static struct tg_http_config csp_cfg;

static void
test_csp_and_headers(void **state)
{
	static const char csp[] = "Content-Security-Policy: default-src "
	    "'none'; script-src 'self'\r\n";
	static const char *const paths[] = { "/policy", "/pub", "/loop",
		"/nothing", "/headers", "/loop-headers" };
	struct reply r;
	size_t i;

	(void)state;
	publish("published\n");
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		get("a.test", paths[i], pem_a.cert, &r);
		assert_int_equal(r.rc, CURLE_OK);
		if (strstr(r.headers, csp) == NULL)
			fail_msg("%s: no CSP of the server's own in\n%s",
			    paths[i], r.headers);
		assert_non_null(strstr(r.headers, "X-Frame-Options: DENY"));
		assert_non_null(strstr(r.headers,
		    "Strict-Transport-Security: "));
	}
	for (i = 4; i < 6; i++) {
		get("a.test", paths[i], pem_a.cert, &r);
		assert_int_equal(r.status, 201);
		assert_non_null(strstr(r.headers,
		    "Set-Cookie: s=1; Secure; HttpOnly\r\n"));
		assert_non_null(strstr(r.headers, "Retry-After: 5\r\n"));
		assert_non_null(strstr(r.headers,
		    "Content-Type: text/plain\r\n"));
	}
}

/* A host name of one label (the console's "localhost") has its
 * certificate and is served; the Host check holds for it too. */
static void
test_single_label_name(void **state)
{
	struct tg_http_certs *cs;
	struct curl_slist *rs, *hdr;
	struct tg_err err;
	struct reply r;
	CURL *e;

	(void)state;
	cs = certs_of(1, 0);
	assert_int_equal(tg_http_certs_add_pem(cs, "LocalHost",
	    pem_local.cert, strlen(pem_local.cert), pem_local.key,
	    strlen(pem_local.key), &err), 0);
	assert_true(tg_http_certs_has(cs, "localhost"));
	tg_http_set_certs(srv.http, cs);
	tg_http_certs_unref(cs);
	get("localhost", "/policy", pem_local.cert, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "policy for localhost\n");
	e = client("localhost", "/policy", pem_local.cert, &rs);
	hdr = curl_slist_append(NULL, "Host: a.test");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
	perform(e, &r);
	assert_int_equal(r.status, 421);
	curl_easy_cleanup(e);
	curl_slist_free_all(rs);
	curl_slist_free_all(hdr);
}

/* ---- a plain HTTP server ---- */

static struct tg_http_config plain_cfg, plain_limits_cfg;

/* No TLS; any host is served and named by its Host header; the same
 * routes and status codes; the security headers but HSTS. */
static void
test_plain(void **state)
{
	struct curl_slist *rs, *hdr;
	struct reply r;
	CURL *e;

	(void)state;
	plain_get("a.test", "/policy", &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "policy for a.test\n");
	assert_non_null(strstr(r.headers,
	    "X-Content-Type-Options: nosniff\r\n"));
	assert_null(strstr(r.headers, "Strict-Transport-Security"));
	plain_get("c.test", "/files/x/y", &r);
	assert_string_equal(r.body, "file 'x/y' for 'c.test'\n");
	/* The Host header, normalised, without its port; not a name: "". */
	e = plain_client("a.test", "/files/z", &rs);
	hdr = curl_slist_append(NULL, "Host: Other.Example.:8080");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
	perform(e, &r);
	assert_string_equal(r.body, "file 'z' for 'other.example'\n");
	curl_slist_free_all(hdr);
	hdr = curl_slist_append(NULL, "Host: [::1]:80");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
	perform(e, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "file 'z' for ''\n");
	curl_slist_free_all(hdr);
	curl_easy_cleanup(e);
	curl_slist_free_all(rs);
	/* 404 and 405 as over HTTPS, without HSTS either. */
	plain_get("a.test", "/nothing", &r);
	assert_int_equal(r.status, 404);
	assert_null(strstr(r.headers, "Strict-Transport-Security"));
	e = plain_client("a.test", "/policy", &rs);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, "x=1");
	perform(e, &r);
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.headers, "Allow: GET, HEAD\r\n"));
	curl_easy_cleanup(e);
	curl_slist_free_all(rs);
	e = plain_client("a.test", "/files/h", &rs);
	curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	perform(e, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	assert_int_equal(r.content_length, strlen("file 'h' for 'a.test'\n"));
	curl_easy_cleanup(e);
	curl_slist_free_all(rs);
	/* Published bodies, from the server's thread and the loop's. */
	publish("plain\n");
	plain_get("a.test", "/pub", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "plain\n");
	assert_non_null(strstr(r.headers, "X-Frame-Options: DENY\r\n"));
	assert_null(strstr(r.headers, "Strict-Transport-Security"));
	plain_get("a.test", "/loop", &r);
	assert_string_equal(r.body, "plain\n");
	assert_null(strstr(r.headers, "Strict-Transport-Security"));
	/* A TLS client gets no handshake. */
	get("a.test", "/policy", NULL, &r);
	assert_int_not_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 0);
}

/* The limits of an HTTPS server hold for a plain one: per address, the
 * request deadline, the header's memory pool. */
static void
test_plain_limits(void **state)
{
	static const char part[] = "GET /policy HTTP/1.1\r\nHost: a.test\r\n";
	struct curl_slist *rs, *hdr;
	struct reply r;
	int fd[3], i;
	char *big;
	CURL *e;

	(void)state;
	for (i = 0; i < 3; i++) {
		fd[i] = tcp_connect();
		pump(30);
	}
	assert_int_equal(tg_http_connections(srv.http), 2);
	assert_false(tcp_closed(fd[0]));
	assert_true(tcp_closed(fd[2]));
	close(fd[0]);
	close(fd[2]);
	/* A request that never ends: cut off at the deadline (1 s). */
	assert_int_equal(send(fd[1], part, sizeof(part) - 1, 0),
	    (ssize_t)sizeof(part) - 1);
	pump(300);
	assert_false(tcp_closed(fd[1]));
	pump(1200);
	assert_true(tcp_closed(fd[1]));
	close(fd[1]);
	pump(30);
	assert_int_equal(tg_http_connections(srv.http), 0);
	big = malloc(40000);
	assert_non_null(big);
	memcpy(big, "X-Big: ", 7);
	memset(big + 7, 'a', 40000 - 8);
	big[40000 - 1] = '\0';
	e = plain_client("a.test", "/policy", &rs);
	hdr = curl_slist_append(NULL, big);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
	perform(e, &r);
	if (r.rc == CURLE_OK)
		assert_int_equal(r.status, 431);
	else
		assert_int_equal(r.status, 0);
	curl_easy_cleanup(e);
	curl_slist_free_all(hdr);
	curl_slist_free_all(rs);
	free(big);
	plain_get("a.test", "/policy", &r);
	assert_int_equal(r.status, 200);
}

/* ---- certificate sets ---- */

struct add_case {
	const char *what;
	const char *name;
	const struct pem *cert, *key;
	const char *msg;	/* expected in the error, NULL: success */
};

static void
test_certs_add(void **state)
{
	static const char garbage[] = "-----BEGIN CERTIFICATE-----\nxx\n";
	const struct add_case cases[] = {
		{ "good", "a.test", &pem_a, &pem_a, NULL },
		{ "key of another", "a.test", &pem_a, &pem_b,
		    "does not belong" },
		{ "name not covered", "b.test", &pem_a, &pem_a,
		    "not valid for b.test" },
		{ "bad name", "not a name", &pem_a, &pem_a,
		    "certificate name" },
		{ "no certificate", "a.test", NULL, &pem_a,
		    "certificate chain" },
	};
	struct tg_http_certs *cs;
	struct tg_err err;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct add_case *c = &cases[i];
		const char *cert = c->cert ? c->cert->cert : garbage;

		assert_int_equal(tg_http_certs_new(&cs, &err), 0);
		r = tg_http_certs_add_pem(cs, c->name, cert, strlen(cert),
		    c->key->key, strlen(c->key->key), &err);
		if (c->msg == NULL) {
			assert_int_equal(r, 0);
			assert_int_equal(tg_http_certs_count(cs), 1);
			assert_true(tg_http_certs_has(cs, "A.test."));
			assert_false(tg_http_certs_has(cs, "b.test"));
		} else {
			assert_int_equal(r, -1);
			if (strstr(err.msg, c->msg) == NULL)
				fail_msg("%s: \"%s\" lacks \"%s\"", c->what,
				    err.msg, c->msg);
			assert_int_equal(tg_http_certs_count(cs), 0);
		}
		tg_http_certs_unref(cs);
	}
	/* Duplicates, and from files. */
	cs = certs_of(1, 1);
	assert_int_equal(tg_http_certs_add_pem(cs, "a.test", pem_a.cert,
	    strlen(pem_a.cert), pem_a.key, strlen(pem_a.key), &err), -1);
	assert_non_null(strstr(err.msg, "has a certificate already"));
	assert_int_equal(tg_http_certs_add_files(cs, "other.test",
	    "/nonexistent/c.pem", "/nonexistent/k.pem", &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/c.pem"));
	assert_int_equal(tg_http_certs_count(cs), 2);
	tg_http_certs_unref(cs);
}

static void
test_certs_add_files(void **state)
{
	char dir[] = "/tmp/test_http.XXXXXX", cf[64], kf[64];
	struct tg_http_certs *cs;
	struct tg_err err;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cf, sizeof(cf), "%s/c.pem", dir);
	snprintf(kf, sizeof(kf), "%s/k.pem", dir);
	f = fopen(cf, "w");
	fputs(pem_other.cert, f);
	fclose(f);
	f = fopen(kf, "w");
	fputs(pem_other.key, f);
	fclose(f);
	assert_int_equal(tg_http_certs_new(&cs, &err), 0);
	assert_int_equal(tg_http_certs_add_files(cs, "other.test", cf, kf,
	    &err), 0);
	assert_true(tg_http_certs_has(cs, "other.test"));
	tg_http_certs_unref(cs);
	unlink(cf);
	unlink(kf);
	rmdir(dir);
}

static void
test_bad_config(void **state)
{
	static const struct tg_http_route incomplete[] = {
		{ "/x", TG_HTTP_GET, 0, NULL, NULL, NULL, NULL, NULL, 0 },
	};
	struct tg_http_config cfg;
	struct event_base *base = event_base_new();
	struct tg_http *h;
	struct tg_err err;

	(void)state;
	tg_http_config_init(&cfg);
	cfg.routes = incomplete;
	cfg.nroutes = 1;
	assert_int_equal(tg_http_new(base, &cfg, &h, &err), -1);
	assert_null(h);
	tg_http_config_init(&cfg);
	cfg.threads = 0;
	assert_int_equal(tg_http_new(base, &cfg, &h, &err), -1);
	tg_http_config_init(&cfg);
	cfg.csp = "default-src 'none'\r\nX-Injected: 1";
	assert_int_equal(tg_http_new(base, &cfg, &h, &err), -1);
	tg_http_config_init(&cfg);
	cfg.batch_begin = batch_begin;	/* without batch_end */
	assert_int_equal(tg_http_new(base, &cfg, &h, &err), -1);
	tg_http_config_init(&cfg);
	cfg.priorities = "NOT-A-PRIORITY-STRING";
	assert_int_equal(tg_http_new(base, &cfg, &h, &err), 0);
	assert_int_equal(tg_http_start(h, &err), -1);
	tg_http_free(h);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sni_selects_certificate,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_sni_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_codes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_head_and_headers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_header_too_large, setup,
		    teardown),
		cmocka_unit_test_prestate_setup_teardown(test_body_cap, setup,
		    teardown, &small_body_cfg),
		cmocka_unit_test_setup_teardown(
		    test_cert_swap_keeps_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_and_loop, setup,
		    teardown),
		cmocka_unit_test_prestate_setup_teardown(test_per_ip_limit,
		    setup, teardown, &per_ip_cfg),
		cmocka_unit_test_prestate_setup_teardown(test_request_deadline,
		    setup, teardown, &deadline_cfg),
		cmocka_unit_test_setup_teardown(test_own_listener, setup,
		    teardown),
		cmocka_unit_test(test_certs_add),
		cmocka_unit_test(test_certs_add_files),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test_setup_teardown(test_resumption, setup,
		    teardown),
		cmocka_unit_test_prestate_setup_teardown(test_batch, setup,
		    teardown, &batch_cfg),
		cmocka_unit_test_setup_teardown(test_flight_segments, setup,
		    teardown),
		cmocka_unit_test_prestate_setup_teardown(
		    test_flight_retry_not_held, setup, teardown, &no_x448_cfg),
		cmocka_unit_test_setup_teardown(test_prefix_route, setup,
		    teardown),
		cmocka_unit_test_prestate_setup_teardown(test_csp_and_headers,
		    setup, teardown, &csp_cfg),
		cmocka_unit_test_setup_teardown(test_single_label_name,
		    setup, teardown),
		cmocka_unit_test_prestate_setup_teardown(test_plain, setup,
		    teardown, &plain_cfg),
		cmocka_unit_test_prestate_setup_teardown(test_plain_limits,
		    setup, teardown, &plain_limits_cfg),
	};
	int r;

	main_thread = pthread_self();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pem_make(&pem_a, "a.test");
	pem_make(&pem_b, "b.test");
	pem_make(&pem_other, "other.test");
	pem_make(&pem_local, "localhost");
	tg_http_config_init(&csp_cfg);
	csp_cfg.csp = "default-src 'none'; script-src 'self'";
	tg_http_config_init(&small_body_cfg);
	small_body_cfg.body_max = 1000;
	tg_http_config_init(&batch_cfg);
	batch_cfg.batch_begin = batch_begin;
	batch_cfg.batch_end = batch_end;
	tg_http_config_init(&per_ip_cfg);
	per_ip_cfg.per_ip_max = 2;
	tg_http_config_init(&deadline_cfg);
	deadline_cfg.request_timeout_s = 1;
	tg_http_config_init(&no_x448_cfg);
	no_x448_cfg.priorities = TG_HTTP_PRIORITIES ":-GROUP-X448";
	tg_http_config_init(&plain_cfg);
	plain_cfg.plain = 1;
	tg_http_config_init(&plain_limits_cfg);
	plain_limits_cfg.plain = 1;
	plain_limits_cfg.per_ip_max = 2;
	plain_limits_cfg.request_timeout_s = 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	free(pem_a.cert);
	free(pem_a.key);
	free(pem_b.cert);
	free(pem_b.key);
	free(pem_other.cert);
	free(pem_other.key);
	free(pem_local.cert);
	free(pem_local.key);
	curl_global_cleanup();
	return r;
}
