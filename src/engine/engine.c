/*
 * engine.c - the generation engine: a continuous-batching scheduler for one
 * model.
 *
 * One engine thread owns the context.  Each iteration of its loop:
 *   1. (under the lock) drops cancelled requests still in the queue and admits
 *      queued requests into free slots, choosing the slot whose cached tokens
 *      share the longest prefix with the prompt (prompt cache);
 *   2. finishes running requests whose cancel flag is set;
 *   3. builds ONE batch: the pending token of every generating slot, then up to
 *      n_batch prompt tokens of slots still prefilling (n_batch_shared while any
 *      slot is generating: a long prompt is spread over several iterations, so
 *      the other slots keep generating meanwhile);
 *   4. runs hearth_ctx_decode() once (weights are read once per step), with an
 *      abort callback that fires when a request in the batch is cancelled;
 *   5. samples each slot's next token, detokenizes it, feeds the stop-string
 *      matcher and the reasoning splitter, and emits events.
 *
 * Callbacks are always called on the engine thread with no lock held, so they
 * may call hearth_engine_submit/cancel/stats_get.  Each slot keeps a mirror of
 * the tokens its KV sequence holds (the prompt cache); the last sampled token of
 * a finished request is never decoded, so it is not part of the mirror.
 */
#include "util/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENG_MAX_SLOTS 256
#define ENG_MAX_QUEUE 65536
#define ENG_DEFAULT_QUEUE 64

struct eng_req {
	struct eng_req *next; /* queue link */
	uint64_t id;
	hearth_token *prompt;
	int32_t n_prompt;
	hearth_sampler_params sp;
	hearth_stop *stop;
	int32_t max_tokens;
	bool ignore_eog, reasoning, start_in_reasoning;
	hearth_gen_fn cb;
	void *user;
	atomic_bool cancel;
	double t_submit, t_admit, t_prompt;
	hearth_gen_stats st;
};

struct eng_slot {
	int32_t idx;
	struct eng_req *req;  /* NULL: free */
	hearth_token *cache;  /* [n_ctx] tokens held by the KV sequence */
	int32_t n_cache;
	int32_t n_done;       /* prompt tokens evaluated (index into req->prompt) */
	bool generating;      /* prompt done; `next` waits to be decoded */
	hearth_token next;
	int32_t bidx;         /* batch entry whose logits this slot needs, or -1 */
	uint64_t last_used;
	hearth_sampler *smp;
	hearth_detok *detok;
	hearth_think *th;     /* reasoning splitter */
};

struct hearth_engine {
	const hearth_model *model;
	const hearth_vocab *vocab;
	hearth_ctx *ctx;
	int32_t n_slots, n_ctx, n_batch, n_batch_shared, max_queue, n_vocab;
	struct eng_slot *slots;
	hearth_batch batch;
	pthread_t thread;
	bool thread_started;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool quit;
	struct eng_req *q_head, *q_tail;
	int32_t q_len;
	bool pending_cancel;  /* a queued request was cancelled: wake and sweep */
	uint64_t next_id;
	hearth_engine_stats stats;

	uint64_t use_clock;   /* engine thread only */
	atomic_bool abort_now;
};

hearth_engine_params hearth_engine_default_params(void)
{
	hearth_engine_params p = {
		.n_slots = 1,
		.n_ctx = 0,
		.n_batch = 512,
		.max_queue = ENG_DEFAULT_QUEUE,
		.n_batch_shared = 128,
		.kv_type = HEARTH_TYPE_F16,
		.n_threads = 0,
	};
	return p;
}

hearth_gen_request hearth_gen_request_default(void)
{
	hearth_gen_request r;
	memset(&r, 0, sizeof r);
	r.sampler = hearth_sampler_default_params();
	return r;
}

const char *hearth_finish_name(int finish)
{
	switch (finish) {
	case HEARTH_FINISH_STOP:
		return "stop";
	case HEARTH_FINISH_LENGTH:
		return "length";
	case HEARTH_FINISH_CANCELED:
		return "cancelled";
	case HEARTH_FINISH_ERROR:
		return "error";
	default:
		return "";
	}
}

static void req_free(struct eng_req *r)
{
	if (!r)
		return;
	hearth_stop_free(r->stop);
	free(r->prompt);
	free(r);
}

/* ---- events ------------------------------------------------------------------ */

/* Sends a text or PROMPT event; returns true when the callback asked to cancel. */
static bool emit(struct eng_req *r, enum hearth_gen_event_kind kind, const char *text, size_t len)
{
	if (kind != HEARTH_GEN_PROMPT && len == 0)
		return false;
	hearth_gen_event ev = {
		.kind = kind, .id = r->id, .text = text ? text : "", .len = len, .stop_index = -1, .message = "",
		.stats = &r->st,
	};
	if (r->cb(&ev, r->user)) {
		atomic_store(&r->cancel, true);
		return true;
	}
	return false;
}

struct think_sink {
	struct eng_req *req;
	bool cancel; /* a callback asked to cancel: emit nothing more */
};

/* hearth_think's output: CONTENT / REASONING events. */
static void think_emit(void *user, enum hearth_think_part part, const char *text, size_t len)
{
	struct think_sink *k = user;
	if (!k->cancel)
		k->cancel = emit(k->req, part == HEARTH_THINK_REASONING ? HEARTH_GEN_REASONING : HEARTH_GEN_CONTENT,
		                 text, len);
}

/* Passes text that cleared the stop matcher on to the reasoning splitter (or
 * straight out); final flushes what the splitter holds.  Returns true when a
 * callback asked to cancel. */
static bool slot_text(struct eng_slot *s, const char *text, size_t len, bool final)
{
	struct eng_req *r = s->req;
	if (!r->reasoning)
		return len && emit(r, HEARTH_GEN_CONTENT, text, len);
	struct think_sink k = {r, false};
	if (len)
		hearth_think_feed(s->th, text, len, think_emit, &k);
	if (final && !k.cancel)
		hearth_think_finish(s->th, think_emit, &k);
	return k.cancel;
}

/* ---- slots -------------------------------------------------------------------- */

/* Ends the slot's request: flushes held text for STOP/LENGTH, sends DONE, frees it. */
static void slot_finish(hearth_engine *e, struct eng_slot *s, enum hearth_finish fin, int err, const char *msg)
{
	struct eng_req *r = s->req;
	double now = hx_time_s();
	int stop_index = -1;
	if (fin == HEARTH_FINISH_STOP || fin == HEARTH_FINISH_LENGTH) {
		const char *t;
		size_t n;
		bool cancel = false;
		if (hearth_detok_flush(s->detok, &t, &n) == 0 && n) {
			const char *em;
			size_t en;
			if (hearth_stop_feed(r->stop, t, n, &em, &en) >= 0)
				cancel = slot_text(s, em, en, false);
		}
		const char *em;
		size_t en;
		if (!cancel && hearth_stop_flush(r->stop, &em, &en) == 0)
			cancel = slot_text(s, em, en, false);
		if (!cancel)
			slot_text(s, NULL, 0, true);
		stop_index = hearth_stop_matched(r->stop);
	}
	hearth_detok_reset(s->detok);
	if (r->t_prompt > 0)
		r->st.gen_ms = (now - r->t_prompt) * 1e3;
	else if (r->t_admit > 0)
		r->st.prompt_ms = (now - r->t_admit) * 1e3;
	pthread_mutex_lock(&e->mu);
	e->stats.slots_busy--;
	e->stats.n_done++;
	if (fin == HEARTH_FINISH_CANCELED)
		e->stats.n_canceled++;
	if (fin == HEARTH_FINISH_ERROR)
		e->stats.n_errors++;
	e->stats.n_prompt_tokens += (uint64_t)r->st.n_prompt;
	e->stats.n_cached_tokens += (uint64_t)r->st.n_cached;
	e->stats.n_gen_tokens += (uint64_t)r->st.n_gen;
	e->stats.prompt_ms += r->st.prompt_ms;
	e->stats.gen_ms += r->st.gen_ms;
	s->req = NULL; /* under the lock: hearth_engine_cancel reads it */
	pthread_mutex_unlock(&e->mu);
	hearth_gen_event ev = {
		.kind = HEARTH_GEN_DONE, .id = r->id, .text = "", .finish = fin, .error = err,
		.message = msg ? msg : "", .stop_index = stop_index, .stats = &r->st,
	};
	r->cb(&ev, r->user);

	hearth_sampler_free(s->smp);
	s->smp = NULL;
	req_free(r);
	s->generating = false;
	s->bidx = -1;
	s->last_used = ++e->use_clock;
}

/* A request that never reached a slot (cancelled in the queue or at shutdown). */
static void finish_unadmitted(hearth_engine *e, struct eng_req *r)
{
	hearth_gen_event ev = {
		.kind = HEARTH_GEN_DONE, .id = r->id, .text = "", .finish = HEARTH_FINISH_CANCELED,
		.message = "", .stop_index = -1, .stats = &r->st,
	};
	r->st.queue_ms = (hx_time_s() - r->t_submit) * 1e3;
	pthread_mutex_lock(&e->mu);
	e->stats.n_done++;
	e->stats.n_canceled++;
	pthread_mutex_unlock(&e->mu);
	r->cb(&ev, r->user);
	req_free(r);
}

static int32_t common_prefix(const hearth_token *a, int32_t na, const hearth_token *b, int32_t nb)
{
	int32_t n = HX_MIN(na, nb), i = 0;
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* Picks the free slot for `r`: the longest cached prefix wins; without any
 * overlap an empty slot, else the least recently used one. */
static struct eng_slot *pick_slot(hearth_engine *e, const struct eng_req *r)
{
	struct eng_slot *best = NULL;
	int32_t best_lcp = 0;
	for (int32_t i = 0; i < e->n_slots; i++) {
		struct eng_slot *s = &e->slots[i];
		if (s->req)
			continue;
		int32_t l = common_prefix(s->cache, s->n_cache, r->prompt, r->n_prompt);
		if (l > best_lcp || (l == best_lcp && l > 0 && best && s->last_used < best->last_used)) {
			best = s;
			best_lcp = l;
		}
	}
	if (best)
		return best;
	for (int32_t i = 0; i < e->n_slots; i++) {
		struct eng_slot *s = &e->slots[i];
		if (s->req)
			continue;
		if (!best || (s->n_cache == 0 && best->n_cache != 0) ||
		    ((s->n_cache == 0) == (best->n_cache == 0) && s->last_used < best->last_used))
			best = s;
	}
	return best;
}

/* Puts `r` into slot `s`: reuses the common prefix of the KV, creates the sampler. */
static int slot_start(hearth_engine *e, struct eng_slot *s, struct eng_req *r)
{
	s->req = r;
	r->t_admit = hx_time_s();
	r->st.queue_ms = (r->t_admit - r->t_submit) * 1e3;
	r->st.slot = s->idx;
	/* Keep at least one prompt token to evaluate: its logits give the first token. */
	int32_t keep = common_prefix(s->cache, s->n_cache, r->prompt, r->n_prompt);
	if (keep >= r->n_prompt)
		keep = r->n_prompt - 1;
	hearth_ctx_seq_truncate(e->ctx, s->idx, keep);
	s->n_cache = keep;
	s->n_done = keep;
	r->st.n_cached = keep;
	s->generating = false;
	s->bidx = -1;
	hearth_think_reset(s->th, r->start_in_reasoning);
	hearth_detok_reset(s->detok);
	int rc = hearth_sampler_create(&r->sp, e->n_vocab, &s->smp);
	if (rc)
		return rc;
	for (int32_t i = 0; i < r->n_prompt; i++)
		hearth_sampler_accept(s->smp, r->prompt[i]);
	return 0;
}

/* Handles the token sampled for slot `s`. */
static void slot_token(hearth_engine *e, struct eng_slot *s, hearth_token tok)
{
	struct eng_req *r = s->req;
	double now = hx_time_s();
	if (r->st.n_gen == 0)
		r->st.ttft_ms = (now - r->t_submit) * 1e3;
	r->st.n_gen++;
	hearth_sampler_accept(s->smp, tok);
	if (!r->ignore_eog && hearth_vocab_is_eog(e->vocab, tok)) {
		slot_finish(e, s, HEARTH_FINISH_STOP, 0, NULL);
		return;
	}
	const char *t;
	size_t n;
	int rc = hearth_detok_push(s->detok, tok, &t, &n);
	if (rc) {
		slot_finish(e, s, HEARTH_FINISH_ERROR, rc, hearth_errmsg());
		return;
	}
	const char *em;
	size_t en;
	rc = hearth_stop_feed(r->stop, t, n, &em, &en);
	if (rc < 0) {
		slot_finish(e, s, HEARTH_FINISH_ERROR, rc, hearth_errmsg());
		return;
	}
	bool cancel = slot_text(s, em, en, false);
	if (rc == 1) {
		slot_finish(e, s, HEARTH_FINISH_STOP, 0, NULL);
		return;
	}
	if (cancel || atomic_load(&r->cancel)) {
		slot_finish(e, s, HEARTH_FINISH_CANCELED, 0, NULL);
		return;
	}
	if (r->max_tokens > 0 && r->st.n_gen >= r->max_tokens) {
		slot_finish(e, s, HEARTH_FINISH_LENGTH, 0, NULL);
		return;
	}
	if (s->n_cache >= e->n_ctx) { /* no room to decode this token: context full */
		slot_finish(e, s, HEARTH_FINISH_LENGTH, 0, NULL);
		return;
	}
	s->next = tok;
	s->generating = true;
}

/* ---- the engine thread ---------------------------------------------------------- */

static bool eng_abort(void *user)
{
	hearth_engine *e = user;
	if (atomic_load(&e->abort_now))
		return true;
	for (int32_t i = 0; i < e->n_slots; i++) {
		struct eng_slot *s = &e->slots[i];
		if (s->req && s->bidx >= 0 && atomic_load(&s->req->cancel))
			return true;
	}
	return false;
}

/* Under the lock: removes cancelled requests from the queue into *out. */
static void sweep_queue(hearth_engine *e, struct eng_req **out)
{
	struct eng_req **pp = &e->q_head, *last = NULL;
	while (*pp) {
		struct eng_req *r = *pp;
		if (e->quit || atomic_load(&r->cancel)) {
			*pp = r->next;
			r->next = *out;
			*out = r;
			e->q_len--;
		} else {
			last = r;
			pp = &r->next;
		}
	}
	e->q_tail = last;
	e->pending_cancel = false;
}

static bool any_active(const hearth_engine *e)
{
	for (int32_t i = 0; i < e->n_slots; i++)
		if (e->slots[i].req)
			return true;
	return false;
}

static void *eng_main(void *arg)
{
	hearth_engine *e = arg;
	for (;;) {
		/* 1. queue: sweep cancellations, admit into free slots. */
		struct eng_req *dropped = NULL, *admitted = NULL, **adm_tail = &admitted;
		struct eng_slot *adm_slot[ENG_MAX_SLOTS];
		int n_adm = 0;
		pthread_mutex_lock(&e->mu);
		while (!e->quit && !e->q_head && !any_active(e))
			pthread_cond_wait(&e->cv, &e->mu);
		bool quit = e->quit;
		if (quit || e->pending_cancel)
			sweep_queue(e, &dropped);
		while (!quit && e->q_head) {
			struct eng_slot *s = pick_slot(e, e->q_head);
			if (!s)
				break;
			struct eng_req *r = e->q_head;
			e->q_head = r->next;
			if (!e->q_head)
				e->q_tail = NULL;
			e->q_len--;
			r->next = NULL;
			s->req = r; /* reserve; slot_start fills the rest */
			adm_slot[n_adm++] = s;
			*adm_tail = r;
			adm_tail = &r->next;
			e->stats.slots_busy++;
		}
		pthread_mutex_unlock(&e->mu);

		while (dropped) {
			struct eng_req *r = dropped;
			dropped = r->next;
			finish_unadmitted(e, r);
		}
		for (int i = 0; i < n_adm; i++) {
			struct eng_slot *s = adm_slot[i];
			struct eng_req *r = s->req;
			int rc = slot_start(e, s, r);
			if (rc)
				slot_finish(e, s, HEARTH_FINISH_ERROR, rc, hearth_errmsg());
		}

		/* 2. cancellations of running requests (and shutdown). */
		for (int32_t i = 0; i < e->n_slots; i++) {
			struct eng_slot *s = &e->slots[i];
			if (s->req && (quit || atomic_load(&s->req->cancel)))
				slot_finish(e, s, HEARTH_FINISH_CANCELED, 0, NULL);
		}
		if (quit)
			break;

		/* 3. one batch: every generating slot's next token, then prompt chunks. */
		hearth_batch *b = &e->batch;
		hearth_batch_clear(b);
		for (int32_t i = 0; i < e->n_slots; i++) {
			struct eng_slot *s = &e->slots[i];
			s->bidx = -1;
			if (!s->req || !s->generating)
				continue;
			s->bidx = b->n_tokens;
			hearth_batch_add(b, s->next, s->n_cache, s->idx, true);
		}
		/* While others generate, prompt chunks are smaller so their tokens keep flowing. */
		int32_t budget = b->n_tokens ? HX_MIN(e->n_batch, e->n_batch_shared) : e->n_batch;
		/* Prefill the slots in admission order (oldest request first). */
		for (;;) {
			struct eng_slot *pick = NULL;
			for (int32_t i = 0; i < e->n_slots; i++) {
				struct eng_slot *s = &e->slots[i];
				if (!s->req || s->generating || s->bidx >= 0 || s->n_done >= s->req->n_prompt)
					continue;
				if (!pick || s->req->id < pick->req->id)
					pick = s;
			}
			if (!pick || budget <= 0)
				break;
			struct eng_req *r = pick->req;
			int32_t take = HX_MIN(budget, r->n_prompt - pick->n_done);
			for (int32_t k = 0; k < take; k++) {
				int32_t pi = pick->n_done + k;
				bool last = pi == r->n_prompt - 1;
				if (last)
					pick->bidx = b->n_tokens;
				hearth_batch_add(b, r->prompt[pi], pick->n_cache + k, pick->idx, last);
			}
			if (pick->bidx < 0)
				pick->bidx = INT32_MAX; /* in the batch, no logits wanted */
			budget -= take;
		}
		if (b->n_tokens == 0)
			continue;

		/* 4. decode. */
		int rc = hearth_ctx_decode(e->ctx, b);
		pthread_mutex_lock(&e->mu);
		e->stats.n_steps++;
		pthread_mutex_unlock(&e->mu);
		if (rc == HEARTH_ECANCELED) {
			for (int32_t i = 0; i < e->n_slots; i++)
				e->slots[i].bidx = -1;
			continue; /* nothing changed; step 2 finishes the cancelled ones */
		}
		if (rc) {
			char msg[256];
			snprintf(msg, sizeof msg, "%s", hearth_errmsg());
			for (int32_t i = 0; i < e->n_slots; i++) {
				struct eng_slot *s = &e->slots[i];
				if (s->req && s->bidx >= 0)
					slot_finish(e, s, HEARTH_FINISH_ERROR, rc, msg);
			}
			continue;
		}

		/* 5. bookkeeping, sampling, events. */
		for (int32_t i = 0; i < b->n_tokens; i++) {
			struct eng_slot *s = &e->slots[b->seq_id[i]];
			s->cache[s->n_cache++] = b->token[i];
		}
		double now = hx_time_s();
		for (int32_t i = 0; i < e->n_slots; i++) {
			struct eng_slot *s = &e->slots[i];
			if (!s->req || s->bidx < 0)
				continue;
			struct eng_req *r = s->req;
			if (!s->generating) {
				/* prompt chunk: count what went in */
				s->n_done = HX_MIN(r->n_prompt, s->n_cache);
				if (s->n_done < r->n_prompt) {
					s->bidx = -1;
					continue;
				}
				r->t_prompt = now;
				r->st.prompt_ms = (now - r->t_admit) * 1e3;
				if (emit(r, HEARTH_GEN_PROMPT, NULL, 0) || atomic_load(&r->cancel)) {
					slot_finish(e, s, HEARTH_FINISH_CANCELED, 0, NULL);
					continue;
				}
			}
			const float *logits = hearth_ctx_logits(e->ctx, s->bidx);
			s->bidx = -1;
			int32_t tok = logits ? hearth_sampler_sample(s->smp, logits) : HEARTH_EINVAL;
			if (tok < 0) {
				slot_finish(e, s, HEARTH_FINISH_ERROR, tok, "sampling failed: the logits hold no number");
				continue;
			}
			slot_token(e, s, tok);
		}
	}
	return NULL;
}

/* ---- public API ---------------------------------------------------------------- */

int hearth_engine_create(const hearth_model *model, const hearth_vocab *vocab, const hearth_engine_params *params,
                         hearth_engine **out)
{
	if (!out)
		return hx_err(HEARTH_EINVAL, "hearth_engine_create: out is required");
	*out = NULL;
	if (!model || !vocab)
		return hx_err(HEARTH_EINVAL, "hearth_engine_create: a model and a vocabulary are required");
	hearth_engine_params p = params ? *params : hearth_engine_default_params();
	if (p.n_slots == 0)
		p.n_slots = 1;
	if (p.n_slots < 1 || p.n_slots > ENG_MAX_SLOTS)
		return hx_err(HEARTH_EINVAL, "n_slots %d is out of range (1 to %d)", p.n_slots, ENG_MAX_SLOTS);
	if (p.n_batch == 0)
		p.n_batch = 512;
	if (p.n_batch < 1 || p.n_batch > 65536)
		return hx_err(HEARTH_EINVAL, "n_batch %d is out of range (1 to 65536)", p.n_batch);
	if (p.n_batch_shared == 0)
		p.n_batch_shared = 128;
	if (p.n_batch_shared < 1 || p.n_batch_shared > 65536)
		return hx_err(HEARTH_EINVAL, "n_batch_shared %d is out of range (1 to 65536)", p.n_batch_shared);
	if (p.max_queue == 0)
		p.max_queue = ENG_DEFAULT_QUEUE;
	if (p.max_queue < 1 || p.max_queue > ENG_MAX_QUEUE)
		return hx_err(HEARTH_EINVAL, "max_queue %d is out of range (1 to %d)", p.max_queue, ENG_MAX_QUEUE);
	if (hearth_vocab_n_tokens(vocab) > hearth_model_n_vocab(model))
		return hx_err(HEARTH_EINVAL, "the vocabulary has %d tokens but the model only %d",
		              hearth_vocab_n_tokens(vocab), hearth_model_n_vocab(model));

	hearth_engine *e = hx_calloc(1, sizeof *e);
	if (!e)
		return HEARTH_ENOMEM;
	e->model = model;
	e->vocab = vocab;
	e->n_slots = p.n_slots;
	e->n_batch = p.n_batch;
	e->n_batch_shared = p.n_batch_shared;
	e->max_queue = p.max_queue;
	e->n_vocab = hearth_model_n_vocab(model);
	e->next_id = 1;
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	atomic_init(&e->abort_now, false);

	hearth_ctx_params cp = hearth_ctx_default_params();
	cp.n_ctx = p.n_ctx;
	cp.n_seq_max = p.n_slots;
	cp.n_batch = p.n_batch + p.n_slots; /* one step is one internal chunk */
	cp.kv_type = p.kv_type;
	cp.n_threads = p.n_threads;
	int rc = hearth_ctx_create(model, &cp, &e->ctx);
	if (rc)
		goto fail;
	e->n_ctx = hearth_ctx_n_ctx(e->ctx);
	hearth_ctx_set_abort(e->ctx, eng_abort, e);
	if ((rc = hearth_batch_init(&e->batch, p.n_batch + p.n_slots)))
		goto fail;
	e->slots = hx_calloc((size_t)p.n_slots, sizeof *e->slots);
	if (!e->slots) {
		rc = HEARTH_ENOMEM;
		goto fail;
	}
	for (int32_t i = 0; i < p.n_slots; i++) {
		struct eng_slot *s = &e->slots[i];
		s->idx = i;
		s->bidx = -1;
		s->cache = hx_malloc((size_t)e->n_ctx * sizeof(hearth_token));
		if (!s->cache) {
			rc = HEARTH_ENOMEM;
			goto fail;
		}
		if ((rc = hearth_detok_create(vocab, 0, &s->detok)))
			goto fail;
		hearth_think_params tp = hearth_think_default_params();
		if ((rc = hearth_think_create(&tp, &s->th)))
			goto fail;
	}
	e->stats.n_slots = e->n_slots;
	e->stats.max_queue = e->max_queue;
	e->stats.n_ctx = e->n_ctx;
	if (pthread_create(&e->thread, NULL, eng_main, e) != 0) {
		rc = hx_err(HEARTH_ENOMEM, "could not start the engine thread");
		goto fail;
	}
	e->thread_started = true;
	*out = e;
	return 0;
fail:
	hearth_engine_free(e);
	return rc;
}

void hearth_engine_free(hearth_engine *e)
{
	if (!e)
		return;
	if (e->thread_started) {
		pthread_mutex_lock(&e->mu);
		e->quit = true;
		atomic_store(&e->abort_now, true);
		pthread_cond_broadcast(&e->cv);
		pthread_mutex_unlock(&e->mu);
		pthread_join(e->thread, NULL);
	}
	if (e->slots) {
		for (int32_t i = 0; i < e->n_slots; i++) {
			free(e->slots[i].cache);
			hearth_think_free(e->slots[i].th);
			hearth_detok_free(e->slots[i].detok);
			hearth_sampler_free(e->slots[i].smp);
		}
		free(e->slots);
	}
	hearth_batch_free(&e->batch);
	hearth_ctx_free(e->ctx);
	pthread_cond_destroy(&e->cv);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

int32_t hearth_engine_n_ctx(const hearth_engine *e) { return e ? e->n_ctx : 0; }
int32_t hearth_engine_n_slots(const hearth_engine *e) { return e ? e->n_slots : 0; }

int hearth_engine_submit(hearth_engine *e, const hearth_gen_request *req, uint64_t *id)
{
	if (!e || !req)
		return hx_err(HEARTH_EINVAL, "hearth_engine_submit: engine and request are required");
	if (!req->callback)
		return hx_err(HEARTH_EINVAL, "a generation request needs a callback");
	if (!req->prompt || req->n_prompt == 0)
		return hx_err(HEARTH_EINVAL, "the prompt is empty");
	if (req->n_prompt >= (size_t)e->n_ctx)
		return hx_err(HEARTH_ECTXFULL,
		              "the prompt has %zu tokens but the context holds %d: no room to generate (raise --ctx)",
		              req->n_prompt, e->n_ctx);
	for (size_t i = 0; i < req->n_prompt; i++)
		if (req->prompt[i] < 0 || req->prompt[i] >= e->n_vocab)
			return hx_err(HEARTH_EINVAL, "prompt token %zu has id %d, outside the vocabulary (0 to %d)", i,
			              req->prompt[i], e->n_vocab - 1);
	int rc = hearth_sampler_params_check(&req->sampler);
	if (rc)
		return rc;
	struct eng_req *r = hx_calloc(1, sizeof *r);
	if (!r)
		return HEARTH_ENOMEM;
	r->prompt = hx_malloc(req->n_prompt * sizeof(hearth_token));
	if (!r->prompt) {
		req_free(r);
		return HEARTH_ENOMEM;
	}
	memcpy(r->prompt, req->prompt, req->n_prompt * sizeof(hearth_token));
	r->n_prompt = (int32_t)req->n_prompt;
	if ((rc = hearth_stop_create(req->stops, req->n_stops, &r->stop))) {
		req_free(r);
		return rc;
	}
	r->sp = req->sampler;
	r->max_tokens = req->max_tokens;
	r->ignore_eog = req->ignore_eog;
	r->reasoning = req->reasoning;
	r->start_in_reasoning = req->reasoning && req->start_in_reasoning;
	r->cb = req->callback;
	r->user = req->user;
	atomic_init(&r->cancel, false);
	r->st.n_prompt = r->n_prompt;
	r->st.slot = -1;
	r->t_submit = hx_time_s();

	pthread_mutex_lock(&e->mu);
	if (e->quit) {
		pthread_mutex_unlock(&e->mu);
		req_free(r);
		return hx_err(HEARTH_ECANCELED, "the engine is shutting down");
	}
	if (e->q_len >= e->max_queue) {
		e->stats.n_rejected++;
		int32_t ql = e->q_len;
		pthread_mutex_unlock(&e->mu);
		req_free(r);
		return hx_err(HEARTH_ELIMIT, "the server is busy: %d requests are already waiting", ql);
	}
	r->id = e->next_id++;
	if (e->q_tail)
		e->q_tail->next = r;
	else
		e->q_head = r;
	e->q_tail = r;
	e->q_len++;
	e->stats.n_submitted++;
	if (id)
		*id = r->id;
	pthread_cond_signal(&e->cv);
	pthread_mutex_unlock(&e->mu);
	return 0;
}

int hearth_engine_cancel(hearth_engine *e, uint64_t id)
{
	if (!e)
		return hx_err(HEARTH_EINVAL, "hearth_engine_cancel: no engine");
	int rc = HEARTH_ENOTFOUND;
	pthread_mutex_lock(&e->mu);
	for (struct eng_req *r = e->q_head; r; r = r->next) {
		if (r->id == id) {
			atomic_store(&r->cancel, true);
			e->pending_cancel = true;
			rc = 0;
			break;
		}
	}
	/* A slot's req pointer is set (admission) and cleared (slot_finish) under
	 * this lock, and the request is freed only after it is cleared, so it is
	 * alive while we hold the lock. */
	for (int32_t i = 0; rc && i < e->n_slots; i++) {
		struct eng_req *r = e->slots[i].req;
		if (r && r->id == id) {
			atomic_store(&r->cancel, true);
			rc = 0;
		}
	}
	if (rc == 0)
		pthread_cond_signal(&e->cv);
	pthread_mutex_unlock(&e->mu);
	if (rc)
		return hx_err(HEARTH_ENOTFOUND, "no queued or running request has id %llu", (unsigned long long)id);
	return 0;
}

void hearth_engine_stats_get(hearth_engine *e, hearth_engine_stats *out)
{
	if (!e || !out)
		return;
	pthread_mutex_lock(&e->mu);
	*out = e->stats;
	out->queue_len = e->q_len;
	pthread_mutex_unlock(&e->mu);
}
