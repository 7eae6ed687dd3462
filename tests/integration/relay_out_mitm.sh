# A man in the middle that strips STARTTLS from the EHLO reply, or answers
# 454 to STARTTLS (RELIABILITY O-07, RFC 7672 §1.3.1, §2.2; RFC 8461 §4,
# §5): relayd defers mail for a DANE destination (dane-ok.test) and for an
# MTA-STS enforce destination (sts.test), never delivering it in the
# clear; an opportunistic destination (insecure.test) passes in the clear
# through the same proxy — the proof that the proxy sits on the path.
# With the attacker gone (and relayd restarted, which also drops its
# resolver cache), the queued mail is delivered verified.

. "$TOP/tests/integration/relay_out_lib.bash"
ro_setup dns nginx

MITM="$RO_HELPERS/starttls_mitm.py"
declare -A real=([dane-ok.test]=$TG_NET_IP_MX_DANE_OK_TEST
    [sts.test]=$TG_NET_IP_MX_STS_TEST [insecure.test]=$TG_NET_IP_MX_INSECURE_TEST)
declare -A evil=([dane-ok.test]=127.0.6.1 [sts.test]=127.0.6.2
    [insecure.test]=127.0.6.3)

# mitm_start MODE — one proxy per destination, each on its own address.
mitm_start() {
	local d
	for d in "${!evil[@]}"; do
		python3 "$MITM" --listen "${evil[$d]}:25" --target "${real[$d]}:25" \
		    --mode "$1" --log "$T/mitm.log" --pidfile "$T/mitm-$d.pid" \
		    >> "$T/mitm.out" 2>&1 &
	done
	for d in "${!evil[@]}"; do
		wait_port "${evil[$d]}" 25 10 || return 1
	done
}
mitm_stop() {
	local f
	for f in "$T"/mitm-*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
		rm -f "$f"
	done
	sleep 0.3
}
# point DOMAIN ADDR — mx.DOMAIN's A record now says ADDR.
point() {
	tg_net_update "$1" "update delete mx.$1. A" "update add mx.$1. 60 A $2"
}

for d in "${!evil[@]}"; do
	ip addr add "${evil[$d]}/32" dev lo
done
check "proxies up (strip)" mitm_start strip
for d in "${!evil[@]}"; do
	check "mx.$d points at the attacker" point "$d" "${evil[$d]}"
done
check "relayd starts" ro_start

n_insecure=$(tg_net_mail_count insecure.test)
for d in dane-ok.test sts.test insecure.test; do
	check "$d: accepted" ro_send "user@$d" "mitm-$d"
done
check "insecure.test (opportunistic): delivered through the proxy" \
	tg_net_wait_mail insecure.test $((n_insecure + 1)) 30
expect_match "insecure.test: in the clear, logged as such" \
	'policy=opportunistic tls=none verify="opportunistic \(no TLS\)" result=delivered' \
	"$(ro_delivery_line insecure.test)"
check "dane-ok.test: deferred" ro_wait_log "domain=dane-ok\.test .*result=deferred" 30
check "sts.test: deferred" ro_wait_log "domain=sts\.test .*result=deferred" 30
expect_match "the proxy stripped STARTTLS" "stripped STARTTLS" "$(cat "$T/mitm.log")"
for d in dane-ok.test sts.test; do
	expect_eq "$d: still queued" deferred "$(ro_rcpt_state "user@$d")"
	expect_match "$d: deferred because TLS was not offered (4.7.4)" "^4\.7\.4 " \
		"$(ro_rcpt_reason "user@$d")"
	expect_eq "$d: nothing in the maildir" 0 "$(tg_net_mail_count "$d")"
done
expect_no_match "no transaction reached mx.dane-ok.test or mx.sts.test" \
	"postfix-mx/mx\.(dane-ok|sts)\.test/smtpd.*client=" "$(cat "$TG_NET_MX_LOG")"
expect_match "TLS-RPT: tlsa starttls-not-supported" "^tlsa starttls-not-supported" \
	"$(ro_tlsrpt dane-ok.test)"
expect_match "TLS-RPT: sts starttls-not-supported" "^sts starttls-not-supported" \
	"$(ro_tlsrpt sts.test)"

# The same with 454 to STARTTLS.
mitm_stop
check "proxies up (454)" mitm_start 454
check "flush" tg queue flush
check "dane-ok.test: STARTTLS refused, deferred again" \
	ro_wait_log "event=connect domain=dane-ok\.test .*status=starttls-refused" 30
check "sts.test: STARTTLS refused, deferred again" \
	ro_wait_log "event=connect domain=sts\.test .*status=starttls-refused" 30
expect_match "the proxy answered 454" "answered STARTTLS with 454" "$(cat "$T/mitm.log")"
sleep 1
for d in dane-ok.test sts.test; do
	expect_eq "$d: still queued after 454" deferred "$(ro_rcpt_state "user@$d")"
	expect_eq "$d: still nothing delivered" 0 "$(tg_net_mail_count "$d")"
done

# The attacker leaves; relayd restarts with what is queued.
mitm_stop
check "relayd stops" ro_stop
for d in dane-ok.test sts.test; do
	check "mx.$d restored" point "$d" "${real[$d]}"
done
check "relayd starts again" ro_start
for d in dane-ok.test sts.test; do
	check "$d: delivered after the attack" tg_net_wait_mail "$d" 1 40
	expect_eq "$d: the queued message, once" 1 "$(ro_mail_with "$d" "mitm-$d")"
	expect_eq "$d: queue empty" "" "$(ro_rcpt_state "user@$d")"
done
expect_match "dane-ok.test: verified by DANE" 'verify="dane verified" result=delivered' \
	"$(ro_delivery_line dane-ok.test)"
expect_match "sts.test: verified by MTA-STS" 'policy=mta-sts tls=TLSv1\.[23] verify="sts verified" result=delivered' \
	"$(ro_delivery_line sts.test)"
check "relayd stops" ro_stop
tg_net_down
