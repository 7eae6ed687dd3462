/*
 * rpt/report — see report.h. This file: result types, times, parsing.
 * Building and generating our own reports: report_gen.c.
 */
#include "rpt/report.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpt/report_int.h"
#include "util/dname.h"
#include "util/limits.h"

static const char *const result_names[] = {
	[TG_RR_STARTTLS_NOT_SUPPORTED] = "starttls-not-supported",
	[TG_RR_CERTIFICATE_HOST_MISMATCH] = "certificate-host-mismatch",
	[TG_RR_CERTIFICATE_EXPIRED] = "certificate-expired",
	[TG_RR_CERTIFICATE_NOT_TRUSTED] = "certificate-not-trusted",
	[TG_RR_VALIDATION_FAILURE] = "validation-failure",
	[TG_RR_TLSA_INVALID] = "tlsa-invalid",
	[TG_RR_DNSSEC_INVALID] = "dnssec-invalid",
	[TG_RR_DANE_REQUIRED] = "dane-required",
	[TG_RR_STS_POLICY_FETCH_ERROR] = "sts-policy-fetch-error",
	[TG_RR_STS_POLICY_INVALID] = "sts-policy-invalid",
	[TG_RR_STS_WEBPKI_INVALID] = "sts-webpki-invalid",
};
#define N_RESULTS (sizeof(result_names) / sizeof(result_names[0]))

const char *
tg_report_result_name(enum tg_report_result r)
{
	if ((size_t)r >= N_RESULTS)
		return NULL;
	return result_names[r];
}

enum tg_report_result
tg_report_result_from_name(const char *s)
{
	size_t i;

	for (i = 1; s != NULL && i < N_RESULTS; i++)
		if (strcmp(s, result_names[i]) == 0)
			return (enum tg_report_result)i;
	return TG_RR_UNKNOWN;
}

const char *
tg_report_policy_type_name(enum tg_report_policy_type t)
{
	switch (t) {
	case TG_REPORT_POLICY_TLSA:
		return "tlsa";
	case TG_REPORT_POLICY_STS:
		return "sts";
	case TG_REPORT_POLICY_NONE:
		return "no-policy-found";
	}
	return NULL;
}

/* Exactly n decimal digits at *p. */
static int
rt_digits(const char **p, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

/* [("Z"/"z"/±hh:mm)] then the end of the string; offset in seconds. */
static int
rt_zone(const char *p, long *off, int *local)
{
	int hh, mm, sign;

	*off = 0;
	*local = 0;
	if (*p == '\0') {
		*local = 1;
		return 0;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		return 0;
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (rt_digits(&p, 2, &hh) != 0 || *p++ != ':' ||
	    rt_digits(&p, 2, &mm) != 0 || *p != '\0' || hh > 23 || mm > 59)
		return -1;
	*off = sign * (hh * 3600L + mm * 60L);
	return 0;
}

int
tg_report_parse_time(const char *s, time_t *out, int *local)
{
	struct tm tm, chk;
	const char *p = s;
	int y, mo, d, h, mi, sec, lcl;
	long off;
	time_t t;

	if (rt_digits(&p, 4, &y) != 0 || *p++ != '-' ||
	    rt_digits(&p, 2, &mo) != 0 || *p++ != '-' ||
	    rt_digits(&p, 2, &d) != 0 ||
	    (*p != 'T' && *p != 't' && *p != ' ') || (p++, 0) ||
	    rt_digits(&p, 2, &h) != 0 || *p++ != ':' ||
	    rt_digits(&p, 2, &mi) != 0 || *p++ != ':' ||
	    rt_digits(&p, 2, &sec) != 0)
		return -1;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -1;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if (rt_zone(p, &off, &lcl) != 0 || mo < 1 || mo > 12 || d < 1 ||
	    d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	t = timegm(&tm);
	/* Refuse 2024-02-30: timegm would roll it over. */
	if (t == (time_t)-1 || gmtime_r(&t, &chk) == NULL ||
	    chk.tm_mday != d || chk.tm_mon != mo - 1)
		return -1;
	*out = t + sec - off;
	if (local != NULL)
		*local = lcl;
	return 0;
}

/* --- Freeing ------------------------------------------------------- */

void
tg_report_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

void
tg_report_failure_clear(struct tg_report_failure *f)
{
	free(f->result_type);
	free(f->sending_mta_ip);
	free(f->receiving_mx_hostname);
	free(f->receiving_mx_helo);
	free(f->receiving_ip);
	free(f->additional_information);
	free(f->failure_reason_code);
	memset(f, 0, sizeof(*f));
}

static void
rp_policy_clear(struct tg_report_policy *p)
{
	size_t i;

	free(p->domain);
	tg_report_strv_free(p->strings, p->n_strings);
	tg_report_strv_free(p->mx_hosts, p->n_mx_hosts);
	for (i = 0; p->failures != NULL && i < p->n_failures; i++)
		tg_report_failure_clear(&p->failures[i]);
	free(p->failures);
	memset(p, 0, sizeof(*p));
}

void
tg_report_free(struct tg_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->org_name);
	free(r->report_id);
	free(r->contact_info);
	for (i = 0; r->policies != NULL && i < r->n_policies; i++)
		rp_policy_clear(&r->policies[i]);
	free(r->policies);
	free(r);
}

/* --- Parsing: context, JSON paths, typed getters ------------------- */

#define RP_PATH_MAX	160
#define RP_TIME_MAX	64
#define RP_TYPE_MAX	32

struct rp {
	struct tg_err *err;
	char path[RP_PATH_MAX];		/* "policies[1].summary" */
	size_t plen;
	unsigned flags;			/* TG_REPORT_F_* found so far */
};

static int rp_fail(struct rp *c, enum tg_err_class cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Error "<path>: <message>"; always -1. */
static int
rp_fail(struct rp *c, enum tg_err_class cls, const char *fmt, ...)
{
	char msg[TG_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->plen == 0)
		return tg_err_set(c->err, cls, NULL, "%s", msg);
	return tg_err_set(c->err, cls, NULL, "%s: %s", c->path, msg);
}

static int
rp_oom(struct rp *c)
{
	return rp_fail(c, TG_ERR_TEMP, "out of memory");
}

/* Append ".key" (or "[i]" when key is NULL) to the path; returns the
 * old length for rp_pop. A path too long for the buffer is cut. */
static size_t
rp_push(struct rp *c, const char *key, size_t i)
{
	size_t old = c->plen;

	if (key != NULL)
		snprintf(c->path + old, sizeof(c->path) - old, "%s%s",
		    old > 0 ? "." : "", key);
	else
		snprintf(c->path + old, sizeof(c->path) - old, "[%zu]", i);
	c->plen = strlen(c->path);
	return old;
}

static void
rp_pop(struct rp *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

/* A copy of the string value v, at most max bytes (and non-empty when
 * nonempty is set). */
static int
rp_strval(struct rp *c, json_t *v, size_t max, int nonempty, char **out)
{
	size_t n;

	if (!json_is_string(v))
		return rp_fail(c, TG_ERR_PERM, "not a string");
	n = json_string_length(v);
	if (n > max)
		return rp_fail(c, TG_ERR_PERM, "longer than %zu bytes", max);
	if (n == 0 && nonempty)
		return rp_fail(c, TG_ERR_PERM, "empty string");
	*out = strndup(json_string_value(v), n);
	return *out == NULL ? rp_oom(c) : 0;
}

/* Member key of obj as a string. Missing or null: an error if required,
 * else *out stays NULL. */
static int
rp_str(struct rp *c, json_t *obj, const char *key, int required, size_t max,
    char **out)
{
	json_t *v = json_object_get(obj, key);
	size_t old = rp_push(c, key, 0);
	int rc = 0;

	*out = NULL;
	if (v == NULL && required)
		rc = rp_fail(c, TG_ERR_PERM, "missing");
	else if (v != NULL && json_is_null(v) && required)
		rc = rp_fail(c, TG_ERR_PERM, "null, expected a string");
	else if (v != NULL && !json_is_null(v))
		rc = rp_strval(c, v, max, required, out);
	rp_pop(c, old);
	return rc;
}

/* RFC 8460 §4.4 counts: JSON integers; RFC 7493 §2.2: at most 2^53. */
static int
rp_count(struct rp *c, json_t *obj, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);
	size_t old = rp_push(c, key, 0);
	json_int_t n;
	int rc = 0;

	if (v == NULL)
		rc = rp_fail(c, TG_ERR_PERM, "missing");
	else if (!json_is_integer(v))
		rc = rp_fail(c, TG_ERR_PERM, "not an integer");
	else if ((n = json_integer_value(v)) < 0)
		rc = rp_fail(c, TG_ERR_PERM, "negative (%lld)", (long long)n);
	else if ((uint64_t)n > TG_REPORT_COUNT_MAX)
		rc = rp_fail(c, TG_ERR_PERM, "above 2^53");
	else
		*out = (uint64_t)n;
	rp_pop(c, old);
	return rc;
}

/* Member key of obj, which must be an object. */
static int
rp_obj(struct rp *c, json_t *obj, const char *key, json_t **out)
{
	json_t *v = json_object_get(obj, key);
	size_t old = rp_push(c, key, 0);
	int rc = 0;

	if (v == NULL)
		rc = rp_fail(c, TG_ERR_PERM, "missing");
	else if (!json_is_object(v))
		rc = rp_fail(c, TG_ERR_PERM, "not an object");
	*out = v;
	rp_pop(c, old);
	return rc;
}

/* An array of strings (or, when scalar_ok, a single string) into a new
 * vector. *n counts the entries filled so far, for freeing. */
static int
rp_strlist(struct rp *c, json_t *v, int scalar_ok, size_t max, char ***out,
    size_t *n)
{
	size_t i, cnt, old;

	if (scalar_ok && json_is_string(v)) {
		if ((*out = calloc(1, sizeof(char *))) == NULL)
			return rp_oom(c);
		if (rp_strval(c, v, max, 1, &(*out)[0]) != 0)
			return -1;
		*n = 1;
		return 0;
	}
	if (!json_is_array(v))
		return rp_fail(c, TG_ERR_PERM, "not an array of strings");
	if ((cnt = json_array_size(v)) > TG_RPT_STRINGS_MAX)
		return rp_fail(c, TG_ERR_PERM, "more than %d entries",
		    TG_RPT_STRINGS_MAX);
	if ((*out = calloc(cnt + 1, sizeof(char *))) == NULL)
		return rp_oom(c);
	for (i = 0; i < cnt; i++) {
		old = rp_push(c, NULL, i);
		if (rp_strval(c, json_array_get(v, i), max, 1,
		    &(*out)[i]) != 0)
			return -1;
		rp_pop(c, old);
		*n = i + 1;
	}
	return 0;
}

/* --- Parsing: the report's parts ----------------------------------- */

static int
rp_failure(struct rp *c, json_t *o, struct tg_report_failure *f)
{
	if (!json_is_object(o))
		return rp_fail(c, TG_ERR_PERM, "not an object");
	if (rp_str(c, o, "result-type", 1, RP_TYPE_MAX * 2,
	    &f->result_type) != 0)
		return -1;
	f->result = tg_report_result_from_name(f->result_type);
	if (f->result == TG_RR_UNKNOWN)
		c->flags |= TG_REPORT_F_UNKNOWN_RESULT;
	if (rp_str(c, o, "sending-mta-ip", 0, TG_RPT_FIELD_MAX,
	    &f->sending_mta_ip) != 0 ||
	    rp_str(c, o, "receiving-mx-hostname", 0, TG_RPT_FIELD_MAX,
	    &f->receiving_mx_hostname) != 0 ||
	    rp_str(c, o, "receiving-mx-helo", 0, TG_RPT_FIELD_MAX,
	    &f->receiving_mx_helo) != 0 ||
	    rp_str(c, o, "receiving-ip", 0, TG_RPT_FIELD_MAX,
	    &f->receiving_ip) != 0 ||
	    rp_str(c, o, "failure-reason-code", 0, TG_RPT_FIELD_MAX,
	    &f->failure_reason_code) != 0 ||
	    rp_str(c, o, "additional-information", 0, TG_RPT_FIELD_MAX,
	    &f->additional_information) != 0)
		return -1;
	/* Some senders spell it "additional-info". */
	if (f->additional_information == NULL &&
	    rp_str(c, o, "additional-info", 0, TG_RPT_FIELD_MAX,
	    &f->additional_information) != 0)
		return -1;
	return rp_count(c, o, "failed-session-count",
	    &f->failed_session_count);
}

static int
rp_failures(struct rp *c, json_t *v, struct tg_report_policy *p)
{
	size_t i, cnt, old;

	if (!json_is_array(v))
		return rp_fail(c, TG_ERR_PERM, "not an array");
	if ((cnt = json_array_size(v)) > TG_RPT_DETAILS_MAX)
		return rp_fail(c, TG_ERR_PERM, "more than %d entries",
		    TG_RPT_DETAILS_MAX);
	if ((p->failures = calloc(cnt + 1, sizeof(*p->failures))) == NULL)
		return rp_oom(c);
	p->n_failures = cnt;
	for (i = 0; i < cnt; i++) {
		old = rp_push(c, NULL, i);
		if (rp_failure(c, json_array_get(v, i), &p->failures[i]) != 0)
			return -1;
		rp_pop(c, old);
	}
	return 0;
}

static int
rp_policy_type(struct rp *c, json_t *pol, struct tg_report_policy *p)
{
	char *s;
	size_t old;
	int rc = 0;

	if (rp_str(c, pol, "policy-type", 1, RP_TYPE_MAX, &s) != 0)
		return -1;
	if (strcmp(s, "tlsa") == 0)
		p->type = TG_REPORT_POLICY_TLSA;
	else if (strcmp(s, "sts") == 0)
		p->type = TG_REPORT_POLICY_STS;
	else if (strcmp(s, "no-policy-found") == 0)
		p->type = TG_REPORT_POLICY_NONE;
	else {
		old = rp_push(c, "policy-type", 0);
		rc = rp_fail(c, TG_ERR_PERM, "unknown policy type '%s'", s);
		rp_pop(c, old);
	}
	free(s);
	return rc;
}

static int
rp_policy_domain(struct rp *c, json_t *pol, struct tg_report_policy *p)
{
	char norm[TG_DNAME_MAX + 1], *s;
	struct tg_err derr;
	size_t old;
	int rc = 0;

	if (rp_str(c, pol, "policy-domain", 1, TG_DNAME_MAX + 1, &s) != 0)
		return -1;
	if (tg_dname_normalize(s, norm, sizeof(norm), &derr) != 0) {
		old = rp_push(c, "policy-domain", 0);
		rc = rp_fail(c, TG_ERR_PERM, "%s", derr.msg);
		rp_pop(c, old);
	} else if ((p->domain = strdup(norm)) == NULL)
		rc = rp_oom(c);
	free(s);
	return rc;
}

/* An optional list member: absent or null leaves it empty. */
static int
rp_opt_list(struct rp *c, json_t *obj, const char *key, int scalar_ok,
    size_t max, char ***out, size_t *n)
{
	json_t *v = json_object_get(obj, key);
	size_t old;
	int rc;

	if (v == NULL || json_is_null(v))
		return 0;
	old = rp_push(c, key, 0);
	rc = rp_strlist(c, v, scalar_ok, max, out, n);
	rp_pop(c, old);
	return rc;
}

/* The "policy" object of RFC 8460 §4.4. */
static int
rp_policy_body(struct rp *c, json_t *pol, struct tg_report_policy *p)
{
	json_t *mx;

	if (rp_policy_type(c, pol, p) != 0 ||
	    rp_opt_list(c, pol, "policy-string", 0, TG_REPORT_PSTRING_MAX,
	    &p->strings, &p->n_strings) != 0 ||
	    rp_policy_domain(c, pol, p) != 0)
		return -1;
	mx = json_object_get(pol, "mx-host");
	if (mx != NULL && json_is_string(mx))
		c->flags |= TG_REPORT_F_MX_HOST_STRING;
	return rp_opt_list(c, pol, "mx-host", 1, TG_RPT_FIELD_MAX,
	    &p->mx_hosts, &p->n_mx_hosts);
}

static int
rp_policy(struct rp *c, json_t *o, struct tg_report_policy *p)
{
	json_t *pol, *sum, *fd;
	size_t old;
	int rc;

	if (!json_is_object(o))
		return rp_fail(c, TG_ERR_PERM, "not an object");
	if (rp_obj(c, o, "policy", &pol) != 0)
		return -1;
	old = rp_push(c, "policy", 0);
	rc = rp_policy_body(c, pol, p);
	rp_pop(c, old);
	if (rc != 0 || rp_obj(c, o, "summary", &sum) != 0)
		return -1;
	old = rp_push(c, "summary", 0);
	rc = rp_count(c, sum, "total-successful-session-count",
	    &p->success_count);
	if (rc == 0)
		rc = rp_count(c, sum, "total-failure-session-count",
		    &p->failure_count);
	rp_pop(c, old);
	fd = json_object_get(o, "failure-details");
	if (rc != 0 || fd == NULL || json_is_null(fd))
		return rc;
	old = rp_push(c, "failure-details", 0);
	rc = rp_failures(c, fd, p);
	rp_pop(c, old);
	return rc;
}

static int
rp_policies(struct rp *c, json_t *root, struct tg_report *r)
{
	json_t *v = json_object_get(root, "policies");
	size_t i, cnt, old;

	old = rp_push(c, "policies", 0);
	if (v == NULL)
		return rp_fail(c, TG_ERR_PERM, "missing");
	if (!json_is_array(v))	/* RFC 8460 §4: always an array */
		return rp_fail(c, TG_ERR_PERM, "not an array");
	if ((cnt = json_array_size(v)) > TG_RPT_POLICIES_MAX)
		return rp_fail(c, TG_ERR_PERM, "more than %d entries",
		    TG_RPT_POLICIES_MAX);
	if ((r->policies = calloc(cnt + 1, sizeof(*r->policies))) == NULL)
		return rp_oom(c);
	r->n_policies = cnt;
	for (i = 0; i < cnt; i++) {
		size_t o2 = rp_push(c, NULL, i);
		if (rp_policy(c, json_array_get(v, i), &r->policies[i]) != 0)
			return -1;
		rp_pop(c, o2);
	}
	rp_pop(c, old);
	return 0;
}

static int
rp_time(struct rp *c, json_t *dr, const char *key, time_t *out)
{
	char *s;
	size_t old;
	int local = 0, rc = 0;

	if (rp_str(c, dr, key, 1, RP_TIME_MAX, &s) != 0)
		return -1;
	if (tg_report_parse_time(s, out, &local) != 0) {
		old = rp_push(c, key, 0);
		rc = rp_fail(c, TG_ERR_PERM, "'%s' is not an RFC 3339 "
		    "date-time", s);
		rp_pop(c, old);
	}
	if (local)
		c->flags |= TG_REPORT_F_LOCAL_TIME;
	free(s);
	return rc;
}

/* date-range; an end at midnight of the next day is fine (§4.1 says
 * 0000-2400 UTC), an end before the start is not. */
static int
rp_dates(struct rp *c, json_t *root, struct tg_report *r)
{
	json_t *dr;
	size_t old;
	int rc;

	if (rp_obj(c, root, "date-range", &dr) != 0)
		return -1;
	old = rp_push(c, "date-range", 0);
	rc = rp_time(c, dr, "start-datetime", &r->start);
	if (rc == 0)
		rc = rp_time(c, dr, "end-datetime", &r->end);
	if (rc == 0 && r->end < r->start)
		rc = rp_fail(c, TG_ERR_PERM, "end-datetime is before "
		    "start-datetime");
	rp_pop(c, old);
	return rc;
}

static int
rp_report(struct rp *c, json_t *root, struct tg_report *r)
{
	if (rp_str(c, root, "organization-name", 1, TG_RPT_FIELD_MAX,
	    &r->org_name) != 0 || rp_dates(c, root, r) != 0 ||
	    rp_str(c, root, "contact-info", 0, TG_RPT_FIELD_MAX,
	    &r->contact_info) != 0 ||
	    rp_str(c, root, "report-id", 1, TG_RPT_FIELD_MAX,
	    &r->report_id) != 0)
		return -1;
	if (r->contact_info == NULL)
		c->flags |= TG_REPORT_F_NO_CONTACT;
	return rp_policies(c, root, r);
}

/*
 * Nesting depth of JSON text, strings-aware, without parsing: 0 and *at
 * set to the offset of the first bracket past max, or 1.
 */
static int
rp_depth_ok(const char *p, size_t n, unsigned max, size_t *at)
{
	unsigned depth = 0;
	int in_str = 0, esc = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		char ch = p[i];
		if (in_str) {
			if (esc)
				esc = 0;
			else if (ch == '\\')
				esc = 1;
			else if (ch == '"')
				in_str = 0;
		} else if (ch == '"') {
			in_str = 1;
		} else if (ch == '[' || ch == '{') {
			if (++depth > max) {
				*at = i;
				return 0;
			}
		} else if ((ch == ']' || ch == '}') && depth > 0) {
			depth--;
		}
	}
	return 1;
}

int
tg_report_parse(const char *json, size_t len, struct tg_report **out,
    struct tg_err *err)
{
	struct rp c = { .err = err };
	struct tg_report *r;
	json_error_t je;
	json_t *root;
	size_t at;

	*out = NULL;
	if (len > TG_RPT_JSON_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "report of %zu bytes "
		    "exceeds the limit of %d", len, TG_RPT_JSON_MAX);
	if (!rp_depth_ok(json, len, TG_RPT_JSON_DEPTH_MAX, &at))
		return tg_err_set_at(err, TG_ERR_PERM, (long)at, "JSON nested "
		    "deeper than %d at offset %zu", TG_RPT_JSON_DEPTH_MAX, at);
	/* RFC 7493 §2.3: no duplicate names; no JSON_ALLOW_NUL. */
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return tg_err_set_at(err, TG_ERR_PERM, (long)je.position,
		    "JSON: %s (line %d, column %d)", je.text, je.line,
		    je.column);
	if (!json_is_object(root)) {
		json_decref(root);
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "the report is not a JSON object");
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		json_decref(root);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	if (rp_report(&c, root, r) != 0) {
		json_decref(root);
		tg_report_free(r);
		return -1;
	}
	json_decref(root);
	r->flags = c.flags;
	*out = r;
	return 0;
}
