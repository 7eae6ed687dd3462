/*
 * acme/acme — an ACME client (RFC 8555): one certificate for one DNS
 * name and a key we already have, proved by an http-01 challenge.
 *
 * Owns the protocol's sequence: the directory (§7.1.1), nonces (§7.2,
 * every reply's Replay-Nonce feeds the next request, a badNonce error is
 * retried once with the fresh nonce: §6.5), the account (§7.3: the same
 * account key finds the same account, so nothing but the key has to be
 * kept), the order for one dns identifier (§7.4), its authorizations and
 * their http-01 challenges (§7.5, §8.3), finalisation with a CSR made
 * with the certificate's own key (so the key, and with it a DANE `3 1 1`
 * record, survives every renewal: RELIABILITY C-04), polling with
 * bounded counts that honours Retry-After (§7.5.1, §7.4), and the
 * download of the chain (§7.4.2, application/pem-certificate-chain).
 * Problem documents (RFC 7807, §6.7) become the error message.
 * It also checks what comes back before anyone uses it: the chain parses,
 * the leaf has our key, covers the name and is within its dates.
 *
 * Does not own: how a request travels (struct tg_acme_transport: libcurl
 * in acme/acme_curl.c, a script in unit tests), where the challenge is
 * served (struct tg_acme_challenger: the store and stsd, acme/renew.c),
 * keys and files on disk (acme/renew.c), when to renew (controllerd).
 *
 * Blocking: tg_acme_issue makes its requests one after the other and
 * sleeps between polls (through the transport's sleep), so it belongs on
 * a thread of its own (controllerd) or in a command (the CLI).
 */
#ifndef TG_ACME_ACME_H
#define TG_ACME_ACME_H

#include <openssl/evp.h>
#include <stddef.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"

#define TG_ACME_URL_MAX		2048	/* a URL we keep */
#define TG_ACME_NONCE_MAX	256	/* a Replay-Nonce */
#define TG_ACME_BODY_MAX	(256 * 1024)	/* a reply body */
#define TG_ACME_POLLS_MAX	30	/* looks at one authz or order */
#define TG_ACME_POLL_DEFAULT_S	2	/* between looks, no Retry-After */
#define TG_ACME_POLL_MAX_S	30	/* longest wait honoured */
#define TG_ACME_AUTHZ_MAX	4	/* authorizations of our order */
#define TG_ACME_CLOCK_SKEW_S	300	/* a leaf dated this far ahead is
					   taken: the CA's clock */

/* One HTTP reply, as the transport fills it. */
struct tg_acme_reply {
	long status;				/* HTTP status */
	char location[TG_ACME_URL_MAX];		/* "" if none */
	char nonce[TG_ACME_NONCE_MAX];		/* Replay-Nonce, "" */
	char content_type[128];			/* media type, lower case */
	long retry_after;			/* seconds, -1 if none */
	struct tg_buf body;			/* limit TG_ACME_BODY_MAX */
};

/*
 * How requests travel. send: method "GET", "HEAD" or "POST" (then body
 * is the JWS, sent as application/jose+json; else NULL) to url; fills
 * *reply (its body already initialised by the caller). Returns 0 when a
 * reply came (whatever its status), -1 with err when none did
 * (connection, TLS, timeout: the transport's limits). sleep: wait
 * seconds (a test makes it instant).
 */
struct tg_acme_transport {
	int (*send)(void *ctx, const char *method, const char *url,
	    const char *body, struct tg_acme_reply *reply,
	    struct tg_err *err);
	void (*sleep)(void *ctx, unsigned seconds);
	void *ctx;
};

/*
 * Where the answer is put up, for the challenge type type ("http-01",
 * the default when NULL, or "dns-01"). publish: make
 * http://host/.well-known/acme-challenge/token answer key_authorization
 * (http-01, §8.3), or the TXT record _acme-challenge.host hold
 * tg_acme_dns01_value(key_authorization) (dns-01, §8.4), and return 0
 * once it does (or -1 with err: the order is given up). withdraw: take
 * it down again (best effort). arg is theirs.
 */
struct tg_acme_challenger {
	int (*publish)(void *arg, const char *host, const char *token,
	    const char *key_authorization, struct tg_err *err);
	void (*withdraw)(void *arg, const char *token);
	void *arg;
	const char *type;
};

/* RFC 8555 §8.4: the TXT value of a dns-01 answer, base64url(SHA-256(
 * key_authorization)), into out (at least 44 bytes). 0, or -1 with err. */
int tg_acme_dns01_value(const char *key_authorization, char *out,
    size_t outlen, struct tg_err *err);

struct tg_acme_params {
	const char *directory_url;	/* borrowed, https://... */
	const char *email;		/* borrowed; NULL or "": no contact */
};

/*
 * Get a certificate for name (a host name) and cert_key (borrowed) under
 * the account of account_key (borrowed, ECDSA P-256; the account is made
 * on first use, agreeing to the terms of service). On success returns 0
 * and *chain_pem (owned, malloc'd: the leaf first, then the issuers, as
 * served), checked with tg_acme_check_chain at now. Returns -1 with err
 * otherwise: TG_ERR_TEMP for what may pass (no reply, 5xx, polls used
 * up, rate limits), TG_ERR_PERM for refusals (the challenge failed, the
 * CA rejected the name, a chain that is not ours). Challenges published
 * are withdrawn before it returns.
 */
int tg_acme_issue(const struct tg_acme_params *p,
    const struct tg_acme_transport *t, const struct tg_acme_challenger *ch,
    EVP_PKEY *account_key, EVP_PKEY *cert_key, const char *name,
    time_t now, char **chain_pem, struct tg_err *err);

/*
 * Check an issued chain (pem, len bytes): at least one certificate; the
 * leaf's public key is cert_key's, it is valid for name (RFC 6125 via
 * X509_check_host) and at now (its notBefore may be up to
 * TG_ACME_CLOCK_SKEW_S later). *not_before and *not_after (may be NULL)
 * get the leaf's dates. 0, or -1 with err (TG_ERR_PERM).
 */
int tg_acme_check_chain(const char *pem, size_t len, EVP_PKEY *cert_key,
    const char *name, time_t now, time_t *not_before, time_t *not_after,
    struct tg_err *err);

/* Initialise / release a reply's buffer. */
void tg_acme_reply_init(struct tg_acme_reply *r);
void tg_acme_reply_free(struct tg_acme_reply *r);

#endif
