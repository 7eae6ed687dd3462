# tlsgate queue list|show|flush|delete|hold|release and tlsgate policy
# against a running relayd: a message for dane-bad.test stays deferred;
# hold keeps relayd from trying it (even on flush), release lets it be
# tried again, delete removes it without a DSN; bad input exits 2.

. "$TOP/tests/integration/relay_out_lib.bash"
ro_setup dns -- "queue.min_backoff = 1h" "queue.max_backoff = 1h"
check "relayd starts" ro_start
tries() { grep -c "event=connect domain=dane-bad.test .*result=failed" "$RO_LOG"; }

check "accepted" ro_send user@dane-bad.test q-1
check "deferred" ro_wait_log "domain=dane-bad\.test .*result=deferred" 30
qid=$(ro_queue | jq -r '.[0].queue_id')
expect_match "queue list --json: the queue id" '^[0-9A-Z]{18}$' "$qid"
expect_eq "queue list --json: deferred, one attempt" "deferred 1" \
	"$(ro_queue | jq -r '.[0].recipients[0] | "\(.state) \(.attempts)"')"
check "queue list (text)" tg queue list
expect_match "queue list shows the id and the reason" "$qid.*sender@insecure\.test" "$(last_output)"
check "queue show ID" tg queue show "$qid"
expect_match "queue show: the recipient and its reason" "<user@dane-bad\.test> deferred.*4\.7\.5" "$(last_output)"
check "queue show ID --json" tg queue show "$qid" --json
expect_eq "queue show --json: the sender" sender@insecure.test "$(last_output | jq -r .sender)"

# flush: tried again now (the backoff is an hour).
t=$(tries)
check "queue flush" tg queue flush
check "flush: tried again" wait_for 20 bash -c "[ \$(grep -c 'event=connect domain=dane-bad.test .*result=failed' '$RO_LOG') -gt $t ]"

# hold: not tried, even when flushed; released, it keeps its retry time.
check "queue hold ID" tg queue hold "$qid"
expect_eq "queue list: held" true "$(ro_queue | jq -r '.[0].held')"
t=$(tries)
check "queue flush" tg queue flush
sleep 3
expect_eq "held: not tried" "$t" "$(tries)"
check "queue release ID" tg queue release "$qid"
check "queue flush" tg queue flush
check "released and flushed: tried again" wait_for 20 bash -c "[ \$(grep -c 'event=connect domain=dane-bad.test .*result=failed' '$RO_LOG') -gt $t ]"
expect_eq "queue list: no longer held" false "$(ro_queue | jq -r '.[0].held')"

# delete: gone, no DSN.
n=$(tg_net_mail_count insecure.test)
check "queue delete ID" tg queue delete "$qid"
expect_eq "queue list: gone" 0 "$(ro_queued)"
check "queue flush" tg queue flush
check "relayd removed it from the spool" wait_for 20 bash -c "[ -z \"\$(ls '$T/spool/queue')\" ]"
sleep 2
expect_eq "no DSN for a deleted message" "$n" "$(tg_net_mail_count insecure.test)"
expect_eq "nothing delivered to dane-bad.test" 0 "$(tg_net_mail_count dane-bad.test)"

# Bad input: one line on stderr, exit 2.
check_exit "queue show: not a queue id" 2 tg queue show nonsense
check_exit "queue hold: unknown id" 2 tg queue hold 0000000000AAAAAAAA
check_exit "queue: unknown subcommand" 2 tg queue frobnicate
check_exit "policy set: bad mode" 2 tg policy set example.test sometimes
check_exit "policy set: bad domain" 2 tg policy set "bad domain" encrypt
check_exit "policy remove: unknown" 2 tg policy remove none.test
check "policy set" tg policy set dane-ok.test dane-only --note "partner"
check "policy list --json" tg policy list --json
expect_eq "policy list: the policy" "dane-ok.test dane-only partner" \
	"$(last_output | jq -r '.[0] | "\(.domain) \(.mode) \(.note)"')"
check "policy remove" tg policy remove dane-ok.test
check "policy list --json" tg policy list --json
expect_eq "policy list: empty" 0 "$(last_output | jq length)"
check "relayd stops" ro_stop
check_exit "queue flush without relayd: exit 2" 2 tg queue flush
tg_net_down
