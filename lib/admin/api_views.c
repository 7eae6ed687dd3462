/*
 * admin/api_views — the read-only views of the admin API (see api.h,
 * web/API.md): the queues and the summary of received TLS reports. Both
 * are what the CLI shows with --json (`tlsgate queue list`, `tlsgate
 * report summary`), from the same modules (smtp/queueview, rpt/summary),
 * so the console and the CLI cannot disagree.
 *
 * The spools belong to relayd (spool_dir) and mxd (spool_dir/inbound),
 * reports.db to rptd: all are opened read-only for the request and closed
 * after it (no lock taken, nothing cleaned up or created).
 */
#include "admin/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpt/summary.h"
#include "smtp/queueview.h"
#include "util/path.h"

/* ---- GET /api/queue ---- */

/* The queue below spool_dir (subdir "" or "/inbound") into *list and
 * *truncated; 0, or -1 after a 503. */
static int
view_queue(struct adminapi_call *c, const char *subdir, json_t **list,
    int *truncated)
{
	char path[TG_PATH_MAX];
	struct tg_err err;

	*list = NULL;
	if (tg_path_fmt(path, sizeof(path), "%s%s", c->api->conf->spool_dir,
	    subdir) != 0) {
		adminapi_error(c, 503, "spool_dir is too long");
		return -1;
	}
	if (tg_queueview_list(path, TG_ADMIN_QUEUE_MAX, list, truncated,
	    &err) != 0) {
		adminapi_error(c, 503, "the queue %s could not be read: %s",
		    path, err.msg);
		return -1;
	}
	return 0;
}

void
adminapi_queue(struct adminapi_call *c)
{
	json_t *out = NULL, *in = NULL;
	int out_trunc = 0, in_trunc = 0;

	if (view_queue(c, "", &out, &out_trunc) != 0 ||
	    view_queue(c, "/inbound", &in, &in_trunc) != 0) {
		json_decref(out);
		return;
	}
	adminapi_reply(c, 200, json_pack("{s:o, s:o, s:{s:b, s:b}}",
	    "outbound", out, "inbound", in, "truncated", "outbound",
	    out_trunc, "inbound", in_trunc));
}

/* ---- GET /api/reports ---- */

/* ?days=N: 1..TG_ADMIN_DAYS_MAX, digits only; the default when absent.
 * 0, or -1 after a 400. */
static int
view_days(struct adminapi_call *c, long *days)
{
	const struct tg_adminapi_request *req = c->req;
	const char *v = req->qarg != NULL ? req->qarg(req->qarg_ctx, "days") :
	    NULL;
	size_t n;

	*days = TG_ADMIN_DAYS_DEFAULT;
	if (v == NULL)
		return 0;
	n = strlen(v);
	if (n == 0 || n > 2 || strspn(v, "0123456789") != n ||
	    (*days = strtol(v, NULL, 10)) < 1 || *days > TG_ADMIN_DAYS_MAX) {
		adminapi_error(c, 400, "days: a number of days from 1 to %d",
		    TG_ADMIN_DAYS_MAX);
		return -1;
	}
	return 0;
}

void
adminapi_reports(struct adminapi_call *c)
{
	struct tg_rptsum s;
	struct tg_err err;
	char day[11];
	json_t *o;
	time_t since;
	long days;

	if (view_days(c, &days) != 0)
		return;
	/* The UTC day days before today, and every day after it: a report
	 * covers a past day and arrives the day after. */
	since = c->req->now - (time_t)days * 86400;
	since -= since % 86400;
	if (tg_rptsum_read(c->api->conf->state_dir, NULL, since, &s,
	    &err) != 0) {
		tg_rptsum_clear(&s);
		adminapi_error(c, 503, "the reports could not be read: %s",
		    err.msg);
		return;
	}
	o = tg_rptsum_json(&s);
	tg_rptsum_clear(&s);
	tg_reports_day(since, day);
	if (o != NULL && (json_object_set_new(o, "period_days",
	    json_integer(days)) != 0 || json_object_set_new(o, "since",
	    json_string(day)) != 0)) {
		json_decref(o);
		o = NULL;
	}
	if (o == NULL) {
		adminapi_error(c, 500, "out of memory");
		return;
	}
	adminapi_reply(c, 200, o);
}
