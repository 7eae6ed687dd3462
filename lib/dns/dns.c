/*
 * dns/dns — see dns.h.
 */
#include "dns/dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <event2/event.h>
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/resolver.h"
#include "dns/resolver_unbound.h"

/* RFC 2181 §8: a TTL with the most significant bit set counts as 0. */
#define TTL_MAX 0x7fffffffU

const char *
tg_dns_status_name(enum tg_dns_status st)
{
	switch (st) {
	case TG_DNS_OK:
		return "ok";
	case TG_DNS_NXDOMAIN:
		return "nxdomain";
	case TG_DNS_NODATA:
		return "nodata";
	case TG_DNS_TEMPFAIL:
		break;
	}
	return "temporary failure";
}

const char *
tg_dns_security_name(enum tg_dns_security sec)
{
	switch (sec) {
	case TG_DNS_SECURE:
		return "secure";
	case TG_DNS_INSECURE:
		return "insecure";
	case TG_DNS_BOGUS:
		return "bogus";
	case TG_DNS_INDETERMINATE:
		break;
	}
	return "indeterminate";
}

const char *
tg_dns_type_name(uint16_t type)
{
	const ldns_rr_descriptor *d;

	d = ldns_rr_descript(type);
	if (d == NULL || d->_name == NULL || d->_type != type)
		return "unknown";
	return d->_name;
}

/* --- Answers --- */

static void
answer_vset_error(struct tg_dns_answer *ans, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
answer_vset_error(struct tg_dns_answer *ans, const char *fmt, va_list ap)
{
	vsnprintf(ans->error, sizeof(ans->error), fmt, ap);
}

/* Turn ans into a temporary failure saying why; drops its records. */
static void
answer_fail(struct tg_dns_answer *ans, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
answer_fail(struct tg_dns_answer *ans, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	for (i = 0; i < ans->nrr; i++)
		free(ans->rr[i].data);
	free(ans->rr);
	ans->rr = NULL;
	ans->nrr = 0;
	ans->truncated = 0;
	ans->ncname = 0;
	ans->ttl = 0;
	snprintf(ans->canon, sizeof(ans->canon), "%s", ans->qname);
	ans->status = TG_DNS_TEMPFAIL;
	if (ans->security != TG_DNS_BOGUS)
		ans->security = TG_DNS_INDETERMINATE;
	va_start(ap, fmt);
	answer_vset_error(ans, fmt, ap);
	va_end(ap);
}

struct tg_dns_answer *
tg_dns_answer_new(const char *qname, uint16_t qtype,
    enum tg_dns_status status, enum tg_dns_security security,
    const char *error, ...)
{
	struct tg_dns_answer *ans;
	va_list ap;

	if (strlen(qname) >= TG_DNS_NAME_SIZE)
		return NULL;
	ans = calloc(1, sizeof(*ans));
	if (ans == NULL)
		return NULL;
	snprintf(ans->qname, sizeof(ans->qname), "%s", qname);
	snprintf(ans->canon, sizeof(ans->canon), "%s", qname);
	ans->qtype = qtype;
	ans->status = status;
	ans->security = security;
	va_start(ap, error);
	answer_vset_error(ans, error, ap);
	va_end(ap);
	return ans;
}

int
tg_dns_answer_add_rr(struct tg_dns_answer *ans, uint16_t type, uint32_t ttl,
    const unsigned char *data, size_t len)
{
	struct tg_dns_rr *rr;

	if (len > UINT16_MAX)
		return -1;
	if (ans->nrr >= TG_DNS_RR_MAX) {
		ans->truncated = 1;
		return 0;
	}
	if (ans->rr == NULL) {
		ans->rr = calloc(TG_DNS_RR_MAX, sizeof(*ans->rr));
		if (ans->rr == NULL)
			return -1;
	}
	rr = &ans->rr[ans->nrr];
	rr->data = malloc(len > 0 ? len : 1);
	if (rr->data == NULL)
		return -1;
	if (len > 0)
		memcpy(rr->data, data, len);
	rr->type = type;
	rr->ttl = ttl > TTL_MAX ? 0 : ttl;
	rr->len = (uint16_t)len;
	ans->nrr++;
	return 0;
}

struct tg_dns_answer *
tg_dns_answer_dup(const struct tg_dns_answer *ans)
{
	struct tg_dns_answer *c;
	size_t i;

	c = malloc(sizeof(*c));
	if (c == NULL)
		return NULL;
	*c = *ans;
	c->rr = NULL;
	c->nrr = 0;
	for (i = 0; i < ans->nrr; i++) {
		if (tg_dns_answer_add_rr(c, ans->rr[i].type, ans->rr[i].ttl,
		    ans->rr[i].data, ans->rr[i].len) == -1) {
			tg_dns_answer_free(c);
			return NULL;
		}
	}
	c->truncated = ans->truncated;
	return c;
}

void
tg_dns_answer_free(struct tg_dns_answer *ans)
{
	size_t i;

	if (ans == NULL)
		return;
	for (i = 0; i < ans->nrr; i++)
		free(ans->rr[i].data);
	free(ans->rr);
	free(ans);
}

/* --- From a response packet (ldns does the parsing) --- */

/* Text form of a name: lower case, no trailing dot, "." for the root.
 * -1 when it does not fit (ldns escapes odd bytes as \DDD). */
static int
dname_text(const ldns_rdf *rdf, char *out, size_t outlen)
{
	char *s;
	size_t len, i;

	s = ldns_rdf2str(rdf);
	if (s == NULL)
		return -1;
	len = strlen(s);
	if (len > 1 && s[len - 1] == '.')
		len--;
	if (len >= outlen) {
		free(s);
		return -1;
	}
	for (i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[len] = '\0';
	free(s);
	return 0;
}

/* The CNAME record in list owned by name, or NULL. */
static const ldns_rr *
find_cname(const ldns_rr_list *list, const ldns_rdf *name)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(list); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(list, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
		    ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
		    ldns_rr_rd_count(rr) == 1 &&
		    ldns_dname_compare(ldns_rr_owner(rr), name) == 0)
			return rr;
	}
	return NULL;
}

static uint32_t
ttl_min(uint32_t a, uint32_t b)
{
	if (a > TTL_MAX)
		a = 0;
	if (b > TTL_MAX)
		b = 0;
	return a < b ? a : b;
}

/*
 * Follow the CNAME chain from the question name (RFC 1034 §3.6.2; a
 * resolver puts the whole chain in the answer section). Returns the final
 * name (owned by pkt), or NULL after answer_fail().
 */
static const ldns_rdf *
walk_chain(struct tg_dns_answer *ans, const ldns_pkt *pkt,
    const ldns_rdf *qname, uint32_t *ttl)
{
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	const ldns_rdf *cur = qname;
	const ldns_rr *rr;

	if (ans->qtype == TG_DNS_T_CNAME)
		return cur;
	while ((rr = find_cname(an, cur)) != NULL) {
		struct tg_dns_cname *link;

		if (ans->ncname >= TG_DNS_CNAME_MAX) {
			answer_fail(ans, "CNAME chain longer than %d links",
			    TG_DNS_CNAME_MAX);
			return NULL;
		}
		link = &ans->cname[ans->ncname];
		if (dname_text(cur, link->owner, sizeof(link->owner)) == -1 ||
		    dname_text(ldns_rr_rdf(rr, 0), link->target,
		    sizeof(link->target)) == -1) {
			answer_fail(ans, "name in CNAME chain too long");
			return NULL;
		}
		ans->ncname++;
		*ttl = ttl_min(*ttl, ldns_rr_ttl(rr));
		cur = ldns_rr_rdf(rr, 0);
	}
	return cur;
}

/* Copy the records of qtype owned by name into ans. -1 when out of
 * memory. */
static int
take_records(struct tg_dns_answer *ans, const ldns_pkt *pkt,
    const ldns_rdf *name, uint32_t *ttl)
{
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	ldns_buffer *wire;
	size_t i;
	int rc = 0;

	wire = ldns_buffer_new(512);
	if (wire == NULL)
		return -1;
	for (i = 0; i < ldns_rr_list_rr_count(an) && rc == 0; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (ldns_rr_get_type(rr) != ans->qtype ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    ldns_dname_compare(ldns_rr_owner(rr), name) != 0)
			continue;
		ldns_buffer_clear(wire);
		if (ldns_rr_rdata2buffer_wire(wire, rr) != LDNS_STATUS_OK) {
			rc = -1;
			break;
		}
		rc = tg_dns_answer_add_rr(ans, ans->qtype, ldns_rr_ttl(rr),
		    ldns_buffer_begin(wire), ldns_buffer_position(wire));
		*ttl = ttl_min(*ttl, ldns_rr_ttl(rr));
	}
	ldns_buffer_free(wire);
	return rc;
}

/* RFC 2308 §5: a negative answer lives min(SOA TTL, SOA MINIMUM). */
static uint32_t
negative_ttl(const ldns_pkt *pkt)
{
	const ldns_rr_list *ns = ldns_pkt_authority(pkt);
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(ns); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ns, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
		    ldns_rr_rd_count(rr) == 7)
			return ttl_min(ldns_rr_ttl(rr),
			    ldns_rdf2native_int32(ldns_rr_rdf(rr, 6)));
	}
	return 0;
}

/* Fill ans from a parsed response with rcode NOERROR or NXDOMAIN. */
static int
answer_from_pkt(struct tg_dns_answer *ans, const ldns_pkt *pkt)
{
	const ldns_rr_list *qd = ldns_pkt_question(pkt);
	const ldns_rdf *name;
	uint32_t ttl = TTL_MAX;

	if (ldns_rr_list_rr_count(qd) != 1 ||
	    ldns_rr_get_type(ldns_rr_list_rr(qd, 0)) != ans->qtype) {
		answer_fail(ans, "answer does not match the question");
		return 0;
	}
	name = walk_chain(ans, pkt, ldns_rr_owner(ldns_rr_list_rr(qd, 0)),
	    &ttl);
	if (name == NULL)
		return 0;
	if (dname_text(name, ans->canon, sizeof(ans->canon)) == -1) {
		answer_fail(ans, "canonical name too long");
		return 0;
	}
	if (take_records(ans, pkt, name, &ttl) == -1)
		return -1;
	if (ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN)
		ans->status = TG_DNS_NXDOMAIN;
	else
		ans->status = ans->nrr > 0 ? TG_DNS_OK : TG_DNS_NODATA;
	if (ans->status != TG_DNS_OK)
		ttl = ttl_min(ttl, negative_ttl(pkt));
	ans->ttl = ttl;
	return 0;
}

static enum tg_dns_security
security_from_ub(int sec)
{
	/* libunbound: 0 insecure (or indeterminate), 1 bogus, 2 secure. */
	if (sec == 2)
		return TG_DNS_SECURE;
	if (sec == 1)
		return TG_DNS_BOGUS;
	return TG_DNS_INSECURE;
}

struct tg_dns_answer *
tg_dns_answer_from_wire(const char *qname, uint16_t qtype, int rcode,
    const unsigned char *pkt, size_t len, int sec, const char *why_bogus)
{
	struct tg_dns_answer *ans;
	ldns_pkt *p = NULL;
	ldns_pkt_rcode prc;

	ans = tg_dns_answer_new(qname, qtype, TG_DNS_TEMPFAIL,
	    TG_DNS_INDETERMINATE, "%s", "");
	if (ans == NULL)
		return NULL;
	if (rcode != 0) {
		answer_fail(ans, "resolver failed with rcode %d", rcode);
		return ans;
	}
	ans->security = security_from_ub(sec);
	if (ans->security == TG_DNS_BOGUS)
		snprintf(ans->why_bogus, sizeof(ans->why_bogus), "%s",
		    why_bogus != NULL ? why_bogus : "validation failed");
	if (pkt == NULL || len > UINT16_MAX ||
	    ldns_wire2pkt(&p, pkt, len) != LDNS_STATUS_OK) {
		answer_fail(ans, "malformed answer packet");
		return ans;
	}
	prc = ldns_pkt_get_rcode(p);
	if (prc != LDNS_RCODE_NOERROR && prc != LDNS_RCODE_NXDOMAIN)
		answer_fail(ans, "server failure (rcode %d)", (int)prc);
	else if (answer_from_pkt(ans, p) == -1) {
		tg_dns_answer_free(ans);
		ans = NULL;
	}
	ldns_pkt_free(p);
	return ans;
}

/* --- Record parsers --- */

/* The name at rdata[pos..] that must end the rdata, as dname_text. */
static int
name_at(const unsigned char *rdata, size_t len, size_t pos, char *out,
    size_t outlen, const char *what, struct tg_err *err)
{
	ldns_rdf *name = NULL;
	int rc;

	if (ldns_wire2dname(&name, rdata, len, &pos) != LDNS_STATUS_OK)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s is not a valid name", what);
	if (pos != len)
		rc = tg_err_set(err, TG_ERR_PERM, NULL,
		    "%zu bytes after the %s name", len - pos, what);
	else if (dname_text(name, out, outlen) == -1)
		rc = tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s name too long", what);
	else
		rc = 0;
	ldns_rdf_deep_free(name);
	return rc;
}

int
tg_dns_mx_parse(const unsigned char *rdata, size_t len, struct tg_dns_mx *out,
    struct tg_err *err)
{
	if (len < 3)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "MX rdata of %zu bytes is too short", len);
	out->pref = (uint16_t)(rdata[0] << 8 | rdata[1]);
	if (name_at(rdata, len, 2, out->exchange, sizeof(out->exchange),
	    "MX exchange", err) != 0)
		return -1;
	out->is_null = out->pref == 0 && strcmp(out->exchange, ".") == 0;
	return 0;
}

int
tg_dns_name_parse(const unsigned char *rdata, size_t len, char *out,
    size_t outlen, struct tg_err *err)
{
	return name_at(rdata, len, 0, out, outlen, "record", err);
}

int
tg_dns_answer_mx(const struct tg_dns_answer *ans, struct tg_dns_mx *out,
    size_t max, size_t *n, struct tg_err *err)
{
	struct tg_dns_mx mx;
	size_t i, j;

	*n = 0;
	for (i = 0; i < ans->nrr; i++) {
		if (ans->rr[i].type != TG_DNS_T_MX)
			continue;
		if (tg_dns_mx_parse(ans->rr[i].data, ans->rr[i].len, &mx,
		    err) == -1)
			return -1;
		if (*n >= max)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "more than %zu MX records", max);
		/* Insertion sort keeps equal preferences in answer order. */
		for (j = *n; j > 0 && out[j - 1].pref > mx.pref; j--)
			out[j] = out[j - 1];
		out[j] = mx;
		(*n)++;
	}
	return 0;
}

int
tg_dns_addr_text(uint16_t type, const unsigned char *rdata, size_t len,
    char *out, size_t outlen, struct tg_err *err)
{
	int af;

	if (type == TG_DNS_T_A && len == 4)
		af = AF_INET;
	else if (type == TG_DNS_T_AAAA && len == 16)
		af = AF_INET6;
	else
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%zu bytes of %s rdata is not an address", len,
		    tg_dns_type_name(type));
	if (inet_ntop(af, rdata, out, (socklen_t)outlen) == NULL)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "address buffer too small");
	return 0;
}

int
tg_dns_txt_join(const unsigned char *rdata, size_t len, char *out,
    size_t outlen, size_t *textlen, struct tg_err *err)
{
	size_t i = 0, o = 0, n;

	if (len == 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "empty TXT rdata");
	if (outlen == 0)
		return tg_err_set(err, TG_ERR_BUG, NULL, "no room for text");
	while (i < len) {
		n = rdata[i++];
		if (n > len - i)
			return tg_err_set_at(err, TG_ERR_PERM, (long)i - 1,
			    "TXT string of %zu bytes runs past the rdata", n);
		if (memchr(rdata + i, '\0', n) != NULL)
			return tg_err_set_at(err, TG_ERR_PERM, (long)i,
			    "TXT string contains a NUL byte");
		if (n > outlen - 1 - o)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "TXT record longer than %zu bytes", outlen - 1);
		memcpy(out + o, rdata + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	if (textlen != NULL)
		*textlen = o;
	return 0;
}

/* --- Synchronous helper --- */

int
tg_dns_resolve_sync(const struct tg_resolver_config *cfg,
    const struct tg_dns_question *qs, size_t n, struct tg_dns_answer **out,
    struct tg_err *err)
{
	struct event_base *base;
	struct tg_resolver *r;
	unsigned timeout_s;
	size_t i;
	int rc;

	for (i = 0; i < n && i < TG_DNS_SYNC_MAX; i++)
		out[i] = NULL;
	base = event_base_new();
	if (base == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL,
		    "cannot create an event loop");
	r = tg_resolver_unbound_new(base, cfg, err);
	if (r == NULL) {
		event_base_free(base);
		return -1;
	}
	/* One second beyond the per-query timeout, so that every question
	 * normally ends with its own answer or timeout. */
	timeout_s = r->timeout_s;
	rc = tg_resolver_run(r, qs, n, out, (long)timeout_s * 1000 + 1000,
	    err);
	tg_resolver_free(r);
	event_base_free(base);
	return rc;
}
