# tlsgate-mxd, the inbound MX, on the lab network: it is mx.gw.test
# (127.0.5.1, the MX of the signed zone gw.test) and hands mail for
# gw.test to its route, the lab Postfix at mx.insecure.test (which files
# it into the gw.test maildir). Checked on both sides — what the sender
# was told, what the internal server received, what is left in mxd's
# queue (`tlsgate queue --inbound`):
#   - anyone may send to a hosted domain, over STARTTLS with the MX
#     certificate; the message reaches the internal server whole;
#   - the DANE-enforcing Postfix sender of the lab, with a TLSA record
#     for mx.gw.test published by RFC 2136, delivers to mxd with
#     "Verified TLS" (RFC 7672): the certificate mxd serves is the one
#     whose TLSA record is published;
#   - other domains are refused at RCPT (554 5.7.1, never an open
#     relay), a hosted domain without a route gets 451 4.3.5, and
#     percent-hack / bang paths get 550;
#   - a user the internal server refuses is refused at RCPT (550 5.1.1,
#     an SMTP probe with a null sender, the answer cached), beside a
#     known user in the same message; `tlsgate domain verify` asks the
#     same question from the command line; mx.verify_recipients = no
#     turns it off; an internal server that is down or lacks STARTTLS under
#     encrypt does not turn mail away (the sections below send to it);
#   - with the internal server down, mail is taken, kept in the inbound
#     queue and delivered once it is back (tlsgate queue --inbound flush);
#     a kill -9 meanwhile loses nothing;
#   - mx.route_tls = encrypt: mail waits rather than go to an internal
#     server without STARTTLS;
#   - DSNs for recipients refused after mxd took them are limited per
#     sender domain (mx.dsn_rate_limit).

. "$TOP/tests/net/net.sh"
tg_net_available || { skip "the lab network needs root namespaces"; exit 0; }
check "lab network up (dns mx sender)" tg_net_up dns mx sender

MX=$TG_NET_GW_MX_ADDR
LOG="$T/mxd.log"
INTERNAL=127.0.1.3	# mx.insecure.test: Postfix, files mail by domain
conf=$(tg_net_conf)
cat >> "$conf" <<CONF
mx.listen = $MX:25
queue.min_backoff = 2s
queue.max_backoff = 4s
store.poll_interval = 1
CONF
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
check "tlsgate init" tg init
check "gw.test hosted, routed to the internal server" \
    tg domain add gw.test --route "$INTERNAL:25"
check "unrouted.test hosted without a route" tg domain add unrouted.test

mxd_start() {
	local n
	n=$(grep -c "event=start result=ok" "$LOG" 2>/dev/null)
	"$BIN/tlsgate-mxd" -f -c "$conf" >> "$LOG" 2>&1 &
	mxd_pid=$!
	wait_for 15 bash -c "[ \$(grep -c 'event=start result=ok' '$LOG') -gt ${n:-0} ]" &&
	    wait_port "$MX" 25 10
}
mxd_stop() { kill -TERM "$mxd_pid" 2>/dev/null; wait "$mxd_pid" 2>/dev/null; return 0; }
# send TO ID [swaks options] — one message with X-Test-Id: ID
send() {
	local to=$1 id=$2; shift 2
	swaks --server "$MX:25" --from "sender@outside.test" --to "$to" \
	    --helo client.outside.test --header "X-Test-Id: $id" \
	    --header "Subject: $id" --body "inbound $id" --timeout 20 "$@" \
	    > "$T/swaks.$id.log" 2>&1
}
mail_with() { # DOMAIN ID — how many messages in the maildir carry ID
	grep -l "X-Test-Id: $2\$" "$TG_NET_MAILDIR/$1"/new/* 2>/dev/null | wc -l
}
inbound_state() { # ADDRESS — its state in mxd's queue, "" when not queued
	tg queue --inbound list --json |
	    jq -r --arg a "$1" '[.[].recipients[] | select(.address == $a) | .state] | first // ""'
}

check "mxd starts" mxd_start
expect_match "mxd takes the hosted domains" "event=mx-domains count=2 routed=1" \
    "$(cat "$LOG")"
expect_match "mxd offers STARTTLS with the MX certificate" \
    "event=tls result=loaded cert=.*mx\.gw\.test" "$(cat "$LOG")"

# ---- a message from anyone, over STARTTLS ------------------------------
check "a message to a hosted domain is taken (STARTTLS)" \
    send user@gw.test in-1 --tls
expect_match "with TLS between the sender and mxd" "<~ +250 .*queued as" \
    "$(cat "$T/swaks.in-1.log")"
check "it reaches the internal server" tg_net_wait_mail gw.test 1 30
expect_eq "exactly once" 1 "$(mail_with gw.test in-1)"
msg=$(grep -l "X-Test-Id: in-1$" "$TG_NET_MAILDIR/gw.test"/new/* | head -1)
expect_match "mxd's Received field, with ESMTPS" \
    "by mx\.gw\.test \(tlsgate\) with ESMTPS id" "$(cat "$msg")"
expect_match "the body arrives whole" "^inbound in-1" "$(cat "$msg")"
expect_eq "nothing left in the inbound queue" "[]" \
    "$(tg queue --inbound list --json | jq -c .)"
expect_match "one delivery line, by route" \
    "event=delivery .*domain=gw\.test .*policy=route .*result=delivered" \
    "$(cat "$LOG")"

# ---- refused at RCPT ----------------------------------------------------
check_fails "another domain is refused (never an open relay)" \
    send user@dane-ok.test out-1
expect_match "554 5.7.1 Relay access denied" "<\*\* +554 5\.7\.1 .*Relay access denied" \
    "$(cat "$T/swaks.out-1.log")"
check_fails "a percent hack through a hosted domain is refused" \
    send "user%dane-ok.test@gw.test" out-2
expect_match "550 5.7.1" "<\*\* +550 5\.7\.1" "$(cat "$T/swaks.out-2.log")"
check_fails "a hosted domain without a route is deferred at RCPT" \
    send user@unrouted.test out-3
expect_match "451 4.3.5" "<\*\* +451 4\.3\.5" "$(cat "$T/swaks.out-3.log")"
expect_eq "nothing of these reached the lab" 0 \
    "$(grep -l 'X-Test-Id: out-' "$TG_NET_MAILDIR"/*/new/* 2>/dev/null | wc -l)"

# ---- the DANE-enforcing sender (RFC 7672) -------------------------------
cert=$(ls "$T"/state/certs/mx.gw.test-*.pem | head -1)
hash=$(openssl x509 -in "$cert" -noout -pubkey |
    openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
expect_match "tlsgate cert tlsa prints that record (computed here with openssl)" \
    "^_25\._tcp\.mx\.gw\.test\. IN TLSA 3 1 1 $hash ; current" "$(tg cert tlsa)"
expect_eq "tlsgate cert list --json: the MX certificate, current" \
    "mx.gw.test mx current $hash" \
    "$(tg cert list --json | jq -r '.[] | select(.state == "current") | "\(.name) \(.role) \(.state) \(.spki_sha256)"')"
check "TLSA 3 1 1 of mxd's key published for mx.gw.test" \
    tg_net_update gw.test "update add _25._tcp.mx.gw.test. 60 TLSA 3 1 1 $hash"
check "the sender takes a message for gw.test" \
    tg_net_send sender@sender.test user@gw.test --header "X-Test-Id: dane-1"
check "it reaches the internal server through mxd" \
    wait_for 60 bash -c "[ \$(grep -l 'X-Test-Id: dane-1\$' '$TG_NET_MAILDIR/gw.test'/new/* 2>/dev/null | wc -l) -ge 1 ]"
expect_match "the sender verified mxd by DANE" \
    "Verified TLS connection established to mx\.gw\.test\[127\.0\.5\.1\]:25" \
    "$(cat "$TG_NET_SENDER_LOG")"

# ---- recipient verification at RCPT (RELIABILITY I-10) ------------------
printf '%s\n' "nobody-here@gw.test 550 5.1.1 <nobody-here@gw.test>: User unknown in virtual mailbox table" \
    > "$TG_NET_MX_DIR/etc/unknown_users"
check "the internal server refuses an unknown user" tg_net_postconf mx \
    "smtpd_recipient_restrictions = check_recipient_access texthash:$TG_NET_MX_DIR/etc/unknown_users, permit"
sleep 2
probes() { grep -c "event=rcpt-verify rcpt=\"nobody-here@gw.test\"" "$LOG"; }
check_fails "mxd refuses that user at RCPT" send nobody-here@gw.test ver-1
expect_match "550 5.1.1, with what the internal server said" \
    "<\*\* +550 5\.1\.1 <nobody-here@gw\.test>: Recipient address rejected: the internal server said: 550 5\.1\.1 .*User unknown" \
    "$(cat "$T/swaks.ver-1.log")"
expect_match "the internal server was asked with a null sender" \
    "NOQUEUE: reject: RCPT .*from=<> to=<nobody-here@gw\.test>" "$(cat "$TG_NET_MX_LOG")"
expect_eq "one probe" 1 "$(probes)"
expect_eq "nothing taken, nothing to bounce" "[]" \
    "$(tg queue --inbound list --json | jq -c .)"
check "a known user beside it, in one message" \
    send "user@gw.test,nobody-here@gw.test" ver-2
expect_match "the unknown one refused" "<\*\* +550 5\.1\.1" \
    "$(cat "$T/swaks.ver-2.log")"
expect_eq "the second refusal came from the cache" 1 "$(probes)"
check "the known one gets the message" wait_for 30 bash -c \
    "[ \$(grep -l 'X-Test-Id: ver-2\$' '$TG_NET_MAILDIR/gw.test'/new/* 2>/dev/null | wc -l) -eq 1 ]"
out=$(tg domain verify nobody-here@gw.test); rc=$?
expect_eq "tlsgate domain verify: refused, exit 1" 1 "$rc"
expect_match "it says what the internal server said" \
    "refused by the internal server $INTERNAL:25.*550 5\.1\.1 .*User unknown" \
    "$(echo $out)"
check "tlsgate domain verify: a known user is taken" \
    tg domain verify user@gw.test
expect_eq "the same as JSON" "taken" \
    "$(tg domain verify User@gw.test --json | jq -r .answer)"
tg domain verify user@dane-ok.test > /dev/null 2>&1; rc=$?
expect_eq "a domain that is not hosted: usage error" 2 "$rc"
tg domain verify user@unrouted.test > /dev/null 2>&1; rc=$?
expect_eq "a hosted domain without a route: a problem" 1 "$rc"
echo "mx.verify_recipients = no" >> "$conf"
kill -HUP "$mxd_pid"
sleep 2
check "mx.verify_recipients = no: the gate alone decides" \
    send nobody-here@gw.test ver-3 --quit-after RCPT
expect_match "250 to RCPT" "<- +250 2\.1\.5" "$(cat "$T/swaks.ver-3.log")"
sed -i '/^mx.verify_recipients/d' "$conf"
kill -HUP "$mxd_pid"
sleep 2

# ---- the internal server down: kept, not lost ---------------------------
check "gw.test rerouted to a port where nothing listens" \
    tg domain set gw.test --route "127.0.1.7:25"
sleep 2
check "a message is taken while the internal server is away" \
    send user@gw.test down-1
check "it is deferred in the inbound queue" \
    wait_for 30 bash -c "grep -q 'event=delivery .*domain=gw\.test .*result=deferred' '$LOG'"
expect_eq "queued, deferred" deferred "$(inbound_state user@gw.test)"
kill -9 "$mxd_pid"; wait "$mxd_pid" 2>/dev/null
check "mxd restarts after kill -9" mxd_start
expect_eq "the message is still queued" deferred "$(inbound_state user@gw.test)"
check "the internal server is back (the route again)" \
    tg domain set gw.test --route "$INTERNAL:25"
sleep 2
check "queue --inbound flush asks mxd to try now" tg queue --inbound flush
check "the message arrives" wait_for 30 bash -c \
    "[ \$(grep -l 'X-Test-Id: down-1\$' '$TG_NET_MAILDIR/gw.test'/new/* 2>/dev/null | wc -l) -eq 1 ]"
check "and leaves the queue" wait_for 10 bash -c \
    "[ \"\$($BIN/tlsgate -c $conf queue --inbound list --json | jq length)\" = 0 ]"

# ---- mx.route_tls = encrypt ---------------------------------------------
mxd_stop
echo "mx.route_tls = encrypt" >> "$conf"
check "mx.nostarttls.test as the route (no STARTTLS there)" \
    tg domain set gw.test --route "127.0.1.9:25"
check "mxd restarts with mx.route_tls = encrypt" mxd_start
check "a message is taken" send user@gw.test enc-1
check "it waits rather than go in clear" \
    wait_for 30 bash -c "grep -q 'event=delivery .*domain=gw\.test .*result=deferred' '$LOG'"
expect_eq "queued, deferred" deferred "$(inbound_state user@gw.test)"
expect_eq "nothing arrived in clear" 0 "$(mail_with gw.test enc-1)"
mxd_stop

# ---- DSNs after acceptance: limited per sender domain (I-10) -------------
sed -i '/^mx.route_tls/d' "$conf"
printf '%s\n' "mx.verify_recipients = no" "mx.dsn_rate_limit = 1" >> "$conf"
check "gw.test routed to the internal server again" \
    tg domain set gw.test --route "$INTERNAL:25"
check "mxd restarts without verification, one DSN per domain and hour" \
    mxd_start
check "a message for the unknown user is taken" send nobody-here@gw.test dsn-1
check "the internal server refuses it: a DSN to the sender" \
    wait_for 30 bash -c "grep -q 'event=dsn .*to=<sender@outside.test> result=queued' '$LOG'"
check "a second one to the same sender domain is taken" \
    send nobody-here@gw.test dsn-2 --from other@OUTSIDE.test
check "its DSN is not sent: over the limit" \
    wait_for 30 bash -c "grep -q 'event=dsn .*to=<other@OUTSIDE.test> result=limited' '$LOG'"
expect_eq "one DSN queued in all" 1 \
    "$(grep -c 'event=dsn .*result=queued' "$LOG")"
mxd_stop
expect_no_match "no sanitizer report in mxd's log" "Sanitizer|runtime error" \
    "$(cat "$LOG")"
tg_net_down
