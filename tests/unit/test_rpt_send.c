/*
 * Unit tests of rpt/send: reports built from recorded session results
 * (RFC 8460 §4; checked by parsing them back), the retry schedule, mailto
 * URIs, the report mail (§5.3.1 headers and parts, DKIM signature checked
 * by rpt/mail, the submission marker), and whole runs against scripted
 * DNS, an in-process HTTPS collector (libmicrohttpd, its own thread) and
 * an in-process SMTP relay (its own thread): delivered, retried with
 * backoff, refused for good, expired, outbox while the relay is away,
 * never sent to a domain without a _smtp._tls record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/log.h"
#include "dns/resolver_fake.h"
#include "net/fetch.h"
#include "rpt/gzip.h"
#include "rpt/mail.h"
#include "rpt/report.h"
#include "rpt/send.h"
#include "store/reports.h"
#include "support/pki.h"
#include "util/clock.h"

#define DAY1	1714521600	/* 2024-05-01T00:00:00Z */
#define NOW1	(DAY1 + 86400 + 3600)

/* ---- shared state ------------------------------------------------ */

static struct {
	EVP_PKEY *ca_key, *leaf_key, *dkim_key;
	X509 *ca;
	char ca_file[64];
	char dkim_pem_file[64];
	char dkim_keys_file[64];
} K;

static char *
pem_of(X509 *x, EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	if (x != NULL)
		assert_int_equal(PEM_write_bio_X509(b, x), 1);
	else
		assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0,
		    NULL, NULL), 1);
	n = BIO_get_mem_data(b, &p);
	out = strndup(p, (size_t)n);
	BIO_free(b);
	return out;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
group_setup(void **state)
{
	unsigned char *der = NULL, b64[1024];
	char *pem, line[1200];
	int n;

	(void)state;
	K.ca_key = tg_test_key();
	K.leaf_key = tg_test_key();
	K.ca = tg_test_cert(K.ca_key, "Test CA", NULL, -1, 30, 1, NULL, NULL);
	strcpy(K.ca_file, "/tmp/tg-send-ca-XXXXXX");
	close(mkstemp(K.ca_file));
	pem = pem_of(K.ca, NULL);
	write_file(K.ca_file, pem);
	free(pem);
	/* The DKIM key: PEM for signing, a key file line for checking. */
	K.dkim_key = EVP_RSA_gen(2048);
	strcpy(K.dkim_pem_file, "/tmp/tg-send-dkim-XXXXXX");
	close(mkstemp(K.dkim_pem_file));
	pem = pem_of(NULL, K.dkim_key);
	write_file(K.dkim_pem_file, pem);
	free(pem);
	n = i2d_PUBKEY(K.dkim_key, &der);
	EVP_EncodeBlock(b64, der, n);
	OPENSSL_free(der);
	strcpy(K.dkim_keys_file, "/tmp/tg-send-keys-XXXXXX");
	close(mkstemp(K.dkim_keys_file));
	snprintf(line, sizeof(line), "tlsrpt._domainkey.gw.example v=DKIM1; "
	    "k=rsa; p=%s\n", b64);
	write_file(K.dkim_keys_file, line);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	unlink(K.ca_file);
	unlink(K.dkim_pem_file);
	unlink(K.dkim_keys_file);
	X509_free(K.ca);
	EVP_PKEY_free(K.ca_key);
	EVP_PKEY_free(K.leaf_key);
	EVP_PKEY_free(K.dkim_key);
	return 0;
}

/* ---- the in-process HTTPS collector ------------------------------ */

struct post {
	char *body;
	size_t len;
};

struct collector {
	struct MHD_Daemon *d;
	unsigned short port;
	atomic_uint status;		/* what to answer */
	atomic_int posts;
	pthread_mutex_t lock;
	char ctype[128];
	char path[128];
	char *last;			/* last body (owned) */
	size_t last_len;
};

static enum MHD_Result
col_handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct collector *s = cls;
	struct post *p = *con_cls;
	struct MHD_Response *r;
	const char *ct;
	enum MHD_Result rc;

	(void)method;
	(void)version;
	if (p == NULL) {
		*con_cls = calloc(1, sizeof(struct post));
		return MHD_YES;
	}
	if (*upload_size > 0) {
		p->body = realloc(p->body, p->len + *upload_size);
		memcpy(p->body + p->len, upload, *upload_size);
		p->len += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	pthread_mutex_lock(&s->lock);
	snprintf(s->ctype, sizeof(s->ctype), "%s", ct != NULL ? ct : "");
	snprintf(s->path, sizeof(s->path), "%s", url);
	free(s->last);
	s->last = p->body;
	s->last_len = p->len;
	p->body = NULL;
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_add(&s->posts, 1);
	r = MHD_create_response_from_buffer(3, (void *)"ok\n",
	    MHD_RESPMEM_PERSISTENT);
	rc = MHD_queue_response(c, atomic_load(&s->status), r);
	MHD_destroy_response(r);
	return rc;
}

static void
col_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct post *p = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (p != NULL) {
		free(p->body);
		free(p);
	}
}

static struct collector *
col_start(void)
{
	const char *sans[] = { "rua.a.example", NULL };
	struct collector *s = calloc(1, sizeof(*s));
	struct sockaddr_in sin;
	const union MHD_DaemonInfo *di;
	char *cert, *key;
	X509 *leaf;

	pthread_mutex_init(&s->lock, NULL);
	s->status = 200;
	leaf = tg_test_cert(K.leaf_key, "rua.a.example", sans, -1, 30, 0, K.ca,
	    K.ca_key);
	cert = pem_of(leaf, NULL);
	key = pem_of(NULL, K.leaf_key);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS,
	    0, NULL, NULL, col_handle, s, MHD_OPTION_HTTPS_MEM_KEY, key,
	    MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_NOTIFY_COMPLETED,
	    col_done, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
	    MHD_OPTION_END);
	assert_non_null(s->d);
	di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di->port;
	X509_free(leaf);
	free(cert);
	free(key);
	return s;
}

static void
col_stop(struct collector *s)
{
	MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->lock);
	free(s->last);
	free(s);
}

/* ---- the in-process SMTP relay ----------------------------------- */

struct relay {
	int lfd;
	unsigned short port;
	pthread_t th;
	atomic_int stop;
	atomic_int messages;
	const char *rcpt_reply;		/* "250 ok" or a refusal */
	pthread_mutex_t lock;
	char from[2048], to[2048];
	char *msg;			/* last message, unstuffed (owned) */
	size_t msg_len;
};

static int
relay_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	char c;

	while (n + 1 < cap && read(fd, &c, 1) == 1) {
		buf[n++] = c;
		if (c == '\n')
			break;
	}
	buf[n] = '\0';
	return (int)n;
}

static void
relay_say(int fd, const char *s)
{
	(void)!write(fd, s, strlen(s));
	(void)!write(fd, "\r\n", 2);
}

/* DATA until CRLF.CRLF, dot-unstuffed, into r->msg. */
static void
relay_data(struct relay *r, int fd)
{
	char line[2048];
	char *m = NULL;
	size_t len = 0;
	int n;

	while ((n = relay_line(fd, line, sizeof(line))) > 0) {
		const char *p = line;

		if (strcmp(line, ".\r\n") == 0)
			break;
		if (line[0] == '.')
			p++, n--;
		m = realloc(m, len + (size_t)n + 1);
		memcpy(m + len, p, (size_t)n);
		len += (size_t)n;
	}
	pthread_mutex_lock(&r->lock);
	free(r->msg);
	r->msg = m;
	r->msg_len = len;
	pthread_mutex_unlock(&r->lock);
	atomic_fetch_add(&r->messages, 1);
}

static void
relay_session(struct relay *r, int fd)
{
	char line[2048];

	relay_say(fd, "220 relay.test ESMTP");
	while (relay_line(fd, line, sizeof(line)) > 0) {
		if (strncasecmp(line, "EHLO", 4) == 0)
			relay_say(fd, "250 relay.test");
		else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
			snprintf(r->from, sizeof(r->from), "%s", line + 10);
			relay_say(fd, "250 2.1.0 ok");
		} else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
			snprintf(r->to, sizeof(r->to), "%s", line + 8);
			relay_say(fd, r->rcpt_reply);
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			relay_say(fd, "354 go on");
			relay_data(r, fd);
			relay_say(fd, "250 2.0.0 queued as X1");
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			relay_say(fd, "221 bye");
			break;
		} else
			relay_say(fd, "250 ok");
	}
}

static void *
relay_main(void *arg)
{
	struct relay *r = arg;
	int fd;

	while (!atomic_load(&r->stop)) {
		if ((fd = accept(r->lfd, NULL, NULL)) < 0)
			continue;
		{
		struct timeval tv = { 5, 0 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (!atomic_load(&r->stop))
			relay_session(r, fd);
		}
		close(fd);
	}
	return NULL;
}

static struct relay *
relay_start(void)
{
	struct relay *r = calloc(1, sizeof(*r));
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	pthread_mutex_init(&r->lock, NULL);
	r->rcpt_reply = "250 2.1.5 ok";
	r->lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(r->lfd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(listen(r->lfd, 8), 0);
	getsockname(r->lfd, (struct sockaddr *)&sin, &sl);
	r->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&r->th, NULL, relay_main, r), 0);
	return r;
}

static void
relay_stop(struct relay *r)
{
	struct sockaddr_in sin;
	int fd;

	atomic_store(&r->stop, 1);
	/* Wake accept() with one last connection. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(r->port);
	(void)connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	pthread_join(r->th, NULL);
	close(r->lfd);
	pthread_mutex_destroy(&r->lock);
	free(r->msg);
	free(r);
}

/* ---- the sender under test --------------------------------------- */

struct fx {
	char dir[64], outbox[128];
	struct tg_reports *db;
	struct event_base *base;
	struct tg_resolver *res;
	struct tg_fetch *fetch;
	struct tg_send *send;
	struct tg_send_config cfg;
	unsigned char key[TG_SUBMARK_KEY_LEN];
	char connect_to[128];
	const char *connect_list[1];
	char relay_port_text[8];
	struct collector *col;
	struct relay *relay;
	int done;
	int events[6];
	char last_json[65536];
};

static void
record(struct tg_reports *db, time_t when, const char *domain,
    enum tg_reports_policy_type type, const char *strings, const char *mx,
    const char *result, int times)
{
	struct tg_reports_session s;
	struct tg_err err;
	int i;

	memset(&s, 0, sizeof(s));
	s.when = when;
	s.policy_domain = domain;
	s.policy_type = type;
	s.policy_strings = strings;
	s.mx_hosts = mx;
	s.result_type = result;
	s.sending_ip = "192.0.2.25";
	s.receiving_mx_hostname = mx;
	s.receiving_ip = "198.51.100.9";
	for (i = 0; i < times; i++)
		if (tg_reports_record_session(db, &s, &err) != 0)
			fail_msg("record: %s", err.msg);
}

#define STS_A "version: STSv1\nmode: enforce\nmx: mx.a.example\nmax_age: 86400"
#define TLSA_B "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b" \
	"56664c5d3d6\n" \
	"3 1 1 a9c0b5a8d36e4b0c7f2c1d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5" \
	"a4b3c2d1e0f9a"

static void
record_day(struct tg_reports *db)
{
	time_t t = DAY1 + 5000;

	record(db, t, "a.example", TG_REPORTS_STS, STS_A, "mx.a.example", NULL,
	    7);
	record(db, t, "a.example", TG_REPORTS_STS, STS_A, "mx.a.example",
	    "certificate-expired", 2);
	record(db, t, "a.example", TG_REPORTS_NO_POLICY, "", "mx2.a.example",
	    NULL, 1);
	record(db, t, "b.example", TG_REPORTS_TLSA, TLSA_B, "mx.b.example",
	    NULL, 4);
	record(db, t, "b.example", TG_REPORTS_TLSA, TLSA_B, "mx.b.example",
	    "tlsa-invalid", 3);
	record(db, t, "c.example", TG_REPORTS_NO_POLICY, "", "mx.c.example",
	    NULL, 5);
	record(db, t, "d.example", TG_REPORTS_NO_POLICY, "", "mx.d.example",
	    NULL, 5);
	record(db, t, "e.example", TG_REPORTS_NO_POLICY, "", "mx.e.example",
	    NULL, 5);
	/* Another day: not part of DAY1's reports. */
	record(db, DAY1 + 86400 + 10, "a.example", TG_REPORTS_STS, STS_A,
	    "mx.a.example", NULL, 100);
}

static void
script_dns(struct fx *f)
{
	struct tg_err err;

#define TXT(name, st, rd) assert_int_equal(tg_resolver_fake_add(f->res, \
	name, TG_DNS_T_TXT, st, TG_DNS_INSECURE, rd, &err), 0)
	TXT("_smtp._tls.a.example", TG_DNS_OK,
	    "\"v=TLSRPTv1; rua=https://rua.a.example/tlsrpt\"");
	TXT("_smtp._tls.b.example", TG_DNS_OK,
	    "\"v=TLSRPTv1;\" \" rua=mailto:tls%2Breports@b.example\"");
	TXT("_smtp._tls.c.example", TG_DNS_NXDOMAIN, NULL);
	/* RFC 8460 §3: two records, so no reporting at all. */
	TXT("_smtp._tls.d.example", TG_DNS_OK, "\"v=TLSRPTv1; rua=mailto:x@"
	    "d.example\"\n\"v=TLSRPTv1; rua=mailto:y@d.example\"");
	TXT("_smtp._tls.e.example", TG_DNS_TEMPFAIL, NULL);
#undef TXT
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct tg_err err;

	strcpy(f->dir, "/tmp/tg-send-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->outbox, sizeof(f->outbox), "%s/reports/outbox", f->dir);
	if (tg_reports_open(f->dir, 0, &f->db, &err) != 0)
		fail_msg("open: %s", err.msg);
	assert_int_equal(tg_submark_key_load(f->dir, 1, f->key, &err), 0);
	f->base = event_base_new();
	f->res = tg_resolver_fake_new(f->base);
	f->fetch = tg_fetch_new(f->base, &err);
	f->col = col_start();
	f->relay = relay_start();
	snprintf(f->connect_to, sizeof(f->connect_to),
	    "rua.a.example:443:127.0.0.1:%u", f->col->port);
	f->connect_list[0] = f->connect_to;
	f->cfg.org_name = "Gateway Example";
	f->cfg.contact = "tlsrpt@gw.example";
	f->cfg.submitter = "gw.example";
	f->cfg.mail_from = "tlsrpt@gw.example";
	f->cfg.helo_name = "gw.example";
	f->cfg.relay_addr = "127.0.0.1";
	f->cfg.relay_port = f->relay->port;
	f->cfg.outbox_dir = f->outbox;
	f->cfg.dkim_selector = "tlsrpt";
	f->cfg.dkim_key_file = K.dkim_pem_file;
	f->cfg.marker_key = f->key;
	f->cfg.fetch.ca_file = K.ca_file;
	f->cfg.fetch.allow_private_addresses = 1;
	f->cfg.fetch.connect_to = f->connect_list;
	f->cfg.fetch.n_connect_to = 1;
	f->cfg.fetch.timeout_ms = 5000;
	f->cfg.delay_max_s = 3600;
	f->send = tg_send_new(f->base, f->res, f->fetch, f->db, &f->cfg, &err);
	if (f->send == NULL)
		fail_msg("tg_send_new: %s", err.msg);
	record_day(f->db);
	script_dns(f);
	tg_clock_set(NOW1);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	tg_send_free(f->send);
	tg_fetch_free(f->fetch);
	tg_resolver_free(f->res);
	event_base_free(f->base);
	col_stop(f->col);
	relay_stop(f->relay);
	tg_reports_close(f->db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	tg_clock_set(0);
	free(f);
	return 0;
}

static void
on_event(const struct tg_send_event *e, void *arg)
{
	struct fx *f = arg;

	f->events[e->kind]++;
	if (e->kind == TG_SEND_EV_BUILT && strcmp(e->domain, "a.example") == 0)
		snprintf(f->last_json, sizeof(f->last_json), "%s", e->json);
}

static void
on_done(struct tg_send *s, void *arg)
{
	struct fx *f = arg;

	(void)s;
	f->done = 1;
}

/* One run to the end (at most 20 s). */
static void
run(struct fx *f, const char *day, unsigned flags)
{
	long long deadline = tg_clock_mono_ms() + 20000;
	struct tg_err err;

	f->done = 0;
	memset(f->events, 0, sizeof(f->events));
	if (tg_send_run(f->send, day, flags, on_event, on_done, f, &err) != 0)
		fail_msg("run: %s", err.msg);
	while (!f->done && tg_clock_mono_ms() < deadline)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_true(f->done);
	assert_false(tg_send_busy(f->send));
}

struct states {
	char text[1024];
};

static int
state_row(const struct tg_reports_tx_delivery *d, void *arg)
{
	struct states *s = arg;
	char line[256];

	snprintf(line, sizeof(line), "%s %s %s %lld\n", d->policy_domain,
	    d->uri, tg_reports_tx_state_name(d->state), (long long)d->attempts);
	strcat(s->text, line);
	return 0;
}

static const char *
states(struct fx *f)
{
	static struct states s;
	struct tg_err err;

	memset(&s, 0, sizeof(s));
	assert_int_equal(tg_reports_tx_deliveries(f->db, "2024-05-01", 0, 0,
	    state_row, &s, &err), 0);
	return s.text;
}

/* ---- building ---------------------------------------------------- */

static void
test_build(void **state)
{
	struct fx *f = *state;
	struct tg_report *r, *back;
	struct tg_report_policy *ps, *pn;
	struct tg_buf json;
	struct tg_err err;

	assert_int_equal(tg_send_build(f->db, &f->cfg, "2024-05-01",
	    "a.example", "rid-1", &r, &err), 0);
	assert_int_equal(r->start, DAY1);
	assert_int_equal(r->end, DAY1 + 86399);
	assert_int_equal(r->n_policies, 2);
	/* Parsed back, the figures are the recorded ones. */
	tg_buf_init(&json, 1 << 20);
	assert_int_equal(tg_report_to_json(r, &json, &err), 0);
	assert_int_equal(tg_report_parse(json.data, json.len, &back, &err), 0);
	assert_string_equal(back->org_name, "Gateway Example");
	assert_string_equal(back->contact_info, "tlsrpt@gw.example");
	assert_string_equal(back->report_id, "rid-1");
	assert_int_equal(back->n_policies, 2);
	/* Rows come by policy type name: no-policy-found before sts. */
	ps = &back->policies[1];
	pn = &back->policies[0];
	assert_int_equal(ps->type, TG_REPORT_POLICY_STS);
	assert_int_equal(ps->n_strings, 4);
	assert_string_equal(ps->strings[2], "mx: mx.a.example");
	assert_int_equal(ps->success_count, 7);
	assert_int_equal(ps->failure_count, 2);
	assert_int_equal(ps->n_failures, 1);
	assert_int_equal(ps->failures[0].result, TG_RR_CERTIFICATE_EXPIRED);
	assert_string_equal(ps->failures[0].sending_mta_ip, "192.0.2.25");
	assert_int_equal(ps->failures[0].failed_session_count, 2);
	/* no-policy-found: no policy-string, the domain still named. */
	assert_int_equal(pn->type, TG_REPORT_POLICY_NONE);
	assert_int_equal(pn->n_strings, 0);
	assert_string_equal(pn->domain, "a.example");
	assert_int_equal(pn->success_count, 1);
	tg_report_free(back);
	tg_report_free(r);
	tg_buf_reset(&json);
	/* TLSA: one "u s m hex" string per RR. */
	assert_int_equal(tg_send_build(f->db, &f->cfg, "2024-05-01",
	    "b.example", "rid-2", &r, &err), 0);
	assert_int_equal(r->policies[0].n_strings, 2);
	assert_int_equal(tg_report_to_json(r, &json, &err), 0);
	assert_non_null(strstr(json.data, "\"policy-type\": \"tlsa\"") != NULL ?
	    json.data : strstr(json.data, "\"policy-type\":\"tlsa\""));
	tg_report_free(r);
	assert_int_equal(tg_send_build(f->db, &f->cfg, "2024-05-02",
	    "b.example", "rid-3", &r, &err), TG_REPORTS_NOTFOUND);
	assert_int_equal(tg_send_build(f->db, &f->cfg, "2024-5-1",
	    "b.example", "rid-3", &r, &err), -1);
	tg_buf_free(&json);
}

static void
test_next_try(void **state)
{
	(void)state;
	assert_int_equal(tg_send_next_try(1, 1000), 1000 + 300);
	assert_int_equal(tg_send_next_try(2, 1000), 1000 + 600);
	assert_int_equal(tg_send_next_try(3, 1000), 1000 + 1200);
	assert_int_equal(tg_send_next_try(6, 1000), 1000 + 9600);
	assert_int_equal(tg_send_next_try(7, 1000), 1000 + 14400);
	assert_int_equal(tg_send_next_try(60, 1000), 1000 + 14400);
}

static void
test_mailto(void **state)
{
	static const struct {
		const char *uri, *addr;
	} cases[] = {
		{ "mailto:tlsrpt@example.org", "tlsrpt@example.org" },
		{ "MAILTO:a%2Bb@Example.org?subject=x", "a+b@Example.org" },
		{ "mailto:a@b@example.org", NULL },
		{ "mailto:<a@example.org>", NULL },
		{ "mailto:a@example.org%0d%0aRCPT", NULL },
		{ "mailto:a@exa mple.org", NULL },
		{ "mailto:@example.org", NULL },
		{ "mailto:a@", NULL },
		{ "mailto:a@x,b@y.example", NULL },
		{ "mailto:a%zz@example.org", NULL },
		{ "https://example.org/", NULL },
	};
	char out[256];
	struct tg_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = tg_send_mailto_addr(cases[i].uri, out, sizeof(out),
		    &err);

		if (cases[i].addr == NULL) {
			if (rc == 0)
				fail_msg("%s accepted as %s", cases[i].uri,
				    out);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: %s", cases[i].uri, err.msg);
		assert_string_equal(out, cases[i].addr);
	}
}

/* The mail: RFC 8460 §5.3.1 shape, DKIM verified by rpt/mail, marker. */
static void
test_mail(void **state)
{
	struct fx *f = *state;
	struct tg_rptmail_opts mo = { .keys = TG_RPTMAIL_KEYS_FILE,
	    .key_file = K.dkim_keys_file };
	static const char json[] = "{\"x\":1}";
	struct tg_rptmail_result mr;
	struct tg_buf gz, msg;
	struct tg_rptmail *m;
	struct tg_err err;
	size_t off;

	tg_buf_init(&gz, 4096);
	assert_int_equal(tg_gzip_deflate(json, strlen(json), 4096, &gz, &err),
	    0);
	tg_buf_init(&msg, 1 << 20);
	assert_int_equal(tg_send_mail_build(&f->cfg, "rua@b.example",
	    "b.example", "2024-05-01_b.example_abc", "gw.example!b.example!"
	    "1714521600!1714607999.json.gz", gz.data, gz.len, NOW1, &msg,
	    &err), 0);
	assert_int_equal(strncmp(msg.data, "TLSGate-Report: v=1; mac=", 25), 0);
	assert_true(tg_submark_check(f->key, msg.data, msg.len, &off));
	assert_int_equal(strncmp(msg.data + off, "DKIM-Signature: ", 16), 0);
	assert_non_null(strstr(msg.data,
	    "\r\nTLS-Report-Domain: b.example\r\n"));
	assert_non_null(strstr(msg.data,
	    "\r\nTLS-Report-Submitter: gw.example\r\n"));
	assert_non_null(strstr(msg.data, "Content-Type: multipart/report; "
	    "report-type=\"tlsrpt\""));
	assert_non_null(strstr(msg.data, "Content-Type: application/"
	    "tlsrpt+gzip"));
	assert_non_null(strstr(msg.data, "Subject: Report Domain: b.example "
	    "Submitter: gw.example Report-ID: <2024-05-01_b.example_abc>"));
	assert_null(strstr(msg.data, "; l="));
	/* rpt/mail (the collector's side) accepts it and finds the JSON. */
	assert_non_null(m = tg_rptmail_new(&mo, &err));
	tg_rptmail_result_init(&mr);
	if (tg_rptmail_parse(m, msg.data + off, msg.len - off, &mr, &err) != 0)
		fail_msg("rptmail: %s (%s)", err.msg, mr.reason);
	assert_string_equal(mr.dkim_domain, "gw.example");
	assert_string_equal(mr.report_domain, "b.example");
	assert_int_equal(mr.report.len, strlen(json));
	tg_rptmail_result_free(&mr);
	/* Any change after the marker breaks it. */
	msg.data[msg.len - 3] ^= 1;
	assert_false(tg_submark_check(f->key, msg.data, msg.len, NULL));
	msg.data[msg.len - 3] ^= 1;
	f->key[0] ^= 1;
	assert_false(tg_submark_check(f->key, msg.data, msg.len, NULL));
	f->key[0] ^= 1;
	assert_false(tg_submark_check(f->key, "TLSGate-Report: v=1; mac=0",
	    26, NULL));
	tg_rptmail_free(m);
	tg_buf_free(&gz);
	tg_buf_free(&msg);
}

static void
test_marker_key(void **state)
{
	struct fx *f = *state;
	unsigned char k1[TG_SUBMARK_KEY_LEN], k2[TG_SUBMARK_KEY_LEN];
	char dir[128], path[160];
	struct stat st;
	struct tg_err err;

	/* A state directory of its own: the fixture's has a key already. */
	snprintf(dir, sizeof(dir), "%s/k", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/" TG_SUBMARK_KEY_FILE, dir);
	assert_int_equal(tg_submark_key_load(dir, 0, k1, &err), -1);
	assert_int_equal(tg_submark_key_load(dir, 1, k1, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(tg_submark_key_load(dir, 1, k2, &err), 0);
	assert_memory_equal(k1, k2, sizeof(k1));
	write_file(path, "short");
	assert_int_equal(tg_submark_key_load(dir, 0, k2, &err), -1);
}

/* ---- whole runs -------------------------------------------------- */

static void
check_posted(struct fx *f)
{
	struct tg_report *r;
	struct tg_buf json;
	struct tg_err err;

	pthread_mutex_lock(&f->col->lock);
	assert_string_equal(f->col->ctype, "application/tlsrpt+gzip");
	assert_string_equal(f->col->path, "/tlsrpt");
	tg_buf_init(&json, 1 << 20);
	assert_int_equal(tg_gzip_inflate(f->col->last, f->col->last_len,
	    1 << 20, 0, &json, &err), 0);
	pthread_mutex_unlock(&f->col->lock);
	assert_int_equal(tg_report_parse(json.data, json.len, &r, &err), 0);
	assert_int_equal(r->policies[1].success_count, 7);
	assert_int_equal(r->policies[1].failure_count, 2);
	assert_int_equal(r->policies[0].success_count, 1);
	tg_report_free(r);
	tg_buf_free(&json);
}

static void
test_run_delivers(void **state)
{
	struct fx *f = *state;
	struct tg_err err;
	size_t off;
	int exists;

	run(f, NULL, TG_SEND_NOW);
	/* a (https), b (mailto) made; c (no record) and d (two records)
	 * asked for nothing; e's lookup failed and is tried next time. */
	assert_int_equal(f->events[TG_SEND_EV_BUILT], 2);
	assert_int_equal(f->events[TG_SEND_EV_NOT_REQUESTED], 2);
	assert_int_equal(f->events[TG_SEND_EV_LOOKUP_FAILED], 1);
	assert_int_equal(f->events[TG_SEND_EV_DELIVERED], 2);
	assert_string_equal(states(f),
	    "a.example https://rua.a.example/tlsrpt sent 1\n"
	    "b.example mailto:tls%2Breports@b.example sent 1\n");
	assert_int_equal(atomic_load(&f->col->posts), 1);
	check_posted(f);
	assert_int_equal(atomic_load(&f->relay->messages), 1);
	assert_string_equal(f->relay->from, "<tlsrpt@gw.example>\r\n");
	assert_string_equal(f->relay->to, "<tls+reports@b.example>\r\n");
	assert_true(tg_submark_check(f->key, f->relay->msg,
	    f->relay->msg_len, &off));
	assert_int_equal(tg_reports_tx_exists(f->db, "2024-05-01", "c.example",
	    &exists, &err), 0);
	assert_int_equal(exists, 1);
	assert_int_equal(tg_reports_tx_exists(f->db, "2024-05-01", "e.example",
	    &exists, &err), 0);
	assert_int_equal(exists, 0);
	/* A second run makes nothing twice and sends nothing again. */
	run(f, "2024-05-01", TG_SEND_NOW);
	assert_int_equal(f->events[TG_SEND_EV_BUILT], 0);
	assert_int_equal(f->events[TG_SEND_EV_LOOKUP_FAILED], 1);	/* e */
	assert_int_equal(atomic_load(&f->col->posts), 1);
	assert_int_equal(atomic_load(&f->relay->messages), 1);
}

static void
test_run_retries(void **state)
{
	struct fx *f = *state;
	char path[256];
	int i;

	atomic_store(&f->col->status, 503);
	f->relay->rcpt_reply = "451 4.3.0 later";
	run(f, NULL, 0);	/* with the random delay: nothing due yet */
	assert_int_equal(atomic_load(&f->col->posts), 0);
	tg_clock_set(NOW1 + 3600);
	run(f, NULL, 0);
	assert_int_equal(f->events[TG_SEND_EV_RETRY], 2);
	assert_string_equal(states(f),
	    "a.example https://rua.a.example/tlsrpt pending 1\n"
	    "b.example mailto:tls%2Breports@b.example pending 1\n");
	/* Not due again before the backoff has passed. */
	run(f, NULL, 0);
	assert_int_equal(f->events[TG_SEND_EV_RETRY], 0);
	/* The relay goes away: the mail waits in the outbox. */
	relay_stop(f->relay);
	f->relay = relay_start();
	f->cfg.relay_port = f->relay->port;
	tg_send_free(f->send);
	f->cfg.relay_port = 1;		/* nothing listens there */
	f->send = tg_send_new(f->base, f->res, f->fetch, f->db, &f->cfg, NULL);
	tg_clock_set(NOW1 + 3600 + 301);
	run(f, NULL, 0);
	assert_int_equal(f->events[TG_SEND_EV_RETRY], 2);
	snprintf(path, sizeof(path), "%s/2024-05-01_b.example_2.eml",
	    f->outbox);
	assert_int_equal(access(path, F_OK), 0);
	/* Both come back: delivered, outbox emptied. */
	atomic_store(&f->col->status, 201);
	tg_send_free(f->send);
	f->cfg.relay_port = f->relay->port;
	f->send = tg_send_new(f->base, f->res, f->fetch, f->db, &f->cfg, NULL);
	tg_clock_set(NOW1 + 3600 + 301 + 600);
	run(f, NULL, 0);
	assert_int_equal(f->events[TG_SEND_EV_DELIVERED], 2);
	assert_string_equal(states(f),
	    "a.example https://rua.a.example/tlsrpt sent 3\n"
	    "b.example mailto:tls%2Breports@b.example sent 3\n");
	assert_int_equal(access(path, F_OK), -1);
	(void)i;
}

static void
test_run_final_and_expired(void **state)
{
	struct fx *f = *state;
	int i;

	atomic_store(&f->col->status, 415);		/* final */
	f->relay->rcpt_reply = "451 4.3.0 later";	/* retried */
	run(f, NULL, TG_SEND_NOW);
	assert_int_equal(f->events[TG_SEND_EV_FAILED], 1);
	assert_int_equal(f->events[TG_SEND_EV_RETRY], 1);
	/* Retried with backoff until a day has passed, then given up. */
	f->events[TG_SEND_EV_FAILED] = 0;
	for (i = 0; i < 40 && f->events[TG_SEND_EV_FAILED] == 0; i++) {
		tg_clock_set(tg_clock_now() + 4 * 3600);
		run(f, NULL, 0);
	}
	assert_int_equal(f->events[TG_SEND_EV_FAILED], 1);
	assert_true(i <= 7);
	assert_non_null(strstr(states(f), "https://rua.a.example/tlsrpt failed "
	    "1\n"));
	assert_non_null(strstr(states(f), "b.example mailto:tls%2Breports@"
	    "b.example expired"));
}

static void
test_run_dry_and_refusals(void **state)
{
	struct fx *f = *state;
	struct tg_err err;
	struct tg_report *r;

	run(f, "2024-05-01", TG_SEND_DRY_RUN);
	assert_int_equal(f->events[TG_SEND_EV_BUILT], 2);
	assert_int_equal(f->events[TG_SEND_EV_DELIVERED], 0);
	assert_string_equal(states(f), "");
	assert_int_equal(atomic_load(&f->col->posts), 0);
	assert_int_equal(tg_report_parse(f->last_json, strlen(f->last_json),
	    &r, &err), 0);
	assert_int_equal(r->n_policies, 2);
	tg_report_free(r);
	/* Today has not ended; a non-date is refused. */
	assert_int_equal(tg_send_run(f->send, "2024-05-02", 0, NULL, NULL, NULL,
	    &err), -1);
	assert_non_null(strstr(err.msg, "has not ended"));
	assert_int_equal(tg_send_run(f->send, "yesterday", 0, NULL, NULL, NULL,
	    &err), -1);
}

/* Without a relay: the outbox is the hand-over. */
static void
test_run_outbox_only(void **state)
{
	struct fx *f = *state;
	char path[256];

	tg_send_free(f->send);
	f->cfg.relay_addr = "";
	f->send = tg_send_new(f->base, f->res, f->fetch, f->db, &f->cfg, NULL);
	run(f, NULL, TG_SEND_NOW);
	assert_int_equal(f->events[TG_SEND_EV_DELIVERED], 2);
	snprintf(path, sizeof(path), "%s/2024-05-01_b.example_2.eml",
	    f->outbox);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(atomic_load(&f->relay->messages), 0);
}

static void
test_config_checked(void **state)
{
	struct fx *f = *state;
	struct tg_send_config c = f->cfg;
	struct tg_err err;

	(void)state;
	c.org_name = "";
	assert_null(tg_send_new(f->base, f->res, f->fetch, f->db, &c, &err));
	assert_non_null(strstr(err.msg, "report.org_name"));
	c = f->cfg;
	c.submitter = "not a domain";
	assert_null(tg_send_new(f->base, f->res, f->fetch, f->db, &c, &err));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_build, setup, teardown),
		cmocka_unit_test(test_next_try),
		cmocka_unit_test(test_mailto),
		cmocka_unit_test_setup_teardown(test_mail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_marker_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_run_delivers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_run_retries, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_run_final_and_expired,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_dry_and_refusals,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_outbox_only, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_config_checked, setup,
		    teardown),
	};

	tg_log_open("test_rpt_send", TG_LOG_NONE, TG_LOG_ERR);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
