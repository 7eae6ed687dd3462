/*
 * net/fetch — see fetch.h.
 *
 * Each request owns a curl multi handle with one easy handle in it, a
 * libevent timer for curl's timeout and one libevent event per socket
 * curl asks us to watch (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION, curl's
 * "multi_socket" model). When the transfer ends the request is detached
 * (its events stopped), the callback runs, and the request is freed
 * later by the fetcher's reaper event, never inside its own callback.
 */
#include "net/fetch.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "util/clock.h"

#ifndef TG_VERSION
#define TG_VERSION "0"
#endif

struct fetch_sock {
	curl_socket_t fd;
	struct event *ev;		/* owned */
	struct fetch_sock *next;
};

struct tg_fetch_req {
	struct tg_fetch *f;		/* borrowed: the owner */
	CURLM *multi;			/* owned */
	CURL *easy;			/* owned */
	struct event *timer;		/* owned: curl's timeout */
	struct fetch_sock *socks;	/* owned: watched sockets */
	struct curl_slist *resolve;	/* owned */
	struct curl_slist *connect_to;	/* owned */
	struct curl_slist *headers;	/* owned: POST request headers */
	char *post;			/* owned: POST body, NULL for GET */
	size_t post_len;
	struct tg_cidr own[TG_FETCH_OWN_MAX];
	size_t n_own;
	int allow_private;
	int too_large;
	int done;			/* detached: no more events */
	long long started;		/* monotonic ms */
	char refused[TG_CONF_HOST_MAX + 48];
	char errbuf[CURL_ERROR_SIZE];
	struct tg_fetch_result res;	/* res.body is the body */
	tg_fetch_cb *cb;
	void (*on_cancel)(void *);
	void *arg;
	struct tg_fetch_req *next;	/* in f->live or f->dead */
};

struct tg_fetch {
	struct event_base *base;	/* borrowed */
	struct event *reaper;		/* owned: frees detached requests */
	struct tg_fetch_req *live;	/* owned: callback not yet run */
	struct tg_fetch_req *dead;	/* owned: detached, to be freed */
	size_t pending;
	int in_callback;
};

static void fetch_check(struct tg_fetch_req *r);

/* ---- the SSRF rule ---- */

static const char *
fetch_v4_refusal(uint32_t a)
{
	if ((a >> 24) == 0)
		return "unspecified";		/* 0/8, RFC 791
						   "this network" */
	if ((a >> 24) == 127)
		return "loopback";
	if ((a >> 24) == 10 || (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8)
		return "private";		/* RFC 1918 */
	if ((a >> 22) == (100u << 2 | 1))
		return "shared address space";	/* 100.64/10, RFC 6598 */
	if ((a >> 16) == 0xa9fe)
		return "link-local";		/* 169.254/16 */
	if ((a >> 28) == 0xe)
		return "multicast";		/* 224/4 */
	if ((a >> 28) == 0xf)
		return "reserved";		/* 240/4, broadcast */
	return NULL;
}

static uint32_t
fetch_v4_at(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
}

static const char *
fetch_v6_refusal(const unsigned char *b)
{
	static const unsigned char zero[12], mapped[12] = { 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0xff, 0xff }, nat64[12] = { 0, 0x64, 0xff, 0x9b };
	uint32_t tail = fetch_v4_at(b + 12);

	if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
		return fetch_v4_refusal(tail);
	if (memcmp(b, zero, 12) == 0)
		return tail == 0 ? "unspecified" : tail == 1 ? "loopback" :
		    "reserved";			/* ::a.b.c.d, RFC 4291 */
	if ((b[0] & 0xfe) == 0xfc)
		return "private";		/* fc00::/7, RFC 4193 */
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return "link-local";		/* fe80::/10 */
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return "private";		/* fec0::/10, site-local */
	if (b[0] == 0xff)
		return "multicast";
	return NULL;
}

const char *
tg_fetch_addr_refusal(const struct sockaddr *sa, socklen_t len,
    const struct tg_cidr *own, size_t n_own)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	const char *why;
	const void *addr;
	size_t i;

	if (sa->sa_family == AF_INET && len >= sizeof(*s4)) {
		addr = &s4->sin_addr;
		why = fetch_v4_refusal(ntohl(s4->sin_addr.s_addr));
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(*s6)) {
		addr = s6->sin6_addr.s6_addr;
		why = fetch_v6_refusal(s6->sin6_addr.s6_addr);
	} else
		return "unsupported address family";
	if (why != NULL)
		return why;
	for (i = 0; i < n_own; i++)
		if (tg_cidr_contains(&own[i], sa->sa_family, addr))
			return "own address";
	return NULL;
}

int
tg_fetch_media_type_is(const char *ct, const char *type)
{
	size_t i;

	for (i = 0; ct[i] != '\0' && type[i] != '\0'; i++) {
		unsigned char a = (unsigned char)ct[i];
		unsigned char b = (unsigned char)type[i];
		if (a >= 'A' && a <= 'Z')
			a = (unsigned char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (unsigned char)(b - 'A' + 'a');
		if (a != b)
			return 0;
	}
	return ct[i] == '\0' && type[i] == '\0';
}

/* ---- curl callbacks ---- */

/* CURLOPT_OPENSOCKETFUNCTION: the SSRF guard, at the chosen address. */
static curl_socket_t
fetch_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct tg_fetch_req *r = arg;
	struct sockaddr_storage ss;
	char ip[TG_CONF_HOST_MAX] = "?";
	const char *why = "unsupported address family";
	socklen_t len = a->addrlen;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (len > sizeof(ss))
		len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &a->addr, len);
	if (!r->allow_private && (why = tg_fetch_addr_refusal(
	    (struct sockaddr *)&ss, len, r->own, r->n_own)) != NULL) {
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->
			    sin_addr, ip, sizeof(ip));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->
			    sin6_addr, ip, sizeof(ip));
		snprintf(r->refused, sizeof(r->refused), "%s (%s)", ip, why);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* CURLOPT_WRITEFUNCTION: the body cap, whatever Content-Length said. */
static size_t
fetch_write(char *p, size_t size, size_t n, void *arg)
{
	struct tg_fetch_req *r = arg;
	size_t len = size * n;

	if (tg_buf_append(&r->res.body, p, len) != 0) {
		r->too_large = len > r->res.body.limit - r->res.body.len;
		return 0;		/* aborts the transfer */
	}
	return len;
}

static void
fetch_sock_fire(evutil_socket_t fd, short what, void *arg)
{
	struct tg_fetch_req *r = arg;
	int flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(r->multi, fd, flags, &running);
	fetch_check(r);
}

static void
fetch_timer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct tg_fetch_req *r = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	fetch_check(r);
}

static void
fetch_sock_drop(struct tg_fetch_req *r, struct fetch_sock *fs)
{
	struct fetch_sock **pp;

	for (pp = &r->socks; *pp != NULL; pp = &(*pp)->next)
		if (*pp == fs) {
			*pp = fs->next;
			break;
		}
	if (fs->ev != NULL)
		event_free(fs->ev);
	free(fs);
}

/* CURLMOPT_SOCKETFUNCTION: watch s as curl asks. */
static int
fetch_sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct tg_fetch_req *r = userp;
	struct fetch_sock *fs = sockp;
	short kind = EV_PERSIST;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (fs != NULL)
			fetch_sock_drop(r, fs);
		return 0;
	}
	if (r->done)
		return 0;
	if (fs == NULL) {
		if ((fs = calloc(1, sizeof(*fs))) == NULL)
			return -1;
		fs->fd = s;
		fs->next = r->socks;
		r->socks = fs;
		curl_multi_assign(r->multi, s, fs);
	} else if (fs->ev != NULL) {
		event_free(fs->ev);
		fs->ev = NULL;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	fs->ev = event_new(r->f->base, s, kind, fetch_sock_fire, r);
	if (fs->ev == NULL || event_add(fs->ev, NULL) != 0)
		return -1;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer, re-armed as curl asks. */
static int
fetch_timer_cb(CURLM *m, long ms, void *userp)
{
	struct tg_fetch_req *r = userp;
	struct timeval tv;

	(void)m;
	if (ms < 0 || r->done)
		return evtimer_del(r->timer) == 0 ? 0 : -1;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return evtimer_add(r->timer, &tv) == 0 ? 0 : -1;
}

/* ---- results ---- */

static int
fetch_is_tls_error(CURLcode rc)
{
	return rc == CURLE_PEER_FAILED_VERIFICATION ||
	    rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_SSL_ISSUER_ERROR ||
	    rc == CURLE_SSL_INVALIDCERTSTATUS ||
	    rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

/* The reason and RFC 8460 result type of a failed transfer. */
static void
fetch_classify(struct tg_fetch_req *r, CURLcode rc)
{
	struct tg_err *e = &r->res.err;
	const char *detail = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);

	if (r->too_large || rc == CURLE_FILESIZE_EXCEEDED)
		tg_err_set(e, TG_ERR_TEMP, NULL, "body larger than %zu bytes",
		    r->res.body.limit);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		tg_err_set(e, TG_ERR_TEMP, NULL, "timed out after %lld ms: "
		    "%s", r->res.elapsed_ms, detail);
	else if (rc == CURLE_COULDNT_CONNECT && r->refused[0] != '\0')
		tg_err_set(e, TG_ERR_TEMP, NULL, "refused to connect to %s",
		    r->refused);
	else if (rc == CURLE_COULDNT_RESOLVE_HOST)
		tg_err_set(e, TG_ERR_TEMP, NULL, "cannot resolve: %s",
		    detail);
	else if (fetch_is_tls_error(rc))
		tg_err_set(e, TG_ERR_TEMP, NULL, "TLS: %s", detail);
	else
		tg_err_set(e, TG_ERR_TEMP, NULL, "%s", detail);
	/* RFC 8460 §4.3.2.2 */
	e->result_type = fetch_is_tls_error(rc) ?
	    TG_FETCH_RESULT_WEBPKI_INVALID : TG_FETCH_RESULT_FETCH_ERROR;
}

/* Media type of a Content-Type value: up to ';', WSP trimmed. */
static void
fetch_media_type(const char *v, char *out, size_t outlen)
{
	size_t n;

	out[0] = '\0';
	if (v == NULL)
		return;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strcspn(v, ";");
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	snprintf(out, outlen, "%.*s", (int)n, v);
}

static void
fetch_fill(struct tg_fetch_req *r, CURLcode rc)
{
	struct tg_fetch_result *res = &r->res;
	char *s = NULL;

	res->elapsed_ms = tg_clock_mono_ms() - r->started;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res->status);
	if (curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &s) == CURLE_OK)
		fetch_media_type(s, res->content_type,
		    sizeof(res->content_type));
	s = NULL;
	if (curl_easy_getinfo(r->easy, CURLINFO_REDIRECT_URL, &s) ==
	    CURLE_OK && s != NULL)
		snprintf(res->location, sizeof(res->location), "%s", s);
	s = NULL;
	if (curl_easy_getinfo(r->easy, CURLINFO_PRIMARY_IP, &s) ==
	    CURLE_OK && s != NULL)
		snprintf(res->peer_ip, sizeof(res->peer_ip), "%s", s);
	tg_err_clear(&res->err);
	res->ok = rc == CURLE_OK;
	if (!res->ok)
		fetch_classify(r, rc);
}

/* Stop every event of r and move it to the dead list. */
static void
fetch_detach(struct tg_fetch_req *r)
{
	struct tg_fetch *f = r->f;
	struct tg_fetch_req **pp;
	struct fetch_sock *fs;

	r->done = 1;
	curl_multi_remove_handle(r->multi, r->easy);
	evtimer_del(r->timer);
	for (fs = r->socks; fs != NULL; fs = fs->next)
		if (fs->ev != NULL)
			event_del(fs->ev);
	for (pp = &f->live; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	r->next = f->dead;
	f->dead = r;
	f->pending--;
	event_active(f->reaper, EV_TIMEOUT, 1);
}

static void
fetch_check(struct tg_fetch_req *r)
{
	struct tg_fetch *f = r->f;
	CURLMsg *m;
	int left;

	if (r->done)
		return;
	while ((m = curl_multi_info_read(r->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		fetch_fill(r, m->data.result);
		fetch_detach(r);
		f->in_callback++;
		r->cb(&r->res, r->arg);
		f->in_callback--;
		return;
	}
}

/* ---- requests ---- */

static void
fetch_req_free(struct tg_fetch_req *r)
{
	if (r->easy != NULL) {
		curl_multi_remove_handle(r->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	if (r->multi != NULL)
		curl_multi_cleanup(r->multi);
	while (r->socks != NULL)
		fetch_sock_drop(r, r->socks);
	if (r->timer != NULL)
		event_free(r->timer);
	curl_slist_free_all(r->resolve);
	curl_slist_free_all(r->connect_to);
	curl_slist_free_all(r->headers);
	free(r->post);
	tg_buf_free(&r->res.body);
	free(r);
}

static void
fetch_reap(evutil_socket_t fd, short what, void *arg)
{
	struct tg_fetch *f = arg;
	struct tg_fetch_req *r;

	(void)fd;
	(void)what;
	while ((r = f->dead) != NULL) {
		f->dead = r->next;
		fetch_req_free(r);
	}
}

/* ASCII case-insensitive "s starts with prefix" (prefix in lower case). */
static int
fetch_prefix_is(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++) {
		char c = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
		if (c != *prefix)
			return 0;
	}
	return 1;
}

static int
fetch_check_params(const char *url, const struct tg_fetch_params *p,
    struct tg_err *err)
{
	size_t i;

	if (strlen(url) > TG_FETCH_URL_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "URL longer than %d "
		    "bytes", TG_FETCH_URL_MAX);
	if (strlen(url) < 8 || !fetch_prefix_is(url, "https://"))
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "only https:// URLs are fetched");
	if (p->n_own > TG_FETCH_OWN_MAX ||
	    p->n_resolve > TG_FETCH_RESOLVE_MAX ||
	    p->n_connect_to > TG_FETCH_RESOLVE_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "too many own addresses or resolve overrides");
	for (i = 0; i < p->n_resolve; i++)
		if (strlen(p->resolve[i]) > TG_FETCH_RESOLVE_LEN_MAX)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "resolve override %zu too long", i);
	for (i = 0; i < p->n_connect_to; i++)
		if (strlen(p->connect_to[i]) > TG_FETCH_RESOLVE_LEN_MAX)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "connect-to override %zu too long", i);
	return 0;
}

#define SETOPT(o, v) (curl_easy_setopt(e, o, v) != CURLE_OK)

/* The hardening of fetch.h, as curl options. */
static int
fetch_setup(struct tg_fetch_req *r, const char *url,
    const struct tg_fetch_params *p)
{
	CURL *e = r->easy;
	long cto = p->connect_timeout_ms > 0 ? p->connect_timeout_ms :
	    TG_FETCH_CONNECT_TIMEOUT_S * 1000L;
	long to = p->timeout_ms > 0 ? p->timeout_ms :
	    TG_STS_FETCH_TIMEOUT_S * 1000L;

	if (SETOPT(CURLOPT_URL, url) || SETOPT(CURLOPT_PRIVATE, r) ||
	    SETOPT(CURLOPT_PROTOCOLS_STR, "https") ||
	    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "https") ||
	    SETOPT(CURLOPT_FOLLOWLOCATION, 0L) ||	/* RFC 8461 §3.3 */
	    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L) ||	/* RFC 8461 §3.3 */
	    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L) ||
	    SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) ||
	    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, cto) ||
	    SETOPT(CURLOPT_TIMEOUT_MS, to) ||
	    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->res.body.limit) ||
	    SETOPT(CURLOPT_WRITEFUNCTION, fetch_write) ||
	    SETOPT(CURLOPT_WRITEDATA, r) ||
	    SETOPT(CURLOPT_OPENSOCKETFUNCTION, fetch_open) ||
	    SETOPT(CURLOPT_OPENSOCKETDATA, r) ||
	    SETOPT(CURLOPT_ERRORBUFFER, r->errbuf) ||
	    SETOPT(CURLOPT_PROXY, "") ||		/* not from the env */
	    SETOPT(CURLOPT_USERAGENT, "tlsgate/" TG_VERSION) ||
	    SETOPT(CURLOPT_NOSIGNAL, 1L) ||
	    SETOPT(CURLOPT_FORBID_REUSE, 1L) ||
	    SETOPT(CURLOPT_FRESH_CONNECT, 1L) ||
	    /* Cancelling during a name lookup must not block the loop
	     * until libcurl's resolver thread ends: let it finish alone. */
	    SETOPT(CURLOPT_QUICK_EXIT, 1L))
		return -1;
	if (r->post == NULL ? SETOPT(CURLOPT_HTTPGET, 1L) :
	    (SETOPT(CURLOPT_POST, 1L) ||
	    SETOPT(CURLOPT_POSTFIELDS, r->post) ||
	    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->post_len) ||
	    SETOPT(CURLOPT_HTTPHEADER, r->headers)))
		return -1;
	if (p->ca_file != NULL && (SETOPT(CURLOPT_CAINFO, p->ca_file) ||
	    SETOPT(CURLOPT_CAPATH, (char *)NULL)))
		return -1;
	if ((r->resolve != NULL && SETOPT(CURLOPT_RESOLVE, r->resolve)) ||
	    (r->connect_to != NULL && SETOPT(CURLOPT_CONNECT_TO,
	    r->connect_to)))
		return -1;
	return 0;
}

#undef SETOPT

/* Copy n strings into a new curl list *out. */
static int
fetch_list(struct curl_slist **out, const char *const *v, size_t n)
{
	struct curl_slist *l;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((l = curl_slist_append(*out, v[i])) == NULL)
			return -1;
		*out = l;
	}
	return 0;
}

static struct tg_fetch_req *
fetch_req_new(struct tg_fetch *f, const struct tg_fetch_params *p)
{
	struct tg_fetch_req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->f = f;
	tg_buf_init(&r->res.body, p->body_max > 0 ? p->body_max :
	    TG_STS_BODY_MAX);
	r->allow_private = p->allow_private_addresses;
	r->n_own = p->n_own;
	if (p->n_own > 0)
		memcpy(r->own, p->own, p->n_own * sizeof(r->own[0]));
	r->multi = curl_multi_init();
	r->easy = curl_easy_init();
	r->timer = evtimer_new(f->base, fetch_timer_fire, r);
	if (fetch_list(&r->resolve, p->resolve, p->n_resolve) != 0 ||
	    fetch_list(&r->connect_to, p->connect_to, p->n_connect_to) != 0 ||
	    r->multi == NULL || r->easy == NULL ||
	    r->timer == NULL ||
	    curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION,
	    fetch_sock_cb) != CURLM_OK ||
	    curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r) != CURLM_OK ||
	    curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION,
	    fetch_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r) != CURLM_OK) {
		fetch_req_free(r);
		return NULL;
	}
	return r;
}

/* A POST's body (copied) and headers: its Content-Type, and no
 * "Expect: 100-continue" round trip. */
static int
fetch_post_setup(struct tg_fetch_req *r, const char *content_type,
    const void *body, size_t len)
{
	char ct[TG_FETCH_CTYPE_MAX + 32];
	struct curl_slist *l;

	if ((r->post = malloc(len > 0 ? len : 1)) == NULL)
		return -1;
	if (len > 0)
		memcpy(r->post, body, len);
	r->post_len = len;
	snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
	if ((l = curl_slist_append(NULL, ct)) == NULL)
		return -1;
	r->headers = l;
	if ((l = curl_slist_append(r->headers, "Expect:")) == NULL)
		return -1;
	r->headers = l;
	return 0;
}

/* Start a GET (content_type NULL) or a POST. */
static int
fetch_start(struct tg_fetch *f, const char *url,
    const struct tg_fetch_params *p, const char *content_type,
    const void *body, size_t len, tg_fetch_cb *cb, void *arg,
    struct tg_fetch_req **out, struct tg_err *err)
{
	static const struct tg_fetch_params defaults;
	struct tg_fetch_req *r;

	if (p == NULL)
		p = &defaults;
	if (fetch_check_params(url, p, err) != 0)
		return -1;
	if ((r = fetch_req_new(f, p)) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL,
		    "cannot set up a transfer: out of memory");
	r->cb = cb;
	r->arg = arg;
	if (content_type != NULL && fetch_post_setup(r, content_type, body,
	    len) != 0) {
		fetch_req_free(r);
		return tg_err_set(err, TG_ERR_TEMP, NULL,
		    "cannot set up a transfer: out of memory");
	}
	if (fetch_setup(r, url, p) != 0 ||
	    curl_multi_add_handle(r->multi, r->easy) != CURLM_OK) {
		fetch_req_free(r);
		return tg_err_set(err, TG_ERR_TEMP, NULL,
		    "cannot set up a transfer (libcurl options)");
	}
	r->started = tg_clock_mono_ms();
	r->next = f->live;
	f->live = r;
	f->pending++;
	if (out != NULL)
		*out = r;
	return 0;
}

int
tg_fetch_get(struct tg_fetch *f, const char *url,
    const struct tg_fetch_params *p, tg_fetch_cb *cb, void *arg,
    struct tg_fetch_req **out, struct tg_err *err)
{
	return fetch_start(f, url, p, NULL, NULL, 0, cb, arg, out, err);
}

int
tg_fetch_post(struct tg_fetch *f, const char *url,
    const struct tg_fetch_params *p, const char *content_type,
    const void *body, size_t len, tg_fetch_cb *cb, void *arg,
    struct tg_fetch_req **out, struct tg_err *err)
{
	size_t i;

	if (content_type == NULL || content_type[0] == '\0' ||
	    strlen(content_type) > TG_FETCH_CTYPE_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "POST needs a "
		    "Content-Type of at most %d bytes", TG_FETCH_CTYPE_MAX);
	for (i = 0; content_type[i] != '\0'; i++)
		if ((unsigned char)content_type[i] < 0x20 ||
		    content_type[i] == 0x7f)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "control character in Content-Type");
	if (len > TG_FETCH_POST_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "POST body larger "
		    "than %d bytes", TG_FETCH_POST_MAX);
	return fetch_start(f, url, p, content_type, body, len, cb, arg, out,
	    err);
}

void
tg_fetch_set_on_cancel(struct tg_fetch_req *r, void (*fn)(void *arg))
{
	r->on_cancel = fn;
}

void
tg_fetch_cancel(struct tg_fetch_req *r)
{
	if (r == NULL || r->done)
		return;
	fetch_detach(r);
	if (r->on_cancel != NULL)
		r->on_cancel(r->arg);
}

size_t
tg_fetch_pending(const struct tg_fetch *f)
{
	return f->pending;
}

struct tg_fetch *
tg_fetch_new(struct event_base *base, struct tg_err *err)
{
	struct tg_fetch *f;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "libcurl: global init");
		return NULL;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->reaper = event_new(base, -1, 0, fetch_reap, f)) == NULL) {
		free(f);
		curl_global_cleanup();
		tg_err_set(err, TG_ERR_TEMP, NULL, "fetch: out of memory");
		return NULL;
	}
	f->base = base;
	return f;
}

void
tg_fetch_free(struct tg_fetch *f)
{
	if (f == NULL)
		return;
	/* Freeing the fetcher from a callback would free the request
	 * whose callback is running: a bug in the caller. */
	assert(f->in_callback == 0);
	while (f->live != NULL)
		tg_fetch_cancel(f->live);
	fetch_reap(-1, 0, f);
	event_free(f->reaper);
	free(f);
	curl_global_cleanup();
}
