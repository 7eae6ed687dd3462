# The layout rules of STYLE.md (`make format-check`, scripts/style_check.sh)
# hold for every C file of the tree, and the checker finds each kind of
# violation in a planted file (so this test can fail).

check "every C file keeps the layout rules" "$TOP/scripts/style_check.sh"

printf 'int\nf(void)\n{\n        return 0;\n}\n' > "$T/spaces.c"
printf 'int x; \n' > "$T/trailing.c"
printf 'int x;\r\n' > "$T/cr.c"
printf '/* %s */\n' "$(printf 'x%.0s' $(seq 80))" > "$T/long.c"
printf 'int x;' > "$T/nonewline.c"
printf '\t \tint x;\n' > "$T/spacetab.c"
for f in spaces trailing cr long nonewline spacetab; do
	check_fails "the checker finds $f.c" "$TOP/scripts/style_check.sh" \
	    "$T/$f.c"
done
printf 'int\nf(int a,\n    int b)\n{\n\treturn a +\n\t    b;\n}\n' > "$T/good.c"
check "the checker passes KNF continuation lines" \
    "$TOP/scripts/style_check.sh" "$T/good.c"
