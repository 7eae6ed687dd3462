/*
 * admin/api — see api.h. A request goes through tg_adminapi_handle:
 * the Host check, the route (404, 405), for a POST the Origin, then the
 * session and for a POST its CSRF token (not for the login), the JSON
 * body, and the route's handler. Every handler replies exactly once.
 */
#include "admin/api_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "admin/password.h"
#include "core/log.h"
#include "util/dname.h"
#include "util/text.h"

/* The same answer for a user that does not exist and a wrong password
 * (no user enumeration; RELIABILITY S-04). */
#define API_LOGIN_FAILED	"wrong user name or password"

/* ---- replies ---- */

void
adminapi_reply(struct adminapi_call *c, unsigned status, json_t *body)
{
	struct tg_adminapi_reply *rep = c->rep;

	free(rep->body);
	rep->status = status;
	if (body == NULL)
		body = json_object();
	rep->body = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	rep->body_len = rep->body != NULL ? strlen(rep->body) : 0;
	if (rep->body == NULL)
		rep->status = 500;	/* out of memory */
	json_decref(body);
}

void
adminapi_error(struct adminapi_call *c, unsigned status, const char *fmt,
    ...)
{
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	o = json_pack("{s:s}", "error", c->error);
	if (o == NULL)		/* not UTF-8: input quoted in the text */
		o = json_pack("{s:s}", "error", "the request was refused");
	adminapi_reply(c, status, o);
}

void
adminapi_log(struct adminapi_call *c, const char *action, const char *what,
    const char *result, const char *why)
{
	c->logged = 1;
	tg_log(strcmp(result, "ok") == 0 ? TG_LOG_INFO : TG_LOG_WARN, NULL,
	    "event=admin action=%s user=%s peer=%s%s%s result=%s%s%s%s",
	    action, c->sess.user[0] != '\0' ? c->sess.user : "-",
	    c->req->peer, what != NULL ? " " : "",
	    what != NULL ? what : "", result, why != NULL ? " reason=\"" : "",
	    why != NULL ? why : "", why != NULL ? "\"" : "");
}

void
adminapi_log_change(struct adminapi_call *c, const char *action,
    const char *key, const char *value)
{
	char what[320];

	tg_text_fmt(what, sizeof(what), "%s=%.256s", key, value[0] != '\0' ?
	    value : "-");
	adminapi_log_result(c, action, what);
}

void
adminapi_log_result(struct adminapi_call *c, const char *action,
    const char *what)
{
	adminapi_log(c, action, what, c->rep->status < 300 ? "ok" :
	    c->rep->status < 500 ? "refused" : "failed",
	    c->rep->status < 300 ? NULL : c->error);
}

void
adminapi_store_failed(struct adminapi_call *c, const struct tg_err *err)
{
	if (err->cls == TG_ERR_PERM && strstr(err->msg, "already exists"))
		adminapi_error(c, 409, "%s", err->msg);
	else if (err->cls == TG_ERR_PERM)
		adminapi_error(c, 400, "%s", err->msg);
	else
		adminapi_error(c, 503, "the store failed: %s", err->msg);
}

/* ---- JSON input ---- */

int
adminapi_fields(struct adminapi_call *c, const char *const known[])
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(c->in, key, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] == NULL) {
			adminapi_error(c, 400, "unknown field '%.64s'", key);
			return -1;
		}
	}
	return 0;
}

int
adminapi_string(struct adminapi_call *c, const char *field, int required,
    size_t max, const char **out)
{
	json_t *v = json_object_get(c->in, field);

	*out = NULL;
	if (v == NULL && !required)
		return 0;
	if (v == NULL || !json_is_string(v)) {
		adminapi_error(c, 400, "%s: a string is needed", field);
		return -1;
	}
	if (json_string_length(v) != strlen(json_string_value(v)) ||
	    json_string_length(v) > max) {
		adminapi_error(c, 400, "%s: not a text of at most %zu bytes",
		    field, max);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* The media type of Content-Type is application/json (parameters such
 * as charset may follow). */
static int
api_is_json(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	return ct != NULL && strncasecmp(ct, want, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* A POST's body into c->in: an object ({} when empty). 0, or -1 after
 * replying. */
static int
api_body(struct adminapi_call *c)
{
	const struct tg_adminapi_request *req = c->req;
	json_error_t jerr;

	if (req->body_len > TG_ADMIN_BODY_MAX) {
		adminapi_error(c, 413, "the body is larger than %d bytes",
		    TG_ADMIN_BODY_MAX);
		return -1;
	}
	if (req->body_len == 0) {
		c->in = json_object();
		return c->in != NULL ? 0 : -1;
	}
	if (!api_is_json(req->content_type)) {
		adminapi_error(c, 415, "the body must be JSON "
		    "(Content-Type: application/json)");
		return -1;
	}
	c->in = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (c->in == NULL || !json_is_object(c->in)) {
		adminapi_error(c, 400, "the body is not a JSON object%s%s",
		    c->in == NULL ? ": " : "", c->in == NULL ? jerr.text : "");
		return -1;
	}
	return 0;
}

/* ---- the checks of every request ---- */

int
tg_adminapi_hostname(const char *name, char *out, size_t outlen,
    struct tg_err *err)
{
	if (tg_dname_host_normalize(name, out, outlen, err) != 0) {
		tg_err_prefix(err, "admin.hostname");
		return -1;
	}
	return 0;
}

/* Host is admin.hostname (normalised into name), or admin.hostname:port
 * for a port of admin.listen (RELIABILITY S-05: DNS rebinding). */
static int
api_host_ok(const struct adminapi_call *c, char name[TG_DNAME_MAX + 1])
{
	const struct tg_conf *conf = c->api->conf;
	const char *h = c->req->host, *p;
	unsigned long port;
	size_t len, i;

	if (tg_adminapi_hostname(conf->admin_hostname, name,
	    TG_DNAME_MAX + 1, NULL) != 0) {
		snprintf(name, TG_DNAME_MAX + 1, "admin.hostname");
		return 0;
	}
	if (h == NULL)
		return 0;
	len = strlen(name);
	if (strncasecmp(h, name, len) != 0)
		return 0;
	if (h[len] == '\0')
		return 1;
	p = h + len + 1;
	if (h[len] != ':' || p[0] == '0' || strlen(p) > 5 ||
	    strspn(p, "0123456789") != strlen(p) || p[0] == '\0')
		return 0;
	port = strtoul(p, NULL, 10);
	for (i = 0; i < conf->admin_listen.n; i++)
		if (conf->admin_listen.v[i].port == port)
			return 1;
	return 0;
}

/* Origin is exactly https://<Host> (RFC 6454 §7; the Host passed
 * api_host_ok, so this names the console and nothing else). */
static int
api_origin_ok(const struct adminapi_call *c)
{
	const char *o = c->req->origin;

	return o != NULL && strncmp(o, "https://", 8) == 0 &&
	    strcasecmp(o + 8, c->req->host) == 0;
}

/* The value of the session cookie in the Cookie header into id; "" when
 * there is none (or it could be no id of ours). */
static void
api_cookie(const char *cookie, char id[TG_SESSION_TOKEN_LEN + 1])
{
	static const char name[] = TG_ADMINAPI_COOKIE "=";
	const char *p = cookie;
	size_t len;

	id[0] = '\0';
	while (p != NULL && *p != '\0') {
		p += strspn(p, " \t;");
		len = strcspn(p, ";");
		if (strncmp(p, name, sizeof(name) - 1) == 0) {
			p += sizeof(name) - 1;
			len -= sizeof(name) - 1;
			while (len > 0 && (p[len - 1] == ' ' ||
			    p[len - 1] == '\t'))
				len--;
			if (len > 0 && len <= TG_SESSION_TOKEN_LEN) {
				memcpy(id, p, len);
				id[len] = '\0';
			}
			return;		/* the first one counts */
		}
		p += len;
	}
}

/*
 * What a session keeps of the password its user logged in with: the
 * SHA-256 of the stored hash (hex). A new password (tlsgate admin passwd,
 * in another process) changes it, and ends the sessions made before.
 */
static void
api_credential(const char *phc, char out[TG_SESSION_CREDENTIAL_MAX + 1])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t i;

	out[0] = '\0';
	if (EVP_Digest(phc, strlen(phc), md, &mdlen, EVP_sha256(), NULL) != 1)
		return;
	for (i = 0; i < mdlen && 2 * i + 2 <= TG_SESSION_CREDENTIAL_MAX; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The caller's live session into c->sess; else a 401 and -1. */
static int
api_session_of(struct adminapi_call *c)
{
	const struct tg_session *s;
	struct tg_store_admin a;
	char id[TG_SESSION_TOKEN_LEN + 1];
	char cred[TG_SESSION_CREDENTIAL_MAX + 1];
	struct tg_err err;
	int r;

	api_cookie(c->req->cookie, id);
	s = id[0] == '\0' ? NULL : tg_sessions_find(c->api->sessions, id,
	    c->req->now);
	if (s == NULL) {
		adminapi_error(c, 401, "not logged in, or the session has "
		    "ended; log in again");
		return -1;
	}
	c->sess = *s;
	/* A user removed from the store (tlsgate admin remove, in another
	 * process) loses every session at its next request. */
	r = tg_store_admin_get(c->api->store, c->sess.user, &a, &err);
	if (r == 0)
		api_credential(a.password_hash, cred);
	explicit_bzero(&a, sizeof(a));
	if (r == TG_STORE_NOTFOUND) {
		tg_sessions_destroy(c->api->sessions, id);
		adminapi_error(c, 401, "the user no longer exists; the "
		    "session has ended");
		return -1;
	}
	if (r == 0 && strcmp(cred, c->sess.credential) != 0) {
		tg_sessions_destroy(c->api->sessions, id);
		adminapi_error(c, 401, "the password has changed; the session "
		    "has ended");
		return -1;
	}
	if (r != 0) {
		adminapi_error(c, 503, "the store could not be read: %s",
		    err.msg);
		return -1;
	}
	c->authed = 1;
	return 0;
}

/* ---- login, logout, session ---- */

/* The Set-Cookie of a new session (RELIABILITY S-04), or of none. */
static void
api_set_cookie(struct adminapi_call *c, const char *id)
{
	tg_text_fmt(c->rep->set_cookie, sizeof(c->rep->set_cookie),
	    "%s=%s; Secure; HttpOnly; SameSite=Strict; Path=/%s",
	    TG_ADMINAPI_COOKIE, id, id[0] == '\0' ? "; Max-Age=0" : "");
}

/* A user name as the store has it: 1..TG_STORE_USER_MAX of
 * [a-z0-9._@-], upper case folded. 0, or -1. */
static int
api_username(const char *in, char out[TG_STORE_USER_MAX + 1])
{
	size_t i, n = strlen(in);

	if (n == 0 || n > TG_STORE_USER_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		out[i] = in[i] >= 'A' && in[i] <= 'Z' ? (char)(in[i] + 32) :
		    in[i];
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789._@-",
		    out[i]) == NULL)
			return -1;
	}
	out[n] = '\0';
	return 0;
}

/* RELIABILITY S-03: a hash made with weaker parameters than today's is
 * replaced now that the password is known. Failing is logged only. */
static void
api_rehash(struct adminapi_call *c, struct tg_store_admin *a,
    const char *pw, size_t len)
{
	char phc[TG_PASSWORD_HASH_MAX + 1];
	struct tg_err err;

	if (!tg_password_needs_rehash(a->password_hash, c->api->password_ln))
		return;
	if (tg_password_hash(pw, len, c->api->password_ln, phc, sizeof(phc),
	    &err) != 0 || tg_store_admin_set_hash(c->api->store, a->username,
	    phc, &err) != 0)
		tg_log_warn(NULL, "event=admin action=rehash user=%s "
		    "result=failed error=\"%s\"", a->username, err.msg);
	else {
		tg_log_info(NULL, "event=admin action=rehash user=%s "
		    "result=ok", a->username);
		memcpy(a->password_hash, phc, sizeof(a->password_hash));
	}
	explicit_bzero(phc, sizeof(phc));
}

/* 1: pw is the password of user (*a filled), 0: it is not or there is
 * no such user (as long either way), -1 after a 503. */
static int
api_verify(struct adminapi_call *c, const char *user, const char *pw,
    size_t len, struct tg_store_admin *a)
{
	struct tg_err err;
	int r;

	r = tg_store_admin_get(c->api->store, user, a, &err);
	if (r < 0) {
		adminapi_error(c, 503, "the store could not be read: %s",
		    err.msg);
		return -1;
	}
	if (r == TG_STORE_NOTFOUND)
		return tg_password_verify_dummy(pw, len);
	r = tg_password_verify(pw, len, a->password_hash, &err);
	if (r < 0)
		tg_log_err(NULL, "event=admin action=login user=%s "
		    "result=error reason=\"stored hash unusable: %s\"", user,
		    err.msg);
	return r > 0;
}

/* Logged in: forget the failures, rehash, record, a new session. */
static void
api_login_ok(struct adminapi_call *c, struct tg_store_admin *a,
    const char *pw, size_t len)
{
	const struct tg_adminapi_request *req = c->req;
	const struct tg_session *s;
	char old[TG_SESSION_TOKEN_LEN + 1];
	char cred[TG_SESSION_CREDENTIAL_MAX + 1];
	struct tg_err err;

	tg_login_throttle_ok(c->api->throttle, a->username, req->peer);
	api_rehash(c, a, pw, len);
	if (tg_store_admin_set_last_login(c->api->store, a->username,
	    req->now, &err) != 0)
		tg_log_warn(NULL, "event=admin action=login user=%s "
		    "last_login=not-recorded error=\"%s\"", a->username,
		    err.msg);
	/* Whatever session the cookie named is over: a new id always. */
	api_cookie(req->cookie, old);
	if (old[0] != '\0')
		tg_sessions_destroy(c->api->sessions, old);
	if (tg_sessions_create(c->api->sessions, a->username, req->now, &s,
	    &err) != 0) {
		adminapi_error(c, 503, "no session could be made: %s",
		    err.msg);
		return;
	}
	api_credential(a->password_hash, cred);
	tg_sessions_set_credential(c->api->sessions, s->id, cred);
	c->sess = *s;
	c->authed = 1;
	api_set_cookie(c, s->id);
	adminapi_reply(c, 200, json_pack("{s:s, s:s}", "user", s->user,
	    "csrf", s->csrf));
	adminapi_log(c, "login", NULL, "ok", NULL);
}

static void
api_login(struct adminapi_call *c)
{
	static const char *const fields[] = { "username", "password", NULL };
	const struct tg_adminapi_request *req = c->req;
	char user[TG_STORE_USER_MAX + 1];
	struct tg_store_admin a;
	const char *name, *pw;
	long wait;
	int r;

	if (adminapi_fields(c, fields) != 0 ||
	    adminapi_string(c, "username", 1, TG_STORE_USER_MAX * 4,
	    &name) != 0 ||
	    adminapi_string(c, "password", 1, TG_PASSWORD_MAX, &pw) != 0)
		return;
	if (api_username(name, user) != 0) {
		adminapi_error(c, 400, "username: 1 to %d letters, digits or "
		    "._@-", TG_STORE_USER_MAX);
		return;
	}
	/* Named in the log lines of this login (no session yet). */
	memcpy(c->sess.user, user, sizeof(user));
	wait = tg_login_throttle_wait(c->api->throttle, user, req->peer,
	    req->now);
	if (wait > 0) {
		tg_text_fmt(c->rep->retry_after, sizeof(c->rep->retry_after),
		    "%ld", wait);
		adminapi_reply(c, 429, json_pack("{s:s, s:I}", "error",
		    "too many failed logins; wait before trying again",
		    "retry_after", (json_int_t)wait));
		adminapi_log(c, "login", NULL, "throttled", NULL);
		return;
	}
	memset(&a, 0, sizeof(a));
	r = api_verify(c, user, pw, strlen(pw), &a);
	if (r == 1)
		api_login_ok(c, &a, pw, strlen(pw));
	else if (r == 0) {
		tg_login_throttle_fail(c->api->throttle, user, req->peer,
		    req->now);
		adminapi_error(c, 401, API_LOGIN_FAILED);
		adminapi_log(c, "login", NULL, "failed", API_LOGIN_FAILED);
	}
	explicit_bzero(&a, sizeof(a));
	/* The password is no longer needed anywhere: wipe the body's copy
	 * (the request's own buffer is its owner's to wipe). */
	explicit_bzero((char *)(uintptr_t)pw, strlen(pw));
}

static void
api_logout(struct adminapi_call *c)
{
	tg_sessions_destroy(c->api->sessions, c->sess.id);
	api_set_cookie(c, "");
	adminapi_reply(c, 200, NULL);
	adminapi_log(c, "logout", NULL, "ok", NULL);
}

static void
api_session(struct adminapi_call *c)
{
	adminapi_reply(c, 200, json_pack("{s:s, s:s}", "user", c->sess.user,
	    "csrf", c->sess.csrf));
}

/* ---- routing ---- */

struct api_route {
	const char *path;	/* "*" is one non-empty segment: c->name */
	unsigned post;		/* 1: POST; 0: GET (and HEAD) */
	int open;		/* 1: no session needed (the login) */
	void (*handle)(struct adminapi_call *c);
	const char *action;	/* POST: its name in the log */
};

static const struct api_route api_routes[] = {
	{ "/api/login", 1, 1, api_login, "login" },
	{ "/api/logout", 1, 0, api_logout, "logout" },
	{ "/api/session", 0, 0, api_session, NULL },
	{ "/api/domains", 0, 0, adminapi_domains_list, NULL },
	{ "/api/domains", 1, 0, adminapi_domains_add, "domain-add" },
	{ "/api/domains/*/sts", 1, 0, adminapi_domain_sts, "domain-sts" },
	{ "/api/domains/*/remove", 1, 0, adminapi_domain_remove,
	    "domain-remove" },
	{ "/api/certificates", 0, 0, adminapi_certificates, NULL },
	{ "/api/queue", 0, 0, adminapi_queue, NULL },
	/* A "*" is one segment: a route for each queue and action. */
	{ "/api/queue/outbound/*/hold", 1, 0, adminapi_queue_action,
	    "queue-hold" },
	{ "/api/queue/outbound/*/release", 1, 0, adminapi_queue_action,
	    "queue-release" },
	{ "/api/queue/outbound/*/delete", 1, 0, adminapi_queue_action,
	    "queue-delete" },
	{ "/api/queue/inbound/*/hold", 1, 0, adminapi_queue_action,
	    "queue-hold" },
	{ "/api/queue/inbound/*/release", 1, 0, adminapi_queue_action,
	    "queue-release" },
	{ "/api/queue/inbound/*/delete", 1, 0, adminapi_queue_action,
	    "queue-delete" },
	{ "/api/queue/outbound/flush", 1, 0, adminapi_queue_flush,
	    "queue-flush" },
	{ "/api/queue/inbound/flush", 1, 0, adminapi_queue_flush,
	    "queue-flush" },
	{ "/api/relay/networks", 0, 0, adminapi_relay_list, NULL },
	{ "/api/relay/networks", 1, 0, adminapi_relay_allow, "relay-allow" },
	{ "/api/relay/networks/remove", 1, 0, adminapi_relay_deny,
	    "relay-deny" },
	{ "/api/policies", 0, 0, adminapi_policy_list, NULL },
	{ "/api/policies", 1, 0, adminapi_policy_set, "policy-set" },
	{ "/api/policies/*/remove", 1, 0, adminapi_policy_remove,
	    "policy-remove" },
	{ "/api/reports", 0, 0, adminapi_reports, NULL },
	{ "/api/checks", 1, 0, adminapi_check_start, "check" },
	{ "/api/checks/*", 0, 0, adminapi_check_get, NULL },
};

#define API_NROUTES	(sizeof(api_routes) / sizeof(api_routes[0]))

/* Whether path matches pattern; the segment a "*" took into name. */
static int
api_path_match(const char *pattern, const char *path, char *name,
    size_t namelen)
{
	const char *star = strchr(pattern, '*');
	size_t pre, seg;

	if (star == NULL)
		return strcmp(pattern, path) == 0;
	pre = (size_t)(star - pattern);
	if (strncmp(pattern, path, pre) != 0)
		return 0;
	seg = strcspn(path + pre, "/");
	if (seg == 0 || seg >= namelen ||
	    strcmp(star + 1, path + pre + seg) != 0)
		return 0;
	memcpy(name, path + pre, seg);
	name[seg] = '\0';
	return 1;
}

/* The route of path and method (post: 1 POST, 0 GET or HEAD, -1 any
 * other), or NULL with *allow the methods its path takes ("" when none:
 * 404). */
static const struct api_route *
api_route_find(const char *path, int post, char *name, size_t namelen,
    char *allow, size_t allowlen)
{
	int get_ok = 0, post_ok = 0;
	size_t i;

	for (i = 0; i < API_NROUTES; i++) {
		if (!api_path_match(api_routes[i].path, path, name, namelen))
			continue;
		if ((int)api_routes[i].post == post)
			return &api_routes[i];
		if (api_routes[i].post)
			post_ok = 1;
		else
			get_ok = 1;
	}
	tg_text_fmt(allow, allowlen, "%s%s%s", get_ok ? "GET, HEAD" : "",
	    get_ok && post_ok ? ", " : "", post_ok ? "POST" : "");
	return NULL;
}

/* Everything between the route and the handler: Origin, session,
 * CSRF token, body. 0 to go on, or -1 after replying. */
static int
api_admit(struct adminapi_call *c, const struct api_route *r)
{
	if (r->post && !api_origin_ok(c)) {
		adminapi_error(c, 403, "a POST needs an Origin of "
		    "https://%s", c->req->host);
		return -1;
	}
	if (!r->open && api_session_of(c) != 0)
		return -1;
	if (r->post && !r->open && !tg_sessions_csrf_ok(&c->sess,
	    c->req->csrf != NULL ? c->req->csrf : "")) {
		adminapi_error(c, 403, "missing or wrong X-CSRF-Token");
		return -1;
	}
	if (r->post && api_body(c) != 0)
		return -1;
	return 0;
}

static void
api_dispatch(struct adminapi_call *c, char *name, size_t namelen)
{
	const struct tg_adminapi_request *req = c->req;
	const struct api_route *r;
	char host[TG_DNAME_MAX + 1];
	int post;

	if (!api_host_ok(c, host)) {
		adminapi_error(c, 421, "this server answers for %s only",
		    host);
		return;
	}
	post = strcmp(req->method, "POST") == 0 ? 1 :
	    strcmp(req->method, "GET") == 0 ||
	    strcmp(req->method, "HEAD") == 0 ? 0 : -1;
	r = api_route_find(req->path, post, name, namelen, c->rep->allow,
	    sizeof(c->rep->allow));
	if (r == NULL) {
		if (c->rep->allow[0] == '\0')
			adminapi_error(c, 404, "no such API endpoint");
		else
			adminapi_error(c, 405, "use %s", c->rep->allow);
		return;
	}
	c->rep->allow[0] = '\0';
	c->name = name;
	if (api_admit(c, r) == 0)
		r->handle(c);
	/* Every POST is logged once: here when its handler did not (it
	 * was refused before, or by a check of the login's). */
	if (r->post && !c->logged)
		adminapi_log(c, r->action, NULL, c->rep->status < 300 ? "ok" :
		    c->rep->status < 500 ? "refused" : "failed",
		    c->rep->status < 300 ? NULL : c->error);
}

void
tg_adminapi_handle(const struct tg_adminapi *api,
    const struct tg_adminapi_request *req, struct tg_adminapi_reply *rep)
{
	struct tg_adminapi_request r = *req;
	struct adminapi_call c;
	char name[TG_DNAME_MAX + 2];

	memset(rep, 0, sizeof(*rep));
	memset(&c, 0, sizeof(c));
	if (r.method == NULL)
		r.method = "";
	if (r.path == NULL)
		r.path = "";
	if (r.peer == NULL)
		r.peer = "unknown";
	c.api = api;
	c.req = &r;
	c.rep = rep;
	c.name = "";
	api_dispatch(&c, name, sizeof(name));
	if (rep->status == 0)
		adminapi_error(&c, 500, "no reply");	/* a bug */
	json_decref(c.in);
	explicit_bzero(&c.sess, sizeof(c.sess));
}

void
tg_adminapi_reply_clear(struct tg_adminapi_reply *rep)
{
	if (rep == NULL)
		return;
	free(rep->body);
	memset(rep, 0, sizeof(*rep));
}
