/*
 * tls/cert — certificates and private keys as tlsgate handles them.
 *
 * This module owns: loading PEM certificates, chains and private keys
 * from files or memory (always size-bounded first); the DER encodings a
 * TLSA record is computed from (the whole certificate, or its
 * SubjectPublicKeyInfo); SHA-256/SHA-512 digests of those; validity
 * dates; the names a certificate is valid for; and making new ECDSA
 * P-256 keys and certificates (a self-signed one for first use, and
 * issued ones, which the test suites use to build lab chains).
 *
 * It does not own: TLSA record formats (tls/tlsa), TLS connections
 * (tls/tls_client), where keys live or when they roll (controller).
 *
 * OpenSSL's X509, EVP_PKEY and STACK_OF(X509) are the currency; each
 * function says who owns what it returns. Nothing here reads the clock
 * except through util/clock, so tests can pin "now".
 */
#ifndef TG_TLS_CERT_H
#define TG_TLS_CERT_H

#include <stddef.h>
#include <time.h>

#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/err.h"
#include "util/limits.h"

/* What a digest or DER encoding covers; numbered as the TLSA selector
 * field (RFC 6698 §2.1.2). */
enum tg_cert_part {
	TG_CERT_PART_FULL = 0,	/* the whole certificate, DER */
	TG_CERT_PART_SPKI = 1	/* SubjectPublicKeyInfo, DER */
};

/* Digest algorithms; numbered as the TLSA matching type (RFC 6698
 * §2.1.3), 0 meaning "no digest, the data itself". */
enum tg_cert_md {
	TG_CERT_MD_NONE = 0,
	TG_CERT_MD_SHA256 = 1,
	TG_CERT_MD_SHA512 = 2
};

#define TG_CERT_DIGEST_MAX 64	/* SHA-512 */

/* The DNS names a certificate is valid for. RFC 6125 §6.4.4: the CN is
 * a name only when there is no SAN dNSName. */
struct tg_cert_names {
	size_t n;				/* entries used in name[] */
	int from_cn;				/* 1: name[0] is the CN */
	size_t skipped;				/* unprintable/too
						   long/over max */
	char cn[TG_DNAME_MAX + 1];		/* "" if none/unprintable */
	char name[TG_CERT_NAMES_MAX][TG_DNAME_MAX + 1];
};

/* Parameters of a certificate to make. */
struct tg_cert_template {
	const char *cn;			/* subject CN; NULL: names[0] */
	const char *const *names;	/* SAN dNSNames, borrowed; may
					   be NULL */
	size_t n_names;
	time_t not_before;		/* absolute times; not_after may be */
	time_t not_after;		/* earlier (a "never valid" cert) */
	int is_ca;			/* 1: CA:TRUE, keyCertSign */
};

/*
 * Read at most TG_CERT_FILE_MAX bytes of PEM from path and parse every
 * certificate in it, leaf first as written (at most TG_CHAIN_MAX).
 * On success *out is a new stack the caller owns (tg_cert_chain_free).
 * Errors: unreadable or oversized file, no certificate, bad PEM.
 */
int tg_cert_chain_load_file(const char *path, STACK_OF(X509) **out,
    struct tg_err *err);

/* Same from memory; pem is borrowed and need not be NUL-terminated. */
int tg_cert_chain_load_mem(const char *pem, size_t len,
    STACK_OF(X509) **out, struct tg_err *err);

/* Free a stack and every certificate in it. NULL-safe. */
void tg_cert_chain_free(STACK_OF(X509) *chain);

/*
 * Load one unencrypted PEM private key (never prompts for a
 * passphrase: an encrypted key is an error). *out is owned by the
 * caller (EVP_PKEY_free).
 */
int tg_cert_key_load_file(const char *path, EVP_PKEY **out,
    struct tg_err *err);
int tg_cert_key_load_mem(const char *pem, size_t len, EVP_PKEY **out,
    struct tg_err *err);

/* 1 if key is the private key of cert's public key, else 0. */
int tg_cert_key_matches(X509 *cert, EVP_PKEY *key);

/*
 * DER of the whole certificate or of its SPKI. *der is a new buffer
 * the caller frees with OPENSSL_free; *len its length.
 */
int tg_cert_der(X509 *cert, enum tg_cert_part part, unsigned char **der,
    size_t *len, struct tg_err *err);

/* DER of a key's SubjectPublicKeyInfo (public half only). */
int tg_cert_key_spki_der(EVP_PKEY *key, unsigned char **der, size_t *len,
    struct tg_err *err);

/*
 * Digest data with md (SHA256 or SHA512) into out (at least
 * TG_CERT_DIGEST_MAX bytes); *outlen is 32 or 64.
 */
int tg_cert_digest_data(enum tg_cert_md md, const unsigned char *data,
    size_t len, unsigned char *out, size_t *outlen, struct tg_err *err);

/* Digest of a certificate's DER or SPKI (the TLSA "x 0 1", "x 1 2"…). */
int tg_cert_digest(X509 *cert, enum tg_cert_part part, enum tg_cert_md md,
    unsigned char *out, size_t *outlen, struct tg_err *err);

/* notBefore / notAfter as seconds since the epoch (UTC). */
int tg_cert_validity(X509 *cert, time_t *not_before, time_t *not_after,
    struct tg_err *err);

/* The DNS names of cert (SAN dNSNames, else the CN) into *names. */
void tg_cert_names(X509 *cert, struct tg_cert_names *names);

/*
 * One-line RFC 2253 subject or issuer into out (at most outlen - 1
 * bytes; control and non-ASCII bytes escaped as \xNN, so the text is
 * safe to log and to put in JSON).
 */
void tg_cert_subject(X509 *cert, char *out, size_t outlen);
void tg_cert_issuer(X509 *cert, char *out, size_t outlen);

/* A new ECDSA P-256 key pair (caller owns: EVP_PKEY_free), or NULL. */
EVP_PKEY *tg_cert_key_new(struct tg_err *err);

/*
 * Make a certificate for subject_key (borrowed) per t, signed with
 * ECDSA-SHA256 by issuer_key, with issuer's subject as issuer name;
 * issuer == NULL makes it self-signed (issuer_key is then ignored and
 * subject_key signs). Random 127-bit serial. *out is owned by the
 * caller (X509_free). Errors: bad names, no names and no cn.
 */
int tg_cert_issue(const struct tg_cert_template *t, EVP_PKEY *subject_key,
    X509 *issuer, EVP_PKEY *issuer_key, X509 **out, struct tg_err *err);

/*
 * First-use certificate: a new P-256 key and a self-signed certificate
 * for names[0..n-1] (CN = names[0], every name a SAN dNSName), valid
 * from now - 1 hour for days days (1..TG_CERT_DAYS_MAX). The key is
 * written to key_path with mode 0600 and the certificate to cert_path
 * (0644), each through a temporary file in the same directory linked
 * into place, so a reader never sees a partial file. Existing files are
 * never replaced: if either path exists the call fails (EEXIST) and
 * writes nothing. Names must be host names in normal form (util/dname,
 * tg_dname_host_normalize: "localhost" is one).
 */
int tg_cert_make_self_signed(const char *const names[], size_t n, int days,
    const char *key_path, const char *cert_path, struct tg_err *err);

/*
 * Write len bytes of data (a PEM chain) as the new file path with mode:
 * through a temporary file in the same directory, fsync'd and linked
 * into place, then the directory fsync'd, so the name never points at a
 * partial file and survives a crash once this returns. An existing path
 * is never replaced (EEXIST). 0, or -1 with err.
 */
int tg_cert_file_write_new(const char *path, mode_t mode, const void *data,
    size_t len, struct tg_err *err);

/* The same for a private key (borrowed), as PEM with mode 0600. */
int tg_cert_key_write_new(EVP_PKEY *key, const char *path,
    struct tg_err *err);

#endif
