# dane_lib.bash — what the DANE rollover tests share (sourced; not a test
# itself). Needs the lab's DNS (tests/net), OWNER (the TLSA owner name,
# with its final dot) and tg (the CLI with the test's config).

# The TLSA records at the authoritative server as "311<digest>", sorted,
# one per line.
zone_tlsa() {
	kdig @"$TG_NET_DNS_ADDR" -p "$TG_NET_DNS_PORT" +short "$OWNER" TLSA |
	    awk '{ print tolower($1 $2 $3 $4 $5) }' | sort
}
# The SPKI SHA-256 of the current MX key (controllerd also makes the
# console's certificate, role admin).
current() { tg cert list --json |
    jq -r '.[] | select(.role == "mx" and .state == "current") | .spki_sha256'; }
# The TLSA state of the key with SPKI SHA-256 $1.
tlsa_of() { tg cert list --json |
    jq -r --arg s "$1" '.[] | select(.spki_sha256 == $s) | .tlsa_state'; }

# knsupdate_hook FILE — a dane.update_hook program (etc/tlsgate.conf)
# that makes each change with knsupdate and the lab TSIG key, as a DNS
# provider's API client would; every call's arguments are appended to
# $T/hook.calls, and while $T/hook.fail exists it fails ("provider says
# no").
knsupdate_hook() {
	cat > "$1" <<HOOK
#!/bin/sh
# dns-hook add|delete ZONE OWNER TTL TYPE RDATA [EXPECTED...]
echo "\$*" >> "$T/hook.calls"
if [ -e "$T/hook.fail" ]; then echo "provider says no"; exit 1; fi
if [ "\$1" = add ]; then op="update add \$3 \$4 \$5 \$6"
else op="update delete \$3 \$5 \$6"; fi
printf 'server %s %s\nzone %s.\n%s\nsend\n' "$TG_NET_DNS_ADDR" \
    "$TG_NET_DNS_PORT" "\$2" "\$op" | knsupdate -t 5 -k "$TG_NET_TSIG_FILE"
HOOK
	chmod 755 "$1"
}
