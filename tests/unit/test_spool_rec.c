/*
 * Unit tests of the spool object format (smtp/spool_rec) and the
 * recipient journal parser (smtp/spool_jnl), and RELIABILITY Q-04: a
 * table of corrupt objects — truncated at every record boundary and
 * inside every record, every byte flipped, END deleted or zeroed, absurd
 * and off-by-one length fields, an empty file, trailing bytes, a queue id
 * that differs from the name, and structurally wrong objects whose
 * checksum is right — each of which must be rejected by the parser and,
 * on disk, moved to corrupt/ unchanged at start-up, never deleted and
 * never delivered. Random mutations must never crash the reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "smtp/spool.h"
#include "smtp/spool_jnl.h"
#include "smtp/spool_rec.h"
#include "util/buf.h"
#include "util/err.h"

/* ---- Building objects --------------------------------------------------- */

static struct tg_spool_rcpt rcpts[] = {
	{ "a@example.org", "rfc822;a@example.org", TG_SPOOL_NOTIFY_FAILURE },
	{ "b@example.net", NULL, 0 },
};

static struct tg_spool_env
env_for(const char *qid)
{
	struct tg_spool_env e;

	memset(&e, 0, sizeof(e));
	snprintf(e.qid, sizeof(e.qid), "%s", qid);
	e.arrival = 1800000000;
	e.sender = "s@example.com";
	e.envid = "ID1";
	e.ret = TG_SPOOL_RET_FULL;
	e.flags = TG_SPOOL_F_8BITMIME;
	e.helo = "h.example";
	e.client_addr = "2001:db8::1";
	e.proto = "ESMTPS";
	e.tls_version = "TLSv1.3";
	e.rcpt = rcpts;
	e.nrcpt = 2;
	return e;
}

static void
add_rec(struct tg_buf *b, int type, const void *p, size_t n)
{
	uint8_t hdr[TG_SPOOL_REC_HDR];

	tg_spool_rec_hdr(hdr, type, (uint32_t)n);
	assert_int_equal(tg_buf_append(b, hdr, sizeof(hdr)), 0);
	assert_int_equal(tg_buf_append(b, p, n), 0);
}

/* END with the right checksum over everything in b. */
static void
add_end(struct tg_buf *b)
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	SHA256((const uint8_t *)b->data, b->len, md);
	add_rec(b, TG_SPOOL_REC_END, md, sizeof(md));
}

static const char content[] = "Subject: t\r\n\r\nline one\r\n\x00\xff\x80 8bit"
    "\r\nlast\r\n";

/* A valid object for qid: envelope, three data records, END. */
static void
build(struct tg_buf *b, const char *qid)
{
	struct tg_spool_env e = env_for(qid);
	struct tg_err err;

	tg_buf_init(b, TG_SPOOL_REC_ENV_MAX + 4096);
	assert_int_equal(tg_spool_rec_put_env(b, &e, &err), 0);
	add_rec(b, TG_SPOOL_REC_DATA, content, 10);
	add_rec(b, TG_SPOOL_REC_DATA, content + 10, 1);
	add_rec(b, TG_SPOOL_REC_DATA, content + 11, sizeof(content) - 12);
	add_end(b);
}

/* Offsets of every record of a valid object. */
static size_t
boundaries(const struct tg_buf *b, size_t *out, size_t max)
{
	size_t off = TG_SPOOL_REC_MAGIC_LEN, n = 0;
	uint32_t len;
	int type;

	while (off < b->len && n < max) {
		out[n++] = off;
		tg_spool_rec_hdr_get((const uint8_t *)b->data + off, &type,
		    &len);
		off += TG_SPOOL_REC_HDR + len;
	}
	assert_int_equal(off, b->len);
	return n;
}

static void
test_valid_object(void **state)
{
	struct tg_spool_rec_info info;
	struct tg_spool_env env;
	struct tg_err err;
	struct tg_buf b;
	size_t bnd[64], n;

	(void)state;
	build(&b, "01ARZ3NDEKTSV4RRFF");
	assert_int_equal(tg_spool_rec_parse_mem(b.data, b.len, &env, &info,
	    &err), 0);
	assert_string_equal(env.qid, "01ARZ3NDEKTSV4RRFF");
	assert_int_equal(env.arrival, 1800000000);
	assert_string_equal(env.sender, "s@example.com");
	assert_string_equal(env.rcpt[0].orcpt, "rfc822;a@example.org");
	assert_null(env.rcpt[1].orcpt);
	assert_null(env.client_name);
	assert_int_equal(info.data_size, sizeof(content) - 1);
	n = boundaries(&b, bnd, 64);
	assert_int_equal(info.end_off, bnd[n - 1]);
	assert_int_equal(info.data_off, bnd[n - 4]);
	tg_spool_env_clear(&env);
	tg_spool_env_clear(&env);
	tg_buf_free(&b);
}

/* ---- The Q-04 table ----------------------------------------------------- */

enum mut { TRUNC, FLIP, SETLEN, ZERO_END, APPEND, EMPTY, RENAMED };

struct spec {
	enum mut kind;
	size_t at;		/* offset */
	uint32_t val;		/* FLIP: xor mask; SETLEN: new length */
};

/* Apply s to a fresh valid object for qid; the result is in b. */
static void
mutate(struct tg_buf *b, const char *qid, const struct spec *s)
{
	uint8_t *p;
	size_t k;

	build(b, s->kind == RENAMED ? "0000000000000000ZZ" : qid);
	p = (uint8_t *)b->data;
	switch (s->kind) {
	case TRUNC: b->len = s->at; break;
	case FLIP: p[s->at] ^= (uint8_t)s->val; break;
	case SETLEN:
		for (k = 0; k < 4; k++)
			p[s->at + 1 + k] = (uint8_t)(s->val >> (24 - 8 * k));
		break;
	case ZERO_END:
		memset(p + s->at, 0, b->len - s->at);
		break;
	case APPEND: assert_int_equal(tg_buf_append(b, "\0", 1), 0); break;
	case EMPTY: b->len = 0; break;
	case RENAMED: break;
	}
}

static size_t
make_specs(struct spec *sp, size_t max)
{
	struct tg_buf b;
	size_t bnd[64], nb, i, n = 0;
	uint32_t len;
	int type;

	build(&b, "01ARZ3NDEKTSV4RRFF");
	nb = boundaries(&b, bnd, 64);
	for (i = 0; i < nb && n + 12 < max; i++) {
		tg_spool_rec_hdr_get((uint8_t *)b.data + bnd[i], &type, &len);
		sp[n++] = (struct spec){ TRUNC, bnd[i], 0 }; /* at boundary */
		sp[n++] = (struct spec){ TRUNC, bnd[i] + 1, 0 };
		sp[n++] = (struct spec){ TRUNC, bnd[i] + 4, 0 };
		sp[n++] = (struct spec){ TRUNC, bnd[i] + 5, 0 };
		if (len > 1)
			sp[n++] = (struct spec){ TRUNC, bnd[i] + 5 + len / 2,
			    0 };
		sp[n++] = (struct spec){ TRUNC, bnd[i] + 5 + len - 1, 0 };
		sp[n++] = (struct spec){ SETLEN, bnd[i], 0xffffffffu };
		sp[n++] = (struct spec){ SETLEN, bnd[i], 0x7fffffffu };
		sp[n++] = (struct spec){ SETLEN, bnd[i], len + 1 };
		if (len > 0)
			sp[n++] = (struct spec){ SETLEN, bnd[i], len - 1 };
	}
	for (i = 1; i < TG_SPOOL_REC_MAGIC_LEN; i++)
		sp[n++] = (struct spec){ TRUNC, i, 0 };
	sp[n++] = (struct spec){ ZERO_END, bnd[nb - 1], 0 };	/* END wiped */
	sp[n++] = (struct spec){ APPEND, 0, 0 };
	sp[n++] = (struct spec){ EMPTY, 0, 0 };
	sp[n++] = (struct spec){ RENAMED, 0, 0 };
	for (i = 0; i < b.len && n + 2 < max; i++) {
		sp[n++] = (struct spec){ FLIP, i, 0x01 };
		sp[n++] = (struct spec){ FLIP, i, 0x80 };
	}
	tg_buf_free(&b);
	return n;
}

static void
expect_corrupt(const void *p, size_t n, const char *what, size_t idx)
{
	struct tg_spool_rec_info info;
	struct tg_spool_env env;
	struct tg_err err;

	if (tg_spool_rec_parse_mem(p, n, &env, &info, &err) == 0)
		fail_msg("%s %zu: accepted", what, idx);
	assert_int_equal(err.cls, TG_ERR_PERM);
	assert_null(env.sender);		/* cleared on failure */
}

static void
test_corrupt_table_parser(void **state)
{
	static struct spec specs[2048];
	struct tg_buf b;
	size_t n, i;

	(void)state;
	n = make_specs(specs, 2048);
	assert_true(n > 500);
	for (i = 0; i < n; i++) {
		mutate(&b, "01ARZ3NDEKTSV4RRFF", &specs[i]);
		if (specs[i].kind == RENAMED) {
			/* Valid bytes of another message: only the file
			 * name gives it away (tested on disk below). */
			struct tg_spool_rec_info info;
			struct tg_spool_env env;

			assert_int_equal(tg_spool_rec_parse_mem(b.data, b.len,
			    &env, &info, NULL), 0);
			assert_string_equal(env.qid, "0000000000000000ZZ");
			tg_spool_env_clear(&env);
		} else
			expect_corrupt(b.data, b.len, "spec", i);
		tg_buf_free(&b);
	}
}

/* Objects with a correct checksum but a wrong structure. */
static void
test_structure_with_good_checksum(void **state)
{
	static const uint8_t rbad_alen[] = { 0, 0, 50, 'a', 0, 0 };
	static const uint8_t rbad_olen[] = { 0, 0, 1, 'a', 0, 9, 'x' };
	static const uint8_t rnever[] = { 0x03, 0, 1, 'a', 0, 0 };
	static const uint8_t rok[] = { 0, 0, 1, 'a', 0, 0 };
	static const uint8_t t8[8], f4[4], bigflags[4] = { 0, 0, 1, 0 };
	const char *qid = "01ARZ3NDEKTSV4RRFF";
	struct tg_buf b;
	int c;

	(void)state;
	for (c = 0; c < 14; c++) {
		tg_buf_init(&b, 1 << 16);
		tg_buf_append(&b, TG_SPOOL_REC_MAGIC, TG_SPOOL_REC_MAGIC_LEN);
		if (c != 0)			/* 0: no queue id at all */
			add_rec(&b, 'Q', qid, TG_SPOOL_QID_LEN);
		if (c != 1)			/* 1: no arrival */
			add_rec(&b, 'T', t8, 8);
		add_rec(&b, 'S', c == 2 ? "a\rb" : "s", c == 2 ? 3 : 1);
		add_rec(&b, 'F', c == 3 ? bigflags : f4, 4);
		if (c == 4)
			add_rec(&b, 'S', "s", 1);	/* repeated */
		if (c == 5)
			add_rec(&b, 'R', rbad_alen, sizeof(rbad_alen));
		else if (c == 6)
			add_rec(&b, 'R', rbad_olen, sizeof(rbad_olen));
		else if (c == 7)
			add_rec(&b, 'R', rnever, sizeof(rnever));
		else if (c != 8)			/* 8: no recipient */
			add_rec(&b, 'R', rok, sizeof(rok));
		add_rec(&b, 'D', "hello", 5);
		if (c == 9)
			add_rec(&b, 'H', "late", 4);	/* after content */
		if (c == 10)
			add_rec(&b, 'X', "?", 1);	/* unknown type */
		if (c == 11)
			add_rec(&b, 'D', "", 0);	/* empty data record */
		if (c == 12)
			add_rec(&b, 'E', "\x07", 1);	/* bad RET */
		if (c == 13)
			add_rec(&b, 'H', "nul\0x", 5);
		add_end(&b);
		expect_corrupt(b.data, b.len, "structure case", (size_t)c);
		tg_buf_free(&b);
	}
}

/* The skeleton of the cases above, with nothing wrong, is accepted. */
static void
test_minimal_object(void **state)
{
	static const uint8_t rok[] = { 0, 0, 1, 'a', 0, 0 };
	static const uint8_t t8[8], f4[4];
	struct tg_spool_rec_info info;
	struct tg_spool_env env;
	struct tg_err err;
	struct tg_buf b;

	(void)state;
	tg_buf_init(&b, 1 << 16);
	tg_buf_append(&b, TG_SPOOL_REC_MAGIC, TG_SPOOL_REC_MAGIC_LEN);
	add_rec(&b, 'Q', "01ARZ3NDEKTSV4RRFF", TG_SPOOL_QID_LEN);
	add_rec(&b, 'T', t8, 8);
	add_rec(&b, 'S', "", 0);
	add_rec(&b, 'F', f4, 4);
	add_rec(&b, 'R', rok, sizeof(rok));
	add_end(&b);
	assert_int_equal(tg_spool_rec_parse_mem(b.data, b.len, &env, &info,
	    &err), 0);
	assert_string_equal(env.sender, "");
	assert_string_equal(env.rcpt[0].addr, "a");
	assert_int_equal(info.data_size, 0);
	assert_int_equal(info.data_off, info.end_off);
	tg_spool_env_clear(&env);
	tg_buf_free(&b);
}

/* ---- The table on disk: start-up quarantine ------------------------------ */

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

struct events {
	int quarantined, corrupt, other;
};

static void
on_event(void *arg, enum tg_spool_event ev, const char *name,
    const char *detail)
{
	struct events *e = arg;

	(void)name;
	(void)detail;
	if (ev == TG_SPOOL_EV_QUARANTINED)
		e->quarantined++;
	else if (ev == TG_SPOOL_EV_CORRUPT)
		e->corrupt++;
	else
		e->other++;
}

static void
write_at(const char *dir, const char *sub, const char *name, const void *p,
    size_t n)
{
	char path[256];
	FILE *fp;

	if (snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name) >=
	    (int)sizeof(path))
		fail_msg("path too long");
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(p, 1, n, fp), n);
	fclose(fp);
}

/* 1 if dir/sub/name holds exactly p[0..n). */
static int
same_file(const char *dir, const char *sub, const char *name, const void *p,
    size_t n)
{
	char path[256];
	uint8_t *b = malloc(n + 1);
	size_t got;
	FILE *fp;
	int ok;

	if (snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name) >=
	    (int)sizeof(path))
		fail_msg("path too long");
	if ((fp = fopen(path, "rb")) == NULL) {
		free(b);
		return 0;
	}
	got = fread(b, 1, n + 1, fp);
	fclose(fp);
	ok = got == n && memcmp(b, p, n) == 0;
	free(b);
	return ok;
}

static void
test_corrupt_table_on_disk(void **state)
{
	static struct spec specs[2048];
	static char ids[2048][TG_SPOOL_QID_LEN + 1];
	char dir[64] = "/tmp/tg-spoolrec-XXXXXX", good[TG_SPOOL_QID_LEN + 1];
	struct events ev = { 0, 0, 0 };
	struct tg_spool_opts o = { TG_SPOOL_READONLY, 0, NULL, on_event, &ev };
	struct tg_spool *sp;
	struct tg_spool_msg *m;
	struct tg_err err;
	struct tg_buf b;
	size_t n, i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(tg_spool_open(dir, NULL, &sp, &err), 0);
	tg_spool_free(sp);
	n = make_specs(specs, 2048);
	for (i = 0; i < n; i++) {
		tg_spool_qid_new(ids[i]);
		mutate(&b, ids[i], &specs[i]);
		write_at(dir, "queue", ids[i], b.data, b.len);
		tg_buf_free(&b);
	}
	tg_spool_qid_new(good);
	build(&b, good);
	write_at(dir, "queue", good, b.data, b.len);
	tg_buf_free(&b);
	/* Read-only (the CLI) reports and leaves everything in place. */
	assert_int_equal(tg_spool_open(dir, &o, &sp, &err), 0);
	assert_int_equal(ev.corrupt, (int)n);
	assert_int_equal(tg_spool_count(sp), 1);
	tg_spool_free(sp);
	/* The owner moves each to corrupt/, byte for byte, and goes on. */
	o.flags = 0;
	assert_int_equal(tg_spool_open(dir, &o, &sp, &err), 0);
	assert_int_equal(ev.quarantined, (int)n);
	assert_int_equal(ev.other, 0);
	assert_int_equal(tg_spool_count(sp), 1);
	for (i = 0; i < n; i++) {
		mutate(&b, ids[i], &specs[i]);
		if (!same_file(dir, "corrupt", ids[i], b.data, b.len))
			fail_msg("spec %zu: not in corrupt/ unchanged", i);
		tg_buf_free(&b);
		assert_int_equal(tg_spool_msg_open(sp, ids[i], &m, &err),
		    TG_SPOOL_NOTFOUND);
	}
	assert_int_equal(tg_spool_msg_open(sp, good, &m, &err), 0);
	tg_spool_msg_close(&m, &err);
	tg_spool_free(sp);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Damage after start-up is caught when the message is opened. */
static void
test_corrupt_at_open(void **state)
{
	char dir[64] = "/tmp/tg-spoolrec-XXXXXX", qid[TG_SPOOL_QID_LEN + 1];
	struct tg_spool_rcpt r = { "x@example.org", NULL, 0 };
	struct tg_spool_env env;
	struct events ev = { 0, 0, 0 };
	struct tg_spool_opts o = { 0, 0, NULL, on_event, &ev };
	struct tg_spool_wmsg *w;
	struct tg_spool_msg *m;
	struct tg_spool *sp;
	struct tg_err err;
	char path[128];
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(tg_spool_open(dir, &o, &sp, &err), 0);
	memset(&env, 0, sizeof(env));
	env.sender = "s@example.com";
	env.rcpt = &r;
	env.nrcpt = 1;
	assert_int_equal(tg_spool_begin(sp, &env, &w, &err), 0);
	assert_int_equal(tg_spool_write(w, "content\r\n", 9, &err), 0);
	assert_int_equal(tg_spool_commit(&w, qid, &err), 0);
	snprintf(path, sizeof(path), "%s/queue/%s", dir, qid);
	assert_non_null(fp = fopen(path, "r+b"));
	fseek(fp, -40, SEEK_END);		/* inside the content */
	fputc('X', fp);
	fclose(fp);
	assert_int_equal(tg_spool_msg_open(sp, qid, &m, &err), -1);
	assert_int_equal(err.cls, TG_ERR_PERM);
	assert_null(m);
	assert_int_equal(ev.quarantined, 1);
	assert_int_equal(tg_spool_count(sp), 0);
	snprintf(path, sizeof(path), "%s/corrupt/%s", dir, qid);
	assert_int_equal(access(path, F_OK), 0);
	tg_spool_free(sp);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- Hostile bytes ------------------------------------------------------- */

static uint32_t rng = 2463534242u;

static uint32_t
xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void
test_fuzz(void **state)
{
	struct tg_spool_rec_info info;
	struct tg_spool_env env;
	struct tg_buf base;
	uint8_t *p;
	size_t n, k, i;
	int it, rc;

	(void)state;
	build(&base, "01ARZ3NDEKTSV4RRFF");
	p = malloc(base.len + 64);
	for (it = 0; it < 20000; it++) {
		memcpy(p, base.data, base.len);
		n = base.len;
		k = 1 + xorshift() % 8;
		for (i = 0; i < k; i++)
			p[xorshift() % n] = (uint8_t)xorshift();
		if (xorshift() % 4 == 0)
			n = xorshift() % (n + 1);
		if (xorshift() % 8 == 0)
			for (i = 0; i < 64; i++)	/* records of noise */
				p[TG_SPOOL_REC_MAGIC_LEN + i] =
				    (uint8_t)xorshift();
		rc = tg_spool_rec_parse_mem(p, n, &env, &info, NULL);
		if (n == base.len && memcmp(p, base.data, n) == 0)
			assert_int_equal(rc, 0);
		else
			assert_int_equal(rc, -1);
		tg_spool_env_clear(&env);
	}
	free(p);
	tg_buf_free(&base);
}

/* ---- The journal parser ------------------------------------------------- */

static size_t
jnl_build(uint8_t *out, const char *qid)
{
	struct tg_spool_rcpt_state st;
	size_t n = 0;

	memcpy(out, TG_SPOOL_JNL_MAGIC, TG_SPOOL_JNL_MAGIC_LEN);
	memcpy(out + TG_SPOOL_JNL_MAGIC_LEN, qid, TG_SPOOL_QID_LEN);
	n = TG_SPOOL_JNL_HEAD;
	memset(&st, 0, sizeof(st));
	st.state = TG_SPOOL_DEFERRED;
	st.attempts = 1;
	st.next_attempt = 99;
	snprintf(st.reason, sizeof(st.reason), "451 later");
	n += tg_spool_jnl_encode(out + n, TG_SPOOL_JNL_STATE, 1, &st);
	st.state = TG_SPOOL_DELIVERED;
	st.reason[0] = '\0';
	n += tg_spool_jnl_encode(out + n, TG_SPOOL_JNL_STATE, 0, &st);
	st.state = (enum tg_spool_rstate)1;
	n += tg_spool_jnl_encode(out + n, TG_SPOOL_JNL_HOLD, 0, &st);
	return n;
}

static void
test_journal_parse(void **state)
{
	const char *qid = "01ARZ3NDEKTSV4RRFF";
	struct tg_spool_rcpt_state rs[2];
	uint8_t j[4096];
	size_t n, cut, v, r1, r2;
	int held;

	(void)state;
	n = jnl_build(j, qid);
	memset(rs, 0, sizeof(rs));
	held = 0;
	assert_int_equal(tg_spool_jnl_parse(j, n, qid, rs, 2, &held), n);
	assert_int_equal(rs[0].state, TG_SPOOL_DELIVERED);
	assert_int_equal(rs[1].state, TG_SPOOL_DEFERRED);
	assert_int_equal(rs[1].next_attempt, 99);
	assert_string_equal(rs[1].reason, "451 later");
	assert_int_equal(held, 1);
	/* Torn at every length: only whole records count. */
	r1 = TG_SPOOL_JNL_HEAD + TG_SPOOL_JNL_FIXED + 9;
	r2 = r1 + TG_SPOOL_JNL_FIXED;
	for (cut = 0; cut < n; cut++) {
		memset(rs, 0, sizeof(rs));
		held = 0;
		v = tg_spool_jnl_parse(j, cut, qid, rs, 2, &held);
		assert_true(v <= cut);
		assert_int_equal(rs[1].state, cut >= r1 ? TG_SPOOL_DEFERRED :
		    TG_SPOOL_PENDING);
		assert_int_equal(rs[0].state, cut >= r2 ? TG_SPOOL_DELIVERED :
		    TG_SPOOL_PENDING);
		assert_int_equal(held, 0);
	}
	/* Another message's journal, a bad CRC, an index out of range. */
	memset(rs, 0, sizeof(rs));
	assert_int_equal(tg_spool_jnl_parse(j, n, "01ARZ3NDEKTSV4RRFG", rs, 2,
	    &held), 0);
	j[r1 + 10] ^= 1;			/* record 2's attempts */
	assert_int_equal(tg_spool_jnl_parse(j, n, qid, rs, 2, &held), r1);
	j[r1 + 10] ^= 1;
	j[TG_SPOOL_JNL_HEAD + 30] ^= 0x20;	/* record 1's reason */
	assert_int_equal(tg_spool_jnl_parse(j, n, qid, rs, 2, &held),
	    TG_SPOOL_JNL_HEAD);
	j[TG_SPOOL_JNL_HEAD + 30] ^= 0x20;
	assert_int_equal(tg_spool_jnl_parse(j, n, qid, rs, 2, &held), n);
	memset(rs, 0, sizeof(rs));
	assert_int_equal(tg_spool_jnl_parse(j, n, qid, rs, 1, &held),
	    TG_SPOOL_JNL_HEAD);			/* recipient 1 of 1 */
	assert_int_equal(rs[0].state, TG_SPOOL_PENDING);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_object),
		cmocka_unit_test(test_corrupt_table_parser),
		cmocka_unit_test(test_structure_with_good_checksum),
		cmocka_unit_test(test_minimal_object),
		cmocka_unit_test(test_corrupt_table_on_disk),
		cmocka_unit_test(test_corrupt_at_open),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_journal_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
