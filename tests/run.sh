#!/bin/bash
# tests/run.sh — run every test of tlsgate and print one summary line.
#
#   tests/run.sh                 unit tests, then integration tests
#   tests/run.sh --unit-only     only the cmocka unit tests
#   tests/run.sh NAME...         only the integration tests named
#
# Unit tests are the cmocka binaries in $BUILD/tests; each reports its cases
# in TAP form, and every case counts. Integration tests are the scripts in
# tests/integration/; each runs through tests/harness.sh in its own
# temporary directory and its own network/PID namespace, reports its checks
# as TAP lines ("ok - ..." / "not ok - ..."), and every check counts.
# The last line is always "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
passed=0 failed=0 skipped=0
failures=()
unit_only=0
names=()
for a in "$@"; do
	case "$a" in
	--unit-only) unit_only=1 ;;
	*) names+=("$a") ;;
	esac
done

# Count TAP lines of one test's output; a run that produced no verdict line
# but failed still counts as one failure.
tally() { # name output-file exit-code
	local name=$1 out=$2 rc=$3 p f s
	s=$(grep -acE '^ok .*# (SKIP|skip)' "$out" || true)
	p=$(( $(grep -acE '^ok ' "$out" || true) - s ))
	f=$(grep -acE '^not ok ' "$out" || true)
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >> "$out"
	fi
	# A TAP plan ("1..N", cmocka's) whose cases did not all report: the
	# missing ones never ran (the binary died) and count as failures.
	plan=$(grep -aoE '^1\.\.[0-9]+$' "$out" | head -1 | cut -d. -f3)
	if [ -n "$plan" ] && [ "$plan" -gt $((p + f + s)) ]; then
		echo "not ok - $name: $((plan - p - f - s)) of $plan cases did not run" >> "$out"
		f=$((plan - p - s))
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	if [ "$f" -gt 0 ]; then
		failures+=("$name")
		echo "FAIL $name ($p passed, $f failed)"
		grep -aE '^not ok |^#' "$out" | head -40 | sed 's/^/    /'
	else
		echo "ok   $name ($p passed${s:+, $s skipped})"
	fi
}

if [ ${#names[@]} -eq 0 ]; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		out=$(mktemp)
		CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$t" > "$out" 2>&1
		# Kept at once: the $(basename) below would reset $?, and a
		# test binary that dies half way must count as a failure.
		rc=$?
		tally "unit/$(basename "$t")" "$out" "$rc"
		rm -f "$out"
	done
fi

if [ "$unit_only" = 0 ]; then
	if [ ${#names[@]} -eq 0 ]; then
		mapfile -t names < <(ls tests/integration/*.sh 2>/dev/null | xargs -n1 basename | sed 's/\.sh$//')
	fi
	mkdir -p "$BUILD/test-logs"
	for n in "${names[@]}"; do
		log="$BUILD/test-logs/$n.$$.log"
		tests/harness.sh "tests/integration/$n.sh" > "$log" 2>&1
		tally "integration/$n" "$log" $?
		mv -f "$log" "$BUILD/test-logs/$n.log"
	done
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
