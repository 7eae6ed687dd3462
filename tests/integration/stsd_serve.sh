# tlsgate-stsd, the MTA-STS policy host (RFC 8461 §3.2, §3.3, §8.1, §8.3;
# RELIABILITY H-01..H-03), on the lab network: two hosted domains served on
# 127.0.5.2:443 (mta-sts.gw.test is there in the lab DNS), fetched by curl
# with each self-signed certificate pinned, by openssl s_client for SNI,
# and by a real MTA-STS client from Debian, postfix-mta-sts-resolver's
# mta-sts-query (system resolver = the lab's Unbound; CA file through
# SSL_CERT_FILE, which Python's default SSL context honours). Then: a
# policy change is served before its id is shown, a removal serves mode
# none until the window ends, a reload keeps an open keep-alive
# connection answered, and the limits hold under a flood of slow
# connections while a normal fetch still succeeds.

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
D1=gw.test D2=second.test
conf=$(tg_write_conf)
cat >> "$conf" <<CONF
run_dir = $T/run
user = ""
relay.hostname = mx.gw.test
store.poll_interval = 1
sts.listen = $ADDR:443
dns.timeout = 5
CONF
cat "$TG_NET_CONF" >> "$conf"
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
log="$T/stsd.log"
CRLF=$'\r\n'
body_of() { # MODE MAX_AGE [MX]
	printf 'version: STSv1\r\nmode: %s\r\n%smax_age: %s\r\n' "$1" \
	    "${3:+mx: $3$CRLF}" "$2"
}
# The id of a body: $(...) drops the final LF of its last CRLF, put it back.
id_of() { printf '%s\n' "$1" | sha256sum | cut -c1-20; }

runs=0
start_stsd() { # [env assignments...]
	runs=$((runs + 1))
	log="$T/stsd.$runs.log"
	env "$@" "$BIN/tlsgate-stsd" -f -c "$conf" >> "$log" 2>&1 &
	stsd_pid=$!
	wait_for 10 grep -q "event=start result=ok" "$log"
}
stop_stsd() {
	kill -TERM "$stsd_pid" 2>/dev/null
	wait "$stsd_pid" 2>/dev/null
}
reloads() { grep -c "event=reload result=ok" "$log"; }
wait_reload() { # after N reloads
	wait_for 10 bash -c "[ \$(grep -c 'event=reload result=ok' '$log') -gt $1 ]"
}
# fetch HOST PATH [curl options] — status code; body in $T/b, headers $T/h
fetch() {
	local host=$1 path=$2; shift 2
	curl -sS --max-time 5 --cacert "$(cert_of "$host")" \
	    --resolve "$host:443:$ADDR" -D "$T/h" -o "$T/b" -w '%{http_code}' \
	    "$@" "https://$host$path" 2>"$T/curl.err"
}
cert_of() { ls "$T"/state/certs/"$1"-*.pem 2>/dev/null | head -1; }
show_id() { tg sts show "$1" --json | jq -r '.served.id // ""'; }
sclient() { # SNI-OPTIONS...
	timeout 5 openssl s_client -connect "$ADDR:443" "$@" </dev/null \
	    >"$T/sc.out" 2>&1
}
query() { # CAFILE DOMAIN — mta-sts-query's printed result
	SSL_CERT_FILE=$1 timeout 20 mta-sts-query "$2" 2>&1 | tail -1
}

# ---- set-up: two domains, enforce refused while an MX is uncovered ----
check "init" tg init
check "domain add $D1" tg domain add $D1
check "domain add $D2" tg domain add $D2
check_exit "enforce refused while mx.gw.test is not covered" 2 \
	tg sts set $D1 --mode enforce --mx other.gw.test --max-age 86400
expect_match "the refusal names the uncovered MX" \
	"MX host mx.gw.test is not covered" "$(last_output)"
check "enforce accepted with every MX covered" \
	tg sts set $D1 --mode enforce --mx mx.gw.test --max-age 86400
check "testing accepted (with a warning) for $D2" \
	tg sts set $D2 --mode testing --mx mail.$D2 --max-age 3600
expect_match "testing warns about the uncovered implicit MX" \
	"warning.*not covered" "$(last_output)"
check_exit "sts set on an unknown domain fails" 2 \
	tg sts set nope.test --mode testing --mx mx.nope.test

check "stsd starts" start_stsd
B1=$(body_of enforce 86400 mx.gw.test)
B2=$(body_of testing 3600 mail.$D2)

# ---- H-01: serving, per host ----
expect_eq "$D1: 200" 200 "$(fetch mta-sts.$D1 /.well-known/mta-sts.txt)"
expect_eq "$D1: the policy body, CRLF lines" "$B1" "$(cat "$T/b")"
expect_match "$D1: Content-Type text/plain" "^Content-Type: text/plain" \
	"$(tr -d '\r' < "$T/h")"
expect_eq "$D2: 200" 200 "$(fetch mta-sts.$D2 /.well-known/mta-sts.txt)"
expect_eq "$D2: its own policy" "$B2" "$(cat "$T/b")"
expect_eq "HTTP/1.0 is served too" 200 \
	"$(fetch mta-sts.$D1 /.well-known/mta-sts.txt --http1.0)"
expect_eq "another path: 404" 404 "$(fetch mta-sts.$D1 /index.html)"
expect_eq "HEAD: 200" 200 "$(fetch mta-sts.$D1 /.well-known/mta-sts.txt -I)"
expect_match "HEAD: the body's length, no body" \
	"^Content-Length: $(( ${#B1} + 1 ))$" \
	"$(tr -d '\r' < "$T/h")"
expect_eq "POST: 405" 405 \
	"$(fetch mta-sts.$D1 /.well-known/mta-sts.txt -d x=1)"
expect_match "405 says what is allowed" "^Allow: GET, HEAD" \
	"$(tr -d '\r' < "$T/h")"
expect_eq "a Host other than the SNI name: 421" 421 \
	"$(fetch mta-sts.$D1 /.well-known/mta-sts.txt -H "Host: mta-sts.$D2")"

check "SNI mta-sts.$D1 gets a handshake" sclient -servername mta-sts.$D1
expect_match "SNI mta-sts.$D1 selects its certificate" \
	"subject=CN ?= ?mta-sts.$D1" "$(cat "$T/sc.out")"
check "SNI mta-sts.$D2 gets a handshake" sclient -servername mta-sts.$D2
expect_match "SNI mta-sts.$D2 selects its certificate" \
	"subject=CN ?= ?mta-sts.$D2" "$(cat "$T/sc.out")"
check_fails "an unknown SNI name is refused" \
	sclient -servername mta-sts.unknown.test
expect_no_match "no certificate for an unknown name" "BEGIN CERTIFICATE" \
	"$(cat "$T/sc.out")"
check_fails "no SNI is refused" sclient -noservername
check_fails "TLS 1.1 is refused" sclient -servername mta-sts.$D1 -tls1_1

# ---- publication: the id shown is the served body's ----
ID1=$(show_id $D1)
expect_eq "sts show prints the id of the served body" "$(id_of "$B1")" "$ID1"
out=$(tg sts show $D1)
expect_match "sts show prints the TXT record" \
	"_mta-sts.$D1. IN TXT \"v=STSv1; id=$ID1\"" "$out"
expect_match "sts show prints the host's address" \
	"mta-sts.$D1. IN A $ADDR" "$out"
expect_match "sts show prints the policy" "mode: enforce" "$out"
check "publish the TXT record" tg_net_update $D1 \
	"update add _mta-sts.$D1. 60 TXT \"v=STSv1; id=$ID1\""
res=$(query "$(cert_of mta-sts.$D1)" $D1)
expect_match "mta-sts-query: the policy is valid" "STSFetchResult.VALID" "$res"
expect_match "mta-sts-query: the id as published" "'$ID1'" "$res"
expect_match "mta-sts-query: mode enforce" "'mode': 'enforce'" "$res"
expect_match "mta-sts-query: the mx pattern" "'mx': \\['mx.gw.test'\\]" "$res"
res=$(query "$TG_NET_CA_CERT" $D1)
expect_match "mta-sts-query refuses the certificate without its CA" \
	"FETCH_ERROR" "$res"

# ---- §8.1: a changed policy is served before its id is shown ----
stop_stsd
check "max_age changed while stsd is down" tg sts set $D1 --max-age 172800
B1b=$(body_of enforce 172800 mx.gw.test)
ID1b=$(id_of "$B1b")
expect_eq "not served yet: sts show keeps the served id" "$ID1" \
	"$(show_id $D1)"
expect_match "not served yet: sts show says so" "not served yet" \
	"$(tg sts show $D1)"
expect_eq "not served yet: in_sync is false" false \
	"$(tg sts show $D1 --json | jq -r .in_sync)"
check "stsd starts again" start_stsd
expect_eq "the new body is served" "$B1b" \
	"$(fetch mta-sts.$D1 /.well-known/mta-sts.txt >/dev/null; cat "$T/b")"
expect_eq "only now is its id shown" "$ID1b" "$(show_id $D1)"

# With stsd running: sample the shown id, then the body, until the new
# id shows; whenever it does, the body must already be the new one.
n=$(reloads)
check "testing for $D1" tg sts set $D1 --mode testing
B1c=$(body_of testing 172800 mx.gw.test)
ID1c=$(id_of "$B1c")
bad=0 seen=0
for _ in $(seq 60); do
	i=$(show_id $D1)
	fetch mta-sts.$D1 /.well-known/mta-sts.txt >/dev/null
	if [ "$i" = "$ID1c" ]; then
		seen=1
		[ "$(cat "$T/b")" = "$B1c" ] || bad=$((bad + 1))
		break
	fi
	[ "$i" = "$ID1b" ] || bad=$((bad + 1))
	sleep 0.1
done
expect_eq "the new id is shown after a reload" 1 "$seen"
expect_eq "never a new id with the old body" 0 "$bad"
check "the reload is logged" wait_reload "$n"
check "publish the new id" tg_net_update $D1 \
	"update delete _mta-sts.$D1. TXT" \
	"update add _mta-sts.$D1. 60 TXT \"v=STSv1; id=$ID1c\""
expect_match "mta-sts-query sees the new policy" \
	"'$ID1c'.*'mode': 'testing'" "$(query "$(cert_of mta-sts.$D1)" $D1)"

# ---- a reload keeps an open keep-alive connection answered ----
cat > "$T/keepalive.py" <<'PY'
import os, socket, ssl, sys, time
addr, host, ca, flag = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection((addr, 443), timeout=10),
                    server_hostname=host)
f = s.makefile("rb")
def get():
    s.sendall(("GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: %s\r\n\r\n"
               % host).encode())
    status = f.readline().split()[1].decode()
    n = 0
    while True:
        line = f.readline().strip()
        if not line:
            break
        k, v = line.decode().split(":", 1)
        if k.lower() == "content-length":
            n = int(v)
    return status, f.read(n).decode().replace("\r\n", "/")
print("first", *get(), sep="|", flush=True)
open(flag + ".ready", "w").close()
for _ in range(100):
    if os.path.exists(flag):
        break
    time.sleep(0.1)
print("second", *get(), sep="|", flush=True)
PY
n=$(reloads)
python3 "$T/keepalive.py" "$ADDR" mta-sts.$D2 "$(cert_of mta-sts.$D2)" \
    "$T/go" > "$T/ka.out" 2>&1 &
ka=$!
check "keep-alive client has its first answer" wait_for 10 test -e "$T/go.ready"
check "max_age of $D2 changed" tg sts set $D2 --max-age 7200
check "stsd reloads on the store change" wait_reload "$n"
touch "$T/go"
wait "$ka"
slashed() { printf '%s\n' "$1" | tr -d '\r' | tr '\n' /; }
expect_eq "first request on the connection: the old policy" \
	"first|200|$(slashed "$B2")" "$(sed -n 1p "$T/ka.out")"
expect_eq "second request, same connection, after the reload: the new one" \
	"second|200|$(slashed "$(body_of testing 7200 mail.$D2)")" \
	"$(sed -n 2p "$T/ka.out")"

# ---- §8.3: removal serves mode none, then nothing ----
n=$(reloads)
check "MTA-STS off for $D1" tg sts set $D1 --mode off
check "stsd reloads" wait_reload "$n"
BN=$(body_of none 86400)
expect_eq "mode none is served" "$BN" \
	"$(fetch mta-sts.$D1 /.well-known/mta-sts.txt >/dev/null; cat "$T/b")"
expect_eq "under a new id" "$(id_of "$BN")" "$(show_id $D1)"
expect_eq "sts show: withdrawing" true \
	"$(tg sts show $D1 --json | jq -r .served.withdrawing)"
expect_match "sts show explains the removal" "is being removed.*until" \
	"$(tg sts show $D1)"
check "publish the mode none id" tg_net_update $D1 \
	"update delete _mta-sts.$D1. TXT" \
	"update add _mta-sts.$D1. 60 TXT \"v=STSv1; id=$(id_of "$BN")\""
expect_match "mta-sts-query sees mode none" "'mode': 'none'" \
	"$(query "$(cert_of mta-sts.$D1)" $D1)"
# 172800 s (the longest max_age served) after the removal, the window is
# over: restarted with the clock two days and a minute ahead.
stop_stsd
check "stsd starts two days later" \
	start_stsd TLSGATE_FAKE_NOW=$(( $(date +%s) + 172860 ))
check "the removal is logged" grep -q "domain=$D1 result=removed" "$log"
expect_eq "after the window: 404" 404 \
	"$(fetch mta-sts.$D1 /.well-known/mta-sts.txt)"
expect_eq "sts show: nothing served" "" "$(show_id $D1)"
expect_match "sts show tells to delete the TXT record" "delete it" \
	"$(tg sts show $D1)"
expect_eq "$D2 is still served" 200 \
	"$(fetch mta-sts.$D2 /.well-known/mta-sts.txt)"
stop_stsd
check "stsd starts again" start_stsd

# ---- H-03: a flood of slow connections ----
cat > "$T/slow.py" <<'PY'
# Slow TLS clients: each sends a real ClientHello one byte per second.
# argv: ADDR SECONDS then SRC:COUNT...; prints per source how many the
# server closed, and how many were still open at the end.
import socket, ssl, sys, time, errno
addr, secs = sys.argv[1], float(sys.argv[2])
ctx = ssl.create_default_context()
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, out, server_hostname="mta-sts.second.test")
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = out.read()
conns = []
for spec in sys.argv[3:]:
    src, n = spec.split(":")
    for _ in range(int(n)):
        s = socket.socket()
        s.bind((src, 0))
        s.setblocking(False)
        try:
            s.connect((addr, 443))
        except BlockingIOError:
            pass
        conns.append([src, s, 0, False])
start = time.time()
while time.time() - start < secs:
    for c in conns:
        if c[3]:
            continue
        try:
            if c[2] < len(hello):
                c[1].send(hello[c[2]:c[2] + 1])
                c[2] += 1
            data = c[1].recv(1)
            if data == b"":
                c[3] = True
        except BlockingIOError:
            pass
        except OSError:
            c[3] = True
    time.sleep(1)
closed = {}
for src, s, _, dead in conns:
    closed.setdefault(src, [0, 0])
    closed[src][0 if dead else 1] += 1
for src in sorted(closed):
    print("%s closed=%d open=%d" % (src, closed[src][0], closed[src][1]))
PY
cpu() { awk '{print $14 + $15}' "/proc/$stsd_pid/stat"; }
src=""
for i in $(seq 1 10); do src="$src 127.0.6.$i:30"; done
cpu0=$(cpu)
python3 "$T/slow.py" "$ADDR" 10 $src 127.0.6.100:100 > "$T/slow.out" 2>&1 &
slow=$!
sleep 3
t0=$(date +%s%N)
expect_eq "during the flood a normal fetch succeeds" 200 \
	"$(fetch mta-sts.$D2 /.well-known/mta-sts.txt)"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "...within 5 s (took ${ms} ms)" test "$ms" -lt 5000
sleep 3
expect_eq "a second fetch later in the flood succeeds" 200 \
	"$(fetch mta-sts.$D2 /.well-known/mta-sts.txt --max-time 5)"
wait "$slow"
cpu1=$(cpu)
sed 's/^/# slow clients from /' "$T/slow.out"
echo "# stsd CPU during the flood: $((cpu1 - cpu0)) ticks"
expect_match "the slow clients ran" "127.0.6.1 " "$(cat "$T/slow.out")"
open100=$(sed -n 's/^127.0.6.100 closed=[0-9]* open=\([0-9]*\)$/\1/p' "$T/slow.out")
check "one address gets at most 32 connections (had ${open100:-?})" \
	test "${open100:-999}" -le 32
closed_small=$(awk '$1 != "127.0.6.100" { split($2, a, "="); s += a[2] }
	END { print s + 0 }' "$T/slow.out")
expect_eq "addresses under the limit keep every connection" 0 "$closed_small"
# 300 slow peers for 10 s cost a few hundred wakeups, not a busy loop.
check "CPU during the flood stays low ($((cpu1 - cpu0)) ticks in ~10 s)" \
	test $((cpu1 - cpu0)) -lt 300
check "still serving after the flood" \
	test "$(fetch mta-sts.$D2 /.well-known/mta-sts.txt)" = 200

kill -TERM "$stsd_pid"
wait "$stsd_pid"
expect_eq "clean stop" 0 "$?"
tg_net_down
