# MTA-STS (RFC 8461) through relayd on the lab (RELIABILITY O-12): sts.test
# publishes an enforce policy for mx.sts.test. While the policy host is
# down and nothing is cached, mail goes out as if there were no policy and
# the fetch failure is reported (RFC 8461 §3.3; RFC 8460 §4.3.2.2,
# sts-policy-fetch-error). With mx.sts.test pointing
# at a server whose certificate names another host, enforce defers (the
# mail stays queued, nothing is delivered) and TLS-RPT counts the
# failure; switched to testing (new policy, new TXT id), the next attempt
# delivers and the failure is still recorded (RFC 8461 §5, RFC 8460).
# With the right server back, enforce delivers, verified.

. "$TOP/tests/integration/relay_out_lib.bash"
ro_setup dns nginx

wrong=$TG_NET_IP_MX_TA_WRONGNAME_TEST	# lab-CA cert for another name
right=$TG_NET_IP_MX_STS_TEST
point() {
	tg_net_update sts.test "update delete mx.sts.test. A" \
	    "update add mx.sts.test. 60 A $1"
}
# policy MODE ID — serve MODE and publish ID (policy first, RFC 8461 §8.1).
policy() {
	printf 'version: STSv1\r\nmode: %s\r\nmx: mx.sts.test\r\nmax_age: 86400\r\n' \
	    "$1" > "$TG_NET_STS_POLICY_FILE" &&
	tg_net_update sts.test "update delete _mta-sts.sts.test. TXT" \
	    "update add _mta-sts.sts.test. 60 TXT \"v=STSv1; id=$2;\""
}

# ---- the policy host down, nothing cached: no policy, failure reported ----
_tgn_nginx_stop
check "relayd starts" ro_start
check "accepted" ro_send user@sts.test sts-0
check "no policy to be had: delivered" tg_net_wait_mail sts.test 1 40
expect_match "delivered as without MTA-STS (opportunistic TLS)" \
	'domain=sts\.test .*policy=opportunistic tls=TLSv1\.[23] .*result=delivered' \
	"$(ro_delivery_line sts.test)"
expect_match "TLS-RPT: sts-policy-fetch-error" "^sts sts-policy-fetch-error [0-9]+" \
	"$(ro_tlsrpt sts.test)"
check "relayd stops" ro_stop
nginx_back() { _tgn_nginx_start && _tgn_nginx_ready; }
check "the policy host is back" nginx_back
# A new id: the failed fetch is not retried for the old one within 5 min
# (RFC 8461 §3.3).
check "policy enforce, new id" policy enforce 20240101T000001

check "mx.sts.test points at a server with a wrong certificate" point "$wrong"
check "relayd starts" ro_start

# ---- enforce: deferred -----------------------------------------------------
check "accepted" ro_send user@sts.test sts-1
check "enforce: deferred" ro_wait_log "domain=sts\.test .*result=deferred" 30
expect_match "enforce: the certificate does not name mx.sts.test" \
	'event=connect domain=sts\.test mx=mx\.sts\.test .*policy=mta-sts result=failed status=not-verified' \
	"$(cat "$RO_LOG")"
expect_eq "enforce: still queued" deferred "$(ro_rcpt_state user@sts.test)"
expect_match "enforce: deferred with 4.7.5" "^4\.7\.5 " "$(ro_rcpt_reason user@sts.test)"
expect_eq "enforce: nothing more in the maildir" 1 "$(tg_net_mail_count sts.test)"
expect_no_match "enforce: no transaction reached the server" \
	"postfix-mx/mx\.ta-wrongname\.test/smtpd.*client=" "$(cat "$TG_NET_MX_LOG")"
expect_match "TLS-RPT: sts certificate-host-mismatch" "^sts certificate-host-mismatch [0-9]+" \
	"$(ro_tlsrpt sts.test)"
expect_match "TLS-RPT: the policy strings" "mode: enforce" \
	"$(sqlite3 "$T/state/reports.db" "SELECT policy_strings FROM tls_sessions WHERE policy_domain = 'sts.test'")"
check "retried, still deferred" wait_for 30 bash -c \
	"[ \$(grep -c 'event=connect domain=sts.test .*status=not-verified' '$RO_LOG') -ge 2 ]"
expect_eq "enforce: still nothing more delivered" 1 "$(tg_net_mail_count sts.test)"

# ---- testing: delivered, the failure recorded -----------------------------------
check "policy switched to testing" policy testing 20240102T000000
# relayd's resolver keeps the old TXT for its TTL (60 s): a restart drops
# that cache; the policy cache (cache.db) still holds enforce until the new
# id is seen.
check "relayd stops" ro_stop
check "relayd starts" ro_start
check "testing: delivered" tg_net_wait_mail sts.test 2 40
expect_eq "testing: the queued message, once" 1 "$(ro_mail_with sts.test sts-1)"
expect_match "testing: logged as an MTA-STS test failure" \
	'policy=mta-sts tls=TLSv1\.[23] verify="sts testing: certificate-host-mismatch" result=delivered' \
	"$(ro_delivery_line sts.test)"
expect_eq "testing: queue empty" "" "$(ro_rcpt_state user@sts.test)"
expect_match "TLS-RPT: the testing session counted as a failure" \
	"mode: testing" "$(sqlite3 "$T/state/reports.db" "SELECT policy_strings FROM tls_sessions WHERE policy_domain = 'sts.test' AND result_type = 'certificate-host-mismatch'")"

# ---- enforce with the right server: verified ---------------------------------------
check "policy back to enforce" policy enforce 20240103T000000
check "mx.sts.test points at the right server" point "$right"
check "relayd stops" ro_stop
check "relayd starts" ro_start
check "accepted" ro_send user@sts.test sts-2
check "enforce: delivered" tg_net_wait_mail sts.test 3 40
expect_match "enforce: sts verified" 'policy=mta-sts tls=TLSv1\.[23] verify="sts verified" result=delivered' \
	"$(ro_delivery_line sts.test)"
expect_match "TLS-RPT: an sts success" "^sts success [0-9]+" "$(ro_tlsrpt sts.test)"
expect_eq "queue empty" 0 "$(ro_queued)"
check "relayd stops" ro_stop
tg_net_down
