/*
 * export.c - a chat as a JSON document or as Markdown, and importing such a
 * document (or the plain {"title"?, "messages":[{role, content}]} / bare
 * array other tools write) as a new chat.  Backend-independent: built on the
 * public store calls plus the ops table for what only an import needs
 * (restoring times).
 *
 * The JSON document (version 1):
 *   {"format": "hearth-chat", "version": 1,
 *    "chat": {"title", "model", "system", "params": {...}, "created_at", "updated_at"},
 *    "messages": [{"role", "content", "reasoning"?, "model"?, "status", "error"?,
 *                  "created_at", "n_prompt"?, "n_cached"?, "n_gen"?, "ttft_ms"?,
 *                  "prompt_ms"?, "gen_ms"?}, ...]}
 * Optional fields are left out when empty or zero.  Times are ISO-8601 UTC
 * with milliseconds ("2026-11-22T17:01:18.123Z").  Reals are written with 15
 * significant digits, so export(import(export(x))) == export(x) byte for byte.
 */
#include "store/store_int.h"

#include "util/util.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT_FORMAT  "hearth-chat"
#define EXPORT_VERSION 1
#define DUMP_FLAGS     (JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))
/* A document may be larger than its text: escapes and the other fields. */
#define MAX_DOC    ((size_t)192 << 20)
#define MAX_MS     253402300799999 /* 9999-12-31T23:59:59.999Z */
#define MAX_TIMING 1e12            /* ms: 31 years */

/* ---- times ---------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* ms since the epoch (clamped to 0..MAX_MS) as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static void iso_time(int64_t ms, char buf[48])
{
	ms = ms < 0 ? 0 : ms > MAX_MS ? MAX_MS : ms;
	int64_t days = ms / 86400000, r = ms % 86400000;
	int y, mo, d;
	civil_from_days(days, &y, &mo, &d);
	snprintf(buf, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, (int)(r / 3600000), (int)(r / 60000 % 60),
	         (int)(r / 1000 % 60), (int)(r % 1000));
}

static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/* Parses "YYYY-MM-DDTHH:MM:SS[.mmm]Z" strictly (years 1970..9999). */
static bool parse_iso(const char *s, int64_t *ms)
{
	size_t n = strlen(s);
	int y, mo, d, h, mi, se, f = 0;
	if (n != 20 && n != 24)
		return false;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
	    s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &se))
		return false;
	if (n == 24 && (s[19] != '.' || !digits(s + 20, 3, &f)))
		return false;
	if (s[n - 1] != 'Z')
		return false;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 59)
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo == 2 && d == 29 && !leap)
		return false;
	*ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + (int64_t)se * 1000 + f;
	return true;
}

/* ---- export ------------------------------------------------------------------------ */

/* Sets key to a string (s must be valid UTF-8: the store checks what goes in). */
static int set_str(json_t *o, const char *key, const char *s)
{
	json_t *v = json_string(s ? s : "");
	if (!v)
		return hx_err(HEARTH_EFORMAT, "export: the stored %s is not valid UTF-8", key);
	return json_object_set_new(o, key, v) ? hx_err(HEARTH_ENOMEM, "out of memory") : 0;
}

static int set_time(json_t *o, const char *key, int64_t ms)
{
	char buf[48];
	iso_time(ms, buf);
	return set_str(o, key, buf);
}

static int set_int(json_t *o, const char *key, int64_t v)
{
	return json_object_set_new(o, key, json_integer(v)) ? hx_err(HEARTH_ENOMEM, "out of memory") : 0;
}

static int set_real(json_t *o, const char *key, double v)
{
	return json_object_set_new(o, key, json_real(v)) ? hx_err(HEARTH_ENOMEM, "out of memory") : 0;
}

static int export_msg(json_t *arr, const hx_msg *m)
{
	json_t *o = json_object();
	if (!o || json_array_append_new(arr, o))
		return hx_err(HEARTH_ENOMEM, "out of memory");
	int rc;
	if ((rc = set_str(o, "role", hx_role_name(m->role))) || (rc = set_str(o, "content", m->content)))
		return rc;
	if (m->reasoning[0] && (rc = set_str(o, "reasoning", m->reasoning)))
		return rc;
	if (m->model[0] && (rc = set_str(o, "model", m->model)))
		return rc;
	if ((rc = set_str(o, "status", hx_msg_status_name(m->status))))
		return rc;
	if (m->error[0] && (rc = set_str(o, "error", m->error)))
		return rc;
	if ((rc = set_time(o, "created_at", m->created_ms)))
		return rc;
	if ((m->n_prompt && (rc = set_int(o, "n_prompt", m->n_prompt))) ||
	    (m->n_cached && (rc = set_int(o, "n_cached", m->n_cached))) ||
	    (m->n_gen && (rc = set_int(o, "n_gen", m->n_gen))) ||
	    (m->ttft_ms != 0 && (rc = set_real(o, "ttft_ms", m->ttft_ms))) ||
	    (m->prompt_ms != 0 && (rc = set_real(o, "prompt_ms", m->prompt_ms))) ||
	    (m->gen_ms != 0 && (rc = set_real(o, "gen_ms", m->gen_ms))))
		return rc;
	return 0;
}

/* The start of an export: checks and clears the outputs, then reads the chat
 * and all its messages (both freed by the caller on success; nothing is left
 * allocated on failure). */
static int export_begin(const char *fn, hx_store *s, int64_t user, int64_t chat_id, char **out, size_t *len, hx_chat *c,
                        hx_msg **v, size_t *n)
{
	if (!out)
		return hx_err(HEARTH_EINVAL, "%s: out is NULL", fn);
	*out = NULL;
	if (len)
		*len = 0;
	int rc = hx_chat_get(s, user, chat_id, c);
	if (rc)
		return rc;
	*v = NULL;
	*n = 0;
	if ((rc = hx_msg_all(s, user, chat_id, 0, v, n))) {
		hx_chat_clear(c);
		return rc;
	}
	return 0;
}

int hx_export_json(hx_store *s, int64_t user, int64_t chat_id, char **out, size_t *len)
{
	hx_chat c;
	hx_msg *v;
	size_t n;
	int rc = export_begin("hx_export_json", s, user, chat_id, out, len, &c, &v, &n);
	if (rc)
		return rc;
	json_t *root = json_object(), *chat = json_object(), *msgs = json_array();
	json_error_t e;
	json_t *params = json_loads(c.params, JSON_DECODE_ANY, &e);
	if (!root || !chat || !msgs) {
		rc = hx_err(HEARTH_ENOMEM, "out of memory");
		goto out;
	}
	if (!json_is_object(params)) {
		rc = hx_err(HEARTH_EFORMAT, "export: chat %" PRId64 " has stored params that are not a JSON object",
		            chat_id);
		goto out;
	}
	if ((rc = set_str(root, "format", EXPORT_FORMAT)) || (rc = set_int(root, "version", EXPORT_VERSION)))
		goto out;
	if (json_object_set(root, "chat", chat)) {
		rc = hx_err(HEARTH_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = set_str(chat, "title", c.title)) || (rc = set_str(chat, "model", c.model)) ||
	    (rc = set_str(chat, "system", c.system)))
		goto out;
	if (json_object_set(chat, "params", params) || json_object_set(root, "messages", msgs)) {
		rc = hx_err(HEARTH_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = set_time(chat, "created_at", c.created_ms)) || (rc = set_time(chat, "updated_at", c.updated_ms)))
		goto out;
	for (size_t i = 0; i < n && !rc; i++)
		rc = export_msg(msgs, &v[i]);
	if (rc)
		goto out;
	char *text = json_dumps(root, JSON_INDENT(2) | DUMP_FLAGS);
	if (!text) {
		rc = hx_err(HEARTH_ENOMEM, "out of memory writing the export");
		goto out;
	}
	size_t tl = strlen(text);
	char *t2 = realloc(text, tl + 2);
	if (!t2) {
		free(text);
		rc = hx_err(HEARTH_ENOMEM, "out of memory writing the export");
		goto out;
	}
	t2[tl] = '\n';
	t2[tl + 1] = 0;
	*out = t2;
	if (len)
		*len = tl + 1;
out:
	json_decref(params);
	json_decref(msgs);
	json_decref(chat);
	json_decref(root);
	hx_msg_list_free(v, n);
	hx_chat_clear(&c);
	return rc;
}

/* ---- Markdown ---------------------------------------------------------------------- */

/* Text on one line (a title): newlines become spaces. */
static void mb_line(hx_sbuf *b, const char *s)
{
	for (; *s; s++)
		hx_sbuf_add(b, *s == '\n' || *s == '\r' ? " " : s, 1);
}

/* Every line of s prefixed with "> ". */
static void mb_quote(hx_sbuf *b, const char *s)
{
	hx_sbuf_str(b, "> ");
	for (; *s; s++) {
		hx_sbuf_add(b, s, 1);
		if (*s == '\n')
			hx_sbuf_str(b, "> ");
	}
	hx_sbuf_str(b, "\n\n");
}

int hx_export_markdown(hx_store *s, int64_t user, int64_t chat_id, char **out, size_t *len)
{
	hx_chat c;
	hx_msg *v;
	size_t n;
	int rc = export_begin("hx_export_markdown", s, user, chat_id, out, len, &c, &v, &n);
	if (rc)
		return rc;
	hx_sbuf b = {0};
	char when[48];
	iso_time(c.created_ms, when);
	when[16] = 0; /* "YYYY-MM-DDTHH:MM" */
	when[10] = ' ';
	hx_sbuf_str(&b, "# ");
	mb_line(&b, c.title);
	hx_sbuf_str(&b, "\n\n*");
	if (c.model[0]) {
		mb_line(&b, c.model);
		hx_sbuf_str(&b, " \xC2\xB7 ");
	}
	hx_sbuf_str(&b, when);
	hx_sbuf_str(&b, " UTC*\n\n");
	if (c.system[0])
		mb_quote(&b, c.system);
	for (size_t i = 0; i < n; i++) {
		const hx_msg *m = &v[i];
		hx_sbuf_str(&b, m->role == HX_ROLE_USER        ? "## User\n\n"
		                : m->role == HX_ROLE_ASSISTANT ? "## Assistant\n\n"
		                                               : "## System\n\n");
		if (m->reasoning[0]) {
			hx_sbuf_str(&b, "<details><summary>Thinking</summary>\n\n");
			hx_sbuf_str(&b, m->reasoning);
			hx_sbuf_str(&b, "\n\n</details>\n\n");
		}
		hx_sbuf_str(&b, m->content);
		hx_sbuf_str(&b, "\n\n");
		if (m->status == HX_MSG_STOPPED)
			hx_sbuf_str(&b, "*(stopped)*\n\n");
		else if (m->status == HX_MSG_STREAMING)
			hx_sbuf_str(&b, "*(still being written)*\n\n");
		if (m->error[0]) {
			hx_sbuf_str(&b, "*(error: ");
			mb_line(&b, m->error);
			hx_sbuf_str(&b, ")*\n\n");
		}
	}
	hx_msg_list_free(v, n);
	hx_chat_clear(&c);
	if (b.oom || !b.p) {
		free(b.p);
		return hx_err(HEARTH_ENOMEM, "out of memory writing the export");
	}
	*out = b.p;
	if (len)
		*len = b.len;
	return 0;
}

/* ---- import ---------------------------------------------------------------------- */

struct imp_msg {
	hx_msg m; /* strings point into the parsed document */
	bool has_time;
};

#define BAD(...) hx_err(HEARTH_EFORMAT, "import: " __VA_ARGS__)

/* Checks that object o has only the keys in `allowed` (NULL-terminated). */
static int only_keys(json_t *o, const char *const *allowed, const char *where)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(k, *a) == 0;
		if (!ok)
			return BAD("%s: unknown field \"%.64s\"", where, k);
	}
	return 0;
}

/* Optional string field: *out stays as preset when absent. */
static int get_str(json_t *o, const char *key, size_t max, const char **out, const char *where, size_t *total)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_string(v))
		return BAD("%s.%s: must be a string", where, key);
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n > max)
		return BAD("%s.%s: %zu bytes, more than the %zu allowed", where, key, n, max);
	if (strlen(s) != n)
		return BAD("%s.%s: contains a NUL character", where, key);
	if (total) {
		*total += n;
		if (*total > STORE_MAX_TEXT)
			return BAD("%s.%s: the document holds more than %zu MiB of text", where, key,
			           STORE_MAX_TEXT >> 20);
	}
	*out = s;
	return 0;
}

static int get_time(json_t *o, const char *key, int64_t *ms, bool *has, const char *where)
{
	json_t *v = json_object_get(o, key);
	*has = false;
	if (!v)
		return 0;
	if (!json_is_string(v) || !parse_iso(json_string_value(v), ms))
		return BAD("%s.%s: must be an ISO-8601 UTC time like \"2026-01-31T12:00:00.000Z\"", where, key);
	*has = true;
	return 0;
}

static int get_count(json_t *o, const char *key, int32_t *out, const char *where)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
		return BAD("%s.%s: must be an integer in 0..%d", where, key, INT32_MAX);
	*out = (int32_t)json_integer_value(v);
	return 0;
}

static int get_timing(json_t *o, const char *key, double *out, const char *where)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	double d = json_number_value(v);
	if (!json_is_number(v) || !isfinite(d) || d < 0 || d > MAX_TIMING)
		return BAD("%s.%s: must be a number of milliseconds in 0..1e12", where, key);
	*out = d;
	return 0;
}

static const char *const msg_keys[] = {"role",    "content",    "reasoning", "model",    "status",
                                       "error",   "created_at", "n_prompt",  "n_cached", "n_gen",
                                       "ttft_ms", "prompt_ms",  "gen_ms",    NULL};

static int parse_msg(json_t *o, size_t i, struct imp_msg *im, size_t *total)
{
	char where[48];
	snprintf(where, sizeof where, "messages[%zu]", i);
	memset(im, 0, sizeof *im);
	hx_msg *m = &im->m;
	m->content = m->reasoning = m->model = m->error = "";
	if (!json_is_object(o))
		return BAD("%s: must be an object", where);
	int rc = only_keys(o, msg_keys, where);
	if (rc)
		return rc;
	json_t *role = json_object_get(o, "role");
	if (!json_is_string(role))
		return BAD("%s.role: missing or not a string", where);
	if ((m->role = hx_role_parse(json_string_value(role))) < 0)
		return BAD("%s.role: \"%.32s\" is not system, user or assistant", where, json_string_value(role));
	if (!json_is_string(json_object_get(o, "content")))
		return BAD("%s.content: missing or not a string", where);
	const char *status = "complete";
	if ((rc = get_str(o, "content", STORE_MAX_TEXT, (const char **)&m->content, where, total)) ||
	    (rc = get_str(o, "reasoning", STORE_MAX_TEXT, (const char **)&m->reasoning, where, total)) ||
	    (rc = get_str(o, "model", STORE_MAX_MODEL, (const char **)&m->model, where, NULL)) ||
	    (rc = get_str(o, "error", STORE_MAX_TITLE * 16, (const char **)&m->error, where, NULL)) ||
	    (rc = get_str(o, "status", 16, &status, where, NULL)))
		return rc;
	if ((m->status = hx_msg_status_parse(status)) < 0)
		return BAD("%s.status: \"%s\" is not complete, streaming, stopped or error", where, status);
	if (m->status == HX_MSG_STREAMING) {
		/* exported while generating: it will never finish here */
		m->status = HX_MSG_ERROR;
		if (!m->error[0])
			m->error = "interrupted (exported while generating)";
	}
	if ((rc = get_time(o, "created_at", &m->created_ms, &im->has_time, where)) ||
	    (rc = get_count(o, "n_prompt", &m->n_prompt, where)) ||
	    (rc = get_count(o, "n_cached", &m->n_cached, where)) || (rc = get_count(o, "n_gen", &m->n_gen, where)) ||
	    (rc = get_timing(o, "ttft_ms", &m->ttft_ms, where)) ||
	    (rc = get_timing(o, "prompt_ms", &m->prompt_ms, where)) ||
	    (rc = get_timing(o, "gen_ms", &m->gen_ms, where)))
		return rc;
	return 0;
}

/* Everything validated, ready to write. */
struct imp {
	hx_chat chat; /* strings point into the document or `params` */
	char *params; /* compact JSON */
	int64_t created_ms, updated_ms;
	bool has_created, has_updated;
	struct imp_msg *msgs;
	size_t n_msgs;
};

static int parse_doc(json_t *root, struct imp *im)
{
	json_t *msgs = NULL, *chat = NULL;
	size_t total = 0;
	int rc;
	im->chat.title = NULL;
	im->chat.model = im->chat.system = "";
	if (json_is_array(root)) {
		msgs = root;
	} else if (json_is_object(root)) {
		json_t *fmt = json_object_get(root, "format");
		if (fmt) {
			static const char *const keys[] = {"format", "version", "chat", "messages", NULL};
			if ((rc = only_keys(root, keys, "document")))
				return rc;
			if (!json_is_string(fmt) || strcmp(json_string_value(fmt), EXPORT_FORMAT) != 0)
				return BAD("format: must be \"" EXPORT_FORMAT "\"");
			json_t *ver = json_object_get(root, "version");
			if (!json_is_integer(ver))
				return BAD("version: missing or not an integer");
			if (json_integer_value(ver) != EXPORT_VERSION)
				return BAD("version: %" JSON_INTEGER_FORMAT " is not supported (this hearth reads "
				           "version %d)",
				           json_integer_value(ver), EXPORT_VERSION);
			chat = json_object_get(root, "chat");
			if (!json_is_object(chat))
				return BAD("chat: missing or not an object");
			static const char *const ckeys[] = {"title",      "model",      "system", "params",
			                                    "created_at", "updated_at", NULL};
			if ((rc = only_keys(chat, ckeys, "chat")))
				return rc;
		} else {
			static const char *const keys[] = {"title", "model", "system", "messages", NULL};
			if ((rc = only_keys(root, keys, "document")))
				return rc;
			chat = root;
		}
		msgs = json_object_get(root, "messages");
		if (!json_is_array(msgs))
			return BAD("messages: missing or not an array");
	} else {
		return BAD("the document must be a JSON object or an array of messages");
	}
	if (chat) {
		const char *where = chat == root ? "document" : "chat";
		if ((rc = get_str(chat, "title", STORE_MAX_TITLE, (const char **)&im->chat.title, where, NULL)) ||
		    (rc = get_str(chat, "model", STORE_MAX_MODEL, (const char **)&im->chat.model, where, NULL)) ||
		    (rc = get_str(chat, "system", STORE_MAX_TEXT, (const char **)&im->chat.system, where, &total)))
			return rc;
		json_t *p = json_object_get(chat, "params");
		if (p) {
			if (!json_is_object(p))
				return BAD("chat.params: must be an object");
			im->params = json_dumps(p, JSON_COMPACT | DUMP_FLAGS);
			if (!im->params)
				return hx_err(HEARTH_ENOMEM, "out of memory");
			if (strlen(im->params) > STORE_MAX_PARAMS)
				return BAD("chat.params: more than %d bytes", STORE_MAX_PARAMS);
		}
		if ((rc = get_time(chat, "created_at", &im->created_ms, &im->has_created, where)) ||
		    (rc = get_time(chat, "updated_at", &im->updated_ms, &im->has_updated, where)))
			return rc;
	}
	size_t n = json_array_size(msgs);
	if (n > STORE_MAX_IMPORT_MESSAGES)
		return BAD("messages: %zu messages, more than the %d allowed", n, STORE_MAX_IMPORT_MESSAGES);
	if (n) {
		im->msgs = hx_calloc(n, sizeof *im->msgs);
		if (!im->msgs)
			return HEARTH_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if ((rc = parse_msg(json_array_get(msgs, i), i, &im->msgs[i], &total)))
			return rc;
		im->n_msgs++;
	}
	return 0;
}

int hx_import_json(hx_store *s, int64_t user, const char *doc, size_t len, int64_t *chat_id)
{
	if (chat_id)
		*chat_id = 0;
	if (!s || !doc)
		return hx_err(HEARTH_EINVAL, "hx_import_json: NULL store or document");
	if (user <= 0)
		return hx_err(HEARTH_EINVAL, "store: user id %" PRId64 " is not positive", user);
	if (len > MAX_DOC)
		return BAD("the document is %zu bytes, more than the %zu MiB allowed", len, MAX_DOC >> 20);
	json_error_t e;
	json_t *root = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &e);
	if (!root)
		return BAD("not valid JSON: %s (line %d, column %d)", e.text, e.line, e.column);
	struct imp im = {0};
	char *title = NULL;
	int rc = parse_doc(root, &im);
	if (rc)
		goto out;
	/* No title: made from the first user message, as for a new chat. */
	if (!im.chat.title || !im.chat.title[0]) {
		const char *first = NULL;
		for (size_t i = 0; i < im.n_msgs && !first; i++)
			if (im.msgs[i].m.role == HX_ROLE_USER)
				first = im.msgs[i].m.content;
		title = hx_title_from_text(first ? first : "");
		if (!title) {
			rc = HEARTH_ENOMEM;
			goto out;
		}
		im.chat.title = title;
	}
	im.chat.params = im.params ? im.params : "{}";
	int64_t now = store_now_ms();
	int64_t created = im.has_created ? im.created_ms : now, last = created;
	for (size_t i = 0; i < im.n_msgs; i++) {
		hx_msg *m = &im.msgs[i].m;
		if (!im.msgs[i].has_time)
			m->created_ms = im.has_created ? created : now;
		m->chat_id = 0;
		last = HX_MAX(last, m->created_ms);
	}
	int64_t updated = im.has_updated ? im.updated_ms : last;

	if ((rc = hx_store_begin(s)))
		goto out;
	hx_chat c;
	rc = s->ops->chat_create(s, user, &im.chat, created, updated, &c);
	if (!rc) {
		int64_t id = c.id;
		hx_chat_clear(&c);
		for (size_t i = 0; i < im.n_msgs && !rc; i++) {
			im.msgs[i].m.chat_id = id;
			rc = s->ops->msg_add(s, user, &im.msgs[i].m);
			if (rc)
				hx_errprefix(rc, "import: messages[%zu]: ", i);
		}
		if (!rc)
			rc = s->ops->chat_touch(s, user, id, updated);
		if (!rc && chat_id)
			*chat_id = id;
	}
	if (rc) {
		hx_store_rollback(s);
		if (chat_id)
			*chat_id = 0;
	} else if ((rc = hx_store_commit(s)) && chat_id) {
		*chat_id = 0;
	}
out:
	free(title);
	free(im.params);
	free(im.msgs);
	json_decref(root);
	return rc;
}
