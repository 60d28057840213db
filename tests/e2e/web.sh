#!/bin/sh
# The web UI in headless Debian chromium (playwright-core, tests/e2e/web/web.mjs) against the real
# hearth serve: two models and a temp --data-dir, plus a server without a model for its notice.
# Screenshots go to build/screenshots/ (HEARTH_SHOTS to change). Skipped unless node, chromium and
# `npm ci` in tests/e2e/web (the Makefile's test target does that when npm exists).
set -u
H=$HEARTH_BIN; TD=$HEARTH_TESTDATA
D=$(cd "$(dirname "$0")/web" && pwd)
[ -d "$TD/models" ] || { echo "testdata absent"; exit 77; }
command -v node >/dev/null 2>&1 || { echo "node not installed"; exit 77; }
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "chromium not installed (apt-get install chromium)"; exit 77; }
[ -d "$D/node_modules/playwright-core" ] || { echo "playwright-core not installed (npm ci in $D)"; exit 77; }
T=${TMPDIR:-/tmp}/hearth-web.$$
mkdir -p $T.data
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf $T.*; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in $T.log*; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }

# start NAME ARGS...: starts a server logging to $T.log.NAME; sets U to its URL
start() {
	name=$1; shift
	$H serve --port 0 "$@" 2>$T.log.$name &
	PIDS="$PIDS $!"
	i=0
	while ! grep -q "listening on" $T.log.$name 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && fail "server $name did not start"; sleep 0.1
	done
	U=$(sed -n 's|.*listening on \(http://[^/]*\)/.*|\1|p' $T.log.$name | head -1)
}

start main -m "$TD/models/llama-spm-f32.gguf" --alias spm -m "$TD/models/qwen3-f32.gguf" --alias qwen3 \
	--parallel 2 -t 2 --data-dir $T.data --keepalive 1
MAIN=$U
i=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' $MAIN/health)" = 200 ]; do
	i=$((i + 1)); [ $i -gt 300 ] && fail "not ready: $(curl -s $MAIN/health)"; sleep 0.1
done
start nomodel --data-dir $T.data.nomodel
NOMODEL=$U

HEARTH_URL=$MAIN HEARTH_MODELS=spm,qwen3 HEARTH_URL_NOMODEL=$NOMODEL CHROMIUM=$CHROMIUM \
	HEARTH_SHOTS=${HEARTH_SHOTS:-$PWD/build/screenshots} nice node "$D/web.mjs" || fail "web UI"
