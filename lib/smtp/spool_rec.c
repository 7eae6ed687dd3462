/*
 * smtp/spool_rec — see spool_rec.h.
 */
#include "smtp/spool_rec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* Bounds of each record type: minimum and maximum payload, and whether
 * it may appear more than once. */
struct rec_type {
	int type;
	uint32_t min, max;
	int many;
};

static const struct rec_type rec_types[] = {
	{ TG_SPOOL_REC_QID, TG_SPOOL_QID_LEN, TG_SPOOL_QID_LEN, 0 },
	{ TG_SPOOL_REC_ARRIVAL, 8, 8, 0 },
	{ TG_SPOOL_REC_SENDER, 0, TG_SPOOL_FIELD_MAX, 0 },
	{ TG_SPOOL_REC_FLAGS, 4, 4, 0 },
	{ TG_SPOOL_REC_ENVID, 0, TG_SPOOL_FIELD_MAX, 0 },
	{ TG_SPOOL_REC_RET, 1, 1, 0 },
	{ TG_SPOOL_REC_HELO, 0, TG_SPOOL_FIELD_MAX, 0 },
	{ TG_SPOOL_REC_ADDR, 0, TG_SPOOL_FIELD_MAX, 0 },
	{ TG_SPOOL_REC_NAME, 0, TG_SPOOL_FIELD_MAX, 0 },
	{ TG_SPOOL_REC_PROTO, 0, TG_SPOOL_FIELD_MAX, 0 },
	{ TG_SPOOL_REC_TLSVER, 0, TG_SPOOL_FIELD_MAX, 0 },
	{ TG_SPOOL_REC_CIPHER, 0, TG_SPOOL_FIELD_MAX, 0 },
	{ TG_SPOOL_REC_RCPT, 5, 5 + 2 * TG_SPOOL_FIELD_MAX, 1 },
	{ TG_SPOOL_REC_DATA, 1, TG_SPOOL_CHUNK, 1 },
	{ TG_SPOOL_REC_END, TG_SPOOL_REC_DIGEST, TG_SPOOL_REC_DIGEST, 0 },
};
#define NTYPES (sizeof(rec_types) / sizeof(rec_types[0]))

static void
put_be(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--) {
		p[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

void
tg_spool_rec_hdr(uint8_t out[TG_SPOOL_REC_HDR], int type, uint32_t len)
{
	out[0] = (uint8_t)type;
	put_be(out + 1, len, 4);
}

void
tg_spool_rec_hdr_get(const uint8_t in[TG_SPOOL_REC_HDR], int *type,
    uint32_t *len)
{
	*type = in[0];
	*len = (uint32_t)get_be(in + 1, 4);
}

/* ---- Envelope rules ---------------------------------------------------- */

/* Text: bounded, no NUL (implied by strlen here), CR or LF (they could
 * split a trace header or a log line: RELIABILITY §0.3, I-12). */
static int
text_ok(const char *s, size_t len)
{
	return len <= TG_SPOOL_FIELD_MAX && memchr(s, '\0', len) == NULL &&
	    memchr(s, '\r', len) == NULL && memchr(s, '\n', len) == NULL;
}

static int
field_check(const char *name, const char *s, int required,
    struct tg_err *err)
{
	if (s == NULL) {
		if (required)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "%s: missing", name);
		return 0;
	}
	if (!text_ok(s, strlen(s)))
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s: longer than %d bytes or contains CR/LF", name,
		    TG_SPOOL_FIELD_MAX);
	return 0;
}

/* RFC 3461 §4.1: NEVER must not be combined with other keywords. */
static int
notify_ok(unsigned notify)
{
	if ((notify & ~TG_SPOOL_NOTIFY_ALL) != 0)
		return 0;
	return !(notify & TG_SPOOL_NOTIFY_NEVER) ||
	    notify == TG_SPOOL_NOTIFY_NEVER;
}

static int
rcpts_check(const struct tg_spool_env *env, struct tg_err *err)
{
	size_t i;

	if (env->nrcpt == 0 || env->nrcpt > TG_SPOOL_RCPT_MAX ||
	    env->rcpt == NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "recipients: %zu, must be 1..%d", env->nrcpt,
		    TG_SPOOL_RCPT_MAX);
	for (i = 0; i < env->nrcpt; i++) {
		const struct tg_spool_rcpt *r = &env->rcpt[i];

		if (field_check("recipient", r->addr, 1, err) != 0 ||
		    field_check("orcpt", r->orcpt, 0, err) != 0)
			return -1;
		if (r->addr[0] == '\0' ||
		    (r->orcpt != NULL && r->orcpt[0] == '\0'))
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "recipient %zu: empty address or orcpt", i);
		if (!notify_ok(r->notify))
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "recipient %zu: bad NOTIFY 0x%x", i, r->notify);
	}
	return 0;
}

int
tg_spool_rec_env_check(const struct tg_spool_env *env, struct tg_err *err)
{
	if (field_check("sender", env->sender, 1, err) != 0 ||
	    field_check("envid", env->envid, 0, err) != 0 ||
	    field_check("helo", env->helo, 0, err) != 0 ||
	    field_check("client_addr", env->client_addr, 0, err) != 0 ||
	    field_check("client_name", env->client_name, 0, err) != 0 ||
	    field_check("proto", env->proto, 0, err) != 0 ||
	    field_check("tls_version", env->tls_version, 0, err) != 0 ||
	    field_check("tls_cipher", env->tls_cipher, 0, err) != 0)
		return -1;
	if (env->ret != TG_SPOOL_RET_UNSET && env->ret != TG_SPOOL_RET_FULL &&
	    env->ret != TG_SPOOL_RET_HDRS)
		return tg_err_set(err, TG_ERR_PERM, NULL, "ret: bad value %d",
		    (int)env->ret);
	if ((env->flags & ~TG_SPOOL_F_ALL) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "flags: unknown bits 0x%x", env->flags);
	return rcpts_check(env, err);
}

/* ---- Encoding ----------------------------------------------------------- */

static int
put_rec(struct tg_buf *out, int type, const void *p, size_t len)
{
	uint8_t hdr[TG_SPOOL_REC_HDR];

	tg_spool_rec_hdr(hdr, type, (uint32_t)len);
	if (tg_buf_append(out, hdr, sizeof(hdr)) != 0 ||
	    tg_buf_append(out, p, len) != 0)
		return -1;
	return 0;
}

static int
put_text(struct tg_buf *out, int type, const char *s)
{
	if (s == NULL)
		return 0;
	return put_rec(out, type, s, strlen(s));
}

static int
put_rcpt(struct tg_buf *out, const struct tg_spool_rcpt *r)
{
	uint8_t hdr[TG_SPOOL_REC_HDR], b[3];
	size_t alen = strlen(r->addr);
	size_t olen = r->orcpt != NULL ? strlen(r->orcpt) : 0;

	tg_spool_rec_hdr(hdr, TG_SPOOL_REC_RCPT, (uint32_t)(5 + alen + olen));
	b[0] = (uint8_t)r->notify;
	put_be(b + 1, alen, 2);
	if (tg_buf_append(out, hdr, sizeof(hdr)) != 0 ||
	    tg_buf_append(out, b, 3) != 0 ||
	    tg_buf_append(out, r->addr, alen) != 0)
		return -1;
	put_be(b, olen, 2);
	if (tg_buf_append(out, b, 2) != 0 ||
	    tg_buf_append(out, r->orcpt != NULL ? r->orcpt : "", olen) != 0)
		return -1;
	return 0;
}

static int
put_fixed(struct tg_buf *out, const struct tg_spool_env *env)
{
	uint8_t t[8], f[4], ret;

	put_be(t, (uint64_t)(int64_t)env->arrival, 8);
	put_be(f, env->flags, 4);
	ret = (uint8_t)env->ret;
	if (tg_buf_append(out, TG_SPOOL_REC_MAGIC, TG_SPOOL_REC_MAGIC_LEN) ||
	    put_rec(out, TG_SPOOL_REC_QID, env->qid, TG_SPOOL_QID_LEN) ||
	    put_rec(out, TG_SPOOL_REC_ARRIVAL, t, 8) ||
	    put_text(out, TG_SPOOL_REC_SENDER, env->sender) ||
	    put_rec(out, TG_SPOOL_REC_FLAGS, f, 4))
		return -1;
	if (env->ret != TG_SPOOL_RET_UNSET &&
	    put_rec(out, TG_SPOOL_REC_RET, &ret, 1) != 0)
		return -1;
	return 0;
}

int
tg_spool_rec_put_env(struct tg_buf *out, const struct tg_spool_env *env,
    struct tg_err *err)
{
	size_t i;

	if (tg_spool_rec_env_check(env, err) != 0)
		return -1;
	if (strlen(env->qid) != TG_SPOOL_QID_LEN)
		return tg_err_set(err, TG_ERR_BUG, NULL, "qid: not assigned");
	if (put_fixed(out, env) != 0 ||
	    put_text(out, TG_SPOOL_REC_ENVID, env->envid) ||
	    put_text(out, TG_SPOOL_REC_HELO, env->helo) ||
	    put_text(out, TG_SPOOL_REC_ADDR, env->client_addr) ||
	    put_text(out, TG_SPOOL_REC_NAME, env->client_name) ||
	    put_text(out, TG_SPOOL_REC_PROTO, env->proto) ||
	    put_text(out, TG_SPOOL_REC_TLSVER, env->tls_version) ||
	    put_text(out, TG_SPOOL_REC_CIPHER, env->tls_cipher))
		goto full;
	for (i = 0; i < env->nrcpt; i++)
		if (put_rcpt(out, &env->rcpt[i]) != 0)
			goto full;
	return 0;
full:
	return tg_err_set(err, TG_ERR_BUG, NULL,
	    "envelope: output buffer limit too small");
}

/* ---- Verifying reader --------------------------------------------------- */

struct rd {
	const struct tg_spool_rec_src *src;
	uint64_t off;
	EVP_MD_CTX *md;
	struct tg_err *err;
	struct tg_spool_env *env;
	unsigned seen[NTYPES];
	size_t rcpt_cap;	/* entries allocated in env->rcpt */
	uint8_t *buf;		/* owned scratch, TG_SPOOL_CHUNK bytes */
};

static int
corrupt(struct rd *r, uint64_t at, const char *what)
{
	return tg_err_set_at(r->err, TG_ERR_PERM, (long)at, "%s at offset %llu",
	    what, (unsigned long long)at);
}

/* Read n bytes, failing if the file does not have them. */
static int
rd_raw(struct rd *r, void *buf, size_t n)
{
	if (n > r->src->size - r->off)
		return corrupt(r, r->off, "truncated object");
	errno = 0;
	if (n > 0 && r->src->read(r->src->ctx, buf, n) != 0)
		return tg_err_set(r->err, TG_ERR_TEMP, "4.3.0", "read: %s",
		    errno != 0 ? strerror(errno) : "short read");
	r->off += n;
	return 0;
}

static int
rd_hashed(struct rd *r, void *buf, size_t n)
{
	if (rd_raw(r, buf, n) != 0)
		return -1;
	if (EVP_DigestUpdate(r->md, buf, n) != 1)
		return tg_err_set(r->err, TG_ERR_TEMP, "4.3.0",
		    "sha256 failed");
	return 0;
}

static const struct rec_type *
rec_type_find(int type, size_t *idx)
{
	size_t i;

	*idx = 0;
	for (i = 0; i < NTYPES; i++)
		if (rec_types[i].type == type) {
			*idx = i;
			return &rec_types[i];
		}
	return NULL;
}

/* A text payload into an owned string. */
static int
text_dup(struct rd *r, uint64_t at, const uint8_t *p, size_t len, char **out)
{
	char *s;

	if (!text_ok((const char *)p, len))
		return corrupt(r, at, "bad text field");
	s = malloc(len + 1);
	if (s == NULL)
		return tg_err_set(r->err, TG_ERR_TEMP, "4.3.0",
		    "out of memory");
	memcpy(s, p, len);
	s[len] = '\0';
	*out = s;
	return 0;
}

/* Room for one more recipient (nrcpt < TG_SPOOL_RCPT_MAX); the array
 * doubles, starting at 8. */
static int
rcpt_grow(struct rd *r)
{
	struct tg_spool_env *env = r->env;
	struct tg_spool_rcpt *n;
	size_t cap;

	if (env->nrcpt < r->rcpt_cap)
		return 0;
	cap = r->rcpt_cap == 0 ? 8 : r->rcpt_cap * 2;
	if (cap > TG_SPOOL_RCPT_MAX)
		cap = TG_SPOOL_RCPT_MAX;
	n = realloc(env->rcpt, cap * sizeof(*n));
	if (n == NULL)
		return tg_err_set(r->err, TG_ERR_TEMP, "4.3.0",
		    "out of memory");
	env->rcpt = n;
	r->rcpt_cap = cap;
	return 0;
}

static int
dec_rcpt(struct rd *r, uint64_t at, const uint8_t *p, size_t len)
{
	struct tg_spool_env *env = r->env;
	struct tg_spool_rcpt *rc;
	size_t alen, olen;

	if (env->nrcpt >= TG_SPOOL_RCPT_MAX)
		return corrupt(r, at, "too many recipients");
	alen = (size_t)get_be(p + 1, 2);
	if (alen == 0 || 3 + alen + 2 > len)
		return corrupt(r, at, "bad recipient address length");
	olen = (size_t)get_be(p + 3 + alen, 2);
	if (3 + alen + 2 + olen != len)
		return corrupt(r, at, "bad recipient orcpt length");
	if (!notify_ok(p[0]))
		return corrupt(r, at, "bad recipient NOTIFY");
	if (rcpt_grow(r) != 0)
		return -1;
	rc = &env->rcpt[env->nrcpt++];
	memset(rc, 0, sizeof(*rc));
	rc->notify = p[0];
	if (text_dup(r, at, p + 3, alen, &rc->addr) != 0)
		return -1;
	if (olen > 0)
		return text_dup(r, at, p + 5 + alen, olen, &rc->orcpt);
	return 0;
}

/* The text field of env that a record type fills, or NULL. */
static char **
text_slot(struct tg_spool_env *env, int type)
{
	switch (type) {
	case TG_SPOOL_REC_SENDER: return &env->sender;
	case TG_SPOOL_REC_ENVID: return &env->envid;
	case TG_SPOOL_REC_HELO: return &env->helo;
	case TG_SPOOL_REC_ADDR: return &env->client_addr;
	case TG_SPOOL_REC_NAME: return &env->client_name;
	case TG_SPOOL_REC_PROTO: return &env->proto;
	case TG_SPOOL_REC_TLSVER: return &env->tls_version;
	case TG_SPOOL_REC_CIPHER: return &env->tls_cipher;
	default: return NULL;
	}
}

static int
dec_env(struct rd *r, int type, uint64_t at, const uint8_t *p, size_t len)
{
	struct tg_spool_env *env = r->env;
	char **slot = text_slot(env, type);

	if (slot != NULL)
		return text_dup(r, at, p, len, slot);
	switch (type) {
	case TG_SPOOL_REC_QID:
		memcpy(env->qid, p, TG_SPOOL_QID_LEN);
		env->qid[TG_SPOOL_QID_LEN] = '\0';
		if (!tg_spool_qid_valid(env->qid))
			return corrupt(r, at, "bad queue id");
		return 0;
	case TG_SPOOL_REC_ARRIVAL:
		env->arrival = (time_t)(int64_t)get_be(p, 8);
		return 0;
	case TG_SPOOL_REC_FLAGS:
		env->flags = (unsigned)get_be(p, 4);
		if ((env->flags & ~TG_SPOOL_F_ALL) != 0)
			return corrupt(r, at, "unknown flags");
		return 0;
	case TG_SPOOL_REC_RET:
		if (p[0] != TG_SPOOL_RET_FULL && p[0] != TG_SPOOL_RET_HDRS)
			return corrupt(r, at, "bad RET");
		env->ret = (enum tg_spool_ret)p[0];
		return 0;
	case TG_SPOOL_REC_RCPT:
		return dec_rcpt(r, at, p, len);
	default:
		return corrupt(r, at, "unexpected record");
	}
}

/* Order rules: 'Q' first; envelope records before any 'D'; every
 * required record before the first 'D' or 'Z'. */
static int
order_check(struct rd *r, int type, size_t idx, uint64_t at)
{
	size_t q, d, e;

	rec_type_find(TG_SPOOL_REC_QID, &q);
	rec_type_find(TG_SPOOL_REC_DATA, &d);
	rec_type_find(TG_SPOOL_REC_END, &e);
	if (type != TG_SPOOL_REC_QID && r->seen[q] == 0)
		return corrupt(r, at, "queue id record not first");
	if (!rec_types[idx].many && r->seen[idx] != 0)
		return corrupt(r, at, "repeated record");
	if (type != TG_SPOOL_REC_DATA && type != TG_SPOOL_REC_END &&
	    r->seen[d] != 0)
		return corrupt(r, at, "envelope record after content");
	if (type == TG_SPOOL_REC_DATA || type == TG_SPOOL_REC_END) {
		static const int req[] = { TG_SPOOL_REC_ARRIVAL,
		    TG_SPOOL_REC_SENDER, TG_SPOOL_REC_FLAGS };
		size_t i, k;

		for (i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
			rec_type_find(req[i], &k);
			if (r->seen[k] == 0)
				return corrupt(r, at,
				    "required envelope record missing");
		}
		if (r->env->nrcpt == 0)
			return corrupt(r, at, "no recipient");
	}
	r->seen[idx]++;
	return 0;
}

/* The END record: digest of everything before it, then end of file. */
static int
rd_end(struct rd *r, uint64_t at, struct tg_spool_rec_info *info)
{
	uint8_t want[EVP_MAX_MD_SIZE], got[TG_SPOOL_REC_DIGEST];
	unsigned int wlen = 0;

	if (rd_raw(r, got, sizeof(got)) != 0)
		return -1;
	if (EVP_DigestFinal_ex(r->md, want, &wlen) != 1 ||
	    wlen != TG_SPOOL_REC_DIGEST)
		return tg_err_set(r->err, TG_ERR_TEMP, "4.3.0",
		    "sha256 failed");
	if (CRYPTO_memcmp(want, got, sizeof(got)) != 0)
		return corrupt(r, at, "checksum mismatch");
	if (r->off != r->src->size)
		return corrupt(r, r->off, "bytes after END record");
	info->end_off = at;
	return 0;
}

/* One record after its header; returns 1 after END. */
static int
rd_record(struct rd *r, struct tg_spool_rec_info *info)
{
	uint8_t hdr[TG_SPOOL_REC_HDR];
	const struct rec_type *rt;
	uint64_t at = r->off;
	uint32_t len;
	size_t idx;
	int type;

	if (r->off == r->src->size)
		return corrupt(r, at, "END record missing");
	if (rd_raw(r, hdr, sizeof(hdr)) != 0)
		return -1;
	tg_spool_rec_hdr_get(hdr, &type, &len);
	if ((rt = rec_type_find(type, &idx)) == NULL)
		return corrupt(r, at, "unknown record type");
	if (len < rt->min || len > rt->max)
		return corrupt(r, at, "record length out of bounds");
	if (len > r->src->size - r->off)
		return corrupt(r, at, "record longer than the file");
	if (order_check(r, type, idx, at) != 0)
		return -1;
	if (type == TG_SPOOL_REC_END)
		return rd_end(r, at, info) == 0 ? 1 : -1;
	if (EVP_DigestUpdate(r->md, hdr, sizeof(hdr)) != 1 ||
	    rd_hashed(r, r->buf, len) != 0)
		return -1;
	if (type != TG_SPOOL_REC_DATA)
		return dec_env(r, type, at, r->buf, len);
	if (r->seen[idx] == 1)
		info->data_off = at;
	info->data_size += len;
	if (info->data_size > (uint64_t)TG_SPOOL_MSG_SIZE_MAX)
		return corrupt(r, at, "content larger than any message");
	return 0;
}

static int
rd_all(struct rd *r, struct tg_spool_rec_info *info)
{
	uint8_t magic[TG_SPOOL_REC_MAGIC_LEN];
	int rc;

	if (r->src->size == 0)
		return corrupt(r, 0, "empty object");
	if (rd_hashed(r, magic, sizeof(magic)) != 0)
		return -1;
	if (memcmp(magic, TG_SPOOL_REC_MAGIC, sizeof(magic)) != 0)
		return corrupt(r, 0, "bad magic");
	while ((rc = rd_record(r, info)) == 0)
		;
	if (rc < 0)
		return -1;
	if (info->data_size == 0)
		info->data_off = info->end_off;
	return 0;
}

int
tg_spool_rec_parse(const struct tg_spool_rec_src *src,
    struct tg_spool_env *env, struct tg_spool_rec_info *info,
    struct tg_err *err)
{
	struct rd r;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	memset(info, 0, sizeof(*info));
	memset(env, 0, sizeof(*env));
	r.src = src;
	r.err = err;
	r.env = env;
	r.md = EVP_MD_CTX_new();
	r.buf = malloc(TG_SPOOL_CHUNK > 5 + 2 * TG_SPOOL_FIELD_MAX ?
	    TG_SPOOL_CHUNK : 5 + 2 * TG_SPOOL_FIELD_MAX);
	if (r.md == NULL || r.buf == NULL ||
	    EVP_DigestInit_ex(r.md, EVP_sha256(), NULL) != 1)
		tg_err_set(err, TG_ERR_TEMP, "4.3.0", "out of memory");
	else
		rc = rd_all(&r, info);
	EVP_MD_CTX_free(r.md);
	free(r.buf);
	if (rc != 0)
		tg_spool_env_clear(env);
	return rc;
}

struct mem_src {
	const uint8_t *p;
	size_t off, n;
};

static int
mem_read(void *ctx, void *buf, size_t n)
{
	struct mem_src *m = ctx;

	if (n > m->n - m->off) {
		errno = 0;
		return -1;
	}
	memcpy(buf, m->p + m->off, n);
	m->off += n;
	return 0;
}

int
tg_spool_rec_parse_mem(const void *p, size_t n, struct tg_spool_env *env,
    struct tg_spool_rec_info *info, struct tg_err *err)
{
	struct mem_src m = { p, 0, n };
	struct tg_spool_rec_src src = { mem_read, &m, n };

	return tg_spool_rec_parse(&src, env, info, err);
}
