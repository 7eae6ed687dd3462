/*
 * policy/policy — the outbound TLS decision: for one destination domain,
 * what the relay requires of each MX host, and why.
 *
 * This module owns exactly one decision, tg_policy_decide(): a pure
 * function (it only logs its one line) from what DNS, the MTA-STS cache
 * and the local destination policy said, to
 *   - for the domain: deliver, defer (with the reason, the enhanced
 *     status code and the RFC 8460 result type) or bounce (no such
 *     domain, null MX);
 *   - for each MX host, in preference order: skip it (with the reason
 *     and result type) or try it with a TLS requirement, a verification
 *     mode and what TLS-RPT must record about the attempt.
 * It does not own: the lookups (smtp/delivery does them, with the CNAME
 * and TLSA-base rules of RFC 7672 §2.2.3), the MTA-STS cache and fetch
 * (policy/stsclient), the connections (smtp/client), nor recording the
 * outcome (store/reports).
 *
 * The rules, per MX host, in this order (RELIABILITY §3; RFC-CHECKLIST
 * items 1–16 and 25–40 as the sender applies them):
 *
 *   domain  MX answer bogus or a temporary failure: defer the domain,
 *           never fall back to address records (RFC 7672 §2.1.1, §2.2.1).
 *           NXDOMAIN, or the null MX "0 ." (RFC 7505 §3): bounce, no
 *           implicit MX. NODATA: the domain itself is the one MX host
 *           (RFC 5321 §5.1; the caller builds that host).
 *           The MTA-STS state or the local policy unknown (cache or
 *           store unreadable): defer — never deliver as if there were
 *           no policy.
 *   host    no address, or the address lookup failed or was bogus: skip.
 *   DANE    addresses secure and TLSA looked up (RFC 7672 §2.2.3):
 *             TLSA bogus or failed: skip the host, never treat it as
 *               "no TLSA" (RFC 7672 §2.2.3, RFC 6698 §4.1) —
 *               "dnssec-invalid";
 *             secure with >= 1 usable record: STARTTLS required, DANE
 *               authentication with those records, no fallback of any
 *               kind (RFC 7672 §2.2, §3) — and no MTA-STS, which must
 *               never override DANE (RFC 8461 §2);
 *             secure with only unusable records: TLS required, nothing
 *               authenticated (RFC 7672 §2.2, §3.1.3);
 *             secure NXDOMAIN/NODATA, or an insecure TLSA answer: no
 *               DANE for this host, on to the next rules.
 *           Addresses insecure: no TLSA lookup, no DANE (RFC 7672
 *           §2.2.3).
 *   local   dane-only and DANE did not apply with a usable record: skip,
 *           "dane-required" (RFC 7672 §6; RFC 8460 §4.3.2.1).
 *   STS     a policy in force (RFC 8461 §5): enforce — the host must
 *           match an mx pattern (§4.1), else it is skipped; if it does,
 *           STARTTLS and a web-PKI certificate valid for the host name
 *           (§4.2) are required. testing — deliver whatever happens,
 *           verify in report-only mode, and record what failed. mode none
 *           — as if there were no policy (§5). A failed discovery with no
 *           cached policy — as if there were no policy, recording the
 *           fetch failure (§3.3, §6).
 *   local   encrypt: TLS required, not authenticated (also the floor
 *           under MTA-STS testing); may: opportunistic.
 *   none    opportunistic STARTTLS.
 * report  a message that carries our verified report-submission marker
 *         (smtp/submark) is the one exception, which RFC 8460 §5.3.1
 *         demands: TLS reports "MUST" be delivered even when the TLS
 *         policy of the collector cannot be met, so after the MX and
 *         address rows every host is tried with opportunistic TLS and
 *         nothing is recorded for TLS-RPT. A bogus or failed MX answer
 *         still defers: the destination itself is unknown then.
 * route   a destination with a fixed next hop (mxd: a hosted domain's
 *         route to its internal mail server) is not the Internet: no MX,
 *         TLSA, MTA-STS or local policy applies and nothing is recorded
 *         for TLS-RPT; the route's host is tried with STARTTLS required
 *         or opportunistic, as the route says, and not authenticated.
 * When every host is skipped the domain is deferred with the first
 * skipped host's reason. Permanent failure is never decided here: a
 * policy can only defer (RFC 8461 §5.1: re-check the policy first).
 *
 * "Never downgrade" is asserted, not hoped for: a host with a secure
 * usable TLSA RRset is only ever tried with TLS required and DANE
 * verification without report-only; an enforce host only with TLS
 * required and PKIX; a dane-only destination only with DANE.
 */
#ifndef TG_POLICY_POLICY_H
#define TG_POLICY_POLICY_H

#include <stddef.h>

#include "dns/dns.h"
#include "policy/stspolicy.h"
#include "store/reports.h"
#include "store/store.h"
#include "tls/tls_client.h"
#include "tls/tlsa.h"
#include "util/limits.h"

/* What the connection must achieve before MAIL FROM. */
enum tg_policy_tls {
	TG_POLICY_TLS_MAY = 0,		/* STARTTLS if offered; else clear */
	TG_POLICY_TLS_REQUIRE		/* no TLS, no mail */
};

/* Which rule decided; named in the log line. */
enum tg_policy_rule {
	TG_POLICY_RULE_DNS = 0,		/* a DNS answer (bogus, failure,
					   none) */
	TG_POLICY_RULE_DANE,		/* secure TLSA RRset */
	TG_POLICY_RULE_STS,		/* MTA-STS policy */
	TG_POLICY_RULE_LOCAL,		/* tlsgate policy set DOMAIN ... */
	TG_POLICY_RULE_OPPORTUNISTIC,	/* nothing else applies */
	TG_POLICY_RULE_REPORT,		/* our own TLS report (submark) */
	TG_POLICY_RULE_ROUTE		/* a fixed next hop (mxd's routes) */
};

enum tg_policy_verdict {
	TG_POLICY_DELIVER = 0,		/* try the hosts marked TRY in order */
	TG_POLICY_DEFER,		/* temporary: keep queued */
	TG_POLICY_BOUNCE		/* permanent: no such destination */
};

/* MTA-STS as the cache and discovery see it now for the domain. */
enum tg_policy_sts_state {
	TG_POLICY_STS_NONE = 0,		/* no _mta-sts record, no cached
					   policy */
	TG_POLICY_STS_ACTIVE,		/* a valid policy (live or cached) */
	TG_POLICY_STS_FAILED,		/* a record, but no policy could be
					   had */
	TG_POLICY_STS_UNAVAILABLE	/* the cache could not be read:
					   unknown */
};

struct tg_policy_sts {
	enum tg_policy_sts_state state;
	const struct tg_sts_policy *policy;	/* ACTIVE: borrowed */
	const char *id;				/* ACTIVE: policy id, or NULL */
	/* FAILED: RFC 8460 §4.3.2.2 type ("sts-policy-fetch-error",
	 * "sts-policy-invalid", "sts-webpki-invalid") and why; borrowed. */
	const char *fail_type;
	const char *fail_reason;
};

/* One MX host, as the lookups found it; everything borrowed. */
struct tg_policy_host {
	const char *name;		/* the MX exchange name */
	unsigned pref;
	/* A and AAAA together: OK when at least one address was found;
	 * security is the weakest of the answers that carried records or
	 * failed (a family with NODATA says nothing). */
	enum tg_dns_status addr_status;
	enum tg_dns_security addr_security;
	/* TLSA: looked up only when the addresses are secure. */
	int tlsa_looked_up;
	enum tg_dns_status tlsa_status;
	enum tg_dns_security tlsa_security;
	const char *tlsa_base;		/* TLSA base domain
					   (RFC 7672 §2.2.3) */
	const struct tg_tlsa_rr *tlsa;	/* tlsa_n records (status OK) */
	size_t tlsa_n;
};

struct tg_policy_input {
	const char *domain;		/* the next-hop (policy) domain */
	enum tg_dns_status mx_status;
	enum tg_dns_security mx_security;
	int null_mx;			/* RFC 7505 null MX seen */
	const struct tg_policy_host *hosts;	/* in preference order */
	size_t nhosts;			/* <= TG_POLICY_MX_MAX */
	struct tg_policy_sts sts;
	int has_local;			/* a dest_policies row exists */
	enum tg_store_dest_mode local;
	int local_unavailable;		/* the store could not be read */
	/* A verified report of our own (smtp/submark; RFC 8460 §5.3.1):
	 * every host with an address is tried with opportunistic TLS. */
	int report_submission;
	/* A fixed next hop (the one host given; its addresses in hosts[0]):
	 * route_tls 1 requires STARTTLS there, 0 is opportunistic. */
	int route;
	int route_tls;
};

enum tg_policy_action {
	TG_POLICY_TRY = 0,
	TG_POLICY_SKIP
};

struct tg_policy_host_decision {
	enum tg_policy_action action;
	enum tg_policy_rule rule;
	/* TRY: what the connection must do. */
	enum tg_policy_tls tls;
	enum tg_tls_mode mode;		/* DANE, PKIX or OPPORTUNISTIC */
	int report_only;		/* verify, but never abort (testing) */
	int authenticated;		/* success means the peer was
					   verified */
	int mx_secure;			/* MX RRset secure (RFC 7672 §2.2.1) */
	/* SKIP: why, and the RFC 8460 result type to record (or NULL). */
	char reason[TG_POLICY_TEXT_MAX];
	const char *result_type;
	/* TLS-RPT: what an attempt through this host is recorded as. */
	enum tg_reports_policy_type rpt_type;
	char rpt_strings[TG_REPORTS_POLICY_MAX];	/* '\n'-joined */
	char rpt_mx[TG_REPORTS_TEXT_MAX];		/* '\n'-joined */
	/* A failure to record even when the session itself succeeds: the
	 * MTA-STS fetch failed, or testing-mode validation failed before
	 * connecting (an MX outside the patterns). NULL if none. */
	const char *rpt_failure;
	/* DANE-TA reference identifiers beyond the TLSA base domain: the
	 * MX host name and the next-hop domain, only with a secure MX
	 * RRset (RFC 7672 §3.2.2); pointers into the input. */
	const char *names[2];
	size_t n_names;
};

struct tg_policy_decision {
	enum tg_policy_verdict verdict;
	enum tg_policy_rule rule;	/* what decided the domain outcome */
	char status[8];			/* DEFER/BOUNCE: enhanced status code */
	const char *result_type;	/* DEFER: RFC 8460 type, or NULL */
	char reason[TG_POLICY_TEXT_MAX];	/* DEFER/BOUNCE: why */
	size_t nhosts;
	struct tg_policy_host_decision hosts[TG_POLICY_MX_MAX];
};

/*
 * THE decision (see the rules above). in and everything it points to
 * are borrowed and must outlive out (out->hosts[].names point into in).
 * sid (may be NULL) prefixes the one log line, which names the domain,
 * the verdict, the rule that decided and each host's action. Always
 * fills out; asserts on internal inconsistency (never on input).
 * Hosts beyond TG_POLICY_MX_MAX are ignored (RFC 5321 §5.1 lets a
 * sender limit the MX hosts it tries).
 */
void tg_policy_decide(const struct tg_policy_input *in,
    struct tg_policy_decision *out, const char *sid);

/*
 * The tg_tls_verify for trying host i of a DELIVER decision (in and out
 * as given to tg_policy_decide). The result borrows from both.
 */
void tg_policy_tls_verify(const struct tg_policy_input *in,
    const struct tg_policy_decision *out, size_t i, struct tg_tls_verify *v);

/*
 * RFC 8689 §4.2.1: 1 when a REQUIRETLS message may be tried at host
 * decision d (a TRY), if its TLS then authenticates: the MX name was
 * validated — the MX RRset secure and the host's TLSA records usable
 * (DANE), or the host matching an MTA-STS policy in force (enforce, or
 * testing with a matching pattern). Hosts reached any other way
 * (opportunistic, local encrypt, routes, our own reports): 0. An MX
 * found by DNSSEC alone, without TLSA or MTA-STS, would allow web-PKI
 * verification of its name; that is not tried (0).
 */
int tg_policy_requiretls_hop(const struct tg_policy_host_decision *d);

/* "dns", "dane", "mta-sts", "local", "opportunistic". */
const char *tg_policy_rule_name(enum tg_policy_rule r);

/* "deliver", "defer", "bounce". */
const char *tg_policy_verdict_name(enum tg_policy_verdict v);

#endif
