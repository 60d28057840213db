/*
 * cmd_chat.c - `hearth chat -m MODEL`: talk to a model in the terminal.
 *
 * The model is found by hearth_model_resolve (a path, a name in the models
 * directory or a repository in the Hugging Face cache) and loaded on a worker
 * thread while a spinner turns.  Each turn renders the whole conversation with
 * the model's own chat template, tokenizes it and submits it to a generation
 * engine with one slot; the engine's prompt cache finds the previous turn's
 * tokens still in the KV cache, so only the new tokens are evaluated (!stats
 * shows time to first token, and how many prompt tokens were reused).
 *
 * Events arrive on the engine thread; its callback only appends them to a queue,
 * and the main thread prints them, so a slow terminal never stalls the engine
 * and Ctrl-C (a flag set by the signal handler) becomes hearth_engine_cancel().
 */
#include "cli/chat.h"
#include "cli/cli.h"
#include "util/util.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hearth chat [-m] MODEL [options]\n"
		"\n"
		"Talk to a model in the terminal: replies stream as they are generated, every turn\n"
		"keeps the conversation (only the new tokens are processed: the previous turns stay\n"
		"in the KV cache), and the model's own chat template formats it.\n"
		"\n"
		"MODEL is a path to a .gguf file (or to a directory of them), or a name looked up in\n"
		"the models directory and then in the local Hugging Face cache; nothing is ever\n"
		"downloaded.  Names: NAME (NAME.gguf, a directory NAME, or the family NAME-QUANT.gguf),\n"
		"ORG/REPO or REPO (models--ORG--REPO in the hub cache), and NAME:QUANT to pick a\n"
		"quantization (otherwise the best one: Q4_K_M, Q5_K_M, Q6_K, Q8_0, ... see hearth.h).\n"
		"An unknown name lists the models that are available.\n"
		"\n"
		"model:\n"
		"  -m, --model MODEL         the model (or give it as the first argument)\n"
		"  --models-dir DIR          models directory (default $HEARTH_MODELS, else\n"
		"                            $XDG_DATA_HOME/hearth/models, ~/.local/share/hearth/models);\n"
		"                            the Hugging Face cache is $HF_HUB_CACHE, $HF_HOME/hub or\n"
		"                            ~/.cache/huggingface/hub\n"
		"  -c, --ctx N               context size in tokens (default: the model's, at most 4096)\n"
		"  -t, --threads N           threads (default: all cores)\n"
		"      --kv-type f16|f32     KV cache element type (default f16)\n"
		"  --template FILE|NAME      chat template: a Jinja file, or a built-in (chatml, llama2,\n"
		"                            llama3, zephyr, gemma); default: the model's own, else a\n"
		"                            built-in chosen from its special tokens\n"
		"\n"
		"conversation:\n"
		"  --system TEXT             system prompt\n"
		"  --think / --no-think      let the model think before answering, or ask it not to\n"
		"                            (for templates that support it, e.g. Qwen3, SmolLM3; default on)\n"
		"  --hide-think              do not show the thinking (it is shown dimmed otherwise)\n"
		"  --context-overflow MODE   when the conversation no longer fits the context:\n"
		"                            'stop' (default) says so and offers !reset; 'drop-oldest'\n"
		"                            drops the oldest whole turns (never the system prompt)\n"
		"  --no-history              do not read or write the input history\n"
		"\n"
		"saved conversations (the history database `hearth serve` and `hearth history` use):\n"
		"  --save                    record this conversation: each message when it is sent, each\n"
		"                            reply when it is done (complete, stopped or error, with its\n"
		"                            statistics); !reset starts a fresh context in the same chat\n"
		"  --db FILE                 the database (default $XDG_DATA_HOME/hearth/hearth.db); implies --save\n"
		"  --chat-id N               continue stored chat N (its messages since its last reset, its\n"
		"                            settings and model unless given here); implies --save\n"
		"  --title TEXT              the chat's title (default: made from the first message); implies --save\n"
		"\n"
		"generation (each can be changed later with !set NAME VALUE):\n"
		"  --temp X                  temperature; 0 is greedy (default 0.8)\n"
		"  --top-k N                 keep the N most likely tokens; 0 off (default 40)\n"
		"  --top-p X                 nucleus sampling; 1 off (default 0.95)\n"
		"  --min-p X                 drop tokens below X times the best one; 0 off (default 0.05)\n"
		"  --repeat-penalty X        penalize recently seen tokens; 1 off (default 1.0)\n"
		"  --seed N                  random seed; -1 random (default)\n"
		"  -n, --max-tokens N        longest reply in tokens; 0 no limit (default)\n"
		"\n"
		"commands (type them at the prompt; '/' works as well as '!'):\n"
		"  !help                     this list\n"
		"  !exit, !quit              leave (also Ctrl-D)\n"
		"  !reset                    forget the conversation (keeps the system prompt)\n"
		"  !set PARAM VALUE          temperature, top_k, top_p, min_p, repeat_penalty, seed,\n"
		"                            max_tokens, think on|off, hide_think on|off, system TEXT\n"
		"  !show                     settings, model and how much of the context is used\n"
		"  !stats                    last reply: prompt and generated tokens, tokens/s, time to\n"
		"                            first token (and the first turn's, for comparison)\n"
		"  !save FILE, !load FILE    the conversation (with system prompt and settings) as JSON\n"
		"  !retry                    generate the last reply again\n"
		"\n"
		"input:\n"
		"  Line editing and history (libedit; kept in $XDG_DATA_HOME/hearth/chat_history).\n"
		"  A line ending in '\\' continues on the next line; a block between lines of \"\"\"\n"
		"  is one message.  Start a message with a space to send a leading '!' or '/'.\n"
		"  Ctrl-C stops the reply being written; Ctrl-C at the prompt clears the line, and\n"
		"  a second Ctrl-C in a row (or one right after stopping a reply) leaves.\n"
		"  Colours only on a terminal, never when NO_COLOR is set.\n"
		"\n"
		"When stdin is not a terminal, each line (or continued line or block) is a message or\n"
		"a command, replies are printed as plain text followed by a newline, the thinking is\n"
		"not printed, and there is no prompt, spinner or colour - for scripts:\n"
		"  printf 'Hello\\n!stats\\n' | hearth chat -m qwen3 --temp 0\n"
		"\n"
		"Exit status: 0, or 1 if the model could not be loaded (or a reply failed when reading\n"
		"from a pipe), 2 for a usage error, 130 when interrupted while reading from a pipe.\n");
}

enum overflow { OVERFLOW_STOP, OVERFLOW_DROP };

struct chat {
	/* model */
	hearth_model_file file;
	hearth_model *model;
	hearth_vocab *vocab;
	hearth_chat_template *tmpl;
	const char *tmpl_name; /* "model" or a built-in's name */
	char *bos_text, *eos_text;
	hearth_engine *engine;
	int32_t n_ctx;
	int n_threads;
	int kv_type; /* HEARTH_TYPE_F16 (default) or F32 */
	const char *template_arg; /* --template: a file or a built-in name */
	/* conversation */
	struct chat_conv conv;
	struct chat_settings set;
	enum overflow overflow;
	char *retry_text; /* a user message whose reply failed or was stopped empty */
	/* history database (--save) */
	bool saving;
	struct chat_hist hist;
	int64_t failed_reply_id; /* the stored record of the last reply that failed */
	int64_t retry_user_id, retry_reply_id; /* retry_text's stored message and failed reply */
	/* terminal */
	bool interactive, color;
	struct chat_colors c;
	/* stats */
	bool have_last, have_first;
	int n_replies;
	hearth_gen_stats last, first;
	enum hearth_finish last_finish;
	bool stopped; /* the last reply was stopped with Ctrl-C */
	int32_t ctx_used; /* tokens of the last prompt + reply */
	bool had_error;
};

/* ---- loading ---- */

static bool has_token(void *user, const char *token)
{
	return hearth_vocab_find(user, token, strlen(token)) >= 0;
}

static char *token_text(const hearth_vocab *v, int32_t id)
{
	if (id < 0)
		return hx_strdup("");
	hearth_str s = hearth_vocab_token_text(v, id);
	return s.ptr ? hx_strndup(s.ptr, (size_t)s.len) : hx_strdup("");
}

struct load_job {
	struct chat *ch;
	int rc;
	char msg[1024];
	bool done;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static int load_model(struct chat *ch)
{
	hearth_model_params mp = hearth_model_default_params();
	mp.n_threads = ch->n_threads;
	int rc = hearth_model_load(ch->file.path, &mp, &ch->model);
	if (rc)
		return rc;
	const hearth_gguf *g = hearth_model_gguf(ch->model);
	if ((rc = hearth_vocab_load(g, &ch->vocab)))
		return hx_errprefix(rc, "%s: tokenizer: ", ch->file.path);
	hearth_str src;
	if (ch->template_arg) {
		const char *b = hearth_chat_builtin_template(ch->template_arg);
		if (b) {
			ch->tmpl_name = ch->template_arg;
			rc = hearth_chat_template_parse(b, strlen(b), ch->tmpl_name, NULL, &ch->tmpl);
		} else {
			char *text = NULL;
			size_t len = 0;
			if ((rc = hx_read_file(ch->template_arg, &text, &len)))
				return hx_errprefix(rc, "--template: not a built-in template (chatml, llama2, llama3, "
						       "zephyr, gemma) nor a readable file: ");
			ch->tmpl_name = ch->template_arg;
			rc = hearth_chat_template_parse(text, len, ch->template_arg, NULL, &ch->tmpl);
			free(text);
		}
	} else if (hearth_gguf_get_str(g, "tokenizer.chat_template", &src) == 0 && src.len > 0) {
		ch->tmpl_name = "model";
		rc = hearth_chat_template_parse(src.ptr, (size_t)src.len, "chat template", NULL, &ch->tmpl);
	} else {
		ch->tmpl_name = hearth_chat_detect_builtin_fn(has_token, ch->vocab);
		const char *b = hearth_chat_builtin_template(ch->tmpl_name);
		rc = b ? hearth_chat_template_parse(b, strlen(b), ch->tmpl_name, NULL, &ch->tmpl)
		       : hx_err(HEARTH_ENOTFOUND, "no built-in chat template '%s'", ch->tmpl_name);
	}
	if (rc)
		return rc;
	ch->bos_text = token_text(ch->vocab, hearth_vocab_bos(ch->vocab));
	ch->eos_text = token_text(ch->vocab, hearth_vocab_eos(ch->vocab));
	if (!ch->bos_text || !ch->eos_text)
		return HEARTH_ENOMEM;
	hearth_engine_params ep = hearth_engine_default_params();
	ep.n_slots = 1;
	ep.n_ctx = ch->n_ctx;
	ep.n_threads = ch->n_threads;
	ep.kv_type = ch->kv_type;
	if ((rc = hearth_engine_create(ch->model, ch->vocab, &ep, &ch->engine)))
		return rc;
	ch->n_ctx = hearth_engine_n_ctx(ch->engine);
	return 0;
}

static void *load_thread(void *arg)
{
	struct load_job *j = arg;
	int rc = load_model(j->ch);
	pthread_mutex_lock(&j->mu);
	j->rc = rc;
	if (rc)
		snprintf(j->msg, sizeof j->msg, "%s", hearth_errmsg()[0] ? hearth_errmsg() : hearth_strerror(rc));
	j->done = true;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

/* Loads on a worker thread with a spinner; Ctrl-C during the load leaves. */
static int load_with_spinner(struct chat *ch)
{
	struct load_job j;
	memset(&j, 0, sizeof j);
	j.ch = ch;
	pthread_mutex_init(&j.mu, NULL);
	pthread_cond_init(&j.cv, NULL);
	char what[300];
	snprintf(what, sizeof what, "loading %s", ch->file.name);
	struct chat_spinner *sp = ch->interactive ? chat_spinner_start(what) : NULL;
	pthread_t th;
	if (pthread_create(&th, NULL, load_thread, &j) != 0) {
		chat_spinner_stop(sp);
		fprintf(stderr, "error: cannot start the loading thread\n");
		return 1;
	}
	pthread_mutex_lock(&j.mu);
	while (!j.done) {
		struct timespec ts;
		cli_deadline(&ts, 50);
		pthread_cond_timedwait(&j.cv, &j.mu, &ts);
		if (!j.done && chat_sigint) {
			pthread_mutex_unlock(&j.mu);
			chat_spinner_stop(sp);
			fprintf(stderr, "interrupted\n");
			_exit(130); /* the loader holds only memory and a mapping */
		}
	}
	pthread_mutex_unlock(&j.mu);
	pthread_join(th, NULL);
	chat_spinner_stop(sp);
	pthread_mutex_destroy(&j.mu);
	pthread_cond_destroy(&j.cv);
	if (j.rc) {
		fprintf(stderr, "error: %s\n", j.msg);
		return 1;
	}
	return 0;
}

/* ---- prompts ---- */

/* Renders the conversation (with the generation prompt) and tokenizes it. */
static int build_prompt(struct chat *ch, hearth_token **ids, size_t *n_ids, bool *opens_think)
{
	json_t *arr = json_array();
	if (!arr)
		return HEARTH_ENOMEM;
	if (ch->conv.system) {
		json_t *m = json_pack("{s:s, s:s}", "role", "system", "content", ch->conv.system);
		if (!m || json_array_append_new(arr, m)) {
			json_decref(arr);
			return hx_err(HEARTH_EINVAL, "the system prompt is not valid UTF-8");
		}
	}
	for (size_t i = 0; i < ch->conv.n; i++) {
		const struct chat_msg *cm = &ch->conv.msgs[i];
		json_t *m = json_pack("{s:s, s:s}", "role", cm->role, "content", cm->content);
		if (m && cm->reasoning && cm->reasoning[0])
			json_object_set_new(m, "reasoning_content", json_string(cm->reasoning));
		if (!m || json_array_append_new(arr, m)) {
			json_decref(arr);
			return hx_err(HEARTH_EINVAL, "message %zu is not valid UTF-8", i + 1);
		}
	}
	char *msgs = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	char kw[64];
	snprintf(kw, sizeof kw, "{\"enable_thinking\": %s}", ch->set.think ? "true" : "false");
	if (!msgs)
		return HEARTH_ENOMEM;
	char *text = NULL;
	size_t len = 0;
	int rc = hearth_chat_template_render(ch->tmpl, msgs, kw, true, ch->bos_text, ch->eos_text, &text, &len);
	free(msgs);
	if (rc)
		return rc;
	*opens_think = hearth_think_prompt_opens(text, len, NULL, NULL);
	/* The tokenizer adds BOS itself when the vocabulary asks for it: do not keep
	 * a second one that the template wrote (as llama.cpp does). */
	const char *p = text;
	size_t bl = strlen(ch->bos_text);
	if (hearth_vocab_add_bos(ch->vocab) && bl && len >= bl && !memcmp(p, ch->bos_text, bl)) {
		p += bl;
		len -= bl;
	}
	rc = hearth_tokenize_alloc(ch->vocab, p, len, true, true, ids, n_ids);
	free(text);
	return rc;
}

/* ---- history (--save) ---- */

/* A failed write: said once, and nothing more is saved (a half-saved
 * conversation would be worse than one that ends early). */
static void hist_fail(struct chat *ch, int rc)
{
	if (!rc || !ch->saving)
		return;
	fprintf(stderr, "%serror: history %s: %s (the rest of this conversation is not saved)%s\n", ch->c.red,
		ch->hist.path, hearth_errmsg()[0] ? hearth_errmsg() : hearth_strerror(rc), ch->c.reset);
	ch->saving = false;
	ch->had_error = true;
}

/* Stores the conversation's last message, the user's just sent. */
static void save_user(struct chat *ch)
{
	if (!ch->saving || !ch->conv.n)
		return;
	struct chat_msg *m = &ch->conv.msgs[ch->conv.n - 1];
	hist_fail(ch, chat_hist_user(&ch->hist, &ch->conv, &ch->set, m->content, &m->id));
}

/* Stores a finished reply; returns its id (0 when not saving). */
static int64_t save_reply(struct chat *ch, const char *content, const char *reasoning, int status, const char *why,
			  const hearth_gen_stats *st)
{
	int64_t id = 0;
	if (ch->saving)
		hist_fail(ch, chat_hist_reply(&ch->hist, content, reasoning, status, why, st, &id));
	return id;
}

static void save_settings(struct chat *ch)
{
	if (ch->saving)
		hist_fail(ch, chat_hist_settings(&ch->hist, &ch->conv, &ch->set));
}

/* After !load: the loaded conversation replaces what the model sees, so the
 * stored chat starts a fresh context (as after !reset) and records it. */
static void save_loaded(struct chat *ch)
{
	ch->retry_user_id = 0;
	if (!ch->saving)
		return;
	hist_fail(ch, chat_hist_reset(&ch->hist));
	save_settings(ch);
	for (size_t i = 0; ch->saving && i < ch->conv.n; i++) {
		struct chat_msg *m = &ch->conv.msgs[i];
		if (!strcmp(m->role, "user"))
			hist_fail(ch, chat_hist_user(&ch->hist, &ch->conv, &ch->set, m->content, &m->id));
		else
			hist_fail(ch, chat_hist_reply(&ch->hist, m->content, m->reasoning, HX_MSG_COMPLETE, "", NULL,
						      &m->id));
	}
}

/* ---- generation ---- */

/* Interrupts are counted by the signal handler; g_handled is the count already
 * acted upon, so one arriving between two reads (or while a prompt is built) is
 * never lost. */
static sig_atomic_t g_handled;
static bool sigint_pending(void) { return chat_sigint != g_handled; }
static void sigint_consume(void) { g_handled = chat_sigint; }

struct gen {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *q; /* records: kind byte, size_t length, bytes */
	size_t qlen, qcap;
	bool oom, done;
	enum hearth_finish finish;
	int error;
	char message[512];
	hearth_gen_stats stats;
};

static bool on_event(const hearth_gen_event *ev, void *user)
{
	struct gen *g = user;
	pthread_mutex_lock(&g->mu);
	if (ev->stats)
		g->stats = *ev->stats;
	if (ev->kind == HEARTH_GEN_CONTENT || ev->kind == HEARTH_GEN_REASONING) {
		size_t need = g->qlen + 1 + sizeof(size_t) + ev->len;
		if (need > g->qcap) {
			size_t cap = need * 2 + 256;
			char *q = realloc(g->q, cap);
			if (q) {
				g->q = q;
				g->qcap = cap;
			}
		}
		if (need <= g->qcap) {
			g->q[g->qlen] = (char)ev->kind;
			memcpy(g->q + g->qlen + 1, &ev->len, sizeof(size_t));
			memcpy(g->q + g->qlen + 1 + sizeof(size_t), ev->text, ev->len);
			g->qlen = need;
		} else {
			g->oom = true;
		}
	} else if (ev->kind == HEARTH_GEN_DONE) {
		g->done = true;
		g->finish = ev->finish;
		g->error = ev->error;
		snprintf(g->message, sizeof g->message, "%s", ev->message ? ev->message : "");
	}
	/* read before unlocking: once DONE is visible the waiting thread frees g */
	bool stop = g->oom;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
	return stop;
}

/* What has been printed of the current reply. */
enum shown { SHOWN_NOTHING, SHOWN_THINKING, SHOWN_CONTENT };

struct printer {
	struct chat *ch;
	enum shown shown;
	bool think_note; /* the "thinking..." placeholder of --hide-think is on screen */
	bool at_line_start;
};

static void print_piece(struct printer *pr, int kind, const char *text, size_t len)
{
	struct chat *ch = pr->ch;
	bool hide = ch->set.hide_think || !ch->interactive;
	if (kind == HEARTH_GEN_REASONING) {
		if (hide) {
			if (ch->interactive && ch->color && !pr->think_note && pr->shown == SHOWN_NOTHING) {
				printf("%sthinking...%s", ch->c.dim, ch->c.reset);
				pr->think_note = true;
			}
			return;
		}
		if (pr->shown == SHOWN_NOTHING) {
			printf("%sThinking...%s\n", ch->c.dim, ch->c.reset);
			pr->shown = SHOWN_THINKING;
		}
		printf("%s%.*s%s", ch->c.dim, (int)len, text, ch->c.reset);
	} else {
		/* The reply starts at its first visible character (SPM vocabularies
		 * put a space before the first word); the stored text keeps it, so
		 * the next turn's prompt still matches the cached tokens. */
		if (pr->shown != SHOWN_CONTENT) {
			while (len && (*text == ' ' || *text == '\n' || *text == '\r' || *text == '\t')) {
				text++;
				len--;
			}
			if (!len)
				return;
		}
		if (pr->think_note) {
			printf("\r\033[K");
			pr->think_note = false;
		}
		if (pr->shown == SHOWN_THINKING)
			printf("%s%s...done thinking.%s\n\n", pr->at_line_start ? "" : "\n", ch->c.dim, ch->c.reset);
		pr->shown = SHOWN_CONTENT;
		fwrite(text, 1, len, stdout);
	}
	if (len)
		pr->at_line_start = text[len - 1] == '\n';
}

/* Runs one request for the conversation as it stands (its last message is the
 * user's) and appends the reply.  Returns 0, or -1 when nothing was generated
 * (the reason is printed). */
static int generate(struct chat *ch, const hearth_token *ids, size_t n_ids, bool opens_think)
{
	struct gen g;
	memset(&g, 0, sizeof g);
	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.cv, NULL);
	hearth_gen_request req = hearth_gen_request_default();
	req.prompt = ids;
	req.n_prompt = n_ids;
	req.sampler = ch->set.sp;
	req.max_tokens = ch->set.max_tokens;
	req.reasoning = true;
	req.start_in_reasoning = opens_think;
	req.callback = on_event;
	req.user = &g;
	uint64_t id = 0;
	ch->stopped = false;
	int rc = hearth_engine_submit(ch->engine, &req, &id);
	if (rc) {
		cli_fail("", rc);
		pthread_mutex_destroy(&g.mu);
		pthread_cond_destroy(&g.cv);
		return -1;
	}
	/* keys typed during the reply are not echoed into it; they stay queued and
	 * appear at the next prompt */
	struct termios tio_saved;
	bool tio = ch->interactive && tcgetattr(STDIN_FILENO, &tio_saved) == 0;
	if (tio) {
		struct termios t = tio_saved;
		t.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	struct printer pr = {ch, SHOWN_NOTHING, false, true};
	/* a long prompt takes a while: turn a wheel until the first text */
	struct chat_spinner *wait = ch->interactive ? chat_spinner_start_after("", 300) : NULL;
	hx_sbuf content = {0}, reasoning = {0};
	char *local = NULL;
	size_t lcap = 0;
	bool canceled = false;
	for (;;) {
		pthread_mutex_lock(&g.mu);
		while (!g.qlen && !g.done && !(sigint_pending() && !canceled)) {
			struct timespec ts;
			cli_deadline(&ts, 50);
			pthread_cond_timedwait(&g.cv, &g.mu, &ts);
		}
		/* take the queued records */
		size_t n = g.qlen;
		if (n > lcap) {
			char *nl = realloc(local, n);
			if (nl) {
				local = nl;
				lcap = n;
			} else {
				n = 0;
				g.qlen = 0; /* dropped: the reply is reported incomplete below */
				g.oom = true;
			}
		}
		if (n) {
			memcpy(local, g.q, n);
			g.qlen = 0;
		}
		bool done = g.done;
		pthread_mutex_unlock(&g.mu);
		if (wait && (n || done || sigint_pending())) {
			chat_spinner_stop(wait);
			wait = NULL;
		}
		for (size_t o = 0; o + 1 + sizeof(size_t) <= n;) {
			int kind = local[o];
			size_t len;
			memcpy(&len, local + o + 1, sizeof len);
			const char *t = local + o + 1 + sizeof(size_t);
			hx_sbuf_add(kind == HEARTH_GEN_CONTENT ? &content : &reasoning, t, len);
			print_piece(&pr, kind, t, len);
			o += 1 + sizeof(size_t) + len;
		}
		fflush(stdout);
		if (sigint_pending() && !canceled) {
			canceled = true;
			hearth_engine_cancel(ch->engine, id); /* ENOTFOUND: it just finished */
		}
		if (done && !n)
			break;
	}
	chat_spinner_stop(wait);
	if (canceled) {
		ch->stopped = true;
		if (ch->interactive)
			sigint_consume(); /* from a pipe it stays pending: the main loop ends */
	}
	if (tio)
		tcsetattr(STDIN_FILENO, TCSANOW, &tio_saved);
	free(local);
	free(g.q);
	if (pr.think_note)
		printf("\r\033[K");
	/* end the reply's line; from a pipe every reply is one line, even an empty one */
	if ((pr.shown != SHOWN_NOTHING || !ch->interactive) && !(pr.shown != SHOWN_NOTHING && pr.at_line_start))
		putchar('\n');
	ch->last = g.stats;
	ch->have_last = true;
	ch->last_finish = g.finish;
	if (!ch->have_first && g.stats.n_gen > 0) {
		ch->first = g.stats;
		ch->have_first = true;
	}
	ch->n_replies++;
	/* the last sampled token is never decoded: it does not occupy the cache */
	ch->ctx_used = HX_MIN(g.stats.n_prompt + g.stats.n_gen, ch->n_ctx);
	int ret = 0;
	if (g.finish == HEARTH_FINISH_ERROR) {
		fprintf(stderr, "%serror: %s%s\n", ch->c.red, g.message[0] ? g.message : hearth_strerror(g.error),
			ch->c.reset);
		ret = -1;
	} else if (g.finish == HEARTH_FINISH_CANCELED) {
		if (ch->interactive)
			printf("%s[stopped; Ctrl-C again to leave, !retry to generate it again]%s\n", ch->c.dim,
			       ch->c.reset);
		if (!content.len)
			ret = -1;
	} else if (g.finish == HEARTH_FINISH_LENGTH &&
		   (ch->set.max_tokens <= 0 || g.stats.n_gen < ch->set.max_tokens)) {
		printf("%s[context full: %" PRId32 " of %" PRId32 " tokens used. Use !reset to start over%s]%s\n",
		       ch->c.dim, ch->ctx_used, ch->n_ctx,
		       ch->overflow == OVERFLOW_DROP ? "; the oldest turns will be dropped next time"
						     : ", or restart with --context-overflow=drop-oldest",
		       ch->c.reset);
	}
	int status = g.finish == HEARTH_FINISH_ERROR      ? HX_MSG_ERROR
	             : g.finish == HEARTH_FINISH_CANCELED ? HX_MSG_STOPPED
	                                                  : HX_MSG_COMPLETE;
	const char *why = status == HX_MSG_ERROR ? (g.message[0] ? g.message : hearth_strerror(g.error)) : "";
	if (content.oom || reasoning.oom || g.oom) {
		fprintf(stderr, "error: out of memory while storing the reply\n");
		ret = -1;
		status = HX_MSG_ERROR;
		why = "out of memory while storing the reply";
	}
	int64_t rid = save_reply(ch, content.p, reasoning.p, status, why, &g.stats);
	ch->failed_reply_id = ret ? rid : 0;
	if (ret == 0 && chat_conv_add(&ch->conv, "assistant", content.p ? content.p : "", content.len,
				      reasoning.p, reasoning.len) != 0) {
		fprintf(stderr, "error: out of memory while storing the reply\n");
		ret = -1;
	}
	if (ret == 0)
		ch->conv.msgs[ch->conv.n - 1].id = rid;
	free(content.p);
	free(reasoning.p);
	pthread_mutex_destroy(&g.mu);
	pthread_cond_destroy(&g.cv);
	return ret;
}

/* Index just past the oldest turn (its user message and the replies up to the
 * next user message), or 0 when only the last user message is left. */
static size_t oldest_turn_end(const struct chat_conv *c)
{
	size_t i = 1;
	while (i < c->n && strcmp(c->msgs[i].role, "user") != 0)
		i++;
	return i >= c->n ? 0 : i;
}

/* Replies to the conversation, whose last message is the user's.  On failure
 * the user message is taken back out (and kept for !retry). */
static void reply(struct chat *ch)
{
	hearth_token *ids = NULL;
	size_t n_ids = 0;
	bool opens = false;
	size_t dropped = 0;
	int rc;
	/* Room for the reply when turns may be dropped: what max_tokens asks for, at
	 * most a quarter of the context. */
	int32_t reserve = ch->set.max_tokens > 0 ? ch->set.max_tokens : ch->n_ctx / 4;
	if (reserve > ch->n_ctx / 4)
		reserve = ch->n_ctx / 4;
	for (;;) {
		free(ids);
		ids = NULL;
		rc = build_prompt(ch, &ids, &n_ids, &opens);
		if (rc)
			break;
		bool fits = ch->overflow == OVERFLOW_DROP ? n_ids + (size_t)reserve <= (size_t)ch->n_ctx
							  : n_ids < (size_t)ch->n_ctx;
		if (fits)
			break;
		size_t end = ch->overflow == OVERFLOW_DROP ? oldest_turn_end(&ch->conv) : 0;
		if (!end) {
			rc = HEARTH_ECTXFULL;
			break;
		}
		chat_conv_drop_front(&ch->conv, end);
		dropped += end;
	}
	if (dropped)
		printf("%s[context full: dropped the oldest %zu message%s]%s\n", ch->c.dim, dropped,
		       dropped == 1 ? "" : "s", ch->c.reset);
	if (rc == HEARTH_ECTXFULL) {
		if (ch->conv.n <= 1)
			printf("%s[this message needs %zu tokens but the context holds %" PRId32
			       ": shorten it or restart with a larger --ctx]%s\n",
			       ch->c.red, n_ids, ch->n_ctx, ch->c.reset);
		else
			printf("%s[context full: the conversation needs %zu tokens but the context holds %" PRId32
			       ". Use !reset to start over, or restart with --context-overflow=drop-oldest]%s\n",
			       ch->c.red, n_ids, ch->n_ctx, ch->c.reset);
	} else if (rc) {
		cli_fail("", rc);
	}
	if (rc) {
		char why[600];
		if (rc == HEARTH_ECTXFULL)
			snprintf(why, sizeof why, "context full: the conversation needs %zu tokens, the context holds %" PRId32,
				 n_ids, ch->n_ctx);
		else
			snprintf(why, sizeof why, "%s", hearth_errmsg()[0] ? hearth_errmsg() : hearth_strerror(rc));
		ch->failed_reply_id = save_reply(ch, "", "", HX_MSG_ERROR, why, NULL);
	}
	if (!rc && generate(ch, ids, n_ids, opens) == 0) {
		free(ids);
		free(ch->retry_text);
		ch->retry_text = NULL;
		return;
	}
	free(ids);
	ch->had_error = true;
	/* take the user message back; !retry sends it again */
	if (ch->conv.n && !strcmp(ch->conv.msgs[ch->conv.n - 1].role, "user")) {
		free(ch->retry_text);
		ch->retry_text = hx_strdup(ch->conv.msgs[ch->conv.n - 1].content);
		ch->retry_user_id = ch->conv.msgs[ch->conv.n - 1].id;
		ch->retry_reply_id = ch->failed_reply_id;
		chat_conv_pop(&ch->conv);
	}
}

/* ---- commands ---- */

static void print_help(struct chat *ch)
{
	printf("commands ('/' works as well as '!'):\n"
	       "  !help                 this list\n"
	       "  !exit, !quit          leave (also Ctrl-D, or Ctrl-C twice)\n"
	       "  !reset                forget the conversation (keeps the system prompt)\n"
	       "  !set PARAM VALUE      change a setting: %s\n"
	       "                        (think on|off, hide_think on|off, system TEXT; !set system clears it)\n"
	       "  !show                 settings, model and context use\n"
	       "  !stats                speed and time to first token of the last reply\n"
	       "  !save FILE            write the conversation as JSON\n"
	       "  !load FILE            read a conversation written by !save\n"
	       "  !retry                generate the last reply again\n"
	       "input: end a line with \\ to continue it; put a block between lines of \"\"\"; start a\n"
	       "message with a space to send a leading ! or /.  Ctrl-C stops a reply.\n",
	       chat_settings_names());
	(void)ch;
}

static void human_size(uint64_t b, char *out, size_t n)
{
	if (b >= (1ull << 30))
		snprintf(out, n, "%.1f GiB", (double)b / (1ull << 30));
	else
		snprintf(out, n, "%.1f MiB", (double)b / (1ull << 20));
}

static void print_show(struct chat *ch)
{
	char sz[32];
	human_size(ch->file.size, sz, sizeof sz);
	printf("model:     %s (%s, %s, %s%s%s)\n", ch->file.name, ch->file.path, hearth_model_arch(ch->model), sz,
	       ch->file.quant[0] ? ", " : "", ch->file.quant);
	printf("template:  %s\n", !strcmp(ch->tmpl_name, "model") ? "the model's own" : ch->tmpl_name);
	/* what the next turn starts from: the conversation rendered as it stands */
	hearth_token *ids = NULL;
	size_t n_ids = 0;
	bool opens;
	if (build_prompt(ch, &ids, &n_ids, &opens) == 0)
		printf("context:   %zu of %" PRId32 " tokens used (%zu message%s); overflow: %s\n", n_ids, ch->n_ctx,
		       ch->conv.n, ch->conv.n == 1 ? "" : "s", ch->overflow == OVERFLOW_DROP ? "drop-oldest" : "stop");
	else
		printf("context:   ? of %" PRId32 " tokens (%zu message%s; the template failed: %s)\n", ch->n_ctx,
		       ch->conv.n, ch->conv.n == 1 ? "" : "s", hearth_errmsg());
	free(ids);
	printf("threads:   %d\n", ch->n_threads ? ch->n_threads : hx_n_cpus());
	if (ch->saving && ch->hist.chat_id)
		printf("saved:     chat %" PRId64 " in %s\n", ch->hist.chat_id, ch->hist.path);
	else if (ch->saving)
		printf("saved:     in %s from the first message\n", ch->hist.path);
	else
		printf("saved:     no (--save records the conversation)\n");
	if (ch->conv.system)
		printf("system:    %s\n", ch->conv.system);
	else
		printf("system:    (none)\n");
	printf("settings:\n");
	chat_settings_print(&ch->set, stdout, "  ");
}

static void print_stats(struct chat *ch)
{
	if (!ch->have_last) {
		printf("no reply yet\n");
		return;
	}
	const hearth_gen_stats *s = &ch->last;
	int32_t evaluated = s->n_prompt - s->n_cached;
	printf("last reply:  %" PRId32 " tokens in %.2f s (%.1f tokens/s), finish: %s\n", s->n_gen, s->gen_ms / 1e3,
	       s->gen_ms > 0 ? s->n_gen / (s->gen_ms / 1e3) : 0.0, hearth_finish_name(ch->last_finish));
	printf("prompt:      %" PRId32 " tokens, %" PRId32 " reused from the cache, %" PRId32
	       " evaluated in %.1f ms (%.1f tokens/s)\n",
	       s->n_prompt, s->n_cached, evaluated, s->prompt_ms,
	       s->prompt_ms > 0 ? evaluated / (s->prompt_ms / 1e3) : 0.0);
	printf("first token: %.1f ms after sending", s->ttft_ms);
	if (ch->have_first && ch->n_replies > 1)
		printf(" (first turn: %.1f ms for %" PRId32 " prompt tokens, %" PRId32 " reused)", ch->first.ttft_ms,
		       ch->first.n_prompt, ch->first.n_cached);
	printf("\n");
	printf("context:     %" PRId32 " of %" PRId32 " tokens after the reply\n", ch->ctx_used, ch->n_ctx);
}

/* Splits "word rest" in place: returns the rest (trimmed), NUL-terminating word. */
static char *split_word(char *s)
{
	while (*s && *s != ' ' && *s != '\t')
		s++;
	if (!*s)
		return s;
	*s++ = 0;
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = 0;
	return s;
}

enum cmd_result { CMD_OK, CMD_EXIT };

static int command(struct chat *ch, char *line)
{
	char *name = line + 1;
	char *arg = split_word(name);
	char err[512];
	if (!strcmp(name, "help") || !strcmp(name, "?") || !strcmp(name, "h")) {
		print_help(ch);
	} else if (!strcmp(name, "exit") || !strcmp(name, "quit") || !strcmp(name, "bye") || !strcmp(name, "q")) {
		return CMD_EXIT;
	} else if (!strcmp(name, "reset") || !strcmp(name, "clear")) {
		/* retry_text survives: after "context full", !reset then !retry resends it */
		chat_conv_clear(&ch->conv);
		ch->ctx_used = 0;
		if (ch->saving)
			hist_fail(ch, chat_hist_reset(&ch->hist));
		ch->retry_user_id = 0; /* before context_from now: !retry stores it again */
		printf("conversation cleared%s%s\n", ch->conv.system ? " (the system prompt is kept)" : "",
		       ch->retry_text ? "; !retry sends your last message again" : "");
	} else if (!strcmp(name, "set")) {
		char *value = split_word(arg);
		if (!arg[0]) {
			printf("usage: !set PARAM VALUE (parameters: %s)\n", chat_settings_names());
		} else if (!strcasecmp(arg, "system")) {
			if (chat_conv_set_system(&ch->conv, value) != 0) {
				fprintf(stderr, "error: out of memory\n");
			} else {
				printf(value[0] ? "system prompt set\n" : "system prompt cleared\n");
				save_settings(ch);
			}
		} else if (!strcasecmp(arg, "ctx") || !strcasecmp(arg, "threads")) {
			printf("%s is fixed when the model loads: restart with --%s\n", arg, arg);
		} else if (chat_settings_set(&ch->set, arg, value, err, sizeof err) != 0) {
			printf("%s%s%s\n", ch->c.red, err, ch->c.reset);
		} else {
			printf("%s = %s\n", arg, value);
			save_settings(ch);
		}
	} else if (!strcmp(name, "show")) {
		print_show(ch);
	} else if (!strcmp(name, "stats")) {
		print_stats(ch);
	} else if (!strcmp(name, "save")) {
		if (!arg[0])
			printf("usage: !save FILE\n");
		else if (chat_conv_save(&ch->conv, &ch->set, ch->file.name, arg, err, sizeof err) != 0)
			printf("%s%s%s\n", ch->c.red, err, ch->c.reset);
		else
			printf("saved %zu message%s to %s\n", ch->conv.n, ch->conv.n == 1 ? "" : "s", arg);
	} else if (!strcmp(name, "load")) {
		if (!arg[0]) {
			printf("usage: !load FILE\n");
		} else if (chat_conv_load(&ch->conv, &ch->set, arg, err, sizeof err) != 0) {
			printf("%s%s%s\n", ch->c.red, err, ch->c.reset);
		} else {
			free(ch->retry_text);
			ch->retry_text = NULL;
			printf("loaded %zu message%s from %s%s\n", ch->conv.n, ch->conv.n == 1 ? "" : "s", arg,
			       ch->conv.system ? " (with a system prompt)" : "");
			save_loaded(ch);
		}
	} else if (!strcmp(name, "retry")) {
		if (ch->conv.n && !strcmp(ch->conv.msgs[ch->conv.n - 1].role, "assistant")) {
			if (ch->saving)
				hist_fail(ch, chat_hist_delete(&ch->hist, ch->conv.msgs[ch->conv.n - 1].id));
			chat_conv_pop(&ch->conv);
			reply(ch);
		} else if (ch->retry_text) {
			char *t = ch->retry_text;
			ch->retry_text = NULL;
			if (chat_conv_add(&ch->conv, "user", t, strlen(t), NULL, 0) == 0) {
				if (ch->retry_user_id) { /* stored already: replace its failed reply */
					ch->conv.msgs[ch->conv.n - 1].id = ch->retry_user_id;
					if (ch->saving)
						hist_fail(ch, chat_hist_delete(&ch->hist, ch->retry_reply_id));
				} else {
					save_user(ch);
				}
				ch->retry_user_id = ch->retry_reply_id = 0;
				reply(ch);
			}
			free(t);
		} else {
			printf("nothing to retry\n");
		}
	} else {
		printf("unknown command '%c%s': type !help for the list\n", line[0], name);
	}
	return CMD_OK;
}

/* ---- main ---- */

static bool valid_utf8(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	json_decref(j);
	return j != NULL;
}

static int history_path(char **out)
{
	char *d;
	*out = NULL;
	if (hearth_data_dir_default(&d) != 0)
		return -1;
	/* create the data directory (and its parents) privately */
	for (char *p = d + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = 0;
			if (mkdir(d, 0700) != 0 && errno != EEXIST) {
				free(d);
				return -1;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	size_t n = strlen(d) + 16;
	*out = malloc(n);
	if (*out)
		snprintf(*out, n, "%s/chat_history", d);
	free(d);
	return *out ? 0 : -1;
}

static void list_models(const char *models_dir)
{
	hearth_model_dirs dirs = {models_dir, NULL};
	hearth_model_file *l = NULL;
	size_t n = 0;
	char *md = NULL, *hf = NULL;
	if (!models_dir)
		hearth_models_dir_default(&md);
	hearth_hf_cache_default(&hf);
	if (hearth_model_list(&dirs, &l, &n) != 0 || n == 0) {
		fprintf(stderr,
			"no models found in %s or in the Hugging Face cache %s.\n"
			"Put .gguf files in the models directory (or pass --models-dir DIR), or give a path to a "
			".gguf file.\n",
			models_dir ? models_dir : md ? md : "(no models directory)", hf ? hf : "(none)");
	} else {
		fprintf(stderr, "available models:\n");
		for (size_t i = 0; i < n; i++) {
			char sz[32];
			human_size(l[i].size, sz, sizeof sz);
			fprintf(stderr, "  %-40s %9s  %s\n", l[i].name, sz,
				l[i].source == HEARTH_MODEL_SRC_HF ? "(Hugging Face cache)" : "");
		}
	}
	hearth_model_list_free(l, n);
	free(md);
	free(hf);
}

static void chat_free(struct chat *ch)
{
	hearth_engine_free(ch->engine);
	hearth_chat_template_free(ch->tmpl);
	hearth_vocab_free(ch->vocab);
	hearth_model_free(ch->model);
	hearth_model_file_clear(&ch->file);
	chat_conv_free(&ch->conv);
	free(ch->bos_text);
	free(ch->eos_text);
	free(ch->retry_text);
	chat_hist_close(&ch->hist);
}

int cmd_chat(int argc, char **argv)
{
	struct chat ch;
	memset(&ch, 0, sizeof ch);
	chat_settings_default(&ch.set);
	struct cli_model_opts mo = cli_model_opts_default(CLI_MO_MODEL | CLI_MO_CTX | CLI_MO_THREADS | CLI_MO_KV);
	const char *models_dir = NULL, *system = NULL, *db = NULL, *title = NULL;
	long long chat_id = 0;
	bool no_history = false;
	unsigned given = 0; /* settings set by flags: they win over a stored chat's */
	char err[512];
	setlocale(LC_CTYPE, "");

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq = NULL;
		char opt[64];
		/* --name=value spelling */
		if (!strncmp(a, "--", 2) && (eq = strchr(a, '=')) && (size_t)(eq - a) < sizeof opt) {
			memcpy(opt, a, (size_t)(eq - a));
			opt[eq - a] = 0;
			a = opt;
		}
#define NEXT() (eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL))
		int r = cli_model_opt(&mo, a, eq ? eq + 1 : i + 1 < argc ? argv[i + 1] : NULL);
		if (r < 0)
			return 2;
		if (r > 0) {
			i += !eq;
			continue;
		}
		if (cli_is(a, "-h", "--help")) {
			usage(stdout);
			return 0;
		} else if (cli_is(a, "--models-dir", NULL)) {
			if (!cli_str(a, NEXT(), &models_dir))
				return 2;
		} else if (cli_is(a, "--template", NULL)) {
			if (!cli_str(a, NEXT(), &ch.template_arg))
				return 2;
		} else if (cli_is(a, "--system", NULL)) {
			if (!cli_str(a, NEXT(), &system))
				return 2;
		} else if (cli_is(a, "--temp", "--temperature") || cli_is(a, "--top-p", "--min-p") ||
			   cli_is(a, "--repeat-penalty", "--top-k") || cli_is(a, "--seed", NULL) ||
			   cli_is(a, "-n", "--max-tokens")) {
			const char *v;
			if (!cli_str(a, NEXT(), &v))
				return 2;
			const char *pname = a[1] == '-' ? a + 2 : "max_tokens";
			if (chat_settings_set(&ch.set, pname, v, err, sizeof err) != 0) {
				fprintf(stderr, "error: %s: %s\n", a, err);
				return 2;
			}
			given |= chat_settings_bit(pname);
		} else if (cli_is(a, "--think", "--no-think")) {
			ch.set.think = a[2] == 't';
			given |= chat_settings_bit("think");
		} else if (cli_is(a, "--hide-think", NULL)) {
			ch.set.hide_think = true;
			given |= chat_settings_bit("hide_think");
		} else if (cli_is(a, "--save", NULL)) {
			ch.saving = true;
		} else if (cli_is(a, "--db", "--title")) {
			if (!cli_str(a, NEXT(), a[2] == 'd' ? &db : &title))
				return 2;
			ch.saving = true;
		} else if (cli_is(a, "--chat-id", NULL)) {
			if (!cli_int(a, NEXT(), 1, INT64_MAX, &chat_id))
				return 2;
			ch.saving = true;
		} else if (cli_is(a, "--no-history", NULL)) {
			no_history = true;
		} else if (cli_is(a, "--context-overflow", NULL)) {
			const char *v = NEXT();
			if (v && !strcmp(v, "drop-oldest"))
				ch.overflow = OVERFLOW_DROP;
			else if (v && !strcmp(v, "stop"))
				ch.overflow = OVERFLOW_STOP;
			else {
				fprintf(stderr, "error: --context-overflow expects 'stop' or 'drop-oldest'\n");
				return 2;
			}
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "error: unknown option '%s' (see hearth chat --help)\n", argv[i]);
			return 2;
		} else if (!mo.model) {
			mo.model = a;
		} else {
			fprintf(stderr, "error: unexpected argument '%s' (see hearth chat --help)\n", a);
			return 2;
		}
		if (eq && !(cli_is(a, "--models-dir", "--system") || cli_is(a, "--template", "--db") ||
			    cli_is(a, "--title", "--chat-id") ||
			    cli_is(a, "--temp", "--temperature") || cli_is(a, "--top-p", "--min-p") || cli_is(a, "--repeat-penalty", "--top-k") ||
			    cli_is(a, "--seed", "--max-tokens") || cli_is(a, "--context-overflow", NULL))) {
			fprintf(stderr, "error: %s takes no value\n", a);
			return 2;
		}
#undef NEXT
	}
	ch.n_ctx = (int32_t)mo.n_ctx;
	ch.n_threads = (int)mo.n_threads;
	ch.kv_type = mo.kv_type;
	const char *model_arg = mo.model;
	if (!model_arg && !chat_id) {
		fprintf(stderr, "error: no model given: hearth chat -m MODEL (see hearth chat --help)\n");
		list_models(models_dir);
		return 2;
	}

	ch.interactive = isatty(STDIN_FILENO);
	ch.color = ch.interactive && cli_color(stdout);
	chat_colors_init(&ch.c, ch.color);

	/* --save: open the history database; --chat-id: continue a stored chat, its
	 * settings overridden by the flags given, its model the default */
	char *stored_model = NULL;
	size_t n_skipped = 0;
	int rc;
	if (ch.saving) {
		struct chat_settings flags = ch.set;
		if ((rc = chat_hist_open(&ch.hist, db, chat_id, title)) ||
		    (chat_id && (rc = chat_hist_load(&ch.hist, &ch.conv, &ch.set, &stored_model, &n_skipped)))) {
			cli_fail(rc == HEARTH_ENOTFOUND ? "" : "history", rc);
			chat_free(&ch);
			return 1;
		}
		chat_settings_copy(&ch.set, &flags, given);
		if (!model_arg && !(model_arg = stored_model)) {
			fprintf(stderr, "error: chat %lld names no model: give one with -m MODEL\n", chat_id);
			chat_free(&ch);
			return 2;
		}
	}
	chat_term_signals();

	hearth_model_dirs dirs = {models_dir, NULL};
	rc = hearth_model_resolve(model_arg, &dirs, HEARTH_RESOLVE_PATHS, &ch.file);
	if (rc) {
		cli_fail("", rc);
		if (model_arg == stored_model)
			fprintf(stderr, "(the model of chat %lld: give another with -m MODEL, or --models-dir DIR)\n",
				chat_id);
		if (rc == HEARTH_ENOTFOUND)
			list_models(models_dir);
		free(stored_model);
		chat_free(&ch);
		return 1;
	}
	free(stored_model);
	if (system && chat_conv_set_system(&ch.conv, system) != 0) {
		chat_free(&ch);
		return cli_fail("", HEARTH_ENOMEM);
	}
	if (ch.saving) {
		if (!(ch.hist.model = hx_strdup(ch.file.name))) {
			chat_free(&ch);
			return cli_fail("", HEARTH_ENOMEM);
		}
		if (chat_id && (system || given))
			save_settings(&ch);
	}
	if (load_with_spinner(&ch) != 0) {
		chat_free(&ch);
		return 1;
	}

	char *hist = NULL;
	if (ch.interactive && !no_history && history_path(&hist) != 0)
		fprintf(stderr, "note: no history file (cannot create the data directory)\n");
	struct chat_term *term = NULL;
	if (chat_term_open(ch.interactive, hist, &term) != 0) {
		free(hist);
		chat_free(&ch);
		return cli_fail("", HEARTH_ENOMEM);
	}
	free(hist);

	if (ch.interactive) {
		char sz[32];
		human_size(ch.file.size, sz, sizeof sz);
		printf("%shearth %s%s - %s (%s, %s%s%s, context %" PRId32 ")\n", ch.c.bold, HEARTH_VERSION, ch.c.reset,
		       ch.file.name, hearth_model_arch(ch.model), sz, ch.file.quant[0] ? ", " : "", ch.file.quant,
		       ch.n_ctx);
		if (ch.saving && chat_id)
			printf("%scontinuing chat %lld: %zu message%s%s, saved in %s%s\n", ch.c.dim, chat_id, ch.conv.n,
			       ch.conv.n == 1 ? "" : "s", n_skipped ? " (and some not sent to the model)" : "",
			       ch.hist.path, ch.c.reset);
		else if (ch.saving)
			printf("%sthe conversation is saved in %s%s\n", ch.c.dim, ch.hist.path, ch.c.reset);
		printf("%sType a message, !help for commands, Ctrl-D or !exit to leave.%s\n", ch.c.dim, ch.c.reset);
	}

	bool armed = false; /* a Ctrl-C now leaves */
	bool interrupted = false;
	for (;;) {
		char *line = NULL;
		fflush(stdout);
		int r;
		if (sigint_pending()) /* arrived while a command ran */
			r = CHAT_READ_INTERRUPT;
		else
			r = chat_term_read(term, ">>> ", &line);
		if (r == CHAT_READ_INTERRUPT)
			sigint_consume();
		if (r == CHAT_READ_EOF) {
			if (ch.interactive)
				printf("\n");
			break;
		}
		if (r == CHAT_READ_INTERRUPT) {
			if (armed || !ch.interactive) {
				printf("\n");
				interrupted = !ch.interactive;
				break;
			}
			printf("^C\n%s(Ctrl-C again or Ctrl-D to leave)%s\n", ch.c.dim, ch.c.reset);
			armed = true;
			continue;
		}
		armed = false;
		ch.stopped = false;
		const char *lead = line;
		if (line[0] == '!' || line[0] == '/') {
			int cr = command(&ch, line);
			free(line);
			if (cr == CMD_EXIT)
				break;
			if (!ch.interactive && sigint_pending()) {
				interrupted = true;
				break;
			}
			if (ch.stopped)
				armed = true;
			continue;
		}
		while (*lead == ' ' || *lead == '\t')
			lead++;
		if (!*lead) {
			free(line);
			continue;
		}
		size_t len = strlen(lead);
		if (!valid_utf8(lead, len)) {
			printf("%sthe message is not valid UTF-8: not sent%s\n", ch.c.red, ch.c.reset);
			free(line);
			continue;
		}
		if (chat_conv_add(&ch.conv, "user", lead, len, NULL, 0) != 0) {
			free(line);
			fprintf(stderr, "error: out of memory\n");
			break;
		}
		free(line);
		save_user(&ch);
		reply(&ch);
		if (!ch.interactive && sigint_pending()) {
			interrupted = true; /* a script interrupted: stop there */
			break;
		}
		if (ch.interactive)
			printf("\n");
		if (ch.stopped)
			armed = true;
	}
	chat_term_close(term);
	int status = interrupted ? 130 : !ch.interactive && ch.had_error ? 1 : 0;
	chat_free(&ch);
	return status;
}
