/*
 * admin/checks — the console's domain checks on the daemon's loop (see
 * checks.h).
 */
#include "admin/checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "util/clock.h"
#include "util/dname.h"

struct check_slot {
	struct tg_admin_checks *t;
	int used;
	char id[TG_ADMIN_CHECK_ID_LEN + 1];
	char domain[TG_DNAME_MAX + 1];
	time_t started;
	time_t ended;			/* 0 while it runs */
	struct tg_check *chk;		/* while it runs */
	json_t *report;			/* once done */
};

struct tg_admin_checks {
	struct event_base *base;
	const struct tg_check_env *env;
	int probe;
	struct check_slot slot[TG_ADMIN_CHECKS_MAX];
};

struct tg_admin_checks *
tg_admin_checks_new(struct event_base *base, const struct tg_check_env *env,
    int probe)
{
	struct tg_admin_checks *t = calloc(1, sizeof(*t));
	size_t i;

	if (t == NULL)
		return NULL;
	t->base = base;
	t->env = env;
	t->probe = probe;
	for (i = 0; i < TG_ADMIN_CHECKS_MAX; i++)
		t->slot[i].t = t;
	return t;
}

static void
slot_clear(struct check_slot *s)
{
	struct tg_admin_checks *t = s->t;

	if (s->chk != NULL)
		tg_check_cancel(s->chk);
	json_decref(s->report);
	memset(s, 0, sizeof(*s));
	s->t = t;
}

void
tg_admin_checks_free(struct tg_admin_checks *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < TG_ADMIN_CHECKS_MAX; i++)
		slot_clear(&t->slot[i]);
	free(t);
}

static void
check_done(struct tg_check_report *report, void *arg)
{
	struct check_slot *s = arg;

	s->chk = NULL;
	s->ended = tg_clock_now();
	if (s->ended <= s->started)
		s->ended = s->started + 1;
	/* A report JSON could not be made for: an empty object says done. */
	if ((s->report = tg_check_to_json(report)) == NULL)
		s->report = json_object();
	free(report);
}

/* Free the slots of checks that ended more than KEEP_S ago. */
static void
expire(struct tg_admin_checks *t, time_t now)
{
	size_t i;

	for (i = 0; i < TG_ADMIN_CHECKS_MAX; i++)
		if (t->slot[i].used && t->slot[i].ended != 0 &&
		    now - t->slot[i].ended > TG_ADMIN_CHECKS_KEEP_S)
			slot_clear(&t->slot[i]);
}

/* A free slot, else the one of the oldest finished check; NULL when
 * every slot holds a running check. */
static struct check_slot *
slot_take(struct tg_admin_checks *t)
{
	struct check_slot *oldest = NULL;
	size_t i;

	for (i = 0; i < TG_ADMIN_CHECKS_MAX; i++) {
		if (!t->slot[i].used)
			return &t->slot[i];
		if (t->slot[i].ended != 0 && (oldest == NULL ||
		    t->slot[i].ended < oldest->ended))
			oldest = &t->slot[i];
	}
	if (oldest != NULL)
		slot_clear(oldest);
	return oldest;
}

int
tg_admin_checks_start(struct tg_admin_checks *t, const char *domain,
    time_t now, char id[TG_ADMIN_CHECK_ID_LEN + 1], struct tg_err *err)
{
	unsigned char raw[TG_ADMIN_CHECK_ID_LEN / 2];
	struct tg_check_params p;
	struct check_slot *s;
	size_t i, running = 0;

	expire(t, now);
	for (i = 0; i < TG_ADMIN_CHECKS_MAX; i++)
		running += t->slot[i].used && t->slot[i].ended == 0;
	if (running >= TG_ADMIN_CHECKS_RUNNING)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "%d checks are "
		    "running already; try again when one has ended",
		    TG_ADMIN_CHECKS_RUNNING);
	if ((s = slot_take(t)) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "no room for "
		    "another check now");
	if (tg_dname_normalize(domain, s->domain, sizeof(s->domain),
	    err) != 0) {
		s->domain[0] = '\0';
		return -1;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "no random bytes");
	for (i = 0; i < sizeof(raw); i++)
		snprintf(s->id + 2 * i, 3, "%02x", raw[i]);
	s->started = now;
	tg_check_env_params(t->env, s->domain, t->probe, &p);
	s->used = 1;
	if ((s->chk = tg_check_start(t->base, t->env->r, &p, check_done, s,
	    err)) == NULL) {
		slot_clear(s);
		return -1;
	}
	memcpy(id, s->id, sizeof(s->id));
	return 0;
}

json_t *
tg_admin_checks_get(struct tg_admin_checks *t, const char *id, time_t now)
{
	char started[32];
	json_t *o;
	size_t i;

	expire(t, now);
	for (i = 0; i < TG_ADMIN_CHECKS_MAX; i++) {
		const struct check_slot *s = &t->slot[i];

		if (!s->used || strcmp(s->id, id) != 0)
			continue;
		tg_clock_format(s->started, started, sizeof(started));
		o = json_pack("{s:s, s:s, s:s, s:s}", "id", s->id, "domain",
		    s->domain, "started", started, "state", s->ended != 0 ?
		    "done" : "running");
		if (o != NULL && s->report != NULL)
			json_object_set(o, "report", s->report);
		return o;
	}
	return NULL;
}
