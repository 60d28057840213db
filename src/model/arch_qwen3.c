/*
 * arch_qwen3.c - qwen3: Qwen3 dense.  NEOX RoPE and per-head RMS norms on Q and K (attn_q_norm,
 * attn_k_norm) applied before RoPE; no biases; head_dim may differ from n_embd/n_head.
 */
#include "model/model.h"

const struct model_arch model_arch_qwen3 = {
	.name = "qwen3",
	.rope = MODEL_ROPE_NEOX,
	.qkv_bias = false,
	.qk_norm = true,
	.no_rope_layer_step = 0,
};
