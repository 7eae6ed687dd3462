/*
 * dns/resolver — see resolver.h and resolver_impl.h.
 */
#include "dns/resolver.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/resolver_impl.h"

/* Delivered when not even a failure answer could be allocated. */
static struct tg_dns_answer oom_answer = {
	.status = TG_DNS_TEMPFAIL,
	.security = TG_DNS_INDETERMINATE,
	.error = "out of memory",
};

/* Labels may hold '_' for TLSA owner names (RFC 6698 §3). */
int
tg_resolver_name_normalize(const char *in, char *out, size_t outsz,
    struct tg_err *err)
{
	size_t len, i, label = 0;

	len = strnlen(in, TG_DNAME_MAX + 2);
	if (strcmp(in, ".") == 0) {
		snprintf(out, outsz, ".");
		return 0;
	}
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "empty domain name");
	if (len > TG_DNAME_MAX || len >= outsz)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "domain name longer than %d octets", TG_DNAME_MAX);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '.') {
			if (label == 0)
				return tg_err_set(err, TG_ERR_PERM, NULL,
				    "empty label in domain name");
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > TG_LABEL_MAX)
				return tg_err_set(err, TG_ERR_PERM, NULL,
				    "label longer than %d octets",
				    TG_LABEL_MAX);
		} else {
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "character 0x%02x not allowed in a domain name", c);
		}
		out[i] = (char)tolower(c);
	}
	out[len] = '\0';
	return 0;
}

struct tg_resolver *
tg_resolver_new(const struct tg_resolver_ops *ops, void *impl,
    struct event_base *base, unsigned timeout_s)
{
	struct tg_resolver *r;

	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		ops->free(impl);
		return NULL;
	}
	r->ops = ops;
	r->impl = impl;
	r->base = base;
	r->timeout_s = timeout_s ? timeout_s : TG_DNS_TIMEOUT_S;
	return r;
}

static void
query_unlink(struct tg_dns_query *q)
{
	if (q->r == NULL)
		return;
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		q->r->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
	q->r = NULL;
}

static void
query_free(struct tg_dns_query *q)
{
	if (q->ev != NULL)
		event_free(q->ev);
	if (q->ans != &oom_answer)
		tg_dns_answer_free(q->ans);
	free(q);
}

/* The query's one event: first its timeout, then (re-armed with no
 * delay by tg_resolver_complete) the delivery of its answer. */
static void
query_event(evutil_socket_t fd, short what, void *arg)
{
	struct tg_dns_query *q = arg;
	struct tg_resolver *r = q->r;

	(void)fd;
	(void)what;
	if (q->ans == NULL) {
		r->ops->stop(r->impl, q);
		q->ans = tg_dns_answer_new(q->name, q->rrtype, TG_DNS_TEMPFAIL,
		    TG_DNS_INDETERMINATE, "no answer within %u s",
		    r->timeout_s);
		if (q->ans == NULL)
			q->ans = &oom_answer;
	}
	query_unlink(q);
	q->delivering = 1;
	q->cb(q->ans, q->cb_arg);
	/* The callback may have freed the resolver; q is ours alone. */
	query_free(q);
}

void
tg_resolver_complete(struct tg_dns_query *q, struct tg_dns_answer *ans)
{
	static const struct timeval now = { 0, 0 };

	if (q->ans != NULL || q->r == NULL) {
		tg_dns_answer_free(ans);
		return;
	}
	q->ans = ans != NULL ? ans : &oom_answer;
	event_del(q->ev);
	event_add(q->ev, &now);
}

struct tg_dns_query *
tg_resolver_query(struct tg_resolver *r, const char *name, uint16_t rrtype,
    tg_dns_cb *cb, void *arg, struct tg_err *err)
{
	struct tg_dns_query *q;
	struct timeval tv = { (time_t)r->timeout_s, 0 };

	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	if (tg_resolver_name_normalize(name, q->name, sizeof(q->name),
	    err) == -1) {
		free(q);
		return NULL;
	}
	q->rrtype = rrtype;
	q->cb = cb;
	q->cb_arg = arg;
	q->ev = event_new(r->base, -1, 0, query_event, q);
	if (q->ev == NULL || event_add(q->ev, &tv) == -1) {
		query_free(q);
		tg_err_set(err, TG_ERR_TEMP, NULL, "cannot add a timer event");
		return NULL;
	}
	q->r = r;
	q->next = r->queries;
	if (q->next != NULL)
		q->next->prev = q;
	r->queries = q;
	if (r->ops->start(r->impl, q, err) == -1) {
		tg_err_prefix(err, "%s/%s", q->name, tg_dns_type_name(rrtype));
		query_unlink(q);
		query_free(q);
		return NULL;
	}
	return q;
}

void
tg_resolver_cancel(struct tg_resolver *r, struct tg_dns_query *q)
{
	if (q == NULL || q->delivering)
		return;
	if (q->ans == NULL)
		r->ops->stop(r->impl, q);
	query_unlink(q);
	query_free(q);
}

size_t
tg_resolver_pending(const struct tg_resolver *r)
{
	const struct tg_dns_query *q;
	size_t n = 0;

	for (q = r->queries; q != NULL; q = q->next)
		n++;
	return n;
}

void
tg_resolver_free(struct tg_resolver *r)
{
	if (r == NULL)
		return;
	while (r->queries != NULL)
		tg_resolver_cancel(r, r->queries);
	r->ops->free(r->impl);
	free(r);
}

/* --- Running a batch of questions to completion. --- */

struct run_slot {
	struct run *run;
	struct tg_dns_query *q;		/* NULL once answered */
	struct tg_dns_answer **out;
};

struct run {
	size_t open;
	int oom;
	int expired;
	struct event_base *base;
};

static void
run_answer(const struct tg_dns_answer *ans, void *arg)
{
	struct run_slot *s = arg;

	*s->out = tg_dns_answer_dup(ans);
	if (*s->out == NULL)
		s->run->oom = 1;
	s->q = NULL;
	s->run->open--;
}

static void
run_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct run *run = arg;

	(void)fd;
	(void)what;
	run->expired = 1;
	event_base_loopbreak(run->base);
}

/* Give each question still open at the deadline a failure answer. */
static void
run_close(struct tg_resolver *r, struct run_slot *slots,
    const struct tg_dns_question *qs, size_t n, long timeout_ms)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (slots[i].q == NULL)
			continue;
		tg_resolver_cancel(r, slots[i].q);
		slots[i].q = NULL;
		*slots[i].out = tg_dns_answer_new(qs[i].name, qs[i].rrtype,
		    TG_DNS_TEMPFAIL, TG_DNS_INDETERMINATE,
		    "no answer within %ld ms", timeout_ms);
		if (*slots[i].out == NULL)
			slots[i].run->oom = 1;
	}
}

static int
run_start(struct tg_resolver *r, struct run_slot *slots,
    const struct tg_dns_question *qs, size_t n, struct tg_err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		slots[i].q = tg_resolver_query(r, qs[i].name, qs[i].rrtype,
		    run_answer, &slots[i], err);
		if (slots[i].q == NULL)
			return -1;
		slots[i].run->open++;
	}
	return 0;
}

int
tg_resolver_run(struct tg_resolver *r, const struct tg_dns_question *qs,
    size_t n, struct tg_dns_answer **out, long timeout_ms,
    struct tg_err *err)
{
	struct run_slot slots[TG_DNS_SYNC_MAX];
	struct run run = { 0, 0, 0, r->base };
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct event *deadline;
	size_t i;
	int rc = 0;

	if (n > TG_DNS_SYNC_MAX)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "more than %d questions at once", TG_DNS_SYNC_MAX);
	for (i = 0; i < n; i++) {
		out[i] = NULL;
		slots[i] = (struct run_slot){ &run, NULL, &out[i] };
	}
	deadline = evtimer_new(r->base, run_deadline, &run);
	if (deadline == NULL || evtimer_add(deadline, &tv) == -1) {
		if (deadline != NULL)
			event_free(deadline);
		return tg_err_set(err, TG_ERR_TEMP, NULL,
		    "cannot add a timer event");
	}
	if (run_start(r, slots, qs, n, err) == -1)
		rc = -1;
	while (rc == 0 && run.open > 0 && !run.expired)
		event_base_loop(r->base, EVLOOP_ONCE);
	event_free(deadline);
	run_close(r, slots, qs, n, timeout_ms);
	if (rc == 0 && run.oom)
		rc = tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	if (rc == -1)
		for (i = 0; i < n; i++) {
			tg_dns_answer_free(out[i]);
			out[i] = NULL;
		}
	return rc;
}

/* --- Settings --- */

void
tg_resolver_config_init(struct tg_resolver_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout_s = TG_DNS_TIMEOUT_S;
}

static int
port_parse(const char *s, uint16_t *port, struct tg_err *err)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!isdigit((unsigned char)s[i]) || i >= 5)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "port \"%.16s\" is not a number in 1..65535", s);
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (i == 0 || v == 0 || v > 65535)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "port \"%.16s\" is not a number in 1..65535", s);
	*port = (uint16_t)v;
	return 0;
}

int
tg_resolver_server_parse(const char *s, struct tg_resolver_server *out,
    struct tg_err *err)
{
	char host[TG_DNS_ADDR_TEXT_SIZE];
	unsigned char bin[16];
	const char *at;
	size_t hlen;
	int af;

	at = strchr(s, '@');
	hlen = at != NULL ? (size_t)(at - s) : strnlen(s, sizeof(host));
	if (hlen == 0 || hlen >= sizeof(host))
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "\"%.64s\" is not an IP address", s);
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	af = strchr(host, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(af, host, bin) != 1)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "\"%s\" is not an IP address", host);
	out->port = 53;
	if (at != NULL && port_parse(at + 1, &out->port, err) == -1)
		return -1;
	if (inet_ntop(af, bin, out->addr, sizeof(out->addr)) == NULL)
		return tg_err_set(err, TG_ERR_BUG, NULL, "inet_ntop failed");
	return 0;
}

int
tg_resolver_stub_parse(const char *s, struct tg_resolver_stub *out,
    struct tg_err *err)
{
	char zone[TG_DNAME_MAX + 2];
	const char *eq;
	size_t zlen;

	eq = strchr(s, '=');
	if (eq == NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "stub \"%.64s\" is not ZONE=IP[@PORT]", s);
	zlen = (size_t)(eq - s);
	if (zlen >= sizeof(zone))
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "stub zone longer than %d octets", TG_DNAME_MAX);
	memcpy(zone, s, zlen);
	zone[zlen] = '\0';
	if (tg_resolver_name_normalize(zone, out->zone, sizeof(out->zone),
	    err) == -1 ||
	    tg_resolver_server_parse(eq + 1, &out->server, err) == -1) {
		tg_err_prefix(err, "stub \"%.64s\"", s);
		return -1;
	}
	return 0;
}

int
tg_resolver_config_add_forward(struct tg_resolver_config *cfg,
    const char *s, struct tg_err *err)
{
	if (cfg->nforward >= TG_DNS_SERVERS_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "more than %d forwarders", TG_DNS_SERVERS_MAX);
	if (tg_resolver_server_parse(s, &cfg->forward[cfg->nforward],
	    err) == -1) {
		tg_err_prefix(err, "forwarder");
		return -1;
	}
	cfg->nforward++;
	return 0;
}

int
tg_resolver_config_add_stub(struct tg_resolver_config *cfg, const char *s,
    struct tg_err *err)
{
	if (cfg->nstub >= TG_DNS_SERVERS_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "more than %d stub entries", TG_DNS_SERVERS_MAX);
	if (tg_resolver_stub_parse(s, &cfg->stub[cfg->nstub], err) == -1)
		return -1;
	cfg->nstub++;
	return 0;
}
