#!/bin/sh
# hostile_models.sh - every file in testdata/hostile through `hearth logits`:
# the valid control (00-*) must evaluate; every other file must be refused with
# exit status 1 and an "error:" line naming the problem, never a crash or hang.
bin=${HEARTH_BIN:-build/hearth}
td=${HEARTH_TESTDATA:-../shared/testdata}
if [ ! -d "$td/hostile" ]; then
	echo "testdata not found ($td/hostile)"
	exit 77
fi
fail=0; n=0
out=$(mktemp); err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
for f in "$td"/hostile/*.gguf; do
	n=$((n + 1))
	name=$(basename "$f")
	timeout 60 "$bin" logits -m "$f" --tokens 1 >"$out" 2>"$err"; rc=$?
	case "$name" in
	00-*)
		if [ $rc != 0 ] || ! grep -q '^{"pos":0,"logsumexp":' "$out"; then
			echo "FAIL $name: expected logits, got exit $rc: $(head -c 300 "$err")"; fail=1
		fi ;;
	*)
		if [ $rc != 1 ]; then
			echo "FAIL $name: expected exit 1, got $rc (>128 means a signal): $(head -c 300 "$err")"; fail=1
		elif ! grep -q '^error: .' "$err"; then
			echo "FAIL $name: no 'error:' line on stderr"; fail=1
		elif [ -s "$out" ]; then
			echo "FAIL $name: printed output despite the error"; fail=1
		fi ;;
	esac
done
# The command's own usage errors.
"$bin" logits --help | grep -q 'usage: hearth logits' || { echo "FAIL: --help"; fail=1; }
"$bin" logits -m "$td/hostile/00-valid-tiny.gguf" --tokens 1,x >/dev/null 2>"$err"; rc=$?
{ [ $rc = 1 ] && grep -q '^error:' "$err"; } || { echo "FAIL: bad --tokens accepted (exit $rc)"; fail=1; }
"$bin" logits -m "$td/hostile/00-valid-tiny.gguf" --tokens 300 >/dev/null 2>"$err"; rc=$?
{ [ $rc = 1 ] && grep -q '^error:.*vocabulary' "$err"; } || { echo "FAIL: out-of-vocabulary id accepted (exit $rc)"; fail=1; }
[ $n -ge 37 ] || { echo "FAIL: only $n hostile files"; fail=1; }
[ $fail = 0 ] && echo "hostile models: $n files ok"
exit $fail
