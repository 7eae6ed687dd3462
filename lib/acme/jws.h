/*
 * acme/jws — the cryptography of an ACME client (RFC 8555 §6.2, §8.1,
 * §7.4): JSON Web Signatures over requests, the account key's JWK and its
 * thumbprint, key authorizations, and certificate signing requests.
 *
 * Owns: the JWK of an ECDSA P-256 public key with its members in the
 * order RFC 7638 §3.2 hashes them, the JWK thumbprint (RFC 7638,
 * SHA-256), the protected header of
 * a request (alg ES256, nonce, url, and either jwk or kid: RFC 8555
 * §6.2), the flattened JWS JSON serialisation (RFC 7515 §7.2.2) with an
 * ES256 signature as the raw 64-byte r||s (RFC 7518 §3.4, not DER), and a
 * CSR for one DNS name (CN and subjectAltName) signed with the
 * certificate's own key (RFC 8555 §7.4).
 *
 * Does not own: base64url (util/b64url), keys on disk (tls/certfile, the
 * caller), HTTP, the protocol's sequence (acme/acme).
 *
 * Pure: no I/O, no globals, no logging. Keys are borrowed. The account
 * key must be ECDSA P-256; the CSR key may be any key OpenSSL signs with
 * SHA-256 (the MX and MTA-STS keys are P-256).
 */
#ifndef TG_ACME_JWS_H
#define TG_ACME_JWS_H

#include <openssl/evp.h>
#include <stddef.h>

#include "util/b64url.h"
#include "util/buf.h"
#include "util/err.h"

/* A JWK thumbprint: 43 base64url characters of a SHA-256 digest. */
#define TG_JWS_THUMBPRINT_LEN	43

/*
 * The public JWK of key (ECDSA P-256) as canonical JSON, no whitespace,
 * members in lexicographic order: {"crv":"P-256","kty":"EC","x":"..",
 * "y":".."} (x and y 32 bytes each, base64url). Appended to out. 0, or
 * -1 with err (another kind of key, out too small).
 */
int tg_jws_jwk(EVP_PKEY *key, struct tg_buf *out, struct tg_err *err);

/* The RFC 7638 thumbprint of key's JWK into out (TG_JWS_THUMBPRINT_LEN
 * + 1 bytes, NUL-terminated). 0, or -1 with err. */
int tg_jws_thumbprint(EVP_PKEY *key, char *out, size_t outlen,
    struct tg_err *err);

/*
 * The key authorization of a challenge token (RFC 8555 §8.1):
 * token "." thumbprint, into out (NUL-terminated). The token must be
 * 1..128 base64url characters. 0, or -1 with err.
 */
int tg_jws_key_authorization(EVP_PKEY *key, const char *token, char *out,
    size_t outlen, struct tg_err *err);

/*
 * Sign one ACME request with the account key: the protected header is
 * {"alg":"ES256","nonce":nonce,"url":url} plus "kid":kid when kid is not
 * NULL, else "jwk": the key's JWK (newAccount, revokeCert by key). payload
 * is the JSON text of the request, or "" for a POST-as-GET (RFC 8555
 * §6.3: the payload is then the empty string). The flattened JWS
 * {"protected":..,"payload":..,"signature":..} is appended to out. 0, or
 * -1 with err.
 */
int tg_jws_sign(EVP_PKEY *key, const char *kid, const char *nonce,
    const char *url, const char *payload, struct tg_buf *out,
    struct tg_err *err);

/*
 * A certificate signing request for name (a host name, lower case, at
 * most 253 characters) with key: subject CN=name, a subjectAltName with
 * DNS:name, SHA-256. A name longer than 64 characters cannot be a CN
 * (RFC 5280 ub-common-name): the subject is then empty and the
 * subjectAltName critical (RFC 5280 §4.2.1.6). The DER is appended to out
 * as base64url (the "csr" of a finalize request). 0, or -1 with err.
 */
int tg_jws_csr(EVP_PKEY *key, const char *name, struct tg_buf *out,
    struct tg_err *err);

#endif
