/*
 * Unit tests of the store's domains: every field round trip, name and
 * value normalisation, each refused input (store unchanged), not found,
 * duplicates, update, list order, cascade of mx patterns, and the syntax
 * helpers (mx patterns, routes, rua) table by table.
 */
#include "test_store_util.h"

#include <sqlite3.h>

#include "util/clock.h"

static void
full_domain(struct tg_store_domain *d)
{
	tg_store_domain_init(d);
	snprintf(d->name, sizeof(d->name), "Example.ORG.");
	snprintf(d->inbound_route, sizeof(d->inbound_route),
	    "Exchange.Corp.Example.org:2525");
	d->sts_mode = TG_STORE_STS_ENFORCE;
	snprintf(d->sts_mx[0], sizeof(d->sts_mx[0]), "MX1.Example.org.");
	snprintf(d->sts_mx[1], sizeof(d->sts_mx[1]), "*.mx.example.org");
	snprintf(d->sts_mx[2], sizeof(d->sts_mx[2]), "backup.example.net");
	d->sts_mx_count = 3;
	d->sts_max_age = 86400;
	snprintf(d->sts_policy_id, sizeof(d->sts_policy_id), "20260101T000000");
	d->sts_policy_changed = 1767225600;
	snprintf(d->tlsrpt_rua, sizeof(d->tlsrpt_rua),
	    "MAILTO:O'Brien+tlsrpt@Example.org , https://Rpt.Example.org/v1/");
}

static void
test_round_trip_every_field(void **state)
{
	struct fx *f = *state;
	struct tg_store_domain d, got;
	struct tg_err err;

	tg_clock_set(1767225600 + 100);
	full_domain(&d);
	if (tg_store_domain_add(f->st, &d, &err) != 0)
		fail_msg("add: %s", err.msg);
	/* Any spelling of the name finds it. */
	assert_int_equal(tg_store_domain_get(f->st, "EXAMPLE.org.", &got,
	    &err), 0);
	assert_string_equal(got.name, "example.org");
	assert_string_equal(got.inbound_route,
	    "exchange.corp.example.org:2525");
	assert_int_equal(got.sts_mode, TG_STORE_STS_ENFORCE);
	assert_int_equal(got.sts_mx_count, 3);
	assert_string_equal(got.sts_mx[0], "mx1.example.org");
	assert_string_equal(got.sts_mx[1], "*.mx.example.org");
	assert_string_equal(got.sts_mx[2], "backup.example.net");
	assert_int_equal(got.sts_max_age, 86400);
	assert_string_equal(got.sts_policy_id, "20260101T000000");
	assert_int_equal(got.sts_policy_changed, 1767225600);
	/* The local part keeps its case and its quote; the rest is folded. */
	assert_string_equal(got.tlsrpt_rua,
	    "mailto:O'Brien+tlsrpt@example.org,https://rpt.example.org/v1/");
	assert_int_equal(got.created, 1767225700);
	assert_int_equal(got.updated, 1767225700);
	tg_clock_set(0);
}

static void
test_defaults_round_trip(void **state)
{
	struct fx *f = *state;
	struct tg_store_domain d, got;
	struct tg_err err;

	tg_store_domain_init(&d);
	snprintf(d.name, sizeof(d.name), "example.net");
	assert_int_equal(tg_store_domain_add(f->st, &d, &err), 0);
	assert_int_equal(tg_store_domain_get(f->st, "example.net", &got, &err),
	    0);
	assert_int_equal(got.sts_mode, TG_STORE_STS_OFF);
	assert_int_equal(got.sts_max_age, 604800);
	assert_int_equal(got.sts_mx_count, 0);
	assert_string_equal(got.inbound_route, "");
	assert_string_equal(got.tlsrpt_rua, "");
	assert_string_equal(got.sts_policy_id, "");
	assert_int_equal(got.sts_policy_changed, 0);
}

static void
test_max_mx_and_boundaries(void **state)
{
	struct fx *f = *state;
	struct tg_store_domain d, got;
	struct tg_err err;
	size_t i;

	tg_store_domain_init(&d);
	snprintf(d.name, sizeof(d.name), "example.org");
	for (i = 0; i < TG_STS_MX_MAX; i++)
		snprintf(d.sts_mx[i], sizeof(d.sts_mx[i]), "mx%zu.example.org",
		    TG_STS_MX_MAX - i);
	d.sts_mx_count = TG_STS_MX_MAX;
	d.sts_max_age = TG_STS_MAX_AGE_MAX;
	assert_int_equal(tg_store_domain_add(f->st, &d, &err), 0);
	assert_int_equal(tg_store_domain_get(f->st, "example.org", &got, &err),
	    0);
	assert_int_equal(got.sts_mx_count, TG_STS_MX_MAX);
	/* Order is kept as given, not sorted. */
	for (i = 0; i < TG_STS_MX_MAX; i++)
		assert_string_equal(got.sts_mx[i], d.sts_mx[i]);
	assert_int_equal(got.sts_max_age, 31557600);
	d.sts_max_age = 0;
	assert_int_equal(tg_store_domain_update(f->st, &d, &err), 0);
	assert_int_equal(tg_store_domain_get(f->st, "example.org", &got, &err),
	    0);
	assert_int_equal(got.sts_max_age, 0);
}

/* One refused input: how to spoil a valid domain, and what must be said. */
struct bad_case {
	const char *what;
	void (*spoil)(struct tg_store_domain *d, const char *v);
	const char *value;
	const char *msg;
};

static void
set_name(struct tg_store_domain *d, const char *v)
{
	snprintf(d->name, sizeof(d->name), "%s", v);
}

static void
set_route(struct tg_store_domain *d, const char *v)
{
	snprintf(d->inbound_route, sizeof(d->inbound_route), "%s", v);
}

static void
set_mx(struct tg_store_domain *d, const char *v)
{
	snprintf(d->sts_mx[1], sizeof(d->sts_mx[1]), "%s", v);
}

static void
set_rua(struct tg_store_domain *d, const char *v)
{
	snprintf(d->tlsrpt_rua, sizeof(d->tlsrpt_rua), "%s", v);
}

static void
set_policy_id(struct tg_store_domain *d, const char *v)
{
	snprintf(d->sts_policy_id, sizeof(d->sts_policy_id), "%s", v);
}

static void
set_mode(struct tg_store_domain *d, const char *v)
{
	d->sts_mode = (enum tg_store_sts_mode)atoi(v);
}

static void
set_max_age(struct tg_store_domain *d, const char *v)
{
	d->sts_max_age = atol(v);
}

static void
set_mx_count(struct tg_store_domain *d, const char *v)
{
	d->sts_mx_count = (size_t)atol(v);
}

static void
set_changed(struct tg_store_domain *d, const char *v)
{
	d->sts_policy_changed = (time_t)atol(v);
}

static void
unterminate_name(struct tg_store_domain *d, const char *v)
{
	(void)v;
	memset(d->name, 'a', sizeof(d->name));
}

/* The field holds at most 32 characters: a longer id cannot even be
 * terminated. */
static void
unterminate_policy_id(struct tg_store_domain *d, const char *v)
{
	(void)v;
	memset(d->sts_policy_id, 'a', sizeof(d->sts_policy_id));
}

static const struct bad_case bad_cases[] = {
	{ "empty name", set_name, "", "name: empty domain name" },
	{ "underscore", set_name, "a_b.example.org", "name: invalid domain" },
	{ "one label", set_name, "localhost", "name: invalid domain name" },
	{ "space", set_name, "ex ample.org", "name: invalid domain name" },
	{ "sql in name", set_name, "x.org'; DROP TABLE domains;--", "name:" },
	{ "non-ascii", set_name, "b\xc3\xbc" "cher.example", "name:" },
	{ "unterminated", unterminate_name, "", "name: not NUL-terminated" },
	{ "mode high", set_mode, "7", "sts_mode: invalid value 7" },
	{ "mode negative", set_mode, "-1", "sts_mode: invalid value -1" },
	{ "max_age high", set_max_age, "31557601",
	  "sts_max_age: 31557601 is out of range 0..31557600" },
	{ "max_age negative", set_max_age, "-1", "sts_max_age: -1 is out" },
	{ "mx double wildcard", set_mx, "*.*.example.org",
	  "sts_mx: '*.*.example.org': a wildcard may only be" },
	{ "mx partial wildcard", set_mx, "mx*.example.org", "sts_mx:" },
	{ "mx wildcard no dot", set_mx, "*example.org", "sts_mx:" },
	{ "mx bare wildcard", set_mx, "*", "sts_mx:" },
	{ "mx wildcard tld", set_mx, "*.org", "sts_mx: invalid domain" },
	{ "mx empty label", set_mx, "mx..example.org", "sts_mx:" },
	{ "mx empty", set_mx, "", "sts_mx: empty domain name" },
	{ "mx duplicate", set_mx, "MX1.example.org",
	  "sts_mx: 'mx1.example.org' is listed twice" },
	{ "mx count", set_mx_count, "33", "sts_mx: more than 32 patterns" },
	{ "route port 0", set_route, "mail.example.org:0", "inbound_route:" },
	{ "route port big", set_route, "mail.example.org:65536",
	  "inbound_route: port '65536'" },
	{ "route port junk", set_route, "mail.example.org:25x",
	  "inbound_route: port" },
	{ "route no host", set_route, ":25", "inbound_route:" },
	{ "route bare v6", set_route, "2001:db8::1",
	  "inbound_route: an IPv6 address must be in brackets" },
	{ "route open bracket", set_route, "[2001:db8::1",
	  "inbound_route: unbalanced" },
	{ "route bad v6", set_route, "[zz::1]:25", "inbound_route: 'zz::1'" },
	{ "route bad v4", set_route, "010.0.0.1", "inbound_route:" },
	{ "route underscore", set_route, "mail_x.example.org",
	  "inbound_route:" },
	{ "route sql", set_route, "a';--", "inbound_route:" },
	{ "rua http", set_rua, "http://rpt.example.org/",
	  "tlsrpt_rua: 'http://rpt.example.org/' is not a mailto: or https:" },
	{ "rua ftp", set_rua, "ftp://x.example.org/", "tlsrpt_rua:" },
	{ "rua empty mailto", set_rua, "mailto:", "tlsrpt_rua:" },
	{ "rua no local", set_rua, "mailto:@example.org", "tlsrpt_rua:" },
	{ "rua one-label domain", set_rua, "mailto:a@b", "tlsrpt_rua:" },
	{ "rua space", set_rua, "mailto:a b@example.org", "tlsrpt_rua:" },
	{ "rua hfields", set_rua, "mailto:a@example.org?subject=x",
	  "tlsrpt_rua:" },
	{ "rua semicolon", set_rua, "https://example.org/a;b",
	  "tlsrpt_rua: https path" },
	{ "rua stray comma", set_rua, "mailto:a@example.org,",
	  "tlsrpt_rua: empty URI" },
	{ "rua no host", set_rua, "https:///x", "tlsrpt_rua:" },
	{ "rua too many", set_rua,
	  "mailto:a@example.org,mailto:b@example.org,mailto:c@example.org,"
	  "mailto:d@example.org,mailto:e@example.org,mailto:f@example.org,"
	  "mailto:g@example.org,mailto:h@example.org,mailto:i@example.org",
	  "tlsrpt_rua: more than 8 URIs" },
	{ "policy id dash", set_policy_id, "2026-01-01",
	  "sts_policy_id: only letters and digits" },
	{ "policy id unterminated", unterminate_policy_id, "",
	  "sts_policy_id: not NUL-terminated" },
	{ "changed negative", set_changed, "-5", "sts_policy_changed:" },
};

static void
valid_domain(struct tg_store_domain *d, const char *name)
{
	tg_store_domain_init(d);
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->sts_mx[0], sizeof(d->sts_mx[0]), "mx1.example.org");
	snprintf(d->sts_mx[1], sizeof(d->sts_mx[1]), "mx2.example.org");
	d->sts_mx_count = 2;
}

static void
test_bad_input_leaves_store_unchanged(void **state)
{
	struct fx *f = *state;
	struct tg_store_domain d, before_row, after_row;
	struct census before, after;
	struct tg_err err;
	size_t i;

	valid_domain(&d, "existing.example.org");
	assert_int_equal(tg_store_domain_add(f->st, &d, &err), 0);
	assert_int_equal(tg_store_domain_get(f->st, "existing.example.org",
	    &before_row, &err), 0);
	take_census(f->st, &before);
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		/* As a new domain... */
		valid_domain(&d, "new.example.org");
		c->spoil(&d, c->value);
		if (tg_store_domain_add(f->st, &d, &err) != -1)
			fail_msg("%s: add accepted", c->what);
		if (err.cls != TG_ERR_PERM || strncmp(err.msg, c->msg,
		    strlen(c->msg)) != 0)
			fail_msg("%s: got '%s', want '%s...'", c->what,
			    err.msg, c->msg);
		assert_null(strchr(err.msg, '\n'));
		/* ...and as an update of an existing one. */
		valid_domain(&d, "existing.example.org");
		c->spoil(&d, c->value);
		assert_int_equal(tg_store_domain_update(f->st, &d, &err), -1);
		assert_int_equal(err.cls, TG_ERR_PERM);
	}
	take_census(f->st, &after);
	assert_census_equal(&before, &after);
	assert_int_equal(tg_store_domain_get(f->st, "existing.example.org",
	    &after_row, &err), 0);
	assert_memory_equal(&before_row, &after_row, sizeof(before_row));
	assert_int_equal(tg_store_domain_get(f->st, "new.example.org",
	    &after_row, &err), TG_STORE_NOTFOUND);
}

static void
test_duplicate_and_unknown(void **state)
{
	struct fx *f = *state;
	struct tg_store_domain d;
	struct census before, after;
	struct tg_err err;

	valid_domain(&d, "example.org");
	assert_int_equal(tg_store_domain_add(f->st, &d, &err), 0);
	take_census(f->st, &before);
	valid_domain(&d, "EXAMPLE.org.");
	assert_int_equal(tg_store_domain_add(f->st, &d, &err), -1);
	assert_int_equal(err.cls, TG_ERR_PERM);
	assert_string_equal(err.msg, "domain example.org already exists");
	valid_domain(&d, "unknown.example.org");
	assert_int_equal(tg_store_domain_update(f->st, &d, &err),
	    TG_STORE_NOTFOUND);
	assert_int_equal(err.cls, TG_ERR_NONE);
	assert_int_equal(tg_store_domain_get(f->st, "unknown.example.org", &d,
	    &err), TG_STORE_NOTFOUND);
	assert_int_equal(tg_store_domain_remove(f->st, "unknown.example.org",
	    &err), TG_STORE_NOTFOUND);
	assert_int_equal(tg_store_domain_get(f->st, "bad_name.org", &d, &err),
	    -1);
	assert_perm_msg(err, "name: invalid domain name");
	take_census(f->st, &after);
	assert_census_equal(&before, &after);
}

static void
test_update_replaces_and_keeps_created(void **state)
{
	struct fx *f = *state;
	struct tg_store_domain d, got;
	struct tg_err err;

	tg_clock_set(1000000);
	full_domain(&d);
	assert_int_equal(tg_store_domain_add(f->st, &d, &err), 0);
	tg_clock_set(2000000);
	d.sts_mode = TG_STORE_STS_TESTING;
	snprintf(d.sts_mx[0], sizeof(d.sts_mx[0]), "new.example.org");
	d.sts_mx_count = 1;
	d.inbound_route[0] = '\0';
	snprintf(d.tlsrpt_rua, sizeof(d.tlsrpt_rua), "mailto:r@example.org");
	snprintf(d.sts_policy_id, sizeof(d.sts_policy_id), "2");
	d.sts_policy_changed = 1999999;
	assert_int_equal(tg_store_domain_update(f->st, &d, &err), 0);
	assert_int_equal(tg_store_domain_get(f->st, "example.org", &got, &err),
	    0);
	assert_int_equal(got.sts_mode, TG_STORE_STS_TESTING);
	assert_int_equal(got.sts_mx_count, 1);
	assert_string_equal(got.sts_mx[0], "new.example.org");
	assert_string_equal(got.inbound_route, "");
	assert_string_equal(got.tlsrpt_rua, "mailto:r@example.org");
	assert_string_equal(got.sts_policy_id, "2");
	assert_int_equal(got.sts_policy_changed, 1999999);
	assert_int_equal(got.created, 1000000);
	assert_int_equal(got.updated, 2000000);
	tg_clock_set(0);
}

static int
collect_names(const struct tg_store_domain *d, void *arg)
{
	char *out = arg;

	strcat(out, d->name);
	strcat(out, " ");
	return strstr(out, "c.example.org") != NULL;
}

static void
test_list_order_and_stop(void **state)
{
	struct fx *f = *state;
	const char *names[] = { "d.example.org", "b.example.org",
	    "c.example.org", "a.example.org" };
	struct tg_store_domain d;
	struct tg_err err;
	char seen[256] = "";
	size_t i;

	for (i = 0; i < 4; i++) {
		valid_domain(&d, names[i]);
		assert_int_equal(tg_store_domain_add(f->st, &d, &err), 0);
	}
	assert_int_equal(tg_store_domain_list(f->st, collect_names, seen,
	    &err), 0);
	assert_string_equal(seen, "a.example.org b.example.org c.example.org ");
}

static long long
raw_count_mx(const char *dir)
{
	char path[128];
	sqlite3 *db;
	sqlite3_stmt *s;
	long long n;

	snprintf(path, sizeof(path), "%s/config.db", dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	    "SELECT count(*) FROM domain_sts_mx", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static void
test_remove_cascades_to_mx(void **state)
{
	struct fx *f = *state;
	struct tg_store_domain d, got;
	struct tg_err err;

	valid_domain(&d, "a.example.org");
	assert_int_equal(tg_store_domain_add(f->st, &d, &err), 0);
	valid_domain(&d, "b.example.org");
	snprintf(d.sts_mx[2], sizeof(d.sts_mx[2]), "*.b.example.org");
	d.sts_mx_count = 3;
	assert_int_equal(tg_store_domain_add(f->st, &d, &err), 0);
	assert_int_equal(raw_count_mx(f->dir), 5);
	assert_int_equal(tg_store_domain_remove(f->st, "B.example.org", &err),
	    0);
	assert_int_equal(raw_count_mx(f->dir), 2);
	assert_int_equal(tg_store_domain_get(f->st, "b.example.org", &got,
	    &err), TG_STORE_NOTFOUND);
	/* Re-added without patterns (sqlite reuses the highest rowid): no
	 * leftover pattern may reappear. */
	tg_store_domain_init(&d);
	snprintf(d.name, sizeof(d.name), "b.example.org");
	assert_int_equal(tg_store_domain_add(f->st, &d, &err), 0);
	assert_int_equal(tg_store_domain_get(f->st, "b.example.org", &got,
	    &err), 0);
	assert_int_equal(got.sts_mx_count, 0);
	assert_int_equal(tg_store_domain_get(f->st, "a.example.org", &got,
	    &err), 0);
	assert_int_equal(got.sts_mx_count, 2);
}

struct norm_case {
	const char *in;
	const char *out;	/* NULL: refused */
};

static const struct norm_case mx_cases[] = {
	{ "mx.example.org", "mx.example.org" },
	{ "MX.Example.ORG.", "mx.example.org" },
	{ "*.example.org", "*.example.org" },
	{ "*.EXAMPLE.org", "*.example.org" },
	{ "xn--bcher-kva.example", "xn--bcher-kva.example" },
	{ "*.*.example.org", NULL },
	{ "a.*.example.org", NULL },
	{ "*", NULL },
	{ "*.", NULL },
	{ ".example.org", NULL },
	{ "-mx.example.org", NULL },
	{ NULL, NULL },
};

static const struct norm_case route_cases[] = {
	{ "", "" },
	{ "mail.example.org", "mail.example.org" },
	{ "Mail.Example.org:2525", "mail.example.org:2525" },
	{ "exchange", "exchange" },
	{ "exchange:25", "exchange:25" },
	{ "192.0.2.10", "192.0.2.10" },
	{ "192.0.2.10:10026", "192.0.2.10:10026" },
	{ "[2001:DB8::1]", "[2001:db8::1]" },
	{ "[2001:db8::1]:25", "[2001:db8::1]:25" },
	{ "mail.example.org:65535", "mail.example.org:65535" },
	{ "mail.example.org:", NULL },
	{ "mail.example.org:025", NULL },
	{ "mail.example.org:-1", NULL },
	{ "192.0.2.300", NULL },
	{ "[192.0.2.1]", NULL },
	{ "[::1]x", NULL },
	{ "-mail.example.org", NULL },
	{ "mail..example.org", NULL },
	{ "mail.example.org.", NULL },
	{ "mail example.org", NULL },
};

static const struct norm_case rua_cases[] = {
	{ "", "" },
	{ "mailto:tlsrpt@example.org", "mailto:tlsrpt@example.org" },
	{ "MailTo:TLSRPT@Example.ORG", "mailto:TLSRPT@example.org" },
	{ "https://rpt.example.org/tlsrpt", "https://rpt.example.org/tlsrpt" },
	{ "HTTPS://RPT.example.org:8443/a/b?x=%2C",
	  "https://rpt.example.org:8443/a/b?x=%2C" },
	{ "https://rpt.example.org", "https://rpt.example.org" },
	{ "mailto:a@example.org, https://r.example.org/x",
	  "mailto:a@example.org,https://r.example.org/x" },
	{ " mailto:a@example.org\t,\tmailto:b@example.org ",
	  "mailto:a@example.org,mailto:b@example.org" },
	{ "mailto:first.last+tag@example.org",
	  "mailto:first.last+tag@example.org" },
	{ "https://rpt.example.org:0/", NULL },
	{ "https://rpt_x.example.org/", NULL },
	{ "https://rpt.example.org/a b", NULL },
	{ "https://rpt.example.org/<script>", NULL },
	{ "mailto:a@example.org;x", NULL },
	{ "mailto:a@@example.org", NULL },
	{ ",mailto:a@example.org", NULL },
	{ "mailto:a@example.org,,mailto:b@example.org", NULL },
	{ "mailto:a\x01@example.org", NULL },
	{ "javascript:alert(1)", NULL },
};

typedef int (*norm_fn)(const char *, char *, size_t, struct tg_err *);

static void
run_norm_table(const char *name, norm_fn fn, const struct norm_case *cases,
    size_t n, const char *field)
{
	char out[TG_STORE_RUA_MAX + 1];
	struct tg_err err;
	size_t i;

	for (i = 0; i < n && cases[i].in != NULL; i++) {
		int rc = fn(cases[i].in, out, sizeof(out), &err);

		if (cases[i].out != NULL) {
			if (rc != 0)
				fail_msg("%s '%s' refused: %s", name,
				    cases[i].in, err.msg);
			assert_string_equal(out, cases[i].out);
			continue;
		}
		if (rc != -1)
			fail_msg("%s '%s' accepted as '%s'", name, cases[i].in,
			    out);
		assert_int_equal(err.cls, TG_ERR_PERM);
		if (strncmp(err.msg, field, strlen(field)) != 0)
			fail_msg("%s '%s': message '%s' does not name %s", name,
			    cases[i].in, err.msg, field);
	}
}

static void
test_syntax_tables(void **state)
{
	(void)state;
	run_norm_table("mx", tg_store_mx_pattern_normalize, mx_cases,
	    sizeof(mx_cases) / sizeof(mx_cases[0]), "sts_mx:");
	run_norm_table("route", tg_store_route_normalize, route_cases,
	    sizeof(route_cases) / sizeof(route_cases[0]), "inbound_route:");
	run_norm_table("rua", tg_store_rua_normalize, rua_cases,
	    sizeof(rua_cases) / sizeof(rua_cases[0]), "tlsrpt_rua:");
}

static void
test_sts_mode_names(void **state)
{
	static const char *const names[] = { "off", "none", "testing",
	    "enforce" };
	enum tg_store_sts_mode m;
	struct tg_err err;
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		assert_string_equal(tg_store_sts_mode_name(
		    (enum tg_store_sts_mode)i), names[i]);
		assert_int_equal(tg_store_sts_mode_parse(names[i], &m, &err),
		    0);
		assert_int_equal(m, i);
	}
	assert_string_equal(tg_store_sts_mode_name(
	    (enum tg_store_sts_mode)9), "invalid");
	assert_int_equal(tg_store_sts_mode_parse("Enforce", &m, &err), -1);
	assert_perm_msg(err, "sts_mode: 'Enforce' is not one of off, none, "
	    "testing, enforce");
	assert_int_equal(tg_store_sts_mode_parse(NULL, &m, &err), -1);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_round_trip_every_field),
		T(test_defaults_round_trip),
		T(test_max_mx_and_boundaries),
		T(test_bad_input_leaves_store_unchanged),
		T(test_duplicate_and_unknown),
		T(test_update_replaces_and_keeps_created),
		T(test_list_order_and_stop),
		T(test_remove_cascades_to_mx),
		cmocka_unit_test(test_syntax_tables),
		cmocka_unit_test(test_sts_mode_names),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
