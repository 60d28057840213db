/*
 * arch_smollm3.c - smollm3: SmolLM3.  The llama block, except that layer il skips RoPE when
 * (il + 1) % 4 == 0 ("NoPE" layers).  GGUF has no key for it: the step is fixed,
 * as in the reference implementation.
 */
#include "model/model.h"

const struct model_arch model_arch_smollm3 = {
	.name = "smollm3",
	.rope = MODEL_ROPE_NORM,
	.qkv_bias = false,
	.qk_norm = false,
	.no_rope_layer_step = 4,
};
