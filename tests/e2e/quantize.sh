#!/bin/sh
# hearth quantize: every type and mix from the f32 sweep model; outputs must load
# in `hearth info`, carry the right file type, and (for the types llama-quantize
# produced in testdata) be byte-identical to llama-quantize's files.
set -u
H=$HEARTH_BIN; TD=$HEARTH_TESTDATA
[ -f "$TD/models/llama-q-sweep-f32.gguf" ] || { echo "testdata absent"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
D=$(mktemp -d /tmp/hearth-e2e-quantize.XXXXXX) || fail "mktemp"
trap 'rm -rf "$D"' EXIT
IN=$TD/models/llama-q-sweep-f32.gguf

$H quantize --help | grep -q "usage: hearth quantize" || fail "--help"
for t in Q4_K_M Q3_K_S Q2_K IQ4_XS BF16; do
	$H quantize --help | grep -q "^  $t " || fail "--help does not list $t"
done
$H quantize >/dev/null 2>&1; [ $? = 2 ] || fail "no arguments should exit 2"
$H quantize "$IN" "$D/x.gguf" Q9_K >/dev/null 2>&1; [ $? = 2 ] || fail "unknown type should exit 2"
$H quantize "$TD/models/llama-q-sweep-Q4_0.gguf" "$D/x.gguf" Q4_K_M >/dev/null 2>"$D/err"; [ $? = 1 ] || fail "quantized input should exit 1"
grep -q "^error: .*already quantized" "$D/err" || fail "quantized-input message: $(cat "$D/err")"
[ -e "$D/x.gguf" ] || [ -e "$D/x.gguf.tmp" ] && fail "a failed run left a file behind"
$H quantize /nonexistent.gguf "$D/x.gguf" Q8_0 >/dev/null 2>"$D/err"; [ $? = 1 ] || fail "missing input should exit 1"
grep -q "^error: " "$D/err" || fail "missing-input message"

for t in F32 F16 BF16 Q8_0 Q6_K Q5_K_M Q5_K_S Q5_1 Q5_0 Q4_K_M Q4_K_S Q4_1 Q4_0 IQ4_NL IQ4_XS \
         Q3_K_L Q3_K_M Q3_K_S Q2_K Q4_K; do
	out=$D/$t.gguf
	$H quantize -t 2 "$IN" "$out" $t >"$D/sum" 2>"$D/prog" || fail "quantize $t: $(cat "$D/prog" | tail -3)"
	[ -e "$out.tmp" ] && fail "$t left $out.tmp"
	grep -q "^\[  21/  21\] " "$D/prog" || fail "$t: progress lines: $(tail -2 "$D/prog")"
	grep -q "bits per weight" "$D/sum" || fail "$t: summary"
	grep -q "rel. RMSE" "$D/sum" || fail "$t: summary table"
	info=$($H info --kv "$out") || fail "hearth info rejects the $t output"
	echo "$info" | grep -q "^totals:" || fail "$t: info totals"
	ref=$TD/models/llama-q-sweep-$t.gguf
	if [ -f "$ref" ]; then
		cmp -s "$out" "$ref" || fail "$t output differs from llama-quantize's $(basename "$ref")"
	fi
done
# file types (llama_ftype numbers) and per-tensor types of a mix
$H info --kv "$D/Q4_K_M.gguf" | grep -q "general.file_type.*15" || fail "Q4_K_M file type"
$H info --kv "$D/Q3_K_S.gguf" | grep -q "general.file_type.*11" || fail "Q3_K_S file type"
$H info "$D/Q4_K_M.gguf" | grep -q "blk.1.ffn_down.weight *Q6_K" || fail "Q4_K_M ffn_down bump"
$H info "$D/Q4_K_M.gguf" | grep -q "blk.0.ffn_down.weight *Q4_K" || fail "Q4_K_M ffn_down base"
$H info "$D/Q3_K_L.gguf" | grep -q "blk.0.attn_output.weight *Q5_K" || fail "Q3_K_L attn_output"
$H info "$D/Q4_K.gguf" >/dev/null && cmp -s "$D/Q4_K.gguf" "$D/Q4_K_M.gguf" || fail "Q4_K is not the Q4_K_M alias"
# --pure: one type for every matrix, norms untouched
$H quantize -q --pure "$IN" "$D/pure.gguf" Q4_K >/dev/null || fail "--pure"
$H info "$D/pure.gguf" | grep -q "output.weight *Q4_K" || fail "--pure output type"
$H info "$D/pure.gguf" | grep -q "output_norm.weight *F32" || fail "--pure norm type"
# a model whose rows are not whole 256-blocks takes llama-quantize's fallbacks
$H quantize -q "$TD/models/qwen3-f32.gguf" "$D/qwen3.gguf" Q4_0 >/dev/null || fail "qwen3 Q4_0"
cmp -s "$D/qwen3.gguf" "$TD/models/qwen3-q4_0.gguf" || fail "qwen3 Q4_0 differs from llama-quantize's"
echo ok
