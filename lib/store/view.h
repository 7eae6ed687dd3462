/*
 * store/view — the relay networks and the local outbound TLS policies as
 * JSON objects: what `tlsgate relay list --json` and `tlsgate policy list
 * --json` print and what the admin API returns, from one place so that
 * the CLI and the console cannot disagree.
 */
#ifndef TG_STORE_VIEW_H
#define TG_STORE_VIEW_H

#include <jansson.h>

#include "store/store.h"

/* {"network", "note", "created" (ISO 8601 UTC)}; NULL out of memory. */
json_t *tg_store_relay_net_json(const struct tg_store_relay_net *n);

/* {"domain", "mode", "note", "updated" (ISO 8601 UTC)}; NULL out of
 * memory. */
json_t *tg_store_dest_policy_json(const struct tg_store_dest_policy *p);

#endif
