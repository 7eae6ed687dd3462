/*
 * acme/acme — see acme.h. The sequence of RFC 8555 §7 for one order:
 *
 *   directory -> newNonce -> newAccount -> newOrder -> for each
 *   authorization: http-01 answer put up, challenge told to go, authz
 *   polled -> finalize with the CSR -> order polled -> certificate.
 *
 * Every request but the first two is a JWS signed with the account key
 * (acme/jws); each reply's Replay-Nonce is kept for the next one.
 */
#include "acme/acme.h"

#include <jansson.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "acme/jws.h"
#include "util/b64url.h"
#include "util/buf.h"

#define ACME_JWS_MAX	(64 * 1024)	/* one signed request */

/* One order in progress. */
struct acme {
	const struct tg_acme_params *p;
	const struct tg_acme_transport *t;
	const struct tg_acme_challenger *ch;
	EVP_PKEY *account_key;			/* borrowed */
	char new_nonce[TG_ACME_URL_MAX];
	char new_account[TG_ACME_URL_MAX];
	char new_order[TG_ACME_URL_MAX];
	char kid[TG_ACME_URL_MAX];		/* account URL, "" before */
	char nonce[TG_ACME_NONCE_MAX];		/* next to use, "" none */
	char published[TG_ACME_AUTHZ_MAX][TG_JWS_THUMBPRINT_LEN + 130];
	size_t npublished;			/* tokens to withdraw */
};

void
tg_acme_reply_init(struct tg_acme_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	tg_buf_init(&r->body, TG_ACME_BODY_MAX);
}

void
tg_acme_reply_free(struct tg_acme_reply *r)
{
	if (r != NULL)
		tg_buf_free(&r->body);
}

/* Copy a URL member of o into out; -1 with err when absent or too long. */
static int
acme_url(json_t *o, const char *member, char *out, size_t outlen,
    struct tg_err *err)
{
	const char *v = json_string_value(json_object_get(o, member));

	if (v == NULL || strncmp(v, "https://", 8) != 0 ||
	    strlen(v) >= outlen)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "ACME: reply without a usable \"%s\" URL", member);
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

/* The body of r as JSON (a reference to release), or NULL with err. */
static json_t *
acme_json(const struct tg_acme_reply *r, struct tg_err *err)
{
	json_error_t jerr;
	json_t *o;

	o = json_loadb(r->body.data == NULL ? "" : r->body.data, r->body.len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		tg_err_set(err, TG_ERR_PERM, NULL,
		    "ACME: reply is not a JSON object (HTTP %ld)", r->status);
		return NULL;
	}
	return o;
}

/*
 * A reply that is not a success: its problem document (RFC 8555 §6.7,
 * RFC 7807) into err. Rate limits and server errors are temporary.
 */
static int
acme_problem(const struct tg_acme_reply *r, const char *what,
    struct tg_err *err)
{
	json_t *o = json_loadb(r->body.data == NULL ? "" : r->body.data,
	    r->body.len, 0, NULL);
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *detail = json_string_value(json_object_get(o, "detail"));
	enum tg_err_class cls = TG_ERR_PERM;

	if (r->status >= 500 || r->status == 429 || (type != NULL &&
	    (strstr(type, ":rateLimited") != NULL ||
	    strstr(type, ":serverInternal") != NULL)))
		cls = TG_ERR_TEMP;
	tg_err_set(err, cls, NULL, "ACME %s: HTTP %ld%s%s%s%s", what,
	    r->status, type != NULL ? " " : "", type != NULL ? type : "",
	    detail != NULL ? ": " : "", detail != NULL ? detail : "");
	json_decref(o);
	return -1;
}

/* Whether r is the problem "badNonce" (RFC 8555 §6.5). */
static int
acme_is_bad_nonce(const struct tg_acme_reply *r)
{
	json_t *o;
	const char *type;
	int bad;

	if (r->status != 400)
		return 0;
	o = json_loadb(r->body.data == NULL ? "" : r->body.data, r->body.len,
	    0, NULL);
	type = json_string_value(json_object_get(o, "type"));
	bad = type != NULL &&
	    strcmp(type, "urn:ietf:params:acme:error:badNonce") == 0;
	json_decref(o);
	return bad;
}

/* One plain request (directory, newNonce); keeps any nonce. */
static int
acme_plain(struct acme *a, const char *method, const char *url,
    struct tg_acme_reply *r, struct tg_err *err)
{
	tg_buf_reset(&r->body);
	if (a->t->send(a->t->ctx, method, url, NULL, r, err) != 0)
		return -1;
	if (r->nonce[0] != '\0')
		memcpy(a->nonce, r->nonce, sizeof(a->nonce));
	return 0;
}

/* A fresh nonce from newNonce when none is kept (§7.2). */
static int
acme_need_nonce(struct acme *a, struct tg_err *err)
{
	struct tg_acme_reply r;
	int rc = 0;

	if (a->nonce[0] != '\0')
		return 0;
	tg_acme_reply_init(&r);
	if (acme_plain(a, "HEAD", a->new_nonce, &r, err) != 0)
		rc = -1;
	else if (a->nonce[0] == '\0')
		rc = tg_err_set(err, TG_ERR_TEMP, NULL,
		    "ACME newNonce: HTTP %ld without a Replay-Nonce", r.status);
	tg_acme_reply_free(&r);
	return rc;
}

/* Sign payload for url and send it once. */
static int
acme_post_once(struct acme *a, const char *url, const char *payload,
    struct tg_acme_reply *r, struct tg_err *err)
{
	struct tg_buf jws;
	char nonce[TG_ACME_NONCE_MAX];
	int rc;

	if (acme_need_nonce(a, err) != 0)
		return -1;
	memcpy(nonce, a->nonce, sizeof(nonce));
	a->nonce[0] = '\0';		/* a nonce is good for one request */
	tg_buf_init(&jws, ACME_JWS_MAX);
	rc = tg_jws_sign(a->account_key, a->kid[0] != '\0' ? a->kid : NULL,
	    nonce, url, payload, &jws, err);
	if (rc == 0) {
		tg_buf_reset(&r->body);
		r->location[0] = r->nonce[0] = r->content_type[0] = '\0';
		r->retry_after = -1;
		rc = a->t->send(a->t->ctx, "POST", url, tg_buf_cstr(&jws), r,
		    err);
	}
	if (rc == 0 && r->nonce[0] != '\0')
		memcpy(a->nonce, r->nonce, sizeof(a->nonce));
	tg_buf_free(&jws);
	return rc;
}

/*
 * A signed POST (payload "" is a POST-as-GET, §6.3), retried once on
 * badNonce with the nonce that reply carried (§6.5). A reply is 0 even
 * when its status is an error: the caller judges.
 */
static int
acme_post(struct acme *a, const char *url, const char *payload,
    struct tg_acme_reply *r, struct tg_err *err)
{
	if (acme_post_once(a, url, payload, r, err) != 0)
		return -1;
	if (acme_is_bad_nonce(r))
		return acme_post_once(a, url, payload, r, err);
	return 0;
}

/* acme_post with the JSON object req (taken) as the payload. */
static int
acme_post_json(struct acme *a, const char *url, json_t *req,
    struct tg_acme_reply *r, struct tg_err *err)
{
	char *payload = req == NULL ? NULL : json_dumps(req, JSON_COMPACT);
	int rc;

	json_decref(req);
	if (payload == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	rc = acme_post(a, url, payload, r, err);
	free(payload);
	return rc;
}

/* §7.1.1: the directory gives the other URLs. */
static int
acme_directory(struct acme *a, struct tg_err *err)
{
	struct tg_acme_reply r;
	json_t *o = NULL;
	int rc = -1;

	tg_acme_reply_init(&r);
	if (acme_plain(a, "GET", a->p->directory_url, &r, err) != 0)
		goto out;
	if (r.status != 200) {
		acme_problem(&r, "directory", err);
		goto out;
	}
	if ((o = acme_json(&r, err)) == NULL)
		goto out;
	if (acme_url(o, "newNonce", a->new_nonce, sizeof(a->new_nonce),
	    err) == 0 && acme_url(o, "newAccount", a->new_account,
	    sizeof(a->new_account), err) == 0 && acme_url(o, "newOrder",
	    a->new_order, sizeof(a->new_order), err) == 0)
		rc = 0;
out:
	json_decref(o);
	tg_acme_reply_free(&r);
	return rc;
}

/* §7.3: the account of our key, made if it is new; its URL is the kid. */
static int
acme_account(struct acme *a, struct tg_err *err)
{
	struct tg_acme_reply r;
	json_t *req;
	char mailto[TG_ACME_URL_MAX];
	int rc = -1;

	req = json_pack("{s:b}", "termsOfServiceAgreed", 1);
	if (req != NULL && a->p->email != NULL && a->p->email[0] != '\0') {
		snprintf(mailto, sizeof(mailto), "mailto:%s", a->p->email);
		json_object_set_new(req, "contact",
		    json_pack("[s]", mailto));
	}
	tg_acme_reply_init(&r);
	if (acme_post_json(a, a->new_account, req, &r, err) != 0)
		goto out;
	if (r.status != 200 && r.status != 201) {
		acme_problem(&r, "newAccount", err);
		goto out;
	}
	if (strncmp(r.location, "https://", 8) != 0) {
		tg_err_set(err, TG_ERR_PERM, NULL,
		    "ACME newAccount: no account URL (Location)");
		goto out;
	}
	memcpy(a->kid, r.location, sizeof(a->kid));
	rc = 0;
out:
	tg_acme_reply_free(&r);
	return rc;
}

/* The status member of o, "" when absent. */
static const char *
acme_status(json_t *o)
{
	const char *s = json_string_value(json_object_get(o, "status"));

	return s == NULL ? "" : s;
}

/* Whether word is one of the space-separated words of list. */
static int
acme_word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = list; n > 0 && (p = strstr(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

/* Seconds to wait before the next look (§7.5.1: Retry-After). */
static unsigned
acme_poll_wait(const struct tg_acme_reply *r)
{
	if (r->retry_after < 1)
		return TG_ACME_POLL_DEFAULT_S;
	return r->retry_after > TG_ACME_POLL_MAX_S ? TG_ACME_POLL_MAX_S :
	    (unsigned)r->retry_after;
}

/*
 * POST-as-GET url until its status leaves those in busy (a
 * space-separated list), at most TG_ACME_POLLS_MAX times; *out gets the
 * last object (a reference). what names it in errors.
 */
static int
acme_poll(struct acme *a, const char *url, const char *busy,
    const char *what, json_t **out, struct tg_err *err)
{
	struct tg_acme_reply r;
	json_t *o = NULL;
	const char *st;
	int i, rc = -1;

	tg_acme_reply_init(&r);
	for (i = 0; i < TG_ACME_POLLS_MAX; i++) {
		if (i > 0)
			a->t->sleep(a->t->ctx, acme_poll_wait(&r));
		json_decref(o);
		o = NULL;
		if (acme_post(a, url, "", &r, err) != 0)
			goto out;
		if (r.status != 200) {
			acme_problem(&r, what, err);
			goto out;
		}
		if ((o = acme_json(&r, err)) == NULL)
			goto out;
		st = acme_status(o);
		if (!acme_word_in(busy, st)) {
			*out = o;
			o = NULL;
			rc = 0;
			goto out;
		}
	}
	tg_err_set(err, TG_ERR_TEMP, NULL, "ACME %s: still %s after %d "
	    "looks", what, acme_status(o), TG_ACME_POLLS_MAX);
out:
	json_decref(o);
	tg_acme_reply_free(&r);
	return rc;
}

/* The reason an authorization or challenge failed, from its error. */
static int
acme_failed(json_t *o, const char *what, struct tg_err *err)
{
	json_t *e = json_object_get(o, "error");
	json_t *chs = json_object_get(o, "challenges");
	const char *detail, *type;
	size_t i;

	/* An authorization carries the error in its failed challenge. */
	for (i = 0; e == NULL && i < json_array_size(chs); i++)
		e = json_object_get(json_array_get(chs, i), "error");
	type = json_string_value(json_object_get(e, "type"));
	detail = json_string_value(json_object_get(e, "detail"));
	return tg_err_set(err, TG_ERR_PERM, NULL, "ACME %s: %s%s%s%s%s", what,
	    acme_status(o), type != NULL ? ": " : "", type != NULL ? type : "",
	    detail != NULL ? ": " : "", detail != NULL ? detail : "");
}

/* The challenger's type of challenge. */
static const char *
acme_type(const struct acme *a)
{
	return a->ch->type != NULL ? a->ch->type : "http-01";
}

/* The challenge of that type of an authorization (§8.3, §8.4), or NULL. */
static json_t *
acme_challenge(json_t *authz, const char *type)
{
	json_t *chs = json_object_get(authz, "challenges"), *c;
	size_t i;

	json_array_foreach(chs, i, c) {
		if (json_is_string(json_object_get(c, "type")) &&
		    strcmp(json_string_value(json_object_get(c, "type")),
		    type) == 0)
			return c;
	}
	return NULL;
}

int
tg_acme_dns01_value(const char *key_authorization, char *out,
    size_t outlen, struct tg_err *err)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	struct tg_buf b;
	int rc = -1;

	SHA256((const unsigned char *)key_authorization,
	    strlen(key_authorization), md);
	tg_buf_init(&b, 64);
	if (tg_b64url_encode(md, sizeof(md), &b) == 0 && b.len < outlen) {
		memcpy(out, b.data, b.len);
		out[b.len] = '\0';
		rc = 0;
	} else {
		tg_err_set(err, TG_ERR_BUG, NULL, "dns-01 value too long");
	}
	tg_buf_free(&b);
	return rc;
}

/* Put up the key authorization of challenge c for name and say go. */
static int
acme_answer(struct acme *a, json_t *c, const char *name,
    struct tg_err *err)
{
	const char *token = json_string_value(json_object_get(c, "token"));
	char url[TG_ACME_URL_MAX];
	char keyauth[sizeof(a->published[0])];
	struct tg_acme_reply r;
	int rc;

	if (token == NULL || acme_url(c, "url", url, sizeof(url), err) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "ACME: %s challenge without token or url", acme_type(a));
	if (tg_jws_key_authorization(a->account_key, token, keyauth,
	    sizeof(keyauth), err) != 0)
		return -1;
	if (a->npublished == TG_ACME_AUTHZ_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "ACME: too many challenges");
	if (a->ch->publish(a->ch->arg, name, token, keyauth, err) != 0)
		return -1;
	snprintf(a->published[a->npublished++], sizeof(a->published[0]),
	    "%s", token);
	/* §7.5.1: an empty object says "the answer is up, go and look". */
	tg_acme_reply_init(&r);
	rc = acme_post(a, url, "{}", &r, err);
	if (rc == 0 && r.status != 200)
		rc = acme_problem(&r, "challenge", err);
	tg_acme_reply_free(&r);
	return rc;
}

/* One authorization: answered and valid, or an error. */
static int
acme_authorize(struct acme *a, const char *authz_url, const char *name,
    struct tg_err *err)
{
	json_t *authz = NULL, *c;
	int rc = -1;

	if (acme_poll(a, authz_url, "", "authorization", &authz, err) != 0)
		return -1;
	if (strcmp(acme_status(authz), "valid") == 0) {
		rc = 0;			/* §7.1.4: reused, nothing to do */
		goto out;
	}
	if (strcmp(acme_status(authz), "pending") != 0) {
		acme_failed(authz, "authorization", err);
		goto out;
	}
	if ((c = acme_challenge(authz, acme_type(a))) == NULL) {
		tg_err_set(err, TG_ERR_PERM, NULL,
		    "ACME: the CA offers no %s challenge for %s", acme_type(a),
		    name);
		goto out;
	}
	if (acme_answer(a, c, name, err) != 0)
		goto out;
	json_decref(authz);
	authz = NULL;
	if (acme_poll(a, authz_url, "pending processing", "authorization",
	    &authz, err) != 0)
		goto out;
	if (strcmp(acme_status(authz), "valid") != 0)
		acme_failed(authz, "authorization", err);
	else
		rc = 0;
out:
	json_decref(authz);
	return rc;
}

/* §7.4: a new order for one dns identifier; its URL and object. */
static int
acme_new_order(struct acme *a, const char *name, char *order_url,
    json_t **order, struct tg_err *err)
{
	struct tg_acme_reply r;
	json_t *req;
	int rc = -1;

	req = json_pack("{s:[{s:s,s:s}]}", "identifiers", "type", "dns",
	    "value", name);
	tg_acme_reply_init(&r);
	if (acme_post_json(a, a->new_order, req, &r, err) != 0)
		goto out;
	if (r.status != 201) {
		acme_problem(&r, "newOrder", err);
		goto out;
	}
	if (strncmp(r.location, "https://", 8) != 0) {
		tg_err_set(err, TG_ERR_PERM, NULL,
		    "ACME newOrder: no order URL (Location)");
		goto out;
	}
	memcpy(order_url, r.location, TG_ACME_URL_MAX);
	if ((*order = acme_json(&r, err)) != NULL)
		rc = 0;
out:
	tg_acme_reply_free(&r);
	return rc;
}

/* Every authorization of the order, one after the other. */
static int
acme_authorize_all(struct acme *a, json_t *order, const char *name,
    struct tg_err *err)
{
	json_t *list = json_object_get(order, "authorizations");
	const char *url;
	size_t i;

	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > TG_ACME_AUTHZ_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "ACME newOrder: no usable list of authorizations");
	for (i = 0; i < json_array_size(list); i++) {
		url = json_string_value(json_array_get(list, i));
		if (url == NULL || strncmp(url, "https://", 8) != 0 ||
		    strlen(url) >= TG_ACME_URL_MAX)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "ACME newOrder: a bad authorization URL");
		if (acme_authorize(a, url, name, err) != 0)
			return -1;
	}
	return 0;
}

/* §7.4: finalize with the CSR, then look until the order is valid. */
static int
acme_finalize(struct acme *a, json_t *order, const char *order_url,
    EVP_PKEY *cert_key, const char *name, char *cert_url,
    struct tg_err *err)
{
	char finalize[TG_ACME_URL_MAX];
	struct tg_acme_reply r;
	struct tg_buf csr;
	json_t *o = NULL;
	int rc = -1;

	tg_buf_init(&csr, ACME_JWS_MAX);
	tg_acme_reply_init(&r);
	if (acme_url(order, "finalize", finalize, sizeof(finalize), err) != 0 ||
	    tg_jws_csr(cert_key, name, &csr, err) != 0)
		goto out;
	if (acme_post_json(a, finalize, json_pack("{s:s}", "csr",
	    tg_buf_cstr(&csr)), &r, err) != 0)
		goto out;
	if (r.status != 200) {
		acme_problem(&r, "finalize", err);
		goto out;
	}
	if (acme_poll(a, order_url, "pending ready processing", "order", &o,
	    err) != 0)
		goto out;
	if (strcmp(acme_status(o), "valid") != 0)
		acme_failed(o, "order", err);
	else if (acme_url(o, "certificate", cert_url, TG_ACME_URL_MAX,
	    err) == 0)
		rc = 0;
out:
	json_decref(o);
	tg_buf_free(&csr);
	tg_acme_reply_free(&r);
	return rc;
}

/* §7.4.2: the chain, as PEM. */
static int
acme_download(struct acme *a, const char *cert_url, char **chain,
    struct tg_err *err)
{
	struct tg_acme_reply r;
	int rc = -1;

	tg_acme_reply_init(&r);
	if (acme_post(a, cert_url, "", &r, err) != 0)
		goto out;
	if (r.status != 200) {
		acme_problem(&r, "certificate", err);
		goto out;
	}
	if (strcmp(r.content_type, "application/pem-certificate-chain") != 0) {
		tg_err_set(err, TG_ERR_PERM, NULL, "ACME certificate: "
		    "Content-Type %s, not application/pem-certificate-chain",
		    r.content_type[0] != '\0' ? r.content_type : "(none)");
		goto out;
	}
	if ((*chain = tg_buf_take(&r.body)) == NULL)
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	else
		rc = 0;
out:
	tg_acme_reply_free(&r);
	return rc;
}

int
tg_acme_issue(const struct tg_acme_params *p,
    const struct tg_acme_transport *t, const struct tg_acme_challenger *ch,
    EVP_PKEY *account_key, EVP_PKEY *cert_key, const char *name,
    time_t now, char **chain_pem, struct tg_err *err)
{
	struct acme a;
	char order_url[TG_ACME_URL_MAX], cert_url[TG_ACME_URL_MAX];
	json_t *order = NULL;
	char *chain = NULL;
	size_t i;
	int rc = -1;

	tg_err_clear(err);
	*chain_pem = NULL;
	memset(&a, 0, sizeof(a));
	a.p = p;
	a.t = t;
	a.ch = ch;
	a.account_key = account_key;
	if (acme_directory(&a, err) == 0 && acme_account(&a, err) == 0 &&
	    acme_new_order(&a, name, order_url, &order, err) == 0 &&
	    acme_authorize_all(&a, order, name, err) == 0 &&
	    acme_finalize(&a, order, order_url, cert_key, name, cert_url,
	    err) == 0 && acme_download(&a, cert_url, &chain, err) == 0 &&
	    tg_acme_check_chain(chain, strlen(chain), cert_key, name, now,
	    NULL, NULL, err) == 0) {
		*chain_pem = chain;
		chain = NULL;
		rc = 0;
	}
	for (i = 0; i < a.npublished; i++)
		ch->withdraw(ch->arg, a.published[i]);
	free(chain);
	json_decref(order);
	return rc;
}

/* The leaf of the chain: our key, our name, in its dates. */
static int
acme_check_leaf(X509 *leaf, EVP_PKEY *cert_key, const char *name,
    time_t now, struct tg_err *err)
{
	EVP_PKEY *pub = X509_get0_pubkey(leaf);
	time_t soon = now + TG_ACME_CLOCK_SKEW_S;

	if (pub == NULL || EVP_PKEY_eq(pub, cert_key) != 1)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "ACME: the issued certificate is for another key");
	if (X509_check_host(leaf, name, 0, 0, NULL) != 1)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "ACME: the issued certificate does not cover %s", name);
	/* A CA dates a certificate from the moment it signs, after the
	 * order began, and its clock may be a little ahead of ours. */
	if (X509_cmp_time(X509_get0_notBefore(leaf), &soon) > 0 ||
	    X509_cmp_time(X509_get0_notAfter(leaf), &now) < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "ACME: the issued certificate is not valid now");
	return 0;
}

/* An ASN1_TIME as time_t. */
static time_t
acme_time(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

int
tg_acme_check_chain(const char *pem, size_t len, EVP_PKEY *cert_key,
    const char *name, time_t now, time_t *not_before, time_t *not_after,
    struct tg_err *err)
{
	BIO *bio;
	X509 *leaf = NULL, *more;
	unsigned long e;
	int rc = -1;

	if (len > INT_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	ERR_clear_error();
	leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (leaf == NULL) {
		tg_err_set(err, TG_ERR_PERM, NULL,
		    "ACME: the chain holds no certificate");
		goto out;
	}
	/* The rest must parse too: they are served as they are. Reading
	 * stops at the end of the input (no start line) or at a damaged
	 * block; only the first is the end of a good chain. */
	while ((more = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		X509_free(more);
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) != ERR_LIB_PEM ||
	    ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
		tg_err_set(err, TG_ERR_PERM, NULL,
		    "ACME: the chain holds a damaged certificate");
		goto out;
	}
	if (acme_check_leaf(leaf, cert_key, name, now, err) != 0)
		goto out;
	if (not_before != NULL)
		*not_before = acme_time(X509_get0_notBefore(leaf));
	if (not_after != NULL)
		*not_after = acme_time(X509_get0_notAfter(leaf));
	rc = 0;
out:
	ERR_clear_error();	/* nothing left for the thread's next call */
	X509_free(leaf);
	BIO_free(bio);
	return rc;
}
