/*
 * rpt/collect — see collect.h. The ingest path; the hosted-domain set and
 * the rate limiter are in collect_admit.c.
 */
#include "rpt/collect.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "dns/dns.h"
#include "dns/resolver.h"
#include "rpt/gzip.h"
#include "rpt/report.h"
#include "util/clock.h"
#include "util/limits.h"
#include "util/path.h"
#include "util/text.h"

/* Room for gzip's header, trailer and stored-block overhead on data that
 * does not compress. */
#define COLLECT_GZ_SLACK	(64 * 1024)

static const struct {
	const char *name;
	int http;
} collect_statuses[] = {
	[TG_COLLECT_STORED] = { "stored", 201 },
	[TG_COLLECT_DUPLICATE] = { "duplicate", 200 },
	[TG_COLLECT_BAD_TYPE] = { "unsupported-media-type", 415 },
	[TG_COLLECT_TOO_LARGE] = { "too-large", 413 },
	[TG_COLLECT_INVALID] = { "invalid", 400 },
	[TG_COLLECT_NOT_OURS] = { "not-our-domain", 403 },
	[TG_COLLECT_UNSIGNED] = { "unauthenticated", 403 },
	[TG_COLLECT_NO_ROOM] = { "no-room", 507 },
	[TG_COLLECT_TEMP] = { "try-later", 503 },
};

const char *
tg_collect_status_name(enum tg_collect_status s)
{
	if ((unsigned)s <= TG_COLLECT_TEMP)
		return collect_statuses[s].name;
	return "invalid-status";
}

int
tg_collect_http_status(enum tg_collect_status s)
{
	if ((unsigned)s <= TG_COLLECT_TEMP)
		return collect_statuses[s].http;
	return 500;
}

static void
res_init(struct tg_collect_result *res)
{
	memset(res, 0, sizeof(*res));
}

static int
res_fail(struct tg_collect_result *res, enum tg_collect_status s,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
res_fail(struct tg_collect_result *res, enum tg_collect_status s,
    const char *fmt, ...)
{
	va_list ap;

	res->status = s;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	return -1;
}

/* Copy untrusted text for a quoted log value. core/log escapes control
 * characters, backslashes and non-ASCII bytes of the whole line
 * (RELIABILITY R-03); a double quote would end the value early, so it is
 * shown as a single quote. */
static void
collect_quote(char *out, size_t outlen, const char *s)
{
	size_t o = 0;

	for (; s != NULL && *s != '\0' && o + 1 < outlen; s++)
		out[o++] = *s == '"' ? '\'' : *s;
	out[o] = '\0';
}

static void
collect_log(const struct tg_collect_origin *o,
    const struct tg_collect_result *res)
{
	char org[TG_COLLECT_TEXT_MAX], rid[TG_COLLECT_TEXT_MAX];
	char peer[128], why[TG_ERR_MSG_MAX];

	collect_quote(org, sizeof(org), res->org);
	collect_quote(rid, sizeof(rid), res->report_id);
	collect_quote(peer, sizeof(peer), o->peer);
	collect_quote(why, sizeof(why), res->reason);
	/* A refused report is an outcome, not our problem: info. Only what
	 * we failed to do is a warning. */
	tg_log(res->status == TG_COLLECT_TEMP ||
	    res->status == TG_COLLECT_NO_ROOM ? TG_LOG_WARN : TG_LOG_INFO,
	    o->sid, "event=report-in source=%s peer=\"%s\" "
	    "result=%s http=%d id=%lld org=\"%s\" report_id=\"%s\" "
	    "policies=%zu discarded=%zu pruned=%lld reason=\"%s\"",
	    o->source != NULL ? o->source : "?", peer,
	    tg_collect_status_name(res->status),
	    tg_collect_http_status(res->status), (long long)res->id, org, rid,
	    res->kept, res->discarded, (long long)res->pruned, why);
}

/* The media type of a Content-Type value: up to ';', blanks trimmed. */
static int
collect_media_is(const char *ct, const char *type)
{
	size_t n, tn = strlen(type);

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	return n == tn && strncasecmp(ct, type, n) == 0;
}

int
tg_collect_media_type(const char *content_type)
{
	if (collect_media_is(content_type, TG_COLLECT_MEDIA_GZIP))
		return 1;
	if (collect_media_is(content_type, TG_COLLECT_MEDIA_JSON))
		return 0;
	return -1;
}

/* rpt/gzip's cap failures are "too large", the rest "invalid". */
static enum tg_collect_status
collect_gzip_status(const struct tg_err *err)
{
	if (err->cls == TG_ERR_TEMP)
		return TG_COLLECT_TEMP;
	if (strstr(err->msg, "exceeds the limit") != NULL ||
	    strstr(err->msg, "ratio above the limit") != NULL)
		return TG_COLLECT_TOO_LARGE;
	return TG_COLLECT_INVALID;
}

/* ---- from the parsed report to the store ------------------------- */

struct collect_conv {
	struct tg_reports_rx_policy *pol;	/* owned */
	struct tg_reports_rx_failure *fail;	/* owned */
};

static enum tg_reports_policy_type
collect_policy_type(enum tg_report_policy_type t)
{
	if (t == TG_REPORT_POLICY_TLSA)
		return TG_REPORTS_TLSA;
	if (t == TG_REPORT_POLICY_STS)
		return TG_REPORTS_STS;
	return TG_REPORTS_NO_POLICY;
}

static void
collect_conv_failure(const struct tg_report_failure *f,
    struct tg_reports_rx_failure *out)
{
	out->result_type = f->result_type;
	out->sending_mta_ip = f->sending_mta_ip;
	out->receiving_mx_hostname = f->receiving_mx_hostname;
	out->receiving_mx_helo = f->receiving_mx_helo;
	out->receiving_ip = f->receiving_ip;
	out->additional_information = f->additional_information;
	out->failure_reason_code = f->failure_reason_code;
	out->failed_session_count = (int64_t)f->failed_session_count;
}

/* Keep the policies for our domains (collect.h: R-04). */
static int
collect_convert(const struct tg_collect_params *p, const struct tg_report *r,
    struct collect_conv *c, struct tg_reports_rx_report *in)
{
	size_t i, j, nf = 0, kept = 0;

	for (i = 0; i < r->n_policies; i++)
		nf += r->policies[i].n_failures;
	c->pol = calloc(r->n_policies + 1, sizeof(*c->pol));
	c->fail = calloc(nf + 1, sizeof(*c->fail));
	if (c->pol == NULL || c->fail == NULL)
		return -1;
	nf = 0;
	for (i = 0; i < r->n_policies; i++) {
		const struct tg_report_policy *rp = &r->policies[i];
		struct tg_reports_rx_policy *sp = &c->pol[kept];

		if (p->domains == NULL ||
		    !tg_collect_domains_match(p->domains, rp->domain))
			continue;
		sp->type = collect_policy_type(rp->type);
		sp->domain = rp->domain;
		sp->strings = (const char *const *)rp->strings;
		sp->n_strings = rp->n_strings;
		sp->mx_hosts = (const char *const *)rp->mx_hosts;
		sp->n_mx_hosts = rp->n_mx_hosts;
		sp->success = (int64_t)rp->success_count;
		sp->failure = (int64_t)rp->failure_count;
		sp->failures = &c->fail[nf];
		sp->n_failures = rp->n_failures;
		for (j = 0; j < rp->n_failures; j++)
			collect_conv_failure(&rp->failures[j], &c->fail[nf++]);
		kept++;
	}
	in->policies = c->pol;
	in->n_policies = kept;
	in->discarded = (int64_t)(r->n_policies - kept);
	return 0;
}

/* What the stored report says about its arrival. */
struct collect_raw {
	const char *media;		/* of the original */
	const void *data;		/* the original, borrowed */
	size_t len;
	int is_gzip;			/* data is gzip already */
	const char *auth;		/* "dkim=pass ..." or "" */
};

static int
collect_store(const struct tg_collect_params *p, const struct tg_report *r,
    const struct collect_raw *raw, const struct tg_collect_origin *o,
    struct tg_collect_result *res)
{
	struct tg_reports_rx_report in;
	struct collect_conv c = { NULL, NULL };
	struct tg_buf gz;
	struct tg_err err;
	int dup = 0, rc = -1;

	memset(&in, 0, sizeof(in));
	tg_buf_init(&gz, raw->len + COLLECT_GZ_SLACK);
	if (collect_convert(p, r, &c, &in) != 0) {
		res_fail(res, TG_COLLECT_TEMP, "out of memory");
		goto out;
	}
	res->kept = in.n_policies;
	res->discarded = (size_t)in.discarded;
	if (in.n_policies == 0) {
		res_fail(res, TG_COLLECT_NOT_OURS, "no policy of this report "
		    "is for a domain hosted here (first: %s)",
		    r->n_policies > 0 ? r->policies[0].domain : "none");
		goto out;
	}
	if (!raw->is_gzip && tg_gzip_deflate(raw->data, raw->len, gz.limit,
	    &gz, &err) != 0) {
		res_fail(res, TG_COLLECT_TEMP, "keeping the original: %s",
		    err.msg);
		goto out;
	}
	in.org = r->org_name;
	in.report_id = r->report_id;
	in.contact = r->contact_info;
	in.start = r->start;
	in.end = r->end;
	in.received = o->received != 0 ? o->received : tg_clock_now();
	in.source = o->source;
	in.peer = o->peer;
	in.auth = raw->auth;
	in.flags = r->flags;
	in.raw_media = raw->media;
	in.raw_gz = raw->is_gzip ? raw->data : (const void *)gz.data;
	in.raw_gz_len = raw->is_gzip ? raw->len : gz.len;
	in.raw_size = (int64_t)raw->len;
	if (tg_reports_rx_add(p->db, &in, p->db_max, &res->id, &dup,
	    &res->pruned, &err) != 0) {
		res_fail(res, err.cls == TG_ERR_TEMP ? TG_COLLECT_TEMP :
		    strncmp(err.msg, "quota:", 6) == 0 ? TG_COLLECT_NO_ROOM :
		    TG_COLLECT_INVALID, "storing: %s", err.msg);
		goto out;
	}
	res->status = dup ? TG_COLLECT_DUPLICATE : TG_COLLECT_STORED;
	tg_text_fmt(res->reason, sizeof(res->reason), "%s",
	    dup ? "duplicate" : "stored");
	rc = 0;
out:
	tg_buf_free(&gz);
	free(c.pol);
	free(c.fail);
	return rc;
}

/* JSON (len bytes) → parsed and checked into *out. */
static int
collect_parse(const char *json, size_t len, struct tg_report **out,
    struct tg_collect_result *res)
{
	struct tg_err err;

	*out = NULL;
	if (len > TG_RPT_JSON_MAX)
		return res_fail(res, TG_COLLECT_TOO_LARGE, "report JSON of %zu "
		    "bytes is larger than %d", len, TG_RPT_JSON_MAX);
	if (tg_gzip_is_gzip(json, len))
		return res_fail(res, TG_COLLECT_INVALID, "the report is gzip "
		    "inside gzip, or gzip declared as JSON: one compression "
		    "layer only");
	if (tg_report_parse(json, len, out, &err) != 0)
		return res_fail(res, err.cls == TG_ERR_TEMP ? TG_COLLECT_TEMP :
		    TG_COLLECT_INVALID, "%s", err.msg);
	tg_text_fmt(res->org, sizeof(res->org), "%s", (*out)->org_name);
	tg_text_fmt(res->report_id, sizeof(res->report_id), "%s",
	    (*out)->report_id);
	return 0;
}

/* JSON (len bytes) → parsed, checked, stored. */
static int
collect_json(const struct tg_collect_params *p, const char *json, size_t len,
    const struct collect_raw *raw, const struct tg_collect_origin *o,
    struct tg_collect_result *res)
{
	struct tg_report *r;
	int rc;

	if (collect_parse(json, len, &r, res) != 0)
		return -1;
	rc = collect_store(p, r, raw, o, res);
	tg_report_free(r);
	return rc;
}

/* A body parsed, not stored yet (tg_collect_prepare). */
struct tg_collect_prepared {
	struct tg_report *report;	/* owned */
	struct collect_raw raw;		/* the body, borrowed */
};

void
tg_collect_prepared_free(struct tg_collect_prepared *prep)
{
	if (prep == NULL)
		return;
	tg_report_free(prep->report);
	free(prep);
}

int
tg_collect_prepare(const char *content_type, const void *body, size_t len,
    size_t body_max, struct tg_collect_prepared **out,
    struct tg_collect_result *res)
{
	size_t max = body_max != 0 ? body_max : TG_RPT_BODY_MAX;
	struct tg_collect_prepared *prep;
	struct tg_buf json;
	struct tg_err err;
	int gz, rc;

	*out = NULL;
	res_init(res);
	if ((gz = tg_collect_media_type(content_type)) < 0)
		return res_fail(res, TG_COLLECT_BAD_TYPE, "Content-Type must "
		    "be %s or %s (RFC 8460 §5.3.2)", TG_COLLECT_MEDIA_GZIP,
		    TG_COLLECT_MEDIA_JSON);
	if (len > max)
		return res_fail(res, TG_COLLECT_TOO_LARGE, "body of %zu bytes "
		    "is larger than %zu", len, max);
	if ((prep = calloc(1, sizeof(*prep))) == NULL)
		return res_fail(res, TG_COLLECT_TEMP, "out of memory");
	prep->raw.media = gz ? TG_COLLECT_MEDIA_GZIP : TG_COLLECT_MEDIA_JSON;
	prep->raw.data = body;
	prep->raw.len = len;
	prep->raw.is_gzip = gz;
	prep->raw.auth = "";
	if (!gz)
		rc = collect_parse(body, len, &prep->report, res);
	else {
		tg_buf_init(&json, TG_RPT_JSON_MAX);
		if (tg_gzip_inflate(body, len, TG_RPT_JSON_MAX, 0, &json,
		    &err) != 0)
			rc = res_fail(res, collect_gzip_status(&err), "%s",
			    err.msg);
		else
			rc = collect_parse(json.data, json.len, &prep->report,
			    res);
		tg_buf_free(&json);
	}
	if (rc != 0) {
		tg_collect_prepared_free(prep);
		return -1;
	}
	*out = prep;
	return 0;
}

int
tg_collect_store(const struct tg_collect_params *p,
    const struct tg_collect_prepared *prep, const struct tg_collect_origin *o,
    struct tg_collect_result *res)
{
	int rc = -1;

	if (prep != NULL)
		rc = collect_store(p, prep->report, &prep->raw, o, res);
	collect_log(o, res);
	return rc;
}

int
tg_collect_body(const struct tg_collect_params *p, const char *content_type,
    const void *body, size_t len, const struct tg_collect_origin *o,
    struct tg_collect_result *res)
{
	struct tg_collect_prepared *prep;
	int rc;

	(void)tg_collect_prepare(content_type, body, len, p->body_max, &prep,
	    res);
	rc = tg_collect_store(p, prep, o, res);
	tg_collect_prepared_free(prep);
	return rc;
}

/* ---- mail -------------------------------------------------------- */

static int
collect_mail_run(const struct tg_collect_params *p, struct tg_rptmail *m,
    const char *msg, size_t len, const struct tg_collect_origin *o,
    struct tg_collect_result *res)
{
	struct tg_rptmail_result mr;
	struct collect_raw raw = { TG_COLLECT_MEDIA_MAIL, msg, len, 0, "" };
	char auth[TG_DNAME_MAX + TG_LABEL_MAX + 32];
	struct tg_err err;
	int rc;

	if (m == NULL)
		return res_fail(res, TG_COLLECT_INVALID, "a mailed report "
		    "needs DKIM verification, which is not set up here");
	if (len > TG_RPT_MAIL_MAX)
		return res_fail(res, TG_COLLECT_TOO_LARGE, "message of %zu "
		    "bytes is larger than %d", len, TG_RPT_MAIL_MAX);
	tg_rptmail_result_init(&mr);
	if (tg_rptmail_parse(m, msg, len, &mr, &err) != 0) {
		/* RFC 8460 §3: no acceptable signature → ignore it. */
		rc = res_fail(res, err.cls == TG_ERR_TEMP ? TG_COLLECT_TEMP :
		    !mr.verified ? TG_COLLECT_UNSIGNED :
		    collect_gzip_status(&err), "%s", err.msg);
		tg_rptmail_result_free(&mr);
		return rc;
	}
	tg_text_fmt(auth, sizeof(auth), "dkim=pass d=%s s=%s",
	    mr.dkim_domain, mr.dkim_selector);
	raw.auth = auth;
	rc = collect_json(p, mr.report.data, mr.report.len, &raw, o, res);
	tg_rptmail_result_free(&mr);
	return rc;
}

int
tg_collect_mail(const struct tg_collect_params *p, struct tg_rptmail *m,
    const char *msg, size_t len, const struct tg_collect_origin *o,
    struct tg_collect_result *res)
{
	int rc;

	res_init(res);
	rc = collect_mail_run(p, m, msg, len, o, res);
	collect_log(o, res);
	return rc;
}

enum tg_rptmail_key_status
tg_collect_dns_key(void *arg, const char *selector, const char *domain,
    char *buf, size_t buflen)
{
	const struct tg_resolver_config *rc = arg;
	struct tg_dns_question q;
	struct tg_dns_answer *ans = NULL;
	enum tg_rptmail_key_status st = TG_RPTMAIL_KEY_TEMPFAIL;
	char name[TG_DNAME_MAX + 1];
	struct tg_err err;
	size_t i;

	if (tg_path_fmt(name, sizeof(name), "%s._domainkey.%s", selector,
	    domain) != 0)
		return TG_RPTMAIL_KEY_NOTFOUND;
	q.name = name;
	q.rrtype = TG_DNS_T_TXT;
	if (tg_dns_resolve_sync(rc, &q, 1, &ans, &err) != 0)
		return TG_RPTMAIL_KEY_TEMPFAIL;
	if (ans->status == TG_DNS_NXDOMAIN || ans->status == TG_DNS_NODATA)
		st = TG_RPTMAIL_KEY_NOTFOUND;
	else if (ans->status == TG_DNS_OK && ans->security != TG_DNS_BOGUS) {
		st = TG_RPTMAIL_KEY_NOTFOUND;
		for (i = 0; i < ans->nrr; i++)
			if (ans->rr[i].type == TG_DNS_T_TXT &&
			    tg_dns_txt_join(ans->rr[i].data, ans->rr[i].len,
			    buf, buflen, NULL, NULL) == 0) {
				st = TG_RPTMAIL_KEY_FOUND;
				break;
			}
	}
	tg_dns_answer_free(ans);
	return st;
}

/* ---- files ------------------------------------------------------- */

static int
collect_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

enum collect_kind { KIND_JSON, KIND_GZIP, KIND_MAIL };

/* By name first, then by the first bytes. */
static enum collect_kind
collect_kind(const char *name, const unsigned char *p, size_t len)
{
	size_t i = 0;

	if (collect_ends_with(name, ".json"))
		return KIND_JSON;
	if (collect_ends_with(name, ".gz"))
		return KIND_GZIP;
	if (collect_ends_with(name, ".eml"))
		return KIND_MAIL;
	if (tg_gzip_is_gzip(p, len))
		return KIND_GZIP;
	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
	    p[i] == '\n'))
		i++;
	return i < len && p[i] == '{' ? KIND_JSON : KIND_MAIL;
}

int
tg_collect_file(const struct tg_collect_params *p, struct tg_rptmail *m,
    const char *name, const void *data, size_t len,
    const struct tg_collect_origin *o, struct tg_collect_result *res)
{
	switch (collect_kind(name, data, len)) {
	case KIND_JSON:
		return tg_collect_body(p, TG_COLLECT_MEDIA_JSON, data, len, o,
		    res);
	case KIND_GZIP:
		return tg_collect_body(p, TG_COLLECT_MEDIA_GZIP, data, len, o,
		    res);
	case KIND_MAIL:
	default:
		return tg_collect_mail(p, m, data, len, o, res);
	}
}
