/*
 * util/buf — a growable byte buffer with a hard upper limit.
 *
 * Every protocol input in tlsgate lands in a tg_buf whose limit is set
 * when it is created (util/limits.h names them all). Appending past the
 * limit fails and leaves the buffer unchanged, so a peer can never make
 * us allocate more than we decided in advance. The data is always kept
 * NUL-terminated (one byte beyond len) so it can be handed to C string
 * functions, but it may also contain NULs: use len, not strlen.
 */
#ifndef TG_UTIL_BUF_H
#define TG_UTIL_BUF_H

#include <stddef.h>

struct tg_buf {
	char *data;		/* owned; NULL until the first append */
	size_t len;		/* bytes in use, excluding the trailing NUL */
	size_t cap;		/* bytes allocated */
	size_t limit;		/* maximum len ever allowed */
};

/* Initialise an empty buffer that may grow to limit bytes. */
void tg_buf_init(struct tg_buf *b, size_t limit);

/* Release the memory; the buffer is empty afterwards. NULL-safe. */
void tg_buf_free(struct tg_buf *b);

/* Empty the buffer, keeping its memory. */
void tg_buf_reset(struct tg_buf *b);

/* Append n bytes; -1 (buffer unchanged) if that would pass the limit or
 * memory runs out. */
int tg_buf_append(struct tg_buf *b, const void *p, size_t n);

/* Append a C string. */
int tg_buf_puts(struct tg_buf *b, const char *s);

/* Append formatted text; -1 (unchanged) past the limit. */
int tg_buf_printf(struct tg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Drop the first n bytes (n > len drops everything). */
void tg_buf_consume(struct tg_buf *b, size_t n);

/* The contents as a C string ("" when empty); borrowed. */
const char *tg_buf_cstr(const struct tg_buf *b);

/* Hand the contents over to the caller (a malloc'd NUL-terminated string,
 * never NULL unless out of memory) and leave the buffer empty. */
char *tg_buf_take(struct tg_buf *b);

#endif
