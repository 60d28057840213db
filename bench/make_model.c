/*
 * bench/make_model.c - writes a random-weight F16 (or F32) GGUF model of a real
 * model's shape, for speed measurements (speed does not depend on the weights'
 * values).  bench/make-model wraps it and quantizes the result with
 * `hearth quantize`.
 *
 *   build/bench/make_model SHAPE OUT.gguf [f16|f32]
 *
 * Shapes: qwen2.5-0.5b (qwen2: n_embd 896, 24 layers, 14/2 heads, n_ff 4864,
 * vocab 151936, tied embeddings, q/k/v biases) and tinyllama-1.1b (llama:
 * n_embd 2048, 22 layers, 32/4 heads, n_ff 5632, vocab 32000, untied output).
 * Weights are uniform with the variance of N(0, 1/n_in); norms are 1.  The
 * vocabulary is a placeholder SPM vocabulary of the right size (unk, bos, eos,
 * 256 byte tokens, then "t<id>").
 */
#include "gguf/gguf_write.h"
#include "kernels/kernels.h"
#include "util/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct shape {
	const char *name, *arch;
	int n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx;
	float rope_base, eps;
	bool tied, bias;
};

static const struct shape k_shapes[] = {
	{"qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 4864, 151936, 32768, 1e6f, 1e-6f, true, true},
	{"tinyllama-1.1b", "llama", 2048, 22, 32, 4, 5632, 32000, 2048, 1e4f, 1e-5f, false, false},
};

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static float frand(void) /* uniform in [-1, 1) */
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return (float)((g_rng >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

struct tensor {
	char name[64];
	int n_dims;
	int64_t ne[2];
	float fill; /* 0: random with scale 1/sqrt(ne[0]); else constant */
};

static int add(struct tensor *ts, int *n, const char *name, int n_dims, int64_t ne0, int64_t ne1, float fill)
{
	struct tensor *t = &ts[(*n)++];
	snprintf(t->name, sizeof t->name, "%s", name);
	t->n_dims = n_dims;
	t->ne[0] = ne0;
	t->ne[1] = ne1;
	t->fill = fill;
	return 0;
}

static int set_f32(gguf_writer *w, const char *key, float v)
{
	hearth_gguf_value val = {.type = HEARTH_GGUF_F32};
	val.v.f64 = v;
	return gguf_writer_set_value(w, key, &val);
}

static int set_bool(gguf_writer *w, const char *key, bool v)
{
	hearth_gguf_value val = {.type = HEARTH_GGUF_BOOL};
	val.v.u64 = v;
	return gguf_writer_set_value(w, key, &val);
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "error: %s: %s\n", what, hearth_errmsg()[0] ? hearth_errmsg() : hearth_strerror(rc));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: make_model SHAPE OUT.gguf [f16|f32]\nshapes: qwen2.5-0.5b, tinyllama-1.1b\n");
		return 2;
	}
	const struct shape *s = NULL;
	for (size_t i = 0; i < HX_ARRAY_LEN(k_shapes); i++)
		if (strcmp(argv[1], k_shapes[i].name) == 0)
			s = &k_shapes[i];
	if (!s) {
		fprintf(stderr, "error: unknown shape '%s' (qwen2.5-0.5b, tinyllama-1.1b)\n", argv[1]);
		return 2;
	}
	int wtype = HEARTH_TYPE_F16;
	if (argc == 4 && strcmp(argv[3], "f32") == 0)
		wtype = HEARTH_TYPE_F32;
	else if (argc == 4 && strcmp(argv[3], "f16") != 0) {
		fprintf(stderr, "error: weight type must be f16 or f32\n");
		return 2;
	}

	gguf_writer *w;
	int rc = gguf_writer_create(32, &w);
	if (rc)
		return fail("writer", rc);
	char key[128];
	const char *a = s->arch;
#define KEY(suffix) (snprintf(key, sizeof key, "%s.%s", a, suffix), key)
	gguf_writer_set_str(w, "general.architecture", a);
	gguf_writer_set_str(w, "general.name", s->name);
	gguf_writer_set_u32(w, "general.file_type", wtype == HEARTH_TYPE_F16 ? 1 : 0);
	gguf_writer_set_u32(w, KEY("context_length"), (uint32_t)s->n_ctx);
	gguf_writer_set_u32(w, KEY("embedding_length"), (uint32_t)s->n_embd);
	gguf_writer_set_u32(w, KEY("block_count"), (uint32_t)s->n_layer);
	gguf_writer_set_u32(w, KEY("feed_forward_length"), (uint32_t)s->n_ff);
	gguf_writer_set_u32(w, KEY("attention.head_count"), (uint32_t)s->n_head);
	gguf_writer_set_u32(w, KEY("attention.head_count_kv"), (uint32_t)s->n_head_kv);
	gguf_writer_set_u32(w, KEY("rope.dimension_count"), (uint32_t)(s->n_embd / s->n_head));
	set_f32(w, KEY("rope.freq_base"), s->rope_base);
	set_f32(w, KEY("attention.layer_norm_rms_epsilon"), s->eps);
#undef KEY

	/* Placeholder SPM vocabulary of n_vocab pieces. */
	const size_t nv = (size_t)s->n_vocab;
	hearth_gguf_value *items = calloc(nv, sizeof *items);
	char *text = malloc(nv * 16);
	float *scores = malloc(nv * sizeof *scores);
	int32_t *types = malloc(nv * sizeof *types);
	if (!items || !text || !scores || !types)
		return fail("vocabulary", HEARTH_ENOMEM);
	for (size_t i = 0; i < nv; i++) {
		char *p = text + i * 16;
		if (i == 0)
			strcpy(p, "<unk>");
		else if (i == 1)
			strcpy(p, "<s>");
		else if (i == 2)
			strcpy(p, "</s>");
		else if (i < 259)
			snprintf(p, 16, "<0x%02X>", (unsigned)(i - 3));
		else
			snprintf(p, 16, "t%u", (unsigned)i);
		items[i].type = HEARTH_GGUF_STRING;
		items[i].v.str.ptr = p;
		items[i].v.str.len = strlen(p);
		scores[i] = -(float)i;
		types[i] = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1;
	}
	hearth_gguf_value arr = {.type = HEARTH_GGUF_ARRAY};
	arr.v.arr.type = HEARTH_GGUF_STRING;
	arr.v.arr.n = nv;
	arr.v.arr.items = items;
	gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
	gguf_writer_set_str(w, "tokenizer.ggml.pre", "default");
	if ((rc = gguf_writer_set_value(w, "tokenizer.ggml.tokens", &arr)))
		return fail("tokens", rc);
	arr.v.arr.type = HEARTH_GGUF_F32;
	arr.v.arr.items = NULL;
	arr.v.arr.data = (const uint8_t *)scores;
	if ((rc = gguf_writer_set_value(w, "tokenizer.ggml.scores", &arr)))
		return fail("scores", rc);
	arr.v.arr.type = HEARTH_GGUF_I32;
	arr.v.arr.data = (const uint8_t *)types;
	if ((rc = gguf_writer_set_value(w, "tokenizer.ggml.token_type", &arr)))
		return fail("token types", rc);
	gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0);
	gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
	gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
	set_bool(w, "tokenizer.ggml.add_bos_token", true);

	/* Tensors. */
	const int64_t E = s->n_embd, F = s->n_ff, hd = s->n_embd / s->n_head;
	const int64_t QD = s->n_head * hd, KD = s->n_head_kv * hd;
	int n_t = 0, max_t = 3 + s->n_layer * 16;
	struct tensor *ts = calloc((size_t)max_t, sizeof *ts);
	char nm[64];
	add(ts, &n_t, "token_embd.weight", 2, E, s->n_vocab, 0);
	add(ts, &n_t, "output_norm.weight", 1, E, 1, 1.0f);
	if (!s->tied)
		add(ts, &n_t, "output.weight", 2, E, s->n_vocab, 0);
	for (int il = 0; il < s->n_layer; il++) {
#define L(suffix, nd, d0, d1, f) (snprintf(nm, sizeof nm, "blk.%d.%s", il, suffix), add(ts, &n_t, nm, nd, d0, d1, f))
		L("attn_norm.weight", 1, E, 1, 1.0f);
		L("attn_q.weight", 2, E, QD, 0);
		L("attn_k.weight", 2, E, KD, 0);
		L("attn_v.weight", 2, E, KD, 0);
		if (s->bias) {
			L("attn_q.bias", 1, QD, 1, 0.01f);
			L("attn_k.bias", 1, KD, 1, 0.01f);
			L("attn_v.bias", 1, KD, 1, 0.01f);
		}
		L("attn_output.weight", 2, QD, E, 0);
		L("ffn_norm.weight", 1, E, 1, 1.0f);
		L("ffn_gate.weight", 2, E, F, 0);
		L("ffn_up.weight", 2, E, F, 0);
		L("ffn_down.weight", 2, F, E, 0);
#undef L
	}
	for (int i = 0; i < n_t; i++) {
		int type = ts[i].n_dims == 1 ? HEARTH_TYPE_F32 : wtype;
		if ((rc = gguf_writer_add_tensor(w, ts[i].name, type, (uint32_t)ts[i].n_dims, ts[i].ne)))
			return fail(ts[i].name, rc);
	}
	if ((rc = gguf_writer_open(w, argv[2])))
		return fail(argv[2], rc);
	float *row = malloc((size_t)HX_MAX(E, F) * sizeof(float));
	hx_f16 *row16 = malloc((size_t)HX_MAX(E, F) * sizeof(hx_f16));
	for (int i = 0; i < n_t; i++) {
		const struct tensor *t = &ts[i];
		const int64_t n0 = t->ne[0];
		const float scale = sqrtf(3.0f / (float)n0); /* uniform: variance 1/n0 */
		const bool vec = t->n_dims == 1;
		for (int64_t r = 0; r < t->ne[1]; r++) {
			for (int64_t j = 0; j < n0; j++)
				row[j] = t->fill != 0 ? t->fill : frand() * scale;
			if (vec || wtype == HEARTH_TYPE_F32) {
				rc = gguf_writer_write_data(w, row, (size_t)n0 * sizeof(float));
			} else {
				for (int64_t j = 0; j < n0; j++)
					row16[j] = hx_f32_to_f16(row[j]);
				rc = gguf_writer_write_data(w, row16, (size_t)n0 * sizeof(hx_f16));
			}
			if (rc)
				return fail(t->name, rc);
		}
	}
	if ((rc = gguf_writer_close(w)))
		return fail(argv[2], rc);
	gguf_writer_free(w);
	free(row);
	free(row16);
	free(ts);
	free(items);
	free(text);
	free(scores);
	free(types);
	return 0;
}
