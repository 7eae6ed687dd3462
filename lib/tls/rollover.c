/*
 * tls/rollover — see rollover.h.
 */
#include "tls/rollover.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int
in_dns(const struct tg_rollover_key *k)
{
	return k->present && (k->tlsa == TG_ROLLOVER_TLSA_PUBLISHED ||
	    k->tlsa == TG_ROLLOVER_TLSA_VISIBLE);
}

/* The digests whose records are in the zone now: retired (until its
 * deletion), current, next. */
static void
published_set(const struct tg_rollover_in *in, struct tg_rollover_set *s)
{
	memset(s, 0, sizeof(*s));
	if (in_dns(&in->retired))
		s->spki[s->n++] = in->retired.spki;
	if (in_dns(&in->current))
		s->spki[s->n++] = in->current.spki;
	if (in_dns(&in->next))
		s->spki[s->n++] = in->next.spki;
}

static void
set_add(struct tg_rollover_set *s, const char *spki)
{
	if (s->n < TG_ROLLOVER_SET_MAX)
		s->spki[s->n++] = spki;
}

static void
set_remove(struct tg_rollover_set *s, const char *spki)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->spki[i] == spki) {
			memmove(&s->spki[i], &s->spki[i + 1],
			    (s->n - i - 1) * sizeof(s->spki[0]));
			s->n--;
			return;
		}
}

static void
step(struct tg_rollover_step *out, enum tg_rollover_action a,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
step(struct tg_rollover_step *out, enum tg_rollover_action a,
    const char *fmt, ...)
{
	va_list ap;

	out->action = a;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
}

/* An add (PUBLISH_*) of k: before is the zone's set, after adds k. */
static void
plan_add(const struct tg_rollover_in *in, const struct tg_rollover_key *k,
    enum tg_rollover_action a, struct tg_rollover_step *out)
{
	published_set(in, &out->before);
	out->after = out->before;
	set_add(&out->after, k->spki);
	out->change = k->spki;
	step(out, a, "publish TLSA 3 1 1 %.16s... beside %zu record(s)",
	    k->spki, out->before.n);
}

/* The retired key's record: kept one TTL after the switch, then deleted
 * alone, then checked gone. 1 when that is the step. */
static int
plan_retired(const struct tg_rollover_in *in, struct tg_rollover_step *out)
{
	const struct tg_rollover_key *r = &in->retired;

	if (!r->present)
		return 0;
	if (r->tlsa == TG_ROLLOVER_TLSA_RETIRING) {
		published_set(in, &out->after);
		step(out, TG_ROLLOVER_CHECK_RETIRED, "check that the retired "
		    "record is gone everywhere");
		return 1;
	}
	if (!in_dns(r))
		return 0;
	if (in->now < r->switched_at + in->ttl) {
		out->wait_until = r->switched_at + in->ttl;
		step(out, TG_ROLLOVER_WAIT, "keep the retired record one TTL "
		    "after the switch");
		return 1;
	}
	published_set(in, &out->before);
	out->after = out->before;
	set_remove(&out->after, r->spki);
	out->change = r->spki;
	step(out, TG_ROLLOVER_RETIRE_OLD, "delete the retired record "
	    "%.16s...", r->spki);
	return 1;
}

static void
plan_next(const struct tg_rollover_in *in, struct tg_rollover_step *out)
{
	const struct tg_rollover_key *c = &in->current, *n = &in->next;
	time_t due = c->not_after - in->renew_before;

	if (!n->present) {
		if (in->renew_now || in->now >= due) {
			step(out, TG_ROLLOVER_MAKE_NEXT, "%s: make the next "
			    "key", in->renew_now ? "renewal asked for" :
			    "renewal due");
			return;
		}
		out->wait_until = due;
		step(out, TG_ROLLOVER_IDLE, "nothing to do until renewal");
		return;
	}
	switch (n->tlsa) {
	case TG_ROLLOVER_TLSA_NONE:
		plan_add(in, n, TG_ROLLOVER_PUBLISH_NEXT, out);
		return;
	case TG_ROLLOVER_TLSA_PUBLISHED:
		published_set(in, &out->after);
		step(out, TG_ROLLOVER_CHECK_NEXT, "check that the next record "
		    "is visible everywhere");
		return;
	case TG_ROLLOVER_TLSA_VISIBLE:
		/* RFC 7671 §8.1: two TTLs, so that no cache anywhere still
		 * holds a set without the next record. */
		if (in->now < n->visible_at + 2 * in->ttl) {
			out->wait_until = n->visible_at + 2 * in->ttl;
			step(out, TG_ROLLOVER_WAIT, "the next record must be "
			    "visible for two TTLs before the switch");
			return;
		}
		if (in->next_cert_pending) {
			out->wait_until = in->now +
			    TG_ROLLOVER_PENDING_RECHECK_S;
			step(out, TG_ROLLOVER_WAIT, "the next key's "
			    "certificate is not CA-issued yet (ACME)");
			return;
		}
		step(out, TG_ROLLOVER_SWITCH, "serve the next key");
		return;
	default:
		step(out, TG_ROLLOVER_STUCK, "the next key's record was "
		    "deleted before it was used");
		return;
	}
}

void
tg_rollover_plan(const struct tg_rollover_in *in,
    struct tg_rollover_step *out)
{
	const struct tg_rollover_key *c = &in->current;

	memset(out, 0, sizeof(*out));
	if (!c->present || in->ttl <= 0) {
		step(out, TG_ROLLOVER_STUCK, "%s", !c->present ? "no current "
		    "key" : "no TLSA TTL");
		return;
	}
	switch (c->tlsa) {
	case TG_ROLLOVER_TLSA_NONE:
		plan_add(in, c, TG_ROLLOVER_PUBLISH_CURRENT, out);
		return;
	case TG_ROLLOVER_TLSA_PUBLISHED:
		published_set(in, &out->after);
		step(out, TG_ROLLOVER_CHECK_CURRENT, "check that the current "
		    "record is visible everywhere");
		return;
	case TG_ROLLOVER_TLSA_VISIBLE:
		break;
	default:
		/* Never: the served key's record is never deleted. */
		step(out, TG_ROLLOVER_STUCK, "the current key's record is "
		    "being deleted");
		return;
	}
	if (plan_retired(in, out))
		return;
	plan_next(in, out);
}

int
tg_rollover_roll_back(const struct tg_rollover_in *in,
    const struct tg_rollover_step *step, enum tg_rollover_seen seen,
    const char *const *seen_spki, size_t nseen)
{
	size_t i;

	if (step->action != TG_ROLLOVER_RETIRE_OLD ||
	    seen != TG_ROLLOVER_SEEN_INVALID || !in->retired.present ||
	    in->retired.tlsa != TG_ROLLOVER_TLSA_VISIBLE)
		return 0;
	for (i = 0; i < nseen; i++)
		if (strcmp(seen_spki[i], in->retired.spki) == 0)
			return 1;
	return 0;
}

const char *
tg_rollover_action_name(enum tg_rollover_action a)
{
	static const char *const names[] = { "idle", "publish-current",
	    "check-current", "make-next", "publish-next", "check-next",
	    "wait", "switch", "retire-old", "check-retired", "stuck" };

	return (size_t)a < sizeof(names) / sizeof(names[0]) ? names[a] :
	    "invalid";
}
