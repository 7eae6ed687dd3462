/*
 * smtp/submark — the report-submission marker. See submark.h.
 */
#include "smtp/submark.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "util/limits.h"
#include "util/path.h"

#define MARK_HEAD	TG_SUBMARK_FIELD ": v=1; mac="
#define MARK_HEAD_LEN	(sizeof(MARK_HEAD) - 1)

static void
mark_mac(const unsigned char key[TG_SUBMARK_KEY_LEN], const void *p,
    size_t n, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	HMAC(EVP_sha256(), key, TG_SUBMARK_KEY_LEN, p, n, md, &mdlen);
	for (i = 0; i < 32 && i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
}

void
tg_submark_line(const unsigned char key[TG_SUBMARK_KEY_LEN], const void *p,
    size_t n, char line[TG_SUBMARK_LINE_LEN + 1])
{
	char mac[65];

	mark_mac(key, p, n, mac);
	snprintf(line, TG_SUBMARK_LINE_LEN + 1, "%s%s\r\n", MARK_HEAD, mac);
}

int
tg_submark_check(const unsigned char key[TG_SUBMARK_KEY_LEN],
    const char *msg, size_t len, size_t *body_off)
{
	size_t off = TG_SUBMARK_LINE_LEN;
	char want[65];

	if (len < off || strncasecmp(msg, MARK_HEAD, MARK_HEAD_LEN) != 0 ||
	    msg[MARK_HEAD_LEN + 64] != '\r' || msg[MARK_HEAD_LEN + 65] != '\n')
		return 0;
	mark_mac(key, msg + off, len - off, want);
	/* Constant time: the mac is the only secret-dependent comparison. */
	if (CRYPTO_memcmp(want, msg + MARK_HEAD_LEN, 64) != 0)
		return 0;
	if (body_off != NULL)
		*body_off = off;
	return 1;
}

static int
starts_with_field(const char *p, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && strncasecmp(p, name, n) == 0 && p[n] == ':';
}

long
tg_submark_locate(const char *content, size_t len)
{
	size_t i;

	if (len > TG_SUBMARK_SEARCH_MAX)
		len = TG_SUBMARK_SEARCH_MAX;
	if (starts_with_field(content, len, TG_SUBMARK_FIELD))
		return 0;
	if (!starts_with_field(content, len, "Received"))
		return -1;
	/* RFC 5322 §2.2.3: the field ends at a CRLF not followed by WSP. */
	for (i = 0; i + 2 < len; i++) {
		if (content[i] != '\r' || content[i + 1] != '\n')
			continue;
		if (content[i + 2] == ' ' || content[i + 2] == '\t')
			continue;
		return starts_with_field(content + i + 2, len - i - 2,
		    TG_SUBMARK_FIELD) ? (long)(i + 2) : -1;
	}
	return -1;
}

/* ---- the key file ------------------------------------------------ */

static int
key_read(int fd, unsigned char key[TG_SUBMARK_KEY_LEN])
{
	unsigned char extra;
	ssize_t n = read(fd, key, TG_SUBMARK_KEY_LEN);

	return n == TG_SUBMARK_KEY_LEN && read(fd, &extra, 1) == 0 ? 0 : -1;
}

/* 0 made, 1 someone else made it first, -1 error. */
static int
key_create(const char *path, unsigned char key[TG_SUBMARK_KEY_LEN],
    struct tg_err *err)
{
	int fd;

	if (RAND_bytes(key, TG_SUBMARK_KEY_LEN) != 1)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "no random bytes");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return errno == EEXIST ? 1 : tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s: %s", path, strerror(errno));
	if (write(fd, key, TG_SUBMARK_KEY_LEN) != TG_SUBMARK_KEY_LEN ||
	    fsync(fd) != 0) {
		close(fd);
		unlink(path);
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: cannot write",
		    path);
	}
	close(fd);
	return 0;
}

int
tg_submark_key_load(const char *state_dir, int create,
    unsigned char key[TG_SUBMARK_KEY_LEN], struct tg_err *err)
{
	char path[TG_PATH_MAX];
	int fd, rc;

	if (tg_path_fmt(path, sizeof(path), "%s/%s", state_dir,
	    TG_SUBMARK_KEY_FILE) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "state_dir is too "
		    "long");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if ((rc = key_create(path, key, err)) <= 0)
			return rc;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", path,
		    strerror(errno));
	rc = key_read(fd, key);
	close(fd);
	if (rc != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: not %d bytes",
		    path, TG_SUBMARK_KEY_LEN);
	return 0;
}
