/*
 * quantize.h - whole-file quantization internals shared by the library entry
 * point (hearth_quantize_file), the CLI (`hearth quantize`, which prints the
 * statistics) and the tests (which check the per-tensor type plan).
 */
#ifndef HEARTH_QUANT_QUANTIZE_H
#define HEARTH_QUANT_QUANTIZE_H

#include "hearth.h"

#include <stdbool.h>
#include <stdint.h>

/* llama.cpp's llama_ftype numbers, written to general.file_type. */
enum hx_ftype {
	HX_FTYPE_ALL_F32 = 0,
	HX_FTYPE_F16 = 1,
	HX_FTYPE_Q4_0 = 2,
	HX_FTYPE_Q4_1 = 3,
	HX_FTYPE_Q8_0 = 7,
	HX_FTYPE_Q5_0 = 8,
	HX_FTYPE_Q5_1 = 9,
	HX_FTYPE_Q2_K = 10,
	HX_FTYPE_Q3_K_S = 11,
	HX_FTYPE_Q3_K_M = 12,
	HX_FTYPE_Q3_K_L = 13,
	HX_FTYPE_Q4_K_S = 14,
	HX_FTYPE_Q4_K_M = 15,
	HX_FTYPE_Q5_K_S = 16,
	HX_FTYPE_Q5_K_M = 17,
	HX_FTYPE_Q6_K = 18,
	HX_FTYPE_IQ4_NL = 25,
	HX_FTYPE_IQ4_XS = 30,
	HX_FTYPE_BF16 = 32,
};

/* One entry of the table of accepted TYPE names. */
typedef struct hx_ftype_info {
	const char *name;    /* "Q4_K_M" */
	int ftype;           /* enum hx_ftype */
	int base_type;       /* enum hearth_type most weights get */
	const char *alias_of; /* NULL, or the name this one stands for ("Q4_K" -> "Q4_K_M") */
	const char *desc;    /* one line for --help */
} hx_ftype_info;

/* The table (n entries), in the order --help lists it. */
const hx_ftype_info *hx_ftype_table(int *n);
/* Looks a TYPE name up, case-insensitively, resolving aliases; NULL if unknown. */
const hx_ftype_info *hx_ftype_find(const char *name);

/* Per output tensor type totals. */
typedef struct hx_quant_type_stats {
	int64_t n_tensors;   /* tensors of this type in the output */
	int64_t n_elements;
	uint64_t n_bytes;
	int64_t n_converted; /* of which converted from another type (the rest were copied) */
	double err2, x2;     /* sum of squared round-trip error and of squared values, converted only */
} hx_quant_type_stats;

typedef struct hx_quantize_stats {
	int ftype;
	uint64_t in_file_size, out_file_size;
	uint64_t in_data_bytes, out_data_bytes; /* tensor data without padding */
	int64_t n_elements;                     /* of all tensors */
	int64_t n_tensors, n_converted, n_fallback;
	double seconds;
	hx_quant_type_stats types[HEARTH_TYPE_COUNT];
} hx_quantize_stats;

/*
 * Decides the output type of every tensor of `g` for `ftype_name`, following
 * llama.cpp's llama_tensor_get_type (unless `pure`: then every quantizable
 * weight gets the base type, with the same fallback for rows that are not
 * whole blocks).  `order` receives the tensor indices in the order they are
 * processed and written (non-layer tensors by name, then layers by number and
 * name, as llama-quantize writes them) and `types[i]` the type of tensor i
 * (file order).  Both arrays hold hearth_gguf_n_tensors(g) entries.  Returns
 * HEARTH_EINVAL for an unknown name and HEARTH_EUNSUPPORTED when a tensor that
 * needs converting is not F32/F16/BF16.  *n_fallback (may be NULL) counts the
 * tensors whose row length forced a fallback type.
 */
int hx_quantize_plan(const hearth_gguf *g, const char *ftype_name, bool pure, int64_t *order, int *types,
                     int64_t *n_fallback);

/* hearth_quantize_file with the --pure switch and statistics (stats may be NULL). */
int hx_quantize_file(const char *in_path, const char *out_path, const hearth_quantize_params *params, bool pure,
                     hx_quantize_stats *stats);

#endif
