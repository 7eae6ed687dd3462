/*
 * store/store_admin — admin users of the console and admin API. See
 * store.h. The store keeps the PHC hash string it is given; making and
 * checking hashes (RELIABILITY S-03) is the caller's job.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

#include "util/clock.h"

int
tg_store_admin_add(struct tg_store *st, const char *username,
    const char *password_hash, struct tg_err *err)
{
	char user[TG_STORE_USER_MAX + 1], dup[TG_STORE_USER_MAX + 40];
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (tg_store_check_username(username, user, sizeof(user), err) != 0 ||
	    tg_store_check_hash(password_hash, err) != 0)
		return -1;
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	snprintf(dup, sizeof(dup), "admin user %s already exists", user);
	r = tg_db_prepare(st->db, "INSERT INTO admin_users (username,"
	    " password_hash, created) VALUES (?1, ?2, ?3)", &s, err);
	if (r == 0)
		r = tg_store_run(st, s, tg_db_bind_text(s, 1, user) |
		    tg_db_bind_text(s, 2, password_hash) |
		    sqlite3_bind_int64(s, 3, (sqlite3_int64)tg_clock_now()),
		    dup, err);
	return tg_store_write_end(st, r, err);
}

static int
admin_row(sqlite3_stmt *s, void *rec, struct tg_err *err)
{
	struct tg_store_admin *a = rec;

	memset(a, 0, sizeof(*a));
	if (tg_db_column_text(s, 0, a->username, sizeof(a->username),
	    err) != 0 ||
	    tg_db_column_text(s, 1, a->password_hash,
	    sizeof(a->password_hash), err) != 0)
		return -1;
	a->created = (time_t)sqlite3_column_int64(s, 2);
	a->last_login = (time_t)sqlite3_column_int64(s, 3);
	return 0;
}

int
tg_store_admin_get(struct tg_store *st, const char *username,
    struct tg_store_admin *out, struct tg_err *err)
{
	char user[TG_STORE_USER_MAX + 1];
	sqlite3_stmt *s;

	tg_err_clear(err);
	if (tg_store_check_username(username, user, sizeof(user), err) != 0)
		return -1;
	if (tg_db_prepare(st->db, "SELECT username, password_hash, created,"
	    " last_login FROM admin_users WHERE username = ?1", &s, err) != 0)
		return -1;
	return tg_store_one(st, s, tg_db_bind_text(s, 1, user), admin_row, out,
	    err);
}

int
tg_store_admin_remove(struct tg_store *st, const char *username,
    struct tg_err *err)
{
	char user[TG_STORE_USER_MAX + 1];
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (tg_store_check_username(username, user, sizeof(user), err) != 0)
		return -1;
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	r = tg_db_prepare(st->db, "DELETE FROM admin_users WHERE username = ?1",
	    &s, err);
	if (r == 0)
		r = tg_store_run(st, s, tg_db_bind_text(s, 1, user), NULL, err);
	return tg_store_write_end(st, r, err);
}

int
tg_store_admin_set_hash(struct tg_store *st, const char *username,
    const char *password_hash, struct tg_err *err)
{
	char user[TG_STORE_USER_MAX + 1];
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (tg_store_check_username(username, user, sizeof(user), err) != 0 ||
	    tg_store_check_hash(password_hash, err) != 0)
		return -1;
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	r = tg_db_prepare(st->db, "UPDATE admin_users SET password_hash = ?2"
	    " WHERE username = ?1", &s, err);
	if (r == 0)
		r = tg_store_run(st, s, tg_db_bind_text(s, 1, user) |
		    tg_db_bind_text(s, 2, password_hash), NULL, err);
	return tg_store_write_end(st, r, err);
}

int
tg_store_admin_set_last_login(struct tg_store *st, const char *username,
    time_t when, struct tg_err *err)
{
	char user[TG_STORE_USER_MAX + 1];
	sqlite3_stmt *s;

	tg_err_clear(err);
	if (tg_store_check_username(username, user, sizeof(user), err) != 0)
		return -1;
	if (st->readonly)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "the configuration store is open read-only");
	/* Bookkeeping, not configuration: one autocommit statement and no
	 * generation bump, so a login does not make every daemon reload. */
	if (tg_db_prepare(st->db, "UPDATE admin_users SET last_login = ?2"
	    " WHERE username = ?1", &s, err) != 0)
		return -1;
	return tg_store_run(st, s, tg_db_bind_text(s, 1, user) |
	    sqlite3_bind_int64(s, 2, (sqlite3_int64)when), NULL, err);
}

struct admin_list {
	tg_store_admin_fn fn;
	void *arg;
};

static int
admin_list_row(struct tg_store *st, sqlite3_stmt *s, void *ctx,
    struct tg_err *err)
{
	struct admin_list *l = ctx;
	struct tg_store_admin a;

	(void)st;
	if (admin_row(s, &a, err) != 0)
		return -1;
	return l->fn(&a, l->arg) != 0;
}

int
tg_store_admin_list(struct tg_store *st, tg_store_admin_fn fn, void *arg,
    struct tg_err *err)
{
	struct admin_list l = { fn, arg };
	sqlite3_stmt *s;

	tg_err_clear(err);
	if (tg_db_prepare(st->db, "SELECT username, password_hash, created,"
	    " last_login FROM admin_users ORDER BY username", &s, err) != 0)
		return -1;
	return tg_store_each(st, s, SQLITE_OK, admin_list_row, &l, err);
}
