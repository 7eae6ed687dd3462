/*
 * smtp/client — mail transactions (see client.h, "Transactions" and
 * "Content on the wire"): the envelope checks, MAIL/RCPT/DATA with or
 * without pipelining, the content encoder, the final reply, RSET, and
 * the per-recipient results.
 */
#include "smtp/client_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "util/text.h"

/* ---- the content encoder (pure) ---- */

void
tg_smtpc_dot_init(struct tg_smtpc_dot *d)
{
	d->bol = 1;
	d->cr = 0;
	d->normalised = 0;
}

static size_t
dot_crlf(struct tg_smtpc_dot *d, char *out)
{
	out[0] = '\r';
	out[1] = '\n';
	d->bol = 1;
	return 2;
}

/* RFC 5321 §2.3.8: CRLF is the only line end; §4.5.2: a line starting
 * with "." gets another one. A lone CR or LF becomes CRLF. */
size_t
tg_smtpc_dot_feed(struct tg_smtpc_dot *d, const void *in, size_t n,
    char *out)
{
	const unsigned char *p = in;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (d->cr) {
			d->cr = 0;
			o += dot_crlf(d, out + o);
			if (p[i] == '\n')
				continue;
			d->normalised++;
		}
		if (p[i] == '\r') {
			d->cr = 1;
			continue;
		}
		if (p[i] == '\n') {
			o += dot_crlf(d, out + o);
			d->normalised++;
			continue;
		}
		if (d->bol && p[i] == '.')
			out[o++] = '.';
		out[o++] = (char)p[i];
		d->bol = 0;
	}
	return o;
}

size_t
tg_smtpc_dot_end(struct tg_smtpc_dot *d, char out[5])
{
	size_t o = 0;

	if (d->cr) {
		d->cr = 0;
		d->normalised++;
		o += dot_crlf(d, out);
	}
	if (!d->bol)
		o += dot_crlf(d, out + o);
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

/* ---- envelope checks ---- */

/* A path for "<...>": at most TG_SMTP_PATH_MAX bytes, no control bytes
 * (no CR/LF injection into the command stream). Sets *utf8 when it has
 * non-ASCII bytes (RFC 6531 §3.3). */
static int
txn_path_ok(const char *s, int empty_ok, int *utf8)
{
	size_t i, n = strlen(s);

	if (n > TG_SMTP_PATH_MAX || (n == 0 && !empty_ok))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f)
			return 0;
		if (ch >= 0x80)
			*utf8 = 1;
	}
	return 1;
}

/* RFC 3461 §4: xtext = *( xchar / "+" 2HEXDIG ), xchar = "!".."~"
 * except "+" and "=". */
static int
txn_xtext_ok(const char *s, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			if (i + 2 >= n || strchr(hex, s[i + 1]) == NULL ||
			    strchr(hex, s[i + 2]) == NULL)
				return 0;
			i += 2;
		} else if (s[i] < '!' || s[i] > '~' || s[i] == '=') {
			return 0;
		}
	}
	return 1;
}

/* RFC 3461 §4.2: ORCPT=addr-type ";" xtext, at most 500 characters. */
static int
txn_orcpt_ok(const char *s)
{
	const char *semi = s != NULL ? strchr(s, ';') : NULL;
	const char *p;

	if (semi == NULL || semi == s || strlen(s) > 500)
		return 0;
	for (p = s; p < semi; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-'))
			return 0;
	return txn_xtext_ok(semi + 1, 500);
}

static void __attribute__((format(printf, 4, 5)))
txn_outcome(struct tg_smtpc_outcome *o, enum tg_err_class cls,
    const char *status, const char *fmt, ...)
{
	va_list ap;

	memset(o, 0, sizeof(*o));
	o->cls = cls;
	tg_text_fmt(o->status, sizeof(o->status), "%s", status);
	va_start(ap, fmt);
	vsnprintf(o->text, sizeof(o->text), fmt, ap);
	va_end(ap);
}

/* Whether the message needs SMTPUTF8 (flag or non-ASCII addresses). */
static int
txn_needs_utf8(const struct tg_smtpc_txn *t)
{
	int utf8 = (t->flags & TG_SPOOL_F_SMTPUTF8) != 0;
	size_t i;

	(void)txn_path_ok(t->sender, 1, &utf8);
	for (i = 0; i < t->nrcpt; i++)
		(void)txn_path_ok(t->rcpt[i].addr, 0, &utf8);
	return utf8;
}

/*
 * RFC 8689 §4.2.1: a REQUIRETLS message only to a vouched-for MX host,
 * over authenticated TLS, to a server that offers REQUIRETLS. -1 with
 * tr.mail filled when one of them is missing.
 */
static int
txn_requiretls(struct tg_smtpc *c)
{
	const struct tg_smtpc_conn *r = &c->res;
	const struct tg_tls_result *tls = &r->tls;

	if (!c->txn->requiretls_hop) {
		txn_outcome(&c->tr.mail, TG_ERR_PERM, "5.7.10", "REQUIRETLS: "
		    "the MX host is authenticated neither by DANE nor by an "
		    "MTA-STS policy");
		return -1;
	}
	if (!r->tls_started || !tls->handshake_done || !tls->auth_required ||
	    !tls->verified || tls->mode == TG_TLS_OPPORTUNISTIC) {
		txn_outcome(&c->tr.mail, TG_ERR_TEMP, "4.7.10", "REQUIRETLS: "
		    "the server's TLS certificate was not authenticated");
		return -1;
	}
	if (!(r->ext & TG_SMTPC_EXT_REQUIRETLS)) {	/* RFC 8689 §5 */
		txn_outcome(&c->tr.mail, TG_ERR_PERM, "5.7.30", "REQUIRETLS "
		    "support required, but the server does not offer it");
		return -1;
	}
	return 0;
}

/* Message-level checks before MAIL; -1 with tr.mail filled. */
static int
txn_precheck(struct tg_smtpc *c)
{
	const struct tg_smtpc_txn *t = c->txn;
	const struct tg_smtpc_conn *r = &c->res;
	int utf8 = 0;

	if (!txn_path_ok(t->sender, 1, &utf8)) {
		txn_outcome(&c->tr.mail, TG_ERR_PERM, "5.1.7",
		    "bad sender address");
		return -1;
	}
	/* RFC 6531 §3.2: no downgrade of a message that needs SMTPUTF8. */
	if (txn_needs_utf8(t) && !(r->ext & TG_SMTPC_EXT_SMTPUTF8)) {
		txn_outcome(&c->tr.mail, TG_ERR_PERM, "5.6.7",
		    "SMTPUTF8 is required, but was not offered by the server");
		return -1;
	}
	if ((t->flags & TG_SPOOL_F_REQUIRETLS) && txn_requiretls(c) != 0)
		return -1;
	/* RFC 1870 §6: do not send what the server said it will refuse. */
	if ((r->ext & TG_SMTPC_EXT_SIZE) && r->size_max > 0 &&
	    t->size > r->size_max) {
		txn_outcome(&c->tr.mail, TG_ERR_PERM, "5.3.4",
		    "message size %" PRIu64 " exceeds the server's limit %"
		    PRIu64, t->size, r->size_max);
		return -1;
	}
	return 0;
}

/* Recipient checks; returns how many may be sent. */
static size_t
txn_check_rcpts(struct tg_smtpc *c)
{
	size_t i, n = 0;
	int utf8 = 0;

	for (i = 0; i < c->txn->nrcpt; i++) {
		if (txn_path_ok(c->txn->rcpt[i].addr, 0, &utf8))
			n++;
		else
			txn_outcome(&c->rr[i].final, TG_ERR_PERM, "5.1.3",
			    "bad recipient address");
	}
	return n;
}

/* ---- commands ---- */

static void
txn_mail_params(struct tg_smtpc *c, struct tg_buf *b)
{
	const struct tg_smtpc_txn *t = c->txn;
	unsigned ext = c->res.ext;

	if (ext & TG_SMTPC_EXT_SIZE)			/* RFC 1870 §6 */
		tg_buf_printf(b, " SIZE=%" PRIu64, t->size);
	if ((t->flags & TG_SPOOL_F_8BITMIME) && (ext & TG_SMTPC_EXT_8BITMIME))
		tg_buf_puts(b, " BODY=8BITMIME");	/* RFC 6152 §2 */
	if (txn_needs_utf8(t))
		tg_buf_puts(b, " SMTPUTF8");		/* RFC 6531 §3.4 */
	if (t->flags & TG_SPOOL_F_REQUIRETLS)
		tg_buf_puts(b, " REQUIRETLS");		/* RFC 8689 §4.2.1 */
	if (!(ext & TG_SMTPC_EXT_DSN))
		return;
	if (t->ret == TG_SPOOL_RET_FULL)		/* RFC 3461 §4.3 */
		tg_buf_puts(b, " RET=FULL");
	else if (t->ret == TG_SPOOL_RET_HDRS)
		tg_buf_puts(b, " RET=HDRS");
	if (t->envid != NULL && txn_xtext_ok(t->envid, 100))	/* §4.4 */
		tg_buf_printf(b, " ENVID=%s", t->envid);
}

static void
txn_rcpt_params(struct tg_smtpc *c, const struct tg_spool_rcpt *r,
    struct tg_buf *b)
{
	static const struct {
		unsigned bit;
		const char *name;
	} kinds[] = {
		{ TG_SPOOL_NOTIFY_SUCCESS, "SUCCESS" },
		{ TG_SPOOL_NOTIFY_FAILURE, "FAILURE" },
		{ TG_SPOOL_NOTIFY_DELAY, "DELAY" },
	};
	const char *sep = " NOTIFY=";
	size_t i;

	if (!(c->res.ext & TG_SMTPC_EXT_DSN))
		return;
	/* RFC 3461 §4.1: NEVER alone, or a list of the others. */
	if (r->notify & TG_SPOOL_NOTIFY_NEVER) {
		tg_buf_puts(b, " NOTIFY=NEVER");
	} else {
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			if (!(r->notify & kinds[i].bit))
				continue;
			tg_buf_printf(b, "%s%s", sep, kinds[i].name);
			sep = ",";
		}
	}
	if (r->orcpt != NULL && txn_orcpt_ok(r->orcpt))	/* §4.2 */
		tg_buf_printf(b, " ORCPT=%s", r->orcpt);
}

/* Queue one command line built in b (bounded by TG_SMTP_LINE_MAX). */
static int
txn_write(struct tg_smtpc *c, struct tg_buf *b)
{
	int rc = tg_buf_puts(b, "\r\n");

	if (rc == 0 && c->bev != NULL)
		rc = bufferevent_write(c->bev, b->data, b->len);
	tg_buf_free(b);
	if (rc != 0)
		tg_smtpc_lost(c, TG_SMTPC_INTERNAL, "4.3.0",
		    "cannot queue a command");
	return rc != 0 ? -1 : 0;
}

static int
txn_send_mail(struct tg_smtpc *c)
{
	struct tg_buf b;

	tg_buf_init(&b, TG_SMTP_LINE_MAX - 2);
	tg_buf_printf(&b, "MAIL FROM:<%s>", c->txn->sender);
	txn_mail_params(c, &b);
	return txn_write(c, &b);
}

static int
txn_send_rcpt(struct tg_smtpc *c, size_t i)
{
	const struct tg_spool_rcpt *r = &c->txn->rcpt[i];
	struct tg_buf b;

	tg_buf_init(&b, TG_SMTP_LINE_MAX - 2);
	tg_buf_printf(&b, "RCPT TO:<%s>", r->addr);
	txn_rcpt_params(c, r, &b);
	return txn_write(c, &b);
}

/* The next recipient at or after i that passed the checks. */
static size_t
txn_next_rcpt(const struct tg_smtpc *c, size_t i)
{
	while (i < c->txn->nrcpt && c->rr[i].final.cls != TG_ERR_NONE)
		i++;
	return i;
}

/* ---- results ---- */

/* Why the connection could not finish: its failure, or a close. */
static void
txn_conn_outcome(const struct tg_smtpc *c, struct tg_smtpc_outcome *o)
{
	if (c->res.status != TG_SMTPC_OK && c->res.why.cls != TG_ERR_NONE) {
		*o = c->res.why;
		if (o->cls == TG_ERR_PERM)	/* a 5xx while closing */
			o->cls = TG_ERR_TEMP;
		return;
	}
	txn_outcome(o, TG_ERR_TEMP, "4.4.2", "connection lost");
}

/* Decide each recipient (client.h, "Acceptance and crashes"). */
static void
txn_finals(struct tg_smtpc *c)
{
	struct tg_smtpc_txn_result *tr = &c->tr;
	struct tg_smtpc_rcpt_result *r;
	size_t i;

	tr->dot_unanswered = c->dot_sent && !c->final_seen;
	tr->delivered = 0;
	for (i = 0; i < tr->nrcpt; i++) {
		r = &c->rr[i];
		if (r->final.cls != TG_ERR_NONE)
			continue;		/* refused before MAIL */
		if (tr->mail.cls != TG_ERR_NONE)
			r->final = tr->mail;
		else if (r->rcpt.code == 0)
			txn_conn_outcome(c, &r->final);
		else if (r->rcpt.cls != TG_ERR_NONE || c->txn->probe)
			r->final = r->rcpt;	/* a probe stops at RCPT */
		else if (c->final_seen && tr->data.cls == TG_ERR_NONE &&
		    tr->data.code != 0) {
			r->final = tr->data;
			tr->delivered++;
		} else if (tr->data.cls != TG_ERR_NONE)
			r->final = tr->data;
		else
			txn_conn_outcome(c, &r->final);
	}
}

static void
txn_end(struct tg_smtpc *c)
{
	txn_finals(c);
	free(c->chunk);
	c->chunk = NULL;
	c->txn_ended = 1;
	event_active(c->done_ev, EV_TIMEOUT, 0);
}

/* The transaction is over; the connection goes on (RFC 5321 §4.1.1.5:
 * RSET clears any state the server kept). */
static void
txn_finish(struct tg_smtpc *c, int sent)
{
	txn_end(c);
	if (!sent) {
		tg_smtpc_to_ready(c);
		return;
	}
	if (tg_smtpc_sendf(c, "RSET\r\n") == 0)
		tg_smtpc_enter(c, TG_SMTPC_STEP_RSET);
}

void
tg_smtpc_txn_abort(struct tg_smtpc *c)
{
	if (c->txn == NULL || c->txn_ended)
		return;
	c->txn_waiting = 0;
	txn_end(c);
}

void
tg_smtpc_txn_release(struct tg_smtpc *c)
{
	free(c->rr);
	free(c->chunk);
	c->rr = NULL;
	c->chunk = NULL;
	c->txn = NULL;
}

void
tg_smtpc_done_fire(evutil_socket_t fd, short what, void *arg)
{
	struct tg_smtpc *c = arg;
	struct tg_smtpc_rcpt_result *rr = c->rr;
	struct tg_smtpc_txn_result tr = c->tr;
	tg_smtpc_done_cb cb = c->done_cb;

	(void)fd;
	(void)what;
	if (!c->txn_ended)
		return;
	/* The next transaction may start inside the callback. */
	c->txn_ended = 0;
	c->txn = NULL;
	c->rr = NULL;
	tr.conn = &c->res;
	if (!c->closing)
		cb(c, &tr, c->done_arg);
	free(rr);
}

/* ---- starting ---- */

static void
txn_reset(struct tg_smtpc *c)
{
	memset(&c->tr, 0, sizeof(c->tr));
	c->tr.rcpt = c->rr;
	c->tr.nrcpt = c->txn->nrcpt;
	c->tr.conn = &c->res;
	c->mail_failed = 0;
	c->rcpt_at = 0;
	c->rcpt_valid = 0;
	c->final_seen = 0;
	c->dot_ignore = 0;
	c->dot_sent = 0;
	c->body_eof = 0;
	c->pipelining = 0;
	tg_smtpc_dot_init(&c->dot);
}

/* RFC 2920 §3.1: MAIL, every RCPT and DATA in one go. */
static int
txn_send_group(struct tg_smtpc *c)
{
	size_t i;

	for (i = txn_next_rcpt(c, 0); i < c->txn->nrcpt;
	    i = txn_next_rcpt(c, i + 1))
		if (txn_send_rcpt(c, i) < 0)
			return -1;
	return c->txn->probe ? 0 : tg_smtpc_sendf(c, "DATA\r\n");
}

void
tg_smtpc_txn_begin(struct tg_smtpc *c)
{
	size_t i;

	txn_reset(c);
	if (txn_precheck(c) < 0) {
		for (i = 0; i < c->txn->nrcpt; i++)
			c->rr[i].final = c->tr.mail;
		txn_finish(c, 0);
		return;
	}
	if ((c->rcpt_valid = txn_check_rcpts(c)) == 0) {
		txn_finish(c, 0);
		return;
	}
	c->pipelining = (c->res.ext & TG_SMTPC_EXT_PIPELINING) != 0;
	c->rcpt_at = txn_next_rcpt(c, 0);
	if (txn_send_mail(c) < 0)
		return;
	if (c->pipelining && txn_send_group(c) < 0)
		return;
	tg_smtpc_enter(c, TG_SMTPC_STEP_MAIL);
}

static int
txn_check(const struct tg_smtpc_txn *t, struct tg_err *err)
{
	size_t i;

	if (t->sender == NULL || t->rcpt == NULL ||
	    (t->read == NULL && !t->probe))
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "transaction without sender, recipients or reader");
	if (t->nrcpt == 0 || t->nrcpt > TG_SPOOL_RCPT_MAX)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "%zu recipients", t->nrcpt);
	for (i = 0; i < t->nrcpt; i++)
		if (t->rcpt[i].addr == NULL)
			return tg_err_set(err, TG_ERR_BUG, NULL,
			    "recipient %zu has no address", i);
	return 0;
}

int
tg_smtpc_send(struct tg_smtpc *c, const struct tg_smtpc_txn *txn,
    tg_smtpc_done_cb cb, void *arg, struct tg_err *err)
{
	if (c == NULL || txn == NULL || cb == NULL)
		return tg_err_set(err, TG_ERR_BUG, NULL, "missing argument");
	if (c->txn != NULL || c->ready_due)
		return tg_err_set(err, TG_ERR_BUG, NULL, c->ready_due ?
		    "connection not ready yet" : "a transaction is running");
	if (txn_check(txn, err) < 0)
		return -1;
	if (!tg_smtpc_usable(c))
		return tg_err_set(err, TG_ERR_TEMP, "4.4.2",
		    "connection no longer usable");
	if ((c->rr = calloc(txn->nrcpt, sizeof(*c->rr))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, "4.3.0", "out of memory");
	c->txn = txn;
	c->done_cb = cb;
	c->done_arg = arg;
	c->txn_ended = 0;
	if (c->state == TG_SMTPC_STEP_RSET) {
		c->txn_waiting = 1;
		txn_reset(c);
		return 0;
	}
	evtimer_del(c->timer);		/* the idle timeout */
	tg_smtpc_txn_begin(c);
	return 0;
}

/* ---- replies ---- */

void
tg_smtpc_note_reply(struct tg_smtpc *c)
{
	if (c->txn == NULL || c->txn_ended)
		return;
	switch (c->state) {
	case TG_SMTPC_STEP_MAIL:
		tg_smtpc_outcome_reply(&c->tr.mail, &c->reply);
		break;
	case TG_SMTPC_STEP_RCPT:
		if (c->rcpt_at < c->txn->nrcpt)
			tg_smtpc_outcome_reply(&c->rr[c->rcpt_at].rcpt,
			    &c->reply);
		break;
	case TG_SMTPC_STEP_DATA:
		tg_smtpc_outcome_reply(&c->tr.data, &c->reply);
		break;
	case TG_SMTPC_STEP_DOT:
		if (c->dot_ignore)
			break;
		tg_smtpc_outcome_reply(&c->tr.data, &c->reply);
		c->final_seen = 1;
		break;
	default:
		break;
	}
}

void
tg_smtpc_st_mail(struct tg_smtpc *c)
{
	tg_smtpc_outcome_reply(&c->tr.mail, &c->reply);
	c->mail_failed = c->tr.mail.cls != TG_ERR_NONE;
	if (c->pipelining) {
		/* The RCPT and DATA replies follow (503s if MAIL failed). */
		tg_smtpc_enter(c, TG_SMTPC_STEP_RCPT);
		return;
	}
	if (c->mail_failed) {
		txn_finish(c, 1);
		return;
	}
	if (txn_send_rcpt(c, c->rcpt_at) == 0)
		tg_smtpc_enter(c, TG_SMTPC_STEP_RCPT);
}

void
tg_smtpc_st_rcpt(struct tg_smtpc *c)
{
	struct tg_smtpc_outcome *o = &c->rr[c->rcpt_at].rcpt;

	tg_smtpc_outcome_reply(o, &c->reply);
	if (o->cls == TG_ERR_NONE && !c->mail_failed)
		c->tr.accepted++;
	c->rcpt_at = txn_next_rcpt(c, c->rcpt_at + 1);
	if (c->rcpt_at < c->txn->nrcpt) {
		if (c->pipelining || txn_send_rcpt(c, c->rcpt_at) == 0)
			tg_smtpc_enter(c, TG_SMTPC_STEP_RCPT);
		return;
	}
	if (c->txn->probe) {
		/* Every RCPT has its answer: that was the question. */
		txn_finish(c, 1);
		return;
	}
	if (c->pipelining) {
		tg_smtpc_enter(c, TG_SMTPC_STEP_DATA);
		return;
	}
	if (c->tr.accepted == 0) {
		txn_finish(c, 1);
		return;
	}
	if (tg_smtpc_sendf(c, "DATA\r\n") == 0)
		tg_smtpc_enter(c, TG_SMTPC_STEP_DATA);
}

void
tg_smtpc_st_data(struct tg_smtpc *c)
{
	if (c->reply.code != 354) {
		tg_smtpc_outcome_reply(&c->tr.data, &c->reply);
		if (c->tr.data.cls == TG_ERR_NONE) {
			tg_smtpc_lost(c, TG_SMTPC_PROTOCOL_ERROR, "4.5.0",
			    "reply %d to DATA", c->reply.code);
			return;
		}
		txn_finish(c, 1);
		return;
	}
	if (c->mail_failed || c->tr.accepted == 0) {
		/* RFC 2920 §3.1: 354 after every RCPT failed: send an
		 * empty message, ignore its reply. */
		c->dot_ignore = 1;
		if (tg_smtpc_sendf(c, ".\r\n") == 0)
			tg_smtpc_enter(c, TG_SMTPC_STEP_DOT);
		return;
	}
	if ((c->chunk = malloc(TG_SMTPC_CHUNK)) == NULL) {
		tg_smtpc_lost(c, TG_SMTPC_INTERNAL, "4.3.0", "out of memory");
		return;
	}
	tg_smtpc_enter(c, TG_SMTPC_STEP_BODY);
	tg_smtpc_body_pump(c);
}

/* Encode n bytes of c->chunk straight into the output buffer. */
static int
txn_put(struct tg_smtpc *c, struct evbuffer *out, size_t n)
{
	struct evbuffer_iovec v;

	if (evbuffer_reserve_space(out, (ev_ssize_t)(2 * n + 2), &v, 1) < 1)
		return -1;
	v.iov_len = tg_smtpc_dot_feed(&c->dot, c->chunk, n, v.iov_base);
	return evbuffer_commit_space(out, &v, 1);
}

static void
txn_body_end(struct tg_smtpc *c)
{
	char end[5];
	size_t n = tg_smtpc_dot_end(&c->dot, end);

	c->body_eof = 1;
	c->dot_sent = 1;
	c->tr.normalised = c->dot.normalised;
	free(c->chunk);
	c->chunk = NULL;
	if (bufferevent_write(c->bev, end, n) != 0) {
		tg_smtpc_lost(c, TG_SMTPC_INTERNAL, "4.3.0",
		    "cannot queue the end of the data");
		return;
	}
	tg_smtpc_enter(c, TG_SMTPC_STEP_DOT);
}

/* Fill the output up to TG_SMTPC_OUT_HIGH; the write callback calls
 * again when it has drained to half of that. */
static void
txn_pump(struct tg_smtpc *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct tg_err err;
	ssize_t n;

	while (evbuffer_get_length(out) < TG_SMTPC_OUT_HIGH) {
		tg_err_clear(&err);
		n = c->txn->read(c->txn->read_arg, c->chunk, TG_SMTPC_CHUNK,
		    &err);
		if (n < 0 || (size_t)n > TG_SMTPC_CHUNK) {
			/* Never "." after a partial message: just close. */
			tg_smtpc_lost(c, TG_SMTPC_INTERNAL, "4.3.0",
			    "reading the message: %s", err.msg);
			return;
		}
		if (n == 0) {
			txn_body_end(c);
			return;
		}
		c->tr.bytes += (uint64_t)n;
		if (txn_put(c, out, (size_t)n) < 0) {
			tg_smtpc_lost(c, TG_SMTPC_INTERNAL, "4.3.0",
			    "out of memory");
			return;
		}
	}
	tg_smtpc_enter(c, TG_SMTPC_STEP_BODY);	/* progress: new timer */
}

/* A write callback that libevent runs from inside the loop above (a
 * TLS filter may) returns at once: the loop goes on by itself. */
void
tg_smtpc_body_pump(struct tg_smtpc *c)
{
	if (c->pumping)
		return;
	c->pumping = 1;
	txn_pump(c);
	c->pumping = 0;
}

void
tg_smtpc_st_dot(struct tg_smtpc *c)
{
	if (!c->dot_ignore) {
		c->final_seen = 1;
		tg_smtpc_outcome_reply(&c->tr.data, &c->reply);
		if (c->reply.code < 400 && c->reply.code >= 300) {
			txn_outcome(&c->tr.data, TG_ERR_TEMP, "4.5.0",
			    "reply %d to the end of the data", c->reply.code);
			tg_smtpc_lost(c, TG_SMTPC_PROTOCOL_ERROR, "4.5.0",
			    "reply %d to the end of the data", c->reply.code);
			return;
		}
		if (c->tr.data.cls == TG_ERR_NONE)
			c->res.transactions++;
	}
	txn_finish(c, 1);
}

void
tg_smtpc_st_rset(struct tg_smtpc *c)
{
	if (c->reply.code == 250) {
		tg_smtpc_to_ready(c);
		return;
	}
	tg_smtpc_lost(c, TG_SMTPC_PROTOCOL_ERROR, "4.5.0",
	    "RSET refused with %d", c->reply.code);
}
