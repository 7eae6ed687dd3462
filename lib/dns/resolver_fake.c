/*
 * dns/resolver_fake — see resolver_fake.h.
 */
#include "dns/resolver_fake.h"

#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/resolver_impl.h"

#define FAKE_TTL 300
#define FAKE_LINE_MAX 4096

/* One (name, type): its script if any, and how often it was asked. */
struct fake_entry {
	char name[TG_DNS_NAME_SIZE];
	uint16_t type;
	struct tg_dns_answer *ans;	/* owned; NULL if not scripted */
	char target[TG_DNS_NAME_SIZE];	/* CNAME scripts: the first target */
	unsigned count;
	struct fake_entry *next;
};

struct fake {
	struct fake_entry *entries;	/* owned */
};

static const struct tg_resolver_ops fake_ops;

static struct fake_entry *
fake_find(const struct fake *f, const char *name, uint16_t type)
{
	struct fake_entry *e;

	for (e = f->entries; e != NULL; e = e->next)
		if (e->type == type && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static struct fake_entry *
fake_get(struct fake *f, const char *name, uint16_t type)
{
	struct fake_entry *e = fake_find(f, name, type);

	if (e != NULL)
		return e;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->type = type;
	e->next = f->entries;
	f->entries = e;
	return e;
}

/* Rank for "the weakest of": bogus < insecure < secure. */
static int
sec_rank(enum tg_dns_security s)
{
	switch (s) {
	case TG_DNS_SECURE:
		return 3;
	case TG_DNS_INSECURE:
		return 2;
	case TG_DNS_INDETERMINATE:
		return 1;
	case TG_DNS_BOGUS:
		break;
	}
	return 0;
}

static enum tg_dns_security
sec_weakest(enum tg_dns_security a, enum tg_dns_security b)
{
	return sec_rank(a) <= sec_rank(b) ? a : b;
}

/* Copy the scripted answer at the end of a chain into ans. */
static int
fake_final(struct tg_dns_answer *ans, const struct fake_entry *e,
    enum tg_dns_security chain_sec)
{
	const struct tg_dns_answer *s = e->ans;
	size_t i;

	ans->status = s->status;
	ans->security = sec_weakest(chain_sec, s->security);
	snprintf(ans->canon, sizeof(ans->canon), "%s", e->name);
	snprintf(ans->why_bogus, sizeof(ans->why_bogus), "%s", s->why_bogus);
	snprintf(ans->error, sizeof(ans->error), "%s", s->error);
	ans->ttl = s->status == TG_DNS_TEMPFAIL ? 0 : FAKE_TTL;
	for (i = 0; i < s->nrr; i++)
		if (tg_dns_answer_add_rr(ans, s->rr[i].type, s->rr[i].ttl,
		    s->rr[i].data, s->rr[i].len) == -1)
			return -1;
	ans->truncated = s->truncated;
	return 0;
}

/* Build the answer to q from the script, following CNAME scripts. */
static struct tg_dns_answer *
fake_answer(struct fake *f, const struct tg_dns_query *q)
{
	enum tg_dns_security sec = TG_DNS_SECURE;
	const struct fake_entry *e, *c;
	struct tg_dns_answer *ans;
	const char *cur = q->name;

	ans = tg_dns_answer_new(q->name, q->rrtype, TG_DNS_TEMPFAIL,
	    TG_DNS_INDETERMINATE, "%s", "");
	if (ans == NULL)
		return NULL;
	for (;;) {
		e = fake_find(f, cur, q->rrtype);
		if (e != NULL && e->ans != NULL)
			break;
		c = q->rrtype != TG_DNS_T_CNAME ?
		    fake_find(f, cur, TG_DNS_T_CNAME) : NULL;
		if (c == NULL || c->ans == NULL || c->target[0] == '\0') {
			ans->ncname = 0;
			snprintf(ans->error, sizeof(ans->error),
			    "no scripted answer for %.200s/%s", cur,
			    tg_dns_type_name(q->rrtype));
			return ans;
		}
		if (ans->ncname >= TG_DNS_CNAME_MAX) {
			ans->ncname = 0;
			snprintf(ans->error, sizeof(ans->error),
			    "CNAME chain longer than %d links",
			    TG_DNS_CNAME_MAX);
			return ans;
		}
		snprintf(ans->cname[ans->ncname].owner, TG_DNS_NAME_SIZE, "%s",
		    cur);
		snprintf(ans->cname[ans->ncname].target, TG_DNS_NAME_SIZE,
		    "%s", c->target);
		ans->ncname++;
		sec = sec_weakest(sec, c->ans->security);
		cur = c->target;
	}
	if (fake_final(ans, e, sec) == -1) {
		tg_dns_answer_free(ans);
		return NULL;
	}
	return ans;
}

static int
fake_start(void *impl, struct tg_dns_query *q, struct tg_err *err)
{
	struct fake *f = impl;
	struct fake_entry *e;

	e = fake_get(f, q->name, q->rrtype);
	if (e == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	e->count++;
	tg_resolver_complete(q, fake_answer(f, q));
	return 0;
}

static void
fake_stop(void *impl, struct tg_dns_query *q)
{
	(void)impl;
	(void)q;
}

static void
fake_free(void *impl)
{
	struct fake *f = impl;
	struct fake_entry *e;

	if (f == NULL)
		return;
	while ((e = f->entries) != NULL) {
		f->entries = e->next;
		tg_dns_answer_free(e->ans);
		free(e);
	}
	free(f);
}

static const struct tg_resolver_ops fake_ops = {
	.name = "fake",
	.start = fake_start,
	.stop = fake_stop,
	.free = fake_free,
};

struct tg_resolver *
tg_resolver_fake_new(struct event_base *base)
{
	struct fake *f;

	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	return tg_resolver_new(&fake_ops, f, base, 0);
}

/* Parse one presentation-form record of ans's type at ans's name and add
 * it. For a CNAME, the first target goes to target. */
static int
fake_add_line(struct tg_dns_answer *ans, const char *line, char *target,
    struct tg_err *err)
{
	char text[FAKE_LINE_MAX + TG_DNS_NAME_SIZE + 64], type[16];
	ldns_buffer *wire = NULL;
	ldns_rr *rr = NULL;
	ldns_status st;
	int rc = -1;

	snprintf(type, sizeof(type), "%s", tg_dns_type_name(ans->qtype));
	if (strcmp(type, "unknown") == 0)
		snprintf(type, sizeof(type), "TYPE%u", (unsigned)ans->qtype);
	snprintf(text, sizeof(text), "%s%s %d IN %s %s", ans->qname,
	    strcmp(ans->qname, ".") == 0 ? "" : ".", FAKE_TTL, type, line);
	st = ldns_rr_new_frm_str(&rr, text, FAKE_TTL, NULL, NULL);
	if (st != LDNS_STATUS_OK)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "record \"%.200s\": %s", line,
		    ldns_get_errorstr_by_id(st));
	wire = ldns_buffer_new(512);
	if (wire != NULL && ldns_rr_rdata2buffer_wire(wire, rr) ==
	    LDNS_STATUS_OK && tg_dns_answer_add_rr(ans, ans->qtype, FAKE_TTL,
	    ldns_buffer_begin(wire), ldns_buffer_position(wire)) == 0)
		rc = 0;
	else
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	if (rc == 0 && ans->qtype == TG_DNS_T_CNAME && target[0] == '\0') {
		char *s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
		size_t n = s != NULL ? strlen(s) : 0;

		if (n > 1 && s[n - 1] == '.')
			s[--n] = '\0';
		if (s == NULL || tg_resolver_name_normalize(s, target,
		    TG_DNS_NAME_SIZE, err) == -1)
			rc = -1;
		free(s);
	}
	ldns_buffer_free(wire);
	ldns_rr_free(rr);
	return rc;
}

static int
fake_add_records(struct tg_dns_answer *ans, const char *rdata, char *target,
    struct tg_err *err)
{
	char line[FAKE_LINE_MAX];
	const char *p = rdata, *nl;
	size_t n;

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (n >= sizeof(line))
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "record longer than %d bytes", FAKE_LINE_MAX - 1);
		memcpy(line, p, n);
		line[n] = '\0';
		if (n > 0 && fake_add_line(ans, line, target, err) == -1)
			return -1;
		p = nl != NULL ? nl + 1 : NULL;
	}
	return 0;
}

int
tg_resolver_fake_add(struct tg_resolver *r, const char *name,
    uint16_t rrtype, enum tg_dns_status status,
    enum tg_dns_security security, const char *rdata, struct tg_err *err)
{
	char norm[TG_DNS_NAME_SIZE], target[TG_DNS_NAME_SIZE] = "";
	struct tg_dns_answer *ans;
	struct fake_entry *e;

	if (r == NULL || r->ops != &fake_ops)
		return tg_err_set(err, TG_ERR_BUG, NULL, "not a fake resolver");
	if (tg_resolver_name_normalize(name, norm, sizeof(norm), err) == -1)
		return -1;
	ans = tg_dns_answer_new(norm, rrtype, status, security, "%s",
	    status == TG_DNS_TEMPFAIL ? "scripted temporary failure" : "");
	if (ans == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	if (security == TG_DNS_BOGUS)
		snprintf(ans->why_bogus, sizeof(ans->why_bogus),
		    "scripted bogus answer");
	if (fake_add_records(ans, rdata, target, err) == -1) {
		tg_dns_answer_free(ans);
		return -1;
	}
	e = fake_get(r->impl, norm, rrtype);
	if (e == NULL) {
		tg_dns_answer_free(ans);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	tg_dns_answer_free(e->ans);
	e->ans = ans;
	snprintf(e->target, sizeof(e->target), "%s", target);
	return 0;
}

unsigned
tg_resolver_fake_count(const struct tg_resolver *r, const char *name,
    uint16_t rrtype)
{
	char norm[TG_DNS_NAME_SIZE];
	const struct fake_entry *e;

	if (r == NULL || r->ops != &fake_ops ||
	    tg_resolver_name_normalize(name, norm, sizeof(norm), NULL) == -1)
		return 0;
	e = fake_find(r->impl, norm, rrtype);
	return e != NULL ? e->count : 0;
}
