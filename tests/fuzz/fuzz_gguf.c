/*
 * fuzz_gguf.c - libFuzzer harness for the GGUF reader: open arbitrary bytes and,
 * when they form a valid container, touch every key, value and tensor byte range.
 */
#include "hearth.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t touch_value(const hearth_gguf_value *v)
{
	uint64_t acc = v->type;
	if (v->type == HEARTH_GGUF_STRING && v->v.str.len)
		acc += (uint8_t)v->v.str.ptr[v->v.str.len - 1];
	if (v->type == HEARTH_GGUF_ARRAY) {
		for (uint64_t i = 0; i < v->v.arr.n && i < 64; i++) {
			if (v->v.arr.items)
				acc += touch_value(&v->v.arr.items[i]);
			else
				acc += (uint64_t)hearth_gguf_arr_i64(v, i) + (uint64_t)hearth_gguf_arr_f64(v, i);
		}
	}
	return acc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* copy so that reads past `size` are caught */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	hearth_gguf *g;
	if (hearth_gguf_open_memory(copy, size, "fuzz", &g) == 0) {
		volatile uint64_t acc = 0;
		for (int64_t i = 0; i < hearth_gguf_n_kv(g); i++) {
			const char *k = hearth_gguf_kv_key(g, i);
			acc += touch_value(hearth_gguf_kv_value(g, i));
			acc += (uint64_t)hearth_gguf_find_key(g, k);
			uint32_t u;
			hearth_str s;
			float f;
			hearth_gguf_get_u32(g, k, &u);
			hearth_gguf_get_str(g, k, &s);
			hearth_gguf_get_f32(g, k, &f);
		}
		for (int64_t i = 0; i < hearth_gguf_n_tensors(g); i++) {
			const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
			if (hearth_gguf_tensor_find(g, t->name) != t)
				abort();
			if (t->n_bytes)
				acc += ((const uint8_t *)t->data)[0] + ((const uint8_t *)t->data)[t->n_bytes - 1];
		}
		(void)acc;
		hearth_gguf_free(g);
	}
	free(copy);
	return 0;
}
