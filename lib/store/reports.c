/*
 * store/reports — see reports.h.
 */
#include "store/reports.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "store/schema.h"
#include "util/dname.h"
#include "util/path.h"

struct tg_reports {
	sqlite3 *db;			/* owned */
};

/* RFC 8460 §4.3: the result types a report may carry. */
static const char *const result_types[] = {
	"starttls-not-supported", "certificate-host-mismatch",
	"certificate-expired", "certificate-not-trusted", "validation-failure",
	"tlsa-invalid", "dnssec-invalid", "dane-required",
	"sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
};

static const char *const policy_type_names[] = {
	"tlsa", "sts", "no-policy-found"
};

const char *
tg_reports_policy_type_name(enum tg_reports_policy_type t)
{
	if ((size_t)t < sizeof(policy_type_names) /
	    sizeof(policy_type_names[0]))
		return policy_type_names[t];
	return "invalid";
}

static int
reports_policy_type_parse(const char *s, enum tg_reports_policy_type *out)
{
	size_t i;

	for (i = 0; i < sizeof(policy_type_names) /
	    sizeof(policy_type_names[0]); i++)
		if (strcmp(s, policy_type_names[i]) == 0) {
			*out = (enum tg_reports_policy_type)i;
			return 0;
		}
	return -1;
}

int
tg_reports_result_type_valid(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(result_types) / sizeof(result_types[0]); i++)
		if (strcmp(s, result_types[i]) == 0)
			return 1;
	return 0;
}

void
tg_reports_day(time_t t, char out[11])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

int
tg_reports_open(const char *state_dir, int readonly, struct tg_reports **out,
    struct tg_err *err)
{
	char path[TG_PATH_MAX];
	struct tg_reports *r;

	*out = NULL;
	if (tg_path_fmt(path, sizeof(path), "%s/%s", state_dir,
	    TG_REPORTS_FILE) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "state directory path is too long");
	if (readonly && access(path, F_OK) != 0 && errno == ENOENT)
		return tg_err_set(err, TG_ERR_PERM, NULL, "no reports database "
		    "at %s yet", path);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	if (tg_db_open(path, &tg_schema_reports, readonly ? TG_DB_READONLY : 0,
	    &r->db, err) != 0) {
		free(r);
		return -1;
	}
	*out = r;
	return 0;
}

void
tg_reports_close(struct tg_reports *r)
{
	if (r == NULL)
		return;
	tg_db_close(r->db);
	free(r);
}

struct sqlite3 *
tg_reports_db(struct tg_reports *r)
{
	return r->db;
}

int
tg_reports_batch_begin(struct tg_reports *r, struct tg_err *err)
{
	return tg_db_begin(r->db, 1, err);
}

int
tg_reports_batch_end(struct tg_reports *r, struct tg_err *err)
{
	return tg_db_commit(r->db, err);
}

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

static int
reports_check_session(const struct tg_reports_session *s,
    struct tg_err *err)
{
	const char *texts[] = { s->mx_hosts, s->sending_ip,
	    s->receiving_mx_hostname, s->receiving_mx_helo, s->receiving_ip,
	    s->additional_information, s->failure_reason_code };
	size_t i;

	if (!tg_dname_is_valid(nz(s->policy_domain)))
		return tg_err_set(err, TG_ERR_PERM, NULL, "policy domain '%s' "
		    "is not a normalised domain name", nz(s->policy_domain));
	if (s->result_type != NULL && s->result_type[0] != '\0' &&
	    !tg_reports_result_type_valid(s->result_type))
		return tg_err_set(err, TG_ERR_PERM, NULL, "'%s' is not an RFC "
		    "8460 result type", s->result_type);
	if ((size_t)s->policy_type >= sizeof(policy_type_names) /
	    sizeof(policy_type_names[0]))
		return tg_err_set(err, TG_ERR_PERM, NULL, "bad policy type");
	if (strlen(nz(s->policy_strings)) >= TG_REPORTS_POLICY_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "policy strings too "
		    "long");
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (strlen(nz(texts[i])) >= TG_REPORTS_TEXT_MAX)
			return tg_err_set(err, TG_ERR_PERM, NULL, "a result "
			    "field is longer than %d bytes",
			    TG_REPORTS_TEXT_MAX - 1);
	return 0;
}

int
tg_reports_record_session(struct tg_reports *r,
    const struct tg_reports_session *s, struct tg_err *err)
{
	static const char sql[] =
	    "INSERT INTO tls_sessions (day, policy_domain, policy_type, "
	    "policy_strings, mx_hosts, result_type, sending_ip, "
	    "receiving_mx_hostname, receiving_mx_helo, receiving_ip, "
	    "additional_information, failure_reason_code, count) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) "
	    "ON CONFLICT DO UPDATE SET count = count + 1";
	int failure = s->result_type != NULL && s->result_type[0] != '\0';
	const char *vals[12];
	sqlite3_stmt *st;
	char day[11];
	int i, rc;

	tg_err_clear(err);
	if (reports_check_session(s, err) != 0)
		return -1;
	tg_reports_day(s->when, day);
	vals[0] = day;
	vals[1] = s->policy_domain;
	vals[2] = tg_reports_policy_type_name(s->policy_type);
	vals[3] = nz(s->policy_strings);
	vals[4] = nz(s->mx_hosts);
	vals[5] = failure ? s->result_type : "";
	/* Successes aggregate into one row: failure details do not apply. */
	vals[6] = failure ? nz(s->sending_ip) : "";
	vals[7] = failure ? nz(s->receiving_mx_hostname) : "";
	vals[8] = failure ? nz(s->receiving_mx_helo) : "";
	vals[9] = failure ? nz(s->receiving_ip) : "";
	vals[10] = failure ? nz(s->additional_information) : "";
	vals[11] = failure ? nz(s->failure_reason_code) : "";
	if (tg_db_prepare(r->db, sql, &st, err) != 0)
		return -1;
	for (i = 0; i < 12; i++)
		tg_db_bind_text(st, i + 1, vals[i]);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return tg_db_error(r->db, rc, "recording a TLS session", err);
	return 0;
}

static int
reports_read_row(sqlite3_stmt *st, struct tg_reports_row *row,
    struct tg_err *err)
{
	char type[32];
	struct {
		char *dst;
		size_t len;
	} cols[] = {
		{ row->day, sizeof(row->day) },
		{ row->policy_domain, sizeof(row->policy_domain) },
		{ type, sizeof(type) },
		{ row->policy_strings, sizeof(row->policy_strings) },
		{ row->mx_hosts, sizeof(row->mx_hosts) },
		{ row->result_type, sizeof(row->result_type) },
		{ row->sending_ip, sizeof(row->sending_ip) },
		{ row->receiving_mx_hostname,
		  sizeof(row->receiving_mx_hostname) },
		{ row->receiving_mx_helo, sizeof(row->receiving_mx_helo) },
		{ row->receiving_ip, sizeof(row->receiving_ip) },
		{ row->additional_information,
		  sizeof(row->additional_information) },
		{ row->failure_reason_code, sizeof(row->failure_reason_code) },
	};
	size_t i;

	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		if (tg_db_column_text(st, (int)i, cols[i].dst, cols[i].len,
		    err) != 0)
			return -1;
	if (reports_policy_type_parse(type, &row->policy_type) != 0)
		return tg_err_set(err, TG_ERR_BUG, NULL, "bad policy type '%s' "
		    "in reports.db", type);
	row->count = sqlite3_column_int64(st, 12);
	return 0;
}

int
tg_reports_sessions(struct tg_reports *r, const char *day,
    const char *policy_domain, tg_reports_row_fn fn, void *arg,
    struct tg_err *err)
{
	static const char sql[] =
	    "SELECT day, policy_domain, policy_type, policy_strings, mx_hosts, "
	    "result_type, sending_ip, receiving_mx_hostname, "
	    "receiving_mx_helo, receiving_ip, additional_information, "
	    "failure_reason_code, count "
	    "FROM tls_sessions WHERE day = ?1 AND (?2 IS NULL OR "
	    "policy_domain = ?2) ORDER BY policy_domain, policy_type, "
	    "policy_strings, mx_hosts, result_type <> '', result_type, id";
	struct tg_reports_row *row;
	sqlite3_stmt *st;
	int rc, ret = 0;

	tg_err_clear(err);
	if ((row = malloc(sizeof(*row))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	if (tg_db_prepare(r->db, sql, &st, err) != 0) {
		free(row);
		return -1;
	}
	tg_db_bind_text(st, 1, day);
	if (policy_domain != NULL)
		tg_db_bind_text(st, 2, policy_domain);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (reports_read_row(st, row, err) != 0) {
			ret = -1;
			break;
		}
		if ((ret = fn(row, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = tg_db_error(r->db, rc, "reading TLS sessions", err);
	sqlite3_finalize(st);
	free(row);
	return ret;
}

int
tg_reports_session_domains(struct tg_reports *r, const char *day,
    tg_reports_domain_fn fn, void *arg, struct tg_err *err)
{
	static const char sql[] = "SELECT DISTINCT policy_domain FROM "
	    "tls_sessions WHERE day = ? ORDER BY policy_domain";
	char domain[TG_DNAME_MAX + 1];
	sqlite3_stmt *st;
	int rc, ret = 0;

	tg_err_clear(err);
	if (tg_db_prepare(r->db, sql, &st, err) != 0)
		return -1;
	tg_db_bind_text(st, 1, day);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (tg_db_column_text(st, 0, domain, sizeof(domain),
		    err) != 0) {
			ret = -1;
			break;
		}
		if ((ret = fn(domain, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = tg_db_error(r->db, rc, "reading TLS session domains",
		    err);
	sqlite3_finalize(st);
	return ret;
}

int
tg_reports_prune_sessions(struct tg_reports *r, const char *before_day,
    int64_t *removed, struct tg_err *err)
{
	sqlite3_stmt *st;
	int rc;

	tg_err_clear(err);
	if (tg_db_prepare(r->db, "DELETE FROM tls_sessions WHERE day < ?", &st,
	    err) != 0)
		return -1;
	tg_db_bind_text(st, 1, before_day);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return tg_db_error(r->db, rc, "pruning TLS sessions", err);
	if (removed != NULL)
		*removed = sqlite3_changes(r->db);
	return 0;
}
