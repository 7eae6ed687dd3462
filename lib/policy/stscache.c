/*
 * policy/stscache — see stscache.h.
 */
#include "policy/stscache.h"

#include <string.h>

/* The store keeps modes as the values of enum tg_sts_mode. */
_Static_assert(TG_STS_MODE_NONE == TG_CACHE_STS_NONE &&
    TG_STS_MODE_TESTING == TG_CACHE_STS_TESTING &&
    TG_STS_MODE_ENFORCE == TG_CACHE_STS_ENFORCE,
    "store/cache and policy/sts disagree on mode values");

static const char *const why_names[] = {
	"not-published", "txt-unusable", "first-fetch", "current", "refresh",
	"id-changed", "rate-limited", "kept", "forced"
};

static const char *const txt_names[] = {
	"valid", "none", "invalid", "tempfail"
};

const char *
tg_stscache_why_name(enum tg_stscache_why why)
{
	if ((size_t)why < sizeof(why_names) / sizeof(why_names[0]))
		return why_names[why];
	return "?";
}

const char *
tg_stscache_txt_name(enum tg_stscache_txt txt)
{
	if ((size_t)txt < sizeof(txt_names) / sizeof(txt_names[0]))
		return txt_names[txt];
	return "?";
}

int
tg_stscache_in_force(const struct tg_cache_sts *entry, time_t now)
{
	/* RFC 8461 §3.2: cached "for up to this value from the last policy
	 * fetch time". A policy fetched "in the future" (the clock went
	 * back) is still in force: expiry alone ends it. */
	return entry != NULL && entry->has_policy &&
	    now < entry->policy.expires_at;
}

int
tg_stscache_refresh_due(const struct tg_cache_sts *entry, time_t now)
{
	long after;

	if (!tg_stscache_in_force(entry, now))
		return 0;
	/* RFC 8461 §3.3: refresh "before they expire"; about daily. */
	after = entry->policy.max_age / 2;
	if (after > TG_STS_REFRESH_S)
		after = TG_STS_REFRESH_S;
	return now - entry->policy.fetched_at >= after;
}

int
tg_stscache_rate_limited(const struct tg_cache_sts *entry,
    const char *txt_id, time_t now)
{
	const struct tg_cache_sts_attempt *a;

	if (entry == NULL)
		return 0;
	a = &entry->attempt;
	/* RFC 8461 §3.3: after a failed fetch, five minutes or longer per
	 * version id. A clock that went back does not extend the wait. */
	return a->at != 0 && !a->ok && strcmp(a->id, txt_id) == 0 &&
	    now >= a->at && now - a->at < TG_STS_RETRY_S;
}

static void
decide(struct tg_stscache_decision *out, enum tg_stscache_why why,
    int use_cached, int fetch, int wait)
{
	out->why = why;
	out->use_cached = use_cached;
	out->fetch = fetch;
	out->wait = wait;
}

/* A valid TXT record with id: RFC 8461 §3.3, §5.1. */
static void
decide_valid(const struct tg_cache_sts *entry, const char *id, time_t now,
    struct tg_stscache_decision *out)
{
	int cached = tg_stscache_in_force(entry, now);
	int limited = tg_stscache_rate_limited(entry, id, now);

	if (!cached)
		decide(out, limited ? TG_STSCACHE_RATE_LIMITED :
		    TG_STSCACHE_FIRST_FETCH, 0, !limited, !limited);
	else if (strcmp(entry->policy.id, id) != 0)
		decide(out, limited ? TG_STSCACHE_RATE_LIMITED :
		    TG_STSCACHE_ID_CHANGED, 1, !limited, !limited);
	else if (!tg_stscache_refresh_due(entry, now))
		decide(out, TG_STSCACHE_CURRENT, 1, 0, 0);
	else
		decide(out, limited ? TG_STSCACHE_RATE_LIMITED :
		    TG_STSCACHE_REFRESH, 1, !limited, 0);
}

void
tg_stscache_decide(const struct tg_cache_sts *entry,
    enum tg_stscache_txt txt, const char *txt_id, time_t now, int force,
    struct tg_stscache_decision *out)
{
	int cached = tg_stscache_in_force(entry, now);

	if (txt == TG_STSCACHE_TXT_VALID && force)
		decide(out, TG_STSCACHE_FORCED, cached, 1, 1);
	else if (txt == TG_STSCACHE_TXT_VALID)
		decide_valid(entry, txt_id, now, out);
	else if (cached)
		/* RFC 8461 §3.3, §10.2: discovery failed or the record went
		 * away; the cached policy stays in force until it expires. */
		decide(out, TG_STSCACHE_KEPT, 1, 0, 0);
	else if (txt == TG_STSCACHE_TXT_NONE)
		decide(out, TG_STSCACHE_NOT_PUBLISHED, 0, 0, 0);
	else
		decide(out, TG_STSCACHE_TXT_UNUSABLE, 0, 0, 0);
}

int
tg_stscache_from_fetch(const struct tg_sts_policy *p, const char *body,
    size_t len, const char *id, time_t now, struct tg_cache_sts_policy *out,
    struct tg_err *err)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	if (len > sizeof(out->body) || p->count > TG_STS_MX_MAX ||
	    strlen(id) > TG_STS_ID_MAX)
		return tg_err_set(err, TG_ERR_BUG, NULL, "policy does not fit "
		    "the cache");
	out->mode = (int)p->mode;
	out->max_age = p->max_age;
	out->n_mx = p->count;
	for (i = 0; i < p->count; i++)
		memcpy(out->mx[i], p->mx[i], sizeof(out->mx[i]));
	memcpy(out->body, body, len);
	out->body_len = len;
	memcpy(out->id, id, strlen(id) + 1);
	out->fetched_at = now;
	out->expires_at = now + p->max_age;
	return 0;
}

int
tg_stscache_to_policy(const struct tg_cache_sts_policy *cp,
    struct tg_sts_policy *out, struct tg_err *err)
{
	size_t i;

	if (tg_sts_policy_parse(cp->body, cp->body_len, out, err) != 0) {
		tg_err_prefix(err, "cached policy body");
		if (err != NULL)
			err->cls = TG_ERR_PERM;
		return -1;
	}
	if ((int)out->mode != cp->mode || out->max_age != cp->max_age ||
	    out->count != cp->n_mx)
		return tg_err_set(err, TG_ERR_PERM, NULL, "cached policy: "
		    "stored fields disagree with the stored body");
	for (i = 0; i < out->count; i++)
		if (strcmp(out->mx[i], cp->mx[i]) != 0)
			return tg_err_set(err, TG_ERR_PERM, NULL, "cached "
			    "policy: stored mx '%s' is not the body's '%s'",
			    cp->mx[i], out->mx[i]);
	return 0;
}
