# CLI: admin add|passwd|remove|list — console users through the store,
# passwords only ever as scrypt PHC strings (RELIABILITY S-03), bad input
# refused with exit 2 and the store unchanged.

conf=$(tg_write_conf)
cat >> "$conf" <<CONF
run_dir = $T/run
relay.hostname = gw.example.net
user = ""
CONF
tg() { "$BIN/tlsgate" -c "$conf" "$@"; }
db() { sqlite3 "$T/state/config.db" "$@"; }
hash_of() { db "SELECT password_hash FROM admin_users WHERE username = '$1'"; }
dump() { db .dump | md5sum; }

pw1='first Passw0rd for the console'
pw2='second passphrase, also long'

check "init" tg init
check "list with no users" tg admin list --json
expect_eq "no users yet" "0" "$(last_output | jq length)"

check "add a user, password on stdin" \
	tg admin add Alice --password-stdin <<<"$pw1"
expect_match "add says so" "added admin user" "$(last_output)"
h1=$(hash_of alice)
expect_match "stored as scrypt with ln=17" '^\$scrypt\$ln=17,r=8,p=1\$' "$h1"
expect_eq "16-byte salt, 32-byte hash, unpadded base64" "88" "${#h1}"

before=$(dump)
check_exit "a duplicate is refused" 2 \
	tg admin add alice --password-stdin <<<"$pw2"
expect_match "the refusal says why" "already exists" "$(last_output)"
check_exit "a duplicate in other case is refused" 2 \
	tg admin add ALICE --password-stdin <<<"$pw2"
check_exit "an 11-byte password is refused" 2 \
	tg admin add bob --password-stdin <<<"elevenbytes"
expect_match "the refusal says too short" "too short" "$(last_output)"
expect_no_match "the refusal does not echo the password" "elevenbytes" \
	"$(last_output)"
check_exit "a password with a control character is refused" 2 \
	tg admin add bob --password-stdin <<<$'tab\there and long enough'
check_exit "no password on stdin is refused" 2 \
	tg admin add bob --password-stdin </dev/null
check_exit "a bad user name is refused" 2 \
	tg admin add 'bob smith' --password-stdin <<<"$pw2"
check_exit "a missing user name is refused" 2 tg admin add --password-stdin
check_exit "an unknown option is refused" 2 tg admin add bob --echo
check_exit "without a terminal, asking is refused" 2 \
	setsid -w "$BIN/tlsgate" -c "$conf" admin add bob </dev/null
expect_match "and the message says what to use" "password-stdin" \
	"$(last_output)"
expect_eq "the store is unchanged by every refusal" "$before" "$(dump)"

check "add a second user" tg admin add bob --password-stdin <<<"$pw2"
check "text list" tg admin list
out=$(last_output)
expect_match "text list shows alice" "^alice +[0-9]{4}-" "$out"
expect_match "text list shows never logged in" "never" "$out"
expect_no_match "text list has no hash" 'scrypt' "$out"
check "json list" tg admin list --json
json=$(last_output)
expect_eq "json list names both, sorted" "alice bob" \
	"$(jq -r 'map(.username) | join(" ")' <<<"$json")"
expect_eq "json list has exactly the three fields" \
	"created last_login username" \
	"$(jq -r '.[0] | keys | join(" ")' <<<"$json")"
expect_eq "json last_login is null before any login" "null" \
	"$(jq -r '.[0].last_login' <<<"$json")"
expect_match "json created is RFC 3339" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' \
	"$(jq -r '.[0].created' <<<"$json")"
expect_no_match "json list has no hash" 'scrypt' "$json"

check "passwd changes the password" \
	tg admin passwd alice --password-stdin <<<"$pw2"
h2=$(hash_of alice)
expect_match "the new hash is scrypt ln=17 too" '^\$scrypt\$ln=17,' "$h2"
if [ "$h1" != "$h2" ]; then ok "the stored hash changed"; else
	not_ok "the stored hash changed"; fi
if [ "$(hash_of bob)" != "$h2" ]; then ok "the same password, another salt"
else not_ok "the same password, another salt"; fi
check_exit "passwd of an unknown user is refused" 2 \
	tg admin passwd carol --password-stdin <<<"$pw2"
check_exit "passwd with a too-short password is refused" 2 \
	tg admin passwd alice --password-stdin <<<"short"
expect_eq "a refused passwd leaves the hash" "$h2" "$(hash_of alice)"

# No password-equivalent anywhere: not the passwords, not their base64.
found=0
for p in "$pw1" "$pw2"; do
	if grep -rqaF -- "$p" "$T/state"; then found=1; fi
	b=$(printf '%s' "$p" | base64 -w0 | tr -d '=')
	if grep -rqaF -- "$b" "$T/state"; then found=1; fi
done
expect_eq "no plaintext password anywhere in the state dir" 0 "$found"

check "remove a user" tg admin remove bob
expect_eq "bob is gone" "alice" \
	"$(tg admin list --json | jq -r 'map(.username) | join(" ")')"
check_exit "removing an unknown user is refused" 2 tg admin remove bob
expect_match "the refusal says why" "unknown admin user" "$(last_output)"
check_exit "remove without a user is refused" 2 tg admin remove
check_exit "an unknown subcommand is refused" 2 tg admin frobnicate
check "help" tg admin --help
expect_match "help names every subcommand" "passwd USER" "$(last_output)"
check "top-level help lists admin" tg --help
expect_match "admin is in the command list" "^  admin " "$(last_output)"
