/*
 * arch_qwen2.c - qwen2: Qwen2 / Qwen2.5.  The llama block with required q/k/v biases and NEOX RoPE.
 */
#include "model/model.h"

const struct model_arch model_arch_qwen2 = {
	.name = "qwen2",
	.rope = MODEL_ROPE_NEOX,
	.qkv_bias = true,
	.qk_norm = false,
	.no_rope_layer_step = 0,
};
