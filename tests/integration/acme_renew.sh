# ACME certificates from the lab's pebble (RFC 8555), end to end:
#   - controllerd, with acme.directory set, replaces the self-signed
#     certificates of the MTA-STS host (mta-sts.gw.test) and of the MX name
#     (mx.gw.test) with CA-issued ones, proved by http-01 answers that stsd
#     serves on port 80 from the store;
#   - stsd and mxd serve them at once (a client trusting only pebble's
#     root verifies both, names included), without a restart;
#   - the MX key never changes: the SPKI, and so the TLSA 3 1 1 record,
#     is the same after every one of ten renewals (RELIABILITY C-04);
#   - the account key is made once (0600) and the challenges leave the
#     store after each order (and a stale one is purged);
#   - with stsd stopped a renewal (under a new account: no authorization
#     to reuse) fails before the CA is asked to look, says why, and
#     leaves the certificate as it was.

. "$TOP/tests/net/net.sh"
tg_net_available || { skip "the lab network needs root namespaces"; exit 0; }
check "lab network up (dns pebble)" tg_net_up dns pebble

MX=$TG_NET_GW_MX_ADDR STS=$TG_NET_GW_STS_ADDR
CLOG="$T/controllerd.log" SLOG="$T/stsd.log" MLOG="$T/mxd.log"
conf=$(tg_net_conf)
cat >> "$conf" <<CONF
mx.listen = $MX:25
sts.listen = $STS:443
sts.http_listen = $STS:80, $MX:80
store.poll_interval = 1
acme.directory = $TG_NET_PEBBLE_URL
acme.ca_file = $TG_NET_CA_CERT
acme.email = postmaster@gw.test
CONF
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
check "tlsgate init" tg init
check "gw.test hosted with an MTA-STS policy" tg domain add gw.test \
    --route 127.0.1.3:25 --sts-mode testing --mx mx.gw.test --max-age 86400

# The issuer of the certificate a name's row points at.
issuer_of() { # NAME
	openssl x509 -noout -issuer -in "$(tg cert list --json | jq -r \
	    --arg n "$1" '.[] | select(.name == $n and .state == "current") |
	    .cert_path')" 2>/dev/null
}
cur() { # NAME FIELD
	tg cert list --json | jq -r --arg n "$1" --arg f "$2" \
	    '.[] | select(.name == $n and .state == "current") | .[$f]'
}
ca_issued() { issuer_of "$1" | grep -q -i pebble; }
mx_verify() { # the certificate mxd serves, verified with pebble's root
	openssl s_client -connect "$MX:25" -starttls smtp \
	    -servername "$TG_NET_GW_MX_NAME" -CAfile "$TG_NET_PEBBLE_ROOT" \
	    -verify_hostname "$TG_NET_GW_MX_NAME" -verify_return_error \
	    < /dev/null > "$T/s_client.out" 2>&1 &&
	    grep -q "Verify return code: 0 (ok)" "$T/s_client.out"
}
sts_fetch() { # the policy over HTTPS, verified with pebble's root only
	curl -sf --max-time 5 --cacert "$TG_NET_PEBBLE_ROOT" \
	    --resolve "$TG_NET_GW_STS_NAME:443:$STS" \
	    "https://$TG_NET_GW_STS_NAME/.well-known/mta-sts.txt"
}
served_spki() {
	openssl s_client -connect "$MX:25" -starttls smtp \
	    -servername "$TG_NET_GW_MX_NAME" < /dev/null 2>/dev/null |
	    openssl x509 -noout -pubkey 2>/dev/null |
	    openssl pkey -pubin -outform DER 2>/dev/null | sha256sum |
	    cut -d' ' -f1
}
challenges() {
	sqlite3 "$T/state/config.db" "SELECT count(*) FROM acme_challenges"
}

"$BIN/tlsgate-stsd" -f -c "$conf" >> "$SLOG" 2>&1 &
sts_pid=$!
"$BIN/tlsgate-mxd" -f -c "$conf" >> "$MLOG" 2>&1 &
check "stsd answers on port 80 and 443, mxd on 25" bash -c \
    "$(declare -f wait_for wait_port); wait_port $STS 80 15 &&
    wait_port $MX 80 5 && wait_port $STS 443 5 && wait_port $MX 25 15"
check "at first the MTA-STS host has a self-signed certificate" \
    wait_for 15 bash -c "[ -n \"\$($BIN/tlsgate -c $conf cert list --json |
    jq -r '.[] | select(.name == \"$TG_NET_GW_STS_NAME\") | .cert_path')\" ]"
check_fails "which a client trusting pebble's root refuses" sts_fetch
mx_spki=$(cur "$TG_NET_GW_MX_NAME" spki_sha256)
expect_eq "tlsgate cert list says the MX's is self-signed" true \
    "$(cur "$TG_NET_GW_MX_NAME" self_signed)"
expect_match "the MX key is there" "^[0-9a-f]{64}$" "$mx_spki"

# A challenge an order cut short left behind, long expired: purged.
sqlite3 "$T/state/config.db" "INSERT INTO acme_challenges (token,
    key_authorization, host, expires) VALUES ('left-behind', 'x.y',
    '$TG_NET_GW_STS_NAME', 1)"
expect_eq "a stale challenge in the store" 1 "$(challenges)"
"$BIN/tlsgate-controllerd" -f -c "$conf" >> "$CLOG" 2>&1 &
ctl_pid=$!
check "controllerd gets the MTA-STS host a CA-issued certificate" \
    wait_for 90 ca_issued "$TG_NET_GW_STS_NAME"
check "and the MX name" wait_for 90 ca_issued "$TG_NET_GW_MX_NAME"
expect_eq "tlsgate cert list says it is not self-signed now" false \
    "$(cur "$TG_NET_GW_MX_NAME" self_signed)"
expect_match "and names pebble as its issuer" "Pebble" \
    "$(cur "$TG_NET_GW_MX_NAME" issuer) $(tg cert list)"
check "controllerd said why and what" wait_for 10 grep -q \
    "event=acme name=$TG_NET_GW_STS_NAME reason=self-signed result=issued" \
    "$CLOG"
check "stsd serves it: the policy verifies with pebble's root" \
    wait_for 15 sts_fetch
expect_match "the policy is ours" "mx: mx.gw.test" "$(sts_fetch)"
check "mxd serves its certificate: verified with pebble's root and name" \
    wait_for 15 mx_verify
expect_eq "the MX key is the same (TLSA 3 1 1 unchanged)" "$mx_spki" \
    "$(cur "$TG_NET_GW_MX_NAME" spki_sha256)"
expect_eq "and it is the key mxd serves" "$mx_spki" "$(served_spki)"
expect_eq "no challenge left in the store (the stale one purged)" 0 \
    "$(challenges)"
expect_eq "the account key is private" 600 \
    "$(stat -c %a "$T/state/keys/acme-account.key")"
kill "$ctl_pid"; wait "$ctl_pid" 2>/dev/null

# ---- ten renewals of the MX certificate: the key stays (C-04) -------------
same=0 fresh=0 prev=$(cur "$TG_NET_GW_MX_NAME" cert_path)
for i in $(seq 10); do
	tg cert renew "$TG_NET_GW_MX_NAME" > "$T/renew.out" 2>&1 || {
		sed 's/^/#   /' "$T/renew.out"; break; }
	[ "$(cur "$TG_NET_GW_MX_NAME" spki_sha256)" = "$mx_spki" ] &&
	    same=$((same + 1))
	now=$(cur "$TG_NET_GW_MX_NAME" cert_path)
	[ "$now" != "$prev" ] && [ -s "$now" ] && fresh=$((fresh + 1))
	prev=$now
done
expect_eq "ten renewals, each with the same key" 10 "$same"
expect_eq "each a new certificate file" 10 "$fresh"
expect_match "the CLI says so" "renewed: issuer .*same key" \
    "$(cat "$T/renew.out")"
check "mxd serves the last one" wait_for 15 bash -c \
    "[ \"\$(openssl s_client -connect $MX:25 -starttls smtp \
    -servername $TG_NET_GW_MX_NAME < /dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256)\" = \
    \"\$(openssl x509 -noout -fingerprint -sha256 -in $prev)\" ]"
expect_eq "still the same key served" "$mx_spki" "$(served_spki)"
expect_eq "the account key was made once" 1 \
    "$(grep -c 'event=acme-account result=new-key' "$CLOG")"

# ---- stsd down: refused before the CA is asked -----------------------------
# A CA reuses an account's valid authorizations for a while (RFC 8555
# §7.1.4; pebble does), and then asks for no challenge: a new account
# has none.
kill "$sts_pid"; wait "$sts_pid" 2>/dev/null
mv "$T/state/keys/acme-account.key" "$T/state/keys/acme-account.key.old"
before=$(cur "$TG_NET_GW_STS_NAME" cert_path)
check_exit "without stsd a renewal fails (exit 1)" 1 \
    tg cert renew "$TG_NET_GW_STS_NAME"
expect_match "and says why" "stsd does not answer the http-01 challenge" \
    "$(last_output)"
expect_eq "the certificate is as it was" "$before" \
    "$(cur "$TG_NET_GW_STS_NAME" cert_path)"
expect_eq "no challenge left behind" 0 "$(challenges)"
grep -v '^acme\.' "$conf" > "$T/noacme.conf"
check_exit "cert renew without acme.directory is bad usage (exit 2)" 2 \
    "$BIN/tlsgate" -c "$T/noacme.conf" cert renew

# ---- a stop in the middle of an order does not wait for it ----------------
check "a next MX key (self-signed, so due)" tg cert rollover
"$BIN/tlsgate-controllerd" -f -c "$conf" >> "$CLOG.2" 2>&1 &
ctl_pid=$!
check "controllerd orders its certificate" wait_for 15 grep -q \
    "reason=self-signed result=ordering" "$CLOG.2"
sleep 1
t0=$(date +%s%N)
kill -TERM "$ctl_pid"
check "and stops within seconds although stsd cannot answer (it would wait 12 s)" \
    wait_for 5 bash -c "! kill -0 $ctl_pid 2>/dev/null"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# controllerd stopped ${ms} ms after SIGTERM"
expect_eq "no challenge left behind" 0 "$(challenges)"
