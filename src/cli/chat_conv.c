/*
 * chat_conv.c - `hearth chat`'s settings table (flags, !set, !show, saved files)
 * and the conversation: messages in memory and their JSON file form for !save
 * and !load.  A loaded file is untrusted: its size, message count, every field's
 * type and every setting's range are checked before anything is replaced.
 */
#include "cli/chat.h"
#include "util/util.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static int set_err(char *err, size_t errlen, const char *fmt, ...) HX_PRINTF(3, 4);
static int set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- settings ---- */

void chat_settings_default(struct chat_settings *s)
{
	memset(s, 0, sizeof *s);
	s->sp = hearth_sampler_default_params();
	s->max_tokens = 0;
	s->think = true;
	s->hide_think = false;
}

enum pkind { P_FLOAT, P_INT, P_SEED, P_MAXTOK, P_BOOL };

struct param {
	const char *name;  /* canonical, as !set and !show spell it */
	const char *alias; /* the short flag spelling, or NULL */
	enum pkind kind;
	const char *help;
};

static const struct param k_params[] = {
	{"temperature", "temp", P_FLOAT, "randomness; 0 is greedy"},
	{"top_k", NULL, P_INT, "keep the k most likely tokens; 0 off"},
	{"top_p", NULL, P_FLOAT, "keep the most likely tokens summing to p; 1 off"},
	{"min_p", NULL, P_FLOAT, "drop tokens below p x the top probability; 0 off"},
	{"repeat_penalty", NULL, P_FLOAT, "penalize recent tokens; 1 off"},
	{"seed", NULL, P_SEED, "random seed; -1 picks one per reply"},
	{"max_tokens", "n", P_MAXTOK, "reply length limit in tokens; 0 none"},
	{"think", "thinking", P_BOOL, "let the model think first (templates that support it)"},
	{"hide_think", NULL, P_BOOL, "do not show the thinking"},
};

const char *chat_settings_names(void)
{
	return "temperature top_k top_p min_p repeat_penalty seed max_tokens think hide_think system";
}

/* Compares a user's spelling with a name, '-' matching '_', ignoring case. */
static bool name_eq(const char *user, const char *name)
{
	for (; *user && *name; user++, name++) {
		char a = *user == '-' ? '_' : *user;
		if ((a | 0x20) != (*name | 0x20) && !(a == '_' && *name == '_'))
			return false;
	}
	return !*user && !*name;
}

static const struct param *find_param(const char *name)
{
	for (size_t i = 0; i < HX_ARRAY_LEN(k_params); i++)
		if (name_eq(name, k_params[i].name) || (k_params[i].alias && name_eq(name, k_params[i].alias)))
			return &k_params[i];
	return NULL;
}

unsigned chat_settings_bit(const char *name)
{
	const struct param *p = find_param(name);
	return p ? 1u << (p - k_params) : 0;
}

void chat_settings_copy(struct chat_settings *dst, const struct chat_settings *src, unsigned mask)
{
	for (size_t i = 0; i < HX_ARRAY_LEN(k_params); i++) {
		if (!(mask & (1u << i)))
			continue;
		const char *n = k_params[i].name;
		if (!strcmp(n, "temperature"))
			dst->sp.temperature = src->sp.temperature;
		else if (!strcmp(n, "top_k"))
			dst->sp.top_k = src->sp.top_k;
		else if (!strcmp(n, "top_p"))
			dst->sp.top_p = src->sp.top_p;
		else if (!strcmp(n, "min_p"))
			dst->sp.min_p = src->sp.min_p;
		else if (!strcmp(n, "repeat_penalty"))
			dst->sp.repeat_penalty = src->sp.repeat_penalty;
		else if (!strcmp(n, "seed"))
			dst->sp.seed = src->sp.seed;
		else if (!strcmp(n, "max_tokens"))
			dst->max_tokens = src->max_tokens;
		else if (!strcmp(n, "think"))
			dst->think = src->think;
		else
			dst->hide_think = src->hide_think;
	}
}

static float *float_field(struct chat_settings *s, const char *name)
{
	if (!strcmp(name, "temperature"))
		return &s->sp.temperature;
	if (!strcmp(name, "top_p"))
		return &s->sp.top_p;
	if (!strcmp(name, "min_p"))
		return &s->sp.min_p;
	return &s->sp.repeat_penalty;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *yes[] = {"on", "true", "yes", "1"}, *no[] = {"off", "false", "no", "0"};
	for (int i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

int chat_settings_set(struct chat_settings *s, const char *name, const char *value, char *err, size_t errlen)
{
	const struct param *p = find_param(name);
	if (!p)
		return set_err(err, errlen, "unknown parameter '%s'; parameters: %s", name, chat_settings_names());
	if (!value || !value[0])
		return set_err(err, errlen, "%s needs a value", p->name);
	struct chat_settings t = *s;
	char *end;
	errno = 0;
	switch (p->kind) {
	case P_FLOAT: {
		double v = strtod(value, &end);
		if (errno || end == value || *end || !isfinite(v) || fabs(v) > 1e6)
			return set_err(err, errlen, "%s expects a number, got '%s'", p->name, value);
		*float_field(&t, p->name) = (float)v;
		break;
	}
	case P_INT: {
		long long v = strtoll(value, &end, 10);
		if (errno || end == value || *end || v < 0 || v > INT32_MAX)
			return set_err(err, errlen, "%s expects a whole number from 0 to %d, got '%s'", p->name, INT32_MAX,
				    value);
		t.sp.top_k = (int32_t)v;
		break;
	}
	case P_SEED: {
		long long v = strtoll(value, &end, 10);
		if (errno || end == value || *end || v < -1)
			return set_err(err, errlen, "seed expects -1 (random) or a whole number from 0 to %lld, got '%s'",
				    (long long)INT64_MAX, value);
		t.sp.seed = v < 0 ? HEARTH_SEED_RANDOM : (uint64_t)v;
		break;
	}
	case P_MAXTOK: {
		long long v = strtoll(value, &end, 10);
		if (errno || end == value || *end || v < -1 || v > INT32_MAX)
			return set_err(err, errlen, "max_tokens expects 0 (no limit) or a whole number up to %d, got '%s'",
				    INT32_MAX, value);
		t.max_tokens = v < 0 ? 0 : (int32_t)v;
		break;
	}
	case P_BOOL: {
		bool b;
		if (!parse_bool(value, &b))
			return set_err(err, errlen, "%s expects on or off, got '%s'", p->name, value);
		if (!strcmp(p->name, "think"))
			t.think = b;
		else
			t.hide_think = b;
		break;
	}
	}
	if (hearth_sampler_params_check(&t.sp) != 0)
		return set_err(err, errlen, "%s", hearth_errmsg());
	*s = t;
	return 0;
}

void chat_settings_print(const struct chat_settings *s, FILE *f, const char *indent)
{
	fprintf(f, "%stemperature     %g\n", indent, (double)s->sp.temperature);
	fprintf(f, "%stop_k           %" PRId32 "\n", indent, s->sp.top_k);
	fprintf(f, "%stop_p           %g\n", indent, (double)s->sp.top_p);
	fprintf(f, "%smin_p           %g\n", indent, (double)s->sp.min_p);
	fprintf(f, "%srepeat_penalty  %g\n", indent, (double)s->sp.repeat_penalty);
	if (s->sp.seed == HEARTH_SEED_RANDOM)
		fprintf(f, "%sseed            -1 (random)\n", indent);
	else
		fprintf(f, "%sseed            %" PRIu64 "\n", indent, s->sp.seed);
	if (s->max_tokens > 0)
		fprintf(f, "%smax_tokens      %" PRId32 "\n", indent, s->max_tokens);
	else
		fprintf(f, "%smax_tokens      0 (no limit)\n", indent);
	fprintf(f, "%sthink           %s\n", indent, s->think ? "on" : "off");
	fprintf(f, "%shide_think      %s\n", indent, s->hide_think ? "on" : "off");
}

/* ---- conversation ---- */

int chat_conv_add(struct chat_conv *c, const char *role, const char *content, size_t len, const char *reasoning,
                  size_t rlen)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct chat_msg *m = hx_realloc(c->msgs, cap * sizeof *m);
		if (!m)
			return HEARTH_ENOMEM;
		c->msgs = m;
		c->cap = cap;
	}
	struct chat_msg m = {hx_strdup(role), hx_strndup(content, len), reasoning ? hx_strndup(reasoning, rlen) : NULL,
	                     0};
	if (!m.role || !m.content || (reasoning && !m.reasoning)) {
		free(m.role);
		free(m.content);
		free(m.reasoning);
		return HEARTH_ENOMEM;
	}
	c->msgs[c->n++] = m;
	return 0;
}

static void msg_free(struct chat_msg *m)
{
	free(m->role);
	free(m->content);
	free(m->reasoning);
}

void chat_conv_pop(struct chat_conv *c)
{
	if (c->n)
		msg_free(&c->msgs[--c->n]);
}

void chat_conv_drop_front(struct chat_conv *c, size_t n)
{
	if (n > c->n)
		n = c->n;
	for (size_t i = 0; i < n; i++)
		msg_free(&c->msgs[i]);
	memmove(c->msgs, c->msgs + n, (c->n - n) * sizeof *c->msgs);
	c->n -= n;
}

void chat_conv_clear(struct chat_conv *c)
{
	while (c->n)
		chat_conv_pop(c);
}

int chat_conv_set_system(struct chat_conv *c, const char *text)
{
	char *s = NULL;
	if (text && text[0] && !(s = hx_strdup(text)))
		return HEARTH_ENOMEM;
	free(c->system);
	c->system = s;
	return 0;
}

void chat_conv_free(struct chat_conv *c)
{
	chat_conv_clear(c);
	free(c->msgs);
	free(c->system);
	memset(c, 0, sizeof *c);
}

/* ---- files ---- */

int chat_conv_save(const struct chat_conv *c, const struct chat_settings *s, const char *model, const char *path,
                   char *err, size_t errlen)
{
	json_t *root = json_object(), *msgs = json_array(), *set = json_object();
	int rc = -1;
	if (!root || !msgs || !set) {
		json_decref(root);
		json_decref(msgs);
		json_decref(set);
		return set_err(err, errlen, "out of memory");
	}
	json_object_set_new(root, "format", json_string("hearth-chat"));
	json_object_set_new(root, "version", json_integer(1));
	if (model)
		json_object_set_new(root, "model", json_string(model));
	json_object_set_new(root, "system", c->system ? json_string(c->system) : json_null());
	json_object_set_new(set, "temperature", json_real(s->sp.temperature));
	json_object_set_new(set, "top_k", json_integer(s->sp.top_k));
	json_object_set_new(set, "top_p", json_real(s->sp.top_p));
	json_object_set_new(set, "min_p", json_real(s->sp.min_p));
	json_object_set_new(set, "repeat_penalty", json_real(s->sp.repeat_penalty));
	json_object_set_new(set, "seed", json_integer(s->sp.seed == HEARTH_SEED_RANDOM ? -1 : (json_int_t)s->sp.seed));
	json_object_set_new(set, "max_tokens", json_integer(s->max_tokens));
	json_object_set_new(set, "think", json_boolean(s->think));
	json_object_set_new(root, "settings", set);
	for (size_t i = 0; i < c->n; i++) {
		json_t *m = json_object();
		if (!m)
			goto oom;
		json_object_set_new(m, "role", json_string(c->msgs[i].role));
		/* json_stringn keeps bytes exactly; the text is valid UTF-8 (it came
		 * from the terminal or the detokenizer), else jansson refuses it. */
		json_t *content = json_string(c->msgs[i].content);
		if (!content) {
			json_decref(m);
			json_decref(msgs);
			json_decref(root);
			return set_err(err, errlen, "message %zu is not valid UTF-8", i + 1);
		}
		json_object_set_new(m, "content", content);
		if (c->msgs[i].reasoning && c->msgs[i].reasoning[0])
			json_object_set_new(m, "reasoning", json_string(c->msgs[i].reasoning));
		json_array_append_new(msgs, m);
	}
	json_object_set_new(root, "messages", msgs);
	msgs = NULL;

	size_t pl = strlen(path);
	char *tmp = hx_malloc(pl + 16);
	if (!tmp)
		goto oom;
	snprintf(tmp, pl + 16, "%s.tmp%d", path, (int)(getpid() % 100000));
	if (json_dump_file(root, tmp, JSON_INDENT(1) | JSON_ENSURE_ASCII) != 0) {
		set_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		set_err(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
	} else {
		rc = 0;
	}
	free(tmp);
	json_decref(root);
	return rc;
oom:
	json_decref(msgs);
	json_decref(root);
	return set_err(err, errlen, "out of memory");
}

/* Reads the optional settings object into *s (all or nothing: checked as a whole). */
static int load_settings(json_t *set, struct chat_settings *s, char *err, size_t errlen)
{
	struct chat_settings t = *s;
	const char *key;
	json_t *v;
	json_object_foreach(set, key, v)
	{
		const struct param *p = find_param(key);
		if (!p || !strcmp(p->name, "hide_think"))
			continue; /* unknown keys are ignored (newer files) */
		char buf[64];
		if (json_is_boolean(v))
			snprintf(buf, sizeof buf, "%s", json_is_true(v) ? "on" : "off");
		else if (json_is_integer(v))
			snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		else if (json_is_real(v))
			snprintf(buf, sizeof buf, "%.9g", json_real_value(v));
		else
			return set_err(err, errlen, "settings.%s must be a number or a boolean", key);
		char e[256];
		if (chat_settings_set(&t, p->name, buf, e, sizeof e) != 0)
			return set_err(err, errlen, "settings: %s", e);
	}
	*s = t;
	return 0;
}

char *chat_settings_params(const struct chat_settings *s)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "temperature", json_real(s->sp.temperature));
	json_object_set_new(o, "top_k", json_integer(s->sp.top_k));
	json_object_set_new(o, "top_p", json_real(s->sp.top_p));
	json_object_set_new(o, "min_p", json_real(s->sp.min_p));
	json_object_set_new(o, "repeat_penalty", json_real(s->sp.repeat_penalty));
	if (s->sp.seed != HEARTH_SEED_RANDOM && s->sp.seed <= (uint64_t)INT64_MAX)
		json_object_set_new(o, "seed", json_integer((json_int_t)s->sp.seed));
	if (s->max_tokens > 0)
		json_object_set_new(o, "max_tokens", json_integer(s->max_tokens));
	json_object_set_new(o, "thinking", json_boolean(s->think));
	/* six digits: a float setting reads back as typed (0.8, not 0.800000011920929) */
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));
	json_decref(o);
	return text;
}

int chat_settings_from_params(struct chat_settings *s, const char *params, char *err, size_t errlen)
{
	if (!params || !params[0])
		return 0;
	json_error_t je;
	json_t *o = json_loads(params, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return set_err(err, errlen, "not a JSON object");
	}
	int rc = load_settings(o, s, err, errlen);
	json_decref(o);
	return rc;
}

int chat_conv_load(struct chat_conv *c, struct chat_settings *s, const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return set_err(err, errlen, "%s is not a regular file", path);
	if ((uint64_t)st.st_size > CHAT_FILE_MAX)
		return set_err(err, errlen, "%s is larger than %u MiB", path, CHAT_FILE_MAX >> 20);
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return set_err(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
	struct chat_conv nc = {0};
	struct chat_settings ns = *s;
	int rc = -1;
	json_t *fmt = json_object_get(root, "format"), *msgs = json_object_get(root, "messages");
	json_t *sys = json_object_get(root, "system"), *set = json_object_get(root, "settings");
	if (!json_is_object(root)) {
		set_err(err, errlen, "%s: not a JSON object", path);
		goto out;
	}
	if (fmt && (!json_is_string(fmt) || strcmp(json_string_value(fmt), "hearth-chat") != 0)) {
		set_err(err, errlen, "%s: \"format\" is not \"hearth-chat\"", path);
		goto out;
	}
	if (!json_is_array(msgs)) {
		set_err(err, errlen, "%s: \"messages\" must be an array", path);
		goto out;
	}
	if (json_array_size(msgs) > CHAT_MAX_MESSAGES) {
		set_err(err, errlen, "%s: more than %d messages", path, CHAT_MAX_MESSAGES);
		goto out;
	}
	if (sys && !json_is_null(sys) && !json_is_string(sys)) {
		set_err(err, errlen, "%s: \"system\" must be a string or null", path);
		goto out;
	}
	if (set && !json_is_object(set)) {
		set_err(err, errlen, "%s: \"settings\" must be an object", path);
		goto out;
	}
	if (set && load_settings(set, &ns, err, errlen) != 0)
		goto out;
	if (json_is_string(sys) && chat_conv_set_system(&nc, json_string_value(sys)) != 0) {
		set_err(err, errlen, "out of memory");
		goto out;
	}
	size_t i;
	json_t *m;
	json_array_foreach(msgs, i, m)
	{
		json_t *role = json_object_get(m, "role"), *content = json_object_get(m, "content");
		json_t *reasoning = json_object_get(m, "reasoning");
		if (!json_is_object(m) || !json_is_string(role) || !json_is_string(content) ||
		    (reasoning && !json_is_string(reasoning) && !json_is_null(reasoning))) {
			set_err(err, errlen, "%s: message %zu needs string \"role\" and \"content\"", path, i + 1);
			goto out;
		}
		const char *r = json_string_value(role);
		if (!strcmp(r, "system") && i == 0 && !nc.system) {
			/* an OpenAI-style list may carry the system prompt first */
			if (chat_conv_set_system(&nc, json_string_value(content)) != 0) {
				set_err(err, errlen, "out of memory");
				goto out;
			}
			continue;
		}
		if (strcmp(r, "user") != 0 && strcmp(r, "assistant") != 0) {
			set_err(err, errlen, "%s: message %zu has role \"%s\" (expected user or assistant)", path, i + 1, r);
			goto out;
		}
		if (strlen(json_string_value(content)) != json_string_length(content)) {
			set_err(err, errlen, "%s: message %zu contains a NUL character", path, i + 1);
			goto out;
		}
		const char *rs = json_is_string(reasoning) ? json_string_value(reasoning) : NULL;
		if (chat_conv_add(&nc, r, json_string_value(content), json_string_length(content), rs,
				  rs ? strlen(rs) : 0) != 0) {
			set_err(err, errlen, "out of memory");
			goto out;
		}
	}
	chat_conv_free(c);
	*c = nc;
	memset(&nc, 0, sizeof nc);
	*s = ns;
	rc = 0;
out:
	chat_conv_free(&nc);
	json_decref(root);
	return rc;
}
