/*
 * tests/unit/support/pki — a throw-away PKI in memory for unit tests:
 * P-256 keys, CA and leaf certificates with chosen names and validity,
 * and a TLS server context serving a given chain. Any failure aborts:
 * it is a bug in the test, not a test result.
 */
#ifndef TG_TEST_PKI_H
#define TG_TEST_PKI_H

#include <openssl/ssl.h>
#include <openssl/x509.h>

/* A new P-256 key (EVP_PKEY_free). */
EVP_PKEY *tg_test_key(void);

/*
 * A certificate for key named cn with the SAN dNSNames in the
 * NULL-terminated list sans (may be NULL), valid from now + from_days
 * to now + to_days, signed by issuer/issuer_key (issuer NULL:
 * self-signed). X509_free.
 */
X509 *tg_test_cert(EVP_PKEY *key, const char *cn, const char *const *sans,
    long from_days, long to_days, int is_ca, X509 *issuer,
    EVP_PKEY *issuer_key);

/* A TLS server context presenting leaf/key, followed by extra (may be
 * NULL) in the chain. SSL_CTX_free. */
SSL_CTX *tg_test_server_ctx(X509 *leaf, EVP_PKEY *key, X509 *extra);

#endif
