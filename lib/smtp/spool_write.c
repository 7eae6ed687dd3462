/*
 * smtp/spool — see spool.h. This file: receiving a message — begin,
 * write, commit (single and group), abort — and the system-call table.
 *
 * Order of a commit (RELIABILITY §1.9.5): END record and checksum,
 * fsync(file), rename incoming/<id> → queue/<id> (never replacing),
 * fsync(queue/). Any failure unlinks the file wherever it is and fails
 * the message; no step is ever retried.
 */
#include "smtp/spool_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/clock.h"

/* ---- System calls ------------------------------------------------------- */

static ssize_t
sys_write(int fd, const void *buf, size_t n)
{
	return write(fd, buf, n);
}

static int
sys_fsync(int fd)
{
	return fsync(fd);
}

int
tg_spool_rename_noreplace(int olddirfd, const char *oldname, int newdirfd,
    const char *newname)
{
	if (renameat2(olddirfd, oldname, newdirfd, newname,
	    RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A file system without RENAME_NOREPLACE: link never replaces. */
	if (linkat(olddirfd, oldname, newdirfd, newname, 0) != 0)
		return -1;
	(void)unlinkat(olddirfd, oldname, 0);
	return 0;
}

void
tg_spool_io_fill(struct tg_spool_io *out, const struct tg_spool_io *io)
{
	out->write = io != NULL && io->write != NULL ? io->write : sys_write;
	out->fsync = io != NULL && io->fsync != NULL ? io->fsync : sys_fsync;
	out->rename = io != NULL && io->rename != NULL ? io->rename :
	    tg_spool_rename_noreplace;
}

/* ---- Handle ------------------------------------------------------------- */

enum { W_NONE = 0, W_INCOMING, W_QUEUE };	/* where the file is */

static void
wmsg_free(struct tg_spool_wmsg *w)
{
	if (w->fd >= 0)
		close(w->fd);
	EVP_MD_CTX_free(w->md);
	free(w->chunk);
	w->sp->nopen--;
	free(w);
}

/* Unlink the file wherever it is now. */
static void
wmsg_unlink(struct tg_spool_wmsg *w)
{
	if (w->linked == W_INCOMING)
		(void)unlinkat(w->sp->dfd_in, w->qid, 0);
	else if (w->linked == W_QUEUE)
		(void)unlinkat(w->sp->dfd_queue, w->qid, 0);
	w->linked = W_NONE;
}

/* Fail the message for good: file gone, error kept for later calls. */
static int
wmsg_fail(struct tg_spool_wmsg *w, const struct tg_err *e)
{
	wmsg_unlink(w);
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	w->failed = 1;
	if (e != NULL)
		w->ferr = *e;
	return -1;
}

static int
wmsg_io_fail(struct tg_spool_wmsg *w, int e, const char *what)
{
	struct tg_err err;

	tg_spool_io_err(&err, e, what, w->qid);
	return wmsg_fail(w, &err);
}

static int
wmsg_failed(const struct tg_spool_wmsg *w, struct tg_err *err)
{
	if (err != NULL)
		*err = w->ferr;
	return -1;
}

/* Hash and write n bytes; a short write is continued, EINTR retried. */
static int
wmsg_put(struct tg_spool_wmsg *w, const void *p, size_t n)
{
	const uint8_t *b = p;
	ssize_t r;

	if (EVP_DigestUpdate(w->md, p, n) != 1)
		return wmsg_io_fail(w, EIO, "sha256");
	while (n > 0) {
		r = w->sp->io.write(w->fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return wmsg_io_fail(w, r == 0 ? EIO : errno, "write");
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Emit the buffered content as one 'D' record. */
static int
wmsg_flush(struct tg_spool_wmsg *w)
{
	if (w->clen == 0)
		return 0;
	tg_spool_rec_hdr(w->chunk, TG_SPOOL_REC_DATA, (uint32_t)w->clen);
	if (wmsg_put(w, w->chunk, TG_SPOOL_REC_HDR + w->clen) != 0)
		return -1;
	w->clen = 0;
	return 0;
}

/* ---- Begin -------------------------------------------------------------- */

/* Create incoming/<new id>; O_EXCL, so an id is never reused, and an
 * id already queued (the clock went back across a restart) is skipped;
 * the commit's rename never replaces either. */
static int
wmsg_create(struct tg_spool_wmsg *w, struct tg_err *err)
{
	int tries;

	errno = EEXIST;
	for (tries = 0; tries < 8; tries++) {
		tg_spool_qid_new(w->qid);
		if (tg_spool_entry_find(w->sp, w->qid) != NULL)
			continue;
		w->fd = openat(w->sp->dfd_in, w->qid, O_WRONLY | O_CREAT |
		    O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (w->fd >= 0) {
			w->linked = W_INCOMING;
			return 0;
		}
		if (errno != EEXIST)
			break;
	}
	return tg_spool_io_err(err, errno, "create", w->qid);
}

static int
wmsg_envelope(struct tg_spool_wmsg *w, const struct tg_spool_env *env,
    struct tg_err *err)
{
	struct tg_spool_env e = *env;
	struct tg_buf b;
	int rc;

	memcpy(e.qid, w->qid, sizeof(e.qid));
	if (e.arrival == 0)
		e.arrival = tg_clock_now();
	tg_buf_init(&b, TG_SPOOL_REC_ENV_MAX);
	rc = tg_spool_rec_put_env(&b, &e, err);
	if (rc == 0 && wmsg_put(w, b.data, b.len) != 0)
		rc = wmsg_failed(w, err);
	tg_buf_free(&b);
	return rc;
}

int
tg_spool_begin(struct tg_spool *sp, const struct tg_spool_env *env,
    struct tg_spool_wmsg **out, struct tg_err *err)
{
	struct tg_spool_wmsg *w;

	*out = NULL;
	if (sp->flags & TG_SPOOL_READONLY)
		return tg_err_set(err, TG_ERR_BUG, "4.3.0",
		    "spool is read-only");
	if (tg_spool_rec_env_check(env, err) != 0) {
		/* The server checks first; here it is a failure to queue. */
		if (err != NULL) {
			err->cls = TG_ERR_TEMP;
			snprintf(err->status, sizeof(err->status), "4.3.0");
		}
		tg_err_prefix(err, "envelope");
		return -1;
	}
	if (sp->nent + sp->nopen >= TG_SPOOL_QUEUE_MAX)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.1", "queue is full");
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.0", "out of memory");
	w->sp = sp;
	w->fd = -1;
	w->nrcpt = (uint32_t)env->nrcpt;
	sp->nopen++;
	w->md = EVP_MD_CTX_new();
	w->chunk = malloc(TG_SPOOL_REC_HDR + TG_SPOOL_CHUNK);
	if (w->md == NULL || w->chunk == NULL ||
	    EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
		wmsg_free(w);
		return tg_err_set(err, TG_ERR_TEMP, "4.3.0", "out of memory");
	}
	if (wmsg_create(w, err) != 0 || wmsg_envelope(w, env, err) != 0) {
		wmsg_unlink(w);
		wmsg_free(w);
		return -1;
	}
	*out = w;
	return 0;
}

const char *
tg_spool_wmsg_id(const struct tg_spool_wmsg *w)
{
	return w->qid;
}

uint64_t
tg_spool_wmsg_size(const struct tg_spool_wmsg *w)
{
	return w->size;
}

/* ---- Write -------------------------------------------------------------- */

int
tg_spool_write(struct tg_spool_wmsg *w, const void *p, size_t n,
    struct tg_err *err)
{
	const uint8_t *b = p;
	struct tg_err e;
	size_t k;

	if (w->failed)
		return wmsg_failed(w, err);
	if (n > w->sp->max_size - w->size) {
		/* RFC 3463: 5.3.4 "message too big for system". */
		tg_err_set(&e, TG_ERR_PERM, "5.3.4",
		    "message exceeds %llu bytes",
		    (unsigned long long)w->sp->max_size);
		wmsg_fail(w, &e);
		return wmsg_failed(w, err);
	}
	while (n > 0) {
		k = TG_SPOOL_CHUNK - w->clen;
		if (k > n)
			k = n;
		memcpy(w->chunk + TG_SPOOL_REC_HDR + w->clen, b, k);
		w->clen += k;
		w->size += k;
		b += k;
		n -= k;
		if (w->clen == TG_SPOOL_CHUNK && wmsg_flush(w) != 0)
			return wmsg_failed(w, err);
	}
	return 0;
}

void
tg_spool_abort(struct tg_spool_wmsg **wp)
{
	if (wp == NULL || *wp == NULL)
		return;
	wmsg_unlink(*wp);
	wmsg_free(*wp);
	*wp = NULL;
}

/* ---- Commit ------------------------------------------------------------- */

/* Last content record, then END with the SHA-256 of all bytes before. */
static int
wmsg_finish(struct tg_spool_wmsg *w)
{
	uint8_t end[TG_SPOOL_REC_HDR + EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	ssize_t r;
	size_t n;

	if (wmsg_flush(w) != 0)
		return -1;
	tg_spool_rec_hdr(end, TG_SPOOL_REC_END, TG_SPOOL_REC_DIGEST);
	if (EVP_DigestFinal_ex(w->md, end + TG_SPOOL_REC_HDR, &dlen) != 1 ||
	    dlen != TG_SPOOL_REC_DIGEST)
		return wmsg_io_fail(w, EIO, "sha256");
	for (n = 0; n < TG_SPOOL_REC_HDR + TG_SPOOL_REC_DIGEST;
	    n += (size_t)r) {
		r = w->sp->io.write(w->fd, end + n,
		    TG_SPOOL_REC_HDR + TG_SPOOL_REC_DIGEST - n);
		if (r < 0 && errno == EINTR)
			r = 0;
		else if (r <= 0)
			return wmsg_io_fail(w, r == 0 ? EIO : errno, "write");
	}
	return 0;
}

/* Steps of a batch, each applied to every message still alive. */
static void
step_finish(struct tg_spool_wmsg *w)
{
	(void)wmsg_finish(w);
}

/* Start write-back of every file before waiting on any, so that the
 * fsyncs after the first find their data on its way or on disk. A hint
 * only: the fsync decides. */
static void
step_writeback(struct tg_spool_wmsg *w)
{
	(void)sync_file_range(w->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

/* RELIABILITY §1.9.6: a failed fsync is final — never retried. */
static void
step_fsync(struct tg_spool_wmsg *w)
{
	if (w->sp->io.fsync(w->fd) != 0)
		(void)wmsg_io_fail(w, errno, "fsync");
}

static void
step_rename(struct tg_spool_wmsg *w)
{
	struct tg_spool *sp = w->sp;

	if (sp->io.rename(sp->dfd_in, w->qid, sp->dfd_queue, w->qid) != 0) {
		(void)wmsg_io_fail(w, errno, "rename");
		return;
	}
	w->linked = W_QUEUE;
	close(w->fd);
	w->fd = -1;
}

static void
batch_step(struct tg_spool_wmsg **w, size_t n,
    void (*step)(struct tg_spool_wmsg *w))
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!w[i]->failed)
			step(w[i]);
}

/* The one directory fsync that publishes every renamed message. */
static void
batch_publish(struct tg_spool *sp, struct tg_spool_wmsg **w, size_t n)
{
	size_t i, live = 0;
	int e;

	for (i = 0; i < n; i++)
		live += !w[i]->failed;
	if (live == 0 || sp->io.fsync(sp->dfd_queue) == 0)
		return;
	e = errno;
	for (i = 0; i < n; i++)
		if (!w[i]->failed)
			(void)wmsg_io_fail(w[i], e, "fsync queue/ for");
}

/* Hand the outcome of w to the caller and the queue list; frees w. */
static int
batch_result(struct tg_spool *sp, struct tg_spool_wmsg *w, struct tg_err *err)
{
	struct tg_spool_entry *e;
	int rc = 0;

	if (w->failed)
		rc = wmsg_failed(w, err);
	else if (tg_spool_entry_add(sp, w->qid, &e) == 0) {
		e->nrcpt = e->pending = w->nrcpt;
		tg_err_clear(err);
	} else
		/* Durable on disk all the same: found again at next start. */
		tg_spool_event(sp, TG_SPOOL_EV_IO_ERROR, w->qid,
		    "committed, but not in the queue list until restart");
	wmsg_free(w);
	return rc;
}

static int
batch_slice(struct tg_spool *sp, struct tg_spool_wmsg **w, size_t n,
    int *status, struct tg_err *errs)
{
	size_t i;
	int rc = 0, r;

	batch_step(w, n, step_finish);
	if (n > 1)
		batch_step(w, n, step_writeback);
	batch_step(w, n, step_fsync);
	batch_step(w, n, step_rename);
	batch_publish(sp, w, n);
	for (i = 0; i < n; i++) {
		r = batch_result(sp, w[i], errs != NULL ? &errs[i] : NULL);
		if (status != NULL)
			status[i] = r;
		rc |= r;
		w[i] = NULL;
	}
	return rc;
}

int
tg_spool_commit_batch(struct tg_spool *sp, struct tg_spool_wmsg **w,
    size_t n, int *status, struct tg_err *errs)
{
	size_t off, k;
	int rc = 0;

	for (off = 0; off < n; off += k) {
		k = n - off > TG_SPOOL_BATCH_MAX ? TG_SPOOL_BATCH_MAX : n - off;
		rc |= batch_slice(sp, w + off, k, status != NULL ?
		    status + off : NULL, errs != NULL ? errs + off : NULL);
	}
	return rc != 0 ? -1 : 0;
}

int
tg_spool_commit(struct tg_spool_wmsg **wp, char qid[TG_SPOOL_QID_LEN + 1],
    struct tg_err *err)
{
	struct tg_spool_wmsg *w = *wp;
	char id[TG_SPOOL_QID_LEN + 1];
	int status;

	memcpy(id, w->qid, sizeof(id));
	(void)tg_spool_commit_batch(w->sp, wp, 1, &status, err);
	if (status == 0 && qid != NULL)
		memcpy(qid, id, sizeof(id));
	return status;
}
