/*
 * tlsgate report list|show|summary|import|send|sent — TLS reporting
 * (RFC 8460).
 *
 * Received reports (what other mail systems saw delivering to us) are
 * listed, shown, summarised per domain and day, and imported from files
 * (raw .json, .json.gz, and mailed .eml checked for DKIM with DNS keys:
 * rpt/collect). Our own reports (what our relay saw) are made and sent
 * with `send` (rpt/send; rptd does the same every day) and their
 * deliveries listed with `sent`.
 *
 * Everything in a report came from a stranger (RELIABILITY R-03): text
 * output escapes control characters (C0, DEL and C1) as \xNN, so a
 * report cannot move the cursor, recolour or rewrite the terminal; JSON
 * output is escaped by jansson.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "cli.h"
#include "dns/resolver_conf.h"
#include "dns/resolver_unbound.h"
#include "net/fetch.h"
#include "rpt/collect.h"
#include "rpt/gzip.h"
#include "rpt/send.h"
#include "rpt/summary.h"
#include "store/reports.h"
#include "util/clock.h"
#include "util/limits.h"

#define IMPORT_FILE_MAX	TG_RPT_MAIL_MAX

static const char report_usage[] =
    "usage: tlsgate report list [--domain D] [--since DATE] [--json]\n"
    "       tlsgate report show ID [--json] [--raw]\n"
    "       tlsgate report summary [--domain D] [--since DATE] [--json]\n"
    "       tlsgate report import FILE...\n"
    "       tlsgate report send [--day DATE] [--dry-run] [--json]\n"
    "       tlsgate report sent [--day DATE] [--json]\n"
    "DATE is YYYY-MM-DD (UTC). list/show/summary read the reports other\n"
    "mail systems sent about our domains; send makes and sends our own\n"
    "reports of DATE (default: yesterday), sent lists their deliveries.\n";

enum { OPT_DOMAIN = 1, OPT_SINCE, OPT_JSON, OPT_RAW, OPT_DAY, OPT_DRY };

static const struct option report_options[] = {
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "day", required_argument, NULL, OPT_DAY },
	{ "dry-run", no_argument, NULL, OPT_DRY },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

struct ropts {
	const char *domain;	/* NULL: all */
	time_t since;		/* 0: all */
	const char *day;	/* NULL: yesterday */
	int json, raw, dry;
	int nargs;
	char **args;
};

/* ---- output ------------------------------------------------------ */

/* Print s with C0 controls, DEL and C1 controls (UTF-8 C2 80..9F, which
 * terminals also obey) as \xNN; other text as it is. */
static void
out_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");

	for (; *p != '\0'; p++) {
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			printf("\\x%02x", p[1]);
			p++;
		} else if (*p < 0x20 || *p == 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
}

/* Print fmt's text, then s escaped, then after. */
static void
out_field(const char *label, const char *s)
{
	printf("  %-14s ", label);
	out_text(s);
	putchar('\n');
}

static void
out_time(time_t t, char *buf, size_t len)
{
	tg_clock_format(t, buf, len);
}

/* ---- options ----------------------------------------------------- */

static int
parse_day(const char *s, time_t *out)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) != 10 || (end = strptime(s, "%Y-%m-%d", &tm)) == NULL ||
	    *end != '\0')
		return cli_fail(CLI_USAGE, "'%s' is not a date (YYYY-MM-DD)",
		    s);
	*out = timegm(&tm);
	return 0;
}

static int
report_options_parse(int argc, char **argv, struct ropts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", report_options, NULL)) !=
	    -1) {
		switch (c) {
		case OPT_DOMAIN:
			o->domain = optarg;
			break;
		case OPT_SINCE:
			if (parse_day(optarg, &o->since) != 0)
				return CLI_USAGE;
			break;
		case OPT_DAY:
			if (parse_day(optarg, &(time_t){ 0 }) != 0)
				return CLI_USAGE;
			o->day = optarg;
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_RAW:
			o->raw = 1;
			break;
		case OPT_DRY:
			o->dry = 1;
			break;
		default:
			return cli_fail(CLI_USAGE, "unknown or incomplete "
			    "option '%s' (see 'tlsgate report --help')",
			    argv[optind - 1]);
		}
	}
	o->nargs = argc - optind;
	o->args = argv + optind;
	return 0;
}

/* Parse options allowing exactly nargs arguments (-1: one or more). */
static int
report_args(int argc, char **argv, struct ropts *o, int nargs)
{
	if (cli_wants_help(argc, argv)) {
		fputs(report_usage, stdout);
		return -1;
	}
	if (report_options_parse(argc, argv, o) != 0)
		return CLI_USAGE;
	if ((nargs >= 0 && o->nargs != nargs) || (nargs < 0 && o->nargs < 1))
		return cli_fail(CLI_USAGE, "wrong arguments (see 'tlsgate "
		    "report --help')");
	return 0;
}

static struct tg_reports *
report_db(struct cli *cli, int readonly)
{
	const struct tg_conf *conf = cli_conf(cli);
	struct tg_reports *r = NULL;
	struct tg_err err;

	if (conf == NULL)
		return NULL;
	if (tg_reports_open(conf->state_dir, readonly, &r, &err) != 0) {
		cli_fail(CLI_USAGE, "%s", err.msg);
		return NULL;
	}
	return r;
}

/* ---- list -------------------------------------------------------- */

static json_t *
report_head_json(const struct tg_reports_rx_report *r)
{
	char start[32], end[32], recv[32];

	out_time(r->start, start, sizeof(start));
	out_time(r->end, end, sizeof(end));
	out_time(r->received, recv, sizeof(recv));
	return json_pack("{s:I, s:s, s:s, s:s?, s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:I, s:I, s:I, s:I, s:s}", "id", (json_int_t)r->id,
	    "organization", r->org, "report_id", r->report_id, "contact",
	    r->contact[0] != '\0' ? r->contact : NULL, "start", start, "end",
	    end, "received", recv, "source", r->source, "peer", r->peer,
	    "auth", r->auth, "policies", (json_int_t)r->n_policies_stored,
	    "discarded", (json_int_t)r->discarded, "success",
	    (json_int_t)r->success, "failure", (json_int_t)r->failure,
	    "domains", r->domains);
}

struct list_out {
	json_t *arr;
	int rows;
};

static int
list_row(const struct tg_reports_rx_report *r, void *arg)
{
	struct list_out *lo = arg;
	char start[32];

	lo->rows++;
	if (lo->arr != NULL)
		return json_array_append_new(lo->arr, report_head_json(r));
	out_time(r->start, start, sizeof(start));
	printf("%-6lld %.10s  %10lld %8lld %7.2f%%  %-7s ", (long long)r->id,
	    start, (long long)r->success, (long long)r->failure,
	    tg_rptsum_rate(r->success, r->failure), r->source);
	out_text(r->domains);
	fputs("  ", stdout);
	out_text(r->org);
	putchar('\n');
	return 0;
}

static int
report_list(struct cli *cli, int argc, char **argv)
{
	struct list_out lo = { NULL, 0 };
	struct tg_reports *db;
	struct tg_err err;
	struct ropts o;
	int rc;

	if ((rc = report_args(argc, argv, &o, 0)) != 0)
		return rc < 0 ? CLI_OK : rc;
	if ((db = report_db(cli, 1)) == NULL)
		return CLI_USAGE;
	if (o.json)
		lo.arr = json_array();
	else
		printf("%-6s %-10s  %10s %8s %8s  %-7s %s\n", "ID", "DAY", "OK",
		    "FAILED", "RATE", "VIA", "DOMAINS  ORGANIZATION");
	rc = tg_reports_rx_list(db, o.domain, o.since, list_row, &lo, &err);
	tg_reports_close(db);
	if (rc != 0) {
		json_decref(lo.arr);
		return cli_fail(CLI_USAGE, "%s", err.msg);
	}
	return o.json ? cli_print_json(lo.arr) : CLI_OK;
}

/* ---- show -------------------------------------------------------- */

struct show_out {
	struct tg_reports *db;
	int json;
	json_t *obj;		/* the JSON form */
	json_t *policies;	/* borrowed from obj */
	int n;
};

static json_t *
strv_json(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int
show_failure(const struct tg_reports_rx_failure *f, void *arg)
{
	json_t *arr = arg;

	if (arr != NULL)
		return json_array_append_new(arr, json_pack("{s:s, s:s, s:s, "
		    "s:s, s:s, s:I, s:s, s:s}", "result_type", f->result_type,
		    "sending_mta_ip", f->sending_mta_ip,
		    "receiving_mx_hostname", f->receiving_mx_hostname,
		    "receiving_mx_helo", f->receiving_mx_helo, "receiving_ip",
		    f->receiving_ip, "failed_session_count",
		    (json_int_t)f->failed_session_count,
		    "additional_information", f->additional_information,
		    "failure_reason_code", f->failure_reason_code));
	printf("  failure        %lld x ", (long long)f->failed_session_count);
	out_text(f->result_type);
	printf(" sending ");
	out_text(f->sending_mta_ip[0] != '\0' ? f->sending_mta_ip : "?");
	printf(" to ");
	out_text(f->receiving_mx_hostname[0] != '\0' ?
	    f->receiving_mx_hostname : "?");
	if (f->receiving_ip[0] != '\0') {
		printf(" (");
		out_text(f->receiving_ip);
		putchar(')');
	}
	putchar('\n');
	if (f->receiving_mx_helo[0] != '\0')
		out_field("  helo", f->receiving_mx_helo);
	if (f->failure_reason_code[0] != '\0')
		out_field("  reason", f->failure_reason_code);
	if (f->additional_information[0] != '\0')
		out_field("  info", f->additional_information);
	return 0;
}

static int
show_policy(const struct tg_reports_rx_policy *p, void *arg)
{
	struct show_out *so = arg;
	json_t *fails = NULL;
	struct tg_err err;
	size_t i;

	so->n++;
	if (so->json) {
		fails = json_array();
		json_array_append_new(so->policies, json_pack("{s:s, s:s, s:o, "
		    "s:o, s:I, s:I, s:o}", "type", tg_reports_policy_type_name(
		    p->type), "domain", p->domain, "policy_strings",
		    strv_json(p->strings, p->n_strings), "mx_hosts",
		    strv_json(p->mx_hosts, p->n_mx_hosts), "success",
		    (json_int_t)p->success, "failure", (json_int_t)p->failure,
		    "failures", fails));
	} else {
		printf("policy %d: %s %s\n", so->n,
		    tg_reports_policy_type_name(p->type), p->domain);
		for (i = 0; i < p->n_strings; i++)
			out_field("policy-string", p->strings[i]);
		for (i = 0; i < p->n_mx_hosts; i++)
			out_field("mx-host", p->mx_hosts[i]);
		printf("  %-14s %lld ok, %lld failed (%.2f%% success)\n",
		    "sessions", (long long)p->success, (long long)p->failure,
		    tg_rptsum_rate(p->success, p->failure));
	}
	return tg_reports_rx_failures(so->db, p->id, show_failure, fails, &err);
}

static int
show_head(const struct tg_reports_rx_report *r, void *arg)
{
	struct show_out *so = arg;
	char start[32], end[32], recv[32];

	if (so->json) {
		so->obj = report_head_json(r);
		so->policies = json_array();
		json_object_set_new(so->obj, "policy_list", so->policies);
		return 0;
	}
	out_time(r->start, start, sizeof(start));
	out_time(r->end, end, sizeof(end));
	out_time(r->received, recv, sizeof(recv));
	printf("report %lld\n", (long long)r->id);
	out_field("organization", r->org);
	out_field("contact", r->contact[0] != '\0' ? r->contact : "(none)");
	out_field("report-id", r->report_id);
	printf("  %-14s %s .. %s\n", "date range", start, end);
	printf("  %-14s %s via %s from ", "received", recv, r->source);
	out_text(r->peer);
	putchar('\n');
	if (r->auth[0] != '\0')
		out_field("authenticated", r->auth);
	printf("  %-14s %s, %lld bytes\n", "original", r->raw_media,
	    (long long)r->raw_size);
	if (r->discarded > 0)
		printf("  %-14s %lld policies (domains not hosted here)\n",
		    "discarded", (long long)r->discarded);
	return 0;
}

/* --raw: the original as received, uncompressed unless it came gzip'd. */
static int
show_raw(struct tg_reports *db, int64_t id)
{
	struct tg_buf gz, out;
	struct tg_err err;
	char media[128];
	int rc;

	tg_buf_init(&gz, TG_RPT_MAIL_MAX + (1 << 20));
	tg_buf_init(&out, TG_RPT_MAIL_MAX);
	rc = tg_reports_rx_raw(db, id, &gz, media, sizeof(media), &err);
	if (rc == TG_REPORTS_NOTFOUND)
		rc = cli_fail(CLI_USAGE, "no report %lld", (long long)id);
	else if (rc != 0)
		rc = cli_fail(CLI_USAGE, "%s", err.msg);
	else if (strcmp(media, TG_COLLECT_MEDIA_GZIP) == 0)
		rc = fwrite(gz.data, 1, gz.len, stdout) == gz.len ? CLI_OK :
		    CLI_USAGE;
	else if (tg_gzip_inflate(gz.data, gz.len, TG_RPT_MAIL_MAX, 0, &out,
	    &err) != 0)
		rc = cli_fail(CLI_USAGE, "%s", err.msg);
	else
		rc = fwrite(out.data, 1, out.len, stdout) == out.len ? CLI_OK :
		    CLI_USAGE;
	tg_buf_free(&gz);
	tg_buf_free(&out);
	return rc;
}

static int
report_show(struct cli *cli, int argc, char **argv)
{
	struct show_out so;
	struct tg_reports *db;
	struct tg_err err;
	struct ropts o;
	char *end;
	long long id;
	int rc;

	if ((rc = report_args(argc, argv, &o, 1)) != 0)
		return rc < 0 ? CLI_OK : rc;
	id = strtoll(o.args[0], &end, 10);
	if (*end != '\0' || id <= 0)
		return cli_fail(CLI_USAGE, "'%s' is not a report id",
		    o.args[0]);
	if ((db = report_db(cli, 1)) == NULL)
		return CLI_USAGE;
	if (o.raw) {
		rc = show_raw(db, id);
		tg_reports_close(db);
		return rc;
	}
	memset(&so, 0, sizeof(so));
	so.db = db;
	so.json = o.json;
	rc = tg_reports_rx_get(db, id, show_head, &so, &err);
	if (rc == 0)
		rc = tg_reports_rx_policies(db, id, show_policy, &so, &err);
	tg_reports_close(db);
	if (rc != 0) {
		json_decref(so.obj);
		return rc == TG_REPORTS_NOTFOUND ? cli_fail(CLI_USAGE, "no "
		    "report %lld", id) : cli_fail(CLI_USAGE, "%s", err.msg);
	}
	return o.json ? cli_print_json(so.obj) : CLI_OK;
}

/* ---- summary ----------------------------------------------------- */

static void
summary_day_text(const struct tg_rptsum *s, const struct tg_rptsum_row *d)
{
	size_t i;
	int head = 0;

	printf("%s  ", d->day);
	out_text(d->domain);
	printf("  %.2f%% success (%lld ok, %lld failed) from %lld report%s\n",
	    tg_rptsum_rate(d->success, d->failure), (long long)d->success,
	    (long long)d->failure, (long long)d->reports,
	    d->reports == 1 ? "" : "s");
	for (i = 0; i < s->result.n; i++) {
		if (!tg_rptsum_same_day(&s->result.v[i], d))
			continue;
		if (head++ == 0)
			printf("    failures by result type:\n");
		printf("      %10lld  ", (long long)s->result.v[i].failure);
		out_text(s->result.v[i].key);
		putchar('\n');
	}
	head = 0;
	for (i = 0; i < s->org.n; i++) {
		if (!tg_rptsum_same_day(&s->org.v[i], d))
			continue;
		if (head++ == 0)
			printf("    by reporting organization (failed, ok):\n");
		printf("      %10lld %10lld  ", (long long)s->org.v[i].failure,
		    (long long)s->org.v[i].success);
		out_text(s->org.v[i].key);
		putchar('\n');
	}
}

static void
summary_text(const struct tg_rptsum *s)
{
	size_t i, shown = 0;

	if (s->day.n == 0)
		printf("no reports\n");
	for (i = 0; i < s->day.n; i++)
		summary_day_text(s, &s->day.v[i]);
	for (i = 0; i < s->partner.n && shown < TG_RPTSUM_PARTNERS; i++) {
		if (s->partner.v[i].failure == 0)
			continue;
		if (shown++ == 0)
			printf("partners with the most failures "
			    "(failed, ok):\n");
		printf("      %10lld %10lld  ",
		    (long long)s->partner.v[i].failure,
		    (long long)s->partner.v[i].success);
		out_text(s->partner.v[i].key);
		printf(" (");
		out_text(s->partner.v[i].domain);
		printf(")\n");
	}
}

static int
report_summary(struct cli *cli, int argc, char **argv)
{
	struct tg_rptsum s;
	struct tg_reports *db;
	struct tg_err err;
	struct ropts o;
	int rc;

	if ((rc = report_args(argc, argv, &o, 0)) != 0)
		return rc < 0 ? CLI_OK : rc;
	if ((db = report_db(cli, 1)) == NULL)
		return CLI_USAGE;
	rc = tg_rptsum_load(db, o.domain, o.since, &s, &err);
	tg_reports_close(db);
	if (rc != 0)
		rc = cli_fail(CLI_USAGE, "%s", err.msg);
	else if (o.json)
		rc = cli_print_json(tg_rptsum_json(&s));
	else
		summary_text(&s);
	tg_rptsum_clear(&s);
	return rc;
}

/* ---- import ------------------------------------------------------ */

static int
import_read(const char *path, struct tg_buf *b)
{
	char chunk[65536];
	size_t n;
	FILE *f;

	tg_buf_init(b, IMPORT_FILE_MAX);
	if ((f = fopen(path, "rb")) == NULL)
		return cli_fail(CLI_USAGE, "%s: cannot open", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (tg_buf_append(b, chunk, n) != 0) {
			fclose(f);
			return cli_fail(CLI_USAGE, "%s: larger than %d bytes",
			    path, IMPORT_FILE_MAX);
		}
	fclose(f);
	return 0;
}

static int
import_one(const struct tg_collect_params *p, struct tg_rptmail *m,
    const char *path)
{
	struct tg_collect_origin o = { TG_REPORTS_SRC_IMPORT, path, NULL, 0 };
	struct tg_collect_result res;
	struct tg_buf b;
	int rc;

	if (import_read(path, &b) != 0) {
		tg_buf_free(&b);
		return CLI_USAGE;
	}
	rc = tg_collect_file(p, m, path, b.data, b.len, &o, &res);
	tg_buf_free(&b);
	if (rc != 0) {
		/* The reason may quote the report: keep the terminal safe. */
		for (rc = 0; res.reason[rc] != '\0'; rc++)
			if ((unsigned char)res.reason[rc] < 0x20 ||
			    res.reason[rc] == 0x7f)
				res.reason[rc] = '?';
		return cli_fail(CLI_USAGE, "%s: not imported (%s): %s", path,
		    tg_collect_status_name(res.status), res.reason);
	}
	printf("%s: %s report %lld (", path, res.status == TG_COLLECT_STORED ?
	    "stored as" : "already stored as", (long long)res.id);
	out_text(res.org);
	printf(", %zu polic%s", res.kept, res.kept == 1 ? "y" : "ies");
	if (res.discarded > 0)
		printf(", %zu for other domains discarded", res.discarded);
	printf(")\n");
	return CLI_OK;
}

static int
report_import(struct cli *cli, int argc, char **argv)
{
	const struct tg_conf *conf;
	struct tg_resolver_config rc;
	struct tg_rptmail_opts mo;
	struct tg_collect_domains *doms;
	struct tg_collect_params p;
	struct tg_rptmail *m;
	struct tg_store *st;
	struct tg_err err;
	struct ropts o;
	int i, ret = CLI_OK, r;

	if ((r = report_args(argc, argv, &o, -1)) != 0)
		return r < 0 ? CLI_OK : r;
	if ((conf = cli_conf(cli)) == NULL || (st = cli_store_open(cli, 1)) ==
	    NULL)
		return CLI_USAGE;
	memset(&p, 0, sizeof(p));
	doms = tg_collect_domains_load(st, &err);
	tg_store_close(st);
	if (doms == NULL)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	p.domains = doms;
	/* RFC 8460 §3: mailed reports are checked with the DKIM keys
	 * published in DNS, as the resolver settings say. */
	tg_resolver_config_from_conf(conf, &rc);
	memset(&mo, 0, sizeof(mo));
	mo.keys = TG_RPTMAIL_KEYS_CALLBACK;
	mo.key_lookup = tg_collect_dns_key;
	mo.key_arg = &rc;
	if ((m = tg_rptmail_new(&mo, &err)) == NULL ||
	    (p.db = report_db(cli, 0)) == NULL) {
		tg_rptmail_free(m);
		tg_collect_domains_free(doms);
		return m == NULL ? cli_fail(CLI_USAGE, "%s", err.msg) :
		    CLI_USAGE;
	}
	p.body_max = TG_RPT_JSON_MAX;
	p.db_max = conf->rpt_max_db_size;
	for (i = 0; i < o.nargs; i++)
		if (import_one(&p, m, o.args[i]) != CLI_OK)
			ret = CLI_USAGE;
	tg_reports_close(p.db);
	tg_rptmail_free(m);
	tg_collect_domains_free(doms);
	return ret;
}

/* ---- send -------------------------------------------------------- */

struct send_run {
	struct event_base *base;
	json_t *events;			/* --json */
	int dry;
	int problems;
};

static const char *const send_kind_names[] = {
	"built", "not-requested", "lookup-failed", "delivered", "retry",
	"failed"
};

static void
send_event_text(const struct tg_send_event *e, int dry)
{
	printf("%-13s %s ", send_kind_names[e->kind], e->day);
	out_text(e->domain);
	if (e->kind == TG_SEND_EV_BUILT) {
		printf(" %lld ok, %lld failed; %s to ", (long long)e->success,
		    (long long)e->failure, dry ? "would go" : "goes");
		out_text(e->rua);
		printf(" as %s\n", e->filename);
		if (dry) {
			out_text(e->json);
			putchar('\n');
		}
		return;
	}
	if (e->uri[0] != '\0') {
		putchar(' ');
		out_text(e->uri);
	}
	if (e->text[0] != '\0') {
		printf(": ");
		out_text(e->text);
	}
	putchar('\n');
}

static void
send_on_event(const struct tg_send_event *e, void *arg)
{
	struct send_run *sr = arg;
	json_t *j;

	if (e->kind == TG_SEND_EV_LOOKUP_FAILED ||
	    e->kind == TG_SEND_EV_RETRY || e->kind == TG_SEND_EV_FAILED)
		sr->problems = 1;
	if (sr->events == NULL) {
		send_event_text(e, sr->dry);
		return;
	}
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?}", "event",
	    send_kind_names[e->kind], "day", e->day, "domain", e->domain,
	    "uri", e->uri, "text", e->text != NULL ? e->text : "", "file",
	    e->filename);
	if (e->kind == TG_SEND_EV_BUILT) {
		json_object_set_new(j, "rua", json_string(e->rua));
		json_object_set_new(j, "success", json_integer(e->success));
		json_object_set_new(j, "failure", json_integer(e->failure));
		if (sr->dry)
			json_object_set_new(j, "report", json_loads(e->json, 0,
			    NULL));
	}
	json_array_append_new(sr->events, j);
}

static void
send_on_done(struct tg_send *s, void *arg)
{
	struct send_run *sr = arg;

	(void)s;
	event_base_loopbreak(sr->base);
}

/* The sender with its resolver and fetcher on sr's loop. */
struct send_tools {
	struct tg_send_settings set;
	struct tg_resolver *res;
	struct tg_fetch *fetch;
	struct tg_reports *db;
	struct tg_send *send;
};

static int
send_tools_open(struct cli *cli, struct send_run *sr, struct send_tools *t,
    struct tg_err *err)
{
	const struct tg_conf *conf = cli_conf(cli);
	struct tg_resolver_config rc;

	memset(t, 0, sizeof(*t));
	if (conf == NULL)
		return -1;
	if (tg_send_settings_load(conf, !sr->dry, &t->set, err) != 0)
		return -1;
	tg_resolver_config_from_conf(conf, &rc);
	if ((t->res = tg_resolver_unbound_new(sr->base, &rc, err)) == NULL ||
	    (t->fetch = tg_fetch_new(sr->base, err)) == NULL)
		return -1;
	if (tg_reports_open(conf->state_dir, 0, &t->db, err) != 0)
		return -1;
	t->send = tg_send_new(sr->base, t->res, t->fetch, t->db, &t->set.cfg,
	    err);
	return t->send != NULL ? 0 : -1;
}

static void
send_tools_close(struct send_tools *t)
{
	tg_send_free(t->send);
	tg_fetch_free(t->fetch);
	tg_resolver_free(t->res);
	tg_reports_close(t->db);
}

static int
report_send(struct cli *cli, int argc, char **argv)
{
	struct send_run sr;
	struct send_tools t;
	struct tg_err err;
	struct ropts o;
	int rc;

	if ((rc = report_args(argc, argv, &o, 0)) != 0)
		return rc < 0 ? CLI_OK : rc;
	memset(&sr, 0, sizeof(sr));
	sr.dry = o.dry;
	if ((sr.base = event_base_new()) == NULL)
		return cli_fail(CLI_USAGE, "out of memory");
	tg_err_clear(&err);
	if (send_tools_open(cli, &sr, &t, &err) != 0 ||
	    tg_send_run(t.send, o.day, TG_SEND_NOW | (o.dry ?
	    TG_SEND_DRY_RUN : 0), send_on_event, send_on_done, &sr,
	    &err) != 0) {
		send_tools_close(&t);
		event_base_free(sr.base);
		return err.msg[0] != '\0' ? cli_fail(CLI_USAGE, "%s", err.msg) :
		    CLI_USAGE;
	}
	if (o.json)
		sr.events = json_array();
	event_base_dispatch(sr.base);
	send_tools_close(&t);
	event_base_free(sr.base);
	if (o.json)
		cli_print_json(sr.events);
	return sr.problems ? CLI_PROBLEMS : CLI_OK;
}

/* ---- sent -------------------------------------------------------- */

static int
sent_row(const struct tg_reports_tx_delivery *d, void *arg)
{
	json_t *arr = arg;
	char next[32];

	out_time(d->next_try, next, sizeof(next));
	if (arr != NULL)
		return json_array_append_new(arr, json_pack("{s:s, s:s, s:s?, "
		    "s:s, s:I, s:s?, s:s, s:s, s:I, s:I}", "day", d->day,
		    "domain", d->policy_domain, "uri", d->uri[0] != '\0' ?
		    d->uri : NULL, "state", d->uri[0] != '\0' ?
		    tg_reports_tx_state_name(d->state) : "not-requested",
		    "attempts", (json_int_t)d->attempts, "next_try",
		    d->state == TG_REPORTS_TX_PENDING ? next : NULL, "file",
		    d->filename, "text", d->uri[0] != '\0' ? d->last_error :
		    d->note, "success", (json_int_t)d->success, "failure",
		    (json_int_t)d->failure));
	printf("%s  %-24s %-13s ", d->day, d->policy_domain, d->uri[0] != '\0' ?
	    tg_reports_tx_state_name(d->state) : "not-requested");
	if (d->uri[0] != '\0') {
		out_text(d->uri);
		printf("  attempts %lld", (long long)d->attempts);
		if (d->state == TG_REPORTS_TX_PENDING)
			printf(", next %s", next);
	}
	if ((d->uri[0] != '\0' ? d->last_error : d->note)[0] != '\0') {
		printf(": ");
		out_text(d->uri[0] != '\0' ? d->last_error : d->note);
	}
	putchar('\n');
	return 0;
}

static int
report_sent(struct cli *cli, int argc, char **argv)
{
	struct tg_reports *db;
	struct tg_err err;
	struct ropts o;
	json_t *arr = NULL;
	int rc;

	if ((rc = report_args(argc, argv, &o, 0)) != 0)
		return rc < 0 ? CLI_OK : rc;
	if ((db = report_db(cli, 1)) == NULL)
		return CLI_USAGE;
	if (o.json)
		arr = json_array();
	rc = tg_reports_tx_deliveries(db, o.day, 0, 0, sent_row, arr, &err);
	if (rc == 0)
		rc = tg_reports_tx_unsent(db, o.day, sent_row, arr, &err);
	tg_reports_close(db);
	if (rc != 0) {
		json_decref(arr);
		return cli_fail(CLI_USAGE, "%s", err.msg);
	}
	return o.json ? cli_print_json(arr) : CLI_OK;
}

/* ---- dispatch ---------------------------------------------------- */

static const struct cli_command report_commands[] = {
	{ "list", report_list, "received reports" },
	{ "show", report_show, "one received report in full" },
	{ "summary", report_summary, "per domain and day: success rate, "
	    "failures by type and by reporter, partners with most failures" },
	{ "import", report_import, "store reports from .json, .json.gz or "
	    ".eml files" },
	{ "send", report_send, "make and send our reports of a day" },
	{ "sent", report_sent, "our reports and their deliveries" },
	{ NULL, NULL, NULL }
};

int
cmd_report(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		fputs(report_usage, stdout);
		return CLI_OK;
	}
	return cli_dispatch(cli, "tlsgate report", report_commands, argc,
	    argv);
}
