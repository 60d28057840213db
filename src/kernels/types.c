/*
 * types.c - the table of tensor types: names, block sizes and whether hearth can
 * compute with them.  The GGUF reader uses it to validate tensor layouts; ids not
 * in the table (including removed ones) are rejected.
 */
#include "hearth.h"
#include "kernels/quants.h"

#include <strings.h>

struct type_info {
	const char *name;
	int64_t blck;
	size_t bytes;
	bool supported;
};

static const struct type_info k_types[HEARTH_TYPE_COUNT] = {
	[HEARTH_TYPE_F32] = {"F32", 1, 4, true},
	[HEARTH_TYPE_F16] = {"F16", 1, 2, true},
	[HEARTH_TYPE_Q4_0] = {"Q4_0", QK4_0, sizeof(block_q4_0), true},
	[HEARTH_TYPE_Q4_1] = {"Q4_1", QK4_1, sizeof(block_q4_1), true},
	[HEARTH_TYPE_Q5_0] = {"Q5_0", QK5_0, sizeof(block_q5_0), true},
	[HEARTH_TYPE_Q5_1] = {"Q5_1", QK5_1, sizeof(block_q5_1), true},
	[HEARTH_TYPE_Q8_0] = {"Q8_0", QK8_0, sizeof(block_q8_0), true},
	[HEARTH_TYPE_Q8_1] = {"Q8_1", QK8_1, sizeof(block_q8_1), false},
	[HEARTH_TYPE_Q2_K] = {"Q2_K", QK_K, sizeof(block_q2_K), true},
	[HEARTH_TYPE_Q3_K] = {"Q3_K", QK_K, sizeof(block_q3_K), true},
	[HEARTH_TYPE_Q4_K] = {"Q4_K", QK_K, sizeof(block_q4_K), true},
	[HEARTH_TYPE_Q5_K] = {"Q5_K", QK_K, sizeof(block_q5_K), true},
	[HEARTH_TYPE_Q6_K] = {"Q6_K", QK_K, sizeof(block_q6_K), true},
	[HEARTH_TYPE_Q8_K] = {"Q8_K", QK_K, sizeof(block_q8_K), false},
	[HEARTH_TYPE_IQ2_XXS] = {"IQ2_XXS", QK_K, 66, false},
	[HEARTH_TYPE_IQ2_XS] = {"IQ2_XS", QK_K, 74, false},
	[HEARTH_TYPE_IQ3_XXS] = {"IQ3_XXS", QK_K, 98, false},
	[HEARTH_TYPE_IQ1_S] = {"IQ1_S", QK_K, 50, false},
	[HEARTH_TYPE_IQ4_NL] = {"IQ4_NL", QK4_NL, sizeof(block_iq4_nl), true},
	[HEARTH_TYPE_IQ3_S] = {"IQ3_S", QK_K, 110, false},
	[HEARTH_TYPE_IQ2_S] = {"IQ2_S", QK_K, 82, false},
	[HEARTH_TYPE_IQ4_XS] = {"IQ4_XS", QK_K, sizeof(block_iq4_xs), true},
	[HEARTH_TYPE_I8] = {"I8", 1, 1, false},
	[HEARTH_TYPE_I16] = {"I16", 1, 2, false},
	[HEARTH_TYPE_I32] = {"I32", 1, 4, false},
	[HEARTH_TYPE_I64] = {"I64", 1, 8, false},
	[HEARTH_TYPE_F64] = {"F64", 1, 8, false},
	[HEARTH_TYPE_IQ1_M] = {"IQ1_M", QK_K, 56, false},
	[HEARTH_TYPE_BF16] = {"BF16", 1, 2, true},
	[HEARTH_TYPE_TQ1_0] = {"TQ1_0", QK_K, 54, false},
	[HEARTH_TYPE_TQ2_0] = {"TQ2_0", QK_K, 66, false},
	[HEARTH_TYPE_MXFP4] = {"MXFP4", 32, 17, false},
};

static const struct type_info *info(int type)
{
	if (type < 0 || type >= HEARTH_TYPE_COUNT || !k_types[type].name)
		return NULL;
	return &k_types[type];
}

const char *hearth_type_name(int type)
{
	const struct type_info *t = info(type);
	return t ? t->name : NULL;
}

int64_t hearth_type_block_size(int type)
{
	const struct type_info *t = info(type);
	return t ? t->blck : 0;
}

size_t hearth_type_block_bytes(int type)
{
	const struct type_info *t = info(type);
	return t ? t->bytes : 0;
}

bool hearth_type_supported(int type)
{
	const struct type_info *t = info(type);
	return t && t->supported;
}

int hearth_type_from_name(const char *name)
{
	for (int i = 0; i < HEARTH_TYPE_COUNT; i++)
		if (k_types[i].name && strcasecmp(k_types[i].name, name) == 0)
			return i;
	return -1;
}
