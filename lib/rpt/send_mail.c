/*
 * rpt/send — report mail (RFC 8460 §5.3.1): the message, its DKIM
 * signature, the submission marker, the outbox and the SMTP submission
 * to our relay. See send.h.
 */
#include "rpt/send.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <opendkim/dkim.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "rpt/send_int.h"
#include "smtp/client.h"
#include "smtp/submark.h"
#include "util/dname.h"
#include "util/limits.h"
#include "util/path.h"

#define MAIL_LINE_B64	57	/* input bytes per 76-column base64 line */
#define MAIL_SIGHDR_MAX	4096

/* ---- mailto: ----------------------------------------------------- */

static int
mail_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One address: local@domain, printable, nothing that could break out of
 * an SMTP path or a header. */
static int
mail_addr_ok(const char *a, struct tg_err *err)
{
	const char *at = strrchr(a, '@');
	char dom[TG_DNAME_MAX + 1];
	size_t i;

	for (i = 0; a[i] != '\0'; i++)
		if ((unsigned char)a[i] <= ' ' || (unsigned char)a[i] >= 0x7f ||
		    strchr("<>()[],;:\"\\", a[i]) != NULL)
			return tg_err_set(err, TG_ERR_PERM, NULL, "mailto: "
			    "address has a character that is not allowed");
	if (at == NULL || at == a || strchr(a, '@') != at)
		return tg_err_set(err, TG_ERR_PERM, NULL, "mailto: not one "
		    "local@domain address");
	if (tg_dname_normalize(at + 1, dom, sizeof(dom), err) != 0)
		return -1;
	return 0;
}

int
tg_send_mailto_addr(const char *uri, char *out, size_t outlen,
    struct tg_err *err)
{
	size_t i, o = 0;
	int h, l;

	if (strncasecmp(uri, "mailto:", 7) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "not a mailto: URI");
	/* RFC 6068 §2: the address ends at '?'; %XX are octets. */
	for (i = 7; uri[i] != '\0' && uri[i] != '?'; i++) {
		char c = uri[i];

		if (c == '%') {
			if ((h = mail_hex(uri[i + 1])) < 0 ||
			    (l = mail_hex(uri[i + 2])) < 0)
				return tg_err_set(err, TG_ERR_PERM, NULL,
				    "mailto: bad %%-escape");
			c = (char)(h * 16 + l);
			i += 2;
		}
		if (o + 1 >= outlen)
			return tg_err_set(err, TG_ERR_PERM, NULL, "mailto: "
			    "address too long");
		out[o++] = c;
	}
	out[o] = '\0';
	return mail_addr_ok(out, err);
}

/* ---- the message ------------------------------------------------- */

static int
mail_put(struct tg_buf *b, struct tg_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
mail_put(struct tg_buf *b, struct tg_err *err, const char *fmt, ...)
{
	va_list ap;
	char line[1024];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    tg_buf_append(b, line, (size_t)n) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "report mail larger "
		    "than %zu bytes", b->limit);
	return 0;
}

static int
mail_base64(struct tg_buf *b, const unsigned char *p, size_t n,
    struct tg_err *err)
{
	unsigned char line[80];
	size_t i, k;

	for (i = 0; i < n; i += MAIL_LINE_B64) {
		k = n - i < MAIL_LINE_B64 ? n - i : MAIL_LINE_B64;
		EVP_EncodeBlock(line, p + i, (int)k);
		if (mail_put(b, err, "%s\r\n", (char *)line) != 0)
			return -1;
	}
	return 0;
}

/* The unsigned message: RFC 8460 §5.3.1 headers and MIME structure. */
static int
mail_compose(const struct tg_send_config *cfg, const char *rcpt,
    const char *domain, const char *report_id, const char *filename,
    const void *gz, size_t len, time_t now, struct tg_buf *b,
    struct tg_err *err)
{
	unsigned char rnd[8];
	char date[64], bound[40];
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "no random bytes");
	snprintf(bound, sizeof(bound), "=_tlsrpt_%02x%02x%02x%02x%02x%02x%02x"
	    "%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
	    rnd[7]);
	if (mail_put(b, err, "From: <%s>\r\nTo: <%s>\r\nDate: %s\r\n"
	    "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\r\n"
	    "Message-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
	    "TLS-Report-Domain: %s\r\nTLS-Report-Submitter: %s\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n"
	    "\tboundary=\"%s\"\r\n\r\n", cfg->mail_from, rcpt, date, domain,
	    cfg->submitter, report_id, report_id, cfg->submitter, domain,
	    cfg->submitter, bound) != 0 ||
	    mail_put(b, err, "This is a MIME-formatted message.\r\n\r\n"
	    "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\n"
	    "This is an aggregate TLS report (RFC 8460) from %s\r\n"
	    "about mail delivered to %s.\r\n\r\n", bound, cfg->submitter,
	    domain) != 0 ||
	    mail_put(b, err, "--%s\r\nContent-Type: application/tlsrpt+gzip\r\n"
	    "Content-Transfer-Encoding: base64\r\nContent-Disposition: "
	    "attachment;\r\n\tfilename=\"%s\"\r\n\r\n", bound, filename) != 0 ||
	    mail_base64(b, gz, len, err) != 0 ||
	    mail_put(b, err, "\r\n--%s--\r\n", bound) != 0)
		return -1;
	return 0;
}

/* Read a PEM key file, bounded. */
static char *
mail_read_key(const char *path, struct tg_err *err)
{
	struct tg_buf b;
	char chunk[4096];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		tg_err_set(err, TG_ERR_PERM, NULL, "DKIM key %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	tg_buf_init(&b, TG_CERT_FILE_MAX);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (tg_buf_append(&b, chunk, (size_t)n) != 0) {
			n = -1;
			break;
		}
	close(fd);
	if (n < 0 || b.len == 0) {
		tg_buf_free(&b);
		tg_err_set(err, TG_ERR_PERM, NULL, "DKIM key %s: unreadable or "
		    "too large", path);
		return NULL;
	}
	return tg_buf_take(&b);
}

/* RFC 8460 §3: DKIM-sign msg with libopendkim (relaxed/relaxed,
 * rsa-sha256, no l=); the DKIM-Signature field goes to out. */
static int
mail_dkim_sign(const struct tg_send_config *cfg, const struct tg_buf *msg,
    struct tg_buf *out, struct tg_err *err)
{
	unsigned char hdr[MAIL_SIGHDR_MAX];
	DKIM_LIB *lib = NULL;
	DKIM *d = NULL;
	DKIM_STAT st;
	char *key;
	int rc = -1;

	if ((key = mail_read_key(cfg->dkim_key_file, err)) == NULL)
		return -1;
	if ((lib = dkim_init(NULL, NULL)) == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "libopendkim: init failed");
		goto out;
	}
	d = dkim_sign(lib, (const u_char *)"tlsrpt", NULL, (dkim_sigkey_t)key,
	    (const u_char *)cfg->dkim_selector, (const u_char *)cfg->submitter,
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1,
	    &st);
	if (d == NULL || dkim_chunk(d, (u_char *)msg->data, msg->len) !=
	    DKIM_STAT_OK || dkim_chunk(d, NULL, 0) != DKIM_STAT_OK ||
	    dkim_eom(d, NULL) != DKIM_STAT_OK ||
	    dkim_getsighdr(d, hdr, sizeof(hdr), strlen(DKIM_SIGNHEADER) + 2) !=
	    DKIM_STAT_OK) {
		tg_err_set(err, TG_ERR_PERM, NULL, "DKIM signing failed%s%s",
		    d != NULL ? ": " : "", d != NULL ?
		    dkim_geterror(d) != NULL ? dkim_geterror(d) : "" : "");
		goto out;
	}
	rc = mail_put(out, err, "%s: %s\r\n", DKIM_SIGNHEADER, (char *)hdr);
out:
	if (d != NULL)
		dkim_free(d);
	if (lib != NULL)
		dkim_close(lib);
	OPENSSL_cleanse(key, strlen(key));
	free(key);
	return rc;
}

int
tg_send_mail_build(const struct tg_send_config *cfg, const char *rcpt,
    const char *domain, const char *report_id, const char *filename,
    const void *gz, size_t len, time_t now, struct tg_buf *out,
    struct tg_err *err)
{
	struct tg_buf msg, signed_msg;
	char mark[TG_SUBMARK_LINE_LEN + 1];
	int rc = -1;

	tg_err_clear(err);
	tg_buf_init(&msg, out->limit);
	tg_buf_init(&signed_msg, out->limit);
	if (mail_compose(cfg, rcpt, domain, report_id, filename, gz, len, now,
	    &msg, err) != 0)
		goto out;
	if (cfg->dkim_selector != NULL && cfg->dkim_selector[0] != '\0' &&
	    mail_dkim_sign(cfg, &msg, &signed_msg, err) != 0)
		goto out;
	if (tg_buf_append(&signed_msg, msg.data, msg.len) != 0) {
		tg_err_set(err, TG_ERR_PERM, NULL, "report mail too large");
		goto out;
	}
	tg_submark_line(cfg->marker_key, signed_msg.data, signed_msg.len, mark);
	if (mail_put(out, err, "%s", mark) != 0)
		goto out;
	if (tg_buf_append(out, signed_msg.data, signed_msg.len) != 0) {
		tg_err_set(err, TG_ERR_PERM, NULL, "report mail too large");
		goto out;
	}
	rc = 0;
out:
	tg_buf_free(&msg);
	tg_buf_free(&signed_msg);
	return rc;
}

/* ---- the outbox -------------------------------------------------- */

int
send_outbox_write(const char *outbox_dir, const char *name, const char *msg,
    size_t len, struct tg_err *err)
{
	char tmp[TG_PATH_MAX], final[TG_PATH_MAX];
	int fd, ok;

	if (tg_path_mkdirs(outbox_dir, 0700, 0700, err) != 0)
		return -1;
	if (tg_path_fmt(tmp, sizeof(tmp), "%s/.%s.tmp", outbox_dir,
	    name) != 0 ||
	    tg_path_fmt(final, sizeof(final), "%s/%s", outbox_dir, name) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "outbox path too "
		    "long");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "%s: %s", tmp,
		    strerror(errno));
	ok = write(fd, msg, len) == (ssize_t)len && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, final) != 0) {
		unlink(tmp);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "%s: cannot write",
		    final);
	}
	if ((fd = open(outbox_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return 0;
}

void
send_outbox_remove(const char *outbox_dir, const char *name)
{
	char path[TG_PATH_MAX];

	if (tg_path_fmt(path, sizeof(path), "%s/%s", outbox_dir, name) == 0)
		(void)unlink(path);
}

/* ---- SMTP submission to the relay -------------------------------- */

struct send_smtp {
	struct tg_smtpc *c;		/* owned */
	struct tg_spool_rcpt rcpt;
	char addr[TG_SMTPD_PATH_MAX];
	struct tg_smtpc_txn txn;
	const char *msg;		/* borrowed */
	size_t len, off;
	send_smtp_cb cb;
	void *arg;
	int *unreachable;
	int done;
};

static ssize_t
smtp_read(void *arg, void *buf, size_t cap, struct tg_err *err)
{
	struct send_smtp *sm = arg;
	size_t n = sm->len - sm->off < cap ? sm->len - sm->off : cap;

	(void)err;
	memcpy(buf, sm->msg + sm->off, n);
	sm->off += n;
	return (ssize_t)n;
}

/* The connection stays open until send_smtp_free, which the caller
 * calls from a later event: tg_smtpc_free must not run inside the
 * client's own callbacks, and a QUIT that waits for its reply could
 * outlive a run that has ended. */
static void
smtp_finish(struct send_smtp *sm, enum send_outcome o, const char *text)
{
	if (sm->done)
		return;
	sm->done = 1;
	sm->cb(o, text, sm->arg);
}

static void
smtp_done(struct tg_smtpc *c, const struct tg_smtpc_txn_result *res,
    void *arg)
{
	struct send_smtp *sm = arg;
	const struct tg_smtpc_outcome *why = &res->data;

	(void)c;
	if (res->delivered == 1) {
		smtp_finish(sm, SEND_OK, res->data.text);
		return;
	}
	if (res->mail.cls != TG_ERR_NONE)
		why = &res->mail;
	else if (res->nrcpt > 0 && res->rcpt[0].rcpt.cls != TG_ERR_NONE)
		why = &res->rcpt[0].rcpt;
	else if (res->nrcpt > 0 && res->rcpt[0].final.cls != TG_ERR_NONE)
		why = &res->rcpt[0].final;
	smtp_finish(sm, why->cls == TG_ERR_PERM ? SEND_PERM : SEND_TEMP,
	    why->text);
}

static void
smtp_ready(struct tg_smtpc *c, const struct tg_smtpc_conn *res, void *arg)
{
	struct send_smtp *sm = arg;
	struct tg_err err;

	if (res->status != TG_SMTPC_OK) {
		if (res->status == TG_SMTPC_CONNECT_REFUSED ||
		    res->status == TG_SMTPC_CONNECT_TIMEOUT ||
		    res->status == TG_SMTPC_CONNECT_FAILED)
			*sm->unreachable = 1;
		smtp_finish(sm, res->why.cls == TG_ERR_PERM ? SEND_PERM :
		    SEND_TEMP, res->why.text[0] != '\0' ? res->why.text :
		    tg_smtpc_status_name(res->status));
		return;
	}
	if (tg_smtpc_send(c, &sm->txn, smtp_done, sm, &err) != 0)
		smtp_finish(sm, SEND_TEMP, err.msg);
}

struct send_smtp *
send_smtp_start(struct event_base *base, const struct tg_send_config *cfg,
    const char *rcpt, const char *msg, size_t len, send_smtp_cb cb,
    void *arg, int *unreachable, struct tg_err *err)
{
	struct tg_smtpc_params p;
	struct send_smtp *sm;

	if ((sm = calloc(1, sizeof(*sm))) == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	snprintf(sm->addr, sizeof(sm->addr), "%s", rcpt);
	sm->rcpt.addr = sm->addr;
	sm->txn.sender = cfg->mail_from;
	sm->txn.rcpt = &sm->rcpt;
	sm->txn.nrcpt = 1;
	sm->txn.size = len;
	sm->txn.read = smtp_read;
	sm->txn.read_arg = sm;
	sm->msg = msg;
	sm->len = len;
	sm->cb = cb;
	sm->arg = arg;
	sm->unreachable = unreachable;
	tg_smtpc_params_init(&p);
	p.addr = cfg->relay_addr;
	p.port = cfg->relay_port;
	p.helo_name = cfg->helo_name;
	/* Our own relay on an internal address: no TLS on this hop. */
	p.tls = TG_SMTPC_TLS_NONE;
	p.tmo.connect_ms = TG_RPT_SEND_TIMEOUT_S * 1000;
	if ((sm->c = tg_smtpc_connect(base, &p, smtp_ready, sm, err)) == NULL) {
		free(sm);
		return NULL;
	}
	return sm;
}

void
send_smtp_free(struct send_smtp *sm)
{
	if (sm == NULL)
		return;
	if (sm->c != NULL)
		tg_smtpc_free(sm->c);
	free(sm);
}
