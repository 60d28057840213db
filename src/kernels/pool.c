/*
 * pool.c - a small thread pool for the kernels: n-1 worker threads, the caller is
 * thread 0.
 *
 * A run publishes (fn, ctx) and bumps a generation counter.  Idle workers spin on
 * that counter for a short while (so back-to-back matmuls in a decode step cost a
 * few microseconds to dispatch, with no system call) and then sleep on a futex;
 * the caller only issues a wake-up system call when some worker is asleep.  The
 * caller waits for completion the same way.  kern_pool_barrier() is a
 * generation-counting barrier with the same spin-then-sleep wait.  Nothing is
 * allocated after kern_pool_create().
 */
#include "kernels/kernels.h"
#include "util/util.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* How long a waiting thread spins before it sleeps; a pool with more threads than
 * CPUs hardly spins, as the thread it waits for may need the CPU it spins on. */
#define SPIN_NS 200000
#define SPIN_NS_OVERSUBSCRIBED 2000

struct kern_pool {
	int n;
	int64_t spin_ns;
	pthread_t *threads;
	void (*fn)(void *ctx, int ith, int nth);
	void *ctx;
	_Alignas(64) atomic_uint gen;     /* bumped once per run (and at shutdown) */
	atomic_int gen_sleepers;
	_Alignas(64) atomic_uint pending; /* workers still running the current fn */
	atomic_uint done_gen;             /* bumped when pending reaches 0 */
	atomic_int done_sleepers;
	_Alignas(64) atomic_uint bar_count;
	atomic_uint bar_gen;
	atomic_int bar_sleepers;
	atomic_bool stop;
};

struct worker_arg {
	kern_pool *p;
	int ith;
};

static void futex_wait(atomic_uint *addr, unsigned val)
{
	syscall(SYS_futex, (unsigned *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(atomic_uint *addr)
{
	syscall(SYS_futex, (unsigned *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Waits until *addr != val: spins for up to SPIN_NS, then sleeps on the futex. */
static void wait_change(atomic_uint *addr, unsigned val, atomic_int *sleepers, int64_t spin_ns)
{
	int64_t t0 = 0;
	for (unsigned i = 0;; i++) {
		if (atomic_load_explicit(addr, memory_order_acquire) != val)
			return;
		cpu_relax();
		if ((i & 255) == 255) {
			int64_t now = hx_time_ns();
			if (!t0)
				t0 = now;
			else if (now - t0 > spin_ns)
				break;
		}
	}
	while (atomic_load_explicit(addr, memory_order_acquire) == val) {
		atomic_fetch_add(sleepers, 1);
		futex_wait(addr, val);
		atomic_fetch_sub(sleepers, 1);
	}
}

/* Bumps *addr and wakes sleepers if there are any. */
static void publish(atomic_uint *addr, atomic_int *sleepers)
{
	atomic_fetch_add(addr, 1);
	if (atomic_load(sleepers) > 0)
		futex_wake_all(addr);
}

static void *worker_main(void *arg)
{
	struct worker_arg *wa = arg;
	kern_pool *p = wa->p;
	int ith = wa->ith;
	unsigned seen = 0; /* gen was 0 at creation; a run may already be published */
	free(wa);
	for (;;) {
		wait_change(&p->gen, seen, &p->gen_sleepers, p->spin_ns);
		seen = atomic_load_explicit(&p->gen, memory_order_acquire);
		if (atomic_load(&p->stop))
			break;
		p->fn(p->ctx, ith, p->n);
		if (atomic_fetch_sub(&p->pending, 1) == 1)
			publish(&p->done_gen, &p->done_sleepers);
	}
	return NULL;
}

int kern_pool_create(int n_threads, kern_pool **out)
{
	*out = NULL;
	if (n_threads <= 0)
		n_threads = hx_n_cpus();
	if (n_threads > 1024)
		return hx_err(HEARTH_EINVAL, "thread pool: %d threads is too many", n_threads);
	kern_pool *p = hx_malloc_aligned(sizeof *p);
	if (!p)
		return HEARTH_ENOMEM;
	memset(p, 0, sizeof *p);
	p->n = n_threads;
	p->spin_ns = n_threads <= hx_n_cpus() ? SPIN_NS : SPIN_NS_OVERSUBSCRIBED;
	atomic_init(&p->gen, 0);
	atomic_init(&p->gen_sleepers, 0);
	atomic_init(&p->pending, 0);
	atomic_init(&p->done_gen, 0);
	atomic_init(&p->done_sleepers, 0);
	atomic_init(&p->bar_count, 0);
	atomic_init(&p->bar_gen, 0);
	atomic_init(&p->bar_sleepers, 0);
	atomic_init(&p->stop, false);
	if (n_threads > 1) {
		p->threads = hx_calloc((size_t)n_threads, sizeof *p->threads);
		if (!p->threads) {
			hx_free_aligned(p);
			return HEARTH_ENOMEM;
		}
	}
	for (int i = 1; i < n_threads; i++) {
		struct worker_arg *wa = hx_malloc(sizeof *wa);
		int rc = ENOMEM;
		if (wa) {
			wa->p = p;
			wa->ith = i;
			rc = pthread_create(&p->threads[i], NULL, worker_main, wa);
		}
		if (rc != 0) {
			free(wa);
			p->n = i; /* shut down the ones already started */
			kern_pool_free(p);
			return hx_err(HEARTH_ENOMEM, "thread pool: cannot start thread %d", i);
		}
	}
	*out = p;
	return 0;
}

void kern_pool_free(kern_pool *p)
{
	if (!p)
		return;
	if (p->n > 1) {
		atomic_store(&p->stop, true);
		publish(&p->gen, &p->gen_sleepers);
		for (int i = 1; i < p->n; i++)
			pthread_join(p->threads[i], NULL);
	}
	free(p->threads);
	hx_free_aligned(p);
}

int kern_pool_size(const kern_pool *p)
{
	return p ? p->n : 1;
}

void kern_pool_run(kern_pool *p, void (*fn)(void *ctx, int ith, int nth), void *ctx)
{
	if (!p || p->n == 1) {
		fn(ctx, 0, 1);
		return;
	}
	p->fn = fn;
	p->ctx = ctx;
	unsigned done = atomic_load(&p->done_gen);
	atomic_store(&p->pending, (unsigned)(p->n - 1));
	publish(&p->gen, &p->gen_sleepers);
	fn(ctx, 0, p->n);
	wait_change(&p->done_gen, done, &p->done_sleepers, p->spin_ns);
}

void kern_pool_barrier(kern_pool *p)
{
	if (!p || p->n == 1)
		return;
	unsigned g = atomic_load_explicit(&p->bar_gen, memory_order_acquire);
	if (atomic_fetch_add(&p->bar_count, 1) == (unsigned)(p->n - 1)) {
		atomic_store(&p->bar_count, 0);
		publish(&p->bar_gen, &p->bar_sleepers);
	} else {
		wait_change(&p->bar_gen, g, &p->bar_sleepers, p->spin_ns);
	}
}
