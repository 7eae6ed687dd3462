/*
 * smtp/client internals, shared by client.c (connection, TLS, I/O),
 * client_txn.c (mail transactions, content encoder) and client_cache.c
 * (TLS session cache). Not for other modules.
 */
#ifndef TG_SMTP_CLIENT_INT_H
#define TG_SMTP_CLIENT_INT_H

#include <sys/socket.h>

#include <event2/bufferevent.h>

#include "smtp/client.h"
#include "smtp/reply.h"

/* What a verified handshake established, kept with its session so that a
 * resumed session reports the same facts (RELIABILITY O-10). */
struct tg_smtpc_facts {
	int verified;
	int dane_depth;
	int tlsa_index;
	uint8_t usage, selector, mtype;
};

struct tg_smtpc {
	struct event_base *base;	/* borrowed */
	enum tg_smtpc_step state;
	struct sockaddr_storage sa;
	socklen_t salen;
	char helo[TG_DNAME_MAX + 1];
	enum tg_smtpc_tls tls;
	SSL_CTX *ctx;			/* borrowed */
	const struct tg_tls_verify *verify; /* borrowed until ready */
	struct tg_smtpc_cache *cache;	/* borrowed, may be NULL */
	char sess_key[TG_TLS_SESSION_KEY_LEN + 1];
	int sess_offered;		/* a cached session was offered */
	struct tg_smtpc_facts sess_facts; /* ... with these facts */
	int tmo_ms[TG_SMTPC_STEP_DONE];
	int fd;				/* owned until bev has it */
	struct event *conn_ev;		/* owned */
	struct event *timer;		/* owned */
	struct event *ready_ev;		/* owned: the ready callback */
	struct event *done_ev;		/* owned: the done callback */
	struct event *free_ev;		/* owned: frees after close */
	struct bufferevent *bev;	/* owned: socket, later TLS filter */
	struct tg_smtp_reply reply;
	struct tg_smtpc_conn res;
	long long start_ms;
	int ready_due;			/* ready callback not run yet */
	int closing;			/* tg_smtpc_close was called */
	void (*freed)(void *arg);	/* tg_smtpc_close_notify */
	void *freed_arg;
	tg_smtpc_ready_cb ready_cb;
	void *ready_arg;
	/* The transaction (client_txn.c). */
	const struct tg_smtpc_txn *txn;	/* borrowed; NULL when none */
	int txn_waiting;		/* accepted during RSET, not started */
	int txn_ended;			/* result final, callback due */
	tg_smtpc_done_cb done_cb;
	void *done_arg;
	struct tg_smtpc_txn_result tr;
	struct tg_smtpc_rcpt_result *rr; /* owned, txn->nrcpt entries */
	int pipelining;			/* MAIL..DATA sent in one go */
	int mail_failed;
	size_t rcpt_at;			/* recipient of the due reply */
	size_t rcpt_valid;		/* recipients sent (passed checks) */
	int final_seen;			/* the reply to "." came */
	int dot_ignore;			/* "." sent for an empty 354 */
	int dot_sent;			/* the end of the content is out */
	int body_eof;
	int pumping;			/* inside tg_smtpc_body_pump */
	char *chunk;			/* owned during BODY */
	struct tg_smtpc_dot dot;
};

/* client.c, for client_txn.c */
void tg_smtpc_enter(struct tg_smtpc *c, enum tg_smtpc_step st);
int tg_smtpc_sendf(struct tg_smtpc *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tg_smtpc_lost(struct tg_smtpc *c, enum tg_smtpc_status st,
    const char *status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void tg_smtpc_outcome_reply(struct tg_smtpc_outcome *o,
    const struct tg_smtp_reply *r);
void tg_smtpc_to_ready(struct tg_smtpc *c);
void tg_smtpc_quit(struct tg_smtpc *c);

/* client_txn.c, for client.c */
void tg_smtpc_txn_begin(struct tg_smtpc *c);
void tg_smtpc_txn_abort(struct tg_smtpc *c);
void tg_smtpc_txn_release(struct tg_smtpc *c);
void tg_smtpc_st_mail(struct tg_smtpc *c);
void tg_smtpc_st_rcpt(struct tg_smtpc *c);
void tg_smtpc_st_data(struct tg_smtpc *c);
void tg_smtpc_st_dot(struct tg_smtpc *c);
void tg_smtpc_st_rset(struct tg_smtpc *c);
void tg_smtpc_body_pump(struct tg_smtpc *c);
void tg_smtpc_note_reply(struct tg_smtpc *c);
void tg_smtpc_done_fire(evutil_socket_t fd, short what, void *arg);

/* client_cache.c, for client.c: take the session stored under key (the
 * caller owns the result; NULL if none or expired), and store one
 * (sess taken). */
SSL_SESSION *tg_smtpc_cache_take(struct tg_smtpc_cache *cache,
    const char *key, struct tg_smtpc_facts *facts);
void tg_smtpc_cache_put(struct tg_smtpc_cache *cache, const char *key,
    SSL_SESSION *sess, const struct tg_smtpc_facts *facts);

#endif
