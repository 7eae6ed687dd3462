/*
 * Unit tests of dns/dns (answers from response packets, record parsers,
 * names) and of the resolver settings parsers in dns/resolver.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "dns/resolver.h"

/* --- Building response packets with ldns --- */

struct pkt_case {
	const char *what;
	const char *question;		/* "name. IN TYPE" */
	int rcode;			/* in the packet */
	const char *answer[6];		/* zone-file RRs */
	const char *authority[2];
	int sec;			/* libunbound: 0, 1 bogus, 2 secure */
	/* expected */
	enum tg_dns_status status;
	enum tg_dns_security security;
	size_t nrr;
	size_t ncname;
	const char *canon;
	uint32_t ttl;
};

static unsigned char *
make_pkt(const char *question, int rcode, const char *const *an, size_t nan,
    const char *const *ns, size_t nns, size_t *len)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *rr;
	uint8_t *wire = NULL;
	size_t i;

	assert_non_null(p);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	assert_int_equal(ldns_rr_new_question_frm_str(&rr, question, NULL,
	    NULL), LDNS_STATUS_OK);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, rr);
	for (i = 0; i < nan && an[i] != NULL; i++) {
		assert_int_equal(ldns_rr_new_frm_str(&rr, an[i], 0, NULL,
		    NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	for (i = 0; i < nns && ns[i] != NULL; i++) {
		assert_int_equal(ldns_rr_new_frm_str(&rr, ns[i], 0, NULL,
		    NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
	}
	assert_int_equal(ldns_pkt2wire(&wire, p, len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	return wire;
}

static const struct pkt_case pkt_cases[] = {
	{ "secure MX", "example.org. IN MX", 0,
	    { "example.org. 300 IN MX 10 mx1.example.org.",
	      "example.org. 200 IN MX 20 mx2.example.org." }, { NULL }, 2,
	    TG_DNS_OK, TG_DNS_SECURE, 2, 0, "example.org", 200 },
	{ "case and records at other names", "Example.ORG. IN A", 0,
	    { "other.example.org. 10 IN A 192.0.2.9",
	      "EXAMPLE.org. 300 IN A 192.0.2.1" }, { NULL }, 0,
	    TG_DNS_OK, TG_DNS_INSECURE, 1, 0, "example.org", 300 },
	{ "CNAME chain", "mx.example.org. IN A", 0,
	    { "mx.example.org. 600 IN CNAME www.example.org.",
	      "www.example.org. 500 IN CNAME host.example.net.",
	      "host.example.net. 700 IN A 192.0.2.7" }, { NULL }, 2,
	    TG_DNS_OK, TG_DNS_SECURE, 1, 2, "host.example.net", 500 },
	{ "NXDOMAIN takes the SOA minimum", "nx.example.org. IN MX", 3,
	    { NULL }, { "example.org. 3600 IN SOA ns. host. 1 2 3 4 900" }, 2,
	    TG_DNS_NXDOMAIN, TG_DNS_SECURE, 0, 0, "nx.example.org", 900 },
	{ "NODATA takes the SOA TTL", "example.org. IN TLSA", 0,
	    { NULL }, { "example.org. 60 IN SOA ns. host. 1 2 3 4 900" }, 0,
	    TG_DNS_NODATA, TG_DNS_INSECURE, 0, 0, "example.org", 60 },
	{ "NXDOMAIN at a CNAME target", "a.example.org. IN A", 3,
	    { "a.example.org. 100 IN CNAME gone.example.net." }, { NULL }, 0,
	    TG_DNS_NXDOMAIN, TG_DNS_INSECURE, 0, 1, "gone.example.net", 0 },
	{ "bogus keeps its records", "example.org. IN MX", 0,
	    { "example.org. 300 IN MX 10 mx1.example.org." }, { NULL }, 1,
	    TG_DNS_OK, TG_DNS_BOGUS, 1, 0, "example.org", 300 },
	{ "SERVFAIL in the packet", "example.org. IN MX", 2,
	    { NULL }, { NULL }, 0,
	    TG_DNS_TEMPFAIL, TG_DNS_INDETERMINATE, 0, 0, "example.org", 0 },
	{ "REFUSED in the packet", "example.org. IN MX", 5,
	    { NULL }, { NULL }, 2,
	    TG_DNS_TEMPFAIL, TG_DNS_INDETERMINATE, 0, 0, "example.org", 0 },
	{ "CNAME loop", "a.example.org. IN A", 0,
	    { "a.example.org. 100 IN CNAME b.example.org.",
	      "b.example.org. 100 IN CNAME a.example.org." }, { NULL }, 2,
	    TG_DNS_TEMPFAIL, TG_DNS_INDETERMINATE, 0, 0, "a.example.org", 0 },
	{ "TTL with the top bit set counts as 0", "example.org. IN A", 0,
	    { "example.org. 2147483648 IN A 192.0.2.1" }, { NULL }, 0,
	    TG_DNS_OK, TG_DNS_INSECURE, 1, 0, "example.org", 0 },
	{ "CNAME asked for is not followed", "a.example.org. IN CNAME", 0,
	    { "a.example.org. 100 IN CNAME b.example.org." }, { NULL }, 2,
	    TG_DNS_OK, TG_DNS_SECURE, 1, 0, "a.example.org", 100 },
};

static void
test_answer_from_packet(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pkt_cases) / sizeof(pkt_cases[0]); i++) {
		const struct pkt_case *c = &pkt_cases[i];
		struct tg_dns_answer *ans;
		unsigned char *wire;
		char qname[300];
		uint16_t qtype;
		size_t len;

		print_message("# %s\n", c->what);
		wire = make_pkt(c->question, c->rcode, c->answer, 6,
		    c->authority, 2, &len);
		sscanf(c->question, "%299s", qname);
		qname[strlen(qname) - 1] = '\0';
		qtype = strstr(c->question, " MX") ? TG_DNS_T_MX :
		    strstr(c->question, " TLSA") ? TG_DNS_T_TLSA :
		    strstr(c->question, " CNAME") ? TG_DNS_T_CNAME : TG_DNS_T_A;
		ans = tg_dns_answer_from_wire(qname, qtype, 0, wire, len,
		    c->sec, c->sec == 1 ? "signature expired" : NULL);
		free(wire);
		assert_non_null(ans);
		assert_int_equal(ans->status, c->status);
		assert_int_equal(ans->security, c->security);
		assert_int_equal(ans->nrr, c->nrr);
		assert_int_equal(ans->ncname, c->ncname);
		assert_string_equal(ans->canon, c->canon);
		assert_int_equal(ans->ttl, c->ttl);
		assert_int_equal(ans->status == TG_DNS_TEMPFAIL,
		    ans->error[0] != '\0');
		if (c->sec == 1)
			assert_string_equal(ans->why_bogus,
			    "signature expired");
		else
			assert_string_equal(ans->why_bogus, "");
		tg_dns_answer_free(ans);
	}
}

static void
test_answer_chain_links(void **state)
{
	const char *an[] = { "mx.example.org. 600 IN CNAME www.Example.org.",
	    "www.example.org. 500 IN CNAME host.example.net.",
	    "host.example.net. 700 IN MX 10 mail.example.net." };
	struct tg_dns_answer *ans, *copy;
	unsigned char *wire;
	struct tg_dns_mx mx[4];
	size_t len, n;

	(void)state;
	wire = make_pkt("mx.example.org. IN MX", 0, an, 3, NULL, 0, &len);
	ans = tg_dns_answer_from_wire("mx.example.org", TG_DNS_T_MX, 0, wire,
	    len, 2, NULL);
	free(wire);
	assert_non_null(ans);
	assert_string_equal(ans->cname[0].owner, "mx.example.org");
	assert_string_equal(ans->cname[0].target, "www.example.org");
	assert_string_equal(ans->cname[1].owner, "www.example.org");
	assert_string_equal(ans->cname[1].target, "host.example.net");
	copy = tg_dns_answer_dup(ans);
	tg_dns_answer_free(ans);
	assert_non_null(copy);
	assert_int_equal(tg_dns_answer_mx(copy, mx, 4, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(mx[0].exchange, "mail.example.net");
	tg_dns_answer_free(copy);
}

static void
test_answer_failures(void **state)
{
	static const unsigned char junk[] = { 0, 1, 0x81, 0x80, 0, 9, 0, 0 };
	struct tg_dns_answer *ans;
	unsigned char *wire;
	size_t len;

	(void)state;
	/* libunbound's own error code: no packet to look at. */
	ans = tg_dns_answer_from_wire("example.org", TG_DNS_T_MX, 2, NULL, 0,
	    0, NULL);
	assert_int_equal(ans->status, TG_DNS_TEMPFAIL);
	assert_int_equal(ans->security, TG_DNS_INDETERMINATE);
	tg_dns_answer_free(ans);
	/* A packet that does not parse. */
	ans = tg_dns_answer_from_wire("example.org", TG_DNS_T_MX, 0, junk,
	    sizeof(junk), 2, NULL);
	assert_int_equal(ans->status, TG_DNS_TEMPFAIL);
	assert_non_null(strstr(ans->error, "malformed"));
	tg_dns_answer_free(ans);
	/* An answer to another question. */
	wire = make_pkt("example.org. IN A", 0, NULL, 0, NULL, 0, &len);
	ans = tg_dns_answer_from_wire("example.org", TG_DNS_T_MX, 0, wire,
	    len, 2, NULL);
	free(wire);
	assert_int_equal(ans->status, TG_DNS_TEMPFAIL);
	tg_dns_answer_free(ans);
}

/* More records than TG_DNS_RR_MAX: the first ones are kept, flagged. */
static void
test_answer_rr_cap(void **state)
{
	const char *an[TG_DNS_RR_MAX + 5];
	char text[TG_DNS_RR_MAX + 5][64];
	struct tg_dns_answer *ans;
	unsigned char *wire;
	size_t i, len;

	(void)state;
	for (i = 0; i < TG_DNS_RR_MAX + 5; i++) {
		snprintf(text[i], sizeof(text[i]),
		    "example.org. 300 IN A 10.0.%zu.%zu", i / 250, i % 250);
		an[i] = text[i];
	}
	wire = make_pkt("example.org. IN A", 0, an, TG_DNS_RR_MAX + 5, NULL,
	    0, &len);
	ans = tg_dns_answer_from_wire("example.org", TG_DNS_T_A, 0, wire,
	    len, 0, NULL);
	free(wire);
	assert_int_equal(ans->status, TG_DNS_OK);
	assert_int_equal(ans->nrr, TG_DNS_RR_MAX);
	assert_int_equal(ans->truncated, 1);
	tg_dns_answer_free(ans);
}

/* --- MX --- */

struct mx_case {
	const char *what;
	unsigned char rdata[300];
	size_t len;
	int ok;
	uint16_t pref;
	const char *exchange;
	int is_null;
};

static const struct mx_case mx_cases[] = {
	{ "plain", { 0, 10, 2, 'm', 'x', 7, 'e', 'x', 'a', 'm', 'p', 'l',
	    'e', 3, 'o', 'r', 'g', 0 }, 18, 1, 10, "mx.example.org", 0 },
	{ "upper case is lowered", { 0, 5, 2, 'M', 'X', 3, 'O', 'R', 'G', 0 },
	    10, 1, 5, "mx.org", 0 },
	{ "null MX (RFC 7505)", { 0, 0, 0 }, 3, 1, 0, ".", 1 },
	{ "root with a preference is not a null MX", { 0, 7, 0 }, 3, 1, 7,
	    ".", 0 },
	{ "too short", { 0, 10 }, 2, 0, 0, NULL, 0 },
	{ "bytes after the name", { 0, 10, 0, 1 }, 4, 0, 0, NULL, 0 },
	{ "label runs past the rdata", { 0, 10, 9, 'a', 'b', 0 }, 6, 0, 0,
	    NULL, 0 },
	{ "no terminating root label", { 0, 10, 2, 'm', 'x' }, 5, 0, 0, NULL,
	    0 },
	{ "compression pointer loop", { 0, 10, 0xc0, 2 }, 4, 0, 0, NULL, 0 },
};

static void
test_mx_parse(void **state)
{
	struct tg_dns_mx mx;
	struct tg_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(mx_cases) / sizeof(mx_cases[0]); i++) {
		const struct mx_case *c = &mx_cases[i];
		int rc;

		print_message("# %s\n", c->what);
		tg_err_clear(&err);
		rc = tg_dns_mx_parse(c->rdata, c->len, &mx, &err);
		if (!c->ok) {
			assert_int_equal(rc, -1);
			assert_int_equal(err.cls, TG_ERR_PERM);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(mx.pref, c->pref);
		assert_string_equal(mx.exchange, c->exchange);
		assert_int_equal(mx.is_null, c->is_null);
	}
}

/* A name whose text form (with \DDD escapes) exceeds TG_DNAME_MAX. */
static void
test_mx_name_cap(void **state)
{
	unsigned char rdata[2 + 4 * 64 + 1];
	struct tg_dns_mx mx;
	size_t i, o = 2;

	(void)state;
	rdata[0] = 0;
	rdata[1] = 1;
	for (i = 0; i < 4; i++) {
		rdata[o++] = 60;
		memset(rdata + o, ' ', 60);
		o += 60;
	}
	rdata[o++] = 0;
	assert_int_equal(tg_dns_mx_parse(rdata, o, &mx, NULL), -1);
}

/* NS/CNAME rdata: the whole of it one name, in the MX text form. */
static void
test_name_parse(void **state)
{
	static const unsigned char ns[] = { 2, 'N', 's', 4, 't', 'e', 's',
	    't', 0 };
	static const unsigned char extra[] = { 2, 'n', 's', 0, 9 };
	static const unsigned char cut[] = { 5, 'n', 's' };
	struct tg_err err;
	char out[TG_DNS_NAME_SIZE], small[4];

	(void)state;
	assert_int_equal(tg_dns_name_parse(ns, sizeof(ns), out, sizeof(out),
	    &err), 0);
	assert_string_equal(out, "ns.test");
	assert_int_equal(tg_dns_name_parse(extra, sizeof(extra), out,
	    sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "1 bytes after"));
	assert_int_equal(tg_dns_name_parse(cut, sizeof(cut), out,
	    sizeof(out), &err), -1);
	assert_int_equal(tg_dns_name_parse(ns, sizeof(ns), small,
	    sizeof(small), &err), -1);
	assert_non_null(strstr(err.msg, "too long"));
}

static void
test_answer_mx_sorted(void **state)
{
	static const unsigned char mx20[] = { 0, 20, 1, 'b', 0 };
	static const unsigned char mx10[] = { 0, 10, 1, 'a', 0 };
	static const unsigned char mx10b[] = { 0, 10, 1, 'c', 0 };
	struct tg_dns_answer *ans;
	struct tg_dns_mx mx[3];
	size_t n;

	(void)state;
	ans = tg_dns_answer_new("example.org", TG_DNS_T_MX, TG_DNS_OK,
	    TG_DNS_SECURE, "%s", "");
	assert_int_equal(tg_dns_answer_add_rr(ans, TG_DNS_T_MX, 1, mx20, 5),
	    0);
	assert_int_equal(tg_dns_answer_add_rr(ans, TG_DNS_T_MX, 1, mx10, 5),
	    0);
	assert_int_equal(tg_dns_answer_add_rr(ans, TG_DNS_T_MX, 1, mx10b, 5),
	    0);
	assert_int_equal(tg_dns_answer_mx(ans, mx, 3, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_string_equal(mx[0].exchange, "a");
	assert_string_equal(mx[1].exchange, "c");
	assert_string_equal(mx[2].exchange, "b");
	/* Room for two only: refused, not silently cut. */
	assert_int_equal(tg_dns_answer_mx(ans, mx, 2, &n, NULL), -1);
	tg_dns_answer_free(ans);
}

/* --- TXT --- */

struct txt_case {
	const char *what;
	const char *rdata;	/* length bytes written as \ooo */
	size_t len;
	size_t outlen;
	const char *text;	/* NULL: must fail */
};

static const struct txt_case txt_cases[] = {
	{ "one string", "\015v=STSv1; id=1", 14, 64, "v=STSv1; id=1" },
	{ "two strings joined without a space (RFC 8461 §3.1)",
	    "\011v=STSv1; \017id=20190429T01;", 26, 64,
	    "v=STSv1; id=20190429T01;" },
	{ "one empty string", "\000", 1, 8, "" },
	{ "empty rdata", "", 0, 8, NULL },
	{ "string runs past the rdata", "\011v=STS", 6, 64, NULL },
	{ "NUL inside", "\003a\000b", 4, 64, NULL },
	{ "output cap", "\012abcdefghij", 11, 10, NULL },
	{ "output exactly fits", "\011abcdefghi", 10, 10, "abcdefghi" },
};

static void
test_txt_join(void **state)
{
	char out[64];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(txt_cases) / sizeof(txt_cases[0]); i++) {
		const struct txt_case *c = &txt_cases[i];
		int rc;

		print_message("# %s\n", c->what);
		n = 999;
		rc = tg_dns_txt_join((const unsigned char *)c->rdata, c->len,
		    out, c->outlen, &n, NULL);
		if (c->text == NULL) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(out, c->text);
		assert_int_equal(n, strlen(c->text));
	}
}

/* Three full 255-byte strings, the most one string can hold. */
static void
test_txt_long_record(void **state)
{
	unsigned char rdata[3 * 256];
	char out[3 * 255 + 1];
	size_t i, n;

	(void)state;
	for (i = 0; i < 3; i++) {
		rdata[i * 256] = 255;
		memset(rdata + i * 256 + 1, 'a' + (int)i, 255);
	}
	assert_int_equal(tg_dns_txt_join(rdata, sizeof(rdata), out,
	    sizeof(out), &n, NULL), 0);
	assert_int_equal(n, 765);
	assert_int_equal(out[254], 'a');
	assert_int_equal(out[255], 'b');
	assert_int_equal(out[764], 'c');
	assert_int_equal(tg_dns_txt_join(rdata, sizeof(rdata), out,
	    sizeof(out) - 1, &n, NULL), -1);
}

/* --- A / AAAA --- */

static void
test_addr_text(void **state)
{
	static const unsigned char v4[] = { 192, 0, 2, 1 };
	static const unsigned char v6[] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 1 };
	char out[TG_DNS_ADDR_TEXT_SIZE];

	(void)state;
	assert_int_equal(tg_dns_addr_text(TG_DNS_T_A, v4, 4, out, sizeof(out),
	    NULL), 0);
	assert_string_equal(out, "192.0.2.1");
	assert_int_equal(tg_dns_addr_text(TG_DNS_T_AAAA, v6, 16, out,
	    sizeof(out), NULL), 0);
	assert_string_equal(out, "2001:db8::1");
	assert_int_equal(tg_dns_addr_text(TG_DNS_T_A, v6, 16, out,
	    sizeof(out), NULL), -1);
	assert_int_equal(tg_dns_addr_text(TG_DNS_T_AAAA, v4, 4, out,
	    sizeof(out), NULL), -1);
	assert_int_equal(tg_dns_addr_text(TG_DNS_T_A, v4, 3, out,
	    sizeof(out), NULL), -1);
	assert_int_equal(tg_dns_addr_text(TG_DNS_T_MX, v4, 4, out,
	    sizeof(out), NULL), -1);
}

/* --- Names --- */

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(tg_dns_status_name(TG_DNS_OK), "ok");
	assert_string_equal(tg_dns_status_name(TG_DNS_NXDOMAIN), "nxdomain");
	assert_string_equal(tg_dns_status_name(TG_DNS_NODATA), "nodata");
	assert_string_equal(tg_dns_status_name(TG_DNS_TEMPFAIL),
	    "temporary failure");
	assert_string_equal(tg_dns_security_name(TG_DNS_SECURE), "secure");
	assert_string_equal(tg_dns_security_name(TG_DNS_INSECURE),
	    "insecure");
	assert_string_equal(tg_dns_security_name(TG_DNS_BOGUS), "bogus");
	assert_string_equal(tg_dns_security_name(TG_DNS_INDETERMINATE),
	    "indeterminate");
	assert_string_equal(tg_dns_type_name(TG_DNS_T_MX), "MX");
	assert_string_equal(tg_dns_type_name(TG_DNS_T_TLSA), "TLSA");
	assert_string_equal(tg_dns_type_name(TG_DNS_T_AAAA), "AAAA");
	assert_string_equal(tg_dns_type_name(54321), "unknown");
}

/* --- Resolver settings --- */

struct server_case {
	const char *in;
	const char *addr;	/* NULL: must fail */
	uint16_t port;
};

static const struct server_case server_cases[] = {
	{ "192.0.2.53", "192.0.2.53", 53 },
	{ "127.0.0.1@5353", "127.0.0.1", 5353 },
	{ "::1@5353", "::1", 5353 },
	{ "2001:DB8:0::1", "2001:db8::1", 53 },
	{ "192.0.2.1@65535", "192.0.2.1", 65535 },
	{ "", NULL, 0 },
	{ "@53", NULL, 0 },
	{ "ns.example.org", NULL, 0 },
	{ "192.0.2.256", NULL, 0 },
	{ "192.0.2.1@", NULL, 0 },
	{ "192.0.2.1@0", NULL, 0 },
	{ "192.0.2.1@65536", NULL, 0 },
	{ "192.0.2.1@123456", NULL, 0 },
	{ "192.0.2.1@53x", NULL, 0 },
	{ "192.0.2.1@-53", NULL, 0 },
	{ "192.0.2.1@53@54", NULL, 0 },
	{ "[::1]:53", NULL, 0 },
};

static void
test_server_parse(void **state)
{
	struct tg_resolver_server s;
	struct tg_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(server_cases) / sizeof(server_cases[0]); i++) {
		const struct server_case *c = &server_cases[i];
		int rc;

		print_message("# \"%s\"\n", c->in);
		tg_err_clear(&err);
		rc = tg_resolver_server_parse(c->in, &s, &err);
		if (c->addr == NULL) {
			assert_int_equal(rc, -1);
			assert_true(err.msg[0] != '\0');
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(s.addr, c->addr);
		assert_int_equal(s.port, c->port);
	}
}

struct stub_case {
	const char *in;
	const char *zone;	/* NULL: must fail */
	const char *addr;
	uint16_t port;
};

#define L63 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123"

static const struct stub_case stub_cases[] = {
	{ "test=127.0.0.1@5353", "test", "127.0.0.1", 5353 },
	{ "Example.TEST.=::1", "example.test", "::1", 53 },
	{ ".=127.0.0.53", ".", "127.0.0.53", 53 },
	{ "_tcp.example=192.0.2.1", "_tcp.example", "192.0.2.1", 53 },
	{ L63 ".test=192.0.2.1", L63 ".test", "192.0.2.1", 53 },
	{ "test", NULL, NULL, 0 },
	{ "=127.0.0.1", NULL, NULL, 0 },
	{ "te st=127.0.0.1", NULL, NULL, 0 },
	{ "a..b=127.0.0.1", NULL, NULL, 0 },
	{ ".test=127.0.0.1", NULL, NULL, 0 },
	{ "test=ns.example", NULL, NULL, 0 },
	{ "test=127.0.0.1@99999", NULL, NULL, 0 },
	{ L63 "4.test=192.0.2.1", NULL, NULL, 0 },
	{ L63 "." L63 "." L63 "." L63 ".test=192.0.2.1", NULL, NULL, 0 },
};

static void
test_stub_parse(void **state)
{
	struct tg_resolver_stub s;
	struct tg_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(stub_cases) / sizeof(stub_cases[0]); i++) {
		const struct stub_case *c = &stub_cases[i];
		int rc;

		print_message("# \"%s\"\n", c->in);
		tg_err_clear(&err);
		rc = tg_resolver_stub_parse(c->in, &s, &err);
		if (c->zone == NULL) {
			assert_int_equal(rc, -1);
			assert_true(err.msg[0] != '\0');
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(s.zone, c->zone);
		assert_string_equal(s.server.addr, c->addr);
		assert_int_equal(s.server.port, c->port);
	}
}

static void
test_config_caps(void **state)
{
	struct tg_resolver_config cfg;
	struct tg_err err;
	int i;

	(void)state;
	tg_resolver_config_init(&cfg);
	assert_int_equal(cfg.timeout_s, TG_DNS_TIMEOUT_S);
	assert_string_equal(cfg.trust_anchor_file, "");
	for (i = 0; i < TG_DNS_SERVERS_MAX; i++) {
		assert_int_equal(tg_resolver_config_add_forward(&cfg,
		    "192.0.2.1", &err), 0);
		assert_int_equal(tg_resolver_config_add_stub(&cfg,
		    "test=192.0.2.1", &err), 0);
	}
	assert_int_equal(tg_resolver_config_add_forward(&cfg, "192.0.2.1",
	    &err), -1);
	assert_int_equal(tg_resolver_config_add_stub(&cfg, "test=192.0.2.1",
	    &err), -1);
	assert_int_equal(cfg.nforward, TG_DNS_SERVERS_MAX);
	assert_int_equal(cfg.nstub, TG_DNS_SERVERS_MAX);
	tg_resolver_config_init(&cfg);
	assert_int_equal(tg_resolver_config_add_forward(&cfg, "bad", &err),
	    -1);
	assert_int_equal(cfg.nforward, 0);
	assert_non_null(strstr(err.msg, "forwarder"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_from_packet),
		cmocka_unit_test(test_answer_chain_links),
		cmocka_unit_test(test_answer_failures),
		cmocka_unit_test(test_answer_rr_cap),
		cmocka_unit_test(test_mx_parse),
		cmocka_unit_test(test_mx_name_cap),
		cmocka_unit_test(test_name_parse),
		cmocka_unit_test(test_answer_mx_sorted),
		cmocka_unit_test(test_txt_join),
		cmocka_unit_test(test_txt_long_record),
		cmocka_unit_test(test_addr_text),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_server_parse),
		cmocka_unit_test(test_stub_parse),
		cmocka_unit_test(test_config_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
