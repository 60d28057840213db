#!/bin/sh
# run-fuzz-replay.sh BUILD - replays every fuzz harness's corpus (tests/fuzz/corpus/<name>/,
# plus the shared hostile GGUF corpus for the GGUF harness) as a plain regression test.
build=$1; fail=0; n=0
td=${HEARTH_TESTDATA:-../shared/testdata}
for bin in "$build"/fuzz-replay/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin"); short=${name#fuzz_}
	dirs="tests/fuzz/corpus/$short"
	[ "$short" = gguf ] && [ -d "$td/hostile" ] && dirs="$dirs $td/hostile $td/quant"
	if "$bin" $dirs >/tmp/replay.$$ 2>&1; then
		n=$((n + 1)); echo "ok   $name ($(tail -1 /tmp/replay.$$))"
	else
		cat /tmp/replay.$$; echo "FAIL $name"; fail=$((fail + 1))
	fi
done
rm -f /tmp/replay.$$
echo "fuzz-replay: $n passed, $fail failed"
[ -n "$HEARTH_SUMMARY" ] && echo "$n $fail 0" >> "$HEARTH_SUMMARY"
[ $fail = 0 ]
