# ACME and the DANE rollover together: with acme.directory set the MX
# name's next key is switched in only once its certificate is CA-issued,
# so a sender that checks our MX under an MTA-STS policy (web PKI) never
# meets a self-signed certificate, while the TLSA records stay in
# lockstep (RFC 7671 §8.1). With stsd stopped the next key cannot get its
# certificate: the rollover waits past its two TTLs and says why; once
# `tlsgate cert renew` has got it, the switch follows, and mxd serves a
# certificate that verifies both by DANE (its record is in the zone) and
# in the web PKI (pebble's root).

. "$TOP/tests/net/net.sh"
tg_net_available || { skip "the lab network needs root namespaces"; exit 0; }
check "lab network up (dns pebble)" tg_net_up dns pebble

MX=$TG_NET_GW_MX_ADDR STS=$TG_NET_GW_STS_ADDR
TTL=2
CLOG="$T/controllerd.log" SLOG="$T/stsd.log"
OWNER=_25._tcp.mx.gw.test.
conf=$(tg_net_conf)
cat >> "$conf" <<CONF
mx.listen = $MX:25
sts.listen = $STS:443
sts.http_listen = $MX:80
store.poll_interval = 1
dane.update_server = $TG_NET_DNS_ADDR@$TG_NET_DNS_PORT
dane.tsig_key_file = $TG_NET_TSIG_FILE
dane.zone = gw.test
dane.tlsa_ttl = ${TTL}s
acme.directory = $TG_NET_PEBBLE_URL
acme.ca_file = $TG_NET_CA_CERT
CONF
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
check "tlsgate init" tg init
check "gw.test hosted" tg domain add gw.test --route 127.0.1.3:25

mx() { # STATE FIELD — of the MX name's certificate in that state
	tg cert list --json | jq -r --arg s "$1" --arg f "$2" \
	    '.[] | select(.role == "mx" and .state == $s) | .[$f]'
}
zone_tlsa() {
	kdig @"$TG_NET_DNS_ADDR" -p "$TG_NET_DNS_PORT" +short "$OWNER" TLSA |
	    awk '{ print tolower($1 $2 $3 $4 $5) }' | sort | tr '\n' ' '
}
served() {
	openssl s_client -connect "$MX:25" -starttls smtp -servername \
	    "$TG_NET_GW_MX_NAME" < /dev/null 2>/dev/null |
	    openssl x509 -noout -pubkey 2>/dev/null |
	    openssl pkey -pubin -outform DER 2>/dev/null | sha256sum |
	    cut -d' ' -f1
}
webpki_ok() {
	openssl s_client -connect "$MX:25" -starttls smtp \
	    -servername "$TG_NET_GW_MX_NAME" -CAfile "$TG_NET_PEBBLE_ROOT" \
	    -verify_hostname "$TG_NET_GW_MX_NAME" -verify_return_error \
	    < /dev/null 2>&1 | grep -q "Verify return code: 0 (ok)"
}
sts_start() {
	"$BIN/tlsgate-stsd" -f -c "$conf" >> "$SLOG" 2>&1 &
	sts_pid=$!
}

sts_start
"$BIN/tlsgate-mxd" -f -c "$conf" >> "$T/mxd.log" 2>&1 &
check "stsd and mxd listen" bash -c "$(declare -f wait_for wait_port);
    wait_port $MX 80 15 && wait_port $MX 25 15"
"$BIN/tlsgate-controllerd" -f -c "$conf" >> "$CLOG" 2>&1 &
check "the current MX key: record visible, certificate CA-issued" \
    wait_for 60 bash -c "$(declare -f tg mx); BIN=$BIN conf=$conf;
    [ \"\$(mx current tlsa_state)\" = visible ] &&
    [ \"\$(mx current self_signed)\" = false ]"
old=$(mx current spki_sha256)
check "mxd serves it, valid in the web PKI" wait_for 15 webpki_ok

kill "$sts_pid"; wait "$sts_pid" 2>/dev/null
# A CA reuses an account's valid authorizations (RFC 8555 §7.1.4; pebble
# does) and would then ask for no challenge: a new account has none.
mv "$T/state/keys/acme-account.key" "$T/state/keys/acme-account.key.old"
check "tlsgate cert rollover makes the next key" tg cert rollover
new=$(mx next spki_sha256)
check "its record is published and seen" wait_for 30 bash -c \
    "$(declare -f tg mx); BIN=$BIN conf=$conf;
    [ \"\$(mx next tlsa_state)\" = visible ]"
sleep $((3 * TTL + 2))
expect_eq "two TTLs later it is still not served: no CA certificate" \
    "$old" "$(mx current spki_sha256)"
expect_match "the rollover says why it waits" \
    "step=wait until=[0-9]+ plan=\"the next key's certificate is not CA-issued yet" \
    "$(cat "$CLOG")"
expect_eq "both records are in the zone meanwhile" \
    "$(printf '311%s\n311%s\n' "$old" "$new" | sort | tr '\n' ' ')" \
    "$(zone_tlsa)"

sts_start
check "stsd answers again" wait_port "$MX" 80 15
check "tlsgate cert renew gets the next key its certificate" \
    tg cert renew "$TG_NET_GW_MX_NAME"
check "then the switch comes" wait_for 60 bash -c \
    "$(declare -f tg mx); BIN=$BIN conf=$conf;
    [ \"\$(mx current spki_sha256)\" = $new ]"
check "mxd serves the new key" wait_for 15 bash -c \
    "$(declare -f served); MX=$MX TG_NET_GW_MX_NAME=$TG_NET_GW_MX_NAME;
    [ \"\$(served)\" = $new ]"
expect_eq "the key switched in has a CA-issued certificate" false \
    "$(mx current self_signed)"
check "valid in the web PKI" webpki_ok
expect_match "and its record is in the zone" "311$new" "$(zone_tlsa)"
