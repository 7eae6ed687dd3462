/*
 * util/dname — see dname.h.
 */
#include "util/dname.h"

#include <string.h>
#include <strings.h>

static int
dname_check_label(const char *label, size_t len, struct tg_err *err)
{
	size_t i;

	if (len == 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "empty label");
	if (len > TG_LABEL_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "label '%.*s…' is longer than 63 characters", 16, label);
	for (i = 0; i < len; i++) {
		char c = label[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-';
		if (!ok)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "label '%.*s' has a character other than a letter, "
			    "digit or hyphen", (int)len, label);
	}
	if (label[0] == '-' || label[len - 1] == '-')
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "label '%.*s' starts or ends with a hyphen", (int)len,
		    label);
	return 0;
}

/* Both normalisers: a name of at least min_labels labels. */
static int
dname_normalize(const char *name, char *out, size_t outlen,
    size_t min_labels, struct tg_err *err)
{
	size_t len, i, start, labels;

	tg_err_clear(err);
	if (name == NULL || name[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL, "empty domain name");
	len = strlen(name);
	if (len > 1 && name[len - 1] == '.')
		len--;		/* an absolute name is fine */
	if (len > TG_DNAME_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "domain name is longer than %d characters", TG_DNAME_MAX);
	if (outlen < len + 1)
		return tg_err_set(err, TG_ERR_BUG, NULL, "output too small");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 0x80)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "domain name is not ASCII; give an IDN in its "
			    "A-label form (xn--...)");
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
	}
	out[len] = '\0';
	labels = 0;
	for (start = 0, i = 0; i <= len; i++) {
		if (i == len || out[i] == '.') {
			if (dname_check_label(out + start, i - start,
			    err) != 0) {
				tg_err_prefix(err, "invalid domain name '%s'",
				    out);
				return -1;
			}
			labels++;
			start = i + 1;
		}
	}
	if (labels < min_labels)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "invalid domain name '%s': a mail domain has at least two "
		    "labels", out);
	return 0;
}

int
tg_dname_normalize(const char *name, char *out, size_t outlen,
    struct tg_err *err)
{
	return dname_normalize(name, out, outlen, 2, err);
}

int
tg_dname_host_normalize(const char *name, char *out, size_t outlen,
    struct tg_err *err)
{
	return dname_normalize(name, out, outlen, 1, err);
}

int
tg_dname_is_valid(const char *name)
{
	char tmp[TG_DNAME_MAX + 1];

	if (tg_dname_normalize(name, tmp, sizeof(tmp), NULL) != 0)
		return 0;
	return strcmp(tmp, name) == 0;
}

int
tg_dname_is_subdomain(const char *name, const char *domain)
{
	size_t nl = strlen(name), dl = strlen(domain);

	if (nl < dl)
		return 0;
	if (strcasecmp(name + nl - dl, domain) != 0)
		return 0;
	return nl == dl || name[nl - dl - 1] == '.';
}
