# admin_lib.bash — what the tests of the admin API share (sourced; not a
# test itself): a controllerd serving the console on 127.0.0.1:9443 for
# localhost, a user alice with a random password (never on a command
# line), and curl helpers that keep the session in a cookie jar and send
# the console's Origin and CSRF token on POSTs.
#
# ad_setup [config lines...]  config, init, alice; then ad_start.

AD_PORT=9443
URL="https://localhost:$AD_PORT"
log="$T/controllerd.log"
CSRF=""

ad_setup() {
	local l
	conf=$(tg_write_conf)
	cat >> "$conf" <<CONF
run_dir = $T/run
user = ""
store.poll_interval = 1
admin.listen = 127.0.0.1:$AD_PORT
admin.hostname = localhost
CONF
	for l in "$@"; do echo "$l" >> "$conf"; done
	check "init" tg init
	head -c 18 /dev/urandom | base64 | tr -d '\n' > "$T/password"
	chmod 600 "$T/password"
	PW=$(cat "$T/password")
	check "tlsgate admin add alice --password-stdin" \
		tg admin add alice --password-stdin < "$T/password"
}

tg() { "$BIN/tlsgate" -c "$conf" "$@"; }

admin_cert() {
	tg cert list --json | jq -r '.[] | select(.role == "admin") |
	    select(.state == "current") | .cert_path'
}

# ad_start — controllerd in the background ($cpid); CA is its admin
# certificate. Returns non-zero when it does not come up.
ad_start() {
	"$BIN/tlsgate-controllerd" -f -c "$conf" > "$log" 2>&1 &
	cpid=$!
	if ! check "controllerd listens on admin.listen" \
	    wait_port 127.0.0.1 "$AD_PORT" 30; then
		sed 's/^/#   /' "$log" | tail -20
		return 1
	fi
	check "the admin certificate is in the store" wait_for 10 \
		test -n "$(admin_cert)"
	CA=$(admin_cert)
}

# req METHOD PATH [curl options] — the status; body in $T/b, headers $T/h
req() {
	local m=$1 p=$2; shift 2
	curl -sS --max-time 10 --cacert "$CA" \
	    --resolve "localhost:$AD_PORT:127.0.0.1" -b "$T/jar" -c "$T/jar" \
	    -D "$T/h" -o "$T/b" -w '%{http_code}' -X "$m" "$@" "$URL$p" \
	    2>"$T/curl.err"
}
# post PATH JSON [curl options] — with the console's Origin and token
post() {
	local p=$1 body=$2; shift 2
	req POST "$p" -H "Content-Type: application/json" \
	    -H "Origin: $URL" -H "X-CSRF-Token: $CSRF" --data-binary "$body" \
	    "$@"
}
header() { tr -d '\r' < "$T/h" | grep -i "^$1: " | head -1 | cut -d' ' -f2-; }

# ad_login — as alice; CSRF is the session's token afterwards.
ad_login() {
	local code
	code=$(post /api/login "{\"username\": \"alice\", \"password\": \"$PW\"}")
	[ "$code" = 200 ] || return 1
	CSRF=$(jq -r .csrf "$T/b")
}

ad_stop() {
	kill -TERM "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
	return 0
}
