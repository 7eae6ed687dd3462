/*
 * admin/api_domains — the domain and certificate endpoints of the admin
 * API (see api.h, web/API.md). Values are checked as `tlsgate domain` and
 * `tlsgate sts set` check them: names by util/dname, the rest by the
 * store's own normalisers, the policy by policy/stshost, and enforce only
 * while every MX host is covered (policy/stsmx, RFC 8461 §4.1).
 */
#include "admin/api_int.h"

#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>

#include "policy/stshost.h"
#include "policy/stsmx.h"
#include "tls/cert.h"
#include "tls/certfile.h"
#include "util/clock.h"
#include "util/dname.h"
#include "util/text.h"

/* ---- domains out ---- */

static json_t *
dom_json(const struct tg_store_domain *d)
{
	json_t *mx = json_array();
	size_t i;

	for (i = 0; i < d->sts_mx_count; i++)
		json_array_append_new(mx, json_string(d->sts_mx[i]));
	return json_pack("{s:s, s:s, s:s, s:o, s:I, s:s}", "name", d->name,
	    "route", d->inbound_route, "sts_mode",
	    tg_store_sts_mode_name(d->sts_mode), "mx", mx, "max_age",
	    (json_int_t)d->sts_max_age, "rua", d->tlsrpt_rua);
}

static int
dom_list_one(const struct tg_store_domain *d, void *arg)
{
	return json_array_append_new(arg, dom_json(d)) == 0 ? 0 : 1;
}

void
adminapi_domains_list(struct adminapi_call *c)
{
	json_t *list = json_array();
	struct tg_err err;

	if (tg_store_domain_list(c->api->store, dom_list_one, list,
	    &err) != 0) {
		json_decref(list);
		adminapi_error(c, 503, "the store could not be read: %s",
		    err.msg);
		return;
	}
	adminapi_reply(c, 200, list);
}

/* The domain called name, as it is now, as the reply. */
static void
dom_reply(struct adminapi_call *c, unsigned status, const char *name)
{
	struct tg_store_domain d;
	struct tg_err err;

	if (tg_store_domain_get(c->api->store, name, &d, &err) != 0)
		adminapi_error(c, 503, "the store could not be read: %s",
		    err.msg);
	else
		adminapi_reply(c, status, dom_json(&d));
}

/* ---- values in; each returns 0, or -1 after a 400 ---- */

static int
dom_mode(struct adminapi_call *c, const char *field,
    enum tg_store_sts_mode *out)
{
	struct tg_err err;
	const char *s;

	if (adminapi_string(c, field, 0, 16, &s) != 0)
		return -1;
	if (s != NULL && tg_store_sts_mode_parse(s, out, &err) != 0) {
		adminapi_error(c, 400, "%s: %s", field, err.msg);
		return -1;
	}
	return 0;
}

/* "mx": a list of patterns, replacing d's. */
static int
dom_mx(struct adminapi_call *c, struct tg_store_domain *d)
{
	json_t *list = json_object_get(c->in, "mx"), *v;
	struct tg_err err;
	size_t i;

	if (list == NULL)
		return 0;
	if (!json_is_array(list) || json_array_size(list) > TG_STS_MX_MAX) {
		adminapi_error(c, 400, "mx: a list of at most %d patterns is "
		    "needed", TG_STS_MX_MAX);
		return -1;
	}
	json_array_foreach(list, i, v) {
		if (!json_is_string(v) || json_string_length(v) !=
		    strlen(json_string_value(v))) {
			adminapi_error(c, 400, "mx: every pattern is a text");
			return -1;
		}
		if (tg_store_mx_pattern_normalize(json_string_value(v),
		    d->sts_mx[i], sizeof(d->sts_mx[i]), &err) != 0) {
			adminapi_error(c, 400, "mx: %s", err.msg);
			return -1;
		}
	}
	d->sts_mx_count = json_array_size(list);
	return 0;
}

/* "max_age": RFC 8461 §3.2, 0..31557600 seconds. */
static int
dom_max_age(struct adminapi_call *c, long *out)
{
	json_t *v = json_object_get(c->in, "max_age");

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > TG_STS_MAX_AGE_MAX) {
		adminapi_error(c, 400, "max_age: a number of seconds from 0 "
		    "to %ld is needed (RFC 8461 §3.2)", TG_STS_MAX_AGE_MAX);
		return -1;
	}
	*out = (long)json_integer_value(v);
	return 0;
}

/* "route" and "rua", normalised by the store's own rules. */
static int
dom_route_rua(struct adminapi_call *c, struct tg_store_domain *d)
{
	const char *route, *rua;
	struct tg_err err;

	if (adminapi_string(c, "route", 0, TG_STORE_ROUTE_MAX, &route) != 0 ||
	    adminapi_string(c, "rua", 0, TG_STORE_RUA_MAX, &rua) != 0)
		return -1;
	if (route != NULL && tg_store_route_normalize(route,
	    d->inbound_route, sizeof(d->inbound_route), &err) != 0) {
		adminapi_error(c, 400, "route: %s", err.msg);
		return -1;
	}
	if (rua != NULL && tg_store_rua_normalize(rua, d->tlsrpt_rua,
	    sizeof(d->tlsrpt_rua), &err) != 0) {
		adminapi_error(c, 400, "rua: %s", err.msg);
		return -1;
	}
	return 0;
}

/* The uncovered MX hosts of d, as `tlsgate sts set` looks them up:
 * 0 all covered, 1 some not (what), -1 cannot tell (err). */
static int
dom_uncovered(struct adminapi_call *c, const struct tg_store_domain *d,
    char *what, size_t whatlen, struct tg_err *err)
{
	const struct tg_adminapi *api = c->api;
	struct tg_dns_answer *ans = NULL;
	int r;

	r = api->mx_lookup != NULL ? api->mx_lookup(api->mx_arg, d->name,
	    &ans, err) : tg_stsmx_lookup(api->conf, d->name, &ans, err);
	if (r != 0)
		return -1;
	r = tg_stsmx_uncovered(d, ans, what, whatlen, err);
	tg_dns_answer_free(ans);
	return r;
}

/*
 * The policy d would publish must be valid (an mx pattern for testing
 * and enforce: RFC 8461 §3.2), and enforce needs every MX host covered
 * (§4.1): mail to an uncovered one would bounce at every sender that
 * enforces. 0, or -1 after a 400.
 */
static int
dom_policy_check(struct adminapi_call *c, const struct tg_store_domain *d)
{
	struct tg_stshost_policy p;
	char what[1024];
	struct tg_err err;
	int r;

	if (d->sts_mode == TG_STORE_STS_OFF)
		return 0;
	if (tg_stshost_policy_of(d, &p, &err) != 0) {
		adminapi_error(c, 400, "%s", err.msg);
		return -1;
	}
	if (d->sts_mode != TG_STORE_STS_ENFORCE)
		return 0;
	r = dom_uncovered(c, d, what, sizeof(what), &err);
	if (r < 0)
		adminapi_error(c, 400, "refusing enforce for %s: %s (try "
		    "again, or use mode testing meanwhile)", d->name,
		    err.msg);
	else if (r > 0)
		adminapi_error(c, 400, "refusing enforce for %s: MX host %s "
		    "is not covered by any mx pattern; senders that enforce "
		    "would not deliver to it (RFC 8461 §4.1). Add an mx "
		    "pattern for it, or use mode testing", d->name, what);
	return r == 0 ? 0 : -1;
}

/* ---- the endpoints that change domains ---- */

/* POST /api/domains: the new domain's settings, checked, then added. */
static void
dom_add(struct adminapi_call *c, struct tg_store_domain *d)
{
	static const char *const fields[] = { "name", "route", "sts_mode",
		"mx", "max_age", "rua", NULL };
	struct tg_store_domain old;
	struct tg_err err;
	const char *name;
	int r;

	if (adminapi_fields(c, fields) != 0 ||
	    adminapi_string(c, "name", 1, TG_DNAME_MAX + 1, &name) != 0)
		return;
	if (tg_dname_normalize(name, d->name, sizeof(d->name), &err) != 0) {
		d->name[0] = '\0';
		adminapi_error(c, 400, "name: %s", err.msg);
		return;
	}
	if (dom_route_rua(c, d) != 0 || dom_mode(c, "sts_mode",
	    &d->sts_mode) != 0 || dom_mx(c, d) != 0 ||
	    dom_max_age(c, &d->sts_max_age) != 0)
		return;
	r = tg_store_domain_get(c->api->store, d->name, &old, &err);
	if (r == 0) {
		adminapi_error(c, 409, "domain %s already exists", d->name);
		return;
	}
	if (r < 0) {
		adminapi_store_failed(c, &err);
		return;
	}
	if (dom_policy_check(c, d) != 0)
		return;
	if (tg_store_domain_add(c->api->store, d, &err) != 0)
		adminapi_store_failed(c, &err);
	else
		dom_reply(c, 201, d->name);
}

void
adminapi_domains_add(struct adminapi_call *c)
{
	struct tg_store_domain d;

	tg_store_domain_init(&d);
	dom_add(c, &d);
	adminapi_log_change(c, "domain-add", "domain", d.name);
}

/*
 * The domain named in the path (c->name) into *d: 0, or -1 after a 404
 * (no such domain, or no name a domain could have).
 */
static int
dom_of_path(struct adminapi_call *c, struct tg_store_domain *d)
{
	char name[TG_DNAME_MAX + 1];
	struct tg_err err;
	int r;

	if (tg_dname_normalize(c->name, name, sizeof(name), &err) != 0) {
		adminapi_error(c, 404, "no such domain");
		return -1;
	}
	r = tg_store_domain_get(c->api->store, name, d, &err);
	if (r == TG_STORE_NOTFOUND)
		adminapi_error(c, 404, "no domain %s", name);
	else if (r != 0)
		adminapi_store_failed(c, &err);
	return r == 0 ? 0 : -1;
}

/* POST /api/domains/NAME/sts: mode, and mx and max_age when given. */
static void
dom_sts(struct adminapi_call *c, struct tg_store_domain *d)
{
	static const char *const fields[] = { "mode", "mx", "max_age", NULL };
	struct tg_err err;

	if (dom_of_path(c, d) != 0 || adminapi_fields(c, fields) != 0)
		return;
	if (json_object_get(c->in, "mode") == NULL) {
		adminapi_error(c, 400, "mode: a string is needed");
		return;
	}
	if (dom_mode(c, "mode", &d->sts_mode) != 0 || dom_mx(c, d) != 0 ||
	    dom_max_age(c, &d->sts_max_age) != 0 ||
	    dom_policy_check(c, d) != 0)
		return;
	if (tg_store_domain_update(c->api->store, d, &err) != 0)
		adminapi_store_failed(c, &err);
	else
		dom_reply(c, 200, d->name);
}

void
adminapi_domain_sts(struct adminapi_call *c)
{
	struct tg_store_domain d;

	tg_store_domain_init(&d);
	dom_sts(c, &d);
	adminapi_log_change(c, "domain-sts", "domain", d.name);
}

void
adminapi_domain_remove(struct adminapi_call *c)
{
	static const char *const fields[] = { NULL };
	struct tg_store_domain d;
	struct tg_err err;
	int r;

	tg_store_domain_init(&d);
	if (adminapi_fields(c, fields) == 0 && dom_of_path(c, &d) == 0) {
		r = tg_store_domain_remove(c->api->store, d.name, &err);
		if (r == TG_STORE_NOTFOUND)
			adminapi_error(c, 404, "no domain %s", d.name);
		else if (r != 0)
			adminapi_store_failed(c, &err);
		else
			adminapi_reply(c, 200, NULL);
	}
	adminapi_log_change(c, "domain-remove", "domain", d.name);
}

/* ---- certificates ---- */

static int
cert_one(const struct tg_store_cert *c, void *arg)
{
	char issuer[TG_CERT_TEXT_MAX], not_after[32];
	int self = 0, known;
	json_t *o;

	known = tg_certfile_issuer(c->cert_path, issuer, sizeof(issuer),
	    &self, NULL) == 0;
	tg_clock_format(c->not_after, not_after, sizeof(not_after));
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
	    (json_int_t)c->id, "name", c->name, "role",
	    tg_store_cert_role_name(c->role), "state",
	    tg_store_cert_state_name(c->state), "tlsa_state",
	    tg_store_tlsa_state_name(c->tlsa_state), "not_after", not_after,
	    "spki_sha256", c->spki_sha256);
	if (o == NULL)
		return 1;
	/* An unreadable file: null, not a guess. */
	json_object_set_new(o, "issuer", known ? json_string(issuer) :
	    json_null());
	json_object_set_new(o, "self_signed", known ? json_boolean(self) :
	    json_null());
	return json_array_append_new(arg, o) == 0 ? 0 : 1;
}

void
adminapi_certificates(struct adminapi_call *c)
{
	json_t *list = json_array();
	struct tg_err err;

	if (tg_store_cert_list(c->api->store, NULL, -1, cert_one, list,
	    &err) != 0) {
		json_decref(list);
		adminapi_error(c, 503, "the store could not be read: %s",
		    err.msg);
		return;
	}
	adminapi_reply(c, 200, list);
}
