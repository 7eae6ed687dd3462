/*
 * daemons/rptd/rptd_view.c — what rptd takes reports for and how it
 * presents itself, rebuilt from config.db on every store change (see
 * rptd.h).
 *
 * Hosted domains: reports about other domains are discarded (RELIABILITY
 * R-04; rpt/collect decides per policy).
 *
 * Certificates: the collector answers for the host names of our current
 * MX and MTA-STS certificates (roles mx and sts), so a hosted domain can
 * publish, for instance, rua=https://mta-sts.example.org:8443/tlsrpt or
 * rua=https://mx.example.org:8443/tlsrpt. A certificate that cannot be
 * read is skipped with a warning; when none can be read the set in use
 * stays (a reload after the privilege drop must not take the collector
 * down because a key is readable by root only).
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "rptd.h"
#include "store/store.h"

struct cert_walk {
	struct tg_http_certs *certs;
	size_t n;
};

static int
view_cert(const struct tg_store_cert *c, void *arg)
{
	struct cert_walk *w = arg;
	struct tg_err err;

	if (c->state != TG_STORE_CERT_CURRENT ||
	    (c->role != TG_STORE_CERT_MX && c->role != TG_STORE_CERT_STS) ||
	    tg_http_certs_has(w->certs, c->name))
		return 0;
	if (tg_http_certs_add_files(w->certs, c->name, c->cert_path,
	    c->key_path, &err) != 0) {
		tg_log_warn(NULL, "event=rpt-cert name=%s result=skipped "
		    "error=\"%s\"", c->name, err.msg);
		return 0;
	}
	w->n++;
	return 0;
}

static int
view_certs(struct tg_store *st, struct rptd_view *v, struct tg_err *err)
{
	struct cert_walk w = { NULL, 0 };

	if (tg_http_certs_new(&w.certs, err) != 0)
		return -1;
	if (tg_store_cert_list(st, NULL, -1, view_cert, &w, err) != 0) {
		tg_http_certs_unref(w.certs);
		return -1;
	}
	if (w.n == 0) {
		tg_http_certs_unref(w.certs);
		w.certs = NULL;
	}
	v->certs = w.certs;
	v->ncerts = w.n;
	return 0;
}

int
rptd_view_build(const struct tg_conf *conf, struct rptd_view **out,
    struct tg_err *err)
{
	struct tg_store *st = NULL;
	struct rptd_view *v;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	if (tg_store_open_readonly(conf->state_dir, &st, err) != 0 ||
	    tg_store_snapshot_begin(st, err) != 0) {
		tg_store_close(st);
		free(v);
		return -1;
	}
	v->domains = tg_collect_domains_load(st, err);
	if (v->domains == NULL || view_certs(st, v, err) != 0) {
		tg_store_snapshot_end(st);
		tg_store_close(st);
		rptd_view_free(v);
		return -1;
	}
	tg_store_snapshot_end(st);
	tg_store_close(st);
	*out = v;
	return 0;
}

void
rptd_view_free(struct rptd_view *v)
{
	if (v == NULL)
		return;
	tg_collect_domains_free(v->domains);
	tg_http_certs_unref(v->certs);
	free(v);
}
