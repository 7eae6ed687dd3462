# tests/lib.sh — assertions and helpers for integration tests.
#
# Sourced by tests/harness.sh before the test script. Every assertion prints
# one TAP line ("ok - what" or "not ok - what") that tests/run.sh counts; a
# failing assertion also prints what was expected and what was seen, as
# "#" lines. Assertions never exit: a test goes on and reports every check.

TG_FAILS=0

tg_isolated_setup() {
	if [ "${TG_ISOLATED:-0}" = 1 ]; then
		ip link set lo up
		# 127.0.0.1 is all a fresh namespace's lo answers to by default
		# for binding other than on the /8 route; the route covers the
		# whole /8 already, so nothing else is needed.
	fi
	cd "$T" || exit 1
}

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; TG_FAILS=$((TG_FAILS + 1)); }
skip() { echo "ok - $* # SKIP"; }

# check "description" command args...   — passes when the command exits 0
check() {
	local what=$1; shift
	if "$@" > "$T/.check.out" 2>&1; then ok "$what"; else
		not_ok "$what"
		echo "#   command: $*"
		sed 's/^/#   /' "$T/.check.out" | head -20
	fi
}

# check_fails "description" command...  — passes when the command exits non-zero
check_fails() {
	local what=$1; shift
	if "$@" > "$T/.check.out" 2>&1; then
		not_ok "$what"
		echo "#   command succeeded but should have failed: $*"
		sed 's/^/#   /' "$T/.check.out" | head -20
	else ok "$what"; fi
}

# check_exit "description" CODE command...  — passes on that exact status
check_exit() {
	local what=$1 want=$2 got; shift 2
	"$@" > "$T/.check.out" 2>&1; got=$?
	if [ "$got" = "$want" ]; then ok "$what"; else
		not_ok "$what"
		echo "#   command: $*"
		echo "#   expected exit $want, got $got"
		sed 's/^/#   /' "$T/.check.out" | head -20
	fi
}

# The output of the last check/check_fails/check_exit.
last_output() { cat "$T/.check.out"; }

# expect_eq "description" expected actual
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"
		echo "#   expected: $2"
		echo "#   actual:   $3"
	fi
}

# expect_match "description" regex text
expect_match() {
	if printf '%s' "$3" | grep -qE -- "$2"; then ok "$1"; else
		not_ok "$1"
		echo "#   pattern: $2"
		printf '%s\n' "$3" | head -20 | sed 's/^/#   text: /'
	fi
}

# expect_no_match "description" regex text
expect_no_match() {
	if printf '%s' "$3" | grep -qE -- "$2"; then
		not_ok "$1"
		echo "#   unexpected pattern: $2"
		printf '%s\n' "$3" | head -20 | sed 's/^/#   text: /'
	else ok "$1"; fi
}

# wait_for SECONDS command...  — retry a command until it succeeds, bounded.
wait_for() {
	local limit=$1 i=0; shift
	while [ "$i" -lt $((limit * 10)) ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# wait_port ADDR PORT [SECONDS]  — until something listens there.
wait_port() {
	wait_for "${3:-10}" bash -c "exec 3<>/dev/tcp/$1/$2"
}

# A config file for tlsgate programs under $T, printed to stdout.
tg_write_conf() {
	mkdir -p "$T/state" "$T/spool"
	cat > "$T/tlsgate.conf" <<CONF
state_dir = $T/state
spool_dir = $T/spool
CONF
	echo "$T/tlsgate.conf"
}

# tg_build_helper NAME OUT — build tests/integration/helpers/NAME.c
# against the library of this build (with the sanitizers when the
# library has them) into OUT.
tg_build_helper() {
	local san=""
	nm "$BUILD/lib/libtlsgate.a" 2>/dev/null | grep -q __asan_ &&
	    san="-fsanitize=address,undefined"
	cc -std=c11 -D_GNU_SOURCE $san -I"$TOP/lib" -o "$2" \
	    "$TOP/tests/integration/helpers/$1.c" \
	    "$BUILD/lib/libtlsgate.a" \
	    $(pkg-config --libs openssl libunbound libcurl libmicrohttpd \
	    sqlite3 libevent libevent_openssl jansson zlib ldns opendkim) \
	    -lpthread -lm
}
tg_build_recorder() { tg_build_helper record_sessions "$1"; }
