/*
 * acme/acme_curl — the transport of acme/acme over libcurl (easy API,
 * blocking: for a thread of its own or a command).
 *
 * Owns: https only, the server's certificate verified against ca_file
 * (or the system store) for the URL's host, redirects never followed,
 * connect and whole-request timeouts, the reply body capped at
 * TG_ACME_BODY_MAX, JWS bodies sent as application/jose+json (RFC 8555
 * §6.2), and the reply headers acme/acme needs: Location, Replay-Nonce,
 * Content-Type, Retry-After (delta-seconds only; a date counts as none).
 * Connections are kept between requests of one transport.
 */
#ifndef TG_ACME_ACME_CURL_H
#define TG_ACME_ACME_CURL_H

#include <stdatomic.h>

#include "acme/acme.h"

struct tg_acme_curl;

/*
 * A transport (owned: tg_acme_curl_free) with ca_file (borrowed, copied;
 * NULL or "": the system store) and timeout_s per request. cancel
 * (borrowed, may be NULL): once it is non-zero, a request in flight is
 * aborted and a sleep ends within a second, so a stopping daemon does
 * not wait for an order. *t is filled to use it. 0, or -1 with err.
 */
int tg_acme_curl_new(const char *ca_file, long timeout_s,
    const atomic_int *cancel, struct tg_acme_curl **out,
    struct tg_acme_transport *t, struct tg_err *err);

void tg_acme_curl_free(struct tg_acme_curl *c);

/*
 * Parse one reply header line (name: value, CRLF or not) into r when it
 * is one acme/acme needs. Exposed for unit tests.
 */
void tg_acme_curl_header(const char *line, size_t len,
    struct tg_acme_reply *r);

#endif
