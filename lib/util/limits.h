/*
 * util/limits — every size, count and time limit of tlsgate, in one place.
 *
 * A limit that an administrator may tune is also a config key (core/conf);
 * the value here is then its default. Nothing in lib/ hard-codes a limit
 * anywhere else.
 */
#ifndef TG_UTIL_LIMITS_H
#define TG_UTIL_LIMITS_H

/* Names. RFC 1035 §2.3.4: 255 octets on the wire, 253 in text form. */
#define TG_DNAME_MAX		253
#define TG_LABEL_MAX		63

/* Bootstrap config file. */
#define TG_CONF_FILE_MAX	(256 * 1024)	/* bytes */
#define TG_CONF_LINE_MAX	4096		/* bytes per line */
#define TG_CONF_LIST_MAX	32		/* entries of a list key */
#define TG_PATH_MAX		1024
#define TG_CONF_TEXT_MAX	256		/* a free-text value, incl. NUL */
#define TG_CONF_USER_MAX	33		/* a login name, incl. NUL */
#define TG_CONF_HOST_MAX	46		/* IP text, INET6_ADDRSTRLEN */

/* Store. */
#define TG_STORE_BUSY_TIMEOUT_MS 5000
#define TG_STORE_TEXT_MAX	(64 * 1024)	/* any text column we write */
#define TG_STS_MX_MAX		32		/* mx patterns per policy */
#define TG_STORE_ROUTE_MAX	(TG_DNAME_MAX + 8)	/* "host:port", "[v6]:port" */
#define TG_STORE_RUA_MAX	1024	/* TLS-RPT rua: all URIs, comma-joined */
#define TG_STORE_RUA_URIS_MAX	8	/* URIs in one rua */
#define TG_STORE_NOTE_MAX	256	/* free-text notes on config rows */
#define TG_STORE_USER_MAX	64	/* admin user name */
#define TG_STORE_HASH_MAX	255	/* PHC password hash string */
#define TG_STORE_META_KEY_MAX	64
#define TG_STS_ID_MAX		32	/* RFC 8461 §3.1: id = 1*32(ALPHA / DIGIT) */
#define TG_CIDR_TEXT_MAX	49	/* INET6_ADDRSTRLEN - 1 + "/128" */

/* DNS (RFC 7672 leaves these to the implementation; Postfix caps at 100). */
#define TG_DNS_RR_MAX		100	/* records taken from one RRset */
#define TG_DNS_CNAME_MAX	8	/* CNAME links followed */
#define TG_DNS_TIMEOUT_S	30

/* TLSA. */
#define TG_TLSA_DATA_MAX	4096	/* bytes of association data */

/* SMTP (RFC 5321 §4.5.3.1). */
#define TG_SMTP_LINE_MAX	2048	/* command line incl. CRLF (Postfix) */
#define TG_SMTP_REPLY_LINES_MAX	100	/* lines of one multi-line reply */
#define TG_SMTP_REPLY_MAX	(64 * 1024)
#define TG_SMTP_CMD_TIMEOUT_S	300	/* RFC 5321 §4.5.3.2 */
#define TG_SMTP_TLS_TIMEOUT_S	60

/* TLS client check. */
#define TG_TLS_HANDSHAKE_TIMEOUT_S 30
#define TG_CHAIN_MAX		10	/* certificates reported per chain */

/* Certificates and keys (tls/cert). */
#define TG_CERT_FILE_MAX	(1024 * 1024)	/* PEM file or buffer, bytes */
#define TG_CERT_NAMES_MAX	64	/* SAN DNS names reported per cert */
#define TG_CERT_TEXT_MAX	256	/* subject/issuer one-line text */
#define TG_CERT_DAYS_MAX	3650	/* validity of a generated cert */

/* SMTP client steps (Postfix smtp_connect_timeout, smtp_helo_timeout). */
#define TG_SMTP_CONNECT_TIMEOUT_S 30
#define TG_SMTP_GREETING_TIMEOUT_S 300

/* MTA-STS (RFC 8461 §3.3). */
#define TG_STS_BODY_MAX		(64 * 1024)
#define TG_STS_FETCH_TIMEOUT_S	60
#define TG_STS_MAX_AGE_MAX	31557600L

/* Logging. */
#define TG_LOG_LINE_MAX		2048

#endif
