/*
 * Unit tests for dns/dnsupdate, without sockets: TSIG keys; the UPDATE
 * message as RFC 2136 lays it out (zone, prerequisites §2.4.2/§2.4.3,
 * changes §2.5.1/§2.5.2/§2.5.4) and signed so that a server verifies it
 * (RFC 8945); and the judgement of replies made here with ldns as a
 * server would make them: signed NOERROR, prerequisite failures,
 * SERVFAIL, REFUSED, unsigned, wrong key, tampered, BADKEY/BADSIG/BADTIME
 * errors, a reply signed outside the fudge, another id (RFC-CHECKLIST
 * 21-23, RELIABILITY C-03).
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

#include <ldns/ldns.h>

#include "dns/dnsupdate.h"

#define SECRET	"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I="
#define OTHER	"b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItb3Q="

static struct tg_tsig_key key;

static int
setup(void **state)
{
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_tsig_key_parse("hmac-sha256:tg-update:" SECRET,
	    &key, &err), 0);
	return 0;
}

static void
test_key_parse(void **state)
{
	struct tg_tsig_key k;
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_tsig_key_parse("tg-update:" SECRET "\n", &k,
	    &err), 0);
	assert_string_equal(k.name, "tg-update");
	assert_string_equal(k.alg, "hmac-sha256");
	assert_string_equal(k.secret, SECRET);
	assert_int_equal(tg_tsig_key_parse("HMAC-SHA256:k.example:" SECRET,
	    &k, &err), 0);
	assert_int_equal(tg_tsig_key_parse("hmac-md5:k:" SECRET, &k, &err),
	    -1);
	assert_non_null(strstr(err.msg, "only hmac-sha256"));
	assert_int_equal(tg_tsig_key_parse("k:c2hvcnQ=", &k, &err), -1);
	assert_non_null(strstr(err.msg, "16 to 64 bytes"));
	assert_int_equal(tg_tsig_key_parse("k:not*base64!", &k, &err), -1);
	assert_int_equal(tg_tsig_key_parse("just-a-name", &k, &err), -1);
	assert_int_equal(tg_tsig_key_parse("bad..name:" SECRET, &k, &err), -1);
}

#define DIGEST_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIGEST_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" \
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const char *const current[] = { "3 1 1 " DIGEST_A };

/* The rollover's "add the next digest" step. */
static const struct tg_dnsupdate_prereq add_pre[] = {
	{ "_25._tcp.mx.gw.test.", "TLSA", current, 1 },
	{ "_25._tcp.mx2.gw.test.", "TLSA", NULL, 0 },
};
static const struct tg_dnsupdate_change add_chg[] = {
	{ TG_DNSUPDATE_ADD, "_25._tcp.mx.gw.test. 300 IN TLSA 3 1 1 "
	    DIGEST_B },
	{ TG_DNSUPDATE_DELETE, "_25._tcp.mx.gw.test. 300 IN TLSA 3 1 1 "
	    DIGEST_A },
	{ TG_DNSUPDATE_DELETE_RRSET, "_25._tcp.old.gw.test. TLSA" },
};
static const struct tg_dnsupdate_req add_req = {
	"gw.test", add_pre, 2, add_chg, 3
};

static ldns_pkt *
parse(const unsigned char *wire, size_t len)
{
	ldns_pkt *p = NULL;

	assert_int_equal(ldns_wire2pkt(&p, wire, len), LDNS_STATUS_OK);
	return p;
}

static void
test_build_layout(void **state)
{
	struct tg_dnsupdate_msg m;
	struct tg_err err;
	ldns_pkt *p;
	ldns_rr *rr;
	char *s;

	(void)state;
	assert_int_equal(tg_dnsupdate_build(&add_req, &key, 4242, &m, &err),
	    0);
	p = parse(m.wire, m.len);
	assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_UPDATE);
	assert_int_equal(ldns_pkt_id(p), 4242);
	assert_false(ldns_pkt_rd(p));
	/* Zone section: gw.test SOA IN. */
	rr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	s = ldns_rdf2str(ldns_rr_owner(rr));
	assert_string_equal(s, "gw.test.");
	free(s);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_SOA);
	/* Prerequisites: the value-dependent RRset (class IN, TTL 0), the
	 * absent one (class NONE, no rdata). */
	assert_int_equal(ldns_pkt_ancount(p), 2);
	rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	assert_int_equal(ldns_rr_get_class(rr), LDNS_RR_CLASS_IN);
	assert_int_equal(ldns_rr_ttl(rr), 0);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_TLSA);
	assert_int_equal(ldns_rr_rd_count(rr), 4);
	rr = ldns_rr_list_rr(ldns_pkt_answer(p), 1);
	assert_int_equal(ldns_rr_get_class(rr), LDNS_RR_CLASS_NONE);
	assert_int_equal(ldns_rr_rd_count(rr), 0);
	/* Changes: add (IN, its TTL), delete one RR (NONE, TTL 0, with its
	 * rdata), delete an RRset (ANY, no rdata). */
	assert_int_equal(ldns_pkt_nscount(p), 3);
	rr = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
	assert_int_equal(ldns_rr_get_class(rr), LDNS_RR_CLASS_IN);
	assert_int_equal(ldns_rr_ttl(rr), 300);
	rr = ldns_rr_list_rr(ldns_pkt_authority(p), 1);
	assert_int_equal(ldns_rr_get_class(rr), LDNS_RR_CLASS_NONE);
	assert_int_equal(ldns_rr_ttl(rr), 0);
	assert_int_equal(ldns_rr_rd_count(rr), 4);
	rr = ldns_rr_list_rr(ldns_pkt_authority(p), 2);
	assert_int_equal(ldns_rr_get_class(rr), LDNS_RR_CLASS_ANY);
	assert_int_equal(ldns_rr_rd_count(rr), 0);
	/* Signed: the server verifies it with the shared key, not with
	 * another. */
	assert_non_null(ldns_pkt_tsig(p));
	assert_true(ldns_pkt_tsig_verify(p, m.wire, m.len, "tg-update",
	    SECRET, NULL));
	assert_false(ldns_pkt_tsig_verify(p, m.wire, m.len, "tg-update",
	    OTHER, NULL));
	ldns_pkt_free(p);
	tg_dnsupdate_msg_free(&m);
}

static void
test_build_refuses(void **state)
{
	static const struct tg_dnsupdate_change outside[] = {
		{ TG_DNSUPDATE_ADD, "_25._tcp.mx.other.test. 300 IN TLSA 3 1 1 "
		    "aa" },
	};
	static const struct tg_dnsupdate_change garbage[] = {
		{ TG_DNSUPDATE_ADD, "_25._tcp.mx.gw.test. 300 IN TLSA x y" },
	};
	struct tg_dnsupdate_req r = { "gw.test", NULL, 0, outside, 1 };
	struct tg_dnsupdate_msg m;
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_dnsupdate_build(&r, &key, 1, &m, &err), -1);
	assert_non_null(strstr(err.msg, "not in the zone"));
	r.change = garbage;
	assert_int_equal(tg_dnsupdate_build(&r, &key, 1, &m, &err), -1);
	assert_non_null(strstr(err.msg, "record"));
	r.nchange = 0;
	assert_int_equal(tg_dnsupdate_build(&r, &key, 1, &m, &err), -1);
	assert_null(m.wire);
}

/* ---- replies, as a server makes them ---- */

/* A reply to m with rcode, signed with secret (NULL: unsigned), id
 * changed by id_delta; *len gets its size. */
static unsigned char *
reply(const struct tg_dnsupdate_msg *m, ldns_pkt_rcode rcode,
    const char *secret, int id_delta, size_t *len)
{
	ldns_pkt *q = parse(m->wire, m->len), *r = ldns_pkt_new();
	ldns_rdf *mac;
	uint8_t *wire = NULL;

	assert_non_null(r);
	ldns_pkt_set_id(r, (uint16_t)(m->id + id_delta));
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_opcode(r, LDNS_PACKET_UPDATE);
	ldns_pkt_set_rcode(r, rcode);
	ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION,
	    ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(q), 0)));
	if (secret != NULL) {
		mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(q), 3));
		assert_int_equal(ldns_pkt_tsig_sign(r, "tg-update", secret,
		    300, "hmac-sha256.", mac), LDNS_STATUS_OK);
		ldns_rdf_deep_free(mac);
	}
	assert_int_equal(ldns_pkt2wire(&wire, r, len), LDNS_STATUS_OK);
	ldns_pkt_free(q);
	ldns_pkt_free(r);
	return wire;
}

/* A NOTAUTH reply whose TSIG RR carries error and no MAC (RFC 8945
 * §5.2.1, §5.2.2: BADKEY and BADSIG replies are not signed). */
static unsigned char *
reply_tsig_error(const struct tg_dnsupdate_msg *m, uint16_t error,
    size_t *len)
{
	ldns_pkt *r = ldns_pkt_new();
	ldns_rr *t = ldns_rr_new();
	uint8_t now[6] = { 0 }, *wire = NULL;
	uint16_t zero = 0;
	time_t tnow = time(NULL);
	int i;

	for (i = 0; i < 6; i++)
		now[5 - i] = (uint8_t)((uint64_t)tnow >> (8 * i));
	ldns_pkt_set_id(r, m->id);
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_opcode(r, LDNS_PACKET_UPDATE);
	ldns_pkt_set_rcode(r, LDNS_RCODE_NOTAUTH);
	ldns_rr_set_owner(t, ldns_dname_new_frm_str("tg-update."));
	ldns_rr_set_type(t, LDNS_RR_TYPE_TSIG);
	ldns_rr_set_class(t, LDNS_RR_CLASS_ANY);
	ldns_rr_set_ttl(t, 0);
	ldns_rr_push_rdf(t, ldns_dname_new_frm_str("hmac-sha256."));
	ldns_rr_push_rdf(t, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_TSIGTIME, 6,
	    now));
	ldns_rr_push_rdf(t, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 300));
	ldns_rr_push_rdf(t, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA,
	    2, &zero));
	ldns_rr_push_rdf(t, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16,
	    m->id));
	ldns_rr_push_rdf(t, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16,
	    error));
	ldns_rr_push_rdf(t, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA,
	    2, &zero));
	ldns_pkt_set_tsig(r, t);
	assert_int_equal(ldns_pkt2wire(&wire, r, len), LDNS_STATUS_OK);
	ldns_pkt_free(r);
	return wire;
}

static void
expect_judged(const struct tg_dnsupdate_msg *m, unsigned char *wire,
    size_t len, time_t now, enum tg_dnsupdate_outcome want,
    const char *text)
{
	struct tg_dnsupdate_result res;

	tg_dnsupdate_judge(m, &key, wire, len, now, &res);
	if (res.outcome != want || strstr(res.text, text) == NULL)
		fail_msg("outcome %s \"%s\", want %s \"%s\"",
		    tg_dnsupdate_outcome_name(res.outcome), res.text,
		    tg_dnsupdate_outcome_name(want), text);
	free(wire);
}

static void
test_judge(void **state)
{
	struct tg_dnsupdate_msg m;
	struct tg_err err;
	time_t now = time(NULL);
	unsigned char *w;
	size_t len;

	(void)state;
	assert_int_equal(tg_dnsupdate_build(&add_req, &key, 77, &m, &err), 0);
	w = reply(&m, LDNS_RCODE_NOERROR, SECRET, 0, &len);
	expect_judged(&m, w, len, now, TG_DNSUPDATE_DONE, "NOERROR");
	w = reply(&m, LDNS_RCODE_NXRRSET, SECRET, 0, &len);
	expect_judged(&m, w, len, now, TG_DNSUPDATE_PREREQ, "NXRRSET");
	w = reply(&m, LDNS_RCODE_YXRRSET, SECRET, 0, &len);
	expect_judged(&m, w, len, now, TG_DNSUPDATE_PREREQ, "YXRRSET");
	w = reply(&m, LDNS_RCODE_SERVFAIL, SECRET, 0, &len);
	expect_judged(&m, w, len, now, TG_DNSUPDATE_TEMP, "SERVFAIL");
	w = reply(&m, LDNS_RCODE_REFUSED, SECRET, 0, &len);
	expect_judged(&m, w, len, now, TG_DNSUPDATE_REFUSED, "REFUSED");
	w = reply(&m, LDNS_RCODE_NOTZONE, SECRET, 0, &len);
	expect_judged(&m, w, len, now, TG_DNSUPDATE_REFUSED, "NOTZONE");
	/* A success that is not signed, or signed with another key, or
	 * tampered with, is no success. */
	w = reply(&m, LDNS_RCODE_NOERROR, NULL, 0, &len);
	expect_judged(&m, w, len, now, TG_DNSUPDATE_TSIG, "not signed");
	w = reply(&m, LDNS_RCODE_NOERROR, OTHER, 0, &len);
	expect_judged(&m, w, len, now, TG_DNSUPDATE_TSIG, "does not verify");
	w = reply(&m, LDNS_RCODE_NOERROR, SECRET, 0, &len);
	w[3] ^= 0x08;		/* the rcode bits: NOERROR -> NXRRSET */
	expect_judged(&m, w, len, now, TG_DNSUPDATE_TSIG, "does not verify");
	/* RFC 8945 §5.4: the time signed within the fudge of our clock. */
	w = reply(&m, LDNS_RCODE_NOERROR, SECRET, 0, &len);
	expect_judged(&m, w, len, now + 1000, TG_DNSUPDATE_TSIG,
	    "away from our clock");
	w = reply(&m, LDNS_RCODE_NOERROR, SECRET, 0, &len);
	expect_judged(&m, w, len, now - 299, TG_DNSUPDATE_DONE, "NOERROR");
	/* The server's TSIG errors. */
	w = reply_tsig_error(&m, TG_TSIG_BADKEY, &len);
	expect_judged(&m, w, len, now, TG_DNSUPDATE_TSIG, "BADKEY");
	w = reply_tsig_error(&m, TG_TSIG_BADSIG, &len);
	expect_judged(&m, w, len, now, TG_DNSUPDATE_TSIG, "BADSIG");
	w = reply_tsig_error(&m, TG_TSIG_BADTIME, &len);
	expect_judged(&m, w, len, now, TG_DNSUPDATE_TSIG, "BADTIME");
	/* Another id: not the answer to this update. */
	w = reply(&m, LDNS_RCODE_NOERROR, SECRET, 1, &len);
	expect_judged(&m, w, len, now, TG_DNSUPDATE_TEMP, "not an answer");
	tg_dnsupdate_msg_free(&m);
}

static void
test_judge_garbage(void **state)
{
	static const unsigned char junk[] = { 1, 2, 3 };
	struct tg_dnsupdate_msg m;
	struct tg_dnsupdate_result res;
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_dnsupdate_build(&add_req, &key, 9, &m, &err), 0);
	tg_dnsupdate_judge(&m, &key, junk, sizeof(junk), time(NULL), &res);
	assert_int_equal(res.outcome, TG_DNSUPDATE_TEMP);
	assert_int_equal(res.rcode, -1);
	tg_dnsupdate_msg_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_key_parse, setup),
		cmocka_unit_test_setup(test_build_layout, setup),
		cmocka_unit_test_setup(test_build_refuses, setup),
		cmocka_unit_test_setup(test_judge, setup),
		cmocka_unit_test_setup(test_judge_garbage, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
