/*
 * tlsgate-controllerd — the management plane.
 *
 * Built so far: the shared daemon runtime (config, pid file, privilege
 * drop, signals, reload on SIGHUP and on every store change) and the
 * certificate watch: at start, on every reload and every hour it reads the
 * certificates from the store and logs one line per certificate with its
 * expiry, as a warning when fewer than 21 days are left.
 * With dane.update_server (or dane.update_hook: a program run for each
 * change, through core/hookrun's runner made before the sandbox) set it
 * also runs the DANE rollover of the MX name (ctl_rollover.c): a look
 * now, on every store change, and then when the rollover says; and the
 * self-check of the MX (ctl_selfcheck.c) at start, hourly and after each
 * change of what is served or published.
 * With acme.directory set it gets CA-issued certificates for the MX
 * name and the mta-sts hosts and renews them (ctl_acme.c, on a worker
 * thread), keeping each key.
 * On admin.listen (default 127.0.0.1:9443) it serves the web console and
 * its admin API over HTTPS (ctl_admin.c, web/API.md).
 * Not built yet: MTA-STS id bumps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "ctl.h"
#include "net/daemon.h"
#include "store/store.h"
#include "util/clock.h"

#define CERT_WATCH_INTERVAL_S	3600
#define CERT_WARN_DAYS		21
#define ACME_POLL_MS		500	/* looks at a running ACME job */

struct controller {
	struct tg_daemon *daemon;	/* borrowed */
	struct event *cert_timer;	/* owned */
	struct event *roll_timer;	/* owned: the next rollover look */
	struct event *acme_timer;	/* owned: a running ACME job */
	struct ctl_acme *acme;		/* owned */
	struct ctl_admin *admin;	/* owned; NULL: no console */
	struct tg_hookrun *hook;	/* owned: dane.update_hook's runner */
	struct ctl_alerts *alerts;	/* owned: alerts.hook; NULL: none */
	int selfchecked;		/* the first self-check ran */
};

static int
controller_log_cert(const struct tg_store_cert *c, void *arg)
{
	long days = (long)((c->not_after - tg_clock_now()) / 86400);

	(void)arg;
	if (c->state == TG_STORE_CERT_RETIRED)
		return 0;
	tg_log(days < CERT_WARN_DAYS ? TG_LOG_WARN : TG_LOG_INFO, NULL,
	    "event=cert-watch name=%s role=%s state=%s days_left=%ld%s",
	    c->name, tg_store_cert_role_name(c->role),
	    tg_store_cert_state_name(c->state), days,
	    days < 0 ? " result=expired" : days < CERT_WARN_DAYS ?
	    " result=expiring" : " result=ok");
	return 0;
}

static void
controller_cert_watch(struct controller *ctl)
{
	struct tg_snapshot *snap = tg_daemon_snapshot(ctl->daemon);
	struct tg_store *st = NULL;
	struct tg_err err;

	if (tg_store_open_readonly(snap->conf->state_dir, &st, &err) != 0 ||
	    tg_store_cert_list(st, NULL, -1, controller_log_cert, ctl,
	    &err) != 0)
		tg_log_warn(NULL, "event=cert-watch result=failed error=\"%s\"",
		    err.msg);
	tg_store_close(st);
	tg_snapshot_unref(snap);
}

/* The self-check (ctl_selfcheck.c) runs where the rollover does. */
static void
controller_selfcheck(struct controller *ctl, const char *why)
{
	struct tg_snapshot *snap = tg_daemon_snapshot(ctl->daemon);

	if (ctl_rollover_enabled(snap->conf))
		(void)ctl_selfcheck_run(snap->conf, why, NULL, 0, NULL);
	tg_snapshot_unref(snap);
}

/* Start an ACME job when one is due; watch it while it runs. */
static void
controller_acme_look(struct controller *ctl)
{
	struct tg_snapshot *snap = tg_daemon_snapshot(ctl->daemon);
	struct timeval tv = { 0, ACME_POLL_MS * 1000 };

	if (ctl_acme_look(ctl->acme, snap->conf) &&
	    !evtimer_pending(ctl->acme_timer, NULL))
		evtimer_add(ctl->acme_timer, &tv);
	tg_snapshot_unref(snap);
}

static void
controller_on_acme(evutil_socket_t fd, short what, void *arg)
{
	struct controller *ctl = arg;
	struct timeval tv = { 0, ACME_POLL_MS * 1000 };

	(void)fd;
	(void)what;
	if (ctl_acme_poll(ctl->acme))
		evtimer_add(ctl->acme_timer, &tv);
	else
		/* What changed meanwhile was not looked at. */
		controller_acme_look(ctl);
}

static void
controller_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct controller *ctl = arg;

	(void)fd;
	(void)what;
	controller_cert_watch(ctl);
	controller_selfcheck(ctl, "hourly");
	controller_acme_look(ctl);
	ctl_admin_changed(ctl->admin);
}

static void
controller_on_roll(evutil_socket_t fd, short what, void *arg)
{
	struct controller *ctl = arg;
	struct tg_snapshot *snap = tg_daemon_snapshot(ctl->daemon);
	struct timeval tv = { 0, 0 };
	long next;

	(void)fd;
	(void)what;
	next = ctl_rollover_run(snap->conf, ctl->hook);
	tg_snapshot_unref(snap);
	if (!ctl->selfchecked) {
		ctl->selfchecked = 1;
		controller_selfcheck(ctl, "start");
	}
	if (next > 0) {
		tv.tv_sec = next;
		evtimer_add(ctl->roll_timer, &tv);
	}
}

/* After the privilege drop, before the sandbox. */
static int
controller_start(struct tg_daemon *d, struct tg_err *err)
{
	struct controller *ctl = tg_daemon_arg(d);
	struct tg_snapshot *snap = tg_daemon_snapshot(d);
	int rc = 0;

	/* The sandbox runs no program: the hook's runner is made now. */
	if (snap->conf->dane_update_hook[0] != '\0' &&
	    (rc = tg_hookrun_start(snap->conf->dane_update_hook, &ctl->hook,
	    err)) != 0)
		tg_err_prefix(err, "dane.update_hook");
	ctl_acme_set_hook(ctl->acme, ctl->hook);
	if (rc == 0 && snap->conf->alerts_hook[0] != '\0' &&
	    (rc = ctl_alerts_start(tg_daemon_base(d), snap->conf->alerts_hook,
	    &ctl->alerts, err)) != 0)
		tg_err_prefix(err, "alerts.hook");
	tg_snapshot_unref(snap);
	return rc == 0 ? ctl_admin_start(ctl->admin, err) : rc;
}

static void
controller_snapshot_changed(struct tg_daemon *d)
{
	struct controller *ctl = tg_daemon_arg(d);

	ctl_admin_changed(ctl->admin);
	controller_cert_watch(ctl);
	controller_acme_look(ctl);
	/* A new key, a new setting: look at the rollover now. */
	if (ctl->roll_timer != NULL)
		event_active(ctl->roll_timer, EV_TIMEOUT, 0);
}

static const struct tg_daemon_ops controller_ops = {
	.start = controller_start,
	.snapshot_changed = controller_snapshot_changed,
};

int
main(int argc, char **argv)
{
	struct timeval iv = { CERT_WATCH_INTERVAL_S, 0 };
	struct tg_daemon_args args;
	struct controller ctl;
	struct tg_err err;
	int rc;

	memset(&ctl, 0, sizeof(ctl));
	rc = tg_daemon_parse_args(argc, argv, "tlsgate-controllerd", &args,
	    &err);
	if (rc != 0) {
		fprintf(rc == 1 ? stdout : stderr, "%s", err.msg);
		return rc == 1 ? 0 : 2;
	}
	if (tg_daemon_new("controllerd", &args, &controller_ops, &ctl,
	    &ctl.daemon, &err) != 0) {
		fprintf(stderr, "tlsgate-controllerd: %s\n", err.msg);
		return 1;
	}
	ctl.cert_timer = event_new(tg_daemon_base(ctl.daemon), -1, EV_PERSIST,
	    controller_on_timer, &ctl);
	ctl.roll_timer = evtimer_new(tg_daemon_base(ctl.daemon),
	    controller_on_roll, &ctl);
	ctl.acme_timer = evtimer_new(tg_daemon_base(ctl.daemon),
	    controller_on_acme, &ctl);
	ctl.acme = ctl_acme_new();
	if (ctl.cert_timer == NULL || ctl.roll_timer == NULL ||
	    ctl.acme_timer == NULL || ctl.acme == NULL ||
	    event_add(ctl.cert_timer, &iv) != 0 ||
	    ctl_admin_setup(ctl.daemon, &ctl.admin, &err) != 0 ||
	    tg_daemon_run(ctl.daemon, &err) != 0) {
		tg_log(TG_LOG_FATAL, NULL, "event=fatal error=\"%s\"", err.msg);
		rc = 1;
	}
	if (ctl.cert_timer != NULL)
		event_free(ctl.cert_timer);
	if (ctl.roll_timer != NULL)
		event_free(ctl.roll_timer);
	if (ctl.acme_timer != NULL)
		event_free(ctl.acme_timer);
	ctl_acme_free(ctl.acme);
	ctl_admin_free(ctl.admin);
	tg_hookrun_free(ctl.hook);
	ctl_alerts_free(ctl.alerts);
	tg_daemon_free(ctl.daemon);
	return rc;
}
