/*
 * cmd_perplexity.c - `hearth perplexity -m MODEL -f TEXT [--ctx N]`: the model's
 * perplexity on a text, computed the way llama.cpp's llama-perplexity does.
 *
 * The text is tokenized once (no BOS) and cut into chunks of n_ctx tokens.  Each
 * chunk is evaluated in a fresh sequence, its first token replaced by BOS when the
 * vocabulary adds one, and only the second half of each chunk is scored, so every
 * scored token has at least n_ctx/2 tokens of context.  A text shorter than one
 * chunk is scored as a single chunk of its own length.  Prints the running value
 * after each chunk and the final perplexity with its standard error.
 */
#include "cli/cli.h"
#include "util/util.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: hearth perplexity -m MODEL -f TEXT [options]\n\n"
	           "Perplexity of MODEL on the text in FILE ('-' reads stdin), in chunks of --ctx tokens;\n"
	           "the second half of each chunk is scored (as llama.cpp's llama-perplexity does).\n\n"
	           "options:\n"
	           "  -m, --model FILE     GGUF model\n"
	           "  -f, --file FILE      text to score ('-': standard input)\n"
	           "  -c, --ctx N          tokens per chunk (default 512; a shorter text is one chunk)\n"
	           "  --chunks N           score at most N chunks (default: all)\n"
	           "  -t, --threads N      threads (default: all cores)\n"
	           "  -b, --batch N        prefill chunk size (default 512)\n"
	           "  --kv-type f16|f32    KV cache element type (default f16)\n"
	           "  -h, --help           this help\n");
}

/* -log p(target) from one row of logits, in double precision. */
static double nll(const float *lg, int32_t n_vocab, int32_t target)
{
	float mx = -INFINITY;
	for (int32_t j = 0; j < n_vocab; j++)
		mx = lg[j] > mx ? lg[j] : mx;
	double sum = 0.0;
	for (int32_t j = 0; j < n_vocab; j++)
		sum += exp((double)lg[j] - (double)mx);
	return (double)mx + log(sum) - (double)lg[target];
}

int cmd_perplexity(int argc, char **argv)
{
	struct cli_model_opts mo =
		cli_model_opts_default(CLI_MO_MODEL | CLI_MO_CTX | CLI_MO_THREADS | CLI_MO_BATCH | CLI_MO_KV);
	mo.n_ctx = 512;
	mo.ctx_min = 8;
	mo.ctx_max = 1 << 20;
	const char *file = NULL;
	long long max_chunks = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int r = cli_model_opt(&mo, a, v);
		if (r) {
			if (r < 0)
				return 2;
			i++;
		} else if (cli_is(a, "-h", "--help")) {
			usage(stdout);
			return 0;
		} else if (cli_is(a, "-f", "--file")) {
			if (!cli_str(a, v, &file))
				return 2;
			i++;
		} else if (cli_is(a, "--chunks", NULL)) {
			if (!cli_int(a, v, 1, 1 << 30, &max_chunks))
				return 2;
			i++;
		} else {
			fprintf(stderr, "error: unknown argument '%s' (see hearth perplexity --help)\n", a);
			return 2;
		}
	}
	if (!mo.model || !file) {
		fprintf(stderr, "error: -m MODEL and -f TEXT are required\n\n");
		usage(stderr);
		return 2;
	}

	int status = 1, rc;
	char *text = NULL;
	size_t text_len = 0;
	int32_t *toks = NULL;
	hearth_model *model = NULL;
	hearth_vocab *vocab = NULL;
	hearth_ctx *ctx = NULL;
	hearth_batch b = {0};

	if (strcmp(file, "-") == 0)
		rc = hx_read_file("/dev/stdin", &text, &text_len);
	else
		rc = hx_read_file(file, &text, &text_len);
	if (rc) {
		cli_fail("", rc);
		goto out;
	}
	if (cli_model_load(&mo, &model))
		goto out;
	if ((rc = hearth_vocab_load(hearth_model_gguf(model), &vocab))) {
		cli_fail("", rc);
		goto out;
	}
	size_t n_tok = 0;
	if ((rc = hearth_tokenize_alloc(vocab, text, text_len, false, false, &toks, &n_tok))) {
		cli_fail("tokenize", rc);
		goto out;
	}
	if (n_tok < 4) {
		fprintf(stderr, "error: %s: the text is only %zu tokens; perplexity needs at least 4\n", file, n_tok);
		goto out;
	}
	int32_t chunk = (int32_t)HX_MIN((long long)n_tok, mo.n_ctx);
	int64_t n_chunks = (int64_t)n_tok / chunk;
	if (max_chunks && n_chunks > max_chunks)
		n_chunks = max_chunks;
	int32_t first = chunk / 2;
	const bool add_bos = hearth_vocab_add_bos(vocab) && hearth_vocab_bos(vocab) >= 0;

	if (cli_ctx_open(&mo, model, chunk, chunk, &ctx, &b))
		goto out;
	fprintf(stderr, "perplexity: %zu tokens, %" PRId64 " chunk%s of %d, scoring positions %d..%d of each\n", n_tok,
	        n_chunks, n_chunks == 1 ? "" : "s", chunk, first + 1, chunk - 1);
	const int32_t n_vocab = hearth_model_n_vocab(model);
	double sum = 0.0, sum2 = 0.0;
	int64_t count = 0;
	double t0 = hx_time_s();
	for (int64_t c = 0; c < n_chunks; c++) {
		const int32_t *ct = toks + c * chunk;
		hearth_batch_clear(&b);
		hearth_ctx_seq_clear(ctx, 0);
		for (int32_t i = 0; i < chunk; i++)
			hearth_batch_add(&b, i == 0 && add_bos ? hearth_vocab_bos(vocab) : ct[i], i, 0,
			                 i >= first && i + 1 < chunk);
		if ((rc = hearth_ctx_decode(ctx, &b))) {
			cli_fail("decode", rc);
			goto out;
		}
		for (int32_t i = first; i + 1 < chunk; i++) {
			double v = nll(hearth_ctx_logits(ctx, i), n_vocab, ct[i + 1]);
			sum += v;
			sum2 += v * v;
			count++;
		}
		printf("[%" PRId64 "]%.4f%s", c + 1, exp(sum / (double)count), c + 1 < n_chunks ? "," : "\n");
		fflush(stdout);
	}
	double mean = sum / (double)count;
	double var = count > 1 ? (sum2 / (double)count - mean * mean) / (double)(count - 1) : 0.0;
	double ppl = exp(mean);
	printf("perplexity: %.4f +/- %.4f (%" PRId64 " tokens scored, %.2f s)\n", ppl, ppl * sqrt(var > 0 ? var : 0),
	       count, hx_time_s() - t0);
	status = 0;
out:
	hearth_batch_free(&b);
	hearth_ctx_free(ctx);
	hearth_vocab_free(vocab);
	hearth_model_free(model);
	free(toks);
	free(text);
	return status;
}
