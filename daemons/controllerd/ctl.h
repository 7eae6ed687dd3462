/*
 * controllerd's own parts (daemons/controllerd/).
 *
 * main.c          the daemon: the certificate watch, the timers
 * ctl_rollover.c  the DANE rollover of the MX name (dane.* settings)
 * ctl_selfcheck.c the MX checked as an outside sender checks it
 */
#ifndef TG_CTL_H
#define TG_CTL_H

#include "core/conf.h"

/*
 * One look at the rollover: plan it (tls/rollover), do at most one step
 * and record it in the store. Returns the seconds until the next look,
 * or 0 when the rollover is off (dane.update_server empty).
 */
long ctl_rollover_run(const struct tg_conf *conf);

/*
 * Check the first hosted domain as a DANE-enforcing sender would and log
 * the verdict on our MX host (an error when it does not verify); why
 * names the occasion. Blocks for the check (seconds).
 */
void ctl_selfcheck_run(const struct tg_conf *conf, const char *why);

#endif
