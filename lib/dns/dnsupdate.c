/*
 * dns/dnsupdate — see dnsupdate.h. ldns builds, signs, parses and
 * verifies the MAC; the rest of the TSIG checks and the exchange are
 * here.
 */
#include "dns/dnsupdate.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ldns/ldns.h>
#include <openssl/evp.h>

#include "util/clock.h"
#include "util/text.h"

#define TSIG_ALG	"hmac-sha256"
#define TSIG_ALG_DNAME	"hmac-sha256."

/* ---- keys ------------------------------------------------------------- */

/* A key name is a domain name, often of one label ("tg-update"). */
static int
key_name_ok(const char *name)
{
	ldns_rdf *d = NULL;
	size_t i;

	if (name[0] == '\0' || strlen(name) > TG_DNAME_MAX ||
	    strstr(name, "..") != NULL)
		return 0;
	for (i = 0; name[i] != '\0'; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_' && name[i] != '.')
			return 0;
	if (ldns_str2rdf_dname(&d, name) != LDNS_STATUS_OK)
		return 0;
	ldns_rdf_deep_free(d);
	return 1;
}

int
tg_tsig_key_parse(const char *text, struct tg_tsig_key *k,
    struct tg_err *err)
{
	char buf[TG_DNAME_MAX + TG_TSIG_SECRET_MAX + 32], *name, *secret, *c;
	unsigned char raw[TG_TSIG_SECRET_MAX];
	int n;

	memset(k, 0, sizeof(*k));
	if (strlen(text) >= sizeof(buf))
		return tg_err_set(err, TG_ERR_PERM, NULL, "TSIG key: too long");
	tg_text_fmt(buf, sizeof(buf), "%s", text);
	buf[strcspn(buf, "\r\n")] = '\0';
	name = buf;
	if ((c = strchr(buf, ':')) != NULL && strchr(c + 1, ':') != NULL) {
		*c = '\0';
		if (strcasecmp(buf, TSIG_ALG) != 0)
			return tg_err_set(err, TG_ERR_PERM, NULL, "TSIG key: "
			    "algorithm '%s'; only %s is used", buf, TSIG_ALG);
		name = c + 1;
	}
	if ((secret = strchr(name, ':')) == NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL, "TSIG key: want "
		    "[%s:]NAME:SECRET", TSIG_ALG);
	*secret++ = '\0';
	if (!key_name_ok(name))
		return tg_err_set(err, TG_ERR_PERM, NULL, "TSIG key: bad name "
		    "'%s'", name);
	n = strlen(secret) <= TG_TSIG_SECRET_MAX ? EVP_DecodeBlock(raw,
	    (const unsigned char *)secret, (int)strlen(secret)) : -1;
	/* EVP_DecodeBlock counts the padding as bytes: 16..66. */
	if (strlen(secret) % 4 != 0 || n < 16 || n > 66)
		return tg_err_set(err, TG_ERR_PERM, NULL, "TSIG key: the "
		    "secret is not base64 of 16 to 64 bytes");
	tg_text_fmt(k->name, sizeof(k->name), "%s", name);
	tg_text_fmt(k->alg, sizeof(k->alg), "%s", TSIG_ALG);
	tg_text_fmt(k->secret, sizeof(k->secret), "%s", secret);
	return 0;
}

int
tg_tsig_key_load(const char *path, struct tg_tsig_key *k, struct tg_err *err)
{
	char line[1024];
	FILE *f;
	int ok;

	if ((f = fopen(path, "re")) == NULL)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: %s", path,
		    strerror(errno));
	ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	if (!ok)
		return tg_err_set(err, TG_ERR_PERM, NULL, "%s: empty", path);
	if (tg_tsig_key_parse(line, k, err) != 0) {
		tg_err_prefix(err, "%s", path);
		return -1;
	}
	return 0;
}

/* ---- building --------------------------------------------------------- */

/* One record from text; NULL with err. */
static ldns_rr *
rr_parse(const char *text, struct tg_err *err)
{
	ldns_rr *rr = NULL;
	ldns_status st;

	st = ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL);
	if (st != LDNS_STATUS_OK) {
		tg_err_set(err, TG_ERR_PERM, NULL, "record '%s': %s", text,
		    ldns_get_errorstr_by_id(st));
		return NULL;
	}
	return rr;
}

/* The owner of rr must be the zone or below it. */
static int
rr_in_zone(const ldns_rr *rr, const ldns_rdf *zone, struct tg_err *err)
{
	char *owner;

	if (ldns_dname_compare(ldns_rr_owner(rr), zone) == 0 ||
	    ldns_dname_is_subdomain(ldns_rr_owner(rr), zone))
		return 0;
	owner = ldns_rdf2str(ldns_rr_owner(rr));
	tg_err_set(err, TG_ERR_PERM, NULL, "%s is not in the zone",
	    owner != NULL ? owner : "a record");
	free(owner);
	return -1;
}

/* "owner TYPE" as an RR of class cls without rdata, TTL 0 (RFC 2136
 * §2.4.3, §2.5.2); NULL with err. */
static ldns_rr *
rr_bare(const char *text, ldns_rr_class cls, const ldns_rdf *zone,
    struct tg_err *err)
{
	ldns_rr *rr = NULL;

	if (ldns_rr_new_question_frm_str(&rr, text, NULL, NULL) !=
	    LDNS_STATUS_OK) {
		tg_err_set(err, TG_ERR_PERM, NULL, "'%s': want OWNER TYPE",
		    text);
		return NULL;
	}
	ldns_rr_set_class(rr, cls);
	ldns_rr_set_ttl(rr, 0);
	if (rr_in_zone(rr, zone, err) != 0) {
		ldns_rr_free(rr);
		return NULL;
	}
	return rr;
}

/* RFC 2136 §2.5: class and TTL of an update RR by its op. */
static ldns_rr *
change_rr(const struct tg_dnsupdate_change *c, const ldns_rdf *zone,
    struct tg_err *err)
{
	ldns_rr *rr;

	if (c->op == TG_DNSUPDATE_DELETE_RRSET)	/* §2.5.2 */
		return rr_bare(c->rr, LDNS_RR_CLASS_ANY, zone, err);
	if ((rr = rr_parse(c->rr, err)) == NULL)
		return NULL;
	if (c->op == TG_DNSUPDATE_DELETE) {	/* §2.5.4 */
		ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE);
		ldns_rr_set_ttl(rr, 0);
	}
	if (rr_in_zone(rr, zone, err) != 0) {
		ldns_rr_free(rr);
		return NULL;
	}
	return rr;
}

/* RFC 2136 §2.4.2 (the RRset is exactly these) or §2.4.3 (no RRset). */
static int
prereq_rrs(const struct tg_dnsupdate_prereq *p, const ldns_rdf *zone,
    ldns_rr_list *list, struct tg_err *err)
{
	char text[1024];
	ldns_rr *rr;
	size_t i;

	if (p->nrrs > TG_DNSUPDATE_RRS_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "prerequisite with "
		    "more than %d records", TG_DNSUPDATE_RRS_MAX);
	if (p->nrrs == 0) {
		tg_text_fmt(text, sizeof(text), "%s %s", p->owner, p->type);
		if ((rr = rr_bare(text, LDNS_RR_CLASS_NONE, zone, err)) ==
		    NULL)
			return -1;
		ldns_rr_list_push_rr(list, rr);
		return 0;
	}
	for (i = 0; i < p->nrrs; i++) {
		tg_text_fmt(text, sizeof(text), "%s 0 IN %s %s", p->owner,
		    p->type, p->rrs[i]);
		if ((rr = rr_parse(text, err)) == NULL)
			return -1;
		ldns_rr_set_ttl(rr, 0);
		if (rr_in_zone(rr, zone, err) != 0) {
			ldns_rr_free(rr);
			return -1;
		}
		ldns_rr_list_push_rr(list, rr);
	}
	return 0;
}

static int
build_lists(const struct tg_dnsupdate_req *req, const ldns_rdf *zone,
    ldns_rr_list *pr, ldns_rr_list *up, struct tg_err *err)
{
	ldns_rr *rr;
	size_t i;

	if (req->nchange == 0 || req->nchange > TG_DNSUPDATE_CHANGES_MAX ||
	    req->nprereq > TG_DNSUPDATE_PREREQS_MAX)
		return tg_err_set(err, TG_ERR_PERM, NULL, "an update needs 1 "
		    "to %d changes and at most %d prerequisites",
		    TG_DNSUPDATE_CHANGES_MAX, TG_DNSUPDATE_PREREQS_MAX);
	for (i = 0; i < req->nprereq; i++)
		if (prereq_rrs(&req->prereq[i], zone, pr, err) != 0)
			return -1;
	for (i = 0; i < req->nchange; i++) {
		if ((rr = change_rr(&req->change[i], zone, err)) == NULL)
			return -1;
		ldns_rr_list_push_rr(up, rr);
	}
	return 0;
}

/* The MAC rdata of pkt's TSIG RR into mac (with its length prefix). */
static int
tsig_mac(const ldns_pkt *pkt, unsigned char *mac, size_t cap, size_t *len)
{
	const ldns_rr *t = ldns_pkt_tsig(pkt);
	const ldns_rdf *m;

	if (t == NULL || ldns_rr_rd_count(t) < 7 ||
	    (m = ldns_rr_rdf(t, 3)) == NULL || ldns_rdf_size(m) > cap)
		return -1;
	memcpy(mac, ldns_rdf_data(m), ldns_rdf_size(m));
	*len = ldns_rdf_size(m);
	return 0;
}

int
tg_dnsupdate_build(const struct tg_dnsupdate_req *req,
    const struct tg_tsig_key *key, uint16_t id, struct tg_dnsupdate_msg *out,
    struct tg_err *err)
{
	ldns_rr_list *pr = ldns_rr_list_new(), *up = ldns_rr_list_new();
	ldns_rdf *zone = NULL;
	ldns_pkt *pkt = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (pr == NULL || up == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		goto out;
	}
	if (ldns_str2rdf_dname(&zone, req->zone) != LDNS_STATUS_OK) {
		tg_err_set(err, TG_ERR_PERM, NULL, "zone '%s' is not a name",
		    req->zone);
		goto out;
	}
	if (build_lists(req, zone, pr, up, err) != 0)
		goto out;
	pkt = ldns_update_pkt_new(ldns_rdf_clone(zone), LDNS_RR_CLASS_IN, pr,
	    up, NULL);
	if (pkt == NULL) {
		tg_err_set(err, TG_ERR_TEMP, NULL, "out of memory");
		goto out;
	}
	ldns_pkt_set_rd(pkt, false);	/* RFC 2136 §2.2: Z bits */
	ldns_pkt_set_id(pkt, id);
	if (ldns_pkt_tsig_sign(pkt, key->name, key->secret, TG_TSIG_FUDGE_S,
	    TSIG_ALG_DNAME, NULL) != LDNS_STATUS_OK ||
	    tsig_mac(pkt, out->mac, sizeof(out->mac), &out->maclen) != 0) {
		tg_err_set(err, TG_ERR_PERM, NULL, "cannot sign with TSIG key "
		    "%s", key->name);
		goto out;
	}
	if (ldns_pkt2wire(&wire, pkt, &len) != LDNS_STATUS_OK ||
	    len > TG_DNSUPDATE_MSG_MAX) {
		tg_err_set(err, TG_ERR_PERM, NULL, "the update does not fit "
		    "a DNS message");
		free(wire);
		goto out;
	}
	out->id = id;
	out->wire = wire;
	out->len = len;
	rc = 0;
out:
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(zone);
	ldns_rr_list_deep_free(pr);
	ldns_rr_list_deep_free(up);
	return rc;
}

void
tg_dnsupdate_msg_free(struct tg_dnsupdate_msg *m)
{
	free(m->wire);
	m->wire = NULL;
	m->len = 0;
}

/* ---- judging the reply ------------------------------------------------ */

/* RFC 1035 §4.1.1, RFC 2136 §2.2 (ldns's own names are allocated). */
static const char *
rcode_name(int rc)
{
	static const char *const names[] = { "NOERROR", "FORMERR",
	    "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
	    "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE" };

	return rc >= 0 && (size_t)rc < sizeof(names) / sizeof(names[0]) ?
	    names[rc] : "an unknown rcode";
}

static void
res_set(struct tg_dnsupdate_result *res, enum tg_dnsupdate_outcome o,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
res_set(struct tg_dnsupdate_result *res, enum tg_dnsupdate_outcome o,
    const char *fmt, ...)
{
	va_list ap;

	res->outcome = o;
	va_start(ap, fmt);
	vsnprintf(res->text, sizeof(res->text), fmt, ap);
	va_end(ap);
}

/* RFC 8945 §5.3, §5.4: the reply's TSIG is ours and verifies. 0, or -1
 * with res set. */
static int
judge_tsig(ldns_pkt *pkt, const struct tg_dnsupdate_msg *msg,
    const struct tg_tsig_key *key, const unsigned char *reply, size_t len,
    time_t now, struct tg_dnsupdate_result *res)
{
	const ldns_rr *t = ldns_pkt_tsig(pkt);
	ldns_rdf *mac, *want_name;
	uint64_t signed_at;
	const uint8_t *d;
	uint16_t fudge;
	int ok;

	if (t == NULL || ldns_rr_rd_count(t) < 7) {
		res_set(res, TG_DNSUPDATE_TSIG, "the reply is not signed "
		    "(rcode %s)", rcode_name(ldns_pkt_get_rcode(pkt)));
		return -1;
	}
	res->tsig_error = ldns_rdf2native_int16(ldns_rr_rdf(t, 5));
	if (res->tsig_error != 0) {
		res_set(res, TG_DNSUPDATE_TSIG, "the server refused our TSIG "
		    "signature: %s", res->tsig_error == TG_TSIG_BADSIG ?
		    "BADSIG" : res->tsig_error == TG_TSIG_BADKEY ? "BADKEY" :
		    res->tsig_error == TG_TSIG_BADTIME ? "BADTIME (clocks "
		    "differ by more than the fudge)" : "an unknown error");
		return -1;
	}
	want_name = ldns_dname_new_frm_str(key->name);
	ok = want_name != NULL &&
	    ldns_dname_compare(ldns_rr_owner(t), want_name) == 0 &&
	    ldns_rdf_size(ldns_rr_rdf(t, 0)) > 0;
	ldns_rdf_deep_free(want_name);
	if (ok) {
		char *alg = ldns_rdf2str(ldns_rr_rdf(t, 0));

		ok = alg != NULL && strcasecmp(alg, TSIG_ALG_DNAME) == 0;
		free(alg);
	}
	if (!ok) {
		res_set(res, TG_DNSUPDATE_TSIG, "the reply is signed with "
		    "another key or algorithm");
		return -1;
	}
	mac = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, msg->maclen,
	    msg->mac);
	ok = mac != NULL && ldns_pkt_tsig_verify(pkt, reply, len, key->name,
	    key->secret, mac);
	ldns_rdf_deep_free(mac);
	if (!ok) {
		res_set(res, TG_DNSUPDATE_TSIG, "the reply's TSIG signature "
		    "does not verify");
		return -1;
	}
	/* Time signed: 48 bits (RFC 8945 §4.2), within the fudge. */
	d = ldns_rdf_data(ldns_rr_rdf(t, 1));
	if (ldns_rdf_size(ldns_rr_rdf(t, 1)) != 6) {
		res_set(res, TG_DNSUPDATE_TSIG, "the reply's TSIG time is "
		    "malformed");
		return -1;
	}
	signed_at = ((uint64_t)d[0] << 40) | ((uint64_t)d[1] << 32) |
	    ((uint64_t)d[2] << 24) | ((uint64_t)d[3] << 16) |
	    ((uint64_t)d[4] << 8) | d[5];
	fudge = ldns_rdf2native_int16(ldns_rr_rdf(t, 2));
	if ((int64_t)signed_at > (int64_t)now + fudge ||
	    (int64_t)signed_at < (int64_t)now - fudge) {
		res_set(res, TG_DNSUPDATE_TSIG, "the reply was signed %lld s "
		    "away from our clock (fudge %u)",
		    (long long)((int64_t)signed_at - (int64_t)now), fudge);
		return -1;
	}
	return 0;
}

void
tg_dnsupdate_judge(const struct tg_dnsupdate_msg *msg,
    const struct tg_tsig_key *key, const unsigned char *reply, size_t len,
    time_t now, struct tg_dnsupdate_result *res)
{
	ldns_pkt *pkt = NULL;
	ldns_pkt_rcode rc;

	memset(res, 0, sizeof(*res));
	res->rcode = -1;
	if (ldns_wire2pkt(&pkt, reply, len) != LDNS_STATUS_OK) {
		res_set(res, TG_DNSUPDATE_TEMP, "the reply does not parse");
		return;
	}
	if (ldns_pkt_id(pkt) != msg->id || !ldns_pkt_qr(pkt) ||
	    ldns_pkt_get_opcode(pkt) != LDNS_PACKET_UPDATE) {
		res_set(res, TG_DNSUPDATE_TEMP, "the reply is not an answer "
		    "to our update");
		goto out;
	}
	rc = ldns_pkt_get_rcode(pkt);
	res->rcode = (int)rc;
	if (judge_tsig(pkt, msg, key, reply, len, now, res) != 0)
		goto out;
	switch (rc) {
	case LDNS_RCODE_NOERROR:
		res_set(res, TG_DNSUPDATE_DONE, "NOERROR");
		break;
	case LDNS_RCODE_NXRRSET:
	case LDNS_RCODE_YXRRSET:
	case LDNS_RCODE_NXDOMAIN:
	case LDNS_RCODE_YXDOMAIN:
		res_set(res, TG_DNSUPDATE_PREREQ, "%s: a prerequisite does "
		    "not hold; nothing was changed", rcode_name(rc));
		break;
	case LDNS_RCODE_SERVFAIL:
		res_set(res, TG_DNSUPDATE_TEMP, "SERVFAIL");
		break;
	default:
		res_set(res, TG_DNSUPDATE_REFUSED, "%s: the server does not "
		    "take this update", rcode_name(rc));
		break;
	}
out:
	ldns_pkt_free(pkt);
}

/* ---- the exchange ----------------------------------------------------- */

/* Wait for fd to be ready for events until deadline (monotonic ms). */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { fd, events, 0 };
	long long left;
	int n;

	for (;;) {
		left = deadline - tg_clock_mono_ms();
		if (left <= 0)
			return -1;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static int
io_all(int fd, unsigned char *buf, size_t len, int out, long long deadline)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (wait_fd(fd, out ? POLLOUT : POLLIN, deadline) != 0)
			return -1;
		n = out ? send(fd, buf + done, len - done, MSG_NOSIGNAL) :
		    recv(fd, buf + done, len - done, 0);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return -1;
		if (n > 0)
			done += (size_t)n;
	}
	return 0;
}

static int
tcp_connect(const char *addr, unsigned port, long long deadline)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	int fd, e = 0;
	socklen_t el = sizeof(e);

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*s6);
	} else
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0 &&
	    (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e != 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

int
tg_dnsupdate_send(const char *addr, unsigned port,
    const struct tg_dnsupdate_req *req, const struct tg_tsig_key *key,
    int timeout_ms, struct tg_dnsupdate_result *res, struct tg_err *err)
{
	long long deadline = tg_clock_mono_ms() + timeout_ms;
	struct tg_dnsupdate_msg msg;
	unsigned char hdr[2], *reply = NULL;
	size_t rlen;
	int fd;

	memset(res, 0, sizeof(*res));
	res->rcode = -1;
	if (tg_dnsupdate_build(req, key, (uint16_t)ldns_get_random(), &msg,
	    err) != 0)
		return -1;
	if ((fd = tcp_connect(addr, port, deadline)) < 0) {
		res_set(res, TG_DNSUPDATE_TEMP, "cannot connect to %s port %u",
		    addr, port);
		goto out;
	}
	/* RFC 1035 §4.2.2: two bytes of length, then the message. */
	hdr[0] = (unsigned char)(msg.len >> 8);
	hdr[1] = (unsigned char)msg.len;
	if (io_all(fd, hdr, 2, 1, deadline) != 0 ||
	    io_all(fd, msg.wire, msg.len, 1, deadline) != 0 ||
	    io_all(fd, hdr, 2, 0, deadline) != 0) {
		res_set(res, TG_DNSUPDATE_TEMP, "no reply from %s port %u "
		    "within %d ms", addr, port, timeout_ms);
		goto out;
	}
	rlen = ((size_t)hdr[0] << 8) | hdr[1];
	if (rlen < 12 || (reply = malloc(rlen)) == NULL ||
	    io_all(fd, reply, rlen, 0, deadline) != 0) {
		res_set(res, TG_DNSUPDATE_TEMP, "no whole reply from %s port "
		    "%u", addr, port);
		goto out;
	}
	tg_dnsupdate_judge(&msg, key, reply, rlen, tg_clock_now(), res);
out:
	if (fd >= 0)
		close(fd);
	free(reply);
	tg_dnsupdate_msg_free(&msg);
	return 0;
}

const char *
tg_dnsupdate_outcome_name(enum tg_dnsupdate_outcome o)
{
	switch (o) {
	case TG_DNSUPDATE_DONE:
		return "done";
	case TG_DNSUPDATE_PREREQ:
		return "prerequisite";
	case TG_DNSUPDATE_REFUSED:
		return "refused";
	case TG_DNSUPDATE_TSIG:
		return "tsig";
	case TG_DNSUPDATE_TEMP:
		return "temporary";
	}
	return "invalid";
}
