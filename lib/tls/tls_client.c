/*
 * tls/tls_client — see tls_client.h.
 */
#include "tls/tls_client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "tls/cert.h"

/* What tg_tls_client_new decided, kept on the SSL for the result. */
struct tls_conn_state {
	enum tg_tls_mode mode;
	size_t usable;		/* TLSA records OpenSSL accepted */
};

static int tls_ex_index = -1;
static pthread_once_t tls_ex_once = PTHREAD_ONCE_INIT;

static void
tls_state_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

static void
tls_ex_init(void)
{
	tls_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
	    tls_state_free);
}

/* Describe OpenSSL's last error in err, clearing the queue. */
static int
tls_fail(struct tg_err *err, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char ebuf[256];

	ERR_error_string_n(e, ebuf, sizeof(ebuf));
	ERR_clear_error();
	if (e == 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "%s", what);
	return tg_err_set(err, TG_ERR_TEMP, NULL, "%s: %s", what, ebuf);
}

SSL_CTX *
tg_tls_client_ctx_new(const char *ca_file, struct tg_err *err)
{
	SSL_CTX *ctx;
	int ok;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_fail(err, "cannot create TLS client context");
		return NULL;
	}
	/* RFC 8461 §7.2 and the project's floor: TLS 1.2 at least. */
	ok = SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) &&
	    SSL_CTX_dane_enable(ctx) > 0;
	if (ok && ca_file != NULL)
		ok = SSL_CTX_load_verify_locations(ctx, ca_file, NULL);
	else if (ok)
		ok = SSL_CTX_set_default_verify_paths(ctx);
	if (!ok) {
		tls_fail(err, ca_file != NULL ? ca_file :
		    "cannot set up TLS client context");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx,
	    SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	return ctx;
}

/* Hand OpenSSL the usable records kept by digest agility; returns how
 * many it accepted (a Full(0) record that is not valid DER is refused
 * by OpenSSL and so unusable too). */
static size_t
tls_add_tlsa(SSL *ssl, const struct tg_tls_verify *v, const unsigned char *keep)
{
	const struct tg_tlsa_rr *rr;
	size_t i, usable = 0;

	for (i = 0; i < v->tlsa_n; i++) {
		rr = &v->tlsa[i];
		if (!keep[i])
			continue;
		if (SSL_dane_tlsa_add(ssl, rr->usage, rr->selector, rr->mtype,
		    rr->data, rr->len) > 0)
			usable++;
		ERR_clear_error();
	}
	return usable;
}

static int
tls_setup_dane(SSL *ssl, const struct tg_tls_verify *v,
    struct tls_conn_state *st, struct tg_err *err)
{
	unsigned char *keep = NULL;
	size_t i;

	if (v->tlsa_base == NULL || v->tlsa_base[0] == '\0')
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "DANE without a TLSA base domain");
	if (v->tlsa_n > 0 && (keep = calloc(v->tlsa_n, 1)) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	/* RFC 7672 §8.1: SNI is the TLSA base domain, sent also when no
	 * record is usable. SSL_dane_enable makes it the first reference
	 * identifier as well (RFC 7672 §3.2.2). */
	if (SSL_dane_enable(ssl, v->tlsa_base) <= 0) {
		free(keep);
		return tls_fail(err, "SSL_dane_enable");
	}
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	if (keep != NULL && tg_tlsa_agility(v->tlsa, v->tlsa_n, keep) > 0)
		st->usable = tls_add_tlsa(ssl, v, keep);
	free(keep);
	for (i = 0; i < v->n_names; i++)
		if (!SSL_add1_host(ssl, v->names[i]))
			return tls_fail(err, "SSL_add1_host");
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	/* No usable record: TLS mandatory, not authenticated (RFC 7672
	 * §3.1.3), so the handshake must not fail on verification. */
	if (st->usable > 0 && !v->report_only)
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	return 0;
}

/* PKIX (and opportunistic): SNI = MX host name and the DNS-ID to match
 * (RFC 8461 §4.2, §7.1). */
static int
tls_setup_pkix(SSL *ssl, const struct tg_tls_verify *v, int enforce,
    struct tg_err *err)
{
	if (v->host == NULL || v->host[0] == '\0') {
		if (enforce)
			return tg_err_set(err, TG_ERR_BUG, NULL,
			    "PKIX verification without a host name");
		return 0;
	}
	if (!SSL_set_tlsext_host_name(ssl, v->host) ||
	    !SSL_set1_host(ssl, v->host))
		return tls_fail(err, "cannot set host name");
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (enforce && !v->report_only)
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	return 0;
}

static int
tls_setup(SSL *ssl, const struct tg_tls_verify *v, struct tls_conn_state *st,
    struct tg_err *err)
{
	switch (v->mode) {
	case TG_TLS_DANE:
		return tls_setup_dane(ssl, v, st, err);
	case TG_TLS_PKIX:
		return tls_setup_pkix(ssl, v, 1, err);
	case TG_TLS_OPPORTUNISTIC:
		return tls_setup_pkix(ssl, v, 0, err);
	}
	return tg_err_set(err, TG_ERR_BUG, NULL, "unknown TLS mode %d",
	    (int)v->mode);
}

SSL *
tg_tls_client_new(SSL_CTX *ctx, const struct tg_tls_verify *v,
    struct tg_err *err)
{
	struct tls_conn_state *st;
	SSL *ssl;

	pthread_once(&tls_ex_once, tls_ex_init);
	if (tls_ex_index < 0) {
		tls_fail(err, "no SSL ex_data index");
		return NULL;
	}
	if ((ssl = SSL_new(ctx)) == NULL) {
		tls_fail(err, "SSL_new");
		return NULL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    !SSL_set_ex_data(ssl, tls_ex_index, st)) {
		free(st);
		SSL_free(ssl);
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	st->mode = v->mode;
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	if (tls_setup(ssl, v, st, err) < 0) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_connect_state(ssl);
	return ssl;
}

const char *
tg_tls_result_type(long code)
{
	switch (code) {
	case X509_V_OK:
		return NULL;
	case X509_V_ERR_DANE_NO_MATCH:
		return "tlsa-invalid";
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return "certificate-host-mismatch";
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "certificate-expired";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
	case X509_V_ERR_INVALID_CA:
		return "certificate-not-trusted";
	default:
		return "validation-failure";
	}
}

/*
 * The served key as the value of a "3 1 1" TLSA record, so that a failed
 * verification can say exactly which record would match.
 */
static void
tls_leaf_digest(X509 *leaf, struct tg_tls_result *res)
{
	unsigned char md[TG_CERT_DIGEST_MAX];
	size_t len, i;

	res->leaf_spki_sha256[0] = '\0';
	if (leaf == NULL || tg_cert_digest(leaf, TG_CERT_PART_SPKI,
	    TG_CERT_MD_SHA256, md, &len, NULL) != 0)
		return;
	for (i = 0; i < len && 2 * i + 2 < sizeof(res->leaf_spki_sha256); i++)
		snprintf(res->leaf_spki_sha256 + 2 * i, 3, "%02x", md[i]);
}

static void
tls_chain_info(SSL *ssl, struct tg_tls_result *res)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	struct tg_tls_cert_info *ci;
	X509 *x;
	int i;

	for (i = 0; chain != NULL && i < sk_X509_num(chain) &&
	    res->chain_n < TG_CHAIN_MAX; i++) {
		x = sk_X509_value(chain, i);
		ci = &res->chain[res->chain_n++];
		tg_cert_subject(x, ci->subject, sizeof(ci->subject));
		tg_cert_issuer(x, ci->issuer, sizeof(ci->issuer));
		if (tg_cert_validity(x, &ci->not_before, &ci->not_after,
		    NULL) < 0)
			ci->not_before = ci->not_after = 0;
	}
	tls_leaf_digest(SSL_get0_peer_certificate(ssl), res);
}

/* Which of v's records OpenSSL says matched, and at what depth. */
static void
tls_dane_match(SSL *ssl, const struct tg_tls_verify *v,
    struct tg_tls_result *res)
{
	const unsigned char *data;
	uint8_t u, s, m;
	size_t dlen, i;
	int depth;

	depth = SSL_get0_dane_tlsa(ssl, &u, &s, &m, &data, &dlen);
	if (depth < 0)
		return;
	res->dane_depth = depth;
	res->tlsa_usage = u;
	res->tlsa_selector = s;
	res->tlsa_mtype = m;
	for (i = 0; i < v->tlsa_n; i++) {
		const struct tg_tlsa_rr *rr = &v->tlsa[i];

		if (rr->usage == u && rr->selector == s && rr->mtype == m &&
		    rr->len == dlen && memcmp(rr->data, data, dlen) == 0) {
			res->tlsa_index = (int)i;
			break;
		}
	}
}

/* Decide verified / result_type / reason once the facts are in. */
static void
tls_judge(const struct tls_conn_state *st, struct tg_tls_result *res)
{
	int cert_ok = res->chain_n > 0 && res->verify_code == X509_V_OK;

	if (res->mode == TG_TLS_DANE && st->usable == 0) {
		res->result_type = "tlsa-invalid";
		snprintf(res->reason, sizeof(res->reason),
		    "no usable TLSA record: TLS without authentication");
		return;
	}
	/* With usable records OpenSSL reports X509_V_OK only after a TLSA
	 * match; the depth check says so once more. */
	if (cert_ok && res->mode == TG_TLS_DANE)
		cert_ok = res->dane_depth >= 0;
	res->verified = res->handshake_done && res->auth_required && cert_ok;
	if (res->verified)
		return;
	if (res->verify_code != X509_V_OK) {
		res->result_type = tg_tls_result_type(res->verify_code);
		snprintf(res->reason, sizeof(res->reason),
		    "certificate verification failed: %s", res->verify_error);
		return;
	}
	if (!res->handshake_done)
		res->result_type = "validation-failure";
}

static void
tls_handshake_reason(struct tg_tls_result *res)
{
	unsigned long e = ERR_peek_last_error();
	char ebuf[200];

	if (res->handshake_done || res->reason[0] != '\0')
		return;
	if (e == 0) {
		snprintf(res->reason, sizeof(res->reason),
		    "TLS handshake failed");
		return;
	}
	ERR_error_string_n(e, ebuf, sizeof(ebuf));
	snprintf(res->reason, sizeof(res->reason), "TLS handshake failed: %s",
	    ebuf);
}

void
tg_tls_client_result(SSL *ssl, const struct tg_tls_verify *v,
    int handshake_ok, struct tg_tls_result *res)
{
	static const struct tls_conn_state none = { TG_TLS_OPPORTUNISTIC, 0 };
	const struct tls_conn_state *st = NULL;

	memset(res, 0, sizeof(*res));
	if (tls_ex_index >= 0)
		st = SSL_get_ex_data(ssl, tls_ex_index);
	if (st == NULL)
		st = &none;
	res->mode = st->mode;
	res->handshake_done = handshake_ok ? 1 : 0;
	res->tlsa_usable = st->usable;
	res->auth_required = st->mode == TG_TLS_PKIX ||
	    (st->mode == TG_TLS_DANE && st->usable > 0);
	res->dane_depth = -1;
	res->tlsa_index = -1;
	if (handshake_ok) {
		snprintf(res->version, sizeof(res->version), "%s",
		    SSL_get_version(ssl));
		snprintf(res->cipher, sizeof(res->cipher), "%s",
		    SSL_get_cipher_name(ssl));
	}
	tls_chain_info(ssl, res);
	res->verify_code = SSL_get_verify_result(ssl);
	snprintf(res->verify_error, sizeof(res->verify_error), "%s",
	    X509_verify_cert_error_string(res->verify_code));
	if (st->mode == TG_TLS_DANE && st->usable > 0)
		tls_dane_match(ssl, v, res);
	tls_judge(st, res);
	tls_handshake_reason(res);
	ERR_clear_error();
}

int
tg_tls_result_ok(const struct tg_tls_result *res)
{
	return res->handshake_done && (!res->auth_required || res->verified);
}

const char *
tg_tls_mode_name(enum tg_tls_mode mode)
{
	switch (mode) {
	case TG_TLS_DANE:
		return "dane";
	case TG_TLS_PKIX:
		return "pkix";
	case TG_TLS_OPPORTUNISTIC:
		break;
	}
	return "opportunistic";
}

static void
tls_key_str(EVP_MD_CTX *md, const char *s)
{
	/* Include the NUL so "ab"+"c" and "a"+"bc" differ. */
	if (s == NULL)
		s = "";
	EVP_DigestUpdate(md, s, strlen(s) + 1);
}

void
tg_tls_session_key(const struct tg_tls_verify *v, const char *peer,
    char out[TG_TLS_SESSION_KEY_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[EVP_MAX_MD_SIZE], hdr[3];
	unsigned int dlen = 0, i;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t k;

	memset(d, 0, sizeof(d));
	if (md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		tls_key_str(md, peer);
		tls_key_str(md, tg_tls_mode_name(v->mode));
		tls_key_str(md, v->tlsa_base);
		tls_key_str(md, v->host);
		for (k = 0; k < v->n_names; k++)
			tls_key_str(md, v->names[k]);
		for (k = 0; k < v->tlsa_n; k++) {
			hdr[0] = v->tlsa[k].usage;
			hdr[1] = v->tlsa[k].selector;
			hdr[2] = v->tlsa[k].mtype;
			EVP_DigestUpdate(md, hdr, sizeof(hdr));
			EVP_DigestUpdate(md, &v->tlsa[k].len,
			    sizeof(v->tlsa[k].len));
			EVP_DigestUpdate(md, v->tlsa[k].data, v->tlsa[k].len);
		}
		EVP_DigestFinal_ex(md, d, &dlen);
	}
	EVP_MD_CTX_free(md);
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[TG_TLS_SESSION_KEY_LEN] = '\0';
}
