/*
 * policy/check_verdict — judging the facts of a domain check. See check.h.
 *
 * Pure: reads the facts in a struct tg_check_report and writes the
 * verdicts, the relay's decision and the problems. Every rule names the
 * RFC section it applies.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/check.h"
#include "util/text.h"

static const char *const dane_names[] = {
	"valid", "invalid", "not-published", "bogus", "unsigned", "unknown"
};

const char *
tg_check_dane_name(enum tg_check_dane d)
{
	if ((size_t)d < sizeof(dane_names) / sizeof(dane_names[0]))
		return dane_names[d];
	return "unknown";
}

const char *
tg_check_severity_name(enum tg_check_severity s)
{
	switch (s) {
	case TG_CHECK_ERROR:
		return "error";
	case TG_CHECK_WARNING:
		return "warning";
	case TG_CHECK_INFO:
		break;
	}
	return "info";
}

size_t
tg_check_count(const struct tg_check_report *rep,
    enum tg_check_severity at_least)
{
	size_t i, n = 0;

	for (i = 0; i < rep->nproblems; i++)
		if (rep->problems[i].severity <= at_least)
			n++;
	return n;
}

static void problem(struct tg_check_report *rep, enum tg_check_severity sev,
    const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Add a problem; fix may be NULL. Problems past the cap are dropped. */
static void
problem(struct tg_check_report *rep, enum tg_check_severity sev,
    const char *fix, const char *fmt, ...)
{
	struct tg_check_problem *p;
	va_list ap;

	if (rep->nproblems == TG_CHECK_PROBLEMS_MAX)
		return;
	p = &rep->problems[rep->nproblems++];
	p->severity = sev;
	va_start(ap, fmt);
	vsnprintf(p->message, sizeof(p->message), fmt, ap);
	va_end(ap);
	tg_text_fmt(p->fix, sizeof(p->fix), "%s", fix != NULL ? fix : "");
}

static void reason(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reason(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
}

/* The key an address served, as a TLSA 3 1 1 value, or NULL. */
static const char *
served_key(const struct tg_check_mx *mx)
{
	size_t i;

	for (i = 0; i < mx->naddrs; i++)
		if (mx->addrs[i].probed && mx->addrs[i].probe.tls_started &&
		    mx->addrs[i].probe.tls.leaf_spki_sha256[0] != '\0')
			return mx->addrs[i].probe.tls.leaf_spki_sha256;
	return NULL;
}

static void
fix_publish_tlsa(char *fix, size_t fixlen, const struct tg_check_mx *mx,
    const char *verb)
{
	const char *key = served_key(mx);
	const char *owner = mx->tlsa_owner[0] != '\0' ? mx->tlsa_owner : NULL;
	char buf[TG_DNS_NAME_SIZE + 16];

	if (owner == NULL) {
		tg_text_fmt(buf, sizeof(buf), "_25._tcp.%s", mx->host);
		owner = buf;
	}
	if (key != NULL)
		tg_text_fmt(fix, fixlen, "%s `%s. IN TLSA 3 1 1 %s`", verb, owner,
		    key);
	else
		tg_text_fmt(fix, fixlen, "%s `%s. IN TLSA 3 1 1 <SHA-256 of the "
		    "server's public key>`", verb, owner);
}

/* One address's probe against usable TLSA: 1 verified, 0 not. */
static int
judge_dane_addr(struct tg_check_report *rep, const struct tg_check_mx *mx,
    const struct tg_check_addr *a)
{
	const struct tg_probe_result *p = &a->probe;
	char fix[TG_CHECK_TEXT_MAX];

	if (!a->probed)
		return 1;	/* not probed (DNS-only check): no verdict */
	if (p->tls_started && p->tls.handshake_done && p->tls.verified)
		return 1;
	if (!p->tls_started || !p->tls.handshake_done) {
		problem(rep, TG_CHECK_ERROR, "make the server offer STARTTLS "
		    "with the certificate the TLSA records describe",
		    "%s [%s] publishes TLSA but TLS did not work (%s): DANE "
		    "senders defer mail to it, never send it in clear "
		    "(RFC 7672 §2.2)", mx->host, a->addr, p->reason);
		return 0;
	}
	if (p->tls.result_type != NULL &&
	    strcmp(p->tls.result_type, "certificate-host-mismatch") == 0) {
		tg_text_fmt(fix, sizeof(fix), "put %s (the TLSA base domain) in "
		    "the certificate's subjectAltName, or publish a DANE-EE "
		    "(3 1 1) record instead", mx->tlsa_base);
		problem(rep, TG_CHECK_ERROR, fix, "%s [%s]: the certificate "
		    "chains to the DANE-TA record but does not carry the name "
		    "%s (RFC 7672 §3.2.2): DANE senders defer mail", mx->host,
		    a->addr, mx->tlsa_base);
		return 0;
	}
	fix_publish_tlsa(fix, sizeof(fix), mx, "publish");
	problem(rep, TG_CHECK_ERROR, fix, "TLSA for %s does not match the "
	    "served key (%s [%s]: %s): DANE senders defer mail to it",
	    mx->host, mx->host, a->addr, p->tls.reason[0] != '\0' ?
	    p->tls.reason : p->reason);
	return 0;
}

static void
judge_host_tlsa(struct tg_check_report *rep, struct tg_check_mx *mx)
{
	char fix[TG_CHECK_TEXT_MAX];
	size_t i, verified = 0, probed = 0;

	if (mx->tlsa_usable == 0) {
		mx->dane = TG_CHECK_DANE_INVALID;
		reason(mx->dane_reason, sizeof(mx->dane_reason), "no usable "
		    "TLSA record (usages 0 and 1, unknown selectors or digests "
		    "are unusable for SMTP)");
		fix_publish_tlsa(fix, sizeof(fix), mx, "replace them with");
		problem(rep, TG_CHECK_ERROR, fix, "%s: every TLSA record is "
		    "unusable for SMTP (RFC 7672 §3.1.3): senders require TLS "
		    "but cannot authenticate it", mx->host);
		return;
	}
	for (i = 0; i < mx->naddrs; i++) {
		probed += mx->addrs[i].probed;
		verified += judge_dane_addr(rep, mx, &mx->addrs[i]);
	}
	if (verified == mx->naddrs) {
		mx->dane = TG_CHECK_DANE_VALID;
		reason(mx->dane_reason, sizeof(mx->dane_reason), probed > 0 ?
		    "every address verified against the TLSA records" :
		    "usable TLSA records published (not probed)");
		if (!mx->tlsa_rollover)
			problem(rep, TG_CHECK_INFO, "publish the next key's "
			    "3 1 1 record beside the current one at least two "
			    "TTLs before a key change (RFC 7671 §8.1)",
			    "%s publishes one usable TLSA digest: a key change "
			    "needs a rollover record first", mx->host);
		return;
	}
	mx->dane = TG_CHECK_DANE_INVALID;
	reason(mx->dane_reason, sizeof(mx->dane_reason), "%zu of %zu "
	    "addresses failed DANE verification", mx->naddrs - verified,
	    mx->naddrs);
}

static void
judge_host(struct tg_check_report *rep, struct tg_check_mx *mx)
{
	char fix[TG_CHECK_TEXT_MAX];

	if (mx->addr_security == TG_DNS_BOGUS) {
		mx->dane = TG_CHECK_DANE_BOGUS;
		reason(mx->dane_reason, sizeof(mx->dane_reason), "DNSSEC bogus "
		    "address records: %s", mx->addr_error);
		problem(rep, TG_CHECK_ERROR, "repair the DNSSEC chain of the "
		    "host's zone: DS at the parent must match a DNSKEY, and "
		    "signatures must not be expired", "DNSSEC bogus for %s, "
		    "mail to it would be deferred (%s)", mx->host,
		    mx->addr_error);
		return;
	}
	if (mx->naddrs == 0) {
		mx->dane = TG_CHECK_DANE_UNKNOWN;
		reason(mx->dane_reason, sizeof(mx->dane_reason), "%s",
		    mx->addr_tempfail ? "address lookup failed" : "no address");
		problem(rep, TG_CHECK_ERROR, "publish A/AAAA records for the "
		    "MX host or remove it from the MX RRset", "MX host %s has "
		    "no usable address%s%s", mx->host, mx->addr_error[0] ?
		    ": " : "", mx->addr_error);
		return;
	}
	if (mx->addr_security != TG_DNS_SECURE) {
		mx->dane = TG_CHECK_DANE_UNSIGNED;
		reason(mx->dane_reason, sizeof(mx->dane_reason), "DANE not "
		    "possible: zone unsigned");
		tg_text_fmt(fix, sizeof(fix), "sign the zone of %s with DNSSEC, "
		    "publish its DS at the parent, then publish TLSA",
		    mx->host);
		problem(rep, TG_CHECK_WARNING, fix, "%s: DANE not possible: "
		    "zone unsigned (RFC 7672 §2.2.3)", mx->host);
		return;
	}
	if (mx->tlsa_security == TG_DNS_BOGUS ||
	    mx->tlsa_status == TG_DNS_TEMPFAIL) {
		int bogus = mx->tlsa_security == TG_DNS_BOGUS;
		mx->dane = bogus ? TG_CHECK_DANE_BOGUS : TG_CHECK_DANE_UNKNOWN;
		reason(mx->dane_reason, sizeof(mx->dane_reason), "TLSA lookup "
		    "%s: %s", bogus ? "bogus" : "failed", mx->tlsa_why);
		problem(rep, TG_CHECK_ERROR, bogus ? "repair the DNSSEC "
		    "signatures of the TLSA RRset" : "make the TLSA lookup "
		    "answer (secure NXDOMAIN/NODATA when there is no record)",
		    "%s: TLSA lookup %s (%s): senders treat the host as "
		    "unreachable, mail to it would be deferred (RFC 7672 "
		    "§2.2.3)", mx->tlsa_owner, bogus ? "is DNSSEC bogus" :
		    "failed", mx->tlsa_why);
		return;
	}
	if (mx->tlsa_security != TG_DNS_SECURE) {
		mx->dane = TG_CHECK_DANE_UNSIGNED;
		reason(mx->dane_reason, sizeof(mx->dane_reason), "TLSA RRset "
		    "not signed: ignored");
		problem(rep, TG_CHECK_WARNING, "sign the zone holding the TLSA "
		    "records", "%s: TLSA records are not DNSSEC-signed and are "
		    "ignored (RFC 7672 §2.2)", mx->tlsa_owner);
		return;
	}
	if (mx->tlsa_status != TG_DNS_OK) {
		mx->dane = TG_CHECK_DANE_NOT_PUBLISHED;
		reason(mx->dane_reason, sizeof(mx->dane_reason), "no TLSA "
		    "records");
		fix_publish_tlsa(fix, sizeof(fix), mx, "publish");
		problem(rep, TG_CHECK_WARNING, fix, "%s has no TLSA record: "
		    "senders use TLS without authentication", mx->host);
		return;
	}
	judge_host_tlsa(rep, mx);
}

/* Reachability and STARTTLS, whatever DANE says. */
static void
judge_host_transport(struct tg_check_report *rep,
    const struct tg_check_mx *mx)
{
	size_t i;

	for (i = 0; i < mx->naddrs; i++) {
		const struct tg_probe_result *p = &mx->addrs[i].probe;
		if (!mx->addrs[i].probed)
			continue;
		switch (p->status) {
		case TG_PROBE_CONNECT_REFUSED:
		case TG_PROBE_CONNECT_TIMEOUT:
		case TG_PROBE_CONNECT_FAILED:
			problem(rep, TG_CHECK_ERROR, "make the host accept SMTP "
			    "connections on port 25, or remove it from the MX "
			    "RRset", "MX %s [%s] is unreachable: %s; senders "
			    "fall back to the next MX", mx->host,
			    mx->addrs[i].addr, p->reason);
			break;
		case TG_PROBE_NO_STARTTLS:
		case TG_PROBE_STARTTLS_REFUSED:
			if (mx->tlsa_usable == 0)
				problem(rep, TG_CHECK_WARNING, "enable STARTTLS "
				    "on the server", "%s [%s] does not offer "
				    "STARTTLS (%s): mail to it travels in "
				    "clear", mx->host, mx->addrs[i].addr,
				    p->reason);
			break;
		case TG_PROBE_HANDSHAKE_TIMEOUT:
		case TG_PROBE_TIMEOUT:
			if (mx->tlsa_usable == 0)
				problem(rep, TG_CHECK_ERROR, "check the server "
				    "and any middlebox between it and the "
				    "Internet", "%s [%s] stalled: %s", mx->host,
				    mx->addrs[i].addr, p->reason);
			break;
		default:
			break;
		}
	}
}

/* The domain's DANE status from its hosts' (RFC 7672 §2.2). */
static void
judge_domain_dane(struct tg_check_report *rep)
{
	size_t i, n[TG_CHECK_DANE_UNKNOWN + 1] = { 0 };

	for (i = 0; i < rep->nmx; i++)
		n[rep->mx[i].dane]++;
	if (n[TG_CHECK_DANE_BOGUS] > 0)
		rep->dane = TG_CHECK_DANE_BOGUS;
	else if (n[TG_CHECK_DANE_INVALID] > 0)
		rep->dane = TG_CHECK_DANE_INVALID;
	else if (n[TG_CHECK_DANE_VALID] > 0)
		rep->dane = TG_CHECK_DANE_VALID;
	else if (n[TG_CHECK_DANE_NOT_PUBLISHED] > 0)
		rep->dane = TG_CHECK_DANE_NOT_PUBLISHED;
	else if (n[TG_CHECK_DANE_UNSIGNED] > 0)
		rep->dane = TG_CHECK_DANE_UNSIGNED;
	else
		rep->dane = TG_CHECK_DANE_UNKNOWN;
	reason(rep->dane_reason, sizeof(rep->dane_reason), "%zu MX host(s): "
	    "%zu valid, %zu invalid, %zu without TLSA, %zu bogus, %zu "
	    "unsigned, %zu unknown", rep->nmx, n[0], n[1], n[2], n[3], n[4],
	    n[5]);
	if (rep->dane == TG_CHECK_DANE_VALID &&
	    n[TG_CHECK_DANE_VALID] < rep->nmx)
		problem(rep, TG_CHECK_WARNING, "publish TLSA records for every "
		    "MX host", "only %zu of %zu MX hosts are protected by DANE",
		    n[TG_CHECK_DANE_VALID], rep->nmx);
	if (rep->mx_security != TG_DNS_SECURE &&
	    (n[TG_CHECK_DANE_VALID] > 0 || n[TG_CHECK_DANE_INVALID] > 0))
		problem(rep, TG_CHECK_WARNING, "sign the domain's zone so that "
		    "its MX RRset is secure", "the MX RRset of %s is not "
		    "signed: an attacker can replace the MX hosts, and senders "
		    "may not treat DANE as fully verified (RFC 7672 §2.2.1)",
		    rep->domain);
}

/* The MX lookup decides before any host does (RFC 7672 §2.1). */
static int
judge_mx(struct tg_check_report *rep)
{
	if (rep->mx_status == TG_DNS_TEMPFAIL &&
	    rep->mx_security != TG_DNS_BOGUS) {
		rep->could_not_check = 1;
		rep->dane = TG_CHECK_DANE_UNKNOWN;
		reason(rep->dane_reason, sizeof(rep->dane_reason), "MX lookup "
		    "failed: %s", rep->mx_error);
		reason(rep->relay, sizeof(rep->relay), "defer: the MX lookup "
		    "failed temporarily (RFC 7672 §2.1.1)");
		problem(rep, TG_CHECK_ERROR, NULL, "could not look up the MX "
		    "records of %s: %s", rep->domain, rep->mx_error);
		return 1;
	}
	if (rep->mx_security == TG_DNS_BOGUS) {
		rep->dane = TG_CHECK_DANE_BOGUS;
		reason(rep->dane_reason, sizeof(rep->dane_reason), "MX RRset "
		    "is DNSSEC bogus: %s", rep->mx_error);
		reason(rep->relay, sizeof(rep->relay), "defer all mail: the MX "
		    "lookup is DNSSEC bogus (RFC 7672 §2.1.1)");
		problem(rep, TG_CHECK_ERROR, "repair the zone's DNSSEC: the DS "
		    "at the parent must match a DNSKEY of the zone, and "
		    "signatures must not be expired", "DNSSEC bogus, mail to "
		    "it would be deferred (%s)", rep->mx_error);
		return 1;
	}
	if (rep->mx_status == TG_DNS_NXDOMAIN) {
		rep->dane = TG_CHECK_DANE_UNKNOWN;
		reason(rep->dane_reason, sizeof(rep->dane_reason), "the domain "
		    "does not exist");
		reason(rep->relay, sizeof(rep->relay), "bounce: the domain "
		    "does not exist");
		problem(rep, TG_CHECK_ERROR, NULL, "%s does not exist "
		    "(NXDOMAIN)", rep->domain);
		return 1;
	}
	if (rep->null_mx) {
		rep->dane = TG_CHECK_DANE_NOT_PUBLISHED;
		reason(rep->dane_reason, sizeof(rep->dane_reason), "null MX: "
		    "the domain accepts no mail");
		reason(rep->relay, sizeof(rep->relay), "bounce: the domain "
		    "publishes a null MX and accepts no mail (RFC 7505)");
		problem(rep, TG_CHECK_INFO, NULL, "%s publishes a null MX "
		    "(RFC 7505): it accepts no mail", rep->domain);
		return 1;
	}
	if (rep->mx_skipped > 0)
		problem(rep, TG_CHECK_INFO, NULL, "%zu further MX hosts were not "
		    "examined", rep->mx_skipped);
	return 0;
}

static void
judge_txt_records(struct tg_check_report *rep)
{
	char fix[TG_CHECK_TEXT_MAX];

	if (rep->sts_txt.looked_up && rep->sts_txt.nrecords > 0 &&
	    !rep->sts_txt.valid)
		problem(rep, TG_CHECK_ERROR, "publish exactly one record "
		    "\"v=STSv1; id=<1 to 32 letters or digits>\"",
		    "_mta-sts.%s: %s: senders see no MTA-STS policy (RFC 8461 "
		    "§3.1)", rep->domain, rep->sts_txt.error);
	if (rep->tlsrpt_txt.looked_up && rep->tlsrpt_txt.nrecords > 0 &&
	    !rep->tlsrpt_txt.valid)
		problem(rep, TG_CHECK_WARNING, "publish exactly one record "
		    "\"v=TLSRPTv1; rua=mailto:...\"", "_smtp._tls.%s: %s: "
		    "senders send no TLS reports (RFC 8460 §3)", rep->domain,
		    rep->tlsrpt_txt.error);
	else if (rep->tlsrpt_txt.looked_up && !rep->tlsrpt_txt.valid) {
		tg_text_fmt(fix, sizeof(fix), "publish `_smtp._tls.%s. IN TXT "
		    "\"v=TLSRPTv1; rua=mailto:tlsrpt@%s\"`", rep->domain,
		    rep->domain);
		problem(rep, TG_CHECK_INFO, fix, "%s asks for no TLS reports: "
		    "you do not learn when senders fail to reach it securely",
		    rep->domain);
	}
}

/* What our relay would do (DESIGN.md, the policy decision). */
static void
judge_relay(struct tg_check_report *rep)
{
	size_t i, dane_hosts = 0, dane_ok = 0;

	for (i = 0; i < rep->nmx; i++) {
		if (rep->mx[i].dane == TG_CHECK_DANE_VALID ||
		    rep->mx[i].dane == TG_CHECK_DANE_INVALID)
			dane_hosts++;
		if (rep->mx[i].dane == TG_CHECK_DANE_VALID)
			dane_ok++;
	}
	if (dane_hosts > 0 && dane_ok == 0)
		reason(rep->relay, sizeof(rep->relay), "defer: DANE applies "
		    "and no MX host passes verification; never delivered "
		    "unverified");
	else if (dane_hosts > 0)
		reason(rep->relay, sizeof(rep->relay), "DANE: deliver only over "
		    "TLS verified against the TLSA records (%zu of %zu MX "
		    "hosts)", dane_ok, rep->nmx);
	else if (rep->sts_txt.valid)
		reason(rep->relay, sizeof(rep->relay), "MTA-STS (id %s): the "
		    "fetched policy decides; without it, opportunistic TLS",
		    rep->sts.id);
	else
		reason(rep->relay, sizeof(rep->relay), "opportunistic TLS: "
		    "encrypted when offered, not authenticated");
	if (dane_hosts == 0 && !rep->sts_txt.valid)
		problem(rep, TG_CHECK_WARNING, "sign the zone and publish TLSA "
		    "records for the MX hosts (DANE), or publish an MTA-STS "
		    "policy", "neither DANE nor MTA-STS protects mail to %s: a "
		    "network attacker can strip or intercept TLS",
		    rep->domain);
}

void
tg_check_judge(struct tg_check_report *rep)
{
	size_t i;

	rep->nproblems = 0;
	rep->could_not_check = 0;
	if (!judge_mx(rep)) {
		for (i = 0; i < rep->nmx; i++) {
			judge_host(rep, &rep->mx[i]);
			judge_host_transport(rep, &rep->mx[i]);
		}
		judge_domain_dane(rep);
		judge_relay(rep);
	}
	judge_txt_records(rep);
}
