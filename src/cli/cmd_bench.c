/*
 * cmd_bench.c - `hearth bench`: prompt-processing and generation speed of a
 * model, like llama-bench: pp = one decode of P tokens, tg = N decodes of one
 * token each (from an empty context), each the median over R repetitions after
 * a warm-up; plus the load time and the process's peak RSS.
 */
#include "cli/cli.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void bench_usage(FILE *f)
{
	fprintf(f, "usage: hearth bench -m MODEL [options]\n\n"
	           "Measures prompt processing (one batch of -p tokens) and generation (-n\n"
	           "tokens one at a time) in tokens/s, the median of -r repetitions.\n\n"
	           "options:\n"
	           "  -m, --model FILE     GGUF model\n"
	           "  -p, --prompt N       prompt tokens (default 512; 0 skips pp)\n"
	           "  -n, --gen N          generated tokens (default 128; 0 skips tg)\n"
	           "  -t, --threads N      threads (default: all cores)\n"
	           "  -r, --reps N         repetitions (default 3)\n"
	           "  -b, --batch N        prefill chunk size (default: max(512, -p))\n"
	           "  --kv-type f16|f32    KV cache element type (default f16)\n"
	           "  --json               print one JSON object\n"
	           "  -h, --help           this help\n");
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static uint64_t g_state = 88172645463325252ull;
static int32_t rand_token(int32_t n_vocab)
{
	g_state ^= g_state << 13;
	g_state ^= g_state >> 7;
	g_state ^= g_state << 17;
	return (int32_t)(g_state % (uint64_t)n_vocab);
}

/* Prompt processing: one decode of n tokens into a cleared sequence. */
static int run_pp(hearth_ctx *ctx, hearth_batch *b, int32_t n, int32_t n_vocab, double *secs)
{
	hearth_ctx_seq_clear(ctx, 0);
	hearth_batch_clear(b);
	for (int32_t i = 0; i < n; i++)
		hearth_batch_add(b, rand_token(n_vocab), i, 0, i == n - 1);
	double t0 = hx_time_s();
	int rc = hearth_ctx_decode(ctx, b);
	*secs = hx_time_s() - t0;
	return rc;
}

/* Generation: n decodes of one token each from an empty sequence. */
static int run_tg(hearth_ctx *ctx, hearth_batch *b, int32_t n, int32_t n_vocab, double *secs)
{
	hearth_ctx_seq_clear(ctx, 0);
	double t0 = hx_time_s();
	for (int32_t i = 0; i < n; i++) {
		hearth_batch_clear(b);
		hearth_batch_add(b, rand_token(n_vocab), i, 0, true);
		int rc = hearth_ctx_decode(ctx, b);
		if (rc)
			return rc;
	}
	*secs = hx_time_s() - t0;
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	struct cli_model_opts mo = cli_model_opts_default(CLI_MO_MODEL | CLI_MO_THREADS | CLI_MO_BATCH | CLI_MO_KV);
	mo.n_batch = 0; /* max(512, -p) */
	long long n_pp = 512, n_tg = 128, reps = 3;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int r = cli_model_opt(&mo, a, v);
		if (r) {
			if (r < 0)
				return 1;
			i++;
		} else if (cli_is(a, "-h", "--help")) {
			bench_usage(stdout);
			return 0;
		} else if (cli_is(a, "-p", "--prompt")) {
			if (!cli_int(a, v, 0, 65536, &n_pp))
				return 1;
			i++;
		} else if (cli_is(a, "-n", "--gen")) {
			if (!cli_int(a, v, 0, 65536, &n_tg))
				return 1;
			i++;
		} else if (cli_is(a, "-r", "--reps")) {
			if (!cli_int(a, v, 1, 100, &reps))
				return 1;
			i++;
		} else if (cli_is(a, "--json", NULL)) {
			json = true;
		} else {
			fprintf(stderr, "error: unknown option '%s' (see hearth bench --help)\n", a);
			return 1;
		}
	}
	const char *model_path = mo.model;
	const int kv_type = mo.kv_type;
	if (!model_path) {
		fprintf(stderr, "error: -m MODEL is required (see hearth bench --help)\n");
		return 1;
	}
	if (n_pp == 0 && n_tg == 0) {
		fprintf(stderr, "error: nothing to measure (-p 0 and -n 0)\n");
		return 1;
	}

	int status = 1, rc;
	hearth_model *model = NULL;
	hearth_ctx *ctx = NULL;
	hearth_batch b = {0};
	double pp_t[100], tg_t[100], pp_tps = 0, tg_tps = 0;
	double t0 = hx_time_s();
	if (cli_model_load(&mo, &model))
		goto out;
	const double load_ms = (hx_time_s() - t0) * 1e3;
	const int32_t n_vocab = hearth_model_n_vocab(model);
	if (!mo.n_batch)
		mo.n_batch = HX_MAX(n_pp, 512);
	if (cli_ctx_open(&mo, model, (int32_t)HX_MAX(HX_MAX(n_pp, n_tg), 1), (int32_t)HX_MAX(n_pp, 1), &ctx, &b))
		goto out;
	/* Warm-up: pages the weights in and settles the threads. */
	double dummy;
	if ((n_pp && (rc = run_pp(ctx, &b, (int32_t)HX_MIN(n_pp, 32), n_vocab, &dummy))) ||
	    (n_tg && (rc = run_tg(ctx, &b, (int32_t)HX_MIN(n_tg, 4), n_vocab, &dummy)))) {
		cli_fail("decode", rc);
		goto out;
	}
	for (int r = 0; r < reps; r++) {
		if ((n_pp && (rc = run_pp(ctx, &b, (int32_t)n_pp, n_vocab, &pp_t[r]))) ||
		    (n_tg && (rc = run_tg(ctx, &b, (int32_t)n_tg, n_vocab, &tg_t[r])))) {
			cli_fail("decode", rc);
			goto out;
		}
		if (n_pp)
			pp_t[r] = (double)n_pp / pp_t[r];
		if (n_tg)
			tg_t[r] = (double)n_tg / tg_t[r];
	}
	if (n_pp)
		pp_tps = median(pp_t, (int)reps);
	if (n_tg)
		tg_tps = median(tg_t, (int)reps);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	const double rss_mb = (double)ru.ru_maxrss / 1024.0;
	const double file_mb = (double)hearth_gguf_file_size(hearth_model_gguf(model)) / (1024.0 * 1024.0);
	if (json) {
		printf("{\"model\":\"%s\",\"arch\":\"%s\",\"file_mb\":%.1f,\"n_params\":%lld,\"threads\":%d,"
		       "\"kv_type\":\"%s\",\"pp\":%lld,\"tg\":%lld,\"reps\":%lld,\"pp_tps\":%.2f,\"tg_tps\":%.2f,"
		       "\"load_ms\":%.1f,\"peak_rss_mb\":%.1f}\n",
		       model_path, hearth_model_arch(model), file_mb, (long long)hearth_model_n_params(model),
		       hearth_ctx_n_threads(ctx), kv_type == HEARTH_TYPE_F16 ? "f16" : "f32", n_pp, n_tg, reps, pp_tps,
		       tg_tps, load_ms, rss_mb);
	} else {
		printf("model: %s (%s, %.1f MiB, %.0fM params), %d threads, KV %s\n", model_path,
		       hearth_model_arch(model), file_mb, (double)hearth_model_n_params(model) / 1e6,
		       hearth_ctx_n_threads(ctx), kv_type == HEARTH_TYPE_F16 ? "f16" : "f32");
		if (n_pp)
			printf("pp%-5lld %8.2f tokens/s\n", n_pp, pp_tps);
		if (n_tg)
			printf("tg%-5lld %8.2f tokens/s\n", n_tg, tg_tps);
		printf("load %.1f ms, peak RSS %.1f MiB\n", load_ms, rss_mb);
	}
	status = 0;
out:
	hearth_batch_free(&b);
	hearth_ctx_free(ctx);
	hearth_model_free(model);
	return status;
}
