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
 *     mta_sts: {txt, id, error}, tlsrpt: {txt, rua, error},
 *     problems: [ {severity, message, fix} ] }
 */
#include <stdio.h>

#include "policy/check.h"

static json_t *
json_tlsa(const struct tg_check_mx *mx)
{
	char text[TG_TLSA_TEXT_MAX];
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < mx->ntlsa; i++) {
		tg_tlsa_print(&mx->tlsa[i], text, sizeof(text));
		json_array_append_new(arr, json_pack("{s:i, s:i, s:i, s:s, s:b}",
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
	    "s:o, s:{s:o, s:s}, s:{s:o, s:o}, s:o}",
	    "domain", rep->domain,
	    "mx_lookup", tg_dns_status_name(rep->mx_status),
	    "mx_dnssec", tg_dns_security_name(rep->mx_security),
	    "null_mx", rep->null_mx, "implicit_mx", rep->implicit_mx,
	    "could_not_check", rep->could_not_check,
	    "relay", rep->relay,
	    "dane", "status", tg_check_dane_name(rep->dane),
	    "reason", rep->dane_reason,
	    "mx", mx,
	    "mta_sts", "txt", json_txt(&rep->sts_txt), "id", rep->sts.id,
	    "tlsrpt", "txt", json_txt(&rep->tlsrpt_txt), "rua", rua,
	    "problems", problems);
	return o;
}
