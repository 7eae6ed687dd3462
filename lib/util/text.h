/*
 * util/text — formatting human-readable text into fixed buffers.
 *
 * Messages, reasons and fixes are for people: when one does not fit its
 * buffer it is cut short, on purpose, and always NUL-terminated. (File
 * names must never be cut short: util/path is for those.)
 */
#ifndef TG_UTIL_TEXT_H
#define TG_UTIL_TEXT_H

#include <stddef.h>

/* printf into out, truncating what does not fit. */
void tg_text_fmt(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
