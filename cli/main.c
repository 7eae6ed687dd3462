/*
 * tlsgate — the command-line tool. See cli.h for conventions.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "core/log.h"
#include "core/privs.h"

static const struct cli_command commands[] = {
	{ "init", cmd_init, "create the state directory, store and a "
	    "first self-signed certificate" },
	{ "domain", cmd_domain, "add, list, show, change or remove hosted "
	    "domains" },
	{ "config", cmd_config, "show or check the configuration" },
	{ "check", cmd_check, "check the transport security of a mail "
	    "domain (DANE, MTA-STS, TLS-RPT)" },
	{ "sts-cache", cmd_stscache, "show the relay's MTA-STS policy cache, "
	    "look up or refresh a domain's policy" },
	{ "queue", cmd_queue, "list, show, flush, delete, hold or release "
	    "queued mail" },
	{ "policy", cmd_policy, "set, list or remove outbound TLS policies "
	    "per destination domain" },
	{ "relay", cmd_relay, "allow, deny or list the networks that may "
	    "send through relayd" },
	{ "sts", cmd_sts, "set the MTA-STS policy of a hosted domain, show "
	    "what to publish" },
	{ "report", cmd_report, "TLS reports (RFC 8460): received, ours" },
	{ "cert", cmd_cert, "list certificates; the TLSA records to publish" },
	{ "admin", cmd_admin, "add, list or remove admin console users, "
	    "change their passwords" },
	{ NULL, NULL, NULL }
};

/*
 * Root on an installation of `user`: become that user, so that the files
 * this command makes (a store's -wal and -shm, outbox mail, keys) belong
 * to the daemons' user as well. Anything else is left as it is: no user
 * configured, no such user yet, or a state directory of root's own.
 */
static int
cli_become_user(const struct tg_conf *conf, struct tg_err *err)
{
	struct stat st;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || conf->user[0] == '\0' ||
	    tg_privs_lookup(conf->user, &uid, &gid, err) != 0 || uid == 0 ||
	    stat(conf->state_dir, &st) != 0 || st.st_uid != uid)
		return 0;
	return tg_privs_drop(conf->user, err);
}

const struct tg_conf *
cli_conf(struct cli *cli)
{
	struct tg_err err;

	if (cli->conf != NULL)
		return cli->conf;
	if (tg_conf_load(cli->conf_path, &cli->conf, &err) != 0) {
		cli_fail(CLI_USAGE, "%s", err.msg);
		return NULL;
	}
	if (!cli->keep_root && cli_become_user(cli->conf, &err) != 0) {
		cli_fail(CLI_USAGE, "%s", err.msg);
		tg_conf_free(cli->conf);
		cli->conf = NULL;
		return NULL;
	}
	return cli->conf;
}

struct tg_store *
cli_store_open(struct cli *cli, int readonly)
{
	const struct tg_conf *conf = cli_conf(cli);
	struct tg_store *st = NULL;
	struct tg_err err;
	int rc;

	if (conf == NULL)
		return NULL;
	rc = readonly ? tg_store_open_readonly(conf->state_dir, &st, &err) :
	    tg_store_open(conf->state_dir, &st, &err);
	if (rc != 0) {
		cli_fail(CLI_USAGE, "%s%s", err.msg, readonly ?
		    " (run 'tlsgate init' first?)" : "");
		return NULL;
	}
	return st;
}

int
cli_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("tlsgate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int
cli_print_json(json_t *value)
{
	if (value == NULL)
		return cli_fail(CLI_USAGE, "out of memory");
	json_dumpf(value, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(value);
	return CLI_OK;
}

int
cli_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

static void
cli_usage(FILE *f, const char *prefix, const struct cli_command *cmds)
{
	const struct cli_command *c;

	fprintf(f, "usage: %s COMMAND [options]\n\ncommands:\n", prefix);
	for (c = cmds; c->name != NULL; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\n'%s COMMAND --help' shows the options of a command.\n",
	    prefix);
}

int
cli_dispatch(struct cli *cli, const char *prefix,
    const struct cli_command *cmds, int argc, char **argv)
{
	const struct cli_command *c;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		cli_usage(argc < 2 ? stderr : stdout, prefix, cmds);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	for (c = cmds; c->name != NULL; c++)
		if (strcmp(c->name, argv[1]) == 0)
			return c->run(cli, argc - 1, argv + 1);
	return cli_fail(CLI_USAGE, "unknown command '%s %s' (try '%s "
	    "--help')", prefix, argv[1], prefix);
}

int
main(int argc, char **argv)
{
	struct cli cli;
	int i = 1, rc;

	memset(&cli, 0, sizeof(cli));
	cli.color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	tg_log_open("tlsgate", TG_LOG_STDERR, TG_LOG_WARN);
	/* Global options come before the command. */
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			cli.conf_path = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("tlsgate %s\n", TG_VERSION);
			return CLI_OK;
		} else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			cli_usage(stdout, "tlsgate [-c FILE]", commands);
			return CLI_OK;
		} else {
			return cli_fail(CLI_USAGE, "unknown option '%s' (try "
			    "'tlsgate --help')", argv[i]);
		}
	}
	argv[i - 1] = "tlsgate";
	rc = cli_dispatch(&cli, "tlsgate", commands, argc - i + 1,
	    argv + i - 1);
	tg_conf_free(cli.conf);
	return rc;
}
