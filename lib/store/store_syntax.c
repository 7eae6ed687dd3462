/*
 * store/store_syntax — the syntax of MTA-STS mx patterns, inbound routes
 * and TLS-RPT rua URIs, as the store accepts them (pure functions). The
 * CLI and console call the same functions so a person gets the same
 * answer everywhere.
 */
#include "store/store_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/dname.h"

int
tg_store_mx_pattern_normalize(const char *in, char *out, size_t outlen,
    struct tg_err *err)
{
	char name[TG_DNAME_MAX + 1];
	const char *rest = in;
	int wild = 0;

	tg_err_clear(err);
	if (in != NULL && strncmp(in, "*.", 2) == 0) {
		wild = 1;
		rest = in + 2;
	}
	/* RFC 8461 §4.1: "*" may only be the whole leftmost label. */
	if (rest != NULL && strchr(rest, '*') != NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL, "sts_mx: '%.253s': a "
		    "wildcard may only be the whole leftmost label, as in "
		    "'*.example.org'", in);
	if (tg_store_check_dname("sts_mx", rest, name, sizeof(name), err) != 0)
		return -1;
	if (strlen(name) + (wild ? 2 : 0) > TG_DNAME_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "sts_mx: pattern is longer than %d characters",
		    TG_DNAME_MAX);
	if (outlen < strlen(name) + 3)
		return tg_err_set(err, TG_ERR_BUG, NULL, "output too small");
	snprintf(out, outlen, "%s%s", wild ? "*." : "", name);
	return 0;
}

/*
 * A host name for a route: labels of letters, digits and hyphens (RFC
 * 1123 §2.1), one label allowed (an internal host such as "exchange").
 */
static int
route_hostname_ok(const char *h)
{
	size_t i, label = 0, n = strlen(h);

	if (n == 0 || n > TG_DNAME_MAX)
		return 0;
	for (i = 0; i <= n; i++) {
		char c = h[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > TG_LABEL_MAX ||
			    h[i - 1] == '-' || h[i - label] == '-')
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-') {
			label++;
		} else {
			return 0;
		}
	}
	return 1;
}

/* "1".."65535", no sign, no leading zero. */
static int
port_ok(const char *p)
{
	long v = 0;
	size_t i;

	if (p[0] == '\0' || p[0] == '0' || strlen(p) > 5)
		return 0;
	for (i = 0; p[i] != '\0'; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v = v * 10 + (p[i] - '0');
	}
	return v <= 65535;
}

/* Split "host[:port]" (lower case, in buf) into host and port. */
static int
route_split(char *buf, char **host, char **port, struct tg_err *err)
{
	char *colon, *close;

	*port = NULL;
	if (buf[0] == '[') {
		close = strchr(buf, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "inbound_route: unbalanced '[' in '%s'", buf);
		*close = '\0';
		*host = buf + 1;
		*port = close[1] == ':' ? close + 2 : NULL;
		return 1;	/* bracketed: IPv6 */
	}
	colon = strchr(buf, ':');
	if (colon != NULL && strchr(colon + 1, ':') != NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL, "inbound_route: an "
		    "IPv6 address must be in brackets, as in "
		    "'[2001:db8::1]:25'");
	if (colon != NULL) {
		*colon = '\0';
		*port = colon + 1;
	}
	*host = buf;
	return 0;
}

int
tg_store_route_normalize(const char *in, char *out, size_t outlen,
    struct tg_err *err)
{
	char buf[TG_STORE_ROUTE_MAX + 1], *host, *port;
	unsigned char addr[16];
	size_t i, n;
	int v6;

	tg_err_clear(err);
	n = in != NULL ? strnlen(in, TG_STORE_ROUTE_MAX + 1) : 0;
	if (n > TG_STORE_ROUTE_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "inbound_route: "
		    "longer than %d characters", TG_STORE_ROUTE_MAX);
	if (outlen < n + 1)
		return tg_err_set(err, TG_ERR_BUG, NULL, "output too small");
	for (i = 0; i < n; i++)
		buf[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] + 32) :
		    in[i];
	buf[n] = '\0';
	if (n == 0) {
		out[0] = '\0';
		return 0;
	}
	if ((v6 = route_split(buf, &host, &port, err)) < 0)
		return -1;
	if (port != NULL && !port_ok(port))
		return tg_err_set(err, TG_ERR_PERM, NULL, "inbound_route: "
		    "port '%s' is not a number from 1 to 65535", port);
	if (v6 ? inet_pton(AF_INET6, host, addr) != 1 :
	    host[strspn(host, "0123456789.")] == '\0' ?
	    inet_pton(AF_INET, host, addr) != 1 : !route_hostname_ok(host))
		return tg_err_set(err, TG_ERR_PERM, NULL, "inbound_route: "
		    "'%s' is not a host name, IPv4 address or [IPv6] address",
		    host);
	/* Rebuild from the parts checked, so nothing unchecked remains. */
	snprintf(out, outlen, "%s%s%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "",
	    port != NULL ? ":" : "", port != NULL ? port : "");
	return 0;
}

/*
 * Characters allowed in the rest of a URI: printable ASCII without
 * space, quotes, angle brackets, backslash, ^ ` { | }, and without the
 * separators of the TXT record (RFC 8460 §3: "," between URIs, ";"
 * between fields), which must be percent-encoded.
 */
static int
uri_char_ok(char c)
{
	return c > 0x20 && c < 0x7f && strchr("\"<>\\^`{|},;", c) == NULL;
}

/* RFC 6068 mailto: one addr-spec; '?' (hfields) is not accepted. */
static int
rua_mailto(const char *p, size_t n, char *out, size_t outlen,
    struct tg_err *err)
{
	char domain[TG_DNAME_MAX + 1], tmp[TG_DNAME_MAX + 2];
	const char *at = memchr(p, '@', n);
	size_t i, local;

	if (at == NULL || at == p)
		return tg_err_set(err, TG_ERR_PERM, NULL, "tlsrpt_rua: "
		    "'mailto:%.*s' is not local@domain", (int)n, p);
	local = (size_t)(at - p);
	for (i = 0; i < local; i++)
		if (!uri_char_ok(p[i]) || p[i] == '?' || p[i] == '@')
			return tg_err_set(err, TG_ERR_PERM, NULL, "tlsrpt_rua: "
			    "mailto local part has a character that must be "
			    "percent-encoded");
	if (n - local - 1 >= sizeof(tmp))
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "tlsrpt_rua: mailto domain is too long");
	memcpy(tmp, at + 1, n - local - 1);
	tmp[n - local - 1] = '\0';
	if (tg_store_check_dname("tlsrpt_rua", tmp, domain, sizeof(domain),
	    err) != 0)
		return -1;
	if ((size_t)snprintf(out, outlen, "mailto:%.*s@%s", (int)local, p,
	    domain) >= outlen)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "tlsrpt_rua: longer than %d characters", TG_STORE_RUA_MAX);
	return 0;
}

/* https://host[:port][/path] with a DNS host name. */
static int
rua_https(const char *p, size_t n, char *out, size_t outlen,
    struct tg_err *err)
{
	char auth[TG_DNAME_MAX + 8], host[TG_DNAME_MAX + 1], *port;
	size_t alen = 0, i;

	while (alen < n && p[alen] != '/')
		alen++;
	if (alen == 0 || alen >= sizeof(auth))
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "tlsrpt_rua: https URI without a valid host");
	memcpy(auth, p, alen);
	auth[alen] = '\0';
	port = strchr(auth, ':');
	if (port != NULL) {
		*port++ = '\0';
		if (!port_ok(port))
			return tg_err_set(err, TG_ERR_PERM, NULL, "tlsrpt_rua: "
			    "https port '%s' is not a number from 1 to 65535",
			    port);
	}
	if (tg_store_check_dname("tlsrpt_rua", auth, host, sizeof(host),
	    err) != 0)
		return -1;
	for (i = alen; i < n; i++)
		if (!uri_char_ok(p[i]))
			return tg_err_set(err, TG_ERR_PERM, NULL, "tlsrpt_rua: "
			    "https path has a character that must be "
			    "percent-encoded");
	if ((size_t)snprintf(out, outlen, "https://%s%s%s%.*s", host,
	    port != NULL ? ":" : "", port != NULL ? port : "", (int)(n - alen),
	    p + alen) >= outlen)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "tlsrpt_rua: longer than %d characters", TG_STORE_RUA_MAX);
	return 0;
}

/* One URI (p, n: trimmed, non-empty), normalised into out. */
static int
rua_uri(const char *p, size_t n, char *out, size_t outlen,
    struct tg_err *err)
{
	if (n > 7 && strncasecmp(p, "mailto:", 7) == 0)
		return rua_mailto(p + 7, n - 7, out, outlen, err);
	if (n > 8 && strncasecmp(p, "https://", 8) == 0)
		return rua_https(p + 8, n - 8, out, outlen, err);
	return tg_err_set(err, TG_ERR_PERM, NULL, "tlsrpt_rua: '%.*s' is not "
	    "a mailto: or https: URI (RFC 8460 §3)", (int)(n > 64 ? 64 : n),
	    p);
}

int
tg_store_rua_normalize(const char *in, char *out, size_t outlen,
    struct tg_err *err)
{
	char uri[TG_STORE_RUA_MAX + 1];
	size_t n, pos = 0, used = 0, count = 0, a, b;

	tg_err_clear(err);
	n = in != NULL ? strnlen(in, TG_STORE_RUA_MAX + 1) : 0;
	if (n > TG_STORE_RUA_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "tlsrpt_rua: longer than %d characters", TG_STORE_RUA_MAX);
	if (outlen < n + 1)
		return tg_err_set(err, TG_ERR_BUG, NULL, "output too small");
	out[0] = '\0';
	while (n > 0 && pos <= n) {
		/* RFC 8460 §3: URIs separated by *WSP "," *WSP. */
		for (a = pos; a < n && (in[a] == ' ' || in[a] == '\t'); a++)
			;
		for (b = a; b < n && in[b] != ','; b++)
			;
		pos = b + 1;
		while (b > a && (in[b - 1] == ' ' || in[b - 1] == '\t'))
			b--;
		if (b == a)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "tlsrpt_rua: empty URI (a stray comma?)");
		if (++count > TG_STORE_RUA_URIS_MAX)
			return tg_err_set(err, TG_ERR_PERM, NULL, "tlsrpt_rua: "
			    "more than %d URIs", TG_STORE_RUA_URIS_MAX);
		if (rua_uri(in + a, b - a, uri, sizeof(uri), err) != 0)
			return -1;
		used += (size_t)snprintf(out + used, outlen - used, "%s%s",
		    count > 1 ? "," : "", uri);
		if (used >= outlen)
			return tg_err_set(err, TG_ERR_PERM, NULL, "tlsrpt_rua: "
			    "longer than %d characters", TG_STORE_RUA_MAX);
	}
	return 0;
}
