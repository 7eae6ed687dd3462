/*
 * Power loss, emulated (RELIABILITY Q-02): what survives a power cut is
 * only what was fsync'd — a file's bytes as of its last fsync, a
 * directory's entries as of its last fsync — and nothing else (the
 * least POSIX promises; a real file system may keep more, never less).
 *
 * The spool runs with struct tg_spool_io hooks that record that durable
 * image at every fsync. At each of those flush points, and at the end,
 * the image is rebuilt in a directory of its own, opened as a spool (the
 * start-up scan runs) and checked: every message whose commit returned 0
 * before that point — the moment relayd says 250 — is there, whole and
 * byte for byte; what was not committed may be gone or quarantined,
 * never served half.
 * Single commits, group commits, aborts and sizes across several content
 * records are in the load. The block-level replay of the RELIABILITY
 * text (dm-log-writes) needs device-mapper, which the test machines'
 * kernel lacks; this replays the same flush points one level up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smtp/spool.h"

#define PL_FILES	512
#define PL_ENTRIES	256
#define PL_MSGS		64

/* A file's bytes as of its last fsync. */
struct pl_file {
	ino_t ino;
	uint8_t *data;
	size_t len;
};

/* A directory's entries as of its last fsync. */
struct pl_dir {
	size_t n;
	char name[PL_ENTRIES][64];
	ino_t ino[PL_ENTRIES];
};

/* A message whose commit returned 0, and what it must hold. */
struct pl_acked {
	char qid[TG_SPOOL_QID_LEN + 1];
	uint8_t *data;
	size_t len;
};

static struct {
	char dir[64];			/* the spool under test */
	char img[80];			/* where images are rebuilt */
	struct pl_file file[PL_FILES];
	size_t nfiles;
	struct pl_dir dirs[4];		/* queue, incoming, state, corrupt */
	struct pl_acked acked[PL_MSGS];
	size_t nacked;
	unsigned checks;		/* images rebuilt and checked */
	int recording;
} pl;

static const char *const pl_subs[4] = { "queue", "incoming", "state",
	"corrupt" };

static struct pl_file *
pl_file_of(ino_t ino)
{
	size_t i;

	for (i = 0; i < pl.nfiles; i++)
		if (pl.file[i].ino == ino)
			return &pl.file[i];
	assert_true(pl.nfiles < PL_FILES);
	pl.file[pl.nfiles].ino = ino;
	return &pl.file[pl.nfiles++];
}

/* The bytes of fd now become its durable content. */
static void
pl_keep_file(int fd, const struct stat *st)
{
	struct pl_file *f = pl_file_of(st->st_ino);
	char link[64];
	ssize_t r;
	int rfd;

	free(f->data);
	f->len = (size_t)st->st_size;
	f->data = malloc(f->len + 1);
	assert_non_null(f->data);
	/* The spool writes through a write-only descriptor: read the same
	 * file through one of our own. */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	assert_true((rfd = open(link, O_RDONLY)) >= 0);
	r = pread(rfd, f->data, f->len, 0);
	close(rfd);
	assert_int_equal(r, (ssize_t)f->len);
}

static struct pl_dir *
pl_dir_named(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t i;

	for (i = 0; i < 4; i++)
		if (base != NULL && strcmp(base + 1, pl_subs[i]) == 0)
			return &pl.dirs[i];
	return NULL;		/* the spool's own directory: its entries
				 * exist from the start */
}

/* The entries of directory path now become its durable listing. */
static void
pl_keep_dir(const char *path)
{
	struct pl_dir *d = pl_dir_named(path);
	struct dirent *de;
	DIR *dh;

	if (d == NULL)
		return;
	assert_non_null(dh = opendir(path));
	d->n = 0;
	while ((de = readdir(dh)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		assert_true(d->n < PL_ENTRIES);
		assert_true(strlen(de->d_name) < sizeof(d->name[0]));
		memcpy(d->name[d->n], de->d_name, strlen(de->d_name) + 1);
		d->ino[d->n++] = de->d_ino;
	}
	closedir(dh);
}

/* ---- rebuilding and checking an image ----------------------------------- */

static int
pl_rm(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void
pl_write_file(const char *path, const struct pl_file *f)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	if (f != NULL && f->len > 0)
		assert_int_equal(write(fd, f->data, f->len), (ssize_t)f->len);
	close(fd);
}

/* The image as the disk would hold it after a power cut now. */
static void
pl_rebuild(void)
{
	char p[256];
	size_t i, k, j;

	nftw(pl.img, pl_rm, 16, FTW_DEPTH | FTW_PHYS);
	assert_int_equal(mkdir(pl.img, 0700), 0);
	for (i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", pl.img, pl_subs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
		for (k = 0; k < pl.dirs[i].n; k++) {
			const struct pl_file *f = NULL;

			for (j = 0; j < pl.nfiles; j++)
				if (pl.file[j].ino == pl.dirs[i].ino[k])
					f = &pl.file[j];
			/* An entry whose bytes were never synced: empty,
			 * the worst the disk may hold. */
			snprintf(p, sizeof(p), "%s/%s/%s", pl.img,
			    pl_subs[i], pl.dirs[i].name[k]);
			pl_write_file(p, f);
		}
	}
}

/* Every message the scan kept in the queue opens and reads whole. */
static int
pl_listed(void *arg, const struct tg_spool_info *info)
{
	struct tg_spool *sp = arg;
	struct tg_spool_msg *m;
	struct tg_err err;
	char b[4096];
	ssize_t r;

	if (tg_spool_msg_open(sp, info->env->qid, &m, &err) != 0)
		fail_msg("%s listed but does not open: %s", info->env->qid,
		    err.msg);
	while ((r = tg_spool_msg_read(m, b, sizeof(b), &err)) > 0)
		;
	assert_int_equal(r, 0);
	assert_int_equal(tg_spool_msg_close(&m, &err), 0);
	return 0;
}

/* Open the image as a spool: every acknowledged message, whole; nothing
 * half there. */
static void
pl_check(void)
{
	struct tg_spool *sp;
	struct tg_spool_msg *m;
	struct tg_err err;
	uint8_t *b;
	size_t i, n;
	ssize_t r;

	pl_rebuild();
	if (tg_spool_open(pl.img, NULL, &sp, &err) != 0)
		fail_msg("flush point %u: the image does not open: %s",
		    pl.checks, err.msg);
	for (i = 0; i < pl.nacked; i++) {
		const struct pl_acked *a = &pl.acked[i];

		if (tg_spool_msg_open(sp, a->qid, &m, &err) != 0)
			fail_msg("flush point %u: acknowledged %s lost",
			    pl.checks, a->qid);
		assert_int_equal(tg_spool_msg_size(m), a->len);
		b = malloc(a->len + 1);
		assert_non_null(b);
		n = 0;
		while ((r = tg_spool_msg_read(m, b + n, a->len + 1 - n,
		    &err)) > 0)
			n += (size_t)r;
		assert_int_equal(r, 0);
		assert_int_equal(n, a->len);
		assert_memory_equal(b, a->data, a->len);
		free(b);
		assert_int_equal(tg_spool_msg_close(&m, &err), 0);
	}
	assert_int_equal(tg_spool_list(sp, pl_listed, sp, &err), 0);
	tg_spool_free(sp);
	pl.checks++;
}

/* ---- the hooks ---------------------------------------------------------- */

static int
pl_fsync(int fd)
{
	char link[64], path[256];
	struct stat st;
	ssize_t k;

	if (fstat(fd, &st) != 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		k = readlink(link, path, sizeof(path) - 1);
		assert_true(k > 0);
		path[k] = '\0';
		pl_keep_dir(path);
	} else
		pl_keep_file(fd, &st);
	/* The flush point: a cut right after it keeps exactly this. */
	if (pl.recording)
		pl_check();
	return 0;		/* the image is the durability here */
}

/* Writes and renames are the system's: only fsync decides durability. */
static const struct tg_spool_io pl_io = { NULL, pl_fsync, NULL };

/* ---- the load ----------------------------------------------------------- */

static struct tg_spool_rcpt pl_rcpt = { "bob@example.net", NULL, 0 };

static struct tg_spool_wmsg *
pl_begin(struct tg_spool *sp, size_t len, uint8_t **data)
{
	struct tg_spool_env env;
	struct tg_spool_wmsg *w;
	struct tg_err err;
	size_t i;

	memset(&env, 0, sizeof(env));
	env.sender = "alice@example.org";
	env.helo = "inside.example";
	env.client_addr = "192.0.2.7";
	env.proto = "ESMTP";
	env.rcpt = &pl_rcpt;
	env.nrcpt = 1;
	*data = malloc(len + 1);
	assert_non_null(*data);
	for (i = 0; i < len; i++)
		(*data)[i] = (uint8_t)(i * 7 + len);
	if (tg_spool_begin(sp, &env, &w, &err) != 0)
		fail_msg("begin: %s", err.msg);
	if (len > 0 && tg_spool_write(w, *data, len, &err) != 0)
		fail_msg("write: %s", err.msg);
	return w;
}

static void
pl_acknowledge(const char *qid, uint8_t *data, size_t len)
{
	struct pl_acked *a = &pl.acked[pl.nacked++];

	assert_int_equal(strlen(qid), TG_SPOOL_QID_LEN);
	memcpy(a->qid, qid, TG_SPOOL_QID_LEN + 1);
	a->data = data;
	a->len = len;
}

static void
test_power_loss(void **state)
{
	static const size_t sizes[] = { 0, 1, 1000, 70000, 300000, 17 };
	struct tg_spool_opts o = { 0, 0, &pl_io, NULL, NULL };
	struct tg_spool_wmsg *w[3];
	struct tg_spool *sp;
	char qid[TG_SPOOL_QID_LEN + 1], ids[3][TG_SPOOL_QID_LEN + 1];
	struct tg_err err, errs[3];
	size_t len[3];
	uint8_t *data[3];
	int status[3];
	size_t i, k;

	(void)state;
	snprintf(pl.dir, sizeof(pl.dir), "/tmp/tg-pl-XXXXXX");
	assert_non_null(mkdtemp(pl.dir));
	snprintf(pl.img, sizeof(pl.img), "%s.img", pl.dir);
	if (tg_spool_open(pl.dir, &o, &sp, &err) != 0)
		fail_msg("open: %s", err.msg);
	/* What the spool made at its start is on disk before any load. */
	for (i = 0; i < 4; i++) {
		char p[128];

		snprintf(p, sizeof(p), "%s/%s", pl.dir, pl_subs[i]);
		pl_keep_dir(p);
	}
	pl.recording = 1;
	/* Single commits of every size, one aborted in between. */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		w[0] = pl_begin(sp, sizes[i], &data[0]);
		if (i == 2) {
			tg_spool_abort(&w[0]);
			free(data[0]);
			continue;
		}
		if (tg_spool_commit(&w[0], qid, &err) != 0)
			fail_msg("commit: %s", err.msg);
		pl_acknowledge(qid, data[0], sizes[i]);
	}
	/* Group commits: every message of a batch keeps the promise. */
	for (k = 0; k < 3; k++) {
		for (i = 0; i < 3; i++) {
			len[i] = 5000 * (k + 1) + 100 * i;
			w[i] = pl_begin(sp, len[i], &data[i]);
			assert_int_equal(strlen(tg_spool_wmsg_id(w[i])),
			    TG_SPOOL_QID_LEN);
			memcpy(ids[i], tg_spool_wmsg_id(w[i]),
			    TG_SPOOL_QID_LEN + 1);
		}
		assert_int_equal(tg_spool_commit_batch(sp, w, 3, status, errs),
		    0);
		for (i = 0; i < 3; i++) {
			assert_int_equal(status[i], 0);
			pl_acknowledge(ids[i], data[i], len[i]);
		}
	}
	pl.recording = 0;
	pl_check();		/* the cut after the last 250 */
	print_message("# %u flush points checked, %zu messages\n",
	    pl.checks, pl.nacked);
	assert_true(pl.checks > pl.nacked);	/* a file fsync each at least */
	tg_spool_free(sp);
	nftw(pl.dir, pl_rm, 16, FTW_DEPTH | FTW_PHYS);
	nftw(pl.img, pl_rm, 16, FTW_DEPTH | FTW_PHYS);
	for (i = 0; i < pl.nacked; i++)
		free(pl.acked[i].data);
	for (i = 0; i < pl.nfiles; i++)
		free(pl.file[i].data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_power_loss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
