/*
 * cmd_logits.c - `hearth logits`: evaluates a token sequence in one pass
 * (teacher forcing) and prints, for every position, the log-sum-exp of the
 * logits and the top K (id, logit) pairs as one JSON line.  Used to compare
 * hearth with the reference implementation's logits.
 */
#include "cli/cli.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void logits_usage(FILE *f)
{
	fprintf(f, "usage: hearth logits -m MODEL --tokens ID,ID,... [options]\n\n"
	           "Evaluates the tokens in one pass and prints one JSON line per position:\n"
	           "  {\"pos\":i,\"logsumexp\":x,\"top\":[[id,logit],...]}\n"
	           "(the logits after consuming tokens 0..i, i.e. the prediction of token i+1).\n\n"
	           "options:\n"
	           "  -m, --model FILE     GGUF model\n"
	           "  --tokens LIST        comma-separated token ids\n"
	           "  --top K              ids per position, best first (default 32)\n"
	           "  --kv-type f16|f32    KV cache element type (default f16)\n"
	           "  -b, --batch N        prefill chunk size (default 512)\n"
	           "  -t, --threads N      threads (default: all cores)\n"
	           "  -h, --help           this help\n");
}

/* Parses "1,2,3" into a new array. */
static int parse_tokens(const char *s, int32_t **out, int32_t *n_out)
{
	size_t cap = 16, n = 0;
	int32_t *v = malloc(cap * sizeof *v);
	if (!v)
		return -1;
	const char *p = s;
	for (;;) {
		char *end;
		errno = 0;
		if (*p < '0' || *p > '9') {
			fprintf(stderr, "error: --tokens: expected a token id at '%s'\n", p);
			free(v);
			return -1;
		}
		long long x = strtoll(p, &end, 10);
		if (errno || x > INT32_MAX) {
			fprintf(stderr, "error: --tokens: id out of range at '%s'\n", p);
			free(v);
			return -1;
		}
		if (n == cap) {
			if (cap > (1u << 24)) {
				fprintf(stderr, "error: --tokens: too many tokens\n");
				free(v);
				return -1;
			}
			int32_t *nv = realloc(v, 2 * cap * sizeof *v);
			if (!nv) {
				free(v);
				return -1;
			}
			v = nv;
			cap *= 2;
		}
		v[n++] = (int32_t)x;
		if (*end == 0)
			break;
		if (*end != ',') {
			fprintf(stderr, "error: --tokens: unexpected '%c'\n", *end);
			free(v);
			return -1;
		}
		p = end + 1;
	}
	*out = v;
	*n_out = (int32_t)n;
	return 0;
}

/* Keeps the k best (logit desc, id asc) in idx[0..k). */
static int top_k(const float *x, int32_t n, int32_t k, int32_t *idx)
{
	int32_t m = 0;
	for (int32_t i = 0; i < n; i++) {
		if (m == k && !(x[i] > x[idx[m - 1]]))
			continue;
		int32_t j = m < k ? m++ : k - 1;
		while (j > 0 && x[i] > x[idx[j - 1]]) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}
	return m;
}

int cmd_logits(int argc, char **argv)
{
	struct cli_model_opts mo = cli_model_opts_default(CLI_MO_MODEL | CLI_MO_THREADS | CLI_MO_BATCH | CLI_MO_KV);
	const char *tokens_arg = NULL;
	long long top = 32;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int r = cli_model_opt(&mo, a, v);
		if (r) {
			if (r < 0)
				return 1;
			i++;
		} else if (cli_is(a, "-h", "--help")) {
			logits_usage(stdout);
			return 0;
		} else if (cli_is(a, "--tokens", NULL)) {
			if (!cli_str(a, v, &tokens_arg))
				return 1;
			i++;
		} else if (cli_is(a, "--top", NULL)) {
			if (!cli_int(a, v, 1, 1 << 20, &top))
				return 1;
			i++;
		} else {
			fprintf(stderr, "error: unknown option '%s' (see hearth logits --help)\n", a);
			return 1;
		}
	}
	if (!mo.model || !tokens_arg) {
		fprintf(stderr, "error: -m MODEL and --tokens are required (see hearth logits --help)\n");
		return 1;
	}
	int32_t *toks = NULL, n = 0;
	if (parse_tokens(tokens_arg, &toks, &n))
		return 1;

	int status = 1, rc;
	hearth_model *model = NULL;
	hearth_ctx *ctx = NULL;
	hearth_batch b = {0};
	int32_t *idx = NULL;
	if (cli_model_load(&mo, &model) || cli_ctx_open(&mo, model, n, n, &ctx, &b))
		goto out;
	for (int32_t i = 0; i < n; i++)
		hearth_batch_add(&b, toks[i], i, 0, true);
	if ((rc = hearth_ctx_decode(ctx, &b))) {
		cli_fail("decode", rc);
		goto out;
	}
	const int32_t n_vocab = hearth_model_n_vocab(model);
	int32_t k = (int32_t)HX_MIN(top, (long long)n_vocab);
	idx = malloc((size_t)k * sizeof *idx);
	if (!idx) {
		cli_fail("", HEARTH_ENOMEM);
		goto out;
	}
	for (int32_t i = 0; i < n; i++) {
		const float *lg = hearth_ctx_logits(ctx, i);
		float mx = -INFINITY;
		for (int32_t j = 0; j < n_vocab; j++)
			mx = lg[j] > mx ? lg[j] : mx;
		double sum = 0.0;
		for (int32_t j = 0; j < n_vocab; j++)
			sum += exp((double)lg[j] - (double)mx);
		int32_t m = top_k(lg, n_vocab, k, idx);
		printf("{\"pos\":%d,\"logsumexp\":%.17g,\"top\":[", i, (double)mx + log(sum));
		for (int32_t j = 0; j < m; j++)
			printf("%s[%d,%.9g]", j ? "," : "", idx[j], (double)lg[idx[j]]);
		printf("]}\n");
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "error: writing output: %s\n", strerror(errno));
		goto out;
	}
	status = 0;
out:
	free(idx);
	hearth_batch_free(&b);
	hearth_ctx_free(ctx);
	hearth_model_free(model);
	free(toks);
	return status;
}
