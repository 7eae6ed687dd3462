# tlsgate-rptd's HTTPS collector (RFC 8460 §5.3.2; RELIABILITY R-01..R-04):
# every report fixture POSTed with curl (stored figures equal the
# report's, or a clear 4xx and nothing stored), every malformed case
# (truncated, two members, gzip in gzip, bad CRC, a 10 MiB bomb, wrong and
# missing types, Content-Encoding on top, oversized bodies with and
# without Content-Length, a 10 GB Content-Length, missing fields, wrong
# types), reports for a domain we do not host, the same report 100 times,
# hostile text rendered escaped by the CLI, and the per-address rate
# limit after a reload (429, another address unaffected).

conf=$(tg_write_conf)
ADDR=127.0.0.1 PORT=18443
if [ "${TG_ISOLATED:-0}" = 1 ]; then ADDR=127.0.5.1 PORT=8443; fi
NAME=collector.example.net
cat >> "$conf" <<CONF
run_dir = $T/run
user = ""
relay.hostname = $NAME
rpt.listen = $ADDR:$PORT
rpt.max_body_size = 65536
rpt.rate_limit = 100000
store.poll_interval = 1
CONF
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
FX=$TOP/tests/fixtures/tlsrpt
log="$T/rptd.log"

check "init (self-signed certificate for $NAME)" tg init
check "host receiver.example" tg domain add receiver.example
CERT=$(ls "$T"/state/certs/*.pem | head -1)

"$BIN/tlsgate-rptd" -f -c "$conf" > "$log" 2>&1 &
pid=$!
check "rptd starts" wait_for 10 grep -q "event=start result=ok" "$log"
check "rptd listens" wait_port "$ADDR" "$PORT"

URL="https://$NAME:$PORT/tlsrpt"
# post CTYPE FILE [curl args...] — prints the HTTP status, body in $T/body
post() {
	local ct=$1 f=$2; shift 2
	curl -s -o "$T/body" -w '%{http_code}' --max-time 20 --cacert "$CERT" \
	    --resolve "$NAME:$PORT:$ADDR" ${ct:+-H "Content-Type: $ct"} \
	    --data-binary "@$f" "$@" "$URL"
}
# A refusal of a large body: the server answers 413 and closes while the
# client may still be sending, and the client's kernel then sometimes
# drops the answer for the reset that follows (curl reports 000). Ask
# again, at most three times, until an answer is read.
post_refused() {
	local code i
	for i in 1 2 3; do
		code=$(post "$@")
		[ "$code" != 000 ] && break
	done
	echo "$code"
}
stored() { tg report list --json | jq length; }
J=application/tlsrpt+json G=application/tlsrpt+gzip

# Good reports: 201, the .gz of google-like is the same report (200).
for f in rfc8460-example.json google-like.json microsoft-like.json \
    ok-variants.json; do
	expect_eq "$f: 201 Created" 201 "$(post $J "$FX/$f")"
done
expect_eq "ok-depth-at-limit.json: no policy of ours, 403" 403 \
    "$(post $J "$FX/ok-depth-at-limit.json")"
expect_eq "google-like.json.gz: same report, 200" 200 \
    "$(post $G "$FX/google-like.json.gz")"
expect_eq "four reports stored" 4 "$(stored)"
id=$(tg report list --json | jq '.[] | select(.organization ==
    "Large Webmail Inc.") | .id')
show=$(tg report show "$id" --json)
expect_eq "stored totals equal the report's (92999 ok, 37 failed)" "92999 37" \
    "$(jq -r '"\(.success) \(.failure)"' <<<"$show")"
expect_eq "per policy: sts, tlsa, no-policy-found" \
    "sts:91422/35 tlsa:1500/2 no-policy-found:77/0" \
    "$(jq -r '[.policy_list[] | "\(.type):\(.success)/\(.failure)"] |
    join(" ")' <<<"$show")"
f0='.policy_list[0].failures[0]'
expect_eq "failure details kept" "sts-webpki-invalid 209.85.220.41 30" \
    "$(jq -r "$f0 | \"\\(.result_type) \\(.sending_mta_ip) \\(.failed_session_count)\"" <<<"$show")"

# Every malformed body: 400 with the reason, nothing stored.
for f in "$FX"/bad-*.json; do
	code=$(post $J "$f")
	expect_eq "$(basename "$f"): 400" 400 "$code"
done
for f in "$FX"/bad-*.json.gz; do
	expect_eq "$(basename "$f"): 400" 400 "$(post $G "$f")"
done
post $J "$FX/bad-missing-summary.json" >/dev/null
expect_match "the reason names the JSON path" "policies\[0\]\.summary" \
    "$(cat "$T/body")"
expect_eq "gzip declared as JSON: 400" 400 \
    "$(post $J "$FX/google-like.json.gz")"
expect_eq "JSON declared as gzip: 400" 400 \
    "$(post $G "$FX/google-like.json")"

# Media types (RFC 8460 §5.3.2): 415 before the body is read.
expect_eq "no Content-Type: 415" 415 \
    "$(post "" "$FX/google-like.json" -H 'Content-Type:')"
for ct in application/x-www-form-urlencoded application/json \
    application/gzip text/plain "multipart/form-data; boundary=x" \
    application/tlsrpt; do
	expect_eq "Content-Type '$ct': 415" 415 \
	    "$(post "$ct" "$FX/google-like.json")"
done
expect_eq "Content-Encoding: gzip on top of tlsrpt+gzip: 415" 415 \
    "$(post $G "$FX/google-like.json.gz" -H 'Content-Encoding: gzip')"

# Sizes (R-01).
head -c 10485760 /dev/zero | gzip -9 > "$T/bomb.gz"
expect_eq "10 MiB gzip bomb ($(stat -c %s "$T/bomb.gz") bytes): 413" 413 \
    "$(post_refused $G "$T/bomb.gz")"
head -c 70000 /dev/urandom | base64 -w0 > "$T/big"
expect_eq "body over rpt.max_body_size: 413" 413 \
    "$(post_refused $J "$T/big")"
expect_eq "the same without Content-Length (chunked): 413" 413 \
    "$(post_refused $J "$T/big" -H 'Transfer-Encoding: chunked')"
huge=$( { printf 'POST /tlsrpt HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n' \
    "$NAME" "$J"; printf 'Content-Length: 10000000000\r\n\r\n'; sleep 2; } |
    timeout 10 openssl s_client -quiet -connect "$ADDR:$PORT" \
    -servername "$NAME" 2>/dev/null | head -1)
expect_match "Content-Length: 10000000000 is refused at once" "^HTTP/1.1 413" \
    "$huge"

# Not our domain (R-04): 403, nothing stored.
sed 's/receiver\.example/elsewhere.example/g' "$FX/rfc8460-example.json" |
    sed 's/3f1c9e2a/4f1c9e2a/' > "$T/elsewhere.json"
expect_eq "report for a domain not hosted here: 403" 403 \
    "$(post $J "$T/elsewhere.json")"
expect_eq "still four reports stored" 4 "$(stored)"

# The same report-id again and again (R-04): stored once.
n200=0
for i in $(seq 100); do
	[ "$(post $J "$FX/microsoft-like.json")" = 200 ] && n200=$((n200 + 1))
done
expect_eq "the same report 100 times: 200 each" 100 "$n200"
expect_eq "and stored once" 4 "$(stored)"

# Other methods and paths.
expect_eq "GET: 405" 405 "$(curl -s -o /dev/null -w '%{http_code}' \
    --cacert "$CERT" --resolve "$NAME:$PORT:$ADDR" "$URL")"
expect_eq "another path: 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' \
    --cacert "$CERT" --resolve "$NAME:$PORT:$ADDR" -H "Content-Type: $J" \
    --data-binary @"$FX/rfc8460-example.json" "https://$NAME:$PORT/x")"

# Hostile text (R-03): stored as sent, shown escaped.
esc=$(printf '\033')
printf '{"organization-name":"Evil\\u001b[31m <script>x</script>","date-range":{"start-datetime":"2024-05-02T00:00:00Z","end-datetime":"2024-05-02T23:59:59Z"},"report-id":"e1\\r\\nX-Injected: 1","policies":[{"policy":{"policy-type":"no-policy-found","policy-domain":"receiver.example"},"summary":{"total-successful-session-count":1,"total-failure-session-count":1},"failure-details":[{"result-type":"\\u009b2J","receiving-mx-helo":"\\u001b]0;title\\u0007","failed-session-count":1}]}]}' > "$T/evil.json"
expect_eq "hostile report stored" 201 "$(post $J "$T/evil.json")"
eid=$(tg report list --json | jq '.[] | select(.organization |
    startswith("Evil")) | .id')
expect_eq "JSON keeps the text exactly" "Evil${esc}[31m <script>x</script>" \
    "$(tg report show "$eid" --json | jq -r .organization)"
out=$(tg report show "$eid"; tg report list; tg report summary)
check "text output has no raw escape character" \
    bash -c "! printf '%s' \"\$1\" | grep -q \"\$2\"" _ "$out" "$esc"
check "text output has no raw CSI (C1 0x9b)" \
    bash -c "! printf '%s' \"\$1\" | LC_ALL=C grep -q \$'\\xc2\\x9b'" _ "$out"
expect_match "the escapes are shown" 'Evil\\x1b\[31m' "$out"

# Rate limit per address (R-04), applied on a reload.
sed -i 's/^rpt.rate_limit = .*/rpt.rate_limit = 3/' "$conf"
kill -HUP "$pid"
check "reload with rpt.rate_limit = 3" wait_for 10 grep -q \
    "event=reload result=ok reason=sighup" "$log"
codes=""
for i in 1 2 3 4 5 6; do codes="$codes $(post $J "$FX/microsoft-like.json")"; done
expect_eq "three a minute, then 429" " 200 200 200 429 429 429" "$codes"
expect_match "429 says why" "too many reports" "$(cat "$T/body")"
if [ "${TG_ISOLATED:-0}" = 1 ]; then
	ip addr add 127.0.5.9/32 dev lo 2>/dev/null
	expect_eq "another address is not limited" 200 \
	    "$(post $J "$FX/microsoft-like.json" --interface 127.0.5.9)"
fi
check "the daemon is still there" kill -0 "$pid"
kill -TERM "$pid"
wait "$pid"
expect_eq "clean stop" 0 "$?"
check "no sanitizer report in rptd's log (leaks are reported at exit)" \
    bash -c "! grep -q 'Sanitizer\|runtime error' '$log'"
