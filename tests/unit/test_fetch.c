/*
 * Unit tests of net/fetch and of the MTA-STS policy fetch built on it
 * (policy/sts, RFC 8461 §3.2, §3.3): the SSRF address rule as a table,
 * and real HTTPS exchanges with an in-process libmicrohttpd server
 * (GnuTLS, its own thread) on 127.0.0.1 and a random port, certificates
 * from a throw-away PKI. mta-sts.example.test is pointed at the server
 * with a resolve override, so no DNS is involved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <microhttpd.h>
#include <openssl/pem.h>

#include "net/fetch.h"
#include "policy/sts.h"
#include "support/pki.h"
#include "util/clock.h"

#define HOST "mta-sts.example.test"
#define POLICY "version: STSv1\r\nmode: enforce\r\nmx: mail.example.test\r\n" \
	"mx: *.mx.example.test\r\nmax_age: 86400\r\n"

/* ---- the in-process HTTPS server ---- */

struct srv {
	struct MHD_Daemon *d;
	unsigned short port;
	atomic_int accepts;
	atomic_int requests;
	atomic_int stop;
	/* What to answer; set before the fetch starts. */
	unsigned int status;
	const char *ctype;		/* NULL: no Content-Type */
	const char *location;
	const char *body;
	size_t body_len;
	int unknown_length;		/* 1: chunked, no Content-Length */
	int delay_ms;
	/* What the last request carried (under lock). */
	pthread_mutex_t lock;
	char headers[1024];		/* "name=value\n"... */
	char url[256];
};

/* The throw-away PKI: a trusted CA, an untrusted one, their files. */
struct pki {
	EVP_PKEY *ca_key, *other_ca_key, *leaf_key;
	X509 *ca, *other_ca;
	char ca_file[64];
};

static struct pki pki;

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

static enum MHD_Result
srv_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct srv *s = cls;

	(void)addr;
	(void)len;
	atomic_fetch_add(&s->accepts, 1);
	return MHD_YES;
}

static enum MHD_Result
srv_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct srv *s = cls;
	size_t n = strlen(s->headers);

	(void)kind;
	snprintf(s->headers + n, sizeof(s->headers) - n, "%s=%s\n", key,
	    value ? value : "");
	return MHD_YES;
}

static ssize_t
srv_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct srv *s = cls;
	size_t n;

	if (pos >= s->body_len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = s->body_len - (size_t)pos;
	if (n > max)
		n = max;
	memcpy(buf, s->body + pos, n);
	return (ssize_t)n;
}

static void
srv_sleep(struct srv *s)
{
	int waited;

	for (waited = 0; waited < s->delay_ms && !atomic_load(&s->stop);
	    waited += 20)
		usleep(20000);
}

static enum MHD_Result
srv_handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	static int marker;
	struct srv *s = cls;
	struct MHD_Response *r;
	enum MHD_Result rc;

	(void)method;
	(void)version;
	(void)upload;
	(void)upload_size;
	if (*con_cls == NULL) {
		*con_cls = &marker;
		return MHD_YES;
	}
	atomic_fetch_add(&s->requests, 1);
	pthread_mutex_lock(&s->lock);
	s->headers[0] = '\0';
	MHD_get_connection_values(c, MHD_HEADER_KIND, srv_header, s);
	snprintf(s->url, sizeof(s->url), "%s", url);
	pthread_mutex_unlock(&s->lock);
	srv_sleep(s);
	if (s->unknown_length)
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
		    srv_read, s, NULL);
	else
		r = MHD_create_response_from_buffer(s->body_len,
		    (void *)s->body, MHD_RESPMEM_MUST_COPY);
	if (s->ctype != NULL)
		MHD_add_response_header(r, "Content-Type", s->ctype);
	if (s->location != NULL)
		MHD_add_response_header(r, "Location", s->location);
	rc = MHD_queue_response(c, s->status, r);
	MHD_destroy_response(r);
	return rc;
}

/* Start a server presenting a leaf for name, valid from/to days from
 * now, issued by the trusted CA (or the other one). */
static struct srv *
srv_start(const char *name, long from_days, long to_days, int other_ca)
{
	const char *sans[] = { name, NULL };
	struct srv *s = calloc(1, sizeof(*s));
	struct sockaddr_in sin;
	const union MHD_DaemonInfo *di;
	X509 *leaf;
	char *cert, *key;

	assert_non_null(s);
	pthread_mutex_init(&s->lock, NULL);
	s->status = 200;
	s->ctype = "text/plain; charset=utf-8";
	s->body = POLICY;
	s->body_len = strlen(POLICY);
	leaf = tg_test_cert(pki.leaf_key, name, sans, from_days, to_days, 0,
	    other_ca ? pki.other_ca : pki.ca,
	    other_ca ? pki.other_ca_key : pki.ca_key);
	cert = pem_of(leaf, NULL);
	key = pem_of(NULL, pki.leaf_key);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS,
	    0, srv_accept, s, srv_handle, s,
	    MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_MEM_CERT, cert,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin, MHD_OPTION_END);
	assert_non_null(s->d);
	di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(di);
	s->port = di->port;
	assert_true(s->port != 0);
	X509_free(leaf);
	free(cert);
	free(key);
	return s;
}

static void
srv_stop(struct srv *s)
{
	atomic_store(&s->stop, 1);
	MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- the client side ---- */

struct client {
	struct event_base *base;
	struct tg_fetch *f;
	struct tg_fetch_params p;
	char resolve[128];
	const char *resolve_list[1];
};

static void
client_init(struct client *c, const struct srv *s)
{
	struct tg_err err;

	memset(c, 0, sizeof(*c));
	c->base = event_base_new();
	assert_non_null(c->base);
	c->f = tg_fetch_new(c->base, &err);
	assert_non_null(c->f);
	/* The policy URL has no port: send mta-sts.example.test:443 to the
	 * server's port on 127.0.0.1; the URL's name stays the TLS name. */
	snprintf(c->resolve, sizeof(c->resolve), HOST ":443:127.0.0.1:%u",
	    s != NULL ? s->port : 443);
	c->resolve_list[0] = c->resolve;
	c->p.ca_file = pki.ca_file;
	c->p.connect_timeout_ms = 3000;
	c->p.timeout_ms = 5000;
	c->p.allow_private_addresses = 1;
	c->p.connect_to = c->resolve_list;
	c->p.n_connect_to = 1;
}

static void
client_done(struct client *c)
{
	tg_fetch_free(c->f);
	event_base_free(c->base);
}

/* Run the loop until *done or 10 s have passed. */
static void
client_run(struct client *c, const int *done)
{
	long long deadline = tg_clock_mono_ms() + 10000;

	while (!*done && tg_clock_mono_ms() < deadline)
		event_base_loop(c->base, EVLOOP_ONCE);
	assert_true(*done);
}

struct sts_out {
	int done;
	int ok;
	struct tg_sts_policy policy;
	struct tg_err err;
	long status;
	size_t body_len;
	char peer_ip[64];
};

static void
sts_cb(const struct tg_sts_fetch_result *r, void *arg)
{
	struct sts_out *o = arg;

	o->done++;
	o->ok = r->ok;
	o->policy = r->policy;
	o->err = r->err;
	o->status = r->status;
	o->body_len = r->body_len;
	snprintf(o->peer_ip, sizeof(o->peer_ip), "%s", r->peer_ip);
}

/* Fetch the policy of example.test from s with c's params. */
static void
sts_fetch(struct client *c, struct sts_out *o)
{
	struct tg_err err;

	memset(o, 0, sizeof(*o));
	assert_int_equal(tg_sts_fetch_policy(c->f, "example.test", &c->p,
	    sts_cb, o, NULL, &err), 0);
	client_run(c, &o->done);
	assert_int_equal(o->done, 1);
	assert_int_equal(tg_fetch_pending(c->f), 0);
}

static void
expect_fail(const struct sts_out *o, const char *type, const char *part)
{
	if (o->ok)
		fail_msg("accepted; expected %s (%s)", type, part);
	if (o->err.result_type == NULL || strcmp(o->err.result_type, type))
		fail_msg("result type %s, expected %s: %s",
		    o->err.result_type ? o->err.result_type : "(none)", type,
		    o->err.msg);
	if (strstr(o->err.msg, part) == NULL)
		fail_msg("message '%s' lacks '%s'", o->err.msg, part);
	assert_non_null(strstr(o->err.msg,
	    "https://mta-sts.example.test/.well-known/mta-sts.txt"));
}

/* ---- tests ---- */

static void
test_ok(void **state)
{
	struct srv *s = srv_start(HOST, -1, 30, 0);
	struct client c;
	struct sts_out o;

	(void)state;
	client_init(&c, s);
	sts_fetch(&c, &o);
	if (!o.ok)
		fail_msg("%s", o.err.msg);
	assert_int_equal(o.status, 200);
	assert_int_equal(o.policy.mode, TG_STS_MODE_ENFORCE);
	assert_int_equal(o.policy.max_age, 86400);
	assert_int_equal(o.policy.count, 2);
	assert_string_equal(o.policy.mx[1], "*.mx.example.test");
	assert_string_equal(o.peer_ip, "127.0.0.1");
	assert_int_equal(atomic_load(&s->requests), 1);
	/* RFC 8461 §3.2, §3.3: the well-known path; no cookies, no
	 * HTTP caching, no content encoding; our User-Agent. */
	assert_string_equal(s->url, "/.well-known/mta-sts.txt");
	assert_non_null(strstr(s->headers, "User-Agent=tlsgate/"));
	assert_non_null(strstr(s->headers, "Host=" HOST));
	assert_null(strcasestr(s->headers, "cookie"));
	assert_null(strcasestr(s->headers, "if-modified-since"));
	assert_null(strcasestr(s->headers, "if-none-match"));
	assert_null(strcasestr(s->headers, "accept-encoding"));
	client_done(&c);
	srv_stop(s);
}

static void
test_redirect_refused(void **state)
{
	struct srv *s = srv_start(HOST, -1, 30, 0);
	struct client c;
	struct sts_out o;

	(void)state;
	s->status = 301;
	s->location = "https://" HOST "/policy.txt";
	client_init(&c, s);
	sts_fetch(&c, &o);
	expect_fail(&o, "sts-policy-fetch-error", "redirect refused (HTTP 301 "
	    "to 'https://" HOST "/policy.txt')");
	assert_int_equal(atomic_load(&s->requests), 1);	/* not followed */
	s->status = 302;
	sts_fetch(&c, &o);
	expect_fail(&o, "sts-policy-fetch-error", "HTTP 302");
	assert_int_equal(atomic_load(&s->requests), 2);
	client_done(&c);
	srv_stop(s);
}

static void
test_status(void **state)
{
	static const unsigned int codes[] = { 404, 500, 204, 201 };
	struct srv *s = srv_start(HOST, -1, 30, 0);
	struct client c;
	struct sts_out o;
	char want[32];
	size_t i;

	(void)state;
	client_init(&c, s);
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		s->status = codes[i];
		sts_fetch(&c, &o);
		snprintf(want, sizeof(want), "HTTP status %u", codes[i]);
		expect_fail(&o, "sts-policy-fetch-error", want);
		assert_int_equal(o.status, codes[i]);
	}
	client_done(&c);
	srv_stop(s);
}

static void
test_content_type(void **state)
{
	struct srv *s = srv_start(HOST, -1, 30, 0);
	struct client c;
	struct sts_out o;

	(void)state;
	client_init(&c, s);
	s->ctype = "text/html";
	sts_fetch(&c, &o);
	expect_fail(&o, "sts-policy-fetch-error",
	    "Content-Type 'text/html' is not text/plain");
	s->ctype = NULL;
	sts_fetch(&c, &o);
	expect_fail(&o, "sts-policy-fetch-error", "Content-Type ''");
	s->ctype = "TEXT/Plain ; charset=\"us-ascii\"";	/* case, params */
	sts_fetch(&c, &o);
	if (!o.ok)
		fail_msg("%s", o.err.msg);
	client_done(&c);
	srv_stop(s);
}

/* A body of n bytes: the policy, then empty lines (which the parser
 * skips), so a body of exactly the limit is still a valid policy. */
static char *
big_policy(size_t n)
{
	char *b = malloc(n);

	assert_non_null(b);
	memset(b, '\n', n);
	memcpy(b, POLICY, strlen(POLICY));
	return b;
}

static void
test_body_limit(void **state)
{
	struct srv *s = srv_start(HOST, -1, 30, 0);
	char *body = big_policy(TG_STS_BODY_MAX + 1);
	struct client c;
	struct sts_out o;

	(void)state;
	client_init(&c, s);
	s->body = body;
	s->body_len = TG_STS_BODY_MAX;			/* exactly 64 KiB */
	sts_fetch(&c, &o);
	if (!o.ok)
		fail_msg("64 KiB: %s", o.err.msg);
	assert_int_equal(o.body_len, TG_STS_BODY_MAX);
	s->body_len = TG_STS_BODY_MAX + 1;		/* Content-Length */
	sts_fetch(&c, &o);
	expect_fail(&o, "sts-policy-fetch-error", "body larger than 65536");
	s->unknown_length = 1;				/* chunked */
	sts_fetch(&c, &o);
	expect_fail(&o, "sts-policy-fetch-error", "body larger than 65536");
	assert_true(o.body_len <= TG_STS_BODY_MAX);
	s->body_len = TG_STS_BODY_MAX;
	sts_fetch(&c, &o);
	if (!o.ok)
		fail_msg("64 KiB chunked: %s", o.err.msg);
	client_done(&c);
	srv_stop(s);
	free(body);
}

static void
test_slow_server(void **state)
{
	struct srv *s = srv_start(HOST, -1, 30, 0);
	struct client c;
	struct sts_out o;
	long long t0;

	(void)state;
	client_init(&c, s);
	s->delay_ms = 3000;
	c.p.timeout_ms = 1000;
	t0 = tg_clock_mono_ms();
	sts_fetch(&c, &o);
	expect_fail(&o, "sts-policy-fetch-error", "timed out after");
	assert_true(tg_clock_mono_ms() - t0 >= 900);
	assert_true(tg_clock_mono_ms() - t0 < 2500);
	client_done(&c);
	srv_stop(s);
}

static void
test_webpki(void **state)
{
	struct client c;
	struct sts_out o;
	struct srv *s;

	(void)state;
	s = srv_start("other.example.test", -1, 30, 0);	/* wrong name */
	client_init(&c, s);
	sts_fetch(&c, &o);
	expect_fail(&o, "sts-webpki-invalid", "TLS: ");
	assert_int_equal(atomic_load(&s->requests), 0);
	client_done(&c);
	srv_stop(s);

	s = srv_start(HOST, -30, -1, 0);			/* expired */
	client_init(&c, s);
	sts_fetch(&c, &o);
	expect_fail(&o, "sts-webpki-invalid", "expired");
	client_done(&c);
	srv_stop(s);

	s = srv_start(HOST, -1, 30, 1);			/* untrusted CA */
	client_init(&c, s);
	sts_fetch(&c, &o);
	expect_fail(&o, "sts-webpki-invalid", "TLS: ");
	/* Our lab CA is not in the system store either. */
	c.p.ca_file = NULL;
	sts_fetch(&c, &o);
	expect_fail(&o, "sts-webpki-invalid", "TLS: ");
	assert_int_equal(atomic_load(&s->requests), 0);
	client_done(&c);
	srv_stop(s);
}

static void
test_invalid_policy(void **state)
{
	struct srv *s = srv_start(HOST, -1, 30, 0);
	struct client c;
	struct sts_out o;

	(void)state;
	s->body = "version: STSv1\nmode: enforce\nmx: m.example.test\n"
	    "max_age: 99999999999\n";
	s->body_len = strlen(s->body);
	client_init(&c, s);
	sts_fetch(&c, &o);
	expect_fail(&o, "sts-policy-invalid",
	    "line 4: max_age: 99999999999 is larger than 31557600");
	assert_int_equal(o.status, 200);
	client_done(&c);
	srv_stop(s);
}

/* RELIABILITY O-13: without allow_private_addresses, 127.0.0.1 is never
 * connected to — the server sees no connection at all. */
static void
test_ssrf(void **state)
{
	struct srv *s = srv_start(HOST, -1, 30, 0);
	struct client c;
	struct sts_out o;

	(void)state;
	client_init(&c, s);
	c.p.allow_private_addresses = 0;
	sts_fetch(&c, &o);
	expect_fail(&o, "sts-policy-fetch-error",
	    "refused to connect to 127.0.0.1 (loopback)");
	assert_int_equal(atomic_load(&s->accepts), 0);
	/* With the guard off, the same fetch reaches the server. */
	c.p.allow_private_addresses = 1;
	sts_fetch(&c, &o);
	if (!o.ok)
		fail_msg("%s", o.err.msg);
	assert_int_equal(atomic_load(&s->accepts), 1);
	/* A name pointed at 127.0.0.1 with a resolve override (the
	 * DNS-rebinding shape) is judged by the address as well. */
	snprintf(c.resolve, sizeof(c.resolve), HOST ":443:127.0.0.1");
	c.p.connect_to = NULL;
	c.p.n_connect_to = 0;
	c.p.resolve = c.resolve_list;
	c.p.n_resolve = 1;
	c.p.allow_private_addresses = 0;
	sts_fetch(&c, &o);
	expect_fail(&o, "sts-policy-fetch-error",
	    "refused to connect to 127.0.0.1 (loopback)");
	assert_int_equal(atomic_load(&s->accepts), 1);
	client_done(&c);
	srv_stop(s);
}

/* ---- net/fetch on its own ---- */

struct raw_out {
	int done;
	int ok;
	long status;
	char ctype[TG_FETCH_CTYPE_MAX + 1];
	char location[TG_FETCH_LOCATION_MAX + 1];
	char *body;
	struct tg_err err;
};

static void
raw_cb(struct tg_fetch_result *res, void *arg)
{
	struct raw_out *o = arg;

	o->done++;
	o->ok = res->ok;
	o->status = res->status;
	o->err = res->err;
	snprintf(o->ctype, sizeof(o->ctype), "%s", res->content_type);
	snprintf(o->location, sizeof(o->location), "%s", res->location);
	o->body = tg_buf_take(&res->body);	/* the callback may keep it */
}

static void
test_raw_get(void **state)
{
	struct srv *s = srv_start(HOST, -1, 30, 0);
	struct raw_out o = { 0 };
	struct tg_err err;
	struct client c;
	char url[128];

	(void)state;
	client_init(&c, s);
	snprintf(url, sizeof(url), "https://" HOST "/x");
	assert_int_equal(tg_fetch_get(c.f, url, &c.p, raw_cb, &o, NULL,
	    &err), 0);
	assert_int_equal(o.done, 0);		/* never called synchronously */
	assert_int_equal(tg_fetch_pending(c.f), 1);
	client_run(&c, &o.done);
	assert_int_equal(o.ok, 1);
	assert_int_equal(o.status, 200);
	assert_string_equal(o.ctype, "text/plain");
	assert_string_equal(o.body, POLICY);
	free(o.body);

	memset(&o, 0, sizeof(o));
	s->status = 302;
	s->location = "https://elsewhere.example.test/";
	assert_int_equal(tg_fetch_get(c.f, url, &c.p, raw_cb, &o, NULL,
	    &err), 0);
	client_run(&c, &o.done);
	assert_int_equal(o.ok, 1);		/* a response; not followed */
	assert_int_equal(o.status, 302);
	assert_string_equal(o.location, "https://elsewhere.example.test/");
	free(o.body);
	client_done(&c);
	srv_stop(s);
}

static void
test_bad_requests(void **state)
{
	struct tg_fetch_params p = { 0 };
	const char *many[TG_FETCH_RESOLVE_MAX + 1];
	struct raw_out o = { 0 };
	struct tg_err err;
	struct client c;
	char url[TG_FETCH_URL_MAX + 16];
	size_t i;

	(void)state;
	client_init(&c, NULL);
	assert_int_equal(tg_fetch_get(c.f, "http://" HOST "/", NULL, raw_cb,
	    &o, NULL, &err), -1);
	assert_int_equal(err.cls, TG_ERR_PERM);
	assert_int_equal(tg_fetch_get(c.f, "ftp://" HOST "/", NULL, raw_cb,
	    &o, NULL, &err), -1);
	memset(url, 'a', sizeof(url) - 1);
	url[sizeof(url) - 1] = '\0';
	memcpy(url, "https://", 8);
	assert_int_equal(tg_fetch_get(c.f, url, NULL, raw_cb, &o, NULL,
	    &err), -1);
	for (i = 0; i < TG_FETCH_RESOLVE_MAX + 1; i++)
		many[i] = HOST ":443:127.0.0.1";
	p.resolve = many;
	p.n_resolve = TG_FETCH_RESOLVE_MAX + 1;
	assert_int_equal(tg_fetch_get(c.f, "https://" HOST "/", &p, raw_cb,
	    &o, NULL, &err), -1);
	assert_int_equal(tg_sts_fetch_policy(c.f, "bad_name.example", NULL,
	    sts_cb, &o, NULL, &err), -1);
	assert_int_equal(tg_fetch_pending(c.f), 0);
	event_base_loop(c.base, EVLOOP_NONBLOCK);
	assert_int_equal(o.done, 0);
	client_done(&c);
}

static int cancelled;

static void
count_cancel(void *arg)
{
	(void)arg;
	cancelled++;
}

static void
test_cancel(void **state)
{
	struct srv *s = srv_start(HOST, -1, 30, 0);
	struct tg_fetch_req *req;
	struct tg_sts_fetch *h;
	struct raw_out o = { 0 };
	struct sts_out so = { 0 };
	struct tg_err err;
	struct client c;
	long long t;

	(void)state;
	s->delay_ms = 3000;
	client_init(&c, s);
	cancelled = 0;
	assert_int_equal(tg_fetch_get(c.f, "https://" HOST "/", &c.p, raw_cb,
	    &o, &req, &err), 0);
	tg_fetch_set_on_cancel(req, count_cancel);
	assert_int_equal(tg_sts_fetch_policy(c.f, "example.test", &c.p,
	    sts_cb, &so, &h, &err), 0);
	/* Let both connect, then cancel them. */
	for (t = tg_clock_mono_ms(); tg_clock_mono_ms() - t < 300;)
		event_base_loop(c.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	tg_fetch_cancel(req);
	tg_sts_fetch_cancel(h);
	assert_int_equal(cancelled, 1);
	assert_int_equal(tg_fetch_pending(c.f), 0);
	for (t = tg_clock_mono_ms(); tg_clock_mono_ms() - t < 200;)
		event_base_loop(c.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(o.done, 0);
	assert_int_equal(so.done, 0);
	/* Freeing the fetcher with requests in flight cancels them. */
	assert_int_equal(tg_fetch_get(c.f, "https://" HOST "/", &c.p, raw_cb,
	    &o, &req, &err), 0);
	tg_fetch_set_on_cancel(req, count_cancel);
	assert_int_equal(tg_sts_fetch_policy(c.f, "example.test", &c.p,
	    sts_cb, &so, NULL, &err), 0);
	event_base_loop(c.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	client_done(&c);
	assert_int_equal(cancelled, 2);
	assert_int_equal(o.done, 0);
	srv_stop(s);
}

struct acase {
	const char *addr;
	const char *why;	/* NULL: allowed */
};

static const struct acase acases[] = {
	{ "127.0.0.1", "loopback" },
	{ "127.255.0.9", "loopback" },
	{ "10.1.2.3", "private" },
	{ "172.16.0.1", "private" },
	{ "172.31.255.255", "private" },
	{ "172.32.0.1", NULL },
	{ "172.15.255.255", NULL },
	{ "192.168.1.1", "private" },
	{ "192.169.1.1", NULL },
	{ "100.64.0.1", "shared address space" },
	{ "100.128.0.1", NULL },
	{ "169.254.169.254", "link-local" },
	{ "0.0.0.0", "unspecified" },
	{ "0.1.2.3", "unspecified" },
	{ "224.0.0.1", "multicast" },
	{ "239.255.255.250", "multicast" },
	{ "255.255.255.255", "reserved" },
	{ "192.0.2.10", NULL },
	{ "198.51.100.7", NULL },
	{ "8.8.8.8", NULL },
	{ "203.0.113.5", "own address" },
	{ "::1", "loopback" },
	{ "::", "unspecified" },
	{ "::ffff:127.0.0.1", "loopback" },
	{ "::ffff:10.0.0.1", "private" },
	{ "::ffff:192.0.2.1", NULL },
	{ "::ffff:203.0.113.5", "own address" },
	{ "64:ff9b::a9fe:a9fe", "link-local" },
	{ "::127.0.0.2", "reserved" },
	{ "fc00::1", "private" },
	{ "fd12:3456::1", "private" },
	{ "fe80::1", "link-local" },
	{ "febf::1", "link-local" },
	{ "fec0::1", "private" },
	{ "ff02::1", "multicast" },
	{ "2001:db8::1", NULL },
	{ "2001:db8:ffff::5", "own address" },
	{ "2a00:1450::1", NULL },
};

static void
test_addr_rule(void **state)
{
	struct tg_cidr own[2];
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	struct tg_err err;
	const char *why;
	size_t i;

	(void)state;
	assert_int_equal(tg_cidr_parse("203.0.113.0/24", &own[0], &err), 0);
	assert_int_equal(tg_cidr_parse("2001:db8:ffff::/48", &own[1], &err),
	    0);
	for (i = 0; i < sizeof(acases) / sizeof(acases[0]); i++) {
		const struct acase *c = &acases[i];
		memset(&s4, 0, sizeof(s4));
		memset(&s6, 0, sizeof(s6));
		if (inet_pton(AF_INET, c->addr, &s4.sin_addr) == 1) {
			s4.sin_family = AF_INET;
			why = tg_fetch_addr_refusal((struct sockaddr *)&s4,
			    sizeof(s4), own, 2);
		} else {
			assert_int_equal(inet_pton(AF_INET6, c->addr,
			    &s6.sin6_addr), 1);
			s6.sin6_family = AF_INET6;
			why = tg_fetch_addr_refusal((struct sockaddr *)&s6,
			    sizeof(s6), own, 2);
		}
		if ((why == NULL) != (c->why == NULL) ||
		    (why != NULL && strcmp(why, c->why) != 0))
			fail_msg("%s: got %s, expected %s", c->addr,
			    why ? why : "allowed", c->why ? c->why : "allowed");
	}
	s4.sin_family = AF_UNIX;
	assert_non_null(tg_fetch_addr_refusal((struct sockaddr *)&s4,
	    sizeof(s4), NULL, 0));
	s4.sin_family = AF_INET6;		/* too short for IPv6 */
	assert_non_null(tg_fetch_addr_refusal((struct sockaddr *)&s4,
	    sizeof(s4), NULL, 0));
}

static void
test_media_type(void **state)
{
	(void)state;
	assert_true(tg_fetch_media_type_is("text/plain", "text/plain"));
	assert_true(tg_fetch_media_type_is("Text/PLAIN", "text/plain"));
	assert_false(tg_fetch_media_type_is("text/plainx", "text/plain"));
	assert_false(tg_fetch_media_type_is("text/plai", "text/plain"));
	assert_false(tg_fetch_media_type_is("", "text/plain"));
	assert_false(tg_fetch_media_type_is("text/html", "text/plain"));
}

static void
test_policy_url(void **state)
{
	char url[TG_STS_URL_MAX + 1];
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_sts_policy_url("Example.COM.", url, sizeof(url),
	    &err), 0);
	assert_string_equal(url,
	    "https://mta-sts.example.com/.well-known/mta-sts.txt");
	assert_int_equal(tg_sts_policy_url("bad..example", url, sizeof(url),
	    &err), -1);
}

static int
setup_pki(void **state)
{
	EVP_PKEY *keys[3];
	char *pem;
	FILE *fp;
	int fd, i;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 3; i++)
		keys[i] = tg_test_key();
	pki.ca_key = keys[0];
	pki.other_ca_key = keys[1];
	pki.leaf_key = keys[2];
	pki.ca = tg_test_cert(pki.ca_key, "Test CA", NULL, -2, 60, 1, NULL,
	    NULL);
	pki.other_ca = tg_test_cert(pki.other_ca_key, "Other CA", NULL, -2,
	    60, 1, NULL, NULL);
	snprintf(pki.ca_file, sizeof(pki.ca_file), "/tmp/tg-fetch-ca.XXXXXX");
	fd = mkstemp(pki.ca_file);
	if (fd < 0 || (fp = fdopen(fd, "w")) == NULL)
		return -1;
	pem = pem_of(pki.ca, NULL);
	fputs(pem, fp);
	free(pem);
	return fclose(fp) == 0 ? 0 : -1;
}

static int
teardown_pki(void **state)
{
	(void)state;
	unlink(pki.ca_file);
	X509_free(pki.ca);
	X509_free(pki.other_ca);
	EVP_PKEY_free(pki.ca_key);
	EVP_PKEY_free(pki.other_ca_key);
	EVP_PKEY_free(pki.leaf_key);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_rule),
		cmocka_unit_test(test_media_type),
		cmocka_unit_test(test_policy_url),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_redirect_refused),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_slow_server),
		cmocka_unit_test(test_webpki),
		cmocka_unit_test(test_invalid_policy),
		cmocka_unit_test(test_ssrf),
		cmocka_unit_test(test_raw_get),
		cmocka_unit_test(test_cancel),
	};

	return cmocka_run_group_tests(tests, setup_pki, teardown_pki);
}
