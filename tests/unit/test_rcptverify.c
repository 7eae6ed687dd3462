/*
 * Unit tests for smtp/rcptverify: questions about recipients answered by
 * SMTP probes to a scripted fake internal server on 127.0.0.1 in the same
 * event loop (RELIABILITY I-10): the three answers, the cache (taken and
 * refused kept, unknown not; lower case), questions sharing a probe,
 * cancelling, the budget, the limit on probes at once, a route given by
 * name, and freeing with probes running.
 *
 * The fake answers RCPT by the local part: good* 250, bad* 550 5.1.1,
 * temp* 451 4.3.0, slow* never.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "dns/resolver_fake.h"
#include "smtp/rcptverify.h"
#include "support/listen.h"
#include "tls/tls_client.h"

/* ---- the fake internal server ---- */

#define FAKE_CONNS_MAX	64

struct fake {
	struct event_base *base;
	struct evconnlistener *lst;
	unsigned port;
	struct bufferevent *conn[FAKE_CONNS_MAX];
	int done[FAKE_CONNS_MAX];	/* RCPT answered: the probe is over */
	int accepts, open, n_rcpt, n_data, n_quit;
	int busy, max_busy;		/* connections before that */
};

static struct fake F;

static void
fake_drop(struct fake *f, struct bufferevent *bev)
{
	int i;

	for (i = 0; i < FAKE_CONNS_MAX; i++)
		if (f->conn[i] == bev) {
			f->conn[i] = NULL;
			f->open--;
			if (!f->done[i])
				f->busy--;
		}
	bufferevent_free(bev);
}

static void
fake_say(struct bufferevent *bev, const char *s)
{
	bufferevent_write(bev, s, strlen(s));
}

static void
fake_line(struct fake *f, struct bufferevent *bev, const char *line)
{
	const char *lp;
	int i;

	if (strncasecmp(line, "EHLO", 4) == 0)
		fake_say(bev, "250-internal.test\r\n"
		    "250 ENHANCEDSTATUSCODES\r\n");
	else if (strncasecmp(line, "MAIL", 4) == 0)
		fake_say(bev, "250 2.1.0 Ok\r\n");
	else if (strncasecmp(line, "RCPT TO:<", 9) == 0) {
		f->n_rcpt++;
		lp = line + 9;
		for (i = 0; i < FAKE_CONNS_MAX; i++)
			if (f->conn[i] == bev && !f->done[i] &&
			    strncmp(lp, "slow", 4) != 0) {
				f->done[i] = 1;
				f->busy--;
			}
		if (strncmp(lp, "good", 4) == 0)
			fake_say(bev, "250 2.1.5 Ok\r\n");
		else if (strncmp(lp, "bad", 3) == 0)
			fake_say(bev, "550 5.1.1 User unknown in local "
			    "recipient table\r\n");
		else if (strncmp(lp, "temp", 4) == 0)
			fake_say(bev, "451 4.3.0 Try again later\r\n");
		/* slow: no reply */
	} else if (strncasecmp(line, "RSET", 4) == 0)
		fake_say(bev, "250 2.0.0 Ok\r\n");
	else if (strncasecmp(line, "DATA", 4) == 0) {
		f->n_data++;
		fake_say(bev, "554 5.5.1 no\r\n");
	} else if (strncasecmp(line, "QUIT", 4) == 0) {
		f->n_quit++;
		fake_say(bev, "221 2.0.0 Bye\r\n");
	} else
		fake_say(bev, "502 5.5.2 what\r\n");
}

static void
fake_read_cb(struct bufferevent *bev, void *arg)
{
	struct fake *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;

	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) != NULL) {
		fake_line(f, bev, line);
		free(line);
	}
}

static void
fake_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		fake_drop(arg, bev);
}

static void
fake_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct fake *f = arg;
	struct bufferevent *bev;
	int i;

	(void)l;
	(void)sa;
	(void)salen;
	bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
	assert_non_null(bev);
	for (i = 0; i < FAKE_CONNS_MAX && f->conn[i] != NULL; i++)
		;
	assert_true(i < FAKE_CONNS_MAX);
	f->conn[i] = bev;
	f->done[i] = 0;
	f->accepts++;
	f->open++;
	if (++f->busy > f->max_busy)
		f->max_busy = f->busy;
	bufferevent_setcb(bev, fake_read_cb, NULL, fake_event_cb, f);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	fake_say(bev, "220 internal.test ESMTP\r\n");
}

static void
fake_start(struct fake *f, struct event_base *base)
{
	memset(f, 0, sizeof(*f));
	f->base = base;
	f->lst = tg_test_listen(base, fake_accept_cb, f, &f->port);
}

static void
fake_stop(struct fake *f)
{
	int i;

	for (i = 0; i < FAKE_CONNS_MAX; i++)
		if (f->conn[i] != NULL)
			fake_drop(f, f->conn[i]);
	if (f->lst != NULL)
		evconnlistener_free(f->lst);
	f->lst = NULL;
}

/* ---- the world ---- */

struct world {
	struct event_base *base;
	struct tg_resolver *res;
	SSL_CTX *ctx;
	struct tg_rcptv *v;
	struct tg_delivery_route route;
};

static struct world w;

#define ANSWERS_MAX 64

struct answers {
	int n;
	struct tg_rcptv_result r[ANSWERS_MAX];
};

static void
on_answer(void *arg, const struct tg_rcptv_result *res)
{
	struct answers *a = arg;

	assert_true(a->n < ANSWERS_MAX);
	a->r[a->n++] = *res;
}

static size_t cache_max;	/* 0: the default */

static struct tg_rcptv *
verifier(int budget_ms)
{
	struct tg_rcptv_params p;
	struct tg_err err;
	struct tg_rcptv *v;

	memset(&p, 0, sizeof(p));
	p.base = w.base;
	p.resolver = w.res;
	p.ssl_ctx = w.ctx;
	p.helo_name = "mx.gw.test";
	p.budget_ms = budget_ms;
	p.cache_max = cache_max;
	v = tg_rcptv_new(&p, &err);
	assert_non_null(v);
	return v;
}

/* Run the loop until want answers came (bounded: 5 s). */
static void
run_until(const struct answers *a, int want)
{
	int i;

	for (i = 0; i < 500 && a->n < want; i++) {
		struct timeval tv = { 0, 10000 };

		event_base_loopexit(w.base, &tv);
		event_base_dispatch(w.base);
	}
	assert_int_equal(a->n, want);
}

/* Let the loop run for ms (closing connections, QUIT). */
static void
run_for(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(w.base, &tv);
	event_base_dispatch(w.base);
}

static int
setup(void **state)
{
	struct tg_err err;

	(void)state;
	memset(&w, 0, sizeof(w));
	cache_max = 0;
	w.base = event_base_new();
	w.res = tg_resolver_fake_new(w.base);
	w.ctx = tg_tls_client_ctx_new(NULL, &err);
	assert_non_null(w.base);
	assert_non_null(w.res);
	assert_non_null(w.ctx);
	fake_start(&F, w.base);
	memset(&w.route, 0, sizeof(w.route));
	snprintf(w.route.host, sizeof(w.route.host), "127.0.0.1");
	w.route.port = F.port;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tg_rcptv_free(w.v);
	fake_stop(&F);
	run_for(20);
	tg_resolver_free(w.res);
	SSL_CTX_free(w.ctx);
	event_base_free(w.base);
	return 0;
}

static struct tg_rcptv_q *
ask(const char *addr, struct answers *a, struct tg_rcptv_result *now)
{
	memset(now, 0, sizeof(*now));
	now->answer = (enum tg_rcptv_answer)-1;
	return tg_rcptv_ask(w.v, &w.route, addr, on_answer, a, now);
}

/* ---- tests ---- */

/* 250, 550 and 451 each give their answer; no DATA is ever sent; the
 * answer never comes inside tg_rcptv_ask. */
static void
test_answers(void **state)
{
	struct tg_rcptv_result now;
	struct answers a = { 0 };
	struct tg_rcptv_stats st;

	(void)state;
	w.v = verifier(0);
	assert_non_null(ask("good@example.test", &a, &now));
	assert_int_equal(a.n, 0);
	run_until(&a, 1);
	assert_int_equal(a.r[0].answer, TG_RCPTV_TAKEN);
	assert_int_equal(a.r[0].cached, 0);
	assert_non_null(ask("bad@example.test", &a, &now));
	run_until(&a, 2);
	assert_int_equal(a.r[1].answer, TG_RCPTV_REFUSED);
	assert_non_null(strstr(a.r[1].text, "550 5.1.1 User unknown"));
	assert_non_null(ask("temp@example.test", &a, &now));
	run_until(&a, 3);
	assert_int_equal(a.r[2].answer, TG_RCPTV_UNKNOWN);
	assert_non_null(strstr(a.r[2].text, "451"));
	run_for(50);
	assert_int_equal(F.n_rcpt, 3);
	assert_int_equal(F.n_data, 0);
	assert_int_equal(F.n_quit, 3);
	tg_rcptv_stats(w.v, &st);
	assert_int_equal(st.closing, 0);
	assert_int_equal(st.probes, 3);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.active, 0);
}

/* Taken and refused come from the cache (any case) without a probe;
 * unknown is asked again; a flush forgets. */
static void
test_cache(void **state)
{
	struct tg_rcptv_result now;
	struct answers a = { 0 };
	struct tg_rcptv_stats st;

	(void)state;
	w.v = verifier(0);
	ask("good@example.test", &a, &now);
	ask("bad@example.test", &a, &now);
	ask("temp@example.test", &a, &now);
	run_until(&a, 3);
	assert_null(ask("GOOD@Example.TEST", &a, &now));
	assert_int_equal(now.answer, TG_RCPTV_TAKEN);
	assert_int_equal(now.cached, 1);
	assert_null(ask("bad@example.test", &a, &now));
	assert_int_equal(now.answer, TG_RCPTV_REFUSED);
	assert_non_null(strstr(now.text, "5.1.1"));
	assert_non_null(ask("temp@example.test", &a, &now));
	run_until(&a, 4);
	assert_int_equal(F.n_rcpt, 4);
	tg_rcptv_stats(w.v, &st);
	assert_int_equal(st.cached, 2);
	tg_rcptv_flush(w.v);
	tg_rcptv_stats(w.v, &st);
	assert_int_equal(st.entries, 0);
	assert_non_null(ask("good@example.test", &a, &now));
	run_until(&a, 5);
	assert_int_equal(F.n_rcpt, 5);
}

/* A full cache forgets its oldest answer first. */
static void
test_cache_bound(void **state)
{
	struct tg_rcptv_result now;
	struct answers a = { 0 };
	struct tg_rcptv_stats st;

	(void)state;
	cache_max = 2;
	w.v = verifier(0);
	ask("good1@example.test", &a, &now);
	run_until(&a, 1);
	ask("good2@example.test", &a, &now);
	run_until(&a, 2);
	ask("bad3@example.test", &a, &now);
	run_until(&a, 3);
	tg_rcptv_stats(w.v, &st);
	assert_int_equal(st.entries, 2);
	assert_null(ask("bad3@example.test", &a, &now));
	assert_null(ask("good2@example.test", &a, &now));
	assert_string_equal(now.text, "");
	/* good1 was the oldest: asked again. */
	assert_non_null(ask("good1@example.test", &a, &now));
	run_until(&a, 4);
	assert_int_equal(F.n_rcpt, 4);
}

/* Questions about one address while its probe runs share it; a
 * cancelled question gets no answer, the others do. */
static void
test_shared_and_cancel(void **state)
{
	struct tg_rcptv_result now;
	struct answers a = { 0 }, b = { 0 }, c = { 0 };
	struct tg_rcptv_q *qb;

	(void)state;
	w.v = verifier(0);
	assert_non_null(tg_rcptv_ask(w.v, &w.route, "good@example.test",
	    on_answer, &a, &now));
	qb = tg_rcptv_ask(w.v, &w.route, "Good@example.test", on_answer, &b,
	    &now);
	assert_non_null(qb);
	assert_non_null(tg_rcptv_ask(w.v, &w.route, "good@EXAMPLE.test",
	    on_answer, &c, &now));
	tg_rcptv_cancel(w.v, qb);
	run_until(&a, 1);
	run_until(&c, 1);
	run_for(50);
	assert_int_equal(b.n, 0);
	assert_int_equal(a.r[0].answer, TG_RCPTV_TAKEN);
	assert_int_equal(c.r[0].answer, TG_RCPTV_TAKEN);
	assert_int_equal(F.accepts, 1);
	assert_int_equal(F.n_rcpt, 1);
}

/* A server that does not answer RCPT: unknown within the budget, and the
 * connection is closed. */
static void
test_budget(void **state)
{
	struct tg_rcptv_result now;
	struct answers a = { 0 };
	struct timeval t0, t1;
	long ms;

	(void)state;
	w.v = verifier(300);
	gettimeofday(&t0, NULL);
	assert_non_null(ask("slow@example.test", &a, &now));
	run_until(&a, 1);
	gettimeofday(&t1, NULL);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) /
	    1000;
	assert_int_equal(a.r[0].answer, TG_RCPTV_UNKNOWN);
	assert_true(ms >= 250 && ms < 2000);
	run_for(100);
	assert_int_equal(F.open, 0);
}

/* The budget counts from the question: one that waits for a turn
 * behind probes that hang is answered unknown in time too. */
static void
test_budget_waiting(void **state)
{
	struct tg_rcptv_result now;
	struct answers a = { 0 };
	struct tg_rcptv_stats st;
	struct timeval t0, t1;
	char addr[64];
	long ms;
	int i;

	(void)state;
	w.v = verifier(500);
	for (i = 0; i <= TG_RCPTV_ACTIVE_MAX; i++) {
		snprintf(addr, sizeof(addr), "slow%d@example.test", i);
		assert_non_null(ask(addr, &a, &now));
	}
	tg_rcptv_stats(w.v, &st);
	assert_int_equal(st.waiting, 1);
	gettimeofday(&t0, NULL);
	run_until(&a, TG_RCPTV_ACTIVE_MAX + 1);
	gettimeofday(&t1, NULL);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) /
	    1000;
	/* Not 500 ms more for the last one: one budget for all. */
	assert_true(ms >= 450 && ms < 850);
	for (i = 0; i <= TG_RCPTV_ACTIVE_MAX; i++)
		assert_int_equal(a.r[i].answer, TG_RCPTV_UNKNOWN);
	tg_rcptv_stats(w.v, &st);
	assert_int_equal(st.active + st.waiting, 0);
}

/* No server: unknown, not cached. */
static void
test_unreachable(void **state)
{
	struct tg_rcptv_result now;
	struct answers a = { 0 };
	struct tg_rcptv_stats st;

	(void)state;
	w.v = verifier(2000);
	fake_stop(&F);
	assert_non_null(ask("good@example.test", &a, &now));
	run_until(&a, 1);
	assert_int_equal(a.r[0].answer, TG_RCPTV_UNKNOWN);
	assert_non_null(strstr(a.r[0].text, "connect"));
	tg_rcptv_stats(w.v, &st);
	assert_int_equal(st.entries, 0);
}

/* At most TG_RCPTV_ACTIVE_MAX probes at once; the rest wait their turn
 * and are all answered. */
static void
test_concurrency(void **state)
{
	struct tg_rcptv_result now;
	struct answers a = { 0 };
	struct tg_rcptv_stats st;
	char addr[64];
	int i, n = TG_RCPTV_ACTIVE_MAX + 10;

	(void)state;
	w.v = verifier(0);
	for (i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "good%d@example.test", i);
		assert_non_null(ask(addr, &a, &now));
	}
	tg_rcptv_stats(w.v, &st);
	assert_int_equal(st.active, TG_RCPTV_ACTIVE_MAX);
	assert_int_equal(st.waiting, 10);
	run_until(&a, n);
	for (i = 0; i < n; i++)
		assert_int_equal(a.r[i].answer, TG_RCPTV_TAKEN);
	assert_true(F.max_busy <= TG_RCPTV_ACTIVE_MAX);
	assert_true(F.max_busy >= TG_RCPTV_ACTIVE_MAX / 2);
	assert_int_equal(F.accepts, n);
}

/* A route given by name is looked up (A, then AAAA); a name without an
 * address is unknown. */
static void
test_route_name(void **state)
{
	struct tg_rcptv_result now;
	struct answers a = { 0 };
	struct tg_err err;

	(void)state;
	w.v = verifier(0);
	assert_int_equal(tg_resolver_fake_add(w.res, "mail.internal.test",
	    TG_DNS_T_A, TG_DNS_OK, TG_DNS_INSECURE, "127.0.0.1", &err), 0);
	snprintf(w.route.host, sizeof(w.route.host), "mail.internal.test");
	assert_non_null(ask("good@example.test", &a, &now));
	run_until(&a, 1);
	assert_int_equal(a.r[0].answer, TG_RCPTV_TAKEN);
	assert_int_equal(tg_resolver_fake_add(w.res, "none.internal.test",
	    TG_DNS_T_A, TG_DNS_NXDOMAIN, TG_DNS_INSECURE, NULL, &err), 0);
	assert_int_equal(tg_resolver_fake_add(w.res, "none.internal.test",
	    TG_DNS_T_AAAA, TG_DNS_NXDOMAIN, TG_DNS_INSECURE, NULL, &err), 0);
	snprintf(w.route.host, sizeof(w.route.host), "none.internal.test");
	assert_non_null(ask("good2@example.test", &a, &now));
	run_until(&a, 2);
	assert_int_equal(a.r[1].answer, TG_RCPTV_UNKNOWN);
	assert_non_null(strstr(a.r[1].text, "no address"));
	assert_int_equal(tg_resolver_fake_count(w.res, "none.internal.test",
	    TG_DNS_T_AAAA), 1);
}

/* Freeing with probes running and waiting: no answer comes, nothing is
 * left (AddressSanitizer checks the memory). */
static void
test_free_busy(void **state)
{
	struct tg_rcptv_result now;
	struct answers a = { 0 };
	char addr[64];
	int i;

	(void)state;
	w.v = verifier(0);
	for (i = 0; i < TG_RCPTV_ACTIVE_MAX + 5; i++) {
		snprintf(addr, sizeof(addr), "slow%d@example.test", i);
		ask(addr, &a, &now);
	}
	run_for(100);
	tg_rcptv_free(w.v);
	w.v = NULL;
	run_for(100);
	assert_int_equal(a.n, 0);
}

/* A connection still saying QUIT when the verifier goes: freed with it
 * (LeakSanitizer would see it otherwise), and counted until then. */
static void
test_free_lingering(void **state)
{
	struct tg_rcptv_result now;
	struct answers a = { 0 };
	struct tg_rcptv_stats st;
	int i;

	(void)state;
	w.v = verifier(0);
	assert_non_null(ask("good@example.test", &a, &now));
	/* The answer, and not one turn more: QUIT is on its way. */
	for (i = 0; i < 1000 && a.n == 0; i++)
		event_base_loop(w.base, EVLOOP_ONCE);
	assert_int_equal(a.n, 1);
	tg_rcptv_stats(w.v, &st);
	assert_int_equal(st.closing, 1);
	tg_rcptv_free(w.v);
	w.v = NULL;
}

#define CT(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		CT(test_answers),
		CT(test_cache),
		CT(test_cache_bound),
		CT(test_shared_and_cancel),
		CT(test_budget),
		CT(test_budget_waiting),
		CT(test_unreachable),
		CT(test_concurrency),
		CT(test_route_name),
		CT(test_free_busy),
		CT(test_free_lingering),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
