/*
 * dns/dnshook — see dnshook.h.
 */
#include "dns/dnshook.h"

#include <stdio.h>

int
tg_dnshook_run(struct tg_hookrun *h, const struct tg_dnshook_change *c,
    int timeout_ms, int *status, char *output, size_t outlen,
    struct tg_err *err)
{
	const char *args[TG_HOOKRUN_ARGS_MAX];
	char ttl[24];
	size_t i;

	if (c->nexpected > TG_DNSHOOK_EXPECTED_MAX)
		return tg_err_set(err, TG_ERR_BUG, NULL, "too many expected "
		    "records for dane.update_hook");
	snprintf(ttl, sizeof(ttl), "%lld", c->ttl);
	args[0] = c->add ? "add" : "delete";
	args[1] = c->zone;
	args[2] = c->owner;
	args[3] = ttl;
	args[4] = c->type;
	args[5] = c->rdata;
	for (i = 0; i < c->nexpected; i++)
		args[6 + i] = c->expected[i];
	return tg_hookrun_run(h, args, 6 + c->nexpected, timeout_ms, status,
	    output, outlen, err);
}

const char *
tg_dnshook_status_text(int status)
{
	return status == 0 ? "done" : status == TG_DNSHOOK_NOT_AS_EXPECTED ?
	    "the zone is not as expected" : status == TG_HOOKRUN_KILLED ?
	    "killed at its deadline" : "failed";
}
