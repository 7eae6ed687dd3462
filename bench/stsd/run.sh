#!/bin/bash
# bench/stsd/run.sh — tlsgate-stsd against nginx serving the same MTA-STS
# policy with the same certificate (ECDSA P-256, self-signed by stsd at
# first use), HTTPS TLS 1.3, measured with wrk (2 threads, 50 connections,
# DURATION each): keep-alive, and a new connection per request
# ("Connection: close", so every request pays a TLS handshake; wrk resumes
# its TLS session with the ticket it got, as real clients do, so these
# are resumed handshakes on both servers). RUNS runs each (default 5),
# alternating servers; prints median, min-max and the ratio stsd/nginx,
# and per request the CPU time of the server and of wrk.
#
# Both servers get one thread of their own: stsd's HTTPS server runs one
# libmicrohttpd thread (net/http), nginx runs worker_processes 1. Three
# placements of the processes on the CPUs (PLACEMENTS, default all):
#   split     the server on CPU 1, wrk's two threads on CPU 0: neither
#             takes CPU time from the other; the figure is bound by the
#             slower side (the per-request CPU columns say which);
#   shared    no pinning: the server and wrk's two threads share both
#             CPUs;
#   wrk-cpu0  wrk's two threads on CPU 0, the server free on both.
# Each server runs in a session of its own, as a service manager starts
# it: nginx daemonizes, stsd is started under setsid. The kernel's
# autogroup scheduling (sched_autogroup_enabled, on by default) shares
# CPU time between sessions before threads; a server left in this
# script's session would get a third of the CPU time wrk's two threads
# and it need, where nginx in its own gets half ("shared", new connection
# per request: 0.68x in that set-up, 0.90x with the sessions equal).
# wrk keeps a connecting socket registered for writing until its TLS
# handshake is done, so each of its threads spins while it waits for a
# server's flight: its CPU per request counts that spinning, and under
# "shared" the spinning takes whatever CPU the server leaves idle. Which
# threads the scheduler puts together on a CPU varies between runs under
# "shared" (a server thread alone on a CPU, or beside one of wrk's), so
# its figures vary most.
# "wrk-cpu0" is the control: the same freedom for the server, wrk's
# threads never side by side.
#
# Runs as root in its own network, mount and PID namespaces (as
# tests/harness.sh does): everything listens on 127.0.7.0/24, the names
# resolve through a bind-mounted /etc/hosts.
#
#   bench/stsd/run.sh            (BUILD=build, RUNS=5, DURATION=10s,
#                                 PLACEMENTS="split shared wrk-cpu0")
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
RUNS=${RUNS:-5}
DURATION=${DURATION:-10s}
PLACEMENTS=${PLACEMENTS:-split shared wrk-cpu0}

if [ "${STSD_BENCH_INNER:-0}" != 1 ]; then
	[ "$(id -u)" = 0 ] || { echo "run as root (namespaces)" >&2; exit 2; }
	for p in wrk nginx curl taskset; do
		command -v $p >/dev/null || { echo "needs $p" >&2; exit 2; }
	done
	[ -x "$BUILD/bin/tlsgate-stsd" ] || { echo "build first (make)" >&2; exit 2; }
	export STSD_BENCH_INNER=1 TOP BUILD RUNS DURATION PLACEMENTS
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
setsid "$BUILD/bin/tlsgate-stsd" -f -c "$W/tlsgate.conf" >"$W/stsd.log" 2>&1 &
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

# The process that serves: stsd, or nginx's one worker.
server_pid() {
	if [ "$1" = sts ]; then cat "$W/stsd.pid"
	else pgrep -P "$(cat "$W/nginx.pid")" | head -1; fi
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK_US=$(( 1000000 / $(getconf CLK_TCK) ))

# Each server in a scheduling group (session) of its own, not wrk's.
autogroup() { cut -d' ' -f1 "/proc/$1/autogroup" 2>/dev/null; }
for s in sts ngx; do
	if [ -n "$(autogroup $$)" ] &&
	    [ "$(autogroup "$(server_pid $s)")" = "$(autogroup $$)" ]; then
		echo "$s runs in the benchmark's own session" >&2
		exit 1
	fi
done

# place PLACEMENT — CPUs of both servers (every thread) and of wrk
WRK_CPUS=""
place() {
	local cpus=0-$(( $(nproc) - 1 )) pid
	WRK_CPUS=$cpus
	case "$1" in
	split) cpus=1 WRK_CPUS=0 ;;
	wrk-cpu0) WRK_CPUS=0 ;;
	esac
	for pid in "$(cat "$W/stsd.pid")" "$(cat "$W/nginx.pid")" \
	    "$(server_pid ngx)"; do
		taskset -a -p -c "$cpus" "$pid" >/dev/null || exit 1
	done
}

# one_run SERVER MODE — "req/s server-us/req wrk-us/req" of one wrk run
one_run() {
	local extra=()
	use_hosts "$1"
	[ "$2" = close ] && extra=(-H "Connection: close")
	local pid c0 c1
	pid=$(server_pid "$1")
	c0=$(cpu_ticks "$pid")
	/usr/bin/time -f "%U %S" -o "$W/wrk.cpu" \
	    taskset -c "$WRK_CPUS" wrk -t2 -c50 -d"$DURATION" "${extra[@]}" \
	    "https://$HOST$PATH_" > "$W/wrk.out" 2>&1
	c1=$(cpu_ticks "$pid")
	if [ -n "${BENCH_VERBOSE:-}" ] ||
	    grep -q "Non-2xx\|Socket errors" "$W/wrk.out"; then
		sed 's/^/# /' "$W/wrk.out" >&2
	fi
	awk -v t=$(( (c1 - c0) * TICK_US )) -v cpu="$(cat "$W/wrk.cpu")" '
	    /requests in/ { n = $1 } /^Requests\/sec:/ { r = $2 }
	    END { split(cpu, c, " "); if (n == 0) n = 1
	          printf "%s %.0f %.0f\n", r, t / n, (c[1] + c[2]) * 1e6 / n }' \
	    "$W/wrk.out"
}

# stats VALUES... — "median min max"
stats() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
	    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	          printf "%.0f %.0f %.0f\n", m, v[1], v[NR] }'
}
median() { stats "$@" | cut -d' ' -f1; }

echo "stsd vs nginx $(nginx -v 2>&1 | sed 's/.*\///'): GET $PATH_ (${#PATH_} byte path," \
    "$(wc -c < "$W/policy.txt") byte body), TLS 1.3, ECDSA P-256," \
    "wrk -t2 -c50 -d$DURATION, $RUNS runs each, $(nproc) CPUs"
printf '%-9s %-17s %-22s %-22s %-10s %s\n' "cpus" "mode" "stsd req/s" \
    "nginx req/s" "stsd/nginx" "CPU us/req: server, wrk"
for placement in $PLACEMENTS; do
	if [ "$placement" != shared ] && [ "$(nproc)" -lt 2 ]; then
		echo "# $placement: needs 2 CPUs" >&2
		continue
	fi
	place "$placement"
	for mode in keepalive close; do
		sts=() ngx=() sts_s=() sts_c=() ngx_s=() ngx_c=()
		for _ in $(seq "$RUNS"); do
			read -r r sv cl <<< "$(one_run sts $mode)"
			sts+=("$r") sts_s+=("$sv") sts_c+=("$cl")
			read -r r sv cl <<< "$(one_run ngx $mode)"
			ngx+=("$r") ngx_s+=("$sv") ngx_c+=("$cl")
		done
		read -r sm smin smax <<< "$(stats "${sts[@]}")"
		read -r nm nmin nmax <<< "$(stats "${ngx[@]}")"
		printf '%-9s %-17s %-22s %-22s %-10s stsd %s, %s; nginx %s, %s\n' \
		    "$placement" \
		    "$([ $mode = close ] && echo "new conn/request" || echo keep-alive)" \
		    "$sm ($smin-$smax)" "$nm ($nmin-$nmax)" \
		    "$(awk -v a="$sm" -v b="$nm" 'BEGIN { printf "%.2f", b ? a / b : 0 }')" \
		    "$(median "${sts_s[@]}")" "$(median "${sts_c[@]}")" \
		    "$(median "${ngx_s[@]}")" "$(median "${ngx_c[@]}")"
		echo "#   runs stsd: ${sts[*]}; nginx: ${ngx[*]}"
	done
done
