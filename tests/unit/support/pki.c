/*
 * tests/unit/support/pki — see pki.h.
 */
#include "pki.h"

#include <stdio.h>
#include <stdlib.h>

#include "tls/cert.h"
#include "util/clock.h"

static void
tg_test_die(const char *what, const struct tg_err *err)
{
	fprintf(stderr, "test PKI: %s: %s\n", what, err ? err->msg : "");
	abort();
}

EVP_PKEY *
tg_test_key(void)
{
	struct tg_err err;
	EVP_PKEY *k = tg_cert_key_new(&err);

	if (k == NULL)
		tg_test_die("key", &err);
	return k;
}

X509 *
tg_test_cert(EVP_PKEY *key, const char *cn, const char *const *sans,
    long from_days, long to_days, int is_ca, X509 *issuer,
    EVP_PKEY *issuer_key)
{
	struct tg_cert_template t = { 0 };
	struct tg_err err;
	time_t now = tg_clock_now();
	X509 *x;

	t.cn = cn;
	t.names = sans;
	while (sans != NULL && sans[t.n_names] != NULL)
		t.n_names++;
	t.not_before = now + from_days * 86400;
	t.not_after = now + to_days * 86400;
	t.is_ca = is_ca;
	if (tg_cert_issue(&t, key, issuer, issuer_key, &x, &err) < 0)
		tg_test_die("certificate", &err);
	return x;
}

SSL_CTX *
tg_test_server_ctx(X509 *leaf, EVP_PKEY *key, X509 *extra)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL || !SSL_CTX_use_certificate(ctx, leaf) ||
	    !SSL_CTX_use_PrivateKey(ctx, key) ||
	    (extra != NULL && !SSL_CTX_add1_chain_cert(ctx, extra)))
		tg_test_die("server context", NULL);
	return ctx;
}
