/*
 * Unit tests of store/reports: outbound TLS session results, aggregated.
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

#include "store/reports.h"

#define DAY1 1796256000	/* 2026-12-03T00:00:00Z */

struct fixture {
	char dir[64];
	struct tg_reports *r;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct tg_err err;

	strcpy(f->dir, "/tmp/tg-reports-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	if (tg_reports_open(f->dir, 0, &f->r, &err) != 0)
		fail_msg("open: %s", err.msg);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	tg_reports_close(f->r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

struct tally {
	int rows;
	int64_t success, failure;
	char last_result[64];
	char last_ip[64];
};

static int
tally_row(const struct tg_reports_row *row, void *arg)
{
	struct tally *t = arg;

	t->rows++;
	if (row->result_type[0] == '\0')
		t->success += row->count;
	else
		t->failure += row->count;
	snprintf(t->last_result, sizeof(t->last_result), "%s",
	    row->result_type);
	snprintf(t->last_ip, sizeof(t->last_ip), "%s", row->receiving_ip);
	return 0;
}

static struct tg_reports_session
session(time_t when, const char *domain, const char *result)
{
	struct tg_reports_session s;

	memset(&s, 0, sizeof(s));
	s.when = when;
	s.policy_domain = domain;
	s.policy_type = TG_REPORTS_TLSA;
	s.policy_strings = "3 1 1 abcd";
	s.mx_hosts = "mx.example.org";
	s.result_type = result;
	s.sending_ip = "192.0.2.10";
	s.receiving_mx_hostname = "mx.example.org";
	s.receiving_ip = "198.51.100.7";
	return s;
}

static void
test_aggregate(void **state)
{
	struct fixture *f = *state;
	struct tg_reports_session s;
	struct tally t;
	struct tg_err err;
	int i;

	for (i = 0; i < 5; i++) {
		s = session(DAY1 + 60 * i, "example.org", NULL);
		assert_int_equal(tg_reports_record_session(f->r, &s, &err), 0);
	}
	for (i = 0; i < 3; i++) {
		s = session(DAY1 + 3600, "example.org", "tlsa-invalid");
		assert_int_equal(tg_reports_record_session(f->r, &s, &err), 0);
	}
	s = session(DAY1 + 86400, "example.org", NULL);	/* next day */
	assert_int_equal(tg_reports_record_session(f->r, &s, &err), 0);
	memset(&t, 0, sizeof(t));
	assert_int_equal(tg_reports_sessions(f->r, "2026-12-03", NULL,
	    tally_row, &t, &err), 0);
	assert_int_equal(t.rows, 2);	/* one success, one failure row */
	assert_int_equal(t.success, 5);
	assert_int_equal(t.failure, 3);
	assert_string_equal(t.last_result, "tlsa-invalid"); /* after success */
	assert_string_equal(t.last_ip, "198.51.100.7");
	memset(&t, 0, sizeof(t));
	assert_int_equal(tg_reports_sessions(f->r, "2026-12-04", "example.org",
	    tally_row, &t, &err), 0);
	assert_int_equal(t.success, 1);
}

static int
count_domain(const char *d, void *arg)
{
	(void)d;
	(*(int *)arg)++;
	return 0;
}

static void
test_domains_and_prune(void **state)
{
	struct fixture *f = *state;
	struct tg_reports_session s;
	struct tg_err err;
	int64_t removed;
	int n = 0;

	s = session(DAY1, "a.example", NULL);
	assert_int_equal(tg_reports_record_session(f->r, &s, &err), 0);
	s = session(DAY1, "b.example", "starttls-not-supported");
	assert_int_equal(tg_reports_record_session(f->r, &s, &err), 0);
	s = session(DAY1 + 2 * 86400, "c.example", NULL);
	assert_int_equal(tg_reports_record_session(f->r, &s, &err), 0);
	assert_int_equal(tg_reports_session_domains(f->r, "2026-12-03",
	    count_domain, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(tg_reports_prune_sessions(f->r, "2026-12-04",
	    &removed, &err), 0);
	assert_int_equal(removed, 2);
}

static void
test_bad_input(void **state)
{
	struct fixture *f = *state;
	struct tg_reports_session s;
	struct tally t;
	struct tg_err err;
	char big[TG_REPORTS_TEXT_MAX + 8];

	s = session(DAY1, "Example.ORG", NULL);		/* not normalised */
	assert_int_equal(tg_reports_record_session(f->r, &s, &err), -1);
	s = session(DAY1, "example.org", "tls-broken");	/* not §4.3 */
	assert_int_equal(tg_reports_record_session(f->r, &s, &err), -1);
	assert_non_null(strstr(err.msg, "result type"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = session(DAY1, "example.org", "validation-failure");
	s.additional_information = big;
	assert_int_equal(tg_reports_record_session(f->r, &s, &err), -1);
	s = session(DAY1, "example.org", "validation-failure");
	s.additional_information = "'; DROP TABLE tls_sessions;--";
	assert_int_equal(tg_reports_record_session(f->r, &s, &err), 0);
	memset(&t, 0, sizeof(t));
	assert_int_equal(tg_reports_sessions(f->r, "2026-12-03", NULL,
	    tally_row, &t, &err), 0);
	assert_int_equal(t.rows, 1);	/* only the stored one; table intact */
}

static void
test_names(void **state)
{
	char day[11];

	(void)state;
	assert_string_equal(tg_reports_policy_type_name(TG_REPORTS_NO_POLICY),
	    "no-policy-found");
	assert_true(tg_reports_result_type_valid("dane-required"));
	assert_false(tg_reports_result_type_valid("success"));
	tg_reports_day(DAY1 + 86399, day);
	assert_string_equal(day, "2026-12-03");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_aggregate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_domains_and_prune, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup,
		    teardown),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
