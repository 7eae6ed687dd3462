# The admin API of tlsgate-controllerd (web/API.md; RELIABILITY S-03,
# S-04, S-05) with curl: controllerd serves it on admin.listen over HTTPS
# with the admin certificate it makes at first use (the store records it:
# curl trusts that file, found with `tlsgate cert list --json`). Checked:
# no handshake without SNI, the console's files with their CSP and
# framing headers, login with a cookie jar (the cookie's attributes), the
# session, POSTs refused without the CSRF token or with another Origin,
# another Host refused (421), a domain added, given MTA-STS testing and
# removed through the API and seen by the CLI (one store), certificates,
# the queues (as the CLI lists them; actions on an unknown message 404)
# and the TLS reports summary (?days checked), logout ending the session, the login throttle (429), a body
# over 64 KB (413), and no password in the log.

. "$TOP/tests/integration/admin_lib.bash"
PORT=$AD_PORT
ad_setup "relay.hostname = mx.gw.test" "dns.timeout = 2"
ad_start || exit 0
expect_match "it is for localhost" "DNS:localhost" \
	"$(openssl x509 -in "$CA" -noout -ext subjectAltName 2>&1)"


# ---- transport (S-05) ----
check_fails "a handshake without SNI is refused" \
	curl -sS --max-time 5 --cacert "$CA" -o /dev/null \
	"https://127.0.0.1:$PORT/"
expect_eq "GET /: 200" 200 "$(req GET /)"
expect_eq "it is web/index.html" "$(sha256sum < "$TOP/web/index.html")" \
	"$(sha256sum < "$T/b")"
expect_eq "as HTML" "text/html; charset=utf-8" "$(header Content-Type)"
expect_eq "with the console's CSP" "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'" \
	"$(header Content-Security-Policy)"
expect_eq "never framed" DENY "$(header X-Frame-Options)"
expect_match "HSTS" "max-age=" "$(header Strict-Transport-Security)"
expect_eq "not cached" no-store "$(header Cache-Control)"
expect_eq "GET /app.js: 200" 200 "$(req GET /app.js)"
expect_eq "as JavaScript" "text/javascript" "$(header Content-Type)"
expect_eq "it is web/app.js" "$(sha256sum < "$TOP/web/app.js")" \
	"$(sha256sum < "$T/b")"
expect_eq "GET /app.css: 200, as CSS" "200 text/css" \
	"$(req GET /app.css) $(header Content-Type)"
expect_eq "HEAD /: 200, no body" "200 0" \
	"$(curl -sS --max-time 10 --cacert "$CA" -I -o /dev/null \
	--resolve "localhost:$PORT:127.0.0.1" -w '%{http_code} %{size_download}' \
	"$URL/")"
expect_eq "another file: 404" 404 "$(req GET /index.html)"
expect_eq "a Host other than the SNI name: 421" 421 \
	"$(req GET /api/session -H 'Host: other.example')"
expect_eq "a port that is not admin.listen's: 421" 421 \
	"$(req GET /api/session -H 'Host: localhost:1')"
expect_match "said as JSON" '"error":"this server answers for localhost only"' \
	"$(cat "$T/b")"

# ---- login (S-03, S-04) ----
expect_eq "the API without a session: 401" 401 "$(req GET /api/session)"
LOGIN="{\"username\": \"alice\", \"password\": \"$PW\"}"
expect_eq "login without an Origin: 403" 403 \
	"$(req POST /api/login -H 'Content-Type: application/json' \
	--data-binary "$LOGIN")"
expect_eq "login from another Origin: 403" 403 \
	"$(req POST /api/login -H 'Content-Type: application/json' \
	-H 'Origin: https://evil.example' --data-binary "$LOGIN")"
expect_eq "login: 200" 200 "$(post /api/login "$LOGIN")"
expect_match "the session cookie's attributes" \
	"^tg_session=[A-Za-z0-9_-]{43}; Secure; HttpOnly; SameSite=Strict; Path=/$" \
	"$(header Set-Cookie)"
expect_match "the cookie is in the jar" "tg_session" "$(cat "$T/jar")"
CSRF=$(jq -r .csrf "$T/b")
expect_eq "GET /api/session: 200" 200 "$(req GET /api/session)"
expect_eq "it names the user and the token" "alice $CSRF" \
	"$(jq -r '.user + " " + .csrf' "$T/b")"
expect_eq "as JSON" "application/json" "$(header Content-Type)"
expect_match "API replies carry the CSP too" "frame-ancestors 'none'" \
	"$(header Content-Security-Policy)"

# ---- CSRF and Origin on every POST (S-04) ----
expect_eq "a POST without the CSRF token: 403" 403 \
	"$(req POST /api/domains -H 'Content-Type: application/json' \
	-H "Origin: $URL" --data-binary '{"name": "example.org"}')"
expect_eq "a POST with another Origin: 403" 403 \
	"$(req POST /api/domains -H 'Content-Type: application/json' \
	-H 'Origin: https://evil.example' -H "X-CSRF-Token: $CSRF" \
	--data-binary '{"name": "example.org"}')"
expect_eq "neither added a domain" "" "$(tg domain list --json | jq -r '.[].name')"

# ---- domains: the API and the CLI share the store ----
expect_eq "add example.org: 201" 201 \
	"$(post /api/domains '{"name": "Example.org", "route": "10.0.0.5:25"}')"
expect_eq "the reply is the domain" "example.org off 10.0.0.5:25" \
	"$(jq -r '.name + " " + .sts_mode + " " + .route' "$T/b")"
expect_match "tlsgate domain list shows it" "^example\.org +off +10\.0\.0\.5:25" \
	"$(tg domain list)"
expect_eq "added again: 409" 409 \
	"$(post /api/domains '{"name": "example.org"}')"
expect_eq "a bad name: 400" 400 \
	"$(post /api/domains '{"name": "exa mple.org"}')"
expect_eq "MTA-STS testing: 200" 200 \
	"$(post /api/domains/example.org/sts \
	'{"mode": "testing", "mx": ["mx.example.org"], "max_age": 86400}')"
expect_eq "tlsgate sees testing and the pattern" "testing mx.example.org 86400" \
	"$(tg domain show example.org --json |
	jq -r '.mta_sts.mode + " " + .mta_sts.mx[0] + " " + (.mta_sts.max_age | tostring)')"
expect_eq "an unknown domain: 404" 404 \
	"$(post /api/domains/nope.example/sts '{"mode": "none"}')"
expect_eq "GET /api/domains lists it" "example.org testing" \
	"$(req GET /api/domains >/dev/null; jq -r '.[] | .name + " " + .sts_mode' "$T/b")"
expect_match "the change is logged with the user" \
	"event=admin action=domain-sts user=alice peer=127.0.0.1 domain=example.org result=ok" \
	"$(cat "$log")"
expect_eq "remove: 200" 200 "$(post /api/domains/example.org/remove '{}')"
expect_eq "tlsgate domain list no longer shows it" "" \
	"$(tg domain list --json | jq -r '.[].name')"
expect_eq "removed again: 404" 404 \
	"$(post /api/domains/example.org/remove '{}')"

# ---- certificates ----
expect_eq "GET /api/certificates: 200" 200 "$(req GET /api/certificates)"
expect_eq "the admin certificate, self-signed" "localhost current true CN=localhost" \
	"$(jq -r '.[] | select(.role == "admin") |
	"\(.name) \(.state) \(.self_signed) \(.issuer)"' "$T/b")"
expect_eq "and the MX one" "mx.gw.test" \
	"$(jq -r '.[] | select(.role == "mx") | .name' "$T/b")"

# ---- the read-only views: queues, TLS reports ----
expect_eq "GET /api/queue: 200" 200 "$(req GET /api/queue)"
expect_eq "it has both queues and their truncated flags" \
	"inbound outbound truncated|inbound outbound" \
	"$(jq -r '(keys | join(" ")) + "|" + (.truncated | keys | join(" "))' \
	"$T/b")"
expect_eq "the outbound queue is tlsgate queue list --json's" \
	"$(tg queue list --json | jq -c .)" "$(jq -c .outbound "$T/b")"
expect_eq "the inbound queue is tlsgate queue --inbound list --json's" \
	"$(tg queue --inbound list --json | jq -c .)" "$(jq -c .inbound "$T/b")"
# Actions on one queued message (as tlsgate queue hold|release|delete).
QID=01M9154S3P4PH9BH56		# a queue id no message has
expect_eq "a queue action without the CSRF token: 403" 403 \
	"$(req POST /api/queue/outbound/$QID/hold -H "Origin: $URL")"
expect_eq "a queue action with another Origin: 403" 403 \
	"$(req POST /api/queue/inbound/$QID/delete \
	-H 'Origin: https://evil.example' -H "X-CSRF-Token: $CSRF")"
expect_eq "hold of an unknown message: 404" 404 \
	"$(post /api/queue/outbound/$QID/hold '{}')"
expect_eq "as tlsgate queue hold says" "no message $QID in the queue" \
	"$(jq -r .error "$T/b")"
expect_eq "release of an unknown inbound message: 404" 404 \
	"$(post /api/queue/inbound/$QID/release '{}')"
expect_eq "delete of an unknown message: 404" 404 \
	"$(post /api/queue/outbound/$QID/delete '{}')"
expect_eq "an id that is no queue id: 400" 400 \
	"$(post /api/queue/outbound/nope/hold '{}')"
expect_eq "an unknown action: 404" 404 \
	"$(post /api/queue/outbound/$QID/retry '{}')"
expect_eq "GET /api/reports: 200" 200 "$(req GET /api/reports)"
expect_eq "it has the summary's keys, over 7 days" \
	"days period_days since top_failing_partners 7" \
	"$(jq -r '(keys | join(" ")) + " " + (.period_days | tostring)' \
	"$T/b")"
expect_eq "GET /api/reports?days=90: 200" 200 \
	"$(req GET '/api/reports?days=90')"
expect_eq "over 90 days" 90 "$(jq -r .period_days "$T/b")"
expect_eq "?days=0: 400" 400 "$(req GET '/api/reports?days=0')"
expect_eq "?days=91: 400" 400 "$(req GET '/api/reports?days=91')"
expect_eq "?days=x: 400" 400 "$(req GET '/api/reports?days=x')"

# ---- relay networks, outbound TLS policies, flush: the CLI's store ----
expect_eq "allow a relay network: 201" 201 \
	"$(post /api/relay/networks '{"network": "10.9.8.0/24", "note": "lab"}')"
expect_eq "the CLI lists it" "10.9.8.0/24 lab" \
	"$(tg relay list --json | jq -r '.[] | .network + " " + .note')"
expect_eq "GET /api/relay/networks: the same as the CLI's --json" \
	"$(tg relay list --json | jq -c .)" \
	"$(req GET /api/relay/networks >/dev/null; jq -c . "$T/b")"
expect_eq "deny it: 200" 200 \
	"$(post /api/relay/networks/remove '{"network": "10.9.8.0/24"}')"
expect_eq "the CLI no longer lists it" "[]" "$(tg relay list --json | jq -c .)"
expect_eq "set a policy: 200" 200 \
	"$(post /api/policies '{"domain": "partner.example", "mode": "encrypt"}')"
expect_eq "the CLI shows it" "partner.example encrypt" \
	"$(tg policy list --json | jq -r '.[] | .domain + " " + .mode')"
expect_eq "remove it: 200" 200 "$(post /api/policies/partner.example/remove '{}')"
expect_eq "the CLI no longer shows it" "[]" "$(tg policy list --json | jq -c .)"
expect_eq "flush the outbound queue: 200" 200 \
	"$(post /api/queue/outbound/flush '{}')"
expect_eq "no relayd runs here: not told" no "$(jq -r .daemon_told "$T/b")"
expect_match "each change is logged" \
	"event=admin action=relay-allow user=alice peer=127.0.0.1 network=10.9.8.0/24 result=ok" \
	"$(cat "$log")"

# ---- logout ends the session (S-04) ----
cp "$T/jar" "$T/jar.old"
expect_eq "logout: 200" 200 "$(post /api/logout '{}')"
expect_match "the cookie is cleared" "^tg_session=; .*Max-Age=0" \
	"$(header Set-Cookie)"
cp "$T/jar.old" "$T/jar"
expect_eq "the old cookie is worth nothing: 401" 401 "$(req GET /api/session)"
expect_eq "nor is the old token: 401" 401 \
	"$(post /api/domains '{"name": "example.org"}')"

# ---- limits ----
head -c 100000 /dev/zero | tr '\0' ' ' > "$T/big"
code=$(req POST /api/login -H 'Content-Type: application/json' \
	-H "Origin: $URL" --data-binary @"$T/big")
expect_match "a 100 KB body is refused (413 or closed)" '^(413|000)$' "$code"
# S-04: after 5 failures from one address, each try waits (429), twice
# as long after each further failure. The server counts whole seconds: a
# try that comes as a wait ends is let through (and fails again).
bad() { post /api/login '{"username": "alice", "password": "not the password"}'; }
codes=""
for i in 1 2 3 4 5; do
	codes="$codes $(bad)"
done
expect_eq "five bad logins: 401 each" " 401 401 401 401 401" "$codes"
code=""
for i in 1 2 3 4; do
	code=$(bad)
	[ "$code" = 429 ] && break
done
expect_eq "then 429" 429 "$code"
wait_s=$(header Retry-After)
expect_match "429 says how long to wait" '^[0-9]+$' "$wait_s"
expect_match "and so does its body" '"retry_after":[0-9]+' "$(cat "$T/b")"
sleep "${wait_s:-1}.3"
expect_eq "once the wait is over, a try is let through" 401 "$(bad)"
expect_eq "then even the right password waits (longer)" 429 \
	"$(post /api/login "$LOGIN")"
expect_match "the failures are logged" \
	"event=admin action=login user=alice peer=127.0.0.1 result=failed" \
	"$(cat "$log")"
expect_eq "no password in the log" 0 "$(grep -cF -e "$PW" -e "not the password" "$log")"

kill -TERM "$cpid"
wait "$cpid"
expect_eq "controllerd stops cleanly" 0 "$?"
