#!/bin/sh
# scripts/style_check.sh — `make format-check`: the layout rules of
# STYLE.md that a script can hold every C file to (KNF-like):
#   - indentation is tabs; a continuation line adds four spaces after
#     them (four spaces alone at the top level), and hand-aligned tables
#     may add more; spaces never come before a tab, and a space-only
#     indent is otherwise allowed only before the ' *' of a comment;
#   - at most 80 columns, a tab counting to the next multiple of 8;
#   - no trailing white space, no carriage return, a newline at the end.
# Where the breaks go is the author's choice; .clang-format gives an editor
# the same indentation for new code.
#
#   scripts/style_check.sh [FILE...]    (default: every tracked .c and .h)
set -u
cd "$(dirname "$0")/.." || exit 2
if [ $# -eq 0 ]; then
	# shellcheck disable=SC2046
	set -- $(git ls-files '*.c' '*.h')
fi
status=0
for f in "$@"; do
	awk -v f="$f" '
	function width(s,    i, c, w) {
		w = 0
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (c == "\t")
				w = w - w % 8 + 8
			else
				w++
		}
		return w
	}
	function bad(why) {
		printf "%s:%d: %s\n", f, FNR, why
		errors++
	}
	/\r/ { bad("carriage return") }
	/[ \t]+\r?$/ { bad("trailing white space") }
	/^\t* \t/ { bad("tab after a space in the indentation") }
	/^ / && !/^ +\*/ && !/^    [^ ]/ { bad("indented with spaces, not tabs") }
	{ if (width($0) > 80) bad("longer than 80 columns") }
	END { exit errors > 0 }
	' "$f" || status=1
	if [ -s "$f" ] && [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" != '\n' ]
	then
		echo "$f: no newline at the end"
		status=1
	fi
done
exit $status
