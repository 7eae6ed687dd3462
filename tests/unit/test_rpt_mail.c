/*
 * Unit tests of rpt/mail: mailed reports signed in the test with
 * libopendkim and a fresh RSA key (OpenSSL), verified through the key
 * file and the key callback; unsigned, tampered, l=, wrong key, key
 * service types, alignment, MIME shapes, transfer encodings, caps
 * (RFC 8460 §3, §5.3; RELIABILITY R-01).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/types.h>
#include <stdbool.h>
#include <opendkim/dkim.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpt/gzip.h"
#include "rpt/mail.h"
#include "rpt/report.h"

static const char report_json[] =
    "{\"organization-name\":\"Sender Example Corp\",\"date-range\":"
    "{\"start-datetime\":\"2024-05-01T00:00:00Z\",\"end-datetime\":"
    "\"2024-05-01T23:59:59Z\"},\"contact-info\":\"tls-reports@sender."
    "example\",\"report-id\":\"r-77\",\"policies\":[{\"policy\":{"
    "\"policy-type\":\"sts\",\"policy-string\":[\"version: STSv1\","
    "\"mode: enforce\",\"mx: mx.receiver.example\",\"max_age: 86400\"],"
    "\"policy-domain\":\"receiver.example\",\"mx-host\":[\"mx.receiver."
    "example\"]},\"summary\":{\"total-successful-session-count\":40,"
    "\"total-failure-session-count\":2},\"failure-details\":[{\"result-"
    "type\":\"certificate-expired\",\"receiving-mx-hostname\":\"mx."
    "receiver.example\",\"failed-session-count\":2}]}]}";

/* Keys and key records shared by all tests (made once). */
static struct {
	char *pem;		/* signing key */
	char *pem_other;	/* a key whose public half is not published */
	char record[1024];	/* "v=DKIM1; k=rsa; p=..." */
	char keyfile[256];
} K;

static char *
key_pem(EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	assert_non_null(b);
	assert_int_equal(PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL,
	    NULL), 1);
	n = BIO_get_mem_data(b, &p);
	out = strndup(p, (size_t)n);
	BIO_free(b);
	return out;
}

static void
key_record(EVP_PKEY *key, const char *extra, char *out, size_t outlen)
{
	unsigned char *der = NULL, b64[960];
	int n = i2d_PUBKEY(key, &der);

	assert_true(n > 0 && n < 700);
	EVP_EncodeBlock(b64, der, n);
	OPENSSL_free(der);
	snprintf(out, outlen, "v=DKIM1; k=rsa;%s p=%s", extra, b64);
}

static int
setup(void **state)
{
	EVP_PKEY *k1 = EVP_RSA_gen(2048), *k2 = EVP_RSA_gen(2048);
	const char *tmp = getenv("TMPDIR");
	FILE *f;
	int fd;

	(void)state;
	if (k1 == NULL || k2 == NULL)
		return -1;
	K.pem = key_pem(k1);
	K.pem_other = key_pem(k2);
	key_record(k1, "", K.record, sizeof(K.record));
	snprintf(K.keyfile, sizeof(K.keyfile), "%s/tg-dkimkeys-XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if ((fd = mkstemp(K.keyfile)) < 0 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	fprintf(f, "sel._domainkey.sender.example %s\n", K.record);
	fclose(f);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(K.keyfile);
	free(K.pem);
	free(K.pem_other);
	return 0;
}

/* --- Building messages --------------------------------------------- */

struct spec {
	const char *ctype;		/* top Content-Type value */
	const char *part_type;		/* report part's media type */
	const char *cte;		/* "base64", "quoted-printable", ... */
	const void *payload;		/* NULL: gzip of report_json */
	size_t payload_len;
	const char *submitter;
	int report_parts;		/* how many report parts (default 1) */
	int lf_only;			/* LF line ends after signing */
};

static void
put(struct tg_buf *b, const char *s)
{
	assert_int_equal(tg_buf_puts(b, s), 0);
}

static void
put_base64(struct tg_buf *b, const unsigned char *p, size_t n)
{
	unsigned char line[80];
	size_t i, k;

	for (i = 0; i < n; i += 57) {
		k = n - i < 57 ? n - i : 57;
		EVP_EncodeBlock(line, p + i, (int)k);
		put(b, (char *)line);
		put(b, "\r\n");
	}
}

/* Quoted-printable: '=' and non-ASCII encoded, soft breaks at 60. */
static void
put_qp(struct tg_buf *b, const unsigned char *p, size_t n)
{
	char enc[8];
	size_t i, col = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '=' || p[i] > 126 || p[i] < 32)
			snprintf(enc, sizeof(enc), "=%02X", p[i]);
		else
			snprintf(enc, sizeof(enc), "%c", p[i]);
		put(b, enc);
		if ((col += strlen(enc)) > 60) {
			put(b, "=\r\n");
			col = 0;
		}
	}
	put(b, "\r\n");
}

static void
put_report_part(struct tg_buf *b, const struct spec *s,
    const struct tg_buf *gz)
{
	const unsigned char *p = s->payload != NULL ? s->payload :
	    (const unsigned char *)gz->data;
	size_t n = s->payload != NULL ? s->payload_len : gz->len;
	const char *cte = s->cte != NULL ? s->cte : "base64";

	put(b, "------=_b1\r\nContent-Type: ");
	put(b, s->part_type != NULL ? s->part_type : "application/tlsrpt+gzip");
	put(b, "\r\nContent-Transfer-Encoding: ");
	put(b, cte);
	put(b, "\r\nContent-Disposition: attachment;\r\n\tfilename=\"sender."
	    "example!receiver.example!1714521600!1714607999.json.gz\"\r\n\r\n");
	if (strcmp(cte, "base64") == 0)
		put_base64(b, p, n);
	else if (strcmp(cte, "quoted-printable") == 0)
		put_qp(b, p, n);
	else {
		assert_int_equal(tg_buf_append(b, p, n), 0);
		put(b, "\r\n");
	}
}

static struct tg_buf
build(const struct spec *s)
{
	struct tg_buf b, gz;
	struct tg_err err;
	int i;

	tg_buf_init(&gz, 0);
	assert_int_equal(tg_gzip_deflate(report_json, strlen(report_json),
	    1 << 20, &gz, &err), 0);
	tg_buf_init(&b, 64 * 1024 * 1024);
	put(&b, "From: TLS reports <noreply-tlsrpt@sender.example>\r\n"
	    "Date: Thu, 02 May 2024 06:12:01 +0000\r\n"
	    "Subject: Report Domain: receiver.example Submitter: "
	    "sender.example\r\n Report-ID: <r-77@sender.example>\r\n"
	    "To: <tlsrpt@receiver.example>\r\n"
	    "Message-ID: <r-77@sender.example>\r\n"
	    "TLS-Report-Domain: Receiver.Example\r\n"
	    "TLS-Report-Submitter: ");
	put(&b, s->submitter != NULL ? s->submitter : "sender.example");
	put(&b, "\r\nMIME-Version: 1.0\r\nContent-Type: ");
	put(&b, s->ctype != NULL ? s->ctype : "multipart/report; "
	    "report-type=\"tlsrpt\";\r\n\tboundary=\"----=_b1\"");
	put(&b, "\r\n\r\nThis is a MIME message.\r\n\r\n------=_b1\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
	    "This is an aggregate TLS report from sender.example.\r\n");
	for (i = 0; i < (s->report_parts != 0 ? s->report_parts : 1); i++)
		put_report_part(&b, s, &gz);
	put(&b, "------=_b1--\r\n");
	tg_buf_free(&gz);
	return b;
}

/* Prepend a DKIM-Signature made by libopendkim's signing API. */
static void
sign(struct tg_buf *msg, const char *pem, const char *domain, int with_l)
{
	unsigned int flags = DKIM_LIBFLAGS_SIGNLEN;
	unsigned char hdr[4096];
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	struct tg_buf out;
	DKIM_STAT st;
	DKIM *d;

	assert_non_null(lib);
	if (with_l)
		assert_int_equal(dkim_options(lib, DKIM_OP_SETOPT,
		    DKIM_OPTS_FLAGS, &flags, sizeof(flags)), DKIM_STAT_OK);
	d = dkim_sign(lib, (const u_char *)"test", NULL, (dkim_sigkey_t)pem,
	    (const u_char *)"sel", (const u_char *)domain, DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, &st);
	assert_non_null(d);
	assert_int_equal(dkim_chunk(d, (u_char *)msg->data, msg->len),
	    DKIM_STAT_OK);
	assert_int_equal(dkim_chunk(d, NULL, 0), DKIM_STAT_OK);
	assert_int_equal(dkim_eom(d, NULL), DKIM_STAT_OK);
	assert_int_equal(dkim_getsighdr(d, hdr, sizeof(hdr),
	    strlen("DKIM-Signature: ")), DKIM_STAT_OK);
	tg_buf_init(&out, msg->limit);
	put(&out, "DKIM-Signature: ");
	put(&out, (char *)hdr);
	put(&out, "\r\n");
	assert_int_equal(tg_buf_append(&out, msg->data, msg->len), 0);
	dkim_free(d);
	dkim_close(lib);
	tg_buf_free(msg);
	*msg = out;
}

/* CRLF -> LF, as a store that keeps Unix line ends would. */
static void
to_lf(struct tg_buf *b)
{
	size_t i, o = 0;

	for (i = 0; i < b->len; i++)
		if (!(b->data[i] == '\r' && i + 1 < b->len &&
		    b->data[i + 1] == '\n'))
			b->data[o++] = b->data[i];
	b->len = o;
	b->data[o] = '\0';
}

/* --- Key lookup callbacks ------------------------------------------ */

struct cb_state {
	const char *record;		/* what to answer */
	enum tg_rptmail_key_status status;
	int calls;
	char selector[64], domain[256];
};

static enum tg_rptmail_key_status
cb_lookup(void *arg, const char *selector, const char *domain, char *buf,
    size_t buflen)
{
	struct cb_state *s = arg;

	s->calls++;
	snprintf(s->selector, sizeof(s->selector), "%s", selector);
	snprintf(s->domain, sizeof(s->domain), "%s", domain);
	if (s->status == TG_RPTMAIL_KEY_FOUND)
		snprintf(buf, buflen, "%s", s->record);
	return s->status;
}

static struct tg_rptmail *
verifier_file(void)
{
	struct tg_rptmail_opts o = { .keys = TG_RPTMAIL_KEYS_FILE,
	    .key_file = K.keyfile };
	struct tg_err err;
	struct tg_rptmail *m = tg_rptmail_new(&o, &err);

	if (m == NULL)
		fail_msg("tg_rptmail_new: %s", err.msg);
	return m;
}

static struct tg_rptmail *
verifier_cb(struct cb_state *cs, int email_ok, int aligned)
{
	struct tg_rptmail_opts o = { .keys = TG_RPTMAIL_KEYS_CALLBACK,
	    .key_lookup = cb_lookup, .key_arg = cs,
	    .accept_email_only_keys = email_ok, .require_aligned = aligned };
	struct tg_err err;
	struct tg_rptmail *m = tg_rptmail_new(&o, &err);

	if (m == NULL)
		fail_msg("tg_rptmail_new: %s", err.msg);
	return m;
}

/* Run m over msg; expect success, or failure with substr in err/reason. */
static void
expect(struct tg_rptmail *m, const struct tg_buf *msg, const char *substr,
    struct tg_rptmail_result *res, struct tg_err *err)
{
	int rc = tg_rptmail_parse(m, msg->data, msg->len, res, err);

	if (substr == NULL) {
		if (rc != 0)
			fail_msg("refused: %s", err->msg);
		assert_int_equal(res->verified, 1);
		return;
	}
	if (rc == 0)
		fail_msg("accepted, expected '%s'", substr);
	if (strstr(err->msg, substr) == NULL)
		fail_msg("error '%s' lacks '%s'", err->msg, substr);
	assert_int_equal(res->report.len, 0);
}

/* --- Tests --------------------------------------------------------- */

static void
test_signed_gzip_base64_keyfile(void **state)
{
	struct tg_rptmail *m = verifier_file();
	struct tg_buf msg = build(&(struct spec){ 0 });
	struct tg_rptmail_result res;
	struct tg_report *r;
	struct tg_err err;

	(void)state;
	sign(&msg, K.pem, "sender.example", 0);
	tg_rptmail_result_init(&res);
	expect(m, &msg, NULL, &res, &err);
	assert_string_equal(res.dkim_domain, "sender.example");
	assert_string_equal(res.dkim_selector, "sel");
	assert_int_equal(res.aligned, 1);
	assert_string_equal(res.report_domain, "receiver.example");
	assert_string_equal(res.submitter, "sender.example");
	assert_int_equal(res.gzip, 1);
	assert_non_null(strstr(res.subject, "Report-ID: <r-77@"));
	assert_string_equal(res.message_id, "<r-77@sender.example>");
	assert_string_equal(res.filename, "sender.example!receiver.example!"
	    "1714521600!1714607999.json.gz");
	assert_int_equal(res.report.len, strlen(report_json));
	assert_memory_equal(res.report.data, report_json, res.report.len);
	/* And the report itself parses. */
	assert_int_equal(tg_report_parse(res.report.data, res.report.len, &r,
	    &err), 0);
	assert_string_equal(r->report_id, "r-77");
	tg_report_free(r);
	tg_rptmail_result_free(&res);
	tg_buf_free(&msg);
	tg_rptmail_free(m);
}

static void
test_signed_keycallback(void **state)
{
	struct cb_state cs = { .record = K.record };
	struct tg_rptmail *m = verifier_cb(&cs, 0, 0);
	struct tg_buf msg = build(&(struct spec){ 0 });
	struct tg_rptmail_result res;
	struct tg_err err;

	(void)state;
	sign(&msg, K.pem, "sender.example", 0);
	tg_rptmail_result_init(&res);
	expect(m, &msg, NULL, &res, &err);
	assert_int_equal(cs.calls, 1);
	assert_string_equal(cs.selector, "sel");
	assert_string_equal(cs.domain, "sender.example");
	assert_non_null(strstr(res.reason, "DKIM pass d=sender.example"));
	/* Key not found: not verified, permanent. */
	cs.status = TG_RPTMAIL_KEY_NOTFOUND;
	expect(m, &msg, "DKIM:", &res, &err);
	assert_int_equal(res.verified, 0);
	assert_int_equal(err.cls, TG_ERR_PERM);
	/* Temporary failure: try again later. */
	cs.status = TG_RPTMAIL_KEY_TEMPFAIL;
	expect(m, &msg, "temporarily", &res, &err);
	assert_int_equal(err.cls, TG_ERR_TEMP);
	tg_rptmail_result_free(&res);
	tg_buf_free(&msg);
	tg_rptmail_free(m);
}

static void
test_unsigned(void **state)
{
	struct tg_rptmail *m = verifier_file();
	struct tg_buf msg = build(&(struct spec){ 0 });
	struct tg_rptmail_result res;
	struct tg_err err;

	(void)state;
	tg_rptmail_result_init(&res);
	expect(m, &msg, "no DKIM-Signature", &res, &err);
	assert_int_equal(res.verified, 0);
	assert_string_equal(res.submitter, "sender.example");	/* kept */
	tg_rptmail_result_free(&res);
	tg_buf_free(&msg);
	tg_rptmail_free(m);
}

/* Change one byte of the signed message at the first occurrence of
 * what, replacing it with with. */
static void
tamper(struct tg_buf *msg, const char *what, const char *with)
{
	char *p = strstr(msg->data, what);

	assert_non_null(p);
	assert_int_equal(strlen(what), strlen(with));
	memcpy(p, with, strlen(with));
}

static void
test_tampered(void **state)
{
	struct tg_rptmail *m = verifier_file();
	struct tg_rptmail_result res;
	struct tg_buf msg;
	struct tg_err err;
	char *b64;

	(void)state;
	tg_rptmail_result_init(&res);
	/* A body byte inside the base64 of the report. */
	msg = build(&(struct spec){ 0 });
	sign(&msg, K.pem, "sender.example", 0);
	b64 = strstr(msg.data, "json.gz\"\r\n\r\n") + 12;
	b64[10] = b64[10] == 'A' ? 'B' : 'A';
	expect(m, &msg, "body hash", &res, &err);
	tg_buf_free(&msg);
	/* A signed header field. */
	msg = build(&(struct spec){ 0 });
	sign(&msg, K.pem, "sender.example", 0);
	tamper(&msg, "Submitter: sender", "Submitter: sendex");
	expect(m, &msg, "DKIM:", &res, &err);
	assert_int_equal(res.verified, 0);
	tg_buf_free(&msg);
	/* Signed with a key other than the published one. */
	msg = build(&(struct spec){ 0 });
	sign(&msg, K.pem_other, "sender.example", 0);
	expect(m, &msg, "DKIM:", &res, &err);
	tg_buf_free(&msg);
	/* Signed for a domain with no published key. */
	msg = build(&(struct spec){ 0 });
	sign(&msg, K.pem, "elsewhere.example", 0);
	expect(m, &msg, "DKIM:", &res, &err);
	tg_buf_free(&msg);
	tg_rptmail_result_free(&res);
	tg_rptmail_free(m);
}

/* RFC 8460 §3: a valid signature with l= is not acceptable. */
static void
test_length_tag(void **state)
{
	struct tg_rptmail *m = verifier_file();
	struct tg_buf msg = build(&(struct spec){ 0 });
	struct tg_rptmail_result res;
	struct tg_err err;

	(void)state;
	sign(&msg, K.pem, "sender.example", 1);
	assert_non_null(strstr(msg.data, "l="));
	tg_rptmail_result_init(&res);
	expect(m, &msg, "l=", &res, &err);
	/* With a second, good signature the message is accepted. */
	sign(&msg, K.pem, "sender.example", 0);
	expect(m, &msg, NULL, &res, &err);
	tg_rptmail_result_free(&res);
	tg_buf_free(&msg);
	tg_rptmail_free(m);
}

/* RFC 8460 §3 key service types: s=tlsrpt ok, s=email only refused
 * unless relaxed, s=* and absent ok. */
static void
test_key_service_types(void **state)
{
	static const struct {
		const char *extra;
		int email_ok;
		const char *error;
	} cases[] = {
		{ "", 0, NULL },
		{ " s=*;", 0, NULL },
		{ " s=tlsrpt;", 0, NULL },
		{ " s = tlsrpt ;", 0, NULL },
		{ " s=email:tlsrpt;", 0, NULL },
		{ " s=email;", 0, "do not include tlsrpt" },
		{ " s=email;", 1, NULL },
	};
	EVP_PKEY *k = NULL;
	BIO *b = BIO_new_mem_buf(K.pem, -1);
	char rec[1024];
	struct tg_buf msg = build(&(struct spec){ 0 });
	struct tg_rptmail_result res;
	struct tg_err err;
	size_t i;

	(void)state;
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	assert_non_null(k);
	sign(&msg, K.pem, "sender.example", 0);
	tg_rptmail_result_init(&res);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cb_state cs = { .record = rec };
		struct tg_rptmail *m = verifier_cb(&cs, cases[i].email_ok, 0);
		key_record(k, cases[i].extra, rec, sizeof(rec));
		expect(m, &msg, cases[i].error, &res, &err);
		tg_rptmail_free(m);
	}
	tg_rptmail_result_free(&res);
	tg_buf_free(&msg);
	EVP_PKEY_free(k);
	BIO_free(b);
}

static void
test_alignment(void **state)
{
	struct cb_state cs = { .record = K.record };
	struct tg_rptmail *strict = verifier_cb(&cs, 0, 1);
	struct tg_rptmail *loose = verifier_cb(&cs, 0, 0);
	struct tg_rptmail_result res;
	struct tg_buf msg;
	struct tg_err err;

	(void)state;
	tg_rptmail_result_init(&res);
	msg = build(&(struct spec){ .submitter = "reports.sender.example" });
	sign(&msg, K.pem, "sender.example", 0);
	expect(strict, &msg, NULL, &res, &err);
	assert_int_equal(res.aligned, 1);
	tg_buf_free(&msg);
	msg = build(&(struct spec){ .submitter = "other.example" });
	sign(&msg, K.pem, "sender.example", 0);
	expect(strict, &msg, "not TLS-Report-Submitter", &res, &err);
	expect(loose, &msg, NULL, &res, &err);
	assert_int_equal(res.aligned, 0);
	tg_buf_free(&msg);
	tg_rptmail_result_free(&res);
	tg_rptmail_free(strict);
	tg_rptmail_free(loose);
}

/* +json parts in each transfer encoding; LF-only storage. */
static void
test_encodings(void **state)
{
	static const char *const ctes[] = { "base64", "quoted-printable",
	    "7bit", "8bit" };
	struct tg_rptmail *m = verifier_file();
	struct tg_rptmail_result res;
	struct tg_buf msg;
	struct tg_err err;
	size_t i;

	(void)state;
	tg_rptmail_result_init(&res);
	for (i = 0; i < sizeof(ctes) / sizeof(ctes[0]); i++) {
		struct spec s = { .part_type = "application/tlsrpt+json",
		    .cte = ctes[i], .payload = report_json,
		    .payload_len = strlen(report_json) };
		msg = build(&s);
		sign(&msg, K.pem, "sender.example", 0);
		if (i == 3)
			to_lf(&msg);	/* verified with FIXCRLF */
		expect(m, &msg, NULL, &res, &err);
		assert_int_equal(res.gzip, 0);
		if (res.report.len != strlen(report_json) ||
		    memcmp(res.report.data, report_json, res.report.len) != 0)
			fail_msg("%s: report differs", ctes[i]);
		tg_buf_free(&msg);
	}
	tg_rptmail_result_free(&res);
	tg_rptmail_free(m);
}

struct shape_case {
	struct spec s;
	const char *error;
};

static const struct shape_case shape_cases[] = {
	{ { .ctype = "multipart/mixed; boundary=\"----=_b1\"" },
	    "not multipart/report" },
	{ { .ctype = "multipart/report; report-type=delivery-status; "
	    "boundary=\"----=_b1\"" }, "report-type" },
	{ { .ctype = "multipart/report; report-type=tlsrpt" }, "boundary" },
	{ { .ctype = "Multipart/Report; Report-Type=TLSRPT; "
	    "boundary=----=_b1" }, NULL },
	{ { .ctype = "multipart/report; report-type=\"tlsrpt\"; "
	    "boundary=\"other\"" }, "closing boundary" },
	{ { .report_parts = 2 }, "exactly one" },
	{ { .part_type = "application/json" }, "0 parts" },
	{ { .cte = "x-uuencode" }, "Content-Transfer-Encoding" },
	{ { .part_type = "application/tlsrpt+json", .cte = "base64" },
	    "holds gzip" },
	{ { .part_type = "application/tlsrpt+gzip", .cte = "base64",
	    .payload = "{}", .payload_len = 2 }, "not gzip" },
	{ { .part_type = "application/tlsrpt+json", .cte = "quoted-printable",
	    .payload = "{\"a\":1}", .payload_len = 7 }, NULL },
};

/* Message shapes, each signed correctly: MIME errors are refused. */
static void
test_shapes(void **state)
{
	struct tg_rptmail *m = verifier_file();
	struct tg_rptmail_result res;
	struct tg_buf msg;
	struct tg_err err;
	size_t i;

	(void)state;
	tg_rptmail_result_init(&res);
	for (i = 0; i < sizeof(shape_cases) / sizeof(shape_cases[0]); i++) {
		msg = build(&shape_cases[i].s);
		sign(&msg, K.pem, "sender.example", 0);
		if (tg_rptmail_parse(m, msg.data, msg.len, &res, &err) == 0) {
			if (shape_cases[i].error != NULL)
				fail_msg("case %zu accepted, expected '%s'", i,
				    shape_cases[i].error);
		} else if (shape_cases[i].error == NULL ||
		    strstr(err.msg, shape_cases[i].error) == NULL) {
			fail_msg("case %zu: '%s', expected '%s'", i, err.msg,
			    shape_cases[i].error ? shape_cases[i].error : "ok");
		}
		tg_buf_free(&msg);
	}
	tg_rptmail_result_free(&res);
	tg_rptmail_free(m);
}

/* A signed bomb: DKIM passes, the inflater still refuses it. */
static void
test_signed_bomb(void **state)
{
	size_t n = 10 * 1024 * 1024;
	char *zeros = calloc(1, n);
	struct tg_rptmail *m = verifier_file();
	struct tg_rptmail_result res;
	struct tg_buf gz, msg;
	struct tg_err err;

	(void)state;
	assert_non_null(zeros);
	tg_buf_init(&gz, 0);
	assert_int_equal(tg_gzip_deflate(zeros, n, n, &gz, &err), 0);
	free(zeros);
	msg = build(&(struct spec){ .payload = gz.data,
	    .payload_len = gz.len });
	sign(&msg, K.pem, "sender.example", 0);
	tg_rptmail_result_init(&res);
	expect(m, &msg, "gzip:", &res, &err);
	assert_int_equal(res.verified, 1);	/* authentic, still refused */
	tg_rptmail_result_free(&res);
	tg_buf_free(&msg);
	tg_buf_free(&gz);
	tg_rptmail_free(m);
}

/* Caps: whole message, header section, duplicate header fields. */
static void
test_limits(void **state)
{
	struct tg_rptmail_opts o = { .keys = TG_RPTMAIL_KEYS_FILE,
	    .key_file = K.keyfile, .message_max = 1000 };
	struct tg_rptmail *small, *m = verifier_file();
	struct tg_rptmail_result res;
	struct tg_buf msg, dup;
	struct tg_err err;
	size_t i;

	(void)state;
	small = tg_rptmail_new(&o, &err);
	assert_non_null(small);
	tg_rptmail_result_init(&res);
	msg = build(&(struct spec){ 0 });
	sign(&msg, K.pem, "sender.example", 0);
	expect(small, &msg, "exceeds the limit", &res, &err);
	/* Duplicate TLS-Report-Domain: ambiguous, refused. */
	tg_buf_init(&dup, 1 << 20);
	put(&dup, "TLS-Report-Domain: attacker.example\r\n");
	assert_int_equal(tg_buf_append(&dup, msg.data, msg.len), 0);
	expect(m, &dup, "more than one", &res, &err);
	/* A header section over TG_RPT_MAIL_HEADER_MAX. */
	tg_buf_reset(&dup);
	for (i = 0; i < 2000; i++)
		put(&dup, "X-Padding: 0123456789012345678901234567890123\r\n");
	assert_int_equal(tg_buf_append(&dup, msg.data, msg.len), 0);
	expect(m, &dup, "header section", &res, &err);
	/* No header/body separator at all. */
	expect(m, &(struct tg_buf){ "From: a@b\r\n", 11, 12, 12 },
	    "no end of header", &res, &err);
	tg_buf_free(&dup);
	tg_buf_free(&msg);
	tg_rptmail_result_free(&res);
	tg_rptmail_free(small);
	tg_rptmail_free(m);
}

/* Deterministic mutations of a signed message: 0 or -1, never a crash
 * or an out-of-bounds read (ASan); and never accepted once changed. */
static void
test_mutations(void **state)
{
	static const char inserts[] = "-\r\n=\";: \t";
	struct tg_rptmail *m = verifier_file();
	struct tg_buf orig = build(&(struct spec){ 0 }), mut;
	struct tg_rptmail_result res;
	unsigned long seed = 777;
	struct tg_err err;
	size_t i, n, pos;
	int rc;

	(void)state;
	sign(&orig, K.pem, "sender.example", 0);
	tg_buf_init(&mut, 1 << 20);
	tg_rptmail_result_init(&res);
	for (i = 0; i < 1500; i++) {
		tg_buf_reset(&mut);
		assert_int_equal(tg_buf_append(&mut, orig.data, orig.len), 0);
		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		pos = (size_t)(seed >> 33) % mut.len;
		n = mut.len;
		if ((seed >> 20) % 2 == 0)
			n = pos;
		else
			mut.data[pos] = inserts[(seed >> 8) %
			    (sizeof(inserts) - 1)];
		rc = tg_rptmail_parse(m, mut.data, n, &res, &err);
		if (rc == 0 && (n != orig.len ||
		    memcmp(mut.data, orig.data, n) != 0) &&
		    memcmp(res.report.data, report_json, res.report.len) != 0)
			fail_msg("mutation %zu accepted, another report", i);
	}
	tg_rptmail_result_free(&res);
	tg_buf_free(&mut);
	tg_buf_free(&orig);
	tg_rptmail_free(m);
}

static void
test_bad_options(void **state)
{
	struct tg_rptmail_opts o = { .keys = TG_RPTMAIL_KEYS_CALLBACK };
	struct tg_err err;

	(void)state;
	assert_null(tg_rptmail_new(&o, &err));
	o.keys = TG_RPTMAIL_KEYS_FILE;
	assert_null(tg_rptmail_new(&o, &err));
	tg_rptmail_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signed_gzip_base64_keyfile),
		cmocka_unit_test(test_signed_keycallback),
		cmocka_unit_test(test_unsigned),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_length_tag),
		cmocka_unit_test(test_key_service_types),
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_signed_bomb),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
