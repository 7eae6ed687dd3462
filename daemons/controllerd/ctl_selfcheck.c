/*
 * controllerd's self-check of the MX (RELIABILITY C-05): after every
 * rollover step that changes what is served or published, at start and
 * with the hourly certificate watch, one hosted domain is checked as an
 * outside sender would check it (policy/check: MX, addresses, TLSA
 * through the validating resolver, a STARTTLS session to every address
 * of our MX host verified by DANE). A key and a TLSA set that do not
 * match are an error in the log, at once.
 *
 * Its verdict also gates the rollover's last step: ctl_rollover.c asks
 * it before the old key's record goes, and undoes the switch when the
 * new key fails while the old record is still seen (tls/rollover,
 * tg_rollover_roll_back).
 */
#include "ctl.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "core/log.h"
#include "dns/resolver_conf.h"
#include "dns/resolver_unbound.h"
#include "policy/check.h"
#include "store/store.h"
#include "tls/tls_client.h"
#include "util/text.h"

#define SELFCHECK_STEP_MS	5000

/* The first hosted domain with a route: its MX should be us. */
static int
first_domain(const struct tg_store_domain *d, void *arg)
{
	char *out = arg;

	if (d->inbound_route[0] == '\0')
		return 0;
	tg_text_fmt(out, TG_DNAME_MAX + 1, "%s", d->name);
	return 1;
}

struct selfcheck_run {
	struct event_base *base;
	struct tg_check_report *report;
};

static void
selfcheck_done(struct tg_check_report *report, void *arg)
{
	struct selfcheck_run *run = arg;

	run->report = report;
	event_base_loopbreak(run->base);
}

/* Our MX host in the report, or NULL. */
static const struct tg_check_mx *
our_mx(const struct tg_check_report *r, const char *host)
{
	size_t i, n = strlen(host);

	for (i = 0; i < r->nmx; i++)
		if (strncasecmp(r->mx[i].host, host, n) == 0 &&
		    (r->mx[i].host[n] == '\0' ||
		    strcmp(r->mx[i].host + n, ".") == 0))
			return &r->mx[i];
	return NULL;
}

/* The 3 1 1 digests published for mx into seen (hex), at most max. */
static size_t
selfcheck_seen(const struct tg_check_mx *mx,
    char (*seen)[TG_ROLLOVER_DIGEST_LEN + 1], size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < mx->ntlsa && n < max; i++) {
		const struct tg_tlsa_rr *t = &mx->tlsa[i];

		if (t->usage != 3 || t->selector != 1 || t->mtype != 1 ||
		    t->len * 2 != TG_ROLLOVER_DIGEST_LEN)
			continue;
		for (j = 0; j < t->len; j++)
			snprintf(seen[n] + 2 * j, 3, "%02x", t->data[j]);
		n++;
	}
	return n;
}

static enum tg_rollover_seen
selfcheck_judge(const struct tg_conf *conf, const char *domain,
    const struct tg_check_report *r, const char *why,
    char (*seen)[TG_ROLLOVER_DIGEST_LEN + 1], size_t max, size_t *nseen)
{
	const struct tg_check_mx *mx = our_mx(r, conf->relay_hostname);

	if (mx == NULL) {
		tg_log_warn(NULL, "event=selfcheck domain=%s why=%s "
		    "result=not-our-mx error=\"%s is not among its MX hosts\"",
		    domain, why, conf->relay_hostname);
		return TG_ROLLOVER_SEEN_UNKNOWN;
	}
	if (seen != NULL)
		*nseen = selfcheck_seen(mx, seen, max);
	if (mx->dane == TG_CHECK_DANE_VALID) {
		tg_log_info(NULL, "event=selfcheck domain=%s mx=%s why=%s "
		    "result=ok dane=valid addresses=%zu", domain,
		    conf->relay_hostname, why, mx->naddrs);
		return TG_ROLLOVER_SEEN_OK;
	}
	/* A sender enforcing DANE defers our mail now: page somebody. */
	tg_log_err(NULL, "event=selfcheck domain=%s mx=%s why=%s "
	    "result=failed dane=%s error=\"%s\"", domain,
	    conf->relay_hostname, why, mx->dane == TG_CHECK_DANE_INVALID ?
	    "invalid" : mx->dane == TG_CHECK_DANE_NOT_PUBLISHED ?
	    "not-published" : mx->dane == TG_CHECK_DANE_BOGUS ? "bogus" :
	    mx->dane == TG_CHECK_DANE_UNSIGNED ? "unsigned" : "unknown",
	    mx->dane_reason);
	return mx->dane == TG_CHECK_DANE_INVALID ? TG_ROLLOVER_SEEN_INVALID :
	    TG_ROLLOVER_SEEN_UNKNOWN;
}

enum tg_rollover_seen
ctl_selfcheck_run(const struct tg_conf *conf, const char *why,
    char (*seen)[TG_ROLLOVER_DIGEST_LEN + 1], size_t max, size_t *nseen)
{
	enum tg_rollover_seen verdict = TG_ROLLOVER_SEEN_UNKNOWN;
	char domain[TG_DNAME_MAX + 1] = "";
	struct tg_resolver_config rc;
	struct tg_check_params p;
	struct selfcheck_run run = { NULL, NULL };
	struct tg_resolver *res = NULL;
	struct tg_store *st = NULL;
	SSL_CTX *ctx = NULL;
	struct tg_err err;

	memset(&err, 0, sizeof(err));
	if (tg_store_open_readonly(conf->state_dir, &st, &err) != 0 ||
	    tg_store_domain_list(st, first_domain, domain, &err) < 0) {
		tg_store_close(st);
		tg_log_warn(NULL, "event=selfcheck result=failed error=\"%s\"",
		    err.msg);
		return verdict;
	}
	tg_store_close(st);
	if (nseen != NULL)
		*nseen = 0;
	if (domain[0] == '\0')
		return verdict;	/* no hosted domain: nothing points at us */
	tg_resolver_config_from_conf(conf, &rc);
	if ((run.base = event_base_new()) == NULL) {
		tg_err_set(&err, TG_ERR_TEMP, NULL, "no event base");
		goto out;
	}
	if ((res = tg_resolver_unbound_new(run.base, &rc, &err)) == NULL ||
	    (ctx = tg_tls_client_ctx_new(NULL, &err)) == NULL)
		goto out;
	memset(&p, 0, sizeof(p));
	p.domain = domain;
	p.helo_name = conf->relay_hostname;
	p.ctx = ctx;
	p.step_timeout_ms = SELFCHECK_STEP_MS;
	p.probe = 1;
	if (tg_check_start(run.base, res, &p, selfcheck_done, &run,
	    &err) == NULL)
		goto out;
	event_base_dispatch(run.base);
	if (run.report != NULL)
		verdict = selfcheck_judge(conf, domain, run.report, why, seen,
		    max, nseen);
	free(run.report);
	run.report = NULL;
	err.msg[0] = '\0';
out:
	if (err.msg[0] != '\0')
		tg_log_warn(NULL, "event=selfcheck result=failed error=\"%s\"",
		    err.msg);
	tg_resolver_free(res);
	SSL_CTX_free(ctx);
	if (run.base != NULL)
		event_base_free(run.base);
	return verdict;
}
