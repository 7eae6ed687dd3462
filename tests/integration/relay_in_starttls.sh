# STARTTLS on relayd (RFC 3207; RFC-CHECKLIST 49; RELIABILITY I-03, I-04,
# I-11): plaintext sent with STARTTLS in one segment is discarded, never
# executed inside TLS; after the handshake the session starts over, EHLO
# no longer offers STARTTLS and a second STARTTLS gets 503; TLS 1.2 or
# newer only; ALPN other than "smtp" aborts the handshake; the
# certificate is the store's current MX certificate.

. "$TOP/tests/integration/relay_in_lib.bash"
relay_conf
check "init" tg init
check "allow loopback" tg relay allow 127.0.0.1
check "relayd starts" relay_start

client inject 127.0.0.1 $RELAY_PORT > "$T/inject.txt"
cat "$T/inject.txt" | grep -E '^(not )?ok - '
qid=$(sed -n 's/^qid //p' "$T/inject.txt")
check "the TLS message is in the spool" test -f "$T/spool/queue/$qid"
expect_match "its Received header says ESMTPS and the TLS version" \
	"with ESMTPS id $qid.*using TLSv1\.[23] with cipher" \
	"$(client spool "$T/spool" "$qid" | tr -d '\r' | tr '\n' ' ')"
expect_match "the discarded plaintext is logged" \
	"event=starttls-injection.*RSET" "$(cat "$RELAY_LOG")"

s_client() {
	timeout 10 openssl s_client -starttls smtp -connect 127.0.0.1:$RELAY_PORT \
		"$@" < /dev/null 2>&1
}
out=$(s_client -tls1_2)
expect_match "TLS 1.2 works" "Protocol *: TLSv1.2" "$out"
out=$(s_client -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0')
expect_match "TLS 1.1 is refused" "Cipher is \(NONE\)" "$out"
out=$(s_client -alpn http/1.1)
expect_match "ALPN http/1.1 alone: handshake aborted" \
	"Cipher is \(NONE\)" "$out"
expect_match "the alert is no_application_protocol" \
	"no application protocol|alert number 120" "$out"
out=$(s_client)
served=$(printf '%s\n' "$out" | openssl x509 -noout -fingerprint -sha256 2>/dev/null)
stored=$(openssl x509 -noout -fingerprint -sha256 -in "$(ls "$T"/state/certs/*.pem | head -1)")
expect_eq "the served certificate is the store's MX certificate" "$stored" "$served"
relay_stop
relay_clean_log
