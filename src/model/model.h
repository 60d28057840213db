/*
 * model.h - internal model layout shared by src/model and src/engine: the
 * architecture descriptors, the hyper-parameters read from GGUF metadata and the
 * weight tensors (views into the file mapping, never copies).
 *
 * Adding an architecture: write arch_<name>.c with a `struct model_arch`
 * describing what differs from the plain pre-norm llama block, and list it in
 * model.c's table.
 */
#ifndef HEARTH_MODEL_H
#define HEARTH_MODEL_H

#include "hearth.h"

#include <stdbool.h>
#include <stdint.h>

/* Longest layer count accepted (as the reference's LLAMA_MAX_LAYERS). */
#define MODEL_MAX_LAYERS 512
/* Largest single dimension accepted for n_embd, n_ff, head sizes. */
#define MODEL_MAX_DIM (1 << 20)

enum model_rope {
	MODEL_ROPE_NORM, /* rotate adjacent pairs (2i, 2i+1) */
	MODEL_ROPE_NEOX, /* rotate pairs (i, i + n_rot/2) */
};

/* What one architecture changes on the shared transformer core. */
struct model_arch {
	const char *name;        /* general.architecture and the metadata key prefix */
	enum model_rope rope;
	bool qkv_bias;           /* attn_{q,k,v}.bias required (else optional) */
	bool qk_norm;            /* per-head attn_q_norm / attn_k_norm before RoPE */
	int no_rope_layer_step;  /* >0: layer il has no RoPE when (il+1) % step == 0 */
};

extern const struct model_arch model_arch_llama;
extern const struct model_arch model_arch_qwen2;
extern const struct model_arch model_arch_qwen3;
extern const struct model_arch model_arch_smollm3;

/* Hyper-parameters, all validated (positive, consistent, within limits). */
struct model_hparams {
	int32_t n_vocab;
	int32_t n_ctx_train;
	int32_t n_embd;
	int32_t n_layer;
	int32_t n_ff;
	int32_t n_head;
	int32_t n_head_kv;
	int32_t head_dim; /* key_length == value_length */
	int32_t n_rot;    /* rotated dimensions per head (even, <= head_dim) */
	float eps;        /* RMSNorm epsilon */
	float rope_freq_base;
	float rope_freq_scale; /* 1 / linear scaling factor */
};

struct model_layer {
	const hearth_gguf_tensor *attn_norm; /* [n_embd] f32 */
	const hearth_gguf_tensor *wq;        /* [n_embd -> n_head * head_dim] */
	const hearth_gguf_tensor *wk;        /* [n_embd -> n_head_kv * head_dim] */
	const hearth_gguf_tensor *wv;        /* [n_embd -> n_head_kv * head_dim] */
	const hearth_gguf_tensor *wo;        /* [n_head * head_dim -> n_embd] */
	const hearth_gguf_tensor *bq, *bk, *bv; /* f32 biases or NULL */
	const hearth_gguf_tensor *q_norm;    /* [head_dim] f32 or NULL */
	const hearth_gguf_tensor *k_norm;    /* [head_dim] f32 or NULL */
	const hearth_gguf_tensor *ffn_norm;  /* [n_embd] f32 */
	const hearth_gguf_tensor *ffn_gate;  /* [n_embd -> n_ff] */
	const hearth_gguf_tensor *ffn_up;    /* [n_embd -> n_ff] */
	const hearth_gguf_tensor *ffn_down;  /* [n_ff -> n_embd] */
	bool use_rope;
};

struct hearth_model {
	hearth_gguf *gguf;
	const struct model_arch *arch;
	struct model_hparams hp;
	const hearth_gguf_tensor *tok_embd;    /* [n_embd, n_vocab] */
	const hearth_gguf_tensor *output_norm; /* [n_embd] f32 */
	const hearth_gguf_tensor *output;      /* [n_embd, n_vocab]; == tok_embd when tied */
	const hearth_gguf_tensor *rope_freqs;  /* [n_rot / 2] f32 frequency divisors, or NULL */
	struct model_layer *layers;            /* n_layer */
	int n_threads;
	int64_t n_params;
	uint64_t weight_bytes;
};

/* Reads and validates everything; fills *hp, *arch, the per-layer tensor views
 * (*layers_out, n_layer entries, when layers_out != NULL; the caller frees it)
 * and globals[4] = {tok_embd, output_norm, output (tok_embd when tied),
 * rope_freqs (or NULL)}. */
int model_parse(const hearth_gguf *g, const struct model_arch **arch, struct model_hparams *hp,
                const hearth_gguf_tensor *globals[4], struct model_layer **layers_out);

#endif

/* ---- forward pass (transformer.c) ---- */

struct kern_pool;
struct kern_isa;

/* The KV cache in `type` (F16 or F32): K laid out [layer][seq][kv_head][pos][head_dim],
 * V transposed, [layer][seq][kv_head][head_dim][pos], so both attention products
 * read contiguous rows. */
struct model_kv {
	void *k, *v;
	int type;
	size_t elt;      /* bytes per element */
	int32_t n_ctx;   /* positions per sequence */
	int32_t n_seq;
};

/* Working memory for evaluating up to n_ub tokens at once, allocated once. */
struct model_work;

/* Allocates the working buffers for `m` with chunks of up to n_ub tokens and
 * sequences of up to n_ctx positions, using `pool` (borrowed; may be NULL). */
int model_work_create(const hearth_model *m, int32_t n_ub, int32_t n_ctx, struct kern_pool *pool,
                      struct model_work **out);
void model_work_free(struct model_work *w);

/* Evaluates n (<= n_ub) tokens: token tok[i] at position pos[i] of sequence
 * seq[i] (all validated by the caller; positions of one sequence increasing and
 * contiguous, the cache already holding every earlier position).  Writes the
 * tokens' K and V into `kv` and, for the n_out chunk indices out_idx[] (strictly
 * increasing), n_vocab logits each to logits[r * n_vocab].  Returns 0 or
 * HEARTH_ECANCELED when abort_fn asks (checked before every layer). */
int model_forward(const hearth_model *m, struct model_work *w, const struct model_kv *kv, int32_t n,
                  const int32_t *tok, const int32_t *pos, const int32_t *seq, int32_t n_out, const int32_t *out_idx,
                  float *logits, hearth_abort_fn abort_fn, void *abort_user);
