#!/bin/sh
# run-tests.sh BIN... - runs cmocka test programs, prints each one's result and a
# closing "unit: N passed, N failed, N skipped" line.  VALGRIND=1 runs them under
# valgrind memcheck.  Exit status 1 if any test failed.
pass=0; fail=0; skip=0; bad=""
for t in "$@"; do
	log=$(mktemp)
	if [ -n "$VALGRIND" ]; then
		valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
			"$t" >"$log" 2>&1; rc=$?
	else
		"$t" >"$log" 2>&1; rc=$?
	fi
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	p=${p:-0}; f=${f:-0}; s=${s:-0}
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	name=$(basename "$t")
	if [ "$rc" != 0 ]; then
		cat "$log"
		echo "FAIL $name (exit $rc)"
		bad="$bad $name"
	else
		grep -h "skipped\|^note:" "$log" | sort -u | sed "s/^/  $name: /"
		echo "ok   $name ($p passed, $s skipped)"
	fi
	rm -f "$log"
done
echo "unit: $pass passed, $fail failed, $skip skipped"
[ -n "$HEARTH_SUMMARY" ] && echo "$pass $fail $skip" >> "$HEARTH_SUMMARY"
[ -z "$bad" ]
