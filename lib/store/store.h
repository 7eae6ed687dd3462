/*
 * store/store — the configuration store (config.db) and its only API.
 *
 * Owns: every table of <state_dir>/config.db — hosted domains with their
 * MTA-STS and TLS-RPT settings, relay networks, per-destination outbound
 * TLS policies, certificates with their TLSA state, admin users, the ACME
 * http-01 challenges being answered, a small key/value meta table, and
 * the configuration generation. No other code
 * in tlsgate writes SQL; it calls these functions (DESIGN.md "Store").
 * Does not own: private keys (files under the state directory), mail (the
 * spool), reports and caches (reports.db, cache.db, later).
 *
 * Opening, integrity and migrations are store/db.h's job; this module
 * adds the meaning.
 *
 * Results. Every function returns 0 on success and -1 on failure with err
 * filled. Functions that address one existing row (get, update, remove,
 * set_*) return TG_STORE_NOTFOUND (1) when it does not exist, leaving err
 * clear. Adding a row that exists fails with TG_ERR_PERM and a message
 * like "domain example.org already exists".
 *
 * Validation (defence in depth: callers validate too). Every value is
 * checked before anything is written; bad input fails with TG_ERR_PERM
 * and a one-line message that starts with the field name
 * ("sts_max_age: 31557601 is out of range 0..31557600"), and leaves the
 * store unchanged. Names are normalised (util/dname.h) on the way in, so
 * "Example.ORG." is stored, found and removed as "example.org".
 *
 * Generation. Every configuration write runs in one transaction that also
 * increments the generation, so a daemon that sees a new generation knows
 * the configuration changed and a reload will see all of the change.
 * Reads never change it. The one exception is
 * tg_store_admin_set_last_login: a console login is bookkeeping, not
 * configuration, and must not make every daemon reload.
 *
 * Lists call a function once per row, in a stable order, inside one read
 * transaction (a consistent snapshot). The row is borrowed for the
 * duration of the call. Returning non-zero from the callback stops the
 * list early (the list still returns 0). The callback must not write to
 * the store.
 *
 * A struct tg_store is one sqlite connection: use it from one thread at a
 * time.
 */
#ifndef TG_STORE_STORE_H
#define TG_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/err.h"
#include "util/limits.h"

#define TG_STORE_NOTFOUND	1

#define TG_STORE_CONFIG_FILE	"config.db"

/* RFC 8461 §3.2: max_age "maximum value of 31557600"; one week default. */
#define TG_STORE_STS_MAX_AGE_DEFAULT	604800L

struct tg_store;

/*
 * Open <state_dir>/config.db read-write: create it (mode 0600) if missing,
 * check it, migrate it (store/db.h). state_dir (borrowed) must exist. On
 * success *out is owned by the caller (tg_store_close). Errors as
 * tg_db_open.
 */
int tg_store_open(const char *state_dir, struct tg_store **out,
    struct tg_err *err);

/*
 * Open <state_dir>/config.db read-only, for read commands: never creates
 * or migrates; a missing file fails with TG_ERR_PERM ("no configuration
 * database ..."). Every write function then fails with TG_ERR_PERM.
 */
int tg_store_open_readonly(const char *state_dir, struct tg_store **out,
    struct tg_err *err);

/* Close (NULL-safe). */
void tg_store_close(struct tg_store *st);

/* The current configuration generation (>= 1). */
int tg_store_generation(struct tg_store *st, int64_t *gen,
    struct tg_err *err);

/*
 * Consistent reads across several calls: between tg_store_snapshot_begin
 * and tg_store_snapshot_end every read sees the same state (for instance
 * the generation and the domain list of one reload). Writes fail inside a
 * snapshot. A snapshot must be ended before the next one begins.
 */
int tg_store_snapshot_begin(struct tg_store *st, struct tg_err *err);
void tg_store_snapshot_end(struct tg_store *st);

/*
 * Meta: small key/value settings (keys: 1..TG_STORE_META_KEY_MAX of
 * [a-z0-9._-]; values: up to TG_STORE_TEXT_MAX bytes of UTF-8 without
 * control characters). get copies the value into val (vallen bytes);
 * a value that does not fit fails with TG_ERR_PERM.
 */
int tg_store_meta_get(struct tg_store *st, const char *key, char *val,
    size_t vallen, struct tg_err *err);
int tg_store_meta_set(struct tg_store *st, const char *key, const char *val,
    struct tg_err *err);

/* ---- enumerations: names as stored, shown and typed ---- */

/* MTA-STS mode we publish for a domain (RFC 8461 §5); off = no policy. */
enum tg_store_sts_mode {
	TG_STORE_STS_OFF = 0,
	TG_STORE_STS_NONE,
	TG_STORE_STS_TESTING,
	TG_STORE_STS_ENFORCE
};

/* Local outbound TLS policy for one destination domain. */
enum tg_store_dest_mode {
	TG_STORE_DEST_MAY = 0,		/* opportunistic */
	TG_STORE_DEST_ENCRYPT,		/* TLS required, any certificate */
	TG_STORE_DEST_DANE_ONLY		/* DANE required */
};

enum tg_store_cert_role {
	TG_STORE_CERT_MX = 0,		/* mxd STARTTLS */
	TG_STORE_CERT_STS,		/* stsd: mta-sts.<domain> HTTPS */
	TG_STORE_CERT_ADMIN		/* controllerd admin HTTPS */
};

/* Rollover: next (pre-published) -> current (served) -> retired. */
enum tg_store_cert_state {
	TG_STORE_CERT_NEXT = 0,
	TG_STORE_CERT_CURRENT,
	TG_STORE_CERT_RETIRED
};

/* TLSA record of a certificate in DNS: none -> published (sent as an
 * update) -> visible (seen by validating lookups) -> retiring -> removed. */
enum tg_store_tlsa_state {
	TG_STORE_TLSA_NONE = 0,
	TG_STORE_TLSA_PUBLISHED,
	TG_STORE_TLSA_VISIBLE,
	TG_STORE_TLSA_RETIRING,
	TG_STORE_TLSA_REMOVED
};

/* Name of a value ("enforce", "dane-only", ...); "invalid" if out of
 * range. Parse: exact lower-case name into *out, 0; else -1 (err filled,
 * TG_ERR_PERM, listing the accepted names). */
const char *tg_store_sts_mode_name(enum tg_store_sts_mode m);
int tg_store_sts_mode_parse(const char *s, enum tg_store_sts_mode *out,
    struct tg_err *err);
const char *tg_store_dest_mode_name(enum tg_store_dest_mode m);
int tg_store_dest_mode_parse(const char *s, enum tg_store_dest_mode *out,
    struct tg_err *err);
const char *tg_store_cert_role_name(enum tg_store_cert_role r);
int tg_store_cert_role_parse(const char *s, enum tg_store_cert_role *out,
    struct tg_err *err);
const char *tg_store_cert_state_name(enum tg_store_cert_state s);
int tg_store_cert_state_parse(const char *s, enum tg_store_cert_state *out,
    struct tg_err *err);
const char *tg_store_tlsa_state_name(enum tg_store_tlsa_state s);
int tg_store_tlsa_state_parse(const char *s, enum tg_store_tlsa_state *out,
    struct tg_err *err);

/* ---- value checks shared with the CLI and console ---- */

/*
 * MTA-STS mx pattern (RFC 8461 §3.2, §4.1): a host name, or "*." and a
 * host name — the wildcard only as the whole leftmost label. Normalised
 * (lower case, no trailing dot) into out (TG_DNAME_MAX + 1 bytes).
 */
int tg_store_mx_pattern_normalize(const char *in, char *out, size_t outlen,
    struct tg_err *err);

/*
 * Inbound route "host[:port]": host is a host name, an IPv4 address or an
 * IPv6 address in brackets; port 1..65535. Empty is allowed (no route).
 * Normalised (lower case) into out (TG_STORE_ROUTE_MAX + 1 bytes).
 */
int tg_store_route_normalize(const char *in, char *out, size_t outlen,
    struct tg_err *err);

/*
 * TLS-RPT rua (RFC 8460 §3): comma-separated "mailto:" and "https:" URIs,
 * at most TG_STORE_RUA_URIS_MAX, spaces around commas allowed. Empty is
 * allowed. Normalised (schemes lower case, ", " -> ",") into out
 * (TG_STORE_RUA_MAX + 1 bytes).
 */
int tg_store_rua_normalize(const char *in, char *out, size_t outlen,
    struct tg_err *err);

/* ---- domains ---- */

struct tg_store_domain {
	char name[TG_DNAME_MAX + 1];
	char inbound_route[TG_STORE_ROUTE_MAX + 1];	/* "" = none */
	enum tg_store_sts_mode sts_mode;
	char sts_mx[TG_STS_MX_MAX][TG_DNAME_MAX + 3];	/* in order */
	size_t sts_mx_count;
	long sts_max_age;				/* seconds */
	char sts_policy_id[TG_STS_ID_MAX + 1];	/* "" = never published */
	time_t sts_policy_changed;			/* 0 = never */
	char tlsrpt_rua[TG_STORE_RUA_MAX + 1];		/* "" = none */
	time_t created, updated;			/* set by the store */
};

/* Zero d and set the defaults: sts_mode off, max_age one week. */
void tg_store_domain_init(struct tg_store_domain *d);

/*
 * Add the domain d (borrowed; name and values are normalised copies, d is
 * not changed; created/updated are set to now). Duplicate name: -1,
 * TG_ERR_PERM, "domain <name> already exists".
 */
int tg_store_domain_add(struct tg_store *st, const struct tg_store_domain *d,
    struct tg_err *err);

/* Fill *out with the domain called name. 0, TG_STORE_NOTFOUND or -1. */
int tg_store_domain_get(struct tg_store *st, const char *name,
    struct tg_store_domain *out, struct tg_err *err);

/*
 * Replace every setting of the domain d->name with d's (mx list
 * included); created is kept, updated set to now. 0, NOTFOUND or -1.
 */
int tg_store_domain_update(struct tg_store *st,
    const struct tg_store_domain *d, struct tg_err *err);

/* Remove the domain and its mx patterns. 0, NOTFOUND or -1. */
int tg_store_domain_remove(struct tg_store *st, const char *name,
    struct tg_err *err);

typedef int (*tg_store_domain_fn)(const struct tg_store_domain *d,
    void *arg);

/* Call fn for every domain, by name. */
int tg_store_domain_list(struct tg_store *st, tg_store_domain_fn fn,
    void *arg, struct tg_err *err);

/* ---- relay networks (who may send through relayd) ---- */

struct tg_store_relay_net {
	char cidr[TG_CIDR_TEXT_MAX + 1];	/* canonical (util/cidr.h) */
	char note[TG_STORE_NOTE_MAX + 1];
	time_t created;
};

/*
 * Add a network (util/cidr.h syntax, stored canonical) with a note (UTF-8,
 * no control characters, may be NULL). Duplicate: -1, TG_ERR_PERM.
 */
int tg_store_relay_add(struct tg_store *st, const char *cidr,
    const char *note, struct tg_err *err);

/* Remove by network (any spelling of it). 0, NOTFOUND or -1. */
int tg_store_relay_remove(struct tg_store *st, const char *cidr,
    struct tg_err *err);

typedef int (*tg_store_relay_fn)(const struct tg_store_relay_net *n,
    void *arg);

/* Call fn for every network, in the order added. */
int tg_store_relay_list(struct tg_store *st, tg_store_relay_fn fn, void *arg,
    struct tg_err *err);

/* ---- per-destination outbound TLS policy ---- */

struct tg_store_dest_policy {
	char domain[TG_DNAME_MAX + 1];
	enum tg_store_dest_mode mode;
	char note[TG_STORE_NOTE_MAX + 1];
	time_t created, updated;
};

/* Set (insert or replace) the policy for domain; note may be NULL. */
int tg_store_dest_set(struct tg_store *st, const char *domain,
    enum tg_store_dest_mode mode, const char *note, struct tg_err *err);

/* 0, NOTFOUND or -1. */
int tg_store_dest_get(struct tg_store *st, const char *domain,
    struct tg_store_dest_policy *out, struct tg_err *err);
int tg_store_dest_remove(struct tg_store *st, const char *domain,
    struct tg_err *err);

typedef int (*tg_store_dest_fn)(const struct tg_store_dest_policy *p,
    void *arg);

/* Call fn for every policy, by domain. */
int tg_store_dest_list(struct tg_store *st, tg_store_dest_fn fn, void *arg,
    struct tg_err *err);

/* ---- certificates ---- */

struct tg_store_cert {
	int64_t id;				/* set by the store */
	char name[TG_DNAME_MAX + 1];		/* host name it is for; one
						   label allowed (localhost) */
	enum tg_store_cert_role role;
	char cert_path[TG_PATH_MAX];		/* absolute */
	char key_path[TG_PATH_MAX];		/* absolute */
	char spki_sha256[65];			/* lower-case hex */
	time_t not_before, not_after;
	enum tg_store_cert_state state;
	enum tg_store_tlsa_state tlsa_state;
	time_t tlsa_published_at;		/* 0 = never */
	time_t tlsa_visible_at;			/* entered 'visible'; 0 */
	time_t state_since;			/* state last changed; 0 */
	time_t created, updated;		/* set by the store */
};

/*
 * Add the certificate c (borrowed; id, created, updated and
 * tlsa_published_at are ignored); its new id goes to *id (may be NULL).
 * Paths must be absolute, spki_sha256 64 hex digits, not_before <=
 * not_after. A second 'current' certificate for the same name and role
 * fails with TG_ERR_PERM.
 */
int tg_store_cert_add(struct tg_store *st, const struct tg_store_cert *c,
    int64_t *id, struct tg_err *err);

/* 0, NOTFOUND or -1. */
int tg_store_cert_get(struct tg_store *st, int64_t id,
    struct tg_store_cert *out, struct tg_err *err);

/* Set the rollover state. Making one current while another is current
 * for the same name and role fails (TG_ERR_PERM): use promote. */
int tg_store_cert_set_state(struct tg_store *st, int64_t id,
    enum tg_store_cert_state state, struct tg_err *err);

/* Make id current and retire the previously current certificate of the
 * same name and role, in one transaction. 0, NOTFOUND or -1. */
int tg_store_cert_promote(struct tg_store *st, int64_t id,
    struct tg_err *err);

/* Set the TLSA state; entering 'published' records now as
 * tlsa_published_at, entering 'visible' as tlsa_visible_at. 0, NOTFOUND
 * or -1. */
int tg_store_cert_set_tlsa_state(struct tg_store *st, int64_t id,
    enum tg_store_tlsa_state tlsa_state, struct tg_err *err);

/*
 * Replace the certificate file of row id with another certificate for
 * the same key (an ACME renewal keeps the key: RELIABILITY C-04). cert_path
 * must be absolute, not_before <= not_after, and spki_sha256 (64 hex
 * digits) must be the row's: another key fails with TG_ERR_PERM ("the new
 * certificate has another key"), since the TLSA records published for
 * the row name its key. Sets cert_path, not_before, not_after and
 * updated; keeps state, tlsa_state and their times. 0, NOTFOUND or -1.
 */
int tg_store_cert_set_file(struct tg_store *st, int64_t id,
    const char *cert_path, const char *spki_sha256, time_t not_before,
    time_t not_after, struct tg_err *err);

/* Remove a certificate row (not its files). 0, NOTFOUND or -1. */
int tg_store_cert_remove(struct tg_store *st, int64_t id,
    struct tg_err *err);

typedef int (*tg_store_cert_fn)(const struct tg_store_cert *c, void *arg);

/* Call fn for every certificate matching name (NULL: any) and role
 * (-1: any, else an enum tg_store_cert_role), by name, role, id. */
int tg_store_cert_list(struct tg_store *st, const char *name, int role,
    tg_store_cert_fn fn, void *arg, struct tg_err *err);

/* ---- admin users (console / admin API) ---- */

struct tg_store_admin {
	char username[TG_STORE_USER_MAX + 1];
	char password_hash[TG_STORE_HASH_MAX + 1];	/* PHC string */
	time_t created;
	time_t last_login;				/* 0 = never */
};

/*
 * Add a user. username: 1..TG_STORE_USER_MAX of [a-z0-9._@-] (upper case
 * is folded); password_hash: a PHC string ("$argon2id$..."), made by the
 * caller. Duplicate: -1, TG_ERR_PERM.
 */
int tg_store_admin_add(struct tg_store *st, const char *username,
    const char *password_hash, struct tg_err *err);

/* 0, NOTFOUND or -1. */
int tg_store_admin_get(struct tg_store *st, const char *username,
    struct tg_store_admin *out, struct tg_err *err);
int tg_store_admin_remove(struct tg_store *st, const char *username,
    struct tg_err *err);

/* Replace the hash (password change, rehash on login). */
int tg_store_admin_set_hash(struct tg_store *st, const char *username,
    const char *password_hash, struct tg_err *err);

/* Record a login at time when. Does not bump the generation. */
int tg_store_admin_set_last_login(struct tg_store *st, const char *username,
    time_t when, struct tg_err *err);

typedef int (*tg_store_admin_fn)(const struct tg_store_admin *a, void *arg);

/* Call fn for every user, by name. */
int tg_store_admin_list(struct tg_store *st, tg_store_admin_fn fn, void *arg,
    struct tg_err *err);

/* ---- MTA-STS policy host: what tlsgate-stsd serves (store_sts.c) ---- */

/*
 * One row per domain for which stsd serves (or served) a policy, written
 * by stsd once the body is being served, so the id shown for publication
 * never names a body that is not served yet (RFC 8461 §8.1). A removed
 * MTA-STS keeps its row, withdrawn, while mode none is served until every
 * sender's cached policy has expired (§8.3). These rows are bookkeeping,
 * not configuration: writing them does not bump the generation.
 */
struct tg_store_sts_served {
	char domain[TG_DNAME_MAX + 1];
	char policy_id[TG_STS_ID_MAX + 1];	/* 1..32 letters and digits */
	enum tg_store_sts_mode mode;		/* none, testing or enforce */
	long max_age;				/* of the body, seconds */
	char body[TG_STS_HOST_BODY_MAX + 1];	/* what is served */
	time_t since;			/* serving this policy id since */
	time_t cover_until;		/* a sender may hold an older testing or
					   enforce policy of ours until then */
	int withdrawn;			/* 1: removed, serving mode none */
	time_t updated;			/* set by the store */
};

/*
 * Insert or replace the row of s->domain (s borrowed; checked: domain
 * name, id, mode not off, max_age range, body text and size). Does not
 * bump the generation. 0 or -1.
 */
int tg_store_sts_served_set(struct tg_store *st,
    const struct tg_store_sts_served *s, struct tg_err *err);

/* 0, NOTFOUND or -1. */
int tg_store_sts_served_get(struct tg_store *st, const char *domain,
    struct tg_store_sts_served *out, struct tg_err *err);

/* Delete the row (the withdrawal is over). 0, NOTFOUND or -1. Does not
 * bump the generation. */
int tg_store_sts_served_remove(struct tg_store *st, const char *domain,
    struct tg_err *err);

typedef int (*tg_store_sts_served_fn)(const struct tg_store_sts_served *s,
    void *arg);

/* Call fn for every row, by domain. */
int tg_store_sts_served_list(struct tg_store *st, tg_store_sts_served_fn fn,
    void *arg, struct tg_err *err);

/* ---- end of the MTA-STS policy host block ---- */

/* ---- ACME http-01 challenges (store_acme.c) ---- */

/*
 * RFC 8555 §8.3: to prove control of host, the ACME client (controllerd)
 * puts a challenge here and tlsgate-stsd answers
 * GET http://<host>/.well-known/acme-challenge/<token> on port 80 with
 * the key authorization. Every write bumps the generation, so stsd
 * reloads and serves the change within store.poll_interval. A challenge
 * is served until it expires; purge deletes the expired rows.
 */
#define TG_STORE_ACME_TOKEN_MAX		128
#define TG_STORE_ACME_KEYAUTH_MAX	256

struct tg_store_acme_challenge {
	/* 1..TG_STORE_ACME_TOKEN_MAX base64url characters (RFC 8555 §8.3:
	 * A-Z a-z 0-9 - _, no padding) */
	char token[TG_STORE_ACME_TOKEN_MAX + 1];
	/* RFC 8555 §8.1: token "." thumbprint; stored as given, checked as
	 * 1..TG_STORE_ACME_KEYAUTH_MAX printable ASCII without spaces */
	char key_authorization[TG_STORE_ACME_KEYAUTH_MAX + 1];
	char host[TG_DNAME_MAX + 1];	/* the name being validated */
	time_t expires;			/* served while now < expires */
};

/*
 * Insert the challenge c (borrowed; host normalised), or replace the one
 * with the same token. Bad token, key authorization, host or a negative
 * expires: -1, TG_ERR_PERM, store unchanged. Bumps the generation. 0 or
 * -1.
 */
int tg_store_acme_challenge_put(struct tg_store *st,
    const struct tg_store_acme_challenge *c, struct tg_err *err);

/* Remove the challenge of token. Bumps the generation. 0, NOTFOUND or
 * -1. */
int tg_store_acme_challenge_remove(struct tg_store *st, const char *token,
    struct tg_err *err);

typedef int (*tg_store_acme_challenge_fn)(
    const struct tg_store_acme_challenge *c, void *arg);

/* Call fn for every challenge that has not expired at now (expires >
 * now), by token. */
int tg_store_acme_challenge_list(struct tg_store *st, time_t now,
    tg_store_acme_challenge_fn fn, void *arg, struct tg_err *err);

/* Delete the challenges expired at now (expires <= now); bumps the
 * generation when it deleted any. 0 or -1. */
int tg_store_acme_challenge_purge(struct tg_store *st, time_t now,
    struct tg_err *err);

#endif
