/*
 * Unit tests of core/hookrun with a real runner and real /bin/sh
 * programs: the arguments arrive as given (spaces and all), the exit
 * status and the output come back (control characters as spaces, capped
 * at TG_HOOKRUN_OUTPUT_MAX), nothing of the daemon's environment or
 * descriptors reaches the program, a program past its deadline is killed
 * with its children, bad arguments and paths are refused, and the runner
 * ends when its daemon closes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/hookrun.h"

static char dir[64];
static char prog[128];

/* A program: #!/bin/sh and body. */
static void
write_prog(const char *body)
{
	FILE *f = fopen(prog, "w");

	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(prog, 0700), 0);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tg-hookrun-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(prog, sizeof(prog), "%s/hook", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_run(void **state)
{
	const char *args[] = { "add", "gw.test.", "3 1 1 ab cd", "x\ty" };
	struct tg_hookrun *h;
	char out[TG_HOOKRUN_OUTPUT_MAX + 1];
	struct tg_err err;
	int status;

	(void)state;
	write_prog("printf '%s|' \"$#\" \"$1\" \"$2\" \"$3\" \"$4\"\n"
	    "echo \"env=$(env | grep -v '^PWD=' | grep -v '^SHLVL=' |"
	    " grep -v '^_=' | tr '\\n' ' ')\"\n"
	    "ls /proc/$$/fd | wc -l >&2\n"
	    "exit 3");
	setenv("TG_SECRET_OF_THE_DAEMON", "leak", 1);
	assert_int_equal(tg_hookrun_start(prog, &h, &err), 0);
	assert_string_equal(tg_hookrun_path(h), prog);
	assert_int_equal(tg_hookrun_run(h, args, 4, 5000, &status, out,
	    sizeof(out), &err), 0);
	assert_int_equal(status, 3);
	/* Newlines as spaces; only the fixed PATH; stdin, stdout, stderr
	 * (and the one ls opens) are all its descriptors. */
	assert_string_equal(out, "4|add|gw.test.|3 1 1 ab cd|x y|"
	    "env=PATH=/usr/sbin:/usr/bin:/sbin:/bin  4 ");
	/* Twice: the runner stays. */
	write_prog("echo second; exit 0");
	assert_int_equal(tg_hookrun_run(h, args, 0, 5000, &status, out,
	    sizeof(out), &err), 0);
	assert_int_equal(status, 0);
	assert_string_equal(out, "second ");
	tg_hookrun_free(h);
	unsetenv("TG_SECRET_OF_THE_DAEMON");
}

/* Whether pid runs (a zombie waiting for its reaper does not). */
static int
alive(int pid)
{
	char path[64], st = 'X';
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%*d %*s %c", &st) != 1)
		st = 'X';
	fclose(f);
	return st != 'Z' && st != 'X';
}

static void
test_deadline_and_limits(void **state)
{
	const char *args[] = { "x" };
	char out[64], big[TG_HOOKRUN_ARG_MAX + 2], pidfile[128];
	struct timespec t0, t1;
	struct tg_hookrun *h;
	struct tg_err err;
	FILE *f;
	int status, child = 0;
	long ms;

	(void)state;
	snprintf(pidfile, sizeof(pidfile), "%s/child", dir);
	write_prog("sleep 30 & echo $! > \"$(dirname \"$0\")/child\"\n"
	    "yes | head -c 100000\nsleep 30");
	assert_int_equal(tg_hookrun_start(prog, &h, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(tg_hookrun_run(h, args, 1, 300, &status, out,
	    sizeof(out), &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) /
	    1000000;
	assert_int_equal(status, TG_HOOKRUN_KILLED);
	assert_true(ms >= 300 && ms < 3000);
	assert_int_equal(strlen(out), sizeof(out) - 1);	/* capped */
	assert_memory_equal(out, "y y y ", 6);
	/* Its background child went with it (the process group). */
	f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &child), 1);
	fclose(f);
	usleep(100000);
	assert_false(alive(child));
	/* Refused before anything runs. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	args[0] = big;
	assert_int_equal(tg_hookrun_run(h, args, 1, 1000, &status, out,
	    sizeof(out), &err), -1);
	assert_int_equal(err.cls, TG_ERR_PERM);
	args[0] = "a\nb";
	assert_int_equal(tg_hookrun_run(h, args, 1, 1000, &status, out,
	    sizeof(out), &err), -1);
	tg_hookrun_free(h);
	assert_int_equal(tg_hookrun_start("relative/hook", &h, &err), -1);
	assert_int_equal(tg_hookrun_start("/nonexistent/hook", &h, &err), -1);
	assert_int_equal(chmod(prog, 0600), 0);
	assert_int_equal(tg_hookrun_start(prog, &h, &err), -1);
}

/* A program that ends but leaves a child holding its output: its status
 * comes back when it ends, not when the child does. */
static void
test_child_left_behind(void **state)
{
	struct timespec t0, t1;
	struct tg_hookrun *h;
	struct tg_err err;
	char out[64];
	int status;
	long ms;

	(void)state;
	write_prog("sleep 5 &\necho done\nexit 4");
	assert_int_equal(tg_hookrun_start(prog, &h, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(tg_hookrun_run(h, NULL, 0, 10000, &status, out,
	    sizeof(out), &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) /
	    1000000;
	assert_int_equal(status, 4);
	assert_string_equal(out, "done ");
	assert_true(ms < 2000);
	tg_hookrun_free(h);
}

static void
test_not_started(void **state)
{
	struct tg_hookrun *h;
	struct tg_err err;
	char out[64];
	int status;

	(void)state;
	write_prog("exit 0");
	assert_int_equal(tg_hookrun_start(prog, &h, &err), 0);
	/* Gone after the start: exec fails, 127 as a shell says it. */
	assert_int_equal(unlink(prog), 0);
	assert_int_equal(tg_hookrun_run(h, NULL, 0, 1000, &status, out,
	    sizeof(out), &err), 0);
	assert_int_equal(status, 127);
	tg_hookrun_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline_and_limits,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_left_behind, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_not_started, setup,
		    teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
