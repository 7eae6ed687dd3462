/*
 * controllerd's alerts: what an administrator must hear about, handed to
 * the program of alerts.hook (through core/hookrun's runner: the sandbox
 * runs no programs) instead of only written to the log.
 *
 * Taken from controllerd's own log (core/log's tap), on the loop's
 * thread only: every error line (a self-check that fails, a refused TLSA
 * update, a rollback, an ACME renewal that failed, a rollover that is
 * not configured) and the certificate watch's warnings (a certificate
 * that expires within 21 days, or has expired). One alert per kind —
 * the event, and the name, domain and result it names — in
 * ALERT_REPEAT_S; at most ALERT_QUEUE_MAX waiting. The program runs from
 * the loop, after the line that caused it:
 *   PROGRAM LEVEL EVENT LINE
 * e.g. `notify err selfcheck "event=selfcheck domain=... result=failed
 * dane=invalid error=..."`; at most ALERT_TIMEOUT_MS each.
 */
#include "ctl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "util/clock.h"
#include "util/text.h"

#define ALERT_REPEAT_S		86400
#define ALERT_QUEUE_MAX		8
#define ALERT_KINDS_MAX		32
#define ALERT_TIMEOUT_MS	30000
#define ALERT_KEY_MAX		256

struct alert_kind {
	char key[ALERT_KEY_MAX];
	time_t sent;
};

struct alert_item {
	enum tg_log_level level;
	char event[64];
	char line[TG_LOG_LINE_MAX];
};

struct ctl_alerts {
	struct tg_hookrun *hook;		/* owned */
	struct event *run;			/* owned: runs the queue */
	pthread_t loop_thread;
	struct alert_kind kinds[ALERT_KINDS_MAX];
	struct alert_item queue[ALERT_QUEUE_MAX];
	size_t nqueue;
	unsigned dropped;
};

/* The value of "name=" in line (up to a space), into out ("" if none). */
static void
field(const char *line, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name), n;
	const char *p = line;

	out[0] = '\0';
	while ((p = strstr(p, name)) != NULL) {
		if ((p == line || p[-1] == ' ') && p[nl] == '=') {
			n = strcspn(p + nl + 1, " ");
			tg_text_fmt(out, outlen, "%.*s", (int)n, p + nl + 1);
			return;
		}
		p += nl;
	}
}

/* Whether the line is one to alert about. */
static int
wanted(enum tg_log_level level, const char *event)
{
	return level >= TG_LOG_ERR || (level == TG_LOG_WARN &&
	    strcmp(event, "cert-watch") == 0);
}

/* 1 when an alert of key may go now (and note it), 0 when one went
 * within ALERT_REPEAT_S. */
static int
first_in_a_while(struct ctl_alerts *a, const char *key, time_t now)
{
	struct alert_kind *k, *oldest = &a->kinds[0];
	size_t i;

	for (i = 0; i < ALERT_KINDS_MAX; i++) {
		k = &a->kinds[i];
		if (k->key[0] != '\0' && strcmp(k->key, key) == 0) {
			if (now - k->sent < ALERT_REPEAT_S)
				return 0;
			k->sent = now;
			return 1;
		}
		if (k->sent < oldest->sent)
			oldest = k;
	}
	tg_text_fmt(oldest->key, sizeof(oldest->key), "%s", key);
	oldest->sent = now;
	return 1;
}

static void
alert_tap(void *arg, enum tg_log_level level, const char *line)
{
	struct ctl_alerts *a = arg;
	char event[64], name[128], domain[128], result[64];
	char key[ALERT_KEY_MAX];
	struct alert_item *it;

	if (!pthread_equal(pthread_self(), a->loop_thread))
		return;
	field(line, "event", event, sizeof(event));
	if (!wanted(level, event))
		return;
	field(line, "name", name, sizeof(name));
	field(line, "domain", domain, sizeof(domain));
	field(line, "result", result, sizeof(result));
	tg_text_fmt(key, sizeof(key), "%s %s %s %s", event, name, domain,
	    result);
	if (!first_in_a_while(a, key, tg_clock_now()))
		return;
	if (a->nqueue == ALERT_QUEUE_MAX) {
		a->dropped++;
		return;
	}
	it = &a->queue[a->nqueue++];
	it->level = level;
	tg_text_fmt(it->event, sizeof(it->event), "%s", event[0] != '\0' ?
	    event : "-");
	tg_text_fmt(it->line, sizeof(it->line), "%s", line);
	event_active(a->run, EV_TIMEOUT, 0);
}

/* The waiting alerts, to the program, in order. */
static void
alert_run(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_alerts *a = arg;
	char out[TG_HOOKRUN_OUTPUT_MAX + 1];
	const char *args[3];
	struct tg_err err;
	size_t i;
	int status;

	(void)fd;
	(void)what;
	for (i = 0; i < a->nqueue; i++) {
		args[0] = tg_log_level_name(a->queue[i].level);
		args[1] = a->queue[i].event;
		args[2] = a->queue[i].line;
		/* Logged below err: these lines never cause an alert. */
		if (tg_hookrun_run(a->hook, args, 3, ALERT_TIMEOUT_MS,
		    &status, out, sizeof(out), &err) != 0)
			tg_log_warn(NULL, "event=alert about=%s result=failed "
			    "error=\"%s\"", args[1], err.msg);
		else
			tg_log(status == 0 ? TG_LOG_INFO : TG_LOG_WARN, NULL,
			    "event=alert about=%s result=%s exit=%d "
			    "output=\"%s\"", args[1], status == 0 ? "sent" :
			    "failed", status, out);
	}
	a->nqueue = 0;
	if (a->dropped > 0)
		tg_log_warn(NULL, "event=alert result=dropped count=%u "
		    "reason=\"too many at once\"", a->dropped);
	a->dropped = 0;
}

int
ctl_alerts_start(struct event_base *base, const char *path,
    struct ctl_alerts **out, struct tg_err *err)
{
	struct ctl_alerts *a;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	if (tg_hookrun_start(path, &a->hook, err) != 0 ||
	    (a->run = event_new(base, -1, 0, alert_run, a)) == NULL) {
		if (a->hook != NULL)
			tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		ctl_alerts_free(a);
		return -1;
	}
	a->loop_thread = pthread_self();
	tg_log_set_tap(TG_LOG_WARN, alert_tap, a);
	*out = a;
	return 0;
}

void
ctl_alerts_free(struct ctl_alerts *a)
{
	if (a == NULL)
		return;
	tg_log_set_tap(TG_LOG_WARN, NULL, NULL);
	if (a->run != NULL)
		event_free(a->run);
	tg_hookrun_free(a->hook);
	free(a);
}
