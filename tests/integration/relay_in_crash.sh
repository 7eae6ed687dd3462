# kill -9 of relayd (RELIABILITY §0.1, §1.9, Q-01, Q-06): every message
# whose client saw 250 is in the spool after the restart, whole and
# verified (SHA-256 END record); a message killed during DATA leaves
# nothing behind (incoming/ is emptied at start); nothing is quarantined.

. "$TOP/tests/integration/relay_in_lib.bash"
relay_conf
check "init" tg init
check "allow loopback" tg relay allow 127.0.0.1
check "relayd starts" relay_start

# Killed during DATA.
client half 127.0.0.1 $RELAY_PORT > "$T/half.out" &
half=$!
check "a message is half received" wait_for 10 grep -q ready "$T/half.out"
check "it exists only in incoming/" test -n "$(ls "$T/spool/incoming")"
relay_kill9
kill "$half" 2>/dev/null
wait "$half" 2>/dev/null
check "relayd restarts" relay_start
check "the half-written message is gone" test -z "$(ls "$T/spool/incoming")"
expect_eq "nothing was queued" 0 "$(queue_count)"

# Killed right after the 250.
qid=$(client send 127.0.0.1 $RELAY_PORT)
relay_kill9
check "relayd restarts" relay_start
check "the message that got 250 survived" test -f "$T/spool/queue/$qid"
check "and verifies" client spool "$T/spool" "$qid"

# Rounds of four busy clients and a kill -9 at a random moment.
: > "$T/acked"
for round in 1 2 3 4 5 6; do
	[ "$round" = 1 ] || relay_start
	pids=()
	for c in 1 2 3 4; do
		client send 127.0.0.1 $RELAY_PORT --count 200 \
			--log "$T/acked" > /dev/null 2>&1 &
		pids+=($!)
	done
	sleep "0.$((RANDOM % 8 + 2))"
	relay_kill9
	for p in "${pids[@]}"; do wait "$p"; done
done
check "relayd starts after the last kill" relay_start
acked=$(sort -u "$T/acked" | grep -c .)
check "clients saw 250 for some messages" test "$acked" -gt 20
missing=0
while read -r q; do
	[ -f "$T/spool/queue/$q" ] || missing=$((missing + 1))
done < <(sort -u "$T/acked")
expect_eq "every message that got 250 is in the queue ($acked)" 0 "$missing"
check "every object in the queue verifies" client spool "$T/spool"
check "nothing half-written is left in incoming/" \
	test -z "$(ls "$T/spool/incoming")"
check "nothing was quarantined" test -z "$(ls "$T/spool/corrupt" 2>/dev/null)"
check "the queue holds at least every acknowledged message" \
	test "$(queue_count)" -ge $((acked + 1))
relay_stop

# Corrupt objects (RELIABILITY Q-04), made while relayd is stopped: one
# truncated mid-record, one with a flipped byte, one empty file. At start
# they are moved to corrupt/, nothing is deleted, relayd runs on.
n=$(queue_count)
set -- $(ls "$T/spool/queue" | head -2)
size=$(stat -c %s "$T/spool/queue/$1")
truncate -s $((size / 2)) "$T/spool/queue/$1"
printf 'X' | dd of="$T/spool/queue/$2" bs=1 seek=40 conv=notrunc 2>/dev/null
: > "$T/spool/queue/00000000000000000Z"
check "relayd starts with corrupt objects in the queue" relay_start
expect_eq "the three corrupt objects are quarantined" 3 \
	"$(ls "$T/spool/corrupt" | grep -c '^[0-9A-Z]\{18\}$')"
expect_eq "the others stay queued" $((n - 2)) "$(queue_count)"
check "every object left verifies" client spool "$T/spool"
qid=$(client send 127.0.0.1 $RELAY_PORT)
check "relayd still takes mail" test -f "$T/spool/queue/$qid"
relay_stop
relay_clean_log
