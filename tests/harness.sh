#!/bin/bash
# tests/harness.sh — run one integration test script in isolation.
#
# The test gets:
#   $T        a fresh temporary directory (removed when the test passes,
#             kept under $BUILD/test-tmp/ when it fails, for inspection)
#   $TOP      the repository root, $BIN the built binaries
#   tests/lib.sh sourced (assertions that print TAP lines)
# and runs, when we are root, inside new network, mount and PID namespaces
# (unshare). The network namespace has only its own loopback, so every
# 127.0.0.0/8 address and port is ours and nothing can reach off the
# machine; the PID namespace guarantees teardown: when the test's shell
# exits, the kernel kills every process it started, even after a failure.
set -u
script=$1
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
name=$(basename "$script" .sh)
# A directory of its own per run, so that runs in parallel never share one.
mkdir -p "$BUILD/test-tmp"
T=$(mktemp -d "$BUILD/test-tmp/$name.XXXXXX") || exit 1
# Third-party daemons that drop privileges (Postfix, nginx workers) must be
# able to reach their files below $T.
chmod 755 "$T"
export T TOP BUILD BIN="$BUILD/bin" TG_TEST_NAME="$name"
TIMEOUT=${TG_TEST_TIMEOUT:-900}

inner="set -u; . '$TOP/tests/lib.sh'; tg_isolated_setup; . '$TOP/$script'"
if [ "$(id -u)" = 0 ] && unshare --net --mount --pid --fork --kill-child \
    --mount-proc true 2>/dev/null; then
	export TG_ISOLATED=1
	timeout -k 10 "$TIMEOUT" unshare --net --mount --pid --fork \
	    --kill-child --mount-proc bash -c "$inner" 2>&1 | tee "$T/.tap"
	rc=${PIPESTATUS[0]}
else
	export TG_ISOLATED=0
	timeout -k 10 "$TIMEOUT" bash -c "$inner" 2>&1 | tee "$T/.tap"
	rc=${PIPESTATUS[0]}
fi
[ "$rc" = 124 ] && echo "not ok - $name timed out after ${TIMEOUT}s"
if [ "$rc" = 0 ] && ! grep -aq '^not ok ' "$T/.tap" 2>/dev/null; then
	rm -rf "$T"
else
	echo "# kept for inspection: $T"
fi
exit "$rc"
