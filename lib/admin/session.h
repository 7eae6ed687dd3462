/*
 * admin/session — the console's sessions and its login throttle
 * (RELIABILITY S-04), in memory in controllerd.
 *
 * Owns:
 *   - sessions: a new random id (32 bytes from RAND_bytes, base64url) at
 *     every login (so a planted id is never promoted: no fixation), a
 *     CSRF token of its own (the same size, sent back by the console in
 *     X-CSRF-Token on every state-changing request), an idle timeout and
 *     an absolute one, destruction at logout and for every session of a
 *     user whose password changes or who is removed. At most
 *     TG_SESSION_MAX live sessions: a new one evicts the least recently
 *     used. Ids and tokens are compared in constant time.
 *   - the login throttle: failures counted per (user, client address)
 *     and per client address alone; from TG_LOGIN_FREE_FAILURES on, each
 *     further try waits twice as long as the last (1 s, 2 s, ... at most
 *     TG_LOGIN_WAIT_MAX_S), counted from the last failure; the longer of
 *     the pair's and the address's waits applies, so one address cannot
 *     try many users either. A good login clears its pair (not the
 *     address); a key without a failure for TG_LOGIN_FORGET_S starts
 *     again from nothing, so that an address's occasional typos do not
 *     add up over months. User names are compared in lower case, as the
 *     store keeps them. It answers the same for a user that does not
 *     exist, so it tells nothing about which users do. Bounded
 *     (TG_LOGIN_KEYS_MAX keys, the one that failed longest ago dropped).
 *
 * Does not own: passwords (admin/password), cookies and HTTP (the admin
 * API), the clock (every call takes now).
 *
 * Not thread-safe: controllerd uses it from its loop only.
 */
#ifndef TG_ADMIN_SESSION_H
#define TG_ADMIN_SESSION_H

#include <stddef.h>
#include <time.h>

#include "util/err.h"
#include "util/limits.h"

#define TG_SESSION_TOKEN_LEN	43	/* base64url of 32 bytes */
#define TG_SESSION_IDLE_S	1800	/* 30 minutes without a request */
#define TG_SESSION_ABSOLUTE_S	43200	/* 12 hours after login */
#define TG_SESSION_MAX		256
#define TG_LOGIN_FREE_FAILURES	5	/* then waits grow */
#define TG_LOGIN_WAIT_MAX_S	900
#define TG_LOGIN_KEYS_MAX	4096
#define TG_SESSION_CREDENTIAL_MAX 64
#define TG_LOGIN_FORGET_S	86400	/* no failure for a day: forgotten */

struct tg_session {
	char id[TG_SESSION_TOKEN_LEN + 1];
	char csrf[TG_SESSION_TOKEN_LEN + 1];
	char user[TG_STORE_USER_MAX + 1];
	time_t created;
	time_t last_seen;
	/* What the user logged in with (the API keeps a digest of the
	 * stored password hash): when the store's changes, the session is
	 * over. "" until set. */
	char credential[TG_SESSION_CREDENTIAL_MAX + 1];
};

struct tg_sessions;

/* An empty table (owned: tg_sessions_free). 0, or -1 with err. */
int tg_sessions_new(struct tg_sessions **out, struct tg_err *err);
void tg_sessions_free(struct tg_sessions *t);

/*
 * A new session for user at now; *out is borrowed, valid until the next
 * call that changes the table. 0, or -1 with err (no random bytes).
 */
int tg_sessions_create(struct tg_sessions *t, const char *user, time_t now,
    const struct tg_session **out, struct tg_err *err);

/*
 * The live session with id at now (borrowed, as above), its last_seen
 * set to now; NULL when there is none, or when it has been idle for
 * TG_SESSION_IDLE_S or lived TG_SESSION_ABSOLUTE_S (then it is removed).
 */
const struct tg_session *tg_sessions_find(struct tg_sessions *t,
    const char *id, time_t now);

/* Set the credential of the session with id (copied, at most
 * TG_SESSION_CREDENTIAL_MAX bytes; longer is cut). Unknown ids are
 * ignored. */
void tg_sessions_set_credential(struct tg_sessions *t, const char *id,
    const char *credential);

/* Remove the session with id (logout). Unknown ids are ignored. */
void tg_sessions_destroy(struct tg_sessions *t, const char *id);

/* Remove every session of user (password changed, user removed). */
void tg_sessions_destroy_user(struct tg_sessions *t, const char *user);

/* 1 if token is s's CSRF token (constant time), else 0. */
int tg_sessions_csrf_ok(const struct tg_session *s, const char *token);

/* Sessions held (for tests and the log); timed-out ones go at the next
 * create or find. */
size_t tg_sessions_count(const struct tg_sessions *t);

struct tg_login_throttle;

/* An empty throttle (owned: tg_login_throttle_free). 0, or -1 with
 * err. */
int tg_login_throttle_new(struct tg_login_throttle **out,
    struct tg_err *err);
void tg_login_throttle_free(struct tg_login_throttle *t);

/*
 * Seconds before user may try again from address addr at now; 0: now.
 * user (borrowed) is what the client sent, existing or not; addr
 * (borrowed) is the client's address as text, never from the client.
 */
long tg_login_throttle_wait(struct tg_login_throttle *t, const char *user,
    const char *addr, time_t now);

/* A failed login of user from addr at now. */
void tg_login_throttle_fail(struct tg_login_throttle *t, const char *user,
    const char *addr, time_t now);

/* A good login: that pair's failures are forgotten (the address's are
 * not: they count the other users tried from there). */
void tg_login_throttle_ok(struct tg_login_throttle *t, const char *user,
    const char *addr);

/* Keys held, at most TG_LOGIN_KEYS_MAX (for tests). */
size_t tg_login_throttle_count(const struct tg_login_throttle *t);

#endif
