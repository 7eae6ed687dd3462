# Queue lifetime and DSNs (RELIABILITY Q-07; RFC 3464, RFC 5321 §4.5.5,
# §6.1): with queue.max_lifetime = 10 s, a message that can only be
# deferred (dane-bad.test) fails when it is older than that, and the
# sender gets one DSN (multipart/report, Action failed, the last reason);
# a message from <> expires without any DSN; a 5xx from the receiving
# server bounces at once, with one DSN for the message.

. "$TOP/tests/integration/relay_out_lib.bash"
ro_setup dns -- "queue.max_lifetime = 10s"
check "relayd starts" ro_start

n=$(tg_net_mail_count insecure.test)
check "accepted" ro_send user@dane-bad.test expire-1
check "deferred first" ro_wait_log "domain=dane-bad\.test .*result=deferred" 30
expect_eq "queued while young" deferred "$(ro_rcpt_state user@dane-bad.test)"
check "expired: the DSN reached the sender" tg_net_wait_mail insecure.test $((n + 1)) 40
dsn=$(tg_net_mail_grep insecure.test 'X-Test-Id: expire-1' | xargs cat)
expect_match "DSN: multipart/report" "Content-Type: multipart/report; report-type=delivery-status" "$dsn"
expect_match "DSN: to the sender" "To: <sender@insecure\.test>" "$dsn"
expect_match "DSN: the recipient" "Final-Recipient: rfc822; user@dane-bad\.test" "$dsn"
expect_match "DSN: Action failed" "Action: failed" "$dsn"
expect_match "DSN: the status of the last attempt" "Status: 4\.7\.5" "$dsn"
expect_match "DSN: says it expired" "expired after" "$dsn"
expect_match "DSN: Remote-MTA or diagnostic names the reason" "TLSA" "$dsn"
expect_eq "expired: no longer queued" "" "$(ro_rcpt_state user@dane-bad.test)"
expect_eq "nothing was delivered to dane-bad.test" 0 "$(tg_net_mail_count dane-bad.test)"

# From <>: expires, no DSN (a DSN is never sent for a DSN).
n=$(tg_net_mail_count insecure.test)
RO_FROM="<>" check "accepted from <>" ro_send user@dane-bad.test expire-null
check "from <>: expired without a DSN" ro_wait_log "event=dsn .*result=none reason=\"null sender\"" 40
sleep 2
expect_eq "from <>: no DSN in any maildir" "$n" "$(tg_net_mail_count insecure.test)"
expect_eq "from <>: no longer queued" 0 "$(ro_queued)"

# A 5xx at RCPT: bounced at once, one DSN.
check "the MX refuses one recipient" tg_net_postconf mx \
	"smtpd_recipient_restrictions = check_recipient_access inline:{nobody@insecure.test=REJECT}, permit"
sleep 1
n=$(tg_net_mail_count insecure.test)
check "accepted (two recipients)" ro_send "someone@insecure.test,nobody@insecure.test" bounce-1
check "the good recipient delivered, the other bounced" \
	ro_wait_log "domain=insecure\.test .*result=partial" 30
check "one DSN" tg_net_wait_mail insecure.test $((n + 2)) 30
sleep 2
expect_eq "exactly the message and one DSN" $((n + 2)) "$(tg_net_mail_count insecure.test)"
dsn=$(tg_net_mail_grep insecure.test 'Final-Recipient: rfc822; nobody@insecure\.test' | xargs cat)
expect_match "DSN: Status 5.x.x from the server" "Status: 5\.[0-9]\.[0-9]" "$dsn"
expect_match "DSN: the server's reply" "Diagnostic-Code: smtp; .* said: 55[0-9] " "$dsn"
expect_no_match "DSN: only the failed recipient" "Final-Recipient: rfc822; someone@" "$dsn"
expect_eq "queue empty" 0 "$(ro_queued)"
check "relayd stops" ro_stop
tg_net_down
