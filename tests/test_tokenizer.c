/*
 * test_tokenizer.c - tokenizer tests: every golden .inp/.out set in
 * testdata/vocab (table-driven from index.json; per-set match counts printed;
 * the bert WordPiece vocabulary included), hostile vocabularies rejected,
 * crafted vocabularies with each validation error, the golden model prompts,
 * streaming detokenization (UTF-8 split across tokens, byte tokens, leading
 * space, control tokens), round trips, the n_max contract, and 100 KB of one
 * repeated character (timed, not asserted).
 */
#include "testutil.h"

#include "hearth.h"

#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = 0;
		*len = (size_t)n;
	}
	return buf;
}

struct loaded {
	hearth_gguf *g;
	hearth_vocab *v;
};

static int load_vocab(const char *rel, struct loaded *l)
{
	char path[4096];
	memset(l, 0, sizeof *l);
	if (!tu_path(path, sizeof path, rel))
		return -1;
	int rc = hearth_gguf_open(path, &l->g);
	if (rc) {
		print_message("open %s: %s\n", rel, hearth_errmsg());
		return rc;
	}
	rc = hearth_vocab_load(l->g, &l->v);
	if (rc)
		print_message("vocab %s: %s\n", rel, hearth_errmsg());
	return rc;
}

static void unload(struct loaded *l)
{
	hearth_vocab_free(l->v);
	hearth_gguf_free(l->g);
}

static const char k_sep[] = "\n__ggml_vocab_test__\n";

/* Runs one golden set; returns the number of mismatches (prints the first few). */
static int run_set(const hearth_vocab *v, const char *inp_rel, const char *out_rel, bool parse_special,
                   int *n_inputs)
{
	char p1[4096], p2[4096];
	size_t il, ol;
	tu_path(p1, sizeof p1, inp_rel);
	tu_path(p2, sizeof p2, out_rel);
	char *inp = read_all(p1, &il), *out = read_all(p2, &ol);
	assert_non_null(inp);
	assert_non_null(out);
	size_t pos = 0;
	char *line = out, *line_end;
	int bad = 0, n = 0;
	size_t cap = 1 << 16;
	int32_t *ids = malloc(cap * sizeof *ids);
	for (;;) {
		char *s = memmem(inp + pos, il - pos, k_sep, sizeof k_sep - 1);
		if (!s)
			break;
		size_t tl = (size_t)(s - (inp + pos));
		size_t nt;
		int rc = hearth_tokenize(v, inp + pos, tl, false, parse_special, ids, cap, &nt);
		assert_int_equal(rc, 0);
		line_end = strchr(line, '\n');
		assert_non_null(line_end);
		*line_end = 0;
		/* parse expected */
		size_t ne = 0;
		bool same = true;
		char *q = line;
		for (;;) {
			while (*q == ' ')
				q++;
			if (!*q)
				break;
			long x = strtol(q, &q, 10);
			if (ne >= nt || ids[ne] != x)
				same = false;
			ne++;
		}
		if (ne != nt)
			same = false;
		if (!same) {
			if (bad < 3) {
				print_message("  MISMATCH %s #%d: input \"%.*s\"\n    want:%s\n    got: ", inp_rel, n,
				              (int)(tl > 80 ? 80 : tl), inp + pos, line);
				for (size_t k = 0; k < nt && k < 60; k++)
					print_message(" %d", ids[k]);
				print_message("\n");
			}
			bad++;
		}
		n++;
		line = line_end + 1;
		pos = (size_t)(s - inp) + sizeof k_sep - 1;
	}
	free(ids);
	free(inp);
	free(out);
	*n_inputs = n;
	return bad;
}

static void test_golden_sets(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	char path[4096];
	tu_path(path, sizeof path, "vocab/index.json");
	json_error_t jerr;
	json_t *idx = json_load_file(path, 0, &jerr);
	assert_non_null(idx);
	int total_bad = 0, total = 0;
	size_t i;
	json_t *entry;
	json_array_foreach(idx, i, entry)
	{
		const char *name = json_string_value(json_object_get(entry, "vocab"));
		const char *gguf = json_string_value(json_object_get(entry, "gguf"));
		char rel[512];
		snprintf(rel, sizeof rel, "vocab/%s", gguf);
		struct loaded l;
		assert_int_equal(load_vocab(rel, &l), 0);
		size_t j;
		json_t *set;
		json_array_foreach(json_object_get(entry, "sets"), j, set)
		{
			char ri[512], ro[512];
			snprintf(ri, sizeof ri, "vocab/%s", json_string_value(json_object_get(set, "inp")));
			snprintf(ro, sizeof ro, "vocab/%s", json_string_value(json_object_get(set, "out")));
			bool ps = json_is_true(json_object_get(set, "parse_special"));
			int n;
			int bad = run_set(l.v, ri, ro, ps, &n);
			print_message("%-16s %-9s %3d/%3d match\n", name, json_string_value(json_object_get(set, "kind")),
			              n - bad, n);
			total_bad += bad;
			total += n;
		}
		unload(&l);
	}
	json_decref(idx);
	print_message("golden total: %d/%d inputs match\n", total - total_bad, total);
	assert_int_equal(total_bad, 0);
}

/* The prompts of the golden model runs (testdata/golden/<model>.json) must give
 * the prompt tokens llama.cpp fed the model: add_special and parse_special on, so
 * this checks BOS per add_bos and SPM's space after special tokens. */
static void test_golden_prompts(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	static const char *const models[] = {"llama-spm-f32", "qwen2-f32", "qwen3-f32", "smollm3-f32",
	                                     "llama-q-sweep-f32"};
	int n_ok = 0, n_all = 0;
	for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
		char rel[256], path[4096];
		snprintf(rel, sizeof rel, "golden/%s.json", models[m]);
		tu_path(path, sizeof path, rel);
		json_error_t jerr;
		json_t *j = json_load_file(path, 0, &jerr);
		assert_non_null(j);
		snprintf(rel, sizeof rel, "models/%s.gguf", models[m]);
		struct loaded l;
		assert_int_equal(load_vocab(rel, &l), 0);
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(j, "cases"), i, c)
		{
			const char *prompt = json_string_value(json_object_get(c, "prompt"));
			if (!prompt)
				continue;
			json_t *toks = json_object_get(c, "tokens");
			size_t np = (size_t)json_integer_value(json_object_get(c, "n_prompt"));
			int32_t ids[4096];
			size_t n;
			assert_int_equal(hearth_tokenize(l.v, prompt, strlen(prompt), true, true, ids, 4096, &n), 0);
			/* the allocating form gives the same ids */
			int32_t *all;
			size_t na;
			assert_int_equal(hearth_tokenize_alloc(l.v, prompt, strlen(prompt), true, true, &all, &na), 0);
			assert_int_equal(na, n);
			assert_memory_equal(all, ids, n * sizeof *ids);
			free(all);
			bool same = n == np;
			for (size_t k = 0; same && k < np; k++)
				same = ids[k] == json_integer_value(json_array_get(toks, k));
			if (!same)
				print_message("  MISMATCH %s %s: %zu tokens, want %zu\n", models[m],
				              json_string_value(json_object_get(c, "name")), n, np);
			n_ok += same;
			n_all++;
		}
		unload(&l);
		json_decref(j);
	}
	print_message("golden model prompts: %d/%d match\n", n_ok, n_all);
	assert_int_equal(n_ok, n_all);
}

/* ---- a tiny GGUF writer for crafted vocabularies ---- */
struct gw {
	unsigned char buf[8192];
	size_t n;
	uint64_t n_kv;
};

static void gw_raw(struct gw *w, const void *p, size_t n)
{
	assert_true(w->n + n <= sizeof w->buf);
	memcpy(w->buf + w->n, p, n);
	w->n += n;
}

static void gw_u32(struct gw *w, uint32_t x)
{
	gw_raw(w, &x, 4);
}

static void gw_u64(struct gw *w, uint64_t x)
{
	gw_raw(w, &x, 8);
}

static void gw_str(struct gw *w, const char *s)
{
	gw_u64(w, strlen(s));
	gw_raw(w, s, strlen(s));
}

static void gw_key(struct gw *w, const char *k, uint32_t type)
{
	gw_str(w, k);
	gw_u32(w, type);
	w->n_kv++;
}

static void gw_kv_str(struct gw *w, const char *k, const char *v)
{
	gw_key(w, k, HEARTH_GGUF_STRING);
	gw_str(w, v);
}

static void gw_kv_strs(struct gw *w, const char *k, const char *const *v, size_t n)
{
	gw_key(w, k, HEARTH_GGUF_ARRAY);
	gw_u32(w, HEARTH_GGUF_STRING);
	gw_u64(w, n);
	for (size_t i = 0; i < n; i++)
		gw_str(w, v[i]);
}

static void gw_kv_u32(struct gw *w, const char *k, uint32_t v)
{
	gw_key(w, k, HEARTH_GGUF_U32);
	gw_u32(w, v);
}

static void gw_kv_bool(struct gw *w, const char *k, bool v)
{
	gw_key(w, k, HEARTH_GGUF_BOOL);
	unsigned char b = v;
	gw_raw(w, &b, 1);
}

/* Builds a whole file: header + the kv bytes in `body` + padding. */
static size_t gw_finish(const struct gw *body, unsigned char *out, size_t cap)
{
	size_t n = 0;
	memcpy(out, "GGUF", 4);
	uint32_t ver = 3;
	memcpy(out + 4, &ver, 4);
	uint64_t nt = 0, nkv = body->n_kv;
	memcpy(out + 8, &nt, 8);
	memcpy(out + 16, &nkv, 8);
	n = 24;
	assert_true(n + body->n + 32 <= cap);
	memcpy(out + n, body->buf, body->n);
	n += body->n;
	while (n % 32)
		out[n++] = 0;
	return n;
}

static const char *const k_small_tokens[] = {"a", "b", "ab", "<|x|>", "c"};
static const char *const k_small_merges[] = {"a b"};

/* Loads a crafted vocabulary; returns the load result (and the message). */
static int load_crafted(struct gw *w, unsigned char *file, size_t cap, hearth_vocab **v)
{
	size_t n = gw_finish(w, file, cap);
	hearth_gguf *g;
	int rc = hearth_gguf_open_memory(file, n, "crafted", &g);
	if (rc) {
		print_message("crafted file rejected by the GGUF reader: %s\n", hearth_errmsg());
		return rc;
	}
	rc = hearth_vocab_load(g, v);
	hearth_gguf_free(g);
	return rc;
}

static void test_crafted_vocabs(void **state)
{
	(void)state;
	static unsigned char file[9000];
	hearth_vocab *v;
	struct gw w;

	/* a valid tiny BPE vocabulary: loads, merges, frees the gguf first */
	memset(&w, 0, sizeof w);
	gw_kv_str(&w, "tokenizer.ggml.model", "gpt2");
	gw_kv_str(&w, "tokenizer.ggml.pre", "qwen2");
	gw_kv_strs(&w, "tokenizer.ggml.tokens", k_small_tokens, 5);
	gw_kv_strs(&w, "tokenizer.ggml.merges", k_small_merges, 1);
	assert_int_equal(load_crafted(&w, file, sizeof file, &v), 0);
	int32_t ids[8];
	size_t n;
	assert_int_equal(hearth_tokenize(v, "abc", 3, true, false, ids, 8, &n), 0);
	int32_t *none = NULL;
	size_t nn = 1;
	assert_int_equal(hearth_tokenize_alloc(v, "", 0, false, false, &none, &nn), 0);
	assert_non_null(none); /* an array even for no tokens */
	assert_int_equal(nn, 0);
	free(none);
	assert_int_equal(hearth_tokenize_alloc(v, NULL, 3, false, false, &none, &nn), HEARTH_EINVAL);
	assert_null(none);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 2);
	assert_int_equal(ids[1], 4);
	assert_int_equal(hearth_vocab_token_type(v, 3), HEARTH_TOKEN_NORMAL);
	hearth_vocab_free(v);

	struct {
		const char *what, *key;
		int rc;
	} bad[] = {
		{"unknown pre-tokenizer", "'no-such-pre'", HEARTH_EUNSUPPORTED},
		{"merge without a space", "tokenizer.ggml.merges", HEARTH_EFORMAT},
		{"bos out of range", "tokenizer.ggml.bos_token_id", HEARTH_EFORMAT},
		{"missing tokens", "tokenizer.ggml.tokens", HEARTH_ENOTFOUND},
		{"unknown model", "'t5'", HEARTH_EUNSUPPORTED},
		{"add_bos without bos", "add_bos_token", HEARTH_EFORMAT},
		{"missing merges", "tokenizer.ggml.merges", HEARTH_ENOTFOUND},
		{"tokens not an array", "tokenizer.ggml.tokens", HEARTH_ETYPE},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&w, 0, sizeof w);
		gw_kv_str(&w, "tokenizer.ggml.model", i == 4 ? "t5" : "gpt2");
		gw_kv_str(&w, "tokenizer.ggml.pre", i == 0 ? "no-such-pre" : i == 5 ? "default" : "gpt-2");
		if (i == 7)
			gw_kv_str(&w, "tokenizer.ggml.tokens", "a");
		else if (i != 3)
			gw_kv_strs(&w, "tokenizer.ggml.tokens", k_small_tokens, i == 5 ? 3 : 5);
		static const char *const bad_merge[] = {"ab"};
		if (i != 6)
			gw_kv_strs(&w, "tokenizer.ggml.merges", i == 1 ? bad_merge : k_small_merges, 1);
		if (i == 2)
			gw_kv_u32(&w, "tokenizer.ggml.bos_token_id", 5);
		if (i == 5)
			gw_kv_bool(&w, "tokenizer.ggml.add_bos_token", true);
		v = (hearth_vocab *)1;
		int rc = load_crafted(&w, file, sizeof file, &v);
		print_message("%-22s -> %s\n", bad[i].what, hearth_errmsg());
		assert_int_equal(rc, bad[i].rc);
		assert_null(v);
		assert_non_null(strstr(hearth_errmsg(), bad[i].key));
	}
}

static void test_hostile(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	struct loaded l;
	char path[4096];
	static const struct {
		const char *file;
		const char *key;
	} cases[] = {
		{"hostile/29-tokens-u8-array.gguf", "tokenizer.ggml.tokens"},
		{"hostile/30-scores-shorter.gguf", "tokenizer.ggml.scores"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tu_path(path, sizeof path, cases[i].file);
		hearth_gguf *g;
		assert_int_equal(hearth_gguf_open(path, &g), 0);
		hearth_vocab *v = (hearth_vocab *)1;
		int rc = hearth_vocab_load(g, &v);
		assert_true(rc < 0);
		assert_null(v);
		print_message("%s: rejected: %s\n", cases[i].file, hearth_errmsg());
		assert_non_null(strstr(hearth_errmsg(), cases[i].key));
		hearth_gguf_free(g);
	}
	/* the valid tiny model's vocabulary loads */
	assert_int_equal(load_vocab("hostile/00-valid-tiny.gguf", &l), 0);
	assert_int_equal(hearth_vocab_n_tokens(l.v), 300);
	unload(&l);
}

/* Tokenizes text and checks detokenize(tokenize(x)) == x (with the SPM space strip). */
static void check_roundtrip(const hearth_vocab *v, const char *text, size_t len)
{
	size_t n;
	int rc = hearth_tokenize(v, text, len, false, false, NULL, 0, &n);
	assert_true(rc == 0 || rc == HEARTH_ELIMIT);
	int32_t *ids = malloc((n + 1) * sizeof *ids);
	size_t n2;
	assert_int_equal(hearth_tokenize(v, text, len, false, false, ids, n, &n2), 0);
	assert_int_equal(n, n2);
	char *out;
	size_t ol;
	assert_int_equal(hearth_detokenize(v, ids, n, HEARTH_DETOK_STRIP_SPACE, &out, &ol), 0);
	if (ol != len || memcmp(out, text, len) != 0)
		print_message("round trip failed for \"%.*s\" -> \"%s\"\n", (int)len, text, out);
	assert_int_equal(ol, len);
	assert_memory_equal(out, text, len);
	free(out);
	free(ids);
}

static const char *const k_round[] = {
	"Hello world",
	"  leading and trailing spaces  ",
	"tabs\tand\nnewlines\r\n",
	"naïve café — 日本語のテキスト 🦙👨‍👩‍👧",
	"1234567890 3.14159 ١٢٣",
	"<|im_start|>not special<|im_end|> <s> [INST]",
	"\xF4\x8F\xBF\xBF U+10FFFF and \xEF\xBB\xBF BOM",
	"",
};

static void test_roundtrip(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	static const char *const vocabs[] = {"vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-qwen2.gguf",
	                                     "vocab/ggml-vocab-llama-bpe.gguf", "vocab/ggml-vocab-gpt-2.gguf",
	                                     "vocab/ggml-vocab-falcon.gguf"};
	for (size_t i = 0; i < sizeof vocabs / sizeof vocabs[0]; i++) {
		struct loaded l;
		assert_int_equal(load_vocab(vocabs[i], &l), 0);
		for (size_t k = 0; k < sizeof k_round / sizeof k_round[0]; k++) {
			/* gpt-2/falcon have <|endoftext|> as an EOG token matched in text: skip
			 * the special-looking string there */
			check_roundtrip(l.v, k_round[k], strlen(k_round[k]));
		}
		unload(&l);
	}
}

static void test_detok_stream(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	struct loaded l;
	assert_int_equal(load_vocab("vocab/ggml-vocab-llama-spm.gguf", &l), 0);
	const hearth_vocab *v = l.v;
	/* "é" = C3 A9 as byte tokens: nothing after the first byte, the whole char after the second */
	int32_t b1 = hearth_vocab_find(v, "<0xC3>", 6), b2 = hearth_vocab_find(v, "<0xA9>", 6);
	assert_true(b1 >= 0 && b2 >= 0);
	hearth_detok *d;
	assert_int_equal(hearth_detok_create(v, 0, &d), 0);
	const char *t;
	size_t tl;
	assert_int_equal(hearth_detok_push(d, b1, &t, &tl), 0);
	assert_int_equal(tl, 0);
	assert_int_equal(hearth_detok_push(d, b2, &t, &tl), 0);
	assert_int_equal(tl, 2);
	assert_memory_equal(t, "\xC3\xA9", 2);
	/* an incomplete sequence at the end becomes U+FFFD on flush */
	assert_int_equal(hearth_detok_push(d, b1, &t, &tl), 0);
	assert_int_equal(tl, 0);
	assert_int_equal(hearth_detok_flush(d, &t, &tl), 0);
	assert_int_equal(tl, 3);
	assert_memory_equal(t, "\xEF\xBF\xBD", 3);
	/* an invalid continuation: C3 then 'A' -> U+FFFD then 'A' */
	int32_t a = hearth_vocab_find(v, "A", 1);
	assert_true(a >= 0);
	assert_int_equal(hearth_detok_push(d, b1, &t, &tl), 0);
	assert_int_equal(hearth_detok_push(d, a, &t, &tl), 0);
	assert_int_equal(tl, 4);
	assert_memory_equal(t, "\xEF\xBF\xBD" "A", 4);
	hearth_detok_free(d);

	/* leading-space strip and control tokens */
	int32_t ids[16];
	size_t n;
	assert_int_equal(hearth_tokenize(v, "Hello world", 11, true, false, ids, 16, &n), 0);
	assert_int_equal(ids[0], 1); /* BOS */
	char *out;
	assert_int_equal(hearth_detokenize(v, ids + 1, n - 1, HEARTH_DETOK_STRIP_SPACE, &out, NULL), 0);
	assert_string_equal(out, "Hello world");
	free(out);
	assert_int_equal(hearth_detokenize(v, ids + 1, n - 1, 0, &out, NULL), 0);
	assert_string_equal(out, " Hello world");
	free(out);
	assert_int_equal(hearth_detokenize(v, ids, n, 0, &out, NULL), 0);
	assert_string_equal(out, " Hello world"); /* BOS is control: not rendered */
	free(out);
	assert_int_equal(hearth_detokenize(v, ids, n, HEARTH_DETOK_SPECIAL, &out, NULL), 0);
	assert_string_equal(out, "<s> Hello world");
	free(out);
	/* SKIP_BOS drops a leading BOS and then, like llama.cpp, keeps the space */
	assert_int_equal(hearth_detokenize(v, ids, n, HEARTH_DETOK_SKIP_BOS | HEARTH_DETOK_STRIP_SPACE | HEARTH_DETOK_SPECIAL,
	                                   &out, NULL),
	                 0);
	assert_string_equal(out, " Hello world");
	free(out);
	assert_true(hearth_detok_create(v, 0, &d) == 0);
	assert_int_equal(hearth_detok_push(d, 99999999, &t, &tl), HEARTH_EINVAL);
	hearth_detok_free(d);
	unload(&l);

	/* qwen2: a 4-byte emoji split across byte-level tokens comes out whole */
	assert_int_equal(load_vocab("vocab/ggml-vocab-qwen2.gguf", &l), 0);
	v = l.v;
	const char *emoji = "\xF0\x9F\xA6\x99\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9";
	assert_int_equal(hearth_tokenize(v, emoji, strlen(emoji), false, false, ids, 16, &n), 0);
	assert_true(n >= 2);
	assert_int_equal(hearth_detok_create(v, 0, &d), 0);
	char acc[64];
	size_t al = 0;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(hearth_detok_push(d, ids[i], &t, &tl), 0);
		/* every emitted chunk is valid UTF-8 on its own: it must not end mid-sequence */
		if (tl) {
			unsigned char last = (unsigned char)t[tl - 1];
			assert_true(last < 0x80 || (last & 0xC0) == 0x80);
		}
		memcpy(acc + al, t, tl);
		al += tl;
	}
	assert_int_equal(hearth_detok_flush(d, &t, &tl), 0);
	assert_int_equal(tl, 0);
	assert_int_equal(al, strlen(emoji));
	assert_memory_equal(acc, emoji, al);
	hearth_detok_free(d);
	/* EOG and special tokens */
	int32_t im_end = hearth_vocab_find(v, "<|im_end|>", 10);
	int32_t eot = hearth_vocab_find(v, "<|endoftext|>", 13);
	assert_true(hearth_vocab_is_eog(v, im_end));
	assert_true(hearth_vocab_is_eog(v, eot));
	assert_false(hearth_vocab_is_eog(v, hearth_vocab_find(v, "Hello", 5)));
	assert_int_equal(hearth_vocab_token_type(v, im_end), HEARTH_TOKEN_CONTROL);
	assert_false(hearth_vocab_add_bos(v));
	/* parse_special: <|im_start|> is one token only when asked */
	assert_int_equal(hearth_tokenize(v, "<|im_start|>", 12, false, true, ids, 16, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(hearth_tokenize(v, "<|im_start|>", 12, false, false, ids, 16, &n), 0);
	assert_true(n > 1);
	/* USER_DEFINED tokens are matched even without parse_special */
	assert_int_equal(hearth_tokenize(v, "<think>", 7, false, false, ids, 16, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], hearth_vocab_find(v, "<think>", 7));
	assert_int_equal(hearth_vocab_token_type(v, ids[0]), HEARTH_TOKEN_USER_DEFINED);
	/* n_max too small: ELIMIT with the needed count */
	assert_int_equal(hearth_tokenize(v, "Hello world, again", 18, false, false, ids, 1, &n), HEARTH_ELIMIT);
	assert_true(n > 1);
	unload(&l);
}

/* The same vocabulary used from several threads at once gives the same ids. */
struct thr_arg {
	const hearth_vocab *v;
	const char *text;
	size_t len;
	int32_t *ids;
	size_t n;
	int rc;
};

static void *thr_main(void *p)
{
	struct thr_arg *a = p;
	for (int r = 0; r < 20 && a->rc == 0; r++)
		a->rc = hearth_tokenize(a->v, a->text, a->len, true, true, a->ids, 4096, &a->n);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	struct loaded l;
	assert_int_equal(load_vocab("vocab/ggml-vocab-llama-spm.gguf", &l), 0);
	const char *text = "The quick brown fox </s> jumps over the lazy dog. Grüße, 世界! 🦙 1234567";
	size_t len = strlen(text);
	int32_t want[4096];
	size_t nw;
	assert_int_equal(hearth_tokenize(l.v, text, len, true, true, want, 4096, &nw), 0);
	pthread_t th[4];
	struct thr_arg a[4];
	for (int i = 0; i < 4; i++) {
		a[i] = (struct thr_arg){l.v, text, len, malloc(4096 * sizeof(int32_t)), 0, 0};
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].rc, 0);
		assert_int_equal(a[i].n, nw);
		assert_memory_equal(a[i].ids, want, nw * sizeof(int32_t));
		free(a[i].ids);
	}
	unload(&l);
}

static void test_repeated_100k(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	static const char *const vocabs[] = {"vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-qwen2.gguf",
	                                     "vocab/ggml-vocab-llama-bpe.gguf", "vocab/ggml-vocab-gpt-2.gguf",
	                                     "vocab/ggml-vocab-deepseek-llm.gguf", "vocab/ggml-vocab-falcon.gguf",
	                                     "vocab/ggml-vocab-bert-bge.gguf"};
	static const char chars[] = {'a', ' ', '1', '!', '\n'};
	size_t len = 100 * 1024;
	char *text = malloc(len);
	int32_t *ids = malloc(len * 2 * sizeof *ids);
	for (size_t i = 0; i < sizeof vocabs / sizeof vocabs[0]; i++) {
		struct loaded l;
		assert_int_equal(load_vocab(vocabs[i], &l), 0);
		for (size_t c = 0; c < sizeof chars; c++) {
			memset(text, chars[c], len);
			size_t n;
			double t0 = now_s();
			assert_int_equal(hearth_tokenize(l.v, text, len, false, false, ids, len * 2, &n), 0);
			double dt = now_s() - t0;
			print_message("100 KB of 0x%02x with %-38s %7zu tokens in %.3f s\n", chars[c], vocabs[i], n, dt);
			/* WordPiece drops white space entirely */
			assert_true(n > 0 || (hearth_vocab_type(l.v) == HEARTH_VOCAB_WPM && (chars[c] == ' ' || chars[c] == '\n')));
		}
		unload(&l);
	}
	free(text);
	free(ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_sets),
		cmocka_unit_test(test_golden_prompts),
		cmocka_unit_test(test_crafted_vocabs),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_detok_stream),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_repeated_100k),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
