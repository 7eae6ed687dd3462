/*
 * acmechallenge — put ACME http-01 challenges into the store and take
 * them out, as the controller does, for the integration tests of stsd.
 *
 *   acmechallenge STATE_DIR put TOKEN KEYAUTH HOST EXPIRES
 *   acmechallenge STATE_DIR remove TOKEN
 *   acmechallenge STATE_DIR purge
 *
 * EXPIRES is seconds since the epoch, or "+N"/"-N" seconds from now.
 * Exit 0 when done, 1 when remove found no such token, 2 on an error
 * (printed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/clock.h"

static int
put(struct tg_store *st, char **argv, struct tg_err *err)
{
	struct tg_store_acme_challenge c;
	long long t;

	memset(&c, 0, sizeof(c));
	snprintf(c.token, sizeof(c.token), "%s", argv[0]);
	snprintf(c.key_authorization, sizeof(c.key_authorization), "%s",
	    argv[1]);
	snprintf(c.host, sizeof(c.host), "%s", argv[2]);
	t = strtoll(argv[3], NULL, 10);
	c.expires = argv[3][0] == '+' || argv[3][0] == '-' ?
	    tg_clock_now() + (time_t)t : (time_t)t;
	return tg_store_acme_challenge_put(st, &c, err);
}

int
main(int argc, char **argv)
{
	struct tg_store *st;
	struct tg_err err;
	int r;

	if (argc < 3 || (strcmp(argv[2], "put") == 0 && argc != 7) ||
	    (strcmp(argv[2], "remove") == 0 && argc != 4)) {
		fprintf(stderr, "usage: acmechallenge STATE_DIR put|remove|"
		    "purge ...\n");
		return 2;
	}
	if (tg_store_open(argv[1], &st, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	if (strcmp(argv[2], "put") == 0)
		r = put(st, argv + 3, &err);
	else if (strcmp(argv[2], "remove") == 0)
		r = tg_store_acme_challenge_remove(st, argv[3], &err);
	else if (strcmp(argv[2], "purge") == 0)
		r = tg_store_acme_challenge_purge(st, tg_clock_now(), &err);
	else
		r = tg_err_set(&err, TG_ERR_PERM, NULL, "unknown command %s",
		    argv[2]);
	if (r < 0)
		fprintf(stderr, "%s\n", err.msg);
	tg_store_close(st);
	return r < 0 ? 2 : r == TG_STORE_NOTFOUND ? 1 : 0;
}
