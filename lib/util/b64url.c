/*
 * util/b64url — see b64url.h.
 */
#include "util/b64url.h"

#include <stdint.h>
#include <stdlib.h>

/* RFC 7515 §2 and RFC 4648 §5: the URL-safe alphabet, '-' and '_' for
 * '+' and '/', and no '=' padding. */
static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
tg_b64url_encode(const void *data, size_t len, struct tg_buf *out)
{
	const unsigned char *p = data;
	size_t need, i, o = 0;
	unsigned acc = 0, bits = 0;
	char *text;
	int rc;

	/* Four characters per three bytes, two or three for a last one or
	 * two: RFC 7515 §2 leaves the padding off. Checked against the limit
	 * before anything is allocated (len <= limit: no overflow). */
	if (len > out->limit || len / 3 > SIZE_MAX / 4 - 1)
		return -1;
	need = len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
	if (out->len > out->limit || need > out->limit - out->len)
		return -1;
	if ((text = malloc(need + 1)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		acc = (acc << 8 | p[i]) & 0xffff;
		for (bits += 8; bits >= 6; bits -= 6)
			text[o++] = b64url_alphabet[acc >> (bits - 6) & 63];
	}
	if (bits > 0)
		text[o++] = b64url_alphabet[acc << (6 - bits) & 63];
	rc = tg_buf_append(out, text, o);
	free(text);
	return rc;
}

int
tg_b64url_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outlen, size_t *n, struct tg_err *err)
{
	size_t i, o = 0, need;
	uint32_t acc = 0;
	int bits = 0, v;

	*n = 0;
	/* One character left over carries six bits: not a whole byte. */
	if (inlen % 4 == 1)
		return tg_err_set_at(err, TG_ERR_PERM, (long)inlen,
		    "base64url: %zu characters cannot be an encoding", inlen);
	need = inlen / 4 * 3 + (inlen % 4 == 0 ? 0 : inlen % 4 - 1);
	if (need > outlen)
		return tg_err_set(err, TG_ERR_PERM, NULL, "base64url: %zu "
		    "bytes do not fit in %zu", need, outlen);
	for (i = 0; i < inlen; i++) {
		if ((v = b64url_value((unsigned char)in[i])) < 0)
			return tg_err_set_at(err, TG_ERR_PERM, (long)i,
			    "base64url: byte 0x%02x at offset %zu is not in "
			    "its alphabet (no '=', '+' or '/')",
			    (unsigned char)in[i], i);
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* RFC 4648 §3.5: the unused bits of the last character are zero,
	 * so that every byte string has exactly one encoding. */
	if (acc != 0)
		return tg_err_set_at(err, TG_ERR_PERM, (long)inlen - 1,
		    "base64url: the last character has bits set past the end");
	*n = o;
	return 0;
}

int
tg_b64url_is_char(char c)
{
	return b64url_value((unsigned char)c) >= 0;
}
