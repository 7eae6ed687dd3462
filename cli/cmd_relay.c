/*
 * tlsgate relay allow|deny|list — who may send mail through relayd.
 *
 * relayd delivers everything it accepts to the Internet, so the list of
 * relay networks is its only gate: a client whose address is in none of
 * them gets "554 5.7.1" at connect and can send nothing. An empty list
 * refuses everyone. Networks are CIDR blocks ("10.1.0.0/16",
 * "2001:db8::/48") or single addresses; they are stored in canonical form,
 * and a block with host bits set is refused (util/cidr.h). relayd applies
 * a change to new sessions within store.poll_interval.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "store/view.h"
#include "util/cidr.h"
#include "util/clock.h"

static const char relay_usage[] =
    "usage: tlsgate relay allow CIDR [--note TEXT]\n"
    "       tlsgate relay deny CIDR\n"
    "       tlsgate relay list [--json]\n"
    "CIDR is a network (10.1.0.0/16, 2001:db8::/48) or one address.\n"
    "Only clients in an allowed network may send mail through relayd.\n";

/* argv[1] as a canonical network, or CLI_USAGE after saying why. */
static int
relay_cidr_arg(int argc, char **argv, char *out, size_t outlen)
{
	struct tg_err err;

	if (argc < 2 || argv[1][0] == '-')
		return cli_fail(CLI_USAGE, "relay %s: which network? (tlsgate "
		    "relay %s CIDR)", argv[0], argv[0]);
	if (tg_cidr_normalize(argv[1], out, outlen, &err) != 0)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	return 0;
}

static int
relay_allow(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "note", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	char net[TG_CIDR_TEXT_MAX + 1];
	const char *note = NULL;
	struct tg_store *st;
	struct tg_err err;
	int c, rc;

	if (relay_cidr_arg(argc, argv, net, sizeof(net)) != 0)
		return CLI_USAGE;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "+", opts, NULL)) != -1) {
		if (c != 'n')
			return cli_fail(CLI_USAGE, "unknown or incomplete "
			    "option '%s' (see 'tlsgate relay --help')",
			    argv[optind]);
		note = optarg;
	}
	if (optind != argc - 1)
		return cli_fail(CLI_USAGE, "unexpected argument '%s'",
		    argv[optind + 1]);
	if ((st = cli_store_open(cli, 0)) == NULL)
		return CLI_USAGE;
	rc = tg_store_relay_add(st, net, note, &err);
	tg_store_close(st);
	if (rc != 0)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	printf("allowed relay network %s\n", net);
	return CLI_OK;
}

static int
relay_deny(struct cli *cli, int argc, char **argv)
{
	char net[TG_CIDR_TEXT_MAX + 1];
	struct tg_store *st;
	struct tg_err err;
	int rc;

	if (relay_cidr_arg(argc, argv, net, sizeof(net)) != 0)
		return CLI_USAGE;
	if (argc != 2)
		return cli_fail(CLI_USAGE, "usage: tlsgate relay deny CIDR");
	if ((st = cli_store_open(cli, 0)) == NULL)
		return CLI_USAGE;
	rc = tg_store_relay_remove(st, net, &err);
	tg_store_close(st);
	if (rc == TG_STORE_NOTFOUND)
		return cli_fail(CLI_USAGE, "%s is not in the relay list", net);
	if (rc != 0)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	printf("removed relay network %s\n", net);
	return CLI_OK;
}

static int
relay_list_one(const struct tg_store_relay_net *n, void *arg)
{
	json_t *list = arg;
	char created[32];

	tg_clock_format(n->created, created, sizeof(created));
	if (list != NULL)
		json_array_append_new(list, tg_store_relay_net_json(n));
	else
		printf("%-44s %-20s %s\n", n->cidr, created, n->note);
	return 0;
}

static int
relay_list(struct cli *cli, int argc, char **argv)
{
	struct tg_store *st;
	struct tg_err err;
	json_t *list = NULL;
	int rc;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0))
		return cli_fail(CLI_USAGE,
		    "usage: tlsgate relay list [--json]");
	if ((st = cli_store_open(cli, 1)) == NULL)
		return CLI_USAGE;
	if (argc == 2)
		list = json_array();
	else
		printf("%-44s %-20s %s\n", "NETWORK", "ADDED", "NOTE");
	rc = tg_store_relay_list(st, relay_list_one, list, &err);
	tg_store_close(st);
	if (rc != 0) {
		json_decref(list);
		return cli_fail(CLI_USAGE, "%s", err.msg);
	}
	return list != NULL ? cli_print_json(list) : CLI_OK;
}

static const struct cli_command relay_commands[] = {
	{ "allow", relay_allow, "let a network send mail through relayd" },
	{ "deny", relay_deny, "remove a network from the relay list" },
	{ "list", relay_list, "list the relay networks" },
	{ NULL, NULL, NULL }
};

int
cmd_relay(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && cli_wants_help(argc, argv)) {
		fputs(relay_usage, stdout);
		return CLI_OK;
	}
	return cli_dispatch(cli, "tlsgate relay", relay_commands, argc, argv);
}
