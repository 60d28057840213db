/*
 * test_model.c - model loading and inference contexts: every hostile file is
 * rejected (and the valid control loads and decodes), results do not depend on
 * the thread count or on how a sequence is split into decodes and chunks,
 * sequences are independent, and the context's error contracts (full context,
 * bad entries, cancellation) leave its state untouched.
 */
#include "testutil.h"

#include "hearth.h"

#include <dirent.h>
#include <math.h>

static hearth_model *load(const char *rel)
{
	char path[4096];
	hearth_model *m = NULL;
	assert_non_null(tu_path(path, sizeof path, rel));
	int rc = hearth_model_load(path, NULL, &m);
	if (rc)
		fail_msg("%s: %s", path, hearth_errmsg());
	return m;
}

static hearth_ctx *make_ctx(hearth_model *m, int32_t n_ctx, int32_t n_seq, int32_t n_batch, int kv, int threads)
{
	hearth_ctx_params p = hearth_ctx_default_params();
	p.n_ctx = n_ctx;
	p.n_seq_max = n_seq;
	p.n_batch = n_batch;
	p.kv_type = kv;
	p.n_threads = threads;
	hearth_ctx *c = NULL;
	int rc = hearth_ctx_create(m, &p, &c);
	if (rc)
		fail_msg("ctx: %s", hearth_errmsg());
	return c;
}

/* Token ids spread over the vocabulary, deterministic. */
static int32_t tok_at(int32_t i, int32_t n_vocab) { return (int32_t)((1 + (int64_t)i * 7919) % n_vocab); }

/* Decodes tokens [from, to) of sequence `seq` in one batch, logits for all. */
static int decode_range(hearth_ctx *c, int32_t seq, int32_t from, int32_t to)
{
	hearth_batch b;
	assert_int_equal(hearth_batch_init(&b, to - from), 0);
	const int32_t nv = hearth_model_n_vocab(hearth_ctx_model(c));
	for (int32_t i = from; i < to; i++)
		assert_int_equal(hearth_batch_add(&b, tok_at(i, nv), i, seq, true), 0);
	int rc = hearth_ctx_decode(c, &b);
	hearth_batch_free(&b);
	return rc;
}

static double max_diff(const float *a, const float *b, int32_t n)
{
	double m = 0;
	for (int32_t i = 0; i < n; i++)
		m = fmax(m, fabs((double)a[i] - b[i]));
	return m;
}

/* ---- hostile files ---- */

static void test_hostile(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	char dir[4096], path[8192];
	assert_non_null(tu_path(dir, sizeof dir, "hostile"));
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	int n_files = 0, n_model_level = 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 5, ".gguf") != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		hearth_model *m = (hearth_model *)1;
		int rc = hearth_model_load(path, NULL, &m);
		n_files++;
		if (strncmp(e->d_name, "00-", 3) == 0) {
			if (rc)
				fail_msg("%s: %s", e->d_name, hearth_errmsg());
			hearth_ctx *c = make_ctx(m, 4, 1, 0, HEARTH_TYPE_F16, 1);
			assert_int_equal(decode_range(c, 0, 0, 4), 0);
			assert_non_null(hearth_ctx_logits(c, 3));
			hearth_ctx_free(c);
			hearth_model_free(m);
			continue;
		}
		if (rc == 0)
			fail_msg("%s was accepted", e->d_name);
		assert_true(rc < 0);
		assert_null(m);
		assert_true(strlen(hearth_errmsg()) > 10);
		/* Files the container layer accepts must fail hearth_model_check too. */
		hearth_gguf *g;
		if (hearth_gguf_open(path, &g) == 0) {
			n_model_level++;
			assert_true(hearth_model_check(g) < 0);
			hearth_gguf_free(g);
		}
	}
	closedir(d);
	assert_true(n_files >= 37);
	assert_true(n_model_level >= 8);
}

static void test_bad_args(void **state)
{
	(void)state;
	hearth_model *m = (hearth_model *)1;
	assert_int_equal(hearth_model_load("/nonexistent/model.gguf", NULL, &m), HEARTH_EIO);
	assert_null(m);
	assert_int_equal(hearth_model_load(NULL, NULL, &m), HEARTH_EINVAL);
	hearth_model_free(NULL);
	hearth_ctx_free(NULL);
	hearth_batch b;
	assert_int_equal(hearth_batch_init(&b, 0), HEARTH_EINVAL);
	hearth_batch_free(&b);
	assert_int_equal(hearth_batch_init(&b, 2), 0);
	assert_int_equal(hearth_batch_add(&b, 1, 0, 0, false), 0);
	assert_int_equal(hearth_batch_add(&b, 1, 1, 0, false), 0);
	assert_int_equal(hearth_batch_add(&b, 1, 2, 0, false), HEARTH_ELIMIT);
	hearth_batch_free(&b);
	hearth_batch_free(&b);
}

/* ---- determinism and equivalences ---- */

static void check_threads(const char *rel, int kv)
{
	hearth_model *m = load(rel);
	const int32_t nv = hearth_model_n_vocab(m), n = 40;
	hearth_ctx *c1 = make_ctx(m, n, 1, 16, kv, 1), *c2 = make_ctx(m, n, 1, 16, kv, 2);
	assert_int_equal(hearth_ctx_n_threads(c2), 2);
	assert_int_equal(decode_range(c1, 0, 0, n), 0);
	assert_int_equal(decode_range(c2, 0, 0, n), 0);
	for (int32_t i = 0; i < n; i++)
		assert_memory_equal(hearth_ctx_logits(c1, i), hearth_ctx_logits(c2, i), (size_t)nv * sizeof(float));
	/* and one more token alone (the matrix-vector path) */
	assert_int_equal(decode_range(c1, 0, n - 1, n), HEARTH_EINVAL); /* position already taken */
	hearth_ctx_seq_truncate(c1, 0, n - 1);
	hearth_ctx_seq_truncate(c2, 0, n - 1);
	assert_int_equal(decode_range(c1, 0, n - 1, n), 0);
	assert_int_equal(decode_range(c2, 0, n - 1, n), 0);
	assert_memory_equal(hearth_ctx_logits(c1, 0), hearth_ctx_logits(c2, 0), (size_t)nv * sizeof(float));
	hearth_ctx_free(c1);
	hearth_ctx_free(c2);
	hearth_model_free(m);
}

static void test_threads_identical(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	check_threads("models/llama-spm-f32.gguf", HEARTH_TYPE_F32);
	check_threads("models/qwen2-q4_0.gguf", HEARTH_TYPE_F16);
	check_threads("models/qwen3-f32.gguf", HEARTH_TYPE_F16);
	check_threads("models/llama-q-sweep-Q4_K_M.gguf", HEARTH_TYPE_F16);
}

/* One decode of n tokens vs chunks of 5 vs one token per decode (F32 model and
 * cache: only summation order may differ). */
static void test_split_equivalence(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	hearth_model *m = load("models/llama-spm-f32.gguf");
	const int32_t nv = hearth_model_n_vocab(m), n = 23;
	hearth_ctx *whole = make_ctx(m, n, 1, 512, HEARTH_TYPE_F32, 0);
	hearth_ctx *chunked = make_ctx(m, n, 1, 5, HEARTH_TYPE_F32, 0);
	hearth_ctx *single = make_ctx(m, n, 1, 512, HEARTH_TYPE_F32, 0);
	assert_int_equal(decode_range(whole, 0, 0, n), 0);
	assert_int_equal(decode_range(chunked, 0, 0, n), 0);
	for (int32_t i = 0; i < n; i++)
		assert_true(max_diff(hearth_ctx_logits(whole, i), hearth_ctx_logits(chunked, i), nv) < 1e-4);
	for (int32_t i = 0; i < n; i++) {
		assert_int_equal(decode_range(single, 0, i, i + 1), 0);
		assert_true(max_diff(hearth_ctx_logits(whole, i), hearth_ctx_logits(single, 0), nv) < 1e-4);
		assert_int_equal(hearth_ctx_seq_len(single, 0), i + 1);
	}
	hearth_ctx_free(whole);
	hearth_ctx_free(chunked);
	hearth_ctx_free(single);
	hearth_model_free(m);
}

/* Interleaved sequences in one batch give what each gives alone. */
static void test_sequences_independent(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	hearth_model *m = load("models/qwen2-f32.gguf");
	const int32_t nv = hearth_model_n_vocab(m), n = 12;
	hearth_ctx *ref = make_ctx(m, 2 * n, 1, 0, HEARTH_TYPE_F32, 0);
	hearth_ctx *multi = make_ctx(m, 2 * n, 3, 0, HEARTH_TYPE_F32, 0);
	/* seq 2 gets tokens n..2n-1 at positions 0..n-1, seq 0 gets tokens 0..n-1. */
	hearth_batch b;
	assert_int_equal(hearth_batch_init(&b, 2 * n), 0);
	for (int32_t i = 0; i < n; i++) {
		assert_int_equal(hearth_batch_add(&b, tok_at(i, nv), i, 0, i == n - 1), 0);
		assert_int_equal(hearth_batch_add(&b, tok_at(n + i, nv), i, 2, i == n - 1), 0);
	}
	assert_int_equal(hearth_ctx_decode(multi, &b), 0);
	assert_int_equal(hearth_ctx_seq_len(multi, 0), n);
	assert_int_equal(hearth_ctx_seq_len(multi, 1), 0);
	assert_int_equal(hearth_ctx_seq_len(multi, 2), n);
	assert_null(hearth_ctx_logits(multi, 0));
	const float *l0 = hearth_ctx_logits(multi, 2 * n - 2), *l2 = hearth_ctx_logits(multi, 2 * n - 1);
	assert_non_null(l0);
	assert_ptr_equal(l2, hearth_ctx_logits(multi, -1));

	hearth_batch_clear(&b);
	for (int32_t i = 0; i < n; i++)
		hearth_batch_add(&b, tok_at(i, nv), i, 0, i == n - 1);
	assert_int_equal(hearth_ctx_decode(ref, &b), 0);
	assert_true(max_diff(l0, hearth_ctx_logits(ref, n - 1), nv) < 1e-4);
	hearth_ctx_seq_clear(ref, 0);
	hearth_batch_clear(&b);
	for (int32_t i = 0; i < n; i++)
		hearth_batch_add(&b, tok_at(n + i, nv), i, 0, i == n - 1);
	assert_int_equal(hearth_ctx_decode(ref, &b), 0);
	assert_true(max_diff(l2, hearth_ctx_logits(ref, n - 1), nv) < 1e-4);
	hearth_batch_free(&b);
	hearth_ctx_free(ref);
	hearth_ctx_free(multi);
	hearth_model_free(m);
}

/* ---- error contracts ---- */

static int g_abort_calls, g_abort_after;
static bool abort_cb(void *user)
{
	(void)user;
	return ++g_abort_calls > g_abort_after;
}

static void test_errors(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	hearth_model *m = load("models/smollm3-q4_0.gguf");
	const int32_t nv = hearth_model_n_vocab(m);
	assert_string_equal(hearth_model_arch(m), "smollm3");
	assert_int_equal(hearth_model_n_layer(m), 4);
	hearth_ctx *c = make_ctx(m, 8, 2, 3, HEARTH_TYPE_F16, 0);
	assert_int_equal(hearth_ctx_n_ctx(c), 8);
	assert_int_equal(decode_range(c, 0, 0, 6), 0);
	float *keep = malloc((size_t)nv * sizeof(float));
	memcpy(keep, hearth_ctx_logits(c, 5), (size_t)nv * sizeof(float));

	/* full: 6 + 3 > 8 */
	assert_int_equal(decode_range(c, 0, 6, 9), HEARTH_ECTXFULL);
	assert_non_null(strstr(hearth_errmsg(), "context full"));
	assert_int_equal(hearth_ctx_seq_len(c, 0), 6);
	assert_null(hearth_ctx_logits(c, 0));

	hearth_batch b;
	assert_int_equal(hearth_batch_init(&b, 4), 0);
	hearth_batch_add(&b, nv, 6, 0, true); /* token out of range */
	assert_int_equal(hearth_ctx_decode(c, &b), HEARTH_EINVAL);
	hearth_batch_clear(&b);
	hearth_batch_add(&b, -1, 6, 0, true);
	assert_int_equal(hearth_ctx_decode(c, &b), HEARTH_EINVAL);
	hearth_batch_clear(&b);
	hearth_batch_add(&b, 5, 7, 0, true); /* gap in positions */
	assert_int_equal(hearth_ctx_decode(c, &b), HEARTH_EINVAL);
	hearth_batch_clear(&b);
	hearth_batch_add(&b, 5, 6, 0, true);
	hearth_batch_add(&b, 5, 6, 0, true); /* repeated position */
	assert_int_equal(hearth_ctx_decode(c, &b), HEARTH_EINVAL);
	hearth_batch_clear(&b);
	hearth_batch_add(&b, 5, 0, 2, true); /* sequence out of range */
	assert_int_equal(hearth_ctx_decode(c, &b), HEARTH_EINVAL);
	hearth_batch_clear(&b);
	assert_int_equal(hearth_ctx_decode(c, &b), HEARTH_EINVAL); /* empty */
	assert_int_equal(hearth_ctx_seq_len(c, 0), 6);
	assert_int_equal(hearth_ctx_seq_truncate(c, 5, 0), HEARTH_EINVAL);
	assert_int_equal(hearth_ctx_seq_truncate(c, 0, -1), HEARTH_EINVAL);

	/* cancellation: after 2 layers of the first chunk, and between chunks */
	hearth_ctx_set_abort(c, abort_cb, NULL);
	g_abort_calls = 0;
	g_abort_after = 2;
	assert_int_equal(decode_range(c, 1, 0, 5), HEARTH_ECANCELED);
	assert_int_equal(hearth_ctx_seq_len(c, 1), 0);
	g_abort_calls = 0;
	g_abort_after = 4; /* the first chunk of 3 completes, the second is refused */
	assert_int_equal(decode_range(c, 1, 0, 5), HEARTH_ECANCELED);
	assert_int_equal(hearth_ctx_seq_len(c, 1), 0);
	hearth_ctx_set_abort(c, NULL, NULL);

	/* truncate and re-decode the same tokens: same logits */
	assert_int_equal(hearth_ctx_seq_truncate(c, 0, 3), 0);
	assert_int_equal(hearth_ctx_seq_len(c, 0), 3);
	assert_int_equal(hearth_ctx_seq_truncate(c, 0, 7), 0); /* never grows */
	assert_int_equal(hearth_ctx_seq_len(c, 0), 3);
	assert_int_equal(decode_range(c, 0, 3, 6), 0);
	assert_memory_equal(keep, hearth_ctx_logits(c, 2), (size_t)nv * sizeof(float));
	assert_int_equal(decode_range(c, 0, 6, 8), 0);
	assert_int_equal(hearth_ctx_seq_len(c, 0), 8);
	assert_int_equal(decode_range(c, 0, 8, 9), HEARTH_ECTXFULL);
	assert_int_equal(hearth_ctx_seq_clear(c, 0), 0);
	assert_int_equal(decode_range(c, 0, 0, 6), 0);
	assert_memory_equal(keep, hearth_ctx_logits(c, 5), (size_t)nv * sizeof(float));

	hearth_batch_free(&b);
	free(keep);
	hearth_ctx_free(c);

	hearth_ctx_params p = hearth_ctx_default_params();
	p.kv_type = HEARTH_TYPE_Q8_0;
	c = (hearth_ctx *)1;
	assert_int_equal(hearth_ctx_create(m, &p, &c), HEARTH_EINVAL);
	assert_null(c);
	p = hearth_ctx_default_params();
	p.n_ctx = -5;
	assert_int_equal(hearth_ctx_create(m, &p, &c), HEARTH_EINVAL);
	p = hearth_ctx_default_params();
	assert_int_equal(hearth_ctx_create(m, &p, &c), 0);
	assert_int_equal(hearth_ctx_n_ctx(c), 4096); /* the model's context_length, capped */
	hearth_ctx_free(c);
	hearth_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_threads_identical),
		cmocka_unit_test(test_split_equivalence),
		cmocka_unit_test(test_sequences_independent),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
