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
 *    quickselect when only k (or min-p) truncates, and for top-p grows a sorted
 *    prefix (256, x8, ...) until it holds the wanted probability mass;
 *  - with every truncation off the draw runs over the logits directly.
 * The logits are copied only when a penalty applies (to patch the penalized
 * entries); every buffer is allocated by hearth_sampler_create().
 *
 * History.  Accepted tokens go into a ring of repeat_last_n entries (or no ring
 * for -1: everything since reset counts) with a per-id count and a list of the
 * ids whose count is non-zero, so applying penalties costs O(distinct ids).
 *
 * Random numbers: xoshiro256** seeded by splitmix64, 53-bit uniform doubles; the
 * sequence depends only on the seed.  (The probabilities come from expf(), whose
 * last-bit accuracy is the C library's, so two platforms could in principle
 * disagree on a draw that falls within an ulp of a boundary.)
 */
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

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
	bool greedy; /* temperature <= 0 */
	bool pen_on; /* some penalty is active and the window is not empty */
	uint64_t seed; /* the seed in use */
	uint64_t rng[4]; /* xoshiro256** state */

	cand *cand;      /* (n_vocab) survivors; also scratch floats for quickselect */
	int32_t n_cand;  /* survivors in cand[], or n_vocab with `full` */
	bool sorted;     /* cand[0..n_cand) is in rank order */
	bool full;       /* no truncation: the survivors are all of `src` */
	const float *src; /* the logits of the current call (penalized copy or caller's) */

	/* penalty state, allocated only when pen_on */
	float *work;        /* (n_vocab) penalized copy of the logits */
	uint32_t *count;    /* (n_vocab) occurrences of each id in the window */
	int32_t *distinct;  /* (n_vocab) the ids with count > 0, n_distinct of them */
	int32_t *dpos;      /* (n_vocab) index of an id in distinct[] */
	int32_t n_distinct;
	int32_t *ring;      /* (ring_cap) the window, oldest at ring_w once full */
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

static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

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
static double rng_uniform(uint64_t st[4]) { return (double)(rng_next(st) >> 11) * 0x1.0p-53; }

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
		return hx_err(HEARTH_EINVAL,
		              "repeat_last_n must be -1 (all tokens), 0 (off) or 1..%d, got %d",
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
	if (n_vocab <= 0)
		return hx_err(HEARTH_EINVAL, "sampler: the vocabulary size must be positive, got %d", (int)n_vocab);

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

uint64_t hearth_sampler_seed(const hearth_sampler *s) { return s ? s->seed : 0; }

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

/* ---- selection ----------------------------------------------------------------- */

/* True when a ranks below b: smaller logit, or equal logit and larger id. */
static inline bool worse(cand a, cand b) { return a.logit < b.logit || (a.logit == b.logit && a.id > b.id); }

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
		/* Blocks of 16 whose entries all fail `> thr` cost one vectorizable test;
		 * a later equal logit never displaces an earlier id, hence strict. */
		for (; i + 16 <= n; i += 16) {
			int any = 0;
			for (int j = 0; j < 16; j++)
				any |= src[i + j] > thr;
			if (!any)
				continue;
			for (int j = 0; j < 16; j++) {
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

/* The logit of rank m-1 in src (NaN ranked as -inf), using scratch (n floats). */
static float rank_value(const float *src, int32_t n, int32_t m, float *scratch)
{
	for (int32_t i = 0; i < n; i++)
		scratch[i] = src[i] == src[i] ? src[i] : -INFINITY;
	return kth_largest(scratch, n, m - 1);
}

/* Puts the m best-ranked entries of src into out[], unsorted, in O(n); returns
 * how many (NaN entries are never taken). */
static int32_t select_top_unsorted(const float *src, int32_t n, int32_t m, cand *out)
{
	float t = rank_value(src, n, m, (float *)out);
	int32_t above = 0;
	for (int32_t i = 0; i < n; i++)
		above += src[i] > t;
	int32_t ties = m - above, cnt = 0;
	for (int32_t i = 0; i < n; i++) {
		float v = src[i];
		if (v > t || (v == t && ties-- > 0))
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
 * s->full) with their logits, and returns their count (>= 1) or an error. */
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
		int32_t best = -1;
		float bv = -INFINITY;
		for (int32_t i = 0; i < n; i++) {
			if (src[i] > bv) {
				bv = src[i];
				best = i;
			}
		}
		if (best < 0)
			return no_logit();
		s->cand[0] = (cand){best, bv};
		return s->n_cand = 1;
	}

	const int32_t k = s->p.top_k > 0 && s->p.top_k < n ? s->p.top_k : n;
	const float top_p = s->p.top_p, min_p = s->p.min_p;

	if (k <= DIRECT_K) {
		int32_t cnt = select_top_sorted(src, n, k, s->cand);
		if (cnt == 0 || s->cand[0].logit == -INFINITY)
			return no_logit();
		const float mx = s->cand[0].logit;
		if (mx == INFINITY)
			return s->n_cand = 1;
		int32_t keep = cnt;
		if (top_p < 1.0f) {
			double z = 0.0, cum = 0.0;
			for (int32_t i = 0; i < cnt; i++)
				z += expf(s->cand[i].logit - mx);
			const double target = (double)top_p * z;
			for (int32_t i = 0; i < cnt; i++) {
				cum += expf(s->cand[i].logit - mx);
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
	float mx = -INFINITY;
	for (int32_t i = 0; i < n; i++)
		mx = src[i] > mx ? src[i] : mx;
	if (mx == -INFINITY)
		return no_logit();
	if (mx == INFINITY) {
		select_top_sorted(src, n, 1, s->cand);
		return s->n_cand = 1;
	}
	int32_t bound = k;
	bool by_min_p = false;
	float thr = -INFINITY;
	if (min_p > 0.0f) {
		thr = mx + logf(min_p);
		int32_t c = 0;
		for (int32_t i = 0; i < n; i++)
			c += src[i] >= thr;
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
			cnt = select_top_unsorted(src, n, bound, s->cand);
		}
		s->sorted = false;
		return s->n_cand = cnt;
	}

	/* top-p: the mass is normalized over the top-k survivors. */
	double z = 0.0;
	if (k == n) {
		for (int32_t i = 0; i < n; i++)
			if (src[i] > -INFINITY)
				z += expf(src[i] - mx);
	} else {
		const float t = rank_value(src, n, k, (float *)s->cand);
		int32_t above = 0;
		for (int32_t i = 0; i < n; i++) {
			if (src[i] > t) {
				z += expf(src[i] - mx);
				above++;
			}
		}
		if (t > -INFINITY)
			z += (double)(k - above) * expf(t - mx);
	}
	const double target = (double)top_p * z;
	int32_t m = HX_MIN(bound, TOPP_FIRST);
	for (;;) {
		int32_t cnt = select_top_sorted(src, n, m, s->cand);
		double cum = 0.0;
		for (int32_t i = 0; i < cnt; i++) {
			cum += expf(s->cand[i].logit - mx);
			if (cum >= target)
				return s->n_cand = i + 1;
		}
		if (m >= bound || cnt < m)
			return s->n_cand = cnt;
		m = m > bound / 8 ? bound : m * 8;
	}
}

/* Replaces the survivors' logits by their softmax weights at the sampler's
 * temperature and returns the weights' sum (> 0).  For `full`, returns the sum
 * over src without storing anything. */
static double weigh(hearth_sampler *s)
{
	const float inv_t = 1.0f / s->p.temperature;
	double sum = 0.0;
	if (s->full) {
		const float *src = s->src;
		float mx = -INFINITY;
		for (int32_t i = 0; i < s->n_vocab; i++)
			mx = src[i] > mx ? src[i] : mx;
		for (int32_t i = 0; i < s->n_vocab; i++)
			if (src[i] > -INFINITY)
				sum += expf((src[i] - mx) * inv_t);
		return sum;
	}
	float mx = s->cand[0].logit;
	if (!s->sorted)
		for (int32_t i = 1; i < s->n_cand; i++)
			mx = s->cand[i].logit > mx ? s->cand[i].logit : mx;
	for (int32_t i = 0; i < s->n_cand; i++) {
		float w = s->cand[i].logit > -INFINITY ? expf((s->cand[i].logit - mx) * inv_t) : 0.0f;
		s->cand[i].logit = w;
		sum += w;
	}
	return sum;
}

int32_t hearth_sampler_sample(hearth_sampler *s, const float *logits)
{
	if (!s)
		return hx_err(HEARTH_EINVAL, "hearth_sampler_sample: sampler is NULL");
	int32_t n = prepare(s, logits);
	if (n < 0)
		return n;
	if (s->greedy || n == 1)
		return s->cand[0].id;

	const double u = rng_uniform(s->rng);
	const double sum = weigh(s);
	const double r = u * sum;
	double cum = 0.0;
	int32_t last = -1;
	if (s->full) {
		const float *src = s->src;
		const float inv_t = 1.0f / s->p.temperature;
		float mx = -INFINITY;
		for (int32_t i = 0; i < n; i++)
			mx = src[i] > mx ? src[i] : mx;
		for (int32_t i = 0; i < n; i++) {
			if (!(src[i] > -INFINITY))
				continue;
			float w = expf((src[i] - mx) * inv_t);
			cum += w;
			if (w > 0.0f)
				last = i;
			if (r < cum)
				return i;
		}
		return last;
	}
	for (int32_t i = 0; i < n; i++) {
		cum += s->cand[i].logit;
		if (s->cand[i].logit > 0.0f)
			last = i;
		if (r < cum)
			return s->cand[i].id;
	}
	/* Rounding left r at the very top: the last token with weight. */
	return s->cand[last >= 0 ? last : 0].id;
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
