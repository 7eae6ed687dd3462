/*
 * acme/jws — see jws.h. OpenSSL signs, hashes and builds the CSR; jansson
 * writes every piece of JSON (no JSON is built by pasting strings); the
 * base64url codec and the input checks are here.
 */
#include "acme/jws.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/dname.h"
#include "util/limits.h"

#define P256_COORD_LEN	32	/* bytes of x, y, r and s */
#define ES256_SIG_LEN	(2 * P256_COORD_LEN)
#define ES256_DER_MAX	80	/* a DER ECDSA-Sig-Value on P-256: <= 72 */
#define JWK_MAX		256	/* the canonical JWK is about 125 bytes */
#define TOKEN_MAX	128	/* our bound on a challenge token */

/* An OpenSSL failure: the step, OpenSSL's reason, and an empty error
 * queue left for whoever calls OpenSSL next on this thread. */
static int
ossl_fail(struct tg_err *err, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char why[256];

	if (e != 0)
		ERR_error_string_n(e, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "no reason given");
	ERR_clear_error();
	return tg_err_set(err, TG_ERR_TEMP, NULL, "%s: %s", what, why);
}

/* ---- the account key's JWK -------------------------------------------- */

/* ES256 needs an ECDSA key on P-256 (RFC 7518 §3.4). */
static int
p256_check(EVP_PKEY *key, struct tg_err *err)
{
	char group[64];
	size_t glen = 0;

	if (key == NULL)
		return tg_err_set(err, TG_ERR_BUG, NULL, "JWS: no key");
	if (EVP_PKEY_is_a(key, "EC") &&
	    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), &glen) == 1 &&
	    strcmp(group, SN_X9_62_prime256v1) == 0)
		return 0;
	ERR_clear_error();
	return tg_err_set(err, TG_ERR_PERM, NULL, "the ACME account key is "
	    "%s, not ECDSA P-256 (ES256)", EVP_PKEY_is_a(key, "EC") ?
	    "ECDSA on another curve" : EVP_PKEY_get0_type_name(key));
}

/* The public point as x || y, each coordinate the full 32 bytes (RFC 7518
 * §6.2.1.2, §6.2.1.3: leading zero bytes are kept). */
static int
p256_point(EVP_PKEY *key, unsigned char xy[ES256_SIG_LEN],
    struct tg_err *err)
{
	BIGNUM *x = NULL, *y = NULL;
	int ok;

	ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
	    BN_bn2binpad(x, xy, P256_COORD_LEN) == P256_COORD_LEN &&
	    BN_bn2binpad(y, xy + P256_COORD_LEN, P256_COORD_LEN) ==
	    P256_COORD_LEN;
	BN_free(x);
	BN_free(y);
	return ok ? 0 : ossl_fail(err, "JWK: reading the public point");
}

/* The JWK as a jansson object (new reference), or NULL with err. */
static json_t *
jwk_object(EVP_PKEY *key, struct tg_err *err)
{
	unsigned char xy[ES256_SIG_LEN];
	struct tg_buf x, y;
	json_t *jwk = NULL;

	if (p256_check(key, err) != 0 || p256_point(key, xy, err) != 0)
		return NULL;
	tg_buf_init(&x, JWK_MAX);
	tg_buf_init(&y, JWK_MAX);
	/* RFC 7638 §3.2: exactly the required members of an EC public
	 * key; RFC 7518 §6.2.1: crv, kty, x, y. */
	if (tg_b64url_encode(xy, P256_COORD_LEN, &x) == 0 &&
	    tg_b64url_encode(xy + P256_COORD_LEN, P256_COORD_LEN, &y) == 0)
		jwk = json_pack("{s:s, s:s, s:s, s:s}", "crv", "P-256",
		    "kty", "EC", "x", tg_buf_cstr(&x), "y", tg_buf_cstr(&y));
	tg_buf_free(&x);
	tg_buf_free(&y);
	if (jwk == NULL)
		tg_err_set(err, TG_ERR_TEMP, NULL, "JWK: out of memory");
	return jwk;
}

/* Append obj as compact JSON (no whitespace at all) to out. */
static int
json_append(const json_t *obj, size_t flags, struct tg_buf *out,
    struct tg_err *err)
{
	char *text;
	int rc;

	if ((text = json_dumps(obj, JSON_COMPACT | flags)) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "JSON: out of "
		    "memory");
	rc = tg_buf_puts(out, text);
	free(text);
	if (rc != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "JSON: more than the "
		    "limit of %zu bytes", out->limit);
	return 0;
}

int
tg_jws_jwk(EVP_PKEY *key, struct tg_buf *out, struct tg_err *err)
{
	json_t *jwk;
	int rc;

	if ((jwk = jwk_object(key, err)) == NULL)
		return -1;
	/* RFC 7638 §3: members sorted by name, no whitespace. */
	rc = json_append(jwk, JSON_SORT_KEYS, out, err);
	json_decref(jwk);
	return rc;
}

int
tg_jws_thumbprint(EVP_PKEY *key, char *out, size_t outlen,
    struct tg_err *err)
{
	unsigned char md[32];
	struct tg_buf jwk, b64;
	int rc = -1;

	if (outlen < TG_JWS_THUMBPRINT_LEN + 1)
		return tg_err_set(err, TG_ERR_BUG, NULL, "thumbprint: output "
		    "of %zu bytes is too small", outlen);
	tg_buf_init(&jwk, JWK_MAX);
	tg_buf_init(&b64, TG_JWS_THUMBPRINT_LEN);
	if (tg_jws_jwk(key, &jwk, err) != 0)
		goto done;
	/* RFC 7638 §3: SHA-256 over the UTF-8 octets of the canonical JWK;
	 * RFC 8555 §8.1: the thumbprint is used base64url-encoded. */
	if (EVP_Digest(jwk.data, jwk.len, md, NULL, EVP_sha256(), NULL) != 1)
		ossl_fail(err, "thumbprint: SHA-256");
	else if (tg_b64url_encode(md, sizeof(md), &b64) != 0)
		tg_err_set(err, TG_ERR_TEMP, NULL, "thumbprint: out of memory");
	else {
		memcpy(out, b64.data, TG_JWS_THUMBPRINT_LEN + 1);
		rc = 0;
	}
done:
	tg_buf_free(&jwk);
	tg_buf_free(&b64);
	return rc;
}

/* ---- key authorizations ----------------------------------------------- */

/* RFC 8555 §8.3: a token holds only base64url characters; its length is
 * ours to bound (Let's Encrypt's are 43). */
static int
token_check(const char *token, struct tg_err *err)
{
	size_t i, len;

	if (token == NULL)
		return tg_err_set(err, TG_ERR_BUG, NULL, "token: NULL");
	len = strnlen(token, TOKEN_MAX + 1);
	if (len == 0 || len > TOKEN_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "challenge token: "
		    "want 1 to %d characters", TOKEN_MAX);
	for (i = 0; i < len; i++)
		if (!tg_b64url_is_char(token[i]))
			return tg_err_set_at(err, TG_ERR_PERM, (long)i,
			    "challenge token: the character at offset %zu is "
			    "not base64url", i);
	return 0;
}

int
tg_jws_key_authorization(EVP_PKEY *key, const char *token, char *out,
    size_t outlen, struct tg_err *err)
{
	char tp[TG_JWS_THUMBPRINT_LEN + 1];
	size_t tlen;

	if (token_check(token, err) != 0)
		return -1;
	tlen = strlen(token);
	if (outlen < tlen + 1 + TG_JWS_THUMBPRINT_LEN + 1)
		return tg_err_set(err, TG_ERR_BUG, NULL, "key authorization: "
		    "output of %zu bytes is too small", outlen);
	if (tg_jws_thumbprint(key, tp, sizeof(tp), err) != 0)
		return -1;
	/* RFC 8555 §8.1: token || '.' || base64url(Thumbprint(key)). */
	memcpy(out, token, tlen);
	out[tlen] = '.';
	memcpy(out + tlen + 1, tp, TG_JWS_THUMBPRINT_LEN + 1);
	return 0;
}

/* ---- signed requests -------------------------------------------------- */

/* RFC 8555 §6.2: alg, nonce, url, and exactly one of jwk and kid. */
static json_t *
protected_header(EVP_PKEY *key, const char *kid, const char *nonce,
    const char *url, struct tg_err *err)
{
	json_t *hdr, *v;

	if ((hdr = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "nonce",
	    nonce, "url", url)) == NULL) {
		tg_err_set(err, TG_ERR_PERM, NULL, "JWS: the nonce or url is "
		    "not UTF-8 text");
		return NULL;
	}
	v = kid != NULL ? json_string(kid) : jwk_object(key, err);
	if (v == NULL) {
		if (kid != NULL)
			tg_err_set(err, TG_ERR_PERM, NULL, "JWS: the kid is "
			    "not UTF-8 text");
		json_decref(hdr);
		return NULL;
	}
	/* json_object_set_new takes v even when it fails. */
	if (json_object_set_new(hdr, kid != NULL ? "kid" : "jwk", v) != 0) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "JWS: out of memory");
		json_decref(hdr);
		return NULL;
	}
	return hdr;
}

/* RFC 7518 §3.4: an ES256 signature is R and S as 32-byte big-endian
 * integers, concatenated; OpenSSL gives the DER ECDSA-Sig-Value. */
static int
es256_sign(EVP_PKEY *key, const struct tg_buf *input,
    unsigned char raw[ES256_SIG_LEN], struct tg_err *err)
{
	unsigned char der[ES256_DER_MAX];
	const unsigned char *p = der;
	size_t dlen = sizeof(der);
	const BIGNUM *r, *s;
	ECDSA_SIG *sig = NULL;
	EVP_MD_CTX *ctx;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return ossl_fail(err, "JWS: signing");
	ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(ctx, der, &dlen, (const unsigned char *)input->data,
	    input->len) == 1 &&
	    (sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen)) != NULL;
	EVP_MD_CTX_free(ctx);
	if (ok) {
		ECDSA_SIG_get0(sig, &r, &s);
		ok = BN_bn2binpad(r, raw, P256_COORD_LEN) == P256_COORD_LEN &&
		    BN_bn2binpad(s, raw + P256_COORD_LEN, P256_COORD_LEN) ==
		    P256_COORD_LEN;
	}
	ECDSA_SIG_free(sig);
	return ok ? 0 : ossl_fail(err, "JWS: signing");
}

/* RFC 7515 §5.1: the signing input, base64url(header) '.'
 * base64url(payload), into input; *hlen gets the length of the first
 * part. */
static int
signing_input(const json_t *hdr, const char *payload, struct tg_buf *input,
    size_t *hlen, struct tg_err *err)
{
	struct tg_buf text;
	int rc;

	tg_buf_init(&text, input->limit);
	rc = json_append(hdr, 0, &text, err);
	if (rc == 0) {
		if (tg_b64url_encode(text.data, text.len, input) != 0)
			rc = -1;
		*hlen = input->len;
		if (rc != 0 || tg_buf_puts(input, ".") != 0 ||
		    tg_b64url_encode(payload, strlen(payload), input) != 0)
			rc = tg_err_set(err, TG_ERR_PERM, NULL, "JWS: more "
			    "than the limit of %zu bytes", input->limit);
	}
	tg_buf_free(&text);
	return rc;
}

int
tg_jws_sign(EVP_PKEY *key, const char *kid, const char *nonce,
    const char *url, const char *payload, struct tg_buf *out,
    struct tg_err *err)
{
	unsigned char raw[ES256_SIG_LEN];
	struct tg_buf input, sig;
	json_t *hdr = NULL, *jws = NULL;
	size_t hlen = 0;
	int rc = -1;

	if (nonce == NULL || url == NULL || payload == NULL)
		return tg_err_set(err, TG_ERR_BUG, NULL, "JWS: NULL argument");
	if (nonce[0] == '\0' || url[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL, "JWS: empty %s",
		    nonce[0] == '\0' ? "nonce" : "url");
	if (p256_check(key, err) != 0)
		return -1;
	tg_buf_init(&input, out->limit);
	tg_buf_init(&sig, JWK_MAX);
	if ((hdr = protected_header(key, kid, nonce, url, err)) == NULL ||
	    signing_input(hdr, payload, &input, &hlen, err) != 0 ||
	    es256_sign(key, &input, raw, err) != 0)
		goto done;
	/* RFC 7515 §7.2.2, flattened; RFC 8555 §6.3: for a POST-as-GET
	 * the payload is empty, and so is its encoding: "payload":"". */
	if (tg_b64url_encode(raw, sizeof(raw), &sig) != 0 ||
	    (jws = json_pack("{s:s%, s:s, s:s}", "protected", input.data, hlen,
	    "payload", input.data + hlen + 1, "signature", sig.data)) == NULL)
		tg_err_set(err, TG_ERR_TEMP, NULL, "JWS: out of memory");
	else
		rc = json_append(jws, 0, out, err);
done:
	json_decref(hdr);
	json_decref(jws);
	tg_buf_free(&input);
	tg_buf_free(&sig);
	return rc;
}

/* ---- certificate signing requests ------------------------------------- */

/* RFC 8555 §7.4: the CA takes the names from the subjectAltName; RFC 5280
 * §4.2.1.6: with an empty subject the extension is critical. */
static int
csr_add_san(X509_REQ *req, const char *name, int critical)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *gens;
	GENERAL_NAME *gn = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	int ok = 0;

	if ((gens = sk_GENERAL_NAME_new_null()) == NULL ||
	    (gn = GENERAL_NAME_new()) == NULL ||
	    (ia5 = ASN1_IA5STRING_new()) == NULL ||
	    ASN1_STRING_set(ia5, name, -1) != 1)
		goto done;
	GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	ia5 = NULL;
	if (sk_GENERAL_NAME_push(gens, gn) <= 0)
		goto done;
	gn = NULL;
	ok = X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, critical,
	    X509V3_ADD_DEFAULT) == 1 && X509_REQ_add_extensions(req, exts) == 1;
done:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	GENERAL_NAME_free(gn);
	ASN1_IA5STRING_free(ia5);
	return ok ? 0 : -1;
}

/* RFC 5280 ub-common-name: a CN holds at most 64 characters; a longer
 * name goes in the subjectAltName alone, under an empty subject. */
static int
csr_subject(X509_REQ *req, const char *name)
{
	if (strlen(name) > ub_common_name)
		return 0;
	return X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req),
	    "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0) == 1 ?
	    0 : -1;
}

static X509_REQ *
csr_build(EVP_PKEY *key, const char *name, struct tg_err *err)
{
	X509_REQ *req;
	int ok;

	if ((req = X509_REQ_new()) == NULL) {
		ossl_fail(err, "CSR");
		return NULL;
	}
	ok = X509_REQ_set_version(req, X509_REQ_VERSION_1) == 1 &&
	    csr_subject(req, name) == 0 &&
	    X509_REQ_set_pubkey(req, key) == 1 &&
	    csr_add_san(req, name, strlen(name) > ub_common_name) == 0 &&
	    X509_REQ_sign(req, key, EVP_sha256()) > 0;
	if (!ok) {
		X509_REQ_free(req);
		ossl_fail(err, "CSR");
		return NULL;
	}
	return req;
}

int
tg_jws_csr(EVP_PKEY *key, const char *name, struct tg_buf *out,
    struct tg_err *err)
{
	unsigned char *der = NULL;
	X509_REQ *req;
	int dlen, rc = -1;

	if (key == NULL || name == NULL)
		return tg_err_set(err, TG_ERR_BUG, NULL, "CSR: NULL argument");
	if (strnlen(name, TG_DNAME_MAX + 1) > TG_DNAME_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "CSR: the name is "
		    "longer than %d characters", TG_DNAME_MAX);
	if (!tg_dname_is_valid(name))
		return tg_err_set(err, TG_ERR_PERM, NULL, "CSR: '%s' is not a "
		    "lower-case host name", name);
	if ((req = csr_build(key, name, err)) == NULL)
		return -1;
	/* RFC 8555 §7.4: "csr" is the DER, base64url-encoded (not PEM). */
	if ((dlen = i2d_X509_REQ(req, &der)) <= 0)
		ossl_fail(err, "CSR: DER");
	else if (tg_b64url_encode(der, (size_t)dlen, out) != 0)
		tg_err_set(err, TG_ERR_PERM, NULL, "CSR: more than the limit "
		    "of %zu bytes", out->limit);
	else
		rc = 0;
	OPENSSL_free(der);
	X509_REQ_free(req);
	return rc;
}
