/*
 * tlsgate sts set|show — the MTA-STS policy we publish for a hosted
 * domain (RFC 8461), served by tlsgate-stsd.
 *
 * set changes the domain's mode, mx patterns and max_age. It refuses
 * enforce while an MX host of the domain (looked up now, with the
 * resolver settings of the config file) is not covered by a pattern
 * (RFC 8461 §4.1): mail to it would bounce at every sender that enforces.
 * It warns, and goes on, for testing. There is no --force: a domain whose
 * MX cannot be covered yet can use testing meanwhile.
 *
 * show prints what to publish in DNS — the _mta-sts TXT record with the
 * id tlsgate-stsd serves (never the id of a policy it does not serve yet,
 * RFC 8461 §8.1), the mta-sts host's address or CNAME — and the policy,
 * and says when the configuration and what is served differ, or when a
 * removal is under way (§8.3).
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "policy/stshost.h"
#include "policy/stsmx.h"
#include "util/clock.h"

static const char sts_usage[] =
    "usage: tlsgate sts set DOMAIN [--mode MODE] [--mx PATTERN]... "
    "[--no-mx]\n"
    "                          [--max-age SECONDS]\n"
    "       tlsgate sts show DOMAIN [--json]\n"
    "set:\n"
    "  --mode MODE         off, none, testing or enforce (enforce needs "
    "every\n"
    "                      MX host of DOMAIN covered by an mx pattern)\n"
    "  --mx PATTERN        mx pattern, e.g. mail.example.org or "
    "*.example.net\n"
    "                      (repeat; replaces the list)\n"
    "  --no-mx             clear the mx pattern list\n"
    "  --max-age SECONDS   max_age of the policy (0..31557600)\n"
    "show: the DNS records to publish and the policy served.\n";

enum { OPT_MODE = 1, OPT_MX, OPT_NO_MX, OPT_MAX_AGE, OPT_JSON };

static const struct option sts_options[] = {
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "mx", required_argument, NULL, OPT_MX },
	{ "no-mx", no_argument, NULL, OPT_NO_MX },
	{ "max-age", required_argument, NULL, OPT_MAX_AGE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* ---- set ---- */

static int
sts_parse_max_age(const char *s, long *out)
{
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return cli_fail(CLI_USAGE, "--max-age: '%s' is not a number "
		    "of seconds", s);
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < 0 || v > TG_STS_MAX_AGE_MAX)
		return cli_fail(CLI_USAGE, "--max-age: '%s' is not a number "
		    "of seconds from 0 to %ld (RFC 8461 §3.2)", s,
		    TG_STS_MAX_AGE_MAX);
	*out = (long)v;
	return 0;
}

static int
sts_add_mx(struct tg_store_domain *d, const char *pattern, int *reset)
{
	if (!*reset) {
		d->sts_mx_count = 0;
		*reset = 1;
	}
	if (d->sts_mx_count == TG_STS_MX_MAX)
		return cli_fail(CLI_USAGE, "--mx: more than %d patterns",
		    TG_STS_MX_MAX);
	if (strlen(pattern) >= sizeof(d->sts_mx[0]))
		return cli_fail(CLI_USAGE, "--mx: '%.40s...' is too long",
		    pattern);
	memcpy(d->sts_mx[d->sts_mx_count++], pattern, strlen(pattern) + 1);
	return 0;
}

/* Apply the options of set to d; CLI_USAGE after printing the problem. */
static int
sts_apply_options(int argc, char **argv, struct tg_store_domain *d)
{
	struct tg_err err;
	int c, reset = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", sts_options, NULL)) != -1) {
		switch (c) {
		case OPT_MODE:
			if (tg_store_sts_mode_parse(optarg, &d->sts_mode,
			    &err) != 0)
				return cli_fail(CLI_USAGE, "--mode: %s",
				    err.msg);
			break;
		case OPT_MX:
			if (sts_add_mx(d, optarg, &reset) != 0)
				return CLI_USAGE;
			break;
		case OPT_NO_MX:
			d->sts_mx_count = 0;
			reset = 1;
			break;
		case OPT_MAX_AGE:
			if (sts_parse_max_age(optarg, &d->sts_max_age) != 0)
				return CLI_USAGE;
			break;
		default:
			return cli_fail(CLI_USAGE, "unknown or incomplete "
			    "option '%s' (try 'tlsgate sts --help')",
			    argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_fail(CLI_USAGE, "unexpected argument '%s'",
		    argv[optind]);
	return 0;
}

/* enforce only when every MX is covered; testing warns. */
int
cli_sts_mode_check(struct cli *cli, const struct tg_store_domain *d)
{
	char what[1024];
	struct tg_err err;
	int r;

	if (d->sts_mode != TG_STORE_STS_ENFORCE &&
	    d->sts_mode != TG_STORE_STS_TESTING)
		return 0;
	r = tg_stsmx_check(cli_conf(cli), d, what, sizeof(what), &err);
	if (d->sts_mode == TG_STORE_STS_TESTING) {
		if (r != 0)
			fprintf(stderr, "tlsgate: warning: %s\n", r < 0 ?
			    err.msg : "MX hosts not covered by any mx "
			    "pattern (senders will report failures):");
		if (r > 0)
			fprintf(stderr, "  %s\n", what);
		return 0;
	}
	if (r < 0)
		return cli_fail(CLI_USAGE, "refusing enforce for %s: %s (try "
		    "again, or use --mode testing meanwhile)", d->name,
		    err.msg);
	if (r > 0)
		return cli_fail(CLI_USAGE, "refusing enforce for %s: MX host "
		    "%s is not covered by any mx pattern; senders that "
		    "enforce would not deliver to it (RFC 8461 §4.1). Add "
		    "--mx for it, or use --mode testing", d->name, what);
	return 0;
}

static int
sts_set(struct cli *cli, int argc, char **argv)
{
	struct tg_stshost_policy p;
	struct tg_store_domain d;
	struct tg_store *st;
	struct tg_err err;
	int rc;

	if (argc < 2 || argv[1][0] == '-')
		return cli_fail(CLI_USAGE, "usage: tlsgate sts set DOMAIN "
		    "[options]");
	if (cli_conf(cli) == NULL || (st = cli_store_open(cli, 0)) == NULL)
		return CLI_USAGE;
	rc = tg_store_domain_get(st, argv[1], &d, &err);
	if (rc != 0) {
		tg_store_close(st);
		return rc == TG_STORE_NOTFOUND ? cli_fail(CLI_USAGE, "no "
		    "domain %s (add it with 'tlsgate domain add %s')", argv[1],
		    argv[1]) : cli_fail(CLI_USAGE, "%s", err.msg);
	}
	rc = sts_apply_options(argc - 1, argv + 1, &d);
	if (rc == 0 && d.sts_mode != TG_STORE_STS_OFF &&
	    tg_stshost_policy_of(&d, &p, &err) != 0)
		rc = cli_fail(CLI_USAGE, "%s", err.msg);
	if (rc == 0)
		rc = cli_sts_mode_check(cli, &d);
	if (rc == 0 && tg_store_domain_update(st, &d, &err) != 0)
		rc = cli_fail(CLI_USAGE, "%s", err.msg);
	tg_store_close(st);
	if (rc == 0)
		printf("%s: MTA-STS %s%s; tlsgate-stsd serves it after its "
		    "next reload.\nRun 'tlsgate sts show %s' for the DNS "
		    "records, once it is served.\n", d.name,
		    tg_store_sts_mode_name(d.sts_mode), d.sts_mode ==
		    TG_STORE_STS_OFF ? " (removal: mode none is served until "
		    "cached policies expire)" : "", d.name);
	return rc;
}

/* ---- show ---- */

struct sts_state {
	char domain[TG_DNAME_MAX + 1];
	int have_cfg;			/* the domain is in the store */
	struct tg_store_domain cfg;
	int cfg_ok;			/* a policy is configured and valid */
	struct tg_stshost_policy want;	/* it */
	char cfg_error[TG_ERR_MSG_MAX];
	int have_served;
	struct tg_store_sts_served served;
	int in_sync;			/* what is served is what is set */
};

static int
sts_state_read(struct tg_store *st, const char *name, struct sts_state *s)
{
	struct tg_err err;
	int rc;

	rc = tg_store_domain_get(st, name, &s->cfg, &err);
	if (rc < 0)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	s->have_cfg = rc == 0;
	snprintf(s->domain, sizeof(s->domain), "%s", s->have_cfg ?
	    s->cfg.name : name);
	rc = tg_store_sts_served_get(st, s->domain, &s->served, &err);
	if (rc < 0)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	s->have_served = rc == 0;
	if (!s->have_cfg && !s->have_served)
		return cli_fail(CLI_USAGE, "no domain %s", name);
	if (s->have_cfg && s->cfg.sts_mode != TG_STORE_STS_OFF) {
		s->cfg_ok = tg_stshost_policy_of(&s->cfg, &s->want, &err) == 0;
		if (!s->cfg_ok)
			snprintf(s->cfg_error, sizeof(s->cfg_error), "%s",
			    err.msg);
	}
	if (s->cfg_ok)
		s->in_sync = s->have_served && !s->served.withdrawn &&
		    strcmp(s->served.policy_id, s->want.id) == 0;
	else
		s->in_sync = !s->have_served || s->served.withdrawn;
	return 0;
}

/* The mta-sts host's records: a CNAME, or A/AAAA of sts.listen. */
static void
sts_host_records(const struct tg_conf *conf, const char *domain,
    json_t *list)
{
	char line[TG_DNAME_MAX * 2 + 64];
	struct in6_addr a6;
	size_t i, n = 0;

	if (conf->sts_public_name[0] != '\0') {
		snprintf(line, sizeof(line), "mta-sts.%s. IN CNAME %s.", domain,
		    conf->sts_public_name);
		json_array_append_new(list, json_string(line));
		return;
	}
	for (i = 0; i < conf->sts_listen.n; i++) {
		const char *h = conf->sts_listen.v[i].host;

		if (h[0] == '\0')
			continue;
		snprintf(line, sizeof(line), "mta-sts.%s. IN %s %s", domain,
		    inet_pton(AF_INET6, h, &a6) == 1 ? "AAAA" : "A", h);
		json_array_append_new(list, json_string(line));
		n++;
	}
	if (n == 0) {
		snprintf(line, sizeof(line), "mta-sts.%s. IN A "
		    "<public address of this gateway>", domain);
		json_array_append_new(list, json_string(line));
	}
}

/* Notes for people: what state the publication is in, what to do. */
static void
sts_notes(const struct sts_state *s, json_t *notes)
{
	char t[TG_ERR_MSG_MAX + 256], when[32];

	if (s->cfg_error[0] != '\0') {
		snprintf(t, sizeof(t), "the configured policy is invalid (%s); "
		    "the last one served stays", s->cfg_error);
		json_array_append_new(notes, json_string(t));
	}
	if (s->have_served && s->served.withdrawn) {
		tg_clock_format(s->served.cover_until, when, sizeof(when));
		snprintf(t, sizeof(t), "MTA-STS is being removed: mode none "
		    "is served until %s, when every cached policy has "
		    "expired (RFC 8461 §8.3). Keep the TXT record (with this "
		    "id) until then; afterwards delete it and the mta-sts "
		    "host's records.", when);
		json_array_append_new(notes, json_string(t));
	}
	if (s->cfg_ok && !s->in_sync)
		json_array_append_new(notes, json_string(s->have_served ?
		    "the configured policy is not served yet (tlsgate-stsd "
		    "has not reloaded, or is not running): publish the id "
		    "below, which is what is served, and look again" :
		    "the configured policy is not served yet (tlsgate-stsd "
		    "has not reloaded, or is not running): publish nothing "
		    "yet"));
	if (!s->cfg_ok && s->have_served && !s->served.withdrawn &&
	    s->cfg_error[0] == '\0')
		json_array_append_new(notes, json_string("MTA-STS is off for "
		    "this domain; tlsgate-stsd starts the removal at its next "
		    "reload"));
	if (!s->cfg_ok && !s->have_served)
		json_array_append_new(notes, json_string("MTA-STS is off and "
		    "nothing is served: if a _mta-sts TXT record is still "
		    "published, delete it"));
}

static json_t *
sts_served_json(const struct tg_store_sts_served *r)
{
	char since[32], until[32];

	tg_clock_format(r->since, since, sizeof(since));
	tg_clock_format(r->cover_until, until, sizeof(until));
	return json_pack("{s:s, s:s, s:I, s:s, s:b, s:s?, s:s}",
	    "id", r->policy_id, "mode", tg_store_sts_mode_name(r->mode),
	    "max_age", (json_int_t)r->max_age, "since", since,
	    "withdrawing", r->withdrawn, "withdrawing_until",
	    r->withdrawn ? until : NULL, "body", r->body);
}

static json_t *
sts_show_json(const struct tg_conf *conf, const struct sts_state *s)
{
	json_t *o, *records = json_array(), *notes = json_array();
	char txt[TG_DNAME_MAX + TG_STS_ID_MAX + 64];

	if (s->have_served) {
		snprintf(txt, sizeof(txt), "_mta-sts.%s. IN TXT \"v=STSv1; "
		    "id=%s\"", s->domain, s->served.policy_id);
		json_array_append_new(records, json_string(txt));
		sts_host_records(conf, s->domain, records);
	}
	sts_notes(s, notes);
	o = json_pack("{s:s, s:s, s:b, s:o, s:o}", "domain", s->domain,
	    "configured_mode", s->have_cfg ?
	    tg_store_sts_mode_name(s->cfg.sts_mode) : "removed",
	    "in_sync", s->in_sync, "records", records, "notes", notes);
	json_object_set_new(o, "served", s->have_served ?
	    sts_served_json(&s->served) : json_null());
	if (s->cfg_ok)
		json_object_set_new(o, "configured", json_pack("{s:s, s:s}",
		    "id", s->want.id, "body", s->want.body));
	return o;
}

static void
sts_print_text(const json_t *o, const struct sts_state *s)
{
	const json_t *v;
	size_t i;

	printf("MTA-STS for %s: configured %s", s->domain,
	    json_string_value(json_object_get(o, "configured_mode")));
	if (s->have_served)
		printf("; served: mode %s, id %s, since %s\n",
		    tg_store_sts_mode_name(s->served.mode),
		    s->served.policy_id, json_string_value(json_object_get(
		    json_object_get(o, "served"), "since")));
	else
		printf("; nothing served\n");
	json_array_foreach(json_object_get(o, "notes"), i, v)
		printf("warning: %s\n", json_string_value(v));
	if (!s->have_served)
		return;
	printf("\nDNS records to publish:\n");
	json_array_foreach(json_object_get(o, "records"), i, v)
		printf("  %s\n", json_string_value(v));
	printf("\nPolicy served at https://mta-sts.%s/.well-known/"
	    "mta-sts.txt:\n%s", s->domain, s->served.body);
	if (s->cfg_ok && !s->in_sync)
		printf("\nPolicy configured, not served yet (id %s):\n%s",
		    s->want.id, s->want.body);
}

static int
sts_show(struct cli *cli, int argc, char **argv)
{
	struct sts_state *s;
	struct tg_store *st;
	json_t *o;
	int json = 0, rc;

	if (argc < 2 || argv[1][0] == '-')
		return cli_fail(CLI_USAGE, "usage: tlsgate sts show DOMAIN "
		    "[--json]");
	if (argc == 3 && strcmp(argv[2], "--json") == 0)
		json = 1;
	else if (argc != 2)
		return cli_fail(CLI_USAGE, "unexpected argument '%s'", argv[2]);
	if (cli_conf(cli) == NULL || (st = cli_store_open(cli, 1)) == NULL)
		return CLI_USAGE;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		tg_store_close(st);
		return cli_fail(CLI_USAGE, "out of memory");
	}
	rc = sts_state_read(st, argv[1], s);
	tg_store_close(st);
	if (rc == 0) {
		o = sts_show_json(cli_conf(cli), s);
		if (json)
			cli_print_json(o);
		else {
			sts_print_text(o, s);
			json_decref(o);
		}
	}
	free(s);
	return rc;
}

static const struct cli_command sts_commands[] = {
	{ "set", sts_set, "set the MTA-STS policy of a hosted domain" },
	{ "show", sts_show, "show the DNS records to publish and the policy" },
	{ NULL, NULL, NULL }
};

int
cmd_sts(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && cli_wants_help(argc - 1, argv + 1)) {
		fputs(sts_usage, stdout);
		return CLI_OK;
	}
	return cli_dispatch(cli, "tlsgate sts", sts_commands, argc, argv);
}
