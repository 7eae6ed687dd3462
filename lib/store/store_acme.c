/*
 * store/store_acme — the ACME http-01 challenges tlsgate-stsd answers
 * (RFC 8555 §8.3). See store.h. The controller writes them while an
 * order is being validated; each write bumps the generation so that stsd
 * reloads and serves (or stops serving) the challenge.
 */
#include "store/store_int.h"

#include <string.h>

#include "util/b64url.h"

#define ACME_COLS	"token, key_authorization, host, expires"

/* RFC 8555 §8.3: the token has only base64url characters (no
 * padding). */
static int
acme_check_token(const char *token, struct tg_err *err)
{
	size_t i;

	if (token == NULL || token[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL, "token: missing");
	for (i = 0; token[i] != '\0'; i++) {
		if (i == TG_STORE_ACME_TOKEN_MAX)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "token: longer than %d characters",
			    TG_STORE_ACME_TOKEN_MAX);
		if (!tg_b64url_is_char(token[i]))
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "token: character %zu is not base64url", i + 1);
	}
	return 0;
}

/* RFC 8555 §8.1: token "." base64url thumbprint. It is served as it is,
 * so only printable ASCII without spaces is taken. */
static int
acme_check_keyauth(const char *ka, struct tg_err *err)
{
	size_t i;

	if (ka[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "key_authorization: missing");
	for (i = 0; ka[i] != '\0'; i++) {
		if (i == TG_STORE_ACME_KEYAUTH_MAX)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "key_authorization: longer than %d characters",
			    TG_STORE_ACME_KEYAUTH_MAX);
		if ((unsigned char)ka[i] <= 0x20 ||
		    (unsigned char)ka[i] >= 0x7f)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "key_authorization: character %zu is not "
			    "printable ASCII", i + 1);
	}
	return 0;
}

/* Check c; its normalised host goes to host. */
static int
acme_check(const struct tg_store_acme_challenge *c, char *host,
    size_t hostlen, struct tg_err *err)
{
	if (memchr(c->token, '\0', sizeof(c->token)) == NULL ||
	    memchr(c->key_authorization, '\0',
	    sizeof(c->key_authorization)) == NULL ||
	    memchr(c->host, '\0', sizeof(c->host)) == NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "acme challenge: a field is not NUL-terminated");
	if (acme_check_token(c->token, err) != 0 ||
	    acme_check_keyauth(c->key_authorization, err) != 0 ||
	    tg_store_check_dname("host", c->host, host, hostlen, err) != 0)
		return -1;
	if (c->expires < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "expires: negative time");
	return 0;
}

int
tg_store_acme_challenge_put(struct tg_store *st,
    const struct tg_store_acme_challenge *c, struct tg_err *err)
{
	char host[TG_DNAME_MAX + 1];
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (acme_check(c, host, sizeof(host), err) != 0)
		return -1;
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	r = tg_db_prepare(st->db, "INSERT INTO acme_challenges (" ACME_COLS
	    ") VALUES (?1, ?2, ?3, ?4) ON CONFLICT (token) DO UPDATE SET"
	    " key_authorization = excluded.key_authorization,"
	    " host = excluded.host, expires = excluded.expires", &s, err);
	if (r == 0)
		r = tg_store_run(st, s, tg_db_bind_text(s, 1, c->token) |
		    tg_db_bind_text(s, 2, c->key_authorization) |
		    tg_db_bind_text(s, 3, host) |
		    sqlite3_bind_int64(s, 4, (sqlite3_int64)c->expires), NULL,
		    err);
	if (r == TG_STORE_NOTFOUND)
		r = tg_err_set(err, TG_ERR_BUG, NULL, "insert changed no row");
	return tg_store_write_end(st, r, err);
}

int
tg_store_acme_challenge_remove(struct tg_store *st, const char *token,
    struct tg_err *err)
{
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (acme_check_token(token, err) != 0)
		return -1;
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	r = tg_db_prepare(st->db, "DELETE FROM acme_challenges WHERE"
	    " token = ?1", &s, err);
	if (r == 0)
		r = tg_store_run(st, s, tg_db_bind_text(s, 1, token), NULL,
		    err);
	return tg_store_write_end(st, r, err);
}

int
tg_store_acme_challenge_purge(struct tg_store *st, time_t now,
    struct tg_err *err)
{
	sqlite3_stmt *s;
	int r;

	tg_err_clear(err);
	if (tg_store_write_begin(st, err) != 0)
		return -1;
	r = tg_db_prepare(st->db, "DELETE FROM acme_challenges WHERE"
	    " expires <= ?1", &s, err);
	if (r == 0)
		r = tg_store_run(st, s, sqlite3_bind_int64(s, 1,
		    (sqlite3_int64)now), NULL, err);
	/* Nothing expired: rolled back, the generation stays. */
	r = tg_store_write_end(st, r, err);
	return r == TG_STORE_NOTFOUND ? 0 : r;
}

struct acme_list {
	tg_store_acme_challenge_fn fn;
	void *arg;
};

static int
acme_row(struct tg_store *st, sqlite3_stmt *s, void *ctx,
    struct tg_err *err)
{
	struct acme_list *l = ctx;
	struct tg_store_acme_challenge c;

	(void)st;
	memset(&c, 0, sizeof(c));
	if (tg_db_column_text(s, 0, c.token, sizeof(c.token), err) != 0 ||
	    tg_db_column_text(s, 1, c.key_authorization,
	    sizeof(c.key_authorization), err) != 0 ||
	    tg_db_column_text(s, 2, c.host, sizeof(c.host), err) != 0)
		return -1;
	c.expires = (time_t)sqlite3_column_int64(s, 3);
	return l->fn(&c, l->arg) != 0;
}

int
tg_store_acme_challenge_list(struct tg_store *st, time_t now,
    tg_store_acme_challenge_fn fn, void *arg, struct tg_err *err)
{
	struct acme_list l = { fn, arg };
	sqlite3_stmt *s;

	tg_err_clear(err);
	if (tg_db_prepare(st->db, "SELECT " ACME_COLS " FROM acme_challenges"
	    " WHERE expires > ?1 ORDER BY token", &s, err) != 0)
		return -1;
	return tg_store_each(st, s, sqlite3_bind_int64(s, 1,
	    (sqlite3_int64)now), acme_row, &l, err);
}
