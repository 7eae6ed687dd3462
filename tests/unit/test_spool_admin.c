/*
 * Unit tests of the spool's operator and delivery helpers: independent
 * read cursors (two transactions streaming one message), delete by the
 * owner and from a read-only spool (the owner drops the message at its
 * next open or start, and nothing is delivered), and flush (every
 * deferred message due now, a release by another process seen).
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

#include "smtp/spool.h"
#include "util/clock.h"

struct fx {
	char dir[64];
	struct tg_spool *sp;	/* owner */
	struct tg_spool *ro;	/* read-only, like the CLI */
};

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct tg_err err;

	snprintf(f->dir, sizeof(f->dir), "/tmp/tg-spadm-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(tg_spool_open(f->dir, NULL, &f->sp, &err), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tg_spool_free(f->ro);
	tg_spool_free(f->sp);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	tg_clock_set(0);
	return 0;
}

static void
open_ro(struct fx *f)
{
	struct tg_spool_opts o = { TG_SPOOL_READONLY, 0, NULL, NULL, NULL };
	struct tg_err err;

	tg_spool_free(f->ro);
	assert_int_equal(tg_spool_open(f->dir, &o, &f->ro, &err), 0);
}

/* Queue a message with nrcpt recipients and content; its id into qid. */
static void
queue_msg(struct fx *f, size_t nrcpt, const char *content,
    char qid[TG_SPOOL_QID_LEN + 1])
{
	struct tg_spool_rcpt r[3] = { { "a@one.example", NULL, 0 },
	    { "b@two.example", NULL, 0 }, { "c@two.example", NULL, 0 } };
	struct tg_spool_env env;
	struct tg_spool_wmsg *w;
	struct tg_err err;

	memset(&env, 0, sizeof(env));
	env.sender = "s@inside.example";
	env.helo = "inside.example";
	env.client_addr = "127.0.0.1";
	env.proto = "ESMTP";
	env.rcpt = r;
	env.nrcpt = nrcpt;
	assert_int_equal(tg_spool_begin(f->sp, &env, &w, &err), 0);
	assert_int_equal(tg_spool_write(w, content, strlen(content), &err), 0);
	assert_int_equal(tg_spool_commit(&w, qid, &err), 0);
}

static int
count_due(void *arg, const char *qid)
{
	(void)qid;
	(*(int *)arg)++;
	return 0;
}

static int
due_now(struct fx *f)
{
	int n = 0;

	tg_spool_due(f->sp, tg_clock_now(), count_due, &n);
	return n;
}

/* Two cursors read the same content independently, interleaved. */
static void
test_cursors(void **state)
{
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1], a[200000], b[200000], *big;
	struct tg_spool_cursor c1, c2;
	struct tg_spool_msg *m;
	struct tg_err err;
	size_t n = 150000, i, la = 0, lb = 0;
	ssize_t r;

	big = malloc(n + 1);
	assert_non_null(big);
	for (i = 0; i < n; i++)
		big[i] = (char)('a' + i % 23);
	big[n] = '\0';
	queue_msg(f, 1, big, qid);
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err), 0);
	tg_spool_cursor_init(m, &c1);
	tg_spool_cursor_init(m, &c2);
	for (;;) {
		r = tg_spool_msg_pread(m, &c1, a + la, 1000, &err);
		assert_true(r >= 0);
		la += (size_t)r;
		r = tg_spool_msg_pread(m, &c2, b + lb, 333, &err);
		assert_true(r >= 0);
		lb += (size_t)r;
		if (la == n && lb == n)
			break;
		assert_true(la <= n && lb <= n);
	}
	assert_int_equal(tg_spool_msg_pread(m, &c1, a, 10, &err), 0);
	assert_memory_equal(a, big, n);
	assert_memory_equal(b, big, n);
	/* The message's own position is a third one, untouched so far. */
	r = tg_spool_msg_read(m, a, 5, &err);
	assert_int_equal(r, 5);
	assert_memory_equal(a, "abcde", 5);
	assert_int_equal(tg_spool_msg_close(&m, &err), 0);
	free(big);
}

static void
test_delete_owner(void **state)
{
	struct fx *f = *state;
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_spool_msg *m;
	struct tg_err err;

	queue_msg(f, 2, "x\r\n", qid);
	assert_int_equal(tg_spool_count(f->sp), 1);
	/* Open for delivery: refused, the caller tries again. */
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err), 0);
	assert_int_equal(tg_spool_delete(f->sp, qid, "by test", &err), -1);
	assert_int_equal(err.cls, TG_ERR_TEMP);
	assert_int_equal(tg_spool_msg_close(&m, &err), 0);
	assert_int_equal(tg_spool_delete(f->sp, qid, "by test", &err), 0);
	assert_int_equal(tg_spool_count(f->sp), 0);
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err),
	    TG_SPOOL_NOTFOUND);
	assert_int_equal(tg_spool_delete(f->sp, qid, NULL, &err),
	    TG_SPOOL_NOTFOUND);
	assert_int_equal(tg_spool_delete(f->sp, "nonsense", NULL, &err),
	    TG_SPOOL_NOTFOUND);
}

/* Deleted by the CLI: the owner finds every recipient final at open
 * and the message goes away at close; or at the next start. */
static void
test_delete_readonly(void **state)
{
	struct fx *f = *state;
	char q1[TG_SPOOL_QID_LEN + 1], q2[TG_SPOOL_QID_LEN + 1];
	const struct tg_spool_rcpt_state *rs;
	struct tg_spool_msg *m;
	struct tg_err err;

	queue_msg(f, 3, "one\r\n", q1);
	queue_msg(f, 1, "two\r\n", q2);
	open_ro(f);
	assert_int_equal(tg_spool_delete(f->ro, q1, "deleted by the operator",
	    &err), 0);
	assert_int_equal(tg_spool_count(f->ro), 2);	/* the owner removes */
	assert_int_equal(tg_spool_msg_open(f->sp, q1, &m, &err), 0);
	assert_true(tg_spool_msg_done(m));
	rs = tg_spool_msg_rcpt(m, 2);
	assert_int_equal(rs->state, TG_SPOOL_FAILED);
	assert_string_equal(rs->reason, "deleted by the operator");
	assert_int_equal(tg_spool_msg_close(&m, &err), 1);
	assert_int_equal(tg_spool_count(f->sp), 1);
	/* The second one, deleted while the owner is down. */
	assert_int_equal(tg_spool_delete(f->ro, q2, NULL, &err), 0);
	tg_spool_free(f->sp);
	assert_int_equal(tg_spool_open(f->dir, NULL, &f->sp, &err), 0);
	assert_int_equal(tg_spool_count(f->sp), 0);
}

static void
defer_all(struct fx *f, const char *qid, time_t next)
{
	struct tg_spool_msg *m;
	struct tg_err err;
	size_t i;

	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err), 0);
	for (i = 0; i < tg_spool_msg_env(m)->nrcpt; i++)
		assert_int_equal(tg_spool_mark(m, i, TG_SPOOL_DEFERRED, next,
		    "4.4.1 later", &err), 0);
	assert_int_equal(tg_spool_msg_close(&m, &err), 0);
}

static void
test_flush(void **state)
{
	struct fx *f = *state;
	char q1[TG_SPOOL_QID_LEN + 1], q2[TG_SPOOL_QID_LEN + 1];
	char q3[TG_SPOOL_QID_LEN + 1];
	struct tg_spool_msg *m;
	struct tg_err err;
	time_t now = tg_clock_now();

	queue_msg(f, 1, "1\r\n", q1);
	queue_msg(f, 2, "2\r\n", q2);
	queue_msg(f, 1, "3\r\n", q3);
	defer_all(f, q1, now + 3600);
	defer_all(f, q2, now + 7200);
	/* q3 held by the CLI and later released by it: the owner only
	 * learns of the release at a flush. */
	assert_int_equal(tg_spool_hold(f->sp, q3, 1, &err), 0);
	open_ro(f);
	assert_int_equal(tg_spool_hold(f->ro, q3, 0, &err), 0);
	assert_int_equal(due_now(f), 0);
	/* An open message stays as it is. */
	assert_int_equal(tg_spool_msg_open(f->sp, q2, &m, &err), 0);
	assert_int_equal(tg_spool_flush(f->sp), 2);
	assert_int_equal(due_now(f), 2);
	assert_int_equal(tg_spool_msg_close(&m, &err), 0);
	assert_int_equal(tg_spool_flush(f->sp), 3);
	assert_int_equal(due_now(f), 3);
	/* The journals keep the retry times: a restart returns to them. */
	tg_spool_free(f->sp);
	assert_int_equal(tg_spool_open(f->dir, NULL, &f->sp, &err), 0);
	assert_int_equal(due_now(f), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cursors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_owner, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_delete_readonly, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
