/*
 * store/store_int — what the store's own files share; not for other
 * modules (they include store/store.h).
 *
 * store.c        open/close, generation, transactions, snapshots, meta
 * store_check.c  value checks and enum names (pure, no sqlite)
 * store_syntax.c mx patterns, inbound routes, TLS-RPT rua (pure)
 * store_domain.c domains and their mx patterns
 * store_net.c    relay networks and destination policies
 * store_cert.c   certificates
 * store_admin.c  admin users
 * store_sts.c    what tlsgate-stsd serves (bookkeeping)
 * store_acme.c   ACME http-01 challenges
 */
#ifndef TG_STORE_STORE_INT_H
#define TG_STORE_STORE_INT_H

#include <sqlite3.h>

#include "store/db.h"
#include "store/store.h"

struct tg_store {
	sqlite3 *db;		/* owned */
	int readonly;
	int snapshot;		/* tg_store_snapshot_begin is in effect */
};

/*
 * Writes: begin takes the write lock (BEGIN IMMEDIATE), after refusing a
 * read-only store or an open snapshot. end(r): r == 0 bumps the
 * generation and commits; any other r rolls back. end returns r, or -1 if
 * the commit failed.
 */
int tg_store_write_begin(struct tg_store *st, struct tg_err *err);
int tg_store_write_end(struct tg_store *st, int r, struct tg_err *err);

/*
 * Reads that take several statements: begin a read transaction unless a
 * snapshot (or another read) is already open; *began says whether to end.
 */
int tg_store_read_begin(struct tg_store *st, int *began, struct tg_err *err);
void tg_store_read_end(struct tg_store *st, int began);

/*
 * Step a write statement (INSERT/UPDATE/DELETE), then finalize it.
 * bind_rc: the OR of the sqlite3_bind_* results (non-zero = fail).
 * Returns 0 if a row changed, TG_STORE_NOTFOUND if none did, -1 on error;
 * a uniqueness violation fails with TG_ERR_PERM and the message dup
 * ("domain example.org already exists") when dup is not NULL.
 */
int tg_store_run(struct tg_store *st, sqlite3_stmt *s, int bind_rc,
    const char *dup, struct tg_err *err);

/*
 * Step a one-row query, then finalize it: 0 with row() called on the
 * row, TG_STORE_NOTFOUND if there is none, -1 on error (bind_rc as for
 * tg_store_run).
 */
typedef int (*tg_store_read_fn)(sqlite3_stmt *s, void *rec,
    struct tg_err *err);
int tg_store_one(struct tg_store *st, sqlite3_stmt *s, int bind_rc,
    tg_store_read_fn row, void *rec, struct tg_err *err);

/*
 * Step a list query inside a read transaction, calling row for each row
 * until it returns non-zero (1 = stop, -1 = error); finalizes s.
 */
typedef int (*tg_store_row_fn)(struct tg_store *st, sqlite3_stmt *s,
    void *ctx, struct tg_err *err);
int tg_store_each(struct tg_store *st, sqlite3_stmt *s, int bind_rc,
    tg_store_row_fn row, void *ctx, struct tg_err *err);

/* ---- store_check.c ---- */

/* A domain or host name for field: normalised into out (TG_DNAME_MAX+1). */
int tg_store_check_dname(const char *field, const char *in, char *out,
    size_t outlen, struct tg_err *err);

/* A host name for field, one label allowed ("localhost": the console's
 * certificate): normalised into out (TG_DNAME_MAX + 1). */
int tg_store_check_hostname(const char *field, const char *in, char *out,
    size_t outlen, struct tg_err *err);

/* Free text for field: NULL or up to max bytes of UTF-8 with no control
 * characters. */
int tg_store_check_text(const char *field, const char *in, size_t max,
    struct tg_err *err);

/* RFC 8461 §3.1 policy id: "" or 1..32 letters and digits. */
int tg_store_check_policy_id(const char *in, struct tg_err *err);

/* RFC 8461 §3.2 max_age: 0..31557600. */
int tg_store_check_max_age(long v, struct tg_err *err);

/* Absolute path for field, up to TG_PATH_MAX - 1 bytes, no control
 * characters. */
int tg_store_check_path(const char *field, const char *in,
    struct tg_err *err);

/* 64 hex digits, lower-cased into out (65 bytes). */
int tg_store_check_spki(const char *in, char *out, struct tg_err *err);

/* Admin user name, lower-cased into out (TG_STORE_USER_MAX + 1). */
int tg_store_check_username(const char *in, char *out, size_t outlen,
    struct tg_err *err);

/* PHC string: "$" then printable ASCII, no spaces, bounded. */
int tg_store_check_hash(const char *in, struct tg_err *err);

/* Meta key: 1..TG_STORE_META_KEY_MAX of [a-z0-9._-]. */
int tg_store_check_meta_key(const char *in, struct tg_err *err);

/*
 * Enumerations stored as text: the names in enum order, and the field
 * name used in messages.
 */
struct tg_store_enum {
	const char *field;
	const char *const *names;
	size_t count;
};
extern const struct tg_store_enum tg_store_enum_sts_mode;
extern const struct tg_store_enum tg_store_enum_dest_mode;
extern const struct tg_store_enum tg_store_enum_cert_role;
extern const struct tg_store_enum tg_store_enum_cert_state;
extern const struct tg_store_enum tg_store_enum_tlsa_state;

/* Name of v, or "invalid". */
const char *tg_store_enum_name(const struct tg_store_enum *e, int v);

/* Index of name s into *out; else -1, TG_ERR_PERM, listing the names. */
int tg_store_enum_parse(const struct tg_store_enum *e, const char *s,
    int *out, struct tg_err *err);

/* Parse text column col as e; an unknown name is a foreign file. */
int tg_store_column_enum(sqlite3_stmt *s, int col,
    const struct tg_store_enum *e, int *out, struct tg_err *err);

#endif
