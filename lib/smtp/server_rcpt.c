/*
 * smtp/server_rcpt — which recipients an inbound server (mxd) takes: the
 * hosted domains and nothing else (see server.h, "Access").
 *
 * A relay's gate is its client's network; a public MX takes mail from
 * anyone, so its gate is the recipient. The domain set is kept sorted
 * for bsearch; names are compared in lower case, as the store keeps
 * them.
 */
#include "smtp/server_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/dname.h"

static int
domain_cmp(const void *a, const void *b)
{
	const struct tg_smtpd_domain *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int
tg_smtpd_conf_add_domain(struct tg_smtpd_conf *c, const char *name,
    int defer, struct tg_err *err)
{
	struct tg_smtpd_domain *v, d;

	memset(&d, 0, sizeof(d));
	if (tg_dname_normalize(name, d.name, sizeof(d.name), err) != 0)
		return -1;
	d.defer = defer;
	if (c->ndomains > 0 && bsearch(&d, c->domains, c->ndomains,
	    sizeof(d), domain_cmp) != NULL)
		return 0;
	v = realloc(c->domains, (c->ndomains + 1) * sizeof(*v));
	if (v == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	c->domains = v;
	c->domains[c->ndomains++] = d;
	qsort(c->domains, c->ndomains, sizeof(*v), domain_cmp);
	if (c->postmaster_domain[0] == '\0')
		memcpy(c->postmaster_domain, d.name, sizeof(d.name));
	return 0;
}

const struct tg_smtpd_domain *
tg_smtpd_conf_domain(const struct tg_smtpd_conf *c, const char *name)
{
	struct tg_smtpd_domain key;
	size_t i, n = strlen(name);

	if (n == 0 || n >= sizeof(key.name) || c->ndomains == 0)
		return NULL;
	for (i = 0; i < n; i++)
		key.name[i] = (char)tolower((unsigned char)name[i]);
	key.name[n] = '\0';
	return bsearch(&key, c->domains, c->ndomains, sizeof(key),
	    domain_cmp);
}

/* A local part that routes mail elsewhere: "u%host", "host!u", or a
 * quoted one holding an "@" (RELIABILITY I-09). The internal server
 * might honour them; a public MX must not hand them on. */
static int
rcpt_routes_elsewhere(const char *addr, size_t local_len)
{
	size_t i;

	for (i = 0; i < local_len; i++)
		if (addr[i] == '%' || addr[i] == '!' || addr[i] == '@')
			return 1;
	return 0;
}

int
tg_smtpd_rcpt_gate(const struct tg_smtpd_conf *c, struct tg_smtpcmd_path *p,
    struct tg_err *err)
{
	const struct tg_smtpd_domain *d;
	const char *at;
	size_t len;

	if (!c->inbound)
		return 0;
	if (p->flags & TG_SMTPCMD_P_POSTMASTER) {
		/* RFC 5321 §4.5.1: <Postmaster> must be taken. */
		if (c->postmaster_domain[0] == '\0')
			goto denied;
		len = strlen(p->addr);
		if (len + 1 + strlen(c->postmaster_domain) >= sizeof(p->addr))
			goto denied;
		p->addr[len] = '@';
		memcpy(p->addr + len + 1, c->postmaster_domain,
		    strlen(c->postmaster_domain) + 1);
		p->flags &= ~TG_SMTPCMD_P_POSTMASTER;
		return 0;
	}
	at = strrchr(p->addr, '@');
	if (at == NULL || (p->flags & TG_SMTPCMD_P_LITERAL))
		goto denied;
	d = tg_smtpd_conf_domain(c, at + 1);
	if (d == NULL)
		goto denied;
	if (rcpt_routes_elsewhere(p->addr, (size_t)(at - p->addr))) {
		tg_err_set(err, TG_ERR_PERM, "5.7.1", "<%s>: addresses that "
		    "route mail on are not accepted here", p->addr);
		return 550;
	}
	if (d->defer) {
		tg_err_set(err, TG_ERR_TEMP, "4.3.5", "<%s>: no route to the "
		    "mail server of %s is configured yet", p->addr, d->name);
		return 451;
	}
	return 0;
denied:
	tg_err_set(err, TG_ERR_PERM, "5.7.1", "<%s>: Relay access denied",
	    p->addr);
	return 554;
}

/* ---- verification (server.h, "Recipient verification") ---------------- */

void
tg_smtpd_set_verifier(struct tg_smtpd *srv, const struct tg_smtpd_verifier *v)
{
	if (v != NULL && v->ask != NULL)
		srv->verifier = *v;
	else
		memset(&srv->verifier, 0, sizeof(srv->verifier));
}

/* RFC 5321 §4.5.1: postmaster is taken whatever the verifier says. */
static int
is_postmaster(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && at - addr == 10 &&
	    strncasecmp(addr, "postmaster", 10) == 0;
}

/* A verdict into the reply code and err; 0 takes. */
static int
verdict_code(const struct tg_smtpd_verdict *vd, struct tg_err *err)
{
	if (vd->code == 0)
		return 0;
	tg_err_set(err, vd->code >= 500 ? TG_ERR_PERM : TG_ERR_TEMP,
	    vd->status[0] != '\0' ? vd->status : NULL, "%s", vd->text);
	return vd->code;
}

static void
verify_answered(void *arg, const struct tg_smtpd_verdict *vd)
{
	struct tg_smtpd_sess *s = arg;
	struct tg_smtpcmd_rcpt *r = s->verify_rcpt;
	struct tg_err err;
	char logarg[TG_SMTP_PATH_MAX + 8];
	int n, rc;

	s->verify_q = NULL;
	s->verify_rcpt = NULL;
	s->phase = s->verify_prev;
	rc = verdict_code(vd, &err);
	n = snprintf(logarg, sizeof(logarg), "TO:<%s>", r->path.addr);
	tg_smtpd_rcpt_answer(s, r, rc, &err, logarg,
	    n > 0 && (size_t)n < sizeof(logarg) ? (size_t)n : 0);
	free(r);
	/* Commands that waited behind this RCPT. */
	tg_smtpd_arm(s);
	tg_smtpd_process(s);
}

int
tg_smtpd_rcpt_verify(struct tg_smtpd_sess *s,
    const struct tg_smtpcmd_rcpt *r, struct tg_err *err)
{
	const struct tg_smtpd_verifier *v = &s->srv->verifier;
	struct tg_smtpd_verdict now;

	if (!s->conf->inbound || v->ask == NULL ||
	    is_postmaster(r->path.addr))
		return 0;
	if ((s->verify_rcpt = malloc(sizeof(*r))) == NULL) {
		tg_err_set(err, TG_ERR_TEMP, "4.3.0", "Error: out of memory");
		return 451;
	}
	*s->verify_rcpt = *r;
	memset(&now, 0, sizeof(now));
	s->verify_q = v->ask(v->ctx, r->path.addr, verify_answered, s, &now);
	if (s->verify_q == NULL) {
		free(s->verify_rcpt);
		s->verify_rcpt = NULL;
		return verdict_code(&now, err);
	}
	s->verify_by = *v;
	s->verify_prev = s->phase;
	s->phase = TG_SMTPD_VERIFY;
	tg_smtpd_arm(s);
	return -1;
}

void
tg_smtpd_verify_cancel(struct tg_smtpd_sess *s)
{
	if (s->verify_q != NULL)
		s->verify_by.cancel(s->verify_by.ctx, s->verify_q);
	s->verify_q = NULL;
	free(s->verify_rcpt);
	s->verify_rcpt = NULL;
}
