#!/bin/sh
# hearth info: every shipped model and the hostile corpus; exit status and messages.
set -u
H=$HEARTH_BIN; TD=$HEARTH_TESTDATA
[ -d "$TD/models" ] || { echo "testdata absent"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

$H info --help | grep -q "usage: hearth info" || fail "--help"
$H info >/dev/null 2>&1; [ $? = 2 ] || fail "no argument should exit 2"
$H info /nonexistent.gguf 2>/tmp/e.$$; [ $? = 1 ] || fail "missing file should exit 1"
grep -q "^error: /nonexistent.gguf: cannot open" /tmp/e.$$ || fail "missing-file message: $(cat /tmp/e.$$)"

for m in "$TD"/models/*.gguf; do
	out=$($H info "$m") || fail "info $m"
	echo "$out" | grep -q "^totals:" || fail "no totals for $m"
	$H info --json "$m" | grep -q '"bits_per_weight"' || fail "json for $m"
done
$H info "$TD/models/qwen3-q4_0.gguf" | grep -q "tokenizer:     gpt2 (pre-tokenizer qwen2), 151936 tokens" || fail "tokenizer summary"
$H info "$TD/models/qwen3-q4_0.gguf" | grep -q "chat template: yes" || fail "chat template flag"
$H info "$TD/models/qwen3-q4_0.gguf" | grep -q "blk.0.attn_q.weight *Q4_0 *32 x 64 *1152" || fail "tensor row"

# a valid container whose architecture hearth cannot run: shown, then refused
$H info "$TD/quant/quant-types.gguf" >/tmp/o.$$ 2>/tmp/e.$$; [ $? = 1 ] || fail "quant-types.gguf should exit 1"
grep -q "IQ4_XS" /tmp/o.$$ || fail "quant-types tensor table"
grep -q "^error: .*unknown model architecture 'quant-test'" /tmp/e.$$ || fail "quant-types message: $(cat /tmp/e.$$)"
# a vocabulary-only file (no tensors) is not checked as a model
$H info "$TD/vocab/ggml-vocab-qwen2.gguf" >/dev/null || fail "vocab-only file"

# every hostile file: exit 1 with an error line naming the file, never a signal
for f in "$TD"/hostile/*.gguf; do
	n=$(basename "$f")
	$H info "$f" >/dev/null 2>/tmp/e.$$; rc=$?
	case $n in
	00-*) [ $rc = 0 ] || fail "$n should be accepted: $(cat /tmp/e.$$)" ;;
	*) [ $rc = 1 ] || fail "$n: exit status $rc, expected 1"
	   grep -q "^error: .*$n: ..*" /tmp/e.$$ || fail "$n: message $(cat /tmp/e.$$)" ;;
	esac
done
rm -f /tmp/e.$$ /tmp/o.$$
echo ok
