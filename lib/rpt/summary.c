/*
 * rpt/summary — see summary.h. Came from `tlsgate report summary`
 * (cli/cmd_report.c), which prints its text form from it.
 */
#include "rpt/summary.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/path.h"

static int
rptsum_collect(const struct tg_reports_rx_sum *s, void *arg)
{
	struct tg_rptsum_rows *rows = arg;
	struct tg_rptsum_row *r;
	void *p;

	if (rows->n == rows->cap) {
		size_t cap = rows->cap != 0 ? rows->cap * 2 : 64;

		if ((p = realloc(rows->v, cap * sizeof(*rows->v))) == NULL)
			return -1;
		rows->v = p;
		rows->cap = cap;
	}
	r = &rows->v[rows->n];
	snprintf(r->day, sizeof(r->day), "%s", s->day);
	r->domain = strdup(s->domain);
	r->key = strdup(s->key);
	r->success = s->success;
	r->failure = s->failure;
	r->reports = s->reports;
	if (r->domain == NULL || r->key == NULL) {
		free(r->domain);
		free(r->key);
		return -1;
	}
	rows->n++;
	return 0;
}

static void
rptsum_rows_free(struct tg_rptsum_rows *rows)
{
	size_t i;

	for (i = 0; i < rows->n; i++) {
		free(rows->v[i].domain);
		free(rows->v[i].key);
	}
	free(rows->v);
	memset(rows, 0, sizeof(*rows));
}

void
tg_rptsum_clear(struct tg_rptsum *s)
{
	if (s == NULL)
		return;
	rptsum_rows_free(&s->day);
	rptsum_rows_free(&s->result);
	rptsum_rows_free(&s->org);
	rptsum_rows_free(&s->partner);
}

int
tg_rptsum_load(struct tg_reports *db, const char *domain, time_t since,
    struct tg_rptsum *s, struct tg_err *err)
{
	struct {
		enum tg_reports_rx_group g;
		struct tg_rptsum_rows *rows;
	} parts[] = {
		{ TG_REPORTS_BY_DAY, &s->day },
		{ TG_REPORTS_BY_RESULT, &s->result },
		{ TG_REPORTS_BY_ORG, &s->org },
		{ TG_REPORTS_BY_PARTNER, &s->partner },
	};
	size_t i;

	memset(s, 0, sizeof(*s));
	tg_err_clear(err);
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (tg_reports_rx_summary(db, parts[i].g, domain, since,
		    rptsum_collect, parts[i].rows, err) != 0) {
			/* rptsum_collect fails only for memory. */
			if (err != NULL && err->msg[0] == '\0')
				tg_err_set(err, TG_ERR_TEMP, NULL, "out of "
				    "memory");
			return -1;
		}
	return 0;
}

int
tg_rptsum_read(const char *state_dir, const char *domain, time_t since,
    struct tg_rptsum *s, struct tg_err *err)
{
	struct tg_reports *db;
	char path[TG_PATH_MAX];
	int rc;

	memset(s, 0, sizeof(*s));
	if (tg_path_fmt(path, sizeof(path), "%s/%s", state_dir,
	    TG_REPORTS_FILE) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "the state "
		    "directory path is too long");
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;	/* no report received yet */
	if (tg_reports_open(state_dir, 1, &db, err) != 0)
		return -1;
	rc = tg_rptsum_load(db, domain, since, s, err);
	tg_reports_close(db);
	return rc;
}

int
tg_rptsum_same_day(const struct tg_rptsum_row *a,
    const struct tg_rptsum_row *b)
{
	return strcmp(a->day, b->day) == 0 && strcmp(a->domain, b->domain) == 0;
}

double
tg_rptsum_rate(int64_t success, int64_t failure)
{
	return success + failure > 0 ? 100.0 * (double)success /
	    (double)(success + failure) : 100.0;
}

static json_t *
rptsum_day_json(const struct tg_rptsum *s, const struct tg_rptsum_row *d)
{
	json_t *res = json_object(), *orgs = json_array();
	size_t i;

	for (i = 0; i < s->result.n; i++)
		if (tg_rptsum_same_day(&s->result.v[i], d))
			json_object_set_new(res, s->result.v[i].key,
			    json_integer(s->result.v[i].failure));
	for (i = 0; i < s->org.n; i++)
		if (tg_rptsum_same_day(&s->org.v[i], d))
			json_array_append_new(orgs, json_pack("{s:s, s:I, s:I}",
			    "organization", s->org.v[i].key, "success",
			    (json_int_t)s->org.v[i].success, "failure",
			    (json_int_t)s->org.v[i].failure));
	/* "o" takes res and orgs even when the pack fails. */
	return json_pack("{s:s, s:s, s:I, s:I, s:f, s:I, s:o, s:o}", "day",
	    d->day, "domain", d->domain, "success", (json_int_t)d->success,
	    "failure", (json_int_t)d->failure, "success_rate",
	    tg_rptsum_rate(d->success, d->failure), "reports",
	    (json_int_t)d->reports, "failures_by_result", res,
	    "by_organization", orgs);
}

json_t *
tg_rptsum_json(const struct tg_rptsum *s)
{
	json_t *days = json_array(), *partners = json_array();
	const struct tg_rptsum_row *p;
	size_t i;

	for (i = 0; i < s->day.n; i++)
		json_array_append_new(days, rptsum_day_json(s, &s->day.v[i]));
	for (i = 0; i < s->partner.n && i < TG_RPTSUM_PARTNERS; i++) {
		p = &s->partner.v[i];
		if (p->failure > 0)
			json_array_append_new(partners, json_pack("{s:s, s:s, "
			    "s:I, s:I}", "organization", p->key, "domain",
			    p->domain, "success", (json_int_t)p->success,
			    "failure", (json_int_t)p->failure));
	}
	return json_pack("{s:o, s:o}", "days", days, "top_failing_partners",
	    partners);
}
