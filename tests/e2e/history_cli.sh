#!/bin/sh
# hearth chat --save and hearth history: a piped chat recorded in the database
# (messages, statuses, stats, !reset's context_from, !retry), continuing a chat
# with --chat-id, then history list (paging, --json), show, search (brackets,
# entities), export (JSON and Markdown) -> import -> export identical, import of
# bad documents, delete, clear errors, --help; stored text never reaches the
# terminal as escape sequences.
set -u
H=$HEARTH_BIN; TD=$HEARTH_TESTDATA
M=$TD/models/qwen3-q4_0.gguf
[ -f "$M" ] || { echo "testdata absent"; exit 77; }
command -v sqlite3 >/dev/null 2>&1 || { echo "no sqlite3 CLI (Debian sqlite3)"; exit 77; }
command -v jq >/dev/null 2>&1 || { echo "no jq"; exit 77; }
T=$(mktemp -d /tmp/hearth-history-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
DB=$T/h.db
chat() { XDG_DATA_HOME="$T/data" "$H" chat -t 1 "$@"; }
hist() { XDG_DATA_HOME="$T/data" "$H" history "$@"; }
q() { sqlite3 "$DB" "$1"; }

# --help
"$H" chat --help | grep -q -- '--chat-id N' || fail "chat --help lacks --chat-id"
hist --help | grep -q 'usage: hearth history' || fail "history --help"
for s in list show search export import delete; do
	hist $s --help | grep -q "usage: hearth history $s" || fail "history $s --help"
done
hist >/dev/null 2>&1; [ $? = 2 ] || fail "history without a command should exit 2"
hist frob >/dev/null 2>&1; [ $? = 2 ] || fail "unknown history command should exit 2"
hist list --bogus >/dev/null 2>&1; [ $? = 2 ] || fail "unknown option should exit 2"

# reading commands never create a database
hist list --db "$T/none.db" | grep -q 'no chats' || fail "list of a missing database"
[ -e "$T/none.db" ] && fail "list created the database"
hist show 3 --db "$T/none.db" 2>"$T/err"; [ $? = 1 ] || fail "show in a missing database should exit 1"

# a piped chat, saved: every message, the replies with status and stats
printf 'Hello there\nWhat is the capital of France?\n!reset\nAnd of Spain?\n!retry\n!show\n' |
	chat -m "$M" -n 6 --temp 0 --db "$DB" --title "First chat" >"$T/out" 2>"$T/err" ||
	fail "chat --db: $(cat "$T/err")"
grep -q "^saved: *chat 1 in $DB" "$T/out" || fail "!show should name the chat: $(grep saved: "$T/out")"
[ "$(q 'select count(*) from chats')" = 1 ] || fail "one chat expected"
[ "$(q 'select title from chats')" = "First chat" ] || fail "--title"
[ "$(q 'select model from chats')" = "qwen3-q4_0" ] || fail "chat model: $(q 'select model from chats')"
q 'select params from chats' | grep -q '"temperature":0' || fail "params: $(q 'select params from chats')"
[ "$(q 'select count(*) from messages')" = 6 ] || fail "6 messages expected (retry replaces the reply): $(q 'select id, role from messages')"
[ "$(q "select group_concat(role, ',') from (select role from messages order by id)")" = \
	"user,assistant,user,assistant,user,assistant" ] || fail "roles"
[ "$(q "select count(*) from messages where role = 'assistant' and status = 'complete' and n_gen > 0 and n_prompt > 0 and gen_ms > 0")" = 3 ] ||
	fail "assistant stats: $(q 'select status, n_prompt, n_gen, gen_ms from messages')"
[ "$(q "select count(*) from messages where role = 'assistant' and model = 'qwen3-q4_0'")" = 3 ] || fail "reply model"
# !reset: context_from is the first message after it
[ "$(q 'select context_from from chats')" = "$(q "select min(id) from messages where content = 'And of Spain?'")" ] ||
	fail "context_from $(q 'select context_from from chats')"

# the default database: $XDG_DATA_HOME/hearth/hearth.db, title from the first message
printf 'Tell me about the sea\n' | chat -m "$M" -n 4 --temp 0 --save >/dev/null || fail "chat --save"
[ -f "$T/data/hearth/hearth.db" ] || fail "no default database"
hist list | grep -q 'Tell me about the sea' || fail "default title: $(hist list)"

# failures are stored as errors, a stopped reply as stopped
printf 'Hello there, how are you\nTell me about the sea\nAnd the mountains\n' |
	chat -m "$M" -n 16 --temp 0 --ctx 64 --db "$DB" >/dev/null 2>&1
[ $? = 1 ] || fail "context full should exit 1"
q "select error from messages where status = 'error'" | grep -q 'context full' || fail "no error reply stored"
mkfifo "$T/in"
XDG_DATA_HOME="$T/data" "$H" chat -t 1 -m "$M" --db "$DB" --title Stopped <"$T/in" >/dev/null 2>&1 &
pid=$!
(sleep 30; kill -9 $pid) >/dev/null 2>&1 &
dog=$!
exec 3>"$T/in"
printf '!set max_tokens 100000\nTell me everything\n' >&3
sleep 1
kill -INT $pid
wait $pid
rc=$?
kill $dog 2>/dev/null
exec 3>&-
[ $rc = 130 ] || fail "SIGINT exit status $rc"
[ "$(q "select m.status from messages m join chats c on c.id = m.chat_id where c.title = 'Stopped' and m.role = 'assistant'")" = stopped ] ||
	fail "stopped reply: $(q 'select chat_id, role, status from messages')"

# --chat-id: the stored conversation continues (what the model sees since !reset)
printf '!show\nOne more\n' | chat --chat-id 1 --db "$DB" -m "$M" --top-k 7 --title "First chat" >"$T/out" ||
	fail "--chat-id"
grep -q '^context: .*(2 messages)' "$T/out" || fail "continued context: $(grep context: "$T/out")"
grep -q '^  max_tokens *6$' "$T/out" && grep -q '^  temperature *0$' "$T/out" || fail "stored settings not applied"
grep -q '^  top_k *7$' "$T/out" || fail "a flag should win over the stored settings"
q 'select params from chats where id = 1' | grep -q '"top_k":7' || fail "the flag did not update the chat's params"
[ "$(q 'select count(*) from messages where chat_id = 1')" = 8 ] || fail "--chat-id did not append"
chat --chat-id 99 --db "$DB" -m "$M" </dev/null 2>"$T/err"; [ $? = 1 ] || fail "unknown --chat-id should exit 1"
grep -q 'no chat 99' "$T/err" || fail "unknown --chat-id message: $(cat "$T/err")"

# list: newest first, paging, JSON
hist list --db "$DB" >"$T/out" || fail "list"
head -1 "$T/out" | grep -q 'ID' || fail "list header"
n=$(hist list --db "$DB" --json | jq '.chats | length')
[ "$n" = 3 ] || fail "list --json: $n chats"
[ "$(hist list --db "$DB" --json | jq -r '.chats[0].title')" = "First chat" ] || fail "newest first"
hist list --db "$DB" --json | jq -e '.chats[0].params.max_tokens == 6 and .next_cursor == null' >/dev/null ||
	fail "list --json fields"
hist list --db "$DB" --limit 1 >"$T/out" 2>"$T/err" || fail "list --limit"
[ "$(wc -l <"$T/out")" = 2 ] || fail "--limit 1: $(cat "$T/out")"
cur=$(sed -n 's/.*--cursor \([^ ,]*\).*/\1/p' "$T/err")
[ -n "$cur" ] || fail "no cursor hint: $(cat "$T/err")"
hist list --db "$DB" --limit 1 --cursor "$cur" --json | jq -e '(.chats | length) == 1 and .next_cursor != null' >/dev/null ||
	fail "second page"
hist list --db "$DB" --all --cursor "$cur" --json | jq -e '(.chats | length) == 2 and .next_cursor == null' >/dev/null ||
	fail "the rest"
hist list --db "$DB" --cursor 'garbage!' >/dev/null 2>&1; [ $? = 1 ] || fail "bad cursor should exit 1"

# show: roles, statuses, the reset line; no escape sequences when not a terminal
hist show 1 --db "$DB" >"$T/out" || fail "show"
grep -q '^First chat$' "$T/out" || fail "show title"
grep -q '^user ' "$T/out" && grep -q '^assistant .*qwen3-q4_0 · [0-9]* tokens' "$T/out" || fail "show roles: $(cat "$T/out")"
grep -q '^What is the capital of France?$' "$T/out" || fail "show content"
grep -q 'context reset' "$T/out" || fail "show reset line"
grep -q "$(printf '\033')" "$T/out" && fail "escape sequences in piped show"
cid=$(q "select chat_id from messages where status = 'error' limit 1")
hist show "$cid" --db "$DB" | grep -q '^\[error: context full' || fail "show error status"
hist show 99 --db "$DB" 2>"$T/err"; [ $? = 1 ] || fail "show 99 should exit 1"
grep -q 'no chat 99 — list them with `hearth history list`' "$T/err" || fail "show 99 message: $(cat "$T/err")"
hist show abc --db "$DB" 2>/dev/null; [ $? = 2 ] || fail "show abc should exit 2"

# search: [brackets] off a terminal, HTML entities decoded; --json keeps the HTML
hist search capital --db "$DB" >"$T/out" || fail "search"
grep -q '^chat 1 First chat' "$T/out" || fail "search header: $(cat "$T/out")"
grep -q 'What is the \[capital\] of France?' "$T/out" || fail "search snippet: $(cat "$T/out")"
hist search capi --db "$DB" --json | jq -e '.results[0].snippet | test("<mark>capital</mark>")' >/dev/null ||
	fail "search --json snippet"
cat >"$T/odd.json" <<'EOF'
{"title": "Odd <chars>", "messages": [
 {"role": "user", "content": "compare a<b && c>d with \"quotes\" and 'apostrophes'"},
 {"role": "assistant", "content": "sneaky \u001b]0;pwned\u0007 title and \u001b[31mred\u001b[0m",
  "reasoning": "pondering quietly"}]}
EOF
hist import "$T/odd.json" --db "$DB" >"$T/out" || fail "import odd"
grep -q '^imported .*odd.json as chat [0-9]* "Odd <chars>" (2 messages)$' "$T/out" || fail "import message: $(cat "$T/out")"
odd=$(sed -n 's/.* as chat \([0-9]*\) .*/\1/p' "$T/out")
hist search compare --db "$DB" | grep -qF "[compare] a<b && c>d with \"quotes\" and 'apostrophes'" ||
	fail "entities: $(hist search compare --db "$DB")"
hist show "$odd" --db "$DB" >"$T/out"
grep -q "$(printf '\033')" "$T/out" && fail "stored escape sequences reached the output"
grep -qF 'sneaky ^[]0;pwned^G title' "$T/out" || fail "control characters not shown: $(cat "$T/out")"
grep -A2 '^\[thinking\]$' "$T/out" | grep -q '^pondering quietly$' || fail "thinking off a terminal: $(cat "$T/out")"
sid=$(q "select id from chats where title = 'Stopped'")
hist show "$sid" --db "$DB" | grep -q '^\[stopped\]$' || fail "show stopped status"
hist search nothingmatchesthis --db "$DB" | grep -q 'no messages match' || fail "no hits"

# export -> import -> export: identical; markdown; stdin import; bad documents
hist export 1 --db "$DB" >"$T/e1.json" || fail "export"
jq -e '.format == "hearth-chat" and (.messages | length) == 8' "$T/e1.json" >/dev/null || fail "export content"
hist import "$T/e1.json" --db "$DB" >"$T/out" || fail "import"
new=$(sed -n 's/.* as chat \([0-9]*\) .*/\1/p' "$T/out")
[ -n "$new" ] || fail "import output: $(cat "$T/out")"
hist export "$new" --db "$DB" -o "$T/e2.json" 2>"$T/err" || fail "export -o"
grep -q "exported chat $new to $T/e2.json" "$T/err" || fail "export -o message"
cmp -s "$T/e1.json" "$T/e2.json" || fail "export/import/export differs: $(diff "$T/e1.json" "$T/e2.json" | head -5)"
hist export 1 --db "$DB" --format markdown -o "$T/e.md" 2>/dev/null || fail "markdown export"
grep -q '^# First chat' "$T/e.md" || fail "markdown title"
hist export 1 --db "$DB" --format yaml >/dev/null 2>&1; [ $? = 2 ] || fail "bad --format should exit 2"
hist export 99 --db "$DB" 2>"$T/err"; [ $? = 1 ] || fail "export 99 should exit 1"
grep -q 'no chat 99' "$T/err" || fail "export 99 message"
echo '[{"role":"user","content":"from stdin"}]' | hist import - --db "$DB" | grep -q '^imported standard input as chat' ||
	fail "import -"
echo '{"messages":[{"role":"tool","content":"x"}]}' >"$T/bad.json"
printf '{"messages": [' >"$T/bad2.json"
before=$(q 'select count(*) from chats')
hist import "$T/bad.json" "$T/bad2.json" "$T/missing.json" --db "$DB" >/dev/null 2>"$T/err"
[ $? = 1 ] || fail "bad imports should exit 1"
[ "$(grep -c '^error: ' "$T/err")" = 3 ] || fail "three import errors expected: $(cat "$T/err")"
[ "$(q 'select count(*) from chats')" = "$before" ] || fail "a failed import left a chat"

# delete
hist delete "$new" --db "$DB" | grep -q "^deleted chat $new \"First chat\" (8 messages)" || fail "delete"
hist show "$new" --db "$DB" >/dev/null 2>&1; [ $? = 1 ] || fail "deleted chat still shown"
hist delete "$new" --db "$DB" 2>"$T/err"; [ $? = 1 ] || fail "deleting twice should exit 1"
grep -q "no chat $new" "$T/err" || fail "delete message"
[ "$(q "select count(*) from messages where chat_id = $new")" = 0 ] || fail "messages left after delete"
q 'pragma integrity_check' | grep -q '^ok$' || fail "integrity"
echo ok
