/*
 * dns/dns — DNS answers as tlsgate sees them, and the record parsers.
 *
 * Every lookup in tlsgate ends in one struct tg_dns_answer. It always says
 * two things (STYLE rule 6, RFC 7672 §2.1):
 *   - the status: records found, the name does not exist (NXDOMAIN), the
 *     name exists without records of the type (NODATA), or a temporary
 *     failure (SERVFAIL, timeout, network, a malformed answer);
 *   - the DNSSEC security: secure, insecure, bogus — or indeterminate,
 *     which goes only with a temporary failure, where nothing was learnt.
 * It also carries libunbound's reason for a bogus answer, the TTL, the
 * canonical name with the CNAME chain that led to it, and the records
 * (raw rdata, at most TG_DNS_RR_MAX).
 *
 * A bogus answer keeps its status and records for diagnostics (tlsgate
 * check prints them), but nothing may act on them: RFC 7672 §2.1.1 and
 * §2.2.3 treat bogus like a lookup failure.
 *
 * This module owns: the answer type and its copy/free, building an answer
 * from a DNS response packet (ldns parses it), the typed record parsers
 * (MX, A/AAAA, TXT; TLSA rdata stays raw for the tlsa module) and the
 * names used when printing. It does not resolve anything itself: see
 * dns/resolver.h (the resolver interface), dns/resolver_unbound.h (the
 * real resolver) and dns/resolver_fake.h (scripted answers for tests),
 * plus tg_dns_resolve_sync() below for the CLI.
 */
#ifndef TG_DNS_DNS_H
#define TG_DNS_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/limits.h"

/* RR types tlsgate asks for (RFC 1035 §3.2.2, RFC 3596, RFC 6698). */
#define TG_DNS_T_A	1
#define TG_DNS_T_NS	2
#define TG_DNS_T_CNAME	5
#define TG_DNS_T_SOA	6
#define TG_DNS_T_MX	15
#define TG_DNS_T_TXT	16
#define TG_DNS_T_AAAA	28
#define TG_DNS_T_TLSA	52

/* A name in text form: lower case, no trailing dot, "." for the root. */
#define TG_DNS_NAME_SIZE (TG_DNAME_MAX + 1)

enum tg_dns_status {
	TG_DNS_OK = 0,		/* at least one record of the type */
	TG_DNS_NXDOMAIN,	/* the (final) name does not exist */
	TG_DNS_NODATA,		/* the name exists, no record of the type */
	TG_DNS_TEMPFAIL		/* SERVFAIL, timeout, network, malformed */
};

enum tg_dns_security {
	TG_DNS_INDETERMINATE = 0, /* only with TG_DNS_TEMPFAIL */
	TG_DNS_INSECURE,	/* no DNSSEC on the path (or no trust anchor) */
	TG_DNS_SECURE,		/* validated from the trust anchor */
	TG_DNS_BOGUS		/* validation failed: treat as a failure */
};

/* One record of the answer's RRset, rdata in uncompressed wire form. */
struct tg_dns_rr {
	uint16_t type;
	uint32_t ttl;
	uint16_t len;
	unsigned char *data;	/* owned by the answer; len bytes */
};

/* One CNAME link: owner is an alias for target. */
struct tg_dns_cname {
	char owner[TG_DNS_NAME_SIZE];
	char target[TG_DNS_NAME_SIZE];
};

/*
 * RFC 7672 §2.2.3 needs to know whether every link of a CNAME chain is
 * secure. libunbound validates the answer as a whole and reports the
 * weakest status among all of its RRsets, chain included: security ==
 * TG_DNS_SECURE therefore means every link and the final RRset are
 * secure; TG_DNS_INSECURE means at least one of them is not signed. A
 * caller that must know whether the first link alone is secure asks for
 * the CNAME type at the original name.
 */
struct tg_dns_answer {
	char qname[TG_DNS_NAME_SIZE];	/* the name asked for */
	uint16_t qtype;
	enum tg_dns_status status;
	enum tg_dns_security security;
	char why_bogus[TG_DNS_WHY_MAX];	/* libunbound's reason; "" unless
					   bogus */
	char error[TG_DNS_WHY_MAX];	/* what failed; "" unless TEMPFAIL */
	uint32_t ttl;			/* min TTL of chain+records, or the
					   negative TTL (RFC 2308 §5) */
	char canon[TG_DNS_NAME_SIZE];	/* final name after CNAMEs */
	size_t ncname;
	struct tg_dns_cname cname[TG_DNS_CNAME_MAX]; /* qname first */
	size_t nrr;
	struct tg_dns_rr *rr;		/* owned; nrr records at canon */
	int truncated;			/* the RRset had more than
					   TG_DNS_RR_MAX */
};

/* A parsed MX record (RFC 1035 §3.3.9). */
struct tg_dns_mx {
	uint16_t pref;
	char exchange[TG_DNS_NAME_SIZE];	/* "." for the root */
	int is_null;		/* RFC 7505 §3: "0 ." — no mail accepted */
};

/* Text form of an address record: fits an IPv6 address. */
#define TG_DNS_ADDR_TEXT_SIZE 46

/* --- Names for printing. All return static strings. --- */

/* "ok", "nxdomain", "nodata", "temporary failure". */
const char *tg_dns_status_name(enum tg_dns_status st);

/* "secure", "insecure", "bogus", "indeterminate". */
const char *tg_dns_security_name(enum tg_dns_security sec);

/* "MX", "TLSA", ...; "unknown" for a type ldns does not know. */
const char *tg_dns_type_name(uint16_t type);

/* --- Answers. --- */

/*
 * A new answer for (qname, qtype) with no records, the given status and
 * security, and error (printf-style; "" for none) as its error text.
 * Returns NULL when out of memory or when qname does not fit.
 */
struct tg_dns_answer *tg_dns_answer_new(const char *qname, uint16_t qtype,
    enum tg_dns_status status, enum tg_dns_security security,
    const char *error, ...) __attribute__((format(printf, 5, 6)));

/*
 * Append one record (rdata copied) to ans; sets ans->truncated instead
 * when TG_DNS_RR_MAX records are already there. Returns 0, or -1 when
 * out of memory (the answer is unchanged).
 */
int tg_dns_answer_add_rr(struct tg_dns_answer *ans, uint16_t type,
    uint32_t ttl, const unsigned char *data, size_t len);

/*
 * Build the answer for (qname, qtype) from a DNS response packet in wire
 * form, as libunbound's event callback hands it over (rcode is
 * libunbound's error code for the query, 0 when the packet is valid; sec
 * its 0 insecure / 1 bogus / 2 secure; why_bogus may be NULL). Walks the
 * CNAME chain from the question, takes the records of qtype at the final
 * name, computes the TTL. Never fails for bad input — a packet that
 * cannot be parsed, a chain loop or a too long chain gives TG_DNS_TEMPFAIL
 * with the reason in ->error. Returns NULL only when out of memory.
 */
struct tg_dns_answer *tg_dns_answer_from_wire(const char *qname,
    uint16_t qtype, int rcode, const unsigned char *pkt, size_t len,
    int sec, const char *why_bogus);

/* A deep copy of ans, or NULL when out of memory. */
struct tg_dns_answer *tg_dns_answer_dup(const struct tg_dns_answer *ans);

/* Free an answer and its records. NULL-safe. */
void tg_dns_answer_free(struct tg_dns_answer *ans);

/* --- Record parsers: pure, bounded, rdata borrowed. --- */

/*
 * The name that is the whole rdata of an NS, CNAME or PTR record, in the
 * text form of MX exchanges below (lower case, no final dot) into out.
 * 0, or -1 with err (permanent) when malformed, too long for outlen, or
 * followed by extra bytes.
 */
int tg_dns_name_parse(const unsigned char *rdata, size_t len, char *out,
    size_t outlen, struct tg_err *err);

/*
 * Parse MX rdata into out. Returns 0, or -1 with err (permanent) when the
 * rdata is shorter than 3 bytes, the exchange name is malformed, longer
 * than TG_DNAME_MAX in text, or followed by extra bytes.
 */
int tg_dns_mx_parse(const unsigned char *rdata, size_t len,
    struct tg_dns_mx *out, struct tg_err *err);

/*
 * Parse every MX record of ans (records of another type are skipped)
 * into out (room for max entries), sorted by preference, stable among
 * equals. *n receives the count. Returns 0, or -1 with err when a record
 * is malformed or there are more than max.
 */
int tg_dns_answer_mx(const struct tg_dns_answer *ans, struct tg_dns_mx *out,
    size_t max, size_t *n, struct tg_err *err);

/*
 * Text form of A (4 bytes) or AAAA (16 bytes) rdata into out (at least
 * TG_DNS_ADDR_TEXT_SIZE bytes). Returns 0, or -1 with err when the type
 * is neither or the length does not match it.
 */
int tg_dns_addr_text(uint16_t type, const unsigned char *rdata, size_t len,
    char *out, size_t outlen, struct tg_err *err);

/*
 * Join the character-strings of one TXT record without separators
 * (RFC 8461 §3.1, RFC 8460 §3: a record split into several strings is
 * read as their concatenation) into out, NUL-terminated; *textlen (may be
 * NULL) gets its length. Returns 0, or -1 with err when a string runs
 * past the rdata, the rdata is empty, a NUL byte occurs (no record
 * tlsgate reads may hold one, and C string handling would cut it short),
 * or the text does not fit outlen - 1 bytes.
 */
int tg_dns_txt_join(const unsigned char *rdata, size_t len, char *out,
    size_t outlen, size_t *textlen, struct tg_err *err);

/* --- Synchronous helper for the CLI and tests. --- */

struct tg_resolver_config;

/* One question for tg_dns_resolve_sync(). */
struct tg_dns_question {
	const char *name;	/* borrowed */
	uint16_t rrtype;
};

/*
 * Resolve n questions (at most TG_DNS_SYNC_MAX) at once with a libunbound
 * resolver built from cfg on a private event loop, and wait until every
 * one is answered or the timeout of cfg has passed (a question still open
 * then gets a TG_DNS_TEMPFAIL answer). out[i] receives the answer to
 * qs[i], owned by the caller (tg_dns_answer_free). Returns 0 when every
 * out[i] is set, or -1 with err (the resolver could not be set up, out of
 * memory) and every out[i] NULL.
 */
int tg_dns_resolve_sync(const struct tg_resolver_config *cfg,
    const struct tg_dns_question *qs, size_t n, struct tg_dns_answer **out,
    struct tg_err *err);

#endif
