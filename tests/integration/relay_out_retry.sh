# The fault fixed, the next retry delivers (RELIABILITY O-04): mail for
# dane-bad.test (TLSA of a key the server does not have) is deferred and
# retried (queue.min_backoff 2 s), never delivered while the TLSA is
# wrong; once the right TLSA is published (tg_net_update), a later retry
# — after relayd's resolver cache has let the old record go (TTL 60 s) —
# delivers it, verified, without any restart or flush.

. "$TOP/tests/integration/relay_out_lib.bash"
ro_setup dns
check "relayd starts" ro_start

check "accepted" ro_send user@dane-bad.test retry-1
check "deferred (TLSA mismatch)" ro_wait_log "domain=dane-bad\.test .*result=deferred status=4\.7\.5" 30
check "retried with backoff" wait_for 30 bash -c \
	"[ \$(grep -c 'event=connect domain=dane-bad.test .*not-verified' '$RO_LOG') -ge 2 ]"
expect_eq "still queued" deferred "$(ro_rcpt_state user@dane-bad.test)"
expect_eq "nothing delivered" 0 "$(tg_net_mail_count dane-bad.test)"
attempts=$(ro_queue | jq '.[0].recipients[0].attempts')
expect_match "attempts counted in the queue" "^[2-9]|[1-9][0-9]+$" "$attempts"

key=$(tr -d '\n' < "$TG_NET_CERT_DIR/mx.dane-bad.test.spki")
check "the right TLSA published" tg_net_update dane-bad.test \
	"update delete _25._tcp.mx.dane-bad.test. TLSA" \
	"update add _25._tcp.mx.dane-bad.test. 60 TLSA 3 1 1 $key"
check "a retry delivers" tg_net_wait_mail dane-bad.test 1 120
expect_eq "the queued message, once" 1 "$(ro_mail_with dane-bad.test retry-1)"
expect_match "delivered verified by DANE" 'domain=dane-bad\.test .*policy=dane .*verify="dane verified" result=delivered' \
	"$(ro_delivery_line dane-bad.test)"
expect_eq "queue empty" 0 "$(ro_queued)"
expect_eq "relayd was not restarted" 1 "$(grep -c 'event=start result=ok' "$RO_LOG")"
expect_match "TLS-RPT: failures and then a success" \
	"tlsa success [0-9]+" "$(ro_tlsrpt dane-bad.test)"
expect_match "TLS-RPT: the failures" "tlsa tlsa-invalid [0-9]+" "$(ro_tlsrpt dane-bad.test)"
check "relayd stops" ro_stop
tg_net_down
