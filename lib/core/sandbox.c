/*
 * core/sandbox — see sandbox.h.
 */
#include "core/sandbox.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/text.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif
#ifndef SANDBOX_ASAN
#define SANDBOX_ASAN 0
#endif

#if defined(__x86_64__)
#define SANDBOX_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH AUDIT_ARCH_AARCH64
#endif

/* The low 32 bits of a system call argument (seccomp_data is in the
 * machine's byte order). */
#if __BYTE_ORDER == __LITTLE_ENDIAN
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#else
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#endif

/* What only a system administrator does; none of it is a daemon's. */
static const long sandbox_admin_calls[] = {
	__NR_mount, __NR_umount2, __NR_pivot_root, __NR_chroot,
	__NR_swapon, __NR_swapoff, __NR_reboot, __NR_kexec_load,
	__NR_init_module, __NR_finit_module, __NR_delete_module,
	__NR_bpf, __NR_perf_event_open, __NR_userfaultfd, __NR_unshare,
	__NR_setns, __NR_keyctl, __NR_add_key, __NR_request_key,
	__NR_acct, __NR_quotactl, __NR_open_by_handle_at,
	__NR_settimeofday, __NR_clock_settime, __NR_clock_adjtime,
	__NR_adjtimex, __NR_sethostname, __NR_setdomainname,
	__NR_syslog, __NR_vhangup,
#ifdef __NR_kexec_file_load
	__NR_kexec_file_load,
#endif
#ifdef __NR_iopl
	__NR_iopl, __NR_ioperm,
#endif
};

/* Running programs and looking into other processes. */
static const long sandbox_exec_calls[] = {
	__NR_execve, __NR_execveat,
};
static const long sandbox_trace_calls[] = {
	__NR_ptrace, __NR_process_vm_readv, __NR_process_vm_writev,
};

#ifdef SANDBOX_ARCH

#define SANDBOX_PROG_MAX	128

struct sandbox_prog {
	struct sock_filter f[SANDBOX_PROG_MAX];
	unsigned short n;
};

static void
emit(struct sandbox_prog *p, struct sock_filter ins)
{
	/* The program is fixed; running out of room is a bug here. */
	if (p->n >= SANDBOX_PROG_MAX)
		abort();
	p->f[p->n++] = ins;
}

static const struct sock_filter deny = BPF_STMT(BPF_RET | BPF_K,
    SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));

/* nr fails with EPERM: "if (nr == call) return deny". */
static void
emit_deny(struct sandbox_prog *p, long call)
{
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    (uint32_t)call, 0, 1));
	emit(p, deny);
}

static void
emit_deny_all(struct sandbox_prog *p, const long *calls, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		emit_deny(p, calls[i]);
}

/*
 * socket(2): packet sockets in any form, raw IPv4 and IPv6 sockets.
 * Netlink sockets are SOCK_RAW too and stay allowed: glibc's resolver
 * asks the kernel for the interface addresses over one.
 */
static void
emit_socket_rule(struct sandbox_prog *p)
{
	/* if (nr != socket) skip the 10 instructions below */
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    __NR_socket, 0, 10));
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    ARG_LO(0)));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    AF_PACKET, 0, 1));
	emit(p, deny);
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    AF_INET, 1, 0));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    AF_INET6, 0, 4));
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    ARG_LO(1)));
	/* the type without SOCK_NONBLOCK and SOCK_CLOEXEC */
	emit(p, (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    SOCK_RAW, 0, 1));
	emit(p, deny);
	/* the socket is allowed: reload the number for what follows */
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr)));
}

static void
sandbox_build(struct sandbox_prog *p, unsigned flags)
{
	p->n = 0;
	/* Another architecture's system call numbers mean other calls. */
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch)));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    SANDBOX_ARCH, 1, 0));
	emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_KILL_PROCESS));
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr)));
#if defined(__x86_64__)
	/* x32 calls: the same numbers with bit 30 set. */
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K,
	    0x40000000u, 0, 1));
	emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_KILL_PROCESS));
#endif
	emit_deny_all(p, sandbox_exec_calls, sizeof(sandbox_exec_calls) /
	    sizeof(sandbox_exec_calls[0]));
	if (!SANDBOX_ASAN)
		emit_deny_all(p, sandbox_trace_calls,
		    sizeof(sandbox_trace_calls) /
		    sizeof(sandbox_trace_calls[0]));
	emit_deny_all(p, sandbox_admin_calls, sizeof(sandbox_admin_calls) /
	    sizeof(sandbox_admin_calls[0]));
	if (flags & TG_SANDBOX_NO_LISTEN)
		emit_deny(p, __NR_listen);
	emit_socket_rule(p);
	emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ALLOW));
}

static int
sandbox_filter(unsigned flags, struct tg_err *err)
{
	static struct sandbox_prog p;
	struct sock_fprog prog;
	long r;

	sandbox_build(&p, flags);
	prog.len = p.n;
	prog.filter = p.f;
	/* TSYNC: every thread of the process, not only this one. */
	r = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
	    SECCOMP_FILTER_FLAG_TSYNC, &prog);
	if (r != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "cannot install the system call filter: %s",
		    r > 0 ? "a thread could not take it" : strerror(errno));
	return 1;
}

#else /* no filter for this architecture */

static int
sandbox_filter(unsigned flags, struct tg_err *err)
{
	(void)flags;
	(void)err;
	return 0;
}

#endif

/* A daemon that is not root holds capabilities only because it was
 * given them (systemd's AmbientCapabilities): it needs none after
 * binding. */
static int
sandbox_drop_caps(struct tg_err *err)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3,
	    0 };
	struct __user_cap_data_struct none[2];

	if (geteuid() == 0)
		return 0;
	memset(none, 0, sizeof(none));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 &&
	    errno != EINVAL)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "cannot clear the ambient capabilities: %s",
		    strerror(errno));
	if (syscall(__NR_capset, &hdr, none) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "cannot give up capabilities: %s", strerror(errno));
	return 0;
}

int
tg_sandbox_enter(unsigned flags, int *filtered, struct tg_err *err)
{
	int r;

	if (filtered != NULL)
		*filtered = 0;
	if (sandbox_drop_caps(err) != 0)
		return -1;
	if (!SANDBOX_ASAN && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "cannot turn off core dumps: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "cannot set no_new_privs: %s", strerror(errno));
	if ((r = sandbox_filter(flags, err)) < 0)
		return -1;
	if (filtered != NULL)
		*filtered = r;
	return 0;
}

/* ---- the probe ---- */

/* "denied" when rc failed with EPERM or EACCES, "allowed" when it did
 * not fail, else the error's name. */
static const char *
probe_word(long rc, int e)
{
	if (rc >= 0)
		return "allowed";
	if (e == EPERM || e == EACCES)
		return "denied";
	return e == ENOENT ? "allowed" : strerrorname_np(e);
}

static const char *
probe_exec(void)
{
	char *const argv[] = { (char *)"tlsgate-sandbox-probe", NULL };
	char *const envp[] = { NULL };
	long rc;

	/* No such file: without the filter this fails with ENOENT. */
	rc = execve("/nonexistent/tlsgate-sandbox-probe", argv, envp);
	return probe_word(rc, errno);
}

static const char *
probe_ptrace(void)
{
	long rc;

	/* No such request, no such process: ESRCH without the filter. */
	rc = syscall(__NR_ptrace, -1L, 0L, 0L, 0L);
	if (rc < 0 && errno == ESRCH)
		return "allowed";
	return probe_word(rc, errno);
}

static const char *
probe_socket(int family, int type, int proto)
{
	int fd = socket(family, type | SOCK_CLOEXEC, proto);
	int e = errno;

	if (fd >= 0)
		close(fd);
	return probe_word(fd, e);
}

static const char *
probe_listen(void)
{
	struct sockaddr_in sin;
	const char *w;
	int fd, e, rc;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return probe_word(fd, errno);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		e = errno;
		close(fd);
		return probe_word(-1, e);
	}
	rc = listen(fd, 1);
	w = probe_word(rc, errno);
	close(fd);
	return w;
}

static const char *
probe_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int e = errno;

	if (fd >= 0)
		close(fd);
	return fd >= 0 ? "readable" : e == ENOENT ? "absent" : "denied";
}

void
tg_sandbox_probe(char *out, size_t outlen)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3,
	    0 };
	struct __user_cap_data_struct caps[2];
	char capword[32];

	memset(caps, 0, sizeof(caps));
	if (syscall(__NR_capget, &hdr, caps) != 0)
		tg_text_fmt(capword, sizeof(capword), "unknown");
	else if ((caps[0].effective | caps[1].effective |
	    caps[0].permitted | caps[1].permitted) == 0)
		tg_text_fmt(capword, sizeof(capword), "none");
	else
		tg_text_fmt(capword, sizeof(capword), "%08x%08x/%08x%08x",
		    caps[1].effective, caps[0].effective, caps[1].permitted,
		    caps[0].permitted);
	tg_text_fmt(out, outlen, "exec=%s ptrace=%s packet-socket=%s "
	    "raw-socket=%s listen=%s dumpable=%d no-new-privs=%d seccomp=%d "
	    "caps=%s shadow=%s", probe_exec(), probe_ptrace(),
	    probe_socket(AF_PACKET, SOCK_RAW, 0),
	    probe_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), probe_listen(),
	    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0),
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
	    prctl(PR_GET_SECCOMP, 0, 0, 0, 0), capword,
	    probe_open("/etc/shadow"));
}
