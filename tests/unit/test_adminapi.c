/*
 * Unit tests of admin/api: the request -> reply function driven directly,
 * with a real store in a temporary directory, real sessions and login
 * throttle, a fake clock and a scripted MX lookup. Covered: login (good,
 * wrong password and unknown user with the same answer, rehash,
 * last_login, no password in the log), the cookie's attributes, a new
 * session at every login, the throttle (429 with retry_after), the
 * session required, the CSRF token and the Origin on every POST, the Host
 * check (421), routes (404, 405 with Allow, HEAD), bodies (not JSON,
 * unknown fields, wrong media type, too large), domains (add, duplicate,
 * bad values, list, MTA-STS mode with the enforce rule, remove),
 * certificates, the queues (none made yet, a message in relayd's queue
 * while it holds the lock, the cap), the TLS reports summary (no
 * reports.db yet, ?days= checked, the period), a queue flush (no daemon,
 * and a daemon holding its pid file's lock, which gets SIGUSR1), the
 * relay networks and the outbound TLS policies (add, canonical form,
 * duplicate, bad values, remove, as the store then holds them), domain
 * checks on a loop with a scripted resolver (started, running, done with
 * the report, the running limit, bad names, expiry), logout,
 * a user removed from the store and a password changed there.
 */
#include "test_store_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <jansson.h>

#include "admin/api.h"
#include "admin/password.h"
#include "admin/session.h"
#include "core/conf.h"
#include "core/log.h"
#include "dns/resolver_fake.h"
#include "smtp/queueview.h"
#include "store/reports.h"
#include "tls/certfile.h"
#include "util/clock.h"
#include "util/path.h"

#define PW		"correct horse battery"
#define HOST		"localhost:9443"
#define ORIGIN		"https://" HOST
#define T0		1800000000

struct afx {
	struct fx st;			/* the store */
	struct tg_sessions *sessions;
	struct tg_login_throttle *throttle;
	struct tg_conf *conf;
	struct tg_adminapi api;
	/* what the next request carries */
	const char *host, *origin, *ctype, *peer;
	char cookie[128];		/* "tg_session=..." or "" */
	char csrf[TG_SESSION_TOKEN_LEN + 1];
	int no_csrf;
	time_t now;
	unsigned lookups;		/* MX lookups asked */
	const char *days;		/* ?days=; NULL: no query string */
};

/* The query string of the next request: days=a->days. */
static const char *
qarg(const void *ctx, const char *name)
{
	const struct afx *a = ctx;

	return strcmp(name, "days") == 0 ? a->days : NULL;
}

/* The MX lookup: no MX records, so the domain itself is its MX (RFC 5321
 * §5.1); "fail.example" cannot be looked up. */
static int
fake_mx(void *arg, const char *domain, struct tg_dns_answer **out,
    struct tg_err *err)
{
	struct afx *a = arg;
	int fail = strcmp(domain, "fail.example") == 0;

	a->lookups++;
	*out = tg_dns_answer_new(domain, TG_DNS_T_MX, fail ?
	    TG_DNS_TEMPFAIL : TG_DNS_NODATA, TG_DNS_INSECURE, "%s",
	    fail ? "timed out" : "");
	if (*out == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	return 0;
}

static void
add_user(struct afx *a, const char *user, unsigned ln)
{
	char phc[TG_PASSWORD_HASH_MAX + 1];
	struct tg_err err;

	assert_int_equal(tg_password_hash(PW, strlen(PW), ln, phc,
	    sizeof(phc), &err), 0);
	assert_int_equal(tg_store_admin_add(a->st.st, user, phc, &err), 0);
}

static int
setup(void **state)
{
	struct afx *a = calloc(1, sizeof(*a));
	char conf_text[512];
	struct tg_err err;
	void *st = NULL;

	assert_non_null(a);
	fx_setup(&st);
	a->st = *(struct fx *)st;
	free(st);
	/* The queues and reports.db in the test's directory. */
	snprintf(conf_text, sizeof(conf_text), "admin.listen = "
	    "127.0.0.1:9443, [::1]:9444\nadmin.hostname = LocalHost\n"
	    "state_dir = %s\nspool_dir = %s/spool\nrun_dir = %s\n",
	    a->st.dir, a->st.dir, a->st.dir);
	assert_int_equal(tg_sessions_new(&a->sessions, &err), 0);
	assert_int_equal(tg_login_throttle_new(&a->throttle, &err), 0);
	if (tg_conf_parse(conf_text, strlen(conf_text), "test.conf",
	    &a->conf, &err) != 0)
		fail_msg("conf: %s", err.msg);
	a->api.store = a->st.st;
	a->api.sessions = a->sessions;
	a->api.throttle = a->throttle;
	a->api.conf = a->conf;
	a->api.password_ln = 11;	/* the users below have 10 */
	a->api.mx_lookup = fake_mx;
	a->api.mx_arg = a;
	a->host = HOST;
	a->origin = ORIGIN;
	a->ctype = "application/json";
	a->peer = "192.0.2.1";
	a->now = T0;
	tg_clock_set(T0);
	add_user(a, "alice", 10);
	*state = a;
	return 0;
}

static int
teardown(void **state)
{
	struct afx *a = *state;
	void *st = malloc(sizeof(struct fx));

	assert_non_null(st);
	*(struct fx *)st = a->st;
	fx_teardown(&st);
	tg_sessions_free(a->sessions);
	tg_login_throttle_free(a->throttle);
	tg_conf_free(a->conf);
	tg_clock_set(0);
	free(a);
	return 0;
}

/* One request with what a carries; the reply in *r (cleared first). */
static void
call(struct afx *a, const char *method, const char *path, const char *body,
    struct tg_adminapi_reply *r)
{
	struct tg_adminapi_request q;

	tg_adminapi_reply_clear(r);
	memset(&q, 0, sizeof(q));
	q.method = method;
	q.path = path;
	q.host = a->host;
	q.origin = a->origin;
	q.csrf = a->no_csrf || a->csrf[0] == '\0' ? NULL : a->csrf;
	q.cookie = a->cookie[0] != '\0' ? a->cookie : NULL;
	q.content_type = a->ctype;
	q.qarg = a->days != NULL ? qarg : NULL;
	q.qarg_ctx = a;
	q.peer = a->peer;
	q.body = body;
	q.body_len = body != NULL ? strlen(body) : 0;
	q.now = a->now;
	tg_adminapi_handle(&a->api, &q, r);
	assert_non_null(r->body);
	assert_int_equal(r->body_len, strlen(r->body));
}

/* The error text of a reply ("" when it has none). */
static const char *
error_of(const struct tg_adminapi_reply *r)
{
	static char text[TG_ERR_MSG_MAX];
	json_t *o = json_loads(r->body, 0, NULL);
	const char *s;

	assert_non_null(o);
	s = json_string_value(json_object_get(o, "error"));
	snprintf(text, sizeof(text), "%s", s != NULL ? s : "");
	json_decref(o);
	return text;
}

#define assert_error(r, code, want) do {				\
	assert_int_equal((r)->status, (code));				\
	if (strstr(error_of(r), (want)) == NULL)			\
		fail_msg("error '%s' lacks '%s'", error_of(r), (want));	\
} while (0)

/* Log in as user with pw: the cookie and token are kept in a. */
static void
login(struct afx *a, const char *user, const char *pw,
    struct tg_adminapi_reply *r)
{
	char body[256];
	json_t *o;
	size_t n;

	snprintf(body, sizeof(body), "{\"username\": \"%s\", "
	    "\"password\": \"%s\"}", user, pw);
	call(a, "POST", "/api/login", body, r);
	if (r->status != 200)
		return;
	n = strcspn(r->set_cookie, ";");
	assert_true(n < sizeof(a->cookie));
	memcpy(a->cookie, r->set_cookie, n);
	a->cookie[n] = '\0';
	o = json_loads(r->body, 0, NULL);
	assert_non_null(o);
	snprintf(a->csrf, sizeof(a->csrf), "%s",
	    json_string_value(json_object_get(o, "csrf")));
	json_decref(o);
}

/* ---- login ---- */

static void
test_login(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	struct tg_store_admin u;
	char logname[] = "/tmp/tg-adminapi-log-XXXXXX", log[4096];
	struct tg_err err;
	int fd, saved;
	ssize_t n;

	/* What is logged goes to a file, to look for the password. */
	fd = mkstemp(logname);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	login(a, "Alice", PW, &r);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.set_cookie + strcspn(r.set_cookie, ";"),
	    "; Secure; HttpOnly; SameSite=Strict; Path=/");
	assert_int_equal(strncmp(r.set_cookie, "tg_session=", 11), 0);
	assert_int_equal(strlen(a->cookie), 11 + TG_SESSION_TOKEN_LEN);
	assert_int_equal(strlen(a->csrf), TG_SESSION_TOKEN_LEN);
	assert_non_null(strstr(r.body, "\"user\":\"alice\""));
	assert_int_equal(tg_sessions_count(a->sessions), 1);
	/* Recorded, and rehashed with today's (here: the test's) ln. */
	assert_int_equal(tg_store_admin_get(a->st.st, "alice", &u, &err), 0);
	assert_int_equal(u.last_login, T0);
	assert_non_null(strstr(u.password_hash, "ln=11,"));
	assert_false(tg_password_needs_rehash(u.password_hash, 11));
	n = pread(fd, log, sizeof(log) - 1, 0);
	assert_true(n > 0);
	log[n] = '\0';
	close(fd);
	unlink(logname);
	assert_non_null(strstr(log, "event=admin action=login user=alice "
	    "peer=192.0.2.1 result=ok"));
	assert_null(strstr(log, PW));
	assert_null(strstr(log, a->csrf));
	/* The session answers with the same user and token. */
	call(a, "GET", "/api/session", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, a->csrf));
	tg_adminapi_reply_clear(&r);
}

/* A wrong password and an unknown user: the same status and body. */
static void
test_login_failures(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	char first[256];

	login(a, "alice", "not the password", &r);
	assert_error(&r, 401, "wrong user name or password");
	assert_string_equal(r.set_cookie, "");
	snprintf(first, sizeof(first), "%s", r.body);
	login(a, "mallory", PW, &r);
	assert_int_equal(r.status, 401);
	assert_string_equal(r.body, first);
	assert_int_equal(tg_sessions_count(a->sessions), 0);
	/* Malformed logins: 400, and nothing verified. */
	call(a, "POST", "/api/login", "{\"username\": \"alice\"}", &r);
	assert_error(&r, 400, "password: a string is needed");
	call(a, "POST", "/api/login", "{\"username\": \"a b\", "
	    "\"password\": \"x\"}", &r);
	assert_error(&r, 400, "username:");
	call(a, "POST", "/api/login", "{\"username\": 1, \"password\": \"x\"}",
	    &r);
	assert_error(&r, 400, "username: a string");
	tg_adminapi_reply_clear(&r);
}

/* RELIABILITY S-04: after TG_LOGIN_FREE_FAILURES failures from one
 * address, 429 with the wait, even with the right password. */
static void
test_throttle(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	json_t *o;
	long wait;
	int i;

	a->peer = "198.51.100.7";
	for (i = 0; i < TG_LOGIN_FREE_FAILURES; i++) {
		login(a, "alice", "wrong password!", &r);
		assert_int_equal(r.status, 401);
	}
	login(a, "alice", PW, &r);
	assert_error(&r, 429, "too many failed logins");
	o = json_loads(r.body, 0, NULL);
	wait = (long)json_integer_value(json_object_get(o, "retry_after"));
	json_decref(o);
	assert_true(wait >= 1);
	assert_int_equal(atol(r.retry_after), wait);
	/* Another address is not held up. */
	a->peer = "198.51.100.8";
	login(a, "alice", PW, &r);
	assert_int_equal(r.status, 200);
	/* Once the wait is over, a try is allowed again. */
	a->peer = "198.51.100.7";
	a->now += wait;
	login(a, "alice", PW, &r);
	assert_int_equal(r.status, 200);
	tg_adminapi_reply_clear(&r);
}

/* A new session id at every login; the one the cookie named ends. */
static void
test_new_session_each_login(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	char first[128];

	login(a, "alice", PW, &r);
	snprintf(first, sizeof(first), "%s", a->cookie);
	login(a, "alice", PW, &r);
	assert_int_equal(r.status, 200);
	assert_string_not_equal(a->cookie, first);
	assert_int_equal(tg_sessions_count(a->sessions), 1);
	snprintf(a->cookie, sizeof(a->cookie), "%s", first);
	call(a, "GET", "/api/session", NULL, &r);
	assert_int_equal(r.status, 401);
	tg_adminapi_reply_clear(&r);
}

/* ---- the checks of every request ---- */

static void
test_session_required(void **state)
{
	static const char *const gets[] = { "/api/session", "/api/domains",
		"/api/certificates", "/api/queue", "/api/reports" };
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	size_t i;

	for (i = 0; i < sizeof(gets) / sizeof(gets[0]); i++) {
		call(a, "GET", gets[i], NULL, &r);
		assert_error(&r, 401, "not logged in");
	}
	snprintf(a->cookie, sizeof(a->cookie), "other=1; tg_session=%s",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	call(a, "GET", "/api/session", NULL, &r);
	assert_int_equal(r.status, 401);
	snprintf(a->csrf, sizeof(a->csrf), "x");
	call(a, "POST", "/api/domains", "{\"name\": \"example.org\"}", &r);
	assert_int_equal(r.status, 401);
	call(a, "POST", "/api/logout", NULL, &r);
	assert_int_equal(r.status, 401);
	/* Idle for longer than TG_SESSION_IDLE_S: over. */
	login(a, "alice", PW, &r);
	a->now += TG_SESSION_IDLE_S + 1;
	call(a, "GET", "/api/session", NULL, &r);
	assert_int_equal(r.status, 401);
	tg_adminapi_reply_clear(&r);
}

static void
test_csrf_required(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	struct census before, after;

	login(a, "alice", PW, &r);
	take_census(a->st.st, &before);
	a->no_csrf = 1;
	call(a, "POST", "/api/domains", "{\"name\": \"example.org\"}", &r);
	assert_error(&r, 403, "X-CSRF-Token");
	call(a, "POST", "/api/logout", NULL, &r);
	assert_int_equal(r.status, 403);
	a->no_csrf = 0;
	a->csrf[0] ^= 1;
	call(a, "POST", "/api/domains", "{\"name\": \"example.org\"}", &r);
	assert_error(&r, 403, "X-CSRF-Token");
	take_census(a->st.st, &after);
	assert_census_equal(&before, &after);
	a->csrf[0] ^= 1;
	call(a, "POST", "/api/domains", "{\"name\": \"example.org\"}", &r);
	assert_int_equal(r.status, 201);
	/* A GET needs no token: it changes nothing. */
	a->no_csrf = 1;
	call(a, "GET", "/api/domains", NULL, &r);
	assert_int_equal(r.status, 200);
	tg_adminapi_reply_clear(&r);
}

static void
test_origin_required(void **state)
{
	static const char *const bad[] = { NULL, "null", "https://evil.example",
		"http://" HOST, "https://localhost", "https://" HOST "/",
		"https://localhost:9444" };
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a->origin = bad[i];
		login(a, "alice", PW, &r);
		assert_error(&r, 403, "Origin");
	}
	assert_int_equal(tg_sessions_count(a->sessions), 0);
	a->origin = ORIGIN;
	login(a, "alice", PW, &r);
	assert_int_equal(r.status, 200);
	a->origin = "https://evil.example";
	call(a, "POST", "/api/domains", "{\"name\": \"example.org\"}", &r);
	assert_int_equal(r.status, 403);
	call(a, "POST", "/api/logout", NULL, &r);
	assert_int_equal(r.status, 403);
	assert_int_equal(tg_sessions_count(a->sessions), 1);
	tg_adminapi_reply_clear(&r);
}

/* RELIABILITY S-05: only admin.hostname[:port of admin.listen]. */
static void
test_host_check(void **state)
{
	static const char *const bad[] = { NULL, "evil.example",
		"localhost:1234", "localhost.evil.example", "127.0.0.1:9443",
		"localhost:", "localhost:09443", "localhostx:9443" };
	static const char *const good[] = { "localhost", "LOCALHOST:9443",
		"localhost:9444" };
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a->host = bad[i];
		call(a, "GET", "/api/session", NULL, &r);
		assert_error(&r, 421, "localhost");
		login(a, "alice", PW, &r);
		assert_int_equal(r.status, 421);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		a->host = good[i];
		call(a, "GET", "/api/session", NULL, &r);
		assert_int_equal(r.status, 401);
	}
	/* The Origin follows the Host as sent. */
	a->host = "localhost";
	a->origin = "https://localhost";
	login(a, "alice", PW, &r);
	assert_int_equal(r.status, 200);
	tg_adminapi_reply_clear(&r);
}

static void
test_routes(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };

	call(a, "GET", "/api/nothing", NULL, &r);
	assert_error(&r, 404, "no such API endpoint");
	call(a, "GET", "/api/domains/example.org/sts/x", NULL, &r);
	assert_int_equal(r.status, 404);
	call(a, "GET", "/api/login", NULL, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "POST");
	call(a, "POST", "/api/session", NULL, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "GET, HEAD");
	call(a, "PUT", "/api/domains", NULL, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "GET, HEAD, POST");
	login(a, "alice", PW, &r);
	call(a, "HEAD", "/api/session", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.allow, "");
	tg_adminapi_reply_clear(&r);
}

static void
test_bodies(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	struct tg_adminapi_request q;
	char *big;

	login(a, "alice", PW, &r);
	call(a, "POST", "/api/domains", "{\"name\": ", &r);
	assert_error(&r, 400, "not a JSON object");
	call(a, "POST", "/api/domains", "[1]", &r);
	assert_error(&r, 400, "not a JSON object");
	call(a, "POST", "/api/domains", "{\"name\": \"a.example\", "
	    "\"name\": \"b.example\"}", &r);
	assert_int_equal(r.status, 400);
	call(a, "POST", "/api/domains", "{\"name\": \"a.example\", "
	    "\"sts\": 1}", &r);
	assert_error(&r, 400, "unknown field 'sts'");
	a->ctype = "text/plain";
	call(a, "POST", "/api/domains", "{\"name\": \"a.example\"}", &r);
	assert_error(&r, 415, "application/json");
	a->ctype = "application/json; charset=utf-8";
	call(a, "POST", "/api/domains", "{\"name\": \"a.example\"}", &r);
	assert_int_equal(r.status, 201);
	/* More than 64 KB: refused before it is parsed. */
	big = malloc(TG_ADMIN_BODY_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', TG_ADMIN_BODY_MAX + 1);
	big[TG_ADMIN_BODY_MAX + 1] = '\0';
	call(a, "POST", "/api/domains", big, &r);
	assert_int_equal(r.status, 413);
	free(big);
	/* A body without its length's worth of NULs is not read past. */
	memset(&q, 0, sizeof(q));
	q.method = "POST";
	q.path = "/api/domains";
	q.host = HOST;
	q.origin = ORIGIN;
	q.csrf = a->csrf;
	q.cookie = a->cookie;
	q.content_type = "application/json";
	q.body = "{\"name\": \"b.example\"}XXXX";
	q.body_len = strlen("{\"name\": \"b.example\"}");
	q.now = a->now;
	tg_adminapi_reply_clear(&r);
	tg_adminapi_handle(&a->api, &q, &r);
	assert_int_equal(r.status, 201);
	tg_adminapi_reply_clear(&r);
}

/* ---- domains ---- */

static void
test_domains(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	struct tg_store_domain d;
	struct tg_err err;

	login(a, "alice", PW, &r);
	call(a, "POST", "/api/domains", "{\"name\": \"Example.ORG.\", "
	    "\"route\": \"mail.internal:2525\", \"rua\": "
	    "\"mailto:tlsrpt@example.org\", \"max_age\": 86400}", &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body, "{\"name\":\"example.org\","
	    "\"route\":\"mail.internal:2525\",\"sts_mode\":\"off\","
	    "\"mx\":[],\"max_age\":86400,"
	    "\"rua\":\"mailto:tlsrpt@example.org\"}");
	/* The store has it, as the CLI would show it. */
	assert_int_equal(tg_store_domain_get(a->st.st, "example.org", &d,
	    &err), 0);
	assert_string_equal(d.inbound_route, "mail.internal:2525");
	call(a, "POST", "/api/domains", "{\"name\": \"example.org\"}", &r);
	assert_error(&r, 409, "already exists");
	call(a, "POST", "/api/domains", "{\"name\": \"not a domain\"}", &r);
	assert_error(&r, 400, "name: ");
	call(a, "POST", "/api/domains", "{\"name\": \"localhost\"}", &r);
	assert_error(&r, 400, "two labels");
	call(a, "POST", "/api/domains", "{}", &r);
	assert_error(&r, 400, "name: a string is needed");
	call(a, "POST", "/api/domains", "{\"name\": \"b.example\", "
	    "\"sts_mode\": \"strict\"}", &r);
	assert_error(&r, 400, "sts_mode: ");
	call(a, "POST", "/api/domains", "{\"name\": \"b.example\", "
	    "\"max_age\": 31557601}", &r);
	assert_error(&r, 400, "max_age: ");
	call(a, "POST", "/api/domains", "{\"name\": \"b.example\", "
	    "\"mx\": [\"*.*.example\"]}", &r);
	assert_error(&r, 400, "mx: ");
	call(a, "POST", "/api/domains", "{\"name\": \"b.example\", "
	    "\"route\": \"a b\"}", &r);
	assert_error(&r, 400, "route: ");
	call(a, "POST", "/api/domains", "{\"name\": \"b.example\", "
	    "\"rua\": \"ftp://x.example\"}", &r);
	assert_error(&r, 400, "rua: ");
	/* RFC 8461 §3.2: testing needs an mx pattern. */
	call(a, "POST", "/api/domains", "{\"name\": \"b.example\", "
	    "\"sts_mode\": \"testing\"}", &r);
	assert_int_equal(r.status, 400);
	call(a, "POST", "/api/domains", "{\"name\": \"b.example\", "
	    "\"sts_mode\": \"testing\", \"mx\": [\"mx.b.example\"]}", &r);
	assert_int_equal(r.status, 201);
	call(a, "GET", "/api/domains", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "[{\"name\":\"b.example\""));
	assert_non_null(strstr(r.body, "{\"name\":\"example.org\""));
	tg_adminapi_reply_clear(&r);
}

static void
test_domain_sts(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	struct tg_store_domain d;
	struct tg_err err;

	login(a, "alice", PW, &r);
	call(a, "POST", "/api/domains", "{\"name\": \"example.org\"}", &r);
	call(a, "POST", "/api/domains/example.org/sts",
	    "{\"mode\": \"testing\", \"mx\": [\"mx.example.org\"], "
	    "\"max_age\": 3600}", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"sts_mode\":\"testing\""));
	assert_int_equal(a->lookups, 0);
	/* RFC 8461 §4.1: example.org (its own MX here) is not covered. */
	call(a, "POST", "/api/domains/example.org/sts",
	    "{\"mode\": \"enforce\"}", &r);
	assert_error(&r, 400, "refusing enforce for example.org: MX host "
	    "example.org is not covered by any mx pattern");
	assert_int_equal(a->lookups, 1);
	assert_int_equal(tg_store_domain_get(a->st.st, "example.org", &d,
	    &err), 0);
	assert_int_equal(d.sts_mode, TG_STORE_STS_TESTING);
	call(a, "POST", "/api/domains/Example.org./sts",
	    "{\"mode\": \"enforce\", \"mx\": [\"example.org\"]}", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"sts_mode\":\"enforce\","
	    "\"mx\":[\"example.org\"],\"max_age\":3600"));
	/* No MX answer: refused, as the CLI refuses it. */
	call(a, "POST", "/api/domains", "{\"name\": \"fail.example\", "
	    "\"sts_mode\": \"enforce\", \"mx\": [\"fail.example\"]}", &r);
	assert_error(&r, 400, "refusing enforce for fail.example");
	assert_non_null(strstr(error_of(&r), "timed out"));
	call(a, "POST", "/api/domains/nope.example/sts",
	    "{\"mode\": \"none\"}", &r);
	assert_error(&r, 404, "no domain nope.example");
	call(a, "POST", "/api/domains/a%20b/sts", "{\"mode\": \"none\"}", &r);
	assert_int_equal(r.status, 404);
	call(a, "POST", "/api/domains/example.org/sts", "{}", &r);
	assert_error(&r, 400, "mode: ");
	call(a, "POST", "/api/domains/example.org/sts",
	    "{\"mode\": \"off\"}", &r);
	assert_int_equal(r.status, 200);
	tg_adminapi_reply_clear(&r);
}

static void
test_domain_remove(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	struct tg_store_domain d;
	struct tg_err err;

	login(a, "alice", PW, &r);
	call(a, "POST", "/api/domains", "{\"name\": \"example.org\"}", &r);
	call(a, "POST", "/api/domains/example.org/remove", "{}", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{}");
	assert_int_equal(tg_store_domain_get(a->st.st, "example.org", &d,
	    &err), TG_STORE_NOTFOUND);
	call(a, "POST", "/api/domains/example.org/remove", NULL, &r);
	assert_error(&r, 404, "no domain example.org");
	call(a, "GET", "/api/domains", NULL, &r);
	assert_string_equal(r.body, "[]");
	tg_adminapi_reply_clear(&r);
}

/* ---- certificates ---- */

static void
test_certificates(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	struct tg_store_cert c;
	struct tg_err err;
	json_t *list, *o;
	int created;

	login(a, "alice", PW, &r);
	call(a, "GET", "/api/certificates", NULL, &r);
	assert_string_equal(r.body, "[]");
	assert_int_equal(tg_certfile_current(a->st.st, a->st.dir,
	    "LocalHost", TG_STORE_CERT_ADMIN, 1, 30, &c, &created, &err), 0);
	assert_true(created);
	/* The second time it is found, not made. */
	assert_int_equal(tg_certfile_current(a->st.st, a->st.dir,
	    "localhost", TG_STORE_CERT_ADMIN, 1, 30, &c, &created, &err), 0);
	assert_false(created);
	/* A row whose file has gone. */
	assert_int_equal(tg_certfile_make(a->st.dir, "mx.example.org", 30,
	    TG_STORE_CERT_NEXT, &c, &err), 0);
	assert_int_equal(unlink(c.cert_path), 0);
	assert_int_equal(tg_store_cert_add(a->st.st, &c, NULL, &err), 0);
	call(a, "GET", "/api/certificates", NULL, &r);
	assert_int_equal(r.status, 200);
	list = json_loads(r.body, 0, NULL);
	assert_int_equal(json_array_size(list), 2);
	o = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(o, "name")),
	    "localhost");
	assert_string_equal(json_string_value(json_object_get(o, "role")),
	    "admin");
	assert_string_equal(json_string_value(json_object_get(o, "state")),
	    "current");
	assert_string_equal(json_string_value(json_object_get(o,
	    "tlsa_state")), "none");
	assert_string_equal(json_string_value(json_object_get(o, "issuer")),
	    "CN=localhost");
	assert_true(json_is_true(json_object_get(o, "self_signed")));
	assert_int_equal(strlen(json_string_value(json_object_get(o,
	    "spki_sha256"))), 64);
	assert_int_equal(strlen(json_string_value(json_object_get(o,
	    "not_after"))), strlen("2027-01-15T08:00:00Z"));
	o = json_array_get(list, 1);
	assert_string_equal(json_string_value(json_object_get(o, "state")),
	    "next");
	assert_true(json_is_null(json_object_get(o, "issuer")));
	assert_true(json_is_null(json_object_get(o, "self_signed")));
	json_decref(list);
	tg_adminapi_reply_clear(&r);
}

/* ---- the read-only views ---- */

/* The reply's body as JSON (the caller's). */
static json_t *
body_of(const struct tg_adminapi_reply *r)
{
	json_t *o = json_loads(r->body, 0, NULL);

	assert_non_null(o);
	return o;
}

/* Queue a message for two recipients in the spool at dir (owned by sp);
 * the first deferred after one attempt. Its id into qid. */
static void
spool_msg(struct tg_spool *sp, unsigned flags,
    char qid[TG_SPOOL_QID_LEN + 1])
{
	struct tg_spool_rcpt rc[2] = { { "a@one.example", NULL, 0 },
	    { "b@two.example", NULL, 0 } };
	struct tg_spool_env env;
	struct tg_spool_wmsg *w;
	struct tg_spool_msg *m;
	struct tg_err err;

	memset(&env, 0, sizeof(env));
	env.sender = "s@inside.example";
	env.helo = "inside.example";
	env.client_addr = "127.0.0.1";
	env.proto = "ESMTP";
	env.flags = flags;
	env.rcpt = rc;
	env.nrcpt = 2;
	assert_int_equal(tg_spool_begin(sp, &env, &w, &err), 0);
	assert_int_equal(tg_spool_write(w, "Subject: x\r\n\r\nhi\r\n", 18,
	    &err), 0);
	assert_int_equal(tg_spool_commit(&w, qid, &err), 0);
	assert_int_equal(tg_spool_msg_open(sp, qid, &m, &err), 0);
	assert_int_equal(tg_spool_mark(m, 0, TG_SPOOL_DEFERRED, T0 + 600,
	    "451 4.7.5 <b>no</b> TLS", &err), 0);
	assert_int_equal(tg_spool_msg_close(&m, &err), 0);
}

static void
test_queue_empty(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	json_t *o;

	login(a, "alice", PW, &r);
	/* Neither daemon ever made its queue: both empty, nothing made. */
	call(a, "GET", "/api/queue", NULL, &r);
	assert_int_equal(r.status, 200);
	o = body_of(&r);
	assert_int_equal(json_array_size(json_object_get(o, "outbound")), 0);
	assert_true(json_is_array(json_object_get(o, "outbound")));
	assert_true(json_is_array(json_object_get(o, "inbound")));
	assert_int_equal(json_array_size(json_object_get(o, "inbound")), 0);
	assert_true(json_is_false(json_object_get(json_object_get(o,
	    "truncated"), "outbound")));
	assert_true(json_is_false(json_object_get(json_object_get(o,
	    "truncated"), "inbound")));
	json_decref(o);
	assert_int_equal(access(a->conf->spool_dir, F_OK), -1);
	call(a, "POST", "/api/queue", NULL, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "GET, HEAD");
	tg_adminapi_reply_clear(&r);
}

static void
test_queue_messages(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	char qid[TG_SPOOL_QID_LEN + 1], qid2[TG_SPOOL_QID_LEN + 1];
	char in[TG_PATH_MAX];
	struct tg_spool *sp, *isp;
	struct tg_spool_msg *m;
	struct tg_err err;
	json_t *o, *msg, *rc, *list;
	int trunc;

	/* relayd's queue, its owner still running (holding the lock), and
	 * mxd's, empty. */
	assert_int_equal(tg_spool_open(a->conf->spool_dir, NULL, &sp, &err),
	    0);
	assert_int_equal(tg_path_fmt(in, sizeof(in), "%s/inbound",
	    a->conf->spool_dir), 0);
	assert_int_equal(tg_spool_open(in, NULL, &isp, &err), 0);
	spool_msg(sp, TG_SPOOL_F_REQUIRETLS, qid);
	login(a, "alice", PW, &r);
	call(a, "GET", "/api/queue", NULL, &r);
	assert_int_equal(r.status, 200);
	o = body_of(&r);
	assert_int_equal(json_array_size(json_object_get(o, "inbound")), 0);
	assert_int_equal(json_array_size(json_object_get(o, "outbound")), 1);
	msg = json_array_get(json_object_get(o, "outbound"), 0);
	assert_string_equal(json_string_value(json_object_get(msg,
	    "queue_id")), qid);
	assert_string_equal(json_string_value(json_object_get(msg,
	    "sender")), "s@inside.example");
	assert_true(json_is_true(json_object_get(msg, "requiretls")));
	assert_int_equal(json_integer_value(json_object_get(msg,
	    "attempts")), 1);
	assert_string_equal(json_string_value(json_object_get(msg,
	    "reason")), "451 4.7.5 <b>no</b> TLS");
	assert_string_equal(json_string_value(json_object_get(msg,
	    "next_attempt")), "now");	/* b@ never tried */
	rc = json_object_get(msg, "recipients");
	assert_int_equal(json_array_size(rc), 2);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(rc, 0), "state")), "deferred");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(rc, 0), "next_attempt")), "2027-01-15T08:10:00Z");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(rc, 1), "state")), "pending");
	assert_true(json_is_null(json_object_get(json_array_get(rc, 1),
	    "next_attempt")));
	json_decref(o);
	/* The reader disturbed nothing: the owner delivers on. */
	assert_int_equal(tg_spool_msg_open(sp, qid, &m, &err), 0);
	assert_int_equal(tg_spool_msg_close(&m, &err), 0);
	/* The cap (500 in the API) and its flag, with a cap of 1. */
	spool_msg(sp, 0, qid2);
	assert_int_equal(tg_queueview_list(a->conf->spool_dir, 1, &list,
	    &trunc, &err), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_true(trunc);
	json_decref(list);
	assert_int_equal(tg_queueview_list(a->conf->spool_dir, 2, &list,
	    &trunc, &err), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_true(json_is_false(json_object_get(json_array_get(list, 1),
	    "requiretls")));
	assert_false(trunc);
	json_decref(list);
	tg_spool_free(isp);
	tg_spool_free(sp);
	tg_adminapi_reply_clear(&r);
}

/* POST PATH of a queue action (no body); the reply in *r. */
static void
queue_post(struct afx *a, const char *q, const char *qid, const char *act,
    struct tg_adminapi_reply *r)
{
	char path[128];

	snprintf(path, sizeof(path), "/api/queue/%s/%s/%s", q, qid, act);
	call(a, "POST", path, NULL, r);
}

static void
test_queue_action_checks(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_spool *sp;
	struct tg_err err;

	tg_spool_qid_new(qid);
	snprintf(a->csrf, sizeof(a->csrf), "x");
	queue_post(a, "outbound", qid, "hold", &r);
	assert_error(&r, 401, "not logged in");
	login(a, "alice", PW, &r);
	a->no_csrf = 1;
	queue_post(a, "outbound", qid, "delete", &r);
	assert_error(&r, 403, "X-CSRF-Token");
	a->no_csrf = 0;
	a->origin = "https://evil.example";
	queue_post(a, "inbound", qid, "release", &r);
	assert_int_equal(r.status, 403);
	a->origin = ORIGIN;
	/* No queue yet: no such message; nothing made. */
	queue_post(a, "outbound", qid, "hold", &r);
	assert_error(&r, 404, "no message");
	assert_int_equal(access(a->conf->spool_dir, F_OK), -1);
	assert_int_equal(tg_spool_open(a->conf->spool_dir, NULL, &sp, &err),
	    0);
	queue_post(a, "outbound", qid, "hold", &r);
	assert_error(&r, 404, "no message");
	queue_post(a, "outbound", "nope", "hold", &r);
	assert_error(&r, 400, "not a queue id");
	queue_post(a, "outbound", qid, "retry", &r);
	assert_int_equal(r.status, 404);
	queue_post(a, "other", qid, "hold", &r);
	assert_int_equal(r.status, 404);
	call(a, "POST", "/api/queue/outbound/x/hold", "{\"a\": 1}", &r);
	assert_error(&r, 400, "unknown field");
	call(a, "GET", "/api/queue/outbound/x/hold", NULL, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "POST");
	tg_spool_free(sp);
	tg_adminapi_reply_clear(&r);
}

/* The JSON of a reply's "held". */
static int
held_of(const struct tg_adminapi_reply *r)
{
	json_t *o = body_of(r);
	int held;

	assert_true(json_is_boolean(json_object_get(o, "held")));
	held = json_is_true(json_object_get(o, "held"));
	json_decref(o);
	return held;
}

static void
test_queue_actions(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	char qid[TG_SPOOL_QID_LEN + 1], other[TG_SPOOL_QID_LEN + 1];
	char logname[] = "/tmp/tg-adminapi-log-XXXXXX", log[4096];
	struct tg_spool *sp;
	struct tg_err err;
	int fd, saved;
	ssize_t n;
	json_t *o;

	assert_int_equal(tg_spool_open(a->conf->spool_dir, NULL, &sp, &err),
	    0);
	spool_msg(sp, 0, qid);
	spool_msg(sp, 0, other);
	login(a, "alice", PW, &r);
	fd = mkstemp(logname);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	queue_post(a, "outbound", qid, "hold", &r);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(r.status, 200);
	assert_true(held_of(&r));
	n = pread(fd, log, sizeof(log) - 1, 0);
	assert_true(n > 0);
	log[n] = '\0';
	close(fd);
	unlink(logname);
	assert_non_null(strstr(log, "event=admin action=queue-hold "
	    "user=alice peer=192.0.2.1 queue=outbound qid="));
	assert_non_null(strstr(log, qid));
	/* Held in the journal: the owner sees it once it re-reads. */
	assert_int_equal(tg_spool_refresh(sp, qid, &err), 0);
	call(a, "GET", "/api/queue", NULL, &r);
	o = body_of(&r);
	assert_true(json_is_true(json_object_get(json_array_get(
	    json_object_get(o, "outbound"), 0), "held")));
	json_decref(o);
	queue_post(a, "outbound", qid, "release", &r);
	assert_int_equal(r.status, 200);
	assert_false(held_of(&r));
	/* Not in mxd's queue. */
	queue_post(a, "inbound", qid, "hold", &r);
	assert_int_equal(r.status, 404);
	queue_post(a, "outbound", other, "delete", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{}");
	call(a, "GET", "/api/queue", NULL, &r);
	o = body_of(&r);
	assert_int_equal(json_array_size(json_object_get(o, "outbound")), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(json_object_get(o, "outbound"), 0), "queue_id")),
	    qid);
	json_decref(o);
	tg_spool_free(sp);
	tg_adminapi_reply_clear(&r);
}

/* ---- flush ---- */

/* A stand-in for relayd: holds run_dir/tlsgate-relayd.pid's lock, says
 * so on ready, and exits 0 once SIGUSR1 came (at most 10 s: 1 then). */
static pid_t
fake_daemon(const char *run_dir, int ready)
{
	char path[TG_PATH_MAX];
	struct flock fl;
	sigset_t set;
	pid_t pid;
	int fd, sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGALRM);
	if ((pid = fork()) != 0)
		return pid;
	sigprocmask(SIG_BLOCK, &set, NULL);
	fd = tg_path_fmt(path, sizeof(path), "%s/tlsgate-relayd.pid",
	    run_dir) != 0 ? -1 : open(path, O_RDWR | O_CREAT, 0600);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fd < 0 || fcntl(fd, F_SETLK, &fl) != 0)
		_exit(2);
	alarm(10);
	if (write(ready, "r", 1) != 1)
		_exit(2);
	_exit(sigwait(&set, &sig) == 0 && sig == SIGUSR1 ? 0 : 1);
}

/* The reply's daemon_told ("" when absent). */
static const char *
told_of(const struct tg_adminapi_reply *r)
{
	static char told[16];
	json_t *o = body_of(r);

	snprintf(told, sizeof(told), "%s", json_string_value(
	    json_object_get(o, "daemon_told")) != NULL ? json_string_value(
	    json_object_get(o, "daemon_told")) : "");
	json_decref(o);
	return told;
}

static void
test_queue_flush(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	int p[2], status;
	pid_t pid;
	char c;

	call(a, "POST", "/api/queue/outbound/flush", NULL, &r);
	assert_int_equal(r.status, 401);
	login(a, "alice", PW, &r);
	call(a, "GET", "/api/queue/outbound/flush", NULL, &r);
	assert_int_equal(r.status, 405);
	/* No relayd: nothing to flush, and it says so. */
	call(a, "POST", "/api/queue/outbound/flush", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(told_of(&r), "no");
	call(a, "POST", "/api/queue/outbound/flush", "{\"now\": 1}", &r);
	assert_int_equal(r.status, 400);
	assert_int_equal(pipe(p), 0);
	pid = fake_daemon(a->conf->run_dir, p[1]);
	assert_true(pid > 0);
	assert_int_equal(read(p[0], &c, 1), 1);
	call(a, "POST", "/api/queue/outbound/flush", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(told_of(&r), "yes");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);	/* SIGUSR1 came */
	/* mxd's queue has its own daemon, not running here. */
	call(a, "POST", "/api/queue/inbound/flush", NULL, &r);
	assert_string_equal(told_of(&r), "no");
	close(p[0]);
	close(p[1]);
	tg_adminapi_reply_clear(&r);
}

/* ---- relay networks and outbound TLS policies ---- */

static int
count_net(const struct tg_store_relay_net *n, void *arg)
{
	(void)n;
	(*(int *)arg)++;
	return 0;
}

static void
test_relay_networks(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	struct tg_err err;
	json_t *o;
	int n = 0;

	login(a, "alice", PW, &r);
	call(a, "GET", "/api/relay/networks", NULL, &r);
	assert_string_equal(r.body, "[]");
	call(a, "POST", "/api/relay/networks",
	    "{\"network\": \"10.9.8.0/24\", \"note\": \"lab\"}", &r);
	assert_int_equal(r.status, 201);
	o = body_of(&r);
	assert_string_equal(json_string_value(json_object_get(o, "network")),
	    "10.9.8.0/24");
	assert_string_equal(json_string_value(json_object_get(o, "note")),
	    "lab");
	assert_non_null(json_string_value(json_object_get(o, "created")));
	json_decref(o);
	/* One address is one host, in canonical form. */
	call(a, "POST", "/api/relay/networks",
	    "{\"network\": \"2001:DB8:0::25\"}", &r);
	assert_int_equal(r.status, 201);
	o = body_of(&r);
	assert_string_equal(json_string_value(json_object_get(o, "network")),
	    "2001:db8::25/128");
	json_decref(o);
	call(a, "POST", "/api/relay/networks",
	    "{\"network\": \"10.9.8.0/24\"}", &r);
	assert_error(&r, 409, "already exists");
	call(a, "POST", "/api/relay/networks",
	    "{\"network\": \"10.9.8.0/33\"}", &r);
	assert_error(&r, 400, "network: ");
	call(a, "POST", "/api/relay/networks", "{\"note\": \"x\"}", &r);
	assert_int_equal(r.status, 400);
	call(a, "POST", "/api/relay/networks",
	    "{\"network\": \"10.1.0.0/16\", \"note\": \"a\\u0007b\"}", &r);
	assert_int_equal(r.status, 400);
	assert_int_equal(tg_store_relay_list(a->st.st, count_net, &n, &err),
	    0);
	assert_int_equal(n, 2);
	call(a, "GET", "/api/relay/networks", NULL, &r);
	o = body_of(&r);
	assert_int_equal(json_array_size(o), 2);
	json_decref(o);
	call(a, "POST", "/api/relay/networks/remove",
	    "{\"network\": \"10.9.8.0/24\"}", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{}");
	call(a, "POST", "/api/relay/networks/remove",
	    "{\"network\": \"10.9.8.0/24\"}", &r);
	assert_error(&r, 404, "not in the relay list");
	n = 0;
	assert_int_equal(tg_store_relay_list(a->st.st, count_net, &n, &err),
	    0);
	assert_int_equal(n, 1);
	tg_adminapi_reply_clear(&r);
}

static void
test_policies(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	struct tg_store_dest_policy p;
	struct tg_err err;
	json_t *o;

	login(a, "alice", PW, &r);
	call(a, "GET", "/api/policies", NULL, &r);
	assert_string_equal(r.body, "[]");
	call(a, "POST", "/api/policies", "{\"domain\": \"Partner.Example\", "
	    "\"mode\": \"encrypt\", \"note\": \"contract\"}", &r);
	assert_int_equal(r.status, 200);
	o = body_of(&r);
	assert_string_equal(json_string_value(json_object_get(o, "domain")),
	    "partner.example");
	assert_string_equal(json_string_value(json_object_get(o, "mode")),
	    "encrypt");
	json_decref(o);
	call(a, "POST", "/api/policies", "{\"domain\": \"partner.example\", "
	    "\"mode\": \"dane-only\"}", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(tg_store_dest_get(a->st.st, "partner.example", &p,
	    &err), 0);
	assert_int_equal(p.mode, TG_STORE_DEST_DANE_ONLY);
	call(a, "POST", "/api/policies", "{\"domain\": \"partner.example\", "
	    "\"mode\": \"never\"}", &r);
	assert_error(&r, 400, "mode: ");
	call(a, "POST", "/api/policies", "{\"domain\": \"bad..example\", "
	    "\"mode\": \"may\"}", &r);
	assert_error(&r, 400, "domain: ");
	call(a, "POST", "/api/policies", "{\"mode\": \"may\"}", &r);
	assert_int_equal(r.status, 400);
	call(a, "GET", "/api/policies", NULL, &r);
	o = body_of(&r);
	assert_int_equal(json_array_size(o), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(o, 0), "mode")), "dane-only");
	json_decref(o);
	call(a, "POST", "/api/policies/partner.example/remove", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(tg_store_dest_get(a->st.st, "partner.example", &p,
	    &err), TG_STORE_NOTFOUND);
	call(a, "POST", "/api/policies/partner.example/remove", NULL, &r);
	assert_error(&r, 404, "no policy for partner.example");
	tg_adminapi_reply_clear(&r);
}

/* ---- domain checks ---- */

static void
test_checks(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	struct tg_check_env env;
	struct tg_admin_checks *t;
	struct event_base *base = event_base_new();
	struct tg_resolver *res;
	struct tg_err err;
	char id[TG_ADMIN_CHECK_ID_LEN + 1], path[128];
	json_t *o, *rep;
	int i;

	assert_non_null(base);
	login(a, "alice", PW, &r);
	call(a, "POST", "/api/checks", "{\"domain\": \"example.org\"}", &r);
	assert_error(&r, 503, "not available");
	res = tg_resolver_fake_new(base);
	assert_non_null(res);
	assert_int_equal(tg_resolver_fake_add(res, "example.org",
	    TG_DNS_T_MX, TG_DNS_OK, TG_DNS_SECURE, "10 mx.example.org.",
	    &err), 0);
	assert_int_equal(tg_resolver_fake_add(res, "mx.example.org",
	    TG_DNS_T_A, TG_DNS_OK, TG_DNS_SECURE, "192.0.2.25", &err), 0);
	assert_int_equal(tg_resolver_fake_add(res, "mx.example.org",
	    TG_DNS_T_AAAA, TG_DNS_NODATA, TG_DNS_SECURE, NULL, &err), 0);
	assert_int_equal(tg_resolver_fake_add(res, "_25._tcp.mx.example.org",
	    TG_DNS_T_TLSA, TG_DNS_NXDOMAIN, TG_DNS_SECURE, NULL, &err), 0);
	memset(&env, 0, sizeof(env));
	env.r = res;
	env.helo_name = "relay.example.net";
	env.timeout_s = 2;
	t = tg_admin_checks_new(base, &env, 0);
	assert_non_null(t);
	a->api.checks = t;
	call(a, "POST", "/api/checks", "{\"domain\": \"Example.ORG\"}", &r);
	assert_int_equal(r.status, 202);
	o = body_of(&r);
	assert_string_equal(json_string_value(json_object_get(o, "domain")),
	    "example.org");
	assert_string_equal(json_string_value(json_object_get(o, "state")),
	    "running");
	assert_int_equal(strlen(json_string_value(json_object_get(o, "id"))),
	    TG_ADMIN_CHECK_ID_LEN);
	snprintf(id, sizeof(id), "%s",
	    json_string_value(json_object_get(o, "id")));
	json_decref(o);
	snprintf(path, sizeof(path), "/api/checks/%s", id);
	call(a, "GET", path, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"running\""));
	/* The loop runs the check (scripted DNS, no connection). */
	assert_true(event_base_dispatch(base) >= 0);
	call(a, "GET", path, NULL, &r);
	assert_int_equal(r.status, 200);
	o = body_of(&r);
	assert_string_equal(json_string_value(json_object_get(o, "state")),
	    "done");
	rep = json_object_get(o, "report");
	assert_string_equal(json_string_value(json_object_get(rep, "domain")),
	    "example.org");
	assert_false(json_is_true(json_object_get(rep, "could_not_check")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    rep, "dane"), "status")), "not-published");
	json_decref(o);
	assert_int_equal(tg_resolver_fake_count(res, "example.org",
	    TG_DNS_T_MX), 1);
	/* Bad names, unknown ids. */
	call(a, "POST", "/api/checks", "{\"domain\": \"bad..example\"}", &r);
	assert_error(&r, 400, "domain: ");
	call(a, "POST", "/api/checks", "{}", &r);
	assert_int_equal(r.status, 400);
	call(a, "GET", "/api/checks/0123456789abcdef0123456789abcdef", NULL,
	    &r);
	assert_error(&r, 404, "no such check");
	/* At most TG_ADMIN_CHECKS_RUNNING at once. */
	for (i = 0; i < TG_ADMIN_CHECKS_RUNNING; i++) {
		call(a, "POST", "/api/checks",
		    "{\"domain\": \"example.org\"}", &r);
		assert_int_equal(r.status, 202);
	}
	call(a, "POST", "/api/checks", "{\"domain\": \"example.org\"}", &r);
	assert_error(&r, 429, "running already");
	/* A finished check is kept KEEP_S seconds, then gone. */
	a->now = T0 + TG_ADMIN_CHECKS_KEEP_S + 2;
	call(a, "GET", path, NULL, &r);
	assert_int_equal(r.status, 404);
	a->api.checks = NULL;
	tg_admin_checks_free(t);	/* cancels the running ones */
	tg_resolver_free(res);
	event_base_free(base);
	tg_adminapi_reply_clear(&r);
}

/* Store a received report of org for example.org starting at start: 3
 * sessions ok, 2 failed (starttls-not-supported). */
static void
add_report(const char *dir, const char *org, time_t start)
{
	struct tg_reports_rx_failure f = { "starttls-not-supported", NULL,
	    "mx.example.org", NULL, NULL, NULL, NULL, 2 };
	struct tg_reports_rx_policy p;
	struct tg_reports_rx_report rep;
	struct tg_reports *db;
	struct tg_err err;
	int64_t id;
	int dup;

	memset(&p, 0, sizeof(p));
	p.type = TG_REPORTS_STS;
	p.domain = "example.org";
	p.success = 3;
	p.failure = 2;
	p.failures = &f;
	p.n_failures = 1;
	memset(&rep, 0, sizeof(rep));
	rep.org = org;
	rep.report_id = org;
	rep.start = start;
	rep.end = start + 86399;
	rep.received = start + 86400;
	rep.source = TG_REPORTS_SRC_IMPORT;
	rep.raw_media = "application/tlsrpt+json";
	rep.raw_gz = "x";
	rep.raw_gz_len = 1;
	rep.policies = &p;
	rep.n_policies = 1;
	assert_int_equal(tg_reports_open(dir, 0, &db, &err), 0);
	if (tg_reports_rx_add(db, &rep, 0, &id, &dup, NULL, &err) != 0)
		fail_msg("rx_add: %s", err.msg);
	tg_reports_close(db);
}

static void
test_reports(void **state)
{
	static const char *const bad[] = { "0", "91", "", "x", "7d", "-1",
		"100", " 7", "1e1" };
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	json_t *o, *d;
	size_t i;

	login(a, "alice", PW, &r);
	/* No reports.db yet: empty, and none made. */
	call(a, "GET", "/api/reports", NULL, &r);
	assert_int_equal(r.status, 200);
	o = body_of(&r);
	assert_int_equal(json_array_size(json_object_get(o, "days")), 0);
	assert_true(json_is_array(json_object_get(o,
	    "top_failing_partners")));
	assert_int_equal(json_integer_value(json_object_get(o,
	    "period_days")), 7);
	/* T0 is 2027-01-15T08:00Z: seven days before that day. */
	assert_string_equal(json_string_value(json_object_get(o, "since")),
	    "2027-01-08");
	json_decref(o);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a->days = bad[i];
		call(a, "GET", "/api/reports", NULL, &r);
		assert_error(&r, 400, "days: a number of days from 1 to 90");
	}
	/* Two reports: yesterday's and one of 30 days ago. */
	add_report(a->st.dir, "Reporter Inc.", T0 - T0 % 86400 - 86400);
	add_report(a->st.dir, "old.example", T0 - T0 % 86400 - 30 * 86400);
	a->days = "1";
	call(a, "GET", "/api/reports", NULL, &r);
	assert_int_equal(r.status, 200);
	o = body_of(&r);
	assert_int_equal(json_array_size(json_object_get(o, "days")), 1);
	d = json_array_get(json_object_get(o, "days"), 0);
	assert_string_equal(json_string_value(json_object_get(d, "day")),
	    "2027-01-14");
	assert_string_equal(json_string_value(json_object_get(d, "domain")),
	    "example.org");
	assert_int_equal(json_integer_value(json_object_get(d, "success")),
	    3);
	assert_int_equal(json_integer_value(json_object_get(d, "failure")),
	    2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    d, "failures_by_result"), "starttls-not-supported")), 2);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(json_object_get(d, "by_organization"), 0),
	    "organization")), "Reporter Inc.");
	assert_int_equal(json_array_size(json_object_get(o,
	    "top_failing_partners")), 1);
	json_decref(o);
	a->days = "90";
	call(a, "GET", "/api/reports", NULL, &r);
	assert_int_equal(r.status, 200);
	o = body_of(&r);
	assert_int_equal(json_array_size(json_object_get(o, "days")), 2);
	assert_int_equal(json_integer_value(json_object_get(o,
	    "period_days")), 90);
	json_decref(o);
	tg_adminapi_reply_clear(&r);
}

/* ---- the end of sessions ---- */

static void
test_logout(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };

	login(a, "alice", PW, &r);
	call(a, "POST", "/api/logout", "{}", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.set_cookie, "tg_session=; Secure; HttpOnly; "
	    "SameSite=Strict; Path=/; Max-Age=0");
	assert_int_equal(tg_sessions_count(a->sessions), 0);
	/* The old cookie and token are worth nothing now. */
	call(a, "GET", "/api/session", NULL, &r);
	assert_int_equal(r.status, 401);
	call(a, "POST", "/api/domains", "{\"name\": \"example.org\"}", &r);
	assert_int_equal(r.status, 401);
	call(a, "POST", "/api/logout", NULL, &r);
	assert_int_equal(r.status, 401);
	tg_adminapi_reply_clear(&r);
}

static void
test_user_removed(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	struct tg_err err;

	login(a, "alice", PW, &r);
	assert_int_equal(tg_store_admin_remove(a->st.st, "alice", &err), 0);
	call(a, "GET", "/api/domains", NULL, &r);
	assert_error(&r, 401, "no longer exists");
	assert_int_equal(tg_sessions_count(a->sessions), 0);
	tg_adminapi_reply_clear(&r);
}

/* A new password (tlsgate admin passwd, another process) ends the
 * sessions made with the old one; a new login works. */
static void
test_password_changed(void **state)
{
	struct afx *a = *state;
	struct tg_adminapi_reply r = { 0 };
	char phc[TG_PASSWORD_HASH_MAX + 1];
	struct tg_err err;

	login(a, "alice", PW, &r);
	call(a, "GET", "/api/domains", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(tg_password_hash("another password 1", 18, 10, phc,
	    sizeof(phc), &err), 0);
	assert_int_equal(tg_store_admin_set_hash(a->st.st, "alice", phc,
	    &err), 0);
	call(a, "GET", "/api/domains", NULL, &r);
	assert_error(&r, 401, "password has changed");
	assert_int_equal(tg_sessions_count(a->sessions), 0);
	login(a, "alice", "another password 1", &r);
	assert_int_equal(r.status, 200);
	call(a, "GET", "/api/domains", NULL, &r);
	assert_int_equal(r.status, 200);
	tg_adminapi_reply_clear(&r);
}

static void
test_hostname(void **state)
{
	char out[TG_DNAME_MAX + 1];
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_adminapi_hostname("LocalHost", out, sizeof(out),
	    &err), 0);
	assert_string_equal(out, "localhost");
	assert_int_equal(tg_adminapi_hostname("admin.example.org.", out,
	    sizeof(out), &err), 0);
	assert_string_equal(out, "admin.example.org");
	assert_int_equal(tg_adminapi_hostname("127.0.0.1:9443", out,
	    sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "admin.hostname"));
	assert_int_equal(tg_adminapi_hostname("a_b", out, sizeof(out), &err),
	    -1);
	assert_int_equal(tg_adminapi_hostname("", out, sizeof(out), &err),
	    -1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_login),
		T(test_login_failures),
		T(test_throttle),
		T(test_new_session_each_login),
		T(test_session_required),
		T(test_csrf_required),
		T(test_origin_required),
		T(test_host_check),
		T(test_routes),
		T(test_queue_flush),
		T(test_relay_networks),
		T(test_policies),
		T(test_checks),
		T(test_bodies),
		T(test_domains),
		T(test_domain_sts),
		T(test_domain_remove),
		T(test_certificates),
		T(test_queue_empty),
		T(test_queue_messages),
		T(test_queue_action_checks),
		T(test_queue_actions),
		T(test_reports),
		T(test_logout),
		T(test_user_removed),
		T(test_password_changed),
		cmocka_unit_test(test_hostname),
	};

	tg_log_open("test_adminapi", TG_LOG_STDERR, TG_LOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
