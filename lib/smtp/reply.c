/*
 * smtp/reply — see reply.h.
 */
#include "smtp/reply.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void
tg_smtp_reply_init(struct tg_smtp_reply *r)
{
	r->code = 0;
	r->lines = 0;
	r->done = 0;
	tg_buf_init(&r->text, TG_SMTP_REPLY_MAX);
}

void
tg_smtp_reply_free(struct tg_smtp_reply *r)
{
	tg_buf_free(&r->text);
	tg_smtp_reply_init(r);
}

/* RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39. */
static int
reply_code(const char *line, size_t body, struct tg_err *err)
{
	if (body < 3)
		return tg_err_set_at(err, TG_ERR_PERM, 0, "reply code missing");
	if (line[0] < '2' || line[0] > '5')
		return tg_err_set_at(err, TG_ERR_PERM, 0, "bad reply code");
	if (line[1] < '0' || line[1] > '5')
		return tg_err_set_at(err, TG_ERR_PERM, 1, "bad reply code");
	if (line[2] < '0' || line[2] > '9')
		return tg_err_set_at(err, TG_ERR_PERM, 2, "bad reply code");
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* RFC 5321 §4.2: textstring = 1*(%d09 / %d32-126); 8-bit bytes are
 * tolerated (RFC 6531 servers send UTF-8), control bytes are not. */
static int
reply_text_ok(const char *line, size_t from, size_t to, struct tg_err *err)
{
	unsigned char c;
	size_t i;

	for (i = from; i < to; i++) {
		c = (unsigned char)line[i];
		if (c == '\r' || c == '\n')
			return tg_err_set_at(err, TG_ERR_PERM, (long)i,
			    "bare CR or LF in a reply line");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return tg_err_set_at(err, TG_ERR_PERM, (long)i,
			    "control character 0x%02x in a reply line", c);
	}
	return 0;
}

static int
reply_check_line(const char *line, size_t len, struct tg_err *err)
{
	if (len > TG_SMTP_LINE_MAX)
		return tg_err_set_at(err, TG_ERR_PERM, TG_SMTP_LINE_MAX,
		    "reply line longer than %d bytes", TG_SMTP_LINE_MAX);
	if (len < 2 || line[len - 2] != '\r' || line[len - 1] != '\n')
		return tg_err_set_at(err, TG_ERR_PERM, (long)len,
		    "reply line does not end in CRLF");
	return 0;
}

int
tg_smtp_reply_line(struct tg_smtp_reply *r, const char *line, size_t len,
    struct tg_err *err)
{
	size_t body;
	int code, last;

	if (r->done)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "line fed to a complete reply");
	if (reply_check_line(line, len, err) < 0)
		return -1;
	body = len - 2;
	if ((code = reply_code(line, body, err)) < 0)
		return -1;
	if (r->code != 0 && code != r->code)
		return tg_err_set_at(err, TG_ERR_PERM, 0,
		    "reply code %d within a %d reply", code, r->code);
	if (body > 3 && line[3] != ' ' && line[3] != '-')
		return tg_err_set_at(err, TG_ERR_PERM, 3,
		    "reply code not followed by space or '-'");
	last = body == 3 || line[3] == ' ';
	if (body > 4 && reply_text_ok(line, 4, body, err) < 0)
		return -1;
	if (r->lines >= TG_SMTP_REPLY_LINES_MAX)
		return tg_err_set_at(err, TG_ERR_PERM, 0,
		    "reply has more than %d lines", TG_SMTP_REPLY_LINES_MAX);
	if ((r->lines > 0 && tg_buf_append(&r->text, "\n", 1) < 0) ||
	    (body > 4 && tg_buf_append(&r->text, line + 4, body - 4) < 0))
		return tg_err_set_at(err, TG_ERR_PERM, 0,
		    "reply longer than %d bytes", TG_SMTP_REPLY_MAX);
	r->lines++;
	r->code = code;
	r->done = last;
	return 0;
}

/* Take one line (with its LF) off in: 1 got one, 0 need more, -1 too
 * long without a line end. */
static int
reply_take_line(struct evbuffer *in, char *line, size_t *len)
{
	struct evbuffer_ptr eol;
	size_t eol_len = 0, n;

	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
	if (eol.pos < 0)
		return evbuffer_get_length(in) >= TG_SMTP_LINE_MAX ? -1 : 0;
	n = (size_t)eol.pos + eol_len;
	if (n > TG_SMTP_LINE_MAX)
		return -1;
	if (evbuffer_remove(in, line, n) != (int)n)
		return -1;
	*len = n;
	return 1;
}

int
tg_smtp_reply_read(struct tg_smtp_reply *r, struct evbuffer *in,
    struct tg_err *err)
{
	char line[TG_SMTP_LINE_MAX];
	size_t len;
	int rc;

	while (!r->done) {
		if ((rc = reply_take_line(in, line, &len)) == 0)
			return 0;
		if (rc < 0)
			return tg_err_set_at(err, TG_ERR_PERM, TG_SMTP_LINE_MAX,
			    "reply line longer than %d bytes",
			    TG_SMTP_LINE_MAX);
		if (tg_smtp_reply_line(r, line, len, err) < 0)
			return -1;
	}
	return 1;
}

/* Find keyword in the lines after the first; returns its line (and the
 * line's end in *eol), or NULL. */
static const char *
reply_find_keyword(const struct tg_smtp_reply *r, const char *keyword,
    const char **eol)
{
	const char *p = tg_buf_cstr(&r->text), *nl, *end;
	size_t klen = strlen(keyword), wlen;

	/* The first line is the server's name and greeting, not a
	 * keyword (RFC 5321 §4.1.1.1). */
	if ((nl = strchr(p, '\n')) == NULL)
		return NULL;
	for (p = nl + 1; *p != '\0'; p = nl + 1) {
		end = strchr(p, '\n');
		nl = end != NULL ? end : p + strlen(p);
		for (wlen = 0; p + wlen < nl && p[wlen] != ' '; wlen++)
			;
		if (wlen == klen && strncasecmp(p, keyword, klen) == 0) {
			*eol = nl;
			return p;
		}
		if (*nl == '\0')
			break;
	}
	return NULL;
}

int
tg_smtp_reply_has_keyword(const struct tg_smtp_reply *r,
    const char *keyword)
{
	const char *eol;

	return reply_find_keyword(r, keyword, &eol) != NULL;
}

int
tg_smtp_reply_ehlo_param(const struct tg_smtp_reply *r, const char *keyword,
    char *out, size_t outlen)
{
	const char *p, *eol;
	size_t n;

	out[0] = '\0';
	if ((p = reply_find_keyword(r, keyword, &eol)) == NULL)
		return 0;
	p += strlen(keyword);
	if (p < eol)
		p++;		/* the space */
	n = (size_t)(eol - p);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 1;
}

/* 1*3DIGIT at *p; advances p. */
static int
reply_digits(const char **p)
{
	int n = 0;

	while (n < 3 && (*p)[0] >= '0' && (*p)[0] <= '9') {
		(*p)++;
		n++;
	}
	return n > 0 && !((*p)[0] >= '0' && (*p)[0] <= '9');
}

int
tg_smtp_reply_enhanced(const struct tg_smtp_reply *r,
    char out[TG_SMTP_ENHANCED_MAX])
{
	const char *t = tg_buf_cstr(&r->text), *p = t;

	out[0] = '\0';
	/* RFC 3463 §2: the class is 2, 4 or 5 and, RFC 2034 §4, equal to
	 * the reply's first digit. */
	if (r->code < 200 || t[0] != '0' + r->code / 100 || t[0] == '3' ||
	    t[1] != '.')
		return 0;
	p = t + 2;
	if (!reply_digits(&p) || *p++ != '.' || !reply_digits(&p))
		return 0;
	if (*p != '\0' && *p != ' ' && *p != '\n')
		return 0;
	memcpy(out, t, (size_t)(p - t));
	out[p - t] = '\0';
	return 1;
}

const char *
tg_smtp_reply_first(const struct tg_smtp_reply *r, size_t *len)
{
	const char *t = tg_buf_cstr(&r->text);
	const char *nl = strchr(t, '\n');

	*len = nl != NULL ? (size_t)(nl - t) : strlen(t);
	return t;
}
