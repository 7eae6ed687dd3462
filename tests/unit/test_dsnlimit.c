/*
 * Unit tests for smtp/dsnlimit: the count per sender domain and window
 * (RELIABILITY I-10), domains in any case, the window starting afresh,
 * a new maximum, and the bound on domains remembered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "smtp/dsnlimit.h"

static struct tg_dsnlimit *
limit(unsigned max)
{
	struct tg_err err;
	struct tg_dsnlimit *l = tg_dsnlimit_new(max, 3600, &err);

	assert_non_null(l);
	return l;
}

static void
test_window(void **state)
{
	struct tg_dsnlimit *l = limit(3);
	time_t t = 1000000;

	(void)state;
	assert_int_equal(tg_dsnlimit_take(l, "a@forged.example", t), 1);
	assert_int_equal(tg_dsnlimit_take(l, "b@FORGED.example", t + 1), 1);
	assert_int_equal(tg_dsnlimit_take(l, "c@Forged.Example", t + 2), 1);
	assert_int_equal(tg_dsnlimit_take(l, "d@forged.example", t + 3), 0);
	/* Another domain has its own count. */
	assert_int_equal(tg_dsnlimit_take(l, "a@other.example", t + 3), 1);
	/* Still the same window an hour after its first DSN, less 1 s. */
	assert_int_equal(tg_dsnlimit_take(l, "a@forged.example", t + 3599),
	    0);
	/* A new one after that. */
	assert_int_equal(tg_dsnlimit_take(l, "a@forged.example", t + 3600),
	    1);
	assert_int_equal(tg_dsnlimit_count(l), 2);
	tg_dsnlimit_free(l);
}

static void
test_set_max(void **state)
{
	struct tg_dsnlimit *l = limit(1);
	time_t t = 1000000;

	(void)state;
	assert_int_equal(tg_dsnlimit_take(l, "a@x.example", t), 1);
	assert_int_equal(tg_dsnlimit_take(l, "a@x.example", t), 0);
	tg_dsnlimit_set_max(l, 2);
	assert_int_equal(tg_dsnlimit_take(l, "a@x.example", t), 1);
	assert_int_equal(tg_dsnlimit_take(l, "a@x.example", t), 0);
	/* No "@": the whole string is the domain. */
	assert_int_equal(tg_dsnlimit_take(l, "x.example", t), 0);
	tg_dsnlimit_free(l);
}

/* At most TG_DSNLIMIT_DOMAINS remembered: the oldest window goes first,
 * and a forgotten domain starts a new count. */
static void
test_bound(void **state)
{
	struct tg_dsnlimit *l = limit(1);
	time_t t = 1000000;
	char s[64];
	int i;

	(void)state;
	assert_int_equal(tg_dsnlimit_take(l, "a@first.example", t), 1);
	for (i = 0; i < TG_DSNLIMIT_DOMAINS; i++) {
		snprintf(s, sizeof(s), "a@d%d.example", i);
		assert_int_equal(tg_dsnlimit_take(l, s, t + 1), 1);
	}
	assert_int_equal(tg_dsnlimit_count(l), TG_DSNLIMIT_DOMAINS);
	assert_int_equal(tg_dsnlimit_take(l, "a@first.example", t + 2), 1);
	assert_int_equal(tg_dsnlimit_take(l, "a@d9999.example", t + 2), 0);
	tg_dsnlimit_free(l);
}

static void
test_no_limit(void **state)
{
	struct tg_err err;

	(void)state;
	assert_null(tg_dsnlimit_new(0, 3600, &err));
	tg_dsnlimit_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_set_max),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_no_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
