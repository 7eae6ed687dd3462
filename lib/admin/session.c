/*
 * admin/session — see session.h. Sessions live in a fixed array of
 * TG_SESSION_MAX slots, each stamped with a use counter for the LRU
 * choice; a linear scan of 256 slots costs nothing beside an HTTP
 * request, and lets every lookup compare every id (constant time, no
 * early exit on a hit). The throttle is a util/agetab of failure
 * counters, renewed at each failure, so the keys that keep failing are
 * the last to be forgotten.
 */
#include "admin/session.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/agetab.h"
#include "util/b64url.h"

#define SESS_RAND_LEN	32
#define LT_ADDR_MAX	64	/* an IPv6 address text is at most 45 */
#define LT_KEY_MAX	(TG_STORE_USER_MAX + 1 + LT_ADDR_MAX)

_Static_assert(TG_SESSION_TOKEN_LEN == (SESS_RAND_LEN * 4 + 2) / 3,
    "TG_SESSION_TOKEN_LEN is not base64url of SESS_RAND_LEN bytes");

struct sess_slot {
	struct tg_session s;
	uint64_t used;		/* t->tick at the last use; 0: free */
};

struct tg_sessions {
	struct sess_slot slot[TG_SESSION_MAX];
	uint64_t tick;
	size_t n;
};

struct lt_key {
	struct tg_agetab_entry base;	/* key: key */
	unsigned failures;
	time_t last;			/* the last failure */
	char key[LT_KEY_MAX + 1];
};

struct tg_login_throttle {
	struct tg_agetab keys;		/* of lt_key */
};

/* ---- sessions ---- */

/* 32 random bytes as base64url without padding into out. 0, or -1. */
static int
sess_token(char out[TG_SESSION_TOKEN_LEN + 1], struct tg_err *err)
{
	unsigned char raw[SESS_RAND_LEN];
	struct tg_buf b;
	int rc = 0;

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		ERR_clear_error();
		return tg_err_set(err, TG_ERR_TEMP, NULL, "session: no random "
		    "bytes for a token");
	}
	tg_buf_init(&b, TG_SESSION_TOKEN_LEN);
	if (tg_b64url_encode(raw, sizeof(raw), &b) != 0 ||
	    b.len != TG_SESSION_TOKEN_LEN)
		rc = tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	else
		memcpy(out, b.data, TG_SESSION_TOKEN_LEN + 1);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (b.data != NULL)
		OPENSSL_cleanse(b.data, b.len);
	tg_buf_free(&b);
	return rc;
}

static int
sess_token_len_ok(const char *token)
{
	return token != NULL &&
	    strnlen(token, TG_SESSION_TOKEN_LEN + 1) == TG_SESSION_TOKEN_LEN;
}

static void
sess_remove(struct tg_sessions *t, struct sess_slot *sl)
{
	OPENSSL_cleanse(sl, sizeof(*sl));
	t->n--;
}

static int
sess_expired(const struct tg_session *s, time_t now)
{
	return now - s->last_seen >= TG_SESSION_IDLE_S ||
	    now - s->created >= TG_SESSION_ABSOLUTE_S;
}

/* Remove every session that has timed out at now. */
static void
sess_expire(struct tg_sessions *t, time_t now)
{
	size_t i;

	for (i = 0; i < TG_SESSION_MAX; i++)
		if (t->slot[i].used != 0 && sess_expired(&t->slot[i].s, now))
			sess_remove(t, &t->slot[i]);
}

/* The live slot whose id is id, every slot compared in full. */
static struct sess_slot *
sess_lookup(struct tg_sessions *t, const char *id)
{
	struct sess_slot *hit = NULL;
	size_t i;
	int same;

	if (!sess_token_len_ok(id))
		return NULL;
	for (i = 0; i < TG_SESSION_MAX; i++) {
		same = CRYPTO_memcmp(id, t->slot[i].s.id,
		    TG_SESSION_TOKEN_LEN) == 0;
		if (same && t->slot[i].used != 0)
			hit = &t->slot[i];
	}
	return hit;
}

/* A free slot, or the least recently used one emptied. */
static struct sess_slot *
sess_take_slot(struct tg_sessions *t)
{
	struct sess_slot *lru = NULL;
	size_t i;

	for (i = 0; i < TG_SESSION_MAX; i++) {
		if (t->slot[i].used == 0)
			return &t->slot[i];
		if (lru == NULL || t->slot[i].used < lru->used)
			lru = &t->slot[i];
	}
	sess_remove(t, lru);
	return lru;
}

int
tg_sessions_new(struct tg_sessions **out, struct tg_err *err)
{
	tg_err_clear(err);
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	return 0;
}

void
tg_sessions_free(struct tg_sessions *t)
{
	if (t == NULL)
		return;
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

int
tg_sessions_create(struct tg_sessions *t, const char *user, time_t now,
    const struct tg_session **out, struct tg_err *err)
{
	char id[TG_SESSION_TOKEN_LEN + 1], csrf[TG_SESSION_TOKEN_LEN + 1];
	struct sess_slot *sl;
	size_t ulen;

	tg_err_clear(err);
	*out = NULL;
	if (user == NULL || (ulen = strnlen(user, TG_STORE_USER_MAX + 1)) ==
	    0 || ulen > TG_STORE_USER_MAX)
		return tg_err_set(err, TG_ERR_BUG, NULL, "session: user name "
		    "must be 1 to %d characters", TG_STORE_USER_MAX);
	if (sess_token(id, err) != 0 || sess_token(csrf, err) != 0)
		return -1;
	sess_expire(t, now);
	sl = sess_take_slot(t);
	memcpy(sl->s.id, id, sizeof(id));
	memcpy(sl->s.csrf, csrf, sizeof(csrf));
	memcpy(sl->s.user, user, ulen + 1);
	sl->s.created = sl->s.last_seen = now;
	sl->used = ++t->tick;
	t->n++;
	OPENSSL_cleanse(id, sizeof(id));
	OPENSSL_cleanse(csrf, sizeof(csrf));
	*out = &sl->s;
	return 0;
}

const struct tg_session *
tg_sessions_find(struct tg_sessions *t, const char *id, time_t now)
{
	struct sess_slot *sl;

	sess_expire(t, now);
	if ((sl = sess_lookup(t, id)) == NULL)
		return NULL;
	sl->s.last_seen = now;
	sl->used = ++t->tick;
	return &sl->s;
}

void
tg_sessions_set_credential(struct tg_sessions *t, const char *id,
    const char *credential)
{
	struct sess_slot *sl = sess_lookup(t, id);

	if (sl != NULL)
		snprintf(sl->s.credential, sizeof(sl->s.credential), "%s",
		    credential);
}

void
tg_sessions_destroy(struct tg_sessions *t, const char *id)
{
	struct sess_slot *sl = sess_lookup(t, id);

	if (sl != NULL)
		sess_remove(t, sl);
}

void
tg_sessions_destroy_user(struct tg_sessions *t, const char *user)
{
	size_t i;

	for (i = 0; i < TG_SESSION_MAX; i++)
		if (t->slot[i].used != 0 &&
		    strcmp(t->slot[i].s.user, user) == 0)
			sess_remove(t, &t->slot[i]);
}

int
tg_sessions_csrf_ok(const struct tg_session *s, const char *token)
{
	return s != NULL && sess_token_len_ok(token) &&
	    CRYPTO_memcmp(token, s->csrf, TG_SESSION_TOKEN_LEN) == 0;
}

size_t
tg_sessions_count(const struct tg_sessions *t)
{
	return t->n;
}

/* ---- login throttle ---- */

static void
lt_free(struct tg_agetab_entry *e)
{
	free(e);
}

/*
 * The pair key "user\naddr" (user non-NULL) or the address key "\naddr"
 * into out. The user name comes from the network: lower-cased (the store
 * keeps names in lower case, so "Admin" is admin's bucket too), control
 * characters as '?', and an empty one as "?", so that no user name can
 * make the address key or another address's pair key.
 */
static void
lt_key(const char *user, const char *addr, char out[LT_KEY_MAX + 1])
{
	size_t i = 0, j;

	if (addr == NULL)
		addr = "";
	if (user != NULL) {
		for (; i < TG_STORE_USER_MAX && user[i] != '\0'; i++) {
			unsigned char c = (unsigned char)user[i];
			out[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) :
			    c < 0x20 || c == 0x7f ? '?' : (char)c;
		}
		if (i == 0)
			out[i++] = '?';
	}
	out[i++] = '\n';
	for (j = 0; j < LT_ADDR_MAX && addr[j] != '\0'; j++)
		out[i++] = addr[j];
	out[i] = '\0';
}

/* 2^(failures - FREE) seconds, at most TG_LOGIN_WAIT_MAX_S. */
static long
lt_delay(unsigned failures)
{
	unsigned e;

	if (failures < TG_LOGIN_FREE_FAILURES)
		return 0;
	e = failures - TG_LOGIN_FREE_FAILURES;
	if (e >= 30 || (1L << e) > TG_LOGIN_WAIT_MAX_S)
		return TG_LOGIN_WAIT_MAX_S;
	return 1L << e;
}

static long
lt_wait_key(struct tg_login_throttle *t, const char *key, time_t now)
{
	struct lt_key *k = (struct lt_key *)tg_agetab_find(&t->keys, key);
	long d, left;

	if (k == NULL || (d = lt_delay(k->failures)) == 0)
		return 0;
	left = (long)(k->last - now) + d;
	if (left <= 0)
		return 0;
	return left > d ? d : left;	/* the clock went back */
}

static void
lt_fail_key(struct tg_login_throttle *t, const char *key, time_t now)
{
	struct lt_key *k = (struct lt_key *)tg_agetab_find(&t->keys, key);

	if (k == NULL) {
		if ((k = calloc(1, sizeof(*k))) == NULL)
			return;
		memcpy(k->key, key, strlen(key) + 1);
		k->base.key = k->key;
		if (tg_agetab_add(&t->keys, &k->base) != 0) {
			free(k);
			return;
		}
	} else {
		tg_agetab_renew(&t->keys, &k->base);
		if (now - k->last >= TG_LOGIN_FORGET_S)
			k->failures = 0;
	}
	if (k->failures < UINT_MAX)
		k->failures++;
	k->last = now;
}

int
tg_login_throttle_new(struct tg_login_throttle **out, struct tg_err *err)
{
	tg_err_clear(err);
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	tg_agetab_init(&(*out)->keys, TG_LOGIN_KEYS_MAX, lt_free);
	return 0;
}

void
tg_login_throttle_free(struct tg_login_throttle *t)
{
	if (t == NULL)
		return;
	tg_agetab_clear(&t->keys);
	free(t);
}

long
tg_login_throttle_wait(struct tg_login_throttle *t, const char *user,
    const char *addr, time_t now)
{
	char key[LT_KEY_MAX + 1];
	long pair, all;

	lt_key(user, addr, key);
	pair = lt_wait_key(t, key, now);
	lt_key(NULL, addr, key);
	all = lt_wait_key(t, key, now);
	return pair > all ? pair : all;
}

void
tg_login_throttle_fail(struct tg_login_throttle *t, const char *user,
    const char *addr, time_t now)
{
	char key[LT_KEY_MAX + 1];

	lt_key(user, addr, key);
	lt_fail_key(t, key, now);
	lt_key(NULL, addr, key);
	lt_fail_key(t, key, now);
}

void
tg_login_throttle_ok(struct tg_login_throttle *t, const char *user,
    const char *addr)
{
	struct tg_agetab_entry *e;
	char key[LT_KEY_MAX + 1];

	lt_key(user, addr, key);
	if ((e = tg_agetab_find(&t->keys, key)) != NULL)
		tg_agetab_drop(&t->keys, e);
}

size_t
tg_login_throttle_count(const struct tg_login_throttle *t)
{
	return t->keys.n;
}
