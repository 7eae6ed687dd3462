/*
 * dns/dnsupdate — RFC 2136 DNS UPDATE to a zone's primary server,
 * signed with TSIG (RFC 8945, HMAC-SHA256), and what its reply means.
 *
 * This is how controllerd changes TLSA records during a rollover
 * (RFC-CHECKLIST 21-23, RELIABILITY C-03): add the next digest beside the
 * current one only if the RRset is still what the store believes it is
 * (a value-dependent prerequisite, RFC 2136 §2.4.2; or "does not exist",
 * §2.4.3), and later delete exactly the one retired record (§2.5.4),
 * never the RRset.
 *
 * Owns: the UPDATE message (ldns builds and signs it), the exchange over
 * TCP (one connection, one message, a deadline, replies at most
 * TG_DNSUPDATE_MSG_MAX bytes), and judging the reply: its id, opcode,
 * TSIG (present, our key and algorithm, the MAC over our request's MAC,
 * time signed within the fudge of our clock, RFC 8945 §5.3, §5.4) and
 * rcode. Does not own: which records to change (the rollover), when the
 * change is visible at every authoritative server (the caller asks).
 *
 * Outcomes, for the caller to act on:
 *   DONE     NOERROR, correctly signed: the change is in the zone;
 *   PREREQ   NXRRSET, YXRRSET, NXDOMAIN or YXDOMAIN: the zone is not as
 *            expected — nothing was changed; read it again and decide;
 *   REFUSED  REFUSED, NOTAUTH, NOTZONE, NOTIMP, FORMERR: the server will
 *            not take this update from us (configuration: alert);
 *   TSIG     the server reports BADSIG, BADKEY or BADTIME, or its reply
 *            is unsigned or does not verify: abort the step and alert
 *            (a forged or replayed reply must not pass as success);
 *   TEMP     SERVFAIL, no answer in time, the connection failed: retry.
 */
#ifndef TG_DNS_DNSUPDATE_H
#define TG_DNS_DNSUPDATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/err.h"
#include "util/limits.h"

#define TG_DNSUPDATE_MSG_MAX	65535	/* a DNS message over TCP */
#define TG_DNSUPDATE_CHANGES_MAX	32
#define TG_DNSUPDATE_PREREQS_MAX	8
#define TG_DNSUPDATE_RRS_MAX	32	/* records in one prerequisite */
#define TG_TSIG_FUDGE_S		300	/* RFC 8945 §5.2.3 */
#define TG_TSIG_MAC_MAX		64
#define TG_TSIG_SECRET_MAX	128	/* base64 */

/* RFC 8945 §4.3 / RFC 2845: TSIG error codes in the reply's TSIG RR. */
#define TG_TSIG_BADSIG		16
#define TG_TSIG_BADKEY		17
#define TG_TSIG_BADTIME		18

struct tg_tsig_key {
	char name[TG_DNAME_MAX + 1];	/* e.g. "tg-update" */
	char alg[16];			/* "hmac-sha256", the only one */
	char secret[TG_TSIG_SECRET_MAX + 1];	/* base64 */
};

/*
 * "[hmac-sha256:]name:base64-secret" (the form of knsupdate -y and of
 * Knot's key files) into *k. -1 with err (TG_ERR_PERM, naming the part)
 * for another algorithm (RFC-CHECKLIST 23: HMAC-SHA256), a bad name or a
 * secret that is not base64 of 16..64 bytes.
 */
int tg_tsig_key_parse(const char *text, struct tg_tsig_key *k,
    struct tg_err *err);

/* The same from the first line of a file (at most 1 KB). */
int tg_tsig_key_load(const char *path, struct tg_tsig_key *k,
    struct tg_err *err);

enum tg_dnsupdate_op {
	TG_DNSUPDATE_ADD = 0,		/* §2.5.1 */
	TG_DNSUPDATE_DELETE,		/* this one RR, §2.5.4 */
	TG_DNSUPDATE_DELETE_RRSET	/* §2.5.2 */
};

/* rr: "owner ttl TYPE rdata" in presentation form with an absolute owner
 * (ADD, DELETE; the TTL is ignored for DELETE), or "owner TYPE"
 * (DELETE_RRSET). */
struct tg_dnsupdate_change {
	enum tg_dnsupdate_op op;
	const char *rr;
};

/* The RRset (owner, type) is exactly rrs ("rdata" each): §2.4.2; with
 * nrrs 0 it must not exist: §2.4.3. */
struct tg_dnsupdate_prereq {
	const char *owner;
	const char *type;		/* "TLSA" */
	const char *const *rrs;
	size_t nrrs;
};

struct tg_dnsupdate_req {
	const char *zone;		/* the zone the owners are in */
	const struct tg_dnsupdate_prereq *prereq;
	size_t nprereq;
	const struct tg_dnsupdate_change *change;
	size_t nchange;			/* 1..TG_DNSUPDATE_CHANGES_MAX */
};

enum tg_dnsupdate_outcome {
	TG_DNSUPDATE_DONE = 0,
	TG_DNSUPDATE_PREREQ,
	TG_DNSUPDATE_REFUSED,
	TG_DNSUPDATE_TSIG,
	TG_DNSUPDATE_TEMP
};

struct tg_dnsupdate_result {
	enum tg_dnsupdate_outcome outcome;
	int rcode;			/* the reply's; -1: no usable reply */
	int tsig_error;			/* the server's TSIG error, 0: none */
	char text[256];			/* what happened, for the log */
};

/* A request built and signed: its wire form and MAC (to check the
 * reply's TSIG against). */
struct tg_dnsupdate_msg {
	uint16_t id;
	unsigned char *wire;		/* owned: tg_dnsupdate_msg_free */
	size_t len;
	unsigned char mac[TG_TSIG_MAC_MAX + 2];	/* as in the TSIG RR */
	size_t maclen;
};

/*
 * Build req as an UPDATE message with id, signed with key at the current
 * time (pure apart from the clock). -1 with err (TG_ERR_PERM) for a
 * record that does not parse, an owner outside the zone, more than the
 * limits above, or a message over TG_DNSUPDATE_MSG_MAX.
 */
int tg_dnsupdate_build(const struct tg_dnsupdate_req *req,
    const struct tg_tsig_key *key, uint16_t id, struct tg_dnsupdate_msg *out,
    struct tg_err *err);

void tg_dnsupdate_msg_free(struct tg_dnsupdate_msg *m);

/* Judge reply (len bytes) to msg at now: *res as described above. */
void tg_dnsupdate_judge(const struct tg_dnsupdate_msg *msg,
    const struct tg_tsig_key *key, const unsigned char *reply, size_t len,
    time_t now, struct tg_dnsupdate_result *res);

/*
 * Send req to addr (IPv4 or IPv6 literal) port over TCP and judge the
 * reply, all within timeout_ms (blocking; controllerd's worker). 0 with
 * *res (whatever the outcome), or -1 with err when req cannot be built.
 */
int tg_dnsupdate_send(const char *addr, unsigned port,
    const struct tg_dnsupdate_req *req, const struct tg_tsig_key *key,
    int timeout_ms, struct tg_dnsupdate_result *res, struct tg_err *err);

/* "done", "prerequisite", "refused", "tsig", "temporary". */
const char *tg_dnsupdate_outcome_name(enum tg_dnsupdate_outcome o);

#endif
