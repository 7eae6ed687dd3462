# tests/integration/net_selftest.sh — the lab network of tests/net works:
# every zone validates (or fails) as it is meant to, third-party peers
# (Unbound, delv, Postfix, posttls-finger, curl, lego) see what the zone
# tree says they should, dynamic updates are re-signed, and tg_net_down
# leaves nothing running.
. "$TOP/tests/net/net.sh"

if ! tg_net_available; then
	skip "lab network needs root and network namespaces"
	exit 0
fi

FROM=lab@insecure.test

# up_or_stop WHAT PIECE... — bring pieces up; nothing else can be checked
# without them.
up_or_stop() {
	local what=$1 f0=$TG_FAILS; shift
	check "$what" tg_net_up "$@"
	if [ "$TG_FAILS" != "$f0" ]; then
		tg_net_down
		exit 1
	fi
}

# dq ARGS... — ask the lab resolver with DNSSEC records.
dq() { dig @"$TG_NET_RESOLVER_ADDR" +dnssec +time=3 +tries=1 "$@" 2>&1; }
AD='flags:[^;]* ad[ ;]'

up_or_stop "dns, ca and mx come up" dns mx
echo "# set-up of dns+ca+mx: $TG_NET_SETUP_MS ms"
up_or_stop "sender, nginx and pebble come up" sender nginx pebble
echo "# set-up of sender+nginx+pebble: $TG_NET_SETUP_MS ms"

# --- the configuration fragment for tlsgate -----------------------------
conf=$(cat "$TG_NET_CONF" 2>&1)
expect_match "tlsgate-net.conf names the trust anchor" \
    "^dns.trust_anchor_file = $TG_NET_TA_FILE\$" "$conf"
expect_match "tlsgate-net.conf stubs test. to Knot" \
    "^dns.stub = test.=$TG_NET_DNS_ADDR@$TG_NET_DNS_PORT\$" "$conf"
expect_match "tlsgate-net.conf names the lab root" \
    "^sts.ca_file = $TG_NET_CA_CERT\$" "$conf"
expect_match "tlsgate-net.conf allows private addresses" \
    '^sts.allow_private_addresses = yes$' "$conf"
expect_match "the trust anchor is a DS of test." \
    '^test\. DS [0-9]+ 13 2 [0-9a-f]{64}$' "$(cat "$TG_NET_TA_FILE")"

# --- DNS through the validating resolver --------------------------------
out=$(dq MX dane-ok.test)
expect_match "dane-ok.test MX is secure (ad)" "$AD" "$out"
expect_match "dane-ok.test MX is mx.dane-ok.test" \
    'IN[[:space:]]+MX[[:space:]]+10 mx\.dane-ok\.test\.' "$out"
out=$(dq TLSA _25._tcp.mx.dane-ok.test)
expect_match "TLSA of mx.dane-ok.test is secure (ad)" "$AD" "$out"
tlsa=$(dig @"$TG_NET_RESOLVER_ADDR" +short TLSA _25._tcp.mx.dane-ok.test |
    awk '{ u = $1 " " $2 " " $3; $1 = $2 = $3 = ""; gsub(/ /, ""); print u " " tolower($0) }')
expect_eq "TLSA of mx.dane-ok.test is 3 1 1 of its certificate" \
    "3 1 1 $(tg_net_spki_sha256 "$TG_NET_CERT_DIR/mx.dane-ok.test.crt")" "$tlsa"
out=$(dq TXT nothing-here.dane-ok.test)
expect_match "a missing name in dane-ok.test is a secure NXDOMAIN" \
    "status: NXDOMAIN.*$AD|$AD.*status: NXDOMAIN" "$(printf '%s' "$out" | tr '\n' ' ')"

out=$(dq MX insecure.test)
expect_match "insecure.test MX resolves (NOERROR)" 'status: NOERROR' "$out"
expect_match "insecure.test MX is mx.insecure.test" 'MX[[:space:]]+10 mx\.insecure\.test\.' "$out"
expect_no_match "insecure.test is not secure (no ad)" "$AD" "$out"

out=$(dq MX bogus.test)
expect_match "bogus.test fails validation (SERVFAIL)" 'status: SERVFAIL' "$out"
out=$(dq +cd MX bogus.test)
expect_match "bogus.test answers with checking disabled" 'MX[[:space:]]+10 mx\.bogus\.test\.' "$out"
check "unbound logs the validation failure of bogus.test" \
    grep -q 'validation failure <bogus\.test\. MX IN>' "$TG_NET_UNBOUND_DIR/unbound.log"

out=$(dq MX nullmx.test)
expect_match "nullmx.test has a secure null MX" "MX[[:space:]]+0 \\.\$" "$out"
expect_match "nullmx.test is secure" "$AD" "$out"
out=$(dq A mx.cname.test)
expect_match "mx.cname.test is a CNAME to mx.cname-target.test" \
    'CNAME[[:space:]]+mx\.cname-target\.test\.' "$out"
expect_match "mx.cname.test resolves securely to its address" "$AD" "$out"
expect_match "mx.cname-target.test is $TG_NET_IP_MX_CNAME_TARGET_TEST" \
    "A[[:space:]]+$TG_NET_IP_MX_CNAME_TARGET_TEST\$" "$out"
out=$(dq TLSA _25._tcp.mx.cname-target.test)
expect_match "the TLSA sits at the CNAME target, secure" "TLSA[[:space:]]+3 1 1 .*" "$out"
out=$(dq TLSA _25._tcp.mx.ta-ok.test)
expect_match "ta-ok.test publishes 2 1 1 of the lab root" \
    "TLSA[[:space:]]+2 1 1 " "$out"
out=$(dq MX twomx.test)
expect_match "twomx.test has MX 10 mx1" 'MX[[:space:]]+10 mx1\.twomx\.test\.' "$out"
expect_match "twomx.test has MX 20 mx2" 'MX[[:space:]]+20 mx2\.twomx\.test\.' "$out"
out=$(dq TXT _mta-sts.sts.test)
expect_match "sts.test publishes an MTA-STS record" "\"v=STSv1; id=$TG_NET_STS_ID;\"" "$out"
out=$(dq TXT _smtp._tls.sts.test)
expect_match "sts.test publishes a TLS-RPT record with mailto and https" \
    '"v=TLSRPTv1; rua=mailto:tlsrpt@sts.test,https://mta-sts.sts.test/tlsrpt"' "$out"

out=$(dq MX gw.test)
expect_match "gw.test (tlsgate's own zone) has a secure MX" "$AD" "$out"
expect_match "mx.gw.test is $TG_NET_GW_MX_ADDR" "A[[:space:]]+$TG_NET_GW_MX_ADDR\$" \
    "$(dq A mx.gw.test)"
expect_no_match "the lab listens nowhere in tlsgate's 127.0.5.0/24" \
    '127\.0\.5\.[0-9]+:' "$(ss -Hltn | awk '{ print $4 }')"

# The system resolver (glibc, posttls-finger, Postfix) goes to the lab.
check "/etc/resolv.conf points at the lab resolver" \
    grep -q "^nameserver $TG_NET_RESOLVER_ADDR\$" /etc/resolv.conf
expect_eq "getent finds mx.dane-ok.test" "$TG_NET_IP_MX_DANE_OK_TEST" \
    "$(getent ahostsv4 mx.dane-ok.test | awk 'NR == 1 { print $1 }')"

# delv validates on its own from the same anchor (second opinion).
delv_q() { delv -a "$TG_NET_TA_BIND_FILE" +root=test. @"$TG_NET_RESOLVER_ADDR" "$@" 2>&1; }
expect_match "delv: dane-ok.test MX fully validated" '; fully validated' "$(delv_q MX dane-ok.test)"
expect_match "delv: TLSA of mx.dane-ok.test fully validated" '; fully validated' \
    "$(delv_q TLSA _25._tcp.mx.dane-ok.test)"
expect_match "delv: insecure.test MX is an unsigned answer" '; unsigned answer' \
    "$(delv_q MX insecure.test)"
expect_no_match "delv: bogus.test does not validate" 'fully validated' "$(delv_q MX bogus.test)"

# --- dynamic update, re-signed ------------------------------------------
serial0=$(kdig @"$TG_NET_DNS_ADDR" +short SOA dane-ok.test | awk '{ print $3 }')
value="lab-$RANDOM$RANDOM"
check "a TSIG-signed update is accepted" tg_net_update dane-ok.test \
    "update add selftest.dane-ok.test. 60 TXT \"$value\""
out=$(dq TXT selftest.dane-ok.test)
expect_match "the added TXT is visible through unbound" "\"$value\"" "$out"
expect_match "the added TXT is secure (re-signed)" "$AD" "$out"
serial1=$(kdig @"$TG_NET_DNS_ADDR" +short SOA dane-ok.test | awk '{ print $3 }')
check "the zone serial went up ($serial0 -> $serial1)" test "${serial1:-0}" -gt "${serial0:-0}"
printf 'server %s %s\nzone dane-ok.test.\nupdate add evil.dane-ok.test. 60 TXT "x"\nsend\n' \
    "$TG_NET_DNS_ADDR" "$TG_NET_DNS_PORT" > "$T/evil.txt"
check_fails "an update with a wrong TSIG secret is refused" knsupdate -t 5 \
    -y "hmac-sha256:$TG_NET_TSIG_NAME:$(openssl rand -base64 32)" "$T/evil.txt"
check_fails "an unsigned update is refused" knsupdate -t 5 "$T/evil.txt"
expect_match "the refused name does not exist" 'status: NXDOMAIN' \
    "$(dq TXT evil.dane-ok.test)"

# --- Postfix's DANE sender as the reference -----------------------------
for rcpt in ok-1@dane-ok.test bad-1@dane-bad.test ta-1@ta-ok.test \
    wrong-1@ta-wrongname.test exp-1@expired-ee.test two-1@twomx.test \
    cname-1@cname.test ins-1@insecure.test nos-1@nostarttls.test \
    null-1@nullmx.test bogus-1@bogus.test stall-1@stall.test sts-1@sts.test; do
	check "the sender accepts mail for $rcpt" tg_net_send "$FROM" "$rcpt"
done

# expect_delivered RCPT — the message is in its domain's maildir.
expect_delivered() {
	local dom=${1#*@}
	wait_for 30 tg_net_mail_grep "$dom" "^To: $1"
	check "$1 is delivered to the $dom maildir" tg_net_mail_grep "$dom" "^To: $1"
}
# expect_status RCPT STATUS — the sender logged that status for RCPT.
expect_status() {
	tg_net_wait_log "$TG_NET_SENDER_LOG" "to=<$1>.*status=$2" 40
	check "the sender says status=$2 for $1" \
	    grep -qE "to=<$1>.*status=$2" "$TG_NET_SENDER_LOG"
}
check_log() { # what regex
	check "$1" grep -qE -- "$2" "$TG_NET_SENDER_LOG"
}

expect_delivered ok-1@dane-ok.test
check_log "DANE: verified TLS to mx.dane-ok.test" \
    "Verified TLS connection established to mx\\.dane-ok\\.test\\[$TG_NET_IP_MX_DANE_OK_TEST\\]:25"
check "the MX recorded TLS in the Received header" \
    tg_net_mail_grep dane-ok.test '\(using TLSv1\.[23]'

expect_status bad-1@dane-bad.test deferred
check_log "DANE: TLSA mismatch at mx.dane-bad.test" \
    'verification failed for mx\.dane-bad\.test.*no matching DANE TLSA records'
check_fails "nothing reached the dane-bad.test maildir" tg_net_mail_grep dane-bad.test .

expect_delivered ta-1@ta-ok.test
check_log "DANE-TA: verified TLS to mx.ta-ok.test" 'Verified TLS connection established to mx\.ta-ok\.test'
expect_status wrong-1@ta-wrongname.test deferred
check_log "DANE-TA: wrong name at mx.ta-wrongname.test fails" \
    'verification failed for mx\.ta-wrongname\.test'
expect_delivered exp-1@expired-ee.test
check_log "DANE-EE: the expired certificate still verifies" \
    'Verified TLS connection established to mx\.expired-ee\.test'
expect_delivered two-1@twomx.test
check_log "twomx: the first MX refuses the connection" \
    "connect to mx1\\.twomx\\.test\\[$TG_NET_IP_MX1_TWOMX_TEST\\]:25: Connection refused"
check_log "twomx: the second MX takes it, verified" 'Verified TLS connection established to mx2\.twomx\.test'
expect_delivered cname-1@cname.test
check_log "cname: verified TLS through the CNAME" \
    "Verified TLS connection established to mx\\.cname(-target)?\\.test\\[$TG_NET_IP_MX_CNAME_TARGET_TEST\\]"
expect_delivered ins-1@insecure.test
expect_delivered sts-1@sts.test
expect_status nos-1@nostarttls.test deferred
check_log "no STARTTLS at mx.nostarttls.test is a deferral" \
    'TLS is required, but was not offered by host mx\.nostarttls\.test'
expect_status null-1@nullmx.test bounced
expect_status bogus-1@bogus.test deferred
expect_status stall-1@stall.test deferred
check "the stall server stalled after STARTTLS" grep -q 'stalling' "$TG_NET_STALL_LOG"

# posttls-finger, the second opinion later tests reuse.
out=$(tg_net_finger dane mx.dane-ok.test)
expect_match "posttls-finger: mx.dane-ok.test verifies by DANE" \
    'Verified TLS connection established' "$out"
out=$(tg_net_finger dane mx.dane-bad.test)
expect_match "posttls-finger: mx.dane-bad.test has no matching TLSA" \
    'no matching DANE TLSA records' "$out"
out=$(tg_net_finger secure mx.sts.test -F "$TG_NET_CA_CERT")
expect_match "posttls-finger: mx.sts.test verifies against the lab root" \
    'Verified TLS connection established' "$out"

# --- MTA-STS policy host and TLS-RPT receiver ---------------------------
policy=$(curl -sS --max-time 10 --cacert "$TG_NET_CA_CERT" "$TG_NET_STS_URL" 2>&1)
expect_match "the policy is served with the lab certificate" '^version: STSv1' "$policy"
expect_match "the policy is enforcing for mx.sts.test" 'mode: enforce.*mx: mx\.sts\.test' \
    "$(printf '%s' "$policy" | tr -d '\r' | tr '\n' ' ')"
ctype=$(curl -s --max-time 10 --cacert "$TG_NET_CA_CERT" -o /dev/null \
    -w '%{content_type}' "$TG_NET_STS_URL")
expect_eq "the policy is text/plain" "text/plain" "$ctype"
check_fails "the lab root is not trusted system-wide" \
    curl -sS --max-time 10 -o /dev/null "$TG_NET_STS_URL"
check "a TLS-RPT report can be posted over HTTPS" \
    curl -sSf --max-time 10 --cacert "$TG_NET_CA_CERT" \
    -H 'Content-Type: application/tlsrpt+json' --data-binary '{"report-id":"selftest"}' \
    "$TG_NET_RPT_URL"
check "the posted report is kept" grep -rqF '"report-id":"selftest"' "$TG_NET_RPT_DIR"

# --- ACME ----------------------------------------------------------------
check "lego obtains a certificate for $TG_NET_ACME_NAME from pebble" \
    tg_net_lego "$T/lego" --domains "$TG_NET_ACME_NAME" run
crt="$T/lego/certificates/$TG_NET_ACME_NAME.crt"
check "the certificate chains to pebble's root" \
    openssl verify -CAfile "$TG_NET_PEBBLE_ROOT" -untrusted "$crt" "$crt"
check "the certificate names $TG_NET_ACME_NAME" \
    bash -c "openssl x509 -in '$crt' -noout -ext subjectAltName | grep -q 'DNS:$TG_NET_ACME_NAME'"

# --- teardown -------------------------------------------------------------
tg_net_down
for p in knotd unbound master nginx pebble; do
	check_fails "no $p is left running" pgrep -x "$p"
done
check_fails "no stall server is left running" pgrep -f "$TOP/tests/net/stall.py"
check_fails "resolv.conf is no longer bind-mounted" \
    grep -q ' /etc/resolv.conf ' /proc/self/mountinfo
