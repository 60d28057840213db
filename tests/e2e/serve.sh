#!/bin/sh
# hearth serve end to end, with curl against the real binary on free loopback
# ports: health, models, chat and completions (streaming and not; SSE framing,
# usage chunk, [DONE]), request validation and hostile HTTP, concurrency (streams
# run together equal the same requests run alone), client disconnect -> the
# generation is cancelled and the slot freed, queue bound -> 503 + Retry-After,
# prompt over the context -> 400, no/failed model -> 503 with a reason,
# non-loopback bind refused, /api/status and /metrics.
set -u
H=$HEARTH_BIN; TD=$HEARTH_TESTDATA
[ -d "$TD/models" ] || { echo "testdata absent"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "curl not installed"; exit 77; }
command -v jq >/dev/null 2>&1 || { echo "jq not installed"; exit 77; }
T=${TMPDIR:-/tmp}/hearth-serve.$$
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf $T.*; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in $T.log*; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }

# start NAME ARGS...: starts a server logging to $T.log.NAME; sets U to its URL
start() {
	name=$1; shift
	$H serve --port 0 --no-history "$@" 2>$T.log.$name &  # no history: never touch the user's database
	PIDS="$PIDS $!"
	i=0
	while ! grep -q "listening on" $T.log.$name 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && fail "server $name did not start"; sleep 0.1
	done
	U=$(sed -n 's|.*listening on \(http://[^/]*\)/.*|\1|p' $T.log.$name | head -1)
}
wait_ready() {
	i=0
	until [ "$(curl -s -o /dev/null -w '%{http_code}' $U/health)" = 200 ]; do
		i=$((i + 1)); [ $i -gt 200 ] && fail "not ready: $(curl -s $U/health)"; sleep 0.1
	done
}
code() { curl -s -o $T.body -w '%{http_code}' "$@"; }
sse_content() { grep '^data: {' "$1" | sed 's/^data: //' | jq -j '.choices[0].delta.content // empty'; }

# --- refusals at start-up
$H serve --host 0.0.0.0 --port 0 2>$T.err & p=$!; PIDS="$PIDS $p"
i=0; while kill -0 $p 2>/dev/null; do i=$((i + 1)); [ $i -gt 50 ] && fail "0.0.0.0 bind not refused"; sleep 0.1; done
wait $p; [ $? = 1 ] || fail "non-loopback bind should exit 1"
grep -q "authentication" $T.err || fail "refusal reason: $(cat $T.err)"
$H serve --help | grep -q "usage: hearth serve" || fail "--help"

# --- main server: two models
SPM="$TD/models/llama-spm-f32.gguf"
start main -m "$SPM" --alias spm -m "$TD/models/qwen3-f32.gguf" --parallel 4 -t 2 --kv-type f32 --max-body 65536 \
	--keepalive 0.2
MAIN=$U
wait_ready
curl -s $U/health | jq -e '.status == "ok" and (.models | length) == 2' >/dev/null || fail "health"
curl -s $U/v1/models | jq -e '.object == "list" and ([.data[].id] | sort) == ["qwen3-f32", "spm"]' >/dev/null ||
	fail "models: $(curl -s $U/v1/models)"

# non-streaming chat
REQ='{"model":"spm","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":12,"temperature":0}'
[ "$(code $U/v1/chat/completions -d "$REQ")" = 200 ] || fail "chat: $(cat $T.body)"
jq -e '.object == "chat.completion" and .choices[0].message.role == "assistant" and
	.choices[0].finish_reason == "length" and .usage.completion_tokens == 12 and
	(.usage.total_tokens == .usage.prompt_tokens + 12) and (.id | startswith("chatcmpl-"))' $T.body >/dev/null ||
	fail "chat body: $(cat $T.body)"
ANSWER=$(jq -j '.choices[0].message.content' $T.body)
[ -n "$ANSWER" ] || fail "empty answer"

# streaming chat: the same text, SSE framing byte-exact
SREQ='{"model":"spm","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":12,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}'
curl -s -N -D $T.hdr $U/v1/chat/completions -d "$SREQ" > $T.sse || fail "stream"
grep -qi '^content-type: text/event-stream' $T.hdr || fail "stream content-type"
grep -qi '^x-accel-buffering: no' $T.hdr || fail "X-Accel-Buffering"
grep -qi '^cache-control: no-cache' $T.hdr || fail "Cache-Control"
# every event is "data: ..." or a ": comment", followed by one blank line
awk 'BEGIN { want = "event" }
	want == "event" { if ($0 !~ /^(data: |:)/) { print "bad line " NR ": " $0; exit 1 } want = "blank"; next }
	want == "blank" { if ($0 != "") { print "no blank line at " NR; exit 1 } want = "event" }' $T.sse || fail "SSE framing"
[ "$(tail -c 14 $T.sse)" = "$(printf 'data: [DONE]\n\n')" ] || fail "stream does not end with [DONE]"
[ "$(sse_content $T.sse)" = "$ANSWER" ] || fail "stream text differs from non-stream: $(sse_content $T.sse)"
grep '^data: {' $T.sse | head -1 | sed 's/^data: //' | jq -e '.object == "chat.completion.chunk" and
	.choices[0].delta.role == "assistant" and .choices[0].finish_reason == null' >/dev/null || fail "first chunk"
grep '^data: {' $T.sse | tail -2 | head -1 | sed 's/^data: //' |
	jq -e '.choices[0].finish_reason == "length" and .choices[0].delta == {} and .timings.predicted_n == 12 and
	.timings.cache_n > 0' >/dev/null || fail "final chunk (prompt cache should have been hit)"
grep '^data: {' $T.sse | tail -1 | sed 's/^data: //' | jq -e '.choices == [] and .usage.completion_tokens == 12' \
	>/dev/null || fail "usage chunk"

# completions, text and token ids
[ "$(code $U/v1/completions -d '{"model":"spm","prompt":"Once upon a time","max_tokens":5,"temperature":0}')" = 200 ] ||
	fail "completions: $(cat $T.body)"
jq -e '.object == "text_completion" and (.choices[0].text | length) > 0 and .usage.prompt_tokens == 5' $T.body \
	>/dev/null || fail "completions body: $(cat $T.body)"
[ "$(code $U/v1/completions -d '{"model":"spm","prompt":[1,9038,2501,263,931],"max_tokens":3}')" = 200 ] ||
	fail "completions ids: $(cat $T.body)"
# multi-turn: the second turn reuses the first turn's prompt from the cache
R1=$(curl -s $U/v1/chat/completions -d '{"model":"qwen3-f32","messages":[{"role":"user","content":"Hello there, how are you?"}],"max_tokens":8,"temperature":0}')
P1=$(echo "$R1" | jq '.usage.prompt_tokens'); A1=$(echo "$R1" | jq '.choices[0].message.content')
R2=$(curl -s $U/v1/chat/completions -d "{\"model\":\"qwen3-f32\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there, how are you?\"},{\"role\":\"assistant\",\"content\":$A1},{\"role\":\"user\",\"content\":\"And then?\"}],\"max_tokens\":8,\"temperature\":0}")
echo "$R2" | jq -e --argjson p "$P1" '.usage.prompt_tokens_details.cached_tokens >= $p - 1' >/dev/null ||
	fail "second turn did not reuse the first: $P1 / $(echo "$R2" | jq -c .usage)"

# qwen3 with thinking requested: reasoning_content or content, never the tags themselves
[ "$(code $U/v1/chat/completions -d '{"model":"qwen3-f32","messages":[{"role":"user","content":"Hi"}],"max_tokens":6,"chat_template_kwargs":{"enable_thinking":true}}')" = 200 ] ||
	fail "qwen3 chat: $(cat $T.body)"

# Ollama-compatible /api/chat (NDJSON, streaming by default) and /api/tags
curl -s $U/api/tags | jq -e '[.models[].name] | sort == ["qwen3-f32", "spm"]' >/dev/null || fail "api/tags"
curl -s -D $T.hdr $U/api/chat -d '{"model":"spm","messages":[{"role":"user","content":"What is the capital of France?"}],"options":{"num_predict":12,"temperature":0}}' > $T.nd
grep -qi '^content-type: application/x-ndjson' $T.hdr || fail "ndjson content type"
jq -e -s '(.[:-1] | all(.done == false)) and (.[-1].done == true) and (.[-1].done_reason == "length") and
	(.[-1].eval_count == 12)' $T.nd >/dev/null || fail "ndjson stream: $(cat $T.nd)"
[ "$(jq -j -s 'map(.message.content) | join("")' $T.nd)" = "$ANSWER" ] || fail "ollama text differs"
[ "$(code $U/api/chat -d '{"model":"spm","stream":false,"messages":[{"role":"user","content":"What is the capital of France?"}],"options":{"num_predict":12,"temperature":0}}')" = 200 ] ||
	fail "ollama non-stream"
jq -e --arg a "$ANSWER" '.done == true and .message.content == $a' $T.body >/dev/null || fail "ollama body: $(cat $T.body)"
[ "$(code $U/api/chat -d '{"model":"spm","messages":[{"role":"user","content":"x"}],"options":"x"}')" = 400 ] ||
	fail "ollama bad options"

# --- validation: each returns an OpenAI-style error and the server keeps serving
chk() { # STATUS DATA [curl args]
	want=$1; data=$2; shift 2
	got=$(code $U/v1/chat/completions -d "$data" "$@")
	[ "$got" = "$want" ] || fail "expected $want for $data, got $got: $(cat $T.body)"
	jq -e '.error.message | length > 0' $T.body >/dev/null || fail "error body for $data: $(cat $T.body)"
}
M='"messages":[{"role":"user","content":"hi"}]'
chk 400 '{bad json'
chk 400 '[1,2]'
chk 400 '{"model":"spm"}'
chk 400 '{"model":"spm","messages":[]}'
chk 400 '{"model":"spm","messages":[{"content":"x"}]}'
chk 400 '{"model":"spm","messages":"hi"}'
chk 400 "{\"model\":\"nope\",$M}"
chk 400 "{\"model\":\"../../etc/passwd\",$M}"
chk 400 "{\"model\":42,$M}"
chk 400 "{\"model\":\"spm\",$M,\"n\":2}"
chk 400 "{\"model\":\"spm\",$M,\"max_tokens\":-1}"
chk 400 "{\"model\":\"spm\",$M,\"max_tokens\":99999999999}"
chk 400 "{\"model\":\"spm\",$M,\"temperature\":\"hot\"}"
chk 400 "{\"model\":\"spm\",$M,\"temperature\":1e308}"
chk 400 "{\"model\":\"spm\",$M,\"top_p\":1.5}"
chk 400 "{\"model\":\"spm\",$M,\"top_k\":-3}"
chk 400 "{\"model\":\"spm\",$M,\"stop\":[\"\"]}"
chk 400 "{\"model\":\"spm\",$M,\"stop\":[1]}"
chk 400 "{\"model\":\"spm\",$M,\"stop\":[$(printf '"s",%.0s' $(seq 40))\"s\"]}"
chk 400 "{\"model\":\"spm\",$M,\"stream\":\"yes\"}"
chk 400 "{\"model\":\"spm\",$M,\"model\":\"spm\"}"
chk 400 "$(printf '%0.s[' $(seq 5000))"
[ "$(code $U/v1/completions -d '{"model":"spm","prompt":[1,32000]}')" = 400 ] || fail "token id out of range"
[ "$(code $U/v1/completions -d '{"model":"spm","prompt":[1,-1]}')" = 400 ] || fail "negative token id"
chk 403 "{\"model\":\"spm\",$M}" -H "Host: evil.example"
[ "$(code -H 'Host: localhost:1234' $U/health)" = 200 ] || fail "localhost Host refused"
[ "$(code $U/v1/nope)" = 404 ] || fail "404"  # (other paths without a dot are the web UI)
[ "$(code $U/v1/chat/completions)" = 405 ] || fail "GET on a POST route"
head -c 70000 /dev/zero | tr '\0' a > $T.big
[ "$(code $U/v1/chat/completions --data-binary @$T.big)" = 413 ] || fail "413"
[ "$(code $U/v1/chat/completions -H 'Transfer-Encoding: chunked' --data-binary @$T.big)" = 413 ] ||
	fail "413 chunked"
[ "$(code -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' a)" $U/health)" = 431 ] || fail "431"
[ "$(code "$U/health?$(head -c 70000 /dev/zero | tr '\0' a)")" = 414 ] || fail "414"
if command -v bash >/dev/null 2>&1; then
	port=${U##*:}
	printf 'POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' |
		timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat >&3; timeout 2 cat <&3" > $T.raw
	head -1 $T.raw | grep -q '^HTTP/1.1 400' || fail "Content-Length with Transfer-Encoding: $(head -1 $T.raw)"
	for req in 'POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!' \
		'POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n\r\nhello' \
		'POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5x\r\n\r\nhello' \
		'POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n' \
		'GET /health HTTP/1.1\r\n\r\n'; do
		printf "$req" | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat >&3; timeout 2 cat <&3" > $T.raw
		head -1 $T.raw | grep -q '^HTTP/1.1 400' || fail "malformed request [$req]: $(head -1 $T.raw)"
	done
fi
curl -s $U/health | jq -e '.status == "ok"' >/dev/null || fail "server died after hostile input"

# --- concurrency: 32 seeded streams (4 slots, so most queue) equal the same requests alone
body() { echo "{\"model\":\"spm\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me story $1\"}],\"max_tokens\":16,\"temperature\":0.9,\"seed\":$1,\"stream\":true}"; }
for i in $(seq 32); do curl -s -N $U/v1/chat/completions -d "$(body $i)" > $T.alone.$i || fail "alone $i"; done
cp=""
for i in $(seq 32); do curl -s -N $U/v1/chat/completions -d "$(body $i)" > $T.conc.$i & cp="$cp $!"; done
wait $cp
for i in $(seq 32); do
	a=$(sse_content $T.alone.$i); b=$(sse_content $T.conc.$i)
	[ -n "$a" ] || fail "empty output $i"
	[ "$a" = "$b" ] || fail "request $i differs when run concurrently: [$a] vs [$b]"
	tail -c 14 $T.conc.$i | grep -q '\[DONE\]' || fail "concurrent stream $i not terminated"
done

# 150 streams at once (more than the queue holds: the rest get 503): each response is
# either a complete, well-formed stream or a 503 error body
cp=""
for i in $(seq 150); do
	curl -s -N -o $T.many.$i -w '%{http_code}\n' $U/v1/chat/completions \
		-d "{\"model\":\"spm\",\"messages\":[{\"role\":\"user\",\"content\":\"n $i\"}],\"max_tokens\":4,\"stream\":true}" \
		> $T.many.$i.code & cp="$cp $!"
done
wait $cp
ok=0
for i in $(seq 150); do
	case $(cat $T.many.$i.code) in
	200) [ "$(tail -c 14 $T.many.$i)" = "$(printf 'data: [DONE]\n\n')" ] || fail "stream $i of 150 not terminated"
	     grep '^data: {' $T.many.$i | tail -1 | sed 's/^data: //' | jq -e '.choices[0].finish_reason != null' \
		>/dev/null || fail "stream $i of 150: $(cat $T.many.$i)"; ok=$((ok + 1)) ;;
	503) jq -e '.error.code == "busy"' $T.many.$i >/dev/null || fail "503 body $i" ;;
	*) fail "stream $i of 150: status $(cat $T.many.$i.code)" ;;
	esac
done
[ $ok -ge 68 ] || fail "only $ok of 150 streams were served (4 slots + 64 queued should be)"
curl -s $U/health | jq -e '.status == "ok"' >/dev/null || fail "server unhealthy after 150 streams"

# --- client disconnect cancels the generation and frees the slot
curl -s -N --max-time 1 $U/v1/chat/completions \
	-d '{"model":"qwen3-f32","messages":[{"role":"user","content":"go"}],"max_tokens":100000,"stream":true}' > $T.cut
grep -q '^data: {' $T.cut || fail "the cut stream produced nothing"
i=0
until curl -s $U/api/status | jq -e '[.models[].slots.busy] | add == 0' >/dev/null; do
	i=$((i + 1)); [ $i -gt 30 ] && fail "slot not freed after disconnect: $(curl -s $U/api/status)"; sleep 0.1
done
grep "model=qwen3-f32" $T.log.main | grep "finish=cancelled" | tail -1 | grep -q "gen=" || fail "no cancelled log line"
gen=$(grep "finish=cancelled" $T.log.main | tail -1 | sed 's/.*gen=\([0-9]*\).*/\1/')
[ "$gen" -lt 4000 ] || fail "generation was not cut short ($gen tokens)"
# the same for a non-streaming request
curl -s --max-time 1 $U/v1/chat/completions \
	-d '{"model":"qwen3-f32","messages":[{"role":"user","content":"go on"}],"max_tokens":100000}' > /dev/null
i=0
until curl -s $U/api/status | jq -e '[.models[].slots.busy] | add == 0' >/dev/null; do
	i=$((i + 1)); [ $i -gt 30 ] && fail "slot not freed after non-stream disconnect"; sleep 0.1
done
curl -s $U/api/status | jq -e '.version and .uptime_s >= 0 and (.models[0].slots.total == 4) and
	.models[0].tokens.generated > 0 and .models[1].requests.cancelled >= 2' >/dev/null ||
	fail "api/status: $(curl -s $U/api/status)"
curl -s $U/metrics > $T.metrics
for k in hearth_http_requests_total hearth_generated_tokens_total hearth_time_to_first_token_seconds_bucket \
	hearth_time_per_output_token_seconds_count 'hearth_slots{model="spm",state="free"} 4' hearth_queue_length; do
	grep -q "$k" $T.metrics || fail "metrics lack $k"
done
grep -q ' POST /v1/chat/completions 200 ' $T.log.main || fail "request log line"

# --- queue bound: 1 slot, 1 waiting, the next is 503 with Retry-After; prompt over the context
start small -m "$TD/models/qwen3-f32.gguf" --alias q --parallel 1 --queue 1 -t 1 --log-format json
wait_ready
LONG='{"model":"q","messages":[{"role":"user","content":"x"}],"max_tokens":3000,"stream":true}'
curl -s -N --max-time 30 $U/v1/chat/completions -d "$LONG" > $T.q1 & q1=$!
i=0; until curl -s $U/api/status | jq -e '.models[0].slots.busy == 1' >/dev/null; do i=$((i+1)); [ $i -gt 50 ] && fail "q1"; sleep 0.1; done
curl -s -N --max-time 30 $U/v1/chat/completions -d "$LONG" > $T.q2 & q2=$!
i=0; until curl -s $U/api/status | jq -e '.models[0].queue.length == 1' >/dev/null; do i=$((i+1)); [ $i -gt 50 ] && fail "q2"; sleep 0.1; done
[ "$(curl -s -D $T.hdr -o $T.body -w '%{http_code}' $U/v1/chat/completions -d "$LONG")" = 503 ] || fail "queue full should be 503"
grep -qi '^retry-after:' $T.hdr || fail "no Retry-After"
jq -e '.error.message | length > 0' $T.body >/dev/null || fail "503 body"
kill $q1 $q2 2>/dev/null; wait $q1 $q2 2>/dev/null
i=0; until curl -s $U/api/status | jq -e '.models[0].slots.busy == 0 and .models[0].queue.length == 0' >/dev/null; do
	i=$((i+1)); [ $i -gt 50 ] && fail "slot and queue not freed: $(curl -s $U/api/status)"; sleep 0.1; done
PROSE=$(printf 'word %.0s' $(seq 5000))
[ "$(code $U/v1/completions -d "{\"prompt\":\"$PROSE\"}")" = 400 ] || fail "prompt over the context should be 400"
jq -e '.error.code == "context_length_exceeded"' $T.body >/dev/null || fail "context error: $(cat $T.body)"
grep -q '"path":"/v1/completions","status":400' $T.log.small || fail "json log line: $(tail -1 $T.log.small)"

# --- CORS: foreign origins are never echoed; only --cors-origin is named
curl -s -D $T.hdr -o /dev/null -H "Origin: http://evil.example" $U/health
grep -qi '^access-control-allow-origin' $T.hdr && fail "foreign origin echoed"
[ "$(code -X OPTIONS -H "Origin: http://evil.example" $U/v1/chat/completions)" = 403 ] || fail "foreign preflight"
start cors --cors-origin http://localhost:3000
[ "$(curl -s -o /dev/null -D $T.hdr -w '%{http_code}' -X OPTIONS -H "Origin: http://localhost:3000" $U/v1/chat/completions)" = 204 ] ||
	fail "preflight for the configured origin"
grep -qi '^access-control-allow-origin: http://localhost:3000' $T.hdr || fail "configured origin not allowed"
curl -s -D $T.hdr -o /dev/null -H "Origin: http://localhost:3001" $U/health
grep -qi '^access-control-allow-origin' $T.hdr && fail "other origin echoed"

# --- no model, failed model: still serving, with reasons
start none
[ "$(code $U/health)" = 503 ] || fail "no model: health"
jq -e '.status == "no model"' $T.body >/dev/null || fail "no model status: $(cat $T.body)"
[ "$(code $U/v1/chat/completions -d "{$M}")" = 503 ] || fail "no model: chat should be 503"
start broken -m /nonexistent/missing.gguf
i=0; until curl -s $U/health | jq -e '.status == "error"' >/dev/null; do i=$((i+1)); [ $i -gt 50 ] && fail "failed model health: $(curl -s $U/health)"; sleep 0.1; done
curl -s $U/health | jq -e '.models[0].error | test("missing")' >/dev/null || fail "failed model reason"
[ "$(code $U/v1/chat/completions -d "{$M}")" = 503 ] || fail "failed model: chat should be 503"
jq -e '.error.message | test("failed to load")' $T.body >/dev/null || fail "failed model message: $(cat $T.body)"

# --- --request-timeout: a generation running too long is cancelled (504 / SSE error event)
start slow -m "$TD/models/qwen3-f32.gguf" --alias q --parallel 1 -t 1 --request-timeout 0.5
wait_ready
[ "$(code $U/v1/chat/completions -d '{"model":"q","messages":[{"role":"user","content":"x"}],"max_tokens":100000}')" = 504 ] ||
	fail "request timeout should be 504: $(cat $T.body)"
curl -s -N --max-time 20 $U/v1/chat/completions \
	-d '{"model":"q","messages":[{"role":"user","content":"x"}],"max_tokens":100000,"stream":true}' > $T.to
grep -q '"code":"timeout"' $T.to || fail "stream timeout event"
[ "$(tail -c 14 $T.to)" = "$(printf 'data: [DONE]\n\n')" ] || fail "timed-out stream not terminated"

# --- clean shutdown on SIGTERM
for p in $PIDS; do kill -TERM $p 2>/dev/null; done
wait $PIDS
PIDS=""
grep -q "shutting down" $T.log.main || fail "no clean shutdown"
echo ok
