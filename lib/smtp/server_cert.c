/*
 * smtp/server_cert — the certificate a receiving daemon (relayd, mxd)
 * offers with STARTTLS (see server.h, tg_smtpd_conf_store_tls).
 */
#include "smtp/server_int.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

/* The current MX certificate for hostname, else any current one. */
struct cert_pick {
	const char *hostname;		/* borrowed */
	char cert[TG_PATH_MAX];
	char key[TG_PATH_MAX];
	int found;			/* 0 none, 1 other name, 2 our name */
};

static int
cert_pick_one(const struct tg_store_cert *c, void *arg)
{
	struct cert_pick *cp = arg;
	int rank;

	if (c->state != TG_STORE_CERT_CURRENT)
		return 0;
	rank = strcmp(c->name, cp->hostname) == 0 ? 2 : 1;
	if (rank > cp->found) {
		cp->found = rank;
		snprintf(cp->cert, sizeof(cp->cert), "%s", c->cert_path);
		snprintf(cp->key, sizeof(cp->key), "%s", c->key_path);
	}
	return 0;
}

int
tg_smtpd_conf_store_tls(struct tg_smtpd_conf *c, struct tg_store *st,
    const char *hostname, struct tg_tls_server **cur, struct tg_err *err)
{
	struct cert_pick cp = { hostname, "", "", 0 };
	struct tg_tls_server *ts;
	struct tg_err lerr;

	if (tg_store_cert_list(st, NULL, TG_STORE_CERT_MX, cert_pick_one, &cp,
	    err) != 0)
		return -1;
	if (cp.found == 0) {
		tg_log_warn(NULL, "event=tls result=none reason=\"no current "
		    "MX certificate in the store\" action=\"%s\"",
		    *cur != NULL ? "kept the previous certificate" :
		    "STARTTLS not offered");
	} else if (!tg_tls_server_same_files(*cur, cp.cert, cp.key)) {
		if (tg_tls_server_new(cp.cert, cp.key, &ts, &lerr) == 0) {
			tg_tls_server_unref(*cur);
			*cur = ts;
			tg_log_info(NULL, "event=tls result=loaded cert=%s",
			    cp.cert);
		} else
			tg_log_warn(NULL, "event=tls result=failed cert=%s "
			    "error=\"%s\" action=\"%s\"", cp.cert, lerr.msg,
			    *cur != NULL ? "kept the previous certificate" :
			    "STARTTLS not offered");
	}
	if (*cur != NULL)
		tg_smtpd_conf_set_tls(c, tg_tls_server_ctx(*cur));
	return 0;
}
