# A domain check from the console's API against the lab (web/API.md:
# /api/checks): controllerd runs `tlsgate check` on its loop with real
# DNSSEC and real Postfix MX hosts; the POST answers at once (202), the
# report comes by polling, and it is the one `tlsgate check --json`
# gives for the same domain. A bad name is 400, an unknown id 404.

. "$TOP/tests/net/net.sh"
. "$TOP/tests/integration/admin_lib.bash"
tg_net_available || { skip "the lab network needs root namespaces"; exit 0; }
check "lab network up (dns, mx)" tg_net_up dns mx
ad_setup "relay.hostname = gw.example.net"
cat "$TG_NET_CONF" >> "$conf"
ad_start || exit 0
check "login" ad_login

# poll ID — until the check is done (at most 60 s); its body in $T/b
poll() {
	local i
	for i in $(seq 60); do
		[ "$(req GET "/api/checks/$1")" = 200 ] || return 1
		[ "$(jq -r .state "$T/b")" = done ] && return 0
		sleep 1
	done
	return 1
}

for d in dane-ok.test dane-bad.test; do
	expect_eq "$d: the check starts (202)" 202 \
		"$(post /api/checks "{\"domain\": \"$d\"}")"
	id=$(jq -r .id "$T/b")
	expect_match "$d: with an id" '^[0-9a-f]{32}$' "$id"
	expect_eq "$d: running at first" running "$(jq -r .state "$T/b")"
	check "$d: done within a minute" poll "$id"
	jq .report "$T/b" > "$T/api-$d.json"
	tg check "$d" --json --timeout 10 > "$T/cli-$d.json" 2>/dev/null
	for f in .domain .mx_dnssec .dane.status '.mx[0].host' \
	    '.mx[0].tls[0].verified' '[.problems[].severity] | join(",")'; do
		expect_eq "$d: $f as tlsgate check says" \
			"$(jq -r "$f" "$T/cli-$d.json")" \
			"$(jq -r "$f" "$T/api-$d.json")"
	done
done
expect_eq "dane-ok: DANE valid" valid "$(jq -r .dane.status "$T/api-dane-ok.test.json")"
expect_eq "dane-bad: DANE invalid" invalid "$(jq -r .dane.status "$T/api-dane-bad.test.json")"
expect_eq "a bad name: 400" 400 "$(post /api/checks '{"domain": "bad..test"}')"
expect_eq "an unknown id: 404" 404 \
	"$(req GET /api/checks/0123456789abcdef0123456789abcdef)"
expect_match "the check is logged" \
	"event=admin action=check user=alice peer=127.0.0.1 domain=dane-ok.test result=ok" \
	"$(cat "$log")"
ad_stop
tg_net_down
