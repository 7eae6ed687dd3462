/*
 * util/path — building file names into fixed buffers, never truncated.
 *
 * A path that does not fit is an error, not a silently shortened name
 * (which could point at another file).
 */
#ifndef TG_UTIL_PATH_H
#define TG_UTIL_PATH_H

#include <stddef.h>

/* printf into out; -1 (out set to "") if the result would not fit. */
int tg_path_fmt(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
