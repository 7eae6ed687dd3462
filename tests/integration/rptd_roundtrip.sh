# TLS reporting both ways on the lab network (RFC 8460 §3, §4, §5):
#   gateway A (the sender) has relay session results for yesterday,
#     recorded with tg_reports_record_session by a small program;
#   `tlsgate report send` makes one report per domain, looks up each
#     domain's _smtp._tls in the lab DNS and delivers to every rua:
#     gw.test → POST to gateway B's rptd (https://mx.gw.test:8443/tlsrpt)
#               and mail to tlsrpt@gw.test (through the lab Postfix as
#               relay, DKIM-signed by A with a key published in the lab
#               DNS), sts.test → POST to the lab nginx and mail,
#     insecure.test (no _smtp._tls) → nothing at all;
#   gateway B stores the POSTed report: its figures equal A's sessions;
#   gateway C imports the mailed report (.eml) with DKIM checked against
#     the lab DNS: stored, same figures; the same mail unsigned or altered
#     is refused.

. "$TOP/tests/net/net.sh"
if ! tg_net_available; then
	skip "TLS reporting on the lab network needs root namespaces"
	exit 0
fi
if ! tg_net_up dns mx nginx; then
	not_ok "lab network is up (dns, mx, nginx)"
	exit 0
fi

DAY=$(date -u -d yesterday +%F)
WHEN=$(date -u -d "$DAY 12:00:00" +%s)
COLLECTOR=$TG_NET_GW_MX_NAME ADDR=$TG_NET_GW_MX_ADDR PORT=8443

# ---- gateway B: the collector for gw.test -------------------------------
mkdir -p "$T/b/state" "$T/b/run" "$T/a/state/dkim" "$T/a/run" "$T/c/state"
{
	echo "state_dir = $T/b/state"
	echo "spool_dir = $T/b/spool"
	echo "run_dir = $T/b/run"
	echo 'user = ""'
	echo "relay.hostname = $COLLECTOR"
	echo "rpt.listen = $ADDR:$PORT"
	cat "$TG_NET_CONF"
} > "$T/b.conf"
tgb() { "$BIN/tlsgate" -c "$T/b.conf" "$@"; }
check "B: init (self-signed certificate for $COLLECTOR)" tgb init
check "B: hosts gw.test" tgb domain add gw.test
B_CERT=$(ls "$T"/b/state/certs/*.pem | head -1)
"$BIN/tlsgate-rptd" -f -c "$T/b.conf" > "$T/rptd.log" 2>&1 &
rptd_pid=$!
check "B: rptd listens on $ADDR:$PORT" wait_port "$ADDR" "$PORT"

# ---- DNS: what gw.test asks for, and A's DKIM key -------------------------
openssl genrsa -out "$T/a/state/dkim/tlsrpt.key" 2048 2>/dev/null
pub=$(openssl rsa -in "$T/a/state/dkim/tlsrpt.key" -pubout -outform DER \
    2>/dev/null | base64 -w0)
check "publish _smtp._tls.gw.test (https to B, and mailto)" tg_net_update gw.test \
    "update delete _smtp._tls.gw.test. TXT" \
    "update add _smtp._tls.gw.test. 60 TXT \"v=TLSRPTv1; rua=https://$COLLECTOR:$PORT/tlsrpt,mailto:tlsrpt@gw.test\""
check "publish A's DKIM key at tlsrpt._domainkey.sender.test" tg_net_update test \
    "update add tlsrpt._domainkey.sender.test. 60 TXT \"v=DKIM1; k=rsa; s=email:tlsrpt; p=${pub:0:200}\" \"${pub:200:200}\" \"${pub:400}\""

# ---- gateway A: the sender -------------------------------------------------
cat "$TG_NET_CA_CERT" "$B_CERT" > "$T/a/trust.pem"
{
	echo "state_dir = $T/a/state"
	echo "spool_dir = $T/a/spool"
	echo "run_dir = $T/a/run"
	echo 'user = ""'
	echo "relay.hostname = sender.test"
	echo "relay.listen = $TG_NET_IP_MX_STS_TEST:25"
	echo "report.org_name = Sender Gateway"
	echo "report.contact = tlsrpt@sender.test"
	echo "report.dkim_selector = tlsrpt"
	echo "sts.ca_file = $T/a/trust.pem"
	grep -v '^sts.ca_file' "$TG_NET_CONF"
} > "$T/a.conf"
tga() { "$BIN/tlsgate" -c "$T/a.conf" "$@"; }

# The relay's session results, through the store API.
check "the recording program builds" tg_build_recorder "$T/record"
STS="version: STSv1
mode: enforce
mx: mx.gw.test
max_age: 86400"
TLSA="3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"
rec() { "$T/record" "$T/a/state" "$WHEN" "$@"; }
rec gw.test sts "$STS" mx.gw.test "" 7 &&
rec gw.test sts "$STS" mx.gw.test certificate-expired 2 &&
rec gw.test tlsa "$TLSA" mx.gw.test "" 3 &&
rec gw.test tlsa "$TLSA" mx.gw.test tlsa-invalid 1 &&
rec gw.test none "" mx.gw.test "" 4 &&
rec sts.test sts "version: STSv1
mode: enforce
mx: mx.sts.test
max_age: 86400" mx.sts.test "" 5 &&
rec insecure.test none "" mx.insecure.test "" 6
expect_eq "A: sessions recorded" 0 "$?"

# ---- A sends ----------------------------------------------------------------
tga report send --day "$DAY" > "$T/send.out" 2>&1
expect_eq "A: report send exits 0 (everything delivered)" 0 "$?"
out=$(cat "$T/send.out")
expect_match "gw.test: report built" "^built +$DAY gw.test 14 ok, 3 failed" "$out"
START=$(date -u -d "$DAY" +%s)
expect_match "RFC 8460 §5.1 file name: sender!domain!begin!end.json.gz" \
    "as sender.test!gw.test!$START!$((START + 86399)).json.gz" "$out"
expect_match "gw.test: POSTed to B's rptd" \
    "delivered +$DAY gw.test https://$COLLECTOR:$PORT/tlsrpt: HTTP 201" "$out"
expect_match "gw.test: mailed through the relay" \
    "delivered +$DAY gw.test mailto:tlsrpt@gw.test" "$out"
expect_match "sts.test: POSTed to the lab nginx" \
    "delivered +$DAY sts.test https://mta-sts.sts.test/tlsrpt: HTTP 200" "$out"
expect_match "insecure.test asked for nothing: nothing sent" \
    "not-requested +$DAY insecure.test" "$out"
expect_no_match "nothing sent to insecure.test" "delivered.*insecure.test" "$out"

# ---- B stored what A recorded -------------------------------------------------
list=$(tgb report list --json)
expect_eq "B: one report, from Sender Gateway, via https" \
    "1 Sender Gateway https" \
    "$(jq -r '"\(length) \(.[0].organization) \(.[0].source)"' <<<"$list")"
id=$(jq '.[0].id' <<<"$list")
show=$(tgb report show "$id" --json)
expect_eq "B: totals equal the sessions (14 ok, 3 failed)" "14 3" \
    "$(jq -r '"\(.success) \(.failure)"' <<<"$show")"
expect_eq "B: per policy equal the sessions" \
    "no-policy-found:4/0 sts:7/2 tlsa:3/1" \
    "$(jq -r '[.policy_list[] | "\(.type):\(.success)/\(.failure)"] |
    sort | join(" ")' <<<"$show")"
expect_eq "B: failure details equal (type, sending IP, count)" \
    "certificate-expired/192.0.2.25/2 tlsa-invalid/192.0.2.25/1" \
    "$(jq -r '[.policy_list[].failures[] | "\(.result_type)/\(.sending_mta_ip)/\(.failed_session_count)"] |
    sort | join(" ")' <<<"$show")"
expect_eq "B: the TLSA policy string as RFC 8460 §4.4 wants it" "$TLSA" \
    "$(jq -r '.policy_list[] | select(.type == "tlsa") |
    .policy_strings[0]' <<<"$show")"
expect_eq "B: the day, 00:00:00 to 23:59:59 UTC" \
    "${DAY}T00:00:00Z ${DAY}T23:59:59Z" \
    "$(jq -r '"\(.start) \(.end)"' <<<"$show")"

# ---- nginx got sts.test's report -------------------------------------------
body=$(ls "$TG_NET_RPT_DIR"/* 2>/dev/null | head -1)
check "nginx kept the POSTed body" test -s "$body"
rj='.policies[0] | "\(.policy."policy-domain") \(.summary."total-successful-session-count") \(.summary."total-failure-session-count")"'
expect_eq "nginx's body is the gzip'd report for sts.test (5 ok, 0 failed)" \
    "sts.test 5 0 / Sender Gateway" \
    "$(gunzip -c < "$body" | jq -r "$rj") / $(gunzip -c < "$body" |
    jq -r '."organization-name"')"

# ---- the mail, DKIM-checked by C ---------------------------------------------
check "the report mail for gw.test arrived" tg_net_wait_mail gw.test 1 20
eml=$(ls "$TG_NET_MAILDIR"/gw.test/new/* | head -1)
hdr=$(sed '/^$/q' "$eml")
expect_match "multipart/report; report-type=tlsrpt" \
    'multipart/report; report-type="tlsrpt"' "$hdr"
expect_match "TLS-Report-Domain" "^TLS-Report-Domain: gw.test" "$hdr"
expect_match "TLS-Report-Submitter" "^TLS-Report-Submitter: sender.test" "$hdr"
expect_match "DKIM-signed by sender.test, no l=" "d=sender.test" "$hdr"
expect_no_match "no l= tag" "[; ]l=" "$(grep -A8 '^DKIM-Signature' <<<"$hdr")"
expect_match "the submission marker is there" "^TLSGate-Report: v=1; mac=" "$hdr"
expect_match "the report part" "application/tlsrpt\+gzip" "$(cat "$eml")"
{
	echo "state_dir = $T/c/state"
	echo "spool_dir = $T/c/spool"
	echo 'user = ""'
	echo "relay.hostname = c.example.net"
	cat "$TG_NET_CONF"
} > "$T/c.conf"
tgc() { "$BIN/tlsgate" -c "$T/c.conf" "$@"; }
tgc domain add gw.test >/dev/null 2>&1
awk 'BEGIN { skip = 0 } hdr == 0 && /^$/ { hdr = 1 }
    hdr == 0 && /^DKIM-Signature:/ { skip = 1; next }
    hdr == 0 && skip && /^[ \t]/ { next } { skip = 0; print }' "$eml" \
    > "$T/unsigned.eml"
check_exit "C: the mail without its signature is refused (exit 2)" 2 \
    tgc report import "$T/unsigned.eml"
expect_match "C: ... as unauthenticated" "unauthenticated" "$(last_output)"
sed '0,/^TLS-Report-Domain: gw.test/s//TLS-Report-Domain: gx.test/' "$eml" \
    > "$T/altered.eml"
check_exit "C: an altered signed mail is refused" 2 \
    tgc report import "$T/altered.eml"
cp "$eml" "$T/report.eml"
check "C: the signed mail is imported (key from the lab DNS)" \
    tgc report import "$T/report.eml"
cshow=$(tgc report show "$(tgc report list --json | jq '.[0].id')" --json)
expect_eq "C: stored once, authenticated by DKIM" \
    "1 dkim=pass d=sender.test s=tlsrpt import" \
    "$(tgc report list --json | jq -r length) $(jq -r '"\(.auth) \(.source)"' <<<"$cshow")"
expect_eq "C: the mailed figures equal the sessions" \
    "14 3 no-policy-found:4/0 sts:7/2 tlsa:3/1" \
    "$(jq -r '"\(.success) \(.failure) " + ([.policy_list[] |
    "\(.type):\(.success)/\(.failure)"] | sort | join(" "))' <<<"$cshow")"

# ---- gateway D: the same mail through D's own MX into D's rptd -------------
# D is mx.gw.test: its mxd takes the mail for tlsrpt@gw.test (a mailto:
# of gw.test's rua) into the report inbox instead of handing it on, and
# its rptd checks the signature and stores the report; the other
# recipient of the same message goes to the internal server.
mkdir -p "$T/d/state" "$T/d/run"
{
	echo "state_dir = $T/d/state"
	echo "spool_dir = $T/d/spool"
	echo "run_dir = $T/d/run"
	echo 'user = ""'
	echo "relay.hostname = $TG_NET_GW_MX_NAME"
	echo "mx.listen = $TG_NET_GW_MX_ADDR:25"
	echo "rpt.listen = 127.0.5.5:8443"
	cat "$TG_NET_CONF"
} > "$T/d.conf"
tgd() { "$BIN/tlsgate" -c "$T/d.conf" "$@"; }
d_reports() { tgd report list --json | jq length; }
export -f tgd d_reports
d_send() { # EML RCPTS — hand a mail to D's mxd
	swaks --server "$TG_NET_GW_MX_ADDR:25" --from reports@sender.test \
	    --to "$2" --data "$1" --timeout 20
}
check "D: init" tgd init
check "D: hosts gw.test, reports to tlsrpt@gw.test, mail to the lab" \
    tgd domain add gw.test --route "$TG_NET_IP_MX_STS_TEST:25" \
    --rua mailto:tlsrpt@gw.test
"$BIN/tlsgate-rptd" -f -c "$T/d.conf" > "$T/rptd-d.log" 2>&1 &
rptd_d=$!
"$BIN/tlsgate-mxd" -f -c "$T/d.conf" > "$T/mxd-d.log" 2>&1 &
mxd_d=$!
check "D: mxd listens on $TG_NET_GW_MX_ADDR:25" \
    wait_port "$TG_NET_GW_MX_ADDR" 25
check "D: rptd runs" \
    wait_for 15 grep -q "event=start result=ok" "$T/rptd-d.log"
before=$(tg_net_mail_count gw.test)
check "D: mxd takes the signed report for tlsrpt@ and user@gw.test" \
    d_send "$T/report.eml" tlsrpt@gw.test,user@gw.test
check "D: the report mailbox's copy goes into the report inbox" \
    wait_for 20 grep -q \
    "event=report-inbox .*rcpt=<tlsrpt@gw.test> result=stored" \
    "$T/mxd-d.log"
check "D: rptd stores the report" \
    wait_for 30 bash -c "[ \"\$(d_reports)\" = 1 ]"
did=$(tgd report list --json | jq '.[0].id')
dshow=$(tgd report show "$did" --json)
expect_eq "D: by mail, authenticated by DKIM, the same figures" \
    "dkim=pass d=sender.test s=tlsrpt mail 14 3" \
    "$(jq -r '"\(.auth) \(.source) \(.success) \(.failure)"' <<<"$dshow")"
expect_match "D: the inbox file was removed" "result=stored action=removed" \
    "$(cat "$T/rptd-d.log")"
expect_eq "D: the inbox is empty" "" "$(ls "$T/d/state/reports/inbox")"
check "D: user@gw.test's copy reaches the internal server" \
    tg_net_wait_mail gw.test $((before + 1)) 30
sleep 1
expect_eq "D: and only that copy" $((before + 1)) \
    "$(tg_net_mail_count gw.test)"
check "D: mxd takes the unsigned copy too (SMTP cannot know)" \
    d_send "$T/unsigned.eml" tlsrpt@gw.test
check "D: rptd refuses it as unauthenticated and removes it" \
    wait_for 30 grep -q \
    "event=report-mail file=.* result=unauthenticated action=removed" \
    "$T/rptd-d.log"
expect_eq "D: still one report" 1 "$(d_reports)"
kill -TERM "$mxd_d" "$rptd_d"
wait "$mxd_d"
expect_eq "D: mxd stops cleanly" 0 "$?"
wait "$rptd_d"
expect_eq "D: rptd stops cleanly (the inbox thread joins)" 0 "$?"
check "D: no sanitizer report in D's logs" bash -c \
    "! grep -q 'Sanitizer\|runtime error' '$T/rptd-d.log' '$T/mxd-d.log'"

# ---- A's record; a second run sends nothing again -------------------------------
sent=$(tga report sent --json)
expect_eq "A: four deliveries sent, insecure.test not requested" \
    "not-requested:1 sent:4" \
    "$(jq -r 'group_by(.state) | map("\(.[0].state):\(length)") |
    join(" ")' <<<"$sent")"
tga report send --day "$DAY" > "$T/send2.out" 2>&1
expect_eq "A: a second run has nothing to do" "" "$(cat "$T/send2.out")"
expect_eq "B: still one report" 1 "$(tgb report list --json | jq length)"
check_fails "today cannot be reported yet" tga report send --day "$(date -u +%F)"
expect_match "... and says why" "has not ended" "$(last_output)"
# ---- A's own rptd does the same on its timer -----------------------------
# Its clock runs a day ahead (TLSGATE_FAKE_NOW), so "yesterday" is today:
# the sessions recorded now are reported at its first run, at once
# (report.send_delay = 0).
TODAY=$(date -u +%F)
"$T/record" "$T/a/state" "$(date -u +%s)" gw.test sts "$STS" mx.gw.test "" 11
expect_eq "A: today's sessions recorded" 0 "$?"
sed -i 's/^relay.listen = .*/&\nrpt.listen = 127.0.5.4:8443\nreport.send_delay = 0/' \
    "$T/a.conf"
check "A: init (a daemon needs the store)" tga init
TLSGATE_FAKE_NOW=$(( $(date -u +%s) + 86400 )) "$BIN/tlsgate-rptd" -f \
    -c "$T/a.conf" > "$T/rptd-a.log" 2>&1 &
rptd_a=$!
check "A's rptd sends today's report to B by itself" wait_for 30 grep -q \
    "event=report-out day=$TODAY domain=gw.test result=delivered uri=\"https" \
    "$T/rptd-a.log"
expect_eq "B: the second report has today's 11 sessions" "2 11" \
    "$(tgb report list --json | jq -r "\"\\(length) \\(.[] |
    select(.report_id | startswith(\"$TODAY\")) | .success)\"")"
kill -TERM "$rptd_a"
wait "$rptd_a"
expect_eq "A's rptd stops cleanly" 0 "$?"

check "B: rptd still runs" kill -0 "$rptd_pid"
kill -TERM "$rptd_pid"
wait "$rptd_pid"
expect_eq "B: rptd stops cleanly" 0 "$?"
check "B: no sanitizer report in rptd's log (leaks are reported at exit)" \
    bash -c "! grep -q 'Sanitizer\|runtime error' '$T/rptd.log'"
tg_net_down
