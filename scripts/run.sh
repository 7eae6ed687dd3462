#!/bin/bash
# make run — start the whole gateway in the foreground under ./run/.
#
# Everything lives in ./run/: the config (./run/tlsgate.conf, written on the
# first start and then left to you), the store and keys (./run/state), the
# spool (./run/spool), pid files (./run/pid). Ports are unprivileged and
# bound to 127.0.0.1. On the first start a console user "admin" is made
# with a random password, printed and kept in ./run/admin-password (0600).
# Ctrl-C stops every daemon cleanly. TLSGATE_RUN_DIR puts it all elsewhere.
set -u
cd "$(dirname "$0")/.."
TOP=$PWD
BUILD=${BUILD:-build}
case "$BUILD" in /*) BIN="$BUILD/bin" ;; *) BIN="$TOP/$BUILD/bin" ;; esac
RUN=${TLSGATE_RUN_DIR:-$TOP/run}
CONF="$RUN/tlsgate.conf"
mkdir -p "$RUN"

if [ ! -e "$CONF" ]; then
	cat > "$CONF" <<CONF
# tlsgate configuration for 'make run' (see etc/tlsgate.conf for every key)
state_dir = $RUN/state
spool_dir = $RUN/spool
run_dir = $RUN/pid
user = ""
relay.listen = 127.0.0.1:10025
mx.listen = 127.0.0.1:2525
sts.listen = 127.0.0.1:8443
rpt.listen = 127.0.0.1:8444
admin.listen = 127.0.0.1:9443
relay.hostname = localhost.localdomain
CONF
fi
export TLSGATE_CONF="$CONF"

"$BIN/tlsgate" init || exit $?

# The first console user, once.
PWFILE="$RUN/admin-password"
if [ ! -e "$PWFILE" ] &&
    [ "$("$BIN/tlsgate" admin list --json 2>/dev/null)" = "[]" ]; then
	(umask 077; openssl rand -base64 18 > "$PWFILE") &&
	    "$BIN/tlsgate" admin add admin --password-stdin < "$PWFILE" ||
	    { rm -f "$PWFILE"; echo "could not make the console user" >&2; }
fi

pids=()
names=()
for d in relayd mxd stsd rptd controllerd; do
	# A daemon that is not built yet answers -h with a non-zero status.
	if ! "$BIN/tlsgate-$d" -h >/dev/null 2>&1; then
		echo "tlsgate-$d: not built yet, not started"
		continue
	fi
	"$BIN/tlsgate-$d" -f -c "$CONF" 2>&1 | sed -u "s/^/[$d] /" &
	pids+=($!)
	names+=("$d")
done

cat <<MSG

tlsgate is running under $RUN (config: $CONF)
  started: ${names[*]:-none}
  relay (outbound SMTP from internal servers): 127.0.0.1:10025
  MX (inbound SMTP):                          127.0.0.1:2525
  MTA-STS policy host (HTTPS):                127.0.0.1:8443
  TLS-RPT collector (HTTPS):                  127.0.0.1:8444
  admin API and console (HTTPS):              https://localhost:9443/
  (only the daemons listed as started are listening)

Console: https://localhost:9443/ as user admin, password in $PWFILE
  (a self-signed certificate for localhost: tlsgate cert list shows its file)

Use the CLI against it from another terminal:
  export TLSGATE_CONF=$CONF
  $BIN/tlsgate domain add example.org --route mail.internal:25
  $BIN/tlsgate domain list
  $BIN/tlsgate config show

Press Ctrl-C to stop.
MSG

stop() {
	trap - INT TERM
	echo
	echo "stopping: ${names[*]:-nothing}"
	pkill -TERM -f "$BIN/tlsgate-.* -f -c $CONF" 2>/dev/null
	wait
	echo "stopped"
	exit 0
}
trap stop INT TERM
if [ ${#pids[@]} -eq 0 ]; then
	echo "no daemon is built yet; nothing to run"
	exit 0
fi
wait
