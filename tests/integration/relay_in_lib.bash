# relay_in_lib.bash — what the relay_in_*.sh tests share (sourced; not a
# test itself): a config under $T, tlsgate and relayd helpers, the Python
# client (relay_in_client.py).

RELAY_PORT=10025
RELAY_CLIENT="$TOP/tests/integration/relay_in_client.py"
RELAY_LOG="$T/relayd.log"

# relay_conf [EXTRA CONFIG LINES...]
relay_conf() {
	conf=$(tg_write_conf)
	cat >> "$conf" <<CONF
run_dir = $T/run
user = ""
relay.hostname = relay.example.net
relay.listen = 127.0.0.1:$RELAY_PORT
store.poll_interval = 1
CONF
	local l
	for l in "$@"; do echo "$l" >> "$conf"; done
}

tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
client() { python3 "$RELAY_CLIENT" "$@"; }

relay_start() {
	"$BIN/tlsgate-relayd" -f -c "$conf" >> "$RELAY_LOG" 2>&1 &
	relay_pid=$!
	wait_for 10 grep -q "event=start result=ok pid=$relay_pid" "$RELAY_LOG"
}

relay_stop() {
	kill -TERM "$relay_pid" 2>/dev/null
	wait "$relay_pid" 2>/dev/null
}

relay_kill9() {
	kill -9 "$relay_pid" 2>/dev/null
	wait "$relay_pid" 2>/dev/null
}

# Messages in the queue directory (committed objects).
queue_count() { ls "$T/spool/queue" 2>/dev/null | wc -l; }

# Wait until relayd has reloaded N times in all.
wait_reloads() {
	wait_for 10 bash -c "[ \$(grep -c 'event=reload result=ok' '$RELAY_LOG') -ge $1 ]"
}

# After a graceful stop: no sanitizer report in relayd's log (SAN=1 builds).
relay_clean_log() {
	check_fails "no sanitizer report from relayd" \
		grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$RELAY_LOG"
}
