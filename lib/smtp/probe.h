/*
 * smtp/probe — one asynchronous STARTTLS probe of one SMTP server
 * address, on the caller's libevent loop.
 *
 * This module owns: the client side of an SMTP session as far as TLS:
 * connect, 220 greeting, EHLO, STARTTLS, the TLS handshake with the
 * verification of tls/tls_client, EHLO again over TLS (RFC 3207 §4.1),
 * QUIT; and a result struct saying how far it got, why it stopped, what
 * TLS said and how long it took. `tlsgate check` runs one probe per MX
 * address, concurrently. Replies are parsed by smtp/reply, the parser
 * smtp/client uses as well.
 *
 * It does not own: choosing the address, the mode or the TLSA records
 * (policy, dns), the SSL_CTX (tls/tls_client), the event loop.
 *
 * States, one handler each, each with its own timeout:
 *   CONNECT   -> BANNER (220)  -> EHLO (250, STARTTLS offered?)
 *   -> STARTTLS (220)          -> TLS (handshake, verification)
 *   -> TLS_EHLO (250)          -> QUIT (221 or close)          -> DONE
 * When the server refuses a step (non-220 greeting, EHLO not 250, no
 * STARTTLS keyword, 454 to STARTTLS) the probe still says QUIT politely
 * before it reports. A timeout, a closed connection or a protocol error
 * ends the session at once.
 *
 * Hostile servers (RELIABILITY O-08, O-09; CVE-2021-38371,
 * CVE-2020-8794): every reply the parser of smtp/reply refuses (over-long
 * lines or replies, too many lines, bad or changing codes, control
 * bytes) is a protocol error. The probe never pipelines, so bytes that arrive
 * together with a complete reply are a server speaking out of turn: a
 * protocol error in every state. In particular, plaintext that follows
 * "220" to STARTTLS in the same read is treated as an injection attempt
 * and the probe aborts before any TLS byte is sent — it is neither
 * dropped nor consumed after the handshake.
 *
 * RFC 8460 result types: no STARTTLS in EHLO, or STARTTLS refused ->
 * "starttls-not-supported"; TLS failures -> the tls result's type (see
 * tls/tls_client.h).
 *
 * The callback runs once, from its own event (never from inside
 * tg_probe_start or an I/O callback); the probe frees itself after the
 * callback returns, so the result pointer is valid only during it.
 */
#ifndef TG_SMTP_PROBE_H
#define TG_SMTP_PROBE_H

#include <stddef.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "smtp/reply.h"
#include "tls/tls_client.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"

enum tg_probe_step {
	TG_PROBE_STEP_CONNECT = 0,
	TG_PROBE_STEP_BANNER,
	TG_PROBE_STEP_EHLO,
	TG_PROBE_STEP_STARTTLS,
	TG_PROBE_STEP_TLS,
	TG_PROBE_STEP_TLS_EHLO,
	TG_PROBE_STEP_QUIT,
	TG_PROBE_STEP_DONE
};

enum tg_probe_status {
	TG_PROBE_OK = 0,		/* TLS up and, if required, verified */
	TG_PROBE_CONNECT_REFUSED,
	TG_PROBE_CONNECT_TIMEOUT,
	TG_PROBE_CONNECT_FAILED,	/* unreachable, other socket error */
	TG_PROBE_BANNER_REJECTED,	/* greeting not 220 (e.g. 554) */
	TG_PROBE_EHLO_REJECTED,		/* EHLO not 250 (before or in TLS) */
	TG_PROBE_NO_STARTTLS,		/* STARTTLS not in the EHLO reply */
	TG_PROBE_STARTTLS_REFUSED,	/* STARTTLS answered, not 220 */
	TG_PROBE_HANDSHAKE_FAILED,	/* TLS failed, not a verify error */
	TG_PROBE_HANDSHAKE_TIMEOUT,
	TG_PROBE_NOT_VERIFIED,		/* authentication required, failed */
	TG_PROBE_TIMEOUT,		/* a reply did not come in time */
	TG_PROBE_CLOSED,		/* the server closed the connection */
	TG_PROBE_PROTOCOL_ERROR,	/* malformed, hostile or early reply */
	TG_PROBE_INTERNAL		/* our side: out of memory, socket() */
};

/* Bounded, escaped excerpts kept in the result. */
#define TG_PROBE_TEXT_MAX 256

struct tg_probe_result {
	enum tg_probe_status status;
	enum tg_probe_step step;	/* where status was decided */
	int reply_code;			/* the deciding reply, 0 if none */
	char reply[TG_PROBE_TEXT_MAX];	/* its first line, escaped */
	char banner[TG_PROBE_TEXT_MAX];	/* 220 greeting, first line */
	int starttls_offered;
	int tls_started;		/* a handshake was attempted */
	struct tg_tls_result tls;	/* valid when tls_started */
	int tls_ehlo_ok;		/* EHLO over TLS got 250 */
	long long elapsed_ms;
	const char *result_type;	/* RFC 8460 §4.3, or NULL */
	char reason[512];		/* one line for people */
};

struct tg_probe_params {
	const char *addr;	/* IPv4 or IPv6 literal; copied */
	unsigned port;		/* 0: 25 */
	const char *helo_name;	/* our EHLO name; copied */
	SSL_CTX *ctx;		/* borrowed: tg_tls_client_ctx_new */
	const struct tg_tls_verify *verify; /* borrowed, with all it points
					 * to, until the callback ran */
	int connect_ms;		/* per-step timeouts; 0: the default */
	int banner_ms;
	int ehlo_ms;
	int starttls_ms;
	int tls_ms;
	int quit_ms;
};

typedef void (*tg_probe_cb)(const struct tg_probe_result *res, void *arg);

struct tg_probe;

/* Fill p with defaults: port 25 and the timeouts of util/limits.h
 * (connect TG_SMTP_CONNECT_TIMEOUT_S, greeting
 * TG_SMTP_GREETING_TIMEOUT_S, commands TG_SMTP_CMD_TIMEOUT_S, handshake
 * TG_TLS_HANDSHAKE_TIMEOUT_S). */
void tg_probe_params_init(struct tg_probe_params *p);

/*
 * Start a probe on base. Returns the probe (owned by the module: it
 * frees itself after cb) or NULL with err if the parameters are bad (not
 * an IP literal, no EHLO name, no ctx/verify). Network failures are not
 * errors here: they arrive in the result.
 */
struct tg_probe *tg_probe_start(struct event_base *base,
    const struct tg_probe_params *params, tg_probe_cb cb, void *arg,
    struct tg_err *err);

/* Stop a probe whose callback has not run yet; the callback never
 * runs. NULL-safe. */
void tg_probe_cancel(struct tg_probe *p);

/* "ok", "connect-refused", … (stable names for logs and JSON). */
const char *tg_probe_status_name(enum tg_probe_status s);
const char *tg_probe_step_name(enum tg_probe_step s);

#endif
