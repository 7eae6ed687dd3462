/*
 * dns/resolver_impl — what resolver implementations share; not for
 * callers of the resolver (they use dns/resolver.h).
 *
 * resolver.c owns each struct tg_dns_query: it creates it with its
 * timeout event, hands it to ops->start, and delivers the answer from a
 * zero-delay event of its own, so a user callback never runs inside
 * libunbound or inside tg_resolver_query(). An implementation reports
 * the outcome with tg_resolver_complete() and may keep one int and one
 * pointer of its own in the query.
 */
#ifndef TG_DNS_RESOLVER_IMPL_H
#define TG_DNS_RESOLVER_IMPL_H

#include "dns/resolver.h"

struct tg_dns_query {
	struct tg_resolver *r;		/* borrowed; NULL once unlinked */
	char name[TG_DNS_NAME_SIZE];	/* normalised: lower case, no dot */
	uint16_t rrtype;
	tg_dns_cb *cb;
	void *cb_arg;			/* borrowed */
	struct event *ev;		/* owned: timeout, then delivery */
	struct tg_dns_answer *ans;	/* owned; NULL until complete */
	int delivering;			/* the callback is running */
	int impl_id;			/* for the implementation */
	void *impl_ptr;			/* for the implementation */
	struct tg_dns_query *prev, *next;	/* r->queries list */
};

/*
 * Make a resolver around impl (taken: freed with ops->free, also when
 * this fails). timeout_s 0 means TG_DNS_TIMEOUT_S. NULL when out of
 * memory.
 */
struct tg_resolver *tg_resolver_new(const struct tg_resolver_ops *ops,
    void *impl, struct event_base *base, unsigned timeout_s);

/*
 * Check a domain name given as text (labels of letters, digits, '-' and
 * '_', at most TG_DNAME_MAX octets, trailing dot optional, "." the root)
 * and write its normal form (lower case, no trailing dot) into out.
 * Returns 0, or -1 with err.
 */
int tg_resolver_name_normalize(const char *in, char *out, size_t outsz,
    struct tg_err *err);

/*
 * Report q's answer (taken; NULL means out of memory and becomes a
 * temporary failure). Delivery happens from the event loop. A second
 * completion of the same query is ignored (its answer freed).
 */
void tg_resolver_complete(struct tg_dns_query *q, struct tg_dns_answer *ans);

#endif
