/*
 * smtp/queueview — a queue as `tlsgate queue list --json` and the
 * console's GET /api/queue show it: the messages of a spool directory
 * that still have a recipient to deliver, each as one JSON object.
 *
 * Owns: opening a spool read-only the way a reader beside its running
 * owner must (smtp/spool: TG_SPOOL_READONLY takes no lock, cleans
 * nothing up and creates nothing, so relayd or mxd is not disturbed; a
 * queue its daemon never created is an empty queue, not an error), which
 * messages are shown (a recipient pending or deferred: a deleted message
 * or one about to be removed is not), and the JSON form of one message.
 * Also owns the operator's actions on one message, shared by `tlsgate
 * queue hold|release|delete` and the console's POST /api/queue/Q/ID/ACTION
 * (tg_queueview_act: a journal record through smtp/spool), and telling
 * the queue's daemon about them (tg_queueview_notify).
 * Does not own: the spool and its format (smtp/spool), where the queues
 * are (spool_dir and spool_dir/inbound: the callers').
 *
 * The JSON of a message: {"queue_id", "arrival" (ISO 8601 UTC), "sender"
 * ("" for <>), "size", "held", "attempts" (the most of any recipient),
 * "next_attempt" ("now" or ISO 8601), "reason" (of the latest attempt,
 * may be ""), "client" (the sender's address), "recipients": [{"address",
 * "state" (pending, deferred, delivered, failed), "attempts",
 * "last_attempt" (ISO 8601 or null), "next_attempt" (deferred only, else
 * null), "reason"}]}.
 */
#ifndef TG_SMTP_QUEUEVIEW_H
#define TG_SMTP_QUEUEVIEW_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "smtp/spool.h"
#include "util/err.h"

/*
 * Open the spool at dir (borrowed) read-only: 0 with *out (free with
 * tg_spool_free), or 0 with *out NULL when dir has no queue/ directory
 * (the daemon never ran: nothing is queued); -1 with err when it cannot
 * be opened.
 */
int tg_queueview_open(const char *dir, struct tg_spool **out,
    struct tg_err *err);

/* 1 when info (borrowed) has a recipient pending or deferred: the
 * messages a queue listing shows. */
int tg_queueview_pending(const struct tg_spool_info *info);

/* A next attempt as the listings show it into out: "now" for 0, else
 * ISO 8601 UTC (tg_clock_format). */
void tg_queueview_time(time_t t, char *out, size_t outlen);

/* The JSON object of info (borrowed; see above): a new reference, NULL
 * when out of memory. */
json_t *tg_queueview_json(const struct tg_spool_info *info);

/*
 * The messages of the queue at dir that tg_queueview_pending shows, in
 * queue-id (arrival) order, as a new JSON array in *out (the caller's):
 * at most max of them (0: all), and *truncated (may be NULL) 1 when more
 * were left out. 0, or -1 with err (*out NULL): the spool cannot be
 * opened or its queue directory read, or out of memory.
 */
int tg_queueview_list(const char *dir, size_t max, json_t **out,
    int *truncated, struct tg_err *err);

/* What an operator does to one queued message. */
enum tg_queueview_action {
	TG_QUEUEVIEW_HOLD,	/* keep it from being delivered */
	TG_QUEUEVIEW_RELEASE,	/* let a held message be delivered */
	TG_QUEUEVIEW_DELETE	/* fail every recipient not yet final */
};

/*
 * Apply act to message qid (borrowed) of the queue at dir, opened as
 * tg_queueview_open opens it: the journal record that tg_spool_hold or
 * tg_spool_delete ("deleted by the operator"; no DSN) appends. With out
 * non-NULL, *out is the message's JSON after a hold or release (a new
 * reference; NULL after a delete, or when it cannot be read back). 0;
 * TG_SPOOL_NOTFOUND when qid is not a queue id, the queue does not exist
 * or has no such message; -1 with err.
 */
int tg_queueview_act(const char *dir, const char *qid,
    enum tg_queueview_action act, json_t **out, struct tg_err *err);

/*
 * Send sig to tlsgate-<daemon> (borrowed: "relayd", "mxd") when it runs:
 * its pid file run_dir/tlsgate-<daemon>.pid is locked while it does.
 * After a release or delete, SIGUSR2 makes it re-read held messages'
 * journals; SIGUSR1 makes every message due now. 1 when told, 0 when it
 * does not run, -1 with err (the pid file cannot be read, or the signal
 * cannot be sent, for instance by another user).
 */
int tg_queueview_notify(const char *run_dir, const char *daemon, int sig,
    struct tg_err *err);

#endif
