/*
 * rpt/mail_int — shared by mail.c (MIME, decoding) and mail_dkim.c
 * (libopendkim); not for other modules.
 */
#ifndef TG_RPT_MAIL_INT_H
#define TG_RPT_MAIL_INT_H

#include <sys/types.h>
#include <stdbool.h>
#include <opendkim/dkim.h>

#include "rpt/mail.h"

struct tg_rptmail {
	struct tg_rptmail_opts opts;	/* key_file points into key_path */
	char key_path[TG_PATH_MAX];
	DKIM_LIB *lib;			/* owned */
};

/* Create m->lib configured from m->opts. */
int tg_rptmail_dkim_setup(struct tg_rptmail *m, struct tg_err *err);

/*
 * Verify the DKIM signatures of msg and apply RFC 8460 §3 to them.
 * Fills res->verified, reason, dkim_domain, dkim_selector, aligned
 * (res->submitter must be set before). Returns 0 when verified, else -1
 * with err (temporary when a key lookup asked to try again).
 */
int tg_rptmail_dkim_check(struct tg_rptmail *m, const char *msg, size_t len,
    struct tg_rptmail_result *res, struct tg_err *err);

#endif
