/*
 * Unit tests of core/sandbox. Entering the sandbox cannot be undone, so
 * each test forks: the child enters, tries things and writes what it
 * found as one line into a pipe; the parent checks the line. Covered:
 * before entering, the probe finds everything allowed (so the checks
 * below can fail); after it, running programs, ptrace (except under
 * AddressSanitizer), packet and raw IP sockets, listen and mount fail
 * with EPERM, in a thread started before the sandbox too; what a daemon
 * needs still works (TCP and UDP sockets with bind, netlink, name
 * lookups, files); capabilities are given up by a process that is not
 * root; a process that is root keeps them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/privs.h"
#include "core/sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* Run fn in a child; its line (at most outlen - 1 bytes) in out. */
static void
in_child(void (*fn)(char *line, size_t len), char *out, size_t outlen)
{
	int p[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char line[1024];

		close(p[0]);
		line[0] = '\0';
		fn(line, sizeof(line));
		if (write(p[1], line, strlen(line)) < 0)
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	while (got < (ssize_t)outlen - 1 &&
	    (n = read(p[0], out + got, outlen - 1 - (size_t)got)) > 0)
		got += n;
	out[got] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
append(char *line, size_t len, const char *key, const char *value)
{
	size_t n = strlen(line);

	snprintf(line + n, len - n, " %s=%s", key, value);
}

/* What errno a call left: "ok", "EPERM", or another error. */
static const char *
result(int rc)
{
	if (rc >= 0)
		return "ok";
	return errno == EPERM ? "EPERM" : strerrorname_np(errno);
}

static void
probe_only(char *line, size_t len)
{
	tg_sandbox_probe(line, len);
}

static void
test_probe_before(void **state)
{
	char line[1024];

	(void)state;
	in_child(probe_only, line, sizeof(line));
	assert_non_null(strstr(line, "exec=allowed"));
	assert_non_null(strstr(line, "ptrace=allowed"));
	assert_non_null(strstr(line, "listen=allowed"));
	assert_non_null(strstr(line, "dumpable=1"));
	assert_non_null(strstr(line, "seccomp=0"));
	if (geteuid() == 0) {
		/* Only root may make these sockets at all. */
		assert_non_null(strstr(line, "packet-socket=allowed"));
		assert_non_null(strstr(line, "raw-socket=allowed"));
	}
}

/* A thread that exists before the sandbox: it must be filtered too. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open;
static char thread_exec[32];

static void *
early_thread(void *arg)
{
	char *const argv[] = { (char *)"x", NULL };

	(void)arg;
	pthread_mutex_lock(&gate_lock);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	snprintf(thread_exec, sizeof(thread_exec), "%s",
	    result(execve("/nonexistent/x", argv, argv + 1)));
	return NULL;
}

static void
enter_and_try(char *line, size_t len)
{
	struct sockaddr_in sin;
	struct addrinfo *ai = NULL;
	struct tg_err err;
	pthread_t t;
	int fd, filtered = -1;

	pthread_create(&t, NULL, early_thread, NULL);
	if (tg_sandbox_enter(TG_SANDBOX_NO_LISTEN, &filtered, &err) != 0) {
		snprintf(line, len, "enter=failed:%s", err.msg);
		return;
	}
	pthread_mutex_lock(&gate_lock);
	gate_open = 1;
	pthread_cond_signal(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	pthread_join(t, NULL);
	tg_sandbox_probe(line, len);
	append(line, len, "filtered", filtered ? "1" : "0");
	append(line, len, "thread-exec", thread_exec);
	append(line, len, "mount", result(mount("none", "/mnt", "tmpfs", 0,
	    NULL)));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	append(line, len, "tcp", result(fd));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	append(line, len, "tcp-bind", result(bind(fd, (struct sockaddr *)&sin,
	    sizeof(sin))));
	close(fd);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	append(line, len, "udp-bind", result(bind(fd, (struct sockaddr *)&sin,
	    sizeof(sin))));
	close(fd);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	append(line, len, "netlink", result(fd));
	close(fd);
	fd = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	append(line, len, "raw6", result(fd));
	append(line, len, "lookup", getaddrinfo("localhost", "25", NULL,
	    &ai) == 0 ? "ok" : "failed");
	if (ai != NULL)
		freeaddrinfo(ai);
	append(line, len, "file", result(open("/proc/self/status",
	    O_RDONLY)));
}

static void
test_enter(void **state)
{
	char line[1024];

	(void)state;
	in_child(enter_and_try, line, sizeof(line));
	assert_null(strstr(line, "enter=failed"));
	assert_non_null(strstr(line, "filtered=1"));
	assert_non_null(strstr(line, "exec=denied"));
	assert_non_null(strstr(line, "thread-exec=EPERM"));
	if (UNDER_ASAN) {
		assert_non_null(strstr(line, "ptrace=allowed"));
		assert_non_null(strstr(line, "dumpable=1"));
	} else {
		assert_non_null(strstr(line, "ptrace=denied"));
		assert_non_null(strstr(line, "dumpable=0"));
	}
	assert_non_null(strstr(line, "packet-socket=denied"));
	assert_non_null(strstr(line, "raw-socket=denied"));
	assert_non_null(strstr(line, "raw6=EPERM"));
	assert_non_null(strstr(line, "listen=denied"));
	assert_non_null(strstr(line, "no-new-privs=1"));
	assert_non_null(strstr(line, "seccomp=2"));
	assert_non_null(strstr(line, "mount=EPERM"));
	assert_non_null(strstr(line, "tcp=ok"));
	assert_non_null(strstr(line, "tcp-bind=ok"));
	assert_non_null(strstr(line, "udp-bind=ok"));
	assert_non_null(strstr(line, "netlink=ok"));
	assert_non_null(strstr(line, "lookup=ok"));
	assert_non_null(strstr(line, "file=ok"));
}

/* Without TG_SANDBOX_NO_LISTEN a new listening socket is allowed. */
static void
enter_listen_allowed(char *line, size_t len)
{
	struct tg_err err;

	if (tg_sandbox_enter(0, NULL, &err) != 0) {
		snprintf(line, len, "enter=failed:%s", err.msg);
		return;
	}
	tg_sandbox_probe(line, len);
}

static void
test_listen_flag(void **state)
{
	char line[1024];

	(void)state;
	in_child(enter_listen_allowed, line, sizeof(line));
	assert_non_null(strstr(line, "listen=allowed"));
	assert_non_null(strstr(line, "exec=denied"));
}

/* A process that is not root gives up the capabilities it holds. */
static void
drop_then_enter(char *line, size_t len)
{
	struct tg_err err;

	/* Keep the capabilities across the uid change, as systemd's
	 * AmbientCapabilities would leave them to a service user. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 ||
	    tg_privs_drop("nobody", &err) != 0) {
		snprintf(line, len, "drop=failed");
		return;
	}
	tg_sandbox_probe(line, len);
	append(line, len, "phase", "before");
	if (tg_sandbox_enter(TG_SANDBOX_NO_LISTEN, NULL, &err) != 0) {
		snprintf(line, len, "enter=failed:%s", err.msg);
		return;
	}
	append(line, len, "phase", "after");
	tg_sandbox_probe(line + strlen(line), len - strlen(line));
}

static void
test_caps_given_up(void **state)
{
	char line[2048];
	uid_t uid;
	gid_t gid;
	struct tg_err err;

	(void)state;
	if (geteuid() != 0 || tg_privs_lookup("nobody", &uid, &gid,
	    &err) != 0) {
		skip();
		return;
	}
	in_child(drop_then_enter, line, sizeof(line));
	assert_null(strstr(line, "failed"));
	/* The permitted set survived the drop (KEEPCAPS); after entering,
	 * nothing is left. */
	assert_non_null(strstr(line, "phase=before"));
	assert_true(strstr(line, "caps=none") > strstr(line, "phase=before"));
	assert_non_null(strstr(line, "phase=after"));
	assert_non_null(strstr(strstr(line, "phase=after"), "caps=none"));
	assert_non_null(strstr(line, "shadow=denied"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_before),
		cmocka_unit_test(test_enter),
		cmocka_unit_test(test_listen_flag),
		cmocka_unit_test(test_caps_given_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
