/*
 * sampler.c - turns a row of logits into a token id: repetition, presence and
 * frequency penalties over a window of accepted tokens, then top-k, top-p, min-p,
 * temperature and a seeded draw (or greedy argmax), in llama.cpp's order.  The
 * contract is in include/hearth.h, "Sampling".
 *
 * Speed.  A vocabulary is ~150k entries and a token is sampled every few
 * milliseconds, so nothing here sorts the vocabulary in the usual case:
 *  - top-k with k <= DIRECT_K (the default 40) is one pass with a k-entry min-heap,
 *    its compare skipped 16 logits at a time while none beats the heap's worst;
 *    then top-p, min-p and the softmax only touch those k survivors;
 *  - larger k (or k off) first bounds the survivors with min-p (a counting pass
 *    against max + log(min_p)), takes an unsorted top-k in O(n) with a 3-way
 *    quickselect (over the entries above a floor found by bisecting with
 *    counting passes) when only k (or min-p) truncates, and for top-p grows a sorted
 *    prefix (256, x8, ...) until it holds the wanted probability mass;
 *  - with every truncation off the draw runs over the logits directly.
 * The logits are copied only when a penalty applies (to patch the penalized
 * entries); every buffer is allocated by hearth_sampler_create().
 *
 * History.  Accepted tokens go into a ring of repeat_last_n entries (or no ring
 * for -1: everything since reset counts) with a per-id count and a list of the
 * ids whose count is non-zero, so applying penalties costs O(distinct ids).
 *
 * Random numbers: xoshiro256** seeded by splitmix64, 53-bit uniform doubles.  The
 * probabilities use our own exponential in fixed-width vector lanes (see below),
 * not libm, so a seed gives the same tokens for the same logits on any machine
 * (the one libm call left, logf() for min-p's threshold, only matters for a logit
 * within an ulp of that threshold).
 */
#include "util/util.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* Bit-identical probabilities on every machine need plain multiplies and adds, no
 * fused multiply-add: gcc does not contract in ISO C mode, clang must be told. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* Largest top_k handled by the direct heap selection (sorted survivors). */
#define DIRECT_K 1024
/* First sorted prefix tried when top-p must find its cut among many tokens. */
#define TOPP_FIRST 256

typedef struct cand {
	int32_t id;
	float logit; /* the (penalized) logit; after the softmax, the weight */
} cand;

struct hearth_sampler {
	hearth_sampler_params p;
	int32_t n_vocab;
	bool greedy;     /* temperature <= 0 */
	bool pen_on;     /* some penalty is set and repeat_last_n != 0 */
	uint64_t seed;   /* the seed in use */
	uint64_t rng[4]; /* xoshiro256** state */

	cand *cand;       /* (n_vocab) survivors; also scratch floats for quickselect */
	int32_t n_cand;   /* survivors in cand[], or n_vocab with `full` */
	bool sorted;      /* cand[0..n_cand) is in rank order */
	bool full;        /* no truncation: the survivors are all of `src` */
	const float *src; /* the logits of the current call (penalized copy or caller's) */
	float mx;         /* the largest surviving logit */

	/* penalty state, allocated only when pen_on */
	float *work;       /* (n_vocab) penalized copy of the logits */
	uint32_t *count;   /* (n_vocab) occurrences of each id in the window */
	int32_t *distinct; /* (n_vocab) the ids with count > 0, n_distinct of them */
	int32_t *dpos;     /* (n_vocab) index of an id in distinct[] */
	int32_t n_distinct;
	int32_t *ring; /* (ring_cap) the window, oldest at ring_w once full */
	int32_t ring_cap, ring_len, ring_w;
};

/* ---- random numbers ---------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(uint64_t st[4])
{
	uint64_t r = rotl64(st[1] * 5, 7) * 9;
	uint64_t t = st[1] << 17;
	st[2] ^= st[0];
	st[3] ^= st[1];
	st[1] ^= st[2];
	st[0] ^= st[3];
	st[2] ^= t;
	st[3] = rotl64(st[3], 45);
	return r;
}

/* A uniform double in [0, 1) with 53 random bits. */
static double rng_uniform(uint64_t st[4])
{
	return (double)(rng_next(st) >> 11) * 0x1.0p-53;
}

/* A seed from the kernel's generator; falls back to the clock if that fails. */
static uint64_t random_seed(void)
{
	uint64_t v = 0;
	ssize_t got;
	do {
		got = getrandom(&v, sizeof v, 0);
	} while (got < 0 && errno == EINTR);
	if (got != (ssize_t)sizeof v) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t x = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&v;
		v = splitmix64(&x);
	}
	return v;
}

/* Picks the seed (a fresh random one for HEARTH_SEED_RANDOM) and seeds the state. */
static void rng_start(hearth_sampler *s)
{
	s->seed = s->p.seed == HEARTH_SEED_RANDOM ? random_seed() : s->p.seed;
	uint64_t x = s->seed;
	for (int i = 0; i < 4; i++)
		s->rng[i] = splitmix64(&x);
}

/* ---- parameters ---------------------------------------------------------------- */

hearth_sampler_params hearth_sampler_default_params(void)
{
	hearth_sampler_params p = {
	    .temperature = 0.8f,
	    .top_k = 40,
	    .top_p = 0.95f,
	    .min_p = 0.05f,
	    .repeat_penalty = 1.0f,
	    .repeat_last_n = 64,
	    .presence_penalty = 0.0f,
	    .frequency_penalty = 0.0f,
	    .seed = HEARTH_SEED_RANDOM,
	};
	return p;
}

int hearth_sampler_params_check(const hearth_sampler_params *p)
{
	if (!p)
		return hx_err(HEARTH_EINVAL, "sampler parameters are missing (NULL)");
	if (!isfinite(p->temperature))
		return hx_err(HEARTH_EINVAL, "temperature must be a finite number, got %g", (double)p->temperature);
	if (p->top_k < 0)
		return hx_err(HEARTH_EINVAL, "top_k must be >= 0 (0 turns it off), got %d", (int)p->top_k);
	if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
		return hx_err(HEARTH_EINVAL, "top_p must be in (0, 1] (1 turns it off), got %g", (double)p->top_p);
	if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
		return hx_err(HEARTH_EINVAL, "min_p must be in [0, 1] (0 turns it off), got %g", (double)p->min_p);
	if (!(isfinite(p->repeat_penalty) && p->repeat_penalty > 0.0f))
		return hx_err(HEARTH_EINVAL, "repeat_penalty must be a finite number > 0 (1 turns it off), got %g",
		              (double)p->repeat_penalty);
	if (p->repeat_last_n < -1 || p->repeat_last_n > HEARTH_SAMPLER_MAX_LAST_N)
		return hx_err(HEARTH_EINVAL, "repeat_last_n must be -1 (all tokens), 0 (off) or 1..%d, got %d",
		              HEARTH_SAMPLER_MAX_LAST_N, (int)p->repeat_last_n);
	if (!isfinite(p->presence_penalty))
		return hx_err(HEARTH_EINVAL, "presence_penalty must be a finite number, got %g",
		              (double)p->presence_penalty);
	if (!isfinite(p->frequency_penalty))
		return hx_err(HEARTH_EINVAL, "frequency_penalty must be a finite number, got %g",
		              (double)p->frequency_penalty);
	return HEARTH_OK;
}

/* ---- create / free / history ------------------------------------------------ */

void hearth_sampler_free(hearth_sampler *s)
{
	if (!s)
		return;
	free(s->cand);
	free(s->work);
	free(s->count);
	free(s->distinct);
	free(s->dpos);
	free(s->ring);
	free(s);
}

int hearth_sampler_create(const hearth_sampler_params *p, int32_t n_vocab, hearth_sampler **out)
{
	if (!out)
		return hx_err(HEARTH_EINVAL, "hearth_sampler_create: out is NULL");
	*out = NULL;
	int rc = hearth_sampler_params_check(p);
	if (rc)
		return rc;
	if (n_vocab <= 0 || n_vocab > HEARTH_SAMPLER_MAX_VOCAB)
		return hx_err(HEARTH_EINVAL, "sampler: the vocabulary size must be 1..%d, got %d",
		              HEARTH_SAMPLER_MAX_VOCAB, (int)n_vocab);

	hearth_sampler *s = hx_calloc(1, sizeof *s);
	if (!s)
		return HEARTH_ENOMEM;
	s->p = *p;
	s->n_vocab = n_vocab;
	s->greedy = p->temperature <= 0.0f;
	s->pen_on = p->repeat_last_n != 0 &&
	            (p->repeat_penalty != 1.0f || p->presence_penalty != 0.0f || p->frequency_penalty != 0.0f);
	size_t n = (size_t)n_vocab;
	s->cand = hx_malloc(n * sizeof *s->cand);
	if (!s->cand)
		goto oom;
	if (s->pen_on) {
		s->work = hx_malloc(n * sizeof *s->work);
		s->count = hx_calloc(n, sizeof *s->count);
		s->distinct = hx_malloc(n * sizeof *s->distinct);
		s->dpos = hx_malloc(n * sizeof *s->dpos);
		if (!s->work || !s->count || !s->distinct || !s->dpos)
			goto oom;
		if (p->repeat_last_n > 0) {
			s->ring_cap = p->repeat_last_n;
			s->ring = hx_malloc((size_t)s->ring_cap * sizeof *s->ring);
			if (!s->ring)
				goto oom;
		}
	}
	rng_start(s);
	*out = s;
	return HEARTH_OK;
oom:
	hearth_sampler_free(s);
	return HEARTH_ENOMEM;
}

uint64_t hearth_sampler_seed(const hearth_sampler *s)
{
	return s ? s->seed : 0;
}

static void hist_inc(hearth_sampler *s, int32_t t)
{
	if (s->count[t] == 0) {
		s->dpos[t] = s->n_distinct;
		s->distinct[s->n_distinct++] = t;
	}
	if (s->count[t] != UINT32_MAX)
		s->count[t]++;
}

static void hist_dec(hearth_sampler *s, int32_t t)
{
	if (--s->count[t] == 0) {
		int32_t last = s->distinct[--s->n_distinct];
		s->distinct[s->dpos[t]] = last;
		s->dpos[last] = s->dpos[t];
	}
}

int hearth_sampler_accept(hearth_sampler *s, int32_t token)
{
	if (!s)
		return hx_err(HEARTH_EINVAL, "hearth_sampler_accept: sampler is NULL");
	if (token < 0 || token >= s->n_vocab)
		return hx_err(HEARTH_EINVAL, "sampler: token %d is outside the vocabulary (0..%d)", (int)token,
		              (int)s->n_vocab - 1);
	if (!s->pen_on)
		return HEARTH_OK;
	if (s->ring_cap > 0) {
		if (s->ring_len == s->ring_cap)
			hist_dec(s, s->ring[s->ring_w]);
		else
			s->ring_len++;
		s->ring[s->ring_w] = token;
		s->ring_w = s->ring_w + 1 == s->ring_cap ? 0 : s->ring_w + 1;
	}
	hist_inc(s, token);
	return HEARTH_OK;
}

void hearth_sampler_reset(hearth_sampler *s)
{
	if (!s)
		return;
	if (s->pen_on) {
		for (int32_t i = 0; i < s->n_distinct; i++)
			s->count[s->distinct[i]] = 0;
		s->n_distinct = 0;
		s->ring_len = 0;
		s->ring_w = 0;
	}
	rng_start(s);
}

/* ---- vector helpers ------------------------------------------------------------ */

/* GCC/clang vector extensions: 4 float lanes, the width of baseline x86-64 (SSE2)
 * and arm64 (NEON) registers.  Lane arithmetic is plain
 * IEEE single precision without contraction, so every machine computes the same
 * bits; the exponential is our own for the same reason (libm's expf may differ in
 * the last bit between C libraries, which could flip a draw). */
#define VL 4
typedef float vf __attribute__((vector_size(VL * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(VL * sizeof(int32_t))));

static inline vf vsplat(float x)
{
	return (vf){x, x, x, x};
}

static inline vf vload(const float *p)
{
	vf v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* Lanes of a where m is set, of b elsewhere. */
static inline vf vsel(vi m, vf a, vf b)
{
	return (vf)(((vi)a & m) | ((vi)b & ~m));
}

static inline bool vany(vi m)
{
	int32_t r = 0;
	for (int j = 0; j < VL; j++)
		r |= m[j];
	return r != 0;
}

/* e^x for x <= 0: x = k ln2 + r with |r| <= ln2/2 (ln2 split in two so k ln2 is
 * exact), e^r by its Taylor series to degree 7 (relative error < 2e-7), times 2^k
 * built in the exponent bits.  Exactly 0 for x < -87 (e^x < FLT_MIN there), for
 * -inf and for NaN. */
static inline vf vexp_neg(vf x)
{
	const vf lim = vsplat(-87.0f);
	const vi keep = x >= lim;
	x = vsel(keep, x, lim);
	const vf k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round(x / ln2) */
	const vf r = (x - k * 0.693145751953125f) - k * 1.42860682030941723212e-6f;
	vf p = r * (1.0f / 5040.0f) + (1.0f / 720.0f);
	p = p * r + (1.0f / 120.0f);
	p = p * r + (1.0f / 24.0f);
	p = p * r + (1.0f / 6.0f);
	p = p * r + 0.5f;
	p = p * r + 1.0f;
	p = p * r + 1.0f;
	const vi bits = (__builtin_convertvector(k, vi) + 127) << 23; /* 2^k, k in [-126, 0] */
	return (vf)((vi)(p * (vf)bits) & keep);
}

static float exp_neg(float x)
{
	return vexp_neg(vsplat(x))[0];
}

/* The largest entry of x[0..n), ignoring NaN; -inf if there is none. */
static float max_of(const float *x, int32_t n)
{
	vf m0 = vsplat(-INFINITY), m1 = m0;
	int32_t i = 0;
	for (; i + 2 * VL <= n; i += 2 * VL) {
		vf a = vload(x + i), b = vload(x + i + VL);
		m0 = vsel(a > m0, a, m0);
		m1 = vsel(b > m1, b, m1);
	}
	float r = -INFINITY;
	for (int j = 0; j < VL; j++) {
		r = m0[j] > r ? m0[j] : r;
		r = m1[j] > r ? m1[j] : r;
	}
	for (; i < n; i++)
		r = x[i] > r ? x[i] : r;
	return r;
}

/* The index of the largest entry of x[0..n) (the lowest index among equal
 * ones; NaN ignored), its value in *mx; -1 with *mx = -inf when no entry is
 * above -inf.  One pass: each lane keeps its best value and first index. */
static int32_t argmax(const float *x, int32_t n, float *mx)
{
	vf m0 = vsplat(-INFINITY), m1 = m0;
	vi b0 = {-1, -1, -1, -1}, b1 = b0, i0 = {0, 1, 2, 3}, i1 = i0 + VL;
	int32_t i = 0;
	for (; i + 2 * VL <= n; i += 2 * VL, i0 += 2 * VL, i1 += 2 * VL) {
		vf a = vload(x + i), b = vload(x + i + VL);
		vi ga = a > m0, gb = b > m1;
		m0 = vsel(ga, a, m0);
		m1 = vsel(gb, b, m1);
		b0 = (b0 & ~ga) | (i0 & ga);
		b1 = (b1 & ~gb) | (i1 & gb);
	}
	float best = -INFINITY;
	int32_t at = -1;
	for (int j = 0; j < VL; j++) {
		if (m0[j] > best || (m0[j] == best && m0[j] > -INFINITY && b0[j] < at)) {
			best = m0[j];
			at = b0[j];
		}
		if (m1[j] > best || (m1[j] == best && m1[j] > -INFINITY && b1[j] < at)) {
			best = m1[j];
			at = b1[j];
		}
	}
	for (; i < n; i++) {
		if (x[i] > best) {
			best = x[i];
			at = i;
		}
	}
	*mx = best;
	return at;
}

/* The first index i with x[i] == v, or -1. */
static int32_t first_equal(const float *x, int32_t n, float v)
{
	int32_t i = 0;
	for (; i + VL <= n; i += VL)
		if (vany(vload(x + i) == vsplat(v)))
			break;
	for (; i < n; i++)
		if (x[i] == v)
			return i;
	return -1;
}

/* How many entries of x[0..n) are >= t. */
static int32_t count_ge(const float *x, int32_t n, float t)
{
	vi c = {0};
	int32_t i = 0, r = 0;
	for (; i + VL <= n; i += VL)
		c -= vload(x + i) >= vsplat(t);
	for (int j = 0; j < VL; j++)
		r += c[j];
	for (; i < n; i++)
		r += x[i] >= t;
	return r;
}

/* Sum of e^((x[i] - mx) * scale) over the entries above t (mx >= every entry);
 * their count goes to *above when not NULL.  Lanes accumulate in float and are
 * folded into a double every 1024 entries. */
static double sum_exp_above(const float *x, int32_t n, float mx, float scale, float t, int32_t *above)
{
	double total = 0.0;
	vi c = {0};
	int32_t i = 0, cnt = 0;
	while (i + VL <= n) {
		vf acc = vsplat(0.0f);
		for (int b = 0; b < 128 && i + VL <= n; b++, i += VL) {
			vf v = vload(x + i);
			vi m = v > vsplat(t);
			c -= m;
			acc += (vf)((vi)vexp_neg((v - mx) * scale) & m);
		}
		for (int j = 0; j < VL; j++)
			total += acc[j];
	}
	for (int j = 0; j < VL; j++)
		cnt += c[j];
	for (; i < n; i++) {
		if (x[i] > t) {
			total += exp_neg((x[i] - mx) * scale);
			cnt++;
		}
	}
	if (above)
		*above = cnt;
	return total;
}

/* ---- selection ----------------------------------------------------------------- */

/* True when a ranks below b: smaller logit, or equal logit and larger id. */
static inline bool worse(cand a, cand b)
{
	return a.logit < b.logit || (a.logit == b.logit && a.id > b.id);
}

/* Min-heap on rank (the root is the worst kept entry). */
static void heap_down(cand *h, int32_t n, int32_t i)
{
	cand x = h[i];
	for (;;) {
		int32_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && worse(h[c + 1], h[c]))
			c++;
		if (!worse(h[c], x))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

static void heap_up(cand *h, int32_t i)
{
	cand x = h[i];
	while (i > 0) {
		int32_t parent = (i - 1) / 2;
		if (!worse(x, h[parent]))
			break;
		h[i] = h[parent];
		i = parent;
	}
	h[i] = x;
}

/* Puts the m best-ranked entries of src[0..n) into out[] in rank order (best
 * first) and returns how many there were (fewer than m only when src has fewer
 * non-NaN entries).  O(n + m log m log(n/m)) for random input. */
static int32_t select_top_sorted(const float *src, int32_t n, int32_t m, cand *out)
{
	int32_t cnt = 0, i = 0;
	for (; i < n && cnt < m; i++) {
		float v = src[i];
		if (v != v)
			continue;
		out[cnt] = (cand){i, v};
		heap_up(out, cnt++);
	}
	if (cnt == m) {
		float thr = out[0].logit;
		/* Blocks of 16 where no entry beats the heap's worst cost two vector
		 * compares; a later equal logit never displaces an earlier id, hence
		 * strict. */
		for (; i + 2 * VL <= n; i += 2 * VL) {
			const vf t = vsplat(thr);
			if (!vany((vload(src + i) > t) | (vload(src + i + VL) > t)))
				continue;
			for (int j = 0; j < 2 * VL; j++) {
				if (src[i + j] > thr) {
					out[0] = (cand){i + j, src[i + j]};
					heap_down(out, cnt, 0);
					thr = out[0].logit;
				}
			}
		}
		for (; i < n; i++) {
			if (src[i] > thr) {
				out[0] = (cand){i, src[i]};
				heap_down(out, cnt, 0);
				thr = out[0].logit;
			}
		}
	}
	/* Heap sort: popping the worst to the back leaves the best at the front. */
	for (int32_t end = cnt - 1; end > 0; end--) {
		cand t = out[0];
		out[0] = out[end];
		out[end] = t;
		heap_down(out, end, 0);
	}
	return cnt;
}

static inline void swapf(float *a, float *b)
{
	float t = *a;
	*a = *b;
	*b = t;
}

/* Returns the value of rank r (0 = largest) among a[0..n), reordering a.  Three-way
 * partitioning keeps runs of equal values linear.  a must hold no NaN. */
static float kth_largest(float *a, int32_t n, int32_t r)
{
	int32_t lo = 0, hi = n;
	for (;;) {
		if (hi - lo <= 1)
			return a[lo];
		float x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi - 1];
		float pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
		int32_t lt = lo, i = lo, gt = hi;
		while (i < gt) {
			if (a[i] > pivot)
				swapf(&a[lt++], &a[i++]);
			else if (a[i] < pivot)
				swapf(&a[i], &a[--gt]);
			else
				i++;
		}
		if (r < lt)
			hi = lt;
		else if (r < gt)
			return pivot;
		else
			lo = gt;
	}
}

/* The logit of rank m-1 in src (NaN ranked as -inf), using scratch (n floats).
 * Only the entries >= floor can have that rank (the caller knows at least m do),
 * so only those are copied and partitioned. */
static float rank_value(const float *src, int32_t n, int32_t m, float floor, float *scratch)
{
	int32_t c = 0;
	for (int32_t i = 0; i < n; i++)
		if (src[i] >= floor)
			scratch[c++] = src[i];
	if (c < m) /* fewer than m numbers at all: every one of them is in */
		return -INFINITY;
	return kth_largest(scratch, c, m - 1);
}

/* A value f with at least m entries of src >= f (so the rank m-1 value is >= f
 * and only those entries need partitioning), found by bisecting [mx - 64, mx]
 * with counting passes until between m and 2m entries qualify (or to 1/8 of a
 * logit); -inf when even mx - 64 leaves fewer than m. */
static float rank_floor(const float *src, int32_t n, int32_t m, float mx)
{
	float lo = mx - 64.0f, hi = mx;
	int32_t c = count_ge(src, n, lo);
	if (c < m)
		return -INFINITY;
	for (int it = 0; it < 9 && c > 2 * m + 64; it++) {
		const float mid = lo + (hi - lo) * 0.5f;
		const int32_t cm = count_ge(src, n, mid);
		if (cm >= m) {
			lo = mid;
			c = cm;
		} else {
			hi = mid;
		}
	}
	return lo;
}

/* Puts the m best-ranked entries of src into out[], unsorted, in O(n); returns
 * how many (NaN entries are never taken). */
static int32_t select_top_unsorted(const float *src, int32_t n, int32_t m, float mx, cand *out)
{
	float t = rank_value(src, n, m, rank_floor(src, n, m, mx), (float *)out);
	int32_t gt = 0;
	for (int32_t i = 0; i < n; i++)
		gt += src[i] > t;
	int32_t left = m - gt, cnt = 0;
	for (int32_t i = 0; i < n; i++) {
		float v = src[i];
		if (v > t || (v == t && left-- > 0))
			out[cnt++] = (cand){i, v};
	}
	return cnt;
}

/* ---- the chain ----------------------------------------------------------------- */

/* Returns the logits the chain works on: the caller's, or a copy with the
 * penalties applied. */
static const float *apply_penalties(hearth_sampler *s, const float *logits)
{
	if (!s->pen_on || s->n_distinct == 0)
		return logits;
	memcpy(s->work, logits, (size_t)s->n_vocab * sizeof *s->work);
	const float rp = s->p.repeat_penalty, pres = s->p.presence_penalty, freq = s->p.frequency_penalty;
	for (int32_t i = 0; i < s->n_distinct; i++) {
		int32_t id = s->distinct[i];
		float v = s->work[id];
		if (rp != 1.0f)
			v = v <= 0.0f ? v * rp : v / rp;
		v -= pres + (float)s->count[id] * freq;
		s->work[id] = v;
	}
	return s->work;
}

static int no_logit(void)
{
	return hx_err(HEARTH_EINVAL, "sampler: no logit is a number above -inf");
}

/* Runs penalties and truncation: leaves the survivors in s->cand[0..n_cand) (or
 * marks s->full), their largest logit in s->mx, and returns their count (>= 1)
 * or an error. */
static int32_t prepare(hearth_sampler *s, const float *logits)
{
	if (!logits)
		return hx_err(HEARTH_EINVAL, "sampler: logits are NULL");
	const int32_t n = s->n_vocab;
	const float *src = apply_penalties(s, logits);
	s->src = src;
	s->full = false;
	s->sorted = true;

	if (s->greedy) {
		float mx;
		const int32_t best = argmax(src, n, &mx);
		if (best < 0)
			return no_logit();
		s->mx = mx;
		s->cand[0] = (cand){best, mx};
		return s->n_cand = 1;
	}

	const int32_t k = s->p.top_k > 0 && s->p.top_k < n ? s->p.top_k : n;
	const float top_p = s->p.top_p, min_p = s->p.min_p;

	if (k <= DIRECT_K) {
		int32_t cnt = select_top_sorted(src, n, k, s->cand);
		if (cnt == 0 || s->cand[0].logit == -INFINITY)
			return no_logit();
		const float mx = s->mx = s->cand[0].logit;
		if (mx == INFINITY)
			return s->n_cand = 1;
		int32_t keep = cnt;
		if (top_p < 1.0f) {
			double z = 0.0, cum = 0.0;
			for (int32_t i = 0; i < cnt; i++)
				z += exp_neg(s->cand[i].logit - mx);
			const double target = (double)top_p * z;
			for (int32_t i = 0; i < cnt; i++) {
				cum += exp_neg(s->cand[i].logit - mx);
				if (cum >= target) {
					keep = i + 1;
					break;
				}
			}
		}
		if (min_p > 0.0f) {
			const float thr = mx + logf(min_p);
			int32_t i = 1;
			while (i < keep && s->cand[i].logit >= thr)
				i++;
			keep = i;
		}
		return s->n_cand = keep;
	}

	/* Many candidates: bound the survivors before ranking any of them. */
	const float mx = s->mx = max_of(src, n);
	if (mx == -INFINITY)
		return no_logit();
	if (mx == INFINITY) {
		s->cand[0] = (cand){first_equal(src, n, mx), mx};
		return s->n_cand = 1;
	}
	int32_t bound = k;
	bool by_min_p = false;
	float thr = -INFINITY;
	if (min_p > 0.0f) {
		thr = mx + logf(min_p);
		int32_t c = count_ge(src, n, thr);
		if (c <= bound) {
			bound = c;
			by_min_p = true;
		}
	}

	if (top_p >= 1.0f) {
		if (bound == n) {
			s->full = true;
			s->sorted = false;
			return s->n_cand = n;
		}
		int32_t cnt = 0;
		if (by_min_p) {
			for (int32_t i = 0; i < n; i++)
				if (src[i] >= thr)
					s->cand[cnt++] = (cand){i, src[i]};
		} else {
			cnt = select_top_unsorted(src, n, bound, mx, s->cand);
		}
		s->sorted = false;
		return s->n_cand = cnt;
	}

	/* top-p: the mass is normalized over the top-k survivors. */
	double z;
	if (k == n) {
		z = sum_exp_above(src, n, mx, 1.0f, -INFINITY, NULL);
	} else {
		const float t = rank_value(src, n, k, rank_floor(src, n, k, mx), (float *)s->cand);
		int32_t above = 0;
		z = sum_exp_above(src, n, mx, 1.0f, t, &above);
		if (t > -INFINITY)
			z += (double)(k - above) * exp_neg(t - mx);
	}
	const double target = (double)top_p * z;
	int32_t m = HX_MIN(bound, TOPP_FIRST);
	for (;;) {
		int32_t cnt = select_top_sorted(src, n, m, s->cand);
		double cum = 0.0;
		for (int32_t i = 0; i < cnt; i++) {
			cum += exp_neg(s->cand[i].logit - mx);
			if (cum >= target)
				return s->n_cand = i + 1;
		}
		if (m >= bound || cnt < m)
			return s->n_cand = cnt;
		m = m > bound / 8 ? bound : m * 8;
	}
}

/* 1 / temperature, kept finite so that 0 * scale stays 0 for the top logit. */
static float temp_scale(const hearth_sampler *s)
{
	float scale = 1.0f / s->p.temperature;
	return scale <= FLT_MAX ? scale : FLT_MAX;
}

/* Replaces the survivors' logits by their softmax weights at the sampler's
 * temperature and returns the weights' sum (>= 1: the top logit weighs 1).  For
 * `full`, returns the sum over src without storing anything. */
static double weigh(hearth_sampler *s)
{
	const float scale = temp_scale(s), mx = s->mx;
	if (s->full)
		return sum_exp_above(s->src, s->n_vocab, mx, scale, -INFINITY, NULL);
	double sum = 0.0;
	for (int32_t i = 0; i < s->n_cand; i++) {
		float w = exp_neg((s->cand[i].logit - mx) * scale);
		s->cand[i].logit = w;
		sum += w;
	}
	return sum;
}

/* The draw over the whole vocabulary: the first id whose cumulative weight
 * exceeds r, found block by block. */
static int32_t draw_full(const float *x, int32_t n, float mx, float scale, double r)
{
	double cum = 0.0;
	int32_t i = 0, last = -1;
	for (; i + VL <= n; i += VL) {
		vf w = vexp_neg((vload(x + i) - mx) * scale);
		double bs = 0.0;
		for (int j = 0; j < VL; j++)
			bs += w[j];
		if (bs == 0.0)
			continue;
		if (r < cum + bs) {
			for (int j = 0; j < VL; j++) {
				cum += w[j];
				if (w[j] > 0.0f && r < cum)
					return i + j;
			}
		} else {
			cum += bs;
		}
		for (int j = VL - 1; j >= 0; j--) {
			if (w[j] > 0.0f) {
				last = i + j;
				break;
			}
		}
	}
	for (; i < n; i++) {
		float w = exp_neg((x[i] - mx) * scale);
		if (w > 0.0f) {
			cum += w;
			last = i;
			if (r < cum)
				return i;
		}
	}
	return last; /* rounding left r at the very top */
}

int32_t hearth_sampler_sample(hearth_sampler *s, const float *logits)
{
	if (!s)
		return hx_err(HEARTH_EINVAL, "hearth_sampler_sample: sampler is NULL");
	int32_t n = prepare(s, logits);
	if (n < 0)
		return n;
	if (s->greedy)
		return s->cand[0].id;
	/* One draw per sampled token, even when a single token survives, so the
	 * generator's position never depends on the logits. */
	const double u = rng_uniform(s->rng);
	if (n == 1)
		return s->cand[0].id;
	const double r = u * weigh(s);
	if (s->full)
		return draw_full(s->src, n, s->mx, temp_scale(s), r);
	double cum = 0.0;
	int32_t last = 0;
	for (int32_t i = 0; i < n; i++) {
		const float w = s->cand[i].logit;
		if (w > 0.0f) {
			cum += w;
			last = i;
			if (r < cum)
				return s->cand[i].id;
		}
	}
	return s->cand[last].id; /* rounding left r at the very top */
}

static int cmp_rank(const void *a, const void *b)
{
	const cand *x = a, *y = b;
	return worse(*x, *y) ? 1 : worse(*y, *x) ? -1 : 0;
}

int32_t hearth_sampler_probs(hearth_sampler *s, const float *logits, hearth_token_prob *out, int32_t cap)
{
	if (!s)
		return hx_err(HEARTH_EINVAL, "hearth_sampler_probs: sampler is NULL");
	if (cap < 0 || (cap > 0 && !out))
		return hx_err(HEARTH_EINVAL, "hearth_sampler_probs: bad output buffer (cap %d)", (int)cap);
	int32_t n = prepare(s, logits);
	if (n < 0)
		return n;
	if (s->greedy || n == 1) {
		if (cap > 0)
			out[0] = (hearth_token_prob){s->cand[0].id, 1.0f};
		return 1;
	}
	if (s->full) {
		/* Rank the whole vocabulary (NaN entries have no probability: leave them out). */
		int32_t cnt = 0;
		for (int32_t i = 0; i < s->n_vocab; i++)
			if (s->src[i] == s->src[i])
				s->cand[cnt++] = (cand){i, s->src[i]};
		s->full = false;
		s->n_cand = n = cnt;
		s->sorted = false;
	}
	if (!s->sorted) {
		qsort(s->cand, (size_t)n, sizeof *s->cand, cmp_rank);
		s->sorted = true;
	}
	const double sum = weigh(s);
	for (int32_t i = 0; i < n && i < cap; i++)
		out[i] = (hearth_token_prob){s->cand[i].id, (float)(s->cand[i].logit / sum)};
	return n;
}
