/*
 * matmul.c - y = x * W^T over the thread pool.
 *
 * Two phases inside one pool run:
 *   1. the M activation rows are converted to the weight type's activation type
 *      (kern_vec_dot_type) into `scratch`, rows split across threads;
 *   2. after a barrier, the output is cut into work items of (a chunk of weight
 *      rows) x (a block of activation columns), each item being one call of the
 *      active table's `mm`.
 * The items are split into one contiguous range per thread (up to MM_PARTS);
 * each thread takes the items of its own range in order from that range's
 * counter, then helps with the other ranges the same way.  A thread thus streams
 * one contiguous stretch of the weights, and a tile's prefetch of the next rows
 * fetches rows that same thread reads next: items handed out round-robin from one
 * shared counter made the two threads of a decode step read alternate 28 KiB
 * pieces, each starting cold, and the F16 matrix-vector products reached only
 * about 80% of the bandwidth they reach this way.  For one activation row (decode)
 * the caller converts it before the run, which saves the barrier.
 * kern_matmul_multi runs several matrices that share the input (q/k/v, FFN gate
 * and up) as one pool run over all their items: one dispatch and one wait
 * instead of several, and the small ones no longer each end in a ragged tail.
 * The item shape depends only on (N, M), never on the thread count, and each
 * output element is produced by exactly one mm call on identical inputs, so the
 * result bits are the same for any number of threads.
 */
#include "kernels/kernels.h"
#include "util/util.h"

#include <stdatomic.h>
#include <string.h>

size_t kern_matmul_scratch_size(int type, int64_t K, int64_t M)
{
	int at = kern_vec_dot_type(type);
	if (at < 0 || at == HEARTH_TYPE_F32 || K <= 0 || M <= 0)
		return 0;
	return kern_row_size(at, K) * (size_t)M;
}

#define MM_PARTS 16

/* One thread's range of items; each on its own cache line, so a thread working on
 * its own range does not share its counter's line with anyone until others help. */
struct mm_part {
	_Alignas(64) atomic_llong next;
	int64_t end;
};

/* One weight matrix of a run: its items are [first, first + n_items) of the run. */
struct mm_out {
	const char *w;
	int64_t N;
	float *y;
	int64_t n_row_items, n_items, first;
};

struct mm_ctx {
	struct mm_part parts[MM_PARTS];
	int n_parts;
	bool convert; /* phase 1 runs in the pool */
	kern_pool *pool;
	kern_mm_fn mm;
	kern_act_fn act;
	size_t ldw;
	int64_t K, M;
	const float *x;
	const char *a; /* converted activations (or x itself for F32) */
	char *scratch;
	size_t lda;
	int64_t rows_per_item, cols_per_item;
	int n_outs;
	struct mm_out outs[KERN_MM_MAX_OUTS];
};

static void mm_item(const struct mm_ctx *c, int64_t it)
{
	const struct mm_out *o = c->outs;
	while (it >= o->first + o->n_items)
		o++;
	it -= o->first;
	/* row-chunk major: consecutive items share weight rows, keeping them in cache */
	int64_t ri = it / (o->n_items / o->n_row_items), ci = it % (o->n_items / o->n_row_items);
	int64_t r0 = ri * c->rows_per_item, c0 = ci * c->cols_per_item;
	int nr = (int)HX_MIN(c->rows_per_item, o->N - r0);
	int nc = (int)HX_MIN(c->cols_per_item, c->M - c0);
	c->mm(c->K, nr, nc, o->y + c0 * o->N + r0, (size_t)o->N, o->w + (size_t)r0 * c->ldw, c->ldw,
	      c->a + (size_t)c0 * c->lda, c->lda);
}

static void mm_worker(void *arg, int ith, int nth)
{
	struct mm_ctx *c = arg;
	if (c->convert) {
		for (int64_t m = ith; m < c->M; m += nth)
			c->act(c->x + m * c->K, c->scratch + (size_t)m * c->lda, c->K);
		kern_pool_barrier(c->pool);
	}
	for (int k = 0; k < c->n_parts; k++) {
		struct mm_part *p = &c->parts[(ith + k) % c->n_parts];
		for (;;) {
			int64_t it = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
			if (it >= p->end)
				break;
			mm_item(c, it);
		}
	}
}

void kern_matmul_multi(kern_pool *pool, int type, const float *x, int64_t K, int64_t M, const kern_mm_out *outs,
                       int n_outs, void *scratch)
{
	HX_ASSERT(n_outs >= 1 && n_outs <= KERN_MM_MAX_OUTS);
	if (M <= 0)
		return;
	const kern_isa *isa = kern_isa_active();
	int at = kern_vec_dot_type(type);
	HX_ASSERT(at >= 0 && isa->mm[type] && isa->act[at] && K > 0);
	HX_ASSERT(K % hearth_type_block_size(type) == 0 && K % hearth_type_block_size(at) == 0);
	struct mm_ctx c;
	memset(&c, 0, sizeof c);
	c.pool = pool;
	c.mm = isa->mm[type];
	c.act = isa->act[at];
	c.ldw = kern_row_size(type, K);
	c.K = K;
	c.M = M;
	c.x = x;
	/* Work items: 16 weight rows for decode (enough items to balance two or more
	 * threads even for small N), 32 rows x 64 columns for batches. */
	if (M == 1) {
		c.rows_per_item = 16;
		c.cols_per_item = 1;
	} else {
		c.rows_per_item = 32;
		c.cols_per_item = 64;
	}
	int64_t n_items = 0;
	for (int i = 0; i < n_outs; i++) {
		if (outs[i].N <= 0)
			continue;
		struct mm_out *o = &c.outs[c.n_outs++];
		o->w = outs[i].w;
		o->N = outs[i].N;
		o->y = outs[i].y;
		o->n_row_items = (o->N + c.rows_per_item - 1) / c.rows_per_item;
		o->n_items = o->n_row_items * ((M + c.cols_per_item - 1) / c.cols_per_item);
		o->first = n_items;
		n_items += o->n_items;
	}
	if (!n_items)
		return;
	if (at == HEARTH_TYPE_F32) {
		c.a = (const char *)x;
		c.lda = (size_t)K * sizeof(float);
	} else {
		HX_ASSERT(scratch);
		c.scratch = scratch;
		c.a = scratch;
		c.lda = kern_row_size(at, K);
		if (M == 1)
			c.act(x, scratch, K);
		else
			c.convert = true;
	}
	c.n_parts = (int)HX_MIN(HX_MIN((int64_t)kern_pool_size(pool), (int64_t)MM_PARTS), n_items);
	for (int p = 0; p < c.n_parts; p++) {
		atomic_init(&c.parts[p].next, n_items * p / c.n_parts);
		c.parts[p].end = n_items * (p + 1) / c.n_parts;
	}
	kern_pool_run(pool, mm_worker, &c);
}

void kern_matmul(kern_pool *pool, int type, const void *w, int64_t K, int64_t N, const float *x, int64_t M,
                 float *y, void *scratch)
{
	const kern_mm_out o = {w, N, y};
	kern_matmul_multi(pool, type, x, K, M, &o, 1, scratch);
}
