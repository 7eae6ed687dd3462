/*
 * store/schema_cache — the schema of cache.db, as migrations (see
 * store/db.h for the rules; store/cache.h for the API).
 *
 * Conventions as in config.db (store/schema.c): STRICT tables, times as
 * INTEGER seconds since the epoch with 0 meaning "never", CHECK
 * constraints repeating the RFC limits behind the C validation. The mx
 * patterns of a policy are one TEXT value, the patterns separated by
 * single spaces (a pattern is a domain name and has none).
 */
#include "store/cache.h"
#include "store/db.h"

/* application_id "TGCA" (config.db is "TGCF"). */
#define SCHEMA_CACHE_APPID	0x54474341u

static const char *const cache_migrations[] = {
	/* 1: the MTA-STS policy cache. */
	"PRAGMA application_id = 1413956417;\n"	/* SCHEMA_CACHE_APPID */
	"CREATE TABLE sts_cache (\n"
	"  domain TEXT PRIMARY KEY NOT NULL\n"
	"    CHECK (length(domain) BETWEEN 1 AND 253),\n"
	/* The policy in force: only a valid fetched one (RFC 8461 §3.3). */
	"  has_policy INTEGER NOT NULL DEFAULT 0 CHECK (has_policy IN "
	    "(0, 1)),\n"
	"  mode TEXT NOT NULL DEFAULT 'none'\n"
	"    CHECK (mode IN ('none', 'testing', 'enforce')),\n"
	"  max_age INTEGER NOT NULL DEFAULT 0\n"
	"    CHECK (max_age BETWEEN 0 AND 31557600),\n"
	"  mx TEXT NOT NULL DEFAULT '' CHECK (length(mx) <= 8200),\n"
	"  body BLOB NOT NULL DEFAULT x'' CHECK (length(body) <= 65536),\n"
	"  policy_id TEXT NOT NULL DEFAULT ''\n"
	"    CHECK (length(policy_id) <= 32),\n"
	"  fetched_at INTEGER NOT NULL DEFAULT 0 CHECK (fetched_at >= 0),\n"
	"  expires_at INTEGER NOT NULL DEFAULT 0,\n"
	/* Discovery: the last _mta-sts TXT id seen. */
	"  txt_id TEXT NOT NULL DEFAULT '' CHECK (length(txt_id) <= 32),\n"
	"  txt_seen_at INTEGER NOT NULL DEFAULT 0 CHECK (txt_seen_at >= 0),\n"
	/* The last fetch attempt (RFC 8461 §3.3 rate limit, §10.2 alert). */
	"  attempt_at INTEGER NOT NULL DEFAULT 0 CHECK (attempt_at >= 0),\n"
	"  attempt_id TEXT NOT NULL DEFAULT ''\n"
	"    CHECK (length(attempt_id) <= 32),\n"
	"  attempt_ok INTEGER NOT NULL DEFAULT 0 CHECK (attempt_ok IN "
	    "(0, 1)),\n"
	"  attempt_result TEXT NOT NULL DEFAULT ''\n"
	"    CHECK (length(attempt_result) <= 32),\n"
	"  attempt_error TEXT NOT NULL DEFAULT ''\n"
	"    CHECK (length(attempt_error) < 512),\n"
	"  failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),\n"
	"  updated INTEGER NOT NULL,\n"
	"  CHECK (has_policy = 0 OR (length(policy_id) >= 1\n"
	"    AND expires_at = fetched_at + max_age))\n"
	") STRICT;\n"
	"PRAGMA user_version = 1;\n",
};

const struct tg_db_schema tg_schema_cache = {
	.name = "cache",
	.application_id = SCHEMA_CACHE_APPID,
	.migrations = cache_migrations,
	.count = sizeof(cache_migrations) / sizeof(cache_migrations[0]),
};
