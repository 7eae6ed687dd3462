/*
 * Unit tests for tls/rollover: whole rollovers played against a
 * simulated zone and clock, with the invariants of RFC 7671 §8.1 and
 * RELIABILITY C-01 checked at every step — the served key's record is
 * always in the zone once DANE is on, the next key is served only after
 * its record was visible for two TTLs, only the retired record is ever
 * deleted, each UPDATE's prerequisite is the zone as it is; a crash
 * (the step planned again without its outcome) plans the same step;
 * and the states no step leads out of.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tls/rollover.h"

#define TTL	300
#define DAY	86400L

struct world {
	struct tg_rollover_in in;
	char zone[4][TG_ROLLOVER_DIGEST_LEN + 1];	/* the RRset */
	size_t nzone;
	time_t next_in_zone_at;		/* when next's record went in */
	int keys_made, switches, dane_on;
};

static void
key_new(struct world *w, struct tg_rollover_key *k, time_t not_after)
{
	memset(k, 0, sizeof(*k));
	k->present = 1;
	snprintf(k->spki, sizeof(k->spki), "%064x", ++w->keys_made);
	k->not_after = not_after;
}

static int
zone_has(const struct world *w, const char *spki)
{
	size_t i;

	for (i = 0; i < w->nzone; i++)
		if (strcmp(w->zone[i], spki) == 0)
			return 1;
	return 0;
}

/* The zone equals s (as a set). */
static int
zone_is(const struct world *w, const struct tg_rollover_set *s)
{
	size_t i;

	if (s->n != w->nzone)
		return 0;
	for (i = 0; i < s->n; i++)
		if (!zone_has(w, s->spki[i]))
			return 0;
	return 1;
}

static void
zone_del(struct world *w, const char *spki)
{
	size_t i;

	for (i = 0; i < w->nzone; i++)
		if (strcmp(w->zone[i], spki) == 0) {
			memmove(w->zone[i], w->zone[i + 1],
			    (w->nzone - i - 1) * sizeof(w->zone[0]));
			w->nzone--;
			return;
		}
}

/* Carry out st as the controller would, checking the invariants. */
static void
apply(struct world *w, const struct tg_rollover_step *st)
{
	struct tg_rollover_in *in = &w->in;

	switch (st->action) {
	case TG_ROLLOVER_PUBLISH_CURRENT:
	case TG_ROLLOVER_PUBLISH_NEXT:
		assert_true(zone_is(w, &st->before));
		snprintf(w->zone[w->nzone++], sizeof(w->zone[0]), "%s",
		    st->change);
		assert_true(zone_is(w, &st->after));
		if (st->action == TG_ROLLOVER_PUBLISH_NEXT) {
			in->next.tlsa = TG_ROLLOVER_TLSA_PUBLISHED;
			w->next_in_zone_at = in->now;
		} else
			in->current.tlsa = TG_ROLLOVER_TLSA_PUBLISHED;
		break;
	case TG_ROLLOVER_CHECK_CURRENT:
	case TG_ROLLOVER_CHECK_NEXT:
		assert_true(zone_is(w, &st->after));
		in->now += 30;		/* the check itself takes a while */
		if (st->action == TG_ROLLOVER_CHECK_NEXT) {
			in->next.tlsa = TG_ROLLOVER_TLSA_VISIBLE;
			in->next.visible_at = in->now;
		} else {
			in->current.tlsa = TG_ROLLOVER_TLSA_VISIBLE;
			in->current.visible_at = in->now;
			w->dane_on = 1;
		}
		break;
	case TG_ROLLOVER_MAKE_NEXT:
		key_new(w, &in->next, in->now + 90 * DAY);
		in->renew_now = 0;
		break;
	case TG_ROLLOVER_SWITCH:
		/* RFC 7671 §8.1: visible for two TTLs first. */
		assert_true(zone_has(w, in->next.spki));
		assert_true(in->now >= w->next_in_zone_at + 2 * TTL);
		in->retired = in->current;
		in->retired.switched_at = in->now;
		in->current = in->next;
		memset(&in->next, 0, sizeof(in->next));
		w->switches++;
		break;
	case TG_ROLLOVER_RETIRE_OLD:
		assert_true(zone_is(w, &st->before));
		assert_string_equal(st->change, in->retired.spki);
		assert_string_not_equal(st->change, in->current.spki);
		assert_true(in->now >= in->retired.switched_at + TTL);
		zone_del(w, st->change);
		assert_true(zone_is(w, &st->after));
		in->retired.tlsa = TG_ROLLOVER_TLSA_RETIRING;
		break;
	case TG_ROLLOVER_CHECK_RETIRED:
		assert_true(zone_is(w, &st->after));
		memset(&in->retired, 0, sizeof(in->retired));
		break;
	case TG_ROLLOVER_WAIT:
	case TG_ROLLOVER_IDLE:
		assert_true(st->wait_until > in->now);
		in->now = st->wait_until;
		break;
	default:
		fail_msg("stuck: %s", st->why);
	}
	/* The served key's record is in the zone once DANE is on. */
	if (w->dane_on)
		assert_true(zone_has(w, in->current.spki));
}

/* Play steps until `switches` rollovers are done and the retired record
 * is gone (bounded). Every step is also planned twice: a crash before
 * its outcome was recorded plans the same step again. */
static void
play(struct world *w, int switches)
{
	struct tg_rollover_step st, again;
	int i;

	for (i = 0; i < 100; i++) {
		tg_rollover_plan(&w->in, &st);
		tg_rollover_plan(&w->in, &again);
		assert_int_equal(st.action, again.action);
		assert_int_equal(st.wait_until, again.wait_until);
		if (w->switches == switches && !w->in.retired.present &&
		    st.action == TG_ROLLOVER_IDLE)
			return;
		apply(w, &st);
	}
	fail_msg("no end after 100 steps");
}

static void
world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->in.now = 1800000000;
	w->in.ttl = TTL;
	w->in.renew_before = 30 * DAY;
	key_new(w, &w->in.current, w->in.now + 90 * DAY);
}

/* First publication, then two rollovers when renewal falls due. */
static void
test_whole_rollovers(void **state)
{
	struct world w;

	(void)state;
	world_init(&w);
	play(&w, 0);
	assert_true(w.dane_on);
	assert_int_equal(w.nzone, 1);
	/* Idle until 30 days before expiry, then the first rollover. */
	play(&w, 1);
	assert_int_equal(w.keys_made, 2);
	assert_int_equal(w.nzone, 1);
	assert_string_equal(w.zone[0], w.in.current.spki);
	play(&w, 2);
	assert_int_equal(w.keys_made, 3);
	assert_string_equal(w.zone[0], w.in.current.spki);
}

/* The waits: their ends, and nothing happens before them. */
static void
test_waits(void **state)
{
	struct tg_rollover_step st;
	struct world w;

	(void)state;
	world_init(&w);
	play(&w, 0);
	tg_rollover_plan(&w.in, &st);
	assert_int_equal(st.action, TG_ROLLOVER_IDLE);
	assert_int_equal(st.wait_until, w.in.current.not_after - 30 * DAY);
	/* Asked for: at once. */
	w.in.renew_now = 1;
	tg_rollover_plan(&w.in, &st);
	assert_int_equal(st.action, TG_ROLLOVER_MAKE_NEXT);
	apply(&w, &st);
	tg_rollover_plan(&w.in, &st);
	assert_int_equal(st.action, TG_ROLLOVER_PUBLISH_NEXT);
	assert_int_equal(st.before.n, 1);
	assert_int_equal(st.after.n, 2);
	apply(&w, &st);
	tg_rollover_plan(&w.in, &st);
	assert_int_equal(st.action, TG_ROLLOVER_CHECK_NEXT);
	apply(&w, &st);
	tg_rollover_plan(&w.in, &st);
	assert_int_equal(st.action, TG_ROLLOVER_WAIT);
	assert_int_equal(st.wait_until, w.in.next.visible_at + 2 * TTL);
	w.in.now = st.wait_until - 1;
	tg_rollover_plan(&w.in, &st);
	assert_int_equal(st.action, TG_ROLLOVER_WAIT);
	w.in.now++;
	tg_rollover_plan(&w.in, &st);
	assert_int_equal(st.action, TG_ROLLOVER_SWITCH);
	apply(&w, &st);
	/* The old record stays one TTL after the switch. */
	tg_rollover_plan(&w.in, &st);
	assert_int_equal(st.action, TG_ROLLOVER_WAIT);
	assert_int_equal(st.wait_until, w.in.retired.switched_at + TTL);
	w.in.now = st.wait_until;
	tg_rollover_plan(&w.in, &st);
	assert_int_equal(st.action, TG_ROLLOVER_RETIRE_OLD);
	assert_int_equal(st.before.n, 2);
	assert_int_equal(st.after.n, 1);
	assert_string_equal(st.after.spki[0], w.in.current.spki);
}

/* States no step leads out of: said so, never a guess. */
static void
test_stuck(void **state)
{
	struct tg_rollover_step st;
	struct world w;

	(void)state;
	world_init(&w);
	w.in.current.tlsa = TG_ROLLOVER_TLSA_RETIRING;
	tg_rollover_plan(&w.in, &st);
	assert_int_equal(st.action, TG_ROLLOVER_STUCK);
	world_init(&w);
	w.in.current.present = 0;
	tg_rollover_plan(&w.in, &st);
	assert_int_equal(st.action, TG_ROLLOVER_STUCK);
	world_init(&w);
	w.in.current.tlsa = TG_ROLLOVER_TLSA_VISIBLE;
	key_new(&w, &w.in.next, w.in.now + DAY);
	w.in.next.tlsa = TG_ROLLOVER_TLSA_REMOVED;
	tg_rollover_plan(&w.in, &st);
	assert_int_equal(st.action, TG_ROLLOVER_STUCK);
	assert_string_equal(tg_rollover_action_name(st.action), "stuck");
	assert_string_equal(tg_rollover_action_name(TG_ROLLOVER_SWITCH),
	    "switch");
}

/* RELIABILITY C-05: the switch is undone only before the old record
 * goes, only when the served key fails and the old record is seen. */
static void
test_roll_back(void **state)
{
	static const char *const old_seen[] = { "aa", "bb" };
	static const char *const new_only[] = { "bb" };
	struct tg_rollover_step retire = { .action = TG_ROLLOVER_RETIRE_OLD };
	struct tg_rollover_step other = { .action = TG_ROLLOVER_WAIT };
	struct tg_rollover_in in;
	struct {
		const struct tg_rollover_step *step;
		enum tg_rollover_seen seen;
		enum tg_rollover_tlsa retired_tlsa;
		const char *const *spki;
		size_t n;
		int want;
	} t[] = {
		{ &retire, TG_ROLLOVER_SEEN_INVALID, TG_ROLLOVER_TLSA_VISIBLE,
		    old_seen, 2, 1 },
		{ &retire, TG_ROLLOVER_SEEN_OK, TG_ROLLOVER_TLSA_VISIBLE,
		    old_seen, 2, 0 },
		{ &retire, TG_ROLLOVER_SEEN_UNKNOWN, TG_ROLLOVER_TLSA_VISIBLE,
		    old_seen, 2, 0 },
		/* the old record is not there: serving it would not help */
		{ &retire, TG_ROLLOVER_SEEN_INVALID, TG_ROLLOVER_TLSA_VISIBLE,
		    new_only, 1, 0 },
		{ &retire, TG_ROLLOVER_SEEN_INVALID, TG_ROLLOVER_TLSA_VISIBLE,
		    NULL, 0, 0 },
		/* its deletion was already sent */
		{ &retire, TG_ROLLOVER_SEEN_INVALID, TG_ROLLOVER_TLSA_RETIRING,
		    old_seen, 2, 0 },
		/* only at the step before the old record goes */
		{ &other, TG_ROLLOVER_SEEN_INVALID, TG_ROLLOVER_TLSA_VISIBLE,
		    old_seen, 2, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&in, 0, sizeof(in));
		in.retired.present = 1;
		snprintf(in.retired.spki, sizeof(in.retired.spki), "aa");
		in.retired.tlsa = t[i].retired_tlsa;
		if (tg_rollover_roll_back(&in, t[i].step, t[i].seen, t[i].spki,
		    t[i].n) != t[i].want)
			fail_msg("case %zu: want %d", i, t[i].want);
	}
	memset(&in, 0, sizeof(in));	/* no retired key at all */
	assert_int_equal(tg_rollover_roll_back(&in, &retire,
	    TG_ROLLOVER_SEEN_INVALID, old_seen, 2), 0);
}

/* With ACME on, a next key still self-signed is not switched in: the
 * rollover waits, and switches once its certificate is CA-issued. */
static void
test_next_cert_pending(void **state)
{
	struct tg_rollover_step st;
	struct tg_rollover_in in;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.now = 1000000;
	in.ttl = TTL;
	in.renew_before = 30 * DAY;
	in.current.present = in.next.present = 1;
	snprintf(in.current.spki, sizeof(in.current.spki), "%064d", 1);
	snprintf(in.next.spki, sizeof(in.next.spki), "%064d", 2);
	in.current.tlsa = in.next.tlsa = TG_ROLLOVER_TLSA_VISIBLE;
	in.current.not_after = in.now + 10 * DAY;
	in.next.visible_at = in.now - 3 * TTL;
	in.next_cert_pending = 1;
	tg_rollover_plan(&in, &st);
	assert_int_equal(st.action, TG_ROLLOVER_WAIT);
	assert_int_equal(st.wait_until, in.now +
	    TG_ROLLOVER_PENDING_RECHECK_S);
	assert_non_null(strstr(st.why, "not CA-issued"));
	in.next_cert_pending = 0;
	tg_rollover_plan(&in, &st);
	assert_int_equal(st.action, TG_ROLLOVER_SWITCH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_rollovers),
		cmocka_unit_test(test_waits),
		cmocka_unit_test(test_stuck),
		cmocka_unit_test(test_roll_back),
		cmocka_unit_test(test_next_cert_pending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
