/*
 * dns/resolver_unbound — see resolver_unbound.h.
 */
#include "dns/resolver_unbound.h"

#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unbound-event.h>
#include <unbound.h>
#include <unistd.h>

#include "core/log.h"
#include "dns/resolver_impl.h"

#define RR_CLASS_IN 1

/* Lines of a trust anchor file examined at most (ldns reads a record per
 * call; comments and blank lines count too). */
#define TA_LINES_MAX 4096

struct ub_impl {
	struct ub_ctx *ctx;	/* owned */
};

/* --- libunbound's log lines into core/log --- */

/* Emit one line "[time] libunbound[pid:thread] error: text". */
static void
ublog_line(const char *line)
{
	const char *msg = strstr(line, "] ");

	if (strncmp(line, "[", 1) == 0 && msg != NULL &&
	    (msg = strstr(msg + 2, "] ")) != NULL)
		line = msg + 2;
	if (strncmp(line, "error:", 6) == 0 ||
	    strncmp(line, "warning:", 8) == 0)
		tg_log_warn(NULL, "unbound: %s", line);
	else
		tg_log_debug(NULL, "unbound: %s", line);
}

static ssize_t
ublog_write(void *cookie, const char *buf, size_t size)
{
	static char line[TG_LOG_LINE_MAX];
	static size_t len;
	size_t i;

	(void)cookie;
	for (i = 0; i < size; i++) {
		if (buf[i] == '\n') {
			line[len] = '\0';
			ublog_line(line);
			len = 0;
		} else if (len < sizeof(line) - 1) {
			line[len++] = buf[i];
		}
	}
	return (ssize_t)size;
}

/* libunbound logs to one process-wide FILE; ours stays open for good. */
static FILE *
ublog_file(void)
{
	static FILE *f;
	cookie_io_functions_t io = { NULL, ublog_write, NULL, NULL };

	if (f == NULL) {
		f = fopencookie(NULL, "w", io);
		if (f != NULL)
			setvbuf(f, NULL, _IOLBF, 0);
	}
	return f;
}

/* --- Trust anchor file --- */

/* Read the whole file (a regular file of at most TG_DNS_TA_FILE_MAX
 * bytes) into a NUL-terminated buffer. */
static char *
ta_read(const char *path, size_t *len, struct tg_err *err)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > TG_DNS_TA_FILE_MAX) {
		close(fd);
		tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s: not a regular file of at most %d bytes", path,
		    TG_DNS_TA_FILE_MAX);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	n = buf != NULL ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (n < 0) {
		free(buf);
		tg_err_set(err, TG_ERR_PERM, NULL, "%s: cannot read", path);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* Count the DS and DNSKEY records in buf (zone-file form, ldns parses).
 * -1 with err on a syntax error. */
static int
ta_count(char *buf, size_t len, const char *path, struct tg_err *err)
{
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = 3600;
	int line = 0, count = 0, i;
	FILE *f;

	f = fmemopen(buf, len, "r");
	if (f == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	for (i = 0; i < TA_LINES_MAX && !feof(f); i++) {
		ldns_rr *rr = NULL;
		ldns_status st;

		st = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);
		if (st == LDNS_STATUS_OK) {
			ldns_rr_type t = ldns_rr_get_type(rr);

			count += t == LDNS_RR_TYPE_DS ||
			    t == LDNS_RR_TYPE_DNSKEY;
			ldns_rr_free(rr);
		} else if (st != LDNS_STATUS_SYNTAX_EMPTY &&
		    st != LDNS_STATUS_SYNTAX_TTL &&
		    st != LDNS_STATUS_SYNTAX_ORIGIN && !feof(f)) {
			count = tg_err_set(err, TG_ERR_PERM, NULL,
			    "%s:%d: %s", path, line,
			    ldns_get_errorstr_by_id(st));
			break;
		}
	}
	fclose(f);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	return count;
}

/*
 * Give libunbound the trust anchor file. An autotrust file (RFC 5011
 * state kept by unbound-anchor or unbound itself) carries ";;id:" lines
 * and must be loaded as such, so that libunbound tracks key rollovers
 * and skips revoked keys; any other file is plain DS/DNSKEY records.
 */
static int
ta_apply(struct ub_ctx *ctx, const char *path, struct tg_err *err)
{
	size_t len = 0;
	char *buf;
	int n, autotrust, rc;

	buf = ta_read(path, &len, err);
	if (buf == NULL)
		return -1;
	autotrust = strstr(buf, ";;id:") != NULL;
	n = ta_count(buf, len, path, err);
	free(buf);
	if (n == -1)
		return -1;
	if (n == 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s: no DS or DNSKEY record", path);
	rc = autotrust ? ub_ctx_add_ta_autr(ctx, path) :
	    ub_ctx_add_ta_file(ctx, path);
	if (rc != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", path,
		    ub_strerror(rc));
	return 0;
}

/* --- Settings --- */

static int
is_loopback(const struct tg_resolver_server *s)
{
	return strncmp(s->addr, "127.", 4) == 0 || strcmp(s->addr, "::1") == 0;
}

static void
server_text(const struct tg_resolver_server *s, char *out, size_t len)
{
	snprintf(out, len, "%s@%u", s->addr, (unsigned)s->port);
}

static void
zone_text(const char *zone, char *out, size_t len)
{
	snprintf(out, len, "%s%s", zone, strcmp(zone, ".") == 0 ? "" : ".");
}

static int
servers_apply(struct ub_ctx *ctx, const struct tg_resolver_config *cfg,
    struct tg_err *err)
{
	char addr[TG_DNS_ADDR_TEXT_SIZE + 8], zone[TG_DNS_NAME_SIZE + 1];
	int loopback = 0, rc = 0;
	size_t i;

	for (i = 0; i < cfg->nforward && rc == 0; i++) {
		server_text(&cfg->forward[i], addr, sizeof(addr));
		loopback |= is_loopback(&cfg->forward[i]);
		if ((rc = ub_ctx_set_fwd(ctx, addr)) != 0)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "forwarder %s: %s", addr, ub_strerror(rc));
	}
	for (i = 0; i < cfg->nstub; i++) {
		server_text(&cfg->stub[i].server, addr, sizeof(addr));
		zone_text(cfg->stub[i].zone, zone, sizeof(zone));
		loopback |= is_loopback(&cfg->stub[i].server);
		if ((rc = ub_ctx_set_stub(ctx, zone, addr, 0)) != 0)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "stub %s=%s: %s", zone, addr, ub_strerror(rc));
	}
	if (loopback &&
	    (rc = ub_ctx_set_option(ctx, "do-not-query-localhost:", "no")) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "do-not-query-localhost: %s", ub_strerror(rc));
	if (cfg->hosts_file[0] != '\0' &&
	    (rc = ub_ctx_hosts(ctx, cfg->hosts_file)) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "hosts file %s: %s",
		    cfg->hosts_file, ub_strerror(rc));
	return 0;
}

/* Remove the local zone at zone (text with trailing dot), if any. This
 * also finalises the context: the first call applies every setting. */
static int
zone_unblock(struct ub_ctx *ctx, const char *zone, struct tg_err *err)
{
	int rc = ub_ctx_zone_remove(ctx, zone);

	if (rc != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "libunbound rejected the settings (%s); its log says why",
		    ub_strerror(rc));
	return 0;
}

/*
 * libunbound answers RFC 6761 special-use and RFC 6303 local zones by
 * itself. Remove those at or above each stub zone, so that the stub is
 * asked; remove "test." too when the root is stubbed or forwarded.
 */
static int
zones_apply(struct ub_ctx *ctx, const struct tg_resolver_config *cfg,
    struct tg_err *err)
{
	char zone[TG_DNS_NAME_SIZE + 1];
	const char *p;
	size_t i;
	int all = cfg->nforward > 0;

	/* No local zone exists at the root, so this changes nothing but
	 * applies the settings now and reports errors here. */
	if (zone_unblock(ctx, ".", err) == -1)
		return -1;
	for (i = 0; i < cfg->nstub; i++) {
		if (strcmp(cfg->stub[i].zone, ".") == 0) {
			all = 1;
			continue;
		}
		zone_text(cfg->stub[i].zone, zone, sizeof(zone));
		for (p = zone; p != NULL && *p != '\0';
		    p = strchr(p, '.') != NULL ? strchr(p, '.') + 1 : NULL)
			if (zone_unblock(ctx, p, err) == -1)
				return -1;
	}
	if (all && zone_unblock(ctx, "test.", err) == -1)
		return -1;
	return 0;
}

static struct ub_ctx *
ctx_new(struct event_base *base, const struct tg_resolver_config *cfg,
    struct tg_err *err)
{
	struct ub_ctx *ctx;
	FILE *log;

	ctx = ub_ctx_create_event(base);
	if (ctx == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL,
		    "cannot create a libunbound context");
		return NULL;
	}
	if ((log = ublog_file()) != NULL)
		ub_ctx_debugout(ctx, log);
	if ((cfg->trust_anchor_file[0] != '\0' &&
	    ta_apply(ctx, cfg->trust_anchor_file, err) == -1) ||
	    servers_apply(ctx, cfg, err) == -1 ||
	    zones_apply(ctx, cfg, err) == -1) {
		ub_ctx_delete(ctx);
		return NULL;
	}
	return ctx;
}

/* --- Queries --- */

/* libunbound's event callback; may run inside ub_resolve_event() when
 * the answer is local or cached — tg_resolver_complete defers delivery. */
static void
ub_done(void *arg, int rcode, void *pkt, int len, int sec, char *why_bogus,
    int was_ratelimited)
{
	struct tg_dns_query *q = arg;
	struct tg_dns_answer *ans;

	(void)was_ratelimited;
	ans = tg_dns_answer_from_wire(q->name, q->rrtype, rcode, pkt,
	    len > 0 ? (size_t)len : 0, sec, why_bogus);
	q->impl_id = 0;
	tg_resolver_complete(q, ans);
}

static int
ub_start(void *impl, struct tg_dns_query *q, struct tg_err *err)
{
	struct ub_impl *u = impl;
	int rc;

	q->impl_id = 0;
	rc = ub_resolve_event(u->ctx, q->name, q->rrtype, RR_CLASS_IN, q,
	    ub_done, &q->impl_id);
	if (rc != 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "libunbound: %s",
		    ub_strerror(rc));
	return 0;
}

static void
ub_stop(void *impl, struct tg_dns_query *q)
{
	struct ub_impl *u = impl;

	/* libunbound keeps working on it but will not call ub_done. */
	if (q->impl_id != 0)
		(void)ub_cancel(u->ctx, q->impl_id);
	q->impl_id = 0;
}

static void
ub_free(void *impl)
{
	struct ub_impl *u = impl;

	if (u == NULL)
		return;
	ub_ctx_delete(u->ctx);
	free(u);
}

static const struct tg_resolver_ops ub_ops = {
	.name = "unbound",
	.start = ub_start,
	.stop = ub_stop,
	.free = ub_free,
};

struct tg_resolver *
tg_resolver_unbound_new(struct event_base *base,
    const struct tg_resolver_config *cfg, struct tg_err *err)
{
	struct tg_resolver *r;
	struct ub_impl *u;

	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	u->ctx = ctx_new(base, cfg, err);
	if (u->ctx == NULL) {
		free(u);
		return NULL;
	}
	r = tg_resolver_new(&ub_ops, u, base, cfg->timeout_s);
	if (r == NULL)
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	return r;
}
