/*
 * Unit tests of admin/password: scrypt PHC strings made and verified,
 * refused hashes (tampered, unknown, absurd parameters), rehash
 * decisions, new-password rules, the dummy verification, and a round
 * trip through the store's admin_users. ln=10 keeps them fast; one test
 * uses the real TG_PASSWORD_LN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/password.h"
#include "test_store_util.h"

#define PW	"correct horse battery"
#define LN	10

static void
hash_ok(const char *pw, unsigned ln, char *out)
{
	struct tg_err err;

	if (tg_password_hash(pw, strlen(pw), ln, out,
	    TG_PASSWORD_HASH_MAX + 1, &err) != 0)
		fail_msg("hash: %s", err.msg);
}

static int
verify(const char *pw, const char *phc)
{
	return tg_password_verify(pw, strlen(pw), phc, NULL);
}

static void
test_password_round_trip(void **state)
{
	char phc[TG_PASSWORD_HASH_MAX + 1];

	(void)state;
	hash_ok(PW, LN, phc);
	assert_int_equal(strncmp(phc, "$scrypt$ln=10,r=8,p=1$", 22), 0);
	/* 16-byte salt: 22 characters; 32-byte hash: 43; no padding. */
	assert_int_equal(strlen(phc), 22 + 22 + 1 + 43);
	assert_null(strchr(phc + 22, '='));
	assert_int_equal(verify(PW, phc), 1);
	assert_int_equal(verify("correct horse battery!", phc), 0);
	assert_int_equal(verify("Correct horse battery", phc), 0);
	assert_int_equal(tg_password_verify("", 0, phc, NULL), 0);
}

/* Longer than any password that can be set: no, at once. */
static void
test_password_verify_overlong(void **state)
{
	static char big[TG_PASSWORD_MAX + 2];
	char phc[TG_PASSWORD_HASH_MAX + 1];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	hash_ok(big + 1, LN, phc);
	assert_int_equal(verify(big + 1, phc), 1);
	assert_int_equal(verify(big, phc), 0);
	assert_int_equal(tg_password_verify_dummy(big, strlen(big)), 0);
}

static void
test_password_real_parameters(void **state)
{
	char phc[TG_PASSWORD_HASH_MAX + 1];

	(void)state;
	hash_ok(PW, 0, phc);
	assert_int_equal(strncmp(phc, "$scrypt$ln=17,r=8,p=1$", 22), 0);
	assert_int_equal(verify(PW, phc), 1);
	assert_int_equal(tg_password_needs_rehash(phc, 0), 0);
}

static void
test_password_salts_differ(void **state)
{
	char a[TG_PASSWORD_HASH_MAX + 1], b[TG_PASSWORD_HASH_MAX + 1];

	(void)state;
	hash_ok(PW, LN, a);
	hash_ok(PW, LN, b);
	assert_string_not_equal(a, b);
	/* The salts themselves, not only the hashes. */
	assert_int_not_equal(memcmp(a + 22, b + 22, 22), 0);
	assert_int_equal(verify(PW, a), 1);
	assert_int_equal(verify(PW, b), 1);
}

/* Flip one character of the salt, then of the hash: no match. */
static void
test_password_tampered(void **state)
{
	char phc[TG_PASSWORD_HASH_MAX + 1], t[TG_PASSWORD_HASH_MAX + 1];
	size_t where[] = { 23, 30, 50, 70 }, i;

	(void)state;
	hash_ok(PW, LN, phc);
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		strcpy(t, phc);
		t[where[i]] = t[where[i]] == 'A' ? 'B' : 'A';
		assert_int_equal(verify(PW, t), 0);
	}
	/* Cut short, or with a character that is not base64. */
	strcpy(t, phc);
	t[strlen(t) - 5] = '\0';
	assert_int_equal(verify(PW, t), -1);
	strcpy(t, phc);
	t[60] = '*';
	assert_int_equal(verify(PW, t), -1);
	/* The canonical spelling only: the last hash character of 32
	 * bytes carries two unused bits, which must be zero. */
	strcpy(t, phc);
	t[strlen(t) - 1] = (char)(t[strlen(t) - 1] == 'B' ? 'C' : 'B');
	assert_int_equal(verify(PW, t), -1);
}

struct bad_case {
	const char *phc;
	const char *msg;	/* substring of the error */
};

#define SALT	"c2FsdHNhbHRzYWx0c2FsdA"
#define KEY	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static const struct bad_case bad_cases[] = {
	{ "", "not an scrypt" },
	{ "plaintext", "not an scrypt" },
	{ "$argon2id$v=19$m=19456,t=2,p=1$" SALT "$" KEY, "not an scrypt" },
	{ "$scrypt$", "malformed" },
	{ "$scrypt$ln=17$" SALT "$" KEY, "malformed" },
	{ "$scrypt$ln=17,p=1,r=8$" SALT "$" KEY, "malformed" },
	{ "$scrypt$ln=017,r=8,p=1$" SALT "$" KEY, "malformed" },
	{ "$scrypt$ln=1700,r=8,p=1$" SALT "$" KEY, "malformed" },
	{ "$scrypt$ln=-1,r=8,p=1$" SALT "$" KEY, "malformed" },
	{ "$scrypt$ln=17,r=8,p=1$" SALT, "malformed" },
	{ "$scrypt$ln=40,r=8,p=1$" SALT "$" KEY, "beyond" },
	{ "$scrypt$ln=9,r=8,p=1$" SALT "$" KEY, "beyond" },
	{ "$scrypt$ln=21,r=1,p=1$" SALT "$" KEY, "beyond" },
	{ "$scrypt$ln=17,r=0,p=1$" SALT "$" KEY, "beyond" },
	{ "$scrypt$ln=17,r=33,p=1$" SALT "$" KEY, "beyond" },
	{ "$scrypt$ln=17,r=8,p=0$" SALT "$" KEY, "beyond" },
	{ "$scrypt$ln=17,r=8,p=5$" SALT "$" KEY, "beyond" },
	/* Each within its range, together 4 GiB. */
	{ "$scrypt$ln=20,r=32,p=1$" SALT "$" KEY, "beyond" },
	{ "$scrypt$ln=17,r=8,p=1$c2FsdA$" KEY, "bad salt" },
	{ "$scrypt$ln=17,r=8,p=1$" SALT "$AAAA", "bad salt or hash" },
	{ "$scrypt$ln=17,r=8,p=1$" SALT "==$" KEY, "bad salt" },
	{ "$scrypt$ln=17,r=8,p=1$" SALT "$" KEY "$x", "bad salt or hash" },
	{ "$scrypt$ln=17,r=8,p=1$" SALT "$" KEY " ", "bad salt or hash" },
};

static void
test_password_refused_hashes(void **state)
{
	struct tg_err err;
	size_t i;
	clock_t t0 = clock();

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		int rc = tg_password_verify(PW, strlen(PW), c->phc, &err);

		if (rc != -1 || strstr(err.msg, c->msg) == NULL)
			fail_msg("%s: rc %d, '%s'", c->phc, rc, err.msg);
		assert_int_equal(err.cls, TG_ERR_PERM);
		assert_null(strstr(err.msg, PW));
		assert_null(strstr(err.msg, SALT));
		assert_int_equal(tg_password_needs_rehash(c->phc, 0), 0);
	}
	/* Nothing was derived: refusals cost no scrypt time. */
	assert_true(clock() - t0 < CLOCKS_PER_SEC / 4);
	assert_int_equal(tg_password_verify(PW, strlen(PW), NULL, &err), -1);
}

/* Too long for a PHC string: refused before anything else is read. */
static void
test_password_overlong_hash(void **state)
{
	char phc[TG_PASSWORD_HASH_MAX + 40];

	(void)state;
	memset(phc, 'A', sizeof(phc) - 1);
	phc[sizeof(phc) - 1] = '\0';
	memcpy(phc, "$scrypt$ln=10,r=8,p=1$", 22);
	assert_int_equal(verify(PW, phc), -1);
}

static void
test_password_needs_rehash(void **state)
{
	char phc[TG_PASSWORD_HASH_MAX + 1];

	(void)state;
	hash_ok(PW, LN, phc);
	assert_int_equal(tg_password_needs_rehash(phc, 0), 1);
	assert_int_equal(tg_password_needs_rehash(phc, 17), 1);
	assert_int_equal(tg_password_needs_rehash(phc, 11), 1);
	assert_int_equal(tg_password_needs_rehash(phc, 10), 0);
	assert_int_equal(tg_password_needs_rehash(
	    "$scrypt$ln=17,r=8,p=1$" SALT "$" KEY, 0), 0);
	assert_int_equal(tg_password_needs_rehash(
	    "$scrypt$ln=18,r=8,p=1$" SALT "$" KEY, 0), 0);
	assert_int_equal(tg_password_needs_rehash(
	    "$scrypt$ln=17,r=4,p=1$" SALT "$" KEY, 0), 1);
}

struct new_case {
	const char *pw;
	size_t len;		/* 0: strlen */
	int ok;
};

static void
test_password_check_new(void **state)
{
	static char big[TG_PASSWORD_MAX + 2];
	const struct new_case cases[] = {
		{ "elevenbytes", 0, 0 },
		{ "twelve bytes", 0, 1 },
		{ "pässwörd wïth ümlauts", 0, 1 },
		{ "tab\tinside password", 0, 0 },
		{ "newline\ninside password", 0, 0 },
		{ "escape \x1b[0m sequence", 0, 0 },
		{ "delete \x7f character", 0, 0 },
		{ "C1 \xc2\x85 next line char", 0, 0 },
		{ "nul\0inside a password", 21, 0 },
		{ big, TG_PASSWORD_MAX, 1 },
		{ big, TG_PASSWORD_MAX + 1, 0 },
	};
	struct tg_err err;
	size_t i, len;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = cases[i].len != 0 ? cases[i].len : strlen(cases[i].pw);
		if ((tg_password_check_new(cases[i].pw, len, &err) == 0) !=
		    cases[i].ok)
			fail_msg("case %zu: want %s", i, cases[i].ok ? "ok" :
			    "refused");
		if (!cases[i].ok) {
			assert_int_equal(err.cls, TG_ERR_PERM);
			assert_non_null(strstr(err.msg, "password: "));
		}
	}
	assert_int_equal(tg_password_check_new("elevenbytes", 11, &err), -1);
	assert_non_null(strstr(err.msg, "too short"));
	assert_int_equal(tg_password_check_new(big, 1025, &err), -1);
	assert_non_null(strstr(err.msg, "too long"));
}

static void
test_password_verify_dummy(void **state)
{
	clock_t t0;

	(void)state;
	t0 = clock();
	assert_int_equal(tg_password_verify_dummy(PW, strlen(PW)), 0);
	assert_int_equal(tg_password_verify_dummy("", 0), 0);
	/* It did derive a key with the real parameters (~0.3 s each). */
	assert_true(clock() - t0 > CLOCKS_PER_SEC / 100);
}

static void
test_password_hash_refusals(void **state)
{
	char phc[TG_PASSWORD_HASH_MAX + 1], small[64];
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_password_hash(PW, strlen(PW), LN, small,
	    sizeof(small), &err), -1);
	assert_int_equal(err.cls, TG_ERR_BUG);
	assert_int_equal(tg_password_hash(PW, strlen(PW), 40, phc,
	    sizeof(phc), &err), -1);
	assert_int_equal(err.cls, TG_ERR_BUG);
	assert_int_equal(tg_password_hash(PW, strlen(PW), 9, phc,
	    sizeof(phc), &err), -1);
	assert_string_equal(phc, "");
}

/* What we make is what the store keeps (its PHC check passes). */
static void
test_password_store_round_trip(void **state)
{
	struct fx *f = *state;
	char phc[TG_PASSWORD_HASH_MAX + 1];
	struct tg_store_admin a;
	struct tg_err err;

	hash_ok(PW, LN, phc);
	if (tg_store_admin_add(f->st, "admin", phc, &err) != 0)
		fail_msg("add: %s", err.msg);
	assert_int_equal(tg_store_admin_get(f->st, "admin", &a, &err), 0);
	assert_string_equal(a.password_hash, phc);
	assert_int_equal(verify(PW, a.password_hash), 1);
	hash_ok("another password", LN, phc);
	assert_int_equal(tg_store_admin_set_hash(f->st, "admin", phc, &err),
	    0);
	assert_int_equal(tg_store_admin_get(f->st, "admin", &a, &err), 0);
	assert_int_equal(verify(PW, a.password_hash), 0);
	assert_int_equal(verify("another password", a.password_hash), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_round_trip),
		cmocka_unit_test(test_password_verify_overlong),
		cmocka_unit_test(test_password_real_parameters),
		cmocka_unit_test(test_password_salts_differ),
		cmocka_unit_test(test_password_tampered),
		cmocka_unit_test(test_password_refused_hashes),
		cmocka_unit_test(test_password_overlong_hash),
		cmocka_unit_test(test_password_needs_rehash),
		cmocka_unit_test(test_password_check_new),
		cmocka_unit_test(test_password_verify_dummy),
		cmocka_unit_test(test_password_hash_refusals),
		cmocka_unit_test_setup_teardown(test_password_store_round_trip,
		    fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
