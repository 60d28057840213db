#!/bin/sh
# hearth tokenize / detokenize: JSON output, special tokens, BOS, pieces, round trip, errors.
set -u
H=$HEARTH_BIN; TD=$HEARTH_TESTDATA
[ -d "$TD/vocab" ] || { echo "testdata absent"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
SPM=$TD/vocab/ggml-vocab-llama-spm.gguf; QW=$TD/vocab/ggml-vocab-qwen2.gguf

$H tokenize --help | grep -q "usage: hearth tokenize" || fail "tokenize --help"
$H detokenize --help | grep -q "usage: hearth detokenize" || fail "detokenize --help"
$H tokenize "hi" >/dev/null 2>&1; [ $? = 2 ] || fail "no -m should exit 2"

[ "$($H tokenize -m "$SPM" "Hello world")" = "[15043,3186]" ] || fail "spm ids"
[ "$($H tokenize -m "$SPM" --add-special "Hello world")" = "[1,15043,3186]" ] || fail "spm bos"
[ "$($H tokenize -m "$QW" --add-special "Hello world")" = "[9707,1879]" ] || fail "qwen2 adds no bos"
[ "$($H tokenize -m "$QW" --parse-special "<|im_start|>user")" = "[151644,872]" ] || fail "parse-special"
out=$($H tokenize -m "$QW" "<|im_start|>"); [ "$out" != "[151644]" ] || fail "control token matched without --parse-special"
[ "$($H tokenize -m "$QW" --pieces 'a "b"')" = '[[64,"a"],[330," \""],[65,"b"],[1,"\""]]' ] || fail "pieces: $($H tokenize -m "$QW" --pieces 'a "b"')"

# a file round trip through detokenize (ids as separate arguments)
printf 'Grüße, 世界! 🦙\ttabs\n  and spaces' > /tmp/tok.$$
for v in "$SPM" "$QW" "$TD/vocab/ggml-vocab-llama-bpe.gguf"; do
	ids=$($H tokenize -m "$v" -f /tmp/tok.$$ | tr -d '[]' | tr ',' ' ')
	$H detokenize -m "$v" $ids > /tmp/tok2.$$ || fail "detokenize $v"
	cmp -s /tmp/tok.$$ /tmp/tok2.$$ || fail "round trip through $v: $(cat /tmp/tok2.$$)"
done
[ "$($H detokenize -m "$QW" --special 151644 872)" = "<|im_start|>user" ] || fail "--special"
[ "$($H detokenize -m "$QW" 151644 872)" = "user" ] || fail "control hidden"

$H tokenize -m "$TD/hostile/30-scores-shorter.gguf" hi 2>/tmp/e.$$; [ $? = 1 ] || fail "hostile 30 should exit 1"
grep -q "tokenizer.ggml.scores" /tmp/e.$$ || fail "hostile 30 message: $(cat /tmp/e.$$)"
$H detokenize -m "$QW" 99999999 2>/dev/null; [ $? = 1 ] || fail "id out of range should exit 1"
rm -f /tmp/tok.$$ /tmp/tok2.$$ /tmp/e.$$
exit 0
