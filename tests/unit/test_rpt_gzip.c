/*
 * Unit tests of rpt/gzip: one member only, CRC/ISIZE, truncation, caps,
 * ratio, one layer, streaming in arbitrary pieces (RELIABILITY R-01).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "rpt/gzip.h"
#include "util/limits.h"

static const char sample[] =
    "{\"organization-name\":\"Example Org\",\"policies\":[{\"policy\":"
    "{\"policy-type\":\"no-policy-found\",\"policy-domain\":\"example.net\"},"
    "\"summary\":{\"total-successful-session-count\":1,"
    "\"total-failure-session-count\":0}}]}";

/* gzip of n bytes (borrowed) into a fresh buffer. */
static struct tg_buf
gz(const void *p, size_t n)
{
	struct tg_buf b;
	struct tg_err err;

	tg_buf_init(&b, 0);
	if (tg_gzip_deflate(p, n, 64 * 1024 * 1024, &b, &err) != 0)
		fail_msg("deflate: %s", err.msg);
	return b;
}

static void
expect_inflate_error(const void *p, size_t n, size_t cap, unsigned ratio,
    const char *substr)
{
	struct tg_buf out;
	struct tg_err err;

	tg_buf_init(&out, 0);
	if (tg_gzip_inflate(p, n, cap, ratio, &out, &err) == 0)
		fail_msg("inflate succeeded, expected '%s'", substr);
	if (strstr(err.msg, substr) == NULL)
		fail_msg("error '%s' lacks '%s'", err.msg, substr);
	assert_int_equal(err.cls, TG_ERR_PERM);
	assert_int_equal(out.len, 0);
	tg_buf_free(&out);
}

static void
test_roundtrip(void **state)
{
	struct tg_buf c, out;
	struct tg_err err;

	(void)state;
	c = gz(sample, strlen(sample));
	assert_true(tg_gzip_is_gzip(c.data, c.len));
	assert_true(c.len < strlen(sample));
	tg_buf_init(&out, 0);
	assert_int_equal(tg_gzip_inflate(c.data, c.len, 0, 0, &out, &err), 0);
	assert_int_equal(out.len, strlen(sample));
	assert_memory_equal(out.data, sample, out.len);
	tg_buf_free(&out);
	tg_buf_free(&c);
}

/* Fed one byte at a time, the result is the same as in one piece. */
static void
test_streamed_bytewise(void **state)
{
	struct tg_gzip_inflater *z;
	struct tg_buf c, out;
	struct tg_err err;
	size_t i;

	(void)state;
	c = gz(sample, strlen(sample));
	z = tg_gzip_inflater_new(0, 0);
	assert_non_null(z);
	for (i = 0; i < c.len; i++)
		if (tg_gzip_inflater_feed(z, c.data + i, 1, &err) != 0)
			fail_msg("byte %zu: %s", i, err.msg);
	tg_buf_init(&out, 0);
	assert_int_equal(tg_gzip_inflater_finish(z, &out, &err), 0);
	assert_int_equal(out.len, strlen(sample));
	assert_memory_equal(out.data, sample, out.len);
	tg_gzip_inflater_free(z);
	tg_buf_free(&out);
	tg_buf_free(&c);
}

static void
test_truncated(void **state)
{
	struct tg_buf c;

	(void)state;
	c = gz(sample, strlen(sample));
	expect_inflate_error(c.data, c.len - 4, 0, 0, "truncated");
	expect_inflate_error(c.data, c.len / 2, 0, 0, "truncated");
	expect_inflate_error(c.data, 5, 0, 0, "truncated");
	expect_inflate_error(c.data, 0, 0, 0, "empty input");
	tg_buf_free(&c);
}

/* 10 MiB of zeros compress to about 10 KB: the output cap stops it. */
static void
test_bomb_output_cap(void **state)
{
	size_t n = 10 * 1024 * 1024;
	char *zeros = calloc(1, n);
	struct tg_buf c;

	(void)state;
	assert_non_null(zeros);
	c = gz(zeros, n);
	free(zeros);
	assert_true(c.len < 20 * 1024);
	expect_inflate_error(c.data, c.len, 0, 1000000, "exceeds the limit");
	/* The default ratio cap fires first, long before the output cap. */
	expect_inflate_error(c.data, c.len, 0, 0, "ratio");
	tg_buf_free(&c);
}

/* A smaller bomb that fits under the output cap still trips the ratio. */
static void
test_bomb_ratio(void **state)
{
	size_t n = 1024 * 1024;
	char *zeros = calloc(1, n);
	struct tg_buf c, out;
	struct tg_err err;

	(void)state;
	assert_non_null(zeros);
	c = gz(zeros, n);
	expect_inflate_error(c.data, c.len, 0, 0, "ratio");
	/* With a ratio cap above deflate's maximum it inflates fully. */
	tg_buf_init(&out, 0);
	assert_int_equal(tg_gzip_inflate(c.data, c.len, 0, 2000, &out, &err),
	    0);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, zeros, n);
	free(zeros);
	tg_buf_free(&out);
	tg_buf_free(&c);
}

/* A legitimate but highly repetitive report (1000 identical
 * failure-details, about 170:1) stays under the default ratio cap. */
static void
test_repetitive_report_passes(void **state)
{
	static const char entry[] = "{\"result-type\":\"certificate-expired\","
	    "\"sending-mta-ip\":\"192.0.2.1\",\"receiving-mx-hostname\":"
	    "\"mx1.receiver.example\",\"failed-session-count\":1},";
	struct tg_buf js, c, out;
	struct tg_err err;
	size_t i;

	(void)state;
	tg_buf_init(&js, 1 << 20);
	assert_int_equal(tg_buf_puts(&js, "{\"failure-details\":["), 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(tg_buf_puts(&js, entry), 0);
	assert_int_equal(tg_buf_puts(&js, "{}]}"), 0);
	c = gz(js.data, js.len);
	assert_true(js.len / c.len > 100);
	tg_buf_init(&out, 0);
	if (tg_gzip_inflate(c.data, c.len, 0, 0, &out, &err) != 0)
		fail_msg("%s (ratio %zu)", err.msg, js.len / c.len);
	assert_int_equal(out.len, js.len);
	tg_buf_free(&out);
	tg_buf_free(&c);
	tg_buf_free(&js);
}

static void
test_concatenated_members(void **state)
{
	struct tg_buf a, two;
	size_t i;

	(void)state;
	a = gz(sample, strlen(sample));
	tg_buf_init(&two, 1024 * 1024);
	for (i = 0; i < 1000; i++)
		assert_int_equal(tg_buf_append(&two, a.data, a.len), 0);
	expect_inflate_error(two.data, 2 * a.len, 0, 0, "second gzip member");
	expect_inflate_error(two.data, two.len, 0, 0, "second gzip member");
	tg_buf_free(&a);
	tg_buf_free(&two);
}

/* The second member arriving in a later feed is refused as well. */
static void
test_member_in_later_feed(void **state)
{
	struct tg_gzip_inflater *z;
	struct tg_buf a, out;
	struct tg_err err;

	(void)state;
	a = gz(sample, strlen(sample));
	z = tg_gzip_inflater_new(0, 0);
	assert_int_equal(tg_gzip_inflater_feed(z, a.data, a.len, &err), 0);
	assert_int_equal(tg_gzip_inflater_feed(z, a.data, 1, &err), -1);
	assert_non_null(strstr(err.msg, "second gzip member"));
	/* The failure sticks. */
	tg_buf_init(&out, 0);
	assert_int_equal(tg_gzip_inflater_finish(z, &out, &err), -1);
	assert_non_null(strstr(err.msg, "second gzip member"));
	tg_gzip_inflater_free(z);
	tg_buf_free(&a);
}

static void
test_trailing_garbage(void **state)
{
	struct tg_buf a;

	(void)state;
	a = gz(sample, strlen(sample));
	assert_int_equal(tg_buf_append(&a, "\n", 1), 0);
	expect_inflate_error(a.data, a.len, 0, 0, "trailing data");
	a.len--;
	assert_int_equal(tg_buf_append(&a, "\0\0\0\0", 4), 0);
	expect_inflate_error(a.data, a.len, 0, 0, "trailing data");
	tg_buf_free(&a);
}

/* RFC 1952 §2.3.1: the trailer is CRC32 then ISIZE, little-endian. */
static void
test_bad_crc_and_isize(void **state)
{
	struct tg_buf a;

	(void)state;
	a = gz(sample, strlen(sample));
	a.data[a.len - 8] ^= 0x01;
	expect_inflate_error(a.data, a.len, 0, 0, "CRC-32");
	a.data[a.len - 8] ^= 0x01;
	a.data[a.len - 4] ^= 0x01;
	expect_inflate_error(a.data, a.len, 0, 0, "ISIZE");
	a.data[a.len - 4] ^= 0x01;
	a.data[a.len / 2] ^= 0x55;	/* the deflate data itself */
	expect_inflate_error(a.data, a.len, 0, 0, "gzip:");
	tg_buf_free(&a);
}

static void
test_gzip_inside_gzip(void **state)
{
	struct tg_buf inner, outer;

	(void)state;
	inner = gz(sample, strlen(sample));
	outer = gz(inner.data, inner.len);
	expect_inflate_error(outer.data, outer.len, 0, 0,
	    "only one compression layer");
	tg_buf_free(&inner);
	tg_buf_free(&outer);
}

static void
test_not_gzip(void **state)
{
	(void)state;
	expect_inflate_error(sample, strlen(sample), 0, 0, "not gzip");
	/* zlib-wrapped (RFC 1950) data is not gzip either. */
	expect_inflate_error("\x78\x9c\x03\x00\x00\x00\x00\x01", 8, 0, 0,
	    "not gzip");
	expect_inflate_error("\x1f\x00", 2, 0, 0, "not gzip");
}

/* The output cap is exact: cap == size passes, cap == size - 1 fails. */
static void
test_exact_cap(void **state)
{
	struct tg_buf c, out;
	struct tg_err err;
	size_t n = strlen(sample);

	(void)state;
	c = gz(sample, n);
	tg_buf_init(&out, 0);
	assert_int_equal(tg_gzip_inflate(c.data, c.len, n, 0, &out, &err), 0);
	assert_int_equal(out.len, n);
	tg_buf_free(&out);
	expect_inflate_error(c.data, c.len, n - 1, 0, "exceeds the limit");
	tg_buf_free(&c);
}

static void
test_deflate_cap(void **state)
{
	struct tg_buf out;
	struct tg_err err;

	(void)state;
	tg_buf_init(&out, 0);
	assert_int_equal(tg_gzip_deflate(sample, strlen(sample), 10, &out,
	    &err), -1);
	assert_non_null(strstr(err.msg, "exceeds"));
	assert_int_equal(out.len, 0);
	tg_buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_streamed_bytewise),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bomb_output_cap),
		cmocka_unit_test(test_bomb_ratio),
		cmocka_unit_test(test_repetitive_report_passes),
		cmocka_unit_test(test_concatenated_members),
		cmocka_unit_test(test_member_in_later_feed),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_bad_crc_and_isize),
		cmocka_unit_test(test_gzip_inside_gzip),
		cmocka_unit_test(test_not_gzip),
		cmocka_unit_test(test_exact_cap),
		cmocka_unit_test(test_deflate_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
