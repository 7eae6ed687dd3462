/*
 * tls/certfile — an MX key and its self-signed certificate as files under
 * the state directory, and their description for the store.
 *
 * `tlsgate init` makes the first (current) one, `tlsgate cert rollover`
 * and controllerd's rollover the next ones. Keys go to state_dir/keys
 * (0700, each file 0600), certificates to state_dir/certs (0755); a name
 * is "<host>-<unix time>-<8 hex digits>", so two made in the same second
 * never collide. A self-signed certificate is what DANE-EE needs (RFC
 * 7671 §5.1: names and dates are not checked, the key is). The same
 * files serve as first-use certificates of the other roles
 * (tg_certfile_current).
 */
#ifndef TG_TLS_CERTFILE_H
#define TG_TLS_CERTFILE_H

#include "store/store.h"
#include "util/err.h"

/*
 * The current certificate of role for name (a host name; one label
 * allowed) from the store st into *rec. When there is none and create is
 * set, a self-signed one valid for days is made (tg_certfile_make: the
 * files under state_dir) and recorded in st as the current one of role
 * first, so that a server has a certificate from its first start (the
 * console, an mta-sts host before ACME replaces it). Returns 0 (*created,
 * which may be NULL, says whether it was made now), 1 when there is none
 * and create is not set, or -1 with err.
 */
int tg_certfile_current(struct tg_store *st, const char *state_dir,
    const char *name, enum tg_store_cert_role role, int create, int days,
    struct tg_store_cert *rec, int *created, struct tg_err *err);

/* Make the key and certificate for name, valid for days, and fill *rec
 * (role MX, state as given, TLSA none). 0, or -1 with err. */
int tg_certfile_make(const char *state_dir, const char *name, int days,
    enum tg_store_cert_state state, struct tg_store_cert *rec,
    struct tg_err *err);

/* Describe existing files for the store (role MX, state current, TLSA
 * none): the SPKI digest and validity come from the certificate. */
int tg_certfile_record(const char *name, const char *cert_path,
    const char *key_path, struct tg_store_cert *rec, struct tg_err *err);

/*
 * The issuer of the first certificate of the PEM file path, one line,
 * into issuer (len bytes), and in *self whether it is self-issued (its
 * issuer is its own subject: not a CA's). Either may be NULL. 0, or -1
 * with err (the file cannot be read).
 */
int tg_certfile_issuer(const char *path, char *issuer, size_t len,
    int *self, struct tg_err *err);

#endif
