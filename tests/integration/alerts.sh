# controllerd's alerts (alerts.hook; etc/tlsgate.conf): a program is told
# of its errors and of certificates about to expire, once per kind a
# day. Here the clock is set five days before the MX certificate ends
# (TLSGATE_FAKE_NOW) and the rollover is misconfigured (an update server
# but no zone): each gives one alert with its log line; a reload logs
# both again but alerts nobody twice.

conf=$(tg_write_conf)
NOTIFY="$T/notify"
cat > "$NOTIFY" <<HOOK
#!/bin/sh
echo "\$1|\$2|\$3|PATH=\$PATH|HOME=\${HOME:-unset}" >> "$T/alerts"
HOOK
chmod 755 "$NOTIFY"
cat >> "$conf" <<CONF
run_dir = $T/run
user = ""
relay.hostname = mx.gw.test
store.poll_interval = 1
admin.listen = ""
dane.update_server = 127.0.0.1@5353
alerts.hook = $NOTIFY
CONF
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
log="$T/controllerd.log"
check "init" tg init
end=$(tg cert list --json | jq -r '.[] | select(.role == "mx") | .not_after')
now=$(( $(date -u -d "$end" +%s) - 5 * 86400 ))
TLSGATE_FAKE_NOW=$now "$BIN/tlsgate-controllerd" -f -c "$conf" > "$log" 2>&1 &
cpid=$!
count() { [ -f "$T/alerts" ] && wc -l < "$T/alerts" || echo 0; }
check "two alerts" wait_for 20 bash -c "[ \$(wc -l < '$T/alerts' 2>/dev/null || echo 0) -ge 2 ]"
expect_match "the certificate's, with its log line" \
	"^warn\|cert-watch\|event=cert-watch name=mx\.gw\.test role=mx state=current days_left=[45] result=expiring\|" \
	"$(cat "$T/alerts")"
expect_match "the rollover's error" \
	"^err\|rollover\|event=rollover result=not-configured error=" \
	"$(cat "$T/alerts")"
expect_match "run with PATH only" "\|PATH=/usr/sbin:/usr/bin:/sbin:/bin\|HOME=unset$" \
	"$(head -n1 "$T/alerts")"
expect_match "each alert is logged as sent" \
	"event=alert about=cert-watch result=sent exit=0" "$(cat "$log")"
kill -HUP "$cpid"
check "a reload logs the certificate again" wait_for 10 bash -c \
	"[ \$(grep -c 'event=cert-watch .*result=expiring' '$log') -ge 2 ]"
sleep 2
expect_eq "but alerts nobody again" 2 "$(count)"
kill -TERM "$cpid"
wait "$cpid"
expect_eq "controllerd stops cleanly" 0 "$?"
