/*
 * Unit tests of rpt/inbox: a message stored whole under its name (the
 * directory made when missing, no temporary file left), a message over
 * the cap or a failing reader leaving nothing, the files listed oldest
 * name first without temporary ones, and what rptd does with a file
 * after each outcome.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rpt/inbox.h"

struct src {
	const char *data;
	size_t len, off, piece;
	int fail_at;		/* fail on this call (1-based); 0 never */
	int calls;
};

static ssize_t
src_read(void *arg, void *buf, size_t cap, struct tg_err *err)
{
	struct src *s = arg;
	size_t n = s->len - s->off;

	if (++s->calls == s->fail_at)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "read failed");
	if (n > s->piece)
		n = s->piece;
	if (n > cap)
		n = cap;
	memcpy(buf, s->data + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static char top[64], dir[128];

static int
setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "/tmp/tg-inbox-XXXXXX");
	assert_non_null(mkdtemp(top));
	snprintf(dir, sizeof(dir), "%s/reports/inbox", top);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	nftw(top, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void
slurp(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
}

struct seen {
	char names[8][64];
	int n;
};

static int
seen_one(void *arg, const char *path, time_t mtime)
{
	struct seen *s = arg;
	const char *slash = strrchr(path, '/');

	assert_true(mtime > 0);
	snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", slash + 1);
	return 0;
}

static void
test_put_and_each(void **state)
{
	static const char msg[] =
	    "From: a@b\r\nSubject: report\r\n\r\nbody\r\n";
	struct src s = { msg, sizeof(msg) - 1, 0, 7, 0, 0 };
	struct src s2 = { msg, sizeof(msg) - 1, 0, 100, 0, 0 };
	struct seen seen = { { { 0 } }, 0 };
	char path[256], got[256];
	struct tg_err err;
	FILE *f;

	(void)state;
	/* No directory yet: no files, not an error. */
	assert_int_equal(tg_inbox_each(dir, 10, seen_one, &seen, &err), 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(tg_inbox_put(dir, "01M0000000000000B", src_read, &s,
	    1024, &err), 0);
	assert_int_equal(tg_inbox_put(dir, "01M0000000000000A", src_read, &s2,
	    1024, &err), 0);
	snprintf(path, sizeof(path), "%s/01M0000000000000B.eml", dir);
	slurp(path, got, sizeof(got));
	assert_string_equal(got, msg);
	/* A temporary file is not a message. */
	snprintf(path, sizeof(path), "%s/.01M0000000000000C.tmp", dir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	assert_int_equal(tg_inbox_each(dir, 10, seen_one, &seen, &err), 0);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.names[0], "01M0000000000000A.eml");
	assert_string_equal(seen.names[1], "01M0000000000000B.eml");
	/* At most max files. */
	seen.n = 0;
	assert_int_equal(tg_inbox_each(dir, 1, seen_one, &seen, &err), 0);
	assert_int_equal(seen.n, 1);
}

static void
test_put_fails_cleanly(void **state)
{
	static const char msg[] = "0123456789abcdef";
	struct src big = { msg, sizeof(msg) - 1, 0, 4, 0, 0 };
	struct src bad = { msg, sizeof(msg) - 1, 0, 4, 2, 0 };
	struct seen seen = { { { 0 } }, 0 };
	struct tg_err err;
	char path[256];

	(void)state;
	assert_int_equal(tg_inbox_put(dir, "01M0000000000000D", src_read,
	    &big, 8, &err), -1);
	assert_int_equal(err.cls, TG_ERR_PERM);
	assert_int_equal(tg_inbox_put(dir, "01M0000000000000E", src_read,
	    &bad, 1024, &err), -1);
	assert_int_equal(err.cls, TG_ERR_TEMP);
	assert_int_equal(tg_inbox_each(dir, 10, seen_one, &seen, &err), 0);
	assert_int_equal(seen.n, 0);
	snprintf(path, sizeof(path), "%s/.01M0000000000000D.tmp", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/.01M0000000000000E.tmp", dir);
	assert_int_not_equal(access(path, F_OK), 0);
}

static void
test_done(void **state)
{
	time_t now = 1800000000;

	(void)state;
	assert_true(tg_inbox_done(TG_COLLECT_STORED, now, now));
	assert_true(tg_inbox_done(TG_COLLECT_DUPLICATE, now, now));
	/* RFC 8460 §3: an unauthenticated report is ignored for good. */
	assert_true(tg_inbox_done(TG_COLLECT_UNSIGNED, now, now));
	assert_true(tg_inbox_done(TG_COLLECT_INVALID, now, now));
	assert_true(tg_inbox_done(TG_COLLECT_NOT_OURS, now, now));
	/* A DNS failure: again later, for a day. */
	assert_false(tg_inbox_done(TG_COLLECT_TEMP, now - 60, now));
	assert_false(tg_inbox_done(TG_COLLECT_TEMP,
	    now - TG_INBOX_RETRY_S + 1, now));
	assert_true(tg_inbox_done(TG_COLLECT_TEMP, now - TG_INBOX_RETRY_S,
	    now));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_and_each, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_put_fails_cleanly, setup,
		    teardown),
		cmocka_unit_test(test_done),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
