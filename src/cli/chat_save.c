/*
 * chat_save.c - `hearth chat --save`: the terminal conversation recorded in the
 * history database the server uses (src/store/store.h), so `hearth history`,
 * the web UI and a later `hearth chat --chat-id N` see it.
 *
 * The chat row is created with the first message (a session that sends nothing
 * leaves no empty chat behind), titled by --title or from that message as the
 * server titles its chats.  Each user message is stored when it is sent and the
 * reply when it is done, with its status (complete, stopped by Ctrl-C, error)
 * and its statistics.  !reset moves the chat's context_from past the last
 * message, as the server's /reset does; !set keeps the chat's params and system
 * prompt in step.  Continuing a chat loads what the server would send to the
 * model: the messages from context_from on, without slash commands, the
 * server's own replies and empty or unfinished replies, consecutive messages of
 * one role joined.
 */
#include "cli/chat.h"
#include "util/util.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int chat_hist_open(struct chat_hist *h, const char *path, int64_t chat_id, const char *title)
{
	memset(h, 0, sizeof *h);
	int rc = path ? ((h->path = hx_strdup(path)) ? 0 : HEARTH_ENOMEM) : hx_store_default_path(&h->path);
	if (!rc && title && !(h->title = hx_strdup(title)))
		rc = HEARTH_ENOMEM;
	if (!rc)
		rc = hx_store_open(h->path, &h->store);
	if (!rc && chat_id > 0) {
		hx_chat c = {0};
		rc = hx_chat_get(h->store, HX_STORE_LOCAL_USER, chat_id, &c);
		if (rc == HEARTH_ENOTFOUND)
			rc = hx_err(rc, "no chat %" PRId64 " in %s — list them with `hearth history list`", chat_id, h->path);
		if (!rc)
			h->chat_id = chat_id;
		hx_chat_clear(&c);
		if (!rc && title) { /* --title with --chat-id renames the chat */
			hx_chat patch = {0};
			patch.title = (char *)title;
			rc = hx_chat_update(h->store, HX_STORE_LOCAL_USER, chat_id, &patch, false);
		}
	}
	if (rc)
		chat_hist_close(h);
	return rc;
}

void chat_hist_close(struct chat_hist *h)
{
	hx_store_close(h->store);
	free(h->path);
	free(h->title);
	free(h->model);
	memset(h, 0, sizeof *h);
}

/* Appends a stored message to the conversation, joining it to the previous one
 * when both have the same role (a user message whose reply failed). */
static int load_msg(struct chat_conv *c, const hx_msg *m)
{
	const char *role = m->role == HX_ROLE_USER ? "user" : "assistant";
	const char *text = m->content ? m->content : "";
	if (c->n && !strcmp(c->msgs[c->n - 1].role, role)) {
		struct chat_msg *last = &c->msgs[c->n - 1];
		size_t a = strlen(last->content), b = strlen(text);
		char *j = hx_realloc(last->content, a + b + 3);
		if (!j)
			return HEARTH_ENOMEM;
		memcpy(j + a, "\n\n", 2);
		memcpy(j + a + 2, text, b + 1);
		last->content = j;
		last->id = m->id;
		return 0;
	}
	const char *r = m->reasoning && m->reasoning[0] ? m->reasoning : NULL;
	int rc = chat_conv_add(c, role, text, strlen(text), r, r ? strlen(r) : 0);
	if (!rc)
		c->msgs[c->n - 1].id = m->id;
	return rc;
}

int chat_hist_load(struct chat_hist *h, struct chat_conv *conv, struct chat_settings *set, char **model,
                   size_t *n_skipped)
{
	hx_chat c = {0};
	hx_msg *v = NULL;
	size_t n = 0, skipped = 0;
	struct chat_conv nc = {0};
	struct chat_settings ns = *set;
	char err[256];
	*model = NULL;
	int rc = hx_chat_get(h->store, HX_STORE_LOCAL_USER, h->chat_id, &c);
	if (!rc)
		rc = hx_msg_all(h->store, HX_STORE_LOCAL_USER, h->chat_id, 0, &v, &n);
	if (rc)
		goto out;
	if (chat_settings_from_params(&ns, c.params, err, sizeof err) != 0) {
		rc = hx_err(HEARTH_EFORMAT, "chat %" PRId64 ": params: %s", h->chat_id, err);
		goto out;
	}
	if (chat_conv_set_system(&nc, c.system) != 0) {
		rc = HEARTH_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const hx_msg *m = &v[i];
		h->last_id = HX_MAX(h->last_id, m->id);
		if (m->id < c.context_from)
			continue;
		const char *text = m->content ? m->content : "";
		bool keep = m->role == HX_ROLE_USER ? text[0] != '/'
		          : m->role == HX_ROLE_ASSISTANT
		                  ? text[0] && m->status != HX_MSG_STREAMING && strcmp(m->model ? m->model : "", "hearth")
		                  : false;
		if (!keep) {
			skipped++;
			continue;
		}
		if ((rc = load_msg(&nc, m)))
			goto out;
	}
	if (c.model && c.model[0] && !(*model = hx_strdup(c.model))) {
		rc = HEARTH_ENOMEM;
		goto out;
	}
	chat_conv_free(conv);
	*conv = nc;
	memset(&nc, 0, sizeof nc);
	*set = ns;
	if (n_skipped)
		*n_skipped = skipped;
out:
	chat_conv_free(&nc);
	hx_msg_list_free(v, n);
	hx_chat_clear(&c);
	return rc;
}

/* Creates the chat on its first message. */
static int ensure_chat(struct chat_hist *h, const struct chat_conv *conv, const struct chat_settings *set,
                       const char *first_text)
{
	if (h->chat_id)
		return 0;
	char *params = chat_settings_params(set);
	char *title = h->title ? NULL : hx_title_from_text(first_text);
	if (!params || (!h->title && !title)) {
		free(params);
		free(title);
		return HEARTH_ENOMEM;
	}
	hx_chat in = {0}, out = {0};
	in.title = h->title ? h->title : title;
	in.model = h->model;
	in.system = conv->system;
	in.params = params;
	int rc = hx_chat_create(h->store, HX_STORE_LOCAL_USER, &in, &out);
	if (!rc)
		h->chat_id = out.id;
	hx_chat_clear(&out);
	free(params);
	free(title);
	return rc;
}

int chat_hist_user(struct chat_hist *h, const struct chat_conv *conv, const struct chat_settings *set,
                   const char *text, int64_t *id)
{
	*id = 0;
	int rc = ensure_chat(h, conv, set, text);
	if (rc)
		return rc;
	hx_msg m = {0};
	m.chat_id = h->chat_id;
	m.role = HX_ROLE_USER;
	m.status = HX_MSG_COMPLETE;
	m.content = (char *)text;
	if ((rc = hx_msg_add(h->store, HX_STORE_LOCAL_USER, &m)))
		return rc;
	*id = m.id;
	h->last_id = HX_MAX(h->last_id, m.id);
	return 0;
}

int chat_hist_reply(struct chat_hist *h, const char *content, const char *reasoning, int status, const char *error,
                    const hearth_gen_stats *st, int64_t *id)
{
	*id = 0;
	if (!h->chat_id)
		return 0; /* nothing was asked: no chat to answer in */
	hx_msg m = {0};
	m.chat_id = h->chat_id;
	m.role = HX_ROLE_ASSISTANT;
	m.status = status;
	m.content = (char *)(content ? content : "");
	m.reasoning = (char *)(reasoning ? reasoning : "");
	m.model = h->model;
	m.error = (char *)(error ? error : "");
	if (st) {
		m.n_prompt = st->n_prompt;
		m.n_cached = st->n_cached;
		m.n_gen = st->n_gen;
		m.ttft_ms = st->ttft_ms;
		m.prompt_ms = st->prompt_ms;
		m.gen_ms = st->gen_ms;
	}
	int rc = hx_msg_add(h->store, HX_STORE_LOCAL_USER, &m);
	if (rc)
		return rc;
	*id = m.id;
	h->last_id = HX_MAX(h->last_id, m.id);
	return 0;
}

int chat_hist_reset(struct chat_hist *h)
{
	if (!h->chat_id || !h->last_id)
		return 0;
	hx_chat patch = {0};
	patch.context_from = h->last_id + 1;
	return hx_chat_update(h->store, HX_STORE_LOCAL_USER, h->chat_id, &patch, true);
}

int chat_hist_delete(struct chat_hist *h, int64_t id)
{
	if (!h->chat_id || id <= 0)
		return 0;
	int rc = hx_msg_delete(h->store, HX_STORE_LOCAL_USER, id);
	return rc == HEARTH_ENOTFOUND ? 0 : rc; /* deleted meanwhile (the web UI) */
}

int chat_hist_settings(struct chat_hist *h, const struct chat_conv *conv, const struct chat_settings *set)
{
	if (!h->chat_id)
		return 0;
	char *params = chat_settings_params(set);
	if (!params)
		return HEARTH_ENOMEM;
	hx_chat patch = {0};
	patch.system = conv->system ? conv->system : "";
	patch.params = params;
	int rc = hx_chat_update(h->store, HX_STORE_LOCAL_USER, h->chat_id, &patch, false);
	free(params);
	return rc;
}
