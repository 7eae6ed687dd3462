/*
 * core/conf — see conf.h.
 *
 * Everything here is driven by keys[] below: a key's default is text that
 * goes through the same parser as the file, `config show` prints with the
 * same formatters the reload check compares with, and tg_conf_key_at hands
 * the table to docs and tests.
 */
#include "core/conf.h"
#include "core/conf_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "util/dname.h"

#ifndef TG_SYSCONFDIR
#define TG_SYSCONFDIR "/etc"
#endif
#define CONF_DEFAULT_PATH TG_SYSCONFDIR "/tlsgate/tlsgate.conf"
#define CONF_ENV "TLSGATE_CONF"

#define STR_(x) #x
#define STR(x) STR_(x)

/* enum keys store the index of the word, which is the core/log value. */
_Static_assert(TG_LOG_DEBUG == 0 && TG_LOG_INFO == 1 && TG_LOG_WARN == 2 &&
    TG_LOG_ERR == 3, "log.level words follow enum tg_log_level");
_Static_assert(TG_LOG_STDERR == 0 && TG_LOG_SYSLOG == 1,
    "log.dest words follow enum tg_log_dest");

static const char *const log_dests[] = { "stderr", "syslog", NULL };
static const char *const route_tls_words[] = { "may", "encrypt", NULL };
static const char *const acme_challenge_words[] = { "http-01", "dns-01",
	NULL };
static const char *const log_levels[] = { "debug", "info", "warn", "err",
	NULL };

#define FIELD(f) .off = offsetof(struct tg_conf, f), \
	.size = sizeof(((struct tg_conf *)0)->f)
#define KEY(n, t, tn, f) .info.name = (n), .type = (t), .info.type = (tn), \
	FIELD(f)
#define LIST(n, t, tn, f) KEY(n, t, tn, f), .info.is_list = 1
#define RANGE(lo, hi) .info.min = (lo), .info.max = (hi)
#define DEF(d) .info.default_text = (d)
#define DOC(d) .info.doc = (d)
#define RELOAD .info.reloadable = 1

static const struct conf_key keys[] = {
	{ KEY("state_dir", T_PATH, "path", state_dir),
	  DEF("/var/lib/tlsgate"),
	  DOC("Directory of the store, private keys and certificates.") },
	{ KEY("spool_dir", T_PATH, "path", spool_dir),
	  DEF("/var/spool/tlsgate"),
	  DOC("Directory of the mail queue.") },
	{ KEY("run_dir", T_PATH, "path", run_dir),
	  DEF("/run/tlsgate"),
	  DOC("Directory of the pid files.") },
	{ KEY("user", T_USER, "user", user), .flags = F_EMPTY,
	  DEF("tlsgate"),
	  DOC("User a daemon started as root switches to after binding; "
	      "empty: none.") },
	{ KEY("log.dest", T_ENUM, "enum", log_dest), .info.allowed = log_dests,
	  DEF("stderr"),
	  DOC("Where log lines go: stderr, or syslog (mail facility).") },
	{ KEY("log.level", T_ENUM, "enum", log_level),
	  .info.allowed = log_levels, RELOAD,
	  DEF("info"),
	  DOC("Lowest level logged: debug, info, warn or err.") },
	{ LIST("relay.listen", T_LISTEN, "listen", relay_listen),
	  DEF("127.0.0.1:10025"),
	  DOC("Where relayd takes mail from the internal mail server.") },
	{ LIST("mx.listen", T_LISTEN, "listen", mx_listen),
	  DEF("*:25"),
	  DOC("Where mxd takes mail from the Internet (the public MX).") },
	{ LIST("sts.listen", T_LISTEN, "listen", sts_listen),
	  DEF("*:443"),
	  DOC("Where stsd serves MTA-STS policies (HTTPS).") },
	{ LIST("sts.http_listen", T_LISTEN, "listen", sts_http_listen),
	  DEF("*:80"),
	  DOC("Where stsd answers ACME http-01 challenges (with "
	      "acme.directory).") },
	{ LIST("rpt.listen", T_LISTEN, "listen", rpt_listen),
	  DEF("*:8443"),
	  DOC("Where rptd collects TLS-RPT reports (HTTPS).") },
	{ LIST("admin.listen", T_LISTEN, "listen", admin_listen),
	  DEF("127.0.0.1:9443"),
	  DOC("Where controllerd serves the admin API and console (HTTPS).") },
	{ KEY("admin.hostname", T_STRING, "string", admin_hostname),
	  DEF("localhost"),
	  DOC("Host name of the console: its certificate, the Host allowed.") },
	{ KEY("relay.hostname", T_DOMAIN, "domain", relay_hostname),
	  .flags = F_EMPTY, RELOAD,
	  DEF(""),
	  DOC("Our name in EHLO; empty: the machine's host name.") },
	{ KEY("smtp.max_message_size", T_INT, "int", smtp_max_message_size),
	  RANGE(1024, 2147483648LL), .unit = "bytes", RELOAD,
	  DEF("52428800"),
	  DOC("Largest message accepted, in bytes (SIZE, RFC 1870).") },
	{ KEY("smtp.max_recipients", T_INT, "int", smtp_max_recipients),
	  RANGE(1, 100000), RELOAD,
	  DEF("1000"),
	  DOC("Most recipients accepted for one message.") },
	{ KEY("queue.max_lifetime", T_DURATION, "duration",
	      queue_max_lifetime), RANGE(1, 100 * DAY), RELOAD,
	  DEF("5d"),
	  DOC("Bounce a message not delivered after this long.") },
	{ KEY("queue.min_backoff", T_DURATION, "duration", queue_min_backoff),
	  RANGE(1, DAY), RELOAD,
	  DEF("5m"),
	  DOC("First retry after a temporary failure; doubles each time.") },
	{ KEY("queue.max_backoff", T_DURATION, "duration", queue_max_backoff),
	  RANGE(1, 7 * DAY), RELOAD,
	  DEF("4000s"),
	  DOC("Longest wait between two delivery attempts.") },
	{ KEY("relay.max_connections", T_INT, "int", relay_max_connections),
	  RANGE(1, 10000), RELOAD,
	  DEF("100"),
	  DOC("Outbound SMTP connections relayd opens at once, in all.") },
	{ KEY("relay.destination_concurrency", T_INT, "int",
	      relay_destination_concurrency), RANGE(1, 1000), RELOAD,
	  DEF("20"),
	  DOC("Outbound connections to one destination domain at once.") },
	{ KEY("relay.requiretls", T_BOOL, "bool", relay_requiretls), RELOAD,
	  DEF("yes"),
	  DOC("Offer REQUIRETLS (RFC 8689) to internal clients under TLS.") },
	{ KEY("mx.route_tls", T_ENUM, "enum", mx_route_tls),
	  .info.allowed = route_tls_words, RELOAD,
	  DEF("may"),
	  DOC("TLS from mxd to internal servers: may, or encrypt.") },
	{ KEY("mx.verify_recipients", T_BOOL, "bool", mx_verify_recipients),
	  RELOAD,
	  DEF("yes"),
	  DOC("Ask the internal server at RCPT time whether it takes a "
	      "recipient.") },
	{ KEY("mx.dsn_rate_limit", T_INT, "int", mx_dsn_rate_limit),
	  RANGE(0, 100000), RELOAD,
	  DEF("20"),
	  DOC("DSNs mxd sends to one sender domain in an hour; 0: no "
	      "limit.") },
	{ LIST("dane.update_server", T_FORWARD, "forward", dane_update_server),
	  RELOAD,
	  DEF(""),
	  DOC("Primary server taking TLSA updates, IP[@PORT]; empty: no "
	      "rollover.") },
	{ KEY("dane.tsig_key_file", T_PATH, "path", dane_tsig_key_file),
	  .flags = F_EMPTY, RELOAD,
	  DEF(""),
	  DOC("TSIG key for those updates: hmac-sha256:NAME:SECRET.") },
	{ KEY("dane.update_hook", T_PATH, "path", dane_update_hook),
	  .flags = F_EMPTY,
	  DEF(""),
	  DOC("Program that changes TLSA records, instead of "
	      "dane.update_server.") },
	{ KEY("dane.zone", T_DOMAIN, "domain", dane_zone), .flags = F_EMPTY,
	  RELOAD,
	  DEF(""),
	  DOC("The zone holding _25._tcp.<relay.hostname>.") },
	{ KEY("dane.tlsa_ttl", T_DURATION, "duration", dane_tlsa_ttl),
	  RANGE(1, DAY), RELOAD,
	  DEF("300s"),
	  DOC("TTL of the TLSA records the rollover publishes.") },
	{ KEY("dane.renew_before", T_DURATION, "duration", dane_renew_before),
	  RANGE(1, 365 * DAY), RELOAD,
	  DEF("30d"),
	  DOC("Start a key rollover this long before the certificate "
	      "expires.") },
	{ KEY("alerts.hook", T_PATH, "path", alerts_hook), .flags = F_EMPTY,
	  DEF(""),
	  DOC("Program told of controllerd's errors and expiring "
	      "certificates.") },
	{ KEY("acme.directory", T_STRING, "string", acme_directory),
	  .flags = F_EMPTY, RELOAD,
	  DEF(""),
	  DOC("ACME directory URL (https); empty: self-signed certificates "
	      "only.") },
	{ KEY("acme.challenge", T_ENUM, "enum", acme_challenge),
	  .info.allowed = acme_challenge_words, RELOAD,
	  DEF("http-01"),
	  DOC("ACME challenge: http-01, or dns-01 for names in dane.zone.") },
	{ KEY("acme.email", T_STRING, "string", acme_email),
	  .flags = F_EMPTY, RELOAD,
	  DEF(""),
	  DOC("Contact address given to the ACME server; empty: none.") },
	{ KEY("acme.ca_file", T_PATH, "path", acme_ca_file), .flags = F_EMPTY,
	  RELOAD,
	  DEF(""),
	  DOC("CA certificates for the ACME server's HTTPS; empty: system "
	      "store.") },
	{ KEY("acme.renew_before", T_DURATION, "duration", acme_renew_before),
	  RANGE(1, 365 * DAY), RELOAD,
	  DEF("30d"),
	  DOC("Renew an ACME certificate this long before it expires.") },
	{ KEY("dns.trust_anchor_file", T_PATH, "path", dns_trust_anchor_file),
	  DEF("/usr/share/dns/root.key"),
	  DOC("DNSSEC trust anchor of the root zone (DS or DNSKEY records).") },
	{ LIST("dns.forward", T_FORWARD, "forward", dns_forward),
	  DEF(""),
	  DOC("Resolvers to forward queries to, IP[@PORT]; empty: recurse.") },
	{ LIST("dns.stub", T_STUB, "stub", dns_stub),
	  DEF(""),
	  DOC("Servers to ask for a zone directly, ZONE=IP[@PORT].") },
	{ KEY("dns.timeout", T_DURATION, "duration", dns_timeout),
	  RANGE(1, 300), RELOAD,
	  DEF(STR(TG_DNS_TIMEOUT_S) "s"),
	  DOC("Give up on a DNS lookup after this long.") },
	{ KEY("sts.ca_file", T_PATH, "path", sts_ca_file), .flags = F_EMPTY,
	  RELOAD,
	  DEF(""),
	  DOC("CA certificates for MTA-STS fetches; empty: system trust "
	      "store.") },
	{ KEY("sts.allow_private_addresses", T_BOOL, "bool",
	      sts_allow_private_addresses), RELOAD,
	  DEF("no"),
	  DOC("Fetch MTA-STS policies from private addresses (tests only).") },
	{ KEY("sts.fetch_timeout", T_DURATION, "duration", sts_fetch_timeout),
	  RANGE(1, 300), RELOAD,
	  DEF(STR(TG_STS_FETCH_TIMEOUT_S) "s"),
	  DOC("Give up on an MTA-STS policy fetch after this long.") },
	{ KEY("sts.public_name", T_DOMAIN, "domain", sts_public_name),
	  .flags = F_EMPTY, RELOAD,
	  DEF(""),
	  DOC("CNAME target of mta-sts.<domain>; empty: sts.listen "
	      "addresses.") },
	{ KEY("sts.max_connections", T_INT, "int", sts_max_connections),
	  RANGE(1, 100000),
	  DEF(STR(TG_HTTP_CONN_MAX)),
	  DOC("Most connections stsd keeps open at once.") },
	{ KEY("sts.max_connections_per_address", T_INT, "int",
	      sts_max_connections_per_address), RANGE(1, 100000),
	  DEF(STR(TG_HTTP_PER_IP_MAX)),
	  DOC("Most connections stsd keeps open from one client address.") },
	{ KEY("store.poll_interval", T_DURATION, "duration",
	      store_poll_interval), RANGE(1, 3600), RELOAD,
	  DEF("2s"),
	  DOC("How often daemons look for changes in the store.") },
	{ KEY("report.org_name", T_STRING, "string", report_org_name),
	  .flags = F_EMPTY, RELOAD,
	  DEF(""),
	  DOC("organization-name of our TLS-RPT reports (RFC 8460 §4.4).") },
	{ KEY("report.contact", T_STRING, "string", report_contact),
	  .flags = F_EMPTY, RELOAD,
	  DEF(""),
	  DOC("contact-info of our TLS-RPT reports (RFC 8460 §4.4).") },
	{ KEY("report.dkim_selector", T_STRING, "string",
	      report_dkim_selector), .flags = F_EMPTY, RELOAD,
	  DEF(""),
	  DOC("DKIM selector of our report mail; empty: not signed.") },
	{ KEY("report.send_delay", T_DURATION, "duration", report_send_delay),
	  RANGE(0, DAY), RELOAD,
	  DEF("4h"),
	  DOC("Random delay of our daily reports after 00:00 UTC.") },
	{ KEY("rpt.path", T_PATH, "path", rpt_path),
	  DEF("/tlsrpt"),
	  DOC("URL path where rptd takes reports (of our https rua).") },
	{ KEY("rpt.max_body_size", T_INT, "int", rpt_max_body_size),
	  RANGE(1024, TG_RPT_JSON_MAX), .unit = "bytes", RELOAD,
	  DEF("1048576"),
	  DOC("Largest report body rptd accepts, in bytes.") },
	{ KEY("rpt.rate_limit", T_INT, "int", rpt_rate_limit),
	  RANGE(1, 100000), RELOAD,
	  DEF(STR(TG_RPT_RATE_DEFAULT)),
	  DOC("Reports a minute rptd takes from one address or IPv6 /64.") },
	{ KEY("rpt.max_db_size", T_INT, "int", rpt_max_db_size),
	  RANGE(1048576, 1099511627776LL), .unit = "bytes", RELOAD,
	  DEF("1073741824"),
	  DOC("Size of reports.db above which the oldest reports go.") },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* ---- the parser ------------------------------------------------------ */

struct conf_parser {
	struct tg_conf *conf;
	const char *file;
	unsigned line;
	long off;			/* offset of the line in the input */
	unsigned seen[NKEYS];		/* line a key was first set on */
	struct tg_err *err;
};

static int
perr(struct conf_parser *p, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct conf_parser *p, const char *key, const char *fmt, ...)
{
	char w[WHY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w, sizeof(w), fmt, ap);
	va_end(ap);
	if (key != NULL)
		return tg_err_set_at(p->err, TG_ERR_PERM, p->off,
		    "%s:%u: %.*s: %s", p->file, p->line, QUOTE_MAX, key, w);
	return tg_err_set_at(p->err, TG_ERR_PERM, p->off, "%s:%u: %s",
	    p->file, p->line, w);
}

static char *
skip_ws(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static char *
trim_end(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Append one list item, refusing overflow and repeats. */
static int
conf_list_item(struct conf_parser *p, const struct conf_key *k, char *item)
{
	void *field = conf_field(p->conf, k);
	size_t *n = conf_list_count(field), i;
	char w[WHY_MAX];

	if (*n >= TG_CONF_LIST_MAX)
		return perr(p, k->info.name, "more than %d entries",
		    TG_CONF_LIST_MAX);
	if (conf_parser_for(k->type)(k, item, field, w) != 0)
		return perr(p, k->info.name, "%s", w);
	for (i = 0; i < *n; i++)
		if (conf_item_equal(k, field, i, *n))
			return perr(p, k->info.name,
			    "\"%.*s\" repeats an earlier entry", QUOTE_MAX,
			    item);
	(*n)++;
	return 0;
}

static int
conf_list(struct conf_parser *p, const struct conf_key *k, char *v)
{
	char *item, *comma;

	if (v[0] == '\0')
		return 0;
	for (item = v; item != NULL; item = comma) {
		comma = strchr(item, ',');
		if (comma != NULL)
			*comma++ = '\0';
		item = trim_end(skip_ws(item));
		if (item[0] == '\0')
			return perr(p, k->info.name, "empty entry in the list");
		if (conf_list_item(p, k, item) != 0)
			return -1;
	}
	return 0;
}

static int
conf_set(struct conf_parser *p, const struct conf_key *k, char *v)
{
	size_t idx = (size_t)(k - keys);
	char w[WHY_MAX];

	if (p->seen[idx] != 0 && !k->info.is_list)
		return perr(p, k->info.name, "given twice (first on line %u)",
		    p->seen[idx]);
	if (p->seen[idx] == 0) {
		p->seen[idx] = p->line;
		if (k->info.is_list)
			*conf_list_count(conf_field(p->conf, k)) = 0;
	}
	if (k->info.is_list)
		return conf_list(p, k, v);
	if (conf_parser_for(k->type)(k, v, conf_field(p->conf, k), w) != 0)
		return perr(p, k->info.name, "%s", w);
	return 0;
}

static const struct conf_key *
conf_find(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].info.name, name) == 0)
			return &keys[i];
	return NULL;
}

/* Valid UTF-8 (jansson checks it, and JSON output needs it). */
static int
is_utf8(const char *s)
{
	json_t *j = json_string(s);

	if (j == NULL)
		return 0;
	json_decref(j);
	return 1;
}

/* The value after '=': quoted or up to a comment, trimmed. */
static int
conf_value(struct conf_parser *p, const struct conf_key *k, char *s,
    char **out)
{
	char *end, *rest;

	s = skip_ws(s);
	if (*s == '"') {
		end = strchr(s + 1, '"');
		if (end == NULL)
			return perr(p, k->info.name, "unterminated quote");
		*end = '\0';
		rest = skip_ws(end + 1);
		if (*rest != '\0' && *rest != '#')
			return perr(p, k->info.name,
			    "text after the closing quote");
		s++;
	} else {
		s[strcspn(s, "#")] = '\0';
		trim_end(s);
		if (strchr(s, '"') != NULL)
			return perr(p, k->info.name, "a '\"' inside a value; "
			    "quote the whole value");
	}
	if (!is_utf8(s))
		return perr(p, k->info.name, "value is not valid UTF-8");
	*out = s;
	return 0;
}

static int
conf_line(struct conf_parser *p, char *s)
{
	const struct conf_key *k;
	char *key, *v = NULL;
	size_t n;

	s = skip_ws(s);
	if (*s == '\0' || *s == '#')
		return 0;
	n = strcspn(s, "=#");
	if (s[n] != '=')
		return perr(p, NULL, "expected \"key = value\", found no '='");
	s[n] = '\0';
	key = trim_end(s);
	if (key[0] == '\0')
		return perr(p, NULL, "no key before '='");
	k = conf_find(key);
	if (k == NULL)
		return perr(p, key, "unknown key");
	if (conf_value(p, k, s + n + 1, &v) != 0)
		return -1;
	return conf_set(p, k, v);
}

/* Check, copy and parse line p->line, text[0..n). */
static int
conf_raw_line(struct conf_parser *p, const char *text, size_t n)
{
	char buf[TG_CONF_LINE_MAX + 1];
	size_t i;

	if (n > 0 && text[n - 1] == '\r')
		n--;
	if (n > TG_CONF_LINE_MAX)
		return perr(p, NULL, "line longer than %d bytes",
		    TG_CONF_LINE_MAX);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return perr(p, NULL, "control character 0x%02x in "
			    "line", c);
	}
	memcpy(buf, text, n);
	buf[n] = '\0';
	return conf_line(p, buf);
}

/* Every key gets its default, through the same code as the file. */
static int
conf_defaults(struct conf_parser *p)
{
	char buf[TG_CONF_LINE_MAX + 1];
	const char *file = p->file;
	size_t i;

	p->file = "built-in default";
	for (i = 0; i < NKEYS; i++) {
		snprintf(buf, sizeof(buf), "%s", keys[i].info.default_text);
		if (conf_set(p, &keys[i], buf) != 0) {
			p->err->cls = TG_ERR_BUG;
			return -1;
		}
	}
	memset(p->seen, 0, sizeof(p->seen));
	p->file = file;
	return 0;
}

int
tg_conf_parse(const char *text, size_t len, const char *filename,
    struct tg_conf **out, struct tg_err *err)
{
	struct conf_parser p;
	struct tg_err local;
	const char *nl;
	size_t pos, end;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.err = err != NULL ? err : &local;
	p.file = filename != NULL ? filename : "<config>";
	tg_err_clear(p.err);
	if (len > TG_CONF_FILE_MAX)
		return tg_err_set(p.err, TG_ERR_PERM, NULL,
		    "%s: larger than %d bytes", p.file, TG_CONF_FILE_MAX);
	p.conf = calloc(1, sizeof(*p.conf));
	if (p.conf == NULL)
		return tg_err_set(p.err, TG_ERR_TEMP, NULL, "out of memory");
	snprintf(p.conf->source, sizeof(p.conf->source), "%s", p.file);
	if (conf_defaults(&p) != 0)
		goto fail;
	for (pos = 0; pos < len; pos = end + 1) {
		nl = memchr(text + pos, '\n', len - pos);
		end = nl != NULL ? (size_t)(nl - text) : len;
		p.line++;
		p.off = (long)pos;
		if (conf_raw_line(&p, text + pos, end - pos) != 0)
			goto fail;
	}
	*out = p.conf;
	return 0;
fail:
	free(p.conf);
	return -1;
}

void
tg_conf_free(struct tg_conf *conf)
{
	free(conf);
}

/* ---- files ----------------------------------------------------------- */

static const char *
conf_lookup(const char *explicit_path, int *must_exist)
{
	const char *env = getenv(CONF_ENV);

	*must_exist = 1;
	if (explicit_path != NULL)
		return explicit_path;
	if (env != NULL && env[0] != '\0')
		return env;
	*must_exist = 0;
	return CONF_DEFAULT_PATH;
}

const char *
tg_conf_path_lookup(const char *explicit_path)
{
	int must;

	return conf_lookup(explicit_path, &must);
}

/* Read at most TG_CONF_FILE_MAX bytes of path into b; *missing set when
 * the file does not exist and may not. */
static int
conf_read(const char *path, int must_exist, struct tg_buf *b, int *missing,
    struct tg_err *err)
{
	char chunk[8192];
	struct stat st;
	ssize_t n;
	int fd;

	*missing = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT && !must_exist) {
		*missing = 1;
		return 0;
	}
	if (fd < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s: not a regular file", path);
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		if (tg_buf_append(b, chunk, (size_t)n) != 0) {
			close(fd);
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "%s: larger than %d bytes", path,
			    TG_CONF_FILE_MAX);
		}
	}
	close(fd);
	return 0;
}

/* relay.hostname defaults to the host name (RFC 5321 §4.1.1.1 wants a
 * fully-qualified name in EHLO; relayd checks that). */
static void
conf_fill_hostname(struct tg_conf *conf)
{
	char host[TG_DNAME_MAX + 2];
	size_t i;

	if (conf->relay_hostname[0] != '\0')
		return;
	if (gethostname(host, sizeof(host)) != 0)
		return;
	host[sizeof(host) - 1] = '\0';
	if (tg_dname_normalize(host, conf->relay_hostname,
	    sizeof(conf->relay_hostname), NULL) == 0)
		return;
	for (i = 0; host[i] != '\0' && i + 1 < sizeof(conf->relay_hostname);
	    i++)
		conf->relay_hostname[i] = (host[i] >= 'A' && host[i] <= 'Z') ?
		    (char)(host[i] + 32) : host[i];
	conf->relay_hostname[i] = '\0';
}

int
tg_conf_load(const char *path, struct tg_conf **out, struct tg_err *err)
{
	struct tg_buf b;
	int must, missing;

	*out = NULL;
	tg_err_clear(err);
	path = conf_lookup(path, &must);
	tg_buf_init(&b, TG_CONF_FILE_MAX);
	if (conf_read(path, must, &b, &missing, err) != 0) {
		tg_buf_free(&b);
		return -1;
	}
	if (tg_conf_parse(tg_buf_cstr(&b), b.len, path, out, err) != 0) {
		tg_buf_free(&b);
		return -1;
	}
	tg_buf_free(&b);
	if (missing)
		(*out)->source[0] = '\0';
	conf_fill_hostname(*out);
	return 0;
}

/* ---- show, reload, table --------------------------------------------- */

static json_t *
json_value(const struct conf_key *k, const void *field)
{
	struct tg_buf b;
	json_t *j, *arr;
	size_t i, n;

	if (k->type == T_BOOL)
		return json_boolean(*(const int *)field);
	if (k->type == T_INT || k->type == T_DURATION)
		return json_integer((json_int_t)*(const int64_t *)field);
	n = k->info.is_list ? conf_list_len(field) : 1;
	arr = k->info.is_list ? json_array() : NULL;
	tg_buf_init(&b, TG_CONF_LINE_MAX);
	for (i = 0, j = NULL; i < n; i++) {
		tg_buf_reset(&b);
		j = conf_fmt_value(k, field, i, &b) == 0 ?
		    json_string(tg_buf_cstr(&b)) : NULL;
		if (arr != NULL && json_array_append_new(arr, j) != 0)
			break;
	}
	tg_buf_free(&b);
	return arr != NULL ? arr : j;
}

static int
show_json(const struct tg_conf *conf, struct tg_buf *out)
{
	json_t *obj = json_object();
	char *text;
	size_t i;
	int rc;

	if (obj == NULL)
		return -1;
	for (i = 0; i < NKEYS; i++) {
		if (json_object_set_new(obj, keys[i].info.name,
		    json_value(&keys[i], conf_cfield(conf, &keys[i]))) != 0) {
			json_decref(obj);
			return -1;
		}
	}
	text = json_dumps(obj, JSON_INDENT(2));
	json_decref(obj);
	if (text == NULL)
		return -1;
	rc = tg_buf_puts(out, text) != 0 || tg_buf_puts(out, "\n") != 0;
	free(text);
	return rc ? -1 : 0;
}

int
tg_conf_show(const struct tg_conf *conf, int json, struct tg_buf *out)
{
	size_t i;

	if (json)
		return show_json(conf, out);
	struct tg_buf line;
	int rc = 0;

	tg_buf_init(&line, TG_CONF_FILE_MAX);
	for (i = 0; i < NKEYS && rc == 0; i++) {
		tg_buf_reset(&line);
		if (tg_buf_printf(&line, "%s = ", keys[i].info.name) != 0 ||
		    conf_fmt_line_value(&keys[i], conf_cfield(conf, &keys[i]),
		    &line) != 0 || tg_buf_puts(&line, "\n") != 0 ||
		    tg_buf_append(out, line.data, line.len) != 0)
			rc = -1;
	}
	tg_buf_free(&line);
	return rc;
}

int
tg_conf_check_reload(const struct tg_conf *old_conf,
    const struct tg_conf *new_conf, struct tg_err *err)
{
	struct tg_buf a, b;
	size_t i;
	int rc = 0;

	tg_err_clear(err);
	tg_buf_init(&a, TG_CONF_FILE_MAX);
	tg_buf_init(&b, TG_CONF_FILE_MAX);
	for (i = 0; i < NKEYS && rc == 0; i++) {
		if (keys[i].info.reloadable)
			continue;
		tg_buf_reset(&a);
		tg_buf_reset(&b);
		if (conf_fmt_line_value(&keys[i],
		    conf_cfield(old_conf, &keys[i]), &a) != 0 ||
		    conf_fmt_line_value(&keys[i],
		    conf_cfield(new_conf, &keys[i]), &b) != 0)
			rc = tg_err_set(err, TG_ERR_TEMP, NULL,
			    "out of memory");
		else if (strcmp(tg_buf_cstr(&a), tg_buf_cstr(&b)) != 0)
			rc = tg_err_set(err, TG_ERR_PERM, NULL,
			    "%s: changed from %.*s to %.*s; needs a restart",
			    keys[i].info.name, QUOTE_MAX, tg_buf_cstr(&a),
			    QUOTE_MAX, tg_buf_cstr(&b));
	}
	tg_buf_free(&a);
	tg_buf_free(&b);
	return rc;
}

size_t
tg_conf_key_count(void)
{
	return NKEYS;
}

const struct tg_conf_keyinfo *
tg_conf_key_at(size_t i)
{
	return i < NKEYS ? &keys[i].info : NULL;
}
