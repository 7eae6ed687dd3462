/*
 * Unit tests of store/db, the generic half of the store: the migration
 * runner with schemas made up for the test (order, upgrade with data
 * kept, all-or-nothing on failure, a migration that forgets its version,
 * read-only refusal, concurrent first opens) and the hardening of every
 * connection it opens. These are the store's own tests, so they may
 * speak SQL to the file directly.
 */
#include "test_store_util.h"

#include <sys/wait.h>

#include "store/db.h"

static const char *const test_migrations[] = {
	"PRAGMA application_id = 42;\n"
	"CREATE TABLE t (x INTEGER NOT NULL) STRICT;\n"
	"PRAGMA user_version = 1;\n",
	"ALTER TABLE t ADD COLUMN y TEXT NOT NULL DEFAULT 'b';\n"
	"PRAGMA user_version = 2;\n",
	"CREATE INDEX t_y ON t (y);\n"
	"PRAGMA user_version = 3;\n",
};

static const char *const broken_migrations[] = {
	"PRAGMA application_id = 42;\n"
	"CREATE TABLE t (x INTEGER NOT NULL) STRICT;\n"
	"PRAGMA user_version = 1;\n",
	"ALTER TABLE t ADD COLUMN y TEXT NOT NULL DEFAULT 'b';\n"
	"PRAGMA user_version = 2;\n",
	"CREATE TABLE u (a INTEGER) STRICT;\n"
	"INSERT INTO no_such_table VALUES (1);\n"
	"PRAGMA user_version = 3;\n",
};

static const char *const forgetful_migrations[] = {
	"PRAGMA application_id = 42;\n"
	"CREATE TABLE t (x INTEGER NOT NULL) STRICT;\n",
};

static struct tg_db_schema
schema(const char *const *m, size_t count)
{
	struct tg_db_schema s = { "test", 42, m, count };

	return s;
}

struct dbfx {
	char dir[64];
	char path[128];
};

static int
dbfx_setup(void **state)
{
	struct dbfx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	make_tmpdir(f->dir, sizeof(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/test.db", f->dir);
	*state = f;
	return 0;
}

static int
dbfx_teardown(void **state)
{
	struct dbfx *f = *state;

	rmtree(f->dir);
	free(f);
	return 0;
}

static long long
q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	long long v;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static sqlite3 *
open_ok(const char *path, const struct tg_db_schema *sc, unsigned int flags)
{
	struct tg_err err;
	sqlite3 *db;

	if (tg_db_open(path, sc, flags, &db, &err) != 0)
		fail_msg("open: %s", err.msg);
	return db;
}

static void
test_applies_all_in_order(void **state)
{
	struct dbfx *f = *state;
	struct tg_db_schema sc = schema(test_migrations, 3);
	sqlite3 *db = open_ok(f->path, &sc, 0);

	assert_int_equal(q_int(db, "PRAGMA user_version"), 3);
	assert_int_equal(q_int(db, "PRAGMA application_id"), 42);
	assert_int_equal(q_int(db, "SELECT count(*) FROM sqlite_schema "
	    "WHERE name IN ('t', 't_y')"), 2);
	tg_db_close(db);
}

static void
test_upgrade_keeps_data(void **state)
{
	struct dbfx *f = *state;
	struct tg_db_schema v1 = schema(test_migrations, 1);
	struct tg_db_schema v3 = schema(test_migrations, 3);
	sqlite3 *db = open_ok(f->path, &v1, 0);

	assert_int_equal(sqlite3_exec(db, "INSERT INTO t (x) VALUES (7)", NULL,
	    NULL, NULL), SQLITE_OK);
	tg_db_close(db);
	db = open_ok(f->path, &v3, 0);
	assert_int_equal(q_int(db, "PRAGMA user_version"), 3);
	assert_int_equal(q_int(db, "SELECT count(*) FROM t WHERE x = 7 AND "
	    "y = 'b'"), 1);
	tg_db_close(db);
	/* The older code now refuses the newer file. */
	{
		struct tg_err err;
		sqlite3 *old;

		assert_int_equal(tg_db_open(f->path, &v1, 0, &old, &err), -1);
		assert_null(old);
		assert_perm_msg(err, "schema version 3 is newer than this "
		    "tlsgate knows (1)");
	}
}

static void
test_failed_migration_changes_nothing(void **state)
{
	struct dbfx *f = *state;
	struct tg_db_schema v1 = schema(test_migrations, 1);
	struct tg_db_schema bad = schema(broken_migrations, 3);
	struct tg_err err;
	sqlite3 *db = open_ok(f->path, &v1, 0);

	assert_int_equal(sqlite3_exec(db, "INSERT INTO t (x) VALUES (1)", NULL,
	    NULL, NULL), SQLITE_OK);
	tg_db_close(db);
	assert_int_equal(tg_db_open(f->path, &bad, 0, &db, &err), -1);
	assert_int_equal(err.cls, TG_ERR_BUG);
	assert_non_null(strstr(err.msg, "test migration 3 failed"));
	assert_non_null(strstr(err.msg, "no_such_table"));
	/* Migrations 2 and 3 ran in one transaction: neither is left, so
	 * the file verifies as exactly version 1 again. */
	db = open_ok(f->path, &v1, 0);
	assert_int_equal(q_int(db, "PRAGMA user_version"), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM t"), 1);
	tg_db_close(db);
}

static void
test_migration_must_set_version(void **state)
{
	struct dbfx *f = *state;
	struct tg_db_schema sc = schema(forgetful_migrations, 1);
	struct tg_err err;
	sqlite3 *db;

	assert_int_equal(tg_db_open(f->path, &sc, 0, &db, &err), -1);
	assert_int_equal(err.cls, TG_ERR_BUG);
	assert_non_null(strstr(err.msg, "test migration 1 left user_version "
	    "0"));
}

static void
test_readonly_never_migrates(void **state)
{
	struct dbfx *f = *state;
	struct tg_db_schema v1 = schema(test_migrations, 1);
	struct tg_db_schema v3 = schema(test_migrations, 3);
	struct tg_err err;
	struct stat sb;
	sqlite3 *db;

	assert_int_equal(tg_db_open(f->path, &v1, TG_DB_READONLY, &db, &err),
	    -1);
	assert_perm_msg(err, "No such file");
	assert_int_equal(stat(f->path, &sb), -1);
	db = open_ok(f->path, &v1, 0);
	tg_db_close(db);
	assert_int_equal(tg_db_open(f->path, &v3, TG_DB_READONLY, &db, &err),
	    -1);
	assert_perm_msg(err, "schema version 1 is older than this tlsgate's "
	    "(3); open it read-write once");
	db = open_ok(f->path, &v1, TG_DB_READONLY | TG_DB_QUICK_CHECK);
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO t (x) VALUES (1)",
	    NULL, NULL, NULL), SQLITE_OK);
	tg_db_close(db);
}

/* Several processes opening a new file at once: one migrates, the others
 * wait for the lock and find the work done. */
static void
test_concurrent_first_open(void **state)
{
	struct dbfx *f = *state;
	struct tg_db_schema v3 = schema(test_migrations, 3);
	pid_t pids[8];
	int i, status[8];
	sqlite3 *db;

	for (i = 0; i < 8; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct tg_err err;

			if (tg_db_open(f->path, &v3, 0, &db, &err) != 0) {
				fprintf(stderr, "# child: %s\n", err.msg);
				_exit(1);
			}
			tg_db_close(db);
			_exit(0);
		}
	}
	/* Reap every child before judging, so none outlives the fixture. */
	for (i = 0; i < 8; i++)
		assert_int_equal(waitpid(pids[i], &status[i], 0), pids[i]);
	for (i = 0; i < 8; i++) {
		assert_true(WIFEXITED(status[i]));
		assert_int_equal(WEXITSTATUS(status[i]), 0);
	}
	db = open_ok(f->path, &v3, 0);
	assert_int_equal(q_int(db, "PRAGMA user_version"), 3);
	tg_db_close(db);
}

static int
db_flag(sqlite3 *db, int op)
{
	int v = -1;

	assert_int_equal(sqlite3_db_config(db, op, -1, &v), SQLITE_OK);
	return v;
}

static void
test_connection_hardening(void **state)
{
	struct dbfx *f = *state;
	struct tg_db_schema v3 = schema(test_migrations, 3);
	sqlite3 *db = open_ok(f->path, &v3, 0);
	sqlite3_stmt *s;

	assert_int_equal(db_flag(db, SQLITE_DBCONFIG_DEFENSIVE), 1);
	assert_int_equal(db_flag(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA), 0);
	assert_int_equal(db_flag(db, SQLITE_DBCONFIG_ENABLE_TRIGGER), 0);
	assert_int_equal(db_flag(db, SQLITE_DBCONFIG_ENABLE_VIEW), 0);
	assert_int_equal(db_flag(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION),
	    0);
	assert_int_equal(db_flag(db, SQLITE_DBCONFIG_DQS_DML), 0);
	assert_int_equal(q_int(db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(q_int(db, "PRAGMA synchronous"), 2);
	assert_int_equal(q_int(db, "PRAGMA busy_timeout"),
	    TG_STORE_BUSY_TIMEOUT_MS);
	assert_int_equal(q_int(db, "PRAGMA cell_size_check"), 1);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	/* ATTACH is off; the schema cannot be written behind sqlite's back;
	 * "double-quoted" is an identifier, never a string. */
	assert_int_not_equal(sqlite3_exec(db, "ATTACH DATABASE ':memory:' AS x",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "PRAGMA writable_schema = ON; "
	    "UPDATE sqlite_schema SET sql = 'x' WHERE name = 't'", NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO t (x) VALUES "
	    "(length(\"abc\"))", NULL, NULL, NULL), SQLITE_OK);
	tg_db_close(db);
}

static void
test_error_classes(void **state)
{
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_db_error(NULL, SQLITE_BUSY, "x", &err), -1);
	assert_int_equal(err.cls, TG_ERR_TEMP);
	assert_int_equal(tg_db_error(NULL, SQLITE_IOERR_WRITE, NULL, &err),
	    -1);
	assert_int_equal(err.cls, TG_ERR_TEMP);
	assert_int_equal(tg_db_error(NULL, SQLITE_CORRUPT, "y", &err), -1);
	assert_int_equal(err.cls, TG_ERR_PERM);
	assert_non_null(strstr(err.msg, "restore a backup"));
	assert_int_equal(tg_db_error(NULL, SQLITE_ERROR, NULL, &err), -1);
	assert_int_equal(err.cls, TG_ERR_BUG);
}

static int
unit_rows(sqlite3 *db)
{
	sqlite3_stmt *s;
	int n;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM u", -1,
	    &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* A unit of work: its own transaction outside one, a savepoint inside
 * one (a rollback undoes it alone, a commit hands it to the outer
 * transaction, whose rollback then undoes it). */
static void
test_units(void **state)
{
	struct tg_err err;
	sqlite3 *db;
	int nested;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE u (x)", NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(tg_db_unit_begin(db, &nested, &err), 0);
	assert_false(nested);
	sqlite3_exec(db, "INSERT INTO u VALUES (1)", NULL, NULL, NULL);
	assert_int_equal(tg_db_unit_commit(db, nested, &err), 0);
	assert_true(sqlite3_get_autocommit(db));
	assert_int_equal(unit_rows(db), 1);
	/* Inside a batch. */
	assert_int_equal(tg_db_begin(db, 1, &err), 0);
	assert_int_equal(tg_db_unit_begin(db, &nested, &err), 0);
	assert_true(nested);
	sqlite3_exec(db, "INSERT INTO u VALUES (2)", NULL, NULL, NULL);
	tg_db_unit_rollback(db, nested);
	assert_false(sqlite3_get_autocommit(db));	/* the batch goes on */
	assert_int_equal(unit_rows(db), 1);
	assert_int_equal(tg_db_unit_begin(db, &nested, &err), 0);
	sqlite3_exec(db, "INSERT INTO u VALUES (3)", NULL, NULL, NULL);
	assert_int_equal(tg_db_unit_commit(db, nested, &err), 0);
	assert_int_equal(unit_rows(db), 2);
	tg_db_rollback(db);
	assert_int_equal(unit_rows(db), 1);
	sqlite3_close(db);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, dbfx_setup, dbfx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_applies_all_in_order),
		T(test_upgrade_keeps_data),
		T(test_failed_migration_changes_nothing),
		T(test_migration_must_set_version),
		T(test_readonly_never_migrates),
		T(test_concurrent_first_open),
		T(test_connection_hardening),
		cmocka_unit_test(test_error_classes),
		cmocka_unit_test(test_units),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
