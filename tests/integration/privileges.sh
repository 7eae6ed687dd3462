# The service user (issue: privilege drop after binding; core/privs):
#   `tlsgate init` as root gives the state and spool directories to
#   `user` (here nobody); CLI commands run as root afterwards become that
#   user, so nothing they make belongs to root; relayd binds port 25 as
#   root, then runs as the user, and queues mail into the user's spool;
#   a user that does not exist is named with the command that makes it,
#   and the daemons refuse to start as root in its place. Each daemon,
#   once started, is in its sandbox (core/sandbox, RELIABILITY P-01/P-02):
#   the probe it runs with TLSGATE_SANDBOX_PROBE finds every forbidden
#   thing refused.

if [ "$(id -u)" != 0 ]; then
	skip "privilege drop needs root"
	exit 0
fi
if ! id nobody >/dev/null 2>&1; then
	skip "no user nobody on this machine"
	exit 0
fi
NOBODY_UID=$(id -u nobody)
# A directory every user can reach (the harness's own may sit below
# directories only root can enter).
P=$(mktemp -d /tmp/tg-privs.XXXXXX)
chmod 755 "$P"
trap 'rm -rf "$P"' EXIT
conf="$P/tlsgate.conf"
cat > "$conf" <<CONF
state_dir = $P/state
spool_dir = $P/spool
run_dir = $P/run
user = nobody
relay.hostname = gw.example.net
relay.listen = 127.0.0.1:25
mx.listen = 127.0.0.2:25
sts.listen = 127.0.0.1:443
rpt.listen = 127.0.0.1:8443
report.org_name = Example
report.contact = tlsrpt@example.org
CONF
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
root_owned() { find "$P/state" "$P/spool" -user root | sed "s|$P/||"; }

check "init as root" tg init
expect_match "init says who owns the directories" "owner: nobody" "$(last_output)"
expect_eq "state_dir belongs to nobody" nobody "$(stat -c %U "$P/state")"
expect_eq "spool_dir belongs to nobody" nobody "$(stat -c %U "$P/spool")"
expect_eq "the private key belongs to nobody, mode 0600" "nobody 600" \
	"$(stat -c '%U %a' "$P"/state/keys/*.key)"
expect_eq "nothing under them belongs to root" "" "$(root_owned)"

check "domain add as root" tg domain add example.org
check "relay allow as root" tg relay allow 127.0.0.0/8
expect_eq "what the CLI made as root belongs to nobody" "" "$(root_owned)"
check "the CLI still reads the store" tg domain show example.org

# What each daemon's sandbox probe must find (ptrace stays allowed in a
# build under AddressSanitizer, whose leak checker needs it).
ptrace_word=denied
ldd "$BIN/tlsgate" | grep -q libasan && ptrace_word=allowed
sandboxed() { # LOG — the probe's findings, in a fixed order
	sed -n 's/.*event=sandbox-probe //p' "$1" | tr ' ' '\n' |
	    grep -E '^(exec|ptrace|packet-socket|raw-socket|listen|dumpable|no-new-privs|seccomp|caps|shadow)=' |
	    tr '\n' ' '
}
want_sandbox="exec=denied ptrace=$ptrace_word packet-socket=denied raw-socket=denied listen=denied dumpable=0 no-new-privs=1 seccomp=2 caps=none shadow=denied "
export TLSGATE_SANDBOX_PROBE=1

mkdir -p "$P/run"
"$BIN/tlsgate-relayd" -f -c "$conf" > "$T/relayd.log" 2>&1 &
pid=$!
check "relayd starts" wait_for 15 grep -q "event=start result=ok" "$T/relayd.log"
check "relayd listens on port 25" wait_port 127.0.0.1 25
expect_match "relayd logs the drop" "event=privileges result=dropped user=nobody" \
	"$(cat "$T/relayd.log")"
expect_eq "relayd runs as nobody (real, effective, saved, fs uid)" \
	"$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" \
	"$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")"
expect_eq "and with nobody's groups only" "$(id -g nobody)" \
	"$(awk '/^Groups:/ { print $2 }' "/proc/$pid/status")"
expect_eq "relayd is in its sandbox" "$want_sandbox" \
	"$(sandboxed "$T/relayd.log")"
out=$(swaks --server 127.0.0.1:25 --from a@inside.example \
	--to b@example.net --timeout 20 2>&1)
expect_match "mail is accepted into nobody's spool" "<- +250 2.0.0 Ok: queued as" "$out"
expect_eq "the queued message belongs to nobody" nobody \
	"$(stat -c %U "$(find "$P/spool" -type f | grep -v -e '\.lock$' | head -1)")"
expect_eq "tlsgate queue list as root sees it" 1 "$(tg queue list --json | jq length)"
kill -HUP "$pid"
check "a reload after the drop reads the config again" wait_for 10 \
	grep -q "event=reload result=ok reason=sighup" "$T/relayd.log"
expect_eq "nothing belongs to root after all that" "" "$(root_owned)"

# The other daemons: each runs as nobody and leaves nothing of root's.
pids=()
for dmn in mxd stsd rptd controllerd; do
	"$BIN/tlsgate-$dmn" -f -c "$conf" > "$T/$dmn.log" 2>&1 &
	pids+=($!)
	check "$dmn starts" wait_for 15 grep -q "event=start result=ok" "$T/$dmn.log"
	expect_eq "$dmn runs as nobody" "$NOBODY_UID $NOBODY_UID" \
		"$(awk '/^Uid:/ { print $2, $3 }' "/proc/${pids[-1]}/status")"
	expect_eq "$dmn is in its sandbox" "$want_sandbox" \
		"$(sandboxed "$T/$dmn.log")"
done
check "stsd serves HTTPS on 443" wait_port 127.0.0.1 443
check "rptd serves HTTPS on 8443" wait_port 127.0.0.1 8443
check "controllerd serves the console on 9443" wait_port 127.0.0.1 9443
sleep 1
expect_eq "nothing belongs to root with every daemon running" "" "$(root_owned)"
kill -TERM "$pid" "${pids[@]}"
for p in "$pid" "${pids[@]}"; do
	wait "$p"
	expect_eq "daemon $p stops cleanly" 0 "$?"
done

# A user that does not exist.
sed -i 's/^user = nobody$/user = tg-no-such-user/' "$conf"
check "init without the user: still 0" tg init
expect_match "it names the missing user and how to make it" \
	"user 'tg-no-such-user' does not exist.*adduser --system" \
	"$(last_output | tr '\n' ' ')"
check_exit "relayd refuses to start instead of keeping root" 1 \
	"$BIN/tlsgate-relayd" -f -c "$conf"
expect_match "relayd says why" "tg-no-such-user.*does not exist" "$(last_output)"
