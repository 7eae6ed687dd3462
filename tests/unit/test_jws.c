/*
 * Unit tests for acme/jws, each result checked by an independent path:
 * base64url against RFC 4648 §10 (rewritten for the URL-safe alphabet
 * without padding, RFC 7515 §2) and against OpenSSL's base64; the JWK
 * against the key's encoded public point; the thumbprint against a
 * SHA-256 computed here and a vector made with the openssl command line;
 * JWS signatures verified with OpenSSL after turning r||s back into DER
 * (RFC 7518 §3.4); CSRs parsed and verified with OpenSSL (RFC 8555 §7.4).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/jws.h"

#define LIMIT	(64 * 1024)

/*
 * A fixed P-256 key, made with
 *   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256
 * Its public point, from `openssl ec -in k.pem -text -noout`, is
 *   04 f06b8f574a9ce50449f56a0d1a1a829845d97dd9d5ec5bce01fd8dd70dee9269
 *      e18312cd887fe914973a47e42cc1e59ae5dc350d1e547d91dc2ef6bce490fbf6
 * FIXED_JWK was written by hand from x and y, each converted with
 *   echo HEX | xxd -r -p | basenc --base64url | tr -d =
 * and FIXED_THUMBPRINT computed from it with
 *   printf '%s' "$jwk" | openssl dgst -sha256 -binary |
 *       basenc --base64url | tr -d =
 */
static const char fixed_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSea00Bbp5CJRGrgl\n"
    "cAdF8sxcylnWbSUznmY3xLIVh+ShRANCAATwa49XSpzlBEn1ag0aGoKYRdl92dXs\n"
    "W84B/Y3XDe6SaeGDEs2If+kUlzpH5CzB5Zrl3DUNHlR9kdwu9rzkkPv2\n"
    "-----END PRIVATE KEY-----\n";
#define FIXED_JWK "{\"crv\":\"P-256\",\"kty\":\"EC\"," \
	"\"x\":\"8GuPV0qc5QRJ9WoNGhqCmEXZfdnV7FvOAf2N1w3ukmk\"," \
	"\"y\":\"4YMSzYh_6RSXOkfkLMHlmuXcNQ0eVH2R3C72vOSQ-_Y\"}"
#define FIXED_THUMBPRINT "27FMx8DbU5OZc8LsXFnyX80xgeLXDRTlFTYHcV1EkQ0"

/* An RSA key for the refusals and the CSR: slow to make, so made once. */
static EVP_PKEY *rsa_key;

static int
group_setup(void **state)
{
	(void)state;
	rsa_key = EVP_RSA_gen(2048);
	return rsa_key == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_key);
	return 0;
}

static EVP_PKEY *
p256_key(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	assert_non_null(key);
	return key;
}

static EVP_PKEY *
fixed_key(void)
{
	BIO *bio = BIO_new_mem_buf(fixed_pem, -1);
	EVP_PKEY *key;

	assert_non_null(bio);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(key);
	return key;
}

/* base64url by another road: OpenSSL's base64, then RFC 7515 §2. */
static void
ref_b64url(const unsigned char *data, size_t len, char *out)
{
	int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);

	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (; n > 0; n--)
		if (out[n - 1] == '+')
			out[n - 1] = '-';
		else if (out[n - 1] == '/')
			out[n - 1] = '_';
}

static size_t
b64d(const char *in, unsigned char *out, size_t outlen)
{
	struct tg_err err;
	size_t n = 12345;

	assert_int_equal(tg_b64url_decode(in, strlen(in), out, outlen,
	    &n, &err), 0);
	return n;
}

/* The public point as OpenSSL encodes it: 04 || x || y. */
static void
pub_xy(EVP_PKEY *key, unsigned char xy[64])
{
	unsigned char pt[65];
	size_t len = 0;

	assert_int_equal(EVP_PKEY_get_octet_string_param(key,
	    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len), 1);
	assert_int_equal(len, 65);
	assert_int_equal(pt[0], 0x04);
	memcpy(xy, pt + 1, 64);
}

/* ---- base64url -------------------------------------------------------- */

static void
test_b64url_vectors(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} v[] = {
		{ "", 0, "" },
		{ "f", 1, "Zg" },
		{ "fo", 2, "Zm8" },
		{ "foo", 3, "Zm9v" },
		{ "foob", 4, "Zm9vYg" },
		{ "fooba", 5, "Zm9vYmE" },
		{ "foobar", 6, "Zm9vYmFy" },
		{ "\xfb\xff", 2, "-_8" },
		{ "\xfb\xef\xbe", 3, "----" },
		{ "\xff\xff\xff", 3, "____" },
	};
	struct tg_buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		tg_buf_init(&b, 64);
		assert_int_equal(tg_b64url_encode(v[i].in, v[i].len, &b), 0);
		assert_string_equal(tg_buf_cstr(&b), v[i].out);
		assert_int_equal(b.len, strlen(v[i].out));
		tg_buf_free(&b);
	}
	/* Past the limit: refused, the buffer as it was. */
	tg_buf_init(&b, 5);
	assert_int_equal(tg_buf_puts(&b, "ab"), 0);
	assert_int_equal(tg_b64url_encode("foo", 3, &b), -1);
	assert_string_equal(tg_buf_cstr(&b), "ab");
	assert_int_equal(tg_b64url_encode("fo", 2, &b), 0);
	assert_string_equal(tg_buf_cstr(&b), "abZm8");
	tg_buf_free(&b);
}

static void
test_b64url_round_trip(void **state)
{
	unsigned char data[300], back[300];
	char ref[512];
	struct tg_buf b;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 3);
	for (len = 0; len <= sizeof(data); len += len < 10 ? 1 : 37) {
		tg_buf_init(&b, LIMIT);
		assert_int_equal(tg_b64url_encode(data, len, &b), 0);
		ref_b64url(data, len, ref);
		assert_string_equal(tg_buf_cstr(&b), ref);
		memset(back, 0xaa, sizeof(back));
		assert_int_equal(b64d(b.data, back, len), len);
		assert_memory_equal(back, data, len);
		tg_buf_free(&b);
	}
}

static void
test_b64url_decode_refuses(void **state)
{
	static const char *const bad[] = {
		"Zg==", "Zm8=", "Zm+v", "Zm/v", "Zm9 v", "Zm9v\n", "Z",
		"Zm9vY", "A", "Zm9vA", "Zh", "Zm9",
	};
	unsigned char out[16];
	struct tg_err err;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 99;
		assert_int_equal(tg_b64url_decode(bad[i], strlen(bad[i]),
		    out, sizeof(out), &n, &err), -1);
		assert_int_equal(n, 0);
		assert_int_equal(err.cls, TG_ERR_PERM);
	}
	assert_int_equal(tg_b64url_decode("Zg==", 4, out, sizeof(out),
	    &n, &err), -1);
	assert_int_equal(err.offset, 2);
	/* Out too small by one byte; exactly big enough. */
	assert_int_equal(tg_b64url_decode("Zm9vYg", 6, out, 3, &n, &err),
	    -1);
	assert_int_equal(tg_b64url_decode("Zm9vYg", 6, out, 4, &n, &err),
	    0);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "foob", 4);
}

/* ---- JWK and thumbprint ----------------------------------------------- */

#define JWK_START "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\""

static void
check_jwk(EVP_PKEY *key)
{
	static const char *const names[] = { "crv", "kty", "x", "y" };
	unsigned char xy[64], c[64];
	char want[256];
	struct tg_buf b;
	struct tg_err err;
	json_t *jwk;
	void *it;
	size_t i;

	tg_buf_init(&b, LIMIT);
	assert_int_equal(tg_jws_jwk(key, &b, &err), 0);
	assert_int_equal(strncmp(b.data, JWK_START, strlen(JWK_START)), 0);
	assert_non_null(jwk = json_loads(b.data, 0, NULL));
	assert_int_equal(json_object_size(jwk), 4);
	for (i = 0, it = json_object_iter(jwk); it != NULL; i++,
	    it = json_object_iter_next(jwk, it))
		assert_string_equal(json_object_iter_key(it), names[i]);
	pub_xy(key, xy);
	assert_int_equal(b64d(json_string_value(json_object_get(jwk, "x")),
	    c, sizeof(c)), 32);
	assert_memory_equal(c, xy, 32);
	assert_int_equal(b64d(json_string_value(json_object_get(jwk, "y")),
	    c, sizeof(c)), 32);
	assert_memory_equal(c, xy + 32, 32);
	/* No whitespace anywhere (RFC 7638 §3): the exact text. */
	snprintf(want, sizeof(want), "{\"crv\":\"P-256\",\"kty\":\"EC\","
	    "\"x\":\"%s\",\"y\":\"%s\"}",
	    json_string_value(json_object_get(jwk, "x")),
	    json_string_value(json_object_get(jwk, "y")));
	assert_string_equal(b.data, want);
	json_decref(jwk);
	tg_buf_free(&b);
}

static void
test_jwk_canonical(void **state)
{
	EVP_PKEY *key = p256_key();

	(void)state;
	check_jwk(key);
	EVP_PKEY_free(key);
}

/* A coordinate with a leading zero byte still takes 32 bytes (RFC 7518
 * §6.2.1.2). About one key in 128 has one; try up to 4096. */
static void
test_jwk_leading_zero(void **state)
{
	unsigned char xy[64];
	EVP_PKEY *key = NULL;
	int i;

	(void)state;
	for (i = 0; i < 4096; i++) {
		key = p256_key();
		pub_xy(key, xy);
		if (xy[0] == 0 || xy[32] == 0)
			break;
		EVP_PKEY_free(key);
		key = NULL;
	}
	assert_non_null(key);
	check_jwk(key);
	EVP_PKEY_free(key);
}

static void
test_jwk_refuses_other_keys(void **state)
{
	EVP_PKEY *p384 = EVP_EC_gen("P-384");
	char tp[TG_JWS_THUMBPRINT_LEN + 1];
	struct tg_buf b;
	struct tg_err err;

	(void)state;
	assert_non_null(p384);
	tg_buf_init(&b, LIMIT);
	assert_int_equal(tg_jws_jwk(rsa_key, &b, &err), -1);
	assert_non_null(strstr(err.msg, "P-256"));
	assert_non_null(strstr(err.msg, "RSA"));
	assert_int_equal(err.cls, TG_ERR_PERM);
	assert_int_equal(b.len, 0);
	assert_int_equal(tg_jws_jwk(p384, &b, &err), -1);
	assert_non_null(strstr(err.msg, "P-256"));
	assert_int_equal(tg_jws_thumbprint(rsa_key, tp, sizeof(tp), &err), -1);
	assert_int_equal(tg_jws_sign(rsa_key, NULL, "n", "u", "{}", &b, &err),
	    -1);
	assert_non_null(strstr(err.msg, "P-256"));
	assert_int_equal(tg_jws_sign(p384, "kid", "n", "u", "{}", &b, &err),
	    -1);
	assert_int_equal(b.len, 0);
	tg_buf_free(&b);
	EVP_PKEY_free(p384);
}

static void
test_thumbprint(void **state)
{
	char tp[TG_JWS_THUMBPRINT_LEN + 1], ref[64];
	unsigned char md[32];
	EVP_PKEY *key = p256_key();
	struct tg_buf b;
	struct tg_err err;

	(void)state;
	tg_buf_init(&b, LIMIT);
	assert_int_equal(tg_jws_jwk(key, &b, &err), 0);
	assert_int_equal(EVP_Digest(b.data, b.len, md, NULL, EVP_sha256(),
	    NULL), 1);
	ref_b64url(md, sizeof(md), ref);
	assert_int_equal(tg_jws_thumbprint(key, tp, sizeof(tp), &err), 0);
	assert_int_equal(strlen(tp), TG_JWS_THUMBPRINT_LEN);
	assert_string_equal(tp, ref);
	assert_int_equal(tg_jws_thumbprint(key, tp, sizeof(tp) - 1, &err),
	    -1);
	assert_int_equal(err.cls, TG_ERR_BUG);
	tg_buf_free(&b);
	EVP_PKEY_free(key);
}

static void
test_thumbprint_fixed(void **state)
{
	char tp[TG_JWS_THUMBPRINT_LEN + 1];
	EVP_PKEY *key = fixed_key();
	struct tg_buf b;
	struct tg_err err;

	(void)state;
	tg_buf_init(&b, LIMIT);
	assert_int_equal(tg_jws_jwk(key, &b, &err), 0);
	assert_string_equal(b.data, FIXED_JWK);
	assert_int_equal(tg_jws_thumbprint(key, tp, sizeof(tp), &err), 0);
	assert_string_equal(tp, FIXED_THUMBPRINT);
	tg_buf_free(&b);
	EVP_PKEY_free(key);
}

/* ---- key authorizations ----------------------------------------------- */

static void
test_key_authorization(void **state)
{
	static const char *const bad[] = {
		"", "a.b", "abc=", "a b", "ab+c", "ab/c", "tok\n", "t\xc3\xa9",
	};
	char out[256], tok[130];
	EVP_PKEY *key = fixed_key();
	struct tg_err err;
	size_t i;

	(void)state;
	assert_int_equal(tg_jws_key_authorization(key, "evaGxfADs6pSRb2LAv9"
	    "IZf17Dt3juxGJ-PCt92wr-oA", out, sizeof(out), &err), 0);
	assert_string_equal(out, "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
	    "." FIXED_THUMBPRINT);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(out, "untouched");
		assert_int_equal(tg_jws_key_authorization(key, bad[i], out,
		    sizeof(out), &err), -1);
		assert_int_equal(err.cls, TG_ERR_PERM);
		assert_string_equal(out, "untouched");
	}
	/* 128 characters are the most; 129 are refused. */
	memset(tok, 'A', 128);
	tok[128] = '\0';
	assert_int_equal(tg_jws_key_authorization(key, tok, out, sizeof(out),
	    &err), 0);
	assert_int_equal(strlen(out), 128 + 1 + TG_JWS_THUMBPRINT_LEN);
	tok[128] = 'A';
	tok[129] = '\0';
	assert_int_equal(tg_jws_key_authorization(key, tok, out, sizeof(out),
	    &err), -1);
	/* Output one byte short. */
	assert_int_equal(tg_jws_key_authorization(key, "abc", out,
	    3 + 1 + TG_JWS_THUMBPRINT_LEN, &err), -1);
	assert_int_equal(tg_jws_key_authorization(key, "abc", out,
	    3 + 1 + TG_JWS_THUMBPRINT_LEN + 1, &err), 0);
	assert_int_equal(tg_jws_key_authorization(rsa_key, "abc", out,
	    sizeof(out), &err), -1);
	EVP_PKEY_free(key);
}

/* ---- signed requests -------------------------------------------------- */

/* 1 if raw r||s verifies over input with key, 0 if not. */
static int
es256_verify(EVP_PKEY *key, const char *input, const unsigned char *raw)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32,
	    NULL);
	unsigned char *der = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int dlen, ok;

	assert_true(sig != NULL && r != NULL && s != NULL && ctx != NULL);
	assert_int_equal(ECDSA_SIG_set0(sig, r, s), 1);
	assert_true((dlen = i2d_ECDSA_SIG(sig, &der)) > 0);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
	    key), 1);
	ok = EVP_DigestVerify(ctx, der, (size_t)dlen,
	    (const unsigned char *)input, strlen(input));
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	return ok == 1;
}

/* Check a flattened JWS (RFC 7515 §7.2.2) of payload made with key; the
 * decoded protected header is returned for the caller to look at. */
static json_t *
check_jws(EVP_PKEY *key, const char *text, const char *payload)
{
	unsigned char buf[4096], raw[64];
	char input[8192], *bad;
	const char *prot, *pl, *sig;
	json_t *jws, *hdr;
	size_t n;

	assert_non_null(jws = json_loads(text, 0, NULL));
	assert_int_equal(json_object_size(jws), 3);
	assert_non_null(prot = json_string_value(json_object_get(jws,
	    "protected")));
	assert_non_null(pl = json_string_value(json_object_get(jws,
	    "payload")));
	assert_non_null(sig = json_string_value(json_object_get(jws,
	    "signature")));
	n = b64d(prot, buf, sizeof(buf) - 1);
	assert_non_null(hdr = json_loadb((char *)buf, n, 0, NULL));
	n = b64d(pl, buf, sizeof(buf));
	assert_int_equal(n, strlen(payload));
	assert_memory_equal(buf, payload, n);
	assert_int_equal(b64d(sig, raw, sizeof(raw)), 64);
	snprintf(input, sizeof(input), "%s.%s", prot, pl);
	assert_true(es256_verify(key, input, raw));
	/* A longer payload, another header or one bit of the signature
	 * does not verify. */
	snprintf(input, sizeof(input), "%s.%sAAAA", prot, pl);
	assert_false(es256_verify(key, input, raw));
	snprintf(input, sizeof(input), "%s.%s", prot, pl);
	bad = strchr(input, '.');
	bad[-1] = bad[-1] == 'A' ? 'B' : 'A';
	assert_false(es256_verify(key, input, raw));
	snprintf(input, sizeof(input), "%s.%s", prot, pl);
	raw[40] ^= 0x01;
	assert_false(es256_verify(key, input, raw));
	json_decref(jws);
	return hdr;
}

static void
test_sign_jwk(void **state)
{
	const char *payload = "{\"termsOfServiceAgreed\":true}";
	EVP_PKEY *key = p256_key();
	struct tg_buf b, jwk;
	struct tg_err err;
	json_t *hdr;
	char *s;

	(void)state;
	tg_buf_init(&b, LIMIT);
	tg_buf_init(&jwk, LIMIT);
	assert_int_equal(tg_jws_sign(key, NULL, "oFvnlFP1wIhRlYS2jTaXbA",
	    "https://ca.test/acme/new-acct", payload, &b, &err), 0);
	hdr = check_jws(key, b.data, payload);
	assert_int_equal(json_object_size(hdr), 4);
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")),
	    "ES256");
	assert_string_equal(json_string_value(json_object_get(hdr, "nonce")),
	    "oFvnlFP1wIhRlYS2jTaXbA");
	assert_string_equal(json_string_value(json_object_get(hdr, "url")),
	    "https://ca.test/acme/new-acct");
	assert_null(json_object_get(hdr, "kid"));
	assert_int_equal(tg_jws_jwk(key, &jwk, &err), 0);
	s = json_dumps(json_object_get(hdr, "jwk"), JSON_COMPACT);
	assert_non_null(s);
	assert_string_equal(s, jwk.data);
	free(s);
	json_decref(hdr);
	tg_buf_free(&jwk);
	tg_buf_free(&b);
	EVP_PKEY_free(key);
}

static void
test_sign_kid(void **state)
{
	const char *kid = "https://ca.test/acme/acct/17";
	const char *payload = "{\"identifiers\":[{\"type\":\"dns\","
	    "\"value\":\"mx.example.com\"}]}";
	EVP_PKEY *key = fixed_key();
	struct tg_buf b;
	struct tg_err err;
	json_t *hdr;

	(void)state;
	tg_buf_init(&b, LIMIT);
	assert_int_equal(tg_jws_sign(key, kid, "n1", "https://ca.test/new",
	    payload, &b, &err), 0);
	hdr = check_jws(key, b.data, payload);
	assert_int_equal(json_object_size(hdr), 4);
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")),
	    kid);
	assert_null(json_object_get(hdr, "jwk"));
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")),
	    "ES256");
	json_decref(hdr);
	tg_buf_free(&b);
	EVP_PKEY_free(key);
}

/* RFC 8555 §6.3: a POST-as-GET has "payload":"". */
static void
test_sign_post_as_get(void **state)
{
	EVP_PKEY *key = fixed_key();
	struct tg_buf b;
	struct tg_err err;
	json_t *hdr;

	(void)state;
	tg_buf_init(&b, LIMIT);
	assert_int_equal(tg_jws_sign(key, "https://ca.test/acct/1", "n2",
	    "https://ca.test/order/9", "", &b, &err), 0);
	assert_non_null(strstr(b.data, "\"payload\":\"\""));
	hdr = check_jws(key, b.data, "");
	json_decref(hdr);
	tg_buf_free(&b);
	EVP_PKEY_free(key);
}

/* Values are JSON-escaped, never pasted; bad input and limits refused. */
static void
test_sign_escaping_and_limits(void **state)
{
	const char *url = "https://ca.test/\"},\"alg\":\"none\\";
	EVP_PKEY *key = fixed_key();
	struct tg_buf b;
	struct tg_err err;
	json_t *hdr;

	(void)state;
	tg_buf_init(&b, LIMIT);
	assert_int_equal(tg_jws_sign(key, "k\"id", "n", url, "{}", &b, &err),
	    0);
	hdr = check_jws(key, b.data, "{}");
	assert_string_equal(json_string_value(json_object_get(hdr, "url")),
	    url);
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")),
	    "k\"id");
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")),
	    "ES256");
	json_decref(hdr);
	tg_buf_reset(&b);
	assert_int_equal(tg_jws_sign(key, NULL, "", url, "{}", &b, &err), -1);
	assert_int_equal(tg_jws_sign(key, NULL, "n", "", "{}", &b, &err), -1);
	assert_int_equal(tg_jws_sign(key, NULL, "\xff", url, "{}", &b, &err),
	    -1);
	assert_int_equal(tg_jws_sign(key, "\xc3", "n", url, "{}", &b, &err),
	    -1);
	assert_int_equal(b.len, 0);
	tg_buf_free(&b);
	/* An output limit too small for the JWS. */
	tg_buf_init(&b, 200);
	assert_int_equal(tg_jws_sign(key, NULL, "n", url, "{}", &b, &err), -1);
	assert_non_null(strstr(err.msg, "limit"));
	assert_int_equal(b.len, 0);
	tg_buf_free(&b);
	EVP_PKEY_free(key);
}

/* ---- certificate signing requests ------------------------------------- */

/* The CSR in base64url DER, parsed; nothing may follow the DER. */
static X509_REQ *
parse_csr(const char *b64)
{
	static unsigned char der[8192];
	const unsigned char *p = der;
	X509_REQ *req;
	size_t n;

	n = b64d(b64, der, sizeof(der));
	assert_non_null(req = d2i_X509_REQ(NULL, &p, (long)n));
	assert_int_equal(p - der, n);
	return req;
}

/* Decode, parse and verify a CSR; check its CN (NULL: none) and that the
 * subjectAltName holds exactly DNS:name. */
static void
check_csr(EVP_PKEY *key, const char *b64, const char *name, const char *cn,
    int sig_nid)
{
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *gens;
	const GENERAL_NAME *gn;
	X509_REQ *req = parse_csr(b64);
	char got[256];
	int crit = -1;

	assert_int_equal(X509_REQ_verify(req, key), 1);
	assert_int_equal(X509_REQ_get_signature_nid(req), sig_nid);
	assert_int_equal(X509_NAME_get_text_by_NID(
	    X509_REQ_get_subject_name(req), NID_commonName, got,
	    sizeof(got)), cn != NULL ? (int)strlen(cn) : -1);
	if (cn != NULL)
		assert_string_equal(got, cn);
	assert_non_null(exts = X509_REQ_get_extensions(req));
	assert_non_null(gens = X509V3_get_d2i(exts, NID_subject_alt_name,
	    &crit, NULL));
	assert_int_equal(crit, cn == NULL);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 1);
	gn = sk_GENERAL_NAME_value(gens, 0);
	assert_int_equal(gn->type, GEN_DNS);
	assert_int_equal(ASN1_STRING_length(gn->d.dNSName), strlen(name));
	assert_memory_equal(ASN1_STRING_get0_data(gn->d.dNSName), name,
	    strlen(name));
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
}

static void
test_csr(void **state)
{
	EVP_PKEY *key = p256_key(), *other = p256_key();
	struct tg_buf b;
	struct tg_err err;
	X509_REQ *req;

	(void)state;
	tg_buf_init(&b, LIMIT);
	assert_int_equal(tg_jws_csr(key, "mx.example.com", &b, &err), 0);
	assert_null(strpbrk(b.data, "=+/\n"));
	check_csr(key, b.data, "mx.example.com", "mx.example.com",
	    NID_ecdsa_with_SHA256);
	tg_buf_reset(&b);
	/* Signed with the certificate's own key: another key's CSR fails. */
	assert_int_equal(tg_jws_csr(other, "mx.example.com", &b, &err), 0);
	req = parse_csr(b.data);
	assert_int_equal(X509_REQ_verify(req, other), 1);
	assert_int_not_equal(X509_REQ_verify(req, key), 1);
	X509_REQ_free(req);
	tg_buf_reset(&b);
	assert_int_equal(tg_jws_csr(rsa_key, "mta-sts.example.org", &b, &err),
	    0);
	check_csr(rsa_key, b.data, "mta-sts.example.org",
	    "mta-sts.example.org", NID_sha256WithRSAEncryption);
	tg_buf_free(&b);
	EVP_PKEY_free(other);
	EVP_PKEY_free(key);
}

static void
test_csr_names(void **state)
{
	static const char *const bad[] = {
		"", "MX.example.com", "mx.example.com,DNS:evil.test",
		"*.example.com", "mx..example.com", "mx example.com",
		"localhost",
	};
	char name[300];
	EVP_PKEY *key = fixed_key();
	struct tg_buf b;
	struct tg_err err;
	size_t i;

	(void)state;
	tg_buf_init(&b, LIMIT);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tg_jws_csr(key, bad[i], &b, &err), -1);
		assert_int_equal(err.cls, TG_ERR_PERM);
	}
	/* 253 characters: no CN (RFC 5280 allows 64), SAN alone, critical. */
	memset(name, 'a', 253);
	name[63] = name[127] = name[191] = '.';
	name[253] = '\0';
	assert_int_equal(tg_jws_csr(key, name, &b, &err), 0);
	check_csr(key, b.data, name, NULL, NID_ecdsa_with_SHA256);
	/* 64 characters still get their CN. */
	tg_buf_reset(&b);
	memcpy(name, "mx.", 3);
	memset(name + 3, 'b', 61);
	name[60] = '.';
	name[64] = '\0';
	assert_int_equal(tg_jws_csr(key, name, &b, &err), 0);
	check_csr(key, b.data, name, name, NID_ecdsa_with_SHA256);
	/* 254 characters: refused, nothing appended. */
	tg_buf_reset(&b);
	memset(name, 'a', 254);
	name[63] = name[127] = name[191] = '.';
	name[254] = '\0';
	assert_int_equal(tg_jws_csr(key, name, &b, &err), -1);
	assert_non_null(strstr(err.msg, "253"));
	assert_int_equal(b.len, 0);
	tg_buf_free(&b);
	/* An output limit too small for the CSR. */
	tg_buf_init(&b, 64);
	assert_int_equal(tg_jws_csr(key, "mx.example.com", &b, &err), -1);
	assert_int_equal(b.len, 0);
	tg_buf_free(&b);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_vectors),
		cmocka_unit_test(test_b64url_round_trip),
		cmocka_unit_test(test_b64url_decode_refuses),
		cmocka_unit_test(test_jwk_canonical),
		cmocka_unit_test(test_jwk_leading_zero),
		cmocka_unit_test(test_jwk_refuses_other_keys),
		cmocka_unit_test(test_thumbprint),
		cmocka_unit_test(test_thumbprint_fixed),
		cmocka_unit_test(test_key_authorization),
		cmocka_unit_test(test_sign_jwk),
		cmocka_unit_test(test_sign_kid),
		cmocka_unit_test(test_sign_post_as_get),
		cmocka_unit_test(test_sign_escaping_and_limits),
		cmocka_unit_test(test_csr),
		cmocka_unit_test(test_csr_names),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
