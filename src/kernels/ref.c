/*
 * ref.c - the scalar reference for every numeric kernel: half-float conversion,
 * bit-exact dequantization, reference quantization (the same algorithms as
 * ggml's quantize_row_*_ref, so the files it writes match llama-quantize's), and
 * the scalar kern_isa table the SIMD paths are tested against.
 *
 * Everything here is plain C11 arithmetic in float, in the same operation order
 * as the GGML reference, so that dequantization reproduces ggml's values bit for
 * bit.  This file is compiled for baseline x86-64 (no FMA), and -std=c11 keeps
 * the compiler from contracting a*b+c into fused multiply-adds.
 */
#include "kernels/kernels.h"
#include "util/util.h"

#include <math.h>
#include <string.h>

const int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/* A group whose largest magnitude is below this quantizes to all zeros. */
#define GROUP_MAX_EPS 1e-15f

/* ---------------------------------------------------------------------------------
 * Half floats
 * ------------------------------------------------------------------------------- */

static inline uint32_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static inline float bits_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

/* Exact: every binary16 value (normal, subnormal, inf, NaN) is a float. */
float hx_f16_to_f32(hx_f16 h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t mant = h & 0x3ff;
	if (exp == 0x1f) /* inf / NaN: keep the payload */
		return bits_f32(sign | 0x7f800000 | (mant << 13));
	if (exp == 0) {
		/* zero or subnormal: mant * 2^-24, exact in float */
		float v = (float)mant * bits_f32(0x33800000); /* 2^-24 */
		return bits_f32(sign | f32_bits(v));
	}
	return bits_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

/* Round to nearest, ties to even; overflow gives inf, NaN gives a quiet NaN. */
hx_f16 hx_f32_to_f16(float f)
{
	uint32_t x = f32_bits(f);
	uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
	x &= 0x7fffffff;
	if (x > 0x7f800000)
		return sign | 0x7e00;
	if (x >= 0x477ff000) /* >= 65520 rounds to infinity */
		return sign | 0x7c00;
	if (x < 0x38800000) {
		/* result is subnormal (or rounds up to the smallest normal): adding 0.5
		 * puts the half-float ulp 2^-24 at the float's last mantissa bit, so the
		 * FPU's own round-to-nearest-even does the rounding */
		float v = bits_f32(x) + 0.5f;
		return sign | (uint16_t)(f32_bits(v) - 0x3f000000);
	}
	uint32_t odd = (x >> 13) & 1;
	x += 0xc8000fffu + odd; /* rebias the exponent by -112 and round */
	return sign | (uint16_t)(x >> 13);
}

float hx_bf16_to_f32(hx_bf16 h) { return bits_f32((uint32_t)h << 16); }

/* As ggml: round to nearest even; NaN stays NaN (forced quiet). */
hx_bf16 hx_f32_to_bf16(float f)
{
	uint32_t x = f32_bits(f);
	if ((x & 0x7fffffff) > 0x7f800000)
		return (hx_bf16)((x >> 16) | 64);
	return (hx_bf16)((x + (0x7fff + ((x >> 16) & 1))) >> 16);
}

#define F16(h) hx_f16_to_f32(h)
#define TO_F16(f) hx_f32_to_f16(f)

/* ---------------------------------------------------------------------------------
 * Sizes and activation types
 * ------------------------------------------------------------------------------- */

size_t kern_row_size(int type, int64_t n)
{
	int64_t blck = hearth_type_block_size(type);
	if (blck <= 0 || n < 0 || n % blck)
		return 0;
	return (size_t)(n / blck) * hearth_type_block_bytes(type);
}

int kern_vec_dot_type(int type)
{
	switch (type) {
	case HEARTH_TYPE_F32: return HEARTH_TYPE_F32;
	case HEARTH_TYPE_F16: return HEARTH_TYPE_F16;
	case HEARTH_TYPE_BF16: return HEARTH_TYPE_BF16;
	case HEARTH_TYPE_Q4_0:
	case HEARTH_TYPE_Q4_1:
	case HEARTH_TYPE_Q5_0:
	case HEARTH_TYPE_Q5_1:
	case HEARTH_TYPE_Q8_0:
	case HEARTH_TYPE_IQ4_NL: return HEARTH_TYPE_Q8_0;
	case HEARTH_TYPE_Q2_K:
	case HEARTH_TYPE_Q3_K:
	case HEARTH_TYPE_Q4_K:
	case HEARTH_TYPE_Q5_K:
	case HEARTH_TYPE_Q6_K:
	case HEARTH_TYPE_IQ4_XS: return HEARTH_TYPE_Q8_K;
	default: return -1;
	}
}

/* ---------------------------------------------------------------------------------
 * Dequantization (bit-exact with ggml's dequantize_row_*)
 * ------------------------------------------------------------------------------- */

static void dequant_q4_0(const block_q4_0 *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, y += QK4_0) {
		const float d = F16(x[i].d);
		for (int j = 0; j < QK4_0 / 2; j++) {
			y[j] = (float)((x[i].qs[j] & 0x0f) - 8) * d;
			y[j + QK4_0 / 2] = (float)((x[i].qs[j] >> 4) - 8) * d;
		}
	}
}

static void dequant_q4_1(const block_q4_1 *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, y += QK4_1) {
		const float d = F16(x[i].d), m = F16(x[i].m);
		for (int j = 0; j < QK4_1 / 2; j++) {
			y[j] = (float)(x[i].qs[j] & 0x0f) * d + m;
			y[j + QK4_1 / 2] = (float)(x[i].qs[j] >> 4) * d + m;
		}
	}
}

static inline uint32_t load_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void dequant_q5_0(const block_q5_0 *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, y += QK5_0) {
		const float d = F16(x[i].d);
		const uint32_t qh = load_u32(x[i].qh);
		for (int j = 0; j < QK5_0 / 2; j++) {
			int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;
			y[j] = (float)(((x[i].qs[j] & 0x0f) | (h0 << 4)) - 16) * d;
			y[j + QK5_0 / 2] = (float)(((x[i].qs[j] >> 4) | (h1 << 4)) - 16) * d;
		}
	}
}

static void dequant_q5_1(const block_q5_1 *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, y += QK5_1) {
		const float d = F16(x[i].d), m = F16(x[i].m);
		const uint32_t qh = load_u32(x[i].qh);
		for (int j = 0; j < QK5_1 / 2; j++) {
			int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;
			y[j] = (float)((x[i].qs[j] & 0x0f) | (h0 << 4)) * d + m;
			y[j + QK5_1 / 2] = (float)((x[i].qs[j] >> 4) | (h1 << 4)) * d + m;
		}
	}
}

static void dequant_q8_0(const block_q8_0 *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, y += QK8_0) {
		const float d = F16(x[i].d);
		for (int j = 0; j < QK8_0; j++)
			y[j] = (float)x[i].qs[j] * d;
	}
}

/* Q2_K / Q3_K element order: the 256 values are two halves of 128; in a half,
 * byte l of the 32 qs bytes holds, at bit pair 2*s, element 32*s + l. */
static void dequant_q2_K(const block_q2_K *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++) {
		const float d = F16(x[i].d), dmin = F16(x[i].dmin);
		const uint8_t *q = x[i].qs;
		int is = 0;
		for (int half = 0; half < 2; half++, q += 32) {
			for (int s = 0; s < 4; s++) {
				for (int k = 0; k < 2; k++) {
					const uint8_t sc = x[i].scales[is++];
					const float dl = d * (float)(sc & 0xf), ml = dmin * (float)(sc >> 4);
					for (int l = 0; l < 16; l++)
						*y++ = dl * (float)((q[16 * k + l] >> (2 * s)) & 3) - ml;
				}
			}
		}
	}
}

/* The 16 6-bit Q3_K scales (biased by 32): low nibbles in bytes 0..7 (j < 8 low
 * nibble of byte j, j >= 8 high nibble of byte j - 8), high 2 bits in bytes 8..11. */
static inline int q3k_scale(const uint8_t *s, int j)
{
	int lo = j < 8 ? (s[j] & 0xf) : (s[j - 8] >> 4);
	int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
	return (lo | (hi << 4)) - 32;
}

static void dequant_q3_K(const block_q3_K *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++) {
		const float d = F16(x[i].d);
		const uint8_t *q = x[i].qs;
		int is = 0;
		uint8_t m = 1;
		for (int half = 0; half < 2; half++, q += 32) {
			for (int s = 0; s < 4; s++, m <<= 1) {
				for (int k = 0; k < 2; k++) {
					const float dl = d * (float)q3k_scale(x[i].scales, is++);
					for (int l = 0; l < 16; l++) {
						int v = (q[16 * k + l] >> (2 * s)) & 3;
						if (!(x[i].hmask[16 * k + l] & m))
							v -= 4;
						*y++ = dl * (float)v;
					}
				}
			}
		}
	}
}

/* Q4_K / Q5_K packed 6-bit scale and min of sub-block j (0..7). */
static inline void k4_scale_min(int j, const uint8_t *q, int *sc, int *m)
{
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
		*m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
	}
}

static void dequant_q4_K(const block_q4_K *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++) {
		const float d = F16(x[i].d), dmin = F16(x[i].dmin);
		const uint8_t *q = x[i].qs;
		for (int j = 0; j < 8; j += 2, q += 32) {
			int sc, m;
			k4_scale_min(j, x[i].scales, &sc, &m);
			const float d1 = d * (float)sc, m1 = dmin * (float)m;
			k4_scale_min(j + 1, x[i].scales, &sc, &m);
			const float d2 = d * (float)sc, m2 = dmin * (float)m;
			for (int l = 0; l < 32; l++)
				*y++ = d1 * (float)(q[l] & 0xf) - m1;
			for (int l = 0; l < 32; l++)
				*y++ = d2 * (float)(q[l] >> 4) - m2;
		}
	}
}

static void dequant_q5_K(const block_q5_K *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++) {
		const float d = F16(x[i].d), dmin = F16(x[i].dmin);
		const uint8_t *q = x[i].qs;
		for (int j = 0; j < 8; j += 2, q += 32) {
			int sc, m;
			k4_scale_min(j, x[i].scales, &sc, &m);
			const float d1 = d * (float)sc, m1 = dmin * (float)m;
			k4_scale_min(j + 1, x[i].scales, &sc, &m);
			const float d2 = d * (float)sc, m2 = dmin * (float)m;
			const uint8_t b1 = (uint8_t)(1u << j), b2 = (uint8_t)(2u << j);
			for (int l = 0; l < 32; l++)
				*y++ = d1 * (float)((q[l] & 0xf) + (x[i].qh[l] & b1 ? 16 : 0)) - m1;
			for (int l = 0; l < 32; l++)
				*y++ = d2 * (float)((q[l] >> 4) + (x[i].qh[l] & b2 ? 16 : 0)) - m2;
		}
	}
}

static void dequant_q6_K(const block_q6_K *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++) {
		const float d = F16(x[i].d);
		const uint8_t *ql = x[i].ql, *qh = x[i].qh;
		const int8_t *sc = x[i].scales;
		for (int half = 0; half < 2; half++, y += 128, ql += 64, qh += 32, sc += 8) {
			for (int l = 0; l < 32; l++) {
				const int is = l / 16;
				int q1 = ((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32;
				int q2 = ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
				int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
				int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
				y[l] = d * (float)sc[is + 0] * (float)q1;
				y[l + 32] = d * (float)sc[is + 2] * (float)q2;
				y[l + 64] = d * (float)sc[is + 4] * (float)q3;
				y[l + 96] = d * (float)sc[is + 6] * (float)q4;
			}
		}
	}
}

static void dequant_iq4_nl(const block_iq4_nl *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, y += QK4_NL) {
		const float d = F16(x[i].d);
		for (int j = 0; j < QK4_NL / 2; j++) {
			y[j] = d * (float)kvalues_iq4nl[x[i].qs[j] & 0xf];
			y[j + QK4_NL / 2] = d * (float)kvalues_iq4nl[x[i].qs[j] >> 4];
		}
	}
}

static inline int iq4xs_scale(const block_iq4_xs *x, int ib)
{
	return (((x->scales_l[ib / 2] >> (4 * (ib % 2))) & 0xf) | (((x->scales_h >> (2 * ib)) & 3) << 4)) - 32;
}

static void dequant_iq4_xs(const block_iq4_xs *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++) {
		const float d = F16(x[i].d);
		const uint8_t *qs = x[i].qs;
		for (int ib = 0; ib < QK_K / 32; ib++, y += 32, qs += 16) {
			const float dl = d * (float)iq4xs_scale(&x[i], ib);
			for (int j = 0; j < 16; j++) {
				y[j] = dl * (float)kvalues_iq4nl[qs[j] & 0xf];
				y[j + 16] = dl * (float)kvalues_iq4nl[qs[j] >> 4];
			}
		}
	}
}

static void dequant_q8_K(const block_q8_K *x, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, y += QK_K)
		for (int j = 0; j < QK_K; j++)
			y[j] = x[i].d * (float)x[i].qs[j];
}

void kern_dequant_row(int type, const void *src, float *dst, int64_t n)
{
	int64_t blck = hearth_type_block_size(type);
	HX_ASSERT(blck > 0 && n % blck == 0);
	int64_t nb = n / blck;
	switch (type) {
	case HEARTH_TYPE_F32: memcpy(dst, src, (size_t)n * sizeof(float)); break;
	case HEARTH_TYPE_F16: {
		const hx_f16 *s = src;
		for (int64_t i = 0; i < n; i++)
			dst[i] = hx_f16_to_f32(s[i]);
		break;
	}
	case HEARTH_TYPE_BF16: {
		const hx_bf16 *s = src;
		for (int64_t i = 0; i < n; i++)
			dst[i] = hx_bf16_to_f32(s[i]);
		break;
	}
	case HEARTH_TYPE_Q4_0: dequant_q4_0(src, dst, nb); break;
	case HEARTH_TYPE_Q4_1: dequant_q4_1(src, dst, nb); break;
	case HEARTH_TYPE_Q5_0: dequant_q5_0(src, dst, nb); break;
	case HEARTH_TYPE_Q5_1: dequant_q5_1(src, dst, nb); break;
	case HEARTH_TYPE_Q8_0: dequant_q8_0(src, dst, nb); break;
	case HEARTH_TYPE_Q2_K: dequant_q2_K(src, dst, nb); break;
	case HEARTH_TYPE_Q3_K: dequant_q3_K(src, dst, nb); break;
	case HEARTH_TYPE_Q4_K: dequant_q4_K(src, dst, nb); break;
	case HEARTH_TYPE_Q5_K: dequant_q5_K(src, dst, nb); break;
	case HEARTH_TYPE_Q6_K: dequant_q6_K(src, dst, nb); break;
	case HEARTH_TYPE_Q8_K: dequant_q8_K(src, dst, nb); break;
	case HEARTH_TYPE_IQ4_NL: dequant_iq4_nl(src, dst, nb); break;
	case HEARTH_TYPE_IQ4_XS: dequant_iq4_xs(src, dst, nb); break;
	default: HX_ASSERT(!"kern_dequant_row: unsupported type");
	}
}

/* ---------------------------------------------------------------------------------
 * Quantization
 * ------------------------------------------------------------------------------- */

/* Round to nearest (ties to even) for |f| < 2^22: adding 1.5*2^23 leaves the
 * integer in the low mantissa bits.  The same trick ggml uses, so the rounding of
 * ties (which decide individual quants) agrees with it. */
static inline int nearest_int(float f)
{
	float v = f + 12582912.f;
	int32_t i;
	memcpy(&i, &v, 4);
	return (i & 0x007fffff) - 0x00400000;
}

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void quant_q4_0(const float *x, block_q4_0 *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, x += QK4_0) {
		/* the value of largest magnitude maps to -8, so its sign sets d's */
		float amax = 0.0f, max = 0.0f;
		for (int j = 0; j < QK4_0; j++)
			if (fabsf(x[j]) > amax) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		const float d = max / -8.0f;
		const float id = d != 0.0f ? 1.0f / d : 0.0f;
		y[i].d = TO_F16(d);
		for (int j = 0; j < QK4_0 / 2; j++) {
			int a = (int)(int8_t)(x[j] * id + 8.5f), b = (int)(int8_t)(x[j + 16] * id + 8.5f);
			a = a > 15 ? 15 : a;
			b = b > 15 ? 15 : b;
			y[i].qs[j] = (uint8_t)(a | (b << 4));
		}
	}
}

static void quant_q4_1(const float *x, block_q4_1 *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, x += QK4_1) {
		float min = INFINITY, max = -INFINITY;
		for (int j = 0; j < QK4_1; j++) {
			if (x[j] < min)
				min = x[j];
			if (x[j] > max)
				max = x[j];
		}
		const float d = (max - min) / 15.0f;
		const float id = d != 0.0f ? 1.0f / d : 0.0f;
		y[i].d = TO_F16(d);
		y[i].m = TO_F16(min);
		for (int j = 0; j < QK4_1 / 2; j++) {
			int a = (int)(int8_t)((x[j] - min) * id + 0.5f), b = (int)(int8_t)((x[j + 16] - min) * id + 0.5f);
			a = a > 15 ? 15 : a;
			b = b > 15 ? 15 : b;
			y[i].qs[j] = (uint8_t)(a | (b << 4));
		}
	}
}

static void quant_q5_0(const float *x, block_q5_0 *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, x += QK5_0) {
		float amax = 0.0f, max = 0.0f;
		for (int j = 0; j < QK5_0; j++)
			if (fabsf(x[j]) > amax) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		const float d = max / -16.0f;
		const float id = d != 0.0f ? 1.0f / d : 0.0f;
		uint32_t qh = 0;
		y[i].d = TO_F16(d);
		for (int j = 0; j < QK5_0 / 2; j++) {
			int a = (int)(int8_t)(x[j] * id + 16.5f), b = (int)(int8_t)(x[j + 16] * id + 16.5f);
			a = a > 31 ? 31 : a;
			b = b > 31 ? 31 : b;
			y[i].qs[j] = (uint8_t)((a & 0xf) | ((b & 0xf) << 4));
			qh |= (uint32_t)((a >> 4) & 1) << j;
			qh |= (uint32_t)((b >> 4) & 1) << (j + 16);
		}
		memcpy(y[i].qh, &qh, 4);
	}
}

static void quant_q5_1(const float *x, block_q5_1 *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, x += QK5_1) {
		float min = INFINITY, max = -INFINITY;
		for (int j = 0; j < QK5_1; j++) {
			if (x[j] < min)
				min = x[j];
			if (x[j] > max)
				max = x[j];
		}
		const float d = (max - min) / 31.0f;
		const float id = d != 0.0f ? 1.0f / d : 0.0f;
		uint32_t qh = 0;
		y[i].d = TO_F16(d);
		y[i].m = TO_F16(min);
		for (int j = 0; j < QK5_1 / 2; j++) {
			int a = (int)(uint8_t)((x[j] - min) * id + 0.5f), b = (int)(uint8_t)((x[j + 16] - min) * id + 0.5f);
			a = a > 31 ? 31 : a;
			b = b > 31 ? 31 : b;
			y[i].qs[j] = (uint8_t)((a & 0xf) | ((b & 0xf) << 4));
			qh |= (uint32_t)((a >> 4) & 1) << j;
			qh |= (uint32_t)((b >> 4) & 1) << (j + 16);
		}
		memcpy(y[i].qh, &qh, 4);
	}
}

static void quant_q8_0(const float *x, block_q8_0 *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, x += QK8_0) {
		float amax = 0.0f;
		for (int j = 0; j < QK8_0; j++)
			amax = HX_MAX(amax, fabsf(x[j]));
		const float d = amax / 127.0f;
		const float id = d != 0.0f ? 1.0f / d : 0.0f;
		y[i].d = TO_F16(d);
		for (int j = 0; j < QK8_0; j++)
			y[i].qs[j] = (int8_t)roundf(x[j] * id);
	}
}

static void quant_q8_K(const float *x, block_q8_K *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, x += QK_K) {
		float amax = 0.0f, max = 0.0f;
		for (int j = 0; j < QK_K; j++)
			if (fabsf(x[j]) > amax) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		if (amax == 0.0f) {
			memset(&y[i], 0, sizeof y[i]);
			continue;
		}
		/* the largest magnitude maps to -127 (not -128), so every quant fits int8
		 * after clamping the top at 127 */
		const float iscale = -127.0f / max;
		for (int j = 0; j < QK_K; j++) {
			int v = nearest_int(iscale * x[j]);
			y[i].qs[j] = (int8_t)(v > 127 ? 127 : v);
		}
		for (int g = 0; g < QK_K / 16; g++) {
			int sum = 0;
			for (int l = 0; l < 16; l++)
				sum += y[i].qs[16 * g + l];
			y[i].bsums[g] = (int16_t)sum;
		}
		y[i].d = 1.0f / iscale;
	}
}

/*
 * Scale search for symmetric quants in [-nmax, nmax-1] (Q6_K): start from the scale
 * that maps the largest magnitude to -nmax, then try 18 nearby scales, keeping the
 * one that maximises (sum w x l)^2 / sum w l^2 with weights w = x^2, i.e. the least
 * weighted squared error after refitting the scale.  Returns the scale; L gets
 * quants biased by nmax.
 */
static float search_sym_scale(int n, int nmax, const float *x, int8_t *L)
{
	float amax = 0.0f, max = 0.0f;
	for (int i = 0; i < n; i++)
		if (fabsf(x[i]) > amax) {
			amax = fabsf(x[i]);
			max = x[i];
		}
	if (amax < GROUP_MAX_EPS) {
		memset(L, 0, (size_t)n);
		return 0.0f;
	}
	float iscale = -(float)nmax / max;
	float sumlx = 0.0f, suml2 = 0.0f;
	for (int i = 0; i < n; i++) {
		int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
		L[i] = (int8_t)(l + nmax);
		float w = x[i] * x[i];
		sumlx += w * x[i] * (float)l;
		suml2 += w * (float)l * (float)l;
	}
	float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
	float best = scale * sumlx;
	for (int is = -9; is <= 9; is++) {
		if (is == 0)
			continue;
		iscale = -((float)nmax + 0.1f * (float)is) / max;
		sumlx = suml2 = 0.0f;
		for (int i = 0; i < n; i++) {
			int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
			float w = x[i] * x[i];
			sumlx += w * x[i] * (float)l;
			suml2 += w * (float)l * (float)l;
		}
		if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
			for (int i = 0; i < n; i++)
				L[i] = (int8_t)(nmax + clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1));
			scale = sumlx / suml2;
			best = scale * sumlx;
		}
	}
	return scale;
}

/*
 * Q3_K's scale search: quants in [-nmax, nmax-1] from the max-magnitude scale,
 * then coordinate descent: each quant in turn is moved to the value the refitted
 * scale prefers, accepted when the weighted fit (sum w x l)^2 / sum w l^2 improves
 * (w = x^2), for up to 5 passes.  Returns the scale; L gets quants + nmax.
 */
static float search_q3_scale(int n, int nmax, const float *x, int8_t *L)
{
	float amax = 0.0f, max = 0.0f;
	for (int i = 0; i < n; i++)
		if (fabsf(x[i]) > amax) {
			amax = fabsf(x[i]);
			max = x[i];
		}
	if (amax == 0.0f) {
		memset(L, 0, (size_t)n);
		return 0.0f;
	}
	const float iscale = -(float)nmax / max;
	float sumlx = 0.0f, suml2 = 0.0f;
	for (int i = 0; i < n; i++) {
		int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
		L[i] = (int8_t)l;
		float w = x[i] * x[i];
		sumlx += w * x[i] * (float)l;
		suml2 += w * (float)l * (float)l;
	}
	for (int pass = 0; pass < 5; pass++) {
		int changed = 0;
		for (int i = 0; i < n; i++) {
			float w = x[i] * x[i];
			float slx = sumlx - w * x[i] * (float)L[i];
			if (slx > 0.0f) {
				float sl2 = suml2 - w * (float)L[i] * (float)L[i];
				int nl = clampi(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
				if (nl != L[i]) {
					slx += w * x[i] * (float)nl;
					sl2 += w * (float)nl * (float)nl;
					if (sl2 > 0.0f && slx * slx * suml2 > sumlx * sumlx * sl2) {
						L[i] = (int8_t)nl;
						sumlx = slx;
						suml2 = sl2;
						changed++;
					}
				}
			}
		}
		if (!changed)
			break;
	}
	for (int i = 0; i < n; i++)
		L[i] = (int8_t)(L[i] + nmax);
	return sumlx / suml2;
}

/*
 * Scale-and-min search for asymmetric quants x ~ scale * l - min, l in [0, nmax]
 * (Q2_K, Q4_K, Q5_K).  Starts from the range [min(x, 0), max(x)], then tries
 * nstep+1 scales (nmax + rmin + rdelta * is) / range; for each, rounds, solves the
 * weighted least-squares scale and offset for those quants (offset clamped so the
 * minimum is not positive) and keeps the best by weighted absolute (use_mad) or
 * squared error.  Returns the scale, *the_min gets the (non-negative) min.
 */
static float search_scale_min(int n, int nmax, const float *x, const float *w, uint8_t *L, float *the_min,
                              uint8_t *Laux, float rmin, float rdelta, int nstep, bool use_mad)
{
	float min = x[0], max = x[0];
	float sum_w = w[0], sum_x = sum_w * x[0];
	for (int i = 1; i < n; i++) {
		if (x[i] < min)
			min = x[i];
		if (x[i] > max)
			max = x[i];
		sum_w += w[i];
		sum_x += w[i] * x[i];
	}
	if (min > 0.0f)
		min = 0.0f;
	if (max == min) {
		memset(L, 0, (size_t)n);
		*the_min = -min;
		return 0.0f;
	}
	float iscale = (float)nmax / (max - min);
	float scale = 1.0f / iscale;
	float best_err = 0.0f;
	for (int i = 0; i < n; i++) {
		int l = clampi(nearest_int(iscale * (x[i] - min)), 0, nmax);
		L[i] = (uint8_t)l;
		float diff = scale * (float)l + min - x[i];
		diff = use_mad ? fabsf(diff) : diff * diff;
		best_err += w[i] * diff;
	}
	for (int is = 0; is <= nstep; is++) {
		iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
		float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
		for (int i = 0; i < n; i++) {
			int l = clampi(nearest_int(iscale * (x[i] - min)), 0, nmax);
			Laux[i] = (uint8_t)l;
			sum_l += w[i] * (float)l;
			sum_l2 += w[i] * (float)l * (float)l;
			sum_xl += w[i] * (float)l * x[i];
		}
		float D = sum_w * sum_l2 - sum_l * sum_l;
		if (D > 0.0f) {
			float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
			float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
			if (this_min > 0.0f) {
				this_min = 0.0f;
				this_scale = sum_xl / sum_l2;
			}
			float err = 0.0f;
			for (int i = 0; i < n; i++) {
				float diff = this_scale * (float)Laux[i] + this_min - x[i];
				diff = use_mad ? fabsf(diff) : diff * diff;
				err += w[i] * diff;
			}
			if (err < best_err) {
				memcpy(L, Laux, (size_t)n);
				best_err = err;
				scale = this_scale;
				min = this_min;
			}
		}
	}
	*the_min = -min;
	return scale;
}

/* Packs 256 2-bit quants: byte l of half h holds elements 128h + 32s + l at bits 2s. */
static void pack_2bit(const uint8_t *L, uint8_t *qs)
{
	for (int j = 0; j < QK_K; j += 128)
		for (int l = 0; l < 32; l++)
			qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
			                          (L[j + l + 96] << 6));
}

static void quant_q2_K(const float *x, block_q2_K *y, int64_t nb)
{
	uint8_t L[QK_K], Laux[16];
	float w[16], mins[QK_K / 16], scales[QK_K / 16];
	const float q4scale = 15.0f;
	for (int64_t i = 0; i < nb; i++, x += QK_K) {
		float max_scale = 0.0f, max_min = 0.0f;
		for (int j = 0; j < QK_K / 16; j++) {
			for (int l = 0; l < 16; l++)
				w[l] = fabsf(x[16 * j + l]);
			scales[j] = search_scale_min(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15,
			                             true);
			max_scale = HX_MAX(max_scale, scales[j]);
			max_min = HX_MAX(max_min, mins[j]);
		}
		if (max_scale > 0.0f) {
			const float iscale = q4scale / max_scale;
			for (int j = 0; j < QK_K / 16; j++)
				y[i].scales[j] = (uint8_t)nearest_int(iscale * scales[j]);
			y[i].d = TO_F16(max_scale / q4scale);
		} else {
			memset(y[i].scales, 0, sizeof y[i].scales);
			y[i].d = TO_F16(0.0f);
		}
		if (max_min > 0.0f) {
			const float iscale = q4scale / max_min;
			for (int j = 0; j < QK_K / 16; j++)
				y[i].scales[j] |= (uint8_t)(nearest_int(iscale * mins[j]) << 4);
			y[i].dmin = TO_F16(max_min / q4scale);
		} else {
			y[i].dmin = TO_F16(0.0f);
		}
		/* re-quantize against the rounded scales */
		const float dd = F16(y[i].d), dm = F16(y[i].dmin);
		for (int j = 0; j < QK_K / 16; j++) {
			const float d = dd * (float)(y[i].scales[j] & 0xf);
			if (d == 0.0f)
				continue;
			const float m = dm * (float)(y[i].scales[j] >> 4);
			for (int l = 0; l < 16; l++)
				L[16 * j + l] = (uint8_t)clampi(nearest_int((x[16 * j + l] + m) / d), 0, 3);
		}
		pack_2bit(L, y[i].qs);
	}
}

static void quant_q3_K(const float *x, block_q3_K *y, int64_t nb)
{
	int8_t L[QK_K];
	float scales[QK_K / 16];
	for (int64_t i = 0; i < nb; i++, x += QK_K) {
		float max_scale = 0.0f, amax = 0.0f;
		for (int j = 0; j < QK_K / 16; j++) {
			scales[j] = search_q3_scale(16, 4, x + 16 * j, L + 16 * j);
			if (fabsf(scales[j]) > amax) {
				amax = fabsf(scales[j]);
				max_scale = scales[j];
			}
		}
		memset(y[i].scales, 0, sizeof y[i].scales);
		if (max_scale != 0.0f) {
			const float iscale = -32.0f / max_scale;
			for (int j = 0; j < QK_K / 16; j++) {
				int l = clampi(nearest_int(iscale * scales[j]), -32, 31) + 32;
				if (j < 8)
					y[i].scales[j] = (uint8_t)(l & 0xf);
				else
					y[i].scales[j - 8] |= (uint8_t)((l & 0xf) << 4);
				y[i].scales[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
			}
			y[i].d = TO_F16(1.0f / iscale);
		} else {
			y[i].d = TO_F16(0.0f);
		}
		const float dd = F16(y[i].d);
		for (int j = 0; j < QK_K / 16; j++) {
			const float d = dd * (float)q3k_scale(y[i].scales, j);
			if (d == 0.0f)
				continue;
			for (int l = 0; l < 16; l++)
				L[16 * j + l] = (int8_t)(clampi(nearest_int(x[16 * j + l] / d), -4, 3) + 4);
		}
		/* the high bit of element k is bit k / 32 of hmask[k % 32] */
		uint8_t L2[QK_K];
		memset(y[i].hmask, 0, sizeof y[i].hmask);
		for (int k = 0; k < QK_K; k++) {
			int v = L[k];
			if (v > 3) {
				y[i].hmask[k % 32] |= (uint8_t)(1u << (k / 32));
				v -= 4;
			}
			L2[k] = (uint8_t)v;
		}
		pack_2bit(L2, y[i].qs);
	}
}

/* Packs the 8 6-bit scales and mins of a Q4_K / Q5_K block. */
static void pack_k4_scales(const int *ls, const int *lm, uint8_t *s)
{
	for (int j = 0; j < 8; j++) {
		if (j < 4) {
			s[j] = (uint8_t)ls[j];
			s[j + 4] = (uint8_t)lm[j];
		} else {
			s[j + 4] = (uint8_t)((ls[j] & 0xf) | ((lm[j] & 0xf) << 4));
			s[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
			s[j] |= (uint8_t)((lm[j] >> 4) << 6);
		}
	}
}

/* The common part of Q4_K and Q5_K: per 32-group scale/min search, 6-bit
 * scales, and the final quants L (0..nmax) against the rounded scales. */
static void quant_k4_common(const float *x, int nmax, float rmin, int nstep, hx_f16 *dh, hx_f16 *dminh,
                            uint8_t *packed, uint8_t *L)
{
	uint8_t Laux[32];
	float w[32], mins[8], scales[8];
	float max_scale = 0.0f, max_min = 0.0f;
	for (int j = 0; j < 8; j++) {
		float sum_x2 = 0.0f;
		for (int l = 0; l < 32; l++)
			sum_x2 += x[32 * j + l] * x[32 * j + l];
		const float av_x = sqrtf(sum_x2 / 32.0f);
		for (int l = 0; l < 32; l++)
			w[l] = av_x + fabsf(x[32 * j + l]);
		scales[j] = search_scale_min(32, nmax, x + 32 * j, w, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep,
		                             false);
		max_scale = HX_MAX(max_scale, scales[j]);
		max_min = HX_MAX(max_min, mins[j]);
	}
	const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
	const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
	int ls[8], lm[8];
	for (int j = 0; j < 8; j++) {
		ls[j] = HX_MIN(63, nearest_int(inv_scale * scales[j]));
		lm[j] = HX_MIN(63, nearest_int(inv_min * mins[j]));
	}
	pack_k4_scales(ls, lm, packed);
	*dh = TO_F16(max_scale / 63.0f);
	*dminh = TO_F16(max_min / 63.0f);
	const float dd = F16(*dh), dm = F16(*dminh);
	for (int j = 0; j < 8; j++) {
		int sc, m;
		k4_scale_min(j, packed, &sc, &m);
		const float d = dd * (float)sc;
		if (d == 0.0f)
			continue;
		const float mm = dm * (float)m;
		for (int l = 0; l < 32; l++)
			L[32 * j + l] = (uint8_t)clampi(nearest_int((x[32 * j + l] + mm) / d), 0, nmax);
	}
}

static void quant_q4_K(const float *x, block_q4_K *y, int64_t nb)
{
	uint8_t L[QK_K];
	for (int64_t i = 0; i < nb; i++, x += QK_K) {
		memset(y[i].scales, 0, sizeof y[i].scales);
		quant_k4_common(x, 15, -1.0f, 20, &y[i].d, &y[i].dmin, y[i].scales, L);
		uint8_t *q = y[i].qs;
		for (int j = 0; j < QK_K; j += 64, q += 32)
			for (int l = 0; l < 32; l++)
				q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
	}
}

static void quant_q5_K(const float *x, block_q5_K *y, int64_t nb)
{
	uint8_t L[QK_K];
	for (int64_t i = 0; i < nb; i++, x += QK_K) {
		memset(y[i].scales, 0, sizeof y[i].scales);
		quant_k4_common(x, 31, -0.5f, 15, &y[i].d, &y[i].dmin, y[i].scales, L);
		memset(y[i].qh, 0, sizeof y[i].qh);
		uint8_t *q = y[i].qs;
		uint8_t m1 = 1, m2 = 2;
		for (int j = 0; j < QK_K; j += 64, q += 32, m1 <<= 2, m2 <<= 2) {
			for (int l = 0; l < 32; l++) {
				int a = L[j + l], b = L[j + l + 32];
				if (a > 15) {
					a -= 16;
					y[i].qh[l] |= m1;
				}
				if (b > 15) {
					b -= 16;
					y[i].qh[l] |= m2;
				}
				q[l] = (uint8_t)(a | (b << 4));
			}
		}
	}
}

static void quant_q6_K(const float *x, block_q6_K *y, int64_t nb)
{
	int8_t L[QK_K];
	float scales[QK_K / 16];
	for (int64_t i = 0; i < nb; i++, x += QK_K) {
		float max_scale = 0.0f, max_abs = 0.0f;
		for (int ib = 0; ib < QK_K / 16; ib++) {
			scales[ib] = search_sym_scale(16, 32, x + 16 * ib, L + 16 * ib);
			if (fabsf(scales[ib]) > max_abs) {
				max_abs = fabsf(scales[ib]);
				max_scale = scales[ib];
			}
		}
		if (max_abs < GROUP_MAX_EPS) {
			memset(&y[i], 0, sizeof y[i]);
			continue;
		}
		const float iscale = -128.0f / max_scale;
		y[i].d = TO_F16(1.0f / iscale);
		for (int ib = 0; ib < QK_K / 16; ib++)
			y[i].scales[ib] = (int8_t)HX_MIN(127, nearest_int(iscale * scales[ib]));
		const float dd = F16(y[i].d);
		for (int j = 0; j < QK_K / 16; j++) {
			const float d = dd * (float)y[i].scales[j];
			if (d == 0.0f)
				continue;
			for (int l = 0; l < 16; l++)
				L[16 * j + l] = (int8_t)(clampi(nearest_int(x[16 * j + l] / d), -32, 31) + 32);
		}
		uint8_t *ql = y[i].ql, *qh = y[i].qh;
		for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
			for (int l = 0; l < 32; l++) {
				const int a = L[j + l], b = L[j + l + 32], c = L[j + l + 64], e = L[j + l + 96];
				ql[l] = (uint8_t)((a & 0xf) | ((c & 0xf) << 4));
				ql[l + 32] = (uint8_t)((b & 0xf) | ((e & 0xf) << 4));
				qh[l] = (uint8_t)((a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6));
			}
		}
	}
}

/* Index of the codebook entry nearest to v (ties go to the lower entry's
 * neighbour rule used by ggml: the upper one wins only when strictly nearer). */
static inline int iq4_nearest(float v)
{
	const int8_t *k = kvalues_iq4nl;
	if (v <= (float)k[0])
		return 0;
	if (v >= (float)k[15])
		return 15;
	int lo = 0, hi = 15;
	while (hi - lo > 1) {
		int mid = (lo + hi) / 2;
		if (v < (float)k[mid])
			hi = mid;
		else
			lo = mid;
	}
	return v - (float)k[hi - 1] < (float)k[hi] - v ? hi - 1 : hi;
}

/*
 * Best scale for one group of 32 onto the IQ4 codebook: the scale that maps the
 * largest-magnitude value to the codebook's end entry, refitted by weighted least
 * squares (w = x^2), then 2*ntry+1 alternative starting scales, keeping the best
 * fit.  Returns the scale (0 for an all-zero group).
 */
static float iq4_group_scale(const float *xb, int ntry)
{
	float amax = 0.0f, max = 0.0f;
	for (int j = 0; j < 32; j++)
		if (fabsf(xb[j]) > amax) {
			amax = fabsf(xb[j]);
			max = xb[j];
		}
	if (amax < GROUP_MAX_EPS)
		return 0.0f;
	const float k0 = (float)kvalues_iq4nl[0];
	float d = ntry > 0 ? -max / k0 : max / k0;
	float id = 1.0f / d;
	float sumqx = 0.0f, sumq2 = 0.0f;
	for (int j = 0; j < 32; j++) {
		const float q = (float)kvalues_iq4nl[iq4_nearest(id * xb[j])];
		const float w = xb[j] * xb[j];
		sumqx += w * q * xb[j];
		sumq2 += w * q * q;
	}
	d = sumqx / sumq2;
	float best = d * sumqx;
	for (int itry = -ntry; itry <= ntry; itry++) {
		id = ((float)itry + k0) / max;
		sumqx = sumq2 = 0.0f;
		for (int j = 0; j < 32; j++) {
			const float q = (float)kvalues_iq4nl[iq4_nearest(id * xb[j])];
			const float w = xb[j] * xb[j];
			sumqx += w * q * xb[j];
			sumq2 += w * q * q;
		}
		if (sumq2 > 0.0f && sumqx * sumqx > best * sumq2) {
			d = sumqx / sumq2;
			best = d * sumqx;
		}
	}
	return d;
}

/* Packs 32 codebook indices: byte j = L[j] | L[j + 16] << 4. */
static void pack_nibbles32(const uint8_t *L, uint8_t *qs)
{
	for (int j = 0; j < 16; j++)
		qs[j] = (uint8_t)(L[j] | (L[j + 16] << 4));
}

static void quant_iq4_nl(const float *x, block_iq4_nl *y, int64_t nb)
{
	uint8_t L[32];
	for (int64_t i = 0; i < nb; i++, x += QK4_NL) {
		const float d = iq4_group_scale(x, 7);
		y[i].d = TO_F16(d);
		const float id = d != 0.0f ? 1.0f / d : 0.0f;
		for (int j = 0; j < 32; j++)
			L[j] = (uint8_t)iq4_nearest(id * x[j]);
		pack_nibbles32(L, y[i].qs);
	}
}

static void quant_iq4_xs(const float *x, block_iq4_xs *y, int64_t nb)
{
	uint8_t L[32];
	float scales[QK_K / 32];
	for (int64_t i = 0; i < nb; i++, x += QK_K) {
		float max_scale = 0.0f, amax = 0.0f;
		for (int ib = 0; ib < QK_K / 32; ib++) {
			scales[ib] = iq4_group_scale(x + 32 * ib, 7);
			if (fabsf(scales[ib]) > amax) {
				amax = fabsf(scales[ib]);
				max_scale = scales[ib];
			}
		}
		memset(y[i].qs, 0, sizeof y[i].qs);
		memset(y[i].scales_l, 0, sizeof y[i].scales_l);
		/* 6-bit signed group scales relative to d; the largest maps to -32 */
		const float d = -max_scale / 32.0f;
		y[i].d = TO_F16(d);
		y[i].scales_h = 0;
		const float id = d != 0.0f ? 1.0f / d : 0.0f;
		for (int ib = 0; ib < QK_K / 32; ib++) {
			int l = clampi(nearest_int(id * scales[ib]), -32, 31);
			const float dl = d * (float)l;
			const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
			for (int j = 0; j < 32; j++)
				L[j] = (uint8_t)iq4_nearest(idl * x[32 * ib + j]);
			pack_nibbles32(L, y[i].qs + 16 * ib);
			l += 32;
			y[i].scales_l[ib / 2] |= (uint8_t)((l & 0xf) << (4 * (ib % 2)));
			y[i].scales_h |= (uint16_t)((l >> 4) << (2 * ib));
		}
	}
}

int kern_quantize_row(int type, const float *src, void *dst, int64_t n)
{
	int64_t blck = hearth_type_block_size(type);
	if (blck <= 0 || n < 0 || n % blck)
		return hx_err(HEARTH_EINVAL, "quantize: %lld values are not a whole number of %s blocks", (long long)n,
		              hearth_type_name(type) ? hearth_type_name(type) : "?");
	int64_t nb = n / blck;
	switch (type) {
	case HEARTH_TYPE_F32: memmove(dst, src, (size_t)n * sizeof(float)); break;
	case HEARTH_TYPE_F16: {
		hx_f16 *d = dst;
		for (int64_t i = 0; i < n; i++)
			d[i] = hx_f32_to_f16(src[i]);
		break;
	}
	case HEARTH_TYPE_BF16: {
		hx_bf16 *d = dst;
		for (int64_t i = 0; i < n; i++)
			d[i] = hx_f32_to_bf16(src[i]);
		break;
	}
	case HEARTH_TYPE_Q4_0: quant_q4_0(src, dst, nb); break;
	case HEARTH_TYPE_Q4_1: quant_q4_1(src, dst, nb); break;
	case HEARTH_TYPE_Q5_0: quant_q5_0(src, dst, nb); break;
	case HEARTH_TYPE_Q5_1: quant_q5_1(src, dst, nb); break;
	case HEARTH_TYPE_Q8_0: quant_q8_0(src, dst, nb); break;
	case HEARTH_TYPE_Q2_K: quant_q2_K(src, dst, nb); break;
	case HEARTH_TYPE_Q3_K: quant_q3_K(src, dst, nb); break;
	case HEARTH_TYPE_Q4_K: quant_q4_K(src, dst, nb); break;
	case HEARTH_TYPE_Q5_K: quant_q5_K(src, dst, nb); break;
	case HEARTH_TYPE_Q6_K: quant_q6_K(src, dst, nb); break;
	case HEARTH_TYPE_Q8_K: quant_q8_K(src, dst, nb); break;
	case HEARTH_TYPE_IQ4_NL: quant_iq4_nl(src, dst, nb); break;
	case HEARTH_TYPE_IQ4_XS: quant_iq4_xs(src, dst, nb); break;
	default:
		return hx_err(HEARTH_EUNSUPPORTED, "quantize: cannot produce type %s",
		              hearth_type_name(type) ? hearth_type_name(type) : "?");
	}
	return 0;
}

size_t kern_quantize_rows(int type, const float *src, void *dst, int64_t nrows, int64_t n_per_row)
{
	size_t rs = kern_row_size(type, n_per_row);
	if (rs == 0 || nrows < 0)
		return 0;
	for (int64_t r = 0; r < nrows; r++)
		if (kern_quantize_row(type, src + r * n_per_row, (uint8_t *)dst + (size_t)r * rs, n_per_row) != 0)
			return 0;
	return (size_t)nrows * rs;
}

/* ---------------------------------------------------------------------------------
 * Dot products: one weight row against one activation row
 * ------------------------------------------------------------------------------- */

static float vdot_f32(int64_t n, const void *w, const void *a)
{
	const float *x = w, *y = a;
	double s = 0.0;
	for (int64_t i = 0; i < n; i++)
		s += (double)(x[i] * y[i]);
	return (float)s;
}

static float vdot_f16(int64_t n, const void *w, const void *a)
{
	const hx_f16 *x = w, *y = a;
	double s = 0.0;
	for (int64_t i = 0; i < n; i++)
		s += (double)(F16(x[i]) * F16(y[i]));
	return (float)s;
}

static float vdot_bf16(int64_t n, const void *w, const void *a)
{
	const hx_bf16 *x = w, *y = a;
	double s = 0.0;
	for (int64_t i = 0; i < n; i++)
		s += (double)(hx_bf16_to_f32(x[i]) * hx_bf16_to_f32(y[i]));
	return (float)s;
}

static float vdot_q4_0(int64_t n, const void *w, const void *a)
{
	const block_q4_0 *x = w;
	const block_q8_0 *y = a;
	float s = 0.0f;
	for (int64_t i = 0; i < n / QK8_0; i++) {
		int sumi = 0;
		for (int j = 0; j < 16; j++)
			sumi += ((x[i].qs[j] & 0xf) - 8) * y[i].qs[j] + ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
		s += (float)sumi * (F16(x[i].d) * F16(y[i].d));
	}
	return s;
}

static float vdot_q4_1(int64_t n, const void *w, const void *a)
{
	const block_q4_1 *x = w;
	const block_q8_0 *y = a;
	float s = 0.0f;
	for (int64_t i = 0; i < n / QK8_0; i++) {
		int sumi = 0, sumy = 0;
		for (int j = 0; j < 16; j++) {
			sumi += (x[i].qs[j] & 0xf) * y[i].qs[j] + (x[i].qs[j] >> 4) * y[i].qs[j + 16];
			sumy += y[i].qs[j] + y[i].qs[j + 16];
		}
		const float dy = F16(y[i].d);
		s += (float)sumi * (F16(x[i].d) * dy) + F16(x[i].m) * (dy * (float)sumy);
	}
	return s;
}

static float vdot_q5_0(int64_t n, const void *w, const void *a)
{
	const block_q5_0 *x = w;
	const block_q8_0 *y = a;
	float s = 0.0f;
	for (int64_t i = 0; i < n / QK8_0; i++) {
		const uint32_t qh = load_u32(x[i].qh);
		int sumi = 0;
		for (int j = 0; j < 16; j++) {
			int q0 = ((x[i].qs[j] & 0xf) | (int)(((qh >> j) & 1) << 4)) - 16;
			int q1 = ((x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4)) - 16;
			sumi += q0 * y[i].qs[j] + q1 * y[i].qs[j + 16];
		}
		s += (float)sumi * (F16(x[i].d) * F16(y[i].d));
	}
	return s;
}

static float vdot_q5_1(int64_t n, const void *w, const void *a)
{
	const block_q5_1 *x = w;
	const block_q8_0 *y = a;
	float s = 0.0f;
	for (int64_t i = 0; i < n / QK8_0; i++) {
		const uint32_t qh = load_u32(x[i].qh);
		int sumi = 0, sumy = 0;
		for (int j = 0; j < 16; j++) {
			int q0 = (x[i].qs[j] & 0xf) | (int)(((qh >> j) & 1) << 4);
			int q1 = (x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
			sumi += q0 * y[i].qs[j] + q1 * y[i].qs[j + 16];
			sumy += y[i].qs[j] + y[i].qs[j + 16];
		}
		const float dy = F16(y[i].d);
		s += (float)sumi * (F16(x[i].d) * dy) + F16(x[i].m) * (dy * (float)sumy);
	}
	return s;
}

static float vdot_q8_0(int64_t n, const void *w, const void *a)
{
	const block_q8_0 *x = w;
	const block_q8_0 *y = a;
	float s = 0.0f;
	for (int64_t i = 0; i < n / QK8_0; i++) {
		int sumi = 0;
		for (int j = 0; j < QK8_0; j++)
			sumi += x[i].qs[j] * y[i].qs[j];
		s += (float)sumi * (F16(x[i].d) * F16(y[i].d));
	}
	return s;
}

static float vdot_iq4_nl(int64_t n, const void *w, const void *a)
{
	const block_iq4_nl *x = w;
	const block_q8_0 *y = a;
	float s = 0.0f;
	for (int64_t i = 0; i < n / QK8_0; i++) {
		int sumi = 0;
		for (int j = 0; j < 16; j++)
			sumi += kvalues_iq4nl[x[i].qs[j] & 0xf] * y[i].qs[j] +
			        kvalues_iq4nl[x[i].qs[j] >> 4] * y[i].qs[j + 16];
		s += (float)sumi * (F16(x[i].d) * F16(y[i].d));
	}
	return s;
}

/* Dot of 16 signed quants (already unpacked) with 16 activation quants. */
static inline int dot16(const int8_t *q, const int8_t *a)
{
	int s = 0;
	for (int l = 0; l < 16; l++)
		s += q[l] * a[l];
	return s;
}

static float vdot_q2_K(int64_t n, const void *w, const void *a)
{
	const block_q2_K *x = w;
	const block_q8_K *y = a;
	float s = 0.0f;
	uint8_t L[QK_K];
	for (int64_t i = 0; i < n / QK_K; i++) {
		/* unpack: element 128h + 32s + l at bits 2s of qs[32h + l] */
		for (int k = 0; k < QK_K; k++)
			L[k] = (x[i].qs[32 * (k / 128) + k % 32] >> (2 * ((k % 128) / 32))) & 3;
		int isum = 0, summs = 0;
		for (int j = 0; j < 16; j++) {
			int sumq = 0;
			for (int l = 0; l < 16; l++)
				sumq += L[16 * j + l] * y[i].qs[16 * j + l];
			isum += (x[i].scales[j] & 0xf) * sumq;
			summs += (x[i].scales[j] >> 4) * y[i].bsums[j];
		}
		const float dall = y[i].d * F16(x[i].d), dmin = y[i].d * F16(x[i].dmin);
		s += dall * (float)isum - dmin * (float)summs;
	}
	return s;
}

static float vdot_q3_K(int64_t n, const void *w, const void *a)
{
	const block_q3_K *x = w;
	const block_q8_K *y = a;
	float s = 0.0f;
	int8_t L[QK_K];
	for (int64_t i = 0; i < n / QK_K; i++) {
		for (int k = 0; k < QK_K; k++) {
			int v = (x[i].qs[32 * (k / 128) + k % 32] >> (2 * ((k % 128) / 32))) & 3;
			if (!(x[i].hmask[k % 32] & (1u << (k / 32))))
				v -= 4;
			L[k] = (int8_t)v;
		}
		int isum = 0;
		for (int j = 0; j < 16; j++)
			isum += q3k_scale(x[i].scales, j) * dot16(L + 16 * j, y[i].qs + 16 * j);
		s += (F16(x[i].d) * y[i].d) * (float)isum;
	}
	return s;
}

static float vdot_q4_K(int64_t n, const void *w, const void *a)
{
	const block_q4_K *x = w;
	const block_q8_K *y = a;
	float s = 0.0f;
	for (int64_t i = 0; i < n / QK_K; i++) {
		int isum = 0, summs = 0;
		for (int j = 0; j < 8; j++) {
			int sc, m;
			k4_scale_min(j, x[i].scales, &sc, &m);
			const uint8_t *q = x[i].qs + 32 * (j / 2);
			const int8_t *a8 = y[i].qs + 32 * j;
			int sumq = 0;
			for (int l = 0; l < 32; l++)
				sumq += (j % 2 ? q[l] >> 4 : q[l] & 0xf) * a8[l];
			isum += sc * sumq;
			summs += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
		}
		s += (F16(x[i].d) * y[i].d) * (float)isum - (F16(x[i].dmin) * y[i].d) * (float)summs;
	}
	return s;
}

static float vdot_q5_K(int64_t n, const void *w, const void *a)
{
	const block_q5_K *x = w;
	const block_q8_K *y = a;
	float s = 0.0f;
	for (int64_t i = 0; i < n / QK_K; i++) {
		int isum = 0, summs = 0;
		for (int j = 0; j < 8; j++) {
			int sc, m;
			k4_scale_min(j, x[i].scales, &sc, &m);
			const uint8_t *q = x[i].qs + 32 * (j / 2);
			const int8_t *a8 = y[i].qs + 32 * j;
			int sumq = 0;
			for (int l = 0; l < 32; l++) {
				int v = (j % 2 ? q[l] >> 4 : q[l] & 0xf) + ((x[i].qh[l] >> j) & 1) * 16;
				sumq += v * a8[l];
			}
			isum += sc * sumq;
			summs += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
		}
		s += (F16(x[i].d) * y[i].d) * (float)isum - (F16(x[i].dmin) * y[i].d) * (float)summs;
	}
	return s;
}

static float vdot_q6_K(int64_t n, const void *w, const void *a)
{
	const block_q6_K *x = w;
	const block_q8_K *y = a;
	float s = 0.0f;
	int8_t L[QK_K];
	for (int64_t i = 0; i < n / QK_K; i++) {
		for (int h = 0; h < 2; h++) {
			const uint8_t *ql = x[i].ql + 64 * h, *qh = x[i].qh + 32 * h;
			int8_t *o = L + 128 * h;
			for (int l = 0; l < 32; l++) {
				o[l] = (int8_t)(((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32);
				o[l + 32] = (int8_t)(((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32);
				o[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
				o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
			}
		}
		int isum = 0;
		for (int j = 0; j < 16; j++)
			isum += x[i].scales[j] * dot16(L + 16 * j, y[i].qs + 16 * j);
		s += (F16(x[i].d) * y[i].d) * (float)isum;
	}
	return s;
}

static float vdot_iq4_xs(int64_t n, const void *w, const void *a)
{
	const block_iq4_xs *x = w;
	const block_q8_K *y = a;
	float s = 0.0f;
	for (int64_t i = 0; i < n / QK_K; i++) {
		int isum = 0;
		for (int ib = 0; ib < QK_K / 32; ib++) {
			const uint8_t *q = x[i].qs + 16 * ib;
			const int8_t *a8 = y[i].qs + 32 * ib;
			int sumq = 0;
			for (int j = 0; j < 16; j++)
				sumq += kvalues_iq4nl[q[j] & 0xf] * a8[j] + kvalues_iq4nl[q[j] >> 4] * a8[j + 16];
			isum += iq4xs_scale(&x[i], ib) * sumq;
		}
		s += (F16(x[i].d) * y[i].d) * (float)isum;
	}
	return s;
}

typedef float (*vdot_fn)(int64_t n, const void *w, const void *a);

/* The mm loop shared by every type: nr weight rows by nc activation rows. */
static inline void mm_loop(vdot_fn f, int64_t n, int nr, int nc, float *s, size_t lds, const void *w, size_t ldw,
                           const void *a, size_t lda)
{
	for (int c = 0; c < nc; c++)
		for (int r = 0; r < nr; r++)
			s[(size_t)c * lds + (size_t)r] =
			        f(n, (const uint8_t *)w + (size_t)r * ldw, (const uint8_t *)a + (size_t)c * lda);
}

#define DEFINE_MM(name)                                                                                   \
	static void mm_##name(int64_t n, int nr, int nc, float *s, size_t lds, const void *w, size_t ldw,  \
	                      const void *a, size_t lda)                                                 \
	{                                                                                                 \
		mm_loop(vdot_##name, n, nr, nc, s, lds, w, ldw, a, lda);                                  \
	}

DEFINE_MM(f32)
DEFINE_MM(f16)
DEFINE_MM(bf16)
DEFINE_MM(q4_0)
DEFINE_MM(q4_1)
DEFINE_MM(q5_0)
DEFINE_MM(q5_1)
DEFINE_MM(q8_0)
DEFINE_MM(q2_K)
DEFINE_MM(q3_K)
DEFINE_MM(q4_K)
DEFINE_MM(q5_K)
DEFINE_MM(q6_K)
DEFINE_MM(iq4_nl)
DEFINE_MM(iq4_xs)

/* ---------------------------------------------------------------------------------
 * Activation conversion and f32 helpers
 * ------------------------------------------------------------------------------- */

static void act_f32(const float *x, void *y, int64_t n) { memmove(y, x, (size_t)n * sizeof(float)); }

static void act_f16(const float *x, void *y, int64_t n)
{
	hx_f16 *o = y;
	for (int64_t i = 0; i < n; i++)
		o[i] = hx_f32_to_f16(x[i]);
}

static void act_bf16(const float *x, void *y, int64_t n)
{
	hx_bf16 *o = y;
	for (int64_t i = 0; i < n; i++)
		o[i] = hx_f32_to_bf16(x[i]);
}

static void act_q8_0(const float *x, void *y, int64_t n) { quant_q8_0(x, y, n / QK8_0); }

static void act_q8_K(const float *x, void *y, int64_t n) { quant_q8_K(x, y, n / QK_K); }

static float ref_dot_f32(int64_t n, const float *x, const float *y) { return vdot_f32(n, x, y); }

static void ref_axpy_f32(int64_t n, float a, const float *x, float *y)
{
	for (int64_t i = 0; i < n; i++)
		y[i] += a * x[i];
}

static float ref_dot_f16_f32(int64_t n, const hx_f16 *x, const float *y)
{
	double s = 0.0;
	for (int64_t i = 0; i < n; i++)
		s += (double)(F16(x[i]) * y[i]);
	return (float)s;
}

static void ref_axpy_f16_f32(int64_t n, float a, const hx_f16 *x, float *y)
{
	for (int64_t i = 0; i < n; i++)
		y[i] += a * F16(x[i]);
}

static void ref_f32_to_f16(const float *x, hx_f16 *y, int64_t n) { act_f16(x, y, n); }

static void ref_f16_to_f32(const hx_f16 *x, float *y, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		y[i] = F16(x[i]);
}

static void ref_softmax_f32(float *x, int64_t n, float scale)
{
	float mx = -INFINITY;
	for (int64_t j = 0; j < n; j++) {
		x[j] *= scale;
		mx = x[j] > mx ? x[j] : mx;
	}
	double sum = 0.0;
	for (int64_t j = 0; j < n; j++) {
		const float e = expf(x[j] - mx);
		sum += (double)e;
		x[j] = e;
	}
	const float inv = (float)(1.0 / sum);
	for (int64_t j = 0; j < n; j++)
		x[j] *= inv;
}

static const kern_isa k_scalar = {
	.name = "scalar",
	.mm =
	        {
	                [HEARTH_TYPE_F32] = mm_f32,
	                [HEARTH_TYPE_F16] = mm_f16,
	                [HEARTH_TYPE_BF16] = mm_bf16,
	                [HEARTH_TYPE_Q4_0] = mm_q4_0,
	                [HEARTH_TYPE_Q4_1] = mm_q4_1,
	                [HEARTH_TYPE_Q5_0] = mm_q5_0,
	                [HEARTH_TYPE_Q5_1] = mm_q5_1,
	                [HEARTH_TYPE_Q8_0] = mm_q8_0,
	                [HEARTH_TYPE_Q2_K] = mm_q2_K,
	                [HEARTH_TYPE_Q3_K] = mm_q3_K,
	                [HEARTH_TYPE_Q4_K] = mm_q4_K,
	                [HEARTH_TYPE_Q5_K] = mm_q5_K,
	                [HEARTH_TYPE_Q6_K] = mm_q6_K,
	                [HEARTH_TYPE_IQ4_NL] = mm_iq4_nl,
	                [HEARTH_TYPE_IQ4_XS] = mm_iq4_xs,
	        },
	.act =
	        {
	                [HEARTH_TYPE_F32] = act_f32,
	                [HEARTH_TYPE_F16] = act_f16,
	                [HEARTH_TYPE_BF16] = act_bf16,
	                [HEARTH_TYPE_Q8_0] = act_q8_0,
	                [HEARTH_TYPE_Q8_K] = act_q8_K,
	        },
	.dot_f32 = ref_dot_f32,
	.axpy_f32 = ref_axpy_f32,
	.dot_f16_f32 = ref_dot_f16_f32,
	.axpy_f16_f32 = ref_axpy_f16_f32,
	.f32_to_f16 = ref_f32_to_f16,
	.f16_to_f32 = ref_f16_to_f32,
	.softmax_f32 = ref_softmax_f32,
};

const kern_isa *kern_isa_scalar(void) { return &k_scalar; }
