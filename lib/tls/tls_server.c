/*
 * tls/tls_server — see tls_server.h.
 */
#include "tls/tls_server.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "tls/cert.h"
#include "util/limits.h"

struct file_id {
	char path[TG_PATH_MAX];
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct tg_tls_server {
	int refs;
	SSL_CTX *ctx;		/* owned */
	struct file_id cert, key;
};

static int
file_id_get(const char *path, struct file_id *id)
{
	struct stat st;

	if (strlen(path) >= sizeof(id->path) || stat(path, &st) != 0)
		return -1;
	memset(id, 0, sizeof(*id));
	memcpy(id->path, path, strlen(path) + 1);
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime = st.st_mtim;
	return 0;
}

static int
file_id_same(const struct file_id *a, const struct file_id *b)
{
	return strcmp(a->path, b->path) == 0 && a->dev == b->dev &&
	    a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/*
 * RELIABILITY I-11 (ALPACA, Brinkmann et al. 2021): a client that sends
 * ALPN without "smtp" wants another protocol from this certificate.
 */
static int
server_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned int i = 0;

	(void)ssl;
	(void)arg;
	while (i < inlen) {
		unsigned int n = in[i];

		if (n == 0 || i + 1 + n > inlen)
			break;
		if (n == 4 && memcmp(in + i + 1, "smtp", 4) == 0) {
			*out = in + i + 1;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + n;
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

SSL_CTX *
tg_tls_server_ctx_new(struct tg_err *err)
{
	static const unsigned char sid_ctx[] = "tlsgate-smtpd";
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL,
		    "cannot create a TLS context");
		return NULL;
	}
	/* RFC 8996 deprecates TLS 1.0 and 1.1: 1.2 at least. */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_session_id_context(ctx, sid_ctx,
	    sizeof(sid_ctx) - 1) != 1) {
		SSL_CTX_free(ctx);
		tg_err_set(err, TG_ERR_TEMP, NULL, "cannot set up TLS context");
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_alpn_select_cb(ctx, server_alpn, NULL);
	return ctx;
}

/* Put the chain and key into ctx. */
static int
server_load(SSL_CTX *ctx, const char *cert_path, const char *key_path,
    struct tg_err *err)
{
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	int i, rc = -1;

	if (tg_cert_chain_load_file(cert_path, &chain, err) != 0)
		return -1;
	if (tg_cert_key_load_file(key_path, &key, err) != 0)
		goto out;
	if (!tg_cert_key_matches(sk_X509_value(chain, 0), key)) {
		tg_err_set(err, TG_ERR_PERM, NULL, "%s is not the key of %s",
		    key_path, cert_path);
		goto out;
	}
	if (SSL_CTX_use_certificate(ctx, sk_X509_value(chain, 0)) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1)
		goto ossl;
	for (i = 1; i < sk_X509_num(chain); i++)
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i)) != 1)
			goto ossl;
	rc = 0;
	goto out;
ossl:
	tg_err_set(err, TG_ERR_PERM, NULL, "OpenSSL refused %s: %s",
	    cert_path, ERR_reason_error_string(ERR_peek_last_error()));
	ERR_clear_error();
out:
	EVP_PKEY_free(key);
	tg_cert_chain_free(chain);
	return rc;
}

int
tg_tls_server_new(const char *cert_path, const char *key_path,
    struct tg_tls_server **out, struct tg_err *err)
{
	struct tg_tls_server *ts;

	*out = NULL;
	if ((ts = calloc(1, sizeof(*ts))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	ts->refs = 1;
	if (file_id_get(cert_path, &ts->cert) != 0 ||
	    file_id_get(key_path, &ts->key) != 0) {
		free(ts);
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "cannot read %s or %s", cert_path, key_path);
	}
	if ((ts->ctx = tg_tls_server_ctx_new(err)) == NULL ||
	    server_load(ts->ctx, cert_path, key_path, err) != 0) {
		tg_tls_server_unref(ts);
		return -1;
	}
	*out = ts;
	return 0;
}

int
tg_tls_server_same_files(const struct tg_tls_server *ts,
    const char *cert_path, const char *key_path)
{
	struct file_id c, k;

	if (ts == NULL || file_id_get(cert_path, &c) != 0 ||
	    file_id_get(key_path, &k) != 0)
		return 0;
	return file_id_same(&c, &ts->cert) && file_id_same(&k, &ts->key);
}

void
tg_tls_server_ref(struct tg_tls_server *ts)
{
	ts->refs++;
}

void
tg_tls_server_unref(struct tg_tls_server *ts)
{
	if (ts == NULL || --ts->refs > 0)
		return;
	SSL_CTX_free(ts->ctx);
	free(ts);
}

SSL_CTX *
tg_tls_server_ctx(const struct tg_tls_server *ts)
{
	return ts->ctx;
}

const char *
tg_tls_server_cert_path(const struct tg_tls_server *ts)
{
	return ts->cert.path;
}
