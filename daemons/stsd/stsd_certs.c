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
#include <errno.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/privs.h"
#include "stsd.h"
#include "tls/cert.h"
#include "tls/certfile.h"
#include "util/clock.h"
#include "util/path.h"

struct cert_find {
	struct tg_store_cert cur;
	int found;
};

static int
cert_find_current(const struct tg_store_cert *c, void *arg)
{
	struct cert_find *f = arg;

	if (c->state != TG_STORE_CERT_CURRENT)
		return 0;
	f->cur = *c;
	f->found = 1;
	return 1;
}

/* The store record of a certificate file we just made. */
static int
cert_record(const char *host, const char *cert_path, const char *key_path,
    struct tg_store_cert *rec, struct tg_err *err)
{
	if (tg_certfile_record(host, cert_path, key_path, rec, err) != 0)
		return -1;
	rec->role = TG_STORE_CERT_STS;
	return 0;
}

static int
cert_mkdir(const char *state_dir, const char *sub, mode_t mode,
    struct tg_err *err)
{
	char dir[TG_PATH_MAX];

	if (tg_path_fmt(dir, sizeof(dir), "%s/%s", state_dir, sub) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "state_dir is too long");
	if (mkdir(dir, mode) != 0 && errno != EEXIST)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", dir,
		    strerror(errno));
	return 0;
}

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

static int
cert_make(struct tg_store *st, const struct tg_conf *conf, const char *host,
    struct tg_store_cert *rec, struct tg_err *err)
{
	char key_path[TG_PATH_MAX], cert_path[TG_PATH_MAX];
	const char *names[1] = { host };
	long stamp = (long)tg_clock_now();

	if (tg_path_fmt(key_path, sizeof(key_path), "%s/keys/%s-%ld.key",
	    conf->state_dir, host, stamp) != 0 ||
	    tg_path_fmt(cert_path, sizeof(cert_path), "%s/certs/%s-%ld.pem",
	    conf->state_dir, host, stamp) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "state_dir is too long");
	if (cert_mkdir(conf->state_dir, "keys", 0700, err) != 0 ||
	    cert_mkdir(conf->state_dir, "certs", 0755, err) != 0 ||
	    tg_cert_make_self_signed(names, 1, STSD_CERT_DAYS, key_path,
	    cert_path, err) != 0)
		return -1;
	cert_key_owner(conf, key_path);
	if (cert_record(host, cert_path, key_path, rec, err) != 0 ||
	    tg_store_cert_add(st, rec, NULL, err) != 0)
		return -1;
	tg_log_info(NULL, "event=sts-cert host=%s result=created "
	    "kind=self-signed days=%d cert=%s", host, STSD_CERT_DAYS,
	    cert_path);
	return 0;
}

int
stsd_cert_add(struct tg_store *st, const struct tg_conf *conf,
    const char *host, int create, struct tg_http_certs *certs,
    struct tg_err *err)
{
	struct cert_find f;

	memset(&f, 0, sizeof(f));
	if (tg_store_cert_list(st, host, TG_STORE_CERT_STS, cert_find_current,
	    &f, err) != 0)
		return -1;
	if (!f.found && !create)
		return 1;
	if (!f.found && cert_make(st, conf, host, &f.cur, err) != 0)
		return -1;
	return tg_http_certs_add_files(certs, host, f.cur.cert_path,
	    f.cur.key_path, err);
}
