/*
 * rpt/send — the sender's settings from the configuration file (send.h,
 * "from the configuration").
 */
#include "rpt/send.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/dname.h"
#include "util/limits.h"
#include "util/path.h"
#include "util/text.h"

/* The address in report.contact ("a@b" or "mailto:a@b"), or "". */
static void
settings_contact_addr(const char *contact, char *out, size_t outlen)
{
	struct tg_err err;
	char uri[TG_CONF_TEXT_MAX + 8];

	out[0] = '\0';
	if (strchr(contact, '@') == NULL)
		return;
	tg_text_fmt(uri, sizeof(uri), "%s%s", strncasecmp(contact, "mailto:",
	    7) == 0 ? "" : "mailto:", contact);
	if (tg_send_mailto_addr(uri, out, outlen, &err) != 0)
		out[0] = '\0';
}

/* RFC 6376 §3.1: a selector is one or more labels. */
static int
settings_selector_ok(const char *sel)
{
	size_t i;

	for (i = 0; sel[i] != '\0'; i++)
		if (!((sel[i] >= 'a' && sel[i] <= 'z') ||
		    (sel[i] >= 'A' && sel[i] <= 'Z') ||
		    (sel[i] >= '0' && sel[i] <= '9') || sel[i] == '-' ||
		    sel[i] == '_' || (sel[i] == '.' && i > 0)))
			return 0;
	return i > 0 && i <= TG_LABEL_MAX;
}

static int
settings_names(const struct tg_conf *conf, struct tg_send_settings *s,
    struct tg_err *err)
{
	char addr[TG_CONF_TEXT_MAX];
	const char *at;

	settings_contact_addr(conf->report_contact, addr, sizeof(addr));
	at = strrchr(addr, '@');
	if (at != NULL && tg_dname_normalize(at + 1, s->submitter,
	    sizeof(s->submitter), NULL) == 0)
		snprintf(s->mail_from, sizeof(s->mail_from), "%s", addr);
	else if (tg_dname_is_valid(conf->relay_hostname)) {
		snprintf(s->submitter, sizeof(s->submitter), "%s",
		    conf->relay_hostname);
		tg_text_fmt(s->mail_from, sizeof(s->mail_from),
		    "tlsrpt-noreply@%s", conf->relay_hostname);
	} else
		return tg_err_set(err, TG_ERR_PERM, NULL, "no domain to send "
		    "reports as: report.contact is not a mail address and "
		    "relay.hostname '%s' is not a domain name",
		    conf->relay_hostname);
	snprintf(s->helo_name, sizeof(s->helo_name), "%s",
	    tg_dname_is_valid(conf->relay_hostname) ? conf->relay_hostname :
	    s->submitter);
	return 0;
}

static int
settings_paths(const struct tg_conf *conf, int create_key,
    struct tg_send_settings *s, struct tg_err *err)
{
	if (tg_path_fmt(s->outbox_dir, sizeof(s->outbox_dir),
	    "%s/reports/outbox", conf->state_dir) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL, "state_dir is too "
		    "long");
	if (conf->report_dkim_selector[0] != '\0') {
		if (!settings_selector_ok(conf->report_dkim_selector))
			return tg_err_set(err, TG_ERR_PERM, NULL, "report."
			    "dkim_selector '%s' is not a DKIM selector",
			    conf->report_dkim_selector);
		if (tg_path_fmt(s->dkim_key_file, sizeof(s->dkim_key_file),
		    "%s/dkim/%s.key", conf->state_dir,
		    conf->report_dkim_selector) != 0)
			return tg_err_set(err, TG_ERR_PERM, NULL, "state_dir "
			    "is too long");
	}
	return tg_submark_key_load(conf->state_dir, create_key,
	    s->marker_key, err);
}

int
tg_send_settings_load(const struct tg_conf *conf, int create_key,
    struct tg_send_settings *s, struct tg_err *err)
{
	struct tg_send_config *c = &s->cfg;

	memset(s, 0, sizeof(*s));
	if (conf->report_org_name[0] == '\0' || conf->report_contact[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL, "report.org_name and "
		    "report.contact must be set to send TLS reports (RFC 8460 "
		    "§4.4)");
	if (settings_names(conf, s, err) != 0 ||
	    settings_paths(conf, create_key, s, err) != 0)
		return -1;
	if (conf->relay_listen.n > 0) {
		const char *h = conf->relay_listen.v[0].host;

		snprintf(s->relay_addr, sizeof(s->relay_addr), "%s",
		    h[0] == '\0' ? "127.0.0.1" : strcmp(h, "::") == 0 ? "::1" :
		    h);
		c->relay_port = conf->relay_listen.v[0].port;
	}
	c->org_name = conf->report_org_name;
	c->contact = conf->report_contact;
	c->submitter = s->submitter;
	c->mail_from = s->mail_from;
	c->helo_name = s->helo_name;
	c->relay_addr = s->relay_addr;
	c->outbox_dir = s->outbox_dir;
	c->dkim_selector = conf->report_dkim_selector;
	c->dkim_key_file = s->dkim_key_file[0] != '\0' ? s->dkim_key_file :
	    NULL;
	c->marker_key = s->marker_key;
	c->fetch.ca_file = conf->sts_ca_file[0] != '\0' ? conf->sts_ca_file :
	    NULL;
	c->fetch.allow_private_addresses = conf->sts_allow_private_addresses;
	c->delay_max_s = (unsigned)conf->report_send_delay;
	return 0;
}

