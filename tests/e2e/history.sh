#!/bin/sh
# The native chat API with persistent history (docs/native-api.md), with curl
# against the real binary: chats and messages, the per-chat SSE stream (late
# subscribers replay, Last-Event-ID resumes exactly, subscribers agree), stop,
# the prompt cache across turns, slash commands, search, export/import,
# pagination, validation, DELETE; then restart (SIGTERM mid-generation: the
# reply is saved "stopped") and kill -9 mid-generation (the reply comes back as
# "error" with its partial text; the database passes integrity_check).
set -u
H=$HEARTH_BIN; TD=$HEARTH_TESTDATA
[ -d "$TD/models" ] || { echo "testdata absent"; exit 77; }
for t in curl jq sqlite3; do command -v $t >/dev/null 2>&1 || { printf '%s\n' "$t not installed"; exit 77; }; done
T=${TMPDIR:-/tmp}/hearth-history.$$
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf $T.*; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in $T.log*; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }

# start NAME ARGS...: a server logging to $T.log.NAME; sets U (URL) and SP (pid)
start() {
	name=$1; shift
	$H serve --port 0 "$@" 2>$T.log.$name &
	SP=$!
	PIDS="$PIDS $SP"
	i=0
	while ! grep -q "listening on" $T.log.$name 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && fail "server $name did not start"; sleep 0.1
	done
	U=$(sed -n 's|.*listening on \(http://[^/]*\)/.*|\1|p' $T.log.$name | head -1)
	i=0
	[ -n "${NOMODEL:-}" ] && return
	until [ "$(curl -s -o /dev/null -w '%{http_code}' $U/health)" = 200 ]; do
		i=$((i + 1)); [ $i -gt 200 ] && fail "not ready: $(curl -s $U/health)"; sleep 0.1
	done
}
code() { curl -s -o $T.body -w '%{http_code}' "$@"; }
# sub FILE CHAT [curl args]: follows a chat's events in the background; sets SUB (pid)
sub() { f=$1; ch=$2; shift 2; curl -s -N "$@" $U/api/chats/$ch/events > $f & SUB=$!; PIDS="$PIDS $SUB"; }
# events FILE: one "id<TAB>event<TAB>data" line per event (comments dropped)
events() { awk '/^id: /{id=substr($0,5)} /^event: /{ev=substr($0,8)} /^data: /{print id "\t" ev "\t" substr($0,7)}
	/^$/{id=""; ev=""}' "$1"; }
# wait_n FILE REGEX N: until FILE has N lines matching
wait_n() {
	i=0
	while [ "$(grep -c "$2" "$1" 2>/dev/null)" -lt "$3" ]; do
		i=$((i + 1)); [ $i -gt 300 ] && fail "waiting for $3 x '$2' in $1: $(tail -c 300 $1)"; sleep 0.05
	done
}
post() { curl -s $U/api/chats/$1/messages -d "$2"; }
last_msg() { curl -s "$U/api/chats/$1/messages?limit=1" | jq -c '.messages[-1]'; }
LONG='"params":{"max_tokens":30000,"ignore_eos":true,"temperature":0.8,"seed":7}'

SPM="$TD/models/llama-spm-f32.gguf"
DB=$T.db
start a -m "$SPM" --alias spm --ctx 32768 --parallel 2 -t 1 --kv-type f32 --db $DB --keepalive 0.3

# --- chats: create, validation
[ "$(code $U/api/chats -d '{}')" = 201 ] || fail "create: $(cat $T.body)"
jq -e '.id > 0 and .title == "New chat" and .generating == false and .params == {}' $T.body >/dev/null ||
	fail "chat: $(cat $T.body)"
C=$(jq .id $T.body)
for bad in '{"bogus":1}' '{"title":5}' '{"params":{"temperature":-1}}' '{"params":{"tempo":1}}' '[1]' '{"model":"nope"}'; do
	st=$(code $U/api/chats -d "$bad"); [ "$st" = 400 ] || fail "create $bad: $st $(cat $T.body)"
	jq -e '.error.message | length > 0' $T.body >/dev/null || fail "error body for $bad"
done
# NUL and invalid UTF-8 are refused with a message a user can act on; deep nesting too
[ "$(code $U/api/chats -d '{"title":"a\u0000b"}')" = 400 ] && jq -e '.error.message | startswith("strings must not contain NUL")' \
	$T.body >/dev/null || fail "NUL in a title: $(cat $T.body)"
printf '{"content":"a\377\376b"}' > $T.bad
[ "$(code $U/api/chats/$C/messages --data-binary @$T.bad)" = 400 ] || fail "invalid UTF-8 content: $(cat $T.body)"
awk 'BEGIN { printf "{\"params\":"; for (i = 0; i < 5000; i++) printf "["; for (i = 0; i < 5000; i++) printf "]"; printf "}" }' > $T.bad
[ "$(code $U/api/chats --data-binary @$T.bad)" = 400 ] || fail "deep JSON: $(cat $T.body)"
for p in 01 abc -1 99999999999999999999 0 "1x"; do
	[ "$(code $U/api/chats/$p)" = 404 ] || fail "id '$p' should be 404: $(cat $T.body)"
done
[ "$(code "$U/api/chats?limit=0")" = 400 ] || fail "limit=0"
[ "$(code "$U/api/chats?limit=abc")" = 400 ] || fail "limit=abc"
[ "$(code "$U/api/chats/$C/messages?before=1&after=2")" = 400 ] || fail "before+after"
[ "$(code $U/api/chats/$C/messages -d '{"content":""}')" = 400 ] || fail "empty content"
[ "$(code $U/api/chats/$C/messages -d '{"content":"hi","extra":1}')" = 400 ] || fail "unknown message field"
[ "$(code -X PUT $U/api/chats/$C)" = 405 ] || fail "PUT"
[ "$(code $U/api/chats/424242/messages -d '{"content":"hi"}')" = 404 ] || fail "message to a missing chat"

# --- a reply followed by three subscribers: from the start, late (replay), resumed (Last-Event-ID)
sub $T.s1 $C; S1=$SUB
sleep 0.2
[ "$(code $U/api/chats/$C/messages -d "{\"content\":\"Tell me a long story about the sea\",$LONG}")" = 202 ] ||
	fail "post: $(cat $T.body)"
jq -e '.user_message.role == "user" and .assistant_message.status == "streaming" and
	.assistant_message.content == ""' $T.body >/dev/null || fail "202 body: $(cat $T.body)"
A=$(jq .assistant_message.id $T.body)
[ "$(code $U/api/chats/$C/messages -d '{"content":"again"}')" = 409 ] || fail "busy chat should be 409"
curl -s $U/api/chats/$C | jq -e '.generating == true and .title == "Tell me a long story about the sea"' >/dev/null ||
	fail "generating chat: $(curl -s $U/api/chats/$C)"
wait_n $T.s1 '^event: delta' 40
sub $T.s2 $C; S2=$SUB                                  # late: replays from start
sub $T.s3 $C -H "Last-Event-ID: $A.20"; S3=$SUB        # resumes after event 20
curl -s -N "$U/api/chats/$C/events?last_event_id=$A.30" > $T.s4 & S4=$!; PIDS="$PIDS $S4"  # query form
sub $T.s5 $C -H "Last-Event-ID: 999999.1"; S5=$SUB     # unknown: resync
wait_n $T.s1 '^event: delta' 400
sleep 0.3
STOP=$(curl -s -X POST $U/api/chats/$C/stop)
printf '%s\n' "$STOP" | jq -e --argjson a $A '.stopped == true and .message_id == $a' >/dev/null || fail "stop: $STOP"
for f in s1 s2 s3 s4; do wait_n $T.$f '^event: done' 1; done
wait_n $T.s5 '^event: done' 1
kill $S1 $S2 $S3 $S4 $S5 2>/dev/null
events $T.s1 > $T.e1; events $T.s2 > $T.e2; events $T.s3 > $T.e3; events $T.s4 > $T.e4; events $T.s5 > $T.e5
head -1 $T.e1 | cut -f1,2 | grep -q "^$A.0	start" || fail "first event: $(head -1 $T.e1)"
sed -n 2p $T.e1 | cut -f2 | grep -q '^chat$' || fail "title chat event: $(sed -n 2p $T.e1)"
tail -1 $T.e1 | cut -f2 | grep -q '^done$' || fail "last event: $(tail -1 $T.e1 | cut -c1-200)"
cmp -s $T.e1 $T.e2 || fail "late subscriber differs: $(wc -l < $T.e1) vs $(wc -l < $T.e2) events"
awk -F'\t' -v a=$A 'f; $1 == a ".20" {f=1}' $T.e1 | cmp -s - $T.e3 || fail "Last-Event-ID resume is not exact"
awk -F'\t' -v a=$A 'f; $1 == a ".30" {f=1}' $T.e1 | cmp -s - $T.e4 || fail "last_event_id resume is not exact"
head -1 $T.e5 | cut -f2 | grep -q '^resync$' || fail "unknown Last-Event-ID: $(head -1 $T.e5)"
# ids are unique and the seq counts up from 0
[ "$(cut -f1 $T.e1 | sort -u | wc -l)" = "$(wc -l < $T.e1)" ] || fail "duplicate ids"
# the stopped reply: stored with its partial text, equal to the streamed deltas
DONE=$(tail -1 $T.e1 | cut -f3)
printf '%s\n' "$DONE" | jq -e '.message.status == "stopped" and (.message.content | length) > 0 and
	(.message.html | length) > 0 and .message.stats.n_gen > 0' >/dev/null || fail "done: $(printf '%s\n' "$DONE" | cut -c1-300)"
STREAMED=$(grep '	delta	' $T.e1 | cut -f3 | jq -j '.content // empty')
M=$(last_msg $C)
[ "$(printf '%s\n' "$M" | jq -j .content)" = "$STREAMED" ] || fail "stored text differs from the streamed deltas"
printf '%s\n' "$M" | jq -e --argjson a $A '.id == $a and .status == "stopped"' >/dev/null || fail "stored: $(printf '%s\n' "$M" | cut -c1-200)"
curl -s $U/api/chats/$C | jq -e '.generating == false and .n_messages == 2' >/dev/null || fail "chat after stop"
curl -s -X POST $U/api/chats/$C/stop | jq -e '.stopped == false' >/dev/null || fail "stop when idle"

# --- PATCH: fields change, subscribers get a chat event, bad fields are refused
sub $T.p $C; SPP=$SUB; sleep 0.2
[ "$(code -X PATCH $U/api/chats/$C -d '{"title":"Renamed","system":"Be brief.","params":{"top_k":5}}')" = 200 ] ||
	fail "patch: $(cat $T.body)"
jq -e '.title == "Renamed" and .system == "Be brief." and .params == {"top_k": 5} and .model == ""' $T.body >/dev/null ||
	fail "patched: $(cat $T.body)"
wait_n $T.p '^event: chat' 1
kill $SPP
events $T.p | tail -1 | cut -f3 | jq -e '.chat.title == "Renamed"' >/dev/null || fail "patch event: $(cat $T.p)"
for bad in '{"params":{"top_k":-1}}' '{"title":null}' '{"nope":1}' 'x' '{"model":"nope"}'; do
	[ "$(code -X PATCH $U/api/chats/$C -d "$bad")" = 400 ] || fail "patch $bad: $(cat $T.body)"
done
[ "$(code -X PATCH $U/api/chats/424242 -d '{"title":"x"}')" = 404 ] || fail "patch missing chat"
# a first message that is a command gives no title; the first real one does
C5=$(curl -s $U/api/chats -d '{"params":{"max_tokens":2}}' | jq .id)
post $C5 '{"content":"/help"}' | jq -e '.assistant_message.status == "complete" and
	(.assistant_message.html | contains("<li>"))' >/dev/null || fail "202 of a slash command"
curl -s $U/api/chats/$C5 | jq -e '.title == "New chat"' >/dev/null || fail "title from a command"
post $C5 '{"content":"/search sky"}' > /dev/null   # its argument does not give a title either
curl -s $U/api/chats/$C5 | jq -e '.title == "New chat"' >/dev/null || fail "title from /search: $(curl -s $U/api/chats/$C5)"
post $C5 '{"content":"Why is the sky blue?"}' > /dev/null
curl -s $U/api/chats/$C5 | jq -e '.title == "Why is the sky blue?"' >/dev/null || fail "title: $(curl -s $U/api/chats/$C5)"

# --- turns: the second reuses the first from the prompt cache
C2=$(curl -s $U/api/chats -d '{"title":"turns","system":"You are terse.","params":{"max_tokens":8,"temperature":0}}' | jq .id)
sub $T.t $C2
post $C2 '{"content":"Hello there, how are you?"}' > /dev/null
wait_n $T.t '^event: done' 1
post $C2 '{"content":"And then what happened?"}' > /dev/null
wait_n $T.t '^event: done' 2
P1=$(grep '^data: ' $T.t | sed 's/^data: //' | jq -s '[.[] | select(.message.status == "complete")][0].message.stats.n_prompt')
grep '^data: ' $T.t | sed 's/^data: //' | jq -s -e --argjson p "$P1" '[.[] | select(.message.status == "complete")][1] |
	.message.stats.n_cached >= $p - 1 and .message.stats.n_prompt > $p' >/dev/null ||
	fail "second turn did not reuse the first (n_prompt $P1): $(tail -c 400 $T.t)"
curl -s $U/api/chats/$C2 | jq -e '.title == "turns"' >/dev/null || fail "an explicit title must stay"

# --- slash commands (stored, model "hearth", streamed like replies)
# slash CMD: posts CMD, waits for its done, leaves the stored reply in $T.m (no pipes: n must count)
slash() { post $C2 "{\"content\":\"$1\"}" > /dev/null; n=$((n + 1)); wait_n $T.t '^event: done' $n; last_msg $C2 > $T.m; }
n=2
slash /help; jq -e '.model == "hearth" and .status == "complete" and (.content | contains("/search"))' $T.m >/dev/null ||
	fail "/help"
slash /status; jq -e '(.content | contains("spm")) and (.content | contains("ready"))' $T.m >/dev/null || fail "/status"
NM=$(curl -s $U/api/chats/$C2 | jq .n_messages)   # counts the command and its reply
jq -e --arg n "$NM messages" '.content | contains($n)' $T.m >/dev/null || fail "/status count, not $NM: $(jq .content $T.m)"
slash /model; jq -e '.content | contains("spm")' $T.m >/dev/null || fail "/model"
slash "/model nope"; jq -e '.status == "error"' $T.m >/dev/null || fail "/model nope"
slash "/model spm"; jq -e '.status == "complete"' $T.m >/dev/null || fail "/model spm"
curl -s $U/api/chats/$C2 | jq -e '.model == "spm"' >/dev/null || fail "/model did not switch"
slash /frobnicate; jq -e '.status == "error" and (.content | contains("/help"))' $T.m >/dev/null || fail "unknown command"
# a long command name or argument is cut on a UTF-8 boundary: the reply still reads back
L3=$(awk 'BEGIN { for (i = 0; i < 22; i++) printf "\346\227\245" }')
slash "/$L3"; jq -e '.status == "error" and (.content | contains("/help"))' $T.m >/dev/null || fail "long unknown command: $(cat $T.m)"
slash "/model x$(awk 'BEGIN { for (i = 0; i < 200; i++) printf "\346\227\245" }')"; jq -e '.status == "error"' $T.m >/dev/null ||
	fail "/model with a long name: $(cat $T.m)"
WORD=$(printf '%s\n' "$STREAMED" | tr -c 'a-zA-Z' '\n' | awk 'length >= 6' | head -1)
[ -n "$WORD" ] || fail "no word to search for in: $(printf '%s\n' "$STREAMED" | head -c 200)"
slash "/search $WORD"; jq -e --arg w "$WORD" '.content | contains("**" + $w + "**")' $T.m >/dev/null ||
	fail "/search $WORD: $(last_msg $C2 | jq -r .content)"
curl -s -G $U/api/search --data-urlencode "q=$WORD" | jq -e --argjson c $C --arg w "$WORD" \
	'[.results[] | select(.chat_id == $c and .role == "assistant")] | length >= 1 and
	 (.[0].snippet | contains("<mark>"))' >/dev/null || fail "search $WORD: $(curl -s -G $U/api/search --data-urlencode "q=$WORD")"
curl -s -G $U/api/search --data-urlencode 'q=" OR ( * NEAR' | jq -e '.results | type == "array"' >/dev/null ||
	fail "search with FTS syntax"
BEFORE=$(post $C2 '{"content":"one more"}' | jq .assistant_message.id); n=$((n + 1)); wait_n $T.t '^event: done' $n
NP_BEFORE=$(last_msg $C2 | jq .stats.n_prompt)
slash /reset; jq -e '.status == "complete"' $T.m >/dev/null || fail "/reset"
post $C2 '{"content":"one more"}' > /dev/null; n=$((n + 1)); wait_n $T.t '^event: done' $n
NP_AFTER=$(last_msg $C2 | jq .stats.n_prompt)
[ "$NP_AFTER" -lt "$NP_BEFORE" ] || fail "/reset: prompt $NP_BEFORE -> $NP_AFTER tokens"
# regenerate replaces the last reply
OLD=$(last_msg $C2 | jq .id)
[ "$(code -X POST $U/api/chats/$C2/regenerate)" = 202 ] || fail "regenerate: $(cat $T.body)"
NEW=$(jq .assistant_message.id $T.body); n=$((n + 1)); wait_n $T.t '^event: done' $n
[ "$NEW" -gt "$OLD" ] && [ "$(code $U/api/chats/$C2/messages?after=$OLD)" = 200 ] &&
	jq -e --argjson n $NEW '[.messages[].id] == [$n]' $T.body >/dev/null || fail "regenerate: $(cat $T.body | cut -c1-300)"
# ... and tells the other tabs: start has "replaces", then a deleted event for the old reply
events $T.t | awk -F'\t' -v n=$NEW 'index($1, n ".") == 1' > $T.rg
head -1 $T.rg | cut -f3 | jq -e --argjson o $OLD '.replaces == $o' >/dev/null || fail "regenerate start: $(head -1 $T.rg)"
grep "	deleted	" $T.rg | cut -f3 | jq -e --argjson o $OLD '.message_id == $o' >/dev/null ||
	fail "regenerate deleted event: $(cut -f1,2 $T.rg | head -5)"

# --- export / import / export; markdown
curl -s -D $T.hdr -o $T.x1 "$U/api/chats/$C2/export?format=json"
grep -qi '^content-disposition: attachment; filename="turns.json"' $T.hdr || fail "export headers: $(cat $T.hdr)"
[ "$(code $U/api/chats/import --data-binary @$T.x1)" = 201 ] || fail "import: $(cat $T.body)"
C3=$(jq .id $T.body)
curl -s -o $T.x2 "$U/api/chats/$C3/export?format=json"
jq -S . $T.x1 > $T.x1s; jq -S . $T.x2 > $T.x2s
cmp -s $T.x1s $T.x2s || fail "export(import(export)) differs: $(diff $T.x1s $T.x2s | head)"
[ "$(code $U/api/chats/import -d '{"messages":[{"role":"wizard","content":"x"}]}')" = 400 ] || fail "bad import"
curl -s -D $T.hdr -o $T.md "$U/api/chats/$C2/export?format=markdown"
grep -qi '^content-type: text/markdown' $T.hdr || fail "markdown content type"
head -1 $T.md | grep -q '^# turns' || fail "markdown: $(head -3 $T.md)"
[ "$(code "$U/api/chats/$C2/export?format=pdf")" = 400 ] || fail "export format"

# --- pagination
for i in 1 2 3 4 5; do curl -s $U/api/chats -d "{\"title\":\"page $i\"}" > /dev/null; done
NCHATS=$(curl -s "$U/api/chats?limit=200" | jq '.chats | length')
cur=""; : > $T.ids; pages=0
while :; do
	r=$(curl -s -G "$U/api/chats" --data-urlencode "limit=2" ${cur:+--data-urlencode "cursor=$cur"})
	printf '%s\n' "$r" | jq -r '.chats[].id' >> $T.ids
	pages=$((pages + 1)); [ $pages -gt 50 ] && fail "pagination does not end"
	cur=$(printf '%s\n' "$r" | jq -r '.next_cursor // empty'); [ -z "$cur" ] && break
done
[ "$(wc -l < $T.ids)" = "$NCHATS" ] && [ "$(sort -u $T.ids | wc -l)" = "$NCHATS" ] || fail "chat pages: $(cat $T.ids)"
ALL=$(curl -s "$U/api/chats/$C2/messages?limit=1000" | jq -c '[.messages[].id]')
P2=$(curl -s "$U/api/chats/$C2/messages?limit=3")
printf '%s\n' "$P2" | jq -e --argjson all "$ALL" '.has_more == true and [.messages[].id] == $all[-3:]' >/dev/null || fail "last page"
FIRST=$(printf '%s\n' "$P2" | jq '.messages[0].id')
curl -s "$U/api/chats/$C2/messages?limit=3&before=$FIRST" | jq -e --argjson all "$ALL" \
	'[.messages[].id] == $all[-6:-3]' >/dev/null || fail "before page"
curl -s "$U/api/chats/$C2/messages?limit=1000&after=$FIRST" | jq -e --argjson all "$ALL" \
	'.has_more == false and [.messages[].id] == $all[-2:]' >/dev/null || fail "after page"

# --- a subscriber that reads slowly (behind three replies, if the socket buffers fill): never a frame cut in the middle
SL=$(curl -s $U/api/chats -d '{}' | jq .id)
curl -s -N --limit-rate 4k $U/api/chats/$SL/events > $T.slow & SLOW=$!; PIDS="$PIDS $SLOW"
sub $T.fast $SL; FAST=$SUB; sleep 0.2
for i in 1 2 3; do
	post $SL "{\"content\":\"story $i\",$LONG}" > /dev/null
	wait_n $T.fast '^event: delta' $((i * 1500))
	curl -s -X POST $U/api/chats/$SL/stop > /dev/null
done
sleep 1; kill $SLOW $FAST 2>/dev/null
# the data of every complete event is one JSON value
awk '/^data: /{d=substr($0,7)} /^$/{if (d != "") print d; d=""}' $T.slow > $T.slowd
jq -c . $T.slowd > /dev/null 2>&1 || fail "slow subscriber got a broken event: $(jq -c . $T.slowd 2>&1 | tail -2)"
grep -q '^event: resync' $T.slow || echo "note: the slow subscriber did not fall behind ($(wc -c < $T.slow) bytes)"

# --- DELETE: subscribers are told and their stream ends
D=$(curl -s $U/api/chats -d '{"title":"doomed"}' | jq .id)
post $D '{"content":"hi","params":{"max_tokens":4}}' > /dev/null
sub $T.d $D; SD=$SUB; sleep 0.2
[ "$(code -X DELETE $U/api/chats/$D)" = 204 ] || fail "delete: $(cat $T.body)"
[ "$(code $U/api/chats/$D)" = 404 ] || fail "deleted chat still there"
i=0; while kill -0 $SD 2>/dev/null; do i=$((i + 1)); [ $i -gt 50 ] && fail "stream of a deleted chat did not end"; sleep 0.1; done
events $T.d | tail -1 | cut -f3 | jq -e --argjson d $D '.chat == {"id": $d, "deleted": true}' >/dev/null ||
	fail "deleted event: $(tail -3 $T.d)"
# ... also while a reply streams: it is stopped (done), then the chat event ends the stream; later posts are 404
D=$(curl -s $U/api/chats -d '{"title":"doomed 2"}' | jq .id)
sub $T.d2 $D; SD=$SUB; sleep 0.2
post $D "{\"content\":\"long one\",$LONG}" > /dev/null
wait_n $T.d2 '^event: delta' 20
[ "$(code -X DELETE $U/api/chats/$D)" = 204 ] || fail "delete while streaming: $(cat $T.body)"
i=0; while kill -0 $SD 2>/dev/null; do i=$((i + 1)); [ $i -gt 50 ] && fail "stream of a deleted chat did not end"; sleep 0.1; done
events $T.d2 | tail -2 | cut -f2 | tr '\n' ' ' | grep -q '^done chat $' || fail "delete while streaming: $(events $T.d2 | tail -2 | cut -c1-200)"
[ "$(code $U/api/chats/$D/messages -d '{"content":"hi"}')" = 404 ] || fail "post to a deleted chat: $(cat $T.body)"
[ "$(code $U/api/chats/$D/events)" = 404 ] || fail "events of a deleted chat"

# --- the web UI and the other APIs are still there
[ "$(code $U/v1/chat/completions -d '{"messages":[{"role":"user","content":"hi"}],"max_tokens":3}')" = 200 ] ||
	fail "openai route"
[ "$(code $U/api/nope)" = 404 ] || fail "unknown /api route"

# --- several chats at once: posts, stops, regenerates, commands and readers racing; no 5xx, nothing left streaming
CC=""
for i in 1 2 3 4; do CC="$CC $(curl -s $U/api/chats -d '{"params":{"max_tokens":200,"ignore_eos":true}}' | jq .id)"; done
race() {
	for i in 1 2 3 4 5 6; do
		curl -s -o /dev/null -w '%{http_code}\n' $U/api/chats/$1/messages -d "{\"content\":\"race $i\"}"
		case $((i % 3)) in
		0) curl -s -o /dev/null -w '%{http_code}\n' -X POST $U/api/chats/$1/stop;;
		1) curl -s -o /dev/null -w '%{http_code}\n' -X POST $U/api/chats/$1/regenerate;;
		2) curl -s -o /dev/null -w '%{http_code}\n' $U/api/chats/$1/messages -d '{"content":"/status"}';;
		esac
		curl -s -N --max-time 0.2 -o /dev/null -w '%{http_code}\n' -H "Last-Event-ID: 1.1" $U/api/chats/$1/events
	done
}
RP=""
for c in $CC; do race $c > $T.race.$c & RP="$RP $!"; done
wait $RP
cat $T.race.* | grep -v '^\(200\|202\|409\)$' && fail "unexpected statuses while racing"
for c in $CC; do
	curl -s -X POST $U/api/chats/$c/stop > /dev/null
	curl -s "$U/api/chats/$c/messages?limit=1000" | jq -e 'all(.messages[]; .status != "streaming")' >/dev/null ||
		fail "chat $c has a message left streaming"
done

# --- SIGTERM during a generation: saved "stopped"; everything reads back after a restart
G=$(curl -s $U/api/chats -d '{"title":"shutdown"}' | jq .id)
sub $T.g $G
GA=$(post $G "{\"content\":\"long one\",$LONG}" | jq .assistant_message.id)
wait_n $T.g '^event: delta' 50
curl -s "$U/api/chats?limit=200" | jq -S '[.chats[] | del(.generating, .updated_at)]' > $T.before
kill -TERM $SP; wait $SP; [ $? = 0 ] || fail "exit status after SIGTERM"
wait_n $T.g '^event: done' 1   # the stream got its done and ended
start b -m "$SPM" --alias spm --ctx 32768 --parallel 2 -t 1 --kv-type f32 --db $DB
curl -s "$U/api/chats?limit=200" | jq -S '[.chats[] | del(.generating, .updated_at)]' > $T.after
cmp -s $T.before $T.after || fail "chats differ after restart: $(diff $T.before $T.after | head)"
last_msg $G | jq -e --argjson a $GA '.id == $a and .status == "stopped" and (.content | length) > 0' >/dev/null ||
	fail "reply at shutdown: $(last_msg $G | cut -c1-200)"
[ "$(curl -s "$U/api/chats/$C2/messages?limit=1000" | jq -c '[.messages[].id]')" = "$ALL" ] || fail "messages after restart"
curl -s "$U/api/chats/$C2/events" -H "Last-Event-ID: $A.3" --max-time 1 | grep -q '^event: resync' ||
	fail "old Last-Event-ID after a restart should resync"

# --- kill -9 during a generation: the user message is there, the reply is an error with its partial text
K=$(curl -s $U/api/chats -d '{"title":"crash"}' | jq .id)
sub $T.k $K
KR=$(post $K "{\"content\":\"crash test\",$LONG}")
KA=$(printf '%s\n' "$KR" | jq .assistant_message.id)
wait_n $T.k '^event: delta' 50
sleep 1.3   # at least one flush of the partial text
kill -9 $SP; wait $SP 2>/dev/null
[ "$(sqlite3 $DB 'PRAGMA integrity_check')" = ok ] || fail "integrity_check: $(sqlite3 $DB 'PRAGMA integrity_check')"
start c -m "$SPM" --alias spm --ctx 32768 --parallel 2 -t 1 --kv-type f32 --db $DB
curl -s "$U/api/chats/$K/messages" | jq -e --argjson a $KA '.messages[0].content == "crash test" and
	.messages[0].role == "user" and .messages[1].id == $a and .messages[1].status == "error" and
	(.messages[1].content | length) > 0 and (.messages[1].error | length) > 0' >/dev/null ||
	fail "after kill -9: $(curl -s "$U/api/chats/$K/messages" | cut -c1-400)"
kill -TERM $SP; wait $SP

# --- a conversation longer than the context: the oldest turns are left out, the reply says how many
start t -m "$SPM" --alias spm --ctx 256 -t 1 --db $T.tdb
TC=$(curl -s $U/api/chats -d '{"params":{"max_tokens":16,"temperature":0}}' | jq .id)
sub $T.tr $TC
for i in 1 2 3 4 5 6; do
	post $TC "{\"content\":\"message $i: a fairly long message with many words so that the context fills up fast\"}" >/dev/null
	wait_n $T.tr '^event: done' $i
done
grep '^data: ' $T.tr | sed 's/^data: //' | jq -s -e '[.[] | select(.message.status == "complete")] |
	length == 6 and .[0].truncated == null and .[5].truncated >= 1' >/dev/null || fail "truncation: $(tail -c 300 $T.tr)"
BIG=$(awk 'BEGIN { for (i = 0; i < 400; i++) printf "word%d ", i }')
[ "$(code $U/api/chats/$TC/messages -d "{\"content\":\"$BIG\"}")" = 400 ] &&
	jq -e '.error.code == "context_length_exceeded"' $T.body >/dev/null || fail "too long: $(cat $T.body)"
curl -s $U/api/chats/$TC | jq -e '.n_messages == 12 and .generating == false' >/dev/null || fail "a refused message was stored"
kill -TERM $SP; wait $SP

# --- --request-timeout: a reply running longer is cancelled and saved "error" (timed out) with its text
start o -m "$SPM" --alias spm --ctx 32768 -t 1 --kv-type f32 --db $T.odb --request-timeout 1
O=$(curl -s $U/api/chats -d '{}' | jq .id)
sub $T.o $O
post $O "{\"content\":\"go on forever\",$LONG}" > /dev/null
wait_n $T.o '^event: done' 1
events $T.o | tail -1 | cut -f3 | jq -e '.message.status == "error" and (.message.error | startswith("timed out")) and
	(.message.content | length) > 0' >/dev/null || fail "timeout: $(events $T.o | tail -1 | cut -c1-300)"
last_msg $O | jq -e '.status == "error" and (.error | startswith("timed out"))' >/dev/null || fail "timeout stored"
kill -TERM $SP; wait $SP

# --- without a model: nothing is stored for a message, slash commands still work
NOMODEL=1 start m --db $T.mdb
M=$(curl -s $U/api/chats -d '{}' | jq .id)
[ "$(code $U/api/chats/$M/messages -d '{"content":"hello"}')" = 503 ] && jq -e '.error.code == "no_model"' $T.body \
	>/dev/null || fail "no model: $(cat $T.body)"
post $M '{"content":"/status"}' | jq -e '.assistant_message.status == "complete" and
	(.assistant_message.content | contains("none"))' >/dev/null || fail "/status without a model"
curl -s $U/api/chats/$M | jq -e '.n_messages == 2 and .title == "New chat"' >/dev/null || fail "no-model chat"
kill -TERM $SP; wait $SP

# --- without history
start n -m "$SPM" --alias spm --no-history
[ "$(code $U/api/chats)" = 503 ] && jq -e '.error.code == "no_history"' $T.body >/dev/null || fail "--no-history"
kill -TERM $SP; wait $SP
echo "history: ok"
