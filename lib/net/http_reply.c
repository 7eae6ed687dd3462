/*
 * net/http_reply — replies of the HTTPS server (see http.h): bodies made
 * once and served many times, replies made per request, the error pages
 * of the module, the headers every reply carries, and what a route may
 * read of its request.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/http_int.h"
#include "util/text.h"

/* Every reply carries these. The mta-sts host name serves nothing but
 * this file; nothing here is meant to be framed, sniffed or cached. A
 * server may replace the Content-Security-Policy (config csp: the
 * console's pages load their script and style). */
static const char *const http_sec_headers[][2] = {
	{ "X-Content-Type-Options", "nosniff" },
	{ "X-Frame-Options", "DENY" },
	{ "Content-Security-Policy", TG_HTTP_CSP_DEFAULT },
	{ "Referrer-Policy", "no-referrer" },
	{ "Strict-Transport-Security", "max-age=31536000" },
	{ "Cache-Control", "no-store" },
};
#define HTTP_CSP_INDEX	2
/* RFC 6797 §7.2: an HSTS host must not send it over plain HTTP. */
#define HTTP_HSTS_INDEX	4

/* ---- replies ---- */

static int
http_add_headers(struct MHD_Response *resp, const char *content_type,
    const struct tg_http *h)
{
	const char *value;
	size_t i;

	if (content_type != NULL && MHD_add_response_header(resp,
	    MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES)
		return -1;
	for (i = 0; i < sizeof(http_sec_headers) / sizeof(http_sec_headers[0]);
	    i++) {
		value = http_sec_headers[i][1];
		if (i == HTTP_CSP_INDEX && h != NULL && h->cfg.csp != NULL)
			value = h->cfg.csp;
		if (i == HTTP_HSTS_INDEX && h != NULL && h->cfg.plain)
			continue;
		if (MHD_add_response_header(resp, http_sec_headers[i][0],
		    value) != MHD_YES)
			return -1;
	}
	return 0;
}

struct MHD_Response *
http_response(const struct tg_http *h, const char *content_type,
    const void *data, size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)data,
	    MHD_RESPMEM_MUST_COPY);
	if (resp != NULL && http_add_headers(resp, content_type, h) != 0) {
		MHD_destroy_response(resp);
		resp = NULL;
	}
	return resp;
}

void
tg_http_body_free(struct tg_http_body *b)
{
	if (b == NULL)
		return;
	if (b->resp != NULL)
		MHD_destroy_response(b->resp);
	free(b->content_type);
	free(b->data);
	free(b);
}

int
tg_http_body_new(const char *content_type, const void *data, size_t len,
    struct tg_http_body **out, struct tg_err *err)
{
	struct tg_http_body *b;

	*out = NULL;
	if (len > TG_HTTP_REPLY_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "reply body larger than %d bytes", TG_HTTP_REPLY_MAX);
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	b->len = len;
	if ((content_type != NULL &&
	    (b->content_type = strdup(content_type)) == NULL) ||
	    (b->data = malloc(len + 1)) == NULL ||
	    (b->resp = http_response(NULL, content_type, data, len)) ==
	    NULL) {
		tg_http_body_free(b);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	memcpy(b->data, data, len);
	*out = b;
	return 0;
}

/* Queue resp (borrowed) on the server's thread. */
int
http_queue(struct tg_http_request *req, unsigned status,
    struct MHD_Response *resp)
{
	if (req->status != 0 || resp == NULL ||
	    MHD_queue_response(req->mc, status, resp) != MHD_YES)
		return -1;
	req->status = status;
	return 0;
}

/* Reply with a new response (taken): queued now on the server's thread,
 * or kept for it when the loop answers. */
int
http_reply_new(struct tg_http_request *req, unsigned status,
    struct MHD_Response *resp)
{
	int r = -1;

	if (req->on_loop) {
		if (req->pending == NULL && resp != NULL) {
			req->pending = resp;
			req->pending_status = status;
			return 0;
		}
	} else
		r = http_queue(req, status, resp);
	if (resp != NULL)
		MHD_destroy_response(resp);
	return r;
}

/* Whether req came over TLS (its replies carry HSTS). */
static int
http_tls(const struct tg_http_request *req)
{
	return !req->http->cfg.plain;
}

/* A prebuilt body is shared as it is on the server's thread of an HTTPS
 * server with the default headers; from the loop's thread, without
 * HSTS or with a CSP of the server's own, it is copied. */
int
tg_http_reply(struct tg_http_request *req, unsigned status,
    const struct tg_http_body *body)
{
	if (req->on_loop || !http_tls(req) || req->http->cfg.csp != NULL)
		return http_reply_new(req, status, http_response(req->http,
		    body->content_type, body->data, body->len));
	return http_queue(req, status, body->resp);
}

int
tg_http_reply_text(struct tg_http_request *req, unsigned status,
    const char *content_type, const char *text, size_t len)
{
	return tg_http_reply_headers(req, status, content_type, text, len,
	    NULL, 0);
}

/* A header a route may add: a token name that is none of the security
 * headers (those are the server's), a value without CR, LF or NUL (MHD
 * checks the value too). */
static int
http_header_ok(const struct tg_http_header *hd)
{
	size_t i;

	if (hd->name == NULL || hd->value == NULL || hd->name[0] == '\0' ||
	    strcspn(hd->name, " \t\r\n:()<>@,;\\\"/[]?={}") !=
	    strlen(hd->name) || strpbrk(hd->value, "\r\n") != NULL ||
	    strcasecmp(hd->name, MHD_HTTP_HEADER_CONTENT_TYPE) == 0)
		return 0;
	for (i = 0; i < sizeof(http_sec_headers) / sizeof(http_sec_headers[0]);
	    i++)
		if (strcasecmp(hd->name, http_sec_headers[i][0]) == 0)
			return 0;
	return 1;
}

int
tg_http_reply_headers(struct tg_http_request *req, unsigned status,
    const char *content_type, const char *text, size_t len,
    const struct tg_http_header *hdrs, size_t nhdrs)
{
	struct MHD_Response *resp;
	size_t i;

	if (len > TG_HTTP_REPLY_MAX || nhdrs > TG_HTTP_REPLY_HEADERS_MAX)
		return -1;
	for (i = 0; i < nhdrs; i++)
		if (!http_header_ok(&hdrs[i]))
			return -1;
	resp = http_response(req->http, content_type, text, len);
	for (i = 0; resp != NULL && i < nhdrs; i++)
		if (MHD_add_response_header(resp, hdrs[i].name,
		    hdrs[i].value) != MHD_YES) {
			MHD_destroy_response(resp);
			resp = NULL;
		}
	return http_reply_new(req, status, resp);
}

/* "Allow" of a 405 (RFC 9110 §15.5.6). */
static void
http_allow(unsigned methods, char *out, size_t outlen)
{
	size_t n;

	tg_text_fmt(out, outlen, "%s%s%s",
	    methods & TG_HTTP_GET ? "GET, " : "",
	    methods & TG_HTTP_HEAD ? "HEAD, " : "",
	    methods & TG_HTTP_POST ? "POST, " : "");
	n = strlen(out);
	if (n >= 2)
		out[n - 2] = '\0';
}

/* An error reply made by this module: "404 Not Found" as text. */
struct MHD_Response *
http_error_response(const struct tg_http_request *req, unsigned status)
{
	struct MHD_Response *resp;
	char text[128], allow[32];

	tg_text_fmt(text, sizeof(text), "%u %s\n", status,
	    MHD_get_reason_phrase_for(status));
	resp = http_response(req->http, "text/plain; charset=utf-8", text,
	    strlen(text));
	if (resp != NULL && status == MHD_HTTP_METHOD_NOT_ALLOWED &&
	    req->route != NULL) {
		http_allow(req->route->methods, allow, sizeof(allow));
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
		    allow);
	}
	return resp;
}

enum MHD_Result
http_reply_error(struct tg_http_request *req, unsigned status)
{
	return http_reply_new(req, status, http_error_response(req,
	    status)) == 0 ? MHD_YES : MHD_NO;
}

/* ---- request accessors ---- */

unsigned
tg_http_request_method(const struct tg_http_request *req)
{
	return req->method;
}

const char *
tg_http_request_method_name(const struct tg_http_request *req)
{
	return req->method_name;
}

const char *
tg_http_request_path(const struct tg_http_request *req)
{
	return req->path;
}

const char *
tg_http_request_host(const struct tg_http_request *req)
{
	return http_tls(req) ? req->conn->sni : req->host;
}

const char *
tg_http_request_peer(const struct tg_http_request *req)
{
	struct tg_http_request *r = (struct tg_http_request *)(uintptr_t)req;
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	if (r->peer[0] != '\0')
		return r->peer;
	ci = MHD_get_connection_info(r->mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sa = ci == NULL ? NULL : ci->client_addr;
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, r->peer, sizeof(r->peer));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr, r->peer, sizeof(r->peer));
	if (r->peer[0] == '\0')
		snprintf(r->peer, sizeof(r->peer), "unknown");
	return r->peer;
}

const char *
tg_http_request_header(const struct tg_http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->mc, MHD_HEADER_KIND, name);
}

const char *
tg_http_request_arg(const struct tg_http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->mc, MHD_GET_ARGUMENT_KIND,
	    name);
}

uint64_t
tg_http_request_body_len(const struct tg_http_request *req)
{
	return req->body_len;
}

void *
tg_http_request_data(const struct tg_http_request *req)
{
	return req->pub == NULL ? NULL : req->pub->data;
}

void *
tg_http_request_ctx(const struct tg_http_request *req)
{
	return req->ctx;
}

void
tg_http_request_set_ctx(struct tg_http_request *req, void *ctx)
{
	req->ctx = ctx;
}

