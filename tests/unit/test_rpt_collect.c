/*
 * Unit tests of rpt/collect and the received-report half of store/reports:
 * every fixture through the ingest path (stored figures equal the
 * report's, or a clear refusal and nothing stored), media types, caps and
 * bombs (RELIABILITY R-01), hosted-domain filtering and duplicates
 * stored injection strings, the database quota with
 * oldest-first pruning, mailed reports with and without a DKIM signature
 * (RFC 8460 §3), summaries, outgoing-report bookkeeping, and the rate
 * limiter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <opendkim/dkim.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "rpt/collect.h"
#include "rpt/gzip.h"
#include "rpt/mail.h"
#include "store/reports.h"
#include "util/buf.h"

#define MAY_1	1714521600	/* 2024-05-01T00:00:00Z */

struct fixture {
	char dir[64];
	struct tg_reports *db;
	struct tg_collect_domains *doms;
	struct tg_collect_params p;
	struct tg_collect_origin o;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct tg_err err;

	strcpy(f->dir, "/tmp/tg-collect-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	if (tg_reports_open(f->dir, 0, &f->db, &err) != 0)
		fail_msg("open: %s", err.msg);
	f->doms = tg_collect_domains_new();
	assert_int_equal(tg_collect_domains_add(f->doms, "Receiver.Example",
	    &err), 0);
	assert_int_equal(tg_collect_domains_add(f->doms, "other.example",
	    &err), 0);
	f->p.db = f->db;
	f->p.domains = f->doms;
	f->o.source = TG_REPORTS_SRC_HTTPS;
	f->o.peer = "192.0.2.7";
	f->o.received = MAY_1 + 2 * 86400;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	tg_reports_close(f->db);
	tg_collect_domains_free(f->doms);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct tg_buf
fx_read(const char *name)
{
	const char *dir = getenv("TG_FIXTURES");
	char path[512], chunk[4096];
	struct tg_buf b;
	size_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s",
	    dir != NULL ? dir : "tests/fixtures/tlsrpt", name);
	if ((fp = fopen(path, "rb")) == NULL)
		fail_msg("cannot open fixture %s (run from the source tree "
		    "or set TG_FIXTURES)", path);
	tg_buf_init(&b, 1024 * 1024);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		assert_int_equal(tg_buf_append(&b, chunk, n), 0);
	fclose(fp);
	return b;
}

static int
count_one(const struct tg_reports_rx_report *rep, void *arg)
{
	(void)rep;
	(*(int *)arg)++;
	return 0;
}

static int
stored_reports(struct fixture *f)
{
	struct tg_err err;
	int n = 0;

	assert_int_equal(tg_reports_rx_list(f->db, NULL, 0, count_one, &n,
	    &err), 0);
	return n;
}

/* ---- fixtures through the HTTP ingest path ----------------------- */

struct fx_case {
	const char *file;
	enum tg_collect_status status;
	const char *reason;		/* substring, for refusals */
	int http;
	size_t kept;
	int64_t success, failure;	/* stored totals */
};

static const struct fx_case fx_cases[] = {
	{ "rfc8460-example.json", TG_COLLECT_STORED, NULL, 201, 1, 4210, 187 },
	{ "google-like.json", TG_COLLECT_STORED, NULL, 201, 3, 92999, 37 },
	{ "microsoft-like.json", TG_COLLECT_STORED, NULL, 201, 1, 12883, 12 },
	{ "ok-variants.json", TG_COLLECT_STORED, NULL, 201, 1, 0,
	    9007199254740992LL },
	{ "ok-depth-at-limit.json", TG_COLLECT_NOT_OURS, "no policy", 403, 0,
	    0, 0 },
	{ "bad-count-above-2p53.json", TG_COLLECT_INVALID, "2^53", 400, 0, 0,
	    0 },
	{ "bad-date-format.json", TG_COLLECT_INVALID, "date", 400, 0, 0, 0 },
	{ "bad-date-invalid-day.json", TG_COLLECT_INVALID, "date", 400, 0, 0,
	    0 },
	{ "bad-date-order.json", TG_COLLECT_INVALID, "date-range", 400, 0, 0,
	    0 },
	{ "bad-deep-nesting.json", TG_COLLECT_INVALID, "nested", 400, 0, 0,
	    0 },
	{ "bad-duplicate-key.json", TG_COLLECT_INVALID, "duplicate", 400, 0,
	    0, 0 },
	{ "bad-float-count.json", TG_COLLECT_INVALID, "integer", 400, 0, 0,
	    0 },
	{ "bad-huge-number.json", TG_COLLECT_INVALID, "", 400, 0, 0, 0 },
	{ "bad-invalid-utf8.json", TG_COLLECT_INVALID, "", 400, 0, 0, 0 },
	{ "bad-lone-surrogate.json", TG_COLLECT_INVALID, "", 400, 0, 0, 0 },
	{ "bad-missing-org.json", TG_COLLECT_INVALID, "organization-name",
	    400, 0, 0, 0 },
	{ "bad-missing-policy-domain.json", TG_COLLECT_INVALID,
	    "policy-domain", 400, 0, 0, 0 },
	{ "bad-missing-report-id.json", TG_COLLECT_INVALID, "report-id", 400,
	    0, 0, 0 },
	{ "bad-missing-summary.json", TG_COLLECT_INVALID, "summary", 400, 0,
	    0, 0 },
	{ "bad-mx-host-number.json", TG_COLLECT_INVALID, "mx-host", 400, 0,
	    0, 0 },
	{ "bad-negative-count.json", TG_COLLECT_INVALID, "", 400, 0, 0, 0 },
	{ "bad-nul-in-string.json", TG_COLLECT_INVALID, "", 400, 0, 0, 0 },
	{ "bad-policies-object.json", TG_COLLECT_INVALID, "policies", 400, 0,
	    0, 0 },
	{ "bad-policy-domain.json", TG_COLLECT_INVALID, "policy-domain", 400,
	    0, 0, 0 },
	{ "bad-policy-string-type.json", TG_COLLECT_INVALID, "policy-string",
	    400, 0, 0, 0 },
	{ "bad-policy-type.json", TG_COLLECT_INVALID, "policy-type", 400, 0,
	    0, 0 },
	{ "bad-top-array.json", TG_COLLECT_INVALID, "", 400, 0, 0, 0 },
	{ "bad-trailing-garbage.json", TG_COLLECT_INVALID, "", 400, 0, 0, 0 },
	{ "bad-wrong-type-count.json", TG_COLLECT_INVALID, "", 400, 0, 0, 0 },
	{ "google-like.json.gz", TG_COLLECT_DUPLICATE, NULL, 200, 3, 92999,
	    37 },
	{ "bad-truncated.json.gz", TG_COLLECT_INVALID, "truncated", 400, 0, 0,
	    0 },
	{ "bad-two-members.json.gz", TG_COLLECT_INVALID, "second gzip member",
	    400, 0, 0, 0 },
	{ "bad-gzip-in-gzip.json.gz", TG_COLLECT_INVALID, "one compression "
	    "layer", 400, 0, 0, 0 },
	{ "bad-crc.json.gz", TG_COLLECT_INVALID, "CRC-32", 400, 0, 0, 0 },
};

struct totals {
	int64_t success, failure, policies;
	char domains[512];
};

static int
get_totals(const struct tg_reports_rx_report *rep, void *arg)
{
	struct totals *t = arg;

	t->success = rep->success;
	t->failure = rep->failure;
	t->policies = rep->n_policies_stored;
	snprintf(t->domains, sizeof(t->domains), "%s", rep->domains);
	return 0;
}

static void
test_fixtures_http(void **state)
{
	struct fixture *f = *state;
	struct tg_collect_result res;
	struct totals t;
	struct tg_err err;
	size_t i;
	int stored = 0;

	for (i = 0; i < sizeof(fx_cases) / sizeof(fx_cases[0]); i++) {
		const struct fx_case *c = &fx_cases[i];
		struct tg_buf b = fx_read(c->file);
		int gz = strstr(c->file, ".gz") != NULL;
		int rc = tg_collect_body(&f->p, gz ? "application/tlsrpt+gzip" :
		    "application/tlsrpt+json", b.data, b.len, &f->o, &res);

		tg_buf_free(&b);
		if (res.status != c->status)
			fail_msg("%s: status %s, want %s (%s)", c->file,
			    tg_collect_status_name(res.status),
			    tg_collect_status_name(c->status), res.reason);
		if (c->status == TG_COLLECT_DUPLICATE) {
			assert_int_equal(rc, 0);
			assert_int_equal(tg_collect_http_status(res.status),
			    c->http);
			continue;
		}
		if (c->status != TG_COLLECT_STORED) {
			assert_int_equal(rc, -1);
			if (strstr(res.reason, c->reason) == NULL)
				fail_msg("%s: reason '%s' lacks '%s'", c->file,
				    res.reason, c->reason);
			assert_int_equal(tg_collect_http_status(res.status),
			    c->http);
			assert_int_equal(stored_reports(f), stored);
			continue;
		}
		assert_int_equal(rc, 0);
		stored++;
		assert_int_equal(res.kept, c->kept);
		memset(&t, 0, sizeof(t));
		assert_int_equal(tg_reports_rx_get(f->db, res.id, get_totals,
		    &t, &err), 0);
		assert_int_equal(t.success, c->success);
		assert_int_equal(t.failure, c->failure);
		assert_int_equal(t.policies, (int64_t)c->kept);
		assert_int_equal(tg_collect_http_status(res.status), 201);
	}
	assert_int_equal(stored_reports(f), stored);
}

/* The .json.gz fixture is the same report as the .json one: the second
 * one to arrive is a duplicate (same organization and report-id). */
static void
test_duplicate(void **state)
{
	struct fixture *f = *state;
	struct tg_buf j = fx_read("google-like.json");
	struct tg_buf g = fx_read("google-like.json.gz");
	struct tg_collect_result r1, r2, r3;
	int i;

	assert_int_equal(tg_collect_body(&f->p, "application/tlsrpt+json",
	    j.data, j.len, &f->o, &r1), 0);
	assert_int_equal(r1.status, TG_COLLECT_STORED);
	for (i = 0; i < 50; i++) {
		assert_int_equal(tg_collect_body(&f->p,
		    "Application/TLSRPT+gzip; charset=x", g.data, g.len, &f->o,
		    &r2), 0);
		assert_int_equal(r2.status, TG_COLLECT_DUPLICATE);
		assert_int_equal(r2.id, r1.id);
		assert_int_equal(tg_collect_http_status(r2.status), 200);
	}
	assert_int_equal(tg_collect_body(&f->p, "application/tlsrpt+json",
	    j.data, j.len, &f->o, &r3), 0);
	assert_int_equal(r3.status, TG_COLLECT_DUPLICATE);
	assert_int_equal(stored_reports(f), 1);
	tg_buf_free(&j);
	tg_buf_free(&g);
}

/* Group commit (rptd's batches): inside a batch a report is stored as a
 * savepoint — a duplicate of it is seen at once, a refused one leaves
 * the rest alone — and nothing is visible to another connection before
 * batch_end. */
static void
test_batch(void **state)
{
	struct fixture *f = *state;
	struct tg_buf j = fx_read("google-like.json");
	struct tg_buf g = fx_read("google-like.json.gz");
	struct tg_collect_result r1, r2, r3;
	struct tg_reports *other;
	struct tg_err err;
	int n = 0;

	assert_int_equal(tg_reports_open(f->dir, 1, &other, &err), 0);
	assert_int_equal(tg_reports_batch_begin(f->db, &err), 0);
	assert_int_equal(tg_collect_body(&f->p, "application/tlsrpt+json",
	    j.data, j.len, &f->o, &r1), 0);
	assert_int_equal(r1.status, TG_COLLECT_STORED);
	(void)tg_collect_body(&f->p, "application/tlsrpt+json",
	    "{}", 2, &f->o, &r3);
	assert_true(r3.status != TG_COLLECT_STORED);
	assert_int_equal(tg_collect_body(&f->p, "application/tlsrpt+gzip",
	    g.data, g.len, &f->o, &r2), 0);
	assert_int_equal(r2.status, TG_COLLECT_DUPLICATE);
	assert_int_equal(r2.id, r1.id);
	assert_int_equal(stored_reports(f), 1);
	assert_int_equal(tg_reports_rx_list(other, NULL, 0, count_one, &n,
	    &err), 0);
	assert_int_equal(n, 0);			/* not committed yet */
	assert_int_equal(tg_reports_batch_end(f->db, &err), 0);
	assert_int_equal(tg_reports_rx_list(other, NULL, 0, count_one, &n,
	    &err), 0);
	assert_int_equal(n, 1);
	tg_reports_close(other);
	tg_buf_free(&j);
	tg_buf_free(&g);
}

/* Wrong media types, caps, bombs: a clear status, nothing stored. */
static void
test_http_refusals(void **state)
{
	struct fixture *f = *state;
	struct tg_buf j = fx_read("rfc8460-example.json"), gz, big, bomb;
	static const char *const bad_types[] = { NULL, "",
	    "application/json", "application/gzip", "text/plain",
	    "application/tlsrpt+gzipx", "application/tlsrpt", "multipart/"
	    "form-data; boundary=x" };
	struct tg_collect_result res;
	struct tg_err err;
	char *zeros;
	size_t i;

	for (i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		assert_int_equal(tg_collect_body(&f->p, bad_types[i], j.data,
		    j.len, &f->o, &res), -1);
		assert_int_equal(res.status, TG_COLLECT_BAD_TYPE);
		assert_int_equal(tg_collect_http_status(res.status), 415);
	}
	/* gzip declared as JSON, and JSON declared as gzip. */
	tg_buf_init(&gz, 1 << 20);
	assert_int_equal(tg_gzip_deflate(j.data, j.len, gz.limit, &gz, &err),
	    0);
	assert_int_equal(tg_collect_body(&f->p, "application/tlsrpt+json",
	    gz.data, gz.len, &f->o, &res), -1);
	assert_int_equal(res.status, TG_COLLECT_INVALID);
	assert_non_null(strstr(res.reason, "one compression layer"));
	assert_int_equal(tg_collect_body(&f->p, "application/tlsrpt+gzip",
	    j.data, j.len, &f->o, &res), -1);
	assert_int_equal(res.status, TG_COLLECT_INVALID);
	assert_non_null(strstr(res.reason, "not gzip"));
	/* A body one byte over the cap. */
	tg_buf_init(&big, TG_RPT_BODY_MAX + 1);
	assert_non_null(zeros = calloc(1, TG_RPT_BODY_MAX + 1));
	memset(zeros, ' ', TG_RPT_BODY_MAX + 1);
	assert_int_equal(tg_collect_body(&f->p, "application/tlsrpt+json",
	    zeros, TG_RPT_BODY_MAX + 1, &f->o, &res), -1);
	assert_int_equal(res.status, TG_COLLECT_TOO_LARGE);
	assert_int_equal(tg_collect_http_status(res.status), 413);
	/* A 10 MiB bomb: 10 KiB of gzip. */
	tg_buf_init(&bomb, 1 << 20);
	free(zeros);
	assert_non_null(zeros = calloc(1, 10 << 20));
	assert_int_equal(tg_gzip_deflate(zeros, 10 << 20, bomb.limit, &bomb,
	    &err), 0);
	assert_true(bomb.len < 100 * 1024);
	assert_int_equal(tg_collect_body(&f->p, "application/tlsrpt+gzip",
	    bomb.data, bomb.len, &f->o, &res), -1);
	assert_int_equal(res.status, TG_COLLECT_TOO_LARGE);
	assert_int_equal(stored_reports(f), 0);
	free(zeros);
	tg_buf_free(&j);
	tg_buf_free(&gz);
	tg_buf_free(&big);
	tg_buf_free(&bomb);
}

/* a report for a domain we do not host is discarded; a report
 * with some of ours keeps only those. */
static void
test_not_our_domain(void **state)
{
	struct fixture *f = *state;
	struct tg_collect_domains *only = tg_collect_domains_new();
	struct tg_buf b = fx_read("google-like.json");
	struct tg_collect_result res;
	struct totals t;
	struct tg_err err;

	assert_int_equal(tg_collect_domains_add(only, "elsewhere.example",
	    &err), 0);
	f->p.domains = only;
	assert_int_equal(tg_collect_body(&f->p, "application/tlsrpt+json",
	    b.data, b.len, &f->o, &res), -1);
	assert_int_equal(res.status, TG_COLLECT_NOT_OURS);
	assert_int_equal(tg_collect_http_status(res.status), 403);
	assert_int_equal(res.discarded, 3);
	assert_int_equal(stored_reports(f), 0);
	/* Only the DANE policy's domain (below dane.receiver.example). */
	assert_int_equal(tg_collect_domains_add(only, "dane.receiver.example",
	    &err), 0);
	assert_int_equal(tg_collect_body(&f->p, "application/tlsrpt+json",
	    b.data, b.len, &f->o, &res), 0);
	assert_int_equal(res.kept, 1);
	assert_int_equal(res.discarded, 2);
	memset(&t, 0, sizeof(t));
	assert_int_equal(tg_reports_rx_get(f->db, res.id, get_totals, &t,
	    &err), 0);
	assert_int_equal(t.success, 1500);
	assert_int_equal(t.failure, 2);
	assert_string_equal(t.domains, "mx.dane.receiver.example");
	f->p.domains = f->doms;
	tg_collect_domains_free(only);
	tg_buf_free(&b);
}

/* ---- what is stored, read back ----------------------------------- */

struct pol_seen {
	int n;
	char first_string[128];
	char mx[256];
	int64_t fail_sum;
	char reason[256];
	struct tg_reports *db;
};

static int
fail_seen(const struct tg_reports_rx_failure *fl, void *arg)
{
	struct pol_seen *s = arg;

	s->fail_sum += fl->failed_session_count;
	if (s->reason[0] == '\0')
		snprintf(s->reason, sizeof(s->reason), "%s",
		    fl->failure_reason_code);
	return 0;
}

static int
pol_seen(const struct tg_reports_rx_policy *p, void *arg)
{
	struct pol_seen *s = arg;
	struct tg_err err;
	size_t i;

	s->n++;
	assert_int_equal(p->type, TG_REPORTS_STS);
	assert_string_equal(p->domain, "receiver.example");
	assert_int_equal(p->n_strings, 5);
	snprintf(s->first_string, sizeof(s->first_string), "%s",
	    p->strings[0]);
	for (i = 0; i < p->n_mx_hosts; i++) {
		strcat(s->mx, p->mx_hosts[i]);
		strcat(s->mx, "|");
	}
	assert_int_equal(tg_reports_rx_failures(s->db, p->id, fail_seen, s,
	    &err), 0);
	return 0;
}

static int
head_seen(const struct tg_reports_rx_report *rep, void *arg)
{
	struct tg_reports_rx_report *out = arg;

	/* Only numbers: strings are borrowed for the call. */
	out->start = rep->start;
	out->end = rep->end;
	out->flags = rep->flags;
	out->raw_size = rep->raw_size;
	assert_string_equal(rep->org, "Big Cloud Mail Service");
	assert_string_equal(rep->contact, "");
	assert_string_equal(rep->source, "https");
	assert_string_equal(rep->peer, "192.0.2.7");
	assert_string_equal(rep->raw_media, "application/tlsrpt+json");
	return 0;
}

static void
test_stored_details(void **state)
{
	struct fixture *f = *state;
	struct tg_buf b = fx_read("microsoft-like.json"), raw, back;
	struct tg_reports_rx_report head;
	struct tg_collect_result res;
	struct pol_seen s;
	struct tg_err err;
	char media[64];

	assert_int_equal(tg_collect_body(&f->p, "application/tlsrpt+json",
	    b.data, b.len, &f->o, &res), 0);
	memset(&head, 0, sizeof(head));
	assert_int_equal(tg_reports_rx_get(f->db, res.id, head_seen, &head,
	    &err), 0);
	assert_int_equal(head.start, MAY_1);
	assert_int_equal(head.end, MAY_1 + 86400);
	assert_int_equal(head.raw_size, (int64_t)b.len);
	assert_true(head.flags != 0);		/* no contact, local time */
	memset(&s, 0, sizeof(s));
	s.db = f->db;
	assert_int_equal(tg_reports_rx_policies(f->db, res.id, pol_seen, &s,
	    &err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.first_string, "version: STSv1");
	assert_string_equal(s.mx, "mail.receiver.example|mail2.receiver."
	    "example|");
	assert_int_equal(s.fail_sum, 12);
	assert_non_null(strstr(s.reason, "presented: *.hosting.example"));
	/* The original comes back byte for byte. */
	tg_buf_init(&raw, 1 << 20);
	tg_buf_init(&back, 1 << 20);
	assert_int_equal(tg_reports_rx_raw(f->db, res.id, &raw, media,
	    sizeof(media), &err), 0);
	assert_string_equal(media, "application/tlsrpt+json");
	assert_int_equal(tg_gzip_inflate(raw.data, raw.len, 1 << 20, 0, &back,
	    &err), 0);
	assert_int_equal(back.len, b.len);
	assert_memory_equal(back.data, b.data, b.len);
	assert_int_equal(tg_reports_rx_get(f->db, res.id + 100, head_seen,
	    &head, &err), TG_REPORTS_NOTFOUND);
	tg_buf_free(&raw);
	tg_buf_free(&back);
	tg_buf_free(&b);
}

/* hostile text is stored and read back exactly, as data. */
static void
test_injection_stored(void **state)
{
	static const char *const evil[] = {
	    "<script>alert(1)</script>", "\\\"><img src=x onerror=alert(1)>",
	    "'; DROP TABLE rx_reports;--", "line\\r\\nInjected: yes",
	    "\\u001b[31mred\\u001b[0m",
	};
	struct fixture *f = *state;
	struct tg_collect_result res;
	char json[2048];
	size_t i;

	for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		snprintf(json, sizeof(json), "{\"organization-name\":\"%s\","
		    "\"date-range\":{\"start-datetime\":"
		    "\"2024-05-01T00:00:00Z\",\"end-datetime\":"
		    "\"2024-05-01T23:59:59Z\"},\"contact-info\":"
		    "\"%s\",\"report-id\":\"%s\",\"policies\":[{\"policy\":{"
		    "\"policy-type\":\"no-policy-found\",\"policy-domain\":"
		    "\"receiver.example\"},\"summary\":{\"total-successful-"
		    "session-count\":1,\"total-failure-session-count\":1},"
		    "\"failure-details\":[{\"result-type\":\"%s\","
		    "\"receiving-mx-helo\":\"%s\",\"failed-session-count\":1,"
		    "\"additional-information\":\"%s\"}]}]}", evil[i], evil[i],
		    evil[i], evil[i], evil[i], evil[i]);
		if (tg_collect_body(&f->p, "application/tlsrpt+json", json,
		    strlen(json), &f->o, &res) != 0)
			fail_msg("%s: %s", evil[i], res.reason);
	}
	assert_int_equal(stored_reports(f), 5);
}

/* ---- summaries --------------------------------------------------- */

struct sums {
	char text[2048];
};

static int
sum_row(const struct tg_reports_rx_sum *s, void *arg)
{
	struct sums *out = arg;
	char line[256];

	snprintf(line, sizeof(line), "%s %s %s %lld/%lld/%lld\n", s->day,
	    s->domain, s->key, (long long)s->success, (long long)s->failure,
	    (long long)s->reports);
	strncat(out->text, line, sizeof(out->text) - strlen(out->text) - 1);
	return 0;
}

static void
test_summaries(void **state)
{
	struct fixture *f = *state;
	static const char *const files[] = { "rfc8460-example.json",
	    "microsoft-like.json", "google-like.json" };
	struct tg_collect_result res;
	struct sums s;
	struct tg_err err;
	size_t i;

	for (i = 0; i < 3; i++) {
		struct tg_buf b = fx_read(files[i]);

		assert_int_equal(tg_collect_body(&f->p,
		    "application/tlsrpt+json", b.data, b.len, &f->o, &res), 0);
		tg_buf_free(&b);
	}
	memset(&s, 0, sizeof(s));
	assert_int_equal(tg_reports_rx_summary(f->db, TG_REPORTS_BY_DAY,
	    "receiver.example", 0, sum_row, &s, &err), 0);
	/* 4210 + 12883 + 91422 successes, 187 + 12 + 35 failures. */
	assert_string_equal(s.text, "2024-05-01 receiver.example  "
	    "108515/234/3\n");
	memset(&s, 0, sizeof(s));
	assert_int_equal(tg_reports_rx_summary(f->db, TG_REPORTS_BY_ORG,
	    "receiver.example", 0, sum_row, &s, &err), 0);
	assert_string_equal(s.text,
	    "2024-05-01 receiver.example Sender Example Corp 4210/187/1\n"
	    "2024-05-01 receiver.example Large Webmail Inc. 91422/35/1\n"
	    "2024-05-01 receiver.example Big Cloud Mail Service 12883/12/1\n");
	memset(&s, 0, sizeof(s));
	assert_int_equal(tg_reports_rx_summary(f->db, TG_REPORTS_BY_RESULT,
	    "receiver.example", MAY_1, sum_row, &s, &err), 0);
	assert_non_null(strstr(s.text, "receiver.example "
	    "sts-webpki-invalid 0/30/1\n"));
	assert_non_null(strstr(s.text, "receiver.example "
	    "certificate-host-mismatch 0/9/1\n"));
	memset(&s, 0, sizeof(s));
	assert_int_equal(tg_reports_rx_summary(f->db, TG_REPORTS_BY_PARTNER,
	    NULL, 0, sum_row, &s, &err), 0);
	assert_true(strncmp(s.text, " receiver.example Sender Example Corp "
	    "4210/187/1\n", 20) == 0);
	/* since after the reports: nothing. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(tg_reports_rx_summary(f->db, TG_REPORTS_BY_DAY, NULL,
	    MAY_1 + 86400, sum_row, &s, &err), 0);
	assert_string_equal(s.text, "");
}

/* ---- quota ------------------------------------------------------- */

static void
test_quota_prunes_oldest(void **state)
{
	struct fixture *f = *state;
	struct tg_collect_result res;
	unsigned char *noise;
	char *json, org[64];
	int64_t used, first = 0;
	struct tg_err err;
	size_t i, j, n = 48 * 1024;
	int total = 0;

	/* Reports with 48 KiB of incompressible text each. */
	assert_non_null(noise = malloc(n));
	assert_non_null(json = malloc(n * 2 + 1024));
	f->p.db_max = 1024 * 1024;
	for (i = 0; i < 40; i++) {
		size_t k;

		for (k = 0; k < n; k++)
			noise[k] = (unsigned char)"abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[rand() % 62];
		snprintf(org, sizeof(org), "Org %zu", i);
		k = (size_t)snprintf(json, 1024, "{\"organization-name\":"
		    "\"%s\",\"date-range\":{\"start-datetime\":"
		    "\"2024-05-01T00:00:00Z\",\"end-datetime\":"
		    "\"2024-05-01T23:59:59Z\"},\"report-id\":"
		    "\"r\",\"policies\":[{\"policy\":{\"policy-type\":\"sts\","
		    "\"policy-domain\":\"receiver.example\",\"policy-string\":"
		    "[\"", org);
		for (j = 0; j < n; j += 4000) {
			if (j > 0) {
				memcpy(json + k, "\",\"", 3);
				k += 3;
			}
			memcpy(json + k, noise + j,
			    n - j < 4000 ? n - j : 4000);
			k += n - j < 4000 ? n - j : 4000;
		}
		k += (size_t)snprintf(json + k, 1024, "\"]},\"summary\":{"
		    "\"total-successful-session-count\":1,"
		    "\"total-failure-session-count\":0}}]}");
		f->o.received = MAY_1 + (time_t)i;
		if (tg_collect_body(&f->p, "application/tlsrpt+json", json, k,
		    &f->o, &res) != 0)
			fail_msg("report %zu: %s", i, res.reason);
		if (i == 0)
			first = res.id;
		total++;
	}
	assert_int_equal(tg_reports_usage(f->db, &used, &err), 0);
	assert_true(used <= f->p.db_max);
	assert_true(stored_reports(f) < total);
	assert_true(stored_reports(f) >= 5);
	/* The oldest went first. */
	assert_int_equal(tg_reports_rx_get(f->db, first, get_totals,
	    &(struct totals){ 0 }, &err), TG_REPORTS_NOTFOUND);
	/* A report larger than the whole quota: no room, nothing lost. */
	f->p.db_max = 4096;
	total = stored_reports(f);
	assert_int_equal(memcmp(json + 22, "Org 39", 6), 0);
	memcpy(json + 26, "xx", 2);
	assert_int_equal(tg_collect_body(&f->p, "application/tlsrpt+json",
	    json, strlen(json), &f->o, &res), -1);
	assert_int_equal(res.status, TG_COLLECT_NO_ROOM);
	assert_int_equal(stored_reports(f), total);
	f->p.db_max = 0;
	free(noise);
	free(json);
}

/* ---- mailed reports ---------------------------------------------- */

static struct {
	char *pem;
	char keyfile[256];
} K;

static int
mail_setup(void **state)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	unsigned char *der = NULL, b64[960];
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int len, fd;
	FILE *fp;

	if (k == NULL || b == NULL || PEM_write_bio_PrivateKey(b, k, NULL, NULL,
	    0, NULL, NULL) != 1)
		return -1;
	n = BIO_get_mem_data(b, &p);
	K.pem = strndup(p, (size_t)n);
	BIO_free(b);
	len = i2d_PUBKEY(k, &der);
	EVP_EncodeBlock(b64, der, len);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	snprintf(K.keyfile, sizeof(K.keyfile), "/tmp/tg-collect-keys-XXXXXX");
	if ((fd = mkstemp(K.keyfile)) < 0 || (fp = fdopen(fd, "w")) == NULL)
		return -1;
	fprintf(fp, "sel._domainkey.webmail.example v=DKIM1; k=rsa; p=%s\n",
	    b64);
	fclose(fp);
	return setup(state);
}

static int
mail_teardown(void **state)
{
	unlink(K.keyfile);
	free(K.pem);
	return teardown(state);
}

static void
put(struct tg_buf *b, const char *s)
{
	assert_int_equal(tg_buf_puts(b, s), 0);
}

/* A mailed report of google-like.json.gz, signed or not, with the
 * TLS-Report-Domain header (and subject) naming header_domain. */
static struct tg_buf
mail_build_for(int signed_, const char *header_domain)
{
	struct tg_buf gz = fx_read("google-like.json.gz"), msg, out;
	unsigned char line[80], hdr[4096];
	DKIM_LIB *lib;
	DKIM_STAT st;
	DKIM *d;
	size_t i, k;

	tg_buf_init(&msg, 4 << 20);
	put(&msg, "From: <noreply@webmail.example>\r\n"
	    "Date: Thu, 02 May 2024 06:12:01 +0000\r\nSubject: Report "
	    "Domain: ");
	put(&msg, header_domain);
	put(&msg, " Submitter: webmail.example Report-ID: <x@webmail."
	    "example>\r\nTo: <tlsrpt@receiver.example>\r\n"
	    "Message-ID: <x@webmail.example>\r\nTLS-Report-Domain: ");
	put(&msg, header_domain);
	put(&msg, "\r\nTLS-Report-Submitter: webmail.example\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
	    "report-type=\"tlsrpt\"; boundary=\"b1\"\r\n\r\n"
	    "--b1\r\nContent-Type: text/plain\r\n\r\nA report.\r\n"
	    "--b1\r\nContent-Type: application/tlsrpt+gzip\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n");
	for (i = 0; i < gz.len; i += 57) {
		k = gz.len - i < 57 ? gz.len - i : 57;
		EVP_EncodeBlock(line, (unsigned char *)gz.data + i, (int)k);
		put(&msg, (char *)line);
		put(&msg, "\r\n");
	}
	put(&msg, "--b1--\r\n");
	tg_buf_free(&gz);
	if (!signed_)
		return msg;
	assert_non_null(lib = dkim_init(NULL, NULL));
	d = dkim_sign(lib, (const u_char *)"t", NULL, (dkim_sigkey_t)K.pem,
	    (const u_char *)"sel", (const u_char *)"webmail.example",
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1,
	    &st);
	assert_non_null(d);
	assert_int_equal(dkim_chunk(d, (u_char *)msg.data, msg.len),
	    DKIM_STAT_OK);
	assert_int_equal(dkim_chunk(d, NULL, 0), DKIM_STAT_OK);
	assert_int_equal(dkim_eom(d, NULL), DKIM_STAT_OK);
	assert_int_equal(dkim_getsighdr(d, hdr, sizeof(hdr),
	    strlen("DKIM-Signature: ")), DKIM_STAT_OK);
	tg_buf_init(&out, msg.limit);
	put(&out, "DKIM-Signature: ");
	put(&out, (char *)hdr);
	put(&out, "\r\n");
	assert_int_equal(tg_buf_append(&out, msg.data, msg.len), 0);
	dkim_free(d);
	dkim_close(lib);
	tg_buf_free(&msg);
	return out;
}

static struct tg_buf
mail_build(int signed_)
{
	return mail_build_for(signed_, "receiver.example");
}

static void
test_mail(void **state)
{
	struct fixture *f = *state;
	struct tg_rptmail_opts mo = { .keys = TG_RPTMAIL_KEYS_FILE,
	    .key_file = K.keyfile };
	struct tg_buf unsigned_msg = mail_build(0), signed_msg = mail_build(1);
	struct tg_collect_result res;
	struct tg_rptmail *m;
	struct tg_err err;
	int n = 0;

	assert_non_null(m = tg_rptmail_new(&mo, &err));
	f->o.source = TG_REPORTS_SRC_MAIL;
	/* RFC 8460 §3: unsigned → ignored, nothing stored. */
	assert_int_equal(tg_collect_mail(&f->p, m, unsigned_msg.data,
	    unsigned_msg.len, &f->o, &res), -1);
	assert_int_equal(res.status, TG_COLLECT_UNSIGNED);
	assert_int_equal(stored_reports(f), 0);
	/* Tampered after signing: refused too. */
	signed_msg.data[signed_msg.len - 20] ^= 1;
	assert_int_equal(tg_collect_mail(&f->p, m, signed_msg.data,
	    signed_msg.len, &f->o, &res), -1);
	assert_int_equal(res.status, TG_COLLECT_UNSIGNED);
	signed_msg.data[signed_msg.len - 20] ^= 1;
	/* Signed: stored, with how it was authenticated. */
	assert_int_equal(tg_collect_file(&f->p, m, "report.eml",
	    signed_msg.data, signed_msg.len, &f->o, &res), 0);
	assert_int_equal(res.status, TG_COLLECT_STORED);
	assert_int_equal(res.kept, 3);
	assert_int_equal(tg_reports_rx_list(f->db, "receiver.example", 0,
	    count_one, &n, &err), 0);
	assert_int_equal(n, 1);
	/* No verifier: a mail cannot be taken at all. */
	assert_int_equal(tg_collect_file(&f->p, NULL, "x.eml", signed_msg.data,
	    signed_msg.len, &f->o, &res), -1);
	assert_int_equal(res.status, TG_COLLECT_INVALID);
	tg_rptmail_free(m);
	tg_buf_free(&unsigned_msg);
	tg_buf_free(&signed_msg);
}

/* RFC 8460 §5.6: the JSON is authoritative, not the headers or subject:
 * a signed mail whose TLS-Report-Domain names a domain we do not host is
 * stored by what its JSON says (and the other way round refused). */
static void
test_mail_json_authoritative(void **state)
{
	struct fixture *f = *state;
	struct tg_rptmail_opts mo = { .keys = TG_RPTMAIL_KEYS_FILE,
	    .key_file = K.keyfile };
	struct tg_buf msg = mail_build_for(1, "elsewhere.example");
	struct tg_collect_domains *only = tg_collect_domains_new();
	struct tg_collect_result res;
	struct tg_rptmail *m;
	struct tg_err err;

	assert_non_null(m = tg_rptmail_new(&mo, &err));
	f->o.source = TG_REPORTS_SRC_MAIL;
	assert_int_equal(tg_collect_mail(&f->p, m, msg.data, msg.len, &f->o,
	    &res), 0);
	assert_int_equal(res.kept, 3);
	/* Hosting only the header's domain does not make it ours. */
	assert_int_equal(tg_collect_domains_add(only, "elsewhere.example",
	    &err), 0);
	f->p.domains = only;
	tg_buf_free(&msg);
	msg = mail_build_for(1, "receiver.example");
	assert_int_equal(tg_collect_mail(&f->p, m, msg.data, msg.len, &f->o,
	    &res), -1);
	assert_int_equal(res.status, TG_COLLECT_NOT_OURS);
	f->p.domains = f->doms;
	tg_collect_domains_free(only);
	tg_rptmail_free(m);
	tg_buf_free(&msg);
}

/* Files are judged by name, else by their first bytes. */
static void
test_file_kinds(void **state)
{
	struct fixture *f = *state;
	struct tg_buf j = fx_read("rfc8460-example.json");
	struct tg_buf g = fx_read("google-like.json.gz");
	struct tg_collect_result res;

	f->o.source = TG_REPORTS_SRC_IMPORT;
	assert_int_equal(tg_collect_file(&f->p, NULL, "noext", j.data, j.len,
	    &f->o, &res), 0);
	assert_int_equal(tg_collect_file(&f->p, NULL, "also-noext", g.data,
	    g.len, &f->o, &res), 0);
	assert_int_equal(res.status, TG_COLLECT_STORED);
	/* A .json name on gzip bytes is refused, not guessed around. */
	assert_int_equal(tg_collect_file(&f->p, NULL, "x.json", g.data, g.len,
	    &f->o, &res), -1);
	assert_int_equal(res.status, TG_COLLECT_INVALID);
	tg_buf_free(&j);
	tg_buf_free(&g);
}

/* ---- outgoing-report bookkeeping --------------------------------- */

struct tx_seen {
	int n;
	char uris[512];
	enum tg_reports_tx_state state;
	int64_t attempts, id;
	size_t gz_len;
};

static int
tx_row(const struct tg_reports_tx_delivery *d, void *arg)
{
	struct tx_seen *s = arg;

	s->n++;
	strcat(s->uris, d->uri);
	strcat(s->uris, " ");
	s->state = d->state;
	s->attempts = d->attempts;
	s->id = d->id;
	s->gz_len = d->gz_len;
	return 0;
}

static void
test_tx(void **state)
{
	struct fixture *f = *state;
	static const char *const uris[] = { "mailto:a@x.example",
	    "https://x.example/tlsrpt" };
	struct tg_reports_tx_new t = { .day = "2024-05-01",
	    .policy_domain = "x.example", .report_id = "r1",
	    .filename = "gw.example!x.example!1!2.json.gz",
	    .created = MAY_1 + 86400, .rua = "mailto:a@x.example",
	    .success = 3, .failure = 1, .gz = "\x1f\x8b..", .gz_len = 4 };
	struct tx_seen s;
	struct tg_err err;
	int64_t id, id2, removed;
	int exists;

	assert_int_equal(tg_reports_tx_add(f->db, &t, uris, 2, MAY_1 + 86400,
	    MAY_1 + 2 * 86400, &id, &exists, &err), 0);
	assert_int_equal(exists, 0);
	assert_int_equal(tg_reports_tx_add(f->db, &t, uris, 2, 0, 0, &id2,
	    &exists, &err), 0);
	assert_int_equal(exists, 1);
	assert_int_equal(tg_reports_tx_exists(f->db, "2024-05-01", "x.example",
	    &exists, &err), 0);
	assert_int_equal(exists, 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(tg_reports_tx_deliveries(f->db, NULL, 1, MAY_1, tx_row,
	    &s, &err), 0);
	assert_int_equal(s.n, 0);		/* not due yet */
	assert_int_equal(tg_reports_tx_deliveries(f->db, "2024-05-01", 1,
	    MAY_1 + 86400, tx_row, &s, &err), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.gz_len, 4);
	assert_int_equal(tg_reports_tx_set(f->db, s.id, TG_REPORTS_TX_SENT, 1,
	    0, "250 ok", MAY_1 + 86400, &err), 0);
	assert_int_equal(tg_reports_tx_set(f->db, 9999, TG_REPORTS_TX_SENT, 1,
	    0, NULL, 0, &err), TG_REPORTS_NOTFOUND);
	memset(&s, 0, sizeof(s));
	assert_int_equal(tg_reports_tx_deliveries(f->db, NULL, 1,
	    MAY_1 + 86400, tx_row, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(tg_reports_tx_prune(f->db, "2024-05-02", &removed,
	    &err), 0);
	assert_int_equal(removed, 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(tg_reports_tx_deliveries(f->db, NULL, 0, 0, tx_row,
	    &s, &err), 0);
	assert_int_equal(s.n, 0);
	t.policy_domain = "not a domain";
	assert_int_equal(tg_reports_tx_add(f->db, &t, uris, 2, 0, 0, &id,
	    &exists, &err), -1);
}

/* ---- rate limiter ------------------------------------------------ */

static struct sockaddr_storage
addr(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	return ss;
}

static int
admit_n(struct tg_collect_limiter *l, const char *a, int n, long long ms)
{
	struct sockaddr_storage ss = addr(a);
	int i, ok = 0;

	for (i = 0; i < n; i++)
		ok += tg_collect_limiter_admit(l, (struct sockaddr *)&ss, ms);
	return ok;
}

static void
test_limiter(void **state)
{
	struct tg_collect_limiter *l = tg_collect_limiter_new(10, 64);
	char a[64];
	int i;

	(void)state;
	assert_non_null(l);
	/* One IPv4 address: 10 at once, then refused, then refilled. */
	assert_int_equal(admit_n(l, "192.0.2.1", 1000, 1000), 10);
	assert_int_equal(admit_n(l, "192.0.2.1", 1, 1000 + 5999), 0);
	assert_int_equal(admit_n(l, "192.0.2.1", 5, 1000 + 6000), 1);
	assert_int_equal(admit_n(l, "192.0.2.1", 20, 1000 + 60000 * 2), 10);
	/* Another address is not affected. */
	assert_int_equal(admit_n(l, "192.0.2.2", 3, 1000), 3);
	/* The same as IPv4-mapped IPv6. */
	assert_int_equal(admit_n(l, "::ffff:192.0.2.2", 20, 1000), 7);
	/* A /64: every address in it shares one bucket. */
	for (i = 0; i < 30; i++) {
		snprintf(a, sizeof(a), "2001:db8:1:2::%x", i + 1);
		admit_n(l, a, 1, 5000);
	}
	assert_int_equal(admit_n(l, "2001:db8:1:2:ffff::1", 1, 5000), 0);
	assert_int_equal(admit_n(l, "2001:db8:1:3::1", 1, 5000), 1);
	/* Many sources: memory stays the same, service goes on. */
	for (i = 0; i < 5000; i++) {
		snprintf(a, sizeof(a), "10.%d.%d.1", i / 250, i % 250);
		admit_n(l, a, 1, 6000);
	}
	assert_int_equal(admit_n(l, "198.51.100.9", 1, 6000), 1);
	tg_collect_limiter_free(l);
}

static void
test_domains(void **state)
{
	struct tg_collect_domains *d = tg_collect_domains_new();
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_collect_domains_add(d, "Example.ORG.", &err), 0);
	assert_int_equal(tg_collect_domains_add(d, "example.org", &err), 0);
	assert_int_equal(tg_collect_domains_add(d, "b.example", &err), 0);
	assert_int_equal(tg_collect_domains_add(d, "not a name", &err), -1);
	assert_int_equal(tg_collect_domains_count(d), 2);
	assert_true(tg_collect_domains_match(d, "example.org"));
	assert_true(tg_collect_domains_match(d, "mx.example.org"));
	assert_false(tg_collect_domains_match(d, "badexample.org"));
	assert_false(tg_collect_domains_match(d, "org"));
	assert_false(tg_collect_domains_match(d, "example.com"));
	tg_collect_domains_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fixtures_http, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_refusals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_not_our_domain, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stored_details, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_injection_stored, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_summaries, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_quota_prunes_oldest,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_mail, mail_setup,
		    mail_teardown),
		cmocka_unit_test_setup_teardown(test_mail_json_authoritative,
		    mail_setup, mail_teardown),
		cmocka_unit_test_setup_teardown(test_file_kinds, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tx, setup, teardown),
		cmocka_unit_test(test_limiter),
		cmocka_unit_test(test_domains),
	};

	tg_log_open("test_rpt_collect", TG_LOG_NONE, TG_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
