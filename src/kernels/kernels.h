/*
 * kernels.h - the numeric core: half-float conversion, per-type dequantization and
 * quantization, dot-product kernels with one implementation per ISA, the thread
 * pool, and matrix multiplication built on them.
 *
 * Layering:
 *   ref.c          scalar reference for everything (always built, bit-exact dequant)
 *   x86-avx2.c     AVX2/FMA/F16C kernels       (compiled with -mavx2 ...)
 *   x86-avx512.c   AVX-512 BW/VL/VNNI kernels  (compiled with -mavx512* ...)
 *   dispatch.c     picks one kern_isa table at start-up from CPUID, or from
 *                  HEARTH_ISA=scalar|avx2|avx512
 *   pool.c         a small pthread pool (no allocation per call)
 *   matmul.c       y = x * W^T over the pool, activations quantized on the fly
 *
 * Weights are rows of `K` elements of a weight type (one row per output feature).
 * Activations are converted to the weight type's "activation type" (Q8_0 for the
 * 32-element block types, Q8_K for the K-quants and IQ4_XS, F16 for F16, BF16 for
 * BF16, F32 for F32) and then dotted against weight rows, as the reference does.
 */
#ifndef HEARTH_KERNELS_H
#define HEARTH_KERNELS_H

#include "hearth.h"
#include "kernels/quants.h"

#include <stddef.h>
#include <stdint.h>

/* ---- half floats (exact, round-to-nearest-even) ---- */
float hx_f16_to_f32(hx_f16 h);
hx_f16 hx_f32_to_f16(float f);
float hx_bf16_to_f32(hx_bf16 h);
hx_bf16 hx_f32_to_bf16(float f);

/* Bytes of one row of n elements of `type` (n must be a multiple of the block size). */
size_t kern_row_size(int type, int64_t n);

/* The activation type a weight type is dotted against (see above); -1 if unsupported. */
int kern_vec_dot_type(int type);

/* Scalar, bit-exact dequantization of n elements (a multiple of the block size). */
void kern_dequant_row(int type, const void *src, float *dst, int64_t n);

/* Reference quantization of n elements of f32 into `type` (weights or activations).
 * Returns 0, or HEARTH_EUNSUPPORTED for a type it cannot produce.  `imatrix` may be
 * NULL (no importance weighting). */
int kern_quantize_row(int type, const float *src, void *dst, int64_t n);

/* Quantizes `nrows` rows of `n_per_row`, returns bytes written (used by hearth quantize). */
size_t kern_quantize_rows(int type, const float *src, void *dst, int64_t nrows, int64_t n_per_row);

/* ---- per-ISA kernel tables ---- */

/* s[c * lds + r] = dot(weight row r, activation row c), for r < nr, c < nc.
 * Weight rows are `ldw` bytes apart, activation rows `lda` bytes apart; `n` is the
 * row length in elements (a multiple of the block size).  Activations are already
 * in kern_vec_dot_type(type). */
typedef void (*kern_mm_fn)(int64_t n, int nr, int nc, float *s, size_t lds, const void *w, size_t ldw,
                           const void *a, size_t lda);
/* Converts n f32 values into an activation row of the table's activation type. */
typedef void (*kern_act_fn)(const float *x, void *y, int64_t n);

typedef struct kern_isa {
	const char *name;                   /* "scalar", "avx2", "avx512" */
	kern_mm_fn mm[HEARTH_TYPE_COUNT];   /* indexed by weight type; NULL if unsupported */
	kern_act_fn act[HEARTH_TYPE_COUNT]; /* indexed by activation type (F32 copies) */
	/* f32 helpers used by the model code */
	float (*dot_f32)(int64_t n, const float *x, const float *y);
	void (*axpy_f32)(int64_t n, float a, const float *x, float *y);        /* y += a*x */
	float (*dot_f16_f32)(int64_t n, const hx_f16 *x, const float *y);
	void (*axpy_f16_f32)(int64_t n, float a, const hx_f16 *x, float *y);   /* y += a*x */
	void (*f32_to_f16)(const float *x, hx_f16 *y, int64_t n);
	void (*f16_to_f32)(const hx_f16 *x, float *y, int64_t n);
	/* x[i] = exp(scale * x[i] - max) / sum over the n values (attention scores);
	 * the SIMD tables use their own exp (within 2 ulp of expf) */
	void (*softmax_f32)(float *x, int64_t n, float scale);
} kern_isa;

/* The table in use (chosen once, thread-safe). */
const kern_isa *kern_isa_active(void);
/* A specific table if this CPU can run it, else NULL ("scalar" always exists). */
const kern_isa *kern_isa_get(const char *name);
/* The scalar reference table (ref.c). */
const kern_isa *kern_isa_scalar(void);
/* Tables for the SIMD paths; NULL when the CPU lacks the instructions. */
const kern_isa *kern_isa_avx2(void);
const kern_isa *kern_isa_avx512(void);

/* ---- thread pool ---- */
typedef struct kern_pool kern_pool;
/* Creates a pool of n_threads (the caller counts as thread 0, so n_threads-1
 * workers are started).  n_threads <= 0 means hx_n_cpus(). */
int kern_pool_create(int n_threads, kern_pool **out);
void kern_pool_free(kern_pool *p);
int kern_pool_size(const kern_pool *p);
/* Runs fn(ctx, ith, nth) on every thread of the pool and returns when all are
 * done.  Does not allocate.  Not reentrant: one run at a time per pool. */
void kern_pool_run(kern_pool *p, void (*fn)(void *ctx, int ith, int nth), void *ctx);
/* A barrier across all threads of the current run (call from inside fn). */
void kern_pool_barrier(kern_pool *p);

/* ---- matrix multiplication ---- */
/* y[m * N + j] = sum_k x[m * K + k] * W[j][k] for m < M, j < N.
 * W is N rows of `type` with K elements each, rows contiguous.  `scratch` must hold
 * kern_matmul_scratch_size(type, K, M) bytes (activations converted to the
 * activation type).  pool may be NULL (single-threaded). */
size_t kern_matmul_scratch_size(int type, int64_t K, int64_t M);
void kern_matmul(kern_pool *pool, int type, const void *w, int64_t K, int64_t N, const float *x, int64_t M,
                 float *y, void *scratch);
/* The same for up to KERN_MM_MAX_OUTS weight matrices of one type and row length K
 * against the same x (y_i = x * W_i^T), in one pool run; each y_i gets exactly the
 * bits kern_matmul would give it. */
#define KERN_MM_MAX_OUTS 4
typedef struct kern_mm_out {
	const void *w; /* N rows of `type`, K elements each */
	int64_t N;
	float *y;      /* [M, N] */
} kern_mm_out;
void kern_matmul_multi(kern_pool *pool, int type, const float *x, int64_t K, int64_t M, const kern_mm_out *outs,
                       int n_outs, void *scratch);

#endif
