/*
 * policy/stspolicy — see stspolicy.h.
 */
#include "policy/stspolicy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SP_NAME_MAX	32	/* RFC 8461 §3.2 sts-policy-ext-name */
#define SP_SHOW_MAX	40	/* value bytes quoted in an error */
#define SP_MAX_AGE_DIGITS 10	/* RFC 8461 §3.2: 1*10(DIGIT) */

struct sp_line {
	const char *p;		/* borrowed from the body, line end removed */
	size_t n;
	size_t off;		/* offset of the line in the body */
	unsigned int no;	/* 1-based line number */
};

struct sp_state {
	struct tg_sts_policy *out;
	int have_version, have_mode, have_max_age;
	struct tg_err *err;
};

static int
sp_is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static unsigned char
sp_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* ASCII-only, locale-independent case-insensitive compare of n bytes. */
static int
sp_casecmp(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (sp_lower((unsigned char)a[i]) !=
		    sp_lower((unsigned char)b[i]))
			return 1;
	return 0;
}

/* Mark err (already set) as an invalid policy; returns -1. */
static int
sp_invalid(struct tg_err *err)
{
	if (err != NULL)
		err->result_type = TG_STS_RESULT_POLICY_INVALID;
	return -1;
}

static int
sp_fail(struct sp_state *st, const struct sp_line *l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
sp_fail(struct sp_state *st, const struct sp_line *l, const char *fmt, ...)
{
	char msg[TG_ERR_MSG_MAX - 32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tg_err_set_at(st->err, TG_ERR_PERM, (long)l->off, "line %u: %s",
	    l->no, msg);
	return sp_invalid(st->err);
}

/* A label of RFC 5321 §4.1.2 Domain: Let-dig [Ldh-str], at most 63. */
static int
sp_label_check(const char *pat, const char *l, size_t n, struct tg_err *err)
{
	size_t i;

	if (n == 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "'%s': empty label", pat);
	if (n > TG_LABEL_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "'%s': label longer than %d octets", pat, TG_LABEL_MAX);
	for (i = 0; i < n; i++)
		if (!sp_is_alnum((unsigned char)l[i]) && l[i] != '-')
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "'%s': label '%.*s' has a character other than a "
			    "letter, digit or hyphen", pat, (int)n, l);
	if (l[0] == '-' || l[n - 1] == '-')
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "'%s': label '%.*s' starts or ends with a hyphen", pat,
		    (int)n, l);
	return 0;
}

int
tg_sts_mx_pattern_check(const char *pattern, char *out, size_t outlen,
    struct tg_err *err)
{
	size_t n = strlen(pattern), i, start;
	const char *d = pattern;

	if (n > 1 && pattern[n - 1] == '.')	/* lenient: see header */
		n--;
	if (n == 0 || (n == 1 && pattern[0] == '.'))
		return tg_err_set(err, TG_ERR_PERM, NULL, "empty mx pattern");
	if (n > TG_DNAME_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "mx pattern longer than %d octets", TG_DNAME_MAX);
	if (outlen <= n)
		return tg_err_set(err, TG_ERR_BUG, NULL, "output too small");
	/* RFC 8461 §3.2: sts-policy-mx-value = ["*."] Domain */
	if (n >= 2 && pattern[0] == '*' && pattern[1] == '.')
		d += 2;
	if (memchr(d, '*', n - (size_t)(d - pattern)) != NULL ||
	    (d == pattern && pattern[0] == '*'))
		return tg_err_set(err, TG_ERR_PERM, NULL, "'%s': '*' is "
		    "allowed only as the whole leftmost label", pattern);
	if (d == pattern + n)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "'%s': no domain after '*.'", pattern);
	for (start = (size_t)(d - pattern), i = start; i <= n; i++) {
		if (i < n && pattern[i] != '.')
			continue;
		if (sp_label_check(pattern, pattern + start, i - start,
		    err) != 0)
			return -1;
		start = i + 1;
	}
	for (i = 0; i < n; i++)
		out[i] = (char)sp_lower((unsigned char)pattern[i]);
	out[n] = '\0';
	return 0;
}

/* Length without one trailing dot. */
static size_t
sp_name_len(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && s[n - 1] == '.' ? n - 1 : n;
}

/* A host name we are willing to compare: no '*', no empty label. */
static int
sp_host_ok(const char *h, size_t n)
{
	size_t i;

	if (n == 0 || h[0] == '.' || h[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (h[i] == '*' || (h[i] == '.' && h[i + 1] == '.'))
			return 0;
	return 1;
}

int
tg_sts_mx_match(const char *pattern, const char *host)
{
	size_t pn = sp_name_len(pattern), hn = sp_name_len(host), sn;

	if (pn == 0 || !sp_host_ok(host, hn))
		return 0;
	if (pn >= 2 && pattern[0] == '*' && pattern[1] == '.') {
		/* RFC 8461 §4.1: the wildcard stands for exactly one
		 * label, the leftmost one. */
		sn = pn - 1;			/* ".example.com" */
		if (hn <= sn || sp_casecmp(host + hn - sn, pattern + 1,
		    sn) != 0)
			return 0;
		return memchr(host, '.', hn - sn) == NULL;
	}
	return pn == hn && sp_casecmp(pattern, host, hn) == 0;
}

int
tg_sts_policy_match(const struct tg_sts_policy *p, const char *host,
    size_t *index)
{
	size_t i;

	for (i = 0; i < p->count && i < TG_STS_MX_MAX; i++)
		if (tg_sts_mx_match(p->mx[i], host)) {
			if (index != NULL)
				*index = i;
			return 1;
		}
	return 0;
}

const char *
tg_sts_mode_name(enum tg_sts_mode mode)
{
	switch (mode) {
	case TG_STS_MODE_NONE:
		return "none";
	case TG_STS_MODE_TESTING:
		return "testing";
	case TG_STS_MODE_ENFORCE:
		return "enforce";
	}
	return "?";
}

static int
sp_value_is(const char *v, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(v, s, n) == 0;
}

/* RFC 8461 §3.2: sts-policy-version-value = %s"STSv1". */
static int
sp_version(struct sp_state *st, const struct sp_line *l, const char *v,
    size_t n)
{
	if (!sp_value_is(v, n, "STSv1"))
		return sp_fail(st, l, "version: '%.*s' is not STSv1",
		    (int)(n > SP_SHOW_MAX ? SP_SHOW_MAX : n), v);
	st->have_version = 1;
	return 0;
}

/* RFC 8461 §3.2: %s"testing" / %s"enforce" / %s"none", case-sensitive. */
static int
sp_mode(struct sp_state *st, const struct sp_line *l, const char *v,
    size_t n)
{
	static const enum tg_sts_mode modes[] = { TG_STS_MODE_ENFORCE,
	    TG_STS_MODE_TESTING, TG_STS_MODE_NONE };
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (sp_value_is(v, n, tg_sts_mode_name(modes[i]))) {
			st->out->mode = modes[i];
			st->have_mode = 1;
			return 0;
		}
	return sp_fail(st, l, "mode: '%.*s' is not enforce, testing or none "
	    "(lower case)", (int)(n > SP_SHOW_MAX ? SP_SHOW_MAX : n), v);
}

/* RFC 8461 §3.2: 1*10(DIGIT), at most 31557600. */
static int
sp_max_age(struct sp_state *st, const struct sp_line *l, const char *v,
    size_t n)
{
	int show = (int)(n > SP_SHOW_MAX ? SP_SHOW_MAX : n);
	long val = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return sp_fail(st, l, "max_age: '%.*s' is not a "
			    "number of seconds (digits only)", show, v);
	if (n == 0)
		return sp_fail(st, l, "max_age: empty value");
	for (i = 0; i < n && i < SP_MAX_AGE_DIGITS; i++)
		val = val * 10 + (v[i] - '0');
	if (n > SP_MAX_AGE_DIGITS || val > TG_STS_MAX_AGE_MAX)
		return sp_fail(st, l, "max_age: %.*s is larger than %ld",
		    show, v, TG_STS_MAX_AGE_MAX);
	st->out->max_age = val;
	st->have_max_age = 1;
	return 0;
}

static int
sp_mx(struct sp_state *st, const struct sp_line *l, const char *v,
    size_t n)
{
	char raw[TG_DNAME_MAX + 2], norm[TG_DNAME_MAX + 1];
	struct tg_err perr;
	size_t i;

	if (n > TG_DNAME_MAX + 1)
		return sp_fail(st, l, "mx: pattern longer than %d octets",
		    TG_DNAME_MAX);
	memcpy(raw, v, n);
	raw[n] = '\0';
	if (tg_sts_mx_pattern_check(raw, norm, sizeof(norm), &perr) != 0)
		return sp_fail(st, l, "mx: %s", perr.msg);
	for (i = 0; i < st->out->count; i++)
		if (strcmp(st->out->mx[i], norm) == 0)
			return 0;
	if (st->out->count == TG_STS_MX_MAX)
		return sp_fail(st, l, "more than %d mx patterns",
		    TG_STS_MX_MAX);
	memcpy(st->out->mx[st->out->count++], norm, strlen(norm) + 1);
	return 0;
}

/*
 * One field. RFC 8461 §3.2: of a repeated field other than mx only the
 * first counts; unknown fields are ignored.
 */
static int
sp_field(struct sp_state *st, const struct sp_line *l, const char *name,
    size_t nn, const char *v, size_t vn)
{
	if (sp_value_is(name, nn, "mx"))
		return sp_mx(st, l, v, vn);
	if (sp_value_is(name, nn, "version"))
		return st->have_version ? 0 : sp_version(st, l, v, vn);
	if (sp_value_is(name, nn, "mode"))
		return st->have_mode ? 0 : sp_mode(st, l, v, vn);
	if (sp_value_is(name, nn, "max_age"))
		return st->have_max_age ? 0 : sp_max_age(st, l, v, vn);
	return 0;
}

/* RFC 8461 §3.2: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") */
static int
sp_name_char(char c, int first)
{
	return sp_is_alnum((unsigned char)c) ||
	    (!first && (c == '_' || c == '-' || c == '.'));
}

/* Characters, trailing WSP, then `name ":" *WSP value`. */
static int
sp_line(struct sp_state *st, struct sp_line *l)
{
	size_t i, nn;

	for (i = 0; i < l->n; i++) {
		unsigned char c = (unsigned char)l->p[i];
		if (c == '\0')
			return sp_fail(st, l, "NUL byte");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return sp_fail(st, l, "control character 0x%02x", c);
	}
	while (l->n > 0 && (l->p[l->n - 1] == ' ' || l->p[l->n - 1] == '\t'))
		l->n--;
	if (l->n == 0)
		return 0;		/* lenient: see header */
	for (nn = 0; nn < l->n && sp_name_char(l->p[nn], nn == 0); nn++)
		;
	if (nn == 0 || nn == l->n || l->p[nn] != ':')
		return sp_fail(st, l, "expected 'name: value'");
	if (nn > SP_NAME_MAX)
		return sp_fail(st, l, "field name longer than %d characters",
		    SP_NAME_MAX);
	for (i = nn + 1; i < l->n && (l->p[i] == ' ' || l->p[i] == '\t');
	    i++)
		;
	return sp_field(st, l, l->p, nn, l->p + i, l->n - i);
}

/* After the last line: the required fields (RFC 8461 §3.2). */
static int
sp_complete(struct sp_state *st, size_t len)
{
	const char *missing = !st->have_version ? "version" :
	    !st->have_mode ? "mode" : !st->have_max_age ? "max_age" : NULL;

	if (missing != NULL) {
		tg_err_set_at(st->err, TG_ERR_PERM, (long)len,
		    "no %s field", missing);
		return sp_invalid(st->err);
	}
	if (st->out->count == 0 && st->out->mode != TG_STS_MODE_NONE) {
		tg_err_set_at(st->err, TG_ERR_PERM, (long)len, "mode %s "
		    "requires at least one mx field",
		    tg_sts_mode_name(st->out->mode));
		return sp_invalid(st->err);
	}
	return 0;
}

int
tg_sts_policy_parse(const char *body, size_t len, struct tg_sts_policy *out,
    struct tg_err *err)
{
	struct sp_state st = { out, 0, 0, 0, err };
	struct sp_line l = { body, 0, 0, 0 };
	const char *nl;
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	if (len > TG_STS_BODY_MAX) {
		tg_err_set_at(err, TG_ERR_PERM, 0, "policy larger than %d "
		    "bytes", TG_STS_BODY_MAX);
		return sp_invalid(err);
	}
	if (len == 0) {
		tg_err_set_at(err, TG_ERR_PERM, 0, "empty policy");
		return sp_invalid(err);
	}
	while (pos < len) {
		/* RFC 8461 §3.2: sts-policy-term = LF / CRLF */
		nl = memchr(body + pos, '\n', len - pos);
		l.p = body + pos;
		l.off = pos;
		l.no++;
		l.n = (nl != NULL ? (size_t)(nl - body) : len) - pos;
		pos += l.n + (nl != NULL);
		if (nl != NULL && l.n > 0 && l.p[l.n - 1] == '\r')
			l.n--;
		if (sp_line(&st, &l) != 0)
			return -1;
	}
	return sp_complete(&st, len);
}

static int
sp_format_check(const struct tg_sts_policy *p, struct tg_err *err)
{
	char norm[TG_DNAME_MAX + 1];
	size_t i;

	if (p->mode != TG_STS_MODE_NONE && p->mode != TG_STS_MODE_TESTING &&
	    p->mode != TG_STS_MODE_ENFORCE)
		return tg_err_set(err, TG_ERR_BUG, NULL, "bad mode %d",
		    (int)p->mode);
	if (p->max_age < 0 || p->max_age > TG_STS_MAX_AGE_MAX)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "max_age %ld out of range", p->max_age);
	if (p->count > TG_STS_MX_MAX ||
	    (p->count == 0 && p->mode != TG_STS_MODE_NONE))
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "%zu mx patterns with mode %s", p->count,
		    tg_sts_mode_name(p->mode));
	for (i = 0; i < p->count; i++)
		if (memchr(p->mx[i], '\0', sizeof(p->mx[i])) == NULL ||
		    tg_sts_mx_pattern_check(p->mx[i], norm, sizeof(norm),
		    err) != 0) {
			if (err != NULL)
				err->cls = TG_ERR_BUG;
			return -1;
		}
	return 0;
}

int
tg_sts_policy_format(const struct tg_sts_policy *p, struct tg_buf *out,
    struct tg_err *err)
{
	struct tg_buf b;
	size_t i;
	int rc = 0;

	if (sp_format_check(p, err) != 0)
		return -1;
	tg_buf_init(&b, TG_STS_BODY_MAX);
	/* RFC 8461 §3.2: CRLF-separated, in the order of its example. */
	rc |= tg_buf_printf(&b, "version: STSv1\r\nmode: %s\r\n",
	    tg_sts_mode_name(p->mode));
	for (i = 0; i < p->count; i++)
		rc |= tg_buf_printf(&b, "mx: %s\r\n", p->mx[i]);
	rc |= tg_buf_printf(&b, "max_age: %ld\r\n", p->max_age);
	if (rc != 0 || tg_buf_append(out, b.data, b.len) != 0) {
		tg_buf_free(&b);
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "policy text does not fit the buffer");
	}
	tg_buf_free(&b);
	return 0;
}
