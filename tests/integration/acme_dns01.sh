# ACME dns-01 (RFC 8555 §8.4; acme.challenge = dns-01) against the lab's
# pebble: with no stsd running, so no http-01 answer can be served, `tlsgate
# cert renew` gets the MX name a CA-issued certificate by putting the TXT
# record _acme-challenge.mx.gw.test into the signed zone gw.test (RFC 2136
# with the lab TSIG key), waiting until every authoritative server serves
# it, and removing it afterwards; pebble looks it up through the lab's
# validating resolver. Without an update server it says what is missing.
# The same through dane.update_hook (a program making the change, here
# with knsupdate, as a DNS provider's API client would).

. "$TOP/tests/net/net.sh"
. "$TOP/tests/integration/dane_lib.bash"
tg_net_available || { skip "the lab network needs root namespaces"; exit 0; }
check "lab network up (dns pebble)" tg_net_up dns pebble

OWNER=_acme-challenge.$TG_NET_GW_MX_NAME.
conf=$(tg_net_conf)
cat >> "$conf" <<CONF
acme.directory = $TG_NET_PEBBLE_URL
acme.ca_file = $TG_NET_CA_CERT
acme.challenge = dns-01
dane.zone = gw.test
CONF
cp "$conf" "$T/bare.conf"		# the same without an update server
cat >> "$conf" <<CONF
dane.update_server = $TG_NET_DNS_ADDR@$TG_NET_DNS_PORT
dane.tsig_key_file = $TG_NET_TSIG_FILE
CONF
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
check "tlsgate init" tg init
issuer() {
	openssl x509 -noout -issuer -in "$(tg cert list --json | jq -r \
	    --arg n "$TG_NET_GW_MX_NAME" '.[] | select(.name == $n and
	    .state == "current") | .cert_path')" 2>/dev/null
}
txt() {
	kdig @"$TG_NET_DNS_ADDR" -p "$TG_NET_DNS_PORT" +short "$OWNER" TXT
}
expect_match "at first the MX certificate is self-signed" \
	"$TG_NET_GW_MX_NAME" "$(issuer)"

check_fails "without dane.update_server: refused" \
	"$BIN/tlsgate" -c "$T/bare.conf" cert renew "$TG_NET_GW_MX_NAME"
expect_match "saying what is missing" \
	"dns-01 needs dane.update_server and dane.tsig_key_file, or dane.update_hook" \
	"$(last_output)"

check "tlsgate cert renew: issued through dns-01, no stsd running" \
	tg cert renew "$TG_NET_GW_MX_NAME"
expect_match "by pebble" "[Pp]ebble" "$(issuer)"
# Knot's journal of the zone: the record went in (and out again).
expect_match "the zone took a TXT answer of 43 base64url characters" \
	"^_acme-challenge\.mx\.gw\.test\.[[:space:]]+60[[:space:]]+TXT[[:space:]]+\"[A-Za-z0-9_-]{43}\"" \
	"$(kjournalprint "$TG_NET_DIR/knot/db/journal" gw.test 2>&1)"
expect_match "pebble validated the authorization" "set VALID by completed challenge" \
	"$(cat "$TG_NET_PEBBLE_DIR/pebble.log")"
expect_eq "the TXT record is gone again" "" "$(txt)"
expect_eq "no http-01 answer was put in the store" 0 \
	"$(sqlite3 "$T/state/config.db" 'SELECT count(*) FROM acme_challenges')"

# ---- the same through dane.update_hook ----------------------------------
HOOK="$T/dns-hook"
knsupdate_hook "$HOOK"
cp "$T/bare.conf" "$T/hook.conf"
echo "dane.update_hook = $HOOK" >> "$T/hook.conf"
before=$(tg cert list --json | jq -r --arg n "$TG_NET_GW_MX_NAME" \
	'.[] | select(.name == $n and .state == "current") | .cert_path')
# A new account: pebble may reuse the first one's valid authorization.
# And the lab resolver pebble asks forgets the first answer's TXT (a
# public CA asks the authoritative servers, which hold no stale value).
rm -f "$T/state/keys/acme-account.key"
tg_net_flush gw.test
check "through the hook: issued again" \
	"$BIN/tlsgate" -c "$T/hook.conf" cert renew "$TG_NET_GW_MX_NAME"
expect_match "a new certificate file, by pebble" "[Pp]ebble" "$(issuer)"
expect_eq "not the one before" 1 "$([ "$(tg cert list --json | jq -r \
	--arg n "$TG_NET_GW_MX_NAME" '.[] | select(.name == $n and
	.state == "current") | .cert_path')" != "$before" ] && echo 1)"
expect_match "the hook added the TXT record" \
	"^add gw\.test $OWNER 60 TXT \"[A-Za-z0-9_-]{43}\"\$" "$(cat "$T/hook.calls")"
expect_match "and deleted it" \
	"^delete gw\.test $OWNER 60 TXT \"[A-Za-z0-9_-]{43}\"\$" "$(cat "$T/hook.calls")"
expect_eq "the TXT record is gone again" "" "$(txt)"
tg_net_down
