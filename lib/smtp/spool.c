/*
 * smtp/spool — see spool.h. This file: the in-memory queue list,
 * verification and quarantine, queue ids, hold, refresh and list.
 */
#include "smtp/spool_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "core/log.h"
#include "util/path.h"

/* ---- Small shared helpers --------------------------------------------- */

int
tg_spool_io_err(struct tg_err *err, int e, const char *what, const char *name)
{
	int full = e == ENOSPC || e == EDQUOT;

	return tg_err_set(err, TG_ERR_TEMP, full ? "4.3.1" : "4.3.0",
	    "spool %s %s: %s", what, name, strerror(e));
}

void
tg_spool_event(struct tg_spool *sp, enum tg_spool_event ev, const char *name,
    const char *detail)
{
	static const char *const what[] = { "quarantined", "corrupt",
	    "embryonic file removed", "orphan journal removed",
	    "unexpected file left alone", "i/o error" };
	enum tg_log_level lvl = TG_LOG_ERR;

	if (sp->report != NULL) {
		sp->report(sp->report_arg, ev, name, detail);
		return;
	}
	if (ev == TG_SPOOL_EV_EMBRYO_REMOVED ||
	    ev == TG_SPOOL_EV_ORPHAN_REMOVED)
		lvl = TG_LOG_INFO;
	else if (ev == TG_SPOOL_EV_UNKNOWN)
		lvl = TG_LOG_WARN;
	tg_log(lvl, NULL, "spool=%s file=%s event=\"%s\" detail=\"%s\"",
	    sp->dir, name, what[ev], detail != NULL ? detail : "");
}

const char *
tg_spool_rstate_name(enum tg_spool_rstate st)
{
	switch (st) {
	case TG_SPOOL_PENDING: return "pending";
	case TG_SPOOL_DEFERRED: return "deferred";
	case TG_SPOOL_DELIVERED: return "delivered";
	case TG_SPOOL_FAILED: return "failed";
	}
	return "unknown";
}

void
tg_spool_env_clear(struct tg_spool_env *env)
{
	size_t i;

	if (env == NULL)
		return;
	for (i = 0; env->rcpt != NULL && i < env->nrcpt; i++) {
		free(env->rcpt[i].addr);
		free(env->rcpt[i].orcpt);
	}
	free(env->rcpt);
	free(env->sender);
	free(env->envid);
	free(env->helo);
	free(env->client_addr);
	free(env->client_name);
	free(env->proto);
	free(env->tls_version);
	free(env->tls_cipher);
	memset(env, 0, sizeof(*env));
}

/* ---- Queue ids ---------------------------------------------------------- */

/* Crockford base32: ascending in ASCII, so ids sort as strings. */
static const char qid_alpha[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
static pthread_mutex_t qid_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t qid_last_ms, qid_last_rnd;

static void
b32(char *out, uint64_t v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--) {
		out[i] = qid_alpha[v & 31];
		v >>= 5;
	}
}

void
tg_spool_qid_new(char out[TG_SPOOL_QID_LEN + 1])
{
	const uint64_t rmax = (uint64_t)1 << 40;
	unsigned char r[5];
	struct timespec ts;
	uint64_t ms, rnd = 0;
	int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (RAND_bytes(r, sizeof(r)) != 1)
		memcpy(r, &ts.tv_nsec, sizeof(r) < sizeof(ts.tv_nsec) ?
		    sizeof(r) : sizeof(ts.tv_nsec));
	for (i = 0; i < 5; i++)
		rnd = (rnd << 8) | r[i];
	pthread_mutex_lock(&qid_lock);
	if (ms <= qid_last_ms) { /* same millisecond, or clock went back */
		ms = qid_last_ms;
		rnd = qid_last_rnd + 1;
		if (rnd >= rmax) {
			ms++;
			rnd &= rmax - 1;
		}
	}
	qid_last_ms = ms;
	qid_last_rnd = rnd;
	pthread_mutex_unlock(&qid_lock);
	b32(out, ms, 10);
	b32(out + 10, rnd, 8);
	out[TG_SPOOL_QID_LEN] = '\0';
}

int
tg_spool_qid_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < TG_SPOOL_QID_LEN; i++)
		if (s[i] == '\0' || strchr(qid_alpha, s[i]) == NULL)
			return 0;
	return s[TG_SPOOL_QID_LEN] == '\0';
}

/* ---- The in-memory queue list ----------------------------------------- */

/* Index of the first entry whose qid is ≥ qid. */
static size_t
ent_lower(const struct tg_spool *sp, const char *qid)
{
	size_t lo = 0, hi = sp->nent, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(sp->ent[mid].qid, qid) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct tg_spool_entry *
tg_spool_entry_find(struct tg_spool *sp, const char *qid)
{
	size_t i = ent_lower(sp, qid);

	if (i < sp->nent && strcmp(sp->ent[i].qid, qid) == 0)
		return &sp->ent[i];
	return NULL;
}

static int
ent_grow(struct tg_spool *sp)
{
	struct tg_spool_entry *n;
	size_t cap;

	if (sp->nent < sp->capent)
		return 0;
	if (sp->nent >= TG_SPOOL_QUEUE_MAX)
		return -1;
	cap = sp->capent == 0 ? 64 : sp->capent * 2;
	if (cap > TG_SPOOL_QUEUE_MAX)
		cap = TG_SPOOL_QUEUE_MAX;
	if ((n = realloc(sp->ent, cap * sizeof(*n))) == NULL)
		return -1;
	sp->ent = n;
	sp->capent = cap;
	return 0;
}

int
tg_spool_entry_add(struct tg_spool *sp, const char *qid,
    struct tg_spool_entry **out)
{
	size_t i;

	if (ent_grow(sp) != 0)
		return -1;
	i = ent_lower(sp, qid);
	memmove(&sp->ent[i + 1], &sp->ent[i],
	    (sp->nent - i) * sizeof(*sp->ent));
	sp->nent++;
	memset(&sp->ent[i], 0, sizeof(sp->ent[i]));
	snprintf(sp->ent[i].qid, sizeof(sp->ent[i].qid), "%s", qid);
	*out = &sp->ent[i];
	return 0;
}

void
tg_spool_entry_del(struct tg_spool *sp, const char *qid)
{
	struct tg_spool_entry *e = tg_spool_entry_find(sp, qid);
	size_t i;

	if (e == NULL)
		return;
	i = (size_t)(e - sp->ent);
	memmove(&sp->ent[i], &sp->ent[i + 1],
	    (sp->nent - i - 1) * sizeof(*sp->ent));
	sp->nent--;
}

void
tg_spool_entry_set(struct tg_spool_entry *e,
    const struct tg_spool_rcpt_state *rs, size_t nrcpt, int held)
{
	time_t next = 0;
	int have = 0;
	size_t i;

	e->nrcpt = (uint32_t)nrcpt;
	e->pending = 0;
	e->held = held != 0;
	for (i = 0; i < nrcpt; i++) {
		if (rs[i].state == TG_SPOOL_DELIVERED ||
		    rs[i].state == TG_SPOOL_FAILED)
			continue;
		e->pending++;
		if (rs[i].state == TG_SPOOL_PENDING)
			next = 0, have = 1;
		else if (!have || (next != 0 && rs[i].next_attempt < next))
			next = rs[i].next_attempt, have = 1;
	}
	e->next_attempt = next;
}

size_t
tg_spool_count(const struct tg_spool *sp)
{
	return sp->nent;
}

uint64_t
tg_spool_max_size(const struct tg_spool *sp)
{
	return sp->max_size;
}

void
tg_spool_due(struct tg_spool *sp, time_t now,
    int (*fn)(void *arg, const char *qid), void *arg)
{
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_spool_entry *e;
	size_t i = 0;

	while (i < sp->nent) {
		e = &sp->ent[i];
		if (e->held || e->open || e->pending == 0 ||
		    e->next_attempt > now) {
			i++;
			continue;
		}
		memcpy(qid, e->qid, sizeof(qid));
		if (fn(arg, qid) != 0)
			return;
		/* fn may have removed this entry: then i is already next. */
		if (i < sp->nent && strcmp(sp->ent[i].qid, qid) == 0)
			i++;
	}
}

time_t
tg_spool_next_due(const struct tg_spool *sp)
{
	time_t best = 0;
	int have = 0;
	size_t i;

	for (i = 0; i < sp->nent; i++) {
		const struct tg_spool_entry *e = &sp->ent[i];

		if (e->held || e->open || e->pending == 0)
			continue;
		if (!have || e->next_attempt < best)
			best = e->next_attempt, have = 1;
	}
	return best;
}

/* ---- Verification and quarantine -------------------------------------- */

struct fsrc {
	int fd;
	size_t pos, len;
	uint8_t buf[16384];
};

static int
fsrc_read(void *ctx, void *out, size_t n)
{
	struct fsrc *f = ctx;
	uint8_t *o = out;
	ssize_t r;
	size_t k;

	while (n > 0) {
		if (f->pos == f->len) {
			r = read(f->fd, f->buf, sizeof(f->buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				if (r == 0)
					errno = 0;
				return -1;
			}
			f->pos = 0;
			f->len = (size_t)r;
		}
		k = f->len - f->pos < n ? f->len - f->pos : n;
		memcpy(o, f->buf + f->pos, k);
		f->pos += k;
		o += k;
		n -= k;
	}
	return 0;
}

static int
verify_fd(int fd, const char *qid, struct tg_spool_env *env,
    struct tg_spool_rec_info *info, struct tg_err *err)
{
	struct tg_spool_rec_src src;
	struct fsrc *f;
	struct stat st;
	int rc;

	memset(env, 0, sizeof(*env));
	if (fstat(fd, &st) != 0)
		return tg_spool_io_err(err, errno, "stat", qid);
	if (!S_ISREG(st.st_mode))
		return tg_err_set(err, TG_ERR_PERM, NULL, "not a regular file");
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.0", "out of memory");
	f->fd = fd;
	src.read = fsrc_read;
	src.ctx = f;
	src.size = (uint64_t)st.st_size;
	rc = tg_spool_rec_parse(&src, env, info, err);
	free(f);
	if (rc == 0 && strcmp(env->qid, qid) != 0) {
		tg_spool_env_clear(env);
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "queue id record differs from the file name");
	}
	return rc;
}

int
tg_spool_verify(struct tg_spool *sp, const char *qid, int *fdp,
    struct tg_spool_env *env, struct tg_spool_rec_info *info,
    struct tg_err *err)
{
	int fd;

	memset(env, 0, sizeof(*env));
	fd = openat(sp->dfd_queue, qid, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return TG_SPOOL_NOTFOUND;
	if (fd < 0 && errno != ELOOP)
		return tg_spool_io_err(err, errno, "open", qid);
	if (fd < 0)
		tg_err_set(err, TG_ERR_PERM, NULL, "symbolic link");
	else if (verify_fd(fd, qid, env, info, err) == 0) {
		*fdp = fd;
		return 0;
	} else
		close(fd);
	if (err != NULL && err->cls == TG_ERR_PERM) {
		if (sp->flags & TG_SPOOL_READONLY)
			tg_spool_event(sp, TG_SPOOL_EV_CORRUPT, qid, err->msg);
		else
			tg_spool_quarantine(sp, qid, err->msg);
	}
	return -1;
}

/* Move dir/name to corrupt/, as name, name.1, ... never replacing. */
static int
move_aside(struct tg_spool *sp, int dfd, const char *name, const char *sfx,
    char *dst, size_t dstlen)
{
	int k;

	for (k = 0; k < 100; k++) {
		if (k == 0)
			tg_path_fmt(dst, dstlen, "%s%s", name, sfx);
		else
			tg_path_fmt(dst, dstlen, "%s%s.%d", name, sfx, k);
		if (tg_spool_rename_noreplace(dfd, name, sp->dfd_corrupt,
		    dst) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

void
tg_spool_quarantine(struct tg_spool *sp, const char *name, const char *why)
{
	char dst[TG_SPOOL_QID_LEN + 16], st[TG_SPOOL_QID_LEN + 16];
	char detail[TG_ERR_MSG_MAX + 64];

	tg_spool_entry_del(sp, name);
	if (move_aside(sp, sp->dfd_queue, name, "", dst, sizeof(dst)) != 0) {
		snprintf(detail, sizeof(detail), "%s; moving to corrupt/ "
		    "failed: %s (left in queue/, not delivered)", why,
		    strerror(errno));
		tg_spool_event(sp, TG_SPOOL_EV_IO_ERROR, name, detail);
		return;
	}
	if (move_aside(sp, sp->dfd_state, name, ".state", st, sizeof(st)) != 0)
		st[0] = '\0';
	snprintf(detail, sizeof(detail), "%s; moved to corrupt/%s%s%s", why,
	    dst, st[0] != '\0' ? " and corrupt/" : "", st);
	tg_spool_event(sp, TG_SPOOL_EV_QUARANTINED, name, detail);
}

int
tg_spool_remove(struct tg_spool *sp, const char *qid, struct tg_err *err)
{
	/* The object first: a journal without its object is harmless and
	 * removed at the next start; the reverse would re-deliver all. */
	if (unlinkat(sp->dfd_queue, qid, 0) != 0 && errno != ENOENT)
		return tg_spool_io_err(err, errno, "unlink", qid);
	if (unlinkat(sp->dfd_state, qid, 0) != 0 && errno != ENOENT)
		tg_spool_event(sp, TG_SPOOL_EV_IO_ERROR, qid, strerror(errno));
	tg_spool_entry_del(sp, qid);
	return 0;
}

/* ---- Journals, hold, refresh, list -------------------------------------- */

int
tg_spool_state_load(struct tg_spool *sp, const char *qid, size_t nrcpt,
    struct tg_spool_jnl *j, struct tg_spool_rcpt_state **rsp,
    struct tg_err *err)
{
	struct tg_spool_rcpt_state *rs;

	if ((rs = calloc(nrcpt > 0 ? nrcpt : 1, sizeof(*rs))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.0", "out of memory");
	tg_spool_jnl_init(j, sp->dfd_state, &sp->io, qid, rs, nrcpt);
	if (tg_spool_jnl_load(j, err) != 0) {
		free(rs);
		return -1;
	}
	*rsp = rs;
	return 0;
}

/* Make sure the entry for qid knows its recipient count (it does not
 * when the object could not be read at start-up). 0, NOTFOUND or -1. */
static int
entry_nrcpt(struct tg_spool *sp, const char *qid, size_t *nrcpt,
    struct tg_err *err)
{
	struct tg_spool_entry *e = tg_spool_entry_find(sp, qid);
	struct tg_spool_rec_info info;
	struct tg_spool_env env;
	int fd, rc;

	if (e == NULL)
		return TG_SPOOL_NOTFOUND;
	if (e->open)
		return tg_err_set(err, TG_ERR_TEMP, NULL,
		    "%s is being delivered; try again", qid);
	if (e->nrcpt > 0) {
		*nrcpt = e->nrcpt;
		return 0;
	}
	if ((rc = tg_spool_verify(sp, qid, &fd, &env, &info, err)) != 0)
		return rc;
	close(fd);
	*nrcpt = env.nrcpt;
	tg_spool_env_clear(&env);
	return 0;
}

/* Load qid's journal, apply hold (on = 0/1) or nothing (on < 0), and
 * update its entry. */
static int
entry_journal(struct tg_spool *sp, const char *qid, int on,
    struct tg_err *err)
{
	struct tg_spool_rcpt_state *rs;
	struct tg_spool_entry *e;
	struct tg_spool_jnl j;
	size_t nrcpt = 0;
	int rc;

	if ((rc = entry_nrcpt(sp, qid, &nrcpt, err)) != 0)
		return rc;
	if (tg_spool_state_load(sp, qid, nrcpt, &j, &rs, err) != 0)
		return -1;
	rc = on >= 0 ? tg_spool_jnl_hold(&j, on, err) : 0;
	tg_spool_jnl_close(&j);
	if (rc == 0 && (e = tg_spool_entry_find(sp, qid)) != NULL)
		tg_spool_entry_set(e, rs, nrcpt, j.held);
	free(rs);
	return rc;
}

int
tg_spool_hold(struct tg_spool *sp, const char *qid, int on,
    struct tg_err *err)
{
	if (!tg_spool_qid_valid(qid))
		return TG_SPOOL_NOTFOUND;
	return entry_journal(sp, qid, on != 0, err);
}

int
tg_spool_refresh(struct tg_spool *sp, const char *qid, struct tg_err *err)
{
	if (!tg_spool_qid_valid(qid))
		return TG_SPOOL_NOTFOUND;
	return entry_journal(sp, qid, -1, err);
}

/* Mark every recipient not final as FAILED in the journal. */
static int
delete_marks(struct tg_spool *sp, const char *qid, size_t nrcpt,
    const char *reason, struct tg_err *err)
{
	struct tg_spool_rcpt_state *rs, st;
	struct tg_spool_entry *e;
	struct tg_spool_jnl j;
	size_t i;
	int rc = 0;

	if (tg_spool_state_load(sp, qid, nrcpt, &j, &rs, err) != 0)
		return -1;
	for (i = 0; rc == 0 && i < nrcpt; i++) {
		if (rs[i].state == TG_SPOOL_DELIVERED ||
		    rs[i].state == TG_SPOOL_FAILED)
			continue;
		st = rs[i];
		st.state = TG_SPOOL_FAILED;
		st.next_attempt = 0;
		snprintf(st.reason, sizeof(st.reason), "%s",
		    reason != NULL ? reason : "deleted");
		rc = tg_spool_jnl_put(&j, i, &st, err);
	}
	tg_spool_jnl_close(&j);
	if ((e = tg_spool_entry_find(sp, qid)) != NULL)
		tg_spool_entry_set(e, rs, nrcpt, j.held);
	free(rs);
	return rc;
}

int
tg_spool_delete(struct tg_spool *sp, const char *qid, const char *reason,
    struct tg_err *err)
{
	size_t nrcpt = 0;
	int rc;

	if (!tg_spool_qid_valid(qid))
		return TG_SPOOL_NOTFOUND;
	if ((rc = entry_nrcpt(sp, qid, &nrcpt, err)) != 0)
		return rc;
	if (delete_marks(sp, qid, nrcpt, reason, err) != 0)
		return -1;
	if (sp->flags & TG_SPOOL_READONLY)
		return 0;
	return tg_spool_remove(sp, qid, err);
}

void
tg_spool_refresh_held(struct tg_spool *sp)
{
	char (*held)[TG_SPOOL_QID_LEN + 1] = NULL;
	size_t i, nheld = 0;

	for (i = 0; i < sp->nent; i++)
		nheld += sp->ent[i].held != 0;
	if (nheld > 0 && (held = calloc(nheld, sizeof(*held))) != NULL) {
		nheld = 0;
		for (i = 0; i < sp->nent; i++)
			if (sp->ent[i].held && !sp->ent[i].open)
				memcpy(held[nheld++], sp->ent[i].qid,
				    sizeof(held[0]));
		/* A refresh may quarantine, which changes the list. */
		for (i = 0; i < nheld; i++)
			(void)entry_journal(sp, held[i], -1, NULL);
	}
	free(held);
}

size_t
tg_spool_flush(struct tg_spool *sp)
{
	struct tg_spool_entry *e;
	size_t i, due = 0;

	tg_spool_refresh_held(sp);
	for (i = 0; i < sp->nent; i++) {
		e = &sp->ent[i];
		if (e->open || e->held || e->pending == 0)
			continue;
		e->next_attempt = 0;
		due++;
	}
	return due;
}

/* Fill info's summary fields from the recipient states. */
static void
info_summary(struct tg_spool_info *info, const struct tg_spool_rcpt_state *rs,
    size_t nrcpt)
{
	struct tg_spool_entry e;
	time_t last = 0;
	size_t i;

	tg_spool_entry_set(&e, rs, nrcpt, info->held);
	info->next_attempt = e.next_attempt;
	info->attempts = 0;
	info->last_reason = "";
	for (i = 0; i < nrcpt; i++) {
		if (rs[i].attempts > info->attempts)
			info->attempts = rs[i].attempts;
		if (rs[i].attempts > 0 && rs[i].last_attempt >= last) {
			last = rs[i].last_attempt;
			info->last_reason = rs[i].reason;
		}
	}
}

/* Read one message and hand it to fn; returns fn's result, 0 if the
 * message was skipped. */
static int
list_one(struct tg_spool *sp, const char *qid,
    int (*fn)(void *arg, const struct tg_spool_info *info), void *arg)
{
	struct tg_spool_rcpt_state *rs;
	struct tg_spool_rec_info ri;
	struct tg_spool_info info;
	struct tg_spool_env env;
	struct tg_spool_jnl j;
	struct tg_err err;
	int fd, rc;

	rc = tg_spool_verify(sp, qid, &fd, &env, &ri, &err);
	if (rc == -1 && err.cls == TG_ERR_TEMP)
		tg_spool_event(sp, TG_SPOOL_EV_IO_ERROR, qid, err.msg);
	if (rc != 0)
		return 0;
	close(fd);
	if (tg_spool_state_load(sp, qid, env.nrcpt, &j, &rs, &err) != 0) {
		tg_spool_event(sp, TG_SPOOL_EV_IO_ERROR, qid, err.msg);
		tg_spool_env_clear(&env);
		return 0;
	}
	memset(&info, 0, sizeof(info));
	info.env = &env;
	info.rs = rs;
	info.size = ri.data_size;
	info.held = j.held;
	info_summary(&info, rs, env.nrcpt);
	rc = fn(arg, &info);
	free(rs);
	tg_spool_env_clear(&env);
	return rc;
}

int
tg_spool_list(struct tg_spool *sp,
    int (*fn)(void *arg, const struct tg_spool_info *info), void *arg,
    struct tg_err *err)
{
	char (*ids)[TG_SPOOL_QID_LEN + 1];
	size_t i, n = sp->nent;

	/* A snapshot of the ids: verification may quarantine entries. */
	if ((ids = calloc(n > 0 ? n : 1, sizeof(*ids))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	for (i = 0; i < n; i++)
		memcpy(ids[i], sp->ent[i].qid, sizeof(ids[i]));
	for (i = 0; i < n; i++)
		if (list_one(sp, ids[i], fn, arg) != 0)
			break;
	free(ids);
	return 0;
}
