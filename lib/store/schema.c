/*
 * store/schema — see schema.h.
 *
 * Conventions of every table: STRICT (sqlite checks column types), an
 * INTEGER PRIMARY KEY id (acme_challenges: its token), times as INTEGER
 * seconds since the epoch with 0 meaning "never", free text as TEXT NOT
 * NULL DEFAULT ''. CHECK constraints repeat the rules that come from
 * RFCs (name length, max_age, policy id length) and the enumerations, as
 * a last line of defence behind the validation in the store's C code.
 */
#include "store/schema.h"

static const char *const config_migrations[] = {
	/* 1: initial schema. */
	"PRAGMA application_id = 1413956422;\n"	/* TG_SCHEMA_CONFIG_APPID */
	"CREATE TABLE meta (\n"
	"  key TEXT PRIMARY KEY NOT NULL,\n"
	"  value TEXT NOT NULL\n"
	") STRICT;\n"
	"CREATE TABLE generation (\n"
	"  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
	"  value INTEGER NOT NULL CHECK (value >= 1)\n"
	") STRICT;\n"
	"INSERT INTO generation (id, value) VALUES (1, 1);\n"
	"CREATE TABLE domains (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 253),\n"
	"  inbound_route TEXT NOT NULL DEFAULT '',\n"
	"  sts_mode TEXT NOT NULL DEFAULT 'off'\n"
	"    CHECK (sts_mode IN ('off', 'none', 'testing', 'enforce')),\n"
	"  sts_max_age INTEGER NOT NULL DEFAULT 604800\n"
	"    CHECK (sts_max_age BETWEEN 0 AND 31557600),\n"
	"  sts_policy_id TEXT NOT NULL DEFAULT ''\n"
	"    CHECK (length(sts_policy_id) <= 32),\n"
	"  sts_policy_changed INTEGER NOT NULL DEFAULT 0,\n"
	"  tlsrpt_rua TEXT NOT NULL DEFAULT '',\n"
	"  created INTEGER NOT NULL,\n"
	"  updated INTEGER NOT NULL\n"
	") STRICT;\n"
	"CREATE TABLE domain_sts_mx (\n"
	"  domain_id INTEGER NOT NULL\n"
	"    REFERENCES domains (id) ON DELETE CASCADE,\n"
	"  position INTEGER NOT NULL CHECK (position >= 0),\n"
	"  pattern TEXT NOT NULL,\n"
	"  PRIMARY KEY (domain_id, position),\n"
	"  UNIQUE (domain_id, pattern)\n"
	") STRICT;\n"
	"CREATE TABLE relay_networks (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  cidr TEXT NOT NULL UNIQUE,\n"
	"  note TEXT NOT NULL DEFAULT '',\n"
	"  created INTEGER NOT NULL\n"
	") STRICT;\n"
	"CREATE TABLE dest_policies (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  domain TEXT NOT NULL UNIQUE,\n"
	"  mode TEXT NOT NULL CHECK (mode IN ('dane-only', 'encrypt', "
	    "'may')),\n"
	"  note TEXT NOT NULL DEFAULT '',\n"
	"  created INTEGER NOT NULL,\n"
	"  updated INTEGER NOT NULL\n"
	") STRICT;\n"
	"CREATE TABLE certificates (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  name TEXT NOT NULL,\n"
	"  role TEXT NOT NULL CHECK (role IN ('mx', 'sts', 'admin')),\n"
	"  cert_path TEXT NOT NULL,\n"
	"  key_path TEXT NOT NULL,\n"
	"  spki_sha256 TEXT NOT NULL CHECK (length(spki_sha256) = 64),\n"
	"  not_before INTEGER NOT NULL,\n"
	"  not_after INTEGER NOT NULL CHECK (not_after >= not_before),\n"
	"  state TEXT NOT NULL\n"
	"    CHECK (state IN ('next', 'current', 'retired')),\n"
	"  tlsa_state TEXT NOT NULL DEFAULT 'none' CHECK (tlsa_state IN\n"
	"    ('none', 'published', 'visible', 'retiring', 'removed')),\n"
	"  tlsa_published_at INTEGER NOT NULL DEFAULT 0,\n"
	"  created INTEGER NOT NULL,\n"
	"  updated INTEGER NOT NULL\n"
	") STRICT;\n"
	"CREATE INDEX certificates_name_role ON certificates (name, role);\n"
	/* One current certificate per name and role: rollover swaps them
	 * in one transaction (tg_store_cert_promote). */
	"CREATE UNIQUE INDEX certificates_one_current\n"
	"  ON certificates (name, role) WHERE state = 'current';\n"
	"CREATE TABLE admin_users (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  username TEXT NOT NULL UNIQUE,\n"
	"  password_hash TEXT NOT NULL,\n"
	"  created INTEGER NOT NULL,\n"
	"  last_login INTEGER NOT NULL DEFAULT 0\n"
	") STRICT;\n"
	"PRAGMA user_version = 1;\n",
	/* 2: what tlsgate-stsd serves per domain (store_sts.c). */
	"CREATE TABLE IF NOT EXISTS sts_served (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  domain TEXT NOT NULL UNIQUE\n"
	"    CHECK (length(domain) BETWEEN 1 AND 253),\n"
	"  policy_id TEXT NOT NULL CHECK (length(policy_id) BETWEEN 1 "
	    "AND 32),\n"
	"  mode TEXT NOT NULL CHECK (mode IN ('none', 'testing', 'enforce')),\n"
	"  max_age INTEGER NOT NULL CHECK (max_age BETWEEN 0 AND 31557600),\n"
	"  body TEXT NOT NULL,\n"
	"  since INTEGER NOT NULL,\n"
	"  cover_until INTEGER NOT NULL DEFAULT 0,\n"
	"  withdrawn INTEGER NOT NULL DEFAULT 0 CHECK (withdrawn IN (0, 1)),\n"
	"  updated INTEGER NOT NULL\n"
	") STRICT;\n"
	"PRAGMA user_version = 2;\n",
	/* 3: the times the DANE rollover waits from (tls/rollover). */
	"ALTER TABLE certificates ADD COLUMN\n"
	"  tlsa_visible_at INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE certificates ADD COLUMN\n"
	"  state_since INTEGER NOT NULL DEFAULT 0;\n"
	"PRAGMA user_version = 3;\n",
	/* 4: ACME http-01 challenges that tlsgate-stsd answers on port 80
	 * (RFC 8555 §8.3; store_acme.c). The token is the key: a challenge
	 * is found by the token in the request's path. */
	"CREATE TABLE acme_challenges (\n"
	"  token TEXT PRIMARY KEY\n"
	"    CHECK (length(token) BETWEEN 1 AND 128),\n"
	"  key_authorization TEXT NOT NULL\n"
	"    CHECK (length(key_authorization) BETWEEN 1 AND 256),\n"
	"  host TEXT NOT NULL CHECK (length(host) BETWEEN 1 AND 253),\n"
	"  expires INTEGER NOT NULL\n"
	") STRICT;\n"
	"PRAGMA user_version = 4;\n",
};

const struct tg_db_schema tg_schema_config = {
	.name = "config",
	.application_id = TG_SCHEMA_CONFIG_APPID,
	.migrations = config_migrations,
	.count = sizeof(config_migrations) / sizeof(config_migrations[0]),
};
