/*
 * dns/resolver_fake — a resolver that answers from a script, for tests.
 *
 * Unit tests of everything above the dns layer (policy, sts, tlsrpt, the
 * relay) plug this in instead of libunbound. A test scripts the answer
 * for each (name, type) it expects — status, security and the records in
 * zone-file presentation form — and the fake delivers it through the
 * same machinery as the real resolver: asynchronously, from a zero-delay
 * event on the test's event_base, never inside tg_resolver_query().
 *
 * Like libunbound, the fake follows CNAMEs: when (name, type) has no
 * script but (name, CNAME) does, the answer is the chain plus the answer
 * at the target, and its security is the weakest of all links (RFC 7672
 * §2.2.3 semantics, see dns/dns.h). A question with no script at all gets
 * TG_DNS_TEMPFAIL ("no scripted answer"), so a test notices an
 * unexpected lookup. Each question asked is counted, so a test can check
 * that a lookup did or did not happen (RFC 7672 §2.2.3: no TLSA query
 * for an insecure MX host).
 */
#ifndef TG_DNS_RESOLVER_FAKE_H
#define TG_DNS_RESOLVER_FAKE_H

#include "dns/resolver.h"

/* A fake resolver on base (borrowed). NULL when out of memory. Free
 * with tg_resolver_free(). */
struct tg_resolver *tg_resolver_fake_new(struct event_base *base);

/*
 * Script the answer for (name, rrtype), replacing an earlier one:
 * status and security as given, the records from rdata — zero or more
 * records of rrtype in presentation form separated by newlines, e.g.
 * "10 mx1.example.org.\n20 mx2.example.org." for MX (NULL or "" for
 * none) — each with TTL 300. A TG_DNS_BOGUS answer carries the why_bogus
 * text "scripted bogus answer". Returns 0, or -1 with err when r is not a
 * fake resolver, the name is invalid, a record does not parse (ldns), or
 * memory runs out.
 */
int tg_resolver_fake_add(struct tg_resolver *r, const char *name,
    uint16_t rrtype, enum tg_dns_status status,
    enum tg_dns_security security, const char *rdata, struct tg_err *err);

/* How many times (name, rrtype) has been asked so far (0 if r is not a
 * fake resolver). */
unsigned tg_resolver_fake_count(const struct tg_resolver *r, const char *name,
    uint16_t rrtype);

#endif
