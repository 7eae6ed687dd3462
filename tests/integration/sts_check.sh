# tests/integration/sts_check.sh — the MTA-STS part of `tlsgate check` on
# the lab network (RFC 8461 §3, §4.1, §4.2, §8.1): the policy of sts.test
# fetched from nginx, every MX matched against its patterns, a web-PKI
# STARTTLS session per MX host (Postfix with lab certificates, the lab
# root as sts.ca_file), verdicts and fixes in JSON and text. The zone and
# the policy are then changed under it: an MX the policy does not cover,
# with a certificate for another name; a wildcard in mode testing; a
# policy changed without a new id; a policy host that fails.

. "$TOP/tests/net/net.sh"
check "test network up (dns, ca, mx, sender, nginx)" tg_net_up dns ca mx sender nginx

conf=$(tg_write_conf)
cat "$TG_NET_CONF" >> "$conf"
echo "relay.hostname = gw.example.net" >> "$conf"
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
run_check() {
	json=$(tg check sts.test --json --timeout 5 2>"$T/check.err"); rc=$?
	echo "$json" >> "$T/checks.json"
}
jq_() { jq -r "$1" <<<"$json"; }
problems() { jq_ '.problems[] | .severity + ": " + .message + " | fix: " + .fix'; }
POLICY=$TG_NET_STS_POLICY_FILE
txt_id() { # ID — replace the _mta-sts record
	tg_net_update sts.test "update delete _mta-sts.sts.test. TXT" \
	    "update add _mta-sts.sts.test. 60 TXT \"v=STSv1; id=$1;\""
}

# --- the lab's sts.test as published -------------------------------------
run_check
expect_eq "sts.test: enforce, valid" enforce-valid "$(jq_ .mta_sts.status)"
expect_eq "the TXT id" "$TG_NET_STS_ID" "$(jq_ .mta_sts.id)"
expect_eq "TXT and fetch agree" true "$(jq_ .mta_sts.id_agreement)"
expect_eq "the fetch" "true null $TG_NET_STS_URL" \
    "$(jq_ '[(.mta_sts.fetch.ok|tostring), (.mta_sts.fetch.result_type|tostring), .mta_sts.fetch.url] | join(" ")')"
expect_eq "the policy as served" "enforce 86400 mx.sts.test" \
    "$(jq_ '[.mta_sts.policy.mode, (.mta_sts.policy.max_age|tostring), (.mta_sts.policy.mx|join(","))] | join(" ")')"
expect_eq "mx.sts.test matches its pattern" "mx.sts.test true mx.sts.test" \
    "$(jq_ '.mta_sts.mx_coverage[0] | [.host, (.match|tostring), .pattern] | join(" ")')"
expect_eq "mx.sts.test has a web-PKI valid certificate" "mx.sts.test $TG_NET_IP_MX_STS_TEST true" \
    "$(jq_ '.mta_sts.webpki[0] | [.host, .address, (.valid|tostring)] | join(" ")')"
expect_match "the relay would enforce MTA-STS" "^MTA-STS enforce \\(id $TG_NET_STS_ID\\)" "$(jq_ .relay)"
expect_eq "no errors" 0 "$(jq_ '[.problems[] | select(.severity == "error")] | length')"
expect_match "a short max_age is mentioned" "max_age 86400 is short" "$(problems)"
# Second opinions: curl sees the same policy, posttls-finger the same
# certificate verdict.
expect_match "curl fetches the same policy" 'mode: enforce' \
    "$(curl -sS --max-time 10 --cacert "$TG_NET_CA_CERT" "$TG_NET_STS_URL")"
expect_match "posttls-finger verifies mx.sts.test against the lab root" \
    'Verified TLS connection established' "$(tg_net_finger secure mx.sts.test -F "$TG_NET_CA_CERT")"
check_exit "text output (exit 1: DANE is not possible in the unsigned zone)" 1 \
    tg check sts.test --timeout 5
expect_match "text: the MTA-STS verdict" "MTA-STS: +enforce-valid" "$(last_output)"
expect_match "text: the MX line" "MX mx.sts.test: matches mx.sts.test; certificate valid for mx.sts.test" \
    "$(last_output)"

# --- a second MX, not in the policy, certificate for another name --------
check "mx2.sts.test added (at the address of mx.dane-ok.test)" tg_net_update sts.test \
    "update add sts.test. 60 MX 20 mx2.sts.test." \
    "update add mx2.sts.test. 60 A $TG_NET_IP_MX_DANE_OK_TEST"
run_check
expect_eq "an uncovered MX: enforce-invalid" enforce-invalid "$(jq_ .mta_sts.status)"
expect_eq "mx2.sts.test matches no pattern" "mx2.sts.test false" \
    "$(jq_ '.mta_sts.mx_coverage[1] | .host + " " + (.match|tostring)')"
expect_match "the fix names the mx line to add" \
    'error: MX mx2.sts.test matches no mx pattern.*fix: add `mx: mx2.sts.test` to the policy' "$(problems)"
expect_eq "mx2.sts.test: certificate for another name" "false certificate-host-mismatch" \
    "$(jq_ '.mta_sts.webpki[1] | (.valid|tostring) + " " + .result_type')"
expect_match "the certificate problem and its fix" \
    "the certificate of mx2.sts.test \\[$TG_NET_IP_MX_DANE_OK_TEST\\] is not valid for mx2.sts.test.*fix: get a certificate that names mx2.sts.test" \
    "$(problems)"
expect_eq "exit 1" 1 "$rc"
expect_match "the relay enforces on the one MX that passes" "\\(1 of 2 MX hosts\\)" "$(jq_ .relay)"

# --- a wildcard in mode testing, with a new id ---------------------------
printf 'version: STSv1\r\nmode: testing\r\nmx: *.sts.test\r\nmax_age: 604800\r\n' > "$POLICY"
check "new id published" txt_id test2
run_check
expect_eq "testing" testing "$(jq_ .mta_sts.status)"
expect_eq "the wildcard covers both MX hosts (one label each)" "true true" \
    "$(jq_ '[.mta_sts.mx_coverage[].match|tostring] | join(" ")')"
expect_match "testing: the certificate failure is a warning" \
    "warning: the certificate of mx2.sts.test" "$(problems)"
expect_match "the relay delivers and reports" "^MTA-STS testing \\(id test2\\)" "$(jq_ .relay)"

# --- the relay's cache and a policy changed without a new id -------------
check "the relay caches the policy" tg sts-cache lookup sts.test
printf 'version: STSv1\r\nmode: enforce\r\nmx: *.sts.test\r\nmax_age: 604800\r\n' > "$POLICY"
run_check
expect_eq "the cached policy is reported" "test2 testing true" \
    "$(jq_ '.mta_sts.cached | .id + " " + .mode + " " + (.differs|tostring)')"
expect_match "a policy changed under the same id is a warning with a fix" \
    "warning: the policy changed but its id did not.*fix: change the id in \`_mta-sts.sts.test\`" \
    "$(problems)"

# --- the policy host fails -----------------------------------------------
mv "$POLICY" "$POLICY.away"
run_check
expect_eq "404: fetch-error" fetch-error "$(jq_ .mta_sts.status)"
expect_eq "404: no id agreement, no policy" "false null" \
    "$(jq_ '(.mta_sts.id_agreement|tostring) + " " + (.mta_sts.policy|tostring)')"
expect_match "404: the fix says where to publish" \
    "fix: publish the policy at https://mta-sts.sts.test/.well-known/mta-sts.txt" "$(problems)"
expect_match "404: the relay falls back to its cached copy or opportunistic TLS" \
    "^opportunistic TLS: the MTA-STS policy \\(id test2\\) could not be had" "$(jq_ .relay)"
mv "$POLICY.away" "$POLICY"

# --- DNS only: nothing fetched -------------------------------------------
json=$(tg check sts.test --json --dns-only 2>/dev/null)
expect_eq "--dns-only: the policy is not fetched" "unknown false" \
    "$(jq_ '.mta_sts.status + " " + (.mta_sts.fetch.attempted|tostring)')"
