# REQUIRETLS (RFC 8689; RFC-CHECKLIST item 51) through relayd into the
# lab: offered only under TLS, refused in the clear; a REQUIRETLS message
# to a DANE-verified MX that does not offer REQUIRETLS (the lab's Postfix
# 3.7) and to a domain with neither DANE nor MTA-STS is returned to its
# sender (5.7.30, 5.7.10) with its header only and never reaches the
# destination's maildir; the same message without REQUIRETLS is
# delivered. Debian's Postfix offers no REQUIRETLS, so the delivery with
# REQUIRETLS on MAIL is covered by test_smtpc against its scripted server.

. "$TOP/tests/integration/relay_out_lib.bash"
ro_setup dns
check "relayd starts" ro_start

# rtls_client MODE [TO ID] — Python's smtplib against relayd. MODE ehlo:
# prints the EHLO keywords before and after STARTTLS; clear: MAIL with
# REQUIRETLS without TLS, prints the reply code; send: the message under
# STARTTLS with REQUIRETLS, prints the final reply code.
rtls_client() {
	python3 - "$RO_ADDR" "$RO_PORT" "$RO_SENDER" "$@" <<'PY'
import smtplib, ssl, sys
host, port, sender, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(host, port, local_hostname="inside.test", timeout=20)
s.ehlo()
if mode == "ehlo":
    print("clear:", " ".join(sorted(s.esmtp_features)))
    s.starttls(context=ctx)
    s.ehlo()
    print("tls:", " ".join(sorted(s.esmtp_features)))
elif mode == "clear":
    code, _ = s.docmd("MAIL FROM:<%s> REQUIRETLS" % sender)
    print(code)
else:
    to, ident = sys.argv[5], sys.argv[6]
    s.starttls(context=ctx)
    s.ehlo()
    msg = ("X-Test-Id: %s\r\nSubject: %s\r\n\r\nsecret body %s\r\n"
           % (ident, ident, ident))
    opts = ["REQUIRETLS"] if mode == "send" else []
    try:
        s.sendmail(sender, [to], msg, mail_options=opts)
        print(250)
    except smtplib.SMTPException as e:
        print("refused", e)
s.quit()
PY
}

ehlo=$(rtls_client ehlo)
expect_match "EHLO in the clear: STARTTLS, no REQUIRETLS" '^clear: .*starttls' "$ehlo"
expect_no_match "EHLO in the clear does not offer REQUIRETLS" '^clear: .*requiretls' "$ehlo"
expect_match "EHLO under TLS offers REQUIRETLS" '^tls: .*requiretls' "$ehlo"
expect_eq "MAIL ... REQUIRETLS in the clear: 530" 530 "$(rtls_client clear)"

expect_eq "to dane-ok.test with REQUIRETLS: accepted" 250 \
	"$(rtls_client send user@dane-ok.test rtls-dane)"
expect_eq "to insecure.test with REQUIRETLS: accepted" 250 \
	"$(rtls_client send user@insecure.test rtls-insecure)"
expect_eq "to dane-ok.test without REQUIRETLS: accepted" 250 \
	"$(rtls_client plain user@dane-ok.test rtls-plain)"

check "the plain one is delivered" wait_for 30 bash -c \
	". '$TOP/tests/net/net.sh'; tg_net_mail_grep dane-ok.test '^secret body rtls-plain' >/dev/null"
check "dane-ok: returned with 5.7.30" ro_wait_log \
	"event=delivery .*domain=dane-ok\.test .*result=bounced status=5\.7\.30" 30
check "insecure: returned with 5.7.10" ro_wait_log \
	"event=delivery .*domain=insecure\.test .*result=bounced status=5\.7\.10" 30
expect_match "dane-ok: the connection itself was DANE-verified" \
	'event=delivery .*domain=dane-ok\.test .*verify="dane verified" result=bounced status=5\.7\.30' \
	"$(cat "$RO_LOG")"
expect_match "dane-ok: the reason is ours, not the server's" \
	'reason="mx\.dane-ok\.test\[[0-9.]+\]: REQUIRETLS support required' \
	"$(ro_delivery_line dane-ok.test | head -n1; grep -E 'domain=dane-ok\.test .*5\.7\.30' "$RO_LOG")"
# Both DSNs go to the sender, in insecure.test's maildir.
check "two DSNs reach the sender" wait_for 30 bash -c \
	". '$TOP/tests/net/net.sh'; [ \$(tg_net_mail_grep insecure.test '^X-Test-Id: rtls-' | wc -l) -ge 2 ]"
dsn_dane=$(tg_net_mail_grep insecure.test '^X-Test-Id: rtls-dane$' | head -n1)
dsn_insec=$(tg_net_mail_grep insecure.test '^X-Test-Id: rtls-insecure$' | head -n1)
expect_match "DSN for dane-ok names 5.7.30" '^Status: 5\.7\.30' "$(cat "$dsn_dane" 2>/dev/null)"
expect_match "DSN for insecure names 5.7.10" '^Status: 5\.7\.10' "$(cat "$dsn_insec" 2>/dev/null)"
expect_match "the DSN returns the header" 'text/rfc822-headers' "$(cat "$dsn_dane" 2>/dev/null)"
expect_eq "no DSN carries the body" "" \
	"$(tg_net_mail_grep insecure.test '^secret body rtls-(dane|insecure)')"
expect_eq "nothing with REQUIRETLS reached dane-ok.test" "" \
	"$(tg_net_mail_grep dane-ok.test '^X-Test-Id: rtls-dane$')"
expect_eq "queue empty" 0 "$(ro_queued)"
check "relayd stops" ro_stop
tg_net_down
