/*
 * bench/kernels.c - kernel benchmark: the machine's read bandwidth, then
 * matrix-vector (decode) and matrix-matrix (prefill) speed of kern_matmul for each
 * weight type, printed as markdown tables.  Not a test: numbers depend on the
 * machine and its load.  See bench/README.md.
 *
 *   build/bench/kernels [--types q4_0,q4_k,...] [--threads 1,2] [--quick] [--no-mm]
 *
 * Weights: 256 rows of random floats (uniform in [-1, 1)) are quantized with
 * kern_quantize_rows (the reference quantizer), and those rows are copied to fill
 * every matrix (speed does not depend on the values; distinct copies keep the
 * out-of-cache set really out of cache).  Each figure is the median of several
 * repetitions, with the min..max range shown as the noise.
 */
#include "kernels/kernels.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_REPS 15

/* Process CPU time in seconds: with the wall time it tells how much of the CPUs
 * the run actually got on a shared machine. */
static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct stat3 {
	double med, lo, hi;
};

static struct stat3 stats(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	struct stat3 s = {n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]), v[0], v[n - 1]};
	return s;
}

/* ---- read bandwidth: sum the buffer with the active table's dot_f32 (x . x reads
 * each cache line once) split across the pool ---- */
struct bw_ctx {
	const float *buf;
	int64_t n;
	float out[64];
};

static void bw_fn(void *arg, int ith, int nth)
{
	struct bw_ctx *c = arg;
	int64_t per = (c->n / nth) & ~(int64_t)63;
	int64_t s = per * ith, e = ith == nth - 1 ? c->n : s + per;
	c->out[ith] = kern_isa_active()->dot_f32(e - s, c->buf + s, c->buf + s);
}

static struct stat3 read_bw(kern_pool *pool, const float *buf, size_t bytes, int reps, int inner)
{
	struct bw_ctx c = {buf, (int64_t)(bytes / sizeof(float)), {0}};
	double v[MAX_REPS];
	kern_pool_run(pool, bw_fn, &c); /* warm up (page faults, caches) */
	for (int r = 0; r < reps; r++) {
		double t0 = hx_time_s();
		for (int i = 0; i < inner; i++)
			kern_pool_run(pool, bw_fn, &c);
		v[r] = (double)bytes * inner / (hx_time_s() - t0) / 1e9;
	}
	return stats(v, reps);
}

/* Allocates n_mats matrices of N x K of `type`, filled from quantized random rows. */
static uint8_t *make_weights(int type, int64_t K, int64_t rows_total)
{
	const int64_t base_rows = 256;
	size_t rs = kern_row_size(type, K);
	float *f = hx_malloc(sizeof(float) * (size_t)(base_rows * K));
	uint8_t *base = hx_malloc(rs * (size_t)base_rows);
	uint8_t *w = hx_malloc_aligned(rs * (size_t)rows_total);
	if (!f || !base || !w) {
		free(f);
		free(base);
		hx_free_aligned(w);
		return NULL;
	}
	uint64_t st = 88172645463325252ULL;
	for (int64_t i = 0; i < base_rows * K; i++) {
		st ^= st << 13;
		st ^= st >> 7;
		st ^= st << 17;
		f[i] = (float)((double)(st >> 11) / 4503599627370496.0 - 1.0);
	}
	kern_quantize_rows(type, f, base, base_rows, K);
	for (int64_t r = 0; r < rows_total; r += base_rows) {
		int64_t n = HX_MIN(base_rows, rows_total - r);
		memcpy(w + (size_t)r * rs, base, rs * (size_t)n);
	}
	free(f);
	free(base);
	return w;
}

struct opts {
	int types[HEARTH_TYPE_COUNT];
	int n_types;
	int threads[8];
	int n_threads;
	bool quick;
	bool mm;
};

static const int k_all[] = {HEARTH_TYPE_F32,  HEARTH_TYPE_F16,  HEARTH_TYPE_BF16, HEARTH_TYPE_Q4_0,   HEARTH_TYPE_Q4_1,
                            HEARTH_TYPE_Q5_0, HEARTH_TYPE_Q5_1, HEARTH_TYPE_Q8_0, HEARTH_TYPE_Q2_K,   HEARTH_TYPE_Q3_K,
                            HEARTH_TYPE_Q4_K, HEARTH_TYPE_Q5_K, HEARTH_TYPE_Q6_K, HEARTH_TYPE_IQ4_NL, HEARTH_TYPE_IQ4_XS};
static const int k_mm_types[] = {HEARTH_TYPE_F16, HEARTH_TYPE_Q4_0, HEARTH_TYPE_Q8_0, HEARTH_TYPE_Q4_K, HEARTH_TYPE_Q6_K};

static int parse(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof *o);
	o->mm = true;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			o->quick = true;
		} else if (strcmp(argv[i], "--no-mm") == 0) {
			o->mm = false;
		} else if (strcmp(argv[i], "--types") == 0 && i + 1 < argc) {
			char *s = argv[++i], *tok, *save = NULL;
			for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				int t = hearth_type_from_name(tok);
				if (t < 0 || kern_vec_dot_type(t) < 0 || o->n_types >= HEARTH_TYPE_COUNT) {
					fprintf(stderr, "unknown or unsupported type '%s'\n", tok);
					return -1;
				}
				o->types[o->n_types++] = t;
			}
		} else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
			char *s = argv[++i], *tok, *save = NULL;
			for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				int t = atoi(tok);
				if (t < 1 || t > 256 || o->n_threads >= 8) {
					fprintf(stderr, "bad thread count '%s'\n", tok);
					return -1;
				}
				o->threads[o->n_threads++] = t;
			}
		} else {
			fprintf(stderr, "usage: %s [--types T1,T2] [--threads 1,2] [--quick] [--no-mm]\n", argv[0]);
			return -1;
		}
	}
	if (!o->n_types)
		for (size_t i = 0; i < HX_ARRAY_LEN(k_all); i++)
			o->types[o->n_types++] = k_all[i];
	if (!o->n_threads) {
		o->threads[o->n_threads++] = 1;
		if (hx_n_cpus() > 1)
			o->threads[o->n_threads++] = hx_n_cpus();
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	if (parse(argc, argv, &o) != 0)
		return 2;
	const int reps = o.quick ? 3 : 7;
	const size_t big = (size_t)1 << 30, l3 = (size_t)64 << 20;
	kern_pool *pools[8] = {0};
	for (int i = 0; i < o.n_threads; i++)
		if (kern_pool_create(o.threads[i], &pools[i]) != 0) {
			fprintf(stderr, "cannot create a pool of %d threads\n", o.threads[i]);
			return 1;
		}

	printf("# hearth kernel benchmark\n\nkernels: %s, %d CPUs, %d reps per figure (median, min..max)%s\n\n",
	       kern_isa_active()->name, hx_n_cpus(), reps, o.quick ? ", --quick" : "");

	/* ---- bandwidth ---- */
	float *buf = hx_malloc_aligned(big);
	if (!buf)
		return 1;
	for (size_t i = 0; i < big / sizeof(float); i++)
		buf[i] = (float)(i & 1023) * 1e-3f;
	double dram[8];
	printf("## Read bandwidth\n\n| buffer | threads | GB/s (median) | min..max |\n|---|---|---|---|\n");
	for (int i = 0; i < o.n_threads; i++) {
		struct stat3 s = read_bw(pools[i], buf, big, reps, 1);
		dram[i] = s.med;
		printf("| 1 GiB (DRAM) | %d | %.1f | %.1f..%.1f |\n", o.threads[i], s.med, s.lo, s.hi);
	}
	for (int i = 0; i < o.n_threads; i++) {
		struct stat3 s = read_bw(pools[i], buf, l3, reps, 20);
		printf("| 64 MiB (L3) | %d | %.1f | %.1f..%.1f |\n", o.threads[i], s.med, s.lo, s.hi);
	}
	fflush(stdout);

	/* ---- matrix-vector ---- */
	const int64_t K = 4096, N = 4096;
	const size_t set_bytes = o.quick ? (size_t)256 << 20 : big;
	printf("\n## Matrix-vector (decode), %lldx%lld weights, M=1\n\n"
	       "Cache: one matrix, repeated (L2/L3-resident).  DRAM: a set of matrices totalling %zu MiB, cycled through.\n"
	       "GB/s = weight bytes streamed per second; %% DRAM = of the read bandwidth measured above at the same thread count;\n"
	       "paired %% = median of (this sample / a 1 GiB read-bandwidth sample taken just before it), robust to load swings.\n\n"
	       "cpu = process CPU time / (wall time x threads) during the DRAM runs: below ~90%% the machine was busy with\n"
	       "other work and every figure in the row is load-limited.\n\n"
	       "cache/CPU-s = the 1-thread cache figure per second of the thread's own CPU time: the kernel's speed on one\n"
	       "core even when the machine is shared.\n\n"
	       "| type | threads | cache GB/s | cache/CPU-s | cache GFLOP/s | DRAM GB/s | min..max | DRAM GFLOP/s | %% DRAM | paired %% (min..max) | cpu |\n"
	       "|---|---|---|---|---|---|---|---|---|---|---|\n",
	       (long long)N, (long long)K, set_bytes >> 20);
	float *x = hx_malloc(sizeof(float) * (size_t)(K * 512));
	float *y = hx_malloc(sizeof(float) * (size_t)(N * 512));
	size_t ss = 0;
	for (size_t i = 0; i < HX_ARRAY_LEN(k_all); i++)
		ss = HX_MAX(ss, kern_matmul_scratch_size(k_all[i], K, 512));
	void *scratch = hx_malloc(ss);
	if (!x || !y || !scratch)
		return 1;
	for (int64_t i = 0; i < K * 512; i++)
		x[i] = (float)((i * 7919) % 2001 - 1000) * 1e-3f;
	for (int ti = 0; ti < o.n_types; ti++) {
		const int type = o.types[ti];
		const size_t mat = kern_row_size(type, K) * (size_t)N;
		int n_mats = (int)(set_bytes / mat);
		if (n_mats < 2)
			n_mats = 2;
		uint8_t *w = make_weights(type, K, N * n_mats);
		if (!w) {
			fprintf(stderr, "out of memory for %s\n", hearth_type_name(type));
			return 1;
		}
		for (int i = 0; i < o.n_threads; i++) {
			double vc[MAX_REPS], vd[MAX_REPS], vt[MAX_REPS];
			const int inner = (int)HX_MAX(4, (int64_t)((size_t)256 << 20) / (int64_t)mat / 4);
			kern_matmul(pools[i], type, w, K, N, x, 1, y, scratch);
			for (int r = 0; r < reps; r++) {
				double t0 = hx_time_s(), c0 = thread_cpu_s();
				for (int k = 0; k < inner; k++)
					kern_matmul(pools[i], type, w, K, N, x, 1, y, scratch);
				vc[r] = (double)mat * inner / (hx_time_s() - t0) / 1e9;
				vt[r] = (double)mat * inner / (thread_cpu_s() - c0) / 1e9;
			}
			for (int m = 0; m < n_mats; m++) /* warm up: page in, no timing */
				kern_matmul(pools[i], type, w + (size_t)m * mat, K, N, x, 1, y, scratch);
			/* the machine may be shared: each DRAM sample is paired with a bandwidth
			 * sample taken just before it, and the ratio is reported too */
			double vr[MAX_REPS], vcpu[MAX_REPS];
			for (int r = 0; r < reps; r++) {
				double bw = read_bw(pools[i], buf, big, 1, 1).med;
				double t0 = hx_time_s(), c0 = cpu_s();
				for (int m = 0; m < n_mats; m++)
					kern_matmul(pools[i], type, w + (size_t)m * mat, K, N, x, 1, y, scratch);
				double dt = hx_time_s() - t0;
				vcpu[r] = 100.0 * (cpu_s() - c0) / (dt * o.threads[i]);
				vd[r] = (double)mat * n_mats / dt / 1e9;
				vr[r] = 100.0 * vd[r] / bw;
			}
			struct stat3 sc = stats(vc, reps), sd = stats(vd, reps), sr = stats(vr, reps), su = stats(vcpu, reps);
			struct stat3 st = stats(vt, reps);
			char per_cpu[32] = "-";
			if (o.threads[i] == 1)
				snprintf(per_cpu, sizeof per_cpu, "%.1f", st.med);
			const double flop_per_byte = 2.0 * (double)K * N / (double)mat;
			printf("| %s | %d | %.1f | %s | %.0f | %.1f | %.1f..%.1f | %.1f | %.0f%% | %.0f%% (%.0f..%.0f) | %.0f%% |\n",
			       hearth_type_name(type), o.threads[i], sc.med, per_cpu, sc.med * flop_per_byte, sd.med, sd.lo,
			       sd.hi, sd.med * flop_per_byte, 100.0 * sd.med / dram[i], sr.med, sr.lo, sr.hi, su.med);
			fflush(stdout);
		}
		hx_free_aligned(w);
	}

	/* ---- matrix-matrix ---- */
	if (o.mm) {
		const int64_t M = 512, Nm = o.quick ? 1024 : 4096;
		printf("\n## Matrix-matrix (prefill), %lldx%lld weights x M=%lld columns (activation conversion included)\n\n"
		       "| type | threads | GFLOP/s (median) | min..max | 1-thread GFLOP/CPU-s | cpu |\n|---|---|---|---|---|---|\n",
		       (long long)Nm, (long long)K, (long long)M);
		for (size_t ti = 0; ti < HX_ARRAY_LEN(k_mm_types); ti++) {
			const int type = k_mm_types[ti];
			bool want = false;
			for (int k = 0; k < o.n_types; k++)
				want |= o.types[k] == type;
			if (!want)
				continue;
			uint8_t *w = make_weights(type, K, Nm);
			if (!w)
				return 1;
			for (int i = 0; i < o.n_threads; i++) {
				double v[MAX_REPS], vcpu[MAX_REPS], vt[MAX_REPS];
				kern_matmul(pools[i], type, w, K, Nm, x, M, y, scratch);
				int mreps = o.quick ? 3 : 5;
				for (int r = 0; r < mreps; r++) {
					double t0 = hx_time_s(), c0 = cpu_s(), tc0 = thread_cpu_s();
					kern_matmul(pools[i], type, w, K, Nm, x, M, y, scratch);
					double dt = hx_time_s() - t0;
					vcpu[r] = 100.0 * (cpu_s() - c0) / (dt * o.threads[i]);
					vt[r] = 2.0 * (double)K * Nm * M / (thread_cpu_s() - tc0) / 1e9;
					v[r] = 2.0 * (double)K * Nm * M / dt / 1e9;
				}
				struct stat3 s = stats(v, mreps), su = stats(vcpu, mreps), st = stats(vt, mreps);
				char per_cpu[32] = "-";
				if (o.threads[i] == 1)
					snprintf(per_cpu, sizeof per_cpu, "%.0f", st.med);
				printf("| %s | %d | %.0f | %.0f..%.0f | %s | %.0f%% |\n", hearth_type_name(type), o.threads[i], s.med,
				       s.lo, s.hi, per_cpu, su.med);
				fflush(stdout);
			}
			hx_free_aligned(w);
		}
	}
	hx_free_aligned(buf);
	free(x);
	free(y);
	free(scratch);
	for (int i = 0; i < o.n_threads; i++)
		kern_pool_free(pools[i]);
	return 0;
}
