/*
 * smtp/client — the outbound SMTP client: one connection to one server
 * address, on the caller's libevent loop, carrying one or more mail
 * transactions.
 *
 * This module owns: connecting to an IP literal and port; the 220
 * greeting; EHLO (HELO only when TLS is not required) and the service
 * extensions of the reply (STARTTLS, SIZE, 8BITMIME, SMTPUTF8,
 * PIPELINING, DSN, ENHANCEDSTATUSCODES); STARTTLS at the caller's
 * requirement level with the verification of tls/tls_client, and EHLO
 * again over TLS; TLS session resumption through a session cache the
 * caller owns; mail transactions (MAIL, RCPT, DATA, the content with
 * CRLF enforcement and dot-stuffing, the final reply) with per-recipient
 * results; RSET between transactions on a kept connection; QUIT.
 *
 * It does not own: choosing the MX, the address, the TLS requirement or
 * the TLSA records (policy); the SSL_CTX (tls/tls_client); the queue,
 * retries, DSNs (the delivery engine); logging the outcome (the caller
 * logs one line per delivery from the results).
 *
 * States, one handler each, each with its own timeout (struct
 * tg_smtpc_timeouts):
 *   CONNECT -> BANNER (220) -> EHLO (250; HELO on 5xx without REQUIRE)
 *   -> STARTTLS (220) -> TLS (handshake) -> TLS_EHLO (250) -> READY
 *   READY -> MAIL -> RCPT... -> DATA (354) -> BODY -> DOT (final reply)
 *   -> RSET (250) -> READY ...                     QUIT (221) -> DONE
 * READY waits for tg_smtpc_send at most idle_ms, then says QUIT.
 *
 * TLS requirement (RFC 3207; RFC 7672 §2.2; RFC 8461 §5):
 *   NONE     never STARTTLS (tests, an explicitly plaintext next hop);
 *   MAY      STARTTLS when offered; no STARTTLS, or a reply other than
 *            220 to it, continues in plaintext on this connection (the
 *            result says so); once the handshake has begun, a failure
 *            ends the connection (TG_SMTPC_TLS_FAILED/NOT_VERIFIED): it
 *            is never retried in clear here — the caller decides;
 *   REQUIRE  no STARTTLS, a refusal, a failed handshake or a failed
 *            verification is a temporary failure of the connection, and
 *            not one byte of a transaction is sent in clear, not even
 *            MAIL FROM; EHLO rejected never falls back to HELO.
 * After a handshake the connection proceeds when tg_tls_result_ok() or,
 * with verify->report_only, when the handshake completed (RFC 8461 §5
 * "testing": deliver, report). With report_only 0 a verification
 * failure aborts the handshake (RFC 6698 §4.1, RFC 7672 §3).
 *
 * STARTTLS response injection (CVE-2021-38371, RELIABILITY O-08): bytes
 * that arrive after the "220" to STARTTLS in the same read abort the
 * connection before any TLS byte is sent. After TLS the pre-TLS
 * extension list is forgotten and EHLO sent again (RFC 3207 §4.1, §4.2).
 *
 * Hostile replies (RELIABILITY O-09, CVE-2020-8794) are parsed by
 * smtp/reply with its bounds; a bad reply, an over-long line or reply,
 * or bytes from the server when no reply is due is a protocol error:
 * the connection ends at once (temporary failure). Memory per
 * connection is bounded by those limits and the output high-water mark
 * TG_SMTPC_OUT_HIGH.
 *
 * Transactions (RFC 5321 §3.3, §4.1.1.2-4):
 *   MAIL FROM:<sender> with SIZE=<size> when SIZE is offered (RFC 1870);
 *   BODY=8BITMIME when the message has TG_SPOOL_F_8BITMIME and the server
 *   offers 8BITMIME (RFC 6152; without it the content is sent as is, as
 *   Postfix does); SMTPUTF8 when the message needs it (TG_SPOOL_F_SMTPUTF8
 *   or a non-ASCII envelope address) — if the server lacks SMTPUTF8 the
 *   message fails permanently with 5.6.7 before MAIL (RFC 6531 §3.2);
 *   RET= and ENVID= (RFC 3461 §4.3, §4.4) and per recipient NOTIFY= and
 *   ORCPT= (§4.1, §4.2) only when DSN is offered; a message larger than
 *   the server's SIZE fails permanently with 5.3.4 before MAIL.
 *   A message with TG_SPOOL_F_REQUIRETLS (RFC 8689 §4.2.1) goes only to
 *   a host the caller vouches for (txn->requiretls_hop: its MX name
 *   validated by DNSSEC or MTA-STS), over TLS authenticated as DANE or
 *   PKIX demands, to a server that offers REQUIRETLS, with REQUIRETLS on
 *   MAIL; otherwise it fails before MAIL: permanently with 5.7.10 (host
 *   not vouched for) or 5.7.30 (REQUIRETLS not offered, RFC 8689 §5),
 *   temporarily with 4.7.10 (TLS not authenticated: may be fixed).
 *   With PIPELINING offered, MAIL, every RCPT and DATA go in one write
 *   and the replies are read in order (RFC 2920 §3.1); a 354 after every
 *   recipient was refused is answered with an empty message ("."), whose
 *   reply is ignored.
 *
 * Content on the wire (RELIABILITY §0.3, I-02; RFC 5321 §2.3.8,
 * §4.5.2): every line ends in CRLF, and nothing else is ever emitted as
 * a line end. A lone LF, or a lone CR, in the content is normalised to
 * CRLF (counted in the result: the receiving side should already have
 * refused such messages); a line beginning with "." gets one more "."
 * (dot-stuffing), also after a normalised line end, so "<LF>.<CR><LF>"
 * becomes "<CR><LF>..<CR><LF>" and can never end the data early. The
 * content is ended with CRLF if it does not end with one, then ".".
 * Long lines are passed unchanged. Envelope strings are checked before
 * they reach a command: no control bytes (so no CR/LF injection), paths
 * at most 256 bytes (RFC 5321 §4.5.3.1.3), xtext for ENVID and ORCPT;
 * a bad sender fails the message (5.1.7), a bad recipient only itself
 * (5.1.3).
 *
 * Outcomes: every failure is temporary (TG_ERR_TEMP) or permanent
 * (TG_ERR_PERM). A reply decides by its first digit (4xx temporary, 5xx
 * permanent, RFC 5321 §4.2.1) and gives its enhanced status (RFC 2034,
 * RFC 3463) when it has one, else "4.0.0"/"5.0.0". Network, timeout,
 * protocol and TLS problems are temporary: connect failures "4.4.1",
 * timeouts (the handshake's too) and closes "4.4.2", protocol errors
 * "4.5.0", TLS required but not offered, refused, or impossible because
 * EHLO was refused "4.7.4", TLS or verification failed "4.7.5" (Postfix's
 * codes), our own trouble (memory, the content reader) "4.3.0". A 5xx to
 * the greeting or EHLO without REQUIRE is reported as permanent by its
 * code; RFC 5321 §5.1 still lets the caller try the next MX host. A 421,
 * at any step or while idle, ends the connection (RFC 5321 §3.8):
 * status TG_SMTPC_CLOSED with the reply in why.
 *
 * Acceptance and crashes (RELIABILITY Q-05, RFC 5321 §6.1): the done
 * callback is scheduled as soon as the final reply to "." is read, before
 * RSET; recipients are delivered when their RCPT got 2xx and that reply
 * is 2xx. If the connection fails after "." was sent and before the
 * reply, every accepted recipient is a temporary failure with
 * dot_unanswered set: a retry may duplicate the message, never lose it.
 *
 * Session resumption (RELIABILITY O-10): with a cache, the connection
 * looks up the key tg_tls_session_key(verify, "addr:port") — the peer,
 * the mode, the names and every TLSA record — and offers that session;
 * a changed TLSA RRset has a different key and never resumes a session
 * authenticated under the old one. Only sessions of connections that
 * passed tg_tls_result_ok() are stored, together with the facts of that
 * verification; a resumed session reports them (tls.verified and the
 * DANE match) with tls_resumed set. A session is taken out of the cache
 * when it is offered (TLS 1.3 tickets are single-use, RFC 8446 §C.4) and
 * the new one is stored after EHLO over TLS.
 *
 * Callbacks never run inside tg_smtpc_connect, tg_smtpc_send or an I/O
 * callback: each runs from its own event. The caller may call
 * tg_smtpc_send or tg_smtpc_close from inside them. Objects are never
 * freed inside their own callbacks (tg_smtpc_close frees from a later
 * event).
 */
#ifndef TG_SMTP_CLIENT_H
#define TG_SMTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "smtp/spool.h"
#include "tls/tls_client.h"
#include "util/err.h"
#include "util/limits.h"

enum tg_smtpc_tls {
	TG_SMTPC_TLS_NONE = 0,
	TG_SMTPC_TLS_MAY,
	TG_SMTPC_TLS_REQUIRE
};

enum tg_smtpc_step {
	TG_SMTPC_STEP_CONNECT = 0,
	TG_SMTPC_STEP_BANNER,
	TG_SMTPC_STEP_EHLO,
	TG_SMTPC_STEP_HELO,
	TG_SMTPC_STEP_STARTTLS,
	TG_SMTPC_STEP_TLS,
	TG_SMTPC_STEP_TLS_EHLO,
	TG_SMTPC_STEP_READY,		/* idle, waiting for a message */
	TG_SMTPC_STEP_MAIL,
	TG_SMTPC_STEP_RCPT,
	TG_SMTPC_STEP_DATA,
	TG_SMTPC_STEP_BODY,
	TG_SMTPC_STEP_DOT,
	TG_SMTPC_STEP_RSET,
	TG_SMTPC_STEP_QUIT,
	TG_SMTPC_STEP_DONE
};

/* Connection-level status. */
enum tg_smtpc_status {
	TG_SMTPC_OK = 0,		/* usable (TLS as required) */
	TG_SMTPC_CONNECT_REFUSED,
	TG_SMTPC_CONNECT_TIMEOUT,
	TG_SMTPC_CONNECT_FAILED,	/* unreachable, other socket error */
	TG_SMTPC_BANNER_REJECTED,	/* greeting not 220 */
	TG_SMTPC_EHLO_REJECTED,		/* EHLO (and HELO) not 250 */
	TG_SMTPC_NO_STARTTLS,		/* REQUIRE, not offered */
	TG_SMTPC_STARTTLS_REFUSED,	/* REQUIRE, answered but not 220 */
	TG_SMTPC_TLS_FAILED,		/* handshake failed or timed out */
	TG_SMTPC_NOT_VERIFIED,		/* authentication failed */
	TG_SMTPC_TIMEOUT,		/* a reply did not come in time */
	TG_SMTPC_CLOSED,		/* closed by the server, or 421 */
	TG_SMTPC_PROTOCOL_ERROR,	/* malformed, hostile or early reply */
	TG_SMTPC_INTERNAL		/* ours: memory, socket(), reader */
};

/* Service extensions seen in the (latest) EHLO reply. */
#define TG_SMTPC_EXT_STARTTLS	0x01u	/* RFC 3207 */
#define TG_SMTPC_EXT_SIZE	0x02u	/* RFC 1870 */
#define TG_SMTPC_EXT_8BITMIME	0x04u	/* RFC 6152 */
#define TG_SMTPC_EXT_SMTPUTF8	0x08u	/* RFC 6531 */
#define TG_SMTPC_EXT_PIPELINING	0x10u	/* RFC 2920 */
#define TG_SMTPC_EXT_DSN	0x20u	/* RFC 3461 */
#define TG_SMTPC_EXT_ENHANCED	0x40u	/* RFC 2034 */
#define TG_SMTPC_EXT_REQUIRETLS	0x80u	/* RFC 8689 */

/* Bounded, escaped reply excerpts kept in results. */
#define TG_SMTPC_TEXT_MAX	256
#define TG_SMTPC_STATUS_MAX	16	/* "5.123.456" and NUL */

/* One outcome: of a reply, or of our own decision. */
struct tg_smtpc_outcome {
	enum tg_err_class cls;		/* NONE: accepted, TEMP, PERM */
	int code;			/* deciding reply, 0 if none */
	char status[TG_SMTPC_STATUS_MAX]; /* enhanced status, "" if NONE
					   * without one */
	char text[TG_SMTPC_TEXT_MAX];	/* "550 5.1.1 no such user", or
					 * our reason; escaped */
};

/* The connection, as far as it got. */
struct tg_smtpc_conn {
	enum tg_smtpc_status status;
	enum tg_smtpc_step step;	/* where status was decided */
	struct tg_smtpc_outcome why;	/* set when status != OK */
	char peer_ip[46];		/* the address connected to */
	unsigned peer_port;
	char local_ip[46];		/* our address (sending-mta-ip) */
	char mx_host[TG_DNAME_MAX + 1];	/* params->mx_host, or "" */
	char banner[TG_SMTPC_TEXT_MAX];	/* 220 greeting, first line */
	char banner_name[TG_DNAME_MAX + 1]; /* its first word */
	char ehlo_name[TG_DNAME_MAX + 1]; /* first word of the latest
					   * EHLO/HELO reply
					   * (receiving-mx-helo) */
	int esmtp;			/* 1: EHLO accepted, 0: HELO */
	unsigned ext;			/* TG_SMTPC_EXT_*, latest EHLO */
	uint64_t size_max;		/* SIZE value, 0: none or no limit */
	int starttls_refused;		/* MAY: STARTTLS got no 220 */
	int tls_started;		/* a handshake was attempted */
	int tls_resumed;		/* SSL_session_reused */
	struct tg_tls_result tls;	/* valid when tls_started */
	const char *result_type;	/* RFC 8460 §4.3, or NULL */
	unsigned transactions;		/* mail transactions completed */
	long long elapsed_ms;		/* since tg_smtpc_connect */
};

/* Result of one recipient of a transaction. */
struct tg_smtpc_rcpt_result {
	struct tg_smtpc_outcome rcpt;	/* RCPT reply; code 0: not sent */
	struct tg_smtpc_outcome final;	/* NONE: delivered; else why */
};

struct tg_smtpc_txn_result {
	struct tg_smtpc_outcome mail;	/* MAIL reply, or a local check */
	struct tg_smtpc_rcpt_result *rcpt; /* nrcpt entries, txn order */
	size_t nrcpt;
	size_t accepted;		/* recipients with RCPT 2xx */
	size_t delivered;		/* recipients with final NONE */
	struct tg_smtpc_outcome data;	/* DATA or final reply (code 0:
					 * not reached) */
	int dot_unanswered;		/* "." sent, no reply: duplicates
					 * possible */
	uint64_t bytes;			/* content bytes read */
	size_t normalised;		/* lone CR/LF turned into CRLF */
	const struct tg_smtpc_conn *conn; /* the connection afterwards */
};

/*
 * Content reader: copy up to cap bytes of the message into buf; return
 * the count, 0 at the end, -1 with err on failure (the transaction then
 * fails temporarily, and the connection, which is in DATA, is closed).
 * tg_spool_msg_read fits behind a one-line wrapper.
 */
typedef ssize_t (*tg_smtpc_read_fn)(void *arg, void *buf, size_t cap,
    struct tg_err *err);

/* One message. Everything is borrowed until the done callback ran. */
struct tg_smtpc_txn {
	const char *sender;		/* reverse-path without <>; "": <> */
	const struct tg_spool_rcpt *rcpt; /* addr, orcpt, notify */
	size_t nrcpt;			/* 1..TG_SPOOL_RCPT_MAX */
	const char *envid;		/* RFC 3461 ENVID (xtext), or NULL */
	enum tg_spool_ret ret;		/* RFC 3461 RET */
	unsigned flags;			/* TG_SPOOL_F_* */
	uint64_t size;			/* content bytes, for SIZE= */
	tg_smtpc_read_fn read;		/* NULL only with probe */
	void *read_arg;
	/* 1: no DATA — MAIL and RCPT, then RSET: which recipients the
	 * server would take (recipient verification). The results are the
	 * RCPT replies; nothing is delivered. */
	int probe;
	/* RFC 8689 §4.2.1: 1 when this host's MX name was validated (DNSSEC
	 * with DANE, or an MTA-STS policy it matches), so that a message
	 * with TG_SPOOL_F_REQUIRETLS may go to it if TLS authenticates. */
	int requiretls_hop;
};

/* Per-step timeouts in milliseconds; 0 takes the default (in
 * parentheses, from util/limits.h; RFC 5321 §4.5.3.2). */
struct tg_smtpc_timeouts {
	int connect_ms;		/* TG_SMTP_CONNECT_TIMEOUT_S (30 s) */
	int banner_ms;		/* TG_SMTP_GREETING_TIMEOUT_S (5 min) */
	int helo_ms;		/* EHLO/HELO, before and in TLS (5 min) */
	int starttls_ms;	/* TG_SMTP_CMD_TIMEOUT_S (5 min) */
	int tls_ms;		/* TG_TLS_HANDSHAKE_TIMEOUT_S (30 s) */
	int mail_ms;		/* (5 min) */
	int rcpt_ms;		/* each RCPT (5 min) */
	int data_ms;		/* 354: TG_SMTPC_DATA_INIT_TIMEOUT_S */
	int body_ms;		/* no progress writing the content:
				 * TG_SMTPC_DATA_XFER_TIMEOUT_S */
	int dot_ms;		/* after ".": TG_SMTPC_DATA_DONE_TIMEOUT_S */
	int rset_ms;		/* TG_SMTPC_RSET_TIMEOUT_S */
	int quit_ms;		/* TG_SMTPC_QUIT_TIMEOUT_S */
	int idle_ms;		/* READY without a transaction:
				 * TG_SMTPC_IDLE_TIMEOUT_S */
};

struct tg_smtpc_params {
	const char *addr;		/* IPv4 or IPv6 literal; copied */
	unsigned port;			/* 0: 25 */
	const char *helo_name;		/* our EHLO name; copied */
	const char *mx_host;		/* for results only; copied; may be
					 * NULL */
	enum tg_smtpc_tls tls;
	SSL_CTX *ctx;			/* borrowed; not for TLS_NONE */
	const struct tg_tls_verify *verify; /* borrowed, with all it points
					 * to, until the ready callback ran;
					 * unused with TLS_NONE */
	struct tg_smtpc_cache *cache;	/* borrowed, may be NULL */
	struct tg_smtpc_timeouts tmo;
};

struct tg_smtpc;
struct tg_smtpc_cache;

/* The connection is ready (res->status TG_SMTPC_OK) or has failed; once
 * per tg_smtpc_connect. res is valid until tg_smtpc_close. */
typedef void (*tg_smtpc_ready_cb)(struct tg_smtpc *c,
    const struct tg_smtpc_conn *res, void *arg);

/* A transaction ended; once per tg_smtpc_send. res is valid only
 * during the call. */
typedef void (*tg_smtpc_done_cb)(struct tg_smtpc *c,
    const struct tg_smtpc_txn_result *res, void *arg);

/* Fill p with defaults: port 25, TLS_MAY, timeouts 0 (defaults). */
void tg_smtpc_params_init(struct tg_smtpc_params *p);

/*
 * Start a connection on base. Returns it (owned by the caller: end it
 * with tg_smtpc_close or tg_smtpc_free) or NULL with err (TG_ERR_BUG)
 * for bad parameters: not an IP literal, bad port, no or bad EHLO name,
 * no ctx/verify when TLS may be used, no callback. Network failures
 * arrive in the ready callback.
 */
struct tg_smtpc *tg_smtpc_connect(struct event_base *base,
    const struct tg_smtpc_params *params, tg_smtpc_ready_cb ready,
    void *arg, struct tg_err *err);

/*
 * Start a transaction (txn and all it points to borrowed until cb ran).
 * Allowed once the ready callback reported TG_SMTPC_OK, when no other
 * transaction is running, including from inside either callback (the
 * transaction then waits for the RSET in progress). Returns 0, or -1
 * with err: TG_ERR_TEMP when the connection is no longer usable (the
 * server closed it, the idle timeout ended it), TG_ERR_BUG for a bad
 * txn or a transaction already running. A transaction accepted here
 * always ends in cb, unless the connection is closed first. After a cb
 * whose res->conn->status is not TG_SMTPC_OK the connection is
 * unusable: close it.
 */
int tg_smtpc_send(struct tg_smtpc *c, const struct tg_smtpc_txn *txn,
    tg_smtpc_done_cb cb, void *arg, struct tg_err *err);

/* 1 if the connection is READY (or in RSET) and can take a transaction. */
int tg_smtpc_usable(const struct tg_smtpc *c);

/* The connection's state (borrowed, valid until close/free). */
const struct tg_smtpc_conn *tg_smtpc_result(const struct tg_smtpc *c);

/*
 * End the connection: QUIT when it is idle and usable (waiting for 221
 * or the close at most quit_ms), otherwise just close; no callback runs
 * afterwards; memory is released from a later event of the loop.
 * Callable from inside the callbacks. NULL-safe.
 */
void tg_smtpc_close(struct tg_smtpc *c);

/*
 * tg_smtpc_close, and then freed(arg) once c's memory is released (from
 * the event that releases it, or inside tg_smtpc_free): until then the
 * caller may still tg_smtpc_free it — when shutting down, say — and
 * afterwards it must not. freed must not use c.
 */
void tg_smtpc_close_notify(struct tg_smtpc *c, void (*freed)(void *arg),
    void *arg);

/* Free at once, without QUIT (shutting down). Not from inside c's own
 * callbacks. NULL-safe. */
void tg_smtpc_free(struct tg_smtpc *c);

/*
 * A client TLS session cache: at most max_entries sessions (0:
 * TG_SMTPC_CACHE_MAX), each at most max_age_s seconds old by tg_clock_now
 * (0: TG_SMTPC_CACHE_AGE_S); the oldest entry goes first when it is
 * full. Owned by the caller; free it only after every connection using
 * it is closed. NULL with err when out of memory.
 */
struct tg_smtpc_cache *tg_smtpc_cache_new(size_t max_entries, int max_age_s,
    struct tg_err *err);
void tg_smtpc_cache_free(struct tg_smtpc_cache *cache);

/* Sessions held now (expired ones are dropped first). */
size_t tg_smtpc_cache_count(struct tg_smtpc_cache *cache);

/* "ok", "connect-refused", … and "connect", "banner", … (stable names
 * for logs and JSON). */
const char *tg_smtpc_status_name(enum tg_smtpc_status s);
const char *tg_smtpc_step_name(enum tg_smtpc_step s);

/*
 * The content encoder (pure): CRLF enforcement and dot-stuffing as
 * described above. Feed it the content in pieces of any size; out must
 * hold 2 * n + 2 bytes; returns the bytes written. tg_smtpc_dot_end
 * writes the end of the data (a CRLF if needed, then ".\r\n"; at most 5
 * bytes). normalised counts lone CR/LF turned into CRLF.
 */
struct tg_smtpc_dot {
	int bol;		/* at the beginning of a line */
	int cr;			/* a CR is pending */
	size_t normalised;
};

void tg_smtpc_dot_init(struct tg_smtpc_dot *d);
size_t tg_smtpc_dot_feed(struct tg_smtpc_dot *d, const void *in, size_t n,
    char *out);
size_t tg_smtpc_dot_end(struct tg_smtpc_dot *d, char out[5]);

#endif
