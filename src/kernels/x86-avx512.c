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
#define SIMD_TC 4
#include "kernels/x86-simd.h"

#include <math.h>

extern const kern_isa kern_isa_avx512_raw;
const kern_isa kern_isa_avx512_raw = {
	.name = "avx512",
	SIMD_TABLE_ENTRIES,
};
