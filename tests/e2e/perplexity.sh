#!/bin/sh
# hearth perplexity: the value equals exp(mean NLL) recomputed from `hearth logits`
# over the same tokens (BOS first, second half scored), plus usage errors.
set -u
H=$HEARTH_BIN; TD=$HEARTH_TESTDATA
M="$TD/models/llama-spm-f32.gguf"
[ -f "$M" ] || { echo "testdata absent"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

printf 'Once upon a time there was a little fox who lived in the forest near the river.' > "$T/text"
ids=$($H tokenize -m "$M" -f "$T/text" | tr -d '[]') || fail "tokenize"
n=$(echo "$ids" | tr ',' '\n' | wc -l)
[ "$n" -ge 8 ] || fail "too few tokens: $n"
out=$($H perplexity -m "$M" -f "$T/text" -c "$n" -t 1 --kv-type f32 2>/dev/null) || fail "perplexity run"
ppl=$(echo "$out" | sed -n 's/^perplexity: \([0-9.]*\) .*/\1/p')
[ -n "$ppl" ] || fail "no perplexity line: $out"

# the same by hand: BOS replaces the first token; positions n/2 .. n-2 predict the next id
bos_ids="1,$(echo "$ids" | cut -d, -f2-)"
$H logits -m "$M" --tokens "$bos_ids" --top 32000 --kv-type f32 -t 1 > "$T/logits" || fail "logits"
ref=$(echo "$ids" | tr ',' '\n' | awk -v first=$((n / 2)) -v L="$T/logits" '
	{ id[NR - 1] = $1 } END {
		i = 0
		while ((getline line < L) > 0) {
			if (i >= first && i + 1 < NR) {
				lse = line; sub(/.*"logsumexp":/, "", lse); sub(/,.*/, "", lse)
				pat = "\\[" id[i + 1] ","
				rest = line; p = match(rest, pat)
				if (!p) { print "missing"; exit }
				rest = substr(rest, p + RLENGTH); sub(/\].*/, "", rest)
				sum += lse - rest; cnt++
			}
			i++
		}
		printf "%.4f\n", exp(sum / cnt)
	}')
awk -v a="$ppl" -v b="$ref" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-3 * b) }' ||
	fail "perplexity $ppl differs from the logits-derived $ref"

# errors
$H perplexity -m "$M" >/dev/null 2>&1; [ $? = 2 ] || fail "missing -f should exit 2"
$H perplexity -m "$M" -f /nonexistent 2>"$T/e"; [ $? = 1 ] || fail "missing file should exit 1"
grep -q "^error: .*nonexistent" "$T/e" || fail "message: $(cat "$T/e")"
printf 'hi' > "$T/short"
$H perplexity -m "$M" -f "$T/short" 2>"$T/e"; [ $? = 1 ] || fail "too-short text should exit 1"
$H perplexity --help | grep -q "usage: hearth perplexity" || fail "--help"
echo "ok (ppl $ppl, from logits $ref)"
