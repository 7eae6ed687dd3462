# relayd limits and protocol rules over real sockets (RELIABILITY I-05,
# I-06, I-07, I-11): recipients (452 4.5.3), declared and undeclared size
# (552 5.3.4, read to the end, nothing kept), command line length
# (500 5.5.2), error count (421), input before the greeting and
# unauthorised pipelining (554 5.5.0 and close), HTTP on the SMTP port
# (554 and close), mail loops: 50 Received fields or more (554 5.4.6, Q-08).

. "$TOP/tests/integration/relay_in_lib.bash"
relay_conf "smtp.max_message_size = 2048" "smtp.max_recipients = 3"
check "init" tg init
check "allow loopback" tg relay allow 127.0.0.0/8
check "relayd starts" relay_start

talk() { client chat 127.0.0.1 $RELAY_PORT "$@"; }

out=$(swaks --server 127.0.0.1:$RELAY_PORT --from a@example.org \
	--to a@example.net,b@example.net,c@example.net,d@example.net 2>&1)
expect_match "the fourth recipient gets 452 4.5.3" "452 4.5.3" "$out"
expect_eq "the message went to the three accepted" 1 "$(queue_count)"

expect_eq "SIZE above the limit: 552 at MAIL" "220 250 552 221" \
	"$(talk "EHLO c.example" "MAIL FROM:<a@example.org> SIZE=2049" QUIT)"

body=$(head -c 5000 /dev/zero | tr '\0' 'x')
out=$(swaks --server 127.0.0.1:$RELAY_PORT --from a@example.org \
	--to a@example.net --body "$body" 2>&1)
expect_match "an oversized message without SIZE: 552 5.3.4 after DATA" \
	"<\*\* 552 5.3.4" "$out"
expect_eq "the oversized message is not queued" 1 "$(queue_count)"
check "nothing left in incoming/" test -z "$(ls "$T/spool/incoming")"

# RFC 5321 §6.3, RELIABILITY Q-08: a message that has been through 50
# hops (Received fields) or more is a loop: refused after DATA.
hops() {
	python3 - "$RELAY_PORT" "$1" <<'PY'
import smtplib, sys
msg = "Received: x\r\n" * int(sys.argv[2]) + "Subject: hops\r\n\r\nbody\r\n"
try:
    with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20) as s:
        s.sendmail("a@example.org", ["a@example.net"], msg)
    print("250")
except smtplib.SMTPDataError as e:
    print(e.smtp_code, e.smtp_error.decode())
PY
}
expect_match "60 Received fields: 554 5.4.6, loop detected" \
	"^554 5.4.6 .*loop detected" "$(hops 60)"
expect_match "50 Received fields (Postfix's hopcount_limit): refused too" \
	"^554 5.4.6" "$(hops 50)"
expect_eq "the looping messages are not queued" 1 "$(queue_count)"
expect_eq "49 Received fields: accepted" 250 "$(hops 49)"
expect_eq "and queued" 2 "$(queue_count)"

long=$(head -c 3000 /dev/zero | tr '\0' 'A')
expect_eq "a 3000-byte command line: 500, then the session goes on" \
	"220 250 500 250 221" "$(talk "EHLO c.example" "NOOP $long" NOOP QUIT)"
expect_match "500 5.5.2 line too long" "500 5.5.2 Error: line too long" \
	"$(python3 -c "import socket,time
s=socket.create_connection(('127.0.0.1',$RELAY_PORT)); f=s.makefile('rb'); f.readline()
s.sendall(b'NOOP '+b'A'*3000+b'\\r\\n'); print(f.readline().decode())")"

cmds=()
for i in $(seq 1 25); do cmds+=("BOGUS$i"); done
expect_eq "20 errors, then 421 and close" \
	"220 500 500 500 500 500 500 500 500 500 500 500 500 500 500 500 500 500 500 500 500 421 closed" \
	"$(talk "${cmds[@]}")"

expect_eq "HTTP GET: 554 and close" "220 554 closed" \
	"$(talk "GET / HTTP/1.1" "Host: relay.example.net" "")"
expect_eq "HTTP CONNECT after EHLO: 554 and close" "220 250 554 closed" \
	"$(talk "EHLO c.example" "CONNECT example.org:443 HTTP/1.1" "")"

# Two commands in one segment (bash writes line by line: Python).
pipe() {
	python3 - "$RELAY_PORT" "$@" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
codes = [f.readline()[:3].decode()]
for group in sys.argv[2:]:
    s.sendall(group.encode().replace(b"|", b"\r\n") + b"\r\n")
    time.sleep(0.2)
s.settimeout(5)
for line in f:
    if line[3:4] == b" ":
        codes.append(line[:3].decode())
print(" ".join(codes))
PY
}
expect_eq "pipelining without EHLO: 554 5.5.0 and close" "220 250 554" \
	"$(pipe "HELO c.example" "MAIL FROM:<a@example.org>|RCPT TO:<b@example.net>")"
expect_eq "a command pipelined behind EHLO: 554 5.5.0 and close" "220 554" \
	"$(pipe "EHLO c.example|NOOP")"
expect_eq "content before the 354: 554 5.5.0 and close" "220 250 250 250 554" \
	"$(pipe "EHLO c.example" "MAIL FROM:<a@example.org>|RCPT TO:<b@example.net>|DATA|Subject: x||early|.")"
expect_eq "with EHLO, MAIL RCPT DATA in one group is fine" \
	"220 250 250 250 354 250 221" \
	"$(pipe "EHLO c.example" "MAIL FROM:<a@example.org>|RCPT TO:<b@example.net>|DATA" "x|.|QUIT")"

# Input before the greeting: relayd is stopped while the client connects
# (the kernel completes the handshake) and speaks first.
kill -STOP "$relay_pid"
exec 3<>/dev/tcp/127.0.0.1/$RELAY_PORT
printf 'EHLO early.example\r\n' >&3
kill -CONT "$relay_pid"
timeout 5 cat <&3 > "$T/early.txt"
exec 3<&-
expect_eq "input before the greeting: only 554 5.5.0, then close" \
	"554 5.5.0" "$(cut -c1-9 "$T/early.txt" | tr -d '\r')"
expect_match "the violation is logged with the bytes" \
	'event=violation .*reason="input before the greeting" input="EHLO early.example%0D%0A"' \
	"$(cat "$RELAY_LOG")"
expect_eq "three messages queued so far" 3 "$(queue_count)"
# Many idle sessions from one address (RELIABILITY I-08): beyond 200 the
# excess gets 421 4.7.0 at once; another client is served meanwhile.
python3 - "$RELAY_PORT" > "$T/idle.txt" <<'PY' &
import socket, sys, time
conns, codes = [], []
for i in range(205):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.settimeout(10)
    codes.append(s.recv(512)[:3].decode())
    conns.append(s)
print(codes.count("220"), codes.count("421"), flush=True)
time.sleep(8)
PY
idle=$!
check "205 idle sessions are open" wait_for 20 grep -q . "$T/idle.txt"
expect_eq "200 greeted, 5 refused with 421" "200 5" "$(cat "$T/idle.txt")"
out=$(timeout 10 swaks --server 127.0.0.1:$RELAY_PORT --local-interface 127.0.0.2 \
	--from a@example.org --to b@example.net 2>&1)
expect_match "another client is served meanwhile" "250 2.0.0 Ok: queued" "$out"
kill "$idle" 2>/dev/null
wait "$idle" 2>/dev/null
relay_stop
relay_clean_log
