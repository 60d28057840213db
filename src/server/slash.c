/*
 * slash.c - slash commands of the native chat API (a message starting with
 * '/'): answered by the server itself in Markdown, without a model
 * (docs/native-api.md "Slash commands").
 */
#include "server/srvint.h"
#include "util/util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

/* n, or less so that s[0..n) does not end inside a UTF-8 sequence (a reply
 * that is not UTF-8 could not be sent as JSON). */
static size_t utf8_cut(const char *s, size_t n)
{
	size_t k = n;
	while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
		k--;
	return k;
}

/* Markdown-escapes text that goes into a list item or inline span. */
static void add_md(hx_sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '\n' || ch == '\r') {
			hx_sbuf_add(b, " ", 1);
			continue;
		}
		if (strchr("\\`*_[]<>#|~", ch))
			hx_sbuf_add(b, "\\", 1);
		hx_sbuf_add(b, &ch, 1);
	}
}

/* A search snippet (HTML with <mark>) as Markdown: marks become bold. */
static void add_snippet(hx_sbuf *b, const char *h)
{
	static const struct {
		const char *from, *to;
	} ent[] = {{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&#x27;", "'"}};
	while (*h) {
		if (strncmp(h, "<mark>", 6) == 0 || strncmp(h, "</mark>", 7) == 0) {
			hx_sbuf_str(b, "**");
			h += h[1] == '/' ? 7 : 6;
			continue;
		}
		bool done = false;
		for (size_t i = 0; i < HX_ARRAY_LEN(ent) && !done; i++) {
			size_t l = strlen(ent[i].from);
			if (strncmp(h, ent[i].from, l) == 0) {
				add_md(b, ent[i].to, 1);
				h += l;
				done = true;
			}
		}
		if (!done)
			add_md(b, h++, 1);
	}
}

static const char k_help[] = "Commands:\n\n"
                             "- `/help`: this list\n"
                             "- `/status`: the models, their state, slots and queue; this chat's model\n"
                             "- `/model`: this chat's model and the available ones; `/model NAME` switches to NAME\n"
                             "- `/reset`: start a fresh context (earlier messages are no longer sent to the model)\n"
                             "- `/search TERM`: past messages matching TERM\n";

static void cmd_status(struct srv *s, const hx_chat *chat, hx_sbuf *b)
{
	hx_sbuf_str(b, "**Models**\n\n");
	if (s->n_models == 0)
		hx_sbuf_str(b, "- none (start hearth serve with -m MODEL)\n");
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->n_models; i++) {
		struct srv_model *m = &s->models[i];
		hx_sbuf_str(b, "- `");
		add_md(b, m->name, strlen(m->name));
		hx_sbuf_printf(b, "`: %s", srv_model_state_name(m->state));
		if (m->state == MS_READY) {
			hearth_engine_stats es;
			hearth_engine_stats_get(m->eng, &es);
			hx_sbuf_printf(b, ", slots %d/%d busy, queue %d, context %d", es.slots_busy, es.n_slots, es.queue_len, es.n_ctx);
			if (m->recent_tps > 0)
				hx_sbuf_printf(b, ", %.1f tok/s", m->recent_tps);
		}
		hx_sbuf_str(b, "\n");
	}
	pthread_mutex_unlock(&s->mu);
	hx_sbuf_str(b, "\n**This chat**: model `");
	const char *cm = chat->model && chat->model[0] ? chat->model : s->n_models ? s->models[0].name : "none";
	add_md(b, cm, strlen(cm));
	/* the count now: with this command and its reply (chat is from before them) */
	hx_chat cur = {0};
	int64_t n = hx_chat_get(s->store, HX_STORE_LOCAL_USER, chat->id, &cur) == 0 ? cur.n_messages : chat->n_messages;
	hx_chat_clear(&cur);
	hx_sbuf_printf(b, "`, %" PRId64 " messages\n", n);
}

static char *cmd_model(struct srv *s, const hx_chat *chat, const char *arg, hx_sbuf *b, bool *is_error,
                       bool *changed)
{
	if (arg[0]) {
		struct srv_model *m = srv_find_model(s, arg);
		if (!m) {
			*is_error = true;
			hx_sbuf_str(b, "No model is named `");
			add_md(b, arg, strlen(arg));
			hx_sbuf_str(b, "`.\n\n");
		} else {
			hx_chat patch = {.model = m->name};
			int rc = hx_chat_update(s->store, HX_STORE_LOCAL_USER, chat->id, &patch, false);
			if (rc) {
				*is_error = true;
				hx_sbuf_printf(b, "Could not switch: %s\n", hearth_errmsg());
				return b->p;
			}
			*changed = true;
			hx_sbuf_str(b, "This chat now uses `");
			add_md(b, m->name, strlen(m->name));
			hx_sbuf_str(b, "`.\n");
			return b->p;
		}
	} else {
		const char *cm = chat->model && chat->model[0] ? chat->model : s->n_models ? s->models[0].name : "none";
		hx_sbuf_str(b, "This chat uses `");
		add_md(b, cm, strlen(cm));
		hx_sbuf_str(b, "`.\n\n");
	}
	hx_sbuf_str(b, "Available models:\n\n");
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->n_models; i++) {
		hx_sbuf_str(b, "- `");
		add_md(b, s->models[i].name, strlen(s->models[i].name));
		hx_sbuf_printf(b, "` (%s)\n", srv_model_state_name(s->models[i].state));
	}
	pthread_mutex_unlock(&s->mu);
	if (s->n_models == 0)
		hx_sbuf_str(b, "- none\n");
	return b->p;
}

static void cmd_search(struct srv *s, const char *arg, int64_t cmd_id, hx_sbuf *b, bool *is_error)
{
	if (!arg[0]) {
		*is_error = true;
		hx_sbuf_str(b, "Usage: `/search TERM`\n");
		return;
	}
	hx_hit *v = NULL;
	size_t n = 0;
	int rc = hx_search(s->store, HX_STORE_LOCAL_USER, arg, 11, 0, &v, &n);
	if (rc) {
		*is_error = true;
		hx_sbuf_printf(b, "Search failed: %s\n", hearth_errmsg());
		return;
	}
	size_t shown = 0;
	for (size_t i = 0; i < n && shown < 10; i++) {
		if (v[i].message_id == cmd_id) /* the command itself */
			continue;
		shown++;
		hx_sbuf_str(b, "- **");
		add_md(b, v[i].chat_title ? v[i].chat_title : "", v[i].chat_title ? strlen(v[i].chat_title) : 0);
		hx_sbuf_printf(b, "** (%s, chat %" PRId64 ", message %" PRId64 "): ", hx_role_name(v[i].role), v[i].chat_id,
		     v[i].message_id);
		add_snippet(b, v[i].snippet ? v[i].snippet : "");
		hx_sbuf_str(b, "\n");
	}
	if (shown == 0)
		hx_sbuf_str(b, "No messages match.\n");
	hx_hit_list_free(v, n);
}

char *slash_run(struct srv *s, const hx_chat *chat, const char *cmd, int64_t cmd_id, int64_t reply_id,
                bool *is_error, bool *changed)
{
	*is_error = false;
	*changed = false;
	hx_sbuf b = {0};
	const char *p = cmd + 1;
	size_t nl = 0;
	while (p[nl] && p[nl] != ' ' && p[nl] != '\t' && p[nl] != '\n')
		nl++;
	const char *arg = p + nl;
	while (*arg == ' ' || *arg == '\t' || *arg == '\n' || *arg == '\r')
		arg++;
	char a[512];
	size_t al = strlen(arg);
	while (al > 0 && (arg[al - 1] == ' ' || arg[al - 1] == '\n' || arg[al - 1] == '\r' || arg[al - 1] == '\t'))
		al--;
	al = al < sizeof a ? al : utf8_cut(arg, sizeof a - 1);
	snprintf(a, sizeof a, "%.*s", (int)al, arg);
#define IS(name) (nl == sizeof(name) - 1 && strncmp(p, name, nl) == 0)
	if (IS("help")) {
		hx_sbuf_str(&b, k_help);
	} else if (IS("status")) {
		cmd_status(s, chat, &b);
	} else if (IS("model")) {
		cmd_model(s, chat, a, &b, is_error, changed);
	} else if (IS("reset")) {
		hx_chat patch = {.context_from = reply_id + 1};
		int rc = hx_chat_update(s->store, HX_STORE_LOCAL_USER, chat->id, &patch, true);
		if (rc) {
			*is_error = true;
			hx_sbuf_printf(&b, "Could not reset: %s\n", hearth_errmsg());
		} else {
			*changed = true;
			hx_sbuf_str(&b, "Context reset: the next message starts a fresh conversation (earlier messages stay "
			            "here but are no longer sent to the model).\n");
		}
	} else if (IS("search")) {
		cmd_search(s, a, cmd_id, &b, is_error);
	} else {
		*is_error = true;
		hx_sbuf_str(&b, "Unknown command `/");
		add_md(&b, p, nl <= 64 ? nl : utf8_cut(p, 64));
		hx_sbuf_str(&b, "`, try `/help`.\n");
	}
#undef IS
	return b.p;
}
