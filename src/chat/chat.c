/*
 * chat.c - the public chat-template API: parse a template once, render it for a
 * conversation given as JSON, with hard limits (see hearth.h).
 *
 * A parsed template (tokens, tree, literal strings) lives in its own arena and is
 * never modified by rendering, so one template may be rendered from several
 * threads at once.  Each render gets a fresh arena bounded by max_memory; the
 * interpreter's failures longjmp back here, where that arena is dropped.
 */
#include "chat/chat.h"
#include "chat/jinja.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define CHAT_MAX_TEMPLATE (4u << 20) /* bytes of template source */

struct hearth_chat_template {
	jarena arena;
	jnode *root;
	hearth_chat_limits lim;
	char name[128];
};

hearth_chat_limits hearth_chat_default_limits(void)
{
	hearth_chat_limits l;
	l.max_output = 16u << 20;
	l.max_memory = 256u << 20;
	l.max_steps = 20000000;
	l.max_call_depth = 32;
	l.max_nesting = 64;
	l.max_range = 100000;
	return l;
}

static hearth_chat_limits fill_limits(const hearth_chat_limits *in)
{
	hearth_chat_limits d = hearth_chat_default_limits();
	if (!in)
		return d;
	hearth_chat_limits l = *in;
	if (!l.max_output)
		l.max_output = d.max_output;
	if (!l.max_memory)
		l.max_memory = d.max_memory;
	if (!l.max_steps)
		l.max_steps = d.max_steps;
	if (l.max_call_depth <= 0)
		l.max_call_depth = d.max_call_depth;
	if (l.max_nesting <= 0)
		l.max_nesting = d.max_nesting;
	if (l.max_nesting > 512)
		l.max_nesting = 512;
	if (l.max_call_depth > 256)
		l.max_call_depth = 256;
	if (l.max_range <= 0)
		l.max_range = d.max_range;
	return l;
}

struct parse_state {
	jfail fail;
	jarena arena;
	jvm vm;
	jtoks toks;
};

int hearth_chat_template_parse(const char *src, size_t len, const char *name, const hearth_chat_limits *limits,
                               hearth_chat_template **out)
{
	if (!out || (!src && len))
		return hx_err(HEARTH_EINVAL, "chat template: invalid arguments");
	*out = NULL;
	if (!name)
		name = "template";
	if (len > CHAT_MAX_TEMPLATE)
		return hx_err(HEARTH_ELIMIT, "%s: template is %zu bytes (limit %u)", name, len, CHAT_MAX_TEMPLATE);
	hearth_chat_template *t = hx_calloc(1, sizeof *t);
	struct parse_state *st = hx_calloc(1, sizeof *st);
	if (!t || !st) {
		free(t);
		free(st);
		return HEARTH_ENOMEM;
	}
	t->lim = fill_limits(limits);
	snprintf(t->name, sizeof t->name, "%s", name);
	st->fail.name = t->name;
	st->arena.limit = HX_MAX((size_t)64 << 20, len * 64);
	st->vm.arena = &st->arena;
	st->vm.fail = &st->fail;
	st->vm.max_steps = 0;
	int rc = setjmp(st->fail.jb);
	if (rc != 0) {
		ja_free(&st->arena);
		free(st);
		free(t);
		return rc;
	}
	jx_lex(&st->vm, src ? src : "", len, &st->toks);
	/* Unknown filters and tests are reported when (and if) they run, as Jinja2
	 * 3.x does: templates may name filters in branches that never execute. */
	t->root = jx_parse(&st->vm, &st->toks, t->lim.max_nesting);
	t->arena = st->arena;
	free(st);
	*out = t;
	return HEARTH_OK;
}

void hearth_chat_template_free(hearth_chat_template *t)
{
	if (!t)
		return;
	ja_free(&t->arena);
	free(t);
}

struct render_state {
	jfail fail;
	jarena arena;
	jvm vm;
	json_t *msgs, *kw;
	jx_var *vars;
};

static int load_json(const char *text, const char *what, json_t **out)
{
	json_error_t e;
	*out = json_loads(text, JSON_DECODE_ANY, &e);
	if (!*out)
		return hx_err(HEARTH_EINVAL, "%s: invalid JSON at line %d, column %d: %s", what, e.line, e.column, e.text);
	return 0;
}

int hearth_chat_template_render(const hearth_chat_template *t, const char *messages_json, const char *kwargs_json,
                                bool add_generation_prompt, const char *bos_token, const char *eos_token,
                                char **out, size_t *out_len)
{
	if (!t || !messages_json || !out)
		return hx_err(HEARTH_EINVAL, "chat template render: invalid arguments");
	*out = NULL;
	if (out_len)
		*out_len = 0;
	struct render_state *st = hx_calloc(1, sizeof *st);
	if (!st)
		return HEARTH_ENOMEM;
	int rc = load_json(messages_json, "messages", &st->msgs);
	if (rc == 0 && !json_is_array(st->msgs))
		rc = hx_err(HEARTH_EINVAL, "messages: expected a JSON array of message objects");
	if (rc == 0 && kwargs_json) {
		rc = load_json(kwargs_json, "template kwargs", &st->kw);
		if (rc == 0 && !json_is_object(st->kw))
			rc = hx_err(HEARTH_EINVAL, "template kwargs: expected a JSON object");
	}
	if (rc != 0) {
		json_decref(st->msgs);
		json_decref(st->kw);
		free(st);
		return rc;
	}
	st->fail.name = t->name;
	st->arena.limit = t->lim.max_memory;
	st->vm.arena = &st->arena;
	st->vm.fail = &st->fail;
	st->vm.max_steps = t->lim.max_steps;
	rc = setjmp(st->fail.jb);
	if (rc != 0) {
		json_decref(st->msgs);
		json_decref(st->kw);
		ja_free(&st->arena);
		free(st);
		return rc;
	}
	size_t n_kw = st->kw ? json_object_size(st->kw) : 0;
	st->vars = ja_alloc(&st->arena, &st->fail, (n_kw + 4) * sizeof *st->vars);
	size_t nv = 0;
	st->vars[nv].name = "messages";
	st->vars[nv++].value = jv_from_json(&st->vm, st->msgs, 0);
	st->vars[nv].name = "add_generation_prompt";
	st->vars[nv++].value = jv_bool(add_generation_prompt);
	st->vars[nv].name = "bos_token";
	st->vars[nv++].value = jv_cstr(&st->vm, bos_token ? bos_token : "");
	st->vars[nv].name = "eos_token";
	st->vars[nv++].value = jv_cstr(&st->vm, eos_token ? eos_token : "");
	if (st->kw) {
		const char *key;
		json_t *val;
		json_object_foreach(st->kw, key, val) {
			st->vars[nv].name = jstr_new(&st->vm, key, strlen(key))->p;
			st->vars[nv++].value = jv_from_json(&st->vm, val, 0);
		}
	}
	json_decref(st->msgs);
	json_decref(st->kw);
	st->msgs = st->kw = NULL;
	jx_limits lim = {
		.max_output = t->lim.max_output,
		.max_memory = t->lim.max_memory,
		.max_steps = t->lim.max_steps,
		.max_call_depth = t->lim.max_call_depth,
		.max_nesting = t->lim.max_nesting,
		.max_range = t->lim.max_range,
	};
	jbuf buf = {0};
	jx_render(&st->vm, t->root, &lim, st->vars, nv, &buf);
	char *res = malloc(buf.n + 1);
	if (!res) {
		ja_free(&st->arena);
		free(st);
		return hx_err(HEARTH_ENOMEM, "out of memory");
	}
	if (buf.n)
		memcpy(res, buf.p, buf.n);
	res[buf.n] = 0;
	ja_free(&st->arena);
	free(st);
	*out = res;
	if (out_len)
		*out_len = buf.n;
	return HEARTH_OK;
}

int hearth_chat_render(const char *tmpl, size_t tmpl_len, const char *messages_json, const char *kwargs_json,
                       bool add_generation_prompt, const char *bos_token, const char *eos_token, char **out,
                       size_t *out_len)
{
	hearth_chat_template *t;
	int rc = hearth_chat_template_parse(tmpl, tmpl_len, NULL, NULL, &t);
	if (rc)
		return rc;
	rc = hearth_chat_template_render(t, messages_json, kwargs_json, add_generation_prompt, bos_token, eos_token,
	                                 out, out_len);
	hearth_chat_template_free(t);
	return rc;
}
