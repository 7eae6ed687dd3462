/*
 * tls/tls_client — the client side of TLS for SMTP, in three
 * verification modes, on OpenSSL.
 *
 * This module owns: the client SSL_CTX (TLS >= 1.2, the PKIX trust
 * store, DANE enabled); configuring one SSL for one connection in DANE,
 * PKIX or opportunistic mode; and, after the handshake, a plain result
 * struct saying what was negotiated, what verification found and the
 * RFC 8460 result type of any failure. OpenSSL does all matching and
 * X.509 work (SSL_dane_*, X509_VERIFY_PARAM); this module decides only
 * what to hand it.
 *
 * It does not own: sockets or the event loop (the caller drives the
 * handshake: smtp/probe, the SMTP client), choosing the mode or the
 * reference identifiers (policy), DNS.
 *
 * Modes:
 *
 *   DANE (RFC 7672): only usable TLSA records (usage 2 or 3, see
 *   tls/tlsa) kept by digest agility (RFC 7671 §9) are given to
 *   SSL_dane_tlsa_add; PKIX-TA/PKIX-EE are never used (RFC 7672
 *   §3.1.3). DANE-EE(3) matches ignore names and validity dates
 *   (DANE_FLAG_NO_DANE_EE_NAMECHECKS; RFC 7672 §3.1.1, RFC 7671 §5.1).
 *   DANE-TA(2) matches need a valid chain to the TA and a leaf name
 *   equal to a reference identifier: the TLSA base domain, plus any
 *   names the caller adds — the MX host name and the next-hop domain,
 *   only when the MX RRset was secure (RFC 7672 §3.2.2). SNI is the
 *   TLSA base domain (RFC 7672 §8.1). No partial wildcards ("w*.x").
 *   When no record is usable, TLS is still mandatory but nothing is
 *   authenticated (RFC 7672 §2.2, §3.1.3): auth_required is 0.
 *
 *   PKIX (MTA-STS, RFC 8461 §4.2): web-PKI chain to the trust store and
 *   the MX host name as DNS-ID (no partial wildcards); SNI is the MX
 *   host name (RFC 8461 §7.1).
 *
 *   OPPORTUNISTIC: no verification is enforced; the result still says
 *   what PKIX verification against host would have said.
 *
 * In DANE (with usable records) and PKIX modes a verification failure
 * aborts the handshake (RFC 6698 §4.1, RFC 7672 §3), unless report_only
 * is set: a check then completes the handshake and reports verified = 0.
 *
 * RFC 8460 §4.3 result types (tg_tls_result_type), from the X.509
 * verification error:
 *   X509_V_ERR_DANE_NO_MATCH (no usable TLSA record matched the chain)
 *                                               -> "tlsa-invalid"
 *   a DANE RRset with no usable record          -> "tlsa-invalid"
 *   X509_V_ERR_HOSTNAME_MISMATCH                -> "certificate-host-mismatch"
 *   X509_V_ERR_CERT_HAS_EXPIRED                 -> "certificate-expired"
 *   no chain to a trust anchor (unknown issuer, self-signed, untrusted,
 *   rejected, invalid CA)                       -> "certificate-not-trusted"
 *   any other verification error, and a handshake that failed without
 *   a verification error (protocol, no shared cipher, peer alert)
 *                                               -> "validation-failure"
 * "starttls-not-supported" is decided by the SMTP layer (smtp/probe).
 *
 * Session resumption (RELIABILITY O-10): the context caches nothing by
 * itself (SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE).
 * A caller that adds a session cache must key it with
 * tg_tls_session_key, which covers the peer, the mode, the names and
 * the TLSA records, so a changed TLSA RRset never resumes a session
 * authenticated under the old one.
 */
#ifndef TG_TLS_TLS_CLIENT_H
#define TG_TLS_TLS_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>

#include "tls/tlsa.h"
#include "util/err.h"
#include "util/limits.h"

enum tg_tls_mode {
	TG_TLS_OPPORTUNISTIC = 0,
	TG_TLS_DANE,
	TG_TLS_PKIX
};

/* What to verify on one connection. Every pointer is borrowed and must
 * stay valid until tg_tls_client_result has been called. */
struct tg_tls_verify {
	enum tg_tls_mode mode;
	/* DANE */
	const char *tlsa_base;		/* TLSA base domain: SNI, first name */
	const struct tg_tlsa_rr *tlsa;	/* the secure TLSA RRset */
	size_t tlsa_n;
	const char *const *names;	/* more DANE-TA reference identifiers */
	size_t n_names;
	/* PKIX and OPPORTUNISTIC */
	const char *host;		/* MX host name: SNI and DNS-ID */
	/* all modes */
	int report_only;		/* 1: never abort on a verify failure */
};

struct tg_tls_cert_info {
	char subject[TG_CERT_TEXT_MAX];
	char issuer[TG_CERT_TEXT_MAX];
	time_t not_before;
	time_t not_after;
};

struct tg_tls_result {
	enum tg_tls_mode mode;
	int handshake_done;	/* 1: a TLS session was established */
	int auth_required;	/* 1: DANE with usable records, or PKIX */
	int verified;		/* 1: authenticated as the mode demands */
	size_t tlsa_usable;	/* DANE: records handed to OpenSSL */
	int dane_depth;		/* chain depth of the DANE match, -1 none */
	int tlsa_index;		/* index in verify->tlsa of the match, -1 */
	uint8_t tlsa_usage;	/* the matched record's fields */
	uint8_t tlsa_selector;
	uint8_t tlsa_mtype;
	char version[16];	/* "TLSv1.3", "" before a handshake */
	char cipher[64];
	size_t chain_n;		/* peer chain as sent, leaf first */
	struct tg_tls_cert_info chain[TG_CHAIN_MAX];
	char leaf_spki_sha256[65]; /* served key as "3 1 1" data, hex */
	long verify_code;	/* X509_V_OK or X509_V_ERR_* */
	char verify_error[128];	/* X509_verify_cert_error_string */
	char reason[256];	/* one line for people, "" when verified */
	const char *result_type; /* RFC 8460 §4.3 (see above), or NULL */
};

#define TG_TLS_SESSION_KEY_LEN 64	/* hex SHA-256 */

/*
 * A client context: TLS 1.2 minimum, peer verification off by default
 * (each SSL sets its own), DANE enabled (SSL_CTX_dane_enable), the PKIX
 * trust store from ca_file (PEM bundle) or, when ca_file is NULL, from
 * OpenSSL's default locations. The caller owns the result (SSL_CTX_free).
 */
SSL_CTX *tg_tls_client_ctx_new(const char *ca_file, struct tg_err *err);

/*
 * A new SSL (owned by the caller: SSL_free, or the bufferevent that
 * takes it) in connect state, configured for v. The caller attaches it
 * to a transport and drives SSL_do_handshake. Errors: DANE without a
 * TLSA base domain, PKIX without host, OpenSSL failures.
 */
SSL *tg_tls_client_new(SSL_CTX *ctx, const struct tg_tls_verify *v,
    struct tg_err *err);

/*
 * Fill res after the handshake ended (handshake_ok 1) or failed (0);
 * v must be the one given to tg_tls_client_new. Reads and clears the
 * thread's OpenSSL error queue for the failure reason.
 */
void tg_tls_client_result(SSL *ssl, const struct tg_tls_verify *v,
    int handshake_ok, struct tg_tls_result *res);

/* 1 if res is good enough to send mail: TLS established and, if the
 * mode requires authentication, verified. */
int tg_tls_result_ok(const struct tg_tls_result *res);

/* The RFC 8460 §4.3 result type for an X.509 verification error code
 * (mapping above); NULL for X509_V_OK. */
const char *tg_tls_result_type(long verify_code);

/* "opportunistic", "dane" or "pkix". */
const char *tg_tls_mode_name(enum tg_tls_mode mode);

/*
 * The session cache key for a connection to peer (e.g. "192.0.2.1:25")
 * under v: hex SHA-256 over peer, mode, SNI/names and every TLSA record
 * in order, written to out (TG_TLS_SESSION_KEY_LEN + 1 bytes).
 */
void tg_tls_session_key(const struct tg_tls_verify *v, const char *peer,
    char out[TG_TLS_SESSION_KEY_LEN + 1]);

#endif
