/*
 * admin/api_relay — the relay networks and the local outbound TLS
 * policies in the admin API (see api.h, web/API.md): `tlsgate relay
 * allow|deny|list` and `tlsgate policy set|remove|list` over HTTPS. The
 * store checks the values (util/cidr for networks, util/dname for
 * domains) and store/view makes the JSON, as for the CLI, so the console
 * and the CLI cannot disagree. relayd picks a change up from the store
 * (networks at its next poll, policies at its next delivery attempt).
 */
#include "admin/api_int.h"

#include <string.h>

#include "store/view.h"
#include "util/cidr.h"
#include "util/dname.h"

/* ---- relay networks ---- */

static int
relay_one(const struct tg_store_relay_net *n, void *arg)
{
	return json_array_append_new(arg, tg_store_relay_net_json(n)) == 0 ?
	    0 : 1;
}

void
adminapi_relay_list(struct adminapi_call *c)
{
	json_t *list = json_array();
	struct tg_err err;

	if (tg_store_relay_list(c->api->store, relay_one, list, &err) != 0) {
		json_decref(list);
		adminapi_error(c, 503, "the store could not be read: %s",
		    err.msg);
		return;
	}
	adminapi_reply(c, 200, list);
}

/* The canonical network of the body's "network" into out; 0, or -1
 * after a 400. */
static int
relay_network(struct adminapi_call *c, char *out, size_t outlen)
{
	struct tg_err err;
	const char *s;

	if (adminapi_string(c, "network", 1, TG_CIDR_TEXT_MAX + 16, &s) != 0)
		return -1;
	if (tg_cidr_normalize(s, out, outlen, &err) != 0) {
		adminapi_error(c, 400, "network: %s", err.msg);
		return -1;
	}
	return 0;
}

/* The stored network called cidr (canonical), for the reply. */
struct relay_find {
	const char *cidr;
	json_t *found;
};

static int
relay_find_one(const struct tg_store_relay_net *n, void *arg)
{
	struct relay_find *f = arg;

	if (f->found == NULL && strcmp(n->cidr, f->cidr) == 0)
		f->found = tg_store_relay_net_json(n);
	return 0;
}

void
adminapi_relay_allow(struct adminapi_call *c)
{
	static const char *const fields[] = { "network", "note", NULL };
	char net[TG_CIDR_TEXT_MAX + 1] = "";
	struct relay_find f = { net, NULL };
	struct tg_err err;
	const char *note;

	if (adminapi_fields(c, fields) != 0 ||
	    relay_network(c, net, sizeof(net)) != 0 ||
	    adminapi_string(c, "note", 0, TG_STORE_NOTE_MAX, &note) != 0)
		goto out;
	if (tg_store_relay_add(c->api->store, net, note, &err) != 0) {
		adminapi_store_failed(c, &err);
		goto out;
	}
	if (tg_store_relay_list(c->api->store, relay_find_one, &f, &err) != 0 ||
	    f.found == NULL) {
		json_decref(f.found);
		adminapi_error(c, 503, "the store could not be read back");
		goto out;
	}
	adminapi_reply(c, 201, f.found);
out:
	adminapi_log_change(c, "relay-allow", "network", net);
}

void
adminapi_relay_deny(struct adminapi_call *c)
{
	static const char *const fields[] = { "network", NULL };
	char net[TG_CIDR_TEXT_MAX + 1] = "";
	struct tg_err err;
	int r;

	if (adminapi_fields(c, fields) == 0 &&
	    relay_network(c, net, sizeof(net)) == 0) {
		r = tg_store_relay_remove(c->api->store, net, &err);
		if (r == TG_STORE_NOTFOUND)
			adminapi_error(c, 404, "%s is not in the relay list",
			    net);
		else if (r != 0)
			adminapi_store_failed(c, &err);
		else
			adminapi_reply(c, 200, NULL);
	}
	adminapi_log_change(c, "relay-deny", "network", net);
}

/* ---- outbound TLS policies ---- */

static int
policy_one(const struct tg_store_dest_policy *p, void *arg)
{
	return json_array_append_new(arg, tg_store_dest_policy_json(p)) == 0 ?
	    0 : 1;
}

void
adminapi_policy_list(struct adminapi_call *c)
{
	json_t *list = json_array();
	struct tg_err err;

	if (tg_store_dest_list(c->api->store, policy_one, list, &err) != 0) {
		json_decref(list);
		adminapi_error(c, 503, "the store could not be read: %s",
		    err.msg);
		return;
	}
	adminapi_reply(c, 200, list);
}

void
adminapi_policy_set(struct adminapi_call *c)
{
	static const char *const fields[] = { "domain", "mode", "note", NULL };
	char name[TG_DNAME_MAX + 1] = "";
	enum tg_store_dest_mode mode;
	struct tg_store_dest_policy p;
	const char *domain, *m, *note;
	struct tg_err err;

	if (adminapi_fields(c, fields) != 0 ||
	    adminapi_string(c, "domain", 1, TG_DNAME_MAX + 1, &domain) != 0 ||
	    adminapi_string(c, "mode", 1, 16, &m) != 0 ||
	    adminapi_string(c, "note", 0, TG_STORE_NOTE_MAX, &note) != 0)
		goto out;
	if (tg_dname_normalize(domain, name, sizeof(name), &err) != 0) {
		name[0] = '\0';	/* not logged as given */
		adminapi_error(c, 400, "domain: %s", err.msg);
		goto out;
	}
	if (tg_store_dest_mode_parse(m, &mode, &err) != 0) {
		adminapi_error(c, 400, "%s", err.msg);
		goto out;
	}
	if (tg_store_dest_set(c->api->store, name, mode, note, &err) != 0 ||
	    tg_store_dest_get(c->api->store, name, &p, &err) != 0)
		adminapi_store_failed(c, &err);
	else
		adminapi_reply(c, 200, tg_store_dest_policy_json(&p));
out:
	adminapi_log_change(c, "policy-set", "domain", name);
}

void
adminapi_policy_remove(struct adminapi_call *c)
{
	static const char *const fields[] = { NULL };
	char name[TG_DNAME_MAX + 1] = "";
	struct tg_store_dest_policy p;
	struct tg_err err;
	int r;

	if (adminapi_fields(c, fields) != 0)
		goto out;
	if (tg_dname_normalize(c->name, name, sizeof(name), &err) != 0) {
		name[0] = '\0';
		adminapi_error(c, 404, "no such domain");
		goto out;
	}
	r = tg_store_dest_get(c->api->store, name, &p, &err);
	if (r == 0)
		r = tg_store_dest_remove(c->api->store, name, &err);
	if (r == TG_STORE_NOTFOUND)
		adminapi_error(c, 404, "no policy for %s", name);
	else if (r != 0)
		adminapi_store_failed(c, &err);
	else
		adminapi_reply(c, 200, NULL);
out:
	adminapi_log_change(c, "policy-remove", "domain", name);
}
