/*
 * admin/api_checks — `tlsgate check DOMAIN` for the console (see api.h,
 * web/API.md): started by one request, read by the next (admin/checks),
 * so that no request waits for DNS or a mail server.
 */
#include "admin/api_int.h"

#include "util/dname.h"

void
adminapi_check_start(struct adminapi_call *c)
{
	static const char *const fields[] = { "domain", NULL };
	char id[TG_ADMIN_CHECK_ID_LEN + 1];
	char name[TG_DNAME_MAX + 1] = "";
	const char *domain;
	struct tg_err err;

	if (adminapi_fields(c, fields) != 0 ||
	    adminapi_string(c, "domain", 1, TG_DNAME_MAX + 1, &domain) != 0)
		goto out;
	if (c->api->checks == NULL) {
		adminapi_error(c, 503, "checks are not available here");
		goto out;
	}
	if (tg_dname_normalize(domain, name, sizeof(name), &err) != 0) {
		name[0] = '\0';
		adminapi_error(c, 400, "domain: %s", err.msg);
		goto out;
	}
	if (tg_admin_checks_start(c->api->checks, name, c->req->now, id,
	    &err) != 0)
		adminapi_error(c, err.cls == TG_ERR_PERM ? 400 : 429, "%s",
		    err.msg);
	else
		adminapi_reply(c, 202, tg_admin_checks_get(c->api->checks, id,
		    c->req->now));
out:
	adminapi_log_change(c, "check", "domain", name);
}

void
adminapi_check_get(struct adminapi_call *c)
{
	json_t *o;

	if (c->api->checks == NULL) {
		adminapi_error(c, 503, "checks are not available here");
		return;
	}
	if ((o = tg_admin_checks_get(c->api->checks, c->name,
	    c->req->now)) == NULL)
		adminapi_error(c, 404, "no such check (a check is kept %d "
		    "minutes after it ended)", TG_ADMIN_CHECKS_KEEP_S / 60);
	else
		adminapi_reply(c, 200, o);
}
