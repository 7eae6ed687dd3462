/*
 * smtp/dsnlimit — see dsnlimit.h. A search tree (tsearch) by domain,
 * and a list in the order the windows began for forgetting the oldest.
 */
#include "smtp/dsnlimit.h"

#include <ctype.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "util/limits.h"
#include "util/text.h"

struct dl_domain {
	TAILQ_ENTRY(dl_domain) age;	/* l->ages: oldest window first */
	time_t start;			/* the window's first DSN */
	unsigned count;
	char name[TG_DNAME_MAX + 1];	/* lower case */
};

TAILQ_HEAD(dl_list, dl_domain);

struct tg_dsnlimit {
	unsigned max;
	long window_s;
	void *tree;
	struct dl_list ages;
	size_t n;
};

static int
dl_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dl_domain *)a)->name,
	    ((const struct dl_domain *)b)->name);
}

struct tg_dsnlimit *
tg_dsnlimit_new(unsigned max, long window_s, struct tg_err *err)
{
	struct tg_dsnlimit *l;

	if (max == 0 || window_s <= 0) {
		tg_err_set(err, TG_ERR_BUG, NULL, "a DSN limit needs a "
		    "count and a window");
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	l->max = max;
	l->window_s = window_s;
	TAILQ_INIT(&l->ages);
	return l;
}

static void
dl_drop(struct tg_dsnlimit *l, struct dl_domain *d)
{
	tdelete(d, &l->tree, dl_cmp);
	TAILQ_REMOVE(&l->ages, d, age);
	l->n--;
	free(d);
}

void
tg_dsnlimit_free(struct tg_dsnlimit *l)
{
	struct dl_domain *d;

	if (l == NULL)
		return;
	while ((d = TAILQ_FIRST(&l->ages)) != NULL)
		dl_drop(l, d);
	free(l);
}

void
tg_dsnlimit_set_max(struct tg_dsnlimit *l, unsigned max)
{
	if (max > 0)
		l->max = max;
}

/* The domain's entry, created (with an empty window) when missing;
 * NULL when out of memory. */
static struct dl_domain *
dl_get(struct tg_dsnlimit *l, const char *name, time_t now)
{
	struct dl_domain key, *d, *old;
	void *slot;

	tg_text_fmt(key.name, sizeof(key.name), "%s", name);
	if ((slot = tfind(&key, &l->tree, dl_cmp)) != NULL)
		return *(struct dl_domain **)slot;
	while (l->n >= TG_DSNLIMIT_DOMAINS &&
	    (old = TAILQ_FIRST(&l->ages)) != NULL)
		dl_drop(l, old);
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	memcpy(d->name, key.name, sizeof(d->name));
	d->start = now;
	slot = tsearch(d, &l->tree, dl_cmp);
	if (slot == NULL || *(struct dl_domain **)slot != d) {
		free(d);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&l->ages, d, age);
	l->n++;
	return d;
}

int
tg_dsnlimit_take(struct tg_dsnlimit *l, const char *sender, time_t now)
{
	const char *at = strrchr(sender, '@');
	char name[TG_DNAME_MAX + 1];
	struct dl_domain *d;
	size_t i;

	at = at != NULL ? at + 1 : sender;
	for (i = 0; at[i] != '\0' && i + 1 < sizeof(name); i++)
		name[i] = (char)tolower((unsigned char)at[i]);
	name[i] = '\0';
	if ((d = dl_get(l, name, now)) == NULL)
		return 1;	/* only a limit: never lose a DSN to it */
	if (now - d->start >= l->window_s || now < d->start) {
		/* A new window: to the end of the forgetting order. */
		d->start = now;
		d->count = 0;
		TAILQ_REMOVE(&l->ages, d, age);
		TAILQ_INSERT_TAIL(&l->ages, d, age);
	}
	if (d->count >= l->max)
		return 0;
	d->count++;
	return 1;
}

size_t
tg_dsnlimit_count(const struct tg_dsnlimit *l)
{
	return l->n;
}
