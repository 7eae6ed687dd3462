/*
 * util/agetab — see agetab.h.
 */
#include "util/agetab.h"

#include <search.h>
#include <string.h>

static int
agetab_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tg_agetab_entry *)a)->key,
	    ((const struct tg_agetab_entry *)b)->key);
}

void
tg_agetab_init(struct tg_agetab *t, size_t max,
    void (*free_fn)(struct tg_agetab_entry *e))
{
	memset(t, 0, sizeof(*t));
	TAILQ_INIT(&t->ages);
	t->max = max;
	t->free_fn = free_fn;
}

struct tg_agetab_entry *
tg_agetab_find(struct tg_agetab *t, const char *key)
{
	struct tg_agetab_entry probe;
	void *hit;

	probe.key = key;
	hit = tfind(&probe, &t->tree, agetab_cmp);
	return hit != NULL ? *(struct tg_agetab_entry **)hit : NULL;
}

void
tg_agetab_drop(struct tg_agetab *t, struct tg_agetab_entry *e)
{
	tdelete(e, &t->tree, agetab_cmp);
	TAILQ_REMOVE(&t->ages, e, age);
	t->n--;
	t->free_fn(e);
}

int
tg_agetab_add(struct tg_agetab *t, struct tg_agetab_entry *e)
{
	struct tg_agetab_entry *old;
	void *slot;

	while (t->n >= t->max && (old = TAILQ_FIRST(&t->ages)) != NULL)
		tg_agetab_drop(t, old);
	slot = tsearch(e, &t->tree, agetab_cmp);
	if (slot == NULL || *(struct tg_agetab_entry **)slot != e)
		return -1;
	TAILQ_INSERT_TAIL(&t->ages, e, age);
	t->n++;
	return 0;
}

void
tg_agetab_renew(struct tg_agetab *t, struct tg_agetab_entry *e)
{
	TAILQ_REMOVE(&t->ages, e, age);
	TAILQ_INSERT_TAIL(&t->ages, e, age);
}

void
tg_agetab_clear(struct tg_agetab *t)
{
	struct tg_agetab_entry *e;

	while ((e = TAILQ_FIRST(&t->ages)) != NULL)
		tg_agetab_drop(t, e);
}
