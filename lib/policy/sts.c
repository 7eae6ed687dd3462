/*
 * policy/sts — see sts.h.
 */
#include "policy/sts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/txtfield.h"
#include "util/dname.h"

/* RFC 8461 §3.1: the record starts with "v=STSv1" followed by a delimiter. */
static int
sts_is_candidate(const char *text, size_t len)
{
	return tg_txtfield_has_version(text, len, "v=STSv1");
}

static int
sts_id_valid(const char *v, size_t n)
{
	size_t i;

	if (n == 0 || n > TG_STS_ID_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

int
tg_sts_txt_parse(const char *text, size_t len, struct tg_sts_txt *out,
    struct tg_err *err)
{
	struct tg_txtfield f;
	size_t pos = 0;
	int have_id = 0, first = 1;

	memset(out, 0, sizeof(*out));
	if (!sts_is_candidate(text, len))
		return tg_err_set_at(err, TG_ERR_PERM, 0,
		    "record does not start with v=STSv1");
	while (tg_txtfield_next(text, len, &pos, &f) == 1) {
		if (f.name_len == 0 || f.bad)
			return tg_err_set_at(err, TG_ERR_PERM, (long)f.offset,
			    "malformed field at offset %zu", f.offset);
		if (first) {	/* the version, checked above */
			first = 0;
			continue;
		}
		if (f.name_len == 2 && memcmp(f.name, "id", 2) == 0 &&
		    !have_id) {
			if (!sts_id_valid(f.value, f.value_len))
				return tg_err_set_at(err, TG_ERR_PERM,
				    (long)f.offset, "id must be 1 to 32 "
				    "letters or digits");
			memcpy(out->id, f.value, f.value_len);
			out->id[f.value_len] = '\0';
			have_id = 1;
		}
		/* Unknown fields are ignored (RFC 8461 §3.1). */
	}
	if (!have_id)
		return tg_err_set_at(err, TG_ERR_PERM, (long)len,
		    "record has no id field");
	return 0;
}

int
tg_sts_txt_select(const char *const *texts, const size_t *lens, size_t n,
    struct tg_sts_txt *out, struct tg_err *err)
{
	size_t which;

	if (tg_txtfield_select(texts, lens, n, "v=STSv1", "RFC 8461 §3.1",
	    &which, err) != 0)
		return -1;
	return tg_sts_txt_parse(texts[which], lens[which], out, err);
}

/* ---- the HTTPS policy fetch (RFC 8461 §3.2, §3.3) ---- */

struct tg_sts_fetch {
	struct tg_fetch_req *req;	/* borrowed: owned by the fetcher */
	tg_sts_fetch_cb *cb;
	void *arg;
	struct tg_sts_fetch_result r;
};

int
tg_sts_policy_url(const char *domain, char *out, size_t outlen,
    struct tg_err *err)
{
	char d[TG_DNAME_MAX + 1];
	int n;

	if (tg_dname_normalize(domain, d, sizeof(d), err) != 0)
		return -1;
	/* RFC 8461 §3.2: the Policy Host is "mta-sts" + the Policy Domain,
	 * the path the fixed well-known one. */
	n = snprintf(out, outlen, "https://mta-sts.%s/.well-known/mta-sts.txt",
	    d);
	if (n < 0 || (size_t)n >= outlen)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "URL buffer too small");
	return 0;
}

/* What a complete HTTP response means for the policy. */
static int
sts_check_response(const struct tg_fetch_result *res, struct tg_err *err)
{
	if (res->status >= 300 && res->status < 400)
		/* RFC 8461 §3.3: HTTP 3xx redirects MUST NOT be followed. */
		return tg_err_set(err, TG_ERR_TEMP, NULL, "redirect refused "
		    "(HTTP %ld to '%s')", res->status, res->location);
	if (res->status != 200)
		/* RFC 8461 §3.3: only a 200 response carries a policy. */
		return tg_err_set(err, TG_ERR_TEMP, NULL, "HTTP status %ld",
		    res->status);
	if (!tg_fetch_media_type_is(res->content_type, "text/plain"))
		/* RFC 8461 §3.2: the policy SHOULD be text/plain; any
		 * charset parameter is ignored. */
		return tg_err_set(err, TG_ERR_TEMP, NULL, "Content-Type '%s' "
		    "is not text/plain", res->content_type);
	return 0;
}

static void
sts_fetch_done(struct tg_fetch_result *res, void *arg)
{
	struct tg_sts_fetch *h = arg;
	struct tg_sts_fetch_result *r = &h->r;

	r->status = res->status;
	r->body = res->body.data;
	r->body_len = res->body.len;
	snprintf(r->peer_ip, sizeof(r->peer_ip), "%s", res->peer_ip);
	if (!res->ok)
		r->err = res->err;
	else if (sts_check_response(res, &r->err) != 0)
		r->err.result_type = TG_FETCH_RESULT_FETCH_ERROR;
	else
		r->ok = tg_sts_policy_parse(res->body.data, res->body.len,
		    &r->policy, &r->err) == 0;
	if (!r->ok)
		tg_err_prefix(&r->err, "%s", r->url);
	h->cb(r, h->arg);
	free(h);
}

static void
sts_fetch_cancelled(void *arg)
{
	free(arg);
}

int
tg_sts_fetch_policy(struct tg_fetch *f, const char *domain,
    const struct tg_fetch_params *p, tg_sts_fetch_cb *cb, void *arg,
    struct tg_sts_fetch **out, struct tg_err *err)
{
	struct tg_sts_fetch *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	h->cb = cb;
	h->arg = arg;
	tg_err_clear(&h->r.err);
	if (tg_sts_policy_url(domain, h->r.url, sizeof(h->r.url), err) != 0 ||
	    tg_fetch_get(f, h->r.url, p, sts_fetch_done, h, &h->req,
	    err) != 0) {
		free(h);
		return -1;
	}
	tg_fetch_set_on_cancel(h->req, sts_fetch_cancelled);
	if (out != NULL)
		*out = h;
	return 0;
}

void
tg_sts_fetch_cancel(struct tg_sts_fetch *h)
{
	if (h != NULL)
		tg_fetch_cancel(h->req);
}
