/*
 * Shared fixture of the store's unit tests: a fresh state directory under
 * /tmp with an open store, removed afterwards, and a census of every
 * table (row counts and the generation) to prove a failed call changed
 * nothing.
 */
#ifndef TG_TEST_STORE_UTIL_H
#define TG_TEST_STORE_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

#define UNUSED __attribute__((unused))

struct fx {
	char dir[64];
	struct tg_store *st;
};

static UNUSED int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove dir and everything below it. */
static UNUSED void
rmtree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static UNUSED void
make_tmpdir(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/tg-store-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static UNUSED int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct tg_err err;

	assert_non_null(f);
	make_tmpdir(f->dir, sizeof(f->dir));
	if (tg_store_open(f->dir, &f->st, &err) != 0)
		fail_msg("open: %s", err.msg);
	*state = f;
	return 0;
}

static UNUSED int
fx_teardown(void **state)
{
	struct fx *f = *state;

	tg_store_close(f->st);
	rmtree(f->dir);
	free(f);
	return 0;
}

struct census {
	int64_t gen;
	int domains, mx, relays, dests, certs, admins;
};

static UNUSED int
count_domain(const struct tg_store_domain *d, void *arg)
{
	struct census *c = arg;

	c->domains++;
	c->mx += (int)d->sts_mx_count;
	return 0;
}

static UNUSED int
count_relay(const struct tg_store_relay_net *n, void *arg)
{
	(void)n;
	((struct census *)arg)->relays++;
	return 0;
}

static UNUSED int
count_dest(const struct tg_store_dest_policy *p, void *arg)
{
	(void)p;
	((struct census *)arg)->dests++;
	return 0;
}

static UNUSED int
count_cert(const struct tg_store_cert *c, void *arg)
{
	(void)c;
	((struct census *)arg)->certs++;
	return 0;
}

static UNUSED int
count_admin(const struct tg_store_admin *a, void *arg)
{
	(void)a;
	((struct census *)arg)->admins++;
	return 0;
}

static UNUSED void
take_census(struct tg_store *st, struct census *c)
{
	struct tg_err err;

	memset(c, 0, sizeof(*c));
	assert_int_equal(tg_store_generation(st, &c->gen, &err), 0);
	assert_int_equal(tg_store_domain_list(st, count_domain, c, &err), 0);
	assert_int_equal(tg_store_relay_list(st, count_relay, c, &err), 0);
	assert_int_equal(tg_store_dest_list(st, count_dest, c, &err), 0);
	assert_int_equal(tg_store_cert_list(st, NULL, -1, count_cert, c,
	    &err), 0);
	assert_int_equal(tg_store_admin_list(st, count_admin, c, &err), 0);
}

static UNUSED void
assert_census_equal(const struct census *a, const struct census *b)
{
	assert_int_equal(a->gen, b->gen);
	assert_int_equal(a->domains, b->domains);
	assert_int_equal(a->mx, b->mx);
	assert_int_equal(a->relays, b->relays);
	assert_int_equal(a->dests, b->dests);
	assert_int_equal(a->certs, b->certs);
	assert_int_equal(a->admins, b->admins);
}

static UNUSED int64_t
generation(struct tg_store *st)
{
	struct tg_err err;
	int64_t g = -1;

	if (tg_store_generation(st, &g, &err) != 0)
		fail_msg("generation: %s", err.msg);
	return g;
}

/* Fail unless err is a permanent error whose message contains want. */
#define assert_perm_msg(err, want) do {					\
	assert_int_equal((err).cls, TG_ERR_PERM);			\
	if (strstr((err).msg, (want)) == NULL)				\
		fail_msg("message '%s' lacks '%s'", (err).msg, (want));	\
} while (0)

#endif
