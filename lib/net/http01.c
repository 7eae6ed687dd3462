/*
 * net/http01 — ACME http-01 challenge answers (see http01.h).
 *
 * A set is an array of challenges, sorted by token once it is frozen,
 * and looked up by binary search on the server's thread while the loop
 * may already be building the next one.
 */
#include "net/http01.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/b64url.h"

struct http01_entry {
	char token[TG_HTTP01_TOKEN_MAX + 1];
	char keyauth[TG_HTTP01_KEYAUTH_MAX + 1];
	time_t expires;
};

struct tg_http01_set {
	atomic_int refs;
	int frozen;
	struct http01_entry *v;		/* owned, n used of cap */
	size_t n, cap;
};

int
tg_http01_token_valid(const char *token)
{
	size_t i;

	for (i = 0; token[i] != '\0'; i++)
		if (i == TG_HTTP01_TOKEN_MAX || !tg_b64url_is_char(token[i]))
			return 0;
	return i > 0;
}

int
tg_http01_keyauth_valid(const char *keyauth)
{
	size_t i;

	for (i = 0; keyauth[i] != '\0'; i++)
		if (i == TG_HTTP01_KEYAUTH_MAX ||
		    (unsigned char)keyauth[i] <= 0x20 ||
		    (unsigned char)keyauth[i] >= 0x7f)
			return 0;
	return i > 0;
}

int
tg_http01_set_new(struct tg_http01_set **out, struct tg_err *err)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	atomic_init(&(*out)->refs, 1);
	return 0;
}

/* Room for one more entry in s; -1 when out of memory. */
static int
http01_grow(struct tg_http01_set *s)
{
	struct http01_entry *v;
	size_t cap;

	if (s->n < s->cap)
		return 0;
	cap = s->cap == 0 ? 8 : 2 * s->cap;
	if (cap > TG_HTTP01_SET_MAX)
		cap = TG_HTTP01_SET_MAX;
	if ((v = realloc(s->v, cap * sizeof(*v))) == NULL)
		return -1;
	s->v = v;
	s->cap = cap;
	return 0;
}

int
tg_http01_set_add(struct tg_http01_set *s, const char *token,
    const char *keyauth, time_t expires, struct tg_err *err)
{
	struct http01_entry *e;
	size_t i;

	if (s->frozen)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "challenge added to a frozen set");
	if (!tg_http01_token_valid(token))
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "token: not 1..%d base64url characters",
		    TG_HTTP01_TOKEN_MAX);
	if (!tg_http01_keyauth_valid(keyauth))
		return tg_err_set(err, TG_ERR_PERM, NULL, "key_authorization: "
		    "not 1..%d printable ASCII characters without spaces",
		    TG_HTTP01_KEYAUTH_MAX);
	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].token, token) == 0)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "token: twice in the set");
	if (s->n == TG_HTTP01_SET_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "more than %d challenges", TG_HTTP01_SET_MAX);
	if (http01_grow(s) != 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	e = &s->v[s->n++];
	memcpy(e->token, token, strlen(token) + 1);
	memcpy(e->keyauth, keyauth, strlen(keyauth) + 1);
	e->expires = expires;
	return 0;
}

static int
http01_cmp(const void *a, const void *b)
{
	return strcmp(((const struct http01_entry *)a)->token,
	    ((const struct http01_entry *)b)->token);
}

/* bsearch: a token against an entry. */
static int
http01_cmp_key(const void *key, const void *entry)
{
	return strcmp(key, ((const struct http01_entry *)entry)->token);
}

void
tg_http01_set_freeze(struct tg_http01_set *s)
{
	if (s->frozen)
		return;
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), http01_cmp);
	s->frozen = 1;
}

size_t
tg_http01_set_count(const struct tg_http01_set *s)
{
	return s->n;
}

struct tg_http01_set *
tg_http01_set_ref(struct tg_http01_set *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void
tg_http01_set_unref(void *arg)
{
	struct tg_http01_set *s = arg;

	if (s == NULL || atomic_fetch_sub(&s->refs, 1) > 1)
		return;
	free(s->v);
	free(s);
}

enum tg_http01_result
tg_http01_lookup(const struct tg_http01_set *s, const char *path,
    time_t now, const char **keyauth)
{
	const struct http01_entry *e;
	const char *token;

	*keyauth = NULL;
	if (strncmp(path, TG_HTTP01_PREFIX, strlen(TG_HTTP01_PREFIX)) != 0)
		return TG_HTTP01_NOT_CHALLENGE;
	token = path + strlen(TG_HTTP01_PREFIX);
	if (!tg_http01_token_valid(token))
		return TG_HTTP01_BAD_TOKEN;
	if (s == NULL || s->n == 0)
		return TG_HTTP01_UNKNOWN;
	assert(s->frozen);		/* else not sorted */
	e = bsearch(token, s->v, s->n, sizeof(*s->v), http01_cmp_key);
	if (e == NULL || e->expires <= now)
		return TG_HTTP01_UNKNOWN;
	*keyauth = e->keyauth;
	return TG_HTTP01_SERVED;
}

void
tg_http01_token_for_log(const char *path, char *out)
{
	const char *token;
	size_t i;

	if (strncmp(path, TG_HTTP01_PREFIX, strlen(TG_HTTP01_PREFIX)) != 0 ||
	    path[strlen(TG_HTTP01_PREFIX)] == '\0') {
		memcpy(out, "-", 2);
		return;
	}
	token = path + strlen(TG_HTTP01_PREFIX);
	for (i = 0; i < TG_HTTP01_TOKEN_LOG && token[i] != '\0'; i++)
		out[i] = tg_b64url_is_char(token[i]) ? token[i] : '?';
	if (token[i] != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}
