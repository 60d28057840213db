/*
 * test_kernels.c - the SIMD kernel tables against the scalar reference, the
 * dispatcher, the thread pool and kern_matmul.
 *
 * Tolerances: every quantized SIMD kernel computes the same integer block sums as
 * the scalar table (exact), and differs only in float rounding: the per-block
 * scale products and the order of the float summation across blocks (vector
 * lanes, then a horizontal sum), while the scalar F32/F16/BF16 kernels sum in
 * double.  Those differences are bounded by a few float epsilons times the sum of
 * |terms|, so each result is checked against MM_RTOL * sum|w_i * a_i| (computed
 * from the dequantized values in double).  A wrong bit, nibble, scale or offset
 * changes a result by a sizeable fraction of that sum and fails.  Activation
 * quantizers, f16 conversions and matmul thread counts must match bit for bit.
 */
#include "testutil.h"

#include "kernels/kernels.h"
#include "util/util.h"

#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define MM_RTOL 2e-5

static const int k_types[] = {
        HEARTH_TYPE_F32,  HEARTH_TYPE_F16,  HEARTH_TYPE_BF16, HEARTH_TYPE_Q4_0,   HEARTH_TYPE_Q4_1,
        HEARTH_TYPE_Q5_0, HEARTH_TYPE_Q5_1, HEARTH_TYPE_Q8_0, HEARTH_TYPE_Q2_K,   HEARTH_TYPE_Q3_K,
        HEARTH_TYPE_Q4_K, HEARTH_TYPE_Q5_K, HEARTH_TYPE_Q6_K, HEARTH_TYPE_IQ4_NL, HEARTH_TYPE_IQ4_XS,
};

static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd_u32(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return (uint32_t)(g_rng >> 16);
}

/* uniform in [-1, 1) */
static float rnd_f(void) { return (float)((double)rnd_u32() / 2147483648.0 - 1.0); }

/* rows of random values, each row with its own magnitude 10^[-3, 3] */
static void fill_rows(float *x, int64_t rows, int64_t n)
{
	for (int64_t r = 0; r < rows; r++) {
		float mag = powf(10.0f, 3.0f * rnd_f());
		for (int64_t i = 0; i < n; i++)
			x[r * n + i] = mag * rnd_f();
	}
}

/* The SIMD tables this CPU can run (possibly none). */
static int simd_tables(const kern_isa **out)
{
	int n = 0;
	if (kern_isa_avx2())
		out[n++] = kern_isa_avx2();
	if (kern_isa_avx512())
		out[n++] = kern_isa_avx512();
	return n;
}

static void test_dispatch(void **state)
{
	(void)state;
	assert_non_null(kern_isa_get("scalar"));
	assert_ptr_equal(kern_isa_get("scalar"), kern_isa_scalar());
	assert_null(kern_isa_get("sse9"));
	assert_null(kern_isa_get(NULL));
	assert_ptr_equal(kern_isa_get("avx2"), kern_isa_avx2());
	assert_ptr_equal(kern_isa_get("avx512"), kern_isa_avx512());
	const kern_isa *act = kern_isa_active();
	assert_non_null(act);
	const char *env = getenv("HEARTH_ISA");
	const kern_isa *best = kern_isa_avx512() ? kern_isa_avx512() : kern_isa_avx2() ? kern_isa_avx2() : kern_isa_scalar();
	if (env && kern_isa_get(env))
		assert_ptr_equal(act, kern_isa_get(env)); /* a forced, runnable table is used */
	else
		assert_ptr_equal(act, best); /* otherwise the best one */
	print_message("note: active kernels: %s\n", act->name);
	/* every table is complete for every supported type */
	const kern_isa *t[3] = {kern_isa_scalar(), kern_isa_avx2(), kern_isa_avx512()};
	for (int i = 0; i < 3; i++) {
		if (!t[i])
			continue;
		for (size_t k = 0; k < HX_ARRAY_LEN(k_types); k++) {
			int ty = k_types[k];
			assert_non_null(t[i]->mm[ty]);
			assert_non_null(t[i]->act[kern_vec_dot_type(ty)]);
		}
		assert_non_null(t[i]->dot_f32);
		assert_non_null(t[i]->axpy_f32);
		assert_non_null(t[i]->dot_f16_f32);
		assert_non_null(t[i]->axpy_f16_f32);
		assert_non_null(t[i]->f32_to_f16);
		assert_non_null(t[i]->f16_to_f32);
	}
}

/* HEARTH_ISA is read once per process: run this program again with each setting
 * and its test_dispatch, which checks that a runnable forced table is the active
 * one and that anything else falls back to the best table. */
static void test_isa_env(void **state)
{
	(void)state;
	const char *vals[] = {"scalar", "avx2", "avx512", "neon", ""};
	/* the program's path from readlink, which valgrind answers with the client's
	 * path (/proc/PID/exe itself would be valgrind's tool) */
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	if (strchr(exe, '\'')) {
		print_message("note: the test's path has a quote: HEARTH_ISA re-runs skipped\n");
		return;
	}
	for (size_t i = 0; i < HX_ARRAY_LEN(vals); i++) {
		char cmd[PATH_MAX + 128];
		snprintf(cmd, sizeof cmd, "HEARTH_ISA='%s' '%s' 'test_dispatch' >/dev/null 2>&1", vals[i], exe);
		int rc = system(cmd);
		if (rc != 0)
			print_error("HEARTH_ISA=%s: child exited with %d\n", vals[i], rc);
		assert_int_equal(rc, 0);
	}
}

/* sum |w_i a_i| over the dequantized rows, for the tolerance */
static double abs_dot(int type, int at, const void *w, const void *a, int64_t n, float *tw, float *ta)
{
	kern_dequant_row(type, w, tw, n);
	if (at == HEARTH_TYPE_F32)
		memcpy(ta, a, (size_t)n * sizeof(float));
	else
		kern_dequant_row(at, a, ta, n);
	double s = 0;
	for (int64_t i = 0; i < n; i++)
		s += fabs((double)tw[i] * ta[i]);
	return s;
}

static void check_mm_type(const kern_isa *isa, int type)
{
	const kern_isa *ref = kern_isa_scalar();
	const int at = kern_vec_dot_type(type);
	const int64_t blk = hearth_type_block_size(type);
	const int64_t nblocks[] = {1, 2, 3, 5, 8, 13};
	enum { MAXR = 7, MAXC = 10 }; /* 8+ columns take the AVX-512 batch path */
	for (size_t bi = 0; bi < HX_ARRAY_LEN(nblocks); bi++) {
		/* float types have block size 1: use lengths with odd tails instead */
		const int64_t n = blk == 1 ? nblocks[bi] * 37 : nblocks[bi] * blk;
		const size_t ldw = kern_row_size(type, n), lda = kern_row_size(at, n);
		float *xw = hx_malloc(sizeof(float) * (size_t)(n * MAXR));
		float *xa = hx_malloc(sizeof(float) * (size_t)(n * MAXC));
		uint8_t *w = hx_malloc(ldw * MAXR), *a = hx_malloc(lda * MAXC);
		float *tw = hx_malloc(sizeof(float) * (size_t)n), *ta = hx_malloc(sizeof(float) * (size_t)n);
		float s0[MAXR * MAXC], s1[MAXR * MAXC];
		assert_true(xw && xa && w && a && tw && ta);
		fill_rows(xw, MAXR, n);
		fill_rows(xa, MAXC, n);
		assert_int_equal(kern_quantize_rows(type, xw, w, MAXR, n), ldw * MAXR);
		for (int c = 0; c < MAXC; c++)
			ref->act[at](xa + c * n, a + c * lda, n);
		double mags[MAXR * MAXC];
		for (int c = 0; c < MAXC; c++)
			for (int r = 0; r < MAXR; r++)
				mags[c * MAXR + r] = abs_dot(type, at, w + r * ldw, a + c * lda, n, tw, ta);
		for (int nr = 1; nr <= MAXR; nr++) {
			for (int nc = 1; nc <= MAXC; nc++) {
				memset(s1, 0xff, sizeof s1);
				ref->mm[type](n, nr, nc, s0, MAXR, w, ldw, a, lda);
				isa->mm[type](n, nr, nc, s1, MAXR, w, ldw, a, lda);
				for (int c = 0; c < nc; c++) {
					for (int r = 0; r < nr; r++) {
						double mag = mags[c * MAXR + r];
						double err = fabs((double)s0[c * MAXR + r] - s1[c * MAXR + r]);
						if (!(err <= MM_RTOL * mag + 1e-30)) {
							print_error("%s %s n=%lld nr=%d nc=%d r=%d c=%d: ref %.9g simd %.9g (|terms| %.3g)\n",
							            isa->name, hearth_type_name(type), (long long)n, nr, nc, r, c,
							            s0[c * MAXR + r], s1[c * MAXR + r], mag);
							fail();
						}
					}
				}
			}
		}
		free(xw);
		free(xa);
		free(w);
		free(a);
		free(tw);
		free(ta);
	}
}

static void test_mm_vs_scalar(void **state)
{
	(void)state;
	const kern_isa *t[2];
	int nt = simd_tables(t);
	if (!nt) {
		print_message("note: no SIMD table on this CPU\n");
		skip();
	}
	for (int i = 0; i < nt; i++)
		for (size_t k = 0; k < HX_ARRAY_LEN(k_types); k++)
			check_mm_type(t[i], k_types[k]);
}

/* Activation rows with ties and edge cases: the quantizers must agree byte for byte. */
static void test_act_exact(void **state)
{
	(void)state;
	const kern_isa *t[2];
	int nt = simd_tables(t);
	if (!nt)
		skip();
	const kern_isa *ref = kern_isa_scalar();
	const int64_t n = 4 * QK_K;
	float *x = hx_malloc(sizeof(float) * (size_t)n);
	const size_t ysz = (size_t)n * sizeof(float) + 64;
	uint8_t *y0 = hx_malloc(ysz), *y1 = hx_malloc(ysz);
	assert_true(x && y0 && y1);
	for (int iter = 0; iter < 40; iter++) {
		fill_rows(x, 1, n);
		if (iter % 4 == 1) {
			/* amax = 127 makes the Q8_0 scale 1 and the Q8_K scale -1: .5 ties are hit */
			for (int64_t i = 0; i < n; i++)
				x[i] = (float)((int)(rnd_u32() % 253) - 126) + ((rnd_u32() & 1) ? 0.5f : 0.0f);
			for (int64_t i = 0; i < n; i += 32)
				x[i + (rnd_u32() % 32)] = (iter & 2) ? 127.0f : -127.0f;
		} else if (iter % 4 == 2) {
			for (int64_t i = 0; i < 64; i++) /* all-zero blocks, and a tiny one */
				x[i] = 0.0f;
			x[70] = 1e-30f;
		} else if (iter % 4 == 3) {
			for (int64_t i = 0; i < n; i++) /* repeated maxima of both signs */
				x[i] = (i % 7 == 0) ? ((i % 2) ? 3.0f : -3.0f) : x[i] * 1e-3f;
		}
		const int acts[] = {HEARTH_TYPE_Q8_0, HEARTH_TYPE_Q8_K, HEARTH_TYPE_F16, HEARTH_TYPE_BF16, HEARTH_TYPE_F32};
		for (int i = 0; i < nt; i++) {
			for (size_t k = 0; k < HX_ARRAY_LEN(acts); k++) {
				/* float activations also get lengths with a tail */
				int64_t len = acts[k] == HEARTH_TYPE_Q8_0 || acts[k] == HEARTH_TYPE_Q8_K ? n : n - 5;
				size_t sz = kern_row_size(acts[k], acts[k] == HEARTH_TYPE_Q8_0 || acts[k] == HEARTH_TYPE_Q8_K ? n : 1) *
				            (acts[k] == HEARTH_TYPE_Q8_0 || acts[k] == HEARTH_TYPE_Q8_K ? 1 : (size_t)len);
				memset(y0, 0, ysz);
				memset(y1, 0x55, ysz);
				memset(y1, 0, sz);
				ref->act[acts[k]](x, y0, len);
				t[i]->act[acts[k]](x, y1, len);
				if (memcmp(y0, y1, sz) != 0) {
					print_error("%s act %s differs (iter %d)\n", t[i]->name, hearth_type_name(acts[k]), iter);
					fail();
				}
			}
		}
	}
	/* half/bfloat special values */
	const float sp[] = {INFINITY, -INFINITY, NAN, 65504.0f, 65520.0f, 1e-8f, -6e-8f, 3e-38f, 1e-45f, -0.0f, 0.0f,
	                    1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 3.3895314e38f, 1.00390625f, 1.01171875f, 0.1f};
	for (int i = 0; i < nt; i++) {
		hx_bf16 b0[HX_ARRAY_LEN(sp)], b1[HX_ARRAY_LEN(sp)];
		hx_f16 h0[HX_ARRAY_LEN(sp)], h1[HX_ARRAY_LEN(sp)];
		ref->act[HEARTH_TYPE_BF16](sp, b0, HX_ARRAY_LEN(sp));
		t[i]->act[HEARTH_TYPE_BF16](sp, b1, HX_ARRAY_LEN(sp));
		assert_memory_equal(b0, b1, sizeof b0);
		ref->f32_to_f16(sp, h0, HX_ARRAY_LEN(sp));
		t[i]->f32_to_f16(sp, h1, HX_ARRAY_LEN(sp));
		assert_memory_equal(h0, h1, sizeof h0);
	}
	free(x);
	free(y0);
	free(y1);
}

static void test_f16_and_helpers(void **state)
{
	(void)state;
	const kern_isa *t[2];
	int nt = simd_tables(t);
	if (!nt)
		skip();
	const kern_isa *ref = kern_isa_scalar();
	/* every half converts to the same float bits (NaN: both NaN) */
	hx_f16 *h = hx_malloc(65536 * sizeof *h);
	float *f0 = hx_malloc(65536 * sizeof *f0), *f1 = hx_malloc(65536 * sizeof *f1);
	assert_true(h && f0 && f1);
	for (int i = 0; i < 65536; i++)
		h[i] = (hx_f16)i;
	ref->f16_to_f32(h, f0, 65536);
	for (int i = 0; i < nt; i++) {
		t[i]->f16_to_f32(h, f1, 65535); /* odd length: the tail path too */
		for (int k = 0; k < 65535; k++)
			if (!(isnan(f0[k]) && isnan(f1[k])))
				assert_memory_equal(&f0[k], &f1[k], sizeof(float));
	}
	/* dot / axpy against the scalar helpers */
	const int64_t lens[] = {1, 7, 8, 9, 31, 33, 100, 1000, 4099};
	float *x = hx_malloc(4099 * sizeof *x), *y = hx_malloc(4099 * sizeof *y);
	float *z0 = hx_malloc(4099 * sizeof *x), *z1 = hx_malloc(4099 * sizeof *y);
	assert_true(x && y && z0 && z1);
	for (size_t li = 0; li < HX_ARRAY_LEN(lens); li++) {
		int64_t n = lens[li];
		fill_rows(x, 1, n);
		fill_rows(y, 1, n);
		ref->f32_to_f16(x, h, n);
		double mag = 0, magh = 0;
		for (int64_t k = 0; k < n; k++) {
			mag += fabs((double)x[k] * y[k]);
			magh += fabs((double)hx_f16_to_f32(h[k]) * y[k]);
		}
		for (int i = 0; i < nt; i++) {
			assert_true(fabs((double)ref->dot_f32(n, x, y) - t[i]->dot_f32(n, x, y)) <= MM_RTOL * mag);
			assert_true(fabs((double)ref->dot_f16_f32(n, h, y) - t[i]->dot_f16_f32(n, h, y)) <= MM_RTOL * magh);
			memcpy(z0, y, (size_t)n * sizeof(float));
			memcpy(z1, y, (size_t)n * sizeof(float));
			ref->axpy_f32(n, 0.37f, x, z0);
			t[i]->axpy_f32(n, 0.37f, x, z1);
			for (int64_t k = 0; k < n; k++) /* one rounding (fma) vs two */
				assert_true(fabsf(z0[k] - z1[k]) <= 2e-7f * (fabsf(y[k]) + fabsf(0.37f * x[k])));
			memcpy(z0, y, (size_t)n * sizeof(float));
			memcpy(z1, y, (size_t)n * sizeof(float));
			ref->axpy_f16_f32(n, -1.5f, h, z0);
			t[i]->axpy_f16_f32(n, -1.5f, h, z1);
			for (int64_t k = 0; k < n; k++)
				assert_true(fabsf(z0[k] - z1[k]) <= 2e-7f * (fabsf(y[k]) + fabsf(1.5f * hx_f16_to_f32(h[k]))));
		}
	}
	free(h);
	free(f0);
	free(f1);
	free(x);
	free(y);
	free(z0);
	free(z1);
}

/* ---- pool ---- */

struct pool_ctx {
	kern_pool *p;
	atomic_int phase1;
	int slots[64];
	atomic_int bad;
};

static void pool_fn(void *arg, int ith, int nth)
{
	struct pool_ctx *c = arg;
	c->slots[ith] = ith + 1;
	atomic_fetch_add(&c->phase1, 1);
	kern_pool_barrier(c->p);
	/* after the barrier every thread's write is visible */
	if (atomic_load(&c->phase1) != nth)
		atomic_fetch_add(&c->bad, 1);
	for (int i = 0; i < nth; i++)
		if (c->slots[i] != i + 1)
			atomic_fetch_add(&c->bad, 1);
	kern_pool_barrier(c->p);
	c->slots[ith] = 0;
	kern_pool_barrier(c->p);
	for (int i = 0; i < nth; i++)
		if (c->slots[i] != 0)
			atomic_fetch_add(&c->bad, 1);
}

static void test_pool(void **state)
{
	(void)state;
	for (int nt = 1; nt <= 4; nt++) {
		kern_pool *p = NULL;
		assert_int_equal(kern_pool_create(nt, &p), 0);
		assert_int_equal(kern_pool_size(p), nt);
		struct pool_ctx c;
		memset(&c, 0, sizeof c);
		c.p = p;
		for (int run = 0; run < (nt <= 2 ? 2000 : 300); run++) {
			atomic_store(&c.phase1, 0);
			kern_pool_run(p, pool_fn, &c);
			assert_int_equal(atomic_load(&c.phase1), nt);
		}
		/* a pause long enough for the workers to fall asleep, then more runs */
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
		for (int run = 0; run < 50; run++) {
			atomic_store(&c.phase1, 0);
			kern_pool_run(p, pool_fn, &c);
			assert_int_equal(atomic_load(&c.phase1), nt);
			if (run % 10 == 0)
				nanosleep(&ts, NULL);
		}
		assert_int_equal(atomic_load(&c.bad), 0);
		kern_pool_free(p);
	}
	kern_pool_free(NULL);
	assert_int_equal(kern_pool_size(NULL), 1);
}

/* Every (row, column) result of a table's mm is the same bits whatever the call's
 * shape: one column at a time (decode) or many (the batch kernels), so a token's
 * logits do not depend on what else is in its batch. */
static void test_mm_shape_identical(void **state)
{
	(void)state;
	const kern_isa *t[2];
	int nt = simd_tables(t);
	if (!nt)
		skip();
	/* 29 columns: the AVX-512 batch passes of 16 and 8 columns, then the tiles;
	 * the second length leaves blocks of 32 past the last group of four */
	enum { NR = 37, NC = 29 };
	for (int i = 0; i < nt; i++) {
		for (size_t k = 0; k < 2 * HX_ARRAY_LEN(k_types); k++) {
			const int type = k_types[k / 2], at = kern_vec_dot_type(type);
			const int64_t n = hearth_type_block_size(type) == 1 ? 517 + (int64_t)(k % 2) * 16
			                                                    : 3 * QK_K + (int64_t)(k % 2) * 64;
			if (n % hearth_type_block_size(type) != 0)
				continue;
			const size_t ldw = kern_row_size(type, n), lda = kern_row_size(at, n);
			float *xw = hx_malloc(sizeof(float) * (size_t)(n * NR)), *xa = hx_malloc(sizeof(float) * (size_t)(n * NC));
			uint8_t *w = hx_malloc(ldw * NR), *a = hx_malloc(lda * NC);
			float s0[NR * NC], s1[NR * NC];
			assert_true(xw && xa && w && a);
			fill_rows(xw, NR, n);
			fill_rows(xa, NC, n);
			kern_quantize_rows(type, xw, w, NR, n);
			for (int c = 0; c < NC; c++)
				t[i]->act[at](xa + c * n, a + c * lda, n);
			t[i]->mm[type](n, NR, NC, s0, NR, w, ldw, a, lda);
			for (int c = 0; c < NC; c++)
				t[i]->mm[type](n, NR, 1, s1 + c * NR, NR, w, ldw, a + c * lda, lda);
			if (memcmp(s0, s1, sizeof s0) != 0) {
				print_error("%s %s: %d columns at once differ from one at a time\n", t[i]->name,
				            hearth_type_name(type), NC);
				fail();
			}
			free(xw);
			free(xa);
			free(w);
			free(a);
		}
	}
}

/* The SIMD softmax (own exp, vector double sum) against the scalar one (expf). */
static void test_softmax(void **state)
{
	(void)state;
	const kern_isa *t[2];
	int nt = simd_tables(t);
	if (!nt)
		skip();
	const kern_isa *ref = kern_isa_scalar();
	const int64_t lens[] = {1, 7, 16, 33, 100, 517};
	float x0[517], x1[517];
	for (int i = 0; i < nt; i++) {
		for (size_t k = 0; k < HX_ARRAY_LEN(lens); k++) {
			const int64_t n = lens[k];
			fill_rows(x0, 1, n);
			for (int64_t j = 0; j < n; j++)
				x0[j] *= 40.0f; /* scores from -40 to 40: exponents far below the max */
			memcpy(x1, x0, sizeof(float) * (size_t)n);
			ref->softmax_f32(x0, n, 0.125f);
			t[i]->softmax_f32(x1, n, 0.125f);
			for (int64_t j = 0; j < n; j++) {
				if (!(fabsf(x0[j] - x1[j]) <= 4e-7f * x0[j] + 1e-37f)) {
					print_error("%s softmax n=%lld j=%lld: %.9g vs scalar %.9g\n", t[i]->name, (long long)n,
					            (long long)j, x1[j], x0[j]);
					fail();
				}
			}
		}
	}
}

/* ---- matmul ---- */

static void test_matmul(void **state)
{
	(void)state;
	const kern_isa *isa = kern_isa_active(), *ref = kern_isa_scalar();
	kern_pool *pools[3] = {NULL, NULL, NULL};
	for (int i = 0; i < 3; i++)
		assert_int_equal(kern_pool_create(i + 1, &pools[i]), 0);
	const int64_t Ms[] = {1, 5, 70};
	for (size_t k = 0; k < HX_ARRAY_LEN(k_types); k++) {
		const int type = k_types[k], at = kern_vec_dot_type(type);
		const int64_t K = 512, N = 45;
		const size_t ldw = kern_row_size(type, K), lda = kern_row_size(at, K);
		float *xw = hx_malloc(sizeof(float) * (size_t)(K * N));
		uint8_t *w = hx_malloc(ldw * (size_t)N);
		assert_true(xw && w);
		fill_rows(xw, N, K);
		kern_quantize_rows(type, xw, w, N, K);
		for (size_t mi = 0; mi < HX_ARRAY_LEN(Ms); mi++) {
			const int64_t M = Ms[mi];
			float *x = hx_malloc(sizeof(float) * (size_t)(K * M));
			float *y[4];
			size_t ss = kern_matmul_scratch_size(type, K, M);
			uint8_t *scratch = hx_malloc(ss + 1);
			uint8_t *aq = hx_malloc(lda * (size_t)M);
			assert_true(x && scratch && aq);
			fill_rows(x, M, K);
			for (int i = 0; i < 4; i++) {
				y[i] = hx_malloc(sizeof(float) * (size_t)(N * M));
				assert_non_null(y[i]);
				kern_matmul(i == 0 ? NULL : pools[i - 1], type, w, K, N, x, M, y[i], scratch);
			}
			for (int i = 1; i < 4; i++)
				assert_memory_equal(y[0], y[i], sizeof(float) * (size_t)(N * M));
			/* against the scalar table, element by element (same activation quantizer bits) */
			float *tw = hx_malloc(sizeof(float) * (size_t)K), *ta = hx_malloc(sizeof(float) * (size_t)K);
			assert_true(tw && ta);
			for (int64_t m = 0; m < M; m++)
				ref->act[at](x + m * K, aq + m * lda, K);
			for (int64_t m = 0; m < M; m++) {
				for (int64_t j = 0; j < N; j++) {
					float s;
					ref->mm[type](K, 1, 1, &s, 1, w + j * ldw, ldw, aq + m * lda, lda);
					double mag = abs_dot(type, at, w + j * ldw, aq + m * lda, K, tw, ta);
					if (!(fabs((double)s - y[0][m * N + j]) <= MM_RTOL * mag)) {
						print_error("matmul %s %s M=%lld m=%lld j=%lld: %.9g vs scalar %.9g\n", isa->name,
						            hearth_type_name(type), (long long)M, (long long)m, (long long)j,
						            y[0][m * N + j], s);
						fail();
					}
				}
			}
			for (int i = 0; i < 4; i++)
				free(y[i]);
			free(x);
			free(scratch);
			free(aq);
			free(tw);
			free(ta);
		}
		free(xw);
		free(w);
	}
	for (int i = 0; i < 3; i++)
		kern_pool_free(pools[i]);
}

/* kern_matmul_multi: each output the same bits as its own kern_matmul, for any
 * pool size, with matrices of different heights (one empty) in one run. */
static void test_matmul_multi(void **state)
{
	(void)state;
	kern_pool *pools[3] = {NULL, NULL, NULL};
	for (int i = 0; i < 3; i++)
		assert_int_equal(kern_pool_create(i + 1, &pools[i]), 0);
	const int64_t Ms[] = {1, 5, 70}, Ns[] = {45, 0, 16, 3};
	enum { NO = HX_ARRAY_LEN(Ns) };
	for (size_t k = 0; k < HX_ARRAY_LEN(k_types); k++) {
		const int type = k_types[k];
		const int64_t K = 512;
		const size_t ldw = kern_row_size(type, K);
		uint8_t *w[NO];
		for (int o = 0; o < NO; o++) {
			float *xw = hx_malloc(sizeof(float) * (size_t)(K * (Ns[o] + 1)));
			w[o] = hx_malloc(ldw * (size_t)(Ns[o] + 1));
			assert_true(xw && w[o]);
			fill_rows(xw, Ns[o] + 1, K);
			kern_quantize_rows(type, xw, w[o], Ns[o], K);
			free(xw);
		}
		for (size_t mi = 0; mi < HX_ARRAY_LEN(Ms); mi++) {
			const int64_t M = Ms[mi];
			float *x = hx_malloc(sizeof(float) * (size_t)(K * M));
			uint8_t *scratch = hx_malloc(kern_matmul_scratch_size(type, K, M) + 1);
			float *y0[NO], *y1[NO];
			assert_true(x && scratch);
			fill_rows(x, M, K);
			for (int o = 0; o < NO; o++) {
				y0[o] = hx_malloc(sizeof(float) * (size_t)(Ns[o] * M + 1));
				y1[o] = hx_malloc(sizeof(float) * (size_t)(Ns[o] * M + 1));
				assert_true(y0[o] && y1[o]);
				kern_matmul(NULL, type, w[o], K, Ns[o], x, M, y0[o], scratch);
			}
			for (int i = 0; i < 3; i++) {
				kern_mm_out outs[NO];
				for (int o = 0; o < NO; o++)
					outs[o] = (kern_mm_out){w[o], Ns[o], y1[o]};
				kern_matmul_multi(pools[i], type, x, K, M, outs, NO, scratch);
				for (int o = 0; o < NO; o++)
					assert_memory_equal(y0[o], y1[o], sizeof(float) * (size_t)(Ns[o] * M));
			}
			for (int o = 0; o < NO; o++) {
				free(y0[o]);
				free(y1[o]);
			}
			free(x);
			free(scratch);
		}
		for (int o = 0; o < NO; o++)
			free(w[o]);
	}
	for (int i = 0; i < 3; i++)
		kern_pool_free(pools[i]);
}

int main(int argc, char **argv)
{
	if (argc > 1) /* run only the tests matching a pattern, e.g. test_pool */
		cmocka_set_test_filter(argv[1]);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_dispatch),      cmocka_unit_test(test_isa_env),      cmocka_unit_test(test_mm_vs_scalar),
	        cmocka_unit_test(test_act_exact),     cmocka_unit_test(test_f16_and_helpers),
	        cmocka_unit_test(test_pool),          cmocka_unit_test(test_matmul),      cmocka_unit_test(test_mm_shape_identical),
	        cmocka_unit_test(test_matmul_multi),
	        cmocka_unit_test(test_softmax),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
