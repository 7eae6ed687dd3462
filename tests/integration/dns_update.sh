# dns/dnsupdate against the lab's authoritative server (Knot, which takes
# updates signed with the lab TSIG key): the rollover's steps as UPDATE
# messages (RFC 2136, RFC-CHECKLIST 21-23, RELIABILITY C-03), checked in
# the zone with kdig after each:
#   - a TLSA RRset created only if it does not exist yet (§2.4.3), and a
#     second try refused by that prerequisite (YXRRSET), nothing changed;
#   - the next digest added beside the current one only while the RRset
#     is exactly the current one (§2.4.2); with a stale picture of the
#     RRset the update is refused (NXRRSET) and the zone unchanged;
#   - the retired digest deleted alone (§2.5.4): the other stays;
#   - a wrong secret (BADSIG), an unknown key (BADKEY), a zone the server
#     does not serve, and no server at all are each told apart, and none
#     changes anything;
#   - dns/visible: the set the zone holds is visible at every authoritative
#     server and secure to the validating resolver; another set, one
#     record short, or one in an unsigned zone (served, but insecure) is
#     not; an RRset expected absent and absent is.

. "$TOP/tests/net/net.sh"
tg_net_available || { skip "the lab network needs root namespaces"; exit 0; }
check "lab network up (dns)" tg_net_up dns

check "the helper builds" tg_build_helper dnsupdate "$T/dnsupdate"
KEY=$TG_NET_TSIG_FILE
A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
B=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
OWNER=_25._tcp.mx.gw.test.
upd() { "$T/dnsupdate" "$TG_NET_DNS_ADDR" "$TG_NET_DNS_PORT" "$@"; }
# The TLSA RRset at the authoritative server, one record per line, sorted.
tlsa() {
	kdig @"$TG_NET_DNS_ADDR" -p "$TG_NET_DNS_PORT" +short "$OWNER" TLSA |
	    tr -d ' ' | tr 'A-F' 'a-f' | sort
}

# ---- create, only where there is nothing yet ------------------------------
check "a new RRset, on the condition that there is none" \
    upd "$KEY" gw.test pre "$OWNER" TLSA -- add "$OWNER 60 IN TLSA 3 1 1 $A"
expect_eq "the zone has it" "311$A" "$(tlsa)"
out=$(upd "$KEY" gw.test pre "$OWNER" TLSA -- add "$OWNER 60 IN TLSA 3 1 1 $B"); rc=$?
expect_eq "again: the prerequisite fails (exit 1)" 1 "$rc"
expect_match "as YXRRSET, a prerequisite outcome" "^prerequisite rcode=7 " "$out"
expect_eq "nothing changed" "311$A" "$(tlsa)"

# ---- add the next digest beside the current one ----------------------------
out=$(upd "$KEY" gw.test pre "$OWNER" TLSA "3 1 1 $B" -- \
    add "$OWNER 60 IN TLSA 3 1 1 $B"); rc=$?
expect_eq "with a stale picture of the RRset: refused" 1 "$rc"
expect_match "as NXRRSET" "^prerequisite rcode=8 " "$out"
expect_eq "nothing changed" "311$A" "$(tlsa)"
check "with the RRset as it is: the next digest goes in" \
    upd "$KEY" gw.test pre "$OWNER" TLSA "3 1 1 $A" -- \
    add "$OWNER 60 IN TLSA 3 1 1 $B"
expect_eq "both digests published" "$(printf '311%s\n311%s' "$A" "$B")" "$(tlsa)"

# ---- retire the old one alone ------------------------------------------------
check "the old digest deleted, and only that record" \
    upd "$KEY" gw.test pre "$OWNER" TLSA "3 1 1 $A" "3 1 1 $B" -- \
    del "$OWNER 60 IN TLSA 3 1 1 $A"
expect_eq "the next one stays" "311$B" "$(tlsa)"

# ---- failures that must not pass for success ----------------------------------
bad=$T/bad.key
printf 'hmac-sha256:%s:%s\n' "$TG_NET_TSIG_NAME" "$(openssl rand -base64 32)" > "$bad"
out=$(upd "$bad" gw.test add "$OWNER 60 IN TLSA 3 1 1 $A"); rc=$?
expect_eq "a wrong secret: exit 1" 1 "$rc"
expect_match "the server says BADSIG" "^tsig .*tsig_error=16" "$out"
printf 'hmac-sha256:no-such-key:%s\n' "$(openssl rand -base64 32)" > "$bad"
out=$(upd "$bad" gw.test add "$OWNER 60 IN TLSA 3 1 1 $A"); rc=$?
expect_eq "an unknown key: exit 1" 1 "$rc"
expect_match "the server says BADKEY" "^tsig .*tsig_error=17" "$out"
out=$(upd "$KEY" not-served.test add "x.not-served.test. 60 IN TXT x"); rc=$?
expect_eq "a zone the server does not serve: exit 1" 1 "$rc"
expect_match "refused, not a success" "^(refused|tsig) " "$out"
out=$("$T/dnsupdate" 127.0.0.1 9 "$KEY" gw.test add "$OWNER 60 IN TLSA 3 1 1 $A"); rc=$?
expect_eq "no server: exit 1" 1 "$rc"
expect_match "a temporary failure" "^temporary .*cannot connect" "$out"
expect_eq "none of them changed the zone" "311$B" "$(tlsa)"

# ---- visible everywhere? (dns/visible, RFC-CHECKLIST 24) ---------------------
check "the visibility helper builds" tg_build_helper dnsvisible "$T/dnsvisible"
conf=$(tg_write_conf)
cat "$TG_NET_CONF" >> "$conf"
vis() { "$T/dnsvisible" "$conf" "$@"; }
check "the published set: at every authoritative server, and secure" \
    vis gw.test "$OWNER" TLSA "3 1 1 $B"
expect_match "with its TTL" "^visible: visible at 1 of 1 servers .*ttl=60" \
    "$(vis gw.test "$OWNER" TLSA "3 1 1 $B")"
out=$(vis gw.test "$OWNER" TLSA "3 1 1 $A"); rc=$?
expect_eq "a set the zone does not hold: not visible (exit 1)" 1 "$rc"
expect_match "the server says what it has" \
    "^not-visible: 0 of 1 servers; ns\.test\. \($TG_NET_DNS_ADDR\) has other records" "$out"
out=$(vis gw.test "$OWNER" TLSA "3 1 1 $A" "3 1 1 $B"); rc=$?
expect_eq "one record short: not visible" 1 "$rc"
expect_match "counted" "has 1 record, want 2" "$out"
check "an RRset in an unsigned zone" tg_net_update insecure.test \
    "update add _25._tcp.mx.insecure.test. 60 TLSA 3 1 1 $A"
out=$(vis insecure.test _25._tcp.mx.insecure.test. TLSA "3 1 1 $A"); rc=$?
expect_eq "served, but not secure: not visible" 1 "$rc"
expect_match "the resolver's answer is insecure" \
    "every server has it; the validating resolver: the answer is insecure" "$out"
check "no such RRset, as expected: visible" \
    vis gw.test _25._tcp.none.gw.test. TLSA
tg_net_down
