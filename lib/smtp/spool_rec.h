/*
 * smtp/spool_rec — the on-disk format of one spool object, and its
 * verifying reader. Pure: bytes in (through a read callback), envelope or
 * error with byte offset out; no file names, no logging.
 *
 *   object = magic *record
 *   magic  = "TGSPOOL" %x01                ; the last byte is the version
 *   record = type(1) length(4, big-endian) payload(length)
 *
 *   type  payload                                      count
 *   'Q'   queue id, TG_SPOOL_QID_LEN bytes             1, first record
 *   'T'   arrival, int64 big-endian seconds            1
 *   'S'   sender, 0..TG_SPOOL_FIELD_MAX bytes ("" = <>) 1
 *   'F'   flags, uint32 big-endian (TG_SPOOL_F_*)      1
 *   'V'   ENVID                                         0..1
 *   'E'   RET, one byte (1 FULL, 2 HDRS)               0..1
 *   'H' 'A' 'N' 'P' 'L' 'C'  helo, client address, client name, protocol,
 *         TLS version, TLS cipher (text)               0..1 each
 *   'R'   recipient: notify(1) addr-len(2) addr orcpt-len(2) orcpt
 *                                                      1..TG_SPOOL_RCPT_MAX
 *   'D'   content, 1..TG_SPOOL_CHUNK bytes             any, after all above
 *   'Z'   END: SHA-256 of every byte before this record   1, last
 *
 * Nothing may follow 'Z'. Text is at most TG_SPOOL_FIELD_MAX bytes with
 * no NUL, CR or LF. Every length is checked against its type's bounds and
 * against the bytes left in the file before it is used; a record type
 * that is unknown, repeated or out of place makes the object corrupt.
 */
#ifndef TG_SMTP_SPOOL_REC_H
#define TG_SMTP_SPOOL_REC_H

#include <stddef.h>
#include <stdint.h>

#include "smtp/spool.h"
#include "util/buf.h"
#include "util/err.h"

#define TG_SPOOL_REC_MAGIC	"TGSPOOL\x01"
#define TG_SPOOL_REC_MAGIC_LEN	8
#define TG_SPOOL_REC_HDR	5	/* type + length */
#define TG_SPOOL_REC_DIGEST	32	/* SHA-256 */

#define TG_SPOOL_REC_QID	'Q'
#define TG_SPOOL_REC_ARRIVAL	'T'
#define TG_SPOOL_REC_SENDER	'S'
#define TG_SPOOL_REC_FLAGS	'F'
#define TG_SPOOL_REC_ENVID	'V'
#define TG_SPOOL_REC_RET	'E'
#define TG_SPOOL_REC_HELO	'H'
#define TG_SPOOL_REC_ADDR	'A'
#define TG_SPOOL_REC_NAME	'N'
#define TG_SPOOL_REC_PROTO	'P'
#define TG_SPOOL_REC_TLSVER	'L'
#define TG_SPOOL_REC_CIPHER	'C'
#define TG_SPOOL_REC_RCPT	'R'
#define TG_SPOOL_REC_DATA	'D'
#define TG_SPOOL_REC_END	'Z'

/* Bytes of the largest possible magic + envelope section. */
#define TG_SPOOL_REC_ENV_MAX \
	(TG_SPOOL_REC_MAGIC_LEN + \
	 12 * (TG_SPOOL_REC_HDR + TG_SPOOL_FIELD_MAX) + \
	 (size_t)TG_SPOOL_RCPT_MAX * \
	 (TG_SPOOL_REC_HDR + 5 + 2 * TG_SPOOL_FIELD_MAX))

/* Where the content of a verified object lies. */
struct tg_spool_rec_info {
	uint64_t data_off;	/* offset of the first 'D' (or of 'Z') */
	uint64_t end_off;	/* offset of the 'Z' record */
	uint64_t data_size;	/* content bytes */
};

/* A byte source for the reader: read must deliver exactly n bytes or
 * return -1 (errno set, or 0 for a short read). size is the total. */
struct tg_spool_rec_src {
	int (*read)(void *ctx, void *buf, size_t n);
	void *ctx;
	uint64_t size;
};

/* Write a record header into out. */
void tg_spool_rec_hdr(uint8_t out[TG_SPOOL_REC_HDR], int type, uint32_t len);

/* Decode a record header. */
void tg_spool_rec_hdr_get(const uint8_t in[TG_SPOOL_REC_HDR], int *type,
    uint32_t *len);

/*
 * Check an envelope against the rules above (qid and arrival excepted).
 * -1 with TG_ERR_PERM naming the field otherwise.
 */
int tg_spool_rec_env_check(const struct tg_spool_env *env,
    struct tg_err *err);

/*
 * Append the magic and the envelope records of env (checked first; its
 * qid and arrival are written as they are) to out, whose limit must be at
 * least TG_SPOOL_REC_ENV_MAX. -1 (TG_ERR_PERM) on a bad envelope.
 */
int tg_spool_rec_put_env(struct tg_buf *out, const struct tg_spool_env *env,
    struct tg_err *err);

/*
 * Read and verify a whole object from src: every record, every length,
 * the order, the envelope rules, the END checksum and the end of file.
 * On success env (zeroed by the caller) holds owned strings (free with
 * tg_spool_env_clear) and info says where the content is. On failure env
 * is cleared and err says why: TG_ERR_PERM with the byte offset for a
 * corrupt object, TG_ERR_TEMP when src->read failed.
 */
int tg_spool_rec_parse(const struct tg_spool_rec_src *src,
    struct tg_spool_env *env, struct tg_spool_rec_info *info,
    struct tg_err *err);

/* tg_spool_rec_parse over a memory buffer (borrowed). */
int tg_spool_rec_parse_mem(const void *p, size_t n, struct tg_spool_env *env,
    struct tg_spool_rec_info *info, struct tg_err *err);

#endif
