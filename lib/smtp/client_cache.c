/*
 * smtp/client — the client TLS session cache (see client.h, "Session
 * resumption"). A short list, newest first; entries are keyed by
 * tg_tls_session_key, so the peer and every verification parameter
 * (mode, names, TLSA records) are part of the key (RELIABILITY O-10).
 */
#include "smtp/client_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/clock.h"

struct cache_entry {
	char key[TG_TLS_SESSION_KEY_LEN + 1];
	SSL_SESSION *sess;		/* owned */
	time_t stored;
	struct tg_smtpc_facts facts;
	struct cache_entry *prev, *next;
};

struct tg_smtpc_cache {
	size_t max;
	int max_age;
	size_t n;
	struct cache_entry *head;	/* newest */
	struct cache_entry *tail;	/* oldest */
};

struct tg_smtpc_cache *
tg_smtpc_cache_new(size_t max_entries, int max_age_s, struct tg_err *err)
{
	struct tg_smtpc_cache *cache;

	if ((cache = calloc(1, sizeof(*cache))) == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	cache->max = max_entries > 0 ? max_entries : TG_SMTPC_CACHE_MAX;
	cache->max_age = max_age_s > 0 ? max_age_s : TG_SMTPC_CACHE_AGE_S;
	return cache;
}

static void
cache_unlink(struct tg_smtpc_cache *cache, struct cache_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		cache->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		cache->tail = e->prev;
	cache->n--;
}

static void
cache_drop(struct tg_smtpc_cache *cache, struct cache_entry *e)
{
	cache_unlink(cache, e);
	SSL_SESSION_free(e->sess);
	free(e);
}

void
tg_smtpc_cache_free(struct tg_smtpc_cache *cache)
{
	if (cache == NULL)
		return;
	while (cache->head != NULL)
		cache_drop(cache, cache->head);
	free(cache);
}

/* Too old by our limit or by the session's own lifetime; a clock that
 * went backwards makes every entry suspect. */
static int
cache_expired(const struct tg_smtpc_cache *cache,
    const struct cache_entry *e, time_t now)
{
	time_t t = (time_t)SSL_SESSION_get_time(e->sess);
	long lifetime = SSL_SESSION_get_timeout(e->sess);

	if (now < e->stored || now - e->stored > cache->max_age)
		return 1;
	return lifetime > 0 && (time_t)(t + lifetime) < time(NULL);
}

static void
cache_expire(struct tg_smtpc_cache *cache)
{
	struct cache_entry *e, *prev;
	time_t now = tg_clock_now();

	for (e = cache->tail; e != NULL; e = prev) {
		prev = e->prev;
		if (cache_expired(cache, e, now))
			cache_drop(cache, e);
	}
}

size_t
tg_smtpc_cache_count(struct tg_smtpc_cache *cache)
{
	if (cache == NULL)
		return 0;
	cache_expire(cache);
	return cache->n;
}

static struct cache_entry *
cache_find(struct tg_smtpc_cache *cache, const char *key)
{
	struct cache_entry *e;

	for (e = cache->head; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

SSL_SESSION *
tg_smtpc_cache_take(struct tg_smtpc_cache *cache, const char *key,
    struct tg_smtpc_facts *facts)
{
	struct cache_entry *e;
	SSL_SESSION *sess;

	cache_expire(cache);
	if ((e = cache_find(cache, key)) == NULL)
		return NULL;
	cache_unlink(cache, e);
	sess = e->sess;
	*facts = e->facts;
	free(e);
	return sess;
}

void
tg_smtpc_cache_put(struct tg_smtpc_cache *cache, const char *key,
    SSL_SESSION *sess, const struct tg_smtpc_facts *facts)
{
	struct cache_entry *e;
	size_t klen;

	cache_expire(cache);
	if ((e = cache_find(cache, key)) != NULL)
		cache_drop(cache, e);
	while (cache->n >= cache->max && cache->tail != NULL)
		cache_drop(cache, cache->tail);
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		SSL_SESSION_free(sess);
		return;
	}
	klen = strnlen(key, TG_TLS_SESSION_KEY_LEN);
	memcpy(e->key, key, klen);
	e->sess = sess;
	e->stored = tg_clock_now();
	e->facts = *facts;
	e->next = cache->head;
	if (cache->head != NULL)
		cache->head->prev = e;
	cache->head = e;
	if (cache->tail == NULL)
		cache->tail = e;
	cache->n++;
}
