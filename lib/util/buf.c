/*
 * util/buf — see buf.h.
 */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
tg_buf_init(struct tg_buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
}

void
tg_buf_free(struct tg_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
tg_buf_reset(struct tg_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Make room for len + extra + 1 bytes (the NUL). */
static int
buf_reserve(struct tg_buf *b, size_t extra)
{
	size_t need, ncap;
	char *p;

	if (extra > b->limit || b->len > b->limit - extra)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap < 64 ? 64 : b->cap;
	while (ncap < need)
		ncap = ncap > ((size_t)-1) / 2 ? need : ncap * 2;
	if (ncap > b->limit + 1)
		ncap = b->limit + 1;
	if (ncap < need)
		return -1;
	p = realloc(b->data, ncap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
tg_buf_append(struct tg_buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) != 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
tg_buf_puts(struct tg_buf *b, const char *s)
{
	return tg_buf_append(b, s, strlen(s));
}

int
tg_buf_printf(struct tg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) != 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void
tg_buf_consume(struct tg_buf *b, size_t n)
{
	if (n >= b->len) {
		tg_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

const char *
tg_buf_cstr(const struct tg_buf *b)
{
	return b->data != NULL ? b->data : "";
}

char *
tg_buf_take(struct tg_buf *b)
{
	char *p = b->data;

	if (p == NULL)
		p = strdup("");
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
