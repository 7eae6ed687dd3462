/*
 * core/hookrun — see hookrun.h.
 *
 * The request, one SOCK_SEQPACKET message: struct hook_req, then each
 * argument NUL-terminated. The reply: struct hook_rep, then the output.
 */
#include "core/hookrun.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/limits.h"

#define HOOK_MSG_MAX	(sizeof(struct hook_req) + \
	TG_HOOKRUN_ARGS_MAX * (TG_HOOKRUN_ARG_MAX + 1))
/* How long the daemon waits for a reply beyond the program's deadline:
 * the runner's own bookkeeping after a kill. */
#define HOOK_REPLY_SLACK_MS	5000
#define HOOK_FD			3	/* the runner's end of the pair */

struct hook_req {
	int32_t timeout_ms;
	uint32_t nargs;
};

struct hook_rep {
	int32_t status;
	uint32_t started;	/* 0: the program could not be started */
};

struct tg_hookrun {
	int fd;
	pid_t pid;
	pthread_mutex_t lock;	/* one run at a time, from any thread */
	char path[TG_PATH_MAX];
};

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the runner's side ---- */

/* Every descriptor from lo up closed (close_range(2), else one by one). */
static void
close_from(int lo)
{
	long max, fd;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lo, ~0U, 0) == 0)
		return;
#endif
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = lo; fd < max; fd++)
		(void)close((int)fd);
}

/* The program's process: never returns. */
static void __attribute__((noreturn))
hook_exec(const char *path, char **argv, int out)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	    NULL };
	int null = open("/dev/null", O_RDONLY);

	(void)setpgid(0, 0);	/* killed as a group at the deadline */
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(out, 2) < 0)
		_exit(127);
	close_from(3);
	execve(path, argv, envp);
	_exit(127);
}

/* How long output is still read after the program itself ended: what
 * it wrote last, unless a child it left behind keeps the pipe open. */
#define HOOK_DRAIN_MS	200

/* Read the program's output until it has ended (and its output is
 * drained) or the deadline; at the deadline it is killed with its
 * process group. The exit status. */
static int
hook_collect(pid_t pid, int in, long long deadline, char *out, size_t cap,
    size_t *len)
{
	struct pollfd p = { in, POLLIN, 0 };
	long long left, ended_at = 0;
	char sink[512];
	int st = 0, open = 1, slice;
	ssize_t k;

	*len = 0;
	while ((left = deadline - mono_ms()) > 0) {
		if (ended_at == 0 && waitpid(pid, &st, WNOHANG) == pid)
			ended_at = mono_ms();
		if (ended_at != 0 && (!open ||
		    mono_ms() - ended_at >= HOOK_DRAIN_MS))
			return WIFEXITED(st) ? WEXITSTATUS(st) :
			    TG_HOOKRUN_KILLED;
		slice = left < 20 ? (int)left : 20;
		if (!open || poll(&p, 1, slice) <= 0) {
			if (!open)
				(void)poll(NULL, 0, slice);
			continue;
		}
		k = read(in, *len < cap ? out + *len : sink,
		    *len < cap ? cap - *len : sizeof(sink));
		if (k > 0 && *len < cap)
			*len += (size_t)k;
		else if (k == 0 || (k < 0 && errno != EINTR))
			open = 0;
	}
	(void)kill(-pid, SIGKILL);
	if (ended_at != 0)	/* it ended just now: its own status */
		return WIFEXITED(st) ? WEXITSTATUS(st) : TG_HOOKRUN_KILLED;
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, &st, 0);
	return TG_HOOKRUN_KILLED;
}

static void
hook_run_one(const char *path, const char *msg, size_t len, int fd)
{
	struct hook_req rq;
	struct hook_rep rp = { TG_HOOKRUN_KILLED, 0 };
	char *argv[TG_HOOKRUN_ARGS_MAX + 2];
	char reply[sizeof(struct hook_rep) + TG_HOOKRUN_OUTPUT_MAX];
	char *out = reply + sizeof(rp);
	size_t i, off = sizeof(rq), n = 0;
	int p[2];
	pid_t pid;

	memcpy(&rq, msg, sizeof(rq));
	argv[0] = (char *)path;
	for (i = 0; i < rq.nargs && i < TG_HOOKRUN_ARGS_MAX && off < len;
	    i++) {
		argv[i + 1] = (char *)msg + off;
		off += strnlen(msg + off, len - off) + 1;
	}
	argv[i + 1] = NULL;
	if (pipe2(p, O_CLOEXEC) == 0) {
		if ((pid = fork()) == 0)
			hook_exec(path, argv, p[1]);
		close(p[1]);
		if (pid > 0) {
			rp.started = 1;
			rp.status = hook_collect(pid, p[0], mono_ms() +
			    rq.timeout_ms, out, TG_HOOKRUN_OUTPUT_MAX, &n);
		}
		close(p[0]);
	}
	for (i = 0; i < n; i++)		/* one line for a log */
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	memcpy(reply, &rp, sizeof(rp));
	(void)send(fd, reply, sizeof(rp) + n, MSG_NOSIGNAL);
}

static void __attribute__((noreturn))
hook_runner(const char *path, int fd)
{
	static char msg[HOOK_MSG_MAX + 1];
	struct sigaction sa;
	sigset_t none;
	ssize_t k;
	int sig;

	/* Nothing of the daemon but the socket; default signals. */
	if (dup2(fd, HOOK_FD) < 0)
		_exit(1);
	close_from(HOOK_FD + 1);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	for (;;) {
		k = recv(HOOK_FD, msg, HOOK_MSG_MAX, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < (ssize_t)sizeof(struct hook_req))
			_exit(0);	/* the daemon is gone */
		hook_run_one(path, msg, (size_t)k, HOOK_FD);
	}
}

/* ---- the daemon's side ---- */

int
tg_hookrun_start(const char *path, struct tg_hookrun **out,
    struct tg_err *err)
{
	struct tg_hookrun *h;
	struct stat st;
	int sv[2];

	*out = NULL;
	if (path[0] != '/' || stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
	    access(path, X_OK) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: not an "
		    "executable file given by its absolute path", path);
	if (strlen(path) >= TG_PATH_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "path too long");
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	memcpy(h->path, path, strlen(path) + 1);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		free(h);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "socketpair: %s",
		    strerror(errno));
	}
	if ((h->pid = fork()) == 0) {
		close(sv[0]);
		hook_runner(h->path, sv[1]);
	}
	close(sv[1]);
	if (h->pid < 0) {
		close(sv[0]);
		free(h);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "fork: %s",
		    strerror(errno));
	}
	h->fd = sv[0];
	pthread_mutex_init(&h->lock, NULL);
	*out = h;
	return 0;
}

static int
hookrun_run(struct tg_hookrun *h, const char *const *args, size_t n,
    int timeout_ms, int *status, char *output, size_t outlen,
    struct tg_err *err)
{
	char msg[HOOK_MSG_MAX], rep[sizeof(struct hook_rep) +
	    TG_HOOKRUN_OUTPUT_MAX];
	struct hook_req rq = { timeout_ms, (uint32_t)n };
	struct hook_rep rp;
	struct pollfd p = { h->fd, POLLIN, 0 };
	size_t i, len, off = sizeof(rq);
	ssize_t k;

	*status = TG_HOOKRUN_KILLED;
	output[0] = '\0';
	if (n > TG_HOOKRUN_ARGS_MAX || timeout_ms <= 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "bad hook call");
	for (i = 0; i < n; i++) {
		len = strlen(args[i]);
		if (len > TG_HOOKRUN_ARG_MAX || strpbrk(args[i], "\r\n"))
			return tg_err_set(err, TG_ERR_PERM, NULL, "hook "
			    "argument %zu is too long or has a line break",
			    i + 1);
		memcpy(msg + off, args[i], len + 1);
		off += len + 1;
	}
	memcpy(msg, &rq, sizeof(rq));
	/* A reply left over from a run given up on is dropped first. */
	while (recv(h->fd, rep, sizeof(rep), MSG_DONTWAIT) > 0)
		;
	if (send(h->fd, msg, off, MSG_NOSIGNAL) != (ssize_t)off)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "the hook runner "
		    "is gone: %s", strerror(errno));
	if (poll(&p, 1, timeout_ms + HOOK_REPLY_SLACK_MS) != 1 ||
	    (k = recv(h->fd, rep, sizeof(rep), 0)) <
	    (ssize_t)sizeof(rp))
		return tg_err_set(err, TG_ERR_TEMP, NULL, "the hook runner "
		    "did not answer");
	memcpy(&rp, rep, sizeof(rp));
	if (!rp.started)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "%s could not be "
		    "started", h->path);
	*status = rp.status;
	len = (size_t)k - sizeof(rp);
	if (len > outlen - 1)
		len = outlen - 1;
	memcpy(output, rep + sizeof(rp), len);
	output[len] = '\0';
	return 0;
}

int
tg_hookrun_run(struct tg_hookrun *h, const char *const *args, size_t n,
    int timeout_ms, int *status, char *output, size_t outlen,
    struct tg_err *err)
{
	int rc;

	pthread_mutex_lock(&h->lock);
	rc = hookrun_run(h, args, n, timeout_ms, status, output, outlen,
	    err);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

const char *
tg_hookrun_path(const struct tg_hookrun *h)
{
	return h->path;
}

void
tg_hookrun_free(struct tg_hookrun *h)
{
	if (h == NULL)
		return;
	close(h->fd);
	(void)waitpid(h->pid, NULL, 0);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
