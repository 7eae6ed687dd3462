/*
 * tls/tls_server — the server side of TLS for SMTP STARTTLS, on OpenSSL.
 *
 * Owns: building a server SSL_CTX from a certificate file (leaf first,
 * then its chain) and a private key file, with the settings every
 * tlsgate SMTP listener shares: TLS 1.2 or newer, no compression, no
 * renegotiation, the server's cipher order, buffers released between
 * records (memory per idle session), and an ALPN rule (RELIABILITY I-11,
 * ALPACA): a client that offers ALPN without "smtp" is speaking another
 * protocol and the handshake is aborted (no_application_protocol);
 * clients that send no ALPN, as SMTP clients do, are served.
 * And remembering which files a context came from, so that a reload
 * rebuilds the context only when the files changed (keeping the session
 * cache otherwise).
 *
 * Does not own: choosing the certificate (the store and the daemon do),
 * sockets, the STARTTLS exchange (smtp/server), client verification
 * (tls/tls_client).
 *
 * A struct tg_tls_server is immutable once built and reference-counted,
 * so the snapshot of a reload can share it with the previous one.
 */
#ifndef TG_TLS_TLS_SERVER_H
#define TG_TLS_TLS_SERVER_H

#include <openssl/ssl.h>

#include "util/err.h"

struct tg_tls_server;

/*
 * Load cert_path (PEM: the leaf, then intermediates; at most
 * TG_CHAIN_MAX) and key_path (unencrypted PEM key that must match the
 * leaf) into a new server context. Paths are borrowed. *out has one
 * reference (tg_tls_server_unref). Errors (TG_ERR_PERM): unreadable or
 * bad files, key not matching the certificate; TG_ERR_TEMP: OpenSSL out
 * of memory.
 */
int tg_tls_server_new(const char *cert_path, const char *key_path,
    struct tg_tls_server **out, struct tg_err *err);

/*
 * 1 if ts was loaded from exactly these files and neither changed since
 * (same paths, device, inode, size and modification time), else 0.
 */
int tg_tls_server_same_files(const struct tg_tls_server *ts,
    const char *cert_path, const char *key_path);

/* Take and drop references; unref frees at zero (NULL-safe). */
void tg_tls_server_ref(struct tg_tls_server *ts);
void tg_tls_server_unref(struct tg_tls_server *ts);

/* The context (borrowed from ts; SSL_CTX_up_ref to keep it longer). */
SSL_CTX *tg_tls_server_ctx(const struct tg_tls_server *ts);

/* The certificate file it was loaded from (borrowed). */
const char *tg_tls_server_cert_path(const struct tg_tls_server *ts);

/*
 * A new server context with the shared settings and no certificate yet,
 * for callers that hold the certificate in memory (tests). Caller owns
 * it (SSL_CTX_free). NULL with err on failure.
 */
SSL_CTX *tg_tls_server_ctx_new(struct tg_err *err);

#endif
