/*
 * tls/cert — see cert.h.
 */
#include "tls/cert.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/dname.h"

/* Append OpenSSL's most recent error, if any, to a message. */
static int
cert_fail(struct tg_err *err, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char ebuf[256];

	if (e == 0) {
		ERR_clear_error();
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s", what);
	}
	ERR_error_string_n(e, ebuf, sizeof(ebuf));
	ERR_clear_error();
	return tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", what, ebuf);
}

/* Read a whole file of at most TG_CERT_FILE_MAX bytes into b. */
static int
cert_read_file(const char *path, struct tg_buf *b, struct tg_err *err)
{
	char chunk[8192];
	ssize_t n;
	int fd;

	tg_buf_init(b, TG_CERT_FILE_MAX);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", path,
		    strerror(errno));
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (tg_buf_append(b, chunk, (size_t)n) < 0) {
			close(fd);
			tg_buf_free(b);
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "%s: larger than %d bytes", path, TG_CERT_FILE_MAX);
		}
	}
	if (n < 0) {
		tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", path,
		    strerror(errno));
		close(fd);
		tg_buf_free(b);
		return -1;
	}
	close(fd);
	return 0;
}

/* The end of the PEM input, as opposed to a damaged block. */
static int
cert_pem_at_end(void)
{
	unsigned long e = ERR_peek_last_error();

	return ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

int
tg_cert_chain_load_mem(const char *pem, size_t len, STACK_OF(X509) **out,
    struct tg_err *err)
{
	STACK_OF(X509) *chain;
	X509 *x;
	BIO *bio;

	*out = NULL;
	if (len > TG_CERT_FILE_MAX || len > INT_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "PEM input larger than %d bytes", TG_CERT_FILE_MAX);
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (chain = sk_X509_new_null()) == NULL) {
		BIO_free(bio);
		return cert_fail(err, "out of memory");
	}
	ERR_clear_error();
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(chain) >= TG_CHAIN_MAX ||
		    !sk_X509_push(chain, x)) {
			X509_free(x);
			BIO_free(bio);
			tg_cert_chain_free(chain);
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "more than %d certificates", TG_CHAIN_MAX);
		}
	}
	BIO_free(bio);
	if (!cert_pem_at_end() || sk_X509_num(chain) == 0) {
		tg_cert_chain_free(chain);
		if (cert_pem_at_end())
			return cert_fail(err, "no certificate found");
		return cert_fail(err, "bad PEM certificate");
	}
	ERR_clear_error();
	*out = chain;
	return 0;
}

int
tg_cert_chain_load_file(const char *path, STACK_OF(X509) **out,
    struct tg_err *err)
{
	struct tg_buf b;
	int rc;

	*out = NULL;
	if (cert_read_file(path, &b, err) < 0)
		return -1;
	rc = tg_cert_chain_load_mem(tg_buf_cstr(&b), b.len, out, err);
	tg_buf_free(&b);
	if (rc < 0)
		tg_err_prefix(err, "%s", path);
	return rc;
}

void
tg_cert_chain_free(STACK_OF(X509) *chain)
{
	if (chain != NULL)
		sk_X509_pop_free(chain, X509_free);
}

/* Passphrase callback that refuses: keys must be unencrypted, and a
 * library must never prompt on a terminal. */
static int
cert_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

int
tg_cert_key_load_mem(const char *pem, size_t len, EVP_PKEY **out,
    struct tg_err *err)
{
	BIO *bio;

	*out = NULL;
	if (len > TG_CERT_FILE_MAX || len > INT_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "PEM input larger than %d bytes", TG_CERT_FILE_MAX);
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return cert_fail(err, "out of memory");
	ERR_clear_error();
	*out = PEM_read_bio_PrivateKey(bio, NULL, cert_no_passphrase, NULL);
	BIO_free(bio);
	if (*out == NULL)
		return cert_fail(err, "no usable unencrypted private key");
	return 0;
}

int
tg_cert_key_load_file(const char *path, EVP_PKEY **out, struct tg_err *err)
{
	struct tg_buf b;
	int rc;

	*out = NULL;
	if (cert_read_file(path, &b, err) < 0)
		return -1;
	rc = tg_cert_key_load_mem(tg_buf_cstr(&b), b.len, out, err);
	/* The buffer held a private key: wipe it before it is freed. */
	if (b.data != NULL)
		OPENSSL_cleanse(b.data, b.len);
	tg_buf_free(&b);
	if (rc < 0)
		tg_err_prefix(err, "%s", path);
	return rc;
}

int
tg_cert_key_matches(X509 *cert, EVP_PKEY *key)
{
	int rc = X509_check_private_key(cert, key);

	ERR_clear_error();
	return rc == 1;
}

int
tg_cert_der(X509 *cert, enum tg_cert_part part, unsigned char **der,
    size_t *len, struct tg_err *err)
{
	int n;

	*der = NULL;
	*len = 0;
	switch (part) {
	case TG_CERT_PART_FULL:
		n = i2d_X509(cert, der);
		break;
	case TG_CERT_PART_SPKI:
		n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), der);
		break;
	default:
		return tg_err_set(err, TG_ERR_BUG, NULL, "selector %d unknown",
		    (int)part);
	}
	if (n <= 0) {
		*der = NULL;
		return cert_fail(err, "cannot encode certificate");
	}
	*len = (size_t)n;
	return 0;
}

int
tg_cert_key_spki_der(EVP_PKEY *key, unsigned char **der, size_t *len,
    struct tg_err *err)
{
	int n;

	*der = NULL;
	*len = 0;
	n = i2d_PUBKEY(key, der);
	if (n <= 0) {
		*der = NULL;
		return cert_fail(err, "cannot encode public key");
	}
	*len = (size_t)n;
	return 0;
}

int
tg_cert_digest_data(enum tg_cert_md md, const unsigned char *data,
    size_t len, unsigned char *out, size_t *outlen, struct tg_err *err)
{
	const EVP_MD *evp;
	unsigned int n = 0;

	switch (md) {
	case TG_CERT_MD_SHA256:
		evp = EVP_sha256();
		break;
	case TG_CERT_MD_SHA512:
		evp = EVP_sha512();
		break;
	default:
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "matching type %d is not a digest", (int)md);
	}
	if (!EVP_Digest(data, len, out, &n, evp, NULL))
		return cert_fail(err, "digest failed");
	*outlen = n;
	return 0;
}

int
tg_cert_digest(X509 *cert, enum tg_cert_part part, enum tg_cert_md md,
    unsigned char *out, size_t *outlen, struct tg_err *err)
{
	unsigned char *der;
	size_t len;
	int rc;

	if (tg_cert_der(cert, part, &der, &len, err) < 0)
		return -1;
	rc = tg_cert_digest_data(md, der, len, out, outlen, err);
	OPENSSL_free(der);
	return rc;
}

static int
cert_asn1_time(const ASN1_TIME *at, time_t *out)
{
	struct tm tm;

	if (at == NULL || !ASN1_TIME_to_tm(at, &tm))
		return -1;
	*out = timegm(&tm);
	return 0;
}

int
tg_cert_validity(X509 *cert, time_t *not_before, time_t *not_after,
    struct tg_err *err)
{
	if (cert_asn1_time(X509_get0_notBefore(cert), not_before) < 0 ||
	    cert_asn1_time(X509_get0_notAfter(cert), not_after) < 0)
		return cert_fail(err, "bad validity dates");
	return 0;
}

/* Copy an ASN.1 string that must be a printable host name (or
 * wildcard) without NULs; 0 if it is not one. */
static int
cert_copy_name(const unsigned char *s, int len, char *out)
{
	int i;

	if (len <= 0 || len > TG_DNAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	memcpy(out, s, (size_t)len);
	out[len] = '\0';
	return 1;
}

static void
cert_names_add(struct tg_cert_names *nm, const unsigned char *s, int len)
{
	if (nm->n >= TG_CERT_NAMES_MAX ||
	    !cert_copy_name(s, len, nm->name[nm->n])) {
		nm->skipped++;
		return;
	}
	nm->n++;
}

static void
cert_cn(X509 *cert, struct tg_cert_names *nm)
{
	X509_NAME *subj = X509_get_subject_name(cert);
	X509_NAME_ENTRY *e;
	ASN1_STRING *s;
	unsigned char *utf8 = NULL;
	int i, len;

	i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	if (i < 0 || (e = X509_NAME_get_entry(subj, i)) == NULL)
		return;
	s = X509_NAME_ENTRY_get_data(e);
	len = ASN1_STRING_to_UTF8(&utf8, s);
	if (len > 0 && !cert_copy_name(utf8, len, nm->cn))
		nm->cn[0] = '\0';
	OPENSSL_free(utf8);
}

void
tg_cert_names(X509 *cert, struct tg_cert_names *nm)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	int i;

	memset(nm, 0, sizeof(*nm));
	cert_cn(cert, nm);
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		cert_names_add(nm, ASN1_STRING_get0_data(g->d.dNSName),
		    ASN1_STRING_length(g->d.dNSName));
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	/* RFC 6125 §6.4.4: the CN counts only without any SAN dNSName. */
	if (nm->n == 0 && nm->skipped == 0 && nm->cn[0] != '\0') {
		memcpy(nm->name[0], nm->cn, sizeof(nm->cn));
		nm->n = 1;
		nm->from_cn = 1;
	}
}

static void
cert_name_text(X509_NAME *name, char *out, size_t outlen)
{
	unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
	BIO *bio;
	char *p;
	long n;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(bio, name, 0, flags) >= 0) {
		n = BIO_get_mem_data(bio, &p);
		if (n > 0)
			tg_log_escape(out, outlen, p, (size_t)n);
	}
	BIO_free(bio);
	ERR_clear_error();
}

void
tg_cert_subject(X509 *cert, char *out, size_t outlen)
{
	cert_name_text(X509_get_subject_name(cert), out, outlen);
}

void
tg_cert_issuer(X509 *cert, char *out, size_t outlen)
{
	cert_name_text(X509_get_issuer_name(cert), out, outlen);
}

EVP_PKEY *
tg_cert_key_new(struct tg_err *err)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	if (key == NULL)
		cert_fail(err, "cannot generate a P-256 key");
	return key;
}

/* A random positive 127-bit serial (RFC 5280 §4.1.2.2: ≤ 20 octets,
 * positive, unique per issuer). */
static int
cert_set_serial(X509 *x)
{
	unsigned char rnd[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return 0;
	rnd[0] &= 0x7f;
	rnd[0] |= 0x40;
	if ((bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL)
		return 0;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

static int
cert_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509_EXTENSION *ext;
	X509V3_CTX ctx;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* subjectAltName with one dNSName per name; critical when the subject
 * is empty (RFC 5280 §4.2.1.6). */
static int
cert_add_san(X509 *x, const struct tg_cert_template *t, int critical)
{
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	ASN1_IA5STRING *ia5;
	size_t i;
	int ok = 0;

	if ((gens = sk_GENERAL_NAME_new_null()) == NULL)
		return 0;
	for (i = 0; i < t->n_names; i++) {
		if ((g = GENERAL_NAME_new()) == NULL)
			goto out;
		if ((ia5 = ASN1_IA5STRING_new()) == NULL ||
		    !ASN1_STRING_set(ia5, t->names[i], -1)) {
			ASN1_IA5STRING_free(ia5);
			GENERAL_NAME_free(g);
			goto out;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			goto out;
		}
	}
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, critical,
	    X509V3_ADD_DEFAULT) == 1;
out:
	GENERAL_NAMES_free(gens);
	return ok;
}

/* Subject CN. RFC 5280 ub-common-name is 64: a longer name is left to
 * the SAN alone. Returns 0 on failure, sets *empty when no CN. */
static int
cert_set_subject(X509 *x, const char *cn, int *empty)
{
	X509_NAME *name = X509_get_subject_name(x);

	*empty = cn == NULL || strlen(cn) > 64;
	if (*empty)
		return 1;
	return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
}

static int
cert_set_times(X509 *x, const struct tg_cert_template *t)
{
	return ASN1_TIME_set(X509_getm_notBefore(x), t->not_before) != NULL &&
	    ASN1_TIME_set(X509_getm_notAfter(x), t->not_after) != NULL;
}

static int
cert_add_profile(X509 *x, X509 *issuer, int is_ca)
{
	if (is_ca)
		return cert_add_ext(x, issuer, NID_basic_constraints,
		    "critical,CA:TRUE") &&
		    cert_add_ext(x, issuer, NID_key_usage,
		    "critical,keyCertSign,cRLSign") &&
		    cert_add_ext(x, issuer, NID_subject_key_identifier, "hash");
	return cert_add_ext(x, issuer, NID_basic_constraints,
	    "critical,CA:FALSE") &&
	    cert_add_ext(x, issuer, NID_key_usage,
	    "critical,digitalSignature") &&
	    cert_add_ext(x, issuer, NID_ext_key_usage,
	    "serverAuth,clientAuth") &&
	    cert_add_ext(x, issuer, NID_subject_key_identifier, "hash");
}

static int
cert_check_template(const struct tg_cert_template *t, struct tg_err *err)
{
	size_t i;

	if (t->cn == NULL && t->n_names == 0)
		return tg_err_set(err, TG_ERR_BUG, NULL,
		    "certificate without any name");
	if (t->n_names > TG_CERT_NAMES_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "more than %d names", TG_CERT_NAMES_MAX);
	for (i = 0; i < t->n_names; i++)
		if (t->names[i] == NULL || t->names[i][0] == '\0' ||
		    strlen(t->names[i]) > TG_DNAME_MAX)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "name %zu is empty or too long", i);
	return 0;
}

int
tg_cert_issue(const struct tg_cert_template *t, EVP_PKEY *subject_key,
    X509 *issuer, EVP_PKEY *issuer_key, X509 **out, struct tg_err *err)
{
	X509 *x;
	int empty, ok;

	*out = NULL;
	if (cert_check_template(t, err) < 0)
		return -1;
	if ((x = X509_new()) == NULL)
		return cert_fail(err, "out of memory");
	if (issuer == NULL)
		issuer_key = subject_key;
	ok = X509_set_version(x, 2) && cert_set_serial(x) &&
	    cert_set_times(x, t) && X509_set_pubkey(x, subject_key) &&
	    cert_set_subject(x, t->cn != NULL ? t->cn : t->names[0], &empty) &&
	    X509_set_issuer_name(x, X509_get_subject_name(
	    issuer != NULL ? issuer : x)) &&
	    cert_add_profile(x, issuer != NULL ? issuer : x, t->is_ca) &&
	    (t->n_names == 0 || cert_add_san(x, t, empty)) &&
	    cert_add_ext(x, issuer != NULL ? issuer : x,
	    NID_authority_key_identifier, "keyid") &&
	    X509_sign(x, issuer_key, EVP_sha256()) > 0;
	if (!ok) {
		X509_free(x);
		return cert_fail(err, "cannot make certificate");
	}
	*out = x;
	return 0;
}

typedef int (*cert_pem_writer)(BIO *bio, void *obj);

static int
cert_write_key(BIO *bio, void *obj)
{
	return PEM_write_bio_PrivateKey(bio, obj, NULL, NULL, 0, NULL, NULL);
}

static int
cert_write_cert(BIO *bio, void *obj)
{
	return PEM_write_bio_X509(bio, obj);
}

/* Write obj as PEM to a temporary file next to path, fsync it and link
 * it into place; link(2) fails with EEXIST rather than replace a file. */
static int
cert_write_new(const char *path, mode_t mode, cert_pem_writer w, void *obj,
    struct tg_err *err)
{
	char tmp[TG_PATH_MAX + 16];
	BIO *bio;
	int fd, ok;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return tg_err_set(err, TG_ERR_PERM, NULL, "path too long");
	if ((fd = mkstemp(tmp)) < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", tmp,
		    strerror(errno));
	ok = fchmod(fd, mode) == 0 &&
	    (bio = BIO_new_fd(fd, BIO_NOCLOSE)) != NULL;
	if (ok) {
		ok = w(bio, obj) && BIO_flush(bio) == 1;
		BIO_free(bio);
	}
	ok = ok && fsync(fd) == 0;
	if (close(fd) != 0 || !ok) {
		unlink(tmp);
		return cert_fail(err, "cannot write PEM file");
	}
	ok = link(tmp, path) == 0;
	if (!ok)
		tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", path,
		    strerror(errno));
	unlink(tmp);
	return ok ? 0 : -1;
}

/* fsync the directory holding path, so a new name in it survives. */
static int
cert_sync_dir(const char *path, struct tg_err *err)
{
	char dir[TG_PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, ok;

	if (slash == NULL || (size_t)(slash - path) >= sizeof(dir))
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: not an "
		    "absolute path", path);
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash == path ? 1 : slash - path] = '\0';
	if (slash == path)
		dir[0] = '/';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", dir,
		    strerror(errno));
	ok = fsync(fd) == 0;
	close(fd);
	return ok ? 0 : tg_err_set(err, TG_ERR_TEMP, NULL, "fsync %s: %s",
	    dir, strerror(errno));
}

struct cert_bytes {
	const void *data;
	size_t len;
};

static int
cert_write_bytes(BIO *bio, void *obj)
{
	const struct cert_bytes *b = obj;

	return b->len <= INT_MAX &&
	    BIO_write(bio, b->data, (int)b->len) == (int)b->len;
}

int
tg_cert_file_write_new(const char *path, mode_t mode, const void *data,
    size_t len, struct tg_err *err)
{
	struct cert_bytes b = { data, len };

	if (cert_write_new(path, mode, cert_write_bytes, &b, err) != 0)
		return -1;
	return cert_sync_dir(path, err);
}

int
tg_cert_key_write_new(EVP_PKEY *key, const char *path, struct tg_err *err)
{
	if (cert_write_new(path, 0600, cert_write_key, key, err) != 0)
		return -1;
	return cert_sync_dir(path, err);
}

static int
cert_paths_free(const char *key_path, const char *cert_path,
    struct tg_err *err)
{
	struct stat st;

	if (lstat(key_path, &st) == 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", key_path,
		    strerror(EEXIST));
	if (lstat(cert_path, &st) == 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", cert_path,
		    strerror(EEXIST));
	return 0;
}

static int
cert_check_names(const char *const names[], size_t n, struct tg_err *err)
{
	char norm[TG_DNAME_MAX + 1];
	size_t i;

	if (n == 0 || n > TG_CERT_NAMES_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "between 1 and %d names needed", TG_CERT_NAMES_MAX);
	for (i = 0; i < n; i++) {
		if (tg_dname_host_normalize(names[i], norm, sizeof(norm),
		    err) < 0)
			return -1;
		if (strcmp(norm, names[i]) != 0)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "name '%s' is not in normal form ('%s')", names[i],
			    norm);
	}
	return 0;
}

int
tg_cert_make_self_signed(const char *const names[], size_t n, int days,
    const char *key_path, const char *cert_path, struct tg_err *err)
{
	struct tg_cert_template t;
	EVP_PKEY *key;
	X509 *x = NULL;
	time_t now = tg_clock_now();
	int rc = -1;

	if (days < 1 || days > TG_CERT_DAYS_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "validity must be 1..%d days", TG_CERT_DAYS_MAX);
	if (cert_check_names(names, n, err) < 0 ||
	    cert_paths_free(key_path, cert_path, err) < 0)
		return -1;
	memset(&t, 0, sizeof(t));
	t.names = names;
	t.n_names = n;
	t.not_before = now - 3600;	/* tolerate peers' clock skew */
	t.not_after = now + (time_t)days * 86400;
	if ((key = tg_cert_key_new(err)) == NULL)
		return -1;
	if (tg_cert_issue(&t, key, NULL, NULL, &x, err) == 0 &&
	    cert_write_new(key_path, 0600, cert_write_key, key, err) == 0) {
		rc = cert_write_new(cert_path, 0644, cert_write_cert, x, err);
		if (rc < 0)
			unlink(key_path);
	}
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}
