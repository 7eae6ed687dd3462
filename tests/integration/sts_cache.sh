# tests/integration/sts_cache.sh — the MTA-STS policy cache on the lab
# network (RFC 8461 §3.1, §3.3, §8.3, §10.2; RELIABILITY O-14): the cache
# survives restarts (each `tlsgate sts-cache` run is a new process with
# only cache.db to go on), a removed or doubled TXT record and a changed id
# with the policy host down leave the cached policy in force until max_age,
# failed fetches are retried no sooner than five minutes per id, a valid
# `mode: none` replaces an enforce policy, and an expired policy is gone.
# The clock of tlsgate is moved with TLSGATE_FAKE_NOW; the lab's DNS is
# changed with dynamic updates (tg_net_update).

. "$TOP/tests/net/net.sh"
check "test network up (dns, ca, nginx)" tg_net_up dns ca nginx

conf=$(tg_write_conf)
cat "$TG_NET_CONF" >> "$conf"
echo "sts.fetch_timeout = 5s" >> "$conf"
T0=$(date +%s)
ACCESS=$TG_NET_NGINX_DIR/access.log
POLICY=$TG_NET_STS_POLICY_FILE
# at SECONDS CMD... — run tlsgate at T0 + SECONDS.
at() { local s=$1; shift; TLSGATE_FAKE_NOW=$((T0 + s)) "$BIN/tlsgate" -c "$conf" "$@"; }
# lookup SECONDS — the relay's lookup of sts.test at that time.
lookup() {
	json=$(at "$1" sts-cache lookup sts.test --json 2>"$T/lookup.err")
	echo "$json" >> "$T/lookups.json"
}
jq_() { jq -r "$1" <<<"$json"; }
fetches() { grep -c '"mta-sts.sts.test"' "$ACCESS" 2>/dev/null; }
txt_set() { # ID... — replace the _mta-sts records (none: removed)
	local l=("update delete _mta-sts.sts.test. TXT") id
	for id in "$@"; do
		l+=("update add _mta-sts.sts.test. 60 TXT \"v=STSv1; id=$id;\"")
	done
	tg_net_update sts.test "${l[@]}"
}
serve() { printf '%b' "$1" > "$POLICY"; }
ENFORCE='version: STSv1\r\nmode: enforce\r\nmx: mx.sts.test\r\nmax_age: 86400\r\n'

# --- first lookup: fetched and cached ------------------------------------
lookup 0
expect_eq "first lookup fetches the policy" "fetched first-fetch" "$(jq_ '.status + " " + .why')"
expect_eq "the policy is enforce for mx.sts.test" "enforce mx.sts.test $TG_NET_STS_ID" \
    "$(jq_ '.policy.mode + " " + (.policy.mx|join(",")) + " " + .policy.id')"
expect_eq "one request to the policy host" 1 "$(fetches)"
check "cache.db exists with mode 0600" test "$(stat -c %a "$T/state/cache.db")" = 600

# --- restart: a new process applies the cached policy without fetching ---
lookup 60
expect_eq "after a restart: the cached policy, same id, no fetch" "cached current" \
    "$(jq_ '.status + " " + .why')"
expect_eq "after a restart: still one request" 1 "$(fetches)"
json=$(at 60 sts-cache show sts.test --json)
expect_eq "show: policy, TXT id and last fetch" "enforce $TG_NET_STS_ID $TG_NET_STS_ID true" \
    "$(jq_ '[.policy.mode, .policy.id, .txt.id, (.last_fetch.ok|tostring)] | join(" ")')"
expect_match "list names the domain" '^sts\.test +enforce' "$(at 60 sts-cache list)"

# --- (a) the TXT record is removed: the cached policy stays --------------
check "TXT removed" txt_set
lookup 120
expect_eq "TXT removed: cached policy kept" "cached kept none" \
    "$(jq_ '.status + " " + .why + " " + .txt.result')"
expect_eq "TXT removed: the policy is still enforce" enforce "$(jq_ .policy.mode)"
expect_eq "TXT removed: the cache notes that no id was seen" "" \
    "$(at 120 sts-cache show sts.test --json | jq -r .txt.id)"

# --- (c) two TXT records: the cached policy stays ------------------------
check "two TXT records" txt_set one1 two2
lookup 180
expect_eq "two TXT records: cached policy kept" "cached kept invalid" \
    "$(jq_ '.status + " " + .why + " " + .txt.result')"
expect_eq "no fetch for either" 1 "$(fetches)"

# --- (b) a new id while HTTPS is down: the cached policy stays -----------
check "TXT id changed" txt_set new2
mv "$POLICY" "$POLICY.away"
lookup 240
expect_eq "new id, policy host failing: cached policy kept" "cached id-changed" \
    "$(jq_ '.status + " " + .why')"
expect_eq "new id, policy host failing: the old policy applies" "$TG_NET_STS_ID enforce" \
    "$(jq_ '.policy.id + " " + .policy.mode')"
expect_eq "new id, policy host failing: TLS-RPT sts-policy-fetch-error" \
    sts-policy-fetch-error "$(jq_ .result_type)"
expect_match "new id, policy host failing: the reason" "HTTP status 404" "$(jq_ .reason)"
expect_eq "new id: one more request" 2 "$(fetches)"
lookup 300
expect_eq "within five minutes: not fetched again" "2 rate-limited" "$(fetches) $(jq_ .why)"
expect_eq "within five minutes: the failure is reported again" sts-policy-fetch-error \
    "$(jq_ .result_type)"
lookup 540
expect_eq "five minutes later: tried again" 3 "$(fetches)"
expect_eq "and still the cached policy" "cached $TG_NET_STS_ID" "$(jq_ '.status + " " + .policy.id')"
json=$(at 540 sts-cache show sts.test --json)
expect_eq "two failures in a row recorded" "2 new2" \
    "$(jq_ '(.last_fetch.failures|tostring) + " " + .last_fetch.id')"

# --- only a valid fetched policy replaces it: mode none (RFC 8461 §8.3) --
serve 'version: STSv1\nmode: testing\nmx: mx.sts.test\nmax_age: 99999999999\n'
lookup 900
expect_eq "an invalid policy does not replace the cached one" \
    "cached sts-policy-invalid $TG_NET_STS_ID" \
    "$(jq_ '.status + " " + .result_type + " " + .policy.id')"
check "TXT id changed again" txt_set none3
serve 'version: STSv1\nmode: none\nmax_age: 3600\n'
lookup 960
expect_eq "a valid mode none policy replaces enforce" "fetched none none3" \
    "$(jq_ '.status + " " + .policy.mode + " " + .policy.id')"
json=$(at 960 sts-cache show sts.test --json)
expect_eq "the cache holds mode none now" "none 0" "$(jq_ '.policy.mode + " " + (.last_fetch.failures|tostring)')"

# --- the same id: the cache is used even though the body changed ---------
serve "$ENFORCE"
n=$(fetches)
lookup 1000
expect_eq "same id: no fetch, the cached policy (none) applies" "cached none $n" \
    "$(jq_ '.status + " " + .policy.mode') $(fetches)"

# --- expiry: after max_age a policy no longer applies --------------------
check "TXT removed" txt_set
lookup $((960 + 3600))
expect_eq "expired and no TXT: no policy" "no-policy not-published" \
    "$(jq_ '.status + " " + .why')"

# --- refresh: fetch now, whatever the cache says -------------------------
check "TXT back" txt_set back4
lookup $((960 + 3601))
expect_eq "TXT back: fetched" "fetched enforce back4" "$(jq_ '.status + " " + .policy.mode + " " + .policy.id')"
n=$(fetches)
json=$(at $((960 + 3602)) sts-cache refresh sts.test --json)
expect_eq "refresh: fetched again although current" "fetched forced $((n + 1))" \
    "$(jq_ '.status + " " + .why') $(fetches)"
check_exit "show of an unknown domain: exit 1" 1 at 0 sts-cache show nothing.test
check_exit "lookup of a bad name: exit 2" 2 at 0 sts-cache lookup 'bad_name!'
