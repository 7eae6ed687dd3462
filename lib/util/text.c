/*
 * util/text — see text.h.
 */
#include "util/text.h"

#include <stdarg.h>
#include <stdio.h>

void
tg_text_fmt(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;

	if (outlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
}
