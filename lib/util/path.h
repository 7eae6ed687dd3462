/*
 * util/path — building file names into fixed buffers, never truncated.
 *
 * A path that does not fit is an error, not a silently shortened name
 * (which could point at another file).
 */
#ifndef TG_UTIL_PATH_H
#define TG_UTIL_PATH_H

#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

/* printf into out; -1 (out set to "") if the result would not fit. */
int tg_path_fmt(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* mkdir -p: path with mode, the missing directories above it with
 * parents_mode; existing ones are left as they are. 0, or -1 with err
 * (TG_ERR_PERM) naming the directory that could not be made. */
int tg_path_mkdirs(const char *path, mode_t parents_mode, mode_t mode,
    struct tg_err *err);

#endif
