# relayd access control (RELIABILITY I-09): only clients in the store's
# relay networks may send; everyone else gets 554 5.7.1 at connect, then
# 503 to every command but QUIT, and nothing reaches the spool. A change
# with `tlsgate relay allow|deny` applies to new sessions after the reload.
# Bad input to the CLI: one line, exit 2, store unchanged.

. "$TOP/tests/integration/relay_in_lib.bash"
relay_conf
check "init" tg init

# The CLI.
check_exit "relay list before any network" 0 tg relay list
check_exit "a bad network" 2 tg relay allow 10.0.0.300
expect_match "says what is wrong" "10.0.0.300" "$(last_output)"
check_exit "host bits set" 2 tg relay allow 192.0.2.1/24
expect_match "names the network meant" "192.0.2.0/24" "$(last_output)"
check_exit "no network given" 2 tg relay allow
check_exit "unknown option" 2 tg relay allow 192.0.2.0/24 --bogus x
check "allow a network with a note" tg relay allow 192.0.2.0/24 --note "office"
check_exit "the same network again" 2 tg relay allow 192.0.2.0/24
check_exit "deny a network not in the list" 2 tg relay deny 198.51.100.0/24
check "allow an IPv6 network" tg relay allow 2001:DB8::/32
check "list --json" tg relay list --json
json=$(last_output)
expect_eq "two networks, canonical" "192.0.2.0/24 2001:db8::/32" \
	"$(jq -r 'map(.network) | join(" ")' <<<"$json")"
expect_eq "the note is kept" "office" "$(jq -r '.[0].note' <<<"$json")"
check "deny by any spelling" tg relay deny 2001:db8:0::/32
expect_eq "one network left" "1" "$(tg relay list --json | jq length)"
check "help" tg relay --help

# No loopback network yet: everyone here is refused.
check "relayd starts" relay_start
out=$(swaks --server 127.0.0.1:$RELAY_PORT --from a@example.org \
	--to u@external.example 2>&1)
expect_match "a client outside the networks gets 554 5.7.1 at connect" \
	"554 5.7.1 relay.example.net Error: access denied for 127.0.0.1" "$out"
expect_eq "nothing queued" 0 "$(queue_count)"
expect_match "the refusal is logged" "event=connect result=refused" \
	"$(cat "$RELAY_LOG")"

# Every command but QUIT gets 503 (RFC 5321 §3.1), whatever the address.
expect_eq "554, eight 503, then 221 and close" \
	"554 503 503 503 503 503 503 503 503 221 closed" \
	"$(client chat 127.0.0.1 $RELAY_PORT "EHLO x.example" \
	    "MAIL FROM:<a@example.org>" "RCPT TO:<u@external.example>" \
	    "RCPT TO:<u%external.example@ours.example>" \
	    'RCPT TO:<"u@external.example"@ours.example>' \
	    "RCPT TO:<@ours.example:u@external.example>" \
	    "RCPT TO:<external.example!u@ours.example>" "DATA" "QUIT" "NOOP")"
expect_eq "still nothing queued" 0 "$(queue_count)"

# Allow 127.0.0.1 only: it may relay, 127.0.0.2 may not.
reloads=$(grep -c 'event=reload result=ok' "$RELAY_LOG")
check "allow 127.0.0.1" tg relay allow 127.0.0.1 --note "mail server"
check "relayd reloads the store change" wait_reloads $((reloads + 1))
out=$(swaks --server 127.0.0.1:$RELAY_PORT --from a@example.org \
	--to u@external.example 2>&1)
expect_match "127.0.0.1 may relay to any domain" "250 2.0.0 Ok: queued" "$out"
out=$(swaks --server 127.0.0.1:$RELAY_PORT --local-interface 127.0.0.2 \
	--from a@example.org --to u@external.example 2>&1)
expect_match "127.0.0.2 is refused" "554 5.7.1" "$out"
expect_eq "one message queued" 1 "$(queue_count)"

# Address forms from the allowed client: valid ones pass as they are,
# malformed ones get 553 (RELIABILITY I-09; RFC 5321 §4.1.2).
expect_eq "valid forms 250, malformed 553" \
	"220 250 250 250 250 250 250 553 553 250 221" \
	"$(client chat 127.0.0.1 $RELAY_PORT "EHLO client.example" \
	    "MAIL FROM:<a@example.org>" \
	    "RCPT TO:<u%external.example@ours.example>" \
	    'RCPT TO:<"u@external.example"@ours.example>' \
	    "RCPT TO:<external.example!u@ours.example>" \
	    "RCPT TO:<@ours.example:u@external.example>" \
	    "RCPT TO:<u@external.example@ours.example>" \
	    "RCPT TO:<u@ours.example.>" "RCPT TO:<u@[192.0.2.1]>" QUIT)"

# A wider network, then deny it again.
check "allow 127.0.0.0/24" tg relay allow 127.0.0.0/24
check "reload" wait_reloads $((reloads + 2))
out=$(swaks --server 127.0.0.1:$RELAY_PORT --local-interface 127.0.0.2 \
	--from a@example.org --to u@external.example 2>&1)
expect_match "127.0.0.2 may relay now" "250 2.0.0 Ok: queued" "$out"
check "deny 127.0.0.0/24" tg relay deny 127.0.0.0/24
check "reload" wait_reloads $((reloads + 3))
check "deny 127.0.0.1" tg relay deny 127.0.0.1
check "reload" wait_reloads $((reloads + 4))
out=$(swaks --server 127.0.0.1:$RELAY_PORT --from a@example.org \
	--to u@external.example 2>&1)
expect_match "after deny 127.0.0.1 is refused again" "554 5.7.1" "$out"
expect_eq "two messages queued in all" 2 "$(queue_count)"
relay_stop
relay_clean_log
