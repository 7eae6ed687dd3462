/*
 * store/store_cert — certificates and the state of their TLSA records.
 * See store.h. The files themselves (certificate chain, private key)
 * live under the state directory; a row only names them.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

#include "util/clock.h"

#define CERT_COLS							\
	"id, name, role, cert_path, key_path, spki_sha256, not_before,"	\
	" not_after, state, tlsa_state, tlsa_published_at, created, updated,"\
	" tlsa_visible_at, state_since"

/* Check c and write the normalised certificate into n. */
static int
cert_check(const struct tg_store_cert *c, struct tg_store_cert *n,
    struct tg_err *err)
{
	memset(n, 0, sizeof(*n));
	if (memchr(c->name, '\0', sizeof(c->name)) == NULL ||
	    memchr(c->cert_path, '\0', sizeof(c->cert_path)) == NULL ||
	    memchr(c->key_path, '\0', sizeof(c->key_path)) == NULL ||
	    memchr(c->spki_sha256, '\0', sizeof(c->spki_sha256)) == NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "certificate: a text field is not NUL-terminated");
	if (tg_store_check_hostname("name", c->name, n->name, sizeof(n->name),
	    err) != 0 ||
	    tg_store_check_path("cert_path", c->cert_path, err) != 0 ||
	    tg_store_check_path("key_path", c->key_path, err) != 0 ||
	    tg_store_check_spki(c->spki_sha256, n->spki_sha256, err) != 0)
		return -1;
	if ((int)c->role < TG_STORE_CERT_MX || c->role > TG_STORE_CERT_ADMIN)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "role: invalid value %d", (int)c->role);
	if ((int)c->state < TG_STORE_CERT_NEXT ||
	    c->state > TG_STORE_CERT_RETIRED)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "state: invalid value %d", (int)c->state);
	if ((int)c->tlsa_state < TG_STORE_TLSA_NONE ||
	    c->tlsa_state > TG_STORE_TLSA_REMOVED)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "tlsa_state: invalid value %d", (int)c->tlsa_state);
	if (c->not_after < c->not_before)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "not_after: before not_before");
	memcpy(n->cert_path, c->cert_path, sizeof(n->cert_path));
	memcpy(n->key_path, c->key_path, sizeof(n->key_path));
	n->role = c->role;
	n->state = c->state;
	n->tlsa_state = c->tlsa_state;
	n->not_before = c->not_before;
	n->not_after = c->not_after;
	return 0;
}

/* The message for a violation of certificates_one_current. */
static void
cert_current_taken(const struct tg_store_cert *n, char *msg, size_t len)
{
	snprintf(msg, len, "another %s certificate for %s is already current "
	    "(promote this one instead)", tg_store_cert_role_name(n->role),
	    n->name);
}

int
tg_store_cert_add(struct tg_store *st, const struct tg_store_cert *c,
    int64_t *id, struct tg_err *err)
{
	struct tg_store_cert n;
	char dup[TG_DNAME_MAX + 96];
	sqlite3_stmt *s;
	time_t now = tg_clock_now();
	int r;

	tg_err_clear(err);
	if (cert_check(c, &n, err) != 0)
		return -1;
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	cert_current_taken(&n, dup, sizeof(dup));
	r = tg_db_prepare(st->db, "INSERT INTO certificates (name, role,"
	    " cert_path, key_path, spki_sha256, not_before, not_after, state,"
	    " tlsa_state, tlsa_published_at, created, updated, state_since)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11,"
	    " ?11)", &s, err);
	if (r == 0)
		r = tg_store_run(st, s, tg_db_bind_text(s, 1, n.name) |
		    tg_db_bind_text(s, 2, tg_store_cert_role_name(n.role)) |
		    tg_db_bind_text(s, 3, n.cert_path) |
		    tg_db_bind_text(s, 4, n.key_path) |
		    tg_db_bind_text(s, 5, n.spki_sha256) |
		    sqlite3_bind_int64(s, 6, (sqlite3_int64)n.not_before) |
		    sqlite3_bind_int64(s, 7, (sqlite3_int64)n.not_after) |
		    tg_db_bind_text(s, 8, tg_store_cert_state_name(n.state)) |
		    tg_db_bind_text(s, 9,
		    tg_store_tlsa_state_name(n.tlsa_state)) |
		    sqlite3_bind_int64(s, 10, n.tlsa_state ==
		    TG_STORE_TLSA_NONE ? 0 : (sqlite3_int64)now) |
		    sqlite3_bind_int64(s, 11, (sqlite3_int64)now), dup, err);
	if (r == 0 && id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	if (r == TG_STORE_NOTFOUND)
		r = tg_err_set(err, TG_ERR_BUG, NULL, "insert changed no row");
	return tg_store_write_end(st, r, err);
}

static int
cert_row(sqlite3_stmt *s, void *rec, struct tg_err *err)
{
	struct tg_store_cert *c = rec;
	int role, state, tlsa;

	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(s, 0);
	if (tg_db_column_text(s, 1, c->name, sizeof(c->name), err) != 0 ||
	    tg_store_column_enum(s, 2, &tg_store_enum_cert_role, &role,
	    err) != 0 ||
	    tg_db_column_text(s, 3, c->cert_path, sizeof(c->cert_path),
	    err) != 0 ||
	    tg_db_column_text(s, 4, c->key_path, sizeof(c->key_path),
	    err) != 0 ||
	    tg_db_column_text(s, 5, c->spki_sha256, sizeof(c->spki_sha256),
	    err) != 0 ||
	    tg_store_column_enum(s, 8, &tg_store_enum_cert_state, &state,
	    err) != 0 ||
	    tg_store_column_enum(s, 9, &tg_store_enum_tlsa_state, &tlsa,
	    err) != 0)
		return -1;
	c->role = (enum tg_store_cert_role)role;
	c->state = (enum tg_store_cert_state)state;
	c->tlsa_state = (enum tg_store_tlsa_state)tlsa;
	c->not_before = (time_t)sqlite3_column_int64(s, 6);
	c->not_after = (time_t)sqlite3_column_int64(s, 7);
	c->tlsa_published_at = (time_t)sqlite3_column_int64(s, 10);
	c->created = (time_t)sqlite3_column_int64(s, 11);
	c->updated = (time_t)sqlite3_column_int64(s, 12);
	c->tlsa_visible_at = (time_t)sqlite3_column_int64(s, 13);
	c->state_since = (time_t)sqlite3_column_int64(s, 14);
	return 0;
}

/* cert_get without its own error clearing, for use inside writes. */
static int
cert_fetch(struct tg_store *st, int64_t id, struct tg_store_cert *out,
    struct tg_err *err)
{
	sqlite3_stmt *s;

	if (tg_db_prepare(st->db, "SELECT " CERT_COLS " FROM certificates"
	    " WHERE id = ?1", &s, err) != 0)
		return -1;
	return tg_store_one(st, s, sqlite3_bind_int64(s, 1, id), cert_row, out,
	    err);
}

int
tg_store_cert_get(struct tg_store *st, int64_t id, struct tg_store_cert *out,
    struct tg_err *err)
{
	tg_err_clear(err);
	return cert_fetch(st, id, out, err);
}

/* UPDATE certificates SET state: the caller holds the write lock. */
static int
cert_write_state(struct tg_store *st, const struct tg_store_cert *c,
    enum tg_store_cert_state state, struct tg_err *err)
{
	char dup[TG_DNAME_MAX + 96];
	sqlite3_stmt *s;

	if (tg_db_prepare(st->db, "UPDATE certificates SET state = ?2,"
	    " state_since = CASE WHEN state <> ?2 THEN ?3 ELSE state_since"
	    " END, updated = ?3 WHERE id = ?1", &s, err) != 0)
		return -1;
	cert_current_taken(c, dup, sizeof(dup));
	return tg_store_run(st, s, sqlite3_bind_int64(s, 1, c->id) |
	    tg_db_bind_text(s, 2, tg_store_cert_state_name(state)) |
	    sqlite3_bind_int64(s, 3, (sqlite3_int64)tg_clock_now()), dup, err);
}

int
tg_store_cert_set_state(struct tg_store *st, int64_t id,
    enum tg_store_cert_state state, struct tg_err *err)
{
	struct tg_store_cert c;
	int r;

	tg_err_clear(err);
	if ((int)state < TG_STORE_CERT_NEXT || state > TG_STORE_CERT_RETIRED)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "state: invalid value %d", (int)state);
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	r = cert_fetch(st, id, &c, err);
	if (r == 0)
		r = cert_write_state(st, &c, state, err);
	return tg_store_write_end(st, r, err);
}

int
tg_store_cert_promote(struct tg_store *st, int64_t id, struct tg_err *err)
{
	struct tg_store_cert c;
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	r = cert_fetch(st, id, &c, err);
	if (r == 0)
		r = tg_db_prepare(st->db, "UPDATE certificates SET state ="
		    " 'retired', state_since = ?4, updated = ?4 WHERE name = ?1"
		    " AND role = ?2 AND state = 'current' AND id <> ?3", &s,
		    err);
	if (r == 0) {
		r = tg_store_run(st, s, tg_db_bind_text(s, 1, c.name) |
		    tg_db_bind_text(s, 2, tg_store_cert_role_name(c.role)) |
		    sqlite3_bind_int64(s, 3, id) |
		    sqlite3_bind_int64(s, 4, (sqlite3_int64)tg_clock_now()),
		    NULL, err);
		if (r == TG_STORE_NOTFOUND)
			r = 0;		/* nothing was current: fine */
	}
	if (r == 0)
		r = cert_write_state(st, &c, TG_STORE_CERT_CURRENT, err);
	return tg_store_write_end(st, r, err);
}

int
tg_store_cert_set_tlsa_state(struct tg_store *st, int64_t id,
    enum tg_store_tlsa_state tlsa_state, struct tg_err *err)
{
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if ((int)tlsa_state < TG_STORE_TLSA_NONE ||
	    tlsa_state > TG_STORE_TLSA_REMOVED)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "tlsa_state: invalid value %d", (int)tlsa_state);
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	/* The publication time is when it entered 'published', not when
	 * the state was last written. */
	r = tg_db_prepare(st->db, "UPDATE certificates SET tlsa_state = ?2,"
	    " tlsa_published_at = CASE WHEN ?2 = 'published' AND"
	    " tlsa_state <> 'published' THEN ?3 ELSE tlsa_published_at END,"
	    " tlsa_visible_at = CASE WHEN ?2 = 'visible' AND"
	    " tlsa_state <> 'visible' THEN ?3 ELSE tlsa_visible_at END,"
	    " updated = ?3 WHERE id = ?1", &s, err);
	if (r == 0)
		r = tg_store_run(st, s, sqlite3_bind_int64(s, 1, id) |
		    tg_db_bind_text(s, 2,
		    tg_store_tlsa_state_name(tlsa_state)) |
		    sqlite3_bind_int64(s, 3, (sqlite3_int64)tg_clock_now()),
		    NULL, err);
	return tg_store_write_end(st, r, err);
}

/* The UPDATE of tg_store_cert_set_file: the caller holds the write lock
 * and has checked the row's key. */
static int
cert_write_file(struct tg_store *st, int64_t id, const char *cert_path,
    time_t not_before, time_t not_after, struct tg_err *err)
{
	sqlite3_stmt *s;

	if (tg_db_prepare(st->db, "UPDATE certificates SET cert_path = ?2,"
	    " not_before = ?3, not_after = ?4, updated = ?5 WHERE id = ?1",
	    &s, err) != 0)
		return -1;
	return tg_store_run(st, s, sqlite3_bind_int64(s, 1, id) |
	    tg_db_bind_text(s, 2, cert_path) |
	    sqlite3_bind_int64(s, 3, (sqlite3_int64)not_before) |
	    sqlite3_bind_int64(s, 4, (sqlite3_int64)not_after) |
	    sqlite3_bind_int64(s, 5, (sqlite3_int64)tg_clock_now()), NULL,
	    err);
}

int
tg_store_cert_set_file(struct tg_store *st, int64_t id,
    const char *cert_path, const char *spki_sha256, time_t not_before,
    time_t not_after, struct tg_err *err)
{
	struct tg_store_cert c;
	char spki[65];
	int r;

	tg_err_clear(err);
	if (cert_path == NULL || spki_sha256 == NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "certificate: path or key digest missing");
	if (tg_store_check_path("cert_path", cert_path, err) != 0 ||
	    tg_store_check_spki(spki_sha256, spki, err) != 0)
		return -1;
	if (not_after < not_before)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "not_after: before not_before");
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	r = cert_fetch(st, id, &c, err);
	/* The row's TLSA records name its key (DANE 3 1 1): a file with
	 * another key would make them wrong behind the rollover's back. */
	if (r == 0 && strcmp(c.spki_sha256, spki) != 0)
		r = tg_err_set(err, TG_ERR_PERM, NULL,
		    "the new certificate has another key (certificate %lld "
		    "is for %.16s..., the file's is %.16s...)", (long long)id,
		    c.spki_sha256, spki);
	if (r == 0)
		r = cert_write_file(st, id, cert_path, not_before, not_after,
		    err);
	return tg_store_write_end(st, r, err);
}

int
tg_store_cert_remove(struct tg_store *st, int64_t id, struct tg_err *err)
{
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	r = tg_db_prepare(st->db, "DELETE FROM certificates WHERE id = ?1", &s,
	    err);
	if (r == 0)
		r = tg_store_run(st, s, sqlite3_bind_int64(s, 1, id), NULL,
		    err);
	return tg_store_write_end(st, r, err);
}

struct cert_list {
	tg_store_cert_fn fn;
	void *arg;
};

static int
cert_list_row(struct tg_store *st, sqlite3_stmt *s, void *ctx,
    struct tg_err *err)
{
	struct cert_list *l = ctx;
	struct tg_store_cert c;

	(void)st;
	if (cert_row(s, &c, err) != 0)
		return -1;
	return l->fn(&c, l->arg) != 0;
}

int
tg_store_cert_list(struct tg_store *st, const char *name, int role,
    tg_store_cert_fn fn, void *arg, struct tg_err *err)
{
	char norm[TG_DNAME_MAX + 1];
	struct cert_list l = { fn, arg };
	sqlite3_stmt *s;
	int rc;

	tg_err_clear(err);
	if (name != NULL && tg_store_check_hostname("name", name, norm,
	    sizeof(norm), err) != 0)
		return -1;
	if (role < -1 || role > TG_STORE_CERT_ADMIN)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "role: invalid value %d", role);
	if (tg_db_prepare(st->db, "SELECT " CERT_COLS " FROM certificates"
	    " WHERE (?1 IS NULL OR name = ?1) AND (?2 IS NULL OR role = ?2)"
	    " ORDER BY name, role, id", &s, err) != 0)
		return -1;
	rc = name != NULL ? tg_db_bind_text(s, 1, norm) :
	    sqlite3_bind_null(s, 1);
	rc |= role >= 0 ? tg_db_bind_text(s, 2, tg_store_cert_role_name(
	    (enum tg_store_cert_role)role)) : sqlite3_bind_null(s, 2);
	return tg_store_each(st, s, rc, cert_list_row, &l, err);
}
