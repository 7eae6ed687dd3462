/*
 * Unit tests of rpt/report: every fixture in tests/fixtures/tlsrpt/
 * (table: ok with key figures, or the error substring), generated abuse
 * (oversize, deep nesting, bomb), generation round trips and refusals,
 * file names, timestamps (RFC 8460 §4, §5.1; RELIABILITY ).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpt/gzip.h"
#include "rpt/report.h"
#include "util/limits.h"

#define MAY_1	1714521600L	/* 2024-05-01T00:00:00Z */
#define DAY	86400L

#define F_UNK	TG_REPORT_F_UNKNOWN_RESULT
#define F_NOC	TG_REPORT_F_NO_CONTACT
#define F_LOC	TG_REPORT_F_LOCAL_TIME
#define F_MXS	TG_REPORT_F_MX_HOST_STRING

struct fx_case {
	const char *file;
	const char *error;	/* NULL: must parse; else substring */
	const char *org;
	size_t policies;
	uint64_t success, failure;	/* summed over policies */
	size_t details;			/* failure-details over policies */
	uint64_t detail_sessions;	/* failed-session-count summed */
	long start, end;
	unsigned flags;
};

static const struct fx_case fx_cases[] = {
	{ "rfc8460-example.json", NULL, "Sender Example Corp", 1, 4210, 187,
	    3, 187, MAY_1, MAY_1 + DAY - 1, 0 },
	{ "google-like.json", NULL, "Large Webmail Inc.", 3, 92999, 37, 3, 37,
	    MAY_1, MAY_1 + DAY - 1, F_MXS },
	{ "google-like.json.gz", NULL, "Large Webmail Inc.", 3, 92999, 37, 3,
	    37, MAY_1, MAY_1 + DAY - 1, F_MXS },
	{ "microsoft-like.json", NULL, "Big Cloud Mail Service", 1, 12883, 12,
	    2, 12, MAY_1, MAY_1 + DAY, F_NOC | F_LOC },
	{ "ok-variants.json", NULL, "Small MTA", 1, 0, 9007199254740992ULL,
	    2, 4, MAY_1 - 7200, MAY_1 + DAY - 7200, F_UNK | F_NOC },
	{ "ok-depth-at-limit.json", NULL, "X", 0, 0, 0, 0, 0, MAY_1,
	    MAY_1 + DAY - 1, F_NOC },
	{ "bad-wrong-type-count.json", "policies[1].summary."
	    "total-failure-session-count: not an integer", NULL, 0, 0, 0, 0, 0,
	    0, 0, 0 },
	{ "bad-float-count.json", "policies[0].summary."
	    "total-successful-session-count: not an integer", NULL, 0, 0, 0,
	    0, 0, 0, 0, 0 },
	{ "bad-missing-report-id.json", "report-id: missing", NULL, 0, 0, 0,
	    0, 0, 0, 0, 0 },
	{ "bad-missing-org.json", "organization-name: missing", NULL, 0, 0,
	    0, 0, 0, 0, 0, 0 },
	{ "bad-missing-policy-domain.json",
	    "policies[0].policy.policy-domain: missing", NULL, 0, 0, 0, 0, 0,
	    0, 0, 0 },
	{ "bad-missing-summary.json", "policies[0].summary: missing", NULL, 0,
	    0, 0, 0, 0, 0, 0, 0 },
	{ "bad-negative-count.json", "policies[1].failure-details[0]."
	    "failed-session-count: negative", NULL, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "bad-count-above-2p53.json", "total-successful-session-count: "
	    "above 2^53", NULL, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "bad-huge-number.json", "JSON:", NULL, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "bad-nul-in-string.json", "JSON_ALLOW_NUL", NULL, 0, 0, 0, 0, 0, 0,
	    0, 0 },
	{ "bad-duplicate-key.json", "duplicate", NULL, 0, 0, 0, 0, 0, 0, 0,
	    0 },
	{ "bad-policies-object.json", "policies: not an array", NULL, 0, 0,
	    0, 0, 0, 0, 0, 0 },
	{ "bad-policy-type.json", "policies[0].policy.policy-type: unknown "
	    "policy type 'dane'", NULL, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "bad-policy-string-type.json",
	    "policies[0].policy.policy-string[1]: not a string", NULL, 0, 0,
	    0, 0, 0, 0, 0, 0 },
	{ "bad-mx-host-number.json", "policies[0].policy.mx-host: not an "
	    "array of strings", NULL, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "bad-policy-domain.json", "policies[0].policy.policy-domain:", NULL,
	    0, 0, 0, 0, 0, 0, 0, 0 },
	{ "bad-date-order.json", "date-range: end-datetime is before", NULL,
	    0, 0, 0, 0, 0, 0, 0, 0 },
	{ "bad-date-format.json", "date-range.start-datetime: '2024/05/01 "
	    "00:00' is not an RFC 3339", NULL, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "bad-date-invalid-day.json", "start-datetime: '2024-02-30", NULL, 0,
	    0, 0, 0, 0, 0, 0, 0 },
	{ "bad-trailing-garbage.json", "JSON:", NULL, 0, 0, 0, 0, 0, 0, 0,
	    0 },
	{ "bad-lone-surrogate.json", "JSON:", NULL, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "bad-invalid-utf8.json", "JSON:", NULL, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "bad-top-array.json", "not a JSON object", NULL, 0, 0, 0, 0, 0, 0,
	    0, 0 },
	{ "bad-deep-nesting.json", "nested deeper than 16", NULL, 0, 0, 0, 0,
	    0, 0, 0, 0 },
	{ "bad-truncated.json.gz", "truncated", NULL, 0, 0, 0, 0, 0, 0, 0,
	    0 },
	{ "bad-two-members.json.gz", "second gzip member", NULL, 0, 0, 0, 0,
	    0, 0, 0, 0 },
	{ "bad-gzip-in-gzip.json.gz", "only one compression layer", NULL, 0,
	    0, 0, 0, 0, 0, 0, 0 },
	{ "bad-crc.json.gz", "CRC-32", NULL, 0, 0, 0, 0, 0, 0, 0, 0 },
};

/* Read a fixture (at most 1 MiB) into a fresh buffer. */
static struct tg_buf
fx_read(const char *name)
{
	const char *dir = getenv("TG_FIXTURES");
	char path[512], chunk[4096];
	struct tg_buf b;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s",
	    dir != NULL ? dir : "tests/fixtures/tlsrpt", name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open fixture %s (run from the source tree "
		    "or set TG_FIXTURES)", path);
	tg_buf_init(&b, 1024 * 1024);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(tg_buf_append(&b, chunk, n), 0);
	fclose(f);
	return b;
}

/* A .gz fixture is inflated first, as the collector does. */
static int
fx_load(const struct fx_case *c, struct tg_report **r, struct tg_err *err)
{
	struct tg_buf raw = fx_read(c->file), json;
	size_t n = strlen(c->file);
	int rc;

	tg_buf_init(&json, 0);
	if (n > 3 && strcmp(c->file + n - 3, ".gz") == 0) {
		rc = tg_gzip_inflate(raw.data, raw.len, 0, 0, &json, err);
		if (rc == 0)
			rc = tg_report_parse(json.data, json.len, r, err);
	} else {
		rc = tg_report_parse(raw.data, raw.len, r, err);
	}
	tg_buf_free(&raw);
	tg_buf_free(&json);
	return rc;
}

static void
fx_check_ok(const struct fx_case *c, const struct tg_report *r)
{
	uint64_t s = 0, f = 0, ds = 0;
	size_t i, j, d = 0;

	assert_string_equal(r->org_name, c->org);
	assert_int_equal(r->n_policies, c->policies);
	for (i = 0; i < r->n_policies; i++) {
		s += r->policies[i].success_count;
		f += r->policies[i].failure_count;
		d += r->policies[i].n_failures;
		for (j = 0; j < r->policies[i].n_failures; j++)
			ds += r->policies[i].failures[j].failed_session_count;
	}
	assert_int_equal(s, c->success);
	assert_int_equal(f, c->failure);
	assert_int_equal(d, c->details);
	assert_int_equal(ds, c->detail_sessions);
	assert_int_equal((long)r->start, c->start);
	assert_int_equal((long)r->end, c->end);
	assert_int_equal(r->flags, c->flags);
}

static void
test_fixtures(void **state)
{
	struct tg_report *r;
	struct tg_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fx_cases) / sizeof(fx_cases[0]); i++) {
		const struct fx_case *c = &fx_cases[i];
		int rc = fx_load(c, &r, &err);
		if (c->error == NULL) {
			if (rc != 0)
				fail_msg("%s: %s", c->file, err.msg);
			fx_check_ok(c, r);
			tg_report_free(r);
		} else if (rc == 0) {
			tg_report_free(r);
			fail_msg("%s: parsed, expected '%s'", c->file,
			    c->error);
		} else if (strstr(err.msg, c->error) == NULL) {
			fail_msg("%s: error '%s' lacks '%s'", c->file, err.msg,
			    c->error);
		} else {
			assert_null(r);
		}
	}
}

/* The details a collector keeps, from the hand-written fixtures. */
static void
test_fixture_details(void **state)
{
	struct tg_report *r;
	struct tg_err err;
	const struct tg_report_policy *p;
	const struct tg_report_failure *f;
	struct fx_case ms = { .file = "microsoft-like.json" };
	struct fx_case gl = { .file = "google-like.json.gz" };
	struct fx_case ov = { .file = "ok-variants.json" };

	(void)state;
	assert_int_equal(fx_load(&ms, &r, &err), 0);
	p = &r->policies[0];
	assert_null(r->contact_info);
	assert_int_equal(p->n_mx_hosts, 2);
	assert_string_equal(p->mx_hosts[1], "mail2.receiver.example");
	f = &p->failures[0];
	assert_int_equal(f->result, TG_RR_CERTIFICATE_HOST_MISMATCH);
	assert_null(f->sending_mta_ip);
	assert_string_equal(f->receiving_ip, "203.0.113.25");
	assert_non_null(strstr(f->failure_reason_code, "presented:"));
	tg_report_free(r);

	assert_int_equal(fx_load(&gl, &r, &err), 0);
	assert_int_equal(r->policies[0].type, TG_REPORT_POLICY_STS);
	assert_int_equal(r->policies[0].n_mx_hosts, 1);
	assert_string_equal(r->policies[0].mx_hosts[0], "mx1.receiver.example");
	assert_int_equal(r->policies[0].failures[0].result,
	    TG_RR_STS_WEBPKI_INVALID);
	p = &r->policies[1];
	assert_int_equal(p->type, TG_REPORT_POLICY_TLSA);
	assert_int_equal(p->n_strings, 2);
	assert_int_equal(strncmp(p->strings[0], "3 1 1 0c72ac", 12), 0);
	assert_string_equal(p->failures[0].sending_mta_ip,
	    "2607:f8b0:4864:20::b2e");
	p = &r->policies[2];
	assert_int_equal(p->type, TG_REPORT_POLICY_NONE);
	assert_string_equal(p->domain, "plain.receiver.example");
	assert_int_equal(p->n_strings, 0);
	assert_int_equal(p->n_failures, 0);
	tg_report_free(r);

	assert_int_equal(fx_load(&ov, &r, &err), 0);
	p = &r->policies[0];
	assert_string_equal(p->domain, "mx.receiver.example");	/* normalised */
	assert_int_equal(p->n_mx_hosts, 0);			/* null */
	assert_int_equal(p->failures[0].result, TG_RR_UNKNOWN);
	assert_string_equal(p->failures[0].result_type, "certificate-revoked");
	assert_string_equal(p->failures[0].additional_information,
	    "https://small.example/why");
	assert_int_equal(p->failures[1].result, TG_RR_DANE_REQUIRED);
	assert_null(p->failures[1].sending_mta_ip);
	assert_string_equal(p->failures[1].receiving_mx_helo,
	    "mx.receiver.example");
	tg_report_free(r);
}

/*
 * Deterministic mutations of the good fixtures (flipped bytes, cuts,
 * inserted brackets and quotes): the parser must answer 0 or -1, never
 * crash, leak or read out of bounds (checked under ASan).
 */
static void
test_mutations(void **state)
{
	static const char *const files[] = { "rfc8460-example.json",
	    "google-like.json", "microsoft-like.json", "ok-variants.json" };
	static const char inserts[] = "[{\"\\}]:,0-";
	unsigned long seed = 12345;
	struct tg_report *r;
	struct tg_err err;
	size_t f, i, n, pos;

	(void)state;
	for (f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct tg_buf orig = fx_read(files[f]), mut;
		tg_buf_init(&mut, 1 << 20);
		for (i = 0; i < 3000; i++) {
			tg_buf_reset(&mut);
			assert_int_equal(tg_buf_append(&mut, orig.data,
			    orig.len), 0);
			seed = seed * 6364136223846793005UL +
			    1442695040888963407UL;
			pos = (size_t)(seed >> 33) % mut.len;
			n = mut.len;
			switch ((seed >> 20) % 3) {
			case 0:
				mut.data[pos] ^= (char)(1u << (seed >> 8) % 8);
				break;
			case 1:
				n = pos;
				break;
			default:
				mut.data[pos] = inserts[(seed >> 8) %
				    (sizeof(inserts) - 1)];
				break;
			}
			if (tg_report_parse(mut.data, n, &r, &err) == 0)
				tg_report_free(r);
			else
				assert_null(r);
		}
		tg_buf_free(&mut);
		tg_buf_free(&orig);
	}
}

static const char minimal[] =
    "{\"organization-name\":\"X\",\"date-range\":{\"start-datetime\":"
    "\"2024-05-01T00:00:00Z\",\"end-datetime\":\"2024-05-01T23:59:59Z\"},"
    "\"report-id\":\"1\",\"policies\":[]}";

static void
expect_parse_error(const char *p, size_t n, const char *substr)
{
	struct tg_report *r = (struct tg_report *)1;
	struct tg_err err;

	assert_int_equal(tg_report_parse(p, n, &r, &err), -1);
	assert_null(r);
	if (strstr(err.msg, substr) == NULL)
		fail_msg("error '%s' lacks '%s'", err.msg, substr);
}

/* Oversized body: refused before parsing, whatever it contains. */
static void
test_oversized(void **state)
{
	size_t n = TG_RPT_JSON_MAX + 1;
	char *big = malloc(n);
	struct tg_report *r;
	struct tg_err err;

	(void)state;
	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, minimal, strlen(minimal));
	expect_parse_error(big, n, "exceeds the limit");
	/* One byte less, the same text parses: the cap is the only cause. */
	assert_int_equal(tg_report_parse(big, n - 1, &r, &err), 0);
	tg_report_free(r);
	free(big);
}

/* 100 000 levels would overflow a recursive parser's stack. */
static void
test_deep_nesting_generated(void **state)
{
	size_t depth = 100000, n = 2 * depth;
	char *p = malloc(n);

	(void)state;
	assert_non_null(p);
	memset(p, '[', depth);
	memset(p + depth, ']', depth);
	expect_parse_error(p, n, "nested deeper");
	memset(p, '{', depth);	/* unbalanced, still refused on depth */
	expect_parse_error(p, depth, "nested deeper");
	free(p);
}

/* Brackets inside strings do not count towards the depth. */
static void
test_depth_strings_aware(void **state)
{
	struct tg_buf b;
	struct tg_report *r;
	struct tg_err err;
	size_t i;

	(void)state;
	tg_buf_init(&b, 1 << 20);
	assert_int_equal(tg_buf_puts(&b, "{\"x\":\""), 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(tg_buf_puts(&b, "[{\\\""), 0);
	assert_int_equal(tg_buf_puts(&b, "\"}"), 0);
	assert_int_equal(tg_report_parse(b.data, b.len, &r, &err), -1);
	/* Parsed as JSON (depth fine); fails on the schema instead. */
	assert_non_null(strstr(err.msg, "organization-name: missing"));
	tg_buf_free(&b);
}

/* A 10 MiB bomb through the path a collector takes. */
static void
test_bomb(void **state)
{
	size_t n = 10 * 1024 * 1024;
	char *zeros = calloc(1, n);
	struct tg_buf c, out;
	struct tg_err err;

	(void)state;
	assert_non_null(zeros);
	tg_buf_init(&c, 0);
	assert_int_equal(tg_gzip_deflate(zeros, n, n, &c, &err), 0);
	free(zeros);
	assert_true(c.len < 16 * 1024);
	tg_buf_init(&out, 0);
	assert_int_equal(tg_gzip_inflate(c.data, c.len, TG_RPT_JSON_MAX,
	    TG_RPT_GZIP_RATIO_MAX, &out, &err), -1);
	assert_int_equal(out.len, 0);
	tg_buf_free(&c);
	tg_buf_free(&out);
}

struct time_case {
	const char *s;
	long t;		/* -1: invalid */
	int local;
};

static const struct time_case time_cases[] = {
	{ "2024-05-01T00:00:00Z", MAY_1, 0 },
	{ "2024-05-01T23:59:59Z", MAY_1 + DAY - 1, 0 },
	{ "2024-05-02T00:00:00Z", MAY_1 + DAY, 0 },
	{ "2024-05-01T00:00:00", MAY_1, 1 },
	{ "2024-05-01t00:00:00z", MAY_1, 0 },
	{ "2024-05-01 00:00:00Z", MAY_1, 0 },
	{ "2024-05-01T00:00:00.123456Z", MAY_1, 0 },
	{ "2024-05-01T02:00:00+02:00", MAY_1, 0 },
	{ "2024-04-30T19:00:00-05:00", MAY_1, 0 },
	{ "2024-02-29T00:00:00Z", 1709164800L, 0 },
	{ "2023-02-29T00:00:00Z", -1, 0 },
	{ "2024-13-01T00:00:00Z", -1, 0 },
	{ "2024-05-01T24:00:00Z", -1, 0 },
	{ "2024-05-01T00:60:00Z", -1, 0 },
	{ "2024-05-01T00:00:00.Z", -1, 0 },
	{ "2024-05-01T00:00:00+2:00", -1, 0 },
	{ "2024-05-01T00:00:00Zjunk", -1, 0 },
	{ "2024-05-01", -1, 0 },
	{ "1714521600", -1, 0 },
	{ "", -1, 0 },
};

static void
test_parse_time(void **state)
{
	time_t t;
	int local;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(time_cases) / sizeof(time_cases[0]); i++) {
		const struct time_case *c = &time_cases[i];
		int rc = tg_report_parse_time(c->s, &t, &local);
		if (c->t == -1) {
			if (rc != -1)
				fail_msg("'%s' should be invalid", c->s);
			continue;
		}
		if (rc != 0)
			fail_msg("'%s' should parse", c->s);
		if ((long)t != c->t || local != c->local)
			fail_msg("'%s': %ld/%d, expected %ld/%d", c->s,
			    (long)t, local, c->t, c->local);
	}
}

static void
test_result_names(void **state)
{
	static const char *const names[] = {
		"starttls-not-supported", "certificate-host-mismatch",
		"certificate-expired", "certificate-not-trusted",
		"validation-failure", "tlsa-invalid", "dnssec-invalid",
		"dane-required", "sts-policy-fetch-error",
		"sts-policy-invalid", "sts-webpki-invalid",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		enum tg_report_result r = tg_report_result_from_name(names[i]);
		assert_int_not_equal(r, TG_RR_UNKNOWN);
		assert_string_equal(tg_report_result_name(r), names[i]);
	}
	assert_int_equal(tg_report_result_from_name("Certificate-Expired"),
	    TG_RR_UNKNOWN);
	assert_int_equal(tg_report_result_from_name("certificate-revoked"),
	    TG_RR_UNKNOWN);
	assert_int_equal(tg_report_result_from_name(NULL), TG_RR_UNKNOWN);
	assert_null(tg_report_result_name(TG_RR_UNKNOWN));
	assert_string_equal(tg_report_policy_type_name(TG_REPORT_POLICY_NONE),
	    "no-policy-found");
}

/* Our own report: build, generate, parse back, compare. */
static struct tg_report *
build_sample(void)
{
	static const char *const mx[] = { "mx1.dest.example",
	    "*.backup.dest.example" };
	struct tg_report_failure f = { 0 };
	struct tg_report_policy *p;
	struct tg_tlsa_rr rr = { 3, 1, 1, { 0 }, 32 };
	struct tg_report *r;
	struct tg_err err;
	size_t i;

	for (i = 0; i < 32; i++)
		rr.data[i] = (uint8_t)(0xa0 + i);
	r = tg_report_new("tlsgate example", "2024-05-01.dest.example.1",
	    "mailto:tlsrpt@gw.example", MAY_1, MAY_1 + DAY - 1);
	assert_non_null(r);
	p = tg_report_add_policy(r, TG_REPORT_POLICY_STS, "Dest.Example",
	    &err);
	assert_non_null(p);
	assert_int_equal(tg_report_policy_add_sts(p, "enforce", 604800, mx, 2,
	    &err), 0);
	assert_int_equal(tg_report_policy_add_mx(p, "mx1.dest.example", &err),
	    0);
	p->success_count = 10;
	p->failure_count = 2;
	f.result = TG_RR_STS_WEBPKI_INVALID;
	f.receiving_mx_hostname = "mx1.dest.example";
	f.receiving_ip = "192.0.2.1";
	f.failed_session_count = 2;
	f.failure_reason_code = "X509_V_ERR_HOSTNAME_MISMATCH";
	assert_int_equal(tg_report_policy_add_failure(p, &f, &err), 0);
	p = tg_report_add_policy(r, TG_REPORT_POLICY_TLSA, "mx.dane.example",
	    &err);
	assert_non_null(p);
	assert_int_equal(tg_report_policy_add_tlsa(p, &rr, &err), 0);
	p->success_count = TG_REPORT_COUNT_MAX;
	p = tg_report_add_policy(r, TG_REPORT_POLICY_NONE, "plain.example",
	    &err);
	assert_non_null(p);
	p->success_count = 1;
	return r;
}

static void
test_generate_roundtrip(void **state)
{
	struct tg_report *r = build_sample(), *back;
	struct tg_buf js;
	struct tg_err err;
	const struct tg_report_policy *p;

	(void)state;
	tg_buf_init(&js, TG_RPT_JSON_MAX);
	if (tg_report_to_json(r, &js, &err) != 0)
		fail_msg("to_json: %s", err.msg);
	/* RFC 8460 §4: policies is an array; counts are integers. */
	assert_non_null(strstr(js.data, "\"policies\":[{"));
	assert_non_null(strstr(js.data, "\"total-failure-session-count\":2"));
	assert_non_null(strstr(js.data,
	    "\"start-datetime\":\"2024-05-01T00:00:00Z\""));
	assert_non_null(strstr(js.data, "\"mx: *.backup.dest.example\""));
	assert_null(strstr(js.data, "sending-mta-ip"));	/* left out */
	if (tg_report_parse(js.data, js.len, &back, &err) != 0)
		fail_msg("parse back: %s\n%s", err.msg, js.data);
	assert_string_equal(back->org_name, "tlsgate example");
	assert_string_equal(back->contact_info, "mailto:tlsrpt@gw.example");
	assert_int_equal(back->start, MAY_1);
	assert_int_equal(back->end, MAY_1 + DAY - 1);
	assert_int_equal(back->n_policies, 3);
	assert_int_equal(back->flags, 0);
	p = &back->policies[0];
	assert_string_equal(p->domain, "dest.example");
	assert_int_equal(p->n_strings, 5);
	assert_string_equal(p->strings[0], "version: STSv1");
	assert_string_equal(p->strings[1], "mode: enforce");
	assert_string_equal(p->strings[2], "mx: mx1.dest.example");
	assert_string_equal(p->strings[4], "max_age: 604800");
	assert_int_equal(p->failures[0].result, TG_RR_STS_WEBPKI_INVALID);
	assert_string_equal(p->failures[0].receiving_ip, "192.0.2.1");
	p = &back->policies[1];
	assert_string_equal(p->strings[0], "3 1 1 a0a1a2a3a4a5a6a7a8a9aaabac"
	    "adaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
	assert_int_equal(p->success_count, TG_REPORT_COUNT_MAX);
	assert_int_equal(back->policies[2].type, TG_REPORT_POLICY_NONE);
	assert_string_equal(back->policies[2].domain, "plain.example");
	tg_report_free(back);
	tg_report_free(r);
	tg_buf_free(&js);
}

static void
expect_gen_error(struct tg_report *r, const char *substr)
{
	struct tg_buf js;
	struct tg_err err;

	tg_buf_init(&js, TG_RPT_JSON_MAX);
	assert_int_equal(tg_report_to_json(r, &js, &err), -1);
	if (strstr(err.msg, substr) == NULL)
		fail_msg("error '%s' lacks '%s'", err.msg, substr);
	tg_buf_free(&js);
}

static void
test_generate_refusals(void **state)
{
	struct tg_report_failure f = { .result = TG_RR_UNKNOWN };
	struct tg_report *r = build_sample();
	struct tg_report_policy *p;
	struct tg_err err;

	(void)state;
	/* Only §4.3 result types, counts ≤ 2^53, policy-type known. */
	assert_int_equal(tg_report_policy_add_failure(&r->policies[0], &f,
	    &err), -1);
	assert_non_null(strstr(err.msg, "§4.3"));
	f.result = TG_RR_DANE_REQUIRED;
	f.failed_session_count = TG_REPORT_COUNT_MAX + 1;
	assert_int_equal(tg_report_policy_add_failure(&r->policies[0], &f,
	    &err), -1);
	assert_null(tg_report_add_policy(r, (enum tg_report_policy_type)9,
	    "a.example", &err));
	assert_null(tg_report_add_policy(r, TG_REPORT_POLICY_STS, "bad_name",
	    &err));
	assert_int_equal(tg_report_policy_add_sts(&r->policies[0], "strict",
	    1, NULL, 0, &err), -1);
	assert_int_equal(tg_report_policy_add_string(&r->policies[0],
	    "a\r\nb", &err), -1);
	/* A result type set behind the builder's back is still refused. */
	r->policies[0].failures[0].result = TG_RR_UNKNOWN;
	expect_gen_error(r, "policies[0].failure-details[0]");
	r->policies[0].failures[0].result = TG_RR_TLSA_INVALID;
	r->policies[0].failure_count = TG_REPORT_COUNT_MAX + 1;
	expect_gen_error(r, "above 2^53");
	r->policies[0].failure_count = 0;
	/* TLSA policy-string must be "u s m hex". */
	p = &r->policies[1];
	assert_int_equal(tg_report_policy_add_string(p, "3 1 1 ABCD", &err),
	    0);
	expect_gen_error(r, "policies[1].policy.policy-string[1]");
	free(p->strings[1]);
	p->n_strings = 1;
	/* no-policy-found carries no policy-string. */
	assert_int_equal(tg_report_policy_add_string(&r->policies[2], "x",
	    &err), 0);
	expect_gen_error(r, "no-policy-found");
	free(r->policies[2].strings[0]);
	r->policies[2].n_strings = 0;
	/* contact-info is required in our reports. */
	free(r->contact_info);
	r->contact_info = NULL;
	expect_gen_error(r, "contact-info");
	tg_report_free(r);
}

/* The output limit of the caller's buffer is respected. */
static void
test_generate_limit(void **state)
{
	struct tg_report *r = build_sample();
	struct tg_buf js;
	struct tg_err err;

	(void)state;
	tg_buf_init(&js, 100);
	assert_int_equal(tg_report_to_json(r, &js, &err), -1);
	assert_non_null(strstr(err.msg, "exceeds"));
	assert_int_equal(js.len, 0);
	tg_buf_free(&js);
	tg_report_free(r);
}

static void
test_filename(void **state)
{
	char out[600];
	struct tg_err err;

	(void)state;
	/* RFC 8460 §5.1 example shape. */
	assert_int_equal(tg_report_filename("mail.sender.example",
	    "recipient.example", 1470013207, 1470186007, "001", 1, out,
	    sizeof(out), &err), 0);
	assert_string_equal(out, "mail.sender.example!recipient.example!"
	    "1470013207!1470186007!001.json.gz");
	assert_int_equal(tg_report_filename("GW.Example.", "dest.example",
	    MAY_1, MAY_1 + DAY - 1, NULL, 0, out, sizeof(out), &err), 0);
	assert_string_equal(out,
	    "gw.example!dest.example!1714521600!1714607999.json");
	assert_int_equal(tg_report_filename("gw.example", "dest.example",
	    0, 1, "a!b", 1, out, sizeof(out), &err), -1);
	assert_int_equal(tg_report_filename("gw.example", "dest.example",
	    0, 1, "a b", 1, out, sizeof(out), &err), -1);
	assert_int_equal(tg_report_filename("gw!example", "dest.example",
	    0, 1, NULL, 1, out, sizeof(out), &err), -1);
	assert_int_equal(tg_report_filename("gw.example", "dest.example",
	    0, 1, NULL, 1, out, 10, &err), -1);
}

static void
test_utc_day(void **state)
{
	time_t s, e;

	(void)state;
	tg_report_utc_day(MAY_1 + 12345, &s, &e);
	assert_int_equal(s, MAY_1);
	assert_int_equal(e, MAY_1 + DAY - 1);
	tg_report_utc_day(MAY_1, &s, &e);
	assert_int_equal(s, MAY_1);
	tg_report_utc_day(MAY_1 - 1, &s, &e);
	assert_int_equal(s, MAY_1 - DAY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_fixture_details),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_deep_nesting_generated),
		cmocka_unit_test(test_depth_strings_aware),
		cmocka_unit_test(test_bomb),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_result_names),
		cmocka_unit_test(test_generate_roundtrip),
		cmocka_unit_test(test_generate_refusals),
		cmocka_unit_test(test_generate_limit),
		cmocka_unit_test(test_filename),
		cmocka_unit_test(test_utc_day),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
