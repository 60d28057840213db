/*
 * cmd_run.c - `hearth run`: one prompt in, the model's continuation streamed to
 * stdout through the generation engine.
 *
 * Without --chat the prompt text is tokenized as is (BOS as the vocabulary asks,
 * special-token text such as "<|im_start|>" parsed into control tokens) and the
 * continuation is printed.  With --chat the prompt becomes one user message
 * (after an optional --system message), is rendered by the model's chat
 * template, and the answer's reasoning (<think>...</think>) is shown apart: dim
 * on a colour terminal, between [thinking] and [/thinking] lines otherwise.
 * A statistics line goes to stderr at the end.  Ctrl-C stops generation
 * cleanly (the statistics are still printed).
 */
#include "cli/cli.h"
#include "util/util.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void run_usage(FILE *f)
{
	fprintf(f,
	        "usage: hearth run -m MODEL [-p TEXT | -f FILE | -] [options]\n\n"
	        "Streams the model's continuation of a prompt to stdout.\n\n"
	        "options:\n"
	        "  -m, --model MODEL      GGUF file or model name (see hearth chat --help)\n"
	        "  -p, --prompt TEXT      the prompt\n"
	        "  -f, --file FILE        read the prompt from FILE\n"
	        "  -                      read the prompt from standard input\n"
	        "  -n, --max-tokens N     tokens to generate at most (default -1: until the model\n"
	        "                         stops or the context is full)\n"
	        "  --temp X               temperature; 0 is greedy (default 0.8)\n"
	        "  --top-k N              (default 40; 0 off)\n"
	        "  --top-p X              (default 0.95; 1 off)\n"
	        "  --min-p X              (default 0.05; 0 off)\n"
	        "  --repeat-penalty X     (default 1.0: off)\n"
	        "  --repeat-last-n N      tokens the penalty looks back at (default 64)\n"
	        "  --seed N               sampling seed (default -1: random)\n"
	        "  --ignore-eos           keep generating past end-of-generation tokens\n"
	        "  -c, --ctx N            context length (default: the model's, at most 4096)\n"
	        "  -b, --batch N          prompt tokens per step (default 512)\n"
	        "  -t, --threads N        threads (default: all cores)\n"
	        "  --kv-type f16|f32      KV cache element type (default f16)\n"
	        "  --chat                 format the prompt with the model's chat template\n"
	        "  --system TEXT          a system message (implies --chat)\n"
	        "  --think, --no-think    ask the template to enable or disable thinking\n"
	        "  --hide-think           do not print the reasoning\n"
	        "  -h, --help             this help\n\n"
	        "Reasoning is printed dim on a colour terminal (NO_COLOR disables colour), and\n"
	        "between [thinking] and [/thinking] lines otherwise.\n");
}

struct run_out {
	bool color, hide_think;
	bool in_think;   /* reasoning is being printed */
	bool at_bol;     /* the last byte printed was a newline (or nothing printed) */
	bool any;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	enum hearth_finish finish;
	int error;
	char message[512];
	hearth_gen_stats st;
};

static atomic_bool g_interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	atomic_store(&g_interrupted, true);
}

static void out_write(struct run_out *o, const char *s, size_t n)
{
	if (!n)
		return;
	fwrite(s, 1, n, stdout);
	o->at_bol = s[n - 1] == '\n';
	o->any = true;
}

static void close_think(struct run_out *o)
{
	if (!o->in_think)
		return;
	o->in_think = false;
	if (o->color) {
		fputs("\033[0m", stdout);
		if (!o->at_bol)
			out_write(o, "\n", 1);
		out_write(o, "\n", 1);
	} else {
		if (!o->at_bol)
			out_write(o, "\n", 1);
		out_write(o, "[/thinking]\n", 12);
	}
}

/* Engine callback (engine thread): prints as text arrives. */
static bool run_cb(const hearth_gen_event *ev, void *user)
{
	struct run_out *o = user;
	switch (ev->kind) {
	case HEARTH_GEN_PROMPT:
		break;
	case HEARTH_GEN_REASONING:
		if (o->hide_think)
			break;
		if (!o->in_think) {
			o->in_think = true;
			if (o->color)
				fputs("\033[2m", stdout);
			else
				out_write(o, "[thinking]\n", 11);
		}
		out_write(o, ev->text, ev->len);
		fflush(stdout);
		break;
	case HEARTH_GEN_CONTENT:
		close_think(o);
		out_write(o, ev->text, ev->len);
		fflush(stdout);
		break;
	case HEARTH_GEN_DONE:
		close_think(o);
		fflush(stdout);
		pthread_mutex_lock(&o->mu);
		o->done = true;
		o->finish = ev->finish;
		o->error = ev->error;
		snprintf(o->message, sizeof o->message, "%s", ev->message);
		o->st = *ev->stats;
		pthread_cond_broadcast(&o->cv);
		pthread_mutex_unlock(&o->mu);
		return false;
	}
	return atomic_load(&g_interrupted);
}

/* The text of token `id` (BOS/EOS for the template), or "" . malloc'd. */
static char *token_str(const hearth_vocab *v, int32_t id)
{
	hearth_str s = id >= 0 ? hearth_vocab_token_text(v, id) : (hearth_str){NULL, 0};
	return hx_strndup(s.ptr ? s.ptr : "", s.ptr ? (size_t)s.len : 0);
}

static bool has_token(void *user, const char *tok)
{
	return hearth_vocab_find(user, tok, strlen(tok)) >= 0;
}

/* Renders the chat prompt for `prompt` (and `system`); *text is malloc'd. */
static int render_chat(const hearth_model *m, const hearth_vocab *v, const char *system, const char *prompt,
                       int think, char **text, size_t *len)
{
	const hearth_gguf *g = hearth_model_gguf(m);
	hearth_str src;
	hearth_chat_template *t = NULL;
	int rc;
	if (hearth_gguf_get_str(g, "tokenizer.chat_template", &src) == 0 && src.len > 0) {
		rc = hearth_chat_template_parse(src.ptr, (size_t)src.len, "chat template", NULL, &t);
	} else {
		const char *name = hearth_chat_detect_builtin_fn(has_token, (void *)v);
		const char *b = hearth_chat_builtin_template(name);
		rc = b ? hearth_chat_template_parse(b, strlen(b), name, NULL, &t)
		       : hx_err(HEARTH_ENOTFOUND, "no chat template for this model");
	}
	if (rc)
		return rc;
	json_t *msgs = json_array();
	if (system)
		json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "system", "content", system));
	json_t *um = json_pack("{s:s, s:s}", "role", "user", "content", prompt);
	if (!um) {
		json_decref(msgs);
		hearth_chat_template_free(t);
		return hx_err(HEARTH_EINVAL, "the prompt is not valid UTF-8");
	}
	json_array_append_new(msgs, um);
	char *mj = json_dumps(msgs, JSON_COMPACT);
	json_decref(msgs);
	const char *kw = think < 0 ? NULL : think ? "{\"enable_thinking\": true}" : "{\"enable_thinking\": false}";
	char *bos = token_str(v, hearth_vocab_bos(v)), *eos = token_str(v, hearth_vocab_eos(v));
	if (!mj || !bos || !eos)
		rc = HEARTH_ENOMEM;
	else
		rc = hearth_chat_template_render(t, mj, kw, true, bos, eos, text, len);
	/* The tokenizer adds BOS itself when the vocabulary asks: drop the template's. */
	size_t bl = bos ? strlen(bos) : 0;
	if (!rc && hearth_vocab_add_bos(v) && bl && *len >= bl && memcmp(*text, bos, bl) == 0) {
		memmove(*text, *text + bl, *len - bl + 1);
		*len -= bl;
	}
	free(mj);
	free(bos);
	free(eos);
	hearth_chat_template_free(t);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	struct cli_model_opts mo =
		cli_model_opts_default(CLI_MO_MODEL | CLI_MO_CTX | CLI_MO_THREADS | CLI_MO_BATCH | CLI_MO_KV);
	const char *prompt_arg = NULL, *file_arg = NULL, *system = NULL;
	bool from_stdin = false, chat = false, hide_think = false, ignore_eos = false;
	int think = -1; /* -1: the template's default */
	long long n_predict = -1, v;
	hearth_sampler_params sp = hearth_sampler_default_params();
	double d;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		int r = cli_model_opt(&mo, a, val);
		if (r) {
			if (r < 0)
				return 2;
			i++;
		} else if (cli_is(a, "-h", "--help")) {
			run_usage(stdout);
			return 0;
		} else if (cli_is(a, "-p", "--prompt")) {
			if (!cli_str(a, val, &prompt_arg))
				return 2;
			i++;
		} else if (cli_is(a, "-f", "--file")) {
			if (!cli_str(a, val, &file_arg))
				return 2;
			i++;
		} else if (strcmp(a, "-") == 0) {
			from_stdin = true;
		} else if (cli_is(a, "-n", "--max-tokens") || cli_is(a, "--n-predict", NULL)) {
			if (!cli_int(a, val, -1, INT32_MAX, &n_predict))
				return 2;
			i++;
		} else if (cli_is(a, "--temp", "--temperature")) {
			if (!cli_float(a, val, 0, 100, &d))
				return 2;
			sp.temperature = (float)d;
			i++;
		} else if (cli_is(a, "--top-k", NULL)) {
			if (!cli_int(a, val, 0, INT32_MAX, &v))
				return 2;
			sp.top_k = (int32_t)v;
			i++;
		} else if (cli_is(a, "--top-p", NULL)) {
			if (!cli_float(a, val, 1e-9, 1, &d))
				return 2;
			sp.top_p = (float)d;
			i++;
		} else if (cli_is(a, "--min-p", NULL)) {
			if (!cli_float(a, val, 0, 1, &d))
				return 2;
			sp.min_p = (float)d;
			i++;
		} else if (cli_is(a, "--repeat-penalty", NULL)) {
			if (!cli_float(a, val, 1e-6, 100, &d))
				return 2;
			sp.repeat_penalty = (float)d;
			i++;
		} else if (cli_is(a, "--repeat-last-n", NULL)) {
			if (!cli_int(a, val, -1, HEARTH_SAMPLER_MAX_LAST_N, &v))
				return 2;
			sp.repeat_last_n = (int32_t)v;
			i++;
		} else if (cli_is(a, "--seed", "-s")) {
			if (!cli_int(a, val, -1, INT64_MAX, &v))
				return 2;
			sp.seed = v < 0 ? HEARTH_SEED_RANDOM : (uint64_t)v;
			i++;
		} else if (cli_is(a, "--chat", NULL)) {
			chat = true;
		} else if (cli_is(a, "--system", NULL)) {
			if (!cli_str(a, val, &system))
				return 2;
			i++;
			chat = true;
		} else if (cli_is(a, "--think", NULL)) {
			think = 1;
		} else if (cli_is(a, "--no-think", NULL)) {
			think = 0;
		} else if (cli_is(a, "--hide-think", NULL)) {
			hide_think = true;
		} else if (cli_is(a, "--ignore-eos", NULL)) {
			ignore_eos = true;
		} else {
			fprintf(stderr, "error: unknown option '%s'\n\n", a);
			run_usage(stderr);
			return 2;
		}
	}
	const char *model_arg = mo.model;
	if (!model_arg) {
		fprintf(stderr, "error: no model (-m MODEL)\n\n");
		run_usage(stderr);
		return 2;
	}
	if ((prompt_arg != NULL) + (file_arg != NULL) + from_stdin != 1) {
		fprintf(stderr, "error: give exactly one prompt source: -p TEXT, -f FILE or -\n");
		return 2;
	}

	int rc, status = 1;
	char *text = NULL, *prompt = NULL;
	size_t text_len = 0, prompt_len = 0, n_tok = 0;
	hearth_token *toks = NULL;
	hearth_model *model = NULL;
	hearth_vocab *vocab = NULL;
	hearth_engine *eng = NULL;
	hearth_model_file mf = {0};

	if (prompt_arg) {
		prompt = hx_strdup(prompt_arg);
		prompt_len = strlen(prompt_arg);
		rc = prompt ? 0 : HEARTH_ENOMEM;
	} else if (file_arg) {
		rc = hx_read_file(file_arg, &prompt, &prompt_len);
	} else {
		rc = cli_read_input("-", (size_t)1 << 30, &prompt, &prompt_len);
	}
	if (rc) {
		cli_fail(file_arg ? file_arg : "prompt", rc);
		goto out;
	}
	if ((rc = hearth_model_resolve(model_arg, NULL, HEARTH_RESOLVE_PATHS, &mf))) {
		cli_fail(model_arg, rc);
		goto out;
	}
	hearth_model_params mp = hearth_model_default_params();
	mp.n_threads = (int)mo.n_threads;
	if ((rc = hearth_model_load(mf.path, &mp, &model))) {
		cli_fail(NULL, rc);
		goto out;
	}
	if ((rc = hearth_vocab_load(hearth_model_gguf(model), &vocab))) {
		cli_fail(mf.path, rc);
		goto out;
	}
	if (chat) {
		if (memchr(prompt, 0, prompt_len)) {
			fprintf(stderr, "error: the prompt contains a NUL byte\n");
			goto out;
		}
		if ((rc = render_chat(model, vocab, system, prompt, think, &text, &text_len))) {
			cli_fail("chat template", rc);
			goto out;
		}
	} else {
		text = prompt;
		text_len = prompt_len;
		prompt = NULL;
	}
	if ((rc = hearth_tokenize_alloc(vocab, text, text_len, true, true, &toks, &n_tok))) {
		cli_fail("tokenize", rc);
		goto out;
	}
	if (n_tok == 0) {
		fprintf(stderr, "error: the prompt is empty\n");
		goto out;
	}

	hearth_engine_params ep = hearth_engine_default_params();
	ep.n_slots = 1;
	ep.n_ctx = (int32_t)mo.n_ctx;
	ep.n_batch = (int32_t)mo.n_batch;
	ep.kv_type = mo.kv_type;
	ep.n_threads = (int)mo.n_threads;
	if ((rc = hearth_engine_create(model, vocab, &ep, &eng))) {
		cli_fail("engine", rc);
		goto out;
	}

	struct run_out o = {.color = cli_color(stdout), .hide_think = hide_think, .at_bol = true};
	pthread_mutex_init(&o.mu, NULL);
	pthread_cond_init(&o.cv, NULL);
	hearth_gen_request req = hearth_gen_request_default();
	req.prompt = toks;
	req.n_prompt = n_tok;
	req.sampler = sp;
	req.max_tokens = n_predict < 0 ? 0 : (int32_t)n_predict;
	req.ignore_eog = ignore_eos;
	req.reasoning = chat;
	req.start_in_reasoning = chat && hearth_think_prompt_opens(text, text_len, NULL, NULL);
	req.callback = run_cb;
	req.user = &o;
	if (n_predict == 0) {
		status = 0;
		goto out;
	}
	struct sigaction sa = {0}, old_sa;
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_sa);
	uint64_t id;
	if ((rc = hearth_engine_submit(eng, &req, &id))) {
		sigaction(SIGINT, &old_sa, NULL);
		cli_fail(NULL, rc);
		goto out;
	}
	pthread_mutex_lock(&o.mu);
	while (!o.done) {
		if (atomic_load(&g_interrupted))
			hearth_engine_cancel(eng, id); /* also checked by the callback */
		struct timespec ts;
		cli_deadline(&ts, 100);
		pthread_cond_timedwait(&o.cv, &o.mu, &ts);
	}
	pthread_mutex_unlock(&o.mu);
	sigaction(SIGINT, &old_sa, NULL);
	if (o.any && !o.at_bol)
		fputc('\n', stdout);
	fflush(stdout);

	const hearth_gen_stats *st = &o.st;
	int32_t n_eval = st->n_prompt - st->n_cached;
	fprintf(stderr,
	        "\n[prompt: %d tokens in %.0f ms (%.1f tok/s) | generated: %d tokens in %.0f ms (%.1f tok/s) | "
	        "TTFT %.0f ms | %s]\n",
	        st->n_prompt, st->prompt_ms, st->prompt_ms > 0 ? n_eval * 1e3 / st->prompt_ms : 0.0, st->n_gen,
	        st->gen_ms, st->gen_ms > 0 && st->n_gen > 1 ? (st->n_gen - 1) * 1e3 / st->gen_ms : 0.0, st->ttft_ms,
	        o.finish == HEARTH_FINISH_CANCELED ? "interrupted" : hearth_finish_name(o.finish));
	if (o.finish == HEARTH_FINISH_ERROR) {
		fprintf(stderr, "error: %s\n", o.message[0] ? o.message : hearth_strerror(o.error));
		goto out;
	}
	status = o.finish == HEARTH_FINISH_CANCELED ? 130 : 0;
out:
	hearth_engine_free(eng);
	free(toks);
	free(text);
	free(prompt);
	hearth_vocab_free(vocab);
	hearth_model_free(model);
	hearth_model_file_clear(&mf);
	return status;
}
