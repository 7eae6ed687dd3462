/*
 * tls/certfile — see certfile.h.
 */
#include "tls/certfile.h"

#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "tls/cert.h"
#include "util/clock.h"
#include "util/dname.h"
#include "util/path.h"

int
tg_certfile_record(const char *name, const char *cert_path,
    const char *key_path, struct tg_store_cert *rec, struct tg_err *err)
{
	unsigned char md[TG_CERT_DIGEST_MAX];
	STACK_OF(X509) *chain = NULL;
	size_t mdlen, i;
	int rc;

	memset(rec, 0, sizeof(*rec));
	if (tg_cert_chain_load_file(cert_path, &chain, err) != 0)
		return -1;
	rc = tg_cert_digest(sk_X509_value(chain, 0), TG_CERT_PART_SPKI,
	    TG_CERT_MD_SHA256, md, &mdlen, err);
	if (rc == 0)
		rc = tg_cert_validity(sk_X509_value(chain, 0), &rec->not_before,
		    &rec->not_after, err);
	tg_cert_chain_free(chain);
	if (rc != 0)
		return -1;
	for (i = 0; i < mdlen; i++)
		snprintf(rec->spki_sha256 + 2 * i, 3, "%02x", md[i]);
	snprintf(rec->name, sizeof(rec->name), "%s", name);
	snprintf(rec->cert_path, sizeof(rec->cert_path), "%s", cert_path);
	snprintf(rec->key_path, sizeof(rec->key_path), "%s", key_path);
	rec->role = TG_STORE_CERT_MX;
	rec->state = TG_STORE_CERT_CURRENT;
	rec->tlsa_state = TG_STORE_TLSA_NONE;
	return 0;
}

int
tg_certfile_make(const char *state_dir, const char *name, int days,
    enum tg_store_cert_state state, struct tg_store_cert *rec,
    struct tg_err *err)
{
	char key[TG_PATH_MAX], crt[TG_PATH_MAX], dir[TG_PATH_MAX];
	const char *names[1] = { name };
	unsigned char r[4];
	unsigned long tag;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "no random bytes");
	tag = ((unsigned long)r[0] << 24) | ((unsigned long)r[1] << 16) |
	    ((unsigned long)r[2] << 8) | r[3];
	if (tg_path_fmt(key, sizeof(key), "%s/keys/%s-%lld-%08lx.key",
	    state_dir, name, (long long)tg_clock_now(), tag) != 0 ||
	    tg_path_fmt(crt, sizeof(crt), "%s/certs/%s-%lld-%08lx.pem",
	    state_dir, name, (long long)tg_clock_now(), tag) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "state_dir path is "
		    "too long");
	tg_path_fmt(dir, sizeof(dir), "%s/keys", state_dir);
	if (tg_path_mkdirs(dir, 0755, 0700, err) != 0)
		return -1;
	tg_path_fmt(dir, sizeof(dir), "%s/certs", state_dir);
	if (tg_path_mkdirs(dir, 0755, 0755, err) != 0 ||
	    tg_cert_make_self_signed(names, 1, days, key, crt, err) != 0 ||
	    tg_certfile_record(name, crt, key, rec, err) != 0)
		return -1;
	rec->state = state;
	return 0;
}

struct certfile_find {
	struct tg_store_cert *rec;	/* borrowed */
	int found;
};

static int
certfile_find_current(const struct tg_store_cert *c, void *arg)
{
	struct certfile_find *f = arg;

	if (c->state != TG_STORE_CERT_CURRENT)
		return 0;
	*f->rec = *c;
	f->found = 1;
	return 1;
}

int
tg_certfile_current(struct tg_store *st, const char *state_dir,
    const char *name, enum tg_store_cert_role role, int create, int days,
    struct tg_store_cert *rec, int *created, struct tg_err *err)
{
	struct certfile_find f = { rec, 0 };
	char host[TG_DNAME_MAX + 1];

	if (created != NULL)
		*created = 0;
	if (tg_dname_host_normalize(name, host, sizeof(host), err) != 0)
		return -1;
	if (tg_store_cert_list(st, host, (int)role, certfile_find_current, &f,
	    err) != 0)
		return -1;
	if (f.found)
		return 0;
	if (!create)
		return 1;
	if (tg_certfile_make(state_dir, host, days, TG_STORE_CERT_CURRENT,
	    rec, err) != 0)
		return -1;
	rec->role = role;
	if (tg_store_cert_add(st, rec, &rec->id, err) != 0)
		return -1;
	if (created != NULL)
		*created = 1;
	return 0;
}

int
tg_certfile_issuer(const char *path, char *issuer, size_t len, int *self,
    struct tg_err *err)
{
	STACK_OF(X509) *chain = NULL;
	X509 *leaf;

	if (tg_cert_chain_load_file(path, &chain, err) != 0)
		return -1;
	leaf = sk_X509_value(chain, 0);
	if (issuer != NULL)
		tg_cert_issuer(leaf, issuer, len);
	if (self != NULL)
		*self = X509_NAME_cmp(X509_get_subject_name(leaf),
		    X509_get_issuer_name(leaf)) == 0;
	tg_cert_chain_free(chain);
	return 0;
}
