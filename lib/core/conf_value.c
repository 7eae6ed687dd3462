/*
 * core/conf_value — one config value: the parser of each type, the
 * formatter that prints it back in the file's syntax, and the equality
 * the reload check uses. See conf_int.h.
 */
#include "core/conf_int.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/dname.h"

#define DNS_PORT 53

/* ---- values ---------------------------------------------------------- */

void *
conf_field(struct tg_conf *conf, const struct conf_key *k)
{
	return (char *)conf + k->off;
}

const void *
conf_cfield(const struct tg_conf *conf, const struct conf_key *k)
{
	return (const char *)conf + k->off;
}

/* Lists start with their count (struct tg_conf_addrs, tg_conf_stubs). */
size_t *
conf_list_count(void *field)
{
	return (size_t *)field;
}

size_t
conf_list_len(const void *field)
{
	return *(const size_t *)field;
}

/* How much of an n-byte bad value to quote back. */
static int
qlen(size_t n)
{
	return n < QUOTE_MAX ? (int)n : QUOTE_MAX;
}

static int
why(char *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
why(char *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w, WHY_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

static int
copy_text(const struct conf_key *k, const char *v, void *field, char *w)
{
	if (strlen(v) >= k->size)
		return why(w, "value is longer than %zu bytes", k->size - 1);
	memcpy(field, v, strlen(v) + 1);
	return 0;
}

static int
parse_string(const struct conf_key *k, const char *v, void *field, char *w)
{
	if (v[0] == '\0' && !(k->flags & F_EMPTY))
		return why(w, "must not be empty");
	return copy_text(k, v, field, w);
}

static int
parse_path(const struct conf_key *k, const char *v, void *field, char *w)
{
	if (v[0] == '\0' && (k->flags & F_EMPTY))
		return copy_text(k, v, field, w);
	if (v[0] != '/')
		return why(w, "\"%.*s\" is not an absolute path", QUOTE_MAX, v);
	return copy_text(k, v, field, w);
}

static int
parse_bool(const struct conf_key *k, const char *v, void *field, char *w)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	(void)k;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
			*(int *)field = strcasecmp(v, yes[i]) == 0;
			return 0;
		}
	}
	return why(w, "\"%.*s\" is not yes or no", QUOTE_MAX, v);
}

/* Decimal digits only, no sign; -1 on anything else or overflow. */
static int
parse_digits(const char *v, size_t n, long long *out)
{
	long long x = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (x > (LLONG_MAX - (v[i] - '0')) / 10)
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	*out = x;
	return 0;
}

static int
duration_unit(char c, long long *mult)
{
	switch (c) {
	case 's':
		*mult = 1;
		return 0;
	case 'm':
		*mult = 60;
		return 0;
	case 'h':
		*mult = 3600;
		return 0;
	case 'd':
		*mult = DAY;
		return 0;
	default:
		return -1;
	}
}

static int
parse_number(const struct conf_key *k, const char *v, void *field, char *w)
{
	const char *unit = k->type == T_DURATION ? "seconds" : k->unit;
	size_t n = strlen(v);
	long long x, mult = 1;
	int bad;

	if (k->type == T_DURATION && n > 0 && !(v[n - 1] >= '0' &&
	    v[n - 1] <= '9')) {
		bad = duration_unit(v[n - 1], &mult);
		n--;
	} else
		bad = 0;
	if (bad || parse_digits(v, n, &x) != 0 || x > LLONG_MAX / mult)
		return why(w, "\"%.*s\" is not a number%s%s (%lld..%lld)",
		    QUOTE_MAX, v, unit ? " of " : "", unit ? unit : "",
		    k->info.min, k->info.max);
	x *= mult;
	if (x < k->info.min || x > k->info.max)
		return why(w, "\"%.*s\" is out of range (%lld..%lld%s%s)",
		    QUOTE_MAX, v, k->info.min, k->info.max, unit ? " " : "",
		    unit ? unit : "");
	*(int64_t *)field = x;
	return 0;
}

static int
parse_enum(const struct conf_key *k, const char *v, void *field, char *w)
{
	size_t n;
	int i;

	for (i = 0; k->info.allowed[i] != NULL; i++) {
		if (strcasecmp(v, k->info.allowed[i]) == 0) {
			*(int *)field = i;
			return 0;
		}
	}
	n = (size_t)snprintf(w, WHY_MAX, "\"%.*s\" is not one of", QUOTE_MAX,
	    v);
	for (i = 0; k->info.allowed[i] != NULL && n < WHY_MAX; i++)
		n += (size_t)snprintf(w + n, WHY_MAX - n, "%s %s",
		    i > 0 ? "," : "", k->info.allowed[i]);
	return -1;
}

static int
parse_domain(const struct conf_key *k, const char *v, void *field, char *w)
{
	struct tg_err e;

	if (v[0] == '\0' && (k->flags & F_EMPTY))
		return copy_text(k, v, field, w);
	if (tg_dname_normalize(v, field, k->size, &e) != 0)
		return why(w, "%s", e.msg);
	return 0;
}

/* A login name: letters, digits, '.', '_', '-', not starting with '-'. */
static int
parse_user(const struct conf_key *k, const char *v, void *field, char *w)
{
	size_t i;

	for (i = 0; v[i] != '\0'; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    (c == '-' && i > 0)))
			return why(w, "\"%.*s\" is not a user name", QUOTE_MAX,
			    v);
	}
	return copy_text(k, v, field, w);
}

/* ---- addresses ------------------------------------------------------- */

/* IP literal (v[0..n)) to canonical text; inet_pton does the checking. */
static int
parse_ip(const char *v, size_t n, struct tg_conf_addr *a, char *w)
{
	char tmp[TG_CONF_HOST_MAX];
	unsigned char bin[sizeof(struct in6_addr)];
	int af = AF_INET;

	if (n >= sizeof(tmp))
		return why(w, "\"%.*s\" is not an IP address", QUOTE_MAX, v);
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	if (inet_pton(af, tmp, bin) != 1) {
		af = AF_INET6;
		if (inet_pton(af, tmp, bin) != 1)
			return why(w, "\"%s\" is not an IP address", tmp);
	}
	if (inet_ntop(af, bin, a->host, sizeof(a->host)) == NULL)
		return why(w, "\"%s\" is not an IP address", tmp);
	return 0;
}

static int
parse_port(const char *v, struct tg_conf_addr *a, char *w)
{
	long long p;

	if (parse_digits(v, strlen(v), &p) != 0 || p < 1 || p > 65535)
		return why(w, "\"%.*s\" is not a port (1..65535)", QUOTE_MAX,
		    v);
	a->port = (uint16_t)p;
	return 0;
}

/* "IP:PORT", "[IPv6]:PORT", "*:PORT" or ":PORT" (every address). */
static int
parse_hostport(const char *v, struct tg_conf_addr *a, char *w)
{
	const char *colon, *host = v;
	size_t hlen;

	if (v[0] == '[') {
		colon = strchr(v, ']');
		if (colon == NULL || colon[1] != ':')
			return why(w, "\"%.*s\" is not [IPv6]:PORT", QUOTE_MAX,
			    v);
		host = v + 1;
		hlen = (size_t)(colon - host);
		colon++;
		if (memchr(host, ':', hlen) == NULL)
			return why(w, "\"%.*s\" has no IPv6 address in "
			    "brackets", QUOTE_MAX, v);
	} else {
		colon = strrchr(v, ':');
		if (colon == NULL)
			return why(w, "\"%.*s\" has no :PORT", QUOTE_MAX, v);
		hlen = (size_t)(colon - v);
		if (memchr(v, ':', hlen) != NULL)
			return why(w, "\"%.*s\": write an IPv6 address in "
			    "brackets, as in [::1]:25", QUOTE_MAX, v);
	}
	if (hlen == 0 || (hlen == 1 && host[0] == '*'))
		a->host[0] = '\0';
	else if (parse_ip(host, hlen, a, w) != 0)
		return -1;
	return parse_port(colon + 1, a, w);
}

/* "IP" or "IP@PORT" (RFC 1035 §4.2: DNS is port 53 unless told). */
static int
parse_ip_at(const char *v, struct tg_conf_addr *a, char *w)
{
	const char *at = strchr(v, '@');

	if (parse_ip(v, at ? (size_t)(at - v) : strlen(v), a, w) != 0)
		return -1;
	if (at == NULL) {
		a->port = DNS_PORT;
		return 0;
	}
	return parse_port(at + 1, a, w);
}

/* A zone name: "." or labels of letters, digits and hyphens (RFC 1123
 * §2.1), one label allowed ("test"), lower-cased, trailing dot dropped. */
static int
parse_zone(const char *v, size_t n, char *out, char *w)
{
	size_t i, label = 0;

	if (n == 1 && v[0] == '.') {
		strcpy(out, ".");
		return 0;
	}
	if (n > 1 && v[n - 1] == '.')
		n--;
	if (n == 0 || n > TG_DNAME_MAX)
		return why(w, "\"%.*s\" is not a zone name", qlen(n), v);
	for (i = 0; i <= n; i++) {
		char c = i < n ? v[i] : '.';
		if (c == '.') {
			if (label == 0 || label > TG_LABEL_MAX ||
			    out[i - 1] == '-' || out[i - label] == '-')
				return why(w, "\"%.*s\" is not a zone name",
				    qlen(n), v);
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || (c >= 'A' && c <= 'Z'))
			label++;
		else
			return why(w, "\"%.*s\" is not a zone name", qlen(n),
			    v);
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	out[n] = '\0';
	return 0;
}

static int
parse_listen(const struct conf_key *k, const char *v, void *field, char *w)
{
	struct tg_conf_addrs *l = field;

	(void)k;
	return parse_hostport(v, &l->v[l->n], w);
}

static int
parse_forward(const struct conf_key *k, const char *v, void *field, char *w)
{
	struct tg_conf_addrs *l = field;

	(void)k;
	return parse_ip_at(v, &l->v[l->n], w);
}

static int
parse_stub(const struct conf_key *k, const char *v, void *field, char *w)
{
	struct tg_conf_stubs *l = field;
	const char *eq = strchr(v, '=');

	(void)k;
	if (eq == NULL)
		return why(w, "\"%.*s\" is not ZONE=IP[@PORT]", QUOTE_MAX, v);
	if (parse_zone(v, (size_t)(eq - v), l->v[l->n].zone, w) != 0)
		return -1;
	return parse_ip_at(eq + 1, &l->v[l->n].addr, w);
}

/* ---- formatting ------------------------------------------------------ */

static int
fmt_addr(const struct tg_conf_addr *a, char sep, struct tg_buf *out)
{
	if (sep == '@')
		return tg_buf_printf(out, "%s@%u", a->host, a->port);
	if (a->host[0] == '\0')
		return tg_buf_printf(out, "*:%u", a->port);
	if (strchr(a->host, ':') != NULL)
		return tg_buf_printf(out, "[%s]:%u", a->host, a->port);
	return tg_buf_printf(out, "%s:%u", a->host, a->port);
}

static int
fmt_duration(long long s, struct tg_buf *out)
{
	if (s % DAY == 0)
		return tg_buf_printf(out, "%lldd", s / DAY);
	if (s % 3600 == 0)
		return tg_buf_printf(out, "%lldh", s / 3600);
	if (s % 60 == 0)
		return tg_buf_printf(out, "%lldm", s / 60);
	return tg_buf_printf(out, "%llds", s);
}

/* Item i of a list, or the value of a scalar, in the file syntax;
 * -1 when out is full. */
int
conf_fmt_value(const struct conf_key *k, const void *field, size_t i,
    struct tg_buf *out)
{
	const struct tg_conf_stub *st;

	switch (k->type) {
	case T_BOOL:
		return tg_buf_puts(out, *(const int *)field ? "yes" : "no");
	case T_INT:
		return tg_buf_printf(out, "%lld",
		    (long long)*(const int64_t *)field);
	case T_DURATION:
		return fmt_duration(*(const int64_t *)field, out);
	case T_ENUM:
		return tg_buf_puts(out, k->info.allowed[*(const int *)field]);
	case T_LISTEN:
	case T_FORWARD:
		return fmt_addr(&((const struct tg_conf_addrs *)field)->v[i],
		    k->type == T_LISTEN ? ':' : '@', out);
	case T_STUB:
		st = &((const struct tg_conf_stubs *)field)->v[i];
		if (tg_buf_printf(out, "%s=", st->zone) != 0)
			return -1;
		return fmt_addr(&st->addr, '@', out);
	case T_STRING:
	case T_PATH:
	case T_DOMAIN:
	case T_USER:
		break;
	}
	return tg_buf_puts(out, (const char *)field);
}

/* A value needs quotes when it is empty or would lose a '#' or blanks. */
static int
needs_quotes(const char *s, size_t n)
{
	return n == 0 || strchr(s, '#') != NULL || s[0] == ' ' ||
	    s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t';
}

/* The whole value as written after "key = "; -1 when out is full. */
int
conf_fmt_line_value(const struct conf_key *k, const void *field,
    struct tg_buf *out)
{
	struct tg_buf v;
	size_t i, n;
	int rc = 0;

	tg_buf_init(&v, TG_CONF_FILE_MAX);
	n = k->info.is_list ? conf_list_len(field) : 1;
	for (i = 0; i < n && rc == 0; i++) {
		if (i > 0 && tg_buf_puts(&v, ", ") != 0)
			rc = -1;
		else
			rc = conf_fmt_value(k, field, i, &v);
	}
	if (rc == 0 && needs_quotes(tg_buf_cstr(&v), v.len))
		rc = tg_buf_printf(out, "\"%s\"", tg_buf_cstr(&v));
	else if (rc == 0)
		rc = tg_buf_append(out, tg_buf_cstr(&v), v.len);
	tg_buf_free(&v);
	return rc;
}

static int
addr_equal(const struct tg_conf_addr *a, const struct tg_conf_addr *b)
{
	return strcmp(a->host, b->host) == 0 && a->port == b->port;
}

/* Whether entries i and j of a list are the same. */
int
conf_item_equal(const struct conf_key *k, const void *field, size_t i, size_t j)
{
	const struct tg_conf_addrs *al = field;
	const struct tg_conf_stubs *sl = field;

	if (k->type != T_STUB)
		return addr_equal(&al->v[i], &al->v[j]);
	return strcmp(sl->v[i].zone, sl->v[j].zone) == 0 &&
	    addr_equal(&sl->v[i].addr, &sl->v[j].addr);
}

conf_parse_fn
conf_parser_for(enum conf_type t)
{
	switch (t) {
	case T_STRING:
		return parse_string;
	case T_PATH:
		return parse_path;
	case T_BOOL:
		return parse_bool;
	case T_INT:
	case T_DURATION:
		return parse_number;
	case T_ENUM:
		return parse_enum;
	case T_DOMAIN:
		return parse_domain;
	case T_USER:
		return parse_user;
	case T_LISTEN:
		return parse_listen;
	case T_FORWARD:
		return parse_forward;
	case T_STUB:
		return parse_stub;
	}
	return NULL;
}
