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
#include "util/clock.h"
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
		tg_text_fmt(fix, fixlen, "%s `%s. IN TLSA 3 1 1 %s`", verb,
		    owner, key);
	else
		tg_text_fmt(fix, fixlen, "%s `%s. IN TLSA 3 1 1 <SHA-256 "
		    "of the server's public key>`", verb, owner);
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
		tg_text_fmt(fix, sizeof(fix), "put %s (the TLSA base domain) "
		    "in the certificate's subjectAltName, or publish a "
		    "DANE-EE (3 1 1) record instead", mx->tlsa_base);
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
		tg_text_fmt(fix, sizeof(fix), "sign the zone of %s with "
		    "DNSSEC, publish its DS at the parent, then publish TLSA",
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
			problem(rep, TG_CHECK_ERROR, "make the host accept "
			    "SMTP connections on port 25, or remove it from "
			    "the MX RRset", "MX %s [%s] is unreachable: %s; "
			    "senders fall back to the next MX", mx->host,
			    mx->addrs[i].addr, p->reason);
			break;
		case TG_PROBE_NO_STARTTLS:
		case TG_PROBE_STARTTLS_REFUSED:
			if (mx->tlsa_usable == 0)
				problem(rep, TG_CHECK_WARNING,
				    "enable STARTTLS on the server",
				    "%s [%s] does not offer STARTTLS (%s): "
				    "mail to it travels in clear", mx->host,
				    mx->addrs[i].addr, p->reason);
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
		problem(rep, TG_CHECK_INFO, NULL, "%zu further MX hosts were "
		    "not examined", rep->mx_skipped);
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

/* ---- MTA-STS (RFC 8461) ---- */

static const char *const sts_names[] = {
	"enforce-valid", "enforce-invalid", "testing", "none", "invalid",
	"fetch-error", "not-published", "unknown"
};

const char *
tg_check_sts_name(enum tg_check_sts s)
{
	if ((size_t)s < sizeof(sts_names) / sizeof(sts_names[0]))
		return sts_names[s];
	return "unknown";
}

/* The fix for a failed fetch, by what the error says: prefix URL suffix. */
static const struct {
	const char *needle, *prefix, *suffix;
} sts_fetch_fixes[] = {
	{ "redirect refused", "serve the policy at ", " itself with status "
	  "200: senders never follow redirects (RFC 8461 §3.3)" },
	{ "HTTP status 404", "publish the policy at ", "" },
	{ "HTTP status", "make ", " answer with status 200 (RFC 8461 §3.3)" },
	{ "Content-Type", "serve ", " with `Content-Type: text/plain` "
	  "(RFC 8461 §3.2)" },
	{ "body larger", "keep the policy at ", " under 64 KB (RFC 8461 "
	  "§3.3)" },
	{ "timed out", "make ", " answer within a minute (RFC 8461 §3.3)" },
	{ "refused to connect", "serve ", " from a public address: senders "
	  "do not connect to private, loopback or link-local ones" },
	{ "cannot resolve", "publish an address record for the host of ",
	  "" },
};

static void
fix_sts_fetch(const struct tg_check_report *rep, char *fix, size_t len)
{
	const struct tg_check_sts_facts *f = &rep->sts_policy;
	const char *url = f->url[0] != '\0' ? f->url :
	    "https://mta-sts.<domain>/.well-known/mta-sts.txt";
	size_t i;

	if (f->result_type != NULL &&
	    strcmp(f->result_type, TG_STS_RESULT_POLICY_INVALID) == 0) {
		tg_text_fmt(fix, len, "correct the policy at %s (RFC 8461 "
		    "§3.2), then change the id in `_mta-sts.%s`", url,
		    rep->domain);
		return;
	}
	if (f->result_type != NULL &&
	    strcmp(f->result_type, TG_FETCH_RESULT_WEBPKI_INVALID) == 0) {
		tg_text_fmt(fix, len, "give mta-sts.%s a certificate valid in "
		    "the web PKI for that name (a public CA, e.g. by ACME), "
		    "with its intermediate certificates", rep->domain);
		return;
	}
	for (i = 0; i < sizeof(sts_fetch_fixes) / sizeof(sts_fetch_fixes[0]);
	    i++)
		if (strstr(f->error, sts_fetch_fixes[i].needle) != NULL) {
			tg_text_fmt(fix, len, "%s%s%s",
			    sts_fetch_fixes[i].prefix, url,
			    sts_fetch_fixes[i].suffix);
			return;
		}
	tg_text_fmt(fix, len, "make %s answer over HTTPS from a public "
	    "address", url);
}

/* Status from discovery and fetch; 1 when a valid policy is there. */
static int
judge_sts_fetch(struct tg_check_report *rep)
{
	struct tg_check_sts_facts *f = &rep->sts_policy;
	const struct tg_check_txt *t = &rep->sts_txt;
	char fix[TG_CHECK_TEXT_MAX];
	int invalid;

	if (!t->looked_up) {
		f->status = TG_CHECK_STS_UNKNOWN;
		reason(f->reason, sizeof(f->reason), "not looked up");
		return 0;
	}
	if (t->status == TG_DNS_TEMPFAIL) {
		f->status = TG_CHECK_STS_UNKNOWN;
		reason(f->reason, sizeof(f->reason), "the _mta-sts lookup "
		    "failed: %s", t->error);
		problem(rep, TG_CHECK_WARNING, "make the `_mta-sts` TXT lookup "
		    "answer", "could not look up _mta-sts.%s (%s): senders "
		    "without a cached policy act as if there were no MTA-STS",
		    rep->domain, t->error);
		return 0;
	}
	if (!t->valid) {
		/* An invalid record: judge_txt_records names the problem. */
		f->status = t->nrecords > 0 ? TG_CHECK_STS_INVALID :
		    TG_CHECK_STS_NOT_PUBLISHED;
		reason(f->reason, sizeof(f->reason), "%s", t->nrecords > 0 ?
		    t->error : "no _mta-sts TXT record");
		return 0;
	}
	if (!f->fetched) {
		f->status = TG_CHECK_STS_UNKNOWN;
		reason(f->reason, sizeof(f->reason), "TXT id %s; the policy "
		    "was not fetched", rep->sts.id);
		return 0;
	}
	if (f->ok)
		return 1;
	invalid = f->result_type != NULL &&
	    strcmp(f->result_type, TG_STS_RESULT_POLICY_INVALID) == 0;
	f->status = invalid ? TG_CHECK_STS_INVALID : TG_CHECK_STS_FETCH_ERROR;
	reason(f->reason, sizeof(f->reason), "%s", f->error);
	fix_sts_fetch(rep, fix, sizeof(fix));
	problem(rep, TG_CHECK_ERROR, fix, "the MTA-STS policy of %s %s: %s: "
	    "senders without a cached copy act as if there were no MTA-STS "
	    "(RFC 8461 §3.3)", rep->domain, invalid ? "is invalid" :
	    "could not be fetched", f->error);
	return 0;
}

/* RFC 8461 §4.2: a certificate valid in the web PKI for the MX name. */
static void
judge_sts_webpki(struct tg_check_report *rep, struct tg_check_mx *mx,
    enum tg_check_severity sev)
{
	const struct tg_probe_result *p = &mx->webpki;
	const char *rt = p->tls.result_type != NULL ? p->tls.result_type : "";
	char fix[TG_CHECK_TEXT_MAX];

	mx->webpki_valid = p->tls_started && p->tls.handshake_done &&
	    p->tls.verified;
	if (!mx->webpki_probed || mx->webpki_valid)
		return;
	if (p->status == TG_PROBE_NO_STARTTLS ||
	    p->status == TG_PROBE_STARTTLS_REFUSED) {
		tg_text_fmt(fix, sizeof(fix), "enable STARTTLS on %s with a "
		    "certificate valid for that name", mx->host);
		problem(rep, sev, fix, "MX %s offers no STARTTLS (%s): senders "
		    "applying MTA-STS treat it as unreachable (RFC 8461 §4.2)",
		    mx->host, p->reason);
		return;
	}
	if (!p->tls_started || !p->tls.handshake_done)
		return;		/* unreachable: reported with the host */
	if (strcmp(rt, "certificate-host-mismatch") == 0)
		tg_text_fmt(fix, sizeof(fix), "get a certificate that names %s "
		    "in its subjectAltName from a public CA (e.g. by ACME)",
		    mx->host);
	else if (strcmp(rt, "certificate-expired") == 0)
		tg_text_fmt(fix, sizeof(fix), "renew the certificate of %s",
		    mx->host);
	else if (strcmp(rt, "certificate-not-trusted") == 0)
		tg_text_fmt(fix, sizeof(fix), "use a certificate for %s from a "
		    "CA of the web PKI, and send its intermediate certificates",
		    mx->host);
	else
		tg_text_fmt(fix, sizeof(fix), "install a certificate valid in "
		    "the web PKI for %s", mx->host);
	problem(rep, sev, fix, "the certificate of %s [%s] is not valid for "
	    "%s: %s: senders applying MTA-STS %s (RFC 8461 §4.2)", mx->host,
	    mx->webpki_addr, mx->host, p->tls.reason[0] != '\0' ?
	    p->tls.reason : p->tls.verify_error, sev == TG_CHECK_ERROR ?
	    "do not deliver to it" : "report the failure");
}

/* One MX host against the policy; 1 if it passes. */
static int
judge_sts_host(struct tg_check_report *rep, struct tg_check_mx *mx)
{
	const struct tg_check_sts_facts *f = &rep->sts_policy;
	enum tg_check_severity sev = f->policy.mode == TG_STS_MODE_ENFORCE ?
	    TG_CHECK_ERROR : TG_CHECK_WARNING;
	char fix[TG_CHECK_TEXT_MAX];
	size_t idx = 0;

	mx->sts_match = tg_sts_policy_match(&f->policy, mx->host, &idx);
	mx->sts_pattern = mx->sts_match ? (int)idx : -1;
	if (f->policy.mode == TG_STS_MODE_NONE) {
		mx->webpki_valid = mx->webpki_probed &&
		    mx->webpki.tls_started && mx->webpki.tls.handshake_done &&
		    mx->webpki.tls.verified;
		return 1;
	}
	if (!mx->sts_match) {
		tg_text_fmt(fix, sizeof(fix), "add `mx: %s` to the policy at "
		    "%s and change the id in `_mta-sts.%s` (RFC 8461 §8.1)",
		    mx->host, f->url, rep->domain);
		problem(rep, sev, fix, "MX %s matches no mx pattern of the "
		    "MTA-STS policy: senders applying it %s (RFC 8461 §4.1)",
		    mx->host, sev == TG_CHECK_ERROR ? "do not deliver to it" :
		    "report a failure");
	}
	judge_sts_webpki(rep, mx, sev);
	return mx->sts_match && (!mx->webpki_probed || mx->webpki_valid);
}

/* Patterns that match no MX host, and a short max_age. */
static void
judge_sts_hygiene(struct tg_check_report *rep)
{
	const struct tg_sts_policy *p = &rep->sts_policy.policy;
	size_t i, j;
	int used;

	for (i = 0; i < p->count && rep->nmx > 0; i++) {
		for (j = 0, used = 0; j < rep->nmx && !used; j++)
			used = tg_sts_mx_match(p->mx[i], rep->mx[j].host);
		if (!used)
			problem(rep, TG_CHECK_INFO, NULL, "mx pattern %s of "
			    "the MTA-STS policy matches no MX host of %s",
			    p->mx[i], rep->domain);
	}
	if (p->mode != TG_STS_MODE_NONE && p->max_age < 604800)
		problem(rep, TG_CHECK_INFO, "use a max_age of 604800 (a week) "
		    "or more, and change the id", "max_age %ld is short: RFC "
		    "8461 §3.2 expects weeks or more, so that an attacker who "
		    "blocks a refresh cannot soon make senders forget the "
		    "policy", p->max_age);
}

/* What the relay's cache holds against what was fetched now. */
static void
judge_sts_cache(struct tg_check_report *rep)
{
	const struct tg_check_sts_facts *f = &rep->sts_policy;
	char when[32], fix[TG_CHECK_TEXT_MAX];

	if (!f->cached)
		return;
	tg_clock_format(f->cached_fetched_at, when, sizeof(when));
	if (strcmp(f->cached_id, rep->sts.id) != 0) {
		problem(rep, TG_CHECK_INFO, NULL, "the relay's cache holds id "
		    "%s (fetched %s); the TXT record now says %s: the relay "
		    "fetches the new policy at its next delivery", f->cached_id,
		    when, rep->sts.id);
		return;
	}
	if (!f->cached_differs)
		return;
	tg_text_fmt(fix, sizeof(fix), "change the id in `_mta-sts.%s` "
	    "whenever the policy changes, e.g. to the date and time of the "
	    "change", rep->domain);
	problem(rep, TG_CHECK_WARNING, fix, "the policy changed but its id "
	    "did not (still %s, cached %s): senders that cached it keep the "
	    "old policy until it expires (RFC 8461 §3.1, §8.1)", f->cached_id,
	    when);
}

static void
judge_sts(struct tg_check_report *rep)
{
	struct tg_check_sts_facts *f = &rep->sts_policy;
	const struct tg_sts_policy *p = &f->policy;
	size_t i;

	f->mx_ok = 0;
	if (!judge_sts_fetch(rep))
		return;
	for (i = 0; i < rep->nmx; i++)
		f->mx_ok += judge_sts_host(rep, &rep->mx[i]);
	if (p->mode == TG_STS_MODE_NONE)
		f->status = TG_CHECK_STS_NONE;
	else if (p->mode == TG_STS_MODE_TESTING)
		f->status = TG_CHECK_STS_TESTING;
	else
		f->status = f->mx_ok == rep->nmx ? TG_CHECK_STS_ENFORCE_VALID :
		    TG_CHECK_STS_ENFORCE_INVALID;
	reason(f->reason, sizeof(f->reason), "id %s, mode %s, max_age %ld: "
	    "%zu of %zu MX hosts pass", rep->sts.id, tg_sts_mode_name(p->mode),
	    p->max_age, f->mx_ok, rep->nmx);
	if (p->mode == TG_STS_MODE_NONE)
		problem(rep, TG_CHECK_INFO, "set mode testing, then enforce, "
		    "to protect mail to the domain", "the MTA-STS policy of %s "
		    "is mode none: senders apply no MTA-STS (RFC 8461 §5)",
		    rep->domain);
	else if (p->mode == TG_STS_MODE_TESTING && f->mx_ok == rep->nmx)
		problem(rep, TG_CHECK_INFO, "set `mode: enforce` in the policy "
		    "and change the id in the _mta-sts record", "every MX host "
		    "passes the policy in mode testing: it is ready for mode "
		    "enforce");
	judge_sts_hygiene(rep);
	judge_sts_cache(rep);
}

/* The MTA-STS part of the relay's decision (RFC 8461 §5). */
static int
judge_relay_sts(struct tg_check_report *rep)
{
	const struct tg_check_sts_facts *f = &rep->sts_policy;

	switch (f->status) {
	case TG_CHECK_STS_ENFORCE_VALID:
	case TG_CHECK_STS_ENFORCE_INVALID:
		if (f->mx_ok == 0)
			reason(rep->relay, sizeof(rep->relay), "defer: MTA-STS "
			    "enforce (id %s) and no MX host passes (mx pattern "
			    "and web-PKI certificate); never delivered "
			    "unverified", rep->sts.id);
		else
			reason(rep->relay, sizeof(rep->relay), "MTA-STS "
			    "enforce (id %s): deliver only to MX hosts "
			    "matching the policy, over TLS with a web-PKI "
			    "certificate for their name (%zu of %zu MX "
			    "hosts)", rep->sts.id, f->mx_ok, rep->nmx);
		return 1;
	case TG_CHECK_STS_TESTING:
		reason(rep->relay, sizeof(rep->relay), "MTA-STS testing (id "
		    "%s): deliver with opportunistic TLS and report failures "
		    "(%zu of %zu MX hosts pass)", rep->sts.id, f->mx_ok,
		    rep->nmx);
		return 1;
	case TG_CHECK_STS_FETCH_ERROR:
	case TG_CHECK_STS_INVALID:
		if (!rep->sts_txt.valid)
			return 0;
		reason(rep->relay, sizeof(rep->relay), "opportunistic TLS: the "
		    "MTA-STS policy (id %s) could not be had; the relay "
		    "applies a cached copy if it has one (RFC 8461 §3.3)",
		    rep->sts.id);
		return 1;
	case TG_CHECK_STS_UNKNOWN:
		if (!rep->sts_txt.valid)
			return 0;
		reason(rep->relay, sizeof(rep->relay), "MTA-STS (id %s): the "
		    "fetched policy decides; without it, opportunistic TLS",
		    rep->sts.id);
		return 1;
	default:
		return 0;
	}
}

/* 1 if MTA-STS protects the domain (or may: policy not fetched). */
static int
judge_sts_protects(const struct tg_check_report *rep)
{
	enum tg_check_sts st = rep->sts_policy.status;

	return st == TG_CHECK_STS_ENFORCE_VALID ||
	    st == TG_CHECK_STS_ENFORCE_INVALID || st == TG_CHECK_STS_TESTING ||
	    (rep->sts_txt.valid && !rep->sts_policy.fetched);
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
		reason(rep->relay, sizeof(rep->relay), "DANE: deliver only "
		    "over TLS verified against the TLSA records (%zu of %zu "
		    "MX hosts)", dane_ok, rep->nmx);
	else if (!judge_relay_sts(rep))
		reason(rep->relay, sizeof(rep->relay), "opportunistic TLS: "
		    "encrypted when offered, not authenticated");
	/* RFC 8461 §2: DANE, where it applies, takes precedence. */
	if (dane_hosts == 0 && !judge_sts_protects(rep))
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
		judge_sts(rep);
		judge_relay(rep);
	} else {
		judge_sts(rep);
	}
	judge_txt_records(rep);
}
