/*
 * tls/tlsa — see tlsa.h.
 */
#include "tls/tlsa.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "tls/cert.h"

static int
tlsa_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
tlsa_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One decimal field 0..255 at text[*pos], followed by white space. */
static int
tlsa_parse_u8(const char *text, size_t len, size_t *pos, uint8_t *out,
    const char *what, struct tg_err *err)
{
	size_t i = *pos, start;
	unsigned v = 0;

	while (i < len && tlsa_is_space(text[i]))
		i++;
	start = i;
	while (i < len && text[i] >= '0' && text[i] <= '9') {
		v = v * 10 + (unsigned)(text[i] - '0');
		if (v > 255 || i - start >= 3)
			return tg_err_set_at(err, TG_ERR_PERM, (long)start,
			    "%s is not a number from 0 to 255", what);
		i++;
	}
	if (i == start)
		return tg_err_set_at(err, TG_ERR_PERM, (long)start,
		    "%s missing or not a number", what);
	if (i >= len || !tlsa_is_space(text[i]))
		return tg_err_set_at(err, TG_ERR_PERM, (long)i,
		    "white space expected after %s", what);
	*out = (uint8_t)v;
	*pos = i;
	return 0;
}

/* The hex association data from text[pos] to the end (RFC 6698 §2.2:
 * "white space is allowed within the hexadecimal text"). */
static int
tlsa_parse_hex(const char *text, size_t len, size_t pos,
    struct tg_tlsa_rr *rr, struct tg_err *err)
{
	size_t half = 0, odd_at = 0;
	int hi = -1, v;

	rr->len = 0;
	for (; pos < len; pos++) {
		if (tlsa_is_space(text[pos]))
			continue;
		if ((v = tlsa_hexval(text[pos])) < 0)
			return tg_err_set_at(err, TG_ERR_PERM, (long)pos,
			    "not a hex digit");
		if (hi < 0) {
			hi = v;
			odd_at = pos;
			continue;
		}
		if (rr->len >= TG_TLSA_DATA_MAX)
			return tg_err_set_at(err, TG_ERR_PERM, (long)pos,
			    "data longer than %d bytes", TG_TLSA_DATA_MAX);
		rr->data[rr->len++] = (uint8_t)(hi << 4 | v);
		hi = -1;
		half++;
	}
	if (hi >= 0)
		return tg_err_set_at(err, TG_ERR_PERM, (long)odd_at,
		    "odd number of hex digits");
	if (half == 0)
		return tg_err_set_at(err, TG_ERR_PERM, (long)len,
		    "association data missing");
	return 0;
}

int
tg_tlsa_parse_text(const char *text, size_t len, struct tg_tlsa_rr *rr,
    struct tg_err *err)
{
	size_t pos = 0;

	rr->len = 0;
	if (tlsa_parse_u8(text, len, &pos, &rr->usage, "usage", err) < 0 ||
	    tlsa_parse_u8(text, len, &pos, &rr->selector, "selector",
	    err) < 0 ||
	    tlsa_parse_u8(text, len, &pos, &rr->mtype, "matching type",
	    err) < 0)
		return -1;
	return tlsa_parse_hex(text, len, pos, rr, err);
}

int
tg_tlsa_parse_wire(const uint8_t *rdata, size_t len, struct tg_tlsa_rr *rr,
    struct tg_err *err)
{
	rr->len = 0;
	if (len < 3)
		return tg_err_set_at(err, TG_ERR_PERM, (long)len,
		    "TLSA rdata shorter than 3 bytes");
	if (len - 3 > TG_TLSA_DATA_MAX)
		return tg_err_set_at(err, TG_ERR_PERM, 3,
		    "data longer than %d bytes", TG_TLSA_DATA_MAX);
	rr->usage = rdata[0];
	rr->selector = rdata[1];
	rr->mtype = rdata[2];
	rr->len = len - 3;
	if (rr->len > 0)
		memcpy(rr->data, rdata + 3, rr->len);
	return 0;
}

int
tg_tlsa_print(const struct tg_tlsa_rr *rr, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;
	int n;

	n = snprintf(out, outlen, "%u %u %u ", rr->usage, rr->selector,
	    rr->mtype);
	if (n < 0 || (size_t)n + 2 * rr->len + 1 > outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return -1;
	}
	for (i = 0; i < rr->len; i++) {
		out[n + 2 * i] = hex[rr->data[i] >> 4];
		out[n + 2 * i + 1] = hex[rr->data[i] & 15];
	}
	out[n + 2 * rr->len] = '\0';
	return 0;
}

int
tg_tlsa_equal(const struct tg_tlsa_rr *a, const struct tg_tlsa_rr *b)
{
	return a->usage == b->usage && a->selector == b->selector &&
	    a->mtype == b->mtype && a->len == b->len &&
	    memcmp(a->data, b->data, a->len) == 0;
}

/* Fill rr from DER bytes per mtype. */
static int
tlsa_from_der(const unsigned char *der, size_t len, uint8_t usage,
    uint8_t selector, uint8_t mtype, struct tg_tlsa_rr *rr,
    struct tg_err *err)
{
	rr->usage = usage;
	rr->selector = selector;
	rr->mtype = mtype;
	rr->len = 0;
	if (mtype == TG_TLSA_MT_FULL) {
		if (len > TG_TLSA_DATA_MAX)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "DER is %zu bytes, more than %d", len,
			    TG_TLSA_DATA_MAX);
		memcpy(rr->data, der, len);
		rr->len = len;
		return 0;
	}
	if (mtype != TG_TLSA_MT_SHA256 && mtype != TG_TLSA_MT_SHA512)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "matching type %u unknown", mtype);
	return tg_cert_digest_data((enum tg_cert_md)mtype, der, len, rr->data,
	    &rr->len, err);
}

int
tg_tlsa_from_cert(X509 *cert, uint8_t usage, uint8_t selector, uint8_t mtype,
    struct tg_tlsa_rr *rr, struct tg_err *err)
{
	unsigned char *der;
	size_t len;
	int rc;

	if (selector != TG_TLSA_SEL_CERT && selector != TG_TLSA_SEL_SPKI)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "selector %u unknown", selector);
	if (tg_cert_der(cert, (enum tg_cert_part)selector, &der, &len,
	    err) < 0)
		return -1;
	rc = tlsa_from_der(der, len, usage, selector, mtype, rr, err);
	OPENSSL_free(der);
	return rc;
}

int
tg_tlsa_from_key(EVP_PKEY *key, uint8_t usage, uint8_t selector,
    uint8_t mtype, struct tg_tlsa_rr *rr, struct tg_err *err)
{
	unsigned char *der;
	size_t len;
	int rc;

	if (selector != TG_TLSA_SEL_SPKI)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "a key gives only selector 1 (SPKI), not %u", selector);
	if (tg_cert_key_spki_der(key, &der, &len, err) < 0)
		return -1;
	rc = tlsa_from_der(der, len, usage, selector, mtype, rr, err);
	OPENSSL_free(der);
	return rc;
}

int
tg_tlsa_from_chain(STACK_OF(X509) *chain, uint8_t usage, uint8_t selector,
    uint8_t mtype, struct tg_tlsa_rr *rr, struct tg_err *err)
{
	int n = chain != NULL ? sk_X509_num(chain) : 0;

	if (n <= 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "empty chain");
	if (usage == TG_TLSA_USAGE_DANE_EE || usage == TG_TLSA_USAGE_PKIX_EE)
		return tg_tlsa_from_cert(sk_X509_value(chain, 0), usage,
		    selector, mtype, rr, err);
	if (usage != TG_TLSA_USAGE_DANE_TA && usage != TG_TLSA_USAGE_PKIX_TA)
		return tg_err_set(err, TG_ERR_PERM, NULL, "usage %u unknown",
		    usage);
	if (n < 2)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "chain has no issuer certificate for usage %u", usage);
	return tg_tlsa_from_cert(sk_X509_value(chain, n - 1), usage, selector,
	    mtype, rr, err);
}

const char *
tg_tlsa_unusable_reason(const struct tg_tlsa_rr *rr, char *buf,
    size_t buflen)
{
	static const size_t want[] = { 0, 32, 64 };

	if (rr->usage == TG_TLSA_USAGE_PKIX_TA ||
	    rr->usage == TG_TLSA_USAGE_PKIX_EE) {
		/* RFC 7672 §3.1.3: PKIX usages are not usable for SMTP. */
		snprintf(buf, buflen, "usage %u (%s) is not usable for SMTP",
		    rr->usage, tg_tlsa_usage_name(rr->usage));
		return buf;
	}
	if (rr->usage != TG_TLSA_USAGE_DANE_TA &&
	    rr->usage != TG_TLSA_USAGE_DANE_EE) {
		snprintf(buf, buflen, "usage %u unknown", rr->usage);
		return buf;
	}
	if (rr->selector > TG_TLSA_SEL_SPKI) {
		snprintf(buf, buflen, "selector %u unknown", rr->selector);
		return buf;
	}
	if (rr->mtype > TG_TLSA_MT_SHA512) {
		snprintf(buf, buflen, "matching type %u unknown", rr->mtype);
		return buf;
	}
	if (rr->mtype == TG_TLSA_MT_FULL && rr->len == 0)
		return "no association data";
	if (rr->mtype != TG_TLSA_MT_FULL && rr->len != want[rr->mtype]) {
		snprintf(buf, buflen, "SHA2-%s data is %zu bytes, not %zu",
		    rr->mtype == TG_TLSA_MT_SHA256 ? "256" : "512", rr->len,
		    want[rr->mtype]);
		return buf;
	}
	return NULL;
}

int
tg_tlsa_is_usable(const struct tg_tlsa_rr *rr)
{
	char buf[96];

	return tg_tlsa_unusable_reason(rr, buf, sizeof(buf)) == NULL;
}

size_t
tg_tlsa_count_usable(const struct tg_tlsa_rr *rrs, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += (size_t)tg_tlsa_is_usable(&rrs[i]);
	return c;
}

/* RFC 7671 §9: the strongest usable digest mtype present for the
 * (usage, selector) of rrs[i]; 0 if there is none. */
static uint8_t
tlsa_best_mtype(const struct tg_tlsa_rr *rrs, size_t n, size_t i)
{
	uint8_t best = 0;
	size_t j;

	for (j = 0; j < n; j++)
		if (rrs[j].usage == rrs[i].usage &&
		    rrs[j].selector == rrs[i].selector &&
		    rrs[j].mtype != TG_TLSA_MT_FULL &&
		    rrs[j].mtype > best && tg_tlsa_is_usable(&rrs[j]))
			best = rrs[j].mtype;
	return best;
}

size_t
tg_tlsa_agility(const struct tg_tlsa_rr *rrs, size_t n, unsigned char *keep)
{
	size_t i, kept = 0;

	for (i = 0; i < n; i++) {
		keep[i] = 0;
		if (!tg_tlsa_is_usable(&rrs[i]))
			continue;
		/* Full(0) records are always used; digests only at the
		 * strongest strength present. Matching types are ranked by
		 * their number: SHA2-512 (2) over SHA2-256 (1). */
		if (rrs[i].mtype == TG_TLSA_MT_FULL ||
		    rrs[i].mtype == tlsa_best_mtype(rrs, n, i))
			keep[i] = 1;
		kept += keep[i];
	}
	return kept;
}

int
tg_tlsa_has_rollover(const struct tg_tlsa_rr *rrs, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (rrs[i].selector != TG_TLSA_SEL_SPKI ||
		    rrs[i].mtype == TG_TLSA_MT_FULL ||
		    !tg_tlsa_is_usable(&rrs[i]))
			continue;
		for (j = i + 1; j < n; j++)
			if (rrs[j].usage == rrs[i].usage &&
			    rrs[j].selector == rrs[i].selector &&
			    rrs[j].mtype == rrs[i].mtype &&
			    tg_tlsa_is_usable(&rrs[j]) &&
			    !tg_tlsa_equal(&rrs[i], &rrs[j]))
				return 1;
	}
	return 0;
}

int
tg_tlsa_matches_cert(const struct tg_tlsa_rr *rr, X509 *cert)
{
	struct tg_tlsa_rr *mine;
	int rc;

	if (rr->selector > TG_TLSA_SEL_SPKI || rr->mtype > TG_TLSA_MT_SHA512)
		return 0;
	/* The record is large (TG_TLSA_DATA_MAX): keep it off the stack. */
	if ((mine = OPENSSL_malloc(sizeof(*mine))) == NULL)
		return 0;
	rc = tg_tlsa_from_cert(cert, rr->usage, rr->selector, rr->mtype, mine,
	    NULL) == 0 && mine->len == rr->len &&
	    CRYPTO_memcmp(mine->data, rr->data, rr->len) == 0;
	OPENSSL_free(mine);
	return rc;
}

static int
tlsa_match_one(const struct tg_tlsa_rr *rr, STACK_OF(X509) *chain,
    int *depth)
{
	int d, n = sk_X509_num(chain);

	if (rr->usage == TG_TLSA_USAGE_DANE_EE) {
		*depth = 0;
		return n > 0 &&
		    tg_tlsa_matches_cert(rr, sk_X509_value(chain, 0));
	}
	for (d = 1; d < n; d++)
		if (tg_tlsa_matches_cert(rr, sk_X509_value(chain, d))) {
			*depth = d;
			return 1;
		}
	return 0;
}

int
tg_tlsa_match_chain(const struct tg_tlsa_rr *rrs, size_t n,
    STACK_OF(X509) *chain, size_t *match_index, int *match_depth)
{
	unsigned char *keep;
	size_t i;
	int depth = -1, found = 0;

	if (n == 0 || chain == NULL)
		return 0;
	if ((keep = OPENSSL_malloc(n)) == NULL)
		return 0;
	tg_tlsa_agility(rrs, n, keep);
	for (i = 0; i < n && !found; i++)
		if (keep[i] && tlsa_match_one(&rrs[i], chain, &depth))
			found = 1;
	OPENSSL_free(keep);
	if (found && match_index != NULL)
		*match_index = i - 1;
	if (found && match_depth != NULL)
		*match_depth = depth;
	return found;
}

const char *
tg_tlsa_usage_name(uint8_t usage)
{
	switch (usage) {
	case TG_TLSA_USAGE_PKIX_TA:
		return "PKIX-TA";
	case TG_TLSA_USAGE_PKIX_EE:
		return "PKIX-EE";
	case TG_TLSA_USAGE_DANE_TA:
		return "DANE-TA";
	case TG_TLSA_USAGE_DANE_EE:
		return "DANE-EE";
	default:
		return "unknown";
	}
}
