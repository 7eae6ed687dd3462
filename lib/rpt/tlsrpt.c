/*
 * rpt/tlsrpt — see tlsrpt.h.
 */
#include "rpt/tlsrpt.h"

#include <string.h>
#include <strings.h>

#include "policy/txtfield.h"

static int
tlsrpt_is_candidate(const char *text, size_t len)
{
	return tg_txtfield_has_version(text, len, "v=TLSRPTv1");
}

/* RFC 8460 §3: tlsrpt-uri is a mailto: (RFC 6068) or https: URI. */
static int
tlsrpt_uri_ok(const char *u, size_t n)
{
	size_t i;

	if (!(n > 7 && strncasecmp(u, "mailto:", 7) == 0) &&
	    !(n > 8 && strncasecmp(u, "https://", 8) == 0))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
			return 0;
	return 1;
}

static int
tlsrpt_parse_rua(const char *v, size_t n, size_t offset,
    struct tg_tlsrpt_txt *out, struct tg_err *err)
{
	size_t i = 0, start, end;

	while (i <= n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		start = i;
		while (i < n && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (!tlsrpt_uri_ok(v + start, end - start))
			return tg_err_set_at(err, TG_ERR_PERM, (long)offset,
			    "rua entry '%.*s' is not a mailto: or https: URI",
			    (int)(end - start > 80 ? 80 : end - start),
			    v + start);
		if (end - start >= TG_TLSRPT_URI_MAX)
			return tg_err_set_at(err, TG_ERR_PERM, (long)offset,
			    "rua URI longer than %d characters",
			    TG_TLSRPT_URI_MAX - 1);
		if (out->rua_count < TG_TLSRPT_RUA_MAX) {
			memcpy(out->rua[out->rua_count], v + start,
			    end - start);
			out->rua[out->rua_count][end - start] = '\0';
			out->rua_count++;
		}
		i++;	/* past the comma, or past the end */
	}
	return 0;
}

int
tg_tlsrpt_txt_parse(const char *text, size_t len, struct tg_tlsrpt_txt *out,
    struct tg_err *err)
{
	struct tg_txtfield f;
	size_t pos = 0;
	int first = 1, have_rua = 0;

	memset(out, 0, sizeof(*out));
	if (!tlsrpt_is_candidate(text, len))
		return tg_err_set_at(err, TG_ERR_PERM, 0,
		    "record does not start with v=TLSRPTv1");
	while (tg_txtfield_next(text, len, &pos, &f) == 1) {
		if (f.bad)
			return tg_err_set_at(err, TG_ERR_PERM, (long)f.offset,
			    "malformed field at offset %zu", f.offset);
		if (first) {
			first = 0;
			continue;
		}
		if (f.name_len == 3 && memcmp(f.name, "rua", 3) == 0 &&
		    !have_rua) {
			if (tlsrpt_parse_rua(f.value, f.value_len, f.offset,
			    out, err) != 0)
				return -1;
			have_rua = 1;
		}
	}
	if (!have_rua)
		return tg_err_set_at(err, TG_ERR_PERM, (long)len,
		    "record has no rua field");
	return 0;
}

int
tg_tlsrpt_txt_select(const char *const *texts, const size_t *lens,
    size_t n, struct tg_tlsrpt_txt *out, struct tg_err *err)
{
	size_t which;

	if (tg_txtfield_select(texts, lens, n, "v=TLSRPTv1", "RFC 8460 §3",
	    &which, err) != 0)
		return -1;
	return tg_tlsrpt_txt_parse(texts[which], lens[which], out, err);
}
