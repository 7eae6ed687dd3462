/*
 * rpt/collect — who and what the collector accepts reports from and for:
 * the hosted-domain set and the per-source rate limiter (collect.h).
 */
#include "rpt/collect.h"

#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "util/dname.h"
#include "util/limits.h"

/* ---- hosted domains ---------------------------------------------- */

struct tg_collect_domains {
	size_t n, cap;
	char (*names)[TG_DNAME_MAX + 1];	/* owned; sorted */
};

struct tg_collect_domains *
tg_collect_domains_new(void)
{
	return calloc(1, sizeof(struct tg_collect_domains));
}

void
tg_collect_domains_free(struct tg_collect_domains *d)
{
	if (d == NULL)
		return;
	free(d->names);
	free(d);
}

size_t
tg_collect_domains_count(const struct tg_collect_domains *d)
{
	return d->n;
}

static int
domains_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int
tg_collect_domains_add(struct tg_collect_domains *d, const char *name,
    struct tg_err *err)
{
	char norm[TG_DNAME_MAX + 1];
	void *p;

	if (tg_dname_normalize(name, norm, sizeof(norm), err) != 0)
		return -1;
	if (d->n > 0 && bsearch(norm, d->names, d->n, sizeof(d->names[0]),
	    domains_cmp) != NULL)
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap != 0 ? d->cap * 2 : 16;

		if ((p = realloc(d->names, cap * sizeof(d->names[0]))) == NULL)
			return tg_err_set(err, TG_ERR_TEMP, NULL,
			    "out of memory");
		d->names = p;
		d->cap = cap;
	}
	memcpy(d->names[d->n++], norm, sizeof(norm));
	qsort(d->names, d->n, sizeof(d->names[0]), domains_cmp);
	return 0;
}

struct domains_load {
	struct tg_collect_domains *d;
	struct tg_err *err;
	int failed;
};

static int
domains_load_one(const struct tg_store_domain *dom, void *arg)
{
	struct domains_load *l = arg;

	if (tg_collect_domains_add(l->d, dom->name, l->err) != 0) {
		l->failed = 1;
		return 1;
	}
	return 0;
}

struct tg_collect_domains *
tg_collect_domains_load(struct tg_store *st, struct tg_err *err)
{
	struct domains_load l = { tg_collect_domains_new(), err, 0 };

	if (l.d == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	if (tg_store_domain_list(st, domains_load_one, &l, err) != 0 ||
	    l.failed) {
		tg_collect_domains_free(l.d);
		return NULL;
	}
	return l.d;
}

int
tg_collect_domains_match(const struct tg_collect_domains *d,
    const char *name)
{
	const char *s = name;

	/* name itself, then each parent: "a.b.example" → "b.example" … */
	while (d->n > 0 && s != NULL && *s != '\0') {
		if (bsearch(s, d->names, d->n, sizeof(d->names[0]),
		    domains_cmp) != NULL)
			return 1;
		if ((s = strchr(s, '.')) != NULL)
			s++;
	}
	return 0;
}

/* ---- rate limiter ------------------------------------------------ */

/* Slots probed for one source before the least recently used is reused. */
#define LIMIT_PROBES	8

struct limit_slot {
	unsigned char key[9];	/* family byte + IPv4 address or IPv6 /64 */
	int used;
	double tokens;
	long long last_ms;
};

struct tg_collect_limiter {
	unsigned per_minute;
	size_t n;
	uint64_t seed;			/* hash seed: sources cannot aim */
	struct limit_slot *slots;	/* owned */
};

struct tg_collect_limiter *
tg_collect_limiter_new(unsigned per_minute, size_t slots)
{
	struct tg_collect_limiter *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->per_minute = per_minute > 0 ? per_minute : 1;
	l->n = slots > 0 ? slots : TG_RPT_RATE_SLOTS;
	if ((l->slots = calloc(l->n, sizeof(*l->slots))) == NULL) {
		free(l);
		return NULL;
	}
	if (RAND_bytes((unsigned char *)&l->seed, sizeof(l->seed)) != 1)
		l->seed = (uint64_t)(uintptr_t)l ^ 0x9e3779b97f4a7c15ULL;
	return l;
}

void
tg_collect_limiter_free(struct tg_collect_limiter *l)
{
	if (l == NULL)
		return;
	free(l->slots);
	free(l);
}

/* The bucket key of sa: 0 if the family is not limited. */
static int
limit_key(const struct sockaddr *sa, unsigned char key[9])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	const unsigned char *a;

	memset(key, 0, 9);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		key[0] = 4;
		memcpy(key + 1, &s4->sin_addr, 4);
		return 1;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	if (memcmp(a, mapped, 12) == 0) {
		key[0] = 4;
		memcpy(key + 1, a + 12, 4);
	} else {
		key[0] = 6;
		memcpy(key + 1, a, 8);		/* the /64 */
	}
	return 1;
}

/* FNV-1a over the key, mixed with the seed. */
static size_t
limit_hash(const struct tg_collect_limiter *l, const unsigned char key[9])
{
	uint64_t h = 0xcbf29ce484222325ULL ^ l->seed;
	int i;

	for (i = 0; i < 9; i++) {
		h ^= key[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 29;
	return (size_t)(h % l->n);
}

static struct limit_slot *
limit_slot(struct tg_collect_limiter *l, const unsigned char key[9])
{
	struct limit_slot *s, *victim = NULL;
	size_t h = limit_hash(l, key), i;

	for (i = 0; i < LIMIT_PROBES && i < l->n; i++) {
		s = &l->slots[(h + i) % l->n];
		if (s->used && memcmp(s->key, key, 9) == 0)
			return s;
		if (victim == NULL || !s->used ||
		    (victim->used && s->last_ms < victim->last_ms))
			victim = s;
	}
	memcpy(victim->key, key, 9);
	victim->used = 1;
	victim->tokens = l->per_minute;		/* a new source: full */
	victim->last_ms = -1;
	return victim;
}

int
tg_collect_limiter_admit(struct tg_collect_limiter *l,
    const struct sockaddr *sa, long long now_ms)
{
	unsigned char key[9];
	struct limit_slot *s;

	if (!limit_key(sa, key))
		return 1;
	s = limit_slot(l, key);
	if (s->last_ms >= 0 && now_ms > s->last_ms) {
		s->tokens += (double)(now_ms - s->last_ms) * l->per_minute /
		    60000.0;
		if (s->tokens > l->per_minute)
			s->tokens = l->per_minute;
	}
	s->last_ms = now_ms;
	if (s->tokens < 1.0)
		return 0;
	s->tokens -= 1.0;
	return 1;
}
