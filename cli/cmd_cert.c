/*
 * tlsgate cert list|tlsa|rollover|renew — the certificates in the store,
 * the TLSA records the MX host name needs, a new (next) MX key, and an
 * ACME renewal now (acme/renew, what controllerd does when one is due).
 *
 * `cert tlsa` prints, in zone-file form, the records to publish for the
 * MX name (relay.hostname unless given): DANE-EE, SPKI, SHA-256 ("3 1
 * 1", RFC 7671 §5.1; what `tlsgate check` expects) for the current
 * certificate and, when there is one, for the next, which must be
 * published beside it before it is used (RFC 7671 §8.1).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "acme/renew.h"
#include "cli.h"
#include "tls/certfile.h"
#include "util/clock.h"

#define CERT_NEXT_DAYS	365

struct cert_list {
	json_t *json;		/* NULL: a table */
	size_t n;
};

static void
cert_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t <= 0 || gmtime_r(&t, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
cert_list_one(const struct tg_store_cert *c, void *arg)
{
	struct cert_list *l = arg;
	char nb[32], na[32];

	char issuer[256];
	int self = 0, known;

	cert_time(c->not_before, nb, sizeof(nb));
	cert_time(c->not_after, na, sizeof(na));
	known = tg_certfile_issuer(c->cert_path, issuer, sizeof(issuer), &self,
	    NULL) == 0;
	l->n++;
	if (l->json != NULL)
		return json_array_append_new(l->json, json_pack("{s:I, s:s, "
		    "s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id",
		    (json_int_t)c->id, "name", c->name, "role",
		    tg_store_cert_role_name(c->role), "state",
		    tg_store_cert_state_name(c->state), "tlsa_state",
		    tg_store_tlsa_state_name(c->tlsa_state), "spki_sha256",
		    c->spki_sha256, "not_before", nb, "not_after", na,
		    "cert_path", c->cert_path, "key_path", c->key_path,
		    "issuer", known ? json_string(issuer) : json_null(),
		    "self_signed", known ? json_boolean(self) : json_null()));
	printf("%-4lld %-30s %-5s %-7s %-9s %s  %.16s...  %s\n",
	    (long long)c->id, c->name, tg_store_cert_role_name(c->role),
	    tg_store_cert_state_name(c->state),
	    tg_store_tlsa_state_name(c->tlsa_state), na, c->spki_sha256,
	    !known ? "(unreadable)" : self ? "self-signed" : issuer);
	return 0;
}

static int
cert_list(struct cli *cli, int argc, char **argv)
{
	struct cert_list l = { NULL, 0 };
	struct tg_store *st;
	struct tg_err err;
	int rc;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0))
		return cli_fail(CLI_USAGE, "usage: tlsgate cert list [--json]");
	if ((st = cli_store_open(cli, 1)) == NULL)
		return CLI_USAGE;
	if (argc == 2)
		l.json = json_array();
	else
		printf("%-4s %-30s %-5s %-7s %-9s %-20s  %-19s  %s\n", "ID",
		    "NAME", "ROLE", "STATE", "TLSA", "NOT AFTER",
		    "SPKI SHA-256", "ISSUER");
	rc = tg_store_cert_list(st, NULL, -1, cert_list_one, &l, &err);
	tg_store_close(st);
	if (rc != 0) {
		json_decref(l.json);
		return cli_fail(CLI_USAGE, "%s", err.msg);
	}
	return l.json != NULL ? cli_print_json(l.json) : CLI_OK;
}

/* The MX certificates that need a record: current and next. */
struct cert_tlsa {
	const struct tg_store_cert *found[2];	/* current, next */
	struct tg_store_cert keep[2];
};

static int
cert_tlsa_one(const struct tg_store_cert *c, void *arg)
{
	struct cert_tlsa *t = arg;
	int i = c->state == TG_STORE_CERT_CURRENT ? 0 :
	    c->state == TG_STORE_CERT_NEXT ? 1 : -1;

	if (i >= 0 && t->found[i] == NULL) {
		t->keep[i] = *c;
		t->found[i] = &t->keep[i];
	}
	return 0;
}

static int
cert_tlsa(struct cli *cli, int argc, char **argv)
{
	const struct tg_conf *conf;
	struct cert_tlsa t;
	struct tg_store *st;
	struct tg_err err;
	const char *name;
	int rc, i;

	if (argc > 2)
		return cli_fail(CLI_USAGE, "usage: tlsgate cert tlsa [NAME]");
	if ((conf = cli_conf(cli)) == NULL ||
	    (st = cli_store_open(cli, 1)) == NULL)
		return CLI_USAGE;
	name = argc == 2 ? argv[1] : conf->relay_hostname;
	memset(&t, 0, sizeof(t));
	rc = tg_store_cert_list(st, name, TG_STORE_CERT_MX, cert_tlsa_one, &t,
	    &err);
	tg_store_close(st);
	if (rc != 0)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	if (t.found[0] == NULL)
		return cli_fail(CLI_PROBLEMS, "no current MX certificate for "
		    "%s (tlsgate init makes the first)", name);
	for (i = 0; i < 2; i++)
		if (t.found[i] != NULL)
			printf("_25._tcp.%s. IN TLSA 3 1 1 %s ; %s\n", name,
			    t.found[i]->spki_sha256, i == 0 ? "current: "
			    "served now" : "next: publish beside the "
			    "current one before it is used");
	return CLI_OK;
}

static int
cert_rollover(struct cli *cli, int argc, char **argv)
{
	const struct tg_conf *conf;
	struct tg_store_cert rec;
	struct cert_tlsa t;
	struct tg_store *st;
	struct tg_err err;
	int rc;

	(void)argv;
	if (argc != 1)
		return cli_fail(CLI_USAGE, "usage: tlsgate cert rollover");
	if ((conf = cli_conf(cli)) == NULL ||
	    (st = cli_store_open(cli, 0)) == NULL)
		return CLI_USAGE;
	memset(&t, 0, sizeof(t));
	rc = tg_store_cert_list(st, conf->relay_hostname, TG_STORE_CERT_MX,
	    cert_tlsa_one, &t, &err);
	if (rc == 0 && t.found[0] == NULL)
		rc = tg_err_set(&err, TG_ERR_PERM, NULL, "no current MX "
		    "certificate for %s (tlsgate init makes the first)",
		    conf->relay_hostname);
	if (rc == 0 && t.found[1] != NULL)
		rc = tg_err_set(&err, TG_ERR_PERM, NULL, "a rollover is under "
		    "way already: the next key is %.16s...",
		    t.found[1]->spki_sha256);
	if (rc == 0 && (tg_certfile_make(conf->state_dir, conf->relay_hostname,
	    CERT_NEXT_DAYS, TG_STORE_CERT_NEXT, &rec, &err) != 0 ||
	    tg_store_cert_add(st, &rec, NULL, &err) != 0))
		rc = -1;
	tg_store_close(st);
	if (rc != 0)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	printf("next key for %s: %s\n", conf->relay_hostname, rec.spki_sha256);
	if (conf->dane_update_server.n > 0 ||
	    conf->dane_update_hook[0] != '\0')
		printf("controllerd publishes its TLSA record beside the "
		    "current one and switches to it once the record has been "
		    "visible everywhere for two TTLs\n");
	else
		printf("publish its record beside the current one (tlsgate "
		    "cert tlsa); neither dane.update_server nor "
		    "dane.update_hook is set, so "
		    "controllerd does not do it\n");
	return CLI_OK;
}

/* Certificates to renew: every one of a name, or those due. */
struct cert_renew {
	const char *name;		/* NULL: those due */
	int64_t renew_before;
	int64_t ids[32];
	size_t n;
};

static int
cert_renew_pick(const struct tg_store_cert *c, void *arg)
{
	struct cert_renew *r = arg;
	int self;

	if (r->n == sizeof(r->ids) / sizeof(r->ids[0]) ||
	    c->role == TG_STORE_CERT_ADMIN || c->state == TG_STORE_CERT_RETIRED)
		return 0;
	if (r->name == NULL && ((self = tg_acme_cert_self_issued(c->cert_path,
	    NULL)) < 0 || tg_acme_renew_reason(c, self, r->renew_before,
	    tg_clock_now()) == NULL))
		return 0;
	r->ids[r->n++] = c->id;
	return 0;
}

/* dane.update_hook's runner for dns-01 answers, started the first time
 * one is wanted (the CLI has no sandbox; it ends with the process). */
static struct tg_hookrun *
cert_hook(const struct tg_conf *conf)
{
	static struct tg_hookrun *h;
	struct tg_err err;

	if (h == NULL && conf->acme_challenge == TG_CONF_ACME_DNS01 &&
	    conf->dane_update_hook[0] != '\0' &&
	    tg_hookrun_start(conf->dane_update_hook, &h, &err) != 0)
		fprintf(stderr, "tlsgate: dane.update_hook: %s\n", err.msg);
	return h;
}

/* Renew one; a line or a JSON object about it. */
static int
cert_renew_one(const struct tg_conf *conf, int64_t id, json_t *json)
{
	struct tg_acme_renewed done;
	struct tg_err err;
	char na[32];

	if (tg_acme_renew(conf, id, NULL, cert_hook(conf), &done,
	    &err) != 0) {
		if (json != NULL)
			json_array_append_new(json, json_pack("{s:I, s:b, s:s}",
			    "id", (json_int_t)id, "ok", 0, "error", err.msg));
		else
			fprintf(stderr, "tlsgate: %s\n", err.msg);
		return -1;
	}
	cert_time(done.not_after, na, sizeof(na));
	if (json != NULL)
		json_array_append_new(json, json_pack("{s:I, s:b, s:s, s:s, "
		    "s:s, s:s}", "id", (json_int_t)id, "ok", 1, "cert_path",
		    done.cert_path, "issuer", done.issuer, "not_after", na,
		    "spki_sha256", done.spki_sha256));
	else
		printf("certificate %lld renewed: issuer %s, valid until %s, "
		    "same key (SPKI %.16s...)\n", (long long)id, done.issuer,
		    na, done.spki_sha256);
	return 0;
}

static int
cert_renew(struct cli *cli, int argc, char **argv)
{
	const struct tg_conf *conf;
	struct cert_renew r;
	struct tg_store *st;
	struct tg_err err;
	json_t *json = NULL;
	int i, failed = 0;

	memset(&r, 0, sizeof(r));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && json == NULL)
			json = json_array();
		else if (argv[i][0] != '-' && r.name == NULL)
			r.name = argv[i];
		else {
			json_decref(json);
			return cli_fail(CLI_USAGE, "usage: tlsgate cert renew "
			    "[NAME] [--json]");
		}
	}
	if ((conf = cli_conf(cli)) == NULL) {
		json_decref(json);
		return CLI_USAGE;
	}
	if (conf->acme_directory[0] == '\0') {
		json_decref(json);
		return cli_fail(CLI_USAGE, "acme.directory is not set: there "
		    "is no CA to renew with");
	}
	r.renew_before = conf->acme_renew_before;
	if ((st = cli_store_open(cli, 1)) == NULL) {
		json_decref(json);
		return CLI_USAGE;
	}
	i = tg_store_cert_list(st, r.name, -1, cert_renew_pick, &r, &err);
	tg_store_close(st);
	if (i != 0) {
		json_decref(json);
		return cli_fail(CLI_USAGE, "%s", err.msg);
	}
	if (r.n == 0 && r.name != NULL) {
		json_decref(json);
		return cli_fail(CLI_USAGE, "no certificate for %s", r.name);
	}
	if (r.n == 0 && json == NULL)
		printf("no certificate is due for renewal\n");
	for (i = 0; i < (int)r.n; i++)
		failed |= cert_renew_one(conf, r.ids[i], json) != 0;
	if (json != NULL)
		cli_print_json(json);
	return failed ? CLI_PROBLEMS : CLI_OK;
}

static const struct cli_command cert_commands[] = {
	{ "list", cert_list, "the certificates in the store" },
	{ "tlsa", cert_tlsa, "the TLSA records the MX name needs" },
	{ "rollover", cert_rollover, "make the next MX key now" },
	{ "renew", cert_renew, "ACME certificates now (acme.directory)" },
	{ NULL, NULL, NULL }
};

int
cmd_cert(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "tlsgate cert", cert_commands, argc, argv);
}
