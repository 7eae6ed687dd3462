#!/bin/bash
# bench/relay/run.sh — tlsgate-relayd against Postfix configured as the
# same relay, in the same run on the same machine (BENCH.md).
#
# Both relays take mail on port 25 from Postfix's smtp-source (50
# sessions, one message per session, 1 KB and 100 KB messages), write it
# durably before the 250 (relayd: fsync'd spool objects with group commit;
# Postfix: its queue file, fsync'd by cleanup — its default), and deliver
# it under DANE (relayd: the TLSA is secure, so DANE is required; Postfix:
# smtp_tls_security_level = dane, smtp_dns_support_level = dnssec, a TLS
# session cache) to the same next hop: mx.dane-ok.test of the lab network,
# pointed at tls_sink (bench/relay/tls_sink.c), a STARTTLS sink with
# mx.dane-ok.test's certificate, whose TLSA 3 1 1 is published. Both use
# 20 connections per destination (Postfix's default_destination_
# concurrency_limit; relay.destination_concurrency) and reuse them.
#
# Per run: messages/s from the first connection of smtp-source until the
# sink has counted every message (queue to queue, end to end); CPU
# seconds per message of the relay's processes (relayd; Postfix's master
# and every child, reaped ones included); peak memory: the largest sum of
# PSS (and of RSS) over the relay's processes, sampled every 200 ms. RUNS
# runs of each (default 5), alternating relays; prints the median and
# min–max of each figure, and the ratio relayd/Postfix of the medians.
#
# Runs as root in its own network, mount and PID namespaces, like
# tests/harness.sh, with the lab network of tests/net (Knot, Unbound, the
# lab CA). Work files under $BUILD/bench-relay (on the disk, not tmpfs:
# fsync is what a durable relay pays).
#
#   bench/relay/run.sh       (BUILD=build RUNS=5 N1K=2000 N100K=400)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/bench/lib.sh"
bench_enter relay tlsgate-relayd "$@"

SINK_ADDR=127.0.7.1
RELAYD_ADDR=$TG_NET_GW_RELAY_ADDR	# 127.0.5.3
POSTFIX_ADDR=127.0.5.4
RCPT=user@dane-ok.test

# ---- the lab, the sink behind mx.dane-ok.test --------------------------------
tg_net_up dns >/dev/null || die "lab network did not come up"
ip addr add "$SINK_ADDR/32" dev lo
ip addr add "$POSTFIX_ADDR/32" dev lo
cc -O2 -Wall -o "$T/tls_sink" "$TOP/bench/relay/tls_sink.c" \
    $(pkg-config --cflags --libs libevent libevent_openssl openssl) ||
    die "cannot build the sink"
"$T/tls_sink" -l "$SINK_ADDR:25" -c "$TG_NET_CERT_DIR/mx.dane-ok.test.pem" \
    -o "$T/sink.count" -n mx.dane-ok.test > "$T/sink.log" 2>&1 &
wait_port "$SINK_ADDR" 25 10 || die "the sink does not listen"
tg_net_update dane-ok.test "update delete mx.dane-ok.test. A" \
    "update add mx.dane-ok.test. 60 A $SINK_ADDR" || die "DNS update failed"
sink_count() { cat "$T/sink.count" 2>/dev/null || echo 0; }

# ---- relayd -------------------------------------------------------------------
R="$T/relayd"
mkdir -p "$R/state" "$R/spool" "$R/run"
cat > "$R/tlsgate.conf" <<CONF
state_dir = $R/state
spool_dir = $R/spool
run_dir = $R/run
user = ""
relay.hostname = relay.gw.test
relay.listen = $RELAYD_ADDR:25
CONF
cat "$TG_NET_CONF" >> "$R/tlsgate.conf"
tgc() { "$BUILD/bin/tlsgate" -c "$R/tlsgate.conf" "$@"; }
tgc init >/dev/null && tgc relay allow 127.0.0.0/8 >/dev/null ||
    die "relayd store set-up failed"
"$BUILD/bin/tlsgate-relayd" -f -c "$R/tlsgate.conf" > "$R/relayd.log" 2>&1 &
RELAYD_PID=$!
wait_port "$RELAYD_ADDR" 25 15 || die "relayd does not listen"

# ---- Postfix as the same relay (tests/net/postfix.sh's instance helpers) ---------
bench_postfix prelay "$POSTFIX_ADDR" <<MAIN
myhostname = prelay.gw.test
inet_interfaces = $POSTFIX_ADDR
relay_domains = dane-ok.test
smtpd_relay_restrictions = permit_mynetworks, reject
local_transport = error:local delivery is disabled
smtpd_tls_security_level = none
smtp_tls_security_level = dane
smtp_dns_support_level = dnssec
smtp_host_lookup = dns
smtp_address_preference = ipv4
smtp_tls_CAfile = $TG_NET_CA_CERT
smtp_tls_session_cache_database = btree:\${data_directory}/smtp_scache
default_process_limit = 200
MAIN

# ---- measuring -------------------------------------------------------------------

# run KIND SIZE N — one measured run of relayd or Postfix.
run() {
	case "$1" in
	relayd) bench_run relayd "$RELAYD_ADDR" "$RELAYD_PID" "$2" "$3" \
	    -f sender@insecure.test -t "$RCPT" ;;
	postfix) bench_run postfix "$POSTFIX_ADDR" "$POSTFIX_PID" "$2" "$3" \
	    -f sender@insecure.test -t "$RCPT" ;;
	esac
}

bench_warmup relayd postfix

bench_runs relayd postfix

# ---- report ------------------------------------------------------------------------
echo
echo "relay benchmark: $SESSIONS sessions, runs=$RUNS, $(nproc) CPUs, $(uname -r)"
bench_report relayd postfix
echo "relayd deliveries logged as DANE-verified: $(grep -c 'verify="dane verified" result=delivered' "$R/relayd.log")"
echo "Postfix deliveries logged as Verified TLS: $(grep -c 'Verified TLS connection established' "$P/maillog")"
kill "$RELAYD_PID" 2>/dev/null
_tgn_postfix_stop prelay
tg_net_down >/dev/null 2>&1
