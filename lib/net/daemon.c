/*
 * net/daemon — see daemon.h.
 */
#include "net/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/privs.h"
#include "core/sandbox.h"
#include "store/store.h"
#include "util/limits.h"
#include "util/path.h"

#define DAEMON_LISTENERS_MAX	16
#define DAEMON_GRACE_S		30

struct tg_daemon {
	char name[32];
	const struct tg_daemon_ops *ops;	/* borrowed */
	void *arg;				/* borrowed */
	struct tg_daemon_args args;
	struct event_base *base;		/* owned */
	struct tg_snapshot *snap;		/* owned reference */
	struct tg_store *store;			/* owned; generation polling */
	struct event *sig_term, *sig_int, *sig_hup, *poll, *grace;
	struct evconnlistener *listeners[DAEMON_LISTENERS_MAX];
	size_t nlisteners;
	char pidfile[TG_PATH_MAX];
	int pid_fd;
	int stopping;
	unsigned reloads;
};

static const char daemon_usage[] =
    "usage: %s [-f] [-c FILE]\n"
    "  -c FILE  bootstrap config (default: $TLSGATE_CONF, then "
    TG_SYSCONFDIR "/tlsgate/tlsgate.conf)\n"
    "  -f       stay in the foreground and log to stderr\n"
    "  -h       this help\n";

int
tg_daemon_parse_args(int argc, char **argv, const char *prog,
    struct tg_daemon_args *args, struct tg_err *err)
{
	int c;

	memset(args, 0, sizeof(*args));
	optind = 1;
	while ((c = getopt(argc, argv, "c:fh")) != -1) {
		switch (c) {
		case 'c':
			args->conf_path = optarg;
			break;
		case 'f':
			args->foreground = 1;
			break;
		case 'h':
			tg_err_set(err, TG_ERR_NONE, NULL, daemon_usage, prog);
			return 1;
		default:
			return tg_err_set(err, TG_ERR_PERM, NULL, daemon_usage,
			    prog);
		}
	}
	if (optind != argc)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s: unexpected argument '%s'", prog, argv[optind]);
	return 0;
}

void
tg_snapshot_unref(struct tg_snapshot *snap)
{
	if (snap == NULL || --snap->refs > 0)
		return;
	if (snap->free_data != NULL && snap->data != NULL)
		snap->free_data(snap->data);
	tg_conf_free(snap->conf);
	free(snap);
}

struct tg_snapshot *
tg_daemon_snapshot(struct tg_daemon *d)
{
	d->snap->refs++;
	return d->snap;
}

/* Build a snapshot around conf (taken). */
static struct tg_snapshot *
daemon_snapshot_build(struct tg_daemon *d, struct tg_conf **conf,
    struct tg_err *err)
{
	struct tg_snapshot *snap;
	int64_t gen = 0;

	if (d->store != NULL && tg_store_generation(d->store, &gen, err) != 0)
		return NULL;
	snap = calloc(1, sizeof(*snap));
	if (snap == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	snap->refs = 1;
	snap->generation = gen;
	snap->free_data = d->ops->snapshot_free;
	if (d->ops->snapshot_build != NULL &&
	    d->ops->snapshot_build(d, *conf, &snap->data, err) != 0) {
		free(snap);
		return NULL;
	}
	snap->conf = *conf;
	*conf = NULL;
	return snap;
}

static void
daemon_snapshot_install(struct tg_daemon *d, struct tg_snapshot *snap)
{
	tg_snapshot_unref(d->snap);
	d->snap = snap;
	if (d->ops->snapshot_changed != NULL)
		d->ops->snapshot_changed(d);
}

/* A struct tg_conf is plain data (conf.h), so a copy is a memcpy. */
static struct tg_conf *
daemon_conf_copy(const struct tg_conf *conf)
{
	struct tg_conf *copy = malloc(sizeof(*copy));

	if (copy != NULL)
		memcpy(copy, conf, sizeof(*copy));
	return copy;
}

/*
 * Reload: reread the config file when reread_conf (SIGHUP), otherwise keep
 * a copy of the current one (store change). Failure keeps the old snapshot.
 */
static void
daemon_reload(struct tg_daemon *d, int reread_conf, const char *why)
{
	struct tg_conf *conf = NULL;
	struct tg_snapshot *snap;
	struct tg_err err;

	tg_err_clear(&err);
	if (reread_conf) {
		if (tg_conf_load(d->args.conf_path, &conf, &err) != 0 ||
		    tg_conf_check_reload(d->snap->conf, conf, &err) != 0)
			goto fail;
	} else if ((conf = daemon_conf_copy(d->snap->conf)) == NULL) {
		tg_err_set(&err, TG_ERR_TEMP, NULL, "out of memory");
		goto fail;
	}
	if ((snap = daemon_snapshot_build(d, &conf, &err)) == NULL)
		goto fail;
	daemon_snapshot_install(d, snap);
	d->reloads++;
	tg_log_info(NULL, "event=reload result=ok reason=%s generation=%lld",
	    why, (long long)snap->generation);
	return;
fail:
	tg_conf_free(conf);
	tg_log_err(NULL, "event=reload result=failed reason=%s error=\"%s\" "
	    "action=kept previous configuration", why, err.msg);
}

static void
daemon_on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct tg_daemon *d = arg;
	struct tg_err err;
	int64_t gen;

	(void)fd;
	(void)what;
	if (d->store == NULL || d->stopping)
		return;
	if (tg_store_generation(d->store, &gen, &err) != 0) {
		tg_log_warn(NULL, "event=store-poll result=failed error=\"%s\"",
		    err.msg);
		return;
	}
	if (gen != d->snap->generation)
		daemon_reload(d, 0, "store-changed");
}

static void
daemon_on_grace(evutil_socket_t fd, short what, void *arg)
{
	struct tg_daemon *d = arg;

	(void)fd;
	(void)what;
	tg_log_warn(NULL, "event=stop result=forced after=%ds", DAEMON_GRACE_S);
	event_base_loopbreak(d->base);
}

void
tg_daemon_stopped(struct tg_daemon *d)
{
	event_base_loopexit(d->base, NULL);
}

void
tg_daemon_request_stop(struct tg_daemon *d)
{
	struct timeval grace = { DAEMON_GRACE_S, 0 };
	size_t i;

	if (d->stopping) {
		/* A second request: do not wait any longer. */
		event_base_loopbreak(d->base);
		return;
	}
	d->stopping = 1;
	tg_log_info(NULL, "event=stop result=requested");
	for (i = 0; i < d->nlisteners; i++)
		evconnlistener_disable(d->listeners[i]);
	d->grace = evtimer_new(d->base, daemon_on_grace, d);
	if (d->grace != NULL)
		evtimer_add(d->grace, &grace);
	if (d->ops->stop != NULL)
		d->ops->stop(d);
	else
		tg_daemon_stopped(d);
}

static void
daemon_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct tg_daemon *d = arg;

	(void)what;
	if (sig == SIGHUP)
		daemon_reload(d, 1, "sighup");
	else
		tg_daemon_request_stop(d);
}

/*
 * A second instance is refused before it binds or makes anything: its
 * listeners would fail first ("address in use") and hide the reason.
 * The running instance holds the lock of its pid file (daemon_pidfile);
 * this only looks. 0 when none runs, or -1 with err naming it.
 */
static int
daemon_running(const char *name, const struct tg_conf *conf,
    struct tg_err *err)
{
	char path[TG_PATH_MAX], line[32];
	struct flock fl;
	ssize_t n;
	int fd;

	if (tg_path_fmt(path, sizeof(path), "%s/tlsgate-%s.pid",
	    conf->run_dir, name) != 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type == F_UNLCK) {
		close(fd);
		return 0;
	}
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	line[n > 0 ? n : 0] = '\0';
	return tg_err_set(err, TG_ERR_PERM, NULL,
	    "tlsgate-%s is already running (pid %.*s, %s)", name,
	    (int)strcspn(line, "\n"), line, path);
}

int
tg_daemon_new(const char *name, const struct tg_daemon_args *args,
    const struct tg_daemon_ops *ops, void *arg, struct tg_daemon **out,
    struct tg_err *err)
{
	struct tg_daemon *d;
	struct tg_conf *conf = NULL;
	char ident[48];

	*out = NULL;
	if (tg_conf_load(args->conf_path, &conf, err) != 0)
		return -1;
	if (daemon_running(name, conf, err) != 0) {
		tg_conf_free(conf);
		return -1;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		tg_conf_free(conf);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->ops = ops;
	d->arg = arg;
	d->args = *args;
	d->pid_fd = -1;
	snprintf(ident, sizeof(ident), "tlsgate-%s", name);
	tg_log_open(ident, args->foreground || conf->log_dest == TG_LOG_STDERR ?
	    TG_LOG_STDERR : TG_LOG_SYSLOG, conf->log_level);
	d->base = event_base_new();
	if (d->base == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "cannot create event loop");
		goto fail;
	}
	/* The store is optional for polling: a daemon may run before init. */
	if (tg_store_open_readonly(conf->state_dir, &d->store, err) != 0) {
		tg_log_warn(NULL, "event=store-open result=unavailable "
		    "error=\"%s\" action=no store-change reloads until restart",
		    err->msg);
		d->store = NULL;
	}
	d->snap = daemon_snapshot_build(d, &conf, err);
	if (d->snap == NULL)
		goto fail;
	*out = d;
	return 0;
fail:
	tg_conf_free(conf);
	tg_daemon_free(d);
	return -1;
}

void
tg_daemon_free(struct tg_daemon *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nlisteners; i++)
		evconnlistener_free(d->listeners[i]);
	if (d->sig_term != NULL)
		event_free(d->sig_term);
	if (d->sig_int != NULL)
		event_free(d->sig_int);
	if (d->sig_hup != NULL)
		event_free(d->sig_hup);
	if (d->poll != NULL)
		event_free(d->poll);
	if (d->grace != NULL)
		event_free(d->grace);
	tg_snapshot_unref(d->snap);
	tg_store_close(d->store);
	if (d->pid_fd >= 0) {
		unlink(d->pidfile);
		close(d->pid_fd);
	}
	if (d->base != NULL)
		event_base_free(d->base);
	free(d);
}

struct event_base *
tg_daemon_base(struct tg_daemon *d)
{
	return d->base;
}

void *
tg_daemon_arg(struct tg_daemon *d)
{
	return d->arg;
}

const char *
tg_daemon_name(const struct tg_daemon *d)
{
	return d->name;
}

unsigned
tg_daemon_reload_count(const struct tg_daemon *d)
{
	return d->reloads;
}

/* The socket address of a (the text in spec, for messages and logs). */
static int
daemon_addr(const struct tg_conf_addr *a, struct sockaddr_storage *ss,
    int *sslen, char *spec, size_t speclen, struct tg_err *err)
{
	if (a->host[0] == '\0')
		snprintf(spec, speclen, "[::]:%u", a->port);
	else if (strchr(a->host, ':') != NULL)
		snprintf(spec, speclen, "[%s]:%u", a->host, a->port);
	else
		snprintf(spec, speclen, "%s:%u", a->host, a->port);
	*sslen = sizeof(*ss);
	memset(ss, 0, sizeof(*ss));
	if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)ss,
	    sslen) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "cannot parse listen address %s", spec);
	return 0;
}

int
tg_daemon_listen(struct tg_daemon *d, const struct tg_conf_addr *list,
    size_t n, evconnlistener_cb cb, void *arg, struct tg_err *err)
{
	struct sockaddr_storage ss;
	int sslen;
	char spec[TG_DNAME_MAX + 16];
	struct evconnlistener *l;
	size_t k;

	for (k = 0; k < n; k++) {
		if (d->nlisteners == DAEMON_LISTENERS_MAX)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "more than %d listen addresses",
			    DAEMON_LISTENERS_MAX);
		if (daemon_addr(&list[k], &ss, &sslen, spec, sizeof(spec),
		    err) != 0)
			return -1;
		l = evconnlistener_new_bind(d->base, cb, arg,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
		    LEV_OPT_CLOSE_ON_EXEC, 128, (struct sockaddr *)&ss, sslen);
		if (l == NULL)
			return tg_err_set(err, TG_ERR_TEMP, NULL,
			    "cannot listen on %s: %s", spec, strerror(errno));
		d->listeners[d->nlisteners++] = l;
		tg_log_info(NULL, "event=listen address=%s", spec);
	}
	return 0;
}

/* A connection on a runtime listener of an HTTP server: arg is where
 * the daemon keeps the server (NULL once freed: refused). */
static void
daemon_http_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct tg_http *h = *(struct tg_http **)arg;

	(void)l;
	if (h == NULL) {
		close(fd);
		return;
	}
	(void)tg_http_accept(h, fd, sa, salen);
}

int
tg_daemon_http_listen(struct tg_daemon *d, struct tg_http **hp,
    const struct tg_conf_addrs *list, struct tg_err *err)
{
	struct sockaddr_storage ss;
	char spec[TG_DNAME_MAX + 16];
	int sslen;

	if (list->n != 1)
		return tg_daemon_listen(d, list->v, list->n,
		    daemon_http_accept, hp, err);
	if (daemon_addr(&list->v[0], &ss, &sslen, spec, sizeof(spec),
	    err) != 0)
		return -1;
	if (tg_http_listen(*hp, (struct sockaddr *)&ss, sslen, err) != 0) {
		tg_err_prefix(err, "%s", spec);
		return -1;
	}
	tg_log_info(NULL, "event=listen address=%s", spec);
	return 0;
}

/* Write and lock the pid file; a locked file means another instance. */
static int
daemon_pidfile(struct tg_daemon *d, const struct tg_conf *conf,
    struct tg_err *err)
{
	char line[32];
	int fd, n;

	if (mkdir(conf->run_dir, 0755) != 0 && errno != EEXIST)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "cannot create %s: %s", conf->run_dir, strerror(errno));
	if (tg_path_fmt(d->pidfile, sizeof(d->pidfile), "%s/tlsgate-%s.pid",
	    conf->run_dir, d->name) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "run_dir is too long");
	fd = open(d->pidfile, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "cannot open %s: %s",
		    d->pidfile, strerror(errno));
	if (lockf(fd, F_TLOCK, 0) != 0) {
		n = (int)read(fd, line, sizeof(line) - 1);
		line[n > 0 ? n : 0] = '\0';
		close(fd);
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "tlsgate-%s is already running (pid %.*s, %s)", d->name,
		    (int)strcspn(line, "\n"), line, d->pidfile);
	}
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || write(fd, line, (size_t)n) != n) {
		close(fd);
		return tg_err_set(err, TG_ERR_PERM, NULL, "cannot write %s",
		    d->pidfile);
	}
	d->pid_fd = fd;
	return 0;
}

/* Become conf->user (core/privs), when root and a user is set. */
static int
daemon_drop_privileges(const struct tg_conf *conf, struct tg_err *err)
{
	if (geteuid() != 0)
		return 0;
	if (conf->user[0] == '\0') {
		tg_log_warn(NULL, "event=privileges result=kept-root "
		    "reason=\"user is empty in the config\"");
		return 0;
	}
	if (tg_privs_drop(conf->user, err) != 0)
		return -1;
	tg_log_info(NULL, "event=privileges result=dropped user=%s",
	    conf->user);
	return 0;
}

/*
 * Everything is bound and open: give up what a daemon never needs again
 * (core/sandbox). TLSGATE_SANDBOX_PROBE in the environment logs what a
 * forbidden attempt gets (a test hook; the attempts are harmless).
 */
static int
daemon_sandbox(struct tg_err *err)
{
	char probe[256];
	int filtered;

	if (tg_sandbox_enter(TG_SANDBOX_NO_LISTEN, &filtered, err) != 0)
		return -1;
	tg_log_info(NULL, "event=sandbox result=entered filter=%s",
	    filtered ? "on" : "unavailable");
	if (getenv("TLSGATE_SANDBOX_PROBE") != NULL) {
		tg_sandbox_probe(probe, sizeof(probe));
		tg_log_info(NULL, "event=sandbox-probe %s", probe);
	}
	return 0;
}

static int
daemon_detach(struct tg_err *err)
{
	pid_t pid;
	int fd;

	pid = fork();
	if (pid < 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "fork: %s",
		    strerror(errno));
	if (pid > 0)
		_exit(0);	/* the parent's job is done */
	if (setsid() < 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "setsid: %s",
		    strerror(errno));
	if (chdir("/") != 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "chdir /: %s",
		    strerror(errno));
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

static int
daemon_add_events(struct tg_daemon *d, struct tg_err *err)
{
	struct timeval poll_iv = { 0, 0 };

	d->sig_term = evsignal_new(d->base, SIGTERM, daemon_on_signal, d);
	d->sig_int = evsignal_new(d->base, SIGINT, daemon_on_signal, d);
	d->sig_hup = evsignal_new(d->base, SIGHUP, daemon_on_signal, d);
	d->poll = event_new(d->base, -1, EV_PERSIST, daemon_on_poll, d);
	if (d->sig_term == NULL || d->sig_int == NULL || d->sig_hup == NULL ||
	    d->poll == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	poll_iv.tv_sec = d->snap->conf->store_poll_interval;
	if (poll_iv.tv_sec <= 0)
		poll_iv.tv_sec = 1;
	evsignal_add(d->sig_term, NULL);
	evsignal_add(d->sig_int, NULL);
	evsignal_add(d->sig_hup, NULL);
	evtimer_add(d->poll, &poll_iv);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int
tg_daemon_run(struct tg_daemon *d, struct tg_err *err)
{
	const struct tg_conf *conf = d->snap->conf;

	if (!d->args.foreground && daemon_detach(err) != 0)
		return -1;
	/*
	 * The fork changed the process: libevent must know, and an sqlite
	 * connection must never be used across fork(), so reopen it.
	 */
	if (!d->args.foreground) {
		if (event_reinit(d->base) != 0)
			return tg_err_set(err, TG_ERR_TEMP, NULL,
			    "event_reinit failed");
		if (d->store != NULL) {
			tg_store_close(d->store);
			d->store = NULL;
			if (tg_store_open_readonly(conf->state_dir, &d->store,
			    err) != 0)
				return -1;
		}
	}
	if (daemon_pidfile(d, conf, err) != 0)
		return -1;
	if (daemon_drop_privileges(conf, err) != 0)
		return -1;
	if (d->ops->start != NULL && d->ops->start(d, err) != 0)
		return -1;
	if (daemon_sandbox(err) != 0)
		return -1;
	if (daemon_add_events(d, err) != 0)
		return -1;
	if (d->ops->snapshot_changed != NULL)
		d->ops->snapshot_changed(d);
	tg_log_info(NULL, "event=start result=ok pid=%ld version=%s",
	    (long)getpid(), TG_VERSION);
	if (event_base_dispatch(d->base) < 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "event loop failed");
	tg_log_info(NULL, "event=stop result=done");
	return 0;
}
