# A full disk under the spool (RELIABILITY §1.9.1, §1.9.6, Q-03): below
# 1.5 x the size limit free, MAIL gets 452 4.3.1; the disk filling up
# while a message is received gives 452 4.3.1 after its end and leaves
# nothing behind; when space returns mail is taken again. The spool is on
# a small tmpfs in the test's own mount namespace.

. "$TOP/tests/integration/relay_in_lib.bash"
if [ "${TG_ISOLATED:-0}" != 1 ]; then
	skip "a tmpfs spool needs the isolated mount namespace (root)"
	return 0
fi
relay_conf "smtp.max_message_size = 102400"
mkdir -p "$T/spool"
check "a 2 MB tmpfs for the spool" mount -t tmpfs -o size=2m tmpfs "$T/spool"
check "init" tg init
check "allow loopback" tg relay allow 127.0.0.1
check "relayd starts" relay_start
qid=$(client send 127.0.0.1 $RELAY_PORT)
check "with space: queued" test -f "$T/spool/queue/$qid"

fill() {	# fill LEAVE_KB — leave about that much free
	local free
	rm -f "$T/spool/filler"
	free=$(df -k --output=avail "$T/spool" | tail -1)
	fallocate -l $(((free - $1) * 1024)) "$T/spool/filler"
}

fill 120
out=$(swaks --server 127.0.0.1:$RELAY_PORT --from a@example.org \
	--to b@example.net 2>&1)
expect_match "less than 1.5 x 100 KB free: 452 4.3.1 at MAIL" \
	"<\*\* 452 4.3.1" "$out"

fill 400
rm -f "$T/go"
client wait-data 127.0.0.1 $RELAY_PORT 90000 "$T/go" > "$T/wait.out" &
cpid=$!
check "a transaction is at DATA" wait_for 10 grep -q ready "$T/wait.out"
fill 0
touch "$T/go"
wait "$cpid"
expect_match "the disk fills up during DATA: 452 4.3.1 after the end" \
	"^452 4.3.1" "$(tail -1 "$T/wait.out")"
check "nothing left in incoming/" test -z "$(ls "$T/spool/incoming")"
expect_eq "only the first message is queued" 1 "$(queue_count)"
expect_match "the failure is logged" "result=(deferred|rejected) code=452" \
	"$(cat "$RELAY_LOG")"

rm -f "$T/spool/filler"
qid=$(client send 127.0.0.1 $RELAY_PORT)
check "space back: queued again" test -f "$T/spool/queue/$qid"
check "every object verifies" client spool "$T/spool"
relay_stop
relay_clean_log
