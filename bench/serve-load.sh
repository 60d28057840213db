#!/bin/sh
# serve-load.sh MODEL.gguf [THREADS] [TOKENS] - load benchmark of `hearth serve`:
# for 1, 4 and 16 concurrent requests (a 34-token prompt of distinct token ids
# each, TOKENS generated, greedy), prints the median time to first token, the
# median generation tokens/s per stream, and the aggregate tokens/s (all tokens
# generated / wall time).  The server runs with --parallel 16 on a free port.
#   e.g. bench/make-model qwen2.5-0.5b Q4_K_M /tmp/q.gguf && sh bench/serve-load.sh /tmp/q.gguf 2 64
set -u
M=${1:?usage: serve-load.sh MODEL.gguf [THREADS] [TOKENS]}
TH=${2:-2}; NT=${3:-64}
H=${HEARTH_BIN:-build/hearth}
command -v curl >/dev/null && command -v jq >/dev/null || { echo "needs curl and jq"; exit 1; }
LOG=$(mktemp)
$H serve --port 0 -m "$M" --alias m -t "$TH" --parallel 16 -c 1024 --quiet 2>$LOG &
PID=$!
trap 'kill $PID 2>/dev/null; rm -f $LOG /tmp/serve-load.$$.*' EXIT
while ! grep -q "ready\|failed" $LOG; do sleep 0.1; done
grep -q failed $LOG && { cat $LOG; exit 1; }
U=$(sed -n 's|.*listening on \(http://[^/]*\)/.*|\1|p' $LOG | head -1)
req() { # N: request with a prompt that shares no prefix with the others
	ids=$(seq $((1000 + $1 * 97)) 13 100000 | head -34 | paste -sd, -)
	curl -s $U/v1/completions -d "{\"model\":\"m\",\"prompt\":[$ids],\"max_tokens\":$NT,\"temperature\":0}" \
		> /tmp/serve-load.$$.$1
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
req 0 # warm-up
printf "%-8s %12s %18s %16s\n" streams "TTFT ms" "tok/s per stream" "aggregate tok/s"
base=1
for n in 1 4 16; do
	t0=$(date +%s.%N)
	pids=""
	for i in $(seq $n); do req $((base + i)) & pids="$pids $!"; done
	wait $pids
	t1=$(date +%s.%N)
	ttft=$(for i in $(seq $n); do jq '.timings.ttft_ms' /tmp/serve-load.$$.$((base + i)); done | median)
	tps=$(for i in $(seq $n); do jq '.timings.predicted_per_second' /tmp/serve-load.$$.$((base + i)); done | median)
	gen=$(for i in $(seq $n); do jq '.usage.completion_tokens' /tmp/serve-load.$$.$((base + i)); done | awk '{s+=$1} END {print s}')
	printf "%-8s %12.0f %18.1f %16.1f\n" $n "$ttft" "$tps" "$(echo "$gen / ($t1 - $t0)" | bc -l)"
	base=$((base + n))
done
