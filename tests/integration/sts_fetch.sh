# tests/integration/sts_fetch.sh — the MTA-STS policy fetch against real
# nginx on the lab network (RFC 8461 §3.2, §3.3; RFC 8460 §4.3.2.2;
# RELIABILITY O-13), through `tlsgate sts-cache lookup`, which runs the
# relay's own lookup (TXT record, cache rules, fetch, cache update).
# The variants of tests/net/web.sh: success, redirect refused, wrong
# Content-Type, 404, 500, oversize, slow server, invalid policy,
# certificate for another name, expired certificate; and the SSRF guard:
# a loopback and a private address refused without
# sts.allow_private_addresses.

. "$TOP/tests/net/net.sh"
check "test network up (dns, ca, nginx)" tg_net_up dns ca nginx
check "fetch variants published in DNS" tg_net_sts_variants_dns

conf=$(tg_write_conf)
cat "$TG_NET_CONF" >> "$conf"
echo "sts.fetch_timeout = 3s" >> "$conf"
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
ACCESS=$TG_NET_NGINX_DIR/access.log

# lookup DOMAIN — the relay's lookup; JSON in $json, exit in $rc.
lookup() {
	json=$(tg sts-cache lookup "$1" --json 2>"$T/lookup.err"); rc=$?
	echo "$json" > "$T/lookup-$1.json"
}
jq_() { jq -r "$1" <<<"$json"; }
# requests SNI — requests nginx logged for that server name.
requests() { grep -c "\"$1\"" "$ACCESS" 2>/dev/null; }

# --- success ------------------------------------------------------------
lookup ok.sts.test
expect_eq "ok: a policy was fetched" fetched "$(jq_ .status)"
expect_eq "ok: exit 0" 0 "$rc"
expect_eq "ok: TXT id read" ok1 "$(jq_ .txt.id)"
expect_eq "ok: policy as served" "enforce 86400 mx.sts.test ok1" \
    "$(jq_ '[.policy.mode, (.policy.max_age|tostring), (.policy.mx|join(",")), .policy.id] | join(" ")')"
expect_eq "ok: no TLS-RPT failure" null "$(jq_ .result_type)"
expect_match "ok: nginx saw the well-known path with SNI mta-sts.ok.sts.test" \
    '"GET /.well-known/mta-sts.txt HTTP/1.1" 200 .* "mta-sts.ok.sts.test"' "$(cat "$ACCESS")"
json=$(tg sts-cache show ok.sts.test --json)
expect_eq "ok: the policy is in the cache" "enforce ok1" "$(jq_ '.policy.mode + " " + .policy.id')"
expect_eq "ok: the cached body is the served file" \
    "$(cat "$TG_NET_STS_VARIANT_DIR/ok/.well-known/mta-sts.txt")" "$(jq -j .policy.body <<<"$json")"

# --- failures: no policy, the right TLS-RPT result type ------------------
# fails DOMAIN TYPE REASON-REGEX WHAT
fails() {
	lookup "$1"
	expect_eq "$4: no policy applies" no-policy "$(jq_ .status)"
	expect_eq "$4: TLS-RPT $2" "$2" "$(jq_ .result_type)"
	expect_match "$4: the reason says why" "$3" "$(jq_ .reason)"
	expect_eq "$4: exit 1 (policy not had)" 1 "$rc"
	json=$(tg sts-cache show "$1" --json)
	expect_eq "$4: nothing cached, the failure recorded" "null $2 1" \
	    "$(jq_ '[(.policy|tostring), .last_fetch.result, (.last_fetch.failures|tostring)] | join(" ")')"
}

fails redirect.sts.test sts-policy-fetch-error \
    "redirect refused \\(HTTP 301 to 'https://mta-sts.sts.test/" "redirect"
expect_eq "redirect: the target was never requested" 0 "$(requests mta-sts.sts.test)"
fails ctype.sts.test sts-policy-fetch-error "Content-Type 'text/html' is not text/plain" \
    "text/html"
fails missing.sts.test sts-policy-fetch-error "HTTP status 404" "404"
fails error.sts.test sts-policy-fetch-error "HTTP status 500" "500"
fails big.sts.test sts-policy-fetch-error "body larger than 65536" "64 KiB + 2 bytes"
start=$(date +%s)
fails slow.sts.test sts-policy-fetch-error "timed out after" "slow server"
elapsed=$(( $(date +%s) - start ))
check "slow server: given up within the 3 s timeout (took ${elapsed}s)" test "$elapsed" -le 8
fails invalid.sts.test sts-policy-invalid "max_age" "invalid policy"
fails wrongname.sts.test sts-webpki-invalid "TLS: .*(match|name)" "certificate for another name"
expect_eq "wrongname: no HTTP request was made" 0 "$(requests mta-sts.wrongname.sts.test)"
fails expired.sts.test sts-webpki-invalid "TLS: .*expired" "expired certificate"

# A second lookup within five minutes does not fetch again (RFC 8461 §3.3)
# and reports the same failure.
n=$(requests mta-sts.missing.sts.test)
lookup missing.sts.test
expect_eq "rate limit: the same id is not fetched again" "$n" "$(requests mta-sts.missing.sts.test)"
expect_eq "rate limit: the failure stands" "rate-limited sts-policy-fetch-error" \
    "$(jq_ '.why + " " + .result_type')"

# --- the SSRF guard: no private addresses without the test override -----
conf2=$T/private.conf
sed -e '/^sts.allow_private_addresses/d' -e "s|^state_dir = .*|state_dir = $T/state2|" \
    "$conf" > "$conf2"
mkdir -p "$T/state2"
check "a private-range policy host name is published" tg_net_update sts.test \
    'update add _mta-sts.tenet.sts.test. 60 TXT "v=STSv1; id=t1;"' \
    'update add mta-sts.tenet.sts.test. 60 A 10.9.8.7'
n=$(wc -l < "$ACCESS")
json=$("$BIN/tlsgate" -c "$conf2" sts-cache lookup ok.sts.test --json 2>/dev/null); rc=$?
expect_eq "loopback: no policy" no-policy "$(jq_ .status)"
expect_match "loopback: the connection is refused" "refused to connect to 127\\.0\\.2\\.1 \\(loopback\\)" \
    "$(jq_ .reason)"
expect_eq "loopback: TLS-RPT sts-policy-fetch-error" sts-policy-fetch-error "$(jq_ .result_type)"
expect_eq "loopback: nginx saw nothing" "$n" "$(wc -l < "$ACCESS")"
json=$("$BIN/tlsgate" -c "$conf2" sts-cache lookup tenet.sts.test --json 2>/dev/null); rc=$?
expect_match "10/8: the connection is refused" "refused to connect to 10\\.9\\.8\\.7 \\(private\\)" \
    "$(jq_ .reason)"
expect_eq "10/8: exit 1" 1 "$rc"
