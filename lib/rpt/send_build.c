/*
 * rpt/send — making one report from the session results of a day
 * (RFC 8460 §4), and the retry schedule. See send.h.
 */
#include "rpt/send.h"

#include <stdlib.h>
#include <string.h>

#include "rpt/send_int.h"
#include "util/limits.h"

time_t
send_day_start(const char *day)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof(tm));
	if (day == NULL || strlen(day) != 10 ||
	    (end = strptime(day, "%Y-%m-%d", &tm)) == NULL || *end != '\0')
		return (time_t)-1;
	return timegm(&tm);
}

time_t
tg_send_next_try(int64_t attempts, time_t now)
{
	time_t wait = TG_RPT_SEND_BACKOFF_S;
	int64_t i;

	/* RFC 8460 §5.4: exponential backoff. */
	for (i = 1; i < attempts && wait < TG_RPT_SEND_BACKOFF_MAX_S; i++)
		wait *= 2;
	if (wait > TG_RPT_SEND_BACKOFF_MAX_S)
		wait = TG_RPT_SEND_BACKOFF_MAX_S;
	return now + wait;
}

/* Walking the aggregate rows of one domain and day. */
struct build {
	struct tg_report *r;
	struct tg_report_policy *cur;	/* borrowed from r */
	enum tg_reports_policy_type type;
	char strings[TG_REPORTS_POLICY_MAX];
	char mx[TG_REPORTS_TEXT_MAX];
	int rows;
	struct tg_err *err;
};

static enum tg_report_policy_type
build_type(enum tg_reports_policy_type t)
{
	if (t == TG_REPORTS_TLSA)
		return TG_REPORT_POLICY_TLSA;
	if (t == TG_REPORTS_STS)
		return TG_REPORT_POLICY_STS;
	return TG_REPORT_POLICY_NONE;
}

/* Call add for each '\n'-separated, non-empty piece of text. */
static int
build_each_line(struct tg_report_policy *p, const char *text,
    int (*add)(struct tg_report_policy *, const char *, struct tg_err *),
    struct tg_err *err)
{
	char line[TG_REPORTS_POLICY_MAX];
	size_t n;

	while (*text != '\0') {
		n = strcspn(text, "\n");
		if (n > 0) {
			memcpy(line, text, n);
			line[n] = '\0';
			if (add(p, line, err) != 0)
				return -1;
		}
		text += n;
		if (*text == '\n')
			text++;
	}
	return 0;
}

/* A new policy entry for row's (type, strings, mx hosts). */
static int
build_policy(struct build *b, const struct tg_reports_row *row)
{
	b->cur = tg_report_add_policy(b->r, build_type(row->policy_type),
	    row->policy_domain, b->err);
	if (b->cur == NULL)
		return -1;
	b->type = row->policy_type;
	memcpy(b->strings, row->policy_strings, sizeof(b->strings));
	memcpy(b->mx, row->mx_hosts, sizeof(b->mx));
	/* RFC 8460 §4.4: no-policy-found has no policy-string. */
	if (row->policy_type != TG_REPORTS_NO_POLICY &&
	    build_each_line(b->cur, row->policy_strings,
	    tg_report_policy_add_string, b->err) != 0)
		return -1;
	return build_each_line(b->cur, row->mx_hosts, tg_report_policy_add_mx,
	    b->err);
}

static const char *
opt(const char *s)
{
	return s[0] != '\0' ? s : NULL;
}

static int
build_failure(struct build *b, const struct tg_reports_row *row)
{
	struct tg_report_failure f;

	b->cur->failure_count += (uint64_t)row->count;
	/* The totals stay exact; details beyond the cap are not listed. */
	if (b->cur->n_failures >= TG_RPT_DETAILS_MAX)
		return 0;
	memset(&f, 0, sizeof(f));
	f.result = tg_report_result_from_name(row->result_type);
	f.sending_mta_ip = (char *)opt(row->sending_ip);
	f.receiving_mx_hostname = (char *)opt(row->receiving_mx_hostname);
	f.receiving_mx_helo = (char *)opt(row->receiving_mx_helo);
	f.receiving_ip = (char *)opt(row->receiving_ip);
	f.additional_information = (char *)opt(row->additional_information);
	f.failure_reason_code = (char *)opt(row->failure_reason_code);
	f.failed_session_count = (uint64_t)row->count;
	return tg_report_policy_add_failure(b->cur, &f, b->err);
}

static int
build_row(const struct tg_reports_row *row, void *arg)
{
	struct build *b = arg;

	b->rows++;
	if (b->cur == NULL || row->policy_type != b->type ||
	    strcmp(row->policy_strings, b->strings) != 0 ||
	    strcmp(row->mx_hosts, b->mx) != 0) {
		if (build_policy(b, row) != 0)
			return 1;
	}
	if (row->result_type[0] == '\0') {
		b->cur->success_count += (uint64_t)row->count;
		return 0;
	}
	return build_failure(b, row) != 0 ? 1 : 0;
}

int
tg_send_build(struct tg_reports *db, const struct tg_send_config *cfg,
    const char *day, const char *domain, const char *report_id,
    struct tg_report **out, struct tg_err *err)
{
	struct build *b;
	time_t start = send_day_start(day), s, e;
	int rc;

	*out = NULL;
	tg_err_clear(err);
	if (start == (time_t)-1)
		return tg_err_set(err, TG_ERR_PERM, NULL, "'%s' is not a day "
		    "(YYYY-MM-DD)", day != NULL ? day : "");
	tg_report_utc_day(start, &s, &e);	/* RFC 8460 §4.1 */
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	b->err = err;
	if ((b->r = tg_report_new(cfg->org_name, report_id, cfg->contact, s,
	    e)) == NULL) {
		free(b);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	rc = tg_reports_sessions(db, day, domain, build_row, b, err);
	if (rc == 0 && b->rows == 0)
		rc = TG_REPORTS_NOTFOUND;
	else if (rc != 0)
		rc = -1;
	if (rc == 0)
		*out = b->r;
	else
		tg_report_free(b->r);
	free(b);
	return rc;
}
