/*
 * smtp/spool_jnl — see spool_jnl.h.
 */
#include "smtp/spool_jnl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/path.h"

static void
put_be(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--) {
		p[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static int
io_err(struct tg_err *err, int e, const char *what, const char *qid)
{
	return tg_err_set(err, TG_ERR_TEMP, e == ENOSPC ? "4.3.1" : "4.3.0",
	    "journal %s: %s: %s", qid, what, strerror(e));
}

void
tg_spool_jnl_init(struct tg_spool_jnl *j, int dirfd,
    const struct tg_spool_io *io, const char *qid,
    struct tg_spool_rcpt_state *rs, size_t nrcpt)
{
	memset(j, 0, sizeof(*j));
	j->dirfd = dirfd;
	j->io = io;
	snprintf(j->qid, sizeof(j->qid), "%s", qid);
	j->rs = rs;
	j->nrcpt = nrcpt;
	j->fd = -1;
	memset(rs, 0, nrcpt * sizeof(*rs));
}

size_t
tg_spool_jnl_encode(uint8_t *out, int kind, uint32_t rcpt,
    const struct tg_spool_rcpt_state *st)
{
	size_t rlen = strnlen(st->reason, TG_SPOOL_REASON_MAX - 1);
	size_t len = TG_SPOOL_JNL_FIXED + rlen;

	put_be(out, len, 2);
	out[2] = (uint8_t)kind;
	out[3] = (uint8_t)st->state;
	put_be(out + 4, rcpt, 4);
	put_be(out + 8, st->attempts, 4);
	put_be(out + 12, (uint64_t)(int64_t)st->last_attempt, 8);
	put_be(out + 20, (uint64_t)(int64_t)st->next_attempt, 8);
	memcpy(out + 28, st->reason, rlen);
	put_be(out + 28 + rlen, crc32(0L, out, (uInt)(28 + rlen)), 4);
	return len;
}

/* One record at p (n bytes available): its length, or 0 if unreadable. */
static size_t
rec_apply(const uint8_t *p, size_t n, struct tg_spool_rcpt_state *rs,
    size_t nrcpt, int *held)
{
	struct tg_spool_rcpt_state *st;
	size_t len, rlen;
	uint32_t i;

	if (n < TG_SPOOL_JNL_FIXED)
		return 0;
	len = (size_t)get_be(p, 2);
	if (len < TG_SPOOL_JNL_FIXED || len > TG_SPOOL_JNL_REC_MAX || len > n)
		return 0;
	rlen = len - TG_SPOOL_JNL_FIXED;
	if (get_be(p + len - 4, 4) != crc32(0L, p, (uInt)(len - 4)) ||
	    memchr(p + 28, '\0', rlen) != NULL)
		return 0;
	if (p[2] == TG_SPOOL_JNL_HOLD && p[3] <= 1) {
		*held = p[3];
		return len;
	}
	i = (uint32_t)get_be(p + 4, 4);
	if (p[2] != TG_SPOOL_JNL_STATE || p[3] > TG_SPOOL_FAILED || i >= nrcpt)
		return 0;
	st = &rs[i];
	st->state = (enum tg_spool_rstate)p[3];
	st->attempts = (uint32_t)get_be(p + 8, 4);
	st->last_attempt = (time_t)(int64_t)get_be(p + 12, 8);
	st->next_attempt = (time_t)(int64_t)get_be(p + 20, 8);
	memcpy(st->reason, p + 28, rlen);
	st->reason[rlen] = '\0';
	return len;
}

size_t
tg_spool_jnl_parse(const void *p, size_t n, const char *qid,
    struct tg_spool_rcpt_state *rs, size_t nrcpt, int *held)
{
	const uint8_t *b = p;
	size_t off, len;

	if (n > TG_SPOOL_JNL_MAX)
		n = TG_SPOOL_JNL_MAX;
	if (n < TG_SPOOL_JNL_HEAD ||
	    memcmp(b, TG_SPOOL_JNL_MAGIC, TG_SPOOL_JNL_MAGIC_LEN) != 0 ||
	    memcmp(b + TG_SPOOL_JNL_MAGIC_LEN, qid, TG_SPOOL_QID_LEN) != 0)
		return 0;
	off = TG_SPOOL_JNL_HEAD;
	while (off < n && (len = rec_apply(b + off, n - off, rs, nrcpt,
	    held)) > 0)
		off += len;
	return off;
}

/* Read the whole file (at most TG_SPOOL_JNL_MAX bytes) into a buffer. */
static int
slurp(int fd, uint8_t **out, size_t *outlen, uint64_t *fsize)
{
	struct stat st;
	size_t n, got = 0;
	ssize_t r;
	uint8_t *b;

	if (fstat(fd, &st) != 0)
		return -1;
	*fsize = (uint64_t)st.st_size;
	n = st.st_size > TG_SPOOL_JNL_MAX ? TG_SPOOL_JNL_MAX :
	    (size_t)st.st_size;
	if ((b = malloc(n + 1)) == NULL)
		return -1;
	while (got < n && (r = read(fd, b + got, n - got)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return -1;
		}
		got += (size_t)r;
	}
	*out = b;
	*outlen = got;
	return 0;
}

int
tg_spool_jnl_load(struct tg_spool_jnl *j, struct tg_err *err)
{
	uint8_t *b = NULL;
	size_t n = 0;
	int fd, e;

	memset(j->rs, 0, j->nrcpt * sizeof(*j->rs));
	j->held = 0;
	j->valid = j->size = 0;
	fd = openat(j->dirfd, j->qid, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : io_err(err, errno, "open", j->qid);
	if (slurp(fd, &b, &n, &j->size) != 0) {
		e = errno;
		close(fd);
		return io_err(err, e, "read", j->qid);
	}
	close(fd);
	j->valid = tg_spool_jnl_parse(b, n, j->qid, j->rs, j->nrcpt, &j->held);
	free(b);
	return 0;
}

static int
write_all(const struct tg_spool_io *io, int fd, const uint8_t *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = io->write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Open for appending; cut an unreadable tail (or a bad header) first. */
static int
jnl_ready(struct tg_spool_jnl *j, struct tg_err *err)
{
	uint8_t head[TG_SPOOL_JNL_HEAD];

	if (j->fd < 0) {
		j->fd = openat(j->dirfd, j->qid, O_WRONLY | O_APPEND |
		    O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (j->fd < 0)
			return io_err(err, errno, "open", j->qid);
	}
	if (j->size == j->valid && j->valid >= TG_SPOOL_JNL_HEAD)
		return 0;
	if (j->valid < TG_SPOOL_JNL_HEAD)
		j->valid = 0;
	if (ftruncate(j->fd, (off_t)j->valid) != 0)
		return io_err(err, errno, "truncate", j->qid);
	j->size = j->valid;
	if (j->valid > 0)
		return 0;
	memcpy(head, TG_SPOOL_JNL_MAGIC, TG_SPOOL_JNL_MAGIC_LEN);
	memcpy(head + TG_SPOOL_JNL_MAGIC_LEN, j->qid, TG_SPOOL_QID_LEN);
	if (write_all(j->io, j->fd, head, sizeof(head)) != 0) {
		j->size = (uint64_t)-1;
		return io_err(err, errno, "write", j->qid);
	}
	j->valid = j->size = sizeof(head);
	return 0;
}

static int
jnl_append(struct tg_spool_jnl *j, const uint8_t *rec, size_t len,
    struct tg_err *err)
{
	if (jnl_ready(j, err) != 0)
		return -1;
	if (write_all(j->io, j->fd, rec, len) != 0) {
		j->size = (uint64_t)-1;	/* maybe torn: cut before next */
		return io_err(err, errno, "write", j->qid);
	}
	j->valid += len;
	j->size = j->valid;
	return 0;
}

/* Rewrite the journal as its current state: state/<qid>.tmp, fsync,
 * rename over the old one. Failure leaves the old journal in use. */
static int
jnl_compact(struct tg_spool_jnl *j, struct tg_err *err)
{
	struct tg_spool_rcpt_state hold;
	uint8_t rec[TG_SPOOL_JNL_REC_MAX];
	char tmp[TG_SPOOL_QID_LEN + 8];
	struct tg_spool_jnl nj;
	size_t i, len;
	int rc = 0;

	tg_path_fmt(tmp, sizeof(tmp), "%s.tmp", j->qid);
	(void)unlinkat(j->dirfd, tmp, 0);
	nj = *j;
	snprintf(nj.qid, sizeof(nj.qid), "%s", j->qid);
	nj.fd = openat(j->dirfd, tmp, O_WRONLY | O_APPEND | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	if (nj.fd < 0)
		return io_err(err, errno, "open", tmp);
	nj.valid = nj.size = 0;
	for (i = 0; rc == 0 && i < j->nrcpt; i++) {
		if (j->rs[i].state == TG_SPOOL_PENDING)
			continue;
		len = tg_spool_jnl_encode(rec, TG_SPOOL_JNL_STATE, (uint32_t)i,
		    &j->rs[i]);
		rc = jnl_append(&nj, rec, len, err);
	}
	memset(&hold, 0, sizeof(hold));
	hold.state = (enum tg_spool_rstate)(j->held != 0);
	len = tg_spool_jnl_encode(rec, TG_SPOOL_JNL_HOLD, 0, &hold);
	if (rc == 0)
		rc = jnl_append(&nj, rec, len, err);
	if (rc == 0 && j->io->fsync(nj.fd) != 0)
		rc = io_err(err, errno, "fsync", tmp);
	if (rc == 0 && renameat(j->dirfd, tmp, j->dirfd, j->qid) != 0)
		rc = io_err(err, errno, "rename", tmp);
	if (rc != 0) {
		close(nj.fd);
		(void)unlinkat(j->dirfd, tmp, 0);
		return -1;
	}
	close(j->fd);
	j->fd = nj.fd;
	j->valid = j->size = nj.valid;
	return 0;
}

int
tg_spool_jnl_put(struct tg_spool_jnl *j, size_t i,
    const struct tg_spool_rcpt_state *st, struct tg_err *err)
{
	uint8_t rec[TG_SPOOL_JNL_REC_MAX];
	size_t len;

	if (i >= j->nrcpt)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "journal %s: recipient %zu out of range", j->qid, i);
	len = tg_spool_jnl_encode(rec, TG_SPOOL_JNL_STATE, (uint32_t)i, st);
	if (jnl_append(j, rec, len, err) != 0)
		return -1;
	j->rs[i] = *st;
	j->rs[i].reason[TG_SPOOL_REASON_MAX - 1] = '\0';
	if (j->size > TG_SPOOL_JNL_COMPACT)
		(void)jnl_compact(j, NULL); /* the old journal still holds */
	return 0;
}

int
tg_spool_jnl_hold(struct tg_spool_jnl *j, int on, struct tg_err *err)
{
	struct tg_spool_rcpt_state st;
	uint8_t rec[TG_SPOOL_JNL_REC_MAX];
	size_t len;

	memset(&st, 0, sizeof(st));
	st.state = (enum tg_spool_rstate)(on != 0);
	len = tg_spool_jnl_encode(rec, TG_SPOOL_JNL_HOLD, 0, &st);
	if (jnl_append(j, rec, len, err) != 0)
		return -1;
	j->held = on != 0;
	return 0;
}

void
tg_spool_jnl_close(struct tg_spool_jnl *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}
