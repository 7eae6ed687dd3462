/*
 * store/db — one hardened sqlite database file with versioned migrations.
 *
 * This is the generic half of the store: it knows how to open a database
 * file safely and bring its schema up to date, but nothing about what the
 * tables mean (store/store.h does). config.db uses it today; reports.db
 * and cache.db will pass their own struct tg_db_schema.
 *
 * Opening a file does, in order:
 *   1. create it with mode 0600 if missing (read-write only; symlinks are
 *      refused), open it with extended result codes;
 *   2. harden the connection (sqlite "Defense Against the Dark Arts"):
 *      SQLITE_DBCONFIG_DEFENSIVE on, trusted_schema off, triggers, views,
 *      extension loading and double-quoted string literals off, ATTACH
 *      disabled, lengths and depths limited;
 *   3. busy timeout TG_STORE_BUSY_TIMEOUT_MS, foreign_keys on, WAL,
 *      synchronous=FULL (an acknowledged change survives power loss),
 *      cell_size_check on; read back to make sure each took effect;
 *   4. PRAGMA integrity_check (or quick_check): a damaged file is refused
 *      before anything reads or migrates it;
 *   5. check the file belongs to this schema (application_id) and is not
 *      newer than this code, then apply the missing migrations in order,
 *      all in one transaction (BEGIN IMMEDIATE, so two processes cannot
 *      migrate at once);
 *   6. verify the schema: every table, index, trigger and view in the file
 *      must be exactly what migrations 1..N produce in a fresh in-memory
 *      database, so a tampered or hand-edited file is refused;
 *   7. PRAGMA foreign_key_check must be empty.
 *
 * Migrations: migration i (0-based) is one constant SQL text that takes
 * the schema from version i to i + 1 and ends with
 * "PRAGMA user_version = i+1;" (PRAGMA takes no bound parameters, so the
 * version lives in the text; the runner checks it). Migration 1 also sets
 * the schema's application_id. Migrations are never edited once released;
 * a change is a new migration appended to the list.
 *
 * Statement helpers: every query in the store is a constant SQL text with
 * "?N" parameters, prepared with tg_db_prepare and bound with sqlite3's
 * bind functions. Nothing here or in the store builds SQL from strings.
 */
#ifndef TG_STORE_DB_H
#define TG_STORE_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct tg_db_schema {
	const char *name;		/* "config": used in messages */
	uint32_t application_id;	/* PRAGMA application_id */
	const char *const *migrations;	/* borrowed, static */
	size_t count;			/* number of migrations */
};

/* Flags of tg_db_open. */
#define TG_DB_READONLY		0x1	/* no create, no migrate, query_only */
#define TG_DB_QUICK_CHECK	0x2 /* quick_check instead of integrity_check */

/*
 * Open the database file at path (borrowed) for schema (borrowed, static)
 * as described above; *out receives the connection (owned by the caller,
 * release with tg_db_close). Returns 0, or -1 with err:
 *   TG_ERR_PERM  missing file (read-only), corrupt file, foreign file,
 *                newer schema, migration needed but read-only, tampered
 *                schema;
 *   TG_ERR_TEMP  I/O error, lock not obtained within the busy timeout;
 *   TG_ERR_BUG   a migration failed or did not set its version.
 * Messages start with the file path.
 */
int tg_db_open(const char *path, const struct tg_db_schema *schema,
    unsigned int flags, sqlite3 **out, struct tg_err *err);

/* Close db (NULL-safe). Unfinalised statements are a bug (asserted). */
void tg_db_close(sqlite3 *db);

/*
 * Fill err from sqlite's state after rc (a failed sqlite3 call on db),
 * prefixed with what ("insert domain"). Class: TG_ERR_TEMP for busy,
 * locked, I/O, full and out-of-memory; TG_ERR_PERM for corrupt, not a
 * database, read-only, constraint and too big; TG_ERR_BUG otherwise
 * (an SQL error is our mistake). Returns -1.
 */
int tg_db_error(sqlite3 *db, int rc, const char *what, struct tg_err *err);

/* Prepare the constant sql (borrowed) into *out. Returns 0 or -1. */
int tg_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out,
    struct tg_err *err);

/*
 * Step s expecting a row: 1 if there is one, 0 at the end, -1 on error
 * (err filled). Does not finalize.
 */
int tg_db_step_row(sqlite3 *db, sqlite3_stmt *s, struct tg_err *err);

/*
 * Copy text column col of the current row into out (outlen bytes incl.
 * NUL). A NULL column gives "". A value that does not fit, or that holds
 * a NUL byte, is refused (-1, TG_ERR_PERM): the store never writes one
 * longer than its field, and silently truncating could change meaning.
 */
int tg_db_column_text(sqlite3_stmt *s, int col, char *out, size_t outlen,
    struct tg_err *err);

/* Bind text (borrowed until the statement is reset or finalized). */
int tg_db_bind_text(sqlite3_stmt *s, int idx, const char *text);

/* Begin a transaction: write != 0 takes the write lock now (IMMEDIATE). */
int tg_db_begin(sqlite3 *db, int write, struct tg_err *err);

/* Commit; on failure the transaction is rolled back. Returns 0 or -1. */
int tg_db_commit(sqlite3 *db, struct tg_err *err);

/* Roll back the open transaction, if any. */
void tg_db_rollback(sqlite3 *db);

/*
 * A unit of work that may run inside a caller's transaction (a batch,
 * group commit): outside one it is a write transaction of its own
 * (BEGIN IMMEDIATE ... COMMIT); inside one it is a savepoint, which its
 * commit releases into the outer transaction and its rollback undoes
 * without touching the rest. *nested records which; pass it on.
 */
int tg_db_unit_begin(sqlite3 *db, int *nested, struct tg_err *err);
int tg_db_unit_commit(sqlite3 *db, int nested, struct tg_err *err);
void tg_db_unit_rollback(sqlite3 *db, int nested);

#endif
