/*
 * policy/sts — see sts.h.
 */
#include "policy/sts.h"

#include <string.h>

#include "policy/txtfield.h"

/* RFC 8461 §3.1: the record starts with "v=STSv1" followed by a delimiter. */
static int
sts_is_candidate(const char *text, size_t len)
{
	static const char version[] = "v=STSv1";
	size_t vl = sizeof(version) - 1;

	if (len < vl || memcmp(text, version, vl) != 0)
		return 0;
	return len == vl || text[vl] == ';' || text[vl] == ' ' ||
	    text[vl] == '\t';
}

static int
sts_id_valid(const char *v, size_t n)
{
	size_t i;

	if (n == 0 || n > TG_STS_ID_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

int
tg_sts_txt_parse(const char *text, size_t len, struct tg_sts_txt *out,
    struct tg_err *err)
{
	struct tg_txtfield f;
	size_t pos = 0;
	int have_id = 0, first = 1;

	memset(out, 0, sizeof(*out));
	if (!sts_is_candidate(text, len))
		return tg_err_set_at(err, TG_ERR_PERM, 0,
		    "record does not start with v=STSv1");
	while (tg_txtfield_next(text, len, &pos, &f) == 1) {
		if (f.name_len == 0 || f.bad)
			return tg_err_set_at(err, TG_ERR_PERM, (long)f.offset,
			    "malformed field at offset %zu", f.offset);
		if (first) {	/* the version, checked above */
			first = 0;
			continue;
		}
		if (f.name_len == 2 && memcmp(f.name, "id", 2) == 0 &&
		    !have_id) {
			if (!sts_id_valid(f.value, f.value_len))
				return tg_err_set_at(err, TG_ERR_PERM,
				    (long)f.offset, "id must be 1 to 32 "
				    "letters or digits");
			memcpy(out->id, f.value, f.value_len);
			out->id[f.value_len] = '\0';
			have_id = 1;
		}
		/* Unknown fields are ignored (RFC 8461 §3.1). */
	}
	if (!have_id)
		return tg_err_set_at(err, TG_ERR_PERM, (long)len,
		    "record has no id field");
	return 0;
}

int
tg_sts_txt_select(const char *const *texts, const size_t *lens, size_t n,
    struct tg_sts_txt *out, struct tg_err *err)
{
	size_t i, found = 0, which = 0;

	for (i = 0; i < n; i++)
		if (sts_is_candidate(texts[i], lens[i])) {
			found++;
			which = i;
		}
	if (found == 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "no TXT record starts with v=STSv1");
	if (found > 1)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%zu TXT records start with v=STSv1; exactly one is "
		    "allowed (RFC 8461 §3.1)", found);
	return tg_sts_txt_parse(texts[which], lens[which], out, err);
}
