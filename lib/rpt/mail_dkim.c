/*
 * rpt/mail — see mail.h. This file: the DKIM check on libopendkim and
 * the RFC 8460 §3 rules applied to its signatures.
 */
#include "rpt/mail_int.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/dname.h"

/* A colon-separated service-type list (RFC 6376 §3.6.1 s=) names tok. */
static int
dk_svc_has(const char *v, size_t n, const char *tok)
{
	size_t i = 0, s, e, tl = strlen(tok);

	while (i <= n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		s = i;
		while (i < n && v[i] != ':')
			i++;
		e = i;
		while (e > s && isspace((unsigned char)v[e - 1]))
			e--;
		if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
			return 1;
		i++;
	}
	return 0;
}

/* RFC 8460 §3: s= absent (RFC 6376: "*"), "*", or listing "tlsrpt". */
static int
dk_key_serves_tlsrpt(const char *s)
{
	return s == NULL || dk_svc_has(s, strlen(s), "*") ||
	    dk_svc_has(s, strlen(s), "tlsrpt");
}

/* The value [*vs, *ve) of tag in a tag=value; list (RFC 6376 §3.2). */
static int
dk_find_tag(const char *rec, const char *tag, size_t *vs, size_t *ve)
{
	size_t i = 0, n = strlen(rec), ns, ne, v0, tl = strlen(tag);

	while (i < n) {
		while (i < n && isspace((unsigned char)rec[i]))
			i++;
		ns = i;
		while (i < n && rec[i] != '=' && rec[i] != ';')
			i++;
		ne = i;
		while (ne > ns && isspace((unsigned char)rec[ne - 1]))
			ne--;
		if (i < n && rec[i] == '=') {
			v0 = ++i;
			while (i < n && rec[i] != ';')
				i++;
			if (ne - ns == tl && strncmp(rec + ns, tag, tl) == 0) {
				*vs = v0;
				*ve = i;
				return 1;
			}
		}
		i++;
	}
	return 0;
}

/*
 * libopendkim refuses keys whose s= lacks "email" and "*". A key made
 * for reports says s=tlsrpt (RFC 8460 §3); append ":email" so that the
 * library verifies with it. Whether the key serves tlsrpt is judged by
 * dk_key_serves_tlsrpt, not by the library.
 */
static void
dk_key_fix_service(char *buf, size_t buflen)
{
	static const char add[] = ":email";
	size_t vs, ve, n = strlen(buf), al = sizeof(add) - 1;

	if (!dk_find_tag(buf, "s", &vs, &ve) ||
	    dk_svc_has(buf + vs, ve - vs, "email") ||
	    dk_svc_has(buf + vs, ve - vs, "*") ||
	    !dk_svc_has(buf + vs, ve - vs, "tlsrpt"))
		return;
	while (ve > vs && isspace((unsigned char)buf[ve - 1]))
		ve--;
	if (n + al >= buflen)
		return;
	memmove(buf + ve + al, buf + ve, n - ve + 1);
	memcpy(buf + ve, add, al);
}

/* libopendkim's key lookup hook, in front of the caller's function. */
static DKIM_CBSTAT
dk_key_lookup(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	struct tg_rptmail *m = dkim_get_user_context(dkim);
	const char *sel = (const char *)dkim_sig_getselector(sig);
	const char *dom = (const char *)dkim_sig_getdomain(sig);

	if (m == NULL || m->opts.key_lookup == NULL || sel == NULL ||
	    dom == NULL || buflen < 2)
		return DKIM_CBSTAT_ERROR;
	buf[0] = '\0';
	switch (m->opts.key_lookup(m->opts.key_arg, sel, dom, (char *)buf,
	    buflen)) {
	case TG_RPTMAIL_KEY_FOUND:
		buf[buflen - 1] = '\0';
		dk_key_fix_service((char *)buf, buflen);
		return DKIM_CBSTAT_CONTINUE;
	case TG_RPTMAIL_KEY_NOTFOUND:
		return DKIM_CBSTAT_NOTFOUND;
	case TG_RPTMAIL_KEY_TEMPFAIL:
		break;
	}
	return DKIM_CBSTAT_TRYAGAIN;
}

int
tg_rptmail_dkim_setup(struct tg_rptmail *m, struct tg_err *err)
{
	unsigned int flags = DKIM_LIBFLAGS_FIXCRLF |
	    DKIM_LIBFLAGS_BADSIGHANDLES;
	dkim_query_t q = DKIM_QUERY_FILE;

	m->lib = dkim_init(NULL, NULL);
	if (m->lib == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "dkim_init failed");
	if (dkim_options(m->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof(flags)) != DKIM_STAT_OK)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "libopendkim refused its flags");
	if (m->opts.keys == TG_RPTMAIL_KEYS_FILE) {
		if (dkim_options(m->lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD,
		    &q, sizeof(q)) != DKIM_STAT_OK ||
		    dkim_options(m->lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO,
		    m->key_path, strlen(m->key_path)) != DKIM_STAT_OK)
			return tg_err_set(err, TG_ERR_BUG, NULL,
			    "libopendkim refused the key file");
		return 0;
	}
	if (dkim_set_key_lookup(m->lib, dk_key_lookup) != DKIM_STAT_OK)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "libopendkim refused the key lookup hook");
	return 0;
}

/* Accept sig under RFC 8460 §3, or say why not in why. */
static int
dk_sig_ok(struct tg_rptmail *m, DKIM_SIGINFO *sig,
    struct tg_rptmail_result *res, char *why, size_t wn)
{
	const char *dom = (const char *)dkim_sig_getdomain(sig);
	const char *sel = (const char *)dkim_sig_getselector(sig);
	unsigned int flags = dkim_sig_getflags(sig);
	const char *svc;
	char d[TG_DNAME_MAX + 1];
	int e, aligned;

	if (dom == NULL || tg_dname_normalize(dom, d, sizeof(d), NULL) != 0)
		snprintf(d, sizeof(d), "%.60s", dom != NULL ? dom : "?");
	e = dkim_sig_geterror(sig);
	if ((flags & DKIM_SIGFLAG_IGNORE) != 0) {
		snprintf(why, wn, "d=%.100s: signature ignored", d);
		return 0;
	}
	if ((flags & DKIM_SIGFLAG_PASSED) == 0) {
		const char *es = e != DKIM_SIGERROR_OK &&
		    e != DKIM_SIGERROR_UNKNOWN ? dkim_sig_geterrorstr(e) : NULL;
		snprintf(why, wn, "d=%.100s: %s", d,
		    es != NULL ? es : "signature did not verify");
		return 0;
	}
	if (dkim_sig_getbh(sig) != DKIM_SIGBH_MATCH) {
		snprintf(why, wn, "d=%.100s: body hash mismatch", d);
		return 0;
	}
	if (dkim_sig_gettagvalue(sig, false, (u_char *)"l") != NULL) {
		snprintf(why, wn, "d=%.100s: signed with l= (RFC 8460 §3 "
		    "forbids a body length limit)", d);
		return 0;
	}
	svc = (const char *)dkim_sig_gettagvalue(sig, true, (u_char *)"s");
	if (!dk_key_serves_tlsrpt(svc) && !m->opts.accept_email_only_keys) {
		snprintf(why, wn, "d=%.100s: key service types s=%.40s do not "
		    "include tlsrpt (RFC 8460 §3)", d, svc);
		return 0;
	}
	aligned = res->submitter[0] != '\0' &&
	    tg_dname_is_subdomain(res->submitter, d);
	if (m->opts.require_aligned && !aligned) {
		snprintf(why, wn, "d=%.100s is not TLS-Report-Submitter "
		    "'%.100s' or a parent of it", d, res->submitter);
		return 0;
	}
	snprintf(res->dkim_domain, sizeof(res->dkim_domain), "%s", d);
	snprintf(res->dkim_selector, sizeof(res->dkim_selector), "%s",
	    sel != NULL ? sel : "");
	res->aligned = aligned;
	return 1;
}

/* Not verified: keep the reason, fail with it. */
static int
dk_refuse(struct tg_rptmail_result *res, struct tg_err *err,
    enum tg_err_class cls, const char *why)
{
	res->verified = 0;
	snprintf(res->reason, sizeof(res->reason), "%s", why);
	return tg_err_set(err, cls, NULL, "DKIM: %s; a mailed report "
	    "without a valid signature is ignored (RFC 8460 §3)", why);
}

static int
dk_judge(struct tg_rptmail *m, DKIM *d, DKIM_STAT st,
    struct tg_rptmail_result *res, struct tg_err *err)
{
	char why[TG_RPTMAIL_TEXT_MAX] = "", buf[TG_RPTMAIL_TEXT_MAX];
	DKIM_SIGINFO **sigs = NULL;
	int i, n = 0;

	if (st == DKIM_STAT_NOSIG)
		return dk_refuse(res, err, TG_ERR_PERM, "no DKIM-Signature");
	if (st == DKIM_STAT_CBTRYAGAIN || st == DKIM_STAT_KEYFAIL ||
	    st == DKIM_STAT_NORESOURCE)
		return dk_refuse(res, err, TG_ERR_TEMP, "key lookup failed "
		    "temporarily");
	if (dkim_getsiglist(d, &sigs, &n) != DKIM_STAT_OK || n <= 0) {
		snprintf(buf, sizeof(buf), "no usable DKIM-Signature (%s)",
		    dkim_getresultstr(st));
		return dk_refuse(res, err, TG_ERR_PERM, buf);
	}
	for (i = 0; i < n; i++) {
		if (dk_sig_ok(m, sigs[i], res, buf, sizeof(buf))) {
			res->verified = 1;
			snprintf(res->reason, sizeof(res->reason),
			    "DKIM pass d=%.100s s=%.63s", res->dkim_domain,
			    res->dkim_selector);
			return 0;
		}
		if (why[0] == '\0')
			memcpy(why, buf, sizeof(why));
	}
	return dk_refuse(res, err, TG_ERR_PERM, why);
}

int
tg_rptmail_dkim_check(struct tg_rptmail *m, const char *msg, size_t len,
    struct tg_rptmail_result *res, struct tg_err *err)
{
	DKIM_STAT st;
	DKIM *d;
	int rc;

	d = dkim_verify(m->lib, (const u_char *)"tlsrpt", NULL, &st);
	if (d == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "dkim_verify: %s",
		    dkim_getresultstr(st));
	dkim_set_user_context(d, m);
	st = dkim_chunk(d, (u_char *)(uintptr_t)msg, len);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(d, NULL, 0);
	if (st == DKIM_STAT_OK)
		st = dkim_eom(d, NULL);
	rc = dk_judge(m, d, st, res, err);
	dkim_free(d);
	return rc;
}
