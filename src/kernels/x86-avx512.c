/*
 * x86-avx512.c - the AVX-512 (F/BW/VL/DQ) + VNNI kernel table.  The shared
 * kernels in x86-simd.h are compiled here with vpdpbusd for the unsigned x
 * signed integer dots, and with 32 vector registers the batch tile is 4 rows x
 * 4 columns.  Only dispatch.c may hand this table out, after checking CPUID and
 * that the OS saves the AVX-512 state.
 */
#define SIMD_VNNI 1
#define SIMD_RD 4
#define SIMD_TR 4
#define SIMD_KTR 2
#define SIMD_KTC 8
#define SIMD_TC 4
#define SIMD_PF_DIST 512 /* prefetch distance in weight rows (bytes), measured */
/* the 512-bit kernels below replace the shared ones for these types */
#define SIMD_MM_Q4_0 zmm_q4_0
#define SIMD_MM_Q8_0 zmm_q8_0
#define SIMD_MM_Q5_0 zmm_q5_0
#define SIMD_MM_IQ4_NL zmm_iq4_nl
#define SIMD_MM_F32 zfmm_f32
#define SIMD_MM_F16 zfmm_f16
#define SIMD_MM_BF16 zfmm_bf16
#define SIMD_MM_Q4_K kpmm_q4_K
#define SIMD_MM_Q6_K kpmm_q6_K
#include "kernels/x86-simd.h"

#include <math.h>

/* ---------------------------------------------------------------------------------
 * 512-bit kernels for Q4_0, Q5_0, Q8_0 and IQ4_NL: four blocks per zmm register.
 *
 * A register holds 16 bytes of each of four consecutive blocks, one block per
 * 128-bit lane: for the weights the low nibbles (elements 0..15) and the high
 * nibbles (16..31), for the activations their first and second 16 bytes.  Two
 * vpdpbusd then leave each block's integer dot in its own lane group, and one
 * convert + multiply by the [scale x4] vector + FMA applies four blocks' scales at
 * once, where the 256-bit kernel spends those three operations on every block.
 * Blocks left over (n/32 not a multiple of 4) go through the 256-bit code into a
 * separate accumulator, the same way for every (row, column), so the result still
 * does not depend on the tile shape.
 * ------------------------------------------------------------------------------- */

#define Z_TR 4
#define Z_TC 3
#ifndef ZPF_DIST
#define ZPF_DIST 512 /* bytes ahead in each weight row (measured best of 256..2048) */
#endif

/* 16 bytes from each of p, p + stride, p + 2 stride, p + 3 stride. */
AI __m512i load4x16(const uint8_t *p, size_t stride)
{
	__m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p));
	v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + stride)), 1);
	v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + 2 * stride)), 2);
	return _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + 3 * stride)), 3);
}

/* The f16 at the start of four blocks `stride` (even, <= 42) bytes apart, as
 * [d0 x4, d1 x4, d2 x4, d3 x4].  Loads only bytes of the four blocks (masked). */
AI __m512 scales4(const uint8_t *p, int stride)
{
	const int w = stride / 2;
	const __m512i idx = _mm512_setr_epi32(0, 0, w * 0x10001, w * 0x10001, 2 * w * 0x10001, 2 * w * 0x10001,
	                                      3 * w * 0x10001, 3 * w * 0x10001, 0, 0, 0, 0, 0, 0, 0, 0);
	const __mmask32 m0 = 3 * w + 1 >= 32 ? 0xffffffffu : (__mmask32)((1ull << (3 * w + 1)) - 1);
	__m512i lo = _mm512_maskz_loadu_epi16(m0, p);
	__m512i h;
	if (3 * w + 1 > 32) {
		const __mmask32 m1 = (__mmask32)((1ull << (3 * w + 1 - 32)) - 1);
		__m512i hi = _mm512_maskz_loadu_epi16(m1, p + 64);
		h = _mm512_permutex2var_epi16(lo, idx, hi);
	} else {
		h = _mm512_permutexvar_epi16(idx, lo);
	}
	return _mm512_cvtph_ps(_mm512_castsi512_si256(h));
}

AI float hsum512(__m512 v)
{
	__m256 x = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
	return hsum_ps(x);
}

/* out[i] = hsum512(v[i]) for 16 vectors, bit for bit: the same pairwise additions
 * (elements 8, 4, 2 and 1 apart) done for 16 vectors at once on transposed data. */
AI void hsum512x16(const __m512 *v, float *out)
{
	__m512 p[8], r[4], t[2];
	for (int i = 0; i < 8; i++)
		p[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
		                     _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
	for (int i = 0; i < 4; i++)
		r[i] = _mm512_add_ps(_mm512_shuffle_f32x4(p[2 * i], p[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
		                     _mm512_shuffle_f32x4(p[2 * i], p[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
	for (int i = 0; i < 2; i++)
		t[i] = _mm512_add_ps(_mm512_shuffle_ps(r[2 * i], r[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
		                     _mm512_shuffle_ps(r[2 * i], r[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
	const __m512 f = _mm512_add_ps(_mm512_shuffle_ps(t[0], t[1], _MM_SHUFFLE(2, 0, 2, 0)),
	                               _mm512_shuffle_ps(t[0], t[1], _MM_SHUFFLE(3, 1, 3, 1)));
	/* lane 4j + e holds vector 4e + j */
	_mm512_storeu_ps(out, _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), f));
}

/* Weight kinds: how four blocks unpack into the lo (elements 0..15 of each block)
 * and hi (16..31) registers as unsigned bytes, and the offset (log2) to take back
 * through the activation sums. */
enum { ZK_Q8_0, ZK_Q4_0, ZK_Q5_0, ZK_IQ4_NL };

AI int zoff_shift(const int kind) { return kind == ZK_Q4_0 ? 3 : kind == ZK_Q5_0 ? 4 : 7; }

AI void zunpack(const int kind, const uint8_t *x, size_t bs, __m512i *lo, __m512i *hi)
{
	const __m512i m4 = _mm512_set1_epi8(0x0F);
	if (kind == ZK_Q8_0) {
		/* signed quants + 128 */
		*lo = _mm512_xor_si512(load4x16(x + 2, bs), _mm512_set1_epi8((char)0x80));
		*hi = _mm512_xor_si512(load4x16(x + 18, bs), _mm512_set1_epi8((char)0x80));
	} else if (kind == ZK_Q4_0) {
		const __m512i q = load4x16(x + 2, bs);
		*lo = _mm512_and_si512(q, m4);
		*hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
	} else if (kind == ZK_Q5_0) {
		const __m512i q = load4x16(x + 6, bs);
		/* the four qh words: low halves (elements 0..15) then high halves (16..31),
		 * 16 bits per block, collected with one word permute of the four blocks */
		const int wq = (int)bs / 2;
		const __m512i idx = _mm512_setr_epi32(1 | (1 + wq) << 16, (1 + 2 * wq) | (1 + 3 * wq) << 16, 2 | (2 + wq) << 16,
		                                      (2 + 2 * wq) | (2 + 3 * wq) << 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
		const __m512i v0 = _mm512_loadu_si512(x);
		const __m512i v1 = _mm512_maskz_loadu_epi16((__mmask32)((1u << (2 + 3 * wq + 1 - 32)) - 1), x + 64);
		const __m128i hw = _mm512_castsi512_si128(_mm512_permutex2var_epi16(v0, idx, v1));
		const uint64_t ml = (uint64_t)_mm_cvtsi128_si64(hw), mh = (uint64_t)_mm_extract_epi64(hw, 1);
		const __m512i b4 = _mm512_set1_epi8(0x10);
		*lo = _mm512_mask_add_epi8(_mm512_and_si512(q, m4), (__mmask64)ml, _mm512_and_si512(q, m4), b4);
		const __m512i h4 = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
		*hi = _mm512_mask_add_epi8(h4, (__mmask64)mh, h4, b4);
	} else {
		/* codebook values + 128, looked up per 128-bit lane */
		const __m512i tbl = _mm512_xor_si512(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)kvalues_iq4nl)),
		                                     _mm512_set1_epi8((char)0x80));
		const __m512i q = load4x16(x + 2, bs);
		*lo = _mm512_shuffle_epi8(tbl, _mm512_and_si512(q, m4));
		*hi = _mm512_shuffle_epi8(tbl, _mm512_and_si512(_mm512_srli_epi16(q, 4), m4));
	}
}

/* The 256-bit kernel of each kind, for the blocks past the last group of four. */
AI void ztail(const int kind, TILE_ARGS)
{
	if (kind == ZK_Q8_0)
		tile_q8_0(R, C, n, s, lds, w, ldw, a, lda);
	else if (kind == ZK_Q4_0)
		tile_q4_0(R, C, n, s, lds, w, ldw, a, lda);
	else if (kind == ZK_Q5_0)
		tile_q5_0(R, C, n, s, lds, w, ldw, a, lda);
	else
		tile_iq4_nl(R, C, n, s, lds, w, ldw, a, lda);
}

AI void ztile(const int kind, const size_t wbs, TILE_ARGS)
{
	__m512 acc[Z_TR][Z_TC];
	UNROLL for (int r = 0; r < R; r++) UNROLL for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();
	const int64_t nb = n / 32, nb4 = nb & ~(int64_t)3;
	const size_t abs_ = sizeof(block_q8_0);
	/* short rows: the next tile's rows instead (as in the float tile) */
	const size_t pfd = ldw <= 2048 ? (size_t)R * ldw : ZPF_DIST;
	for (int64_t b = 0; b < nb4; b += 4) {
		__m512i alo[Z_TC], ahi[Z_TC], off[Z_TC];
		__m512 ad[Z_TC];
		UNROLL for (int c = 0; c < C; c++) {
			const uint8_t *y = a + (size_t)c * lda + (size_t)b * abs_;
			alo[c] = load4x16(y + 2, abs_);
			ahi[c] = load4x16(y + 18, abs_);
			ad[c] = scales4(y, (int)abs_);
			__m512i sm = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), alo[c]);
			sm = _mm512_dpbusd_epi32(sm, _mm512_set1_epi8(1), ahi[c]);
			off[c] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sm, zoff_shift(kind)));
		}
		UNROLL for (int r = 0; r < R; r++) {
			const uint8_t *x = w + (size_t)r * ldw + (size_t)b * wbs;
			/* decode streams the weights once: fetch ahead of the hardware
			 * prefetcher, which follows R interleaved row streams poorly */
			_mm_prefetch((const char *)x + pfd, _MM_HINT_T0);
			_mm_prefetch((const char *)x + pfd + 64, _MM_HINT_T0);
			__m512i lo, hi;
			zunpack(kind, x, wbs, &lo, &hi);
			const __m512 dw = scales4(x, (int)wbs);
			UNROLL for (int c = 0; c < C; c++) {
				__m512i i = _mm512_dpbusd_epi32(off[c], lo, alo[c]);
				i = _mm512_dpbusd_epi32(i, hi, ahi[c]);
				acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i), _mm512_mul_ps(dw, ad[c]), acc[r][c]);
			}
		}
	}
	float tail[Z_TR * Z_TC];
	const int64_t done = nb4 * 32;
	if (done < n) {
		ztail(kind, R, C, n - done, tail, (size_t)R, w + (size_t)nb4 * wbs, ldw, a + (size_t)nb4 * abs_, lda);
	} else {
		UNROLL for (int k = 0; k < R * C; k++) tail[k] = 0.0f;
	}
	UNROLL for (int r = 0; r < R; r++) UNROLL for (int c = 0; c < C; c++) s[(size_t)c * lds + (size_t)r] =
	        hsum512(acc[r][c]) + tail[c * R + r];
}

AI void ztile_q8_0(TILE_ARGS) { ztile(ZK_Q8_0, sizeof(block_q8_0), R, C, n, s, lds, w, ldw, a, lda); }
AI void ztile_q4_0(TILE_ARGS) { ztile(ZK_Q4_0, sizeof(block_q4_0), R, C, n, s, lds, w, ldw, a, lda); }
AI void ztile_q5_0(TILE_ARGS) { ztile(ZK_Q5_0, sizeof(block_q5_0), R, C, n, s, lds, w, ldw, a, lda); }
AI void ztile_iq4_nl(TILE_ARGS) { ztile(ZK_IQ4_NL, sizeof(block_iq4_nl), R, C, n, s, lds, w, ldw, a, lda); }

/*
 * Batches (nc >= 8 columns): the activations of ZP_C (or 8) columns are prepared
 * once (lanes, block sums, scales) for ZP_G groups of four blocks at a time into
 * a stack buffer, and every weight row then streams over them with the prepared
 * vectors as memory operands: 16 accumulators in registers, the row's unpacked
 * quants and scales reused by 16 columns (2 rows x 8 columns was ~10% slower on
 * Q4_0/IQ4_NL and ~17% on Q8_0/Q5_0: the unpacking shared by half as many FMAs).
 * The next row's chunk and the next chunk's activations are prefetched (+5-10%
 * on Q8_0).  The arithmetic per (row, column) is exactly that of the tile above,
 * so results do not depend on the path taken.  Accumulators live in a stack
 * array between K chunks (stores are exact).
 */
#define ZP_C 16 /* columns per pass (most) */
#define ZP_G 4  /* groups of 4 blocks per K chunk (8: slower, the buffer fills L1) */
#define ZP_R 32 /* rows per pass (bounds the accumulator array) */

struct zprep {
	__m512i lo, hi, off;
	__m512 d;
};

#define DEFINE_ZMM(T, KIND, BLK_T)                                                                          \
	AI void zrow_##T(const int C, int64_t g0, int64_t ng, __m512 *accp, const uint8_t *w, size_t ldw,     \
	                 const struct zprep *prep)                                                         \
	{                                                                                                  \
		__m512 acc[ZP_C];                                                                          \
		UNROLL for (int c = 0; c < C; c++) acc[c] = accp[c];                                       \
		for (int64_t g = 0; g < ng; g++) {                                                         \
			const uint8_t *x = w + (size_t)(g0 + g) * 4 * sizeof(BLK_T);                       \
			/* the next row's chunk (the rows are far apart: the hardware \
			 * prefetcher does not follow) */                                          \
			_mm_prefetch((const char *)x + ldw, _MM_HINT_T0);                                  \
			_mm_prefetch((const char *)x + ldw + 64, _MM_HINT_T0);                             \
			__m512i lo, hi;                                                                    \
			zunpack(KIND, x, sizeof(BLK_T), &lo, &hi);                                         \
			const __m512 dw = scales4(x, (int)sizeof(BLK_T));                                  \
			UNROLL for (int c = 0; c < C; c++)                                                 \
			{                                                                                  \
				const struct zprep *pp = prep + c * ZP_G + g;                              \
				__m512i i = _mm512_dpbusd_epi32(pp->off, lo, pp->lo);                      \
				i = _mm512_dpbusd_epi32(i, hi, pp->hi);                                    \
				acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i), _mm512_mul_ps(dw, pp->d), acc[c]); \
			}                                                                                  \
		}                                                                                          \
		UNROLL for (int c = 0; c < C; c++) accp[c] = acc[c];                                       \
	}                                                                                                  \
                                                                                                           \
	AI void zbatch_##T(const int C, int64_t n, int nr, float *s, size_t lds, const uint8_t *w, size_t ldw, \
	                   const uint8_t *a, size_t lda)                                                   \
	{                                                                                                  \
		struct zprep prep[ZP_C * ZP_G];                                                            \
		__m512 accs[ZP_R * ZP_C];                                                                  \
		const int64_t nb = n / 32, nb4 = nb & ~(int64_t)3, ng = nb4 / 4;                           \
		const size_t abs_ = sizeof(block_q8_0);                                                    \
		for (int r0 = 0; r0 < nr; r0 += ZP_R) {                                                    \
			const int rr = nr - r0 < ZP_R ? nr - r0 : ZP_R;                                    \
			for (int k = 0; k < rr * ZP_C; k++)                                                \
				accs[k] = _mm512_setzero_ps();                                             \
			for (int64_t g0 = 0; g0 < ng; g0 += ZP_G) {                                        \
				const int64_t gn = ng - g0 < ZP_G ? ng - g0 : ZP_G;                        \
				for (int c = 0; c < C; c++)                                                \
					for (int64_t g = 0; g < gn; g++) {                                 \
						const uint8_t *y = a + (size_t)c * lda + (size_t)(g0 + g) * 4 * abs_; \
						struct zprep *pp = &prep[c * ZP_G + g];                    \
						pp->lo = load4x16(y + 2, abs_);                            \
						pp->hi = load4x16(y + 18, abs_);                           \
						pp->d = scales4(y, (int)abs_);                             \
						__m512i sm = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), pp->lo); \
						sm = _mm512_dpbusd_epi32(sm, _mm512_set1_epi8(1), pp->hi); \
						pp->off = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sm, zoff_shift(KIND))); \
					}                                                                  \
				if (g0 + gn < ng) /* the next chunk's activations */                       \
					for (int c = 0; c < C; c++)                                        \
						for (size_t l = 0; l < 4 * ZP_G * abs_; l += 64)           \
							_mm_prefetch((const char *)a + (size_t)c * lda + (size_t)(g0 + gn) * 4 * abs_ + l, _MM_HINT_T0); \
				for (int r = 0; r < rr; r++)                                               \
					zrow_##T(C, g0, gn, accs + r * ZP_C, w + (size_t)(r0 + r) * ldw, ldw, prep); \
			}                                                                                  \
			/* the blocks past the last group of 4, and the sums, as in ztile */               \
			for (int r = 0; r < rr; r++) {                                                     \
				const uint8_t *wr = w + (size_t)(r0 + r) * ldw + (size_t)nb4 * sizeof(BLK_T); \
				for (int c = 0; c < C; c++) {                                              \
					float t = 0.0f;                                                    \
					if (nb4 * 32 < n)                                                  \
						tile_##T(1, 1, n - nb4 * 32, &t, 1, wr, ldw,               \
						         a + (size_t)c * lda + (size_t)nb4 * abs_, lda);   \
					s[(size_t)c * lds + (size_t)(r0 + r)] = hsum512(accs[r * ZP_C + c]) + t; \
				}                                                                          \
			}                                                                                  \
		}                                                                                          \
	}                                                                                                  \
                                                                                                           \
	static void zmm_##T(int64_t n, int nr, int nc, float *s, size_t lds, const void *w, size_t ldw,     \
	                    const void *a, size_t lda)                                                     \
	{                                                                                                  \
		const uint8_t *W = w, *A = a;                                                              \
		int c = 0;                                                                                 \
		for (; c + ZP_C <= nc; c += ZP_C)                                                          \
			zbatch_##T(ZP_C, n, nr, s + (size_t)c * lds, lds, W, ldw, A + (size_t)c * lda, lda); \
		for (; c + 8 <= nc; c += 8) /* the rest by 8 */                                                                                              \
			zbatch_##T(8, n, nr, s + (size_t)c * lds, lds, W, ldw, A + (size_t)c * lda, lda);   \
		for (; c + Z_TC <= nc; c += Z_TC) {                                                        \
			int r = 0;                                                                         \
			for (; r + Z_TR <= nr; r += Z_TR)                                                  \
				ztile_##T(Z_TR, Z_TC, n, s + (size_t)c * lds + r, lds, W + (size_t)r * ldw, ldw, \
				          A + (size_t)c * lda, lda);                                       \
			for (; r < nr; r++)                                                                \
				ztile_##T(1, Z_TC, n, s + (size_t)c * lds + r, lds, W + (size_t)r * ldw, ldw, \
				          A + (size_t)c * lda, lda);                                       \
		}                                                                                          \
		for (; c < nc; c++) {                                                                      \
			int r = 0;                                                                         \
			for (; r + Z_TR <= nr; r += Z_TR)                                                  \
				ztile_##T(Z_TR, 1, n, s + (size_t)c * lds + r, lds, W + (size_t)r * ldw, ldw, \
				          A + (size_t)c * lda, lda);                                       \
			for (; r < nr; r++)                                                                \
				ztile_##T(1, 1, n, s + (size_t)c * lds + r, lds, W + (size_t)r * ldw, ldw,  \
				          A + (size_t)c * lda, lda);                                       \
		}                                                                                          \
	}

DEFINE_ZMM(q4_0, ZK_Q4_0, block_q4_0)
DEFINE_ZMM(q8_0, ZK_Q8_0, block_q8_0)
DEFINE_ZMM(q5_0, ZK_Q5_0, block_q5_0)
DEFINE_ZMM(iq4_nl, ZK_IQ4_NL, block_iq4_nl)

/* ---------------------------------------------------------------------------------
 * Float weights with 512-bit vectors: 16 elements per FMA, 4 rows x 4 columns.
 * ------------------------------------------------------------------------------- */

AI __m512 zld_f32(const uint8_t *p, int64_t i) { return _mm512_loadu_ps((const float *)p + i); }
AI __m512 zld_f16(const uint8_t *p, int64_t i)
{
	return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const hx_f16 *)p + i)));
}
AI __m512 zld_bf16(const uint8_t *p, int64_t i)
{
	const __m256i h = _mm256_loadu_si256((const __m256i *)((const hx_bf16 *)p + i));
	return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* The same with only the first elements of `m` loaded (the others 0): row tails. */
AI __m512 zldm_f32(const uint8_t *p, int64_t i, __mmask16 m) { return _mm512_maskz_loadu_ps(m, (const float *)p + i); }
AI __m512 zldm_f16(const uint8_t *p, int64_t i, __mmask16 m)
{
	return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const hx_f16 *)p + i));
}
AI __m512 zldm_bf16(const uint8_t *p, int64_t i, __mmask16 m)
{
	const __m256i h = _mm256_maskz_loadu_epi16(m, (const hx_bf16 *)p + i);
	return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* bytes per element, for the prefetch address */
#define ZESZ_f32 4
#define ZESZ_f16 2
#define ZESZ_bf16 2

/*
 * Float batches (ZF_BC or more columns): the tile above converts every weight and
 * activation vector each time it uses it, so about a third of its operations are
 * conversions.  Here the activations of ZF_BC columns are converted to f32 once
 * per K chunk into a stack buffer, and pairs of weight rows stream over them: per
 * 16 elements, 2 weight conversions feed 2 x ZF_BC FMAs whose activation operand
 * comes straight from memory.  Each (row, column) accumulates the same vector
 * FMAs in the same order as zftile (the accumulators are stored between chunks,
 * exactly), and the zero-padded tail step and the sum are zftile's, so the result
 * does not depend on the path.
 */
#define ZF_BC 12  /* columns per pass */
#define ZF_KC 512 /* K chunk, elements */
#define ZF_R 32   /* rows per pass (bounds the accumulator array) */

#define ZF_BATCH(T)                                                                                        \
	AI void zfrows_##T(const int R, const int C, int64_t k0, int64_t kn, __m512 *accp, const uint8_t *w,  \
	                   size_t ldw, const float *af)                                                    \
	{                                                                                                  \
		__m512 acc[2][ZF_BC];                                                                      \
		UNROLL for (int r = 0; r < R; r++) UNROLL for (int c = 0; c < C; c++) acc[r][c] = accp[r * ZF_BC + c]; \
		for (int64_t i = 0; i + 16 <= kn; i += 16) {                                               \
			__m512 wv[2];                                                                      \
			UNROLL for (int r = 0; r < R; r++) wv[r] = zld_##T(w + (size_t)r * ldw, k0 + i);    \
			UNROLL for (int c = 0; c < C; c++)                                                 \
			{                                                                                  \
				const __m512 av = _mm512_load_ps(af + (size_t)c * ZF_KC + i);              \
				UNROLL for (int r = 0; r < R; r++) acc[r][c] = _mm512_fmadd_ps(wv[r], av, acc[r][c]); \
			}                                                                                  \
		}                                                                                          \
		if (kn & 15) { /* the row tail: zero-padded, as in zftile */                               \
			const int64_t i = kn & ~(int64_t)15;                                               \
			const __mmask16 m = (__mmask16)((1u << (kn & 15)) - 1);                           \
			__m512 wv[2];                                                                      \
			UNROLL for (int r = 0; r < R; r++) wv[r] = zldm_##T(w + (size_t)r * ldw, k0 + i, m); \
			UNROLL for (int c = 0; c < C; c++)                                                 \
			{                                                                                  \
				const __m512 av = _mm512_load_ps(af + (size_t)c * ZF_KC + i);              \
				UNROLL for (int r = 0; r < R; r++) acc[r][c] = _mm512_fmadd_ps(wv[r], av, acc[r][c]); \
			}                                                                                  \
		}                                                                                          \
		UNROLL for (int r = 0; r < R; r++) UNROLL for (int c = 0; c < C; c++) accp[r * ZF_BC + c] = acc[r][c]; \
	}                                                                                                  \
	AI void zfbatch_##T(const int C, int64_t n, int nr, float *s, size_t lds, const uint8_t *w,         \
	                    size_t ldw, const uint8_t *a, size_t lda)                                      \
	{                                                                                                  \
		float af[ZF_BC * ZF_KC] __attribute__((aligned(64)));                                      \
		__m512 accs[ZF_R * ZF_BC];                                                                 \
		for (int r0 = 0; r0 < nr; r0 += ZF_R) {                                                    \
			const int rr = nr - r0 < ZF_R ? nr - r0 : ZF_R;                                    \
			const uint8_t *wr = w + (size_t)r0 * ldw;                                          \
			for (int k = 0; k < rr * ZF_BC; k++)                                               \
				accs[k] = _mm512_setzero_ps();                                             \
			for (int64_t k0 = 0; k0 < n; k0 += ZF_KC) {                                        \
				const int64_t kn = n - k0 < ZF_KC ? n - k0 : ZF_KC;                        \
				for (int c = 0; c < C; c++)                                                \
					for (int64_t i = 0; i < kn; i += 16)                               \
						_mm512_store_ps(af + (size_t)c * ZF_KC + i,                \
						                i + 16 <= kn ? zld_##T(a + (size_t)c * lda, k0 + i) \
						                             : zldm_##T(a + (size_t)c * lda, k0 + i, \
						                                        (__mmask16)((1u << (kn - i)) - 1))); \
				int r = 0;                                                                 \
				for (; r + 2 <= rr; r += 2)                                                \
					zfrows_##T(2, C, k0, kn, accs + r * ZF_BC, wr + (size_t)r * ldw, ldw, af); \
				for (; r < rr; r++)                                                        \
					zfrows_##T(1, C, k0, kn, accs + r * ZF_BC, wr + (size_t)r * ldw, ldw, af); \
			}                                                                                  \
			/* the sums, 16 at a time (short rows, e.g. attention scores, are \
			 * dominated by them) */                                                   \
			float sums[ZF_R * ZF_BC];                                                          \
			int f = 0;                                                                         \
			for (; f + 16 <= rr * C; f += 16) {                                                \
				__m512 v16[16];                                                            \
				for (int k = 0; k < 16; k++)                                               \
					v16[k] = accs[(f + k) / C * ZF_BC + (f + k) % C];                  \
				hsum512x16(v16, sums + f);                                                 \
			}                                                                                  \
			for (; f < rr * C; f++)                                                            \
				sums[f] = hsum512(accs[f / C * ZF_BC + f % C]);                            \
			for (int r = 0; r < rr; r++)                                                       \
				for (int c = 0; c < C; c++)                                                \
					s[(size_t)c * lds + (size_t)(r0 + r)] = sums[r * C + c];           \
		}                                                                                          \
	}

#define DEFINE_ZTILE_FLOAT(T)                                                                              \
	AI void zftile_##T(TILE_ARGS)                                                                      \
	{                                                                                                  \
		__m512 acc[4][4];                                                                          \
		UNROLL for (int r = 0; r < R; r++) UNROLL for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps(); \
		/* short rows (the whole tile within a few KiB): fetch the next tile's rows, \
		 * which the hardware prefetcher has not started on, into L2 only (into L1 \
		 * it was ~4% slower on a decode step: the lines wait there a whole tile) */  \
		const bool shortr = ldw <= 2048;                                                           \
		const size_t pfd = shortr ? (size_t)R * ldw : SIMD_PF_DIST;                                \
		int64_t i = 0;                                                                             \
		for (; i + 16 <= n; i += 16) {                                                             \
			__m512 av[4];                                                                      \
			UNROLL for (int c = 0; c < C; c++) av[c] = zld_##T(a + (size_t)c * lda, i);         \
			UNROLL for (int r = 0; r < R; r++)                                                 \
			{                                                                                  \
				const char *pf = (const char *)(w + (size_t)r * ldw) + i * ZESZ_##T + pfd;    \
				if (shortr)                                                                \
					_mm_prefetch(pf, _MM_HINT_T1);                                     \
				else                                                                       \
					_mm_prefetch(pf, _MM_HINT_T0);                                     \
				const __m512 wv = zld_##T(w + (size_t)r * ldw, i);                         \
				UNROLL for (int c = 0; c < C; c++) acc[r][c] = _mm512_fmadd_ps(wv, av[c], acc[r][c]); \
			}                                                                                  \
		}                                                                                          \
		if (i < n) { /* the row tail: one zero-padded step */                                      \
			const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);                              \
			__m512 av[4];                                                                      \
			UNROLL for (int c = 0; c < C; c++) av[c] = zldm_##T(a + (size_t)c * lda, i, m);     \
			UNROLL for (int r = 0; r < R; r++)                                                 \
			{                                                                                  \
				const __m512 wv = zldm_##T(w + (size_t)r * ldw, i, m);                     \
				UNROLL for (int c = 0; c < C; c++) acc[r][c] = _mm512_fmadd_ps(wv, av[c], acc[r][c]); \
			}                                                                                  \
		}                                                                                          \
		UNROLL for (int r = 0; r < R; r++) UNROLL for (int c = 0; c < C; c++) s[(size_t)c * lds + (size_t)r] = \
		        hsum512(acc[r][c]);                                                                \
	}                                                                                                  \
	ZF_BATCH(T)                                                                                        \
	static void zfmm_##T(int64_t n, int nr, int nc, float *s, size_t lds, const void *w, size_t ldw,    \
	                     const void *a, size_t lda)                                                    \
	{                                                                                                  \
		const uint8_t *W = w, *A = a;                                                              \
		int c = 0;                                                                                 \
		/* column blocks of 12, then 8, then 4 (64 = 4 x 12 + 2 x 8) */                            \
		for (; nr >= 2 && nc - c >= 4;) {                                                          \
			const int rem = nc - c, cb = rem >= 20 ? ZF_BC : rem >= 16 ? 8 : rem >= 12 ? ZF_BC : rem >= 8 ? 8 : 4; \
			float *sc_ = s + (size_t)c * lds;                                                  \
			const uint8_t *ac_ = A + (size_t)c * lda;                                          \
			if (cb == ZF_BC)                                                                   \
				zfbatch_##T(ZF_BC, n, nr, sc_, lds, W, ldw, ac_, lda);                     \
			else if (cb == 8)                                                                  \
				zfbatch_##T(8, n, nr, sc_, lds, W, ldw, ac_, lda);                         \
			else                                                                               \
				zfbatch_##T(4, n, nr, sc_, lds, W, ldw, ac_, lda);                         \
			c += cb;                                                                           \
		}                                                                                          \
		for (; c + 4 <= nc; c += 4) {                                                              \
			int r = 0;                                                                         \
			for (; r + 4 <= nr; r += 4)                                                        \
				zftile_##T(4, 4, n, s + (size_t)c * lds + r, lds, W + (size_t)r * ldw, ldw, \
				           A + (size_t)c * lda, lda);                                      \
			for (; r < nr; r++)                                                                \
				zftile_##T(1, 4, n, s + (size_t)c * lds + r, lds, W + (size_t)r * ldw, ldw, \
				           A + (size_t)c * lda, lda);                                      \
		}                                                                                          \
		for (; c < nc; c++) {                                                                      \
			int r = 0;                                                                         \
			for (; r + 4 <= nr; r += 4)                                                        \
				zftile_##T(4, 1, n, s + (size_t)c * lds + r, lds, W + (size_t)r * ldw, ldw, \
				           A + (size_t)c * lda, lda);                                      \
			for (; r < nr; r++)                                                                \
				zftile_##T(1, 1, n, s + (size_t)c * lds + r, lds, W + (size_t)r * ldw, ldw, \
				           A + (size_t)c * lda, lda);                                      \
		}                                                                                          \
	}

DEFINE_ZTILE_FLOAT(f32)
DEFINE_ZTILE_FLOAT(f16)
DEFINE_ZTILE_FLOAT(bf16)

/* ---------------------------------------------------------------------------------
 * Q4_K and Q6_K batches: 16 weight rows per zmm, one row per 32-bit lane.
 *
 * The 256-bit tiles spend a vpmaddubsw + vpmaddwd pair on every 32 products
 * because the sub-block scale has to be applied before the lanes of a sub-block
 * are summed.  Here 16 rows x (a chunk of super-blocks) are first repacked on the
 * stack so that lane r of packed vector q[G] holds quants 4G..4G+3 of row r
 * (unpacked to bytes).  vpdpbusd against the 4 activation bytes 4G..4G+3 broadcast
 * then accumulates each row's sub-block dot in its own lane, and the sub-block
 * scale is applied once per lane group:
 *   Q4_K: half sub-blocks of 16 (|dot| <= 16 * 15 * 128 fits int16) times the
 *         scale with one vpdpwssd, mins with one vpdpwssd per sub-block against
 *         the pairs of activation block sums;
 *   Q6_K: sub-blocks of 16 times the int8 scale with vpmulld.
 * Each super-block's integer sum is exact and is applied with the same two (Q4_K)
 * or one (Q6_K) float FMA as in tile_q4_K / tile_q6_K, so every (row, column)
 * gets the same bits on either path.  The repacking (gathers) is shared by all
 * the columns of the call.
 * ------------------------------------------------------------------------------- */

#define KP_C 8   /* columns per pass */
#define KP_KC 4  /* super-blocks per packed chunk */
#define KP_MINC 2 /* fewer columns: the tiles */

struct kp_q4k {
	__m512i q[64];
	int32_t sc[8][16]; /* sub-block scale in the low 16 bits */
	int32_t mn[8][16]; /* min in both 16-bit halves */
	float d[16], dmin[16];
};

struct kp_q6k {
	__m512i q[64];
	int32_t sc[16][16]; /* int8 scale, sign-extended */
	int32_t pr[8][16];  /* scales 2i (low) and 2i+1 (high) as int16 */
	float d[16];
};

AI __m512i kp_idx(size_t ldw) { return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32((int)ldw)); }

AI __m512i kp_gather(__m512i idx, const uint8_t *p) { return _mm512_i32gather_epi32(idx, (const void *)p, 1); }

static void kp_pack_q4_K(struct kp_q4k *P, const uint8_t *w, size_t ldw)
{
	const __m512i idx = kp_idx(ldw), m4 = _mm512_set1_epi8(0x0F);
	const block_q4_K *x0 = (const block_q4_K *)w;
	for (int k = 0; k < 4; k++)
		for (int g = 0; g < 8; g++) {
			const __m512i v = kp_gather(idx, x0->qs + 32 * k + 4 * g);
			P->q[16 * k + g] = _mm512_and_si512(v, m4);
			P->q[16 * k + 8 + g] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
		}
	for (int r = 0; r < 16; r++) {
		const block_q4_K *x = (const block_q4_K *)(w + (size_t)r * ldw);
		uint8_t sm[16];
		_mm_storeu_si128((__m128i *)sm, k4_scales(x->scales));
		for (int j = 0; j < 8; j++) {
			P->sc[j][r] = sm[j];
			P->mn[j][r] = sm[8 + j] * 0x10001;
		}
		P->d[r] = f16f(x->d);
		P->dmin[r] = f16f(x->dmin);
	}
}

static void kp_pack_q6_K(struct kp_q6k *P, const uint8_t *w, size_t ldw)
{
	const __m512i idx = kp_idx(ldw), m4 = _mm512_set1_epi8(0x0F), m3 = _mm512_set1_epi8(3);
	const block_q6_K *x0 = (const block_q6_K *)w;
	for (int h = 0; h < 2; h++)
		for (int g = 0; g < 8; g++) {
			const __m512i A = kp_gather(idx, x0->ql + 64 * h + 4 * g);
			const __m512i B = kp_gather(idx, x0->ql + 64 * h + 32 + 4 * g);
			const __m512i H = kp_gather(idx, x0->qh + 32 * h + 4 * g);
			P->q[32 * h + g] = _mm512_or_si512(_mm512_and_si512(A, m4), _mm512_slli_epi16(_mm512_and_si512(H, m3), 4));
			P->q[32 * h + 8 + g] = _mm512_or_si512(_mm512_and_si512(B, m4),
			                                       _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(H, 2), m3), 4));
			P->q[32 * h + 16 + g] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(A, 4), m4),
			                                        _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(H, 4), m3), 4));
			P->q[32 * h + 24 + g] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(B, 4), m4),
			                                        _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(H, 6), m3), 4));
		}
	for (int r = 0; r < 16; r++) {
		const block_q6_K *x = (const block_q6_K *)(w + (size_t)r * ldw);
		for (int j = 0; j < 16; j++)
			P->sc[j][r] = x->scales[j];
		for (int i = 0; i < 8; i++)
			P->pr[i][r] = (int32_t)((uint32_t)(uint16_t)x->scales[2 * i] | (uint32_t)(uint16_t)x->scales[2 * i + 1] << 16);
		P->d[r] = f16f(x->d);
	}
}

/* 4 bytes of an activation row as a broadcast dword */
AI __m512i kp_b4(const void *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return _mm512_set1_epi32(v);
}

/* One super-block of 16 rows against C columns (y: the columns' blocks, lda apart). */
AI void kp_q4_K_sb(const int C, const struct kp_q4k *P, const uint8_t *y, size_t lda, __m512 *acc)
{
	__m512i sumi[KP_C];
	UNROLL for (int c = 0; c < C; c++) sumi[c] = _mm512_setzero_si512();
	UNROLL for (int j = 0; j < 8; j++) {
		const __m512i sc = _mm512_load_si512(P->sc[j]);
		UNROLL for (int h = 0; h < 2; h++) {
			__m512i t[KP_C];
			UNROLL for (int c = 0; c < C; c++) t[c] = _mm512_setzero_si512();
			UNROLL for (int g = 0; g < 4; g++) {
				const __m512i wq = _mm512_load_si512(&P->q[8 * j + 4 * h + g]);
				UNROLL for (int c = 0; c < C; c++) t[c] = _mm512_dpbusd_epi32(
				        t[c], wq, kp_b4(((const block_q8_K *)(y + (size_t)c * lda))->qs + 32 * j + 16 * h + 4 * g));
			}
			UNROLL for (int c = 0; c < C; c++) sumi[c] = _mm512_dpwssd_epi32(sumi[c], t[c], sc);
		}
	}
	const __m512 d = _mm512_load_ps(P->d), dmin = _mm512_load_ps(P->dmin);
	UNROLL for (int c = 0; c < C; c++) {
		const block_q8_K *a = (const block_q8_K *)(y + (size_t)c * lda);
		__m512i mi = _mm512_setzero_si512();
		UNROLL for (int j = 0; j < 8; j++) mi = _mm512_dpwssd_epi32(mi, _mm512_load_si512(P->mn[j]), kp_b4(a->bsums + 2 * j));
		const __m512 dy = _mm512_set1_ps(a->d);
		acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[c]), _mm512_mul_ps(d, dy), acc[c]);
		acc[c] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(mi), _mm512_mul_ps(dmin, dy), acc[c]);
	}
}

AI void kp_q6_K_sb(const int C, const struct kp_q6k *P, const uint8_t *y, size_t lda, __m512 *acc)
{
	__m512i sumi[KP_C];
	UNROLL for (int c = 0; c < C; c++) sumi[c] = _mm512_setzero_si512();
	UNROLL for (int j = 0; j < 16; j++) {
		__m512i t[KP_C];
		UNROLL for (int c = 0; c < C; c++) t[c] = _mm512_setzero_si512();
		UNROLL for (int g = 0; g < 4; g++) {
			const __m512i wq = _mm512_load_si512(&P->q[4 * j + g]);
			UNROLL for (int c = 0; c < C; c++) t[c] = _mm512_dpbusd_epi32(
			        t[c], wq, kp_b4(((const block_q8_K *)(y + (size_t)c * lda))->qs + 16 * j + 4 * g));
		}
		const __m512i sc = _mm512_load_si512(P->sc[j]);
		UNROLL for (int c = 0; c < C; c++) sumi[c] = _mm512_add_epi32(sumi[c], _mm512_mullo_epi32(t[c], sc));
	}
	const __m512 d = _mm512_load_ps(P->d);
	UNROLL for (int c = 0; c < C; c++) {
		const block_q8_K *a = (const block_q8_K *)(y + (size_t)c * lda);
		__m512i off = _mm512_setzero_si512();
		UNROLL for (int i = 0; i < 8; i++) off = _mm512_dpwssd_epi32(off, _mm512_load_si512(P->pr[i]), kp_b4(a->bsums + 2 * i));
		const __m512i tt = _mm512_sub_epi32(sumi[c], _mm512_slli_epi32(off, 5));
		acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(tt), _mm512_mul_ps(d, _mm512_set1_ps(a->d)), acc[c]);
	}
}

/* C columns over kb packed super-blocks, the accumulators in and out of accp. */
#define KP_COLS(T, C)                                                                                      \
	do {                                                                                               \
		__m512 acc_[KP_C];                                                                         \
		UNROLL for (int c_ = 0; c_ < (C); c_++) acc_[c_] = accp[c + c_];                           \
		for (int b_ = 0; b_ < kb; b_++)                                                            \
			kp_##T##_sb((C), &P[b_], A + (size_t)c * lda + (size_t)(b0 + b_) * sizeof(block_q8_K), lda, acc_); \
		UNROLL for (int c_ = 0; c_ < (C); c_++) accp[c + c_] = acc_[c_];                           \
	} while (0)

#define KP_ACC_MAX 64 /* columns per outer pass (accumulators on the stack) */

#define DEFINE_KPMM(T, PK, BLK)                                                                            \
	static void kpmm_##T(int64_t n, int nr, int nc, float *s, size_t lds, const void *w, size_t ldw,    \
	                     const void *a, size_t lda)                                                    \
	{                                                                                                  \
		const int nr16 = nr & ~15;                                                                 \
		if (nc < KP_MINC || nr16 == 0 || ldw > ((size_t)1 << 26)) {                                \
			mm_##T(n, nr, nc, s, lds, w, ldw, a, lda);                                         \
			return;                                                                            \
		}                                                                                          \
		const uint8_t *W = w, *A0 = a;                                                             \
		if (nr16 < nr)                                                                             \
			mm_##T(n, nr - nr16, nc, s + nr16, lds, W + (size_t)nr16 * ldw, ldw, a, lda);       \
		struct PK P[KP_KC];                                                                        \
		__m512 accp[KP_ACC_MAX];                                                                   \
		const int64_t nb = n / QK_K;                                                               \
		for (int c0 = 0; c0 < nc; c0 += KP_ACC_MAX) {                                              \
			const int cn = nc - c0 < KP_ACC_MAX ? nc - c0 : KP_ACC_MAX;                        \
			const uint8_t *A = A0 + (size_t)c0 * lda;                                          \
			for (int r0 = 0; r0 < nr16; r0 += 16) {                                            \
				const uint8_t *wr = W + (size_t)r0 * ldw;                                  \
				for (int c = 0; c < cn; c++)                                               \
					accp[c] = _mm512_setzero_ps();                                     \
				for (int64_t b0 = 0; b0 < nb; b0 += KP_KC) {                               \
					const int kb = (int)(nb - b0 < KP_KC ? nb - b0 : KP_KC);           \
					for (int b = 0; b < kb; b++)                                       \
						kp_pack_##T(&P[b], wr + (size_t)(b0 + b) * sizeof(BLK), ldw); \
					int c = 0;                                                         \
					for (; c + KP_C <= cn; c += KP_C)                                  \
						KP_COLS(T, KP_C);                                          \
					switch (cn - c) {                                                  \
					case 1: KP_COLS(T, 1); break;                                      \
					case 2: KP_COLS(T, 2); break;                                      \
					case 3: KP_COLS(T, 3); break;                                      \
					case 4: KP_COLS(T, 4); break;                                      \
					case 5: KP_COLS(T, 5); break;                                      \
					case 6: KP_COLS(T, 6); break;                                      \
					case 7: KP_COLS(T, 7); break;                                      \
					default: break;                                                    \
					}                                                                  \
				}                                                                          \
				for (int c = 0; c < cn; c++)                                               \
					_mm512_storeu_ps(s + (size_t)(c0 + c) * lds + r0, accp[c]);        \
			}                                                                                  \
		}                                                                                          \
	}

DEFINE_KPMM(q4_K, kp_q4k, block_q4_K)
DEFINE_KPMM(q6_K, kp_q6k, block_q6_K)

/* ---------------------------------------------------------------------------------
 * Softmax of attention scores
 * ------------------------------------------------------------------------------- */

/* e^x for x <= 0: x = k ln2 + r (|r| <= ln2 / 2, Cody-Waite with an exact k * C1),
 * e^r by its degree-7 Taylor polynomial (truncation < 1e-8 relative), 2^k by
 * vscalefps (which also flushes very negative x to 0). */
AI __m512 zexp_neg(__m512 x)
{
	x = _mm512_max_ps(x, _mm512_set1_ps(-150.0f)); /* -inf and NaN-free range for the reduction */
	const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
	                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
	r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
	__m512 p = _mm512_set1_ps(1.0f / 5040);
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
	return _mm512_scalef_ps(p, k);
}

static void zsoftmax_f32(float *x, int64_t n, float scale)
{
	const __m512 sv = _mm512_set1_ps(scale);
	const int64_t n16 = n & ~(int64_t)15;
	const __mmask16 mt = (__mmask16)((1u << (n - n16)) - 1);
	__m512 mv = _mm512_set1_ps(-INFINITY);
	for (int64_t j = 0; j < n16; j += 16) {
		const __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + j), sv);
		_mm512_storeu_ps(x + j, v);
		mv = _mm512_max_ps(mv, v);
	}
	if (mt) {
		const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mt, x + n16), sv);
		_mm512_mask_storeu_ps(x + n16, mt, v);
		mv = _mm512_mask_max_ps(mv, mt, mv, v);
	}
	const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(mv));
	__m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
	for (int64_t j = 0; j < n16; j += 16) {
		const __m512 e = zexp_neg(_mm512_sub_ps(_mm512_loadu_ps(x + j), mx));
		_mm512_storeu_ps(x + j, e);
		s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
		s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
	}
	if (mt) {
		const __m512 e = _mm512_maskz_mov_ps(mt, zexp_neg(_mm512_sub_ps(_mm512_maskz_loadu_ps(mt, x + n16), mx)));
		_mm512_mask_storeu_ps(x + n16, mt, e);
		s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
		s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
	}
	const __m512 inv = _mm512_set1_ps((float)(1.0 / _mm512_reduce_add_pd(_mm512_add_pd(s0, s1))));
	for (int64_t j = 0; j < n16; j += 16)
		_mm512_storeu_ps(x + j, _mm512_mul_ps(_mm512_loadu_ps(x + j), inv));
	if (mt)
		_mm512_mask_storeu_ps(x + n16, mt, _mm512_mul_ps(_mm512_maskz_loadu_ps(mt, x + n16), inv));
}

extern const kern_isa kern_isa_avx512_raw;
const kern_isa kern_isa_avx512_raw = {
	.name = "avx512",
	SIMD_TABLE_ENTRIES,
	.softmax_f32 = zsoftmax_f32,
};
