/*
 * Unit tests of smtp/spool: round trips (binary content, every envelope
 * field), commit order (the file reaches queue/ only after its fsync and
 * rename, and the directory fsync precedes the return), abort, write /
 * fsync / rename failures at every call (451/452 class, nothing left on
 * disk, no fsync retried), group commit, the size cap, crash leftovers at
 * start, recipient state across reopen (only undelivered recipients are
 * tried again), torn journals, journal compaction, hold/release, the
 * owner lock, read-only use, free space, and queue id uniqueness.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smtp/spool.h"
#include "smtp/spool_int.h"
#include "smtp/spool_jnl.h"
#include "util/clock.h"
#include "util/err.h"

/* ---- Fault injection through struct tg_spool_io ------------------------ */

enum { OP_WRITE, OP_FSYNC, OP_RENAME, OP_N };

static struct {
	int armed;
	int op, at, eno;	/* fail call number `at` of op with eno */
	int calls[OP_N];
	int fsync_after_fail;	/* fsync calls after a failed one */
	int failed_fsync;
	const struct fx *f;	/* for the order checks */
	const char *qid;
	char log[256];
} fi;

/* ---- Fixture: a temporary spool directory ------------------------------ */

struct fx {
	char dir[64];
	struct tg_spool *sp;
	int events[TG_SPOOL_EV_IO_ERROR + 1];
};

static void
on_event(void *arg, enum tg_spool_event ev, const char *name,
    const char *detail)
{
	struct fx *f = arg;

	(void)name;
	(void)detail;
	f->events[ev]++;
}

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

	snprintf(f->dir, sizeof(f->dir), "/tmp/tg-spool-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tg_spool_free(f->sp);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	tg_clock_set(0);
	memset(&fi, 0, sizeof(fi));	/* a failed test leaves it armed */
	return 0;
}

static void
fx_open_opts(struct fx *f, const struct tg_spool_io *io, uint64_t max,
    unsigned flags)
{
	struct tg_spool_opts o = { flags, max, io, on_event, f };
	struct tg_err err;

	tg_spool_free(f->sp);
	f->sp = NULL;
	memset(f->events, 0, sizeof(f->events));
	if (tg_spool_open(f->dir, &o, &f->sp, &err) != 0)
		fail_msg("open: %s", err.msg);
}

static void
fx_open(struct fx *f)
{
	fx_open_opts(f, NULL, 0, 0);
}

/* Number of entries in <dir>/<sub>. */
static int
count_dir(const struct fx *f, const char *sub)
{
	char p[128];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(p, sizeof(p), "%s/%s", f->dir, sub);
	assert_non_null(d = opendir(p));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int
exists(const struct fx *f, const char *sub, const char *name)
{
	char p[160];

	if (snprintf(p, sizeof(p), "%s/%s/%s", f->dir, sub, name) >=
	    (int)sizeof(p))
		fail_msg("path too long");
	return access(p, F_OK) == 0;
}

/* ---- Envelopes and messages --------------------------------------------- */

static struct tg_spool_rcpt rcpts3[] = {
	{ "alice@example.org", "rfc822;alice@example.org",
	    TG_SPOOL_NOTIFY_SUCCESS | TG_SPOOL_NOTIFY_FAILURE },
	{ "bob@example.net", NULL, 0 },
	{ "\xc3\xa9lo\xc3\xafse@example.com", "utf-8;\xc3\xa9lo\xc3\xafse@x",
	    TG_SPOOL_NOTIFY_NEVER },
};

static struct tg_spool_env
env3(size_t nrcpt)
{
	struct tg_spool_env e;

	memset(&e, 0, sizeof(e));
	e.sender = "sender@example.com";
	e.envid = "QQ314159";
	e.ret = TG_SPOOL_RET_HDRS;
	e.flags = TG_SPOOL_F_SMTPUTF8 | TG_SPOOL_F_8BITMIME;
	e.helo = "client.example.com";
	e.client_addr = "192.0.2.7";
	e.client_name = "client.example.com";
	e.proto = "ESMTPS";
	e.tls_version = "TLSv1.3";
	e.tls_cipher = "TLS_AES_256_GCM_SHA384";
	e.rcpt = rcpts3;
	e.nrcpt = nrcpt;
	return e;
}

/* Receive one message; returns its id in qid. */
static void
put_msg(struct tg_spool *sp, const struct tg_spool_env *env, const void *p,
    size_t n, size_t step, char *qid)
{
	struct tg_spool_wmsg *w;
	struct tg_err err;
	size_t off, k;

	if (tg_spool_begin(sp, env, &w, &err) != 0)
		fail_msg("begin: %s", err.msg);
	for (off = 0; off < n; off += k) {
		k = n - off < step ? n - off : step;
		if (tg_spool_write(w, (const char *)p + off, k, &err) != 0)
			fail_msg("write: %s", err.msg);
	}
	assert_int_equal(tg_spool_wmsg_size(w), n);
	if (tg_spool_commit(&w, qid, &err) != 0)
		fail_msg("commit: %s", err.msg);
	assert_null(w);
	assert_true(tg_spool_qid_valid(qid));
}

/* The whole content of an open message, read cap bytes at a time. */
static uint8_t *
get_content(struct tg_spool_msg *m, size_t cap, size_t *len)
{
	size_t n = 0, size = (size_t)tg_spool_msg_size(m);
	uint8_t *b = malloc(size + cap + 1);
	struct tg_err err;
	ssize_t r;

	while ((r = tg_spool_msg_read(m, b + n, cap, &err)) > 0) {
		n += (size_t)r;
		assert_true(n <= size);
	}
	if (r < 0)
		fail_msg("read: %s", err.msg);
	*len = n;
	return b;
}

static void
assert_str_opt(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void
assert_env_equal(const struct tg_spool_env *a, const struct tg_spool_env *b)
{
	size_t i;

	assert_string_equal(a->sender, b->sender);
	assert_str_opt(a->envid, b->envid);
	assert_int_equal(a->ret, b->ret);
	assert_int_equal(a->flags, b->flags);
	assert_str_opt(a->helo, b->helo);
	assert_str_opt(a->client_addr, b->client_addr);
	assert_str_opt(a->client_name, b->client_name);
	assert_str_opt(a->proto, b->proto);
	assert_str_opt(a->tls_version, b->tls_version);
	assert_str_opt(a->tls_cipher, b->tls_cipher);
	assert_int_equal(a->nrcpt, b->nrcpt);
	for (i = 0; i < a->nrcpt; i++) {
		assert_string_equal(a->rcpt[i].addr, b->rcpt[i].addr);
		assert_str_opt(a->rcpt[i].orcpt, b->rcpt[i].orcpt);
		assert_int_equal(a->rcpt[i].notify, b->rcpt[i].notify);
	}
}

static int
fi_hit(int op)
{
	if (!fi.armed)
		return 0;
	fi.calls[op]++;
	if (op == OP_FSYNC && fi.failed_fsync)
		fi.fsync_after_fail++;
	if (fi.op == op && fi.calls[op] == fi.at) {
		if (op == OP_FSYNC)
			fi.failed_fsync = 1;
		errno = fi.eno;
		return 1;
	}
	return 0;
}

static void
fi_log(char c)
{
	size_t n = strlen(fi.log);

	if (fi.armed && n + 1 < sizeof(fi.log))
		fi.log[n] = c, fi.log[n + 1] = '\0';
}

static ssize_t
fi_write(int fd, const void *b, size_t n)
{
	if (fi_hit(OP_WRITE))
		return -1;
	fi_log('w');
	return write(fd, b, n);
}

static int
fi_fsync(int fd)
{
	struct stat st;
	int dir;

	if (fi_hit(OP_FSYNC))
		return -1;
	dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
	fi_log(dir ? 'F' : 'f');
	/* Before the file's own fsync it must not be visible in queue/;
	 * at the directory fsync it must already be there. */
	if (fi.f != NULL && fi.qid != NULL)
		assert_int_equal(exists(fi.f, "queue", fi.qid), dir);
	return fsync(fd);
}

static int
fi_rename(int od, const char *o, int nd, const char *n)
{
	if (fi_hit(OP_RENAME))
		return -1;
	fi_log('r');
	if (fi.f != NULL && fi.qid != NULL)
		assert_false(exists(fi.f, "queue", fi.qid));
	return renameat2(od, o, nd, n, RENAME_NOREPLACE);
}

static const struct tg_spool_io fi_io = { fi_write, fi_fsync, fi_rename };

static void
fi_arm(int op, int at, int eno)
{
	memset(&fi, 0, sizeof(fi));
	fi.armed = 1;
	fi.op = op;
	fi.at = at;
	fi.eno = eno;
}

/* ---- Tests -------------------------------------------------------------- */

static void
test_qid_unique(void **state)
{
	char prev[TG_SPOOL_QID_LEN + 1] = "", id[TG_SPOOL_QID_LEN + 1];
	int i;

	(void)state;
	/* Strictly increasing implies unique; 100 000 in a few ms means
	 * many share a millisecond. */
	for (i = 0; i < 100000; i++) {
		tg_spool_qid_new(id);
		assert_true(tg_spool_qid_valid(id));
		assert_true(strcmp(prev, id) < 0);
		memcpy(prev, id, sizeof(id));
	}
	assert_false(tg_spool_qid_valid("0123456789ABCDEFGI"));	/* I */
	assert_false(tg_spool_qid_valid("0123456789ABCDEFG"));	/* short */
	assert_false(tg_spool_qid_valid("0123456789ABCDEFGHJ"));
	assert_false(tg_spool_qid_valid("../../etc/passwd00"));
	assert_false(tg_spool_qid_valid(NULL));
}

static void
test_roundtrip(void **state)
{
	struct fx *f = *state;
	struct tg_spool_env env = env3(3), env2 = env3(1);
	char qid[TG_SPOOL_QID_LEN + 1], qid2[TG_SPOOL_QID_LEN + 1];
	size_t n = 3 * TG_SPOOL_CHUNK + 1000, i, got;
	uint8_t *body = malloc(n), *back;
	struct tg_spool_msg *m;
	struct tg_err err;

	/* Every byte value, NULs, bare CR and LF, a 100 000-byte line. */
	for (i = 0; i < n; i++)
		body[i] = i < 256 * 16 ? (uint8_t)i : (uint8_t)('a' + i % 26);
	tg_clock_set(1800000000);
	fx_open(f);
	put_msg(f->sp, &env, body, n, 777, qid);
	env2.envid = NULL;
	env2.ret = TG_SPOOL_RET_UNSET;
	env2.helo = env2.client_name = env2.tls_version = NULL;
	env2.tls_cipher = NULL;
	env2.sender = "";			/* null reverse-path */
	put_msg(f->sp, &env2, "", 0, 1, qid2);	/* empty content */
	assert_true(strcmp(qid, qid2) < 0);
	fx_open(f);				/* a restart */
	assert_int_equal(tg_spool_count(f->sp), 2);
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err), 0);
	assert_string_equal(tg_spool_msg_env(m)->qid, qid);
	assert_int_equal(tg_spool_msg_env(m)->arrival, 1800000000);
	assert_env_equal(tg_spool_msg_env(m), &env);
	assert_int_equal(tg_spool_msg_size(m), n);
	back = get_content(m, 1000, &got);
	assert_int_equal(got, n);
	assert_memory_equal(back, body, n);
	free(back);
	tg_spool_msg_rewind(m);
	back = get_content(m, 1 << 20, &got);
	assert_int_equal(got, n);
	assert_memory_equal(back, body, n);
	free(back);
	assert_int_equal(tg_spool_msg_close(&m, &err), 0);
	assert_int_equal(tg_spool_msg_open(f->sp, qid2, &m, &err), 0);
	assert_env_equal(tg_spool_msg_env(m), &env2);
	assert_int_equal(tg_spool_msg_size(m), 0);
	back = get_content(m, 10, &got);
	assert_int_equal(got, 0);
	free(back);
	tg_spool_msg_close(&m, &err);
	free(body);
}

static void
test_envelope_rules(void **state)
{
	struct fx *f = *state;
	struct tg_spool_env env = env3(3);
	struct tg_spool_rcpt bad = { "x@y", NULL, TG_SPOOL_NOTIFY_NEVER |
	    TG_SPOOL_NOTIFY_DELAY };
	char big[TG_SPOOL_FIELD_MAX + 2];
	struct tg_spool_wmsg *w;
	struct tg_err err;

	fx_open(f);
	env.helo = "evil\r\nX-Injected: 1";
	assert_int_equal(tg_spool_begin(f->sp, &env, &w, &err), -1);
	assert_int_equal(err.cls, TG_ERR_TEMP);
	assert_string_equal(err.status, "4.3.0");
	env = env3(0);
	assert_int_equal(tg_spool_begin(f->sp, &env, &w, &err), -1);
	env = env3(1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	env.sender = big;
	assert_int_equal(tg_spool_begin(f->sp, &env, &w, &err), -1);
	env = env3(1);
	env.rcpt = &bad;			/* RFC 3461 §4.1 */
	assert_int_equal(tg_spool_begin(f->sp, &env, &w, &err), -1);
	assert_null(w);
	assert_int_equal(count_dir(f, "incoming"), 0);
}

static void
test_commit_order(void **state)
{
	struct fx *f = *state;
	struct tg_spool_env env = env3(2);
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_spool_wmsg *w;
	struct tg_err err;
	const char *p;

	fx_open_opts(f, &fi_io, 0, 0);
	assert_int_equal(tg_spool_begin(f->sp, &env, &w, &err), 0);
	assert_int_equal(tg_spool_write(w, "Subject: x\r\n\r\nhi\r\n", 18,
	    &err), 0);
	assert_true(exists(f, "incoming", tg_spool_wmsg_id(w)));
	fi_arm(-1, 0, 0);
	fi.f = f;
	fi.qid = tg_spool_wmsg_id(w);
	snprintf(qid, sizeof(qid), "%s", fi.qid);
	assert_false(exists(f, "queue", qid));
	assert_int_equal(tg_spool_commit(&w, NULL, &err), 0);
	/* Content and END written, then fsync(file), rename, fsync(dir). */
	p = strstr(fi.log, "frF");
	assert_non_null(p);
	assert_string_equal(p, "frF");
	assert_true(p > fi.log && p[-1] == 'w');
	assert_int_equal(fi.calls[OP_FSYNC], 2);
	memset(&fi, 0, sizeof(fi));
	assert_true(exists(f, "queue", qid));
	assert_int_equal(count_dir(f, "incoming"), 0);
	assert_int_equal(tg_spool_count(f->sp), 1);
}

static void
test_abort(void **state)
{
	struct fx *f = *state;
	struct tg_spool_env env = env3(1);
	struct tg_spool_wmsg *w;
	struct tg_err err;

	fx_open(f);
	assert_int_equal(tg_spool_begin(f->sp, &env, &w, &err), 0);
	assert_int_equal(tg_spool_write(w, "abc", 3, &err), 0);
	assert_int_equal(count_dir(f, "incoming"), 1);
	tg_spool_abort(&w);
	assert_null(w);
	tg_spool_abort(&w);			/* NULL-safe */
	assert_int_equal(count_dir(f, "incoming"), 0);
	assert_int_equal(count_dir(f, "queue"), 0);
	assert_int_equal(tg_spool_count(f->sp), 0);
}

/* One receive under fault injection; returns 0 if it was committed. */
static int
try_receive(struct fx *f, size_t n, struct tg_err *err)
{
	static char body[3 * TG_SPOOL_CHUNK];
	struct tg_spool_env env = env3(3);
	struct tg_spool_wmsg *w;
	int rc;

	memset(body, 'x', sizeof(body));
	if (tg_spool_begin(f->sp, &env, &w, err) != 0)
		return -1;
	rc = tg_spool_write(w, body, n, err);
	if (rc != 0) {
		tg_spool_abort(&w);
		return -1;
	}
	return tg_spool_commit(&w, NULL, err);
}

static void
test_faults(void **state)
{
	static const int enos[] = { EIO, ENOSPC, EDQUOT };
	struct fx *f = *state;
	struct tg_err err;
	int op, at, k, total[OP_N], rc;

	fx_open_opts(f, &fi_io, 0, 0);
	fi_arm(-1, 0, 0);
	assert_int_equal(try_receive(f, 2 * TG_SPOOL_CHUNK + 5, &err), 0);
	memcpy(total, fi.calls, sizeof(total));
	assert_true(total[OP_WRITE] >= 4 && total[OP_FSYNC] == 2 &&
	    total[OP_RENAME] == 1);
	for (op = 0; op < OP_N; op++)
		for (at = 1; at <= total[op]; at++)
			for (k = 0; k < 3; k++) {
				fi_arm(op, at, enos[k]);
				rc = try_receive(f, 2 * TG_SPOOL_CHUNK + 5,
				    &err);
				assert_int_equal(rc, -1);
				assert_int_equal(err.cls, TG_ERR_TEMP);
				assert_string_equal(err.status,
				    enos[k] == EIO ? "4.3.0" : "4.3.1");
				/* fsyncgate: never again after a failure. */
				assert_int_equal(fi.fsync_after_fail, 0);
				assert_int_equal(count_dir(f, "incoming"), 0);
				assert_int_equal(count_dir(f, "queue"), 1);
				assert_int_equal(tg_spool_count(f->sp), 1);
			}
	memset(&fi, 0, sizeof(fi));
	/* The service recovers once the disk does. */
	assert_int_equal(try_receive(f, 10, &err), 0);
	assert_int_equal(tg_spool_count(f->sp), 2);
}

static void
test_size_cap(void **state)
{
	struct fx *f = *state;
	struct tg_spool_env env = env3(1);
	char buf[600];
	struct tg_spool_wmsg *w;
	struct tg_err err;

	memset(buf, 'z', sizeof(buf));
	fx_open_opts(f, NULL, 1000, 0);
	assert_int_equal(tg_spool_max_size(f->sp), 1000);
	assert_int_equal(tg_spool_begin(f->sp, &env, &w, &err), 0);
	assert_int_equal(tg_spool_write(w, buf, 600, &err), 0);
	assert_int_equal(tg_spool_write(w, buf, 400, &err), 0);	/* = cap */
	assert_int_equal(tg_spool_write(w, buf, 1, &err), -1);
	assert_int_equal(err.cls, TG_ERR_PERM);
	assert_string_equal(err.status, "5.3.4");
	assert_int_equal(count_dir(f, "incoming"), 0);
	tg_err_clear(&err);
	assert_int_equal(tg_spool_write(w, buf, 1, &err), -1);	/* sticky */
	assert_string_equal(err.status, "5.3.4");
	assert_int_equal(tg_spool_commit(&w, NULL, &err), -1);
	assert_string_equal(err.status, "5.3.4");
	assert_int_equal(count_dir(f, "queue"), 0);
	assert_int_equal(tg_spool_count(f->sp), 0);
}

static void
test_batch(void **state)
{
	struct fx *f = *state;
	struct tg_spool_env env = env3(2);
	struct tg_spool_wmsg *w[20];
	struct tg_err errs[20];
	char ids[20][TG_SPOOL_QID_LEN + 1];
	int status[20], i;

	fx_open_opts(f, &fi_io, 0, 0);
	for (i = 0; i < 20; i++) {
		assert_int_equal(tg_spool_begin(f->sp, &env, &w[i], &errs[i]),
		    0);
		snprintf(ids[i], sizeof(ids[i]), "%s", tg_spool_wmsg_id(w[i]));
		assert_int_equal(tg_spool_write(w[i], ids[i], 18, &errs[i]), 0);
	}
	fi_arm(-1, 0, 0);
	assert_int_equal(tg_spool_commit_batch(f->sp, w, 20, status, errs), 0);
	assert_int_equal(fi.calls[OP_FSYNC], 21);	/* 20 files + 1 dir */
	for (i = 0; i < 20; i++) {
		assert_null(w[i]);
		assert_int_equal(status[i], 0);
		assert_true(exists(f, "queue", ids[i]));
	}
	/* The third file's fsync fails: only the third is refused. */
	for (i = 0; i < 5; i++)
		assert_int_equal(tg_spool_begin(f->sp, &env, &w[i], &errs[i]),
		    0);
	fi_arm(OP_FSYNC, 3, EIO);
	assert_int_equal(tg_spool_commit_batch(f->sp, w, 5, status, errs), -1);
	assert_int_equal(status[0] | status[1] | status[3] | status[4], 0);
	assert_int_equal(status[2], -1);
	assert_string_equal(errs[2].status, "4.3.0");
	assert_int_equal(tg_spool_count(f->sp), 24);
	/* The directory fsync fails: none of the batch is promised. */
	for (i = 0; i < 4; i++)
		assert_int_equal(tg_spool_begin(f->sp, &env, &w[i], &errs[i]),
		    0);
	fi_arm(OP_FSYNC, 5, ENOSPC);
	assert_int_equal(tg_spool_commit_batch(f->sp, w, 4, status, errs), -1);
	for (i = 0; i < 4; i++) {
		assert_int_equal(status[i], -1);
		assert_string_equal(errs[i].status, "4.3.1");
	}
	memset(&fi, 0, sizeof(fi));
	assert_int_equal(count_dir(f, "queue"), 24);
	assert_int_equal(count_dir(f, "incoming"), 0);
	fx_open(f);
	assert_int_equal(tg_spool_count(f->sp), 24);
}

/* Write a file with given bytes. */
static void
put_file(const struct fx *f, const char *sub, const char *name,
    const void *p, size_t n)
{
	char path[160];
	FILE *fp;

	if (snprintf(path, sizeof(path), "%s/%s/%s", f->dir, sub, name) >=
	    (int)sizeof(path))
		fail_msg("path too long");
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(p, 1, n, fp), n);
	fclose(fp);
}

static uint8_t *
get_file(const struct fx *f, const char *sub, const char *name, size_t *n)
{
	char path[160];
	uint8_t *b;
	struct stat st;
	FILE *fp;

	if (snprintf(path, sizeof(path), "%s/%s/%s", f->dir, sub, name) >=
	    (int)sizeof(path))
		fail_msg("path too long");
	assert_int_equal(stat(path, &st), 0);
	assert_non_null(b = malloc((size_t)st.st_size + 1));
	assert_non_null(fp = fopen(path, "rb"));
	*n = fread(b, 1, (size_t)st.st_size, fp);
	fclose(fp);
	return b;
}

static void
test_crash_leftovers(void **state)
{
	struct fx *f = *state;
	struct tg_spool_env env = env3(2);
	char a[TG_SPOOL_QID_LEN + 1], b[TG_SPOOL_QID_LEN + 1];
	char half[TG_SPOOL_QID_LEN + 1], orphan[TG_SPOOL_QID_LEN + 1];
	struct tg_spool_wmsg *w;
	struct tg_spool_msg *m;
	struct tg_err err;
	uint8_t *bytes, *q;
	size_t n, qn;

	fx_open(f);
	put_msg(f->sp, &env, "one\r\n", 5, 5, a);
	put_msg(f->sp, &env, "two\r\n", 5, 5, b);
	/* A writer that died mid-DATA: its file stays in incoming/. */
	assert_int_equal(tg_spool_begin(f->sp, &env, &w, &err), 0);
	assert_int_equal(tg_spool_write(w, "partial", 7, &err), 0);
	bytes = get_file(f, "incoming", tg_spool_wmsg_id(w), &n);
	put_file(f, "incoming", "garbage.tmp", "x", 1);
	/* A half-written object in queue/ (no END), as after a power loss
	 * that kept the rename but not the data. */
	tg_spool_qid_new(half);
	put_file(f, "queue", half, bytes, n);
	/* A journal left from a removed message, and a half rewrite. */
	tg_spool_qid_new(orphan);
	put_file(f, "state", orphan, "TGSPJNL\x01", 8);
	put_file(f, "state", "0000000000000000AA.tmp", "x", 1);
	put_file(f, "queue", "README", "hello", 5);
	tg_spool_abort(&w);	/* (its file is already copied) */
	put_file(f, "incoming", a, bytes, n);
	free(bytes);
	fx_open(f);
	assert_int_equal(f->events[TG_SPOOL_EV_EMBRYO_REMOVED], 2);
	assert_int_equal(f->events[TG_SPOOL_EV_QUARANTINED], 1);
	assert_int_equal(f->events[TG_SPOOL_EV_ORPHAN_REMOVED], 2);
	assert_int_equal(f->events[TG_SPOOL_EV_UNKNOWN], 1);
	assert_int_equal(count_dir(f, "incoming"), 0);
	assert_int_equal(count_dir(f, "state"), 0);
	assert_int_equal(tg_spool_count(f->sp), 2);
	assert_true(exists(f, "queue", a) && exists(f, "queue", b));
	assert_true(exists(f, "queue", "README"));	/* not ours: left */
	assert_false(exists(f, "queue", half));
	q = get_file(f, "corrupt", half, &qn);	/* moved, bytes intact */
	assert_int_equal(qn, n);
	free(q);
	/* Never delivered. */
	assert_int_equal(tg_spool_msg_open(f->sp, half, &m, &err),
	    TG_SPOOL_NOTFOUND);
	assert_null(m);
}

static void
mark(struct tg_spool_msg *m, size_t i, enum tg_spool_rstate st, time_t next,
    const char *why)
{
	struct tg_err err;

	if (tg_spool_mark(m, i, st, next, why, &err) != 0)
		fail_msg("mark: %s", err.msg);
}

struct seen {
	char ids[8][TG_SPOOL_QID_LEN + 1];
	int n;
};

static int
on_due(void *arg, const char *qid)
{
	struct seen *s = arg;

	if (s->n < 8)
		snprintf(s->ids[s->n++], TG_SPOOL_QID_LEN + 1, "%s", qid);
	return 0;
}

static void
test_state_reopen(void **state)
{
	struct fx *f = *state;
	struct tg_spool_env env = env3(3);
	char qid[TG_SPOOL_QID_LEN + 1];
	const struct tg_spool_rcpt_state *rs;
	struct tg_spool_msg *m, *m2;
	struct tg_err err;
	struct seen s;

	tg_clock_set(1800000000);
	fx_open(f);
	put_msg(f->sp, &env, "body\r\n", 6, 6, qid);
	assert_int_equal(tg_spool_next_due(f->sp), 0);
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err), 0);
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m2, &err), -1);
	assert_int_equal(err.cls, TG_ERR_TEMP);	/* already open */
	mark(m, 0, TG_SPOOL_DELIVERED, 0, "250 2.0.0 ok");
	mark(m, 1, TG_SPOOL_DEFERRED, 1800000600, "451 4.7.5 dane: no match");
	mark(m, 2, TG_SPOOL_FAILED, 0, "550 5.1.1 no such user");
	assert_int_equal(tg_spool_mark(m, 0, TG_SPOOL_DEFERRED, 0, NULL, &err),
	    -1);				/* final stays final */
	assert_int_equal(err.cls, TG_ERR_BUG);
	assert_int_equal(tg_spool_mark(m, 3, TG_SPOOL_DELIVERED, 0, NULL,
	    &err), -1);
	assert_false(tg_spool_msg_done(m));
	assert_int_equal(tg_spool_msg_close(&m, &err), 0);
	assert_int_equal(tg_spool_next_due(f->sp), 1800000600);
	fx_open(f);				/* restart */
	assert_int_equal(tg_spool_next_due(f->sp), 1800000600);
	memset(&s, 0, sizeof(s));
	tg_spool_due(f->sp, 1800000599, on_due, &s);
	assert_int_equal(s.n, 0);
	tg_spool_due(f->sp, 1800000600, on_due, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], qid);
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err), 0);
	rs = tg_spool_msg_rcpt(m, 0);
	assert_int_equal(rs->state, TG_SPOOL_DELIVERED);
	assert_int_equal(rs->attempts, 1);
	assert_int_equal(rs->last_attempt, 1800000000);
	rs = tg_spool_msg_rcpt(m, 1);
	assert_int_equal(rs->state, TG_SPOOL_DEFERRED);
	assert_int_equal(rs->next_attempt, 1800000600);
	assert_string_equal(rs->reason, "451 4.7.5 dane: no match");
	assert_int_equal(tg_spool_msg_rcpt(m, 2)->state, TG_SPOOL_FAILED);
	assert_null(tg_spool_msg_rcpt(m, 3));
	mark(m, 1, TG_SPOOL_DELIVERED, 0, "250 ok");
	assert_int_equal(tg_spool_msg_rcpt(m, 1)->attempts, 2);
	assert_true(tg_spool_msg_done(m));
	assert_int_equal(tg_spool_msg_close(&m, &err), 1);	/* removed */
	assert_int_equal(tg_spool_count(f->sp), 0);
	assert_int_equal(count_dir(f, "queue"), 0);
	assert_int_equal(count_dir(f, "state"), 0);
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err),
	    TG_SPOOL_NOTFOUND);
}

/* A delivery run: "deliver" every recipient not final; record which. */
static int
deliver_all(struct tg_spool *sp, const char *qid, char *out, size_t outlen)
{
	const struct tg_spool_env *env;
	struct tg_spool_msg *m;
	struct tg_err err;
	size_t i;

	out[0] = '\0';
	assert_int_equal(tg_spool_msg_open(sp, qid, &m, &err), 0);
	env = tg_spool_msg_env(m);
	for (i = 0; i < env->nrcpt; i++) {
		enum tg_spool_rstate st = tg_spool_msg_rcpt(m, i)->state;

		if (st == TG_SPOOL_DELIVERED || st == TG_SPOOL_FAILED)
			continue;
		snprintf(out + strlen(out), outlen - strlen(out), "%s;",
		    env->rcpt[i].addr);
		mark(m, i, TG_SPOOL_DELIVERED, 0, "250");
	}
	return tg_spool_msg_close(&m, &err);
}

static void
test_redeliver_only_deferred(void **state)
{
	struct fx *f = *state;
	struct tg_spool_env env = env3(2);
	char qid[TG_SPOOL_QID_LEN + 1], got[256];
	struct tg_spool_msg *m;
	struct tg_err err;

	fx_open(f);
	put_msg(f->sp, &env, "x\r\n", 3, 3, qid);
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err), 0);
	mark(m, 0, TG_SPOOL_DELIVERED, 0, "250");
	mark(m, 1, TG_SPOOL_DEFERRED, 0, "421 try later");
	/* The process stops; a new one starts. */
	assert_int_equal(tg_spool_msg_close(&m, &err), 0);
	tg_spool_free(f->sp);
	f->sp = NULL;
	fx_open(f);
	assert_int_equal(tg_spool_count(f->sp), 1);
	assert_int_equal(deliver_all(f->sp, qid, got, sizeof(got)), 1);
	assert_string_equal(got, "bob@example.net;");
	assert_int_equal(tg_spool_count(f->sp), 0);
}

static void
test_journal_damage(void **state)
{
	struct fx *f = *state;
	struct tg_spool_env env = env3(3);
	char qid[TG_SPOOL_QID_LEN + 1], got[256];
	struct tg_spool_msg *m;
	struct tg_err err;
	uint8_t *j;
	size_t n;

	fx_open(f);
	put_msg(f->sp, &env, "x\r\n", 3, 3, qid);
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err), 0);
	mark(m, 0, TG_SPOOL_DELIVERED, 0, "250");
	mark(m, 1, TG_SPOOL_DELIVERED, 0, "250");
	tg_spool_msg_close(&m, &err);
	/* A torn last record (power loss): recipient 1 counts as not done,
	 * recipient 0 still does. */
	j = get_file(f, "state", qid, &n);
	put_file(f, "state", qid, j, n - 5);
	fx_open(f);
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err), 0);
	assert_int_equal(tg_spool_msg_rcpt(m, 0)->state, TG_SPOOL_DELIVERED);
	assert_int_equal(tg_spool_msg_rcpt(m, 1)->state, TG_SPOOL_PENDING);
	/* Appending after the torn tail cuts it first, so this is read. */
	mark(m, 2, TG_SPOOL_FAILED, 0, "550");
	tg_spool_msg_close(&m, &err);
	fx_open(f);
	assert_int_equal(deliver_all(f->sp, qid, got, sizeof(got)), 1);
	assert_string_equal(got, "bob@example.net;");
	/* A garbled journal header: everything pending again. */
	put_msg(f->sp, &env, "y\r\n", 3, 3, qid);
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err), 0);
	mark(m, 0, TG_SPOOL_DELIVERED, 0, "250");
	tg_spool_msg_close(&m, &err);
	j[0] ^= 0xff;
	put_file(f, "state", qid, j, n);
	free(j);
	fx_open(f);
	assert_int_equal(deliver_all(f->sp, qid, got, sizeof(got)), 1);
	assert_string_equal(got, "alice@example.org;bob@example.net;"
	    "\xc3\xa9lo\xc3\xafse@example.com;");
}

static void
test_mark_write_fails(void **state)
{
	struct fx *f = *state;
	struct tg_spool_env env = env3(2);
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_spool_msg *m;
	struct tg_err err;

	fx_open_opts(f, &fi_io, 0, 0);
	put_msg(f->sp, &env, "x", 1, 1, qid);
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err), 0);
	fi_arm(OP_WRITE, 1, ENOSPC);
	assert_int_equal(tg_spool_mark(m, 0, TG_SPOOL_DELIVERED, 0, "250",
	    &err), -1);
	assert_int_equal(err.cls, TG_ERR_TEMP);
	assert_int_equal(tg_spool_msg_rcpt(m, 0)->state, TG_SPOOL_PENDING);
	memset(&fi, 0, sizeof(fi));
	mark(m, 1, TG_SPOOL_DELIVERED, 0, "250");
	assert_int_equal(tg_spool_msg_close(&m, &err), 0);
	fx_open(f);
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err), 0);
	assert_int_equal(tg_spool_msg_rcpt(m, 0)->state, TG_SPOOL_PENDING);
	assert_int_equal(tg_spool_msg_rcpt(m, 1)->state, TG_SPOOL_DELIVERED);
	tg_spool_msg_close(&m, &err);
}

static void
test_journal_compaction(void **state)
{
	struct fx *f = *state;
	struct tg_spool_env env = env3(2);
	char qid[TG_SPOOL_QID_LEN + 1], why[TG_SPOOL_REASON_MAX + 100];
	struct tg_spool_msg *m;
	struct tg_err err;
	struct stat st;
	char path[160];
	int i;

	fx_open(f);
	put_msg(f->sp, &env, "x", 1, 1, qid);
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err), 0);
	mark(m, 0, TG_SPOOL_DELIVERED, 0, "250 first");
	memset(why, 'r', sizeof(why) - 1);
	why[sizeof(why) - 1] = '\0';
	/* ~540 bytes a record: the journal passes TG_SPOOL_JNL_COMPACT. */
	for (i = 0; i < 5000; i++) {
		snprintf(why, 16, "%08d", i);
		why[8] = ' ';
		mark(m, 1, TG_SPOOL_DEFERRED, 1800000000 + i, why);
	}
	tg_spool_msg_close(&m, &err);
	snprintf(path, sizeof(path), "%s/state/%s", f->dir, qid);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size < TG_SPOOL_JNL_COMPACT);
	fx_open(f);
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err), 0);
	assert_int_equal(tg_spool_msg_rcpt(m, 0)->state, TG_SPOOL_DELIVERED);
	assert_string_equal(tg_spool_msg_rcpt(m, 0)->reason, "250 first");
	assert_int_equal(tg_spool_msg_rcpt(m, 1)->attempts, 5000);
	assert_int_equal(tg_spool_msg_rcpt(m, 1)->next_attempt,
	    1800000000 + 4999);
	assert_int_equal(strncmp(tg_spool_msg_rcpt(m, 1)->reason, "00004999 ",
	    9), 0);
	assert_int_equal(strlen(tg_spool_msg_rcpt(m, 1)->reason),
	    TG_SPOOL_REASON_MAX - 1);
	tg_spool_msg_close(&m, &err);
}

struct listed {
	int n, held;
	char sender[64];
	uint32_t attempts;
	time_t next;
	char reason[64];
	uint64_t size;
	enum tg_spool_rstate st[3];
};

static int
on_list(void *arg, const struct tg_spool_info *info)
{
	struct listed *l = arg;
	size_t i;

	l->n++;
	l->held = info->held;
	snprintf(l->sender, sizeof(l->sender), "%s", info->env->sender);
	l->attempts = info->attempts;
	l->next = info->next_attempt;
	snprintf(l->reason, sizeof(l->reason), "%s", info->last_reason);
	l->size = info->size;
	for (i = 0; i < info->env->nrcpt && i < 3; i++)
		l->st[i] = info->rs[i].state;
	return 0;
}

static void
test_hold_list_readonly(void **state)
{
	struct fx *f = *state;
	struct tg_spool_env env = env3(3);
	struct tg_spool_opts ro = { TG_SPOOL_READONLY, 0, NULL, NULL, NULL };
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_spool *cli, *second;
	struct tg_spool_wmsg *w;
	struct tg_spool_msg *m;
	struct listed l;
	struct tg_err err;
	struct seen s;

	tg_clock_set(1800000000);
	fx_open(f);
	put_msg(f->sp, &env, "hello\r\n", 7, 7, qid);
	assert_int_equal(tg_spool_msg_open(f->sp, qid, &m, &err), 0);
	mark(m, 0, TG_SPOOL_DELIVERED, 0, "250 a");
	tg_clock_set(1800000100);
	mark(m, 1, TG_SPOOL_DEFERRED, 1800000700, "451 b");
	tg_spool_msg_close(&m, &err);
	/* One owner only; the CLI opens read-only. */
	assert_int_equal(tg_spool_open(f->dir, NULL, &second, &err), -1);
	assert_int_equal(err.cls, TG_ERR_TEMP);
	assert_int_equal(tg_spool_open(f->dir, &ro, &cli, &err), 0);
	assert_int_equal(tg_spool_begin(cli, &env, &w, &err), -1);
	memset(&l, 0, sizeof(l));
	assert_int_equal(tg_spool_list(cli, on_list, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.sender, "sender@example.com");
	assert_int_equal(l.attempts, 1);
	assert_int_equal(l.next, 0);		/* recipient 2 never tried */
	assert_string_equal(l.reason, "451 b");
	assert_int_equal(l.size, 7);
	assert_int_equal(l.st[0], TG_SPOOL_DELIVERED);
	assert_int_equal(l.st[1], TG_SPOOL_DEFERRED);
	assert_int_equal(l.st[2], TG_SPOOL_PENDING);
	assert_int_equal(l.held, 0);
	/* `tlsgate queue hold` from the CLI; the owner sees it on refresh. */
	assert_int_equal(tg_spool_hold(cli, qid, 1, &err), 0);
	assert_int_equal(tg_spool_hold(cli, "00000000000000000Z", 1, &err),
	    TG_SPOOL_NOTFOUND);
	tg_spool_free(cli);
	assert_int_equal(tg_spool_refresh(f->sp, qid, &err), 0);
	memset(&s, 0, sizeof(s));
	tg_spool_due(f->sp, 1900000000, on_due, &s);
	assert_int_equal(s.n, 0);
	assert_int_equal(tg_spool_next_due(f->sp), 0);
	fx_open(f);				/* persists */
	tg_spool_due(f->sp, 1900000000, on_due, &s);
	assert_int_equal(s.n, 0);
	memset(&l, 0, sizeof(l));
	tg_spool_list(f->sp, on_list, &l, &err);
	assert_int_equal(l.held, 1);
	assert_int_equal(tg_spool_hold(f->sp, qid, 0, &err), 0);
	tg_spool_due(f->sp, 1900000000, on_due, &s);
	assert_int_equal(s.n, 1);
}

/* A commit never replaces a file already in queue/. */
static void
test_no_replace(void **state)
{
	struct fx *f = *state;
	char p[160];
	size_t n;
	uint8_t *b;

	fx_open(f);
	put_file(f, "queue", "0000000000000000AB", "old", 3);
	put_file(f, "incoming", "0000000000000000AB", "new", 3);
	assert_int_equal(tg_spool_rename_noreplace(f->sp->dfd_in,
	    "0000000000000000AB", f->sp->dfd_queue, "0000000000000000AB"), -1);
	assert_int_equal(errno, EEXIST);
	b = get_file(f, "queue", "0000000000000000AB", &n);
	assert_memory_equal(b, "old", 3);
	free(b);
	assert_true(exists(f, "incoming", "0000000000000000AB"));
	snprintf(p, sizeof(p), "0000000000000000AC");
	assert_int_equal(tg_spool_rename_noreplace(f->sp->dfd_in,
	    "0000000000000000AB", f->sp->dfd_queue, p), 0);
	assert_false(exists(f, "incoming", "0000000000000000AB"));
}

static int
deliver_cb(void *arg, const char *qid)
{
	struct fx *f = arg;
	char got[256];

	f->events[0] += 100;		/* calls, counted apart from events */
	assert_int_equal(deliver_all(f->sp, qid, got, sizeof(got)), 1);
	return 0;
}

/* The scheduler's loop removes messages as it goes; none is skipped. */
static void
test_due_removes(void **state)
{
	struct fx *f = *state;
	struct tg_spool_env env = env3(2);
	char qid[TG_SPOOL_QID_LEN + 1];
	int i;

	fx_open(f);
	for (i = 0; i < 5; i++)
		put_msg(f->sp, &env, "m", 1, 1, qid);
	f->events[0] = 0;
	tg_spool_due(f->sp, tg_clock_now(), deliver_cb, f);
	assert_int_equal(f->events[0], 500);
	assert_int_equal(tg_spool_count(f->sp), 0);
	assert_int_equal(count_dir(f, "queue"), 0);
}

static void
test_space(void **state)
{
	struct fx *f = *state;
	struct tg_err err;

	fx_open(f);
	assert_int_equal(tg_spool_space_ok(f->sp, 1024, &err), 0);
	assert_int_equal(tg_spool_space_ok(f->sp, UINT64_MAX / 2, &err), -1);
	assert_int_equal(err.cls, TG_ERR_TEMP);
	assert_string_equal(err.status, "4.3.1");
	assert_int_equal(tg_spool_space_ok(f->sp, UINT64_MAX, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qid_unique),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_envelope_rules, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_commit_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_cap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_leftovers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_state_reopen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_redeliver_only_deferred,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_damage, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mark_write_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_journal_compaction, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hold_list_readonly, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_replace, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_due_removes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_space, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
