/*
 * rpt/gzip — see gzip.h.
 */
#include "rpt/gzip.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/limits.h"

#define GZ_CHUNK	16384
#define GZ_WBITS_GZIP	(15 + 16)	/* zlib: gzip wrapper only */
#define GZ_FEED_MAX	(1U << 30)	/* bytes handed to zlib per call */

struct tg_gzip_inflater {
	z_stream zs;
	int zinit;		/* inflateInit2 succeeded */
	int done;		/* the member's trailer was read */
	int failed;
	int layer_checked;	/* output's first two bytes looked at */
	struct tg_err fail;	/* the first failure, replayed */
	unsigned char head[2];	/* first input bytes, for the magic */
	size_t head_len;
	uint64_t in_total;	/* compressed bytes consumed */
	size_t out_max;
	unsigned ratio_max;
	struct tg_buf out;
};

int
tg_gzip_is_gzip(const void *p, size_t n)
{
	const unsigned char *b = p;

	return n >= 2 && b[0] == 0x1f && b[1] == 0x8b;
}

struct tg_gzip_inflater *
tg_gzip_inflater_new(size_t out_max, unsigned ratio_max)
{
	struct tg_gzip_inflater *z;

	z = calloc(1, sizeof(*z));
	if (z == NULL)
		return NULL;
	z->out_max = out_max != 0 ? out_max : TG_RPT_JSON_MAX;
	z->ratio_max = ratio_max != 0 ? ratio_max : TG_RPT_GZIP_RATIO_MAX;
	tg_buf_init(&z->out, z->out_max);
	if (inflateInit2(&z->zs, GZ_WBITS_GZIP) != Z_OK) {
		free(z);
		return NULL;
	}
	z->zinit = 1;
	tg_err_clear(&z->fail);
	return z;
}

void
tg_gzip_inflater_free(struct tg_gzip_inflater *z)
{
	if (z == NULL)
		return;
	if (z->zinit)
		inflateEnd(&z->zs);
	tg_buf_free(&z->out);
	free(z);
}

/* Record the first failure and report it; later calls replay it. */
static int
gz_fail(struct tg_gzip_inflater *z, struct tg_err *err, const char *msg)
{
	if (!z->failed) {
		z->failed = 1;
		tg_err_set_at(&z->fail, TG_ERR_PERM, (long)z->in_total,
		    "gzip: %s", msg);
	}
	if (err != NULL)
		*err = z->fail;
	return -1;
}

/* RFC 1952 §2.3.1: ID1 ID2 = 1f 8b. Checked before zlib says "header". */
static int
gz_check_magic(struct tg_gzip_inflater *z, const unsigned char *in, size_t n,
    struct tg_err *err)
{
	while (z->head_len < 2 && n > 0) {
		z->head[z->head_len++] = *in++;
		n--;
	}
	if (z->head_len >= 1 && z->head[0] != 0x1f)
		return gz_fail(z, err, "not gzip data (no 1f 8b magic)");
	if (z->head_len == 2 && z->head[1] != 0x8b)
		return gz_fail(z, err, "not gzip data (no 1f 8b magic)");
	return 0;
}

/* Append one chunk of output, enforcing the caps and the single layer. */
static int
gz_emit(struct tg_gzip_inflater *z, const unsigned char *p, size_t n,
    struct tg_err *err)
{
	if (n == 0)
		return 0;
	if (n > z->out_max - z->out.len)
		return gz_fail(z, err, "inflated data exceeds the limit");
	if (tg_buf_append(&z->out, p, n) != 0)
		return gz_fail(z, err, "out of memory");
	if (!z->layer_checked && z->out.len >= 2) {
		z->layer_checked = 1;
		if (tg_gzip_is_gzip(z->out.data, z->out.len))
			return gz_fail(z, err, "the inflated data is gzip "
			    "again; only one compression layer is accepted");
	}
	if (z->out.len > TG_RPT_GZIP_RATIO_SLACK &&
	    (uint64_t)z->out.len > (z->in_total + 1) * z->ratio_max)
		return gz_fail(z, err, "compression ratio above the limit "
		    "(decompression bomb)");
	return 0;
}

/* zlib's messages, said in terms of RFC 1952. */
static int
gz_zerror(struct tg_gzip_inflater *z, int rc, struct tg_err *err)
{
	const char *m = z->zs.msg != NULL ? z->zs.msg : "";
	char buf[160];

	if (strstr(m, "data check") != NULL)
		return gz_fail(z, err, "CRC-32 mismatch (corrupt data)");
	if (strstr(m, "length check") != NULL)
		return gz_fail(z, err, "ISIZE mismatch (corrupt data)");
	if (rc == Z_MEM_ERROR)
		return gz_fail(z, err, "out of memory");
	snprintf(buf, sizeof(buf), "corrupt data (%s)", *m ? m : "zlib error");
	return gz_fail(z, err, buf);
}

/* After the member's end: anything further is refused. */
static int
gz_after_end(struct tg_gzip_inflater *z, const unsigned char *rest,
    size_t n, struct tg_err *err)
{
	if (n == 0)
		return 0;
	if (rest[0] == 0x1f)
		return gz_fail(z, err, "a second gzip member follows; "
		    "concatenated members are not accepted");
	return gz_fail(z, err, "trailing data after the gzip member");
}

/* Run inflate over n (≤ GZ_FEED_MAX) bytes. */
static int
gz_run(struct tg_gzip_inflater *z, const unsigned char *in, size_t n,
    struct tg_err *err)
{
	unsigned char chunk[GZ_CHUNK];
	uLong before;
	int rc;

	z->zs.next_in = (Bytef *)(uintptr_t)in;
	z->zs.avail_in = (uInt)n;
	for (;;) {
		z->zs.next_out = chunk;
		z->zs.avail_out = sizeof(chunk);
		before = z->zs.total_in;
		rc = inflate(&z->zs, Z_NO_FLUSH);
		z->in_total += z->zs.total_in - before;
		if (gz_emit(z, chunk, sizeof(chunk) - z->zs.avail_out,
		    err) != 0)
			return -1;
		if (rc == Z_STREAM_END) {
			z->done = 1;
			return gz_after_end(z, z->zs.next_in,
			    z->zs.avail_in, err);
		}
		if (rc == Z_BUF_ERROR)
			return 0;	/* no progress: needs more input */
		if (rc != Z_OK)
			return gz_zerror(z, rc, err);
		if (z->zs.avail_in == 0 && z->zs.avail_out != 0)
			return 0;
	}
}

int
tg_gzip_inflater_feed(struct tg_gzip_inflater *z, const void *in, size_t n,
    struct tg_err *err)
{
	const unsigned char *p = in;
	size_t step;

	if (z->failed)
		return gz_fail(z, err, "");
	if (n == 0)
		return 0;
	if (z->done)
		return gz_after_end(z, p, n, err);
	if (gz_check_magic(z, p, n, err) != 0)
		return -1;
	while (n > 0) {
		step = n > GZ_FEED_MAX ? GZ_FEED_MAX : n;
		if (gz_run(z, p, step, err) != 0)
			return -1;
		p += step;
		n -= step;
		if (z->done && n > 0)
			return gz_after_end(z, p, n, err);
	}
	return 0;
}

int
tg_gzip_inflater_finish(struct tg_gzip_inflater *z, struct tg_buf *out,
    struct tg_err *err)
{
	if (z->failed)
		return gz_fail(z, err, "");
	if (z->head_len == 0)
		return gz_fail(z, err, "empty input");
	if (!z->done)
		return gz_fail(z, err, "truncated (the member ends before its "
		    "trailer)");
	tg_buf_free(out);
	*out = z->out;
	tg_buf_init(&z->out, z->out_max);
	return 0;
}

int
tg_gzip_inflate(const void *in, size_t n, size_t out_max, unsigned ratio_max,
    struct tg_buf *out, struct tg_err *err)
{
	struct tg_gzip_inflater *z;
	int rc;

	z = tg_gzip_inflater_new(out_max, ratio_max);
	if (z == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL,
		    "gzip: out of memory");
	rc = tg_gzip_inflater_feed(z, in, n, err);
	if (rc == 0)
		rc = tg_gzip_inflater_finish(z, out, err);
	tg_gzip_inflater_free(z);
	return rc;
}

/* Deflate all of zs's input into out with Z_FINISH. */
static int
gz_deflate_loop(z_stream *zs, struct tg_buf *out, size_t out_max,
    struct tg_err *err)
{
	unsigned char chunk[GZ_CHUNK];
	size_t got;
	int rc;

	do {
		zs->next_out = chunk;
		zs->avail_out = sizeof(chunk);
		rc = deflate(zs, Z_FINISH);
		if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
			return tg_err_set(err, TG_ERR_BUG, NULL,
			    "gzip: deflate failed (%d)", rc);
		got = sizeof(chunk) - zs->avail_out;
		if (got > out_max - out->len)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "gzip: compressed data exceeds %zu bytes", out_max);
		if (tg_buf_append(out, chunk, got) != 0)
			return tg_err_set(err, TG_ERR_TEMP, NULL,
			    "gzip: out of memory");
	} while (rc != Z_STREAM_END);
	return 0;
}

int
tg_gzip_deflate(const void *in, size_t n, size_t out_max, struct tg_buf *out,
    struct tg_err *err)
{
	z_stream zs;
	int rc;

	if (n > GZ_FEED_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "gzip: input of %zu bytes is too large", n);
	tg_buf_free(out);
	tg_buf_init(out, out_max);
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, GZ_WBITS_GZIP, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return tg_err_set(err, TG_ERR_TEMP, NULL,
		    "gzip: deflateInit2 failed");
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	rc = gz_deflate_loop(&zs, out, out_max, err);
	deflateEnd(&zs);
	if (rc != 0)
		tg_buf_free(out);
	return rc;
}
