#!/bin/sh
# The web UI in headless Debian chromium (playwright-core, tests/e2e/web/web.mjs) against the real
# hearth serve, which web.mjs starts: two models with a temp --data-dir (killed mid-reply and restarted
# once), and a server without a model for its notice. Screenshots go to build/screenshots/ (HEARTH_SHOTS
# to change). Skipped unless node, chromium and `npm ci` in tests/e2e/web (the Makefile's test target
# does that when npm exists).
set -u
H=$HEARTH_BIN; TD=$HEARTH_TESTDATA
D=$(cd "$(dirname "$0")/web" && pwd)
[ -d "$TD/models" ] || { echo "testdata absent"; exit 77; }
command -v node >/dev/null 2>&1 || { echo "node not installed"; exit 77; }
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "chromium not installed (apt-get install chromium)"; exit 77; }
[ -d "$D/node_modules/playwright-core" ] || { echo "playwright-core not installed (npm ci in $D)"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/hearth-web.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
HEARTH_BIN=$H HEARTH_TESTDATA=$TD HEARTH_DATA=$T CHROMIUM=$CHROMIUM \
	HEARTH_SHOTS=${HEARTH_SHOTS:-$PWD/build/screenshots} nice node "$D/web.mjs" || { echo "FAIL: web UI"; exit 1; }
