/*
 * model.c - loading a model: architecture lookup, hyper-parameters from the GGUF
 * metadata, tokenizer array sanity, and the tensor set with every tensor's shape
 * and type.  Everything is validated here, once, so the forward pass
 * (transformer.c) can trust the layout.  Weights stay in the file mapping.
 */
#include "model/model.h"
#include "kernels/kernels.h"
#include "util/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct model_arch *const k_archs[] = {
	&model_arch_llama,
	&model_arch_qwen2,
	&model_arch_qwen3,
	&model_arch_smollm3,
};

/* Reads a required (or optional, when `def` >= 0) positive integer key
 * "<arch>.<suffix>" into *out, checking 1 <= value <= max. */
static int get_dim(const hearth_gguf *g, const char *arch, const char *suffix, int64_t def, int64_t max,
                   int32_t *out)
{
	char key[128];
	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	int64_t v = def;
	int rc = hearth_gguf_get_i64(g, key, &v);
	if (rc == HEARTH_ENOTFOUND) {
		if (def < 0)
			return hx_err(HEARTH_ENOTFOUND, "required key '%s' is missing", key);
	} else if (rc) {
		return rc; /* wrong type; the message names the key */
	}
	if (v < 1 || v > max)
		return hx_err(HEARTH_EFORMAT, "key '%s' is %lld, expected a value from 1 to %lld", key, (long long)v,
		              (long long)max);
	*out = (int32_t)v;
	return 0;
}

static int get_float(const hearth_gguf *g, const char *arch, const char *suffix, bool required, float *out)
{
	char key[128];
	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	int rc = hearth_gguf_get_f32(g, key, out);
	if (rc == HEARTH_ENOTFOUND && !required)
		return 0;
	if (rc == HEARTH_ENOTFOUND)
		return hx_err(HEARTH_ENOTFOUND, "required key '%s' is missing", key);
	if (rc)
		return rc;
	if (!isfinite(*out))
		return hx_err(HEARTH_EFORMAT, "key '%s' is not a finite number", key);
	return 0;
}

static int parse_arch(const hearth_gguf *g, const struct model_arch **out)
{
	hearth_str s;
	int rc = hearth_gguf_get_str(g, "general.architecture", &s);
	if (rc == HEARTH_ENOTFOUND)
		return hx_err(HEARTH_ENOTFOUND, "required key 'general.architecture' is missing");
	if (rc)
		return rc;
	for (size_t i = 0; i < HX_ARRAY_LEN(k_archs); i++) {
		if (strlen(k_archs[i]->name) == s.len && memcmp(k_archs[i]->name, s.ptr, s.len) == 0) {
			*out = k_archs[i];
			return 0;
		}
	}
	char shown[64];
	size_t n = s.len < sizeof shown - 1 ? (size_t)s.len : sizeof shown - 1;
	for (size_t i = 0; i < n; i++)
		shown[i] = (s.ptr[i] >= 0x20 && s.ptr[i] < 0x7f) ? s.ptr[i] : '?';
	shown[n] = 0;
	return hx_err(HEARTH_EUNSUPPORTED,
	              "unknown model architecture '%s%s' (general.architecture); supported: llama, qwen2, qwen3, "
	              "smollm3",
	              shown, s.len > n ? "..." : "");
}

static int parse_rope_scaling(const hearth_gguf *g, const char *arch, float *freq_scale)
{
	char key[128];
	hearth_str s;
	*freq_scale = 1.0f;
	snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
	int rc = hearth_gguf_get_str(g, key, &s);
	bool linear = true; /* the reference's default when only a factor is given */
	if (rc == 0) {
		if (s.len == 4 && memcmp(s.ptr, "none", 4) == 0)
			linear = false;
		else if (!(s.len == 6 && memcmp(s.ptr, "linear", 6) == 0))
			return hx_err(HEARTH_EUNSUPPORTED, "key '%s': rope scaling '%.*s' is not supported (none, linear)",
			              key, (int)HX_MIN(s.len, 32), s.ptr);
	} else if (rc != HEARTH_ENOTFOUND) {
		return rc;
	}
	float factor = 0.0f;
	snprintf(key, sizeof key, "%s.rope.scaling.factor", arch);
	rc = hearth_gguf_get_f32(g, key, &factor);
	if (rc == HEARTH_ENOTFOUND) {
		snprintf(key, sizeof key, "%s.rope.scale_linear", arch);
		rc = hearth_gguf_get_f32(g, key, &factor);
	}
	if (rc && rc != HEARTH_ENOTFOUND)
		return rc;
	if (rc == 0 && linear && factor != 0.0f && factor != 1.0f) {
		if (!(factor > 0.0f) || !isfinite(factor) || factor > 1e6f)
			return hx_err(HEARTH_EFORMAT, "key '%s' is %g, expected a positive scaling factor", key,
			              (double)factor);
		*freq_scale = 1.0f / factor;
	}
	return 0;
}

/* Tokenizer arrays: the model's n_vocab is the token count; scores and types
 * must match it, special ids must be in range. */
static int parse_vocab(const hearth_gguf *g, int32_t *n_vocab)
{
	const hearth_gguf_value *tokens, *arr;
	int rc = hearth_gguf_get_arr(g, "tokenizer.ggml.tokens", HEARTH_GGUF_STRING, &tokens);
	if (rc == HEARTH_ENOTFOUND)
		return hx_err(HEARTH_ENOTFOUND, "required key 'tokenizer.ggml.tokens' is missing");
	if (rc)
		return hx_err(rc, "key 'tokenizer.ggml.tokens' must be an array of strings");
	if (tokens->v.arr.n < 1 || tokens->v.arr.n > (1u << 24))
		return hx_err(HEARTH_EFORMAT, "key 'tokenizer.ggml.tokens' has %llu entries, expected 1 to %u",
		              (unsigned long long)tokens->v.arr.n, 1u << 24);
	uint64_t n = tokens->v.arr.n;
	*n_vocab = (int32_t)n;

	static const struct {
		const char *key;
		enum hearth_gguf_type type;
		const char *what;
	} arrays[] = {
		{"tokenizer.ggml.scores", HEARTH_GGUF_F32, "f32"},
		{"tokenizer.ggml.token_type", HEARTH_GGUF_I32, "i32"},
	};
	for (size_t i = 0; i < HX_ARRAY_LEN(arrays); i++) {
		rc = hearth_gguf_get_arr(g, arrays[i].key, arrays[i].type, &arr);
		if (rc == HEARTH_ENOTFOUND)
			continue;
		if (rc)
			return hx_err(rc, "key '%s' must be an array of %s", arrays[i].key, arrays[i].what);
		if (arr->v.arr.n != n)
			return hx_err(HEARTH_EFORMAT, "key '%s' has %llu entries but there are %llu tokens", arrays[i].key,
			              (unsigned long long)arr->v.arr.n, (unsigned long long)n);
	}
	rc = hearth_gguf_get_arr(g, "tokenizer.ggml.merges", HEARTH_GGUF_STRING, &arr);
	if (rc && rc != HEARTH_ENOTFOUND)
		return hx_err(rc, "key 'tokenizer.ggml.merges' must be an array of strings");

	static const char *const ids[] = {
		"tokenizer.ggml.bos_token_id",  "tokenizer.ggml.eos_token_id",       "tokenizer.ggml.unknown_token_id",
		"tokenizer.ggml.padding_token_id", "tokenizer.ggml.separator_token_id", "tokenizer.ggml.eot_token_id",
	};
	for (size_t i = 0; i < HX_ARRAY_LEN(ids); i++) {
		int64_t id;
		rc = hearth_gguf_get_i64(g, ids[i], &id);
		if (rc == HEARTH_ENOTFOUND)
			continue;
		if (rc)
			return rc;
		/* -1 / 0xFFFFFFFF are used by converters for "none". */
		if (id == -1 || id == 0xFFFFFFFFll)
			continue;
		if (id < 0 || (uint64_t)id >= n)
			return hx_err(HEARTH_EFORMAT, "key '%s' is %lld, outside the vocabulary of %llu tokens", ids[i],
			              (long long)id, (unsigned long long)n);
	}
	return 0;
}

static int parse_hparams(const hearth_gguf *g, const struct model_arch *a, struct model_hparams *hp)
{
	const char *an = a->name;
	int rc;
	memset(hp, 0, sizeof *hp);
	if ((rc = parse_vocab(g, &hp->n_vocab)))
		return rc;
	if ((rc = get_dim(g, an, "context_length", -1, INT32_MAX, &hp->n_ctx_train)) ||
	    (rc = get_dim(g, an, "embedding_length", -1, MODEL_MAX_DIM, &hp->n_embd)) ||
	    (rc = get_dim(g, an, "block_count", -1, MODEL_MAX_LAYERS, &hp->n_layer)) ||
	    (rc = get_dim(g, an, "feed_forward_length", -1, 4 * MODEL_MAX_DIM, &hp->n_ff)) ||
	    (rc = get_dim(g, an, "attention.head_count", -1, 4096, &hp->n_head)))
		return rc;
	if ((rc = get_dim(g, an, "attention.head_count_kv", hp->n_head, 4096, &hp->n_head_kv)))
		return rc;
	if (hp->n_head % hp->n_head_kv != 0)
		return hx_err(HEARTH_EFORMAT, "%s.attention.head_count (%d) is not a multiple of head_count_kv (%d)", an,
		              hp->n_head, hp->n_head_kv);

	char key[128];
	snprintf(key, sizeof key, "%s.attention.key_length", an);
	bool has_key_len = hearth_gguf_find_key(g, key) >= 0;
	if (!has_key_len && hp->n_embd % hp->n_head != 0)
		return hx_err(HEARTH_EFORMAT,
		              "%s.embedding_length (%d) is not divisible by %s.attention.head_count (%d) and there is no "
		              "%s.attention.key_length",
		              an, hp->n_embd, an, hp->n_head, an);
	int32_t def_hd = hp->n_embd / hp->n_head;
	int32_t hd_k = 0, hd_v = 0;
	if ((rc = get_dim(g, an, "attention.key_length", def_hd, 65536, &hd_k)) ||
	    (rc = get_dim(g, an, "attention.value_length", hd_k, 65536, &hd_v)))
		return rc;
	if (hd_k != hd_v)
		return hx_err(HEARTH_EUNSUPPORTED, "%s.attention.key_length (%d) differs from value_length (%d)", an,
		              hd_k, hd_v);
	hp->head_dim = hd_k;
	if ((int64_t)hp->n_head * hp->head_dim > MODEL_MAX_DIM)
		return hx_err(HEARTH_EFORMAT, "%s: head_count * key_length (%d * %d) is too large", an, hp->n_head,
		              hp->head_dim);

	if ((rc = get_dim(g, an, "rope.dimension_count", hp->head_dim, 65536, &hp->n_rot)))
		return rc;
	if (hp->n_rot > hp->head_dim || hp->n_rot % 2 != 0)
		return hx_err(HEARTH_EFORMAT, "key '%s.rope.dimension_count' is %d, expected an even number up to the head size %d",
		              an, hp->n_rot, hp->head_dim);

	hp->eps = 0.0f;
	if ((rc = get_float(g, an, "attention.layer_norm_rms_epsilon", true, &hp->eps)))
		return rc;
	if (!(hp->eps > 0.0f && hp->eps < 1.0f))
		return hx_err(HEARTH_EFORMAT, "key '%s.attention.layer_norm_rms_epsilon' is %g, expected 0 < eps < 1", an,
		              (double)hp->eps);
	hp->rope_freq_base = 10000.0f;
	if ((rc = get_float(g, an, "rope.freq_base", false, &hp->rope_freq_base)))
		return rc;
	if (!(hp->rope_freq_base > 1.0f))
		return hx_err(HEARTH_EFORMAT, "key '%s.rope.freq_base' is %g, expected a value above 1", an,
		              (double)hp->rope_freq_base);
	return parse_rope_scaling(g, an, &hp->rope_freq_scale);
}

/* Expected shape check: ne[] must equal {d0, d1, 1, 1}. */
static int check_shape(const hearth_gguf_tensor *t, int64_t d0, int64_t d1)
{
	int64_t want[4] = {d0, d1, 1, 1};
	for (int i = 0; i < 4; i++) {
		if (t->ne[i] != want[i]) {
			if (d1 == 1)
				return hx_err(HEARTH_EFORMAT,
				              "tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld]", t->name,
				              (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
				              (long long)t->ne[3], (long long)d0);
			return hx_err(HEARTH_EFORMAT, "tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]",
			              t->name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
			              (long long)t->ne[3], (long long)d0, (long long)d1);
		}
	}
	return 0;
}

enum tensor_kind {
	TK_VEC,    /* 1-D f32 (norm weights, biases) */
	TK_MATRIX, /* weight matrix of any compute type */
};

/* Finds `name`, checks its shape and type.  Optional tensors that are absent
 * leave *out NULL. */
static int get_tensor(const hearth_gguf *g, const char *name, enum tensor_kind kind, int64_t d0, int64_t d1,
                      bool required, const hearth_gguf_tensor **out)
{
	const hearth_gguf_tensor *t = hearth_gguf_tensor_find(g, name);
	*out = NULL;
	if (!t) {
		if (required)
			return hx_err(HEARTH_ENOTFOUND, "required tensor '%s' is missing", name);
		return 0;
	}
	int rc = check_shape(t, d0, d1);
	if (rc)
		return rc;
	if (kind == TK_VEC) {
		if (t->type != HEARTH_TYPE_F32)
			return hx_err(HEARTH_EUNSUPPORTED, "tensor '%s' has type %s, expected F32", name,
			              hearth_type_name(t->type) ? hearth_type_name(t->type) : "?");
		if ((uintptr_t)t->data % sizeof(float) != 0)
			return hx_err(HEARTH_EFORMAT, "tensor '%s' data is not 4-byte aligned", name);
	} else {
		const char *tn = hearth_type_name(t->type);
		if (!hearth_type_supported(t->type) || kern_vec_dot_type(t->type) < 0)
			return hx_err(HEARTH_EUNSUPPORTED, "tensor '%s' has type %s, which hearth cannot compute with",
			              name, tn ? tn : "?");
		int64_t bs = hearth_type_block_size(t->type);
		if (bs <= 0 || d0 % bs != 0)
			return hx_err(HEARTH_EFORMAT, "tensor '%s': row length %lld is not a multiple of the %s block size %lld",
			              name, (long long)d0, tn, (long long)bs);
	}
	*out = t;
	return 0;
}

/* Accounts for every tensor in the file: each must be one the model uses. */
static bool tensor_is_known(const char *name, int32_t n_layer, const struct model_arch *a)
{
	static const char *const globals[] = {"token_embd.weight", "output_norm.weight", "output.weight",
	                                      "rope_freqs.weight"};
	static const char *const per_layer[] = {
		"attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight",
		"attn_q.bias",      "attn_k.bias",   "attn_v.bias",   "ffn_norm.weight", "ffn_gate.weight",
		"ffn_up.weight",    "ffn_down.weight", "attn_q_norm.weight", "attn_k_norm.weight",
	};
	for (size_t i = 0; i < HX_ARRAY_LEN(globals); i++)
		if (strcmp(name, globals[i]) == 0)
			return true;
	if (strncmp(name, "blk.", 4) != 0)
		return false;
	const char *p = name + 4;
	int64_t il = 0;
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9') {
		il = il * 10 + (*p - '0');
		if (il > MODEL_MAX_LAYERS)
			return false;
		p++;
	}
	if (*p != '.' || il >= n_layer)
		return false;
	p++;
	size_t n_known = HX_ARRAY_LEN(per_layer) - (a->qk_norm ? 0 : 2);
	for (size_t i = 0; i < n_known; i++)
		if (strcmp(p, per_layer[i]) == 0)
			return true;
	return false;
}

int model_parse(const hearth_gguf *g, const struct model_arch **arch_out, struct model_hparams *hp,
                const hearth_gguf_tensor *globals[4], struct model_layer **layers_out)
{
	const struct model_arch *a = NULL;
	int rc = parse_arch(g, &a);
	if (rc)
		return rc;
	if ((rc = parse_hparams(g, a, hp)))
		return rc;
	const int64_t E = hp->n_embd, V = hp->n_vocab, F = hp->n_ff;
	const int64_t QD = (int64_t)hp->n_head * hp->head_dim, KD = (int64_t)hp->n_head_kv * hp->head_dim;

	const hearth_gguf_tensor *tok, *onorm, *out, *rope_freqs;
	if ((rc = get_tensor(g, "token_embd.weight", TK_MATRIX, E, V, true, &tok)) ||
	    (rc = get_tensor(g, "output_norm.weight", TK_VEC, E, 1, true, &onorm)) ||
	    (rc = get_tensor(g, "output.weight", TK_MATRIX, E, V, false, &out)) ||
	    (rc = get_tensor(g, "rope_freqs.weight", TK_VEC, hp->n_rot / 2, 1, false, &rope_freqs)))
		return rc;
	if (rope_freqs) {
		const float *ff = rope_freqs->data;
		for (int32_t i = 0; i < hp->n_rot / 2; i++)
			if (!(ff[i] > 0.0f) || !isfinite(ff[i]))
				return hx_err(HEARTH_EFORMAT, "tensor 'rope_freqs.weight' has a non-positive factor at %d", i);
	}
	if (!out)
		out = tok;

	struct model_layer *layers = hx_calloc((size_t)hp->n_layer, sizeof *layers);
	if (!layers)
		return HEARTH_ENOMEM;
	char name[96];
#define T(field, suffix, kind, d0, d1, req)                                                          \
	do {                                                                                          \
		snprintf(name, sizeof name, "blk.%d.%s", il, suffix);                                   \
		if ((rc = get_tensor(g, name, kind, d0, d1, req, &L->field)))                           \
			goto fail;                                                                    \
	} while (0)
	for (int il = 0; il < hp->n_layer; il++) {
		struct model_layer *L = &layers[il];
		T(attn_norm, "attn_norm.weight", TK_VEC, E, 1, true);
		T(wq, "attn_q.weight", TK_MATRIX, E, QD, true);
		T(wk, "attn_k.weight", TK_MATRIX, E, KD, true);
		T(wv, "attn_v.weight", TK_MATRIX, E, KD, true);
		T(wo, "attn_output.weight", TK_MATRIX, QD, E, true);
		T(bq, "attn_q.bias", TK_VEC, QD, 1, a->qkv_bias);
		T(bk, "attn_k.bias", TK_VEC, KD, 1, a->qkv_bias);
		T(bv, "attn_v.bias", TK_VEC, KD, 1, a->qkv_bias);
		if (a->qk_norm) {
			T(q_norm, "attn_q_norm.weight", TK_VEC, hp->head_dim, 1, true);
			T(k_norm, "attn_k_norm.weight", TK_VEC, hp->head_dim, 1, true);
		}
		T(ffn_norm, "ffn_norm.weight", TK_VEC, E, 1, true);
		T(ffn_gate, "ffn_gate.weight", TK_MATRIX, E, F, true);
		T(ffn_up, "ffn_up.weight", TK_MATRIX, E, F, true);
		T(ffn_down, "ffn_down.weight", TK_MATRIX, F, E, true);
		L->use_rope = !(a->no_rope_layer_step > 0 && (il + 1) % a->no_rope_layer_step == 0);
	}
#undef T
	for (int64_t i = 0; i < hearth_gguf_n_tensors(g); i++) {
		const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
		if (!tensor_is_known(t->name, hp->n_layer, a)) {
			rc = hx_err(HEARTH_EFORMAT, "tensor '%s' is not part of a %d-layer %s model", t->name, hp->n_layer,
			            a->name);
			goto fail;
		}
	}
	*arch_out = a;
	globals[0] = tok;
	globals[1] = onorm;
	globals[2] = out;
	globals[3] = rope_freqs;
	if (layers_out)
		*layers_out = layers;
	else
		free(layers);
	return 0;
fail:
	free(layers);
	return rc;
}

/* Prefixes the message with the file name unless a lower layer already did. */
static int prefix_path(int rc, const char *path)
{
	size_t n = strlen(path);
	if (strncmp(hearth_errmsg(), path, n) != 0 || hearth_errmsg()[n] != ':')
		hx_errprefix(rc, "%s: ", path);
	return rc;
}

int hearth_model_check(const hearth_gguf *g)
{
	const struct model_arch *a = NULL;
	struct model_hparams hp;
	const hearth_gguf_tensor *globals[4];
	if (!g)
		return hx_err(HEARTH_EINVAL, "hearth_model_check: no file");
	int rc = model_parse(g, &a, &hp, globals, NULL);
	if (rc)
		return prefix_path(rc, hearth_gguf_path(g));
	return 0;
}

hearth_model_params hearth_model_default_params(void)
{
	hearth_model_params p = {.n_threads = 0};
	return p;
}

int hearth_model_load(const char *path, const hearth_model_params *params, hearth_model **out)
{
	if (!path || !out)
		return hx_err(HEARTH_EINVAL, "hearth_model_load: path and out are required");
	*out = NULL;
	hearth_model_params def = hearth_model_default_params();
	if (!params)
		params = &def;
	if (params->n_threads < 0 || params->n_threads > 1024)
		return hx_err(HEARTH_EINVAL, "n_threads %d is out of range (0 to 1024)", params->n_threads);
	hearth_gguf *g;
	int rc = hearth_gguf_open(path, &g);
	if (rc)
		return rc;
	hearth_model *m = hx_calloc(1, sizeof *m);
	if (!m) {
		hearth_gguf_free(g);
		return HEARTH_ENOMEM;
	}
	m->gguf = g;
	const hearth_gguf_tensor *globals[4];
	rc = model_parse(g, &m->arch, &m->hp, globals, &m->layers);
	if (rc) {
		prefix_path(rc, path);
		free(m);
		hearth_gguf_free(g);
		return rc;
	}
	m->tok_embd = globals[0];
	m->output_norm = globals[1];
	m->output = globals[2];
	m->rope_freqs = globals[3];
	m->n_threads = params->n_threads;
	for (int64_t i = 0; i < hearth_gguf_n_tensors(g); i++) {
		const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
		m->n_params += t->n_elements;
		m->weight_bytes += t->n_bytes;
	}
	*out = m;
	return 0;
}

void hearth_model_free(hearth_model *m)
{
	if (!m)
		return;
	free(m->layers);
	hearth_gguf_free(m->gguf);
	free(m);
}

const char *hearth_model_arch(const hearth_model *m) { return m->arch->name; }
int32_t hearth_model_n_vocab(const hearth_model *m) { return m->hp.n_vocab; }
int32_t hearth_model_n_ctx_train(const hearth_model *m) { return m->hp.n_ctx_train; }
int32_t hearth_model_n_embd(const hearth_model *m) { return m->hp.n_embd; }
int32_t hearth_model_n_layer(const hearth_model *m) { return m->hp.n_layer; }
int32_t hearth_model_n_head(const hearth_model *m) { return m->hp.n_head; }
int32_t hearth_model_n_head_kv(const hearth_model *m) { return m->hp.n_head_kv; }
int64_t hearth_model_n_params(const hearth_model *m) { return m->n_params; }
uint64_t hearth_model_weight_bytes(const hearth_model *m) { return m->weight_bytes; }
const hearth_gguf *hearth_model_gguf(const hearth_model *m) { return m->gguf; }
