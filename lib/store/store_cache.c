/*
 * store/store_cache — cache.db: open, the MTA-STS policy cache rows.
 * See cache.h; the table is in schema_cache.c.
 */
#include "store/cache.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "util/dname.h"
#include "util/path.h"

struct tg_cache {
	sqlite3 *db;		/* owned */
	int readonly;
};

static const char *const cache_mode_names[] = { "none", "testing",
    "enforce" };

#define CACHE_COLUMNS \
	"domain, has_policy, mode, max_age, mx, body, policy_id, " \
	"fetched_at, expires_at, txt_id, txt_seen_at, attempt_at, " \
	"attempt_id, attempt_ok, attempt_result, attempt_error, failures, " \
	"updated"

static const char sql_get[] =
    "SELECT " CACHE_COLUMNS " FROM sts_cache WHERE domain = ?1";
static const char sql_list[] =
    "SELECT " CACHE_COLUMNS " FROM sts_cache ORDER BY domain";
static const char sql_attempt[] =
    "INSERT INTO sts_cache (domain, attempt_at, attempt_id, attempt_ok, "
    "attempt_result, attempt_error, failures, updated) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1 - ?4, ?7) "
    "ON CONFLICT (domain) DO UPDATE SET "
    "attempt_at = excluded.attempt_at, attempt_id = excluded.attempt_id, "
    "attempt_ok = excluded.attempt_ok, "
    "attempt_result = excluded.attempt_result, "
    "attempt_error = excluded.attempt_error, "
    "failures = CASE WHEN excluded.attempt_ok = 1 THEN 0 "
    "ELSE sts_cache.failures + 1 END, updated = excluded.updated";
/* An older fetch never replaces a newer policy (two writers). */
static const char sql_policy[] =
    "INSERT INTO sts_cache (domain, has_policy, mode, max_age, mx, body, "
    "policy_id, fetched_at, expires_at, updated) "
    "VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
    "ON CONFLICT (domain) DO UPDATE SET has_policy = 1, "
    "mode = excluded.mode, max_age = excluded.max_age, mx = excluded.mx, "
    "body = excluded.body, policy_id = excluded.policy_id, "
    "fetched_at = excluded.fetched_at, expires_at = excluded.expires_at, "
    "updated = excluded.updated "
    "WHERE sts_cache.has_policy = 0 "
    "OR sts_cache.fetched_at <= excluded.fetched_at";
static const char sql_txt[] =
    "INSERT INTO sts_cache (domain, txt_id, txt_seen_at, updated) "
    "VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (domain) DO UPDATE SET txt_id = excluded.txt_id, "
    "txt_seen_at = excluded.txt_seen_at, updated = excluded.updated";
static const char sql_remove[] = "DELETE FROM sts_cache WHERE domain = ?1";

const char *
tg_cache_sts_mode_name(int mode)
{
	if (mode >= 0 && (size_t)mode < sizeof(cache_mode_names) /
	    sizeof(cache_mode_names[0]))
		return cache_mode_names[mode];
	return "invalid";
}

/* ---- open, close ---- */

static int
cache_open(const char *state_dir, unsigned int flags, struct tg_cache **out,
    struct tg_err *err)
{
	char path[TG_PATH_MAX];
	struct tg_cache *c;

	*out = NULL;
	tg_err_clear(err);
	if (state_dir == NULL || state_dir[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "no state directory configured");
	if (tg_path_fmt(path, sizeof(path), "%s/%s", state_dir,
	    TG_CACHE_FILE) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "state directory path is too long");
	if ((flags & TG_DB_READONLY) && access(path, F_OK) != 0 &&
	    errno == ENOENT)
		return tg_err_set(err, TG_ERR_PERM, NULL, "no cache database "
		    "at %s (nothing cached yet)", path);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	if (tg_db_open(path, &tg_schema_cache, flags, &c->db, err) != 0) {
		free(c);
		return -1;
	}
	c->readonly = (flags & TG_DB_READONLY) != 0;
	*out = c;
	return 0;
}

int
tg_cache_open(const char *state_dir, struct tg_cache **out,
    struct tg_err *err)
{
	return cache_open(state_dir, 0, out, err);
}

int
tg_cache_open_readonly(const char *state_dir, struct tg_cache **out,
    struct tg_err *err)
{
	return cache_open(state_dir, TG_DB_READONLY, out, err);
}

void
tg_cache_close(struct tg_cache *c)
{
	if (c == NULL)
		return;
	tg_db_rollback(c->db);
	tg_db_close(c->db);
	free(c);
}

/* ---- value checks (the same on the way in and out) ---- */

/* RFC 8461 §3.1: id = 1*32(ALPHA / DIGIT); "" allowed where empty is. */
static int
cache_check_id(const char *field, const char *id, int may_be_empty,
    struct tg_err *err)
{
	size_t i, n = strlen(id);

	if (n == 0 && may_be_empty)
		return 0;
	if (n == 0 || n > TG_STS_ID_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: must be 1 to %d "
		    "letters or digits", field, TG_STS_ID_MAX);
	for (i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9')))
			return tg_err_set(err, TG_ERR_PERM, NULL, "%s: '%s' "
			    "has a character other than a letter or digit",
			    field, id);
	return 0;
}

/* An mx pattern: a domain name, "*." allowed as the first label. */
static int
cache_check_pattern(const char *pat, struct tg_err *err)
{
	char d[TG_DNAME_MAX + 1];
	const char *name = pat;
	struct tg_err e2;

	if (strncmp(pat, "*.", 2) == 0)
		name = pat + 2;
	if (tg_dname_normalize(name, d, sizeof(d), &e2) != 0 ||
	    strcmp(d, name) != 0 || strlen(pat) > TG_DNAME_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "mx: '%s' is not a "
		    "stored mx pattern (lower case, no trailing dot)", pat);
	return 0;
}

static int
cache_check_policy(const struct tg_cache_sts_policy *p, struct tg_err *err)
{
	size_t i;

	if (p->mode < TG_CACHE_STS_NONE || p->mode > TG_CACHE_STS_ENFORCE)
		return tg_err_set(err, TG_ERR_PERM, NULL, "mode: %d is not a "
		    "policy mode", p->mode);
	if (p->max_age < 0 || p->max_age > TG_STS_MAX_AGE_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "max_age: %ld is out "
		    "of range 0..%ld", p->max_age, TG_STS_MAX_AGE_MAX);
	if (p->n_mx > TG_STS_MX_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "mx: more than %d "
		    "patterns", TG_STS_MX_MAX);
	for (i = 0; i < p->n_mx; i++)
		if (cache_check_pattern(p->mx[i], err) != 0)
			return -1;
	if (p->body_len > TG_STS_BODY_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "body: longer "
		    "than %d bytes", TG_STS_BODY_MAX);
	if (cache_check_id("policy_id", p->id, 0, err) != 0)
		return -1;
	if (p->fetched_at < 0 || p->expires_at != p->fetched_at + p->max_age)
		return tg_err_set(err, TG_ERR_PERM, NULL, "expires_at: must be "
		    "fetched_at + max_age");
	return 0;
}

static int
cache_check_attempt(const struct tg_cache_sts_attempt *a, struct tg_err *err)
{
	if (a->at < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "attempt_at: negative");
	if (cache_check_id("attempt_id", a->id, 1, err) != 0)
		return -1;
	if (strlen(a->result) > TG_CACHE_RESULT_MAX ||
	    strlen(a->error) >= TG_CACHE_ERROR_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "attempt: result or "
		    "error text too long");
	return 0;
}

/* ---- reading a row ---- */

/* Split the stored "a b c" mx text into p->mx. */
static int
cache_split_mx(const char *text, struct tg_cache_sts_policy *p,
    struct tg_err *err)
{
	const char *s = text, *sp;
	size_t n;

	p->n_mx = 0;
	while (*s != '\0') {
		sp = strchr(s, ' ');
		n = sp != NULL ? (size_t)(sp - s) : strlen(s);
		if (n == 0 || n > TG_DNAME_MAX || p->n_mx == TG_STS_MX_MAX)
			return tg_err_set(err, TG_ERR_PERM, NULL, "stored mx "
			    "list is malformed");
		memcpy(p->mx[p->n_mx], s, n);
		p->mx[p->n_mx++][n] = '\0';
		s += n + (sp != NULL);
		if (sp != NULL && *s == '\0')
			return tg_err_set(err, TG_ERR_PERM, NULL, "stored mx "
			    "list is malformed");
	}
	return 0;
}

static int
cache_read_policy(sqlite3_stmt *s, struct tg_cache_sts_policy *p,
    struct tg_err *err)
{
	char mode[16], mx[TG_STS_MX_MAX * (TG_DNAME_MAX + 1) + 1];
	int n, i;

	if (tg_db_column_text(s, 2, mode, sizeof(mode), err) != 0 ||
	    tg_db_column_text(s, 4, mx, sizeof(mx), err) != 0 ||
	    tg_db_column_text(s, 6, p->id, sizeof(p->id), err) != 0)
		return -1;
	p->mode = -1;
	for (i = 0; i <= TG_CACHE_STS_ENFORCE; i++)
		if (strcmp(mode, cache_mode_names[i]) == 0)
			p->mode = i;
	p->max_age = (long)sqlite3_column_int64(s, 3);
	if (cache_split_mx(mx, p, err) != 0)
		return -1;
	n = sqlite3_column_bytes(s, 5);
	if (n < 0 || (size_t)n > sizeof(p->body))
		return tg_err_set(err, TG_ERR_PERM, NULL, "stored body is "
		    "too long");
	if (n > 0)
		memcpy(p->body, sqlite3_column_blob(s, 5), (size_t)n);
	p->body_len = (size_t)n;
	p->fetched_at = (time_t)sqlite3_column_int64(s, 7);
	p->expires_at = (time_t)sqlite3_column_int64(s, 8);
	return 0;
}

static int
cache_read_row(sqlite3_stmt *s, struct tg_cache_sts *r, struct tg_err *err)
{
	struct tg_cache_sts_attempt *a = &r->attempt;

	memset(r, 0, sizeof(*r));
	if (tg_db_column_text(s, 0, r->domain, sizeof(r->domain), err) != 0 ||
	    tg_db_column_text(s, 9, r->txt_id, sizeof(r->txt_id), err) != 0 ||
	    tg_db_column_text(s, 12, a->id, sizeof(a->id), err) != 0 ||
	    tg_db_column_text(s, 14, a->result, sizeof(a->result), err) != 0 ||
	    tg_db_column_text(s, 15, a->error, sizeof(a->error), err) != 0)
		return -1;
	r->has_policy = sqlite3_column_int(s, 1) != 0;
	if (r->has_policy && (cache_read_policy(s, &r->policy, err) != 0 ||
	    cache_check_policy(&r->policy, err) != 0)) {
		tg_err_prefix(err, "cached policy of %s", r->domain);
		return -1;
	}
	r->txt_seen_at = (time_t)sqlite3_column_int64(s, 10);
	a->at = (time_t)sqlite3_column_int64(s, 11);
	a->ok = sqlite3_column_int(s, 13) != 0;
	a->failures = (unsigned)sqlite3_column_int64(s, 16);
	r->updated = (time_t)sqlite3_column_int64(s, 17);
	if (cache_check_id("txt_id", r->txt_id, 1, err) != 0 ||
	    cache_check_attempt(a, err) != 0) {
		tg_err_prefix(err, "cache row of %s", r->domain);
		return -1;
	}
	return 0;
}

int
tg_cache_sts_get(struct tg_cache *c, const char *domain,
    struct tg_cache_sts *out, struct tg_err *err)
{
	char d[TG_DNAME_MAX + 1];
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (tg_dname_normalize(domain, d, sizeof(d), err) != 0)
		return -1;
	if (tg_db_prepare(c->db, sql_get, &s, err) != 0)
		return -1;
	if (tg_db_bind_text(s, 1, d) != SQLITE_OK) {
		sqlite3_finalize(s);
		return tg_db_error(c->db, SQLITE_ERROR, "bind", err);
	}
	r = tg_db_step_row(c->db, s, err);
	if (r == 1)
		r = cache_read_row(s, out, err) == 0 ? 0 : -1;
	else if (r == 0)
		r = TG_CACHE_NOTFOUND;
	sqlite3_finalize(s);
	return r;
}

int
tg_cache_sts_list(struct tg_cache *c, tg_cache_sts_fn fn, void *ctx,
    struct tg_err *err)
{
	struct tg_cache_sts *row;
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if ((row = malloc(sizeof(*row))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	if (tg_db_begin(c->db, 0, err) != 0) {
		free(row);
		return -1;
	}
	if (tg_db_prepare(c->db, sql_list, &s, err) != 0) {
		tg_db_rollback(c->db);
		free(row);
		return -1;
	}
	while ((r = tg_db_step_row(c->db, s, err)) == 1) {
		if (cache_read_row(s, row, err) != 0) {
			r = -1;
			break;
		}
		if ((r = fn(row, ctx, err)) != 0)
			break;
	}
	sqlite3_finalize(s);
	tg_db_rollback(c->db);	/* a read: nothing to commit */
	free(row);
	return r < 0 ? -1 : 0;
}

/* ---- writing ---- */

static int
cache_writable(struct tg_cache *c, struct tg_err *err)
{
	if (c->readonly)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "the cache database is open read-only");
	return 0;
}

/* Step a write statement, then finalize it. */
static int
cache_run(struct tg_cache *c, sqlite3_stmt *s, int bind_rc, const char *what,
    struct tg_err *err)
{
	int rc;

	if (bind_rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return tg_db_error(c->db, bind_rc, what, err);
	}
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return tg_db_error(c->db, rc, what, err);
	return 0;
}

static int
cache_write_attempt(struct tg_cache *c, const char *d,
    const struct tg_cache_sts_attempt *a, time_t now, struct tg_err *err)
{
	sqlite3_stmt *s;
	int b;

	if (tg_db_prepare(c->db, sql_attempt, &s, err) != 0)
		return -1;
	b = tg_db_bind_text(s, 1, d);
	b |= sqlite3_bind_int64(s, 2, (sqlite3_int64)a->at);
	b |= tg_db_bind_text(s, 3, a->id);
	b |= sqlite3_bind_int(s, 4, a->ok ? 1 : 0);
	b |= tg_db_bind_text(s, 5, a->result);
	b |= tg_db_bind_text(s, 6, a->error);
	b |= sqlite3_bind_int64(s, 7, (sqlite3_int64)now);
	return cache_run(c, s, b, "record fetch attempt", err);
}

static int
cache_write_policy(struct tg_cache *c, const char *d,
    const struct tg_cache_sts_policy *p, time_t now, struct tg_err *err)
{
	char mx[TG_STS_MX_MAX * (TG_DNAME_MAX + 1) + 1];
	sqlite3_stmt *s;
	size_t i, n = 0;
	int b;

	mx[0] = '\0';
	for (i = 0; i < p->n_mx; i++) {
		size_t l = strlen(p->mx[i]);
		if (i > 0)
			mx[n++] = ' ';
		memcpy(mx + n, p->mx[i], l + 1);
		n += l;
	}
	if (tg_db_prepare(c->db, sql_policy, &s, err) != 0)
		return -1;
	b = tg_db_bind_text(s, 1, d);
	b |= tg_db_bind_text(s, 2, cache_mode_names[p->mode]);
	b |= sqlite3_bind_int64(s, 3, (sqlite3_int64)p->max_age);
	b |= tg_db_bind_text(s, 4, mx);
	b |= sqlite3_bind_blob(s, 5, p->body, (int)p->body_len,
	    SQLITE_STATIC);
	b |= tg_db_bind_text(s, 6, p->id);
	b |= sqlite3_bind_int64(s, 7, (sqlite3_int64)p->fetched_at);
	b |= sqlite3_bind_int64(s, 8, (sqlite3_int64)p->expires_at);
	b |= sqlite3_bind_int64(s, 9, (sqlite3_int64)now);
	return cache_run(c, s, b, "store policy", err);
}

/* The newer of the attempt's time and the policy's fetch time. */
static time_t
cache_stamp(const struct tg_cache_sts_attempt *a,
    const struct tg_cache_sts_policy *p)
{
	if (p != NULL && p->fetched_at > a->at)
		return p->fetched_at;
	return a->at;
}

int
tg_cache_sts_save_fetch(struct tg_cache *c, const char *domain,
    const struct tg_cache_sts_attempt *a,
    const struct tg_cache_sts_policy *p, struct tg_err *err)
{
	char d[TG_DNAME_MAX + 1];
	time_t now = cache_stamp(a, p);
	int r;

	tg_err_clear(err);
	if (cache_writable(c, err) != 0 ||
	    tg_dname_normalize(domain, d, sizeof(d), err) != 0 ||
	    cache_check_attempt(a, err) != 0 ||
	    (p != NULL && cache_check_policy(p, err) != 0))
		return -1;
	if (tg_db_begin(c->db, 1, err) != 0)
		return -1;
	r = cache_write_attempt(c, d, a, now, err);
	if (r == 0 && p != NULL)
		r = cache_write_policy(c, d, p, now, err);
	if (r != 0) {
		tg_db_rollback(c->db);
		return -1;
	}
	return tg_db_commit(c->db, err);
}

int
tg_cache_sts_save_txt(struct tg_cache *c, const char *domain,
    const char *txt_id, time_t seen_at, struct tg_err *err)
{
	char d[TG_DNAME_MAX + 1];
	sqlite3_stmt *s;
	int b;

	tg_err_clear(err);
	if (cache_writable(c, err) != 0 ||
	    tg_dname_normalize(domain, d, sizeof(d), err) != 0 ||
	    cache_check_id("txt_id", txt_id, 1, err) != 0)
		return -1;
	if (seen_at < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "txt_seen_at: "
		    "negative");
	if (tg_db_prepare(c->db, sql_txt, &s, err) != 0)
		return -1;
	b = tg_db_bind_text(s, 1, d);
	b |= tg_db_bind_text(s, 2, txt_id);
	b |= sqlite3_bind_int64(s, 3, (sqlite3_int64)seen_at);
	b |= sqlite3_bind_int64(s, 4, (sqlite3_int64)seen_at);
	return cache_run(c, s, b, "record TXT id", err);
}

int
tg_cache_sts_remove(struct tg_cache *c, const char *domain,
    struct tg_err *err)
{
	char d[TG_DNAME_MAX + 1];
	sqlite3_stmt *s;
	int b;

	tg_err_clear(err);
	if (cache_writable(c, err) != 0 ||
	    tg_dname_normalize(domain, d, sizeof(d), err) != 0)
		return -1;
	if (tg_db_prepare(c->db, sql_remove, &s, err) != 0)
		return -1;
	b = tg_db_bind_text(s, 1, d);
	if (cache_run(c, s, b, "remove", err) != 0)
		return -1;
	return sqlite3_changes(c->db) > 0 ? 0 : TG_CACHE_NOTFOUND;
}
