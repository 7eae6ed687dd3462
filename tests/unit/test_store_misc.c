/*
 * Unit tests of the store's smaller tables: relay networks, destination
 * policies, certificates and admin users — round trips, refused inputs
 * (store unchanged), duplicates, not found, SQL metacharacters kept
 * verbatim, oversized values, and the certificate rollover rules.
 */
#include "test_store_util.h"

#include "util/clock.h"

static const char sql_note[] = "'; DROP TABLE relay_networks;--";

struct relay_seen {
	int n;
	struct tg_store_relay_net last;
};

static int
relay_collect(const struct tg_store_relay_net *n, void *arg)
{
	struct relay_seen *r = arg;

	r->n++;
	r->last = *n;
	return 0;
}

static void
test_relay_networks(void **state)
{
	struct fx *f = *state;
	struct relay_seen seen = { 0 };
	struct census before, after;
	struct tg_err err;

	tg_clock_set(5000);
	assert_int_equal(tg_store_relay_add(f->st, "192.0.2.0/24", "office",
	    &err), 0);
	assert_int_equal(tg_store_relay_add(f->st, "2001:DB8:0:0::/48",
	    sql_note, &err), 0);
	assert_int_equal(tg_store_relay_list(f->st, relay_collect, &seen,
	    &err), 0);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.last.cidr, "2001:db8::/48");
	assert_string_equal(seen.last.note, sql_note);
	assert_int_equal(seen.last.created, 5000);
	tg_clock_set(0);
	take_census(f->st, &before);
	/* The same network in another spelling is a duplicate. */
	assert_int_equal(tg_store_relay_add(f->st, "2001:db8::/48", NULL,
	    &err), -1);
	assert_int_equal(err.cls, TG_ERR_PERM);
	assert_string_equal(err.msg,
	    "relay network 2001:db8::/48 already exists");
	assert_int_equal(tg_store_relay_add(f->st, "192.0.2.1/24", NULL, &err),
	    -1);
	assert_perm_msg(err, "cidr: '192.0.2.1/24' has host bits set; the "
	    "network is 192.0.2.0/24");
	assert_int_equal(tg_store_relay_add(f->st, "not-a-net", NULL, &err),
	    -1);
	assert_perm_msg(err, "cidr:");
	assert_int_equal(tg_store_relay_add(f->st, "198.51.100.0/24",
	    "bell\a", &err), -1);
	assert_perm_msg(err, "note: control character");
	assert_int_equal(tg_store_relay_remove(f->st, "203.0.113.0/24", &err),
	    TG_STORE_NOTFOUND);
	assert_int_equal(tg_store_relay_remove(f->st, "bogus", &err), -1);
	take_census(f->st, &after);
	assert_census_equal(&before, &after);
	assert_int_equal(tg_store_relay_remove(f->st, "2001:db8:0::/48", &err),
	    0);
	take_census(f->st, &after);
	assert_int_equal(after.relays, 1);
}

/* Notes: bounded, UTF-8, no control characters (C0, DEL or C1). */
static void
test_note_rules(void **state)
{
	static const struct {
		const char *note;
		const char *msg;	/* NULL: accepted */
	} cases[] = {
		{ "", NULL },
		{ "Büro Zürich — 2. Stock", NULL },
		{ "<script>alert(1)</script>", NULL },
		{ "\"quoted\" and 'single' and `back`", NULL },
		{ "line\nbreak", "note: control character at byte 4" },
		{ "esc\x1b[31m", "note: control character at byte 3" },
		{ "del\x7f", "note: control character" },
		{ "c1 \xc2\x9b" "31m", "note: control character at byte 3" },
		{ "bad \xff utf8", "note: not valid UTF-8 at byte 4" },
		{ "overlong \xc0\xaf", "note: not valid UTF-8" },
		{ "surrogate \xed\xa0\x80", "note: not valid UTF-8" },
		{ "truncated \xe2\x82", "note: not valid UTF-8" },
	};
	struct fx *f = *state;
	struct tg_store_dest_policy p;
	struct tg_err err;
	char *big;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = tg_store_dest_set(f->st, "example.org",
		    TG_STORE_DEST_MAY, cases[i].note, &err);

		if (cases[i].msg == NULL) {
			if (rc != 0)
				fail_msg("'%s' refused: %s", cases[i].note,
				    err.msg);
			assert_int_equal(tg_store_dest_get(f->st, "example.org",
			    &p, &err), 0);
			assert_string_equal(p.note, cases[i].note);
			continue;
		}
		assert_int_equal(rc, -1);
		assert_perm_msg(err, cases[i].msg);
	}
	/* 1 MiB is refused before anything is allocated or bound. */
	big = malloc(1024 * 1024 + 1);
	assert_non_null(big);
	memset(big, 'x', 1024 * 1024);
	big[1024 * 1024] = '\0';
	assert_int_equal(tg_store_relay_add(f->st, "192.0.2.0/24", big, &err),
	    -1);
	assert_perm_msg(err, "note: longer than 256 bytes");
	big[TG_STORE_NOTE_MAX] = '\0';
	assert_int_equal(tg_store_relay_add(f->st, "192.0.2.0/24", big, &err),
	    0);
	free(big);
}

static int
dest_collect(const struct tg_store_dest_policy *p, void *arg)
{
	char *out = arg;

	strcat(out, p->domain);
	strcat(out, "=");
	strcat(out, tg_store_dest_mode_name(p->mode));
	strcat(out, " ");
	return 0;
}

static void
test_dest_policies(void **state)
{
	struct fx *f = *state;
	struct tg_store_dest_policy p;
	struct census before, after;
	struct tg_err err;
	enum tg_store_dest_mode m;
	char seen[256] = "";

	tg_clock_set(100);
	assert_int_equal(tg_store_dest_set(f->st, "Bank.Example",
	    TG_STORE_DEST_DANE_ONLY, sql_note, &err), 0);
	tg_clock_set(200);
	/* Set again: replaced, created kept. */
	assert_int_equal(tg_store_dest_set(f->st, "bank.example",
	    TG_STORE_DEST_ENCRYPT, "partner", &err), 0);
	assert_int_equal(tg_store_dest_get(f->st, "BANK.example.", &p, &err),
	    0);
	assert_string_equal(p.domain, "bank.example");
	assert_int_equal(p.mode, TG_STORE_DEST_ENCRYPT);
	assert_string_equal(p.note, "partner");
	assert_int_equal(p.created, 100);
	assert_int_equal(p.updated, 200);
	tg_clock_set(0);
	assert_int_equal(tg_store_dest_set(f->st, "a.example",
	    TG_STORE_DEST_MAY, NULL, &err), 0);
	assert_int_equal(tg_store_dest_list(f->st, dest_collect, seen, &err),
	    0);
	assert_string_equal(seen, "a.example=may bank.example=encrypt ");
	take_census(f->st, &before);
	assert_int_equal(tg_store_dest_set(f->st, "bank.example",
	    (enum tg_store_dest_mode)3, NULL, &err), -1);
	assert_perm_msg(err, "mode: invalid value 3");
	assert_int_equal(tg_store_dest_set(f->st, "bank_x.example",
	    TG_STORE_DEST_MAY, NULL, &err), -1);
	assert_perm_msg(err, "domain: invalid domain name");
	assert_int_equal(tg_store_dest_get(f->st, "none.example", &p, &err),
	    TG_STORE_NOTFOUND);
	assert_int_equal(tg_store_dest_remove(f->st, "none.example", &err),
	    TG_STORE_NOTFOUND);
	take_census(f->st, &after);
	assert_census_equal(&before, &after);
	assert_int_equal(tg_store_dest_remove(f->st, "bank.example", &err), 0);
	assert_int_equal(tg_store_dest_get(f->st, "bank.example", &p, &err),
	    TG_STORE_NOTFOUND);
	/* Names of the modes, both ways. */
	assert_int_equal(tg_store_dest_mode_parse("dane-only", &m, &err), 0);
	assert_int_equal(m, TG_STORE_DEST_DANE_ONLY);
	assert_int_equal(tg_store_dest_mode_parse("dane", &m, &err), -1);
	assert_perm_msg(err, "mode: 'dane' is not one of may, encrypt, "
	    "dane-only");
}

static void
make_cert(struct tg_store_cert *c, const char *name, char spki)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->role = TG_STORE_CERT_MX;
	snprintf(c->cert_path, sizeof(c->cert_path), "/var/lib/tlsgate/certs/"
	    "%s-%c.pem", name, spki);
	snprintf(c->key_path, sizeof(c->key_path), "/var/lib/tlsgate/keys/"
	    "%s-%c.key", name, spki);
	memset(c->spki_sha256, spki, 64);
	c->not_before = 1000;
	c->not_after = 2000;
	c->state = TG_STORE_CERT_NEXT;
}

static void
test_cert_round_trip(void **state)
{
	struct fx *f = *state;
	struct tg_store_cert c, got;
	struct tg_err err;
	int64_t id;

	tg_clock_set(7000);
	make_cert(&c, "MX.Example.org", 'A');
	c.role = TG_STORE_CERT_STS;
	c.state = TG_STORE_CERT_CURRENT;
	c.tlsa_state = TG_STORE_TLSA_VISIBLE;
	assert_int_equal(tg_store_cert_add(f->st, &c, &id, &err), 0);
	assert_true(id > 0);
	assert_int_equal(tg_store_cert_get(f->st, id, &got, &err), 0);
	assert_int_equal(got.id, id);
	assert_string_equal(got.name, "mx.example.org");
	assert_int_equal(got.role, TG_STORE_CERT_STS);
	assert_string_equal(got.cert_path,
	    "/var/lib/tlsgate/certs/MX.Example.org-A.pem");
	assert_string_equal(got.key_path,
	    "/var/lib/tlsgate/keys/MX.Example.org-A.key");
	assert_string_equal(got.spki_sha256,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_int_equal(got.not_before, 1000);
	assert_int_equal(got.not_after, 2000);
	assert_int_equal(got.state, TG_STORE_CERT_CURRENT);
	assert_int_equal(got.tlsa_state, TG_STORE_TLSA_VISIBLE);
	assert_int_equal(got.tlsa_published_at, 7000);
	assert_int_equal(got.created, 7000);
	assert_int_equal(got.updated, 7000);
	assert_int_equal(tg_store_cert_get(f->st, id + 1, &got, &err),
	    TG_STORE_NOTFOUND);
	tg_clock_set(0);
}

static void
test_cert_bad_input(void **state)
{
	struct fx *f = *state;
	struct tg_store_cert c;
	struct census before, after;
	struct tg_err err;

	take_census(f->st, &before);
#define BAD(change, want) do {						\
	make_cert(&c, "mx.example.org", 'b');				\
	change;								\
	assert_int_equal(tg_store_cert_add(f->st, &c, NULL, &err), -1);	\
	assert_perm_msg(err, want);					\
} while (0)
	BAD(c.name[0] = '\0', "name: empty domain name");
	BAD(snprintf(c.cert_path, sizeof(c.cert_path), "certs/x.pem"),
	    "cert_path: not an absolute path");
	BAD(c.key_path[5] = '\n', "key_path: control character at byte 5");
	BAD(c.spki_sha256[10] = 'g', "spki_sha256: not 64 hexadecimal");
	BAD(c.spki_sha256[63] = '\0', "spki_sha256: not 64 hexadecimal");
	BAD(c.role = (enum tg_store_cert_role)3, "role: invalid value 3");
	BAD(c.state = (enum tg_store_cert_state)-1, "state: invalid value -1");
	BAD(c.tlsa_state = (enum tg_store_tlsa_state)5,
	    "tlsa_state: invalid value 5");
	BAD(c.not_after = 999, "not_after: before not_before");
	BAD(memset(c.cert_path, 'a', sizeof(c.cert_path)),
	    "not NUL-terminated");
#undef BAD
	assert_int_equal(tg_store_cert_set_state(f->st, 1,
	    (enum tg_store_cert_state)9, &err), -1);
	assert_int_equal(tg_store_cert_set_state(f->st, 99,
	    TG_STORE_CERT_RETIRED, &err), TG_STORE_NOTFOUND);
	assert_int_equal(tg_store_cert_promote(f->st, 99, &err),
	    TG_STORE_NOTFOUND);
	assert_int_equal(tg_store_cert_set_tlsa_state(f->st, 99,
	    TG_STORE_TLSA_REMOVED, &err), TG_STORE_NOTFOUND);
	assert_int_equal(tg_store_cert_remove(f->st, 99, &err),
	    TG_STORE_NOTFOUND);
	take_census(f->st, &after);
	assert_census_equal(&before, &after);
}

/* Rollover: one current per name and role; promote swaps atomically. */
static void
test_cert_rollover(void **state)
{
	struct fx *f = *state;
	struct tg_store_cert c, got;
	struct census before, after;
	struct tg_err err;
	int64_t old_id, new_id, sts_id;

	make_cert(&c, "mx.example.org", 'a');
	c.state = TG_STORE_CERT_CURRENT;
	assert_int_equal(tg_store_cert_add(f->st, &c, &old_id, &err), 0);
	/* Another role of the same name may be current at the same time. */
	make_cert(&c, "mx.example.org", 'c');
	c.role = TG_STORE_CERT_STS;
	c.state = TG_STORE_CERT_CURRENT;
	assert_int_equal(tg_store_cert_add(f->st, &c, &sts_id, &err), 0);
	make_cert(&c, "mx.example.org", 'b');
	assert_int_equal(tg_store_cert_add(f->st, &c, &new_id, &err), 0);
	take_census(f->st, &before);
	/* A second current one is refused, as an add and as a state change. */
	make_cert(&c, "mx.example.org", 'd');
	c.state = TG_STORE_CERT_CURRENT;
	assert_int_equal(tg_store_cert_add(f->st, &c, NULL, &err), -1);
	assert_perm_msg(err, "another mx certificate for mx.example.org is "
	    "already current");
	assert_int_equal(tg_store_cert_set_state(f->st, new_id,
	    TG_STORE_CERT_CURRENT, &err), -1);
	assert_perm_msg(err, "already current");
	take_census(f->st, &after);
	assert_census_equal(&before, &after);
	tg_clock_set(4000);
	assert_int_equal(tg_store_cert_promote(f->st, new_id, &err), 0);
	assert_int_equal(tg_store_cert_get(f->st, new_id, &got, &err), 0);
	assert_int_equal(got.state, TG_STORE_CERT_CURRENT);
	assert_int_equal(got.state_since, 4000);
	/* The rollover keeps the old record one TTL from this moment. */
	assert_int_equal(tg_store_cert_get(f->st, old_id, &got, &err), 0);
	assert_int_equal(got.state, TG_STORE_CERT_RETIRED);
	assert_int_equal(got.state_since, 4000);
	assert_int_equal(tg_store_cert_get(f->st, sts_id, &got, &err), 0);
	assert_int_equal(got.state, TG_STORE_CERT_CURRENT);
	/* Promoting the current one again changes nothing but the time. */
	tg_clock_set(5000);
	assert_int_equal(tg_store_cert_promote(f->st, new_id, &err), 0);
	assert_int_equal(tg_store_cert_get(f->st, new_id, &got, &err), 0);
	assert_int_equal(got.state, TG_STORE_CERT_CURRENT);
	assert_int_equal(got.state_since, 4000);
	tg_clock_set(0);
}

static void
test_cert_tlsa_published_at(void **state)
{
	struct fx *f = *state;
	struct tg_store_cert c, got;
	struct tg_err err;
	int64_t id;
	enum tg_store_tlsa_state t;

	make_cert(&c, "mx.example.org", 'e');
	tg_clock_set(100);
	assert_int_equal(tg_store_cert_add(f->st, &c, &id, &err), 0);
	assert_int_equal(tg_store_cert_get(f->st, id, &got, &err), 0);
	assert_int_equal(got.tlsa_published_at, 0);
	tg_clock_set(200);
	assert_int_equal(tg_store_cert_set_tlsa_state(f->st, id,
	    TG_STORE_TLSA_PUBLISHED, &err), 0);
	tg_clock_set(300);
	/* Re-entering 'published' does not move the publication time. */
	assert_int_equal(tg_store_cert_set_tlsa_state(f->st, id,
	    TG_STORE_TLSA_PUBLISHED, &err), 0);
	assert_int_equal(tg_store_cert_set_tlsa_state(f->st, id,
	    TG_STORE_TLSA_VISIBLE, &err), 0);
	assert_int_equal(tg_store_cert_get(f->st, id, &got, &err), 0);
	assert_int_equal(got.tlsa_state, TG_STORE_TLSA_VISIBLE);
	assert_int_equal(got.tlsa_published_at, 200);
	assert_int_equal(got.tlsa_visible_at, 300);
	assert_int_equal(got.updated, 300);
	assert_int_equal(got.state_since, 100);
	/* The rollover's clocks: visible since, retired since. */
	tg_clock_set(400);
	assert_int_equal(tg_store_cert_set_tlsa_state(f->st, id,
	    TG_STORE_TLSA_VISIBLE, &err), 0);
	assert_int_equal(tg_store_cert_set_state(f->st, id,
	    TG_STORE_CERT_RETIRED, &err), 0);
	assert_int_equal(tg_store_cert_get(f->st, id, &got, &err), 0);
	assert_int_equal(got.tlsa_visible_at, 300);
	assert_int_equal(got.state_since, 400);
	tg_clock_set(0);
	assert_int_equal(tg_store_tlsa_state_parse("retiring", &t, &err), 0);
	assert_int_equal(t, TG_STORE_TLSA_RETIRING);
	assert_string_equal(tg_store_tlsa_state_name(TG_STORE_TLSA_REMOVED),
	    "removed");
}

struct cert_seen {
	int n;
	char ids[128];
};

static int
cert_collect(const struct tg_store_cert *c, void *arg)
{
	struct cert_seen *s = arg;
	size_t len = strlen(s->ids);

	s->n++;
	snprintf(s->ids + len, sizeof(s->ids) - len, "%s/%s ", c->name,
	    tg_store_cert_role_name(c->role));
	return 0;
}

static void
test_cert_list_filters(void **state)
{
	struct fx *f = *state;
	struct tg_store_cert c;
	struct cert_seen seen;
	struct tg_err err;

	make_cert(&c, "mx.example.org", 'a');
	assert_int_equal(tg_store_cert_add(f->st, &c, NULL, &err), 0);
	c.role = TG_STORE_CERT_STS;
	assert_int_equal(tg_store_cert_add(f->st, &c, NULL, &err), 0);
	make_cert(&c, "admin.example.org", 'b');
	c.role = TG_STORE_CERT_ADMIN;
	assert_int_equal(tg_store_cert_add(f->st, &c, NULL, &err), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(tg_store_cert_list(f->st, NULL, -1, cert_collect,
	    &seen, &err), 0);
	assert_string_equal(seen.ids, "admin.example.org/admin "
	    "mx.example.org/mx mx.example.org/sts ");
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(tg_store_cert_list(f->st, "MX.example.org", -1,
	    cert_collect, &seen, &err), 0);
	assert_int_equal(seen.n, 2);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(tg_store_cert_list(f->st, NULL, TG_STORE_CERT_STS,
	    cert_collect, &seen, &err), 0);
	assert_string_equal(seen.ids, "mx.example.org/sts ");
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(tg_store_cert_list(f->st, "admin.example.org",
	    TG_STORE_CERT_MX, cert_collect, &seen, &err), 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(tg_store_cert_list(f->st, NULL, 7, cert_collect,
	    &seen, &err), -1);
	assert_perm_msg(err, "role: invalid value 7");
	/* A certificate's name is a host name: one label is allowed (the
	 * console's "localhost"), bad characters are not. */
	make_cert(&c, "LocalHost", 'c');
	c.role = TG_STORE_CERT_ADMIN;
	assert_int_equal(tg_store_cert_add(f->st, &c, NULL, &err), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(tg_store_cert_list(f->st, "localhost",
	    TG_STORE_CERT_ADMIN, cert_collect, &seen, &err), 0);
	assert_string_equal(seen.ids, "localhost/admin ");
	make_cert(&c, "local_host", 'd');
	assert_int_equal(tg_store_cert_add(f->st, &c, NULL, &err), -1);
	assert_perm_msg(err, "name");
}

static void
test_admin_users(void **state)
{
	struct fx *f = *state;
	struct tg_store_admin a;
	struct census before, after;
	struct tg_err err;
	const char *hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA";

	tg_clock_set(50);
	assert_int_equal(tg_store_admin_add(f->st, "Alice@Example.org", hash,
	    &err), 0);
	tg_clock_set(0);
	assert_int_equal(tg_store_admin_get(f->st, "alice@example.org", &a,
	    &err), 0);
	assert_string_equal(a.username, "alice@example.org");
	assert_string_equal(a.password_hash, hash);
	assert_int_equal(a.created, 50);
	assert_int_equal(a.last_login, 0);
	assert_int_equal(tg_store_admin_set_last_login(f->st,
	    "ALICE@example.org", 12345, &err), 0);
	assert_int_equal(tg_store_admin_set_hash(f->st, "alice@example.org",
	    "$scrypt$ln=17,r=8,p=1$x$y", &err), 0);
	assert_int_equal(tg_store_admin_get(f->st, "alice@example.org", &a,
	    &err), 0);
	assert_int_equal(a.last_login, 12345);
	assert_string_equal(a.password_hash, "$scrypt$ln=17,r=8,p=1$x$y");
	take_census(f->st, &before);
	assert_int_equal(tg_store_admin_add(f->st, "alice@example.org", hash,
	    &err), -1);
	assert_int_equal(err.cls, TG_ERR_PERM);
	assert_string_equal(err.msg,
	    "admin user alice@example.org already exists");
	assert_int_equal(tg_store_admin_add(f->st, "bob smith", hash, &err),
	    -1);
	assert_perm_msg(err, "username: only letters");
	assert_int_equal(tg_store_admin_add(f->st, "o'brien", hash, &err), -1);
	assert_perm_msg(err, "username:");
	assert_int_equal(tg_store_admin_add(f->st, "", hash, &err), -1);
	assert_perm_msg(err, "username: must be 1 to 64");
	assert_int_equal(tg_store_admin_add(f->st, "bob", "plaintext", &err),
	    -1);
	assert_perm_msg(err, "password_hash: not a PHC string");
	assert_int_equal(tg_store_admin_add(f->st, "bob", "$a b", &err), -1);
	assert_perm_msg(err, "password_hash: character at byte 2");
	assert_int_equal(tg_store_admin_set_hash(f->st, "bob", hash, &err),
	    TG_STORE_NOTFOUND);
	assert_int_equal(tg_store_admin_set_last_login(f->st, "bob", 1, &err),
	    TG_STORE_NOTFOUND);
	assert_int_equal(tg_store_admin_get(f->st, "bob", &a, &err),
	    TG_STORE_NOTFOUND);
	assert_int_equal(tg_store_admin_remove(f->st, "bob", &err),
	    TG_STORE_NOTFOUND);
	take_census(f->st, &after);
	assert_census_equal(&before, &after);
	assert_int_equal(tg_store_admin_remove(f->st, "Alice@example.org",
	    &err), 0);
	take_census(f->st, &after);
	assert_int_equal(after.admins, 0);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_relay_networks),
		T(test_note_rules),
		T(test_dest_policies),
		T(test_cert_round_trip),
		T(test_cert_bad_input),
		T(test_cert_rollover),
		T(test_cert_tlsa_published_at),
		T(test_cert_list_filters),
		T(test_admin_users),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
