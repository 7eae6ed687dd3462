/*
 * store/store_sts — what the MTA-STS policy host (tlsgate-stsd) serves,
 * one row of sts_served per domain. See store.h. Rows are bookkeeping
 * written by stsd after it has started serving them: like an admin's
 * last login they are single autocommit statements that do not bump the
 * configuration generation (a write must not make every daemon reload).
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"

#define SERVED_COLS							\
	"domain, policy_id, mode, max_age, body, since, cover_until,"	\
	" withdrawn, updated"

/* Check s; its normalised domain goes to domain. */
static int
served_check(const struct tg_store_sts_served *s, char *domain,
    size_t domainlen, struct tg_err *err)
{
	if (memchr(s->domain, '\0', sizeof(s->domain)) == NULL ||
	    memchr(s->policy_id, '\0', sizeof(s->policy_id)) == NULL ||
	    memchr(s->body, '\0', sizeof(s->body)) == NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "sts_served: a field is not NUL-terminated");
	if (tg_store_check_dname("domain", s->domain, domain, domainlen,
	    err) != 0 || tg_store_check_policy_id(s->policy_id, err) != 0 ||
	    tg_store_check_max_age(s->max_age, err) != 0)
		return -1;
	if (s->policy_id[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "sts_policy_id: missing");
	if (s->mode == TG_STORE_STS_OFF ||
	    tg_store_sts_mode_name(s->mode)[0] == 'i')	/* "invalid" */
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "mode: must be none, testing or enforce");
	if (s->since < 0 || s->cover_until < 0 ||
	    (s->withdrawn != 0 && s->withdrawn != 1))
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "sts_served: bad time or flag");
	/* The body is CRLF-separated text: CR and LF are its only controls. */
	for (const char *p = s->body; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && *p != '\r' && *p != '\n') ||
		    *p == 0x7f)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "body: control character");
	return 0;
}

int
tg_store_sts_served_set(struct tg_store *st,
    const struct tg_store_sts_served *s, struct tg_err *err)
{
	char domain[TG_DNAME_MAX + 1];
	sqlite3_stmt *q;

	tg_err_clear(err);
	if (served_check(s, domain, sizeof(domain), err) != 0)
		return -1;
	if (st->readonly)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "the configuration store is open read-only");
	if (tg_db_prepare(st->db, "INSERT INTO sts_served (" SERVED_COLS ")"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
	    " ON CONFLICT (domain) DO UPDATE SET"
	    " policy_id = excluded.policy_id,"
	    " mode = excluded.mode, max_age = excluded.max_age,"
	    " body = excluded.body, since = excluded.since,"
	    " cover_until = excluded.cover_until,"
	    " withdrawn = excluded.withdrawn, updated = excluded.updated",
	    &q, err) != 0)
		return -1;
	return tg_store_run(st, q, tg_db_bind_text(q, 1, domain) |
	    tg_db_bind_text(q, 2, s->policy_id) |
	    tg_db_bind_text(q, 3, tg_store_sts_mode_name(s->mode)) |
	    sqlite3_bind_int64(q, 4, s->max_age) |
	    tg_db_bind_text(q, 5, s->body) |
	    sqlite3_bind_int64(q, 6, (sqlite3_int64)s->since) |
	    sqlite3_bind_int64(q, 7, (sqlite3_int64)s->cover_until) |
	    sqlite3_bind_int(q, 8, s->withdrawn) |
	    sqlite3_bind_int64(q, 9, (sqlite3_int64)tg_clock_now()), NULL, err);
}

static int
served_row(sqlite3_stmt *q, void *rec, struct tg_err *err)
{
	struct tg_store_sts_served *s = rec;
	int mode;

	memset(s, 0, sizeof(*s));
	if (tg_db_column_text(q, 0, s->domain, sizeof(s->domain), err) != 0 ||
	    tg_db_column_text(q, 1, s->policy_id, sizeof(s->policy_id),
	    err) != 0 ||
	    tg_store_column_enum(q, 2, &tg_store_enum_sts_mode, &mode,
	    err) != 0 ||
	    tg_db_column_text(q, 4, s->body, sizeof(s->body), err) != 0)
		return -1;
	s->mode = (enum tg_store_sts_mode)mode;
	s->max_age = (long)sqlite3_column_int64(q, 3);
	s->since = (time_t)sqlite3_column_int64(q, 5);
	s->cover_until = (time_t)sqlite3_column_int64(q, 6);
	s->withdrawn = sqlite3_column_int(q, 7) != 0;
	s->updated = (time_t)sqlite3_column_int64(q, 8);
	return 0;
}

int
tg_store_sts_served_get(struct tg_store *st, const char *domain,
    struct tg_store_sts_served *out, struct tg_err *err)
{
	char name[TG_DNAME_MAX + 1];
	sqlite3_stmt *q;

	tg_err_clear(err);
	if (tg_store_check_dname("domain", domain, name, sizeof(name),
	    err) != 0)
		return -1;
	if (tg_db_prepare(st->db, "SELECT " SERVED_COLS " FROM sts_served"
	    " WHERE domain = ?1", &q, err) != 0)
		return -1;
	return tg_store_one(st, q, tg_db_bind_text(q, 1, name), served_row,
	    out, err);
}

int
tg_store_sts_served_remove(struct tg_store *st, const char *domain,
    struct tg_err *err)
{
	char name[TG_DNAME_MAX + 1];
	sqlite3_stmt *q;

	tg_err_clear(err);
	if (tg_store_check_dname("domain", domain, name, sizeof(name),
	    err) != 0)
		return -1;
	if (st->readonly)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "the configuration store is open read-only");
	if (tg_db_prepare(st->db, "DELETE FROM sts_served WHERE domain = ?1",
	    &q, err) != 0)
		return -1;
	return tg_store_run(st, q, tg_db_bind_text(q, 1, name), NULL, err);
}

struct served_list {
	tg_store_sts_served_fn fn;
	void *arg;
	struct tg_store_sts_served row;	/* large: kept off the stack */
};

static int
served_list_row(struct tg_store *st, sqlite3_stmt *q, void *ctx,
    struct tg_err *err)
{
	struct served_list *l = ctx;

	(void)st;
	if (served_row(q, &l->row, err) != 0)
		return -1;
	return l->fn(&l->row, l->arg) != 0;
}

int
tg_store_sts_served_list(struct tg_store *st, tg_store_sts_served_fn fn,
    void *arg, struct tg_err *err)
{
	struct served_list *l;
	sqlite3_stmt *q;
	int r;

	tg_err_clear(err);
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	l->fn = fn;
	l->arg = arg;
	r = tg_db_prepare(st->db, "SELECT " SERVED_COLS " FROM sts_served"
	    " ORDER BY domain", &q, err);
	if (r == 0)
		r = tg_store_each(st, q, SQLITE_OK, served_list_row, l, err);
	free(l);
	return r;
}
