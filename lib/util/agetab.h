/*
 * util/agetab — a bounded table of entries found by a string key and kept
 * in age order: at most max entries, the oldest goes first when a new one
 * comes. The caches of smtp/rcptverify and the counters of smtp/dsnlimit.
 *
 * Entries are the caller's structs, beginning with struct
 * tg_agetab_entry, whose key the caller points at (usually into the same
 * allocation); the table frees them with free_fn. A search tree (tsearch)
 * finds them, a list keeps their age.
 */
#ifndef TG_UTIL_AGETAB_H
#define TG_UTIL_AGETAB_H

#include <stddef.h>
#include <sys/queue.h>

struct tg_agetab_entry {
	TAILQ_ENTRY(tg_agetab_entry) age;	/* oldest first */
	const char *key;
};

struct tg_agetab {
	void *tree;
	TAILQ_HEAD(, tg_agetab_entry) ages;
	size_t n, max;
	void (*free_fn)(struct tg_agetab_entry *e);
};

void tg_agetab_init(struct tg_agetab *t, size_t max,
    void (*free_fn)(struct tg_agetab_entry *e));

/* The entry for key, or NULL. */
struct tg_agetab_entry *tg_agetab_find(struct tg_agetab *t, const char *key);

/* Take e (e->key set, not in the table) as the newest, the oldest ones
 * dropped while the table is full. -1 (e not taken, not freed) when out
 * of memory or the key is there already. */
int tg_agetab_add(struct tg_agetab *t, struct tg_agetab_entry *e);

/* Make e the newest. */
void tg_agetab_renew(struct tg_agetab *t, struct tg_agetab_entry *e);

/* Take e out and free it. */
void tg_agetab_drop(struct tg_agetab *t, struct tg_agetab_entry *e);

/* Every entry out and freed. */
void tg_agetab_clear(struct tg_agetab *t);

#endif
