/*
 * smtp/mta — what tlsgate-relayd and tlsgate-mxd are both made of: a
 * spool, the SMTP server that writes to it (smtp/server) and the
 * delivery engine that reads it (smtp/delivery), on one event loop,
 * with the server handing every committed message to the engine at
 * once.
 *
 * Owns: those three, opened and closed in the right order (the engine
 * before the spool it reads; the server's graceful stop). Does not own:
 * the listeners, snapshots and privileges (net/daemon), the server's
 * rules (struct tg_smtpd_conf, built by the daemon per snapshot), the
 * TLS certificate.
 */
#ifndef TG_SMTP_MTA_H
#define TG_SMTP_MTA_H

#include <event2/event.h>

#include "core/conf.h"
#include "smtp/delivery.h"
#include "smtp/server.h"
#include "util/err.h"

struct tg_mta;

/*
 * A server conf with the limits of conf (borrowed): relay.hostname as the
 * name in the greeting, EHLO and Received, smtp.max_message_size and
 * smtp.max_recipients, bounded by the spool's ceilings (room is left for
 * the Received header). NULL with err when relay.hostname is not a
 * fully-qualified domain name (RFC 5321 §4.1.1.1) or memory runs out.
 */
struct tg_smtpd_conf *tg_mta_smtpd_conf(const struct tg_conf *conf,
    struct tg_err *err);

/*
 * A message the server has just committed (qid and env borrowed), before
 * the engine sees it: a chance to deliver some recipients here and now,
 * marking them in the spool (sp, borrowed) — mxd writes the copies for
 * TLS report mailboxes into the report inbox. The engine delivers what
 * is left.
 */
typedef void (*tg_mta_local_fn)(void *ctx, struct tg_spool *sp,
    const char *qid, const struct tg_spool_env *env);

/* What a daemon adds to the two halves; every member may be NULL. */
struct tg_mta_hooks {
	tg_delivery_route_fn route;	/* fixed next hops (mxd's routes) */
	void *route_ctx;
	tg_mta_local_fn local;		/* local delivery before the engine */
	void *local_ctx;
	/* With routes and mx.verify_recipients: 1 for a recipient that is
	 * not the internal server's to judge (local takes it). NULL: none. */
	int (*verify_skip)(void *ctx, const char *addr);
	void *verify_ctx;
};

/*
 * Open the spool in spool_dir (created when missing; owner mode), the
 * delivery engine for it (tg_delivery_env_open with conf) and the
 * server, with hooks (copied; NULL: none), then start a queue run for
 * what the spool holds. With routes the server verifies inbound
 * recipients with their route (smtp/rcptverify) while
 * mx.verify_recipients is on: a refused one gets 550 5.1.1, one the
 * route cannot answer for is taken; and DSNs are limited to
 * mx.dsn_rate_limit per sender domain and hour (its senders are anyone).
 * Call it as the service user.
 * Returns 0 with *out (tg_mta_free), or -1 with err.
 */
int tg_mta_open(struct event_base *base, const struct tg_conf *conf,
    const char *spool_dir, const struct tg_mta_hooks *hooks,
    struct tg_mta **out, struct tg_err *err);

/* A session on the accepted socket fd (taken) from sa under sc (a
 * reference is taken); a failure is logged. */
void tg_mta_accept(struct tg_mta *m, evutil_socket_t fd,
    const struct sockaddr *sa, int salen, struct tg_smtpd_conf *sc);

/* A reloaded config: the engine's limits; every destination is decided
 * afresh. NULL-safe. */
void tg_mta_reload(struct tg_mta *m, const struct tg_conf *conf);

/* Graceful stop of the server (tg_smtpd_shutdown); done(arg) once no
 * session is left. */
void tg_mta_shutdown(struct tg_mta *m, void (*done)(void *arg), void *arg);

/* Server, engine, spool, in that order. NULL-safe. */
void tg_mta_free(struct tg_mta *m);

#endif
