#!/bin/sh
# hearth serve with the official openai npm SDK (tests/e2e/openai/openai-client.mjs).
# Skipped unless node is installed and `npm ci` has been run in tests/e2e/openai
# (the Makefile's test target does that when node exists).
set -u
H=$HEARTH_BIN; TD=$HEARTH_TESTDATA
D=$(dirname "$0")/openai
[ -d "$TD/models" ] || { echo "testdata absent"; exit 77; }
command -v node >/dev/null 2>&1 || { echo "node not installed"; exit 77; }
[ -d "$D/node_modules/openai" ] || { echo "openai SDK not installed (npm ci in $D)"; exit 77; }
LOG=${TMPDIR:-/tmp}/hearth-openai.$$.log
$H serve --port 0 --no-history -m "$TD/models/llama-spm-f32.gguf" --alias spm --parallel 2 -t 2 2>$LOG &
PID=$!
trap 'kill $PID 2>/dev/null; rm -f $LOG' EXIT
i=0
while ! grep -q "ready" $LOG 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 100 ] && { cat $LOG; echo "FAIL: server did not start"; exit 1; }; sleep 0.1
done
U=$(sed -n 's|.*listening on \(http://[^/]*\)/.*|\1|p' $LOG | head -1)
HEARTH_URL=$U HEARTH_MODEL=spm node "$D/openai-client.mjs" || { tail -20 $LOG; exit 1; }
