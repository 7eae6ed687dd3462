# tlsgate check against the lab network: real DNSSEC (Knot + the private
# trust anchor), real Postfix MX hosts, and Postfix's posttls-finger as a
# second opinion where DANE says valid or invalid.

. "$TOP/tests/net/net.sh"
check "test network up (dns, ca, mx, sender)" tg_net_up dns ca mx sender

conf=$(tg_write_conf)
cat "$T/net/tlsgate-net.conf" >> "$conf"
echo "relay.hostname = gw.example.net" >> "$conf"
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
# check DOMAIN — runs the check, leaves JSON in $json and the exit in $rc
run_check() {
	json=$(tg check "$1" --json --timeout 3 2>"$T/check.err"); rc=$?
	echo "$json" > "$T/check-$1.json"
}
jq_() { jq -r "$1" <<<"$json"; }
# The served key of a lab host, as TLSA 3 1 1 data.
served_key() { tr -d '\n' < "$TG_NET_CERT_DIR/$1.spki"; }
# posttls-finger's verdict (DANE, via the lab's validating resolver).
finger() { tg_net_finger dane "$1" | head -20; }

run_check dane-ok.test
expect_eq "dane-ok: DANE valid" valid "$(jq_ .dane.status)"
expect_eq "dane-ok: MX secure" secure "$(jq_ .mx_dnssec)"
expect_eq "dane-ok: host and address" "mx.dane-ok.test $TG_NET_IP_MX_DANE_OK_TEST" \
	"$(jq_ '.mx[0].host + " " + .mx[0].addresses[0]')"
expect_eq "dane-ok: TLSA record listed" "3 1 1 $(served_key mx.dane-ok.test)" \
	"$(jq_ '.mx[0].tlsa[0].record')"
expect_eq "dane-ok: live session verified" "true" "$(jq_ '.mx[0].tls[0].verified')"
expect_match "dane-ok: TLS version reported" "TLSv1\.[23]" "$(jq_ '.mx[0].tls[0].version')"
expect_eq "dane-ok: no rollover record" "false" "$(jq_ '.mx[0].rollover')"
expect_match "dane-ok: relay decision is DANE" "^DANE: deliver only" "$(jq_ .relay)"
expect_eq "dane-ok: TLS-RPT rua parsed" "mailto:tlsrpt@sts.test" "$(jq_ '.tlsrpt.rua[0]')"
expect_eq "dane-ok: no errors" 0 "$(jq_ '[.problems[] | select(.severity == "error")] | length')"
expect_match "dane-ok: second opinion (posttls-finger) verified" \
	"Verified TLS connection" "$(finger mx.dane-ok.test)"

run_check dane-bad.test
expect_eq "dane-bad: DANE invalid" invalid "$(jq_ .dane.status)"
expect_eq "dane-bad: exit 1 (problems found)" 1 "$rc"
expect_match "dane-bad: problem says TLSA does not match the served key" \
	"TLSA for mx.dane-bad.test does not match the served key" "$(jq_ '.problems[].message')"
expect_match "dane-bad: fix names the exact record to publish" \
	"_25._tcp.mx.dane-bad.test. IN TLSA 3 1 1 $(served_key mx.dane-bad.test)" \
	"$(jq_ '.problems[].fix')"
expect_match "dane-bad: relay would defer" "^defer" "$(jq_ .relay)"
expect_no_match "dane-bad: second opinion (posttls-finger) not verified" \
	"Verified TLS connection" "$(finger mx.dane-bad.test)"

run_check insecure.test
expect_eq "insecure: DANE unsigned" unsigned "$(jq_ .dane.status)"
expect_match "insecure: says DANE is not possible" "DANE not possible: zone unsigned" \
	"$(jq_ '.problems[].message')"
expect_eq "insecure: TLSA not looked up for insecure addresses" null "$(jq_ '.mx[0].tlsa_owner')"
expect_match "insecure: relay is opportunistic" "^opportunistic" "$(jq_ .relay)"

run_check bogus.test
expect_eq "bogus: DANE bogus" bogus "$(jq_ .dane.status)"
expect_match "bogus: mail would be deferred" "DNSSEC bogus, mail to it would be deferred" \
	"$(jq_ '.problems[].message')"
expect_eq "bogus: exit 1" 1 "$rc"

run_check cname.test
expect_eq "cname: MX target followed" mx.cname-target.test "$(jq_ '.mx[0].cname')"
expect_eq "cname: TLSA base is the final target" mx.cname-target.test "$(jq_ '.mx[0].tlsa_base')"
expect_eq "cname: DANE valid" valid "$(jq_ .dane.status)"

run_check twomx.test
expect_eq "twomx: both MX hosts in preference order" "mx1.twomx.test mx2.twomx.test" \
	"$(jq_ '[.mx[].host] | join(" ")')"
expect_eq "twomx: preferred MX refused" connect-refused "$(jq_ '.mx[0].tls[0].status')"
expect_match "twomx: unreachable MX is a problem" "mx1.twomx.test .* is unreachable" \
	"$(jq_ '.problems[].message')"
expect_eq "twomx: second MX verified" valid "$(jq_ '.mx[1].dane.status')"

run_check nostarttls.test
expect_eq "no STARTTLS with TLSA: invalid" invalid "$(jq_ .dane.status)"
expect_match "no STARTTLS: clear message" "publishes TLSA but TLS did not work" \
	"$(jq_ '.problems[].message')"

start=$(date +%s)
run_check stall.test
elapsed=$(( $(date +%s) - start ))
expect_match "stall: handshake timeout reported" "handshake-timeout|timeout" "$(jq_ '.mx[0].tls[0].status')"
expect_match "stall: reason says it timed out" "timed out|timeout" "$(jq_ '.mx[0].tls[0].reason')"
check "stall: the check ends within the step timeout" test "$elapsed" -le 15

run_check expired-ee.test
expect_eq "DANE-EE with an expired certificate: still valid" valid "$(jq_ .dane.status)"
run_check ta-ok.test
expect_eq "DANE-TA with the right name: valid" valid "$(jq_ .dane.status)"
run_check ta-wrongname.test
expect_eq "DANE-TA with a wrong name: invalid" invalid "$(jq_ .dane.status)"
expect_match "DANE-TA wrong name: the fix names the certificate name" "subjectAltName" \
	"$(jq_ '.problems[].fix')"

run_check nullmx.test
expect_eq "null MX: no hosts" 0 "$(jq_ '.mx | length')"
expect_eq "null MX flagged" true "$(jq_ .null_mx)"

run_check sts.test
expect_eq "sts: _mta-sts TXT parsed" "$TG_NET_STS_ID" "$(jq_ .mta_sts.id)"
expect_eq "sts: two rua URIs" 2 "$(jq_ '.tlsrpt.rua | length')"

check_exit "text output for a valid domain" 0 tg check dane-ok.test --timeout 3
expect_match "text output has the verdict" "DANE: +valid" "$(last_output)"
check_exit "unknown TLD: could not check or problems" 1 tg check nxdomain.test --timeout 3
check_exit "bad domain name: exit 2" 2 tg check 'bad_name.test'
check_exit "bad timeout: exit 2" 2 tg check dane-ok.test --timeout 0
