# tests/run.sh itself: how it counts a unit test binary's cases.
#   - every "ok" counts, a skip as a skip;
#   - a binary that dies half way counts every case of its TAP plan that
#     did not report as failed (a crash under the sanitizers must never
#     pass for a short success);
#   - a binary that fails without a verdict line counts one failure.

B="$T/fakebuild"
mkdir -p "$B/tests"
fake() { # NAME EXIT-CODE LINES...
	local name=$1 rc=$2; shift 2
	{ echo '#!/bin/sh'; for l in "$@"; do printf "echo '%s'\n" "$l"; done
	  echo "exit $rc"; } > "$B/tests/$name"
	chmod +x "$B/tests/$name"
}
summary() { BUILD="$B" "$TOP/tests/run.sh" --unit-only 2>&1 | tail -1; }

fake test_whole 0 "1..2" "ok 1 - a" "ok 2 - b"
expect_eq "a whole run counts its cases" "2 passed, 0 failed" "$(summary)"
rm "$B/tests/test_whole"
fake test_died 1 "1..5" "ok 1 - a" "ok 2 - b"
expect_eq "a binary that died after 2 of 5 cases: 3 failed" \
    "2 passed, 3 failed" "$(summary)"
rm "$B/tests/test_died"
fake test_noplan 3 "ok - a"
expect_eq "a failing binary without a plan: one failure" \
    "1 passed, 1 failed" "$(summary)"
rm "$B/tests/test_noplan"
fake test_skip 0 "1..2" "ok 1 - a" "ok 2 - b # SKIP no root"
expect_eq "a skipped case is a skip" "1 passed, 0 failed, 1 skipped" \
    "$(summary)"
