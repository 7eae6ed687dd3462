/*
 * Unit tests for smtp/dotstuff, the DATA decoder: a table of messages,
 * every SMTP smuggling variant of RELIABILITY I-01 (CVE-2023-51764/
 * 51765/51766) split at every byte offset and fed one byte at a time,
 * header limits, and a deterministic random comparison against a
 * straightforward reference decoder with random splits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/dotstuff.h"

struct result {
	unsigned char out[8192];
	size_t outlen;
	size_t consumed;
	unsigned flags;
	int done;
};

/* Feed in[0..n) in pieces cut at the offsets cuts[0..ncuts) (ascending). */
static void
decode_cut(const void *in, size_t n, const size_t *cuts, size_t ncuts,
    const struct tg_dotstuff_limits *lim, struct result *r)
{
	struct tg_dotstuff d;
	const unsigned char *p = in;
	unsigned char tmp[8192];
	size_t start = 0, i, end, used, o;

	memset(r, 0, sizeof(*r));
	tg_dotstuff_init(&d, lim);
	for (i = 0; i <= ncuts; i++) {
		end = i < ncuts ? cuts[i] : n;
		if (end < start)
			continue;
		assert_true(end - start <= sizeof(tmp));
		used = tg_dotstuff_feed(&d, p + start, end - start, tmp, &o);
		assert_true(used <= end - start);
		assert_true(o <= end - start);
		assert_true(r->outlen + o <= sizeof(r->out));
		memcpy(r->out + r->outlen, tmp, o);
		r->outlen += o;
		r->consumed += used;
		if (used < end - start) {
			assert_true(tg_dotstuff_done(&d));
			break;
		}
		start = end;
	}
	r->flags = d.flags;
	r->done = tg_dotstuff_done(&d);
	assert_int_equal(d.in_bytes, r->consumed);
	assert_int_equal(d.out_bytes, r->outlen);
}

static void
decode_whole(const void *in, size_t n, struct result *r)
{
	decode_cut(in, n, NULL, 0, NULL, r);
}

static void
decode_bytewise(const void *in, size_t n, struct result *r)
{
	size_t cuts[4096], i;

	assert_true(n <= 4096);
	for (i = 0; i < n; i++)
		cuts[i] = i + 1;
	decode_cut(in, n, cuts, n, NULL, r);
}

static void
assert_same(const struct result *a, const struct result *b)
{
	assert_int_equal(a->done, b->done);
	assert_int_equal(a->consumed, b->consumed);
	assert_int_equal(a->flags & TG_DOTSTUFF_BAD,
	    b->flags & TG_DOTSTUFF_BAD);
	if (!(a->flags & TG_DOTSTUFF_BAD)) {
		assert_int_equal(a->outlen, b->outlen);
		assert_memory_equal(a->out, b->out, a->outlen);
	}
}

/* ---- table ------------------------------------------------------------ */

struct dcase {
	const char *name;
	const char *in;
	size_t inlen;		/* 0: strlen */
	const char *out;	/* expected content (when not bad) */
	long consumed;		/* -1: everything, not done */
	unsigned flags;		/* expected BAD flags */
};

#define L(s) s, sizeof(s) - 1

static const struct dcase dcases[] = {
	{ "empty message", L(".\r\nNEXT"), "", 3, 0 },
	{ "one line", L("hi\r\n.\r\n"), "hi\r\n", 7, 0 },
	{ "header and body", L("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n"),
	    "Subject: x\r\n\r\nbody\r\n", 23, 0 },
	{ "dot-stuffed line", L("a\r\n..b\r\n.\r\n"), "a\r\n.b\r\n", 11, 0 },
	{ "two dots alone", L("..\r\n.\r\n"), ".\r\n", 7, 0 },
	{ "first line stuffed", L("..x\r\n.\r\n"), ".x\r\n", 8, 0 },
	{ "dot inside a line", L("a.b\r\n.\r\n"), "a.b\r\n", 8, 0 },
	{ "dot then text", L(".x\r\n.\r\n"), "x\r\n", 7, 0 },
	{ "no end yet", L("abc\r\n"), "abc\r\n", -1, 0 },
	{ "pending CR", L("abc\r"), "abc\r", -1, 0 },
	{ "pending dot", L("abc\r\n."), "abc\r\n", -1, 0 },
	{ "pending dot CR", L("abc\r\n.\r"), "abc\r\n", -1, 0 },
	{ "8-bit and UTF-8", L("\xc3\xa9\xff\r\n.\r\n"), "\xc3\xa9\xff\r\n",
	    8, 0 },
	{ "bare LF in body", L("a\nb\r\n.\r\n"), NULL, 8, TG_DOTSTUFF_BARE_LF },
	{ "bare CR in body", L("a\rb\r\n.\r\n"), NULL, 8, TG_DOTSTUFF_BARE_CR },
	{ "CR CR LF", L("a\r\r\n.\r\n"), NULL, 7, TG_DOTSTUFF_BARE_CR },
	{ "NUL", "a\0b\r\n.\r\n", 8, NULL, 8, TG_DOTSTUFF_NUL },
	{ "LF dot LF is no end", L("a\n.\nb\r\n.\r\n"), NULL, 10,
	    TG_DOTSTUFF_BARE_LF },
	{ "dot CR x", L("a\r\n.\rx\r\n.\r\n"), NULL, 11,
	    TG_DOTSTUFF_BARE_CR },
	{ "dot LF", L("a\r\n.\n.\r\n"), NULL, -1, TG_DOTSTUFF_BARE_LF },
	{ "dot LF then end", L("a\r\n.\n\r\n.\r\n"), NULL, 10,
	    TG_DOTSTUFF_BARE_LF },
};

static void
run_dcase(const struct dcase *c)
{
	size_t n = c->inlen != 0 ? c->inlen : strlen(c->in);
	struct result whole, bytes, split;
	size_t cut;

	decode_whole(c->in, n, &whole);
	assert_int_equal(whole.done, c->consumed >= 0);
	assert_int_equal(whole.consumed,
	    c->consumed >= 0 ? (size_t)c->consumed : n);
	assert_int_equal(whole.flags & TG_DOTSTUFF_BAD, c->flags);
	if (c->out != NULL) {
		assert_int_equal(whole.outlen, strlen(c->out));
		assert_memory_equal(whole.out, c->out, whole.outlen);
	}
	decode_bytewise(c->in, n, &bytes);
	assert_same(&whole, &bytes);
	for (cut = 0; cut <= n; cut++) {
		decode_cut(c->in, n, &cut, 1, NULL, &split);
		assert_same(&whole, &split);
	}
}

static void
test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		print_message("# %s\n", dcases[i].name);
		run_dcase(&dcases[i]);
	}
}

/* ---- RELIABILITY I-01: the smuggling variants -------------------------- */

static const struct {
	const char *name;
	const char *seq;
	size_t len;
	unsigned flag;
} smug[] = {
	{ "LF.LF", L("\n.\n"), TG_DOTSTUFF_BARE_LF },
	{ "LF.CRLF", L("\n.\r\n"), TG_DOTSTUFF_BARE_LF },
	{ "CRLF.LF", L("\r\n.\n"), TG_DOTSTUFF_BARE_LF },
	{ "CR.CR", L("\r.\r"), TG_DOTSTUFF_BARE_CR },
	{ "CRLF.CR", L("\r\n.\r"), TG_DOTSTUFF_BARE_CR },
	{ "CR.CRLF", L("\r.\r\n"), TG_DOTSTUFF_BARE_CR },
	{ "LF.CR", L("\n.\r"), TG_DOTSTUFF_BARE_LF },
	{ "CRLF NUL .CRLF", "\r\n\0.\r\n", 6, TG_DOTSTUFF_NUL },
};

static const char smug_head[] = "From: a@example.org\r\nSubject: s\r\n\r\nhi";
static const char smug_tail[] = "MAIL FROM:<ceo@example.org>\r\n"
    "RCPT TO:<victim@example.net>\r\nDATA\r\nFrom: ceo@example.org\r\n"
    "\r\nsmuggled\r\n";
static const char smug_end[] = "\r\n.\r\n";
static const char smug_next[] = "QUIT\r\n";

/* head + variant + tail + end + next. Returns the length; *endpos is the
 * offset just after the real end of data. */
static size_t
smug_build(size_t k, unsigned char *buf, size_t *endpos)
{
	size_t n = 0;

	memcpy(buf + n, smug_head, strlen(smug_head));
	n += strlen(smug_head);
	memcpy(buf + n, smug[k].seq, smug[k].len);
	n += smug[k].len;
	memcpy(buf + n, smug_tail, strlen(smug_tail));
	n += strlen(smug_tail);
	memcpy(buf + n, smug_end, strlen(smug_end));
	n += strlen(smug_end);
	*endpos = n;
	memcpy(buf + n, smug_next, strlen(smug_next));
	return n + strlen(smug_next);
}

static void
test_smuggling(void **state)
{
	unsigned char buf[512];
	struct result whole, bytes, split;
	size_t k, n, endpos, cut, cut2[2];

	(void)state;
	for (k = 0; k < sizeof(smug) / sizeof(smug[0]); k++) {
		print_message("# variant %s\n", smug[k].name);
		n = smug_build(k, buf, &endpos);
		decode_whole(buf, n, &whole);
		/* Only the real <CRLF>.<CRLF> ends the data ... */
		assert_true(whole.done);
		assert_int_equal(whole.consumed, endpos);
		/* ... and the message is marked for rejection. */
		assert_true(whole.flags & smug[k].flag);
		decode_bytewise(buf, n, &bytes);
		assert_same(&whole, &bytes);
		for (cut = 0; cut <= n; cut++) {
			decode_cut(buf, n, &cut, 1, NULL, &split);
			assert_same(&whole, &split);
		}
		/* Three pieces around the variant, every pair of cuts. */
		for (cut = strlen(smug_head) - 1;
		    cut <= strlen(smug_head) + smug[k].len + 1; cut++)
			for (cut2[1] = cut; cut2[1] <= cut + 4; cut2[1]++) {
				cut2[0] = cut;
				decode_cut(buf, n, cut2, 2, NULL, &split);
				assert_same(&whole, &split);
			}
	}
}

/* A correct message pipelined with the next commands: the decoder stops
 * exactly at its end, wherever the input was cut. */
static void
test_pipelined_end(void **state)
{
	static const char in[] = "a\r\n..\r\n.\r\nMAIL FROM:<a@b>\r\n";
	struct result r;
	size_t cut;

	(void)state;
	for (cut = 0; cut <= sizeof(in) - 1; cut++) {
		decode_cut(in, sizeof(in) - 1, &cut, 1, NULL, &r);
		assert_true(r.done);
		assert_int_equal(r.consumed, 10);
		assert_int_equal(r.outlen, 6);
		assert_memory_equal(r.out, "a\r\n.\r\n", 6);
		assert_int_equal(r.flags, 0);
	}
}

/* ---- headers (RELIABILITY I-06) ----------------------------------------- */

static void
test_headers(void **state)
{
	struct tg_dotstuff_limits lim = { 40, 100, 3, 0 };
	struct result r;

	(void)state;
	/* Within the limits; a folded field counts with its lines. */
	decode_cut(L("A: 1\r\nB: 2\r\n x\r\n\r\nbody\r\n.\r\n"), NULL, 0,
	    &lim, &r);
	assert_int_equal(r.flags, 0);
	/* Too many fields. */
	decode_cut(L("A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n.\r\n"), NULL, 0,
	    &lim, &r);
	assert_true(r.done);
	assert_true(r.flags & TG_DOTSTUFF_HDR_COUNT);
	/* One field, folded beyond its limit. */
	decode_cut(L("A: 1234567890\r\n 1234567890\r\n 1234567890\r\n"
	    " 1234567890\r\n\r\n.\r\n"), NULL, 0, &lim, &r);
	assert_true(r.flags & TG_DOTSTUFF_HDR_FIELD);
	assert_false(r.flags & TG_DOTSTUFF_HDR_COUNT);
	/* The whole section. */
	decode_cut(L("A: 123456789012345678901234567890\r\n"
	    "B: 123456789012345678901234567890\r\n"
	    "C: 123456789012345678901234567890\r\n\r\n.\r\n"), NULL, 0, &lim,
	    &r);
	assert_true(r.flags & TG_DOTSTUFF_HDR_SECTION);
	/* Body lines do not count: the header ends at the empty line. */
	decode_cut(L("A: 1\r\n\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n.\r\n"),
	    NULL, 0, &lim, &r);
	assert_int_equal(r.flags, 0);
	/* ... or at the first line that is not a field. */
	decode_cut(L("A: 1\r\nno colon here\r\nB: 2\r\nC: 3\r\nD: 4\r\n"
	    ".\r\n"), NULL, 0, &lim, &r);
	assert_int_equal(r.flags, 0);
	decode_cut(L(": empty name\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n"
	    ".\r\n"), NULL, 0, &lim, &r);
	assert_int_equal(r.flags, 0);
}

/* RFC 5321 §6.3 / Q-08: hops_max Received fields make a loop, whatever
 * their case or folding and wherever the input is cut; fields with a
 * longer or shorter name, folded lines and body lines do not count. */
static void
test_hops(void **state)
{
	struct tg_dotstuff_limits lim = { 0, 0, 0, 3 };
	static const char loop[] = "Received: a\r\nreceived: b\r\n c\r\n"
	    "RECEIVED:c\r\n\r\n.\r\n";
	static const char under[] = "Received: a\r\nReceived-SPF: x\r\n"
	    "Receive: x\r\nX-Received: x\r\n received: fold\r\n"
	    "Received: b\r\n\r\nReceived: body\r\n.\r\n";
	struct result r;
	size_t cut;

	(void)state;
	for (cut = 0; cut <= sizeof(loop) - 1; cut++) {
		decode_cut(loop, sizeof(loop) - 1, &cut, 1, &lim, &r);
		assert_true(r.done);
		assert_true(r.flags & TG_DOTSTUFF_HOPS);
		assert_false(r.flags & (TG_DOTSTUFF_BAD | TG_DOTSTUFF_HDR));
	}
	decode_cut(L(under), NULL, 0, &lim, &r);
	assert_true(r.done);
	assert_int_equal(r.flags, 0);
	/* The default: Postfix's hopcount_limit. */
	lim.hops_max = 0;
	decode_cut(L(loop), NULL, 0, &lim, &r);
	assert_int_equal(r.flags, 0);
	assert_non_null(strstr(tg_dotstuff_reason(TG_DOTSTUFF_HOPS), "loop"));
}

/* Limits near the top of the counters' range never wrap. */
static void
test_header_limits_large(void **state)
{
	struct tg_dotstuff_limits lim = { UINT64_MAX, UINT64_MAX,
	    UINT64_MAX, UINT64_MAX };
	struct result r;

	(void)state;
	decode_cut(L("A: 1\r\nB: 2\r\n\r\n.\r\n"), NULL, 0, &lim, &r);
	assert_true(r.done);
	assert_int_equal(r.flags, 0);
	assert_string_equal(tg_dotstuff_reason(0), "");
	assert_non_null(strstr(tg_dotstuff_reason(TG_DOTSTUFF_BARE_LF), "LF"));
}

/* ---- random comparison with a reference decoder ------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* The whole-input reference: end = first "\r\n.\r\n" with the DATA
 * command's CRLF in front; flags over the raw message; unstuffing. */
static void
reference(const unsigned char *in, size_t n, struct result *r)
{
	unsigned char tmp[4200];
	size_t i, m, o = 0;
	int bol = 1;

	memset(r, 0, sizeof(*r));
	tmp[0] = '\r';
	tmp[1] = '\n';
	memcpy(tmp + 2, in, n);
	for (i = 0; i + 5 <= n + 2; i++)
		if (memcmp(tmp + i, "\r\n.\r\n", 5) == 0)
			break;
	r->done = i + 5 <= n + 2;
	m = r->done ? i : n;		/* raw message bytes */
	r->consumed = r->done ? i + 3 : n;
	for (i = 0; i < m; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			r->flags |= TG_DOTSTUFF_BARE_LF;
		if (in[i] == '\r' && i + 1 < m && in[i + 1] != '\n')
			r->flags |= TG_DOTSTUFF_BARE_CR;
		if (in[i] == '\0')
			r->flags |= TG_DOTSTUFF_NUL;
	}
	for (i = 0; i < m; i++) {
		if (bol && in[i] == '.') {
			bol = 0;
			continue;
		}
		r->out[o++] = in[i];
		bol = in[i] == '\n' && i > 0 && in[i - 1] == '\r';
	}
	r->outlen = o;
}

static void
test_random(void **state)
{
	static const char alphabet[] = "\r\n.a \0:";
	unsigned char in[300];
	struct result ref, got;
	size_t cuts[8], n, i, j, k, t, iter;

	(void)state;
	for (iter = 0; iter < 20000; iter++) {
		n = 1 + rnd(sizeof(in) - 1);
		for (i = 0; i < n; i++)
			in[i] = (unsigned char)alphabet[rnd(7)];
		if (rnd(2))		/* mostly well-formed text */
			for (i = 0; i < n; i++)
				if (in[i] == '\n' || in[i] == '\0')
					in[i] = 'b';
		k = rnd(8);
		for (i = 0; i < k; i++)
			cuts[i] = rnd((unsigned)n + 1);
		for (i = 1; i < k; i++)	/* insertion sort */
			for (j = i; j > 0 && cuts[j] < cuts[j - 1]; j--) {
				t = cuts[j];
				cuts[j] = cuts[j - 1];
				cuts[j - 1] = t;
			}
		reference(in, n, &ref);
		decode_cut(in, n, cuts, k, NULL, &got);
		assert_int_equal(got.done, ref.done);
		assert_int_equal(got.consumed, ref.consumed);
		if (got.done) {
			assert_int_equal(got.flags & TG_DOTSTUFF_BAD,
			    ref.flags);
			if (ref.flags == 0) {
				assert_int_equal(got.outlen, ref.outlen);
				assert_memory_equal(got.out, ref.out,
				    ref.outlen);
			}
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_pipelined_end),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_header_limits_large),
		cmocka_unit_test(test_hops),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
