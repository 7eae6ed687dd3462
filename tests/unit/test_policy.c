/*
 * Unit tests of policy/policy: one table row per rule of RELIABILITY §3
 * and per RFC-CHECKLIST item the decision covers (1–16, 25–40 as the
 * sender applies them), then an exhaustive sweep over every combination
 * of one host's inputs that checks the never-downgrade invariants.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "policy/policy.h"

#define EE "3 1 1 01010101010101010101010101010101" \
	"01010101010101010101010101010101"
#define EE2 "3 1 1 03030303030303030303030303030303" \
	"03030303030303030303030303030303"
#define PKIXEE "1 1 1 02020202020202020202020202020202" \
	"02020202020202020202020202020202"
#define PKIXTA "0 0 1 04040404040404040404040404040404" \
	"04040404040404040404040404040404"

enum { S = TG_DNS_SECURE, I = TG_DNS_INSECURE, B = TG_DNS_BOGUS,
    X = TG_DNS_INDETERMINATE };
enum { OK = TG_DNS_OK, NX = TG_DNS_NXDOMAIN, ND = TG_DNS_NODATA,
    TF = TG_DNS_TEMPFAIL };

/* One host: addresses, then TLSA (lu = looked up), records ';'-joined. */
struct hspec {
	const char *name;
	int a_st, a_sec;
	int lu, t_st, t_sec;
	const char *tlsa;
	const char *base;	/* TLSA base; NULL = name */
};

#define H_DANE(n)	{ n, OK, S, 1, OK, S, EE, NULL }
#define H_UNUSABLE(n)	{ n, OK, S, 1, OK, S, PKIXEE ";" PKIXTA, NULL }
#define H_TBOGUS(n)	{ n, OK, S, 1, OK, B, EE, NULL }
#define H_TFAIL(n)	{ n, OK, S, 1, TF, X, NULL, NULL }
#define H_TNODATA(n)	{ n, OK, S, 1, ND, S, NULL, NULL }
#define H_TNX(n)	{ n, OK, S, 1, NX, S, NULL, NULL }
#define H_TINSEC(n)	{ n, OK, S, 1, OK, I, EE, NULL }
#define H_INSEC(n)	{ n, OK, I, 0, 0, 0, NULL, NULL }
#define H_ABOGUS(n)	{ n, OK, B, 0, 0, 0, NULL, NULL }
#define H_AFAIL(n)	{ n, TF, X, 0, 0, 0, NULL, NULL }
#define H_NOADDR(n)	{ n, ND, S, 0, 0, 0, NULL, NULL }

/* Expected per host: action, rule, tls, mode, report_only, rpt type,
 * result type (skip) or rpt_failure (try). */
struct hexp {
	int set;
	enum tg_policy_action action;
	enum tg_policy_rule rule;
	enum tg_policy_tls tls;
	enum tg_tls_mode mode;
	int report_only;
	int authenticated;
	enum tg_reports_policy_type rpt;
	const char *rtype;
};

#define TRY(r, t, m, ro, au, rp, f) \
	{ 1, TG_POLICY_TRY, TG_POLICY_RULE_##r, TG_POLICY_TLS_##t, \
	  TG_TLS_##m, ro, au, TG_REPORTS_##rp, f }
#define SKIP(r, rp, rt) \
	{ 1, TG_POLICY_SKIP, TG_POLICY_RULE_##r, 0, 0, 0, 0, \
	  TG_REPORTS_##rp, rt }

enum { STS_NONE, STS_ENFORCE, STS_TESTING, STS_MODE_NONE, STS_FAILED,
    STS_UNAVAILABLE };

struct row {
	const char *what;
	int mx_st, mx_sec, null_mx;
	struct hspec h[3];
	int sts;
	const char *sts_mx;	/* comma-separated patterns */
	int local;		/* -1 none, else enum tg_store_dest_mode */
	enum tg_policy_verdict verdict;
	const char *status;	/* DEFER/BOUNCE */
	const char *rtype;	/* domain result type */
	enum tg_policy_rule rule;
	struct hexp e[3];
};

#define NOLOCAL -1
#define MAY TG_STORE_DEST_MAY
#define ENCRYPT TG_STORE_DEST_ENCRYPT
#define DANEONLY TG_STORE_DEST_DANE_ONLY
#define DEL TG_POLICY_DELIVER
#define DEFER TG_POLICY_DEFER
#define BOUNCE TG_POLICY_BOUNCE
#define R(x) TG_POLICY_RULE_##x

static const struct row rows[] = {
	/* RFC 7672 §2.1.1 / item 1 / §3 row 1. */
	{ "item 1: bogus MX RRset defers the domain", OK, B, 0,
	  { H_DANE("mx.a.example") }, STS_NONE, NULL, NOLOCAL,
	  DEFER, "4.4.3", "dnssec-invalid", R(DNS), { { 0 } } },
	{ "item 1: MX lookup failure defers, no address fallback", TF, X, 0,
	  { { 0 } }, STS_NONE, NULL, NOLOCAL,
	  DEFER, "4.4.3", NULL, R(DNS), { { 0 } } },
	{ "item 1: bogus MX defers even under STS enforce and local may",
	  OK, B, 0, { H_INSEC("mx.a.example") }, STS_ENFORCE,
	  "mx.a.example", MAY, DEFER, "4.4.3", "dnssec-invalid", R(DNS),
	  { { 0 } } },
	{ "MTA-STS cache unreadable: defer, never 'no policy'", OK, S, 0,
	  { H_INSEC("mx.a.example") }, STS_UNAVAILABLE, NULL, NOLOCAL,
	  DEFER, "4.7.5", NULL, R(STS), { { 0 } } },
	/* Item 4: NXDOMAIN and null MX. */
	{ "item 4: NXDOMAIN bounces, no implicit MX", NX, S, 0, { { 0 } },
	  STS_NONE, NULL, NOLOCAL, BOUNCE, "5.1.2", NULL, R(DNS), { { 0 } } },
	{ "item 4: insecure NXDOMAIN bounces too", NX, I, 0, { { 0 } },
	  STS_NONE, NULL, NOLOCAL, BOUNCE, "5.1.2", NULL, R(DNS), { { 0 } } },
	{ "item 4: null MX (RFC 7505) bounces with 5.1.10", OK, S, 1,
	  { { 0 } }, STS_NONE, NULL, NOLOCAL, BOUNCE, "5.1.10", NULL, R(DNS),
	  { { 0 } } },
	{ "item 4: secure NODATA, implicit MX with DANE", ND, S, 0,
	  { H_DANE("a.example") }, STS_NONE, NULL, NOLOCAL, DEL, "", NULL,
	  R(DANE), { TRY(DANE, REQUIRE, DANE, 0, 1, TLSA, NULL) } },
	/* Item 2 / 3 / §3 row 6: usable TLSA. */
	{ "item 2, §3 row 6: secure MX and usable TLSA: DANE required",
	  OK, S, 0, { H_DANE("mx.a.example") }, STS_NONE, NULL, NOLOCAL, DEL,
	  "", NULL, R(DANE),
	  { TRY(DANE, REQUIRE, DANE, 0, 1, TLSA, NULL) } },
	{ "item 3: insecure MX, secure host TLSA: DANE still used", OK, I, 0,
	  { H_DANE("mx.a.example") }, STS_NONE, NULL, NOLOCAL, DEL, "", NULL,
	  R(DANE), { TRY(DANE, REQUIRE, DANE, 0, 1, TLSA, NULL) } },
	/* §3 row 2 / item 5: insecure addresses. */
	{ "item 5, §3 row 2: insecure A: no DANE, opportunistic", OK, S, 0,
	  { H_INSEC("mx.a.example") }, STS_NONE, NULL, NOLOCAL, DEL, "", NULL,
	  R(OPPORTUNISTIC),
	  { TRY(OPPORTUNISTIC, MAY, OPPORTUNISTIC, 0, 0, NO_POLICY, NULL) } },
	/* §3 row 3 / item 7: TLSA bogus or failed. */
	{ "item 7, §3 row 3: bogus TLSA skips the only host: defer",
	  OK, S, 0, { H_TBOGUS("mx.a.example") }, STS_NONE, NULL, NOLOCAL,
	  DEFER, "4.7.5", "dnssec-invalid", R(DANE),
	  { SKIP(DANE, TLSA, "dnssec-invalid") } },
	{ "item 7: TLSA SERVFAIL is never 'no TLSA': skip, defer", OK, S, 0,
	  { H_TFAIL("mx.a.example") }, STS_NONE, NULL, NOLOCAL, DEFER,
	  "4.7.5", "dnssec-invalid", R(DANE),
	  { SKIP(DANE, TLSA, "dnssec-invalid") } },
	{ "O-05: MX1 TLSA bogus, MX2 good: MX1 skipped, MX2 tried",
	  OK, S, 0, { H_TBOGUS("mx1.a.example"), H_DANE("mx2.a.example") },
	  STS_NONE, NULL, NOLOCAL, DEL, "", NULL, R(DANE),
	  { SKIP(DANE, TLSA, "dnssec-invalid"),
	    TRY(DANE, REQUIRE, DANE, 0, 1, TLSA, NULL) } },
	{ "item 7: TLSA failed, MX2 insecure: MX2 opportunistic", OK, S, 0,
	  { H_TFAIL("mx1.a.example"), H_INSEC("mx2.a.example") }, STS_NONE,
	  NULL, NOLOCAL, DEL, "", NULL, R(OPPORTUNISTIC),
	  { SKIP(DANE, TLSA, "dnssec-invalid"),
	    TRY(OPPORTUNISTIC, MAY, OPPORTUNISTIC, 0, 0, NO_POLICY, NULL) } },
	{ "secure TLSA answer without readable records: skip, never "
	  "'no TLSA'", OK, S, 0, { { "mx.a.example", OK, S, 1, OK, S, NULL,
	  NULL } }, STS_NONE, NULL, NOLOCAL, DEFER, "4.7.5", "tlsa-invalid",
	  R(DANE), { SKIP(DANE, TLSA, "tlsa-invalid") } },
	/* §3 row 4 and 5. */
	{ "§3 row 4: secure NODATA for TLSA: opportunistic", OK, S, 0,
	  { H_TNODATA("mx.a.example") }, STS_NONE, NULL, NOLOCAL, DEL, "",
	  NULL, R(OPPORTUNISTIC),
	  { TRY(OPPORTUNISTIC, MAY, OPPORTUNISTIC, 0, 0, NO_POLICY, NULL) } },
	{ "§3 row 4: secure NXDOMAIN for TLSA: opportunistic", OK, S, 0,
	  { H_TNX("mx.a.example") }, STS_NONE, NULL, NOLOCAL, DEL, "",
	  NULL, R(OPPORTUNISTIC),
	  { TRY(OPPORTUNISTIC, MAY, OPPORTUNISTIC, 0, 0, NO_POLICY, NULL) } },
	{ "§3 row 5: insecure TLSA records are ignored", OK, S, 0,
	  { H_TINSEC("mx.a.example") }, STS_NONE, NULL, NOLOCAL, DEL, "",
	  NULL, R(OPPORTUNISTIC),
	  { TRY(OPPORTUNISTIC, MAY, OPPORTUNISTIC, 0, 0, NO_POLICY, NULL) } },
	/* §3 row 7 / items 8, 13. */
	{ "items 8, 13, §3 row 7: only PKIX-TA/EE records: TLS required, "
	  "not authenticated", OK, S, 0, { H_UNUSABLE("mx.a.example") },
	  STS_NONE, NULL, NOLOCAL, DEL, "", NULL, R(DANE),
	  { TRY(DANE, REQUIRE, DANE, 0, 0, TLSA, NULL) } },
	/* Item 16: dane-only. */
	{ "item 16: dane-only, secure NODATA: skip, defer dane-required",
	  OK, S, 0, { H_TNODATA("mx.a.example") }, STS_NONE, NULL, DANEONLY,
	  DEFER, "4.7.5", "dane-required", R(LOCAL),
	  { SKIP(LOCAL, TLSA, "dane-required") } },
	{ "item 16: dane-only, insecure host: dane-required", OK, I, 0,
	  { H_INSEC("mx.a.example") }, STS_NONE, NULL, DANEONLY, DEFER,
	  "4.7.5", "dane-required", R(LOCAL),
	  { SKIP(LOCAL, TLSA, "dane-required") } },
	{ "item 16: dane-only, only unusable records: dane-required", OK, S, 0,
	  { H_UNUSABLE("mx.a.example") }, STS_NONE, NULL, DANEONLY, DEFER,
	  "4.7.5", "dane-required", R(LOCAL),
	  { SKIP(LOCAL, TLSA, "dane-required") } },
	{ "item 16: dane-only wins over STS enforce", OK, S, 0,
	  { H_TNODATA("mx.a.example") }, STS_ENFORCE, "mx.a.example",
	  DANEONLY, DEFER, "4.7.5", "dane-required", R(LOCAL),
	  { SKIP(LOCAL, TLSA, "dane-required") } },
	{ "item 16: dane-only with usable TLSA: DANE", OK, S, 0,
	  { H_DANE("mx.a.example") }, STS_NONE, NULL, DANEONLY, DEL, "", NULL,
	  R(DANE), { TRY(DANE, REQUIRE, DANE, 0, 1, TLSA, NULL) } },
	{ "item 16: dane-only, MX1 without TLSA skipped, MX2 DANE", OK, S, 0,
	  { H_INSEC("mx1.a.example"), H_DANE("mx2.a.example") }, STS_NONE,
	  NULL, DANEONLY, DEL, "", NULL, R(DANE),
	  { SKIP(LOCAL, TLSA, "dane-required"),
	    TRY(DANE, REQUIRE, DANE, 0, 1, TLSA, NULL) } },
	/* Item 39 / O-11: DANE precedence. */
	{ "item 39: DANE applies, STS enforce mx mismatch is ignored",
	  OK, S, 0, { H_DANE("mx.a.example") }, STS_ENFORCE, "other.example",
	  NOLOCAL, DEL, "", NULL, R(DANE),
	  { TRY(DANE, REQUIRE, DANE, 0, 1, TLSA, NULL) } },
	{ "item 39: bogus TLSA is not overridden by a matching STS policy",
	  OK, S, 0, { H_TBOGUS("mx.a.example") }, STS_ENFORCE, "mx.a.example",
	  NOLOCAL, DEFER, "4.7.5", "dnssec-invalid", R(DANE),
	  { SKIP(DANE, TLSA, "dnssec-invalid") } },
	{ "item 39: DANE applies under STS testing: DANE, not report-only",
	  OK, S, 0, { H_DANE("mx.a.example") }, STS_TESTING, "mx.a.example",
	  NOLOCAL, DEL, "", NULL, R(DANE),
	  { TRY(DANE, REQUIRE, DANE, 0, 1, TLSA, NULL) } },
	/* Items 36–38: MTA-STS. */
	{ "item 37: enforce, MX matches: TLS + PKIX for the MX name",
	  OK, I, 0, { H_INSEC("mx.a.example") }, STS_ENFORCE, "mx.a.example",
	  NOLOCAL, DEL, "", NULL, R(STS),
	  { TRY(STS, REQUIRE, PKIX, 0, 1, STS, NULL) } },
	{ "item 37: enforce, MX1 not in patterns skipped, MX2 tried",
	  OK, I, 0, { H_INSEC("evil.example"), H_INSEC("mx.a.example") },
	  STS_ENFORCE, "mx.a.example", NOLOCAL, DEL, "", NULL, R(STS),
	  { SKIP(STS, STS, "validation-failure"),
	    TRY(STS, REQUIRE, PKIX, 0, 1, STS, NULL) } },
	{ "item 37: enforce, no MX matches: defer (never permanent)",
	  OK, I, 0, { H_INSEC("evil.example") }, STS_ENFORCE, "mx.a.example",
	  NOLOCAL, DEFER, "4.7.5", "validation-failure", R(STS),
	  { SKIP(STS, STS, "validation-failure") } },
	{ "item 36: *.a.example matches one label only", OK, I, 0,
	  { H_INSEC("x.y.a.example"), H_INSEC("a.example"),
	    H_INSEC("mail.a.example") }, STS_ENFORCE, "*.a.example", NOLOCAL,
	  DEL, "", NULL, R(STS),
	  { SKIP(STS, STS, "validation-failure"),
	    SKIP(STS, STS, "validation-failure"),
	    TRY(STS, REQUIRE, PKIX, 0, 1, STS, NULL) } },
	{ "item 38: testing, MX matches: deliver, verify report-only",
	  OK, I, 0, { H_INSEC("mx.a.example") }, STS_TESTING, "mx.a.example",
	  NOLOCAL, DEL, "", NULL, R(STS),
	  { TRY(STS, MAY, PKIX, 1, 0, STS, NULL) } },
	{ "item 38: testing, MX outside the patterns: deliver, record it",
	  OK, I, 0, { H_INSEC("evil.example") }, STS_TESTING, "mx.a.example",
	  NOLOCAL, DEL, "", NULL, R(STS),
	  { TRY(STS, MAY, PKIX, 1, 0, STS, "validation-failure") } },
	{ "item 38: mode none is no policy", OK, I, 0,
	  { H_INSEC("mx.a.example") }, STS_MODE_NONE, NULL, NOLOCAL, DEL, "",
	  NULL, R(OPPORTUNISTIC),
	  { TRY(OPPORTUNISTIC, MAY, OPPORTUNISTIC, 0, 0, NO_POLICY, NULL) } },
	{ "item 33: fetch failed, nothing cached: as no policy, reported",
	  OK, I, 0, { H_INSEC("mx.a.example") }, STS_FAILED, NULL, NOLOCAL,
	  DEL, "", NULL, R(OPPORTUNISTIC),
	  { TRY(OPPORTUNISTIC, MAY, OPPORTUNISTIC, 0, 0, STS,
	    "sts-policy-fetch-error") } },
	/* Local policy. */
	{ "local encrypt: TLS required, not authenticated", OK, I, 0,
	  { H_INSEC("mx.a.example") }, STS_NONE, NULL, ENCRYPT, DEL, "", NULL,
	  R(LOCAL), { TRY(LOCAL, REQUIRE, OPPORTUNISTIC, 0, 0, NO_POLICY,
	  NULL) } },
	{ "local may: opportunistic, named local", OK, I, 0,
	  { H_INSEC("mx.a.example") }, STS_NONE, NULL, MAY, DEL, "", NULL,
	  R(LOCAL), { TRY(LOCAL, MAY, OPPORTUNISTIC, 0, 0, NO_POLICY, NULL) } },
	{ "local encrypt is a floor under STS testing", OK, I, 0,
	  { H_INSEC("mx.a.example") }, STS_TESTING, "mx.a.example", ENCRYPT,
	  DEL, "", NULL, R(STS), { TRY(STS, REQUIRE, PKIX, 1, 0, STS, NULL) } },
	{ "STS enforce wins over local may", OK, I, 0,
	  { H_INSEC("mx.a.example") }, STS_ENFORCE, "mx.a.example", MAY, DEL,
	  "", NULL, R(STS), { TRY(STS, REQUIRE, PKIX, 0, 1, STS, NULL) } },
	{ "DANE wins over local encrypt", OK, S, 0,
	  { H_DANE("mx.a.example") }, STS_NONE, NULL, ENCRYPT, DEL, "", NULL,
	  R(DANE), { TRY(DANE, REQUIRE, DANE, 0, 1, TLSA, NULL) } },
	/* Address rows. */
	{ "bogus address records: skip with dnssec-invalid", OK, S, 0,
	  { H_ABOGUS("mx.a.example") }, STS_NONE, NULL, NOLOCAL, DEFER,
	  "4.7.5", "dnssec-invalid", R(DNS),
	  { SKIP(DNS, TLSA, "dnssec-invalid") } },
	{ "address lookup failed: skip, defer 4.4.3", OK, S, 0,
	  { H_AFAIL("mx.a.example") }, STS_NONE, NULL, NOLOCAL, DEFER,
	  "4.4.3", NULL, R(DNS), { SKIP(DNS, NO_POLICY, NULL) } },
	{ "no address: skip, next MX used", OK, S, 0,
	  { H_NOADDR("mx1.a.example"), H_INSEC("mx2.a.example") }, STS_NONE,
	  NULL, NOLOCAL, DEL, "", NULL, R(OPPORTUNISTIC),
	  { SKIP(DNS, NO_POLICY, NULL),
	    TRY(OPPORTUNISTIC, MAY, OPPORTUNISTIC, 0, 0, NO_POLICY, NULL) } },
	{ "MX answer without hosts: defer 4.4.4", OK, S, 0, { { 0 } },
	  STS_NONE, NULL, NOLOCAL, DEFER, "4.4.4", NULL, R(DNS), { { 0 } } },
};

/* ---- building inputs ---------------------------------------------------- */

struct built {
	struct tg_policy_host hosts[TG_POLICY_MX_MAX + 2];
	struct tg_tlsa_rr tlsa[3][4];
	struct tg_sts_policy sts;
	struct tg_policy_input in;
};

static size_t
parse_tlsa(const char *text, struct tg_tlsa_rr *out)
{
	char buf[1024], *save = NULL, *tok;
	struct tg_err err;
	size_t n = 0;

	if (text == NULL)
		return 0;
	snprintf(buf, sizeof(buf), "%s", text);
	for (tok = strtok_r(buf, ";", &save); tok != NULL;
	    tok = strtok_r(NULL, ";", &save)) {
		assert_int_equal(tg_tlsa_parse_text(tok, strlen(tok), &out[n],
		    &err), 0);
		n++;
	}
	return n;
}

static void
build_sts(struct built *b, int sts, const char *mx)
{
	char buf[512], *save = NULL, *tok;

	memset(&b->sts, 0, sizeof(b->sts));
	b->in.sts.state = sts == STS_NONE ? TG_POLICY_STS_NONE :
	    sts == STS_FAILED ? TG_POLICY_STS_FAILED :
	    sts == STS_UNAVAILABLE ? TG_POLICY_STS_UNAVAILABLE :
	    TG_POLICY_STS_ACTIVE;
	b->sts.mode = sts == STS_ENFORCE ? TG_STS_MODE_ENFORCE :
	    sts == STS_TESTING ? TG_STS_MODE_TESTING : TG_STS_MODE_NONE;
	b->sts.max_age = 86400;
	if (b->in.sts.state == TG_POLICY_STS_ACTIVE) {
		b->in.sts.policy = &b->sts;
		b->in.sts.id = "20240101";
	}
	if (sts == STS_FAILED) {
		b->in.sts.fail_type = "sts-policy-fetch-error";
		b->in.sts.fail_reason = "HTTP 404";
	}
	snprintf(buf, sizeof(buf), "%s", mx != NULL ? mx : "");
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		snprintf(b->sts.mx[b->sts.count++], sizeof(b->sts.mx[0]), "%s",
		    tok);
}

static void
build(const struct row *r, struct built *b)
{
	size_t i;

	memset(b, 0, sizeof(*b));
	b->in.domain = "a.example";
	b->in.mx_status = r->mx_st;
	b->in.mx_security = r->mx_sec;
	b->in.null_mx = r->null_mx;
	for (i = 0; i < 3 && r->h[i].name != NULL; i++) {
		const struct hspec *s = &r->h[i];
		struct tg_policy_host *h = &b->hosts[i];

		h->name = s->name;
		h->pref = (unsigned)(10 * (i + 1));
		h->addr_status = s->a_st;
		h->addr_security = s->a_sec;
		h->tlsa_looked_up = s->lu;
		h->tlsa_status = s->t_st;
		h->tlsa_security = s->t_sec;
		h->tlsa_base = s->base != NULL ? s->base : s->name;
		h->tlsa_n = parse_tlsa(s->tlsa, b->tlsa[i]);
		h->tlsa = b->tlsa[i];
	}
	b->in.hosts = b->hosts;
	b->in.nhosts = i;
	build_sts(b, r->sts, r->sts_mx);
	b->in.has_local = r->local >= 0;
	b->in.local = r->local >= 0 ? (enum tg_store_dest_mode)r->local : 0;
}

/* ---- the table ---------------------------------------------------------- */

static void
check_host(const struct row *r, size_t i,
    const struct tg_policy_host_decision *d)
{
	const struct hexp *e = &r->e[i];

	print_message("#   host %zu: %s\n", i, r->h[i].name);
	assert_int_equal(d->action, e->action);
	assert_int_equal(d->rule, e->rule);
	assert_int_equal(d->rpt_type, e->rpt);
	if (e->action == TG_POLICY_SKIP) {
		if (e->rtype == NULL)
			assert_null(d->result_type);
		else
			assert_string_equal(d->result_type, e->rtype);
		assert_true(d->reason[0] != '\0');
		return;
	}
	assert_int_equal(d->tls, e->tls);
	assert_int_equal(d->mode, e->mode);
	assert_int_equal(d->report_only, e->report_only);
	assert_int_equal(d->authenticated, e->authenticated);
	if (e->rtype == NULL)
		assert_null(d->rpt_failure);
	else
		assert_string_equal(d->rpt_failure, e->rtype);
}

static void
test_rows(void **state)
{
	struct tg_policy_decision *out = calloc(1, sizeof(*out));
	struct built *b = calloc(1, sizeof(*b));
	size_t k, i;

	(void)state;
	assert_non_null(out);
	assert_non_null(b);
	for (k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		const struct row *r = &rows[k];

		print_message("# %s\n", r->what);
		build(r, b);
		tg_policy_decide(&b->in, out, "TESTSID00001");
		assert_int_equal(out->verdict, r->verdict);
		assert_int_equal(out->rule, r->rule);
		if (r->verdict != TG_POLICY_DELIVER) {
			assert_string_equal(out->status, r->status);
			assert_true(out->reason[0] != '\0');
		}
		if (r->rtype == NULL)
			assert_null(out->result_type);
		else
			assert_string_equal(out->result_type, r->rtype);
		for (i = 0; i < 3 && r->e[i].set; i++)
			check_host(r, i, &out->hosts[i]);
		if (r->e[0].set)
			assert_int_equal(out->nhosts, b->in.nhosts);
	}
	free(b);
	free(out);
}

/* ---- REQUIRETLS (RFC 8689 §4.2.1; RFC-CHECKLIST item 51) --------------- */

struct rtls_case {
	const char *what;
	int mx_sec;
	struct hspec h;
	int sts;
	const char *sts_mx;
	int local;
	int report;		/* our own TLS report */
	int hop;		/* tg_policy_requiretls_hop */
};

static const struct rtls_case rtls_cases[] = {
	{ "DANE, secure MX", S, H_DANE("mx.a.example"), STS_NONE, NULL,
	  NOLOCAL, 0, 1 },
	{ "DANE under STS testing", S, H_DANE("mx.a.example"), STS_TESTING,
	  "mx.a.example", NOLOCAL, 0, 1 },
	{ "DANE records, insecure MX: the MX name is not validated", I,
	  H_DANE("mx.a.example"), STS_NONE, NULL, NOLOCAL, 0, 0 },
	{ "only unusable TLSA: nothing authenticates", S,
	  H_UNUSABLE("mx.a.example"), STS_NONE, NULL, NOLOCAL, 0, 0 },
	{ "STS enforce, MX matches", I, H_INSEC("mx.a.example"), STS_ENFORCE,
	  "mx.a.example", NOLOCAL, 0, 1 },
	{ "STS testing, MX matches", I, H_INSEC("mx.a.example"), STS_TESTING,
	  "mx.a.example", NOLOCAL, 0, 1 },
	{ "STS testing, MX outside the patterns", I, H_INSEC("evil.example"),
	  STS_TESTING, "mx.a.example", NOLOCAL, 0, 0 },
	{ "STS enforce, MX outside the patterns: skipped", I,
	  H_INSEC("evil.example"), STS_ENFORCE, "mx.a.example", NOLOCAL, 0,
	  0 },
	{ "STS mode none", I, H_INSEC("mx.a.example"), STS_MODE_NONE, NULL,
	  NOLOCAL, 0, 0 },
	{ "secure MX without TLSA or STS", S, H_TNX("mx.a.example"), STS_NONE,
	  NULL, NOLOCAL, 0, 0 },
	{ "local encrypt", I, H_INSEC("mx.a.example"), STS_NONE, NULL,
	  ENCRYPT, 0, 0 },
	{ "opportunistic", I, H_INSEC("mx.a.example"), STS_NONE, NULL,
	  NOLOCAL, 0, 0 },
	{ "our own report, even to a DANE host", S, H_DANE("mx.a.example"),
	  STS_NONE, NULL, NOLOCAL, 1, 0 },
};

static void
test_requiretls_hop(void **state)
{
	struct tg_policy_decision *out = calloc(1, sizeof(*out));
	struct built *b = calloc(1, sizeof(*b));
	struct row r;
	size_t k;

	(void)state;
	assert_non_null(out);
	assert_non_null(b);
	for (k = 0; k < sizeof(rtls_cases) / sizeof(rtls_cases[0]); k++) {
		const struct rtls_case *c = &rtls_cases[k];

		print_message("# %s\n", c->what);
		memset(&r, 0, sizeof(r));
		r.mx_st = OK;
		r.mx_sec = c->mx_sec;
		r.h[0] = c->h;
		r.sts = c->sts;
		r.sts_mx = c->sts_mx;
		r.local = c->local;
		build(&r, b);
		b->in.report_submission = c->report;
		tg_policy_decide(&b->in, out, "TESTSID00001");
		assert_int_equal(out->nhosts, 1);
		assert_int_equal(tg_policy_requiretls_hop(&out->hosts[0]),
		    c->hop);
	}
	free(b);
	free(out);
}

/* ---- verification parameters (items 6, 12, 15, 40) ---------------------- */

static void
test_verify_dane_names(void **state)
{
	static const struct row r = { "CNAME host", OK, S, 0,
	    { { "mx.a.example", OK, S, 1, OK, S, EE ";" EE2,
	    "mx.target.example" } }, STS_NONE, NULL, NOLOCAL, DEL, "", NULL,
	    R(DANE), { { 0 } } };
	struct tg_policy_decision *out = calloc(1, sizeof(*out));
	struct built *b = calloc(1, sizeof(*b));
	struct tg_tls_verify v;

	(void)state;
	build(&r, b);
	tg_policy_decide(&b->in, out, NULL);
	tg_policy_tls_verify(&b->in, out, 0, &v);
	/* Items 6, 15: SNI = TLSA base (the CNAME target). */
	assert_int_equal(v.mode, TG_TLS_DANE);
	assert_string_equal(v.tlsa_base, "mx.target.example");
	assert_int_equal(v.tlsa_n, 2);
	assert_false(v.report_only);
	/* Item 12, RFC 7672 §3.2.2: secure MX adds the MX name and the
	 * next-hop domain. */
	assert_int_equal(v.n_names, 2);
	assert_string_equal(v.names[0], "mx.a.example");
	assert_string_equal(v.names[1], "a.example");
	/* TLS-RPT policy strings: one "u s m hex" per record. */
	assert_string_equal(out->hosts[0].rpt_strings, EE "\n" EE2);
	assert_string_equal(out->hosts[0].rpt_mx, "mx.a.example");
	/* Insecure MX: only the TLSA base (item 3). */
	b->in.mx_security = TG_DNS_INSECURE;
	tg_policy_decide(&b->in, out, NULL);
	tg_policy_tls_verify(&b->in, out, 0, &v);
	assert_int_equal(v.n_names, 0);
	assert_false(out->hosts[0].mx_secure);
	free(b);
	free(out);
}

static void
test_verify_pkix(void **state)
{
	static const struct row r = { "STS", OK, I, 0,
	    { H_INSEC("mx.a.example") }, STS_ENFORCE,
	    "mx.a.example,*.b.example", NOLOCAL, DEL, "", NULL, R(STS),
	    { { 0 } } };
	struct tg_policy_decision *out = calloc(1, sizeof(*out));
	struct built *b = calloc(1, sizeof(*b));
	struct tg_tls_verify v;

	(void)state;
	build(&r, b);
	tg_policy_decide(&b->in, out, NULL);
	tg_policy_tls_verify(&b->in, out, 0, &v);
	/* Item 40: SNI and DNS-ID are the MX host name. */
	assert_int_equal(v.mode, TG_TLS_PKIX);
	assert_string_equal(v.host, "mx.a.example");
	assert_null(v.tlsa);
	/* RFC 8460 §4.4: the policy lines, one mx: per pattern. */
	assert_string_equal(out->hosts[0].rpt_strings, "version: STSv1\n"
	    "mode: enforce\nmx: mx.a.example\nmx: *.b.example\n"
	    "max_age: 86400");
	assert_string_equal(out->hosts[0].rpt_mx, "mx.a.example\n*.b.example");
	free(b);
	free(out);
}

/* The store could not be read: defer, whatever else applies. */
static void
test_local_unavailable(void **state)
{
	static const struct row r = { "store", OK, S, 0,
	    { H_INSEC("mx.a.example") }, STS_NONE, NULL, NOLOCAL, DEL, "",
	    NULL, R(OPPORTUNISTIC), { { 0 } } };
	struct tg_policy_decision *out = calloc(1, sizeof(*out));
	struct built *b = calloc(1, sizeof(*b));

	(void)state;
	build(&r, b);
	b->in.local_unavailable = 1;
	tg_policy_decide(&b->in, out, NULL);
	assert_int_equal(out->verdict, TG_POLICY_DEFER);
	assert_int_equal(out->rule, TG_POLICY_RULE_LOCAL);
	assert_string_equal(out->status, "4.7.5");
	free(b);
	free(out);
}

/*
 * A verified report of ours (RFC 8460 §5.3.1): every host with an
 * address is tried with opportunistic TLS whatever DANE, MTA-STS or the
 * local policy say, even when they cannot be read; a host without an
 * address is still skipped, a bogus MX still defers and a null MX still
 * bounces.
 */
static void
test_report_submission(void **state)
{
	static const struct row deliver[] = {
		{ "dane + enforce + dane-only + bogus TLSA + no address", OK,
		  S, 0, { H_DANE("mx1.a.example"), H_TBOGUS("mx2.a.example"),
		  H_NOADDR("mx3.a.example") }, STS_ENFORCE, "other.example",
		  DANEONLY, DEL, "", NULL, R(REPORT), { { 0 } } },
		{ "failed TLSA, MTA-STS unknown", OK, S, 0,
		  { H_TFAIL("mx1.a.example") }, STS_UNAVAILABLE, NULL, NOLOCAL,
		  DEL, "", NULL, R(REPORT), { { 0 } } },
	};
	static const struct row bogus = { "bogus MX", OK, B, 0,
	    { H_DANE("mx.a.example") }, STS_NONE, NULL, NOLOCAL, DEFER, "",
	    NULL, R(DNS), { { 0 } } };
	static const struct row nullmx = { "null MX", OK, S, 1, { { 0 } },
	    STS_NONE, NULL, NOLOCAL, BOUNCE, "", NULL, R(DNS), { { 0 } } };
	struct tg_policy_decision *out = calloc(1, sizeof(*out));
	struct built *b = calloc(1, sizeof(*b));
	size_t k, i;

	(void)state;
	assert_non_null(out);
	assert_non_null(b);
	for (k = 0; k < sizeof(deliver) / sizeof(deliver[0]); k++) {
		print_message("# report: %s\n", deliver[k].what);
		build(&deliver[k], b);
		b->in.report_submission = 1;
		b->in.local_unavailable = k == 1;
		tg_policy_decide(&b->in, out, NULL);
		assert_int_equal(out->verdict, TG_POLICY_DELIVER);
		assert_int_equal(out->rule, TG_POLICY_RULE_REPORT);
		for (i = 0; i < b->in.nhosts; i++) {
			const struct tg_policy_host_decision *d =
			    &out->hosts[i];

			if (b->hosts[i].addr_status != TG_DNS_OK) {
				assert_int_equal(d->action, TG_POLICY_SKIP);
				continue;
			}
			assert_int_equal(d->action, TG_POLICY_TRY);
			assert_int_equal(d->rule, TG_POLICY_RULE_REPORT);
			assert_int_equal(d->tls, TG_POLICY_TLS_MAY);
			assert_int_equal(d->mode, TG_TLS_OPPORTUNISTIC);
			assert_false(d->authenticated);
		}
		/* Without the marker the same input is never opportunistic. */
		b->in.report_submission = 0;
		tg_policy_decide(&b->in, out, NULL);
		assert_true(out->verdict != TG_POLICY_DELIVER ||
		    out->hosts[0].mode == TG_TLS_DANE);
	}
	build(&bogus, b);
	b->in.report_submission = 1;
	tg_policy_decide(&b->in, out, NULL);
	assert_int_equal(out->verdict, TG_POLICY_DEFER);
	build(&nullmx, b);
	b->in.report_submission = 1;
	tg_policy_decide(&b->in, out, NULL);
	assert_int_equal(out->verdict, TG_POLICY_BOUNCE);
	assert_string_equal(tg_policy_rule_name(TG_POLICY_RULE_REPORT),
	    "report-submission");
	free(b);
	free(out);
}

/*
 * A route (mxd's hosted domains): whatever DANE, MTA-STS and the local
 * policy would say, the host is tried with the route's TLS requirement,
 * unauthenticated; MTA-STS or the local policy unreadable does not
 * matter; a host without an address is still skipped.
 */
static void
test_route(void **state)
{
	static const struct row r = { "dane + enforce + dane-only", OK, X, 0,
	    { H_DANE("mail.inside.example") }, STS_UNAVAILABLE,
	    "other.example", DANEONLY, DEL, "", NULL, R(ROUTE), { { 0 } } };
	static const struct row noaddr = { "no address", OK, X, 0,
	    { H_NOADDR("mail.inside.example") }, STS_NONE, NULL, NOLOCAL,
	    DEFER, "", NULL, R(DNS), { { 0 } } };
	struct tg_policy_decision *out = calloc(1, sizeof(*out));
	struct built *b = calloc(1, sizeof(*b));
	int tls;

	(void)state;
	assert_non_null(out);
	assert_non_null(b);
	for (tls = 0; tls <= 1; tls++) {
		build(&r, b);
		b->in.route = 1;
		b->in.route_tls = tls;
		b->in.local_unavailable = 1;
		tg_policy_decide(&b->in, out, NULL);
		assert_int_equal(out->verdict, TG_POLICY_DELIVER);
		assert_int_equal(out->rule, TG_POLICY_RULE_ROUTE);
		assert_int_equal(out->hosts[0].action, TG_POLICY_TRY);
		assert_int_equal(out->hosts[0].tls, tls ?
		    TG_POLICY_TLS_REQUIRE : TG_POLICY_TLS_MAY);
		assert_int_equal(out->hosts[0].mode, TG_TLS_OPPORTUNISTIC);
		assert_false(out->hosts[0].authenticated);
	}
	build(&noaddr, b);
	b->in.route = 1;
	tg_policy_decide(&b->in, out, NULL);
	assert_int_equal(out->verdict, TG_POLICY_DEFER);
	assert_int_equal(out->hosts[0].action, TG_POLICY_SKIP);
	assert_string_equal(tg_policy_rule_name(TG_POLICY_RULE_ROUTE),
	    "route");
	free(b);
	free(out);
}

/* More MX hosts than TG_POLICY_MX_MAX: the rest are not considered. */
static void
test_mx_limit(void **state)
{
	struct tg_policy_decision *out = calloc(1, sizeof(*out));
	struct built *b = calloc(1, sizeof(*b));
	char names[TG_POLICY_MX_MAX + 2][32];
	size_t i;

	(void)state;
	b->in.domain = "a.example";
	b->in.mx_status = TG_DNS_OK;
	b->in.mx_security = TG_DNS_SECURE;
	for (i = 0; i < TG_POLICY_MX_MAX + 2; i++) {
		snprintf(names[i], sizeof(names[i]), "mx%zu.a.example", i);
		b->hosts[i].name = names[i];
		b->hosts[i].addr_status = i < TG_POLICY_MX_MAX ? TG_DNS_NODATA :
		    TG_DNS_OK;
		b->hosts[i].addr_security = TG_DNS_INSECURE;
	}
	b->in.hosts = b->hosts;
	b->in.nhosts = TG_POLICY_MX_MAX + 2;
	tg_policy_decide(&b->in, out, NULL);
	assert_int_equal(out->nhosts, TG_POLICY_MX_MAX);
	assert_int_equal(out->verdict, TG_POLICY_DEFER);
	free(b);
	free(out);
}

/* ---- never downgrade: every combination of one host's inputs ----------- */

static void
sweep_check(const struct tg_policy_input *in,
    const struct tg_policy_decision *o)
{
	const struct tg_policy_host *h = &in->hosts[0];
	const struct tg_policy_host_decision *d = &o->hosts[0];
	int usable = h->addr_security == TG_DNS_SECURE && h->tlsa_looked_up &&
	    h->tlsa_status == TG_DNS_OK && h->tlsa_security == TG_DNS_SECURE &&
	    tg_tlsa_count_usable(h->tlsa, h->tlsa_n) > 0;
	int tlsa_broken = h->addr_security == TG_DNS_SECURE &&
	    h->tlsa_looked_up && (h->tlsa_security == TG_DNS_BOGUS ||
	    h->tlsa_status == TG_DNS_TEMPFAIL || (h->tlsa_status ==
	    TG_DNS_OK && h->tlsa_security == TG_DNS_SECURE &&
	    h->tlsa_n == 0));

	if (in->mx_security == TG_DNS_BOGUS ||
	    in->mx_status == TG_DNS_TEMPFAIL ||
	    in->sts.state == TG_POLICY_STS_UNAVAILABLE) {
		assert_int_equal(o->verdict, TG_POLICY_DEFER);
		return;
	}
	assert_int_not_equal(o->verdict, TG_POLICY_BOUNCE);
	assert_int_equal(o->verdict == TG_POLICY_DELIVER,
	    d->action == TG_POLICY_TRY);
	if (usable && d->action == TG_POLICY_TRY)
		assert_true(d->tls == TG_POLICY_TLS_REQUIRE &&
		    d->mode == TG_TLS_DANE && !d->report_only);
	if (usable && h->addr_status == TG_DNS_OK)
		assert_int_equal(d->action, TG_POLICY_TRY);
	if (tlsa_broken)
		assert_int_equal(d->action, TG_POLICY_SKIP);
	if (in->has_local && in->local == TG_STORE_DEST_DANE_ONLY)
		assert_int_equal(d->action == TG_POLICY_TRY,
		    usable && h->addr_status == TG_DNS_OK);
	if (in->has_local && in->local == TG_STORE_DEST_ENCRYPT &&
	    d->action == TG_POLICY_TRY)
		assert_int_equal(d->tls, TG_POLICY_TLS_REQUIRE);
	if (o->verdict == TG_POLICY_DEFER)
		assert_true(o->status[0] == '4');
}

static void
test_sweep(void **state)
{
	static const int sts[] = { STS_NONE, STS_ENFORCE, STS_TESTING,
	    STS_MODE_NONE, STS_FAILED, STS_UNAVAILABLE };
	static const char *const tl[] = { NULL, EE, PKIXEE, EE ";" PKIXEE };
	static const char *const mxp[] = { "mx.a.example", "other.example" };
	struct tg_policy_decision *out = calloc(1, sizeof(*out));
	struct built *b = calloc(1, sizeof(*b));
	struct row r;
	int mxs, mxsec, ast, asec, lu, tst, tsec, t, s, m, loc;
	unsigned n = 0;

	(void)state;
	tg_log_open("test_policy", TG_LOG_NONE, TG_LOG_ERR);
	for (mxs = 0; mxs < 4; mxs++) for (mxsec = 0; mxsec < 4; mxsec++)
	for (ast = 0; ast < 4; ast++) for (asec = 0; asec < 4; asec++)
	for (lu = 0; lu < 2; lu++) for (tst = 0; tst < 4; tst++)
	for (tsec = 0; tsec < 4; tsec++) for (t = 0; t < 4; t++)
	for (s = 0; s < 6; s++) for (m = 0; m < 2; m++)
	for (loc = -1; loc < 3; loc++) {
		/* NXDOMAIN bounces with no host involved; without a TLSA
		 * lookup its answer fields do not matter. */
		if (mxs == NX || (!lu && (tst + tsec + t) > 0))
			continue;
		memset(&r, 0, sizeof(r));
		r.mx_st = mxs;
		r.mx_sec = mxsec;
		r.h[0] = (struct hspec){ "mx.a.example", ast, asec, lu, tst,
		    tsec, tl[t], NULL };
		r.sts = sts[s];
		r.sts_mx = mxp[m];
		r.local = loc;
		build(&r, b);
		tg_policy_decide(&b->in, out, NULL);
		sweep_check(&b->in, out);
		n++;
	}
	tg_log_open("test_policy", TG_LOG_STDERR, TG_LOG_INFO);
	print_message("# %u combinations checked\n", n);
	free(b);
	free(out);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(tg_policy_rule_name(TG_POLICY_RULE_DANE), "dane");
	assert_string_equal(tg_policy_rule_name(TG_POLICY_RULE_STS), "mta-sts");
	assert_string_equal(tg_policy_verdict_name(TG_POLICY_DEFER), "defer");
	assert_string_equal(tg_policy_verdict_name(TG_POLICY_BOUNCE), "bounce");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_requiretls_hop),
		cmocka_unit_test(test_verify_dane_names),
		cmocka_unit_test(test_verify_pkix),
		cmocka_unit_test(test_mx_limit),
		cmocka_unit_test(test_local_unavailable),
		cmocka_unit_test(test_report_submission),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_names),
	};

	tg_log_open("test_policy", TG_LOG_STDERR, TG_LOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
