/*
 * util/dname — checking and normalising DNS names given by people.
 *
 * Domain names reach tlsgate from the CLI, the console, the config file
 * and DNS answers. Before one is stored or used to build a query it is
 * normalised here: ASCII only (IDNs must be given as A-labels, "xn--…"),
 * lower case, no trailing dot, letters/digits/hyphens per label (RFC 1123
 * §2.1), labels 1–63 octets, at most 253 octets, at least two labels.
 * Underscore labels are refused: no mail domain has one.
 */
#ifndef TG_UTIL_DNAME_H
#define TG_UTIL_DNAME_H

#include <stddef.h>

#include "util/err.h"
#include "util/limits.h"

/*
 * Normalise name into out (at least TG_DNAME_MAX + 1 bytes). Returns 0, or
 * -1 with err saying what is wrong ("label 'a_b' has a character other
 * than a letter, digit or hyphen").
 */
int tg_dname_normalize(const char *name, char *out, size_t outlen,
    struct tg_err *err);

/*
 * The same for a host name that may have a single label ("localhost",
 * an internal host): what a certificate and a TLS server name may be
 * for, but never a mail domain.
 */
int tg_dname_host_normalize(const char *name, char *out, size_t outlen,
    struct tg_err *err);

/* 1 if name is already a normalised domain name, else 0. */
int tg_dname_is_valid(const char *name);

/* 1 if name equals domain or is below it ("a.b.c" is below "b.c"). */
int tg_dname_is_subdomain(const char *name, const char *domain);

#endif
