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
