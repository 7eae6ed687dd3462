/*
 * core/sandbox — what a daemon gives up for good once it has opened what
 * it works with (RELIABILITY P-01, P-02).
 *
 * A daemon is bound to its ports, has dropped to its user (core/privs)
 * and has opened its spool and databases; from then on it needs none of
 * the following, and an attacker who takes over its code would want
 * them. tg_sandbox_enter takes them away, for every thread, present and
 * future:
 *   - capabilities: a daemon that is not root (systemd may start it as
 *     the service user with CAP_NET_BIND_SERVICE) gives up every one it
 *     holds, ambient ones included;
 *   - core dumps and inspection (PR_SET_DUMPABLE 0): no core file with
 *     key material, no ptrace and no /proc/PID/mem by a process of the
 *     same user (P-02);
 *   - new privileges (PR_SET_NO_NEW_PRIVS);
 *   - a seccomp filter that fails these system calls with EPERM: running
 *     programs (execve, execveat), inspecting other processes (ptrace,
 *     process_vm_readv/writev), raw IP and packet sockets, listening on
 *     a new socket (TG_SANDBOX_NO_LISTEN: the listeners exist already;
 *     bind stays allowed, the resolver binds its query sockets), and what
 *     only a system administrator does (mount, chroot, modules, kexec,
 *     reboot, swap, the clock, the host name, namespaces, bpf,
 *     perf_event_open, keyrings, userfaultfd, I/O ports, accounting,
 *     quotas, open_by_handle_at, the kernel log). A system call made for
 *     another architecture kills the process.
 * Under AddressSanitizer the leak checker stops the process's threads
 * with ptrace when it exits, so such a build keeps ptrace and stays
 * dumpable.
 *
 * Owns: those steps, and a probe that tries each forbidden thing
 * harmlessly and says what happened (a test hook). Does not own: when
 * to enter (net/daemon), the privilege drop (core/privs), file
 * permissions.
 */
#ifndef TG_CORE_SANDBOX_H
#define TG_CORE_SANDBOX_H

#include <stddef.h>

#include "util/err.h"

/* Flags of tg_sandbox_enter. */
#define TG_SANDBOX_NO_LISTEN	0x01u	/* listen() fails from now on */

/*
 * Enter the sandbox (see above). Returns 0, or -1 with err when a step
 * failed (the process must not go on as if it were sandboxed). On an
 * architecture without a filter here, everything but the filter is done
 * and 0 is returned with *filtered = 0 (filtered may be NULL).
 */
int tg_sandbox_enter(unsigned flags, int *filtered, struct tg_err *err);

/*
 * Try, harmlessly, what the sandbox forbids, and write one line of
 * key=value pairs into out (outlen bytes): exec, ptrace, packet-socket,
 * raw-socket, listen ("denied" when refused, "allowed" otherwise),
 * dumpable, no-new-privs and seccomp (prctl's answers), caps ("none", or
 * the effective and permitted sets in hex: "eff/perm"), shadow
 * ("readable" or "denied": /etc/shadow). Nothing it tries can run a
 * program or change anything outside the process.
 */
void tg_sandbox_probe(char *out, size_t outlen);

#endif
