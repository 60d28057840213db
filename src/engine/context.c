/*
 * context.c - inference contexts: the KV cache for several independent
 * sequences, batches, and hearth_ctx_decode(), which validates a batch, splits it
 * into chunks of n_batch tokens and runs the model's forward pass on each.
 *
 * Each sequence owns n_ctx positions of the cache; a sequence's length is the
 * only state besides the cache contents, so truncation and clearing are O(1).
 * Every buffer is allocated at creation except the logits, which grow (and stay)
 * when a batch asks for more outputs than any before.
 */
#include "kernels/kernels.h"
#include "model/model.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

#define CTX_DEFAULT_CAP 4096
#define CTX_MAX_POSITIONS (1 << 24)

struct hearth_ctx {
	const hearth_model *model;
	int32_t n_ctx, n_seq_max, n_batch;
	int n_threads;
	kern_pool *pool;
	struct model_work *work;
	struct model_kv kv;
	int32_t *seq_len;  /* [n_seq_max] */
	int32_t *seq_next; /* [n_seq_max] scratch for validation */
	hearth_abort_fn abort_fn;
	void *abort_user;
	/* logits of the last decode */
	float *logits;       /* [logits_cap, n_vocab] */
	int32_t logits_cap;  /* rows */
	int32_t *out_of;     /* [out_cap] batch entry -> logits row, or -1 */
	int32_t out_cap;
	int32_t n_entries;   /* entries in the last decoded batch */
	int32_t last_out;    /* batch index of the last output, or -1 */
	int32_t *chunk_out;  /* [n_batch] chunk-local output indices */
};

hearth_ctx_params hearth_ctx_default_params(void)
{
	hearth_ctx_params p = {
		.n_ctx = 0,
		.n_seq_max = 1,
		.n_batch = 512,
		.kv_type = HEARTH_TYPE_F16,
		.n_threads = 0,
	};
	return p;
}

void hearth_ctx_free(hearth_ctx *ctx)
{
	if (!ctx)
		return;
	model_work_free(ctx->work);
	kern_pool_free(ctx->pool);
	hx_free_aligned(ctx->kv.k);
	hx_free_aligned(ctx->kv.v);
	free(ctx->seq_len);
	free(ctx->seq_next);
	hx_free_aligned(ctx->logits);
	free(ctx->out_of);
	free(ctx->chunk_out);
	free(ctx);
}

/* Grows the logits buffer to hold `rows` rows of n_vocab. */
static int ensure_logits(hearth_ctx *ctx, int32_t rows)
{
	if (rows <= ctx->logits_cap)
		return 0;
	uint64_t bytes;
	if (hx_mul_u64((uint64_t)rows, (uint64_t)ctx->model->hp.n_vocab * sizeof(float), &bytes) || bytes > SIZE_MAX)
		return hx_err(HEARTH_ENOMEM, "logits for %d positions do not fit in memory", rows);
	float *p = hx_malloc_aligned((size_t)bytes);
	if (!p)
		return hx_err(HEARTH_ENOMEM, "out of memory allocating logits for %d positions (%llu MB)", rows,
		              (unsigned long long)(bytes >> 20));
	hx_free_aligned(ctx->logits);
	ctx->logits = p;
	ctx->logits_cap = rows;
	return 0;
}

static int ensure_out_map(hearth_ctx *ctx, int32_t n)
{
	if (n <= ctx->out_cap)
		return 0;
	int32_t *p = hx_malloc((size_t)n * sizeof *p);
	if (!p)
		return HEARTH_ENOMEM;
	free(ctx->out_of);
	ctx->out_of = p;
	ctx->out_cap = n;
	return 0;
}

int hearth_ctx_create(const hearth_model *model, const hearth_ctx_params *params, hearth_ctx **out)
{
	if (!model || !out)
		return hx_err(HEARTH_EINVAL, "hearth_ctx_create: model and out are required");
	*out = NULL;
	hearth_ctx_params p = params ? *params : hearth_ctx_default_params();
	const struct model_hparams *hp = &model->hp;
	if (p.n_ctx < 0 || p.n_ctx > CTX_MAX_POSITIONS)
		return hx_err(HEARTH_EINVAL, "n_ctx %d is out of range (1 to %d, or 0 for the model's)", p.n_ctx,
		              CTX_MAX_POSITIONS);
	if (p.n_ctx == 0)
		p.n_ctx = HX_MIN(hp->n_ctx_train, CTX_DEFAULT_CAP);
	if (p.n_seq_max == 0)
		p.n_seq_max = 1;
	if (p.n_seq_max < 1 || p.n_seq_max > 1024)
		return hx_err(HEARTH_EINVAL, "n_seq_max %d is out of range (1 to 1024)", p.n_seq_max);
	if (p.n_batch == 0)
		p.n_batch = 512;
	if (p.n_batch < 1 || p.n_batch > 65536)
		return hx_err(HEARTH_EINVAL, "n_batch %d is out of range (1 to 65536)", p.n_batch);
	if (p.kv_type != HEARTH_TYPE_F16 && p.kv_type != HEARTH_TYPE_F32)
		return hx_err(HEARTH_EINVAL, "kv_type must be F16 or F32");
	if (p.n_threads == 0)
		p.n_threads = model->n_threads;
	if (p.n_threads < 0 || p.n_threads > 1024)
		return hx_err(HEARTH_EINVAL, "n_threads %d is out of range (0 to 1024)", p.n_threads);
	/* A chunk never needs more rows than the cache can hold. */
	int64_t total_pos = (int64_t)p.n_ctx * p.n_seq_max;
	int32_t n_ub = (int32_t)HX_MIN((int64_t)p.n_batch, total_pos);

	uint64_t kv_elems, kv_bytes;
	size_t elt = p.kv_type == HEARTH_TYPE_F16 ? 2 : 4;
	if (hx_mul_u64((uint64_t)hp->n_layer * (uint64_t)hp->n_head_kv * (uint64_t)hp->head_dim, (uint64_t)total_pos,
	               &kv_elems) ||
	    hx_mul_u64(kv_elems, elt, &kv_bytes) || kv_bytes > SIZE_MAX / 2)
		return hx_err(HEARTH_ENOMEM, "a KV cache of %d x %d positions does not fit in memory", p.n_seq_max,
		              p.n_ctx);

	hearth_ctx *ctx = hx_calloc(1, sizeof *ctx);
	if (!ctx)
		return HEARTH_ENOMEM;
	ctx->model = model;
	ctx->n_ctx = p.n_ctx;
	ctx->n_seq_max = p.n_seq_max;
	ctx->n_batch = n_ub;
	ctx->last_out = -1;
	ctx->kv.type = p.kv_type;
	ctx->kv.elt = elt;
	ctx->kv.n_ctx = p.n_ctx;
	ctx->kv.n_seq = p.n_seq_max;
	int rc = kern_pool_create(p.n_threads, &ctx->pool);
	if (rc)
		goto fail;
	ctx->n_threads = kern_pool_size(ctx->pool);
	ctx->kv.k = hx_malloc_aligned((size_t)kv_bytes);
	ctx->kv.v = hx_malloc_aligned((size_t)kv_bytes);
	ctx->seq_len = hx_calloc((size_t)p.n_seq_max, sizeof(int32_t));
	ctx->seq_next = hx_calloc((size_t)p.n_seq_max, sizeof(int32_t));
	ctx->chunk_out = hx_malloc((size_t)n_ub * sizeof(int32_t));
	if (!ctx->kv.k || !ctx->kv.v || !ctx->seq_len || !ctx->seq_next || !ctx->chunk_out) {
		rc = hx_err(HEARTH_ENOMEM, "out of memory allocating a %llu MB KV cache",
		            (unsigned long long)(2 * kv_bytes >> 20));
		goto fail;
	}
	if ((rc = model_work_create(model, n_ub, p.n_ctx, ctx->pool, &ctx->work)))
		goto fail;
	if ((rc = ensure_logits(ctx, p.n_seq_max)) || (rc = ensure_out_map(ctx, HX_MAX(p.n_seq_max, 64))))
		goto fail;
	*out = ctx;
	return 0;
fail:
	hearth_ctx_free(ctx);
	return rc;
}

const hearth_model *hearth_ctx_model(const hearth_ctx *ctx) { return ctx->model; }
int32_t hearth_ctx_n_ctx(const hearth_ctx *ctx) { return ctx->n_ctx; }
int32_t hearth_ctx_n_seq_max(const hearth_ctx *ctx) { return ctx->n_seq_max; }
int hearth_ctx_n_threads(const hearth_ctx *ctx) { return ctx->n_threads; }

void hearth_ctx_set_abort(hearth_ctx *ctx, hearth_abort_fn fn, void *user)
{
	ctx->abort_fn = fn;
	ctx->abort_user = user;
}

int32_t hearth_ctx_seq_len(const hearth_ctx *ctx, int32_t seq)
{
	if (seq < 0 || seq >= ctx->n_seq_max)
		return 0;
	return ctx->seq_len[seq];
}

int hearth_ctx_seq_clear(hearth_ctx *ctx, int32_t seq)
{
	return hearth_ctx_seq_truncate(ctx, seq, 0);
}

int hearth_ctx_seq_truncate(hearth_ctx *ctx, int32_t seq, int32_t n_keep)
{
	if (seq < 0 || seq >= ctx->n_seq_max)
		return hx_err(HEARTH_EINVAL, "sequence id %d is out of range (0 to %d)", seq, ctx->n_seq_max - 1);
	if (n_keep < 0)
		return hx_err(HEARTH_EINVAL, "cannot keep %d positions", n_keep);
	if (n_keep < ctx->seq_len[seq])
		ctx->seq_len[seq] = n_keep;
	return 0;
}

/* ---- batches ---- */

int hearth_batch_init(hearth_batch *b, int32_t capacity)
{
	if (!b)
		return hx_err(HEARTH_EINVAL, "hearth_batch_init: no batch");
	memset(b, 0, sizeof *b);
	if (capacity < 1 || capacity > (1 << 26))
		return hx_err(HEARTH_EINVAL, "batch capacity %d is out of range (1 to %d)", capacity, 1 << 26);
	size_t n = (size_t)capacity;
	b->token = hx_malloc(n * sizeof *b->token);
	b->pos = hx_malloc(n * sizeof *b->pos);
	b->seq_id = hx_malloc(n * sizeof *b->seq_id);
	b->want_logits = hx_malloc(n * sizeof *b->want_logits);
	if (!b->token || !b->pos || !b->seq_id || !b->want_logits) {
		hearth_batch_free(b);
		return HEARTH_ENOMEM;
	}
	b->capacity = capacity;
	return 0;
}

void hearth_batch_free(hearth_batch *b)
{
	if (!b)
		return;
	free(b->token);
	free(b->pos);
	free(b->seq_id);
	free(b->want_logits);
	memset(b, 0, sizeof *b);
}

void hearth_batch_clear(hearth_batch *b) { b->n_tokens = 0; }

int hearth_batch_add(hearth_batch *b, hearth_token token, int32_t pos, int32_t seq_id, bool want_logits)
{
	if (b->n_tokens >= b->capacity)
		return hx_err(HEARTH_ELIMIT, "batch is full (%d entries)", b->capacity);
	int32_t i = b->n_tokens++;
	b->token[i] = token;
	b->pos[i] = pos;
	b->seq_id[i] = seq_id;
	b->want_logits[i] = want_logits;
	return 0;
}

/* ---- decoding ---- */

static int validate(hearth_ctx *ctx, const hearth_batch *b, int32_t *n_out)
{
	const int32_t n_vocab = ctx->model->hp.n_vocab;
	if (!b || b->n_tokens < 1 || b->n_tokens > b->capacity || !b->token || !b->pos || !b->seq_id ||
	    !b->want_logits)
		return hx_err(HEARTH_EINVAL, "decode: the batch is empty or malformed");
	memcpy(ctx->seq_next, ctx->seq_len, (size_t)ctx->n_seq_max * sizeof(int32_t));
	int32_t outs = 0;
	for (int32_t i = 0; i < b->n_tokens; i++) {
		const int32_t s = b->seq_id[i];
		if (b->token[i] < 0 || b->token[i] >= n_vocab)
			return hx_err(HEARTH_EINVAL, "batch entry %d: token id %d is outside the vocabulary (0 to %d)", i,
			              b->token[i], n_vocab - 1);
		if (s < 0 || s >= ctx->n_seq_max)
			return hx_err(HEARTH_EINVAL, "batch entry %d: sequence id %d is out of range (0 to %d)", i, s,
			              ctx->n_seq_max - 1);
		if (b->pos[i] != ctx->seq_next[s])
			return hx_err(HEARTH_EINVAL,
			              "batch entry %d: position %d of sequence %d is not the next one (expected %d)", i,
			              b->pos[i], s, ctx->seq_next[s]);
		if (ctx->seq_next[s] >= ctx->n_ctx)
			return hx_err(HEARTH_ECTXFULL,
			              "context full: sequence %d would need more than its %d positions (n_ctx); nothing "
			              "was evaluated",
			              s, ctx->n_ctx);
		ctx->seq_next[s]++;
		outs += b->want_logits[i] ? 1 : 0;
	}
	*n_out = outs;
	return 0;
}

int hearth_ctx_decode(hearth_ctx *ctx, const hearth_batch *batch)
{
	if (!ctx)
		return hx_err(HEARTH_EINVAL, "decode: no context");
	ctx->n_entries = 0;
	ctx->last_out = -1;
	int32_t n_out = 0;
	int rc = validate(ctx, batch, &n_out);
	if (rc)
		return rc;
	if ((rc = ensure_logits(ctx, n_out)) || (rc = ensure_out_map(ctx, batch->n_tokens)))
		return rc;

	const int32_t n = batch->n_tokens;
	int32_t row = 0;
	for (int32_t c0 = 0; c0 < n; c0 += ctx->n_batch) {
		const int32_t cn = HX_MIN(ctx->n_batch, n - c0);
		if (c0 > 0 && ctx->abort_fn && ctx->abort_fn(ctx->abort_user)) {
			rc = hx_err(HEARTH_ECANCELED, "decode cancelled");
			break;
		}
		int32_t co = 0;
		for (int32_t i = 0; i < cn; i++) {
			if (batch->want_logits[c0 + i]) {
				ctx->chunk_out[co++] = i;
				ctx->out_of[c0 + i] = row + co - 1;
			} else {
				ctx->out_of[c0 + i] = -1;
			}
		}
		rc = model_forward(ctx->model, ctx->work, &ctx->kv, cn, batch->token + c0, batch->pos + c0,
		                   batch->seq_id + c0, co, ctx->chunk_out,
		                   ctx->logits + (size_t)row * (size_t)ctx->model->hp.n_vocab, ctx->abort_fn,
		                   ctx->abort_user);
		if (rc)
			break;
		row += co;
	}
	if (rc)
		return rc; /* seq_len untouched: the sequences are as before the call */
	memcpy(ctx->seq_len, ctx->seq_next, (size_t)ctx->n_seq_max * sizeof(int32_t));
	ctx->n_entries = n;
	for (int32_t i = n - 1; i >= 0; i--) {
		if (ctx->out_of[i] >= 0) {
			ctx->last_out = i;
			break;
		}
	}
	return 0;
}

const float *hearth_ctx_logits(const hearth_ctx *ctx, int32_t i)
{
	if (!ctx)
		return NULL;
	if (i == -1)
		i = ctx->last_out;
	if (i < 0 || i >= ctx->n_entries || ctx->out_of[i] < 0)
		return NULL;
	return ctx->logits + (size_t)ctx->out_of[i] * (size_t)ctx->model->hp.n_vocab;
}
