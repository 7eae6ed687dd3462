/*
 * Unit tests of util/cidr: parsing, canonical form, host-bit refusal and
 * address matching, table-driven.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "util/cidr.h"

struct norm_case {
	const char *in;
	const char *out;	/* NULL: must be refused */
	const char *msg;	/* substring of the error, when refused */
};

static const struct norm_case norm_cases[] = {
	{ "192.0.2.0/24", "192.0.2.0/24", NULL },
	{ "10.0.0.0/8", "10.0.0.0/8", NULL },
	{ "0.0.0.0/0", "0.0.0.0/0", NULL },
	{ "192.0.2.7", "192.0.2.7/32", NULL },
	{ "192.0.2.7/32", "192.0.2.7/32", NULL },
	{ "172.16.0.0/12", "172.16.0.0/12", NULL },
	{ "2001:DB8::/32", "2001:db8::/32", NULL },
	{ "2001:0db8:0000:0000:0000:0000:0000:0000/32", "2001:db8::/32", NULL },
	{ "::1", "::1/128", NULL },
	{ "::/0", "::/0", NULL },
	{ "fe80::/10", "fe80::/10", NULL },
	{ "2001:db8:0:1:0:0:0:0/64", "2001:db8:0:1::/64", NULL },
	{ "::ffff:192.0.2.0/120", "::ffff:192.0.2.0/120", NULL },
	{ "192.0.2.1/24", NULL, "host bits set; the network is 192.0.2.0/24" },
	{ "10.1.2.3/8", NULL, "the network is 10.0.0.0/8" },
	{ "2001:db8::1/64", NULL, "the network is 2001:db8::/64" },
	{ "fe80::1/9", NULL, "the network is fe80::/9" },
	{ "192.0.2.0/33", NULL, "longer than 32" },
	{ "2001:db8::/129", NULL, "longer than 128" },
	{ "192.0.2.0/", NULL, "missing prefix" },
	{ "192.0.2.0/024", NULL, "leading zero" },
	{ "192.0.2.0/+8", NULL, "not a number" },
	{ "192.0.2.0/2a", NULL, "not a number" },
	{ "192.0.2.0/1000", NULL, "not a number" },
	{ "192.0.2.0/24/8", NULL, "not a number" },
	{ "010.0.0.0/8", NULL, "not an IPv4 or IPv6 address" },
	{ "192.0.2", NULL, "not an IPv4 or IPv6 address" },
	{ "192.0.2.256", NULL, "not an IPv4 or IPv6 address" },
	{ "fe80::1%eth0", NULL, "not an IPv4 or IPv6 address" },
	{ "example.org/24", NULL, "not an IPv4 or IPv6 address" },
	{ " 192.0.2.0/24", NULL, "not an IPv4 or IPv6 address" },
	{ "/24", NULL, "not an IPv4 or IPv6 address" },
	{ "", NULL, "empty network" },
	{ "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb/128", NULL,
	  "longer than" },
};

static void
test_cidr_normalize_table(void **state)
{
	char out[TG_CIDR_TEXT_MAX + 1];
	struct tg_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
		const struct norm_case *c = &norm_cases[i];
		int rc = tg_cidr_normalize(c->in, out, sizeof(out), &err);

		if (c->out != NULL) {
			if (rc != 0)
				fail_msg("'%s' refused: %s", c->in, err.msg);
			assert_string_equal(out, c->out);
			continue;
		}
		if (rc != -1)
			fail_msg("'%s' accepted as '%s'", c->in, out);
		assert_int_equal(err.cls, TG_ERR_PERM);
		if (strstr(err.msg, c->msg) == NULL)
			fail_msg("'%s': message '%s' lacks '%s'", c->in,
			    err.msg, c->msg);
	}
}

static void
test_cidr_canonical_is_fixed_point(void **state)
{
	char once[TG_CIDR_TEXT_MAX + 1], twice[TG_CIDR_TEXT_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
		if (norm_cases[i].out == NULL)
			continue;
		assert_int_equal(tg_cidr_normalize(norm_cases[i].in, once,
		    sizeof(once), NULL), 0);
		assert_int_equal(tg_cidr_normalize(once, twice, sizeof(twice),
		    NULL), 0);
		assert_string_equal(once, twice);
	}
}

struct match_case {
	const char *net;
	const char *addr;
	int want;
};

static const struct match_case match_cases[] = {
	{ "192.0.2.0/24", "192.0.2.0", 1 },
	{ "192.0.2.0/24", "192.0.2.255", 1 },
	{ "192.0.2.0/24", "192.0.3.0", 0 },
	{ "192.0.2.0/25", "192.0.2.127", 1 },
	{ "192.0.2.0/25", "192.0.2.128", 0 },
	{ "10.0.0.0/8", "10.255.1.2", 1 },
	{ "10.0.0.0/8", "11.0.0.1", 0 },
	{ "0.0.0.0/0", "203.0.113.9", 1 },
	{ "0.0.0.0/0", "2001:db8::1", 0 },
	{ "192.0.2.7", "192.0.2.7", 1 },
	{ "192.0.2.7", "192.0.2.6", 0 },
	{ "192.0.2.0/24", "::ffff:192.0.2.44", 1 },
	{ "192.0.2.0/24", "::ffff:192.0.3.44", 0 },
	{ "192.0.2.0/24", "::192.0.2.44", 0 },
	{ "2001:db8::/32", "2001:db8:ffff::1", 1 },
	{ "2001:db8::/32", "2001:db9::1", 0 },
	{ "2001:db8::/33", "2001:db8:7fff::1", 1 },
	{ "2001:db8::/33", "2001:db8:8000::1", 0 },
	{ "::/0", "::1", 1 },
	{ "::/0", "127.0.0.1", 0 },
	{ "::1", "::1", 1 },
};

static void
test_cidr_contains_table(void **state)
{
	unsigned char addr[16];
	struct tg_cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *m = &match_cases[i];
		int family = strchr(m->addr, ':') != NULL ? AF_INET6 : AF_INET;

		assert_int_equal(tg_cidr_parse(m->net, &c, NULL), 0);
		assert_int_equal(inet_pton(family, m->addr, addr), 1);
		if (tg_cidr_contains(&c, family, addr) != m->want)
			fail_msg("%s in %s: expected %d", m->addr, m->net,
			    m->want);
	}
}

static void
test_cidr_parse_fields(void **state)
{
	struct tg_cidr c;
	char small[8];

	(void)state;
	assert_int_equal(tg_cidr_parse("2001:db8::/48", &c, NULL), 0);
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(c.prefix, 48);
	assert_int_equal(c.addr[0], 0x20);
	assert_int_equal(c.addr[1], 0x01);
	assert_int_equal(tg_cidr_parse("198.51.100.0/22", &c, NULL), 0);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 22);
	assert_int_equal(c.addr[2], 100);
	tg_cidr_format(&c, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_normalize_table),
		cmocka_unit_test(test_cidr_canonical_is_fixed_point),
		cmocka_unit_test(test_cidr_contains_table),
		cmocka_unit_test(test_cidr_parse_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
