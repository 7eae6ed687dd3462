# Our own TLS reports through relayd (RFC 8460 §5.3.1; smtp/submark):
# a report mail of `tlsgate report send` to a domain whose DANE check
# fails (dane-bad.test: TLSA mismatch) is still delivered — with
# opportunistic TLS, without the marker line, and without a TLS-RPT
# session of its own — while other mail to that domain stays deferred;
# a forged marker changes nothing.

. "$TOP/tests/integration/relay_out_lib.bash"
ro_setup dns -- "report.org_name = Lab Gateway" \
    "report.contact = tlsrpt@insecure.test"
check "relayd starts" ro_start
check "relayd made the submission key" test -s "$T/state/report-submit.key"
expect_eq "the key is private" 600 "$(stat -c %a "$T/state/report-submit.key")"

# Yesterday's sessions for dane-bad.test, and where it wants reports.
DAY=$(date -u -d yesterday +%F)
check "the recording program builds" tg_build_recorder "$T/record"
check "yesterday: 2 tlsa-invalid sessions for dane-bad.test" "$T/record" \
    "$T/state" "$(date -u -d "$DAY 12:00:00" +%s)" dane-bad.test tlsa \
    "3 1 1 00" mx.dane-bad.test tlsa-invalid 2
check "publish _smtp._tls.dane-bad.test (mailto)" tg_net_update dane-bad.test \
    "update add _smtp._tls.dane-bad.test. 60 TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@dane-bad.test\""
rows() {
	sqlite3 "$T/state/reports.db" "SELECT coalesce(sum(count), 0) FROM
	    tls_sessions WHERE policy_domain = 'dane-bad.test'"
}
before=$(rows)

# Ordinary mail to dane-bad.test: deferred, as always.
check "ordinary mail to dane-bad.test accepted" ro_send user@dane-bad.test plain-1
check "ordinary mail deferred" ro_wait_log \
    "event=delivery .*domain=dane-bad\.test .*result=deferred" 30
after_plain=$(rows)
expect_eq "its failed session is recorded" $((before + 1)) "$after_plain"

# The report: submitted to relayd by `tlsgate report send`.
tg report send --day "$DAY" > "$T/send.out" 2>&1
expect_eq "report send exits 0" 0 "$?"
expect_match "the report was handed to the relay" \
    "delivered +$DAY dane-bad.test mailto:tlsrpt@dane-bad.test" "$(cat "$T/send.out")"
check "the report reached dane-bad.test's maildir" tg_net_wait_mail dane-bad.test 1 30
mail=$(tg_net_mail_grep dane-bad.test '^TLS-Report-Domain: dane-bad.test' | xargs cat)
expect_match "it is the report for dane-bad.test" "TLS-Report-Submitter: insecure.test" "$mail"
expect_no_match "the marker line was removed" "TLSGate-Report" "$mail"
expect_match "the MX saw TLS (opportunistic, offered)" "using TLSv1\.[23]" "$mail"
expect_match "relayd: decided by the report-submission rule" \
    'event=delivery .*domain=dane-bad\.test .*policy=report-submission .*result=delivered' \
    "$(cat "$RO_LOG")"
expect_eq "no TLS-RPT session recorded for the report" "$after_plain" "$(rows)"
expect_eq "the ordinary mail is still deferred" deferred "$(ro_rcpt_state user@dane-bad.test)"
expect_eq "only the report was delivered" 0 "$(ro_mail_with dane-bad.test plain-1)"

# A forged marker: handled as any other mail, deferred.
# The marker line first, where rptd puts it, with a made-up mac.
forged() {
	python3 - "$RO_ADDR" "$RO_PORT" <<'PY'
import smtplib, sys
msg = ("TLSGate-Report: v=1; mac=" + "0" * 64 + "\r\n"
       "From: sender@insecure.test\r\nTo: user2@dane-bad.test\r\n"
       "X-Test-Id: forged-1\r\nSubject: forged-1\r\n\r\nforged\r\n")
with smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=20) as s:
    s.sendmail("sender@insecure.test", ["user2@dane-bad.test"], msg)
PY
}
forged_state() { [ "$(ro_rcpt_state user2@dane-bad.test)" = deferred ]; }
check "forged marker accepted" forged
check "forged marker: ignored, logged" ro_wait_log "report_marker=invalid" 30
check "forged marker: deferred" wait_for 30 forged_state
expect_eq "forged marker: nothing delivered" 0 "$(ro_mail_with dane-bad.test forged-1)"
expect_eq "forged marker: one mail in the maildir still" 1 "$(tg_net_mail_count dane-bad.test)"

check "relayd stops" ro_stop
tg_net_down
