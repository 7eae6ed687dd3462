/*
 * rpt/inbox — see inbox.h.
 */
#include "rpt/inbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/path.h"

#define INBOX_SUFFIX	".eml"

int
tg_inbox_dir(const struct tg_conf *conf, char *out, size_t outlen)
{
	return tg_path_fmt(out, outlen, "%s/reports/inbox", conf->state_dir);
}

/* dir and its parent (state_dir/reports), as the owner's. */
static int
inbox_mkdir(const char *dir, struct tg_err *err)
{
	char parent[TG_PATH_MAX];
	char *slash;

	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT || tg_path_fmt(parent, sizeof(parent), "%s",
	    dir) != 0 || (slash = strrchr(parent, '/')) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "cannot create %s: "
		    "%s", dir, strerror(errno));
	*slash = '\0';
	if ((mkdir(parent, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(dir, 0700) != 0 && errno != EEXIST))
		return tg_err_set(err, TG_ERR_TEMP, NULL, "cannot create %s: "
		    "%s", dir, strerror(errno));
	return 0;
}

static int
inbox_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Copy everything read() gives into fd; 0 or -1 with err. */
static int
inbox_copy(int fd, tg_inbox_read_fn read_fn, void *arg, size_t max,
    struct tg_err *err)
{
	char buf[16384];
	size_t total = 0, off;
	ssize_t n, w;

	while ((n = read_fn(arg, buf, sizeof(buf), err)) > 0) {
		total += (size_t)n;
		if (total > max)
			return tg_err_set(err, TG_ERR_PERM, NULL, "larger than "
			    "%zu bytes", max);
		for (off = 0; off < (size_t)n; off += (size_t)w)
			if ((w = write(fd, buf + off, (size_t)n - off)) < 0)
				return tg_err_set(err, TG_ERR_TEMP, NULL,
				    "write: %s", strerror(errno));
	}
	return n < 0 ? -1 : 0;
}

int
tg_inbox_put(const char *dir, const char *name, tg_inbox_read_fn read_fn,
    void *arg, size_t max, struct tg_err *err)
{
	char tmp[TG_PATH_MAX], path[TG_PATH_MAX];
	int fd;

	if (tg_path_fmt(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) != 0 ||
	    tg_path_fmt(path, sizeof(path), "%s/%s" INBOX_SUFFIX, dir,
	    name) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "path too long");
	if (inbox_mkdir(dir, err) != 0)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "cannot create %s: "
		    "%s", tmp, strerror(errno));
	if (inbox_copy(fd, read_fn, arg, max, err) != 0) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	/* The promise: on disk before the recipient is marked delivered. */
	if (fsync(fd) != 0 || close(fd) != 0) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "fsync %s: %s", tmp,
		    strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0 || inbox_fsync_dir(dir) != 0) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "cannot publish %s: %s",
		    path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
tg_inbox_done(enum tg_collect_status status, time_t mtime, time_t now)
{
	if (status != TG_COLLECT_TEMP)
		return 1;
	return now - mtime >= TG_INBOX_RETRY_S;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_message(const char *name)
{
	size_t n = strlen(name), k = strlen(INBOX_SUFFIX);

	return name[0] != '.' && n > k && strcmp(name + n - k,
	    INBOX_SUFFIX) == 0;
}

int
tg_inbox_each(const char *dir, size_t max,
    int (*fn)(void *arg, const char *path, time_t mtime), void *arg,
    struct tg_err *err)
{
	char **names = NULL, path[TG_PATH_MAX];
	size_t n = 0, i;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return tg_err_set(err, TG_ERR_TEMP, NULL, "cannot read %s: %s",
		    dir, strerror(errno));
	}
	if ((names = calloc(max > 0 ? max : 1, sizeof(*names))) == NULL) {
		closedir(d);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	while (n < max && (de = readdir(d)) != NULL)
		if (is_message(de->d_name) &&
		    (names[n] = strdup(de->d_name)) != NULL)
			n++;
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n && rc == 0; i++)
		if (tg_path_fmt(path, sizeof(path), "%s/%s", dir,
		    names[i]) == 0 && stat(path, &st) == 0)
			rc = fn(arg, path, st.st_mtime);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return 0;
}
