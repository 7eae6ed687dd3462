/*
 * store/cache — the cache database (cache.db) and its only API.
 *
 * Owns: every table of <state_dir>/cache.db. Today that is the MTA-STS
 * policy cache (RFC 8461 §3.3, §5.1, §10.2; RELIABILITY O-14): one row
 * per policy domain with the policy in force (mode, max_age, mx patterns,
 * the body exactly as fetched, the TXT id it was fetched under, when it
 * was fetched and when it expires), the last `_mta-sts` TXT id seen, and
 * the last fetch attempt (when, for which id, its outcome, the number of
 * consecutive failures). The file survives restarts: a relay that starts
 * again applies the policies it had before.
 *
 * Does not own: what the rows mean — when a policy is valid, when to
 * fetch, what to apply (policy/stscache), fetching (policy/sts),
 * configuration (store/store.h, config.db).
 *
 * Writes are split by what caused them, so that one kind of event can
 * never overwrite another's facts, even when two processes (the relay and
 * `tlsgate sts-cache`) write at once:
 *   - tg_cache_sts_save_fetch records a fetch attempt; only when the
 *     attempt brought a valid policy does it touch the policy columns
 *     (RFC 8461 §3.3: a failed fetch never replaces a cached policy), and
 *     even then an older fetch never replaces a newer one;
 *   - tg_cache_sts_save_txt records the TXT id seen and nothing else.
 * The consecutive-failure count is kept by the database itself (reset by
 * a success, incremented by a failure) in the same statement.
 *
 * Validation: every value is checked before it is written (TG_ERR_PERM,
 * message starting with the field name); the schema repeats the limits
 * as CHECK constraints. Rows are read back with the same checks, so a
 * damaged file gives an error, never a half-read policy.
 *
 * Results: 0 on success, -1 with err; tg_cache_sts_get and
 * tg_cache_sts_remove return TG_CACHE_NOTFOUND (1) when there is no row.
 * A struct tg_cache is one sqlite connection: one thread at a time.
 */
#ifndef TG_STORE_CACHE_H
#define TG_STORE_CACHE_H

#include <stddef.h>
#include <time.h>

#include "util/err.h"
#include "util/limits.h"

#define TG_CACHE_NOTFOUND	1
#define TG_CACHE_FILE		"cache.db"

/* "sts-policy-fetch-error" and friends (RFC 8460 §4.3.2.2). */
#define TG_CACHE_RESULT_MAX	32
/* The reason of a failed attempt, incl. NUL. */
#define TG_CACHE_ERROR_MAX	512

/* Policy modes as stored; the values are those of enum tg_sts_mode. */
#define TG_CACHE_STS_NONE	0
#define TG_CACHE_STS_TESTING	1
#define TG_CACHE_STS_ENFORCE	2

/* A valid policy as fetched (RFC 8461 §3.2). */
struct tg_cache_sts_policy {
	int mode;				/* TG_CACHE_STS_* */
	long max_age;				/* 0..TG_STS_MAX_AGE_MAX */
	size_t n_mx;
	char mx[TG_STS_MX_MAX][TG_DNAME_MAX + 1];	/* as parsed */
	size_t body_len;
	char body[TG_STS_BODY_MAX];		/* the body, not NUL-ended */
	char id[TG_STS_ID_MAX + 1];		/* TXT id at fetch time */
	time_t fetched_at;
	time_t expires_at;			/* fetched_at + max_age */
};

/* One fetch attempt. */
struct tg_cache_sts_attempt {
	time_t at;				/* 0: never */
	char id[TG_STS_ID_MAX + 1];		/* the TXT id it was for */
	int ok;					/* 1: brought a valid policy */
	char result[TG_CACHE_RESULT_MAX + 1];	/* RFC 8460 type, or "" */
	char error[TG_CACHE_ERROR_MAX];		/* why it failed, or "" */
	unsigned failures;			/* consecutive failures
						   (read) */
};

/* One policy domain. Large (about 80 KB): allocate it. */
struct tg_cache_sts {
	char domain[TG_DNAME_MAX + 1];		/* normalised */
	int has_policy;				/* policy below is set */
	struct tg_cache_sts_policy policy;
	char txt_id[TG_STS_ID_MAX + 1];		/* last TXT id seen, or "" */
	time_t txt_seen_at;
	struct tg_cache_sts_attempt attempt;
	time_t updated;
};

struct tg_cache;

/* The schema of cache.db (store/db.h), for the store's own use. */
struct tg_db_schema;
extern const struct tg_db_schema tg_schema_cache;

/*
 * Open <state_dir>/cache.db read-write: create it (mode 0600) if missing,
 * check and migrate it (store/db.h). state_dir (borrowed) must exist.
 * *out is owned by the caller (tg_cache_close). Errors as tg_db_open.
 */
int tg_cache_open(const char *state_dir, struct tg_cache **out,
    struct tg_err *err);

/*
 * Open <state_dir>/cache.db read-only: never creates or migrates; a
 * missing file fails with TG_ERR_PERM and a message saying so. Writes
 * then fail with TG_ERR_PERM.
 */
int tg_cache_open_readonly(const char *state_dir, struct tg_cache **out,
    struct tg_err *err);

/* Close (NULL-safe). */
void tg_cache_close(struct tg_cache *c);

/*
 * The row of domain (borrowed; normalised first) into *out (caller's).
 * Returns 0, TG_CACHE_NOTFOUND, or -1 with err (bad name, database
 * error, a stored value that breaks the rules: TG_ERR_PERM).
 */
int tg_cache_sts_get(struct tg_cache *c, const char *domain,
    struct tg_cache_sts *out, struct tg_err *err);

/*
 * Record a fetch attempt for domain (borrowed): a (borrowed) with at, id,
 * ok, result and error set (failures is ignored: success resets the
 * count, failure adds one). When p (borrowed) is not NULL — only for an
 * attempt that brought a valid policy — the policy columns are replaced
 * by p in the same transaction, unless the row holds a policy fetched
 * later than p->fetched_at. Creates the row if needed. Returns 0 or -1.
 */
int tg_cache_sts_save_fetch(struct tg_cache *c, const char *domain,
    const struct tg_cache_sts_attempt *a,
    const struct tg_cache_sts_policy *p, struct tg_err *err);

/*
 * Record that the TXT id txt_id (borrowed; "" for none) was seen for
 * domain at time seen_at. Touches nothing else; creates the row if
 * needed. Returns 0 or -1.
 */
int tg_cache_sts_save_txt(struct tg_cache *c, const char *domain,
    const char *txt_id, time_t seen_at, struct tg_err *err);

/* Forget domain entirely. Returns 0, TG_CACHE_NOTFOUND or -1. */
int tg_cache_sts_remove(struct tg_cache *c, const char *domain,
    struct tg_err *err);

/*
 * Call fn once per row, ordered by domain, inside one read transaction.
 * The row is borrowed for the call. fn returns 0 to go on, 1 to stop, -1
 * (with err) to fail the list. Returns 0 or -1.
 */
typedef int (*tg_cache_sts_fn)(const struct tg_cache_sts *row, void *ctx,
    struct tg_err *err);
int tg_cache_sts_list(struct tg_cache *c, tg_cache_sts_fn fn, void *ctx,
    struct tg_err *err);

/* "none", "testing", "enforce", or "invalid". */
const char *tg_cache_sts_mode_name(int mode);

#endif
