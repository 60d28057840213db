/*
 * test_golden.c - teacher-forced logits against llama.cpp's goldens.
 *
 * For every golden/<model>.json and every case: the case's tokens go through one
 * hearth_ctx_decode with logits for every position; each position's top-32 ids
 * are compared by logit and its logsumexp, the last position's full vector is
 * compared with golden/<model>.<case>.last.f32, and the argmax must agree
 * wherever the golden top1-top2 gap exceeds the row's threshold.  Tolerances are
 * the table in testdata/golden's README section 3; each model runs with an F32
 * KV cache (the goldens' setting) and with the default F16 KV cache.  One
 * summary line per model and KV type is printed.
 *
 * HEARTH_TEST_QUICK=1 (set by `make valgrind`) runs only the smallest model of
 * each family (llama-q-sweep, llama-spm, qwen2, ...) on its shortest case, and
 * says so: enough to run every architecture under memcheck in minutes.
 */
#include "testutil.h"

#include "hearth.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <sys/stat.h>

static bool g_quick; /* HEARTH_TEST_QUICK: one model per family, its shortest case */

struct tol {
	double max_diff; /* max |logit diff| */
	double gap;      /* argmax must agree where the golden gap exceeds this */
	double mean;     /* mean |diff| limit (0: unchecked) */
	double kl;       /* max per-position KL limit (0: unchecked) */
};

static bool is_quantized(const char *model)
{
	return strstr(model, "-q4_0") || strstr(model, "-q8_0") || strstr(model, "q-sweep-Q") ||
	       strstr(model, "q-sweep-IQ");
}

/* The README's tolerance table. */
static struct tol tolerance(const char *model, int kv_type)
{
	struct tol t = {0};
	if (is_quantized(model)) {
		t = (struct tol){1.5, 2.0, 0.1, 0.05};
	} else if (strstr(model, "BF16")) {
		t = (struct tol){0.15, 0.3, 0, 0};
		if (kv_type == HEARTH_TYPE_F16)
			t = (struct tol){0.25, 0.5, 0, 0};
	} else if (kv_type == HEARTH_TYPE_F16) {
		t = (struct tol){0.1, 0.2, 0, 0};
	} else if (strcmp(model, "llama-spm-f32") == 0 || strcmp(model, "llama-q-sweep-f32") == 0) {
		t = (struct tol){1e-3, 2e-3, 0, 0};
	} else {
		t = (struct tol){0.02, 0.04, 0, 0}; /* F16 LM head, sweep F16 */
	}
	return t;
}

struct stats {
	double max_diff, max_mean, max_kl, max_lse;
	int64_t n_pos, n_argmax_checked, n_argmax_bad, n_greedy;
};

static int64_t argmax(const float *x, int32_t n)
{
	int32_t best = 0;
	for (int32_t i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return best;
}

static double logsumexp(const float *x, int32_t n)
{
	float mx = -INFINITY;
	for (int32_t i = 0; i < n; i++)
		mx = x[i] > mx ? x[i] : mx;
	double s = 0;
	for (int32_t i = 0; i < n; i++)
		s += exp((double)x[i] - mx);
	return mx + log(s);
}

static float *read_f32(const char *path, int32_t n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	float *v = malloc((size_t)n * sizeof *v);
	if (v && fread(v, sizeof *v, (size_t)n, f) != (size_t)n) {
		free(v);
		v = NULL;
	}
	if (v && fgetc(f) != EOF) { /* longer than n_vocab floats */
		free(v);
		v = NULL;
	}
	fclose(f);
	return v;
}

static void run_case(hearth_model *model, const char *mname, json_t *cs, int kv_type, int n_threads,
                     const struct tol *tol, struct stats *st)
{
	const char *cname = json_string_value(json_object_get(cs, "name"));
	json_t *jt = json_object_get(cs, "tokens"), *jp = json_object_get(cs, "positions");
	assert_non_null(cname);
	assert_true(json_is_array(jt) && json_is_array(jp));
	const int32_t n = (int32_t)json_array_size(jt);
	assert_int_equal(json_array_size(jp), (size_t)n);
	const int32_t n_vocab = hearth_model_n_vocab(model);

	hearth_ctx_params cp = hearth_ctx_default_params();
	cp.n_ctx = n;
	cp.kv_type = kv_type;
	cp.n_threads = n_threads;
	hearth_ctx *ctx;
	assert_int_equal(hearth_ctx_create(model, &cp, &ctx), 0);
	hearth_batch b;
	assert_int_equal(hearth_batch_init(&b, n), 0);
	for (int32_t i = 0; i < n; i++)
		assert_int_equal(hearth_batch_add(&b, (int32_t)json_integer_value(json_array_get(jt, (size_t)i)), i, 0, true), 0);
	int rc = hearth_ctx_decode(ctx, &b);
	if (rc)
		fail_msg("%s/%s: decode: %s", mname, cname, hearth_errmsg());

	double case_sum = 0;
	int64_t case_cnt = 0;
	for (int32_t i = 0; i < n; i++) {
		json_t *pe = json_array_get(jp, (size_t)i), *top = json_object_get(pe, "top");
		const float *lg = hearth_ctx_logits(ctx, i);
		assert_non_null(lg);
		assert_true(json_is_array(top) && json_array_size(top) >= 2);
		const double ref_lse = json_number_value(json_object_get(pe, "logsumexp"));
		const double our_lse = logsumexp(lg, n_vocab);
		double ptop_ref = 0, ptop_our = 0, kl = 0;
		for (size_t j = 0; j < json_array_size(top); j++) {
			json_t *e = json_array_get(top, j);
			const int64_t id = json_integer_value(json_array_get(e, 0));
			const double ref = json_number_value(json_array_get(e, 1));
			assert_true(id >= 0 && id < n_vocab);
			const double d = fabs((double)lg[id] - ref);
			if (!(d <= tol->max_diff))
				fail_msg("%s/%s pos %d id %lld: logit %.6f vs golden %.6f (|diff| %.3g > %.3g)", mname, cname, i,
				         (long long)id, (double)lg[id], ref, d, tol->max_diff);
			st->max_diff = fmax(st->max_diff, d);
			case_sum += d;
			case_cnt++;
			const double lp_ref = ref - ref_lse, lp_our = (double)lg[id] - our_lse;
			ptop_ref += exp(lp_ref);
			ptop_our += exp(lp_our);
			kl += exp(lp_ref) * (lp_ref - lp_our);
		}
		/* The rest of the vocabulary as one bucket: a lower bound on the true KL. */
		const double rest_ref = fmax(1.0 - ptop_ref, 1e-300), rest_our = fmax(1.0 - ptop_our, 1e-300);
		if (rest_ref > 1e-12)
			kl += rest_ref * log(rest_ref / rest_our);
		st->max_kl = fmax(st->max_kl, kl);
		st->max_lse = fmax(st->max_lse, fabs(our_lse - ref_lse));
		if (!(fabs(our_lse - ref_lse) <= tol->max_diff))
			fail_msg("%s/%s pos %d: logsumexp %.6f vs golden %.6f", mname, cname, i, our_lse, ref_lse);

		const double g1 = json_number_value(json_array_get(json_array_get(top, 0), 1));
		const double g2 = json_number_value(json_array_get(json_array_get(top, 1), 1));
		if (g1 - g2 > tol->gap) {
			st->n_argmax_checked++;
			const int64_t want = json_integer_value(json_array_get(json_array_get(top, 0), 0));
			const int64_t got = argmax(lg, n_vocab);
			if (got != want) {
				st->n_argmax_bad++;
				fail_msg("%s/%s pos %d: argmax %lld, golden %lld (gap %.4f > %.4f)", mname, cname, i,
				         (long long)got, (long long)want, g1 - g2, tol->gap);
			}
		}
		st->n_pos++;
	}
	st->max_mean = fmax(st->max_mean, case_cnt ? case_sum / (double)case_cnt : 0);

	/* Full last-position vector. */
	char rel[512], path[4096];
	snprintf(rel, sizeof rel, "golden/%s", json_string_value(json_object_get(cs, "last_logits_file")));
	assert_non_null(tu_path(path, sizeof path, rel));
	float *ref = read_f32(path, n_vocab);
	if (!ref)
		fail_msg("%s: cannot read %d floats", path, n_vocab);
	const float *lg = hearth_ctx_logits(ctx, n - 1);
	const double ref_lse = logsumexp(ref, n_vocab), our_lse = logsumexp(lg, n_vocab);
	double kl = 0;
	for (int32_t j = 0; j < n_vocab; j++) {
		const double d = fabs((double)lg[j] - ref[j]);
		if (!(d <= tol->max_diff))
			fail_msg("%s/%s last position id %d: logit %.6f vs golden %.6f", mname, cname, j, (double)lg[j],
			         (double)ref[j]);
		st->max_diff = fmax(st->max_diff, d);
		const double lp = ref[j] - ref_lse;
		kl += exp(lp) * (lp - ((double)lg[j] - our_lse));
	}
	st->max_kl = fmax(st->max_kl, kl);
	free(ref);
	hearth_ctx_free(ctx);

	/* Greedy generation, one token per decode after a batched prompt: the ids
	 * must match the golden continuation up to the first step whose golden
	 * top1-top2 gap is below twice the tolerance. */
	const int32_t n_prompt = (int32_t)json_integer_value(json_object_get(cs, "n_prompt"));
	assert_true(n_prompt >= 1 && n_prompt <= n);
	assert_int_equal(hearth_ctx_create(model, &cp, &ctx), 0);
	hearth_batch_clear(&b);
	for (int32_t i = 0; i < n_prompt; i++)
		hearth_batch_add(&b, (int32_t)json_integer_value(json_array_get(jt, (size_t)i)), i, 0, i == n_prompt - 1);
	assert_int_equal(hearth_ctx_decode(ctx, &b), 0);
	for (int32_t i = n_prompt; i < n; i++) {
		json_t *top = json_object_get(json_array_get(jp, (size_t)(i - 1)), "top");
		const double g1 = json_number_value(json_array_get(json_array_get(top, 0), 1));
		const double g2 = json_number_value(json_array_get(json_array_get(top, 1), 1));
		if (g1 - g2 < 2 * tol->max_diff)
			break;
		const int32_t want = (int32_t)json_integer_value(json_array_get(jt, (size_t)i));
		const int32_t got = (int32_t)argmax(hearth_ctx_logits(ctx, -1), n_vocab);
		if (got != want)
			fail_msg("%s/%s greedy step %d: generated %d, golden %d", mname, cname, i - n_prompt, got, want);
		st->n_greedy++;
		hearth_batch_clear(&b);
		hearth_batch_add(&b, got, i, 0, true);
		assert_int_equal(hearth_ctx_decode(ctx, &b), 0);
	}
	hearth_batch_free(&b);
	hearth_ctx_free(ctx);
}

/* HEARTH_TEST_THREADS overrides the thread count (default: all cores). */
static int test_threads(void)
{
	const char *e = getenv("HEARTH_TEST_THREADS");
	return e ? atoi(e) : 0;
}

static void run_model(const char *mname, int kv_type)
{
	char rel[512], path[4096];
	snprintf(rel, sizeof rel, "golden/%s.json", mname);
	assert_non_null(tu_path(path, sizeof path, rel));
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	if (!root)
		fail_msg("%s: %s (line %d)", path, jerr.text, jerr.line);
	snprintf(rel, sizeof rel, "models/%s.gguf", mname);
	assert_non_null(tu_path(path, sizeof path, rel));
	hearth_model *model;
	int rc = hearth_model_load(path, NULL, &model);
	if (rc)
		fail_msg("%s: %s", path, hearth_errmsg());
	assert_int_equal(hearth_model_n_vocab(model), json_integer_value(json_object_get(root, "n_vocab")));

	struct tol tol = tolerance(mname, kv_type);
	struct stats st = {0};
	json_t *cases = json_object_get(root, "cases");
	assert_true(json_is_array(cases) && json_array_size(cases) > 0);
	size_t shortest = 0;
	for (size_t i = 1; i < json_array_size(cases); i++)
		if (json_array_size(json_object_get(json_array_get(cases, i), "tokens")) <
		    json_array_size(json_object_get(json_array_get(cases, shortest), "tokens")))
			shortest = i;
	for (size_t i = 0; i < json_array_size(cases); i++)
		if (!g_quick || i == shortest)
			run_case(model, mname, json_array_get(cases, i), kv_type, test_threads(), &tol, &st);
	assert_true(tol.mean == 0 || st.max_mean <= tol.mean);
	assert_true(tol.kl == 0 || st.max_kl <= tol.kl);
	print_message("note: %-22s kv=%s positions=%lld max|diff|=%.3g (tol %.3g) worst-case mean|diff|=%.3g "
	              "max KL=%.3g max|dlse|=%.3g argmax %lld/%lld agree (gap > %.3g) greedy %lld ids match\n",
	              mname, kv_type == HEARTH_TYPE_F32 ? "f32" : "f16", (long long)st.n_pos, st.max_diff,
	              tol.max_diff, st.max_mean, st.max_kl, st.max_lse, (long long)(st.n_argmax_checked - st.n_argmax_bad),
	              (long long)st.n_argmax_checked, tol.gap, (long long)st.n_greedy);
	hearth_model_free(model);
	json_decref(root);
}

static void test_model_f32kv(void **state)
{
	TU_REQUIRE_TESTDATA();
	run_model(*state, HEARTH_TYPE_F32);
}

static void test_model_f16kv(void **state)
{
	TU_REQUIRE_TESTDATA();
	run_model(*state, HEARTH_TYPE_F16);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_skipped(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
}

/* A model's family: its name without the last '-' part (qwen3-q4_0 -> qwen3). */
static size_t family_len(const char *name)
{
	const char *d = strrchr(name, '-');
	return d ? (size_t)(d - name) : strlen(name);
}

static long long model_size(const char *name)
{
	char rel[512], path[4096];
	struct stat st;
	snprintf(rel, sizeof rel, "models/%s.gguf", name);
	return tu_path(path, sizeof path, rel) && stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Keeps the smallest model of each family in names[0..n); returns the new count. */
static size_t quick_pick(char **names, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t fl = family_len(names[i]), j;
		for (j = 0; j < k; j++)
			if (family_len(names[j]) == fl && !strncmp(names[j], names[i], fl))
				break;
		if (j == k) {
			names[k++] = names[i];
		} else if (model_size(names[i]) < model_size(names[j])) {
			free(names[j]);
			names[j] = names[i];
		} else {
			free(names[i]);
		}
	}
	return k;
}

int main(void)
{
	/* One test per golden model and KV type, found in golden/ (files with cases). */
	char dir[4096];
	char *names[256];
	size_t n = 0;
	if (tu_path(dir, sizeof dir, "golden")) {
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d)) && n < sizeof names / sizeof names[0]) {
			size_t len = strlen(e->d_name);
			if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
				continue;
			if (strcmp(e->d_name, "llama_cpp_variation.json") == 0 || strcmp(e->d_name, "spec-public.json") == 0)
				continue;
			names[n++] = strndup(e->d_name, len - 5);
		}
		if (d)
			closedir(d);
	}
	qsort(names, n, sizeof names[0], cmp_str);
	const char *q = getenv("HEARTH_TEST_QUICK");
	g_quick = q && q[0] && strcmp(q, "0") != 0;
	if (g_quick && n) {
		size_t all = n;
		n = quick_pick(names, n);
		print_message("note: HEARTH_TEST_QUICK: %zu of %zu golden models (the smallest of each family), the "
		              "shortest case of each; unset it for the full comparison\n",
		              n, all);
	}
	struct CMUnitTest *tests = calloc(2 * n + 1, sizeof *tests);
	size_t nt = 0;
	char (*labels)[96] = calloc(2 * n + 1, sizeof *labels);
	for (size_t i = 0; i < n; i++) {
		snprintf(labels[nt], sizeof labels[nt], "%s f32-kv", names[i]);
		tests[nt] = (struct CMUnitTest){labels[nt], test_model_f32kv, NULL, NULL, names[i]};
		nt++;
		snprintf(labels[nt], sizeof labels[nt], "%s f16-kv", names[i]);
		tests[nt] = (struct CMUnitTest){labels[nt], test_model_f16kv, NULL, NULL, names[i]};
		nt++;
	}
	if (nt == 0)
		tests[nt++] = (struct CMUnitTest){"golden (testdata absent)", test_skipped, NULL, NULL, NULL};
	int rc = _cmocka_run_group_tests("golden", tests, nt, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(tests);
	free(labels);
	return rc;
}
