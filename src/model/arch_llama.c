/*
 * arch_llama.c - llama: Llama 2/3, TinyLlama, Mistral-style models.  The plain block: RMSNorm,
 * GQA attention with NORM RoPE, SwiGLU FFN.  Biases on q/k/v are optional.
 */
#include "model/model.h"

const struct model_arch model_arch_llama = {
	.name = "llama",
	.rope = MODEL_ROPE_NORM,
	.qkv_bias = false,
	.qk_norm = false,
	.no_rope_layer_step = 0,
};
