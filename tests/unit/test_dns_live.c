/*
 * The libunbound resolver against the lab's signed zone tree (tests/net):
 * run by tests/integration/dns_live.sh after `tg_net_up dns`, which
 * exports TG_NET_TA_FILE (the DS of "test."), TG_NET_DNS_ADDR and
 * TG_NET_DNS_PORT (Knot). Each question goes straight to Knot through a
 * stub zone, and libunbound validates from the trust anchor.
 *
 * Without those variables (a plain unit-test run) there is nothing to
 * test against, and the program runs no case at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "dns/resolver.h"

struct live_case {
	const char *name;
	uint16_t type;
	enum tg_dns_status status;
	enum tg_dns_security security;
	const char *canon;
	size_t ncname;
	const char *first;	/* first record in text form, or NULL */
};

/* The zones are described in tests/net/dns.sh. */
static const struct live_case cases[] = {
	{ "dane-ok.test", TG_DNS_T_MX, TG_DNS_OK, TG_DNS_SECURE,
	    "dane-ok.test", 0, "10 mx.dane-ok.test" },
	{ "mx.dane-ok.test", TG_DNS_T_A, TG_DNS_OK, TG_DNS_SECURE,
	    "mx.dane-ok.test", 0, "127.0.1.1" },
	{ "_25._tcp.mx.dane-ok.test", TG_DNS_T_TLSA, TG_DNS_OK, TG_DNS_SECURE,
	    "_25._tcp.mx.dane-ok.test", 0, NULL },
	{ "nothing-here.dane-ok.test", TG_DNS_T_A, TG_DNS_NXDOMAIN,
	    TG_DNS_SECURE, "nothing-here.dane-ok.test", 0, NULL },
	{ "dane-ok.test", TG_DNS_T_TLSA, TG_DNS_NODATA, TG_DNS_SECURE,
	    "dane-ok.test", 0, NULL },
	{ "_smtp._tls.dane-ok.test", TG_DNS_T_TXT, TG_DNS_OK, TG_DNS_SECURE,
	    "_smtp._tls.dane-ok.test", 0,
	    "v=TLSRPTv1; rua=mailto:tlsrpt@sts.test" },
	{ "insecure.test", TG_DNS_T_MX, TG_DNS_OK, TG_DNS_INSECURE,
	    "insecure.test", 0, "10 mx.insecure.test" },
	{ "mx.insecure.test", TG_DNS_T_A, TG_DNS_OK, TG_DNS_INSECURE,
	    "mx.insecure.test", 0, "127.0.1.3" },
	{ "bogus.test", TG_DNS_T_MX, TG_DNS_OK, TG_DNS_BOGUS,
	    "bogus.test", 0, NULL },
	{ "nullmx.test", TG_DNS_T_MX, TG_DNS_OK, TG_DNS_SECURE,
	    "nullmx.test", 0, "0 ." },
	{ "mx.cname.test", TG_DNS_T_A, TG_DNS_OK, TG_DNS_SECURE,
	    "mx.cname-target.test", 1, "127.0.1.6" },
	{ "_mta-sts.sts.test", TG_DNS_T_TXT, TG_DNS_OK, TG_DNS_INSECURE,
	    "_mta-sts.sts.test", 0, NULL },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static struct tg_dns_answer *answers[NCASES];

/* The first record of ans in text form. */
static void
first_text(const struct tg_dns_answer *ans, char *out, size_t len)
{
	struct tg_dns_mx mx;

	assert_true(ans->nrr > 0);
	switch (ans->qtype) {
	case TG_DNS_T_MX:
		assert_int_equal(tg_dns_mx_parse(ans->rr[0].data,
		    ans->rr[0].len, &mx, NULL), 0);
		snprintf(out, len, "%u %s", mx.pref, mx.exchange);
		break;
	case TG_DNS_T_A:
		assert_int_equal(tg_dns_addr_text(TG_DNS_T_A, ans->rr[0].data,
		    ans->rr[0].len, out, len, NULL), 0);
		break;
	default:
		assert_int_equal(tg_dns_txt_join(ans->rr[0].data,
		    ans->rr[0].len, out, len, NULL, NULL), 0);
		break;
	}
}

/* All questions at once, through the synchronous helper. */
static int
setup_live(void **state)
{
	struct tg_resolver_config cfg;
	struct tg_dns_question qs[NCASES];
	char stub[128];
	struct tg_err err;
	size_t i;

	(void)state;
	tg_resolver_config_init(&cfg);
	cfg.timeout_s = 5;
	snprintf(cfg.trust_anchor_file, sizeof(cfg.trust_anchor_file), "%s",
	    getenv("TG_NET_TA_FILE"));
	snprintf(stub, sizeof(stub), "test.=%s@%s", getenv("TG_NET_DNS_ADDR"),
	    getenv("TG_NET_DNS_PORT"));
	if (tg_resolver_config_add_stub(&cfg, stub, &err) == -1) {
		fprintf(stderr, "stub: %s\n", err.msg);
		return -1;
	}
	for (i = 0; i < NCASES; i++)
		qs[i] = (struct tg_dns_question){ cases[i].name,
		    cases[i].type };
	if (tg_dns_resolve_sync(&cfg, qs, NCASES, answers, &err) == -1) {
		fprintf(stderr, "resolve: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int
teardown_live(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NCASES; i++)
		tg_dns_answer_free(answers[i]);
	return 0;
}

static void
test_live_answers(void **state)
{
	char text[512];
	size_t i;

	(void)state;
	for (i = 0; i < NCASES; i++) {
		const struct live_case *c = &cases[i];
		const struct tg_dns_answer *a = answers[i];

		print_message("# %s/%s: %s, %s%s%s%s\n", c->name,
		    tg_dns_type_name(c->type), tg_dns_status_name(a->status),
		    tg_dns_security_name(a->security),
		    a->why_bogus[0] ? " — " : "", a->why_bogus, a->error);
		assert_int_equal(a->status, c->status);
		assert_int_equal(a->security, c->security);
		assert_string_equal(a->canon, c->canon);
		assert_int_equal(a->ncname, c->ncname);
		if (c->security == TG_DNS_BOGUS)
			assert_true(a->why_bogus[0] != '\0');
		if (c->status == TG_DNS_OK)
			assert_true(a->ttl > 0 && a->ttl <= 60);
		if (c->first == NULL)
			continue;
		first_text(a, text, sizeof(text));
		assert_string_equal(text, c->first);
	}
}

/* The CNAME link of mx.cname.test, and the null MX helper. */
static void
test_live_details(void **state)
{
	const struct tg_dns_answer *cn = answers[10], *nm = answers[9];
	struct tg_dns_mx mx[2];
	size_t n;

	(void)state;
	assert_string_equal(cn->cname[0].owner, "mx.cname.test");
	assert_string_equal(cn->cname[0].target, "mx.cname-target.test");
	assert_int_equal(tg_dns_answer_mx(nm, mx, 2, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_true(mx[0].is_null);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_answers),
		cmocka_unit_test(test_live_details),
	};

	if (getenv("TG_NET_TA_FILE") == NULL ||
	    getenv("TG_NET_DNS_ADDR") == NULL ||
	    getenv("TG_NET_DNS_PORT") == NULL) {
		printf("1..0 # lab network not up: run by "
		    "tests/integration/dns_live.sh\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup_live, teardown_live);
}
