# The rollback of a DANE key rollover (RELIABILITY C-05): the next key's
# record is published and seen, then deleted behind tlsgate's back before
# the switch, so after the switch mxd serves a key no record matches — a
# DANE-enforcing sender would defer our mail. Before the old record goes,
# controllerd checks the MX as such a sender does, finds the new key
# failing and the old record still published, and serves the old key
# again; the failed key's record is then cleaned up, and the lab's
# DANE-enforcing Postfix delivers through mxd, verified.

. "$TOP/tests/net/net.sh"
. "$TOP/tests/integration/dane_lib.bash"
tg_net_available || { skip "the lab network needs root namespaces"; exit 0; }
check "lab network up (dns mx sender)" tg_net_up dns mx sender

MX=$TG_NET_GW_MX_ADDR
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
    tg domain add gw.test --route 127.0.1.3:25

served() {
	openssl s_client -connect "$MX:25" -starttls smtp -servername \
	    "$TG_NET_GW_MX_NAME" < /dev/null 2>/dev/null |
	    openssl x509 -noout -pubkey 2>/dev/null |
	    openssl pkey -pubin -outform DER 2>/dev/null | sha256sum |
	    cut -d' ' -f1
}
mxcerts() { tg cert list --json | jq -r --arg s "$1" --arg f "$2" \
    '.[] | select(.role == "mx" and .spki_sha256 == $s) | .[$f]'; }
verified() { grep -c "Verified TLS connection established to mx\.gw\.test" "$TG_NET_SENDER_LOG"; }

"$BIN/tlsgate-mxd" -f -c "$conf" >> "$LOG" 2>&1 &
check "mxd listens" wait_port "$MX" 25 15
"$BIN/tlsgate-controllerd" -f -c "$conf" >> "$CLOG" 2>&1 &
old=$(current)
check "the current key's record is published and seen" \
    wait_for 30 bash -c "[ \"\$($BIN/tlsgate -c $conf cert list --json |
    jq -r '.[] | select(.role == \"mx\" and .state == \"current\") |
    .tlsa_state')\" = visible ]"

check "tlsgate cert rollover makes the next key" tg cert rollover
new=$(tg cert list --json |
    jq -r '.[] | select(.role == "mx" and .state == "next") | .spki_sha256')
check "its record is published and seen" wait_for 30 bash -c \
    "[ \"\$($BIN/tlsgate -c $conf cert list --json | jq -r --arg s $new \
    '.[] | select(.spki_sha256 == \$s) | .tlsa_state')\" = visible ]"
# Now, during the two TTLs before the switch: the record vanishes.
check "the next key's record deleted behind tlsgate's back" \
    tg_net_update gw.test "update delete $OWNER TLSA 3 1 1 $new"
expect_eq "the zone holds only the old record" "311$old" "$(zone_tlsa)"

check "controllerd rolls back" wait_for 60 grep -q \
    "step=rollback result=done" "$CLOG"
expect_match "and says why" \
    "step=rollback result=done served=${old:0:16}\.\.\. failed=${new:0:16}" \
    "$(cat "$CLOG")"
expect_match "its check before the old record would go found the new key failing" \
    "why=before-retire-old result=failed dane=invalid" "$(cat "$CLOG")"
expect_eq "the old key is current again" "$old" "$(current)"
expect_eq "the failed key is retired" retired "$(mxcerts "$new" state)"
check "mxd serves the old key again" wait_for 15 bash -c \
    "$(declare -f served); MX=$MX TG_NET_GW_MX_NAME=$TG_NET_GW_MX_NAME;
    [ \"\$(served)\" = $old ]"
check "the failed key's record is cleaned up" wait_for 30 bash -c \
    "[ \"\$($BIN/tlsgate -c $conf cert list --json | jq -r --arg s $new \
    '.[] | select(.spki_sha256 == \$s) | .tlsa_state')\" = removed ]"
expect_eq "the old record was never deleted" "311$old" "$(zone_tlsa)"
expect_match "the check before that found our MX valid" \
    "why=before-retire-old result=ok dane=valid" "$(cat "$CLOG")"

check "the DANE-enforcing sender delivers through mxd" \
    tg_net_send sender@sender.test user@gw.test --header "X-Test-Id: back-1"
check "delivered" wait_for 60 bash -c \
    "[ \$(grep -l 'X-Test-Id: back-1\$' '$TG_NET_MAILDIR/gw.test'/new/* 2>/dev/null | wc -l) -ge 1 ]"
expect_eq "verified by DANE" 1 "$(verified)"
