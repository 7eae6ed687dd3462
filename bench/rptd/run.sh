#!/bin/bash
# bench/rptd/run.sh — how fast tlsgate-rptd takes in TLS-RPT reports, and
# how much memory it needs doing so, against bare libmicrohttpd accepting
# and discarding the same POSTs, in the same run (shared/BENCH.md: ratios
# against a same-run reference, median of >= 5 runs with min-max).
#
#   bench/rptd/run.sh            RUNS=5 N=2000 C=50 KB=10 by default
#
# Each run: a fresh state directory (tlsgate init: a self-signed
# certificate; receiver.example hosted), the server under /usr/bin/time -v
# (peak RSS), post_driver sending N distinct ~KB KiB gzip reports over C
# concurrent keep-alive HTTPS connections from SOURCES loopback addresses
# (rptd's per-address connection limit is net/http's TG_HTTP_PER_IP_MAX,
# and a collector hears from many senders). rptd checks, inflates, parses,
# validates and stores every one (sqlite, synchronous=FULL: one fsync'd
# transaction per report); bare_mhd reads and drops them.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
RUNS=${RUNS:-5} N=${N:-2000} C=${C:-50} KB=${KB:-10} SOURCES=${SOURCES:-25}
ADDR=127.0.0.1 PORT=18443 NAME=bench.example.net
OUT=$BUILD/bench/rptd
W=$(mktemp -d /tmp/tg-bench-rptd.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$OUT"

PKG_LIBS=$(pkg-config --libs libcurl zlib libmicrohttpd)
cc -O2 -Wall -o "$OUT/post_driver" "$TOP/bench/rptd/post_driver.c" \
    $PKG_LIBS || exit 1
cc -O2 -Wall -o "$OUT/bare_mhd" "$TOP/bench/rptd/bare_mhd.c" \
    $PKG_LIBS || exit 1
[ -x "$BUILD/bin/tlsgate-rptd" ] || { echo "build tlsgate first" >&2; exit 1; }

wait_port() {
	local i
	for i in $(seq 100); do
		ss -Hltn 2>/dev/null | awk '{ print $4 }' |
		    grep -qxF "$ADDR:$PORT" && return 0
		sleep 0.1
	done
	return 1
}

# setup RUN — a fresh state directory and config; sets CONF and CERT.
setup() {
	local d=$W/run$1
	mkdir -p "$d/state" "$d/run"
	CONF=$d/tlsgate.conf
	cat > "$CONF" <<CONF
state_dir = $d/state
spool_dir = $d/spool
run_dir = $d/run
user = ""
log.level = warn
relay.hostname = $NAME
rpt.listen = $ADDR:$PORT
rpt.rate_limit = 100000
CONF
	"$BUILD/bin/tlsgate" -c "$CONF" init >/dev/null &&
	"$BUILD/bin/tlsgate" -c "$CONF" domain add receiver.example \
	    >/dev/null || exit 1
	CERT=$(ls "$d"/state/certs/*.pem | head -1)
	KEY=$(ls "$d"/state/keys/*.key | head -1)
}

# one KIND RUN — start the server, drive it, stop it; prints
# "rate peak_kb ok/sent".
one() {
	local kind=$1 run=$2 tpid pid res rss
	setup "$kind$run"
	if [ "$kind" = rptd ]; then
		/usr/bin/time -v -o "$W/time" "$BUILD/bin/tlsgate-rptd" -f \
		    -c "$CONF" 2>"$W/server.log" &
	else
		/usr/bin/time -v -o "$W/time" "$OUT/bare_mhd" "$ADDR" "$PORT" \
		    "$CERT" "$KEY" 2>"$W/server.log" &
	fi
	tpid=$!
	wait_port || { echo "$kind did not start" >&2; cat "$W/server.log" >&2; exit 1; }
	res=$("$OUT/post_driver" "https://$NAME:$PORT/tlsrpt" "$CERT" \
	    "$NAME:$PORT:$ADDR" "$N" "$C" "$KB" "bench-$kind-$run" "$SOURCES")
	pid=$(pgrep -P "$tpid" | head -1)
	kill -TERM "$pid"
	wait "$tpid"
	rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$W/time")
	# CPU the server used (user + system) per report, microseconds.
	awk -F': ' -v n="$N" '/User time|System time/ { t += $2 }
	    END { printf "%.0f\n", t * 1e6 / n }' "$W/time" >> "$W/$kind.cpu"
	echo "$res" >> "$W/$kind.details"
	echo "$(sed -E 's/.*rate=([0-9.]+).*/\1/' <<<"$res") $rss \
	    $(sed -E 's/.*ok=([0-9]+).*sent=.*|.*/\1/' <<<"$res")"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
minmax() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }

for run in $(seq "$RUNS"); do
	for kind in bare rptd; do
		read -r rate rss _ <<<"$(one "$kind" "$run")"
		echo "$rate" >> "$W/$kind.rate"
		echo "$rss" >> "$W/$kind.rss"
		printf 'run %d %-5s %8.1f reports/s  peak %6d KiB\n' "$run" \
		    "$kind" "$rate" "$rss"
	done
done
echo
grep -h . "$W"/bare.details | head -1 | sed 's/^/bare example: /'
grep -h . "$W"/rptd.details | head -1 | sed 's/^/rptd example: /'
for kind in bare rptd; do
	printf '%-5s median %8.1f reports/s (min-max %s), peak RSS median %d KiB (%s), server CPU %s us/report\n' \
	    "$kind" "$(median < "$W/$kind.rate")" "$(minmax < "$W/$kind.rate")" \
	    "$(median < "$W/$kind.rss")" "$(minmax < "$W/$kind.rss")" \
	    "$(median < "$W/$kind.cpu")"
done
awk -v a="$(median < "$W/rptd.rate")" -v b="$(median < "$W/bare.rate")" \
    -v m="$(median < "$W/rptd.rss")" -v n="$(median < "$W/bare.rss")" \
    -v N="$N" -v C="$C" -v KB="$KB" \
    'BEGIN { printf "ratio rptd/bare: rate %.3f, peak memory %.2f (N=%s, C=%s, %s KiB gzip each)\n", a / b, m / n, N, C, KB }'
