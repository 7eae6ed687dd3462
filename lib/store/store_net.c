/*
 * store/store_net — relay networks and per-destination outbound TLS
 * policies. See store.h.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

#include "util/cidr.h"
#include "util/clock.h"

/* ---- relay networks ---- */

static int
relay_cidr(const char *in, char *out, size_t outlen, struct tg_err *err)
{
	if (tg_cidr_normalize(in, out, outlen, err) != 0) {
		tg_err_prefix(err, "cidr");
		return -1;
	}
	return 0;
}

int
tg_store_relay_add(struct tg_store *st, const char *cidr, const char *note,
    struct tg_err *err)
{
	char norm[TG_CIDR_TEXT_MAX + 1], what[TG_CIDR_TEXT_MAX + 48];
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (relay_cidr(cidr, norm, sizeof(norm), err) != 0 ||
	    tg_store_check_text("note", note, TG_STORE_NOTE_MAX, err) != 0)
		return -1;
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	snprintf(what, sizeof(what), "relay network %s already exists", norm);
	r = tg_db_prepare(st->db, "INSERT INTO relay_networks (cidr, note,"
	    " created) VALUES (?1, ?2, ?3)", &s, err);
	if (r == 0)
		r = tg_store_run(st, s, tg_db_bind_text(s, 1, norm) |
		    tg_db_bind_text(s, 2, note != NULL ? note : "") |
		    sqlite3_bind_int64(s, 3, (sqlite3_int64)tg_clock_now()),
		    what, err);
	return tg_store_write_end(st, r, err);
}

int
tg_store_relay_remove(struct tg_store *st, const char *cidr,
    struct tg_err *err)
{
	char norm[TG_CIDR_TEXT_MAX + 1];
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (relay_cidr(cidr, norm, sizeof(norm), err) != 0)
		return -1;
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	r = tg_db_prepare(st->db, "DELETE FROM relay_networks WHERE cidr = ?1",
	    &s, err);
	if (r == 0)
		r = tg_store_run(st, s, tg_db_bind_text(s, 1, norm), NULL, err);
	return tg_store_write_end(st, r, err);
}

struct relay_list {
	tg_store_relay_fn fn;
	void *arg;
};

static int
relay_row(struct tg_store *st, sqlite3_stmt *s, void *ctx,
    struct tg_err *err)
{
	struct relay_list *l = ctx;
	struct tg_store_relay_net n;

	(void)st;
	memset(&n, 0, sizeof(n));
	if (tg_db_column_text(s, 0, n.cidr, sizeof(n.cidr), err) != 0 ||
	    tg_db_column_text(s, 1, n.note, sizeof(n.note), err) != 0)
		return -1;
	n.created = (time_t)sqlite3_column_int64(s, 2);
	return l->fn(&n, l->arg) != 0;
}

int
tg_store_relay_list(struct tg_store *st, tg_store_relay_fn fn, void *arg,
    struct tg_err *err)
{
	struct relay_list l = { fn, arg };
	sqlite3_stmt *s;

	tg_err_clear(err);
	if (tg_db_prepare(st->db, "SELECT cidr, note, created"
	    " FROM relay_networks ORDER BY id", &s, err) != 0)
		return -1;
	return tg_store_each(st, s, SQLITE_OK, relay_row, &l, err);
}

/* ---- destination policies ---- */

int
tg_store_dest_set(struct tg_store *st, const char *domain,
    enum tg_store_dest_mode mode, const char *note, struct tg_err *err)
{
	char norm[TG_DNAME_MAX + 1];
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (tg_store_check_dname("domain", domain, norm, sizeof(norm),
	    err) != 0 ||
	    tg_store_check_text("note", note, TG_STORE_NOTE_MAX, err) != 0)
		return -1;
	if ((int)mode < TG_STORE_DEST_MAY || mode > TG_STORE_DEST_DANE_ONLY)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "mode: invalid value %d", (int)mode);
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	r = tg_db_prepare(st->db, "INSERT INTO dest_policies (domain, mode,"
	    " note, created, updated) VALUES (?1, ?2, ?3, ?4, ?4)"
	    " ON CONFLICT (domain) DO UPDATE SET mode = excluded.mode,"
	    " note = excluded.note, updated = excluded.updated", &s, err);
	if (r == 0)
		r = tg_store_run(st, s, tg_db_bind_text(s, 1, norm) |
		    tg_db_bind_text(s, 2, tg_store_dest_mode_name(mode)) |
		    tg_db_bind_text(s, 3, note != NULL ? note : "") |
		    sqlite3_bind_int64(s, 4, (sqlite3_int64)tg_clock_now()),
		    NULL, err);
	return tg_store_write_end(st, r, err);
}

static int
dest_row(sqlite3_stmt *s, void *rec, struct tg_err *err)
{
	struct tg_store_dest_policy *p = rec;
	int mode;

	memset(p, 0, sizeof(*p));
	if (tg_db_column_text(s, 0, p->domain, sizeof(p->domain), err) != 0 ||
	    tg_store_column_enum(s, 1, &tg_store_enum_dest_mode, &mode,
	    err) != 0 ||
	    tg_db_column_text(s, 2, p->note, sizeof(p->note), err) != 0)
		return -1;
	p->mode = (enum tg_store_dest_mode)mode;
	p->created = (time_t)sqlite3_column_int64(s, 3);
	p->updated = (time_t)sqlite3_column_int64(s, 4);
	return 0;
}

int
tg_store_dest_get(struct tg_store *st, const char *domain,
    struct tg_store_dest_policy *out, struct tg_err *err)
{
	char norm[TG_DNAME_MAX + 1];
	sqlite3_stmt *s;

	tg_err_clear(err);
	if (tg_store_check_dname("domain", domain, norm, sizeof(norm),
	    err) != 0)
		return -1;
	if (tg_db_prepare(st->db, "SELECT domain, mode, note, created, updated"
	    " FROM dest_policies WHERE domain = ?1", &s, err) != 0)
		return -1;
	return tg_store_one(st, s, tg_db_bind_text(s, 1, norm), dest_row, out,
	    err);
}

int
tg_store_dest_remove(struct tg_store *st, const char *domain,
    struct tg_err *err)
{
	char norm[TG_DNAME_MAX + 1];
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (tg_store_check_dname("domain", domain, norm, sizeof(norm),
	    err) != 0)
		return -1;
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	r = tg_db_prepare(st->db, "DELETE FROM dest_policies WHERE domain = ?1",
	    &s, err);
	if (r == 0)
		r = tg_store_run(st, s, tg_db_bind_text(s, 1, norm), NULL, err);
	return tg_store_write_end(st, r, err);
}

struct dest_list {
	tg_store_dest_fn fn;
	void *arg;
};

static int
dest_list_row(struct tg_store *st, sqlite3_stmt *s, void *ctx,
    struct tg_err *err)
{
	struct dest_list *l = ctx;
	struct tg_store_dest_policy p;

	(void)st;
	if (dest_row(s, &p, err) != 0)
		return -1;
	return l->fn(&p, l->arg) != 0;
}

int
tg_store_dest_list(struct tg_store *st, tg_store_dest_fn fn, void *arg,
    struct tg_err *err)
{
	struct dest_list l = { fn, arg };
	sqlite3_stmt *s;

	tg_err_clear(err);
	if (tg_db_prepare(st->db, "SELECT domain, mode, note, created, updated"
	    " FROM dest_policies ORDER BY domain", &s, err) != 0)
		return -1;
	return tg_store_each(st, s, SQLITE_OK, dest_list_row, &l, err);
}
