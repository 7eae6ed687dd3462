# The daemon runtime, through tlsgate-controllerd: foreground start, pid
# file, a second instance refused, reload on a store change and on SIGHUP,
# a failed reload keeps the old configuration, graceful stop on SIGTERM.

conf=$(tg_write_conf)
cat >> "$conf" <<CONF
run_dir = $T/run
relay.hostname = gw.example.net
user = ""
store.poll_interval = 1
CONF
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
log="$T/controllerd.log"
grep_log() { grep -q -- "$1" "$log"; }

check "init" tg init
"$BIN/tlsgate-controllerd" -f -c "$conf" > "$log" 2>&1 &
pid=$!
check "daemon starts" wait_for 10 grep_log "event=start result=ok"
check "pid file written with the daemon's pid" \
	test "$(cat "$T/run/tlsgate-controllerd.pid" 2>/dev/null)" = "$pid"
check "certificate watch logged the first certificate" \
	grep_log "event=cert-watch name=gw.example.net role=mx state=current"
check_exit "a second instance refuses to start" 1 \
	"$BIN/tlsgate-controllerd" -f -c "$conf"
expect_match "second instance names the running one" "already running" "$(last_output)"

tg domain add reload.example >/dev/null
check "a store change triggers a reload" \
	wait_for 10 grep_log "event=reload result=ok reason=store-changed"

kill -HUP "$pid"
check "SIGHUP reloads" wait_for 10 grep_log "event=reload result=ok reason=sighup"

echo "dns.timeout = forever" >> "$conf"
kill -HUP "$pid"
check "a bad config on SIGHUP is refused" \
	wait_for 10 grep_log "event=reload result=failed reason=sighup"
expect_match "the failure names the key and keeps the old config" \
	"dns.timeout.*kept previous configuration" "$(grep 'result=failed' "$log")"
check "still running after the failed reload" kill -0 "$pid"
sed -i '$d' "$conf"

echo "relay.listen = 127.0.0.1:10026" >> "$conf"
kill -HUP "$pid"
check "a non-reloadable change is refused on SIGHUP" \
	wait_for 10 grep_log "relay.listen"
sed -i '$d' "$conf"

kill -TERM "$pid"
wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
check "SIGTERM stops the daemon" bash -c "! kill -0 $pid 2>/dev/null"
wait "$pid"; rc=$?
expect_eq "clean exit status" 0 "$rc"
check "stop is logged" grep_log "event=stop result=done"
check "pid file removed" test ! -e "$T/run/tlsgate-controllerd.pid"
check_exit "bad usage exits 2" 2 "$BIN/tlsgate-controllerd" -x
check_exit "missing config file exits 1 with a message" 1 \
	"$BIN/tlsgate-controllerd" -f -c "$T/nope.conf"
# Every daemon shares the runtime's command line.
for d in relayd mxd stsd rptd controllerd; do
	check "tlsgate-$d -h shows the runtime's usage" "$BIN/tlsgate-$d" -h
	expect_match "tlsgate-$d usage names -c and -f" "-c FILE.*|-f" "$(last_output)"
done
