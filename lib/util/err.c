/*
 * util/err — see err.h.
 */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
tg_err_clear(struct tg_err *err)
{
	if (err == NULL)
		return;
	err->cls = TG_ERR_NONE;
	err->status[0] = '\0';
	err->result_type = NULL;
	err->offset = -1;
	err->msg[0] = '\0';
}

static void
err_vset(struct tg_err *err, enum tg_err_class cls, const char *fmt,
    va_list ap)
{
	err->cls = cls;
	err->result_type = NULL;
	err->offset = -1;
	err->status[0] = '\0';
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int
tg_err_set(struct tg_err *err, enum tg_err_class cls, const char *status,
    const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	err_vset(err, cls, fmt, ap);
	va_end(ap);
	if (status != NULL)
		snprintf(err->status, sizeof(err->status), "%s", status);
	return -1;
}

int
tg_err_set_at(struct tg_err *err, enum tg_err_class cls, long offset,
    const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	err_vset(err, cls, fmt, ap);
	va_end(ap);
	err->offset = offset;
	return -1;
}

void
tg_err_prefix(struct tg_err *err, const char *fmt, ...)
{
	char prefix[TG_ERR_MSG_MAX], old[TG_ERR_MSG_MAX];
	size_t plen, olen;
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Truncation is fine: the message is for people and stays bounded. */
	plen = strlen(prefix);
	if (plen > sizeof(err->msg) - 3)
		plen = sizeof(err->msg) - 3;
	memcpy(err->msg, prefix, plen);
	memcpy(err->msg + plen, ": ", 2);
	olen = strnlen(old, sizeof(old) - 1);
	if (olen > sizeof(err->msg) - plen - 3)
		olen = sizeof(err->msg) - plen - 3;
	memcpy(err->msg + plen + 2, old, olen);
	err->msg[plen + 2 + olen] = '\0';
}

const char *
tg_err_class_name(enum tg_err_class cls)
{
	switch (cls) {
	case TG_ERR_TEMP:
		return "temporary";
	case TG_ERR_PERM:
		return "permanent";
	case TG_ERR_BUG:
		return "bug";
	case TG_ERR_NONE:
		break;
	}
	return "none";
}
