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
#define TG_CONF_TEXT_MAX	256	/* a free-text value, incl. NUL */
#define TG_CONF_USER_MAX	33		/* a login name, incl. NUL */
#define TG_CONF_HOST_MAX	46		/* IP text, INET6_ADDRSTRLEN */

/* Store. */
#define TG_STORE_BUSY_TIMEOUT_MS 5000
#define TG_STORE_TEXT_MAX	(64 * 1024)	/* any text column we write */
#define TG_STS_MX_MAX		32		/* mx patterns per policy */
/* "host:port", "[v6]:port" */
#define TG_STORE_ROUTE_MAX	(TG_DNAME_MAX + 8)
#define TG_STORE_RUA_MAX	1024 /* TLS-RPT rua: all URIs, comma-joined */
#define TG_STORE_RUA_URIS_MAX	8	/* URIs in one rua */
#define TG_STORE_NOTE_MAX	256	/* free-text notes on config rows */
#define TG_STORE_USER_MAX	64	/* admin user name */
#define TG_STORE_HASH_MAX	255	/* PHC password hash string */
#define TG_STORE_META_KEY_MAX	64
/* RFC 8461 §3.1: id = 1*32(ALPHA / DIGIT) */
#define TG_STS_ID_MAX		32
#define TG_CIDR_TEXT_MAX	49	/* INET6_ADDRSTRLEN - 1 + "/128" */

/* DNS (RFC 7672 leaves these to the implementation; Postfix caps at 100). */
#define TG_DNS_RR_MAX		100	/* records taken from one RRset */
#define TG_DNS_CNAME_MAX	8	/* CNAME links followed */
#define TG_DNS_TIMEOUT_S	30
#define TG_DNS_WHY_MAX		256 /* bytes of a bogus reason / error text */
#define TG_DNS_SERVERS_MAX	32	/* forwarders, and stub entries */
#define TG_DNS_SYNC_MAX		64 /* questions of one tg_dns_resolve_sync */
#define TG_DNS_TA_FILE_MAX	(64 * 1024)	/* trust anchor file bytes */

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
#define TG_STS_RETRY_S		300	/* failed fetch: next try per id */
#define TG_STS_REFRESH_S	86400 /* proactive refresh, at most this old */
#define TG_STS_FETCHES_MAX	64 /* policy fetches in flight per client */

/* TLS-RPT reports received and sent (RFC 8460; RELIABILITY ). */
#define TG_RPT_JSON_MAX		(5 * 1024 * 1024) /* report JSON, inflated */
#define TG_RPT_GZIP_RATIO_MAX	250	/* out:in; deflate tops near 1032 */
#define TG_RPT_GZIP_RATIO_SLACK	(64 * 1024) /* output before ratio counts */
#define TG_RPT_JSON_DEPTH_MAX	16	/* nesting of arrays/objects */
#define TG_RPT_POLICIES_MAX	1000	/* policies[] of one report */
#define TG_RPT_DETAILS_MAX	1000	/* failure-details[] of one policy */
#define TG_RPT_STRINGS_MAX	128 /* policy-string[] / mx-host[] entries */
#define TG_RPT_FIELD_MAX	2048	/* any other string value, bytes */
#define TG_RPT_MAIL_MAX		(10 * 1024 * 1024) /* a mailed report */
#define TG_RPT_MAIL_HEADER_MAX	(64 * 1024) /* header section of it */
#define TG_RPT_MAIL_PARTS_MAX	16	/* MIME parts looked at */

/* Logging. */
#define TG_LOG_LINE_MAX		2048

/* Spool (smtp/spool). RFC 5321 §4.5.3.1.8: at least 100 recipients must be
 * accepted; Postfix's smtpd_recipient_limit and message_size_limit are the
 * defaults here. */
#define TG_SPOOL_RCPT_MAX	1000		/* recipients per message */
#define TG_SPOOL_FIELD_MAX	1024	/* bytes of one envelope text field */
#define TG_SPOOL_MSG_SIZE_DEFAULT 10240000	/* content bytes per message */
/* ceiling for any size setting */
#define TG_SPOOL_MSG_SIZE_MAX	(1024LL * 1024 * 1024)
#define TG_SPOOL_CHUNK		(64 * 1024) /* content bytes per DATA record */
/* last-reason text per recipient, incl. NUL */
#define TG_SPOOL_REASON_MAX	512
/* state journal bytes ever read */
#define TG_SPOOL_JNL_MAX	(4 * 1024 * 1024)
/* journal size that triggers a rewrite */
#define TG_SPOOL_JNL_COMPACT	(2 * 1024 * 1024)
#define TG_SPOOL_QUEUE_MAX	1000000		/* messages in one spool */
#define TG_SPOOL_BATCH_MAX	256	/* messages in one group commit */

/* HTTPS fetch (net/fetch), used for MTA-STS policies (RFC 8461 §3.3). */
#define TG_FETCH_URL_MAX	2048	/* bytes of a URL */
#define TG_FETCH_RESOLVE_MAX	16	/* "host:port:address" overrides */
#define TG_FETCH_RESOLVE_LEN_MAX (TG_DNAME_MAX + 64)	/* one override */
#define TG_FETCH_OWN_MAX	64	/* own address blocks refused */
#define TG_FETCH_CTYPE_MAX	127	/* media type kept, RFC 6838 §4.2 */
#define TG_FETCH_LOCATION_MAX	255	/* redirect target kept for a reason */
#define TG_FETCH_CONNECT_TIMEOUT_S 15

/* HTTPS server (net/http): stsd, rptd; RELIABILITY H-03. */
#define TG_HTTP_CONN_MAX	1024	/* connections in all */
#define TG_HTTP_PER_IP_MAX	32	/* connections from one address */
#define TG_HTTP_IDLE_TIMEOUT_S	15	/* no traffic: close */
#define TG_HTTP_REQUEST_TIMEOUT_S 30	/* a request, start to end */
#define TG_HTTP_MEMORY_MAX	(16 * 1024) /* pool per connection: header */
#define TG_HTTP_BODY_MAX	(1024 * 1024)	/* POST body, default cap */
#define TG_HTTP_REPLY_MAX	(1024 * 1024)	/* a prebuilt reply body */
#define TG_HTTP_REPLY_HEADERS_MAX 8	/* a route's own headers, per reply */
#define TG_HTTP_ROUTES_MAX	16	/* routes of one server */
#define TG_HTTP_CERTS_MAX	10000	/* names of one certificate set */
#define TG_HTTP_THREADS_MAX	64	/* server threads */
#define TG_STS_HOST_BODY_MAX	9216	/* a policy we serve: 32 mx lines of
					   at most 259 bytes, and the rest */

/* The admin API and console (admin/api, controllerd); RELIABILITY S-04. */
#define TG_ADMIN_BODY_MAX	(64 * 1024)	/* a request's JSON body */
#define TG_ADMIN_CONN_MAX	64	/* connections in all (local use) */
#define TG_ADMIN_PER_IP_MAX	16	/* connections from one address */
#define TG_ADMIN_CERT_DAYS	365	/* the first-use self-signed cert */
#define TG_ADMIN_QUEUE_MAX	500	/* GET /api/queue: messages a queue */
#define TG_ADMIN_DAYS_MAX	90	/* GET /api/reports?days=1..this */
#define TG_ADMIN_DAYS_DEFAULT	7	/* ... without days */

/* Outbound SMTP client (smtp/client). RFC 5321 §4.5.3.2 timeouts; the
 * others follow Postfix (smtp_rset_timeout, connection and TLS session
 * cache). */
#define TG_SMTP_PATH_MAX	256	/* RFC 5321 §4.5.3.1.3, without <> */
#define TG_SMTPC_DATA_INIT_TIMEOUT_S 120	/* §4.5.3.2.4: 354 to DATA */
#define TG_SMTPC_DATA_XFER_TIMEOUT_S 180	/* §4.5.3.2.5: data block */
#define TG_SMTPC_DATA_DONE_TIMEOUT_S 600	/* §4.5.3.2.6: reply to "." */
#define TG_SMTPC_RSET_TIMEOUT_S	20
#define TG_SMTPC_QUIT_TIMEOUT_S	10
#define TG_SMTPC_IDLE_TIMEOUT_S	10	/* kept connection without work */
#define TG_SMTPC_CACHE_MAX	1000	/* TLS sessions kept */
#define TG_SMTPC_CACHE_AGE_S	3600	/* smtp_tls_session_cache_timeout */
#define TG_SMTPC_CHUNK		(64 * 1024)	/* content read at once */
#define TG_SMTPC_OUT_HIGH	(256 * 1024)	/* output buffered at most */

/* SMTP server (smtp/server, smtp/smtpcmd, smtp/dotstuff). RFC 5321
 * §4.5.3 sizes and timeouts; the rest follow Postfix's smtpd defaults
 * (header_size_limit, smtpd_hard_error_limit, smtpd_min_data_rate). */
#define TG_SMTPD_PATH_MAX	256	/* RFC 5321 §4.5.3.1.3, with <> */
/* A verification's reply text: fits a reply line (512) with code and
 * status. */
#define TG_SMTPD_VERDICT_TEXT_MAX	400
#define TG_SMTPD_DOMAIN_MAX	255	/* RFC 5321 §4.5.3.1.2 */
#define TG_SMTPD_HELO_MAX	255	/* EHLO/HELO argument */
#define TG_SMTPD_ENVID_MAX	100	/* RFC 3461 §4.4 */
#define TG_SMTPD_ORCPT_MAX	500	/* RFC 3461 §4.2 */
#define TG_SMTPD_HDR_FIELD_MAX	(100 * 1024) /* one field, folded lines too */
#define TG_SMTPD_HDR_SECTION_MAX (1024 * 1024)	/* the whole header */
#define TG_SMTPD_HDR_COUNT_MAX	1000	/* header fields per message */
/* RFC 5321 §6.3: Received fields at which a message is taken for a
 * loop (Postfix hopcount_limit). */
#define TG_SMTPD_HOPS_MAX	50
#define TG_SMTPD_ERRORS_MAX	20	/* error replies, then 421 and close */
#define TG_SMTPD_DATA_TIMEOUT_S	300 /* DATA deadline, RFC 5321 §4.5.3.2.6 */
#define TG_SMTPD_MIN_DATA_RATE	500	/* bytes/s that extend the deadline */
#define TG_SMTPD_SESSIONS_MAX	1000	/* sessions in all */
#define TG_SMTPD_PER_CLIENT_MAX	200	/* per IPv4 address or IPv6 /64 */
#define TG_SMTPD_OUTPUT_MAX	(64 * 1024) /* replies queued: stop reading */
#define TG_SMTPD_INPUT_MAX	(4 * TG_SMTP_LINE_MAX)	/* read ahead */
#define TG_SMTPD_CLOSE_TIMEOUT_S 10	/* flushing the last reply */
#define TG_SMTPD_LOG_INPUT_MAX	64	/* offending input bytes logged */

/* Outbound policy and delivery (policy/policy, smtp/delivery, smtp/dsn).
 * Postfix: smtp_mx_address_limit, bounce_size_limit, backoff times. */
#define TG_POLICY_MX_MAX	10	/* MX hosts considered per domain */
#define TG_POLICY_TEXT_MAX	256	/* a reason, incl. NUL */
#define TG_DELIVERY_TLSA_MAX	16	/* TLSA records kept per MX host */
#define TG_DELIVERY_ADDRS_MAX	4	/* addresses tried per MX host */
/* recipients per transaction */
#define TG_DELIVERY_RCPT_MAX	TG_SPOOL_RCPT_MAX
#define TG_DELIVERY_DOMAINS_MAX	10000	/* destinations tracked at once */
#define TG_DELIVERY_BATCH_MAX	100	/* messages per domain per queue run */
#define TG_DELIVERY_REUSE_MAX	100	/* messages over one connection */
#define TG_DELIVERY_OPEN_MAX	512	/* messages open for delivery at once */
#define TG_DELIVERY_IDLE_S	5	/* a kept connection waits this long */
#define TG_DELIVERY_PLAN_TTL_S	60	/* a destination's decision is reused */
#define TG_DSN_RETURN_MAX	50000 /* content bytes returned with RET=FULL */
/* a whole DSN */
#define TG_DSN_MAX		(TG_DSN_RETURN_MAX + 64 * 1024)

/* TLS-RPT collector and reporter (rpt/collect, rpt/send, rptd). */
#define TG_RPT_BODY_MAX		(1024 * 1024) /* POSTed report body, default */
#define TG_RPT_RATE_SLOTS	4096 /* sources tracked by the rate limiter */
#define TG_RPT_RATE_DEFAULT	60	/* reports a minute per source */
#define TG_RPT_DB_MAX_DEFAULT	(1024LL * 1024 * 1024) /* reports.db quota */
#define TG_RPT_KEEP_DAYS	31	/* session results, our reports */
#define TG_RPT_SEND_TRY_S	(24 * 3600) /* RFC 8460 §5.4: retry a day */
#define TG_RPT_SEND_BACKOFF_S	300	/* first retry; doubles */
#define TG_RPT_SEND_BACKOFF_MAX_S (4 * 3600)	/* longest wait between tries */
#define TG_RPT_SEND_DELAY_S	(4 * 3600) /* random delay after midnight */
#define TG_RPT_SEND_TIMEOUT_S	60	/* one POST or SMTP submission */
#define TG_RPT_SEND_GZ_MAX	(900 * 1024)	/* one gzip'd report of ours */
#define TG_RPT_SEND_REPLY_MAX	(64 * 1024)	/* reply body read from a rua */
#define TG_FETCH_POST_MAX	(1024 * 1024)	/* a POST body (net/fetch) */

#endif
