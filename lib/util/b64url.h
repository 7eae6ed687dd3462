/*
 * util/b64url — base64url without padding (RFC 4648 §5, as RFC 7515 §2
 * uses it): ACME's JWS, challenge tokens, console session tokens.
 *
 * Pure: no I/O, no globals.
 */
#ifndef TG_UTIL_B64URL_H
#define TG_UTIL_B64URL_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* Append the base64url (no padding) of data[0..len) to out. 0, or -1
 * when out's limit is passed (out unchanged). */
int tg_b64url_encode(const void *data, size_t len, struct tg_buf *out);

/*
 * Decode base64url (padding and any other character refused, and so is
 * a last character with unused bits set: RFC 4648 §3.5) into
 * out[0..outlen); *n gets the length (0 on failure). 0, or -1 with err
 * (bad input with its offset, out too small).
 */
int tg_b64url_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outlen, size_t *n, struct tg_err *err);

/* 1 if c is in the base64url alphabet (A-Z a-z 0-9 - _), else 0. */
int tg_b64url_is_char(char c);

#endif
