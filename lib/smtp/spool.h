/*
 * smtp/spool — the durable mail queue shared by relayd and mxd.
 *
 * Owns: one spool directory and everything under it:
 *   lock       held (flock) by the one process that owns the queue
 *   incoming/  embryonic messages being received (one file each)
 *   queue/     committed messages, one immutable object per message
 *   state/     per-message recipient journals (delivered / failed /
 *              deferred, hold), appended after delivery attempts
 *   corrupt/   quarantined objects; never deleted by tlsgate
 * Does not own: scheduling policy (retry backoff, expiry, DSNs), which
 * calls tg_spool_due / tg_spool_msg_* / tg_spool_mark; the SMTP protocol
 * (dot-unstuffing and end-of-data happen before tg_spool_write).
 *
 * The promise (RFC 5321 §6.1; RELIABILITY.md §1.9): tg_spool_commit
 * returns 0 only after the whole object — envelope, content, END record
 * and SHA-256 checksum — was written, fsync'd, renamed into queue/ and the
 * queue/ directory fsync'd. Only then may the server answer 250. Any error
 * before that unlinks the temporary file and fails with class TG_ERR_TEMP
 * and status "4.3.0" (451), or "4.3.1" (452) when the disk is full. A
 * failed fsync is never retried (Linux may drop the dirty pages and report
 * success the second time: PostgreSQL "fsyncgate", 2018).
 *
 * Object format (spool_rec.h has the details): "TGSPOOL\x01", then typed,
 * length-prefixed records — queue id, arrival, sender, flags, optional
 * ENVID/RET/client facts, one record per recipient with NOTIFY and ORCPT,
 * content in records of at most TG_SPOOL_CHUNK bytes — and an END record
 * holding the SHA-256 of every byte before it. Readers check every length
 * against the file size and the checksum before using anything.
 *
 * Recipient state after commit (RELIABILITY §0.2, §1.9.8: duplicates are
 * acceptable, loss is not): the journal state/<id> is appended with one
 * write() per change and no fsync, like Postfix's deliver_completed.c.
 * A crash of the process loses nothing (the bytes are in the page cache);
 * a power loss may lose the latest marks, and a lost mark means that
 * recipient is tried again — a duplicate, never a loss. Each journal
 * record carries a CRC32; a torn or garbled tail is ignored, and a wholly
 * unreadable journal means "every recipient still pending".
 *
 * Start-up scan (tg_spool_open, owner mode):
 *   - incoming/: every file is removed, whatever its age: only the owner
 *     of the lock writes there, so at its start any file in incoming/ was
 *     left by a writer that died before its commit (no 250 was given);
 *   - queue/: every object is read and verified in full; one that is
 *     truncated, zero-length, has a bad length, a bad checksum, no END
 *     record, trailing bytes, or a queue id that differs from its name is
 *     moved to corrupt/ (with its journal) and reported, never deleted;
 *   - state/: journals without a message (the message was removed) and
 *     half-written journal rewrites are removed.
 * Each such event goes to opts->report, or, without one, to the log.
 *
 * Concurrency: a struct tg_spool and its handles are used from one thread
 * (the process's event loop). One process owns a spool directory (the lock
 * file); the CLI opens it with TG_SPOOL_READONLY to list, hold and
 * release: those journal appends are single O_APPEND writes and the owner
 * sees them at tg_spool_refresh or tg_spool_msg_open.
 *
 * Group commit (BENCH.md): tg_spool_commit_batch commits several messages
 * with one directory fsync, and starts the data write-back of all files
 * before waiting on the first, so that one journal commit of the file
 * system covers several messages. tg_spool_commit is a batch of one.
 *
 * Results: 0 success, -1 failure with err filled; lookups by queue id
 * return TG_SPOOL_NOTFOUND (1) when the message is not (or no longer) in
 * the queue.
 */
#ifndef TG_SMTP_SPOOL_H
#define TG_SMTP_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "util/err.h"
#include "util/limits.h"

#define TG_SPOOL_NOTFOUND	1

/* Queue ids: 10 base32 characters of milliseconds since the epoch, then 8
 * of randomness (monotonically increased within a millisecond), in the
 * Crockford alphabet "0-9A-Z" minus I, L, O, U: sortable by time as plain
 * strings, safe in file names and in "250 2.0.0 Ok: queued as <id>". */
#define TG_SPOOL_QID_LEN	18

/* RFC 3461 §4.3: RET. */
enum tg_spool_ret {
	TG_SPOOL_RET_UNSET = 0,
	TG_SPOOL_RET_FULL,
	TG_SPOOL_RET_HDRS
};

/* RFC 3461 §4.1: NOTIFY, as bits; 0 means the parameter was not given. */
#define TG_SPOOL_NOTIFY_NEVER	0x01u
#define TG_SPOOL_NOTIFY_SUCCESS	0x02u
#define TG_SPOOL_NOTIFY_FAILURE	0x04u
#define TG_SPOOL_NOTIFY_DELAY	0x08u
#define TG_SPOOL_NOTIFY_ALL	0x0fu

/* Message flags. */
#define TG_SPOOL_F_SMTPUTF8	0x01u	/* RFC 6531 §3.4: SMTPUTF8 given */
#define TG_SPOOL_F_8BITMIME	0x02u	/* RFC 6152 §3: BODY=8BITMIME */
#define TG_SPOOL_F_BINARYMIME	0x04u	/* RFC 3030 §3: BODY=BINARYMIME */
#define TG_SPOOL_F_REQUIRETLS	0x08u	/* RFC 8689 §4.1: REQUIRETLS given */
#define TG_SPOOL_F_ALL		0x0fu

struct tg_spool_rcpt {
	char *addr;		/* forward-path without <>, never NULL */
	char *orcpt;		/* RFC 3461 §4.2 "addr-type;xtext", or NULL */
	unsigned notify;	/* TG_SPOOL_NOTIFY_* */
};

/*
 * The envelope. Every text field is at most TG_SPOOL_FIELD_MAX bytes and
 * contains no NUL, CR or LF (SMTPUTF8 text is fine); optional fields are
 * NULL when absent. Filled by the caller for tg_spool_begin (borrowed);
 * returned by the read side with every string owned by the spool.
 */
struct tg_spool_env {
	char qid[TG_SPOOL_QID_LEN + 1];	/* set by the spool */
	time_t arrival;		/* 0 at begin: the spool sets tg_clock_now() */
	char *sender;		/* reverse-path without <>; "" is <> */
	char *envid;		/* RFC 3461 §4.4 ENVID, or NULL */
	enum tg_spool_ret ret;
	unsigned flags;		/* TG_SPOOL_F_* */
	char *helo;		/* EHLO/HELO argument */
	char *client_addr;	/* peer IP address text */
	char *client_name;	/* verified reverse name, or NULL */
	char *proto;		/* "ESMTP", "ESMTPS", ... (RFC 3848) */
	char *tls_version;	/* "TLSv1.3", or NULL without TLS */
	char *tls_cipher;	/* cipher suite name, or NULL */
	struct tg_spool_rcpt *rcpt;	/* nrcpt entries */
	size_t nrcpt;		/* 1..TG_SPOOL_RCPT_MAX */
};

/* Per-recipient delivery state. PENDING: never tried; DEFERRED: try again
 * at next_attempt; DELIVERED and FAILED (permanently) are final. */
enum tg_spool_rstate {
	TG_SPOOL_PENDING = 0,
	TG_SPOOL_DEFERRED,
	TG_SPOOL_DELIVERED,
	TG_SPOOL_FAILED
};

struct tg_spool_rcpt_state {
	enum tg_spool_rstate state;
	uint32_t attempts;	/* delivery attempts recorded */
	time_t last_attempt;	/* 0 if none */
	time_t next_attempt;	/* DEFERRED only; 0 = due now */
	char reason[TG_SPOOL_REASON_MAX];	/* last reason, "" if none */
};

/* Events of the start-up scan and of quarantines at open time. */
enum tg_spool_event {
	TG_SPOOL_EV_QUARANTINED,	/* object moved to corrupt/ */
	TG_SPOOL_EV_CORRUPT,		/* corrupt, seen read-only (left) */
	TG_SPOOL_EV_EMBRYO_REMOVED,	/* dead writer's file in incoming/ */
	TG_SPOOL_EV_ORPHAN_REMOVED,	/* journal without a message */
	TG_SPOOL_EV_UNKNOWN,		/* unexpected name, left alone */
	TG_SPOOL_EV_IO_ERROR		/* could not read or move a file */
};

/* name: the file name inside its directory; detail: a short text. Both
 * borrowed for the call. */
typedef void (*tg_spool_report_fn)(void *arg, enum tg_spool_event ev,
    const char *name, const char *detail);

/*
 * File-system calls of the write path, replaceable by tests to inject
 * failures (EIO, ENOSPC) at the n-th call. They follow the system calls'
 * conventions (-1 and errno). NULL members use the system calls.
 */
struct tg_spool_io {
	ssize_t (*write)(int fd, const void *buf, size_t n);
	int (*fsync)(int fd);	/* files and directories */
	int (*rename)(int olddirfd, const char *oldname, int newdirfd,
	    const char *newname);	/* must not replace newname */
};

#define TG_SPOOL_READONLY	0x01u	/* no lock, no clean-up, no writes
					   but hold/release */

struct tg_spool_opts {
	unsigned flags;			/* TG_SPOOL_READONLY */
	uint64_t max_size;		/* content cap; 0 = default */
	const struct tg_spool_io *io;	/* borrowed, may be NULL */
	tg_spool_report_fn report;	/* may be NULL: events are logged */
	void *report_arg;
};

struct tg_spool;		/* one open spool directory */
struct tg_spool_wmsg;		/* a message being received */
struct tg_spool_msg;		/* a committed message opened for delivery */

/*
 * Open (creating the sub-directories if needed) the spool at dir and scan
 * it as described above. opts may be NULL. The owner (flags without
 * TG_SPOOL_READONLY) takes the lock file; a second owner fails with
 * TG_ERR_TEMP. On success *out is the new spool (free with
 * tg_spool_free).
 */
int tg_spool_open(const char *dir, const struct tg_spool_opts *opts,
    struct tg_spool **out, struct tg_err *err);

/* Close the spool and release the lock. Open handles must be closed
 * first. NULL-safe. */
void tg_spool_free(struct tg_spool *sp);

/*
 * RELIABILITY §1.9.1 (MAIL FROM time): 0 if the spool's file system has
 * at least 1.5 × size bytes free for an unprivileged user (statvfs), else
 * -1 with TG_ERR_TEMP and "4.3.1" (reply 452). size is the SIZE= value
 * (RFC 1870) or the maximum message size.
 */
int tg_spool_space_ok(struct tg_spool *sp, uint64_t size, struct tg_err *err);

/* The content cap in force (opts->max_size or the default). */
uint64_t tg_spool_max_size(const struct tg_spool *sp);

/* ---- Receiving: begin → write* → commit | abort ---------------------- */

/*
 * Start a message: check env (borrowed; copied to disk now), assign a
 * queue id, create incoming/<id> and write the envelope. *out is the new
 * handle, to be ended by tg_spool_commit(_batch) or tg_spool_abort.
 * Errors: TG_ERR_TEMP "4.3.0" (bad envelope, I/O), "4.3.1" (disk or queue
 * full).
 */
int tg_spool_begin(struct tg_spool *sp, const struct tg_spool_env *env,
    struct tg_spool_wmsg **out, struct tg_err *err);

/* The queue id assigned at begin (borrowed; valid until the handle ends).
 * It is not a promise: only a successful commit is. */
const char *tg_spool_wmsg_id(const struct tg_spool_wmsg *w);

/*
 * Append n content bytes (already dot-unstuffed; any bytes). Past the
 * content cap: -1 with TG_ERR_PERM "5.3.4" (reply 552). On any failure
 * the temporary file is already gone and every later write or commit
 * fails the same way; the handle must still be ended.
 */
int tg_spool_write(struct tg_spool_wmsg *w, const void *p, size_t n,
    struct tg_err *err);

/* Content bytes written so far. */
uint64_t tg_spool_wmsg_size(const struct tg_spool_wmsg *w);

/*
 * Commit *w (taken; *w is NULL afterwards, success or not). On 0 the
 * message is durable and in the queue and qid (may be NULL) holds its id:
 * the server may now say 250. On -1 nothing is left on disk.
 */
int tg_spool_commit(struct tg_spool_wmsg **w,
    char qid[TG_SPOOL_QID_LEN + 1], struct tg_err *err);

/*
 * Group commit: commit w[0..n-1] (all taken and set to NULL; n ≤
 * TG_SPOOL_BATCH_MAX; all from sp) sharing one directory fsync. status[i]
 * is 0 (committed) or -1 with errs[i] (may be NULL) filled. Returns 0 if
 * every message was committed, else -1. Each message keeps the single
 * commit's promise.
 */
int tg_spool_commit_batch(struct tg_spool *sp, struct tg_spool_wmsg **w,
    size_t n, int *status, struct tg_err *errs);

/* Drop a message being received: unlink its file, free the handle (taken,
 * *w set to NULL). NULL-safe. */
void tg_spool_abort(struct tg_spool_wmsg **w);

/* ---- The queue --------------------------------------------------------- */

/* Messages in the queue. */
size_t tg_spool_count(const struct tg_spool *sp);

/*
 * Call fn(arg, qid) in queue-id (arrival) order for every message that is
 * not held, not open, has a recipient not final, and whose next attempt
 * is ≤ now. fn returning non-zero stops. qid is borrowed for the call;
 * fn may open, mark and close that message, nothing else of the spool.
 */
void tg_spool_due(struct tg_spool *sp, time_t now,
    int (*fn)(void *arg, const char *qid), void *arg);

/* Earliest next attempt over messages not held and not open; 0 if there
 * are none. For arming the scheduler's timer. */
time_t tg_spool_next_due(const struct tg_spool *sp);

/* One message for `tlsgate queue list`; everything borrowed for the call. */
struct tg_spool_info {
	const struct tg_spool_env *env;		/* qid, sender, arrival, ... */
	const struct tg_spool_rcpt_state *rs;	/* env->nrcpt entries */
	uint64_t size;				/* content bytes */
	uint32_t attempts;			/* max over recipients */
	time_t next_attempt;			/* min over DEFERRED; 0 = now */
	const char *last_reason;		/* of the latest attempt,
						   or "" */
	int held;
};

/*
 * Read every message (verified) and call fn in queue-id order; non-zero
 * from fn stops. A message that turns out corrupt is quarantined (owner)
 * or reported (read-only) and skipped. -1 only on an error reading the
 * queue directory.
 */
int tg_spool_list(struct tg_spool *sp,
    int (*fn)(void *arg, const struct tg_spool_info *info), void *arg,
    struct tg_err *err);

/* `tlsgate queue hold|release`: on != 0 holds the message (tg_spool_due
 * skips it). Recorded in its journal. 0, TG_SPOOL_NOTFOUND or -1
 * (TG_ERR_TEMP while this spool has the message open for delivery). */
int tg_spool_hold(struct tg_spool *sp, const char *qid, int on,
    struct tg_err *err);

/* Re-read the journal of qid into the queue list (after another process
 * held or released it). 0, TG_SPOOL_NOTFOUND or -1. */
int tg_spool_refresh(struct tg_spool *sp, const char *qid,
    struct tg_err *err);

/*
 * `tlsgate queue delete`: every recipient of qid not yet final becomes
 * FAILED with reason (may be NULL) in its journal. The owner then
 * removes the message at once (-1 with TG_ERR_TEMP while it has it open
 * for delivery); a read-only spool leaves the removal to the owner, which
 * drops a message whose recipients are all final when it next opens it
 * or at its next start. No DSN follows from this: nothing was tried.
 * 0, TG_SPOOL_NOTFOUND or -1.
 */
int tg_spool_delete(struct tg_spool *sp, const char *qid, const char *reason,
    struct tg_err *err);

/*
 * `tlsgate queue flush`, in the owner: every queued message that is not
 * open and has a recipient to deliver becomes due now in the queue list
 * (the journals keep their retry times); held messages re-read their
 * journal first, so a release by another process is seen. Returns how
 * many messages are due now.
 */
size_t tg_spool_flush(struct tg_spool *sp);

/* `tlsgate queue release`, in the owner: held messages re-read their
 * journals, so a release by another process is seen. */
void tg_spool_refresh_held(struct tg_spool *sp);

/* ---- Delivering --------------------------------------------------------- */

/*
 * Open qid for delivery: the object is verified in full (lengths and
 * checksum) and its journal read. A corrupt object is quarantined and
 * reported, and the call fails (TG_ERR_PERM); it is never delivered. A
 * message already open fails with TG_ERR_TEMP. Returns 0 (*out set),
 * TG_SPOOL_NOTFOUND or -1.
 */
int tg_spool_msg_open(struct tg_spool *sp, const char *qid,
    struct tg_spool_msg **out, struct tg_err *err);

/* The envelope (borrowed from m). */
const struct tg_spool_env *tg_spool_msg_env(const struct tg_spool_msg *m);

/* State of recipient i (< env->nrcpt), borrowed from m. */
const struct tg_spool_rcpt_state *tg_spool_msg_rcpt(
    const struct tg_spool_msg *m, size_t i);

/* Content size in bytes; whether the message is held. */
uint64_t tg_spool_msg_size(const struct tg_spool_msg *m);
int tg_spool_msg_held(const struct tg_spool_msg *m);

/*
 * Read up to cap content bytes into buf: returns the count, 0 at the end,
 * -1 on error (I/O: TG_ERR_TEMP; the file changed under us: TG_ERR_BUG).
 */
ssize_t tg_spool_msg_read(struct tg_spool_msg *m, void *buf, size_t cap,
    struct tg_err *err);

/* Start reading the content from its beginning again. */
void tg_spool_msg_rewind(struct tg_spool_msg *m);

/*
 * A read position of its own in a message's content, so that several
 * transactions (one per destination domain) can stream the same open
 * message at the same time. Plain data; valid while m is open.
 */
struct tg_spool_cursor {
	uint64_t off;		/* next record header or content byte */
	uint32_t rem;		/* content bytes left in the current record */
};

/* Set c to the beginning of m's content. */
void tg_spool_cursor_init(const struct tg_spool_msg *m,
    struct tg_spool_cursor *c);

/* As tg_spool_msg_read, from and advancing c instead of m's own
 * position. */
ssize_t tg_spool_msg_pread(struct tg_spool_msg *m, struct tg_spool_cursor *c,
    void *buf, size_t cap, struct tg_err *err);

/*
 * Record the outcome of an attempt for recipient i: TG_SPOOL_DELIVERED,
 * TG_SPOOL_FAILED or TG_SPOOL_DEFERRED (next_attempt: when to retry).
 * reason (may be NULL) is kept, cut to TG_SPOOL_REASON_MAX - 1 bytes.
 * A final recipient cannot change state (TG_ERR_BUG). Appended to the
 * journal without fsync (see above); -1 (TG_ERR_TEMP) if the write fails,
 * and then the state is unchanged in memory too.
 */
int tg_spool_mark(struct tg_spool_msg *m, size_t i,
    enum tg_spool_rstate state, time_t next_attempt, const char *reason,
    struct tg_err *err);

/* 1 when every recipient is DELIVERED or FAILED. */
int tg_spool_msg_done(const struct tg_spool_msg *m);

/*
 * Close *m (taken, set to NULL; NULL-safe). When every recipient is
 * final the message is removed from disk and queue and 1 is returned;
 * otherwise the queue list learns its new next attempt and 0 is
 * returned. -1 if the removal failed (the message stays queued).
 */
int tg_spool_msg_close(struct tg_spool_msg **m, struct tg_err *err);

/* ---- Queue ids ---------------------------------------------------------- */

/* A fresh queue id (see TG_SPOOL_QID_LEN); unique within the process,
 * increasing, and random enough to be unique across processes. */
void tg_spool_qid_new(char out[TG_SPOOL_QID_LEN + 1]);

/* 1 if s is a well-formed queue id. */
int tg_spool_qid_valid(const char *s);

/* "pending", "deferred", "delivered", "failed". */
const char *tg_spool_rstate_name(enum tg_spool_rstate st);

/* Free the strings of an envelope owned by the spool side (after
 * tg_spool_rec_parse); leaves *env zeroed. NULL-safe. */
void tg_spool_env_clear(struct tg_spool_env *env);

#endif
