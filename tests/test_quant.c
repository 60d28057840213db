/*
 * test_quant.c - the scalar reference kernels (src/kernels/ref.c): bit-exact
 * dequantization against ggml's output, half-float conversion edge cases,
 * quantize -> dequantize error per type, scalar dot products against a double
 * precision reference, and byte-exact quantization against the golden file.
 */
#include "testutil.h"

#include "hearth.h"
#include "kernels/kernels.h"
#include "util/util.h"

#include <math.h>

/* The 15 computable types of quant/quant-types.gguf, in file order. */
static const int k_types[] = {
	HEARTH_TYPE_F32,  HEARTH_TYPE_F16,  HEARTH_TYPE_BF16, HEARTH_TYPE_Q4_0,   HEARTH_TYPE_Q4_1,
	HEARTH_TYPE_Q5_0, HEARTH_TYPE_Q5_1, HEARTH_TYPE_Q8_0, HEARTH_TYPE_Q2_K,   HEARTH_TYPE_Q3_K,
	HEARTH_TYPE_Q4_K, HEARTH_TYPE_Q5_K, HEARTH_TYPE_Q6_K, HEARTH_TYPE_IQ4_NL, HEARTH_TYPE_IQ4_XS,
};
#define N_TYPES ((int)(sizeof k_types / sizeof k_types[0]))

#define NE0 512
#define NE1 4
#define NEL (NE0 * NE1)

static uint32_t f2u(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static float u2f(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

/* ---- the golden file ---- */

struct golden {
	hearth_gguf *g;
	float *deq; /* quant-types.f32.bin: 17 tensors of NEL floats */
	size_t deq_len;
};

static int golden_open(void **state)
{
	char path[4096];
	struct golden *gd = calloc(1, sizeof *gd);
	*state = gd;
	if (!tu_testdata())
		return 0;
	assert_int_equal(hearth_gguf_open(tu_path(path, sizeof path, "quant/quant-types.gguf"), &gd->g), 0);
	char *buf;
	size_t len;
	assert_int_equal(hx_read_file(tu_path(path, sizeof path, "quant/quant-types.f32.bin"), &buf, &len), 0);
	assert_int_equal(len, 17 * NEL * sizeof(float));
	gd->deq = (float *)buf;
	gd->deq_len = len;
	return 0;
}

static int golden_close(void **state)
{
	struct golden *gd = *state;
	hearth_gguf_free(gd->g);
	free(gd->deq);
	free(gd);
	return 0;
}

static const hearth_gguf_tensor *golden_tensor(struct golden *gd, int type)
{
	const hearth_gguf_tensor *t = hearth_gguf_tensor_find(gd->g, hearth_type_name(type));
	assert_non_null(t);
	assert_int_equal(t->type, type);
	assert_int_equal(t->ne[0], NE0);
	assert_int_equal(t->ne[1], NE1);
	assert_int_equal(t->n_bytes, kern_row_size(type, NE0) * NE1);
	return t;
}

/* (a) dequantizing every golden tensor reproduces ggml's floats bit for bit. */
static void test_dequant_bit_exact(void **state)
{
	TU_REQUIRE_TESTDATA();
	struct golden *gd = *state;
	float out[NEL];
	for (int k = 0; k < N_TYPES; k++) {
		const int type = k_types[k];
		const hearth_gguf_tensor *t = golden_tensor(gd, type);
		const size_t rs = kern_row_size(type, NE0);
		for (int r = 0; r < NE1; r++)
			kern_dequant_row(type, (const uint8_t *)t->data + r * rs, out + r * NE0, NE0);
		const float *want = gd->deq + (size_t)k * NEL; /* same order as the file */
		int bad = 0;
		for (int i = 0; i < NEL; i++)
			if (f2u(out[i]) != f2u(want[i])) {
				if (bad++ < 3)
					print_message("%s[%d]: got %.9g want %.9g\n", hearth_type_name(type), i,
					              (double)out[i], (double)want[i]);
			}
		assert_int_equal(bad, 0);
	}
}

/* (e) quantizing the F32 source reproduces the file's bytes.  gguf-py and ggml's
 * reference quantizers are deterministic, so every type must match exactly. */
static void test_quantize_matches_golden_bytes(void **state)
{
	TU_REQUIRE_TESTDATA();
	struct golden *gd = *state;
	const hearth_gguf_tensor *src = golden_tensor(gd, HEARTH_TYPE_F32);
	static uint8_t buf[NEL * 4];
	int n_match = 0;
	for (int k = 0; k < N_TYPES; k++) {
		const int type = k_types[k];
		const hearth_gguf_tensor *t = golden_tensor(gd, type);
		size_t n = kern_quantize_rows(type, src->data, buf, NE1, NE0);
		assert_int_equal(n, t->n_bytes);
		size_t first = n;
		for (size_t i = 0; i < n; i++)
			if (buf[i] != ((const uint8_t *)t->data)[i]) {
				first = i;
				break;
			}
		print_message("  %-7s quantized bytes %s the reference", hearth_type_name(type),
		              first == n ? "match" : "DIFFER from");
		if (first != n)
			print_message(" (first at byte %zu)", first);
		print_message("\n");
		n_match += first == n;
	}
	assert_int_equal(n_match, N_TYPES);
}

/* ---- (b) half-float conversion ---- */

/* Nearest binary16 by exhaustive search over the (trusted, exact) decoder:
 * ties go to the even code. */
static hx_f16 slow_f16(float f)
{
	uint16_t sign = signbit(f) ? 0x8000 : 0;
	if (isnan(f))
		return sign | 0x7e00;
	double a = fabs((double)f);
	if (a >= 65520.0)
		return sign | 0x7c00;
	uint16_t lo = 0, hi = 0x7bff;
	while (lo < hi) { /* largest code with value <= a */
		uint16_t mid = (uint16_t)((lo + hi + 1) / 2);
		if ((double)hx_f16_to_f32(mid) <= a)
			lo = mid;
		else
			hi = (uint16_t)(mid - 1);
	}
	if (lo == 0x7bff)
		return sign | 0x7bff;
	double d0 = a - (double)hx_f16_to_f32(lo), d1 = (double)hx_f16_to_f32((uint16_t)(lo + 1)) - a;
	if (d0 < d1 || (d0 == d1 && !(lo & 1)))
		return sign | lo;
	return sign | (uint16_t)(lo + 1);
}

static void test_f16_conversion(void **state)
{
	(void)state;
	/* every f16 value converts exactly and back */
	for (uint32_t h = 0; h < 0x10000; h++) {
		float f = hx_f16_to_f32((hx_f16)h);
		bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
		if (nan) {
			assert_true(isnan(f));
			assert_int_equal(hx_f32_to_f16(f) & 0x7e00, 0x7e00);
		} else {
			assert_int_equal(hx_f32_to_f16(f), h);
		}
	}
	assert_int_equal(f2u(hx_f16_to_f32(0x0001)), f2u(ldexpf(1.0f, -24)));
	assert_int_equal(f2u(hx_f16_to_f32(0x3c00)), f2u(1.0f));
	assert_int_equal(f2u(hx_f16_to_f32(0xc000)), f2u(-2.0f));
	assert_true(isinf(hx_f16_to_f32(0x7c00)));
	/* rounding: ties to even, overflow, underflow, subnormals */
	assert_int_equal(hx_f32_to_f16(65504.0f), 0x7bff);
	assert_int_equal(hx_f32_to_f16(65519.996f), 0x7bff);
	assert_int_equal(hx_f32_to_f16(65520.0f), 0x7c00);
	assert_int_equal(hx_f32_to_f16(-1e10f), 0xfc00);
	assert_int_equal(hx_f32_to_f16(INFINITY), 0x7c00);
	assert_int_equal(hx_f32_to_f16(-0.0f), 0x8000);
	assert_int_equal(hx_f32_to_f16(1.0f + ldexpf(1.0f, -11)), 0x3c00);     /* tie -> even */
	assert_int_equal(hx_f32_to_f16(1.0f + 3 * ldexpf(1.0f, -11)), 0x3c02); /* tie -> even */
	assert_int_equal(hx_f32_to_f16(ldexpf(1.0f, -25)), 0x0000);           /* tie -> 0 */
	assert_int_equal(hx_f32_to_f16(ldexpf(1.5f, -24)), 0x0002);           /* tie -> even */
	assert_int_equal(hx_f32_to_f16(ldexpf(2.5f, -24)), 0x0002);
	assert_int_equal(hx_f32_to_f16(ldexpf(1.0f, -26)), 0x0000);
	assert_int_equal(hx_f32_to_f16(ldexpf(1.0f, -14)), 0x0400);
	assert_int_equal(hx_f32_to_f16(ldexpf(1023.5f, -24)), 0x0400); /* rounds up into normals */
	assert_int_equal(hx_f32_to_f16(1e-30f), 0x0000);
	assert_int_equal(hx_f32_to_f16(NAN) & 0x7e00, 0x7e00);
	/* random bit patterns against the exhaustive reference */
	uint64_t s = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 200000; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		uint32_t u = (uint32_t)s;
		if (i & 1) /* bias half of them into the f16 range */
			u = (u & 0x80ffffffu) | ((uint32_t)(100 + (s >> 40) % 45) << 23);
		float f = u2f(u);
		hx_f16 want = slow_f16(f), got = hx_f32_to_f16(f);
		if (want != got)
			print_message("f32 %08x: got %04x want %04x\n", u, got, want);
		assert_int_equal(got, want);
	}
}

static void test_bf16_conversion(void **state)
{
	(void)state;
	assert_int_equal(hx_f32_to_bf16(1.0f), 0x3f80);
	assert_int_equal(hx_f32_to_bf16(u2f(0x3f808000)), 0x3f80); /* tie -> even */
	assert_int_equal(hx_f32_to_bf16(u2f(0x3f818000)), 0x3f82); /* tie -> even */
	assert_int_equal(hx_f32_to_bf16(u2f(0x3f808001)), 0x3f81);
	assert_int_equal(hx_f32_to_bf16(u2f(0x7f7fffff)), 0x7f80); /* rounds to inf */
	assert_int_equal(hx_f32_to_bf16(-INFINITY), 0xff80);
	assert_int_equal(hx_f32_to_bf16(u2f(0x7f800001)), 0x7fc0); /* signalling NaN -> quiet */
	assert_int_equal(hx_f32_to_bf16(u2f(0xffc12345)), 0xffc1);
	assert_int_equal(hx_f32_to_bf16(u2f(0x00008000)), 0x0000); /* subnormal tie -> even */
	assert_int_equal(hx_f32_to_bf16(u2f(0x00018000)), 0x0002);
	for (uint32_t h = 0; h < 0x10000; h++) {
		float f = hx_bf16_to_f32((hx_bf16)h);
		assert_int_equal(f2u(f), h << 16);
		if (!isnan(f))
			assert_int_equal(hx_f32_to_bf16(f), h);
	}
}

/* ---- (c) round-trip error ---- */

static uint64_t g_rng = 0x853c49e6748fea9bull;

static double rng_u01(void)
{
	g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
	return ((double)(g_rng >> 11) + 0.5) / 9007199254740992.0;
}

static float rng_normal(void)
{
	return (float)(sqrt(-2.0 * log(rng_u01())) * cos(6.283185307179586 * rng_u01()));
}

/* Relative RMSE of quantize->dequantize over `n` values. */
static double roundtrip_rmse(int type, const float *x, int64_t n)
{
	size_t rs = kern_row_size(type, n);
	uint8_t *q = malloc(rs);
	float *y = malloc((size_t)n * sizeof(float));
	assert_int_equal(kern_quantize_row(type, x, q, n), 0);
	kern_dequant_row(type, q, y, n);
	double se = 0, ss = 0;
	for (int64_t i = 0; i < n; i++) {
		se += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
		ss += (double)x[i] * x[i];
	}
	free(q);
	free(y);
	return sqrt(se / ss);
}

static void test_roundtrip_error(void **state)
{
	(void)state;
	static const struct {
		int type;
		double lo, hi;
	} bounds[] = {
		/* measured (identical to ggml's reference quantizers) within -20% / +15% */
		{HEARTH_TYPE_F32, 0, 0},            {HEARTH_TYPE_F16, 1e-4, 3e-4},     {HEARTH_TYPE_BF16, 1e-3, 2.2e-3},
		{HEARTH_TYPE_Q8_0, 0.004, 0.0065},  {HEARTH_TYPE_Q8_K, 0.005, 0.008},  {HEARTH_TYPE_Q6_K, 0.014, 0.020},
		{HEARTH_TYPE_Q5_1, 0.030, 0.043},   {HEARTH_TYPE_Q5_0, 0.034, 0.048},  {HEARTH_TYPE_Q5_K, 0.029, 0.041},
		{HEARTH_TYPE_Q4_1, 0.062, 0.090},   {HEARTH_TYPE_Q4_0, 0.068, 0.097},  {HEARTH_TYPE_Q4_K, 0.057, 0.082},
		{HEARTH_TYPE_IQ4_NL, 0.060, 0.087}, {HEARTH_TYPE_IQ4_XS, 0.060, 0.087}, {HEARTH_TYPE_Q3_K, 0.120, 0.173},
		{HEARTH_TYPE_Q2_K, 0.236, 0.340},
	};
	enum { N = 256 * 64 };
	float *x = malloc(N * sizeof(float));
	for (int i = 0; i < N; i++)
		x[i] = rng_normal();
	for (size_t k = 0; k < sizeof bounds / sizeof bounds[0]; k++) {
		double e = roundtrip_rmse(bounds[k].type, x, N);
		print_message("  %-7s relative RMSE %.5f%%\n", hearth_type_name(bounds[k].type), 100 * e);
		assert_true(e >= bounds[k].lo && e <= bounds[k].hi);
	}
	/* constant, zero and tiny blocks must not produce NaN/inf */
	static const float specials[] = {0.0f, 1e-30f, -3.0f, 1e-8f};
	for (size_t s = 0; s < sizeof specials / sizeof specials[0]; s++) {
		for (int i = 0; i < 512; i++)
			x[i] = specials[s];
		for (size_t k = 0; k < sizeof bounds / sizeof bounds[0]; k++) {
			int type = bounds[k].type;
			uint8_t q[4096];
			float y[512];
			assert_int_equal(kern_quantize_row(type, x, q, 512), 0);
			kern_dequant_row(type, q, y, 512);
			for (int i = 0; i < 512; i++) {
				assert_true(isfinite(y[i]));
				assert_true(fabsf(y[i] - x[i]) <= 0.1f * fabsf(x[i]) + 1e-6f);
			}
		}
	}
	free(x);
}

/* ---- (d) scalar mm against a double-precision dot of the dequantized rows ---- */

static void test_scalar_mm(void **state)
{
	(void)state;
	const kern_isa *isa = kern_isa_scalar();
	assert_string_equal(isa->name, "scalar");
	enum { K = 768, NR = 5, NC = 3 };
	float *w = malloc(NR * K * sizeof(float)), *a = malloc(NC * K * sizeof(float));
	float *wd = malloc(NR * K * sizeof(float)), *ad = malloc(NC * K * sizeof(float));
	uint8_t *wq = malloc(NR * K * 4), *aq = malloc(NC * K * 4);
	for (int i = 0; i < NR * K; i++)
		w[i] = rng_normal() * (i % 7 == 0 ? 3.0f : 1.0f);
	for (int i = 0; i < NC * K; i++)
		a[i] = rng_normal();
	for (int k = 0; k < N_TYPES; k++) {
		const int type = k_types[k];
		const int at = kern_vec_dot_type(type);
		assert_true(at >= 0);
		assert_non_null(isa->mm[type]);
		assert_non_null(isa->act[at]);
		size_t wrs = kern_row_size(type, K), ars = kern_row_size(at, K);
		assert_int_equal(kern_quantize_rows(type, w, wq, NR, K), wrs * NR);
		for (int c = 0; c < NC; c++) {
			isa->act[at](a + c * K, aq + c * ars, K);
			kern_dequant_row(at, aq + c * ars, ad + c * K, K);
		}
		for (int r = 0; r < NR; r++)
			kern_dequant_row(type, wq + r * wrs, wd + r * K, K);
		float s[NC * 8];
		for (int i = 0; i < NC * 8; i++)
			s[i] = NAN;
		isa->mm[type](K, NR, NC, s, 8, wq, wrs, aq, ars);
		for (int c = 0; c < NC; c++)
			for (int r = 0; r < NR; r++) {
				double ref = 0, mag = 0;
				for (int i = 0; i < K; i++) {
					ref += (double)wd[r * K + i] * ad[c * K + i];
					mag += fabs((double)wd[r * K + i] * ad[c * K + i]);
				}
				double err = fabs(s[c * 8 + r] - ref);
				if (err > 1e-5 * mag)
					print_message("%s r%d c%d: %g vs %g\n", hearth_type_name(type), r, c,
					              (double)s[c * 8 + r], ref);
				assert_true(err <= 1e-5 * mag);
			}
		for (int c = 0; c < NC; c++) /* lds padding untouched */
			for (int r = NR; r < 8; r++)
				assert_true(isnan(s[c * 8 + r]));
	}
	/* Q8_K activations carry the sums of each 16 quants */
	block_q8_K qk[3];
	isa->act[HEARTH_TYPE_Q8_K](a, qk, 3 * QK_K);
	for (int b = 0; b < 3; b++)
		for (int g = 0; g < 16; g++) {
			int sum = 0;
			for (int l = 0; l < 16; l++)
				sum += qk[b].qs[16 * g + l];
			assert_int_equal(qk[b].bsums[g], sum);
		}
	/* f32 helpers */
	float y[K], y2[K];
	hx_f16 h[K];
	isa->f32_to_f16(a, h, K);
	isa->f16_to_f32(h, y, K);
	double d1 = 0, d2 = 0;
	for (int i = 0; i < K; i++) {
		assert_int_equal(h[i], hx_f32_to_f16(a[i]));
		d1 += (double)a[i] * w[i];
		d2 += (double)y[i] * w[i];
	}
	assert_true(fabs(isa->dot_f32(K, a, w) - d1) < 1e-4);
	assert_true(fabs(isa->dot_f16_f32(K, h, w) - d2) < 1e-4);
	memcpy(y2, w, sizeof y2);
	isa->axpy_f32(K, 0.5f, a, y2);
	for (int i = 0; i < K; i++)
		assert_true(y2[i] == w[i] + 0.5f * a[i]);
	memcpy(y2, w, sizeof y2);
	isa->axpy_f16_f32(K, -2.0f, h, y2);
	for (int i = 0; i < K; i++)
		assert_true(y2[i] == w[i] + -2.0f * y[i]);
	free(w);
	free(a);
	free(wd);
	free(ad);
	free(wq);
	free(aq);
}

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(kern_row_size(HEARTH_TYPE_Q4_K, 512), 288);
	assert_int_equal(kern_row_size(HEARTH_TYPE_Q4_0, 64), 36);
	assert_int_equal(kern_row_size(HEARTH_TYPE_F16, 3), 6);
	assert_int_equal(kern_row_size(HEARTH_TYPE_Q4_K, 100), 0); /* not whole blocks */
	assert_int_equal(kern_row_size(4, 32), 0);                  /* removed id */
	assert_int_equal(kern_vec_dot_type(HEARTH_TYPE_IQ4_XS), HEARTH_TYPE_Q8_K);
	assert_int_equal(kern_vec_dot_type(HEARTH_TYPE_Q5_1), HEARTH_TYPE_Q8_0);
	assert_int_equal(kern_vec_dot_type(HEARTH_TYPE_IQ2_XXS), -1);
	float x[32] = {0};
	uint8_t q[64];
	assert_int_equal(kern_quantize_row(HEARTH_TYPE_IQ2_XXS, x, q, 256), HEARTH_EUNSUPPORTED);
	assert_int_equal(kern_quantize_row(HEARTH_TYPE_Q4_0, x, q, 31), HEARTH_EINVAL);
	assert_int_equal(kern_quantize_rows(HEARTH_TYPE_Q4_0, x, q, 1, 32), 18);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_f16_conversion),
		cmocka_unit_test(test_bf16_conversion),
		cmocka_unit_test(test_roundtrip_error),
		cmocka_unit_test(test_scalar_mm),
		cmocka_unit_test(test_dequant_bit_exact),
		cmocka_unit_test(test_quantize_matches_golden_bytes),
	};
	return cmocka_run_group_tests(tests, golden_open, golden_close);
}
