/*
 * cmd_quantize.c - `hearth quantize IN.gguf OUT.gguf TYPE [-t N] [--pure] [-q]`:
 * writes a quantized copy of an F32/F16/BF16 model.
 *
 * Progress goes to stderr, one line per tensor; the summary (sizes, bits per
 * weight, per output type the round-trip error relative to the weights' RMS)
 * goes to stdout.  Any failure prints `error: ...` and exits 1 without leaving
 * OUT or OUT.tmp behind.
 */
#include "cli/cli.h"
#include "quant/quantize.h"
#include "util/util.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	int n;
	const hx_ftype_info *t = hx_ftype_table(&n);
	fprintf(f, "usage: hearth quantize IN.gguf OUT.gguf TYPE [options]\n\n"
	           "Converts an F32, F16 or BF16 GGUF model to TYPE and writes OUT.gguf (through\n"
	           "OUT.gguf.tmp, renamed when complete).  Metadata is kept; general.file_type is\n"
	           "set to TYPE's llama.cpp file type.  Norms, biases and other 1-D tensors stay\n"
	           "as they are.  Mixes choose each tensor's type the way llama-quantize does\n"
	           "(output.weight Q6_K, more bits for some attn_v / ffn_down layers, Q8_0 or\n"
	           "another fallback when a row is not a whole number of 256-value blocks).\n\n"
	           "TYPE:\n");
	for (int i = 0; i < n; i++)
		fprintf(f, "  %-8s %2d  %s\n", t[i].name, t[i].ftype, t[i].desc);
	fprintf(f, "\noptions:\n"
	           "  -t, --threads N  threads (default: all cores)\n"
	           "  --pure           no mix: every quantized weight gets TYPE's base type\n"
	           "                   (rows that are not whole blocks still fall back)\n"
	           "  -q, --quiet      no per-tensor progress lines\n"
	           "  -h, --help       this help\n\n"
	           "Exit status: 0 written, 1 error (the reason is printed), 2 usage.\n");
}

struct progress {
	bool quiet;
};

static void on_progress(void *user, int64_t done, int64_t total, const char *what)
{
	struct progress *p = user;
	if (!p->quiet)
		fprintf(stderr, "[%4" PRId64 "/%4" PRId64 "] %s\n", done, total, what);
}

static void print_summary(const char *in, const char *out, const char *type, const hx_quantize_stats *s)
{
	const double ne = s->n_elements > 0 ? (double)s->n_elements : 1.0;
	printf("quantized %s -> %s as %s (general.file_type %d) in %.2f s\n", in, out, type, s->ftype, s->seconds);
	printf("  input:   %12" PRIu64 " bytes (%8.2f MiB), tensor data %6.2f bits per weight\n", s->in_file_size,
	       (double)s->in_file_size / 1048576.0, 8.0 * (double)s->in_data_bytes / ne);
	printf("  output:  %12" PRIu64 " bytes (%8.2f MiB), tensor data %6.2f bits per weight\n", s->out_file_size,
	       (double)s->out_file_size / 1048576.0, 8.0 * (double)s->out_data_bytes / ne);
	printf("  tensors: %" PRId64 " (%" PRId64 " converted, %" PRId64 " copied, %" PRId64
	       " with a fallback type)\n",
	       s->n_tensors, s->n_converted, s->n_tensors - s->n_converted, s->n_fallback);
	printf("  %-7s %8s %12s %12s %7s %12s\n", "type", "tensors", "elements", "bytes", "bpw", "rel. RMSE");
	for (int t = 0; t < HEARTH_TYPE_COUNT; t++) {
		const hx_quant_type_stats *ts = &s->types[t];
		if (!ts->n_tensors)
			continue;
		char err[32] = "-";
		if (ts->n_converted && ts->x2 > 0)
			snprintf(err, sizeof err, "%.4f%%", 100.0 * sqrt(ts->err2 / ts->x2));
		printf("  %-7s %8" PRId64 " %12" PRId64 " %12" PRIu64 " %7.3f %12s\n", hearth_type_name(t), ts->n_tensors,
		       ts->n_elements, ts->n_bytes, 8.0 * (double)ts->n_bytes / (double)ts->n_elements, err);
	}
}

int cmd_quantize(int argc, char **argv)
{
	const char *pos[3];
	int n_pos = 0;
	bool pure = false;
	struct progress prog = {.quiet = false};
	hearth_quantize_params params = hearth_quantize_default_params();

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cli_is(a, "-h", "--help")) {
			usage(stdout);
			return 0;
		} else if (cli_is(a, "-t", "--threads")) {
			long long v;
			if (!cli_int(a, i + 1 < argc ? argv[i + 1] : NULL, 1, 4096, &v))
				return 2;
			params.n_threads = (int)v;
			i++;
		} else if (cli_is(a, "--pure", NULL)) {
			pure = true;
		} else if (cli_is(a, "-q", "--quiet")) {
			prog.quiet = true;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "error: unknown option '%s'\n\n", a);
			usage(stderr);
			return 2;
		} else if (n_pos < 3) {
			pos[n_pos++] = a;
		} else {
			fprintf(stderr, "error: unexpected argument '%s'\n\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (n_pos != 3) {
		fprintf(stderr, "error: expected IN.gguf OUT.gguf TYPE\n\n");
		usage(stderr);
		return 2;
	}
	const hx_ftype_info *fi = hx_ftype_find(pos[2]);
	if (!fi) {
		fprintf(stderr, "error: unknown TYPE '%s'; one of:", pos[2]);
		int n;
		const hx_ftype_info *t = hx_ftype_table(&n);
		for (int i = 0; i < n; i++)
			fprintf(stderr, " %s", t[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	if (strcmp(pos[0], pos[1]) == 0) {
		fprintf(stderr, "error: OUT.gguf must differ from IN.gguf\n");
		return 2;
	}
	params.ftype = fi->alias_of ? fi->alias_of : fi->name;
	params.progress = on_progress;
	params.progress_user = &prog;
	hx_quantize_stats st;
	int rc = hx_quantize_file(pos[0], pos[1], &params, pure, &st);
	if (rc)
		return cli_fail("", rc);
	print_summary(pos[0], pos[1], params.ftype, &st);
	return 0;
}
