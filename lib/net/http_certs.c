/*
 * net/http_certs — certificate sets of net/http (see http.h).
 *
 * A set maps host names to a GnuTLS certificate chain (gnutls_pcert_st,
 * the form the certificate callback hands back) and private key. Entries
 * are kept sorted by name so that the handshake-time lookup is a binary
 * search. A set is immutable once a server uses it; the server and every
 * connection that chose a certificate from it hold references (atomic:
 * the server's thread takes and drops them), so a set swapped out stays
 * alive until the last such connection closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/x509.h>

#include "net/http_int.h"
#include "util/dname.h"
#include "util/limits.h"

struct http_cert {
	char name[TG_DNAME_MAX + 1];
	gnutls_pcert_st *pcerts;	/* owned, npcerts */
	unsigned npcerts;
	gnutls_privkey_t key;		/* owned */
};

struct tg_http_certs {
	atomic_int refs;		/* connections on the server's thread */
	struct http_cert *v;		/* owned, sorted by name */
	size_t n, cap;
};

int
tg_http_certs_new(struct tg_http_certs **out, struct tg_err *err)
{
	struct tg_http_certs *cs;

	*out = NULL;
	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	atomic_init(&cs->refs, 1);
	*out = cs;
	return 0;
}

static void
http_cert_clear(struct http_cert *c)
{
	unsigned i;

	for (i = 0; i < c->npcerts; i++)
		gnutls_pcert_deinit(&c->pcerts[i]);
	free(c->pcerts);
	if (c->key != NULL)
		gnutls_privkey_deinit(c->key);
	memset(c, 0, sizeof(*c));
}

struct tg_http_certs *
tg_http_certs_ref(struct tg_http_certs *cs)
{
	atomic_fetch_add(&cs->refs, 1);
	return cs;
}

void
tg_http_certs_unref(struct tg_http_certs *cs)
{
	size_t i;

	if (cs == NULL || atomic_fetch_sub(&cs->refs, 1) > 1)
		return;
	for (i = 0; i < cs->n; i++)
		http_cert_clear(&cs->v[i]);
	free(cs->v);
	free(cs);
}

size_t
tg_http_certs_count(const struct tg_http_certs *cs)
{
	return cs->n;
}

/* Index of name, or where it would go (*found 0). */
static size_t
http_certs_search(const struct tg_http_certs *cs, const char *name,
    int *found)
{
	size_t lo = 0, hi = cs->n, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, cs->v[mid].name);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int
tg_http_certs_has(const struct tg_http_certs *cs, const char *name)
{
	char norm[TG_DNAME_MAX + 1];
	int found;

	if (tg_dname_host_normalize(name, norm, sizeof(norm),
	    NULL) != 0)
		return 0;
	(void)http_certs_search(cs, norm, &found);
	return found;
}

int
tg_http_certs_find(struct tg_http_certs *cs, const char *name,
    gnutls_pcert_st **pcerts, unsigned *npcerts, gnutls_privkey_t *key)
{
	size_t i;
	int found;

	i = http_certs_search(cs, name, &found);
	if (!found)
		return -1;
	*pcerts = cs->v[i].pcerts;
	*npcerts = cs->v[i].npcerts;
	*key = cs->v[i].key;
	return 0;
}

/* DER of a public key into *der (gnutls_free). */
static int
http_pubkey_der(gnutls_pubkey_t pub, gnutls_datum_t *der)
{
	return gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, der) < 0 ?
	    -1 : 0;
}

/* The key must belong to the leaf (a mismatch fails every handshake). */
static int
http_cert_key_matches(const struct http_cert *c)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
	int ok = 0;

	if (gnutls_pubkey_init(&pub) == 0 &&
	    gnutls_pubkey_import_privkey(pub, c->key, 0, 0) == 0 &&
	    http_pubkey_der(pub, &a) == 0 &&
	    http_pubkey_der(c->pcerts[0].pubkey, &b) == 0)
		ok = a.size == b.size && memcmp(a.data, b.data, a.size) == 0;
	gnutls_free(a.data);
	gnutls_free(b.data);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return ok;
}

/* The leaf must be valid for the name it is served for (RFC 8461 §3.3). */
static int
http_cert_covers(const struct http_cert *c)
{
	gnutls_x509_crt_t crt = NULL;
	int ok = 0;

	if (gnutls_pcert_export_x509(&c->pcerts[0], &crt) == 0)
		ok = gnutls_x509_crt_check_hostname2(crt, c->name, 0) != 0;
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return ok;
}

static int
http_cert_parse(struct http_cert *c, const char *cert_pem, size_t cert_len,
    const char *key_pem, size_t key_len, struct tg_err *err)
{
	gnutls_datum_t d;
	unsigned n = TG_CHAIN_MAX;
	int r;

	if (cert_len > TG_CERT_FILE_MAX || key_len > TG_CERT_FILE_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "PEM larger than %d bytes", TG_CERT_FILE_MAX);
	if ((c->pcerts = calloc(n, sizeof(*c->pcerts))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	d.data = (unsigned char *)(uintptr_t)cert_pem;
	d.size = (unsigned)cert_len;
	r = gnutls_pcert_list_import_x509_raw(c->pcerts, &n, &d,
	    GNUTLS_X509_FMT_PEM, 0);
	if (r < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "certificate chain: %s", gnutls_strerror(r));
	c->npcerts = n;
	d.data = (unsigned char *)(uintptr_t)key_pem;
	d.size = (unsigned)key_len;
	if (gnutls_privkey_init(&c->key) < 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	r = gnutls_privkey_import_x509_raw(c->key, &d, GNUTLS_X509_FMT_PEM,
	    NULL, GNUTLS_PKCS_PLAIN);
	if (r < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "private key: %s", gnutls_strerror(r));
	if (!http_cert_key_matches(c))
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "the private key does not belong to the certificate");
	if (!http_cert_covers(c))
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "the certificate is not valid for %s", c->name);
	return 0;
}

static int
http_certs_insert(struct tg_http_certs *cs, struct http_cert *c,
    struct tg_err *err)
{
	struct http_cert *v;
	size_t i, cap;
	int found;

	i = http_certs_search(cs, c->name, &found);
	if (found)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s has a certificate already", c->name);
	if (cs->n == TG_HTTP_CERTS_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "more than %d certificates", TG_HTTP_CERTS_MAX);
	if (cs->n == cs->cap) {
		cap = cs->cap == 0 ? 8 : cs->cap * 2;
		if ((v = realloc(cs->v, cap * sizeof(*v))) == NULL)
			return tg_err_set(err, TG_ERR_TEMP, NULL,
			    "out of memory");
		cs->v = v;
		cs->cap = cap;
	}
	memmove(&cs->v[i + 1], &cs->v[i], (cs->n - i) * sizeof(*cs->v));
	cs->v[i] = *c;
	cs->n++;
	return 0;
}

int
tg_http_certs_add_pem(struct tg_http_certs *cs, const char *name,
    const char *cert_pem, size_t cert_len, const char *key_pem,
    size_t key_len, struct tg_err *err)
{
	struct http_cert c;

	memset(&c, 0, sizeof(c));
	if (tg_dname_host_normalize(name, c.name, sizeof(c.name),
	    err) != 0) {
		tg_err_prefix(err, "certificate name");
		return -1;
	}
	if (http_cert_parse(&c, cert_pem, cert_len, key_pem, key_len,
	    err) != 0 || http_certs_insert(cs, &c, err) != 0) {
		tg_err_prefix(err, "%s", c.name);
		http_cert_clear(&c);
		return -1;
	}
	return 0;
}

/* Read a whole file of at most TG_CERT_FILE_MAX bytes into *out. */
static int
http_read_file(const char *path, char **out, size_t *len, struct tg_err *err)
{
	struct stat sb;
	char *buf = NULL;
	size_t got = 0;
	ssize_t r;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > TG_CERT_FILE_MAX) {
		close(fd);
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s: not a regular file of at most %d bytes", path,
		    TG_CERT_FILE_MAX);
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	}
	while (got < (size_t)sb.st_size &&
	    (r = read(fd, buf + got, (size_t)sb.st_size - got)) > 0)
		got += (size_t)r;
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

int
tg_http_certs_add_files(struct tg_http_certs *cs, const char *name,
    const char *cert_file, const char *key_file, struct tg_err *err)
{
	char *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	int r = -1;

	if (http_read_file(cert_file, &cert, &cert_len, err) == 0 &&
	    http_read_file(key_file, &key, &key_len, err) == 0)
		r = tg_http_certs_add_pem(cs, name, cert, cert_len, key,
		    key_len, err);
	free(cert);
	if (key != NULL) {
		explicit_bzero(key, key_len);
		free(key);
	}
	return r;
}
