/*
 * Unit tests of policy/check: the DANE rules of RFC 7672 §2 applied to
 * scripted DNS answers (dns/resolver_fake), without connecting anywhere,
 * and the verdict rules applied to hand-made probe results.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dns/resolver_fake.h"
#include "policy/check.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dane_rules),
		cmocka_unit_test(test_verdict_mismatch_fix),
		cmocka_unit_test(test_verdict_ta_name),
		cmocka_unit_test(test_verdict_valid_no_errors),
		cmocka_unit_test(test_verdict_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
