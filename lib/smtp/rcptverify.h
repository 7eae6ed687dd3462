/*
 * smtp/rcptverify — does the internal mail server take this recipient?
 *
 * mxd asks at RCPT time (RELIABILITY I-10): a recipient the internal
 * server would refuse is refused there and then, so that nothing is
 * taken that would later bounce — to a sender that is forged more often
 * than not (backscatter). The question goes to the domain's route as an
 * SMTP probe, as Postfix's address verification does: EHLO, STARTTLS as
 * the route requires or the server offers, MAIL FROM:<>, RCPT
 * TO:<address>, RSET, QUIT (smtp/client's probe transaction) — no
 * message is sent.
 *
 * Answers: TAKEN (2xx), REFUSED (5xx, with the server's reply text) and
 * UNKNOWN (4xx, no answer in time, the server unreachable): the caller
 * decides what UNKNOWN means (mxd takes the mail: an internal server
 * that is down must not turn mail away; the queue is there for that).
 *
 * Cache: answers are kept in memory, TAKEN for TG_RCPTV_TAKEN_TTL_S,
 * REFUSED for TG_RCPTV_REFUSED_TTL_S, UNKNOWN not at all; at most
 * TG_RCPTV_CACHE_MAX addresses (about 100 bytes each), the oldest answer
 * goes first. Addresses
 * are compared in lower case. Probes: at most TG_RCPTV_ACTIVE_MAX at once;
 * more wait their turn (at most TG_RCPTV_WAIT_MAX, beyond that UNKNOWN at
 * once); questions about an address whose probe runs share its answer.
 *
 * Owns: the probes, their connections (smtp/client) until they are
 * gone, the cache. Does not own: the routes (the caller gives one with
 * each question), the loop, the resolver, the TLS context (borrowed).
 */
#ifndef TG_SMTP_RCPTVERIFY_H
#define TG_SMTP_RCPTVERIFY_H

#include <event2/event.h>

#include "dns/resolver.h"
#include "smtp/client.h"
#include "smtp/delivery.h"
#include "util/err.h"

#define TG_RCPTV_TAKEN_TTL_S	86400
#define TG_RCPTV_REFUSED_TTL_S	3600
#define TG_RCPTV_CACHE_MAX	100000
#define TG_RCPTV_ACTIVE_MAX	20
#define TG_RCPTV_WAIT_MAX	1000
/* A probe's whole budget from its first question, the wait for a turn
 * and the connection included: the client meanwhile waits for its RCPT
 * reply. */
#define TG_RCPTV_BUDGET_S	10

enum tg_rcptv_answer {
	TG_RCPTV_TAKEN = 0,
	TG_RCPTV_REFUSED,
	TG_RCPTV_UNKNOWN
};

struct tg_rcptv_result {
	enum tg_rcptv_answer answer;
	int cached;			/* from the cache, no probe */
	/* REFUSED: the server's reply ("550 5.1.1 ..."), escaped;
	 * UNKNOWN: why; TAKEN: the reply, "" from the cache. */
	char text[TG_SMTPC_TEXT_MAX];
};

/* The answer, once per question unless cancelled; res valid during the
 * call only. */
typedef void (*tg_rcptv_cb)(void *arg, const struct tg_rcptv_result *res);

struct tg_rcptv_params {
	struct event_base *base;		/* borrowed */
	struct tg_resolver *resolver;		/* borrowed: route names */
	SSL_CTX *ssl_ctx;			/* borrowed: TLS client */
	const char *helo_name;			/* copied */
	int budget_ms;				/* 0: TG_RCPTV_BUDGET_S */
	size_t cache_max;			/* 0: TG_RCPTV_CACHE_MAX */
};

struct tg_rcptv;
struct tg_rcptv_q;

/* A verifier (p copied). NULL with err: a missing member, memory. */
struct tg_rcptv *tg_rcptv_new(const struct tg_rcptv_params *p,
    struct tg_err *err);

/* Every question cancelled (no callback), every probe and every
 * connection still saying QUIT closed at once. NULL-safe. */
void tg_rcptv_free(struct tg_rcptv *v);

/*
 * Does the server at route (copied) take addr (copied)? When the answer
 * is known now — cached, or no room for another probe — it is written to
 * *now and NULL is returned (cb is not called). Otherwise a question is
 * returned and cb(arg, ...) runs later from the loop, never inside this
 * call; cancel it with tg_rcptv_cancel if the asker goes away first.
 */
struct tg_rcptv_q *tg_rcptv_ask(struct tg_rcptv *v,
    const struct tg_delivery_route *route, const char *addr, tg_rcptv_cb cb,
    void *arg, struct tg_rcptv_result *now);

/* The question will not be answered (its probe may go on for others). */
void tg_rcptv_cancel(struct tg_rcptv *v, struct tg_rcptv_q *q);

/* Forget every cached answer (the routes changed). */
void tg_rcptv_flush(struct tg_rcptv *v);

/* Counters, for tests and status. */
struct tg_rcptv_stats {
	unsigned long probes;		/* started */
	unsigned long cached;		/* questions answered from the cache */
	size_t active, waiting, entries;
	size_t closing;			/* connections still saying QUIT */
};
void tg_rcptv_stats(const struct tg_rcptv *v, struct tg_rcptv_stats *out);

#endif
