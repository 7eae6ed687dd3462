/*
 * Unit tests of policy/check: the DANE rules of RFC 7672 §2 applied to
 * scripted DNS answers (dns/resolver_fake), without connecting anywhere,
 * the MTA-STS part (RFC 8461) with scripted policy fetches and the
 * relay's cache, and the verdict rules applied to hand-made probe
 * results.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/resolver_fake.h"
#include "policy/check.h"
#include "policy/stscache.h"

#define KEY_A "3 1 1 " \
	"0101010101010101010101010101010101010101010101010101010101010101"
#define KEY_PKIX "1 1 1 " \
	"0202020202020202020202020202020202020202020202020202020202020202"

enum { S = TG_DNS_SECURE, I = TG_DNS_INSECURE, B = TG_DNS_BOGUS,
    X = TG_DNS_INDETERMINATE };
enum { OK = TG_DNS_OK, NX = TG_DNS_NXDOMAIN, ND = TG_DNS_NODATA,
    TF = TG_DNS_TEMPFAIL };

struct script {
	const char *name;
	uint16_t type;
	int status, security;
	const char *rdata;
};

struct check_case {
	const char *what;
	struct script dns[12];
	enum tg_check_dane dane;	/* domain verdict */
	int could_not_check;
	const char *problem;		/* substring of some problem, or NULL */
	const char *no_lookup;		/* name whose TLSA must not be asked */
	const char *tlsa_base;		/* expected base of mx[0], or NULL */
};

/* Common tail: the TXT lookups every check makes. */
#define TXT_NONE(d) \
	{ "_mta-sts." d, TG_DNS_T_TXT, NX, S, NULL }, \
	{ "_smtp._tls." d, TG_DNS_T_TXT, NX, S, NULL }

static const struct check_case cases[] = {
	{ "secure MX, secure A, usable TLSA: valid", {
	    { "a.example", TG_DNS_T_MX, OK, S, "10 mx.a.example." },
	    { "mx.a.example", TG_DNS_T_A, OK, S, "192.0.2.1" },
	    { "mx.a.example", TG_DNS_T_AAAA, ND, S, NULL },
	    { "_25._tcp.mx.a.example", TG_DNS_T_TLSA, OK, S, KEY_A },
	    TXT_NONE("a.example") },
	  TG_CHECK_DANE_VALID, 0, "one usable TLSA digest", NULL,
	  "mx.a.example" },
	{ "bogus MX: defer, bogus", {
	    { "a.example", TG_DNS_T_MX, OK, B, "10 mx.a.example." },
	    TXT_NONE("a.example") },
	  TG_CHECK_DANE_BOGUS, 0, "DNSSEC bogus, mail to it would be deferred",
	  "_25._tcp.mx.a.example", NULL },
	{ "MX lookup fails: could not check", {
	    { "a.example", TG_DNS_T_MX, TF, X, NULL },
	    TXT_NONE("a.example") },
	  TG_CHECK_DANE_UNKNOWN, 1, "could not look up", NULL, NULL },
	{ "insecure A: no TLSA lookup, unsigned", {
	    { "a.example", TG_DNS_T_MX, OK, I, "10 mx.a.example." },
	    { "mx.a.example", TG_DNS_T_A, OK, I, "192.0.2.1" },
	    { "mx.a.example", TG_DNS_T_AAAA, ND, I, NULL },
	    TXT_NONE("a.example") },
	  TG_CHECK_DANE_UNSIGNED, 0, "DANE not possible: zone unsigned",
	  "_25._tcp.mx.a.example", NULL },
	{ "secure denial of TLSA: not published", {
	    { "a.example", TG_DNS_T_MX, OK, S, "10 mx.a.example." },
	    { "mx.a.example", TG_DNS_T_A, OK, S, "192.0.2.1" },
	    { "mx.a.example", TG_DNS_T_AAAA, ND, S, NULL },
	    { "_25._tcp.mx.a.example", TG_DNS_T_TLSA, NX, S, NULL },
	    TXT_NONE("a.example") },
	  TG_CHECK_DANE_NOT_PUBLISHED, 0, "has no TLSA record", NULL, NULL },
	{ "bogus TLSA: host unusable", {
	    { "a.example", TG_DNS_T_MX, OK, S, "10 mx.a.example." },
	    { "mx.a.example", TG_DNS_T_A, OK, S, "192.0.2.1" },
	    { "mx.a.example", TG_DNS_T_AAAA, ND, S, NULL },
	    { "_25._tcp.mx.a.example", TG_DNS_T_TLSA, OK, B, KEY_A },
	    TXT_NONE("a.example") },
	  TG_CHECK_DANE_BOGUS, 0, "is DNSSEC bogus", NULL, NULL },
	{ "TLSA lookup fails: never treated as no TLSA", {
	    { "a.example", TG_DNS_T_MX, OK, S, "10 mx.a.example." },
	    { "mx.a.example", TG_DNS_T_A, OK, S, "192.0.2.1" },
	    { "mx.a.example", TG_DNS_T_AAAA, ND, S, NULL },
	    { "_25._tcp.mx.a.example", TG_DNS_T_TLSA, TF, X, NULL },
	    TXT_NONE("a.example") },
	  TG_CHECK_DANE_UNKNOWN, 0, "would be deferred", NULL, NULL },
	{ "only PKIX usages: unusable, invalid", {
	    { "a.example", TG_DNS_T_MX, OK, S, "10 mx.a.example." },
	    { "mx.a.example", TG_DNS_T_A, OK, S, "192.0.2.1" },
	    { "mx.a.example", TG_DNS_T_AAAA, ND, S, NULL },
	    { "_25._tcp.mx.a.example", TG_DNS_T_TLSA, OK, S, KEY_PKIX },
	    TXT_NONE("a.example") },
	  TG_CHECK_DANE_INVALID, 0, "unusable for SMTP", NULL, NULL },
	{ "no MX: the domain itself (RFC 5321 §5.1)", {
	    { "a.example", TG_DNS_T_MX, ND, S, NULL },
	    { "a.example", TG_DNS_T_A, OK, S, "192.0.2.1" },
	    { "a.example", TG_DNS_T_AAAA, ND, S, NULL },
	    { "_25._tcp.a.example", TG_DNS_T_TLSA, OK, S, KEY_A },
	    TXT_NONE("a.example") },
	  TG_CHECK_DANE_VALID, 0, NULL, NULL, "a.example" },
	{ "null MX: no mail", {
	    { "a.example", TG_DNS_T_MX, OK, S, "0 ." },
	    TXT_NONE("a.example") },
	  TG_CHECK_DANE_NOT_PUBLISHED, 0, "null MX", "_25._tcp.a.example",
	  NULL },
	{ "secure CNAME, TLSA at the target (RFC 7672 §2.2.3)", {
	    { "a.example", TG_DNS_T_MX, OK, S, "10 mx.a.example." },
	    { "mx.a.example", TG_DNS_T_CNAME, OK, S, "real.b.example." },
	    { "real.b.example", TG_DNS_T_A, OK, S, "192.0.2.1" },
	    { "real.b.example", TG_DNS_T_AAAA, ND, S, NULL },
	    { "_25._tcp.real.b.example", TG_DNS_T_TLSA, OK, S, KEY_A },
	    TXT_NONE("a.example") },
	  TG_CHECK_DANE_VALID, 0, NULL, "_25._tcp.mx.a.example",
	  "real.b.example" },
	{ "secure CNAME, no TLSA at the target: the original name", {
	    { "a.example", TG_DNS_T_MX, OK, S, "10 mx.a.example." },
	    { "mx.a.example", TG_DNS_T_CNAME, OK, S, "real.b.example." },
	    { "real.b.example", TG_DNS_T_A, OK, S, "192.0.2.1" },
	    { "real.b.example", TG_DNS_T_AAAA, ND, S, NULL },
	    { "_25._tcp.real.b.example", TG_DNS_T_TLSA, ND, S, NULL },
	    { "_25._tcp.mx.a.example", TG_DNS_T_TLSA, OK, S, KEY_A },
	    TXT_NONE("a.example") },
	  TG_CHECK_DANE_VALID, 0, NULL, NULL, "mx.a.example" },
	{ "insecure MX RRset with DANE hosts: warned", {
	    { "a.example", TG_DNS_T_MX, OK, I, "10 mx.b.example." },
	    { "mx.b.example", TG_DNS_T_A, OK, S, "192.0.2.1" },
	    { "mx.b.example", TG_DNS_T_AAAA, ND, S, NULL },
	    { "_25._tcp.mx.b.example", TG_DNS_T_TLSA, OK, S, KEY_A },
	    TXT_NONE("a.example") },
	  TG_CHECK_DANE_VALID, 0, "MX RRset of a.example is not signed", NULL,
	  NULL },
};

struct run {
	struct event_base *base;
	struct tg_check_report *report;
};

static void
on_done(struct tg_check_report *report, void *arg)
{
	struct run *run = arg;

	run->report = report;
}

static int
has_problem(const struct tg_check_report *rep, const char *needle)
{
	size_t i;

	for (i = 0; i < rep->nproblems; i++)
		if (strstr(rep->problems[i].message, needle) != NULL ||
		    strstr(rep->problems[i].fix, needle) != NULL)
			return 1;
	return 0;
}

static struct tg_check_report *
run_case(const struct check_case *c, struct tg_resolver **rp,
    struct event_base *base)
{
	struct tg_check_params params;
	struct run run = { base, NULL };
	struct tg_resolver *r = tg_resolver_fake_new(base);
	struct tg_err err;
	size_t i;

	assert_non_null(r);
	for (i = 0; i < 12 && c->dns[i].name != NULL; i++)
		if (tg_resolver_fake_add(r, c->dns[i].name, c->dns[i].type,
		    c->dns[i].status, c->dns[i].security, c->dns[i].rdata,
		    &err) != 0)
			fail_msg("%s: script %s: %s", c->what, c->dns[i].name,
			    err.msg);
	memset(&params, 0, sizeof(params));
	params.domain = "a.example";
	params.probe = 0;
	if (tg_check_start(base, r, &params, on_done, &run, &err) == NULL)
		fail_msg("%s: %s", c->what, err.msg);
	event_base_dispatch(base);
	*rp = r;
	return run.report;
}

static void
test_dane_rules(void **state)
{
	struct event_base *base = event_base_new();
	struct tg_check_report *rep;
	struct tg_resolver *r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct check_case *c = &cases[i];
		rep = run_case(c, &r, base);
		if (rep == NULL)
			fail_msg("%s: no report", c->what);
		if (rep->dane != c->dane)
			fail_msg("%s: dane %s, want %s", c->what,
			    tg_check_dane_name(rep->dane),
			    tg_check_dane_name(c->dane));
		if (rep->could_not_check != c->could_not_check)
			fail_msg("%s: could_not_check %d", c->what,
			    rep->could_not_check);
		if (c->problem != NULL && !has_problem(rep, c->problem))
			fail_msg("%s: no problem mentions '%s'", c->what,
			    c->problem);
		if (c->no_lookup != NULL &&
		    tg_resolver_fake_count(r, c->no_lookup, TG_DNS_T_TLSA) != 0)
			fail_msg("%s: TLSA %s was looked up", c->what,
			    c->no_lookup);
		if (c->tlsa_base != NULL)
			assert_string_equal(rep->mx[0].tlsa_base, c->tlsa_base);
		free(rep);
		tg_resolver_free(r);
	}
	event_base_free(base);
}

/* A report of one secure host with usable TLSA and one probed address. */
static struct tg_check_report *
probed_report(int verified, const char *result_type)
{
	struct tg_check_report *rep = calloc(1, sizeof(*rep));
	struct tg_check_mx *mx = &rep->mx[0];
	struct tg_check_addr *a = &mx->addrs[0];
	struct tg_err err;

	assert_non_null(rep);
	strcpy(rep->domain, "a.example");
	rep->mx_status = TG_DNS_OK;
	rep->mx_security = TG_DNS_SECURE;
	rep->nmx = 1;
	strcpy(mx->host, "mx.a.example");
	strcpy(mx->tlsa_base, "mx.a.example");
	strcpy(mx->tlsa_owner, "_25._tcp.mx.a.example");
	mx->addr_security = TG_DNS_SECURE;
	mx->tlsa_looked_up = 1;
	mx->tlsa_status = TG_DNS_OK;
	mx->tlsa_security = TG_DNS_SECURE;
	assert_int_equal(tg_tlsa_parse_text(KEY_A, strlen(KEY_A), &mx->tlsa[0],
	    &err), 0);
	mx->ntlsa = 1;
	mx->tlsa_usable = 1;
	mx->naddrs = 1;
	strcpy(a->addr, "192.0.2.1");
	a->probed = 1;
	a->probe.tls_started = 1;
	a->probe.tls.handshake_done = 1;
	a->probe.tls.mode = TG_TLS_DANE;
	a->probe.tls.verified = verified;
	a->probe.tls.result_type = result_type;
	strcpy(a->probe.tls.leaf_spki_sha256, "ab12");
	return rep;
}

static void
test_verdict_mismatch_fix(void **state)
{
	struct tg_check_report *rep = probed_report(0, "validation-failure");

	(void)state;
	tg_check_judge(rep);
	assert_int_equal(rep->dane, TG_CHECK_DANE_INVALID);
	assert_true(has_problem(rep, "TLSA for mx.a.example does not match "
	    "the served key"));
	assert_true(has_problem(rep, "publish `_25._tcp.mx.a.example. IN "
	    "TLSA 3 1 1 ab12`"));
	assert_non_null(strstr(rep->relay, "defer"));
	assert_true(tg_check_count(rep, TG_CHECK_ERROR) > 0);
	free(rep);
}

static void
test_verdict_ta_name(void **state)
{
	struct tg_check_report *rep =
	    probed_report(0, "certificate-host-mismatch");

	(void)state;
	tg_check_judge(rep);
	assert_int_equal(rep->dane, TG_CHECK_DANE_INVALID);
	assert_true(has_problem(rep, "subjectAltName"));
	free(rep);
}

static void
test_verdict_valid_no_errors(void **state)
{
	struct tg_check_report *rep = probed_report(1, NULL);

	(void)state;
	tg_check_judge(rep);
	assert_int_equal(rep->dane, TG_CHECK_DANE_VALID);
	assert_int_equal(tg_check_count(rep, TG_CHECK_WARNING), 0);
	assert_non_null(strstr(rep->relay, "DANE: deliver only"));
	/* A second judgement replaces the first one's problems. */
	tg_check_judge(rep);
	assert_int_equal(tg_check_count(rep, TG_CHECK_WARNING), 0);
	free(rep);
}

static void
test_verdict_json(void **state)
{
	struct tg_check_report *rep = probed_report(1, NULL);
	json_t *j;

	(void)state;
	tg_check_judge(rep);
	j = tg_check_to_json(rep);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(j, "dane"), "status")), "valid");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(json_object_get(j, "mx"), 0), "host")),
	    "mx.a.example");
	assert_true(json_is_array(json_object_get(j, "problems")));
	json_decref(j);
	free(rep);
}

/* ---- MTA-STS ---- */

/* A scripted policy fetcher: the body to serve, or an error. */
struct sts_fake {
	struct event_base *base;
	int starts;
	char domain[TG_DNAME_MAX + 1];
	const char *body;		/* NULL: fail with msg, type */
	const char *msg;
	const char *type;
	long status;
	tg_sts_fetch_cb *cb;
	void *arg;
	struct event *ev;
};

static void
sts_fake_fire(evutil_socket_t fd, short what, void *arg)
{
	struct sts_fake *f = arg;
	struct tg_sts_fetch_result r;

	(void)fd;
	(void)what;
	memset(&r, 0, sizeof(r));
	snprintf(r.url, sizeof(r.url), "https://mta-sts.%s/.well-known/"
	    "mta-sts.txt", f->domain);
	r.status = f->status;
	if (f->body != NULL) {
		r.ok = tg_sts_policy_parse(f->body, strlen(f->body), &r.policy,
		    &r.err) == 0;
	} else {
		r.err.result_type = f->type;
		snprintf(r.err.msg, sizeof(r.err.msg), "%s: %s", r.url, f->msg);
	}
	event_free(f->ev);
	f->ev = NULL;
	f->cb(&r, f->arg);
}

static void *
sts_fake_start(void *ctx, const char *domain, tg_sts_fetch_cb *cb, void *arg,
    struct tg_err *err)
{
	struct sts_fake *f = ctx;

	(void)err;
	f->starts++;
	snprintf(f->domain, sizeof(f->domain), "%s", domain);
	f->cb = cb;
	f->arg = arg;
	f->ev = event_new(f->base, -1, 0, sts_fake_fire, f);
	assert_non_null(f->ev);
	event_active(f->ev, EV_TIMEOUT, 0);
	return f;
}

static void
sts_fake_cancel(void *ctx, void *handle)
{
	struct sts_fake *f = ctx;

	(void)handle;
	event_free(f->ev);
	f->ev = NULL;
}

#define STS_DNS(txt) \
	{ "a.example", TG_DNS_T_MX, OK, I, "10 mx.a.example.\n" \
	  "20 mx2.a.example." }, \
	{ "mx.a.example", TG_DNS_T_A, OK, I, "192.0.2.1" }, \
	{ "mx.a.example", TG_DNS_T_AAAA, ND, I, NULL }, \
	{ "mx2.a.example", TG_DNS_T_A, OK, I, "192.0.2.2" }, \
	{ "mx2.a.example", TG_DNS_T_AAAA, ND, I, NULL }, \
	{ "_mta-sts.a.example", TG_DNS_T_TXT, (txt) ? OK : NX, I, (txt) }, \
	{ "_smtp._tls.a.example", TG_DNS_T_TXT, NX, I, NULL }

struct sts_case {
	const char *what;
	const char *txt;		/* _mta-sts TXT rdata, NULL: none */
	const char *body;		/* served policy, NULL: fetch fails */
	const char *msg, *type;
	long http_status;
	enum tg_check_sts status;
	const char *problem;		/* in some message or fix, or NULL */
	const char *relay;		/* prefix of the relay line */
	int fetches;
};

#define TXT1 "\"v=STSv1; id=id1\""
#define POL(mode, mx) "version: STSv1\nmode: " mode "\n" mx "max_age: 604800\n"

static const struct sts_case sts_cases[] = {
	{ "not published: nothing fetched", NULL, NULL, NULL, NULL, 0,
	  TG_CHECK_STS_NOT_PUBLISHED, "neither DANE nor MTA-STS",
	  "opportunistic", 0 },
	{ "enforce, every MX covered: valid", TXT1,
	  POL("enforce", "mx: mx.a.example\nmx: mx2.a.example\n"), NULL,
	  NULL, 200, TG_CHECK_STS_ENFORCE_VALID, NULL, "MTA-STS enforce", 1 },
	{ "wildcard covers one label", TXT1,
	  POL("enforce", "mx: *.a.example\n"), NULL, NULL, 200,
	  TG_CHECK_STS_ENFORCE_VALID, NULL, "MTA-STS enforce (id id1)", 1 },
	{ "enforce, an MX not covered: invalid, fix names the line", TXT1,
	  POL("enforce", "mx: mx.a.example\n"), NULL, NULL, 200,
	  TG_CHECK_STS_ENFORCE_INVALID, "add `mx: mx2.a.example` to the policy",
	  "MTA-STS enforce", 1 },
	{ "enforce, no MX covered: the relay defers", TXT1,
	  POL("enforce", "mx: *.b.a.example\n"), NULL, NULL, 200,
	  TG_CHECK_STS_ENFORCE_INVALID, "matches no MX host", "defer", 1 },
	{ "testing, all covered: ready for enforce", TXT1,
	  POL("testing", "mx: *.a.example\n"), NULL, NULL, 200,
	  TG_CHECK_STS_TESTING, "ready for mode enforce", "MTA-STS testing",
	  1 },
	{ "mode none", TXT1, POL("none", ""), NULL, NULL, 200,
	  TG_CHECK_STS_NONE, "mode none", "opportunistic", 1 },
	{ "404: fetch error, fix says where to publish", TXT1, NULL,
	  "HTTP status 404", "sts-policy-fetch-error", 404,
	  TG_CHECK_STS_FETCH_ERROR, "publish the policy at "
	  "https://mta-sts.a.example/.well-known/mta-sts.txt",
	  "opportunistic TLS: the MTA-STS policy (id id1) could not", 1 },
	{ "redirect: fetch error, redirects are never followed", TXT1, NULL,
	  "redirect refused (HTTP 301 to 'https://x.example/')",
	  "sts-policy-fetch-error", 301, TG_CHECK_STS_FETCH_ERROR,
	  "never follow redirects", "opportunistic", 1 },
	{ "wrong Content-Type", TXT1, NULL,
	  "Content-Type 'text/html' is not text/plain",
	  "sts-policy-fetch-error", 200, TG_CHECK_STS_FETCH_ERROR,
	  "Content-Type: text/plain", "opportunistic", 1 },
	{ "certificate of the policy host: web PKI", TXT1, NULL,
	  "TLS: certificate has expired", "sts-webpki-invalid", 0,
	  TG_CHECK_STS_FETCH_ERROR, "certificate valid in the web PKI for "
	  "that name", "opportunistic", 1 },
	{ "invalid policy", TXT1, NULL, "line 3: max_age: 99999999999 is "
	  "larger than 31557600", "sts-policy-invalid", 200,
	  TG_CHECK_STS_INVALID, "correct the policy at", "opportunistic", 1 },
	{ "two TXT records: invalid, nothing fetched",
	  TXT1 "\n\"v=STSv1; id=id2\"", NULL, NULL, NULL, 0,
	  TG_CHECK_STS_INVALID, "exactly one", "opportunistic", 0 },
	{ "short max_age is mentioned", TXT1,
	  "version: STSv1\nmode: enforce\nmx: *.a.example\nmax_age: 3600\n",
	  NULL, NULL, 200, TG_CHECK_STS_ENFORCE_VALID, "max_age 3600 is short",
	  "MTA-STS enforce", 1 },
};

static struct tg_check_report *
run_sts(const struct sts_case *sc, struct sts_fake *f, struct tg_cache *cache,
    struct event_base *base)
{
	const struct script dns[] = { STS_DNS(sc->txt) };
	struct tg_stsclient_fetcher fetcher = { sts_fake_start, sts_fake_cancel,
	    f };
	struct tg_check_params params;
	struct run run = { base, NULL };
	struct tg_resolver *r = tg_resolver_fake_new(base);
	struct tg_err err;
	size_t i;

	assert_non_null(r);
	for (i = 0; i < sizeof(dns) / sizeof(dns[0]); i++)
		if (tg_resolver_fake_add(r, dns[i].name, dns[i].type,
		    dns[i].status, dns[i].security, dns[i].rdata, &err) != 0)
			fail_msg("%s: %s: %s", sc->what, dns[i].name, err.msg);
	f->base = base;
	f->body = sc->body;
	f->msg = sc->msg;
	f->type = sc->type;
	f->status = sc->http_status;
	memset(&params, 0, sizeof(params));
	params.domain = "a.example";
	params.sts_fetcher = &fetcher;
	params.sts_cache = cache;
	if (tg_check_start(base, r, &params, on_done, &run, &err) == NULL)
		fail_msg("%s: %s", sc->what, err.msg);
	event_base_dispatch(base);
	tg_resolver_free(r);
	if (run.report == NULL)
		fail_msg("%s: no report", sc->what);
	return run.report;
}

static void
test_sts_rules(void **state)
{
	struct event_base *base = event_base_new();
	struct tg_check_report *rep;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sts_cases) / sizeof(sts_cases[0]); i++) {
		const struct sts_case *sc = &sts_cases[i];
		struct sts_fake f;
		memset(&f, 0, sizeof(f));
		rep = run_sts(sc, &f, NULL, base);
		if (rep->sts_policy.status != sc->status)
			fail_msg("%s: status %s, want %s (%s)", sc->what,
			    tg_check_sts_name(rep->sts_policy.status),
			    tg_check_sts_name(sc->status),
			    rep->sts_policy.reason);
		if (sc->problem != NULL && !has_problem(rep, sc->problem))
			fail_msg("%s: no problem mentions '%s'", sc->what,
			    sc->problem);
		if (strncmp(rep->relay, sc->relay, strlen(sc->relay)) != 0)
			fail_msg("%s: relay '%s'", sc->what, rep->relay);
		if (f.starts != sc->fetches)
			fail_msg("%s: %d fetches", sc->what, f.starts);
		if (f.starts > 0)
			assert_string_equal(f.domain, "a.example");
		free(rep);
	}
	event_base_free(base);
}

static void
test_sts_coverage_json(void **state)
{
	struct event_base *base = event_base_new();
	struct tg_check_report *rep;
	struct sts_fake f;
	json_t *j, *sts;

	(void)state;
	memset(&f, 0, sizeof(f));
	rep = run_sts(&sts_cases[3], &f, NULL, base);
	assert_true(rep->mx[0].sts_match);
	assert_int_equal(rep->mx[0].sts_pattern, 0);
	assert_false(rep->mx[1].sts_match);
	assert_int_equal(rep->sts_policy.mx_ok, 1);
	/* An uncovered MX under enforce is an error: exit 1. */
	assert_true(tg_check_count(rep, TG_CHECK_ERROR) > 0);
	j = tg_check_to_json(rep);
	assert_non_null(j);
	sts = json_object_get(j, "mta_sts");
	assert_string_equal(json_string_value(json_object_get(sts, "status")),
	    "enforce-invalid");
	assert_string_equal(json_string_value(json_object_get(sts, "id")),
	    "id1");
	assert_true(json_is_true(json_object_get(sts, "id_agreement")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    sts, "policy"), "mode")), "enforce");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    sts, "policy"), "max_age")), 604800);
	assert_true(json_is_true(json_object_get(json_object_get(sts,
	    "fetch"), "ok")));
	assert_true(json_is_null(json_object_get(json_object_get(sts,
	    "fetch"), "result_type")));
	assert_true(json_is_true(json_object_get(json_array_get(
	    json_object_get(sts, "mx_coverage"), 0), "match")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(sts, "mx_coverage"), 1), "host")), "mx2.a.example");
	assert_true(json_is_false(json_object_get(json_array_get(
	    json_object_get(sts, "mx_coverage"), 1), "match")));
	assert_true(json_is_null(json_object_get(sts, "cached")));
	json_decref(j);
	free(rep);
	/* A failed fetch: result type in the JSON, no policy. */
	rep = run_sts(&sts_cases[10], &f, NULL, base);
	j = tg_check_to_json(rep);
	sts = json_object_get(j, "mta_sts");
	assert_false(json_is_true(json_object_get(sts, "id_agreement")));
	assert_true(json_is_null(json_object_get(sts, "policy")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    sts, "fetch"), "result_type")), "sts-webpki-invalid");
	json_decref(j);
	free(rep);
	event_base_free(base);
}

/* The relay's cache says id1 was fetched with another policy. */
static void
test_sts_cache_compare(void **state)
{
	static const char cached[] = "version: STSv1\nmode: testing\n"
	    "mx: *.a.example\nmax_age: 604800\n";
	struct event_base *base = event_base_new();
	struct tg_cache_sts_policy *cp = malloc(sizeof(*cp));
	struct tg_cache_sts_attempt a;
	struct tg_sts_policy *p = malloc(sizeof(*p));
	struct tg_check_report *rep;
	struct tg_cache *cache;
	struct sts_case sc = sts_cases[2];	/* enforce, *.a.example */
	char dir[] = "/tmp/tg-check-XXXXXX", path[64];
	struct sts_fake f;
	struct tg_err err;

	(void)state;
	assert_non_null(cp);
	assert_non_null(p);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(tg_cache_open(dir, &cache, &err), 0);
	assert_int_equal(tg_sts_policy_parse(cached, strlen(cached), p, &err),
	    0);
	assert_int_equal(tg_stscache_from_fetch(p, cached, strlen(cached),
	    "id1", 1700000000, cp, &err), 0);
	memset(&a, 0, sizeof(a));
	a.at = 1700000000;
	strcpy(a.id, "id1");
	a.ok = 1;
	assert_int_equal(tg_cache_sts_save_fetch(cache, "a.example", &a, cp,
	    &err), 0);
	memset(&f, 0, sizeof(f));
	rep = run_sts(&sc, &f, cache, base);
	assert_true(rep->sts_policy.cached);
	assert_string_equal(rep->sts_policy.cached_id, "id1");
	assert_int_equal(rep->sts_policy.cached_mode, TG_STS_MODE_TESTING);
	assert_true(rep->sts_policy.cached_differs);
	assert_true(has_problem(rep, "the policy changed but its id did not"));
	assert_true(has_problem(rep, "change the id in `_mta-sts.a.example`"));
	free(rep);
	/* Same policy as cached: nothing to say. */
	sc.body = cached;
	rep = run_sts(&sc, &f, cache, base);
	assert_false(rep->sts_policy.cached_differs);
	assert_false(has_problem(rep, "changed but its id"));
	free(rep);
	/* A new id: the relay will fetch. */
	sc.txt = "\"v=STSv1; id=id2\"";
	rep = run_sts(&sc, &f, cache, base);
	assert_true(has_problem(rep, "the relay's cache holds id id1"));
	free(rep);
	tg_cache_close(cache);
	snprintf(path, sizeof(path), "%s/cache.db", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/cache.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/cache.db-shm", dir);
	unlink(path);
	rmdir(dir);
	free(cp);
	free(p);
	event_base_free(base);
}

/* A fetched enforce policy covering mx.a.example, and a PKIX session. */
static struct tg_check_report *
sts_report(int verified, const char *result_type, const char *why)
{
	struct tg_check_report *rep = probed_report(1, NULL);
	struct tg_check_mx *mx = &rep->mx[0];
	struct tg_err err;
	const char *pol = "version: STSv1\nmode: enforce\nmx: mx.a.example\n"
	    "max_age: 604800\n";

	rep->sts_txt.looked_up = 1;
	rep->sts_txt.valid = 1;
	rep->sts_txt.nrecords = 1;
	strcpy(rep->sts.id, "id1");
	rep->sts_policy.fetched = 1;
	rep->sts_policy.ok = 1;
	strcpy(rep->sts_policy.url,
	    "https://mta-sts.a.example/.well-known/mta-sts.txt");
	assert_int_equal(tg_sts_policy_parse(pol, strlen(pol),
	    &rep->sts_policy.policy, &err), 0);
	mx->webpki_probed = 1;
	strcpy(mx->webpki_addr, "192.0.2.1");
	mx->webpki.tls_started = 1;
	mx->webpki.tls.handshake_done = 1;
	mx->webpki.tls.mode = TG_TLS_PKIX;
	mx->webpki.tls.verified = verified;
	mx->webpki.tls.result_type = result_type;
	strcpy(mx->webpki.tls.reason, why);
	return rep;
}

static void
test_sts_webpki_verdicts(void **state)
{
	static const struct {
		const char *type, *why, *fix;
	} bad[] = {
		{ "certificate-host-mismatch", "host name mismatch",
		  "names mx.a.example in its subjectAltName" },
		{ "certificate-expired", "certificate has expired",
		  "renew the certificate of mx.a.example" },
		{ "certificate-not-trusted", "unable to get local issuer",
		  "from a CA of the web PKI" },
	};
	struct tg_check_report *rep;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rep = sts_report(0, bad[i].type, bad[i].why);
		tg_check_judge(rep);
		assert_int_equal(rep->sts_policy.status,
		    TG_CHECK_STS_ENFORCE_INVALID);
		assert_false(rep->mx[0].webpki_valid);
		assert_true(has_problem(rep, "the certificate of mx.a.example "
		    "[192.0.2.1] is not valid for mx.a.example"));
		assert_true(has_problem(rep, bad[i].why));
		if (!has_problem(rep, bad[i].fix))
			fail_msg("%s: no fix '%s'", bad[i].type, bad[i].fix);
		/* DANE still decides for the relay (RFC 8461 §2). */
		assert_non_null(strstr(rep->relay, "DANE: deliver only"));
		free(rep);
	}
	rep = sts_report(1, NULL, "");
	tg_check_judge(rep);
	assert_int_equal(rep->sts_policy.status, TG_CHECK_STS_ENFORCE_VALID);
	assert_true(rep->mx[0].webpki_valid);
	assert_int_equal(tg_check_count(rep, TG_CHECK_WARNING), 0);
	/* Without DANE, MTA-STS decides. */
	rep->mx[0].dane = TG_CHECK_DANE_UNSIGNED;
	rep->mx[0].tlsa_looked_up = 0;
	rep->mx[0].addr_security = TG_DNS_INSECURE;
	tg_check_judge(rep);
	assert_non_null(strstr(rep->relay, "MTA-STS enforce (id id1)"));
	assert_string_equal(tg_check_sts_name(rep->sts_policy.status),
	    "enforce-valid");
	free(rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dane_rules),
		cmocka_unit_test(test_verdict_mismatch_fix),
		cmocka_unit_test(test_verdict_ta_name),
		cmocka_unit_test(test_verdict_valid_no_errors),
		cmocka_unit_test(test_verdict_json),
		cmocka_unit_test(test_sts_rules),
		cmocka_unit_test(test_sts_coverage_json),
		cmocka_unit_test(test_sts_cache_compare),
		cmocka_unit_test(test_sts_webpki_verdicts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
