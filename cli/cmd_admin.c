/*
 * tlsgate admin add|passwd|remove|list — the users of the admin console.
 *
 * A password is typed twice on the terminal with echo off (/dev/tty, so
 * that it never passes through a pipe or the shell's history), or, with
 * --password-stdin, read as one line from standard input for scripts.
 * It must pass tg_password_check_new (12 to 1024 bytes, no control
 * characters) and is stored only as an scrypt PHC string
 * (admin/password, RELIABILITY S-03); neither the password nor its hash
 * is ever printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "admin/password.h"
#include "cli.h"
#include "util/clock.h"

#define ADMIN_PW_BUF	(TG_PASSWORD_MAX + 2)	/* one byte too many, NUL */

static const char admin_usage[] =
    "usage: tlsgate admin add USER [--password-stdin]\n"
    "       tlsgate admin passwd USER [--password-stdin]\n"
    "       tlsgate admin remove USER\n"
    "       tlsgate admin list [--json]\n"
    "Users of the admin console. The password is asked twice on the\n"
    "terminal, or read as one line from standard input with\n"
    "--password-stdin; it must be 12 to 1024 bytes without control\n"
    "characters, and is stored only as an scrypt hash.\n";

static volatile sig_atomic_t admin_signal;

static void
admin_on_signal(int sig)
{
	admin_signal = sig;
}

/*
 * One line from fd into buf (ADMIN_PW_BUF bytes), the newline dropped;
 * bytes beyond TG_PASSWORD_MAX + 1 are read and forgotten, so that the
 * length still says "too long". The length, or -1 on a read error, a
 * signal, or an end of input before any byte.
 */
static ssize_t
admin_read_line(int fd, char *buf)
{
	size_t n = 0;
	ssize_t r;
	char c;

	for (;;) {
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR && admin_signal == 0)
			continue;
		if (r < 0 || (r == 0 && n == 0))
			return -1;
		if (r == 0 || c == '\n')
			break;
		if (n < ADMIN_PW_BUF - 1)
			buf[n++] = c;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

/* Prompt on the terminal fd, echo off, and read a line. */
static ssize_t
admin_tty_line(int fd, const char *prompt, char *buf)
{
	if (write(fd, prompt, strlen(prompt)) < 0)
		return -1;
	return admin_read_line(fd, buf);
}

/* The password typed twice on fd (a terminal, echo already off). */
static int
admin_tty_twice(int fd, const char *user, char *pw, size_t *len)
{
	char prompt[TG_STORE_USER_MAX + 64], again[ADMIN_PW_BUF];
	ssize_t a, b;
	int rc = CLI_OK;

	snprintf(prompt, sizeof(prompt), "New password for %.*s: ",
	    TG_STORE_USER_MAX, user);
	if ((a = admin_tty_line(fd, prompt, pw)) < 0 ||
	    (b = admin_tty_line(fd, "Type it again: ", again)) < 0) {
		if (admin_signal != 0 && write(fd, "\n", 1) < 0) {
			/* only cosmetic: the message below still goes */
		}
		rc = cli_fail(CLI_USAGE, admin_signal != 0 ? "interrupted" :
		    "no password read from the terminal");
	} else if (a != b || memcmp(pw, again, (size_t)a) != 0)
		rc = cli_fail(CLI_USAGE, "the two passwords differ");
	else
		*len = (size_t)a;
	OPENSSL_cleanse(again, sizeof(again));
	return rc;
}

/*
 * Ask for the password on /dev/tty with echo off, twice. Signals that
 * end the program are caught while echo is off, so that the terminal
 * gets its echo back before we go.
 */
static int
admin_ask(const char *user, char *pw, size_t *len)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa, old_sa[sizeof(sigs) / sizeof(sigs[0])];
	struct termios old, quiet;
	size_t i;
	int fd, rc;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || tcgetattr(fd, &old) != 0) {
		if (fd >= 0)
			close(fd);
		return cli_fail(CLI_USAGE, "no terminal to ask for the "
		    "password on (use --password-stdin)");
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = admin_on_signal;	/* no SA_RESTART: read ends */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, &old_sa[i]);
	quiet = old;
	quiet.c_lflag &= (tcflag_t)~ECHO;
	quiet.c_lflag |= ECHONL;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0)
		rc = cli_fail(CLI_USAGE, "cannot turn off echo on the "
		    "terminal: %s", strerror(errno));
	else
		rc = admin_tty_twice(fd, user, pw, len);
	tcsetattr(fd, TCSAFLUSH, &old);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &old_sa[i], NULL);
	close(fd);
	return rc;
}

/* A new password (stdin or terminal), checked and hashed into phc. */
static int
admin_new_hash(const char *user, int from_stdin, char *phc, size_t phclen)
{
	char pw[ADMIN_PW_BUF];
	struct tg_err err;
	size_t len = 0;
	ssize_t n;
	int rc = CLI_OK;

	if (from_stdin) {
		if ((n = admin_read_line(STDIN_FILENO, pw)) < 0)
			rc = cli_fail(CLI_USAGE, "no password on standard "
			    "input");
		else
			len = (size_t)n;
	} else {
		rc = admin_ask(user, pw, &len);
	}
	if (rc == CLI_OK && tg_password_check_new(pw, len, &err) != 0)
		rc = cli_fail(CLI_USAGE, "%s", err.msg);
	if (rc == CLI_OK &&
	    tg_password_hash(pw, len, 0, phc, phclen, &err) != 0)
		rc = cli_fail(CLI_USAGE, "%s", err.msg);
	OPENSSL_cleanse(pw, sizeof(pw));
	return rc;
}

/* argv: SUB USER [--password-stdin], in any order after SUB. */
static int
admin_user_args(int argc, char **argv, int stdin_ok, const char **user,
    int *from_stdin)
{
	int i;

	*user = NULL;
	*from_stdin = 0;
	for (i = 1; i < argc; i++) {
		if (stdin_ok && strcmp(argv[i], "--password-stdin") == 0)
			*from_stdin = 1;
		else if (argv[i][0] == '-')
			return cli_fail(CLI_USAGE, "unknown option '%s' (see "
			    "'tlsgate admin --help')", argv[i]);
		else if (*user == NULL)
			*user = argv[i];
		else
			return cli_fail(CLI_USAGE, "unexpected argument '%s'",
			    argv[i]);
	}
	if (*user == NULL)
		return cli_fail(CLI_USAGE, "admin %s: which user? (tlsgate "
		    "admin %s USER)", argv[0], argv[0]);
	return CLI_OK;
}

/* Whether user exists: 1, 0, or -1 after printing why not known. */
static int
admin_exists(struct tg_store *st, const char *user)
{
	struct tg_store_admin a;
	struct tg_err err;
	int rc = tg_store_admin_get(st, user, &a, &err);

	OPENSSL_cleanse(&a, sizeof(a));
	if (rc < 0) {
		cli_fail(CLI_USAGE, "%s", err.msg);
		return -1;
	}
	return rc == 0;
}

/* add (set == 0) or passwd (set == 1). */
static int
admin_set(struct cli *cli, int argc, char **argv, int set)
{
	char phc[TG_PASSWORD_HASH_MAX + 1];
	const char *user;
	struct tg_store *st;
	struct tg_err err;
	int from_stdin, rc;

	if (admin_user_args(argc, argv, 1, &user, &from_stdin) != CLI_OK)
		return CLI_USAGE;
	if ((st = cli_store_open(cli, 0)) == NULL)
		return CLI_USAGE;
	rc = admin_exists(st, user);
	if (rc == 1 && !set)
		rc = cli_fail(CLI_USAGE, "admin user %s already exists", user);
	else if (rc == 0 && set)
		rc = cli_fail(CLI_USAGE, "unknown admin user %s", user);
	else if (rc >= 0)
		rc = admin_new_hash(user, from_stdin, phc, sizeof(phc));
	else
		rc = CLI_USAGE;
	if (rc == CLI_OK && (set ? tg_store_admin_set_hash(st, user, phc,
	    &err) : tg_store_admin_add(st, user, phc, &err)) != 0)
		rc = cli_fail(CLI_USAGE, "%s", err.msg);
	tg_store_close(st);
	OPENSSL_cleanse(phc, sizeof(phc));
	if (rc == CLI_OK)
		printf("%s admin user %s\n", set ? "changed the password of" :
		    "added", user);
	return rc;
}

static int
admin_add(struct cli *cli, int argc, char **argv)
{
	return admin_set(cli, argc, argv, 0);
}

static int
admin_passwd(struct cli *cli, int argc, char **argv)
{
	return admin_set(cli, argc, argv, 1);
}

static int
admin_remove(struct cli *cli, int argc, char **argv)
{
	const char *user;
	struct tg_store *st;
	struct tg_err err;
	int from_stdin, rc;

	if (admin_user_args(argc, argv, 0, &user, &from_stdin) != CLI_OK)
		return CLI_USAGE;
	if ((st = cli_store_open(cli, 0)) == NULL)
		return CLI_USAGE;
	rc = tg_store_admin_remove(st, user, &err);
	tg_store_close(st);
	if (rc == TG_STORE_NOTFOUND)
		return cli_fail(CLI_USAGE, "unknown admin user %s", user);
	if (rc != 0)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	printf("removed admin user %s\n", user);
	return CLI_OK;
}

static int
admin_list_one(const struct tg_store_admin *a, void *arg)
{
	json_t *list = arg;
	char created[32], last[32];

	tg_clock_format(a->created, created, sizeof(created));
	if (a->last_login > 0)
		tg_clock_format(a->last_login, last, sizeof(last));
	else
		snprintf(last, sizeof(last), "never");
	if (list != NULL)
		json_array_append_new(list, json_pack("{s:s, s:s, s:o}",
		    "username", a->username, "created", created,
		    "last_login", a->last_login > 0 ? json_string(last) :
		    json_null()));
	else
		printf("%-32s %-20s %s\n", a->username, created, last);
	return 0;
}

static int
admin_list(struct cli *cli, int argc, char **argv)
{
	struct tg_store *st;
	struct tg_err err;
	json_t *list = NULL;
	int rc;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0))
		return cli_fail(CLI_USAGE,
		    "usage: tlsgate admin list [--json]");
	if ((st = cli_store_open(cli, 1)) == NULL)
		return CLI_USAGE;
	if (argc == 2)
		list = json_array();
	else
		printf("%-32s %-20s %s\n", "USER", "CREATED", "LAST LOGIN");
	rc = tg_store_admin_list(st, admin_list_one, list, &err);
	tg_store_close(st);
	if (rc != 0) {
		json_decref(list);
		return cli_fail(CLI_USAGE, "%s", err.msg);
	}
	return list != NULL ? cli_print_json(list) : CLI_OK;
}

static const struct cli_command admin_commands[] = {
	{ "add", admin_add, "add a console user, asking for a password" },
	{ "passwd", admin_passwd, "set a console user's password" },
	{ "remove", admin_remove, "remove a console user" },
	{ "list", admin_list, "list the console users" },
	{ NULL, NULL, NULL }
};

int
cmd_admin(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && cli_wants_help(argc, argv)) {
		fputs(admin_usage, stdout);
		return CLI_OK;
	}
	return cli_dispatch(cli, "tlsgate admin", admin_commands, argc, argv);
}
