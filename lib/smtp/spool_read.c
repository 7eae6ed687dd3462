/*
 * smtp/spool — see spool.h. This file: a queued message opened for
 * delivery — envelope, content, recipient marks, removal.
 */
#include "smtp/spool_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"

int
tg_spool_msg_open(struct tg_spool *sp, const char *qid,
    struct tg_spool_msg **out, struct tg_err *err)
{
	struct tg_spool_entry *e;
	struct tg_spool_msg *m;
	int rc;

	*out = NULL;
	if (!tg_spool_qid_valid(qid) || tg_spool_entry_find(sp, qid) == NULL)
		return TG_SPOOL_NOTFOUND;
	if (tg_spool_entry_find(sp, qid)->open)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "%s is already open",
		    qid);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.0", "out of memory");
	m->sp = sp;
	rc = tg_spool_verify(sp, qid, &m->fd, &m->env, &m->info, err);
	if (rc == TG_SPOOL_NOTFOUND)
		tg_spool_entry_del(sp, qid);	/* gone from disk */
	if (rc == 0 && tg_spool_state_load(sp, qid, m->env.nrcpt, &m->jnl,
	    &m->rs, err) != 0) {
		close(m->fd);
		tg_spool_env_clear(&m->env);
		rc = -1;
	}
	if (rc != 0) {
		free(m);
		return rc;
	}
	tg_spool_cursor_init(m, &m->cur);
	if ((e = tg_spool_entry_find(sp, qid)) != NULL) {
		tg_spool_entry_set(e, m->rs, m->env.nrcpt, m->jnl.held);
		e->open = 1;
	}
	sp->nopen++;
	*out = m;
	return 0;
}

const struct tg_spool_env *
tg_spool_msg_env(const struct tg_spool_msg *m)
{
	return &m->env;
}

const struct tg_spool_rcpt_state *
tg_spool_msg_rcpt(const struct tg_spool_msg *m, size_t i)
{
	return i < m->env.nrcpt ? &m->rs[i] : NULL;
}

uint64_t
tg_spool_msg_size(const struct tg_spool_msg *m)
{
	return m->info.data_size;
}

int
tg_spool_msg_held(const struct tg_spool_msg *m)
{
	return m->jnl.held;
}

void
tg_spool_msg_rewind(struct tg_spool_msg *m)
{
	tg_spool_cursor_init(m, &m->cur);
}

void
tg_spool_cursor_init(const struct tg_spool_msg *m, struct tg_spool_cursor *c)
{
	c->off = m->info.data_off;
	c->rem = 0;
}

/* Exactly n bytes at off, or -1. */
static int
pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	uint8_t *b = buf;
	ssize_t r;

	while (n > 0) {
		r = pread(fd, b, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		b += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Step c over the next 'D' header; 1 at END. The object was verified
 * at open; these checks only catch a file changed since. */
static int
next_record(struct tg_spool_msg *m, struct tg_spool_cursor *c,
    struct tg_err *err)
{
	uint8_t hdr[TG_SPOOL_REC_HDR];
	uint32_t len;
	int type;

	if (c->off == m->info.end_off)
		return 1;
	if (c->off < m->info.data_off || c->off > m->info.end_off)
		return tg_err_set(err, TG_ERR_BUG, NULL, "bad cursor");
	if (pread_full(m->fd, hdr, sizeof(hdr), c->off) != 0)
		return tg_spool_io_err(err, errno, "read", m->env.qid);
	tg_spool_rec_hdr_get(hdr, &type, &len);
	if (type != TG_SPOOL_REC_DATA || len == 0 || len > TG_SPOOL_CHUNK ||
	    c->off + TG_SPOOL_REC_HDR + len > m->info.end_off)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "%s changed after verification", m->env.qid);
	c->off += TG_SPOOL_REC_HDR;
	c->rem = len;
	return 0;
}

ssize_t
tg_spool_msg_pread(struct tg_spool_msg *m, struct tg_spool_cursor *c,
    void *buf, size_t cap, struct tg_err *err)
{
	ssize_t r;
	size_t k;
	int rc;

	if (cap == 0)
		return 0;
	if (c->rem == 0 && (rc = next_record(m, c, err)) != 0)
		return rc > 0 ? 0 : -1;
	k = cap < c->rem ? cap : c->rem;
	do
		r = pread(m->fd, buf, k, (off_t)c->off);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return tg_spool_io_err(err, r == 0 ? EIO : errno, "read",
		    m->env.qid);
	c->off += (uint64_t)r;
	c->rem -= (uint32_t)r;
	return r;
}

ssize_t
tg_spool_msg_read(struct tg_spool_msg *m, void *buf, size_t cap,
    struct tg_err *err)
{
	return tg_spool_msg_pread(m, &m->cur, buf, cap, err);
}

static int
final(enum tg_spool_rstate st)
{
	return st == TG_SPOOL_DELIVERED || st == TG_SPOOL_FAILED;
}

int
tg_spool_mark(struct tg_spool_msg *m, size_t i, enum tg_spool_rstate state,
    time_t next_attempt, const char *reason, struct tg_err *err)
{
	struct tg_spool_rcpt_state st;

	if (m->sp->flags & TG_SPOOL_READONLY)
		return tg_err_set(err, TG_ERR_BUG, NULL, "spool is read-only");
	if (i >= m->env.nrcpt)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "recipient %zu of %zu", i, m->env.nrcpt);
	if (state != TG_SPOOL_DEFERRED && !final(state))
		return tg_err_set(err, TG_ERR_BUG, NULL, "bad state %d",
		    (int)state);
	if (final(m->rs[i].state))
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "recipient %zu is already %s", i,
		    tg_spool_rstate_name(m->rs[i].state));
	st = m->rs[i];
	st.state = state;
	if (st.attempts < UINT32_MAX)
		st.attempts++;
	st.last_attempt = tg_clock_now();
	st.next_attempt = state == TG_SPOOL_DEFERRED ? next_attempt : 0;
	snprintf(st.reason, sizeof(st.reason), "%s",
	    reason != NULL ? reason : "");
	return tg_spool_jnl_put(&m->jnl, i, &st, err);
}

int
tg_spool_msg_done(const struct tg_spool_msg *m)
{
	size_t i;

	for (i = 0; i < m->env.nrcpt; i++)
		if (!final(m->rs[i].state))
			return 0;
	return 1;
}

int
tg_spool_msg_close(struct tg_spool_msg **mp, struct tg_err *err)
{
	struct tg_spool_msg *m;
	struct tg_spool_entry *e;
	struct tg_spool *sp;
	int rc = 0;

	if (mp == NULL || (m = *mp) == NULL)
		return 0;
	*mp = NULL;
	sp = m->sp;
	tg_spool_jnl_close(&m->jnl);
	close(m->fd);
	if (tg_spool_msg_done(m) && !(sp->flags & TG_SPOOL_READONLY))
		rc = tg_spool_remove(sp, m->env.qid, err) == 0 ? 1 : -1;
	if (rc != 1 && (e = tg_spool_entry_find(sp, m->env.qid)) != NULL) {
		tg_spool_entry_set(e, m->rs, m->env.nrcpt, m->jnl.held);
		e->open = 0;
	}
	free(m->rs);
	tg_spool_env_clear(&m->env);
	free(m);
	sp->nopen--;
	return rc;
}
