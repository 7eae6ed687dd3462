#!/bin/sh
# Install the Debian packages that building, running and testing tlsgate
# need. Idempotent and silent when everything is already installed.
set -eu

PKGS="build-essential pkg-config xxd
libssl-dev libunbound-dev libcurl4-openssl-dev libmicrohttpd-dev libsqlite3-dev
libevent-dev libjansson-dev zlib1g-dev libldns-dev libopendkim-dev libcmocka-dev
sqlite3 jq openssl curl iproute2 procps psmisc util-linux python3 systemd
dns-root-data knot knot-dnsutils knot-dnssecutils unbound unbound-anchor ldnsutils bind9-dnsutils
postfix swaks libnet-ssleay-perl libio-socket-ssl-perl nginx-light pebble lego postfix-mta-sts-resolver
wrk hyperfine
chromium chromium-driver python3-selenium libnss3-tools"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "tlsgate: missing packages:$missing" >&2
	echo "tlsgate: run 'sudo make deps' (or install them) and try again" >&2
	exit 2
fi
echo "tlsgate: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure the system instance; tlsgate's tests never
# use the system instance, so "No configuration" leaves it unconfigured.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# Package installs must not start the system's own nginx/unbound/knot/postfix:
# the tests start their own instances.
cleanup_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	cleanup_policy=1
fi
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
[ "$cleanup_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
exit 0
