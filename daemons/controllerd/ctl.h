/*
 * controllerd's own parts (daemons/controllerd/).
 *
 * main.c          the daemon: the certificate watch, the timers
 * ctl_rollover.c  the DANE rollover of the MX name (dane.* settings)
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

#endif
