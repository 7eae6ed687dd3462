/*
 * Unit tests of policy/stshost (what the MTA-STS policy host serves and
 * when, RFC 8461 §3, §8.1, §8.3) and of the store's sts_served rows:
 *   - the body of a configuration (CRLF, the canonical order, parsing
 *     back to the same policy) and the refusals;
 *   - the id rules: the same body gives the same id, any change of the
 *     body a new one, the id fits RFC 8461 §3.1;
 *   - the step table over a fixed clock: first publication, unchanged,
 *     changed, removal with its mode none window, the end of the window,
 *     re-enabling during it, a max_age lowered before the removal;
 *   - the MX coverage check over scripted MX answers;
 *   - sts_served rows in a real config.db, and that writing them does not
 *     bump the generation.
 */
#include "test_store_util.h"


#include "policy/stshost.h"
#include "policy/stsmx.h"
#include "policy/stspolicy.h"

#define T0	1800000000L	/* a fixed "now" */
#define DAY	86400L

static void
domain_cfg(struct tg_store_domain *d, const char *name,
    enum tg_store_sts_mode mode, long max_age, const char *mx1,
    const char *mx2)
{
	tg_store_domain_init(d);
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->sts_mode = mode;
	d->sts_max_age = max_age;
	if (mx1 != NULL)
		snprintf(d->sts_mx[d->sts_mx_count++], sizeof(d->sts_mx[0]),
		    "%s", mx1);
	if (mx2 != NULL)
		snprintf(d->sts_mx[d->sts_mx_count++], sizeof(d->sts_mx[0]),
		    "%s", mx2);
}

/* ---- policy bodies and ids ---- */

static void
test_policy_body(void **state)
{
	struct tg_store_domain d;
	struct tg_stshost_policy p;
	struct tg_sts_policy back;
	struct tg_err err;
	size_t i;

	(void)state;
	domain_cfg(&d, "example.org", TG_STORE_STS_ENFORCE, 604800,
	    "mail.example.org", "*.mx.example.org");
	assert_int_equal(tg_stshost_policy_of(&d, &p, &err), 0);
	assert_string_equal(p.body, "version: STSv1\r\nmode: enforce\r\n"
	    "mx: mail.example.org\r\nmx: *.mx.example.org\r\n"
	    "max_age: 604800\r\n");
	assert_int_equal(p.len, strlen(p.body));
	assert_int_equal(p.mode, TG_STORE_STS_ENFORCE);
	/* It parses back to the configuration. */
	assert_int_equal(tg_sts_policy_parse(p.body, p.len, &back, &err), 0);
	assert_int_equal(back.mode, TG_STS_MODE_ENFORCE);
	assert_int_equal(back.max_age, 604800);
	assert_int_equal(back.count, 2);
	assert_string_equal(back.mx[1], "*.mx.example.org");
	/* RFC 8461 §3.1: 1*32(ALPHA / DIGIT). */
	assert_int_equal(strlen(p.id), TG_STSHOST_ID_LEN);
	for (i = 0; p.id[i] != '\0'; i++)
		assert_true((p.id[i] >= '0' && p.id[i] <= '9') ||
		    (p.id[i] >= 'a' && p.id[i] <= 'z'));
	/* Mode none needs no mx. */
	domain_cfg(&d, "example.org", TG_STORE_STS_NONE, 3600, NULL, NULL);
	assert_int_equal(tg_stshost_policy_of(&d, &p, &err), 0);
	assert_string_equal(p.body, "version: STSv1\r\nmode: none\r\n"
	    "max_age: 3600\r\n");
}

static void
test_policy_refused(void **state)
{
	static const struct {
		enum tg_store_sts_mode mode;
		const char *mx;
		long max_age;
		const char *msg;
	} cases[] = {
		{ TG_STORE_STS_ENFORCE, NULL, 86400, "needs at least one mx" },
		{ TG_STORE_STS_TESTING, NULL, 86400, "needs at least one mx" },
		{ TG_STORE_STS_OFF, "mx.example.org", 86400, "is off" },
		{ TG_STORE_STS_ENFORCE, "mx.*.example.org", 86400, "'*'" },
		{ TG_STORE_STS_ENFORCE, "mx.example.org", 31557601,
		    "out of range" },
	};
	struct tg_store_domain d;
	struct tg_stshost_policy p;
	struct tg_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		domain_cfg(&d, "example.org", cases[i].mode, cases[i].max_age,
		    cases[i].mx, NULL);
		assert_int_equal(tg_stshost_policy_of(&d, &p, &err), -1);
		if (strstr(err.msg, cases[i].msg) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg,
			    cases[i].msg);
	}
}

static void
test_id_rules(void **state)
{
	struct tg_store_domain d;
	struct tg_stshost_policy a, b;
	char id[TG_STS_ID_MAX + 1];
	struct tg_err err;

	(void)state;
	domain_cfg(&d, "example.org", TG_STORE_STS_TESTING, 86400,
	    "mx1.example.org", NULL);
	assert_int_equal(tg_stshost_policy_of(&d, &a, &err), 0);
	/* The same configuration, another time or domain: the same id. */
	snprintf(d.name, sizeof(d.name), "example.net");
	assert_int_equal(tg_stshost_policy_of(&d, &b, &err), 0);
	assert_string_equal(a.id, b.id);
	tg_stshost_id(a.body, a.len, id);
	assert_string_equal(id, a.id);
	/* Every change of the body changes the id. */
	d.sts_mode = TG_STORE_STS_ENFORCE;
	assert_int_equal(tg_stshost_policy_of(&d, &b, &err), 0);
	assert_string_not_equal(a.id, b.id);
	d.sts_mode = TG_STORE_STS_TESTING;
	d.sts_max_age = 86401;
	assert_int_equal(tg_stshost_policy_of(&d, &b, &err), 0);
	assert_string_not_equal(a.id, b.id);
	d.sts_max_age = 86400;
	snprintf(d.sts_mx[d.sts_mx_count++], sizeof(d.sts_mx[0]),
	    "mx2.example.org");
	assert_int_equal(tg_stshost_policy_of(&d, &b, &err), 0);
	assert_string_not_equal(a.id, b.id);
	/* A known digest: SHA-256("") starts e3b0c44298fc1c149afb. */
	tg_stshost_id("", 0, id);
	assert_string_equal(id, "e3b0c44298fc1c149afb");
}

/* ---- the publication steps, fixed clock ---- */

static void
step(const struct tg_store_domain *d, const struct tg_store_sts_served *prev,
    long now, enum tg_stshost_action want, struct tg_stshost_step *out)
{
	struct tg_err err;

	assert_int_equal(tg_stshost_step("example.org", d, prev, now, out,
	    &err), 0);
	if (out->action != want)
		fail_msg("at %ld: %s, expected %s", now - T0,
		    tg_stshost_action_name(out->action),
		    tg_stshost_action_name(want));
}

static void
test_step_publish_and_change(void **state)
{
	struct tg_store_domain d;
	struct tg_stshost_step s;
	struct tg_store_sts_served rec;
	char first_id[TG_STS_ID_MAX + 1];

	(void)state;
	domain_cfg(&d, "example.org", TG_STORE_STS_TESTING, 7 * DAY,
	    "mail.example.org", NULL);
	/* Nothing served yet: serve, from now. */
	step(&d, NULL, T0, TG_STSHOST_SERVE, &s);
	assert_int_equal(s.next.since, T0);
	assert_int_equal(s.next.cover_until, 0);
	assert_int_equal(s.next.withdrawn, 0);
	assert_int_equal(s.next.mode, TG_STORE_STS_TESTING);
	assert_string_equal(s.next.domain, "example.org");
	rec = s.next;
	snprintf(first_id, sizeof(first_id), "%s", rec.policy_id);
	/* Same configuration later: keep, nothing to write. */
	step(&d, &rec, T0 + DAY, TG_STSHOST_KEEP, &s);
	assert_int_equal(s.next.since, T0);
	/* testing -> enforce: a new id; the testing policy may be cached
	 * for its max_age from now. */
	d.sts_mode = TG_STORE_STS_ENFORCE;
	step(&d, &rec, T0 + DAY, TG_STSHOST_SERVE, &s);
	assert_string_not_equal(s.next.policy_id, first_id);
	assert_int_equal(s.next.since, T0 + DAY);
	assert_int_equal(s.next.cover_until, T0 + DAY + 7 * DAY);
	rec = s.next;
	/* Back to the first body: its id again (the id is the body's). */
	d.sts_mode = TG_STORE_STS_TESTING;
	step(&d, &rec, T0 + 2 * DAY, TG_STSHOST_SERVE, &s);
	assert_string_equal(s.next.policy_id, first_id);
	/* A stored row whose body differs from its id's is rewritten. */
	snprintf(rec.body, sizeof(rec.body), "tampered");
	snprintf(rec.policy_id, sizeof(rec.policy_id), "%s", first_id);
	step(&d, &rec, T0 + 3 * DAY, TG_STSHOST_SERVE, &s);
}

static void
test_step_removal_window(void **state)
{
	struct tg_store_domain d;
	struct tg_stshost_step s;
	struct tg_store_sts_served rec;
	struct tg_sts_policy p;
	struct tg_err err;

	(void)state;
	domain_cfg(&d, "example.org", TG_STORE_STS_ENFORCE, 10 * DAY,
	    "mail.example.org", NULL);
	step(&d, NULL, T0, TG_STSHOST_SERVE, &s);
	rec = s.next;
	/* Switched off 2 days later: mode none, a small max_age, a new id,
	 * until the enforce policy fetched at the last moment expires. */
	d.sts_mode = TG_STORE_STS_OFF;
	step(&d, &rec, T0 + 2 * DAY, TG_STSHOST_SERVE, &s);
	assert_int_equal(s.next.withdrawn, 1);
	assert_int_equal(s.next.mode, TG_STORE_STS_NONE);
	assert_int_equal(s.next.max_age, TG_STSHOST_WITHDRAW_MAX_AGE);
	assert_int_equal(s.next.cover_until, T0 + 12 * DAY);
	assert_string_not_equal(s.next.policy_id, rec.policy_id);
	assert_int_equal(tg_sts_policy_parse(s.next.body,
	    strlen(s.next.body), &p, &err), 0);
	assert_int_equal(p.mode, TG_STS_MODE_NONE);
	rec = s.next;
	/* During the window: keep serving mode none. */
	step(&d, &rec, T0 + 5 * DAY, TG_STSHOST_KEEP, &s);
	step(NULL, &rec, T0 + 12 * DAY - 1, TG_STSHOST_KEEP, &s);
	/* The window is over: nothing is served, the row goes. */
	step(&d, &rec, T0 + 12 * DAY, TG_STSHOST_REMOVE, &s);
	step(NULL, &rec, T0 + 30 * DAY, TG_STSHOST_REMOVE, &s);
	/* Nothing recorded, nothing configured: nothing to do. */
	step(NULL, NULL, T0, TG_STSHOST_NOTHING, &s);
	step(&d, NULL, T0, TG_STSHOST_NOTHING, &s);
}

static void
test_step_reenable_and_lowered_max_age(void **state)
{
	struct tg_store_domain d;
	struct tg_stshost_step s;
	struct tg_store_sts_served rec;

	(void)state;
	domain_cfg(&d, "example.org", TG_STORE_STS_ENFORCE, 30 * DAY,
	    "mail.example.org", NULL);
	step(&d, NULL, T0, TG_STSHOST_SERVE, &s);
	rec = s.next;
	/* The domain is removed from the store on day 1. */
	step(NULL, &rec, T0 + DAY, TG_STSHOST_SERVE, &s);
	assert_int_equal(s.next.cover_until, T0 + 31 * DAY);
	rec = s.next;
	/* Re-enabled on day 3 with max_age one day: served at once, and
	 * the 30-day policy still counts. */
	d.sts_max_age = DAY;
	step(&d, &rec, T0 + 3 * DAY, TG_STSHOST_SERVE, &s);
	assert_int_equal(s.next.withdrawn, 0);
	assert_int_equal(s.next.cover_until, T0 + 31 * DAY);
	rec = s.next;
	/* Removed again on day 4: the window still ends on day 31, not
	 * one day later; the none policy's max_age is at most the last
	 * policy's. */
	step(NULL, &rec, T0 + 4 * DAY, TG_STSHOST_SERVE, &s);
	assert_int_equal(s.next.cover_until, T0 + 31 * DAY);
	assert_int_equal(s.next.max_age, DAY);
	/* A domain that only ever served mode none goes at once. */
	domain_cfg(&d, "example.org", TG_STORE_STS_NONE, 7 * DAY, NULL, NULL);
	step(&d, NULL, T0, TG_STSHOST_SERVE, &s);
	rec = s.next;
	step(NULL, &rec, T0 + DAY, TG_STSHOST_REMOVE, &s);
}

static void
test_step_bad_config_keeps_nothing(void **state)
{
	struct tg_store_domain d;
	struct tg_stshost_step s;
	struct tg_err err;

	(void)state;
	domain_cfg(&d, "example.org", TG_STORE_STS_ENFORCE, DAY, NULL, NULL);
	assert_int_equal(tg_stshost_step("example.org", &d, NULL, T0, &s,
	    &err), -1);
	assert_non_null(strstr(err.msg, "mx pattern"));
}

/* ---- MX coverage ---- */

/* An MX answer for example.org with the given exchanges (NULL ends). */
static struct tg_dns_answer *
mx_answer(enum tg_dns_status st, enum tg_dns_security sec,
    const char *const *hosts)
{
	struct tg_dns_answer *a;
	unsigned char rd[300];
	size_t n, len;
	const char *h, *dot;

	a = tg_dns_answer_new("example.org", TG_DNS_T_MX, st, sec, "%s",
	    st == TG_DNS_TEMPFAIL ? "timed out" : "");
	assert_non_null(a);
	for (; hosts != NULL && *hosts != NULL; hosts++) {
		rd[0] = 0;
		rd[1] = **hosts == '\0' ? 0 : 10;	/* RFC 7505: "0 ." */
		len = 2;
		for (h = *hosts; *h != '\0'; h = *dot ? dot + 1 : dot) {
			dot = strchr(h, '.');
			if (dot == NULL)
				dot = h + strlen(h);
			n = (size_t)(dot - h);
			rd[len++] = (unsigned char)n;
			memcpy(rd + len, h, n);
			len += n;
		}
		rd[len++] = 0;
		assert_int_equal(tg_dns_answer_add_rr(a, TG_DNS_T_MX, 300, rd,
		    len), 0);
	}
	return a;
}

static void
test_mx_coverage(void **state)
{
	static const char *const two[] = { "mail.example.org",
	    "backup.provider.net", NULL };
	static const char *const null_mx[] = { "", NULL };
	const char patterns[2][TG_DNAME_MAX + 3] = { "mail.example.org",
	    "*.provider.net" };
	char out[4][TG_DNS_NAME_SIZE];
	struct tg_dns_answer *a;
	struct tg_err err;
	size_t n;

	(void)state;
	a = mx_answer(TG_DNS_OK, TG_DNS_SECURE, two);
	assert_int_equal(tg_stshost_mx_uncovered("example.org", a, patterns,
	    2, out, 4, &n, &err), 0);
	assert_int_equal(n, 0);
	/* Only the first pattern: the backup MX is named. */
	assert_int_equal(tg_stshost_mx_uncovered("example.org", a, patterns,
	    1, out, 4, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(out[0], "backup.provider.net");
	/* Room for none: still counted. */
	assert_int_equal(tg_stshost_mx_uncovered("example.org", a, patterns,
	    0, out, 0, &n, &err), 0);
	assert_int_equal(n, 2);
	tg_dns_answer_free(a);
	/* No MX: the domain itself is the MX. */
	a = mx_answer(TG_DNS_NODATA, TG_DNS_INSECURE, NULL);
	assert_int_equal(tg_stshost_mx_uncovered("example.org", a, patterns,
	    2, out, 4, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(out[0], "example.org");
	tg_dns_answer_free(a);
	/* Null MX: nothing to cover. */
	a = mx_answer(TG_DNS_OK, TG_DNS_INSECURE, null_mx);
	assert_int_equal(tg_stshost_mx_uncovered("example.org", a, patterns,
	    0, out, 4, &n, &err), 0);
	assert_int_equal(n, 0);
	tg_dns_answer_free(a);
	/* Cannot tell. */
	a = mx_answer(TG_DNS_TEMPFAIL, TG_DNS_INDETERMINATE, NULL);
	assert_int_equal(tg_stshost_mx_uncovered("example.org", a, patterns,
	    2, out, 4, &n, &err), -1);
	assert_non_null(strstr(err.msg, "timed out"));
	tg_dns_answer_free(a);
	a = mx_answer(TG_DNS_OK, TG_DNS_BOGUS, two);
	assert_int_equal(tg_stshost_mx_uncovered("example.org", a, patterns,
	    2, out, 4, &n, &err), -1);
	assert_non_null(strstr(err.msg, "DNSSEC"));
	tg_dns_answer_free(a);
}

/* policy/stsmx: the uncovered hosts as one line of a message. */
static void
test_stsmx_text(void **state)
{
	static const char *const many[] = { "m1.example.org",
		"m2.example.org", "m3.example.org", "m4.example.org",
		"m5.example.org", "m6.example.org", "m7.example.org",
		"m8.example.org", "m9.example.org", "m10.example.org", NULL };
	static const char *const two[] = { "mail.example.org",
		"backup.provider.net", NULL };
	struct tg_store_domain d;
	struct tg_dns_answer *a;
	struct tg_err err;
	char what[1024], tiny[8];

	(void)state;
	tg_store_domain_init(&d);
	snprintf(d.name, sizeof(d.name), "example.org");
	snprintf(d.sts_mx[0], sizeof(d.sts_mx[0]), "mail.example.org");
	d.sts_mx_count = 1;
	a = mx_answer(TG_DNS_OK, TG_DNS_SECURE, two);
	assert_int_equal(tg_stsmx_uncovered(&d, a, what, sizeof(what), &err),
	    1);
	assert_string_equal(what, "backup.provider.net");
	/* Too small a buffer: cut, never overrun. */
	assert_int_equal(tg_stsmx_uncovered(&d, a, tiny, sizeof(tiny), &err),
	    1);
	assert_string_equal(tiny, "backup.");
	snprintf(d.sts_mx[1], sizeof(d.sts_mx[1]), "*.provider.net");
	d.sts_mx_count = 2;
	assert_int_equal(tg_stsmx_uncovered(&d, a, what, sizeof(what), &err),
	    0);
	assert_string_equal(what, "");
	tg_dns_answer_free(a);
	d.sts_mx_count = 0;
	a = mx_answer(TG_DNS_OK, TG_DNS_SECURE, many);
	assert_int_equal(tg_stsmx_uncovered(&d, a, what, sizeof(what), &err),
	    1);
	assert_non_null(strstr(what, "m1.example.org, m2.example.org, "));
	assert_non_null(strstr(what, "m8.example.org and 2 more"));
	tg_dns_answer_free(a);
	a = mx_answer(TG_DNS_TEMPFAIL, TG_DNS_INDETERMINATE, NULL);
	assert_int_equal(tg_stsmx_uncovered(&d, a, what, sizeof(what), &err),
	    -1);
	assert_non_null(strstr(err.msg, "timed out"));
	tg_dns_answer_free(a);
}

/* ---- sts_served rows ---- */

static int
count_row(const struct tg_store_sts_served *s, void *arg)
{
	(void)s;
	(*(int *)arg)++;
	return 0;
}

static void
test_store_rows(void **state)
{
	struct fx *f = *state;
	struct tg_store_domain d;
	struct tg_stshost_step s;
	struct tg_store_sts_served got;
	struct tg_err err;
	int64_t gen0, gen1;
	int rows = 0;

	domain_cfg(&d, "Example.ORG", TG_STORE_STS_ENFORCE, DAY,
	    "mail.example.org", NULL);
	step(&d, NULL, T0, TG_STSHOST_SERVE, &s);
	assert_int_equal(tg_store_generation(f->st, &gen0, &err), 0);
	assert_int_equal(tg_store_sts_served_set(f->st, &s.next, &err), 0);
	assert_int_equal(tg_store_generation(f->st, &gen1, &err), 0);
	assert_int_equal(gen0, gen1);
	assert_int_equal(tg_store_sts_served_get(f->st, "EXAMPLE.org.", &got,
	    &err), 0);
	assert_string_equal(got.policy_id, s.next.policy_id);
	assert_string_equal(got.body, s.next.body);
	assert_int_equal(got.mode, TG_STORE_STS_ENFORCE);
	assert_int_equal(got.since, T0);
	/* Replaced by the withdrawal. */
	step(NULL, &got, T0 + 10, TG_STSHOST_SERVE, &s);
	assert_int_equal(tg_store_sts_served_set(f->st, &s.next, &err), 0);
	assert_int_equal(tg_store_sts_served_get(f->st, "example.org", &got,
	    &err), 0);
	assert_int_equal(got.withdrawn, 1);
	assert_int_equal(got.cover_until, T0 + 10 + DAY);
	assert_int_equal(tg_store_sts_served_list(f->st, count_row, &rows,
	    &err), 0);
	assert_int_equal(rows, 1);
	/* Refused: mode off, bad id. */
	got.mode = TG_STORE_STS_OFF;
	assert_int_equal(tg_store_sts_served_set(f->st, &got, &err), -1);
	got.mode = TG_STORE_STS_NONE;
	snprintf(got.policy_id, sizeof(got.policy_id), "not-alnum");
	assert_int_equal(tg_store_sts_served_set(f->st, &got, &err), -1);
	assert_int_equal(tg_store_sts_served_remove(f->st, "example.org",
	    &err), 0);
	assert_int_equal(tg_store_sts_served_remove(f->st, "example.org",
	    &err), TG_STORE_NOTFOUND);
	assert_int_equal(tg_store_sts_served_get(f->st, "example.org", &got,
	    &err), TG_STORE_NOTFOUND);
}

/*
 * Another process changes the configuration: a generation bump, made by
 * the sqlite3 shell (a forked copy of this process would share sqlite's
 * in-process lock bookkeeping and hide the problem).
 */
static void
bump_from_child(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "sqlite3 %s/config.db 'UPDATE generation "
	    "SET value = value + 1'", dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * stsd's pattern: the daemon runtime keeps a read-only connection to
 * watch the generation, stsd opens read-write ones beside it to record
 * what it serves, and the CLI writes from other processes. Every change
 * must stay visible to the long-lived connection (it once went stale
 * after the first one: opening the store dropped the process's locks).
 */
static void
test_store_watch_beside_writes(void **state)
{
	struct fx *f = *state;
	struct tg_store *ro, *rw;
	struct tg_err err;
	int64_t g0, g;
	int i;

	tg_store_close(f->st);
	f->st = NULL;
	assert_int_equal(tg_store_open_readonly(f->dir, &ro, &err), 0);
	assert_int_equal(tg_store_generation(ro, &g0, &err), 0);
	assert_int_equal(tg_store_open(f->dir, &rw, &err), 0);
	tg_store_close(rw);
	for (i = 1; i <= 3; i++) {
		bump_from_child(f->dir);
		assert_int_equal(tg_store_generation(ro, &g, &err), 0);
		assert_int_equal(g, g0 + i);
	}
	tg_store_close(ro);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_body),
		cmocka_unit_test(test_policy_refused),
		cmocka_unit_test(test_id_rules),
		cmocka_unit_test(test_step_publish_and_change),
		cmocka_unit_test(test_step_removal_window),
		cmocka_unit_test(test_step_reenable_and_lowered_max_age),
		cmocka_unit_test(test_step_bad_config_keeps_nothing),
		cmocka_unit_test(test_mx_coverage),
		cmocka_unit_test(test_stsmx_text),
		cmocka_unit_test_setup_teardown(test_store_rows, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_store_watch_beside_writes,
		    fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
