/*
 * rpt/report_int — shared by report.c (parsing) and report_gen.c
 * (building, generating); not for other modules.
 */
#ifndef TG_RPT_REPORT_INT_H
#define TG_RPT_REPORT_INT_H

#include "rpt/report.h"

/* Free the n strings of v and v itself. NULL-safe. */
void tg_report_strv_free(char **v, size_t n);

/* Free what f owns and zero it. */
void tg_report_failure_clear(struct tg_report_failure *f);

#endif
