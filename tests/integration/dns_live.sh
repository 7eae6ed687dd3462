# tests/integration/dns_live.sh — the libunbound resolver of lib/dns against
# the lab's signed zone tree: secure, insecure and bogus answers, NXDOMAIN
# and NODATA, a null MX, a CNAME into another signed zone, TXT records.
# The checks are the cases of $BUILD/tests/test_dns_live (from
# tests/unit/test_dns_live.c), which reads the lab's variables.
. "$TOP/tests/net/net.sh"

if [ "${TG_ISOLATED:-0}" != 1 ]; then
	skip "lab network needs root and network namespaces"
	exit 0
fi

f0=$TG_FAILS
check "the lab's DNS comes up" tg_net_up dns
if [ "$TG_FAILS" != "$f0" ]; then
	tg_net_down
	exit 1
fi

out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$BUILD/tests/test_dns_live" 2>&1)
rc=$?
printf '%s\n' "$out" | grep -E '^(ok|not ok|#)'
expect_eq "test_dns_live exits 0" 0 "$rc"
expect_match "test_dns_live ran its cases" '^1\.\.[1-9]' "$out"

tg_net_down
