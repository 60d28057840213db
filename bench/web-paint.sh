#!/bin/sh
# web-paint.sh [LOADS [URL...]] - first contentful paint of the web UI
# (bench/web-paint.mjs) against the real `hearth serve` on a free loopback port,
# with a temporary history database holding a few chats (no model: the page is
# the same). Further URLs (another build's server, say) are measured in the
# same run, interleaved.
# Needs node, Debian's chromium and playwright-core (`make test` installs them,
# or `npm ci --prefix tests/e2e/web`).
#   e.g. make && sh bench/web-paint.sh 40
#        VIEWPORT=390x844 DPR=3 sh bench/web-paint.sh 40   (a phone's screen)
set -u
N=${1:-30}
[ $# -gt 0 ] && shift
H=${HEARTH_BIN:-build/hearth}
D=$(cd "$(dirname "$0")" && pwd)
[ -x "$H" ] || { echo "no $H: run make first"; exit 1; }
command -v node >/dev/null 2>&1 || { echo "needs node"; exit 1; }
[ -d "$D/../tests/e2e/web/node_modules/playwright-core" ] || { echo "needs playwright-core: npm ci --prefix tests/e2e/web"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/hearth-paint.XXXXXX") || exit 1
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$T"' EXIT
$H serve --port 0 --data-dir "$T" --quiet 2>"$T/log" &
PID=$!
i=0
while ! grep -q "listening on" "$T/log" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 100 ] && { cat "$T/log"; exit 1; }; sleep 0.1
done
U=$(sed -n 's|.*listening on \(http://[^/]*\)/.*|\1|p' "$T/log" | head -1)
for c in 1 2 3 4 5 6; do
	curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"title\":\"chat $c\"}" "$U/api/chats"
done
node "$D/web-paint.mjs" "$U/" "$@" "$N"
