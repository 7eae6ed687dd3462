/*
 * Unit tests of core/conf: the documented example file against the key
 * table, strict parsing (a table of broken inputs with the message and
 * line each must produce), lists, quoting, value types, `config show` in
 * text and JSON, path lookup through $TLSGATE_CONF, loading files, and the
 * reload check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "dns/resolver_conf.h"
#include "core/log.h"
#include "util/buf.h"
#include "util/err.h"

#define EXAMPLE_FILE "etc/tlsgate.conf"

static struct tg_conf *
parse_ok(const char *text)
{
	struct tg_conf *conf = NULL;
	struct tg_err err;

	if (tg_conf_parse(text, strlen(text), "t.conf", &conf, &err) != 0)
		fail_msg("parse failed: %s\n--- input:\n%s", err.msg, text);
	assert_non_null(conf);
	return conf;
}

/* The `config show` text of conf, malloc'd. */
static char *
show(const struct tg_conf *conf, int json)
{
	struct tg_buf b;

	tg_buf_init(&b, 1 << 20);
	assert_int_equal(tg_conf_show(conf, json, &b), 0);
	return tg_buf_take(&b);
}

static char *
read_file(const char *path, size_t *len)
{
	struct tg_buf b;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		fail_msg("%s: %s (tests run from the source tree)", path,
		    strerror(errno));
	tg_buf_init(&b, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(tg_buf_append(&b, chunk, n), 0);
	fclose(f);
	*len = b.len;
	return tg_buf_take(&b);
}

static void
assert_same_conf(const struct tg_conf *a, const struct tg_conf *b)
{
	char *sa = show(a, 0), *sb = show(b, 0);

	assert_string_equal(sa, sb);
	free(sa);
	free(sb);
}

/* ---- the example file ------------------------------------------------ */

static void
test_example_file_gives_defaults(void **state)
{
	struct tg_conf *file, *defaults;
	struct tg_err err;
	size_t len;
	char *text;

	(void)state;
	text = read_file(EXAMPLE_FILE, &len);
	if (tg_conf_parse(text, len, EXAMPLE_FILE, &file, &err) != 0)
		fail_msg("%s", err.msg);
	defaults = parse_ok("");
	assert_same_conf(file, defaults);
	/* The defaults the documentation promises, spelled out. */
	assert_string_equal(file->state_dir, "/var/lib/tlsgate");
	assert_string_equal(file->spool_dir, "/var/spool/tlsgate");
	assert_string_equal(file->run_dir, "/run/tlsgate");
	assert_string_equal(file->user, "tlsgate");
	assert_int_equal(file->log_dest, TG_LOG_STDERR);
	assert_int_equal(file->log_level, TG_LOG_INFO);
	assert_int_equal(file->relay_listen.n, 1);
	assert_string_equal(file->relay_listen.v[0].host, "127.0.0.1");
	assert_int_equal(file->relay_listen.v[0].port, 10025);
	assert_int_equal(file->mx_listen.n, 1);
	assert_string_equal(file->mx_listen.v[0].host, "");
	assert_int_equal(file->mx_listen.v[0].port, 25);
	assert_int_equal(file->sts_listen.v[0].port, 443);
	assert_int_equal(file->rpt_listen.v[0].port, 8443);
	assert_string_equal(file->admin_listen.v[0].host, "127.0.0.1");
	assert_int_equal(file->admin_listen.v[0].port, 9443);
	assert_string_equal(file->relay_hostname, "");
	assert_string_equal(file->dns_trust_anchor_file,
	    "/usr/share/dns/root.key");
	assert_int_equal(file->dns_forward.n, 0);
	assert_int_equal(file->dns_stub.n, 0);
	assert_int_equal(file->dns_timeout, 30);
	assert_string_equal(file->sts_ca_file, "");
	assert_int_equal(file->sts_allow_private_addresses, 0);
	assert_int_equal(file->sts_fetch_timeout, 60);
	assert_int_equal(file->store_poll_interval, 2);
	assert_int_equal(file->smtp_max_message_size, 52428800);
	assert_int_equal(file->smtp_max_recipients, 1000);
	assert_int_equal(file->queue_max_lifetime, 5 * 86400);
	assert_string_equal(file->report_org_name, "");
	assert_string_equal(file->report_contact, "");
	assert_string_equal(file->source, EXAMPLE_FILE);
	tg_conf_free(file);
	tg_conf_free(defaults);
	free(text);
}

/* The commented-out line of key k: "#KEY = DEFAULT". */
static void
commented_line(const struct tg_conf_keyinfo *k, char *out, size_t outlen)
{
	snprintf(out, outlen, "#%s = %s", k->name,
	    k->default_text[0] != '\0' ? k->default_text : "\"\"");
}

/*
 * Every key of the table is in the file as "#KEY = DEFAULT", right after
 * its doc line ("# DOC", plus " [restart]" when it is not reloadable).
 */
static void
test_example_file_documents_every_key(void **state)
{
	char want[512], doc[512], *text, *line, *save;
	const char *prev;
	size_t i, len, found;

	(void)state;
	for (i = 0; i < tg_conf_key_count(); i++) {
		const struct tg_conf_keyinfo *k = tg_conf_key_at(i);

		text = read_file(EXAMPLE_FILE, &len);
		commented_line(k, want, sizeof(want));
		snprintf(doc, sizeof(doc), "# %s%s", k->doc,
		    k->reloadable ? "" : " [restart]");
		found = 0;
		prev = "";
		for (line = strtok_r(text, "\n", &save); line != NULL;
		    prev = line, line = strtok_r(NULL, "\n", &save)) {
			if (strcmp(line, want) != 0)
				continue;
			found++;
			if (strcmp(prev, doc) != 0)
				fail_msg("%s: line before '%s' is '%s', want "
				    "'%s'", EXAMPLE_FILE, want, prev, doc);
		}
		if (found != 1)
			fail_msg("%s: '%s' found %zu times, want once",
			    EXAMPLE_FILE, want, found);
		free(text);
	}
}

/* Uncommenting every "#KEY = ..." line still gives the defaults, and no
 * such line names a key the table does not have. */
static void
test_example_file_uncommented(void **state)
{
	struct tg_conf *conf, *defaults;
	struct tg_buf out;
	char *text, *line, *save;
	size_t len, i, n = 0, keylen;

	(void)state;
	text = read_file(EXAMPLE_FILE, &len);
	tg_buf_init(&out, 1 << 20);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		keylen = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz_.");
		if (line[0] == '#' && keylen > 0 &&
		    strncmp(line + 1 + keylen, " =", 2) == 0) {
			line++;
			n++;
		}
		tg_buf_printf(&out, "%s\n", line);
	}
	assert_int_equal(n, tg_conf_key_count());
	conf = parse_ok(tg_buf_cstr(&out));
	defaults = parse_ok("");
	assert_same_conf(conf, defaults);
	for (i = 0; i < tg_conf_key_count(); i++)
		assert_non_null(strstr(tg_buf_cstr(&out),
		    tg_conf_key_at(i)->name));
	tg_conf_free(conf);
	tg_conf_free(defaults);
	tg_buf_free(&out);
	free(text);
}

/* ---- broken input ---------------------------------------------------- */

struct bad_case {
	const char *text;
	unsigned line;
	const char *msg;	/* expected substring after "t.conf:LINE: " */
};

static const struct bad_case bad_cases[] = {
	{ "dns.timeoutx = 3\n", 1, "dns.timeoutx: unknown key" },
	{ "\n# c\nsts.allow_private_addresses = maybe\n", 3,
	  "sts.allow_private_addresses: \"maybe\" is not yes or no" },
	{ "dns.timeout = abc", 1,
	  "dns.timeout: \"abc\" is not a number of seconds (1..300)" },
	{ "dns.timeout = 301", 1,
	  "dns.timeout: \"301\" is out of range (1..300 seconds)" },
	{ "dns.timeout = 0", 1, "out of range" },
	{ "dns.timeout = 6m", 1, "\"6m\" is out of range" },
	{ "dns.timeout = 5x", 1, "\"5x\" is not a number of seconds" },
	{ "dns.timeout = s", 1, "\"s\" is not a number of seconds" },
	{ "dns.timeout = -5", 1, "\"-5\" is not a number of seconds" },
	{ "dns.timeout = 5 s", 1, "\"5 s\" is not a number of seconds" },
	{ "queue.max_lifetime = 1w", 1, "\"1w\" is not a number of seconds" },
	{ "queue.max_lifetime = 99999999999999999999d", 1,
	  "is not a number of seconds" },
	{ "queue.max_lifetime = 9999999999999999d", 1,
	  "is not a number of seconds" },
	{ "smtp.max_message_size = 1023", 1,
	  "\"1023\" is out of range (1024..2147483648 bytes)" },
	{ "smtp.max_recipients = 1e3", 1,
	  "\"1e3\" is not a number (1..100000)" },
	{ "smtp.max_recipients = 0x10", 1, "is not a number" },
	{ "relay.listen = 127.0.0.1", 1, "\"127.0.0.1\" has no :PORT" },
	{ "relay.listen = ::1:25", 1, "IPv6 address in brackets" },
	{ "relay.listen = localhost:25", 1,
	  "\"localhost\" is not an IP address" },
	{ "relay.listen = 127.0.0.1:0", 1, "\"0\" is not a port" },
	{ "relay.listen = 127.0.0.1:65536", 1, "is not a port" },
	{ "relay.listen = 127.0.0.1:", 1, "\"\" is not a port" },
	{ "mx.listen = [::1:25", 1, "is not [IPv6]:PORT" },
	{ "mx.listen = [127.0.0.1]:25", 1, "has no IPv6 address" },
	{ "mx.listen = 256.1.1.1:25", 1, "is not an IP address" },
	{ "dns.forward = 127.0.0.1@", 1, "\"\" is not a port" },
	{ "dns.forward = ns.example.org", 1, "is not an IP address" },
	{ "dns.stub = test", 1, "dns.stub: \"test\" is not ZONE=IP[@PORT]" },
	{ "dns.stub = te_st=127.0.0.1", 1, "\"te_st\" is not a zone name" },
	{ "dns.stub = -a.test=127.0.0.1", 1, "is not a zone name" },
	{ "dns.stub = a-.test=127.0.0.1", 1, "is not a zone name" },
	{ "dns.stub = test..x=127.0.0.1", 1, "is not a zone name" },
	{ "dns.stub = =127.0.0.1", 1, "is not a zone name" },
	{ "dns.stub = test=127.0.0.1@x", 1, "\"x\" is not a port" },
	{ "dns.stub = test=localhost", 1, "is not an IP address" },
	{ "state_dir = /a\nrun_dir = /r\nstate_dir = /b\n", 3,
	  "state_dir: given twice (first on line 1)" },
	{ "# c\nstate_dir /a\n", 2, "found no '='" },
	{ "state_dir # = /x", 1, "found no '='" },
	{ " = x", 1, "no key before '='" },
	{ "report.org_name = \"abc", 1,
	  "report.org_name: unterminated quote" },
	{ "report.org_name = \"abc\" def", 1, "text after the closing quote" },
	{ "report.org_name = a\"b\"", 1, "quote the whole value" },
	{ "state_dir = var/lib", 1,
	  "state_dir: \"var/lib\" is not an absolute path" },
	{ "state_dir =", 1, "state_dir: \"\" is not an absolute path" },
	{ "sts.ca_file = ca.pem", 1, "\"ca.pem\" is not an absolute path" },
	{ "dns.trust_anchor_file = ./root.key", 1, "not an absolute path" },
	{ "log.level = verbose", 1,
	  "\"verbose\" is not one of debug, info, warn, err" },
	{ "log.dest = file", 1, "\"file\" is not one of" },
	{ "user = -x", 1, "\"-x\" is not a user name" },
	{ "user = a b", 1, "is not a user name" },
	{ "relay.hostname = a_b.example", 1, "relay.hostname: invalid domain" },
	{ "relay.hostname = localhost", 1, "at least two labels" },
	{ "relay.listen = 127.0.0.1:25, ,127.0.0.2:25", 1,
	  "empty entry in the list" },
	{ "relay.listen = 127.0.0.1:25,", 1, "empty entry in the list" },
	{ "relay.listen = 127.0.0.1:25\nrelay.listen = 127.0.0.1:25", 2,
	  "\"127.0.0.1:25\" repeats an earlier entry" },
	{ "mx.listen = [::1]:25, [0:0::1]:25", 1,
	  "\"[0:0::1]:25\" repeats an earlier" },
	{ "report.org_name = a\x01z", 1, "control character 0x01" },
	{ "report.org_name = a\rz\n", 1, "control character 0x0d" },
	{ "report.org_name = \xff\xfe", 1, "not valid UTF-8" },
	{ "a = 1\n\n\n\nb c\n", 1, "a: unknown key" },
};

static void
expect_error(const char *text, size_t len, unsigned line, const char *msg)
{
	struct tg_conf *conf = (struct tg_conf *)&conf;
	struct tg_err err;
	char where[64];

	if (tg_conf_parse(text, len, "t.conf", &conf, &err) == 0)
		fail_msg("parse of '%.60s' did not fail (want '%s')", text,
		    msg);
	assert_null(conf);
	assert_int_equal(err.cls, TG_ERR_PERM);
	snprintf(where, sizeof(where), "t.conf:%u: ", line);
	if (strncmp(err.msg, where, strlen(where)) != 0 ||
	    strstr(err.msg, msg) == NULL)
		fail_msg("input '%.60s':\n got '%s'\nwant '%s%s'", text,
		    err.msg, where, msg);
}

static void
test_broken_inputs(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		expect_error(bad_cases[i].text, strlen(bad_cases[i].text),
		    bad_cases[i].line, bad_cases[i].msg);
}

static void
test_broken_limits(void **state)
{
	struct tg_conf *conf;
	struct tg_err err;
	struct tg_buf b;
	size_t i;

	(void)state;
	/* A line one byte over the limit; exactly at the limit is fine. */
	tg_buf_init(&b, 2 * TG_CONF_LINE_MAX);
	tg_buf_puts(&b, "# comment\n#");
	for (i = 1; i < TG_CONF_LINE_MAX; i++)
		tg_buf_puts(&b, "x");
	conf = parse_ok(tg_buf_cstr(&b));
	tg_conf_free(conf);
	tg_buf_puts(&b, "x\n");
	expect_error(b.data, b.len, 2, "line longer than 4096 bytes");
	tg_buf_free(&b);

	/* A value longer than its field. */
	tg_buf_init(&b, 2 * TG_CONF_LINE_MAX);
	tg_buf_puts(&b, "report.org_name = ");
	for (i = 0; i < TG_CONF_TEXT_MAX; i++)
		tg_buf_puts(&b, "o");
	expect_error(b.data, b.len, 1, "report.org_name: value is longer");
	tg_buf_free(&b);

	/* One entry more than a list may hold, over two lines. */
	tg_buf_init(&b, 2 * TG_CONF_LINE_MAX);
	tg_buf_puts(&b, "mx.listen = *:1");
	for (i = 2; i < TG_CONF_LIST_MAX; i++)
		tg_buf_printf(&b, ", *:%zu", i);
	tg_buf_printf(&b, "\nmx.listen = *:%d\n", TG_CONF_LIST_MAX);
	conf = parse_ok(tg_buf_cstr(&b));
	assert_int_equal(conf->mx_listen.n, TG_CONF_LIST_MAX);
	tg_conf_free(conf);
	tg_buf_puts(&b, "mx.listen = *:9999\n");
	expect_error(b.data, b.len, 3, "mx.listen: more than 32 entries");
	tg_buf_free(&b);

	/* A NUL byte, and a file over the size limit. */
	expect_error("state_dir = /a\0b\n", 17, 1, "control character 0x00");
	tg_buf_init(&b, 2 * TG_CONF_FILE_MAX);
	while (b.len <= TG_CONF_FILE_MAX)
		assert_int_equal(tg_buf_puts(&b, "# padding\n"), 0);
	assert_int_equal(tg_conf_parse(b.data, b.len, "big.conf", &conf, &err),
	    -1);
	assert_null(conf);
	assert_string_equal(err.msg, "big.conf: larger than 262144 bytes");
	tg_buf_free(&b);
}

/* ---- values ---------------------------------------------------------- */

static void
test_lists(void **state)
{
	struct tg_conf *c;

	(void)state;
	c = parse_ok("mx.listen = 192.0.2.1:25\n"
	    "mx.listen = [2001:DB8:0::1]:2525 , *:26\n"
	    "  mx.listen=:27\n"
	    "relay.listen =\n"
	    "dns.forward = 192.0.2.53, 2001:db8::53@5353\n"
	    "dns.stub = Test.=127.0.0.1@5353\n"
	    "dns.stub = example.ORG=::1, .=192.0.2.1\n");
	assert_int_equal(c->mx_listen.n, 4);
	assert_string_equal(c->mx_listen.v[0].host, "192.0.2.1");
	assert_int_equal(c->mx_listen.v[0].port, 25);
	assert_string_equal(c->mx_listen.v[1].host, "2001:db8::1");
	assert_int_equal(c->mx_listen.v[1].port, 2525);
	assert_string_equal(c->mx_listen.v[2].host, "");
	assert_int_equal(c->mx_listen.v[2].port, 26);
	assert_string_equal(c->mx_listen.v[3].host, "");
	assert_int_equal(c->mx_listen.v[3].port, 27);
	assert_int_equal(c->relay_listen.n, 0);
	assert_int_equal(c->sts_listen.n, 1);	/* untouched default */
	assert_int_equal(c->dns_forward.n, 2);
	assert_string_equal(c->dns_forward.v[0].host, "192.0.2.53");
	assert_int_equal(c->dns_forward.v[0].port, 53);
	assert_string_equal(c->dns_forward.v[1].host, "2001:db8::53");
	assert_int_equal(c->dns_forward.v[1].port, 5353);
	assert_int_equal(c->dns_stub.n, 3);
	assert_string_equal(c->dns_stub.v[0].zone, "test");
	assert_string_equal(c->dns_stub.v[0].addr.host, "127.0.0.1");
	assert_int_equal(c->dns_stub.v[0].addr.port, 5353);
	assert_string_equal(c->dns_stub.v[1].zone, "example.org");
	assert_string_equal(c->dns_stub.v[1].addr.host, "::1");
	assert_int_equal(c->dns_stub.v[1].addr.port, 53);
	assert_string_equal(c->dns_stub.v[2].zone, ".");
	tg_conf_free(c);
}

static void
test_quoting_and_comments(void **state)
{
	struct tg_conf *c;

	(void)state;
	c = parse_ok("report.org_name = \"Example #1, Inc.\"  # comment\n"
	    "\treport.contact\t=\tmailto:tls@example.org # comment\r\n"
	    "sts.ca_file = \"\"\n"
	    "   # indented comment\n"
	    "dns.stub = \"test=127.0.0.1@5353, x.test=127.0.0.2\"");
	assert_string_equal(c->report_org_name, "Example #1, Inc.");
	assert_string_equal(c->report_contact, "mailto:tls@example.org");
	assert_string_equal(c->sts_ca_file, "");
	assert_int_equal(c->dns_stub.n, 2);
	assert_string_equal(c->dns_stub.v[1].zone, "x.test");
	tg_conf_free(c);
	/* Quotes keep blanks, but a path must still start with '/'. */
	expect_error("run_dir = \" /padded/ \"", 22, 1,
	    "\" /padded/ \" is not an absolute path");
	c = parse_ok("spool_dir = \"/var/spool/tls gate \"\n"
	    "relay.hostname = \"MX.Example.ORG.\"\n"
	    "report.org_name = Société Générale\n");
	assert_string_equal(c->spool_dir, "/var/spool/tls gate ");
	assert_string_equal(c->relay_hostname, "mx.example.org");
	assert_string_equal(c->report_org_name, "Société Générale");
	tg_conf_free(c);
}

static void
test_value_types(void **state)
{
	static const struct {
		const char *text;
		int value;
	} bools[] = {
		{ "yes", 1 }, { "YES", 1 }, { "true", 1 }, { "On", 1 },
		{ "1", 1 }, { "no", 0 }, { "False", 0 }, { "off", 0 },
		{ "0", 0 },
	};
	static const struct {
		const char *text;
		long long secs;
	} durations[] = {
		{ "90", 90 }, { "90s", 90 }, { "5m", 300 }, { "2h", 7200 },
		{ "1d", 86400 }, { "100d", 8640000 },
	};
	struct tg_conf *c;
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		snprintf(text, sizeof(text), "sts.allow_private_addresses = %s",
		    bools[i].text);
		c = parse_ok(text);
		assert_int_equal(c->sts_allow_private_addresses,
		    bools[i].value);
		tg_conf_free(c);
	}
	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		snprintf(text, sizeof(text), "queue.max_lifetime = %s",
		    durations[i].text);
		c = parse_ok(text);
		assert_int_equal(c->queue_max_lifetime, durations[i].secs);
		tg_conf_free(c);
	}
	expect_error("queue.max_lifetime = 101d", 25, 1, "out of range");
	c = parse_ok("log.dest = SYSLOG\nlog.level = debug\nuser =\n"
	    "smtp.max_message_size = 2147483648\nsmtp.max_recipients = 1\n"
	    "store.poll_interval = 1h\n");
	assert_int_equal(c->log_dest, TG_LOG_SYSLOG);
	assert_int_equal(c->log_level, TG_LOG_DEBUG);
	assert_string_equal(c->user, "");
	assert_int_equal(c->smtp_max_message_size, 2147483648LL);
	assert_int_equal(c->smtp_max_recipients, 1);
	assert_int_equal(c->store_poll_interval, 3600);
	tg_conf_free(c);
}

/* ---- show ------------------------------------------------------------ */

static const char *const busy_conf =
    "user = mail-gw\n"
    "log.level = warn\n"
    "mx.listen = [::]:25, 0.0.0.0:25\n"
    "relay.listen = 127.0.0.1:10025, [::1]:10025\n"
    "dns.forward = 2001:db8::53@5353\n"
    "dns.stub = test.=127.0.0.1@5353, example=10.0.0.1\n"
    "dns.timeout = 45\n"
    "sts.ca_file = /etc/ssl/lab-ca.pem\n"
    "sts.allow_private_addresses = yes\n"
    "queue.max_lifetime = 36h\n"
    "report.org_name = \"Example #1, Inc.\"\n"
    "report.contact = mailto:tlsrpt@example.org\n";

static void
test_show_text(void **state)
{
	struct tg_conf *c, *again;
	char *text, *line, *save;
	size_t i = 0;

	(void)state;
	c = parse_ok(busy_conf);
	text = show(c, 0);
	assert_non_null(strstr(text, "\nmx.listen = [::]:25, 0.0.0.0:25\n"));
	assert_non_null(strstr(text, "\ndns.stub = test=127.0.0.1@5353, "
	    "example=10.0.0.1@53\n"));
	assert_non_null(strstr(text, "\ndns.timeout = 45s\n"));
	assert_non_null(strstr(text, "\nqueue.max_lifetime = 36h\n"));
	assert_non_null(strstr(text, "\nreport.org_name = \"Example #1, "
	    "Inc.\"\n"));
	assert_non_null(strstr(text, "\nsts.allow_private_addresses = yes\n"));
	assert_non_null(strstr(text, "\ndns.forward = 2001:db8::53@5353\n"));
	/* It parses back to the same snapshot. */
	again = parse_ok(text);
	assert_same_conf(c, again);
	/* One line per key, in table order. */
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), i++) {
		const char *name = tg_conf_key_at(i)->name;

		assert_true(i < tg_conf_key_count());
		assert_int_equal(strncmp(line, name, strlen(name)), 0);
		assert_int_equal(strncmp(line + strlen(name), " = ", 3), 0);
	}
	assert_int_equal(i, tg_conf_key_count());
	tg_conf_free(c);
	tg_conf_free(again);
	free(text);
}

static void
test_show_json(void **state)
{
	struct tg_conf *c;
	json_error_t jerr;
	json_t *root, *v;
	char *text;
	size_t i;

	(void)state;
	c = parse_ok(busy_conf);
	text = show(c, 1);
	root = json_loads(text, 0, &jerr);
	if (root == NULL)
		fail_msg("show --json is not JSON: %s\n%s", jerr.text, text);
	assert_int_equal(json_object_size(root), tg_conf_key_count());
	for (i = 0; i < tg_conf_key_count(); i++)
		assert_non_null(json_object_get(root,
		    tg_conf_key_at(i)->name));
	assert_string_equal(json_string_value(json_object_get(root, "user")),
	    "mail-gw");
	assert_string_equal(json_string_value(json_object_get(root,
	    "log.level")), "warn");
	assert_int_equal(json_integer_value(json_object_get(root,
	    "dns.timeout")), 45);
	assert_int_equal(json_integer_value(json_object_get(root,
	    "queue.max_lifetime")), 36 * 3600);
	assert_true(json_is_true(json_object_get(root,
	    "sts.allow_private_addresses")));
	v = json_object_get(root, "mx.listen");
	assert_true(json_is_array(v));
	assert_int_equal(json_array_size(v), 2);
	assert_string_equal(json_string_value(json_array_get(v, 0)),
	    "[::]:25");
	assert_string_equal(json_string_value(json_array_get(v, 1)),
	    "0.0.0.0:25");
	v = json_object_get(root, "dns.stub");
	assert_int_equal(json_array_size(v), 2);
	assert_string_equal(json_string_value(json_array_get(v, 0)),
	    "test=127.0.0.1@5353");
	assert_int_equal(json_array_size(json_object_get(root, "rpt.listen")),
	    1);
	assert_string_equal(json_string_value(json_object_get(root,
	    "report.org_name")), "Example #1, Inc.");
	json_decref(root);
	free(text);
	tg_conf_free(c);
}

static void
test_show_buffer_limit(void **state)
{
	struct tg_conf *c = parse_ok("");
	struct tg_buf b;

	(void)state;
	tg_buf_init(&b, 64);
	assert_int_equal(tg_conf_show(c, 0, &b), -1);
	assert_true(b.len <= 64);
	tg_buf_reset(&b);
	assert_int_equal(tg_conf_show(c, 1, &b), -1);
	tg_buf_free(&b);
	tg_conf_free(c);
}

/* ---- lookup and load ------------------------------------------------- */

static char *
write_temp(const char *text)
{
	char *path = strdup("/tmp/test_conf.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void
test_path_lookup(void **state)
{
	(void)state;
	unsetenv("TLSGATE_CONF");
	assert_string_equal(tg_conf_path_lookup(NULL),
	    TG_SYSCONFDIR "/tlsgate/tlsgate.conf");
	setenv("TLSGATE_CONF", "", 1);
	assert_string_equal(tg_conf_path_lookup(NULL),
	    TG_SYSCONFDIR "/tlsgate/tlsgate.conf");
	setenv("TLSGATE_CONF", "/srv/gw/tlsgate.conf", 1);
	assert_string_equal(tg_conf_path_lookup(NULL), "/srv/gw/tlsgate.conf");
	assert_string_equal(tg_conf_path_lookup("/x/y.conf"), "/x/y.conf");
	unsetenv("TLSGATE_CONF");
}

static void
test_load_from_env(void **state)
{
	struct tg_conf *c;
	struct tg_err err;
	char host[256];
	char *path = write_temp("dns.timeout = 7\nrelay.hostname =\n");
	size_t i;

	(void)state;
	setenv("TLSGATE_CONF", path, 1);
	if (tg_conf_load(NULL, &c, &err) != 0)
		fail_msg("%s", err.msg);
	unsetenv("TLSGATE_CONF");
	assert_int_equal(c->dns_timeout, 7);
	assert_string_equal(c->source, path);
	/* An empty relay.hostname becomes the host name, lower case. */
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	for (i = 0; host[i] != '\0'; i++)
		if (host[i] >= 'A' && host[i] <= 'Z')
			host[i] = (char)(host[i] + 32);
	assert_string_equal(c->relay_hostname, host);
	tg_conf_free(c);
	/* An explicit path wins over the environment. */
	setenv("TLSGATE_CONF", "/nonexistent/env.conf", 1);
	assert_int_equal(tg_conf_load(path, &c, &err), 0);
	assert_int_equal(c->dns_timeout, 7);
	tg_conf_free(c);
	unlink(path);
	free(path);
	/* A named file must exist. */
	assert_int_equal(tg_conf_load(NULL, &c, &err), -1);
	assert_null(c);
	assert_non_null(strstr(err.msg, "/nonexistent/env.conf: No such "
	    "file"));
	unsetenv("TLSGATE_CONF");
	assert_int_equal(tg_conf_load("/nonexistent/x.conf", &c, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/x.conf: "));
}

static void
test_load_errors(void **state)
{
	struct tg_conf *c;
	struct tg_err err;
	char *path = write_temp("# ok\nstate_dir = /a\nuser = x y\n");
	char *big;
	FILE *f;
	size_t i;

	(void)state;
	assert_int_equal(tg_conf_load(path, &c, &err), -1);
	assert_null(c);
	assert_true(strncmp(err.msg, path, strlen(path)) == 0);
	assert_non_null(strstr(err.msg, ":3: user: \"x y\" is not a user"));
	assert_int_equal(tg_conf_load("/tmp", &c, &err), -1);
	assert_string_equal(err.msg, "/tmp: not a regular file");
	/* Over TG_CONF_FILE_MAX: refused while reading. */
	f = fopen(path, "w");
	assert_non_null(f);
	big = calloc(1, 1024);
	assert_non_null(big);
	memset(big, '#', 1023);
	for (i = 0; i <= TG_CONF_FILE_MAX / 1024; i++)
		fprintf(f, "%s\n", big);
	fclose(f);
	free(big);
	assert_int_equal(tg_conf_load(path, &c, &err), -1);
	assert_non_null(strstr(err.msg, "larger than 262144 bytes"));
	unlink(path);
	free(path);
}

/* Without -c and $TLSGATE_CONF, a missing default file means defaults. */
static void
test_load_default_missing(void **state)
{
	struct tg_conf *c;
	struct tg_err err;
	const char *def = TG_SYSCONFDIR "/tlsgate/tlsgate.conf";

	(void)state;
	unsetenv("TLSGATE_CONF");
	if (access(def, F_OK) == 0)
		skip();	/* installed on this machine: nothing to show */
	if (tg_conf_load(NULL, &c, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(c->source, "");
	assert_string_equal(c->state_dir, "/var/lib/tlsgate");
	assert_true(c->relay_hostname[0] != '\0');
	tg_conf_free(c);
}

/* ---- reload and the table -------------------------------------------- */

static void
expect_reload(const char *old_text, const char *new_text, const char *msg)
{
	struct tg_conf *a = parse_ok(old_text), *b = parse_ok(new_text);
	struct tg_err err;
	int rc = tg_conf_check_reload(a, b, &err);

	if (msg == NULL && rc != 0)
		fail_msg("reload refused: %s", err.msg);
	if (msg != NULL && (rc != -1 || strncmp(err.msg, msg,
	    strlen(msg)) != 0))
		fail_msg("reload: got %d '%s', want '%s'", rc,
		    rc ? err.msg : "", msg);
	tg_conf_free(a);
	tg_conf_free(b);
}

static void
test_reload_check(void **state)
{
	(void)state;
	expect_reload("", "", NULL);
	expect_reload("", "log.level = debug\ndns.timeout = 5\n"
	    "relay.hostname = gw.example.org\nsts.ca_file = /ca.pem\n"
	    "smtp.max_recipients = 50\nreport.contact = x\n", NULL);
	/* Spelling the same value differently is no change. */
	expect_reload("mx.listen = *:25", "mx.listen = :25", NULL);
	expect_reload("", "mx.listen = 127.0.0.1:25",
	    "mx.listen: changed from *:25 to 127.0.0.1:25; needs a restart");
	expect_reload("", "admin.listen = 127.0.0.1:9443, [::1]:9443",
	    "admin.listen: changed");
	/* The first changed key in table order is named. */
	expect_reload("", "user = other\nstate_dir = /srv/tlsgate\n",
	    "state_dir: changed from /var/lib/tlsgate to /srv/tlsgate");
	expect_reload("user = a", "user =", "user: changed from a to \"\"");
	expect_reload("", "dns.stub = test=127.0.0.1", "dns.stub: changed");
	expect_reload("", "log.dest = syslog", "log.dest: changed");
}

static void
test_key_table(void **state)
{
	const struct tg_conf_keyinfo *k;
	size_t i, j, n = tg_conf_key_count();

	(void)state;
	assert_true(n >= 25);
	assert_null(tg_conf_key_at(n));
	for (i = 0; i < n; i++) {
		k = tg_conf_key_at(i);
		assert_non_null(k);
		assert_true(k->name[0] != '\0' && k->type[0] != '\0');
		assert_non_null(k->default_text);
		assert_true(strlen(k->doc) > 10 && strlen(k->doc) < 72);
		assert_null(strchr(k->doc, '\n'));
		assert_true(k->min <= k->max);
		if (strcmp(k->type, "int") == 0 ||
		    strcmp(k->type, "duration") == 0)
			assert_true(k->min < k->max);
		assert_true((strcmp(k->type, "enum") == 0) ==
		    (k->allowed != NULL));
		for (j = 0; j < i; j++)
			assert_string_not_equal(k->name,
			    tg_conf_key_at(j)->name);
	}
	k = tg_conf_key_at(0);
	assert_string_equal(k->name, "state_dir");
	for (i = 0; i < n; i++) {
		k = tg_conf_key_at(i);
		if (strcmp(k->name, "dns.timeout") == 0) {
			assert_string_equal(k->type, "duration");
			assert_true(k->reloadable);
			assert_int_equal(k->min, 1);
			assert_int_equal(k->max, 300);
		}
		if (strcmp(k->name, "mx.listen") == 0) {
			assert_true(k->is_list);
			assert_false(k->reloadable);
		}
	}
}

/* dns/resolver_conf: the dns.* keys as the resolver takes them. */
static void
test_resolver_conf(void **state)
{
	struct tg_conf *conf = parse_ok(
	    "dns.trust_anchor_file = /etc/tlsgate/ta.key\n"
	    "dns.forward = 127.0.0.53\n"
	    "dns.forward = 127.0.0.54@5353\n"
	    "dns.stub = test=127.0.5.1@53\n"
	    "dns.stub = corp.example=10.1.2.3\n"
	    "dns.timeout = 7\n");
	struct tg_resolver_config rc;

	(void)state;
	tg_resolver_config_from_conf(conf, &rc);
	assert_string_equal(rc.trust_anchor_file, "/etc/tlsgate/ta.key");
	assert_int_equal(rc.nforward, 2);
	assert_string_equal(rc.forward[0].addr, "127.0.0.53");
	assert_string_equal(rc.forward[1].addr, "127.0.0.54");
	assert_int_equal(rc.forward[1].port, 5353);
	assert_int_equal(rc.nstub, 2);
	assert_string_equal(rc.stub[0].zone, "test");
	assert_string_equal(rc.stub[0].server.addr, "127.0.5.1");
	assert_int_equal(rc.stub[0].server.port, 53);
	assert_string_equal(rc.stub[1].zone, "corp.example");
	assert_string_equal(rc.stub[1].server.addr, "10.1.2.3");
	assert_int_equal(rc.timeout_s, 7);
	tg_conf_free(conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_file_gives_defaults),
		cmocka_unit_test(test_example_file_documents_every_key),
		cmocka_unit_test(test_example_file_uncommented),
		cmocka_unit_test(test_broken_inputs),
		cmocka_unit_test(test_broken_limits),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_quoting_and_comments),
		cmocka_unit_test(test_value_types),
		cmocka_unit_test(test_show_text),
		cmocka_unit_test(test_show_json),
		cmocka_unit_test(test_show_buffer_limit),
		cmocka_unit_test(test_path_lookup),
		cmocka_unit_test(test_load_from_env),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_default_missing),
		cmocka_unit_test(test_reload_check),
		cmocka_unit_test(test_key_table),
		cmocka_unit_test(test_resolver_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
