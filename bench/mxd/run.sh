#!/bin/bash
# bench/mxd/run.sh — tlsgate-mxd against Postfix configured as the same
# inbound MX, in the same run on the same machine (BENCH.md).
#
# Both MXs take mail for the hosted domain gw.test on port 25 from
# Postfix's smtp-source (50 sessions, one message per session, 1 KB and
# 100 KB messages), verify the recipient with the internal server before
# they answer RCPT (mxd: mx.verify_recipients, its in-memory cache;
# Postfix: reject_unverified_recipient, its verify(8) cache), write the
# message durably before the 250, and hand it to the internal server —
# tls_sink (bench/relay/tls_sink.c) on 127.0.7.1, with STARTTLS — with
# opportunistic TLS (mxd: mx.route_tls = may; Postfix:
# smtp_tls_security_level = may, a TLS session cache).
#
# Per run, as bench/relay: messages/s from the first connection of
# smtp-source until the sink has counted every message; CPU ms per
# message of the MX's processes; peak PSS and RSS. RUNS runs of each
# (default 5), alternating; medians, min–max, ratio mxd / Postfix.
#
# Runs as root in its own network, mount and PID namespaces with the lab
# DNS of tests/net. Work files under $BUILD/bench-mxd.
#
#   bench/mxd/run.sh       (BUILD=build RUNS=5 N1K=2000 N100K=400)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/bench/lib.sh"
bench_enter mxd tlsgate-mxd "$@"

SINK_ADDR=127.0.7.1
MXD_ADDR=$TG_NET_GW_MX_ADDR	# 127.0.5.1, mx.gw.test
POSTFIX_ADDR=127.0.5.4
RCPT=user@gw.test

# ---- the lab, the internal server ------------------------------------------------
tg_net_up dns >/dev/null || die "lab network did not come up"
ip addr add "$SINK_ADDR/32" dev lo
ip addr add "$POSTFIX_ADDR/32" dev lo
cc -O2 -Wall -o "$T/tls_sink" "$TOP/bench/relay/tls_sink.c" \
    $(pkg-config --cflags --libs libevent libevent_openssl openssl) ||
    die "cannot build the sink"
"$T/tls_sink" -l "$SINK_ADDR:25" -c "$TG_NET_CERT_DIR/mx.dane-ok.test.pem" \
    -o "$T/sink.count" -n internal.gw.test > "$T/sink.log" 2>&1 &
wait_port "$SINK_ADDR" 25 10 || die "the sink does not listen"
sink_count() { cat "$T/sink.count" 2>/dev/null || echo 0; }

# ---- mxd ------------------------------------------------------------------------
M="$T/mxd"
mkdir -p "$M/state" "$M/spool" "$M/run"
cat > "$M/tlsgate.conf" <<CONF
state_dir = $M/state
spool_dir = $M/spool
run_dir = $M/run
user = ""
relay.hostname = $TG_NET_GW_MX_NAME
mx.listen = $MXD_ADDR:25
mx.verify_recipients = yes
mx.route_tls = may
CONF
cat "$TG_NET_CONF" >> "$M/tlsgate.conf"
tgc() { "$BUILD/bin/tlsgate" -c "$M/tlsgate.conf" "$@"; }
tgc init >/dev/null && tgc domain add gw.test --route "$SINK_ADDR:25" \
    >/dev/null || die "mxd store set-up failed"
"$BUILD/bin/tlsgate-mxd" -f -c "$M/tlsgate.conf" > "$M/mxd.log" 2>&1 &
MXD_PID=$!
wait_port "$MXD_ADDR" 25 15 || die "mxd does not listen"

# ---- Postfix as the same MX (tests/net/postfix.sh's instance helpers) ------------
bench_postfix pmx "$POSTFIX_ADDR" <<MAIN
myhostname = pmx.gw.test
inet_interfaces = $POSTFIX_ADDR
relay_domains = gw.test
transport_maps = inline:{ gw.test=smtp:[$SINK_ADDR]:25 }
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = reject_unverified_recipient
local_transport = error:local delivery is disabled
smtpd_tls_security_level = may
smtpd_tls_chain_files = $TG_NET_CERT_DIR/mx.dane-ok.test.pem
smtp_tls_security_level = may
smtp_tls_session_cache_database = btree:\${data_directory}/smtp_scache
default_process_limit = 200
MAIN

# run KIND SIZE N — one measured run of mxd or Postfix.
run() {
	case "$1" in
	mxd) bench_run mxd "$MXD_ADDR" "$MXD_PID" "$2" "$3" \
	    -f sender@outside.test -t "$RCPT" ;;
	postfix) bench_run postfix "$POSTFIX_ADDR" "$POSTFIX_PID" "$2" "$3" \
	    -f sender@outside.test -t "$RCPT" ;;
	esac
}

bench_warmup mxd postfix

bench_runs mxd postfix

echo
echo "mxd benchmark: $SESSIONS sessions, runs=$RUNS, $(nproc) CPUs, $(uname -r)"
bench_report mxd postfix
echo "mxd recipient probes: $(grep -c 'event=rcpt-verify' "$M/mxd.log")"
echo "Postfix recipient probes: $(grep -c 'status=deliverable' "$P/maillog")"
kill "$MXD_PID" 2>/dev/null
_tgn_postfix_stop pmx
tg_net_down >/dev/null 2>&1
