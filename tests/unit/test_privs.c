/*
 * Unit tests of core/privs: looking the service user up, giving it a
 * directory tree (links changed, never followed), and the drop for good
 * (in a child process: it cannot be undone). The last two need root and
 * a user "nobody"; without them they are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/privs.h"

static int
have_root_and_nobody(uid_t *uid, gid_t *gid)
{
	struct tg_err err;

	return geteuid() == 0 && tg_privs_lookup("nobody", uid, gid,
	    &err) == 0;
}

static void
test_lookup(void **state)
{
	struct tg_err err;
	uid_t uid = 1;
	gid_t gid = 1;

	(void)state;
	assert_int_equal(tg_privs_lookup("root", &uid, &gid, &err), 0);
	assert_int_equal(uid, 0);
	assert_int_equal(tg_privs_lookup("tg-no-such-user", &uid, &gid,
	    &err), -1);
	assert_non_null(strstr(err.msg, "'tg-no-such-user'"));
	assert_non_null(strstr(err.msg, "does not exist"));
	assert_int_equal(tg_privs_lookup("", &uid, &gid, &err), -1);
	assert_int_equal(tg_privs_lookup(NULL, &uid, &gid, &err), -1);
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static uid_t
owner(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_uid;
}

static void
test_chown_tree(void **state)
{
	char dir[] = "/tmp/tg-privs-XXXXXX", p[128], outside[128];
	struct tg_err err;
	uid_t uid;
	gid_t gid;
	int fd;

	(void)state;
	if (!have_root_and_nobody(&uid, &gid)) {
		skip();
		return;
	}
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/sub", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/sub/file", dir);
	assert_true((fd = open(p, O_CREAT | O_WRONLY, 0600)) >= 0);
	close(fd);
	/* A link out of the tree: the link changes, its target does not. */
	snprintf(outside, sizeof(outside), "%s.outside", dir);
	assert_true((fd = open(outside, O_CREAT | O_WRONLY, 0600)) >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/link", dir);
	assert_int_equal(symlink(outside, p), 0);
	assert_int_equal(tg_privs_chown_tree(dir, uid, gid, &err), 0);
	assert_int_equal(owner(dir), uid);
	snprintf(p, sizeof(p), "%s/sub/file", dir);
	assert_int_equal(owner(p), uid);
	snprintf(p, sizeof(p), "%s/link", dir);
	assert_int_equal(owner(p), uid);
	assert_int_equal(owner(outside), 0);
	/* A tree that is not there: an error naming it. */
	assert_int_equal(tg_privs_chown_tree("/tmp/tg-privs-none", uid, gid,
	    &err), -1);
	assert_non_null(strstr(err.msg, "/tmp/tg-privs-none"));
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	remove(outside);
}

/* In a child: after the drop every uid and gid is nobody's, the groups
 * are only its group, and root cannot be had back. */
static void
test_drop(void **state)
{
	struct tg_err err;
	uid_t uid, r, e, s;
	gid_t gid, gr, ge, gs, groups[4];
	int status, n;
	pid_t pid;

	(void)state;
	if (!have_root_and_nobody(&uid, &gid)) {
		skip();
		return;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (tg_privs_drop("nobody", &err) != 0)
			_exit(10);
		if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid ||
		    s != uid)
			_exit(11);
		if (getresgid(&gr, &ge, &gs) != 0 || gr != gid || ge != gid ||
		    gs != gid)
			_exit(12);
		n = getgroups(4, groups);
		if (n != 1 || groups[0] != gid)
			_exit(13);
		if (setuid(0) == 0 || seteuid(0) == 0)
			_exit(14);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_chown_tree),
		cmocka_unit_test(test_drop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
