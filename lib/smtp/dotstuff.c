/*
 * smtp/dotstuff — see dotstuff.h.
 *
 * States: BOL at the start of a line (after a CRLF); TEXT inside a line;
 * CR after a CR inside a line (is an LF next?); DOT after a "." at the
 * start of a line; DOT_CR after ".<CR>" at the start of a line; DONE.
 * A CR is written as soon as it is read (the output never holds bytes
 * back), so every call writes at most what it reads.
 */
#include "smtp/dotstuff.h"

#include <string.h>

#include "util/limits.h"

enum { DS_BOL = 0, DS_TEXT, DS_CR, DS_DOT, DS_DOT_CR, DS_DONE };

/* name_state values: in a field name, a colon ended it, not a field. */
enum { NAME_SCAN = 0, NAME_COLON, NAME_NOT };

/* Decoding position inside one call. */
struct ds_io {
	const unsigned char *in;
	unsigned char *out;
	size_t i, o;
};

void
tg_dotstuff_init(struct tg_dotstuff *d, const struct tg_dotstuff_limits *lim)
{
	memset(d, 0, sizeof(*d));
	d->state = DS_BOL;
	d->in_header = 1;
	d->line_first = -1;
	if (lim != NULL)
		d->lim = *lim;
	if (d->lim.field_max == 0)
		d->lim.field_max = TG_SMTPD_HDR_FIELD_MAX;
	if (d->lim.section_max == 0)
		d->lim.section_max = TG_SMTPD_HDR_SECTION_MAX;
	if (d->lim.count_max == 0)
		d->lim.count_max = TG_SMTPD_HDR_COUNT_MAX;
	if (d->lim.hops_max == 0)
		d->lim.hops_max = TG_SMTPD_HOPS_MAX;
}

int
tg_dotstuff_done(const struct tg_dotstuff *d)
{
	return d->state == DS_DONE;
}

static void
ds_flag(struct tg_dotstuff *d, const struct ds_io *io, unsigned flag)
{
	if (d->flags == 0)
		d->bad_offset = d->in_bytes + io->i - 1;
	d->flags |= flag;
}

/* One content byte of the current line (written or not). */
static void
ds_line_char(struct tg_dotstuff *d, unsigned char c)
{
	if (d->line_len++ == 0)
		d->line_first = c;
	if (!d->in_header || d->name_state != NAME_SCAN)
		return;
	/* RFC 5322 §2.2: field-name = 1*ftext, ftext = %d33-57 / %d59-126. */
	if (c == ':')
		d->name_state = d->line_len > 1 ? NAME_COLON : NAME_NOT;
	else if (c < 33 || c > 126)
		d->name_state = NAME_NOT;
	/* Field names are case-insensitive (RFC 5322 §1.2.2). */
	if (d->name_pos >= 0 && c != ':')
		d->name_pos = d->name_pos < 8 &&
		    (c | 0x20) == (unsigned char)"received"[d->name_pos] ?
		    d->name_pos + 1 : -1;
}

/* Account a completed header line of len bytes (CRLF included). */
static void
ds_header_line(struct tg_dotstuff *d, uint64_t len, int continuation)
{
	if (continuation)
		d->field_len += len;
	else {
		d->nfields++;
		d->field_len = len;
		if (d->name_pos == 8 && ++d->nreceived >= d->lim.hops_max)
			d->flags |= TG_DOTSTUFF_HOPS;
	}
	d->section_len += len;
	if (d->field_len > d->lim.field_max)
		d->flags |= TG_DOTSTUFF_HDR_FIELD;
	if (d->section_len > d->lim.section_max)
		d->flags |= TG_DOTSTUFF_HDR_SECTION;
	if (d->nfields > d->lim.count_max)
		d->flags |= TG_DOTSTUFF_HDR_COUNT;
}

/* A CRLF ended the current line. */
static void
ds_line_end(struct tg_dotstuff *d)
{
	int wsp = d->line_first == ' ' || d->line_first == '\t';

	if (d->in_header) {
		/* RFC 5322 §2.2.3: a folded line starts with WSP. */
		if (d->line_len == 0)
			d->in_header = 0;
		else if (wsp && d->nfields > 0)
			ds_header_line(d, d->line_len + 2, 1);
		else if (!wsp && d->name_state == NAME_COLON)
			ds_header_line(d, d->line_len + 2, 0);
		else
			d->in_header = 0;
	}
	d->line_len = 0;
	d->line_first = -1;
	d->name_state = NAME_SCAN;
	d->name_pos = 0;
	d->state = DS_BOL;
}

/* A byte inside a line (state TEXT, or the first byte of a line). */
static void
ds_text(struct tg_dotstuff *d, struct ds_io *io, unsigned char c)
{
	io->out[io->o++] = c;
	d->state = DS_TEXT;
	if (c == '\r') {
		d->state = DS_CR;
		return;
	}
	if (c == '\n')
		ds_flag(d, io, TG_DOTSTUFF_BARE_LF);
	else if (c == '\0')
		ds_flag(d, io, TG_DOTSTUFF_NUL);
	ds_line_char(d, c);
}

/* After a CR inside a line: only LF makes it a line end. */
static void
ds_after_cr(struct tg_dotstuff *d, struct ds_io *io, unsigned char c)
{
	if (c == '\n') {
		io->out[io->o++] = c;
		ds_line_end(d);
		return;
	}
	ds_flag(d, io, TG_DOTSTUFF_BARE_CR);
	ds_line_char(d, '\r');
	ds_text(d, io, c);	/* a second CR is pending in its turn */
}

static void
ds_byte(struct tg_dotstuff *d, struct ds_io *io, unsigned char c)
{
	switch (d->state) {
	case DS_BOL:
		if (c == '.')
			d->state = DS_DOT;
		else
			ds_text(d, io, c);
		break;
	case DS_TEXT:
		ds_text(d, io, c);
		break;
	case DS_CR:
		ds_after_cr(d, io, c);
		break;
	case DS_DOT:
		/* RFC 5321 §4.5.2: the leading "." is removed. */
		if (c == '\r')
			d->state = DS_DOT_CR;
		else
			ds_text(d, io, c);
		break;
	case DS_DOT_CR:
		if (c == '\n') {
			d->state = DS_DONE;
			break;
		}
		/* ".<CR>x": the CR is bare; the message is refused, so the
		 * CR is not written (the output would outgrow the input). */
		ds_flag(d, io, TG_DOTSTUFF_BARE_CR);
		ds_line_char(d, '\r');
		ds_text(d, io, c);
		break;
	default:
		break;
	}
}

/* The common case: a run of ordinary bytes inside a body line. */
static void
ds_run(struct tg_dotstuff *d, struct ds_io *io, size_t n)
{
	size_t start = io->i, k = io->i;
	unsigned char c;

	while (k < n) {
		c = io->in[k];
		if (c == '\r' || c == '\n' || c == '\0')
			break;
		k++;
	}
	if (k == start)
		return;
	memcpy(io->out + io->o, io->in + start, k - start);
	io->o += k - start;
	if (d->line_len == 0)
		d->line_first = io->in[start];
	d->line_len += k - start;
	io->i = k;
}

size_t
tg_dotstuff_feed(struct tg_dotstuff *d, const void *in, size_t n, void *out,
    size_t *outlen)
{
	struct ds_io io = { in, out, 0, 0 };

	while (io.i < n && d->state != DS_DONE) {
		if (d->state == DS_TEXT && !d->in_header) {
			ds_run(d, &io, n);
			if (io.i == n)
				break;
		}
		io.i++;
		ds_byte(d, &io, io.in[io.i - 1]);
	}
	d->in_bytes += io.i;
	d->out_bytes += io.o;
	*outlen = io.o;
	return io.i;
}

const char *
tg_dotstuff_reason(unsigned flags)
{
	if (flags & TG_DOTSTUFF_BARE_LF)
		return "message contains a bare LF (lines must end with CRLF)";
	if (flags & TG_DOTSTUFF_BARE_CR)
		return "message contains a bare CR (lines must end with CRLF)";
	if (flags & TG_DOTSTUFF_NUL)
		return "message contains a NUL byte";
	if (flags & TG_DOTSTUFF_HDR_FIELD)
		return "a header field is too long";
	if (flags & TG_DOTSTUFF_HDR_SECTION)
		return "the message header is too long";
	if (flags & TG_DOTSTUFF_HDR_COUNT)
		return "too many header fields";
	if (flags & TG_DOTSTUFF_HOPS)
		return "too many hops (Received fields): mail loop detected";
	return "";
}
