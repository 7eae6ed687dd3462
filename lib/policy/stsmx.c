/*
 * policy/stsmx — see stsmx.h.
 */
#include "policy/stsmx.h"

#include <stdio.h>

#include "dns/resolver.h"
#include "dns/resolver_conf.h"
#include "policy/stshost.h"

int
tg_stsmx_lookup(const struct tg_conf *conf, const char *domain,
    struct tg_dns_answer **out, struct tg_err *err)
{
	struct tg_resolver_config rc;
	struct tg_dns_question q = { domain, TG_DNS_T_MX };

	tg_resolver_config_from_conf(conf, &rc);
	return tg_dns_resolve_sync(&rc, &q, 1, out, err);
}

int
tg_stsmx_uncovered(const struct tg_store_domain *d,
    const struct tg_dns_answer *mx, char *what, size_t whatlen,
    struct tg_err *err)
{
	char out[TG_STSMX_NAMED][TG_DNS_NAME_SIZE];
	size_t n = 0, i, len = 0;

	if (whatlen > 0)
		what[0] = '\0';
	if (tg_stshost_mx_uncovered(d->name, mx,
	    (const char (*)[TG_DNAME_MAX + 3])d->sts_mx, d->sts_mx_count, out,
	    TG_STSMX_NAMED, &n, err) != 0)
		return -1;
	for (i = 0; i < n && i < TG_STSMX_NAMED && len < whatlen; i++)
		len += (size_t)snprintf(what + len, whatlen - len, "%s%s",
		    i > 0 ? ", " : "", out[i]);
	if (n > TG_STSMX_NAMED && len < whatlen)
		snprintf(what + len, whatlen - len, " and %zu more",
		    n - TG_STSMX_NAMED);
	return n > 0;
}

int
tg_stsmx_check(const struct tg_conf *conf, const struct tg_store_domain *d,
    char *what, size_t whatlen, struct tg_err *err)
{
	struct tg_dns_answer *ans = NULL;
	int r;

	if (whatlen > 0)
		what[0] = '\0';
	if (tg_stsmx_lookup(conf, d->name, &ans, err) != 0)
		return -1;
	r = tg_stsmx_uncovered(d, ans, what, whatlen, err);
	tg_dns_answer_free(ans);
	return r;
}
