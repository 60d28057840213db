#!/bin/sh
# run-fuzz.sh BUILD SECONDS - runs each libFuzzer harness for SECONDS, growing its corpus.
build=$1; secs=$2
td=${HEARTH_TESTDATA:-../shared/testdata}
for bin in "$build"/fuzz/fuzz_*; do
	name=$(basename "$bin"); short=${name#fuzz_}
	mkdir -p tests/fuzz/corpus/$short
	seeds=""
	[ "$short" = gguf ] && [ -d "$td/hostile" ] && seeds="$td/hostile"
	echo "== $name for ${secs}s"
	"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 \
		tests/fuzz/corpus/$short $seeds 2>&1 | tail -3 || exit 1
done
