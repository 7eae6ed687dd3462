/*
 * Unit tests of smtp/submark: the marker line, its check, and where the
 * relay looks for it (first line, or after one leading Received field).
 * The key file is covered by test_rpt_send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "smtp/submark.h"

static const unsigned char KEY[TG_SUBMARK_KEY_LEN] = { 1, 2, 3, 4 };
#define BODY "From: a@b.example\r\nSubject: r\r\n\r\nbody\r\n"

static void
test_line_and_check(void **state)
{
	char line[TG_SUBMARK_LINE_LEN + 1], msg[512];
	unsigned char other[TG_SUBMARK_KEY_LEN] = { 9 };
	size_t off = 0;

	(void)state;
	tg_submark_line(KEY, BODY, strlen(BODY), line);
	assert_int_equal(strlen(line), TG_SUBMARK_LINE_LEN);
	assert_memory_equal(line, "TLSGate-Report: v=1; mac=", 25);
	assert_memory_equal(line + TG_SUBMARK_LINE_LEN - 2, "\r\n", 2);
	snprintf(msg, sizeof(msg), "%s%s", line, BODY);
	assert_true(tg_submark_check(KEY, msg, strlen(msg), &off));
	assert_int_equal(off, TG_SUBMARK_LINE_LEN);
	/* Another key, a changed byte, a cut message: no. */
	assert_false(tg_submark_check(other, msg, strlen(msg), NULL));
	msg[strlen(msg) - 3] ^= 1;
	assert_false(tg_submark_check(KEY, msg, strlen(msg), NULL));
	msg[strlen(msg) - 3] ^= 1;
	assert_false(tg_submark_check(KEY, msg, strlen(msg) - 1, NULL));
	assert_false(tg_submark_check(KEY, msg, 20, NULL));
	/* The field name is case-insensitive (RFC 5322 §1.2.2). */
	msg[0] = 't';
	assert_true(tg_submark_check(KEY, msg, strlen(msg), NULL));
}

static void
test_locate(void **state)
{
	static const char first[] = "TLSGate-Report: v=1; mac=00\r\nX: y\r\n";
	static const char after[] = "Received: from a\r\n\tby b;\r\n"
	    " date\r\nTLSGate-Report: v=1\r\n";
	static const char later[] = "Received: from a\r\nX-Other: 1\r\n"
	    "TLSGate-Report: v=1\r\n";
	static const char two[] = "Received: a\r\nReceived: b\r\n"
	    "TLSGate-Report: v=1\r\n";
	static const char prefix[] = "TLSGate-Reportx: v=1\r\n";
	static const char none[] = "Subject: hi\r\n\r\nTLSGate-Report: x\r\n";
	char big[TG_SUBMARK_SEARCH_MAX + 64];

	(void)state;
	assert_int_equal(tg_submark_locate(first, strlen(first)), 0);
	assert_int_equal(tg_submark_locate(after, strlen(after)),
	    (long)(strstr(after, "TLSGate") - after));
	assert_int_equal(tg_submark_locate(later, strlen(later)), -1);
	assert_int_equal(tg_submark_locate(two, strlen(two)), -1);
	assert_int_equal(tg_submark_locate(prefix, strlen(prefix)), -1);
	assert_int_equal(tg_submark_locate(none, strlen(none)), -1);
	assert_int_equal(tg_submark_locate("", 0), -1);
	assert_int_equal(tg_submark_locate("Received", 8), -1);
	/* A Received field longer than the search window: not looked for. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "Received: ", 10);
	memcpy(big + sizeof(big) - 24, "\r\nTLSGate-Report: v=1\r\n", 23);
	assert_int_equal(tg_submark_locate(big, sizeof(big)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_and_check),
		cmocka_unit_test(test_locate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
