/*
 * admin/password — see password.h. scrypt (RFC 7914) through OpenSSL 3's
 * EVP_KDF "SCRYPT"; PHC strings "$scrypt$ln=L,r=R,p=P$<salt>$<hash>" in
 * standard base64 without padding.
 *
 * Everything read from a stored string is bounded before anything is
 * derived: ln, r and p each within a sane range, and the memory scrypt
 * would need (128 * r * (2^ln + 2) + 128 * r * p bytes, as OpenSSL counts
 * it) at most PW_MEM_MAX, so that a crafted row cannot make the console
 * allocate gigabytes or spin for minutes.
 */
#include "admin/password.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define PW_ALG		"scrypt"
#define PW_PREFIX	"$" PW_ALG "$"
#define PW_SALT_LEN	16	/* what we make */
#define PW_KEY_LEN	32	/* what we make */
#define PW_SALT_MIN	16	/* what we accept */
#define PW_SALT_MAX	64
#define PW_KEY_MIN	32
#define PW_KEY_MAX	64
#define PW_B64_MAX	88	/* base64 of PW_*_MAX bytes, no padding */
#define PW_LN_MIN	10
#define PW_LN_MAX	20
#define PW_R_MAX	32
#define PW_P_MAX	4
/* Room for ln=18 at r=8 (twice today's cost), not more. */
#define PW_MEM_MAX	((uint64_t)257 << 20)

_Static_assert(TG_PASSWORD_LN >= PW_LN_MIN && TG_PASSWORD_LN <= PW_LN_MAX,
    "TG_PASSWORD_LN out of the accepted range");

/* A parsed PHC string. */
struct pw_phc {
	unsigned ln, r, p;
	unsigned char salt[PW_SALT_MAX];
	size_t saltlen;
	unsigned char key[PW_KEY_MAX];
	size_t keylen;
};

/* The salt of tg_password_verify_dummy: fixed, as it hashes for no one. */
static const unsigned char pw_dummy_salt[PW_SALT_LEN] = "tlsgate-no-user";

int
tg_password_check_new(const char *password, size_t len, struct tg_err *err)
{
	const unsigned char *p = (const unsigned char *)password;
	size_t i;

	tg_err_clear(err);
	if (len < TG_PASSWORD_MIN)
		return tg_err_set(err, TG_ERR_PERM, NULL, "password: too short "
		    "(at least %d bytes)", TG_PASSWORD_MIN);
	if (len > TG_PASSWORD_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "password: too long "
		    "(at most %d bytes)", TG_PASSWORD_MAX);
	/* Never where or which: the message must not tell the password. */
	for (i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f))
			return tg_err_set(err, TG_ERR_PERM, NULL, "password: "
			    "control characters are not allowed");
	return 0;
}

/* scrypt's memory for these parameters, as OpenSSL counts it. */
static uint64_t
pw_mem(unsigned ln, unsigned r, unsigned p)
{
	return (uint64_t)128 * r * (((uint64_t)1 << ln) + 2) +
	    (uint64_t)128 * r * p;
}

static int
pw_params_ok(unsigned ln, unsigned r, unsigned p)
{
	return ln >= PW_LN_MIN && ln <= PW_LN_MAX && r >= 1 &&
	    r <= PW_R_MAX && p >= 1 && p <= PW_P_MAX &&
	    pw_mem(ln, r, p) <= PW_MEM_MAX;
}

/* The key of password under h's parameters and salt into key
 * (keylen bytes). 0, or -1 with err. */
static int
pw_derive(const char *password, size_t len, const struct pw_phc *h,
    unsigned char *key, size_t keylen, struct tg_err *err)
{
	OSSL_PARAM params[7];
	EVP_KDF_CTX *ctx = NULL;
	EVP_KDF *kdf;
	uint64_t n = (uint64_t)1 << h->ln, maxmem = pw_mem(h->ln, h->r, h->p);
	uint32_t r = h->r, p = h->p;
	int rc = -1;

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)(uintptr_t)password, len);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)(uintptr_t)h->salt, h->saltlen);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM,
	    &maxmem);
	params[6] = OSSL_PARAM_construct_end();
	if ((kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL)) != NULL &&
	    (ctx = EVP_KDF_CTX_new(kdf)) != NULL &&
	    EVP_KDF_derive(ctx, key, keylen, params) == 1)
		rc = 0;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	if (rc != 0) {
		OPENSSL_cleanse(key, keylen);
		tg_err_set(err, TG_ERR_TEMP, NULL, "scrypt: %s",
		    kdf == NULL ? "not available in this OpenSSL" :
		    "key derivation failed (out of memory?)");
	}
	ERR_clear_error();
	return rc;
}

/* Standard base64 of in without padding into out; its length. */
static size_t
pw_b64_encode(const unsigned char *in, size_t len, char *out)
{
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

	while (n > 0 && out[n - 1] == '=')
		out[--n] = '\0';
	return (size_t)n;
}

static int
pw_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * Unpadded standard base64 in (len chars) into out, min..max bytes; only
 * the canonical spelling (unused bits zero) is taken. 0 or -1.
 */
static int
pw_b64_decode(const char *in, size_t len, unsigned char *out, size_t min,
    size_t max, size_t *outlen)
{
	char pad[PW_B64_MAX + 4], again[PW_B64_MAX + 4];
	unsigned char raw[PW_B64_MAX];
	size_t i, n, padded;
	int rc = -1;

	if (len == 0 || len > PW_B64_MAX || len % 4 == 1)
		return -1;
	n = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
	if (n < min || n > max)
		return -1;
	for (i = 0; i < len; i++)
		if (!pw_b64_char(in[i]))
			return -1;
	memcpy(pad, in, len);
	for (padded = len; padded % 4 != 0; padded++)
		pad[padded] = '=';
	if (EVP_DecodeBlock(raw, (unsigned char *)pad, (int)padded) >= 0 &&
	    pw_b64_encode(raw, n, again) == len &&
	    memcmp(again, in, len) == 0) {
		memcpy(out, raw, n);
		*outlen = n;
		rc = 0;
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

/* A decimal number of at most three digits, no leading zero, after
 * name ("ln=") at *s; *s moved past it. 0 or -1. */
static int
pw_number(const char **s, const char *name, unsigned *out)
{
	size_t nl = strlen(name), i;
	unsigned v = 0;

	if (strncmp(*s, name, nl) != 0)
		return -1;
	*s += nl;
	for (i = 0; i < 3 && (*s)[i] >= '0' && (*s)[i] <= '9'; i++)
		v = v * 10 + (unsigned)((*s)[i] - '0');
	if (i == 0 || ((*s)[0] == '0' && i > 1) ||
	    ((*s)[i] >= '0' && (*s)[i] <= '9'))
		return -1;
	*s += i;
	*out = v;
	return 0;
}

/*
 * phc ("$scrypt$ln=L,r=R,p=P$<salt>$<key>") into h, parameters checked
 * against the sane limits. 0, or -1 with err (never quoting phc).
 */
static int
pw_parse(const char *phc, struct pw_phc *h, struct tg_err *err)
{
	const char *s = phc, *dollar;

	memset(h, 0, sizeof(*h));
	if (phc == NULL || strnlen(phc, TG_PASSWORD_HASH_MAX + 1) >
	    TG_PASSWORD_HASH_MAX ||
	    strncmp(s, PW_PREFIX, sizeof(PW_PREFIX) - 1) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "password hash: not "
		    "an scrypt PHC string");
	s += sizeof(PW_PREFIX) - 1;
	if (pw_number(&s, "ln=", &h->ln) != 0 ||
	    pw_number(&s, ",r=", &h->r) != 0 ||
	    pw_number(&s, ",p=", &h->p) != 0 || *s++ != '$' ||
	    (dollar = strchr(s, '$')) == NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL, "password hash: "
		    "malformed scrypt PHC string");
	if (!pw_params_ok(h->ln, h->r, h->p))
		return tg_err_set(err, TG_ERR_PERM, NULL, "password hash: "
		    "scrypt parameters beyond the accepted limits");
	if (pw_b64_decode(s, (size_t)(dollar - s), h->salt, PW_SALT_MIN,
	    PW_SALT_MAX, &h->saltlen) != 0 ||
	    pw_b64_decode(dollar + 1, strlen(dollar + 1), h->key, PW_KEY_MIN,
	    PW_KEY_MAX, &h->keylen) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "password hash: "
		    "bad salt or hash in the scrypt PHC string");
	return 0;
}

/* h as a PHC string into out (outlen >= TG_PASSWORD_HASH_MAX + 1). */
static void
pw_format(const struct pw_phc *h, char *out, size_t outlen)
{
	char salt[PW_B64_MAX + 4], key[PW_B64_MAX + 4];

	pw_b64_encode(h->salt, h->saltlen, salt);
	pw_b64_encode(h->key, h->keylen, key);
	snprintf(out, outlen, PW_PREFIX "ln=%u,r=%u,p=%u$%s$%s", h->ln, h->r,
	    h->p, salt, key);
	OPENSSL_cleanse(key, sizeof(key));
}

int
tg_password_hash(const char *password, size_t len, unsigned ln, char *out,
    size_t outlen, struct tg_err *err)
{
	struct pw_phc h;
	int rc = -1;

	tg_err_clear(err);
	if (outlen < TG_PASSWORD_HASH_MAX + 1)
		return tg_err_set(err, TG_ERR_BUG, NULL, "password hash: "
		    "output buffer too small");
	out[0] = '\0';
	if (len > TG_PASSWORD_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "password: too long "
		    "(at most %d bytes)", TG_PASSWORD_MAX);
	memset(&h, 0, sizeof(h));
	h.ln = ln == 0 ? TG_PASSWORD_LN : ln;
	h.r = TG_PASSWORD_R;
	h.p = TG_PASSWORD_P;
	h.saltlen = PW_SALT_LEN;
	h.keylen = PW_KEY_LEN;
	if (!pw_params_ok(h.ln, h.r, h.p))
		return tg_err_set(err, TG_ERR_BUG, NULL, "password hash: ln=%u "
		    "is outside %d..%d", h.ln, PW_LN_MIN, PW_LN_MAX);
	if (RAND_bytes(h.salt, PW_SALT_LEN) != 1) {
		ERR_clear_error();
		return tg_err_set(err, TG_ERR_TEMP, NULL, "password hash: no "
		    "random bytes for a salt");
	}
	if (pw_derive(password, len, &h, h.key, h.keylen, err) == 0) {
		pw_format(&h, out, outlen);
		rc = 0;
	}
	OPENSSL_cleanse(&h, sizeof(h));
	return rc;
}

int
tg_password_verify(const char *password, size_t len, const char *phc,
    struct tg_err *err)
{
	unsigned char key[PW_KEY_MAX];
	struct pw_phc h;
	int rc;

	tg_err_clear(err);
	if (pw_parse(phc, &h, err) != 0)
		rc = -1;
	else if (len > TG_PASSWORD_MAX)
		rc = 0;		/* could never have been set */
	else if (pw_derive(password, len, &h, key, h.keylen, err) != 0)
		rc = -1;
	else
		rc = CRYPTO_memcmp(key, h.key, h.keylen) == 0;
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(&h, sizeof(h));
	return rc;
}

int
tg_password_verify_dummy(const char *password, size_t len)
{
	char phc[TG_PASSWORD_HASH_MAX + 1];
	struct pw_phc h;

	/* The same path as a real verification: format, parse, derive,
	 * compare; only the answer is fixed. */
	memset(&h, 0, sizeof(h));
	h.ln = TG_PASSWORD_LN;
	h.r = TG_PASSWORD_R;
	h.p = TG_PASSWORD_P;
	memcpy(h.salt, pw_dummy_salt, PW_SALT_LEN);
	h.saltlen = PW_SALT_LEN;
	h.keylen = PW_KEY_LEN;
	pw_format(&h, phc, sizeof(phc));
	(void)tg_password_verify(password, len, phc, NULL);
	return 0;
}

int
tg_password_needs_rehash(const char *phc, unsigned ln)
{
	struct pw_phc h;
	int rc;

	if (pw_parse(phc, &h, NULL) != 0)
		return 0;
	rc = h.ln < (ln == 0 ? TG_PASSWORD_LN : ln) || h.r < TG_PASSWORD_R ||
	    h.p < TG_PASSWORD_P || h.saltlen < PW_SALT_LEN;
	OPENSSL_cleanse(&h, sizeof(h));
	return rc;
}
