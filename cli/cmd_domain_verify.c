/*
 * tlsgate domain verify ADDRESS — would the internal server take this
 * recipient? The question mxd asks at RCPT time (mx.verify_recipients):
 * the same SMTP probe to the domain's route (smtp/rcptverify), run here,
 * now, without mxd's cache. Exit 0 when it is taken, 1 when it is
 * refused or there was no answer, 2 for bad usage.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "cli.h"
#include "dns/resolver_conf.h"
#include "dns/resolver_unbound.h"
#include "smtp/rcptverify.h"
#include "tls/tls_client.h"
#include "util/text.h"

struct verify_run {
	struct event_base *base;
	struct tg_resolver *res;
	SSL_CTX *ctx;
	struct tg_rcptv *v;
	int answered;
	struct tg_rcptv_result result;
};

static void
verify_answer(void *arg, const struct tg_rcptv_result *res)
{
	struct verify_run *r = arg;

	r->result = *res;
	r->answered = 1;
	event_base_loopbreak(r->base);
}

static void
verify_run_free(struct verify_run *r)
{
	tg_rcptv_free(r->v);
	tg_resolver_free(r->res);
	SSL_CTX_free(r->ctx);
	if (r->base != NULL)
		event_base_free(r->base);
}

/* Ask route about addr on a private loop; 0 with r->result, or -1. */
static int
verify_ask(const struct tg_conf *conf, const struct tg_delivery_route *route,
    const char *addr, struct verify_run *r, struct tg_err *err)
{
	struct tg_resolver_config rc;
	struct tg_rcptv_params p;
	struct tg_rcptv_stats st;

	tg_resolver_config_from_conf(conf, &rc);
	/* As mxd looks up route names: /etc/hosts first. */
	tg_text_fmt(rc.hosts_file, sizeof(rc.hosts_file), "/etc/hosts");
	if ((r->base = event_base_new()) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "no event base");
	if ((r->res = tg_resolver_unbound_new(r->base, &rc, err)) == NULL ||
	    (r->ctx = tg_tls_client_ctx_new(NULL, err)) == NULL)
		return -1;
	memset(&p, 0, sizeof(p));
	p.base = r->base;
	p.resolver = r->res;
	p.ssl_ctx = r->ctx;
	p.helo_name = conf->relay_hostname;
	if ((r->v = tg_rcptv_new(&p, err)) == NULL)
		return -1;
	if (tg_rcptv_ask(r->v, route, addr, verify_answer, r,
	    &r->result) == NULL)
		r->answered = 1;
	/* Bounded: the verifier's budget answers every question, and
	 * limits the QUIT that follows. */
	while (!r->answered)
		if (event_base_dispatch(r->base) != 0)
			return tg_err_set(err, TG_ERR_TEMP, NULL, "event loop "
			    "failed");
	for (;;) {
		tg_rcptv_stats(r->v, &st);
		if (st.closing == 0 ||
		    event_base_loop(r->base, EVLOOP_ONCE) != 0)
			break;
	}
	return 0;
}

static const char *
answer_name(enum tg_rcptv_answer a)
{
	return a == TG_RCPTV_TAKEN ? "taken" : a == TG_RCPTV_REFUSED ?
	    "refused" : "unknown";
}

static int
verify_print(const char *addr, const char *route,
    const struct tg_rcptv_result *res, int json)
{
	int rc = res->answer == TG_RCPTV_TAKEN ? CLI_OK : CLI_PROBLEMS;

	if (json) {
		cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "address",
		    addr, "route", route, "answer", answer_name(res->answer),
		    "reply", res->text));
		return rc;
	}
	switch (res->answer) {
	case TG_RCPTV_TAKEN:
		printf("%s: taken by the internal server %s\n", addr, route);
		break;
	case TG_RCPTV_REFUSED:
		printf("%s: refused by the internal server %s; mxd answers "
		    "RCPT with 550 5.1.1\n", addr, route);
		break;
	default:
		printf("%s: no answer from the internal server %s; mxd takes "
		    "the recipient and queues the mail\n", addr, route);
		break;
	}
	printf("  %s\n", res->text);
	return rc;
}

int
domain_verify(struct cli *cli, int argc, char **argv)
{
	const struct tg_conf *conf;
	struct tg_store_domain d;
	struct tg_delivery_route route;
	struct verify_run r;
	struct tg_store *st;
	struct tg_err err;
	const char *addr, *at;
	int json, rc;

	json = argc == 3 && strcmp(argv[2], "--json") == 0;
	if ((argc != 2 && !json) || (at = strrchr(argv[1], '@')) == NULL ||
	    at == argv[1] || at[1] == '\0')
		return cli_fail(CLI_USAGE, "usage: tlsgate domain verify "
		    "LOCAL@DOMAIN [--json]");
	addr = argv[1];
	if ((conf = cli_conf(cli)) == NULL ||
	    (st = cli_store_open(cli, 1)) == NULL)
		return CLI_USAGE;
	rc = tg_store_domain_get(st, at + 1, &d, &err);
	tg_store_close(st);
	if (rc == TG_STORE_NOTFOUND)
		return cli_fail(CLI_USAGE, "'%s' is not a hosted domain "
		    "(mxd refuses it: 554 5.7.1)", at + 1);
	if (rc != 0)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	if (d.inbound_route[0] == '\0' ||
	    tg_delivery_route_parse(d.inbound_route, &route) != 0)
		return cli_fail(CLI_PROBLEMS, "%s has no usable inbound route "
		    "(mxd answers 451 4.3.5); set one with tlsgate domain set "
		    "%s --route HOST[:PORT]", d.name, d.name);
	route.require_tls = conf->mx_route_tls;
	memset(&r, 0, sizeof(r));
	if (verify_ask(conf, &route, addr, &r, &err) != 0) {
		verify_run_free(&r);
		return cli_fail(CLI_USAGE, "%s", err.msg);
	}
	rc = verify_print(addr, d.inbound_route, &r.result, json);
	verify_run_free(&r);
	return rc;
}
