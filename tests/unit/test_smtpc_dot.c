/*
 * Unit tests for the content encoder of smtp/client: CRLF enforcement
 * and dot-stuffing (RELIABILITY §0.3, I-02; RFC 5321 §2.3.8, §4.5.2),
 * table-driven, each case also fed one byte at a time and in every
 * two-piece split, and an invariant check over generated input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/client.h"

struct dot_case {
	const char *name;
	const char *in;
	const char *out;	/* on the wire, with the final "." */
	size_t normalised;
};

static const struct dot_case dot_cases[] = {
	{ "empty", "", ".\r\n", 0 },
	{ "one line", "a\r\n", "a\r\n.\r\n", 0 },
	{ "no final line end", "a", "a\r\n.\r\n", 0 },
	{ "leading dot", ".a\r\n", "..a\r\n.\r\n", 0 },
	{ "dot line", "a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n", 0 },
	{ "dot at start, no end", ".", "..\r\n.\r\n", 0 },
	{ "dot inside a line", "a.b\r\n", "a.b\r\n.\r\n", 0 },
	{ "bare LF", "a\nb\n", "a\r\nb\r\n.\r\n", 2 },
	{ "bare CR", "a\rb\r", "a\r\nb\r\n.\r\n", 2 },
	{ "CR CR LF", "a\r\r\n", "a\r\n\r\n.\r\n", 1 },
	{ "LF CR", "a\n\rb", "a\r\n\r\nb\r\n.\r\n", 2 },
	/* SMTP smuggling payloads (SEC Consult 2023): none may end the
	 * data early; every dot after any line end is stuffed. */
	{ "LF dot CRLF", "x\n.\r\nMAIL FROM:<e@v>\r\n",
	    "x\r\n..\r\nMAIL FROM:<e@v>\r\n.\r\n", 1 },
	{ "LF dot LF", "x\n.\nQUIT\n", "x\r\n..\r\nQUIT\r\n.\r\n", 3 },
	{ "CR dot CR", "x\r.\rQUIT", "x\r\n..\r\nQUIT\r\n.\r\n", 2 },
	{ "CRLF dot CR", "x\r\n.\rQUIT", "x\r\n..\r\nQUIT\r\n.\r\n", 1 },
	{ "CRLF dot LF", "x\r\n.\nQUIT", "x\r\n..\r\nQUIT\r\n.\r\n", 1 },
	{ "NUL kept", "a\0b", NULL, 0 },	/* checked separately */
};

/* Encode in pieces of at most step bytes (0: all at once). */
static size_t
encode(const char *in, size_t n, size_t step, char *out, size_t *norm)
{
	struct tg_smtpc_dot d;
	size_t off = 0, o = 0, k;

	tg_smtpc_dot_init(&d);
	if (step == 0)
		step = n > 0 ? n : 1;
	while (off < n) {
		k = n - off < step ? n - off : step;
		o += tg_smtpc_dot_feed(&d, in + off, k, out + o);
		off += k;
	}
	o += tg_smtpc_dot_end(&d, out + o);
	*norm = d.normalised;
	return o;
}

static void
check_case(const struct dot_case *c, size_t step)
{
	char out[256];
	size_t n, norm, len = strlen(c->in);

	n = encode(c->in, len, step, out, &norm);
	if (n != strlen(c->out) || memcmp(out, c->out, n) != 0)
		fail_msg("%s (step %zu): got '%.*s'", c->name, step, (int)n,
		    out);
	if (norm != c->normalised)
		fail_msg("%s (step %zu): normalised %zu, want %zu", c->name,
		    step, norm, c->normalised);
}

static void
test_dot_table(void **state)
{
	size_t i, step;

	(void)state;
	for (i = 0; i < sizeof(dot_cases) / sizeof(dot_cases[0]); i++) {
		if (dot_cases[i].out == NULL)
			continue;
		for (step = 0; step <= 3; step++)
			check_case(&dot_cases[i], step);
	}
}

/* Every two-piece split gives the same bytes as one piece. */
static void
test_dot_splits(void **state)
{
	static const char in[] = ".a\r\n.\r\r\n\n.\rb.\r\n..\n\r";
	char whole[128], split[128];
	struct tg_smtpc_dot d;
	size_t n = sizeof(in) - 1, cut, a, b, norm;

	(void)state;
	a = encode(in, n, 0, whole, &norm);
	for (cut = 0; cut <= n; cut++) {
		tg_smtpc_dot_init(&d);
		b = tg_smtpc_dot_feed(&d, in, cut, split);
		b += tg_smtpc_dot_feed(&d, in + cut, n - cut, split + b);
		b += tg_smtpc_dot_end(&d, split + b);
		assert_int_equal(a, b);
		assert_memory_equal(whole, split, a);
		assert_int_equal(d.normalised, norm);
	}
}

static void
test_dot_nul(void **state)
{
	char out[16];
	size_t n, norm;

	(void)state;
	n = encode("a\0b", 3, 0, out, &norm);
	assert_int_equal(n, 8);
	assert_memory_equal(out, "a\0b\r\n.\r\n", 8);
}

/*
 * Over pseudo-random input from {a, '.', CR, LF}: the output never
 * holds a CR not followed by LF or an LF not preceded by CR, no line
 * but the last is ".", the size bound 2n + 2 (+5 at the end) holds, and
 * undoing the stuffing gives the input with its line ends made CRLF.
 */
/* The reference: line ends made CRLF, a final one added if missing. */
static size_t
reference(const char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (in[i] == '\r' || in[i] == '\n') {
			if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
				i++;
			out[o++] = '\r';
			out[o++] = '\n';
		} else
			out[o++] = in[i];
	}
	if (o > 0 && out[o - 1] != '\n') {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	return o;
}

/* Undo dot-stuffing (RFC 5321 §4.5.2) and drop the final ".". */
static size_t
unstuff(const char *w, size_t o, char *out)
{
	size_t i, k = 0, end = o - 3;
	int bol = 1;

	for (i = 0; i < end; i++) {
		if (bol && w[i] == '.')
			i++;
		out[k++] = w[i];
		bol = w[i] == '\n';
	}
	return k;
}

static void
check_wire(const char *in, size_t n, const char *out, size_t o)
{
	char ref[2 * 64 + 4], back[2 * 64 + 8];
	size_t i, r, b, bol = 1;

	assert_true(o <= 2 * n + 2 + 5);
	assert_true(o >= 3 && memcmp(out + o - 3, ".\r\n", 3) == 0);
	assert_true(o == 3 || (out[o - 5] == '\r' && out[o - 4] == '\n'));
	for (i = 0; i < o; i++) {
		if (out[i] == '\r')
			assert_true(i + 1 < o && out[i + 1] == '\n');
		if (out[i] == '\n')
			assert_true(i > 0 && out[i - 1] == '\r');
		/* A line that is exactly "." appears only at the end. */
		if (bol && out[i] == '.' && i + 2 < o && out[i + 1] == '\r')
			assert_int_equal(i + 3, o);
		bol = out[i] == '\n';
	}
	r = reference(in, n, ref);
	b = unstuff(out, o, back);
	assert_int_equal(r, b);
	assert_memory_equal(ref, back, r);
}

static void
test_dot_random(void **state)
{
	static const char alpha[] = "a.\r\n";
	char in[64], out[2 * 64 + 8];
	unsigned seed = 12345;
	size_t round, i, n, o, norm;

	(void)state;
	for (round = 0; round < 20000; round++) {
		n = round % sizeof(in);
		for (i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = alpha[(seed >> 16) & 3];
		}
		o = encode(in, n, (round % 5), out, &norm);
		check_wire(in, n, out, o);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dot_table),
		cmocka_unit_test(test_dot_splits),
		cmocka_unit_test(test_dot_nul),
		cmocka_unit_test(test_dot_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
