# kill -9 while receiving and while delivering, then restart (RELIABILITY
# Q-01, Q-05, Q-06; RFC 5321 §6.1): every message whose client saw 250 is
# delivered at least once — no loss; duplicates are possible and counted;
# a transaction cut off in DATA leaves nothing behind.
#   1. A client loads relayd with messages (one per connection, each 250
#      journalled by the client at once) while relayd is killed -9 twice
#      and restarted, with one more transaction hanging in DATA.
#   2. The receiving MX is slowed down (2 s before each 250 to end of
#      data) and relayd is killed -9 in the middle of delivering a batch.

. "$TOP/tests/integration/relay_out_lib.bash"
ro_setup dns -- "relay.destination_concurrency = 1"
SMTP="$RO_HELPERS/relay_out_smtp.py"
DOM=insecure.test

# check_acked ACKFILE — every acknowledged id is in the maildir.
check_acked() {
	local id lost=0 dup=0 n total=0
	while read -r id; do
		total=$((total + 1))
		n=$(ro_mail_with "$DOM" "$id")
		[ "$n" -ge 1 ] || { lost=$((lost + 1)); echo "# lost: $id"; }
		[ "$n" -gt 1 ] && dup=$((dup + n - 1))
	done < "$1"
	echo "# $1: $total acknowledged, $lost lost, $dup duplicates"
	expect_eq "$(basename "$1"): no acknowledged message lost" 0 "$lost"
	expect_match "$(basename "$1"): messages were acknowledged" "^[1-9]" "$total"
}

# ---- 1: killed while receiving ----------------------------------------------
check "relayd starts" ro_start
python3 "$SMTP" half --server "$RO_ADDR:$RO_PORT" --to "user@$DOM" \
    --id crash-half > "$T/half.out" 2>&1 &
half=$!
check "a transaction hangs in DATA" wait_for 10 grep -q ready "$T/half.out"
python3 "$SMTP" load --server "$RO_ADDR:$RO_PORT" --to "user@$DOM" \
    --count 60 --ack "$T/ack1" --prefix rx --pause 0.05 > "$T/load1.out" 2>&1 &
load=$!
sleep 0.7
check "kill -9 (receiving)" ro_kill9
wait "$half" 2>/dev/null
check "relayd restarts" ro_start
sleep 0.8
check "kill -9 again" ro_kill9
sleep 0.3
check "relayd restarts again" ro_start
wait "$load"
cat "$T/load1.out"
check "the queue drains" wait_for 60 bash -c "[ \"\$(\"$BIN/tlsgate\" -c '$conf' queue list --json | jq length)\" = 0 ]"
check_acked "$T/ack1"
expect_eq "the transaction cut off in DATA was not delivered" 0 "$(ro_mail_with "$DOM" crash-half)"
expect_eq "nothing left in incoming/" "" "$(ls "$T/spool/incoming")"
expect_match "relayd removed embryonic files at start" \
	"embryonic file removed" "$(cat "$RO_LOG")"

# ---- 2: killed while delivering ------------------------------------------------
# relayd restarted so that no kept connection reaches an smtpd process of
# the MX's old configuration.
check "relayd stops" ro_stop
check "the MX waits 2 s before each 250" tg_net_postconf mx \
	"smtpd_end_of_data_restrictions = sleep 2, permit"
sleep 1
check "relayd starts" ro_start
seen=$(grep -cE "postfix-mx/mx\.insecure\.test/smtpd.*: client=" "$TG_NET_MX_LOG")
check "accepted 6 messages" python3 "$SMTP" load --server "$RO_ADDR:$RO_PORT" \
	--to "user@$DOM" --count 6 --ack "$T/ack2" --prefix tx
expect_eq "all 6 acknowledged" 6 "$(wc -l < "$T/ack2")"
check "relayd is delivering (one connection, one message at a time)" \
	wait_for 20 bash -c "[ \$(grep -cE 'postfix-mx/mx\.insecure\.test/smtpd.*: client=' '$TG_NET_MX_LOG') -gt $seen ]"
sleep 3
check "kill -9 (delivering)" ro_kill9
expect_match "some were still queued when relayd died" "^[1-9]" \
	"$(ls "$T/spool/queue" | wc -l)"
check "the MX is fast again" tg_net_postconf mx "smtpd_end_of_data_restrictions ="
sleep 1
check "relayd restarts" ro_start
check "the queue drains after the restart" wait_for 60 bash -c \
	"[ \"\$(\"$BIN/tlsgate\" -c '$conf' queue list --json | jq length)\" = 0 ]"
check_acked "$T/ack2"
check "relayd stops" ro_stop
tg_net_down
