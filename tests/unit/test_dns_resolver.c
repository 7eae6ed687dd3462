/*
 * Unit tests of the resolver: the shared query machinery (asynchronous
 * delivery, cancel, timeout, free from a callback), the fake resolver's
 * scripts, and the libunbound resolver without any network — set-up,
 * trust anchor checks, a local answer, and a stub zone that does not
 * answer ending as a temporary failure within the timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/dns.h"
#include "dns/resolver.h"
#include "dns/resolver_fake.h"
#include "dns/resolver_impl.h"
#include "dns/resolver_unbound.h"
#include "util/clock.h"

/* A captured callback. */
struct got {
	int calls;
	struct tg_dns_answer *ans;	/* copy of the last answer */
	struct tg_resolver *r;		/* for callbacks that act on r */
	struct tg_dns_query *self;	/* for cancel-inside-callback */
	struct tg_dns_query *other;	/* a query to cancel */
	int free_resolver;
};

static void
got_cb(const struct tg_dns_answer *ans, void *arg)
{
	struct got *g = arg;

	g->calls++;
	tg_dns_answer_free(g->ans);
	g->ans = tg_dns_answer_dup(ans);
	if (g->self != NULL)
		tg_resolver_cancel(g->r, g->self);
	if (g->other != NULL)
		tg_resolver_cancel(g->r, g->other);
	if (g->free_resolver) {
		tg_resolver_free(g->r);
		g->r = NULL;
	}
}

static void
got_clear(struct got *g)
{
	tg_dns_answer_free(g->ans);
	memset(g, 0, sizeof(*g));
}

/* Run base until pending reaches 0 or a second passes. */
static void
drain(struct event_base *base, const struct tg_resolver *r)
{
	long long end = tg_clock_mono_ms() + 1000;

	while ((r == NULL || tg_resolver_pending(r) > 0) &&
	    tg_clock_mono_ms() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

/* --- The fake --- */

static void
test_fake_async_answer(void **state)
{
	struct event_base *base = event_base_new();
	struct tg_resolver *r = tg_resolver_fake_new(base);
	struct tg_dns_mx mx[4];
	struct got g = { 0 };
	struct tg_err err;
	size_t n;

	(void)state;
	assert_int_equal(tg_resolver_fake_add(r, "Example.ORG.", TG_DNS_T_MX,
	    TG_DNS_OK, TG_DNS_SECURE, "20 mx2.example.org.\n"
	    "10 mx1.example.org.", &err), 0);
	assert_non_null(tg_resolver_query(r, "example.org", TG_DNS_T_MX,
	    got_cb, &g, &err));
	/* Never inside tg_resolver_query(). */
	assert_int_equal(g.calls, 0);
	assert_int_equal(tg_resolver_pending(r), 1);
	drain(base, r);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.ans->status, TG_DNS_OK);
	assert_int_equal(g.ans->security, TG_DNS_SECURE);
	assert_string_equal(g.ans->qname, "example.org");
	assert_int_equal(tg_dns_answer_mx(g.ans, mx, 4, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(mx[0].exchange, "mx1.example.org");
	assert_int_equal(tg_resolver_fake_count(r, "EXAMPLE.org",
	    TG_DNS_T_MX), 1);
	assert_int_equal(tg_resolver_fake_count(r, "example.org",
	    TG_DNS_T_TLSA), 0);
	got_clear(&g);
	tg_resolver_free(r);
	event_base_free(base);
}

struct fake_case {
	const char *what;
	const char *name;
	uint16_t type;
	enum tg_dns_status status;
	enum tg_dns_security security;
	size_t nrr;
	size_t ncname;
	const char *canon;
};

static const struct fake_case fake_cases[] = {
	{ "null MX", "null.example", TG_DNS_T_MX, TG_DNS_OK, TG_DNS_SECURE,
	    1, 0, "null.example" },
	{ "secure NODATA", "nodata.example", TG_DNS_T_MX, TG_DNS_NODATA,
	    TG_DNS_SECURE, 0, 0, "nodata.example" },
	{ "insecure NXDOMAIN", "nx.example", TG_DNS_T_MX, TG_DNS_NXDOMAIN,
	    TG_DNS_INSECURE, 0, 0, "nx.example" },
	{ "bogus TLSA", "_25._tcp.mx.example", TG_DNS_T_TLSA, TG_DNS_OK,
	    TG_DNS_BOGUS, 1, 0, "_25._tcp.mx.example" },
	{ "scripted failure", "fail.example", TG_DNS_T_A, TG_DNS_TEMPFAIL,
	    TG_DNS_INDETERMINATE, 0, 0, "fail.example" },
	{ "unscripted", "unknown.example", TG_DNS_T_A, TG_DNS_TEMPFAIL,
	    TG_DNS_INDETERMINATE, 0, 0, "unknown.example" },
	{ "secure chain", "alias.example", TG_DNS_T_A, TG_DNS_OK,
	    TG_DNS_SECURE, 2, 1, "host.example" },
	{ "insecure link makes the chain insecure", "alias2.example",
	    TG_DNS_T_A, TG_DNS_OK, TG_DNS_INSECURE, 2, 2, "host.example" },
	{ "chain to nowhere", "dangling.example", TG_DNS_T_A,
	    TG_DNS_TEMPFAIL, TG_DNS_INDETERMINATE, 0, 0, "dangling.example" },
	{ "loop", "loop1.example", TG_DNS_T_A, TG_DNS_TEMPFAIL,
	    TG_DNS_INDETERMINATE, 0, 0, "loop1.example" },
};

static void
fake_script(struct tg_resolver *r)
{
	static const struct {
		const char *name;
		uint16_t type;
		enum tg_dns_status st;
		enum tg_dns_security sec;
		const char *rdata;
	} s[] = {
		{ "null.example", TG_DNS_T_MX, TG_DNS_OK, TG_DNS_SECURE,
		    "0 ." },
		{ "nodata.example", TG_DNS_T_MX, TG_DNS_NODATA, TG_DNS_SECURE,
		    NULL },
		{ "nx.example", TG_DNS_T_MX, TG_DNS_NXDOMAIN, TG_DNS_INSECURE,
		    "" },
		{ "_25._tcp.mx.example", TG_DNS_T_TLSA, TG_DNS_OK,
		    TG_DNS_BOGUS, "3 1 1 0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef" },
		{ "fail.example", TG_DNS_T_A, TG_DNS_TEMPFAIL,
		    TG_DNS_INDETERMINATE, NULL },
		{ "host.example", TG_DNS_T_A, TG_DNS_OK, TG_DNS_SECURE,
		    "192.0.2.1\n192.0.2.2" },
		{ "alias.example", TG_DNS_T_CNAME, TG_DNS_OK, TG_DNS_SECURE,
		    "host.example." },
		{ "alias2.example", TG_DNS_T_CNAME, TG_DNS_OK,
		    TG_DNS_INSECURE, "alias.example." },
		{ "dangling.example", TG_DNS_T_CNAME, TG_DNS_OK, TG_DNS_SECURE,
		    "gone.example." },
		{ "loop1.example", TG_DNS_T_CNAME, TG_DNS_OK, TG_DNS_SECURE,
		    "loop2.example." },
		{ "loop2.example", TG_DNS_T_CNAME, TG_DNS_OK, TG_DNS_SECURE,
		    "loop1.example." },
	};
	struct tg_err err;
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		assert_int_equal(tg_resolver_fake_add(r, s[i].name, s[i].type,
		    s[i].st, s[i].sec, s[i].rdata, &err), 0);
}

static void
test_fake_table(void **state)
{
	struct event_base *base = event_base_new();
	struct tg_resolver *r = tg_resolver_fake_new(base);
	size_t i;

	(void)state;
	fake_script(r);
	for (i = 0; i < sizeof(fake_cases) / sizeof(fake_cases[0]); i++) {
		const struct fake_case *c = &fake_cases[i];
		struct got g = { 0 };

		print_message("# %s\n", c->what);
		assert_non_null(tg_resolver_query(r, c->name, c->type, got_cb,
		    &g, NULL));
		drain(base, r);
		assert_int_equal(g.calls, 1);
		assert_int_equal(g.ans->status, c->status);
		assert_int_equal(g.ans->security, c->security);
		assert_int_equal(g.ans->nrr, c->nrr);
		assert_int_equal(g.ans->ncname, c->ncname);
		assert_string_equal(g.ans->canon, c->canon);
		assert_int_equal(g.ans->security == TG_DNS_BOGUS,
		    g.ans->why_bogus[0] != '\0');
		assert_int_equal(g.ans->status == TG_DNS_TEMPFAIL,
		    g.ans->error[0] != '\0');
		got_clear(&g);
	}
	tg_resolver_free(r);
	event_base_free(base);
}

static void
test_fake_bad_scripts(void **state)
{
	struct event_base *base = event_base_new();
	struct tg_resolver *r = tg_resolver_fake_new(base);
	struct tg_resolver *u;
	struct tg_resolver_config cfg;
	struct tg_err err;

	(void)state;
	assert_int_equal(tg_resolver_fake_add(r, "example.org", TG_DNS_T_MX,
	    TG_DNS_OK, TG_DNS_SECURE, "mx.example.org.", &err), -1);
	assert_int_equal(tg_resolver_fake_add(r, "example.org", TG_DNS_T_A,
	    TG_DNS_OK, TG_DNS_SECURE, "192.0.2.300", &err), -1);
	assert_int_equal(tg_resolver_fake_add(r, "bad name", TG_DNS_T_A,
	    TG_DNS_OK, TG_DNS_SECURE, "192.0.2.1", &err), -1);
	/* Only fakes take scripts. */
	tg_resolver_config_init(&cfg);
	u = tg_resolver_unbound_new(base, &cfg, &err);
	assert_non_null(u);
	assert_int_equal(tg_resolver_fake_add(u, "example.org", TG_DNS_T_A,
	    TG_DNS_OK, TG_DNS_SECURE, "192.0.2.1", &err), -1);
	assert_int_equal(err.cls, TG_ERR_BUG);
	tg_resolver_free(u);
	/* A bad query name is refused at once. */
	assert_null(tg_resolver_query(r, "a..b", TG_DNS_T_A, got_cb, NULL,
	    &err));
	assert_null(tg_resolver_query(r, "", TG_DNS_T_A, got_cb, NULL, &err));
	assert_int_equal(tg_resolver_pending(r), 0);
	tg_resolver_free(r);
	event_base_free(base);
}

static void
test_cancel_and_free(void **state)
{
	struct event_base *base = event_base_new();
	struct tg_resolver *r = tg_resolver_fake_new(base);
	struct got a = { 0 }, b = { 0 }, c = { 0 };
	struct tg_dns_query *qa, *qb, *qc;

	(void)state;
	qa = tg_resolver_query(r, "a.example", TG_DNS_T_A, got_cb, &a, NULL);
	qb = tg_resolver_query(r, "b.example", TG_DNS_T_A, got_cb, &b, NULL);
	qc = tg_resolver_query(r, "c.example", TG_DNS_T_A, got_cb, &c, NULL);
	assert_non_null(qa);
	assert_non_null(qb);
	assert_non_null(qc);
	tg_resolver_cancel(r, qb);
	assert_int_equal(tg_resolver_pending(r), 2);
	/* Whichever of a and c is delivered first cancels itself (a no-op
	 * inside its own callback) and the other one. */
	a.r = c.r = r;
	a.self = qa;
	a.other = qc;
	c.self = qc;
	c.other = qa;
	drain(base, r);
	assert_int_equal(b.calls, 0);
	assert_int_equal(a.calls + c.calls, 1);
	assert_int_equal(tg_resolver_pending(r), 0);
	got_clear(&a);
	got_clear(&c);
	/* Freeing with queries outstanding: no callback, nothing leaks. */
	assert_non_null(tg_resolver_query(r, "a.example", TG_DNS_T_A, got_cb,
	    &a, NULL));
	tg_resolver_free(r);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(a.calls, 0);
	event_base_free(base);
}

/* A callback that frees the resolver stops the other callbacks. */
static void
test_free_inside_callback(void **state)
{
	struct event_base *base = event_base_new();
	struct tg_resolver *r = tg_resolver_fake_new(base);
	struct got g[3];
	long long end;
	int i, total = 0;

	(void)state;
	memset(g, 0, sizeof(g));
	for (i = 0; i < 3; i++) {
		g[i].r = r;
		g[i].free_resolver = 1;
		assert_non_null(tg_resolver_query(r, "x.example", TG_DNS_T_A,
		    got_cb, &g[i], NULL));
	}
	end = tg_clock_mono_ms() + 300;
	while (tg_clock_mono_ms() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	for (i = 0; i < 3; i++) {
		total += g[i].calls;
		got_clear(&g[i]);
	}
	assert_int_equal(total, 1);
	event_base_free(base);
}

/* --- Timeout, with an implementation that never answers --- */

static int never_stopped;

static int
never_start(void *impl, struct tg_dns_query *q, struct tg_err *err)
{
	(void)impl;
	(void)q;
	(void)err;
	return 0;
}

static void
never_stop(void *impl, struct tg_dns_query *q)
{
	(void)impl;
	(void)q;
	never_stopped++;
}

static void
never_free(void *impl)
{
	(void)impl;
}

static const struct tg_resolver_ops never_ops = {
	"never", never_start, never_stop, never_free
};

static void
test_timeout(void **state)
{
	struct event_base *base = event_base_new();
	struct tg_resolver *r = tg_resolver_new(&never_ops, NULL, base, 1);
	struct got g = { 0 };
	long long t0 = tg_clock_mono_ms(), dt;

	(void)state;
	never_stopped = 0;
	assert_non_null(tg_resolver_query(r, "slow.example", TG_DNS_T_MX,
	    got_cb, &g, NULL));
	while (g.calls == 0 && tg_clock_mono_ms() - t0 < 3000)
		event_base_loop(base, EVLOOP_ONCE);
	dt = tg_clock_mono_ms() - t0;
	assert_int_equal(g.calls, 1);
	assert_int_equal(never_stopped, 1);
	assert_true(dt >= 900 && dt < 2500);
	assert_int_equal(g.ans->status, TG_DNS_TEMPFAIL);
	assert_int_equal(g.ans->security, TG_DNS_INDETERMINATE);
	assert_non_null(strstr(g.ans->error, "no answer within 1 s"));
	got_clear(&g);
	tg_resolver_free(r);
	event_base_free(base);
}

/* tg_resolver_run on the fake: answers in question order. */
static void
test_run_batch(void **state)
{
	struct event_base *base = event_base_new();
	struct tg_resolver *r = tg_resolver_fake_new(base);
	const struct tg_dns_question qs[] = {
		{ "host.example", TG_DNS_T_A },
		{ "nx.example", TG_DNS_T_MX },
		{ "nothing.example", TG_DNS_T_TXT },
	};
	struct tg_dns_answer *out[3];
	struct tg_err err;
	const struct tg_dns_question bad[] = { { "a..b", TG_DNS_T_A } };

	(void)state;
	fake_script(r);
	assert_int_equal(tg_resolver_run(r, qs, 3, out, 2000, &err), 0);
	assert_int_equal(out[0]->status, TG_DNS_OK);
	assert_int_equal(out[0]->nrr, 2);
	assert_int_equal(out[1]->status, TG_DNS_NXDOMAIN);
	assert_int_equal(out[2]->status, TG_DNS_TEMPFAIL);
	tg_dns_answer_free(out[0]);
	tg_dns_answer_free(out[1]);
	tg_dns_answer_free(out[2]);
	assert_int_equal(tg_resolver_run(r, bad, 1, out, 2000, &err), -1);
	assert_null(out[0]);
	assert_int_equal(tg_resolver_pending(r), 0);
	tg_resolver_free(r);
	event_base_free(base);
}

/* --- libunbound, no network --- */

static char tmpdir[64];

static int
setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tg-dns-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmp(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *name, const char *text, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The public root KSK-2017 as a DS record. */
#define ROOT_DS ". IN DS 20326 8 2 " \
    "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"

static void
test_unbound_trust_anchor(void **state)
{
	struct event_base *base = event_base_new();
	struct tg_resolver_config cfg;
	struct tg_resolver *r;
	struct tg_err err;

	(void)state;
	tg_resolver_config_init(&cfg);
	write_file("root.ds", "; comment\n" ROOT_DS, cfg.trust_anchor_file,
	    sizeof(cfg.trust_anchor_file));
	r = tg_resolver_unbound_new(base, &cfg, &err);
	assert_non_null(r);
	tg_resolver_free(r);
	/* An autotrust file, as unbound-anchor writes it. */
	write_file("root.autotrust", "; autotrust trust anchor file\n"
	    ";;id: . 1\n;;last_queried: 0\n"
	    ". 172800 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E8804"
	    "09BBC683457104237C7F8EC8D ;;state=2 [  VALID  ] ;;count=0\n",
	    cfg.trust_anchor_file, sizeof(cfg.trust_anchor_file));
	r = tg_resolver_unbound_new(base, &cfg, &err);
	assert_non_null(r);
	tg_resolver_free(r);
	/* Refused before any query. */
	write_file("empty", "; nothing here\n", cfg.trust_anchor_file,
	    sizeof(cfg.trust_anchor_file));
	assert_null(tg_resolver_unbound_new(base, &cfg, &err));
	assert_non_null(strstr(err.msg, "no DS or DNSKEY"));
	write_file("junk", "this is not a zone file\n",
	    cfg.trust_anchor_file, sizeof(cfg.trust_anchor_file));
	assert_null(tg_resolver_unbound_new(base, &cfg, &err));
	snprintf(cfg.trust_anchor_file, sizeof(cfg.trust_anchor_file),
	    "%s/missing", tmpdir);
	assert_null(tg_resolver_unbound_new(base, &cfg, &err));
	assert_non_null(strstr(err.msg, "missing"));
	event_base_free(base);
}

/*
 * "localhost" is answered by libunbound itself, inside ub_resolve_event;
 * the callback must still come from the event loop.
 */
static void
test_unbound_local_answer(void **state)
{
	struct event_base *base = event_base_new();
	struct tg_resolver_config cfg;
	struct tg_resolver *r;
	char addr[TG_DNS_ADDR_TEXT_SIZE];
	struct got g = { 0 };
	struct tg_err err;

	(void)state;
	tg_resolver_config_init(&cfg);
	r = tg_resolver_unbound_new(base, &cfg, &err);
	assert_non_null(r);
	assert_non_null(tg_resolver_query(r, "localhost", TG_DNS_T_A, got_cb,
	    &g, &err));
	assert_int_equal(g.calls, 0);
	drain(base, r);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.ans->status, TG_DNS_OK);
	assert_int_equal(g.ans->security, TG_DNS_INSECURE);
	assert_int_equal(tg_dns_addr_text(TG_DNS_T_A, g.ans->rr[0].data,
	    g.ans->rr[0].len, addr, sizeof(addr), NULL), 0);
	assert_string_equal(addr, "127.0.0.1");
	got_clear(&g);
	tg_resolver_free(r);
	event_base_free(base);
}

/*
 * A stub zone under test. whose server (port 9, discard) never answers.
 * Without removing libunbound's RFC 6761 local zone "test." the answer
 * would be an immediate NXDOMAIN; with it, the query goes out and ends as
 * a temporary failure when the timeout passes. No trust anchor, so no
 * query leaves for the root.
 */
static void
unbound_unreachable(const char *ta, const char *const *stubs,
    const char *name)
{
	struct event_base *base = event_base_new();
	struct tg_resolver_config cfg;
	struct tg_resolver *r;
	struct got g = { 0 };
	struct tg_err err;
	long long t0, dt;

	tg_resolver_config_init(&cfg);
	cfg.timeout_s = 1;
	if (ta != NULL)
		write_file("root.ds", ta, cfg.trust_anchor_file,
		    sizeof(cfg.trust_anchor_file));
	for (; *stubs != NULL; stubs++)
		assert_int_equal(tg_resolver_config_add_stub(&cfg, *stubs,
		    &err), 0);
	r = tg_resolver_unbound_new(base, &cfg, &err);
	assert_non_null(r);
	t0 = tg_clock_mono_ms();
	assert_non_null(tg_resolver_query(r, name, TG_DNS_T_A, got_cb, &g,
	    &err));
	while (g.calls == 0 && tg_clock_mono_ms() - t0 < 3000)
		event_base_loop(base, EVLOOP_ONCE);
	dt = tg_clock_mono_ms() - t0;
	assert_int_equal(g.calls, 1);
	print_message("# %s: %s after %lld ms: %s\n", name,
	    tg_dns_status_name(g.ans->status), dt, g.ans->error);
	assert_int_equal(g.ans->status, TG_DNS_TEMPFAIL);
	assert_int_equal(g.ans->security, TG_DNS_INDETERMINATE);
	assert_true(dt < 3000);
	got_clear(&g);
	/* Cancel one query in flight, and free the resolver with another
	 * still in flight: libunbound must not call back into freed
	 * memory (ASan watches). */
	tg_resolver_cancel(r, tg_resolver_query(r, name, TG_DNS_T_MX, got_cb,
	    &g, &err));
	assert_non_null(tg_resolver_query(r, name, TG_DNS_T_AAAA, got_cb, &g,
	    &err));
	event_base_loop(base, EVLOOP_NONBLOCK);
	tg_resolver_free(r);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(g.calls, 0);
	event_base_free(base);
}

static void
test_unbound_stub_unreachable(void **state)
{
	const char *stubs[] = { "example.test=127.0.0.1@9", NULL };

	(void)state;
	unbound_unreachable(NULL, stubs, "mx.example.test");
}

/* With a trust anchor, and the root itself stubbed to the dead port so
 * that validation asks nothing outside this host. */
static void
test_unbound_root_stub_unreachable(void **state)
{
	const char *stubs[] = { ".=127.0.0.1@9", NULL };

	(void)state;
	unbound_unreachable(ROOT_DS, stubs, "mx.example.test");
}

/* The synchronous helper, with one local and one unreachable name. */
static void
test_resolve_sync(void **state)
{
	struct tg_resolver_config cfg;
	const struct tg_dns_question qs[] = {
		{ "localhost", TG_DNS_T_A },
		{ "a.test", TG_DNS_T_MX },
	};
	struct tg_dns_answer *out[2];
	struct tg_err err;
	long long t0;

	(void)state;
	tg_resolver_config_init(&cfg);
	cfg.timeout_s = 1;
	assert_int_equal(tg_resolver_config_add_stub(&cfg, "test=127.0.0.1@9",
	    &err), 0);
	t0 = tg_clock_mono_ms();
	assert_int_equal(tg_dns_resolve_sync(&cfg, qs, 2, out, &err), 0);
	assert_true(tg_clock_mono_ms() - t0 < 3000);
	assert_int_equal(out[0]->status, TG_DNS_OK);
	assert_int_equal(out[1]->status, TG_DNS_TEMPFAIL);
	tg_dns_answer_free(out[0]);
	tg_dns_answer_free(out[1]);
	/* A bad trust anchor fails the whole call. */
	snprintf(cfg.trust_anchor_file, sizeof(cfg.trust_anchor_file),
	    "%s/missing", tmpdir);
	assert_int_equal(tg_dns_resolve_sync(&cfg, qs, 2, out, &err), -1);
	assert_null(out[0]);
	assert_null(out[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fake_async_answer),
		cmocka_unit_test(test_fake_table),
		cmocka_unit_test(test_fake_bad_scripts),
		cmocka_unit_test(test_cancel_and_free),
		cmocka_unit_test(test_free_inside_callback),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_run_batch),
		cmocka_unit_test(test_unbound_trust_anchor),
		cmocka_unit_test(test_unbound_local_answer),
		cmocka_unit_test(test_unbound_stub_unreachable),
		cmocka_unit_test(test_unbound_root_stub_unreachable),
		cmocka_unit_test(test_resolve_sync),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
