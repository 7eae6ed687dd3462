/*
 * smtp/dsnlimit — see dsnlimit.h. A util/agetab by domain, in the order
 * the windows began, for forgetting the oldest.
 */
#include "smtp/dsnlimit.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/agetab.h"
#include "util/limits.h"

struct dl_domain {
	struct tg_agetab_entry base;	/* key: name */
	time_t start;			/* the window's first DSN */
	unsigned count;
	char name[TG_DNAME_MAX + 1];	/* lower case */
};

struct tg_dsnlimit {
	unsigned max;
	long window_s;
	struct tg_agetab domains;	/* of dl_domain */
};

static void
dl_free(struct tg_agetab_entry *e)
{
	free(e);
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
	tg_agetab_init(&l->domains, TG_DSNLIMIT_DOMAINS, dl_free);
	return l;
}

void
tg_dsnlimit_free(struct tg_dsnlimit *l)
{
	if (l == NULL)
		return;
	tg_agetab_clear(&l->domains);
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
	struct dl_domain *d;

	d = (struct dl_domain *)tg_agetab_find(&l->domains, name);
	if (d != NULL)
		return d;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	memcpy(d->name, name, strlen(name) + 1);
	d->base.key = d->name;
	d->start = now;
	if (tg_agetab_add(&l->domains, &d->base) != 0) {
		free(d);
		return NULL;
	}
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
		tg_agetab_renew(&l->domains, &d->base);
	}
	if (d->count >= l->max)
		return 0;
	d->count++;
	return 1;
}

size_t
tg_dsnlimit_count(const struct tg_dsnlimit *l)
{
	return l->domains.n;
}
