/*
 * rpt/inbox — TLS reports that arrive by mail (RFC 8460 §3, §5.3.1), on
 * their way from tlsgate-mxd to tlsgate-rptd.
 *
 * mxd takes a message for one of the hosted domains' TLS-RPT mailboxes
 * (the mailto: addresses of their rua) and, instead of handing that
 * recipient to the internal server, writes the message here, one file
 * per message, durably (written, fsync'd, renamed, the directory
 * fsync'd) before it marks the recipient delivered; a crash in between
 * writes it twice, which rptd stores once (reports are kept once per
 * organization and report-id). rptd reads every file, checks its DKIM
 * signature and stores the report (rpt/collect), then removes the file.
 *
 * Owns: the directory (state_dir/reports/inbox) and its file names
 * ("<queue id>.eml"; temporary files start with "."). Does not own: which
 * recipients are report mailboxes (mxd), checking and storing (rptd,
 * rpt/collect).
 */
#ifndef TG_RPT_INBOX_H
#define TG_RPT_INBOX_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "core/conf.h"
#include "rpt/collect.h"
#include "util/err.h"

/* How long a message that could not be checked yet (a DKIM key lookup
 * failed temporarily) is tried again. */
#define TG_INBOX_RETRY_S	86400

/* The inbox directory of conf (borrowed) into out (outlen bytes); -1
 * when it does not fit. */
int tg_inbox_dir(const struct tg_conf *conf, char *out, size_t outlen);

/*
 * Reads the next piece of a message into buf (cap bytes): the count, 0
 * at the end, -1 with err.
 */
typedef ssize_t (*tg_inbox_read_fn)(void *arg, void *buf, size_t cap,
    struct tg_err *err);

/*
 * Store one message, read through read(arg), as dir/<name>.eml (name: a
 * queue id). The directory is created (0700) when missing. Returns 0 once
 * the file is on disk, or -1 with err (TG_ERR_TEMP); nothing is left
 * behind on failure. At most max bytes (more: -1, TG_ERR_PERM).
 */
int tg_inbox_put(const char *dir, const char *name, tg_inbox_read_fn read,
    void *arg, size_t max, struct tg_err *err);

/*
 * Call fn(arg, path, mtime) for every message file of dir, oldest name
 * first (queue ids sort by time), at most max files; non-zero from fn
 * stops. A missing directory has no files. -1 with err when dir cannot
 * be read.
 */
int tg_inbox_each(const char *dir, size_t max,
    int (*fn)(void *arg, const char *path, time_t mtime), void *arg,
    struct tg_err *err);

/*
 * What rptd does with a file after tg_collect_mail said status for it:
 * 1 remove it (stored, stored before, or refused for good: RFC 8460 §3
 * says an unauthenticated report MUST be ignored), 0 keep it for the
 * next pass (a temporary failure), until TG_INBOX_RETRY_S after mtime.
 */
int tg_inbox_done(enum tg_collect_status status, time_t mtime, time_t now);

#endif
