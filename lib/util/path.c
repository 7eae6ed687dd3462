/*
 * util/path — see path.h.
 */
#include "util/path.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util/limits.h"

int
tg_path_fmt(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

int
tg_path_mkdirs(const char *path, mode_t parents_mode, mode_t mode,
    struct tg_err *err)
{
	char tmp[TG_PATH_MAX];
	size_t i;

	if (tg_path_fmt(tmp, sizeof(tmp), "%s", path) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "path too long: %s",
		    path);
	for (i = 1; tmp[i] != '\0'; i++) {
		if (tmp[i] != '/')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, parents_mode) != 0 && errno != EEXIST)
			return tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s",
			    tmp, strerror(errno));
		tmp[i] = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", tmp,
		    strerror(errno));
	return 0;
}
