/*
 * store/schema_reports — the migrations of reports.db (see reports.h).
 *
 * Same conventions as store/schema.c: STRICT tables, times in seconds,
 * text NOT NULL DEFAULT ''. Append migrations; never edit one that has
 * shipped.
 */
#include "store/reports.h"
#include "store/schema.h"

static const char *const reports_migrations[] = {
	/* 1: outbound TLS session results, aggregated per day. */
	"PRAGMA application_id = 1413960274;\n"	/* TG_SCHEMA_REPORTS_APPID */
	"CREATE TABLE tls_sessions (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  day TEXT NOT NULL CHECK (length(day) = 10),\n"
	"  policy_domain TEXT NOT NULL\n"
	"    CHECK (length(policy_domain) BETWEEN 1 AND 253),\n"
	"  policy_type TEXT NOT NULL\n"
	"    CHECK (policy_type IN ('tlsa', 'sts', 'no-policy-found')),\n"
	"  policy_strings TEXT NOT NULL DEFAULT '',\n"
	"  mx_hosts TEXT NOT NULL DEFAULT '',\n"
	"  result_type TEXT NOT NULL DEFAULT '',\n"
	"  sending_ip TEXT NOT NULL DEFAULT '',\n"
	"  receiving_mx_hostname TEXT NOT NULL DEFAULT '',\n"
	"  receiving_mx_helo TEXT NOT NULL DEFAULT '',\n"
	"  receiving_ip TEXT NOT NULL DEFAULT '',\n"
	"  additional_information TEXT NOT NULL DEFAULT '',\n"
	"  failure_reason_code TEXT NOT NULL DEFAULT '',\n"
	"  count INTEGER NOT NULL CHECK (count >= 1),\n"
	"  UNIQUE (day, policy_domain, policy_type, policy_strings, mx_hosts,\n"
	"    result_type, sending_ip, receiving_mx_hostname, receiving_mx_helo,\n"
	"    receiving_ip, additional_information, failure_reason_code)\n"
	") STRICT;\n"
	"PRAGMA user_version = 1;\n",
};

const struct tg_db_schema tg_schema_reports = {
	.name = "reports",
	.application_id = TG_SCHEMA_REPORTS_APPID,
	.migrations = reports_migrations,
	.count = sizeof(reports_migrations) / sizeof(reports_migrations[0]),
};
