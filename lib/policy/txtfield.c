/*
 * policy/txtfield — see txtfield.h.
 */
#include "policy/txtfield.h"

#include <string.h>

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

int
tg_txtfield_next(const char *text, size_t len, size_t *pos,
    struct tg_txtfield *f)
{
	size_t i = *pos, end, eq;

	while (i < len && (is_wsp(text[i]) || text[i] == ';'))
		i++;
	if (i >= len)
		return 0;
	memset(f, 0, sizeof(*f));
	f->offset = i;
	end = i;
	while (end < len && text[end] != ';')
		end++;
	*pos = end;
	for (eq = i; eq < end && text[eq] != '='; eq++)
		;
	f->name = text + i;
	f->name_len = eq - i;
	while (f->name_len > 0 && is_wsp(f->name[f->name_len - 1]))
		f->name_len--;
	if (eq == end || f->name_len == 0) {
		f->bad = 1;
		return 1;
	}
	f->value = text + eq + 1;
	f->value_len = end - eq - 1;
	while (f->value_len > 0 && is_wsp(f->value[0])) {
		f->value++;
		f->value_len--;
	}
	while (f->value_len > 0 && is_wsp(f->value[f->value_len - 1]))
		f->value_len--;
	for (eq = i; eq < end; eq++) {
		unsigned char c = (unsigned char)text[eq];
		if ((c < 0x20 && c != '\t') || c >= 0x7f)
			f->bad = 1;
	}
	return 1;
}

int
tg_txtfield_has_version(const char *text, size_t len, const char *version)
{
	size_t vl = strlen(version);

	if (len < vl || memcmp(text, version, vl) != 0)
		return 0;
	return len == vl || text[vl] == ';' || is_wsp(text[vl]);
}

int
tg_txtfield_select(const char *const *texts, const size_t *lens, size_t n,
    const char *version, const char *rfc, size_t *which, struct tg_err *err)
{
	size_t i, found = 0;

	for (i = 0; i < n; i++)
		if (tg_txtfield_has_version(texts[i], lens[i], version)) {
			found++;
			*which = i;
		}
	if (found == 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "no TXT record starts with %s", version);
	if (found > 1)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%zu TXT records start with %s; exactly one is allowed "
		    "(%s)", found, version, rfc);
	return 0;
}
