#!/bin/sh
# The embedded web UI through the real binary (no model needed): every file
# under web/ is served byte for byte at its path with its Content-Type (style.css and
# boot.js inlined into index.html, their hashes in the CSP), the
# security headers (strict CSP, nosniff, no-referrer, DENY) on every asset,
# ETag revalidation (304), HEAD, client-side routes falling back to index.html,
# and traversal attempts (dot segments, encoded dots, slashes and backslashes)
# answered 404 while API paths keep their JSON 404.
set -u
H=$HEARTH_BIN
command -v curl >/dev/null 2>&1 || { echo "curl not installed"; exit 77; }
[ -f web/index.html ] || { echo "web/index.html absent"; exit 77; }
T=${TMPDIR:-/tmp}/hearth-web.$$
SP=""
cleanup() { [ -n "$SP" ] && kill "$SP" 2>/dev/null; rm -f $T.*; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f $T.log ] && tail -20 $T.log; exit 1; }

$H serve --port 0 --no-history --quiet 2>$T.log &
SP=$!
i=0
while ! grep -q "listening on" $T.log 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "server did not start"; sleep 0.1
done
U=$(sed -n 's|.*listening on \(http://[^/]*\)/.*|\1|p' $T.log | head -1)

CSP="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
# hdr NAME: the header's value from $T.h
hdr() { tr -d '\r' < $T.h | sed -n "s/^$1: //Ip" | head -1; }
get() { rm -f $T.body; curl -s --path-as-is -D $T.h -o $T.body -w '%{http_code}' "$@"; }

# index.html as embed writes it: the stylesheet link and the boot script's
# element replaced by the file in a <style> or <script> element, whose SHA-256
# the CSP's style-src or script-src lists
awk '$0 == "<link rel=\"stylesheet\" href=\"/style.css\">" {
	printf "<style>"; while ((getline l < "web/style.css") > 0) print l; printf "</style>\n"; next }
$0 == "<script src=\"/boot.js\"></script>" {
	printf "<script>"; while ((getline l < "web/boot.js") > 0) print l; printf "</script>\n"; next } { print }' \
	web/index.html > $T.index
grep -q '^<link rel="stylesheet" href="/style.css">$' web/index.html || fail "web/index.html does not link /style.css as expected"
grep -q '^<script src="/boot.js"></script>$' web/index.html || fail "web/index.html does not load /boot.js as expected"
# sha FILE: its SHA-256 in base64, as a CSP source wants it
sha() { /usr/bin/printf "$(sha256sum < "$1" | cut -c1-64 | sed 's/../\\x&/g')" | base64; }
SHA=$(sha web/style.css)
[ ${#SHA} = 44 ] || fail "cannot compute the stylesheet's SHA-256"
CSP=$(echo "$CSP" | sed "s|style-src 'self'|style-src 'self' 'sha256-$SHA'|")
SHA=$(sha web/boot.js)
CSP=$(echo "$CSP" | sed "s|script-src 'self'|script-src 'self' 'sha256-$SHA'|")

# every file under web/, byte for byte, with the headers (style.css and boot.js only inside index.html)
n=0
for f in $(find web -name '.*' -prune -o -type f ! -name '*~' -print); do
	p=${f#web}
	want=$f
	case $p in
	/style.css | /boot.js) [ "$(get $U$p)" = 404 ] || fail "$p is served on its own too"; continue ;;
	/index.html) want=$T.index ;;
	esac
	[ "$(get $U$p)" = 200 ] || fail "$p: $(head -c 200 $T.body)"
	[ -f $T.body ] && cmp -s $T.body "$want" || fail "$p: the body differs from $want (stale build?)"
	case $f in
	*.html) want="text/html; charset=utf-8" ;;
	*.js) want="text/javascript; charset=utf-8" ;;
	*.css) want="text/css; charset=utf-8" ;;
	*.svg) want="image/svg+xml; charset=utf-8" ;;
	*.png) want="image/png" ;;
	*) want=$(hdr Content-Type) ;;
	esac
	[ "$(hdr Content-Type)" = "$want" ] || fail "$p: Content-Type $(hdr Content-Type)"
	[ "$(hdr Content-Security-Policy)" = "$CSP" ] || fail "$p: CSP $(hdr Content-Security-Policy)"
	[ "$(hdr X-Content-Type-Options)" = nosniff ] || fail "$p: no nosniff"
	[ "$(hdr Referrer-Policy)" = no-referrer ] || fail "$p: Referrer-Policy"
	[ "$(hdr X-Frame-Options)" = DENY ] || fail "$p: X-Frame-Options"
	[ "$(hdr Cache-Control)" = no-cache ] || fail "$p: Cache-Control $(hdr Cache-Control)"
	hdr ETag | grep -q '^"[0-9a-f]*-[0-9a-f]\{16\}"$' || fail "$p: ETag $(hdr ETag)"
	n=$((n + 1))
done

# "/" and client-side routes are index.html
for p in / /chat/12 /settings /c/3/; do
	[ "$(get $U$p)" = 200 ] || fail "$p"
	[ -f $T.body ] && cmp -s $T.body $T.index || fail "$p is not index.html"
done

# revalidation and HEAD
[ "$(get $U/)" = 200 ] || fail "/"
E=$(hdr ETag)
[ "$(get -H "If-None-Match: $E" $U/)" = 304 ] || fail "If-None-Match $E"
[ -s $T.body ] && fail "304 with a body"
[ "$(hdr ETag)" = "$E" ] || fail "304 without the ETag"
[ "$(get -H 'If-None-Match: "other"' $U/)" = 200 ] || fail "a stale ETag did not get 200"
[ "$(get -I $U/)" = 200 ] || fail "HEAD /"
[ "$(hdr Content-Length)" = "$(wc -c < $T.index | tr -d ' ')" ] || fail "HEAD Content-Length $(hdr Content-Length)"

# traversal and strays: 404
for p in /../index.html /%2e%2e/index.html /%2E%2E/%2E%2E/etc/passwd /..%2f..%2fetc%2fpasswd \
	/%5c..%5cindex.html '/..\index.html' //index.html /x/../index.html /./index.html /.env /nope.js \
	/index.html/x.js /%252e%252e/index.html /v1 /api; do
	c=$(get "$U$p")
	[ "$c" = 404 ] || fail "$p: $c $(head -c 100 $T.body)"
done
[ "$(get $U/api/nope)" = 404 ] || fail "/api/nope"
grep -q '"error"' $T.body || fail "/api/nope is not the JSON error: $(head -c 100 $T.body)"
c=$(get -X POST -d x $U/index.html)
[ "$c" = 404 ] || [ "$c" = 405 ] || fail "POST /index.html: $c"
grep -q '<' $T.body && fail "POST /index.html returned HTML"
echo "ok: $n files served"
