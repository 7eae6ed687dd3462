/*
 * rpt/report — see report.h. This file: building our own reports,
 * generating their JSON (RFC 8460 §4), the file name (RFC 8460 §5.1).
 */
#include "rpt/report.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpt/report_int.h"
#include "util/clock.h"
#include "util/dname.h"
#include "util/limits.h"

#define RG_UNIQUE_ID_MAX	64

/* --- Building ------------------------------------------------------ */

struct tg_report *
tg_report_new(const char *org_name, const char *report_id,
    const char *contact, time_t start, time_t end)
{
	struct tg_report *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->org_name = strdup(org_name != NULL ? org_name : "");
	r->report_id = strdup(report_id != NULL ? report_id : "");
	r->contact_info = contact != NULL ? strdup(contact) : NULL;
	r->start = start;
	r->end = end;
	if (r->org_name == NULL || r->report_id == NULL ||
	    (contact != NULL && r->contact_info == NULL)) {
		tg_report_free(r);
		return NULL;
	}
	return r;
}

struct tg_report_policy *
tg_report_add_policy(struct tg_report *r, enum tg_report_policy_type type,
    const char *domain, struct tg_err *err)
{
	char norm[TG_DNAME_MAX + 1];
	struct tg_report_policy *v, *p;

	if (tg_report_policy_type_name(type) == NULL) {
		tg_err_set(err, TG_ERR_BUG, NULL, "unknown policy type %d",
		    (int)type);
		return NULL;
	}
	if (r->n_policies >= TG_RPT_POLICIES_MAX) {
		tg_err_set(err, TG_ERR_PERM, NULL, "more than %d policies",
		    TG_RPT_POLICIES_MAX);
		return NULL;
	}
	if (tg_dname_normalize(domain, norm, sizeof(norm), err) != 0) {
		tg_err_prefix(err, "policy-domain");
		return NULL;
	}
	v = realloc(r->policies, (r->n_policies + 1) * sizeof(*v));
	if (v == NULL)
		goto oom;
	r->policies = v;
	p = &v[r->n_policies];
	memset(p, 0, sizeof(*p));
	if ((p->domain = strdup(norm)) == NULL)
		goto oom;
	p->type = type;
	r->n_policies++;
	return p;
oom:
	tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	return NULL;
}

/* Append a copy of s to the vector *v of *n strings. */
static int
rg_strv_add(char ***v, size_t *n, const char *s, size_t max,
    const char *what, struct tg_err *err)
{
	size_t len = strlen(s);
	char **nv;

	if (*n >= TG_RPT_STRINGS_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: more than %d "
		    "entries", what, TG_RPT_STRINGS_MAX);
	if (len == 0 || len > max || strpbrk(s, "\r\n") != NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: empty, longer "
		    "than %zu bytes, or a line break", what, max);
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (nv == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	*v = nv;
	if ((nv[*n] = strdup(s)) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	(*n)++;
	return 0;
}

int
tg_report_policy_add_string(struct tg_report_policy *p, const char *s,
    struct tg_err *err)
{
	return rg_strv_add(&p->strings, &p->n_strings, s,
	    TG_REPORT_PSTRING_MAX, "policy-string", err);
}

int
tg_report_policy_add_mx(struct tg_report_policy *p, const char *mx,
    struct tg_err *err)
{
	return rg_strv_add(&p->mx_hosts, &p->n_mx_hosts, mx, TG_DNAME_MAX + 2,
	    "mx-host", err);
}

int
tg_report_policy_add_tlsa(struct tg_report_policy *p,
    const struct tg_tlsa_rr *rr, struct tg_err *err)
{
	char text[TG_TLSA_TEXT_MAX];

	if (rr->len == 0 || tg_tlsa_print(rr, text, sizeof(text)) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "policy-string: TLSA record without data");
	return tg_report_policy_add_string(p, text, err);
}

/* RFC 8461 §3.2 policy lines, one "mx:" line per pattern (RFC 8460 §4.4). */
int
tg_report_policy_add_sts(struct tg_report_policy *p, const char *mode,
    long max_age, const char *const *mx, size_t n_mx, struct tg_err *err)
{
	char line[TG_DNAME_MAX + 16];
	size_t i;

	if (strcmp(mode, "enforce") != 0 && strcmp(mode, "testing") != 0 &&
	    strcmp(mode, "none") != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "policy-string: "
		    "mode '%s' is not enforce, testing or none", mode);
	if (max_age < 0 || max_age > TG_STS_MAX_AGE_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "policy-string: "
		    "max_age %ld out of range", max_age);
	if (tg_report_policy_add_string(p, "version: STSv1", err) != 0)
		return -1;
	snprintf(line, sizeof(line), "mode: %s", mode);
	if (tg_report_policy_add_string(p, line, err) != 0)
		return -1;
	for (i = 0; i < n_mx; i++) {
		if (strlen(mx[i]) > TG_DNAME_MAX + 2)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "policy-string: mx pattern too long");
		snprintf(line, sizeof(line), "mx: %s", mx[i]);
		if (tg_report_policy_add_string(p, line, err) != 0)
			return -1;
	}
	snprintf(line, sizeof(line), "max_age: %ld", max_age);
	return tg_report_policy_add_string(p, line, err);
}

/* *dst = copy of src (NULL stays NULL), at most TG_RPT_FIELD_MAX bytes. */
static int
rg_dup(char **dst, const char *src, struct tg_err *err)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	if (strlen(src) > TG_RPT_FIELD_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "failure-details: "
		    "a field is longer than %d bytes", TG_RPT_FIELD_MAX);
	if ((*dst = strdup(src)) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	return 0;
}

static int
rg_failure_copy(struct tg_report_failure *d, const struct tg_report_failure *f,
    struct tg_err *err)
{
	memset(d, 0, sizeof(*d));
	d->result = f->result;
	d->failed_session_count = f->failed_session_count;
	if (rg_dup(&d->result_type, tg_report_result_name(f->result),
	    err) != 0 ||
	    rg_dup(&d->sending_mta_ip, f->sending_mta_ip, err) != 0 ||
	    rg_dup(&d->receiving_mx_hostname, f->receiving_mx_hostname,
	    err) != 0 ||
	    rg_dup(&d->receiving_mx_helo, f->receiving_mx_helo, err) != 0 ||
	    rg_dup(&d->receiving_ip, f->receiving_ip, err) != 0 ||
	    rg_dup(&d->additional_information, f->additional_information,
	    err) != 0 ||
	    rg_dup(&d->failure_reason_code, f->failure_reason_code,
	    err) != 0) {
		tg_report_failure_clear(d);
		return -1;
	}
	return 0;
}

int
tg_report_policy_add_failure(struct tg_report_policy *p,
    const struct tg_report_failure *f, struct tg_err *err)
{
	struct tg_report_failure *v;

	if (tg_report_result_name(f->result) == NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL, "failure-details: "
		    "result type is not one of RFC 8460 §4.3");
	if (f->failed_session_count > TG_REPORT_COUNT_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "failure-details: "
		    "failed-session-count above 2^53");
	if (p->n_failures >= TG_RPT_DETAILS_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "failure-details: "
		    "more than %d entries", TG_RPT_DETAILS_MAX);
	v = realloc(p->failures, (p->n_failures + 1) * sizeof(*v));
	if (v == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	p->failures = v;
	if (rg_failure_copy(&v[p->n_failures], f, err) != 0)
		return -1;
	p->n_failures++;
	return 0;
}

/* --- Generating ---------------------------------------------------- */

/* o[key] = s; jansson refuses text that is not UTF-8. */
static int
rg_set_str(json_t *o, const char *key, const char *s, struct tg_err *err)
{
	if (json_object_set_new(o, key, json_string(s)) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: not valid UTF-8 "
		    "(or out of memory)", key);
	return 0;
}

/* o[key] = s unless s is NULL (optional members are left out). */
static int
rg_set_opt(json_t *o, const char *key, const char *s, struct tg_err *err)
{
	return s == NULL ? 0 : rg_set_str(o, key, s, err);
}

static int
rg_set_count(json_t *o, const char *key, uint64_t n, struct tg_err *err)
{
	if (n > TG_REPORT_COUNT_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: above 2^53",
		    key);
	if (json_object_set_new(o, key, json_integer((json_int_t)n)) != 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	return 0;
}

static int
rg_set_strv(json_t *o, const char *key, char *const *v, size_t n,
    struct tg_err *err)
{
	json_t *a = json_array();
	size_t i;

	if (a == NULL || json_object_set_new(o, key, a) != 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	for (i = 0; i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) != 0)
			return tg_err_set(err, TG_ERR_PERM, NULL, "%s[%zu]: "
			    "not valid UTF-8", key, i);
	return 0;
}

/* "u s m hex": three decimal fields, single spaces, lower-case hex. */
static int
rg_tlsa_string_ok(const char *s)
{
	int field, digits;
	size_t hex = 0;

	for (field = 0; field < 3; field++) {
		for (digits = 0; *s >= '0' && *s <= '9'; s++)
			digits++;
		if (digits < 1 || digits > 3 || *s++ != ' ')
			return 0;
	}
	for (; *s != '\0'; s++, hex++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return hex > 0 && hex % 2 == 0;
}

/* RFC 8460 §4.4: what each policy type carries in policy-string. */
static int
rg_check_policy(const struct tg_report_policy *p, size_t i,
    struct tg_err *err)
{
	size_t k;

	if (p->type == TG_REPORT_POLICY_NONE && p->n_strings > 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "policies[%zu]: "
		    "no-policy-found carries no policy-string", i);
	if (p->type != TG_REPORT_POLICY_NONE && p->n_strings == 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "policies[%zu]: "
		    "%s policy without policy-string", i,
		    tg_report_policy_type_name(p->type));
	for (k = 0; p->type == TG_REPORT_POLICY_TLSA && k < p->n_strings; k++)
		if (!rg_tlsa_string_ok(p->strings[k]))
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "policies[%zu].policy.policy-string[%zu]: not a "
			    "TLSA RR as \"u s m hex\"", i, k);
	if (p->domain == NULL || !tg_dname_is_valid(p->domain))
		return tg_err_set(err, TG_ERR_PERM, NULL, "policies[%zu]: "
		    "policy-domain is not a normalised domain name", i);
	return 0;
}

static json_t *
rg_failure(const struct tg_report_failure *f, struct tg_err *err)
{
	json_t *o = json_object();
	const char *name = tg_report_result_name(f->result);

	if (o == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	if (name == NULL) {
		tg_err_set(err, TG_ERR_PERM, NULL, "result type is not one "
		    "of RFC 8460 §4.3");
	} else if (rg_set_str(o, "result-type", name, err) == 0 &&
	    rg_set_opt(o, "sending-mta-ip", f->sending_mta_ip, err) == 0 &&
	    rg_set_opt(o, "receiving-mx-hostname", f->receiving_mx_hostname,
	    err) == 0 &&
	    rg_set_opt(o, "receiving-mx-helo", f->receiving_mx_helo,
	    err) == 0 &&
	    rg_set_opt(o, "receiving-ip", f->receiving_ip, err) == 0 &&
	    rg_set_count(o, "failed-session-count", f->failed_session_count,
	    err) == 0 &&
	    rg_set_opt(o, "additional-information", f->additional_information,
	    err) == 0 &&
	    rg_set_opt(o, "failure-reason-code", f->failure_reason_code,
	    err) == 0)
		return o;
	json_decref(o);
	return NULL;
}

static int
rg_failures(json_t *o, const struct tg_report_policy *p, size_t pi,
    struct tg_err *err)
{
	json_t *a, *f;
	size_t i;

	if (p->n_failures == 0)
		return 0;
	a = json_array();
	if (a == NULL || json_object_set_new(o, "failure-details", a) != 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	for (i = 0; i < p->n_failures; i++) {
		if ((f = rg_failure(&p->failures[i], err)) == NULL) {
			tg_err_prefix(err, "policies[%zu].failure-details[%zu]",
			    pi, i);
			return -1;
		}
		json_array_append_new(a, f);
	}
	return 0;
}

static json_t *
rg_policy(const struct tg_report_policy *p, size_t i, struct tg_err *err)
{
	json_t *o = json_object(), *pol = json_object(), *sum = json_object();

	if (o == NULL || pol == NULL || sum == NULL ||
	    json_object_set_new(o, "policy", pol) != 0 ||
	    json_object_set_new(o, "summary", sum) != 0) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		json_decref(o);
		return NULL;
	}
	if (rg_check_policy(p, i, err) == 0 &&
	    rg_set_str(pol, "policy-type", tg_report_policy_type_name(p->type),
	    err) == 0 &&
	    (p->n_strings == 0 || rg_set_strv(pol, "policy-string",
	    p->strings, p->n_strings, err) == 0) &&
	    rg_set_str(pol, "policy-domain", p->domain, err) == 0 &&
	    (p->n_mx_hosts == 0 || rg_set_strv(pol, "mx-host", p->mx_hosts,
	    p->n_mx_hosts, err) == 0) &&
	    rg_set_count(sum, "total-successful-session-count",
	    p->success_count, err) == 0 &&
	    rg_set_count(sum, "total-failure-session-count", p->failure_count,
	    err) == 0 &&
	    rg_failures(o, p, i, err) == 0)
		return o;
	json_decref(o);
	return NULL;
}

static int
rg_head(json_t *root, const struct tg_report *r, struct tg_err *err)
{
	char start[32], end[32];
	json_t *dr;

	if (r->org_name == NULL || r->org_name[0] == '\0' ||
	    r->report_id == NULL || r->report_id[0] == '\0' ||
	    r->contact_info == NULL || r->contact_info[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL, "organization-name, "
		    "report-id and contact-info are required (RFC 8460 §4.4)");
	if (r->end < r->start)
		return tg_err_set(err, TG_ERR_PERM, NULL, "date-range: end "
		    "before start");
	tg_clock_format(r->start, start, sizeof(start));
	tg_clock_format(r->end, end, sizeof(end));
	if (rg_set_str(root, "organization-name", r->org_name, err) != 0)
		return -1;
	/* json_object_set_new takes dr, also when it fails. */
	if ((dr = json_object()) == NULL ||
	    json_object_set_new(root, "date-range", dr) != 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	return rg_set_str(dr, "start-datetime", start, err) != 0 ||
	    rg_set_str(dr, "end-datetime", end, err) != 0 ||
	    rg_set_str(root, "contact-info", r->contact_info, err) != 0 ||
	    rg_set_str(root, "report-id", r->report_id, err) != 0 ? -1 : 0;
}

static int
rg_dump(json_t *root, struct tg_buf *out, struct tg_err *err)
{
	char *text = json_dumps(root, JSON_COMPACT);
	size_t n;
	int rc = 0;

	if (text == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	n = strlen(text);
	if (n > TG_RPT_JSON_MAX || n > out->limit - out->len)
		rc = tg_err_set(err, TG_ERR_PERM, NULL, "report JSON of %zu "
		    "bytes exceeds the limit", n);
	else if (tg_buf_append(out, text, n) != 0)
		rc = tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	free(text);
	return rc;
}

int
tg_report_to_json(const struct tg_report *r, struct tg_buf *out,
    struct tg_err *err)
{
	json_t *root = json_object(), *pols = json_array(), *p;
	size_t i;
	int rc = -1;

	if (root == NULL || pols == NULL) {
		json_decref(root);
		json_decref(pols);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	if (rg_head(root, r, err) != 0) {
		json_decref(pols);
		goto done;
	}
	if (json_object_set_new(root, "policies", pols) != 0) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		goto done;
	}
	for (i = 0; i < r->n_policies; i++) {
		if ((p = rg_policy(&r->policies[i], i, err)) == NULL)
			goto done;
		json_array_append_new(pols, p);
	}
	rc = rg_dump(root, out, err);
done:
	json_decref(root);
	return rc;
}

/* --- File name (RFC 8460 §5.1) ------------------------------------- */

/* RFC 2045 §5.1 token, without "!" (the §5.1 separator). */
static int
rg_token_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > RG_UNIQUE_ID_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    strchr("()<>@,;:\\\"/[]?=!", *s) != NULL)
			return 0;
	return 1;
}

int
tg_report_filename(const char *sender, const char *policy_domain,
    time_t begin, time_t end, const char *unique_id, int gzip, char *out,
    size_t outlen, struct tg_err *err)
{
	char s[TG_DNAME_MAX + 1], d[TG_DNAME_MAX + 1];
	int has_id = unique_id != NULL && unique_id[0] != '\0';
	int n;

	if (tg_dname_normalize(sender, s, sizeof(s), err) != 0) {
		tg_err_prefix(err, "report file name: sender");
		return -1;
	}
	if (tg_dname_normalize(policy_domain, d, sizeof(d), err) != 0) {
		tg_err_prefix(err, "report file name: policy-domain");
		return -1;
	}
	if (has_id && !rg_token_ok(unique_id))
		return tg_err_set(err, TG_ERR_PERM, NULL, "report file name: "
		    "unique-id is not a MIME token of 1-%d characters without "
		    "'!'", RG_UNIQUE_ID_MAX);
	n = snprintf(out, outlen, "%s!%s!%lld!%lld%s%s.json%s", s, d,
	    (long long)begin, (long long)end, has_id ? "!" : "",
	    has_id ? unique_id : "", gzip ? ".gz" : "");
	if (n < 0 || (size_t)n >= outlen)
		return tg_err_set(err, TG_ERR_BUG, NULL, "report file name: "
		    "buffer too small");
	return 0;
}

void
tg_report_utc_day(time_t t, time_t *start, time_t *end)
{
	time_t day = t - ((t % 86400) + 86400) % 86400;

	*start = day;
	*end = day + 86399;
}
