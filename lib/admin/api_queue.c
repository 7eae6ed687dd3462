/*
 * admin/api_queue — the actions on one queued message (see api.h,
 * web/API.md): POST /api/queue/QUEUE/ID/ACTION, QUEUE outbound
 * (tlsgate-relayd's spool_dir) or inbound (tlsgate-mxd's
 * spool_dir/inbound), ACTION hold, release or delete. They are `tlsgate
 * queue [--inbound] hold|release|delete ID`, through the same function
 * (smtp/queueview: tg_queueview_act), so the console and the CLI cannot
 * disagree. After a release or delete the daemon is told (SIGUSR2), as
 * the CLI tells it; when it cannot be, the record stays in the journal
 * and the daemon sees it when it next opens the message, so the reply is
 * still 200 and the log line says so.
 */
#include "admin/api_int.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "smtp/queueview.h"
#include "util/path.h"
#include "util/text.h"

static const struct {
	const char *name;		/* the last segment of the path */
	enum tg_queueview_action act;
} queue_actions[] = {
	{ "hold", TG_QUEUEVIEW_HOLD },
	{ "release", TG_QUEUEVIEW_RELEASE },
	{ "delete", TG_QUEUEVIEW_DELETE },
};

/* What the path names: the queue's subdir and daemon, and the action.
 * The route matched, so both are among the known ones. */
static void
queue_of_path(const char *path, const char **subdir, const char **daemon,
    size_t *act)
{
	const char *last = strrchr(path, '/') + 1;
	size_t i;

	if (strncmp(path, "/api/queue/inbound/", 19) == 0) {
		*subdir = "/inbound";
		*daemon = "mxd";
	} else {
		*subdir = "";
		*daemon = "relayd";
	}
	*act = 0;
	for (i = 0; i < sizeof(queue_actions) / sizeof(queue_actions[0]); i++)
		if (strcmp(last, queue_actions[i].name) == 0)
			*act = i;
}

/* The action on c->name in the queue below spool_dir + subdir; the
 * daemon told into *told ("yes", "no": not running, "failed"). */
static void
queue_act(struct adminapi_call *c, const char *subdir, const char *daemon,
    enum tg_queueview_action act, const char **told)
{
	static const char *const fields[] = { NULL };
	char path[TG_PATH_MAX];
	struct tg_err err;
	json_t *msg = NULL;
	int rc;

	if (adminapi_fields(c, fields) != 0)
		return;
	if (!tg_spool_qid_valid(c->name)) {
		adminapi_error(c, 400, "'%.64s' is not a queue id", c->name);
		return;
	}
	if (tg_path_fmt(path, sizeof(path), "%s%s", c->api->conf->spool_dir,
	    subdir) != 0) {
		adminapi_error(c, 503, "spool_dir is too long");
		return;
	}
	rc = tg_queueview_act(path, c->name, act, &msg, &err);
	if (rc == TG_SPOOL_NOTFOUND) {
		adminapi_error(c, 404, "no message %s in the queue", c->name);
		return;
	}
	if (rc != 0) {
		adminapi_error(c, 503, "the queue %s could not be changed: %s",
		    path, err.msg);
		return;
	}
	if (act != TG_QUEUEVIEW_HOLD) {
		rc = tg_queueview_notify(c->api->conf->run_dir, daemon,
		    SIGUSR2, &err);
		*told = rc > 0 ? "yes" : rc == 0 ? "no" : "failed";
	}
	adminapi_reply(c, 200, msg);
}

void
adminapi_queue_action(struct adminapi_call *c)
{
	const char *subdir, *daemon, *told = NULL;
	char action[32], what[TG_SPOOL_QID_LEN + 64];
	size_t i;

	queue_of_path(c->req->path, &subdir, &daemon, &i);
	queue_act(c, subdir, daemon, queue_actions[i].act, &told);
	tg_text_fmt(action, sizeof(action), "queue-%s", queue_actions[i].name);
	tg_text_fmt(what, sizeof(what), "queue=%s qid=%.*s%s%s",
	    subdir[0] != '\0' ? "inbound" : "outbound", TG_SPOOL_QID_LEN,
	    tg_spool_qid_valid(c->name) ? c->name : "-",
	    told != NULL ? " daemon_told=" : "", told != NULL ? told : "");
	adminapi_log_result(c, action, what);
}

/* `tlsgate queue [--inbound] flush`: the daemon makes every message due
 * now (SIGUSR1; delivery.h). Nothing in the spool changes. */
void
adminapi_queue_flush(struct adminapi_call *c)
{
	static const char *const fields[] = { NULL };
	const char *subdir, *daemon, *told = "-";
	char what[64];
	struct tg_err err;
	size_t i;
	int rc;

	queue_of_path(c->req->path, &subdir, &daemon, &i);
	if (adminapi_fields(c, fields) == 0) {
		rc = tg_queueview_notify(c->api->conf->run_dir, daemon,
		    SIGUSR1, &err);
		told = rc > 0 ? "yes" : rc == 0 ? "no" : "failed";
		adminapi_reply(c, 200, json_pack("{s:s}", "daemon_told",
		    told));
	}
	tg_text_fmt(what, sizeof(what), "queue=%s daemon_told=%s",
	    subdir[0] != '\0' ? "inbound" : "outbound", told);
	adminapi_log_result(c, "queue-flush", what);
}
