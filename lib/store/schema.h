/*
 * store/schema — the schema of every tlsgate database, as migrations.
 *
 * Each database has one list of migrations (see store/db.h for the rules:
 * one constant SQL text per version, applied in order, never edited once
 * released, each ending with its "PRAGMA user_version"). Only the store
 * reads these; everything else goes through store/store.h.
 */
#ifndef TG_STORE_SCHEMA_H
#define TG_STORE_SCHEMA_H

#include "store/db.h"

/* application_id values: "TGCF" and so on, so `file` and we can tell
 * tlsgate databases apart from each other and from strangers. */
#define TG_SCHEMA_CONFIG_APPID	0x54474346u	/* "TGCF" */
#define TG_SCHEMA_REPORTS_APPID	0x54475252u	/* "TGRR" */

/* config.db: domains, relay networks, destination policies, certificates,
 * admin users, ACME challenges, meta and the configuration generation. */
extern const struct tg_db_schema tg_schema_config;

/* reports.db: TLS-RPT data (store/reports.h, store/schema_reports.c). */
extern const struct tg_db_schema tg_schema_reports;

#endif
