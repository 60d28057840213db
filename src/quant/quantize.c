/*
 * quantize.c - `hearth quantize`: converts an F32/F16/BF16 GGUF model into a
 * quantized one, choosing each tensor's type the way llama-quantize does.
 *
 * Which tensors are converted: 2-D (or higher) tensors whose name ends in
 * "weight", except norms, MoE router weights, positional/token-type embeddings
 * and a few small special tensors (the same exclusions as llama.cpp); everything
 * else is copied unchanged.  Which type: the mix rules of llama.cpp's
 * llama_tensor_get_type for the requested llama_ftype (output head Q6_K,
 * attn_v/ffn_down bumped in some layers for *_M mixes, ...), then a fallback for
 * rows that are not a whole number of blocks (Q6_K -> Q8_0, Q4_K -> Q5_0, ...).
 * Tensors are processed and written in llama-quantize's order (non-layer tensors
 * by name, then blk.N by layer and name), which also drives the layer counters
 * the rules use.
 *
 * Each tensor is converted row by row on n_threads threads (rows split in
 * contiguous ranges); each thread also dequantizes its rows again to measure the
 * round-trip error.  The output goes to OUT.tmp, which is renamed to OUT only
 * when everything was written and synced.
 */
#include "quant/quantize.h"
#include "gguf/gguf_write.h"
#include "kernels/kernels.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define QNT_VERSION 2 /* general.quantization_version, as GGML_QNT_VERSION */

static const hx_ftype_info k_ftypes[] = {
	{"F32", HX_FTYPE_ALL_F32, HEARTH_TYPE_F32, NULL, "32-bit float, no quantization"},
	{"F16", HX_FTYPE_F16, HEARTH_TYPE_F16, NULL, "16-bit IEEE half float"},
	{"BF16", HX_FTYPE_BF16, HEARTH_TYPE_BF16, NULL, "16-bit bfloat"},
	{"Q8_0", HX_FTYPE_Q8_0, HEARTH_TYPE_Q8_0, NULL, "8.5 bpw, nearly lossless"},
	{"Q6_K", HX_FTYPE_Q6_K, HEARTH_TYPE_Q6_K, NULL, "6.56 bpw"},
	{"Q5_K_M", HX_FTYPE_Q5_K_M, HEARTH_TYPE_Q5_K, NULL, "mix: Q5_K, Q6_K for output and some attn_v/ffn_down"},
	{"Q5_K_S", HX_FTYPE_Q5_K_S, HEARTH_TYPE_Q5_K, NULL, "mix: Q5_K, Q6_K output"},
	{"Q5_1", HX_FTYPE_Q5_1, HEARTH_TYPE_Q5_1, NULL, "6 bpw (Q6_K output)"},
	{"Q5_0", HX_FTYPE_Q5_0, HEARTH_TYPE_Q5_0, NULL, "5.5 bpw (Q6_K output)"},
	{"Q4_K_M", HX_FTYPE_Q4_K_M, HEARTH_TYPE_Q4_K, NULL, "mix: Q4_K, Q6_K for output and half of attn_v/ffn_down"},
	{"Q4_K_S", HX_FTYPE_Q4_K_S, HEARTH_TYPE_Q4_K, NULL, "mix: Q4_K, Q5_K for the first attn_v/ffn_down"},
	{"Q4_1", HX_FTYPE_Q4_1, HEARTH_TYPE_Q4_1, NULL, "5 bpw (Q6_K output)"},
	{"Q4_0", HX_FTYPE_Q4_0, HEARTH_TYPE_Q4_0, NULL, "4.5 bpw (Q6_K output)"},
	{"IQ4_NL", HX_FTYPE_IQ4_NL, HEARTH_TYPE_IQ4_NL, NULL, "4.5 bpw non-linear (Q6_K output)"},
	{"IQ4_XS", HX_FTYPE_IQ4_XS, HEARTH_TYPE_IQ4_XS, NULL, "4.25 bpw non-linear (Q6_K output)"},
	{"Q3_K_L", HX_FTYPE_Q3_K_L, HEARTH_TYPE_Q3_K, NULL, "mix: Q3_K, Q5_K for attn_v/attn_output/ffn_down"},
	{"Q3_K_M", HX_FTYPE_Q3_K_M, HEARTH_TYPE_Q3_K, NULL, "mix: Q3_K, Q4_K/Q5_K for attn_v/attn_output/ffn_down"},
	{"Q3_K_S", HX_FTYPE_Q3_K_S, HEARTH_TYPE_Q3_K, NULL, "mix: Q3_K, Q6_K output"},
	{"Q2_K", HX_FTYPE_Q2_K, HEARTH_TYPE_Q2_K, NULL, "mix: Q2_K, Q3_K for attn_v/attn_output/ffn_down"},
	{"Q5_K", HX_FTYPE_Q5_K_M, HEARTH_TYPE_Q5_K, "Q5_K_M", "alias for Q5_K_M"},
	{"Q4_K", HX_FTYPE_Q4_K_M, HEARTH_TYPE_Q4_K, "Q4_K_M", "alias for Q4_K_M"},
	{"Q3_K", HX_FTYPE_Q3_K_M, HEARTH_TYPE_Q3_K, "Q3_K_M", "alias for Q3_K_M"},
};

const hx_ftype_info *hx_ftype_table(int *n)
{
	*n = (int)HX_ARRAY_LEN(k_ftypes);
	return k_ftypes;
}

const hx_ftype_info *hx_ftype_find(const char *name)
{
	for (size_t i = 0; i < HX_ARRAY_LEN(k_ftypes); i++)
		if (strcasecmp(k_ftypes[i].name, name) == 0)
			return &k_ftypes[i];
	return NULL;
}

/* ---------------------------------------------------------------------------------
 * The type plan
 * ------------------------------------------------------------------------------- */

struct plan {
	int ftype;
	int base;
	bool pure;
	/* model facts */
	bool falcon, is_70b, has_output;
	int64_t n_layer, n_expert, n_gqa;
	/* counters, advanced in processing order */
	int64_t n_attention_wv, i_attention_wv, i_ffn_down, i_ffn_gate, i_ffn_up;
	int64_t n_fallback;
};

static bool has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Whether llama-quantize would convert this tensor at all. */
static bool is_quantizable(const hearth_gguf_tensor *t)
{
	static const char *const k_skip[] = {
		"_norm.weight", "ffn_gate_inp.weight", "altup", "laurel", "per_layer_model_proj",
		"ssm_conv1d.weight", "shortconv.conv.weight", "time_mix_first.weight", "time_mix_w0.weight",
		"time_mix_w1.weight", "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight",
		"time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight",
		"time_mix_g1.weight", "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
		"time_mix_lerp_fused.weight", "attn_rel_b.weight",
	};
	const char *n = t->name;
	if (!ends_with(n, "weight") || t->n_dims < 2)
		return false;
	if (strcmp(n, "position_embd.weight") == 0 || strcmp(n, "token_types.weight") == 0)
		return false;
	for (size_t i = 0; i < HX_ARRAY_LEN(k_skip); i++)
		if (has(n, k_skip[i]))
			return false;
	return true;
}

/* llama.cpp's use_more_bits: the first and last eighth of the layers and every
 * third layer in between. */
static bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

/* The layer index a per-layer rule uses: the running counter, or for MoE models
 * (where each layer has several such tensors) the blk.N of the name. */
static int layer_of(const struct plan *p, int64_t counter, const char *name, int64_t *i_layer)
{
	*i_layer = counter;
	if (p->n_expert > 1) {
		int l = -1;
		if (sscanf(name, "blk.%d.", &l) != 1 || l < 0 || l >= p->n_layer)
			return hx_err(HEARTH_EFORMAT, "tensor '%s': cannot tell its layer (block_count %lld)", name,
			              (long long)p->n_layer);
		*i_layer = l;
	}
	return 0;
}

static bool ft_in(int ft, const int *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == ft)
			return true;
	return false;
}
#define FT_IN(ft, ...) ft_in((ft), (const int[]){__VA_ARGS__}, sizeof((const int[]){__VA_ARGS__}) / sizeof(int))

/* The mix rules (llama_tensor_get_type) for the subset of ftypes hearth writes. */
static int mix_type(struct plan *p, const hearth_gguf_tensor *t, int *out)
{
	const char *name = t->name;
	const int ft = p->ftype;
	int nt = p->base;
	int rc;
	int64_t il;

	if (strcmp(name, "output.weight") == 0 || (!p->has_output && strcmp(name, "token_embd.weight") == 0)) {
		if (p->falcon || t->ne[0] % hearth_type_block_size(nt) != 0)
			nt = HEARTH_TYPE_Q8_0;
		else if (nt != HEARTH_TYPE_Q8_0)
			nt = HEARTH_TYPE_Q6_K;
	} else if (strcmp(name, "token_embd.weight") == 0 || strcmp(name, "per_layer_token_embd.weight") == 0) {
		/* the token embedding keeps the base type for every ftype hearth offers */
	} else if (has(name, "attn_v.weight")) {
		if (ft == HX_FTYPE_Q2_K)
			nt = p->n_gqa >= 4 ? HEARTH_TYPE_Q4_K : HEARTH_TYPE_Q3_K;
		else if (ft == HX_FTYPE_Q3_K_M)
			nt = p->i_attention_wv < 2 ? HEARTH_TYPE_Q5_K : HEARTH_TYPE_Q4_K;
		else if (ft == HX_FTYPE_Q3_K_L)
			nt = HEARTH_TYPE_Q5_K;
		else if (FT_IN(ft, HX_FTYPE_IQ4_NL, HX_FTYPE_IQ4_XS) && p->n_gqa >= 4)
			nt = HEARTH_TYPE_Q5_K;
		else if (FT_IN(ft, HX_FTYPE_Q4_K_M, HX_FTYPE_Q5_K_M) && use_more_bits(p->i_attention_wv, p->n_attention_wv))
			nt = HEARTH_TYPE_Q6_K;
		else if (ft == HX_FTYPE_Q4_K_S && p->i_attention_wv < 4)
			nt = HEARTH_TYPE_Q5_K;
		/* 70B: 8 heads share each attn_v, so it is small and worth more bits */
		if (p->is_70b && (nt == HEARTH_TYPE_Q3_K || nt == HEARTH_TYPE_Q4_K))
			nt = HEARTH_TYPE_Q5_K;
		if (p->n_expert == 8)
			nt = HEARTH_TYPE_Q8_0;
		p->i_attention_wv++;
	} else if (has(name, "attn_k.weight")) {
		if (p->n_expert == 8)
			nt = HEARTH_TYPE_Q8_0;
	} else if (has(name, "ffn_down")) {
		if ((rc = layer_of(p, p->i_ffn_down, name, &il)))
			return rc;
		const int64_t nl = p->n_layer;
		if (ft == HX_FTYPE_Q2_K)
			nt = HEARTH_TYPE_Q3_K;
		else if (ft == HX_FTYPE_Q3_K_M)
			nt = il < nl / 16                             ? HEARTH_TYPE_Q5_K
			     : !p->falcon || use_more_bits(il, nl) ? HEARTH_TYPE_Q4_K
			                                             : HEARTH_TYPE_Q3_K;
		else if (ft == HX_FTYPE_Q3_K_L)
			nt = p->falcon ? HEARTH_TYPE_Q4_K : HEARTH_TYPE_Q5_K;
		else if (ft == HX_FTYPE_Q4_K_M) {
			if (p->falcon) {
				nt = il < nl / 16                ? HEARTH_TYPE_Q6_K
				     : use_more_bits(il, nl) ? HEARTH_TYPE_Q5_K
				                               : HEARTH_TYPE_Q4_K;
			} else if (use_more_bits(il, nl)) {
				nt = HEARTH_TYPE_Q6_K;
			}
		} else if (il < nl / 8 && FT_IN(ft, HX_FTYPE_IQ4_NL, HX_FTYPE_IQ4_XS))
			nt = HEARTH_TYPE_Q5_K;
		else if (ft == HX_FTYPE_Q5_K_M && use_more_bits(il, nl))
			nt = HEARTH_TYPE_Q6_K;
		else if (ft == HX_FTYPE_Q4_K_S && !p->falcon && il < nl / 8)
			nt = HEARTH_TYPE_Q5_K;
		p->i_ffn_down++;
	} else if (has(name, "attn_output.weight")) {
		if (!p->falcon) {
			if (p->n_expert == 8) {
				if (FT_IN(ft, HX_FTYPE_Q2_K, HX_FTYPE_Q3_K_S, HX_FTYPE_Q3_K_M, HX_FTYPE_IQ4_NL, HX_FTYPE_Q4_K_S,
				          HX_FTYPE_Q4_K_M, HX_FTYPE_IQ4_XS))
					nt = HEARTH_TYPE_Q5_K;
			} else {
				if (ft == HX_FTYPE_Q2_K)
					nt = HEARTH_TYPE_Q3_K;
				else if (ft == HX_FTYPE_Q3_K_M)
					nt = HEARTH_TYPE_Q4_K;
				else if (ft == HX_FTYPE_Q3_K_L)
					nt = HEARTH_TYPE_Q5_K;
			}
		} else if (ft == HX_FTYPE_Q2_K) {
			nt = HEARTH_TYPE_Q3_K; /* falcon: only Q2_K bumps attn_output */
		}
	} else if (has(name, "attn_qkv.weight")) {
		if (FT_IN(ft, HX_FTYPE_Q3_K_M, HX_FTYPE_Q3_K_L))
			nt = HEARTH_TYPE_Q4_K;
		else if (ft == HX_FTYPE_Q4_K_M)
			nt = HEARTH_TYPE_Q5_K;
		else if (ft == HX_FTYPE_Q5_K_M)
			nt = HEARTH_TYPE_Q6_K;
	} else if (has(name, "ffn_gate")) {
		p->i_ffn_gate++;
	} else if (has(name, "ffn_up")) {
		p->i_ffn_up++;
	}
	*out = nt;
	return 0;
}

/* llama.cpp's fallback when the row length is not a whole number of blocks. */
static int fallback_type(struct plan *p, const hearth_gguf_tensor *t, int nt, int *out)
{
	if (t->ne[0] % hearth_type_block_size(nt) == 0) {
		*out = nt;
		return 0;
	}
	switch (nt) {
	case HEARTH_TYPE_Q2_K:
	case HEARTH_TYPE_Q3_K:
	case HEARTH_TYPE_IQ4_XS: nt = HEARTH_TYPE_IQ4_NL; break;
	case HEARTH_TYPE_Q4_K: nt = HEARTH_TYPE_Q5_0; break;
	case HEARTH_TYPE_Q5_K: nt = HEARTH_TYPE_Q5_1; break;
	case HEARTH_TYPE_Q6_K: nt = HEARTH_TYPE_Q8_0; break;
	default:
		return hx_err(HEARTH_EUNSUPPORTED, "tensor '%s': rows of %lld values cannot be stored as %s", t->name,
		              (long long)t->ne[0], hearth_type_name(nt));
	}
	if (t->ne[0] % hearth_type_block_size(nt) != 0)
		nt = HEARTH_TYPE_F16;
	p->n_fallback++;
	*out = nt;
	return 0;
}

/* An integer hyper-parameter `<arch>.<suffix>`; per-layer arrays give layer 0's. */
static int64_t arch_int(const hearth_gguf *g, const char *arch, const char *suffix, int64_t dflt)
{
	char key[256];
	int64_t v = dflt;
	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	const hearth_gguf_value *val = hearth_gguf_get(g, key);
	if (!val)
		return dflt;
	if (val->type == HEARTH_GGUF_ARRAY) {
		if (val->v.arr.n > 0 && val->v.arr.data && val->v.arr.type != HEARTH_GGUF_F32 &&
		    val->v.arr.type != HEARTH_GGUF_F64 && val->v.arr.type != HEARTH_GGUF_BOOL)
			return hearth_gguf_arr_i64(val, 0);
		return dflt;
	}
	if (hearth_gguf_get_i64(g, key, &v) != 0)
		v = dflt;
	return v;
}

/* The layer number of a "blk.N." name, or -1. */
static int name_layer(const char *name)
{
	int l = -1;
	if (sscanf(name, "blk.%d.", &l) != 1)
		return -1;
	return l;
}

static const hearth_gguf *g_order_src; /* qsort has no context argument */

static int cmp_order(const void *a, const void *b)
{
	const hearth_gguf_tensor *ta = hearth_gguf_tensor_at(g_order_src, *(const int64_t *)a);
	const hearth_gguf_tensor *tb = hearth_gguf_tensor_at(g_order_src, *(const int64_t *)b);
	int la = name_layer(ta->name), lb = name_layer(tb->name);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(ta->name, tb->name);
}

static pthread_mutex_t g_order_lock = PTHREAD_MUTEX_INITIALIZER;

int hx_quantize_plan(const hearth_gguf *g, const char *ftype_name, bool pure, int64_t *order, int *types,
                     int64_t *n_fallback)
{
	const hx_ftype_info *fi = ftype_name ? hx_ftype_find(ftype_name) : NULL;
	if (!fi)
		return hx_err(HEARTH_EINVAL, "unknown quantization type '%s' (see hearth quantize --help)",
		              ftype_name ? ftype_name : "(null)");
	const int64_t n = hearth_gguf_n_tensors(g);
	struct plan p = {.ftype = fi->ftype, .base = fi->base_type, .pure = pure};

	hearth_str arch_s = {0};
	char arch[64] = "";
	if (hearth_gguf_get_str(g, "general.architecture", &arch_s) == 0 && arch_s.len < sizeof arch) {
		memcpy(arch, arch_s.ptr, (size_t)arch_s.len);
		arch[arch_s.len] = 0;
	}
	p.falcon = strcmp(arch, "falcon") == 0;
	p.n_layer = arch_int(g, arch, "block_count", 0);
	p.n_expert = arch_int(g, arch, "expert_count", 0);
	int64_t n_head = arch_int(g, arch, "attention.head_count", 0);
	int64_t n_head_kv = arch_int(g, arch, "attention.head_count_kv", n_head);
	p.n_gqa = n_head_kv > 0 ? n_head / n_head_kv : 0;
	p.is_70b = strcmp(arch, "llama") == 0 && p.n_layer == 80 && n_head != n_head_kv;

	for (int64_t i = 0; i < n; i++) {
		const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
		if (hearth_type_block_size(t->type) > 1)
			return hx_err(HEARTH_EUNSUPPORTED,
			              "tensor '%s' is already quantized (%s): hearth quantize needs an F32, F16 or BF16 "
			              "model",
			              t->name, hearth_type_name(t->type));
		if (has(t->name, "attn_v.weight") || has(t->name, "attn_qkv.weight") || has(t->name, "attn_kv_b.weight"))
			p.n_attention_wv++;
		else if (strcmp(t->name, "output.weight") == 0)
			p.has_output = true;
		order[i] = i;
	}
	pthread_mutex_lock(&g_order_lock);
	g_order_src = g;
	qsort(order, (size_t)n, sizeof *order, cmp_order);
	pthread_mutex_unlock(&g_order_lock);

	const bool quantized_base = hearth_type_block_size(p.base) > 1;
	for (int64_t k = 0; k < n; k++) {
		const int64_t i = order[k];
		const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
		int nt = t->type;
		if (is_quantizable(t)) {
			int rc;
			nt = p.base;
			if (quantized_base) {
				if (!pure && (rc = mix_type(&p, t, &nt)))
					return rc;
				if ((rc = fallback_type(&p, t, nt, &nt)))
					return rc;
			}
			if (nt != t->type && t->type != HEARTH_TYPE_F32 && t->type != HEARTH_TYPE_F16 &&
			    t->type != HEARTH_TYPE_BF16)
				return hx_err(HEARTH_EUNSUPPORTED, "tensor '%s' has type %s; only F32, F16 and BF16 can be converted",
				              t->name, hearth_type_name(t->type));
		}
		types[i] = nt;
	}
	if (n_fallback)
		*n_fallback = p.n_fallback;
	return 0;
}

/* ---------------------------------------------------------------------------------
 * Conversion
 * ------------------------------------------------------------------------------- */

#define CHUNK_VALUES 65536 /* f32 values converted at a time per thread */

struct job {
	const hearth_gguf_tensor *t;
	int type;
	uint8_t *out;
	size_t out_row;
	int64_t n_rows;
	int nth;
};

struct worker {
	pthread_t th;
	struct job *job;
	int ith;
	double err2, x2;
	int rc;
	char msg[256];
};

/* Converts rows [r0, r1) of the job: source -> f32 -> type, then back to f32 to
 * accumulate the squared error. */
static void *convert_rows(void *arg)
{
	struct worker *wk = arg;
	const struct job *j = wk->job;
	const int64_t ne0 = j->t->ne[0];
	const int64_t r0 = j->n_rows * wk->ith / j->nth, r1 = j->n_rows * (wk->ith + 1) / j->nth;
	const size_t in_row = kern_row_size(j->t->type, ne0);
	int64_t chunk = ne0 >= CHUNK_VALUES ? 1 : CHUNK_VALUES / ne0;
	float *x = malloc((size_t)(chunk * ne0) * sizeof(float));
	float *y = malloc((size_t)(chunk * ne0) * sizeof(float));
	wk->err2 = wk->x2 = 0;
	wk->rc = 0;
	if (!x || !y) {
		wk->rc = HEARTH_ENOMEM;
		snprintf(wk->msg, sizeof wk->msg, "out of memory converting '%s'", j->t->name);
		goto done;
	}
	for (int64_t r = r0; r < r1; r += chunk) {
		const int64_t nr = HX_MIN(chunk, r1 - r);
		for (int64_t k = 0; k < nr; k++)
			kern_dequant_row(j->t->type, (const uint8_t *)j->t->data + (size_t)(r + k) * in_row, x + k * ne0,
			                 ne0);
		uint8_t *dst = j->out + (size_t)r * j->out_row;
		if (kern_quantize_rows(j->type, x, dst, nr, ne0) != (size_t)nr * j->out_row) {
			wk->rc = HEARTH_EUNSUPPORTED;
			snprintf(wk->msg, sizeof wk->msg, "cannot quantize '%s' to %s", j->t->name,
			         hearth_type_name(j->type));
			goto done;
		}
		for (int64_t k = 0; k < nr; k++)
			kern_dequant_row(j->type, dst + (size_t)k * j->out_row, y + k * ne0, ne0);
		double e2 = 0, s2 = 0;
		for (int64_t i = 0; i < nr * ne0; i++) {
			double d = (double)x[i] - (double)y[i];
			e2 += d * d;
			s2 += (double)x[i] * (double)x[i];
		}
		wk->err2 += e2;
		wk->x2 += s2;
	}
done:
	free(x);
	free(y);
	return NULL;
}

/* Converts tensor t into `out` (n_rows rows of type) on up to nth threads. */
static int convert_tensor(const hearth_gguf_tensor *t, int type, uint8_t *out, int nth, double *err2, double *x2)
{
	struct job j = {.t = t, .type = type, .out = out, .out_row = kern_row_size(type, t->ne[0])};
	j.n_rows = t->n_elements / t->ne[0];
	if (nth > j.n_rows)
		nth = (int)j.n_rows;
	if (nth < 1)
		nth = 1;
	j.nth = nth;
	struct worker *wk = hx_calloc((size_t)nth, sizeof *wk);
	if (!wk)
		return HEARTH_ENOMEM;
	int started = 0, rc = 0;
	for (int i = 0; i < nth; i++) {
		wk[i].job = &j;
		wk[i].ith = i;
	}
	for (int i = 1; i < nth; i++) {
		if (pthread_create(&wk[i].th, NULL, convert_rows, &wk[i]) != 0) {
			rc = hx_err(HEARTH_ENOMEM, "cannot start a quantization thread");
			break;
		}
		started = i;
	}
	if (rc == 0)
		convert_rows(&wk[0]);
	for (int i = 1; i <= started; i++)
		pthread_join(wk[i].th, NULL);
	*err2 = *x2 = 0;
	for (int i = 0; i < nth && rc == 0; i++) {
		if (wk[i].rc) {
			rc = hx_err(wk[i].rc, "%s", wk[i].msg);
			break;
		}
		*err2 += wk[i].err2;
		*x2 += wk[i].x2;
	}
	free(wk);
	return rc;
}

hearth_quantize_params hearth_quantize_default_params(void)
{
	hearth_quantize_params p = {.ftype = "Q4_K_M", .n_threads = 0, .progress = NULL, .progress_user = NULL};
	return p;
}

int hx_quantize_file(const char *in_path, const char *out_path, const hearth_quantize_params *params, bool pure,
                     hx_quantize_stats *stats)
{
	hearth_gguf *g = NULL;
	gguf_writer *w = NULL;
	int64_t *order = NULL;
	int *types = NULL;
	uint8_t *buf = NULL;
	char *tmp = NULL;
	bool tmp_created = false;
	hx_quantize_stats st;
	int rc;
	const double t0 = hx_time_s();

	memset(&st, 0, sizeof st);
	if (!params || !in_path || !out_path)
		return hx_err(HEARTH_EINVAL, "quantize: missing input, output or parameters");
	const hx_ftype_info *fi = params->ftype ? hx_ftype_find(params->ftype) : NULL;
	if (!fi)
		return hx_err(HEARTH_EINVAL, "unknown quantization type '%s' (see hearth quantize --help)",
		              params->ftype ? params->ftype : "(null)");
	st.ftype = fi->ftype;
	int nth = params->n_threads > 0 ? params->n_threads : hx_n_cpus();

	if ((rc = hearth_gguf_open(in_path, &g)))
		return rc;
	const int64_t n = hearth_gguf_n_tensors(g);
	order = hx_calloc(n ? (size_t)n : 1, sizeof *order);
	types = hx_calloc(n ? (size_t)n : 1, sizeof *types);
	if (!order || !types) {
		rc = HEARTH_ENOMEM;
		goto out;
	}
	if ((rc = hx_quantize_plan(g, fi->name, pure, order, types, &st.n_fallback))) {
		hx_errprefix(rc, "%s: ", in_path);
		goto out;
	}

	/* metadata: everything, then the quantization keys moved to the end */
	if ((rc = gguf_writer_create(hearth_gguf_alignment(g), &w)) || (rc = gguf_writer_copy_kvs(w, g)))
		goto out;
	for (int64_t i = hearth_gguf_n_kv(g) - 1; i >= 0; i--)
		if (strncmp(hearth_gguf_kv_key(g, i), "split.", 6) == 0)
			gguf_writer_remove_key(w, hearth_gguf_kv_key(g, i));
	if ((rc = gguf_writer_set_u32(w, "general.quantization_version", QNT_VERSION)) ||
	    (rc = gguf_writer_set_u32(w, "general.file_type", (uint32_t)fi->ftype)))
		goto out;
	size_t max_bytes = 0;
	for (int64_t k = 0; k < n; k++) {
		const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, order[k]);
		if ((rc = gguf_writer_add_tensor(w, t->name, types[order[k]], t->n_dims, t->ne))) {
			hx_errprefix(rc, "%s: ", in_path);
			goto out;
		}
		uint64_t b = gguf_writer_tensor_size(w, k);
		if (b > SIZE_MAX) {
			rc = hx_err(HEARTH_ELIMIT, "tensor '%s' is too large", t->name);
			goto out;
		}
		if (types[order[k]] != t->type)
			max_bytes = HX_MAX(max_bytes, (size_t)b);
	}
	if (max_bytes && !(buf = hx_malloc(max_bytes))) {
		rc = HEARTH_ENOMEM;
		goto out;
	}

	size_t plen = strlen(out_path);
	if (!(tmp = hx_malloc(plen + 5))) {
		rc = HEARTH_ENOMEM;
		goto out;
	}
	memcpy(tmp, out_path, plen);
	memcpy(tmp + plen, ".tmp", 5);
	if ((rc = gguf_writer_open(w, tmp)))
		goto out;
	tmp_created = true;

	for (int64_t k = 0; k < n; k++) {
		const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, order[k]);
		const int type = types[order[k]];
		const uint64_t out_bytes = gguf_writer_tensor_size(w, k);
		hx_quant_type_stats *ts = &st.types[type];
		char what[256];
		ts->n_tensors++;
		ts->n_elements += t->n_elements;
		ts->n_bytes += out_bytes;
		st.n_tensors++;
		st.n_elements += t->n_elements;
		st.in_data_bytes += t->n_bytes;
		st.out_data_bytes += out_bytes;
		char shape[96];
		int sl = snprintf(shape, sizeof shape, "%lld", (long long)t->ne[0]);
		for (uint32_t d = 1; d < t->n_dims && sl > 0 && (size_t)sl < sizeof shape; d++)
			sl += snprintf(shape + sl, sizeof shape - (size_t)sl, " x %lld", (long long)t->ne[d]);
		if (type == t->type) {
			if ((rc = gguf_writer_write_data(w, t->data, (size_t)t->n_bytes)))
				goto out;
			snprintf(what, sizeof what, "%-32s %-6s [%s] copied", t->name, hearth_type_name(type), shape);
		} else {
			double e2, x2;
			if ((rc = convert_tensor(t, type, buf, nth, &e2, &x2)))
				goto out;
			if ((rc = gguf_writer_write_data(w, buf, (size_t)out_bytes)))
				goto out;
			ts->n_converted++;
			ts->err2 += e2;
			ts->x2 += x2;
			st.n_converted++;
			snprintf(what, sizeof what, "%-32s %-6s [%s] from %s, rel. RMSE %.3f%%", t->name,
			         hearth_type_name(type), shape, hearth_type_name(t->type),
			         x2 > 0 ? 100.0 * sqrt(e2 / x2) : 0.0);
		}
		if (params->progress)
			params->progress(params->progress_user, k + 1, n, what);
	}
	if ((rc = gguf_writer_close(w)))
		goto out;
	if (rename(tmp, out_path) != 0) {
		rc = hx_err(HEARTH_EIO, "cannot rename %s to %s: %s", tmp, out_path, strerror(errno));
		goto out;
	}
	tmp_created = false;
	st.in_file_size = hearth_gguf_file_size(g);
	st.out_file_size = gguf_writer_file_size(w);
	st.seconds = hx_time_s() - t0;
	if (stats)
		*stats = st;
out:
	gguf_writer_free(w); /* closes the file if an error left it open */
	if (tmp_created)
		unlink(tmp);
	free(tmp);
	free(buf);
	free(order);
	free(types);
	hearth_gguf_free(g);
	return rc;
}

int hearth_quantize_file(const char *in_path, const char *out_path, const hearth_quantize_params *params)
{
	return hx_quantize_file(in_path, out_path, params, false, NULL);
}
