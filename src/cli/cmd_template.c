/*
 * cmd_template.c - `hearth template`: render a chat template from the shell.
 *
 *   hearth template (-m MODEL | --template FILE.jinja | --builtin NAME)
 *                   --messages FILE.json [--add-generation-prompt]
 *                   [--kwargs JSON] [--bos TEXT] [--eos TEXT]
 *
 * With -m, the template is the GGUF's tokenizer.chat_template (or, when the file
 * has none, the built-in template detected from its vocabulary), and bos/eos
 * default to the vocabulary's own token strings.  The rendered prompt is written
 * exactly, with no newline added.
 */
#include "cli/cli.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: hearth template (-m MODEL | --template FILE.jinja | --builtin NAME) --messages FILE.json\n"
	           "                       [--add-generation-prompt] [--kwargs JSON] [--bos TEXT] [--eos TEXT]\n\n"
	           "Renders a conversation with a chat template and prints the prompt exactly (no\n"
	           "newline is added).\n\n"
	           "  -m, --model FILE         use the GGUF's tokenizer.chat_template (or the built-in\n"
	           "                           template its vocabulary calls for when it has none);\n"
	           "                           bos/eos default to the vocabulary's tokens\n"
	           "  -t, --template FILE      a Jinja template file\n"
	           "  --builtin NAME           a built-in template: chatml, llama2, llama3, zephyr, gemma\n"
	           "  --messages FILE          JSON array of {\"role\", \"content\", ...} ('-': stdin)\n"
	           "  --add-generation-prompt  end with the assistant's turn header\n"
	           "  --kwargs JSON            extra template variables, e.g. '{\"enable_thinking\": false}'\n"
	           "                           (tools go here too: '{\"tools\": [...]}')\n"
	           "  --bos TEXT, --eos TEXT   the bos_token / eos_token variables\n"
	           "  -h, --help               this help\n");
}

struct vocab_view {
	const hearth_gguf_value *tokens;
};

static bool vocab_has(void *user, const char *tok)
{
	const struct vocab_view *v = user;
	size_t tl = strlen(tok);
	for (uint64_t i = 0; i < v->tokens->v.arr.n; i++) {
		const hearth_gguf_value *it = &v->tokens->v.arr.items[i];
		if (it->type == HEARTH_GGUF_STRING && it->v.str.len == tl && memcmp(it->v.str.ptr, tok, tl) == 0)
			return true;
	}
	return false;
}

/* The token string of the id stored under `key`, or NULL. */
static char *token_text(const hearth_gguf *g, const hearth_gguf_value *tokens, const char *key)
{
	uint32_t id;
	if (!tokens || hearth_gguf_get_u32(g, key, &id) != 0 || id >= tokens->v.arr.n)
		return NULL;
	const hearth_gguf_value *it = &tokens->v.arr.items[id];
	if (it->type != HEARTH_GGUF_STRING)
		return NULL;
	return hx_strndup(it->v.str.ptr, (size_t)it->v.str.len);
}

/* Loads the template source and default bos/eos from a GGUF model. */
static int from_model(const char *path, char **src, size_t *src_len, char **bos, char **eos, char *name,
                      size_t name_len)
{
	hearth_gguf *g;
	int rc = hearth_gguf_open(path, &g);
	if (rc)
		return cli_fail(path, rc);
	const hearth_gguf_value *tokens = NULL;
	if (hearth_gguf_get_arr(g, "tokenizer.ggml.tokens", HEARTH_GGUF_STRING, &tokens) != 0)
		tokens = NULL;
	hearth_str t;
	if (hearth_gguf_get_str(g, "tokenizer.chat_template", &t) == 0) {
		*src = hx_strndup(t.ptr, (size_t)t.len);
		*src_len = (size_t)t.len;
		snprintf(name, name_len, "%s", path);
	} else {
		const char *which = "chatml";
		if (tokens) {
			struct vocab_view v = {tokens};
			which = hearth_chat_detect_builtin_fn(vocab_has, &v);
		}
		const char *s = hearth_chat_builtin_template(which);
		*src = hx_strdup(s);
		*src_len = strlen(s);
		snprintf(name, name_len, "builtin:%s", which);
		fprintf(stderr, "note: %s has no tokenizer.chat_template; using the built-in '%s' template\n", path,
		        which);
	}
	if (!*bos)
		*bos = token_text(g, tokens, "tokenizer.ggml.bos_token_id");
	if (!*eos)
		*eos = token_text(g, tokens, "tokenizer.ggml.eos_token_id");
	hearth_gguf_free(g);
	if (!*src)
		return cli_fail(path, HEARTH_ENOMEM);
	return 0;
}

int cmd_template(int argc, char **argv)
{
	const char *model = NULL, *tmpl_path = NULL, *builtin = NULL, *msgs_path = NULL, *kwargs = NULL;
	const char *bos_arg = NULL, *eos_arg = NULL;
	bool gen = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (cli_is(a, "-h", "--help")) {
			usage(stdout);
			return 0;
		}
		if (cli_is(a, "--add-generation-prompt", NULL)) {
			gen = true;
			continue;
		}
		const char **dst = NULL;
		if (cli_is(a, "-m", "--model"))
			dst = &model;
		else if (cli_is(a, "-t", "--template"))
			dst = &tmpl_path;
		else if (cli_is(a, "--builtin", NULL))
			dst = &builtin;
		else if (cli_is(a, "--messages", NULL))
			dst = &msgs_path;
		else if (cli_is(a, "--kwargs", NULL))
			dst = &kwargs;
		else if (cli_is(a, "--bos", NULL))
			dst = &bos_arg;
		else if (cli_is(a, "--eos", NULL))
			dst = &eos_arg;
		if (!dst) {
			fprintf(stderr, "error: unknown option '%s'\n\n", a);
			usage(stderr);
			return 2;
		}
		if (!val) {
			fprintf(stderr, "error: %s needs a value\n", a);
			return 2;
		}
		*dst = val;
		i++;
	}
	if ((model != NULL) + (tmpl_path != NULL) + (builtin != NULL) != 1 || !msgs_path) {
		fprintf(stderr, "error: give exactly one of -m, --template or --builtin, and --messages\n\n");
		usage(stderr);
		return 2;
	}

	char *src = NULL, *bos = bos_arg ? hx_strdup(bos_arg) : NULL, *eos = eos_arg ? hx_strdup(eos_arg) : NULL;
	char *msgs = NULL, *out = NULL, name[512];
	size_t src_len = 0, msgs_len = 0, out_len = 0;
	int status = 1, rc;
	if (model) {
		if (from_model(model, &src, &src_len, &bos, &eos, name, sizeof name))
			goto done;
	} else if (tmpl_path) {
		rc = hx_read_file(tmpl_path, &src, &src_len);
		if (rc) {
			cli_fail(tmpl_path, rc);
			goto done;
		}
		snprintf(name, sizeof name, "%s", tmpl_path);
	} else {
		const char *s = hearth_chat_builtin_template(builtin);
		if (!s) {
			fprintf(stderr, "error: unknown built-in template '%s' (chatml, llama2, llama3, zephyr, gemma)\n",
			        builtin);
			status = 2;
			goto done;
		}
		src = hx_strdup(s);
		src_len = strlen(s);
		snprintf(name, sizeof name, "builtin:%s", builtin);
	}
	rc = cli_read_input(msgs_path, (size_t)256 << 20, &msgs, &msgs_len);
	if (rc) {
		cli_fail(msgs_path, rc);
		goto done;
	}
	hearth_chat_template *t;
	rc = hearth_chat_template_parse(src, src_len, name, NULL, &t);
	if (rc) {
		cli_fail("", rc);
		goto done;
	}
	rc = hearth_chat_template_render(t, msgs, kwargs, gen, bos ? bos : "", eos ? eos : "", &out, &out_len);
	hearth_chat_template_free(t);
	if (rc) {
		cli_fail("", rc);
		goto done;
	}
	if (fwrite(out, 1, out_len, stdout) != out_len || fflush(stdout) != 0) {
		fprintf(stderr, "error: writing the prompt failed\n");
		goto done;
	}
	status = 0;
done:
	free(src);
	free(bos);
	free(eos);
	free(msgs);
	free(out);
	return status;
}
