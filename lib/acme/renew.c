/*
 * acme/renew — see renew.h.
 */
#include "acme/renew.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "acme/acme.h"
#include "acme/acme_curl.h"
#include "core/log.h"
#include "dns/dnshook.h"
#include "dns/dnsupdate.h"
#include "dns/resolver_conf.h"
#include "dns/visible.h"
#include "tls/cert.h"
#include "tls/certfile.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/dname.h"
#include "util/path.h"

#define RENEW_CHECK_STEP_MS	250	/* between looks at stsd */
#define RENEW_CHECK_SLACK_S	10	/* beyond two store polls */
#define RENEW_CHECK_BODY_MAX	1024

const char *
tg_acme_renew_reason(const struct tg_store_cert *c, int self_issued,
    int64_t renew_before, time_t now)
{
	if (c->role == TG_STORE_CERT_ADMIN || c->state == TG_STORE_CERT_RETIRED)
		return NULL;
	if (self_issued)
		return "self-signed";
	if ((int64_t)c->not_after - (int64_t)now <= renew_before)
		return "expires-soon";
	return NULL;
}

int
tg_acme_cert_self_issued(const char *path, struct tg_err *err)
{
	int self;

	if (tg_certfile_issuer(path, NULL, 0, &self, err) != 0)
		return -1;
	return self;
}

/* ---- the http-01 answer: in the store, served by stsd ---- */

struct renew_ch {
	const struct tg_conf *conf;
	struct tg_store *st;		/* borrowed */
	const atomic_int *cancel;	/* borrowed, may be NULL */
};

static size_t
renew_on_body(char *data, size_t size, size_t n, void *arg)
{
	return tg_buf_append(arg, data, size * n) == 0 ? size * n : 0;
}

/* Where stsd's plain HTTP server is reached from here. */
static void
renew_check_addr(const struct tg_conf *conf, char *addr, size_t len,
    unsigned *port)
{
	const struct tg_conf_addr *a = &conf->sts_http_listen.v[0];

	*port = conf->sts_http_listen.n > 0 ? a->port : 80;
	if (conf->sts_http_listen.n == 0 || a->host[0] == '\0')
		snprintf(addr, len, "127.0.0.1");
	else if (strcmp(a->host, "::") == 0)
		snprintf(addr, len, "[::1]");
	else if (strchr(a->host, ':') != NULL)
		snprintf(addr, len, "[%s]", a->host);
	else
		snprintf(addr, len, "%s", a->host);
}

/*
 * One look: does stsd answer the challenge for host with keyauth? Asked
 * at sts.http_listen directly (the name pinned to that address), so a
 * network without hairpin NAT does not matter: the CA checks the path.
 */
static int
renew_served(const struct tg_conf *conf, const char *host,
    const char *token, const char *keyauth)
{
	char url[TG_DNAME_MAX + 192], pin[TG_DNAME_MAX + 96], addr[64];
	struct curl_slist *resolve;
	struct tg_buf body;
	unsigned port;
	long status = 0;
	CURL *e;
	int ok;

	renew_check_addr(conf, addr, sizeof(addr), &port);
	snprintf(url, sizeof(url), "http://%s:%u/.well-known/acme-challenge/%s",
	    host, port, token);
	snprintf(pin, sizeof(pin), "%s:%u:%s", host, port, addr);
	if ((e = curl_easy_init()) == NULL)
		return 0;
	resolve = curl_slist_append(NULL, pin);
	tg_buf_init(&body, RENEW_CHECK_BODY_MAX);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(e, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 2L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, renew_on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
	ok = curl_easy_perform(e) == CURLE_OK &&
	    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
	    status == 200 && strcmp(tg_buf_cstr(&body), keyauth) == 0;
	tg_buf_free(&body);
	curl_slist_free_all(resolve);
	curl_easy_cleanup(e);
	return ok;
}

static void
renew_withdraw(void *arg, const char *token)
{
	struct renew_ch *ch = arg;
	struct tg_err err;

	if (tg_store_acme_challenge_remove(ch->st, token, &err) < 0)
		tg_log_warn(NULL, "event=acme-challenge result=not-removed "
		    "error=\"%s\"", err.msg);
}

static int
renew_publish(void *arg, const char *host, const char *token,
    const char *keyauth, struct tg_err *err)
{
	struct renew_ch *ch = arg;
	struct tg_store_acme_challenge c;
	long long waited_ms, budget_ms;
	struct timespec step = { 0, RENEW_CHECK_STEP_MS * 1000000L };

	memset(&c, 0, sizeof(c));
	if (snprintf(c.token, sizeof(c.token), "%s", token) >=
	    (int)sizeof(c.token) || snprintf(c.key_authorization,
	    sizeof(c.key_authorization), "%s", keyauth) >=
	    (int)sizeof(c.key_authorization))
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "ACME: challenge token too long");
	snprintf(c.host, sizeof(c.host), "%s", host);
	c.expires = tg_clock_now() + TG_ACME_CHALLENGE_TTL_S;
	if (tg_store_acme_challenge_put(ch->st, &c, err) != 0)
		return -1;
	/* stsd sees the store change within store.poll_interval. */
	budget_ms = (ch->conf->store_poll_interval * 2 + RENEW_CHECK_SLACK_S) *
	    1000LL;
	for (waited_ms = 0; waited_ms <= budget_ms && (ch->cancel == NULL ||
	    atomic_load(ch->cancel) == 0); waited_ms += RENEW_CHECK_STEP_MS) {
		if (renew_served(ch->conf, host, token, keyauth))
			return 0;
		nanosleep(&step, NULL);
	}
	/* Not published after all: the caller withdraws nothing. */
	renew_withdraw(ch, token);
	return tg_err_set(err, TG_ERR_TEMP, NULL, "stsd does not answer the "
	    "http-01 challenge for %s on sts.http_listen within %llds "
	    "(is tlsgate-stsd running?)", host, budget_ms / 1000);
}

/* ---- the dns-01 answer: a TXT record by RFC 2136 into dane.zone ---- */

#define RENEW_DNS_TTL		60
#define RENEW_DNS_UPDATE_MS	5000
#define RENEW_DNS_HOOK_MS	60000	/* as the rollover's hook */
#define RENEW_DNS_QUERY_MS	3000
#define RENEW_DNS_STEP_S	2
#define RENEW_DNS_BUDGET_S	90	/* until every server serves it */

struct renew_dns {
	const struct tg_conf *conf;
	const atomic_int *cancel;	/* borrowed, may be NULL */
	struct tg_hookrun *hook;	/* borrowed, may be NULL */
	char owner[TG_DNAME_MAX + 32];
	char value[64];			/* "\"<base64url>\"" */
	int published;
};

/* Whether acme.challenge = dns-01 applies to name: inside dane.zone. */
static int
renew_dns_for(const struct tg_conf *conf, const char *name)
{
	return conf->acme_challenge == TG_CONF_ACME_DNS01 &&
	    conf->dane_zone[0] != '\0' &&
	    tg_dname_is_subdomain(name, conf->dane_zone);
}

/* The same through dane.update_hook (dns/dnshook); only exit 0 will do. */
static int
renew_dns_hook(const struct renew_dns *d, int add, struct tg_err *err)
{
	struct tg_dnshook_change c = { add, d->conf->dane_zone, d->owner,
	    RENEW_DNS_TTL, "TXT", d->value, NULL, 0 };
	char out[TG_HOOKRUN_OUTPUT_MAX + 1];
	int status;

	if (d->hook == NULL)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "dane.update_hook "
		    "is not running (restart controllerd)");
	if (tg_dnshook_run(d->hook, &c, RENEW_DNS_HOOK_MS, &status, out,
	    sizeof(out), err) != 0)
		return -1;
	if (status != 0)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "dane.update_hook "
		    "%s %s TXT: exit %d: %s", add ? "add" : "delete",
		    d->owner, status, out[0] != '\0' ? out : "(no output)");
	return 0;
}

/* Add (add 1) or delete the one TXT record. 0, or -1 with err. */
static int
renew_dns_update(const struct renew_dns *d, int add, struct tg_err *err)
{
	const struct tg_conf *conf = d->conf;
	struct tg_dnsupdate_change chg;
	struct tg_dnsupdate_req req;
	struct tg_dnsupdate_result res;
	struct tg_tsig_key key;
	char rr[TG_DNAME_MAX + 128];

	if (conf->dane_update_hook[0] != '\0')
		return renew_dns_hook(d, add, err);
	if (conf->dane_update_server.n == 0 ||
	    conf->dane_tsig_key_file[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL, "acme.challenge = "
		    "dns-01 needs dane.update_server and dane.tsig_key_file, "
		    "or dane.update_hook");
	snprintf(rr, sizeof(rr), "%s %d IN TXT %s", d->owner, RENEW_DNS_TTL,
	    d->value);
	memset(&req, 0, sizeof(req));
	chg.op = add ? TG_DNSUPDATE_ADD : TG_DNSUPDATE_DELETE;
	chg.rr = rr;
	req.zone = conf->dane_zone;
	req.change = &chg;
	req.nchange = 1;
	if (tg_tsig_key_load(conf->dane_tsig_key_file, &key, err) != 0 ||
	    tg_dnsupdate_send(conf->dane_update_server.v[0].host,
	    conf->dane_update_server.v[0].port, &req, &key,
	    RENEW_DNS_UPDATE_MS, &res, err) != 0)
		return -1;
	if (res.outcome != TG_DNSUPDATE_DONE)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "the update of %s "
		    "TXT: %s: %s", d->owner,
		    tg_dnsupdate_outcome_name(res.outcome), res.text);
	return 0;
}

static void
renew_dns_withdraw(void *arg, const char *token)
{
	struct renew_dns *d = arg;
	struct tg_err err;

	(void)token;
	if (!d->published)
		return;
	if (renew_dns_update(d, 0, &err) != 0)
		tg_log_warn(NULL, "event=acme-challenge type=dns-01 owner=%s "
		    "result=not-removed error=\"%s\"", d->owner, err.msg);
	else
		tg_log_info(NULL, "event=acme-challenge type=dns-01 owner=%s "
		    "result=removed", d->owner);
	d->published = 0;
}

/* RFC 8555 §8.4: the record, then every authoritative server serving
 * it (as the rollover's records are checked) before the CA looks. */
static int
renew_dns_publish(void *arg, const char *host, const char *token,
    const char *keyauth, struct tg_err *err)
{
	struct renew_dns *d = arg;
	struct tg_resolver_config rc;
	struct tg_visible_result vr;
	char value[48];
	const char *want[1];
	struct timespec step = { RENEW_DNS_STEP_S, 0 };
	int waited;

	(void)token;
	if (d->published)
		return tg_err_set(err, TG_ERR_BUG, NULL, "one dns-01 answer "
		    "at a time");
	if (tg_acme_dns01_value(keyauth, value, sizeof(value), err) != 0)
		return -1;
	snprintf(d->owner, sizeof(d->owner), "_acme-challenge.%s.", host);
	snprintf(d->value, sizeof(d->value), "\"%s\"", value);
	if (renew_dns_update(d, 1, err) != 0)
		return -1;
	d->published = 1;
	want[0] = d->value;
	tg_resolver_config_from_conf(d->conf, &rc);
	for (waited = 0; waited <= RENEW_DNS_BUDGET_S && (d->cancel == NULL ||
	    atomic_load(d->cancel) == 0); waited += RENEW_DNS_STEP_S) {
		if (tg_visible_check(&rc, d->conf->dane_zone, d->owner,
		    TG_DNS_T_TXT, want, 1, RENEW_DNS_QUERY_MS, &vr, err) == 0 &&
		    vr.visible) {
			tg_log_info(NULL, "event=acme-challenge type=dns-01 "
			    "owner=%s result=published waited=%ds", d->owner,
			    waited);
			return 0;
		}
		nanosleep(&step, NULL);
	}
	renew_dns_withdraw(d, token);
	return tg_err_set(err, TG_ERR_TEMP, NULL, "the dns-01 record %s is "
	    "not served by every authoritative server of %s within %ds",
	    d->owner, d->conf->dane_zone, RENEW_DNS_BUDGET_S);
}

/* ---- keys and files ---- */

/* The account key, made on first use. */
static EVP_PKEY *
renew_account_key(const struct tg_conf *conf, struct tg_err *err)
{
	char path[TG_PATH_MAX], dir[TG_PATH_MAX];
	EVP_PKEY *key = NULL;
	struct stat sb;

	if (tg_path_fmt(path, sizeof(path), "%s/" TG_ACME_ACCOUNT_KEY,
	    conf->state_dir) != 0 || tg_path_fmt(dir, sizeof(dir), "%s/keys",
	    conf->state_dir) != 0) {
		tg_err_set(err, TG_ERR_PERM, NULL, "state_dir is too long");
		return NULL;
	}
	if (stat(path, &sb) != 0 && errno == ENOENT) {
		if (tg_path_mkdirs(dir, 0755, 0700, err) != 0 ||
		    (key = tg_cert_key_new(err)) == NULL)
			return NULL;
		if (tg_cert_key_write_new(key, path, err) == 0) {
			tg_log_info(NULL, "event=acme-account result=new-key "
			    "path=%s", path);
			return key;
		}
		EVP_PKEY_free(key);	/* made meanwhile by someone else */
		key = NULL;
	}
	if (tg_cert_key_load_file(path, &key, err) != 0)
		return NULL;
	return key;
}

/* Write the chain as a new file next to the other certificates. */
static int
renew_write_chain(const struct tg_conf *conf, const char *name,
    const char *pem, char *path, size_t pathlen, struct tg_err *err)
{
	char dir[TG_PATH_MAX];
	unsigned char r[4];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return tg_err_set(err, TG_ERR_TEMP, NULL, "no random bytes");
	if (tg_path_fmt(dir, sizeof(dir), "%s/certs", conf->state_dir) != 0 ||
	    tg_path_fmt(path, pathlen, "%s/%s-acme-%lld-%02x%02x%02x%02x.pem",
	    dir, name, (long long)tg_clock_now(), r[0], r[1], r[2], r[3]) != 0)
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "state_dir is too long");
	if (tg_path_mkdirs(dir, 0755, 0755, err) != 0)
		return -1;
	return tg_cert_file_write_new(path, 0644, pem, strlen(pem), err);
}

/* The issuer of the chain's leaf, for the log and the caller. */
static void
renew_issuer(const char *pem, char *out, size_t outlen)
{
	STACK_OF(X509) *chain = NULL;

	out[0] = '\0';
	if (tg_cert_chain_load_mem(pem, strlen(pem), &chain, NULL) == 0)
		tg_cert_issuer(sk_X509_value(chain, 0), out, outlen);
	tg_cert_chain_free(chain);
}

/* The order itself, with the store open and the keys loaded. */
static int
renew_order(const struct tg_conf *conf, struct tg_store *st,
    const atomic_int *cancel, struct tg_hookrun *hook,
    const struct tg_store_cert *c, EVP_PKEY *account, EVP_PKEY *key,
    char **chain, struct tg_err *err)
{
	struct tg_acme_params p = { conf->acme_directory, conf->acme_email };
	struct renew_ch rch = { conf, st, cancel };
	struct renew_dns dns = { conf, cancel, hook, "", "", 0 };
	struct tg_acme_challenger ch = { renew_publish, renew_withdraw, &rch,
	    "http-01" };
	struct tg_acme_transport t;
	struct tg_acme_curl *curl;
	int rc;

	if (renew_dns_for(conf, c->name)) {
		ch = (struct tg_acme_challenger){ renew_dns_publish,
		    renew_dns_withdraw, &dns, "dns-01" };
	}
	if (tg_acme_curl_new(conf->acme_ca_file, TG_ACME_REQUEST_TIMEOUT_S,
	    cancel, &curl, &t, err) != 0)
		return -1;
	rc = tg_acme_issue(&p, &t, &ch, account, key, c->name, tg_clock_now(),
	    chain, err);
	tg_acme_curl_free(curl);
	return rc;
}

/* Everything after the store is open. */
static int
renew_in_store(const struct tg_conf *conf, struct tg_store *st,
    const atomic_int *cancel, struct tg_hookrun *hook,
    const struct tg_store_cert *c, struct tg_acme_renewed *out,
    struct tg_err *err)
{
	EVP_PKEY *account = NULL, *key = NULL;
	struct tg_store_cert rec;
	char *chain = NULL;
	int rc = -1;

	if (tg_cert_key_load_file(c->key_path, &key, err) != 0 ||
	    (account = renew_account_key(conf, err)) == NULL ||
	    renew_order(conf, st, cancel, hook, c, account, key, &chain,
	    err) != 0 ||
	    renew_write_chain(conf, c->name, chain, out->cert_path,
	    sizeof(out->cert_path), err) != 0)
		goto out;
	if (tg_certfile_record(c->name, out->cert_path, c->key_path, &rec,
	    err) != 0 || tg_store_cert_set_file(st, c->id, out->cert_path,
	    rec.spki_sha256, rec.not_before, rec.not_after, err) != 0) {
		unlink(out->cert_path);
		goto out;
	}
	memcpy(out->spki_sha256, rec.spki_sha256, sizeof(out->spki_sha256));
	out->not_before = rec.not_before;
	out->not_after = rec.not_after;
	renew_issuer(chain, out->issuer, sizeof(out->issuer));
	rc = 0;
out:
	free(chain);
	EVP_PKEY_free(key);
	EVP_PKEY_free(account);
	return rc;
}

int
tg_acme_renew(const struct tg_conf *conf, int64_t id,
    const atomic_int *cancel, struct tg_hookrun *hook,
    struct tg_acme_renewed *out, struct tg_err *err)
{
	struct tg_store *st = NULL;
	struct tg_store_cert c;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	if (conf->acme_directory[0] == '\0')
		return tg_err_set(err, TG_ERR_PERM, NULL,
		    "acme.directory is not set");
	if (tg_store_open(conf->state_dir, &st, err) != 0)
		return -1;
	rc = tg_store_cert_get(st, id, &c, err);
	if (rc == TG_STORE_NOTFOUND)
		rc = tg_err_set(err, TG_ERR_PERM, NULL,
		    "no certificate with id %lld", (long long)id);
	else if (rc == 0 && c.state == TG_STORE_CERT_RETIRED)
		rc = tg_err_set(err, TG_ERR_PERM, NULL,
		    "certificate %lld is retired", (long long)id);
	if (rc == 0)
		rc = renew_in_store(conf, st, cancel, hook, &c, out, err);
	if (rc != 0)
		tg_err_prefix(err, "renewing %s", c.name[0] != '\0' ? c.name :
		    "a certificate");
	tg_store_close(st);
	return rc;
}
