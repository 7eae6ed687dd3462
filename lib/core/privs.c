/*
 * core/privs — see privs.h.
 */
#include "core/privs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
tg_privs_lookup(const char *user, uid_t *uid, gid_t *gid, struct tg_err *err)
{
	struct passwd *pw;

	errno = 0;
	if (user == NULL || user[0] == '\0' || (pw = getpwnam(user)) == NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL, "user '%s' (config "
		    "key user) does not exist", user != NULL ? user : "");
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int
tg_privs_drop(const char *user, struct tg_err *err)
{
	uid_t uid;
	gid_t gid;

	if (tg_privs_lookup(user, &uid, &gid, err) != 0)
		return -1;
	if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "cannot drop privileges to '%s': %s", user,
		    strerror(errno));
	if (uid != 0 && (setuid(0) == 0 || geteuid() == 0))
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "root privileges could be regained after the drop");
	return 0;
}

/* nftw has no context argument: one walk at a time (the CLI's). */
static struct {
	uid_t uid;
	gid_t gid;
	char failed[TG_ERR_MSG_MAX / 2]; /* copied: nftw's is gone after */
	int error;
} walk;

static int
chown_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	if (lchown(path, walk.uid, walk.gid) == 0)
		return 0;
	walk.error = errno;
	(void)snprintf(walk.failed, sizeof(walk.failed), "%s", path);
	return 1;
}

int
tg_privs_chown_tree(const char *dir, uid_t uid, gid_t gid, struct tg_err *err)
{
	int rc;

	walk.uid = uid;
	walk.gid = gid;
	walk.failed[0] = '\0';
	walk.error = 0;
	/* FTW_PHYS: links are changed, not followed; FTW_MOUNT: stay on the
	 * file system of dir. */
	rc = nftw(dir, chown_one, 16, FTW_PHYS | FTW_MOUNT);
	if (rc == 0)
		return 0;
	return tg_err_set(err, TG_ERR_PERM, NULL, "cannot give %s to uid %u: "
	    "%s", walk.failed[0] != '\0' ? walk.failed : dir, (unsigned)uid,
	    strerror(walk.failed[0] != '\0' ? walk.error : errno));
}
