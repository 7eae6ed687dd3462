/*
 * controllerd's DANE rollover of the MX name: the glue between the store
 * (the keys and their TLSA states), tls/rollover (what to do now),
 * dns/dnsupdate (the UPDATEs) and dns/visible (is it everywhere?).
 *
 * One look does at most one step and records its outcome in the store
 * before the next look; a crash between an UPDATE and its record is
 * caught by the UPDATE's prerequisite: when it fails because the zone is
 * already as the step would leave it, the step counts as done. The
 * queries block controllerd for at most a few seconds per look (it has
 * no clients yet to keep waiting).
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "dns/dns.h"
#include "dns/dnshook.h"
#include "dns/dnsupdate.h"
#include "dns/resolver_conf.h"
#include "dns/visible.h"
#include "store/store.h"
#include "tls/certfile.h"
#include "tls/rollover.h"
#include "util/clock.h"
#include "util/text.h"

#define ROLL_UPDATE_TIMEOUT_MS	5000
#define ROLL_QUERY_TIMEOUT_MS	3000
#define ROLL_RETRY_S		30	/* after a failure */
#define ROLL_CHECK_S		10	/* while waiting to be visible */
#define ROLL_LOOK_MAX_S		3600
#define ROLL_NEXT_DAYS		365

/* The MX name's certificates by role in the rollover. */
struct roll_certs {
	struct tg_store_cert current, next, retired;
	int has_current, has_next, has_retired;
};

static int
roll_collect(const struct tg_store_cert *c, void *arg)
{
	struct roll_certs *r = arg;

	if (c->state == TG_STORE_CERT_CURRENT) {
		r->current = *c;
		r->has_current = 1;
	} else if (c->state == TG_STORE_CERT_NEXT && !r->has_next) {
		r->next = *c;
		r->has_next = 1;
	} else if (c->state == TG_STORE_CERT_RETIRED &&
	    (c->tlsa_state == TG_STORE_TLSA_PUBLISHED ||
	    c->tlsa_state == TG_STORE_TLSA_VISIBLE ||
	    c->tlsa_state == TG_STORE_TLSA_RETIRING) &&
	    (!r->has_retired || c->state_since > r->retired.state_since)) {
		/* The retired key whose record is still (being) removed. */
		r->retired = *c;
		r->has_retired = 1;
	}
	return 0;
}

static void
roll_key(const struct tg_store_cert *c, int present,
    struct tg_rollover_key *k)
{
	memset(k, 0, sizeof(*k));
	if (!present)
		return;
	k->present = 1;
	tg_text_fmt(k->spki, sizeof(k->spki), "%s", c->spki_sha256);
	k->tlsa = (enum tg_rollover_tlsa)c->tlsa_state;
	k->not_after = c->not_after;
	k->visible_at = c->tlsa_visible_at;
	k->switched_at = c->state_since;
}

/* "3 1 1 <digest>" for each member of set, into buf/rd. */
static size_t
roll_rdata(const struct tg_rollover_set *set, char buf[][80],
    const char **rd)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		tg_text_fmt(buf[i], sizeof(buf[0]), "3 1 1 %s", set->spki[i]);
		rd[i] = buf[i];
	}
	return set->n;
}

/* Is (owner, TLSA) exactly set everywhere? 1, 0, or -1 (could not
 * tell, logged). */
static int
roll_visible(const struct tg_conf *conf, const char *owner,
    const struct tg_rollover_set *set, char *why, size_t whylen)
{
	struct tg_resolver_config rc;
	struct tg_visible_result res;
	char buf[TG_ROLLOVER_SET_MAX][80];
	const char *rd[TG_ROLLOVER_SET_MAX];
	struct tg_err err;
	size_t n = roll_rdata(set, buf, rd);

	tg_resolver_config_from_conf(conf, &rc);
	if (tg_visible_check(&rc, conf->dane_zone, owner, TG_DNS_T_TLSA, rd, n,
	    ROLL_QUERY_TIMEOUT_MS, &res, &err) != 0) {
		tg_text_fmt(why, whylen, "%s", err.msg);
		return -1;
	}
	tg_text_fmt(why, whylen, "%s", res.summary);
	return res.visible;
}

#define ROLL_HOOK_TIMEOUT_MS	60000

/* dane.update_hook's runner during one ctl_rollover_run (the loop's
 * thread only). */
static struct tg_hookrun *roll_hookrun;

int
ctl_rollover_enabled(const struct tg_conf *conf)
{
	return conf->dane_update_server.n > 0 ||
	    conf->dane_update_hook[0] != '\0';
}

/*
 * The change of a step through dane.update_hook (dns/dnshook), told the
 * RRset the store believes in. The outcome as an UPDATE's: 0 done,
 * TG_DNSUPDATE_PREREQ (the zone is not as expected), else -1 with why.
 */
static int
roll_hook(const struct tg_conf *conf, struct tg_hookrun *hook,
    const char *owner, const struct tg_rollover_step *st, int add,
    char *why, size_t whylen)
{
	char buf[TG_ROLLOVER_SET_MAX][80], rdata[80];
	char out[TG_HOOKRUN_OUTPUT_MAX + 1];
	const char *expected[TG_ROLLOVER_SET_MAX];
	struct tg_dnshook_change c;
	struct tg_err err;
	int status;

	if (hook == NULL ||
	    strcmp(tg_hookrun_path(hook), conf->dane_update_hook) != 0) {
		tg_text_fmt(why, whylen, "dane.update_hook changed: restart "
		    "controllerd to use %s", conf->dane_update_hook);
		return -1;
	}
	tg_text_fmt(rdata, sizeof(rdata), "3 1 1 %s", st->change);
	c = (struct tg_dnshook_change){ add, conf->dane_zone, owner,
	    (long long)conf->dane_tlsa_ttl, "TLSA", rdata, expected,
	    roll_rdata(&st->before, buf, expected) };
	if (tg_dnshook_run(hook, &c, ROLL_HOOK_TIMEOUT_MS, &status, out,
	    sizeof(out), &err) != 0) {
		tg_text_fmt(why, whylen, "%s", err.msg);
		return -1;
	}
	tg_text_fmt(why, whylen, "hook %s: %s", tg_dnshook_status_text(status),
	    out[0] != '\0' ? out : "(no output)");
	tg_log_info(NULL, "event=rollover-hook action=%s owner=%s "
	    "record=\"%s\" exit=%d output=\"%s\"", add ? "add" : "delete",
	    owner, rdata, status, out);
	return status == 0 ? 0 : status == TG_DNSHOOK_NOT_AS_EXPECTED ?
	    TG_DNSUPDATE_PREREQ : -1;
}

/* The UPDATE of a step: add or delete st->change on the condition that
 * the RRset is st->before. 1: done (or the zone already shows it), 0:
 * not, with why. */
static int
roll_update(const struct tg_conf *conf, const char *owner,
    const struct tg_rollover_step *st, int add, char *why, size_t whylen)
{
	char buf[TG_ROLLOVER_SET_MAX][80], rr[512];
	const char *rd[TG_ROLLOVER_SET_MAX];
	struct tg_dnsupdate_prereq pre;
	struct tg_dnsupdate_change chg;
	struct tg_dnsupdate_req req;
	struct tg_dnsupdate_result res;
	struct tg_tsig_key key;
	struct tg_err err;
	int h;

	if (conf->dane_update_hook[0] != '\0') {
		h = roll_hook(conf, roll_hookrun, owner, st, add, why, whylen);
		return h == 0 || (h == TG_DNSUPDATE_PREREQ && roll_visible(conf,
		    owner, &st->after, rr, sizeof(rr)) == 1);
	}
	pre.owner = owner;
	pre.type = "TLSA";
	pre.rrs = rd;
	pre.nrrs = roll_rdata(&st->before, buf, rd);
	tg_text_fmt(rr, sizeof(rr), "%s %lld IN TLSA 3 1 1 %s", owner,
	    (long long)conf->dane_tlsa_ttl, st->change);
	chg.op = add ? TG_DNSUPDATE_ADD : TG_DNSUPDATE_DELETE;
	chg.rr = rr;
	req.zone = conf->dane_zone;
	req.prereq = &pre;
	req.nprereq = 1;
	req.change = &chg;
	req.nchange = 1;
	if (tg_tsig_key_load(conf->dane_tsig_key_file, &key, &err) != 0 ||
	    tg_dnsupdate_send(conf->dane_update_server.v[0].host,
	    conf->dane_update_server.v[0].port, &req, &key,
	    ROLL_UPDATE_TIMEOUT_MS, &res, &err) != 0) {
		tg_text_fmt(why, whylen, "%s", err.msg);
		return 0;
	}
	tg_text_fmt(why, whylen, "%s: %s",
	    tg_dnsupdate_outcome_name(res.outcome), res.text);
	if (res.outcome == TG_DNSUPDATE_DONE)
		return 1;
	/* Done before a crash, not recorded: the zone shows it already. */
	if (res.outcome == TG_DNSUPDATE_PREREQ &&
	    roll_visible(conf, owner, &st->after, rr, sizeof(rr)) == 1)
		return 1;
	if (res.outcome == TG_DNSUPDATE_TSIG ||
	    res.outcome == TG_DNSUPDATE_REFUSED)
		tg_log_err(NULL, "event=rollover result=update-refused "
		    "owner=%s error=\"%s\"", owner, why);
	return 0;
}

/* Do the step: 0 done, 1 not yet (a check that must be repeated), -1
 * failed (with why; look again after ROLL_RETRY_S). */
static int
roll_do(const struct tg_conf *conf, struct tg_store *st,
    const struct roll_certs *rc, const char *owner,
    const struct tg_rollover_step *step, char *why, size_t whylen)
{
	struct tg_store_cert rec;
	struct tg_err err;
	int64_t id = 0;
	int r = 0, v;

	switch (step->action) {
	case TG_ROLLOVER_PUBLISH_CURRENT:
	case TG_ROLLOVER_PUBLISH_NEXT:
		id = step->action == TG_ROLLOVER_PUBLISH_CURRENT ?
		    rc->current.id : rc->next.id;
		if (!roll_update(conf, owner, step, 1, why, whylen))
			return -1;
		r = tg_store_cert_set_tlsa_state(st, id,
		    TG_STORE_TLSA_PUBLISHED, &err);
		break;
	case TG_ROLLOVER_CHECK_CURRENT:
	case TG_ROLLOVER_CHECK_NEXT:
	case TG_ROLLOVER_CHECK_RETIRED:
		id = step->action == TG_ROLLOVER_CHECK_CURRENT ?
		    rc->current.id : step->action == TG_ROLLOVER_CHECK_NEXT ?
		    rc->next.id : rc->retired.id;
		if ((v = roll_visible(conf, owner, &step->after, why,
		    whylen)) != 1)
			return v == 0 ? 1 : -1;	/* 1: not yet */
		r = tg_store_cert_set_tlsa_state(st, id, step->action ==
		    TG_ROLLOVER_CHECK_RETIRED ? TG_STORE_TLSA_REMOVED :
		    TG_STORE_TLSA_VISIBLE, &err);
		break;
	case TG_ROLLOVER_MAKE_NEXT:
		if ((r = tg_certfile_make(conf->state_dir, conf->relay_hostname,
		    ROLL_NEXT_DAYS, TG_STORE_CERT_NEXT, &rec, &err)) == 0)
			r = tg_store_cert_add(st, &rec, NULL, &err);
		break;
	case TG_ROLLOVER_SWITCH:
		r = tg_store_cert_promote(st, rc->next.id, &err);
		break;
	case TG_ROLLOVER_RETIRE_OLD:
		if (!roll_update(conf, owner, step, 0, why, whylen))
			return -1;
		r = tg_store_cert_set_tlsa_state(st, rc->retired.id,
		    TG_STORE_TLSA_RETIRING, &err);
		break;
	default:
		return 0;
	}
	if (r != 0) {
		tg_text_fmt(why, whylen, "%s", err.msg);
		return -1;
	}
	return 0;
}

/*
 * RELIABILITY C-05: before the old key's record goes, check the MX as a
 * sender would. When the key served now does not verify and the old
 * key's record is still seen, serve the old key again (it becomes
 * current, the new one retired: its record goes next, and a later
 * renewal makes another key). 1 when it rolled back.
 */
static int
roll_back_if_failing(const struct tg_conf *conf, struct tg_store *st,
    const struct roll_certs *rc, const struct tg_rollover_in *in,
    const struct tg_rollover_step *step)
{
	char seen[TG_ROLLOVER_SET_MAX + 4][TG_ROLLOVER_DIGEST_LEN + 1];
	const char *p[TG_ROLLOVER_SET_MAX + 4];
	enum tg_rollover_seen verdict;
	struct tg_err err;
	size_t n = 0, i;

	verdict = ctl_selfcheck_run(conf, "before-retire-old", seen,
	    sizeof(seen) / sizeof(seen[0]), &n);
	for (i = 0; i < n; i++)
		p[i] = seen[i];
	if (!tg_rollover_roll_back(in, step, verdict, p, n))
		return 0;
	if (tg_store_cert_promote(st, rc->retired.id, &err) != 0) {
		tg_log_err(NULL, "event=rollover name=%s step=rollback "
		    "result=failed error=\"%s\"", conf->relay_hostname,
		    err.msg);
		return 0;
	}
	tg_log_err(NULL, "event=rollover name=%s step=rollback result=done "
	    "served=%.16s... failed=%.16s... detail=\"the new key does not "
	    "verify by DANE; the previous key, whose record is still "
	    "published, is served again\"", conf->relay_hostname,
	    rc->retired.spki_sha256, rc->current.spki_sha256);
	return 1;
}

/*
 * With ACME on, the next key is served only once its certificate is
 * CA-issued (controllerd's ACME job gets it one, with that key): a
 * sender under an MTA-STS policy checks our MX in the web PKI.
 */
static int
roll_next_pending(const struct tg_conf *conf, const struct roll_certs *rc)
{
	int self = 0;

	if (conf->acme_directory[0] == '\0' || !rc->has_next)
		return 0;
	if (tg_certfile_issuer(rc->next.cert_path, NULL, 0, &self,
	    NULL) != 0)
		return 1;	/* unreadable: certainly not ready */
	return self;
}

/* The end of the wait last logged (controllerd has one rollover). */
static time_t last_wait_until;

long
ctl_rollover_run(const struct tg_conf *conf, struct tg_hookrun *hook)
{
	char owner[TG_DNAME_MAX + 16], why[512];
	struct tg_rollover_step step;
	struct tg_rollover_in in;
	struct roll_certs rc;
	struct tg_store *st = NULL;
	struct tg_err err;
	long next;
	int r;

	if (!ctl_rollover_enabled(conf))
		return 0;
	roll_hookrun = hook;
	if (conf->dane_update_server.n > 0 &&
	    conf->dane_update_hook[0] != '\0') {
		tg_log_err(NULL, "event=rollover result=not-configured "
		    "error=\"set dane.update_server or dane.update_hook, not "
		    "both\"");
		return ROLL_LOOK_MAX_S;
	}
	if (conf->dane_update_hook[0] != '\0' && conf->dane_zone[0] == '\0') {
		tg_log_err(NULL, "event=rollover result=not-configured "
		    "error=\"dane.update_hook needs dane.zone\"");
		return ROLL_LOOK_MAX_S;
	}
	if (conf->dane_update_hook[0] == '\0' && (conf->dane_zone[0] == '\0' ||
	    conf->dane_tsig_key_file[0] == '\0')) {
		tg_log_err(NULL, "event=rollover result=not-configured "
		    "error=\"dane.update_server needs dane.zone and "
		    "dane.tsig_key_file\"");
		return ROLL_LOOK_MAX_S;
	}
	memset(&rc, 0, sizeof(rc));
	if (tg_store_open(conf->state_dir, &st, &err) != 0 ||
	    tg_store_cert_list(st, conf->relay_hostname, TG_STORE_CERT_MX,
	    roll_collect, &rc, &err) != 0) {
		tg_log_warn(NULL, "event=rollover result=failed error=\"%s\"",
		    err.msg);
		tg_store_close(st);
		return ROLL_RETRY_S;
	}
	tg_text_fmt(owner, sizeof(owner), "_25._tcp.%s.",
	    conf->relay_hostname);
	memset(&in, 0, sizeof(in));
	in.now = tg_clock_now();
	in.ttl = (long)conf->dane_tlsa_ttl;
	in.renew_before = (long)conf->dane_renew_before;
	roll_key(&rc.current, rc.has_current, &in.current);
	roll_key(&rc.next, rc.has_next, &in.next);
	roll_key(&rc.retired, rc.has_retired, &in.retired);
	in.next_cert_pending = roll_next_pending(conf, &rc);
	tg_rollover_plan(&in, &step);
	why[0] = '\0';
	if (step.action == TG_ROLLOVER_RETIRE_OLD &&
	    roll_back_if_failing(conf, st, &rc, &in, &step)) {
		tg_store_close(st);
		return 1;	/* plan again: the new key's record goes */
	}
	r = roll_do(conf, st, &rc, owner, &step, why, sizeof(why));
	tg_store_close(st);
	if (step.action == TG_ROLLOVER_IDLE || step.action ==
	    TG_ROLLOVER_WAIT) {
		/* Said once per wait, not at every look. */
		if (step.action == TG_ROLLOVER_WAIT &&
		    step.wait_until != last_wait_until)
			tg_log_info(NULL, "event=rollover name=%s step=wait "
			    "until=%lld plan=\"%s\"", conf->relay_hostname,
			    (long long)step.wait_until, step.why);
		last_wait_until = step.wait_until;
		next = (long)(step.wait_until - in.now);
		if (next > ROLL_LOOK_MAX_S)
			next = ROLL_LOOK_MAX_S;
		return next < 1 ? 1 : next;
	}
	tg_log(r < 0 || step.action == TG_ROLLOVER_STUCK ? TG_LOG_WARN :
	    TG_LOG_INFO, NULL, "event=rollover name=%s step=%s result=%s "
	    "plan=\"%s\" detail=\"%s\"", conf->relay_hostname,
	    tg_rollover_action_name(step.action), r < 0 ? "failed" :
	    r > 0 ? "not-yet" : "done", step.why, why);
	/* RELIABILITY C-05: after what is served or published changed. */
	if (r == 0 && (step.action == TG_ROLLOVER_CHECK_CURRENT ||
	    step.action == TG_ROLLOVER_SWITCH ||
	    step.action == TG_ROLLOVER_CHECK_RETIRED))
		(void)ctl_selfcheck_run(conf,
		    tg_rollover_action_name(step.action), NULL, 0, NULL);
	if (step.action == TG_ROLLOVER_STUCK)
		return ROLL_LOOK_MAX_S;
	if (r < 0)
		return ROLL_RETRY_S;
	if (r > 0)
		return in.ttl < ROLL_CHECK_S ? (in.ttl < 1 ? 1 : in.ttl) :
		    ROLL_CHECK_S;
	return 1;	/* the next step at once */
}
