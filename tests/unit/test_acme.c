/*
 * Unit tests for acme/acme, without sockets. A scripted ACME server
 * (RFC 8555) sits behind a fake transport and checks every request as a
 * CA would: the flattened JWS verifies with the account key, its url is
 * the request's, its nonce was issued and is used once (§6.5), "jwk" is
 * sent on newAccount only and the account's "kid" on everything after
 * (§6.2), a POST-as-GET has the empty payload (§6.3), the challenge is
 * told to go only once its answer is up (§8.3), and the CSR verifies,
 * asks for the name and carries the certificate's key, not the account's
 * (§7.4, §11.1). It answers as pebble does, with a test CA issuing the
 * leaf. A fake challenger records what is published and withdrawn; the
 * sleeps asked for are recorded and return at once.
 *
 * Whole orders: the happy path, badNonce once and twice, an
 * authorization that fails, no http-01 challenge, a rate limit, a chain
 * of the wrong content type or key, an order that never finishes, a
 * publish that fails, a reused authorization (§7.1.4). Then
 * tg_acme_check_chain and the reply headers of acme/acme_curl.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/acme.h"
#include "acme/acme_curl.h"
#include "acme/jws.h"
#include "tls/cert.h"

#define NAME		"mx.gw.example"
#define NOW		((time_t)1767225600)	/* 2026-01-01 00:00 UTC */
#define DAY		86400

#define CA		"https://ca.example/acme"
#define DIR_URL		CA "/directory"
#define NONCE_URL	CA "/new-nonce"
#define ACCOUNT_URL	CA "/new-account"
#define NEW_ORDER_URL	CA "/new-order"
#define KID		CA "/acct/17"
#define ORDER_URL	CA "/order/17/1"
#define FINALIZE_URL	CA "/order/17/1/finalize"
#define AUTHZ_URL	CA "/authz/17/1"
#define CHALL_URL	CA "/chall/17/1/http"
#define DNS_CHALL_URL	CA "/chall/17/1/dns"
#define CERT_URL	CA "/cert/17/1"
#define TOKEN		"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
#define DNS_TOKEN	"DGyRejmCefe7v4NfDGDKfA"

#define E_PREFIX	"urn:ietf:params:acme:error:"
#define HTTP_DETAIL	"Invalid response from http://" NAME \
	"/.well-known/acme-challenge/" TOKEN ": 404"
#define RATE_DETAIL	"too many new orders (300) from this account " \
	"in the last 3h0m0s"
#define PUBLISH_ERROR	"fake: stsd does not answer"

#define LOG_MAX		96	/* requests and challenger calls of one run */
#define NONCES_MAX	128
#define TEXT_MAX	8192	/* a decoded protected header or payload */

/* Keys and the test CA: made once for every test. */
static EVP_PKEY *account_key, *cert_key, *other_key, *ca_key;
static X509 *ca_cert;
static char keyauth_want[sizeof(TOKEN) + TG_JWS_THUMBPRINT_LEN + 1];

/* What the CA does differently from the happy path. */
struct script {
	int bad_nonces;		/* newOrder answered badNonce this often */
	int rate_limited;	/* newOrder refused: 429 rateLimited */
	int no_http01;		/* the authz offers dns-01, tls-alpn-01 */
	int authz_fails;	/* the http-01 check fails */
	int authz_reused;	/* the authz is valid from the start */
	int order_stuck;	/* the order stays processing */
	int publish_fails;	/* the challenger cannot put the answer up */
	int wrong_key;		/* the leaf is for another key */
	int lost_nonce;		/* the challenge reply has no nonce */
	int dns01;		/* the client answers dns-01 (§8.4) */
	const char *cert_type;	/* NULL: application/pem-certificate-chain */
};

/* The fake CA, the fake challenger and the fake clock of one run. */
struct fake {
	struct script s;
	unsigned nonces;		/* issued: "nonce-0" .. */
	unsigned char used[NONCES_MAX];
	int account;			/* newAccount done */
	int order_posts;		/* newOrder requests */
	int challenge_posts;
	int authz_looks;		/* since the challenge POST */
	const char *order_status;	/* static */
	int order_looks;		/* since finalize */
	char *chain;			/* owned: the PEM served */
	char bad[512];			/* first protocol violation, "" */
	char log[LOG_MAX][96];		/* "POST url", "publish token" */
	size_t nlog;
	unsigned sleeps[LOG_MAX];
	size_t nsleeps;
	int publishes, withdraws;
	int up;				/* published, not withdrawn */
	char token[160], withdrawn[160], keyauth[256];
	struct tg_err err;		/* of tg_acme_issue */
};

static void fake_bad(struct fake *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Record the first thing the client did that a CA would refuse. */
static void
fake_bad(struct fake *f, const char *fmt, ...)
{
	va_list ap;

	if (f->bad[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(f->bad, sizeof(f->bad), fmt, ap);
	va_end(ap);
}

static int
fake_log(struct fake *f, const char *what, const char *arg)
{
	if (f->nlog == LOG_MAX) {
		fake_bad(f, "more than %d requests", LOG_MAX);
		return -1;
	}
	snprintf(f->log[f->nlog++], sizeof(f->log[0]), "%s %s", what, arg);
	return 0;
}

static size_t
fake_count(const struct fake *f, const char *entry)
{
	size_t i, n = 0;

	for (i = 0; i < f->nlog; i++)
		n += strcmp(f->log[i], entry) == 0;
	return n;
}

/* ---- replies ---------------------------------------------------------- */

/* Reply status with the JSON o (taken). */
static void
reply_json(struct tg_acme_reply *r, long status, json_t *o)
{
	char *text;

	assert_non_null(o);
	text = json_dumps(o, JSON_COMPACT);
	assert_non_null(text);
	r->status = status;
	snprintf(r->content_type, sizeof(r->content_type),
	    "application/json");
	assert_int_equal(tg_buf_puts(&r->body, text), 0);
	free(text);
	json_decref(o);
}

/* An RFC 7807 problem document of type E_PREFIX type. */
static void
reply_problem(struct tg_acme_reply *r, long status, const char *type,
    const char *detail)
{
	char urn[128];

	snprintf(urn, sizeof(urn), E_PREFIX "%s", type);
	reply_json(r, status, json_pack("{s:s, s:s, s:i}", "type", urn,
	    "detail", detail, "status", (int)status));
	snprintf(r->content_type, sizeof(r->content_type),
	    "application/problem+json");
}

/* Every reply but the directory's carries a fresh nonce (§7.2). */
static void
reply_nonce(struct fake *f, struct tg_acme_reply *r)
{
	if (f->nonces == NONCES_MAX) {
		fake_bad(f, "more than %d nonces", NONCES_MAX);
		return;
	}
	snprintf(r->nonce, sizeof(r->nonce), "nonce-%u", f->nonces++);
}

/* ---- the JWS of a request --------------------------------------------- */

/* base64url text into out, NUL-terminated; 0 or -1. */
static int
b64_text(const char *in, char *out, size_t outlen)
{
	size_t n;

	if (in == NULL || tg_b64url_decode(in, strlen(in),
	    (unsigned char *)out, outlen - 1, &n, NULL) != 0)
		return -1;
	out[n] = '\0';
	return strlen(out) == n ? 0 : -1;
}

/* 1 if sig (base64url r||s, RFC 7518 §3.4) signs prot.pay with the
 * account key. */
static int
jws_verifies(const char *prot, const char *pay, const char *sig)
{
	unsigned char raw[64], *der = NULL;
	struct tg_buf input;
	ECDSA_SIG *es = ECDSA_SIG_new();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	BIGNUM *br, *bs;
	size_t n;
	int dlen = 0, ok = 0;

	assert_true(es != NULL && ctx != NULL);
	tg_buf_init(&input, 4 * TEXT_MAX);
	assert_int_equal(tg_buf_printf(&input, "%s.%s", prot, pay), 0);
	if (tg_b64url_decode(sig, strlen(sig), raw, sizeof(raw), &n,
	    NULL) == 0 && n == sizeof(raw)) {
		br = BN_bin2bn(raw, 32, NULL);
		bs = BN_bin2bn(raw + 32, 32, NULL);
		assert_int_equal(ECDSA_SIG_set0(es, br, bs), 1);
		dlen = i2d_ECDSA_SIG(es, &der);
	}
	if (dlen > 0 && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
	    account_key) == 1)
		ok = EVP_DigestVerify(ctx, der, (size_t)dlen,
		    (const unsigned char *)input.data, input.len) == 1;
	ERR_clear_error();
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	tg_buf_free(&input);
	return ok;
}

/* A nonce this server issued and nobody has used: now used. */
static int
nonce_take(struct fake *f, const char *nonce)
{
	char want[32];
	unsigned long i;
	char *end;

	if (nonce == NULL || strncmp(nonce, "nonce-", 6) != 0)
		return 0;
	i = strtoul(nonce + 6, &end, 10);
	snprintf(want, sizeof(want), "nonce-%lu", i);
	if (*end != '\0' || i >= f->nonces || strcmp(want, nonce) != 0 ||
	    f->used[i])
		return 0;
	f->used[i] = 1;
	return 1;
}

/* 1 if jwk is the account key's public JWK. */
static int
jwk_is_account(json_t *jwk)
{
	struct tg_buf text;
	json_t *want;
	int ok;

	tg_buf_init(&text, 1024);
	assert_int_equal(tg_jws_jwk(account_key, &text, NULL), 0);
	want = json_loads(tg_buf_cstr(&text), 0, NULL);
	ok = json_is_object(jwk) && json_equal(jwk, want);
	json_decref(want);
	tg_buf_free(&text);
	return ok;
}

/* §6.2: jwk on newAccount only, the account's kid on every other. */
static const char *
header_key_problem(struct fake *f, const char *url, json_t *hdr)
{
	json_t *jwk = json_object_get(hdr, "jwk");
	const char *kid = json_string_value(json_object_get(hdr, "kid"));

	if (strcmp(url, ACCOUNT_URL) == 0) {
		if (json_object_get(hdr, "kid") != NULL ||
		    !jwk_is_account(jwk))
			return "newAccount without the account's jwk";
		return NULL;
	}
	if (jwk != NULL)
		return "jwk on a request other than newAccount";
	if (!f->account || kid == NULL || strcmp(kid, KID) != 0)
		return "no kid, or not the account's URL";
	return NULL;
}

/*
 * What a CA checks of a request before anything else: the JWS, its url,
 * its nonce, its key. The payload, decoded, into payload. 0, or -1 with
 * the violation recorded and *problem the error type to answer with.
 */
static int
fake_jws(struct fake *f, const char *url, const char *body, char *payload,
    const char **problem)
{
	char prot_text[TEXT_MAX];
	const char *prot, *pay, *sig, *why = NULL;
	json_t *jws, *hdr = NULL;

	*problem = "malformed";
	jws = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	prot = json_string_value(json_object_get(jws, "protected"));
	pay = json_string_value(json_object_get(jws, "payload"));
	sig = json_string_value(json_object_get(jws, "signature"));
	if (prot == NULL || pay == NULL || sig == NULL ||
	    json_object_size(jws) != 3)
		why = "not a flattened JWS without unprotected header";
	else if (b64_text(prot, prot_text, sizeof(prot_text)) != 0 ||
	    (hdr = json_loads(prot_text, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL)
		why = "the protected header is not base64url JSON";
	else if (b64_text(pay, payload, TEXT_MAX) != 0)
		why = "the payload is not base64url text";
	else if (!json_is_string(json_object_get(hdr, "alg")) ||
	    strcmp(json_string_value(json_object_get(hdr, "alg")),
	    "ES256") != 0 || !jws_verifies(prot, pay, sig))
		why = "the signature does not verify with ES256";
	else if (!json_is_string(json_object_get(hdr, "url")) ||
	    strcmp(json_string_value(json_object_get(hdr, "url")), url) != 0)
		why = "the protected url is not the request's";
	else if ((why = header_key_problem(f, url, hdr)) != NULL)
		*problem = "unauthorized";
	else if (!nonce_take(f, json_string_value(json_object_get(hdr,
	    "nonce")))) {
		why = "a nonce not issued, or used before";
		*problem = "badNonce";
	}
	if (why != NULL)
		fake_bad(f, "POST %s: %s", url, why);
	json_decref(hdr);
	json_decref(jws);
	return why == NULL ? 0 : -1;
}

/* ---- the resources ---------------------------------------------------- */

static void
fake_directory(struct tg_acme_reply *r)
{
	reply_json(r, 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}}",
	    "newNonce", NONCE_URL, "newAccount", ACCOUNT_URL, "newOrder",
	    NEW_ORDER_URL, "revokeCert", CA "/revoke-cert", "keyChange",
	    CA "/key-change", "meta", "termsOfService", CA "/tos.pdf"));
}

static void
fake_account(struct fake *f, const char *payload, struct tg_acme_reply *r)
{
	json_t *o = json_loads(payload, 0, NULL);
	json_t *want = json_pack("{s:b, s:[s]}", "termsOfServiceAgreed", 1,
	    "contact", "mailto:postmaster@gw.example");

	if (!json_equal(o, want)) {
		fake_bad(f, "newAccount: payload %s", payload);
		reply_problem(r, 400, "malformed", "bad newAccount");
	} else {
		f->account = 1;
		reply_json(r, 201, json_pack("{s:s, s:[s]}", "status",
		    "valid", "contact", "mailto:postmaster@gw.example"));
		snprintf(r->location, sizeof(r->location), KID);
	}
	json_decref(o);
	json_decref(want);
}

/* The order as the server shows it. */
static json_t *
order_object(const struct fake *f)
{
	json_t *o = json_pack("{s:s, s:s, s:[{s:s, s:s}], s:[s], s:s}",
	    "status", f->order_status, "expires", "2026-01-08T00:00:00Z",
	    "identifiers", "type", "dns", "value", NAME, "authorizations",
	    AUTHZ_URL, "finalize", FINALIZE_URL);

	assert_non_null(o);
	if (strcmp(f->order_status, "valid") == 0)
		json_object_set_new(o, "certificate", json_string(CERT_URL));
	return o;
}

static void
fake_new_order(struct fake *f, const char *payload, struct tg_acme_reply *r)
{
	json_t *o = json_loads(payload, 0, NULL);
	json_t *want = json_pack("{s:[{s:s, s:s}]}", "identifiers", "type",
	    "dns", "value", NAME);

	f->order_posts++;
	if (!json_equal(o, want)) {
		fake_bad(f, "newOrder: payload %s", payload);
		reply_problem(r, 400, "malformed", "bad newOrder");
	} else if (f->order_posts <= f->s.bad_nonces)
		reply_problem(r, 400, "badNonce",
		    "JWS has an invalid anti-replay nonce");
	else if (f->s.rate_limited)
		reply_problem(r, 429, "rateLimited", RATE_DETAIL);
	else {
		f->order_status = f->s.authz_reused ? "ready" : "pending";
		reply_json(r, 201, order_object(f));
		snprintf(r->location, sizeof(r->location), ORDER_URL);
	}
	json_decref(o);
	json_decref(want);
}

/* The authz's challenges: dns-01 first, then http-01 (or tls-alpn-01). */
static json_t *
challenges(const struct fake *f, const char *http_status)
{
	json_t *chs = json_array(), *c;

	assert_non_null(chs);
	json_array_append_new(chs, json_pack("{s:s, s:s, s:s, s:s}", "type",
	    "dns-01", "url", DNS_CHALL_URL, "token", DNS_TOKEN, "status",
	    "pending"));
	if (f->s.no_http01) {
		json_array_append_new(chs, json_pack("{s:s, s:s, s:s, s:s}",
		    "type", "tls-alpn-01", "url", CA "/chall/17/1/alpn",
		    "token", DNS_TOKEN, "status", "pending"));
		return chs;
	}
	c = json_pack("{s:s, s:s, s:s, s:s}", "type", "http-01", "url",
	    CHALL_URL, "token", TOKEN, "status", http_status);
	assert_non_null(c);
	if (strcmp(http_status, "invalid") == 0)
		json_object_set_new(c, "error", json_pack("{s:s, s:s, s:i}",
		    "type", E_PREFIX "unauthorized", "detail", HTTP_DETAIL,
		    "status", 403));
	json_array_append_new(chs, c);
	return chs;
}

/* pending until the challenge is answered, then processing once (with
 * Retry-After: 3), then valid or invalid. */
static void
fake_authz(struct fake *f, const char *payload, struct tg_acme_reply *r)
{
	const char *st = "pending", *http = "pending";

	(void)payload;
	if (f->s.authz_reused)
		st = http = "valid";
	else if (f->challenge_posts > 0) {
		/* The CA fetches the answer while it validates. */
		if (!f->up)
			fake_bad(f, "authz looked at with the answer down");
		if (++f->authz_looks == 1) {
			st = http = "processing";
			r->retry_after = 3;
		} else
			st = http = f->s.authz_fails ? "invalid" : "valid";
	}
	if (strcmp(st, "valid") == 0 && strcmp(f->order_status, "pending") ==
	    0)
		f->order_status = "ready";
	reply_json(r, 200, json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}",
	    "status", st, "expires", "2026-01-08T00:00:00Z", "identifier",
	    "type", "dns", "value", NAME, "challenges", challenges(f, http)));
}

/* §8.3: "{}" says go, and the answer must be up by then. */
static void
fake_challenge(struct fake *f, const char *payload, struct tg_acme_reply *r)
{
	if (strcmp(payload, "{}") != 0)
		fake_bad(f, "challenge: payload %s, not {}", payload);
	if (f->s.dns01)
		fake_bad(f, "the http-01 challenge was answered");
	if (f->publishes != 1 || !f->up || strcmp(f->token, TOKEN) != 0 ||
	    strcmp(f->keyauth, keyauth_want) != 0)
		fake_bad(f, "challenge POSTed before %s was published",
		    keyauth_want);
	if (f->s.authz_reused)
		fake_bad(f, "challenge of a valid authz answered");
	f->challenge_posts++;
	reply_json(r, 200, json_pack("{s:s, s:s, s:s, s:s}", "type",
	    "http-01", "url", CHALL_URL, "token", TOKEN, "status",
	    "processing"));
}

static void
fake_dns_challenge(struct fake *f, const char *payload,
    struct tg_acme_reply *r)
{
	if (!f->s.dns01) {
		(void)payload;
		fake_bad(f, "the dns-01 challenge was answered");
		reply_problem(r, 400, "malformed", "not that one");
		return;
	}
	if (strcmp(payload, "{}") != 0 || f->publishes != 1 || !f->up ||
	    strcmp(f->token, DNS_TOKEN) != 0)
		fake_bad(f, "dns-01 challenge POSTed before it was published");
	f->challenge_posts++;
	reply_json(r, 200, json_pack("{s:s, s:s, s:s, s:s}", "type",
	    "dns-01", "url", DNS_CHALL_URL, "token", DNS_TOKEN, "status",
	    "processing"));
}

/* 1 if the CSR asks for exactly one name, NAME, in its SAN. */
static int
csr_names_ok(X509_REQ *req)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *g;
	int ok = 0;

	if (exts != NULL)
		gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	if (sk_GENERAL_NAME_num(gens) == 1) {
		g = sk_GENERAL_NAME_value(gens, 0);
		ok = g->type == GEN_DNS &&
		    ASN1_STRING_length(g->d.dNSName) == (int)strlen(NAME) &&
		    memcmp(ASN1_STRING_get0_data(g->d.dNSName), NAME,
		    strlen(NAME)) == 0;
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return ok;
}

/* The CSR of a finalize payload, checked as a CA does, or NULL. */
static X509_REQ *
fake_csr(struct fake *f, const char *payload)
{
	json_t *o = json_loads(payload, JSON_REJECT_DUPLICATES, NULL);
	const char *csr = json_string_value(json_object_get(o, "csr"));
	unsigned char der[4096];
	const unsigned char *p = der;
	X509_REQ *req = NULL;
	EVP_PKEY *pub;
	size_t n;

	if (csr == NULL || json_object_size(o) != 1 ||
	    tg_b64url_decode(csr, strlen(csr), der, sizeof(der), &n,
	    NULL) != 0 || (req = d2i_X509_REQ(NULL, &p, (long)n)) == NULL ||
	    p != der + n)
		fake_bad(f, "finalize: no DER CSR in %s", payload);
	else if ((pub = X509_REQ_get0_pubkey(req)) == NULL ||
	    X509_REQ_verify(req, pub) != 1)
		fake_bad(f, "finalize: the CSR's signature does not verify");
	else if (!csr_names_ok(req))
		fake_bad(f, "finalize: the CSR's SAN is not DNS:" NAME);
	else if (EVP_PKEY_eq(pub, account_key) == 1)
		fake_bad(f, "finalize: the CSR has the account key");
	else if (EVP_PKEY_eq(pub, cert_key) != 1)
		fake_bad(f, "finalize: the CSR is not for the cert key");
	else {
		json_decref(o);
		return req;
	}
	ERR_clear_error();
	X509_REQ_free(req);
	json_decref(o);
	return NULL;
}

/* leaf, then ca (may be NULL), as PEM (malloc'd). */
static char *
pem_chain(X509 *leaf, X509 *ca)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem;
	long n;

	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_X509(bio, leaf), 1);
	if (ca != NULL)
		assert_int_equal(PEM_write_bio_X509(bio, ca), 1);
	n = BIO_get_mem_data(bio, &data);
	pem = strndup(data, (size_t)n);
	assert_non_null(pem);
	BIO_free(bio);
	return pem;
}

/* A leaf from the test CA for key and name, valid NOW - 1h .. + 90d. */
static X509 *
make_leaf(EVP_PKEY *key, const char *name)
{
	const char *const names[] = { name };
	struct tg_cert_template t = { NULL, names, 1, NOW - 3600,
	    NOW + 90 * DAY, 0 };
	struct tg_err err;
	X509 *leaf;

	assert_int_equal(tg_cert_issue(&t, key, ca_cert, ca_key, &leaf,
	    &err), 0);
	return leaf;
}

/* §7.4: the CSR in, the order processing, the chain made. */
static void
fake_finalize(struct fake *f, const char *payload, struct tg_acme_reply *r)
{
	X509_REQ *req;
	X509 *leaf;

	if (strcmp(f->order_status, "ready") != 0) {
		fake_bad(f, "finalize of an order %s", f->order_status);
		reply_problem(r, 403, "orderNotReady", "not ready");
		return;
	}
	if ((req = fake_csr(f, payload)) == NULL) {
		reply_problem(r, 400, "badCSR", "bad CSR");
		return;
	}
	leaf = make_leaf(f->s.wrong_key ? other_key :
	    X509_REQ_get0_pubkey(req), NAME);
	free(f->chain);
	f->chain = pem_chain(leaf, ca_cert);
	X509_free(leaf);
	X509_REQ_free(req);
	f->order_status = "processing";
	reply_json(r, 200, order_object(f));
	snprintf(r->location, sizeof(r->location), ORDER_URL);
}

/* Processing for one more look after finalize (no Retry-After), then
 * valid; a stuck order asks for an hour every time. */
static void
fake_order(struct fake *f, const char *payload, struct tg_acme_reply *r)
{
	(void)payload;
	if (strcmp(f->order_status, "processing") == 0) {
		if (f->s.order_stuck)
			r->retry_after = 3600;
		else if (++f->order_looks >= 2)
			f->order_status = "valid";
	}
	reply_json(r, 200, order_object(f));
}

static void
fake_cert(struct fake *f, const char *payload, struct tg_acme_reply *r)
{
	(void)payload;
	if (strcmp(f->order_status, "valid") != 0 || f->chain == NULL) {
		fake_bad(f, "certificate of an order %s", f->order_status);
		reply_problem(r, 403, "unauthorized", "no certificate");
		return;
	}
	r->status = 200;
	snprintf(r->content_type, sizeof(r->content_type), "%s",
	    f->s.cert_type != NULL ? f->s.cert_type :
	    "application/pem-certificate-chain");
	assert_int_equal(tg_buf_puts(&r->body, f->chain), 0);
}

typedef void (*fake_handler)(struct fake *, const char *,
    struct tg_acme_reply *);

/* The resources a POST may go to; as_get: only POST-as-GET (§6.3). */
static const struct route {
	const char *url;
	int as_get;
	fake_handler handle;
} routes[] = {
	{ ACCOUNT_URL, 0, fake_account },
	{ NEW_ORDER_URL, 0, fake_new_order },
	{ AUTHZ_URL, 1, fake_authz },
	{ CHALL_URL, 0, fake_challenge },
	{ DNS_CHALL_URL, 0, fake_dns_challenge },
	{ FINALIZE_URL, 0, fake_finalize },
	{ ORDER_URL, 1, fake_order },
	{ CERT_URL, 1, fake_cert },
};

static const struct route *
route_of(const char *url)
{
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].url, url) == 0)
			return &routes[i];
	return NULL;
}

/* A signed request to one of the routes. */
static void
fake_post(struct fake *f, const char *url, const char *body,
    struct tg_acme_reply *r)
{
	const struct route *rt = route_of(url);
	char payload[TEXT_MAX];
	const char *problem;

	if (rt == NULL || body == NULL) {
		fake_bad(f, "POST %s: no such resource or no body", url);
		reply_problem(r, 404, "malformed", "not found");
	} else if (fake_jws(f, url, body, payload, &problem) != 0)
		reply_problem(r, 400, problem, "refused");
	else if (rt->as_get && payload[0] != '\0') {
		fake_bad(f, "POST %s: payload %s, not \"\"", url, payload);
		reply_problem(r, 400, "malformed", "POST-as-GET with a body");
	} else
		rt->handle(f, payload, r);
}

static int
fake_send(void *ctx, const char *method, const char *url, const char *body,
    struct tg_acme_reply *r, struct tg_err *err)
{
	struct fake *f = ctx;

	if (fake_log(f, method, url) != 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "fake: no more");
	if (strcmp(method, "GET") == 0 && strcmp(url, DIR_URL) == 0 &&
	    body == NULL) {
		fake_directory(r);	/* no nonce: newNonce gives one */
		return 0;
	}
	if (strcmp(method, "HEAD") == 0 && strcmp(url, NONCE_URL) == 0 &&
	    body == NULL)
		r->status = 200;
	else if (strcmp(method, "POST") == 0)
		fake_post(f, url, body, r);
	else {
		fake_bad(f, "%s %s: not allowed", method, url);
		reply_problem(r, 405, "malformed", "method not allowed");
	}
	if (!f->s.lost_nonce || strcmp(url, CHALL_URL) != 0)
		reply_nonce(f, r);
	return 0;
}

static void
fake_sleep(void *ctx, unsigned seconds)
{
	struct fake *f = ctx;

	if (f->nsleeps < LOG_MAX)
		f->sleeps[f->nsleeps++] = seconds;
}

/* ---- the challenger --------------------------------------------------- */

static int
fake_publish(void *arg, const char *host, const char *token,
    const char *key_authorization, struct tg_err *err)
{
	struct fake *f = arg;

	fake_log(f, "publish", token);
	f->publishes++;
	if (strcmp(host, NAME) != 0)
		fake_bad(f, "published for %s", host);
	snprintf(f->token, sizeof(f->token), "%s", token);
	snprintf(f->keyauth, sizeof(f->keyauth), "%s", key_authorization);
	if (f->s.publish_fails)
		return tg_err_set(err, TG_ERR_TEMP, NULL, PUBLISH_ERROR);
	f->up = 1;
	return 0;
}

static void
fake_withdraw(void *arg, const char *token)
{
	struct fake *f = arg;

	fake_log(f, "withdraw", token);
	f->withdraws++;
	snprintf(f->withdrawn, sizeof(f->withdrawn), "%s", token);
	f->up = 0;
}

/* ---- running an order ------------------------------------------------- */

static void
fake_init(struct fake *f, const struct script *s)
{
	memset(f, 0, sizeof(*f));
	f->s = *s;
	f->order_status = "none";
}

/* tg_acme_issue against f; the chain into *chain. */
static int
fake_run(struct fake *f, char **chain, struct tg_err *err)
{
	static const struct tg_acme_params p = {
		DIR_URL, "postmaster@gw.example"
	};
	const struct tg_acme_transport t = { fake_send, fake_sleep, f };
	const struct tg_acme_challenger ch = {
		fake_publish, fake_withdraw, f, f->s.dns01 ? "dns-01" : NULL
	};

	return tg_acme_issue(&p, &t, &ch, account_key, cert_key, NAME, NOW,
	    chain, err);
}

static void
assert_log(const struct fake *f, const char *const *want, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < f->nlog; i++)
		assert_string_equal(f->log[i], want[i]);
	assert_int_equal(f->nlog, n);
}

static void
assert_msg(const struct tg_err *err, const char *part)
{
	if (strstr(err->msg, part) == NULL)
		fail_msg("\"%s\" not in \"%s\"", part, err->msg);
}

/* Run s to a failure of class cls whose message holds msg; the error
 * stays in f->err. */
static void
run_fails(struct fake *f, const struct script *s, enum tg_err_class cls,
    const char *msg)
{
	static char untouched[] = "untouched";
	char *chain = untouched;

	fake_init(f, s);
	assert_int_equal(fake_run(f, &chain, &f->err), -1);
	assert_string_equal(f->bad, "");
	assert_null(chain);
	assert_int_equal(f->err.cls, cls);
	assert_msg(&f->err, msg);
}

/* ---- whole orders ----------------------------------------------------- */

static void
test_issue(void **state)
{
	static const char *const want[] = {
		"GET " DIR_URL, "HEAD " NONCE_URL, "POST " ACCOUNT_URL,
		"POST " NEW_ORDER_URL, "POST " AUTHZ_URL, "publish " TOKEN,
		"POST " CHALL_URL, "POST " AUTHZ_URL, "POST " AUTHZ_URL,
		"POST " FINALIZE_URL, "POST " ORDER_URL, "POST " ORDER_URL,
		"POST " CERT_URL, "withdraw " TOKEN,
	};
	static const struct script s = { 0 };
	STACK_OF(X509) *sk;
	struct fake f;
	struct tg_err err;
	char *chain = NULL;
	X509 *leaf;

	(void)state;
	fake_init(&f, &s);
	assert_int_equal(fake_run(&f, &chain, &err), 0);
	assert_string_equal(f.bad, "");
	assert_int_equal(err.cls, TG_ERR_NONE);
	assert_non_null(chain);
	assert_string_equal(chain, f.chain);	/* as served */
	assert_int_equal(tg_cert_chain_load_mem(chain, strlen(chain), &sk,
	    &err), 0);
	assert_int_equal(sk_X509_num(sk), 2);
	leaf = sk_X509_value(sk, 0);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(leaf), cert_key), 1);
	assert_int_equal(X509_check_host(leaf, NAME, 0, 0, NULL), 1);
	assert_int_equal(X509_verify(leaf, ca_key), 1);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 1), ca_cert), 0);
	tg_cert_chain_free(sk);
	assert_int_equal(f.publishes, 1);
	assert_int_equal(f.withdraws, 1);
	assert_string_equal(f.token, TOKEN);
	assert_string_equal(f.withdrawn, TOKEN);
	assert_string_equal(f.keyauth, keyauth_want);
	/* Retry-After: 3 on the authz; none on the order. */
	assert_int_equal(f.nsleeps, 2);
	assert_int_equal(f.sleeps[0], 3);
	assert_int_equal(f.sleeps[1], TG_ACME_POLL_DEFAULT_S);
	assert_log(&f, want, sizeof(want) / sizeof(want[0]));
	free(chain);
	free(f.chain);
}

/* §6.5: a badNonce reply carries a fresh nonce; one retry with it. */
/* §8.4: a dns-01 challenger gets the dns-01 token, the http-01 one is
 * never answered; the TXT value is base64url(SHA-256(key auth)). */
static void
test_issue_dns01(void **state)
{
	static const struct script s = { .dns01 = 1 };
	struct fake f;
	struct tg_err err;
	char *chain = NULL, v[64];

	(void)state;
	fake_init(&f, &s);
	assert_int_equal(fake_run(&f, &chain, &err), 0);
	assert_string_equal(f.bad, "");
	assert_non_null(chain);
	assert_int_equal(fake_count(&f, "publish " DNS_TOKEN), 1);
	assert_int_equal(fake_count(&f, "POST " DNS_CHALL_URL), 1);
	assert_int_equal(fake_count(&f, "POST " CHALL_URL), 0);
	assert_int_equal(fake_count(&f, "withdraw " DNS_TOKEN), 1);
	free(chain);
	free(f.chain);
	/* SHA-256("abc"), FIPS 180-2's example, in base64url. */
	assert_int_equal(tg_acme_dns01_value("abc", v, sizeof(v), &err), 0);
	assert_string_equal(v, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
	assert_int_equal(tg_acme_dns01_value("abc", v, 43, &err), -1);
}

static void
test_bad_nonce_once(void **state)
{
	static const struct script s = { .bad_nonces = 1 };
	struct fake f;
	struct tg_err err;
	char *chain = NULL;

	(void)state;
	fake_init(&f, &s);
	assert_int_equal(fake_run(&f, &chain, &err), 0);
	assert_string_equal(f.bad, "");
	assert_non_null(chain);
	assert_int_equal(f.order_posts, 2);
	assert_int_equal(fake_count(&f, "POST " NEW_ORDER_URL), 2);
	/* The retry used the nonce of the badNonce reply. */
	assert_int_equal(fake_count(&f, "HEAD " NONCE_URL), 1);
	free(chain);
	free(f.chain);
}

static void
test_bad_nonce_twice(void **state)
{
	static const struct script s = { .bad_nonces = 2 };
	struct fake f;

	(void)state;
	run_fails(&f, &s, TG_ERR_PERM, "badNonce");
	assert_int_equal(fake_count(&f, "POST " NEW_ORDER_URL), 2);
	assert_int_equal(f.publishes, 0);
	assert_int_equal(fake_count(&f, "POST " AUTHZ_URL), 0);
	free(f.chain);
}

/* A reply without a nonce: the used one is not sent again, a new one is
 * fetched (§7.2). */
static void
test_lost_nonce(void **state)
{
	static const struct script s = { .lost_nonce = 1 };
	struct fake f;
	struct tg_err err;
	char *chain = NULL;

	(void)state;
	fake_init(&f, &s);
	assert_int_equal(fake_run(&f, &chain, &err), 0);
	assert_string_equal(f.bad, "");
	assert_non_null(chain);
	assert_int_equal(fake_count(&f, "HEAD " NONCE_URL), 2);
	free(chain);
	free(f.chain);
}

/* The http-01 check fails: the challenge's error is the reason. */
static void
test_authz_invalid(void **state)
{
	static const struct script s = { .authz_fails = 1 };
	struct fake f;

	(void)state;
	run_fails(&f, &s, TG_ERR_PERM, E_PREFIX "unauthorized");
	assert_msg(&f.err, HTTP_DETAIL);
	assert_int_equal(f.publishes, 1);
	assert_int_equal(f.withdraws, 1);
	assert_string_equal(f.withdrawn, TOKEN);
	assert_int_equal(fake_count(&f, "POST " FINALIZE_URL), 0);
	free(f.chain);
}

static void
test_no_http01(void **state)
{
	static const struct script s = { .no_http01 = 1 };
	struct fake f;

	(void)state;
	run_fails(&f, &s, TG_ERR_PERM, "no http-01");
	assert_int_equal(f.publishes, 0);
	assert_int_equal(f.withdraws, 0);
	assert_int_equal(f.challenge_posts, 0);
	free(f.chain);
}

static void
test_rate_limited(void **state)
{
	static const struct script s = { .rate_limited = 1 };
	struct fake f;

	(void)state;
	run_fails(&f, &s, TG_ERR_TEMP, RATE_DETAIL);
	assert_int_equal(fake_count(&f, "POST " NEW_ORDER_URL), 1);
	assert_int_equal(fake_count(&f, "POST " AUTHZ_URL), 0);
	free(f.chain);
}

static void
test_wrong_content_type(void **state)
{
	static const struct script s = { .cert_type = "text/plain" };
	struct fake f;

	(void)state;
	run_fails(&f, &s, TG_ERR_PERM, "text/plain");
	assert_int_equal(fake_count(&f, "POST " CERT_URL), 1);
	assert_int_equal(f.withdraws, 1);
	free(f.chain);
}

static void
test_wrong_key(void **state)
{
	static const struct script s = { .wrong_key = 1 };
	struct fake f;

	(void)state;
	run_fails(&f, &s, TG_ERR_PERM, "another key");
	assert_int_equal(f.withdraws, 1);
	free(f.chain);
}

/* Bounded: TG_ACME_POLLS_MAX looks, each wait capped. */
static void
test_order_stuck(void **state)
{
	static const struct script s = { .order_stuck = 1 };
	struct fake f;
	char msg[64];
	size_t i;

	(void)state;
	snprintf(msg, sizeof(msg), "still processing after %d looks",
	    TG_ACME_POLLS_MAX);
	run_fails(&f, &s, TG_ERR_TEMP, msg);
	assert_int_equal(fake_count(&f, "POST " ORDER_URL),
	    TG_ACME_POLLS_MAX);
	assert_int_equal(fake_count(&f, "POST " CERT_URL), 0);
	/* One wait on the authz, then between the looks at the order, each
	 * capped. */
	assert_int_equal(f.nsleeps, 1 + (TG_ACME_POLLS_MAX - 1));
	assert_int_equal(f.sleeps[0], 3);
	for (i = 1; i < f.nsleeps; i++)
		assert_int_equal(f.sleeps[i], TG_ACME_POLL_MAX_S);
	assert_int_equal(f.withdraws, 1);
	free(f.chain);
}

static void
test_publish_fails(void **state)
{
	static const struct script s = { .publish_fails = 1 };
	struct fake f;
	struct tg_err err;
	char *chain = NULL;

	(void)state;
	fake_init(&f, &s);
	assert_int_equal(fake_run(&f, &chain, &err), -1);
	assert_string_equal(f.bad, "");
	assert_null(chain);
	assert_int_equal(err.cls, TG_ERR_TEMP);
	assert_string_equal(err.msg, PUBLISH_ERROR);
	assert_int_equal(f.publishes, 1);
	assert_int_equal(fake_count(&f, "POST " CHALL_URL), 0);
	assert_int_equal(f.challenge_posts, 0);
	assert_int_equal(f.withdraws, 0);	/* nothing went up */
	free(f.chain);
}

/* §7.1.4: a valid authz is reused; straight on to finalize. */
static void
test_authz_reused(void **state)
{
	static const char *const want[] = {
		"GET " DIR_URL, "HEAD " NONCE_URL, "POST " ACCOUNT_URL,
		"POST " NEW_ORDER_URL, "POST " AUTHZ_URL,
		"POST " FINALIZE_URL, "POST " ORDER_URL, "POST " ORDER_URL,
		"POST " CERT_URL,
	};
	static const struct script s = { .authz_reused = 1 };
	struct fake f;
	struct tg_err err;
	char *chain = NULL;

	(void)state;
	fake_init(&f, &s);
	assert_int_equal(fake_run(&f, &chain, &err), 0);
	assert_string_equal(f.bad, "");
	assert_non_null(chain);
	assert_int_equal(f.publishes, 0);
	assert_int_equal(f.withdraws, 0);
	assert_log(&f, want, sizeof(want) / sizeof(want[0]));
	assert_int_equal(f.nsleeps, 1);
	assert_int_equal(f.sleeps[0], TG_ACME_POLL_DEFAULT_S);
	free(chain);
	free(f.chain);
}

/* ---- tg_acme_check_chain ---------------------------------------------- */

static void
test_check_chain(void **state)
{
	X509 *leaf = make_leaf(cert_key, NAME);
	char *full = pem_chain(leaf, ca_cert), *alone = pem_chain(leaf, NULL);
	char damaged[8192];
	const struct {
		const char *pem;
		EVP_PKEY *key;
		const char *name;
		time_t now;
		int rc;
		const char *msg;
	} t[] = {
		{ full, cert_key, NAME, NOW, 0, "" },
		{ alone, cert_key, NAME, NOW + 89 * DAY, 0, "" },
		{ "", cert_key, NAME, NOW, -1, "no certificate" },
		{ "not PEM at all\n", cert_key, NAME, NOW, -1,
		    "no certificate" },
		{ full, cert_key, NAME, NOW + 91 * DAY, -1, "not valid now" },
		{ full, cert_key, NAME, NOW - 2 * 3600, -1, "not valid now" },
		{ full, cert_key, "other.gw.example", NOW, -1,
		    "does not cover other.gw.example" },
		{ full, other_key, NAME, NOW, -1, "another key" },
		{ damaged, cert_key, NAME, NOW, -1, "damaged certificate" },
	};
	struct tg_err err;
	time_t nb, na;
	size_t i;

	(void)state;
	/* The leaf, then a block that is not a certificate. */
	snprintf(damaged, sizeof(damaged), "%s-----BEGIN CERTIFICATE-----\n"
	    "AAAA\n-----END CERTIFICATE-----\n", alone);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		nb = na = 0;
		if (tg_acme_check_chain(t[i].pem, strlen(t[i].pem), t[i].key,
		    t[i].name, t[i].now, &nb, &na, &err) != t[i].rc)
			fail_msg("case %zu: not %d (%s)", i, t[i].rc, err.msg);
		if (t[i].rc == 0) {
			assert_int_equal(nb, NOW - 3600);
			assert_int_equal(na, NOW + 90 * DAY);
		} else {
			assert_int_equal(err.cls, TG_ERR_PERM);
			assert_msg(&err, t[i].msg);
		}
		/* Nothing left on OpenSSL's error queue for the next. */
		assert_int_equal(ERR_peek_error(), 0);
	}
	/* The dates may be left out. */
	assert_int_equal(tg_acme_check_chain(full, strlen(full), cert_key,
	    NAME, NOW, NULL, NULL, &err), 0);
	X509_free(leaf);
	free(full);
	free(alone);
}

/* ---- the reply headers of acme/acme_curl ------------------------------ */

static void
test_curl_header(void **state)
{
	static const struct {
		const char *line;
		size_t len;		/* 0: strlen(line) */
		const char *location, *nonce, *type;
		long retry_after;
	} t[] = {
		{ "Location: " ORDER_URL "\r\n", 0, ORDER_URL, "", "", -1 },
		{ "location:" ORDER_URL, 0, ORDER_URL, "", "", -1 },
		{ "Replay-Nonce: \t oFvnlFP1wIhRlYS2jTaXbA \r\n", 0, "",
		    "oFvnlFP1wIhRlYS2jTaXbA", "", -1 },
		{ "REPLAY-NONCE: abc\r\nX: y", 17, "", "abc", "", -1 },
		{ "Content-Type: Application/PEM-Certificate-Chain; "
		    "charset=utf-8\r\n", 0, "", "",
		    "application/pem-certificate-chain", -1 },
		{ "content-type:application/json\r\n", 0, "", "",
		    "application/json", -1 },
		{ "Retry-After: 120\r\n", 0, "", "", "", 120 },
		{ "retry-after:  0 \r\n", 0, "", "", "", 0 },
		{ "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", 0, "", "",
		    "", -1 },
		{ "Retry-After: soon\r\n", 0, "", "", "", -1 },
		{ "Retry-After: 12x\r\n", 0, "", "", "", -1 },
		{ "Retry-After: -5\r\n", 0, "", "", "", -1 },
		{ "Retry-After:\r\n", 0, "", "", "", -1 },
		{ "Content-Location: https://elsewhere.example/\r\n", 0, "",
		    "", "", -1 },
		{ "X-Replay-Nonce: zzz\r\n", 0, "", "", "", -1 },
		{ "Link: <" DIR_URL ">;rel=\"index\"\r\n", 0, "", "", "",
		    -1 },
		{ "HTTP/1.1 201 Created\r\n", 0, "", "", "", -1 },
		{ "Location https://no.colon.example/\r\n", 0, "", "", "",
		    -1 },
		{ "\r\n", 0, "", "", "", -1 },
	};
	struct tg_acme_reply r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		tg_acme_reply_init(&r);
		tg_acme_curl_header(t[i].line, t[i].len != 0 ? t[i].len :
		    strlen(t[i].line), &r);
		if (strcmp(r.location, t[i].location) != 0 ||
		    strcmp(r.nonce, t[i].nonce) != 0 ||
		    strcmp(r.content_type, t[i].type) != 0 ||
		    r.retry_after != t[i].retry_after)
			fail_msg("case %zu: [%s] [%s] [%s] %ld", i,
			    r.location, r.nonce, r.content_type,
			    r.retry_after);
		tg_acme_reply_free(&r);
	}
}

/* ---- set-up ----------------------------------------------------------- */

static int
group_setup(void **state)
{
	struct tg_cert_template t = { "Fake ACME Root", NULL, 0,
	    NOW - DAY, NOW + 3650 * DAY, 1 };
	char tp[TG_JWS_THUMBPRINT_LEN + 1];

	(void)state;
	account_key = tg_cert_key_new(NULL);
	cert_key = tg_cert_key_new(NULL);
	other_key = tg_cert_key_new(NULL);
	ca_key = tg_cert_key_new(NULL);
	if (account_key == NULL || cert_key == NULL || other_key == NULL ||
	    ca_key == NULL ||
	    tg_cert_issue(&t, ca_key, NULL, NULL, &ca_cert, NULL) != 0 ||
	    tg_jws_thumbprint(account_key, tp, sizeof(tp), NULL) != 0)
		return -1;
	snprintf(keyauth_want, sizeof(keyauth_want), "%s.%s", TOKEN, tp);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(account_key);
	EVP_PKEY_free(cert_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(ca_key);
	X509_free(ca_cert);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue),
		cmocka_unit_test(test_issue_dns01),
		cmocka_unit_test(test_bad_nonce_once),
		cmocka_unit_test(test_bad_nonce_twice),
		cmocka_unit_test(test_lost_nonce),
		cmocka_unit_test(test_authz_invalid),
		cmocka_unit_test(test_no_http01),
		cmocka_unit_test(test_rate_limited),
		cmocka_unit_test(test_wrong_content_type),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_order_stuck),
		cmocka_unit_test(test_publish_fails),
		cmocka_unit_test(test_authz_reused),
		cmocka_unit_test(test_check_chain),
		cmocka_unit_test(test_curl_header),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
