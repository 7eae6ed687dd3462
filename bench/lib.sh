# bench/lib.sh — what the SMTP benchmarks (bench/relay, bench/mxd) share:
# the set-up in namespaces of their own, the CPU time and peak memory of
# a daemon's process tree, one measured run of smtp-source, and the
# report. Sourced by bench/*/run.sh after they set TOP.

# bench_enter NAME DAEMON "$@" — first call: check root, the tools and
# the build, then run the script again in new network, mount and PID
# namespaces (it does not return). Inside: the loopback up, the work
# directory $T = $BUILD/bench-NAME (emptied), tests/lib.sh and the lab
# network's helpers loaded, say and die defined. RUNS, N1K, N100K and
# SESSIONS get their defaults (5, 2000, 400, 50).
bench_enter() {
	local name=$1 daemon=$2 p
	shift 2
	BUILD=${BUILD:-build}
	case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
	RUNS=${RUNS:-5} N1K=${N1K:-2000} N100K=${N100K:-400}
	SESSIONS=${SESSIONS:-50}
	if [ "${BENCH_INNER:-0}" != 1 ]; then
		[ "$(id -u)" = 0 ] || { echo "run as root (namespaces)" >&2; exit 2; }
		for p in smtp-source postconf knotd unbound; do
			command -v $p >/dev/null || { echo "needs $p" >&2; exit 2; }
		done
		[ -x "$BUILD/bin/$daemon" ] || { echo "build first (make)" >&2; exit 2; }
		export BENCH_INNER=1 TOP BUILD RUNS N1K N100K SESSIONS
		exec unshare --net --mount --pid --fork --kill-child \
		    --mount-proc bash "$0" "$@"
	fi
	ip link set lo up
	T="$BUILD/bench-$name"
	rm -rf "$T"
	mkdir -p "$T"
	chmod 755 "$T" "$BUILD"
	export T TG_ISOLATED=1
	. "$TOP/tests/lib.sh"
	. "$TOP/tests/net/net.sh"
	cd "$T" || exit 1
}
say() { echo "# $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

# A daemon's processes: the root and its children (Postfix's master and
# its services).
pids_of() {
	local root=$1 p
	echo "$root"
	for p in /proc/[0-9]*; do
		[ "$(awk '{ print $4 }' "$p/stat" 2>/dev/null)" = "$root" ] &&
		    echo "${p#/proc/}"
	done
}
# CPU ticks the tree has used so far (children reaped by the root count
# through its cutime/cstime).
cpu_ticks() {
	local root=$1 p t=0 v
	for p in $(pids_of "$root"); do
		v=$(awk -v r="$root" -v p="$p" '{ s = $14 + $15;
		    if (p == r) s += $16 + $17; print s }' "/proc/$p/stat" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
# Sample the sum of PSS and RSS (kB) of the tree until $T/stop exists;
# write the peaks to FILE.
sample_mem() {
	local root=$1 out=$2 pss rss maxp=0 maxr=0 p v w
	while [ ! -e "$T/stop" ]; do
		pss=0 rss=0
		for p in $(pids_of "$root"); do
			# A process may be gone, or a zombie, by now.
			v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
			w=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
			pss=$((pss + ${v:-0}))
			rss=$((rss + ${w:-0}))
		done
		[ "$pss" -gt "$maxp" ] && maxp=$pss
		[ "$rss" -gt "$maxr" ] && maxr=$rss
		sleep 0.2
	done
	echo "$maxp $maxr" > "$out"
}

# stat_col FILE K FMT — median and min-max of column K
stat_col() {
	cut -d' ' -f"$2" "$1" | sort -g | awk -v f="$3" '{ v[NR] = $1 } END {
	    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
	    printf f " (" f "-" f ")", m, v[1], v[NR] }'
}
median() { cut -d' ' -f"$2" "$1" | sort -g | awk '{ v[NR] = $1 } END {
	    print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }


# bench_run KIND ADDR PID SIZE N SMTP-SOURCE-OPTIONS... — one measured
# run: N messages of SIZE bytes from smtp-source ($SESSIONS sessions) to
# ADDR:25, until the sink has counted them all (sink_count, the caller's;
# at most BENCH_WAIT seconds, default 600); appends "msgs/s cpu_ms/msg
# pss_kB rss_kB" of the process tree of PID to $T/KIND-SIZE.
bench_run() {
	local kind=$1 addr=$2 pid=$3 size=$4 n=$5 c0 cpu0 cpu1 t0 t1 mem sampler
	shift 5
	c0=$(sink_count)
	rm -f "$T/stop"
	sample_mem "$pid" "$T/mem" &
	sampler=$!
	cpu0=$(cpu_ticks "$pid")
	t0=$(date +%s%N)
	smtp-source -s "$SESSIONS" -m "$n" -l "$size" "$@" \
	    -M client.gw.test "$addr:25" > "$T/source.log" 2>&1 ||
	    say "smtp-source: $(tail -n1 "$T/source.log")"
	wait_for "${BENCH_WAIT:-600}" bash -c "[ \$(cat '$T/sink.count' 2>/dev/null || echo 0) -ge $((c0 + n)) ]" ||
	    say "$kind: only $(( $(sink_count) - c0 )) of $n arrived"
	t1=$(date +%s%N)
	cpu1=$(cpu_ticks "$pid")
	: > "$T/stop"
	wait "$sampler"
	mem=$(cat "$T/mem")
	awk -v n="$n" -v t0="$t0" -v t1="$t1" -v c="$((cpu1 - cpu0))" \
	    -v tick="$(getconf CLK_TCK)" -v mem="$mem" 'BEGIN {
	    split(mem, m, " ");
	    printf "%.1f %.3f %d %d\n", n / ((t1 - t0) / 1e9),
	    c / tick * 1000 / n, m[1], m[2] }' >> "$T/$kind-$size"
	say "$kind $size bytes: $(tail -n1 "$T/$kind-$size")"
}

# bench_report A B — the table of each size run (1024 and 102400 bytes,
# N1K and N100K messages): medians (min-max) of A and B, ratio A / B.
bench_report() {
	local a=$1 b=$2 size n k f fmt
	echo "medians (min-max); ratio = $a / $b"
	for size in 1024 102400; do
		n=$N1K; [ "$size" = 102400 ] && n=$N100K
		echo
		echo "== $((size / 1024)) KB messages, $n per run =="
		printf '%-24s %-26s %-26s %s\n' figure "$a" "$b" ratio
		for k in 1 2 3 4; do
			case $k in
			1) f="messages/s" fmt="%.1f" ;;
			2) f="CPU ms/message" fmt="%.2f" ;;
			3) f="peak PSS kB (sum)" fmt="%.0f" ;;
			4) f="peak RSS kB (sum)" fmt="%.0f" ;;
			esac
			printf '%-24s %-26s %-26s %s\n' "$f" \
			    "$(stat_col "$T/$a-$size" $k "$fmt")" \
			    "$(stat_col "$T/$b-$size" $k "$fmt")" \
			    "$(ratio "$(median "$T/$a-$size" $k)" \
			    "$(median "$T/$b-$size" $k)")"
		done
	done
	echo
}

# bench_postfix NAME ADDR — a Postfix instance postfix-NAME of the lab
# listening on ADDR:25, with the main.cf lines read from standard input
# after the common ones; sets P (its directory) and POSTFIX_PID.
bench_postfix() {
	P="$TG_NET_DIR/postfix-$1"
	mkdir -p "$P/etc"
	{ _tgn_main_common "$P"; cat; } > "$P/etc/main.cf"
	{ _tgn_master_common; printf '%s:25 inet n - n - - smtpd\n' "$2"; } \
	    > "$P/etc/master.cf"
	_tgn_postfix_start "$P" && _tgn_postfix_started "$P" ||
	    die "Postfix $1 did not start"
	wait_port "$2" 25 15 || die "Postfix $1 does not listen"
	POSTFIX_PID=$(tr -dc '0-9' < "$P/queue/pid/master.pid")
}

# bench_warmup KIND... — 20 messages through each (the caller's run),
# so that DNS, TLS and recipient-verification caches are as they are for
# every later run, and a check that each path delivers: tried up to 10
# times (a verifying MX answers 450 while its first probe runs). Not
# counted.
bench_warmup() {
	local kind c i
	for kind in "$@"; do
		c=$(sink_count)
		for i in 1 2 3 4 5 6 7 8 9 10; do
			BENCH_WAIT=10 run "$kind" 1024 20 2>/dev/null
			rm -f "$T/$kind-1024"
			[ "$(sink_count)" -ge $((c + 20)) ] && break
			sleep 1
		done
		[ "$(sink_count)" -ge $((c + 20)) ] ||
		    die "$kind does not deliver to the sink"
	done
}

# bench_runs A B — RUNS rounds of both sizes, A then B each time (the
# caller's run KIND SIZE N measures one).
bench_runs() {
	local i size n kind
	for i in $(seq "$RUNS"); do
		for size in 1024 102400; do
			n=$N1K
			[ "$size" = 102400 ] && n=$N100K
			for kind in "$@"; do
				run "$kind" "$size" "$n"
			done
		done
	done
}
