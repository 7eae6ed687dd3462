/*
 * daemons/rptd/rptd_in.c — the collector's route: POST of a report at
 * rpt.path (RFC 8460 §5.3.2), see rptd.h.
 *
 * On the server's thread, before the body is read: the media type
 * (415), a Content-Encoding on top of the report's own gzip (415: one
 * compression layer, RELIABILITY R-01), a Content-Length over
 * rpt.max_body_size (413) and the per-source rate (429, R-04). The body
 * is then kept up to that size; a body without Content-Length that grows
 * past it is dropped as it comes and answered 413. The complete body is
 * checked, inflated and parsed there too (tg_collect_prepare: the
 * costly part, which needs nothing of the daemon), so the loop's thread
 * only keeps what is ours and stores it (tg_collect_store, in the
 * batch of net/http's group commit); its status is the answer: 201
 * stored, 200 stored before, 4xx with the reason (the JSON path of a
 * schema error), 503/507 when we cannot store it now.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "rptd.h"
#include "util/clock.h"

#define IN_CTYPE	"text/plain; charset=utf-8"

char rptd_path[TG_PATH_MAX] = "/tlsrpt";

struct in_req {
	struct tg_buf body;
	int too_large;
	struct tg_collect_prepared *prep;	/* owned; NULL: refused */
	struct tg_collect_result res;
};

static int
in_reply(struct tg_http_request *req, unsigned status, const char *text)
{
	char line[TG_ERR_MSG_MAX + 32];
	int n;

	n = snprintf(line, sizeof(line), "%u %s\n", status, text);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	return tg_http_reply_text(req, status, IN_CTYPE, line, (size_t)n);
}

/* Refusals before the body: one log line each, but a flood of 429s is
 * logged at most once a second, with a count. */
static void
in_log_refusal(struct rptd *r, struct tg_http_request *req, unsigned status,
    const char *why)
{
	static time_t last;
	static unsigned suppressed;
	time_t now = time(NULL);
	unsigned n;

	pthread_mutex_lock(&r->lock);
	if (status == 429 && now == last) {
		suppressed++;
		pthread_mutex_unlock(&r->lock);
		return;
	}
	n = suppressed;
	suppressed = 0;
	last = now;
	pthread_mutex_unlock(&r->lock);
	tg_log_info(NULL, "event=report-in source=https peer=%s result=refused "
	    "http=%u reason=\"%s\" unlogged_429=%u", tg_http_request_peer(req),
	    status, why, n);
}

static int
in_refuse(struct rptd *r, struct tg_http_request *req, unsigned status,
    const char *why)
{
	in_log_refusal(r, req, status, why);
	return in_reply(req, status, why) == 0 ? 0 : -1;
}

/* The client's address for the rate limiter. */
static int
in_admit(struct rptd *r, struct tg_http_request *req)
{
	const char *peer = tg_http_request_peer(req);
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	const struct sockaddr *sa = NULL;
	int ok = 1;

	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (peer != NULL && inet_pton(AF_INET, peer, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		sa = (const struct sockaddr *)&s4;
	} else if (peer != NULL && inet_pton(AF_INET6, peer,
	    &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		sa = (const struct sockaddr *)&s6;
	}
	if (sa == NULL)
		return 1;
	pthread_mutex_lock(&r->lock);
	if (r->limiter != NULL)
		ok = tg_collect_limiter_admit(r->limiter, sa,
		    tg_clock_mono_ms());
	pthread_mutex_unlock(&r->lock);
	return ok;
}

/* Content-Length as a number; -1 if it is not one. */
static long long
in_length(const char *v)
{
	char *end;
	long long n;

	while (*v == ' ' || *v == '\t')
		v++;
	if (*v < '0' || *v > '9')
		return -1;
	n = strtoll(v, &end, 10);
	return *end == '\0' || *end == ' ' || *end == '\t' ? n : -1;
}

static int
in_headers(struct tg_http_request *req, void *arg)
{
	struct rptd *r = arg;
	const struct rptd_pub *pub = tg_http_request_data(req);
	size_t max = pub != NULL ? pub->body_max : TG_RPT_BODY_MAX;
	const char *ce = tg_http_request_header(req, "Content-Encoding");
	const char *cl = tg_http_request_header(req, "Content-Length");
	struct in_req *q;

	if (tg_collect_media_type(tg_http_request_header(req,
	    "Content-Type")) < 0)
		return in_refuse(r, req, 415, "Content-Type must be "
		    TG_COLLECT_MEDIA_GZIP " or " TG_COLLECT_MEDIA_JSON
		    " (RFC 8460 section 5.3.2)");
	if (ce != NULL && strcasecmp(ce, "identity") != 0)
		return in_refuse(r, req, 415, "no Content-Encoding: "
		    TG_COLLECT_MEDIA_GZIP " is the one compression layer");
	if (cl != NULL && (in_length(cl) < 0 ||
	    (unsigned long long)in_length(cl) > max))
		return in_refuse(r, req, 413, "body larger than "
		    "rpt.max_body_size");
	if (!in_admit(r, req))
		return in_refuse(r, req, 429, "too many reports from this "
		    "address; try again later");
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	tg_buf_init(&q->body, max);
	tg_http_request_set_ctx(req, q);
	return 0;
}

static int
in_body(struct tg_http_request *req, const void *data, size_t len, void *arg)
{
	struct in_req *q = tg_http_request_ctx(req);

	(void)arg;
	if (q == NULL)
		return -1;
	if (!q->too_large && tg_buf_append(&q->body, data, len) != 0) {
		/* Keep reading and dropping, then answer 413. */
		q->too_large = 1;
		tg_buf_free(&q->body);
	}
	return 0;
}

/* On the server's thread: the costly part of the ingest. */
static int
in_prepare(struct tg_http_request *req, void *arg)
{
	struct in_req *q = tg_http_request_ctx(req);
	const struct rptd_pub *pub = tg_http_request_data(req);

	(void)arg;
	if (q == NULL || q->too_large)
		return 0;
	(void)tg_collect_prepare(tg_http_request_header(req, "Content-Type"),
	    q->body.data, q->body.len, pub != NULL ? pub->body_max : 0,
	    &q->prep, &q->res);
	return 0;
}

static int
in_complete(struct tg_http_request *req, void *arg)
{
	struct rptd *r = arg;
	struct in_req *q = tg_http_request_ctx(req);
	struct tg_collect_origin o;
	struct tg_collect_params p;
	struct tg_snapshot *snap;
	struct rptd_view *v;
	char sid[TG_SID_LEN + 1];

	if (q == NULL)
		return in_reply(req, 500, "no request state");
	if (q->too_large)
		return in_refuse(r, req, 413, "body larger than "
		    "rpt.max_body_size");
	if (r->db == NULL)
		return in_reply(req, 503, "the report store is not open; try "
		    "again later");
	snap = tg_daemon_snapshot(r->daemon);
	v = snap->data;
	memset(&p, 0, sizeof(p));
	p.db = r->db;
	p.domains = v->domains;
	p.db_max = snap->conf->rpt_max_db_size;
	tg_log_new_sid(sid);
	o.source = TG_REPORTS_SRC_HTTPS;
	o.peer = tg_http_request_peer(req);
	o.sid = sid;
	o.received = 0;
	/* in_prepare checked and parsed the body (with the published
	 * body limit); what it refused, q->res says. */
	(void)tg_collect_store(&p, q->prep, &o, &q->res);
	tg_snapshot_unref(snap);
	return in_reply(req, (unsigned)tg_collect_http_status(q->res.status),
	    q->res.reason);
}

static void
in_done(struct tg_http_request *req, void *arg)
{
	struct in_req *q = tg_http_request_ctx(req);

	(void)arg;
	if (q == NULL)
		return;
	tg_collect_prepared_free(q->prep);
	tg_buf_free(&q->body);
	free(q);
	tg_http_request_set_ctx(req, NULL);
}

/*
 * Group commit (net/http batch): the reports handed over together are
 * stored in one transaction and synced once, and none is answered 201
 * before that sync. Under load the batches grow by themselves, as the
 * relay's spool commits do.
 */
int
rptd_batch_begin(void *arg)
{
	struct rptd *r = arg;
	struct tg_err err;

	if (r->db == NULL)
		return -1;
	if (tg_reports_batch_begin(r->db, &err) != 0) {
		tg_log_warn(NULL, "event=report-batch result=unbatched "
		    "error=\"%s\"", err.msg);
		return -1;
	}
	return 0;
}

int
rptd_batch_end(void *arg)
{
	struct rptd *r = arg;
	struct tg_err err;

	if (tg_reports_batch_end(r->db, &err) == 0)
		return 0;
	tg_log_err(NULL, "event=report-batch result=failed error=\"%s\" "
	    "action=\"503 to every report of the batch\"", err.msg);
	return -1;
}

const struct tg_http_route rptd_routes[] = {
	{ rptd_path, TG_HTTP_POST, 1, in_headers, in_body, in_complete,
	    in_done, in_prepare, 0 },
};

const size_t rptd_nroutes = sizeof(rptd_routes) / sizeof(rptd_routes[0]);

int
rptd_limits_apply(struct rptd *r, const struct tg_conf *conf,
    struct tg_err *err)
{
	struct tg_collect_limiter *l = NULL, *old = NULL;
	unsigned rate = (unsigned)conf->rpt_rate_limit;

	if (rate != r->rate &&
	    (l = tg_collect_limiter_new(rate, 0)) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	pthread_mutex_lock(&r->lock);
	if (l != NULL) {
		old = r->limiter;
		r->limiter = l;
		r->rate = rate;
	}
	pthread_mutex_unlock(&r->lock);
	tg_collect_limiter_free(old);
	return 0;
}
