# relayd, receiving side: mail from the internal server is accepted from an
# allowed network, written durably to the spool before 250 (RELIABILITY
# §1.9), content byte-identical after dot-unstuffing, with swaks and
# Postfix's smtp-source as clients; the queue survives a restart.

. "$TOP/tests/integration/relay_in_lib.bash"
relay_conf
check "init" tg init
check "allow the loopback network" tg relay allow 127.0.0.0/8 \
	--note "internal mail server"
check "relayd starts" relay_start
expect_match "relayd loaded the MX certificate for STARTTLS" \
	"event=tls result=loaded" "$(cat "$RELAY_LOG")"

# swaks: EHLO, one message.
out=$(swaks --server 127.0.0.1:$RELAY_PORT --from a@example.org \
	--to b@example.net --h-Subject "swaks test" --body "hello" 2>&1)
expect_match "swaks: EHLO offers the extensions" \
	"250-PIPELINING.*250-SIZE 52428800.*250-8BITMIME.*250-ENHANCEDSTATUSCODES.*250-SMTPUTF8.*250-DSN.*250 STARTTLS" \
	"$(printf '%s' "$out" | tr '\n' ' ')"
expect_match "swaks: queued" "250 2.0.0 Ok: queued as [0-9A-Z]{18}" "$out"
qid=$(printf '%s\n' "$out" | sed -n 's/.*queued as \([0-9A-Z]\{18\}\).*/\1/p')
check "the queued message is in the spool" test -f "$T/spool/queue/$qid"
check "nothing is left in incoming/" test -z "$(ls "$T/spool/incoming")"
check "the log names the queue id" grep -q "result=queued queue_id=$qid" "$RELAY_LOG"

# swaks with pipelining, two recipients.
out=$(swaks --server 127.0.0.1:$RELAY_PORT --pipeline --from a@example.org \
	--to c@example.net,d@example.net 2>&1)
expect_match "swaks --pipeline: queued" "250 2.0.0 Ok: queued as" "$out"

# Exactly what was sent, after unstuffing, below our Received header.
printf 'Subject: exact\r\n\r\n.starts with a dot\r\n..two dots\r\n.\r\n\r\n\tend' > "$T/body"
printf '%s' "$(head -c 3000 /dev/zero | tr '\0' 'x')" >> "$T/body"
qid=$(client send 127.0.0.1 $RELAY_PORT --body "$T/body")
check "exact message queued" test -n "$qid"
client spool "$T/spool" "$qid" > "$T/got"
check "spool content = message + CRLF, after one Received header" \
	python3 - "$T/got" "$T/body" <<'PY'
import sys
got = open(sys.argv[1], "rb").read()
body = open(sys.argv[2], "rb").read()
lines = got.split(b"\r\n")
i = 1
while lines[i].startswith(b"\t"):
    i += 1
rest = b"\r\n".join(lines[i:])
assert got.startswith(b"Received: from client.example ([127.0.0.1])\r\n"), got[:80]
assert b"\tby relay.example.net (tlsgate) with ESMTP id " in got
assert rest == body + b"\r\n", (rest[:60], body[:60])
PY

# Postfix's smtp-source: 10 sessions, 200 small messages, then 100 KB ones.
before=$(queue_count)
check "smtp-source: 200 messages over 10 sessions" \
	/usr/sbin/smtp-source -c -s 10 -m 200 -f a@example.org \
	-t b@example.net 127.0.0.1:$RELAY_PORT
check "smtp-source: 20 messages of 100 KB" \
	/usr/sbin/smtp-source -s 5 -m 20 -l 102400 -f a@example.org \
	-t b@example.net 127.0.0.1:$RELAY_PORT
expect_eq "every smtp-source message is in the queue" \
	$((before + 220)) "$(queue_count)"
check "every spool object verifies (checksum, records)" client spool "$T/spool"
expect_eq "one queued log line per message" "$(queue_count)" \
	"$(grep -c 'event=message result=queued' "$RELAY_LOG")"

# The queue survives a restart.
n=$(queue_count)
relay_stop
check "graceful stop" grep -q "event=stop result=done" "$RELAY_LOG"
check "relayd restarts" relay_start
expect_match "the spool is read back at start" \
	"event=spool-open dir=$T/spool messages=$n" "$(cat "$RELAY_LOG")"
relay_stop
relay_clean_log
