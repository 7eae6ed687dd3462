# tlsgate-stsd answering ACME http-01 challenges (RFC 8555 §8.3) on plain
# HTTP, on the lab network: with acme.directory set, stsd listens on
# sts.http_listen (127.0.5.2:80, mta-sts.gw.test in the lab DNS) beside its
# HTTPS policy host. A challenge put into the store (by a helper calling
# tg_store_acme_challenge_put, as the controller will) is answered after
# stsd's reload with exactly the key authorization; unknown tokens, bad
# token syntax and other paths are 404, POST 405; a removed or expired
# challenge is 404 again; an oversized header is refused; the HTTPS policy
# is served as before. Without acme.directory nothing listens on port 80.

. "$TOP/tests/net/net.sh"
if ! tg_net_available; then
	skip "stsd on the lab network needs root namespaces"
	exit 0
fi
if ! tg_net_up dns; then
	not_ok "lab DNS is up"
	exit 0
fi

ADDR=$TG_NET_GW_STS_ADDR		# 127.0.5.2, mta-sts.gw.test in DNS
HOST=mta-sts.gw.test
D=gw.test
TOKEN=evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA
KEYAUTH=$TOKEN.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI
PREFIX=/.well-known/acme-challenge
conf=$(tg_write_conf)
cat >> "$conf" <<CONF
run_dir = $T/run
user = ""
relay.hostname = mx.gw.test
store.poll_interval = 1
sts.listen = $ADDR:443
sts.http_listen = $ADDR:80
dns.timeout = 5
CONF
cat "$TG_NET_CONF" >> "$conf"
cp "$conf" "$T/no-acme.conf"
echo "acme.directory = https://127.0.3.1:14000/dir" >> "$conf"
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
chal() { "$T/acmechallenge" "$T/state" "$@"; }

runs=0
start_stsd() { # CONF
	runs=$((runs + 1))
	log="$T/stsd.$runs.log"
	"$BIN/tlsgate-stsd" -f -c "$1" >> "$log" 2>&1 &
	stsd_pid=$!
	wait_for 10 grep -q "event=start result=ok" "$log"
}
stop_stsd() { # its exit status
	kill -TERM "$stsd_pid" 2>/dev/null
	wait "$stsd_pid" 2>/dev/null
}
reloads() { grep -c "event=reload result=ok" "$log"; }
wait_reload() { # after N reloads
	wait_for 10 bash -c "[ \$(grep -c 'event=reload result=ok' '$log') -gt $1 ]"
}
# get PATH [curl options] — the status code over plain HTTP; the body in
# $T/b, the headers in $T/h. The name resolves through the lab DNS.
get() {
	local path=$1; shift
	curl -sS --max-time 5 -D "$T/h" -o "$T/b" -w '%{http_code}' "$@" \
	    "http://$HOST$path" 2>"$T/curl.err"
}
# served TOKEN KEYAUTH — the challenge is answered with exactly KEYAUTH.
served() {
	[ "$(get "$PREFIX/$1")" = 200 ] && [ "$(cat "$T/b")" = "$2" ]
}
gone() { [ "$(get "$PREFIX/$1")" = 404 ]; }
https_policy() {
	curl -sS --max-time 5 --cacert "$(ls "$T"/state/certs/$HOST-*.pem |
	    head -1)" -o "$T/p" -w '%{http_code}' \
	    "https://$HOST/.well-known/mta-sts.txt" 2>"$T/curl.err"
}
headers() { tr -d '\r' < "$T/h"; }

check "the challenge helper builds" tg_build_helper acmechallenge \
	"$T/acmechallenge"
check "init" tg init
check "domain add $D" tg domain add $D
check "MTA-STS testing for $D" tg sts set $D --mode testing --mx mx.$D \
	--max-age 86400
check "stsd starts with acme.directory set" start_stsd "$conf"
check "it listens for http-01 on $ADDR:80" \
	grep -q "event=listen address=$ADDR:80" "$log"
check "port 80 is open" wait_port "$ADDR" 80 5

# ---- a challenge from the store, after the reload ----
expect_eq "before the challenge is stored: 404" 404 "$(get "$PREFIX/$TOKEN")"
check "put the challenge into the store" chal put "$TOKEN" "$KEYAUTH" \
	$HOST +3600
check "after stsd's reload (store.poll_interval 1s) it is answered" \
	wait_for 10 served "$TOKEN" "$KEYAUTH"
expect_eq "200" 200 "$(get "$PREFIX/$TOKEN")"
printf '%s' "$KEYAUTH" > "$T/want"
check "the body is exactly the key authorization, no newline" \
	cmp "$T/want" "$T/b"
expect_match "Content-Type application/octet-stream" \
	"^Content-Type: application/octet-stream$" "$(headers)"
expect_no_match "no HSTS over plain HTTP" "Strict-Transport-Security" \
	"$(headers)"
expect_eq "HEAD: 200" 200 "$(get "$PREFIX/$TOKEN" -I)"
expect_match "HEAD: the key authorization's length" \
	"^Content-Length: ${#KEYAUTH}$" "$(headers)"
expect_eq "any host name is answered" 200 \
	"$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
	--resolve other.example:80:$ADDR "http://other.example$PREFIX/$TOKEN")"
check "the answer is logged: token prefix, host, served" grep -q \
	"event=acme-challenge token=${TOKEN:0:8}\.\.\. host=$HOST .*result=served" \
	"$log"
expect_no_match "the whole token is not logged" "$TOKEN" "$(cat "$log")"

# ---- what is not a known challenge ----
expect_eq "unknown token: 404" 404 "$(get "$PREFIX/unknownToken123")"
expect_match "404 is text/plain" "^Content-Type: text/plain" "$(headers)"
check "an unknown token is logged as such" grep -q \
	"event=acme-challenge token=unknownT\.\.\. host=$HOST .*result=unknown" \
	"$log"
expect_eq "bad token syntax: 404" 404 "$(get "$PREFIX/a.b")"
expect_eq "no token: 404" 404 "$(get "$PREFIX/")"
expect_eq "a path below the token: 404" 404 "$(get "$PREFIX/$TOKEN/x")"
expect_eq "the prefix without its slash: 404" 404 "$(get "$PREFIX")"
expect_eq "another path: 404" 404 "$(get /index.html)"
expect_eq "the MTA-STS policy is not on port 80: 404" 404 \
	"$(get /.well-known/mta-sts.txt)"
expect_eq "POST: 405" 405 "$(get "$PREFIX/$TOKEN" -d x=1)"
expect_match "405 says what is allowed" "^Allow: GET, HEAD" "$(headers)"
big=$(head -c 40000 /dev/zero | tr '\0' a)
code=$(get "$PREFIX/$TOKEN" -H "X-Big: $big")
check "an oversized header is refused (431 or closed; got $code)" \
	test "$code" = 431 -o "$code" = 000
expect_eq "and the next request is answered" 200 "$(get "$PREFIX/$TOKEN")"

# ---- the HTTPS side is as before ----
expect_eq "the HTTPS policy is still served" 200 "$(https_policy)"
expect_match "the policy body" "mode: testing" "$(cat "$T/p")"

# ---- removed, expired ----
n=$(reloads)
check "remove the challenge" chal remove "$TOKEN"
check "after the reload it is 404" wait_for 10 gone "$TOKEN"
check "stsd reloaded for the removal" wait_reload "$n"
check_exit "removing it again: not found" 1 chal remove "$TOKEN"
check "a challenge valid for 4 s" chal put short-lived short-lived.k $HOST +4
check "is answered" wait_for 3 served short-lived short-lived.k
check "then, past its expiry, is 404 without a store change" \
	wait_for 10 gone short-lived
n=$(reloads)
check "a challenge already expired" chal put expired expired.k $HOST -1
check "stsd reloads" wait_reload "$n"
expect_eq "an expired challenge: 404" 404 "$(get "$PREFIX/expired")"
check "purge deletes the expired ones" chal purge
check_exit "the purged challenge is gone from the store" 1 \
	chal remove expired
check_exit "the store refuses a bad token" 2 chal put "a/b" k $HOST +60
expect_eq "the HTTPS policy is still served" 200 "$(https_policy)"
check "stsd stops cleanly" stop_stsd

# ---- without acme.directory: nothing on port 80 ----
check "stsd starts without acme.directory" start_stsd "$T/no-acme.conf"
expect_no_match "no http-01 listener is set up" "acme-http01|address=$ADDR:80" \
	"$(cat "$log")"
check_exit "nothing listens on port 80 (curl cannot connect)" 7 \
	curl -sS --max-time 5 -o /dev/null "http://$HOST$PREFIX/x"
expect_eq "the HTTPS policy is served" 200 "$(https_policy)"
check "stsd stops cleanly" stop_stsd
tg_net_down
