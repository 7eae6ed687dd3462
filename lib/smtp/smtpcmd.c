/*
 * smtp/smtpcmd — see smtpcmd.h.
 */
#include "smtp/smtpcmd.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum tg_smtpcmd_verb verb;
} verbs[] = {
	{ "HELO", TG_SMTPCMD_HELO }, { "EHLO", TG_SMTPCMD_EHLO },
	{ "MAIL", TG_SMTPCMD_MAIL }, { "RCPT", TG_SMTPCMD_RCPT },
	{ "DATA", TG_SMTPCMD_DATA }, { "RSET", TG_SMTPCMD_RSET },
	{ "NOOP", TG_SMTPCMD_NOOP }, { "QUIT", TG_SMTPCMD_QUIT },
	{ "VRFY", TG_SMTPCMD_VRFY }, { "EXPN", TG_SMTPCMD_EXPN },
	{ "HELP", TG_SMTPCMD_HELP }, { "STARTTLS", TG_SMTPCMD_STARTTLS },
	{ "AUTH", TG_SMTPCMD_AUTH }, { "BDAT", TG_SMTPCMD_BDAT },
	/* RELIABILITY I-11: cross-protocol requests (Postfix's list). */
	{ "GET", TG_SMTPCMD_HTTP }, { "POST", TG_SMTPCMD_HTTP },
	{ "CONNECT", TG_SMTPCMD_HTTP }, { "HEAD", TG_SMTPCMD_HTTP },
	{ "PUT", TG_SMTPCMD_HTTP },
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

/* A cursor over the argument of MAIL or RCPT. */
struct cur {
	const char *s;
	size_t len, i;
	int utf8;		/* non-ASCII seen */
};

static int
cur_peek(const struct cur *c)
{
	return c->i < c->len ? (unsigned char)c->s[c->i] : -1;
}

/* Fill err for a reply and return its code. */
static int
reply_err(struct tg_err *err, int code, const char *status, const char *text)
{
	tg_err_set(err, TG_ERR_PERM, status, "%s", text);
	return code;
}

/* ---- verbs ---------------------------------------------------------- */

int
tg_smtpcmd_parse(const char *line, size_t len, struct tg_smtpcmd *cmd,
    struct tg_err *err)
{
	size_t i, vlen;

	memset(cmd, 0, sizeof(*cmd));
	cmd->arg = line + len;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 || c == 0x7f) {
			tg_err_set(err, TG_ERR_PERM, "5.5.2", "%s",
			    c == '\n' || c == '\r' ?
			    "Bare CR or LF in command" :
			    "Control character in command");
			err->offset = (long)i;
			return 500;
		}
	}
	for (vlen = 0; vlen < len && line[vlen] != ' '; vlen++)
		;
	if (vlen < len) {
		cmd->arg = line + vlen + 1;
		cmd->arglen = len - vlen - 1;
	}
	if (vlen > 1 && line[vlen - 1] == ':') {
		cmd->verb = TG_SMTPCMD_HTTP;	/* "Host: ...", "User-Agent:" */
		return 0;
	}
	for (i = 0; i < NVERBS; i++)
		if (strlen(verbs[i].name) == vlen &&
		    strncasecmp(verbs[i].name, line, vlen) == 0) {
			cmd->verb = verbs[i].verb;
			break;
		}
	return 0;
}

const char *
tg_smtpcmd_verb_name(enum tg_smtpcmd_verb verb)
{
	size_t i;

	if (verb == TG_SMTPCMD_HTTP)
		return "HTTP";
	for (i = 0; i < NVERBS; i++)
		if (verbs[i].verb == verb)
			return verbs[i].name;
	return "?";
}

int
tg_smtpcmd_helo(const char *arg, size_t len, char *out, struct tg_err *err)
{
	size_t i;

	while (len > 0 && arg[len - 1] == ' ')
		len--;
	if (len == 0)
		return reply_err(err, 501, "5.5.4", "Syntax: EHLO hostname");
	if (len > TG_SMTPD_HELO_MAX)
		return reply_err(err, 501, "5.5.4", "Host name too long");
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)arg[i];

		if (ch < 0x21 || ch > 0x7e)
			return reply_err(err, 501, "5.5.4",
			    "Invalid host name");
	}
	memcpy(out, arg, len);
	out[len] = '\0';
	return 0;
}

/* ---- UTF-8 ---------------------------------------------------------- */

/* Length of the UTF-8 sequence at s (RFC 3629 §4), 0 if malformed. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	size_t n, k;
	unsigned lo = 0x80, hi = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;		/* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f;		/* surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90;		/* overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f;		/* above U+10FFFF */
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (k = 2; k < n; k++)
		if (s[k] < 0x80 || s[k] > 0xbf)
			return 0;
	return n;
}

int
tg_smtpcmd_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if ((n = utf8_seq(u + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

/* ---- paths (RFC 5321 §4.1.2) ---------------------------------------- */

static int
is_atext(int c)
{
	/* RFC 5322 §3.2.3 atext; RFC 6531 §3.3 adds UTF8-non-ascii. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 ||
	    (c > 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int
is_letdig(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80;
}

/* Dot-string = Atom *("." Atom). */
static int
parse_dot_string(struct cur *c)
{
	size_t start;

	for (;;) {
		start = c->i;
		while (cur_peek(c) >= 0 && is_atext(cur_peek(c))) {
			if (cur_peek(c) >= 0x80)
				c->utf8 = 1;
			c->i++;
		}
		if (c->i == start)
			return -1;
		if (cur_peek(c) != '.')
			return 0;
		c->i++;
	}
}

/* Quoted-string: qtextSMTP / quoted-pairSMTP between DQUOTEs. */
static int
parse_quoted(struct cur *c)
{
	int ch;

	c->i++;				/* the opening DQUOTE */
	while ((ch = cur_peek(c)) >= 0) {
		c->i++;
		if (ch == '"')
			return 0;
		if (ch == '\\') {
			ch = cur_peek(c);
			if (ch < 32 || ch > 126)
				return -1;
			c->i++;
		} else if (ch >= 0x80)
			c->utf8 = 1;
		else if (ch < 32 || ch > 126)
			return -1;
	}
	return -1;
}

/* Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str]. */
static int
parse_domain(struct cur *c)
{
	size_t start = c->i, label;

	for (;;) {
		label = c->i;
		while (cur_peek(c) >= 0 && (is_letdig(cur_peek(c)) ||
		    cur_peek(c) == '-')) {
			if (cur_peek(c) >= 0x80)
				c->utf8 = 1;
			c->i++;
		}
		if (c->i == label || c->s[label] == '-' ||
		    c->s[c->i - 1] == '-' || c->i - label > TG_LABEL_MAX)
			return -1;
		if (cur_peek(c) != '.')
			break;
		c->i++;		/* no trailing dot: a label must follow */
	}
	return c->i - start > TG_SMTPD_DOMAIN_MAX ? -1 : 0;
}

/* address-literal: "[" IPv4 "]" or "[IPv6:" IPv6 "]" (RFC 5321 §4.1.3). */
static int
parse_literal(struct cur *c)
{
	unsigned char addr[16];
	char text[64];
	size_t start = ++c->i, n;
	int v6 = 0;

	while (cur_peek(c) >= 0 && cur_peek(c) != ']')
		c->i++;
	n = c->i - start;
	if (cur_peek(c) != ']' || n == 0 || n >= sizeof(text))
		return -1;
	memcpy(text, c->s + start, n);
	text[n] = '\0';
	c->i++;
	if (n > 5 && strncasecmp(text, "IPv6:", 5) == 0)
		v6 = 1;
	return inet_pton(v6 ? AF_INET6 : AF_INET, text + (v6 ? 5 : 0),
	    addr) == 1 ? 0 : -1;
}

/* A-d-l ":" — a source route, checked and dropped. */
static int
parse_route(struct cur *c)
{
	for (;;) {
		if (cur_peek(c) != '@')
			return -1;
		c->i++;
		if (parse_domain(c) != 0)
			return -1;
		if (cur_peek(c) == ':') {
			c->i++;
			return 0;
		}
		if (cur_peek(c) != ',')
			return -1;
		c->i++;
	}
}

/* Local-part "@" (Domain / address-literal), from c->i up to ">". */
static int
parse_mailbox(struct cur *c, struct tg_smtpcmd_path *p, size_t *at)
{
	size_t lstart = c->i;

	if (cur_peek(c) == '"') {
		p->flags |= TG_SMTPCMD_P_QUOTED;
		if (parse_quoted(c) != 0)
			return -1;
	} else if (parse_dot_string(c) != 0)
		return -1;
	if (cur_peek(c) == '>' && c->i - lstart == 10 &&
	    strncasecmp(c->s + lstart, "postmaster", 10) == 0) {
		/* RFC 5321 §4.1.1.3: "<Postmaster>" without a domain. */
		p->flags |= TG_SMTPCMD_P_POSTMASTER;
		*at = 0;
		return 0;
	}
	if (cur_peek(c) != '@')
		return -1;
	*at = c->i - lstart;
	c->i++;
	if (cur_peek(c) == '[') {
		p->flags |= TG_SMTPCMD_P_LITERAL;
		return parse_literal(c);
	}
	return parse_domain(c);
}

/*
 * "<" ... ">" at c->i. On success c->i is after ">" and p is filled;
 * -1 for a malformed address, -2 for a path that is too long.
 */
static int
parse_path(struct cur *c, struct tg_smtpcmd_path *p)
{
	size_t start = c->i, mstart, at = 0;

	memset(p, 0, sizeof(*p));
	if (cur_peek(c) != '<')
		return -1;
	c->i++;
	if (cur_peek(c) == '>') {
		c->i++;
		p->flags |= TG_SMTPCMD_P_NULL;
		return 0;
	}
	if (cur_peek(c) == '@') {
		p->flags |= TG_SMTPCMD_P_ROUTE;
		if (parse_route(c) != 0)
			return -1;
	}
	mstart = c->i;
	if (parse_mailbox(c, p, &at) != 0 || cur_peek(c) != '>')
		return -1;
	c->i++;
	if (c->i - start > TG_SMTPD_PATH_MAX)
		return -2;
	memcpy(p->addr, c->s + mstart, c->i - 1 - mstart);
	p->addr[c->i - 1 - mstart] = '\0';
	p->at = at;
	if (c->utf8) {
		p->flags |= TG_SMTPCMD_P_UTF8;
		if (!tg_smtpcmd_utf8_valid(p->addr, strlen(p->addr)))
			return -1;
	}
	return 0;
}

/* ---- parameters (RFC 5321 §4.1.2 Mail-parameters) ------------------- */

struct param {
	const char *kw, *val;
	size_t kwlen, vallen;
	int has_val;
};

/* Next "keyword[=value]" after one or more SP; 1 found, 0 end, -1 bad. */
static int
param_next(struct cur *c, struct param *pm)
{
	int ch;

	if (c->i == c->len)
		return 0;
	if (cur_peek(c) != ' ')
		return -1;
	while (cur_peek(c) == ' ')
		c->i++;
	if (c->i == c->len)
		return 0;		/* trailing spaces */
	memset(pm, 0, sizeof(*pm));
	pm->kw = c->s + c->i;
	/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
	while ((ch = cur_peek(c)) >= 0 && ch < 0x80 && (is_letdig(ch) ||
	    (ch == '-' && c->s + c->i > pm->kw)))
		c->i++;
	pm->kwlen = (size_t)(c->s + c->i - pm->kw);
	if (pm->kwlen == 0)
		return -1;
	if (cur_peek(c) == '=') {
		c->i++;
		pm->has_val = 1;
		pm->val = c->s + c->i;
		/* esmtp-value = 1*(%d33-60 / %d62-126), RFC 6531 adds UTF-8 */
		while ((ch = cur_peek(c)) >= 33 && ch != '=')
			c->i++;
		pm->vallen = (size_t)(c->s + c->i - pm->val);
		if (pm->vallen == 0)
			return -1;
	}
	return cur_peek(c) == -1 || cur_peek(c) == ' ' ? 1 : -1;
}

static int
pm_is(const struct param *pm, const char *kw)
{
	return strlen(kw) == pm->kwlen &&
	    strncasecmp(pm->kw, kw, pm->kwlen) == 0;
}

static int
val_is(const struct param *pm, const char *v)
{
	return strlen(v) == pm->vallen &&
	    strncasecmp(pm->val, v, pm->vallen) == 0;
}

static int
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') ||
	    (c >= 'a' && c <= 'f');
}

/*
 * RFC 3461 §4: xtext = *( xchar / hexchar ), xchar = "!".."~" except "+"
 * and "=", hexchar = "+" 2HEXDIG. utf8: RFC 6533 §3 also allows UTF-8
 * (unitext) in ORCPT values of type utf-8.
 */
static int
xtext_valid(const char *s, size_t len, int utf8)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '+') {
			if (i + 2 >= len || !is_hex(s[i + 1]) ||
			    !is_hex(s[i + 2]))
				return 0;
			i += 2;
		} else if (ch >= 0x80 && !utf8)
			return 0;
		else if (ch < 33 || ch == '=' || ch == 0x7f)
			return 0;
	}
	return !utf8 || tg_smtpcmd_utf8_valid(s, len);
}

static int
bad_param(struct tg_err *err, int code, const char *what)
{
	return reply_err(err, code, "5.5.4", what);
}

/* RFC 1870 §3: SIZE=1*20DIGIT; values past 2^64 saturate. */
static int
mail_size(const struct param *pm, struct tg_smtpcmd_mail *m,
    struct tg_err *err)
{
	size_t i;
	uint64_t v = 0;

	if (!pm->has_val || pm->vallen > 20)
		return bad_param(err, 501, "Bad SIZE parameter");
	for (i = 0; i < pm->vallen; i++) {
		unsigned d = (unsigned)(pm->val[i] - '0');

		if (d > 9)
			return bad_param(err, 501, "Bad SIZE parameter");
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
	}
	m->size_given = 1;
	m->size = v;
	return 0;
}

static int
mail_param(const struct param *pm, struct tg_smtpcmd_mail *m,
    unsigned *seen, struct tg_err *err)
{
	static const char *const kws[] = { "SIZE", "BODY", "SMTPUTF8", "RET",
	    "ENVID", "REQUIRETLS", NULL };
	size_t k;

	for (k = 0; kws[k] != NULL && !pm_is(pm, kws[k]); k++)
		;
	if (kws[k] == NULL)
		return bad_param(err, 555, "Unsupported MAIL parameter");
	if (*seen & (1u << k))
		return bad_param(err, 501, "Duplicate MAIL parameter");
	*seen |= 1u << k;
	switch (k) {
	case 0:
		return mail_size(pm, m, err);
	case 1:	/* RFC 6152 §2; BINARYMIME needs CHUNKING (RFC 3030) */
		if (pm->has_val && val_is(pm, "7BIT"))
			m->body = TG_SMTPCMD_BODY_7BIT;
		else if (pm->has_val && val_is(pm, "8BITMIME"))
			m->body = TG_SMTPCMD_BODY_8BITMIME;
		else
			return bad_param(err, 501, "Bad BODY parameter");
		return 0;
	case 2:	/* RFC 6531 §3.4: no value */
		if (pm->has_val)
			return bad_param(err, 501, "Bad SMTPUTF8 parameter");
		m->smtputf8 = 1;
		return 0;
	case 3:
		if (pm->has_val && val_is(pm, "FULL"))
			m->ret = TG_SMTPCMD_RET_FULL;
		else if (pm->has_val && val_is(pm, "HDRS"))
			m->ret = TG_SMTPCMD_RET_HDRS;
		else
			return bad_param(err, 501, "Bad RET parameter");
		return 0;
	case 5:	/* RFC 8689 §2: no value */
		if (pm->has_val)
			return bad_param(err, 501, "Bad REQUIRETLS parameter");
		m->requiretls = 1;
		return 0;
	default:	/* ENVID, RFC 3461 §4.4: at most 100 characters */
		if (!pm->has_val || pm->vallen > TG_SMTPD_ENVID_MAX ||
		    !xtext_valid(pm->val, pm->vallen, 0))
			return bad_param(err, 501, "Bad ENVID parameter");
		memcpy(m->envid, pm->val, pm->vallen);
		m->envid[pm->vallen] = '\0';
		return 0;
	}
}

/* RFC 3461 §4.1: NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY. */
static int
rcpt_notify(const struct param *pm, struct tg_smtpcmd_rcpt *r,
    struct tg_err *err)
{
	static const char *const words[] = { "NEVER", "SUCCESS", "FAILURE",
	    "DELAY" };
	size_t i = 0, j, k;

	if (!pm->has_val)
		return bad_param(err, 501, "Bad NOTIFY parameter");
	while (i <= pm->vallen) {
		for (j = i; j < pm->vallen && pm->val[j] != ','; j++)
			;
		for (k = 0; k < 4; k++)
			if (strlen(words[k]) == j - i &&
			    strncasecmp(pm->val + i, words[k], j - i) == 0)
				break;
		if (k == 4)
			return bad_param(err, 501, "Bad NOTIFY parameter");
		r->notify |= 1u << k;
		i = j + 1;
	}
	if ((r->notify & TG_SMTPCMD_NOTIFY_NEVER) &&
	    r->notify != TG_SMTPCMD_NOTIFY_NEVER)
		return bad_param(err, 501, "NOTIFY=NEVER with other values");
	return 0;
}

/* RFC 3461 §4.2: ORCPT=addr-type ";" xtext, at most 500 characters. */
static int
rcpt_orcpt(const struct param *pm, struct tg_smtpcmd_rcpt *r, int smtputf8,
    struct tg_err *err)
{
	size_t semi;
	int utf8;

	if (!pm->has_val || pm->vallen > TG_SMTPD_ORCPT_MAX)
		return bad_param(err, 501, "Bad ORCPT parameter");
	for (semi = 0; semi < pm->vallen && pm->val[semi] != ';'; semi++)
		if (!is_atext((unsigned char)pm->val[semi]) ||
		    (unsigned char)pm->val[semi] >= 0x80)
			return bad_param(err, 501, "Bad ORCPT parameter");
	utf8 = smtputf8 && semi == 5 && strncasecmp(pm->val, "utf-8", 5) == 0;
	if (semi == 0 || semi == pm->vallen ||
	    !xtext_valid(pm->val + semi + 1, pm->vallen - semi - 1, utf8))
		return bad_param(err, 501, "Bad ORCPT parameter");
	memcpy(r->orcpt, pm->val, pm->vallen);
	r->orcpt[pm->vallen] = '\0';
	return 0;
}

static int
rcpt_param(const struct param *pm, struct tg_smtpcmd_rcpt *r, int smtputf8,
    unsigned *seen, struct tg_err *err)
{
	unsigned bit;

	if (pm_is(pm, "NOTIFY"))
		bit = 1;
	else if (pm_is(pm, "ORCPT"))
		bit = 2;
	else
		return bad_param(err, 555, "Unsupported RCPT parameter");
	if (*seen & bit)
		return bad_param(err, 501, "Duplicate RCPT parameter");
	*seen |= bit;
	return bit == 1 ? rcpt_notify(pm, r, err) :
	    rcpt_orcpt(pm, r, smtputf8, err);
}

/* ---- MAIL and RCPT -------------------------------------------------- */

/*
 * "FROM:" / "TO:" (any case), optional spaces, then the path. Returns 0,
 * or the reply code with err filled. addr_status: "5.1.7" or "5.1.3".
 */
static int
lead_and_path(struct cur *c, const char *lead, const char *syntax,
    const char *addr_status, struct tg_smtpcmd_path *p, struct tg_err *err)
{
	size_t n = strlen(lead);
	int rc;

	if (c->len < n || strncasecmp(c->s, lead, n) != 0)
		return reply_err(err, 501, "5.5.2", syntax);
	c->i = n;
	while (cur_peek(c) == ' ')
		c->i++;
	if (cur_peek(c) != '<')
		return reply_err(err, 501, "5.5.2", syntax);
	rc = parse_path(c, p);
	if (rc == -2)
		return reply_err(err, 553, addr_status, "Address too long");
	if (rc != 0)
		return reply_err(err, 553, addr_status, "Malformed address");
	return 0;
}

static int
utf8_allowed(const struct tg_smtpcmd_path *p, int smtputf8,
    struct tg_err *err)
{
	if ((p->flags & TG_SMTPCMD_P_UTF8) && !smtputf8)
		return reply_err(err, 553, "5.6.7",
		    "Non-ASCII address needs SMTPUTF8");
	return 0;
}

int
tg_smtpcmd_mail(const char *arg, size_t len, int esmtp,
    struct tg_smtpcmd_mail *out, struct tg_err *err)
{
	struct cur c = { arg, len, 0, 0 };
	struct param pm;
	unsigned seen = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = lead_and_path(&c, "FROM:", "Syntax: MAIL FROM:<address>",
	    "5.1.7", &out->path, err)) != 0)
		return rc;
	while ((rc = param_next(&c, &pm)) == 1) {
		if (!esmtp)
			return bad_param(err, 555, "Parameters need EHLO");
		if ((rc = mail_param(&pm, out, &seen, err)) != 0)
			return rc;
	}
	if (rc < 0)
		return bad_param(err, 501, "Syntax error in parameters");
	return utf8_allowed(&out->path, out->smtputf8, err);
}

int
tg_smtpcmd_rcpt(const char *arg, size_t len, int esmtp, int smtputf8,
    struct tg_smtpcmd_rcpt *out, struct tg_err *err)
{
	struct cur c = { arg, len, 0, 0 };
	struct param pm;
	unsigned seen = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = lead_and_path(&c, "TO:", "Syntax: RCPT TO:<address>",
	    "5.1.3", &out->path, err)) != 0)
		return rc;
	if (out->path.flags & TG_SMTPCMD_P_NULL)
		return reply_err(err, 553, "5.1.3", "Null recipient");
	while ((rc = param_next(&c, &pm)) == 1) {
		if (!esmtp)
			return bad_param(err, 555, "Parameters need EHLO");
		if ((rc = rcpt_param(&pm, out, smtputf8, &seen, err)) != 0)
			return rc;
	}
	if (rc < 0)
		return bad_param(err, 501, "Syntax error in parameters");
	return utf8_allowed(&out->path, smtputf8, err);
}
