/*
 * store/store_domain — hosted domains and their MTA-STS mx patterns.
 * See store.h. A domain is one row of domains plus its ordered rows of
 * domain_sts_mx (removed with it by ON DELETE CASCADE).
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

#include "util/clock.h"

#define DOMAIN_COLS							\
	"id, name, inbound_route, sts_mode, sts_max_age,"		\
	" sts_policy_id, sts_policy_changed, tlsrpt_rua, created, updated"

void
tg_store_domain_init(struct tg_store_domain *d)
{
	memset(d, 0, sizeof(*d));
	d->sts_mode = TG_STORE_STS_OFF;
	d->sts_max_age = TG_STORE_STS_MAX_AGE_DEFAULT;
}

/* A caller's fixed-size field must hold a NUL before we read it. */
static int
field_ok(const char *field, const char *buf, size_t size, struct tg_err *err)
{
	if (memchr(buf, '\0', size) == NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s: not NUL-terminated", field);
	return 0;
}

static int
domain_check_mx(const struct tg_store_domain *d, struct tg_store_domain *n,
    struct tg_err *err)
{
	size_t i, j;

	if (d->sts_mx_count > TG_STS_MX_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "sts_mx: more than %d patterns", TG_STS_MX_MAX);
	for (i = 0; i < d->sts_mx_count; i++) {
		if (field_ok("sts_mx", d->sts_mx[i], sizeof(d->sts_mx[i]),
		    err) != 0 || tg_store_mx_pattern_normalize(d->sts_mx[i],
		    n->sts_mx[i], sizeof(n->sts_mx[i]), err) != 0)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(n->sts_mx[i], n->sts_mx[j]) == 0)
				return tg_err_set(err, TG_ERR_PERM, NULL,
				    "sts_mx: '%s' is listed twice",
				    n->sts_mx[i]);
	}
	n->sts_mx_count = d->sts_mx_count;
	return 0;
}

/* Check every field of d and write the normalised domain into n. */
static int
domain_check(const struct tg_store_domain *d, struct tg_store_domain *n,
    struct tg_err *err)
{
	tg_store_domain_init(n);
	if (field_ok("name", d->name, sizeof(d->name), err) != 0 ||
	    field_ok("inbound_route", d->inbound_route,
	    sizeof(d->inbound_route), err) != 0 ||
	    field_ok("sts_policy_id", d->sts_policy_id,
	    sizeof(d->sts_policy_id), err) != 0 ||
	    field_ok("tlsrpt_rua", d->tlsrpt_rua, sizeof(d->tlsrpt_rua),
	    err) != 0)
		return -1;
	if (tg_store_check_dname("name", d->name, n->name, sizeof(n->name),
	    err) != 0 ||
	    tg_store_route_normalize(d->inbound_route, n->inbound_route,
	    sizeof(n->inbound_route), err) != 0)
		return -1;
	if ((int)d->sts_mode < TG_STORE_STS_OFF ||
	    d->sts_mode > TG_STORE_STS_ENFORCE)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "sts_mode: invalid value %d", (int)d->sts_mode);
	n->sts_mode = d->sts_mode;
	if (domain_check_mx(d, n, err) != 0 ||
	    tg_store_check_max_age(d->sts_max_age, err) != 0 ||
	    tg_store_check_policy_id(d->sts_policy_id, err) != 0)
		return -1;
	n->sts_max_age = d->sts_max_age;
	memcpy(n->sts_policy_id, d->sts_policy_id, sizeof(n->sts_policy_id));
	if (d->sts_policy_changed < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "sts_policy_changed: negative time");
	n->sts_policy_changed = d->sts_policy_changed;
	return tg_store_rua_normalize(d->tlsrpt_rua, n->tlsrpt_rua,
	    sizeof(n->tlsrpt_rua), err);
}

/* Bind ?1..?8 shared by the insert and the update statement. */
static int
domain_bind(sqlite3_stmt *s, const struct tg_store_domain *n, time_t now)
{
	return tg_db_bind_text(s, 1, n->name) |
	    tg_db_bind_text(s, 2, n->inbound_route) |
	    tg_db_bind_text(s, 3, tg_store_sts_mode_name(n->sts_mode)) |
	    sqlite3_bind_int64(s, 4, n->sts_max_age) |
	    tg_db_bind_text(s, 5, n->sts_policy_id) |
	    sqlite3_bind_int64(s, 6, (sqlite3_int64)n->sts_policy_changed) |
	    tg_db_bind_text(s, 7, n->tlsrpt_rua) |
	    sqlite3_bind_int64(s, 8, (sqlite3_int64)now);
}

/* Replace the mx rows of domain id with n's list. */
static int
domain_write_mx(struct tg_store *st, int64_t id,
    const struct tg_store_domain *n, struct tg_err *err)
{
	sqlite3_stmt *s;
	size_t i;
	int r;

	if (tg_db_prepare(st->db, "DELETE FROM domain_sts_mx "
	    "WHERE domain_id = ?1", &s, err) != 0)
		return -1;
	r = tg_store_run(st, s, sqlite3_bind_int64(s, 1, id), NULL, err);
	if (r < 0)
		return -1;
	for (i = 0; i < n->sts_mx_count; i++) {
		if (tg_db_prepare(st->db, "INSERT INTO domain_sts_mx "
		    "(domain_id, position, pattern) VALUES (?1, ?2, ?3)", &s,
		    err) != 0)
			return -1;
		if (tg_store_run(st, s, sqlite3_bind_int64(s, 1, id) |
		    sqlite3_bind_int64(s, 2, (sqlite3_int64)i) |
		    tg_db_bind_text(s, 3, n->sts_mx[i]), NULL, err) != 0)
			return -1;
	}
	return 0;
}

int
tg_store_domain_add(struct tg_store *st, const struct tg_store_domain *d,
    struct tg_err *err)
{
	struct tg_store_domain n;
	char what[TG_DNAME_MAX + 32];
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (domain_check(d, &n, err) != 0)
		return -1;
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	snprintf(what, sizeof(what), "domain %s already exists", n.name);
	r = tg_db_prepare(st->db, "INSERT INTO domains (name, inbound_route,"
	    " sts_mode, sts_max_age, sts_policy_id, sts_policy_changed,"
	    " tlsrpt_rua, created, updated)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)", &s, err);
	if (r == 0)
		r = tg_store_run(st, s, domain_bind(s, &n, tg_clock_now()),
		    what, err);
	if (r == 0)
		r = domain_write_mx(st, sqlite3_last_insert_rowid(st->db), &n,
		    err);
	if (r == TG_STORE_NOTFOUND)
		r = tg_err_set(err, TG_ERR_BUG, NULL, "insert changed no row");
	return tg_store_write_end(st, r, err);
}

static int
domain_id_row(sqlite3_stmt *s, void *rec, struct tg_err *err)
{
	(void)err;
	*(int64_t *)rec = sqlite3_column_int64(s, 0);
	return 0;
}

/* Look up the id of domain name (normalised). 0, NOTFOUND or -1. */
static int
domain_id(struct tg_store *st, const char *name, int64_t *id,
    struct tg_err *err)
{
	sqlite3_stmt *s;

	if (tg_db_prepare(st->db, "SELECT id FROM domains WHERE name = ?1",
	    &s, err) != 0)
		return -1;
	return tg_store_one(st, s, tg_db_bind_text(s, 1, name), domain_id_row,
	    id, err);
}

int
tg_store_domain_update(struct tg_store *st, const struct tg_store_domain *d,
    struct tg_err *err)
{
	struct tg_store_domain n;
	sqlite3_stmt *s;
	int64_t id;
	int r;

	tg_err_clear(err);
	if (domain_check(d, &n, err) != 0)
		return -1;
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	r = domain_id(st, n.name, &id, err);
	if (r == 0)
		r = tg_db_prepare(st->db,
		    "UPDATE domains SET inbound_route = ?2,"
		    " sts_mode = ?3, sts_max_age = ?4, sts_policy_id = ?5,"
		    " sts_policy_changed = ?6, tlsrpt_rua = ?7, updated = ?8"
		    " WHERE name = ?1", &s, err);
	if (r == 0)
		r = tg_store_run(st, s, domain_bind(s, &n, tg_clock_now()),
		    NULL, err);
	if (r == 0)
		r = domain_write_mx(st, id, &n, err);
	return tg_store_write_end(st, r, err);
}

int
tg_store_domain_remove(struct tg_store *st, const char *name,
    struct tg_err *err)
{
	char norm[TG_DNAME_MAX + 1];
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (tg_store_check_dname("name", name, norm, sizeof(norm), err) != 0)
		return -1;
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	r = tg_db_prepare(st->db, "DELETE FROM domains WHERE name = ?1", &s,
	    err);
	if (r == 0)
		r = tg_store_run(st, s, tg_db_bind_text(s, 1, norm), NULL, err);
	return tg_store_write_end(st, r, err);
}

struct domain_rec {
	struct tg_store_domain *d;
	int64_t id;
};

/* Read the columns of DOMAIN_COLS into r. */
static int
domain_row(sqlite3_stmt *s, void *rec, struct tg_err *err)
{
	struct domain_rec *r = rec;
	struct tg_store_domain *d = r->d;
	int mode;

	tg_store_domain_init(d);
	r->id = sqlite3_column_int64(s, 0);
	if (tg_db_column_text(s, 1, d->name, sizeof(d->name), err) != 0 ||
	    tg_db_column_text(s, 2, d->inbound_route,
	    sizeof(d->inbound_route), err) != 0 ||
	    tg_store_column_enum(s, 3, &tg_store_enum_sts_mode, &mode,
	    err) != 0 ||
	    tg_db_column_text(s, 5, d->sts_policy_id,
	    sizeof(d->sts_policy_id), err) != 0 ||
	    tg_db_column_text(s, 7, d->tlsrpt_rua, sizeof(d->tlsrpt_rua),
	    err) != 0)
		return -1;
	d->sts_mode = (enum tg_store_sts_mode)mode;
	d->sts_max_age = (long)sqlite3_column_int64(s, 4);
	d->sts_policy_changed = (time_t)sqlite3_column_int64(s, 6);
	d->created = (time_t)sqlite3_column_int64(s, 8);
	d->updated = (time_t)sqlite3_column_int64(s, 9);
	return 0;
}

static int
domain_load_mx(struct tg_store *st, struct domain_rec *r, struct tg_err *err)
{
	struct tg_store_domain *d = r->d;
	sqlite3_stmt *s;
	int rc;

	if (tg_db_prepare(st->db, "SELECT pattern FROM domain_sts_mx"
	    " WHERE domain_id = ?1 ORDER BY position", &s, err) != 0)
		return -1;
	rc = sqlite3_bind_int64(s, 1, r->id) != SQLITE_OK ?
	    tg_db_error(st->db, SQLITE_ERROR, "bind", err) : 0;
	while (rc == 0 && (rc = tg_db_step_row(st->db, s, err)) == 1) {
		if (d->sts_mx_count == TG_STS_MX_MAX)
			rc = tg_err_set(err, TG_ERR_PERM, NULL, "domain %s has "
			    "more than %d stored mx patterns", d->name,
			    TG_STS_MX_MAX);
		else
			rc = tg_db_column_text(s, 0,
			    d->sts_mx[d->sts_mx_count++],
			    sizeof(d->sts_mx[0]), err);
	}
	sqlite3_finalize(s);
	return rc < 0 ? -1 : 0;
}

int
tg_store_domain_get(struct tg_store *st, const char *name,
    struct tg_store_domain *out, struct tg_err *err)
{
	char norm[TG_DNAME_MAX + 1];
	struct domain_rec rec = { out, 0 };
	sqlite3_stmt *s;
	int began, r;

	tg_err_clear(err);
	if (tg_store_check_dname("name", name, norm, sizeof(norm), err) != 0)
		return -1;
	if (tg_store_read_begin(st, &began, err) != 0)
		return -1;
	r = tg_db_prepare(st->db, "SELECT " DOMAIN_COLS " FROM domains"
	    " WHERE name = ?1", &s, err);
	if (r == 0)
		r = tg_store_one(st, s, tg_db_bind_text(s, 1, norm), domain_row,
		    &rec, err);
	if (r == 0)
		r = domain_load_mx(st, &rec, err);
	tg_store_read_end(st, began);
	return r;
}

struct domain_list {
	tg_store_domain_fn fn;
	void *arg;
	struct tg_store_domain d;
};

static int
domain_list_row(struct tg_store *st, sqlite3_stmt *s, void *ctx,
    struct tg_err *err)
{
	struct domain_list *l = ctx;
	struct domain_rec rec = { &l->d, 0 };

	if (domain_row(s, &rec, err) != 0 ||
	    domain_load_mx(st, &rec, err) != 0)
		return -1;
	return l->fn(&l->d, l->arg) != 0;
}

int
tg_store_domain_list(struct tg_store *st, tg_store_domain_fn fn, void *arg,
    struct tg_err *err)
{
	struct domain_list l = { .fn = fn, .arg = arg };
	sqlite3_stmt *s;

	tg_err_clear(err);
	if (tg_db_prepare(st->db, "SELECT " DOMAIN_COLS " FROM domains"
	    " ORDER BY name", &s, err) != 0)
		return -1;
	return tg_store_each(st, s, SQLITE_OK, domain_list_row, &l, err);
}
