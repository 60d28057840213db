/*
 * hearth.h - the public C API of hearth, a local and private LLM engine.
 *
 * Conventions (they hold for every function below unless its comment says otherwise):
 *  - Functions return int: 0 (HEARTH_OK) on success or a negative HEARTH_E* code.
 *    hearth_strerror(code) names the code; hearth_errmsg() returns a sentence with the
 *    detail of the most recent failure on the calling thread (file, offset, key, ...),
 *    written for a user to act on.
 *  - Constructors return their object through an out-parameter and leave nothing
 *    allocated on failure.  Every _free(NULL) does nothing.
 *  - The library never prints and never exits.
 *  - Borrowed pointers (names, strings, tensor data) live as long as the object they
 *    were obtained from.
 *  - Objects are not thread-safe unless stated; distinct objects may be used from
 *    distinct threads.
 */
#ifndef HEARTH_H
#define HEARTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HEARTH_VERSION "0.1.0"

/* ---------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------- */
enum hearth_error {
	HEARTH_OK = 0,
	HEARTH_EINVAL = -1,       /* an argument is invalid (caller error) */
	HEARTH_ENOMEM = -2,       /* out of memory */
	HEARTH_EIO = -3,          /* a file could not be opened, read or written */
	HEARTH_EFORMAT = -4,      /* a file or request is malformed */
	HEARTH_EUNSUPPORTED = -5, /* valid, but not supported by this build */
	HEARTH_ENOTFOUND = -6,    /* a key, tensor, token or name does not exist */
	HEARTH_ETYPE = -7,        /* a value exists but has the wrong type */
	HEARTH_ECTXFULL = -8,     /* the context (KV cache) has no room left */
	HEARTH_ECANCELED = -9,    /* the operation was cancelled by the caller */
	HEARTH_ELIMIT = -10,      /* a safety limit was reached (size, depth, iterations) */
};

/* Returns a short static name for an error code ("malformed input", ...). */
const char *hearth_strerror(int err);

/* Returns the detail message of the most recent failure on this thread, or "" if
 * none.  The string is thread-local and valid until the next failing call. */
const char *hearth_errmsg(void);

/* ---------------------------------------------------------------------------------
 * Tensor types (the GGML numbering used by GGUF files)
 * ------------------------------------------------------------------------------- */
enum hearth_type {
	HEARTH_TYPE_F32 = 0,
	HEARTH_TYPE_F16 = 1,
	HEARTH_TYPE_Q4_0 = 2,
	HEARTH_TYPE_Q4_1 = 3,
	HEARTH_TYPE_Q5_0 = 6,
	HEARTH_TYPE_Q5_1 = 7,
	HEARTH_TYPE_Q8_0 = 8,
	HEARTH_TYPE_Q8_1 = 9,
	HEARTH_TYPE_Q2_K = 10,
	HEARTH_TYPE_Q3_K = 11,
	HEARTH_TYPE_Q4_K = 12,
	HEARTH_TYPE_Q5_K = 13,
	HEARTH_TYPE_Q6_K = 14,
	HEARTH_TYPE_Q8_K = 15,
	HEARTH_TYPE_IQ2_XXS = 16,
	HEARTH_TYPE_IQ2_XS = 17,
	HEARTH_TYPE_IQ3_XXS = 18,
	HEARTH_TYPE_IQ1_S = 19,
	HEARTH_TYPE_IQ4_NL = 20,
	HEARTH_TYPE_IQ3_S = 21,
	HEARTH_TYPE_IQ2_S = 22,
	HEARTH_TYPE_IQ4_XS = 23,
	HEARTH_TYPE_I8 = 24,
	HEARTH_TYPE_I16 = 25,
	HEARTH_TYPE_I32 = 26,
	HEARTH_TYPE_I64 = 27,
	HEARTH_TYPE_F64 = 28,
	HEARTH_TYPE_IQ1_M = 29,
	HEARTH_TYPE_BF16 = 30,
	HEARTH_TYPE_TQ1_0 = 34,
	HEARTH_TYPE_TQ2_0 = 35,
	HEARTH_TYPE_MXFP4 = 39,
	HEARTH_TYPE_COUNT = 40,
};

/* Returns the type's name ("Q4_K", ...) or NULL for an id that is not a known,
 * current type (including the removed ids 4, 5, 31-33 and 36-38). */
const char *hearth_type_name(int type);

/* Elements per block and bytes per block of a known type; 0 for unknown ids. */
int64_t hearth_type_block_size(int type);
size_t hearth_type_block_bytes(int type);

/* True when hearth can compute with tensors of this type (dequantize, dot
 * products, quantize).  Known types such as IQ2_XXS may be readable in a GGUF
 * container yet unsupported for compute. */
bool hearth_type_supported(int type);

/* Looks a type up by name, case-insensitively ("q4_k", "F16"); -1 if unknown. */
int hearth_type_from_name(const char *name);

/* ---------------------------------------------------------------------------------
 * GGUF files
 *
 * hearth_gguf_open() maps a GGUF v2/v3 file read-only and validates the whole
 * container before returning: header, every key/value (types, lengths, nesting),
 * every tensor info (name, dimensions, type, alignment, bounds, overlaps).  Nothing
 * in the file is trusted: every count and length is checked against the bytes left
 * before anything is allocated.  Accessors below never fail on an opened file.
 * ------------------------------------------------------------------------------- */
typedef struct hearth_gguf hearth_gguf;

enum hearth_gguf_type {
	HEARTH_GGUF_U8 = 0,
	HEARTH_GGUF_I8 = 1,
	HEARTH_GGUF_U16 = 2,
	HEARTH_GGUF_I16 = 3,
	HEARTH_GGUF_U32 = 4,
	HEARTH_GGUF_I32 = 5,
	HEARTH_GGUF_F32 = 6,
	HEARTH_GGUF_BOOL = 7,
	HEARTH_GGUF_STRING = 8,
	HEARTH_GGUF_ARRAY = 9,
	HEARTH_GGUF_U64 = 10,
	HEARTH_GGUF_I64 = 11,
	HEARTH_GGUF_F64 = 12,
	HEARTH_GGUF_TYPE_COUNT = 13,
};

/* A string inside the mapped file: NOT NUL-terminated; may contain any bytes. */
typedef struct hearth_str {
	const char *ptr;
	uint64_t len;
} hearth_str;

/* A metadata value.  Scalars are decoded; strings point into the mapping; arrays
 * of fixed-size scalars expose their raw little-endian bytes (`data`, possibly
 * unaligned: read them with hearth_gguf_arr_*), arrays of strings or of arrays
 * expose decoded `items`. */
typedef struct hearth_gguf_value {
	enum hearth_gguf_type type;
	union {
		uint64_t u64; /* U8, U16, U32, U64, BOOL (0/1) */
		int64_t i64;  /* I8, I16, I32, I64 */
		double f64;   /* F32, F64 */
		hearth_str str;
		struct {
			enum hearth_gguf_type type; /* element type */
			uint64_t n;                 /* element count */
			const uint8_t *data;        /* fixed-size elements, raw */
			const struct hearth_gguf_value *items; /* STRING / ARRAY elements */
		} arr;
	} v;
} hearth_gguf_value;

typedef struct hearth_gguf_tensor {
	const char *name;   /* NUL-terminated copy, at most 63 bytes */
	int type;           /* enum hearth_type */
	uint32_t n_dims;    /* 1..4 */
	int64_t ne[4];      /* ne[0] is the contiguous (row) dimension; unused dims are 1 */
	int64_t n_elements; /* product of ne */
	uint64_t offset;    /* relative to the data section */
	uint64_t n_bytes;   /* size of the data */
	const void *data;   /* inside the read-only mapping */
} hearth_gguf_tensor;

/* Opens and validates `path`.  On failure returns HEARTH_EIO (cannot open/map),
 * HEARTH_EFORMAT (malformed; hearth_errmsg() names the file, the byte offset, the
 * key or tensor, and the defect) or HEARTH_ENOMEM. */
int hearth_gguf_open(const char *path, hearth_gguf **out);

/* Same, over a caller-owned buffer that must outlive the handle (used by fuzzers
 * and tests).  `name` is used in messages. */
int hearth_gguf_open_memory(const void *buf, size_t len, const char *name, hearth_gguf **out);

void hearth_gguf_free(hearth_gguf *g);

const char *hearth_gguf_path(const hearth_gguf *g);
uint32_t hearth_gguf_version(const hearth_gguf *g);
uint64_t hearth_gguf_file_size(const hearth_gguf *g);
uint64_t hearth_gguf_data_offset(const hearth_gguf *g); /* start of the data section */
uint32_t hearth_gguf_alignment(const hearth_gguf *g);

/* Key/value pairs, in file order. */
int64_t hearth_gguf_n_kv(const hearth_gguf *g);
const char *hearth_gguf_kv_key(const hearth_gguf *g, int64_t i); /* NUL-terminated */
const hearth_gguf_value *hearth_gguf_kv_value(const hearth_gguf *g, int64_t i);
/* Index of `key`, or -1. O(log n). */
int64_t hearth_gguf_find_key(const hearth_gguf *g, const char *key);
const hearth_gguf_value *hearth_gguf_get(const hearth_gguf *g, const char *key);

/* Typed getters.  They return HEARTH_ENOTFOUND when the key is absent (and leave
 * *out untouched, so callers may preset a default) and HEARTH_ETYPE when the value
 * has another type or does not fit (hearth_errmsg() names key, found type and
 * expected type).  Integer getters accept any integer type whose value fits. */
int hearth_gguf_get_u32(const hearth_gguf *g, const char *key, uint32_t *out);
int hearth_gguf_get_i64(const hearth_gguf *g, const char *key, int64_t *out);
int hearth_gguf_get_f32(const hearth_gguf *g, const char *key, float *out);
int hearth_gguf_get_bool(const hearth_gguf *g, const char *key, bool *out);
int hearth_gguf_get_str(const hearth_gguf *g, const char *key, hearth_str *out);
/* An array whose elements have type `elem_type` (HEARTH_GGUF_TYPE_COUNT: any). */
int hearth_gguf_get_arr(const hearth_gguf *g, const char *key, enum hearth_gguf_type elem_type,
                        const hearth_gguf_value **out);

/* Element access for arrays of fixed-size scalars (index must be < arr.n). */
uint64_t hearth_gguf_arr_u64(const hearth_gguf_value *arr, uint64_t i); /* unsigned & bool */
int64_t hearth_gguf_arr_i64(const hearth_gguf_value *arr, uint64_t i);  /* any integer */
double hearth_gguf_arr_f64(const hearth_gguf_value *arr, uint64_t i);   /* any number */

/* Type names for messages ("u32", "string", "array[f32]" is not produced). */
const char *hearth_gguf_type_name(enum hearth_gguf_type t);

/* Tensors, in file order. */
int64_t hearth_gguf_n_tensors(const hearth_gguf *g);
const hearth_gguf_tensor *hearth_gguf_tensor_at(const hearth_gguf *g, int64_t i);
const hearth_gguf_tensor *hearth_gguf_tensor_find(const hearth_gguf *g, const char *name);

/* ---------------------------------------------------------------------------------
 * Tokenizer (src/tokenizer)
 * ------------------------------------------------------------------------------- */
/* (tokenizer API goes here) */

/* ---------------------------------------------------------------------------------
 * Chat templates and thinking (src/chat)
 * ------------------------------------------------------------------------------- */
/* (chat template API goes here) */

/* ---------------------------------------------------------------------------------
 * Sampling (src/sampler)
 * ------------------------------------------------------------------------------- */
/* (sampler API goes here) */

/* ---------------------------------------------------------------------------------
 * Models and inference contexts (src/model, src/engine)
 * ------------------------------------------------------------------------------- */
/* (model / context API goes here) */

/* ---------------------------------------------------------------------------------
 * Quantization (whole files)
 * ------------------------------------------------------------------------------- */
typedef void (*hearth_progress_fn)(void *user, int64_t done, int64_t total, const char *what);

typedef struct hearth_quantize_params {
	const char *ftype;  /* "Q4_K_M", "Q8_0", "F16", ... (see hearth quantize --help) */
	int n_threads;      /* 0: all cores */
	hearth_progress_fn progress; /* may be NULL */
	void *progress_user;
} hearth_quantize_params;

hearth_quantize_params hearth_quantize_default_params(void);

/* Reads an F32/F16/BF16 GGUF model and writes `out_path` with its tensors
 * quantized per params->ftype and every metadata key kept (general.file_type
 * updated).  Writes to a temporary file and renames it into place, so a failure
 * never leaves a half-written output. */
int hearth_quantize_file(const char *in_path, const char *out_path, const hearth_quantize_params *params);

#ifdef __cplusplus
}
#endif
#endif /* HEARTH_H */
