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
	"    result_type, sending_ip, receiving_mx_hostname, "
	    "receiving_mx_helo,\n"
	"    receiving_ip, additional_information, failure_reason_code)\n"
	") STRICT;\n"
	"PRAGMA user_version = 1;\n",

	/* 2: received reports (normalised, with the original kept in
	 * chunks under the sqlite length limit), and our own reports with
	 * one delivery row per rua URI. Texts are bounded by the writers
	 * (store/reports_rx.c); policy strings and mx hosts are JSON
	 * arrays so that no separator can be forged inside a value. */
	"CREATE TABLE rx_reports (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  org TEXT NOT NULL CHECK (length(org) >= 1),\n"
	"  report_id TEXT NOT NULL CHECK (length(report_id) >= 1),\n"
	"  contact TEXT NOT NULL DEFAULT '',\n"
	"  start_time INTEGER NOT NULL,\n"
	"  end_time INTEGER NOT NULL CHECK (end_time >= start_time),\n"
	"  received INTEGER NOT NULL,\n"
	"  source TEXT NOT NULL CHECK (source IN ('https', 'mail', "
	    "'import')),\n"
	"  peer TEXT NOT NULL DEFAULT '',\n"
	"  auth TEXT NOT NULL DEFAULT '',\n"
	"  flags INTEGER NOT NULL DEFAULT 0,\n"
	"  discarded INTEGER NOT NULL DEFAULT 0 CHECK (discarded >= 0),\n"
	"  raw_media TEXT NOT NULL,\n"
	"  raw_size INTEGER NOT NULL CHECK (raw_size >= 0),\n"
	"  UNIQUE (org, report_id)\n"
	") STRICT;\n"
	"CREATE INDEX rx_reports_start ON rx_reports (start_time);\n"
	"CREATE INDEX rx_reports_received ON rx_reports (received);\n"
	"CREATE TABLE rx_raw (\n"
	"  report INTEGER NOT NULL REFERENCES rx_reports (id)\n"
	"    ON DELETE CASCADE,\n"
	"  seq INTEGER NOT NULL CHECK (seq >= 0),\n"
	"  data BLOB NOT NULL,\n"
	"  PRIMARY KEY (report, seq)\n"
	") STRICT;\n"
	"CREATE TABLE rx_policies (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  report INTEGER NOT NULL REFERENCES rx_reports (id)\n"
	"    ON DELETE CASCADE,\n"
	"  policy_type TEXT NOT NULL\n"
	"    CHECK (policy_type IN ('tlsa', 'sts', 'no-policy-found')),\n"
	"  policy_domain TEXT NOT NULL\n"
	"    CHECK (length(policy_domain) BETWEEN 1 AND 253),\n"
	"  policy_strings TEXT NOT NULL DEFAULT '[]',\n"
	"  mx_hosts TEXT NOT NULL DEFAULT '[]',\n"
	"  success INTEGER NOT NULL CHECK (success >= 0),\n"
	"  failure INTEGER NOT NULL CHECK (failure >= 0)\n"
	") STRICT;\n"
	"CREATE INDEX rx_policies_report ON rx_policies (report);\n"
	"CREATE INDEX rx_policies_domain ON rx_policies (policy_domain);\n"
	"CREATE TABLE rx_failures (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  policy INTEGER NOT NULL REFERENCES rx_policies (id)\n"
	"    ON DELETE CASCADE,\n"
	"  result_type TEXT NOT NULL CHECK (length(result_type) >= 1),\n"
	"  sending_mta_ip TEXT NOT NULL DEFAULT '',\n"
	"  receiving_mx_hostname TEXT NOT NULL DEFAULT '',\n"
	"  receiving_mx_helo TEXT NOT NULL DEFAULT '',\n"
	"  receiving_ip TEXT NOT NULL DEFAULT '',\n"
	"  failed_session_count INTEGER NOT NULL\n"
	"    CHECK (failed_session_count >= 0),\n"
	"  additional_information TEXT NOT NULL DEFAULT '',\n"
	"  failure_reason_code TEXT NOT NULL DEFAULT ''\n"
	") STRICT;\n"
	"CREATE INDEX rx_failures_policy ON rx_failures (policy);\n"
	"CREATE TABLE tx_reports (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  day TEXT NOT NULL CHECK (length(day) = 10),\n"
	"  policy_domain TEXT NOT NULL\n"
	"    CHECK (length(policy_domain) BETWEEN 1 AND 253),\n"
	"  report_id TEXT NOT NULL,\n"
	"  filename TEXT NOT NULL,\n"
	"  created INTEGER NOT NULL,\n"
	"  rua TEXT NOT NULL DEFAULT '',\n"
	"  note TEXT NOT NULL DEFAULT '',\n"
	"  success INTEGER NOT NULL DEFAULT 0 CHECK (success >= 0),\n"
	"  failure INTEGER NOT NULL DEFAULT 0 CHECK (failure >= 0),\n"
	"  report_gz BLOB,\n"
	"  UNIQUE (day, policy_domain)\n"
	") STRICT;\n"
	"CREATE TABLE tx_deliveries (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  report INTEGER NOT NULL REFERENCES tx_reports (id)\n"
	"    ON DELETE CASCADE,\n"
	"  uri TEXT NOT NULL CHECK (length(uri) >= 1),\n"
	"  state TEXT NOT NULL\n"
	"    CHECK (state IN ('pending', 'sent', 'failed', 'expired')),\n"
	"  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),\n"
	"  next_try INTEGER NOT NULL,\n"
	"  deadline INTEGER NOT NULL,\n"
	"  last_error TEXT NOT NULL DEFAULT '',\n"
	"  updated INTEGER NOT NULL,\n"
	"  UNIQUE (report, uri)\n"
	") STRICT;\n"
	"CREATE INDEX tx_deliveries_due ON tx_deliveries (state, next_try);\n"
	"PRAGMA user_version = 2;\n",
};

const struct tg_db_schema tg_schema_reports = {
	.name = "reports",
	.application_id = TG_SCHEMA_REPORTS_APPID,
	.migrations = reports_migrations,
	.count = sizeof(reports_migrations) / sizeof(reports_migrations[0]),
};
