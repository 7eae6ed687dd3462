/*
 * cli — the `tlsgate` command-line tool: shared declarations.
 *
 * git-style: `tlsgate [-c FILE] COMMAND [SUBCOMMAND] [options]`. Each
 * command lives in its own cli/cmd_<name>.c and is listed in the table in
 * main.c. Exit codes (DESIGN.md conventions):
 *   0  ok
 *   1  a check found problems
 *   2  bad usage, bad input, or could not run
 * Bad input gets exactly one line on stderr naming the problem, and leaves
 * the store unchanged. Every read command takes --json.
 */
#ifndef TG_CLI_H
#define TG_CLI_H

#include <jansson.h>

#include "core/conf.h"
#include "store/store.h"

#define CLI_OK		0
#define CLI_PROBLEMS	1
#define CLI_USAGE	2

struct cli {
	const char *conf_path;		/* -c FILE, borrowed; NULL = lookup */
	struct tg_conf *conf;		/* owned, loaded on demand */
	int color;			/* stdout is a terminal */
	int keep_root;			/* init: do not become `user` */
};

struct cli_command {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *summary;
};

/*
 * The config, loaded on first use; NULL after printing the error. Run as
 * root on an installation that belongs to `user` (its state_dir is
 * owned by that user, as `tlsgate init` leaves it), the first call also
 * makes the process that user for good (core/privs), unless keep_root.
 */
const struct tg_conf *cli_conf(struct cli *cli);

/* Open the store read-write (creating it) or read-only; NULL after
 * printing the error. */
struct tg_store *cli_store_open(struct cli *cli, int readonly);

/* Print "tlsgate: <msg>" on stderr; returns code. */
int cli_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print a JSON value on stdout (pretty, sorted as built) and free it. */
int cli_print_json(json_t *value);

/* 1 if argv has --help or -h anywhere. */
int cli_wants_help(int argc, char **argv);

/* Dispatch argv[1] among subcommands; prints usage when unknown. */
int cli_dispatch(struct cli *cli, const char *prefix,
    const struct cli_command *cmds, int argc, char **argv);

/*
 * MTA-STS mode rules shared by `sts set` and `domain add|set` (RFC 8461
 * §4.1): enforce is refused while an MX of the domain is not covered by a
 * pattern (or the MX lookup fails); testing only warns. CLI_OK or
 * CLI_USAGE after printing why.
 */
int cli_sts_mode_check(struct cli *cli, const struct tg_store_domain *d);

/* Commands. */
int cmd_init(struct cli *cli, int argc, char **argv);
int cmd_domain(struct cli *cli, int argc, char **argv);
/* tlsgate domain verify (cmd_domain_verify.c) */
int domain_verify(struct cli *cli, int argc, char **argv);
int cmd_config(struct cli *cli, int argc, char **argv);
int cmd_check(struct cli *cli, int argc, char **argv);
int cmd_stscache(struct cli *cli, int argc, char **argv);
int cmd_queue(struct cli *cli, int argc, char **argv);
int cmd_policy(struct cli *cli, int argc, char **argv);
int cmd_relay(struct cli *cli, int argc, char **argv);
int cmd_sts(struct cli *cli, int argc, char **argv);
int cmd_report(struct cli *cli, int argc, char **argv);
int cmd_cert(struct cli *cli, int argc, char **argv);
int cmd_admin(struct cli *cli, int argc, char **argv);

#endif
