/*
 * rpt/send — what the files of the module share (not a public interface):
 * send.c runs the job, send_build.c makes reports, send_mail.c makes and
 * submits mail.
 */
#ifndef TG_RPT_SEND_INT_H
#define TG_RPT_SEND_INT_H

#include <event2/event.h>

#include "rpt/send.h"
#include "util/buf.h"
#include "util/err.h"

/* Outcome of one attempt on one delivery. */
enum send_outcome {
	SEND_OK = 0,		/* delivered (or handed to the outbox) */
	SEND_TEMP,		/* try again later */
	SEND_PERM		/* never again */
};

typedef void (*send_smtp_cb)(enum send_outcome o, const char *text,
    void *arg);

struct send_smtp;

/*
 * Submit msg (len bytes, borrowed until cb ran) from cfg->mail_from to
 * rcpt at the relay of cfg. cb runs once, from the loop. When the relay
 * cannot be reached (connection refused or timed out), *unreachable is
 * set before cb runs. Returns the submission (free with send_smtp_free
 * after cb, or to cancel before), or NULL with err.
 */
struct send_smtp *send_smtp_start(struct event_base *base,
    const struct tg_send_config *cfg, const char *rcpt, const char *msg,
    size_t len, send_smtp_cb cb, void *arg, int *unreachable,
    struct tg_err *err);
void send_smtp_free(struct send_smtp *sm);

/* Write msg to <outbox_dir>/<name> (tmp, fsync, rename). 0 or -1. */
int send_outbox_write(const char *outbox_dir, const char *name,
    const char *msg, size_t len, struct tg_err *err);

/* Remove <outbox_dir>/<name> if it is there. */
void send_outbox_remove(const char *outbox_dir, const char *name);

/* "YYYY-MM-DD" → its 00:00:00 UTC; -1 if not a date. */
time_t send_day_start(const char *day);

#endif
