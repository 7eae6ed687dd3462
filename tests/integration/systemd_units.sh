# The systemd units (packaging/systemd), RELIABILITY P-01 and P-02:
#   - systemd's own assessment (`systemd-analyze security --offline`)
#     rates every unit's exposure at most 2.5 (of 10);
#   - each runs the daemon as the service user from the start, with no
#     capability but CAP_NET_BIND_SERVICE, no core dumps, and a restart
#     after a failure (with a limit on how often);
#   - systemd's system call filter lets through what the daemon's own
#     sandbox needs to set itself up (seccomp, capset, prctl: the daemon
#     refuses to start when it cannot enter its sandbox);
#   - the assessment itself fails for a unit without hardening (so this
#     test can fail).

if ! command -v systemd-analyze >/dev/null 2>&1; then
	skip "systemd-analyze is not installed"
	exit 0
fi
UNITS="$TOP/packaging/systemd"
exposure() { # UNIT — systemd's overall exposure, e.g. 1.9
	systemd-analyze security --offline=yes "$1" 2>/dev/null |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
# The syscall groups a SystemCallFilter= allow list names, expanded.
allowed_calls() { # UNIT
	local item
	for item in $(sed -n 's/^SystemCallFilter=//p' "$1"); do
		case "$item" in
		~*) ;;
		@*) systemd-analyze syscall-filter "$item" 2>/dev/null |
			awk 'NR > 1 && $1 !~ /^#/ { print $1 }' ;;
		*) echo "$item" ;;
		esac
	done
}
# Groups inside groups, until only system calls are left.
expand_calls() {
	local pass list
	list=$(cat)
	for pass in 1 2 3 4; do
		list=$(for c in $list; do
			case "$c" in
			@*) systemd-analyze syscall-filter "$c" 2>/dev/null |
				awk 'NR > 1 && $1 !~ /^#/ { print $1 }' ;;
			*) echo "$c" ;;
			esac
		done | sort -u)
	done
	echo "$list"
}

for unit in "$UNITS"/tlsgate-*.service; do
	name=$(basename "$unit")
	check "$name: systemd rates its exposure at most 2.5" \
	    systemd-analyze security --offline=yes --threshold=25 "$unit"
	expect_match "$name: exposure is reported" '^[0-9]' "$(exposure "$unit")"
	expect_eq "$name: runs as the service user" "User=tlsgate" \
	    "$(grep '^User=' "$unit")"
	expect_eq "$name: only CAP_NET_BIND_SERVICE" \
	    "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" \
	    "$(grep '^CapabilityBoundingSet=' "$unit")"
	expect_eq "$name: no core dumps" "LimitCORE=0" \
	    "$(grep '^LimitCORE=' "$unit")"
	expect_eq "$name: restarted after a failure" "Restart=on-failure" \
	    "$(grep '^Restart=' "$unit")"
	expect_match "$name: with a limit on restarts" '^StartLimitBurst=[0-9]' \
	    "$(grep '^StartLimitBurst=' "$unit")"
	calls=$(allowed_calls "$unit" | expand_calls)
	for c in seccomp capset prctl; do
		expect_match "$name: the filter lets $c through" "^$c\$" \
		    "$(echo "$calls" | grep -x "$c")"
	done
done

# A unit without hardening is rated worse than the threshold.
cat > "$T/tlsgate-plain.service" <<UNIT
[Service]
ExecStart=/usr/sbin/tlsgate-stsd -f
UNIT
check_fails "an unhardened unit fails the assessment" \
    systemd-analyze security --offline=yes --threshold=25 \
    "$T/tlsgate-plain.service"
