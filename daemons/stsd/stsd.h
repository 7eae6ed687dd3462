/*
 * daemons/stsd/stsd.h — the parts of tlsgate-stsd, the MTA-STS policy host
 * and, with ACME on, the answerer of http-01 challenges on port 80.
 *
 * main.c        the daemon: runtime, the HTTPS server and its one route,
 *               the plain HTTP server of ACME challenges, reloads
 * stsd_view.c   a view: what to serve for every domain, built from the
 *               store on each reload (policy/stshost decides), and the
 *               records written once it is served; the unexpired ACME
 *               challenges (net/http01)
 * stsd_certs.c  the certificate of each mta-sts.<domain> host, made
 *               self-signed at first use
 */
#ifndef TG_STSD_H
#define TG_STSD_H

#include <stddef.h>
#include <time.h>

#include "core/conf.h"
#include "net/http.h"
#include "net/http01.h"
#include "store/store.h"
#include "util/err.h"

/* RFC 8461 §3.3: the one path a policy host serves. */
#define STSD_POLICY_PATH	"/.well-known/mta-sts.txt"
/* RFC 8461 §3.3: the policy's media type. */
#define STSD_CONTENT_TYPE	"text/plain"
/* Validity of a first-use self-signed certificate. */
#define STSD_CERT_DAYS		365
/* RFC 8555 §8.3: the key authorization, as the example there sends it. */
#define STSD_ACME_CONTENT_TYPE	"application/octet-stream"

/*
 * What is served: host name ("mta-sts.<domain>") -> reply body.
 * Immutable once built and shared with the server's thread through
 * tg_http_publish; refcounted (atomic).
 */
struct stsd_site;

struct stsd_site *stsd_site_ref(struct stsd_site *s);
/* Drop a reference (NULL-safe); the signature of a release function. */
void stsd_site_unref(void *s);
/* The body for host (lower case), or NULL: no policy here. Borrowed. */
const struct tg_http_body *stsd_site_find(const struct stsd_site *s,
    const char *host);

/* A record to write, or delete, once the view is served. */
struct stsd_write {
	int remove;
	struct tg_store_sts_served rec;
};

struct stsd_view {
	struct stsd_site *site;		/* owned reference */
	struct tg_http_certs *certs;	/* owned reference */
	struct stsd_write *writes;	/* owned, nwrites */
	size_t nwrites;
	int committed;			/* writes done */
	time_t next_change;		/* next end of a withdrawal, 0: none */
	/* owned reference, frozen; NULL when acme.directory is empty */
	struct tg_http01_set *acme;
};

/*
 * Build the view of the store under conf->state_dir (opened read-write:
 * first-use certificates are recorded) at time now. Domains whose policy
 * cannot be built keep what they served, with a warning. With
 * acme.directory set, the challenges unexpired at now go to v->acme (in
 * the same read of the store). Returns 0 and *out (stsd_view_free), or
 * -1 with err (store unusable).
 */
int stsd_view_build(const struct tg_conf *conf, time_t now,
    struct stsd_view **out, struct tg_err *err);

/* Write the view's records (once; later calls do nothing) and log one
 * line per change. Call once the view is served. */
void stsd_view_commit(const struct tg_conf *conf, struct stsd_view *v);

void stsd_view_free(struct stsd_view *v);

/*
 * Add to certs the current 'sts' certificate of host from the store st;
 * when there is none and create is set, make a self-signed one under
 * state_dir/keys and state_dir/certs and record it first. Returns 0, 1
 * when there is none (create not set), or -1 with err.
 */
int stsd_cert_add(struct tg_store *st, const struct tg_conf *conf,
    const char *host, int create, struct tg_http_certs *certs,
    struct tg_err *err);

#endif
