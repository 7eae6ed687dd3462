/*
 * util/cidr — IPv4 and IPv6 networks written as "address/prefix".
 *
 * Relay networks (the internal hosts allowed to send through relayd) are
 * configured as CIDR blocks. This module parses them strictly, prints them
 * in one canonical form, and tests whether an address lies inside one.
 *
 * Accepted: "192.0.2.0/24", "2001:db8::/32", and a bare address, which
 * means that one host ("192.0.2.7" = "192.0.2.7/32"). Refused: a prefix
 * longer than the family allows, leading zeros or signs in the prefix,
 * IPv4 octets with leading zeros ("010.0.0.1" is octal to some tools),
 * IPv6 zone ids, and host bits set below the prefix ("192.0.2.1/24"):
 * that is almost always a typo for a different network, so it is an error
 * that names the network meant rather than a silent rewrite.
 *
 * Canonical text: inet_ntop(3) of the address (RFC 5952 form for IPv6:
 * lower case, longest zero run compressed) followed by "/prefix".
 * Pure functions: no I/O, no allocation.
 */
#ifndef TG_UTIL_CIDR_H
#define TG_UTIL_CIDR_H

#include <stddef.h>

#include "util/err.h"
#include "util/limits.h"

struct tg_cidr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16];	/* network address; IPv4 uses the first 4 */
	unsigned int prefix;	/* 0..32 or 0..128 */
};

/*
 * Parse text (borrowed, NUL-terminated) into out. Returns 0, or -1 with
 * err (TG_ERR_PERM) naming what is wrong, e.g. "192.0.2.1/24 has host
 * bits set; the network is 192.0.2.0/24".
 */
int tg_cidr_parse(const char *text, struct tg_cidr *out, struct tg_err *err);

/*
 * Write the canonical form of c into out (at least TG_CIDR_TEXT_MAX + 1
 * bytes; shorter buffers get a truncated, NUL-terminated string).
 */
void tg_cidr_format(const struct tg_cidr *c, char *out, size_t outlen);

/*
 * Parse text and write its canonical form into out (outlen as for
 * tg_cidr_format). Returns 0 or -1 with err as tg_cidr_parse.
 */
int tg_cidr_normalize(const char *text, char *out, size_t outlen,
    struct tg_err *err);

/*
 * 1 if the address (family AF_INET: 4 bytes, AF_INET6: 16 bytes, network
 * byte order, borrowed) lies inside c, else 0. An IPv4-mapped IPv6
 * address (::ffff:192.0.2.7, as seen on a dual-stack socket) matches an
 * IPv4 network.
 */
int tg_cidr_contains(const struct tg_cidr *c, int family, const void *addr);

#endif
