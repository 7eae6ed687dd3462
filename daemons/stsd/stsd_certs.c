/*
 * daemons/stsd/stsd_certs.c — the certificate of each mta-sts.<domain>
 * host (see stsd.h).
 *
 * The store's certificates table (role 'sts', state 'current') says which
 * files to serve. A host with MTA-STS and no certificate gets a
 * self-signed P-256 one at first use, so the host answers at once; a
 * sender's web-PKI check fails on it (RFC 8461 §3.3), which is what the
 * ACME work replaces it for. The private key is written 0600; when stsd
 * will drop privileges it is given to that user, since stsd reads it on
 * every reload (RELIABILITY P-01: the policy host holds its keys).
 */
#include <unistd.h>

#include "core/log.h"
#include "core/privs.h"
#include "stsd.h"
#include "tls/certfile.h"

/* Hand the key to the user stsd drops privileges to. */
static void
cert_key_owner(const struct tg_conf *conf, const char *key_path)
{
	struct tg_err err;
	uid_t uid;
	gid_t gid;

	if (conf->user[0] == '\0' || geteuid() != 0)
		return;
	if (tg_privs_lookup(conf->user, &uid, &gid, &err) != 0 ||
	    chown(key_path, uid, gid) != 0)
		tg_log_warn(NULL, "event=sts-cert key=%s user=%s "
		    "result=chown-failed", key_path, conf->user);
}

int
stsd_cert_add(struct tg_store *st, const struct tg_conf *conf,
    const char *host, int create, struct tg_http_certs *certs,
    struct tg_err *err)
{
	struct tg_store_cert cur;
	int r, created;

	r = tg_certfile_current(st, conf->state_dir, host, TG_STORE_CERT_STS,
	    create, STSD_CERT_DAYS, &cur, &created, err);
	if (r != 0)
		return r;
	if (created) {
		cert_key_owner(conf, cur.key_path);
		tg_log_info(NULL, "event=sts-cert host=%s result=created "
		    "kind=self-signed days=%d cert=%s", host, STSD_CERT_DAYS,
		    cur.cert_path);
	}
	return tg_http_certs_add_files(certs, host, cur.cert_path,
	    cur.key_path, err);
}
