/*
 * policy/stshost — the MTA-STS policy host's decisions. See stshost.h.
 */
#include "policy/stshost.h"

#include <stdio.h>
#include <string.h>

#include "policy/stspolicy.h"
#include "tls/cert.h"
#include "util/buf.h"

void
tg_stshost_id(const char *body, size_t len, char out[TG_STS_ID_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[TG_CERT_DIGEST_MAX];
	size_t mdlen = 0, i;

	memset(md, 0, sizeof(md));
	(void)tg_cert_digest_data(TG_CERT_MD_SHA256,
	    (const unsigned char *)body, len, md, &mdlen, NULL);
	for (i = 0; i < TG_STSHOST_ID_LEN / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[TG_STSHOST_ID_LEN] = '\0';
}

/* Format p into out (body, length, id). */
static int
stshost_format(const struct tg_sts_policy *p, enum tg_store_sts_mode mode,
    struct tg_stshost_policy *out, struct tg_err *err)
{
	struct tg_buf b;

	tg_buf_init(&b, TG_STS_HOST_BODY_MAX);
	if (tg_sts_policy_format(p, &b, err) != 0) {
		tg_buf_free(&b);
		return -1;
	}
	memcpy(out->body, tg_buf_cstr(&b), b.len + 1);
	out->len = b.len;
	out->mode = mode;
	out->max_age = p->max_age;
	tg_stshost_id(out->body, out->len, out->id);
	tg_buf_free(&b);
	return 0;
}

int
tg_stshost_policy_of(const struct tg_store_domain *d,
    struct tg_stshost_policy *out, struct tg_err *err)
{
	struct tg_sts_policy p;
	size_t i;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	switch (d->sts_mode) {
	case TG_STORE_STS_NONE:
		p.mode = TG_STS_MODE_NONE;
		break;
	case TG_STORE_STS_TESTING:
		p.mode = TG_STS_MODE_TESTING;
		break;
	case TG_STORE_STS_ENFORCE:
		p.mode = TG_STS_MODE_ENFORCE;
		break;
	default:
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s: MTA-STS is off: no policy", d->name);
	}
	/* RFC 8461 §3.2: mx is required unless the mode is none. */
	if (p.mode != TG_STS_MODE_NONE && d->sts_mx_count == 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s: mode %s needs at least one mx pattern", d->name,
		    tg_sts_mode_name(p.mode));
	if (d->sts_max_age < 0 || d->sts_max_age > TG_STS_MAX_AGE_MAX ||
	    d->sts_mx_count > TG_STS_MX_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s: max_age or mx count out of range", d->name);
	p.max_age = d->sts_max_age;
	for (i = 0; i < d->sts_mx_count; i++)
		if (tg_sts_mx_pattern_check(d->sts_mx[i], p.mx[i],
		    sizeof(p.mx[i]), err) != 0)
			return -1;
	p.count = d->sts_mx_count;
	return stshost_format(&p, (enum tg_store_sts_mode)d->sts_mode, out,
	    err);
}

void
tg_stshost_policy_none(long max_age, struct tg_stshost_policy *out)
{
	struct tg_sts_policy p;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	p.mode = TG_STS_MODE_NONE;
	p.max_age = max_age < 0 ? 0 : max_age > TG_STS_MAX_AGE_MAX ?
	    TG_STS_MAX_AGE_MAX : max_age;
	/* A mode none policy without mx always formats. */
	(void)stshost_format(&p, TG_STORE_STS_NONE, out, NULL);
}

const char *
tg_stshost_action_name(enum tg_stshost_action a)
{
	switch (a) {
	case TG_STSHOST_NOTHING:
		return "nothing";
	case TG_STSHOST_KEEP:
		return "keep";
	case TG_STSHOST_SERVE:
		return "serve";
	case TG_STSHOST_REMOVE:
		return "remove";
	}
	return "?";
}

/*
 * Until when a sender may hold a testing or enforce policy of ours if
 * what prev records stops being served now: the older policies' bound,
 * and prev's own policy fetched at the last moment (RFC 8461 §8.3).
 */
static time_t
stshost_cover(const struct tg_store_sts_served *prev, time_t now)
{
	time_t c = prev->cover_until > now ? prev->cover_until : 0;

	if (!prev->withdrawn && prev->mode != TG_STORE_STS_NONE &&
	    now + prev->max_age > c)
		c = now + prev->max_age;
	return c;
}

static void
stshost_record(const char *domain, const struct tg_stshost_policy *p,
    time_t now, struct tg_store_sts_served *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->domain, sizeof(r->domain), "%s", domain);
	memcpy(r->policy_id, p->id, sizeof(r->policy_id));
	r->mode = p->mode;
	r->max_age = p->max_age;
	memcpy(r->body, p->body, p->len + 1);
	r->since = now;
}

static int
stshost_step_active(const char *domain, const struct tg_store_domain *d,
    const struct tg_store_sts_served *prev, time_t now,
    struct tg_stshost_step *out, struct tg_err *err)
{
	struct tg_stshost_policy p;

	if (tg_stshost_policy_of(d, &p, err) != 0)
		return -1;
	if (prev != NULL && !prev->withdrawn &&
	    strcmp(prev->policy_id, p.id) == 0 &&
	    strcmp(prev->body, p.body) == 0) {
		out->action = TG_STSHOST_KEEP;
		out->next = *prev;
		return 0;
	}
	out->action = TG_STSHOST_SERVE;
	stshost_record(domain, &p, now, &out->next);
	out->next.cover_until = prev == NULL ? 0 : stshost_cover(prev, now);
	return 0;
}

static void
stshost_step_removed(const char *domain,
    const struct tg_store_sts_served *prev, time_t now,
    struct tg_stshost_step *out)
{
	struct tg_stshost_policy p;
	time_t cover;
	long max_age;

	if (prev == NULL) {
		out->action = TG_STSHOST_NOTHING;
		return;
	}
	if (prev->withdrawn) {
		out->action = now >= prev->cover_until ? TG_STSHOST_REMOVE :
		    TG_STSHOST_KEEP;
		out->next = *prev;
		return;
	}
	cover = stshost_cover(prev, now);
	if (cover <= now) {
		/* Only mode none was ever cached: nothing to wait for. */
		out->action = TG_STSHOST_REMOVE;
		out->next = *prev;
		return;
	}
	max_age = TG_STSHOST_WITHDRAW_MAX_AGE;
	if (prev->max_age > 0 && prev->max_age < max_age)
		max_age = prev->max_age;
	tg_stshost_policy_none(max_age, &p);
	out->action = TG_STSHOST_SERVE;
	stshost_record(domain, &p, now, &out->next);
	out->next.cover_until = cover;
	out->next.withdrawn = 1;
}

int
tg_stshost_step(const char *domain, const struct tg_store_domain *d,
    const struct tg_store_sts_served *prev, time_t now,
    struct tg_stshost_step *out, struct tg_err *err)
{
	memset(out, 0, sizeof(*out));
	if (d != NULL && d->sts_mode != TG_STORE_STS_OFF)
		return stshost_step_active(domain, d, prev, now, out, err);
	stshost_step_removed(domain, prev, now, out);
	return 0;
}

static int
stshost_covered(const char *host, const char (*patterns)[TG_DNAME_MAX + 3],
    size_t npatterns)
{
	size_t i;

	for (i = 0; i < npatterns; i++)
		if (tg_sts_mx_match(patterns[i], host))
			return 1;
	return 0;
}

static void
stshost_add_uncovered(const char *host, char (*uncovered)[TG_DNS_NAME_SIZE],
    size_t max, size_t *n)
{
	if (*n < max)
		snprintf(uncovered[*n], TG_DNS_NAME_SIZE, "%s", host);
	(*n)++;
}

int
tg_stshost_mx_uncovered(const char *domain, const struct tg_dns_answer *mx,
    const char (*patterns)[TG_DNAME_MAX + 3], size_t npatterns,
    char (*uncovered)[TG_DNS_NAME_SIZE], size_t max, size_t *n,
    struct tg_err *err)
{
	struct tg_dns_mx v[TG_DNS_RR_MAX];
	size_t i, count = 0;

	*n = 0;
	if (mx->security == TG_DNS_BOGUS)
		return tg_err_set(err, TG_ERR_TEMP, NULL,
		    "the MX records of %s fail DNSSEC validation (%s)",
		    domain, mx->why_bogus);
	if (mx->status == TG_DNS_TEMPFAIL)
		return tg_err_set(err, TG_ERR_TEMP, NULL,
		    "cannot look up the MX records of %s: %s", domain,
		    mx->error[0] != '\0' ? mx->error : "temporary failure");
	if (mx->status != TG_DNS_OK) {
		/* RFC 5321 §5.1: the domain itself is the implicit MX. */
		if (!stshost_covered(domain, patterns, npatterns))
			stshost_add_uncovered(domain, uncovered, max, n);
		return 0;
	}
	if (tg_dns_answer_mx(mx, v, TG_DNS_RR_MAX, &count, err) != 0)
		return -1;
	for (i = 0; i < count; i++)
		if (!v[i].is_null && !stshost_covered(v[i].exchange, patterns,
		    npatterns))
			stshost_add_uncovered(v[i].exchange, uncovered, max,
			    n);
	return 0;
}
