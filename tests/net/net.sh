# tests/net/net.sh — the lab network for integration tests.
#
# Sourced by a test (after tests/lib.sh). It owns every peer a test talks
# to: an authoritative Knot server with a signed zone tree under "test.",
# a validating Unbound resolver, a lab CA, receiving Postfix MX hosts, a
# DANE-enforcing Postfix sender, nginx serving an MTA-STS policy, pebble
# (ACME) and a server that stalls in the middle of STARTTLS. Everything
# lives under $T/net and listens on 127.0.0.0/8 only.
#
#   tg_net_up [dns] [ca] [mx] [sender] [nginx] [pebble]   (default: all)
#   tg_net_conf                 (a config for the lab: its path)
#   tg_net_down
#   tg_net_update ZONE "update add NAME TTL TYPE RDATA" ...
#
# The address map, the zones and the exported variables are described in
# tests/net/README.md. Functions whose names start with _tgn_ are internal.

TG_NET_LIB=${TOP:?}/tests/net
TG_NET_DIR=${T:?}/net
TG_NET_PIECES=""
export TG_NET_DIR

# Addresses and ports (fixed; every one is in 127.0.0.0/8).
export TG_NET_DNS_ADDR=127.0.0.53 TG_NET_DNS_PORT=53
export TG_NET_RESOLVER_ADDR=127.0.0.54 TG_NET_RESOLVER_PORT=53
export TG_NET_STS_ADDR=127.0.2.1 TG_NET_STS_PORT=443
export TG_NET_RPT_BACKEND_PORT=8081
export TG_NET_PEBBLE_ADDR=127.0.3.1 TG_NET_PEBBLE_PORT=14000
export TG_NET_PEBBLE_MGMT_PORT=15000
export TG_NET_ACME_NAME=acme.test TG_NET_ACME_ADDR=127.0.3.2
export TG_NET_SENDER_NAME=sender.test TG_NET_SENDER_ADDR=127.0.4.1
# 127.0.5.0/24 is tlsgate's: the lab never listens there. gw.test (signed,
# no TLSA, no MTA-STS: tlsgate publishes them) points at these two.
export TG_NET_GW_DOMAIN=gw.test
export TG_NET_GW_MX_NAME=mx.gw.test TG_NET_GW_MX_ADDR=127.0.5.1
export TG_NET_GW_STS_NAME=mta-sts.gw.test TG_NET_GW_STS_ADDR=127.0.5.2
export TG_NET_GW_RELAY_ADDR=127.0.5.3

# The MX hosts: name, address, what listens there, certificate kind.
#   listen: pf = receiving Postfix with STARTTLS, pf-notls = Postfix
#           without STARTTLS, stall = tests/net/stall.py, none = nothing
#   cert:   leaf = lab CA leaf for the name, chain = leaf + lab root sent
#           in the chain, expired = leaf that expired, wrong = lab leaf
#           for another name (+ root in the chain)
TG_NET_HOSTS="
mx.dane-ok.test        127.0.1.1  pf       leaf
mx.dane-bad.test       127.0.1.2  pf       leaf
mx.insecure.test       127.0.1.3  pf       leaf
mx.bogus.test          127.0.1.4  pf       leaf
mx.sts.test            127.0.1.5  pf       leaf
mx.cname-target.test   127.0.1.6  pf       leaf
mx1.twomx.test         127.0.1.7  none     leaf
mx2.twomx.test         127.0.1.8  pf       leaf
mx.nostarttls.test     127.0.1.9  pf-notls leaf
mx.stall.test          127.0.1.10 stall    leaf
mx.expired-ee.test     127.0.1.11 pf       expired
mx.ta-wrongname.test   127.0.1.12 pf       wrong
mx.ta-ok.test          127.0.1.13 pf       chain
mx.gw.test             127.0.5.1  none     leaf
"

# Per-host variables: TG_NET_IP_<NAME> with dots and dashes as "_",
# e.g. TG_NET_IP_MX_DANE_OK_TEST=127.0.1.1.
_tgn_var() { printf 'TG_NET_IP_%s' "$(printf '%s' "$1" | tr 'a-z.-' 'A-Z__')"; }
while read -r _h _a _l _c; do
	[ -n "$_h" ] || continue
	export "$(_tgn_var "$_h")=$_a"
done <<< "$TG_NET_HOSTS"
unset _h _a _l _c

# tg_net_addr HOST — print the lab address of a host name.
tg_net_addr() {
	local h a
	while read -r h a _; do
		[ "$h" = "$1" ] && { echo "$a"; return 0; }
	done <<< "$TG_NET_HOSTS"
	case "$1" in
	mta-sts.sts.test) echo "$TG_NET_STS_ADDR" ;;
	"$TG_NET_ACME_NAME") echo "$TG_NET_ACME_ADDR" ;;
	pebble.test) echo "$TG_NET_PEBBLE_ADDR" ;;
	"$TG_NET_SENDER_NAME") echo "$TG_NET_SENDER_ADDR" ;;
	"$TG_NET_GW_STS_NAME") echo "$TG_NET_GW_STS_ADDR" ;;
	ns.test) echo "$TG_NET_DNS_ADDR" ;;
	*) return 1 ;;
	esac
}

_tgn_log() { echo "# net: $*" >&2; }

# tg_net_available — the lab can run here (root, inside the harness's
# network, mount and PID namespaces). Tests skip when it cannot.
tg_net_available() { [ "${TG_ISOLATED:-0}" = 1 ] && [ "$(id -u)" = 0 ]; }
_tgn_has() { case " $TG_NET_PIECES " in *" $1 "*) return 0 ;; esac; return 1; }

# _tgn_wait SECONDS command... — bounded retry (10 tries a second).
_tgn_wait() {
	local limit=$1 i=0; shift
	while [ "$i" -lt $((limit * 10)) ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# _tgn_listening ADDR:PORT... — every one has a listening TCP socket (asked
# of the kernel, so the daemons' logs see no probe connections).
_tgn_listening() {
	local have ap
	have=$(ss -Hltn 2>/dev/null | awk '{ print $4 }') || return 1
	for ap in "$@"; do
		grep -qxF "$ap" <<< "$have" || return 1
	done
}

# _tgn_kill_pidfile FILE [SECONDS] — TERM the process, wait (bounded), KILL.
_tgn_kill_pidfile() {
	local f=$1 pid i=0
	[ -s "$f" ] || return 0
	pid=$(head -n1 "$f" | tr -dc '0-9')
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt $(( ${2:-5} * 10 )) ]; do
		sleep 0.1; i=$((i + 1))
	done
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	return 0
}

. "$TG_NET_LIB/ca.sh"
. "$TG_NET_LIB/dns.sh"
. "$TG_NET_LIB/postfix.sh"
. "$TG_NET_LIB/web.sh"

# tg_net_up [PIECE...] — start the named pieces (default: all), pulling in
# what they depend on; returns non-zero (with "# net:" lines on stderr)
# when a piece does not come up. Pieces already up are left alone.
tg_net_up() {
	local want=" ${*:-dns ca mx sender nginx pebble} " p need=""
	if ! tg_net_available; then
		_tgn_log "the lab network needs root and the harness's namespaces"
		return 2
	fi
	for p in $want; do
		case "$p" in
		ca) need="$need ca" ;;
		dns) need="$need ca dns" ;;
		mx | sender) need="$need ca dns $p" ;;
		nginx | pebble) need="$need ca dns $p" ;;
		*) _tgn_log "unknown piece '$p'"; return 2 ;;
		esac
	done
	mkdir -p "$TG_NET_DIR" || return 1
	# Postfix's daemons (user postfix) and nginx's worker (nobody) must be
	# able to pass through $T, which mktemp made 0700.
	chmod go+x "$T" "$TG_NET_DIR" || return 1
	_tgn_addrs_up || return 1
	local t0 ms; t0=$(date +%s%N)
	_tgn_up_pieces "$need" || return 1
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	export TG_NET_SETUP_MS=$ms
	_tgn_log "up:$TG_NET_PIECES in $((ms / 1000)).$(printf '%03d' $((ms % 1000)))s"
}

# Every lab address is put on the namespace's own lo: the /8 route already
# makes them reachable, but Postfix (inet_interfaces) insists that an
# address it binds is configured on an interface.
_tgn_addrs_up() {
	local h a
	{
		for a in "$TG_NET_DNS_ADDR" "$TG_NET_RESOLVER_ADDR" "$TG_NET_STS_ADDR" \
		    "$TG_NET_PEBBLE_ADDR" "$TG_NET_ACME_ADDR" "$TG_NET_SENDER_ADDR" \
		    "$TG_NET_GW_STS_ADDR" "$TG_NET_GW_RELAY_ADDR"; do
			echo "address replace $a/32 dev lo"
		done
		while read -r h a _; do
			[ -n "$h" ] && echo "address replace $a/32 dev lo"
		done <<< "$TG_NET_HOSTS"
	} | ip -batch - || { _tgn_log "cannot add the lab addresses to lo"; return 1; }
}

# Start in an order that overlaps the slow parts: DNS keys are made while
# the CA works, daemons that need only certificates start before the zones
# are written, and every piece is waited for at the end.
_tgn_up_pieces() {
	local need=" $1 " p rc=0 start=""
	for p in dns mx sender nginx pebble; do
		[[ $need == *" $p "* ]] && ! _tgn_has "$p" && start="$start $p"
	done
	start="$start "
	if [[ $start == *" dns "* ]]; then
		_tgn_dns_keys_start || return 1
	fi
	if [[ $need == *" ca "* ]] && ! _tgn_has ca; then
		_tgn_ca_up || return 1
		TG_NET_PIECES="$TG_NET_PIECES ca"
	fi
	if [[ $start == *" mx "* ]]; then _tgn_mx_start || return 1; fi
	if [[ $start == *" sender "* ]]; then _tgn_sender_start || return 1; fi
	if [[ $start == *" nginx "* ]]; then _tgn_nginx_start || return 1; fi
	if [[ $start == *" pebble "* ]]; then _tgn_pebble_start || return 1; fi
	if [[ $start == *" dns "* ]]; then
		_tgn_dns_prepare && _tgn_dns_start || return 1
	fi
	# Now wait for each started piece to answer.
	for p in $start; do
		"_tgn_${p}_ready" || rc=1
		TG_NET_PIECES="$TG_NET_PIECES $p"
		[ "$p" = dns ] && _tgn_write_conf
	done
	return "$rc"
}

# The fragment of tlsgate configuration that points our programs at the lab.
_tgn_write_conf() {
	export TG_NET_CONF="$TG_NET_DIR/tlsgate-net.conf"
	cat > "$TG_NET_CONF" <<CONF
dns.trust_anchor_file = $TG_NET_TA_FILE
dns.stub = test.=$TG_NET_DNS_ADDR@$TG_NET_DNS_PORT
sts.ca_file = $TG_NET_CA_CERT
sts.allow_private_addresses = yes
CONF
}

# tg_net_conf — a config for a test against the lab (after tg_net_up with
# dns): tg_write_conf's, the fragment above, run_dir under $T, no service
# user, relay.hostname the gateway's MX name; prints its path (a test
# appends its own keys).
tg_net_conf() {
	local c
	c=$(tg_write_conf) || return 1
	cat "$TG_NET_CONF" >> "$c"
	printf 'run_dir = %s/run\nuser = ""\nrelay.hostname = %s\n' "$T" \
	    "$TG_NET_GW_MX_NAME" >> "$c"
	echo "$c"
}

# tg_net_down — stop every daemon the lab started and undo the resolv.conf
# bind mount. State under $T/net stays for inspection.
# Every piece is stopped whether or not it came up fully.
tg_net_down() {
	_tgn_pebble_stop
	_tgn_nginx_stop
	_tgn_postfix_stop sender
	_tgn_mx_stop
	_tgn_dns_stop
	TG_NET_PIECES=""
	return 0
}
