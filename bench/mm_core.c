/*
 * bench/mm_core.c - one core's throughput of a kernel table's `mm`, timed in the
 * thread's own CPU time so that it stays meaningful on a shared machine.
 *
 *   build/bench/mm_core [--isa scalar|avx2|avx512] [--types q4_0,q4_k,...]
 *
 * For each type: 512 weight rows x 4096 (L2-resident for the 4-5 bit types), one
 * activation column (decode: GB/s of weights) and 64 columns (prefill: GOPS, a
 * multiply-add counted as 2).  Best of 40 short runs: preemption only ever makes
 * a run slower.  Weights are random floats quantized with kern_quantize_rows.
 */
#include "kernels/kernels.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Best time of `runs` runs of `reps` mm calls. */
static double best_time(const kern_isa *t, int type, int64_t K, int N, int M, float *s, const uint8_t *w, size_t rs,
                        const uint8_t *a, size_t ra, int reps, int runs)
{
	double best = 1e30;
	for (int k = 0; k < runs; k++) {
		double t0 = thread_cpu_s();
		for (int r = 0; r < reps; r++)
			t->mm[type](K, N, M, s, (size_t)N, w, rs, a, ra);
		double dt = (thread_cpu_s() - t0) / reps;
		if (dt > 0 && dt < best)
			best = dt;
	}
	return best;
}

int main(int argc, char **argv)
{
	const kern_isa *t = kern_isa_active();
	char types_buf[256] = "F16,Q4_0,Q5_0,Q8_0,Q4_K,Q5_K,Q6_K,IQ4_NL";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
			t = kern_isa_get(argv[++i]);
			if (!t) {
				fprintf(stderr, "kernel table '%s' is not available on this CPU\n", argv[i]);
				return 1;
			}
		} else if (strcmp(argv[i], "--types") == 0 && i + 1 < argc) {
			snprintf(types_buf, sizeof types_buf, "%s", argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [--isa scalar|avx2|avx512] [--types T1,T2]\n", argv[0]);
			return 2;
		}
	}
	const int64_t K = 4096;
	const int N = 512, MB = 64;
	float *f = hx_malloc(sizeof(float) * (size_t)(K * N));
	float *s = hx_malloc(sizeof(float) * (size_t)(N * MB));
	if (!f || !s)
		return 1;
	srand(1);
	for (int64_t i = 0; i < K * N; i++)
		f[i] = (float)rand() / (float)RAND_MAX - 0.5f;
	printf("kernels: %s, one core, thread CPU time, best of 40 runs\n\n", t->name);
	printf("| type | decode GB/s (M=1) | decode GOPS | prefill GOPS (M=%d) |\n|---|---|---|---|\n", MB);
	char *save = NULL;
	for (char *tok = strtok_r(types_buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int type = hearth_type_from_name(tok);
		int at = type >= 0 ? kern_vec_dot_type(type) : -1;
		if (at < 0) {
			fprintf(stderr, "unknown or unsupported type '%s'\n", tok);
			return 1;
		}
		size_t rs = kern_row_size(type, K), ra = kern_row_size(at, K);
		uint8_t *w = hx_malloc(rs * (size_t)N), *a = hx_malloc(ra * (size_t)MB);
		if (!w || !a)
			return 1;
		kern_quantize_rows(type, f, w, N, K);
		for (int m = 0; m < MB; m++)
			t->act[at](f + (int64_t)m * K, a + (size_t)m * ra, K);
		double t1 = best_time(t, type, K, N, 1, s, w, rs, a, ra, 10, 40);
		double tm = best_time(t, type, K, N, MB, s, w, rs, a, ra, 1, 40);
		printf("| %s | %.1f | %.0f | %.0f |\n", hearth_type_name(type), (double)rs * N / t1 / 1e9,
		       2.0 * (double)K * N / t1 / 1e9, 2.0 * (double)K * N * MB / tm / 1e9);
		fflush(stdout);
		free(w);
		free(a);
	}
	free(f);
	free(s);
	return 0;
}
