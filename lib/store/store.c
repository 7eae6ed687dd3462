/*
 * store/store — open/close, generation, transactions, snapshots, meta.
 * See store.h; the tables are in schema.c, the rows in store_*.c.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/schema.h"
#include "util/path.h"

static int
store_open(const char *state_dir, unsigned int flags, struct tg_store **out,
    struct tg_err *err)
{
	char path[TG_PATH_MAX];
	struct tg_store *st;

	*out = NULL;
	tg_err_clear(err);
	if (state_dir == NULL || state_dir[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "no state directory configured");
	if (tg_path_fmt(path, sizeof(path), "%s/%s", state_dir,
	    TG_STORE_CONFIG_FILE) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "state directory path is too long");
	if ((flags & TG_DB_READONLY) && access(path, F_OK) != 0 &&
	    errno == ENOENT)
		return tg_err_set(err, TG_ERR_PERM, NULL, "no configuration "
		    "database at %s (nothing configured yet, or a wrong "
		    "state_dir)", path);
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	if (tg_db_open(path, &tg_schema_config, flags, &st->db, err) != 0) {
		free(st);
		return -1;
	}
	st->readonly = (flags & TG_DB_READONLY) != 0;
	*out = st;
	return 0;
}

int
tg_store_open(const char *state_dir, struct tg_store **out,
    struct tg_err *err)
{
	return store_open(state_dir, 0, out, err);
}

int
tg_store_open_readonly(const char *state_dir, struct tg_store **out,
    struct tg_err *err)
{
	return store_open(state_dir, TG_DB_READONLY, out, err);
}

void
tg_store_close(struct tg_store *st)
{
	if (st == NULL)
		return;
	tg_db_rollback(st->db);		/* an unended snapshot */
	tg_db_close(st->db);
	free(st);
}

int
tg_store_generation(struct tg_store *st, int64_t *gen, struct tg_err *err)
{
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (tg_db_prepare(st->db, "SELECT value FROM generation WHERE id = 1",
	    &s, err) != 0)
		return -1;
	r = tg_db_step_row(st->db, s, err);
	if (r == 1)
		*gen = sqlite3_column_int64(s, 0);
	else if (r == 0)
		r = tg_err_set(err, TG_ERR_BUG, NULL, "generation row missing");
	sqlite3_finalize(s);
	return r == 1 ? 0 : -1;
}

int
tg_store_write_begin(struct tg_store *st, struct tg_err *err)
{
	if (st->readonly)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "the configuration store is open read-only");
	if (st->snapshot)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "write inside a read snapshot");
	return tg_db_begin(st->db, 1, err);
}

static int
store_bump(struct tg_store *st, struct tg_err *err)
{
	sqlite3_stmt *s;

	if (tg_db_prepare(st->db, "UPDATE generation SET value = value + 1 "
	    "WHERE id = 1", &s, err) != 0)
		return -1;
	switch (tg_store_run(st, s, 0, NULL, err)) {
	case 0:
		return 0;
	case TG_STORE_NOTFOUND:
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "generation row missing");
	default:
		return -1;
	}
}

int
tg_store_write_end(struct tg_store *st, int r, struct tg_err *err)
{
	if (r != 0) {
		tg_db_rollback(st->db);
		return r;
	}
	if (store_bump(st, err) != 0) {
		tg_db_rollback(st->db);
		return -1;
	}
	return tg_db_commit(st->db, err);
}

int
tg_store_read_begin(struct tg_store *st, int *began, struct tg_err *err)
{
	*began = 0;
	if (!sqlite3_get_autocommit(st->db))
		return 0;	/* inside a snapshot already */
	if (tg_db_begin(st->db, 0, err) != 0)
		return -1;
	*began = 1;
	return 0;
}

void
tg_store_read_end(struct tg_store *st, int began)
{
	if (began)
		tg_db_rollback(st->db);	/* nothing to commit */
}

int
tg_store_snapshot_begin(struct tg_store *st, struct tg_err *err)
{
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (st->snapshot)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "snapshot already open");
	if (tg_db_begin(st->db, 0, err) != 0)
		return -1;
	/* BEGIN is lazy: the first read fixes the snapshot, so read now. */
	if (tg_db_prepare(st->db, "SELECT value FROM generation", &s,
	    err) != 0) {
		tg_db_rollback(st->db);
		return -1;
	}
	r = tg_db_step_row(st->db, s, err);
	sqlite3_finalize(s);
	if (r < 0) {
		tg_db_rollback(st->db);
		return -1;
	}
	st->snapshot = 1;
	return 0;
}

void
tg_store_snapshot_end(struct tg_store *st)
{
	if (!st->snapshot)
		return;
	tg_db_rollback(st->db);
	st->snapshot = 0;
}

int
tg_store_run(struct tg_store *st, sqlite3_stmt *s, int bind_rc,
    const char *dup, struct tg_err *err)
{
	int rc, ret;

	if (bind_rc != SQLITE_OK) {
		ret = tg_db_error(st->db, bind_rc, "bind", err);
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		ret = sqlite3_changes(st->db) > 0 ? 0 : TG_STORE_NOTFOUND;
	else if (dup != NULL && (rc == SQLITE_CONSTRAINT_UNIQUE ||
	    rc == SQLITE_CONSTRAINT_PRIMARYKEY))
		ret = tg_err_set(err, TG_ERR_PERM, NULL, "%s", dup);
	else
		ret = tg_db_error(st->db, rc, NULL, err);
out:
	sqlite3_finalize(s);
	return ret;
}

int
tg_store_one(struct tg_store *st, sqlite3_stmt *s, int bind_rc,
    tg_store_read_fn row, void *rec, struct tg_err *err)
{
	int r;

	if (bind_rc != SQLITE_OK)
		r = tg_db_error(st->db, bind_rc, "bind", err);
	else
		r = tg_db_step_row(st->db, s, err);
	if (r == 1)
		r = row(s, rec, err) == 0 ? 0 : -1;
	else if (r == 0)
		r = TG_STORE_NOTFOUND;
	sqlite3_finalize(s);
	return r;
}

int
tg_store_each(struct tg_store *st, sqlite3_stmt *s, int bind_rc,
    tg_store_row_fn row, void *ctx, struct tg_err *err)
{
	int began, r;

	if (bind_rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return tg_db_error(st->db, bind_rc, "bind", err);
	}
	if (tg_store_read_begin(st, &began, err) != 0) {
		sqlite3_finalize(s);
		return -1;
	}
	while ((r = tg_db_step_row(st->db, s, err)) == 1)
		if ((r = row(st, s, ctx, err)) != 0)
			break;
	sqlite3_finalize(s);
	tg_store_read_end(st, began);
	return r < 0 ? -1 : 0;
}

int
tg_store_column_enum(sqlite3_stmt *s, int col, const struct tg_store_enum *e,
    int *out, struct tg_err *err)
{
	char buf[32];

	if (tg_db_column_text(s, col, buf, sizeof(buf), err) != 0 ||
	    tg_store_enum_parse(e, buf, out, err) != 0) {
		tg_err_prefix(err, "stored value");
		return -1;
	}
	return 0;
}

struct meta_val {
	char *val;
	size_t len;
};

static int
meta_row(sqlite3_stmt *s, void *rec, struct tg_err *err)
{
	struct meta_val *m = rec;

	return tg_db_column_text(s, 0, m->val, m->len, err);
}

int
tg_store_meta_get(struct tg_store *st, const char *key, char *val,
    size_t vallen, struct tg_err *err)
{
	struct meta_val m = { val, vallen };
	sqlite3_stmt *s;

	tg_err_clear(err);
	if (tg_store_check_meta_key(key, err) != 0)
		return -1;
	if (tg_db_prepare(st->db, "SELECT value FROM meta WHERE key = ?1", &s,
	    err) != 0)
		return -1;
	return tg_store_one(st, s, tg_db_bind_text(s, 1, key), meta_row, &m,
	    err);
}

int
tg_store_meta_set(struct tg_store *st, const char *key, const char *val,
    struct tg_err *err)
{
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (tg_store_check_meta_key(key, err) != 0)
		return -1;
	if (val == NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL, "value: missing");
	if (tg_store_check_text("value", val, TG_STORE_TEXT_MAX, err) != 0)
		return -1;
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	r = tg_db_prepare(st->db, "INSERT INTO meta (key, value) VALUES "
	    "(?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	    &s, err);
	if (r == 0)
		r = tg_store_run(st, s, tg_db_bind_text(s, 1, key) |
		    tg_db_bind_text(s, 2, val), NULL, err);
	return tg_store_write_end(st, r, err);
}
