/*
 * util/cidr — see cidr.h.
 */
#include "util/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static int
cidr_addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Parse the decimal prefix after '/': digits only, no leading zero. */
static int
cidr_parse_prefix(const char *p, unsigned int max, unsigned int *out,
    const char *text, struct tg_err *err)
{
	unsigned int v = 0;
	size_t i;

	if (p[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "'%s': missing prefix length after '/'", text);
	if (p[0] == '0' && p[1] != '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "'%s': prefix length has a leading zero", text);
	for (i = 0; p[i] != '\0'; i++) {
		if (p[i] < '0' || p[i] > '9' || i >= 3)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "'%s': prefix length is not a number from 0 to %u",
			    text, max);
		v = v * 10 + (unsigned int)(p[i] - '0');
	}
	if (v > max)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "'%s': prefix length %u is longer than %u", text, v, max);
	*out = v;
	return 0;
}

/* Zero every bit of addr below prefix; 1 if any was set. */
static int
cidr_clear_host_bits(unsigned char *addr, int len, unsigned int prefix)
{
	int i, changed = 0;

	for (i = 0; i < len; i++) {
		unsigned int first = (unsigned int)i * 8;
		unsigned char mask;

		if (prefix >= first + 8)
			continue;
		mask = prefix <= first ? 0 :
		    (unsigned char)(0xff << (8 - (prefix - first)));
		if ((addr[i] & (unsigned char)~mask) != 0)
			changed = 1;
		addr[i] &= mask;
	}
	return changed;
}

int
tg_cidr_parse(const char *text, struct tg_cidr *out, struct tg_err *err)
{
	char host[INET6_ADDRSTRLEN + 1], canon[TG_CIDR_TEXT_MAX + 1];
	const char *slash;
	size_t hlen;
	unsigned int max;

	tg_err_clear(err);
	if (text == NULL || text[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL, "empty network");
	if (strnlen(text, TG_CIDR_TEXT_MAX + 1) > TG_CIDR_TEXT_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "network is longer than %d characters", TG_CIDR_TEXT_MAX);
	slash = strchr(text, '/');
	hlen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	if (hlen == 0 || hlen >= sizeof(host))
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "'%s' is not an IPv4 or IPv6 address", text);
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	memset(out, 0, sizeof(*out));
	/* inet_pton(3) refuses IPv4 leading zeros, zone ids and junk. */
	if (inet_pton(AF_INET, host, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, host, out->addr) == 1)
		out->family = AF_INET6;
	else
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "'%s' is not an IPv4 or IPv6 address", host);
	max = out->family == AF_INET ? 32 : 128;
	out->prefix = max;
	if (slash != NULL && cidr_parse_prefix(slash + 1, max, &out->prefix,
	    text, err) != 0)
		return -1;
	if (cidr_clear_host_bits(out->addr, cidr_addr_len(out->family),
	    out->prefix)) {
		tg_cidr_format(out, canon, sizeof(canon));
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "'%s' has host bits set; the network is %s", text, canon);
	}
	return 0;
}

void
tg_cidr_format(const struct tg_cidr *c, char *out, size_t outlen)
{
	char addr[INET6_ADDRSTRLEN];

	if (outlen == 0)
		return;
	if (inet_ntop(c->family, c->addr, addr, sizeof(addr)) == NULL)
		addr[0] = '\0';
	snprintf(out, outlen, "%s/%u", addr, c->prefix);
}

int
tg_cidr_normalize(const char *text, char *out, size_t outlen,
    struct tg_err *err)
{
	struct tg_cidr c;

	if (tg_cidr_parse(text, &c, err) != 0)
		return -1;
	tg_cidr_format(&c, out, outlen);
	return 0;
}

/* 1 if the first prefix bits of a and b agree. */
static int
cidr_prefix_equal(const unsigned char *a, const unsigned char *b,
    unsigned int prefix)
{
	unsigned int full = prefix / 8, rest = prefix % 8;
	unsigned char mask;

	if (memcmp(a, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

int
tg_cidr_contains(const struct tg_cidr *c, int family, const void *addr)
{
	static const unsigned char v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	const unsigned char *a = addr;

	if (c->family == AF_INET && family == AF_INET6 &&
	    memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
		a += sizeof(v4mapped);
		family = AF_INET;
	}
	if (family != c->family)
		return 0;
	return cidr_prefix_equal(a, c->addr, c->prefix);
}
