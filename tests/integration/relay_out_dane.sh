# relayd delivering into the lab under RFC 7672 (RELIABILITY §3, O-01 …
# O-07): every outcome is checked in the receiving Postfix's maildir and
# in relayd's queue, and in reports.db for TLS-RPT.
#   delivered: dane-ok (DANE-EE), cname (TLSA at the CNAME target),
#     twomx (MX 1 refuses, MX 2 takes it), expired-ee (DANE-EE ignores
#     expiry), ta-ok (DANE-TA), insecure (opportunistic);
#   deferred and still queued, nothing delivered in any form: dane-bad
#     (TLSA mismatch), ta-wrongname (DANE-TA name), nostarttls (usable
#     TLSA, no STARTTLS: never in clear), bogus (DNSSEC bogus);
#   bounced with one DSN: nullmx (RFC 7505);
#   local policies: dane-only defers with dane-required, encrypt insists
#     on TLS.

. "$TOP/tests/integration/relay_out_lib.bash"
ro_setup dns
check "relayd starts" ro_start

# ---- delivered ----------------------------------------------------------
for d in dane-ok.test cname.test twomx.test expired-ee.test ta-ok.test \
    insecure.test; do
	check "$d: accepted by relayd" ro_send "user@$d" "ok-$d"
done
for d in dane-ok.test cname.test twomx.test expired-ee.test ta-ok.test \
    insecure.test; do
	check "$d: delivered into the maildir" tg_net_wait_mail "$d" 1 30
	expect_eq "$d: exactly the message sent" 1 "$(ro_mail_with "$d" "ok-$d")"
	expect_eq "$d: no longer queued" "" "$(ro_rcpt_state "user@$d")"
done
line=$(ro_delivery_line dane-ok.test)
expect_match "dane-ok: one log line names DANE, TLS and the verification" \
	'mx=mx\.dane-ok\.test .*policy=dane tls=TLSv1\.[23] verify="dane verified" result=delivered status=2\.0\.0' "$line"
expect_match "dane-ok: the line carries the queue id" 'queue_id=[0-9A-Z]{18} ' "$line"
expect_match "cname: verified at the CNAME target" 'verify="dane verified" result=delivered' \
	"$(ro_delivery_line cname.test)"
expect_match "twomx: delivered through mx2" 'mx=mx2\.twomx\.test .*verify="dane verified" result=delivered' \
	"$(ro_delivery_line twomx.test)"
expect_match "twomx: mx1 was tried first" 'event=connect domain=twomx\.test mx=mx1\.twomx\.test .*result=failed' \
	"$(cat "$RO_LOG")"
expect_match "expired-ee: DANE-EE ignores the expired certificate" \
	'policy=dane .*verify="dane verified" result=delivered' "$(ro_delivery_line expired-ee.test)"
expect_match "ta-ok: DANE-TA verified" 'verify="dane verified" result=delivered' \
	"$(ro_delivery_line ta-ok.test)"
expect_match "insecure: opportunistic TLS" 'policy=opportunistic tls=TLSv1\.[23] verify="opportunistic" result=delivered' \
	"$(ro_delivery_line insecure.test)"
expect_match "the receiving MX saw TLS from relayd" "using TLSv1\.[23]" \
	"$(tg_net_mail_grep dane-ok.test 'ok-dane-ok' | xargs cat)"
expect_match "TLS-RPT: a tlsa success for dane-ok.test" "^tlsa success [0-9]+" \
	"$(ro_tlsrpt dane-ok.test)"
expect_match "TLS-RPT: no-policy-found success for insecure.test" \
	"^no-policy-found success" "$(ro_tlsrpt insecure.test)"

# ---- deferred, never delivered ---------------------------------------------
for d in dane-bad.test ta-wrongname.test nostarttls.test bogus.test; do
	check "$d: accepted by relayd" ro_send "user@$d" "no-$d"
done
for d in dane-bad.test ta-wrongname.test nostarttls.test bogus.test; do
	check "$d: deferred" ro_wait_log "event=delivery .*domain=$d .*result=deferred" 30
done
sleep 1
for d in dane-bad.test ta-wrongname.test nostarttls.test bogus.test; do
	expect_eq "$d: still queued, deferred" deferred "$(ro_rcpt_state "user@$d")"
	expect_eq "$d: nothing in the maildir" 0 "$(tg_net_mail_count "$d")"
done
expect_match "dane-bad: the reason is the TLS failure (4.7.5)" "^4\.7\.5 " \
	"$(ro_rcpt_reason user@dane-bad.test)"
expect_no_match "dane-bad: the MX never got a transaction" "postfix-mx/mx\.dane-bad\.test/smtpd.*client=" \
	"$(cat "$TG_NET_MX_LOG")"
expect_no_match "nostarttls: the MX never got MAIL FROM in clear" \
	"postfix-mx/mx\.nostarttls\.test/smtpd.*(client=|from=<)" "$(cat "$TG_NET_MX_LOG")"
expect_match "nostarttls: deferred for missing STARTTLS (4.7.4)" "^4\.7\.4 " \
	"$(ro_rcpt_reason user@nostarttls.test)"
expect_match "bogus: deferred for DNSSEC" "bogus" "$(ro_rcpt_reason user@bogus.test)"
expect_match "TLS-RPT: dane-bad tlsa-invalid" "^tlsa tlsa-invalid [0-9]+" \
	"$(ro_tlsrpt dane-bad.test)"
expect_match "TLS-RPT: nostarttls starttls-not-supported" \
	"^tlsa starttls-not-supported" "$(ro_tlsrpt nostarttls.test)"
expect_match "TLS-RPT: ta-wrongname a failure" "^tlsa (certificate-host-mismatch|tlsa-invalid|validation-failure)" \
	"$(ro_tlsrpt ta-wrongname.test)"
expect_match "TLS-RPT: bogus dnssec-invalid" "dnssec-invalid" "$(ro_tlsrpt bogus.test)"
# Retried (min backoff 2 s), still never delivered.
check "dane-bad: tried again" wait_for 30 bash -c \
	"[ \$(grep -c 'event=connect domain=dane-bad.test .*result=failed' '$RO_LOG') -ge 2 ]"
expect_eq "dane-bad: still nothing delivered after the retry" 0 "$(tg_net_mail_count dane-bad.test)"

# ---- null MX: one DSN to the sender ---------------------------------------------
dsn_before=$(tg_net_mail_count insecure.test)
check "nullmx: accepted by relayd" ro_send user@nullmx.test nullmx-1
check "nullmx: bounced" ro_wait_log "domain=nullmx\.test .*result=bounced status=5\.1\.10" 30
check "nullmx: the DSN reached the sender's maildir" tg_net_wait_mail insecure.test $((dsn_before + 1)) 30
dsn=$(tg_net_mail_grep insecure.test 'report-type=delivery-status' | xargs cat)
expect_match "DSN: multipart/report to the sender" "Content-Type: multipart/report" "$dsn"
expect_match "DSN: the failed recipient and its status" \
	"Final-Recipient: rfc822; user@nullmx\.test" "$dsn"
expect_match "DSN: Action failed, Status 5.1.10" "Status: 5\.1\.10" "$dsn"
expect_match "DSN: the original headers returned" "X-Test-Id: nullmx-1" "$dsn"
expect_match "DSN: from the null reverse-path" "Return-Path: <>" "$dsn"
expect_eq "nullmx: nothing left in the queue" "" "$(ro_rcpt_state user@nullmx.test)"

# ---- local policies -------------------------------------------------------------
check "policy set insecure.test dane-only" tg policy set insecure.test dane-only
check "relayd reloaded" ro_wait_log "event=reload result=ok" 10
n=$(tg_net_mail_count insecure.test)
check "dane-only: accepted" ro_send user@insecure.test dane-only-1
check "dane-only: deferred" ro_wait_log "domain=insecure\.test .*result=deferred status=4\.7\.5" 30
expect_match "dane-only: reason dane-only" "dane-only" "$(ro_rcpt_reason user@insecure.test)"
expect_eq "dane-only: nothing delivered" "$n" "$(tg_net_mail_count insecure.test)"
expect_match "TLS-RPT: dane-required" "dane-required" "$(ro_tlsrpt insecure.test)"
check "policy set insecure.test encrypt" tg policy set insecure.test encrypt
check "encrypt: the retry delivers (with TLS)" tg_net_wait_mail insecure.test $((n + 1)) 40
expect_match "encrypt: the local policy decided, over TLS" \
	'policy=local tls=TLSv1\.[23] .*result=delivered' "$(ro_delivery_line insecure.test)"
expect_eq "encrypt: queue empty again" "" "$(ro_rcpt_state user@insecure.test)"

expect_eq "queue list --json: only the four deferred messages" 4 "$(ro_queued)"
check "relayd stops" ro_stop
tg_net_down
