/*
 * main.c - the `hearth` program: dispatches to a subcommand.
 */
#include "cli/cli.h"
#include "util/util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct command {
	const char *name;
	cli_cmd_fn fn;
	const char *summary;
};

static const struct command k_commands[] = {
	{"chat", cmd_chat, "talk to a model in the terminal"},
	{"info", cmd_info, "show a GGUF file's metadata, tokenizer and tensors"},
	{"tokenize", cmd_tokenize, "print the token ids of a text (JSON)"},
	{"detokenize", cmd_detokenize, "print the text of token ids"},
	{"logits", cmd_logits, "print the logits of a token sequence as JSON lines"},
	{"perplexity", cmd_perplexity, "perplexity of a model on a text file"},
	{"run", cmd_run, "stream a model's continuation of a prompt"},
	{"serve", cmd_serve, "serve models over an OpenAI-compatible HTTP API"},
	{"bench", cmd_bench, "measure prompt-processing and generation speed"},
	{"quantize", cmd_quantize, "convert an F32/F16/BF16 model to a quantized GGUF"},
	{"template", cmd_template, "render a chat template for a conversation (JSON)"},
	{"history", cmd_history, "list, show, search, export, import and delete stored chats"},
};

static void usage(FILE *f)
{
	fprintf(f, "hearth %s - local, private LLM chat\n\n"
	           "usage: hearth <command> [options]\n\ncommands:\n",
	        HEARTH_VERSION);
	for (size_t i = 0; i < HX_ARRAY_LEN(k_commands); i++)
		fprintf(f, "  %-12s %s\n", k_commands[i].name, k_commands[i].summary);
	fprintf(f, "\nRun 'hearth <command> --help' for a command's options.\n");
}

int cli_fail(const char *what, int err)
{
	const char *msg = hearth_errmsg();
	if (!msg[0])
		msg = hearth_strerror(err);
	if (what && what[0])
		fprintf(stderr, "error: %s: %s\n", what, msg);
	else
		fprintf(stderr, "error: %s\n", msg);
	return 1;
}

bool cli_is(const char *arg, const char *a, const char *b)
{
	return (a && strcmp(arg, a) == 0) || (b && strcmp(arg, b) == 0);
}

bool cli_str(const char *opt, const char *val, const char **out)
{
	if (!val) {
		fprintf(stderr, "error: %s needs a value\n", opt);
		return false;
	}
	*out = val;
	return true;
}

bool cli_int(const char *opt, const char *val, long long lo, long long hi, long long *out)
{
	char *end;
	if (!val) {
		fprintf(stderr, "error: %s needs a value\n", opt);
		return false;
	}
	errno = 0;
	long long v = strtoll(val, &end, 10);
	if (errno || end == val || *end || v < lo || v > hi) {
		fprintf(stderr, "error: %s expects a whole number from %lld to %lld, got '%s'\n", opt, lo, hi, val);
		return false;
	}
	*out = v;
	return true;
}

bool cli_float(const char *opt, const char *val, double lo, double hi, double *out)
{
	char *end;
	if (!val) {
		fprintf(stderr, "error: %s needs a value\n", opt);
		return false;
	}
	errno = 0;
	double v = strtod(val, &end);
	if (errno || end == val || *end || !(v >= lo && v <= hi)) {
		fprintf(stderr, "error: %s expects a number from %g to %g, got '%s'\n", opt, lo, hi, val);
		return false;
	}
	*out = v;
	return true;
}

bool cli_kv_type(const char *opt, const char *val, int *out)
{
	if (val && strcmp(val, "f16") == 0) {
		*out = HEARTH_TYPE_F16;
	} else if (val && strcmp(val, "f32") == 0) {
		*out = HEARTH_TYPE_F32;
	} else {
		fprintf(stderr, "error: %s expects f16 or f32%s%s%s\n", opt, val ? ", got '" : "", val ? val : "",
		        val ? "'" : "");
		return false;
	}
	return true;
}

struct cli_model_opts cli_model_opts_default(unsigned accept)
{
	struct cli_model_opts o = {accept, NULL, 0, 0, 1 << 24, 0, 512, HEARTH_TYPE_F16};
	return o;
}

int cli_model_opt(struct cli_model_opts *o, const char *arg, const char *val)
{
	bool ok;
	if ((o->accept & CLI_MO_MODEL) && cli_is(arg, "-m", "--model")) {
		ok = cli_str(arg, val, &o->model);
	} else if ((o->accept & CLI_MO_CTX) && cli_is(arg, "-c", "--ctx")) {
		ok = cli_int(arg, val, o->ctx_min, o->ctx_max, &o->n_ctx);
	} else if ((o->accept & CLI_MO_THREADS) && cli_is(arg, "-t", "--threads")) {
		ok = cli_int(arg, val, 0, 1024, &o->n_threads);
	} else if ((o->accept & CLI_MO_BATCH) && cli_is(arg, "-b", "--batch")) {
		ok = cli_int(arg, val, 1, 65536, &o->n_batch);
	} else if ((o->accept & CLI_MO_KV) && cli_is(arg, "--kv-type", NULL)) {
		ok = cli_kv_type(arg, val, &o->kv_type);
	} else {
		return 0;
	}
	return ok ? 1 : -1;
}

int cli_model_load(const struct cli_model_opts *o, hearth_model **out)
{
	hearth_model_params mp = hearth_model_default_params();
	mp.n_threads = (int)o->n_threads;
	int rc = hearth_model_load(o->model, &mp, out);
	if (rc)
		cli_fail("", rc);
	return rc;
}

int cli_ctx_open(const struct cli_model_opts *o, hearth_model *model, int32_t n_ctx, int32_t n_tokens, hearth_ctx **ctx,
                 hearth_batch *b)
{
	hearth_ctx_params cp = hearth_ctx_default_params();
	cp.n_ctx = n_ctx;
	cp.n_batch = (int32_t)o->n_batch;
	cp.kv_type = o->kv_type;
	int rc;
	if ((rc = hearth_ctx_create(model, &cp, ctx)) || (rc = hearth_batch_init(b, n_tokens)))
		cli_fail("", rc);
	return rc;
}

int cli_read_input(const char *path, size_t max, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (strcmp(path, "-") != 0) {
		struct stat st;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
			return hx_err(HEARTH_ELIMIT, "%s: over %zu MiB", path, max >> 20);
		return hx_read_file(path, out, len);
	}
	return hx_read_stream(stdin, "standard input", max, out, len);
}

void cli_deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

bool cli_color(FILE *f)
{
	const char *nc = getenv("NO_COLOR");
	if (nc && nc[0])
		return false;
	const char *term = getenv("TERM");
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(fileno(f));
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (cli_is(argv[1], "-h", "--help") || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (cli_is(argv[1], "-V", "--version")) {
		printf("hearth %s\n", HEARTH_VERSION);
		return 0;
	}
	for (size_t i = 0; i < HX_ARRAY_LEN(k_commands); i++)
		if (strcmp(argv[1], k_commands[i].name) == 0)
			return k_commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "error: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
