/*
 * tlsgate check DOMAIN — the transport-security check of a mail domain.
 *
 * Runs policy/check with the resolver settings of the config (trust
 * anchor, forwarders, stub zones) and prints what a mail administrator
 * needs at a glance: each MX host with its DNSSEC status, TLSA records and
 * a live STARTTLS session per address, the MTA-STS policy (fetched as the
 * relay fetches it: sts.ca_file, sts.allow_private_addresses,
 * sts.fetch_timeout) with the MX coverage and a web-PKI session per MX
 * host, a verdict per standard, what our relay would do, and every
 * problem with its fix. The relay's policy cache (state_dir/cache.db) is
 * read, never written, to show what the relay has cached.
 * Exit: 0 nothing to fix, 1 problems found, 2 could not check.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "policy/check.h"
#include "policy/check_env.h"
#include "util/clock.h"

struct check_run {
	struct tg_check_report *report;	/* owned once the check ended */
	struct event_base *base;
};

static void
check_done(struct tg_check_report *report, void *arg)
{
	struct check_run *run = arg;

	run->report = report;
	event_base_loopbreak(run->base);
}

/* ---- text output ---- */

struct check_style {
	const char *red, *green, *yellow, *bold, *dim, *off;
};

static const struct check_style style_color = {
	"\033[31m", "\033[32m", "\033[33m", "\033[1m", "\033[2m", "\033[0m"
};
static const struct check_style style_plain = { "", "", "", "", "", "" };

static const char *
check_dane_color(const struct check_style *s, enum tg_check_dane d)
{
	switch (d) {
	case TG_CHECK_DANE_VALID:
		return s->green;
	case TG_CHECK_DANE_INVALID:
	case TG_CHECK_DANE_BOGUS:
		return s->red;
	default:
		return s->yellow;
	}
}

static void
check_print_addr(const struct check_style *s, const struct tg_check_addr *a)
{
	const struct tg_probe_result *p = &a->probe;

	if (!a->probed) {
		printf("      %-39s not probed\n", a->addr);
		return;
	}
	if (!p->tls_started || !p->tls.handshake_done) {
		printf("      %-39s %s%s%s\n", a->addr, s->red, p->reason,
		    s->off);
		return;
	}
	printf("      %-39s %s %s  %s%s%s\n", a->addr, p->tls.version,
	    p->tls.cipher, p->tls.verified ? s->green : s->yellow,
	    p->tls.mode == TG_TLS_DANE ? (p->tls.verified ? "DANE verified" :
	    "DANE verification FAILED") : "not authenticated (no usable TLSA)",
	    s->off);
	if (p->tls.chain_n > 0)
		printf("      %-39s %scert: %s%s\n", "", s->dim,
		    p->tls.chain[0].subject, s->off);
	if (p->tls.mode == TG_TLS_DANE && !p->tls.verified)
		printf("      %-39s %s%s%s\n", "", s->red, p->tls.reason,
		    s->off);
}

static void
check_print_mx(const struct check_style *s, const struct tg_check_mx *mx)
{
	char text[TG_TLSA_TEXT_MAX];
	size_t i;

	printf("  %sMX %u %s%s%s%s  (addresses: DNSSEC %s)\n", s->bold,
	    mx->pref, mx->host, mx->is_cname ? " -> " : "", mx->is_cname ?
	    mx->canon : "", s->off, tg_dns_security_name(mx->addr_security));
	for (i = 0; i < mx->naddrs; i++)
		check_print_addr(s, &mx->addrs[i]);
	if (mx->tlsa_looked_up) {
		printf("      TLSA %s: %s, %s\n", mx->tlsa_owner,
		    tg_dns_status_name(mx->tlsa_status),
		    tg_dns_security_name(mx->tlsa_security));
		for (i = 0; i < mx->ntlsa; i++) {
			tg_tlsa_print(&mx->tlsa[i], text, sizeof(text));
			printf("        %s%s\n", text,
			    tg_tlsa_is_usable(&mx->tlsa[i]) ? "" :
			    "  (unusable for SMTP)");
		}
	}
	printf("      DANE: %s%s%s — %s\n", check_dane_color(s, mx->dane),
	    tg_check_dane_name(mx->dane), s->off, mx->dane_reason);
}

static const char *
check_sts_color(const struct check_style *s, enum tg_check_sts st)
{
	switch (st) {
	case TG_CHECK_STS_ENFORCE_VALID:
		return s->green;
	case TG_CHECK_STS_ENFORCE_INVALID:
	case TG_CHECK_STS_INVALID:
	case TG_CHECK_STS_FETCH_ERROR:
		return s->red;
	default:
		return s->yellow;
	}
}

static void
check_print_sts_mx(const struct check_style *s,
    const struct tg_check_report *rep, const struct tg_check_mx *mx)
{
	const struct tg_check_sts_facts *f = &rep->sts_policy;
	const struct tg_probe_result *p = &mx->webpki;

	printf("            MX %s: %s%s%s%s", mx->host,
	    mx->sts_match ? s->green : s->red,
	    mx->sts_match ? "matches " : "matches no mx pattern",
	    mx->sts_match ? f->policy.mx[mx->sts_pattern] : "", s->off);
	if (!mx->webpki_probed)
		printf("\n");
	else if (mx->webpki_valid)
		printf("; %scertificate valid for %s (web PKI)%s\n", s->green,
		    mx->host, s->off);
	else
		printf("; %scertificate not valid: %s%s\n", s->red,
		    p->tls.reason[0] != '\0' ? p->tls.reason : p->reason,
		    s->off);
}

static void
check_print_sts(const struct check_style *s,
    const struct tg_check_report *rep)
{
	const struct tg_check_sts_facts *f = &rep->sts_policy;
	char when[32];
	size_t i;

	printf("  MTA-STS:  %s%s%s — %s\n", check_sts_color(s, f->status),
	    tg_check_sts_name(f->status), s->off, f->reason);
	if (f->ok) {
		printf("            policy %s: mode %s, max_age %ld, mx",
		    f->url, tg_sts_mode_name(f->policy.mode),
		    f->policy.max_age);
		for (i = 0; i < f->policy.count; i++)
			printf(" %s", f->policy.mx[i]);
		printf("\n");
		for (i = 0; i < rep->nmx; i++)
			check_print_sts_mx(s, rep, &rep->mx[i]);
	}
	if (f->cached) {
		tg_clock_format(f->cached_expires_at, when, sizeof(when));
		printf("            %srelay cache: id %s, mode %s, %s %s%s\n",
		    s->dim, f->cached_id, tg_sts_mode_name(f->cached_mode),
		    f->cached_expires_at > rep->checked_at ?
		    "in force until" : "expired", when, s->off);
	}
}

static void
check_print(const struct tg_check_report *rep, int color)
{
	const struct check_style *s = color ? &style_color : &style_plain;
	const struct tg_check_problem *p;
	size_t i;

	printf("%s%s%s\n", s->bold, rep->domain, s->off);
	printf("  MX lookup: %s, DNSSEC %s%s\n",
	    tg_dns_status_name(rep->mx_status),
	    tg_dns_security_name(rep->mx_security),
	    rep->implicit_mx ? " (no MX: the domain itself is the MX)" : "");
	for (i = 0; i < rep->nmx; i++)
		check_print_mx(s, &rep->mx[i]);
	printf("\n  DANE:     %s%s%s — %s\n", check_dane_color(s, rep->dane),
	    tg_check_dane_name(rep->dane), s->off, rep->dane_reason);
	check_print_sts(s, rep);
	if (rep->tlsrpt_txt.valid)
		for (i = 0; i < rep->tlsrpt.rua_count; i++)
			printf("  TLS-RPT:  %s\n", rep->tlsrpt.rua[i]);
	else
		printf("  TLS-RPT:  %s\n", rep->tlsrpt_txt.nrecords > 0 ?
		    rep->tlsrpt_txt.error : "not published");
	printf("  Relay:    %s\n", rep->relay);
	if (rep->nproblems == 0) {
		printf("\n%sNo problems found.%s\n", s->green, s->off);
		return;
	}
	printf("\nProblems:\n");
	for (i = 0; i < rep->nproblems; i++) {
		p = &rep->problems[i];
		printf("  %s%-7s%s %s\n",
		    p->severity == TG_CHECK_ERROR ? s->red :
		    p->severity == TG_CHECK_WARNING ? s->yellow : s->dim,
		    tg_check_severity_name(p->severity), s->off, p->message);
		if (p->fix[0] != '\0')
			printf("          fix: %s\n", p->fix);
	}
}

/* ---- the command ---- */

static const char check_usage[] =
    "usage: tlsgate check DOMAIN [--json] [--timeout SECONDS] [--dns-only]\n"
    "  checks DANE (MX, DNSSEC, TLSA, a live STARTTLS session per MX\n"
    "  address), MTA-STS (the policy, MX coverage, a web-PKI session per\n"
    "  MX host) and the TLS-RPT record of DOMAIN, says what the relay\n"
    "  would do and how to fix every problem.\n"
    "  --timeout S   per connection step (default 10)\n"
    "  --dns-only    look up records only, connect to nothing (no policy\n"
    "                fetch)\n"
    "exit: 0 no problems, 1 problems found, 2 could not check\n";

struct check_opts {
	const char *domain;
	int json;
	int timeout_s;
	int dns_only;
};

static int
check_parse(int argc, char **argv, struct check_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "dns-only", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout_s = 10;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = 1;
			break;
		case 'd':
			o->dns_only = 1;
			break;
		case 't':
			o->timeout_s = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || o->timeout_s < 1 ||
			    o->timeout_s > 300)
				return cli_fail(CLI_USAGE, "--timeout: '%s' is "
				    "not a number of seconds (1..300)", optarg);
			break;
		case 'h':
			fputs(check_usage, stdout);
			return -1;
		default:
			return cli_fail(CLI_USAGE, "unknown or incomplete "
			    "option '%s' (see 'tlsgate check --help')",
			    argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cli_fail(CLI_USAGE, "usage: tlsgate check DOMAIN "
		    "[--json] [--timeout S] [--dns-only]");
	o->domain = argv[optind];
	return 0;
}

/* Run the check on a private loop; the report, or NULL after an error. */
static struct tg_check_report *
check_run(const struct tg_conf *conf, const struct check_opts *o)
{
	struct tg_check_params params;
	struct check_run run = { NULL, NULL };
	struct tg_check_env e;
	struct tg_err err;

	memset(&e, 0, sizeof(e));
	if ((run.base = event_base_new()) == NULL) {
		tg_err_set(&err, TG_ERR_TEMP, NULL, "no event base");
		goto fail;
	}
	if (tg_check_env_init(&e, run.base, conf, o->timeout_s, &err) != 0)
		goto fail;
	tg_check_env_params(&e, o->domain, !o->dns_only, &params);
	if (tg_check_start(run.base, e.r, &params, check_done, &run,
	    &err) == NULL)
		goto fail;
	event_base_dispatch(run.base);
	tg_check_env_fini(&e);
	event_base_free(run.base);
	return run.report;
fail:
	cli_fail(CLI_USAGE, "could not check %s: %s", o->domain, err.msg);
	tg_check_env_fini(&e);
	if (run.base != NULL)
		event_base_free(run.base);
	return NULL;
}

int
cmd_check(struct cli *cli, int argc, char **argv)
{
	struct tg_check_report *rep;
	const struct tg_conf *conf;
	struct check_opts o;
	int rc;

	if ((rc = check_parse(argc, argv, &o)) != 0)
		return rc < 0 ? CLI_OK : rc;
	if ((conf = cli_conf(cli)) == NULL)
		return CLI_USAGE;
	if ((rep = check_run(conf, &o)) == NULL)
		return CLI_USAGE;
	if (o.json)
		cli_print_json(tg_check_to_json(rep));
	else
		check_print(rep, cli->color);
	rc = rep->could_not_check ? CLI_USAGE :
	    tg_check_count(rep, TG_CHECK_WARNING) > 0 ? CLI_PROBLEMS : CLI_OK;
	free(rep);
	return rc;
}
