/*
 * x86-avx2.c - the AVX2 + FMA + F16C kernel table (compiled with -mavx2 -mfma
 * -mf16c -mbmi2).  The kernels themselves are in x86-simd.h, shared with the
 * AVX-512 file; here the integer dots use vpmaddubsw/vpmaddwd and, with 16 ymm
 * registers, the tiles are 4 rows for one column and 4 rows x 2 columns for
 * batches.  Only dispatch.c may hand this table out, after checking CPUID.
 */
#define SIMD_VNNI 0
#define SIMD_RD 4
#define SIMD_TR 4
#define SIMD_KTR 4
#define SIMD_KTC 2
#define SIMD_TC 2
#define SIMD_PF_DIST 512 /* prefetch distance in weight rows (bytes), measured */
#include "kernels/x86-simd.h"

#include <math.h>

extern const kern_isa kern_isa_avx2_raw;
const kern_isa kern_isa_avx2_raw = {
	.name = "avx2",
	SIMD_TABLE_ENTRIES,
};
