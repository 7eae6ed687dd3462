/*
 * Unit tests for tls/tls_client: real handshakes between a client SSL
 * and a server SSL over a socketpair in one process, with an in-memory
 * lab CA, covering DANE-EE, DANE-TA, unusable RRsets, digest agility,
 * PKIX and opportunistic modes (RFC 7672, RFC 7671, RFC 8461 §4.2;
 * RELIABILITY O-01..O-03).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "support/pki.h"
#include "tls/cert.h"
#include "tls/tls_client.h"

enum srv {
	SRV_GOOD,	/* mx.example.net, by the lab CA, valid */
	SRV_EXPIRED,	/* unrelated.example, by the CA, expired */
	SRV_NEVER,	/* unrelated.example, notAfter < notBefore */
	SRV_WRONGNAME,	/* other.example, by the CA, valid */
	SRV_SELF,	/* mx.example.net, self-signed */
	SRV_PARTIAL,	/* m*.example.net, by the CA */
	SRV_COUNT
};

struct lab {
	EVP_PKEY *ck, *lk, *ok;
	X509 *ca, *other;
	X509 *leaf[SRV_COUNT];
	char ca_file[64];
	SSL_CTX *client;
};

static struct lab lab;

static int
lab_setup(void **state)
{
	const char *mx[] = { "mx.example.net", NULL };
	const char *unrel[] = { "unrelated.example", NULL };
	const char *wrong[] = { "other.example", NULL };
	const char *partial[] = { "m*.example.net", NULL };
	struct tg_err err;
	FILE *f;
	int fd;

	(void)state;
	lab.ck = tg_test_key();
	lab.lk = tg_test_key();
	lab.ok = tg_test_key();
	lab.ca = tg_test_cert(lab.ck, "Lab CA", NULL, -10, 100, 1, NULL, NULL);
	lab.other = tg_test_cert(lab.ok, NULL, mx, -1, 30, 0, lab.ca, lab.ck);
	lab.leaf[SRV_GOOD] = tg_test_cert(lab.lk, NULL, mx, -1, 30, 0, lab.ca,
	    lab.ck);
	lab.leaf[SRV_EXPIRED] = tg_test_cert(lab.lk, NULL, unrel, -30, -1, 0,
	    lab.ca, lab.ck);
	lab.leaf[SRV_NEVER] = tg_test_cert(lab.lk, NULL, unrel, 1, -1, 0,
	    lab.ca, lab.ck);
	lab.leaf[SRV_WRONGNAME] = tg_test_cert(lab.lk, NULL, wrong, -1, 30, 0,
	    lab.ca, lab.ck);
	lab.leaf[SRV_SELF] = tg_test_cert(lab.lk, NULL, mx, -1, 30, 0, NULL,
	    NULL);
	lab.leaf[SRV_PARTIAL] = tg_test_cert(lab.lk, NULL, partial, -1, 30, 0,
	    lab.ca, lab.ck);
	snprintf(lab.ca_file, sizeof(lab.ca_file), "/tmp/tg-ca-XXXXXX");
	if ((fd = mkstemp(lab.ca_file)) < 0 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	PEM_write_X509(f, lab.ca);
	fclose(f);
	lab.client = tg_tls_client_ctx_new(lab.ca_file, &err);
	return lab.client == NULL ? -1 : 0;
}

static int
lab_teardown(void **state)
{
	int i;

	(void)state;
	SSL_CTX_free(lab.client);
	unlink(lab.ca_file);
	for (i = 0; i < SRV_COUNT; i++)
		X509_free(lab.leaf[i]);
	X509_free(lab.ca);
	X509_free(lab.other);
	EVP_PKEY_free(lab.ck);
	EVP_PKEY_free(lab.lk);
	EVP_PKEY_free(lab.ok);
	return 0;
}

/* One step of a non-blocking handshake: 1 done ok, -1 failed, 0 more. */
static int
hs_step(SSL *ssl)
{
	int r = SSL_do_handshake(ssl), e;

	if (r == 1)
		return 1;
	e = SSL_get_error(ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	return -1;
}

/*
 * Run client and server handshakes over a socketpair until both have
 * finished or failed. Returns the client's outcome (1 ok, 0 failed)
 * and leaves the server's in *server_ok.
 */
static int
handshake(SSL *c, SSL *s, int *server_ok)
{
	int fds[2], cst = 0, sst = 0, i;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	SSL_set_fd(c, fds[0]);
	SSL_set_fd(s, fds[1]);
	SSL_set_accept_state(s);
	for (i = 0; i < 1000 && (cst == 0 || sst == 0); i++) {
		if (cst == 0)
			cst = hs_step(c);
		if (sst == 0)
			sst = hs_step(s);
		if (cst != 0 && sst == 0 && i > 100)
			break;	/* the server waits for nothing more */
	}
	assert_int_not_equal(cst, 0);
	close(fds[0]);
	close(fds[1]);
	*server_ok = sst == 1;
	return cst == 1;
}

enum src { SRC_LEAF, SRC_CA, SRC_OTHER };

struct rrspec {
	int u, s, m;
	enum src src;
};

struct tcase {
	const char *name;
	enum srv srv;
	int send_ca;
	enum tg_tls_mode mode;
	const char *base;
	const char *host;
	const char *extra_name;
	int report_only;
	size_t n;
	struct rrspec rr[3];
	/* expectations */
	int hs;
	int verified;
	int auth_required;
	int depth;		/* -1: no DANE match */
	int index;		/* matched record, -1 none */
	const char *type;	/* NULL: no failure type */
};

#define MX "mx.example.net"

static const struct tcase cases[] = {
	/* O-01: DANE-EE ignores expiry and names. */
	{ "3 1 1 expired leaf, unrelated name", SRV_EXPIRED, 0, TG_TLS_DANE,
	    MX, NULL, NULL, 0, 1, { { 3, 1, 1, SRC_LEAF } },
	    1, 1, 1, 0, 0, NULL },
	{ "3 0 1 never-valid leaf", SRV_NEVER, 0, TG_TLS_DANE, MX, NULL,
	    NULL, 0, 1, { { 3, 0, 1, SRC_LEAF } }, 1, 1, 1, 0, 0, NULL },
	{ "3 1 2 self-signed leaf", SRV_SELF, 0, TG_TLS_DANE, MX, NULL,
	    NULL, 0, 1, { { 3, 1, 2, SRC_LEAF } }, 1, 1, 1, 0, 0, NULL },
	/* RFC 7672 §3: no match aborts the handshake. */
	{ "3 1 1 mismatch", SRV_GOOD, 1, TG_TLS_DANE, MX, NULL, NULL, 0, 1,
	    { { 3, 1, 1, SRC_OTHER } }, 0, 0, 1, -1, -1, "tlsa-invalid" },
	{ "3 1 1 mismatch, report only", SRV_GOOD, 1, TG_TLS_DANE, MX, NULL,
	    NULL, 1, 1, { { 3, 1, 1, SRC_OTHER } }, 1, 0, 1, -1, -1,
	    "tlsa-invalid" },
	/* O-02: DANE-TA needs the name. */
	{ "2 1 1 CA, base name", SRV_GOOD, 1, TG_TLS_DANE, MX, NULL, NULL, 0,
	    1, { { 2, 1, 1, SRC_CA } }, 1, 1, 1, 1, 0, NULL },
	{ "2 1 1 CA, wrong name", SRV_WRONGNAME, 1, TG_TLS_DANE, MX, NULL,
	    NULL, 0, 1, { { 2, 1, 1, SRC_CA } }, 0, 0, 1, -1, -1,
	    "certificate-host-mismatch" },
	{ "2 1 1 CA, name = secure MX host", SRV_WRONGNAME, 1, TG_TLS_DANE, MX,
	    NULL, "other.example", 0, 1, { { 2, 1, 1, SRC_CA } },
	    1, 1, 1, 1, 0, NULL },
	{ "2 1 1 CA, expired leaf", SRV_EXPIRED, 1, TG_TLS_DANE,
	    "unrelated.example", NULL, NULL, 0, 1, { { 2, 1, 1, SRC_CA } },
	    0, 0, 1, -1, -1, "certificate-expired" },
	{ "2 1 1 CA, partial wildcard", SRV_PARTIAL, 1, TG_TLS_DANE, MX, NULL,
	    NULL, 0, 1, { { 2, 1, 1, SRC_CA } }, 0, 0, 1, -1, -1,
	    "certificate-host-mismatch" },
	/* O-03: the TA digest needs the TA in the chain; full TA not. */
	{ "2 1 1 CA not sent", SRV_GOOD, 0, TG_TLS_DANE, MX, NULL, NULL, 0, 1,
	    { { 2, 1, 1, SRC_CA } }, 0, 0, 1, -1, -1, "tlsa-invalid" },
	{ "2 0 0 CA from DNS", SRV_GOOD, 0, TG_TLS_DANE, MX, NULL, NULL, 0, 1,
	    { { 2, 0, 0, SRC_CA } }, 1, 1, 1, 1, 0, NULL },
	/* RFC 7672 §3.1.3: PKIX usages unusable -> TLS, no auth. */
	{ "only 0/1 usages", SRV_WRONGNAME, 1, TG_TLS_DANE, MX, NULL, NULL, 0,
	    2, { { 1, 1, 1, SRC_LEAF }, { 0, 1, 1, SRC_CA } },
	    1, 0, 0, -1, -1, "tlsa-invalid" },
	/* RFC 7671 §9: digest agility. */
	{ "3 1 1 wrong + 3 1 2 right", SRV_GOOD, 1, TG_TLS_DANE, MX, NULL,
	    NULL, 0, 2, { { 3, 1, 1, SRC_OTHER }, { 3, 1, 2, SRC_LEAF } },
	    1, 1, 1, 0, 1, NULL },
	{ "3 1 1 right + 3 1 2 wrong", SRV_GOOD, 1, TG_TLS_DANE, MX, NULL,
	    NULL, 0, 2, { { 3, 1, 1, SRC_LEAF }, { 3, 1, 2, SRC_OTHER } },
	    0, 0, 1, -1, -1, "tlsa-invalid" },
	{ "3 1 1 other + 2 1 1 CA", SRV_GOOD, 1, TG_TLS_DANE, MX, NULL, NULL,
	    0, 2, { { 3, 1, 1, SRC_OTHER }, { 2, 1, 1, SRC_CA } },
	    1, 1, 1, 1, 1, NULL },
	/* PKIX (MTA-STS), RFC 8461 §4.2. */
	{ "PKIX good", SRV_GOOD, 1, TG_TLS_PKIX, NULL, MX, NULL, 0, 0,
	    { { 0 } }, 1, 1, 1, -1, -1, NULL },
	{ "PKIX wrong name", SRV_WRONGNAME, 1, TG_TLS_PKIX, NULL, MX, NULL, 0,
	    0, { { 0 } }, 0, 0, 1, -1, -1, "certificate-host-mismatch" },
	{ "PKIX partial wildcard", SRV_PARTIAL, 1, TG_TLS_PKIX, NULL, MX, NULL,
	    0, 0, { { 0 } }, 0, 0, 1, -1, -1, "certificate-host-mismatch" },
	{ "PKIX expired", SRV_EXPIRED, 1, TG_TLS_PKIX, NULL,
	    "unrelated.example", NULL, 0, 0, { { 0 } }, 0, 0, 1, -1, -1,
	    "certificate-expired" },
	{ "PKIX untrusted", SRV_SELF, 0, TG_TLS_PKIX, NULL, MX, NULL, 0, 0,
	    { { 0 } }, 0, 0, 1, -1, -1, "certificate-not-trusted" },
	{ "PKIX untrusted, report only", SRV_SELF, 0, TG_TLS_PKIX, NULL, MX,
	    NULL, 1, 0, { { 0 } }, 1, 0, 1, -1, -1,
	    "certificate-not-trusted" },
	/* Opportunistic: never enforced, but says what PKIX would. */
	{ "opportunistic self-signed", SRV_SELF, 0, TG_TLS_OPPORTUNISTIC,
	    NULL, MX, NULL, 0, 0, { { 0 } }, 1, 0, 0, -1, -1,
	    "certificate-not-trusted" },
	{ "opportunistic good", SRV_GOOD, 1, TG_TLS_OPPORTUNISTIC, NULL, MX,
	    NULL, 0, 0, { { 0 } }, 1, 0, 0, -1, -1, NULL },
};

static X509 *
src_cert(enum src src, enum srv srv)
{
	switch (src) {
	case SRC_CA:
		return lab.ca;
	case SRC_OTHER:
		return lab.other;
	case SRC_LEAF:
		break;
	}
	return lab.leaf[srv];
}

static void
fill_records(const struct tcase *c, struct tg_tlsa_rr *rrs)
{
	struct tg_err err;
	size_t i;

	for (i = 0; i < c->n; i++)
		assert_int_equal(tg_tlsa_from_cert(src_cert(c->rr[i].src,
		    c->srv), (uint8_t)c->rr[i].u, (uint8_t)c->rr[i].s,
		    (uint8_t)c->rr[i].m, &rrs[i], &err), 0);
}

static void
check_case(const struct tcase *c, const struct tg_tls_result *res,
    SSL *server, int server_ok)
{
	const char *sni;

	if (res->handshake_done != c->hs || res->verified != c->verified)
		fail_msg("%s: handshake %d verified %d (%s)", c->name,
		    res->handshake_done, res->verified, res->reason);
	assert_int_equal(res->auth_required, c->auth_required);
	assert_int_equal(res->dane_depth, c->depth);
	assert_int_equal(res->tlsa_index, c->index);
	if (c->type == NULL)
		assert_null(res->result_type);
	else if (res->result_type == NULL ||
	    strcmp(res->result_type, c->type) != 0)
		fail_msg("%s: result type %s, want %s (%s)", c->name,
		    res->result_type ? res->result_type : "NULL", c->type,
		    res->reason);
	assert_int_equal(tg_tls_result_ok(res),
	    c->hs && (c->verified || !c->auth_required));
	if (!c->hs)
		return;
	assert_true(server_ok);
	assert_string_equal(res->version, "TLSv1.3");
	assert_int_equal(res->chain_n, c->send_ca ? 2 : 1);
	/* SNI: the TLSA base domain with DANE, else the MX host name. */
	sni = SSL_get_servername(server, TLSEXT_NAMETYPE_host_name);
	assert_non_null(sni);
	assert_string_equal(sni, c->mode == TG_TLS_DANE ? c->base : c->host);
}

static void
run_case(const struct tcase *c)
{
	struct tg_tlsa_rr *rrs = calloc(3, sizeof(*rrs));
	const char *names[1] = { c->extra_name };
	struct tg_tls_verify v = { 0 };
	struct tg_tls_result *res = malloc(sizeof(*res));
	struct tg_err err;
	SSL_CTX *sctx;
	SSL *cl, *sv;
	int ok, server_ok;

	fill_records(c, rrs);
	v.mode = c->mode;
	v.tlsa_base = c->base;
	v.tlsa = rrs;
	v.tlsa_n = c->n;
	v.names = names;
	v.n_names = c->extra_name != NULL;
	v.host = c->host;
	v.report_only = c->report_only;
	sctx = tg_test_server_ctx(lab.leaf[c->srv], lab.lk,
	    c->send_ca ? lab.ca : NULL);
	cl = tg_tls_client_new(lab.client, &v, &err);
	if (cl == NULL)
		fail_msg("%s: %s", c->name, err.msg);
	sv = SSL_new(sctx);
	ok = handshake(cl, sv, &server_ok);
	tg_tls_client_result(cl, &v, ok, res);
	check_case(c, res, sv, server_ok);
	SSL_free(cl);
	SSL_free(sv);
	SSL_CTX_free(sctx);
	free(res);
	free(rrs);
}

static void
test_handshakes(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

/* The details a check reports: matched record, chain text, reasons. */
static void
test_result_details(void **state)
{
	struct tg_tlsa_rr *rr = calloc(1, sizeof(*rr));
	struct tg_tls_verify v = { 0 };
	struct tg_tls_result *res = malloc(sizeof(*res));
	struct tg_err err;
	SSL_CTX *sctx;
	SSL *cl, *sv;
	int ok, sok;

	(void)state;
	assert_int_equal(tg_tlsa_from_cert(lab.ca, 2, 1, 2, rr, &err), 0);
	v.mode = TG_TLS_DANE;
	v.tlsa_base = MX;
	v.tlsa = rr;
	v.tlsa_n = 1;
	sctx = tg_test_server_ctx(lab.leaf[SRV_GOOD], lab.lk, lab.ca);
	cl = tg_tls_client_new(lab.client, &v, &err);
	sv = SSL_new(sctx);
	ok = handshake(cl, sv, &sok);
	tg_tls_client_result(cl, &v, ok, res);
	assert_true(res->verified);
	assert_int_equal(res->tlsa_usage, 2);
	assert_int_equal(res->tlsa_selector, 1);
	assert_int_equal(res->tlsa_mtype, 2);
	assert_int_equal(res->tlsa_usable, 1);
	assert_string_equal(res->chain[0].subject, "CN=" MX);
	assert_string_equal(res->chain[0].issuer, "CN=Lab CA");
	assert_string_equal(res->chain[1].subject, "CN=Lab CA");
	assert_true(res->chain[0].not_after > res->chain[0].not_before);
	assert_string_equal(res->reason, "");
	assert_true(res->cipher[0] != '\0');
	assert_int_equal(res->verify_code, X509_V_OK);
	SSL_free(cl);
	SSL_free(sv);
	SSL_CTX_free(sctx);
	free(res);
	free(rr);
}

/* A handshake that fails for a reason other than the certificate. */
static void
test_handshake_protocol_failure(void **state)
{
	struct tg_tls_verify v = { 0 };
	struct tg_tls_result *res = malloc(sizeof(*res));
	struct tg_err err;
	SSL_CTX *sctx;
	SSL *cl, *sv;
	int ok, sok;

	(void)state;
	v.mode = TG_TLS_OPPORTUNISTIC;
	v.host = MX;
	sctx = tg_test_server_ctx(lab.leaf[SRV_GOOD], lab.lk, NULL);
	/* A server that speaks only TLS 1.1 is below our floor. */
	SSL_CTX_set_min_proto_version(sctx, TLS1_VERSION);
	SSL_CTX_set_max_proto_version(sctx, TLS1_1_VERSION);
	SSL_CTX_set_security_level(sctx, 0);
	cl = tg_tls_client_new(lab.client, &v, &err);
	sv = SSL_new(sctx);
	ok = handshake(cl, sv, &sok);
	assert_false(ok);
	tg_tls_client_result(cl, &v, ok, res);
	assert_false(res->handshake_done);
	assert_false(tg_tls_result_ok(res));
	assert_string_equal(res->result_type, "validation-failure");
	assert_non_null(strstr(res->reason, "TLS handshake failed"));
	assert_int_equal(res->chain_n, 0);
	SSL_free(cl);
	SSL_free(sv);
	SSL_CTX_free(sctx);
	free(res);
}

static void
test_setup_errors(void **state)
{
	struct tg_tls_verify v = { 0 };
	struct tg_err err;

	(void)state;
	v.mode = TG_TLS_DANE;
	assert_null(tg_tls_client_new(lab.client, &v, &err));
	assert_int_equal(err.cls, TG_ERR_BUG);
	v.mode = TG_TLS_PKIX;
	assert_null(tg_tls_client_new(lab.client, &v, &err));
	assert_null(tg_tls_client_ctx_new("/nonexistent/ca.pem", &err));
	assert_non_null(strstr(err.msg, "/nonexistent/ca.pem"));
	ERR_clear_error();
}

static void
test_result_types(void **state)
{
	(void)state;
	assert_null(tg_tls_result_type(X509_V_OK));
	assert_string_equal(tg_tls_result_type(X509_V_ERR_DANE_NO_MATCH),
	    "tlsa-invalid");
	assert_string_equal(tg_tls_result_type(X509_V_ERR_CERT_HAS_EXPIRED),
	    "certificate-expired");
	assert_string_equal(tg_tls_result_type(
	    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
	    "certificate-not-trusted");
	assert_string_equal(tg_tls_result_type(X509_V_ERR_HOSTNAME_MISMATCH),
	    "certificate-host-mismatch");
	assert_string_equal(tg_tls_result_type(X509_V_ERR_CERT_NOT_YET_VALID),
	    "validation-failure");
	assert_string_equal(tg_tls_mode_name(TG_TLS_DANE), "dane");
}

/* O-10: the session cache key changes with the TLSA RRset. */
static void
test_session_key(void **state)
{
	struct tg_tlsa_rr *rrs = calloc(2, sizeof(*rrs));
	struct tg_tls_verify v = { 0 };
	char k1[TG_TLS_SESSION_KEY_LEN + 1], k2[TG_TLS_SESSION_KEY_LEN + 1];
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_tlsa_from_cert(lab.leaf[SRV_GOOD], 3, 1, 1,
	    &rrs[0], &err), 0);
	assert_int_equal(tg_tlsa_from_cert(lab.other, 3, 1, 1, &rrs[1], &err),
	    0);
	v.mode = TG_TLS_DANE;
	v.tlsa_base = MX;
	v.tlsa = &rrs[0];
	v.tlsa_n = 1;
	tg_tls_session_key(&v, "192.0.2.1:25", k1);
	assert_int_equal(strlen(k1), TG_TLS_SESSION_KEY_LEN);
	tg_tls_session_key(&v, "192.0.2.1:25", k2);
	assert_string_equal(k1, k2);
	v.tlsa = &rrs[1];
	tg_tls_session_key(&v, "192.0.2.1:25", k2);
	assert_string_not_equal(k1, k2);
	v.tlsa = &rrs[0];
	tg_tls_session_key(&v, "192.0.2.2:25", k2);
	assert_string_not_equal(k1, k2);
	v.mode = TG_TLS_PKIX;
	tg_tls_session_key(&v, "192.0.2.1:25", k2);
	assert_string_not_equal(k1, k2);
	free(rrs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshakes),
		cmocka_unit_test(test_result_details),
		cmocka_unit_test(test_handshake_protocol_failure),
		cmocka_unit_test(test_setup_errors),
		cmocka_unit_test(test_result_types),
		cmocka_unit_test(test_session_key),
	};

	return cmocka_run_group_tests(tests, lab_setup, lab_teardown);
}
