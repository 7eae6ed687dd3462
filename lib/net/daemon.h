/*
 * net/daemon — the runtime every tlsgate daemon is built on.
 *
 * It owns what all daemons share, so that each daemon's main.c only wires
 * its own modules to the loop:
 *   - the command line: -c FILE (or TLSGATE_CONF), -f (foreground), -h;
 *   - the bootstrap config and logging (stderr in the foreground, syslog
 *     otherwise);
 *   - one libevent loop;
 *   - listening sockets, opened while still privileged;
 *   - the pid file (locked, so a second instance refuses to start);
 *   - the privilege drop to the configured user, checked afterwards
 *     (root must not be regainable);
 *   - signals: SIGTERM/SIGINT ask the daemon to stop gracefully (it finishes
 *     or hands back in-flight work, then calls tg_daemon_stopped; a second
 *     signal or the grace period ends the loop at once); SIGHUP reloads;
 *   - the frozen configuration snapshot: the bootstrap config plus whatever
 *     the daemon builds from the store. A reload (SIGHUP, or the store's
 *     generation counter moving) builds a new snapshot; if that fails the
 *     old one stays in force and the reason is logged. Sessions hold a
 *     reference to the snapshot they started with, so a swap never changes
 *     the rules under a session's feet.
 * It does not own the daemons' protocols, sessions or store queries.
 */
#ifndef TG_NET_DAEMON_H
#define TG_NET_DAEMON_H

#include <event2/event.h>
#include <event2/listener.h>
#include <stdint.h>

#include "core/conf.h"
#include "net/http.h"
#include "util/err.h"

struct tg_daemon;

/* A frozen configuration: never changed after it is built. */
struct tg_snapshot {
	int refs;
	int64_t generation;	/* the store generation it was built from */
	struct tg_conf *conf;	/* owned */
	void *data;		/* owned; the daemon's own view (ops) */
	void (*free_data)(void *data);
};

struct tg_daemon_ops {
	/*
	 * Build the daemon's own part of a snapshot from conf (borrowed) and
	 * the store; return it in *data. NULL ops member: no data. Returns 0 or
	 * -1 with err; on -1 the old snapshot stays.
	 */
	int (*snapshot_build)(struct tg_daemon *d, const struct tg_conf *conf,
	    void **data, struct tg_err *err);
	void (*snapshot_free)(void *data);
	/*
	 * In the final process, after the pid file and the drop to `user`,
	 * before the loop: open what the daemon works with, so that files
	 * made now belong to `user` (listeners are bound before, as root).
	 * Returns 0 or -1 with err (the daemon does not start). NULL: none.
	 */
	int (*start)(struct tg_daemon *d, struct tg_err *err);
	/* A new snapshot is in force (after start and after each reload). */
	void (*snapshot_changed)(struct tg_daemon *d);
	/*
	 * Stop gracefully: stop accepting, finish or hand back in-flight
	 * work, then call tg_daemon_stopped(). NULL: stop at once.
	 */
	void (*stop)(struct tg_daemon *d);
};

struct tg_daemon_args {
	const char *conf_path;	/* borrowed from argv; NULL = lookup */
	int foreground;
};

/*
 * Parse -c FILE, -f, -h. Returns 0, 1 when help was asked for (usage is in
 * err->msg), or -1 with err for bad usage.
 */
int tg_daemon_parse_args(int argc, char **argv, const char *prog,
    struct tg_daemon_args *args, struct tg_err *err);

/*
 * Load the config, set up logging and the loop, build the first snapshot.
 * name is the daemon's short name ("relayd"); ops and arg are borrowed and
 * must outlive the daemon. Fails at once, naming it, when an instance of
 * the daemon is running already (its pid file is locked), before anything
 * is bound or made.
 */
int tg_daemon_new(const char *name, const struct tg_daemon_args *args,
    const struct tg_daemon_ops *ops, void *arg, struct tg_daemon **out,
    struct tg_err *err);

/* NULL-safe. Releases the loop, the snapshot and the pid file. */
void tg_daemon_free(struct tg_daemon *d);

/* Borrowed accessors. */
struct event_base *tg_daemon_base(struct tg_daemon *d);
void *tg_daemon_arg(struct tg_daemon *d);
const char *tg_daemon_name(const struct tg_daemon *d);

/* The snapshot in force, with a new reference: release with
 * tg_snapshot_unref. */
struct tg_snapshot *tg_daemon_snapshot(struct tg_daemon *d);
void tg_snapshot_unref(struct tg_snapshot *snap);

/*
 * Listen on every address in list (borrowed) with cb; call before
 * tg_daemon_run so the sockets are bound while privileged.
 */
int tg_daemon_listen(struct tg_daemon *d, const struct tg_conf_addr *list,
    size_t n, evconnlistener_cb cb, void *arg, struct tg_err *err);

/*
 * Bind the HTTP server *hp (net/http; hp borrowed, outlives d) to the
 * addresses of list, before tg_daemon_run: one address on the server's
 * own socket (tg_http_listen: its thread accepts there, a hand-off less
 * per connection), several through the runtime's listeners, each
 * connection handed to *hp (refused once the daemon has set *hp to NULL).
 * 0, or -1 with err.
 */
int tg_daemon_http_listen(struct tg_daemon *d, struct tg_http **hp,
    const struct tg_conf_addrs *list, struct tg_err *err);

/*
 * Daemonise unless foreground, write the pid file, drop privileges, call
 * ops->start, run the loop until stopped. Returns 0 after a clean stop,
 * -1 with err.
 */
int tg_daemon_run(struct tg_daemon *d, struct tg_err *err);

/* Called by the daemon when its graceful stop has finished. */
void tg_daemon_stopped(struct tg_daemon *d);

/* Request a graceful stop, as SIGTERM would. */
void tg_daemon_request_stop(struct tg_daemon *d);

/* Number of successful reloads so far (for tests and status). */
unsigned tg_daemon_reload_count(const struct tg_daemon *d);

#endif
