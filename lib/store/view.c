/*
 * store/view — relay networks and destination policies as JSON (see
 * view.h).
 */
#include "store/view.h"

#include "util/clock.h"

json_t *
tg_store_relay_net_json(const struct tg_store_relay_net *n)
{
	char created[32];

	tg_clock_format(n->created, created, sizeof(created));
	return json_pack("{s:s, s:s, s:s}", "network", n->cidr, "note",
	    n->note, "created", created);
}

json_t *
tg_store_dest_policy_json(const struct tg_store_dest_policy *p)
{
	char updated[32];

	tg_clock_format(p->updated, updated, sizeof(updated));
	return json_pack("{s:s, s:s, s:s, s:s}", "domain", p->domain, "mode",
	    tg_store_dest_mode_name(p->mode), "note", p->note, "updated",
	    updated);
}
