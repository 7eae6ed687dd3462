/*
 * tlsgate queue [--inbound] list|show|flush|delete|hold|release — the
 * relay's queue (spool_dir), or with --inbound mxd's (spool_dir/inbound:
 * mail from the Internet on its way to the internal servers).
 *
 * The queue belongs to tlsgate-relayd (or tlsgate-mxd), which holds the
 * spool's lock; the
 * CLI opens the spool read-only (smtp/queueview, as the console's GET
 * /api/queue does; smtp/spool.h): it reads messages and
 * their recipient journals, and appends hold, release and delete records
 * to the journals, which relayd honours when it next opens the message.
 * flush and release also signal the daemon through its pid file (run_dir/
 * tlsgate-relayd.pid, tlsgate-mxd.pid): SIGUSR1 makes every message due
 * now, SIGUSR2 makes
 * it re-read the journals of held messages. delete marks every recipient
 * not yet delivered as failed (no DSN is sent: nothing was tried); relayd
 * removes the message when it next looks at it, and `queue list` no
 * longer shows it.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "smtp/queueview.h"
#include "util/clock.h"
#include "util/path.h"

static const char queue_usage[] =
    "usage: tlsgate queue [--inbound] list [--json]\n"
    "       tlsgate queue [--inbound] show ID [--json]\n"
    "       tlsgate queue [--inbound] flush\n"
    "       tlsgate queue [--inbound] delete ID\n"
    "       tlsgate queue [--inbound] hold ID\n"
    "       tlsgate queue [--inbound] release ID\n"
    "list shows every message with a recipient not yet delivered; flush\n"
    "asks the daemon to try every message now. The queue is tlsgate-\n"
    "relayd's (outbound); with --inbound it is tlsgate-mxd's (mail for\n"
    "the hosted domains on its way to their internal servers).\n";

/* Which queue: relayd's (outbound) or mxd's (--inbound). */
static struct {
	const char *daemon;		/* "relayd" or "mxd" */
	const char *subdir;		/* below spool_dir: "" or "/inbound" */
} queue_of = { "relayd", "" };

/* The spool read-only; NULL after printing the error, or with *empty set
 * when relayd has never created its queue (nothing is queued then). */
static struct tg_spool *
queue_open(struct cli *cli, int *empty)
{
	const struct tg_conf *conf = cli_conf(cli);
	struct tg_spool *sp = NULL;
	char path[TG_PATH_MAX];
	struct tg_err err;

	*empty = 0;
	if (conf == NULL)
		return NULL;
	if (tg_path_fmt(path, sizeof(path), "%s%s", conf->spool_dir,
	    queue_of.subdir) != 0) {
		cli_fail(CLI_USAGE, "queue: spool_dir is too long");
		return NULL;
	}
	if (tg_queueview_open(path, &sp, &err) != 0) {
		cli_fail(CLI_USAGE, "queue %s: %s", path, err.msg);
		return NULL;
	}
	*empty = sp == NULL;
	return sp;
}

/* Tell the daemon (if it runs) with sig; 1 if told, 0 if not running,
 * -1 after printing the error. */
static int
queue_signal(struct cli *cli, int sig)
{
	const struct tg_conf *conf = cli_conf(cli);
	struct tg_err err;
	int rc;

	if (conf == NULL)
		return -1;
	if ((rc = tg_queueview_notify(conf->run_dir, queue_of.daemon, sig,
	    &err)) < 0)
		cli_fail(CLI_USAGE, "%s", err.msg);
	return rc;
}

static void
queue_print(const struct tg_spool_info *info, int verbose)
{
	const struct tg_spool_env *env = info->env;
	char arr[32], next[32];
	size_t i;

	tg_clock_format(env->arrival, arr, sizeof(arr));
	printf("%s%s %8llu %s <%s>%s\n", env->qid, info->held ? "!" : " ",
	    (unsigned long long)info->size, arr, env->sender,
	    env->flags & TG_SPOOL_F_REQUIRETLS ? " REQUIRETLS" : "");
	for (i = 0; i < env->nrcpt; i++) {
		const struct tg_spool_rcpt_state *rs = &info->rs[i];

		if (!verbose && (rs->state == TG_SPOOL_DELIVERED ||
		    rs->state == TG_SPOOL_FAILED))
			continue;
		tg_queueview_time(rs->next_attempt, next, sizeof(next));
		printf("    <%s> %s", env->rcpt[i].addr,
		    tg_spool_rstate_name(rs->state));
		if (rs->state == TG_SPOOL_DEFERRED)
			printf(", next attempt %s", next);
		if (rs->attempts > 0)
			printf(", %u attempt%s", rs->attempts,
			    rs->attempts == 1 ? "" : "s");
		printf("%s%s\n", rs->reason[0] != '\0' ? ": " : "",
		    rs->reason);
	}
}

static int
list_one(void *arg, const struct tg_spool_info *info)
{
	(void)arg;
	if (tg_queueview_pending(info))
		queue_print(info, 0);
	return 0;
}

/* --json: the list the console's GET /api/queue shows too. */
static int
queue_list_json(struct cli *cli)
{
	const struct tg_conf *conf = cli_conf(cli);
	char path[TG_PATH_MAX];
	struct tg_err err;
	json_t *list;

	if (conf == NULL)
		return CLI_USAGE;
	if (tg_path_fmt(path, sizeof(path), "%s%s", conf->spool_dir,
	    queue_of.subdir) != 0)
		return cli_fail(CLI_USAGE, "queue: spool_dir is too long");
	if (tg_queueview_list(path, 0, &list, NULL, &err) != 0)
		return cli_fail(CLI_USAGE, "queue %s: %s", path, err.msg);
	return cli_print_json(list);
}

static int
queue_list(struct cli *cli, int argc, char **argv)
{
	struct tg_spool *sp;
	struct tg_err err;
	int rc, empty;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0))
		return cli_fail(CLI_USAGE,
		    "usage: tlsgate queue list [--json]");
	if (argc == 2)
		return queue_list_json(cli);
	if ((sp = queue_open(cli, &empty)) == NULL && !empty)
		return CLI_USAGE;
	rc = sp != NULL ? tg_spool_list(sp, list_one, NULL, &err) : 0;
	tg_spool_free(sp);
	if (rc != 0)
		return cli_fail(CLI_USAGE, "queue list: %s", err.msg);
	return CLI_OK;
}

struct show {
	const char *qid;
	int json, found;
};

static int
show_one(void *arg, const struct tg_spool_info *info)
{
	struct show *s = arg;

	if (strcmp(info->env->qid, s->qid) != 0 || !tg_queueview_pending(info))
		return 0;
	s->found = 1;
	if (s->json) {
		cli_print_json(tg_queueview_json(info));
		return 1;
	}
	queue_print(info, 1);
	printf("    client %s (%s), %s%s%s\n", info->env->client_addr,
	    info->env->helo, info->env->proto,
	    info->env->tls_version != NULL ? ", " : "",
	    info->env->tls_version != NULL ? info->env->tls_version : "");
	return 1;
}

static int
queue_show(struct cli *cli, int argc, char **argv)
{
	struct show s = { NULL, 0, 0 };
	struct tg_spool *sp;
	struct tg_err err;
	int empty;

	if (argc < 2 || argc > 3 || (argc == 3 &&
	    strcmp(argv[2], "--json") != 0))
		return cli_fail(CLI_USAGE, "usage: tlsgate queue show ID "
		    "[--json]");
	s.qid = argv[1];
	s.json = argc == 3;
	if (!tg_spool_qid_valid(s.qid))
		return cli_fail(CLI_USAGE, "'%s' is not a queue id", s.qid);
	if ((sp = queue_open(cli, &empty)) == NULL)
		return empty ? cli_fail(CLI_USAGE, "no message %s in the queue",
		    s.qid) : CLI_USAGE;
	if (tg_spool_list(sp, show_one, &s, &err) != 0) {
		tg_spool_free(sp);
		return cli_fail(CLI_USAGE, "queue show: %s", err.msg);
	}
	tg_spool_free(sp);
	if (!s.found)
		return cli_fail(CLI_USAGE, "no message %s in the queue", s.qid);
	return CLI_OK;
}

static int
queue_flush(struct cli *cli, int argc, char **argv)
{
	int rc;

	(void)argv;
	if (argc != 1)
		return cli_fail(CLI_USAGE, "usage: tlsgate queue flush");
	if ((rc = queue_signal(cli, SIGUSR1)) < 0)
		return CLI_USAGE;
	if (rc == 0)
		return cli_fail(CLI_USAGE, "tlsgate-%s is not running; it "
		    "tries the queue when it starts", queue_of.daemon);
	printf("asked tlsgate-%s to deliver the queue now\n",
	    queue_of.daemon);
	return CLI_OK;
}

/* delete, hold, release: one message by id (smtp/queueview, as the
 * console's POST /api/queue/Q/ID/ACTION). */
static int
queue_one(struct cli *cli, int argc, char **argv,
    enum tg_queueview_action act)
{
	const struct tg_conf *conf = cli_conf(cli);
	char path[TG_PATH_MAX];
	struct tg_err err;
	int rc;

	if (argc != 2)
		return cli_fail(CLI_USAGE, "usage: tlsgate queue %s ID",
		    argv[0]);
	if (!tg_spool_qid_valid(argv[1]))
		return cli_fail(CLI_USAGE, "'%s' is not a queue id", argv[1]);
	if (conf == NULL)
		return CLI_USAGE;
	if (tg_path_fmt(path, sizeof(path), "%s%s", conf->spool_dir,
	    queue_of.subdir) != 0)
		return cli_fail(CLI_USAGE, "queue: spool_dir is too long");
	rc = tg_queueview_act(path, argv[1], act, NULL, &err);
	if (rc == TG_SPOOL_NOTFOUND)
		return cli_fail(CLI_USAGE, "no message %s in the queue",
		    argv[1]);
	if (rc != 0)
		return cli_fail(CLI_USAGE, "queue %s: %s", argv[0], err.msg);
	if (act != TG_QUEUEVIEW_HOLD && queue_signal(cli, SIGUSR2) < 0)
		return CLI_USAGE;
	printf("%s %s\n", act == TG_QUEUEVIEW_DELETE ? "deleted" :
	    act == TG_QUEUEVIEW_HOLD ? "held" : "released", argv[1]);
	return CLI_OK;
}

static int
queue_delete(struct cli *cli, int argc, char **argv)
{
	return queue_one(cli, argc, argv, TG_QUEUEVIEW_DELETE);
}

static int
queue_hold(struct cli *cli, int argc, char **argv)
{
	return queue_one(cli, argc, argv, TG_QUEUEVIEW_HOLD);
}

static int
queue_release(struct cli *cli, int argc, char **argv)
{
	return queue_one(cli, argc, argv, TG_QUEUEVIEW_RELEASE);
}

static const struct cli_command queue_commands[] = {
	{ "list", queue_list, "list queued messages" },
	{ "show", queue_show, "show one message and its recipients" },
	{ "flush", queue_flush, "deliver every queued message now" },
	{ "delete", queue_delete, "delete a message (no DSN)" },
	{ "hold", queue_hold, "keep a message from being delivered" },
	{ "release", queue_release, "let a held message be delivered" },
	{ NULL, NULL, NULL }
};

int
cmd_queue(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && cli_wants_help(argc, argv)) {
		fputs(queue_usage, stdout);
		return CLI_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "--inbound") == 0) {
		queue_of.daemon = "mxd";
		queue_of.subdir = "/inbound";
		argv[1] = argv[0];
		return cli_dispatch(cli, "tlsgate queue --inbound",
		    queue_commands, argc - 1, argv + 1);
	}
	return cli_dispatch(cli, "tlsgate queue", queue_commands, argc, argv);
}
