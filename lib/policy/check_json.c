/*
 * policy/check_json — a domain check report as JSON. See check.h.
 *
 * The shape (`tlsgate check --json`, the console, the admin API):
 *   { domain, mx_dnssec, mx_lookup, relay,
 *     dane: {status, reason},
 *     mx: [ {host, preference, cname, dnssec, addresses: [...],
 *            tlsa_base, tlsa_dnssec, tlsa: [...], rollover,
 *            tls: [ {address, starttls, version, cipher, verified, ...} ],
 *            dane: {status, reason}} ],
 *     mta_sts: {txt, id, status, reason, id_agreement, cached,
 *               policy: {mode, max_age, mx[]} | null,
 *               fetch: {attempted, ok, url, http_status, error,
 *                       result_type},
 *               mx_coverage: [ {host, match, pattern} ],
 *               webpki: [ {host, address, probed, valid, status,
 *                          result_type, reason, subject} ]},
 *     tlsrpt: {txt, rua, error},
 *     problems: [ {severity, message, fix} ] }
 */
#include <stdio.h>

#include "policy/check.h"
#include "util/clock.h"

static json_t *
json_tlsa(const struct tg_check_mx *mx)
{
	char text[TG_TLSA_TEXT_MAX];
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < mx->ntlsa; i++) {
		tg_tlsa_print(&mx->tlsa[i], text, sizeof(text));
		json_array_append_new(arr,
		    json_pack("{s:i, s:i, s:i, s:s, s:b}",
		    "usage", mx->tlsa[i].usage, "selector",
		    mx->tlsa[i].selector, "mtype", mx->tlsa[i].mtype,
		    "record", text, "usable", tg_tlsa_is_usable(&mx->tlsa[i])));
	}
	return arr;
}

static json_t *
json_chain(const struct tg_tls_result *t)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < t->chain_n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I}",
		    "subject", t->chain[i].subject, "issuer",
		    t->chain[i].issuer, "not_before",
		    (json_int_t)t->chain[i].not_before, "not_after",
		    (json_int_t)t->chain[i].not_after));
	return arr;
}

static json_t *
json_probe(const struct tg_check_addr *a)
{
	const struct tg_probe_result *p = &a->probe;
	json_t *o;

	o = json_pack("{s:s, s:b, s:s, s:s, s:b, s:I}", "address", a->addr,
	    "probed", a->probed, "status", a->probed ?
	    tg_probe_status_name(p->status) : "not-probed", "reason",
	    p->reason, "starttls", p->starttls_offered, "elapsed_ms",
	    (json_int_t)p->elapsed_ms);
	if (a->probed && p->tls_started) {
		json_object_set_new(o, "version", json_string(p->tls.version));
		json_object_set_new(o, "cipher", json_string(p->tls.cipher));
		json_object_set_new(o, "mode",
		    json_string(tg_tls_mode_name(p->tls.mode)));
		json_object_set_new(o, "verified",
		    json_boolean(p->tls.verified));
		json_object_set_new(o, "tlsa_match",
		    json_boolean(a->tlsa_match));
		json_object_set_new(o, "verify_error",
		    json_string(p->tls.verify_error));
		json_object_set_new(o, "served_key_3_1_1",
		    json_string(p->tls.leaf_spki_sha256));
		json_object_set_new(o, "chain", json_chain(&p->tls));
	}
	if (a->probed && p->result_type != NULL)
		json_object_set_new(o, "result_type",
		    json_string(p->result_type));
	return o;
}

static json_t *
json_mx(const struct tg_check_mx *mx)
{
	json_t *addrs = json_array(), *tls = json_array(), *o;
	size_t i;

	for (i = 0; i < mx->naddrs; i++) {
		json_array_append_new(addrs, json_string(mx->addrs[i].addr));
		json_array_append_new(tls, json_probe(&mx->addrs[i]));
	}
	o = json_pack("{s:s, s:i, s:s, s:o, s:o, s:o, s:{s:s, s:s}}",
	    "host", mx->host, "preference", (int)mx->pref,
	    "dnssec", tg_dns_security_name(mx->addr_security),
	    "addresses", addrs, "tls", tls, "tlsa", json_tlsa(mx),
	    "dane", "status", tg_check_dane_name(mx->dane),
	    "reason", mx->dane_reason);
	if (mx->is_cname)
		json_object_set_new(o, "cname", json_string(mx->canon));
	if (mx->tlsa_looked_up) {
		json_object_set_new(o, "tlsa_base", json_string(mx->tlsa_base));
		json_object_set_new(o, "tlsa_owner",
		    json_string(mx->tlsa_owner));
		json_object_set_new(o, "tlsa_lookup",
		    json_string(tg_dns_status_name(mx->tlsa_status)));
		json_object_set_new(o, "tlsa_dnssec",
		    json_string(tg_dns_security_name(mx->tlsa_security)));
		json_object_set_new(o, "rollover",
		    json_boolean(mx->tlsa_rollover));
	}
	return o;
}

static json_t *
json_txt(const struct tg_check_txt *t)
{
	return json_pack("{s:b, s:s, s:i, s:b, s:s}", "looked_up", t->looked_up,
	    "lookup", tg_dns_status_name(t->status), "records",
	    (int)t->nrecords, "valid", t->valid, "error", t->error);
}

static json_t *
json_time(time_t t)
{
	char text[32];

	tg_clock_format(t, text, sizeof(text));
	return json_string(text);
}

static json_t *
json_sts_policy(const struct tg_check_sts_facts *f)
{
	json_t *mx = json_array();
	size_t i;

	if (!f->ok) {
		json_decref(mx);
		return json_null();
	}
	for (i = 0; i < f->policy.count; i++)
		json_array_append_new(mx, json_string(f->policy.mx[i]));
	return json_pack("{s:s, s:I, s:o}", "mode",
	    tg_sts_mode_name(f->policy.mode), "max_age",
	    (json_int_t)f->policy.max_age, "mx", mx);
}

static json_t *
json_sts_cached(const struct tg_check_sts_facts *f)
{
	if (!f->cached)
		return json_null();
	return json_pack("{s:s, s:s, s:I, s:o, s:o, s:b}", "id", f->cached_id,
	    "mode", tg_sts_mode_name(f->cached_mode), "max_age",
	    (json_int_t)f->cached_max_age, "fetched_at",
	    json_time(f->cached_fetched_at), "expires_at",
	    json_time(f->cached_expires_at), "differs", f->cached_differs);
}

/* Per MX host: the mx pattern it matches, and its web-PKI session. */
static void
json_sts_hosts(const struct tg_check_report *rep, json_t *cov, json_t *pki)
{
	const struct tg_check_sts_facts *f = &rep->sts_policy;
	const struct tg_check_mx *mx;
	const struct tg_probe_result *p;
	size_t i;
	json_t *o;

	for (i = 0; i < rep->nmx; i++) {
		mx = &rep->mx[i];
		p = &mx->webpki;
		if (f->ok)
			json_array_append_new(cov, json_pack("{s:s, s:b, s:o}",
			    "host", mx->host, "match", mx->sts_match,
			    "pattern", mx->sts_pattern >= 0 ? json_string(
			    f->policy.mx[mx->sts_pattern]) : json_null()));
		if (!mx->webpki_probed)
			continue;
		o = json_pack("{s:s, s:s, s:b, s:b, s:s, s:s}", "host",
		    mx->host, "address", mx->webpki_addr, "probed", 1,
		    "valid", mx->webpki_valid, "status",
		    tg_probe_status_name(p->status), "reason",
		    p->tls.reason[0] != '\0' ? p->tls.reason : p->reason);
		if (p->tls_started && p->tls.result_type != NULL)
			json_object_set_new(o, "result_type",
			    json_string(p->tls.result_type));
		else if (p->result_type != NULL)
			json_object_set_new(o, "result_type",
			    json_string(p->result_type));
		if (p->tls_started && p->tls.chain_n > 0)
			json_object_set_new(o, "subject",
			    json_string(p->tls.chain[0].subject));
		json_array_append_new(pki, o);
	}
}

static json_t *
json_sts(const struct tg_check_report *rep)
{
	const struct tg_check_sts_facts *f = &rep->sts_policy;
	json_t *cov = json_array(), *pki = json_array(), *fetch;

	fetch = json_pack("{s:b, s:b, s:s, s:I, s:s}", "attempted",
	    f->fetched, "ok", f->ok, "url", f->url, "http_status",
	    (json_int_t)f->http_status, "error", f->error);
	json_object_set_new(fetch, "result_type", f->result_type != NULL ?
	    json_string(f->result_type) : json_null());
	json_sts_hosts(rep, cov, pki);
	return json_pack("{s:o, s:s, s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:o}",
	    "txt", json_txt(&rep->sts_txt), "id", rep->sts.id,
	    "status", tg_check_sts_name(f->status), "reason", f->reason,
	    /* The body has no id: the TXT id "agrees" when the record is
	     * valid and the policy it announces could be fetched. */
	    "id_agreement", rep->sts_txt.valid && f->ok,
	    "cached", json_sts_cached(f), "policy", json_sts_policy(f),
	    "fetch", fetch, "mx_coverage", cov, "webpki", pki);
}

json_t *
tg_check_to_json(const struct tg_check_report *rep)
{
	json_t *mx = json_array(), *problems = json_array(), *o, *rua;
	size_t i;

	for (i = 0; i < rep->nmx; i++)
		json_array_append_new(mx, json_mx(&rep->mx[i]));
	for (i = 0; i < rep->nproblems; i++)
		json_array_append_new(problems, json_pack("{s:s, s:s, s:s}",
		    "severity", tg_check_severity_name(
		    rep->problems[i].severity), "message",
		    rep->problems[i].message, "fix", rep->problems[i].fix));
	rua = json_array();
	for (i = 0; i < rep->tlsrpt.rua_count; i++)
		json_array_append_new(rua, json_string(rep->tlsrpt.rua[i]));
	o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:s, s:{s:s, s:s}, "
	    "s:o, s:o, s:{s:o, s:o}, s:o}",
	    "domain", rep->domain,
	    "mx_lookup", tg_dns_status_name(rep->mx_status),
	    "mx_dnssec", tg_dns_security_name(rep->mx_security),
	    "null_mx", rep->null_mx, "implicit_mx", rep->implicit_mx,
	    "could_not_check", rep->could_not_check,
	    "relay", rep->relay,
	    "dane", "status", tg_check_dane_name(rep->dane),
	    "reason", rep->dane_reason,
	    "mx", mx,
	    "mta_sts", json_sts(rep),
	    "tlsrpt", "txt", json_txt(&rep->tlsrpt_txt), "rua", rua,
	    "problems", problems);
	return o;
}
