/*
 * tlsgate sts-cache list|show|lookup|refresh — the MTA-STS policy cache.
 *
 * The relay keeps the MTA-STS policy of every destination it has sent to
 * in state_dir/cache.db (store/cache, RFC 8461 §3.3). This command shows
 * that cache, and runs the very lookup the relay runs (policy/stsclient:
 * the `_mta-sts` TXT record, the cache rules, a fetch when one is due),
 * so an administrator sees which policy the relay applies to a domain
 * and why:
 *   list              every cached domain, one line each
 *   show DOMAIN       one domain's row: policy, TXT id, last fetch
 *   lookup DOMAIN     what the relay would apply now (may fetch, and
 *                     records the result as the relay would)
 *   refresh DOMAIN    the same, fetching whatever the cache says (an
 *                     invalid or failed fetch still never replaces a
 *                     cached policy)
 * Exit: 0 ok; 1 nothing cached (show), or the lookup could not get the
 * current policy (a TLS-RPT failure: fetch error, invalid policy, web
 * PKI); 2 bad usage, or the cache cannot be read.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cli.h"
#include "dns/resolver_conf.h"
#include "dns/resolver_unbound.h"
#include "net/fetch.h"
#include "policy/stsclient.h"
#include "store/cache.h"
#include "util/clock.h"

static const char stscache_usage[] =
    "usage: tlsgate sts-cache list [--json]\n"
    "       tlsgate sts-cache show DOMAIN [--json]\n"
    "       tlsgate sts-cache lookup DOMAIN [--json]\n"
    "       tlsgate sts-cache refresh DOMAIN [--json]\n"
    "  the relay's MTA-STS policy cache (state_dir/cache.db); lookup runs\n"
    "  the relay's policy lookup for DOMAIN, refresh fetches the policy\n"
    "  now; both record the result in the cache as the relay does.\n"
    "exit: 0 ok, 1 nothing cached or the policy could not be had, 2 error\n";

struct stscache_opts {
	const char *domain;
	int json;
};

static int
stscache_parse(int argc, char **argv, int want_domain,
    struct stscache_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = 1;
			break;
		case 'h':
			fputs(stscache_usage, stdout);
			return -1;
		default:
			return cli_fail(CLI_USAGE, "unknown option '%s' (see "
			    "'tlsgate sts-cache --help')", argv[optind - 1]);
		}
	}
	if (argc - optind != want_domain)
		return cli_fail(CLI_USAGE, "usage: tlsgate sts-cache %s%s "
		    "[--json]", argv[0], want_domain ? " DOMAIN" : "");
	o->domain = want_domain ? argv[optind] : NULL;
	return 0;
}

/* ---- rows ---- */

static json_t *
stscache_time(time_t t)
{
	char text[32];

	if (t == 0)
		return json_null();
	tg_clock_format(t, text, sizeof(text));
	return json_string(text);
}

static json_t *
stscache_mx_json(const char (*mx)[TG_DNAME_MAX + 1], size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_string(mx[i]));
	return arr;
}

static json_t *
stscache_row_json(const struct tg_cache_sts *r)
{
	const struct tg_cache_sts_policy *p = &r->policy;
	const struct tg_cache_sts_attempt *a = &r->attempt;
	json_t *pol = json_null(), *att = json_null();

	if (r->has_policy)
		pol = json_pack("{s:s, s:I, s:o, s:s, s:o, s:o, s:b, s:s%}",
		    "mode", tg_cache_sts_mode_name(p->mode), "max_age",
		    (json_int_t)p->max_age, "mx", stscache_mx_json(p->mx,
		    p->n_mx), "id", p->id, "fetched_at",
		    stscache_time(p->fetched_at), "expires_at",
		    stscache_time(p->expires_at), "in_force",
		    tg_clock_now() < p->expires_at, "body", p->body,
		    p->body_len);
	if (a->at != 0)
		att = json_pack("{s:o, s:s, s:b, s:s, s:s, s:I}", "at",
		    stscache_time(a->at), "id", a->id, "ok", a->ok, "result",
		    a->result, "error", a->error, "failures",
		    (json_int_t)a->failures);
	return json_pack("{s:s, s:o, s:{s:s, s:o}, s:o}", "domain",
	    r->domain, "policy", pol, "txt", "id", r->txt_id, "seen_at",
	    stscache_time(r->txt_seen_at), "last_fetch", att);
}

static void
stscache_row_print(const struct tg_cache_sts *r)
{
	const struct tg_cache_sts_policy *p = &r->policy;
	const struct tg_cache_sts_attempt *a = &r->attempt;
	char t1[32], t2[32];
	size_t i;

	printf("%s\n", r->domain);
	if (r->has_policy) {
		tg_clock_format(p->fetched_at, t1, sizeof(t1));
		tg_clock_format(p->expires_at, t2, sizeof(t2));
		printf("  policy:     %s, max_age %ld, id %s%s\n",
		    tg_cache_sts_mode_name(p->mode), p->max_age, p->id,
		    tg_clock_now() < p->expires_at ? "" : " (expired)");
		for (i = 0; i < p->n_mx; i++)
			printf("              mx %s\n", p->mx[i]);
		printf("              fetched %s, in force until %s\n", t1, t2);
	} else {
		printf("  policy:     none cached\n");
	}
	tg_clock_format(r->txt_seen_at, t1, sizeof(t1));
	printf("  TXT id:     %s (seen %s)\n", r->txt_id[0] != '\0' ?
	    r->txt_id : "none", t1);
	if (a->at == 0)
		return;
	tg_clock_format(a->at, t1, sizeof(t1));
	if (a->ok)
		printf("  last fetch: %s, id %s: ok\n", t1, a->id);
	else
		printf("  last fetch: %s, id %s: %s: %s (%u in a row)\n", t1,
		    a->id, a->result, a->error, a->failures);
}

struct stscache_list {
	int json;
	json_t *arr;
};

static int
stscache_list_row(const struct tg_cache_sts *r, void *ctx,
    struct tg_err *err)
{
	struct stscache_list *l = ctx;
	char t[32];

	(void)err;
	if (l->json) {
		json_array_append_new(l->arr, stscache_row_json(r));
		return 0;
	}
	tg_clock_format(r->has_policy ? r->policy.expires_at : 0, t,
	    sizeof(t));
	printf("%-40s %-8s %-32s %s%s\n", r->domain, r->has_policy ?
	    tg_cache_sts_mode_name(r->policy.mode) : "-", r->has_policy ?
	    r->policy.id : "-", r->has_policy ? t : "-",
	    r->attempt.at != 0 && !r->attempt.ok ? "  (last fetch failed)" :
	    "");
	return 0;
}

static struct tg_cache *
stscache_open(struct cli *cli, int readonly)
{
	const struct tg_conf *conf = cli_conf(cli);
	struct tg_cache *c = NULL;
	struct tg_err err;
	int rc;

	if (conf == NULL)
		return NULL;
	rc = readonly ? tg_cache_open_readonly(conf->state_dir, &c, &err) :
	    tg_cache_open(conf->state_dir, &c, &err);
	if (rc != 0) {
		cli_fail(CLI_USAGE, "%s", err.msg);
		return NULL;
	}
	return c;
}

static int
stscache_cmd_list(struct cli *cli, int argc, char **argv)
{
	struct stscache_list l = { 0, NULL };
	struct stscache_opts o;
	struct tg_cache *c;
	struct tg_err err;
	int rc;

	if ((rc = stscache_parse(argc, argv, 0, &o)) != 0)
		return rc < 0 ? CLI_OK : rc;
	l.json = o.json;
	l.arr = json_array();
	if ((c = stscache_open(cli, 1)) == NULL) {
		json_decref(l.arr);
		return CLI_USAGE;
	}
	rc = tg_cache_sts_list(c, stscache_list_row, &l, &err);
	tg_cache_close(c);
	if (rc != 0) {
		json_decref(l.arr);
		return cli_fail(CLI_USAGE, "%s", err.msg);
	}
	if (o.json)
		return cli_print_json(l.arr);
	json_decref(l.arr);
	return CLI_OK;
}

static int
stscache_cmd_show(struct cli *cli, int argc, char **argv)
{
	struct stscache_opts o;
	struct tg_cache_sts *r;
	struct tg_cache *c;
	struct tg_err err;
	int rc;

	if ((rc = stscache_parse(argc, argv, 1, &o)) != 0)
		return rc < 0 ? CLI_OK : rc;
	if ((c = stscache_open(cli, 1)) == NULL)
		return CLI_USAGE;
	if ((r = malloc(sizeof(*r))) == NULL) {
		tg_cache_close(c);
		return cli_fail(CLI_USAGE, "out of memory");
	}
	rc = tg_cache_sts_get(c, o.domain, r, &err);
	tg_cache_close(c);
	if (rc == 0 && o.json)
		cli_print_json(stscache_row_json(r));
	else if (rc == 0)
		stscache_row_print(r);
	free(r);
	if (rc == TG_CACHE_NOTFOUND)
		return cli_fail(CLI_PROBLEMS, "%s: nothing cached", o.domain);
	if (rc != 0)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	return CLI_OK;
}

/* ---- lookup and refresh: the relay's lookup ---- */

static json_t *
stscache_outcome_json(const struct tg_sts_outcome *o)
{
	json_t *pol = json_null();

	if (o->status == TG_STSCLIENT_CACHED ||
	    o->status == TG_STSCLIENT_FETCHED)
		pol = json_pack("{s:s, s:I, s:o, s:s, s:o, s:o}", "mode",
		    tg_sts_mode_name(o->policy.mode), "max_age",
		    (json_int_t)o->policy.max_age, "mx",
		    stscache_mx_json(o->policy.mx, o->policy.count), "id",
		    o->policy_id, "fetched_at", stscache_time(o->fetched_at),
		    "expires_at", stscache_time(o->expires_at));
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:o, s:b, s:b, "
	    "s:b, s:o, s:s}", "domain", o->domain, "status",
	    tg_stsclient_status_name(o->status), "why",
	    tg_stscache_why_name(o->why), "txt", "result",
	    tg_stscache_txt_name(o->txt), "id", o->txt_id, "error",
	    o->txt_error, "policy", pol, "fetched", o->fetched, "fetch_ok",
	    o->fetch_ok, "refreshing", o->refreshing, "result_type",
	    o->result_type != NULL ? json_string(o->result_type) :
	    json_null(), "reason", o->reason);
}

static void
stscache_outcome_print(const struct tg_sts_outcome *o)
{
	size_t i;

	printf("%s: %s (%s)\n", o->domain, tg_stsclient_status_name(o->status),
	    tg_stscache_why_name(o->why));
	printf("  TXT:    %s%s%s\n", tg_stscache_txt_name(o->txt),
	    o->txt_id[0] != '\0' ? ", id " : "", o->txt_id[0] != '\0' ?
	    o->txt_id : o->txt_error);
	if (o->status == TG_STSCLIENT_CACHED ||
	    o->status == TG_STSCLIENT_FETCHED) {
		printf("  policy: %s, max_age %ld, id %s\n",
		    tg_sts_mode_name(o->policy.mode), o->policy.max_age,
		    o->policy_id);
		for (i = 0; i < o->policy.count; i++)
			printf("          mx %s\n", o->policy.mx[i]);
	}
	if (o->result_type != NULL)
		printf("  failed: %s: %s\n", o->result_type, o->reason);
	else if (o->reason[0] != '\0')
		printf("  note:   %s\n", o->reason);
}

struct stscache_run {
	struct event_base *base;
	struct tg_sts_outcome *out;	/* owned copy of the answer */
};

static void
stscache_on_answer(const struct tg_sts_outcome *o, void *arg)
{
	struct stscache_run *run = arg;

	if ((run->out = malloc(sizeof(*run->out))) != NULL)
		*run->out = *o;
}

/* Run one lookup and every fetch it started (a refresh too). */
static struct tg_sts_outcome *
stscache_run_lookup(const struct tg_conf *conf, struct tg_cache *cache,
    const char *domain, unsigned flags, struct tg_err *err)
{
	struct stscache_run run = { NULL, NULL };
	struct tg_resolver_config rc;
	struct tg_stsclient_params p;
	struct tg_stsclient_https https;
	struct tg_stsclient *c = NULL;
	struct tg_resolver *r = NULL;
	struct tg_fetch *f = NULL;

	tg_resolver_config_from_conf(conf, &rc);
	if ((run.base = event_base_new()) == NULL ||
	    (r = tg_resolver_unbound_new(run.base, &rc, err)) == NULL ||
	    (f = tg_fetch_new(run.base, err)) == NULL)
		goto out;
	tg_stsclient_https_init(&https, f, conf);
	memset(&p, 0, sizeof(p));
	p.base = run.base;
	p.resolver = r;
	p.cache = cache;
	p.fetch = f;
	p.fetch_params = https.params;
	if ((c = tg_stsclient_new(&p, err)) == NULL ||
	    tg_stsclient_lookup(c, domain, flags, stscache_on_answer, &run,
	    err) == NULL)
		goto out;
	while (tg_stsclient_pending(c) > 0 || tg_stsclient_fetching(c) > 0)
		if (event_base_loop(run.base, EVLOOP_ONCE) != 0)
			break;
	if (run.out == NULL)
		tg_err_set(err, TG_ERR_TEMP, NULL, "the lookup did not end");
out:
	tg_stsclient_free(c);
	tg_fetch_free(f);
	tg_resolver_free(r);
	if (run.base != NULL)
		event_base_free(run.base);
	return run.out;
}

static int
stscache_cmd_lookup(struct cli *cli, int argc, char **argv, unsigned flags)
{
	const struct tg_conf *conf;
	struct tg_sts_outcome *o;
	struct stscache_opts so;
	struct tg_cache *c;
	struct tg_err err;
	int rc;

	if ((rc = stscache_parse(argc, argv, 1, &so)) != 0)
		return rc < 0 ? CLI_OK : rc;
	if ((conf = cli_conf(cli)) == NULL ||
	    (c = stscache_open(cli, 0)) == NULL)
		return CLI_USAGE;
	o = stscache_run_lookup(conf, c, so.domain, flags, &err);
	tg_cache_close(c);
	if (o == NULL)
		return cli_fail(CLI_USAGE, "%s: %s", so.domain, err.msg);
	if (so.json)
		cli_print_json(stscache_outcome_json(o));
	else
		stscache_outcome_print(o);
	rc = o->status == TG_STSCLIENT_ERROR ? CLI_USAGE :
	    o->result_type != NULL ? CLI_PROBLEMS : CLI_OK;
	free(o);
	return rc;
}

static int
stscache_cmd_lookup_plain(struct cli *cli, int argc, char **argv)
{
	return stscache_cmd_lookup(cli, argc, argv, 0);
}

static int
stscache_cmd_refresh(struct cli *cli, int argc, char **argv)
{
	return stscache_cmd_lookup(cli, argc, argv, TG_STSCLIENT_FORCE);
}

int
cmd_stscache(struct cli *cli, int argc, char **argv)
{
	static const struct cli_command cmds[] = {
		{ "list", stscache_cmd_list, "every cached domain" },
		{ "show", stscache_cmd_show, "one domain's cache row" },
		{ "lookup", stscache_cmd_lookup_plain, "the relay's lookup "
		    "of a domain's policy, now" },
		{ "refresh", stscache_cmd_refresh, "fetch a domain's policy "
		    "now" },
		{ NULL, NULL, NULL }
	};

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		fputs(stscache_usage, stdout);
		return CLI_OK;
	}
	return cli_dispatch(cli, "tlsgate sts-cache", cmds, argc, argv);
}
