/*
 * smtp/spool — see spool.h. This file: opening the spool directory, the
 * owner's lock, the start-up scan, and the free-space check.
 */
#include "smtp/spool_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util/path.h"

/* ---- Directories and lock ------------------------------------------------ */

static int
open_dir(struct tg_spool *sp, int parent, const char *name, int *fdp,
    struct tg_err *err)
{
	int owner = !(sp->flags & TG_SPOOL_READONLY);

	if (owner && mkdirat(parent, name, 0700) == 0) {
		if (sp->io.fsync(parent) != 0)	/* the new entry, durably */
			return tg_spool_io_err(err, errno, "fsync", sp->dir);
	} else if (owner && errno != EEXIST)
		return tg_spool_io_err(err, errno, "mkdir", name);
	*fdp = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW);
	if (*fdp < 0)
		return tg_spool_io_err(err, errno, "open", name);
	return 0;
}

static int
spool_dirs(struct tg_spool *sp, struct tg_err *err)
{
	if (!(sp->flags & TG_SPOOL_READONLY) && mkdir(sp->dir, 0700) != 0 &&
	    errno != EEXIST)
		return tg_spool_io_err(err, errno, "mkdir", sp->dir);
	sp->dfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dfd < 0)
		return tg_spool_io_err(err, errno, "open", sp->dir);
	return 0;
}

/* One owner per spool: two queue managers would deliver twice. */
static int
spool_lock(struct tg_spool *sp, struct tg_err *err)
{
	if (sp->flags & TG_SPOOL_READONLY)
		return 0;
	sp->lockfd = openat(sp->dfd, TG_SPOOL_LOCK_FILE,
	    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (sp->lockfd < 0)
		return tg_spool_io_err(err, errno, "open", TG_SPOOL_LOCK_FILE);
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			return tg_err_set(err, TG_ERR_TEMP, "4.3.0",
			    "spool %s is in use by another process", sp->dir);
		return tg_spool_io_err(err, errno, "lock", sp->dir);
	}
	return 0;
}

static int
spool_subdirs(struct tg_spool *sp, struct tg_err *err)
{
	if (open_dir(sp, sp->dfd, TG_SPOOL_DIR_INCOMING, &sp->dfd_in, err) ||
	    open_dir(sp, sp->dfd, TG_SPOOL_DIR_QUEUE, &sp->dfd_queue, err) ||
	    open_dir(sp, sp->dfd, TG_SPOOL_DIR_STATE, &sp->dfd_state, err) ||
	    open_dir(sp, sp->dfd, TG_SPOOL_DIR_CORRUPT, &sp->dfd_corrupt, err))
		return -1;
	return 0;
}

/* ---- Scan --------------------------------------------------------------- */

/* Call fn for every name in dfd except "." and "..". The names are
 * collected first, so fn may remove or move files. At most
 * TG_SPOOL_QUEUE_MAX names are taken (the rest wait for the next start). */
static int
scan_dir(struct tg_spool *sp, int dfd, const char *what,
    void (*fn)(struct tg_spool *sp, const char *name), struct tg_err *err)
{
	char **names = NULL, **nn;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = dup(dfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return tg_spool_io_err(err, errno, "open", what);
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL && n < TG_SPOOL_QUEUE_MAX) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((nn = realloc(names, cap * sizeof(*nn))) == NULL)
				break;
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			break;
		n++;
	}
	closedir(d);
	for (i = 0; i < n; i++) {
		fn(sp, names[i]);
		free(names[i]);
	}
	free(names);
	return 0;
}

/* incoming/: only the owner writes here, and it holds the lock, so
 * whatever is left was never committed (no 250 was given for it). */
static void
scan_incoming(struct tg_spool *sp, const char *name)
{
	if (unlinkat(sp->dfd_in, name, 0) == 0)
		tg_spool_event(sp, TG_SPOOL_EV_EMBRYO_REMOVED, name,
		    "left by a writer that stopped before commit");
	else
		tg_spool_event(sp, TG_SPOOL_EV_IO_ERROR, name, strerror(errno));
}

/* Unsorted append during the scan; sorted once at its end. */
static struct tg_spool_entry *
scan_append(struct tg_spool *sp, const char *qid)
{
	struct tg_spool_entry *e;
	size_t cap;

	if (sp->nent == sp->capent) {
		cap = sp->capent == 0 ? 64 : sp->capent * 2;
		if ((e = realloc(sp->ent, cap * sizeof(*e))) == NULL)
			return NULL;
		sp->ent = e;
		sp->capent = cap;
	}
	e = &sp->ent[sp->nent++];
	memset(e, 0, sizeof(*e));
	snprintf(e->qid, sizeof(e->qid), "%s", qid);
	return e;
}

static void
scan_queue(struct tg_spool *sp, const char *qid)
{
	struct tg_spool_rcpt_state *rs = NULL;
	struct tg_spool_rec_info info;
	struct tg_spool_entry *e;
	struct tg_spool_env env;
	struct tg_spool_jnl j;
	struct tg_err err;
	int fd, rc;

	if (!tg_spool_qid_valid(qid)) {
		tg_spool_event(sp, TG_SPOOL_EV_UNKNOWN, qid, "in queue/");
		return;
	}
	rc = tg_spool_verify(sp, qid, &fd, &env, &info, &err);
	if (rc == -1 && err.cls != TG_ERR_PERM) {
		/* Unreadable now: keep it queued, the next open retries. */
		tg_spool_event(sp, TG_SPOOL_EV_IO_ERROR, qid, err.msg);
		if ((e = scan_append(sp, qid)) != NULL)
			e->pending = 1;
	}
	if (rc != 0)
		return;
	close(fd);
	if (tg_spool_state_load(sp, qid, env.nrcpt, &j, &rs, &err) != 0) {
		tg_spool_event(sp, TG_SPOOL_EV_IO_ERROR, qid, err.msg);
		rs = NULL;
	}
	if ((e = scan_append(sp, qid)) == NULL)
		;
	else if (rs == NULL)
		e->nrcpt = e->pending = (uint32_t)env.nrcpt;
	else {
		tg_spool_entry_set(e, rs, env.nrcpt, j.held);
		/* Every recipient final but not yet removed (a crash). The
		 * entry is the last one, not yet sorted: drop it first. */
		if (e->pending == 0 && !(sp->flags & TG_SPOOL_READONLY)) {
			sp->nent--;
			(void)tg_spool_remove(sp, qid, NULL);
		}
	}
	free(rs);
	tg_spool_env_clear(&env);
}

/* state/: journals of removed messages, and unfinished rewrites. */
static void
scan_state(struct tg_spool *sp, const char *name)
{
	char qid[TG_SPOOL_QID_LEN + 1];
	size_t n = strlen(name);
	struct stat st;

	if (sp->flags & TG_SPOOL_READONLY)
		return;
	if (n == TG_SPOOL_QID_LEN + 4 && strcmp(name + TG_SPOOL_QID_LEN,
	    ".tmp") == 0) {
		snprintf(qid, sizeof(qid), "%.*s", TG_SPOOL_QID_LEN, name);
		if (tg_spool_qid_valid(qid) && unlinkat(sp->dfd_state, name,
		    0) == 0)
			tg_spool_event(sp, TG_SPOOL_EV_ORPHAN_REMOVED, name,
			    "unfinished journal rewrite");
		return;
	}
	if (!tg_spool_qid_valid(name)) {
		tg_spool_event(sp, TG_SPOOL_EV_UNKNOWN, name, "in state/");
		return;
	}
	if (tg_spool_entry_find(sp, name) != NULL ||
	    fstatat(sp->dfd_queue, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return;
	if (unlinkat(sp->dfd_state, name, 0) == 0)
		tg_spool_event(sp, TG_SPOOL_EV_ORPHAN_REMOVED, name,
		    "its message is no longer queued");
}

static int
ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tg_spool_entry *)a)->qid,
	    ((const struct tg_spool_entry *)b)->qid);
}

static int
spool_scan(struct tg_spool *sp, struct tg_err *err)
{
	if (!(sp->flags & TG_SPOOL_READONLY) &&
	    scan_dir(sp, sp->dfd_in, "incoming", scan_incoming, err) != 0)
		return -1;
	if (scan_dir(sp, sp->dfd_queue, "queue", scan_queue, err) != 0)
		return -1;
	if (sp->nent > 1)
		qsort(sp->ent, sp->nent, sizeof(*sp->ent), ent_cmp);
	return scan_dir(sp, sp->dfd_state, "state", scan_state, err);
}

/* ---- Open, free --------------------------------------------------------- */

static int
spool_opts(struct tg_spool *sp, const char *dir,
    const struct tg_spool_opts *opts, struct tg_err *err)
{
	if (tg_path_fmt(sp->dir, sizeof(sp->dir), "%s", dir) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "spool directory name too long");
	sp->flags = opts->flags;
	sp->max_size = opts->max_size != 0 ? opts->max_size :
	    TG_SPOOL_MSG_SIZE_DEFAULT;
	if (sp->max_size > (uint64_t)TG_SPOOL_MSG_SIZE_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "max_size %llu is above %lld",
		    (unsigned long long)sp->max_size, TG_SPOOL_MSG_SIZE_MAX);
	tg_spool_io_fill(&sp->io, opts->io);
	sp->report = opts->report;
	sp->report_arg = opts->report_arg;
	return 0;
}

int
tg_spool_open(const char *dir, const struct tg_spool_opts *opts,
    struct tg_spool **out, struct tg_err *err)
{
	static const struct tg_spool_opts none;
	struct tg_spool *sp;

	*out = NULL;
	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.0", "out of memory");
	sp->dfd = sp->dfd_in = sp->dfd_queue = sp->dfd_state = -1;
	sp->dfd_corrupt = sp->lockfd = -1;
	if (spool_opts(sp, dir, opts != NULL ? opts : &none, err) != 0 ||
	    spool_dirs(sp, err) != 0 || spool_lock(sp, err) != 0 ||
	    spool_subdirs(sp, err) != 0 || spool_scan(sp, err) != 0) {
		tg_spool_free(sp);
		return -1;
	}
	*out = sp;
	return 0;
}

static void
close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

void
tg_spool_free(struct tg_spool *sp)
{
	if (sp == NULL)
		return;
	close_fd(sp->dfd_in);
	close_fd(sp->dfd_queue);
	close_fd(sp->dfd_state);
	close_fd(sp->dfd_corrupt);
	close_fd(sp->dfd);
	close_fd(sp->lockfd);	/* releases the lock */
	free(sp->ent);
	free(sp);
}

/* ---- Free space (RELIABILITY §1.9.1) ----------------------------------- */

int
tg_spool_space_ok(struct tg_spool *sp, uint64_t size, struct tg_err *err)
{
	struct statvfs v;
	uint64_t need, avail;

	if (fstatvfs(sp->dfd_queue, &v) != 0)
		return tg_spool_io_err(err, errno, "statvfs", sp->dir);
	if (__builtin_mul_overflow((uint64_t)v.f_bavail,
	    (uint64_t)v.f_frsize, &avail))
		avail = UINT64_MAX;
	need = size > UINT64_MAX / 3 * 2 ? UINT64_MAX : size + size / 2;
	if (avail < need)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.1",
		    "insufficient spool space: %llu bytes free, %llu needed",
		    (unsigned long long)avail, (unsigned long long)need);
	/* Some file systems (btrfs) report no inode counts at all. */
	if (v.f_files != 0 && v.f_favail < 16)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.1",
		    "insufficient spool space: no free inodes");
	return 0;
}
