/*
 * Unit tests of the store's ACME parts: http-01 challenges (put, replace,
 * list in token order without the expired ones, remove, purge; bad
 * token, key authorization or host refused with the store unchanged; the
 * generation bumped by every write) and tg_store_cert_set_file (the
 * renewal that keeps the key: same key updates the file and the dates
 * and keeps the states, another key is refused, unknown id NOTFOUND).
 */
#include "test_store_util.h"

#include "util/clock.h"

/* A real-looking pair: 43 base64url characters, "." and a thumbprint. */
#define TOKEN_A	"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
#define KEYAUTH_A TOKEN_A ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"

static void
make_challenge(struct tg_store_acme_challenge *c, const char *token,
    const char *keyauth, const char *host, time_t expires)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->token, sizeof(c->token), "%s", token);
	snprintf(c->key_authorization, sizeof(c->key_authorization), "%s",
	    keyauth);
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->expires = expires;
}

/* Every challenge listed at some time, in order, as one line each. */
struct seen {
	int n;
	char text[2048];
	struct tg_store_acme_challenge last;
};

static int
collect(const struct tg_store_acme_challenge *c, void *arg)
{
	struct seen *s = arg;
	size_t used = strlen(s->text);

	s->n++;
	s->last = *c;
	snprintf(s->text + used, sizeof(s->text) - used, "%s=%s@%s;",
	    c->token, c->key_authorization, c->host);
	return 0;
}

static int
stop_at_first(const struct tg_store_acme_challenge *c, void *arg)
{
	(void)c;
	((struct seen *)arg)->n++;
	return 1;
}

static void
list_at(struct tg_store *st, time_t now, struct seen *s)
{
	struct tg_err err;

	memset(s, 0, sizeof(*s));
	if (tg_store_acme_challenge_list(st, now, collect, s, &err) != 0)
		fail_msg("list: %s", err.msg);
}

static void
put_ok(struct tg_store *st, const char *token, const char *keyauth,
    const char *host, time_t expires)
{
	struct tg_store_acme_challenge c;
	struct tg_err err;
	int64_t gen = generation(st);

	make_challenge(&c, token, keyauth, host, expires);
	if (tg_store_acme_challenge_put(st, &c, &err) != 0)
		fail_msg("put %s: %s", token, err.msg);
	assert_int_equal(generation(st), gen + 1);
}

static void
test_put_list_replace_remove(void **state)
{
	struct fx *f = *state;
	struct seen s;
	struct tg_err err;
	int64_t gen;

	list_at(f->st, 0, &s);
	assert_int_equal(s.n, 0);
	put_ok(f->st, TOKEN_A, KEYAUTH_A, "MTA-STS.Example.ORG.", 2000);
	put_ok(f->st, "b_2", "b_2.x", "mx.example.org", 3000);
	put_ok(f->st, "a-1", "a-1.x", "mx.example.org", 1500);
	/* By token, host normalised. */
	list_at(f->st, 1000, &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.text, "a-1=a-1.x@mx.example.org;"
	    "b_2=b_2.x@mx.example.org;"
	    TOKEN_A "=" KEYAUTH_A "@mta-sts.example.org;");
	assert_int_equal(s.last.expires, 2000);
	/* A callback that stops the list early: still 0. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(tg_store_acme_challenge_list(f->st, 0, stop_at_first,
	    &s, &err), 0);
	assert_int_equal(s.n, 1);
	/* The same token again replaces it. */
	put_ok(f->st, "b_2", "b_2.y", "other.example.org", 4000);
	list_at(f->st, 2000, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.last.token, "b_2");
	assert_string_equal(s.last.key_authorization, "b_2.y");
	assert_string_equal(s.last.host, "other.example.org");
	assert_int_equal(s.last.expires, 4000);
	list_at(f->st, 1000, &s);
	assert_int_equal(s.n, 3);
	/* Remove: the generation moves; an unknown token is NOTFOUND and
	 * leaves it. */
	gen = generation(f->st);
	assert_int_equal(tg_store_acme_challenge_remove(f->st, "a-1", &err),
	    0);
	assert_int_equal(generation(f->st), gen + 1);
	assert_int_equal(tg_store_acme_challenge_remove(f->st, "a-1", &err),
	    TG_STORE_NOTFOUND);
	assert_int_equal(generation(f->st), gen + 1);
	list_at(f->st, 1000, &s);
	assert_int_equal(s.n, 2);
	assert_null(strstr(s.text, "a-1="));
}

/* Only challenges with expires > now are listed; purge deletes the
 * others and bumps the generation only when it deleted any. */
static void
test_expiry_and_purge(void **state)
{
	struct fx *f = *state;
	struct seen s;
	struct tg_err err;
	int64_t gen;

	put_ok(f->st, "early", "early.k", "a.example.org", 100);
	put_ok(f->st, "late", "late.k", "b.example.org", 200);
	list_at(f->st, 99, &s);
	assert_int_equal(s.n, 2);
	list_at(f->st, 100, &s);		/* expires == now: expired */
	assert_string_equal(s.text, "late=late.k@b.example.org;");
	list_at(f->st, 200, &s);
	assert_int_equal(s.n, 0);
	gen = generation(f->st);
	assert_int_equal(tg_store_acme_challenge_purge(f->st, 99, &err), 0);
	assert_int_equal(generation(f->st), gen);
	assert_int_equal(tg_store_acme_challenge_purge(f->st, 150, &err), 0);
	assert_int_equal(generation(f->st), gen + 1);
	/* The purged row is gone, not only hidden. */
	list_at(f->st, 0, &s);
	assert_string_equal(s.text, "late=late.k@b.example.org;");
	assert_int_equal(tg_store_acme_challenge_remove(f->st, "early", &err),
	    TG_STORE_NOTFOUND);
	assert_int_equal(tg_store_acme_challenge_purge(f->st, 200, &err), 0);
	list_at(f->st, 0, &s);
	assert_int_equal(s.n, 0);
}

static void
test_bad_input(void **state)
{
	static const struct {
		const char *token, *keyauth, *host;
		time_t expires;
		const char *msg;
	} cases[] = {
		{ "", "k", "a.example", 10, "token: missing" },
		{ "a=b", "k", "a.example", 10, "token: character 2 is not "
		    "base64url" },
		{ "a.b", "k", "a.example", 10, "token: character 2" },
		{ "a/b", "k", "a.example", 10, "token: character 2" },
		{ "a b", "k", "a.example", 10, "token: character 2" },
		{ "tok", "", "a.example", 10, "key_authorization: missing" },
		{ "tok", "tok. x", "a.example", 10, "key_authorization: "
		    "character 5 is not printable ASCII" },
		{ "tok", "tok.x\n", "a.example", 10, "key_authorization: "
		    "character 6" },
		{ "tok", "tok.\x7f", "a.example", 10, "key_authorization:" },
		{ "tok", "tok.\xc3\xa9", "a.example", 10,
		    "key_authorization:" },
		{ "tok", "tok.k", "", 10, "host:" },
		{ "tok", "tok.k", "not a name", 10, "host:" },
		{ "tok", "tok.k", "a..example", 10, "host:" },
		{ "tok", "tok.k", "a.example", -1, "expires: negative" },
	};
	struct fx *f = *state;
	struct tg_store_acme_challenge c;
	struct seen before, after;
	struct tg_err err;
	int64_t gen;
	size_t i;

	put_ok(f->st, "tok", "tok.good", "a.example", 10);
	list_at(f->st, 0, &before);
	gen = generation(f->st);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_challenge(&c, cases[i].token, cases[i].keyauth,
		    cases[i].host, cases[i].expires);
		if (tg_store_acme_challenge_put(f->st, &c, &err) != -1)
			fail_msg("case %zu was taken", i);
		assert_perm_msg(err, cases[i].msg);
	}
	/* Too long: the token and the key authorization, one over. */
	make_challenge(&c, "tok", "tok.k", "a.example", 10);
	memset(c.token, 'A', TG_STORE_ACME_TOKEN_MAX);
	c.token[TG_STORE_ACME_TOKEN_MAX] = '\0';
	put_ok(f->st, c.token, "k", "a.example", 10);	/* the limit: fine */
	assert_int_equal(tg_store_acme_challenge_remove(f->st, c.token, &err),
	    0);
	gen += 2;
	memset(c.key_authorization, 'k', TG_STORE_ACME_KEYAUTH_MAX);
	c.key_authorization[TG_STORE_ACME_KEYAUTH_MAX] = '\0';
	memcpy(c.token, "tok", 4);
	assert_int_equal(tg_store_acme_challenge_put(f->st, &c, &err), 0);
	gen++;
	memset(c.token, 'A', sizeof(c.token));	/* no NUL at all */
	assert_int_equal(tg_store_acme_challenge_put(f->st, &c, &err), -1);
	assert_perm_msg(err, "not NUL-terminated");
	/* Remove checks the token too, before anything is written. */
	assert_int_equal(tg_store_acme_challenge_remove(f->st, "x'; --",
	    &err), -1);
	assert_perm_msg(err, "token: character 2");
	assert_int_equal(tg_store_acme_challenge_remove(f->st, NULL, &err),
	    -1);
	/* Restore the first challenge: all that changed was the limit
	 * probes above, each with its own generation. */
	put_ok(f->st, "tok", "tok.good", "a.example", 10);
	gen++;
	assert_int_equal(generation(f->st), gen);
	list_at(f->st, 0, &after);
	assert_string_equal(before.text, after.text);
}

/* A read-only store refuses every write. */
static void
test_readonly(void **state)
{
	struct fx *f = *state;
	struct tg_store_acme_challenge c;
	struct tg_store *ro;
	struct tg_err err;
	struct seen s;

	put_ok(f->st, "tok", "tok.k", "a.example", 10);
	assert_int_equal(tg_store_open_readonly(f->dir, &ro, &err), 0);
	make_challenge(&c, "new", "new.k", "a.example", 10);
	assert_int_equal(tg_store_acme_challenge_put(ro, &c, &err), -1);
	assert_perm_msg(err, "read-only");
	assert_int_equal(tg_store_acme_challenge_remove(ro, "tok", &err), -1);
	assert_int_equal(tg_store_acme_challenge_purge(ro, 100, &err), -1);
	list_at(ro, 0, &s);
	assert_string_equal(s.text, "tok=tok.k@a.example;");
	tg_store_close(ro);
}

/* ---- tg_store_cert_set_file ---- */

static void
make_cert(struct tg_store_cert *c, char spki)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "mta-sts.example.org");
	c->role = TG_STORE_CERT_STS;
	snprintf(c->cert_path, sizeof(c->cert_path), "/state/certs/old.pem");
	snprintf(c->key_path, sizeof(c->key_path), "/state/keys/k.key");
	memset(c->spki_sha256, spki, 64);
	c->not_before = 1000;
	c->not_after = 2000;
	c->state = TG_STORE_CERT_CURRENT;
	c->tlsa_state = TG_STORE_TLSA_PUBLISHED;
}

static void
test_cert_set_file(void **state)
{
	struct fx *f = *state;
	struct tg_store_cert c, before, got;
	struct census c0, c1;
	struct tg_err err;
	char upper[65];
	int64_t id, gen;

	tg_clock_set(5000);
	make_cert(&c, 'a');
	assert_int_equal(tg_store_cert_add(f->st, &c, &id, &err), 0);
	tg_clock_set(6000);
	assert_int_equal(tg_store_cert_set_tlsa_state(f->st, id,
	    TG_STORE_TLSA_VISIBLE, &err), 0);
	assert_int_equal(tg_store_cert_get(f->st, id, &before, &err), 0);
	/* The same key (in upper case: digits are normalised). */
	tg_clock_set(7000);
	memset(upper, 'A', 64);
	upper[64] = '\0';
	gen = generation(f->st);
	assert_int_equal(tg_store_cert_set_file(f->st, id,
	    "/state/certs/new.pem", upper, 1500, 9000, &err), 0);
	assert_int_equal(generation(f->st), gen + 1);
	assert_int_equal(tg_store_cert_get(f->st, id, &got, &err), 0);
	assert_string_equal(got.cert_path, "/state/certs/new.pem");
	assert_int_equal(got.not_before, 1500);
	assert_int_equal(got.not_after, 9000);
	assert_int_equal(got.updated, 7000);
	/* Everything else as it was. */
	assert_string_equal(got.key_path, before.key_path);
	assert_string_equal(got.spki_sha256, before.spki_sha256);
	assert_int_equal(got.state, TG_STORE_CERT_CURRENT);
	assert_int_equal(got.tlsa_state, TG_STORE_TLSA_VISIBLE);
	assert_int_equal(got.tlsa_published_at, before.tlsa_published_at);
	assert_int_equal(got.tlsa_visible_at, 6000);
	assert_int_equal(got.state_since, before.state_since);
	assert_int_equal(got.created, 5000);
	/* Refused, store unchanged: another key, bad values, unknown id. */
	take_census(f->st, &c0);
	memset(upper, 'b', 64);
	assert_int_equal(tg_store_cert_set_file(f->st, id,
	    "/state/certs/other.pem", upper, 1500, 9000, &err), -1);
	assert_perm_msg(err, "the new certificate has another key");
	assert_int_equal(tg_store_cert_set_file(f->st, id, "certs/x.pem",
	    before.spki_sha256, 1500, 9000, &err), -1);
	assert_perm_msg(err, "cert_path: not an absolute path");
	assert_int_equal(tg_store_cert_set_file(f->st, id, "/x.pem", "abc",
	    1500, 9000, &err), -1);
	assert_perm_msg(err, "spki_sha256:");
	assert_int_equal(tg_store_cert_set_file(f->st, id, "/x.pem",
	    before.spki_sha256, 9000, 1500, &err), -1);
	assert_perm_msg(err, "not_after: before not_before");
	assert_int_equal(tg_store_cert_set_file(f->st, id, NULL,
	    before.spki_sha256, 1500, 9000, &err), -1);
	assert_int_equal(tg_store_cert_set_file(f->st, id + 1, "/x.pem",
	    before.spki_sha256, 1500, 9000, &err), TG_STORE_NOTFOUND);
	take_census(f->st, &c1);
	assert_census_equal(&c0, &c1);
	assert_int_equal(tg_store_cert_get(f->st, id, &got, &err), 0);
	assert_string_equal(got.cert_path, "/state/certs/new.pem");
	tg_clock_set(0);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_put_list_replace_remove),
		T(test_expiry_and_purge),
		T(test_bad_input),
		T(test_readonly),
		T(test_cert_set_file),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
