/*
 * Unit tests for tls/tlsa: parsing, printing, building from
 * certificates, usability (RFC 7672 §3.1.3), digest agility (RFC 7671
 * §9), rollover detection and chain matching.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/pki.h"
#include "tls/cert.h"
#include "tls/tlsa.h"

struct parse_case {
	const char *text;
	int ok;
	int u, s, m;
	size_t len;
	long offset;		/* expected error offset, -1 to skip */
};

static const struct parse_case parse_cases[] = {
	{ "3 1 1 ab12", 1, 3, 1, 1, 2, -1 },
	{ "  2 0 0 00", 1, 2, 0, 0, 1, -1 },
	{ "3 1 1 ab 12\n cd\tEF ", 1, 3, 1, 1, 4, -1 },
	{ "255 255 255 ff", 1, 255, 255, 255, 1, -1 },
	{ "3\t1\t2\tABCDEF", 1, 3, 1, 2, 3, -1 },
	{ "3 1 1 abc", 0, 0, 0, 0, 0, 8 },
	{ "3 1 1 ", 0, 0, 0, 0, 0, 6 },
	{ "3 1 1", 0, 0, 0, 0, 0, 5 },
	{ "3 1 1 zz", 0, 0, 0, 0, 0, 6 },
	{ "256 1 1 ab", 0, 0, 0, 0, 0, 0 },
	{ "0003 1 1 ab", 0, 0, 0, 0, 0, 0 },
	{ "3 x 1 ab", 0, 0, 0, 0, 0, 2 },
	{ "3 1 -1 ab", 0, 0, 0, 0, 0, 4 },
	{ "31 1ab", 0, 0, 0, 0, 0, 4 },
	{ "", 0, 0, 0, 0, 0, 0 },
};

static void
test_parse_text(void **state)
{
	struct tg_tlsa_rr *rr = malloc(sizeof(*rr));
	struct tg_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		int rc;

		tg_err_clear(&err);
		rc = tg_tlsa_parse_text(c->text, strlen(c->text), rr, &err);
		if (rc != (c->ok ? 0 : -1))
			fail_msg("case %zu '%s': rc %d (%s)", i, c->text, rc,
			    err.msg);
		if (!c->ok) {
			if (c->offset >= 0 && err.offset != c->offset)
				fail_msg("case %zu '%s': offset %ld, want %ld",
				    i, c->text, err.offset, c->offset);
			continue;
		}
		assert_int_equal(rr->usage, c->u);
		assert_int_equal(rr->selector, c->s);
		assert_int_equal(rr->mtype, c->m);
		assert_int_equal(rr->len, c->len);
	}
	/* Text need not be NUL-terminated: only len bytes are read. */
	assert_int_equal(tg_tlsa_parse_text("3 1 1 abcdXX", 10, rr, &err), 0);
	assert_int_equal(rr->len, 2);
	assert_int_equal(rr->data[1], 0xcd);
	free(rr);
}

static void
test_parse_text_too_long(void **state)
{
	size_t n = 6 + 2 * (TG_TLSA_DATA_MAX + 1);
	struct tg_tlsa_rr *rr = malloc(sizeof(*rr));
	char *text = malloc(n + 1);
	struct tg_err err;

	(void)state;
	memcpy(text, "3 0 0 ", 6);
	memset(text + 6, 'a', n - 6);
	text[n] = '\0';
	assert_int_equal(tg_tlsa_parse_text(text, n, rr, &err), -1);
	assert_non_null(strstr(err.msg, "longer"));
	/* Exactly the maximum is fine. */
	assert_int_equal(tg_tlsa_parse_text(text, n - 2, rr, &err), 0);
	assert_int_equal(rr->len, TG_TLSA_DATA_MAX);
	free(text);
	free(rr);
}

static void
test_wire_and_print(void **state)
{
	static const uint8_t wire[] = { 3, 1, 1, 0xde, 0xad, 0xbe, 0xef };
	struct tg_tlsa_rr *rr = malloc(sizeof(*rr));
	struct tg_tlsa_rr *back = malloc(sizeof(*back));
	char text[64];
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_tlsa_parse_wire(wire, sizeof(wire), rr, &err), 0);
	assert_int_equal(rr->usage, 3);
	assert_int_equal(rr->len, 4);
	assert_int_equal(tg_tlsa_print(rr, text, sizeof(text)), 0);
	assert_string_equal(text, "3 1 1 deadbeef");
	assert_int_equal(tg_tlsa_parse_text(text, strlen(text), back, &err),
	    0);
	assert_true(tg_tlsa_equal(rr, back));
	/* A buffer one byte short fails and leaves an empty string. */
	assert_int_equal(tg_tlsa_print(rr, text, strlen("3 1 1 deadbeef")),
	    -1);
	assert_string_equal(text, "");
	/* Empty data parses from wire (and is unusable). */
	assert_int_equal(tg_tlsa_parse_wire(wire, 3, rr, &err), 0);
	assert_int_equal(rr->len, 0);
	assert_false(tg_tlsa_is_usable(rr));
	assert_int_equal(tg_tlsa_parse_wire(wire, 2, rr, &err), -1);
	free(rr);
	free(back);
}

/* Build a record with len bytes of fill. */
static void
mk(struct tg_tlsa_rr *rr, int u, int s, int m, size_t len, uint8_t fill)
{
	rr->usage = (uint8_t)u;
	rr->selector = (uint8_t)s;
	rr->mtype = (uint8_t)m;
	rr->len = len;
	memset(rr->data, fill, len);
}

struct usable_case {
	int u, s, m;
	size_t len;
	int usable;
};

static const struct usable_case usable_cases[] = {
	{ 3, 1, 1, 32, 1 }, { 3, 0, 1, 32, 1 }, { 2, 1, 2, 64, 1 },
	{ 2, 0, 0, 300, 1 }, { 3, 1, 0, 91, 1 },
	{ 0, 1, 1, 32, 0 }, { 1, 1, 1, 32, 0 },	/* RFC 7672 §3.1.3 */
	{ 4, 1, 1, 32, 0 }, { 255, 1, 1, 32, 0 },
	{ 3, 2, 1, 32, 0 }, { 3, 1, 3, 32, 0 }, { 3, 1, 255, 32, 0 },
	{ 3, 1, 1, 31, 0 }, { 3, 1, 1, 33, 0 }, { 3, 1, 1, 64, 0 },
	{ 3, 1, 2, 32, 0 }, { 3, 1, 2, 63, 0 }, { 3, 1, 0, 0, 0 },
};

static void
test_usable(void **state)
{
	struct tg_tlsa_rr *rr = malloc(sizeof(*rr));
	char buf[96];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(usable_cases) / sizeof(usable_cases[0]); i++) {
		const struct usable_case *c = &usable_cases[i];

		mk(rr, c->u, c->s, c->m, c->len, 0x11);
		if (tg_tlsa_is_usable(rr) != c->usable)
			fail_msg("case %zu (%d %d %d len %zu): usable %d", i,
			    c->u, c->s, c->m, c->len, !c->usable);
		assert_int_equal(tg_tlsa_unusable_reason(rr, buf,
		    sizeof(buf)) == NULL, c->usable);
	}
	mk(rr, 1, 1, 1, 32, 0);
	assert_string_equal(tg_tlsa_unusable_reason(rr, buf, sizeof(buf)),
	    "usage 1 (PKIX-EE) is not usable for SMTP");
	mk(rr, 3, 1, 2, 32, 0);
	assert_string_equal(tg_tlsa_unusable_reason(rr, buf, sizeof(buf)),
	    "SHA2-512 data is 32 bytes, not 64");
	free(rr);
}

/* Digest agility: records as "u s m" with a correct or wrong length,
 * and the expected keep mask. */
struct agility_case {
	const char *name;
	size_t n;
	struct {
		int u, s, m;
		int bad_len;
	} r[6];
	const char *keep;
};

static const struct agility_case agility_cases[] = {
	{ "one 3 1 1", 1, { { 3, 1, 1, 0 } }, "1" },
	{ "3 1 1 + 3 1 2: 2 wins", 2, { { 3, 1, 1, 0 }, { 3, 1, 2, 0 } },
	    "01" },
	{ "order does not matter", 2, { { 3, 1, 2, 0 }, { 3, 1, 1, 0 } },
	    "10" },
	{ "per selector", 3, { { 3, 1, 1, 0 }, { 3, 0, 1, 0 },
	    { 3, 1, 2, 0 } }, "011" },
	{ "per usage", 3, { { 3, 1, 1, 0 }, { 2, 1, 1, 0 },
	    { 2, 1, 2, 0 } }, "101" },
	{ "full always kept", 3, { { 3, 1, 0, 0 }, { 3, 1, 1, 0 },
	    { 3, 1, 2, 0 } }, "101" },
	{ "two of the best kept", 3, { { 3, 1, 2, 0 }, { 3, 1, 1, 0 },
	    { 3, 1, 2, 0 } }, "101" },
	{ "broken 3 1 2 does not shadow", 2, { { 3, 1, 1, 0 },
	    { 3, 1, 2, 1 } }, "10" },
	{ "unusable usages dropped", 3, { { 1, 1, 2, 0 }, { 0, 1, 1, 0 },
	    { 3, 1, 1, 0 } }, "001" },
	{ "PKIX 1 1 2 does not shadow 3 1 1", 2, { { 1, 1, 2, 0 },
	    { 3, 1, 1, 0 } }, "01" },
	{ "unknown mtype dropped, does not shadow", 2, { { 3, 1, 1, 0 },
	    { 3, 1, 9, 0 } }, "10" },
	{ "nothing usable", 2, { { 0, 0, 1, 0 }, { 3, 1, 1, 1 } }, "00" },
};

static void
agility_fill(struct tg_tlsa_rr *rrs, const struct agility_case *c)
{
	size_t j, len;

	for (j = 0; j < c->n; j++) {
		len = c->r[j].m == 1 ? 32 : c->r[j].m == 2 ? 64 : 40;
		if (c->r[j].bad_len)
			len--;
		mk(&rrs[j], c->r[j].u, c->r[j].s, c->r[j].m, len,
		    (uint8_t)(j + 1));
	}
}

static void
test_agility(void **state)
{
	struct tg_tlsa_rr *rrs = malloc(6 * sizeof(*rrs));
	unsigned char keep[6];
	size_t i, j, kept, want;

	(void)state;
	for (i = 0; i < sizeof(agility_cases) / sizeof(agility_cases[0]);
	    i++) {
		const struct agility_case *c = &agility_cases[i];

		agility_fill(rrs, c);
		kept = tg_tlsa_agility(rrs, c->n, keep);
		for (j = 0, want = 0; j < c->n; j++) {
			want += c->keep[j] == '1';
			if (keep[j] != (c->keep[j] == '1'))
				fail_msg("%s: record %zu kept %d", c->name, j,
				    keep[j]);
		}
		if (kept != want)
			fail_msg("%s: kept %zu, want %zu", c->name, kept, want);
	}
	free(rrs);
}

static void
test_rollover(void **state)
{
	struct tg_tlsa_rr *rrs = malloc(3 * sizeof(*rrs));

	(void)state;
	mk(&rrs[0], 3, 1, 1, 32, 1);
	assert_false(tg_tlsa_has_rollover(rrs, 1));
	mk(&rrs[1], 3, 1, 1, 32, 2);	/* current + next */
	assert_true(tg_tlsa_has_rollover(rrs, 2));
	mk(&rrs[1], 3, 1, 1, 32, 1);	/* duplicate is not a next key */
	assert_false(tg_tlsa_has_rollover(rrs, 2));
	mk(&rrs[1], 3, 1, 2, 64, 2);	/* other mtype: not a pair */
	assert_false(tg_tlsa_has_rollover(rrs, 2));
	mk(&rrs[1], 2, 1, 1, 32, 2);	/* other usage: not a pair */
	assert_false(tg_tlsa_has_rollover(rrs, 2));
	mk(&rrs[2], 2, 1, 1, 32, 3);
	assert_true(tg_tlsa_has_rollover(rrs, 3));
	mk(&rrs[1], 3, 1, 1, 31, 2);	/* unusable next: no rollover */
	mk(&rrs[2], 1, 1, 1, 32, 3);
	assert_false(tg_tlsa_has_rollover(rrs, 3));
	mk(&rrs[0], 3, 0, 1, 32, 1);	/* selector 0 is not counted */
	mk(&rrs[1], 3, 0, 1, 32, 2);
	assert_false(tg_tlsa_has_rollover(rrs, 2));
	assert_int_equal(tg_tlsa_count_usable(rrs, 3), 2);
	free(rrs);
}

struct lab {
	EVP_PKEY *ck, *lk, *ok;
	X509 *ca, *leaf, *other;
	STACK_OF(X509) *chain;
};

static void
lab_make(struct lab *l)
{
	const char *sans[] = { "mx.example.net", NULL };

	l->ck = tg_test_key();
	l->lk = tg_test_key();
	l->ok = tg_test_key();
	l->ca = tg_test_cert(l->ck, "Lab CA", NULL, -1, 30, 1, NULL, NULL);
	l->leaf = tg_test_cert(l->lk, NULL, sans, -1, 30, 0, l->ca, l->ck);
	l->other = tg_test_cert(l->ok, NULL, sans, -1, 30, 0, l->ca, l->ck);
	l->chain = sk_X509_new_null();
	X509_up_ref(l->leaf);
	X509_up_ref(l->ca);
	sk_X509_push(l->chain, l->leaf);
	sk_X509_push(l->chain, l->ca);
}

static void
lab_free(struct lab *l)
{
	tg_cert_chain_free(l->chain);
	X509_free(l->ca);
	X509_free(l->leaf);
	X509_free(l->other);
	EVP_PKEY_free(l->ck);
	EVP_PKEY_free(l->lk);
	EVP_PKEY_free(l->ok);
}

static void
test_build(void **state)
{
	struct tg_tlsa_rr *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	unsigned char d[TG_CERT_DIGEST_MAX];
	struct tg_err err;
	struct lab l;
	size_t dl;

	(void)state;
	lab_make(&l);
	/* 3 1 1 from the certificate equals 3 1 1 from its key. */
	assert_int_equal(tg_tlsa_from_cert(l.leaf, 3, 1, 1, a, &err), 0);
	assert_int_equal(tg_tlsa_from_key(l.lk, 3, 1, 1, b, &err), 0);
	assert_true(tg_tlsa_equal(a, b));
	assert_int_equal(a->len, 32);
	assert_int_equal(tg_cert_digest(l.leaf, TG_CERT_PART_SPKI,
	    TG_CERT_MD_SHA256, d, &dl, &err), 0);
	assert_memory_equal(a->data, d, 32);
	assert_int_equal(tg_tlsa_from_key(l.lk, 3, 1, 2, b, &err), 0);
	assert_int_equal(b->len, 64);
	assert_int_equal(tg_tlsa_from_key(l.lk, 3, 0, 1, b, &err), -1);
	/* From a chain: 3 x x is the leaf, 2 x x the top. */
	assert_int_equal(tg_tlsa_from_chain(l.chain, 3, 1, 1, b, &err), 0);
	assert_true(tg_tlsa_equal(a, b));
	assert_int_equal(tg_tlsa_from_chain(l.chain, 2, 1, 1, b, &err), 0);
	assert_int_equal(tg_tlsa_from_cert(l.ca, 2, 1, 1, a, &err), 0);
	assert_true(tg_tlsa_equal(a, b));
	/* 2 0 0: the whole CA certificate. */
	assert_int_equal(tg_tlsa_from_chain(l.chain, 2, 0, 0, b, &err), 0);
	assert_int_equal(b->len, (size_t)i2d_X509(l.ca, NULL));
	assert_true(tg_tlsa_is_usable(b));
	assert_int_equal(tg_tlsa_from_cert(l.leaf, 3, 1, 3, a, &err), -1);
	assert_int_equal(tg_tlsa_from_cert(l.leaf, 3, 2, 1, a, &err), -1);
	/* A leaf alone names no trust anchor. */
	sk_X509_pop_free(l.chain, X509_free);
	l.chain = sk_X509_new_null();
	X509_up_ref(l.leaf);
	sk_X509_push(l.chain, l.leaf);
	assert_int_equal(tg_tlsa_from_chain(l.chain, 2, 1, 1, b, &err), -1);
	lab_free(&l);
	free(a);
	free(b);
}

static void
test_match_chain(void **state)
{
	struct tg_tlsa_rr *rrs = malloc(3 * sizeof(*rrs));
	struct tg_err err;
	struct lab l;
	size_t idx;
	int depth;

	(void)state;
	lab_make(&l);
	/* 3 1 1 of another key: no match; add ours: match at depth 0. */
	assert_int_equal(tg_tlsa_from_cert(l.other, 3, 1, 1, &rrs[0], &err),
	    0);
	assert_false(tg_tlsa_match_chain(rrs, 1, l.chain, &idx, &depth));
	assert_int_equal(tg_tlsa_from_cert(l.leaf, 3, 1, 1, &rrs[1], &err),
	    0);
	assert_true(tg_tlsa_match_chain(rrs, 2, l.chain, &idx, &depth));
	assert_int_equal(idx, 1);
	assert_int_equal(depth, 0);
	/* Digest agility: a wrong 3 1 2 hides the right 3 1 1. */
	assert_int_equal(tg_tlsa_from_cert(l.other, 3, 1, 2, &rrs[2], &err),
	    0);
	assert_false(tg_tlsa_match_chain(rrs, 3, l.chain, NULL, NULL));
	/* 2 1 1 of the CA matches at depth 1, not the leaf. */
	assert_int_equal(tg_tlsa_from_cert(l.ca, 2, 1, 1, &rrs[0], &err), 0);
	assert_true(tg_tlsa_match_chain(rrs, 1, l.chain, &idx, &depth));
	assert_int_equal(idx, 0);
	assert_int_equal(depth, 1);
	/* 2 1 1 of the leaf is not a trust anchor above the leaf. */
	assert_int_equal(tg_tlsa_from_cert(l.leaf, 2, 1, 1, &rrs[0], &err),
	    0);
	assert_false(tg_tlsa_match_chain(rrs, 1, l.chain, NULL, NULL));
	/* Unusable usage 1 never matches even with the right digest. */
	assert_int_equal(tg_tlsa_from_cert(l.leaf, 1, 1, 1, &rrs[0], &err), 0);
	assert_false(tg_tlsa_match_chain(rrs, 1, l.chain, NULL, NULL));
	assert_true(tg_tlsa_matches_cert(&rrs[0], l.leaf));
	lab_free(&l);
	free(rrs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_text),
		cmocka_unit_test(test_parse_text_too_long),
		cmocka_unit_test(test_wire_and_print),
		cmocka_unit_test(test_usable),
		cmocka_unit_test(test_agility),
		cmocka_unit_test(test_rollover),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_match_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
