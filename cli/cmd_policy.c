/*
 * tlsgate policy set|list|remove — local outbound TLS policies per
 * destination domain.
 *
 * A local policy is the relay's rule for a destination when neither DANE
 * nor MTA-STS decides (policy/policy.h has the order): dane-only (never
 * deliver without DANE authentication: defer with "dane-required"),
 * encrypt (TLS required, any certificate) or may (opportunistic). The
 * relay reads the store for every destination it resolves, so a change
 * applies from the next delivery attempt on.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "store/view.h"

static const char policy_usage[] =
    "usage: tlsgate policy set DOMAIN dane-only|encrypt|may [--note TEXT]\n"
    "       tlsgate policy list [--json]\n"
    "       tlsgate policy remove DOMAIN\n"
    "modes:\n"
    "  dane-only  deliver only with DANE authentication (RFC 7672 §6)\n"
    "  encrypt    TLS required, the certificate is not checked\n"
    "  may        STARTTLS when offered (the default without a policy)\n"
    "DANE, where published, and MTA-STS in enforce mode apply whatever the\n"
    "local policy says.\n";

static int
policy_set(struct cli *cli, int argc, char **argv)
{
	enum tg_store_dest_mode mode;
	const char *note = NULL;
	struct tg_store *st;
	struct tg_err err;
	int rc;

	if (argc == 5 && strcmp(argv[3], "--note") == 0)
		note = argv[4];
	else if (argc != 3)
		return cli_fail(CLI_USAGE, "usage: tlsgate policy set DOMAIN "
		    "dane-only|encrypt|may [--note TEXT]");
	if (tg_store_dest_mode_parse(argv[2], &mode, &err) != 0)
		return cli_fail(CLI_USAGE, "policy set: %s", err.msg);
	if ((st = cli_store_open(cli, 0)) == NULL)
		return CLI_USAGE;
	rc = tg_store_dest_set(st, argv[1], mode, note, &err);
	tg_store_close(st);
	if (rc != 0)
		return cli_fail(CLI_USAGE, "policy set: %s", err.msg);
	printf("policy for %s: %s\n", argv[1], tg_store_dest_mode_name(mode));
	return CLI_OK;
}

static int
policy_list_one(const struct tg_store_dest_policy *p, void *arg)
{
	json_t *list = arg;

	if (list != NULL)
		json_array_append_new(list, tg_store_dest_policy_json(p));
	else
		printf("%-40s %-10s %s\n", p->domain,
		    tg_store_dest_mode_name(p->mode), p->note);
	return 0;
}

static int
policy_list(struct cli *cli, int argc, char **argv)
{
	struct tg_store *st;
	struct tg_err err;
	json_t *list = NULL;
	int rc;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0))
		return cli_fail(CLI_USAGE,
		    "usage: tlsgate policy list [--json]");
	if ((st = cli_store_open(cli, 1)) == NULL)
		return CLI_USAGE;
	if (argc == 2)
		list = json_array();
	else
		printf("%-40s %-10s %s\n", "DOMAIN", "MODE", "NOTE");
	rc = tg_store_dest_list(st, policy_list_one, list, &err);
	tg_store_close(st);
	if (rc != 0) {
		json_decref(list);
		return cli_fail(CLI_USAGE, "%s", err.msg);
	}
	return list != NULL ? cli_print_json(list) : CLI_OK;
}

static int
policy_remove(struct cli *cli, int argc, char **argv)
{
	struct tg_store_dest_policy p;
	struct tg_store *st;
	struct tg_err err;
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return cli_fail(CLI_USAGE,
		    "usage: tlsgate policy remove DOMAIN");
	if ((st = cli_store_open(cli, 0)) == NULL)
		return CLI_USAGE;
	rc = tg_store_dest_get(st, argv[1], &p, &err);
	if (rc == 0)
		rc = tg_store_dest_remove(st, argv[1], &err);
	tg_store_close(st);
	if (rc == TG_STORE_NOTFOUND)
		return cli_fail(CLI_USAGE, "no policy for '%s'", argv[1]);
	if (rc != 0)
		return cli_fail(CLI_USAGE, "policy remove: %s", err.msg);
	printf("removed the policy for %s\n", argv[1]);
	return CLI_OK;
}

static const struct cli_command policy_commands[] = {
	{ "set", policy_set, "set the policy of a destination domain" },
	{ "list", policy_list, "list destination policies" },
	{ "remove", policy_remove, "remove a destination's policy" },
	{ NULL, NULL, NULL }
};

int
cmd_policy(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && cli_wants_help(argc, argv)) {
		fputs(policy_usage, stdout);
		return CLI_OK;
	}
	return cli_dispatch(cli, "tlsgate policy", policy_commands, argc, argv);
}
