/*
 * smtp/queueview — see queueview.h. The JSON form and the read-only open
 * came from `tlsgate queue` (cli/cmd_queue.c), which uses them still.
 */
#include "smtp/queueview.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/path.h"

int
tg_queueview_open(const char *dir, struct tg_spool **out, struct tg_err *err)
{
	struct tg_spool_opts o = { TG_SPOOL_READONLY, 0, NULL, NULL, NULL };
	char path[TG_PATH_MAX];

	*out = NULL;
	if (tg_path_fmt(path, sizeof(path), "%s/queue", dir) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "the spool path is "
		    "too long");
	/* A read-only spool creates nothing: no queue/ yet is no queue. */
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	return tg_spool_open(dir, &o, out, err);
}

int
tg_queueview_pending(const struct tg_spool_info *info)
{
	size_t i;

	for (i = 0; i < info->env->nrcpt; i++)
		if (info->rs[i].state == TG_SPOOL_PENDING ||
		    info->rs[i].state == TG_SPOOL_DEFERRED)
			return 1;
	return 0;
}

void
tg_queueview_time(time_t t, char *out, size_t outlen)
{
	if (t == 0)
		snprintf(out, outlen, "now");
	else
		tg_clock_format(t, out, outlen);
}

static json_t *
queueview_rcpt(const struct tg_spool_rcpt *r,
    const struct tg_spool_rcpt_state *rs)
{
	char next[32], last[32];

	tg_queueview_time(rs->next_attempt, next, sizeof(next));
	if (rs->last_attempt != 0)
		tg_clock_format(rs->last_attempt, last, sizeof(last));
	return json_pack("{s:s, s:s, s:I, s:s?, s:s?, s:s}", "address",
	    r->addr, "state", tg_spool_rstate_name(rs->state), "attempts",
	    (json_int_t)rs->attempts, "last_attempt", rs->last_attempt != 0 ?
	    last : NULL, "next_attempt", rs->state == TG_SPOOL_DEFERRED ?
	    next : NULL, "reason", rs->reason);
}

json_t *
tg_queueview_json(const struct tg_spool_info *info)
{
	const struct tg_spool_env *env = info->env;
	char arr[32], next[32];
	json_t *rcpts = json_array(), *r;
	size_t i;

	for (i = 0; rcpts != NULL && i < env->nrcpt; i++) {
		r = queueview_rcpt(&env->rcpt[i], &info->rs[i]);
		if (r == NULL || json_array_append_new(rcpts, r) != 0) {
			json_decref(rcpts);
			return NULL;
		}
	}
	if (rcpts == NULL)
		return NULL;
	tg_clock_format(env->arrival, arr, sizeof(arr));
	tg_queueview_time(info->next_attempt, next, sizeof(next));
	/* "o" takes rcpts even when the pack fails. */
	return json_pack("{s:s, s:s, s:s, s:I, s:b, s:b, s:I, s:s, s:s, "
	    "s:s?, s:o}", "queue_id", env->qid, "arrival", arr, "sender",
	    env->sender, "size", (json_int_t)info->size, "held", info->held,
	    "requiretls", (env->flags & TG_SPOOL_F_REQUIRETLS) != 0,
	    "attempts", (json_int_t)info->attempts, "next_attempt", next,
	    "reason", info->last_reason, "client", env->client_addr,
	    "recipients", rcpts);
}

struct queueview_walk {
	json_t *list;		/* borrowed */
	size_t max;
	int truncated, oom;
};

static int
queueview_one(void *arg, const struct tg_spool_info *info)
{
	struct queueview_walk *w = arg;
	json_t *m;

	if (!tg_queueview_pending(info))
		return 0;	/* deleted, or done and about to go */
	if (w->max != 0 && json_array_size(w->list) == w->max) {
		w->truncated = 1;
		return 1;
	}
	m = tg_queueview_json(info);
	if (m == NULL || json_array_append_new(w->list, m) != 0) {
		w->oom = 1;
		return 1;
	}
	return 0;
}

int
tg_queueview_list(const char *dir, size_t max, json_t **out,
    int *truncated, struct tg_err *err)
{
	struct queueview_walk w = { NULL, max, 0, 0 };
	struct tg_spool *sp;
	int rc = 0;

	*out = NULL;
	if (truncated != NULL)
		*truncated = 0;
	if (tg_queueview_open(dir, &sp, err) != 0)
		return -1;
	if ((w.list = json_array()) == NULL)
		rc = tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	else if (sp != NULL)
		rc = tg_spool_list(sp, queueview_one, &w, err);
	tg_spool_free(sp);
	if (rc == 0 && w.oom)
		rc = tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	if (rc != 0) {
		json_decref(w.list);
		return -1;
	}
	if (truncated != NULL)
		*truncated = w.truncated;
	*out = w.list;
	return 0;
}

/* ---- actions on one message ---- */

struct queueview_find {
	const char *qid;
	json_t *msg;		/* owned: its JSON, once found */
};

static int
queueview_find_one(void *arg, const struct tg_spool_info *info)
{
	struct queueview_find *f = arg;

	if (strcmp(info->env->qid, f->qid) != 0)
		return 0;
	f->msg = tg_queueview_json(info);
	return 1;
}

int
tg_queueview_act(const char *dir, const char *qid,
    enum tg_queueview_action act, json_t **out, struct tg_err *err)
{
	struct queueview_find f = { qid, NULL };
	struct tg_spool *sp;
	struct tg_err lerr;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (!tg_spool_qid_valid(qid))
		return TG_SPOOL_NOTFOUND;
	if (tg_queueview_open(dir, &sp, err) != 0)
		return -1;
	if (sp == NULL)
		return TG_SPOOL_NOTFOUND;
	rc = act == TG_QUEUEVIEW_DELETE ? tg_spool_delete(sp, qid,
	    "deleted by the operator", err) : tg_spool_hold(sp, qid,
	    act == TG_QUEUEVIEW_HOLD, err);
	/* Read back: the record is written; not reading it is no error. */
	if (rc == 0 && out != NULL && act != TG_QUEUEVIEW_DELETE &&
	    tg_spool_list(sp, queueview_find_one, &f, &lerr) == 0)
		*out = f.msg;
	else
		json_decref(f.msg);
	tg_spool_free(sp);
	return rc;
}

int
tg_queueview_notify(const char *run_dir, const char *daemon, int sig,
    struct tg_err *err)
{
	char path[TG_PATH_MAX];
	struct flock fl;
	int fd;

	if (tg_path_fmt(path, sizeof(path), "%s/tlsgate-%s.pid", run_dir,
	    daemon) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "run_dir is too "
		    "long");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_GETLK, &fl) != 0) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "%s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (fl.l_type == F_UNLCK)
		return 0;
	if (kill(fl.l_pid, sig) != 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "cannot signal "
		    "tlsgate-%s (pid %ld): %s", daemon, (long)fl.l_pid,
		    strerror(errno));
	return 1;
}
