/*
 * smtp/spool_int — what the spool's own files share; other modules
 * include smtp/spool.h.
 *
 * spool.c        the queue list, quarantine, ids, hold, list
 * spool_open.c   open, lock, start-up scan, free-space check
 * spool_write.c  begin / write / commit / batch / abort
 * spool_read.c   opening a queued message, content, marks, removal
 * spool_rec.c    the object format (pure)
 * spool_jnl.c    the recipient journal
 */
#ifndef TG_SMTP_SPOOL_INT_H
#define TG_SMTP_SPOOL_INT_H

#include <openssl/evp.h>

#include "smtp/spool.h"
#include "smtp/spool_jnl.h"
#include "smtp/spool_rec.h"

#define TG_SPOOL_DIR_INCOMING	"incoming"
#define TG_SPOOL_DIR_QUEUE	"queue"
#define TG_SPOOL_DIR_STATE	"state"
#define TG_SPOOL_DIR_CORRUPT	"corrupt"
#define TG_SPOOL_LOCK_FILE	"lock"

/* One queued message in the in-memory list (sorted by qid). */
struct tg_spool_entry {
	char qid[TG_SPOOL_QID_LEN + 1];
	time_t next_attempt;	/* 0: due now */
	uint32_t nrcpt;		/* recipients (0 if not read yet) */
	uint32_t pending;	/* recipients not final */
	uint8_t held;
	uint8_t open;		/* a tg_spool_msg is open on it */
};

struct tg_spool {
	char dir[TG_PATH_MAX];
	int dfd;		/* owned: the spool directory */
	int dfd_in;		/* owned: incoming/ */
	int dfd_queue;		/* owned: queue/ */
	int dfd_state;		/* owned: state/ */
	int dfd_corrupt;	/* owned: corrupt/ */
	int lockfd;		/* owned, -1 when read-only */
	unsigned flags;
	uint64_t max_size;
	struct tg_spool_io io;	/* every member set */
	tg_spool_report_fn report;
	void *report_arg;
	struct tg_spool_entry *ent;	/* owned, nent used, sorted by qid */
	size_t nent, capent;
	size_t nopen;		/* open write and read handles */
};

struct tg_spool_wmsg {
	struct tg_spool *sp;	/* borrowed */
	char qid[TG_SPOOL_QID_LEN + 1];
	int fd;			/* owned, -1 once closed */
	int linked;		/* incoming/<qid> exists */
	EVP_MD_CTX *md;		/* owned: SHA-256 of all bytes written */
	uint8_t *chunk;		/* owned: record header + TG_SPOOL_CHUNK */
	size_t clen;		/* content bytes in chunk */
	uint64_t size;		/* content bytes so far */
	uint32_t nrcpt;
	int failed;		/* sticky: ferr says why */
	struct tg_err ferr;
};

struct tg_spool_msg {
	struct tg_spool *sp;	/* borrowed */
	int fd;			/* owned: queue/<qid> */
	struct tg_spool_env env;	/* owned strings */
	struct tg_spool_rec_info info;
	struct tg_spool_rcpt_state *rs;	/* owned, env.nrcpt entries */
	struct tg_spool_jnl jnl;
	struct tg_spool_cursor cur;	/* of tg_spool_msg_read */
};

/* The entry for qid, or NULL. */
struct tg_spool_entry *tg_spool_entry_find(struct tg_spool *sp,
    const char *qid);

/* Insert qid (keeping the order); -1 when the list is full. */
int tg_spool_entry_add(struct tg_spool *sp, const char *qid,
    struct tg_spool_entry **out);

/* Remove the entry for qid, if any. */
void tg_spool_entry_del(struct tg_spool *sp, const char *qid);

/* Summarise recipient states into e (pending count, next attempt). */
void tg_spool_entry_set(struct tg_spool_entry *e,
    const struct tg_spool_rcpt_state *rs, size_t nrcpt, int held);

/* Set up j for qid's journal and read it into a new array *rsp (owned
 * by the caller, nrcpt entries). */
int tg_spool_state_load(struct tg_spool *sp, const char *qid, size_t nrcpt,
    struct tg_spool_jnl *j, struct tg_spool_rcpt_state **rsp,
    struct tg_err *err);

/* Report an event to opts->report, or log it. */
void tg_spool_event(struct tg_spool *sp, enum tg_spool_event ev,
    const char *name, const char *detail);

/*
 * Open queue/<qid> and verify it in full. On 0, *fdp is the open file
 * and env/info are filled (env strings owned by the caller). Returns
 * TG_SPOOL_NOTFOUND if there is no such file. A corrupt object is
 * quarantined (owner) or reported (read-only), and -1 with TG_ERR_PERM
 * returned; I/O errors give -1 with TG_ERR_TEMP.
 */
int tg_spool_verify(struct tg_spool *sp, const char *qid, int *fdp,
    struct tg_spool_env *env, struct tg_spool_rec_info *info,
    struct tg_err *err);

/* Move queue/<name> and state/<name> to corrupt/ (never replacing a file
 * there) and report it. */
void tg_spool_quarantine(struct tg_spool *sp, const char *name,
    const char *why);

/* Remove a message (object first, then its journal) and its entry. */
int tg_spool_remove(struct tg_spool *sp, const char *qid, struct tg_err *err);

/* Fill sp->io from io (NULL members: the system calls). */
void tg_spool_io_fill(struct tg_spool_io *out, const struct tg_spool_io *io);

/* renameat that never replaces newname (EEXIST instead). */
int tg_spool_rename_noreplace(int olddirfd, const char *oldname,
    int newdirfd, const char *newname);

/* Fill err for a failed system call of the write path: TG_ERR_TEMP,
 * "4.3.1" for ENOSPC/EDQUOT, else "4.3.0". Returns -1. */
int tg_spool_io_err(struct tg_err *err, int e, const char *what,
    const char *name);

#endif
