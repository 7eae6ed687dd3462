/*
 * Unit tests for tls/cert: loading, digests, names, validity and
 * certificate generation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "support/pki.h"
#include "tls/cert.h"
#include "util/buf.h"
#include "util/clock.h"

struct tmpdir {
	char path[64];
	char key[128];
	char cert[128];
};

static void
tmpdir_make(struct tmpdir *d)
{
	snprintf(d->path, sizeof(d->path), "/tmp/tg-cert-XXXXXX");
	assert_non_null(mkdtemp(d->path));
	snprintf(d->key, sizeof(d->key), "%s/key.pem", d->path);
	snprintf(d->cert, sizeof(d->cert), "%s/cert.pem", d->path);
}

static void
tmpdir_remove(struct tmpdir *d)
{
	unlink(d->key);
	unlink(d->cert);
	assert_int_equal(rmdir(d->path), 0);
}

/* PEM text of a certificate into a malloc'd string. */
static char *
pem_of(X509 *x, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	assert_true(PEM_write_bio_X509(bio, x));
	n = BIO_get_mem_data(bio, &p);
	out = malloc((size_t)n + 1);
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	BIO_free(bio);
	return out;
}

static void
test_self_signed_files(void **state)
{
	const char *names[] = { "mx.example.org", "example.org" };
	STACK_OF(X509) *chain;
	struct tg_cert_names nm;
	struct tg_err err;
	struct tmpdir d;
	struct stat st;
	EVP_PKEY *key;
	time_t nb, na, now = tg_clock_now();

	(void)state;
	tmpdir_make(&d);
	assert_int_equal(tg_cert_make_self_signed(names, 2, 90, d.key, d.cert,
	    &err), 0);
	assert_int_equal(stat(d.key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(d.cert, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(tg_cert_chain_load_file(d.cert, &chain, &err), 0);
	assert_int_equal(sk_X509_num(chain), 1);
	assert_int_equal(tg_cert_key_load_file(d.key, &key, &err), 0);
	assert_true(tg_cert_key_matches(sk_X509_value(chain, 0), key));
	tg_cert_names(sk_X509_value(chain, 0), &nm);
	assert_int_equal(nm.n, 2);
	assert_false(nm.from_cn);
	assert_string_equal(nm.name[0], "mx.example.org");
	assert_string_equal(nm.name[1], "example.org");
	assert_string_equal(nm.cn, "mx.example.org");
	assert_int_equal(tg_cert_validity(sk_X509_value(chain, 0), &nb, &na,
	    &err), 0);
	assert_true(nb <= now && nb >= now - 3700);
	assert_true(na >= now + 90 * 86400 - 5 && na <= now + 90 * 86400 + 5);
	/* Never replaces an existing key or certificate. */
	assert_int_equal(tg_cert_make_self_signed(names, 2, 90, d.key, d.cert,
	    &err), -1);
	assert_non_null(strstr(err.msg, "exists"));
	EVP_PKEY_free(key);
	tg_cert_chain_free(chain);
	tmpdir_remove(&d);
}

static void
test_self_signed_refusals(void **state)
{
	const char *good[] = { "mx.example.org" };
	const char *bad[] = { "mx_1.example.org" };
	const char *upper[] = { "MX.example.org" };
	struct tg_err err;
	struct tmpdir d;
	struct stat st;

	(void)state;
	tmpdir_make(&d);
	assert_int_equal(tg_cert_make_self_signed(good, 1, 0, d.key, d.cert,
	    &err), -1);
	assert_int_equal(tg_cert_make_self_signed(good, 1, TG_CERT_DAYS_MAX + 1,
	    d.key, d.cert, &err), -1);
	assert_int_equal(tg_cert_make_self_signed(bad, 1, 30, d.key, d.cert,
	    &err), -1);
	assert_int_equal(tg_cert_make_self_signed(upper, 1, 30, d.key, d.cert,
	    &err), -1);
	assert_int_equal(tg_cert_make_self_signed(good, 0, 30, d.key, d.cert,
	    &err), -1);
	assert_int_not_equal(stat(d.key, &st), 0);
	assert_int_not_equal(stat(d.cert, &st), 0);
	/* An existing certificate path stops the key from being written. */
	fclose(fopen(d.cert, "w"));
	assert_int_equal(tg_cert_make_self_signed(good, 1, 30, d.key, d.cert,
	    &err), -1);
	assert_int_not_equal(stat(d.key, &st), 0);
	tmpdir_remove(&d);
}

static void
test_chain_load_mem(void **state)
{
	EVP_PKEY *ck = tg_test_key(), *lk = tg_test_key();
	const char *sans[] = { "mx.example.net", NULL };
	X509 *ca = tg_test_cert(ck, "Test CA", NULL, -1, 30, 1, NULL, NULL);
	X509 *leaf = tg_test_cert(lk, NULL, sans, -1, 30, 0, ca, ck);
	STACK_OF(X509) *chain;
	struct tg_buf b;
	struct tg_err err;
	size_t l1, l2, i;
	char *p1 = pem_of(leaf, &l1), *p2 = pem_of(ca, &l2);

	(void)state;
	tg_buf_init(&b, TG_CERT_FILE_MAX + 100);
	assert_int_equal(tg_buf_append(&b, p1, l1), 0);
	assert_int_equal(tg_buf_append(&b, p2, l2), 0);
	assert_int_equal(tg_cert_chain_load_mem(b.data, b.len, &chain, &err),
	    0);
	assert_int_equal(sk_X509_num(chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 0), leaf), 0);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 1), ca), 0);
	tg_cert_chain_free(chain);
	/* A damaged second block is an error, not a shorter chain. */
	assert_int_equal(tg_cert_chain_load_mem(b.data, b.len - 40, &chain,
	    &err), -1);
	assert_null(chain);
	assert_int_equal(tg_cert_chain_load_mem("hello", 5, &chain, &err), -1);
	assert_int_equal(tg_cert_chain_load_mem("", 0, &chain, &err), -1);
	/* More than TG_CHAIN_MAX certificates. */
	for (i = 2; i <= TG_CHAIN_MAX; i++)
		assert_int_equal(tg_buf_append(&b, p1, l1), 0);
	assert_int_equal(tg_cert_chain_load_mem(b.data, b.len, &chain, &err),
	    -1);
	assert_non_null(strstr(err.msg, "more than"));
	/* Larger than the limit: refused before parsing. */
	while (b.len <= TG_CERT_FILE_MAX)
		assert_int_equal(tg_buf_append(&b, "\n\n\n\n\n\n\n\n", 8), 0);
	assert_int_equal(tg_cert_chain_load_mem(b.data, b.len, &chain, &err),
	    -1);
	assert_non_null(strstr(err.msg, "larger"));
	tg_buf_free(&b);
	free(p1);
	free(p2);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(ck);
}

static void
test_key_load(void **state)
{
	EVP_PKEY *k = tg_test_key(), *got;
	struct tg_err err;
	BIO *bio;
	char *p;
	long n;

	(void)state;
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL,
	    NULL));
	n = BIO_get_mem_data(bio, &p);
	assert_int_equal(tg_cert_key_load_mem(p, (size_t)n, &got, &err), 0);
	assert_int_equal(EVP_PKEY_eq(k, got), 1);
	EVP_PKEY_free(got);
	BIO_free(bio);
	/* An encrypted key is refused and nobody is prompted. */
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PrivateKey(bio, k, EVP_aes_128_cbc(),
	    (unsigned char *)"secret", 6, NULL, NULL));
	n = BIO_get_mem_data(bio, &p);
	assert_int_equal(tg_cert_key_load_mem(p, (size_t)n, &got, &err), -1);
	assert_null(got);
	BIO_free(bio);
	assert_int_equal(tg_cert_key_load_file("/nonexistent/key.pem", &got,
	    &err), -1);
	EVP_PKEY_free(k);
}

static void
test_digests(void **state)
{
	EVP_PKEY *k = tg_test_key();
	const char *sans[] = { "a.example", NULL };
	X509 *x = tg_test_cert(k, NULL, sans, -1, 1, 0, NULL, NULL);
	unsigned char d1[TG_CERT_DIGEST_MAX], d2[TG_CERT_DIGEST_MAX];
	unsigned char ref[EVP_MAX_MD_SIZE], *der1, *der2;
	size_t l1, l2;
	unsigned int rl;
	struct tg_err err;

	(void)state;
	/* Full certificate digests agree with OpenSSL's X509_digest. */
	assert_int_equal(tg_cert_digest(x, TG_CERT_PART_FULL,
	    TG_CERT_MD_SHA256, d1, &l1, &err), 0);
	assert_int_equal(l1, 32);
	assert_true(X509_digest(x, EVP_sha256(), ref, &rl));
	assert_memory_equal(d1, ref, 32);
	assert_int_equal(tg_cert_digest(x, TG_CERT_PART_FULL,
	    TG_CERT_MD_SHA512, d1, &l1, &err), 0);
	assert_int_equal(l1, 64);
	assert_true(X509_digest(x, EVP_sha512(), ref, &rl));
	assert_memory_equal(d1, ref, 64);
	/* The SPKI of the certificate is the SPKI of its key. */
	assert_int_equal(tg_cert_der(x, TG_CERT_PART_SPKI, &der1, &l1, &err),
	    0);
	assert_int_equal(tg_cert_key_spki_der(k, &der2, &l2, &err), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(der1, der2, l1);
	assert_int_equal(tg_cert_digest(x, TG_CERT_PART_SPKI,
	    TG_CERT_MD_SHA256, d1, &l1, &err), 0);
	assert_int_equal(tg_cert_digest_data(TG_CERT_MD_SHA256, der2, l2, d2,
	    &l2, &err), 0);
	assert_memory_equal(d1, d2, 32);
	assert_int_equal(tg_cert_digest(x, TG_CERT_PART_SPKI, TG_CERT_MD_NONE,
	    d1, &l1, &err), -1);
	OPENSSL_free(der1);
	OPENSSL_free(der2);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_names_and_text(void **state)
{
	EVP_PKEY *k = tg_test_key();
	const char *sans[] = { "mx1.example.com", "*.example.com", NULL };
	X509 *with_san = tg_test_cert(k, "cn.example.com", sans, -1, 1, 0,
	    NULL, NULL);
	X509 *cn_only = tg_test_cert(k, "only-cn.example.com", NULL, -1, 1, 0,
	    NULL, NULL);
	struct tg_cert_names nm;
	char text[TG_CERT_TEXT_MAX];

	(void)state;
	tg_cert_names(with_san, &nm);
	assert_int_equal(nm.n, 2);
	assert_string_equal(nm.name[1], "*.example.com");
	assert_string_equal(nm.cn, "cn.example.com");
	assert_false(nm.from_cn);
	/* RFC 6125 §6.4.4: the CN is a name only without SAN dNSNames. */
	tg_cert_names(cn_only, &nm);
	assert_int_equal(nm.n, 1);
	assert_true(nm.from_cn);
	assert_string_equal(nm.name[0], "only-cn.example.com");
	tg_cert_subject(cn_only, text, sizeof(text));
	assert_string_equal(text, "CN=only-cn.example.com");
	tg_cert_issuer(cn_only, text, sizeof(text));
	assert_string_equal(text, "CN=only-cn.example.com");
	/* Output is bounded. */
	tg_cert_subject(cn_only, text, 6);
	assert_string_equal(text, "CN=on");
	X509_free(with_san);
	X509_free(cn_only);
	EVP_PKEY_free(k);
}

static void
test_issue_validity(void **state)
{
	EVP_PKEY *ck = tg_test_key(), *lk = tg_test_key();
	X509 *ca = tg_test_cert(ck, "Test CA", NULL, -1, 30, 1, NULL, NULL);
	const char *sans[] = { "mx.example.net", NULL };
	struct tg_cert_template t = { 0 };
	struct tg_err err;
	time_t nb, na;
	X509 *x;

	(void)state;
	/* "Never valid": notAfter before notBefore is representable. */
	t.names = sans;
	t.n_names = 1;
	t.not_before = 1800000000;
	t.not_after = 1700000000;
	assert_int_equal(tg_cert_issue(&t, lk, ca, ck, &x, &err), 0);
	assert_int_equal(tg_cert_validity(x, &nb, &na, &err), 0);
	assert_int_equal(nb, 1800000000);
	assert_int_equal(na, 1700000000);
	assert_int_equal(X509_check_issued(ca, x), X509_V_OK);
	assert_int_equal(X509_verify(x, ck), 1);
	assert_false(tg_cert_key_matches(x, ck));
	assert_true(tg_cert_key_matches(x, lk));
	X509_free(x);
	/* No name at all is a caller bug. */
	t.names = NULL;
	t.n_names = 0;
	assert_int_equal(tg_cert_issue(&t, lk, NULL, NULL, &x, &err), -1);
	assert_int_equal(err.cls, TG_ERR_BUG);
	X509_free(ca);
	EVP_PKEY_free(ck);
	EVP_PKEY_free(lk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_signed_files),
		cmocka_unit_test(test_self_signed_refusals),
		cmocka_unit_test(test_chain_load_mem),
		cmocka_unit_test(test_key_load),
		cmocka_unit_test(test_digests),
		cmocka_unit_test(test_names_and_text),
		cmocka_unit_test(test_issue_validity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
