/*
 * tlsgate domain add|list|show|set|remove — hosted domains.
 *
 * A hosted domain is one whose mail tlsgate receives (the inbound route
 * says where to forward it), for which it publishes an MTA-STS policy
 * (mode, mx patterns, max_age) and a TLS-RPT address (rua). Every change
 * is validated by the store, which leaves nothing changed on bad input.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "util/clock.h"

static const char domain_usage[] =
    "usage: tlsgate domain add NAME [options]\n"
    "       tlsgate domain set NAME [options]\n"
    "       tlsgate domain list [--json]\n"
    "       tlsgate domain show NAME [--json]\n"
    "       tlsgate domain remove NAME\n"
    "       tlsgate domain verify LOCAL@NAME [--json]\n"
    "options of add and set:\n"
    "  --route HOST[:PORT]   internal mail server for inbound mail\n"
    "  --sts-mode MODE       MTA-STS mode we publish: off, none, testing, "
    "enforce\n"
    "  --mx PATTERN          MTA-STS mx pattern (repeat; replaces the list)\n"
    "  --no-mx               clear the mx pattern list\n"
    "  --max-age SECONDS     MTA-STS max_age (default 604800, at most "
    "31557600)\n"
    "  --rua URI[,URI]       TLS-RPT report addresses (mailto: or https:)\n";

enum { OPT_ROUTE = 1, OPT_STS_MODE, OPT_MX, OPT_NO_MX, OPT_MAX_AGE, OPT_RUA,
    OPT_JSON };

static const struct option domain_options[] = {
	{ "route", required_argument, NULL, OPT_ROUTE },
	{ "sts-mode", required_argument, NULL, OPT_STS_MODE },
	{ "mx", required_argument, NULL, OPT_MX },
	{ "no-mx", no_argument, NULL, OPT_NO_MX },
	{ "max-age", required_argument, NULL, OPT_MAX_AGE },
	{ "rua", required_argument, NULL, OPT_RUA },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Copy src into a fixed field, refusing what does not fit. */
static int
domain_copy(char *dst, size_t dstlen, const char *src, const char *what)
{
	if (strlen(src) >= dstlen)
		return cli_fail(CLI_USAGE, "%s is too long (at most %zu "
		    "characters)", what, dstlen - 1);
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

static int
domain_parse_max_age(const char *s, long *out)
{
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return cli_fail(CLI_USAGE, "--max-age: '%s' is not a number of "
		    "seconds", s);
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < 0 || v > 31557600)
		return cli_fail(CLI_USAGE, "--max-age: '%s' is not a number of "
		    "seconds from 0 to 31557600 (RFC 8461 §3.2)", s);
	*out = (long)v;
	return 0;
}

/*
 * Apply the options of add/set to d. Returns 0, or CLI_USAGE after
 * printing the problem. *json is set when --json was given.
 */
static int
domain_apply_options(int argc, char **argv, struct tg_store_domain *d,
    int *json)
{
	struct tg_err err;
	int c, mx_reset = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", domain_options,
	    NULL)) != -1) {
		switch (c) {
		case OPT_ROUTE:
			if (domain_copy(d->inbound_route,
			    sizeof(d->inbound_route), optarg, "--route") != 0)
				return CLI_USAGE;
			break;
		case OPT_STS_MODE:
			if (tg_store_sts_mode_parse(optarg, &d->sts_mode,
			    &err) != 0)
				return cli_fail(CLI_USAGE, "--sts-mode: %s",
				    err.msg);
			break;
		case OPT_MX:
			if (!mx_reset) {
				d->sts_mx_count = 0;
				mx_reset = 1;
			}
			if (d->sts_mx_count == TG_STS_MX_MAX)
				return cli_fail(CLI_USAGE, "--mx: at most %d "
				    "patterns", TG_STS_MX_MAX);
			if (domain_copy(d->sts_mx[d->sts_mx_count],
			    sizeof(d->sts_mx[0]), optarg, "--mx") != 0)
				return CLI_USAGE;
			d->sts_mx_count++;
			break;
		case OPT_NO_MX:
			d->sts_mx_count = 0;
			mx_reset = 1;
			break;
		case OPT_MAX_AGE:
			if (domain_parse_max_age(optarg, &d->sts_max_age) != 0)
				return CLI_USAGE;
			break;
		case OPT_RUA:
			if (domain_copy(d->tlsrpt_rua, sizeof(d->tlsrpt_rua),
			    optarg, "--rua") != 0)
				return CLI_USAGE;
			break;
		case OPT_JSON:
			*json = 1;
			break;
		default:
			return cli_fail(CLI_USAGE, "unknown or incomplete "
			    "option '%s' (see 'tlsgate domain --help')",
			    argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_fail(CLI_USAGE, "unexpected argument '%s'",
		    argv[optind]);
	return 0;
}

static json_t *
domain_to_json(const struct tg_store_domain *d)
{
	json_t *mx = json_array();
	char created[32], updated[32], changed[32] = "";
	size_t i;

	for (i = 0; i < d->sts_mx_count; i++)
		json_array_append_new(mx, json_string(d->sts_mx[i]));
	tg_clock_format(d->created, created, sizeof(created));
	tg_clock_format(d->updated, updated, sizeof(updated));
	if (d->sts_policy_changed != 0)
		tg_clock_format(d->sts_policy_changed, changed,
		    sizeof(changed));
	return json_pack("{s:s, s:s, s:{s:s, s:o, s:I, s:s, s:s}, s:s, "
	    "s:s, s:s}",
	    "name", d->name,
	    "inbound_route", d->inbound_route,
	    "mta_sts", "mode", tg_store_sts_mode_name(d->sts_mode),
	    "mx", mx, "max_age", (json_int_t)d->sts_max_age,
	    "policy_id", d->sts_policy_id, "policy_changed", changed,
	    "tlsrpt_rua", d->tlsrpt_rua,
	    "created", created, "updated", updated);
}

static void
domain_print(const struct tg_store_domain *d)
{
	size_t i;

	printf("domain:         %s\n", d->name);
	printf("inbound route:  %s\n", d->inbound_route[0] != '\0' ?
	    d->inbound_route : "(none)");
	printf("MTA-STS mode:   %s\n", tg_store_sts_mode_name(d->sts_mode));
	printf("MTA-STS mx:     ");
	for (i = 0; i < d->sts_mx_count; i++)
		printf("%s%s", i > 0 ? ", " : "", d->sts_mx[i]);
	printf("%s\n", d->sts_mx_count == 0 ? "(none)" : "");
	printf("MTA-STS max_age: %ld\n", d->sts_max_age);
	printf("TLS-RPT rua:    %s\n", d->tlsrpt_rua[0] != '\0' ?
	    d->tlsrpt_rua : "(none)");
}

/* argv[0] is the subcommand, argv[1] must be the domain name. */
static const char *
domain_name_arg(int argc, char **argv)
{
	if (argc < 2 || argv[1][0] == '-') {
		cli_fail(CLI_USAGE, "domain %s: which domain? (tlsgate domain "
		    "%s NAME)", argv[0], argv[0]);
		return NULL;
	}
	return argv[1];
}

static int
domain_add(struct cli *cli, int argc, char **argv)
{
	struct tg_store_domain d;
	struct tg_store *st;
	struct tg_err err;
	const char *name;
	int json = 0, rc;

	if ((name = domain_name_arg(argc, argv)) == NULL)
		return CLI_USAGE;
	tg_store_domain_init(&d);
	if (domain_copy(d.name, sizeof(d.name), name, "domain name") != 0)
		return CLI_USAGE;
	if ((rc = domain_apply_options(argc - 1, argv + 1, &d, &json)) != 0)
		return rc;
	if ((rc = cli_sts_mode_check(cli, &d)) != CLI_OK)
		return rc;
	if ((st = cli_store_open(cli, 0)) == NULL)
		return CLI_USAGE;
	rc = tg_store_domain_add(st, &d, &err);
	if (rc == 0)
		rc = tg_store_domain_get(st, d.name, &d, &err) == 0 ? 0 : -1;
	tg_store_close(st);
	if (rc != 0)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	printf("added domain %s\n", d.name);
	return CLI_OK;
}

static int
domain_set(struct cli *cli, int argc, char **argv)
{
	struct tg_store_domain d;
	struct tg_store *st;
	struct tg_err err;
	const char *name;
	int json = 0, rc;

	if ((name = domain_name_arg(argc, argv)) == NULL)
		return CLI_USAGE;
	if ((st = cli_store_open(cli, 0)) == NULL)
		return CLI_USAGE;
	rc = tg_store_domain_get(st, name, &d, &err);
	if (rc == TG_STORE_NOTFOUND) {
		tg_store_close(st);
		return cli_fail(CLI_USAGE, "unknown domain '%s'", name);
	}
	if (rc == 0 && (rc = domain_apply_options(argc - 1, argv + 1, &d,
	    &json)) != 0) {
		tg_store_close(st);
		return rc;
	}
	if (rc == 0 && cli_sts_mode_check(cli, &d) != CLI_OK) {
		tg_store_close(st);
		return CLI_USAGE;
	}
	if (rc == 0)
		rc = tg_store_domain_update(st, &d, &err);
	tg_store_close(st);
	if (rc != 0)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	printf("updated domain %s\n", d.name);
	return CLI_OK;
}

static int
domain_list_one(const struct tg_store_domain *d, void *arg)
{
	json_t *list = arg;

	if (list != NULL)
		json_array_append_new(list, domain_to_json(d));
	else
		printf("%-40s %-8s %s\n", d->name,
		    tg_store_sts_mode_name(d->sts_mode),
		    d->inbound_route[0] != '\0' ? d->inbound_route : "-");
	return 0;
}

static int
domain_list(struct cli *cli, int argc, char **argv)
{
	struct tg_store *st;
	struct tg_err err;
	json_t *list = NULL;
	int rc;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0))
		return cli_fail(CLI_USAGE,
		    "usage: tlsgate domain list [--json]");
	if ((st = cli_store_open(cli, 1)) == NULL)
		return CLI_USAGE;
	if (argc == 2)
		list = json_array();
	else
		printf("%-40s %-8s %s\n", "DOMAIN", "MTA-STS", "ROUTE");
	rc = tg_store_domain_list(st, domain_list_one, list, &err);
	tg_store_close(st);
	if (rc != 0) {
		json_decref(list);
		return cli_fail(CLI_USAGE, "%s", err.msg);
	}
	return list != NULL ? cli_print_json(list) : CLI_OK;
}

static int
domain_show(struct cli *cli, int argc, char **argv)
{
	struct tg_store_domain d;
	struct tg_store *st;
	struct tg_err err;
	const char *name;
	int json = 0, rc;

	if ((name = domain_name_arg(argc, argv)) == NULL)
		return CLI_USAGE;
	if (argc > 3 || (argc == 3 && strcmp(argv[2], "--json") != 0))
		return cli_fail(CLI_USAGE, "usage: tlsgate domain show NAME "
		    "[--json]");
	json = argc == 3;
	if ((st = cli_store_open(cli, 1)) == NULL)
		return CLI_USAGE;
	rc = tg_store_domain_get(st, name, &d, &err);
	tg_store_close(st);
	if (rc == TG_STORE_NOTFOUND)
		return cli_fail(CLI_USAGE, "unknown domain '%s'", name);
	if (rc != 0)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	if (json)
		return cli_print_json(domain_to_json(&d));
	domain_print(&d);
	return CLI_OK;
}

static int
domain_remove(struct cli *cli, int argc, char **argv)
{
	struct tg_store *st;
	struct tg_err err;
	const char *name;
	int rc;

	if ((name = domain_name_arg(argc, argv)) == NULL)
		return CLI_USAGE;
	if (argc != 2)
		return cli_fail(CLI_USAGE, "usage: tlsgate domain remove NAME");
	if ((st = cli_store_open(cli, 0)) == NULL)
		return CLI_USAGE;
	rc = tg_store_domain_remove(st, name, &err);
	tg_store_close(st);
	if (rc == TG_STORE_NOTFOUND)
		return cli_fail(CLI_USAGE, "unknown domain '%s'", name);
	if (rc != 0)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	printf("removed domain %s\n", name);
	return CLI_OK;
}

static const struct cli_command domain_commands[] = {
	{ "add", domain_add, "add a hosted domain" },
	{ "list", domain_list, "list hosted domains" },
	{ "show", domain_show, "show one domain's settings" },
	{ "set", domain_set, "change a domain's settings" },
	{ "remove", domain_remove, "remove a hosted domain" },
	{ "verify", domain_verify, "ask the internal server about a "
	    "recipient" },
	{ NULL, NULL, NULL }
};

int
cmd_domain(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		fputs(domain_usage, stdout);
		return CLI_OK;
	}
	if (argc >= 3 && cli_wants_help(argc - 1, argv + 1)) {
		fputs(domain_usage, stdout);
		return CLI_OK;
	}
	return cli_dispatch(cli, "tlsgate domain", domain_commands, argc, argv);
}
