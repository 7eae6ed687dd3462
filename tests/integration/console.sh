# The web console in a real browser (RELIABILITY S-04, S-05; web/API.md):
# controllerd serves web/ and the admin API on admin.listen; Debian's
# chromium, headless, driven by chromedriver through python3-selenium
# (tests/integration/console_driver.py), logs in, lists the certificates,
# sees the queues (empty) and the TLS reports (one imported), adds,
# changes and removes a domain through the forms, is refused a name with
# markup in it (shown as text, nothing run), allows a relay network and is
# refused a malformed one (the API's error at the form), denies it, sets
# and removes an outbound TLS policy, flushes both queues (no daemon runs:
# "not running"), checks the hosted domain receiver.example (tlsgate check,
# started by POST /api/checks and followed until done: there is no lab DNS
# here, so only that a result with its problems or a could-not-check
# message is shown is asserted) through the form and through the domain's
# Check button, is refused a malformed name to check (the API's 400 at the
# form, no check started), sees no CSP violation, logs out.
#
# The browser trusts the admin certificate as an administrator's would be
# made to, not by skipping the check: chromium on Linux reads the NSS
# database in $HOME/.pki/nssdb, and the driver gives it a fresh HOME whose
# database (certutil, libnss3-tools) holds the admin certificate of the
# store as a trusted peer ("P,,"). No --ignore-certificate-errors, no
# acceptInsecureCerts.
# The page is browsed as https://localhost:PORT/ (a name, so SNI is sent;
# --host-resolver-rules maps it to 127.0.0.1).

PY=/usr/bin/python3	# Debian's, the one python3-selenium is installed for
missing=""
for f in /usr/bin/chromium /usr/bin/chromedriver /usr/bin/certutil; do
	[ -x "$f" ] || missing="$missing $f"
done
"$PY" -c "import selenium" 2>/dev/null || missing="$missing python3-selenium"
if [ -n "$missing" ]; then
	not_ok "browser test tools installed (missing:$missing; run make deps)"
	exit 0
fi

PORT=9443
URL="https://localhost:$PORT"
conf=$(tg_write_conf)
cat >> "$conf" <<CONF
run_dir = $T/run
user = ""
store.poll_interval = 1
relay.hostname = mx.gw.test
admin.listen = 127.0.0.1:$PORT
admin.hostname = localhost
dns.timeout = 3
CONF
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
# The driver runs `tlsgate domain|relay|policy list --json` through this.
printf '#!/bin/sh\nexec "%s" -c "%s" "$@"\n' "$BIN/tlsgate" "$conf" > "$T/tg"
chmod 755 "$T/tg"
log="$T/controllerd.log"

check "init" tg init
# A password of the console user, never on a command line.
head -c 18 /dev/urandom | base64 | tr -d '\n' > "$T/password"
chmod 600 "$T/password"
check "tlsgate admin add admin --password-stdin" \
	tg admin add admin --password-stdin < "$T/password"
# A received TLS report of yesterday for a hosted domain, for the console's
# TLS reports table (its queues stay empty: no relayd runs).
check "tlsgate domain add receiver.example" tg domain add receiver.example
day=$(date -u -d yesterday +%Y-%m-%d)
jq --arg d "$day" '."date-range" = {"start-datetime": ($d + "T00:00:00Z"),
    "end-datetime": ($d + "T23:59:59Z")} | ."report-id" = "console-" + $d' \
    "$TOP/tests/fixtures/tlsrpt/google-like.json" > "$T/report.json"
check "tlsgate report import (yesterday's report)" \
	tg report import "$T/report.json"

"$BIN/tlsgate-controllerd" -f -c "$conf" > "$log" 2>&1 &
cpid=$!
if ! check "controllerd listens on admin.listen" wait_port 127.0.0.1 $PORT 30
then
	sed 's/^/#   /' "$log" | tail -20
	exit 0
fi

# The admin certificate (self-signed for admin.hostname at first use).
admin_cert() {
	tg cert list --json | jq -r '[.[] | select(.role == "admin")] |
	    (map(select(.state == "current")) + .)[0].cert_path // empty'
}
have_admin_cert() { test -s "$(admin_cert)"; }
check "the store has an admin certificate" wait_for 10 have_admin_cert
cert=$(admin_cert)
spki=$(tg cert list --json | jq -r --arg p "$cert" \
    '.[] | select(.cert_path == $p) | .spki_sha256')
echo "# admin certificate: $cert"

# The transport seen by curl, pinned to that certificate: what the
# browser relies on below (nosniff would refuse a script of another type).
get() { # PATH — status; headers in $T/h, body in $T/b
	curl -sS --max-time 5 --cacert "$cert" --resolve "localhost:$PORT:127.0.0.1" \
	    -D "$T/h" -o "$T/b" -w '%{http_code}' "$URL$1" 2>"$T/curl.err"
}
hdrs() { tr -d '\r' < "$T/h"; }
expect_eq "GET / with the admin certificate pinned: 200" 200 "$(get /)"
expect_match "/ is HTML" "^[Cc]ontent-[Tt]ype: text/html" "$(hdrs)"
csp="default-src 'none'; script-src 'self'; style-src 'self'"
expect_match "/ carries the CSP" \
	"^[Cc]ontent-[Ss]ecurity-[Pp]olicy: $csp" "$(hdrs)"
expect_eq "GET /app.js: 200" 200 "$(get /app.js)"
expect_match "/app.js is JavaScript" \
	"^[Cc]ontent-[Tt]ype: (text|application)/javascript" "$(hdrs)"
expect_eq "/app.js is web/app.js" "$(sha256sum < "$TOP/web/app.js")" \
	"$(sha256sum < "$T/b")"
expect_eq "GET /app.css: 200" 200 "$(get /app.css)"
expect_match "/app.css is CSS" "^[Cc]ontent-[Tt]ype: text/css" "$(hdrs)"
expect_eq "GET /api/session without a session: 401" 401 "$(get /api/session)"

cd "$T" || exit 1
timeout -k 5 300 "$PY" "$TOP/tests/integration/console_driver.py" \
	--url "$URL/" --hostname localhost --cert "$cert" --spki "$spki" \
	--user admin --password-file "$T/password" --tg "$T/tg" --work "$T" \
	--shot "$T/console.png" --shot /tmp/console.png \
	--report-domain receiver.example --check-domain receiver.example
rc=$?
expect_eq "the browser driver ran to its end" 0 "$rc"

# After the driver: what it did is in the store, and nothing more.
check "tlsgate domain list --json after the driver" tg domain list --json
names=$(last_output | jq -r '.[].name')
expect_no_match "example.test was removed from the store" \
	"^example\.test$" "$names"
expect_no_match "no name with markup reached the store" "[<>]" "$names"
check "tlsgate relay list --json after the driver" tg relay list --json
expect_eq "no relay network is left (10.9.8.0/24 was denied)" 0 \
	"$(last_output | jq length)"
check "tlsgate policy list --json after the driver" tg policy list --json
expect_eq "no policy is left (partner.example was removed)" 0 \
	"$(last_output | jq length)"
# Two checks were started (the form, the row's button), each logged; the
# malformed name was refused before any check started.
checks=$(grep -a 'event=admin action=check ' "$log")
printf '%s\n' "$checks" | sed 's/^/# controllerd: /'
expect_eq "controllerd logged two checks of receiver.example" 2 \
	"$(printf '%s\n' "$checks" |
	    grep -c 'domain=receiver\.example result=ok')"
expect_match "controllerd refused the malformed name (domain: ...)" \
	'domain=- result=refused' "$checks"
expect_no_match "no check of the malformed name started" \
	'bad\.\.example.*result=ok' "$checks"

kill -TERM "$cpid"
wait "$cpid"
expect_eq "controllerd stops cleanly" 0 "$?"
