/*
 * store.c - the backend-independent front of the chat-history store
 * (store.h): names of roles and states, freeing, argument checks and
 * defaults, the clock, chat-list cursors, turning what a person typed into a
 * safe full-text query and the backend's raw snippets into safe HTML, and
 * titles made from a first message.  Everything else is dispatched through
 * the backend's ops table (store_int.h).
 */
#include "store/store_int.h"

#include "util/util.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

/* ---- names ---------------------------------------------------------------- */

static const char *const role_names[] = {"system", "user", "assistant"};
static const char *const status_names[] = {"complete", "streaming", "stopped", "error"};

const char *hx_role_name(int role)
{
	return role >= 0 && role < (int)HX_ARRAY_LEN(role_names) ? role_names[role] : "unknown";
}

int hx_role_parse(const char *s)
{
	for (int i = 0; s && i < (int)HX_ARRAY_LEN(role_names); i++)
		if (strcmp(s, role_names[i]) == 0)
			return i;
	return -1;
}

const char *hx_msg_status_name(int status)
{
	return status >= 0 && status < (int)HX_ARRAY_LEN(status_names) ? status_names[status] : "unknown";
}

int hx_msg_status_parse(const char *s)
{
	for (int i = 0; s && i < (int)HX_ARRAY_LEN(status_names); i++)
		if (strcmp(s, status_names[i]) == 0)
			return i;
	return -1;
}

/* ---- freeing --------------------------------------------------------------- */

void hx_chat_clear(hx_chat *c)
{
	if (!c)
		return;
	free(c->title);
	free(c->model);
	free(c->system);
	free(c->params);
	memset(c, 0, sizeof *c);
}

void hx_msg_clear(hx_msg *m)
{
	if (!m)
		return;
	free(m->content);
	free(m->reasoning);
	free(m->model);
	free(m->error);
	memset(m, 0, sizeof *m);
}

void hx_chat_list_free(hx_chat *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		hx_chat_clear(&v[i]);
	free(v);
}

void hx_msg_list_free(hx_msg *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		hx_msg_clear(&v[i]);
	free(v);
}

void hx_hit_list_free(hx_hit *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].chat_title);
		free(v[i].snippet);
	}
	free(v);
}

/* ---- shared helpers -------------------------------------------------------- */

int64_t store_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *store_dup(const char *src)
{
	return hx_strdup(src ? src : "");
}

int store_check_json_object(const char *text, const char *what)
{
	size_t len = strlen(text);
	if (len > STORE_MAX_PARAMS)
		return hx_err(HEARTH_EINVAL, "%s: %zu bytes, more than the %d allowed", what, len, STORE_MAX_PARAMS);
	json_error_t e;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
	if (!j)
		return hx_err(HEARTH_EINVAL, "%s: not valid JSON (%s at character %d)", what, e.text, e.position);
	bool obj = json_is_object(j);
	json_decref(j);
	if (!obj)
		return hx_err(HEARTH_EINVAL, "%s: must be a JSON object", what);
	return 0;
}

static int check_user(int64_t user)
{
	if (user <= 0)
		return hx_err(HEARTH_EINVAL, "store: user id %" PRId64 " is not positive", user);
	return 0;
}

static int check_store(hx_store *s)
{
	if (!s)
		return hx_err(HEARTH_EINVAL, "store: no store (NULL handle)");
	return 0;
}

/* Checks a string going in: at most `max` bytes of valid UTF-8 (SQLite's TEXT
 * and every JSON answer need it). */
static int check_len(const char *v, size_t max, const char *what)
{
	if (!v)
		return 0;
	size_t n = strlen(v);
	if (n > max)
		return hx_err(HEARTH_EINVAL, "%s: %zu bytes, more than the %zu allowed", what, n, max);
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)v, *end = p + n;
	while (p < end) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		utf8proc_int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate(p, end - p, &c);
		if (k < 0)
			return hx_err(HEARTH_EINVAL, "%s: not valid UTF-8 (at byte %zu)", what,
			              (size_t)(p - (const utf8proc_uint8_t *)v));
		p += k;
	}
	return 0;
}

/* ---- opening ------------------------------------------------------------- */

int hx_store_open(const char *path, hx_store **out)
{
	if (!out)
		return hx_err(HEARTH_EINVAL, "hx_store_open: out is NULL");
	*out = NULL;
	if (!path || !path[0])
		return hx_err(HEARTH_EINVAL, "hx_store_open: empty database path");
	/* The backend runs the recovery itself: only it knows whether another
	 * process (whose replies may really be streaming) has the file open. */
	return store_sqlite_open(path, out);
}

void hx_store_close(hx_store *s)
{
	if (s)
		s->ops->close(s);
}

int hx_store_default_path(char **out)
{
	if (!out)
		return hx_err(HEARTH_EINVAL, "hx_store_default_path: out is NULL");
	*out = NULL;
	char *d;
	int rc = hearth_data_dir_default(&d);
	if (rc)
		return rc;
	size_t n = strlen(d) + sizeof "/hearth.db";
	char *p = hx_malloc(n);
	if (p)
		snprintf(p, n, "%s/hearth.db", d);
	free(d);
	if (!p)
		return HEARTH_ENOMEM;
	*out = p;
	return 0;
}

int hx_store_recover(hx_store *s, int64_t *n_marked)
{
	int64_t n = 0;
	int rc = check_store(s);
	if (!rc)
		rc = s->ops->recover(s, STORE_INTERRUPTED, &n);
	if (n_marked)
		*n_marked = rc ? 0 : n;
	return rc;
}

int hx_store_check(hx_store *s)
{
	int rc = check_store(s);
	return rc ? rc : s->ops->check(s);
}

int hx_store_begin(hx_store *s)
{
	int rc = check_store(s);
	return rc ? rc : s->ops->begin(s);
}

int hx_store_commit(hx_store *s)
{
	int rc = check_store(s);
	return rc ? rc : s->ops->commit(s);
}

int hx_store_rollback(hx_store *s)
{
	int rc = check_store(s);
	return rc ? rc : s->ops->rollback(s);
}

int hx_user_create(hx_store *s, const char *name, int64_t *id)
{
	int rc = check_store(s);
	if (rc)
		return rc;
	size_t n = name ? strlen(name) : 0;
	if (n < 1 || n > 64)
		return hx_err(HEARTH_EINVAL, "user name: must be 1..64 bytes");
	int64_t v = 0;
	rc = s->ops->user_create(s, name, store_now_ms(), &v);
	if (!rc && id)
		*id = v;
	return rc;
}

/* ---- chats ---------------------------------------------------------------- */

/* Checks the strings of a chat going in (NULL fields are not checked). */
static int check_chat_fields(const hx_chat *c)
{
	int rc;
	if ((rc = check_len(c->title, STORE_MAX_TITLE, "chat title")) ||
	    (rc = check_len(c->model, STORE_MAX_MODEL, "chat model")) ||
	    (rc = check_len(c->system, STORE_MAX_TEXT, "chat system prompt")))
		return rc;
	if (c->params && c->params[0] && (rc = store_check_json_object(c->params, "chat params")))
		return rc;
	return 0;
}

int hx_chat_create(hx_store *s, int64_t user, const hx_chat *in, hx_chat *out)
{
	int rc;
	if (out)
		memset(out, 0, sizeof *out);
	if ((rc = check_store(s)) || (rc = check_user(user)))
		return rc;
	hx_chat c = {0};
	if (in) {
		if ((rc = check_chat_fields(in)))
			return rc;
		c = *in;
	}
	c.title = c.title && c.title[0] ? c.title : "New chat";
	c.model = c.model ? c.model : "";
	c.system = c.system ? c.system : "";
	c.params = c.params && c.params[0] ? c.params : "{}";
	int64_t now = store_now_ms();
	return s->ops->chat_create(s, user, &c, now, now, out);
}

int hx_chat_get(hx_store *s, int64_t user, int64_t id, hx_chat *out)
{
	int rc;
	if (!out)
		return hx_err(HEARTH_EINVAL, "hx_chat_get: out is NULL");
	memset(out, 0, sizeof *out);
	if ((rc = check_store(s)) || (rc = check_user(user)))
		return rc;
	if (id <= 0)
		return hx_err(HEARTH_ENOTFOUND, "no chat %" PRId64, id);
	return s->ops->chat_get(s, user, id, out);
}

/* Cursors are "<updated_ms>.<id>" of the last chat of a page: clients must
 * treat them as opaque; they are parsed strictly (plain decimal digits, no
 * sign, no leading zeros, nothing else) so a tampered one is an error, not a
 * surprise. */
static bool parse_dec(const char **p, int64_t *out)
{
	const char *q = *p;
	int64_t v = 0;
	int n = 0;
	while (*q >= '0' && *q <= '9') {
		if (n == 18)
			return false; /* keeps v < 10^18: no overflow */
		v = v * 10 + (*q - '0');
		q++;
		n++;
	}
	if (n == 0 || (n > 1 && **p == '0'))
		return false;
	*p = q;
	*out = v;
	return true;
}

static int cursor_parse(const char *c, int64_t *updated, int64_t *id)
{
	const char *p = c;
	if (!parse_dec(&p, updated) || *p++ != '.' || !parse_dec(&p, id) || *p || *id <= 0)
		return hx_err(HEARTH_EINVAL, "cursor: malformed (use the next_cursor of the previous page as is)");
	return 0;
}

int hx_chat_list(hx_store *s, int64_t user, const char *cursor, int limit, hx_chat **out, size_t *n, char **next_cursor)
{
	int rc;
	if (!out || !n || !next_cursor)
		return hx_err(HEARTH_EINVAL, "hx_chat_list: NULL output argument");
	*out = NULL;
	*n = 0;
	*next_cursor = NULL;
	if ((rc = check_store(s)) || (rc = check_user(user)))
		return rc;
	if (limit < 1 || limit > 200)
		return hx_err(HEARTH_EINVAL, "limit: %d is outside 1..200", limit);
	int64_t cu = 0, ci = 0;
	if (cursor && (rc = cursor_parse(cursor, &cu, &ci)))
		return rc;
	hx_chat *v = NULL;
	size_t nv = 0;
	bool more = false;
	rc = s->ops->chat_list(s, user, cursor == NULL, cu, ci, limit, &v, &nv, &more);
	if (rc)
		return rc;
	if (more && nv > 0) {
		char buf[64];
		snprintf(buf, sizeof buf, "%" PRId64 ".%" PRId64, v[nv - 1].updated_ms, v[nv - 1].id);
		*next_cursor = hx_strdup(buf);
		if (!*next_cursor) {
			hx_chat_list_free(v, nv);
			return HEARTH_ENOMEM;
		}
	}
	*out = v;
	*n = nv;
	return 0;
}

int hx_chat_update(hx_store *s, int64_t user, int64_t id, const hx_chat *patch, bool set_context_from)
{
	int rc;
	if ((rc = check_store(s)) || (rc = check_user(user)))
		return rc;
	if (!patch)
		return hx_err(HEARTH_EINVAL, "hx_chat_update: patch is NULL");
	if ((rc = check_chat_fields(patch)))
		return rc;
	if (set_context_from && patch->context_from < 0)
		return hx_err(HEARTH_EINVAL, "context_from: %" PRId64 " is negative", patch->context_from);
	if (id <= 0)
		return hx_err(HEARTH_ENOTFOUND, "no chat %" PRId64, id);
	hx_chat c = *patch;
	if (c.title && !c.title[0])
		c.title = "New chat";
	if (c.params && !c.params[0])
		c.params = "{}";
	return s->ops->chat_update(s, user, id, &c, set_context_from, store_now_ms());
}

int hx_chat_delete(hx_store *s, int64_t user, int64_t id)
{
	int rc;
	if ((rc = check_store(s)) || (rc = check_user(user)))
		return rc;
	if (id <= 0)
		return hx_err(HEARTH_ENOTFOUND, "no chat %" PRId64, id);
	return s->ops->chat_delete(s, user, id);
}

/* ---- messages -------------------------------------------------------------- */

/* Checks a message going in and points NULL strings at "" in *c. */
static int msg_prepare(const hx_msg *m, hx_msg *c)
{
	int rc;
	if (m->role < HX_ROLE_SYSTEM || m->role > HX_ROLE_ASSISTANT)
		return hx_err(HEARTH_EINVAL, "message role: %d is not system, user or assistant", m->role);
	if (m->status < HX_MSG_COMPLETE || m->status > HX_MSG_ERROR)
		return hx_err(HEARTH_EINVAL, "message status: %d is not a known state", m->status);
	if ((rc = check_len(m->content, STORE_MAX_TEXT, "message content")) ||
	    (rc = check_len(m->reasoning, STORE_MAX_TEXT, "message reasoning")) ||
	    (rc = check_len(m->model, STORE_MAX_MODEL, "message model")) ||
	    (rc = check_len(m->error, STORE_MAX_TITLE * 16, "message error")))
		return rc;
	if (m->n_prompt < 0 || m->n_cached < 0 || m->n_gen < 0)
		return hx_err(HEARTH_EINVAL, "message token counts must not be negative");
	*c = *m;
	c->content = c->content ? c->content : "";
	c->reasoning = c->reasoning ? c->reasoning : "";
	c->model = c->model ? c->model : "";
	c->error = c->error ? c->error : "";
	return 0;
}

int hx_msg_add(hx_store *s, int64_t user, hx_msg *m)
{
	int rc;
	if ((rc = check_store(s)) || (rc = check_user(user)))
		return rc;
	if (!m)
		return hx_err(HEARTH_EINVAL, "hx_msg_add: message is NULL");
	hx_msg c;
	if ((rc = msg_prepare(m, &c)))
		return rc;
	if (m->chat_id <= 0)
		return hx_err(HEARTH_ENOTFOUND, "no chat %" PRId64, m->chat_id);
	c.created_ms = store_now_ms();
	if ((rc = s->ops->msg_add(s, user, &c)))
		return rc;
	m->id = c.id;
	m->created_ms = c.created_ms;
	return 0;
}

int hx_msg_update(hx_store *s, int64_t user, const hx_msg *m)
{
	int rc;
	if ((rc = check_store(s)) || (rc = check_user(user)))
		return rc;
	if (!m)
		return hx_err(HEARTH_EINVAL, "hx_msg_update: message is NULL");
	hx_msg c;
	if ((rc = msg_prepare(m, &c)))
		return rc;
	if (m->id <= 0)
		return hx_err(HEARTH_ENOTFOUND, "no message %" PRId64, m->id);
	return s->ops->msg_update(s, user, &c);
}

int hx_msg_get(hx_store *s, int64_t user, int64_t id, hx_msg *out)
{
	int rc;
	if (!out)
		return hx_err(HEARTH_EINVAL, "hx_msg_get: out is NULL");
	memset(out, 0, sizeof *out);
	if ((rc = check_store(s)) || (rc = check_user(user)))
		return rc;
	if (id <= 0)
		return hx_err(HEARTH_ENOTFOUND, "no message %" PRId64, id);
	return s->ops->msg_get(s, user, id, out);
}

int hx_msg_delete(hx_store *s, int64_t user, int64_t id)
{
	int rc;
	if ((rc = check_store(s)) || (rc = check_user(user)))
		return rc;
	if (id <= 0)
		return hx_err(HEARTH_ENOTFOUND, "no message %" PRId64, id);
	return s->ops->msg_delete(s, user, id);
}

int hx_msg_list(hx_store *s, int64_t user, int64_t chat_id, int64_t before, int64_t after, int limit, hx_msg **out,
                size_t *n, bool *more)
{
	int rc;
	if (!out || !n || !more)
		return hx_err(HEARTH_EINVAL, "hx_msg_list: NULL output argument");
	*out = NULL;
	*n = 0;
	*more = false;
	if ((rc = check_store(s)) || (rc = check_user(user)))
		return rc;
	if (limit < 1 || limit > 1000)
		return hx_err(HEARTH_EINVAL, "limit: %d is outside 1..1000", limit);
	if (before < 0 || after < 0)
		return hx_err(HEARTH_EINVAL, "before/after: message ids are positive");
	if (chat_id <= 0)
		return hx_err(HEARTH_ENOTFOUND, "no chat %" PRId64, chat_id);
	return s->ops->msg_list(s, user, chat_id, before, before > 0 ? 0 : after, limit, out, n, more);
}

int hx_msg_all(hx_store *s, int64_t user, int64_t chat_id, int64_t from_id, hx_msg **out, size_t *n)
{
	int rc;
	if (!out || !n)
		return hx_err(HEARTH_EINVAL, "hx_msg_all: NULL output argument");
	*out = NULL;
	*n = 0;
	if ((rc = check_store(s)) || (rc = check_user(user)))
		return rc;
	if (chat_id <= 0)
		return hx_err(HEARTH_ENOTFOUND, "no chat %" PRId64, chat_id);
	return s->ops->msg_all(s, user, chat_id, from_id > 0 ? from_id : 0, out, n);
}

/* ---- search ---------------------------------------------------------------- */

/* Whether code point c is a token character for FTS5's unicode61 tokenizer
 * (letters, numbers, private use): a word without one matches nothing, so it
 * is left out of the query. */
static bool is_token_char(utf8proc_int32_t c)
{
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
	case UTF8PROC_CATEGORY_CO: return true;
	default: return false;
	}
}

static bool is_space_cp(utf8proc_int32_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || utf8proc_category(c) == UTF8PROC_CATEGORY_ZS;
}

/* Builds the FTS5 query for what a person typed: every whitespace-separated
 * word becomes a string ("..." with inner quotes doubled), so FTS5 sees no
 * operators, column filters, parentheses or stars; words are ANDed; the last
 * one is a prefix.  *out is "" (malloc'd) when there are no words. */
static int fts_query(const char *q, char **out)
{
	*out = NULL;
	size_t len = strlen(q);
	if (len > STORE_MAX_QUERY)
		return hx_err(HEARTH_EINVAL, "search query: %zu bytes, more than the %d allowed", len, STORE_MAX_QUERY);
	hx_sbuf b = {0};
	hx_sbuf_add(&b, "", 0);
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)q, *end = p + len;
	int n_words = 0;
	while (p < end) {
		utf8proc_int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate(p, end - p, &c);
		if (k < 0) {
			free(b.p);
			return hx_err(HEARTH_EINVAL, "search query: not valid UTF-8");
		}
		if (is_space_cp(c)) {
			p += k;
			continue;
		}
		const utf8proc_uint8_t *w = p;
		bool token = false;
		while (p < end) {
			k = utf8proc_iterate(p, end - p, &c);
			if (k < 0) {
				free(b.p);
				return hx_err(HEARTH_EINVAL, "search query: not valid UTF-8");
			}
			if (is_space_cp(c))
				break;
			token |= is_token_char(c);
			p += k;
		}
		if (!token)
			continue;
		if (++n_words > 64) {
			free(b.p);
			return hx_err(HEARTH_EINVAL, "search query: more than 64 words");
		}
		if (b.len)
			hx_sbuf_add(&b, " ", 1);
		hx_sbuf_add(&b, "\"", 1);
		for (const utf8proc_uint8_t *x = w; x < p; x++)
			hx_sbuf_add(&b, *x == '"' ? "\"\"" : (const char *)x, *x == '"' ? 2 : 1);
		hx_sbuf_add(&b, "\"", 1);
	}
	if (b.len)
		hx_sbuf_add(&b, "*", 1);
	if (b.oom) {
		free(b.p);
		return hx_err(HEARTH_ENOMEM, "out of memory");
	}
	*out = b.p;
	return 0;
}

/* The backend's snippet (matches between STORE_MARK_ON/OFF) as HTML: the text
 * escaped, the marks as <mark></mark> (balanced even if the text itself holds
 * marker bytes). */
static char *snippet_html(const char *raw)
{
	hx_sbuf b = {0};
	hx_sbuf_add(&b, "", 0);
	bool open = false;
	for (const char *p = raw; *p; p++) {
		switch (*p) {
		case '\x01':
			if (!open)
				hx_sbuf_str(&b, "<mark>");
			open = true;
			break;
		case '\x02':
			if (open)
				hx_sbuf_str(&b, "</mark>");
			open = false;
			break;
		case '&': hx_sbuf_str(&b, "&amp;"); break;
		case '<': hx_sbuf_str(&b, "&lt;"); break;
		case '>': hx_sbuf_str(&b, "&gt;"); break;
		case '"': hx_sbuf_str(&b, "&quot;"); break;
		case '\'': hx_sbuf_str(&b, "&#39;"); break;
		default: hx_sbuf_add(&b, p, 1);
		}
	}
	if (open)
		hx_sbuf_str(&b, "</mark>");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

int hx_search(hx_store *s, int64_t user, const char *query, int limit, int offset, hx_hit **out, size_t *n)
{
	int rc;
	if (!out || !n)
		return hx_err(HEARTH_EINVAL, "hx_search: NULL output argument");
	*out = NULL;
	*n = 0;
	if ((rc = check_store(s)) || (rc = check_user(user)))
		return rc;
	if (limit < 1 || limit > 100)
		return hx_err(HEARTH_EINVAL, "limit: %d is outside 1..100", limit);
	if (offset < 0)
		return hx_err(HEARTH_EINVAL, "offset: %d is negative", offset);
	char *fts;
	if ((rc = fts_query(query ? query : "", &fts)))
		return rc;
	if (!fts[0]) {
		free(fts);
		return 0;
	}
	hx_hit *v = NULL;
	size_t nv = 0;
	rc = s->ops->search(s, user, fts, limit, offset, &v, &nv);
	free(fts);
	if (rc)
		return rc;
	for (size_t i = 0; i < nv; i++) {
		char *h = snippet_html(v[i].snippet ? v[i].snippet : "");
		if (!h) {
			hx_hit_list_free(v, nv);
			return hx_err(HEARTH_ENOMEM, "out of memory");
		}
		free(v[i].snippet);
		v[i].snippet = h;
	}
	*out = v;
	*n = nv;
	return 0;
}

/* ---- titles ------------------------------------------------------------------ */

#define TITLE_MAX_CHARS 48

static bool title_alnum(int c)
{
	return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

/* Removes the line-start markdown (headings, quotes, list and task markers). */
static const char *strip_line_start(const char *p, const char *end)
{
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *q = p;
		if (q < end && *q == '#') {
			while (q < end && *q == '#')
				q++;
			if (q - p <= 6 && (q == end || *q == ' ' || *q == '\t')) {
				p = q;
				continue;
			}
		} else if (q < end && *q == '>') {
			p = q + 1;
			continue;
		} else if (q + 1 < end && (*q == '-' || *q == '*' || *q == '+') && (q[1] == ' ' || q[1] == '\t')) {
			p = q + 2;
			continue;
		} else if (q < end && *q >= '0' && *q <= '9') {
			while (q < end && *q >= '0' && *q <= '9')
				q++;
			if (q + 1 < end && (*q == '.' || *q == ')') && (q[1] == ' ' || q[1] == '\t') && q - p <= 9) {
				p = q + 2;
				continue;
			}
		} else if (end - q >= 4 && q[0] == '[' && (q[1] == ' ' || q[1] == 'x' || q[1] == 'X') && q[2] == ']' &&
		           q[3] == ' ') {
			p = q + 4;
			continue;
		}
		return p;
	}
}

/* Appends one line, cleaned: inline markdown removed (emphasis runs next to a
 * non-word character, backticks, "~~", link and image syntax keeping their
 * text), control characters and runs of whitespace as one space. */
static void clean_line(hx_sbuf *b, const char *p, const char *end)
{
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '`') {
			p++;
			continue;
		}
		if (c == '~' && p + 1 < end && p[1] == '~') {
			p += 2;
			continue;
		}
		if (c == '*' || c == '_') {
			const char *q = p;
			while (q < end && *q == (char)c)
				q++;
			int before = b->len ? (unsigned char)b->p[b->len - 1] : ' ';
			int after = q < end ? (unsigned char)*q : ' ';
			if (!title_alnum(before) || !title_alnum(after)) {
				p = q;
				continue;
			}
			hx_sbuf_add(b, p, (size_t)(q - p));
			p = q;
			continue;
		}
		if (c == '!' && p + 1 < end && p[1] == '[') {
			p++;
			continue;
		}
		if (c == '[' || c == ']') {
			/* "[text](url)": keep text, drop "(url)" */
			if (c == ']' && p + 1 < end && p[1] == '(') {
				const char *q = memchr(p + 2, ')', (size_t)(end - p - 2));
				if (q) {
					p = q + 1;
					continue;
				}
			}
			p++;
			continue;
		}
		if (c < 0x20 || c == 0x7f || c == ' ') {
			if (b->len && b->p[b->len - 1] != ' ')
				hx_sbuf_add(b, " ", 1);
			p++;
			continue;
		}
		hx_sbuf_add(b, p, 1);
		p++;
	}
}

/* Keeps only valid UTF-8 of [p, p+n), dropping bad bytes and non-characters. */
static void add_valid_utf8(hx_sbuf *b, const char *p, size_t n)
{
	const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)p, *end = u + n;
	while (u < end) {
		utf8proc_int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate(u, end - u, &c);
		if (k < 0) {
			u++;
			continue;
		}
		if (is_space_cp(c))
			hx_sbuf_add(b, " ", 1);
		else
			hx_sbuf_add(b, (const char *)u, (size_t)k);
		u += k;
	}
}

char *hx_title_from_text(const char *text)
{
	const char *p = text ? text : "";
	hx_sbuf b = {0};
	hx_sbuf_add(&b, "", 0);
	bool first = true, in_fence = false;
	while (*p && !b.oom) {
		const char *eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		const char *next = *eol ? eol + 1 : eol;
		const char *q = p;
		while (q < eol && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++;
		if (eol - q >= 3 && (strncmp(q, "```", 3) == 0 || strncmp(q, "~~~", 3) == 0)) {
			in_fence = !in_fence;
			p = next;
			continue;
		}
		if (q == eol) {
			p = next;
			continue;
		}
		if (first && !in_fence && *q == '/') {
			/* "/cmd args": the command goes, its arguments stay */
			const char *r = q + 1;
			if (r < eol && ((*r | 32) >= 'a' && (*r | 32) <= 'z')) {
				while (r < eol && (title_alnum((unsigned char)*r) || *r == '_' || *r == '-'))
					r++;
				if (r == eol || *r == ' ' || *r == '\t' || *r == '\r')
					q = r;
			}
		}
		first = false;
		/* At most 4 KiB of one line is looked at: the title needs 48 characters. */
		const char *lend = eol - q > 4096 ? q + 4096 : eol;
		hx_sbuf raw = {0};
		add_valid_utf8(&raw, q, (size_t)(lend - q));
		if (raw.oom) {
			free(raw.p);
			b.oom = true;
			break;
		}
		if (raw.p) {
			const char *s0 = in_fence ? raw.p : strip_line_start(raw.p, raw.p + raw.len);
			clean_line(&b, s0, raw.p + raw.len);
		}
		free(raw.p);
		/* trim */
		size_t st = 0;
		while (st < b.len && b.p[st] == ' ')
			st++;
		memmove(b.p, b.p + st, b.len - st + 1);
		b.len -= st;
		while (b.len && b.p[b.len - 1] == ' ')
			b.p[--b.len] = 0;
		if (b.len)
			break;
		p = next;
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	if (!b.len) {
		free(b.p);
		return hx_strdup("New chat");
	}
	/* Cut at a word boundary: at most 47 characters plus "…". */
	size_t n_chars = 0, cut = 0, last_space = 0, chars_at_space = 0;
	for (size_t i = 0; i < b.len; i++) {
		if (((unsigned char)b.p[i] & 0xC0) == 0x80)
			continue;
		if (n_chars == TITLE_MAX_CHARS - 1)
			cut = i;
		if (b.p[i] == ' ' && n_chars <= TITLE_MAX_CHARS - 1) {
			last_space = i;
			chars_at_space = n_chars;
		}
		n_chars++;
	}
	if (n_chars <= TITLE_MAX_CHARS)
		return b.p;
	size_t end = chars_at_space >= 16 ? last_space : cut;
	while (end > 0 && strchr(" ,;:.-", b.p[end - 1]))
		end--;
	b.len = end;
	b.p[end] = 0;
	hx_sbuf_str(&b, "\xE2\x80\xA6");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
