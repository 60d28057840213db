/*
 * quants.h - on-disk block formats of every tensor type hearth computes with.
 *
 * These are the GGML block layouts used by GGUF files, byte for byte.  Each block
 * covers QK elements of one row; a row of n elements is n/QK consecutive blocks.
 * `d` / `dmin` scales are IEEE half floats stored as uint16_t (little-endian, as
 * every supported host is).  The bits-per-weight figure is the block size * 8 / QK.
 */
#ifndef HEARTH_QUANTS_H
#define HEARTH_QUANTS_H

#include <assert.h>
#include <stdint.h>

typedef uint16_t hx_f16;  /* IEEE 754 binary16 bits */
typedef uint16_t hx_bf16; /* bfloat16 bits */

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256
#define K_SCALE_SIZE 12
#define QK4_NL 32

/* Q4_0: 4.5 bpw. x = d * (q - 8), q in 0..15; qs[j] low nibble = element j,
 * high nibble = element j + 16. */
typedef struct {
	hx_f16 d;
	uint8_t qs[QK4_0 / 2];
} block_q4_0;
static_assert(sizeof(block_q4_0) == 18, "block_q4_0 size");

/* Q4_1: 5 bpw. x = d * q + m. */
typedef struct {
	hx_f16 d;
	hx_f16 m;
	uint8_t qs[QK4_1 / 2];
} block_q4_1;
static_assert(sizeof(block_q4_1) == 20, "block_q4_1 size");

/* Q5_0: 5.5 bpw. x = d * (q - 16); 5th bit of element j in bit j of qh. */
typedef struct {
	hx_f16 d;
	uint8_t qh[4];
	uint8_t qs[QK5_0 / 2];
} block_q5_0;
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 size");

/* Q5_1: 6 bpw. x = d * q + m. */
typedef struct {
	hx_f16 d;
	hx_f16 m;
	uint8_t qh[4];
	uint8_t qs[QK5_1 / 2];
} block_q5_1;
static_assert(sizeof(block_q5_1) == 24, "block_q5_1 size");

/* Q8_0: 8.5 bpw. x = d * q. Also the activation format for the 32-block types. */
typedef struct {
	hx_f16 d;
	int8_t qs[QK8_0];
} block_q8_0;
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 size");

/* Q8_1: activation format with the block sum: s = d * sum(qs). */
typedef struct {
	hx_f16 d;
	hx_f16 s;
	int8_t qs[QK8_1];
} block_q8_1;
static_assert(sizeof(block_q8_1) == 36, "block_q8_1 size");

/* Q2_K: 2.625 bpw. 16 sub-blocks of 16; scales[i] low nibble = scale, high = min.
 * x = d * sc * q - dmin * m. */
typedef struct {
	uint8_t scales[QK_K / 16];
	uint8_t qs[QK_K / 4];
	hx_f16 d;
	hx_f16 dmin;
} block_q2_K;
static_assert(sizeof(block_q2_K) == 84, "block_q2_K size");

/* Q3_K: 3.4375 bpw. 16 sub-blocks of 16, 6-bit scales packed in 12 bytes;
 * low 2 bits in qs, high bit in hmask (set = no -4 offset). */
typedef struct {
	uint8_t hmask[QK_K / 8];
	uint8_t qs[QK_K / 4];
	uint8_t scales[12];
	hx_f16 d;
} block_q3_K;
static_assert(sizeof(block_q3_K) == 110, "block_q3_K size");

/* Q4_K: 4.5 bpw. 8 sub-blocks of 32 with 6-bit scales and mins packed in 12 bytes.
 * x = d * sc * q - dmin * m. */
typedef struct {
	hx_f16 d;
	hx_f16 dmin;
	uint8_t scales[K_SCALE_SIZE];
	uint8_t qs[QK_K / 2];
} block_q4_K;
static_assert(sizeof(block_q4_K) == 144, "block_q4_K size");

/* Q5_K: 5.5 bpw. As Q4_K with a 5th bit in qh. */
typedef struct {
	hx_f16 d;
	hx_f16 dmin;
	uint8_t scales[K_SCALE_SIZE];
	uint8_t qh[QK_K / 8];
	uint8_t qs[QK_K / 2];
} block_q5_K;
static_assert(sizeof(block_q5_K) == 176, "block_q5_K size");

/* Q6_K: 6.5625 bpw. 16 sub-blocks of 16 with int8 scales. x = d * sc * (q - 32). */
typedef struct {
	uint8_t ql[QK_K / 2];
	uint8_t qh[QK_K / 4];
	int8_t scales[QK_K / 16];
	hx_f16 d;
} block_q6_K;
static_assert(sizeof(block_q6_K) == 210, "block_q6_K size");

/* Q8_K: activation format for the K-quants and IQ4_XS (float scale and the
 * sums of each group of 16 quants). */
typedef struct {
	float d;
	int8_t qs[QK_K];
	int16_t bsums[QK_K / 16];
} block_q8_K;
static_assert(sizeof(block_q8_K) == 292, "block_q8_K size");

/* IQ4_NL: 4.5 bpw, non-linear 16-entry codebook kvalues_iq4nl. x = d * kv[q]. */
typedef struct {
	hx_f16 d;
	uint8_t qs[QK4_NL / 2];
} block_iq4_nl;
static_assert(sizeof(block_iq4_nl) == 18, "block_iq4_nl size");

/* IQ4_XS: 4.25 bpw. 8 sub-blocks of 32 with 6-bit scales (low 4 bits in
 * scales_l, high 2 bits in scales_h), x = d * (ls - 32) * kv[q]. */
typedef struct {
	hx_f16 d;
	uint16_t scales_h;
	uint8_t scales_l[QK_K / 64];
	uint8_t qs[QK_K / 2];
} block_iq4_xs;
static_assert(sizeof(block_iq4_xs) == 136, "block_iq4_xs size");

/* The IQ4_NL / IQ4_XS codebook. */
extern const int8_t kvalues_iq4nl[16];

#endif
