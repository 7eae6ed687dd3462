/*
 * daemons/stsd/stsd_view.c — what tlsgate-stsd serves (see stsd.h).
 *
 * A view is built from one consistent read of the store: the hosted
 * domains (configuration) and the sts_served records (what was served).
 * policy/stshost decides, per domain, what to serve now; the records of
 * changes are written only after the view is being served (main.c calls
 * stsd_view_commit after publishing it), which is what makes
 * `tlsgate sts show` print a new id only once its body is live
 * (RFC 8461 §8.1). The same read takes the ACME challenges to answer on
 * port 80, when ACME is on.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "policy/stshost.h"
#include "stsd.h"
#include "util/clock.h"
#include "util/dname.h"

/* What the store takes, net/http01 serves. */
_Static_assert(TG_STORE_ACME_TOKEN_MAX <= TG_HTTP01_TOKEN_MAX &&
    TG_STORE_ACME_KEYAUTH_MAX <= TG_HTTP01_KEYAUTH_MAX,
    "store challenges must fit net/http01");

struct stsd_host {
	char host[TG_DNAME_MAX + 1];
	struct tg_http_body *body;	/* owned */
};

struct stsd_site {
	atomic_int refs;
	struct stsd_host *v;		/* owned, sorted by host */
	size_t n, cap;
};

struct stsd_site *
stsd_site_ref(struct stsd_site *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void
stsd_site_unref(void *arg)
{
	struct stsd_site *s = arg;
	size_t i;

	if (s == NULL || atomic_fetch_sub(&s->refs, 1) > 1)
		return;
	for (i = 0; i < s->n; i++)
		tg_http_body_free(s->v[i].body);
	free(s->v);
	free(s);
}

static int
host_cmp(const void *a, const void *b)
{
	return strcmp(((const struct stsd_host *)a)->host,
	    ((const struct stsd_host *)b)->host);
}

const struct tg_http_body *
stsd_site_find(const struct stsd_site *s, const char *host)
{
	struct stsd_host key, *h;

	if (strlen(host) >= sizeof(key.host))
		return NULL;
	memcpy(key.host, host, strlen(host) + 1);
	h = bsearch(&key, s->v, s->n, sizeof(*s->v), host_cmp);
	return h == NULL ? NULL : h->body;
}

static int
site_add(struct stsd_site *s, const char *host, const char *body,
    struct tg_err *err)
{
	struct stsd_host *v;
	size_t cap;

	if (s->n == s->cap) {
		cap = s->cap == 0 ? 16 : 2 * s->cap;
		if ((v = realloc(s->v, cap * sizeof(*v))) == NULL)
			return tg_err_set(err, TG_ERR_TEMP, NULL,
			    "out of memory");
		s->v = v;
		s->cap = cap;
	}
	memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
	memcpy(s->v[s->n].host, host, strlen(host) + 1);
	if (tg_http_body_new(STSD_CONTENT_TYPE, body, strlen(body),
	    &s->v[s->n].body, err) != 0)
		return -1;
	s->n++;
	return 0;
}

/* ---- reading the store ---- */

struct rows {
	struct tg_store_domain *dom;	/* owned, ndom, by name */
	size_t ndom, capdom;
	struct tg_store_sts_served *srv;	/* owned, nsrv, by domain */
	size_t nsrv, capsrv;
	struct tg_http01_set *acme;	/* borrowed; NULL: ACME off */
	int acme_rc;			/* -1: a challenge could not be kept */
};

static int
grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *p;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap == 0 ? 16 : 2 * *cap;
	if ((p = realloc(*v, c * size)) == NULL)
		return -1;
	*v = p;
	*cap = c;
	return 0;
}

static int
rows_domain(const struct tg_store_domain *d, void *arg)
{
	struct rows *r = arg;

	if (grow((void **)&r->dom, &r->capdom, r->ndom, sizeof(*d)) != 0)
		return -1;
	r->dom[r->ndom++] = *d;
	return 0;
}

static int
rows_served(const struct tg_store_sts_served *s, void *arg)
{
	struct rows *r = arg;

	if (grow((void **)&r->srv, &r->capsrv, r->nsrv, sizeof(*s)) != 0)
		return -1;
	r->srv[r->nsrv++] = *s;
	return 0;
}

/* A challenge the store has checked: only a full set or memory can
 * refuse it. A full set is served as far as it goes. */
static int
rows_challenge(const struct tg_store_acme_challenge *c, void *arg)
{
	struct rows *r = arg;
	struct tg_err err;

	if (tg_http01_set_add(r->acme, c->token, c->key_authorization,
	    c->expires, &err) == 0)
		return 0;
	if (err.cls == TG_ERR_TEMP)
		r->acme_rc = -1;
	else
		tg_log_warn(NULL, "event=acme-challenge result=skipped "
		    "error=\"%s\" action=\"the rest is not answered\"",
		    err.msg);
	return 1;
}

static int
rows_read(struct tg_store *st, struct rows *r, time_t now,
    struct tg_err *err)
{
	int rc;

	if (tg_store_snapshot_begin(st, err) != 0)
		return -1;
	rc = tg_store_domain_list(st, rows_domain, r, err);
	if (rc == 0)
		rc = tg_store_sts_served_list(st, rows_served, r, err);
	if (rc == 0 && r->acme != NULL)
		rc = tg_store_acme_challenge_list(st, now, rows_challenge, r,
		    err);
	if (rc == 0 && r->acme_rc != 0)
		rc = tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	tg_store_snapshot_end(st);
	return rc;
}

/* ---- deciding ---- */

static int
view_add_write(struct stsd_view *v, const struct tg_stshost_step *s,
    size_t *cap)
{
	if (grow((void **)&v->writes, cap, v->nwrites,
	    sizeof(*v->writes)) != 0)
		return -1;
	v->writes[v->nwrites].remove = s->action == TG_STSHOST_REMOVE;
	v->writes[v->nwrites].rec = s->next;
	v->nwrites++;
	return 0;
}

/* "mta-sts.<domain>" into host; -1 (logged) when it is no name. */
static int
view_host(const char *domain, char *host, size_t hostlen)
{
	if (snprintf(host, hostlen, "mta-sts.%s", domain) > TG_DNAME_MAX ||
	    !tg_dname_is_valid(host)) {
		tg_log_warn(NULL, "event=sts-policy domain=%s result=skipped "
		    "reason=\"mta-sts.%s is too long a name\"", domain,
		    domain);
		return -1;
	}
	return 0;
}

/* Serve rec's body at mta-sts.<domain>, with its certificate. */
static int
view_serve(struct stsd_view *v, struct tg_store *st,
    const struct tg_conf *conf, const struct tg_store_sts_served *rec)
{
	char host[TG_DNAME_MAX + 16];
	struct tg_err err;

	if (view_host(rec->domain, host, sizeof(host)) != 0)
		return 0;
	if (stsd_cert_add(st, conf, host, 1, v->certs, &err) != 0)
		tg_log_warn(NULL, "event=sts-cert host=%s result=failed "
		    "error=\"%s\" action=\"handshakes for it are refused\"",
		    host, err.msg);
	if (rec->withdrawn && (v->next_change == 0 ||
	    rec->cover_until < v->next_change))
		v->next_change = rec->cover_until;
	return site_add(v->site, host, rec->body, &err);
}

/*
 * A hosted domain without a policy: when its mta-sts host still has a
 * certificate, answer the handshake and then 404 (the name may still be
 * in DNS); never make a certificate for it.
 */
static void
view_no_policy(struct stsd_view *v, struct tg_store *st,
    const struct tg_conf *conf, const char *domain)
{
	char host[TG_DNAME_MAX + 16];
	struct tg_err err;

	if (view_host(domain, host, sizeof(host)) == 0 &&
	    stsd_cert_add(st, conf, host, 0, v->certs, &err) < 0)
		tg_log_warn(NULL, "event=sts-cert host=%s result=failed "
		    "error=\"%s\"", host, err.msg);
}

/* One domain: d and/or prev may be NULL. */
static int
view_domain(struct stsd_view *v, struct tg_store *st,
    const struct tg_conf *conf, const char *name,
    const struct tg_store_domain *d, const struct tg_store_sts_served *prev,
    time_t now, size_t *cap)
{
	struct tg_stshost_step *s;
	struct tg_err err;
	int rc = 0;

	if ((s = malloc(sizeof(*s))) == NULL)
		return -1;
	if (tg_stshost_step(name, d, prev, now, s, &err) != 0) {
		tg_log_warn(NULL, "event=sts-policy domain=%s result=invalid "
		    "error=\"%s\" action=\"%s\"", name, err.msg, prev ?
		    "kept serving the previous policy" : "nothing served");
		s->action = prev != NULL ? TG_STSHOST_KEEP :
		    TG_STSHOST_NOTHING;
		if (prev != NULL)
			s->next = *prev;
	}
	if (s->action == TG_STSHOST_SERVE || s->action == TG_STSHOST_REMOVE)
		rc = view_add_write(v, s, cap);
	if (rc == 0 && (s->action == TG_STSHOST_SERVE ||
	    s->action == TG_STSHOST_KEEP))
		rc = view_serve(v, st, conf, &s->next);
	else if (rc == 0 && d != NULL)
		view_no_policy(v, st, conf, name);
	free(s);
	return rc;
}

/* Walk the two sorted lists together: every name in either. */
static int
view_decide(struct stsd_view *v, struct tg_store *st,
    const struct tg_conf *conf, const struct rows *r, time_t now)
{
	size_t i = 0, j = 0, cap = 0;
	const struct tg_store_domain *d;
	const struct tg_store_sts_served *p;
	int c;

	while (i < r->ndom || j < r->nsrv) {
		d = i < r->ndom ? &r->dom[i] : NULL;
		p = j < r->nsrv ? &r->srv[j] : NULL;
		c = d == NULL ? 1 : p == NULL ? -1 :
		    strcmp(d->name, p->domain);
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
		if (c < 0)
			p = NULL;	/* configured, never served */
		else if (c > 0)
			d = NULL;	/* served, no longer configured */
		if (view_domain(v, st, conf, d != NULL ? d->name : p->domain,
		    d, p, now, &cap) != 0)
			return -1;
	}
	return 0;
}

void
stsd_view_free(struct stsd_view *v)
{
	if (v == NULL)
		return;
	stsd_site_unref(v->site);
	tg_http_certs_unref(v->certs);
	tg_http01_set_unref(v->acme);
	free(v->writes);
	free(v);
}

int
stsd_view_build(const struct tg_conf *conf, time_t now,
    struct stsd_view **out, struct tg_err *err)
{
	struct tg_store *st = NULL;
	struct stsd_view *v;
	struct rows r;
	int rc = -1;

	*out = NULL;
	memset(&r, 0, sizeof(r));
	if ((v = calloc(1, sizeof(*v))) == NULL ||
	    (v->site = calloc(1, sizeof(*v->site))) == NULL) {
		free(v);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	atomic_init(&v->site->refs, 1);
	/* ACME off: no challenge is read, none answered. */
	if (conf->acme_directory[0] != '\0' &&
	    tg_http01_set_new(&v->acme, err) != 0) {
		stsd_view_free(v);
		return -1;
	}
	r.acme = v->acme;
	if (tg_http_certs_new(&v->certs, err) == 0 &&
	    tg_store_open(conf->state_dir, &st, err) == 0 &&
	    rows_read(st, &r, now, err) == 0) {
		rc = view_decide(v, st, conf, &r, now);
		if (rc != 0)
			tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	tg_store_close(st);
	free(r.dom);
	free(r.srv);
	if (rc != 0) {
		stsd_view_free(v);
		return -1;
	}
	/* No host at all is v == NULL, which qsort must not be given. */
	if (v->site->n > 1)
		qsort(v->site->v, v->site->n, sizeof(*v->site->v), host_cmp);
	if (v->acme != NULL)
		tg_http01_set_freeze(v->acme);
	*out = v;
	return 0;
}

static void
view_log_write(const struct stsd_write *w)
{
	char until[32];

	if (w->remove) {
		tg_log_info(NULL, "event=sts-policy domain=%s result=removed "
		    "reason=\"withdrawal complete\"", w->rec.domain);
		return;
	}
	tg_clock_format(w->rec.cover_until, until, sizeof(until));
	tg_log_info(NULL, "event=sts-policy domain=%s id=%s mode=%s "
	    "max_age=%ld result=serving%s%s", w->rec.domain,
	    w->rec.policy_id, tg_store_sts_mode_name(w->rec.mode),
	    w->rec.max_age, w->rec.withdrawn ? " withdrawing_until=" : "",
	    w->rec.withdrawn ? until : "");
}

void
stsd_view_commit(const struct tg_conf *conf, struct stsd_view *v)
{
	struct tg_store *st = NULL;
	struct tg_err err;
	size_t i;
	int rc;

	if (v->committed || v->nwrites == 0)
		return;
	v->committed = 1;
	if (tg_store_open(conf->state_dir, &st, &err) != 0) {
		tg_log_err(NULL, "event=sts-record result=failed error=\"%s\"",
		    err.msg);
		return;
	}
	for (i = 0; i < v->nwrites; i++) {
		rc = v->writes[i].remove ?
		    tg_store_sts_served_remove(st, v->writes[i].rec.domain,
		    &err) : tg_store_sts_served_set(st, &v->writes[i].rec,
		    &err);
		if (rc < 0)
			tg_log_err(NULL, "event=sts-record domain=%s "
			    "result=failed error=\"%s\"",
			    v->writes[i].rec.domain, err.msg);
		else
			view_log_write(&v->writes[i]);
	}
	tg_store_close(st);
}
