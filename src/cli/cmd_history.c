/*
 * cmd_history.c - `hearth history`: the stored chats (src/store/store.h) from
 * the terminal: list, show, search, export, import and delete, in the same
 * database `hearth serve` and `hearth chat --save` write.
 *
 * Text output is for reading: stored text (which came from a model, a person or
 * an imported file) is printed with control characters made visible, so a chat
 * cannot move the cursor or retitle the terminal; colours only on a terminal
 * that wants them.  --json output (list, search) has the server's field names.
 * Commands that only read never create the database: a missing file is "no
 * chats yet".
 */
#include "cli/cli.h"
#include "store/store.h"
#include "util/util.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define LIST_DEFAULT 50
#define IMPORT_MAX ((size_t)256 << 20) /* a document; the store limits the text to 64 MiB */

static void usage(FILE *f)
{
	fprintf(f, "usage: hearth history <command> [options]\n"
	           "\n"
	           "The stored chats: those of `hearth serve` (the web UI) and `hearth chat --save`.\n"
	           "\n"
	           "commands:\n"
	           "  list                      the chats, newest first\n"
	           "  show ID                   a chat's messages\n"
	           "  search TERM...            messages containing the words (the last one as a prefix)\n"
	           "  export ID                 a chat as JSON (for import) or Markdown (for reading)\n"
	           "  import FILE...            chats from JSON exports ('-': standard input)\n"
	           "  delete ID...              chats and all their messages\n"
	           "\n"
	           "every command:\n"
	           "  --db FILE                 the database (default $XDG_DATA_HOME/hearth/hearth.db,\n"
	           "                            else ~/.local/share/hearth/hearth.db)\n"
	           "  -h, --help                the command's own options\n"
	           "\n"
	           "examples:\n"
	           "  hearth history list --limit 10\n"
	           "  hearth history search borrow checker\n"
	           "  hearth history export 12 --format markdown -o chat.md\n"
	           "  hearth history export 12 | hearth history import -\n");
}

static void usage_sub(FILE *f, const char *sub)
{
	if (!strcmp(sub, "list"))
		fprintf(f, "usage: hearth history list [--limit N | --all] [--cursor C] [--json] [--db FILE]\n\n"
		           "The chats, last updated first: id, last update, message count, model and title.\n\n"
		           "  --limit N      at most N chats (default %d); when more remain, a --cursor to\n"
		           "                 continue from is printed on stderr (and as next_cursor in --json)\n"
		           "  --all          every chat\n"
		           "  --cursor C     continue after the page that printed C\n"
		           "  --json         {\"chats\":[{id,title,model,system,params,created_at,updated_at,\n"
		           "                 n_messages}],\"next_cursor\":C|null}; times in ms since the epoch\n",
		        LIST_DEFAULT);
	else if (!strcmp(sub, "show"))
		fprintf(f, "usage: hearth history show ID [--db FILE]\n\n"
		           "A chat's title, model, system prompt and messages, in order: who wrote each and when,\n"
		           "the thinking (dimmed on a terminal, between [thinking] lines otherwise), token counts\n"
		           "and speed of the replies, and the status of a reply that did not complete (stopped,\n"
		           "error and why).  A line marks where a /reset or !reset started a fresh context.\n");
	else if (!strcmp(sub, "search"))
		fprintf(f, "usage: hearth history search TERM... [--limit N] [--offset N] [--json] [--db FILE]\n\n"
		           "Messages containing every word (the last may be the start of a word), best first:\n"
		           "the chat, the role and date, and the text around the match, the matched words in\n"
		           "bold on a terminal and [in brackets] otherwise.  Words are plain text: quotes,\n"
		           "operators and '*' have no special meaning.\n\n"
		           "  --limit N      at most N results, 1..100 (default 20)\n"
		           "  --offset N     skip the first N results\n"
		           "  --json         {\"results\":[{chat_id,chat_title,message_id,role,snippet,created_at}]};\n"
		           "                 snippet is HTML (escaped text, <mark> around the matches)\n");
	else if (!strcmp(sub, "export"))
		fprintf(f, "usage: hearth history export ID [--format json|markdown] [-o FILE] [--db FILE]\n\n"
		           "  --format json       the whole chat, for `hearth history import` or the web UI's\n"
		           "                      import (default)\n"
		           "  --format markdown   for reading: title, model, system prompt, the messages\n"
		           "  -o, --output FILE   write FILE instead of standard output\n");
	else if (!strcmp(sub, "import"))
		fprintf(f, "usage: hearth history import FILE... [--db FILE]\n\n"
		           "Each FILE ('-': standard input) becomes a new chat: a JSON export of hearth\n"
		           "(hearth history export, the web UI), or {\"title\"?, \"messages\":[{role, content}]}\n"
		           "or a bare array of such messages.  A file is imported whole or not at all.\n");
	else
		fprintf(f, "usage: hearth history delete ID... [--db FILE]\n\n"
		           "Deletes the chats and all their messages (there is no undo: export first).\n");
}

/* ---- options ---- */

struct hopts {
	const char *sub;
	const char *db;
	const char *cursor, *format, *output;
	long long limit, offset;
	bool all, json;
	const char **args; /* positional arguments */
	int n_args;
};

/* Parses a subcommand's options (the ones in `accept`, space separated).
 * Returns -1 to go on, or the exit status (0 for --help, 2 for a usage error). */
static int parse(int argc, char **argv, const char *accept, struct hopts *o)
{
	o->sub = argv[0];
	o->args = calloc((size_t)argc, sizeof *o->args);
	if (!o->args)
		return cli_fail("", HEARTH_ENOMEM);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char key[32];
		snprintf(key, sizeof key, " %s ", a);
		char acc[128];
		snprintf(acc, sizeof acc, " %s --db -h --help ", accept);
		if (a[0] != '-' || !strcmp(a, "-")) {
			o->args[o->n_args++] = a;
			continue;
		}
		if (!strstr(acc, key) || strlen(a) > 20) {
			fprintf(stderr, "error: unknown option '%s' (see hearth history %s --help)\n", a, o->sub);
			return 2;
		}
		const char **str = cli_is(a, "--db", NULL)           ? &o->db
		                   : cli_is(a, "--cursor", NULL)     ? &o->cursor
		                   : cli_is(a, "--format", NULL)     ? &o->format
		                   : cli_is(a, "-o", "--output")     ? &o->output
		                                                     : NULL;
		if (cli_is(a, "-h", "--help")) {
			usage_sub(stdout, o->sub);
			return 0;
		} else if (str) {
			if (!cli_str(a, v, str))
				return 2;
			i++;
		} else if (cli_is(a, "--limit", "--offset")) {
			bool lim = a[2] == 'l';
			if (!cli_int(a, v, lim, lim && !strcmp(o->sub, "search") ? 100 : 1000000,
			             lim ? &o->limit : &o->offset))
				return 2;
			i++;
		} else if (cli_is(a, "--all", NULL)) {
			o->all = true;
		} else if (cli_is(a, "--json", NULL)) {
			o->json = true;
		}
	}
	return -1;
}

/* Opens the database; when `create` is false a missing file is HEARTH_ENOTFOUND
 * (nothing stored yet) and nothing is created.  *path is malloc'd. */
static int open_db(const struct hopts *o, bool create, hx_store **s, char **path)
{
	*s = NULL;
	int rc = o->db ? ((*path = hx_strdup(o->db)) ? 0 : HEARTH_ENOMEM) : hx_store_default_path(path);
	if (rc)
		return rc;
	struct stat st;
	if (!create && stat(*path, &st) != 0 && errno == ENOENT)
		return HEARTH_ENOTFOUND;
	return hx_store_open(*path, s);
}

/* Reads a chat id ("12"); prints why not and returns false. */
static bool parse_id(const char *a, int64_t *id)
{
	char *end;
	errno = 0;
	long long v = strtoll(a, &end, 10);
	if (errno || end == a || *end || v < 1) {
		fprintf(stderr, "error: '%s' is not a chat id (a number: see hearth history list)\n", a);
		return false;
	}
	*id = v;
	return true;
}

/* The one chat id a command takes; prints why not and returns false. */
static bool one_id(const struct hopts *o, int64_t *id)
{
	if (o->n_args != 1) {
		fprintf(stderr, "error: %s takes one chat id (see hearth history %s --help)\n", o->sub, o->sub);
		return false;
	}
	return parse_id(o->args[0], id);
}

static int no_chat(int64_t id)
{
	fprintf(stderr, "error: no chat %" PRId64 " — list them with `hearth history list`\n", id);
	return 1;
}

/* Reports a store error (ENOTFOUND on a chat as "no chat N"). */
static int store_fail(int rc, int64_t id)
{
	if (rc == HEARTH_ENOTFOUND && id > 0)
		return no_chat(id);
	return cli_fail("", rc);
}

/* ---- text output ---- */

struct colors {
	const char *bold, *dim, *red, *cyan, *reset;
};

static struct colors colors_for(FILE *f)
{
	if (cli_color(f))
		return (struct colors){"\033[1m", "\033[2m", "\033[31m", "\033[36m", "\033[0m"};
	return (struct colors){"", "", "", "", ""};
}

/* Writes stored text with control characters (C0 but tab and newline, DEL, C1)
 * shown as ^X / \u0080.., never sent to the terminal.  `oneline` turns newlines
 * into spaces. */
static void put_text(FILE *f, const char *s, size_t n, bool oneline)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n' || c == '\t') {
			fputc(oneline ? ' ' : c, f);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "^%c", c == 0x7f ? '?' : c + 0x40);
		} else if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f) {
			fprintf(f, "\\u%04x", (unsigned char)s[++i]);
		} else {
			fputc(c, f);
		}
	}
}

static void put_str(FILE *f, const char *s, bool oneline) { put_text(f, s ? s : "", s ? strlen(s) : 0, oneline); }

/* Local date and time of a millisecond timestamp. */
static const char *when(int64_t ms, char *buf, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!localtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M", &tm))
		snprintf(buf, n, "?");
	return buf;
}

/* A search snippet (HTML: escaped text, <mark> around matches) for the terminal:
 * entities decoded, marks as bold (or [brackets]), on one line. */
static void put_snippet(FILE *f, const char *html, const struct colors *c, bool tty)
{
	hx_sbuf b = {0};
	hx_sbuf_add(&b, "", 0);
	for (const char *p = html; *p;) {
		if (!strncmp(p, "<mark>", 6) || !strncmp(p, "</mark>", 7)) {
			bool on = p[1] != '/';
			put_text(f, b.p, b.len, true);
			b.len = 0;
			fputs(tty ? (on ? c->bold : c->reset) : (on ? "[" : "]"), f);
			p += on ? 6 : 7;
			continue;
		}
		if (*p == '&') {
			static const struct {
				const char *name, *ch;
			} ents[] = {{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&apos;", "'"}};
			size_t k;
			for (k = 0; k < HX_ARRAY_LEN(ents); k++)
				if (!strncmp(p, ents[k].name, strlen(ents[k].name)))
					break;
			if (k < HX_ARRAY_LEN(ents)) {
				hx_sbuf_add(&b, ents[k].ch, 1);
				p += strlen(ents[k].name);
				continue;
			}
		}
		hx_sbuf_add(&b, p, 1);
		p++;
	}
	if (b.p)
		put_text(f, b.p, b.len, true);
	free(b.p);
	if (tty)
		fputs(c->reset, f);
}

/* ---- JSON output (the server's field names) ---- */

static json_t *chat_json(const hx_chat *c)
{
	json_error_t je;
	json_t *params = json_loads(c->params && c->params[0] ? c->params : "{}", 0, &je);
	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:I, s:I, s:I}", "id", (json_int_t)c->id, "title",
	                 c->title ? c->title : "", "model", c->model ? c->model : "", "system", c->system ? c->system : "",
	                 "params", params ? params : json_object(), "created_at", (json_int_t)c->created_ms,
	                 "updated_at", (json_int_t)c->updated_ms, "n_messages", (json_int_t)c->n_messages);
}

static int print_json(json_t *j)
{
	if (!j)
		return cli_fail("", HEARTH_ENOMEM);
	/* 15 digits: a stored 0.05 prints as 0.05, not 0.050000000000000003 */
	int rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) || fputc('\n', stdout) == EOF ||
	         fflush(stdout);
	json_decref(j);
	if (rc) {
		fprintf(stderr, "error: writing the output: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

/* ---- list ---- */

static int h_list(hx_store *s, const char *path, const struct hopts *o)
{
	long long want = o->all ? -1 : o->limit ? o->limit : LIST_DEFAULT;
	hx_chat *all = NULL;
	size_t n = 0, cap = 0;
	char *cursor = o->cursor ? hx_strdup(o->cursor) : NULL;
	int rc = 0;
	if (o->cursor && !cursor)
		return cli_fail("", HEARTH_ENOMEM);
	if (s) {
		do {
			int page = want < 0 ? 200 : (int)HX_MIN(200, want - (long long)n);
			hx_chat *v = NULL;
			size_t nv = 0;
			char *next = NULL;
			if ((rc = hx_chat_list(s, HX_STORE_LOCAL_USER, cursor, page, &v, &nv, &next)))
				break;
			free(cursor);
			cursor = next;
			if (n + nv > cap) {
				size_t nc = HX_MAX(cap * 2, n + nv);
				hx_chat *na = hx_realloc(all, nc * sizeof *na);
				if (!na) {
					hx_chat_list_free(v, nv);
					rc = HEARTH_ENOMEM;
					break;
				}
				all = na;
				cap = nc;
			}
			memcpy(all + n, v, nv * sizeof *v);
			n += nv;
			free(v); /* the strings moved into all[] */
		} while (cursor && (want < 0 || (long long)n < want));
	}
	int status = 0;
	if (rc) {
		status = cli_fail(rc == HEARTH_EINVAL && o->cursor ? "--cursor" : "", rc);
	} else if (o->json) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < n; i++)
			json_array_append_new(a, chat_json(&all[i]));
		status = print_json(json_pack("{s:o, s:s?}", "chats", a, "next_cursor", cursor));
	} else if (!n) {
		printf("no chats%s in %s\n", o->cursor ? " after that cursor" : "", path);
	} else {
		struct colors c = colors_for(stdout);
		printf("%s%6s  %-16s  %5s  %-20s  %s%s\n", c.bold, "ID", "UPDATED", "MSGS", "MODEL", "TITLE", c.reset);
		for (size_t i = 0; i < n; i++) {
			char d[32];
			printf("%6" PRId64 "  %-16s  %5" PRId64 "  %-20.20s  ", all[i].id, when(all[i].updated_ms, d, sizeof d),
			       all[i].n_messages, all[i].model && all[i].model[0] ? all[i].model : "-");
			put_str(stdout, all[i].title, true);
			putchar('\n');
		}
		if (cursor)
			fprintf(stderr, "(more: hearth history list --cursor %s%s%s, or --all)\n", cursor,
			        o->db ? " --db " : "", o->db ? o->db : "");
	}
	hx_chat_list_free(all, n);
	free(cursor);
	return status;
}

/* ---- show ---- */

static void show_msg(const hx_msg *m, const struct colors *c, bool tty)
{
	char d[32];
	const char *role = hx_role_name(m->role);
	const char *rc = m->role == HX_ROLE_USER ? c->cyan : "";
	printf("%s%s%s%s %s%s", c->bold, rc, role, c->reset, c->dim, when(m->created_ms, d, sizeof d));
	if (m->role == HX_ROLE_ASSISTANT) {
		if (m->model && m->model[0])
			printf(" · %s", m->model);
		if (m->n_gen > 0)
			printf(" · %" PRId32 " tokens", m->n_gen);
		if (m->n_gen > 0 && m->gen_ms > 0)
			printf(", %.1f tokens/s", m->n_gen / (m->gen_ms / 1e3));
		if (m->ttft_ms > 0)
			printf(", first after %.0f ms", m->ttft_ms);
	}
	printf("%s\n", c->reset);
	if (m->reasoning && m->reasoning[0]) {
		if (tty) {
			fputs(c->dim, stdout);
			put_str(stdout, m->reasoning, false);
			printf("%s\n", c->reset);
		} else {
			printf("[thinking]\n");
			put_str(stdout, m->reasoning, false);
			printf("\n[/thinking]\n");
		}
	}
	/* a reply's text often starts with the space of its first token */
	const char *text = m->content ? m->content + strspn(m->content, " \t\r\n") : "";
	if (text[0]) {
		put_str(stdout, text, false);
		putchar('\n');
	}
	if (m->status == HX_MSG_STOPPED) {
		printf("%s[stopped]%s\n", c->dim, c->reset);
	} else if (m->status == HX_MSG_STREAMING) {
		printf("%s[being generated]%s\n", c->dim, c->reset);
	} else if (m->status == HX_MSG_ERROR) {
		printf("%s[error: ", c->red);
		put_str(stdout, m->error && m->error[0] ? m->error : "no reason recorded", true);
		printf("]%s\n", c->reset);
	}
}

static int h_show(hx_store *s, const struct hopts *o)
{
	int64_t id;
	if (!one_id(o, &id))
		return 2;
	if (!s)
		return no_chat(id);
	hx_chat ch = {0};
	hx_msg *v = NULL;
	size_t n = 0;
	int rc = hx_chat_get(s, HX_STORE_LOCAL_USER, id, &ch);
	if (!rc)
		rc = hx_msg_all(s, HX_STORE_LOCAL_USER, id, 0, &v, &n);
	if (rc) {
		hx_chat_clear(&ch);
		return store_fail(rc, id);
	}
	bool tty = cli_color(stdout);
	struct colors c = colors_for(stdout);
	char d[32];
	printf("%s", c.bold);
	put_str(stdout, ch.title, true);
	printf("%s\n%schat %" PRId64 " · %s · created %s · %zu message%s%s\n", c.reset, c.dim, ch.id,
	       ch.model && ch.model[0] ? ch.model : "the server's default model", when(ch.created_ms, d, sizeof d), n,
	       n == 1 ? "" : "s", c.reset);
	if (ch.system && ch.system[0]) {
		printf("%ssystem:%s ", c.bold, c.reset);
		put_str(stdout, ch.system, false);
		putchar('\n');
	}
	bool reset_shown = false;
	for (size_t i = 0; i < n; i++) {
		if (ch.context_from > 0 && !reset_shown && v[i].id >= ch.context_from && i > 0) {
			printf("\n%s--- context reset: the model sees only the messages from here on ---%s\n", c.dim,
			       c.reset);
			reset_shown = true;
		}
		putchar('\n');
		show_msg(&v[i], &c, tty);
	}
	hx_msg_list_free(v, n);
	hx_chat_clear(&ch);
	if (fflush(stdout)) {
		fprintf(stderr, "error: writing the output: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

/* ---- search ---- */

static int h_search(hx_store *s, const struct hopts *o)
{
	if (!o->n_args) {
		fprintf(stderr, "error: search what? hearth history search TERM... (see --help)\n");
		return 2;
	}
	hx_sbuf q = {0};
	for (int i = 0; i < o->n_args; i++) {
		if (i)
			hx_sbuf_add(&q, " ", 1);
		hx_sbuf_add(&q, o->args[i], strlen(o->args[i]));
	}
	if (q.oom) {
		free(q.p);
		return cli_fail("", HEARTH_ENOMEM);
	}
	hx_hit *v = NULL;
	size_t n = 0;
	int rc = s ? hx_search(s, HX_STORE_LOCAL_USER, q.p, o->limit ? (int)o->limit : 20, (int)o->offset, &v, &n) : 0;
	int status = 0;
	if (rc) {
		status = cli_fail("search", rc);
	} else if (o->json) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < n; i++)
			json_array_append_new(a, json_pack("{s:I, s:s, s:I, s:s, s:s, s:I}", "chat_id", (json_int_t)v[i].chat_id,
			                                   "chat_title", v[i].chat_title ? v[i].chat_title : "",
			                                   "message_id", (json_int_t)v[i].message_id, "role",
			                                   hx_role_name(v[i].role), "snippet", v[i].snippet ? v[i].snippet : "",
			                                   "created_at", (json_int_t)v[i].created_ms));
		status = print_json(json_pack("{s:o}", "results", a));
	} else if (!n) {
		printf("no messages match '");
		put_str(stdout, q.p, true);
		printf("'\n");
	} else {
		bool tty = cli_color(stdout);
		struct colors c = colors_for(stdout);
		for (size_t i = 0; i < n; i++) {
			char d[32];
			printf("%s%schat %" PRId64 "%s ", i ? "\n" : "", c.bold, v[i].chat_id, c.reset);
			put_str(stdout, v[i].chat_title, true);
			printf(" %s· %s · %s · message %" PRId64 "%s\n  ", c.dim, hx_role_name(v[i].role),
			       when(v[i].created_ms, d, sizeof d), v[i].message_id, c.reset);
			put_snippet(stdout, v[i].snippet ? v[i].snippet : "", &c, tty);
			putchar('\n');
		}
	}
	hx_hit_list_free(v, n);
	free(q.p);
	return status;
}

/* ---- export / import / delete ---- */

static int h_export(hx_store *s, const struct hopts *o)
{
	int64_t id;
	if (!one_id(o, &id))
		return 2;
	bool md = false;
	if (o->format && !(md = !strcmp(o->format, "markdown") || !strcmp(o->format, "md")) &&
	    strcmp(o->format, "json") != 0) {
		fprintf(stderr, "error: --format expects json or markdown, got '%s'\n", o->format);
		return 2;
	}
	if (!s)
		return no_chat(id);
	char *doc = NULL;
	size_t len = 0;
	int rc = md ? hx_export_markdown(s, HX_STORE_LOCAL_USER, id, &doc, &len)
	            : hx_export_json(s, HX_STORE_LOCAL_USER, id, &doc, &len);
	if (rc)
		return store_fail(rc, id);
	FILE *f = o->output && strcmp(o->output, "-") ? fopen(o->output, "wb") : stdout;
	if (!f) {
		fprintf(stderr, "error: cannot write %s: %s\n", o->output, strerror(errno));
		free(doc);
		return 1;
	}
	bool nl = len && doc[len - 1] != '\n';
	bool ok = fwrite(doc, 1, len, f) == len && (!nl || fputc('\n', f) != EOF);
	ok = (f == stdout ? fflush(f) == 0 : fclose(f) == 0) && ok;
	free(doc);
	if (!ok) {
		fprintf(stderr, "error: writing %s: %s\n", f == stdout ? "the output" : o->output, strerror(errno));
		return 1;
	}
	if (f != stdout)
		fprintf(stderr, "exported chat %" PRId64 " to %s\n", id, o->output);
	return 0;
}

static int h_import(hx_store *s, const struct hopts *o)
{
	if (!o->n_args) {
		fprintf(stderr, "error: import what? hearth history import FILE... ('-': standard input)\n");
		return 2;
	}
	int status = 0;
	for (int i = 0; i < o->n_args; i++) {
		const char *name = strcmp(o->args[i], "-") ? o->args[i] : "standard input";
		char *doc = NULL;
		size_t len = 0;
		int64_t id = 0;
		int rc = cli_read_input(o->args[i], IMPORT_MAX, &doc, &len);
		if (!rc)
			rc = hx_import_json(s, HX_STORE_LOCAL_USER, doc, len, &id);
		free(doc);
		if (rc) {
			status = cli_fail(name, rc);
			continue;
		}
		hx_chat ch = {0};
		if (hx_chat_get(s, HX_STORE_LOCAL_USER, id, &ch) == 0) {
			printf("imported %s as chat %" PRId64 " \"", name, id);
			put_str(stdout, ch.title, true);
			printf("\" (%" PRId64 " message%s)\n", ch.n_messages, ch.n_messages == 1 ? "" : "s");
		} else {
			printf("imported %s as chat %" PRId64 "\n", name, id);
		}
		hx_chat_clear(&ch);
	}
	return status;
}

static int h_delete(hx_store *s, const struct hopts *o)
{
	if (!o->n_args) {
		fprintf(stderr, "error: delete which chat? hearth history delete ID... (see hearth history list)\n");
		return 2;
	}
	int64_t ids[64];
	if (o->n_args > (int)HX_ARRAY_LEN(ids)) {
		fprintf(stderr, "error: at most %zu chats at a time\n", HX_ARRAY_LEN(ids));
		return 2;
	}
	for (int i = 0; i < o->n_args; i++)
		if (!parse_id(o->args[i], &ids[i]))
			return 2;
	int status = 0;
	for (int i = 0; i < o->n_args; i++) {
		hx_chat ch = {0};
		int rc = s ? hx_chat_get(s, HX_STORE_LOCAL_USER, ids[i], &ch) : HEARTH_ENOTFOUND;
		if (!rc)
			rc = hx_chat_delete(s, HX_STORE_LOCAL_USER, ids[i]);
		if (rc) {
			status = store_fail(rc, ids[i]);
		} else {
			printf("deleted chat %" PRId64 " \"", ids[i]);
			put_str(stdout, ch.title, true);
			printf("\" (%" PRId64 " message%s)\n", ch.n_messages, ch.n_messages == 1 ? "" : "s");
		}
		hx_chat_clear(&ch);
	}
	return status;
}

int cmd_history(int argc, char **argv)
{
	static const struct {
		const char *name, *alias, *options;
		bool writes;
	} subs[] = {
		{"list", "ls", "--limit --all --cursor --json", false},
		{"show", NULL, "", false},
		{"search", NULL, "--limit --offset --json", false},
		{"export", NULL, "--format -o --output", false},
		{"import", NULL, "", true},
		{"delete", "rm", "", false},
	};
	if (argc < 2 || cli_is(argv[1], "-h", "--help") || !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	size_t k;
	for (k = 0; k < HX_ARRAY_LEN(subs); k++)
		if (!strcmp(argv[1], subs[k].name) || (subs[k].alias && !strcmp(argv[1], subs[k].alias)))
			break;
	if (k == HX_ARRAY_LEN(subs)) {
		fprintf(stderr, "error: unknown history command '%s': list, show, search, export, import or delete\n",
		        argv[1]);
		return 2;
	}
	struct hopts o = {0};
	argv[1] = (char *)subs[k].name;
	int status = parse(argc - 1, argv + 1, subs[k].options, &o);
	if (status >= 0) {
		free(o.args);
		return status;
	}
	if (o.n_args > 0 && k == 0) {
		fprintf(stderr, "error: unexpected argument '%s' (see hearth history list --help)\n", o.args[0]);
		free(o.args);
		return 2;
	}
	hx_store *s = NULL;
	char *path = NULL;
	int rc = open_db(&o, subs[k].writes, &s, &path);
	if (rc && rc != HEARTH_ENOTFOUND) {
		status = cli_fail(path ? path : "history", rc);
	} else {
		switch (k) {
		case 0: status = h_list(s, path, &o); break;
		case 1: status = h_show(s, &o); break;
		case 2: status = h_search(s, &o); break;
		case 3: status = h_export(s, &o); break;
		case 4: status = h_import(s, &o); break;
		default: status = h_delete(s, &o); break;
		}
	}
	hx_store_close(s);
	free(path);
	free(o.args);
	return status;
}
