/*
 * acme/acme_curl — see acme_curl.h.
 */
#include "acme/acme_curl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "util/limits.h"

#ifndef TG_VERSION
#define TG_VERSION "0"
#endif

#define ACME_CONNECT_TIMEOUT_S	15

struct tg_acme_curl {
	CURL *easy;			/* owned */
	const atomic_int *cancel;	/* borrowed, may be NULL */
	char ca_file[TG_PATH_MAX];	/* "" = system store */
	long timeout_s;
	char errbuf[CURL_ERROR_SIZE];
};

/* Copy value[0..len) into out (outlen), trimmed; lower case if asked. */
static void
acme_curl_copy(const char *v, size_t len, char *out, size_t outlen,
    int lower)
{
	size_t i, n = 0;

	while (len > 0 && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len > 0 && isspace((unsigned char)v[len - 1]))
		len--;
	for (i = 0; i < len && n + 1 < outlen; i++)
		out[n++] = lower ? (char)tolower((unsigned char)v[i]) : v[i];
	out[n] = '\0';
}

void
tg_acme_curl_header(const char *line, size_t len, struct tg_acme_reply *r)
{
	const char *colon = memchr(line, ':', len);
	const char *v;
	size_t nlen, vlen;
	char num[16];
	char *end;
	long secs;

	if (colon == NULL)
		return;
	nlen = (size_t)(colon - line);
	v = colon + 1;
	vlen = len - nlen - 1;
	if (nlen == 8 && strncasecmp(line, "location", 8) == 0)
		acme_curl_copy(v, vlen, r->location, sizeof(r->location), 0);
	else if (nlen == 12 && strncasecmp(line, "replay-nonce", 12) == 0)
		acme_curl_copy(v, vlen, r->nonce, sizeof(r->nonce), 0);
	else if (nlen == 12 && strncasecmp(line, "content-type", 12) == 0) {
		acme_curl_copy(v, vlen, r->content_type,
		    sizeof(r->content_type), 1);
		/* Parameters (charset) do not change the media type. */
		r->content_type[strcspn(r->content_type, "; ")] = '\0';
	} else if (nlen == 11 && strncasecmp(line, "retry-after", 11) == 0) {
		acme_curl_copy(v, vlen, num, sizeof(num), 0);
		secs = strtol(num, &end, 10);
		r->retry_after = num[0] != '\0' && *end == '\0' && secs >= 0 &&
		    isdigit((unsigned char)num[0]) ? secs : -1;
	}
}

static size_t
acme_curl_on_header(char *data, size_t size, size_t n, void *arg)
{
	struct tg_acme_reply *r = arg;

	/* A new status line (100 Continue, then the real one) starts over. */
	if (size * n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		r->location[0] = r->nonce[0] = r->content_type[0] = '\0';
		r->retry_after = -1;
	} else
		tg_acme_curl_header(data, size * n, r);
	return size * n;
}

static size_t
acme_curl_on_body(char *data, size_t size, size_t n, void *arg)
{
	struct tg_acme_reply *r = arg;

	/* Past the cap curl stops with CURLE_WRITE_ERROR. */
	return tg_buf_append(&r->body, data, size * n) == 0 ? size * n : 0;
}

static int
acme_curl_cancelled(const struct tg_acme_curl *c)
{
	return c->cancel != NULL && atomic_load(c->cancel) != 0;
}

/* curl asks now and then: a non-zero answer aborts the transfer. */
static int
acme_curl_on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return acme_curl_cancelled(arg);
}

/* The options every request of this transport shares. */
static int
acme_curl_setup(struct tg_acme_curl *c, struct tg_acme_reply *r)
{
	CURL *e = c->easy;
	int bad = 0;

	curl_easy_reset(e);
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	bad |= curl_easy_setopt(e, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2);
	if (c->ca_file[0] != '\0')
		bad |= curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	bad |= curl_easy_setopt(e, CURLOPT_PROXY, "");
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT,
	    (long)ACME_CONNECT_TIMEOUT_S);
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT, c->timeout_s);
	bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)TG_ACME_BODY_MAX);
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "tlsgate/" TG_VERSION);
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION,
	    acme_curl_on_header);
	bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, acme_curl_on_body);
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	bad |= curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION,
	    acme_curl_on_progress);
	bad |= curl_easy_setopt(e, CURLOPT_XFERINFODATA, c);
	bad |= curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	return bad ? -1 : 0;
}

static int
acme_curl_send(void *ctx, const char *method, const char *url,
    const char *body, struct tg_acme_reply *r, struct tg_err *err)
{
	struct tg_acme_curl *c = ctx;
	struct curl_slist *hdr = NULL;
	CURLcode cc;
	int bad;

	c->errbuf[0] = '\0';
	if (acme_curl_cancelled(c))
		return tg_err_set(err, TG_ERR_TEMP, NULL, "ACME: stopping");
	bad = acme_curl_setup(c, r);
	bad |= curl_easy_setopt(c->easy, CURLOPT_URL, url);
	if (strcmp(method, "HEAD") == 0)
		bad |= curl_easy_setopt(c->easy, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "POST") == 0) {
		hdr = curl_slist_append(NULL,
		    "Content-Type: application/jose+json");
		bad |= hdr == NULL;
		bad |= curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, hdr);
		bad |= curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
	}
	if (bad) {
		curl_slist_free_all(hdr);
		return tg_err_set(err, TG_ERR_TEMP, NULL,
		    "ACME: cannot set up a request to %s", url);
	}
	cc = curl_easy_perform(c->easy);
	curl_slist_free_all(hdr);
	if (cc != CURLE_OK)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "ACME: %s %s: %s",
		    method, url, c->errbuf[0] != '\0' ? c->errbuf :
		    curl_easy_strerror(cc));
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &r->status);
	return 0;
}

/* A second at a time, so that a cancel ends it soon. */
static void
acme_curl_sleep(void *ctx, unsigned seconds)
{
	const struct tg_acme_curl *c = ctx;
	struct timespec ts;
	unsigned i;

	for (i = 0; i < seconds && !acme_curl_cancelled(c); i++) {
		ts.tv_sec = 1;
		ts.tv_nsec = 0;
		while (nanosleep(&ts, &ts) != 0)
			;
	}
}

int
tg_acme_curl_new(const char *ca_file, long timeout_s,
    const atomic_int *cancel, struct tg_acme_curl **out,
    struct tg_acme_transport *t, struct tg_err *err)
{
	struct tg_acme_curl *c;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	if (ca_file != NULL && strlen(ca_file) >= sizeof(c->ca_file)) {
		free(c);
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "acme.ca_file is too long");
	}
	snprintf(c->ca_file, sizeof(c->ca_file), "%s",
	    ca_file == NULL ? "" : ca_file);
	c->timeout_s = timeout_s > 0 ? timeout_s : 30;
	c->cancel = cancel;
	if ((c->easy = curl_easy_init()) == NULL) {
		free(c);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	t->send = acme_curl_send;
	t->sleep = acme_curl_sleep;
	t->ctx = c;
	*out = c;
	return 0;
}

void
tg_acme_curl_free(struct tg_acme_curl *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->easy);
	free(c);
}
