/*
 * store/store_check — value checks and enum names of the store (pure: no
 * sqlite, no I/O). See store.h for the rules each value follows; every
 * message starts with the field name so a person knows what to fix.
 */
#include "store/store_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/dname.h"

static const char *const sts_mode_names[] = {
	"off", "none", "testing", "enforce"
};
static const char *const dest_mode_names[] = {
	"may", "encrypt", "dane-only"
};
static const char *const cert_role_names[] = { "mx", "sts", "admin" };
static const char *const cert_state_names[] = {
	"next", "current", "retired"
};
static const char *const tlsa_state_names[] = {
	"none", "published", "visible", "retiring", "removed"
};

#define ENUM(field, names) { field, names, sizeof(names) / sizeof(names[0]) }
const struct tg_store_enum tg_store_enum_sts_mode =
    ENUM("sts_mode", sts_mode_names);
const struct tg_store_enum tg_store_enum_dest_mode =
    ENUM("mode", dest_mode_names);
const struct tg_store_enum tg_store_enum_cert_role =
    ENUM("role", cert_role_names);
const struct tg_store_enum tg_store_enum_cert_state =
    ENUM("state", cert_state_names);
const struct tg_store_enum tg_store_enum_tlsa_state =
    ENUM("tlsa_state", tlsa_state_names);
#undef ENUM

const char *
tg_store_enum_name(const struct tg_store_enum *e, int v)
{
	if (v < 0 || (size_t)v >= e->count)
		return "invalid";
	return e->names[v];
}

int
tg_store_enum_parse(const struct tg_store_enum *e, const char *s, int *out,
    struct tg_err *err)
{
	char list[128] = "";
	size_t i, used = 0;

	for (i = 0; s != NULL && i < e->count; i++) {
		if (strcmp(s, e->names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	for (i = 0; i < e->count && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used,
		    "%s%s", i > 0 ? ", " : "", e->names[i]);
	return tg_err_set(err, TG_ERR_PERM, NULL, "%s: '%.64s' is not one of "
	    "%s", e->field, s != NULL ? s : "", list);
}

#define ENUM_API(type, fn, table)					\
const char *								\
tg_store_##fn##_name(enum type v)					\
{									\
	return tg_store_enum_name(&table, (int)v);			\
}									\
int									\
tg_store_##fn##_parse(const char *s, enum type *out,			\
    struct tg_err *err)							\
{									\
	int v;								\
									\
	tg_err_clear(err);						\
	if (tg_store_enum_parse(&table, s, &v, err) != 0)		\
		return -1;						\
	*out = (enum type)v;						\
	return 0;							\
}
ENUM_API(tg_store_sts_mode, sts_mode, tg_store_enum_sts_mode)
ENUM_API(tg_store_dest_mode, dest_mode, tg_store_enum_dest_mode)
ENUM_API(tg_store_cert_role, cert_role, tg_store_enum_cert_role)
ENUM_API(tg_store_cert_state, cert_state, tg_store_enum_cert_state)
ENUM_API(tg_store_tlsa_state, tlsa_state, tg_store_enum_tlsa_state)
#undef ENUM_API

int
tg_store_check_dname(const char *field, const char *in, char *out,
    size_t outlen, struct tg_err *err)
{
	if (tg_dname_normalize(in, out, outlen, err) != 0) {
		tg_err_prefix(err, "%s", field);
		return -1;
	}
	return 0;
}

int
tg_store_check_hostname(const char *field, const char *in, char *out,
    size_t outlen, struct tg_err *err)
{
	if (tg_dname_host_normalize(in, out, outlen, err) != 0) {
		tg_err_prefix(err, "%s", field);
		return -1;
	}
	return 0;
}

/* Length of the well-formed UTF-8 sequence at s (n bytes left), 0 if
 * ill-formed: overlong forms, surrogates and values above U+10FFFF are. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

int
tg_store_check_text(const char *field, const char *in, size_t max,
    struct tg_err *err)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n, i, k;

	if (in == NULL)
		return 0;
	n = strnlen(in, max + 1);
	if (n > max)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s: longer than %zu bytes", field, max);
	for (i = 0; i < n; i += k) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "%s: control character at byte %zu", field, i);
		k = utf8_seq(s + i, n - i);
		if (k == 0)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "%s: not valid UTF-8 at byte %zu", field, i);
		/* C1 controls (U+0080..U+009F): CSI and friends. */
		if (k == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "%s: control character at byte %zu", field, i);
	}
	return 0;
}

int
tg_store_check_policy_id(const char *in, struct tg_err *err)
{
	size_t i, n = strnlen(in, TG_STS_ID_MAX + 1);

	if (n > TG_STS_ID_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "sts_policy_id: longer than %d characters (RFC 8461 "
		    "§3.1)", TG_STS_ID_MAX);
	for (i = 0; i < n; i++) {
		char c = in[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9')))
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "sts_policy_id: only letters and digits are "
			    "allowed (RFC 8461 §3.1)");
	}
	return 0;
}

int
tg_store_check_max_age(long v, struct tg_err *err)
{
	/* RFC 8461 §3.2: "maximum value of 31557600". */
	if (v < 0 || v > TG_STS_MAX_AGE_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "sts_max_age: %ld is out of range 0..%ld", v,
		    TG_STS_MAX_AGE_MAX);
	return 0;
}

int
tg_store_check_path(const char *field, const char *in, struct tg_err *err)
{
	size_t i, n = strnlen(in, TG_PATH_MAX);

	if (n == 0 || in[0] != '/')
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s: not an absolute path", field);
	if (n >= TG_PATH_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "%s: longer than %d bytes", field, TG_PATH_MAX - 1);
	for (i = 0; i < n; i++)
		if ((unsigned char)in[i] < 0x20 || in[i] == 0x7f)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "%s: control character at byte %zu", field, i);
	return 0;
}

int
tg_store_check_spki(const char *in, char *out, struct tg_err *err)
{
	size_t i, n = strnlen(in, 65);

	for (i = 0; i < n; i++) {
		char c = in[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c + 32);
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			break;
		out[i] = c;
	}
	if (n != 64 || i != 64)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "spki_sha256: not 64 hexadecimal digits");
	out[64] = '\0';
	return 0;
}

int
tg_store_check_username(const char *in, char *out, size_t outlen,
    struct tg_err *err)
{
	size_t i, n = strnlen(in, TG_STORE_USER_MAX + 1);

	if (n == 0 || n > TG_STORE_USER_MAX || outlen <= n)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "username: must be 1 to %d characters", TG_STORE_USER_MAX);
	for (i = 0; i < n; i++) {
		char c = in[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr("._@-", c) != NULL))
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "username: only letters, digits and . _ @ - are "
			    "allowed");
		out[i] = c;
	}
	out[n] = '\0';
	return 0;
}

int
tg_store_check_hash(const char *in, struct tg_err *err)
{
	size_t i, n = strnlen(in, TG_STORE_HASH_MAX + 1);

	if (n < 2 || n > TG_STORE_HASH_MAX || in[0] != '$')
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "password_hash: not a PHC string (\"$id$...\", at most "
		    "%d characters)", TG_STORE_HASH_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)in[i] <= 0x20 ||
		    (unsigned char)in[i] >= 0x7f)
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "password_hash: character at byte %zu is not "
			    "printable ASCII", i);
	return 0;
}

int
tg_store_check_meta_key(const char *in, struct tg_err *err)
{
	size_t i, n = strnlen(in, TG_STORE_META_KEY_MAX + 1);

	if (n == 0 || n > TG_STORE_META_KEY_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "key: must be 1 to %d characters", TG_STORE_META_KEY_MAX);
	for (i = 0; i < n; i++)
		if (!((in[i] >= 'a' && in[i] <= 'z') ||
		    (in[i] >= '0' && in[i] <= '9') || in[i] == '.' ||
		    in[i] == '_' || in[i] == '-'))
			return tg_err_set(err, TG_ERR_PERM, NULL,
			    "key: only a-z, 0-9 and . _ - are allowed");
	return 0;
}
