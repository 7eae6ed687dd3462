/*
 * dns/visible — see visible.h. The validating view comes from
 * dns/resolver (libunbound); the direct, non-recursive queries to each
 * authoritative address and the canonical comparison from ldns.
 */
#include "dns/visible.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "util/text.h"

/* Canonical wire rdata of one record (RFC 4034 §6.2), owned. */
struct rdata {
	unsigned char *p;
	size_t len;
};

static int
rdata_cmp(const void *a, const void *b)
{
	const struct rdata *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, n);

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

static void
rdata_free(struct rdata *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].p);
}

/* rr's rdata in canonical wire form into *out; -1 when out of memory. */
static int
rdata_of(ldns_rr *rr, struct rdata *out)
{
	ldns_buffer *b = ldns_buffer_new(512);

	out->p = NULL;
	if (b == NULL)
		return -1;
	ldns_rr2canonical(rr);
	if (ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK ||
	    (out->p = malloc(ldns_buffer_position(b) + 1)) == NULL) {
		ldns_buffer_free(b);
		return -1;
	}
	out->len = ldns_buffer_position(b);
	memcpy(out->p, ldns_buffer_begin(b), out->len);
	ldns_buffer_free(b);
	return 0;
}

/* A record of type from its rdata in wire form; NULL if it does not
 * parse as that type. */
static ldns_rr *
rr_from_wire(uint16_t type, const unsigned char *data, size_t len)
{
	unsigned char buf[2 + 65535];
	ldns_rr *rr;
	size_t pos = 0;

	if (len > 65535 || (rr = ldns_rr_new_frm_type(type)) == NULL)
		return NULL;
	/* ldns_rr_new_frm_type fills in empty rdata fields: start over. */
	while (ldns_rr_rd_count(rr) > 0)
		ldns_rdf_deep_free(ldns_rr_pop_rdf(rr));
	buf[0] = (unsigned char)(len >> 8);
	buf[1] = (unsigned char)len;
	memcpy(buf + 2, data, len);
	/* Only the rdata is compared; canonical form wants an owner. */
	ldns_rr_set_owner(rr, ldns_dname_new_frm_str("."));
	if (ldns_rr_owner(rr) == NULL ||
	    ldns_wire2rdf(rr, buf, len + 2, &pos) != LDNS_STATUS_OK) {
		ldns_rr_free(rr);
		return NULL;
	}
	return rr;
}

int
tg_visible_same(const char *owner, uint16_t type, const char *const *want,
    size_t n, const unsigned char *const *data, const size_t *len,
    size_t nrr, char *diff, size_t difflen, struct tg_err *err)
{
	struct rdata w[TG_VISIBLE_RRS_MAX], h[TG_VISIBLE_RRS_MAX];
	char text[1024];
	size_t i, nw = 0, nh = 0;
	ldns_rr *rr;
	int rc = -1;

	if (n > TG_VISIBLE_RRS_MAX) {
		tg_err_set(err, TG_ERR_PERM, NULL, "more than %d records",
		    TG_VISIBLE_RRS_MAX);
		return -1;
	}
	for (; nw < n; nw++) {
		rr = NULL;
		tg_text_fmt(text, sizeof(text), "%s 0 IN %s %s", owner,
		    tg_dns_type_name(type), want[nw]);
		if (ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) !=
		    LDNS_STATUS_OK || ldns_rr_get_type(rr) != type ||
		    rdata_of(rr, &w[nw]) != 0) {
			ldns_rr_free(rr);
			tg_err_set(err, TG_ERR_PERM, NULL, "record '%s' does "
			    "not parse", want[nw]);
			goto out;
		}
		ldns_rr_free(rr);
	}
	if (nrr != n) {
		tg_text_fmt(diff, difflen, "%zu record%s, want %zu", nrr,
		    nrr == 1 ? "" : "s", n);
		rc = 0;
		goto out;
	}
	for (; nh < nrr; nh++) {
		if ((rr = rr_from_wire(type, data[nh], len[nh])) == NULL ||
		    rdata_of(rr, &h[nh]) != 0) {
			ldns_rr_free(rr);
			tg_text_fmt(diff, difflen, "a record that does not "
			    "parse");
			rc = 0;
			goto out;
		}
		ldns_rr_free(rr);
	}
	qsort(w, nw, sizeof(w[0]), rdata_cmp);
	qsort(h, nh, sizeof(h[0]), rdata_cmp);
	for (i = 0; i < n; i++)
		if (rdata_cmp(&w[i], &h[i]) != 0) {
			tg_text_fmt(diff, difflen, "other records");
			rc = 0;
			goto out;
		}
	rc = 1;
out:
	rdata_free(w, nw);
	rdata_free(h, nh);
	return rc;
}

/* ---- the authoritative servers ---------------------------------------- */

/* The records of rrs in wire form (borrowed by data/len until freed). */
static size_t
wire_of_list(ldns_rr_list *rrs, unsigned char **data, size_t *len,
    uint32_t *ttl)
{
	ldns_buffer *b;
	size_t i, n = 0;

	for (i = 0; rrs != NULL && i < ldns_rr_list_rr_count(rrs) &&
	    n < TG_VISIBLE_RRS_MAX; i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);

		if (ldns_rr_ttl(rr) > *ttl)
			*ttl = ldns_rr_ttl(rr);
		if ((b = ldns_buffer_new(512)) == NULL)
			break;
		if (ldns_rr_rdata2buffer_wire(b, rr) == LDNS_STATUS_OK &&
		    (data[n] = malloc(ldns_buffer_position(b) + 1)) != NULL) {
			len[n] = ldns_buffer_position(b);
			memcpy(data[n], ldns_buffer_begin(b), len[n]);
			n++;
		}
		ldns_buffer_free(b);
	}
	return n;
}

/* Ask s->addr directly, without recursion, for (owner, type). */
static void
ask_server(struct tg_visible_server *s, const char *owner, uint16_t type,
    const char *const *want, size_t n, int timeout_ms, uint32_t *ttl)
{
	unsigned char *data[TG_VISIBLE_RRS_MAX];
	size_t len[TG_VISIBLE_RRS_MAX], i, nrr = 0;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	ldns_resolver *res = ldns_resolver_new();
	ldns_rdf *ns, *qname;
	ldns_rr_list *rrs = NULL;
	ldns_pkt *pkt = NULL;
	ldns_pkt_rcode rcode;
	struct tg_err err;
	int same;

	s->matches = 0;
	ns = ldns_rdf_new_frm_str(strchr(s->addr, ':') != NULL ?
	    LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, s->addr);
	qname = ldns_dname_new_frm_str(owner);
	if (res == NULL || ns == NULL || qname == NULL ||
	    ldns_resolver_push_nameserver(res, ns) != LDNS_STATUS_OK) {
		tg_text_fmt(s->why, sizeof(s->why), "out of memory");
		goto out;
	}
	ldns_resolver_set_recursive(res, false);
	ldns_resolver_set_timeout(res, tv);
	ldns_resolver_set_retry(res, 1);
	ldns_resolver_set_fallback(res, true);	/* TCP when truncated */
	if (ldns_resolver_query_status(&pkt, res, qname, type,
	    LDNS_RR_CLASS_IN, 0) != LDNS_STATUS_OK || pkt == NULL) {
		tg_text_fmt(s->why, sizeof(s->why), "no answer");
		goto out;
	}
	rcode = ldns_pkt_get_rcode(pkt);
	if (!ldns_pkt_aa(pkt) || (rcode != LDNS_RCODE_NOERROR &&
	    rcode != LDNS_RCODE_NXDOMAIN)) {
		tg_text_fmt(s->why, sizeof(s->why), "not an authoritative "
		    "answer (rcode %d)", (int)rcode);
		goto out;
	}
	rrs = ldns_pkt_rr_list_by_name_and_type(pkt, qname, type,
	    LDNS_SECTION_ANSWER);
	nrr = wire_of_list(rrs, data, len, ttl);
	same = tg_visible_same(owner, type, want, n,
	    (const unsigned char *const *)data, len, nrr, s->why,
	    sizeof(s->why), &err);
	s->matches = same == 1;
	if (same < 0)
		tg_text_fmt(s->why, sizeof(s->why), "%s", err.msg);
out:
	for (i = 0; i < nrr; i++)
		free(data[i]);
	ldns_rr_list_deep_free(rrs);
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(qname);
	ldns_rdf_deep_free(ns);
	ldns_resolver_deep_free(res);
}

/* ---- the zone's servers, and the validating view ---------------------- */

/* One answer through the validating resolver; NULL with err. A bogus
 * answer, or a failure, is an error: nothing here may rest on it. */
static struct tg_dns_answer *
resolve_one(const struct tg_resolver_config *cfg, const char *name,
    uint16_t type, struct tg_err *err)
{
	struct tg_dns_question q = { name, type };
	struct tg_dns_answer *a = NULL;

	if (tg_dns_resolve_sync(cfg, &q, 1, &a, err) != 0)
		return NULL;
	if (a->security == TG_DNS_BOGUS || a->status == TG_DNS_TEMPFAIL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "%s %s: %s", name,
		    tg_dns_type_name(type), a->security == TG_DNS_BOGUS ?
		    a->why_bogus : a->error);
		tg_dns_answer_free(a);
		return NULL;
	}
	return a;
}

/* The addresses of the zone's name servers into res->server. */
static int
find_servers(const struct tg_resolver_config *cfg, const char *zone,
    struct tg_visible_result *res, struct tg_err *err)
{
	struct tg_dns_question q[2 * TG_VISIBLE_SERVERS_MAX];
	char names[TG_VISIBLE_SERVERS_MAX][TG_DNS_NAME_SIZE];
	struct tg_dns_answer *ns, *a[2 * TG_VISIBLE_SERVERS_MAX];
	struct tg_visible_server *s;
	char text[TG_DNS_NAME_SIZE];
	size_t i, j, nn = 0;

	if ((ns = resolve_one(cfg, zone, TG_DNS_T_NS, err)) == NULL)
		return -1;
	for (i = 0; i < ns->nrr && nn < TG_VISIBLE_SERVERS_MAX; i++)
		if (tg_dns_name_parse(ns->rr[i].data, ns->rr[i].len, text,
		    sizeof(text) - 1, err) == 0)
			tg_text_fmt(names[nn++], sizeof(names[0]), "%s.", text);
	tg_dns_answer_free(ns);
	if (nn == 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "%s has no name "
		    "servers", zone);
	for (i = 0; i < nn; i++) {
		q[2 * i].name = q[2 * i + 1].name = names[i];
		q[2 * i].rrtype = TG_DNS_T_A;
		q[2 * i + 1].rrtype = TG_DNS_T_AAAA;
	}
	if (tg_dns_resolve_sync(cfg, q, 2 * nn, a, err) != 0)
		return -1;
	for (i = 0; i < 2 * nn; i++) {
		for (j = 0; j < a[i]->nrr &&
		    res->nservers < TG_VISIBLE_SERVERS_MAX; j++) {
			const struct tg_dns_rr *r = &a[i]->rr[j];

			s = &res->server[res->nservers];
			if (tg_dns_addr_text(r->type, r->data, r->len, s->addr,
			    sizeof(s->addr), err) != 0)
				continue;
			tg_text_fmt(s->name, sizeof(s->name), "%s",
			    names[i / 2]);
			res->nservers++;
		}
		tg_dns_answer_free(a[i]);
	}
	if (res->nservers == 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "no address for the "
		    "name servers of %s", zone);
	return 0;
}

/* What the validating resolver says: secure and exactly want. */
static void
ask_resolver(const struct tg_resolver_config *cfg, const char *owner,
    uint16_t type, const char *const *want, size_t n,
    struct tg_visible_result *res)
{
	const unsigned char *data[TG_VISIBLE_RRS_MAX];
	size_t len[TG_VISIBLE_RRS_MAX], i;
	struct tg_dns_answer *a;
	struct tg_err err;
	int same;

	if ((a = resolve_one(cfg, owner, type, &err)) == NULL) {
		tg_text_fmt(res->resolver_why, sizeof(res->resolver_why),
		    "%s", err.msg);
		return;
	}
	for (i = 0; i < a->nrr && i < TG_VISIBLE_RRS_MAX; i++) {
		data[i] = a->rr[i].data;
		len[i] = a->rr[i].len;
	}
	if (a->security != TG_DNS_SECURE) {
		tg_text_fmt(res->resolver_why, sizeof(res->resolver_why),
		    "the answer is %s, not secure",
		    tg_dns_security_name(a->security));
	} else {
		same = tg_visible_same(owner, type, want, n, data, len, i,
		    res->resolver_why, sizeof(res->resolver_why), &err);
		res->resolver_matches = same == 1;
		if (same < 0)
			tg_text_fmt(res->resolver_why,
			    sizeof(res->resolver_why), "%s", err.msg);
		if (a->status == TG_DNS_OK && a->ttl > res->ttl)
			res->ttl = a->ttl;
	}
	tg_dns_answer_free(a);
}

int
tg_visible_check(const struct tg_resolver_config *cfg, const char *zone,
    const char *owner, uint16_t type, const char *const *want, size_t n,
    int timeout_ms, struct tg_visible_result *res, struct tg_err *err)
{
	size_t i, have = 0;
	char diff[64];

	memset(res, 0, sizeof(*res));
	/* The expected set must parse before anything is asked. */
	if (tg_visible_same(owner, type, want, n, NULL, NULL, 0,
	    diff, sizeof(diff), err) < 0)
		return -1;
	if (find_servers(cfg, zone, res, err) != 0)
		return -1;
	for (i = 0; i < res->nservers; i++) {
		ask_server(&res->server[i], owner, type, want, n, timeout_ms,
		    &res->ttl);
		have += (size_t)res->server[i].matches;
	}
	ask_resolver(cfg, owner, type, want, n, res);
	res->visible = have == res->nservers && res->resolver_matches;
	for (i = 0; i < res->nservers && res->server[i].matches; i++)
		;
	if (res->visible)
		tg_text_fmt(res->summary, sizeof(res->summary), "visible at "
		    "%zu of %zu servers and to the validating resolver", have,
		    res->nservers);
	else if (i < res->nservers)
		tg_text_fmt(res->summary, sizeof(res->summary), "%zu of %zu "
		    "servers; %s (%s) has %s", have, res->nservers,
		    res->server[i].name, res->server[i].addr,
		    res->server[i].why);
	else
		tg_text_fmt(res->summary, sizeof(res->summary), "every "
		    "server has it; the validating resolver: %s",
		    res->resolver_why);
	return 0;
}
