/*
 * dispatch.c - picks the kernel table once per process.
 *
 * The SIMD tables live in files compiled with -mavx2 / -mavx512*; nothing in them
 * may run before CPUID says the CPU has the instructions and XGETBV says the OS
 * saves the wider registers.  This file is compiled for baseline x86-64 and is the
 * only gate: kern_isa_avx2() / kern_isa_avx512() return NULL unless the check
 * passes.  Each SIMD table is completed here: any entry it leaves NULL is taken
 * from the scalar table, so a caller never has to check an entry against NULL
 * when the scalar table has it.
 *
 * HEARTH_ISA=scalar|avx2|avx512 forces a table.  A forced table the CPU cannot run
 * (or an unknown name) falls back to the best available table, so a stale setting
 * never makes hearth slower than necessary nor crashes it.
 */
#include "kernels/kernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Defined in x86-avx2.c / x86-avx512.c: the raw, possibly incomplete tables.
 * They are only dereferenced (never executed) before the CPU check. */
extern const kern_isa kern_isa_avx2_raw;
extern const kern_isa kern_isa_avx512_raw;

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long xgetbv0(void)
{
	unsigned int eax, edx;
	__asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
	return ((unsigned long long)edx << 32) | eax;
}

static void cpu_detect(bool *avx2, bool *avx512)
{
	unsigned int a, b, c, d;
	*avx2 = *avx512 = false;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return;
	bool osxsave = c & (1u << 27), avx = c & (1u << 28), fma = c & (1u << 12), f16c = c & (1u << 29);
	if (!osxsave || !avx)
		return;
	unsigned long long xcr0 = xgetbv0();
	bool os_ymm = (xcr0 & 0x6) == 0x6;           /* SSE + AVX state */
	bool os_zmm = (xcr0 & 0xe6) == 0xe6;         /* + opmask, ZMM_Hi256, Hi16_ZMM */
	if (__get_cpuid_max(0, NULL) < 7)
		return;
	__cpuid_count(7, 0, a, b, c, d);
	bool has_avx2 = b & (1u << 5), bmi2 = b & (1u << 8);
	bool f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
	bool vnni = c & (1u << 11);
	*avx2 = os_ymm && has_avx2 && fma && f16c && bmi2;
	*avx512 = *avx2 && os_zmm && f && dq && bw && vl && vnni;
}
#else
static void cpu_detect(bool *avx2, bool *avx512)
{
	*avx2 = *avx512 = false;
}
#endif

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static kern_isa g_avx2, g_avx512;
static bool g_has_avx2, g_has_avx512;
static const kern_isa *g_active;

/* Copies `raw` into `dst`, filling every NULL entry from the scalar table. */
static void complete(kern_isa *dst, const kern_isa *raw)
{
	const kern_isa *s = kern_isa_scalar();
	*dst = *raw;
	for (int t = 0; t < HEARTH_TYPE_COUNT; t++) {
		if (!dst->mm[t])
			dst->mm[t] = s->mm[t];
		if (!dst->act[t])
			dst->act[t] = s->act[t];
	}
	if (!dst->dot_f32)
		dst->dot_f32 = s->dot_f32;
	if (!dst->axpy_f32)
		dst->axpy_f32 = s->axpy_f32;
	if (!dst->dot_f16_f32)
		dst->dot_f16_f32 = s->dot_f16_f32;
	if (!dst->axpy_f16_f32)
		dst->axpy_f16_f32 = s->axpy_f16_f32;
	if (!dst->f32_to_f16)
		dst->f32_to_f16 = s->f32_to_f16;
	if (!dst->f16_to_f32)
		dst->f16_to_f32 = s->f16_to_f32;
	if (!dst->softmax_f32)
		dst->softmax_f32 = s->softmax_f32;
}

static void init_once(void)
{
	cpu_detect(&g_has_avx2, &g_has_avx512);
	if (g_has_avx2)
		complete(&g_avx2, &kern_isa_avx2_raw);
	if (g_has_avx512)
		complete(&g_avx512, &kern_isa_avx512_raw);
	const kern_isa *best = g_has_avx512 ? &g_avx512 : g_has_avx2 ? &g_avx2 : kern_isa_scalar();
	g_active = best;
	const char *env = getenv("HEARTH_ISA");
	if (env && env[0]) {
		if (strcmp(env, "scalar") == 0)
			g_active = kern_isa_scalar();
		else if (strcmp(env, "avx2") == 0 && g_has_avx2)
			g_active = &g_avx2;
		else if (strcmp(env, "avx512") == 0 && g_has_avx512)
			g_active = &g_avx512;
		/* anything else (unknown, or not runnable here): keep the best table */
	}
}

const kern_isa *kern_isa_active(void)
{
	pthread_once(&g_once, init_once);
	return g_active;
}

const kern_isa *kern_isa_avx2(void)
{
	pthread_once(&g_once, init_once);
	return g_has_avx2 ? &g_avx2 : NULL;
}

const kern_isa *kern_isa_avx512(void)
{
	pthread_once(&g_once, init_once);
	return g_has_avx512 ? &g_avx512 : NULL;
}

const kern_isa *kern_isa_get(const char *name)
{
	if (!name)
		return NULL;
	if (strcmp(name, "scalar") == 0)
		return kern_isa_scalar();
	if (strcmp(name, "avx2") == 0)
		return kern_isa_avx2();
	if (strcmp(name, "avx512") == 0)
		return kern_isa_avx512();
	return NULL;
}
