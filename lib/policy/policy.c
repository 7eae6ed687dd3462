/*
 * policy/policy — see policy.h. The decision is a chain of small
 * functions, one per rule of RELIABILITY §3, applied host by host.
 */
#include "policy/policy.h"

#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "util/text.h"

/* RFC 3463 / RFC 7505 status codes of the outcomes decided here. */
#define ST_DNS_TEMP	"4.4.3"	/* directory (DNS) server failure */
#define ST_TLS_TEMP	"4.7.5"	/* cryptographic failure: policy unmet */
#define ST_NO_HOST	"4.4.4"	/* unable to route */
#define ST_NXDOMAIN	"5.1.2"	/* bad destination system address */
#define ST_NULL_MX	"5.1.10"	/* RFC 7505 §4.2: null MX */

/* RFC 8460 §4.3 result types used here. */
#define RT_DNSSEC	"dnssec-invalid"
#define RT_DANE_REQ	"dane-required"
#define RT_VALIDATION	"validation-failure"

const char *
tg_policy_rule_name(enum tg_policy_rule r)
{
	switch (r) {
	case TG_POLICY_RULE_DNS: return "dns";
	case TG_POLICY_RULE_DANE: return "dane";
	case TG_POLICY_RULE_STS: return "mta-sts";
	case TG_POLICY_RULE_LOCAL: return "local";
	case TG_POLICY_RULE_OPPORTUNISTIC: return "opportunistic";
	case TG_POLICY_RULE_REPORT: return "report-submission";
	case TG_POLICY_RULE_ROUTE: return "route";
	}
	return "?";
}

const char *
tg_policy_verdict_name(enum tg_policy_verdict v)
{
	switch (v) {
	case TG_POLICY_DELIVER: return "deliver";
	case TG_POLICY_DEFER: return "defer";
	case TG_POLICY_BOUNCE: return "bounce";
	}
	return "?";
}

/* ---- TLS-RPT strings ---------------------------------------------------- */

/* Append line to a '\n'-joined list in out, whole or not at all. */
static void
join_line(char *out, size_t outlen, const char *line)
{
	size_t have = strlen(out), need = strlen(line) + (have > 0);

	if (have + need + 1 > outlen)
		return;
	if (have > 0)
		out[have++] = '\n';
	memcpy(out + have, line, strlen(line) + 1);
}

/* RFC 8460 §4.4: a TLSA policy-string is one "u s m hex" per record. */
static void
rpt_tlsa(const struct tg_policy_host *h, struct tg_policy_host_decision *d)
{
	char text[TG_TLSA_TEXT_MAX];
	size_t i;

	d->rpt_type = TG_REPORTS_TLSA;
	d->rpt_strings[0] = '\0';
	for (i = 0; i < h->tlsa_n; i++)
		if (tg_tlsa_print(&h->tlsa[i], text, sizeof(text)) == 0)
			join_line(d->rpt_strings, sizeof(d->rpt_strings), text);
	tg_text_fmt(d->rpt_mx, sizeof(d->rpt_mx), "%s", h->name);
}

/* RFC 8460 §4.4: an STS policy-string is the policy's lines, with one
 * "mx:" entry per pattern; mx-host lists the patterns. */
static void
rpt_sts(const struct tg_policy_input *in, struct tg_policy_host_decision *d)
{
	const struct tg_sts_policy *p = in->sts.policy;
	char line[TG_DNAME_MAX + 16];
	size_t i;

	d->rpt_type = TG_REPORTS_STS;
	d->rpt_strings[0] = d->rpt_mx[0] = '\0';
	if (in->sts.state != TG_POLICY_STS_ACTIVE || p == NULL)
		return;
	join_line(d->rpt_strings, sizeof(d->rpt_strings), "version: STSv1");
	tg_text_fmt(line, sizeof(line), "mode: %s", tg_sts_mode_name(p->mode));
	join_line(d->rpt_strings, sizeof(d->rpt_strings), line);
	for (i = 0; i < p->count; i++) {
		tg_text_fmt(line, sizeof(line), "mx: %s", p->mx[i]);
		join_line(d->rpt_strings, sizeof(d->rpt_strings), line);
		join_line(d->rpt_mx, sizeof(d->rpt_mx), p->mx[i]);
	}
	tg_text_fmt(line, sizeof(line), "max_age: %ld", p->max_age);
	join_line(d->rpt_strings, sizeof(d->rpt_strings), line);
}

static void
rpt_none(struct tg_policy_host_decision *d)
{
	d->rpt_type = TG_REPORTS_NO_POLICY;
	d->rpt_strings[0] = d->rpt_mx[0] = '\0';
}

/* ---- host outcomes ------------------------------------------------------ */

static void host_skip(struct tg_policy_host_decision *d,
    enum tg_policy_rule rule, const char *result_type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
host_skip(struct tg_policy_host_decision *d, enum tg_policy_rule rule,
    const char *result_type, const char *fmt, ...)
{
	va_list ap;

	d->action = TG_POLICY_SKIP;
	d->rule = rule;
	d->result_type = result_type;
	va_start(ap, fmt);
	(void)vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

static void
host_try(struct tg_policy_host_decision *d, enum tg_policy_rule rule,
    enum tg_policy_tls tls, enum tg_tls_mode mode, int report_only)
{
	d->action = TG_POLICY_TRY;
	d->rule = rule;
	d->tls = tls;
	d->mode = mode;
	d->report_only = report_only;
	d->authenticated = mode != TG_TLS_OPPORTUNISTIC && !report_only;
}

/* STS policy in force for delivery decisions (RFC 8461 §5: none is
 * "no policy"). */
static int
sts_mode(const struct tg_policy_input *in, enum tg_sts_mode mode)
{
	return in->sts.state == TG_POLICY_STS_ACTIVE &&
	    in->sts.policy != NULL && in->sts.policy->mode == mode;
}

/*
 * The DANE rows of the §3 table. Returns 1 when they decided the host
 * (try with DANE, or skip), 0 when DANE does not apply.
 */
static int
rule_dane(const struct tg_policy_input *in, const struct tg_policy_host *h,
    struct tg_policy_host_decision *d)
{
	if (h->addr_security != TG_DNS_SECURE || !h->tlsa_looked_up)
		return 0; /* RFC 7672 §2.2.3: insecure address, no DANE */
	if (h->tlsa_security == TG_DNS_BOGUS ||
	    h->tlsa_status == TG_DNS_TEMPFAIL) {
		/* RFC 7672 §2.2.3, RFC 6698 §4.1: unreachable, never "no
		 * TLSA". */
		rpt_tlsa(h, d);
		d->rpt_strings[0] = '\0';
		host_skip(d, TG_POLICY_RULE_DANE, RT_DNSSEC,
		    h->tlsa_security == TG_DNS_BOGUS ? "TLSA of %s is bogus" :
		    "TLSA lookup for %s failed", h->name);
		return 1;
	}
	if (h->tlsa_security != TG_DNS_SECURE || h->tlsa_status != TG_DNS_OK)
		return 0;	/* secure denial or unsigned TLSA: no DANE */
	if (h->tlsa_n == 0) {
		/* A secure RRset we hold no record of is not "no TLSA". */
		rpt_tlsa(h, d);
		host_skip(d, TG_POLICY_RULE_DANE, "tlsa-invalid",
		    "TLSA RRset of %s could not be read", h->name);
		return 1;
	}
	rpt_tlsa(h, d);
	/* Usable records: authenticate; only unusable ones: TLS still
	 * mandatory, nothing authenticated (RFC 7672 §2.2, §3.1.3). The
	 * DANE mode handles both (tls/tls_client). */
	host_try(d, TG_POLICY_RULE_DANE, TG_POLICY_TLS_REQUIRE, TG_TLS_DANE, 0);
	d->authenticated = tg_tlsa_count_usable(h->tlsa, h->tlsa_n) > 0;
	if (in->mx_security == TG_DNS_SECURE) {
		/* RFC 7672 §3.2.2: the MX name and the next-hop domain are
		 * reference identifiers only when the MX RRset is secure. */
		if (strcmp(h->name, h->tlsa_base) != 0)
			d->names[d->n_names++] = h->name;
		if (strcmp(in->domain, h->tlsa_base) != 0 &&
		    strcmp(in->domain, h->name) != 0)
			d->names[d->n_names++] = in->domain;
	}
	return 1;
}

/* RFC 8461 §4.1, §4.2, §5: the MTA-STS rows. 1 when they decided. */
static int
rule_sts(const struct tg_policy_input *in, const struct tg_policy_host *h,
    struct tg_policy_host_decision *d)
{
	int match;

	if (sts_mode(in, TG_STS_MODE_ENFORCE)) {
		rpt_sts(in, d);
		if (!tg_sts_policy_match(in->sts.policy, h->name, NULL)) {
			host_skip(d, TG_POLICY_RULE_STS, RT_VALIDATION,
			    "%s does not match the MTA-STS mx patterns",
			    h->name);
			return 1;
		}
		host_try(d, TG_POLICY_RULE_STS, TG_POLICY_TLS_REQUIRE,
		    TG_TLS_PKIX, 0);
		return 1;
	}
	if (sts_mode(in, TG_STS_MODE_TESTING)) {
		/* RFC 8461 §5: deliver anyway, report what failed. */
		rpt_sts(in, d);
		match = tg_sts_policy_match(in->sts.policy, h->name, NULL);
		host_try(d, TG_POLICY_RULE_STS, TG_POLICY_TLS_MAY, TG_TLS_PKIX,
		    1);
		if (!match)
			d->rpt_failure = RT_VALIDATION;
		return 1;
	}
	if (in->sts.state == TG_POLICY_STS_FAILED) {
		/* RFC 8461 §3.3: as if there were no policy; RFC 8460 §6:
		 * the failure is still reported. */
		rpt_sts(in, d);
		d->rpt_failure = in->sts.fail_type != NULL ?
		    in->sts.fail_type : "sts-policy-fetch-error";
	}
	return 0;
}

/* The local policy and the default, after DANE and MTA-STS. */
static void
rule_local(const struct tg_policy_input *in,
    struct tg_policy_host_decision *d)
{
	int sts_failed = in->sts.state == TG_POLICY_STS_FAILED;

	if (in->has_local && in->local == TG_STORE_DEST_ENCRYPT) {
		if (!sts_failed)
			rpt_none(d);
		host_try(d, TG_POLICY_RULE_LOCAL, TG_POLICY_TLS_REQUIRE,
		    TG_TLS_OPPORTUNISTIC, 0);
		return;
	}
	if (!sts_failed)
		rpt_none(d);
	host_try(d, in->has_local ? TG_POLICY_RULE_LOCAL :
	    TG_POLICY_RULE_OPPORTUNISTIC, TG_POLICY_TLS_MAY,
	    TG_TLS_OPPORTUNISTIC, 0);
}

/* Address rows: a host without a usable, trustworthy address. */
static int
rule_addr(const struct tg_policy_host *h, struct tg_policy_host_decision *d)
{
	rpt_none(d);
	if (h->addr_security == TG_DNS_BOGUS) {
		host_skip(d, TG_POLICY_RULE_DNS, RT_DNSSEC,
		    "address records of %s are bogus", h->name);
		d->rpt_type = TG_REPORTS_TLSA;
		tg_text_fmt(d->rpt_mx, sizeof(d->rpt_mx), "%s", h->name);
		return 1;
	}
	if (h->addr_status == TG_DNS_TEMPFAIL) {
		host_skip(d, TG_POLICY_RULE_DNS, NULL,
		    "address lookup for %s failed", h->name);
		return 1;
	}
	if (h->addr_status != TG_DNS_OK) {
		host_skip(d, TG_POLICY_RULE_DNS, NULL, "%s has no address",
		    h->name);
		return 1;
	}
	return 0;
}

static int
host_has_usable_tlsa(const struct tg_policy_host *h)
{
	return h->addr_security == TG_DNS_SECURE && h->tlsa_looked_up &&
	    h->tlsa_status == TG_DNS_OK && h->tlsa_security == TG_DNS_SECURE &&
	    tg_tlsa_count_usable(h->tlsa, h->tlsa_n) > 0;
}

static int
dane_only(const struct tg_policy_input *in)
{
	return in->has_local && in->local == TG_STORE_DEST_DANE_ONLY;
}

/* One host through the rules, in order. */
static void
decide_host(const struct tg_policy_input *in, const struct tg_policy_host *h,
    struct tg_policy_host_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->mx_secure = in->mx_security == TG_DNS_SECURE;
	if (rule_addr(h, d))
		return;
	if (in->report_submission) {
		/* RFC 8460 §5.3.1: deliver reports despite TLS failures. */
		host_try(d, TG_POLICY_RULE_REPORT, TG_POLICY_TLS_MAY,
		    TG_TLS_OPPORTUNISTIC, 0);
		return;
	}
	if (in->route) {
		host_try(d, TG_POLICY_RULE_ROUTE, in->route_tls ?
		    TG_POLICY_TLS_REQUIRE : TG_POLICY_TLS_MAY,
		    TG_TLS_OPPORTUNISTIC, 0);
		return;
	}
	if (rule_dane(in, h, d) && (d->action == TG_POLICY_SKIP ||
	    d->authenticated || !dane_only(in)))
		return;
	if (dane_only(in)) {
		/* RFC 7672 §6, RFC 8460 §4.3.2.1. */
		rpt_tlsa(h, d);
		host_skip(d, TG_POLICY_RULE_LOCAL, RT_DANE_REQ,
		    "%s has no secure usable TLSA record (dane-only)", h->name);
		return;
	}
	if (rule_sts(in, h, d)) {
		/* Local encrypt is a floor under MTA-STS testing. */
		if (d->action == TG_POLICY_TRY && in->has_local &&
		    in->local == TG_STORE_DEST_ENCRYPT)
			d->tls = TG_POLICY_TLS_REQUIRE;
		return;
	}
	rule_local(in, d);
}

/*
 * Never downgrade (STYLE 12): whatever the rules above say, these must
 * hold. A violation is our bug, not the peer's: abort.
 */
static void
assert_no_downgrade(const struct tg_policy_input *in,
    const struct tg_policy_host *h, const struct tg_policy_host_decision *d)
{
	if (d->action != TG_POLICY_TRY)
		return;
	if (in->report_submission) {
		/* The one sanctioned exception (RFC 8460 §5.3.1): nothing
		 * else may reach the opportunistic rule this way. */
		assert(d->rule == TG_POLICY_RULE_REPORT);
		return;
	}
	assert(d->rule != TG_POLICY_RULE_REPORT);
	if (in->route) {
		/* Not the Internet: the route says what TLS it needs. */
		assert(d->rule == TG_POLICY_RULE_ROUTE);
		if (in->route_tls)
			assert(d->tls == TG_POLICY_TLS_REQUIRE);
		return;
	}
	assert(d->rule != TG_POLICY_RULE_ROUTE);
	if (host_has_usable_tlsa(h))
		assert(d->tls == TG_POLICY_TLS_REQUIRE &&
		    d->mode == TG_TLS_DANE && !d->report_only &&
		    d->authenticated);
	if (h->addr_security == TG_DNS_SECURE && h->tlsa_looked_up &&
	    (h->tlsa_security == TG_DNS_BOGUS || (h->tlsa_status ==
	    TG_DNS_OK && h->tlsa_security == TG_DNS_SECURE &&
	    h->tlsa_n == 0) ||
	    h->tlsa_status == TG_DNS_TEMPFAIL))
		assert(!"a host with a failed TLSA lookup is never tried");
	if (in->has_local && in->local == TG_STORE_DEST_DANE_ONLY)
		assert(host_has_usable_tlsa(h));
	if (in->has_local && in->local == TG_STORE_DEST_ENCRYPT)
		assert(d->tls == TG_POLICY_TLS_REQUIRE);
	if (d->mode != TG_TLS_DANE && sts_mode(in, TG_STS_MODE_ENFORCE))
		assert(d->tls == TG_POLICY_TLS_REQUIRE &&
		    d->mode == TG_TLS_PKIX && !d->report_only);
}

/* ---- the domain --------------------------------------------------------- */

static void domain_out(struct tg_policy_decision *out,
    enum tg_policy_verdict v, const char *status, const char *result_type,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
domain_out(struct tg_policy_decision *out, enum tg_policy_verdict v,
    const char *status, const char *result_type, const char *fmt, ...)
{
	va_list ap;

	out->verdict = v;
	out->rule = TG_POLICY_RULE_DNS;
	tg_text_fmt(out->status, sizeof(out->status), "%s", status);
	out->result_type = result_type;
	va_start(ap, fmt);
	(void)vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/* The MX rows: 1 when the MX answer alone decides the domain. */
static int
decide_mx(const struct tg_policy_input *in, struct tg_policy_decision *out)
{
	if (in->mx_security == TG_DNS_BOGUS) {
		/* RFC 7672 §2.1.1: never fall back to the address records. */
		domain_out(out, TG_POLICY_DEFER, ST_DNS_TEMP, RT_DNSSEC,
		    "MX RRset of %s is bogus", in->domain);
		return 1;
	}
	if (in->mx_status == TG_DNS_TEMPFAIL) {
		domain_out(out, TG_POLICY_DEFER, ST_DNS_TEMP, NULL,
		    "MX lookup for %s failed", in->domain);
		return 1;
	}
	if (!in->report_submission && !in->route && (in->sts.state ==
	    TG_POLICY_STS_UNAVAILABLE || in->local_unavailable)) {
		/* Unknown is not "none": defer rather than downgrade. */
		domain_out(out, TG_POLICY_DEFER, ST_TLS_TEMP, NULL,
		    "the %s of %s cannot be read now",
		    in->local_unavailable ? "local policy" : "MTA-STS policy",
		    in->domain);
		out->rule = in->local_unavailable ? TG_POLICY_RULE_LOCAL :
		    TG_POLICY_RULE_STS;
		return 1;
	}
	if (in->mx_status == TG_DNS_NXDOMAIN) {
		domain_out(out, TG_POLICY_BOUNCE, ST_NXDOMAIN, NULL,
		    "%s does not exist (NXDOMAIN)", in->domain);
		return 1;
	}
	if (in->null_mx) {
		/* RFC 7505 §3, §4.2: no delivery attempt, 556 5.1.10. */
		domain_out(out, TG_POLICY_BOUNCE, ST_NULL_MX, NULL,
		    "%s accepts no mail (null MX)", in->domain);
		return 1;
	}
	return 0;
}

/* Every host skipped (or none at all): defer with the first reason. */
static void
decide_none_left(const struct tg_policy_input *in,
    struct tg_policy_decision *out)
{
	const struct tg_policy_host_decision *first = NULL, *d;
	size_t i;

	for (i = 0; i < out->nhosts; i++) {
		d = &out->hosts[i];
		if (first == NULL || (first->result_type == NULL &&
		    d->result_type != NULL))
			first = d;
	}
	if (first == NULL) {
		domain_out(out, TG_POLICY_DEFER, ST_NO_HOST, NULL,
		    "no MX host for %s", in->domain);
		return;
	}
	out->verdict = TG_POLICY_DEFER;
	out->rule = first->rule;
	tg_text_fmt(out->status, sizeof(out->status), "%s",
	    first->rule == TG_POLICY_RULE_DNS && first->result_type == NULL ?
	    ST_DNS_TEMP : ST_TLS_TEMP);
	out->result_type = first->result_type;
	tg_text_fmt(out->reason, sizeof(out->reason), "no MX host usable: %s",
	    first->reason);
}

static void
decide_log(const struct tg_policy_input *in,
    const struct tg_policy_decision *out, const char *sid)
{
	char hosts[TG_LOG_LINE_MAX / 2] = "", one[TG_DNAME_MAX + 48];
	const struct tg_policy_host_decision *d;
	size_t i;

	for (i = 0; i < out->nhosts; i++) {
		d = &out->hosts[i];
		if (d->action == TG_POLICY_SKIP)
			tg_text_fmt(one, sizeof(one), "%s:skip/%s",
			    in->hosts[i].name, tg_policy_rule_name(d->rule));
		else
			tg_text_fmt(one, sizeof(one), "%s:%s/%s/%s%s",
			    in->hosts[i].name, tg_policy_rule_name(d->rule),
			    d->tls == TG_POLICY_TLS_REQUIRE ? "require" : "may",
			    tg_tls_mode_name(d->mode),
			    d->report_only ? "/report-only" : "");
		if (strlen(hosts) + strlen(one) + 2 < sizeof(hosts))
			tg_text_fmt(hosts + strlen(hosts), sizeof(hosts) -
			    strlen(hosts), "%s%s", i > 0 ? "," : "", one);
	}
	tg_log_info(sid, "event=policy domain=%s verdict=%s decided=%s "
	    "mx_dnssec=%s sts=%s local=%s hosts=\"%s\"%s%s%s", in->domain,
	    tg_policy_verdict_name(out->verdict),
	    tg_policy_rule_name(out->rule),
	    tg_dns_security_name(in->mx_security),
	    in->sts.state == TG_POLICY_STS_ACTIVE && in->sts.policy != NULL ?
	    tg_sts_mode_name(in->sts.policy->mode) :
	    in->sts.state == TG_POLICY_STS_FAILED ? "failed" :
	    in->sts.state == TG_POLICY_STS_UNAVAILABLE ? "unavailable" : "none",
	    in->has_local ? tg_store_dest_mode_name(in->local) : "none", hosts,
	    out->verdict != TG_POLICY_DELIVER ? " reason=\"" : "",
	    out->verdict != TG_POLICY_DELIVER ? out->reason : "",
	    out->verdict != TG_POLICY_DELIVER ? "\"" : "");
}

void
tg_policy_decide(const struct tg_policy_input *in,
    struct tg_policy_decision *out, const char *sid)
{
	size_t i, n = in->nhosts < TG_POLICY_MX_MAX ? in->nhosts :
	    TG_POLICY_MX_MAX;
	int first = -1;

	/* The host decisions are cleared one by one as they are made. */
	memset(out, 0, offsetof(struct tg_policy_decision, hosts));
	if (!decide_mx(in, out)) {
		out->nhosts = n;
		for (i = 0; i < n; i++) {
			decide_host(in, &in->hosts[i], &out->hosts[i]);
			assert_no_downgrade(in, &in->hosts[i], &out->hosts[i]);
			if (first < 0 && out->hosts[i].action == TG_POLICY_TRY)
				first = (int)i;
		}
		if (first >= 0) {
			out->verdict = TG_POLICY_DELIVER;
			out->rule = out->hosts[first].rule;
		} else
			decide_none_left(in, out);
	}
	decide_log(in, out, sid);
}

void
tg_policy_tls_verify(const struct tg_policy_input *in,
    const struct tg_policy_decision *out, size_t i, struct tg_tls_verify *v)
{
	const struct tg_policy_host_decision *d = &out->hosts[i];
	const struct tg_policy_host *h = &in->hosts[i];

	assert(i < out->nhosts && d->action == TG_POLICY_TRY);
	memset(v, 0, sizeof(*v));
	v->mode = d->mode;
	v->report_only = d->report_only;
	v->host = h->name;	/* PKIX: SNI and DNS-ID (RFC 8461 §4.2) */
	if (d->mode == TG_TLS_DANE) {
		v->tlsa_base = h->tlsa_base;	/* RFC 7672 §8.1: SNI */
		v->tlsa = h->tlsa;
		v->tlsa_n = h->tlsa_n;
		v->names = d->n_names > 0 ? d->names : NULL;
		v->n_names = d->n_names;
	}
}

int
tg_policy_requiretls_hop(const struct tg_policy_host_decision *d)
{
	if (d->action != TG_POLICY_TRY)
		return 0;
	switch (d->rule) {
	case TG_POLICY_RULE_DANE:
		return d->mode == TG_TLS_DANE && d->authenticated &&
		    d->mx_secure;
	case TG_POLICY_RULE_STS:
		/* enforce: matched, or it would have been skipped; testing:
		 * an MX outside the patterns is recorded as a validation
		 * failure before connecting. */
		return d->mode == TG_TLS_PKIX && (!d->report_only ||
		    d->rpt_failure == NULL);
	default:
		return 0;
	}
}
