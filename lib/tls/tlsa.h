/*
 * tls/tlsa — TLSA records (RFC 6698) as SMTP uses them (RFC 7672).
 *
 * This module owns: the record type; parsing it from presentation text
 * and from DNS wire rdata; printing it; building records from a
 * certificate, a key or a chain; deciding which records are usable for
 * SMTP (RFC 7672 §3.1.3); digest algorithm agility (RFC 7671 §9); and
 * two pure questions a check asks of an RRset: "is a next key
 * pre-published?" and "does this chain match?".
 *
 * It does not own: DNS lookups or their DNSSEC status (dns), the TLS
 * handshake that enforces a match (tls/tls_client, which uses OpenSSL's
 * DANE code), nor publishing records (controller).
 *
 * Every function here is pure: no I/O, no globals, no logging.
 */
#ifndef TG_TLS_TLSA_H
#define TG_TLS_TLSA_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/err.h"
#include "util/limits.h"

/* RFC 6698 §2.1.1 certificate usages. */
#define TG_TLSA_USAGE_PKIX_TA	0	/* unusable for SMTP */
#define TG_TLSA_USAGE_PKIX_EE	1	/* unusable for SMTP */
#define TG_TLSA_USAGE_DANE_TA	2
#define TG_TLSA_USAGE_DANE_EE	3
/* RFC 6698 §2.1.2 selectors. */
#define TG_TLSA_SEL_CERT	0
#define TG_TLSA_SEL_SPKI	1
/* RFC 6698 §2.1.3 matching types. */
#define TG_TLSA_MT_FULL		0
#define TG_TLSA_MT_SHA256	1
#define TG_TLSA_MT_SHA512	2

/* "255 255 255 " plus two hex digits per byte plus NUL. */
#define TG_TLSA_TEXT_MAX	(12 + 2 * TG_TLSA_DATA_MAX + 1)

struct tg_tlsa_rr {
	uint8_t usage;
	uint8_t selector;
	uint8_t mtype;
	uint8_t data[TG_TLSA_DATA_MAX];	/* certificate association data */
	size_t len;			/* bytes used in data */
};

/*
 * Parse presentation form "3 1 1 ab12…" (RFC 6698 §2.2): three decimal
 * fields 0..255 separated by white space, then the association data in
 * hex, in which white space is allowed anywhere (as zone files wrap it).
 * At least one byte of data; an odd number of hex digits is an error.
 * text need not be NUL-terminated. Errors carry the byte offset.
 */
int tg_tlsa_parse_text(const char *text, size_t len, struct tg_tlsa_rr *rr,
    struct tg_err *err);

/*
 * Parse TLSA rdata as DNS returns it: usage, selector, mtype octets,
 * then the data (RFC 6698 §2.1). At least 3 bytes; data longer than
 * TG_TLSA_DATA_MAX is an error. Empty data parses (it is unusable).
 */
int tg_tlsa_parse_wire(const uint8_t *rdata, size_t len,
    struct tg_tlsa_rr *rr, struct tg_err *err);

/*
 * Print rr as "u s m hex" (lower-case hex, no spaces) into out; the
 * form RFC 8460 §4.4 uses in a TLSA policy-string. Returns 0, or -1 if
 * outlen is too small (TG_TLSA_TEXT_MAX always suffices).
 */
int tg_tlsa_print(const struct tg_tlsa_rr *rr, char *out, size_t outlen);

/* 1 if a and b are the same record (all fields and data), else 0. */
int tg_tlsa_equal(const struct tg_tlsa_rr *a, const struct tg_tlsa_rr *b);

/*
 * Build a record with the given usage, selector and mtype from cert
 * (borrowed): selector 0 covers the whole certificate, 1 its SPKI;
 * mtype 0 stores that DER, 1 its SHA-256, 2 its SHA-512.
 */
int tg_tlsa_from_cert(X509 *cert, uint8_t usage, uint8_t selector,
    uint8_t mtype, struct tg_tlsa_rr *rr, struct tg_err *err);

/* Same from a key (borrowed; public half used): selector must be 1. A
 * key-based record lets the next key be published before its
 * certificate exists (RFC 7671 §8.1). */
int tg_tlsa_from_key(EVP_PKEY *key, uint8_t usage, uint8_t selector,
    uint8_t mtype, struct tg_tlsa_rr *rr, struct tg_err *err);

/*
 * Same from a chain as the server sends it (leaf first, borrowed):
 * usage 3 (and 1) take the leaf; usage 2 (and 0) take the last
 * certificate of the chain — the issuer or top of chain, which the
 * server must then send (RFC 7671 §5.2). A one-certificate chain has no
 * trust anchor to name: usage 2 is then an error.
 */
int tg_tlsa_from_chain(STACK_OF(X509) *chain, uint8_t usage,
    uint8_t selector, uint8_t mtype, struct tg_tlsa_rr *rr,
    struct tg_err *err);

/*
 * 1 if rr is usable for SMTP, else 0 (RFC 7672 §3.1.3; RFC 6698 §4.1):
 * usage 2 or 3 (PKIX-TA/PKIX-EE are not usable for SMTP), selector 0 or
 * 1, mtype 0 with data present, 1 with exactly 32 bytes, 2 with exactly
 * 64 bytes. Anything else is unusable.
 */
int tg_tlsa_is_usable(const struct tg_tlsa_rr *rr);

/* Why rr is unusable ("usage 1 (PKIX-EE) is not usable for SMTP",
 * "SHA2-256 data is 31 bytes, not 32", …), or NULL if usable. The text
 * is static or written into buf (at least 96 bytes). */
const char *tg_tlsa_unusable_reason(const struct tg_tlsa_rr *rr, char *buf,
    size_t buflen);

/*
 * Digest algorithm agility, RFC 7671 §9 (and RFC 7672 §5): set keep[i]
 * to 1 for the records of rrs[0..n-1] a client uses, else 0, and return
 * how many are kept. Unusable records are never kept (so they cannot
 * shadow usable ones). Full(0) records are always kept. For each
 * (usage, selector) only the digest records with the strongest mtype
 * present are kept; strength order: SHA2-512 (2) > SHA2-256 (1).
 */
size_t tg_tlsa_agility(const struct tg_tlsa_rr *rrs, size_t n,
    unsigned char *keep);

/* Number of usable records in rrs[0..n-1]. */
size_t tg_tlsa_count_usable(const struct tg_tlsa_rr *rrs, size_t n);

/*
 * 1 if the RRset carries a rollover: among usable digest records
 * (mtype 1 or 2) with selector 1 and usage 2 or 3, two records with the
 * same usage, selector and mtype but different data — the current and
 * the next key or trust anchor published together (RFC 7671 §8.1).
 */
int tg_tlsa_has_rollover(const struct tg_tlsa_rr *rrs, size_t n);

/*
 * 1 if rr's data equals what cert gives for rr's selector and mtype,
 * 0 if not or if rr cannot be computed (unknown selector/mtype).
 * Usage is not looked at.
 */
int tg_tlsa_matches_cert(const struct tg_tlsa_rr *rr, X509 *cert);

/*
 * Does chain (leaf first, as the server sent it; borrowed) match the
 * RRset? Only records kept by tg_tlsa_agility count. DANE-EE(3)
 * records are compared with the leaf, DANE-TA(2) records with every
 * certificate above the leaf (depth >= 1). Returns 1 on a match and,
 * if the pointers are non-NULL, the index in rrs of the first matching
 * record and the chain depth it matched; 0 if nothing matches. This is
 * the comparison only: DANE-TA name and validity checks, and chain
 * signatures, are the handshake's business (tls/tls_client).
 */
int tg_tlsa_match_chain(const struct tg_tlsa_rr *rrs, size_t n,
    STACK_OF(X509) *chain, size_t *match_index, int *match_depth);

/* "PKIX-TA", "PKIX-EE", "DANE-TA", "DANE-EE" or "unknown". */
const char *tg_tlsa_usage_name(uint8_t usage);

#endif
