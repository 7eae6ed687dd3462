/*
 * Unit tests of the configuration store as a file: creation, migration
 * state, reopening, refusal of newer / foreign / tampered / corrupt files,
 * read-only use, the generation counter, snapshots and meta.
 * Rows of each table are tested in test_store_domain.c and
 * test_store_misc.c; the generic migration runner in test_store_db.c.
 */
#include "test_store_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "store/schema.h"

/* Open config.db of dir with plain sqlite, to look at it from outside. */
static sqlite3 *
raw_open(const char *dir)
{
	char path[128];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/config.db", dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	return db;
}

static long long
raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	long long v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void
raw_exec(const char *dir, const char *sql)
{
	sqlite3 *db = raw_open(dir);
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static void
add_domain(struct tg_store *st, const char *name)
{
	struct tg_store_domain d;
	struct tg_err err;

	tg_store_domain_init(&d);
	snprintf(d.name, sizeof(d.name), "%s", name);
	if (tg_store_domain_add(st, &d, &err) != 0)
		fail_msg("add %s: %s", name, err.msg);
}

/* Expect tg_store_open (and the read-only open) of dir to fail with a
 * permanent error containing want. */
static void
assert_open_refused(const char *dir, const char *want)
{
	struct tg_store *st = NULL;
	struct tg_err err;

	assert_int_equal(tg_store_open(dir, &st, &err), -1);
	assert_null(st);
	assert_perm_msg(err, want);
	assert_non_null(strstr(err.msg, "config.db"));
	assert_int_equal(tg_store_open_readonly(dir, &st, &err), -1);
	assert_null(st);
	assert_perm_msg(err, want);
}

static void
test_open_creates_and_migrates(void **state)
{
	struct fx *f = *state;
	char path[128];
	struct stat sb;
	sqlite3 *db;
	sqlite3_stmt *s;

	snprintf(path, sizeof(path), "%s/config.db", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(generation(f->st), 1);
	/* The write-ahead log holds the same data: the same mode. */
	snprintf(path, sizeof(path), "%s/config.db-wal", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	tg_store_close(f->st);
	f->st = NULL;
	db = raw_open(f->dir);
	assert_int_equal(raw_int(db, "PRAGMA user_version"),
	    (long long)tg_schema_config.count);
	assert_true(tg_schema_config.count >= 1);
	assert_int_equal(raw_int(db, "PRAGMA application_id"),
	    TG_SCHEMA_CONFIG_APPID);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(db);
}

static void
test_reopen_keeps_data(void **state)
{
	struct fx *f = *state;
	struct tg_store_domain d;
	struct tg_err err;
	int64_t gen;

	add_domain(f->st, "example.org");
	gen = generation(f->st);
	tg_store_close(f->st);
	assert_int_equal(tg_store_open(f->dir, &f->st, &err), 0);
	assert_int_equal(generation(f->st), gen);
	assert_int_equal(tg_store_domain_get(f->st, "example.org", &d, &err),
	    0);
	assert_string_equal(d.name, "example.org");
}

static void
test_newer_schema_refused(void **state)
{
	struct fx *f = *state;
	struct tg_store *st;
	struct tg_err err;
	char sql[64];

	tg_store_close(f->st);
	f->st = NULL;
	raw_exec(f->dir, "PRAGMA user_version = 99");
	assert_open_refused(f->dir, "schema version 99 is newer");
	/* Nothing was written: back at its real version, it opens. */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu",
	    (size_t)tg_schema_config.count);
	raw_exec(f->dir, sql);
	assert_int_equal(tg_store_open(f->dir, &st, &err), 0);
	tg_store_close(st);
}

static void
test_foreign_file_refused(void **state)
{
	struct fx *f = *state;

	tg_store_close(f->st);
	f->st = NULL;
	raw_exec(f->dir, "PRAGMA application_id = 7");
	assert_open_refused(f->dir, "not a tlsgate config database");
	raw_exec(f->dir, "PRAGMA application_id = 0; PRAGMA user_version = 0");
	assert_open_refused(f->dir, "has tables but no schema version");
}

static void
test_tampered_schema_refused(void **state)
{
	struct fx *f = *state;
	struct tg_store *st;
	struct tg_err err;

	tg_store_close(f->st);
	f->st = NULL;
	raw_exec(f->dir, "CREATE TRIGGER evil AFTER DELETE ON domains "
	    "BEGIN DELETE FROM admin_users; END");
	assert_open_refused(f->dir, "unexpected trigger 'evil'");
	raw_exec(f->dir, "DROP TRIGGER evil; CREATE INDEX extra ON "
	    "domains (updated)");
	assert_open_refused(f->dir, "unexpected index 'extra'");
	raw_exec(f->dir, "DROP INDEX extra; DROP INDEX "
	    "certificates_one_current");
	assert_open_refused(f->dir, "missing index 'certificates_one_current'");
	/* Put back exactly as migration 1 wrote it: accepted again. */
	raw_exec(f->dir, "CREATE UNIQUE INDEX certificates_one_current\n"
	    "  ON certificates (name, role) WHERE state = 'current'");
	if (tg_store_open(f->dir, &st, &err) != 0)
		fail_msg("%s", err.msg);
	tg_store_close(st);
	raw_exec(f->dir, "DROP INDEX certificates_one_current; "
	    "CREATE UNIQUE INDEX certificates_one_current ON "
	    "certificates (name, role)");
	assert_open_refused(f->dir, "altered index 'certificates_one_current'");
}

static void
copy_file(const char *from, const char *to)
{
	char buf[4096];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/* Overwrite len bytes at offset of path with garbage. */
static void
scribble(const char *path, long offset, size_t len)
{
	FILE *fp = fopen(path, "r+b");
	size_t i;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, offset, SEEK_SET), 0);
	for (i = 0; i < len; i++)
		fputc((int)((i * 131 + 7) & 0xff), fp);
	assert_int_equal(fclose(fp), 0);
}

static void
test_corrupt_file_refused(void **state)
{
	struct fx *f = *state;
	char src[128], dir2[64], dst[128], dir3[64], dst3[128];
	struct tg_store *st;
	struct tg_err err;
	struct stat sb;
	off_t schema_end;
	int i;

	/* The pages of the empty schema (closed: the WAL is checkpointed).
	 * The rows below go to the pages after them. */
	tg_store_close(f->st);
	snprintf(src, sizeof(src), "%s/config.db", f->dir);
	assert_int_equal(stat(src, &sb), 0);
	schema_end = sb.st_size;
	assert_int_equal(tg_store_open(f->dir, &f->st, &err), 0);
	for (i = 0; i < 300; i++) {
		char net[32];
		snprintf(net, sizeof(net), "10.%d.%d.0/24", i / 256, i % 256);
		assert_int_equal(tg_store_relay_add(f->st, net,
		    "a note long enough to fill a few pages of the table",
		    &err), 0);
	}
	tg_store_close(f->st);
	f->st = NULL;
	assert_int_equal(stat(src, &sb), 0);
	assert_true(sb.st_size > schema_end + 4 * 4096);
	/* The pages of the rows: the header and the schema are fine (it
	 * spans more than the first page), the b-trees are not. */
	make_tmpdir(dir2, sizeof(dir2));
	snprintf(dst, sizeof(dst), "%s/config.db", dir2);
	copy_file(src, dst);
	scribble(dst, schema_end, (size_t)(sb.st_size - schema_end));
	assert_int_equal(tg_store_open(dir2, &st, &err), -1);
	assert_non_null(strstr(err.msg, dst));
	assert_non_null(strstr(err.msg, "integrity check failed"));
	assert_non_null(strstr(err.msg, "restore a backup"));
	/* The header itself. */
	make_tmpdir(dir3, sizeof(dir3));
	snprintf(dst3, sizeof(dst3), "%s/config.db", dir3);
	copy_file(src, dst3);
	scribble(dst3, 0, 100);
	assert_int_equal(tg_store_open_readonly(dir3, &st, &err), -1);
	assert_non_null(strstr(err.msg, "not a tlsgate database"));
	/* The original is untouched and still opens. */
	assert_int_equal(tg_store_open(f->dir, &f->st, &err), 0);
	rmtree(dir2);
	rmtree(dir3);
}

static void
test_readonly_missing_fails_cleanly(void **state)
{
	char dir[64], path[128];
	struct tg_store *st = NULL;
	struct tg_err err;
	struct stat sb;

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	assert_int_equal(tg_store_open_readonly(dir, &st, &err), -1);
	assert_null(st);
	assert_perm_msg(err, "no configuration database at");
	snprintf(path, sizeof(path), "%s/config.db", dir);
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(errno, ENOENT);
	rmtree(dir);
	/* A missing state directory is refused too, with the reason. */
	assert_int_equal(tg_store_open(dir, &st, &err), -1);
	assert_non_null(strstr(err.msg, "No such file or directory"));
}

static void
test_readonly_reads_only(void **state)
{
	struct fx *f = *state;
	struct tg_store *ro;
	struct tg_store_domain d;
	struct tg_err err;
	struct census before, after;

	add_domain(f->st, "example.org");
	assert_int_equal(tg_store_admin_add(f->st, "root", "$x$y", &err), 0);
	tg_store_close(f->st);
	f->st = NULL;
	assert_int_equal(tg_store_open_readonly(f->dir, &ro, &err), 0);
	take_census(ro, &before);
	assert_int_equal(tg_store_domain_get(ro, "example.org", &d, &err), 0);
	tg_store_domain_init(&d);
	snprintf(d.name, sizeof(d.name), "example.net");
	assert_int_equal(tg_store_domain_add(ro, &d, &err), -1);
	assert_perm_msg(err, "read-only");
	assert_int_equal(tg_store_relay_add(ro, "192.0.2.0/24", NULL, &err),
	    -1);
	assert_perm_msg(err, "read-only");
	assert_int_equal(tg_store_admin_set_last_login(ro, "root", 5, &err),
	    -1);
	assert_perm_msg(err, "read-only");
	take_census(ro, &after);
	assert_census_equal(&before, &after);
	tg_store_close(ro);
}

static void
test_symlink_refused(void **state)
{
	char dir[64], target[128], link[128];
	struct tg_store *st;
	struct tg_err err;
	FILE *fp;

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	snprintf(link, sizeof(link), "%s/config.db", dir);
	fp = fopen(target, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(tg_store_open(dir, &st, &err), -1);
	assert_int_equal(tg_store_open_readonly(dir, &st, &err), -1);
	rmtree(dir);
}

static int
stop_at_first(const struct tg_store_domain *d, void *arg)
{
	(void)d;
	(*(int *)arg)++;
	return 1;
}

/* Every kind of write bumps the generation by exactly one. */
static void
test_generation_bumps_on_writes_only(void **state)
{
	struct fx *f = *state;
	struct tg_store_domain d;
	struct tg_store_cert c;
	struct tg_store_admin a;
	struct tg_err err;
	struct census cs;
	int64_t g = generation(f->st), id;
	char val[16];
	int n = 0;

#define WROTE(call) do {						\
	if ((call) != 0)						\
		fail_msg("%s: %s", #call, err.msg);			\
	assert_int_equal(generation(f->st), ++g);			\
} while (0)
#define READ(call) do {							\
	assert_int_equal((call), 0);					\
	assert_int_equal(generation(f->st), g);				\
} while (0)
	tg_store_domain_init(&d);
	snprintf(d.name, sizeof(d.name), "example.org");
	WROTE(tg_store_domain_add(f->st, &d, &err));
	d.sts_mode = TG_STORE_STS_TESTING;
	WROTE(tg_store_domain_update(f->st, &d, &err));
	READ(tg_store_domain_get(f->st, "example.org", &d, &err));
	READ(tg_store_domain_list(f->st, stop_at_first, &n, &err));
	WROTE(tg_store_domain_remove(f->st, "example.org", &err));
	WROTE(tg_store_relay_add(f->st, "192.0.2.0/24", "lab", &err));
	WROTE(tg_store_relay_remove(f->st, "192.0.2.0/24", &err));
	WROTE(tg_store_dest_set(f->st, "example.net", TG_STORE_DEST_ENCRYPT,
	    NULL, &err));
	WROTE(tg_store_dest_remove(f->st, "example.net", &err));
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "mx.example.org");
	snprintf(c.cert_path, sizeof(c.cert_path), "/s/c.pem");
	snprintf(c.key_path, sizeof(c.key_path), "/s/k.pem");
	memset(c.spki_sha256, 'a', 64);
	WROTE(tg_store_cert_add(f->st, &c, &id, &err));
	READ(tg_store_cert_get(f->st, id, &c, &err));
	WROTE(tg_store_cert_set_state(f->st, id, TG_STORE_CERT_RETIRED, &err));
	WROTE(tg_store_cert_promote(f->st, id, &err));
	WROTE(tg_store_cert_set_tlsa_state(f->st, id, TG_STORE_TLSA_PUBLISHED,
	    &err));
	WROTE(tg_store_cert_remove(f->st, id, &err));
	WROTE(tg_store_admin_add(f->st, "root", "$argon2id$x", &err));
	WROTE(tg_store_admin_set_hash(f->st, "root", "$argon2id$y", &err));
	READ(tg_store_admin_get(f->st, "root", &a, &err));
	/* A login is not configuration. */
	READ(tg_store_admin_set_last_login(f->st, "root", 1000, &err));
	WROTE(tg_store_admin_remove(f->st, "root", &err));
	WROTE(tg_store_meta_set(f->st, "acme.account", "x", &err));
	READ(tg_store_meta_get(f->st, "acme.account", val, sizeof(val), &err));
	take_census(f->st, &cs);
	assert_int_equal(cs.gen, g);
	/* A write that finds nothing changes nothing. */
	assert_int_equal(tg_store_domain_remove(f->st, "example.org", &err),
	    TG_STORE_NOTFOUND);
	assert_int_equal(generation(f->st), g);
#undef WROTE
#undef READ
}

static void
test_two_handles_and_snapshot(void **state)
{
	struct fx *f = *state;
	struct tg_store *other;
	struct tg_store_domain d;
	struct tg_err err;
	int64_t g;

	assert_int_equal(tg_store_open(f->dir, &other, &err), 0);
	g = generation(other);
	add_domain(f->st, "example.org");
	assert_int_equal(generation(other), g + 1);
	assert_int_equal(tg_store_snapshot_begin(other, &err), 0);
	assert_int_equal(tg_store_snapshot_begin(other, &err), -1);
	add_domain(f->st, "example.net");
	/* Inside the snapshot nothing moves. */
	assert_int_equal(generation(other), g + 1);
	assert_int_equal(tg_store_domain_get(other, "example.net", &d, &err),
	    TG_STORE_NOTFOUND);
	tg_store_domain_init(&d);
	snprintf(d.name, sizeof(d.name), "example.com");
	assert_int_equal(tg_store_domain_add(other, &d, &err), -1);
	assert_int_equal(err.cls, TG_ERR_BUG);
	tg_store_snapshot_end(other);
	assert_int_equal(generation(other), g + 2);
	assert_int_equal(tg_store_domain_get(other, "example.net", &d, &err),
	    0);
	tg_store_close(other);
}

static void
test_meta(void **state)
{
	struct fx *f = *state;
	struct tg_err err;
	char val[8], big[TG_STORE_TEXT_MAX + 2];

	assert_int_equal(tg_store_meta_get(f->st, "k", val, sizeof(val),
	    &err), TG_STORE_NOTFOUND);
	assert_int_equal(tg_store_meta_set(f->st, "k", "'; DROP", &err), 0);
	assert_int_equal(tg_store_meta_get(f->st, "k", val, sizeof(val),
	    &err), 0);
	assert_string_equal(val, "'; DROP");
	assert_int_equal(tg_store_meta_set(f->st, "k", "v2", &err), 0);
	assert_int_equal(tg_store_meta_get(f->st, "k", val, sizeof(val),
	    &err), 0);
	assert_string_equal(val, "v2");
	assert_int_equal(tg_store_meta_set(f->st, "k", "too long!", &err), 0);
	assert_int_equal(tg_store_meta_get(f->st, "k", val, sizeof(val),
	    &err), -1);
	assert_perm_msg(err, "stored value is longer than 7 bytes");
	assert_int_equal(tg_store_meta_set(f->st, "Bad Key", "v", &err), -1);
	assert_perm_msg(err, "key:");
	assert_int_equal(tg_store_meta_set(f->st, "k", NULL, &err), -1);
	assert_perm_msg(err, "value:");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(tg_store_meta_set(f->st, "k", big, &err), -1);
	assert_perm_msg(err, "value: longer than");
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_open_creates_and_migrates),
		T(test_reopen_keeps_data),
		T(test_newer_schema_refused),
		T(test_foreign_file_refused),
		T(test_tampered_schema_refused),
		T(test_corrupt_file_refused),
		cmocka_unit_test(test_readonly_missing_fails_cleanly),
		T(test_readonly_reads_only),
		cmocka_unit_test(test_symlink_refused),
		T(test_generation_bumps_on_writes_only),
		T(test_two_handles_and_snapshot),
		T(test_meta),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
