/*
 * rpt/send — the reporting job: a run makes the missing reports of a day
 * (one `_smtp._tls` lookup per domain, at most SEND_LOOKUPS_MAX at a
 * time), then attempts every due delivery (at most SEND_ACTIVE_MAX at a
 * time). Progress is driven by one zero-delay "kick" event, so nothing
 * is freed or finished inside a resolver, fetch or SMTP callback. See
 * send.h.
 */
#include "rpt/send.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "core/log.h"
#include "rpt/gzip.h"
#include "rpt/send_int.h"
#include "rpt/tlsrpt.h"
#include "util/clock.h"
#include "util/dname.h"
#include "util/limits.h"
#include "util/text.h"

#define SEND_LOOKUPS_MAX	16
#define SEND_ACTIVE_MAX		8
#define SEND_TXT_MAX		4096	/* one _smtp._tls record, joined */
#define SEND_TODO_MAX		100000	/* domains of one day */

struct send_lookup {
	struct tg_send *s;
	char domain[TG_DNAME_MAX + 1];
	struct tg_dns_query *q;		/* owned by the resolver */
	struct send_lookup *next;
};

struct send_dlv {
	struct tg_send *s;
	int64_t id, attempts;
	time_t deadline;
	char day[11];
	char domain[TG_DNAME_MAX + 1];
	char *uri, *report_id, *filename;	/* owned */
	void *gz;				/* owned */
	size_t gz_len;
	char outbox_name[TG_DNAME_MAX + 64];
	struct tg_fetch_req *req;	/* in flight, owned by the fetcher */
	struct send_smtp *smtp;		/* owned */
	struct tg_buf msg;		/* the mail, while submitted */
	int unreachable;
	struct send_dlv *next;
};

enum send_phase { PH_IDLE = 0, PH_GENERATE, PH_DELIVER };

struct tg_send {
	struct event_base *base;	/* borrowed */
	struct tg_resolver *res;	/* borrowed */
	struct tg_fetch *fetch;		/* borrowed */
	struct tg_reports *db;		/* borrowed */
	struct tg_send_config cfg;	/* strings borrowed */
	struct event *kick;		/* owned */
	enum send_phase phase;
	unsigned flags;
	char day[11];
	char (*todo)[TG_DNAME_MAX + 1];	/* owned: domains to make */
	size_t n_todo, next_todo, cap_todo;
	struct send_lookup *lookups;	/* owned */
	unsigned n_lookups;
	struct send_dlv *queue;		/* owned: due, not started */
	struct send_dlv *active;	/* owned: in flight */
	struct send_dlv *dead;		/* owned: finished, to free */
	unsigned n_active;
	tg_send_event_fn ev;
	tg_send_done_fn done;
	void *arg;
	struct tg_send_stats st;
};

static void send_kick(struct tg_send *s);

/* ---- events and log lines ---------------------------------------- */

static const char *const ev_names[] = {
	"built", "not-requested", "lookup-failed", "delivered", "retry",
	"failed"
};

/* A quoted log value: a double quote would end it (core/log escapes the
 * rest of the line). */
static void
send_quote(char *out, size_t outlen, const char *s)
{
	size_t o = 0;

	for (; s != NULL && *s != '\0' && o + 1 < outlen; s++)
		out[o++] = *s == '"' ? '\'' : *s;
	out[o] = '\0';
}

static void
send_emit(struct tg_send *s, const struct tg_send_event *e, int64_t attempts)
{
	char uri[TG_TLSRPT_URI_MAX], text[TG_ERR_MSG_MAX];

	send_quote(uri, sizeof(uri), e->uri);
	send_quote(text, sizeof(text), e->text);
	tg_log(e->kind == TG_SEND_EV_FAILED ||
	    e->kind == TG_SEND_EV_LOOKUP_FAILED ? TG_LOG_WARN : TG_LOG_INFO,
	    NULL, "event=report-out day=%s domain=%s result=%s uri=\"%s\" "
	    "file=%s attempts=%lld%s reason=\"%s\"", e->day, e->domain,
	    ev_names[e->kind], uri, e->filename != NULL ? e->filename : "",
	    (long long)attempts, s->flags & TG_SEND_DRY_RUN ? " dry_run=yes" :
	    "", text);
	if (s->ev != NULL)
		s->ev(e, s->arg);
}

static void
send_emit_simple(struct tg_send *s, enum tg_send_event_kind kind,
    const char *domain, const char *text)
{
	struct tg_send_event e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.day = s->day;
	e.domain = domain;
	e.uri = "";
	e.text = text;
	send_emit(s, &e, 0);
}

/* ---- setting up -------------------------------------------------- */

static void
send_on_kick(evutil_socket_t fd, short what, void *arg);

static int
send_check_config(const struct tg_send_config *c, struct tg_err *err)
{
	if (c->org_name == NULL || c->org_name[0] == '\0' ||
	    c->contact == NULL || c->contact[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL, "report.org_name and "
		    "report.contact must be set to send TLS reports (RFC 8460 "
		    "§4.4)");
	if (c->submitter == NULL || !tg_dname_is_valid(c->submitter))
		return tg_err_set(err, TG_ERR_PERM, NULL, "the submitter '%s' "
		    "is not a domain name", c->submitter != NULL ?
		    c->submitter : "");
	if (c->mail_from == NULL || c->helo_name == NULL ||
	    c->outbox_dir == NULL || c->marker_key == NULL)
		return tg_err_set(err, TG_ERR_BUG, NULL, "incomplete sender "
		    "config");
	if (c->dkim_selector != NULL && c->dkim_selector[0] != '\0' &&
	    c->dkim_key_file == NULL)
		return tg_err_set(err, TG_ERR_BUG, NULL, "DKIM selector "
		    "without a key file");
	return 0;
}

struct tg_send *
tg_send_new(struct event_base *base, struct tg_resolver *res,
    struct tg_fetch *f, struct tg_reports *db,
    const struct tg_send_config *cfg, struct tg_err *err)
{
	struct tg_send *s;

	if (send_check_config(cfg, err) != 0)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->kick = event_new(base, -1, 0, send_on_kick, s)) == NULL) {
		free(s);
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		return NULL;
	}
	s->base = base;
	s->res = res;
	s->fetch = f;
	s->db = db;
	s->cfg = *cfg;
	return s;
}

static void
send_dlv_free(struct send_dlv *d)
{
	if (d->req != NULL)
		tg_fetch_cancel(d->req);
	send_smtp_free(d->smtp);
	tg_buf_free(&d->msg);
	free(d->uri);
	free(d->report_id);
	free(d->filename);
	free(d->gz);
	free(d);
}

static void
send_dlv_list_free(struct send_dlv **list)
{
	struct send_dlv *d;

	while ((d = *list) != NULL) {
		*list = d->next;
		send_dlv_free(d);
	}
}

void
tg_send_free(struct tg_send *s)
{
	struct send_lookup *l;

	if (s == NULL)
		return;
	while ((l = s->lookups) != NULL) {
		s->lookups = l->next;
		tg_resolver_cancel(s->res, l->q);
		free(l);
	}
	send_dlv_list_free(&s->queue);
	send_dlv_list_free(&s->active);
	send_dlv_list_free(&s->dead);
	free(s->todo);
	event_free(s->kick);
	free(s);
}

int
tg_send_busy(const struct tg_send *s)
{
	return s->phase != PH_IDLE;
}

void
tg_send_stats(const struct tg_send *s, struct tg_send_stats *out)
{
	*out = s->st;
}

static void
send_kick(struct tg_send *s)
{
	event_active(s->kick, EV_TIMEOUT, 1);
}

/* ---- making reports ---------------------------------------------- */

static void
send_random_hex(char *out, size_t nbytes)
{
	unsigned char b[16];
	size_t i;

	if (nbytes > sizeof(b))
		nbytes = sizeof(b);
	if (RAND_bytes(b, (int)nbytes) != 1)
		memset(b, 0, sizeof(b));	/* day and domain stay unique */
	for (i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The rua of the domain's record, or -1 (why in err) when it asked for
 * nothing (RFC 8460 §3). */
static int
send_policy(const struct tg_dns_answer *ans, struct tg_tlsrpt_txt *txt,
    struct tg_err *err)
{
	char (*texts)[SEND_TXT_MAX];
	const char *tp[TG_DNS_RR_MAX];
	size_t lens[TG_DNS_RR_MAX], i, n = 0;
	int rc;

	if (ans->status != TG_DNS_OK)
		return tg_err_set(err, TG_ERR_PERM, NULL, "no _smtp._tls "
		    "record (%s)", tg_dns_status_name(ans->status));
	if ((texts = calloc(TG_DNS_RR_MAX, sizeof(*texts))) == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
	for (i = 0; i < ans->nrr && n < TG_DNS_RR_MAX; i++) {
		if (ans->rr[i].type != TG_DNS_T_TXT ||
		    tg_dns_txt_join(ans->rr[i].data, ans->rr[i].len, texts[n],
		    SEND_TXT_MAX, &lens[n], NULL) != 0)
			continue;
		tp[n] = texts[n];
		n++;
	}
	rc = tg_tlsrpt_txt_select(tp, lens, n, txt, err);
	free(texts);
	return rc;
}

/* Record a day of a domain that asked for nothing. */
static void
send_not_requested(struct tg_send *s, const char *domain, const char *why)
{
	struct tg_reports_tx_new t;
	struct tg_err err;
	int64_t id;
	int exists;

	s->st.not_requested++;
	memset(&t, 0, sizeof(t));
	t.day = s->day;
	t.policy_domain = domain;
	t.created = tg_clock_now();
	t.note = why;
	if (!(s->flags & TG_SEND_DRY_RUN) && tg_reports_tx_add(s->db, &t, NULL,
	    0, 0, 0, &id, &exists, &err) != 0)
		tg_log_warn(NULL, "event=report-out day=%s domain=%s "
		    "result=store-failed error=\"%s\"", s->day, domain,
		    err.msg);
	send_emit_simple(s, TG_SEND_EV_NOT_REQUESTED, domain, why);
}

/* The report as stored and announced. */
struct send_made {
	char report_id[TG_DNAME_MAX + 48];
	char filename[2 * TG_DNAME_MAX + 64];
	struct tg_buf json, gz;
	int64_t success, failure;
};

static int
send_make(struct tg_send *s, const char *domain, struct send_made *m,
    struct tg_err *err)
{
	struct tg_report *r = NULL;
	char hex[13];
	size_t i;
	int rc;

	send_random_hex(hex, 6);
	tg_text_fmt(m->report_id, sizeof(m->report_id), "%s_%s_%s", s->day,
	    domain, hex);
	if ((rc = tg_send_build(s->db, &s->cfg, s->day, domain, m->report_id,
	    &r, err)) != 0)
		return rc;
	for (i = 0; i < r->n_policies; i++) {
		m->success += (int64_t)r->policies[i].success_count;
		m->failure += (int64_t)r->policies[i].failure_count;
	}
	rc = -1;
	if (tg_report_to_json(r, &m->json, err) == 0 &&
	    tg_gzip_deflate(m->json.data, m->json.len, TG_RPT_SEND_GZ_MAX,
	    &m->gz, err) == 0 &&
	    tg_report_filename(s->cfg.submitter, domain, r->start, r->end,
	    NULL, 1, m->filename, sizeof(m->filename), err) == 0)
		rc = 0;
	tg_report_free(r);
	return rc;
}

static unsigned
send_delay(const struct tg_send *s)
{
	uint32_t v = 0;

	if ((s->flags & TG_SEND_NOW) || s->cfg.delay_max_s == 0)
		return 0;
	/* RFC 8460 §4.1: spread the reports of all senders over time. */
	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		v = (uint32_t)tg_clock_mono_ms();
	return v % s->cfg.delay_max_s;
}

static void
send_store(struct tg_send *s, const char *domain,
    const struct tg_tlsrpt_txt *txt, struct send_made *m)
{
	const char *uris[TG_TLSRPT_RUA_MAX];
	char rua[TG_TLSRPT_RUA_MAX * (TG_TLSRPT_URI_MAX + 1)] = "";
	struct tg_reports_tx_new t;
	struct tg_send_event e;
	struct tg_err err;
	time_t now = tg_clock_now(), first = now + send_delay(s);
	int64_t id;
	size_t i;
	int exists = 0;

	for (i = 0; i < txt->rua_count; i++) {
		uris[i] = txt->rua[i];
		strcat(rua, i > 0 ? "," : "");
		strcat(rua, txt->rua[i]);
	}
	memset(&t, 0, sizeof(t));
	t.day = s->day;
	t.policy_domain = domain;
	t.report_id = m->report_id;
	t.filename = m->filename;
	t.created = now;
	t.rua = rua;
	t.success = m->success;
	t.failure = m->failure;
	t.gz = m->gz.data;
	t.gz_len = m->gz.len;
	if (!(s->flags & TG_SEND_DRY_RUN) && tg_reports_tx_add(s->db, &t, uris,
	    txt->rua_count, first, first + TG_RPT_SEND_TRY_S, &id, &exists,
	    &err) != 0) {
		send_emit_simple(s, TG_SEND_EV_LOOKUP_FAILED, domain, err.msg);
		return;
	}
	if (exists)
		return;		/* made by another process meanwhile */
	s->st.built++;
	memset(&e, 0, sizeof(e));
	e.kind = TG_SEND_EV_BUILT;
	e.day = s->day;
	e.domain = domain;
	e.uri = "";
	e.filename = m->filename;
	e.json = tg_buf_cstr(&m->json);
	e.rua = rua;
	e.text = "";
	e.success = m->success;
	e.failure = m->failure;
	send_emit(s, &e, 0);
}

static void
send_generate(struct tg_send *s, const char *domain,
    const struct tg_dns_answer *ans)
{
	struct tg_tlsrpt_txt txt;
	struct send_made m;
	struct tg_err err;

	if (ans->status == TG_DNS_TEMPFAIL || ans->security == TG_DNS_BOGUS) {
		s->st.lookup_failed++;
		send_emit_simple(s, TG_SEND_EV_LOOKUP_FAILED, domain,
		    ans->security == TG_DNS_BOGUS ? "_smtp._tls: DNSSEC "
		    "bogus" : ans->error);
		return;
	}
	/* RFC 8460 §3: never report to a domain that did not ask. */
	if (send_policy(ans, &txt, &err) != 0) {
		send_not_requested(s, domain, err.msg);
		return;
	}
	memset(&m, 0, sizeof(m));
	tg_buf_init(&m.json, TG_RPT_JSON_MAX);
	tg_buf_init(&m.gz, TG_RPT_SEND_GZ_MAX);
	if (send_make(s, domain, &m, &err) == 0)
		send_store(s, domain, &txt, &m);
	else
		send_emit_simple(s, TG_SEND_EV_LOOKUP_FAILED, domain, err.msg);
	tg_buf_free(&m.json);
	tg_buf_free(&m.gz);
}

static void
send_on_answer(const struct tg_dns_answer *ans, void *arg)
{
	struct send_lookup *l = arg, **pp;
	struct tg_send *s = l->s;

	for (pp = &s->lookups; *pp != NULL; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	s->n_lookups--;
	send_generate(s, l->domain, ans);
	free(l);
	send_kick(s);
}

static void
send_lookup_start(struct tg_send *s, const char *domain)
{
	char name[TG_DNAME_MAX + 16];
	struct send_lookup *l;
	struct tg_err err;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		send_emit_simple(s, TG_SEND_EV_LOOKUP_FAILED, domain,
		    "out of memory");
		return;
	}
	l->s = s;
	snprintf(l->domain, sizeof(l->domain), "%s", domain);
	tg_text_fmt(name, sizeof(name), "_smtp._tls.%s", domain);
	if ((l->q = tg_resolver_query(s->res, name, TG_DNS_T_TXT,
	    send_on_answer, l, &err)) == NULL) {
		free(l);
		s->st.lookup_failed++;
		send_emit_simple(s, TG_SEND_EV_LOOKUP_FAILED, domain, err.msg);
		return;
	}
	l->next = s->lookups;
	s->lookups = l;
	s->n_lookups++;
}

struct todo_walk {
	struct tg_send *s;
	struct tg_err *err;
};

static int
send_todo_add(const char *domain, void *arg)
{
	struct todo_walk *w = arg;
	struct tg_send *s = w->s;
	int exists = 0;
	void *p;

	if (!(s->flags & TG_SEND_DRY_RUN) &&
	    tg_reports_tx_exists(s->db, s->day, domain, &exists, w->err) != 0)
		return -1;
	if (exists || s->n_todo >= SEND_TODO_MAX)
		return 0;
	if (s->n_todo == s->cap_todo) {
		size_t cap = s->cap_todo != 0 ? s->cap_todo * 2 : 64;

		if ((p = realloc(s->todo, cap * sizeof(s->todo[0]))) == NULL) {
			tg_err_set(w->err, TG_ERR_TEMP, NULL, "out of memory");
			return -1;
		}
		s->todo = p;
		s->cap_todo = cap;
	}
	snprintf(s->todo[s->n_todo++], sizeof(s->todo[0]), "%s", domain);
	return 0;
}

/* ---- delivering -------------------------------------------------- */

static void
send_dlv_unlink(struct send_dlv **list, struct send_dlv *d)
{
	struct send_dlv **pp;

	for (pp = list; *pp != NULL; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			return;
		}
}

static int
send_is_https(const char *uri)
{
	return strncasecmp(uri, "https:", 6) == 0;
}

/* Record the outcome of an attempt (send.h: success, final, retry). */
static void
send_outcome(struct send_dlv *d, enum send_outcome o, const char *text)
{
	struct tg_send *s = d->s;
	enum tg_reports_tx_state state = TG_REPORTS_TX_SENT;
	enum tg_send_event_kind kind = TG_SEND_EV_DELIVERED;
	time_t now = tg_clock_now(), next = 0;
	char why[TG_ERR_MSG_MAX];
	struct tg_send_event e;
	struct tg_err err;

	tg_text_fmt(why, sizeof(why), "%s", text != NULL ? text : "");
	d->attempts++;
	if (o == SEND_PERM) {
		state = TG_REPORTS_TX_FAILED;
		kind = TG_SEND_EV_FAILED;
	} else if (o == SEND_TEMP) {
		next = tg_send_next_try(d->attempts, now);
		state = next > d->deadline ? TG_REPORTS_TX_EXPIRED :
		    TG_REPORTS_TX_PENDING;
		kind = next > d->deadline ? TG_SEND_EV_FAILED :
		    TG_SEND_EV_RETRY;
		if (d->unreachable && send_outbox_write(s->cfg.outbox_dir,
		    d->outbox_name, d->msg.data, d->msg.len, &err) == 0)
			tg_text_fmt(why, sizeof(why), "%s; the relay cannot be "
			    "reached: the message waits in %s/%s", text,
			    s->cfg.outbox_dir, d->outbox_name);
	} else if (!send_is_https(d->uri) && s->cfg.relay_addr != NULL &&
	    s->cfg.relay_addr[0] != '\0')
		send_outbox_remove(s->cfg.outbox_dir, d->outbox_name);
	if (kind == TG_SEND_EV_DELIVERED)
		s->st.delivered++;
	else if (kind == TG_SEND_EV_RETRY)
		s->st.retried++;
	else
		s->st.failed++;
	if (tg_reports_tx_set(s->db, d->id, state, d->attempts, next, why, now,
	    &err) != 0)
		tg_log_warn(NULL, "event=report-out day=%s domain=%s "
		    "result=store-failed error=\"%s\"", d->day, d->domain,
		    err.msg);
	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.day = d->day;
	e.domain = d->domain;
	e.uri = d->uri;
	e.filename = d->filename;
	e.text = why;
	send_emit(s, &e, d->attempts);
	send_dlv_unlink(&s->active, d);
	s->n_active--;
	d->next = s->dead;
	s->dead = d;
	send_kick(s);
}

static void
send_on_fetch(struct tg_fetch_result *res, void *arg)
{
	struct send_dlv *d = arg;
	char text[TG_ERR_MSG_MAX];

	d->req = NULL;
	if (!res->ok) {
		send_outcome(d, SEND_TEMP, res->err.msg);
		return;
	}
	tg_text_fmt(text, sizeof(text), "HTTP %ld", res->status);
	/* RFC 8460 §5.3.2: 2xx is success; send.h for the rest. */
	if (res->status >= 200 && res->status < 300)
		send_outcome(d, SEND_OK, text);
	else if (res->status >= 400 && res->status < 500 &&
	    res->status != 408 && res->status != 429)
		send_outcome(d, SEND_PERM, text);
	else
		send_outcome(d, SEND_TEMP, text);
}

static void
send_on_smtp(enum send_outcome o, const char *text, void *arg)
{
	send_outcome(arg, o, text);
}

static void
send_start_https(struct send_dlv *d)
{
	struct tg_fetch_params p = d->s->cfg.fetch;
	struct tg_err err;

	p.body_max = TG_RPT_SEND_REPLY_MAX;
	if (p.timeout_ms == 0)
		p.timeout_ms = TG_RPT_SEND_TIMEOUT_S * 1000L;
	if (tg_fetch_post(d->s->fetch, d->uri, &p, "application/tlsrpt+gzip",
	    d->gz, d->gz_len, send_on_fetch, d, &d->req, &err) != 0)
		send_outcome(d, err.cls == TG_ERR_PERM ? SEND_PERM : SEND_TEMP,
		    err.msg);
}

static void
send_start_mail(struct send_dlv *d)
{
	const struct tg_send_config *c = &d->s->cfg;
	char rcpt[TG_TLSRPT_URI_MAX];
	struct tg_err err;

	if (tg_send_mailto_addr(d->uri, rcpt, sizeof(rcpt), &err) != 0) {
		send_outcome(d, SEND_PERM, err.msg);
		return;
	}
	tg_buf_init(&d->msg, d->gz_len * 2 + 64 * 1024);
	if (tg_send_mail_build(c, rcpt, d->domain, d->report_id, d->filename,
	    d->gz, d->gz_len, tg_clock_now(), &d->msg, &err) != 0) {
		send_outcome(d, err.cls == TG_ERR_TEMP ? SEND_TEMP : SEND_PERM,
		    err.msg);
		return;
	}
	if (c->relay_addr == NULL || c->relay_addr[0] == '\0') {
		/* No relay configured: the outbox is the hand-over. */
		if (send_outbox_write(c->outbox_dir, d->outbox_name,
		    d->msg.data, d->msg.len, &err) != 0)
			send_outcome(d, SEND_TEMP, err.msg);
		else
			send_outcome(d, SEND_OK, "no relay configured: "
			    "written to the outbox");
		return;
	}
	if ((d->smtp = send_smtp_start(d->s->base, c, rcpt, d->msg.data,
	    d->msg.len, send_on_smtp, d, &d->unreachable, &err)) == NULL)
		send_outcome(d, SEND_TEMP, err.msg);
}

static void
send_start(struct send_dlv *d)
{
	struct tg_send *s = d->s;

	d->next = s->active;
	s->active = d;
	s->n_active++;
	if (tg_clock_now() > d->deadline)
		send_outcome(d, SEND_TEMP, "the retry period of a day is over");
	else if (send_is_https(d->uri))
		send_start_https(d);
	else
		send_start_mail(d);
}

static int
send_queue_add(const struct tg_reports_tx_delivery *row, void *arg)
{
	struct tg_send *s = arg;
	struct send_dlv *d;

	if (row->state != TG_REPORTS_TX_PENDING || row->gz == NULL)
		return 0;
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->uri = strdup(row->uri)) == NULL ||
	    (d->report_id = strdup(row->report_id)) == NULL ||
	    (d->filename = strdup(row->filename)) == NULL ||
	    (d->gz = malloc(row->gz_len)) == NULL) {
		if (d != NULL)
			send_dlv_free(d);
		return 1;
	}
	d->s = s;
	d->id = row->id;
	d->attempts = row->attempts;
	d->deadline = row->deadline;
	snprintf(d->day, sizeof(d->day), "%s", row->day);
	snprintf(d->domain, sizeof(d->domain), "%s", row->policy_domain);
	memcpy(d->gz, row->gz, row->gz_len);
	d->gz_len = row->gz_len;
	tg_text_fmt(d->outbox_name, sizeof(d->outbox_name), "%s_%s_%lld.eml",
	    d->day, d->domain, (long long)d->id);
	d->next = s->queue;
	s->queue = d;
	return 0;
}

static void
send_load_due(struct tg_send *s)
{
	int now_all = (s->flags & TG_SEND_NOW) != 0;
	struct tg_err err;

	if (tg_reports_tx_deliveries(s->db, now_all ? s->day : NULL, !now_all,
	    tg_clock_now(), send_queue_add, s, &err) != 0)
		tg_log_warn(NULL, "event=report-out result=read-failed "
		    "error=\"%s\"", err.msg[0] != '\0' ? err.msg :
		    "out of memory");
}

/* ---- the run ----------------------------------------------------- */

static void
send_advance(struct tg_send *s)
{
	struct send_dlv *d;

	send_dlv_list_free(&s->dead);
	if (s->phase == PH_GENERATE) {
		while (s->n_lookups < SEND_LOOKUPS_MAX &&
		    s->next_todo < s->n_todo)
			send_lookup_start(s, s->todo[s->next_todo++]);
		if (s->n_lookups > 0 || s->next_todo < s->n_todo)
			return;
		s->phase = PH_DELIVER;
		if (!(s->flags & TG_SEND_DRY_RUN))
			send_load_due(s);
	}
	if (s->phase != PH_DELIVER)
		return;
	while (s->n_active < SEND_ACTIVE_MAX && (d = s->queue) != NULL) {
		s->queue = d->next;
		send_start(d);
	}
	if (s->n_active > 0 || s->queue != NULL)
		return;
	s->phase = PH_IDLE;
	if (s->done != NULL)
		s->done(s, s->arg);
}

static void
send_on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_advance(arg);
}

int
tg_send_run(struct tg_send *s, const char *day, unsigned flags,
    tg_send_event_fn ev, tg_send_done_fn done, void *arg,
    struct tg_err *err)
{
	struct todo_walk w = { s, err };
	time_t now = tg_clock_now(), start;

	tg_err_clear(err);
	if (s->phase != PH_IDLE)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "a run is going on");
	if (day == NULL)
		tg_reports_day(now - 86400, s->day);
	else
		snprintf(s->day, sizeof(s->day), "%s", day);
	if ((start = send_day_start(s->day)) == (time_t)-1)
		return tg_err_set(err, TG_ERR_PERM, NULL, "'%s' is not a day "
		    "(YYYY-MM-DD)", day);
	if (start + 86400 > now)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s has not ended "
		    "yet (UTC): a report covers a whole day (RFC 8460 §4.1)",
		    s->day);
	memset(&s->st, 0, sizeof(s->st));
	s->flags = flags;
	s->ev = ev;
	s->done = done;
	s->arg = arg;
	s->n_todo = s->next_todo = 0;
	if (tg_reports_session_domains(s->db, s->day, send_todo_add, &w,
	    err) != 0)
		return -1;
	s->phase = PH_GENERATE;
	send_kick(s);
	return 0;
}
