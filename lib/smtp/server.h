/*
 * smtp/server — the receiving side of SMTP: an ESMTP server on libevent,
 * one state machine per session, handing every accepted message to the
 * durable spool before it says 250. Used by relayd (mail from internal
 * networks) and mxd (mail for the hosted domains, from anyone).
 *
 * Owns: sessions (accept, greeting, commands, DATA, STARTTLS, limits,
 * timeouts, replies, one log line per outcome), the client access check,
 * the Received header, and the group commit of finished messages.
 * Does not own: the listening sockets and the daemon (net/daemon), the
 * spool's format and durability (smtp/spool), command syntax
 * (smtp/smtpcmd), the DATA decoder (smtp/dotstuff), TLS contexts
 * (tls/tls_server), delivery (the caller's queued callback).
 *
 * Protocol (RFC 5321 unless named):
 *   - EHLO offers PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME
 *     (RFC 6152), ENHANCEDSTATUSCODES (RFC 2034), SMTPUTF8 (RFC 6531),
 *     DSN (RFC 3461; RET, ENVID, NOTIFY and ORCPT are kept in the
 *     envelope) and STARTTLS (RFC 3207) while TLS is available and not yet
 *     active. No AUTH, no CHUNKING: BDAT ends the session (its chunk would
 *     otherwise be read as commands).
 *   - Access (RELIABILITY I-09), a relay's (relayd): a client whose
 *     address is in none of the configured networks gets "554 5.7.1"
 *     instead of the 220 greeting; every command but QUIT is then
 *     answered 503 (RFC 5321 §3.1), so nothing is ever accepted from it.
 *     Clients that are allowed may relay to any address (the relay sends
 *     everything to the Internet: the network list is the only gate);
 *     source routes are dropped, percent hacks, bang paths and quoted
 *     local parts pass as they are, malformed paths get 501/553
 *     (smtp/smtpcmd). <Postmaster> without a domain gets 550 5.1.1: a
 *     relay has no mailboxes.
 *   - Access, an inbound MX's (mxd, conf->inbound): any client may
 *     connect, and the recipient is the gate: its domain must be one of
 *     the configured (hosted) domains, else "554 5.7.1 Relay access
 *     denied" (address literals too); a hosted domain marked "defer" (no
 *     route yet) gets "451 4.3.5"; a local part with "%", "!" or a quoted
 *     "@" gets "550 5.7.1", whatever the internal server would make of
 *     it; <Postmaster> is taken as postmaster@ the first domain added
 *     (RFC 5321 §4.5.1).
 *   - Pipelining (RFC 2920 §3.1, RELIABILITY I-05): input sent before the
 *     greeting, further commands pipelined behind EHLO, HELO, DATA, NOOP,
 *     VRFY or EXPN, or behind any command when the client did not say
 *     EHLO, get "554 5.5.0 protocol synchronization" and the session
 *     ends; the offending bytes are logged (escaped).
 *   - STARTTLS (RFC 3207 §4, §4.2; RELIABILITY I-03, I-04): plaintext
 *     pipelined behind STARTTLS is discarded at the switch (CVE-2011-0411)
 *     and logged; after the handshake the session is back in its initial
 *     state (EHLO needed, no envelope), STARTTLS is no longer offered and a
 *     second one gets 503; parameters get 501; no TLS context: 454.
 *   - HTTP requests (GET, POST, CONNECT, HEAD, PUT, "Name:" lines) get
 *     554 and the session ends (RELIABILITY I-11).
 *   - DATA (RELIABILITY I-01, I-06, I-07): the content is decoded by
 *     smtp/dotstuff and streamed to the spool. Only <CRLF>.<CRLF> ends it.
 *     A bare CR, bare LF or NUL anywhere makes the whole message rejected
 *     with "554 5.6.0" after its real end (no desync); more than the size
 *     limit, or a header over its limits, "552 5.3.4"; in each case the
 *     spool file is removed at once and reading goes on to the end.
 *   - "Before 250" (RFC 5321 §6.1, RELIABILITY §1.9): the space check at
 *     MAIL ("452 4.3.1"), then 250 after DATA only once tg_spool_commit
 *     has returned success for this message; any spool failure is "451
 *     4.3.0", or "452 4.3.1" when the disk is full, and nothing is left on
 *     disk. Messages that end in the same turn of the event loop are
 *     committed together (one directory fsync; tg_spool_commit_batch).
 *     A client that leaves before its reply loses nothing it was promised.
 *   - Limits: command line TG_SMTP_LINE_MAX ("500 5.5.2 line too long",
 *     the rest of the line discarded), recipients ("452 4.5.3", RFC 5321
 *     §4.5.3.1.10), error replies per session (then "421 4.7.0" and
 *     close), sessions in all and per client address (IPv6: per /64;
 *     "421 4.7.0" instead of the greeting), a deadline per command (the
 *     whole line within cmd_timeout, RFC 5321 §4.5.3.2), a DATA deadline
 *     extended by received bytes at min_data_rate (Postfix's
 *     smtpd_min_data_rate), a TLS handshake deadline, replies queued
 *     (reading pauses) and input read ahead (TCP back-pressure).
 *   - Timeouts end the session with "421 4.4.2".
 *
 * Sessions are never freed inside their own callbacks: a finished session
 * is marked dead and freed from a separate event. Each session keeps a
 * reference to the tg_smtpd_conf it started with, so a reload never
 * changes the rules under a session's feet.
 *
 * Every phase has a deadline except the wait for the spool's commit,
 * which is local work (an fsync) the client cannot stretch. A session
 * ends with a lingering close: the last reply is flushed, our side shut
 * down, and what the client still sends is read and dropped until it
 * closes or close_timeout passes, so that its kernel does not throw the
 * reply away on a RST.
 *
 * Log lines (core/log, one per outcome, session id first): event=connect
 * (result=ok or refused), event=message (result=queued queue_id=...,
 * rejected or deferred, with code and status), event=command for a
 * refused MAIL or RCPT, event=starttls, event=starttls-injection,
 * event=violation (with the offending input, escaped), event=disconnect
 * (reason, counts, TLS, duration).
 */
#ifndef TG_SMTP_SERVER_H
#define TG_SMTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "smtp/dotstuff.h"
#include "smtp/spool.h"
#include "store/store.h"
#include "tls/tls_server.h"
#include "util/cidr.h"
#include "util/err.h"
#include "util/limits.h"

/*
 * The rules sessions run under: plain data plus two owned members, built
 * by the daemon for each configuration snapshot and shared by reference
 * count (tg_smtpd_conf_ref/unref; never change one after it was given
 * to tg_smtpd_accept). tg_smtpd_conf_new fills the defaults noted.
 */
struct tg_smtpd_conf {
	int refs;
	char hostname[TG_DNAME_MAX + 1];	/* greeting, EHLO, Received */
	uint64_t max_size;	/* content bytes; TG_SPOOL_MSG_SIZE_DEFAULT */
	size_t max_rcpt;	/* recipients; TG_SPOOL_RCPT_MAX (ceiling) */
	struct tg_cidr *nets;	/* owned: allowed clients; none: nobody */
	size_t nnets;
	/* An inbound MX: any client, recipients in domains only (sorted,
	 * lower case; tg_smtpd_conf_add_domain). */
	int inbound;
	struct tg_smtpd_domain *domains;	/* owned */
	size_t ndomains;
	char postmaster_domain[TG_DNAME_MAX + 1];	/* <Postmaster> */
	SSL_CTX *tls;		/* owned reference; NULL: no STARTTLS */
	/* Offer REQUIRETLS (RFC 8689 §2) in sessions under TLS: the daemon
	 * then delivers such mail only as §4.2.1 demands. 0: not offered,
	 * and the MAIL parameter is refused as unknown. */
	int requiretls;
	int greet_delay_ms;	/* wait before the greeting; 0 */
	int cmd_timeout_ms;	/* TG_SMTP_CMD_TIMEOUT_S */
	int data_timeout_ms;	/* TG_SMTPD_DATA_TIMEOUT_S */
	int tls_timeout_ms;	/* TG_SMTP_TLS_TIMEOUT_S */
	int close_timeout_ms;	/* TG_SMTPD_CLOSE_TIMEOUT_S */
	unsigned min_data_rate;	/* bytes/s; TG_SMTPD_MIN_DATA_RATE */
	unsigned max_errors;	/* TG_SMTPD_ERRORS_MAX */
	unsigned max_sessions;	/* TG_SMTPD_SESSIONS_MAX */
	unsigned max_per_client; /* TG_SMTPD_PER_CLIENT_MAX */
	struct tg_dotstuff_limits hdr;	/* header limits; 0s: defaults */
};

/* A new conf with the defaults above and one reference; hostname is
 * "localhost" until set. NULL when out of memory. */
struct tg_smtpd_conf *tg_smtpd_conf_new(void);

/* Allow clients in net (copied). -1 (TG_ERR_TEMP) out of memory. */
int tg_smtpd_conf_add_net(struct tg_smtpd_conf *c, const struct tg_cidr *net,
    struct tg_err *err);

/* A hosted domain of an inbound server. */
struct tg_smtpd_domain {
	char name[TG_DNAME_MAX + 1];	/* lower case, no final dot */
	int defer;			/* taken later: 451 4.3.5 for now */
};

/*
 * Take recipients in name (normalised; a second add of the same name is
 * ignored) on an inbound server; defer: answer 451 4.3.5 instead, for a
 * domain that cannot be delivered yet. -1 with err: a bad name (PERM)
 * or out of memory (TEMP).
 */
int tg_smtpd_conf_add_domain(struct tg_smtpd_conf *c, const char *name,
    int defer, struct tg_err *err);

/* The hosted domain name (any case, no final dot), or NULL. */
const struct tg_smtpd_domain *tg_smtpd_conf_domain(
    const struct tg_smtpd_conf *c, const char *name);

/* Offer STARTTLS with ctx (a reference is taken; NULL: do not offer). */
void tg_smtpd_conf_set_tls(struct tg_smtpd_conf *c, SSL_CTX *ctx);

/*
 * Offer STARTTLS with the store's (st, borrowed) current MX certificate
 * for hostname, else any current MX certificate. *cur is the daemon's
 * loaded certificate (a reference, may be NULL): it is replaced only when
 * the files differ and the new ones load; a certificate that cannot be
 * loaded keeps the one in use (logged). Without any, STARTTLS is not
 * offered. -1 with err when the store cannot be read.
 */
int tg_smtpd_conf_store_tls(struct tg_smtpd_conf *c, struct tg_store *st,
    const char *hostname, struct tg_tls_server **cur, struct tg_err *err);

void tg_smtpd_conf_ref(struct tg_smtpd_conf *c);
void tg_smtpd_conf_unref(struct tg_smtpd_conf *c);	/* NULL-safe */

/* 1 if the client address sa (AF_INET or AF_INET6, borrowed) lies in one
 * of c's networks, else 0. */
int tg_smtpd_conf_allows(const struct tg_smtpd_conf *c,
    const struct sockaddr *sa);

struct tg_smtpd;

/*
 * Called once for each message committed to the spool, after its 250 was
 * queued for the client: qid and env are borrowed for the call (env's
 * rcpt list is the accepted recipients). This is where delivery starts.
 */
typedef void (*tg_smtpd_queued_fn)(void *arg, const char *qid,
    const struct tg_spool_env *env);

/*
 * A server on base (borrowed) writing to spool (borrowed, owner mode);
 * both must outlive it. queued may be NULL. *out: free with
 * tg_smtpd_free.
 */
int tg_smtpd_new(struct event_base *base, struct tg_spool *spool,
    tg_smtpd_queued_fn queued, void *arg, struct tg_smtpd **out,
    struct tg_err *err);

/* End every session at once (no replies; messages not committed are
 * removed) and free the server. NULL-safe. */
void tg_smtpd_free(struct tg_smtpd *srv);

/*
 * Start a session on the connected socket fd (taken: closed when the
 * session ends, and on failure) from the peer sa/salen (borrowed), under
 * conf (a reference is taken). Sets TCP_NODELAY (BENCH.md). Returns 0, or
 * -1 with err when out of memory.
 */
int tg_smtpd_accept(struct tg_smtpd *srv, evutil_socket_t fd,
    const struct sockaddr *sa, int salen, struct tg_smtpd_conf *conf,
    struct tg_err *err);

/*
 * Graceful stop: sessions waiting for a command get "421 4.3.2" and end;
 * sessions in DATA or waiting for their commit finish that message first.
 * done(arg) is called (from its own event) once no session is left.
 */
void tg_smtpd_shutdown(struct tg_smtpd *srv, void (*done)(void *arg),
    void *arg);

/*
 * Recipient verification (mxd, RELIABILITY I-10): an inbound session asks
 * the verifier about every recipient its gate took — except postmaster,
 * which RFC 5321 §4.5.1 says must be taken — and replies to that RCPT
 * once the answer is in. Commands pipelined behind it wait (their
 * replies keep their order, RFC 2920 §3.1); the wait is bounded by the
 * command timeout (then "421 4.4.2"), and by the verifier's own budget.
 */
struct tg_smtpd_verdict {
	int code;			/* 0: take it; else the reply code */
	char status[8];			/* enhanced status, with code */
	char text[TG_SMTPD_VERDICT_TEXT_MAX];	/* reply text, no CR/LF */
};

/* The answer to ask, once unless cancelled; v valid during the call. */
typedef void (*tg_smtpd_verdict_cb)(void *arg,
    const struct tg_smtpd_verdict *v);

struct tg_smtpd_verifier {
	/* Ask about addr (borrowed for the call): NULL with *now filled
	 * when the answer is known at once; else a handle, and cb(arg,
	 * ...) runs later from the loop, never inside ask. */
	void *(*ask)(void *ctx, const char *addr, tg_smtpd_verdict_cb cb,
	    void *arg, struct tg_smtpd_verdict *now);
	/* The handle's answer is no longer wanted (the session ended). */
	void (*cancel)(void *ctx, void *handle);
	void *ctx;
};

/* Verify inbound recipients with v (copied; NULL or ask NULL: take every
 * recipient the gate takes). Sessions waiting for an answer keep the
 * verifier they asked: replace one only when none waits. */
void tg_smtpd_set_verifier(struct tg_smtpd *srv,
    const struct tg_smtpd_verifier *v);

struct tg_smtpd_stats {
	size_t active;		/* sessions now */
	uint64_t sessions;	/* sessions started */
	uint64_t refused;	/* sessions refused at the greeting */
	uint64_t queued;	/* messages committed (250) */
	uint64_t rejected;	/* messages refused after DATA */
};

void tg_smtpd_get_stats(const struct tg_smtpd *srv,
    struct tg_smtpd_stats *out);

#endif
