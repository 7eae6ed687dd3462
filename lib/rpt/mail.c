/*
 * rpt/mail — see mail.h. This file: header fields, MIME structure,
 * transfer decodings, and the order of the checks.
 */
#include "rpt/mail_int.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rpt/gzip.h"
#include "util/dname.h"

#define RM_VALUE_MAX	1024	/* unfolded header field value we use */
#define RM_BOUNDARY_MAX	70	/* RFC 2046 §5.1.1 */
#define RM_TYPE_MAX	128

enum rm_cte { RM_CTE_IDENTITY, RM_CTE_BASE64, RM_CTE_QP };

/* A located span of the message. */
struct rm_span {
	const char *p;
	size_t n;
};

struct rm_part {
	struct rm_span body;		/* encoded content */
	enum rm_cte cte;
	int gzip;
};

/* --- Header fields (RFC 5322 §2.2) --------------------------------- */

struct rm_field {
	struct rm_span name;
	struct rm_span raw;		/* value, folded, without the CRLF */
};

/* End of the line starting at p: the '\n', or end. */
static const char *
rm_eol(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl != NULL ? nl : end;
}

/* Length of the header section [p, end) up to the empty line; *body
 * is set past that line. -1 when there is no empty line. */
static int
rm_split(const char *p, const char *end, struct rm_span *hdr,
    const char **body)
{
	const char *line = p, *e;

	while (line < end) {
		e = rm_eol(line, end);
		if (e == line || (e == line + 1 && *line == '\r')) {
			hdr->p = p;
			hdr->n = (size_t)(line - p);
			*body = e < end ? e + 1 : end;
			return 0;
		}
		line = e < end ? e + 1 : end;
	}
	return -1;
}

/* Next field of a header section: 1, 0 at the end, -1 malformed. */
static int
rm_next_field(const char **pp, const char *end, struct rm_field *f)
{
	const char *p = *pp, *e, *colon;

	if (p >= end)
		return 0;
	e = rm_eol(p, end);
	colon = memchr(p, ':', (size_t)(e - p));
	if (colon == NULL || colon == p)
		return -1;
	f->name.p = p;
	f->name.n = (size_t)(colon - p);
	/* Folded lines start with WSP (RFC 5322 §2.2.3). */
	while (e < end && e + 1 < end && (e[1] == ' ' || e[1] == '\t'))
		e = rm_eol(e + 1, end);
	f->raw.p = colon + 1;
	f->raw.n = (size_t)(e - colon - 1);
	*pp = e < end ? e + 1 : end;
	return 1;
}

static int
rm_name_is(const struct rm_field *f, const char *name)
{
	return f->name.n == strlen(name) &&
	    strncasecmp(f->name.p, name, f->name.n) == 0;
}

/* Unfold and trim a value into out; -1 if it does not fit. */
static int
rm_unfold(const struct rm_span *raw, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < raw->n; i++) {
		char c = raw->p[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '\t')
			c = ' ';
		if (o == 0 && c == ' ')
			continue;
		if (o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return 0;
}

/* A display copy: unfolded, cut to outlen, control bytes as '?'. */
static void
rm_copy_text(const struct rm_span *raw, char *out, size_t outlen)
{
	char tmp[RM_VALUE_MAX];
	size_t i, n;

	if (rm_unfold(raw, tmp, sizeof(tmp)) != 0)
		tmp[sizeof(tmp) - 1] = '\0';
	n = strlen(tmp);
	if (n >= outlen)
		n = outlen - 1;	/* cut: these fields are for display */
	memcpy(out, tmp, n);
	out[n] = '\0';
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
}

/* --- Content-Type and friends (RFC 2045 §5.1, RFC 2183) ------------ */

/* Next parameter "; name=value" (value token or quoted-string) after
 * *pp: 1, 0 at the end, -1 malformed or too long. */
static int
rm_param(const char **pp, char *name, size_t nn, char *val, size_t vn)
{
	const char *p = *pp;
	size_t i = 0;

	while (*p != '\0' && *p != ';')
		p++;
	if (*p == '\0')
		return 0;
	for (p++; *p == ' '; p++)
		;
	while (*p != '\0' && *p != '=' && *p != ' ' && *p != ';' &&
	    i + 1 < nn)
		name[i++] = *p++;
	name[i] = '\0';
	for (; *p == ' '; p++)
		;
	if (*p != '=') {
		*pp = p;
		return i == 0 && *p == '\0' ? 0 : -1;
	}
	for (p++, i = 0; *p == ' '; p++)
		;
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			if (i + 1 >= vn)
				return -1;
			val[i++] = *p;
		}
		if (*p++ != '"')
			return -1;
	} else {
		while (*p != '\0' && *p != ';' && *p != ' ') {
			if (i + 1 >= vn)
				return -1;
			val[i++] = *p++;
		}
	}
	val[i] = '\0';
	*pp = p;
	return 1;
}

/* The type/subtype (lower-cased) of a Content-Type value. */
static void
rm_media_type(const char *v, char *out, size_t outlen)
{
	size_t i = 0;

	while (*v != '\0' && *v != ';' && *v != ' ' && i + 1 < outlen) {
		out[i++] = (*v >= 'A' && *v <= 'Z') ? (char)(*v + 32) : *v;
		v++;
	}
	out[i] = '\0';
}

/* Value of parameter want in a Content-Type/-Disposition value. */
static int
rm_get_param(const char *v, const char *want, char *out, size_t outlen)
{
	char name[64];
	const char *p = v;
	int rc;

	out[0] = '\0';
	while ((rc = rm_param(&p, name, sizeof(name), out, outlen)) == 1)
		if (strcasecmp(name, want) == 0)
			return 1;
	out[0] = '\0';
	return rc;	/* 0: absent, -1: malformed */
}

/* --- The top-level header section ---------------------------------- */

struct rm_top {
	char ctype[RM_VALUE_MAX];
	const char *body;
	const char *end;
	int n_ctype, n_domain, n_submitter;
};

/* Note one header field of interest; copies into res and top. */
static int
rm_top_field(const struct rm_field *f, struct rm_top *t,
    struct tg_rptmail_result *res)
{
	char v[RM_VALUE_MAX];

	if (rm_name_is(f, "Content-Type")) {
		t->n_ctype++;
		return rm_unfold(&f->raw, t->ctype, sizeof(t->ctype));
	}
	if (rm_name_is(f, "TLS-Report-Domain") ||
	    rm_name_is(f, "TLS-Report-Submitter")) {
		int dom = rm_name_is(f, "TLS-Report-Domain");
		char *dst = dom ? res->report_domain : res->submitter;
		if (dom)
			t->n_domain++;
		else
			t->n_submitter++;
		/* RFC 8460 §5.3: a domain name; anything else reads as "". */
		if (rm_unfold(&f->raw, v, sizeof(v)) != 0 ||
		    tg_dname_normalize(v, dst, TG_DNAME_MAX + 1, NULL) != 0)
			dst[0] = '\0';
	} else if (rm_name_is(f, "From")) {
		rm_copy_text(&f->raw, res->from, sizeof(res->from));
	} else if (rm_name_is(f, "Subject")) {
		rm_copy_text(&f->raw, res->subject, sizeof(res->subject));
	} else if (rm_name_is(f, "Message-ID")) {
		rm_copy_text(&f->raw, res->message_id,
		    sizeof(res->message_id));
	}
	return 0;
}

static int
rm_top_headers(const char *msg, size_t len, struct rm_top *t,
    struct tg_rptmail_result *res, struct tg_err *err)
{
	struct rm_span hdr;
	struct rm_field f;
	const char *p;
	int rc;

	memset(t, 0, sizeof(*t));
	t->end = msg + len;
	if (rm_split(msg, t->end, &hdr, &t->body) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "message has no end "
		    "of header section");
	if (hdr.n > TG_RPT_MAIL_HEADER_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "header section "
		    "larger than %d bytes", TG_RPT_MAIL_HEADER_MAX);
	for (p = hdr.p; (rc = rm_next_field(&p, hdr.p + hdr.n, &f)) == 1;)
		if (rm_top_field(&f, t, res) != 0)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "Content-Type longer than %d bytes",
			    RM_VALUE_MAX - 1);
	if (rc < 0)
		return tg_err_set_at(err, TG_ERR_PERM, (long)(p - msg),
		    "malformed header field");
	if (t->n_ctype > 1 || t->n_domain > 1 || t->n_submitter > 1)
		return tg_err_set(err, TG_ERR_PERM, NULL, "more than one "
		    "Content-Type, TLS-Report-Domain or TLS-Report-Submitter");
	return 0;
}

/* RFC 8460 §5.3: multipart/report; report-type="tlsrpt"; boundary. */
static int
rm_top_type(const struct rm_top *t, char *boundary, size_t bn,
    struct tg_err *err)
{
	char type[RM_TYPE_MAX], rtype[RM_TYPE_MAX];

	rm_media_type(t->ctype, type, sizeof(type));
	if (strcmp(type, "multipart/report") != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "Content-Type is "
		    "'%s', not multipart/report (RFC 8460 §5.3)", type);
	if (rm_get_param(t->ctype, "report-type", rtype, sizeof(rtype)) != 1 ||
	    strcasecmp(rtype, "tlsrpt") != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "multipart/report "
		    "without report-type=\"tlsrpt\"");
	if (rm_get_param(t->ctype, "boundary", boundary, bn) != 1 ||
	    boundary[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL, "multipart/report "
		    "without a valid boundary");
	return 0;
}

/* --- MIME parts (RFC 2046 §5.1) ------------------------------------ */

/* The next "--boundary" at the start of a line in [p, end). */
static const char *
rm_delim(const char *start, const char *p, const char *end, const char *b,
    size_t bl)
{
	for (; p + 2 + bl <= end; p++) {
		p = memchr(p, '-', (size_t)(end - p));
		if (p == NULL || p + 2 + bl > end)
			return NULL;
		if ((p == start || p[-1] == '\n') && p[1] == '-' &&
		    memcmp(p + 2, b, bl) == 0)
			return p;
	}
	return NULL;
}

/* The part's own header fields: its media type, transfer encoding and
 * file name. Returns 1 for a report part, 0 for another, -1 bad. */
static int
rm_part_headers(const struct rm_span *hdr, struct rm_part *pt,
    struct tg_rptmail_result *res, struct tg_err *err)
{
	char v[RM_VALUE_MAX], type[RM_TYPE_MAX] = "text/plain", fn[200];
	const char *p = hdr->p;
	struct rm_field f;
	int rc, report;

	pt->cte = RM_CTE_IDENTITY;
	fn[0] = '\0';
	while ((rc = rm_next_field(&p, hdr->p + hdr->n, &f)) == 1) {
		if (rm_unfold(&f.raw, v, sizeof(v)) != 0)
			continue;	/* a field we do not need */
		if (rm_name_is(&f, "Content-Type")) {
			rm_media_type(v, type, sizeof(type));
			if (fn[0] == '\0')
				(void)rm_get_param(v, "name", fn, sizeof(fn));
		} else if (rm_name_is(&f, "Content-Disposition")) {
			(void)rm_get_param(v, "filename", fn, sizeof(fn));
		} else if (rm_name_is(&f, "Content-Transfer-Encoding")) {
			if (strcasecmp(v, "base64") == 0)
				pt->cte = RM_CTE_BASE64;
			else if (strcasecmp(v, "quoted-printable") == 0)
				pt->cte = RM_CTE_QP;
			else if (strcasecmp(v, "7bit") != 0 &&
			    strcasecmp(v, "8bit") != 0 &&
			    strcasecmp(v, "binary") != 0)
				return tg_err_set(err, TG_ERR_PERM, NULL,
				    "unknown Content-Transfer-Encoding '%.40s'",
				    v);
		}
	}
	if (rc < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "malformed header "
		    "field in a MIME part");
	report = strcmp(type, "application/tlsrpt+gzip") == 0 ||
	    strcmp(type, "application/tlsrpt+json") == 0;
	if (report) {
		pt->gzip = strcmp(type, "application/tlsrpt+gzip") == 0;
		rm_copy_text(&(struct rm_span){ fn, strlen(fn) },
		    res->filename, sizeof(res->filename));
	}
	return report;
}

/* One part [p, end): 1 if it is the report part (pt filled), 0 if not. */
static int
rm_one_part(const char *p, const char *end, struct rm_part *pt,
    struct tg_rptmail_result *res, struct tg_err *err)
{
	struct rm_span hdr;
	const char *body;
	int rc;

	if (rm_split(p, end, &hdr, &body) != 0) {
		hdr.p = p;	/* headers only, no body */
		hdr.n = (size_t)(end - p);
		body = end;
	}
	rc = rm_part_headers(&hdr, pt, res, err);
	if (rc == 1) {
		pt->body.p = body;
		pt->body.n = (size_t)(end - body);
	}
	return rc;
}

/* The content of a part ends before the line break of the delimiter. */
static const char *
rm_part_end(const char *part, const char *delim)
{
	const char *e = delim;

	if (e > part && e[-1] == '\n')
		e--;
	if (e > part && e[-1] == '\r')
		e--;
	return e;
}

/* Walk the parts; exactly one must be the report. */
static int
rm_find_part(const struct rm_top *t, const char *b, struct rm_part *out,
    struct tg_rptmail_result *res, struct tg_err *err)
{
	size_t bl = strlen(b), parts = 0, found = 0;
	const char *d, *next, *start;
	struct rm_part pt;
	int rc;

	d = rm_delim(t->body, t->body, t->end, b, bl);
	while (d != NULL && !(d + 3 + bl < t->end && d[2 + bl] == '-' &&
	    d[3 + bl] == '-')) {
		if (++parts > TG_RPT_MAIL_PARTS_MAX)
			return tg_err_set(err, TG_ERR_PERM, NULL, "more than "
			    "%d MIME parts", TG_RPT_MAIL_PARTS_MAX);
		start = rm_eol(d, t->end);
		start = start < t->end ? start + 1 : t->end;
		next = rm_delim(t->body, start, t->end, b, bl);
		if (next == NULL)
			return tg_err_set(err, TG_ERR_PERM, NULL, "multipart "
			    "body without a closing boundary");
		memset(&pt, 0, sizeof(pt));
		rc = rm_one_part(start, rm_part_end(start, next), &pt, res,
		    err);
		if (rc < 0)
			return -1;
		if (rc == 1 && found++ == 0)
			*out = pt;
		d = next;
	}
	if (d == NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL, "multipart body "
		    "without a closing boundary");
	if (found != 1)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%zu parts of type "
		    "application/tlsrpt+gzip or +json; exactly one is needed",
		    found);
	return 0;
}

/* --- Transfer decodings -------------------------------------------- */

/* Base64 (RFC 2045 §6.8) with OpenSSL; white space and line breaks
 * are skipped by EVP_DecodeUpdate. */
static int
rm_base64(const struct rm_span *in, struct tg_buf *out, struct tg_err *err)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	unsigned char *dst;
	int n1 = 0, n2 = 0, rc = -1;

	if (in->n > INT32_MAX / 2)
		return tg_err_set(err, TG_ERR_PERM, NULL, "part too large");
	dst = malloc(in->n / 4 * 3 + 80);
	if (ctx == NULL || dst == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		goto done;
	}
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, dst, &n1, (const unsigned char *)in->p,
	    (int)in->n) < 0 || EVP_DecodeFinal(ctx, dst + n1, &n2) < 0) {
		tg_err_set(err, TG_ERR_PERM, NULL, "invalid base64 in the "
		    "report part");
		goto done;
	}
	rc = tg_buf_append(out, dst, (size_t)n1 + (size_t)n2);
	if (rc != 0)
		tg_err_set(err, TG_ERR_PERM, NULL, "decoded part exceeds the "
		    "limit");
done:
	EVP_ENCODE_CTX_free(ctx);
	free(dst);
	return rc;
}

static int
rm_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Quoted-printable (RFC 2045 §6.7): =XX, soft line breaks "=" CRLF,
 * trailing white space of a line dropped (rule 3). */
static int
rm_qp(const struct rm_span *in, struct tg_buf *out, struct tg_err *err)
{
	const char *p = in->p, *end = in->p + in->n, *ws;
	char c;
	int hi, lo;

	while (p < end) {
		if (*p == ' ' || *p == '\t') {
			for (ws = p; ws < end && (*ws == ' ' || *ws == '\t');)
				ws++;
			if (ws == end || *ws == '\r' || *ws == '\n') {
				p = ws;
				continue;
			}
			c = *p++;
		} else if (*p != '=') {
			c = *p++;
		} else if (p + 1 < end && (p[1] == '\n' || (p[1] == '\r' &&
		    p + 2 < end && p[2] == '\n'))) {
			p += p[1] == '\n' ? 2 : 3;
			continue;
		} else if (p + 2 < end && (hi = rm_hexval(p[1])) >= 0 &&
		    (lo = rm_hexval(p[2])) >= 0) {
			c = (char)(hi * 16 + lo);
			p += 3;
		} else {
			return tg_err_set(err, TG_ERR_PERM, NULL, "invalid "
			    "quoted-printable in the report part");
		}
		if (tg_buf_append(out, &c, 1) != 0)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "decoded part exceeds the limit");
	}
	return 0;
}

/* Decode, then inflate (+gzip) or take as is (+json). */
static int
rm_decode(const struct tg_rptmail *m, const struct rm_part *pt,
    struct tg_rptmail_result *res, struct tg_err *err)
{
	struct tg_buf raw;
	int rc = 0;

	tg_buf_init(&raw, m->opts.message_max);
	if (pt->cte == RM_CTE_BASE64)
		rc = rm_base64(&pt->body, &raw, err);
	else if (pt->cte == RM_CTE_QP)
		rc = rm_qp(&pt->body, &raw, err);
	else if (tg_buf_append(&raw, pt->body.p, pt->body.n) != 0)
		rc = tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	if (rc == 0 && pt->gzip) {
		rc = tg_gzip_inflate(raw.data, raw.len, m->opts.report_max, 0,
		    &res->report, err);
	} else if (rc == 0 && tg_gzip_is_gzip(raw.data, raw.len)) {
		rc = tg_err_set(err, TG_ERR_PERM, NULL, "application/"
		    "tlsrpt+json part holds gzip data");
	} else if (rc == 0) {
		if (raw.len > m->opts.report_max)
			rc = tg_err_set(err, TG_ERR_PERM, NULL, "report of %zu "
			    "bytes exceeds the limit", raw.len);
		else if (tg_buf_append(&res->report, raw.data, raw.len) != 0)
			rc = tg_err_set(err, TG_ERR_TEMP, NULL,
			    "out of memory");
	}
	tg_buf_free(&raw);
	return rc;
}

/* --- The API ------------------------------------------------------- */

struct tg_rptmail *
tg_rptmail_new(const struct tg_rptmail_opts *opts, struct tg_err *err)
{
	struct tg_rptmail *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	m->opts = *opts;
	if (m->opts.message_max == 0)
		m->opts.message_max = TG_RPT_MAIL_MAX;
	if (m->opts.report_max == 0)
		m->opts.report_max = TG_RPT_JSON_MAX;
	if ((opts->keys == TG_RPTMAIL_KEYS_CALLBACK &&
	    opts->key_lookup == NULL) ||
	    (opts->keys == TG_RPTMAIL_KEYS_FILE && (opts->key_file == NULL ||
	    strlen(opts->key_file) >= sizeof(m->key_path)))) {
		tg_err_set(err, TG_ERR_BUG, NULL, "rptmail: no key lookup "
		    "function or key file");
		free(m);
		return NULL;
	}
	if (opts->keys == TG_RPTMAIL_KEYS_FILE)
		snprintf(m->key_path, sizeof(m->key_path), "%s",
		    opts->key_file);
	m->opts.key_file = m->key_path;
	if (tg_rptmail_dkim_setup(m, err) != 0) {
		tg_rptmail_free(m);
		return NULL;
	}
	return m;
}

void
tg_rptmail_free(struct tg_rptmail *m)
{
	if (m == NULL)
		return;
	if (m->lib != NULL)
		dkim_close(m->lib);
	free(m);
}

void
tg_rptmail_result_init(struct tg_rptmail_result *res)
{
	memset(res, 0, sizeof(*res));
	tg_buf_init(&res->report, TG_RPT_JSON_MAX);
}

void
tg_rptmail_result_free(struct tg_rptmail_result *res)
{
	if (res != NULL)
		tg_buf_free(&res->report);
}

int
tg_rptmail_parse(struct tg_rptmail *m, const char *msg, size_t len,
    struct tg_rptmail_result *res, struct tg_err *err)
{
	char boundary[RM_BOUNDARY_MAX + 1];
	struct rm_top top;
	struct rm_part part;

	memset(&part, 0, sizeof(part));
	tg_rptmail_result_free(res);
	tg_rptmail_result_init(res);
	res->report.limit = m->opts.report_max;
	if (len > m->opts.message_max)
		return tg_err_set(err, TG_ERR_PERM, NULL, "message of %zu "
		    "bytes exceeds the limit of %zu", len, m->opts.message_max);
	if (rm_top_headers(msg, len, &top, res, err) != 0 ||
	    rm_top_type(&top, boundary, sizeof(boundary), err) != 0 ||
	    rm_find_part(&top, boundary, &part, res, err) != 0)
		return -1;
	res->gzip = part.gzip;
	/* RFC 8460 §3: nothing of an unauthenticated report is decoded. */
	if (tg_rptmail_dkim_check(m, msg, len, res, err) != 0)
		return -1;
	if (rm_decode(m, &part, res, err) != 0) {
		tg_buf_free(&res->report);
		return -1;
	}
	return 0;
}
