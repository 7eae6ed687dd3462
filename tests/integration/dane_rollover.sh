# The DANE rollover of the MX name, end to end on the lab network:
# controllerd keeps _25._tcp.mx.gw.test in the signed zone gw.test (Knot,
# RFC 2136 updates signed with the lab TSIG key) in lockstep with the key
# tlsgate-mxd serves, and the lab's DANE-enforcing Postfix sender
# delivers through mxd before and after (RFC 7671 §8.1, RELIABILITY
# C-01, C-02):
#   - the current key's record is published and seen everywhere;
#   - `tlsgate cert rollover`: the next key's record goes in beside it,
#     the switch comes no sooner than two TTLs after it was visible, the
#     old record goes one TTL after the switch — and in every sample
#     taken meanwhile the key mxd serves has its record in the zone;
#   - controllerd killed (-9) in the middle carries on where it was;
#   - its self-check (RELIABILITY C-05) finds our MX valid by DANE after
#     the rollover, and invalid once a wrong record is put in the zone.

. "$TOP/tests/net/net.sh"
. "$TOP/tests/integration/dane_lib.bash"
tg_net_available || { skip "the lab network needs root namespaces"; exit 0; }
check "lab network up (dns mx sender)" tg_net_up dns mx sender

MX=$TG_NET_GW_MX_ADDR
INTERNAL=127.0.1.3
TTL=2
LOG="$T/mxd.log" CLOG="$T/controllerd.log"
OWNER=_25._tcp.mx.gw.test.
conf=$(tg_net_conf)
cat >> "$conf" <<CONF
mx.listen = $MX:25
store.poll_interval = 1
dane.update_server = $TG_NET_DNS_ADDR@$TG_NET_DNS_PORT
dane.tsig_key_file = $TG_NET_TSIG_FILE
dane.zone = gw.test
dane.tlsa_ttl = ${TTL}s
CONF
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
check "tlsgate init" tg init
check "gw.test hosted, routed to the internal server" \
    tg domain add gw.test --route "$INTERNAL:25"

# The SPKI SHA-256 of the key mxd serves now.
served() {
	openssl s_client -connect "$MX:25" -starttls smtp -servername \
	    "$TG_NET_GW_MX_NAME" < /dev/null 2>/dev/null |
	    openssl x509 -noout -pubkey 2>/dev/null |
	    openssl pkey -pubin -outform DER 2>/dev/null | sha256sum |
	    cut -d' ' -f1
}
ctl_start() {
	"$BIN/tlsgate-controllerd" -f -c "$conf" >> "$CLOG" 2>&1 &
	ctl_pid=$!
}
delivered() { # ID — the internal server has the message
	grep -l "X-Test-Id: $1\$" "$TG_NET_MAILDIR/gw.test"/new/* 2>/dev/null | wc -l
}
verified() { grep -c "Verified TLS connection established to mx\.gw\.test" "$TG_NET_SENDER_LOG"; }

"$BIN/tlsgate-mxd" -f -c "$conf" >> "$LOG" 2>&1 &
mxd_pid=$!
check "mxd listens" wait_port "$MX" 25 15
ctl_start
old=$(current)
check "the current key's record is published and seen everywhere" \
    wait_for 30 bash -c "[ \"\$($BIN/tlsgate -c $conf cert list --json | jq -r '.[] | select(.role == \"mx\" and .state == \"current\") | .tlsa_state')\" = visible ]"
expect_eq "the zone holds exactly that record" "311$old" "$(zone_tlsa)"
expect_eq "and mxd serves that key" "$old" "$(served)"
expect_match "controllerd said each step" "step=publish-current result=done" "$(cat "$CLOG")"

check "the DANE-enforcing sender delivers through mxd" \
    tg_net_send sender@sender.test user@gw.test --header "X-Test-Id: roll-1"
check "verified by DANE, delivered" wait_for 60 bash -c \
    "[ \$(grep -l 'X-Test-Id: roll-1\$' '$TG_NET_MAILDIR/gw.test'/new/* 2>/dev/null | wc -l) -ge 1 ]"
expect_eq "one verified session" 1 "$(verified)"

# ---- the rollover, watched --------------------------------------------------
check "tlsgate cert rollover makes the next key" tg cert rollover
new=$(tg cert list --json | jq -r '.[] | select(.role == "mx" and .state == "next") | .spki_sha256')
expect_match "a new key" "^[0-9a-f]{64}$" "$new"
violations=0 samples=0 killed=0 seen_both=0
for i in $(seq 120); do
	z=$(zone_tlsa) s=$(served)
	samples=$((samples + 1))
	if [ -n "$s" ] && ! grep -qx "311$s" <<<"$z"; then
		violations=$((violations + 1))
		echo "# sample $i: mxd serves $s, zone has: $z" >&2
	fi
	[ "$(wc -l <<<"$z")" = 2 ] && seen_both=1
	if [ "$killed" = 0 ] && [ "$(tlsa_of "$new")" = published ] ||
	    { [ "$killed" = 0 ] && [ "$(tlsa_of "$new")" = visible ]; }; then
		kill -9 "$ctl_pid"; wait "$ctl_pid" 2>/dev/null
		killed=1
		ctl_start
	fi
	[ "$(current)" = "$new" ] && [ "$z" = "311$new" ] &&
	    [ "$(tlsa_of "$old")" = removed ] && break
	sleep 0.5
done
expect_eq "the new key is current" "$new" "$(current)"
expect_eq "the zone holds only its record" "311$new" "$(zone_tlsa)"
expect_eq "mxd serves it" "$new" "$(served)"
expect_eq "the old record is removed" removed "$(tlsa_of "$old")"
expect_eq "both records were in the zone together" 1 "$seen_both"
expect_eq "controllerd was killed in the middle and restarted" 1 "$killed"
expect_eq "in $samples samples the served key always had its record" 0 "$violations"
sw=$(grep -m1 "step=switch result=done" "$CLOG" | sed 's/^\([^ ]*\) .*/\1/')
vis=$(grep "step=check-next result=done" "$CLOG" | tail -1 | sed 's/^\([^ ]*\) .*/\1/')
gap=$(( $(date -d "$sw" +%s) - $(date -d "$vis" +%s) ))
expect_eq "the switch came two TTLs or more after the next record was visible" \
    1 "$([ "$gap" -ge $((2 * TTL)) ] && echo 1 || echo "0 ($gap s)")"
ret=$(grep -m1 "step=retire-old result=done" "$CLOG" | sed 's/^\([^ ]*\) .*/\1/')
gap=$(( $(date -d "$ret" +%s) - $(date -d "$sw" +%s) ))
expect_match "each wait is said once" \
    "step=wait until=[0-9]+ plan=\"the next record must be visible for two TTLs" \
    "$(cat "$CLOG")"
expect_eq "the old record went one TTL or more after the switch" \
    1 "$([ "$gap" -ge "$TTL" ] && echo 1 || echo "0 ($gap s)")"

check "the sender delivers again, under the new key" \
    tg_net_send sender@sender.test user@gw.test --header "X-Test-Id: roll-2"
check "delivered" wait_for 60 bash -c \
    "[ \$(grep -l 'X-Test-Id: roll-2\$' '$TG_NET_MAILDIR/gw.test'/new/* 2>/dev/null | wc -l) -ge 1 ]"
expect_eq "verified by DANE again" 2 "$(verified)"
expect_match "the self-check after the rollover: our MX verifies by DANE" \
    "event=selfcheck domain=gw\.test mx=mx\.gw\.test why=check-retired result=ok dane=valid" \
    "$(cat "$CLOG")"

# ---- a mismatch injected behind tlsgate's back (C-05) ------------------------
check "the TLSA record replaced by a wrong one in the zone" \
    tg_net_update gw.test "update delete $OWNER TLSA" \
    "update add $OWNER 2 TLSA 3 1 1 $(printf '%064d' 0)"
kill "$ctl_pid"; wait "$ctl_pid" 2>/dev/null
ctl_start
check "controllerd's self-check at start finds it" wait_for 60 bash -c \
    "grep -q 'event=selfcheck .*why=start result=failed dane=invalid' '$CLOG'"
expect_match "as an error" "tlsgate-controllerd err: event=selfcheck .*result=failed" \
    "$(cat "$CLOG")"
kill "$ctl_pid" "$mxd_pid" 2>/dev/null; wait "$ctl_pid" "$mxd_pid" 2>/dev/null
expect_no_match "no sanitizer report" "Sanitizer|runtime error" \
    "$(cat "$LOG" "$CLOG")"
tg_net_down
