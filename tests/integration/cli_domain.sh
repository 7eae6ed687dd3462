# CLI: init, domain add|list|show|set|remove round trip through the store,
# every bad-input path (one line, exit 2, store unchanged), config show|check.

conf=$(tg_write_conf)
cat >> "$conf" <<CONF
run_dir = $T/run
relay.hostname = gw.example.net
user = ""
dns.timeout = 2
CONF
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }

check_exit "read command before init fails cleanly" 2 tg domain list
check "init creates state, store and certificate" tg init
expect_match "init made a self-signed certificate" "created \(self-signed" "$(last_output)"
check "store file exists" test -s "$T/state/config.db"
check "key file is private" test "$(stat -c %a "$T"/state/keys/*.key)" = 600
check "init a second time" tg init
expect_match "second init keeps the certificate" "already present" "$(last_output)"

check "add a domain with every option" tg domain add Example.ORG \
	--route mail.internal:2525 --sts-mode testing --mx mx1.example.org \
	--mx '*.mx.example.org' --max-age 86400 \
	--rua 'mailto:tlsrpt@example.org,https://r.example.org/v1'
check "show --json" tg domain show example.org --json
json=$(last_output)
expect_eq "name normalised" "example.org" "$(jq -r .name <<<"$json")"
expect_eq "route kept" "mail.internal:2525" "$(jq -r .inbound_route <<<"$json")"
expect_eq "mode kept" "testing" "$(jq -r .mta_sts.mode <<<"$json")"
expect_eq "mx list kept in order" "mx1.example.org *.mx.example.org" \
	"$(jq -r '.mta_sts.mx | join(" ")' <<<"$json")"
expect_eq "max_age kept" "86400" "$(jq -r .mta_sts.max_age <<<"$json")"
expect_eq "rua kept" "mailto:tlsrpt@example.org,https://r.example.org/v1" \
	"$(jq -r .tlsrpt_rua <<<"$json")"
check "second domain with defaults" tg domain add example.com
check "list --json" tg domain list --json
expect_eq "list has both, sorted" "example.com example.org" \
	"$(last_output | jq -r 'map(.name) | join(" ")')"
check "text list" tg domain list
expect_match "text list shows the mode" "example.org +testing" "$(last_output)"

check_exit "enforce is refused while the MX hosts cannot be checked" 2 \
	tg domain set example.org --sts-mode enforce
expect_match "the refusal says why" "refusing enforce for example.org" "$(last_output)"
check "set changes only what is given" tg domain set example.org --sts-mode none
json=$(tg domain show example.org --json)
expect_eq "mode changed" "none" "$(jq -r .mta_sts.mode <<<"$json")"
expect_eq "route unchanged" "mail.internal:2525" "$(jq -r .inbound_route <<<"$json")"
expect_eq "mx unchanged" "2" "$(jq -r '.mta_sts.mx | length' <<<"$json")"
check "set --mx replaces the list" tg domain set example.org --mx mail.example.org
expect_eq "mx replaced" "mail.example.org" \
	"$(tg domain show example.org --json | jq -r '.mta_sts.mx | join(" ")')"

# Every bad input: exit 2, exactly one line on stderr, store unchanged.
before=$(sqlite3 "$T/state/config.db" .dump | md5sum)
bad() { # description expected-substring args...
	local what=$1 want=$2 out rc; shift 2
	out=$(tg "$@" 2>&1 >/dev/null); rc=$?
	if [ "$rc" = 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
	    printf '%s' "$out" | grep -qi -- "$want"; then
		ok "bad input: $what"
	else
		not_ok "bad input: $what"
		echo "#   exit $rc, stderr: $out"
	fi
}
bad "invalid domain name" "invalid domain name" domain add 'exa_mple.org'
bad "shell metacharacters in name" "invalid domain name" domain add 'a;rm -rf /.org'
bad "single label" "two labels" domain add localhost
bad "duplicate domain" "already exists" domain add EXAMPLE.org
bad "unknown domain on show" "unknown domain" domain show nope.example
bad "unknown domain on set" "unknown domain" domain set nope.example --sts-mode none
bad "unknown domain on remove" "unknown domain" domain remove nope.example
bad "bad mode" "sts" domain add new.example --sts-mode strict
bad "bad mode on set" "sts" domain set example.org --sts-mode strict
bad "max_age too large" "max-age" domain add new.example --max-age 31557601
bad "max_age not a number" "max-age" domain add new.example --max-age 1w
bad "wildcard not leftmost" "" domain add new.example --mx 'mx.*.example.org'
bad "rua not mailto/https" "" domain add new.example --rua http://x.example/
bad "bad route port" "" domain add new.example --route mail.internal:99999
bad "unknown option" "unknown" domain add new.example --colour blue
bad "missing name" "which domain" domain add
bad "unknown subcommand" "unknown command" domain frobnicate
after=$(sqlite3 "$T/state/config.db" .dump | md5sum)
expect_eq "store unchanged by every bad input" "$before" "$after"
check_fails "new.example was never added" tg domain show new.example

check "remove a domain" tg domain remove example.com
check_exit "removed domain is gone" 2 tg domain show example.com

check "help on every command" tg domain --help
check "help on add" tg domain add --help
check "help on init" tg init --help
check "config show" tg config show
expect_match "config show has the state dir" "state_dir = \"?$T/state" "$(last_output)"
check "config show --json" tg config show --json
expect_eq "json config state_dir" "$T/state" "$(last_output | jq -r .state_dir)"
check "config check on a good setup" tg config check
echo "dns.timeout = abc" >> "$conf"
check_exit "config with a bad value is refused" 2 tg config show
expect_match "error names file, line and key" "tlsgate.conf:[0-9]+: dns.timeout" "$(last_output)"
sed -i '$d' "$conf"
echo "spool_dir = $T/missing-spool" >> "$conf"
sed -i "0,/^spool_dir = .*spool$/{//d}" "$conf"
check_exit "config check reports a missing directory" 1 tg config check
expect_match "problem names the key" "spool_dir" "$(last_output)"
check_exit "unknown top-level command" 2 tg frobnicate
