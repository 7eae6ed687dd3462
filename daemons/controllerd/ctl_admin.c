/*
 * daemons/controllerd/ctl_admin.c — the web console and its admin API
 * (web/API.md) on admin.listen: HTTPS (net/http) with the store's admin
 * certificate for admin.hostname, self-signed and recorded at first use
 * (tls/certfile), as stsd does for its hosts.
 *
 * The console's files are in the binary (web_files.c, made from web/ at
 * build time) and are answered on the server's thread; every path under
 * /api/ is handed to the loop's thread (in_loop), where admin/api answers
 * with the store, the sessions and the login throttle, which nothing else
 * touches. The socket is bound before the privilege drop (the sandbox
 * allows no listener later); the store is opened and the certificate
 * made after it, so that what is made belongs to the service user; the
 * server's thread starts with the first snapshot (net/http: after the
 * fork).
 *
 * Every reply carries the console's CSP (its page loads its own script
 * and style, nothing else) and net/http's other security headers
 * (X-Frame-Options DENY, HSTS, nosniff, no-store; RELIABILITY S-05).
 */
#include <stdlib.h>
#include <string.h>

#include "admin/api.h"
#include "admin/checks.h"
#include "core/log.h"
#include "ctl.h"
#include "net/http.h"
#include "policy/check_env.h"
#include "store/store.h"
#include "tls/certfile.h"
#include "util/clock.h"
#include "util/limits.h"

/* web/API.md: the console's page runs app.js and app.css from its own
 * origin, calls the API there, and may be framed by nobody. */
#define ADMIN_CSP	"default-src 'none'; script-src 'self'; " \
	"style-src 'self'; connect-src 'self'; img-src 'self'; " \
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

/* A self-signed certificate this close to its end is replaced (nothing
 * else renews the console's: ACME leaves role admin alone). */
#define ADMIN_CERT_RENEW_S	(30L * 86400)

/* Files, and the API's prefix route. */
#define ADMIN_FILES_MAX	(TG_HTTP_ROUTES_MAX - 1)

struct ctl_admin {
	struct tg_daemon *daemon;		/* borrowed */
	struct tg_http *http;			/* owned */
	struct tg_http_route routes[ADMIN_FILES_MAX + 1];
	size_t nroutes;
	struct tg_http_body *files[ADMIN_FILES_MAX];	/* owned, by route */
	struct tg_store *store;			/* owned; from start */
	struct tg_sessions *sessions;		/* owned */
	struct tg_login_throttle *throttle;	/* owned */
	char hostname[TG_DNAME_MAX + 1];	/* admin.hostname, normalised */
	struct tg_store_cert cert;		/* served; id 0: none yet */
	int started;
	/* The console's domain checks, on the loop, with the settings of
	 * check_snap (a reference: the environment points into its conf). */
	struct tg_snapshot *check_snap;
	struct tg_check_env check_env;
	struct tg_admin_checks *checks;		/* NULL: /api/checks 503 */
};

/* An API request's body as it comes (at most TG_ADMIN_BODY_MAX). */
struct admin_body {
	char *data;		/* owned */
	size_t len, cap;
};

/* ---- the console's files (server's thread) ---- */

static int
admin_on_file(struct tg_http_request *req, void *arg)
{
	struct ctl_admin *a = arg;
	const char *path = tg_http_request_path(req);
	size_t i;

	for (i = 0; i + 1 < a->nroutes; i++)
		if (strcmp(a->routes[i].path, path) == 0)
			return tg_http_reply(req, 200, a->files[i]);
	return -1;		/* no route leads here otherwise */
}

/* ---- the API (its body on the server's thread, the rest on the
 * loop's) ---- */

static int
admin_on_body(struct tg_http_request *req, const void *data, size_t len,
    void *arg)
{
	struct admin_body *b = tg_http_request_ctx(req);
	size_t cap;
	char *p;

	(void)arg;
	if (b == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL)
			return -1;
		tg_http_request_set_ctx(req, b);
	}
	if (len > TG_ADMIN_BODY_MAX - b->len)
		return -1;	/* net/http's cap holds first */
	if (b->len + len > b->cap) {
		cap = b->len + len < 4096 ? 4096 : TG_ADMIN_BODY_MAX;
		if ((p = realloc(b->data, cap)) == NULL)
			return -1;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

/* An argument of the request's query string (admin/api's qarg). */
static const char *
admin_qarg(const void *ctx, const char *name)
{
	return tg_http_request_arg(ctx, name);
}

/* The reply of admin/api, with its headers. */
static int
admin_send(struct tg_http_request *req, const struct tg_adminapi_reply *r)
{
	static const char oom[] = "{\"error\":\"out of memory\"}";
	struct tg_http_header h[3];
	size_t n = 0;

	if (r->body == NULL)
		return tg_http_reply_text(req, 500, TG_ADMINAPI_CONTENT_TYPE,
		    oom, sizeof(oom) - 1);
	if (r->set_cookie[0] != '\0')
		h[n++] = (struct tg_http_header){ "Set-Cookie", r->set_cookie };
	if (r->retry_after[0] != '\0')
		h[n++] = (struct tg_http_header){ "Retry-After",
		    r->retry_after };
	if (r->allow[0] != '\0')
		h[n++] = (struct tg_http_header){ "Allow", r->allow };
	return tg_http_reply_headers(req, r->status, TG_ADMINAPI_CONTENT_TYPE,
	    r->body, r->body_len, h, n);
}

static int
admin_on_api(struct tg_http_request *req, void *arg)
{
	static const char down[] = "{\"error\":\"the console is not ready\"}";
	struct ctl_admin *a = arg;
	const struct admin_body *b = tg_http_request_ctx(req);
	struct tg_snapshot *snap;
	struct tg_adminapi api;
	struct tg_adminapi_request in;
	struct tg_adminapi_reply out;
	int rc;

	if (a->store == NULL)
		return tg_http_reply_text(req, 503, TG_ADMINAPI_CONTENT_TYPE,
		    down, sizeof(down) - 1);
	snap = tg_daemon_snapshot(a->daemon);
	memset(&api, 0, sizeof(api));
	api.store = a->store;
	api.sessions = a->sessions;
	api.throttle = a->throttle;
	api.conf = snap->conf;
	api.checks = a->checks;
	memset(&in, 0, sizeof(in));
	in.method = tg_http_request_method_name(req);
	in.path = tg_http_request_path(req);
	in.host = tg_http_request_header(req, "Host");
	in.origin = tg_http_request_header(req, "Origin");
	in.csrf = tg_http_request_header(req, "X-CSRF-Token");
	in.cookie = tg_http_request_header(req, "Cookie");
	in.content_type = tg_http_request_header(req, "Content-Type");
	in.qarg = admin_qarg;
	in.qarg_ctx = req;
	in.peer = tg_http_request_peer(req);
	in.body = b != NULL ? b->data : NULL;
	in.body_len = b != NULL ? b->len : 0;
	in.now = tg_clock_now();
	tg_adminapi_handle(&api, &in, &out);
	tg_snapshot_unref(snap);
	rc = admin_send(req, &out);
	tg_adminapi_reply_clear(&out);
	return rc;
}

/* The body may hold a password: wiped before it is freed. */
static void
admin_on_done(struct tg_http_request *req, void *arg)
{
	struct admin_body *b = tg_http_request_ctx(req);

	(void)arg;
	if (b == NULL)
		return;
	if (b->data != NULL) {
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	free(b);
	tg_http_request_set_ctx(req, NULL);
}

/* ---- set-up ---- */

/* A route and a prebuilt body per embedded file, then /api/. */
static int
admin_routes(struct ctl_admin *a, struct tg_err *err)
{
	const struct ctl_web_file *f;
	size_t i;

	if (ctl_web_nfiles > ADMIN_FILES_MAX)
		return tg_err_set(err, TG_ERR_BUG, NULL, "too many web files");
	for (i = 0; i < ctl_web_nfiles; i++) {
		f = &ctl_web_files[i];
		if (tg_http_body_new(f->content_type, f->data, f->len,
		    &a->files[i], err) != 0)
			return -1;
		a->routes[i] = (struct tg_http_route){ .path = f->path,
		    .methods = TG_HTTP_GET | TG_HTTP_HEAD,
		    .on_complete = admin_on_file };
	}
	a->routes[i] = (struct tg_http_route){ .path = TG_ADMINAPI_PREFIX,
	    .methods = TG_HTTP_GET | TG_HTTP_HEAD | TG_HTTP_POST,
	    .in_loop = 1, .on_body = admin_on_body,
	    .on_complete = admin_on_api, .on_done = admin_on_done,
	    .prefix = 1 };
	a->nroutes = i + 1;
	return 0;
}

static int
admin_server(struct ctl_admin *a, const struct tg_conf *conf,
    struct tg_err *err)
{
	struct tg_http_config cfg;

	if (admin_routes(a, err) != 0)
		return -1;
	tg_http_config_init(&cfg);
	cfg.routes = a->routes;
	cfg.nroutes = a->nroutes;
	cfg.arg = a;
	cfg.csp = ADMIN_CSP;
	cfg.conn_max = TG_ADMIN_CONN_MAX;
	cfg.per_ip_max = TG_ADMIN_PER_IP_MAX;
	cfg.body_max = TG_ADMIN_BODY_MAX;
	if (tg_http_new(tg_daemon_base(a->daemon), &cfg, &a->http,
	    err) != 0 || tg_daemon_http_listen(a->daemon, &a->http,
	    &conf->admin_listen, err) != 0) {
		tg_err_prefix(err, "admin.listen");
		return -1;
	}
	return 0;
}

int
ctl_admin_setup(struct tg_daemon *d, struct ctl_admin **out,
    struct tg_err *err)
{
	struct tg_snapshot *snap = tg_daemon_snapshot(d);
	struct ctl_admin *a;
	int rc = -1;

	*out = NULL;
	if (snap->conf->admin_listen.n == 0) {
		tg_log_info(NULL, "event=admin result=off "
		    "reason=\"admin.listen is empty\"");
		tg_snapshot_unref(snap);
		return 0;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	else {
		a->daemon = d;
		if (tg_adminapi_hostname(snap->conf->admin_hostname,
		    a->hostname, sizeof(a->hostname), err) == 0)
			rc = admin_server(a, snap->conf, err);
	}
	tg_snapshot_unref(snap);
	if (rc != 0) {
		ctl_admin_free(a);
		return -1;
	}
	*out = a;
	return 0;
}

/* A new self-signed certificate in place of cur (into *cur) when cur
 * ends within ADMIN_CERT_RENEW_S. 0, or -1 with err. */
static int
admin_cert_renew(struct ctl_admin *a, const struct tg_conf *conf,
    struct tg_store_cert *cur, struct tg_err *err)
{
	struct tg_store_cert rec;
	int64_t id;

	if ((long long)cur->not_after - (long long)tg_clock_now() >
	    ADMIN_CERT_RENEW_S)
		return 0;
	if (tg_certfile_make(conf->state_dir, a->hostname, TG_ADMIN_CERT_DAYS,
	    TG_STORE_CERT_NEXT, &rec, err) != 0)
		return -1;
	rec.role = TG_STORE_CERT_ADMIN;
	if (tg_store_cert_add(a->store, &rec, &id, err) != 0 ||
	    tg_store_cert_promote(a->store, id, err) != 0 ||
	    tg_store_cert_get(a->store, id, cur, err) != 0)
		return -1;
	tg_log_info(NULL, "event=admin-cert host=%s result=renewed "
	    "kind=self-signed days=%d cert=%s", a->hostname,
	    TG_ADMIN_CERT_DAYS, cur->cert_path);
	return 0;
}

/*
 * Serve the store's current admin certificate of admin.hostname (made
 * and recorded when there is none, replaced when it is about to end),
 * unless it is the one served already. 0, or -1 with err (what was
 * served stays).
 */
static int
admin_cert(struct ctl_admin *a, const struct tg_conf *conf,
    struct tg_err *err)
{
	struct tg_http_certs *cs = NULL;
	struct tg_store_cert cur;
	int created;

	if (tg_certfile_current(a->store, conf->state_dir, a->hostname,
	    TG_STORE_CERT_ADMIN, 1, TG_ADMIN_CERT_DAYS, &cur, &created,
	    err) != 0)
		return -1;
	if (created)
		tg_log_info(NULL, "event=admin-cert host=%s result=created "
		    "kind=self-signed days=%d cert=%s", a->hostname,
		    TG_ADMIN_CERT_DAYS, cur.cert_path);
	else if (admin_cert_renew(a, conf, &cur, err) != 0)
		return -1;
	if (cur.id == a->cert.id && strcmp(cur.cert_path,
	    a->cert.cert_path) == 0)
		return 0;
	if (tg_http_certs_new(&cs, err) != 0 ||
	    tg_http_certs_add_files(cs, a->hostname, cur.cert_path,
	    cur.key_path, err) != 0) {
		tg_http_certs_unref(cs);
		return -1;
	}
	tg_http_set_certs(a->http, cs);
	tg_http_certs_unref(cs);
	a->cert = cur;
	tg_log_info(NULL, "event=admin-cert host=%s result=serving cert=%s",
	    a->hostname, cur.cert_path);
	return 0;
}

/* Seconds each step of a console check may take (tlsgate check's
 * default). */
#define ADMIN_CHECK_STEP_S	10

/* The domain checks; without them (the resolver could not be made) the
 * console works on, and says so when asked for a check. */
static void
admin_checks(struct ctl_admin *a)
{
	struct event_base *base = tg_daemon_base(a->daemon);
	struct tg_err err;

	memset(&err, 0, sizeof(err));
	a->check_snap = tg_daemon_snapshot(a->daemon);
	if (tg_check_env_init(&a->check_env, base, a->check_snap->conf,
	    ADMIN_CHECK_STEP_S, &err) != 0 ||
	    (a->checks = tg_admin_checks_new(base, &a->check_env, 1)) ==
	    NULL)
		tg_log_warn(NULL, "event=admin-checks result=off error=\"%s\"",
		    a->checks == NULL && err.msg[0] == '\0' ? "out of memory" :
		    err.msg);
}

int
ctl_admin_start(struct ctl_admin *a, struct tg_err *err)
{
	struct tg_snapshot *snap;
	int rc;

	if (a == NULL)
		return 0;
	snap = tg_daemon_snapshot(a->daemon);
	rc = tg_store_open(snap->conf->state_dir, &a->store, err);
	if (rc == 0)
		rc = tg_sessions_new(&a->sessions, err);
	if (rc == 0)
		rc = tg_login_throttle_new(&a->throttle, err);
	if (rc == 0)
		rc = admin_cert(a, snap->conf, err);
	tg_snapshot_unref(snap);
	if (rc == 0)
		admin_checks(a);
	if (rc != 0)
		tg_err_prefix(err, "admin console");
	return rc;
}

void
ctl_admin_changed(struct ctl_admin *a)
{
	struct tg_snapshot *snap;
	struct tg_err err;

	if (a == NULL)
		return;
	if (!a->started) {
		/* After the fork and the privilege drop: the server's
		 * thread must live in the final process. */
		if (tg_http_start(a->http, &err) != 0) {
			tg_log(TG_LOG_FATAL, NULL, "event=fatal error=\"admin "
			    "console: %s\"", err.msg);
			tg_daemon_request_stop(a->daemon);
			return;
		}
		a->started = 1;
		tg_log_info(NULL, "event=admin result=serving host=%s",
		    a->hostname);
		return;
	}
	snap = tg_daemon_snapshot(a->daemon);
	if (admin_cert(a, snap->conf, &err) != 0)
		tg_log_warn(NULL, "event=admin-cert host=%s result=failed "
		    "error=\"%s\"", a->hostname, err.msg);
	tg_snapshot_unref(snap);
}

void
ctl_admin_free(struct ctl_admin *a)
{
	size_t i;

	if (a == NULL)
		return;
	tg_http_free(a->http);
	a->http = NULL;
	for (i = 0; i < ADMIN_FILES_MAX; i++)
		tg_http_body_free(a->files[i]);
	tg_admin_checks_free(a->checks);
	tg_check_env_fini(&a->check_env);
	if (a->check_snap != NULL)
		tg_snapshot_unref(a->check_snap);
	tg_sessions_free(a->sessions);
	tg_login_throttle_free(a->throttle);
	tg_store_close(a->store);
	free(a);
}
