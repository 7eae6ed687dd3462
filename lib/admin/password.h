/*
 * admin/password — console passwords, stored as PHC strings (RELIABILITY
 * S-03).
 *
 * Owns: hashing with scrypt (RFC 7914) through OpenSSL's EVP_KDF
 * "SCRYPT" — Argon2id needs OpenSSL 3.2 and Debian 12 has 3.0, which
 * S-03 allows — with a 16-byte random salt and OWASP's parameters
 * (N = 2^17, r = 8, p = 1: 128 MiB, ~0.3 s), written as
 * "$scrypt$ln=17,r=8,p=1$<salt b64>$<hash b64>" (standard base64 without
 * padding, as PHC strings have it); verification in constant time
 * (CRYPTO_memcmp); whether a stored hash wants a rehash because its
 * parameters are below the current ones (done at the next good login);
 * and a dummy verification for unknown users, so that a wrong user
 * costs as long as a wrong password (no user enumeration by timing).
 *
 * Does not own: where hashes are kept (store admin_users), sessions
 * (admin/session), how passwords are typed (the CLI, the console).
 *
 * Pure apart from the random salt; no logging: a password or hash never
 * appears in a log line or an error message.
 */
#ifndef TG_ADMIN_PASSWORD_H
#define TG_ADMIN_PASSWORD_H

#include <stddef.h>

#include "util/err.h"

#define TG_PASSWORD_MIN		12	/* bytes */
#define TG_PASSWORD_MAX		1024	/* bytes; longer is refused */
#define TG_PASSWORD_LN		17	/* scrypt N = 2^17 */
#define TG_PASSWORD_R		8
#define TG_PASSWORD_P		1
#define TG_PASSWORD_HASH_MAX	255	/* a PHC string, incl. NUL: 256 */

/*
 * Whether a new password is acceptable: TG_PASSWORD_MIN..MAX bytes, no
 * NUL and no control characters. 0, or -1 with err saying why.
 */
int tg_password_check_new(const char *password, size_t len,
    struct tg_err *err);

/*
 * Hash password (len bytes) with the current parameters into out
 * (outlen >= TG_PASSWORD_HASH_MAX + 1), NUL-terminated. 0, or -1 with
 * err. ln may be 0 for TG_PASSWORD_LN (tests pass a smaller one, within
 * the limits verify accepts). password is not checked here: callers
 * check a new one with tg_password_check_new first.
 */
int tg_password_hash(const char *password, size_t len, unsigned ln,
    char *out, size_t outlen, struct tg_err *err);

/*
 * 1 if password matches the PHC string phc, 0 if it does not, -1 with
 * err if phc is not a hash this module made (unknown algorithm, bad
 * parameters, parameters beyond sane limits: ln 10..20, r 1..32, p 1..4,
 * and at most 257 MiB of scrypt memory, so ln=20 wants r <= 2). The
 * limits are checked before anything is derived or allocated. A password
 * longer than TG_PASSWORD_MAX could never have been set: 0 at once.
 */
int tg_password_verify(const char *password, size_t len, const char *phc,
    struct tg_err *err);

/* Spend as long as a verification with the current parameters does, and
 * say no (0): for a user name that does not exist. */
int tg_password_verify_dummy(const char *password, size_t len);

/* 1 if phc was made with weaker parameters than ln (0: TG_PASSWORD_LN),
 * TG_PASSWORD_R and TG_PASSWORD_P, and should be replaced at the next
 * good login; 0 otherwise, and for a phc that verify refuses (no login
 * can succeed with it, so there is nothing to replace it from). */
int tg_password_needs_rehash(const char *phc, unsigned ln);

#endif
