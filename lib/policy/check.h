/*
 * policy/check — the transport-security check of one mail domain.
 *
 * What `tlsgate check DOMAIN` prints, what the console shows and what the
 * controller's self-checks run. Two halves:
 *
 *   gathering (check.c): on the caller's libevent loop, with the caller's
 *   resolver, everything a sending MTA would look at — the MX RRset and its
 *   DNSSEC status, for every MX host its addresses, its TLSA RRset (with
 *   the CNAME rules of RFC 7672 §2.2.3) and a live STARTTLS session per
 *   address (smtp/probe) verified as our relay would verify it, plus the
 *   `_mta-sts` and `_smtp._tls` TXT records. Lookups and probes for all MX
 *   hosts run concurrently, each step with its own timeout.
 *
 *   judging (check_verdict.c): a pure function from those facts to a
 *   verdict per standard, what our relay would do, and a list of problems,
 *   each with a concrete fix. Table-tested without any network.
 *
 * MTA-STS (RFC 8461): when the `_mta-sts` TXT record is valid, the policy
 * is fetched as a sender fetches it (policy/sts: HTTPS, no redirects,
 * web PKI for mta-sts.<domain>, text/plain, size and time limits), every
 * MX host is matched against its mx patterns (a wildcard covers exactly
 * one label, RFC 8461 §4.1), and each MX host gets one more STARTTLS
 * session in PKIX mode (its first address; the MX host name as SNI and
 * reference identifier, the trust store of sts.ca_file) to see whether
 * its certificate is valid in the web PKI for that name (RFC 8461 §4.2).
 * When the caller passes the relay's policy cache (store/cache), the
 * report also says what the relay has cached, so a policy changed
 * without a new id shows up.
 *
 * Rendering to JSON lives in check_json.c; the terminal text in the CLI.
 */
#ifndef TG_POLICY_CHECK_H
#define TG_POLICY_CHECK_H

#include <stddef.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "dns/dns.h"
#include "dns/resolver.h"
#include "policy/sts.h"
#include "policy/stsclient.h"
#include "rpt/tlsrpt.h"
#include "smtp/probe.h"
#include "tls/tlsa.h"
#include "util/err.h"

#define TG_CHECK_MX_MAX		10	/* MX hosts examined */
#define TG_CHECK_ADDRS_MAX	4	/* addresses probed per MX host */
#define TG_CHECK_TLSA_MAX	16	/* TLSA records kept per MX host */
#define TG_CHECK_PROBLEMS_MAX	64
#define TG_CHECK_TEXT_MAX	512

/* Verdict on DANE, for one MX host and for the domain (RFC 7672). */
enum tg_check_dane {
	TG_CHECK_DANE_VALID = 0,	/* usable TLSA, every address
					   verified */
	TG_CHECK_DANE_INVALID,		/* usable TLSA, verification failed */
	TG_CHECK_DANE_NOT_PUBLISHED,	/* signed, but no TLSA RRset */
	TG_CHECK_DANE_BOGUS,		/* DNSSEC validation failed */
	TG_CHECK_DANE_UNSIGNED,		/* no DNSSEC: DANE not possible */
	TG_CHECK_DANE_UNKNOWN		/* lookups failed temporarily */
};

/* Verdict on MTA-STS for the domain (RFC 8461). */
enum tg_check_sts {
	TG_CHECK_STS_ENFORCE_VALID = 0,	/* enforce, every MX passes */
	TG_CHECK_STS_ENFORCE_INVALID,	/* enforce, some MX fails: no mail
					 * to it from enforcing senders */
	TG_CHECK_STS_TESTING,		/* valid policy in mode testing */
	TG_CHECK_STS_NONE,		/* valid policy in mode none */
	TG_CHECK_STS_INVALID,		/* bad TXT record or bad policy */
	TG_CHECK_STS_FETCH_ERROR,	/* TXT valid, the policy not fetched */
	TG_CHECK_STS_NOT_PUBLISHED,	/* no v=STSv1 TXT record */
	TG_CHECK_STS_UNKNOWN		/* lookup failed, or not fetched */
};

enum tg_check_severity {
	TG_CHECK_ERROR = 0,	/* mail is or can be lost, deferred or
				   downgraded */
	TG_CHECK_WARNING,	/* works now, breaks or weakens later */
	TG_CHECK_INFO
};

struct tg_check_problem {
	enum tg_check_severity severity;
	char message[TG_CHECK_TEXT_MAX];
	char fix[TG_CHECK_TEXT_MAX];	/* "" when there is nothing to do */
};

struct tg_check_addr {
	char addr[TG_DNS_ADDR_TEXT_SIZE];
	int probed;			/* 1 when the probe finished */
	struct tg_probe_result probe;
	int tlsa_match;			/* chain matched a usable TLSA record */
};

struct tg_check_mx {
	char host[TG_DNS_NAME_SIZE];
	unsigned pref;
	char canon[TG_DNS_NAME_SIZE];	/* final CNAME target, or host */
	int is_cname;
	/* Address lookups (A and AAAA together). */
	enum tg_dns_security addr_security;	/* weakest of A and AAAA */
	int addr_tempfail;
	char addr_error[TG_DNS_WHY_MAX];
	size_t naddrs;
	struct tg_check_addr addrs[TG_CHECK_ADDRS_MAX];
	/* TLSA (looked up only when the addresses are secure). */
	int tlsa_looked_up;
	char tlsa_base[TG_DNS_NAME_SIZE];	/* the TLSA base domain */
	char tlsa_owner[TG_DNS_NAME_SIZE + 16];	/* _25._tcp.<base> */
	enum tg_dns_status tlsa_status;
	enum tg_dns_security tlsa_security;
	char tlsa_why[TG_DNS_WHY_MAX];
	size_t ntlsa;
	struct tg_tlsa_rr tlsa[TG_CHECK_TLSA_MAX];
	size_t tlsa_usable;
	int tlsa_rollover;		/* a second usable digest is
					   published */
	/* Verdict for this host. */
	enum tg_check_dane dane;
	char dane_reason[TG_CHECK_TEXT_MAX];
	/* MTA-STS (judged when a policy was fetched). */
	int sts_match;			/* matches a pattern (RFC 8461 §4.1) */
	int sts_pattern;		/* index of that pattern, or -1 */
	int webpki_probed;		/* the PKIX session ended */
	char webpki_addr[TG_DNS_ADDR_TEXT_SIZE];
	struct tg_probe_result webpki;	/* PKIX mode, host = MX name */
	int webpki_valid;		/* a certificate valid for host */
};

struct tg_check_txt {
	int looked_up;
	enum tg_dns_status status;
	enum tg_dns_security security;
	size_t nrecords;		/* TXT records at the name */
	int valid;			/* exactly one valid record */
	char error[TG_CHECK_TEXT_MAX];
};

/* The MTA-STS policy fetch and what the relay's cache holds. */
struct tg_check_sts_facts {
	int fetched;			/* a fetch was made and ended */
	int ok;				/* it brought a valid policy */
	struct tg_sts_policy policy;	/* when ok */
	char url[TG_STS_URL_MAX + 1];
	long http_status;		/* 0 if none */
	const char *result_type;	/* RFC 8460 §4.3.2.2 of a failure */
	char error[TG_CHECK_TEXT_MAX];
	/* The relay's cache (when the check was given one). */
	int cached;			/* it holds a policy for the domain */
	char cached_id[TG_STS_ID_MAX + 1];
	enum tg_sts_mode cached_mode;
	long cached_max_age;
	time_t cached_fetched_at, cached_expires_at;
	int cached_differs;		/* the fetched policy is not the cached
					 * one (mode, max_age or mx) */
	/* Verdict. */
	enum tg_check_sts status;
	char reason[TG_CHECK_TEXT_MAX];
	size_t mx_ok;			/* MX hosts that pass the policy */
};

struct tg_check_report {
	char domain[TG_DNS_NAME_SIZE];
	time_t checked_at;		/* when the check started */
	/* MX */
	enum tg_dns_status mx_status;
	enum tg_dns_security mx_security;
	char mx_error[TG_DNS_WHY_MAX];
	int null_mx;			/* RFC 7505 */
	int implicit_mx;		/* NODATA: the domain itself
					   (RFC 5321 §5.1) */
	size_t nmx;
	struct tg_check_mx mx[TG_CHECK_MX_MAX];
	size_t mx_skipped;		/* MX hosts beyond TG_CHECK_MX_MAX */
	/* MTA-STS and TLS-RPT discovery records. */
	struct tg_check_txt sts_txt;
	struct tg_sts_txt sts;
	struct tg_check_sts_facts sts_policy;
	struct tg_check_txt tlsrpt_txt;
	struct tg_tlsrpt_txt tlsrpt;
	/* Verdict (check_verdict.c). */
	int could_not_check;		/* the MX lookup failed temporarily */
	enum tg_check_dane dane;
	char dane_reason[TG_CHECK_TEXT_MAX];
	char relay[TG_CHECK_TEXT_MAX];	/* what our relay would do */
	size_t nproblems;
	struct tg_check_problem problems[TG_CHECK_PROBLEMS_MAX];
};

struct tg_check_params {
	const char *domain;		/* borrowed, copied at start */
	const char *helo_name;		/* our EHLO name; borrowed */
	SSL_CTX *ctx;			/* borrowed: tg_tls_client_ctx_new */
	unsigned port;			/* SMTP port, 0 = 25 */
	int step_timeout_ms;		/* each probe step; 0 = 10 s */
	int probe;			/* 0: DNS only, no connections */
	/* MTA-STS: how to fetch a policy (borrowed, with its ctx, until
	 * the callback; NULL: no fetch), and the relay's cache to compare
	 * with (borrowed, read during tg_check_start; NULL: none). */
	const struct tg_stsclient_fetcher *sts_fetcher;
	struct tg_cache *sts_cache;
};

typedef void (*tg_check_cb)(struct tg_check_report *report, void *arg);

struct tg_check;

/*
 * Start checking params->domain using resolver r (borrowed, on the same
 * event base). The callback runs once, from the loop, with the report
 * (owned by the caller: free() it) after the verdict was computed. Returns
 * the check (cancel with tg_check_cancel before the callback runs, never
 * after) or NULL with err (bad domain name, out of memory).
 */
struct tg_check *tg_check_start(struct event_base *base,
    struct tg_resolver *r, const struct tg_check_params *params,
    tg_check_cb cb, void *arg, struct tg_err *err);

void tg_check_cancel(struct tg_check *c);

/*
 * Judge the facts in report: fill the per-host and domain verdicts, the
 * relay's decision and the problems (previous ones are discarded). Pure.
 */
void tg_check_judge(struct tg_check_report *report);

/* "valid", "invalid", "not-published", "bogus", "unsigned", "unknown". */
const char *tg_check_dane_name(enum tg_check_dane d);

/* "enforce-valid", "enforce-invalid", "testing", "none", "invalid",
 * "fetch-error", "not-published", "unknown". */
const char *tg_check_sts_name(enum tg_check_sts s);

/* "error", "warning", "info". */
const char *tg_check_severity_name(enum tg_check_severity s);

/* Count of problems at or above severity (ERROR counts only errors). */
size_t tg_check_count(const struct tg_check_report *report,
    enum tg_check_severity at_least);

/* The report as JSON (new reference), for --json and the console. */
json_t *tg_check_to_json(const struct tg_check_report *report);

#endif
