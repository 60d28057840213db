/*
 * transformer.c - the shared decoder-only transformer core used by every
 * architecture: pre-norm RMSNorm blocks, GQA attention with RoPE (NORM or NEOX,
 * or none on an architecture's NoPE layers), optional q/k/v biases, optional
 * per-head q/k RMS norms, a SwiGLU FFN, a final norm and the LM head.
 *
 * Numerics follow the reference (llama.cpp) so logits agree closely: RMSNorm
 * sums squares in double, RoPE angles advance by repeated multiplication in
 * float, softmax sums in double, and with an F16 KV cache the query and the
 * attention weights are rounded to F16 before they meet the cache, as the
 * reference's F16 matrix products do.  Every weight matrix goes through
 * kern_matmul, which quantizes activations for quantized weights.
 *
 * A chunk of n tokens is one matrix product per weight: x is [n, n_embd]
 * row-major.  In the last layer only rows whose logits are wanted continue past
 * the KV-cache write.
 */
#include "model/model.h"
#include "kernels/kernels.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct model_work {
	int32_t n_ub, n_ctx;
	kern_pool *pool;
	const kern_isa *isa;
	int n_threads;
	float *x;     /* [n_ub, n_embd] residual stream */
	float *xn;    /* [n_ub, max(n_embd, q_dim)] normed input / projection output */
	float *q;     /* [n_ub, n_head * head_dim] */
	float *k;     /* [n_ub, n_head_kv * head_dim] */
	float *v;     /* [n_ub, n_head_kv * head_dim] */
	float *att;   /* [n_ub, n_head * head_dim] */
	float *gate;  /* [n_ub, n_ff] */
	float *up;    /* [n_ub, n_ff] */
	float *rope;  /* [n_ub, n_rot]: (cos, sin) pairs */
	float *tscr;  /* per thread: n_ctx scores + 2 * head_dim */
	size_t tscr_stride;
	void *scratch; /* kern_matmul activation scratch */
	int32_t *rows; /* [n_ub] */
};

static void *alloc_f32(size_t n, bool *fail)
{
	void *p = hx_malloc_aligned(HX_MAX(n, (size_t)1) * sizeof(float));
	if (!p)
		*fail = true;
	return p;
}

static size_t mm_scratch(const hearth_gguf_tensor *t, int64_t m)
{
	return t ? kern_matmul_scratch_size(t->type, t->ne[0], m) : 0;
}

void model_work_free(struct model_work *w)
{
	if (!w)
		return;
	hx_free_aligned(w->x);
	hx_free_aligned(w->xn);
	hx_free_aligned(w->q);
	hx_free_aligned(w->k);
	hx_free_aligned(w->v);
	hx_free_aligned(w->att);
	hx_free_aligned(w->gate);
	hx_free_aligned(w->up);
	hx_free_aligned(w->rope);
	hx_free_aligned(w->tscr);
	hx_free_aligned(w->scratch);
	free(w->rows);
	free(w);
}

int model_work_create(const hearth_model *m, int32_t n_ub, int32_t n_ctx, kern_pool *pool, struct model_work **out)
{
	const struct model_hparams *hp = &m->hp;
	*out = NULL;
	if (n_ub < 1 || n_ctx < 1)
		return hx_err(HEARTH_EINVAL, "model_work_create: bad sizes");
	struct model_work *w = hx_calloc(1, sizeof *w);
	if (!w)
		return HEARTH_ENOMEM;
	w->n_ub = n_ub;
	w->n_ctx = n_ctx;
	w->pool = pool;
	w->isa = kern_isa_active();
	w->n_threads = pool ? kern_pool_size(pool) : 1;
	size_t ub = (size_t)n_ub, qd = (size_t)hp->n_head * hp->head_dim, kd = (size_t)hp->n_head_kv * hp->head_dim;
	bool fail = false;
	w->x = alloc_f32(ub * hp->n_embd, &fail);
	w->xn = alloc_f32(ub * HX_MAX((size_t)hp->n_embd, qd), &fail);
	w->q = alloc_f32(ub * qd, &fail);
	w->k = alloc_f32(ub * kd, &fail);
	w->v = alloc_f32(ub * kd, &fail);
	w->att = alloc_f32(ub * qd, &fail);
	w->gate = alloc_f32(ub * hp->n_ff, &fail);
	w->up = alloc_f32(ub * hp->n_ff, &fail);
	w->rope = alloc_f32(ub * hp->n_rot, &fail);
	/* Per thread, for the query heads sharing one KV head: n_ctx f32 scores and
	 * n_ctx + head_dim f16 values per head; rounded up to 16 floats so each
	 * thread's area starts on its own cache line. */
	const size_t gq = (size_t)(hp->n_head / hp->n_head_kv);
	w->tscr_stride = (gq * (size_t)n_ctx + (gq * ((size_t)n_ctx + (size_t)hp->head_dim) + 1) / 2 + 15) & ~(size_t)15;
	w->tscr = alloc_f32(w->tscr_stride * (size_t)w->n_threads, &fail);
	w->rows = hx_malloc(ub * sizeof(int32_t));
	if (!w->rows)
		fail = true;
	size_t ss = mm_scratch(m->output, n_ub);
	for (int il = 0; il < hp->n_layer; il++) {
		const struct model_layer *L = &m->layers[il];
		const hearth_gguf_tensor *ts[] = {L->wq, L->wk, L->wv, L->wo, L->ffn_gate, L->ffn_up, L->ffn_down};
		for (size_t i = 0; i < HX_ARRAY_LEN(ts); i++)
			ss = HX_MAX(ss, mm_scratch(ts[i], n_ub));
	}
	w->scratch = hx_malloc_aligned(HX_MAX(ss, (size_t)64));
	if (!w->scratch)
		fail = true;
	if (fail) {
		model_work_free(w);
		return hx_err(HEARTH_ENOMEM, "out of memory allocating working buffers for %d tokens", n_ub);
	}
	*out = w;
	return 0;
}

/* y[i] = (x[i] * 1/sqrt(mean(x^2) + eps)) * g[i], the reference's order. */
static void rms_norm(const float *x, const float *g, float *y, int64_t n, float eps)
{
	double sum = 0.0;
	for (int64_t i = 0; i < n; i++)
		sum += (double)(x[i] * x[i]);
	const float mean = (float)(sum / (double)n);
	const float scale = 1.0f / sqrtf(mean + eps);
	for (int64_t i = 0; i < n; i++)
		y[i] = (x[i] * scale) * g[i];
}

static void matmul(struct model_work *w, const hearth_gguf_tensor *t, const float *x, int32_t m, float *y)
{
	kern_matmul(w->pool, t->type, t->data, t->ne[0], t->ne[1], x, m, y, w->scratch);
}

/* y_i = x * W_i^T for weights that share the input: one pool run when they have
 * the same type and row length (the usual case), else one matmul each. */
static void matmul_shared(struct model_work *w, const hearth_gguf_tensor *const *t, float *const *y, int n,
                          const float *x, int32_t m)
{
	kern_mm_out o[KERN_MM_MAX_OUTS];
	bool same = n <= KERN_MM_MAX_OUTS;
	for (int i = 1; i < n && same; i++)
		same = t[i]->type == t[0]->type && t[i]->ne[0] == t[0]->ne[0];
	if (!same) {
		for (int i = 0; i < n; i++)
			matmul(w, t[i], x, m, y[i]);
		return;
	}
	for (int i = 0; i < n; i++)
		o[i] = (kern_mm_out){t[i]->data, t[i]->ne[1], y[i]};
	kern_matmul_multi(w->pool, t[0]->type, x, t[0]->ne[0], m, o, n, w->scratch);
}

static void add_bias(const hearth_gguf_tensor *b, float *y, int32_t m, int64_t n)
{
	if (!b)
		return;
	const float *bb = b->data;
	for (int32_t r = 0; r < m; r++)
		for (int64_t j = 0; j < n; j++)
			y[(size_t)r * n + j] += bb[j];
}

/* cos/sin for the rotated dimensions of position p (pairs i0 = 0, 2, ...). */
static void rope_angles(float *cs, int32_t p, int32_t n_rot, float base, float freq_scale, const float *ff)
{
	const float theta_scale = powf(base, -2.0f / (float)n_rot);
	float theta = (float)p;
	for (int32_t i0 = 0; i0 < n_rot; i0 += 2) {
		const float t = freq_scale * (ff ? theta / ff[i0 / 2] : theta);
		cs[i0] = cosf(t);
		cs[i0 + 1] = sinf(t);
		theta *= theta_scale;
	}
}

static void rope_apply(float *x, const float *cs, int32_t n_rot, enum model_rope mode)
{
	if (mode == MODEL_ROPE_NORM) {
		for (int32_t i0 = 0; i0 < n_rot; i0 += 2) {
			const float c = cs[i0], s = cs[i0 + 1];
			const float x0 = x[i0], x1 = x[i0 + 1];
			x[i0] = x0 * c - x1 * s;
			x[i0 + 1] = x0 * s + x1 * c;
		}
	} else {
		const int32_t half = n_rot / 2;
		for (int32_t i0 = 0; i0 < n_rot; i0 += 2) {
			const float c = cs[i0], s = cs[i0 + 1];
			const float x0 = x[i0 / 2], x1 = x[i0 / 2 + half];
			x[i0 / 2] = x0 * c - x1 * s;
			x[i0 / 2 + half] = x0 * s + x1 * c;
		}
	}
}

/* Row-parallel element-wise work: RMSNorm of rows and the SwiGLU product.
 * Each row is computed by one thread in a fixed way, so results do not depend
 * on the thread count. */
struct rows_job {
	enum { ROWS_NORM, ROWS_SWIGLU } op;
	int32_t n_rows;
	int64_t n;       /* row length */
	const float *x;  /* NORM input / SWIGLU gate (in place) */
	const float *g;  /* NORM weight / SWIGLU up */
	float *y;        /* output */
	float eps;
};

static void rows_worker(void *arg, int ith, int nth)
{
	const struct rows_job *J = arg;
	const int32_t r0 = (int32_t)((int64_t)J->n_rows * ith / nth), r1 = (int32_t)((int64_t)J->n_rows * (ith + 1) / nth);
	for (int32_t r = r0; r < r1; r++) {
		const float *x = J->x + (size_t)r * J->n;
		float *y = J->y + (size_t)r * J->n;
		if (J->op == ROWS_NORM) {
			rms_norm(x, J->g, y, J->n, J->eps);
		} else {
			const float *u = J->g + (size_t)r * J->n;
			for (int64_t i = 0; i < J->n; i++)
				y[i] = x[i] / (1.0f + expf(-x[i])) * u[i];
		}
	}
}

static void run_rows(struct model_work *w, struct rows_job *J)
{
	if (w->pool && J->n_rows > 1)
		kern_pool_run(w->pool, rows_worker, J);
	else
		rows_worker(J, 0, 1);
}

static void norm_rows(struct model_work *w, const float *x, const hearth_gguf_tensor *g, float *y, int32_t m,
                      int64_t n, float eps)
{
	struct rows_job J = {ROWS_NORM, m, n, x, g->data, y, eps};
	run_rows(w, &J);
}

struct attn_job {
	const hearth_model *m;
	struct model_work *w;
	const struct model_kv *kv;
	int il;
	int32_t n_rows;
	const int32_t *rows; /* chunk index of each output row; NULL = identity */
	const int32_t *pos, *seq;
};

/* Attention for every (row, KV head) pair, split across the pool.  Both products
 * go through the kernel table's matrix kernels, with the query heads that share
 * the KV head as columns (the cache rows are read once for all of them; a
 * kernel's result per column does not depend on the column count): scores = K q
 * over the cached rows [pos][head_dim], and out = V^T p over the transposed V
 * cache [head_dim][n_ctx].  With an F16 cache q and p are rounded to F16 first
 * (the F16 kernels' activation type), as the reference's F16 products do. */
static void attn_worker(void *arg, int ith, int nth)
{
	const struct attn_job *J = arg;
	const struct model_hparams *hp = &J->m->hp;
	const struct model_kv *kv = J->kv;
	struct model_work *w = J->w;
	const kern_isa *isa = w->isa;
	const int32_t hd = hp->head_dim, n_head = hp->n_head, gqa = hp->n_head / hp->n_head_kv;
	const size_t qd = (size_t)n_head * hd;
	const float scale = 1.0f / sqrtf((float)hd);
	const bool f16 = kv->type == HEARTH_TYPE_F16;
	const kern_mm_fn mm = isa->mm[kv->type];
	float *sc = w->tscr + w->tscr_stride * (size_t)ith;   /* gqa x n_kv scores */
	hx_f16 *p16 = (hx_f16 *)(sc + (size_t)gqa * kv->n_ctx); /* gqa x n_kv halves */
	hx_f16 *q16 = p16 + (size_t)gqa * kv->n_ctx;            /* gqa x head_dim halves */
	const int64_t total = (int64_t)J->n_rows * hp->n_head_kv;
	const int64_t i0 = total * ith / nth, i1 = total * (ith + 1) / nth;
	const size_t head_elems = (size_t)kv->n_ctx * hd;

	for (int64_t it = i0; it < i1; it++) {
		const int32_t r = (int32_t)(it / hp->n_head_kv), kvh = (int32_t)(it % hp->n_head_kv), h0 = kvh * gqa;
		const int32_t t = J->rows ? J->rows[r] : r;
		const int32_t p = J->pos[t], s = J->seq[t];
		const size_t base = ((((size_t)J->il * kv->n_seq + (size_t)s) * hp->n_head_kv) + (size_t)kvh) * head_elems;
		const float *qv = w->q + (size_t)t * qd + (size_t)h0 * hd;
		float *out = w->att + (size_t)r * qd + (size_t)h0 * hd;
		const int32_t n_kv = p + 1;
		const uint8_t *kc = (const uint8_t *)kv->k + base * kv->elt;
		const uint8_t *vt = (const uint8_t *)kv->v + base * kv->elt;

		if (f16) {
			isa->f32_to_f16(qv, q16, (int64_t)gqa * hd);
			mm(hd, n_kv, gqa, sc, (size_t)n_kv, kc, (size_t)hd * 2, q16, (size_t)hd * 2);
		} else {
			mm(hd, n_kv, gqa, sc, (size_t)n_kv, kc, (size_t)hd * 4, qv, (size_t)hd * 4);
		}
		for (int32_t g = 0; g < gqa; g++)
			isa->softmax_f32(sc + (size_t)g * n_kv, n_kv, scale);
		if (f16) {
			isa->f32_to_f16(sc, p16, (int64_t)gqa * n_kv);
			mm(n_kv, hd, gqa, out, (size_t)hd, vt, (size_t)kv->n_ctx * 2, p16, (size_t)n_kv * 2);
		} else {
			mm(n_kv, hd, gqa, out, (size_t)hd, vt, (size_t)kv->n_ctx * 4, sc, (size_t)n_kv * 4);
		}
	}
}

/* Stores the chunk's K rows ([pos][head_dim]) and V columns (V is kept
 * transposed, [head_dim][n_ctx]) into the cache. */
static void kv_store(const struct model_hparams *hp, const struct model_kv *kv, const kern_isa *isa, int il,
                     const float *k, const float *v, int32_t n, const int32_t *pos, const int32_t *seq)
{
	const int32_t hd = hp->head_dim;
	const size_t kd = (size_t)hp->n_head_kv * hd, head_elems = (size_t)kv->n_ctx * hd;
	for (int32_t t = 0; t < n; t++) {
		for (int32_t h = 0; h < hp->n_head_kv; h++) {
			const size_t base = (((size_t)il * kv->n_seq + (size_t)seq[t]) * hp->n_head_kv + (size_t)h) * head_elems;
			const size_t koff = base + (size_t)pos[t] * hd, voff = base + (size_t)pos[t];
			const float *ks = k + (size_t)t * kd + (size_t)h * hd, *vs = v + (size_t)t * kd + (size_t)h * hd;
			if (kv->type == HEARTH_TYPE_F16) {
				hx_f16 *vc = (hx_f16 *)kv->v + voff;
				isa->f32_to_f16(ks, (hx_f16 *)kv->k + koff, hd);
				for (int32_t d = 0; d < hd; d++)
					vc[(size_t)d * kv->n_ctx] = hx_f32_to_f16(vs[d]);
			} else {
				float *vc = (float *)kv->v + voff;
				memcpy((float *)kv->k + koff, ks, (size_t)hd * sizeof(float));
				for (int32_t d = 0; d < hd; d++)
					vc[(size_t)d * kv->n_ctx] = vs[d];
			}
		}
	}
}

int model_forward(const hearth_model *m, struct model_work *w, const struct model_kv *kv, int32_t n,
                  const int32_t *tok, const int32_t *pos, const int32_t *seq, int32_t n_out, const int32_t *out_idx,
                  float *logits, hearth_abort_fn abort_fn, void *abort_user)
{
	const struct model_hparams *hp = &m->hp;
	const struct model_arch *a = m->arch;
	const int64_t E = hp->n_embd, F = hp->n_ff;
	const int32_t hd = hp->head_dim;
	const size_t qd = (size_t)hp->n_head * hd, kd = (size_t)hp->n_head_kv * hd;
	HX_ASSERT(n >= 1 && n <= w->n_ub && n_out >= 0 && n_out <= n);

	/* Embeddings: one dequantized row per token. */
	const size_t erow = kern_row_size(m->tok_embd->type, E);
	for (int32_t t = 0; t < n; t++)
		kern_dequant_row(m->tok_embd->type, (const uint8_t *)m->tok_embd->data + (size_t)tok[t] * erow,
		                 w->x + (size_t)t * E, E);
	for (int32_t t = 0; t < n; t++)
		rope_angles(w->rope + (size_t)t * hp->n_rot, pos[t], hp->n_rot, hp->rope_freq_base, hp->rope_freq_scale,
		            m->rope_freqs ? (const float *)m->rope_freqs->data : NULL);

	for (int il = 0; il < hp->n_layer; il++) {
		const struct model_layer *L = &m->layers[il];
		const bool last = il == hp->n_layer - 1;
		if (abort_fn && abort_fn(abort_user))
			return hx_err(HEARTH_ECANCELED, "decode cancelled");

		norm_rows(w, w->x, L->attn_norm, w->xn, n, E, hp->eps);
		const hearth_gguf_tensor *qkv[] = {L->wq, L->wk, L->wv};
		float *qkv_out[] = {w->q, w->k, w->v};
		matmul_shared(w, qkv, qkv_out, 3, w->xn, n);
		add_bias(L->bq, w->q, n, (int64_t)qd);
		add_bias(L->bk, w->k, n, (int64_t)kd);
		add_bias(L->bv, w->v, n, (int64_t)kd);
		if (L->q_norm) {
			for (size_t i = 0; i < (size_t)n * hp->n_head; i++)
				rms_norm(w->q + i * hd, L->q_norm->data, w->q + i * hd, hd, hp->eps);
			for (size_t i = 0; i < (size_t)n * hp->n_head_kv; i++)
				rms_norm(w->k + i * hd, L->k_norm->data, w->k + i * hd, hd, hp->eps);
		}
		if (L->use_rope) {
			for (int32_t t = 0; t < n; t++) {
				const float *cs = w->rope + (size_t)t * hp->n_rot;
				for (int32_t h = 0; h < hp->n_head; h++)
					rope_apply(w->q + (size_t)t * qd + (size_t)h * hd, cs, hp->n_rot, a->rope);
				for (int32_t h = 0; h < hp->n_head_kv; h++)
					rope_apply(w->k + (size_t)t * kd + (size_t)h * hd, cs, hp->n_rot, a->rope);
			}
		}
		kv_store(hp, kv, w->isa, il, w->k, w->v, n, pos, seq);

		/* Rows that continue: all of them, or in the last layer only the outputs. */
		const int32_t *rows = NULL;
		int32_t nr = n;
		if (last) {
			rows = out_idx;
			nr = n_out;
			if (nr == 0)
				return 0;
		}
		struct attn_job job = {m, w, kv, il, nr, rows, pos, seq};
		if (w->pool && nr * hp->n_head_kv > 1)
			kern_pool_run(w->pool, attn_worker, &job);
		else
			attn_worker(&job, 0, 1);

		matmul(w, L->wo, w->att, nr, w->xn);
		for (int32_t r = 0; r < nr; r++) {
			const int32_t t = rows ? rows[r] : r;
			float *xr = w->x + (size_t)r * E;
			const float *xs = w->x + (size_t)t * E, *o = w->xn + (size_t)r * E;
			for (int64_t i = 0; i < E; i++)
				xr[i] = xs[i] + o[i];
		}

		norm_rows(w, w->x, L->ffn_norm, w->xn, nr, E, hp->eps);
		const hearth_gguf_tensor *gu[] = {L->ffn_gate, L->ffn_up};
		float *gu_out[] = {w->gate, w->up};
		matmul_shared(w, gu, gu_out, 2, w->xn, nr);
		struct rows_job sw = {ROWS_SWIGLU, nr, F, w->gate, w->up, w->gate, 0};
		run_rows(w, &sw);
		matmul(w, L->ffn_down, w->gate, nr, w->xn);
		for (size_t i = 0; i < (size_t)nr * E; i++)
			w->x[i] += w->xn[i];
	}

	/* After the last layer x holds exactly the n_out output rows. */
	norm_rows(w, w->x, m->output_norm, w->xn, n_out, E, hp->eps);
	matmul(w, m->output, w->xn, n_out, logits);
	return 0;
}
