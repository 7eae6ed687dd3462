/*
 * smtp/spool_jnl — the recipient journal of one queued message
 * (<spool>/state/<qid>): what happened to each recipient, and hold.
 *
 *   journal = magic("TGSPJNL" %x01) qid(TG_SPOOL_QID_LEN) *record
 *   record  = len(2) kind(1) state(1) rcpt(4) attempts(4) last(8) next(8)
 *             reason(len - 32) crc32(4)
 * Integers big-endian; crc32 (zlib) over the record's bytes before it.
 * kind 'S': recipient rcpt is now in state (enum tg_spool_rstate) with
 * the attempts, times and reason given (absolute values, so the last
 * record for a recipient is its whole state); kind 'H': held (state 1)
 * or released (state 0).
 *
 * Durability (RELIABILITY §1.9.8): appended with one write() per record,
 * never fsync'd. Reading stops at the first record that is short, has a
 * bad length, CRC, kind, state or recipient index, or passes
 * TG_SPOOL_JNL_MAX: whatever follows is ignored, so damage can only make
 * recipients look less done than they are (re-delivery, never loss). A
 * journal whose header is wrong counts as empty. Before the next append
 * an unreadable tail is cut off. When the file passes
 * TG_SPOOL_JNL_COMPACT it is rewritten as one record per recipient that
 * is not pending (temporary file, fsync, rename).
 *
 * Owns: the open journal file of one message. Does not own: the state
 * array (borrowed from the caller) or the directory.
 */
#ifndef TG_SMTP_SPOOL_JNL_H
#define TG_SMTP_SPOOL_JNL_H

#include <stddef.h>
#include <stdint.h>

#include "smtp/spool.h"
#include "util/err.h"

#define TG_SPOOL_JNL_MAGIC	"TGSPJNL\x01"
#define TG_SPOOL_JNL_MAGIC_LEN	8
#define TG_SPOOL_JNL_HEAD	(TG_SPOOL_JNL_MAGIC_LEN + TG_SPOOL_QID_LEN)
#define TG_SPOOL_JNL_FIXED	32	/* record bytes besides the reason */
#define TG_SPOOL_JNL_REC_MAX	(TG_SPOOL_JNL_FIXED + TG_SPOOL_REASON_MAX - 1)
#define TG_SPOOL_JNL_STATE	'S'
#define TG_SPOOL_JNL_HOLD	'H'

struct tg_spool_jnl {
	int dirfd;			/* borrowed: state/ */
	const struct tg_spool_io *io;	/* borrowed */
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_spool_rcpt_state *rs;	/* borrowed, nrcpt entries */
	size_t nrcpt;
	int held;
	int fd;				/* owned, -1 until first append */
	uint64_t valid;			/* bytes of readable prefix */
	uint64_t size;			/* bytes in the file as we left it */
};

/* Set up j for qid (no I/O). rs is reset to all PENDING. */
void tg_spool_jnl_init(struct tg_spool_jnl *j, int dirfd,
    const struct tg_spool_io *io, const char *qid,
    struct tg_spool_rcpt_state *rs, size_t nrcpt);

/* Read the journal file (a missing one means all pending) into rs and
 * held. -1 (TG_ERR_TEMP) only when an existing file cannot be read. */
int tg_spool_jnl_load(struct tg_spool_jnl *j, struct tg_err *err);

/* Append "recipient i is now *st" and, on success, copy *st into rs[i].
 * -1 (TG_ERR_TEMP, "4.3.0"/"4.3.1") if the write failed; rs unchanged. */
int tg_spool_jnl_put(struct tg_spool_jnl *j, size_t i,
    const struct tg_spool_rcpt_state *st, struct tg_err *err);

/* Append hold (on != 0) or release; sets j->held on success. */
int tg_spool_jnl_hold(struct tg_spool_jnl *j, int on, struct tg_err *err);

/* Close the file (the journal stays on disk). */
void tg_spool_jnl_close(struct tg_spool_jnl *j);

/*
 * Pure: apply the journal bytes p[0..n) for qid to rs (nrcpt entries)
 * and *held. Returns the length of the readable prefix (0 if the header
 * is wrong).
 */
size_t tg_spool_jnl_parse(const void *p, size_t n, const char *qid,
    struct tg_spool_rcpt_state *rs, size_t nrcpt, int *held);

/* Pure: encode one record into out (TG_SPOOL_JNL_REC_MAX bytes); returns
 * its length. */
size_t tg_spool_jnl_encode(uint8_t *out, int kind, uint32_t rcpt,
    const struct tg_spool_rcpt_state *st);

#endif
