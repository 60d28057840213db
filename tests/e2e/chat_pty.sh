#!/bin/sh
# hearth chat in a real pseudo-terminal (tmux): banner, a streamed reply, !set, !show,
# a second turn that reuses the KV cache (!stats), !save / !reset / !load, Ctrl-C during
# a long reply, Ctrl-C at the prompt, !exit, and the persisted history.
set -u
H=$HEARTH_BIN; TD=$HEARTH_TESTDATA
M=$TD/models/qwen3-q4_0.gguf
[ -f "$M" ] || { echo "testdata absent"; exit 77; }
command -v tmux >/dev/null 2>&1 || { echo "tmux not installed"; exit 77; }

T=$(mktemp -d /tmp/hearth-chat-pty.XXXXXX)
S="hearth-e2e-$$"
W=chat # the tmux session (window) in use
tm() { tmux -L "$S" "$@"; }
cleanup() { tm kill-server 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "---- screen ----"; screen | tail -40 | cut -c1-200; exit 1; }
screen() { tm capture-pane -p -J -S - -t $W 2>/dev/null; }
# wait_for PATTERN [SECONDS]: polls the screen until grep -E finds PATTERN
wait_for() {
	n=$(( ${2:-10} * 10 ))
	while [ $n -gt 0 ]; do
		screen | grep -Eq -- "$1" && return 0
		sleep 0.1; n=$((n - 1))
	done
	fail "timed out waiting for: $1"
}
prompts() { screen | grep -cE '^>>>( |$)'; }
# send TEXT: types a line and presses Enter
send() { tm send-keys -t $W -l -- "$1"; tm send-keys -t $W Enter; }
# wait_prompt N: waits until the screen shows N prompts (the reply before it is complete)
wait_prompt() {
	n=100
	while [ $n -gt 0 ]; do
		[ "$(prompts)" -ge "$1" ] && return 0
		sleep 0.1; n=$((n - 1))
	done
	fail "timed out waiting for prompt $1"
}

tm new-session -d -s $W -x 160 -y 50 \
	"env TERM=xterm-256color XDG_DATA_HOME='$T/data' '$H' chat -m '$M' -t 1 -n 24 --seed 7; echo EXITED=\$?; sleep 60" ||
	fail "cannot start tmux"

wait_for '^hearth .* - qwen3-q4_0 \(qwen3, .*Q4_0, context 4096\)'
wait_for '!help for commands'
wait_prompt 1
# colours are on in a terminal: the banner is bold
tm capture-pane -p -e -t $W | grep -q "$(printf '\033')\[1mhearth" || fail "no colour on a terminal"

# a message: streamed reply, then a new prompt
send "Hello there"
wait_prompt 2
reply=$(screen | sed -n '/^>>> Hello there$/,/^>>> *$/p' | sed '1d;$d' | tr -d '\n')
[ -n "$reply" ] || fail "empty reply"

send "!set temperature 0"
wait_for '^temperature = 0$'
send "!show"
wait_for '^  temperature     0$'
wait_for '^context: +[0-9]+ of 4096 tokens used \(2 messages\)'
wait_for '^model: +qwen3-q4_0 '

# the second turn reuses the first turn's tokens from the KV cache
send "What is the capital of France?"
wait_prompt 5
send "!stats"
wait_for '^first token: .* \(first turn: '
line=$(screen | grep -E '^prompt: +[0-9]+ tokens, [0-9]+ reused' | tail -1)
reused=$(echo "$line" | sed -E 's/^prompt: +[0-9]+ tokens, ([0-9]+) reused.*/\1/')
[ "${reused:-0}" -gt 10 ] || fail "second turn reused $reused tokens: $line"
screen | grep -Eq '^last reply: +[0-9]+ tokens in .* tokens/s' || fail "no tokens/s"

# save, forget, load
send "!save $T/conv.json"
wait_for "^saved 4 messages to $T/conv.json"
grep -q '"format": "hearth-chat"' "$T/conv.json" || fail "saved file format"
grep -q '"content": "Hello there"' "$T/conv.json" || fail "saved file content"
grep -q '"temperature": 0' "$T/conv.json" || fail "saved settings"
send "!reset"
wait_for '^conversation cleared'
send "!show"
wait_for '\(0 messages\)'
send "!load $T/conv.json"
wait_for "^loaded 4 messages from $T/conv.json"
send "!nonsense"
wait_for "^unknown command '!nonsense': type !help"

# Ctrl-C during a long reply stops it, and the chat goes on
send "!set max_tokens 100000"
wait_for '^max_tokens = 100000$'
p=$(prompts)
send "Tell me a very long story"
sleep 0.4
a=$(screen | wc -c)
sleep 0.4
b=$(screen | wc -c)
[ "$(prompts)" = "$p" ] || fail "the long reply ended by itself"
[ "$b" -gt "$a" ] || fail "reply does not stream ($a -> $b bytes)"
tm send-keys -t $W C-c
wait_for '^\[stopped; Ctrl-C again to leave'
wait_prompt $((p + 1))
send "!stats"
wait_for '^last reply: .*finish: cancelled'
send "!set max_tokens 16"
wait_for '^max_tokens = 16$'

# multi-line input: a """ block is one message
send '"""'
send 'first line'
send 'second line"""'
wait_prompt $((p + 4))
send "!save $T/conv2.json"
wait_for "^saved [0-9]+ messages to $T/conv2.json"
grep -q '"content": "first line\\nsecond line"' "$T/conv2.json" || fail "multi-line message: $(grep first "$T/conv2.json")"

# Ctrl-C at the prompt clears the line and warns; !exit leaves
tm send-keys -t $W -l "typed but not sent"
tm send-keys -t $W C-c
wait_for '^\(Ctrl-C again or Ctrl-D to leave\)'
send "!exit"
wait_for '^EXITED=0$'

# history persisted privately in the data directory
[ -f "$T/data/hearth/chat_history" ] || fail "no history file"
grep -q 'What\\040is\\040the\\040capital' "$T/data/hearth/chat_history" || fail "history content"
[ "$(stat -c %a "$T/data/hearth/chat_history")" = 600 ] || fail "history file mode"

# a second Ctrl-C at the prompt exits (a new session first: the server stays up)
W=chat2
tm new-session -d -s $W -x 160 -y 50 \
	"env XDG_DATA_HOME='$T/data' '$H' chat -m '$M' -t 1 -n 8; echo EXITED=\$?; sleep 60"
wait_prompt 1
tm send-keys -t $W C-c
wait_for 'Ctrl-C again'
tm send-keys -t $W C-c
wait_for '^EXITED=0$'
# and Ctrl-D
W=chat3
tm new-session -d -s $W -x 160 -y 50 \
	"env NO_COLOR=1 XDG_DATA_HOME='$T/data' '$H' chat -m '$M' -t 1 -n 8; echo EXITED=\$?; sleep 60"
wait_prompt 1
# NO_COLOR: no escape sequences
tm capture-pane -p -e -t $W | grep -q "$(printf '\033')\[1m" && fail "colour despite NO_COLOR"
tm send-keys -t $W C-d
wait_for '^EXITED=0$'
# thinking: a template whose generation prompt opens <think> makes the whole reply
# reasoning, shown dimmed under "Thinking..." - or not at all with --hide-think
cat >"$T/think.jinja" <<'EOF'
{%- for m in messages %}<|im_start|>{{ m.role }}
{{ m.content }}<|im_end|>
{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
<think>
{% endif %}
EOF
W=chat4
tm new-session -d -s $W -x 160 -y 50 \
	"env TERM=xterm-256color XDG_DATA_HOME='$T/data' '$H' chat -m '$M' -t 1 -n 12 --template '$T/think.jinja'; echo EXITED=\$?; sleep 60"
wait_prompt 1
send "Hi"
wait_prompt 2
screen | grep -q '^Thinking\.\.\.$' || fail "no Thinking... header"
tm capture-pane -p -e -t $W | grep -q "$(printf '\033')\[2m" || fail "thinking is not dimmed"
send "!set hide_think on"
wait_for '^hide_think = on$'
send "Again"
wait_prompt 4
[ "$(screen | grep -c '^Thinking')" = 1 ] || fail "thinking shown despite hide_think"
screen | grep -q 'thinking\.\.\.' && fail "the hidden-thinking placeholder was not erased"
send "!exit"
wait_for '^EXITED=0$'
echo ok
