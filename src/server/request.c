/*
 * request.c - parsing and validating OpenAI-style request bodies for
 * /v1/chat/completions and /v1/completions.
 *
 * Accepted fields (anything else is ignored, as OpenAI's own server does):
 *   model (string), messages (chat: 1..1024 objects {role: string, content:
 *   string | null | [{type: "text", text: string}, ...], reasoning_content?:
 *   string}), prompt (completions: a string, or an array of token ids),
 *   stream (bool), stream_options {include_usage: bool}, max_tokens |
 *   max_completion_tokens (integer 1..2^24, null), temperature [0, 100],
 *   top_p (0, 1], top_k [0, 2^24], min_p [0, 1], seed (integer; -1 random),
 *   presence_penalty / frequency_penalty [-2, 2], repeat_penalty (0, 100],
 *   stop (string or array of at most HEARTH_STOP_MAX_N non-empty strings of at
 *   most HEARTH_STOP_MAX_LEN bytes), n (1 only), chat_template_kwargs (object).
 * A wrong type or a number out of range is a 400 naming the field.
 * Also the native API's chat params (srv_chat_params_parse), where unknown
 * fields are an error.
 */
#include "server/srvint.h"
#include "util/util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_MESSAGES 1024
#define MAX_TOKENS_FIELD (1 << 24)

static int bad(char *err, size_t errlen, const char *fmt, ...) HX_PRINTF(3, 4);
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return 400;
}

/* A number field within [lo, hi] (open ends when lo_open / hi_open). */
static int get_num(json_t *root, const char *key, double lo, double hi, bool lo_open, float *out, char *err,
                   size_t errlen)
{
	json_t *v = json_object_get(root, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v))
		return bad(err, errlen, "'%s' must be a number", key);
	double d = json_number_value(v);
	if (!isfinite(d) || d > hi || d < lo || (lo_open && d <= lo))
		return bad(err, errlen, "'%s' must be in %s%g, %g], got %g", key, lo_open ? "(" : "[", lo, hi, d);
	*out = (float)d;
	return 0;
}

static int get_int(json_t *root, const char *key, long long lo, long long hi, long long *out, bool *present,
                   char *err, size_t errlen)
{
	json_t *v = json_object_get(root, key);
	if (present)
		*present = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return bad(err, errlen, "'%s' must be an integer", key);
	long long x = json_integer_value(v);
	if (x < lo || x > hi)
		return bad(err, errlen, "'%s' must be from %lld to %lld, got %lld", key, lo, hi, x);
	*out = x;
	if (present)
		*present = true;
	return 0;
}

static int get_bool(json_t *root, const char *key, bool *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return bad(err, errlen, "'%s' must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

/* Message content: a string, null, or an array of text parts, joined. */
static int content_text(json_t *c, size_t idx, json_t **out, char *err, size_t errlen)
{
	if (!c || json_is_null(c)) {
		*out = json_string("");
		return 0;
	}
	if (json_is_string(c)) {
		*out = json_incref(c);
		return 0;
	}
	if (!json_is_array(c))
		return bad(err, errlen, "messages[%zu].content must be a string or an array of text parts", idx);
	size_t total = 0;
	for (size_t i = 0; i < json_array_size(c); i++) {
		json_t *p = json_array_get(c, i);
		json_t *type = json_object_get(p, "type"), *text = json_object_get(p, "text");
		if (!json_is_object(p) || !json_is_string(type) || strcmp(json_string_value(type), "text") != 0 ||
		    !json_is_string(text))
			return bad(err, errlen, "messages[%zu].content[%zu] must be {\"type\": \"text\", \"text\": ...}",
			           idx, i);
		total += json_string_length(text);
	}
	char *buf = hx_malloc(total + 1);
	if (!buf)
		return bad(err, errlen, "out of memory");
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(c); i++) {
		json_t *text = json_object_get(json_array_get(c, i), "text");
		memcpy(buf + n, json_string_value(text), json_string_length(text));
		n += json_string_length(text);
	}
	*out = json_stringn_nocheck(buf, n);
	free(buf);
	return *out ? 0 : bad(err, errlen, "out of memory");
}

void srv_params_clear(struct srv_params *p)
{
	json_decref(p->messages);
	json_decref(p->root);
	free(p->prompt_ids);
	memset(p, 0, sizeof *p);
}

int srv_parse_params(json_t *root, bool chat, struct srv_params *p, char *err, size_t errlen)
{
	memset(p, 0, sizeof *p);
	p->sp = hearth_sampler_default_params();
	p->chat = chat;
	if (!json_is_object(root))
		return bad(err, errlen, "the request body must be a JSON object");
	p->root = json_incref(root);
	int rc;
	json_t *v = json_object_get(root, "model");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v))
			return bad(err, errlen, "'model' must be a string");
		p->model = json_string_value(v);
	}
	if ((rc = get_bool(root, "stream", &p->stream, err, errlen)))
		return rc;
	v = json_object_get(root, "stream_options");
	if (v && !json_is_null(v)) {
		if (!json_is_object(v))
			return bad(err, errlen, "'stream_options' must be an object");
		if ((rc = get_bool(v, "include_usage", &p->include_usage, err, errlen)))
			return rc;
	}
	long long x = 0;
	bool present;
	if ((rc = get_int(root, "max_tokens", 1, MAX_TOKENS_FIELD, &x, &present, err, errlen)))
		return rc;
	if (present)
		p->max_tokens = (int32_t)x;
	if ((rc = get_int(root, "max_completion_tokens", 1, MAX_TOKENS_FIELD, &x, &present, err, errlen)))
		return rc;
	if (present)
		p->max_tokens = (int32_t)x;
	if ((rc = get_int(root, "n", 1, 1, &x, NULL, err, errlen)))
		return bad(err, errlen, "'n' must be 1: one choice per request is supported");
	if ((rc = get_num(root, "temperature", 0, 100, false, &p->sp.temperature, err, errlen)) ||
	    (rc = get_num(root, "top_p", 0, 1, true, &p->sp.top_p, err, errlen)) ||
	    (rc = get_num(root, "min_p", 0, 1, false, &p->sp.min_p, err, errlen)) ||
	    (rc = get_num(root, "presence_penalty", -2, 2, false, &p->sp.presence_penalty, err, errlen)) ||
	    (rc = get_num(root, "frequency_penalty", -2, 2, false, &p->sp.frequency_penalty, err, errlen)) ||
	    (rc = get_num(root, "repeat_penalty", 0, 100, true, &p->sp.repeat_penalty, err, errlen)))
		return rc;
	if ((rc = get_int(root, "top_k", 0, MAX_TOKENS_FIELD, &x, &present, err, errlen)))
		return rc;
	if (present)
		p->sp.top_k = (int32_t)x;
	if ((rc = get_int(root, "seed", -1, INT64_MAX, &x, &present, err, errlen)))
		return rc;
	if (present)
		p->sp.seed = x < 0 ? HEARTH_SEED_RANDOM : (uint64_t)x;

	v = json_object_get(root, "stop");
	if (json_is_string(v)) {
		p->stops[p->n_stops++] = json_string_value(v);
	} else if (json_is_array(v)) {
		if (json_array_size(v) > HEARTH_STOP_MAX_N)
			return bad(err, errlen, "'stop' has %zu strings; at most %d are allowed", json_array_size(v),
			           HEARTH_STOP_MAX_N);
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *s = json_array_get(v, i);
			if (!json_is_string(s))
				return bad(err, errlen, "'stop' must be a string or an array of strings");
			p->stops[p->n_stops++] = json_string_value(s);
		}
	} else if (v && !json_is_null(v)) {
		return bad(err, errlen, "'stop' must be a string or an array of strings");
	}
	for (size_t i = 0; i < p->n_stops; i++) {
		size_t l = strlen(p->stops[i]);
		if (l == 0 || l > HEARTH_STOP_MAX_LEN)
			return bad(err, errlen, "stop string %zu must be 1 to %d bytes long", i, HEARTH_STOP_MAX_LEN);
	}

	if (chat) {
		v = json_object_get(root, "chat_template_kwargs");
		if (v && !json_is_null(v)) {
			if (!json_is_object(v))
				return bad(err, errlen, "'chat_template_kwargs' must be an object");
			p->kwargs = v;
		}
		json_t *msgs = json_object_get(root, "messages");
		if (!json_is_array(msgs) || json_array_size(msgs) == 0)
			return bad(err, errlen, "'messages' must be a non-empty array");
		if (json_array_size(msgs) > MAX_MESSAGES)
			return bad(err, errlen, "'messages' has more than %d entries", MAX_MESSAGES);
		p->messages = json_array();
		if (!p->messages)
			return bad(err, errlen, "out of memory");
		for (size_t i = 0; i < json_array_size(msgs); i++) {
			json_t *m = json_array_get(msgs, i);
			if (!json_is_object(m))
				return bad(err, errlen, "messages[%zu] must be an object", i);
			json_t *role = json_object_get(m, "role");
			if (!json_is_string(role) || json_string_length(role) == 0 || json_string_length(role) > 64)
				return bad(err, errlen, "messages[%zu].role must be a non-empty string", i);
			json_t *content = NULL;
			if ((rc = content_text(json_object_get(m, "content"), i, &content, err, errlen)))
				return rc;
			json_t *nm = json_object();
			json_object_set(nm, "role", role);
			json_object_set_new(nm, "content", content);
			json_t *rcnt = json_object_get(m, "reasoning_content");
			if (json_is_string(rcnt))
				json_object_set(nm, "reasoning_content", rcnt);
			else if (rcnt && !json_is_null(rcnt))
				return json_decref(nm), bad(err, errlen, "messages[%zu].reasoning_content must be a string", i);
			json_array_append_new(p->messages, nm);
		}
	} else {
		v = json_object_get(root, "prompt");
		if (json_is_string(v)) {
			p->prompt = json_string_value(v);
			p->prompt_len = json_string_length(v);
			if (p->prompt_len == 0)
				return bad(err, errlen, "'prompt' is empty");
		} else if (json_is_array(v) && json_array_size(v) > 0 && json_array_size(v) <= MAX_TOKENS_FIELD) {
			size_t n = json_array_size(v);
			p->prompt_ids = hx_malloc(n * sizeof *p->prompt_ids);
			if (!p->prompt_ids)
				return bad(err, errlen, "out of memory");
			for (size_t i = 0; i < n; i++) {
				json_t *t = json_array_get(v, i);
				if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) > INT32_MAX)
					return bad(err, errlen, "prompt[%zu] must be a token id", i);
				p->prompt_ids[i] = (int32_t)json_integer_value(t);
			}
			p->n_prompt_ids = n;
		} else {
			return bad(err, errlen, "'prompt' must be a non-empty string or array of token ids");
		}
	}
	return 0;
}

int srv_check_body(const char *body, size_t len, bool chat, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return bad(err, errlen, "the body is not valid JSON: %s (at byte %d)", je.text, je.position);
	struct srv_params p;
	int rc = srv_parse_params(root, chat, &p, err, errlen);
	srv_params_clear(&p);
	json_decref(root);
	return rc;
}

json_t *srv_from_ollama(json_t *root, char *err, size_t errlen)
{
	if (!json_is_object(root)) {
		bad(err, errlen, "the request body must be a JSON object");
		return NULL;
	}
	json_t *o = json_object();
	if (!o) {
		bad(err, errlen, "out of memory");
		return NULL;
	}
	static const char *const copy[] = {"model", "messages"};
	for (size_t i = 0; i < HX_ARRAY_LEN(copy); i++) {
		json_t *v = json_object_get(root, copy[i]);
		if (v)
			json_object_set(o, copy[i], v);
	}
	json_t *stream = json_object_get(root, "stream");
	if (stream && !json_is_boolean(stream)) {
		json_decref(o);
		bad(err, errlen, "'stream' must be true or false");
		return NULL;
	}
	json_object_set_new(o, "stream", json_boolean(!stream || json_is_true(stream))); /* Ollama streams by default */
	json_t *think = json_object_get(root, "think");
	if (think && !json_is_null(think)) {
		if (!json_is_boolean(think)) {
			json_decref(o);
			bad(err, errlen, "'think' must be true or false");
			return NULL;
		}
		json_object_set_new(o, "chat_template_kwargs", json_pack("{s:O}", "enable_thinking", think));
	}
	json_t *opt = json_object_get(root, "options");
	if (opt && !json_is_null(opt)) {
		if (!json_is_object(opt)) {
			json_decref(o);
			bad(err, errlen, "'options' must be an object");
			return NULL;
		}
		static const char *const same[] = {"temperature", "top_p", "top_k", "min_p", "seed", "stop",
		                                   "repeat_penalty", "presence_penalty", "frequency_penalty"};
		for (size_t i = 0; i < HX_ARRAY_LEN(same); i++) {
			json_t *v = json_object_get(opt, same[i]);
			if (v)
				json_object_set(o, same[i], v);
		}
		json_t *np = json_object_get(opt, "num_predict");
		if (np && !json_is_null(np)) {
			if (!json_is_integer(np)) {
				json_decref(o);
				bad(err, errlen, "'options.num_predict' must be an integer");
				return NULL;
			}
			if (json_integer_value(np) != -1 && json_integer_value(np) != -2) /* -1/-2: no limit */
				json_object_set(o, "max_tokens", np);
		}
	}
	return o;
}

/* Native chat params: every field is optional; unknown fields are an error
 * (a typo must not be silently ignored). */
int srv_chat_params_parse(json_t *obj, struct srv_chat_params *p, char *err, size_t errlen)
{
	if (!obj || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return bad(err, errlen, "'params' must be an object");
	static const char *const known[] = {"temperature", "top_p", "top_k", "min_p", "max_tokens", "thinking", "seed",
	                                    "presence_penalty", "frequency_penalty", "repeat_penalty", "ignore_eos"};
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (size_t i = 0; i < HX_ARRAY_LEN(known) && !ok; i++)
			ok = strcmp(key, known[i]) == 0;
		if (!ok)
			return bad(err, errlen, "params: unknown field '%.64s'", key);
	}
	int rc;
	if ((rc = get_num(obj, "temperature", 0, 100, false, &p->sp.temperature, err, errlen)) ||
	    (rc = get_num(obj, "top_p", 0, 1, true, &p->sp.top_p, err, errlen)) ||
	    (rc = get_num(obj, "min_p", 0, 1, false, &p->sp.min_p, err, errlen)) ||
	    (rc = get_num(obj, "presence_penalty", -2, 2, false, &p->sp.presence_penalty, err, errlen)) ||
	    (rc = get_num(obj, "frequency_penalty", -2, 2, false, &p->sp.frequency_penalty, err, errlen)) ||
	    (rc = get_num(obj, "repeat_penalty", 0, 100, true, &p->sp.repeat_penalty, err, errlen)))
		return rc;
	long long x = 0;
	bool present;
	if ((rc = get_int(obj, "top_k", 0, MAX_TOKENS_FIELD, &x, &present, err, errlen)))
		return rc;
	if (present)
		p->sp.top_k = (int32_t)x;
	if ((rc = get_int(obj, "max_tokens", 1, MAX_TOKENS_FIELD, &x, &present, err, errlen)))
		return rc;
	if (present)
		p->max_tokens = (int32_t)x;
	if ((rc = get_int(obj, "seed", -1, INT64_MAX, &x, &present, err, errlen)))
		return rc;
	if (present)
		p->sp.seed = x < 0 ? HEARTH_SEED_RANDOM : (uint64_t)x;
	v = json_object_get(obj, "thinking");
	if (v && !json_is_null(v)) {
		if ((rc = get_bool(obj, "thinking", &p->thinking, err, errlen)))
			return rc;
		p->has_thinking = true;
	}
	return get_bool(obj, "ignore_eos", &p->ignore_eos, err, errlen);
}
