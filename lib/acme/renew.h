/*
 * acme/renew — a certificate of the store renewed through ACME, keeping
 * its key: the part controllerd (on a worker thread) and `tlsgate cert
 * renew` share.
 *
 * Owns: which certificates want a CA-issued certificate (the MX name and
 * every mta-sts.<domain> host, current and next keys, not retired: those
 * still self-signed, and those within acme.renew_before of expiry); the
 * ACME account key (state_dir/keys/acme-account.key, P-256, made on first
 * use); the http-01 answer put into the store for stsd to serve, and
 * checked at stsd itself before the CA is told to look (so a stopped
 * stsd costs no failed validation at the CA); the chain written as a new
 * file under state_dir/certs (fsync'd) and the store row pointed at it
 * with tg_store_cert_set_file, which refuses another key — the SPKI, and
 * so a DANE `3 1 1` record, never changes by a renewal (RELIABILITY C-04).
 * The daemons (stsd, mxd) load the new file on the store change.
 *
 * Does not own: the protocol (acme/acme), when to look (controllerd),
 * key rollovers (tls/rollover: a next key gets its own certificate here
 * like any other, before it is switched in).
 */
#ifndef TG_ACME_RENEW_H
#define TG_ACME_RENEW_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "core/conf.h"
#include "core/hookrun.h"
#include "store/store.h"
#include "util/err.h"

/* Account key file under state_dir. */
#define TG_ACME_ACCOUNT_KEY	"keys/acme-account.key"
/* How long a challenge stays in the store at most. */
#define TG_ACME_CHALLENGE_TTL_S	3600
/* Per ACME request. */
#define TG_ACME_REQUEST_TIMEOUT_S 30

/*
 * Why certificate c wants an ACME certificate at now, or NULL when it
 * does not: "self-signed" (self_issued set), or "expires-soon" (within
 * renew_before seconds). Admin certificates (the local console) and
 * retired ones never do. Pure.
 */
const char *tg_acme_renew_reason(const struct tg_store_cert *c,
    int self_issued, int64_t renew_before, time_t now);

/* Whether the first certificate of the PEM file path is self-issued
 * (its issuer is its subject): 1, 0, or -1 with err. */
int tg_acme_cert_self_issued(const char *path, struct tg_err *err);

/* What a renewal made. */
struct tg_acme_renewed {
	char cert_path[TG_PATH_MAX];	/* the new chain file */
	char spki_sha256[65];		/* unchanged by construction */
	time_t not_before, not_after;
	char issuer[256];		/* the leaf's issuer, one line */
};

/*
 * Renew the certificate with store id id under conf (acme.*, state_dir,
 * sts.http_listen, store.poll_interval): one ACME order for its name
 * with its key. Opens the store itself (read-write). Blocks for the
 * order (seconds, up to minutes while the CA is slow) unless cancel
 * (borrowed, may be NULL) becomes non-zero: then it gives up within a
 * second or so. hook (borrowed, may be NULL) runs dane.update_hook for
 * a dns-01 answer when that is how TXT records are made (acme.challenge
 * = dns-01 with dane.update_hook set). 0 and *out, or -1 with err
 * (TG_ERR_TEMP: try later; TG_ERR_PERM: needs a person).
 */
int tg_acme_renew(const struct tg_conf *conf, int64_t id,
    const atomic_int *cancel, struct tg_hookrun *hook,
    struct tg_acme_renewed *out, struct tg_err *err);

#endif
