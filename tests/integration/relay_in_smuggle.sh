# SMTP smuggling over a real socket (RELIABILITY I-01; CVE-2023-51764/
# 51765/51766): every non-standard end-of-data variant, sent in one write
# and one byte per write, is read to the real <CRLF>.<CRLF> and rejected
# with 554 5.6.0; the smuggled MAIL/RCPT/DATA never run, the QUIT after
# the real end is answered next, nothing reaches the spool.

. "$TOP/tests/integration/relay_in_lib.bash"
relay_conf
check "init" tg init
check "allow loopback" tg relay allow 127.0.0.1
check "relayd starts" relay_start

client smuggle 127.0.0.1 $RELAY_PORT
expect_eq "nothing queued" 0 "$(queue_count)"
check "nothing left in incoming/" test -z "$(ls "$T/spool/incoming")"
expect_eq "16 messages rejected, each logged once with the reason" 16 \
	"$(grep -c 'event=message result=rejected code=554 status=5.6.0' "$RELAY_LOG")"
expect_no_match "no smuggled transaction was started" \
	"ceo@example.org|victim@example.net" "$(grep -v 'input=' "$RELAY_LOG")"

# A well-formed message right after still goes through.
qid=$(client send 127.0.0.1 $RELAY_PORT)
check "a correct message is queued" test -f "$T/spool/queue/$qid"
relay_stop
relay_clean_log
