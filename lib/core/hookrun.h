/*
 * core/hookrun — running one administrator-configured program from a
 * daemon whose sandbox forbids running programs (core/sandbox).
 *
 * tg_hookrun_start forks a small runner process before the sandbox is
 * entered; it keeps the program's path it was given and nothing else of
 * the daemon. The daemon then asks it, over a socket pair, to run that
 * program with some arguments; the runner forks, runs it with stdin
 * from /dev/null, stdout and stderr into one pipe, a fixed PATH and an
 * otherwise empty environment, and answers with the exit status and the
 * first TG_HOOKRUN_OUTPUT_MAX bytes of what the program wrote (control
 * characters turned into spaces). A program still running at the
 * deadline is killed (SIGKILL to its process group). The runner ends when
 * the daemon closes its end (tg_hookrun_free, or the daemon's death).
 *
 * Limits: at most TG_HOOKRUN_ARGS_MAX arguments, each at most
 * TG_HOOKRUN_ARG_MAX bytes without NUL, CR or LF. One run at a time:
 * tg_hookrun_run blocks until the program has ended (or was killed); a
 * call from another thread meanwhile waits for it.
 */
#ifndef TG_CORE_HOOKRUN_H
#define TG_CORE_HOOKRUN_H

#include <stddef.h>

#include "util/err.h"

#define TG_HOOKRUN_ARGS_MAX	16
#define TG_HOOKRUN_ARG_MAX	512
#define TG_HOOKRUN_OUTPUT_MAX	1024

/* The exit status of a program killed at its deadline, or by a signal. */
#define TG_HOOKRUN_KILLED	(-1)

struct tg_hookrun;

/*
 * Fork the runner for the program at path (absolute, an executable
 * file). 0 with *out, or -1 with err (not absolute, not executable,
 * fork failed).
 */
int tg_hookrun_start(const char *path, struct tg_hookrun **out,
    struct tg_err *err);

/*
 * Run the program with args[0..n) as its arguments (argv[0] is the path),
 * at most timeout_ms. *status: its exit code, or TG_HOOKRUN_KILLED;
 * output (outlen >= 1) gets what it wrote, NUL-terminated. 0, or -1 with
 * err: a bad argument (TG_ERR_PERM), the runner gone or the program not
 * started (TG_ERR_TEMP).
 */
int tg_hookrun_run(struct tg_hookrun *h, const char *const *args, size_t n,
    int timeout_ms, int *status, char *output, size_t outlen,
    struct tg_err *err);

/* The path the runner runs. */
const char *tg_hookrun_path(const struct tg_hookrun *h);

/* Close the runner's socket (it exits) and reap it. NULL-safe. */
void tg_hookrun_free(struct tg_hookrun *h);

#endif
