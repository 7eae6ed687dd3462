/*
 * bench/relay/tls_sink — a STARTTLS SMTP sink for the relay benchmark.
 *
 * Accepts SMTP on ADDR:PORT with STARTTLS (OpenSSL, the certificate chain
 * and key of one PEM file — the lab's mx.dane-ok.test, whose TLSA record
 * is published), PIPELINING, SIZE and 8BITMIME; answers 250 to every MAIL,
 * RCPT and end of data without storing anything, and counts the messages.
 * The count is written to FILE (a decimal number, rewritten whenever it
 * changes, at most every 50 ms), for the benchmark to poll. It is the
 * common next hop of both relays under test, so it must never be their
 * bottleneck: one libevent loop, no disk.
 *
 *   tls_sink -l ADDR:PORT -c CHAIN_AND_KEY.pem -o COUNTFILE [-n NAME]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

struct sink {
	struct event_base *base;
	SSL_CTX *ctx;
	const char *name;
	const char *countfile;
	unsigned long count, written;
	struct event *tick;
};

struct conn {
	struct sink *s;
	struct bufferevent *bev;
	int tls, data, closing;
};

static void conn_read(struct bufferevent *bev, void *arg);
static void conn_event(struct bufferevent *bev, short what, void *arg);

static void
reply(struct conn *c, const char *text)
{
	bufferevent_write(c->bev, text, strlen(text));
}

static void
conn_free(struct conn *c)
{
	bufferevent_free(c->bev);
	free(c);
}

static void
ehlo(struct conn *c)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "250-%s\r\n250-PIPELINING\r\n"
	    "250-SIZE 0\r\n250-8BITMIME\r\n%s250 ENHANCEDSTATUSCODES\r\n",
	    c->s->name, c->tls ? "" : "250-STARTTLS\r\n");
	reply(c, buf);
}

/* STARTTLS: the same connection, now through a TLS filter. Nothing may
 * be buffered behind the command (RFC 3207 §4.2). */
static int
starttls(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct bufferevent *tb;
	SSL *ssl;

	if (evbuffer_get_length(in) > 0) {
		reply(c, "554 5.5.1 pipelining after STARTTLS\r\n");
		return -1;
	}
	reply(c, "220 2.0.0 ready\r\n");
	if ((ssl = SSL_new(c->s->ctx)) == NULL)
		return -1;
	tb = bufferevent_openssl_filter_new(c->s->base, c->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (tb == NULL)
		return -1;
	c->bev = tb;
	c->tls = 1;
	bufferevent_setcb(tb, conn_read, NULL, conn_event, c);
	bufferevent_enable(tb, EV_READ | EV_WRITE);
	return 1;
}

/* One command line: 0 go on, 1 the bufferevent changed, -1 close. */
static int
command(struct conn *c, const char *line)
{
	if (strncasecmp(line, "EHLO", 4) == 0 ||
	    strncasecmp(line, "HELO", 4) == 0)
		ehlo(c);
	else if (strncasecmp(line, "STARTTLS", 8) == 0 && !c->tls)
		return starttls(c);
	else if (strncasecmp(line, "MAIL", 4) == 0 ||
	    strncasecmp(line, "RCPT", 4) == 0 ||
	    strncasecmp(line, "RSET", 4) == 0 ||
	    strncasecmp(line, "NOOP", 4) == 0)
		reply(c, "250 2.0.0 ok\r\n");
	else if (strncasecmp(line, "DATA", 4) == 0) {
		reply(c, "354 go ahead\r\n");
		c->data = 1;
	} else if (strncasecmp(line, "QUIT", 4) == 0) {
		reply(c, "221 2.0.0 bye\r\n");
		return -1;
	} else
		reply(c, "502 5.5.2 not implemented\r\n");
	return 0;
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line;
	int rc;

	if (c->closing) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF_STRICT)) !=
	    NULL) {
		rc = 0;
		if (c->data) {
			if (n == 1 && line[0] == '.') {
				c->data = 0;
				c->s->count++;
				reply(c, "250 2.0.0 ok: discarded\r\n");
			}
		} else
			rc = command(c, line);
		free(line);
		if (rc < 0) {
			/* After 221 the client closes (EOF frees us); freeing
			 * now could drop replies still queued in the TLS
			 * layer. Input from here on is ignored. */
			c->closing = 1;
			return;
		}
		if (rc > 0)
			return;
	}
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_free(arg);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct sink *s = arg;
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	(void)l;
	(void)sa;
	(void)salen;
	if (c == NULL) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->s = s;
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	{
		char banner[300];

		snprintf(banner, sizeof(banner), "220 %s ESMTP sink\r\n",
		    s->name);
		reply(c, banner);
	}
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct sink *s = arg;
	char tmp[1100];
	FILE *f;

	(void)fd;
	(void)what;
	if (s->count == s->written)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->countfile);
	if ((f = fopen(tmp, "w")) == NULL)
		return;
	fprintf(f, "%lu\n", s->count);
	fclose(f);
	rename(tmp, s->countfile);
	s->written = s->count;
}

static int
listen_on(struct sink *s, const char *spec)
{
	struct sockaddr_in sin;
	char host[64];
	const char *colon = strrchr(spec, ':');

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return -1;
	return evconnlistener_new_bind(s->base, on_accept, s,
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE, 512,
	    (struct sockaddr *)&sin, sizeof(sin)) != NULL ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct timeval tv = { 0, 50000 };
	const char *l = NULL, *pem = NULL;
	struct sink s;
	int ch;

	memset(&s, 0, sizeof(s));
	s.name = "sink.test";
	while ((ch = getopt(argc, argv, "l:c:o:n:")) != -1) {
		switch (ch) {
		case 'l': l = optarg; break;
		case 'c': pem = optarg; break;
		case 'o': s.countfile = optarg; break;
		case 'n': s.name = optarg; break;
		default: return 2;
		}
	}
	if (l == NULL || pem == NULL || s.countfile == NULL) {
		fprintf(stderr, "usage: tls_sink -l ADDR:PORT -c PEM -o FILE "
		    "[-n NAME]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	s.base = event_base_new();
	s.ctx = SSL_CTX_new(TLS_server_method());
	if (s.base == NULL || s.ctx == NULL ||
	    SSL_CTX_set_min_proto_version(s.ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(s.ctx, pem) != 1 ||
	    SSL_CTX_use_PrivateKey_file(s.ctx, pem, SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	if (listen_on(&s, l) != 0) {
		perror(l);
		return 1;
	}
	s.tick = event_new(s.base, -1, EV_PERSIST, on_tick, &s);
	event_add(s.tick, &tv);
	event_base_dispatch(s.base);
	return 0;
}
