/*
 * controllerd's own parts (daemons/controllerd/).
 *
 * main.c          the daemon: the certificate watch, the timers
 * ctl_rollover.c  the DANE rollover of the MX name (dane.* settings)
 * ctl_selfcheck.c the MX checked as an outside sender checks it
 * ctl_acme.c      ACME certificates, renewed on a worker thread
 * ctl_admin.c     the web console and its admin API (HTTPS)
 * ctl_alert.c     alerts: errors and expiring certificates to a program
 * web_files.c     the console's files (web/), made at build time
 *                 (scripts/embed_web.sh)
 */
#ifndef TG_CTL_H
#define TG_CTL_H

#include <stddef.h>

#include "core/conf.h"
#include "core/hookrun.h"
#include <event2/event.h>
#include "tls/rollover.h"
#include "net/daemon.h"

/* Whether the DANE rollover is on: dane.update_server or
 * dane.update_hook set. */
int ctl_rollover_enabled(const struct tg_conf *conf);

/*
 * One look at the rollover: plan it (tls/rollover), do at most one step
 * and record it in the store. Changes go by RFC 2136 to
 * dane.update_server, or through hook (the runner of dane.update_hook,
 * started before the sandbox; NULL when it is not set). Returns the
 * seconds until the next look, or 0 when the rollover is off.
 */
long ctl_rollover_run(const struct tg_conf *conf, struct tg_hookrun *hook);

/*
 * Check the first hosted domain as a DANE-enforcing sender would and log
 * the verdict on our MX host (an error when it does not verify); why
 * names the occasion. Blocks for the check (seconds). Returns the
 * verdict; when seen is not NULL, the TLSA 3 1 1 digests published for
 * our MX (lower-case hex) go to seen[0..*nseen), at most max.
 */
enum tg_rollover_seen ctl_selfcheck_run(const struct tg_conf *conf,
    const char *why, char (*seen)[TG_ROLLOVER_DIGEST_LEN + 1], size_t max,
    size_t *nseen);

/* ---- alerts (ctl_alert.c) ---- */

struct ctl_alerts;

/*
 * Start the runner of the alert program at path (before the sandbox) and
 * tap the log on this thread, the loop's: alerts run from base. 0, or -1
 * with err.
 */
int ctl_alerts_start(struct event_base *base, const char *path,
    struct ctl_alerts **out, struct tg_err *err);

/* Untap the log, end the runner. NULL-safe. */
void ctl_alerts_free(struct ctl_alerts *a);

/* ACME renewals (acme.* settings): the state between looks. */
struct ctl_acme;

struct ctl_acme *ctl_acme_new(void);
/* The runner of dane.update_hook (borrowed, outlives a), for dns-01
 * answers made through it; NULL: none. */
void ctl_acme_set_hook(struct ctl_acme *a, struct tg_hookrun *hook);
/* Waits for a running job's thread. NULL-safe. */
void ctl_acme_free(struct ctl_acme *a);

/*
 * Look for certificates that want an ACME certificate under conf and
 * start a job for them on a worker thread. Returns 1 while a job runs
 * (also one started earlier: then nothing new is looked at), else 0.
 */
int ctl_acme_look(struct ctl_acme *a, const struct tg_conf *conf);

/* On the loop: has the job ended? Logs its results and returns 0 once it
 * has (and when none runs), 1 while it runs. */
int ctl_acme_poll(struct ctl_acme *a);

/* ---- the console (ctl_admin.c) ---- */

/* A file of the console, embedded: served at path with content_type. */
struct ctl_web_file {
	const char *path;		/* "/", "/app.js", ... */
	const char *content_type;
	const unsigned char *data;	/* len bytes, then a NUL */
	size_t len;
};

extern const struct ctl_web_file ctl_web_files[];
extern const size_t ctl_web_nfiles;

struct ctl_admin;

/*
 * Set up the console of daemon d (borrowed, outlives it) while still
 * privileged: check admin.hostname, make the HTTPS server and bind it to
 * admin.listen. *out is NULL (and 0 returned) when admin.listen is empty:
 * no console. Returns 0, or -1 with err (controllerd does not start).
 */
int ctl_admin_setup(struct tg_daemon *d, struct ctl_admin **out,
    struct tg_err *err);

/*
 * In the final process (tg_daemon_ops start: after the privilege drop,
 * before the sandbox): open the store, take the admin certificate of
 * admin.hostname from it (a self-signed one made and recorded at first
 * use). NULL-safe. 0, or -1 with err.
 */
int ctl_admin_start(struct ctl_admin *a, struct tg_err *err);

/*
 * A new snapshot is in force, or an hour has passed: start serving (the
 * first time), then serve the store's current admin certificate if it
 * has changed, and replace a self-signed one 30 days before its end.
 * NULL-safe.
 */
void ctl_admin_changed(struct ctl_admin *a);

/* Stop serving and free. NULL-safe. */
void ctl_admin_free(struct ctl_admin *a);

#endif
