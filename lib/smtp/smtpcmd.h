/*
 * smtp/smtpcmd — parsing SMTP command lines on the server side: the verb,
 * the EHLO/HELO argument, and MAIL FROM / RCPT TO with their paths and
 * ESMTP parameters. Pure: a line in, a struct or a reply out; no I/O, no
 * allocation, no logging.
 *
 * Owns the syntax rules (RFC 5321 §4.1.1, §4.1.2 grammar):
 *   - a command line is printable text without CR, LF, NUL or other
 *     control characters (the CRLF has been removed by the caller);
 *     8-bit bytes are allowed through here and checked as UTF-8 in paths;
 *   - verbs are case-insensitive; GET, POST, CONNECT, HEAD, PUT and a
 *     first word ending in ':' (an HTTP header line) are recognised as
 *     HTTP, so that the server can end the session at once (RELIABILITY
 *     I-11; Postfix smtpd_forbidden_commands);
 *   - paths: "<" [source route ":"] Mailbox ">" with Mailbox =
 *     Local-part "@" (Domain / address-literal), Local-part a dot-string
 *     or a quoted string. "MAIL FROM:" and "RCPT TO:" may be followed by
 *     spaces before "<" (as Postfix accepts); the angle brackets are
 *     required. A source route is syntax-checked and dropped (RFC 5321
 *     §4.1.1.3: "SHOULD ignore the routes"); percent hacks, bang paths
 *     and quoted local parts with "@" are valid syntax and are kept as
 *     they are — whether to relay them is the access policy's business
 *     (RELIABILITY I-09). A domain with a trailing dot, an empty label,
 *     a label starting or ending with "-", two "@" outside quotes, or an
 *     address literal other than IPv4 or "IPv6:" is malformed;
 *   - sizes: a path at most TG_SMTPD_PATH_MAX octets with its brackets
 *     (RFC 5321 §4.5.3.1.3), a domain at most TG_SMTPD_DOMAIN_MAX;
 *   - SMTPUTF8 (RFC 6531 §3.3): non-ASCII in a path only as well-formed
 *     UTF-8 and only when the MAIL command carries SMTPUTF8;
 *   - parameters: keyword[=value] separated by spaces; unknown keywords
 *     and keywords given twice are refused; MAIL takes SIZE (RFC 1870),
 *     BODY=7BIT|8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), RET and ENVID
 *     (RFC 3461 §4.3, §4.4), REQUIRETLS (RFC 8689 §2: parsed here,
 *     the server decides whether the session may use it); RCPT takes
 *     NOTIFY and ORCPT (RFC 3461 §4.1, §4.2). ENVID and ORCPT values
 *     are xtext (RFC 3461 §4), checked and kept as given. After HELO
 *     (not EHLO) no parameter is allowed.
 *
 * Results: 0, or the SMTP reply code to send (500, 501, 553, 555) with
 * err->status holding the enhanced status code and err->msg the reply
 * text. Nothing of the input is echoed in err->msg.
 */
#ifndef TG_SMTP_SMTPCMD_H
#define TG_SMTP_SMTPCMD_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/limits.h"

enum tg_smtpcmd_verb {
	TG_SMTPCMD_UNKNOWN = 0,
	TG_SMTPCMD_HELO,
	TG_SMTPCMD_EHLO,
	TG_SMTPCMD_MAIL,
	TG_SMTPCMD_RCPT,
	TG_SMTPCMD_DATA,
	TG_SMTPCMD_RSET,
	TG_SMTPCMD_NOOP,
	TG_SMTPCMD_QUIT,
	TG_SMTPCMD_VRFY,
	TG_SMTPCMD_EXPN,
	TG_SMTPCMD_HELP,
	TG_SMTPCMD_STARTTLS,
	TG_SMTPCMD_AUTH,
	TG_SMTPCMD_BDAT,
	TG_SMTPCMD_HTTP,	/* GET, POST, CONNECT, HEAD, PUT, "Name:" */
	TG_SMTPCMD_NVERBS
};

/* One command line split into verb and argument. */
struct tg_smtpcmd {
	enum tg_smtpcmd_verb verb;
	const char *arg;	/* after the verb and its SP; borrowed */
	size_t arglen;		/* 0: no argument */
};

/* Path flags. */
#define TG_SMTPCMD_P_NULL	0x01u	/* "<>" */
#define TG_SMTPCMD_P_ROUTE	0x02u	/* a source route was dropped */
#define TG_SMTPCMD_P_QUOTED	0x04u	/* quoted local part */
#define TG_SMTPCMD_P_LITERAL	0x08u	/* address literal domain */
#define TG_SMTPCMD_P_UTF8	0x10u	/* non-ASCII characters */
#define TG_SMTPCMD_P_POSTMASTER	0x20u	/* "<Postmaster>", no domain */

struct tg_smtpcmd_path {
	/* The mailbox as given, without <> and without a source route;
	 * "" for "<>". */
	char addr[TG_SMTPD_PATH_MAX + 1];
	size_t at;		/* index of the '@' of the domain; 0: none */
	unsigned flags;		/* TG_SMTPCMD_P_* */
};

/* BODY= values (RFC 6152 §2). */
enum tg_smtpcmd_body {
	TG_SMTPCMD_BODY_UNSET = 0,
	TG_SMTPCMD_BODY_7BIT,
	TG_SMTPCMD_BODY_8BITMIME
};

/* RET= values (RFC 3461 §4.3), numbered as enum tg_spool_ret. */
enum tg_smtpcmd_ret {
	TG_SMTPCMD_RET_UNSET = 0,
	TG_SMTPCMD_RET_FULL,
	TG_SMTPCMD_RET_HDRS
};

struct tg_smtpcmd_mail {
	struct tg_smtpcmd_path path;
	int size_given;
	uint64_t size;		/* SIZE=, UINT64_MAX when it overflows */
	enum tg_smtpcmd_body body;
	int smtputf8;
	int requiretls;		/* RFC 8689 §2: REQUIRETLS given */
	enum tg_smtpcmd_ret ret;
	char envid[TG_SMTPD_ENVID_MAX + 1];	/* xtext as given, "" unset */
};

/* NOTIFY= bits (RFC 3461 §4.1), the same values as TG_SPOOL_NOTIFY_*. */
#define TG_SMTPCMD_NOTIFY_NEVER		0x01u
#define TG_SMTPCMD_NOTIFY_SUCCESS	0x02u
#define TG_SMTPCMD_NOTIFY_FAILURE	0x04u
#define TG_SMTPCMD_NOTIFY_DELAY		0x08u

struct tg_smtpcmd_rcpt {
	struct tg_smtpcmd_path path;
	unsigned notify;	/* 0: not given */
	char orcpt[TG_SMTPD_ORCPT_MAX + 1];	/* "type;xtext", "" unset */
};

/*
 * Split a command line (len bytes without the CRLF, borrowed; cmd->arg
 * points into it) into verb and argument. Returns 0 (an unknown verb is
 * TG_SMTPCMD_UNKNOWN, not an error), or 500 "5.5.2" for CR, LF, NUL or
 * another control character in the line.
 */
int tg_smtpcmd_parse(const char *line, size_t len, struct tg_smtpcmd *cmd,
    struct tg_err *err);

/* The verb's name in upper case ("MAIL"), "?" for unknown. */
const char *tg_smtpcmd_verb_name(enum tg_smtpcmd_verb verb);

/*
 * The EHLO/HELO argument (arg/len from tg_smtpcmd_parse) into out (at
 * least TG_SMTPD_HELO_MAX + 1 bytes): one word of printable ASCII
 * (RFC 5321 §4.1.1.1, read leniently: any name a client may call itself,
 * but nothing that could break a header or a log line). Returns 0 or 501.
 */
int tg_smtpcmd_helo(const char *arg, size_t len, char *out,
    struct tg_err *err);

/*
 * MAIL FROM:<path> [params] (arg/len: the argument after "MAIL ").
 * esmtp: the session began with EHLO (parameters allowed). Returns 0 or
 * 501 (syntax), 553 "5.1.7" (bad sender address), 553 "5.6.7" (non-ASCII
 * without SMTPUTF8), 555 "5.5.4" (parameter unknown or not allowed).
 * A SIZE above any limit is not an error here: the caller compares.
 */
int tg_smtpcmd_mail(const char *arg, size_t len, int esmtp,
    struct tg_smtpcmd_mail *out, struct tg_err *err);

/*
 * RCPT TO:<path> [params]. smtputf8: the transaction's MAIL carried
 * SMTPUTF8. Returns 0 or 501, 553 "5.1.3" (bad recipient address; "<>"
 * included), 553 "5.6.7", 555 "5.5.4".
 */
int tg_smtpcmd_rcpt(const char *arg, size_t len, int esmtp, int smtputf8,
    struct tg_smtpcmd_rcpt *out, struct tg_err *err);

/* 1 if s[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
int tg_smtpcmd_utf8_valid(const char *s, size_t len);

#endif
