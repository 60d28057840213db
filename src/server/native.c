/*
 * native.c - the native chat API's routes (docs/native-api.md): chats and
 * messages stored in src/store, search, export/import, and the per-chat event
 * stream (hub.c).  Generation is in reply.c.
 *
 * What it accepts: ids as decimal digits only (no sign, no leading zero, at
 * most INT64_MAX), query numbers the same way within their documented range,
 * JSON bodies with only the documented fields (anything else is 400) and
 * strings within size limits (title 500 bytes, model 256, system 256 KiB,
 * content 512 KiB).  Every response body is built with jansson.
 */
#include "server/srvint.h"
#include "server/web.h"
#include "util/util.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>

#define TITLE_MAX 500
#define MODEL_MAX 256
#define SYSTEM_MAX (256u << 10)
#define CONTENT_MAX (512u << 10)

/* ---- JSON ------------------------------------------------------------------------------ */

json_t *native_chat_json(struct srv *s, const hx_chat *c, int generating)
{
	json_error_t je;
	json_t *params = json_loads(c->params && c->params[0] ? c->params : "{}", 0, &je);
	if (!json_is_object(params)) {
		json_decref(params);
		params = json_object();
	}
	bool gen = generating < 0 ? hub_generating(s, c->id) : generating > 0;
	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:b}", "id", (json_int_t)c->id, "title",
	                 c->title ? c->title : "", "model", c->model ? c->model : "", "system", c->system ? c->system : "",
	                 "params", params, "created_at", (json_int_t)c->created_ms, "updated_at",
	                 (json_int_t)c->updated_ms, "n_messages", (json_int_t)c->n_messages, "generating", gen);
}

static json_t *render_html(const char *md)
{
	size_t n = 0;
	char *h = srv_markdown_html(md, strlen(md), &n);
	if (h) {
		json_t *j = json_stringn(h, n);
		free(h);
		return j ? j : json_string("");
	}
	char *e = srv_html_escape(md, strlen(md), &n);
	json_t *j = NULL;
	if (e) {
		size_t l = n + 8;
		char *p = hx_malloc(l);
		if (p) {
			snprintf(p, l, "<p>%s</p>", e);
			j = json_string(p);
			free(p);
		}
		free(e);
	}
	return j ? j : json_string("");
}

json_t *native_msg_json(const hx_msg *m, bool with_html)
{
	json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "id", (json_int_t)m->id, "chat_id",
	                      (json_int_t)m->chat_id, "role", hx_role_name(m->role), "content",
	                      m->content ? m->content : "", "reasoning", m->reasoning ? m->reasoning : "", "status",
	                      hx_msg_status_name(m->status), "model", m->model ? m->model : "", "error",
	                      m->error ? m->error : "", "created_at", (json_int_t)m->created_ms);
	if (!o)
		return NULL;
	if (m->role == HX_ROLE_ASSISTANT) {
		json_object_set_new(o, "stats",
		                    json_pack("{s:i, s:i, s:i, s:f, s:f, s:f, s:f}", "n_prompt", m->n_prompt, "n_cached",
		                              m->n_cached, "n_gen", m->n_gen, "ttft_ms", m->ttft_ms, "prompt_ms",
		                              m->prompt_ms, "gen_ms", m->gen_ms, "tps",
		                              m->gen_ms > 0 ? m->n_gen * 1e3 / m->gen_ms : 0.0));
		if (with_html && m->status != HX_MSG_STREAMING)
			json_object_set_new(o, "html", render_html(m->content ? m->content : ""));
	}
	return o;
}

/* ---- request helpers ---------------------------------------------------------------------- */

static int bad(struct conn *cn, struct MHD_Connection *c, const char *fmt, ...) HX_PRINTF(3, 4);
static int bad(struct conn *cn, struct MHD_Connection *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return srv_send_error(cn, c, 400, "invalid_request", msg);
}

/* The store's error as an HTTP answer. */
static int store_error(struct conn *cn, struct MHD_Connection *c, int rc)
{
	const char *m = hearth_errmsg();
	switch (rc) {
	case HEARTH_ENOTFOUND:
		return srv_send_error(cn, c, 404, "not_found", "no such chat or message");
	case HEARTH_EINVAL:
	case HEARTH_EFORMAT:
		return srv_send_error(cn, c, 400, "invalid_request", m[0] ? m : "invalid request");
	case HEARTH_ENOMEM:
		return srv_send_error(cn, c, 500, "internal", "out of memory");
	default:
		return srv_send_error(cn, c, 500, "store_error", m[0] ? m : "database error");
	}
}

/* A positive decimal id of at most 19 digits within int64, no sign or leading
 * zero; n bytes of s.  0 when malformed. */
static int64_t parse_id(const char *s, size_t n)
{
	if (n == 0 || n > 19 || s[0] == '0')
		return 0;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		if (v > (INT64_MAX - (s[i] - '0')) / 10)
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* A query argument as an integer in [lo, hi]; absent: *out = def.  Returns
 * false (with the 400 sent) when malformed. */
static bool query_int(struct conn *cn, struct MHD_Connection *c, const char *key, long long lo, long long hi,
                      long long def, long long *out, int *ret)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	*out = def;
	if (!v)
		return true;
	long long x = 0;
	size_t n = strlen(v);
	bool ok = n > 0 && n <= 19;
	for (size_t i = 0; ok && i < n; i++) {
		ok = v[i] >= '0' && v[i] <= '9' && x <= (INT64_MAX - (v[i] - '0')) / 10;
		if (ok)
			x = x * 10 + (v[i] - '0');
	}
	if (!ok || x < lo || x > hi) {
		*ret = bad(cn, c, "query parameter '%s' must be an integer from %lld to %lld", key, lo, hi);
		return false;
	}
	*out = x;
	return true;
}

/* Parses the body as a JSON object whose fields are all in `known` (NULL
 * terminated).  Returns NULL with the 400 sent. */
static json_t *body_object(struct conn *cn, struct MHD_Connection *c, const char *const *known, bool allow_empty,
                           int *ret)
{
	if (allow_empty && cn->body.len == 0)
		return json_object();
	json_error_t je;
	json_t *root = json_loadb(cn->body.p ? cn->body.p : "", cn->body.len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (strstr(je.text, "JSON_ALLOW_NUL")) /* jansson's wording names its flag */
			*ret = bad(cn, c, "strings must not contain NUL characters (\\u0000), at byte %d", je.position);
		else
			*ret = bad(cn, c, "the body is not valid JSON: %s (at byte %d)", je.text, je.position);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		*ret = bad(cn, c, "the body must be a JSON object");
		return NULL;
	}
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v) {
		bool ok = false;
		for (size_t i = 0; known[i] && !ok; i++)
			ok = strcmp(key, known[i]) == 0;
		if (!ok) {
			*ret = bad(cn, c, "unknown field '%.64s'", key);
			json_decref(root);
			return NULL;
		}
	}
	return root;
}

/* An optional string field of at most max bytes: *out borrowed, NULL when absent. */
static bool opt_str(struct conn *cn, struct MHD_Connection *c, json_t *o, const char *key, size_t max,
                    const char **out, int *ret)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v)
		return true;
	if (!json_is_string(v)) {
		*ret = bad(cn, c, "'%s' must be a string", key);
		return false;
	}
	if (json_string_length(v) > max) {
		*ret = bad(cn, c, "'%s' is longer than %zu bytes", key, max);
		return false;
	}
	if (memchr(json_string_value(v), 0, json_string_length(v))) {
		*ret = bad(cn, c, "'%s' contains a NUL character", key);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

/* Validates title/model/system/params of a create or patch body into *ch
 * (strings borrowed from o, params malloc'd into *params_out). */
static bool chat_fields(struct conn *cn, struct MHD_Connection *c, json_t *o, hx_chat *ch, char **params_out,
                        int *ret)
{
	const char *title, *model, *system;
	*params_out = NULL;
	if (!opt_str(cn, c, o, "title", TITLE_MAX, &title, ret) || !opt_str(cn, c, o, "model", MODEL_MAX, &model, ret) ||
	    !opt_str(cn, c, o, "system", SYSTEM_MAX, &system, ret))
		return false;
	if (model && model[0] && !srv_find_model(cn->srv, model)) {
		*ret = srv_send_error(cn, c, 400, "model_not_found", "no such model (GET /v1/models lists them)");
		return false;
	}
	ch->title = (char *)(title && !title[0] ? "New chat" : title);
	ch->model = (char *)model;
	ch->system = (char *)system;
	json_t *p = json_object_get(o, "params");
	if (p) {
		struct srv_chat_params cp = {.sp = hearth_sampler_default_params()};
		char err[256];
		if (srv_chat_params_parse(p, &cp, err, sizeof err) || !json_is_object(p)) {
			*ret = bad(cn, c, "%s", json_is_object(p) ? err : "'params' must be an object");
			return false;
		}
		*params_out = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
		if (!*params_out) {
			*ret = srv_send_error(cn, c, 500, "internal", "out of memory");
			return false;
		}
		ch->params = *params_out;
	}
	return true;
}

/* Sends `chat` to the chat's subscribers (if any). */
static void notify_chat(struct srv *s, int64_t chat_id, json_t *chat)
{
	struct hub *h = hub_get(s, chat_id, false);
	if (!h) {
		json_decref(chat);
		return;
	}
	hub_lock(h);
	hub_emit_locked(h, "chat", json_pack("{s:o*}", "chat", chat));
	hub_unlock(h);
	hub_put(s, h);
}

/* ---- handlers ------------------------------------------------------------------------------ */

/* True when the chat exists; otherwise false with the error (404...) sent. */
static bool chat_exists(struct conn *cn, struct MHD_Connection *c, int64_t id, int *ret)
{
	hx_chat ch = {0};
	int rc = hx_chat_get(cn->srv->store, HX_STORE_LOCAL_USER, id, &ch);
	hx_chat_clear(&ch);
	if (rc)
		*ret = store_error(cn, c, rc);
	return rc == 0;
}

static int chats_list(struct conn *cn, struct MHD_Connection *c)
{
	struct srv *s = cn->srv;
	long long limit;
	int ret;
	if (!query_int(cn, c, "limit", 1, 200, 50, &limit, &ret))
		return ret;
	const char *cursor = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
	if (cursor && (!cursor[0] || strlen(cursor) > 256))
		return bad(cn, c, "malformed cursor");
	hx_chat *v = NULL;
	size_t n = 0;
	char *next = NULL;
	int rc = hx_chat_list(s->store, HX_STORE_LOCAL_USER, cursor, (int)limit, &v, &n, &next);
	if (rc)
		return store_error(cn, c, rc);
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, native_chat_json(s, &v[i], -1));
	hx_chat_list_free(v, n);
	json_t *j = json_pack("{s:o, s:s?}", "chats", a, "next_cursor", next);
	free(next);
	if (j && !json_object_get(j, "next_cursor"))
		json_object_set_new(j, "next_cursor", json_null());
	return srv_send_json(cn, c, 200, j, NULL);
}

static int chat_create(struct conn *cn, struct MHD_Connection *c)
{
	struct srv *s = cn->srv;
	static const char *const known[] = {"title", "model", "system", "params", NULL};
	int ret;
	json_t *o = body_object(cn, c, known, true, &ret);
	if (!o)
		return ret;
	hx_chat in = {0}, out = {0};
	char *params = NULL;
	if (!chat_fields(cn, c, o, &in, &params, &ret)) {
		json_decref(o);
		return ret;
	}
	int rc = hx_chat_create(s->store, HX_STORE_LOCAL_USER, &in, &out);
	free(params);
	json_decref(o);
	if (rc)
		return store_error(cn, c, rc);
	json_t *j = native_chat_json(s, &out, 0);
	hx_chat_clear(&out);
	return srv_send_json(cn, c, 201, j, NULL);
}

static int chat_get(struct conn *cn, struct MHD_Connection *c, int64_t id)
{
	hx_chat ch = {0};
	int rc = hx_chat_get(cn->srv->store, HX_STORE_LOCAL_USER, id, &ch);
	if (rc)
		return store_error(cn, c, rc);
	json_t *j = native_chat_json(cn->srv, &ch, -1);
	hx_chat_clear(&ch);
	return srv_send_json(cn, c, 200, j, NULL);
}

static int chat_patch(struct conn *cn, struct MHD_Connection *c, int64_t id)
{
	struct srv *s = cn->srv;
	static const char *const known[] = {"title", "model", "system", "params", NULL};
	int ret;
	json_t *o = body_object(cn, c, known, false, &ret);
	if (!o)
		return ret;
	hx_chat in = {0}, out = {0};
	char *params = NULL;
	if (!chat_fields(cn, c, o, &in, &params, &ret)) {
		json_decref(o);
		return ret;
	}
	int rc = hx_chat_update(s->store, HX_STORE_LOCAL_USER, id, &in, false);
	free(params);
	json_decref(o);
	if (!rc)
		rc = hx_chat_get(s->store, HX_STORE_LOCAL_USER, id, &out);
	if (rc)
		return store_error(cn, c, rc);
	json_t *j = native_chat_json(s, &out, -1);
	hx_chat_clear(&out);
	notify_chat(s, id, json_deep_copy(j));
	return srv_send_json(cn, c, 200, j, NULL);
}

static int chat_delete(struct conn *cn, struct MHD_Connection *c, int64_t id)
{
	struct srv *s = cn->srv;
	int ret;
	if (!chat_exists(cn, c, id, &ret))
		return ret;
	/* with a hub even when nobody listens: its deleted flag stops a POST that
	 * is storing its messages right now from starting a reply */
	struct hub *h = hub_get(s, id, true);
	if (h)
		reply_stop(s, h);
	int rc = hx_chat_delete(s->store, HX_STORE_LOCAL_USER, id);
	if (h) {
		if (!rc) {
			hub_lock(h);
			hub_emit_locked(h, "chat", json_pack("{s:{s:I, s:b}}", "chat", "id", (json_int_t)id, "deleted", 1));
			hub_set_deleted_locked(h);
			hub_unlock(h);
			reply_stop(s, h); /* one that started between the first stop and the flag */
		}
		hub_put(s, h);
	}
	if (rc)
		return store_error(cn, c, rc);
	return srv_send_text(cn, c, 204, "application/json", "", 0, NULL);
}

static int messages_list(struct conn *cn, struct MHD_Connection *c, int64_t id)
{
	long long limit, before, after;
	int ret;
	if (!query_int(cn, c, "limit", 1, 1000, 100, &limit, &ret) ||
	    !query_int(cn, c, "before", 1, INT64_MAX, 0, &before, &ret) ||
	    !query_int(cn, c, "after", 1, INT64_MAX, 0, &after, &ret))
		return ret;
	if (before && after)
		return bad(cn, c, "give 'before' or 'after', not both");
	hx_msg *v = NULL;
	size_t n = 0;
	bool more = false;
	int rc = hx_msg_list(cn->srv->store, HX_STORE_LOCAL_USER, id, before, after, (int)limit, &v, &n, &more);
	if (rc)
		return store_error(cn, c, rc);
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, native_msg_json(&v[i], true));
	hx_msg_list_free(v, n);
	return srv_send_json(cn, c, 200, json_pack("{s:o, s:b}", "messages", a, "has_more", more), NULL);
}

/* POST messages (content given) or regenerate. */
static int message_post(struct conn *cn, struct MHD_Connection *c, int64_t id, bool regenerate)
{
	struct srv *s = cn->srv;
	static const char *const known_msg[] = {"content", "params", NULL};
	static const char *const known_regen[] = {"params", NULL};
	int ret;
	json_t *o = body_object(cn, c, regenerate ? known_regen : known_msg, regenerate, &ret);
	if (!o)
		return ret;
	const char *content = NULL;
	if (!regenerate) {
		if (!opt_str(cn, c, o, "content", CONTENT_MAX, &content, &ret)) {
			json_decref(o);
			return ret;
		}
		if (!content || !content[0]) {
			json_decref(o);
			return bad(cn, c, "'content' must be a non-empty string");
		}
	}
	json_t *over = json_object_get(o, "params");
	if (over) {
		struct srv_chat_params cp = {.sp = hearth_sampler_default_params()};
		char err[256];
		if (!json_is_object(over) || srv_chat_params_parse(over, &cp, err, sizeof err)) {
			json_decref(o);
			return bad(cn, c, "%s", json_is_object(over) ? err : "'params' must be an object");
		}
	}
	hx_chat ch = {0};
	int rc = hx_chat_get(s->store, HX_STORE_LOCAL_USER, id, &ch);
	if (rc) {
		json_decref(o);
		return store_error(cn, c, rc);
	}
	struct hub *h = hub_get(s, id, true);
	if (!h) {
		hx_chat_clear(&ch);
		json_decref(o);
		return srv_send_error(cn, c, 503, "shutting_down", "the server is shutting down");
	}
	json_t *resp = NULL;
	const char *code = "internal";
	char err[512] = "";
	int st = reply_post(s, h, &ch, content, over, &resp, &code, err, sizeof err);
	hub_put(s, h);
	hx_chat_clear(&ch);
	json_decref(o);
	if (st != 202)
		return srv_send_error(cn, c, st, code, err);
	return srv_send_json(cn, c, 202, resp, NULL);
}

static int chat_stop(struct conn *cn, struct MHD_Connection *c, int64_t id)
{
	struct srv *s = cn->srv;
	int ret;
	if (!chat_exists(cn, c, id, &ret))
		return ret;
	struct hub *h = hub_get(s, id, false);
	int64_t mid = h ? reply_stop(s, h) : 0;
	hub_put(s, h);
	json_t *j = json_pack("{s:b}", "stopped", mid > 0);
	if (j && mid > 0)
		json_object_set_new(j, "message_id", json_integer((json_int_t)mid));
	return srv_send_json(cn, c, 200, j, NULL);
}

static int chat_events(struct conn *cn, struct MHD_Connection *c, int64_t id)
{
	int ret;
	if (!chat_exists(cn, c, id, &ret))
		return ret;
	return hub_subscribe(cn, c, id);
}

/* A file name from a title: [A-Za-z0-9 ._-] kept, the rest '_', at most 80 bytes. */
static void file_name(const char *title, const char *ext, char *out, size_t len)
{
	char b[96];
	size_t n = 0;
	for (const char *p = title; *p && n < 80; p++) {
		char ch = *p;
		bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == ' ' ||
		          ch == '-' || ch == '_' || (ch == '.' && n > 0);
		b[n++] = ok ? ch : '_';
	}
	while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '.'))
		n--;
	b[n] = 0;
	snprintf(out, len, "attachment; filename=\"%s.%s\"", n ? b : "chat", ext);
}

static int chat_export(struct conn *cn, struct MHD_Connection *c, int64_t id)
{
	struct srv *s = cn->srv;
	const char *fmt = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
	bool md = false;
	if (fmt && strcmp(fmt, "markdown") == 0)
		md = true;
	else if (fmt && strcmp(fmt, "json") != 0)
		return bad(cn, c, "'format' must be json or markdown");
	hx_chat ch = {0};
	int rc = hx_chat_get(s->store, HX_STORE_LOCAL_USER, id, &ch);
	if (rc)
		return store_error(cn, c, rc);
	char *doc = NULL;
	size_t len = 0;
	rc = md ? hx_export_markdown(s->store, HX_STORE_LOCAL_USER, id, &doc, &len)
	        : hx_export_json(s->store, HX_STORE_LOCAL_USER, id, &doc, &len);
	if (rc) {
		hx_chat_clear(&ch);
		return store_error(cn, c, rc);
	}
	char disp[160];
	file_name(ch.title ? ch.title : "", md ? "md" : "json", disp, sizeof disp);
	hx_chat_clear(&ch);
	struct MHD_Response *r = MHD_create_response_from_buffer(len, doc, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(doc);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", md ? "text/markdown; charset=utf-8" : "application/json");
	MHD_add_response_header(r, "Content-Disposition", disp);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	srv_add_cors(cn, r);
	enum MHD_Result ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	cn->status = 200;
	return ret;
}

static int chat_import(struct conn *cn, struct MHD_Connection *c)
{
	struct srv *s = cn->srv;
	int64_t id = 0;
	if (cn->body.len == 0)
		return bad(cn, c, "the body must be a chat export (JSON)");
	int rc = hx_import_json(s->store, HX_STORE_LOCAL_USER, cn->body.p, cn->body.len, &id);
	if (rc)
		return store_error(cn, c, rc);
	hx_chat ch = {0};
	if ((rc = hx_chat_get(s->store, HX_STORE_LOCAL_USER, id, &ch)))
		return store_error(cn, c, rc);
	json_t *j = native_chat_json(s, &ch, 0);
	hx_chat_clear(&ch);
	return srv_send_json(cn, c, 201, j, NULL);
}

static int search(struct conn *cn, struct MHD_Connection *c)
{
	long long limit, offset;
	int ret;
	if (!query_int(cn, c, "limit", 1, 100, 20, &limit, &ret) ||
	    !query_int(cn, c, "offset", 0, 100000, 0, &offset, &ret))
		return ret;
	const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
	if (q && strlen(q) > 1000)
		return bad(cn, c, "'q' is longer than 1000 bytes");
	hx_hit *v = NULL;
	size_t n = 0;
	int rc = hx_search(cn->srv->store, HX_STORE_LOCAL_USER, q ? q : "", (int)limit, (int)offset, &v, &n);
	if (rc)
		return store_error(cn, c, rc);
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
		        a, json_pack("{s:I, s:s, s:I, s:s, s:s, s:I}", "chat_id", (json_int_t)v[i].chat_id, "chat_title",
		                     v[i].chat_title ? v[i].chat_title : "", "message_id", (json_int_t)v[i].message_id,
		                     "role", hx_role_name(v[i].role), "snippet", v[i].snippet ? v[i].snippet : "",
		                     "created_at", (json_int_t)v[i].created_ms));
	hx_hit_list_free(v, n);
	return srv_send_json(cn, c, 200, json_pack("{s:o}", "results", a), NULL);
}

/* ---- routing -------------------------------------------------------------------------------- */

static int method_not_allowed(struct conn *cn, struct MHD_Connection *c, const char *allowed)
{
	char m[64];
	snprintf(m, sizeof m, "use %s", allowed);
	return srv_send_error(cn, c, 405, "method_not_allowed", m);
}

int native_route(struct conn *cn, struct MHD_Connection *c, const char *method, const char *path)
{
	static const char chats[] = "/api/chats";
	bool is_search = strcmp(path, "/api/search") == 0;
	bool is_chats = strncmp(path, chats, sizeof chats - 1) == 0 &&
	                (path[sizeof chats - 1] == 0 || path[sizeof chats - 1] == '/');
	if (!is_search && !is_chats)
		return -1;
	struct srv *s = cn->srv;
	if (!s->store)
		return srv_send_error(cn, c, 503, "no_history",
		                      "chat history is off (the server was started with --no-history)");
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;
	bool patch = strcmp(method, "PATCH") == 0, del = strcmp(method, "DELETE") == 0;
	if (is_search)
		return get ? search(cn, c) : method_not_allowed(cn, c, "GET");
	const char *rest = path + sizeof chats - 1; /* "" or "/..." */
	if (!rest[0] || strcmp(rest, "/") == 0) {
		if (get)
			return chats_list(cn, c);
		if (post)
			return chat_create(cn, c);
		return method_not_allowed(cn, c, "GET or POST");
	}
	rest++;
	if (strcmp(rest, "import") == 0)
		return post ? chat_import(cn, c) : method_not_allowed(cn, c, "POST");
	const char *slash = strchr(rest, '/');
	size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
	int64_t id = parse_id(rest, idlen);
	if (!id)
		return srv_send_error(cn, c, 404, "not_found", "no such route (chat ids are positive integers)");
	const char *sub = slash ? slash + 1 : NULL;
	if (!sub) {
		if (get)
			return chat_get(cn, c, id);
		if (patch)
			return chat_patch(cn, c, id);
		if (del)
			return chat_delete(cn, c, id);
		return method_not_allowed(cn, c, "GET, PATCH or DELETE");
	}
	if (strcmp(sub, "messages") == 0) {
		if (get)
			return messages_list(cn, c, id);
		if (post)
			return message_post(cn, c, id, false);
		return method_not_allowed(cn, c, "GET or POST");
	}
	if (strcmp(sub, "regenerate") == 0)
		return post ? message_post(cn, c, id, true) : method_not_allowed(cn, c, "POST");
	if (strcmp(sub, "stop") == 0)
		return post ? chat_stop(cn, c, id) : method_not_allowed(cn, c, "POST");
	if (strcmp(sub, "events") == 0)
		return get ? chat_events(cn, c, id) : method_not_allowed(cn, c, "GET");
	if (strcmp(sub, "export") == 0)
		return get ? chat_export(cn, c, id) : method_not_allowed(cn, c, "GET");
	return srv_send_error(cn, c, 404, "not_found", "no such route");
}
