# The DANE rollover through dane.update_hook (a DNS host without RFC
# 2136): controllerd runs a program for each change — here a script that
# makes the change with knsupdate, as a provider's API client would —
# from the runner it starts before its sandbox. Checked on the lab's
# signed zone gw.test: a failing program's output is logged and the step
# is not recorded as done; once it works, the current key's record is
# published and seen everywhere; `tlsgate cert rollover` adds the next
# record (the program is told what the RRset holds), switches, and
# removes the old one; the zone ends with exactly the new record.

. "$TOP/tests/net/net.sh"
. "$TOP/tests/integration/dane_lib.bash"
tg_net_available || { skip "the lab network needs root namespaces"; exit 0; }
check "lab network up (dns)" tg_net_up dns

TTL=1
CLOG="$T/controllerd.log"
OWNER=_25._tcp.mx.gw.test.
HOOK="$T/dns-hook"
knsupdate_hook "$HOOK"
conf=$(tg_net_conf)
cat >> "$conf" <<CONF
store.poll_interval = 1
dane.update_hook = $HOOK
dane.zone = gw.test
dane.tlsa_ttl = ${TTL}s
CONF
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
check "tlsgate init" tg init

touch "$T/hook.fail"
"$BIN/tlsgate-controllerd" -f -c "$conf" >> "$CLOG" 2>&1 &
ctl_pid=$!
old=$(current)
check "the failing program is run" wait_for 20 \
	grep -q "event=rollover-hook action=add .*exit=1 output=\"provider says no \"" "$CLOG"
expect_match "the step failed with its output" \
	"step=publish-current result=failed .*hook failed: provider says no" "$(cat "$CLOG")"
expect_eq "nothing recorded as published" none "$(tlsa_of "$old")"
expect_eq "nothing in the zone" "" "$(zone_tlsa)"
rm -f "$T/hook.fail"
kill -HUP "$ctl_pid"	# look again now, not in 30 s
check "then the current key's record is published and seen everywhere" \
	wait_for 40 bash -c "[ \"\$($BIN/tlsgate -c $conf cert list --json | jq -r '.[] | select(.role == \"mx\" and .state == \"current\") | .tlsa_state')\" = visible ]"
expect_eq "the zone holds exactly that record" "311$old" "$(zone_tlsa)"
expect_match "the program was called with zone, owner, TTL, type, record" \
	"^add gw\.test $OWNER $TTL TLSA 3 1 1 $old\$" "$(cat "$T/hook.calls")"

check "tlsgate cert rollover makes the next key" tg cert rollover
new=$(tg cert list --json | jq -r '.[] | select(.role == "mx" and .state == "next") | .spki_sha256')
for i in $(seq 120); do
	[ "$(current)" = "$new" ] && [ "$(zone_tlsa)" = "311$new" ] &&
	    [ "$(tlsa_of "$old")" = removed ] && break
	sleep 0.5
done
expect_eq "the new key is current" "$new" "$(current)"
expect_eq "the zone holds only its record" "311$new" "$(zone_tlsa)"
expect_eq "the old record is removed" removed "$(tlsa_of "$old")"
expect_match "the next record added, told what the RRset held" \
	"^add gw\.test $OWNER $TTL TLSA 3 1 1 $new 3 1 1 $old\$" "$(cat "$T/hook.calls")"
expect_match "the old record deleted, told both were there" \
	"^delete gw\.test $OWNER $TTL TLSA 3 1 1 $old 3 1 1 ($old 3 1 1 $new|$new 3 1 1 $old)\$" \
	"$(cat "$T/hook.calls")"
kill "$ctl_pid"; wait "$ctl_pid" 2>/dev/null
expect_no_match "no sanitizer report" "Sanitizer|runtime error" "$(cat "$CLOG")"
tg_net_down
