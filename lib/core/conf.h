/*
 * core/conf — the bootstrap configuration file, tlsgate.conf.
 *
 * Owns: the one table of every key (name, type, default, range or allowed
 * values, reloadable or not, one-line doc) and everything derived from it:
 * defaults, parsing and validation of the file, `tlsgate config show`
 * (text and JSON), the reload check, and the key list used by docs and
 * tests. Does not own: what the daemons do with the values (binding,
 * dropping privileges, resolver set-up), and everything kept in the store.
 *
 * File format (etc/tlsgate.conf documents every key):
 *   - one `key = value` per line; blank lines and lines starting with `#`
 *     are ignored; an unquoted value ends at `#` (a trailing comment);
 *     whitespace around key and value is trimmed; CRLF line ends are fine;
 *   - a value may be double-quoted: then `#` and leading or trailing spaces
 *     inside are kept. There are no escapes; a value never contains `"`
 *     nor control characters;
 *   - a list key may be given several times (each occurrence appends to the
 *     list) and/or as comma-separated values; the first occurrence replaces
 *     the default; an empty value (`key =` or `key = ""`) gives an empty
 *     list;
 *   - any other key may appear at most once.
 * Parsing is strict: an unknown key, a bad value, a repeated non-list key, a
 * line without `=`, a line longer than TG_CONF_LINE_MAX, a file larger than
 * TG_CONF_FILE_MAX or with a NUL byte is an error naming file, line and key:
 *   /etc/tlsgate/tlsgate.conf:12: dns.timeout: "abc" is not a number of
 *   seconds (1..300)
 *
 * Value types:
 *   string    free text (UTF-8), possibly empty;
 *   path      an absolute path; empty means "unset" where the key allows it;
 *   bool      yes/no, true/false, on/off, 1/0 (any case);
 *   int       a decimal number within the key's range;
 *   duration  seconds: "30", "30s", "5m", "2h", "5d", within the key's range;
 *   enum      one of the key's allowed words;
 *   domain    a domain name (util/dname rules), stored normalised; the only
 *             such key, relay.hostname, may be empty (see tg_conf_load);
 *   user      a login name, or empty for "do not change user";
 *   listen    list of IP:PORT: "127.0.0.1:10025", "[::1]:25", and "*:25"
 *             or ":25" for every address; the IP is stored canonical
 *             (inet_ntop), "" meaning every address;
 *   forward   list of IP[@PORT] (port 53 when not given);
 *   stub      list of ZONE=IP[@PORT]; ZONE may be written "test" or
 *             "test." and is stored lower case without the trailing dot
 *             ("." alone is the root zone and stays ".").
 *
 * A struct tg_conf is a frozen snapshot: plain data, no pointers. Daemons
 * keep a pointer to one; a reload parses a new one, checks it against the
 * running one with tg_conf_check_reload, and swaps it in between sessions
 * or keeps the old one and logs why.
 */
#ifndef TG_CORE_CONF_H
#define TG_CORE_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"

/* An IP address and a port: listen, forward and stub entries. */
struct tg_conf_addr {
	char host[TG_CONF_HOST_MAX];	/* canonical IP text, "" = any */
	uint16_t port;
};

struct tg_conf_addrs {
	size_t n;
	struct tg_conf_addr v[TG_CONF_LIST_MAX];
};

/* dns.stub entry: queries at or below zone go to addr. */
struct tg_conf_stub {
	char zone[TG_DNAME_MAX + 1];	/* lower case, no trailing dot */
	struct tg_conf_addr addr;
};

struct tg_conf_stubs {
	size_t n;
	struct tg_conf_stub v[TG_CONF_LIST_MAX];
};

/* Field names follow the keys: "dns.timeout" is dns_timeout. Durations
 * are in seconds. */
/* acme.challenge, in the order of its words. */
enum tg_conf_acme_challenge {
	TG_CONF_ACME_HTTP01 = 0,
	TG_CONF_ACME_DNS01
};

struct tg_conf {
	/* The file the snapshot was read from; "" when tg_conf_load found
	 * no file at the default path and used the built-in defaults. */
	char source[TG_PATH_MAX];

	char state_dir[TG_PATH_MAX];
	char spool_dir[TG_PATH_MAX];
	char run_dir[TG_PATH_MAX];
	char user[TG_CONF_USER_MAX];	/* "" = do not drop privileges */
	int log_dest;			/* enum tg_log_dest (core/log.h) */
	int log_level;			/* enum tg_log_level (core/log.h) */

	struct tg_conf_addrs relay_listen;
	struct tg_conf_addrs mx_listen;
	struct tg_conf_addrs sts_listen;
	struct tg_conf_addrs sts_http_listen;	/* ACME http-01 */
	struct tg_conf_addrs rpt_listen;
	struct tg_conf_addrs admin_listen;

	char admin_hostname[TG_CONF_TEXT_MAX];	/* console's name */
	char relay_hostname[TG_DNAME_MAX + 1];
	int64_t smtp_max_message_size;	/* bytes */
	int64_t smtp_max_recipients;
	int64_t queue_max_lifetime;
	int64_t queue_min_backoff;
	int64_t queue_max_backoff;
	int64_t relay_max_connections;
	int64_t relay_destination_concurrency;
	int relay_requiretls;		/* offer REQUIRETLS (RFC 8689) */
	int mx_route_tls;		/* 0 may, 1 encrypt (STARTTLS needed) */
	int mx_verify_recipients;	/* probe the route at RCPT */
	int64_t mx_dsn_rate_limit;	/* per sender domain and hour */
	/* DANE rollover (controllerd): off while update_server is empty. */
	struct tg_conf_addrs dane_update_server;
	char dane_tsig_key_file[TG_PATH_MAX];
	char dane_update_hook[TG_PATH_MAX];	/* "" = RFC 2136 or none */
	char alerts_hook[TG_PATH_MAX];		/* "" = log only */
	char dane_zone[TG_DNAME_MAX + 1];
	int64_t dane_tlsa_ttl;
	int64_t dane_renew_before;

	/* ACME (RFC 8555, controllerd): off while directory is empty. */
	char acme_directory[TG_CONF_TEXT_MAX];
	int acme_challenge;		/* enum tg_conf_acme_challenge */
	char acme_email[TG_CONF_TEXT_MAX];
	char acme_ca_file[TG_PATH_MAX];	/* "" = system trust store */
	int64_t acme_renew_before;

	char dns_trust_anchor_file[TG_PATH_MAX];
	struct tg_conf_addrs dns_forward;
	struct tg_conf_stubs dns_stub;
	int64_t dns_timeout;

	char sts_ca_file[TG_PATH_MAX];	/* "" = system trust store */
	int sts_allow_private_addresses;
	int64_t sts_fetch_timeout;
	char sts_public_name[TG_DNAME_MAX + 1];	/* "" = sts.listen addresses */
	int64_t sts_max_connections;
	int64_t sts_max_connections_per_address;

	int64_t store_poll_interval;

	char report_org_name[TG_CONF_TEXT_MAX];
	char report_contact[TG_CONF_TEXT_MAX];
	char report_dkim_selector[TG_CONF_TEXT_MAX];	/* "" = unsigned */
	int64_t report_send_delay;

	char rpt_path[TG_PATH_MAX];
	int64_t rpt_max_body_size;	/* bytes */
	int64_t rpt_rate_limit;		/* a minute, per address or /64 */
	int64_t rpt_max_db_size;	/* bytes */
};

/* One key of the table, as seen by docs and tests. All static. */
struct tg_conf_keyinfo {
	const char *name;		/* "dns.timeout" */
	const char *type;		/* "duration", "listen", ... (above) */
	const char *default_text;	/* as written in the file, "" if none */
	int reloadable;			/* 1: a reload may change it */
	int is_list;			/* 1: repeatable, comma-separated */
	long long min, max;		/* int and duration keys, else 0, 0 */
	const char *const *allowed;	/* enum keys: NULL-terminated words */
	const char *doc;		/* one line */
};

/*
 * Parse the bytes text[0..len) (need not be NUL-terminated) of a config
 * file; filename (borrowed, may be NULL) is used in messages and copied to
 * conf->source. Pure: no I/O, no globals, no logging. relay.hostname stays
 * empty when not given (tg_conf_load fills it in).
 * Returns 0 and *out (owned by the caller, tg_conf_free), or -1 with err
 * (class permanent, offset = start of the bad line) saying
 * "FILE:LINE: KEY: what is wrong"; TG_ERR_TEMP when memory runs out.
 */
int tg_conf_parse(const char *text, size_t len, const char *filename,
    struct tg_conf **out, struct tg_err *err);

/*
 * The file tg_conf_load(explicit_path) would read: explicit_path when not
 * NULL, else $TLSGATE_CONF when set and not empty, else
 * TG_SYSCONFDIR "/tlsgate/tlsgate.conf". Returns a borrowed string (the
 * argument, the environment's or a static one).
 */
const char *tg_conf_path_lookup(const char *explicit_path);

/*
 * Read and parse the file tg_conf_path_lookup(path) names. A missing file
 * is an error when it was named by path or $TLSGATE_CONF; when the default
 * file is missing every key takes its default (so tlsgate runs before it
 * is installed) and conf->source is "". When relay.hostname is empty it is
 * set to the machine's host name (gethostname), normalised when it is a
 * valid domain name, else kept lower-cased as it is: relayd should check
 * it with tg_dname_is_valid before using it as its EHLO name.
 * Returns 0 and *out (caller frees with tg_conf_free), or -1 with err.
 */
int tg_conf_load(const char *path, struct tg_conf **out, struct tg_err *err);

/* Release a snapshot. NULL-safe. */
void tg_conf_free(struct tg_conf *conf);

/*
 * Append every key to out, in table order: text form (json 0) is one
 * `key = value` line per key, in the file syntax (it parses back to the
 * same snapshot); JSON form (json 1) is one object, key → value: strings,
 * numbers (durations in seconds), booleans, and arrays of strings for
 * lists. Returns 0, or -1 when out's limit is reached or memory runs out.
 */
int tg_conf_show(const struct tg_conf *conf, int json, struct tg_buf *out);

/*
 * Whether a running daemon may switch from snapshot old to snapshot new.
 * Returns 0, or -1 with err (permanent) naming the first key, in table
 * order, that differs and is not reloadable (listen addresses, directories,
 * user, ...): "state_dir: changed from "/a" to "/b"; needs a restart".
 */
int tg_conf_check_reload(const struct tg_conf *old_conf,
    const struct tg_conf *new_conf, struct tg_err *err);

/* Number of keys in the table. */
size_t tg_conf_key_count(void);

/* Key i (0-based, table order), or NULL when i >= tg_conf_key_count(). */
const struct tg_conf_keyinfo *tg_conf_key_at(size_t i);

#endif
