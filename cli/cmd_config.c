/*
 * tlsgate config show|check — the bootstrap configuration.
 *
 * show prints every key with its value in force (from the file, or the
 * default); check loads the file strictly and then verifies that what it
 * points at is usable: the state directory and store, the spool, the
 * trust anchor and CA files. Problems found → exit 1.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static int
config_show(struct cli *cli, int argc, char **argv)
{
	const struct tg_conf *conf;
	struct tg_buf out;
	int json = argc == 2 && strcmp(argv[1], "--json") == 0;

	if (argc > 2 || (argc == 2 && !json))
		return cli_fail(CLI_USAGE,
		    "usage: tlsgate config show [--json]");
	if ((conf = cli_conf(cli)) == NULL)
		return CLI_USAGE;
	tg_buf_init(&out, 1 << 20);
	if (tg_conf_show(conf, json, &out) != 0) {
		tg_buf_free(&out);
		return cli_fail(CLI_USAGE, "cannot format the configuration");
	}
	fwrite(out.data, 1, out.len, stdout);
	tg_buf_free(&out);
	return CLI_OK;
}

struct config_check {
	int problems;
	json_t *list;		/* NULL unless --json */
};

static void config_problem(struct config_check *cc, const char *key,
    const char *fmt, const char *arg) __attribute__((format(printf, 3, 0)));

static void
config_problem(struct config_check *cc, const char *key, const char *fmt,
    const char *arg)
{
	char msg[1024];

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(msg, sizeof(msg), fmt, arg);
#pragma GCC diagnostic pop
	cc->problems++;
	if (cc->list != NULL)
		json_array_append_new(cc->list, json_pack("{s:s, s:s}", "key",
		    key, "message", msg));
	else
		printf("problem: %s: %s\n", key, msg);
}

static void
config_check_dir(struct config_check *cc, const char *key, const char *dir)
{
	struct stat sb;

	if (stat(dir, &sb) != 0)
		config_problem(cc, key, "%s does not exist (run 'tlsgate "
		    "init')", dir);
	else if (!S_ISDIR(sb.st_mode))
		config_problem(cc, key, "%s is not a directory", dir);
	else if (access(dir, R_OK | W_OK | X_OK) != 0)
		config_problem(cc, key, "%s is not writable by this user", dir);
}

static void
config_check_file(struct config_check *cc, const char *key, const char *f)
{
	if (f[0] != '\0' && access(f, R_OK) != 0)
		config_problem(cc, key, "%s cannot be read", f);
}

static int
config_check(struct cli *cli, int argc, char **argv)
{
	struct config_check cc = { 0, NULL };
	const struct tg_conf *conf;
	struct tg_store *st = NULL;
	struct tg_err err;
	int json = argc == 2 && strcmp(argv[1], "--json") == 0;

	if (argc > 2 || (argc == 2 && !json))
		return cli_fail(CLI_USAGE,
		    "usage: tlsgate config check [--json]");
	if ((conf = cli_conf(cli)) == NULL)
		return CLI_USAGE;
	if (json)
		cc.list = json_array();
	config_check_dir(&cc, "state_dir", conf->state_dir);
	config_check_dir(&cc, "spool_dir", conf->spool_dir);
	config_check_file(&cc, "dns.trust_anchor_file",
	    conf->dns_trust_anchor_file);
	config_check_file(&cc, "sts.ca_file", conf->sts_ca_file);
	config_check_file(&cc, "acme.ca_file", conf->acme_ca_file);
	if (conf->acme_directory[0] != '\0' &&
	    strncmp(conf->acme_directory, "https://", 8) != 0)
		config_problem(&cc, "acme.directory", "not an https URL: %s",
		    conf->acme_directory);
	if (access(conf->state_dir, X_OK) == 0) {
		if (tg_store_open_readonly(conf->state_dir, &st, &err) != 0)
			config_problem(&cc, "state_dir", "store: %s", err.msg);
		tg_store_close(st);
	}
	if (json) {
		cli_print_json(json_pack("{s:s, s:b, s:o}", "file",
		    conf->source, "ok", cc.problems == 0, "problems",
		    cc.list));
		return cc.problems > 0 ? CLI_PROBLEMS : CLI_OK;
	}
	if (cc.problems == 0)
		printf("configuration %s is valid and usable\n",
		    conf->source[0] != '\0' ? conf->source : "(defaults)");
	return cc.problems > 0 ? CLI_PROBLEMS : CLI_OK;
}

static const struct cli_command config_commands[] = {
	{ "show", config_show, "print every key and its value in force" },
	{ "check", config_check, "validate the file and what it points at" },
	{ NULL, NULL, NULL }
};

int
cmd_config(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "tlsgate config", config_commands, argc, argv);
}
