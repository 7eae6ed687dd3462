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
