/*
 * smtp/server_cmd — the SMTP server's commands: one table, and for each
 * verb a check (may it run now, with these arguments?) and a proceed (do
 * it and reply), in the manner of OpenSMTPD's smtp_session.c.
 */
#include "smtp/server_int.h"

#include <stdlib.h>
#include <string.h>

/* RFC 2920 §3.1: the command must be the last of a pipelined group. */
#define V_LAST	0x01u

struct verb {
	unsigned flags;
	int (*check)(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c);
	void (*proceed)(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c);
};

static int
no_arg(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c,
    const char *syntax)
{
	if (c->arglen == 0)
		return 0;
	return tg_smtpd_reply_err(s, 501, "5.5.4", syntax);
}

/* Log a refused MAIL or RCPT (one line per outcome). */
static void
log_refused(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c, int code,
    const struct tg_err *err)
{
	tg_smtpd_log_input(s, "command", c->arg, c->arglen, code, err);
}

/* ---- EHLO / HELO (RFC 5321 §4.1.1.1) --------------------------------- */

static void
ehlo_reply(struct tg_smtpd_sess *s)
{
	const char *ext[9];
	char size[32];
	size_t n = 0, i;

	snprintf(size, sizeof(size), "SIZE %llu",
	    (unsigned long long)s->conf->max_size);
	ext[n++] = "PIPELINING";			/* RFC 2920 */
	ext[n++] = size;				/* RFC 1870 */
	ext[n++] = "8BITMIME";				/* RFC 6152 */
	ext[n++] = "ENHANCEDSTATUSCODES";		/* RFC 2034 */
	ext[n++] = "SMTPUTF8";				/* RFC 6531 */
	ext[n++] = "DSN";				/* RFC 3461 */
	if (s->conf->tls != NULL && !s->tls)		/* RFC 3207 §4.2 */
		ext[n++] = "STARTTLS";
	/* RFC 8689 §2: offered only where it can be used, under TLS. */
	if (s->conf->requiretls && s->tls)
		ext[n++] = "REQUIRETLS";
	evbuffer_add_printf(bufferevent_get_output(s->bev), "250-%s\r\n",
	    s->conf->hostname);
	for (i = 0; i < n; i++)
		evbuffer_add_printf(bufferevent_get_output(s->bev),
		    "250%c%s\r\n", i + 1 < n ? '-' : ' ', ext[i]);
}

static void
do_helo(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	char name[TG_SMTPD_HELO_MAX + 1];
	struct tg_err err;
	int rc;

	if ((rc = tg_smtpcmd_helo(c->arg, c->arglen, name, &err)) != 0) {
		tg_smtpd_reply_parse(s, rc, &err);
		return;
	}
	/* RFC 5321 §4.1.4: EHLO/HELO also resets the transaction. */
	tg_smtpd_reset(s);
	memcpy(s->helo, name, strlen(name) + 1);
	s->esmtp = c->verb == TG_SMTPCMD_EHLO;
	s->phase = TG_SMTPD_READY;
	if (s->esmtp)
		ehlo_reply(s);
	else
		tg_smtpd_reply(s, 250, NULL, "%s", s->conf->hostname);
}

/* ---- MAIL (RFC 5321 §4.1.1.2) ----------------------------------------- */

static int
check_mail(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	(void)c;
	if (s->phase == TG_SMTPD_INIT)
		return tg_smtpd_reply_err(s, 503, "5.5.1",
		    "Error: send HELO/EHLO first");
	if (s->phase != TG_SMTPD_READY)
		return tg_smtpd_reply_err(s, 503, "5.5.1",
		    "Error: nested MAIL command");
	return 0;
}

static void
do_mail(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	struct tg_err err;
	int rc;

	rc = tg_smtpcmd_mail(c->arg, c->arglen, s->esmtp, &s->mail, &err);
	/* RFC 1870 §6.1: a declared size over the limit is refused now. */
	if (rc == 0 && s->mail.size_given && s->mail.size > s->conf->max_size) {
		tg_err_set(&err, TG_ERR_PERM, "5.3.4", "Message size exceeds "
		    "fixed maximum message size");
		rc = 552;
	}
	if (rc == 0 && s->mail.requiretls && !s->conf->requiretls) {
		tg_err_set(&err, TG_ERR_PERM, "5.5.4",
		    "Unsupported MAIL parameter");
		rc = 555;
	}
	/* RFC 8689 §4.1: a message that must travel under TLS cannot
	 * start its journey in the clear. */
	if (rc == 0 && s->mail.requiretls && !s->tls) {
		tg_err_set(&err, TG_ERR_PERM, "5.7.10",
		    "REQUIRETLS needs a TLS session: STARTTLS first");
		rc = 530;
	}
	/* RELIABILITY §1.9.1: 1.5 x the size free on the spool, or 452. */
	if (rc == 0 && tg_spool_space_ok(s->srv->spool, s->mail.size_given ?
	    s->mail.size : s->conf->max_size, &err) != 0) {
		snprintf(err.msg, sizeof(err.msg), "Insufficient system "
		    "storage");
		rc = 452;
	}
	if (rc != 0) {
		log_refused(s, c, rc, &err);
		memset(&s->mail, 0, sizeof(s->mail));
		tg_smtpd_reply_parse(s, rc, &err);
		return;
	}
	s->phase = TG_SMTPD_MAIL;
	tg_smtpd_reply(s, 250, "2.1.0", "Ok");
}

/* ---- RCPT (RFC 5321 §4.1.1.3) ----------------------------------------- */

static int
check_rcpt(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	(void)c;
	if (s->phase != TG_SMTPD_MAIL && s->phase != TG_SMTPD_RCPT)
		return tg_smtpd_reply_err(s, 503, "5.5.1",
		    "Error: need MAIL command");
	/* RFC 5321 §4.5.3.1.10: "452 too many recipients". */
	if (s->nrcpt >= s->conf->max_rcpt)
		return tg_smtpd_reply_err(s, 452, "4.5.3",
		    "Error: too many recipients");
	return 0;
}

static int
rcpt_store(struct tg_smtpd_sess *s, const struct tg_smtpcmd_rcpt *r)
{
	struct tg_spool_rcpt *v, *nr;

	if (s->nrcpt == s->caprcpt) {
		size_t cap = s->caprcpt == 0 ? 4 : s->caprcpt * 2;

		if ((v = realloc(s->rcpt, cap * sizeof(*v))) == NULL)
			return -1;
		s->rcpt = v;
		s->caprcpt = cap;
	}
	nr = &s->rcpt[s->nrcpt];
	nr->addr = strdup(r->path.addr);
	nr->orcpt = r->orcpt[0] != '\0' ? strdup(r->orcpt) : NULL;
	nr->notify = r->notify;
	if (nr->addr == NULL || (r->orcpt[0] != '\0' && nr->orcpt == NULL)) {
		free(nr->addr);
		free(nr->orcpt);
		return -1;
	}
	s->nrcpt++;
	return 0;
}

static void
do_rcpt(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	struct tg_smtpcmd_rcpt r;
	struct tg_err err;
	int rc;

	rc = tg_smtpcmd_rcpt(c->arg, c->arglen, s->esmtp, s->mail.smtputf8,
	    &r, &err);
	if (rc == 0)
		rc = tg_smtpd_rcpt_gate(s->conf, &r.path, &err);
	if (rc == 0 && (r.path.flags & TG_SMTPCMD_P_POSTMASTER)) {
		/* The relay has no mailboxes of its own. */
		tg_err_set(&err, TG_ERR_PERM, "5.1.1", "Error: no local "
		    "mailboxes here; give a domain");
		rc = 550;
	}
	if (rc == 0 && (rc = tg_smtpd_rcpt_verify(s, &r, &err)) < 0)
		return;		/* the answer comes later */
	tg_smtpd_rcpt_answer(s, &r, rc, &err, c->arg, c->arglen);
}

void
tg_smtpd_rcpt_answer(struct tg_smtpd_sess *s,
    const struct tg_smtpcmd_rcpt *r, int rc, struct tg_err *err,
    const char *arg, size_t arglen)
{
	if (rc == 0 && rcpt_store(s, r) != 0) {
		tg_err_set(err, TG_ERR_TEMP, "4.3.0", "Error: out of memory");
		rc = 451;
	}
	if (rc != 0) {
		tg_smtpd_log_input(s, "command", arg, arglen, rc, err);
		tg_smtpd_reply_parse(s, rc, err);
		return;
	}
	s->phase = TG_SMTPD_RCPT;
	tg_smtpd_reply(s, 250, "2.1.5", "Ok");
}

/* ---- DATA (RFC 5321 §4.1.1.4) ----------------------------------------- */

static int
check_data(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	if (no_arg(s, c, "Syntax: DATA") != 0)
		return -1;
	/* RFC 5321 §3.3: 554 "no valid recipients" after MAIL alone. */
	if (s->phase == TG_SMTPD_MAIL)
		return tg_smtpd_reply_err(s, 554, "5.5.1",
		    "Error: no valid recipients");
	if (s->phase != TG_SMTPD_RCPT)
		return tg_smtpd_reply_err(s, 503, "5.5.1",
		    "Error: need RCPT command");
	return 0;
}

static void
do_data(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	(void)c;
	tg_smtpd_data_begin(s);
}

/* ---- small commands ---------------------------------------------------- */

static int
check_rset(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	return no_arg(s, c, "Syntax: RSET");
}

static void
do_rset(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	(void)c;
	tg_smtpd_reset(s);
	tg_smtpd_reply(s, 250, "2.0.0", "Ok");
}

static void
do_noop(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	(void)c;
	tg_smtpd_reply(s, 250, "2.0.0", "Ok");
}

static int
check_quit(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	return no_arg(s, c, "Syntax: QUIT");
}

static void
do_quit(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	(void)c;
	tg_smtpd_reply(s, 221, "2.0.0", "%s closing connection",
	    s->conf->hostname);
	tg_smtpd_close(s, "quit");
}

static void
do_vrfy(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	if (c->arglen == 0) {
		tg_smtpd_reply_err(s, 501, "5.5.4", "Syntax: VRFY address");
		return;
	}
	/* RFC 5321 §3.5.3: 252 when the address cannot be verified. */
	tg_smtpd_reply(s, 252, "2.5.2", "Cannot VRFY; send mail and it "
	    "will be relayed");
}

static void
do_expn(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	(void)c;
	tg_smtpd_reply_err(s, 502, "5.5.1", "Error: command not supported");
}

static void
do_help(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	(void)c;
	tg_smtpd_reply(s, 214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA "
	    "RSET NOOP QUIT VRFY STARTTLS");
}

static void
do_auth(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	(void)c;
	tg_smtpd_reply_err(s, 503, "5.5.1",
	    "Error: authentication not enabled");
}

static void
do_bdat(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	(void)c;
	/* RFC 3030: no CHUNKING offered. Its chunk would follow, and must
	 * never be read as commands: end the session. */
	tg_smtpd_reply(s, 554, "5.5.1", "Error: BDAT without CHUNKING");
	tg_smtpd_close(s, "bdat");
}

static void
do_unknown(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	(void)c;
	tg_smtpd_reply_err(s, 500, "5.5.2", "Error: command not recognized");
}

/* ---- STARTTLS (RFC 3207 §4) --------------------------------------------- */

static int
check_starttls(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	if (no_arg(s, c, "Syntax: STARTTLS (no parameters)") != 0)
		return -1;
	if (s->tls)
		return tg_smtpd_reply_err(s, 503, "5.5.1",
		    "Error: TLS already active");
	if (s->conf->tls == NULL)
		return tg_smtpd_reply_err(s, 454, "4.7.0",
		    "TLS not available due to temporary reason");
	if (!s->esmtp)
		return tg_smtpd_reply_err(s, 503, "5.5.1",
		    "Error: send EHLO first");
	if (s->phase != TG_SMTPD_READY)
		return tg_smtpd_reply_err(s, 503, "5.5.1",
		    "Error: MAIL transaction in progress");
	return 0;
}

static void
do_starttls(struct tg_smtpd_sess *s, const struct tg_smtpcmd *c)
{
	(void)c;
	tg_smtpd_starttls(s);
}

static const struct verb verbs[TG_SMTPCMD_NVERBS] = {
	[TG_SMTPCMD_UNKNOWN] = { 0, NULL, do_unknown },
	[TG_SMTPCMD_HELO] = { V_LAST, NULL, do_helo },
	[TG_SMTPCMD_EHLO] = { V_LAST, NULL, do_helo },
	[TG_SMTPCMD_MAIL] = { 0, check_mail, do_mail },
	[TG_SMTPCMD_RCPT] = { 0, check_rcpt, do_rcpt },
	[TG_SMTPCMD_DATA] = { V_LAST, check_data, do_data },
	[TG_SMTPCMD_RSET] = { 0, check_rset, do_rset },
	[TG_SMTPCMD_NOOP] = { V_LAST, NULL, do_noop },
	[TG_SMTPCMD_QUIT] = { 0, check_quit, do_quit },
	[TG_SMTPCMD_VRFY] = { V_LAST, NULL, do_vrfy },
	[TG_SMTPCMD_EXPN] = { V_LAST, NULL, do_expn },
	[TG_SMTPCMD_HELP] = { 0, NULL, do_help },
	[TG_SMTPCMD_STARTTLS] = { 0, check_starttls, do_starttls },
	[TG_SMTPCMD_AUTH] = { V_LAST, NULL, do_auth },
	[TG_SMTPCMD_BDAT] = { 0, NULL, do_bdat },
	[TG_SMTPCMD_HTTP] = { 0, NULL, NULL },
};

/* RELIABILITY I-11: an HTTP request on the SMTP port. */
static void
http_request(struct tg_smtpd_sess *s, const char *line, size_t len)
{
	struct tg_err err;

	tg_err_set(&err, TG_ERR_PERM, "5.5.1", "non-SMTP command");
	tg_smtpd_log_input(s, "violation", line, len, 554, &err);
	tg_smtpd_reply(s, 554, "5.5.1", "Error: non-SMTP command; closing");
	tg_smtpd_close(s, "non-smtp-command");
}

void
tg_smtpd_command(struct tg_smtpd_sess *s, const char *line, size_t len,
    int pending)
{
	const struct verb *v;
	struct tg_smtpcmd c;
	struct tg_err err;
	int rc;

	if ((rc = tg_smtpcmd_parse(line, len, &c, &err)) != 0) {
		tg_smtpd_reply_parse(s, rc, &err);
		return;
	}
	if (c.verb == TG_SMTPCMD_HTTP) {
		http_request(s, line, len);
		return;
	}
	v = &verbs[c.verb];
	/* RFC 2920 §3.1; STARTTLS discards what follows it (server.c). */
	if (pending && c.verb != TG_SMTPCMD_QUIT &&
	    c.verb != TG_SMTPCMD_STARTTLS &&
	    (!s->esmtp || (v->flags & V_LAST))) {
		tg_smtpd_violation(s, s->esmtp ? "command pipelined after "
		    "a command that must end a group" : "pipelining without "
		    "EHLO");
		return;
	}
	/* RFC 5321 §3.1: after a 554 greeting only QUIT is served. */
	if (s->phase == TG_SMTPD_REFUSED && c.verb != TG_SMTPCMD_QUIT) {
		tg_smtpd_reply_err(s, 503, "5.5.1",
		    "Error: access denied; send QUIT");
		return;
	}
	if (v->check != NULL && v->check(s, &c) != 0)
		return;
	v->proceed(s, &c);
}
