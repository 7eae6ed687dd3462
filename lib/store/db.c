/*
 * store/db — see db.h.
 */
#include "store/db.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/limits.h"

/*
 * Connection limits, after sqlite's "Defense Against the Dark Arts": small
 * enough that a crafted file or value cannot make sqlite work hard, large
 * enough for every statement and value the store writes
 * (TG_STORE_TEXT_MAX). ATTACH is off entirely.
 */
static const struct {
	int id;
	int value;
} db_limits[] = {
	{ SQLITE_LIMIT_LENGTH, 1000000 },
	{ SQLITE_LIMIT_SQL_LENGTH, 100000 },
	{ SQLITE_LIMIT_COLUMN, 100 },
	{ SQLITE_LIMIT_EXPR_DEPTH, 100 },
	{ SQLITE_LIMIT_COMPOUND_SELECT, 4 },
	{ SQLITE_LIMIT_FUNCTION_ARG, 8 },
	{ SQLITE_LIMIT_ATTACHED, 0 },
	{ SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 100 },
	{ SQLITE_LIMIT_VARIABLE_NUMBER, 32 },
	{ SQLITE_LIMIT_TRIGGER_DEPTH, 10 },
};

/*
 * Connection switches. Triggers and views are off because the schema has
 * none (tg_db_open verifies that) and a crafted file must not run code
 * through them; foreign keys are on so ON DELETE CASCADE and references
 * hold.
 */
static const struct {
	int op;
	int on;
} db_switches[] = {
	{ SQLITE_DBCONFIG_DEFENSIVE, 1 },
	{ SQLITE_DBCONFIG_ENABLE_FKEY, 1 },
	{ SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0 },
	{ SQLITE_DBCONFIG_ENABLE_TRIGGER, 0 },
	{ SQLITE_DBCONFIG_ENABLE_VIEW, 0 },
	{ SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0 },
	{ SQLITE_DBCONFIG_DQS_DML, 0 },
	{ SQLITE_DBCONFIG_DQS_DDL, 0 },
};

static enum tg_err_class
db_class(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_NOMEM:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
		return TG_ERR_TEMP;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_READONLY:
	case SQLITE_CONSTRAINT:
	case SQLITE_TOOBIG:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return TG_ERR_PERM;
	default:
		return TG_ERR_BUG;
	}
}

int
tg_db_error(sqlite3 *db, int rc, const char *what, struct tg_err *err)
{
	const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	const char *hint = "";

	if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
		hint = " (the file is damaged or not a tlsgate database; "
		    "restore a backup)";
	if (what != NULL)
		return tg_err_set(err, db_class(rc), NULL, "%s: %s%s", what,
		    msg, hint);
	return tg_err_set(err, db_class(rc), NULL, "%s%s", msg, hint);
}

int
tg_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out,
    struct tg_err *err)
{
	int rc;

	*out = NULL;
	rc = sqlite3_prepare_v2(db, sql, -1, out, NULL);
	if (rc != SQLITE_OK)
		return tg_db_error(db, rc, NULL, err);
	return 0;
}

int
tg_db_step_row(sqlite3 *db, sqlite3_stmt *s, struct tg_err *err)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return tg_db_error(db, rc, NULL, err);
}

int
tg_db_column_text(sqlite3_stmt *s, int col, char *out, size_t outlen,
    struct tg_err *err)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	size_t n = (size_t)sqlite3_column_bytes(s, col);

	if (t == NULL) {
		if (sqlite3_column_type(s, col) != SQLITE_NULL)
			return tg_err_set(err, TG_ERR_TEMP, NULL,
			    "out of memory reading column %s",
			    sqlite3_column_name(s, col));
		out[0] = '\0';
		return 0;
	}
	if (n >= outlen || memchr(t, '\0', n) != NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "stored %s is longer than %zu bytes or holds a NUL byte",
		    sqlite3_column_name(s, col), outlen - 1);
	memcpy(out, t, n);
	out[n] = '\0';
	return 0;
}

int
tg_db_bind_text(sqlite3_stmt *s, int idx, const char *text)
{
	return sqlite3_bind_text(s, idx, text, -1, SQLITE_STATIC);
}

/* Run a constant statement, discarding rows; what names it in errors. */
static int
db_exec(sqlite3 *db, const char *sql, struct tg_err *err)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return tg_db_error(db, rc, sql, err);
	return 0;
}

/* Run a constant PRAGMA; copy the first column of its first row. */
static int
db_pragma(sqlite3 *db, const char *sql, char *val, size_t vallen,
    struct tg_err *err)
{
	sqlite3_stmt *s;
	int r;

	if (val != NULL)
		val[0] = '\0';
	if (tg_db_prepare(db, sql, &s, err) != 0) {
		tg_err_prefix(err, "%s", sql);
		return -1;
	}
	r = tg_db_step_row(db, s, err);
	if (r == 1 && val != NULL)
		r = tg_db_column_text(s, 0, val, vallen, err) == 0 ? 1 : -1;
	sqlite3_finalize(s);
	if (r < 0)
		tg_err_prefix(err, "%s", sql);
	return r < 0 ? -1 : 0;
}

static int
db_query_int(sqlite3 *db, const char *sql, long long *v, struct tg_err *err)
{
	sqlite3_stmt *s;
	int r;

	if (tg_db_prepare(db, sql, &s, err) != 0)
		return -1;
	r = tg_db_step_row(db, s, err);
	if (r == 1)
		*v = sqlite3_column_int64(s, 0);
	else if (r == 0)
		r = tg_err_set(err, TG_ERR_BUG, NULL, "%s returned no row",
		    sql);
	sqlite3_finalize(s);
	return r < 0 ? -1 : 0;
}

static int
db_harden(sqlite3 *db, struct tg_err *err)
{
	size_t i;
	int got;

	for (i = 0; i < sizeof(db_limits) / sizeof(db_limits[0]); i++)
		sqlite3_limit(db, db_limits[i].id, db_limits[i].value);
	for (i = 0; i < sizeof(db_switches) / sizeof(db_switches[0]); i++) {
		got = -1;
		if (sqlite3_db_config(db, db_switches[i].op, db_switches[i].on,
		    &got) != SQLITE_OK || got != db_switches[i].on)
			return tg_err_set(err, TG_ERR_BUG, NULL,
			    "sqlite refused connection setting %d",
			    db_switches[i].op);
	}
	return 0;
}

/*
 * Switch to WAL (persistent in the file, so usually already done). The
 * switch needs an exclusive lock, and sqlite answers SQLITE_BUSY without
 * calling the busy handler when two connections race for it (deadlock
 * avoidance) — as two daemons starting on a new file do. So retry here,
 * within the same busy timeout.
 */
static int
db_set_wal(sqlite3 *db, struct tg_err *err)
{
	long long deadline = tg_clock_mono_ms() + TG_STORE_BUSY_TIMEOUT_MS;
	char val[16];
	int rc;

	if (db_pragma(db, "PRAGMA journal_mode", val, sizeof(val), err) != 0)
		return -1;
	while (strcmp(val, "wal") != 0) {
		tg_err_clear(err);
		rc = db_pragma(db, "PRAGMA journal_mode = WAL", val,
		    sizeof(val), err);
		if (rc == 0 && strcmp(val, "wal") != 0)
			return tg_err_set(err, TG_ERR_TEMP, NULL, "cannot "
			    "switch to WAL mode (journal mode is %s)", val);
		if (rc != 0 && ((sqlite3_errcode(db) & 0xff) != SQLITE_BUSY ||
		    tg_clock_mono_ms() >= deadline))
			return -1;
		if (rc != 0)
			sqlite3_sleep(10);
	}
	return 0;
}

/* Connection pragmas, each read back: a silently ignored one is fatal. */
static int
db_settings(sqlite3 *db, unsigned int flags, struct tg_err *err)
{
	long long fk = 0, sync = 0;
	int ro = (flags & TG_DB_READONLY) != 0;

	sqlite3_busy_timeout(db, TG_STORE_BUSY_TIMEOUT_MS);
	if (db_exec(db, "PRAGMA foreign_keys = ON", err) != 0 ||
	    db_exec(db, "PRAGMA cell_size_check = ON", err) != 0)
		return -1;
	if (ro) {
		if (db_exec(db, "PRAGMA query_only = ON", err) != 0)
			return -1;
	} else {
		if (db_set_wal(db, err) != 0)
			return -1;
		if (db_exec(db, "PRAGMA synchronous = FULL", err) != 0 ||
		    db_query_int(db, "PRAGMA synchronous", &sync, err) != 0)
			return -1;
		if (sync != 2)
			return tg_err_set(err, TG_ERR_BUG, NULL,
			    "synchronous is %lld, not FULL", sync);
	}
	if (db_query_int(db, "PRAGMA foreign_keys", &fk, err) != 0)
		return -1;
	if (fk != 1)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "this sqlite does not enforce foreign keys");
	return 0;
}

static int
db_integrity(sqlite3 *db, unsigned int flags, struct tg_err *err)
{
	const char *sql = (flags & TG_DB_QUICK_CHECK) ?
	    "PRAGMA quick_check(1)" : "PRAGMA integrity_check(1)";
	char val[256];

	if (db_pragma(db, sql, val, sizeof(val), err) != 0) {
		tg_err_prefix(err, "integrity check failed");
		return -1;
	}
	if (strcmp(val, "ok") != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "integrity check failed: %s (the file is damaged; restore "
		    "a backup)", val);
	return 0;
}

static int
db_fk_check(sqlite3 *db, struct tg_err *err)
{
	char table[128];
	sqlite3_stmt *s;
	int r;

	if (tg_db_prepare(db, "PRAGMA foreign_key_check", &s, err) != 0)
		return -1;
	r = tg_db_step_row(db, s, err);
	if (r == 1) {
		if (tg_db_column_text(s, 0, table, sizeof(table), NULL) != 0)
			table[0] = '\0';
		r = tg_err_set(err, TG_ERR_PERM, NULL,
		    "foreign key check failed: table %s row %lld refers to a "
		    "missing row", table, sqlite3_column_int64(s, 1));
	}
	sqlite3_finalize(s);
	return r == 0 ? 0 : -1;
}

/*
 * Read the schema version and decide whether this file is ours: version 0
 * is only acceptable for an empty file; any other version needs our
 * application_id and must not be newer than the code.
 */
static int
db_read_version(sqlite3 *db, const struct tg_db_schema *sc,
    long long *version, struct tg_err *err)
{
	long long appid = 0, objects = 0;

	if (db_query_int(db, "PRAGMA user_version", version, err) != 0 ||
	    db_query_int(db, "PRAGMA application_id", &appid, err) != 0)
		return -1;
	if (*version == 0) {
		if (db_query_int(db, "SELECT count(*) FROM sqlite_schema",
		    &objects, err) != 0)
			return -1;
		if (objects != 0 || appid != 0)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "not a tlsgate %s database (it has tables but "
			    "no schema version)", sc->name);
		return 0;
	}
	if (appid != (long long)sc->application_id || *version < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "not a tlsgate %s database (application_id %lld)",
		    sc->name, appid);
	if (*version > (long long)sc->count)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "schema version %lld is newer than this tlsgate knows "
		    "(%zu): it was written by a newer release; upgrade tlsgate "
		    "or restore a backup", *version, sc->count);
	return 0;
}

/* Apply migration i (0-based) inside the caller's transaction. */
static int
db_apply(sqlite3 *db, const struct tg_db_schema *sc, size_t i,
    struct tg_err *err)
{
	long long version = -1, appid = -1;
	int rc;

	rc = sqlite3_exec(db, sc->migrations[i], NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		tg_db_error(db, rc, NULL, err);
		err->cls = (rc & 0xff) == SQLITE_BUSY ? TG_ERR_TEMP :
		    TG_ERR_BUG;
		tg_err_prefix(err, "%s migration %zu failed", sc->name, i + 1);
		return -1;
	}
	if (db_query_int(db, "PRAGMA user_version", &version, err) != 0 ||
	    db_query_int(db, "PRAGMA application_id", &appid, err) != 0)
		return -1;
	if (version != (long long)i + 1 ||
	    appid != (long long)sc->application_id)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "%s migration %zu left user_version %lld and "
		    "application_id %lld", sc->name, i + 1, version, appid);
	return 0;
}

static int
db_migrate(sqlite3 *db, const struct tg_db_schema *sc, unsigned int flags,
    struct tg_err *err)
{
	long long version;
	size_t i;
	int r;

	/* One read transaction: version and tables from the same state. */
	if (tg_db_begin(db, 0, err) != 0)
		return -1;
	r = db_read_version(db, sc, &version, err);
	tg_db_rollback(db);
	if (r != 0)
		return -1;
	if (version == (long long)sc->count)
		return 0;
	if (flags & TG_DB_READONLY)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "schema version %lld is older than this tlsgate's (%zu); "
		    "open it read-write once to migrate it", version,
		    sc->count);
	if (tg_db_begin(db, 1, err) != 0)
		return -1;
	/* Again under the write lock: another process may have migrated. */
	if (db_read_version(db, sc, &version, err) != 0)
		goto fail;
	for (i = (size_t)version; i < sc->count; i++)
		if (db_apply(db, sc, i, err) != 0)
			goto fail;
	return tg_db_commit(db, err);
fail:
	tg_db_rollback(db);
	return -1;
}

static const char db_schema_sql[] =
    "SELECT type, name, sql FROM sqlite_schema"
    " WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    " ORDER BY type, name";

static const char *
db_col(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return t != NULL ? (const char *)t : "";
}

/*
 * Compare the current rows of two schema listings ordered by (type,
 * name); a missing row (ended listing) sorts last. Returns <0 if only the
 * file has a, >0 if only the reference has b, 0 for the same object.
 */
static int
db_schema_cmp(sqlite3_stmt *a, int ra, sqlite3_stmt *b, int rb)
{
	int c;

	if (ra != 1 || rb != 1)
		return ra == 1 ? -1 : 1;
	c = strcmp(db_col(a, 0), db_col(b, 0));
	return c != 0 ? c : strcmp(db_col(a, 1), db_col(b, 1));
}

static int
db_schema_diff(sqlite3 *db, sqlite3 *ref, const struct tg_db_schema *sc,
    struct tg_err *err)
{
	sqlite3_stmt *a = NULL, *b = NULL;
	int ra, rb, c, ret = -1;

	if (tg_db_prepare(db, db_schema_sql, &a, err) != 0 ||
	    tg_db_prepare(ref, db_schema_sql, &b, err) != 0)
		goto out;
	ra = tg_db_step_row(db, a, err);
	rb = tg_db_step_row(ref, b, err);
	while (ra == 1 || rb == 1) {
		c = db_schema_cmp(a, ra, b, rb);
		if (c < 0 || c > 0 || strcmp(db_col(a, 2), db_col(b, 2)) != 0) {
			sqlite3_stmt *x = c <= 0 ? a : b;
			tg_err_set(err, TG_ERR_PERM, NULL, "schema differs "
			    "from %s version %zu: %s %s '%s'", sc->name,
			    sc->count, c < 0 ? "unexpected" : c > 0 ?
			    "missing" : "altered", db_col(x, 0), db_col(x, 1));
			goto out;
		}
		ra = tg_db_step_row(db, a, err);
		rb = tg_db_step_row(ref, b, err);
	}
	ret = ra < 0 || rb < 0 ? -1 : 0;
out:
	sqlite3_finalize(a);
	sqlite3_finalize(b);
	return ret;
}

/*
 * The reference schema is what migrations 1..N produce in a fresh
 * in-memory database; the file must match it object for object.
 */
static int
db_verify_schema(sqlite3 *db, const struct tg_db_schema *sc,
    struct tg_err *err)
{
	sqlite3 *ref = NULL;
	size_t i;
	int rc, ret = -1;

	rc = sqlite3_open_v2(":memory:", &ref, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		tg_db_error(ref, rc, "in-memory reference schema", err);
		goto out;
	}
	if (db_harden(ref, err) != 0)
		goto out;
	for (i = 0; i < sc->count; i++)
		if (db_apply(ref, sc, i, err) != 0)
			goto out;
	ret = db_schema_diff(db, ref, sc, err);
out:
	sqlite3_close(ref);
	return ret;
}

/* Create the file 0600 if missing (read-write), or require it (read-only). */
static int
db_create_file(const char *path, unsigned int flags, struct tg_err *err)
{
	struct stat sb;
	int fd;

	if (flags & TG_DB_READONLY) {
		if (lstat(path, &sb) != 0)
			return tg_err_set(err, errno == ENOENT || errno ==
			    EACCES ? TG_ERR_PERM : TG_ERR_TEMP, NULL,
			    "cannot open: %s", strerror(errno));
		if (!S_ISREG(sb.st_mode))
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "not a regular file");
		return 0;
	}
	/*
	 * Never open() an existing database here: closing any descriptor of
	 * the file drops every POSIX lock the process holds on it, those of
	 * its other sqlite connections included (sqlite's unix VFS guards
	 * only its own descriptors). Another process may then take the lock
	 * it needs to delete the WAL under those connections, which go on
	 * reading — and writing — a file no one else sees.
	 */
	if (lstat(path, &sb) == 0) {
		if (!S_ISREG(sb.st_mode))
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "not a regular file");
		return 0;
	}
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0 && errno == EEXIST)
		return 0;	/* made by another process meanwhile */
	if (fd < 0)
		return tg_err_set(err, errno == EIO || errno == ENOSPC ||
		    errno == EMFILE || errno == ENFILE ? TG_ERR_TEMP :
		    TG_ERR_PERM, NULL, "cannot open or create: %s",
		    strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "not a regular file");
	}
	close(fd);
	return 0;
}

static int
db_connect(const char *path, unsigned int flags, sqlite3 **db,
    struct tg_err *err)
{
	int oflags = SQLITE_OPEN_NOFOLLOW, rc;

	if (db_create_file(path, flags, err) != 0)
		return -1;
	oflags |= (flags & TG_DB_READONLY) ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE;
	rc = sqlite3_open_v2(path, db, oflags, NULL);
	if (rc != SQLITE_OK)
		return tg_db_error(*db, rc, "cannot open", err);
	sqlite3_extended_result_codes(*db, 1);
	return 0;
}

int
tg_db_open(const char *path, const struct tg_db_schema *schema,
    unsigned int flags, sqlite3 **out, struct tg_err *err)
{
	sqlite3 *db = NULL;

	*out = NULL;
	tg_err_clear(err);
	if (db_connect(path, flags, &db, err) != 0 ||
	    db_harden(db, err) != 0 ||
	    db_settings(db, flags, err) != 0 ||
	    db_integrity(db, flags, err) != 0 ||
	    db_migrate(db, schema, flags, err) != 0 ||
	    db_verify_schema(db, schema, err) != 0 ||
	    db_fk_check(db, err) != 0) {
		tg_err_prefix(err, "%s", path);
		sqlite3_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

void
tg_db_close(sqlite3 *db)
{
	int rc;

	if (db == NULL)
		return;
	rc = sqlite3_close(db);
	assert(rc == SQLITE_OK);	/* a statement left unfinalized */
	(void)rc;
}

int
tg_db_begin(sqlite3 *db, int write, struct tg_err *err)
{
	return db_exec(db, write ? "BEGIN IMMEDIATE" : "BEGIN", err);
}

int
tg_db_commit(sqlite3 *db, struct tg_err *err)
{
	if (db_exec(db, "COMMIT", err) != 0) {
		tg_db_rollback(db);
		return -1;
	}
	return 0;
}

void
tg_db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int
tg_db_unit_begin(sqlite3 *db, int *nested, struct tg_err *err)
{
	*nested = !sqlite3_get_autocommit(db);
	return *nested ? db_exec(db, "SAVEPOINT tg_unit", err) :
	    tg_db_begin(db, 1, err);
}

int
tg_db_unit_commit(sqlite3 *db, int nested, struct tg_err *err)
{
	if (!nested)
		return tg_db_commit(db, err);
	if (db_exec(db, "RELEASE tg_unit", err) != 0) {
		tg_db_unit_rollback(db, nested);
		return -1;
	}
	return 0;
}

void
tg_db_unit_rollback(sqlite3 *db, int nested)
{
	if (!nested) {
		tg_db_rollback(db);
		return;
	}
	/* ROLLBACK TO keeps the savepoint open: release it as well. */
	(void)sqlite3_exec(db, "ROLLBACK TO tg_unit", NULL, NULL, NULL);
	(void)sqlite3_exec(db, "RELEASE tg_unit", NULL, NULL, NULL);
}
