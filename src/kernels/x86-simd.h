/*
 * x86-simd.h - the 256-bit SIMD kernels shared by x86-avx2.c and x86-avx512.c.
 *
 * Included (once) by each ISA file after it defines SIMD_VNNI (0: AVX2 maddubs
 * integer dots; 1: AVX-512 VL + VNNI vpdpbusd on ymm registers) and the tile
 * shape: SIMD_RD rows per pass for a single activation column (decode), and
 * SIMD_TR x SIMD_TC rows x columns per pass for batches (prefill; the x86-avx512
 * file has 32 vector registers and takes a larger tile).  Everything here is
 * static, so each file gets its own copy compiled for its own target flags.
 *
 * Every kernel is a "tile" function of compile-time R rows x C columns: the
 * weight block of each row is unpacked once and dotted against each column,
 * and each column's activation block is loaded once for all R rows.  The work
 * for one (row, column) pair is the same sequence of operations whatever R and C
 * are, so the mm result does not depend on how a caller splits the rows and
 * columns (kern_matmul relies on this for thread-count-independent results).
 *
 * Integer dot products:
 *   dot_u8s8  unsigned (weight quants 0..63) x signed (activations): vpdpbusd
 *             with VNNI; without, vpmaddubsw + vpmaddwd (no saturation is
 *             possible for quants <= 63 against |a| <= 127).
 *   signed weights (Q8_0, IQ4_NL): with VNNI the weight is offset by +128 and
 *             128 * sum(a) is subtracted (sum(a) is shared by every row); without
 *             VNNI the sign trick |w| x sign(a, w).
 *   K-quants: vpmaddubsw then vpmaddwd against the 16-bit sub-block scales.
 */
#ifndef HEARTH_X86_SIMD_H
#define HEARTH_X86_SIMD_H

#include "kernels/kernels.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define AI static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 16")

#define TMAX_R 8
#define TMAX_C 8

AI float f16f(uint16_t h) { return _cvtsh_ss(h); }

AI float hsum_ps(__m256 v)
{
	__m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	x = _mm_add_ps(x, _mm_movehl_ps(x, x));
	x = _mm_add_ss(x, _mm_movehdup_ps(x));
	return _mm_cvtss_f32(x);
}

AI int hsum_epi32(__m256i v)
{
	__m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4E));
	x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xB1));
	return _mm_cvtsi128_si32(x);
}

/* c + a * b and c - a * b with one rounding (as the vector FMAs do per lane) */
AI float fmadd_s(float a, float b, float c)
{
	return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}
AI float fnmadd_s(float a, float b, float c)
{
	return _mm_cvtss_f32(_mm_fnmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}

#if SIMD_VNNI
AI __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
/* signed weights: offset by 128, subtract 128 * sum(a) (folded into the start value) */
AI __m256i sw_prep(__m256i w) { return _mm256_xor_si256(w, _mm256_set1_epi8((char)0x80)); }
AI __m256i sw_init(__m256i asum) { return _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(asum, 7)); }
AI __m256i sw_dot(__m256i init, __m256i wp, __m256i w, __m256i a)
{
	(void)w;
	return _mm256_dpbusd_epi32(init, wp, a);
}
#else
AI __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s)
{
	return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}
AI __m256i sw_prep(__m256i w) { return _mm256_sign_epi8(w, w); }
AI __m256i sw_init(__m256i asum)
{
	(void)asum;
	return _mm256_setzero_si256();
}
AI __m256i sw_dot(__m256i init, __m256i wp, __m256i w, __m256i a)
{
	return _mm256_add_epi32(init, _mm256_madd_epi16(_mm256_maddubs_epi16(wp, _mm256_sign_epi8(a, w)),
	                                                _mm256_set1_epi16(1)));
}
#endif

/* maddubs then madd against 16-bit scales: sum over pairs of (u*s) * scale */
AI __m256i dot_scaled(__m256i u, __m256i s, __m256i scale16)
{
	return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scale16);
}

/* 16 bytes of packed nibbles -> 32 bytes: low nibbles then high nibbles. */
AI __m256i unpack_nibbles16(const uint8_t *p)
{
	__m128i q = _mm_loadu_si128((const __m128i *)p);
	return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0F));
}

/* 32 bits -> 32 bytes, byte j = 0xFF if bit j is set, else 0. */
AI __m256i bits_to_bytes(const uint8_t *p)
{
	uint32_t x;
	memcpy(&x, p, 4);
	__m256i v = _mm256_set1_epi32((int)x);
	v = _mm256_shuffle_epi8(v, _mm256_setr_epi64x(0x0000000000000000LL, 0x0101010101010101LL,
	                                              0x0202020202020202LL, 0x0303030303030303LL));
	v = _mm256_or_si256(v, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfeLL));
	return _mm256_cmpeq_epi8(v, _mm256_set1_epi64x(-1));
}

/* From 8 16-bit scales repeated in both lanes, [scale 2k x8 | scale 2k+1 x8]. */
AI __m256i scale_pair(__m256i scl, int k)
{
	const short lo = (short)((4 * k) | ((4 * k + 1) << 8)), hi = (short)((4 * k + 2) | ((4 * k + 3) << 8));
	return _mm256_shuffle_epi8(scl, _mm256_set_m128i(_mm_set1_epi16(hi), _mm_set1_epi16(lo)));
}

/* From 8 16-bit scales repeated in both lanes, scale k in every element. */
AI __m256i scale_one(__m256i scl, int k)
{
	const short s = (short)((2 * k) | ((2 * k + 1) << 8));
	return _mm256_shuffle_epi8(scl, _mm256_set1_epi16(s));
}

/* The 12 packed bytes of Q4_K/Q5_K 6-bit scales and mins -> bytes 0..7 scales,
 * 8..15 mins.  With dwords u0 u1 u2 of the packed bytes:
 *   scales 0-3 = u0 & 0x3f.., scales 4-7 = (u2 & 0x0f..) | ((u0 >> 6) & 0x03..) << 4,
 *   mins 0-3 = u1 & 0x3f..,   mins 4-7 = ((u2 >> 4) & 0x0f..) | ((u1 >> 6) & 0x03..) << 4.
 * Reads 16 bytes: the 4 after the scales are the block's quants. */
AI __m128i k4_scales(const uint8_t *p)
{
	const __m128i v = _mm_loadu_si128((const __m128i *)p);
	const __m128i lo = _mm_and_si128(v, _mm_set1_epi8(0x3f));
	const __m128i u2 = _mm_shuffle_epi32(v, 0xAA);
	const __m128i b = _mm_and_si128(_mm_srlv_epi32(u2, _mm_setr_epi32(0, 4, 0, 0)), _mm_set1_epi8(0x0f));
	const __m128i c = _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(v, 6), _mm_set1_epi8(0x03)), 4);
	return _mm_unpacklo_epi32(lo, _mm_or_si128(b, c));
}

#define ZERO_ACC()                                                                                         \
	__m256 acc[TMAX_R][TMAX_C];                                                                        \
	UNROLL for (int r = 0; r < R; r++) UNROLL for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps()

#define STORE_ACC()                                                                                        \
	UNROLL for (int r = 0; r < R; r++) UNROLL for (int c = 0; c < C; c++) s[(size_t)c * lds + (size_t)r] = \
	        hsum_ps(acc[r][c])

/* Q4_K and Q6_K: one float per (row, column), updated once per super-block from
 * the super-block's exact integer sums, so the AVX-512 batch kernel (one row per
 * lane) gives the same bits as these tiles. */
#define ZERO_ACCF()                                                                                        \
	float accf[TMAX_R][TMAX_C];                                                                        \
	UNROLL for (int r = 0; r < R; r++) UNROLL for (int c = 0; c < C; c++) accf[r][c] = 0.0f

#define STORE_ACCF()                                                                                       \
	UNROLL for (int r = 0; r < R; r++) UNROLL for (int c = 0; c < C; c++) s[(size_t)c * lds + (size_t)r] = \
	        accf[r][c]

#define TILE_ARGS const int R, const int C, int64_t n, float *s, size_t lds, const uint8_t *w, size_t ldw, \
	          const uint8_t *a, size_t lda

/* ---------------------------------------------------------------------------------
 * 32-element block types against Q8_0 activations
 * ------------------------------------------------------------------------------- */

/* Per column and block: the activation quants, their scale and sum(a). */
#define LOAD_Q8_0_COLS()                                                                                   \
	__m256i av[TMAX_C], asum[TMAX_C];                                                                  \
	float ad[TMAX_C];                                                                                  \
	UNROLL for (int c = 0; c < C; c++)                                                                 \
	{                                                                                                  \
		const block_q8_0 *y = (const block_q8_0 *)(a + (size_t)c * lda) + b;                       \
		av[c] = _mm256_loadu_si256((const __m256i *)y->qs);                                        \
		ad[c] = f16f(y->d);                                                                        \
		asum[c] = dot_u8s8(_mm256_setzero_si256(), _mm256_set1_epi8(1), av[c]);                    \
	}

AI void tile_q4_0(TILE_ARGS)
{
	ZERO_ACC();
	for (int64_t b = 0; b < n / QK4_0; b++) {
		LOAD_Q8_0_COLS();
		__m256i off[TMAX_C];
		UNROLL for (int c = 0; c < C; c++) off[c] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(asum[c], 3));
		UNROLL for (int r = 0; r < R; r++) {
			const block_q4_0 *x = (const block_q4_0 *)(w + (size_t)r * ldw) + b;
			__m256i q = unpack_nibbles16(x->qs);
			float dw = f16f(x->d);
			UNROLL for (int c = 0; c < C; c++) {
				__m256i i = dot_u8s8(off[c], q, av[c]);
				acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_set1_ps(dw * ad[c]), acc[r][c]);
			}
		}
	}
	STORE_ACC();
}

AI void tile_q4_1(TILE_ARGS)
{
	ZERO_ACC();
	for (int64_t b = 0; b < n / QK4_1; b++) {
		LOAD_Q8_0_COLS();
		__m256 asf[TMAX_C];
		UNROLL for (int c = 0; c < C; c++) asf[c] = _mm256_cvtepi32_ps(asum[c]);
		UNROLL for (int r = 0; r < R; r++) {
			const block_q4_1 *x = (const block_q4_1 *)(w + (size_t)r * ldw) + b;
			__m256i q = unpack_nibbles16(x->qs);
			float dw = f16f(x->d), mw = f16f(x->m);
			UNROLL for (int c = 0; c < C; c++) {
				__m256i i = dot_u8s8(_mm256_setzero_si256(), q, av[c]);
				acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_set1_ps(dw * ad[c]), acc[r][c]);
				acc[r][c] = _mm256_fmadd_ps(asf[c], _mm256_set1_ps(mw * ad[c]), acc[r][c]);
			}
		}
	}
	STORE_ACC();
}

AI void tile_q5_0(TILE_ARGS)
{
	ZERO_ACC();
	const __m256i b4 = _mm256_set1_epi8(0x10);
	for (int64_t b = 0; b < n / QK5_0; b++) {
		LOAD_Q8_0_COLS();
		__m256i off[TMAX_C];
		UNROLL for (int c = 0; c < C; c++) off[c] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(asum[c], 4));
		UNROLL for (int r = 0; r < R; r++) {
			const block_q5_0 *x = (const block_q5_0 *)(w + (size_t)r * ldw) + b;
			__m256i q = _mm256_or_si256(unpack_nibbles16(x->qs), _mm256_and_si256(bits_to_bytes(x->qh), b4));
			float dw = f16f(x->d);
			UNROLL for (int c = 0; c < C; c++) {
				__m256i i = dot_u8s8(off[c], q, av[c]);
				acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_set1_ps(dw * ad[c]), acc[r][c]);
			}
		}
	}
	STORE_ACC();
}

AI void tile_q5_1(TILE_ARGS)
{
	ZERO_ACC();
	const __m256i b4 = _mm256_set1_epi8(0x10);
	for (int64_t b = 0; b < n / QK5_1; b++) {
		LOAD_Q8_0_COLS();
		__m256 asf[TMAX_C];
		UNROLL for (int c = 0; c < C; c++) asf[c] = _mm256_cvtepi32_ps(asum[c]);
		UNROLL for (int r = 0; r < R; r++) {
			const block_q5_1 *x = (const block_q5_1 *)(w + (size_t)r * ldw) + b;
			__m256i q = _mm256_or_si256(unpack_nibbles16(x->qs), _mm256_and_si256(bits_to_bytes(x->qh), b4));
			float dw = f16f(x->d), mw = f16f(x->m);
			UNROLL for (int c = 0; c < C; c++) {
				__m256i i = dot_u8s8(_mm256_setzero_si256(), q, av[c]);
				acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_set1_ps(dw * ad[c]), acc[r][c]);
				acc[r][c] = _mm256_fmadd_ps(asf[c], _mm256_set1_ps(mw * ad[c]), acc[r][c]);
			}
		}
	}
	STORE_ACC();
}

AI void tile_q8_0(TILE_ARGS)
{
	ZERO_ACC();
	for (int64_t b = 0; b < n / QK8_0; b++) {
		LOAD_Q8_0_COLS();
		__m256i init[TMAX_C];
		UNROLL for (int c = 0; c < C; c++) init[c] = sw_init(asum[c]);
		UNROLL for (int r = 0; r < R; r++) {
			const block_q8_0 *x = (const block_q8_0 *)(w + (size_t)r * ldw) + b;
			__m256i q = _mm256_loadu_si256((const __m256i *)x->qs);
			__m256i qp = sw_prep(q);
			float dw = f16f(x->d);
			UNROLL for (int c = 0; c < C; c++) {
				__m256i i = sw_dot(init[c], qp, q, av[c]);
				acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_set1_ps(dw * ad[c]), acc[r][c]);
			}
		}
	}
	STORE_ACC();
}

AI void tile_iq4_nl(TILE_ARGS)
{
	ZERO_ACC();
	const __m256i tbl = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)kvalues_iq4nl));
	for (int64_t b = 0; b < n / QK4_NL; b++) {
		LOAD_Q8_0_COLS();
		__m256i init[TMAX_C];
		UNROLL for (int c = 0; c < C; c++) init[c] = sw_init(asum[c]);
		UNROLL for (int r = 0; r < R; r++) {
			const block_iq4_nl *x = (const block_iq4_nl *)(w + (size_t)r * ldw) + b;
			__m256i q = _mm256_shuffle_epi8(tbl, unpack_nibbles16(x->qs));
			__m256i qp = sw_prep(q);
			float dw = f16f(x->d);
			UNROLL for (int c = 0; c < C; c++) {
				__m256i i = sw_dot(init[c], qp, q, av[c]);
				acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_set1_ps(dw * ad[c]), acc[r][c]);
			}
		}
	}
	STORE_ACC();
}

/* ---------------------------------------------------------------------------------
 * K-quants and IQ4_XS against Q8_K activations
 * ------------------------------------------------------------------------------- */

#define Q8K(c) ((const block_q8_K *)(a + (size_t)(c) * lda) + b)

/* Decode streams each weight row once from memory: prefetch the super-block
 * SIMD_PF_DIST bytes ahead in the row (the hardware prefetcher follows the R
 * interleaved row streams poorly).  0 turns it off. */
#ifndef SIMD_PF_DIST
#define SIMD_PF_DIST 0
#endif
#define PF_BLOCK(x)                                                                                   \
	do {                                                                                          \
		/* short rows: the same place in the next tile's rows instead */                      \
		const size_t pfd_ = ldw <= 2048 ? (size_t)R * ldw : SIMD_PF_DIST;                     \
		for (size_t pf_ = 0; SIMD_PF_DIST && pf_ < sizeof(*(x)); pf_ += 64)                   \
			_mm_prefetch((const char *)(x) + pfd_ + pf_, _MM_HINT_T0);                    \
	} while (0)
#define AQ(c, off) _mm256_loadu_si256((const __m256i *)(Q8K(c)->qs + (off)))

AI void tile_q4_K(TILE_ARGS)
{
	ZERO_ACCF();
	/* decode (4 rows, 1 column): the four rows' sums are reduced together and
	 * applied as one 4-lane FMA pair, the same per-lane operations */
	const int dec4 = R == 4 && C == 1;
	__m128 acc4 = _mm_setzero_ps();
	const __m256i m4 = _mm256_set1_epi8(0x0F);
	for (int64_t b = 0; b < n / QK_K; b++) {
		__m256i hs[TMAX_R][TMAX_C];
		float dr[TMAX_R], mr[TMAX_R];
		UNROLL for (int r = 0; r < R; r++) {
			const block_q4_K *x = (const block_q4_K *)(w + (size_t)r * ldw) + b;
			PF_BLOCK(x);
			const __m128i sm = k4_scales(x->scales);
			const __m256i scl = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
			const __m128i m8 = _mm_srli_si128(sm, 8);
			const __m256i mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
			dr[r] = f16f(x->d);
			mr[r] = f16f(x->dmin);
			__m256i sumi[TMAX_C];
			UNROLL for (int c = 0; c < C; c++) sumi[c] = _mm256_setzero_si256();
			UNROLL for (int j = 0; j < 4; j++) {
				const __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * j));
				const __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
				const __m256i s0 = scale_one(scl, 2 * j), s1 = scale_one(scl, 2 * j + 1);
				UNROLL for (int c = 0; c < C; c++) {
					__m256i p = _mm256_add_epi32(dot_scaled(lo, AQ(c, 64 * j), s0), dot_scaled(hi, AQ(c, 64 * j + 32), s1));
					sumi[c] = _mm256_add_epi32(sumi[c], p);
				}
			}
			/* [sumi pairs, mins pairs] for the reduction below */
			UNROLL for (int c = 0; c < C; c++) hs[r][c] = _mm256_hadd_epi32(
			        sumi[c], _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)Q8K(c)->bsums), mins));
		}
		if (dec4) {
			const __m256i ab = _mm256_hadd_epi32(hs[0][0], hs[1 % R][0]), cd = _mm256_hadd_epi32(hs[2 % R][0], hs[3 % R][0]);
			const __m256i u = _mm256_add_epi32(_mm256_permute2x128_si256(ab, cd, 0x20), _mm256_permute2x128_si256(ab, cd, 0x31));
			const __m256 f = _mm256_permutevar8x32_ps(_mm256_cvtepi32_ps(u), _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
			const __m128 dy = _mm_set1_ps(Q8K(0)->d);
			const __m128 dd = _mm_mul_ps(_mm_setr_ps(dr[0], dr[1 % R], dr[2 % R], dr[3 % R]), dy);
			const __m128 dm = _mm_mul_ps(_mm_setr_ps(mr[0], mr[1 % R], mr[2 % R], mr[3 % R]), dy);
			acc4 = _mm_fmadd_ps(_mm256_castps256_ps128(f), dd, acc4);
			acc4 = _mm_fnmadd_ps(_mm256_extractf128_ps(f, 1), dm, acc4);
			continue;
		}
		UNROLL for (int r = 0; r < R; r++) UNROLL for (int c = 0; c < C; c++) {
			/* lane 0 sum(sumi), lane 1 sum(mi) */
			const __m256i h = hs[r][c];
			const __m128i hx = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
			const __m128 f = _mm_cvtepi32_ps(_mm_hadd_epi32(hx, hx));
			const float dy = Q8K(c)->d;
			accf[r][c] = fmadd_s(_mm_cvtss_f32(f), dr[r] * dy, accf[r][c]);
			accf[r][c] = fnmadd_s(_mm_cvtss_f32(_mm_movehdup_ps(f)), mr[r] * dy, accf[r][c]);
		}
	}
	if (dec4) {
		float t4[4];
		_mm_storeu_ps(t4, acc4);
		UNROLL for (int r = 0; r < R; r++) accf[r][0] = t4[r & 3];
	}
	STORE_ACCF();
}

AI void tile_q5_K(TILE_ARGS)
{
	ZERO_ACC();
	const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
	for (int64_t b = 0; b < n / QK_K; b++) {
		UNROLL for (int r = 0; r < R; r++) {
			const block_q5_K *x = (const block_q5_K *)(w + (size_t)r * ldw) + b;
			PF_BLOCK(x);
			const __m128i sm = k4_scales(x->scales);
			const __m256i scl = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
			const __m128i m8 = _mm_srli_si128(sm, 8);
			const __m256i mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
			const float d = f16f(x->d), dmin = f16f(x->dmin);
			const __m256i qh = _mm256_loadu_si256((const __m256i *)x->qh);
			__m256i sumi[TMAX_C];
			UNROLL for (int c = 0; c < C; c++) sumi[c] = _mm256_setzero_si256();
			UNROLL for (int j = 0; j < 4; j++) {
				const __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * j));
				const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), one), 4);
				const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j + 1), one), 4);
				const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
				const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
				const __m256i s0 = scale_one(scl, 2 * j), s1 = scale_one(scl, 2 * j + 1);
				UNROLL for (int c = 0; c < C; c++) {
					__m256i p = _mm256_add_epi32(dot_scaled(lo, AQ(c, 64 * j), s0), dot_scaled(hi, AQ(c, 64 * j + 32), s1));
					sumi[c] = _mm256_add_epi32(sumi[c], p);
				}
			}
			UNROLL for (int c = 0; c < C; c++) {
				const __m256i mi = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)Q8K(c)->bsums), mins);
				const float dy = Q8K(c)->d;
				acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[c]), _mm256_set1_ps(d * dy), acc[r][c]);
				acc[r][c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mi), _mm256_set1_ps(dmin * dy), acc[r][c]);
			}
		}
	}
	STORE_ACC();
}

AI void tile_q6_K(TILE_ARGS)
{
	ZERO_ACCF();
	const int dec4 = R == 4 && C == 1; /* as in tile_q4_K */
	__m128 acc4 = _mm_setzero_ps();
	const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
	for (int64_t b = 0; b < n / QK_K; b++) {
		__m256i hs[TMAX_R][TMAX_C];
		float dr[TMAX_R];
		UNROLL for (int r = 0; r < R; r++) {
			const block_q6_K *x = (const block_q6_K *)(w + (size_t)r * ldw) + b;
			PF_BLOCK(x);
			const __m128i sc8 = _mm_loadu_si128((const __m128i *)x->scales);
			const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
			dr[r] = f16f(x->d);
			__m256i sumi[TMAX_C];
			UNROLL for (int c = 0; c < C; c++) sumi[c] = _mm256_setzero_si256();
			UNROLL for (int h = 0; h < 2; h++) {
				const __m256i scl = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16((h ? _mm_srli_si128(sc8, 8) : sc8)));
				const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h));
				const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32));
				const __m256i qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
				const __m256i q1 = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4));
				const __m256i q2 = _mm256_or_si256(_mm256_and_si256(ql1, m4),
				                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4));
				const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
				                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4));
				const __m256i q4 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
				                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4));
				const __m256i s0 = scale_pair(scl, 0), s1 = scale_pair(scl, 1), s2 = scale_pair(scl, 2),
				              s3 = scale_pair(scl, 3);
				UNROLL for (int c = 0; c < C; c++) {
					__m256i p0 = _mm256_add_epi32(dot_scaled(q1, AQ(c, 128 * h), s0), dot_scaled(q2, AQ(c, 128 * h + 32), s1));
					__m256i p1 = _mm256_add_epi32(dot_scaled(q3, AQ(c, 128 * h + 64), s2), dot_scaled(q4, AQ(c, 128 * h + 96), s3));
					sumi[c] = _mm256_add_epi32(sumi[c], _mm256_add_epi32(p0, p1));
				}
			}
			UNROLL for (int c = 0; c < C; c++) {
				const __m256i off = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)Q8K(c)->bsums), sc16);
				hs[r][c] = _mm256_sub_epi32(sumi[c], _mm256_slli_epi32(off, 5));
			}
		}
		if (dec4) {
			const __m256i ab = _mm256_hadd_epi32(hs[0][0], hs[1 % R][0]), cd = _mm256_hadd_epi32(hs[2 % R][0], hs[3 % R][0]);
			const __m256i u = _mm256_hadd_epi32(ab, cd);
			const __m128i v = _mm_add_epi32(_mm256_castsi256_si128(u), _mm256_extracti128_si256(u, 1));
			const __m128 dd = _mm_mul_ps(_mm_setr_ps(dr[0], dr[1 % R], dr[2 % R], dr[3 % R]), _mm_set1_ps(Q8K(0)->d));
			acc4 = _mm_fmadd_ps(_mm_cvtepi32_ps(v), dd, acc4);
			continue;
		}
		UNROLL for (int r = 0; r < R; r++) UNROLL for (int c = 0; c < C; c++)
			accf[r][c] = fmadd_s((float)hsum_epi32(hs[r][c]), dr[r] * Q8K(c)->d, accf[r][c]);
	}
	if (dec4) {
		float t4[4];
		_mm_storeu_ps(t4, acc4);
		UNROLL for (int r = 0; r < R; r++) accf[r][0] = t4[r & 3];
	}
	STORE_ACCF();
}

AI void tile_q2_K(TILE_ARGS)
{
	ZERO_ACC();
	const __m256i m3 = _mm256_set1_epi8(3);
	const __m128i m4x = _mm_set1_epi8(0x0F);
	for (int64_t b = 0; b < n / QK_K; b++) {
		UNROLL for (int r = 0; r < R; r++) {
			const block_q2_K *x = (const block_q2_K *)(w + (size_t)r * ldw) + b;
			PF_BLOCK(x);
			const __m128i sc8 = _mm_loadu_si128((const __m128i *)x->scales);
			const __m128i scv = _mm_and_si128(sc8, m4x);
			const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc8, 4), m4x));
			const float d = f16f(x->d), dmin = f16f(x->dmin);
			__m256i sumi[TMAX_C];
			UNROLL for (int c = 0; c < C; c++) sumi[c] = _mm256_setzero_si256();
			UNROLL for (int h = 0; h < 2; h++) {
				const __m256i scl = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16((h ? _mm_srli_si128(scv, 8) : scv)));
				const __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * h));
				UNROLL for (int j = 0; j < 4; j++) {
					const __m256i qj = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3);
					const __m256i sj = scale_pair(scl, j);
					UNROLL for (int c = 0; c < C; c++)
						sumi[c] = _mm256_add_epi32(sumi[c], dot_scaled(qj, AQ(c, 128 * h + 32 * j), sj));
				}
			}
			UNROLL for (int c = 0; c < C; c++) {
				const __m256i mi = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)Q8K(c)->bsums), mins);
				const float dy = Q8K(c)->d;
				acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[c]), _mm256_set1_ps(d * dy), acc[r][c]);
				acc[r][c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mi), _mm256_set1_ps(dmin * dy), acc[r][c]);
			}
		}
	}
	STORE_ACC();
}

AI void tile_q3_K(TILE_ARGS)
{
	ZERO_ACC();
	const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
	for (int64_t b = 0; b < n / QK_K; b++) {
		UNROLL for (int r = 0; r < R; r++) {
			const block_q3_K *x = (const block_q3_K *)(w + (size_t)r * ldw) + b;
			PF_BLOCK(x);
			uint32_t u[4];
			memcpy(u, x->scales, 12);
			const uint32_t t = u[2];
			u[2] = ((u[0] >> 4) & 0x0f0f0f0f) | (((t >> 4) & 0x03030303) << 4);
			u[3] = ((u[1] >> 4) & 0x0f0f0f0f) | (((t >> 6) & 0x03030303) << 4);
			u[0] = (u[0] & 0x0f0f0f0f) | (((t >> 0) & 0x03030303) << 4);
			u[1] = (u[1] & 0x0f0f0f0f) | (((t >> 2) & 0x03030303) << 4);
			const __m128i sc8 = _mm_sub_epi8(_mm_set_epi32((int)u[3], (int)u[2], (int)u[1], (int)u[0]), _mm_set1_epi8(32));
			const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
			const float d = f16f(x->d);
			const __m256i hm = _mm256_loadu_si256((const __m256i *)x->hmask);
			__m256i sumi[TMAX_C];
			UNROLL for (int c = 0; c < C; c++) sumi[c] = _mm256_setzero_si256();
			UNROLL for (int h = 0; h < 2; h++) {
				const __m256i scl = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16((h ? _mm_srli_si128(sc8, 8) : sc8)));
				const __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * h));
				UNROLL for (int j = 0; j < 4; j++) {
					const __m256i hb = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + j), one), 2);
					const __m256i qj = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3), hb);
					const __m256i sj = scale_pair(scl, j);
					UNROLL for (int c = 0; c < C; c++)
						sumi[c] = _mm256_add_epi32(sumi[c], dot_scaled(qj, AQ(c, 128 * h + 32 * j), sj));
				}
			}
			UNROLL for (int c = 0; c < C; c++) {
				const __m256i off = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)Q8K(c)->bsums), sc16);
				const __m256i tt = _mm256_sub_epi32(sumi[c], _mm256_slli_epi32(off, 2));
				acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(tt), _mm256_set1_ps(d * Q8K(c)->d), acc[r][c]);
			}
		}
	}
	STORE_ACC();
}

AI void tile_iq4_xs(TILE_ARGS)
{
	ZERO_ACC();
	const __m256i tbl = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)kvalues_iq4nl));
	for (int64_t b = 0; b < n / QK_K; b++) {
		UNROLL for (int r = 0; r < R; r++) {
			const block_iq4_xs *x = (const block_iq4_xs *)(w + (size_t)r * ldw) + b;
			PF_BLOCK(x);
			const float d = f16f(x->d);
			/* the eight 6-bit scales at once: low 4 bits from the nibbles of scales_l, high 2
			 * bits (scales_h >> 2 ib) & 3 moved to the top of each word by a multiply */
			uint32_t sl;
			memcpy(&sl, x->scales_l, 4);
			const __m128i v = _mm_cvtsi32_si128((int)sl);
			const __m128i l8 = _mm_unpacklo_epi8(_mm_and_si128(v, _mm_set1_epi8(0x0f)),
			                                     _mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0x0f)));
			const __m128i hs = _mm_srli_epi16(_mm_mullo_epi16(_mm_set1_epi16((short)x->scales_h),
			                                                  _mm_setr_epi16(1 << 14, 1 << 12, 1 << 10, 1 << 8, 1 << 6,
			                                                                 1 << 4, 1 << 2, 1)),
			                                  14);
			const __m128i ls = _mm_sub_epi16(_mm_or_si128(_mm_cvtepu8_epi16(l8), _mm_slli_epi16(hs, 4)), _mm_set1_epi16(32));
			const __m256i scl = _mm256_broadcastsi128_si256(ls);
			__m256i sumi[TMAX_C];
			UNROLL for (int c = 0; c < C; c++) sumi[c] = _mm256_setzero_si256();
			UNROLL for (int ib = 0; ib < 8; ib++) {
				const __m256i sv = scale_one(scl, ib);
				const __m256i q = _mm256_shuffle_epi8(tbl, unpack_nibbles16(x->qs + 16 * ib));
				const __m256i qa = _mm256_sign_epi8(q, q);
				UNROLL for (int c = 0; c < C; c++)
					sumi[c] = _mm256_add_epi32(sumi[c], dot_scaled(qa, _mm256_sign_epi8(AQ(c, 32 * ib), q), sv));
			}
			UNROLL for (int c = 0; c < C; c++)
				acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[c]), _mm256_set1_ps(d * Q8K(c)->d), acc[r][c]);
		}
	}
	STORE_ACC();
}

/* ---------------------------------------------------------------------------------
 * Float weights (block size 1: a scalar tail handles n % 8)
 * ------------------------------------------------------------------------------- */

AI __m256 ld_f32(const uint8_t *p, int64_t i) { return _mm256_loadu_ps((const float *)p + i); }
AI __m256 ld_f16(const uint8_t *p, int64_t i)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const hx_f16 *)p + i)));
}
AI __m256 ld_bf16(const uint8_t *p, int64_t i)
{
	__m128i h = _mm_loadu_si128((const __m128i *)((const hx_bf16 *)p + i));
	return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
AI float sc_f32(const uint8_t *p, int64_t i) { return ((const float *)p)[i]; }
AI float sc_f16(const uint8_t *p, int64_t i) { return f16f(((const hx_f16 *)p)[i]); }
AI float sc_bf16(const uint8_t *p, int64_t i)
{
	uint32_t u = (uint32_t)((const hx_bf16 *)p)[i] << 16;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

#define DEFINE_TILE_FLOAT(T)                                                                               \
	AI void tile_##T(TILE_ARGS)                                                                        \
	{                                                                                                  \
		ZERO_ACC();                                                                                \
		int64_t i = 0;                                                                             \
		for (; i + 8 <= n; i += 8) {                                                               \
			__m256 av[TMAX_C];                                                                 \
			UNROLL for (int c = 0; c < C; c++) av[c] = ld_##T(a + (size_t)c * lda, i);          \
			UNROLL for (int r = 0; r < R; r++)                                                 \
			{                                                                                  \
				const __m256 wv = ld_##T(w + (size_t)r * ldw, i);                          \
				UNROLL for (int c = 0; c < C; c++) acc[r][c] = _mm256_fmadd_ps(wv, av[c], acc[r][c]); \
			}                                                                                  \
		}                                                                                          \
		UNROLL for (int r = 0; r < R; r++) UNROLL for (int c = 0; c < C; c++)                      \
		{                                                                                          \
			float t = hsum_ps(acc[r][c]);                                                      \
			for (int64_t k = i; k < n; k++)                                                    \
				t += sc_##T(w + (size_t)r * ldw, k) * sc_##T(a + (size_t)c * lda, k);       \
			s[(size_t)c * lds + (size_t)r] = t;                                                \
		}                                                                                          \
	}

DEFINE_TILE_FLOAT(f32)
DEFINE_TILE_FLOAT(f16)
DEFINE_TILE_FLOAT(bf16)

/* ---------------------------------------------------------------------------------
 * mm drivers: tiles over the nr x nc output
 * ------------------------------------------------------------------------------- */

/* One pass of TR-row tiles (then single rows) over CC columns starting at c. */
#define MM_PASS(T, TR, CC)                                                                                 \
	do {                                                                                               \
		int r = 0;                                                                                 \
		for (; r + (TR) <= nr; r += (TR))                                                          \
			tile_##T(TR, CC, n, s + (size_t)c * lds + r, lds, W + (size_t)r * ldw, ldw,         \
			         A + (size_t)c * lda, lda);                                                \
		for (; r < nr; r++)                                                                        \
			tile_##T(1, CC, n, s + (size_t)c * lds + r, lds, W + (size_t)r * ldw, ldw,          \
			         A + (size_t)c * lda, lda);                                                \
	} while (0)

#define DEFINE_MM(T, TR, TC)                                                                               \
	static __attribute__((unused)) void mm_##T(int64_t n, int nr, int nc, float *s, size_t lds,        \
	                                           const void *w, size_t ldw, const void *a, size_t lda)   \
	{                                                                                                  \
		const uint8_t *W = w, *A = a;                                                              \
		int c = 0;                                                                                 \
		for (; c + (TC) <= nc; c += (TC)) {                                                        \
			int r = 0;                                                                         \
			for (; r + (TR) <= nr; r += (TR))                                                  \
				tile_##T(TR, TC, n, s + (size_t)c * lds + r, lds, W + (size_t)r * ldw, ldw, \
				         A + (size_t)c * lda, lda);                                        \
			for (; r < nr; r++)                                                                \
				tile_##T(1, TC, n, s + (size_t)c * lds + r, lds, W + (size_t)r * ldw, ldw,  \
				         A + (size_t)c * lda, lda);                                        \
		}                                                                                          \
		/* 2..TC-1 columns left (e.g. 4 sequences decoding together): one more pass, so \
		 * the weights are still read once rather than once per column */              \
		switch ((TC) > 2 ? nc - c : 0) {                                                           \
		case 2: MM_PASS(T, TR, 2); c = nc; break;                                                  \
		case 3: MM_PASS(T, TR, 3); c = nc; break;                                                  \
		case 4: MM_PASS(T, TR, 4); c = nc; break;                                                  \
		case 5: MM_PASS(T, TR, 5); c = nc; break;                                                  \
		case 6: MM_PASS(T, TR, 6); c = nc; break;                                                  \
		case 7: MM_PASS(T, TR, 7); c = nc; break;                                                  \
		default: break;                                                                            \
		}                                                                                          \
		for (; c < nc; c++) {                                                                      \
			int r = 0;                                                                         \
			for (; r + SIMD_RD <= nr; r += SIMD_RD)                                            \
				tile_##T(SIMD_RD, 1, n, s + (size_t)c * lds + r, lds, W + (size_t)r * ldw, ldw, \
				         A + (size_t)c * lda, lda);                                        \
			for (; r < nr; r++)                                                                \
				tile_##T(1, 1, n, s + (size_t)c * lds + r, lds, W + (size_t)r * ldw, ldw,   \
				         A + (size_t)c * lda, lda);                                        \
		}                                                                                          \
	}

/* Batch tiles: the 32-block types keep three vectors per column (quants, sum,
 * scale), the K-quants one running sum per column, so the K-quants can take more
 * columns per pass (SIMD_KTR x SIMD_KTC), sharing each unpacked superblock more. */
DEFINE_MM(f32, SIMD_TR, SIMD_TC)
DEFINE_MM(f16, SIMD_TR, SIMD_TC)
DEFINE_MM(bf16, SIMD_TR, SIMD_TC)
DEFINE_MM(q4_0, SIMD_TR, SIMD_TC)
DEFINE_MM(q4_1, SIMD_TR, SIMD_TC)
DEFINE_MM(q5_0, SIMD_TR, SIMD_TC)
DEFINE_MM(q5_1, SIMD_TR, SIMD_TC)
DEFINE_MM(q8_0, SIMD_TR, SIMD_TC)
DEFINE_MM(iq4_nl, SIMD_TR, SIMD_TC)
DEFINE_MM(q2_K, SIMD_KTR, SIMD_KTC)
DEFINE_MM(q3_K, SIMD_KTR, SIMD_KTC)
DEFINE_MM(q4_K, SIMD_KTR, SIMD_KTC)
DEFINE_MM(q5_K, SIMD_KTR, SIMD_KTC)
DEFINE_MM(q6_K, SIMD_KTR, SIMD_KTC)
DEFINE_MM(iq4_xs, SIMD_KTR, SIMD_KTC)

/* ---------------------------------------------------------------------------------
 * Activation conversion (bit-identical to ref.c's quantizers)
 * ------------------------------------------------------------------------------- */

/* 32 int32 in four vectors -> 32 int8 in order (values already in int8 range). */
AI __m256i pack_i32x32(__m256i i0, __m256i i1, __m256i i2, __m256i i3)
{
	__m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
	return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* roundf(): to nearest, ties away from zero (exact for any float). */
AI __m256 round_away(__m256 v)
{
	const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
	const __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
	const __m256 frac = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(v, t));
	const __m256 ge = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
	return _mm256_add_ps(t, _mm256_and_ps(ge, _mm256_or_ps(sign, _mm256_set1_ps(1.0f))));
}

AI float hmax_ps(__m256 v)
{
	__m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	x = _mm_max_ps(x, _mm_movehl_ps(x, x));
	x = _mm_max_ss(x, _mm_movehdup_ps(x));
	return _mm_cvtss_f32(x);
}

static void simd_act_q8_0(const float *x, void *vy, int64_t n)
{
	block_q8_0 *y = vy;
	const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
		__m256 v[4];
		__m256 mx = _mm256_setzero_ps();
		for (int k = 0; k < 4; k++) {
			v[k] = _mm256_loadu_ps(x + 8 * k);
			mx = _mm256_max_ps(mx, _mm256_and_ps(v[k], absmask));
		}
		const float amax = hmax_ps(mx);
		const float d = amax / 127.0f;
		const float id = d != 0.0f ? 1.0f / d : 0.0f;
		y[i].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
		const __m256 idv = _mm256_set1_ps(id);
		__m256i q[4];
		for (int k = 0; k < 4; k++)
			q[k] = _mm256_cvtps_epi32(round_away(_mm256_mul_ps(v[k], idv)));
		_mm256_storeu_si256((__m256i *)y[i].qs, pack_i32x32(q[0], q[1], q[2], q[3]));
	}
}

static void simd_act_q8_K(const float *x, void *vy, int64_t n)
{
	block_q8_K *y = vy;
	const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
		__m256 mx = _mm256_setzero_ps();
		for (int k = 0; k < 32; k++)
			mx = _mm256_max_ps(mx, _mm256_and_ps(_mm256_loadu_ps(x + 8 * k), absmask));
		const float amax = hmax_ps(mx);
		if (amax == 0.0f) {
			memset(&y[i], 0, sizeof y[i]);
			continue;
		}
		/* the first element whose magnitude is amax, with its sign */
		float max = 0.0f;
		const __m256 amv = _mm256_set1_ps(amax);
		for (int k = 0; k < 32; k++) {
			const int msk = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(x + 8 * k), absmask), amv, _CMP_EQ_OQ));
			if (msk) {
				max = x[8 * k + __builtin_ctz((unsigned)msk)];
				break;
			}
		}
		const float iscale = -127.0f / max;
		const __m256 isv = _mm256_set1_ps(iscale);
		const __m256i top = _mm256_set1_epi32(127);
		for (int k = 0; k < 8; k++) {
			__m256i q[4];
			for (int m = 0; m < 4; m++)
				q[m] = _mm256_min_epi32(top, _mm256_cvtps_epi32(_mm256_mul_ps(isv, _mm256_loadu_ps(x + 32 * k + 8 * m))));
			const __m256i p = pack_i32x32(q[0], q[1], q[2], q[3]);
			_mm256_storeu_si256((__m256i *)(y[i].qs + 32 * k), p);
			/* sums of each 16: widen to int16 and add pairs down to one per group */
			const __m256i lo = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(p));
			const __m256i hi = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(p, 1));
			__m128i s0 = _mm_add_epi16(_mm256_castsi256_si128(lo), _mm256_extracti128_si256(lo, 1));
			__m128i s1 = _mm_add_epi16(_mm256_castsi256_si128(hi), _mm256_extracti128_si256(hi, 1));
			/* horizontal add within each 8 lanes */
			__m128i h = _mm_hadd_epi16(s0, s1);
			h = _mm_hadd_epi16(h, h);
			h = _mm_hadd_epi16(h, h);
			y[i].bsums[2 * k] = (int16_t)_mm_extract_epi16(h, 0);
			y[i].bsums[2 * k + 1] = (int16_t)_mm_extract_epi16(h, 1);
		}
		y[i].d = 1.0f / iscale;
	}
}

static void simd_f32_to_f16(const float *x, hx_f16 *y, int64_t n)
{
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
	for (; i < n; i++)
		y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

static void simd_f16_to_f32(const hx_f16 *x, float *y, int64_t n)
{
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
	for (; i < n; i++)
		y[i] = f16f(x[i]);
}

static void simd_act_f16(const float *x, void *y, int64_t n) { simd_f32_to_f16(x, y, n); }

static void simd_act_bf16(const float *x, void *vy, int64_t n)
{
	hx_bf16 *y = vy;
	int64_t i = 0;
	for (; i + 8 <= n; i += 8) {
		const __m256 v = _mm256_loadu_ps(x + i);
		const __m256i u = _mm256_castps_si256(v);
		const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
		__m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
		const __m256i nanv = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
		const __m256i isnan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
		r = _mm256_blendv_epi8(r, nanv, isnan);
		const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
		_mm_storeu_si128((__m128i *)(y + i), _mm256_castsi256_si128(p));
	}
	for (; i < n; i++)
		y[i] = hx_f32_to_bf16(x[i]);
}

static void simd_act_f32(const float *x, void *y, int64_t n) { memmove(y, x, (size_t)n * sizeof(float)); }

/* ---------------------------------------------------------------------------------
 * f32 helpers
 * ------------------------------------------------------------------------------- */

static float simd_dot_f32(int64_t n, const float *x, const float *y)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
	int64_t i = 0;
	for (; i + 32 <= n; i += 32) {
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
		s2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), s2);
		s3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), s3);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
	float s = hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
	for (; i < n; i++)
		s += x[i] * y[i];
	return s;
}

static void simd_axpy_f32(int64_t n, float a, const float *x, float *y)
{
	const __m256 av = _mm256_set1_ps(a);
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
	for (; i < n; i++)
		y[i] = fmaf(a, x[i], y[i]);
}

static float simd_dot_f16_f32(int64_t n, const hx_f16 *x, const float *y)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
	int64_t i = 0;
	for (; i + 16 <= n; i += 16) {
		s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))), _mm256_loadu_ps(y + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i + 8))), _mm256_loadu_ps(y + i + 8), s1);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))), _mm256_loadu_ps(y + i), s0);
	float s = hsum_ps(_mm256_add_ps(s0, s1));
	for (; i < n; i++)
		s += f16f(x[i]) * y[i];
	return s;
}

static void simd_axpy_f16_f32(int64_t n, float a, const hx_f16 *x, float *y)
{
	const __m256 av = _mm256_set1_ps(a);
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))),
		                                        _mm256_loadu_ps(y + i)));
	for (; i < n; i++)
		y[i] = fmaf(a, f16f(x[i]), y[i]);
}

/* The table entries every ISA file shares; an ISA file may name its own kernel for
 * a type by defining SIMD_MM_<TYPE> before including this file. */
#ifndef SIMD_MM_Q4_0
#define SIMD_MM_Q4_0 mm_q4_0
#endif
#ifndef SIMD_MM_F32
#define SIMD_MM_F32 mm_f32
#endif
#ifndef SIMD_MM_F16
#define SIMD_MM_F16 mm_f16
#endif
#ifndef SIMD_MM_BF16
#define SIMD_MM_BF16 mm_bf16
#endif
#ifndef SIMD_MM_Q5_0
#define SIMD_MM_Q5_0 mm_q5_0
#endif
#ifndef SIMD_MM_IQ4_NL
#define SIMD_MM_IQ4_NL mm_iq4_nl
#endif
#ifndef SIMD_MM_Q8_0
#define SIMD_MM_Q8_0 mm_q8_0
#endif
#ifndef SIMD_MM_Q4_K
#define SIMD_MM_Q4_K mm_q4_K
#endif
#ifndef SIMD_MM_Q6_K
#define SIMD_MM_Q6_K mm_q6_K
#endif
#define SIMD_TABLE_ENTRIES                                                                                 \
	.mm = {[HEARTH_TYPE_F32] = SIMD_MM_F32,       [HEARTH_TYPE_F16] = SIMD_MM_F16,       [HEARTH_TYPE_BF16] = SIMD_MM_BF16, \
	       [HEARTH_TYPE_Q4_0] = SIMD_MM_Q4_0,     [HEARTH_TYPE_Q4_1] = mm_q4_1,     [HEARTH_TYPE_Q5_0] = SIMD_MM_Q5_0, \
	       [HEARTH_TYPE_Q5_1] = mm_q5_1,     [HEARTH_TYPE_Q8_0] = SIMD_MM_Q8_0,     [HEARTH_TYPE_Q2_K] = mm_q2_K, \
	       [HEARTH_TYPE_Q3_K] = mm_q3_K,     [HEARTH_TYPE_Q4_K] = SIMD_MM_Q4_K,     [HEARTH_TYPE_Q5_K] = mm_q5_K, \
	       [HEARTH_TYPE_Q6_K] = SIMD_MM_Q6_K,     [HEARTH_TYPE_IQ4_NL] = SIMD_MM_IQ4_NL, [HEARTH_TYPE_IQ4_XS] = mm_iq4_xs}, \
	.act = {[HEARTH_TYPE_F32] = simd_act_f32, [HEARTH_TYPE_F16] = simd_act_f16, [HEARTH_TYPE_BF16] = simd_act_bf16, \
	        [HEARTH_TYPE_Q8_0] = simd_act_q8_0, [HEARTH_TYPE_Q8_K] = simd_act_q8_K},                   \
	.dot_f32 = simd_dot_f32, .axpy_f32 = simd_axpy_f32, .dot_f16_f32 = simd_dot_f16_f32,                 \
	.axpy_f16_f32 = simd_axpy_f16_f32, .f32_to_f16 = simd_f32_to_f16, .f16_to_f32 = simd_f16_to_f32

#endif
