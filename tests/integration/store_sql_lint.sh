# tests/integration/store_sql_lint.sh — SQL lives in the store, built safely.
#
# DESIGN.md "Store": the store API (lib/store/) is the only code that writes
# SQL; everything else calls it. RELIABILITY S-01: no SQL is built with
# printf-style formatting or string concatenation; every value is bound.
#
# Checks:
#   1. No C source outside lib/store/ has a string literal with SQL in it
#      (SELECT, INSERT INTO, CREATE TABLE, DELETE FROM, UPDATE <t> SET,
#      upper case as SQL is written in this tree). The store's own unit
#      tests (tests/unit/test_store*) belong to the store and may speak
#      SQL to the file under test.
#   2. lib/store/ never formats SQL: no sqlite3_mprintf/vmprintf/snprintf/
#      str_appendf, and no printf directive inside an SQL literal.
#   3. The scanner itself finds a planted violation (so this test can fail).
#
# Sourced by tests/harness.sh ($TOP, ok/not_ok from tests/lib.sh); it also
# runs on its own: bash tests/integration/store_sql_lint.sh

if ! type ok >/dev/null 2>&1; then
	ok() { echo "ok - $*"; }
	not_ok() { echo "not ok - $*"; }
fi
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

SQL_RE='"[^"]*(SELECT |INSERT INTO|CREATE TABLE|DELETE FROM|UPDATE [A-Za-z_]+ SET )'
FMT_RE='"[^"]*(SELECT|INSERT|UPDATE|DELETE|CREATE|WHERE|VALUES)[^"]*%[-+ #0-9.*]*(l|ll|z|j|h)?[sdiuxXcq]'

# C sources under root that are not the store's, one per line.
lint_files_outside_store() {
	(cd "$1" && find lib cli daemons tests bench -type f \
	    \( -name '*.c' -o -name '*.h' \) 2>/dev/null |
	    grep -v -e '^lib/store/' -e '^tests/unit/test_store' | sort)
}

# Print "file:line: text" for every SQL literal outside lib/store/.
lint_sql_outside_store() {
	local root=$1 f
	while IFS= read -r f; do
		grep -nE -- "$SQL_RE" "$root/$f" 2>/dev/null | sed "s|^|$f:|"
	done < <(lint_files_outside_store "$root")
}

# Print every place in lib/store/ that formats SQL.
lint_sql_formatting() {
	local root=$1
	grep -nE 'sqlite3_(v?mprintf|snprintf|vsnprintf|str_appendf|str_vappendf)' \
	    "$root"/lib/store/*.c 2>/dev/null
	grep -nE -- "$FMT_RE" "$root"/lib/store/*.c 2>/dev/null
}

lint_report() { # what, findings
	if [ -z "$2" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '%s\n' "$2" | head -20 | sed 's/^/#   /'
	fi
}

nfiles=$(lint_files_outside_store "$TOP" | wc -l)
lint_report "no SQL literal in the $nfiles C files outside lib/store/" \
    "$(lint_sql_outside_store "$TOP")"
if ls "$TOP"/lib/store/*.c >/dev/null 2>&1; then
	lint_report "lib/store/ builds no SQL with printf-style formatting" \
	    "$(lint_sql_formatting "$TOP")"
else
	not_ok "lib/store/ has C sources to check"
fi

# Self-test on a planted tree: the scanner must see each kind of offence
# and must not flag the same text inside lib/store/.
plant=$(mktemp -d)
mkdir -p "$plant/lib/policy" "$plant/lib/store" "$plant/cli"
cat > "$plant/lib/policy/bad.c" <<'C'
static const char *q = "SELECT id FROM domains WHERE name = ?1";
C
cat > "$plant/cli/bad.c" <<'C'
	run("UPDATE domains SET sts_mode = 'off'");
C
cat > "$plant/lib/store/ok.c" <<'C'
static const char q[] = "SELECT id FROM domains WHERE name = ?1";
C
cat > "$plant/lib/store/fmt.c" <<'C'
	snprintf(sql, sizeof(sql), "DELETE FROM domains WHERE name = '%s'", n);
	char *s = sqlite3_mprintf("x");
C
found=$(lint_sql_outside_store "$plant")
if printf '%s' "$found" | grep -q '^lib/policy/bad.c:1:' &&
    printf '%s' "$found" | grep -q '^cli/bad.c:1:' &&
    ! printf '%s' "$found" | grep -q 'lib/store/'; then
	ok "the SQL scanner finds planted literals and spares lib/store/"
else
	not_ok "the SQL scanner finds planted literals and spares lib/store/"
	printf '%s\n' "$found" | sed 's/^/#   /'
fi
nfmt=$(lint_sql_formatting "$plant" | grep -c 'fmt.c')
if [ "$nfmt" -ge 2 ] && ! lint_sql_formatting "$plant" | grep -q 'ok.c'; then
	ok "the formatting scanner finds planted printf-built SQL"
else
	not_ok "the formatting scanner finds planted printf-built SQL"
fi
rm -rf "$plant"
