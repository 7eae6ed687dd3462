/*
 * smtp/dotstuff — the DATA decoder of the SMTP server: end of data,
 * dot-unstuffing, and the strict line rules of message content, as one
 * pure streaming function (bytes in, content bytes and flags out; no I/O,
 * no allocation, no logging).
 *
 * Owns:
 *   - end of data: exactly <CRLF>.<CRLF> (RFC 5321 §4.1.1.4). The CRLF
 *     that ended the DATA command counts as the first CRLF, so "." alone
 *     on the first line ends an empty message. Nothing else ends it: not
 *     <LF>.<LF>, <LF>.<CRLF>, <CRLF>.<LF>, <CR>.<CR>, nor a dot after a
 *     NUL (RELIABILITY I-01; CVE-2023-51764/51765/51766);
 *   - dot-unstuffing (RFC 5321 §4.5.2): a line that starts with "." and
 *     has more characters loses that first ".";
 *   - strict line ends (RFC 5321 §2.3.8): a CR not followed by LF, an LF
 *     not preceded by CR, and NUL (RFC 2045 §2.7/§2.8: not allowed in
 *     7bit or 8bit data, and we offer neither BINARYMIME nor CHUNKING)
 *     are flagged. The decoder keeps looking for the real end of data,
 *     so the server rejects the message as a whole after reading all of
 *     it and the reply stream never loses step with the client;
 *   - header limits (RELIABILITY I-06): the header section is the lines
 *     before the first empty line, or before the first line that is
 *     neither a header field ("name:" with printable name characters)
 *     nor a folded continuation (RFC 5322 §2.2, §2.2.3). One field with
 *     its continuation lines, the whole section, and the number of fields
 *     have limits; going over one is flagged, decoding goes on;
 *   - mail loops (RFC 5321 §6.3, RELIABILITY Q-08): Received fields are
 *     counted; hops_max of them or more is flagged, as Postfix's
 *     hopcount_limit does.
 * Does not own: the message size limit (the caller counts out_bytes), the
 * spool, replies.
 *
 * The state carries across calls, so input may be split anywhere, down to
 * one byte per call: the result is the same. Each call writes at most as
 * many bytes as it reads. Once a flag of TG_DOTSTUFF_BAD is set the
 * content written is no longer meaningful (it is to be discarded), but
 * end of data is still found exactly.
 */
#ifndef TG_SMTP_DOTSTUFF_H
#define TG_SMTP_DOTSTUFF_H

#include <stddef.h>
#include <stdint.h>

/* Flags: what was wrong with the message. */
#define TG_DOTSTUFF_BARE_LF	0x01u	/* LF without CR before it */
#define TG_DOTSTUFF_BARE_CR	0x02u	/* CR without LF after it */
#define TG_DOTSTUFF_NUL		0x04u	/* a NUL byte */
#define TG_DOTSTUFF_HDR_FIELD	0x08u	/* one header field too long */
#define TG_DOTSTUFF_HDR_SECTION	0x10u	/* header section too long */
#define TG_DOTSTUFF_HDR_COUNT	0x20u	/* too many header fields */
#define TG_DOTSTUFF_HOPS	0x40u	/* too many Received fields: a loop */

/* The smuggling class: the message must be rejected (RFC 5321 §2.3.8). */
#define TG_DOTSTUFF_BAD	(TG_DOTSTUFF_BARE_LF | TG_DOTSTUFF_BARE_CR | \
	TG_DOTSTUFF_NUL)
/* The header class: 552 5.3.4 (RELIABILITY I-06). */
#define TG_DOTSTUFF_HDR	(TG_DOTSTUFF_HDR_FIELD | TG_DOTSTUFF_HDR_SECTION | \
	TG_DOTSTUFF_HDR_COUNT)

/* Limits; 0 in a field means the default from util/limits.h. */
struct tg_dotstuff_limits {
	uint64_t field_max;	/* bytes of one field incl. CRLFs */
	uint64_t section_max;	/* bytes of the header section */
	uint64_t count_max;	/* header fields */
	uint64_t hops_max;	/* Received fields that make a loop */
};

/* The decoder state: plain data, set up by tg_dotstuff_init. */
struct tg_dotstuff {
	int state;
	unsigned flags;		/* TG_DOTSTUFF_* seen so far */
	uint64_t bad_offset;	/* input offset of the first flag */
	uint64_t in_bytes;	/* input consumed (up to the end of data) */
	uint64_t out_bytes;	/* content bytes written */
	/* the current line and the header section */
	int in_header;
	int line_first;		/* first content byte of the line, -1 none */
	int name_state;		/* 0 in field name, 1 colon seen, 2 not */
	uint64_t line_len;	/* content bytes of the line, no CRLF */
	int name_pos;		/* "received" matched up to here, or -1 */
	uint64_t field_len, section_len, nfields, nreceived;
	struct tg_dotstuff_limits lim;
};

/* Start decoding a message: at the start of a line, in the header. lim
 * may be NULL (defaults). */
void tg_dotstuff_init(struct tg_dotstuff *d,
    const struct tg_dotstuff_limits *lim);

/*
 * Decode up to n bytes of in (borrowed). Content goes to out (at least n
 * bytes, may not overlap in), its length to *outlen. Returns the number
 * of input bytes consumed: n, or fewer when the end of data was reached —
 * the bytes after it belong to the next command (pipelining). After the
 * end every call consumes nothing.
 */
size_t tg_dotstuff_feed(struct tg_dotstuff *d, const void *in, size_t n,
    void *out, size_t *outlen);

/* 1 once <CRLF>.<CRLF> was consumed. */
int tg_dotstuff_done(const struct tg_dotstuff *d);

/* A short English reason for the first flag of flags that is set, for a
 * reply text ("message contains a bare LF"); "" when flags is 0. */
const char *tg_dotstuff_reason(unsigned flags);

#endif
