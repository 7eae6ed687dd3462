/*
 * tlsgate check DOMAIN — the transport-security check of a mail domain.
 *
 * Runs policy/check with the resolver settings of the config (trust
 * anchor, forwarders, stub zones) and prints what a mail administrator
 * needs at a glance: each MX host with its DNSSEC status, TLSA records and
 * a live STARTTLS session per address, a verdict per standard, what our
 * relay would do, and every problem with its fix.
 * Exit: 0 nothing to fix, 1 problems found, 2 could not check.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dns/resolver_unbound.h"
#include "policy/check.h"

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

/* The resolver settings of the config file, in dns/resolver's form. */
static void
check_resolver_config(const struct tg_conf *conf,
    struct tg_resolver_config *rc)
{
	size_t i;

	tg_resolver_config_init(rc);
	snprintf(rc->trust_anchor_file, sizeof(rc->trust_anchor_file), "%s",
	    conf->dns_trust_anchor_file);
	for (i = 0; i < conf->dns_forward.n && i < TG_DNS_SERVERS_MAX; i++) {
		snprintf(rc->forward[i].addr, sizeof(rc->forward[i].addr), "%s",
		    conf->dns_forward.v[i].host);
		rc->forward[i].port = conf->dns_forward.v[i].port;
		rc->nforward++;
	}
	for (i = 0; i < conf->dns_stub.n && i < TG_DNS_SERVERS_MAX; i++) {
		snprintf(rc->stub[i].zone, sizeof(rc->stub[i].zone), "%s",
		    conf->dns_stub.v[i].zone);
		snprintf(rc->stub[i].server.addr,
		    sizeof(rc->stub[i].server.addr), "%s",
		    conf->dns_stub.v[i].addr.host);
		rc->stub[i].server.port = conf->dns_stub.v[i].addr.port;
		rc->nstub++;
	}
	rc->timeout_s = (unsigned)conf->dns_timeout;
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
		printf("      %-39s %s%s%s\n", "", s->red, p->tls.reason, s->off);
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
	if (rep->sts_txt.valid)
		printf("  MTA-STS:  TXT id=%s (policy fetch not part of this "
		    "check)\n", rep->sts.id);
	else
		printf("  MTA-STS:  %s\n", rep->sts_txt.nrecords > 0 ?
		    rep->sts_txt.error : "not published");
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
		printf("  %s%-7s%s %s\n", p->severity == TG_CHECK_ERROR ? s->red :
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
    "  address), the MTA-STS and TLS-RPT records of DOMAIN, says what the\n"
    "  relay would do and how to fix every problem.\n"
    "  --timeout S   per connection step (default 10)\n"
    "  --dns-only    look up records only, connect to nothing\n"
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
		return cli_fail(CLI_USAGE, "usage: tlsgate check DOMAIN [--json] "
		    "[--timeout S] [--dns-only]");
	o->domain = argv[optind];
	return 0;
}

/* Run the check on a private loop; the report, or NULL after an error. */
static struct tg_check_report *
check_run(const struct tg_conf *conf, const struct check_opts *o)
{
	struct tg_resolver_config rc;
	struct tg_check_params params;
	struct check_run run = { NULL, NULL };
	struct tg_resolver *r = NULL;
	SSL_CTX *ctx = NULL;
	struct tg_check *c;
	struct tg_err err;

	check_resolver_config(conf, &rc);
	run.base = event_base_new();
	if (run.base == NULL ||
	    (r = tg_resolver_unbound_new(run.base, &rc, &err)) == NULL ||
	    (ctx = tg_tls_client_ctx_new(conf->sts_ca_file[0] != '\0' ?
	    conf->sts_ca_file : NULL, &err)) == NULL)
		goto fail;
	memset(&params, 0, sizeof(params));
	params.domain = o->domain;
	params.helo_name = conf->relay_hostname;
	params.ctx = ctx;
	params.step_timeout_ms = o->timeout_s * 1000;
	params.probe = !o->dns_only;
	if ((c = tg_check_start(run.base, r, &params, check_done, &run,
	    &err)) == NULL)
		goto fail;
	event_base_dispatch(run.base);
	tg_resolver_free(r);
	SSL_CTX_free(ctx);
	event_base_free(run.base);
	return run.report;
fail:
	cli_fail(CLI_USAGE, "could not check %s: %s", o->domain, err.msg);
	tg_resolver_free(r);
	SSL_CTX_free(ctx);
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
