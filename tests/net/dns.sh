# tests/net/dns.sh — Knot (authoritative) and Unbound (validating) for the
# lab's "test." tree (sourced by tests/net/net.sh).
#
# Keys are made fresh at set-up with keymgr, the DS of every signed child
# goes into the parent zone "test." before knotd starts, and the DS of
# "test." itself is the trust anchor. Knot signs (manual key policy, so it
# never rolls keys during a test) and re-signs after dynamic updates, which
# need the TSIG key in $TG_NET_TSIG_FILE.

TG_NET_SIGNED_ZONES="test. dane-ok.test. dane-bad.test. bogus.test. cname.test.
cname-target.test. twomx.test. nullmx.test. nostarttls.test. stall.test.
expired-ee.test. ta-wrongname.test. ta-ok.test. gw.test."
TG_NET_UNSIGNED_ZONES="insecure.test. sts.test."

_tgn_knot_conf() {
	local d=$TG_NET_KNOT_DIR z
	cat > "$TG_NET_KNOT_CONF" <<CONF
server:
    rundir: "$d/run"
    listen: $TG_NET_DNS_ADDR@$TG_NET_DNS_PORT
    udp-workers: 2
    tcp-workers: 2
    background-workers: 2
control:
    listen: "$d/run/knot.sock"
database:
    storage: "$d/db"
log:
  - target: "$d/knot.log"
    any: info
key:
  - id: $TG_NET_TSIG_NAME
    algorithm: $TG_NET_TSIG_ALG
    secret: $TG_NET_TSIG_SECRET
acl:
  - id: lab_update
    key: $TG_NET_TSIG_NAME
    action: update
policy:
  - id: lab
    algorithm: ecdsap256sha256
    manual: on
    single-type-signing: on
    dnskey-ttl: 60
    zone-max-ttl: 60
    rrsig-lifetime: 14d
    rrsig-refresh: 7d
    nsec3: off
template:
  - id: default
    storage: "$d/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
    serial-policy: increment
    acl: lab_update
  - id: signed
    storage: "$d/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
    serial-policy: increment
    acl: lab_update
    dnssec-signing: on
    dnssec-policy: lab
zone:
CONF
	for z in $TG_NET_SIGNED_ZONES; do
		printf '  - domain: %s\n    template: signed\n' "$z"
	done >> "$TG_NET_KNOT_CONF"
	for z in $TG_NET_UNSIGNED_ZONES; do
		printf '  - domain: %s\n' "$z"
	done >> "$TG_NET_KNOT_CONF"
}

# The DS set of one signed child; bogus.test. gets its real key tag and
# algorithm with a digest that matches nothing.
_tgn_child_ds() {
	local z=$1
	if [ "$z" = bogus.test. ]; then
		awk '$5 == 2 {
		    printf "%s DS %s %s 2 %s\n", $1, $3, $4,
		    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" }' \
		    "$TG_NET_KNOT_DIR/ds/${z}ds"
	else
		cat "$TG_NET_KNOT_DIR/ds/${z}ds"
	fi
}

_tgn_zone_head() {
	cat <<ZONE
\$ORIGIN $1
\$TTL 60
@ SOA ns.test. hostmaster.test. 1 60 30 3600 30
@ NS ns.test.
ZONE
}

_tgn_tlsa() { # owner usage spki-file
	local h
	h=$(cat "$3") && [ -n "$h" ] || return 1
	echo "$1 TLSA $2 1 1 $h"
}

# _tgn_mx_zone ZONE HOST-LABEL — MX, A and (where the zone wants it) TLSA.
_tgn_mx_zone() {
	local z=$1 h="$2.${1%.}" c=$TG_NET_CERT_DIR
	echo "@ MX 10 $2"
	echo "$2 A $(tg_net_addr "$h")"
	case "${z%.}" in
	dane-bad.test) _tgn_tlsa "_25._tcp.$2" 3 "$c/decoy.spki" ;;
	ta-ok.test | ta-wrongname.test) _tgn_tlsa "_25._tcp.$2" 2 "$c/root.spki" ;;
	insecure.test | sts.test) ;;
	*) _tgn_tlsa "_25._tcp.$2" 3 "$c/$h.spki" ;;
	esac
}

# The records of one zone after its SOA and NS; fails when a TLSA cannot
# be made.
_tgn_zone_body() {
	local z=$1 c=$TG_NET_CERT_DIR z2
	case "$z" in
	test.)
		echo "ns A $TG_NET_DNS_ADDR"
		echo "acme A $TG_NET_ACME_ADDR"
		echo "pebble A $TG_NET_PEBBLE_ADDR"
		echo "sender A $TG_NET_SENDER_ADDR"
		for z2 in $TG_NET_SIGNED_ZONES $TG_NET_UNSIGNED_ZONES; do
			[ "$z2" = test. ] || echo "$z2 NS ns.test."
		done
		for z2 in $TG_NET_SIGNED_ZONES; do
			[ "$z2" = test. ] || _tgn_child_ds "$z2" || return 1
		done ;;
	dane-ok.test.)
		_tgn_mx_zone "$z" mx &&
		echo '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@sts.test"' ;;
	insecure.test.)
		_tgn_mx_zone "$z" mx &&
		echo "@ A $TG_NET_IP_MX_INSECURE_TEST" ;;
	sts.test.)
		_tgn_mx_zone "$z" mx &&
		echo "mta-sts A $TG_NET_STS_ADDR" &&
		echo "_mta-sts TXT \"v=STSv1; id=$TG_NET_STS_ID;\"" &&
		echo "_smtp._tls TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@sts.test,$TG_NET_RPT_URL\"" ;;
	cname.test.)
		# RFC 7672 §2.2.3: the TLSA base is the CNAME-expanded name.
		echo "@ MX 10 mx"
		echo "mx CNAME mx.cname-target.test." ;;
	cname-target.test.)
		echo "mx A $TG_NET_IP_MX_CNAME_TARGET_TEST" &&
		_tgn_tlsa _25._tcp.mx 3 "$c/mx.cname-target.test.spki" ;;
	twomx.test.)
		echo "@ MX 10 mx1"
		echo "@ MX 20 mx2"
		echo "mx1 A $TG_NET_IP_MX1_TWOMX_TEST"
		echo "mx2 A $TG_NET_IP_MX2_TWOMX_TEST"
		_tgn_tlsa _25._tcp.mx1 3 "$c/mx1.twomx.test.spki" &&
		_tgn_tlsa _25._tcp.mx2 3 "$c/mx2.twomx.test.spki" ;;
	nullmx.test.)
		echo "@ MX 0 ." ;;  # RFC 7505
	gw.test.)
		echo "@ MX 10 mx"
		echo "mx A $TG_NET_GW_MX_ADDR"
		echo "mta-sts A $TG_NET_GW_STS_ADDR" ;;
	*)
		_tgn_mx_zone "$z" mx ;;
	esac
}

# Configuration and keys: keymgr runs in the background (it needs nothing
# from the CA) while the certificates are made; _tgn_dns_prepare waits.
_tgn_dns_keys_start() {
	export TG_NET_KNOT_DIR="$TG_NET_DIR/knot"
	export TG_NET_KNOT_CONF="$TG_NET_KNOT_DIR/knot.conf"
	export TG_NET_UNBOUND_DIR="$TG_NET_DIR/unbound"
	export TG_NET_UNBOUND_CONF="$TG_NET_UNBOUND_DIR/unbound.conf"
	export TG_NET_TA_FILE="$TG_NET_DIR/test.ds"
	export TG_NET_TA_DNSKEY_FILE="$TG_NET_DIR/test.dnskey"
	export TG_NET_TA_BIND_FILE="$TG_NET_DIR/test.anchors"
	export TG_NET_RESOLV_CONF="$TG_NET_DIR/resolv.conf"
	export TG_NET_TSIG_NAME=tg-update TG_NET_TSIG_ALG=hmac-sha256
	export TG_NET_TSIG_FILE="$TG_NET_DIR/tsig.key"
	export TG_NET_STS_ID=20240101T000000
	export TG_NET_RPT_URL="https://mta-sts.sts.test/tlsrpt"
	local d=$TG_NET_KNOT_DIR
	mkdir -p "$d/run" "$d/db" "$d/zones" "$d/ds" "$TG_NET_UNBOUND_DIR" || return 1
	TG_NET_TSIG_SECRET=$(openssl rand -base64 32) || return 1
	export TG_NET_TSIG_SECRET
	echo "$TG_NET_TSIG_ALG:$TG_NET_TSIG_NAME:$TG_NET_TSIG_SECRET" > "$TG_NET_TSIG_FILE"
	chmod 600 "$TG_NET_TSIG_FILE"
	_tgn_knot_conf || return 1
	_tgn_dns_keys >>"$d/keymgr.log" 2>&1 &
	TG_NET_KEYS_PID=$!
}

# One CSK per signed zone (generated before knotd starts, so the DS set of
# every child is known when the parent's zone file is written). keymgr
# spends its time waiting on the key database, not computing, so four
# lanes of zones run side by side (LMDB serialises the writers).
_tgn_dns_keys() {
	local z d=$TG_NET_KNOT_DIR lane i pids="" p rc=0
	for lane in 0 1 2 3; do
		i=0
		for z in $TG_NET_SIGNED_ZONES; do
			[ $((i++ % 4)) = "$lane" ] && echo "$z"
		done | _tgn_dns_keys_lane & pids="$pids $!"
	done
	for p in $pids; do wait "$p" || rc=1; done
	[ "$rc" = 0 ] || return 1
	cp "$d/ds/test.ds" "$TG_NET_TA_FILE" &&
	keymgr -c "$TG_NET_KNOT_CONF" test. dnskey > "$TG_NET_TA_DNSKEY_FILE" || return 1
	# The same anchor for BIND tools (delv -a FILE +root=test.).
	awk '$2 == "DS" { printf "trust-anchors { %s static-ds %s %s %s \"%s\"; };\n",
	    $1, $3, $4, $5, $6 }' "$TG_NET_TA_FILE" > "$TG_NET_TA_BIND_FILE"
}

_tgn_dns_keys_lane() {
	local z
	while read -r z; do
		keymgr -c "$TG_NET_KNOT_CONF" "$z" generate algorithm=ECDSAP256SHA256 \
		    ksk=yes zsk=yes >/dev/null &&
		keymgr -c "$TG_NET_KNOT_CONF" "$z" ds > "$TG_NET_KNOT_DIR/ds/${z}ds" ||
		    { echo "keymgr failed for $z"; return 1; }
	done
}

# Zone files (these need the keys and the certificates) and the resolver.
_tgn_dns_prepare() {
	local d=$TG_NET_KNOT_DIR z
	wait "$TG_NET_KEYS_PID" ||
	    { _tgn_log "keymgr failed (see $d/keymgr.log)"; return 1; }
	for z in $TG_NET_SIGNED_ZONES $TG_NET_UNSIGNED_ZONES; do
		{ _tgn_zone_head "$z" && _tgn_zone_body "$z"; } > "$d/zones/${z}zone" ||
		    { _tgn_log "zone $z failed"; return 1; }
	done
	_tgn_unbound_conf
	printf 'nameserver %s\noptions trust-ad edns0 timeout:3 attempts:2\n' \
	    "$TG_NET_RESOLVER_ADDR" > "$TG_NET_RESOLV_CONF"
}

_tgn_unbound_conf() {
	local d=$TG_NET_UNBOUND_DIR
	cat > "$TG_NET_UNBOUND_CONF" <<CONF
server:
    verbosity: 1
    interface: $TG_NET_RESOLVER_ADDR@$TG_NET_RESOLVER_PORT
    do-ip6: no
    num-threads: 1
    username: ""
    chroot: ""
    directory: "$d"
    pidfile: "$d/unbound.pid"
    logfile: "$d/unbound.log"
    use-syslog: no
    log-time-ascii: yes
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "validator iterator"
    trust-anchor-file: "$TG_NET_TA_FILE"
    # test. is a special-use name that Unbound answers itself by default.
    local-zone: "test." nodefault
    val-log-level: 2
    aggressive-nsec: no
    cache-max-negative-ttl: 5
    serve-expired: no
    prefetch: no
remote-control:
    control-enable: yes
    control-interface: "$d/control.sock"
    control-use-cert: no
stub-zone:
    name: "test."
    stub-addr: $TG_NET_DNS_ADDR@$TG_NET_DNS_PORT
CONF
}

_tgn_dns_start() {
	knotd -c "$TG_NET_KNOT_CONF" -d >>"$TG_NET_KNOT_DIR/knotd.out" 2>&1 ||
	    { _tgn_log "knotd did not start (see $TG_NET_KNOT_DIR/knot.log)"; return 1; }
	unbound -c "$TG_NET_UNBOUND_CONF" >>"$TG_NET_UNBOUND_DIR/unbound.out" 2>&1 ||
	    { _tgn_log "unbound did not start (see $TG_NET_UNBOUND_DIR)"; return 1; }
	if [ "${TG_ISOLATED:-0}" = 1 ] && [ ! -e "$TG_NET_DIR/.resolv-mounted" ]; then
		mount --bind "$TG_NET_RESOLV_CONF" /etc/resolv.conf &&
		    : > "$TG_NET_DIR/.resolv-mounted" ||
		    { _tgn_log "bind mount of resolv.conf failed"; return 1; }
	fi
}

# A signed zone is ready when its SOA comes with an RRSIG.
_tgn_zone_served() {
	local out
	out=$(kdig @"$TG_NET_DNS_ADDR" -p "$TG_NET_DNS_PORT" +dnssec +norec \
	    +time=1 +retry=0 "$1" SOA 2>/dev/null) || return 1
	printf '%s' "$out" | grep -q 'status: NOERROR' || return 1
	[ "$2" = unsigned ] && return 0
	printf '%s' "$out" | grep -qE "^$1[[:space:]].*RRSIG[[:space:]]+SOA"
}

_tgn_secure_soa() {
	dig @"$TG_NET_RESOLVER_ADDR" -p "$TG_NET_RESOLVER_PORT" +dnssec +time=2 \
	    +tries=1 test. SOA 2>/dev/null | grep -qE 'flags:[^;]* ad[ ;]'
}

_tgn_dns_ready() {
	local z
	for z in $TG_NET_SIGNED_ZONES; do
		_tgn_wait 10 _tgn_zone_served "$z" signed ||
		    { _tgn_log "knot does not serve signed $z"; return 1; }
	done
	for z in $TG_NET_UNSIGNED_ZONES; do
		_tgn_wait 10 _tgn_zone_served "$z" unsigned ||
		    { _tgn_log "knot does not serve $z"; return 1; }
	done
	_tgn_wait 10 _tgn_secure_soa ||
	    { _tgn_log "unbound does not validate test. SOA"; return 1; }
}

_tgn_dns_stop() {
	[ -n "${TG_NET_KNOT_DIR:-}" ] || return 0
	if [ -e "$TG_NET_DIR/.resolv-mounted" ]; then
		umount /etc/resolv.conf 2>/dev/null
		rm -f "$TG_NET_DIR/.resolv-mounted"
	fi
	_tgn_kill_pidfile "$TG_NET_UNBOUND_DIR/unbound.pid"
	_tgn_kill_pidfile "$TG_NET_KNOT_DIR/run/knot.pid"
}

# tg_net_flush [ZONE] — drop what the lab Unbound has cached (for ZONE and
# below, default test.), so the next answer comes from Knot.
tg_net_flush() {
	local z=${1:-test.}
	unbound-control -c "$TG_NET_UNBOUND_CONF" flush_zone "$z" >/dev/null &&
	unbound-control -c "$TG_NET_UNBOUND_CONF" flush_bogus >/dev/null &&
	unbound-control -c "$TG_NET_UNBOUND_CONF" flush_negative >/dev/null
}

# tg_net_update ZONE LINE... — one RFC 2136 update of ZONE, signed with the
# lab TSIG key; each LINE is a knsupdate command such as
#   "update add x.dane-ok.test. 60 TXT \"hello\""  or
#   "update delete _25._tcp.mx.dane-ok.test. TLSA".
# Knot applies and re-signs it before answering; then the lab Unbound's
# cache for ZONE is flushed. Returns knsupdate's status.
tg_net_update() {
	local z=$1 l; shift
	case "$z" in *.) ;; *) z="$z." ;; esac
	{
		echo "server $TG_NET_DNS_ADDR $TG_NET_DNS_PORT"
		echo "zone $z"
		echo "origin $z"
		for l in "$@"; do echo "$l"; done
		echo "send"
	} > "$TG_NET_DIR/update.txt"
	knsupdate -t 5 -k "$TG_NET_TSIG_FILE" "$TG_NET_DIR/update.txt" \
	    >>"$TG_NET_DIR/update.log" 2>&1 ||
	    { _tgn_log "update of $z failed (see $TG_NET_DIR/update.log)"; return 1; }
	tg_net_flush "$z"
}
