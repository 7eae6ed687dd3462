# SMTP smuggling through the relay into a real MX (RELIABILITY I-01,
# I-02; CVE-2023-51764/51765/51766): each non-standard end-of-data variant
# carrying a second, smuggled transaction is refused by relayd's receiving
# side; nothing of it is queued, and nothing smuggled — no message and no
# smuggled text — ever reaches the receiving Postfix's maildir. A correct
# message right after goes through, once, intact.

. "$TOP/tests/integration/relay_out_lib.bash"
ro_setup dns
check "relayd starts" ro_start

n=$(tg_net_mail_count insecure.test)
python3 "$RO_HELPERS/relay_out_smtp.py" smuggle --server "$RO_ADDR:$RO_PORT" \
    --to user@insecure.test --prefix sm
expect_eq "nothing queued" 0 "$(ro_queued)"
check "a correct message is accepted" ro_send user@insecure.test sm-legit
check "and delivered" tg_net_wait_mail insecure.test $((n + 1)) 30
sleep 2
expect_eq "exactly one message arrived" $((n + 1)) "$(tg_net_mail_count insecure.test)"
expect_eq "it is the correct one" 1 "$(ro_mail_with insecure.test sm-legit)"
expect_eq "no smuggled message or text in the maildir" "" \
	"$(grep -rlE 'sm-smuggled-|ceo@insecure\.test|^smuggled' "$TG_NET_MAILDIR" 2>/dev/null)"
expect_no_match "the MX never saw the smuggled sender" "from=<ceo@insecure\.test>" \
	"$(cat "$TG_NET_MX_LOG")"
expect_eq "queue empty" 0 "$(ro_queued)"
check "relayd stops" ro_stop
tg_net_down
