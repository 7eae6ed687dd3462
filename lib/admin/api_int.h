/*
 * admin/api_int — what the files of admin/api share; not for other
 * modules.
 *
 * api.c          the request checks, routing, login, logout, the session,
 *                replies, JSON input helpers and the log line
 * api_domains.c  the domain and certificate endpoints
 * api_views.c    the read-only views: the queues, the TLS reports
 * api_queue.c    the actions on one queued message, and a queue flush
 * api_relay.c    the relay networks and the outbound TLS policies
 * api_checks.c   the domain checks
 */
#ifndef TG_ADMIN_API_INT_H
#define TG_ADMIN_API_INT_H

#include <jansson.h>

#include "admin/api.h"

/* One call of tg_adminapi_handle. */
struct adminapi_call {
	const struct tg_adminapi *api;		/* borrowed */
	const struct tg_adminapi_request *req;	/* borrowed */
	struct tg_adminapi_reply *rep;		/* borrowed: filled */
	const char *name;	/* the NAME of a path, NUL-terminated; "" */
	struct tg_session sess;	/* a copy of the caller's session */
	int authed;		/* sess is set */
	json_t *in;		/* owned: the body of a POST, an object */
	char error[TG_ERR_MSG_MAX];	/* of the error reply, for the log */
	int logged;		/* adminapi_log was called */
};

/* Reply with status and body (taken; NULL: {}). */
void adminapi_reply(struct adminapi_call *c, unsigned status, json_t *body);

/* Reply {"error": text} with status. */
void adminapi_error(struct adminapi_call *c, unsigned status,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The one log line of a state-changing request: action, what it was
 * about (the "key=value" text what, may be NULL), result, and why (may be
 * NULL). The user and peer come from c. A POST its handler does not log
 * is logged by the dispatcher.
 */
void adminapi_log(struct adminapi_call *c, const char *action,
    const char *what, const char *result, const char *why);

/*
 * Every field of the body is one of known (NULL-terminated): 0, else a
 * 400 naming the first other one and -1.
 */
int adminapi_fields(struct adminapi_call *c, const char *const known[]);

/*
 * The body's string field: *out borrowed from the body, NULL when absent
 * and not required. 0; or -1 after a 400 (absent but required, not a
 * string, a NUL inside, more than max bytes).
 */
int adminapi_string(struct adminapi_call *c, const char *field,
    int required, size_t max, const char **out);

/* A store failure as a reply: bad input 400, a duplicate 409, the rest
 * 503. */
void adminapi_store_failed(struct adminapi_call *c, const struct tg_err *err);

/* The log line of a change, its result from the reply's status: ok
 * (2xx), refused (4xx) or failed, with the error as the reason. */
void adminapi_log_result(struct adminapi_call *c, const char *action,
    const char *what);

/* adminapi_log_result about "key=value" (value "" is logged as "-"). */
void adminapi_log_change(struct adminapi_call *c, const char *action,
    const char *key, const char *value);

/* ---- api_domains.c; each replies ---- */

void adminapi_domains_list(struct adminapi_call *c);
void adminapi_domains_add(struct adminapi_call *c);
void adminapi_domain_sts(struct adminapi_call *c);
void adminapi_domain_remove(struct adminapi_call *c);
void adminapi_certificates(struct adminapi_call *c);

/* ---- api_views.c; each replies ---- */

void adminapi_queue(struct adminapi_call *c);
void adminapi_reports(struct adminapi_call *c);

/* ---- api_queue.c; replies and logs ---- */

/* POST /api/queue/{outbound,inbound}/ID/{hold,release,delete}. */
void adminapi_queue_action(struct adminapi_call *c);

/* POST /api/queue/{outbound,inbound}/flush. */
void adminapi_queue_flush(struct adminapi_call *c);

/* ---- api_checks.c: POST /api/checks (logs), GET /api/checks/ID ---- */

void adminapi_check_start(struct adminapi_call *c);
void adminapi_check_get(struct adminapi_call *c);

/* ---- api_relay.c; each replies, the POSTs log ---- */


void adminapi_relay_list(struct adminapi_call *c);
void adminapi_relay_allow(struct adminapi_call *c);
void adminapi_relay_deny(struct adminapi_call *c);
void adminapi_policy_list(struct adminapi_call *c);
void adminapi_policy_set(struct adminapi_call *c);
void adminapi_policy_remove(struct adminapi_call *c);

#endif
