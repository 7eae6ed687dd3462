/*
 * controllerd's own parts (daemons/controllerd/).
 *
 * main.c          the daemon: the certificate watch, the timers
 * ctl_rollover.c  the DANE rollover of the MX name (dane.* settings)
 * ctl_selfcheck.c the MX checked as an outside sender checks it
 * ctl_acme.c      ACME certificates, renewed on a worker thread
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

/* ACME renewals (acme.* settings): the state between looks. */
struct ctl_acme;

struct ctl_acme *ctl_acme_new(void);
/* Waits for a running job's thread. NULL-safe. */
void ctl_acme_free(struct ctl_acme *a);

/*
 * Look for certificates that want an ACME certificate under conf and
 * start a job for them on a worker thread. Returns 1 while a job runs
 * (also one started earlier: then nothing new is looked at), else 0.
 */
int ctl_acme_look(struct ctl_acme *a, const struct tg_conf *conf);

/* On the loop: has the job ended? Logs its results and returns 0 once it
 * has (and when none runs), 1 while it runs. */
int ctl_acme_poll(struct ctl_acme *a);

#endif
