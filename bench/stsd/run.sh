#!/bin/bash
# bench/stsd/run.sh — tlsgate-stsd against nginx serving the same MTA-STS
# policy with the same certificate (ECDSA P-256, self-signed by stsd at
# first use), HTTPS TLS 1.3, measured with wrk (2 threads, 50 connections,
# 10 s): keep-alive, and a new connection per request ("Connection: close",
# so every request pays a TLS handshake; wrk resumes its TLS session with
# the ticket it got, as real clients do, so these are resumed handshakes
# on both servers). RUNS runs each (default 5),
# alternating servers; prints median, min-max and the ratio stsd/nginx.
#
# Both servers get one thread of their own: stsd's HTTPS server runs one
# libmicrohttpd thread (net/http), nginx runs worker_processes 1. wrk's
# two threads share the machine with them.
#
# Runs as root in its own network, mount and PID namespaces (as
# tests/harness.sh does): everything listens on 127.0.7.0/24, the names
# resolve through a bind-mounted /etc/hosts.
#
#   bench/stsd/run.sh            (BUILD=build, RUNS=5, DURATION=10s)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
RUNS=${RUNS:-5}
DURATION=${DURATION:-10s}

if [ "${STSD_BENCH_INNER:-0}" != 1 ]; then
	[ "$(id -u)" = 0 ] || { echo "run as root (namespaces)" >&2; exit 2; }
	for p in wrk nginx curl; do
		command -v $p >/dev/null || { echo "needs $p" >&2; exit 2; }
	done
	[ -x "$BUILD/bin/tlsgate-stsd" ] || { echo "build first (make)" >&2; exit 2; }
	export STSD_BENCH_INNER=1 TOP BUILD RUNS DURATION
	exec unshare --net --mount --pid --fork --kill-child --mount-proc \
	    bash "$0" "$@"
fi

ip link set lo up
W=$(mktemp -d /tmp/stsd-bench.XXXXXX)
chmod 755 "$W"
trap 'kill $(cat "$W"/*.pid 2>/dev/null) 2>/dev/null; rm -rf "$W"' EXIT
STS_ADDR=127.0.7.1 NGX_ADDR=127.0.7.2 DOMAIN=bench.test
HOST=mta-sts.$DOMAIN
PATH_=/.well-known/mta-sts.txt

# ---- stsd ----
mkdir -p "$W/state" "$W/spool" "$W/run"
cat > "$W/tlsgate.conf" <<CONF
state_dir = $W/state
spool_dir = $W/spool
run_dir = $W/run
user = ""
relay.hostname = mx.$DOMAIN
sts.listen = $STS_ADDR:443
log.level = warn
sts.max_connections_per_address = 1024
dns.timeout = 1
CONF
tg() { "$BUILD/bin/tlsgate" -c "$W/tlsgate.conf" "$@"; }
tg init >/dev/null && tg domain add $DOMAIN >/dev/null &&
    tg sts set $DOMAIN --mode testing --mx mx.$DOMAIN --max-age 604800 \
    >/dev/null 2>&1 || { echo "store set-up failed" >&2; exit 1; }
"$BUILD/bin/tlsgate-stsd" -f -c "$W/tlsgate.conf" >"$W/stsd.log" 2>&1 &
echo $! > "$W/stsd.pid"
cert=""
for _ in $(seq 50); do
	cert=$(ls "$W"/state/certs/$HOST-*.pem 2>/dev/null | head -1)
	[ -n "$cert" ] && curl -sf --cacert "$cert" --resolve "$HOST:443:$STS_ADDR" \
	    -o "$W/policy.txt" "https://$HOST$PATH_" && break
	sleep 0.1
done
[ -s "$W/policy.txt" ] || { echo "stsd does not serve" >&2; cat "$W/stsd.log"; exit 1; }
key=$(ls "$W"/state/keys/$HOST-*.key | head -1)

# ---- nginx: the same certificate, key and body ----
mkdir -p "$W/nginx/html/.well-known" "$W/nginx/tmp"
cp "$W/policy.txt" "$W/nginx/html/.well-known/mta-sts.txt"
cp "$cert" "$W/nginx/cert.pem"
cp "$key" "$W/nginx/key.pem"
chmod -R a+rX "$W/nginx"
cat > "$W/nginx/nginx.conf" <<CONF
daemon on;
worker_processes 1;
pid $W/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $W/nginx/tmp;
    proxy_temp_path $W/nginx/tmp;
    fastcgi_temp_path $W/nginx/tmp;
    uwsgi_temp_path $W/nginx/tmp;
    scgi_temp_path $W/nginx/tmp;
    keepalive_requests 1000000;
    server {
        listen $NGX_ADDR:443 ssl;
        server_name $HOST;
        ssl_certificate $W/nginx/cert.pem;
        ssl_certificate_key $W/nginx/key.pem;
        ssl_protocols TLSv1.3;
        root $W/nginx/html;
        location = $PATH_ { default_type text/plain; }
    }
}
CONF
nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" -e "$W/nginx/error.log" ||
    { echo "nginx did not start" >&2; exit 1; }

# wrk resolves the name through /etc/hosts; one name per server.
printf '%s %s\n' "$STS_ADDR" "$HOST" > "$W/hosts.sts"
printf '%s %s\n' "$NGX_ADDR" "$HOST" > "$W/hosts.ngx"
touch "$W/hosts"
mount --bind "$W/hosts" /etc/hosts
use_hosts() { cat "$W/hosts.$1" > "$W/hosts"; }

# Same bytes from both, over TLS 1.3, same certificate.
for s in sts ngx; do
	use_hosts $s
	curl -sf --cacert "$cert" --tlsv1.3 "https://$HOST$PATH_" -o "$W/got.$s" \
	    -w '%{http_version} %{content_type}\n' > "$W/proto.$s" ||
	    { echo "$s: fetch failed" >&2; exit 1; }
	cmp -s "$W/got.$s" "$W/policy.txt" || { echo "$s: other body" >&2; exit 1; }
done

# one_run SERVER MODE — requests/s of one wrk run
one_run() {
	local extra=()
	use_hosts "$1"
	[ "$2" = close ] && extra=(-H "Connection: close")
	local pid c0 c1
	pid=$(server_pid "$1")
	c0=$(cpu_ticks "$pid")
	/usr/bin/time -f "# wrk cpu: %U user %S sys" \
	    wrk -t2 -c50 -d"$DURATION" "${extra[@]}" "https://$HOST$PATH_" \
	    > "$W/wrk.out" 2>&1
	c1=$(cpu_ticks "$pid")
	echo "# server cpu: $(( c1 - c0 )) ticks" >> "$W/wrk.out"
	if [ -n "${BENCH_VERBOSE:-}" ] ||
	    grep -q "Non-2xx\|Socket errors" "$W/wrk.out"; then
		sed 's/^/# /' "$W/wrk.out" >&2
	fi
	awk '/^Requests\/sec:/ { print $2 }' "$W/wrk.out"
}

# The process that serves: stsd, or nginx's one worker.
server_pid() {
	if [ "$1" = sts ]; then cat "$W/stsd.pid"
	else pgrep -P "$(cat "$W/nginx.pid")" | head -1; fi
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# stats VALUES... — "median min max"
stats() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
	    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	          printf "%.0f %.0f %.0f\n", m, v[1], v[NR] }'
}

echo "stsd vs nginx $(nginx -v 2>&1 | sed 's/.*\///'): GET $PATH_ (${#PATH_} byte path," \
    "$(wc -c < "$W/policy.txt") byte body), TLS 1.3, ECDSA P-256," \
    "wrk -t2 -c50 -d$DURATION, $RUNS runs each, $(nproc) CPUs"
printf '%-18s %-22s %-22s %s\n' "mode" "stsd req/s" "nginx req/s" \
    "stsd/nginx"
for mode in keepalive close; do
	sts=() ngx=()
	for _ in $(seq "$RUNS"); do
		sts+=("$(one_run sts $mode)")
		ngx+=("$(one_run ngx $mode)")
	done
	read -r sm smin smax <<< "$(stats "${sts[@]}")"
	read -r nm nmin nmax <<< "$(stats "${ngx[@]}")"
	printf '%-18s %-22s %-22s %s\n' \
	    "$([ $mode = close ] && echo "new conn/request" || echo keep-alive)" \
	    "$sm ($smin-$smax)" "$nm ($nmin-$nmax)" \
	    "$(awk -v a="$sm" -v b="$nm" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
	echo "#   runs stsd: ${sts[*]}; nginx: ${ngx[*]}"
done
