/*
 * bench/spool_bench — messages per second through smtp/spool, 1 KB each:
 * committed one by one, and in group commits of several sizes, against a
 * reference measured in the same run on the same file system: the plain
 * "create + write + fsync + rename + fsync(dir)" of one file each.
 *
 *   spool_bench [-n messages] [-r rounds] [-d parent-dir]
 *
 * Prints the median and min–max of the rounds for each mode, and each
 * median as a ratio to the reference (BENCH.md: quote ratios). What
 * bounds the figure is the fsync (journal commit) rate of the disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtp/spool.h"
#include "util/clock.h"

#define MSG_SIZE	1024
#define ROUNDS_MAX	50
#define NMODES		5

static char body[MSG_SIZE];

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void
die(const char *what, const char *msg)
{
	fprintf(stderr, "spool_bench: %s: %s\n", what, msg);
	exit(2);
}

static struct tg_spool_rcpt rcpt = { "user@example.org", NULL, 0 };

static void
begin_one(struct tg_spool *sp, struct tg_spool_wmsg **w)
{
	struct tg_spool_env env;
	struct tg_err err;

	memset(&env, 0, sizeof(env));
	env.sender = "bench@example.com";
	env.client_addr = "192.0.2.1";
	env.rcpt = &rcpt;
	env.nrcpt = 1;
	if (tg_spool_begin(sp, &env, w, &err) != 0 ||
	    tg_spool_write(*w, body, sizeof(body), &err) != 0)
		die("begin/write", err.msg);
}

/* n messages committed in groups of batch; returns messages/s. */
static double
run_spool(const char *dir, int n, int batch)
{
	struct tg_spool_wmsg *w[TG_SPOOL_BATCH_MAX];
	int status[TG_SPOOL_BATCH_MAX], i, k, done;
	struct tg_spool *sp;
	struct tg_err err;
	long long t0, t1;

	if (tg_spool_open(dir, NULL, &sp, &err) != 0)
		die("open", err.msg);
	t0 = tg_clock_mono_ms();
	for (done = 0; done < n; done += k) {
		k = n - done < batch ? n - done : batch;
		for (i = 0; i < k; i++)
			begin_one(sp, &w[i]);
		if (tg_spool_commit_batch(sp, w, (size_t)k, status, NULL) != 0)
			die("commit", "failed");
	}
	t1 = tg_clock_mono_ms();
	if (tg_spool_count(sp) != (size_t)n)
		die("count", "messages missing");
	tg_spool_free(sp);
	return n * 1000.0 / (double)(t1 - t0 > 0 ? t1 - t0 : 1);
}

/* The reference: what one durable file costs without the spool. */
static double
run_files(const char *dir, int n)
{
	char tmp[64], dst[64];
	long long t0, t1;
	int dfd, fd, i;

	if (mkdir(dir, 0700) != 0 ||
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		die("mkdir", strerror(errno));
	t0 = tg_clock_mono_ms();
	for (i = 0; i < n; i++) {
		snprintf(tmp, sizeof(tmp), "t%d", i);
		snprintf(dst, sizeof(dst), "f%d", i);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || write(fd, body, sizeof(body)) != sizeof(body) ||
		    fsync(fd) != 0 || close(fd) != 0 ||
		    renameat(dfd, tmp, dfd, dst) != 0 || fsync(dfd) != 0)
			die("reference", strerror(errno));
	}
	t1 = tg_clock_mono_ms();
	close(dfd);
	return n * 1000.0 / (double)(t1 - t0 > 0 ? t1 - t0 : 1);
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One run of one mode in a fresh directory; batch 0 = reference. */
static double
run(const char *parent, int mode, int round, int n, int batch)
{
	char dir[600];
	double v;

	snprintf(dir, sizeof(dir), "%s/m%d-r%d", parent, mode, round);
	v = batch == 0 ? run_files(dir, n) : run_spool(dir, n, batch);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return v;
}

static void
report(const char *name, double *v, int rounds, double ref)
{
	qsort(v, (size_t)rounds, sizeof(v[0]), dbl_cmp);
	printf("%-22s %9.0f msgs/s  (min %.0f, max %.0f)", name,
	    v[rounds / 2], v[0], v[rounds - 1]);
	if (ref > 0)
		printf("  %.2f x reference", v[rounds / 2] / ref);
	printf("\n");
}

int
main(int argc, char **argv)
{
	static const int modes[] = { 0, 1, 4, 16, 64 };	/* 0: reference */
	static double v[NMODES][ROUNDS_MAX];
	char parent[512], name[32];
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int n = 1000, rounds = 5, c;
	double ref;
	int r, m;

	while ((c = getopt(argc, argv, "n:r:d:")) != -1) {
		if (c == 'n')
			n = atoi(optarg);
		else if (c == 'r')
			rounds = atoi(optarg);
		else if (c == 'd')
			base = optarg;
		else {
			fprintf(stderr, "usage: spool_bench [-n messages] "
			    "[-r rounds] [-d dir]\n");
			return 2;
		}
	}
	if (n < 1 || rounds < 1 || rounds > ROUNDS_MAX)
		die("usage", "-n ≥ 1, 1 ≤ -r ≤ 50");
	memset(body, 'x', sizeof(body));
	snprintf(parent, sizeof(parent), "%s/spool-bench-XXXXXX", base);
	if (mkdtemp(parent) == NULL)
		die("mkdtemp", strerror(errno));
	printf("%d messages of %d bytes, %d rounds, in %s\n", n, MSG_SIZE,
	    rounds, parent);
	/* Rounds outside, modes inside: drift on a shared machine hits
	 * every mode alike. */
	for (r = 0; r < rounds; r++)
		for (m = 0; m < NMODES; m++)
			v[m][r] = run(parent, m, r, n, modes[m]);
	report("reference (per file)", v[0], rounds, 0);
	qsort(v[0], (size_t)rounds, sizeof(v[0][0]), dbl_cmp);
	ref = v[0][rounds / 2];
	for (m = 1; m < NMODES; m++) {
		snprintf(name, sizeof(name), "spool, batch %d", modes[m]);
		report(name, v[m], rounds, ref);
	}
	rmdir(parent);
	return 0;
}
