#!/bin/sh
# hearth template: exact output (no newline added), model templates, built-ins and their
# detection, kwargs (enable_thinking), stdin messages, error messages with line:column.
set -u
H=$HEARTH_BIN; TD=$HEARTH_TESTDATA
[ -d "$TD/templates" ] || { echo "testdata absent"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
T=/tmp/tmpl.$$; mkdir -p $T
trap 'rm -rf $T' EXIT

$H template --help | grep -q "usage: hearth template" || fail "--help"
$H template --messages x.json >/dev/null 2>&1; [ $? = 2 ] || fail "no template source should exit 2"
$H template --builtin nope --messages x.json >/dev/null 2>&1; [ $? = 2 ] || fail "unknown builtin should exit 2"

printf '[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi \\u4e16"}]' > $T/m.json

# Qwen3 with thinking disabled: exact bytes, no trailing newline
$H template --template "$TD/templates/Qwen-Qwen3-0.6B.jinja" --messages $T/m.json --add-generation-prompt \
	--kwargs '{"enable_thinking": false}' > $T/out || fail "qwen3 render"
printf '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi \344\270\226<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n' > $T/want
cmp -s $T/out $T/want || fail "qwen3 output: $(cat $T/out)"

# messages from stdin, DeepSeek-R1 opens <think> in the prompt
out=$($H template -t "$TD/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja" --messages - \
	--add-generation-prompt --kwargs '{"enable_thinking": true}' --bos '<s>' < $T/m.json) || fail "deepseek render"
[ "$out" = "<s>Be brief.<｜User｜>Hi 世<｜Assistant｜><think>" ] || fail "deepseek output: $out"

# SmolLM3: /no_think in the system prompt wins over the kwarg
printf '[{"role":"system","content":"Short. /no_think"},{"role":"user","content":"Q"}]' > $T/s.json
$H template -t "$TD/templates/HuggingFaceTB-SmolLM3-3B.jinja" --messages $T/s.json --add-generation-prompt \
	--kwargs '{"enable_thinking": true}' > $T/out || fail "smollm3 render"
grep -q "Reasoning Mode: /no_think" $T/out || fail "smollm3 /no_think"
tail -c 30 $T/out | grep -q "<think>" || fail "smollm3 empty think block"

# built-ins
[ "$($H template --builtin llama2 --bos '<s>' --eos '</s>' --messages $T/m.json)" = "$(printf '<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi \344\270\226 [/INST]')" ] || fail "llama2 builtin"

# a model with its own template; a model without one gets the detected built-in and its BOS
if [ -f "$TD/vocab/ggml-vocab-qwen2.gguf" ]; then
	$H template -m "$TD/vocab/ggml-vocab-qwen2.gguf" --messages $T/m.json --add-generation-prompt > $T/out || fail "-m qwen2"
	head -c 22 $T/out | grep -q "<|im_start|>system" || fail "-m qwen2 output: $(cat $T/out)"
fi
if [ -f "$TD/vocab/ggml-vocab-llama-bpe.gguf" ]; then
	out=$($H template -m "$TD/vocab/ggml-vocab-llama-bpe.gguf" --messages $T/m.json 2>/dev/null) || fail "-m llama-bpe"
	case "$out" in "<|begin_of_text|><|start_header_id|>system"*) ;; *) fail "-m llama-bpe bos: $out" ;; esac
fi
if [ -f "$TD/vocab/ggml-vocab-llama-spm.gguf" ]; then
	$H template -m "$TD/vocab/ggml-vocab-llama-spm.gguf" --messages $T/m.json 2>$T/err > $T/out || fail "-m spm"
	grep -q "built-in 'chatml'" $T/err || fail "spm fallback note: $(cat $T/err)"
fi

# errors: the template's own exception; unknown filter with file:line:col
$H template -t "$TD/templates/google-gemma-2-2b-it.jinja" --messages $T/m.json 2>$T/err >/dev/null
[ $? = 1 ] || fail "gemma system message should exit 1"
grep -q "System role not supported" $T/err || fail "gemma message: $(cat $T/err)"
printf 'ok\n{{ messages | frobnicate }}' > $T/bad.jinja
$H template -t $T/bad.jinja --messages $T/m.json 2>$T/err >/dev/null; [ $? = 1 ] || fail "bad filter should exit 1"
grep -q "bad.jinja:2:15: unknown filter 'frobnicate'" $T/err || fail "bad filter message: $(cat $T/err)"
printf '{%% for i in range(100000) %%}{%% for j in range(100000) %%}{%% endfor %%}{%% endfor %%}' > $T/loop.jinja
$H template -t $T/loop.jinja --messages $T/m.json 2>$T/err >/dev/null; [ $? = 1 ] || fail "runaway loop should fail"
grep -q "limit" $T/err || fail "runaway loop message: $(cat $T/err)"
printf 'not json' > $T/nj.json
$H template --builtin chatml --messages $T/nj.json 2>$T/err >/dev/null; [ $? = 1 ] || fail "bad messages JSON should exit 1"
exit 0
