# tests/net/postfix.sh — Postfix instances of the lab (sourced by net.sh).
#
# "mx": one receiving instance; master.cf has one smtpd per MX address,
# each with that host's certificate chain (and no STARTTLS at all for
# mx.nostarttls.test). Every message for any *.test domain lands in the
# maildir $TG_NET_MAILDIR/<domain>/ (one catch-all maildir per domain:
# new/ holds what arrived). The stall server runs with
# this piece too.
# "sender": a DANE-enforcing sender (smtp_tls_security_level = dane) that
# accepts mail from 127.0.0.0/8 on $TG_NET_SENDER_ADDR:25 and delivers it
# through the lab resolver (/etc/resolv.conf is bind-mounted).
# Instance NAME lives in $TG_NET_DIR/postfix-NAME/: etc/ (main.cf,
# master.cf: the -c directory), queue/, data/, and maillog (maillog_file),
# which tests grep.

_tgn_master_common() {
	cat <<'MASTER'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
MASTER
}

# Settings both instances share; $1 = instance directory.
_tgn_main_common() {
	cat <<MAIN
compatibility_level = 3.6
queue_directory = $1/queue
data_directory = $1/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $1/maillog
maillog_file_prefixes = $TG_NET_DIR
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
biff = no
append_dot_mydomain = no
dnssec_probe = ns:test.
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 20s
maximal_queue_lifetime = 10m
bounce_queue_lifetime = 10m
smtp_connect_timeout = 5s
smtp_helo_timeout = 15s
smtp_starttls_timeout = 15s
smtpd_tls_loglevel = 1
smtp_tls_loglevel = 1
MAIN
}

# The queue directories as post-install(1) would make them, then master(8)
# itself: "postfix start" runs a dozen postconf(1) processes first, which
# costs seconds here. "master -w" exits 0 once the daemon is initialised;
# it runs in the background so that the instances start side by side, and
# _tgn_postfix_started collects its status.
_tgn_postfix_start() { # instance-dir
	local q=$1/queue
	install -d -o root -m 755 "$q" "$q/pid" &&
	install -d -o postfix -m 700 "$1/data" "$q/active" "$q/bounce" \
	    "$q/corrupt" "$q/defer" "$q/deferred" "$q/flush" "$q/hold" \
	    "$q/incoming" "$q/private" "$q/saved" "$q/trace" &&
	install -d -o postfix -g postdrop -m 730 "$q/maildrop" &&
	install -d -o postfix -g postdrop -m 710 "$q/public" || return 1
	# Postfix waits, re-reading, while a configuration file is younger
	# than a second or two (it may be mid-edit); these are complete.
	touch -d "@$(( $(date +%s) - 10 ))" "$1/etc/"* || return 1
	/usr/lib/postfix/sbin/master -c "$1/etc" -w >>"$1/start.log" 2>&1 &
	echo $! > "$1/start.pid"
}

_tgn_postfix_started() { # instance-dir
	local pid
	pid=$(cat "$1/start.pid" 2>/dev/null) || return 1
	rm -f "$1/start.pid"
	wait "$pid" ||
	    { _tgn_log "postfix master -c $1/etc failed (see $1/start.log, $1/maillog)"; return 1; }
}

_tgn_postfix_stop() { # name
	local d="$TG_NET_DIR/postfix-$1"
	# master(8) stops its children and exits on SIGTERM.
	_tgn_kill_pidfile "$d/queue/pid/master.pid" 5
}

_tgn_mx_conf() {
	local d=$TG_NET_MX_DIR h a l z addrs=""
	mkdir -p "$d/etc" "$TG_NET_MAILDIR" || return 1
	chown postfix:postfix "$TG_NET_MAILDIR"
	while read -r h a l _; do
		case "$l" in pf | pf-notls) addrs="$addrs${addrs:+, }$a" ;; esac
	done <<< "$TG_NET_HOSTS"
	{
		_tgn_main_common "$d"
		cat <<MAIN
myhostname = mx.lab.test
inet_interfaces = $addrs
smtpd_banner = \$myhostname ESMTP lab
smtpd_relay_restrictions = reject_unauth_destination
virtual_mailbox_domains = texthash:$d/etc/vdomains
virtual_mailbox_maps = texthash:$d/etc/vmailbox
virtual_mailbox_base = $TG_NET_MAILDIR
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
smtpd_tls_security_level = may
smtpd_tls_received_header = yes
MAIN
	} > "$d/etc/main.cf"
	for z in $TG_NET_SIGNED_ZONES $TG_NET_UNSIGNED_ZONES; do
		echo "${z%.} OK" >&3
		echo "@${z%.} ${z%.}/"
	done > "$d/etc/vmailbox" 3> "$d/etc/vdomains"
	{
		_tgn_master_common
		while read -r h a l _; do
			case "$l" in
			pf) printf '%s:25 inet n - n - - smtpd\n  -o syslog_name=postfix-mx/%s\n  -o myhostname=%s\n  -o smtpd_tls_chain_files=%s\n' \
			    "$a" "$h" "$h" "$TG_NET_CERT_DIR/$h.pem" ;;
			pf-notls) printf '%s:25 inet n - n - - smtpd\n  -o syslog_name=postfix-mx/%s\n  -o myhostname=%s\n  -o smtpd_tls_security_level=none\n' \
			    "$a" "$h" "$h" ;;
			esac
		done <<< "$TG_NET_HOSTS"
	} > "$d/etc/master.cf"
}

_tgn_mx_start() {
	export TG_NET_MX_DIR="$TG_NET_DIR/postfix-mx"
	export TG_NET_MX_LOG="$TG_NET_MX_DIR/maillog"
	export TG_NET_MAILDIR="$TG_NET_DIR/mail"
	export TG_NET_STALL_LOG="$TG_NET_DIR/stall/stall.log"
	_tgn_mx_conf || return 1
	_tgn_postfix_start "$TG_NET_MX_DIR" || return 1
	mkdir -p "$TG_NET_DIR/stall"
	python3 "$TG_NET_LIB/stall.py" --addr "$TG_NET_IP_MX_STALL_TEST" --port 25 \
	    --name mx.stall.test --log "$TG_NET_STALL_LOG" \
	    --pidfile "$TG_NET_DIR/stall/stall.pid" >>"$TG_NET_DIR/stall/stall.out" 2>&1 &
}

_tgn_mx_ready() {
	local h a l want=""
	_tgn_postfix_started "$TG_NET_MX_DIR" || return 1
	while read -r h a l _; do
		case "$l" in pf | pf-notls | stall) want="$want $a:25" ;; esac
	done <<< "$TG_NET_HOSTS"
	# shellcheck disable=SC2086
	_tgn_wait 15 _tgn_listening $want ||
	    { _tgn_log "not all MX hosts listen ($want)"; return 1; }
}

_tgn_mx_stop() {
	[ -n "${TG_NET_MX_DIR:-}" ] || return 0
	_tgn_kill_pidfile "$TG_NET_DIR/stall/stall.pid"
	_tgn_postfix_stop mx
}

_tgn_sender_start() {
	export TG_NET_SENDER_DIR="$TG_NET_DIR/postfix-sender"
	export TG_NET_SENDER_LOG="$TG_NET_SENDER_DIR/maillog"
	local d=$TG_NET_SENDER_DIR
	mkdir -p "$d/etc" || return 1
	{
		_tgn_main_common "$d"
		cat <<MAIN
myhostname = $TG_NET_SENDER_NAME
inet_interfaces = $TG_NET_SENDER_ADDR
relay_domains =
smtpd_relay_restrictions = permit_mynetworks, reject
local_transport = error:local delivery is disabled
smtp_tls_security_level = dane
smtp_dns_support_level = dnssec
smtp_host_lookup = dns
disable_dns_lookups = no
smtp_address_preference = ipv4
smtp_tls_CAfile = $TG_NET_CA_CERT
smtpd_tls_security_level = none
MAIN
	} > "$d/etc/main.cf"
	{
		_tgn_master_common
		printf '%s:25 inet n - n - - smtpd\n' "$TG_NET_SENDER_ADDR"
	} > "$d/etc/master.cf"
	_tgn_postfix_start "$d"
}

_tgn_sender_ready() {
	_tgn_postfix_started "$TG_NET_SENDER_DIR" || return 1
	_tgn_wait 15 _tgn_listening "$TG_NET_SENDER_ADDR:25" ||
	    { _tgn_log "the sender does not listen on $TG_NET_SENDER_ADDR:25"; return 1; }
}

# tg_net_postconf NAME "param = value"... — change an instance's main.cf
# (NAME is mx or sender) and reload it.
tg_net_postconf() {
	local d="$TG_NET_DIR/postfix-$1" kv; shift
	for kv in "$@"; do
		postconf -c "$d/etc" -e "$kv" || return 1
	done
	touch -d "@$(( $(date +%s) - 10 ))" "$d/etc/"* || return 1
	postfix -c "$d/etc" reload >>"$d/start.log" 2>&1
}

# tg_net_send FROM TO [swaks options...] — hand a message to the lab sender
# over SMTP; prints swaks' transcript to $TG_NET_DIR/swaks.log.
tg_net_send() {
	local from=$1 to=$2; shift 2
	swaks --server "$TG_NET_SENDER_ADDR:25" --from "$from" --to "$to" \
	    --helo client.test --header "Subject: lab test to $to" \
	    --timeout 20 "$@" >>"$TG_NET_DIR/swaks.log" 2>&1
}

# tg_net_mail_count DOMAIN — number of messages in that domain's maildir.
tg_net_mail_count() {
	local n=0 f
	for f in "$TG_NET_MAILDIR/$1/new/"* "$TG_NET_MAILDIR/$1/cur/"*; do
		[ -f "$f" ] && n=$((n + 1))
	done
	echo "$n"
}

# tg_net_wait_mail DOMAIN COUNT SECONDS — until COUNT messages are there.
tg_net_wait_mail() {
	_tgn_wait "$3" _tgn_mail_at_least "$1" "$2"
}
_tgn_mail_at_least() { [ "$(tg_net_mail_count "$1")" -ge "$2" ]; }

# tg_net_mail_grep DOMAIN REGEX — some message in DOMAIN's maildir matches
# (grep -E); prints the matching file names.
tg_net_mail_grep() {
	local f hit=1
	for f in "$TG_NET_MAILDIR/$1/new/"* "$TG_NET_MAILDIR/$1/cur/"*; do
		[ -f "$f" ] && grep -qE -- "$2" "$f" && { echo "$f"; hit=0; }
	done
	return "$hit"
}

# tg_net_wait_log FILE REGEX SECONDS — until a line of FILE matches.
tg_net_wait_log() {
	_tgn_wait "$3" grep -qE -- "$2" "$1"
}

# tg_net_log_for LOG RCPT — the log lines of every message that had
# RCPT as a recipient (all lines of those queue ids).
tg_net_log_for() {
	local ids
	ids=$(grep -F "to=<$2>" "$1" 2>/dev/null |
	    sed -nE 's/.*\]: ([0-9A-F]+): to=.*/\1/p' | sort -u)
	[ -n "$ids" ] || return 1
	grep -F "$(printf '%s: \n' $ids)" "$1"
}

# tg_net_finger LEVEL HOST [posttls-finger options...] — posttls-finger's
# view of one lab host ("[HOST]": no MX lookup) at security LEVEL (dane,
# secure, verify, may...), through the lab resolver; prints its report.
# For "secure"/"verify" pass -F "$TG_NET_CA_CERT".
tg_net_finger() {
	local level=$1 host=$2; shift 2
	MAIL_CONFIG="$TG_NET_SENDER_DIR/etc" timeout 60 posttls-finger -t30 -c \
	    -l "$level" "$@" "[$host]" 2>&1
}
