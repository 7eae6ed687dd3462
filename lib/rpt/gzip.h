/*
 * rpt/gzip — bounded gzip for TLS-RPT reports, on zlib.
 *
 * Owns: inflating one received report body (application/tlsrpt+gzip,
 * RFC 8460 §5.3, §5.4) without letting its sender decide how much memory
 * or CPU we spend, and deflating our own reports before sending them
 * (RFC 8460 §5.1: gzip SHOULD be used).
 *
 * Everything a collector receives is hostile (RELIABILITY §0.9, R-01):
 * deflate reaches about 1032:1 per member and members can be chained. So
 * the inflater
 *   - accepts exactly one gzip member (RFC 1952 §2.2): a second member,
 *     or any byte after the first member's trailer, is refused;
 *   - lets zlib check the member's CRC-32 and ISIZE, and refuses a
 *     stream that ends before the trailer (truncated);
 *   - stops as soon as the output passes a hard cap, and as soon as the
 *     output exceeds ratio_max times the compressed bytes read so far
 *     (once past a small slack, so tiny reports never trip it);
 *   - refuses output that is itself gzip: only one compression layer.
 * Input is streamed: memory is bounded by the output cap plus zlib's
 * fixed window, never by the size of the input.
 *
 * Does not own: HTTP Content-Encoding handling, MIME decoding (rpt/mail),
 * JSON (rpt/report).
 */
#ifndef TG_RPT_GZIP_H
#define TG_RPT_GZIP_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

struct tg_gzip_inflater;

/* 1 if p starts with the gzip magic 1f 8b (RFC 1952 §2.3.1), else 0. */
int tg_gzip_is_gzip(const void *p, size_t n);

/*
 * A streaming inflater whose output may grow to out_max bytes and to
 * ratio_max times the compressed input (0 for either: the defaults
 * TG_RPT_JSON_MAX and TG_RPT_GZIP_RATIO_MAX). Returns NULL when out of
 * memory. Free with tg_gzip_inflater_free.
 */
struct tg_gzip_inflater *tg_gzip_inflater_new(size_t out_max,
    unsigned ratio_max);

/* Release z. NULL-safe. */
void tg_gzip_inflater_free(struct tg_gzip_inflater *z);

/*
 * Feed the next n bytes of compressed input (borrowed; may be split
 * anywhere). Returns 0, or -1 with err (class permanent) when the data is
 * not gzip, corrupt, a second member or trailing data, or when a cap is
 * passed. After a failure every later call fails the same way.
 */
int tg_gzip_inflater_feed(struct tg_gzip_inflater *z, const void *in,
    size_t n, struct tg_err *err);

/*
 * End of input. Returns 0 and moves the whole output into out (which
 * must have been initialised with tg_buf_init; its old contents are
 * released and its limit becomes out_max), or -1 with err when the
 * member is incomplete ("truncated") or an earlier feed failed.
 */
int tg_gzip_inflater_finish(struct tg_gzip_inflater *z, struct tg_buf *out,
    struct tg_err *err);

/* One-shot form of the three calls above. */
int tg_gzip_inflate(const void *in, size_t n, size_t out_max,
    unsigned ratio_max, struct tg_buf *out, struct tg_err *err);

/*
 * Compress n bytes (borrowed) into one gzip member (no file name, mtime
 * 0) in out (initialised by the caller; its old contents are released),
 * at most out_max bytes. Returns 0 or -1 with err.
 */
int tg_gzip_deflate(const void *in, size_t n, size_t out_max,
    struct tg_buf *out, struct tg_err *err);

#endif
