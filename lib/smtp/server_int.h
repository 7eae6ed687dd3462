/*
 * smtp/server_int — what the SMTP server's own files share; other modules
 * include smtp/server.h.
 *
 * server.c       conf, sessions: accept, I/O, timers, replies, closing
 * server_cmd.c   the command table: one check and one proceed per verb
 * server_data.c  DATA: the envelope, Received, content, group commit
 * server_rcpt.c  the recipients an inbound server takes (hosted domains)
 * server_cert.c  the STARTTLS certificate from the store
 */
#ifndef TG_SMTP_SERVER_INT_H
#define TG_SMTP_SERVER_INT_H

#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "core/log.h"
#include "smtp/dotstuff.h"
#include "smtp/server.h"
#include "smtp/smtpcmd.h"
#include "smtp/spool.h"

/* Where a session is. Each phase has its own timeout (server.c). */
enum tg_smtpd_phase {
	TG_SMTPD_GREET = 0,	/* connected, greeting not sent yet */
	TG_SMTPD_REFUSED,	/* 554 greeting sent: only QUIT (§3.1) */
	TG_SMTPD_INIT,		/* greeting sent, no EHLO/HELO (yet) */
	TG_SMTPD_READY,		/* EHLO/HELO done, no transaction */
	TG_SMTPD_MAIL,		/* MAIL accepted, no recipient */
	TG_SMTPD_RCPT,		/* one or more recipients */
	TG_SMTPD_VERIFY,	/* a RCPT waits for the verifier's answer */
	TG_SMTPD_DATA,		/* reading the content */
	TG_SMTPD_COMMIT,	/* end of data seen, waiting for the spool */
	TG_SMTPD_TLS,		/* TLS handshake */
	TG_SMTPD_CLOSING,	/* flushing the last reply */
	TG_SMTPD_DEAD		/* waiting to be freed */
};

struct tg_smtpd_sess {
	TAILQ_ENTRY(tg_smtpd_sess) link;	/* srv->sessions */
	TAILQ_ENTRY(tg_smtpd_sess) clink;	/* srv->commits */
	struct tg_smtpd *srv;		/* borrowed */
	struct tg_smtpd_conf *conf;	/* reference */
	char sid[TG_SID_LEN + 1];
	char peer[64];			/* address text; v4-mapped as IPv4 */
	struct sockaddr_storage sa;
	evutil_socket_t fd;		/* owned by bev once it exists */
	struct bufferevent *bev;	/* owned: socket, later TLS filter */
	struct event *timer;		/* owned: the phase's deadline */
	enum tg_smtpd_phase phase;
	int esmtp;			/* EHLO (not HELO) in this TLS state */
	int tls;			/* TLS is active */
	int in_commit;			/* on srv->commits */
	int discard_line;		/* dropping an over-long line */
	int shut;			/* closing: our side shut down */
	char helo[TG_SMTPD_HELO_MAX + 1];
	char tls_version[16];
	char tls_cipher[64];
	/* the transaction */
	struct tg_smtpcmd_mail mail;
	struct tg_spool_rcpt *rcpt;	/* owned, nrcpt used */
	size_t nrcpt, caprcpt;
	/* a RCPT being verified (phase VERIFY) */
	void *verify_q;			/* the verifier's handle */
	struct tg_smtpcmd_rcpt *verify_rcpt;	/* owned */
	enum tg_smtpd_phase verify_prev;	/* MAIL or RCPT */
	struct tg_smtpd_verifier verify_by;	/* the one asked */
	struct tg_spool_wmsg *wmsg;	/* owned while receiving */
	char qid[TG_SPOOL_QID_LEN + 1];
	struct tg_dotstuff dec;
	int reject_code;		/* DATA: 0 fine, else the reply */
	char reject_status[8];
	char reject_text[96];
	uint64_t data_in;		/* raw bytes in DATA */
	long long deadline;		/* DATA, CLOSING: monotonic ms */
	long long data_start;
	/* counters */
	unsigned errors, messages, rejected;
	long long start_ms;
	const char *end_reason;		/* static text for the last log line */
};

TAILQ_HEAD(tg_smtpd_sesslist, tg_smtpd_sess);

/* One group commit (kept off the stack: TG_SPOOL_BATCH_MAX errors). */
struct tg_smtpd_batch {
	struct tg_smtpd_sess *sess[TG_SPOOL_BATCH_MAX];
	struct tg_spool_wmsg *w[TG_SPOOL_BATCH_MAX];
	int status[TG_SPOOL_BATCH_MAX];
	struct tg_err errs[TG_SPOOL_BATCH_MAX];
};

struct tg_smtpd {
	struct event_base *base;	/* borrowed */
	struct tg_spool *spool;		/* borrowed */
	tg_smtpd_queued_fn queued;
	void *queued_arg;
	struct tg_smtpd_sesslist sessions;	/* live and dead */
	struct tg_smtpd_sesslist commits;	/* waiting for the spool */
	struct event *reaper;		/* owned: frees dead sessions */
	struct event *committer;	/* owned: group commit */
	unsigned char *scratch;		/* owned: decoded DATA, one chunk */
	struct tg_smtpd_batch *batch;	/* owned */
	struct tg_smtpd_stats stats;
	struct tg_smtpd_verifier verifier;	/* ask NULL: none */
	int stopping;
	void (*stop_done)(void *);
	void *stop_arg;
};

#define TG_SMTPD_SCRATCH	TG_SPOOL_CHUNK

/* ---- server_rcpt.c ---- */

/*
 * May an inbound session take recipient p (its path may be rewritten:
 * <Postmaster>)? 0, or the reply code with err. A relay's conf takes
 * every recipient.
 */
int tg_smtpd_rcpt_gate(const struct tg_smtpd_conf *c,
    struct tg_smtpcmd_path *p, struct tg_err *err);

/*
 * Verify recipient r (the gate took it) if the server has a verifier.
 * 0: take it now; -1: the session waits in phase VERIFY and the answer
 * goes to tg_smtpd_rcpt_answer later; else the reply code, with err.
 */
int tg_smtpd_rcpt_verify(struct tg_smtpd_sess *s,
    const struct tg_smtpcmd_rcpt *r, struct tg_err *err);

/* Drop a verification the session no longer waits for. */
void tg_smtpd_verify_cancel(struct tg_smtpd_sess *s);

/* ---- server.c ---- */

/* Queue a reply line "code status text" (status may be NULL). */
void tg_smtpd_reply(struct tg_smtpd_sess *s, int code, const char *status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* An error reply: counted; past max_errors the session gets 421 and
 * ends. Returns -1 (for check functions). */
int tg_smtpd_reply_err(struct tg_smtpd_sess *s, int code,
    const char *status, const char *text);

/* The same from a parser's result (code and err). */
int tg_smtpd_reply_parse(struct tg_smtpd_sess *s, int code,
    const struct tg_err *err);

/* Flush what is queued, then end the session; reason is static text. */
void tg_smtpd_close(struct tg_smtpd_sess *s, const char *reason);

/* Arm the timer of the current phase. */
void tg_smtpd_arm(struct tg_smtpd_sess *s);

/* Handle the input there is (from any event but the session's own
 * free). */
void tg_smtpd_process(struct tg_smtpd_sess *s);

/* len bytes of src as a quoted log value into dst: '"', '%', '\\',
 * control and non-ASCII bytes become %XX; cut to fit dstlen. */
void tg_smtpd_log_bytes(char *dst, size_t dstlen, const void *src,
    size_t len);

/* One log line for refused input: event, the reply code and err's
 * status and text, and the first bytes of the input, escaped. */
void tg_smtpd_log_input(struct tg_smtpd_sess *s, const char *event,
    const void *bytes, size_t len, int code, const struct tg_err *err);

/* STARTTLS accepted: discard pipelined plaintext, 220, start TLS. */
void tg_smtpd_starttls(struct tg_smtpd_sess *s);

/* Log and refuse a protocol synchronization error, then close. */
void tg_smtpd_violation(struct tg_smtpd_sess *s, const char *what);

/* Forget the envelope and any message being received. */
void tg_smtpd_reset(struct tg_smtpd_sess *s);

/* ---- server_cmd.c ---- */

/* Run one command line (len bytes, no CRLF). pending: more input
 * follows it in the buffer. */
void tg_smtpd_command(struct tg_smtpd_sess *s, const char *line, size_t len,
    int pending);

/* Reply to RCPT r: rc 0 takes it (250), else the refusal (rc, err),
 * logged with the argument (len bytes). */
void tg_smtpd_rcpt_answer(struct tg_smtpd_sess *s,
    const struct tg_smtpcmd_rcpt *r, int rc, struct tg_err *err,
    const char *arg, size_t arglen);

/* ---- server_data.c ---- */

/* Start DATA: envelope to the spool, Received header, 354. */
void tg_smtpd_data_begin(struct tg_smtpd_sess *s);

/* Decode what input there is; 1 when the end of data was reached. */
int tg_smtpd_data_input(struct tg_smtpd_sess *s, struct evbuffer *in);

/* The group commit event. */
void tg_smtpd_commit_cb(evutil_socket_t fd, short what, void *arg);

/* Drop s from the commit queue (its message is removed). */
void tg_smtpd_commit_cancel(struct tg_smtpd_sess *s);

#endif
