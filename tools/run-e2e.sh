#!/bin/sh
# run-e2e.sh BUILD - runs the end-to-end scripts in tests/e2e/ against the real binary.
build=$1; pass=0; fail=0; skip=0
export HEARTH_BIN="$PWD/$build/hearth"
export HEARTH_TESTDATA=${HEARTH_TESTDATA:-$PWD/../shared/testdata}
for t in tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	out=$(sh "$t" 2>&1); rc=$?
	if [ $rc = 0 ]; then pass=$((pass + 1)); echo "ok   $(basename "$t")"
	elif [ $rc = 77 ]; then skip=$((skip + 1)); echo "skip $(basename "$t"): $(echo "$out" | tail -1)"
	else fail=$((fail + 1)); echo "$out" | tail -30; echo "FAIL $(basename "$t")"; fi
done
echo "e2e: $pass passed, $fail failed, $skip skipped"
[ -n "$HEARTH_SUMMARY" ] && echo "$pass $fail $skip" >> "$HEARTH_SUMMARY"
[ $fail = 0 ]
