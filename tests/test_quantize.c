/*
 * test_quantize.c - the GGUF writer and `hearth quantize`'s library side: the
 * writer round-trips through the reader, the per-tensor type plan matches
 * llama-quantize's choices on every reference sweep file, whole outputs are
 * byte-identical to llama-quantize's, and bad inputs fail cleanly without
 * leaving files behind.
 */
#include "testutil.h"

#include "gguf/gguf_write.h"
#include "hearth.h"
#include "kernels/kernels.h"
#include "quant/quantize.h"
#include "util/util.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_tmpdir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(g_tmpdir, sizeof g_tmpdir, "/tmp/hearth-test-quantize-XXXXXX");
	return mkdtemp(g_tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", g_tmpdir, name);
	return buf;
}

static bool file_exists(const char *p) { return access(p, F_OK) == 0; }

/* ---- the writer ---- */

static void test_writer_roundtrip(void **state)
{
	(void)state;
	char path[512];
	gguf_writer *w;
	assert_int_equal(gguf_writer_create(64, &w), 0);
	assert_int_equal(gguf_writer_set_str(w, "general.architecture", "llama"), 0);
	assert_int_equal(gguf_writer_set_u32(w, "a.u32", 7), 0);
	hearth_gguf_value v = {.type = HEARTH_GGUF_F32};
	v.v.f64 = 0.5;
	assert_int_equal(gguf_writer_set_value(w, "a.f32", &v), 0);
	v.type = HEARTH_GGUF_I8;
	v.v.i64 = -3;
	assert_int_equal(gguf_writer_set_value(w, "a.i8", &v), 0);
	/* array of i16 */
	const int16_t raw[3] = {-1, 2, 300};
	hearth_gguf_value arr = {.type = HEARTH_GGUF_ARRAY};
	arr.v.arr.type = HEARTH_GGUF_I16;
	arr.v.arr.n = 3;
	arr.v.arr.data = (const uint8_t *)raw;
	assert_int_equal(gguf_writer_set_value(w, "a.arr", &arr), 0);
	/* array of arrays of strings */
	hearth_gguf_value strs[2] = {{.type = HEARTH_GGUF_STRING}, {.type = HEARTH_GGUF_STRING}};
	strs[0].v.str.ptr = "x";
	strs[0].v.str.len = 1;
	strs[1].v.str.ptr = "hello";
	strs[1].v.str.len = 5;
	hearth_gguf_value inner = {.type = HEARTH_GGUF_ARRAY};
	inner.v.arr.type = HEARTH_GGUF_STRING;
	inner.v.arr.n = 2;
	inner.v.arr.items = strs;
	hearth_gguf_value outer = {.type = HEARTH_GGUF_ARRAY};
	outer.v.arr.type = HEARTH_GGUF_ARRAY;
	outer.v.arr.n = 1;
	outer.v.arr.items = &inner;
	assert_int_equal(gguf_writer_set_value(w, "a.nested", &outer), 0);
	/* setting a key again moves it to the end with the new value */
	assert_int_equal(gguf_writer_set_u32(w, "a.u32", 9), 0);

	const int64_t ne_a[2] = {64, 3}, ne_b[1] = {5};
	assert_int_equal(gguf_writer_add_tensor(w, "a", HEARTH_TYPE_Q8_0, 2, ne_a), 0);
	assert_int_equal(gguf_writer_add_tensor(w, "b", HEARTH_TYPE_F32, 1, ne_b), 0);
	assert_int_equal(gguf_writer_add_tensor(w, "a", HEARTH_TYPE_F32, 1, ne_b), HEARTH_EINVAL); /* duplicate */
	const int64_t bad[2] = {33, 1};
	assert_int_equal(gguf_writer_add_tensor(w, "c", HEARTH_TYPE_Q8_0, 2, bad), HEARTH_EINVAL); /* not blocks */
	assert_int_equal(gguf_writer_add_tensor(w, "c", 4, 2, ne_a), HEARTH_EINVAL);              /* removed id */
	assert_int_equal(gguf_writer_add_tensor(w, "c", HEARTH_TYPE_F32, 5, ne_a), HEARTH_EINVAL);
	assert_int_equal(gguf_writer_tensor_size(w, 0), 3 * 68);
	assert_int_equal(gguf_writer_tensor_size(w, 1), 20);

	uint8_t qa[3 * 68];
	float xa[64 * 3], fb[5] = {1, 2, 3, 4, 5};
	for (int i = 0; i < 64 * 3; i++)
		xa[i] = (float)sin(i);
	assert_int_equal(kern_quantize_rows(HEARTH_TYPE_Q8_0, xa, qa, 3, 64), sizeof qa);
	assert_int_equal(gguf_writer_open(w, tmp_path(path, sizeof path, "w.gguf")), 0);
	assert_int_equal(gguf_writer_set_u32(w, "late", 1), HEARTH_EINVAL);
	/* data in pieces that straddle the tensor boundary */
	uint8_t all[sizeof qa + sizeof fb];
	memcpy(all, qa, sizeof qa);
	memcpy(all + sizeof qa, fb, sizeof fb);
	assert_int_equal(gguf_writer_write_data(w, all, 100), 0);
	assert_int_equal(gguf_writer_write_data(w, all + 100, sizeof all - 100), 0);
	assert_int_equal(gguf_writer_write_data(w, all, 1), HEARTH_EINVAL); /* one byte too many */
	assert_int_equal(gguf_writer_close(w), 0);
	uint64_t want_size = gguf_writer_file_size(w);
	gguf_writer_free(w);

	hearth_gguf *g;
	assert_int_equal(hearth_gguf_open(path, &g), 0);
	assert_int_equal(hearth_gguf_file_size(g), want_size);
	assert_int_equal(hearth_gguf_version(g), 3);
	assert_int_equal(hearth_gguf_n_kv(g), 6);
	assert_string_equal(hearth_gguf_kv_key(g, 5), "a.u32");
	uint32_t u;
	assert_int_equal(hearth_gguf_get_u32(g, "a.u32", &u), 0);
	assert_int_equal(u, 9);
	float f;
	assert_int_equal(hearth_gguf_get_f32(g, "a.f32", &f), 0);
	assert_true(f == 0.5f);
	int64_t i8;
	assert_int_equal(hearth_gguf_get_i64(g, "a.i8", &i8), 0);
	assert_int_equal(i8, -3);
	assert_int_equal(hearth_gguf_get(g, "a.i8")->type, HEARTH_GGUF_I8);
	const hearth_gguf_value *a;
	assert_int_equal(hearth_gguf_get_arr(g, "a.arr", HEARTH_GGUF_I16, &a), 0);
	assert_int_equal(a->v.arr.n, 3);
	assert_int_equal(hearth_gguf_arr_i64(a, 2), 300);
	assert_int_equal(hearth_gguf_arr_i64(a, 0), -1);
	assert_int_equal(hearth_gguf_get_arr(g, "a.nested", HEARTH_GGUF_ARRAY, &a), 0);
	assert_int_equal(a->v.arr.n, 1);
	assert_int_equal(a->v.arr.items[0].v.arr.n, 2);
	assert_int_equal(a->v.arr.items[0].v.arr.items[1].v.str.len, 5);
	assert_memory_equal(a->v.arr.items[0].v.arr.items[1].v.str.ptr, "hello", 5);
	const hearth_gguf_tensor *t = hearth_gguf_tensor_find(g, "a");
	assert_non_null(t);
	assert_int_equal(t->type, HEARTH_TYPE_Q8_0);
	assert_int_equal(t->ne[1], 3);
	assert_memory_equal(t->data, qa, sizeof qa);
	t = hearth_gguf_tensor_find(g, "b");
	assert_non_null(t);
	assert_int_equal(t->offset % 64, 0);
	assert_memory_equal(t->data, fb, sizeof fb);
	hearth_gguf_free(g);

	/* closing before all data is written is an error */
	assert_int_equal(gguf_writer_create(32, &w), 0);
	assert_int_equal(gguf_writer_add_tensor(w, "b", HEARTH_TYPE_F32, 1, ne_b), 0);
	assert_int_equal(gguf_writer_open(w, tmp_path(path, sizeof path, "short.gguf")), 0);
	assert_int_equal(gguf_writer_write_data(w, fb, 8), 0);
	assert_int_equal(gguf_writer_close(w), HEARTH_EINVAL);
	gguf_writer_free(w);
	assert_int_equal(gguf_writer_create(3, &w), HEARTH_EINVAL);
	assert_null(w);
}

/* ---- the type plan against llama-quantize's files ---- */

static void check_plan(const char *base, const char *ref, const char *ftype)
{
	char p1[4096], p2[4096];
	hearth_gguf *in, *rf;
	assert_int_equal(hearth_gguf_open(tu_path(p1, sizeof p1, base), &in), 0);
	assert_int_equal(hearth_gguf_open(tu_path(p2, sizeof p2, ref), &rf), 0);
	const int64_t n = hearth_gguf_n_tensors(in);
	assert_int_equal(n, hearth_gguf_n_tensors(rf));
	int64_t *order = calloc((size_t)n, sizeof *order);
	int *types = calloc((size_t)n, sizeof *types);
	assert_int_equal(hx_quantize_plan(in, ftype, false, order, types, NULL), 0);
	int agree = 0;
	for (int64_t k = 0; k < n; k++) {
		const hearth_gguf_tensor *t = hearth_gguf_tensor_at(in, order[k]);
		const hearth_gguf_tensor *r = hearth_gguf_tensor_at(rf, k);
		assert_string_equal(t->name, r->name); /* same processing / file order */
		if (types[order[k]] == r->type)
			agree++;
		else
			print_message("%s %s: planned %s, llama-quantize chose %s\n", ftype, t->name,
			              hearth_type_name(types[order[k]]), hearth_type_name(r->type));
	}
	print_message("  %-8s %-26s %d/%d tensor types agree\n", ftype, ref, agree, (int)n);
	assert_int_equal(agree, n);
	free(order);
	free(types);
	hearth_gguf_free(in);
	hearth_gguf_free(rf);
}

static void test_plan_matches_reference(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	static const char *const sweep[] = {"F16",  "BF16", "Q8_0",   "Q4_0",   "Q4_1", "Q5_0",   "Q5_1",
	                                    "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS"};
	char ref[128];
	for (size_t i = 0; i < HX_ARRAY_LEN(sweep); i++) {
		snprintf(ref, sizeof ref, "models/llama-q-sweep-%s.gguf", sweep[i]);
		check_plan("models/llama-q-sweep-f32.gguf", ref, sweep[i]);
	}
	/* rows of 32: Q6_K output falls back to Q8_0; tied heads */
	check_plan("models/llama-spm-f32.gguf", "models/llama-spm-q4_0.gguf", "Q4_0");
	check_plan("models/llama-spm-f32.gguf", "models/llama-spm-q8_0.gguf", "Q8_0");
	check_plan("models/qwen2-f32.gguf", "models/qwen2-q4_0.gguf", "Q4_0");
	check_plan("models/qwen3-f32.gguf", "models/qwen3-q4_0.gguf", "Q4_0");
	check_plan("models/smollm3-f32.gguf", "models/smollm3-q4_0.gguf", "q4_0");
}

/* Mix rules the sweep cannot show (2 layers, GQA 2): checked on the plan alone. */
static void test_plan_rules(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	char p[4096];
	hearth_gguf *in;
	assert_int_equal(hearth_gguf_open(tu_path(p, sizeof p, "models/llama-q-sweep-f32.gguf"), &in), 0);
	const int64_t n = hearth_gguf_n_tensors(in);
	int64_t order[64];
	int types[64];
	assert_true(n <= 64);
	struct {
		const char *ftype;
		const char *name;
		int type;
	} cases[] = {
		{"Q3_K_S", "blk.0.attn_v.weight", HEARTH_TYPE_Q3_K},   {"Q3_K_S", "output.weight", HEARTH_TYPE_Q6_K},
		{"Q3_K_L", "blk.1.attn_v.weight", HEARTH_TYPE_Q5_K},   {"Q3_K_L", "blk.0.ffn_down.weight", HEARTH_TYPE_Q5_K},
		{"Q3_K_L", "blk.0.attn_output.weight", HEARTH_TYPE_Q5_K}, {"Q3_K_L", "blk.0.attn_q.weight", HEARTH_TYPE_Q3_K},
		{"Q4_K_S", "blk.1.attn_v.weight", HEARTH_TYPE_Q5_K},   {"Q4_K_S", "blk.1.ffn_down.weight", HEARTH_TYPE_Q4_K},
		{"Q4_K_S", "token_embd.weight", HEARTH_TYPE_Q4_K},     {"Q5_K_S", "blk.1.attn_v.weight", HEARTH_TYPE_Q5_K},
		{"Q5_K_S", "output.weight", HEARTH_TYPE_Q6_K},         {"Q4_K", "blk.1.attn_v.weight", HEARTH_TYPE_Q6_K},
		{"F32", "output.weight", HEARTH_TYPE_F32},             {"Q2_K", "output_norm.weight", HEARTH_TYPE_F32},
	};
	for (size_t i = 0; i < HX_ARRAY_LEN(cases); i++) {
		assert_int_equal(hx_quantize_plan(in, cases[i].ftype, false, order, types, NULL), 0);
		const hearth_gguf_tensor *t = hearth_gguf_tensor_find(in, cases[i].name);
		assert_non_null(t);
		int64_t idx = t - hearth_gguf_tensor_at(in, 0);
		if (types[idx] != cases[i].type)
			print_message("%s %s: %s\n", cases[i].ftype, cases[i].name, hearth_type_name(types[idx]));
		assert_int_equal(types[idx], cases[i].type);
	}
	/* --pure: every quantizable weight gets the base type, norms stay */
	assert_int_equal(hx_quantize_plan(in, "Q4_K_M", true, order, types, NULL), 0);
	for (int64_t i = 0; i < n; i++) {
		const hearth_gguf_tensor *t = hearth_gguf_tensor_at(in, i);
		assert_int_equal(types[i], t->n_dims >= 2 ? HEARTH_TYPE_Q4_K : HEARTH_TYPE_F32);
	}
	assert_int_equal(hx_quantize_plan(in, "Q4_K_Z", false, order, types, NULL), HEARTH_EINVAL);
	hearth_gguf_free(in);

	/* the spm model's rows of 32: K-quants fall back (Q4_K -> Q5_0, Q6_K -> Q8_0, Q2_K/Q3_K -> IQ4_NL) */
	assert_int_equal(hearth_gguf_open(tu_path(p, sizeof p, "models/llama-spm-f32.gguf"), &in), 0);
	int64_t order2[64], nfb = 0;
	int types2[64];
	assert_true(hearth_gguf_n_tensors(in) <= 64);
	assert_int_equal(hx_quantize_plan(in, "Q4_K_M", false, order2, types2, &nfb), 0);
	assert_true(nfb > 0);
	for (int64_t i = 0; i < hearth_gguf_n_tensors(in); i++) {
		const hearth_gguf_tensor *t = hearth_gguf_tensor_at(in, i);
		if (t->n_dims < 2)
			continue;
		int want = HEARTH_TYPE_Q5_0; /* Q4_K */
		if (strcmp(t->name, "output.weight") == 0 || strstr(t->name, "blk.1.attn_v") ||
		    strstr(t->name, "blk.1.ffn_down"))
			want = HEARTH_TYPE_Q8_0; /* Q6_K */
		if (types2[i] != want)
			print_message("%s: %s, expected %s\n", t->name, hearth_type_name(types2[i]), hearth_type_name(want));
		assert_int_equal(types2[i], want);
	}
	assert_int_equal(hx_quantize_plan(in, "Q2_K", false, order2, types2, NULL), 0);
	const hearth_gguf_tensor *q = hearth_gguf_tensor_find(in, "blk.0.attn_q.weight");
	assert_int_equal(types2[q - hearth_gguf_tensor_at(in, 0)], HEARTH_TYPE_IQ4_NL);
	hearth_gguf_free(in);
}

/* ---- whole files ---- */

struct prog {
	int64_t calls, last_done, total;
};

static void on_progress(void *user, int64_t done, int64_t total, const char *what)
{
	struct prog *p = user;
	assert_true(done == p->last_done + 1);
	assert_true(what && what[0]);
	p->calls++;
	p->last_done = done;
	p->total = total;
}

static bool files_equal(const char *a, const char *b)
{
	char *x, *y;
	size_t nx, ny;
	if (hx_read_file(a, &x, &nx) || hx_read_file(b, &y, &ny))
		return false;
	bool eq = nx == ny && memcmp(x, y, nx) == 0;
	free(x);
	free(y);
	return eq;
}

static void test_quantize_file_identical(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	static const char *const types[] = {"Q4_K_M", "Q3_K_M", "Q5_K_M", "Q2_K", "Q8_0", "IQ4_XS", "BF16"};
	char in[4096], ref[4096], out[512], tmp[600], name[128];
	tu_path(in, sizeof in, "models/llama-q-sweep-f32.gguf");
	tmp_path(out, sizeof out, "out.gguf");
	snprintf(tmp, sizeof tmp, "%s.tmp", out);
	for (size_t i = 0; i < HX_ARRAY_LEN(types); i++) {
		hearth_quantize_params p = hearth_quantize_default_params();
		struct prog pr = {0};
		p.ftype = types[i];
		p.n_threads = (int)i % 3 + 1; /* 1..3 threads: the bytes must not depend on it */
		p.progress = on_progress;
		p.progress_user = &pr;
		hx_quantize_stats st;
		assert_int_equal(hx_quantize_file(in, out, &p, false, &st), 0);
		assert_false(file_exists(tmp));
		assert_int_equal(pr.calls, 21);
		assert_int_equal(pr.total, 21);
		snprintf(name, sizeof name, "models/llama-q-sweep-%s.gguf", types[i]);
		tu_path(ref, sizeof ref, name);
		assert_true(files_equal(out, ref));
		assert_int_equal(st.n_tensors, 21);
		struct stat sb;
		assert_int_equal(stat(out, &sb), 0);
		assert_int_equal(st.out_file_size, (uint64_t)sb.st_size);
		assert_int_equal(st.in_data_bytes, (uint64_t)st.n_elements * 4);
		/* per-type statistics: converted tensors have an error in the type's usual range */
		for (int t = 0; t < HEARTH_TYPE_COUNT; t++) {
			const hx_quant_type_stats *ts = &st.types[t];
			if (!ts->n_converted)
				continue;
			double rel = sqrt(ts->err2 / ts->x2);
			assert_true(rel < (t == HEARTH_TYPE_Q2_K ? 0.35 : 0.2));
			assert_true(rel > 0.0 || t == HEARTH_TYPE_F32);
		}
	}
	/* the output reads back: metadata kept, file type set, weights close to the input */
	hearth_quantize_params p = hearth_quantize_default_params();
	p.ftype = "Q6_K";
	assert_int_equal(hearth_quantize_file(in, out, &p), 0);
	hearth_gguf *gi, *go;
	assert_int_equal(hearth_gguf_open(in, &gi), 0);
	assert_int_equal(hearth_gguf_open(out, &go), 0);
	uint32_t ft = 0, qv = 0;
	assert_int_equal(hearth_gguf_get_u32(go, "general.file_type", &ft), 0);
	assert_int_equal(ft, 18);
	assert_int_equal(hearth_gguf_get_u32(go, "general.quantization_version", &qv), 0);
	assert_int_equal(qv, 2);
	assert_int_equal(hearth_gguf_n_kv(go), hearth_gguf_n_kv(gi) + 1);
	hearth_str a, b;
	assert_int_equal(hearth_gguf_get_str(gi, "tokenizer.chat_template", &a), 0);
	assert_int_equal(hearth_gguf_get_str(go, "tokenizer.chat_template", &b), 0);
	assert_true(a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0);
	const hearth_gguf_tensor *ti = hearth_gguf_tensor_find(gi, "blk.1.ffn_up.weight");
	const hearth_gguf_tensor *to = hearth_gguf_tensor_find(go, "blk.1.ffn_up.weight");
	assert_int_equal(to->type, HEARTH_TYPE_Q6_K);
	float *y = malloc((size_t)to->n_elements * sizeof(float));
	const size_t rs = kern_row_size(to->type, to->ne[0]);
	for (int64_t r = 0; r < to->ne[1]; r++)
		kern_dequant_row(to->type, (const uint8_t *)to->data + r * rs, y + r * to->ne[0], to->ne[0]);
	double e2 = 0, x2 = 0;
	const float *x = ti->data;
	for (int64_t i = 0; i < to->n_elements; i++) {
		e2 += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
		x2 += (double)x[i] * x[i];
	}
	assert_true(sqrt(e2 / x2) < 0.025);
	free(y);
	hearth_gguf_free(gi);
	hearth_gguf_free(go);
}

static void test_quantize_file_errors(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	char in[4096], out[512], tmp[600];
	tmp_path(out, sizeof out, "bad.gguf");
	snprintf(tmp, sizeof tmp, "%s.tmp", out);
	hearth_quantize_params p = hearth_quantize_default_params();
	assert_string_equal(p.ftype, "Q4_K_M");
	/* already quantized input */
	assert_int_equal(hearth_quantize_file(tu_path(in, sizeof in, "models/llama-q-sweep-Q4_0.gguf"), out, &p),
	                 HEARTH_EUNSUPPORTED);
	assert_non_null(strstr(hearth_errmsg(), "already quantized"));
	assert_false(file_exists(out));
	assert_false(file_exists(tmp));
	/* unknown type */
	p.ftype = "Q7_K";
	assert_int_equal(hearth_quantize_file(tu_path(in, sizeof in, "models/llama-q-sweep-f32.gguf"), out, &p),
	                 HEARTH_EINVAL);
	assert_false(file_exists(out));
	/* missing input, unwritable output */
	p.ftype = "Q8_0";
	assert_int_equal(hearth_quantize_file("/nonexistent/x.gguf", out, &p), HEARTH_EIO);
	assert_int_equal(hearth_quantize_file(in, "/nonexistent/dir/out.gguf", &p), HEARTH_EIO);
	assert_false(file_exists(out));
	/* a malformed input */
	assert_int_equal(hearth_quantize_file(tu_path(in, sizeof in, "quant/quant-types.json"), out, &p),
	                 HEARTH_EFORMAT);
	assert_false(file_exists(out));
	assert_false(file_exists(tmp));
}

static void test_ftype_table(void **state)
{
	(void)state;
	int n;
	const hx_ftype_info *t = hx_ftype_table(&n);
	assert_true(n >= 19);
	for (int i = 0; i < n; i++) {
		assert_true(hearth_type_supported(t[i].base_type));
		assert_ptr_equal(hx_ftype_find(t[i].name), &t[i]);
		if (t[i].alias_of)
			assert_int_equal(hx_ftype_find(t[i].alias_of)->ftype, t[i].ftype);
	}
	assert_int_equal(hx_ftype_find("q4_k_m")->ftype, 15);
	assert_int_equal(hx_ftype_find("Q2_K")->ftype, 10);
	assert_int_equal(hx_ftype_find("BF16")->ftype, 32);
	assert_null(hx_ftype_find("Q4"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ftype_table),
		cmocka_unit_test(test_writer_roundtrip),
		cmocka_unit_test(test_plan_matches_reference),
		cmocka_unit_test(test_plan_rules),
		cmocka_unit_test(test_quantize_file_identical),
		cmocka_unit_test(test_quantize_file_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
