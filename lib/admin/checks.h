/*
 * admin/checks — the console's domain checks: `tlsgate check DOMAIN` run
 * on the daemon's loop (policy/check) and its report kept for a while,
 * so that an HTTP request only starts a check or reads where it is, and
 * never waits for DNS or a mail server.
 *
 * Owns: the table of checks (at most TG_ADMIN_CHECKS_MAX, of which at
 * most TG_ADMIN_CHECKS_RUNNING run at once), their random ids (128 bits,
 * hex: an id is the only way to a report), their reports as JSON
 * (policy/check_json, what `tlsgate check --json` prints), and their
 * end: a finished check is kept TG_ADMIN_CHECKS_KEEP_S seconds, then its
 * slot is free; a full table gives its oldest finished check's slot to a
 * new one. It does not own the loop, the resolver, the TLS context or
 * the fetcher: all are the check environment's (policy/check_env),
 * borrowed for the table's life.
 */
#ifndef TG_ADMIN_CHECKS_H
#define TG_ADMIN_CHECKS_H

#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "policy/check_env.h"
#include "util/err.h"

#define TG_ADMIN_CHECKS_MAX	16
#define TG_ADMIN_CHECKS_RUNNING	4
#define TG_ADMIN_CHECKS_KEEP_S	900
#define TG_ADMIN_CHECK_ID_LEN	32	/* hex digits */

struct tg_admin_checks;

/*
 * A table of checks run on base with env (both borrowed, outlive the
 * table); probe 0: DNS only (no connection, no fetch). NULL when out of
 * memory.
 */
struct tg_admin_checks *tg_admin_checks_new(struct event_base *base,
    const struct tg_check_env *env, int probe);

/* Cancel what runs and free. NULL-safe. */
void tg_admin_checks_free(struct tg_admin_checks *t);

/*
 * Start checking domain (normalised first) at now; its id into id.
 * 0; or -1 with err: TG_ERR_PERM for a bad domain name, TG_ERR_TEMP when
 * TG_ADMIN_CHECKS_RUNNING checks run already (or no slot is free, or
 * the check could not start).
 */
int tg_admin_checks_start(struct tg_admin_checks *t, const char *domain,
    time_t now, char id[TG_ADMIN_CHECK_ID_LEN + 1], struct tg_err *err);

/*
 * The check id as JSON (new reference): {"id", "domain", "started" (ISO
 * 8601 UTC), "state": "running" or "done", and when done "report": the
 * report}. NULL when there is no such check (or it has expired at now).
 */
json_t *tg_admin_checks_get(struct tg_admin_checks *t, const char *id,
    time_t now);

#endif
