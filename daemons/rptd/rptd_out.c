/*
 * daemons/rptd/rptd_out.c — our daily reports (rpt/send) on a timer, see
 * rptd.h.
 *
 * Every RPTD_TICK_S seconds, and once at start, one rpt/send run for the
 * previous UTC day: it makes the reports that are missing (the first run
 * after midnight makes them all; the random delay of report.send_delay
 * spreads their first tries over the following hours, RFC 8460 §4.1) and
 * attempts every delivery that is due, retries included. Once a day the
 * session results and our reports older than TG_RPT_KEEP_DAYS go.
 * Reporting is off, with one warning saying why, while report.org_name
 * or report.contact is unset or the settings are unusable; a reload that
 * fixes them turns it on.
 */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "dns/resolver_conf.h"
#include "dns/resolver_unbound.h"
#include "rptd.h"
#include "util/clock.h"

static void
out_done(struct tg_send *s, void *arg)
{
	struct tg_send_stats st;

	(void)arg;
	tg_send_stats(s, &st);
	if (st.built + st.not_requested + st.delivered + st.retried +
	    st.failed + st.lookup_failed > 0)
		tg_log_info(NULL, "event=report-run built=%u not_requested=%u "
		    "lookup_failed=%u delivered=%u retried=%u failed=%u",
		    st.built, st.not_requested, st.lookup_failed, st.delivered,
		    st.retried, st.failed);
}

/* (Re)make the sender from the snapshot in force. */
static void
out_rebuild(struct rptd *r)
{
	struct tg_snapshot *snap = tg_daemon_snapshot(r->daemon);
	struct tg_err err;

	tg_send_free(r->send);
	r->send = NULL;
	tg_snapshot_unref(r->send_snap);
	r->send_snap = NULL;
	r->settings_changed = 0;
	if (tg_send_settings_load(snap->conf, 1, &r->set, &err) != 0 ||
	    (r->send = tg_send_new(tg_daemon_base(r->daemon), r->res, r->fetch,
	    r->db, &r->set.cfg, &err)) == NULL) {
		if (strcmp(r->why_off, err.msg) != 0)
			tg_log_warn(NULL, "event=report-out result=off "
			    "reason=\"%s\"", err.msg);
		snprintf(r->why_off, sizeof(r->why_off), "%s", err.msg);
		tg_snapshot_unref(snap);
		return;
	}
	r->why_off[0] = '\0';
	/* The sender borrows strings of this conf: keep it. */
	r->send_snap = snap;
	if (r->set.cfg.dkim_selector[0] == '\0' && !r->dkim_warned++)
		tg_log_warn(NULL, "event=report-out dkim=none reason=\"report "
		    "mail is not DKIM-signed: collectors must ignore it (RFC "
		    "8460 section 3); set report.dkim_selector\"");
}

static void
out_prune(struct rptd *r)
{
	char today[11], before[11];
	struct tg_err err;
	int64_t n1 = 0, n2 = 0;
	time_t now = tg_clock_now();

	tg_reports_day(now, today);
	if (strcmp(today, r->pruned_day) == 0)
		return;
	tg_reports_day(now - (time_t)TG_RPT_KEEP_DAYS * 86400, before);
	if (tg_reports_prune_sessions(r->db, before, &n1, &err) != 0 ||
	    tg_reports_tx_prune(r->db, before, &n2, &err) != 0) {
		tg_log_warn(NULL, "event=report-prune result=failed "
		    "error=\"%s\"", err.msg);
		return;
	}
	snprintf(r->pruned_day, sizeof(r->pruned_day), "%s", today);
	if (n1 + n2 > 0)
		tg_log_info(NULL, "event=report-prune before=%s sessions=%lld "
		    "reports=%lld", before, (long long)n1, (long long)n2);
}

static void
out_tick(evutil_socket_t fd, short what, void *arg)
{
	struct rptd *r = arg;
	struct tg_err err;

	(void)fd;
	(void)what;
	if (r->db == NULL)
		return;
	out_prune(r);
	if (r->send != NULL && tg_send_busy(r->send))
		return;
	if (r->send == NULL || r->settings_changed)
		out_rebuild(r);
	if (r->send != NULL && tg_send_run(r->send, NULL, 0, NULL, out_done, r,
	    &err) != 0)
		tg_log_warn(NULL, "event=report-run result=failed "
		    "error=\"%s\"", err.msg);
}

int
rptd_out_start(struct rptd *r, struct tg_err *err)
{
	struct tg_snapshot *snap = tg_daemon_snapshot(r->daemon);
	struct event_base *base = tg_daemon_base(r->daemon);
	struct tg_resolver_config rc;
	struct timeval tv = { RPTD_TICK_S, 0 };

	tg_resolver_config_from_conf(snap->conf, &rc);
	tg_snapshot_unref(snap);
	if ((r->res = tg_resolver_unbound_new(base, &rc, err)) == NULL ||
	    (r->fetch = tg_fetch_new(base, err)) == NULL)
		return -1;
	if ((r->tick = event_new(base, -1, EV_PERSIST, out_tick, r)) == NULL ||
	    event_add(r->tick, &tv) != 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	event_active(r->tick, EV_TIMEOUT, 1);	/* a first run now */
	return 0;
}

void
rptd_out_changed(struct rptd *r)
{
	r->settings_changed = 1;
}

void
rptd_out_free(struct rptd *r)
{
	tg_send_free(r->send);
	r->send = NULL;
	tg_snapshot_unref(r->send_snap);
	r->send_snap = NULL;
	if (r->tick != NULL)
		event_free(r->tick);
	r->tick = NULL;
	tg_fetch_free(r->fetch);
	r->fetch = NULL;
	tg_resolver_free(r->res);
	r->res = NULL;
}
