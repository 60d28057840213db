/*
 * test_engine.c - the generation engine: greedy output equals the golden
 * continuation, concurrent requests equal the same requests run alone (with
 * chunked prefill, smaller chunks while others generate), cancellation (API, callback, queued, shutdown), queue
 * bound, prompt-cache reuse, context full -> "length", stop strings, request
 * validation.
 */
#include "testutil.h"

#include "hearth.h"

#include <jansson.h>
#include <pthread.h>
#include <time.h>

/* ---- collecting a request's events ---------------------------------------------- */

struct col {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done, got_prompt;
	char text[1 << 15];
	size_t n_text;
	char reason[1 << 12];
	size_t n_reason;
	int n_events;
	int cancel_after; /* >0: return true from the n-th text event */
	enum hearth_finish finish;
	int error, stop_index, n_done;
	hearth_gen_stats st;
};

static void col_init(struct col *c)
{
	memset(c, 0, sizeof *c);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
}

static bool col_cb(const hearth_gen_event *ev, void *user)
{
	struct col *c = user;
	bool cancel = false;
	pthread_mutex_lock(&c->mu);
	c->st = *ev->stats;
	switch (ev->kind) {
	case HEARTH_GEN_PROMPT:
		c->got_prompt = true;
		break;
	case HEARTH_GEN_CONTENT:
		if (c->n_text + ev->len < sizeof c->text) {
			memcpy(c->text + c->n_text, ev->text, ev->len);
			c->n_text += ev->len;
		}
		c->n_events++;
		cancel = c->cancel_after > 0 && c->n_events >= c->cancel_after;
		break;
	case HEARTH_GEN_REASONING:
		if (c->n_reason + ev->len < sizeof c->reason) {
			memcpy(c->reason + c->n_reason, ev->text, ev->len);
			c->n_reason += ev->len;
		}
		c->n_events++;
		break;
	case HEARTH_GEN_DONE:
		c->done = true;
		c->n_done++;
		c->finish = ev->finish;
		c->error = ev->error;
		c->stop_index = ev->stop_index;
		break;
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return cancel;
}

static void col_wait(struct col *c)
{
	pthread_mutex_lock(&c->mu);
	while (!c->done)
		pthread_cond_wait(&c->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
}

static void col_wait_prompt(struct col *c)
{
	pthread_mutex_lock(&c->mu);
	while (!c->got_prompt && !c->done)
		pthread_cond_wait(&c->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
}

/* ---- fixtures --------------------------------------------------------------------- */

struct fx {
	hearth_model *model;
	hearth_vocab *vocab;
	json_t *golden;
};

static int load_fx(struct fx *f, const char *name)
{
	char path[4096], rel[256];
	snprintf(rel, sizeof rel, "models/%s.gguf", name);
	if (!tu_path(path, sizeof path, rel))
		return -1;
	if (hearth_model_load(path, NULL, &f->model))
		return -1;
	if (hearth_vocab_load(hearth_model_gguf(f->model), &f->vocab))
		return -1;
	snprintf(rel, sizeof rel, "golden/%s.json", name);
	if (!tu_path(path, sizeof path, rel))
		return -1;
	f->golden = json_load_file(path, 0, NULL);
	return f->golden ? 0 : -1;
}

static void free_fx(struct fx *f)
{
	json_decref(f->golden);
	hearth_vocab_free(f->vocab);
	hearth_model_free(f->model);
}

/* Copies case `name`'s tokens; *n_prompt gets the prompt length. */
static int32_t *golden_case(const struct fx *f, const char *name, size_t *n_prompt, size_t *n_all)
{
	json_t *cases = json_object_get(f->golden, "cases");
	for (size_t i = 0; i < json_array_size(cases); i++) {
		json_t *c = json_array_get(cases, i);
		if (strcmp(json_string_value(json_object_get(c, "name")), name) != 0)
			continue;
		json_t *toks = json_object_get(c, "tokens");
		size_t n = json_array_size(toks);
		int32_t *ids = malloc(n * sizeof *ids);
		for (size_t k = 0; k < n; k++)
			ids[k] = (int32_t)json_integer_value(json_array_get(toks, k));
		*n_prompt = (size_t)json_integer_value(json_object_get(c, "n_prompt"));
		*n_all = n;
		return ids;
	}
	return NULL;
}

static hearth_engine *mk_engine(const struct fx *f, int slots, int n_ctx, int n_batch, int max_queue)
{
	hearth_engine_params p = hearth_engine_default_params();
	p.n_slots = slots;
	p.n_ctx = n_ctx;
	p.n_batch = n_batch;
	p.max_queue = max_queue;
	p.kv_type = HEARTH_TYPE_F32;
	p.n_threads = 2;
	hearth_engine *e = NULL;
	int rc = hearth_engine_create(f->model, f->vocab, &p, &e);
	if (rc)
		print_message("engine: %s\n", hearth_errmsg());
	assert_int_equal(rc, 0);
	return e;
}

static hearth_gen_request greedy(const int32_t *ids, size_t n, int32_t max_tokens, struct col *c)
{
	hearth_gen_request r = hearth_gen_request_default();
	r.prompt = ids;
	r.n_prompt = n;
	r.sampler.temperature = 0;
	r.max_tokens = max_tokens;
	r.ignore_eog = true;
	r.callback = col_cb;
	r.user = c;
	return r;
}

/* Runs a greedy request for max_tokens tokens into c (re-initialised) and waits
 * for its end. */
static void run_greedy(hearth_engine *e, const int32_t *ids, size_t n, int32_t max_tokens, struct col *c)
{
	col_init(c);
	hearth_gen_request r = greedy(ids, n, max_tokens, c);
	assert_int_equal(hearth_engine_submit(e, &r, NULL), 0);
	col_wait(c);
}

static const char *k_cases[] = {"once_upon_a_time", "chat_capital_of_france", "prose_300", "random_ids_seed1234"};

/* ---- tests -------------------------------------------------------------------------- */

/* Each case alone reproduces the golden continuation (llama-spm-f32, f32 KV: every
 * generated position's gap is far above the tolerance), and the four cases run at
 * once, with prompts chunked 16 tokens per step, produce exactly the same text. */
static void test_golden_and_concurrent(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	struct fx f = {0};
	assert_int_equal(load_fx(&f, "llama-spm-f32"), 0);
	enum { NC = 4 };
	static struct col alone[NC], conc[NC];
	int32_t *ids[NC];
	size_t np[NC], na[NC];

	hearth_engine *e = mk_engine(&f, 1, 1024, 512, 8);
	for (int i = 0; i < NC; i++) {
		ids[i] = golden_case(&f, k_cases[i], &np[i], &na[i]);
		assert_non_null(ids[i]);
		col_init(&alone[i]);
		hearth_gen_request r = greedy(ids[i], np[i], (int32_t)(na[i] - np[i]), &alone[i]);
		uint64_t id = 0;
		assert_int_equal(hearth_engine_submit(e, &r, &id), 0);
		assert_true(id != 0);
		col_wait(&alone[i]);
		assert_int_equal(alone[i].finish, HEARTH_FINISH_LENGTH);
		assert_int_equal(alone[i].st.n_gen, (int)(na[i] - np[i]));
		assert_int_equal(alone[i].st.n_prompt, (int)np[i]);
		assert_int_equal(alone[i].n_done, 1);
		/* the golden continuation, decoded */
		char *want = NULL;
		size_t wl = 0;
		assert_int_equal(hearth_detokenize(f.vocab, ids[i] + np[i], na[i] - np[i], 0, &want, &wl), 0);
		alone[i].text[alone[i].n_text] = 0;
		if (strcmp(want, alone[i].text) != 0)
			print_message("case %s:\n want [%s]\n got  [%s]\n", k_cases[i], want, alone[i].text);
		assert_string_equal(want, alone[i].text);
		free(want);
	}
	hearth_engine_free(e);

	e = mk_engine(&f, NC, 1024, 16, 8);
	for (int i = 0; i < NC; i++) {
		col_init(&conc[i]);
		hearth_gen_request r = greedy(ids[i], np[i], (int32_t)(na[i] - np[i]), &conc[i]);
		assert_int_equal(hearth_engine_submit(e, &r, NULL), 0);
	}
	for (int i = 0; i < NC; i++) {
		col_wait(&conc[i]);
		assert_int_equal(conc[i].finish, HEARTH_FINISH_LENGTH);
		assert_int_equal(conc[i].n_text, alone[i].n_text);
		assert_memory_equal(conc[i].text, alone[i].text, alone[i].n_text);
		assert_int_equal(conc[i].st.n_cached, 0);
		assert_true(conc[i].st.ttft_ms > 0);
	}
	hearth_engine_stats es;
	hearth_engine_stats_get(e, &es);
	assert_int_equal(es.n_done, NC);
	assert_int_equal(es.slots_busy, 0);
	assert_int_equal(es.queue_len, 0);
	/* chunked prefill: the 335-token prompt alone needs at least 21 steps of 16 */
	assert_true(es.n_steps >= 21);
	hearth_engine_free(e);
	for (int i = 0; i < NC; i++)
		free(ids[i]);
	free_fx(&f);
}

/* A request whose prompt shares a prefix with a slot's cache reuses it. */
static void test_prompt_cache(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	struct fx f = {0};
	assert_int_equal(load_fx(&f, "llama-spm-f32"), 0);
	size_t np, na;
	int32_t *ids = golden_case(&f, "prose_300", &np, &na);
	hearth_engine *e = mk_engine(&f, 2, 1024, 512, 8);
	struct col a, b, c, d;
	run_greedy(e, ids, np, 8, &a);
	assert_int_equal(a.st.n_cached, 0);

	/* the same prompt: everything but the last token comes from the cache */
	run_greedy(e, ids, np, 8, &b);
	assert_int_equal(b.st.n_cached, (int)np - 1);
	assert_int_equal(b.st.slot, a.st.slot);
	assert_int_equal(b.n_text, a.n_text);
	assert_memory_equal(b.text, a.text, a.n_text);

	/* prompt + the whole golden continuation: the 7 generated tokens that were
	 * decoded are cached too (multi-turn: only new tokens are evaluated) */
	run_greedy(e, ids, na, 4, &c);
	assert_int_equal(c.st.n_cached, (int)np + 7);

	/* a diverging prompt: only the common prefix is reused */
	int32_t *alt = malloc(np * sizeof *alt);
	memcpy(alt, ids, np * sizeof *alt);
	alt[100] = alt[100] == 500 ? 501 : 500;
	run_greedy(e, alt, np, 4, &d);
	assert_int_equal(d.st.n_cached, 100);
	hearth_engine_stats es;
	hearth_engine_stats_get(e, &es);
	assert_int_equal(es.n_cached_tokens, (uint64_t)(np - 1 + np + 7 + 100));
	hearth_engine_free(e);
	free(alt);
	free(ids);
	free_fx(&f);
}

/* The context fills: finish "length" with exactly the tokens that fit; a prompt
 * that leaves no room is refused at submit. */
static void test_context_full(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	struct fx f = {0};
	assert_int_equal(load_fx(&f, "llama-spm-f32"), 0);
	size_t np, na;
	int32_t *ids = golden_case(&f, "prose_300", &np, &na);
	hearth_engine *e = mk_engine(&f, 1, 64, 512, 8);
	assert_int_equal(hearth_engine_n_ctx(e), 64);
	struct col a;
	run_greedy(e, ids, 40, 0, &a);
	assert_int_equal(a.finish, HEARTH_FINISH_LENGTH);
	/* 40 prompt + 24 decoded generated tokens fill 64 positions; the 25th sampled
	 * token cannot be decoded any more */
	assert_int_equal(a.st.n_gen, 64 - 40 + 1);

	hearth_gen_request r = greedy(ids, 64, 0, &a);
	assert_int_equal(hearth_engine_submit(e, &r, NULL), HEARTH_ECTXFULL);
	run_greedy(e, ids, 63, 0, &a);
	assert_int_equal(a.finish, HEARTH_FINISH_LENGTH);
	assert_int_equal(a.st.n_gen, 2);
	hearth_engine_free(e);
	free(ids);
	free_fx(&f);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Cancellation by id, by the callback, in the queue, and at shutdown; queue bound. */
static void test_cancel_and_queue(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	struct fx f = {0};
	assert_int_equal(load_fx(&f, "llama-spm-f32"), 0);
	size_t np, na;
	int32_t *ids = golden_case(&f, "once_upon_a_time", &np, &na);
	hearth_engine *e = mk_engine(&f, 1, 2048, 512, 2);
	static struct col a, b, c, d, g;

	/* A runs (unbounded), B and C wait, D does not fit in the queue */
	col_init(&a);
	hearth_gen_request r = greedy(ids, np, 0, &a);
	uint64_t ida, idb, idc;
	assert_int_equal(hearth_engine_submit(e, &r, &ida), 0);
	col_wait_prompt(&a);
	col_init(&b);
	col_init(&c);
	col_init(&d);
	r = greedy(ids, np, 4, &b);
	assert_int_equal(hearth_engine_submit(e, &r, &idb), 0);
	r = greedy(ids, np, 4, &c);
	assert_int_equal(hearth_engine_submit(e, &r, &idc), 0);
	r = greedy(ids, np, 4, &d);
	assert_int_equal(hearth_engine_submit(e, &r, NULL), HEARTH_ELIMIT);
	hearth_engine_stats es;
	hearth_engine_stats_get(e, &es);
	assert_int_equal(es.queue_len, 2);
	assert_int_equal(es.slots_busy, 1);
	assert_int_equal(es.n_rejected, 1);

	/* cancel B while queued: it never gets a slot */
	assert_int_equal(hearth_engine_cancel(e, idb), 0);
	col_wait(&b);
	assert_int_equal(b.finish, HEARTH_FINISH_CANCELED);
	assert_int_equal(b.st.slot, -1);
	assert_int_equal(b.st.n_gen, 0);

	/* cancel A while running: it stops promptly and C gets the slot */
	sleep_ms(20);
	assert_int_equal(hearth_engine_cancel(e, ida), 0);
	col_wait(&a);
	assert_int_equal(a.finish, HEARTH_FINISH_CANCELED);
	assert_true(a.st.n_gen > 0 && a.st.n_gen < 2000);
	col_wait(&c);
	assert_int_equal(c.finish, HEARTH_FINISH_LENGTH);
	assert_int_equal(c.st.n_gen, 4);
	assert_int_equal(hearth_engine_cancel(e, ida), HEARTH_ENOTFOUND);

	/* the callback's return value cancels: 3 text events, then DONE */
	col_init(&g);
	g.cancel_after = 3;
	r = greedy(ids, np, 0, &g);
	assert_int_equal(hearth_engine_submit(e, &r, NULL), 0);
	col_wait(&g);
	assert_int_equal(g.finish, HEARTH_FINISH_CANCELED);
	assert_int_equal(g.n_events, 3);

	/* shutdown cancels what runs and what waits: every request gets one DONE */
	static struct col s1, s2;
	col_init(&s1);
	col_init(&s2);
	r = greedy(ids, np, 0, &s1);
	assert_int_equal(hearth_engine_submit(e, &r, NULL), 0);
	r = greedy(ids, np, 0, &s2);
	assert_int_equal(hearth_engine_submit(e, &r, NULL), 0);
	col_wait_prompt(&s1);
	hearth_engine_free(e);
	assert_true(s1.done && s2.done);
	assert_int_equal(s1.n_done, 1);
	assert_int_equal(s2.n_done, 1);
	assert_int_equal(s1.finish, HEARTH_FINISH_CANCELED);
	assert_int_equal(s2.finish, HEARTH_FINISH_CANCELED);
	free(ids);
	free_fx(&f);
}

/* A stop string cuts the text right before it, even across token boundaries. */
static void test_stop_string(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	struct fx f = {0};
	assert_int_equal(load_fx(&f, "llama-spm-f32"), 0);
	size_t np, na;
	int32_t *ids = golden_case(&f, "once_upon_a_time", &np, &na);
	hearth_engine *e = mk_engine(&f, 1, 512, 512, 8);
	struct col a, b;
	run_greedy(e, ids, np, 24, &a);
	assert_true(a.n_text > 12);
	/* a stop string from the middle of the output, 5 bytes long */
	char stop[8];
	size_t at = a.n_text / 2;
	memcpy(stop, a.text + at, 5);
	stop[5] = 0;
	const char *first = strstr(a.text, stop);
	assert_non_null(first);
	const char *stops[] = {"never-appears", stop};
	col_init(&b);
	hearth_gen_request r = greedy(ids, np, 24, &b);
	r.stops = stops;
	r.n_stops = 2;
	assert_int_equal(hearth_engine_submit(e, &r, NULL), 0);
	col_wait(&b);
	assert_int_equal(b.finish, HEARTH_FINISH_STOP);
	assert_int_equal(b.stop_index, 1);
	assert_int_equal(b.n_text, (size_t)(first - a.text));
	assert_memory_equal(b.text, a.text, b.n_text);
	hearth_engine_free(e);
	free(ids);
	free_fx(&f);
}

/* While a slot generates, a long prompt is prefilled n_batch_shared tokens per
 * step, and the generating slot gets a token at every one of those steps. */
static void test_shared_prefill(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	struct fx f = {0};
	assert_int_equal(load_fx(&f, "llama-spm-f32"), 0);
	size_t np, na, np2, na2;
	int32_t *ids = golden_case(&f, "prose_300", &np, &na);
	int32_t *ids2 = golden_case(&f, "once_upon_a_time", &np2, &na2);
	hearth_engine_params p = hearth_engine_default_params();
	p.n_slots = 2;
	p.n_ctx = 1024;
	p.n_batch_shared = 16;
	p.n_threads = 2;
	hearth_engine *e = NULL;
	assert_int_equal(hearth_engine_create(f.model, f.vocab, &p, &e), 0);
	static struct col a, b;
	col_init(&a);
	col_init(&b);
	hearth_gen_request r = greedy(ids2, np2, 0, &a);
	uint64_t ida;
	assert_int_equal(hearth_engine_submit(e, &r, &ida), 0);
	col_wait_prompt(&a);
	hearth_engine_stats s0, s1;
	hearth_engine_stats_get(e, &s0);
	pthread_mutex_lock(&a.mu);
	int32_t gen0 = a.st.n_gen;
	pthread_mutex_unlock(&a.mu);
	r = greedy(ids, np, 4, &b);
	assert_int_equal(hearth_engine_submit(e, &r, NULL), 0);
	col_wait_prompt(&b);
	hearth_engine_stats_get(e, &s1);
	pthread_mutex_lock(&a.mu);
	int32_t gen1 = a.st.n_gen;
	pthread_mutex_unlock(&a.mu);
	/* 335 prompt tokens at 16 per step: at least 21 steps, each decoding A too */
	assert_true(s1.n_steps - s0.n_steps >= 21);
	assert_true(gen1 - gen0 >= 20);
	assert_int_equal(hearth_engine_cancel(e, ida), 0);
	col_wait(&a);
	col_wait(&b);
	assert_int_equal(b.finish, HEARTH_FINISH_LENGTH);
	hearth_engine_free(e);
	free(ids);
	free(ids2);
	free_fx(&f);
}

/* Bad requests are refused at submit and their callback never runs. */
static void test_invalid(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	struct fx f = {0};
	assert_int_equal(load_fx(&f, "llama-spm-f32"), 0);
	hearth_engine *e = mk_engine(&f, 1, 128, 512, 8);
	struct col a;
	col_init(&a);
	int32_t ids[3] = {1, 100, 200};
	hearth_gen_request r = greedy(ids, 3, 4, &a);
	r.callback = NULL;
	assert_int_equal(hearth_engine_submit(e, &r, NULL), HEARTH_EINVAL);
	r = greedy(ids, 0, 4, &a);
	assert_int_equal(hearth_engine_submit(e, &r, NULL), HEARTH_EINVAL);
	int32_t bad[2] = {1, 32000};
	r = greedy(bad, 2, 4, &a);
	assert_int_equal(hearth_engine_submit(e, &r, NULL), HEARTH_EINVAL);
	bad[1] = -1;
	assert_int_equal(hearth_engine_submit(e, &r, NULL), HEARTH_EINVAL);
	r = greedy(ids, 3, 4, &a);
	r.sampler.top_p = 1.5f;
	assert_int_equal(hearth_engine_submit(e, &r, NULL), HEARTH_EINVAL);
	r = greedy(ids, 3, 4, &a);
	const char *stops[] = {""};
	r.stops = stops;
	r.n_stops = 1;
	assert_int_equal(hearth_engine_submit(e, &r, NULL), HEARTH_EINVAL);
	assert_int_equal(hearth_engine_cancel(e, 12345), HEARTH_ENOTFOUND);
	hearth_engine_free(e);
	assert_false(a.done);

	hearth_engine_params p = hearth_engine_default_params();
	p.n_slots = 100000;
	assert_int_equal(hearth_engine_create(f.model, f.vocab, &p, &e), HEARTH_EINVAL);
	assert_null(e);
	p = hearth_engine_default_params();
	p.max_queue = -1;
	assert_int_equal(hearth_engine_create(f.model, f.vocab, &p, &e), HEARTH_EINVAL);
	hearth_engine_free(NULL);
	free_fx(&f);
}

/* Sampling with a fixed seed is reproducible through the engine, alone or not. */
static void test_seeded(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	struct fx f = {0};
	assert_int_equal(load_fx(&f, "llama-spm-f32"), 0);
	size_t np, na;
	int32_t *ids = golden_case(&f, "chat_capital_of_france", &np, &na);
	hearth_engine *e = mk_engine(&f, 3, 512, 512, 8);
	static struct col c[3];
	for (int i = 0; i < 3; i++) {
		col_init(&c[i]);
		hearth_gen_request r = greedy(ids, np, 32, &c[i]);
		r.sampler.temperature = 0.9f;
		r.sampler.seed = i == 2 ? 7 : 42;
		assert_int_equal(hearth_engine_submit(e, &r, NULL), 0);
	}
	for (int i = 0; i < 3; i++)
		col_wait(&c[i]);
	assert_int_equal(c[0].n_text, c[1].n_text);
	assert_memory_equal(c[0].text, c[1].text, c[0].n_text);
	assert_true(c[0].n_text != c[2].n_text || memcmp(c[0].text, c[2].text, c[0].n_text) != 0);
	hearth_engine_free(e);
	free(ids);
	free_fx(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_golden_and_concurrent),
		cmocka_unit_test(test_prompt_cache),
		cmocka_unit_test(test_context_full),
		cmocka_unit_test(test_cancel_and_queue),
		cmocka_unit_test(test_stop_string),
		cmocka_unit_test(test_seeded),
		cmocka_unit_test(test_shared_prefill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
