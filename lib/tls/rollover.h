/*
 * tls/rollover — the DANE key rollover of one MX host name: which step
 * comes next (pure: the caller does it and records the outcome).
 *
 * RFC 7671 §8.1 ("current + next"), RFC-CHECKLIST 17-18, RELIABILITY
 * C-01/C-02, DESIGN.md "Certificates and TLSA rollover": a new key's
 * TLSA record is published beside the current one; the new key is used
 * only after that record has been visible at every authoritative server
 * (dns/visible) for two TTLs, so no cache anywhere still holds a set
 * without it; the old record goes one TTL after the switch. At no point
 * is the served certificate's record missing from the published set.
 *
 * The state is what the store keeps per certificate (next / current /
 * retired, and the TLSA state of each) plus the times of the last
 * transitions. tg_rollover_plan looks at it and says what to do now, or
 * until when to wait; after a crash the same state gives the same step,
 * and every step is safe to repeat (the UPDATEs carry prerequisites, the
 * checks only read).
 *
 * Steps, in order:
 *   PUBLISH_CURRENT   a current key whose record was never published
 *                     (first set-up): add it, on the condition that the
 *                     RRset does not exist;
 *   CHECK_CURRENT     published, not yet seen everywhere: check;
 *   MAKE_NEXT         renewal is due (not_after - renew_before) or asked
 *                     for, and there is no next key: make one;
 *   PUBLISH_NEXT      add the next record, on the condition that the RRset
 *                     is exactly the published set;
 *   CHECK_NEXT        published, not yet seen everywhere: check;
 *   WAIT              until visible_at + 2 x TTL (then SWITCH), or until
 *                     switched_at + TTL (then RETIRE_OLD);
 *   SWITCH            make next current (the daemons serve it from then),
 *                     once its certificate is ready (next_cert_pending);
 *   RETIRE_OLD        delete the retired key's record, only that record,
 *                     on the condition that the RRset is what we think;
 *   CHECK_RETIRED     deleted, check it is gone everywhere;
 *   IDLE              nothing to do until wait_until (renewal due).
 */
#ifndef TG_TLS_ROLLOVER_H
#define TG_TLS_ROLLOVER_H

#include <stddef.h>
#include <time.h>

/* What the store knows of one key's TLSA record. */
enum tg_rollover_tlsa {
	TG_ROLLOVER_TLSA_NONE = 0,	/* never published */
	TG_ROLLOVER_TLSA_PUBLISHED,	/* the UPDATE was taken */
	TG_ROLLOVER_TLSA_VISIBLE,	/* seen at every server, secure */
	TG_ROLLOVER_TLSA_RETIRING,	/* its deletion was taken */
	TG_ROLLOVER_TLSA_REMOVED	/* seen gone everywhere */
};

#define TG_ROLLOVER_DIGEST_LEN	64	/* SHA-256, hex: TLSA 3 1 1 */

struct tg_rollover_key {
	int present;
	char spki[TG_ROLLOVER_DIGEST_LEN + 1];	/* lower-case hex */
	enum tg_rollover_tlsa tlsa;
	time_t not_after;		/* of its certificate */
	time_t visible_at;		/* when tlsa became VISIBLE */
	time_t switched_at;		/* retired key: when it stopped being
					 * current */
};

struct tg_rollover_in {
	time_t now;
	struct tg_rollover_key current, next, retired;
	long ttl;			/* of the TLSA RRset, seconds (> 0) */
	long renew_before;		/* start this long before not_after */
	int renew_now;			/* the administrator asked */
	/* 1: the next key's certificate is not the one to serve yet (ACME
	 * is on and it is still self-signed: senders under an MTA-STS
	 * policy check the MX in the web PKI), so no switch yet. */
	int next_cert_pending;
};

/* A pending next certificate is looked at again this often. */
#define TG_ROLLOVER_PENDING_RECHECK_S	60

enum tg_rollover_action {
	TG_ROLLOVER_IDLE = 0,
	TG_ROLLOVER_PUBLISH_CURRENT,
	TG_ROLLOVER_CHECK_CURRENT,
	TG_ROLLOVER_MAKE_NEXT,
	TG_ROLLOVER_PUBLISH_NEXT,
	TG_ROLLOVER_CHECK_NEXT,
	TG_ROLLOVER_WAIT,
	TG_ROLLOVER_SWITCH,
	TG_ROLLOVER_RETIRE_OLD,
	TG_ROLLOVER_CHECK_RETIRED,
	TG_ROLLOVER_STUCK		/* a state no step leads out of */
};

#define TG_ROLLOVER_SET_MAX	3

/* A set of digests (TLSA 3 1 1 data). */
struct tg_rollover_set {
	size_t n;
	const char *spki[TG_ROLLOVER_SET_MAX];	/* into the input */
};

struct tg_rollover_step {
	enum tg_rollover_action action;
	time_t wait_until;		/* WAIT, IDLE: when to look again
					 * (0: only on a change) */
	/* PUBLISH_*, RETIRE_OLD: the RRset must be exactly before (the
	 * UPDATE's prerequisite; n 0: must not exist), then add or delete
	 * change; CHECK_*: it must be exactly after everywhere. */
	struct tg_rollover_set before, after;
	const char *change;		/* the digest added or deleted */
	char why[160];			/* for the log */
};

/* The next step for in (pure). */
void tg_rollover_plan(const struct tg_rollover_in *in,
    struct tg_rollover_step *out);

/* What the self-check of the MX (RELIABILITY C-05) found. */
enum tg_rollover_seen {
	TG_ROLLOVER_SEEN_OK = 0,	/* the served key verifies by DANE */
	TG_ROLLOVER_SEEN_INVALID,	/* it does not match the TLSA set */
	TG_ROLLOVER_SEEN_UNKNOWN	/* no verdict (not our MX, no net) */
};

/*
 * RELIABILITY C-05, the rollback: before the old key's record goes
 * (step RETIRE_OLD), the MX is checked as a sender checks it. 1 when the
 * switch is to be undone — the served key does not verify (seen
 * INVALID) and the retired key's record is among the nseen digests a
 * validating resolver sees now (lower-case hex), so serving the retired
 * key again verifies; else 0 (go on: a rollback would not help, or
 * nothing is wrong). Pure.
 */
int tg_rollover_roll_back(const struct tg_rollover_in *in,
    const struct tg_rollover_step *step, enum tg_rollover_seen seen,
    const char *const *seen_spki, size_t nseen);

/* "idle", "publish-current", ... (stable names for logs and JSON). */
const char *tg_rollover_action_name(enum tg_rollover_action a);

#endif
