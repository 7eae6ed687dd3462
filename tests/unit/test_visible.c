/*
 * Unit tests for dns/visible's comparison (pure): an answer's records in
 * wire form against the expected set in presentation form — order and
 * case of names do not matter (RFC 4034 §6.2 canonical form), a missing,
 * extra or different record does, an empty set means "none".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/dns.h"
#include "dns/visible.h"

#define OWNER	"_25._tcp.mx.gw.test."
#define D_A	"3 1 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define D_B	"3 1 1 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" \
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* The answer: records of type at owner from presentation form to wire. */
struct wire {
	unsigned char *data[8];
	size_t len[8];
	size_t n;
};

static void
wire_of(struct wire *w, const char *owner, const char *type,
    const char *const *rdata, size_t n)
{
	char text[512];
	ldns_buffer *b;
	ldns_rr *rr;
	size_t i;

	memset(w, 0, sizeof(*w));
	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "%s 60 IN %s %s", owner, type,
		    rdata[i]);
		rr = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL),
		    LDNS_STATUS_OK);
		b = ldns_buffer_new(512);
		assert_int_equal(ldns_rr_rdata2buffer_wire(b, rr),
		    LDNS_STATUS_OK);
		w->len[i] = ldns_buffer_position(b);
		w->data[i] = malloc(w->len[i]);
		memcpy(w->data[i], ldns_buffer_begin(b), w->len[i]);
		ldns_buffer_free(b);
		ldns_rr_free(rr);
	}
	w->n = n;
}

static void
wire_free(struct wire *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		free(w->data[i]);
}

static int
same(uint16_t type, const char *const *want, size_t n, const struct wire *w,
    char *diff)
{
	struct tg_err err;

	return tg_visible_same(OWNER, type, want, n,
	    (const unsigned char *const *)w->data, w->len, w->n, diff, 64,
	    &err);
}

static void
test_same_sets(void **state)
{
	const char *ab[] = { D_A, D_B }, *ba[] = { D_B, D_A }, *a[] = { D_A };
	const char *upper[] = { "3 1 1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAA" };
	char diff[64];
	struct wire w;

	(void)state;
	wire_of(&w, OWNER, "TLSA", ba, 2);
	assert_int_equal(same(TG_DNS_T_TLSA, ab, 2, &w, diff), 1);
	assert_int_equal(same(TG_DNS_T_TLSA, a, 1, &w, diff), 0);
	assert_string_equal(diff, "2 records, want 1");
	wire_free(&w);
	wire_of(&w, OWNER, "TLSA", a, 1);
	assert_int_equal(same(TG_DNS_T_TLSA, upper, 1, &w, diff), 1);
	assert_int_equal(same(TG_DNS_T_TLSA, ba, 1, &w, diff), 0);
	assert_string_equal(diff, "other records");
	assert_int_equal(same(TG_DNS_T_TLSA, ab, 2, &w, diff), 0);
	assert_string_equal(diff, "1 record, want 2");
	wire_free(&w);
}

/* Names inside rdata compare in canonical (lower-case) form. */
static void
test_names_canonical(void **state)
{
	const char *mx[] = { "10 Mail.GW.test." }, *lower[] = {
	    "10 mail.gw.test." }, *other[] = { "20 mail.gw.test." };
	struct tg_err err;
	char diff[64];
	struct wire w;

	(void)state;
	wire_of(&w, "gw.test.", "MX", mx, 1);
	assert_int_equal(tg_visible_same("gw.test.", TG_DNS_T_MX, lower, 1,
	    (const unsigned char *const *)w.data, w.len, w.n, diff, 64, &err),
	    1);
	assert_int_equal(tg_visible_same("gw.test.", TG_DNS_T_MX, other, 1,
	    (const unsigned char *const *)w.data, w.len, w.n, diff, 64, &err),
	    0);
	wire_free(&w);
}

static void
test_empty_and_bad(void **state)
{
	const char *bad[] = { "3 1 x zz" }, *a[] = { D_A };
	struct tg_err err;
	char diff[64];
	struct wire w;

	(void)state;
	wire_of(&w, OWNER, "TLSA", NULL, 0);
	assert_int_equal(same(TG_DNS_T_TLSA, NULL, 0, &w, diff), 1);
	assert_int_equal(same(TG_DNS_T_TLSA, a, 1, &w, diff), 0);
	assert_string_equal(diff, "0 records, want 1");
	assert_int_equal(tg_visible_same(OWNER, TG_DNS_T_TLSA, bad, 1, NULL,
	    NULL, 0, diff, 64, &err), -1);
	assert_non_null(strstr(err.msg, "does not parse"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_sets),
		cmocka_unit_test(test_names_canonical),
		cmocka_unit_test(test_empty_and_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
