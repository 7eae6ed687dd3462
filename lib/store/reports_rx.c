/*
 * store/reports_rx — received TLS-RPT reports and our outgoing reports in
 * reports.db; see the second half of store/reports.h.
 *
 * Every value is a bound parameter. Policy strings and mx hosts are
 * stored as JSON arrays (jansson), so a value holding a newline or a
 * comma cannot be mistaken for two values when it is read back.
 */
#include "store/reports.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "util/buf.h"
#include "util/dname.h"
#include "util/text.h"

/* Bytes of the original per rx_raw row: well under the connection's
 * SQLITE_LIMIT_LENGTH (store/db.c). */
#define RX_RAW_CHUNK	(256 * 1024)
/* Rough bytes of row overhead, for the quota estimate. */
#define RX_ROW_OVERHEAD	64
/* Reports removed per pruning step before the size is measured again. */
#define RX_PRUNE_STEP	8

static const char *const tx_state_names[] = {
	"pending", "sent", "failed", "expired"
};

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

const char *
tg_reports_tx_state_name(enum tg_reports_tx_state s)
{
	if ((size_t)s < sizeof(tx_state_names) / sizeof(tx_state_names[0]))
		return tx_state_names[s];
	return "invalid";
}

static int
tx_state_parse(const char *s, enum tg_reports_tx_state *out)
{
	size_t i;

	for (i = 0; i < sizeof(tx_state_names) / sizeof(tx_state_names[0]);
	    i++)
		if (strcmp(s, tx_state_names[i]) == 0) {
			*out = (enum tg_reports_tx_state)i;
			return 0;
		}
	return -1;
}

static int
policy_type_parse(const char *s, enum tg_reports_policy_type *out)
{
	int t;

	for (t = TG_REPORTS_TLSA; t <= TG_REPORTS_NO_POLICY; t++)
		if (strcmp(s, tg_reports_policy_type_name(
		    (enum tg_reports_policy_type)t)) == 0) {
			*out = (enum tg_reports_policy_type)t;
			return 0;
		}
	return -1;
}

static const char *
col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *p = sqlite3_column_text(st, col);

	return p != NULL ? (const char *)p : "";
}

/* ---- checks ------------------------------------------------------ */

static int
rx_check_text(const char *s, const char *what, struct tg_err *err)
{
	if (strlen(nz(s)) > TG_STORE_TEXT_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s is longer than "
		    "%d bytes", what, TG_STORE_TEXT_MAX);
	return 0;
}

static int
rx_check_failure(const struct tg_reports_rx_failure *f, struct tg_err *err)
{
	const char *texts[] = { f->sending_mta_ip, f->receiving_mx_hostname,
	    f->receiving_mx_helo, f->receiving_ip, f->additional_information,
	    f->failure_reason_code };
	size_t i;

	if (f->result_type == NULL || f->result_type[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL, "failure without "
		    "a result type");
	if (f->failed_session_count < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "negative count");
	if (rx_check_text(f->result_type, "result type", err) != 0)
		return -1;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (rx_check_text(texts[i], "a failure field", err) != 0)
			return -1;
	return 0;
}

static int
rx_check_policy(const struct tg_reports_rx_policy *p, struct tg_err *err)
{
	size_t i;

	if (!tg_dname_is_valid(nz(p->domain)))
		return tg_err_set(err, TG_ERR_PERM, NULL, "policy domain '%s' "
		    "is not a normalised domain name", nz(p->domain));
	if ((unsigned)p->type > TG_REPORTS_NO_POLICY)
		return tg_err_set(err, TG_ERR_PERM, NULL, "bad policy type");
	if (p->success < 0 || p->failure < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "negative count");
	for (i = 0; i < p->n_strings; i++)
		if (rx_check_text(p->strings[i], "a policy string", err) != 0)
			return -1;
	for (i = 0; i < p->n_mx_hosts; i++)
		if (rx_check_text(p->mx_hosts[i], "an mx host", err) != 0)
			return -1;
	for (i = 0; i < p->n_failures; i++)
		if (rx_check_failure(&p->failures[i], err) != 0)
			return -1;
	return 0;
}

static int
rx_check(const struct tg_reports_rx_report *in, struct tg_err *err)
{
	const char *src = nz(in->source);
	size_t i;

	if (nz(in->org)[0] == '\0' || nz(in->report_id)[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL, "a report needs an "
		    "organization name and a report id");
	if (strcmp(src, TG_REPORTS_SRC_HTTPS) != 0 &&
	    strcmp(src, TG_REPORTS_SRC_MAIL) != 0 &&
	    strcmp(src, TG_REPORTS_SRC_IMPORT) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "bad source '%s'",
		    src);
	if (in->end < in->start)
		return tg_err_set(err, TG_ERR_PERM, NULL, "date range ends "
		    "before it starts");
	if (nz(in->raw_media)[0] == '\0' || in->raw_gz == NULL ||
	    in->raw_size < 0 || in->discarded < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "a report needs "
		    "its original");
	if (rx_check_text(in->org, "organization name", err) != 0 ||
	    rx_check_text(in->report_id, "report id", err) != 0 ||
	    rx_check_text(in->contact, "contact", err) != 0 ||
	    rx_check_text(in->peer, "peer", err) != 0 ||
	    rx_check_text(in->auth, "auth", err) != 0 ||
	    rx_check_text(in->raw_media, "media type", err) != 0)
		return -1;
	for (i = 0; i < in->n_policies; i++)
		if (rx_check_policy(&in->policies[i], err) != 0)
			return -1;
	return 0;
}

/* ---- quota ------------------------------------------------------- */

static int
db_pragma_int(sqlite3 *db, const char *sql, int64_t *out, struct tg_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (tg_db_prepare(db, sql, &st, err) != 0)
		return -1;
	rc = tg_db_step_row(db, st, err);
	if (rc == 1)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc == 0)
		return tg_err_set(err, TG_ERR_BUG, NULL, "%s: no row", sql);
	return rc == 1 ? 0 : -1;
}

static int
rx_usage(sqlite3 *db, int64_t *bytes, struct tg_err *err)
{
	int64_t pages, free_pages, size;

	if (db_pragma_int(db, "PRAGMA page_count", &pages, err) != 0 ||
	    db_pragma_int(db, "PRAGMA freelist_count", &free_pages, err) != 0 ||
	    db_pragma_int(db, "PRAGMA page_size", &size, err) != 0)
		return -1;
	*bytes = (pages - free_pages) * size;
	return 0;
}

int
tg_reports_usage(struct tg_reports *r, int64_t *bytes, struct tg_err *err)
{
	tg_err_clear(err);
	return rx_usage(tg_reports_db(r), bytes, err);
}

/* About how many bytes the report will take in the file. */
static int64_t
rx_estimate(const struct tg_reports_rx_report *in)
{
	int64_t n = (int64_t)in->raw_gz_len + RX_ROW_OVERHEAD +
	    (int64_t)(strlen(in->org) + strlen(in->report_id) +
	    strlen(nz(in->contact)) + strlen(nz(in->peer)));
	size_t i, j;

	for (i = 0; i < in->n_policies; i++) {
		const struct tg_reports_rx_policy *p = &in->policies[i];

		n += RX_ROW_OVERHEAD + (int64_t)strlen(p->domain);
		for (j = 0; j < p->n_strings; j++)
			n += 4 + (int64_t)strlen(p->strings[j]);
		for (j = 0; j < p->n_mx_hosts; j++)
			n += 4 + (int64_t)strlen(p->mx_hosts[j]);
		n += (int64_t)p->n_failures * RX_ROW_OVERHEAD * 2;
	}
	return n;
}

/* Remove the oldest received reports until need more bytes fit under
 * quota (inside the caller's transaction). */
static int
rx_make_room(sqlite3 *db, int64_t quota, int64_t need, int64_t *pruned,
    struct tg_err *err)
{
	static const char sql[] = "DELETE FROM rx_reports WHERE id IN "
	    "(SELECT id FROM rx_reports ORDER BY received, id LIMIT ?)";
	sqlite3_stmt *st;
	int64_t used;
	int rc, changed;

	for (;;) {
		if (rx_usage(db, &used, err) != 0)
			return -1;
		if (used + need <= quota)
			return 0;
		if (tg_db_prepare(db, sql, &st, err) != 0)
			return -1;
		sqlite3_bind_int(st, 1, RX_PRUNE_STEP);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return tg_db_error(db, rc, "pruning reports", err);
		if ((changed = sqlite3_changes(db)) == 0)
			return tg_err_set(err, TG_ERR_PERM, NULL, "quota: no "
			    "room for a report of about %lld bytes in %lld "
			    "bytes", (long long)need, (long long)quota);
		*pruned += changed;
	}
}

/* ---- adding a received report ------------------------------------ */

static int
rx_find(sqlite3 *db, const char *org, const char *report_id, int64_t *id,
    struct tg_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (tg_db_prepare(db, "SELECT id FROM rx_reports WHERE org = ? AND "
	    "report_id = ?", &st, err) != 0)
		return -1;
	tg_db_bind_text(st, 1, org);
	tg_db_bind_text(st, 2, report_id);
	rc = tg_db_step_row(db, st, err);
	if (rc == 1)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

static int
rx_insert_head(sqlite3 *db, const struct tg_reports_rx_report *in,
    int64_t *id, struct tg_err *err)
{
	static const char sql[] =
	    "INSERT INTO rx_reports (org, report_id, contact, start_time, "
	    "end_time, received, source, peer, auth, flags, discarded, "
	    "raw_media, raw_size) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st;
	int rc;

	if (tg_db_prepare(db, sql, &st, err) != 0)
		return -1;
	tg_db_bind_text(st, 1, in->org);
	tg_db_bind_text(st, 2, in->report_id);
	tg_db_bind_text(st, 3, nz(in->contact));
	sqlite3_bind_int64(st, 4, (sqlite3_int64)in->start);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)in->end);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)in->received);
	tg_db_bind_text(st, 7, in->source);
	tg_db_bind_text(st, 8, nz(in->peer));
	tg_db_bind_text(st, 9, nz(in->auth));
	sqlite3_bind_int64(st, 10, (sqlite3_int64)in->flags);
	sqlite3_bind_int64(st, 11, in->discarded);
	tg_db_bind_text(st, 12, in->raw_media);
	sqlite3_bind_int64(st, 13, in->raw_size);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return tg_db_error(db, rc, "storing a report", err);
	*id = sqlite3_last_insert_rowid(db);
	return 0;
}

static int
rx_insert_raw(sqlite3 *db, int64_t id, const unsigned char *p, size_t n,
    struct tg_err *err)
{
	sqlite3_stmt *st;
	size_t off, k;
	int rc = SQLITE_DONE, seq = 0;

	if (tg_db_prepare(db, "INSERT INTO rx_raw (report, seq, data) VALUES "
	    "(?, ?, ?)", &st, err) != 0)
		return -1;
	for (off = 0; off < n || (n == 0 && seq == 0); off += k, seq++) {
		k = n - off < RX_RAW_CHUNK ? n - off : RX_RAW_CHUNK;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int(st, 2, seq);
		sqlite3_bind_blob(st, 3, n > 0 ? p + off : (const void *)"",
		    (int)k, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return tg_db_error(db, rc, "storing the original", err);
	return 0;
}

/* JSON array text of n strings (malloc'd), or NULL when out of memory. */
static char *
rx_json_array(const char *const *v, size_t n)
{
	json_t *a = json_array();
	char *s;
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_array_append_new(a, json_stringn(v[i],
		    strlen(v[i]))) != 0) {
			json_decref(a);
			return NULL;
		}
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

static const char rx_failure_sql[] =
    "INSERT INTO rx_failures (policy, result_type, sending_mta_ip, "
    "receiving_mx_hostname, receiving_mx_helo, receiving_ip, "
    "failed_session_count, additional_information, "
    "failure_reason_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* One failure row with st (rx_failure_sql, prepared once per report). */
static int
rx_insert_failure(sqlite3 *db, sqlite3_stmt *st, int64_t policy,
    const struct tg_reports_rx_failure *f, struct tg_err *err)
{
	int rc;

	sqlite3_bind_int64(st, 1, policy);
	tg_db_bind_text(st, 2, f->result_type);
	tg_db_bind_text(st, 3, nz(f->sending_mta_ip));
	tg_db_bind_text(st, 4, nz(f->receiving_mx_hostname));
	tg_db_bind_text(st, 5, nz(f->receiving_mx_helo));
	tg_db_bind_text(st, 6, nz(f->receiving_ip));
	sqlite3_bind_int64(st, 7, f->failed_session_count);
	tg_db_bind_text(st, 8, nz(f->additional_information));
	tg_db_bind_text(st, 9, nz(f->failure_reason_code));
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return tg_db_error(db, rc, "storing failure details", err);
	return 0;
}

static int
rx_insert_policy(sqlite3 *db, sqlite3_stmt *fst, int64_t report,
    const struct tg_reports_rx_policy *p, struct tg_err *err)
{
	static const char sql[] =
	    "INSERT INTO rx_policies (report, policy_type, policy_domain, "
	    "policy_strings, mx_hosts, success, failure) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)";
	char *strings = rx_json_array(p->strings, p->n_strings);
	char *mx = rx_json_array(p->mx_hosts, p->n_mx_hosts);
	sqlite3_stmt *st = NULL;
	int64_t pid;
	size_t i;
	int rc;

	if (strings == NULL || mx == NULL) {
		rc = tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		goto out;
	}
	if ((rc = tg_db_prepare(db, sql, &st, err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, report);
	tg_db_bind_text(st, 2, tg_reports_policy_type_name(p->type));
	tg_db_bind_text(st, 3, p->domain);
	tg_db_bind_text(st, 4, strings);
	tg_db_bind_text(st, 5, mx);
	sqlite3_bind_int64(st, 6, p->success);
	sqlite3_bind_int64(st, 7, p->failure);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		rc = tg_db_error(db, rc, "storing a policy", err);
		goto out;
	}
	pid = sqlite3_last_insert_rowid(db);
	rc = 0;
	for (i = 0; i < p->n_failures && rc == 0; i++)
		rc = rx_insert_failure(db, fst, pid, &p->failures[i], err);
out:
	sqlite3_finalize(st);
	free(strings);
	free(mx);
	return rc;
}

static int
rx_insert(sqlite3 *db, const struct tg_reports_rx_report *in, int64_t quota,
    int64_t *id, int64_t *pruned, struct tg_err *err)
{
	size_t i;

	if (quota > 0 && rx_make_room(db, quota, rx_estimate(in), pruned,
	    err) != 0)
		return -1;
	sqlite3_stmt *fst;
	int rc = 0;

	if (rx_insert_head(db, in, id, err) != 0 ||
	    rx_insert_raw(db, *id, in->raw_gz, in->raw_gz_len, err) != 0 ||
	    tg_db_prepare(db, rx_failure_sql, &fst, err) != 0)
		return -1;
	for (i = 0; i < in->n_policies && rc == 0; i++)
		rc = rx_insert_policy(db, fst, *id, &in->policies[i], err);
	sqlite3_finalize(fst);
	return rc;
}

int
tg_reports_rx_add(struct tg_reports *r, const struct tg_reports_rx_report *in,
    int64_t quota, int64_t *id, int *duplicate, int64_t *pruned,
    struct tg_err *err)
{
	sqlite3 *db = tg_reports_db(r);
	int64_t n_pruned = 0;
	int rc, nested;

	tg_err_clear(err);
	*id = 0;
	*duplicate = 0;
	if (pruned != NULL)
		*pruned = 0;
	if (rx_check(in, err) != 0)
		return -1;
	/* Inside tg_reports_batch_begin: a savepoint of the batch. */
	if (tg_db_unit_begin(db, &nested, err) != 0)
		return -1;
	rc = rx_find(db, in->org, in->report_id, id, err);
	if (rc == 1) {
		*duplicate = 1;	/* RELIABILITY R-04: stored once */
		tg_db_unit_rollback(db, nested);
		return 0;
	}
	if (rc < 0 || rx_insert(db, in, quota, id, &n_pruned, err) != 0) {
		tg_db_unit_rollback(db, nested);
		*id = 0;
		return -1;
	}
	if (tg_db_unit_commit(db, nested, err) != 0) {
		*id = 0;
		return -1;
	}
	if (pruned != NULL)
		*pruned = n_pruned;
	return 0;
}

/* ---- reading received reports ------------------------------------ */

#define RX_HEAD_COLS \
	"SELECT r.id, r.org, r.report_id, r.contact, r.start_time, " \
	"r.end_time, r.received, r.source, r.peer, r.auth, r.flags, " \
	"r.discarded, r.raw_media, r.raw_size, " \
	"(SELECT count(*) FROM rx_policies p WHERE p.report = r.id), " \
	"(SELECT coalesce(sum(p.success), 0) FROM rx_policies p " \
	"WHERE p.report = r.id), " \
	"(SELECT coalesce(sum(p.failure), 0) FROM rx_policies p " \
	"WHERE p.report = r.id), " \
	"(SELECT coalesce(group_concat(DISTINCT p.policy_domain), '') " \
	"FROM rx_policies p WHERE p.report = r.id) FROM rx_reports r "

static void
rx_read_head(sqlite3_stmt *st, struct tg_reports_rx_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->id = sqlite3_column_int64(st, 0);
	rep->org = col_text(st, 1);
	rep->report_id = col_text(st, 2);
	rep->contact = col_text(st, 3);
	rep->start = (time_t)sqlite3_column_int64(st, 4);
	rep->end = (time_t)sqlite3_column_int64(st, 5);
	rep->received = (time_t)sqlite3_column_int64(st, 6);
	rep->source = col_text(st, 7);
	rep->peer = col_text(st, 8);
	rep->auth = col_text(st, 9);
	rep->flags = (unsigned)sqlite3_column_int64(st, 10);
	rep->discarded = sqlite3_column_int64(st, 11);
	rep->raw_media = col_text(st, 12);
	rep->raw_size = sqlite3_column_int64(st, 13);
	rep->n_policies_stored = sqlite3_column_int64(st, 14);
	rep->success = sqlite3_column_int64(st, 15);
	rep->failure = sqlite3_column_int64(st, 16);
	rep->domains = col_text(st, 17);
}

/* Step st to the end, calling fn per report row. */
static int
rx_walk_heads(sqlite3 *db, sqlite3_stmt *st, tg_reports_rx_fn fn, void *arg,
    int *rows, struct tg_err *err)
{
	struct tg_reports_rx_report rep;
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		(*rows)++;
		rx_read_head(st, &rep);
		if ((ret = fn(&rep, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = tg_db_error(db, rc, "reading reports", err);
	sqlite3_finalize(st);
	return ret;
}

int
tg_reports_rx_list(struct tg_reports *r, const char *domain, time_t since,
    tg_reports_rx_fn fn, void *arg, struct tg_err *err)
{
	static const char sql[] = RX_HEAD_COLS
	    "WHERE (?1 IS NULL OR EXISTS (SELECT 1 FROM rx_policies p "
	    "WHERE p.report = r.id AND p.policy_domain = ?1)) "
	    "AND r.start_time >= ?2 ORDER BY r.start_time, r.id";
	sqlite3 *db = tg_reports_db(r);
	sqlite3_stmt *st;
	int rows = 0;

	tg_err_clear(err);
	if (tg_db_prepare(db, sql, &st, err) != 0)
		return -1;
	if (domain != NULL)
		tg_db_bind_text(st, 1, domain);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)since);
	return rx_walk_heads(db, st, fn, arg, &rows, err);
}

int
tg_reports_rx_get(struct tg_reports *r, int64_t id, tg_reports_rx_fn fn,
    void *arg, struct tg_err *err)
{
	static const char sql[] = RX_HEAD_COLS "WHERE r.id = ?";
	sqlite3 *db = tg_reports_db(r);
	sqlite3_stmt *st;
	int rows = 0, rc;

	tg_err_clear(err);
	if (tg_db_prepare(db, sql, &st, err) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = rx_walk_heads(db, st, fn, arg, &rows, err);
	if (rc == 0 && rows == 0)
		return TG_REPORTS_NOTFOUND;
	return rc;
}

/* Decode a JSON array of strings into *v (malloc'd pointer array into
 * *json, which the caller releases). */
static int
rx_json_decode(const char *text, json_t **json, const char ***v, size_t *n,
    struct tg_err *err)
{
	size_t i;

	*v = NULL;
	*n = 0;
	if ((*json = json_loads(text, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_array(*json))
		return tg_err_set(err, TG_ERR_BUG, NULL, "bad JSON array in "
		    "reports.db");
	if (json_array_size(*json) == 0)
		return 0;
	if ((*v = calloc(json_array_size(*json), sizeof(**v))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	for (i = 0; i < json_array_size(*json); i++) {
		const char *s = json_string_value(json_array_get(*json, i));

		if (s == NULL)
			return tg_err_set(err, TG_ERR_BUG, NULL, "bad JSON "
			    "array in reports.db");
		(*v)[(*n)++] = s;
	}
	return 0;
}

static int
rx_policy_row(sqlite3_stmt *st, tg_reports_rx_policy_fn fn, void *arg,
    struct tg_err *err)
{
	struct tg_reports_rx_policy p;
	json_t *js = NULL, *jm = NULL;
	const char **sv = NULL, **mv = NULL;
	int ret = -1;

	memset(&p, 0, sizeof(p));
	p.id = sqlite3_column_int64(st, 0);
	if (policy_type_parse(col_text(st, 1), &p.type) != 0) {
		tg_err_set(err, TG_ERR_BUG, NULL, "bad policy type in "
		    "reports.db");
		goto out;
	}
	p.domain = col_text(st, 2);
	if (rx_json_decode(col_text(st, 3), &js, &sv, &p.n_strings, err) != 0 ||
	    rx_json_decode(col_text(st, 4), &jm, &mv, &p.n_mx_hosts, err) != 0)
		goto out;
	p.strings = sv;
	p.mx_hosts = mv;
	p.success = sqlite3_column_int64(st, 5);
	p.failure = sqlite3_column_int64(st, 6);
	ret = fn(&p, arg);
out:
	free(sv);
	free(mv);
	json_decref(js);
	json_decref(jm);
	return ret;
}

int
tg_reports_rx_policies(struct tg_reports *r, int64_t id,
    tg_reports_rx_policy_fn fn, void *arg, struct tg_err *err)
{
	static const char sql[] = "SELECT id, policy_type, policy_domain, "
	    "policy_strings, mx_hosts, success, failure FROM rx_policies "
	    "WHERE report = ? ORDER BY id";
	sqlite3 *db = tg_reports_db(r);
	sqlite3_stmt *st;
	int rc, ret = 0;

	tg_err_clear(err);
	if (tg_db_prepare(db, sql, &st, err) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((ret = rx_policy_row(st, fn, arg, err)) != 0)
			break;
	if (ret == 0 && rc != SQLITE_DONE)
		ret = tg_db_error(db, rc, "reading policies", err);
	sqlite3_finalize(st);
	return ret;
}

int
tg_reports_rx_failures(struct tg_reports *r, int64_t policy_id,
    tg_reports_rx_failure_fn fn, void *arg, struct tg_err *err)
{
	static const char sql[] = "SELECT result_type, sending_mta_ip, "
	    "receiving_mx_hostname, receiving_mx_helo, receiving_ip, "
	    "failed_session_count, additional_information, "
	    "failure_reason_code FROM rx_failures WHERE policy = ? ORDER BY id";
	struct tg_reports_rx_failure f;
	sqlite3 *db = tg_reports_db(r);
	sqlite3_stmt *st;
	int rc, ret = 0;

	tg_err_clear(err);
	if (tg_db_prepare(db, sql, &st, err) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, policy_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		f.result_type = col_text(st, 0);
		f.sending_mta_ip = col_text(st, 1);
		f.receiving_mx_hostname = col_text(st, 2);
		f.receiving_mx_helo = col_text(st, 3);
		f.receiving_ip = col_text(st, 4);
		f.failed_session_count = sqlite3_column_int64(st, 5);
		f.additional_information = col_text(st, 6);
		f.failure_reason_code = col_text(st, 7);
		if ((ret = fn(&f, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = tg_db_error(db, rc, "reading failure details", err);
	sqlite3_finalize(st);
	return ret;
}

static int
rx_raw_media(sqlite3 *db, int64_t id, char *media, size_t medialen,
    struct tg_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (tg_db_prepare(db, "SELECT raw_media FROM rx_reports WHERE id = ?",
	    &st, err) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = tg_db_step_row(db, st, err);
	if (rc == 1 && tg_db_column_text(st, 0, media, medialen, err) != 0)
		rc = -1;
	sqlite3_finalize(st);
	return rc < 0 ? -1 : rc == 0 ? TG_REPORTS_NOTFOUND : 0;
}

int
tg_reports_rx_raw(struct tg_reports *r, int64_t id, struct tg_buf *out,
    char *media, size_t medialen, struct tg_err *err)
{
	sqlite3 *db = tg_reports_db(r);
	sqlite3_stmt *st;
	int rc, ret;

	tg_err_clear(err);
	if (tg_db_begin(db, 0, err) != 0)
		return -1;
	if ((ret = rx_raw_media(db, id, media, medialen, err)) != 0)
		goto out;
	if ((ret = tg_db_prepare(db, "SELECT data FROM rx_raw WHERE report = ? "
	    "ORDER BY seq", &st, err)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (tg_buf_append(out, sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0)) != 0) {
			ret = tg_err_set(err, TG_ERR_PERM, NULL, "the original "
			    "does not fit %zu bytes", out->limit);
			break;
		}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = tg_db_error(db, rc, "reading the original", err);
	sqlite3_finalize(st);
out:
	tg_db_rollback(db);
	return ret;
}

/* ---- summaries --------------------------------------------------- */

#define RX_SUM_FROM \
	"FROM rx_policies p JOIN rx_reports r ON r.id = p.report " \
	"WHERE (?1 IS NULL OR p.policy_domain = ?1) AND r.start_time >= ?2 "
#define RX_DAY "date(r.start_time, 'unixepoch')"

static const char *const rx_summary_sql[] = {
	[TG_REPORTS_BY_DAY] = "SELECT " RX_DAY ", p.policy_domain, '', "
	    "sum(p.success), sum(p.failure), count(DISTINCT r.id) "
	    RX_SUM_FROM "GROUP BY 1, 2 ORDER BY 1, 2",
	[TG_REPORTS_BY_RESULT] = "SELECT " RX_DAY ", p.policy_domain, "
	    "f.result_type, 0, sum(f.failed_session_count), "
	    "count(DISTINCT r.id) FROM rx_failures f "
	    "JOIN rx_policies p ON p.id = f.policy "
	    "JOIN rx_reports r ON r.id = p.report "
	    "WHERE (?1 IS NULL OR p.policy_domain = ?1) AND "
	    "r.start_time >= ?2 GROUP BY 1, 2, 3 ORDER BY 1, 2, 5 DESC, 3",
	[TG_REPORTS_BY_ORG] = "SELECT " RX_DAY ", p.policy_domain, r.org, "
	    "sum(p.success), sum(p.failure), count(DISTINCT r.id) "
	    RX_SUM_FROM "GROUP BY 1, 2, 3 ORDER BY 1, 2, 5 DESC, 3",
	[TG_REPORTS_BY_PARTNER] = "SELECT '', p.policy_domain, r.org, "
	    "sum(p.success), sum(p.failure), count(DISTINCT r.id) "
	    RX_SUM_FROM "GROUP BY 2, 3 ORDER BY 5 DESC, 2, 3",
};

int
tg_reports_rx_summary(struct tg_reports *r, enum tg_reports_rx_group g,
    const char *domain, time_t since, tg_reports_rx_sum_fn fn, void *arg,
    struct tg_err *err)
{
	struct tg_reports_rx_sum s;
	sqlite3 *db = tg_reports_db(r);
	sqlite3_stmt *st;
	int rc, ret = 0;

	tg_err_clear(err);
	if ((unsigned)g > TG_REPORTS_BY_PARTNER)
		return tg_err_set(err, TG_ERR_BUG, NULL, "bad summary kind");
	if (tg_db_prepare(db, rx_summary_sql[g], &st, err) != 0)
		return -1;
	if (domain != NULL)
		tg_db_bind_text(st, 1, domain);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		s.day = col_text(st, 0);
		s.domain = col_text(st, 1);
		s.key = col_text(st, 2);
		s.success = sqlite3_column_int64(st, 3);
		s.failure = sqlite3_column_int64(st, 4);
		s.reports = sqlite3_column_int64(st, 5);
		if ((ret = fn(&s, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = tg_db_error(db, rc, "summarising reports", err);
	sqlite3_finalize(st);
	return ret;
}

/* ---- outgoing reports -------------------------------------------- */

int
tg_reports_tx_exists(struct tg_reports *r, const char *day,
    const char *policy_domain, int *exists, struct tg_err *err)
{
	sqlite3 *db = tg_reports_db(r);
	sqlite3_stmt *st;
	int rc;

	tg_err_clear(err);
	if (tg_db_prepare(db, "SELECT 1 FROM tx_reports WHERE day = ? AND "
	    "policy_domain = ?", &st, err) != 0)
		return -1;
	tg_db_bind_text(st, 1, day);
	tg_db_bind_text(st, 2, policy_domain);
	rc = tg_db_step_row(db, st, err);
	sqlite3_finalize(st);
	if (rc < 0)
		return -1;
	*exists = rc;
	return 0;
}

static int
tx_check(const struct tg_reports_tx_new *t, size_t n, struct tg_err *err)
{
	if (nz(t->day)[0] == '\0' || strlen(t->day) != 10)
		return tg_err_set(err, TG_ERR_PERM, NULL, "bad day '%s'",
		    nz(t->day));
	if (!tg_dname_is_valid(nz(t->policy_domain)))
		return tg_err_set(err, TG_ERR_PERM, NULL, "policy domain '%s' "
		    "is not a normalised domain name", nz(t->policy_domain));
	if (n > TG_STORE_RUA_URIS_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "more than %d rua "
		    "URIs", TG_STORE_RUA_URIS_MAX);
	if (rx_check_text(t->report_id, "report id", err) != 0 ||
	    rx_check_text(t->filename, "file name", err) != 0 ||
	    rx_check_text(t->rua, "rua", err) != 0 ||
	    rx_check_text(t->note, "note", err) != 0)
		return -1;
	return 0;
}

static int
tx_insert_head(sqlite3 *db, const struct tg_reports_tx_new *t, int64_t *id,
    struct tg_err *err)
{
	static const char sql[] =
	    "INSERT INTO tx_reports (day, policy_domain, report_id, filename, "
	    "created, rua, note, success, failure, report_gz) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st;
	int rc;

	if (tg_db_prepare(db, sql, &st, err) != 0)
		return -1;
	tg_db_bind_text(st, 1, t->day);
	tg_db_bind_text(st, 2, t->policy_domain);
	tg_db_bind_text(st, 3, nz(t->report_id));
	tg_db_bind_text(st, 4, nz(t->filename));
	sqlite3_bind_int64(st, 5, (sqlite3_int64)t->created);
	tg_db_bind_text(st, 6, nz(t->rua));
	tg_db_bind_text(st, 7, nz(t->note));
	sqlite3_bind_int64(st, 8, t->success);
	sqlite3_bind_int64(st, 9, t->failure);
	if (t->gz != NULL)
		sqlite3_bind_blob(st, 10, t->gz, (int)t->gz_len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return tg_db_error(db, rc, "recording a report", err);
	*id = sqlite3_last_insert_rowid(db);
	return 0;
}

static int
tx_insert_deliveries(sqlite3 *db, int64_t id, const char *const *uris,
    size_t n, time_t first_try, time_t deadline, time_t now,
    struct tg_err *err)
{
	static const char sql[] =
	    "INSERT OR IGNORE INTO tx_deliveries (report, uri, state, "
	    "next_try, deadline, updated) VALUES (?, ?, 'pending', ?, ?, ?)";
	sqlite3_stmt *st;
	int rc = SQLITE_DONE;
	size_t i;

	if (tg_db_prepare(db, sql, &st, err) != 0)
		return -1;
	for (i = 0; i < n && rc == SQLITE_DONE; i++) {
		sqlite3_bind_int64(st, 1, id);
		tg_db_bind_text(st, 2, uris[i]);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)first_try);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)deadline);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)now);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return tg_db_error(db, rc, "recording deliveries", err);
	return 0;
}

int
tg_reports_tx_add(struct tg_reports *r, const struct tg_reports_tx_new *t,
    const char *const *uris, size_t n, time_t first_try, time_t deadline,
    int64_t *id, int *exists, struct tg_err *err)
{
	sqlite3 *db = tg_reports_db(r);
	int have;

	tg_err_clear(err);
	*id = 0;
	*exists = 0;
	if (tx_check(t, n, err) != 0)
		return -1;
	if (tg_db_begin(db, 1, err) != 0)
		return -1;
	if (tg_reports_tx_exists(r, t->day, t->policy_domain, &have,
	    err) != 0)
		goto fail;
	if (have) {
		*exists = 1;
		tg_db_rollback(db);
		return 0;
	}
	if (tx_insert_head(db, t, id, err) != 0 ||
	    tx_insert_deliveries(db, *id, uris, n, first_try, deadline,
	    t->created, err) != 0)
		goto fail;
	if (tg_db_commit(db, err) != 0) {
		*id = 0;
		return -1;
	}
	return 0;
fail:
	tg_db_rollback(db);
	*id = 0;
	return -1;
}

#define TX_COLS \
	"SELECT d.id, t.id, t.day, t.policy_domain, t.report_id, " \
	"t.filename, d.uri, t.note, d.state, d.attempts, t.created, " \
	"d.next_try, d.deadline, d.updated, d.last_error, t.success, " \
	"t.failure, t.report_gz "

static int
tx_read(sqlite3_stmt *st, struct tg_reports_tx_delivery *d,
    struct tg_err *err)
{
	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(st, 0);
	d->report = sqlite3_column_int64(st, 1);
	d->day = col_text(st, 2);
	d->policy_domain = col_text(st, 3);
	d->report_id = col_text(st, 4);
	d->filename = col_text(st, 5);
	d->uri = col_text(st, 6);
	d->note = col_text(st, 7);
	if (tx_state_parse(col_text(st, 8), &d->state) != 0)
		return tg_err_set(err, TG_ERR_BUG, NULL, "bad delivery state "
		    "in reports.db");
	d->attempts = sqlite3_column_int64(st, 9);
	d->created = (time_t)sqlite3_column_int64(st, 10);
	d->next_try = (time_t)sqlite3_column_int64(st, 11);
	d->deadline = (time_t)sqlite3_column_int64(st, 12);
	d->updated = (time_t)sqlite3_column_int64(st, 13);
	d->last_error = col_text(st, 14);
	d->success = sqlite3_column_int64(st, 15);
	d->failure = sqlite3_column_int64(st, 16);
	d->gz = sqlite3_column_blob(st, 17);
	d->gz_len = (size_t)sqlite3_column_bytes(st, 17);
	return 0;
}

static int
tx_walk(sqlite3 *db, sqlite3_stmt *st, tg_reports_tx_fn fn, void *arg,
    struct tg_err *err)
{
	struct tg_reports_tx_delivery d;
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((ret = tx_read(st, &d, err)) != 0 ||
		    (ret = fn(&d, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = tg_db_error(db, rc, "reading deliveries", err);
	sqlite3_finalize(st);
	return ret;
}

int
tg_reports_tx_deliveries(struct tg_reports *r, const char *day, int due,
    time_t now, tg_reports_tx_fn fn, void *arg, struct tg_err *err)
{
	static const char sql[] = TX_COLS
	    "FROM tx_deliveries d JOIN tx_reports t ON t.id = d.report "
	    "WHERE (?1 IS NULL OR t.day = ?1) AND (?2 = 0 OR "
	    "(d.state = 'pending' AND d.next_try <= ?3)) "
	    "ORDER BY d.next_try, d.id";
	sqlite3 *db = tg_reports_db(r);
	sqlite3_stmt *st;

	tg_err_clear(err);
	if (tg_db_prepare(db, sql, &st, err) != 0)
		return -1;
	if (day != NULL)
		tg_db_bind_text(st, 1, day);
	sqlite3_bind_int(st, 2, due != 0);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
	return tx_walk(db, st, fn, arg, err);
}

int
tg_reports_tx_unsent(struct tg_reports *r, const char *day,
    tg_reports_tx_fn fn, void *arg, struct tg_err *err)
{
	static const char sql[] =
	    "SELECT 0, t.id, t.day, t.policy_domain, t.report_id, t.filename, "
	    "'', t.note, 'sent', 0, t.created, 0, 0, t.created, '', "
	    "t.success, t.failure, t.report_gz FROM tx_reports t "
	    "WHERE (?1 IS NULL OR t.day = ?1) AND NOT EXISTS "
	    "(SELECT 1 FROM tx_deliveries d WHERE d.report = t.id) "
	    "ORDER BY t.day, t.policy_domain";
	sqlite3 *db = tg_reports_db(r);
	sqlite3_stmt *st;

	tg_err_clear(err);
	if (tg_db_prepare(db, sql, &st, err) != 0)
		return -1;
	if (day != NULL)
		tg_db_bind_text(st, 1, day);
	return tx_walk(db, st, fn, arg, err);
}

int
tg_reports_tx_set(struct tg_reports *r, int64_t id,
    enum tg_reports_tx_state state, int64_t attempts, time_t next_try,
    const char *last_error, time_t now, struct tg_err *err)
{
	static const char sql[] = "UPDATE tx_deliveries SET state = ?, "
	    "attempts = ?, next_try = ?, last_error = ?, updated = ? "
	    "WHERE id = ?";
	char why[TG_REPORTS_TEXT_MAX];
	sqlite3 *db = tg_reports_db(r);
	sqlite3_stmt *st;
	int rc;

	tg_err_clear(err);
	if ((unsigned)state > TG_REPORTS_TX_EXPIRED || attempts < 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "bad delivery state");
	/* A reason is human text: cut it rather than refuse the update. */
	tg_text_fmt(why, sizeof(why), "%s", nz(last_error));
	if (tg_db_prepare(db, sql, &st, err) != 0)
		return -1;
	tg_db_bind_text(st, 1, tg_reports_tx_state_name(state));
	sqlite3_bind_int64(st, 2, attempts);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)next_try);
	tg_db_bind_text(st, 4, why);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)now);
	sqlite3_bind_int64(st, 6, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return tg_db_error(db, rc, "updating a delivery", err);
	return sqlite3_changes(db) == 0 ? TG_REPORTS_NOTFOUND : 0;
}

int
tg_reports_tx_prune(struct tg_reports *r, const char *before_day,
    int64_t *removed, struct tg_err *err)
{
	sqlite3 *db = tg_reports_db(r);
	sqlite3_stmt *st;
	int rc;

	tg_err_clear(err);
	if (tg_db_prepare(db, "DELETE FROM tx_reports WHERE day < ?", &st,
	    err) != 0)
		return -1;
	tg_db_bind_text(st, 1, before_day);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return tg_db_error(db, rc, "pruning outgoing reports", err);
	if (removed != NULL)
		*removed = sqlite3_changes(db);
	return 0;
}
