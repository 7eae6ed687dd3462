# relay_out_lib.bash — what the relay_out_*.sh tests share (sourced; not a
# test itself): the lab network, a relayd on 127.0.5.3:25 delivering into
# it, and helpers to send mail, read the queue and the maildirs.
#
# Every outcome is checked on both sides: in the receiving Postfix's
# maildir ($TG_NET_MAILDIR/<domain>/) and in relayd's queue (`tlsgate queue
# list --json`).

. "$TOP/tests/net/net.sh"

RO_ADDR=$TG_NET_GW_RELAY_ADDR
RO_PORT=25
RO_LOG="$T/relayd.log"
RO_HELPERS="$TOP/tests/integration/helpers"
RO_SENDER=sender@insecure.test	# its DSNs land in a maildir too

# ro_setup [net pieces] -- [extra config lines...]
ro_setup() {
	local pieces=() l
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do pieces+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	tg_net_available || { skip "the lab network needs root namespaces"; exit 0; }
	check "lab network up (${pieces[*]:-dns mx})" tg_net_up "${pieces[@]:-dns}" mx
	conf=$(tg_write_conf)
	cat "$TG_NET_CONF" >> "$conf"
	# The defaults of these tests; an extra line for the same key wins
	# (a key may be given once).
	while read -r l; do
		local k=${l%% =*} x skip=0
		for x in "$@"; do [ "${x%% =*}" = "$k" ] && skip=1; done
		[ "$skip" = 1 ] || echo "$l" >> "$conf"
	done <<CONF
run_dir = $T/run
user = ""
relay.hostname = relay.gw.test
relay.listen = $RO_ADDR:$RO_PORT
queue.min_backoff = 2s
queue.max_backoff = 8s
store.poll_interval = 1
CONF
	for l in "$@"; do echo "$l" >> "$conf"; done
	check "tlsgate init" tg init
	check "relay allow 127.0.0.0/8" tg relay allow 127.0.0.0/8
}

tg() { "$BIN/tlsgate" -c "$conf" "$@"; }

ro_start() {
	local n
	n=$(grep -c "event=start result=ok" "$RO_LOG" 2>/dev/null)
	"$BIN/tlsgate-relayd" -f -c "$conf" >> "$RO_LOG" 2>&1 &
	ro_pid=$!
	wait_for 15 bash -c "[ \$(grep -c 'event=start result=ok' '$RO_LOG') -gt ${n:-0} ]" &&
	    wait_port "$RO_ADDR" "$RO_PORT" 10
}

ro_stop() {
	kill -TERM "$ro_pid" 2>/dev/null
	wait "$ro_pid" 2>/dev/null
	return 0
}

ro_kill9() {
	kill -9 "$ro_pid" 2>/dev/null
	wait "$ro_pid" 2>/dev/null
	return 0
}

# ro_send TO ID [swaks options] — one message with the header X-Test-Id:
# ID and ID in the body; returns swaks' status (0: the 250 was seen).
ro_send() {
	local to=$1 id=$2; shift 2
	swaks --server "$RO_ADDR:$RO_PORT" --from "${RO_FROM:-$RO_SENDER}" \
	    --to "$to" --helo inside.test --header "X-Test-Id: $id" \
	    --header "Subject: $id" --body "test message $id" --timeout 20 \
	    "$@" >> "$T/swaks.log" 2>&1
}

# The queue as JSON, and questions about it.
ro_queue() { tg queue list --json; }
ro_queued() { ro_queue | jq 'length'; }
# ro_rcpt_state ADDRESS — "pending", "deferred", ... or "" when not queued
ro_rcpt_state() {
	ro_queue | jq -r --arg a "$1" \
	    '[.[].recipients[] | select(.address == $a) | .state] | first // ""'
}
ro_rcpt_reason() {
	ro_queue | jq -r --arg a "$1" \
	    '[.[].recipients[] | select(.address == $a) | .reason] | first // ""'
}

# ro_wait_log REGEX SECONDS — a line of relayd's log matches.
ro_wait_log() { wait_for "$2" grep -qE -- "$1" "$RO_LOG"; }

# The delivery line of a recipient domain (the last one).
ro_delivery_line() {
	grep -E "event=delivery .*domain=$1 " "$RO_LOG" | tail -n1
}

# Messages whose X-Test-Id is ID in DOMAIN's maildir.
ro_mail_with() { tg_net_mail_grep "$1" "^X-Test-Id: $2\$" | wc -l; }

# Rows of reports.db for a policy domain: "type result_type count" lines.
ro_tlsrpt() {
	sqlite3 "$T/state/reports.db" "SELECT policy_type || ' ' ||
	    coalesce(nullif(result_type, ''), 'success') || ' ' || count
	    FROM tls_sessions WHERE policy_domain = '$1'" 2>&1
}
