# `make run` (scripts/run.sh): the whole gateway from nothing, as a
# newcomer starts it — every daemon up on its unprivileged port, a first
# console user whose password is printed and kept 0600, the console
# reachable at the URL it prints and the login working, the CLI working
# against the same store, and stopping it (Ctrl-C) ends every daemon.
# A second start keeps the store and the user.

RUN="$T/run"
OUT="$T/run.out"
start() {
	TLSGATE_RUN_DIR="$RUN" BUILD="$BUILD" "$TOP/scripts/run.sh" \
	    >> "$OUT" 2>&1 &
	run_pid=$!
}
# A background job ignores SIGINT (bash), so the test sends SIGTERM, which
# the script handles as it handles Ctrl-C.
stop() {
	kill -TERM "$run_pid"
	wait_for 20 bash -c "! kill -0 $run_pid 2>/dev/null"
}
curl_admin() {
	curl -s --max-time 5 --cacert "$cert" \
	    --resolve localhost:9443:127.0.0.1 "$@"
}

start
check "relay, MX, MTA-STS, TLS-RPT and console ports listen" bash -c \
    "$(declare -f wait_for wait_port); wait_port 127.0.0.1 10025 30 &&
    wait_port 127.0.0.1 2525 10 && wait_port 127.0.0.1 8443 10 &&
    wait_port 127.0.0.1 8444 10 && wait_port 127.0.0.1 9443 20"
expect_match "it says where the console is" \
    "Console: https://localhost:9443/ as user admin" "$(cat "$OUT")"
for d in relayd mxd stsd rptd controllerd; do
	expect_match "$d started" "started: .*$d" "$(cat "$OUT")"
done
expect_eq "the password file is private" 600 \
    "$(stat -c %a "$RUN/admin-password" 2>/dev/null)"
export TLSGATE_CONF="$RUN/tlsgate.conf"
expect_match "the console user exists" '"username": *"admin"' \
    "$("$BIN/tlsgate" admin list --json)"
cert=$("$BIN/tlsgate" cert list --json |
    jq -r '.[] | select(.role == "admin") | .cert_path')
check "the console page is served" \
    wait_for 10 bash -c "$(declare -f curl_admin); cert='$cert';
    curl_admin -f https://localhost:9443/ | grep -qi '<html'"
pw=$(cat "$RUN/admin-password")
code=$(curl_admin -o /dev/null -w '%{http_code}' -c "$T/jar" \
    -H 'Content-Type: application/json' -H 'Origin: https://localhost:9443' \
    --data "$(jq -cn --arg p "$pw" '{username: "admin", password: $p}')" \
    https://localhost:9443/api/login)
expect_eq "the printed password logs in" 200 "$code"
check "the CLI works against the same store" \
    "$BIN/tlsgate" domain add example.org --route 127.0.0.1:25
expect_match "and the console sees it" '"name": *"example.org"' \
    "$(curl_admin -b "$T/jar" https://localhost:9443/api/domains)"
check "stopping it ends the gateway" stop
expect_match "it says so" "stopped" "$(cat "$OUT")"
check_fails "no daemon is left" pgrep -f "tlsgate-.* -c $RUN/tlsgate.conf"

start
check "a second start comes up" wait_port 127.0.0.1 9443 20
expect_eq "with the same user, no second password" 1 \
    "$("$BIN/tlsgate" admin list --json | jq length)"
expect_match "and the same store" "example.org" \
    "$("$BIN/tlsgate" domain list)"
check "and stops again" stop
