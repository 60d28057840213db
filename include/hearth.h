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

/* Bytes of one value of a fixed-size type (u8 ... f64, bool); 0 for STRING,
 * ARRAY and invalid types. */
size_t hearth_gguf_type_size(enum hearth_gguf_type t);

/* Type names for messages ("u32", "string", "array[f32]" is not produced). */
const char *hearth_gguf_type_name(enum hearth_gguf_type t);

/* Tensors, in file order. */
int64_t hearth_gguf_n_tensors(const hearth_gguf *g);
const hearth_gguf_tensor *hearth_gguf_tensor_at(const hearth_gguf *g, int64_t i);
const hearth_gguf_tensor *hearth_gguf_tensor_find(const hearth_gguf *g, const char *name);

/* ---------------------------------------------------------------------------------
 * Tokenizer (src/tokenizer)
 * ------------------------------------------------------------------------------- */
/*
 * A vocabulary is loaded from a GGUF file's `tokenizer.*` metadata and reproduces
 * llama.cpp's tokenizers exactly: SentencePiece-style (`tokenizer.ggml.model` =
 * "llama"), byte-level BPE ("gpt2") with the pre-tokenizer named by
 * `tokenizer.ggml.pre`, and WordPiece ("bert").  A loaded vocabulary is
 * immutable: every function below that takes a `const hearth_vocab *` may be
 * called from several threads at once.
 * The vocabulary copies what it needs, so the hearth_gguf may be freed after loading.
 */
typedef struct hearth_vocab hearth_vocab;

enum hearth_vocab_type {
	HEARTH_VOCAB_SPM = 1, /* "llama": SentencePiece scores + <0xNN> byte fallback */
	HEARTH_VOCAB_BPE = 2, /* "gpt2": byte-level BPE with merges */
	HEARTH_VOCAB_WPM = 3, /* "bert": WordPiece (embedding models) */
};

/* Token types as stored in tokenizer.ggml.token_type. */
enum hearth_token_type {
	HEARTH_TOKEN_UNDEFINED = 0,
	HEARTH_TOKEN_NORMAL = 1,
	HEARTH_TOKEN_UNKNOWN = 2,
	HEARTH_TOKEN_CONTROL = 3,      /* matched in text only with parse_special */
	HEARTH_TOKEN_USER_DEFINED = 4, /* always matched in text */
	HEARTH_TOKEN_UNUSED = 5,
	HEARTH_TOKEN_BYTE = 6,
};

/* Loads and validates the vocabulary of `g`.  Errors (hearth_errmsg() names the
 * key): HEARTH_ENOTFOUND (a required key is missing), HEARTH_ETYPE (an array has the
 * wrong element type), HEARTH_EFORMAT (lengths differ, an id is out of range, a merge
 * does not parse), HEARTH_EUNSUPPORTED (unknown tokenizer model or pre-tokenizer:
 * the message names it), HEARTH_ENOMEM. */
int hearth_vocab_load(const hearth_gguf *g, hearth_vocab **out);
void hearth_vocab_free(hearth_vocab *v);

enum hearth_vocab_type hearth_vocab_type(const hearth_vocab *v);
/* The pre-tokenizer in effect ("llama-bpe", "qwen2", "default", ... ; "" for SPM). */
const char *hearth_vocab_pre(const hearth_vocab *v);
int32_t hearth_vocab_n_tokens(const hearth_vocab *v);
/* Special ids, or -1 when the vocabulary has none. */
int32_t hearth_vocab_bos(const hearth_vocab *v);
int32_t hearth_vocab_eos(const hearth_vocab *v);
int32_t hearth_vocab_eot(const hearth_vocab *v);
int32_t hearth_vocab_unk(const hearth_vocab *v);
int32_t hearth_vocab_pad(const hearth_vocab *v);
/* Whether add_special adds BOS / EOS (tokenizer.ggml.add_bos_token / add_eos_token,
 * or llama.cpp's default for the tokenizer type). */
bool hearth_vocab_add_bos(const hearth_vocab *v);
bool hearth_vocab_add_eos(const hearth_vocab *v);
/* True for end-of-generation tokens: eos, eot, eom and the tokens llama.cpp detects
 * by text (<|im_end|>, <|eot_id|>, <|endoftext|>, <|end|>, <end_of_turn>, ...). */
bool hearth_vocab_is_eog(const hearth_vocab *v, int32_t id);
/* The token's type (enum hearth_token_type, after llama.cpp's adjustments such as
 * marking EOG tokens CONTROL), or -1 for an id out of range. */
int hearth_vocab_token_type(const hearth_vocab *v, int32_t id);
/* The token's text exactly as stored in the vocabulary (SPM "▁", BPE byte-level
 * characters); {NULL, 0} for an id out of range.  Borrowed from v. */
hearth_str hearth_vocab_token_text(const hearth_vocab *v, int32_t id);
/* The id whose vocabulary text equals text[0..len), or -1. */
int32_t hearth_vocab_find(const hearth_vocab *v, const char *text, size_t len);

/* Tokenizes text[0..len) (any bytes; invalid UTF-8 is tokenized as U+FFFD, as
 * llama.cpp does).  add_special adds BOS/EOS as the vocabulary asks; parse_special
 * lets CONTROL tokens be matched in the text (USER_DEFINED tokens always are).
 * Writes at most n_max ids to `ids` and the total count to *n_out.  Returns 0, or
 * HEARTH_ELIMIT when n_max was too small (then *n_out is the count needed and the
 * first n_max ids are written) or the text is longer than 1 GiB (*n_out = 0), or
 * HEARTH_ENOMEM.  Pass ids = NULL, n_max = 0 to learn the count. */
int hearth_tokenize(const hearth_vocab *v, const char *text, size_t len, bool add_special,
                    bool parse_special, int32_t *ids, size_t n_max, size_t *n_out);

/* hearth_tokenize into an array of the exact size: *ids gets a malloc'd array of
 * *n_out ids (never NULL on success, even for no tokens; free() it).  Returns 0,
 * HEARTH_ELIMIT when the text is longer than 1 GiB, HEARTH_ENOMEM or
 * HEARTH_EINVAL; on error *ids = NULL and *n_out = 0. */
int hearth_tokenize_alloc(const hearth_vocab *v, const char *text, size_t len, bool add_special,
                          bool parse_special, int32_t **ids, size_t *n_out);

/* The bytes a token stands for (SPM "▁" -> " ", <0xNN> -> that byte, BPE byte-level
 * characters -> bytes).  CONTROL/UNKNOWN tokens give their text when `special` is
 * true and nothing otherwise; UNUSED/UNDEFINED tokens and ids out of range give
 * nothing.  The bytes may be a fragment of a UTF-8 sequence.  Borrowed from v. */
hearth_str hearth_token_piece(const hearth_vocab *v, int32_t id, bool special);

/* Streaming detokenizer: turns a token stream into text that is always valid UTF-8.
 * Bytes of an incomplete UTF-8 sequence are held until the sequence completes (so
 * a character split across tokens, e.g. byte tokens, is emitted whole); bytes that
 * can never form a valid sequence are replaced by U+FFFD. */
typedef struct hearth_detok hearth_detok;

enum hearth_detok_flags {
	HEARTH_DETOK_SPECIAL = 1,     /* render CONTROL/UNKNOWN tokens' text */
	HEARTH_DETOK_STRIP_SPACE = 2, /* drop the leading space of the first piece when the
	                                 vocabulary prefixes one (SPM), as llama.cpp's
	                                 detokenizer does at the start of a sequence */
	HEARTH_DETOK_SKIP_BOS = 4,    /* drop a BOS token at the very start */
};

int hearth_detok_create(const hearth_vocab *v, unsigned flags, hearth_detok **out);
void hearth_detok_free(hearth_detok *d);
/* Starts a new sequence (as after create). */
void hearth_detok_reset(hearth_detok *d);
/* Adds one token.  *text and *len receive the text that became complete (possibly
 * empty); the pointer is valid until the next call on d.  Returns 0, HEARTH_EINVAL
 * for an id out of range (nothing is consumed) or HEARTH_ENOMEM. */
int hearth_detok_push(hearth_detok *d, int32_t id, const char **text, size_t *len);
/* Ends the sequence: returns held bytes (an incomplete sequence becomes U+FFFD) and
 * resets d. */
int hearth_detok_flush(hearth_detok *d, const char **text, size_t *len);

/* Convenience: detokenizes ids[0..n) with `flags` into a NUL-terminated string that
 * the caller frees with free().  Returns 0, HEARTH_EINVAL or HEARTH_ENOMEM. */
int hearth_detokenize(const hearth_vocab *v, const int32_t *ids, size_t n, unsigned flags,
                      char **out, size_t *out_len);

/* ---------------------------------------------------------------------------------
 * Chat templates and thinking (src/chat)
 * ------------------------------------------------------------------------------- */
/*
 * A chat template is the model's own Jinja program (GGUF key
 * tokenizer.chat_template) that turns a conversation into prompt text.  hearth
 * runs it with its own small interpreter (no third-party engine), configured as
 * HF transformers does: trim_blocks and lstrip_blocks on, loop controls, a
 * Python-compatible tojson (ensure_ascii off, key order kept), raise_exception(),
 * Python-like string methods, namespace(), and Jinja2's lenient undefined values.
 *
 * Templates are untrusted code.  They cannot reach files or the network
 * (include/import/extends are rejected), and every render is bounded by the
 * limits below; a template that exceeds one fails with HEARTH_ELIMIT instead of
 * running away.  Every parse or render error message names the template, line
 * and column: "template:12:5: unknown filter 'foo'".
 */
typedef struct hearth_chat_template hearth_chat_template;

typedef struct hearth_chat_limits {
	size_t max_output;  /* bytes of rendered text (default 16 MiB) */
	size_t max_memory;  /* bytes of working memory of one render (default 256 MiB) */
	uint64_t max_steps; /* units of work of one render: expressions, loop iterations,
	                       elements copied (default 20,000,000, well under a second) */
	int max_call_depth; /* nested macro calls (default 32) */
	int max_nesting;    /* nested statements or expressions in the source (default 64) */
	int64_t max_range;  /* longest range() (default 100,000, as Jinja2's sandbox) */
} hearth_chat_limits;

/* The defaults above.  A zero field in a caller's struct also means "default". */
hearth_chat_limits hearth_chat_default_limits(void);

/* Parses template source (len bytes, any content) once for many renders.  `name`
 * (may be NULL: "template") prefixes error messages; `limits` may be NULL.
 * Returns 0, HEARTH_EFORMAT for a syntax error or an unknown tag
 * (hearth_errmsg(): "name:line:col: ..."), HEARTH_ELIMIT when the source is over
 * 4 MiB or nested too deeply, HEARTH_ENOMEM.  On failure *out is NULL. */
int hearth_chat_template_parse(const char *src, size_t len, const char *name, const hearth_chat_limits *limits,
                               hearth_chat_template **out);
void hearth_chat_template_free(hearth_chat_template *t);

/* Renders a conversation.
 *  - messages_json: a JSON array of message objects ({"role", "content", and any
 *    other fields such as "reasoning_content" or "tool_calls"), visible to the
 *    template as `messages`;
 *  - kwargs_json: NULL or a JSON object whose entries become template variables
 *    (e.g. {"enable_thinking": false, "tools": [...], "date_string": "..."});
 *    `tools` is undefined unless given here;
 *  - add_generation_prompt, bos_token, eos_token (NULL: "") become the variables
 *    of the same names.
 * On success *out receives a malloc'd NUL-terminated string (free() it; the text
 * may itself contain NUL bytes, so use *out_len, which may be NULL).
 * Returns 0; HEARTH_EINVAL for malformed messages/kwargs JSON or when the
 * template calls raise_exception(msg) (hearth_errmsg() is
 * "name:line:col: msg"); HEARTH_ETYPE / HEARTH_ENOTFOUND / HEARTH_EFORMAT for
 * errors inside the template (wrong operand types, calling an undefined name, an
 * unknown filter or test -- reported when it runs, as Jinja2 does, so a branch
 * that never runs may name filters hearth lacks);
 * HEARTH_ELIMIT when a limit is hit; HEARTH_ENOMEM.  *out is NULL on failure.
 * Thread-safety: a parsed template is read-only while rendering, so several
 * threads may render the same template at once. */
int hearth_chat_template_render(const hearth_chat_template *t, const char *messages_json, const char *kwargs_json,
                                bool add_generation_prompt, const char *bos_token, const char *eos_token,
                                char **out, size_t *out_len);

/* Parse + render + free in one call (same contract as the two above). */
int hearth_chat_render(const char *tmpl, size_t tmpl_len, const char *messages_json, const char *kwargs_json,
                       bool add_generation_prompt, const char *bos_token, const char *eos_token, char **out,
                       size_t *out_len);

/* Built-in templates for models whose GGUF has no tokenizer.chat_template, written
 * in Jinja and rendered by the same interpreter: "chatml", "llama2", "llama3",
 * "zephyr", "gemma".  Returns the static source, or NULL for an unknown name.
 * (The llama2, llama3 and gemma sources emit bos_token themselves, as the models'
 * own templates do: do not add BOS again when tokenizing their output.) */
const char *hearth_chat_builtin_template(const char *name);

/* Picks a built-in template from the vocabulary's special tokens:
 * "<|im_start|>" -> chatml, "<|start_header_id|>" -> llama3, "<start_of_turn>" ->
 * gemma, "[INST]" -> llama2, "<|user|>" -> zephyr, otherwise chatml.  The first
 * form takes the token strings (n of them, NULL entries skipped); the second asks
 * a predicate whether a token exists.  Both return a static name. */
const char *hearth_chat_detect_builtin(const char *const *tokens, size_t n_tokens);
const char *hearth_chat_detect_builtin_fn(bool (*has_token)(void *user, const char *token), void *user);

/*
 * Thinking ("reasoning") splitter.  Models such as Qwen3, DeepSeek-R1 and SmolLM3
 * write their reasoning between markers (<think> ... </think> by default) before
 * the answer.  The splitter takes generated text in pieces of any size and calls
 * `emit` with parts tagged REASONING or CONTENT, holding back only the bytes that
 * could still turn out to be the beginning of a marker, so a marker split across
 * tokens at any byte is recognised and never leaks into the output.
 *
 * When the rendered prompt already opened the reasoning block (DeepSeek-R1, and
 * templates that end the prompt with "<think>\n"), generation starts inside
 * reasoning: pass start_in_reasoning (hearth_think_prompt_opens() tells).
 * Per-request switching is the template's business: pass {"enable_thinking":
 * false} in kwargs (Qwen3, SmolLM3, DeepSeek variants), or put /no_think or
 * /think in SmolLM3's system prompt.
 */
enum hearth_think_part {
	HEARTH_THINK_CONTENT = 0,
	HEARTH_THINK_REASONING = 1,
};

typedef struct hearth_think_params {
	const char *open_tag;    /* NULL: "<think>" */
	const char *close_tag;   /* NULL: "</think>" */
	bool start_in_reasoning; /* generation begins inside the reasoning block */
	bool trim_content_start; /* drop the whitespace right after each marker (the
	                            newlines models write after <think> and </think>) */
} hearth_think_params;

hearth_think_params hearth_think_default_params(void); /* defaults: NULL, NULL, false, true */

typedef struct hearth_think hearth_think;
/* Called with non-empty parts only; `text` is valid during the call. */
typedef void (*hearth_think_emit_fn)(void *user, enum hearth_think_part part, const char *text, size_t len);

/* Returns 0, HEARTH_EINVAL (empty or over-long tags, over 64 bytes) or HEARTH_ENOMEM. */
int hearth_think_create(const hearth_think_params *p, hearth_think **out);
void hearth_think_free(hearth_think *t);
/* Starts a new generation (same params). */
void hearth_think_reset(hearth_think *t, bool start_in_reasoning);
/* Feeds generated text; emits what is certain.  Never fails. */
void hearth_think_feed(hearth_think *t, const char *text, size_t len, hearth_think_emit_fn emit, void *user);
/* End of generation: emits held-back bytes as text of the current part. */
void hearth_think_finish(hearth_think *t, hearth_think_emit_fn emit, void *user);
/* Whether the reasoning block is open now (inside <think> ... not yet closed). */
bool hearth_think_in_reasoning(const hearth_think *t);
/* True when a rendered prompt ends inside an open reasoning block: its last
 * open_tag comes after its last close_tag (tags NULL: the defaults). */
bool hearth_think_prompt_opens(const char *prompt, size_t len, const char *open_tag, const char *close_tag);

/* ---------------------------------------------------------------------------------
 * Sampling (src/sampler)
 * ------------------------------------------------------------------------------- */
/*
 * A sampler turns one row of logits into one token id.  The chain, in the order
 * of llama.cpp's common sampler:
 *
 *   penalties -> top-k -> top-p -> min-p -> temperature -> softmax -> seeded draw
 *
 *  - penalties, over the distinct tokens among the last repeat_last_n accepted
 *    ones, each seen `count` times:
 *      repeat (llama.cpp):  logit > 0 ? logit / repeat_penalty : logit * repeat_penalty
 *      presence/frequency (OpenAI):  logit -= presence_penalty + count * frequency_penalty
 *  - top-k keeps the k highest logits (ties: the lower id ranks higher);
 *  - top-p keeps the shortest prefix of that ranking whose probabilities (softmax
 *    at temperature 1 over the top-k survivors) sum to at least top_p;
 *  - min-p keeps the tokens whose probability is at least min_p times the
 *    largest one (logit >= max_logit + log(min_p));
 *  - temperature divides the surviving logits before the softmax;
 *  - the draw uses hearth's own xoshiro256** generator seeded through splitmix64,
 *    so a given seed yields the same sequence on every platform.
 *
 * temperature <= 0 means greedy: the argmax of the penalized logits, the lowest
 * id among equal maxima, with no random draw.  At least one token always
 * survives.  NaN logits are never chosen.
 */
#define HEARTH_SEED_RANDOM UINT64_MAX          /* also what a seed of -1 converts to */
#define HEARTH_SAMPLER_MAX_LAST_N (1 << 20)    /* upper bound of repeat_last_n */
#define HEARTH_SAMPLER_MAX_VOCAB (1 << 24)     /* upper bound of n_vocab */

typedef struct hearth_sampler_params {
	float temperature;       /* finite; <= 0: greedy.  Default 0.8 */
	int32_t top_k;           /* >= 0; 0: off.  Default 40 */
	float top_p;             /* in (0, 1]; 1: off.  Default 0.95 */
	float min_p;             /* in [0, 1]; 0: off.  Default 0.05 */
	float repeat_penalty;    /* finite, > 0; 1: off.  Default 1.0 */
	int32_t repeat_last_n;   /* window of accepted tokens the penalties look at:
	                            -1 every token since create/reset, 0 off,
	                            else 1..HEARTH_SAMPLER_MAX_LAST_N.  Default 64 */
	float presence_penalty;  /* finite; 0: off (OpenAI's range is -2..2).  Default 0 */
	float frequency_penalty; /* finite; 0: off.  Default 0 */
	uint64_t seed;           /* HEARTH_SEED_RANDOM (-1): a random seed from getrandom().
	                            Default HEARTH_SEED_RANDOM */
} hearth_sampler_params;

/* The defaults listed above (llama.cpp's). */
hearth_sampler_params hearth_sampler_default_params(void);

/* Checks every field of `p` against the ranges listed above.  Returns 0, or
 * HEARTH_EINVAL with hearth_errmsg() naming the first bad parameter, its value and
 * its valid range ("top_p must be in (0, 1], got 1.5"), fit to show a user as is.
 * hearth_sampler_create() runs the same check. */
int hearth_sampler_params_check(const hearth_sampler_params *p);

typedef struct hearth_sampler hearth_sampler;

/* Creates a sampler for logit rows of `n_vocab` entries (1..HEARTH_SAMPLER_MAX_VOCAB).  Every
 * buffer is allocated here: sampling never allocates.  Memory is 8 bytes per
 * vocabulary entry, plus 16 more and 4 per repeat_last_n slot when a penalty is
 * on.  Returns 0,
 * HEARTH_EINVAL (bad params or n_vocab; see hearth_sampler_params_check) or
 * HEARTH_ENOMEM. */
int hearth_sampler_create(const hearth_sampler_params *p, int32_t n_vocab, hearth_sampler **out);

void hearth_sampler_free(hearth_sampler *s);

/* Picks a token from `logits` (n_vocab floats, read only, not kept).  Returns the
 * token id (>= 0), or HEARTH_EINVAL when logits is NULL or has no entry that is
 * a number above -inf.  A +inf logit wins outright (the lowest such id).  The
 * sampler does not record the token: call hearth_sampler_accept() with the token
 * actually used.  Each call with temperature > 0 consumes one draw of the
 * generator, even when only one token survives.  Cost for 151936 logits with the
 * defaults: about 40 us on one core; top_k off, about 0.4 ms. */
int32_t hearth_sampler_sample(hearth_sampler *s, const float *logits);

/* Records `token` in the penalty history (a no-op when every penalty is off).
 * To penalize like llama-server, accept the prompt's tokens too.  Returns 0 or
 * HEARTH_EINVAL when token is outside [0, n_vocab). */
int hearth_sampler_accept(hearth_sampler *s, int32_t token);

/* Forgets the history and restarts the generator: from the same seed when it was
 * fixed (so the same logits give the same tokens again), from a fresh random
 * seed when it was HEARTH_SEED_RANDOM. */
void hearth_sampler_reset(hearth_sampler *s);

/* The seed in use (the one chosen at random for HEARTH_SEED_RANDOM), for logs and
 * for reproducing a run. */
uint64_t hearth_sampler_seed(const hearth_sampler *s);

typedef struct hearth_token_prob {
	int32_t id;
	float p;
} hearth_token_prob;

/* Writes the distribution hearth_sampler_sample() would draw from for `logits`
 * (after penalties, truncation and temperature), highest probability first (ties:
 * lower id first), at most `cap` entries into out[].  Draws nothing: the
 * generator does not advance.  Greedy gives the one argmax with p = 1.  Returns
 * the number of surviving candidates (which may exceed cap; only cap are
 * written), or HEARTH_EINVAL as hearth_sampler_sample().  Meant for logprob
 * reports and tests; with every truncation off it sorts the whole vocabulary. */
int32_t hearth_sampler_probs(hearth_sampler *s, const float *logits, hearth_token_prob *out, int32_t cap);

/* Stop strings over streamed text.  Feed each decoded piece as it comes; the
 * matcher passes on the bytes that can no longer be part of a stop string and
 * holds back the tail that could still begin one, so a stop string split across
 * pieces (at any byte) is still found and never shown.  When a stop string
 * completes, the text before it is released and the stop string itself and
 * everything after it are dropped.  If several stop strings could match, the one
 * that completes first in the byte stream wins (the longest if several complete
 * at the same byte), whatever the piece boundaries. */
#define HEARTH_STOP_MAX_N 32     /* stop strings per matcher */
#define HEARTH_STOP_MAX_LEN 256  /* bytes per stop string */

typedef struct hearth_stop hearth_stop;

/* Copies `n` NUL-terminated stop strings (n may be 0: everything passes through
 * at once).  Returns 0, HEARTH_EINVAL (stops NULL with n > 0, a NULL or empty
 * string; the message names its index), HEARTH_ELIMIT (more than
 * HEARTH_STOP_MAX_N strings or one longer than HEARTH_STOP_MAX_LEN bytes) or
 * HEARTH_ENOMEM. */
int hearth_stop_create(const char *const *stops, size_t n, hearth_stop **out);

void hearth_stop_free(hearth_stop *st);

/* Feeds `len` bytes of generated text (piece may be NULL when len is 0).  Sets
 * *emit / *emit_len to the bytes that are safe to show now (possibly none, possibly
 * bytes held back by earlier calls); they live in the matcher and stay valid
 * until its next call.  Returns 0 when no stop string has completed, 1 when one
 * has (the emitted bytes are then the rest of the text before it; stop
 * generating), HEARTH_ENOMEM if the buffer could not grow.  Once a stop string
 * has matched, every later call returns 1 and emits nothing until
 * hearth_stop_reset(). */
int hearth_stop_feed(hearth_stop *st, const char *piece, size_t len, const char **emit, size_t *emit_len);

/* At the end of generation (EOS, max tokens): emits the held-back bytes, which
 * can no longer start a stop string.  Returns 0, or 1 (emitting nothing) if a
 * stop string had matched. */
int hearth_stop_flush(hearth_stop *st, const char **emit, size_t *emit_len);

/* Index (into the array given to create) of the stop string that matched, or -1. */
int hearth_stop_matched(const hearth_stop *st);

/* Forgets held bytes and any match, to reuse the matcher for a new generation. */
void hearth_stop_reset(hearth_stop *st);

/* ---------------------------------------------------------------------------------
 * Models and inference contexts (src/model, src/engine)
 * ------------------------------------------------------------------------------- */
/* A model is a validated, memory-mapped GGUF file plus the layout of its weights.
 * Weights are never copied: every tensor is read in place from the mapping.
 * Supported architectures: llama, qwen2, qwen3, smollm3.
 *
 * A context holds a KV cache for up to n_seq_max independent sequences of up to
 * n_ctx positions each, the thread pool and every working buffer (allocated once,
 * at creation).  Several contexts may share one model, each used by one thread at
 * a time; the model itself is read-only after loading and may be shared freely. */
typedef struct hearth_model hearth_model;
typedef struct hearth_ctx hearth_ctx;
typedef int32_t hearth_token;

typedef struct hearth_model_params {
	int n_threads; /* default thread count of contexts made from this model (0: all cores) */
} hearth_model_params;

hearth_model_params hearth_model_default_params(void);

/* Opens `path` (hearth_gguf_open) and validates it as a model with
 * hearth_model_check().  Errors: those of hearth_gguf_open, HEARTH_EFORMAT /
 * HEARTH_ETYPE / HEARTH_ENOTFOUND (a key or tensor is missing, has the wrong type,
 * shape or value; hearth_errmsg() names the file and the key or tensor),
 * HEARTH_EUNSUPPORTED (unknown architecture, a tensor type or rope scaling hearth
 * cannot compute with), HEARTH_ENOMEM.  `params` may be NULL (defaults). */
int hearth_model_load(const char *path, const hearth_model_params *params, hearth_model **out);

/* The model-level checks hearth_model_load() runs, on an already-opened file:
 * architecture, hyper-parameters (head counts, dimensions, layer count, rope and
 * norm settings), tokenizer arrays (types, lengths, special ids in range) and the
 * tensor set with every tensor's shape and type.  Returns 0 or the error
 * hearth_model_load() would return, with the same message. */
int hearth_model_check(const hearth_gguf *g);

void hearth_model_free(hearth_model *m);

const char *hearth_model_arch(const hearth_model *m);      /* "llama", "qwen2", ... */
int32_t hearth_model_n_vocab(const hearth_model *m);
int32_t hearth_model_n_ctx_train(const hearth_model *m);
int32_t hearth_model_n_embd(const hearth_model *m);
int32_t hearth_model_n_layer(const hearth_model *m);
int32_t hearth_model_n_head(const hearth_model *m);
int32_t hearth_model_n_head_kv(const hearth_model *m);
int64_t hearth_model_n_params(const hearth_model *m);      /* elements of all weights */
uint64_t hearth_model_weight_bytes(const hearth_model *m); /* bytes of all weights */
/* The underlying file (borrowed: lives as long as the model), e.g. for the
 * tokenizer and chat template. */
const hearth_gguf *hearth_model_gguf(const hearth_model *m);

/* Context parameters.  Zero fields take the documented defaults. */
typedef struct hearth_ctx_params {
	int32_t n_ctx;     /* positions per sequence; 0: the model's context_length capped at 4096 */
	int32_t n_seq_max; /* independent sequences (ids 0..n_seq_max-1); 0: 1 */
	int32_t n_batch;   /* tokens per internal prefill chunk; 0: 512 */
	int kv_type;       /* HEARTH_TYPE_F16 (default) or HEARTH_TYPE_F32 */
	int n_threads;     /* 0: the model's params.n_threads */
} hearth_ctx_params;

hearth_ctx_params hearth_ctx_default_params(void);

/* Creates a context for `model` (which must outlive it).  The KV cache holds
 * n_layer * n_seq_max * n_ctx * n_head_kv * head_dim keys and as many values of
 * kv_type.  Errors: HEARTH_EINVAL (a parameter out of range, named in the
 * message), HEARTH_ENOMEM.  `params` may be NULL (defaults). */
int hearth_ctx_create(const hearth_model *model, const hearth_ctx_params *params, hearth_ctx **out);
void hearth_ctx_free(hearth_ctx *ctx);

const hearth_model *hearth_ctx_model(const hearth_ctx *ctx);
int32_t hearth_ctx_n_ctx(const hearth_ctx *ctx);
int32_t hearth_ctx_n_seq_max(const hearth_ctx *ctx);
int hearth_ctx_n_threads(const hearth_ctx *ctx);

/* Cancellation: fn(user) is called between layers and between prefill chunks
 * during hearth_ctx_decode(); returning true stops the decode with
 * HEARTH_ECANCELED.  fn may be NULL (never cancel).  fn runs on the decoding
 * thread. */
typedef bool (*hearth_abort_fn)(void *user);
void hearth_ctx_set_abort(hearth_ctx *ctx, hearth_abort_fn fn, void *user);

/* A batch of tokens, possibly from several sequences.  Entry i appends token[i]
 * at position pos[i] of sequence seq_id[i]; want_logits[i] asks for the logits
 * after it.  The arrays are owned by the batch (hearth_batch_init/free). */
typedef struct hearth_batch {
	int32_t n_tokens;
	int32_t capacity;
	hearth_token *token;
	int32_t *pos;
	int32_t *seq_id;
	bool *want_logits;
} hearth_batch;

/* Allocates room for `capacity` (>= 1) entries; n_tokens starts at 0.  Returns 0,
 * HEARTH_EINVAL or HEARTH_ENOMEM.  On failure *b is left empty (free is safe). */
int hearth_batch_init(hearth_batch *b, int32_t capacity);
void hearth_batch_free(hearth_batch *b); /* safe on a zeroed or freed batch */
void hearth_batch_clear(hearth_batch *b); /* n_tokens = 0 */
/* Appends one entry; HEARTH_ELIMIT when the batch is full. */
int hearth_batch_add(hearth_batch *b, hearth_token token, int32_t pos, int32_t seq_id, bool want_logits);

/* Evaluates the batch: appends every entry to its sequence's KV cache and
 * computes the requested logits.  Entries of one sequence must continue it in
 * order: the first has pos == hearth_ctx_seq_len(ctx, seq), the next pos + 1, and
 * so on (they may be interleaved with other sequences' entries).  Batches larger
 * than n_batch are processed in chunks internally.
 * Returns 0; HEARTH_ECTXFULL if a sequence would exceed n_ctx (nothing is
 * evaluated, nothing truncated); HEARTH_ECANCELED if the abort callback asked to
 * stop; HEARTH_EINVAL for a bad token id, sequence id or position (the entry is
 * named); HEARTH_ENOMEM.  On any non-zero return every sequence is left exactly
 * as it was before the call and no logits are available. */
int hearth_ctx_decode(hearth_ctx *ctx, const hearth_batch *batch);

/* The n_vocab logits computed for batch entry `i` of the last successful decode
 * (i = -1: the last entry that requested logits).  NULL if that entry did not
 * request logits or i is out of range.  Valid until the next decode. */
const float *hearth_ctx_logits(const hearth_ctx *ctx, int32_t i);

/* Sequence bookkeeping.  seq_len is the number of positions held.  truncate keeps
 * the first n_keep positions (prompt-cache reuse); clear empties the sequence.
 * They return HEARTH_EINVAL for a sequence id out of range. */
int32_t hearth_ctx_seq_len(const hearth_ctx *ctx, int32_t seq);
int hearth_ctx_seq_clear(hearth_ctx *ctx, int32_t seq);
int hearth_ctx_seq_truncate(hearth_ctx *ctx, int32_t seq, int32_t n_keep);

/* ---------------------------------------------------------------------------------
 * Generation engine (src/engine)
 * ------------------------------------------------------------------------------- */
/*
 * An engine serves generation requests for one model with continuous batching.
 * It owns a context with n_slots sequences and ONE engine thread, which loops:
 *
 *   admit queued requests into free slots (preferring the slot whose cached
 *   tokens share the longest prefix with the prompt: that KV is reused and only
 *   the rest of the prompt is evaluated) -> build one batch holding the next
 *   token of every generating slot plus up to n_batch tokens of pending prompts
 *   (long prompts are split over several steps so they never stall the others)
 *   -> one hearth_ctx_decode() -> sample, detokenize (never half a UTF-8
 *   character), match stop strings, split reasoning from content -> events.
 *
 * Every accepted request gets exactly one HEARTH_GEN_DONE event, last, whatever
 * happens (finished, cancelled, failed, engine freed).  Requests never touch the
 * context; the only shared state is the queue and per-request cancel flags.
 *
 * Thread-safety: every hearth_engine_* function may be called from any thread
 * at any time, except hearth_engine_free(), which must be the last call.
 */
typedef struct hearth_engine hearth_engine;

typedef struct hearth_engine_params {
	int32_t n_slots;   /* sequences generated at once; 0: 1 */
	int32_t n_ctx;     /* positions per slot; 0: the model's context_length capped at 4096 */
	int32_t n_batch;   /* tokens per engine step (decodes + prompt chunks); 0: 512 */
	int32_t max_queue; /* requests waiting for a slot before submit fails; 0: 64 */
	int32_t n_batch_shared; /* prompt tokens per step while other slots are generating,
	                           so their next token is not held up for long; 0: 128 */
	int kv_type;       /* HEARTH_TYPE_F16 (default) or HEARTH_TYPE_F32 */
	int n_threads;     /* 0: the model's default */
} hearth_engine_params;

hearth_engine_params hearth_engine_default_params(void);

enum hearth_gen_event_kind {
	HEARTH_GEN_PROMPT = 1, /* the prompt is evaluated (stats: n_prompt, n_cached, prompt_ms) */
	HEARTH_GEN_CONTENT,    /* answer text (text/len, valid UTF-8, possibly several chars) */
	HEARTH_GEN_REASONING,  /* reasoning text, i.e. inside <think>...</think> (text/len) */
	HEARTH_GEN_DONE,       /* the last event: finish, error, full stats */
};

enum hearth_finish {
	HEARTH_FINISH_NONE = 0,
	HEARTH_FINISH_STOP,     /* end-of-generation token or a stop string */
	HEARTH_FINISH_LENGTH,   /* max_tokens reached, or the slot's context is full */
	HEARTH_FINISH_CANCELED, /* hearth_engine_cancel(), the callback, or engine shutdown */
	HEARTH_FINISH_ERROR,    /* a decode or sampling failure: see error / message */
};

/* "stop", "length", "cancelled", "error" (or "" for NONE). */
const char *hearth_finish_name(int finish);

typedef struct hearth_gen_stats {
	int32_t n_prompt;   /* prompt tokens */
	int32_t n_cached;   /* of those, reused from the slot's KV (not evaluated) */
	int32_t n_gen;      /* tokens generated (sampled), the final EOG token included */
	int32_t slot;       /* the slot used, or -1 if never admitted */
	double queue_ms;    /* submit -> admitted into a slot */
	double prompt_ms;   /* admitted -> prompt evaluated */
	double gen_ms;      /* prompt evaluated -> done */
	double ttft_ms;     /* submit -> first generated token sampled */
} hearth_gen_stats;

typedef struct hearth_gen_event {
	enum hearth_gen_event_kind kind;
	uint64_t id;                    /* the request id from hearth_engine_submit */
	const char *text;               /* CONTENT / REASONING: borrowed, valid during the call */
	size_t len;
	enum hearth_finish finish;      /* DONE */
	int error;                      /* DONE with HEARTH_FINISH_ERROR: the HEARTH_E* code */
	const char *message;            /* DONE with an error: a sentence; else "" */
	int stop_index;                 /* DONE: index of the matched stop string, or -1 */
	const hearth_gen_stats *stats;  /* every event: the request's stats so far */
} hearth_gen_event;

/* Receives a request's events.  It runs on the ENGINE THREAD, which generates for
 * every slot: it must be quick (copy the text into a queue or buffer and return;
 * never block on a socket or a lock held for long) and must not call
 * hearth_engine_free().  It may call hearth_engine_submit/cancel/stats.
 * Returning true cancels the request (its DONE event follows with
 * HEARTH_FINISH_CANCELED; the return value of the DONE call is ignored). */
typedef bool (*hearth_gen_fn)(const hearth_gen_event *ev, void *user);

typedef struct hearth_gen_request {
	const hearth_token *prompt;   /* n_prompt >= 1 token ids; copied by submit */
	size_t n_prompt;
	hearth_sampler_params sampler;
	const char *const *stops;     /* n_stops stop strings (HEARTH_STOP_MAX_*); copied */
	size_t n_stops;
	int32_t max_tokens;           /* tokens to generate at most; <= 0: until EOG or context full */
	bool ignore_eog;              /* keep generating past end-of-generation tokens */
	bool reasoning;               /* split <think>...</think> text into REASONING events */
	bool start_in_reasoning;      /* the prompt already opened the reasoning section
	                                 (a template that ends with "<think>\n") */
	hearth_gen_fn callback;       /* required */
	void *user;
} hearth_gen_request;

/* Fills a request with defaults: hearth_sampler_default_params(), no stops,
 * max_tokens 0, reasoning off, no callback. */
hearth_gen_request hearth_gen_request_default(void);

/* Creates an engine (context + engine thread) for `model` and `vocab` (both
 * borrowed: they must outlive the engine).  Returns 0, HEARTH_EINVAL (a parameter
 * out of range, named), HEARTH_ENOMEM, or an error of hearth_ctx_create. */
int hearth_engine_create(const hearth_model *model, const hearth_vocab *vocab,
                         const hearth_engine_params *params, hearth_engine **out);

/* Cancels every request (each gets its DONE event with HEARTH_FINISH_CANCELED),
 * stops and joins the engine thread and frees everything.  Must not be called
 * from a callback. */
void hearth_engine_free(hearth_engine *e);

/* Positions per slot (prompt + generated tokens must fit). */
int32_t hearth_engine_n_ctx(const hearth_engine *e);
int32_t hearth_engine_n_slots(const hearth_engine *e);

/* Queues a request; its events start arriving on the engine thread, possibly
 * before submit returns.  *id (may be NULL) receives its id (never 0).  Returns
 * 0; HEARTH_EINVAL (no callback, empty prompt, a token id out of range, bad
 * sampler params or stop strings; the message says which); HEARTH_ECTXFULL
 * (n_prompt >= n_ctx: the prompt leaves no room to generate); HEARTH_ELIMIT
 * (max_queue requests are already waiting: retry later); HEARTH_ECANCELED (the
 * engine is shutting down); HEARTH_ENOMEM.  On error the callback is never
 * called. */
int hearth_engine_submit(hearth_engine *e, const hearth_gen_request *req, uint64_t *id);

/* Asks request `id` to stop: it is checked before every token, between prompt
 * chunks and inside a running decode (hearth_ctx_set_abort), so generation
 * stops within about one token and the slot is freed.  Returns 0, or
 * HEARTH_ENOTFOUND when no queued or running request has that id (e.g. it has
 * already finished). */
int hearth_engine_cancel(hearth_engine *e, uint64_t id);

/* Engine-wide counters (since creation) and current state, for /api/status and
 * /metrics. */
typedef struct hearth_engine_stats {
	int32_t n_slots, slots_busy, queue_len, max_queue, n_ctx;
	uint64_t n_submitted, n_rejected; /* rejected: queue full */
	uint64_t n_done, n_canceled, n_errors;
	uint64_t n_prompt_tokens, n_cached_tokens, n_gen_tokens;
	uint64_t n_steps;            /* hearth_ctx_decode calls */
	double prompt_ms, gen_ms;    /* summed over finished requests */
} hearth_engine_stats;

void hearth_engine_stats_get(hearth_engine *e, hearth_engine_stats *out);

/* ---------------------------------------------------------------------------------
 * Model files (src/model/resolve.c)
 * ------------------------------------------------------------------------------- */
/*
 * Turns what a user typed ("qwen3", "Qwen/Qwen3-0.6B-GGUF", "qwen3:Q8_0",
 * "./models/x.gguf") into a GGUF file on disk, never downloading anything.
 *
 * A NAME is looked up, in this order:
 *  1. in the models directory (hearth_model_dirs.models_dir): NAME.gguf; a
 *     sub-directory NAME holding .gguf files; or files NAME[-._]QUANT.gguf
 *     (e.g. "llama" finds llama-Q4_K_M.gguf and llama-Q8_0.gguf);
 *  2. in the local Hugging Face hub cache: "ORG/REPO" is
 *     <hub>/models--ORG--REPO/snapshots/<refs/main or any>/[dir/]*.gguf, and a bare
 *     "REPO" matches models--*--REPO when exactly one organisation has it.
 * "NAME:TAG" keeps only the files whose quantization (case-insensitive) or file
 * stem is TAG.  Split files (-00001-of-00003) and vision projectors (mmproj) are
 * skipped.  When several files match, the best quantization wins, in this order
 * (the usual quality/speed balance on a CPU first, full precision after the
 * 4-8 bit quants, sub-4-bit last; ties go to the alphabetically first name):
 *   Q4_K_M Q4_K_XL Q5_K_M Q5_K_XL Q6_K Q6_K_XL Q8_0 Q8_K_XL Q4_K_S Q5_K_S Q4_K Q5_K
 *   IQ4_XS IQ4_NL Q4_0 Q4_1 Q5_0 Q5_1 Q3_K_XL Q3_K_L Q3_K_M Q3_K_S Q3_K BF16 F16 F32
 *   IQ3_M IQ3_S IQ3_XS IQ3_XXS Q2_K_XL Q2_K Q2_K_S IQ2_M IQ2_S IQ2_XS IQ2_XXS
 *   IQ1_M IQ1_S TQ2_0 TQ1_0 MXFP4, then files whose quantization is unknown.
 *
 * Names from users never leave their directory: a name is at most 255 bytes of
 * [A-Za-z0-9._+@-], at most two '/'-separated components (none empty or starting
 * with '.'), and one optional ":TAG"; and every candidate file's real path (after
 * following symlinks, which the Hugging Face cache uses for its blobs) must lie
 * inside the real path of the directory it was found in.  Only with
 * HEARTH_RESOLVE_PATHS is the argument also taken as a file-system path: an
 * existing file is used as is, an existing directory gives its best .gguf, and
 * an argument starting with '/', '.' or '~' is only ever a path.
 */
typedef struct hearth_model_dirs {
	const char *models_dir; /* NULL: $HEARTH_MODELS, else $XDG_DATA_HOME/hearth/models,
	                           else $HOME/.local/share/hearth/models; "": not searched */
	const char *hf_cache;   /* NULL: $HF_HUB_CACHE, else $HF_HOME/hub, else
	                           $XDG_CACHE_HOME/huggingface/hub, else
	                           $HOME/.cache/huggingface/hub; "": not searched */
} hearth_model_dirs;

enum hearth_model_source {
	HEARTH_MODEL_SRC_PATH = 0, /* a path given by the user */
	HEARTH_MODEL_SRC_DIR = 1,  /* the models directory */
	HEARTH_MODEL_SRC_HF = 2,   /* the Hugging Face cache */
};

/* One model file.  Strings are owned (hearth_model_file_clear frees them). */
typedef struct hearth_model_file {
	char *name;     /* a name that selects exactly this file ("llama-Q8_0", "ORG/REPO:Q8_0") */
	char *path;     /* the file to open (the real path for names) */
	char quant[16]; /* "Q4_K_M", ... parsed from the file name; "" if unknown */
	uint64_t size;  /* bytes */
	int source;     /* enum hearth_model_source */
} hearth_model_file;

#define HEARTH_RESOLVE_PATHS 1u /* flag: the argument may be a file-system path */

/* Default directories (see hearth_model_dirs), and hearth's data directory
 * ($XDG_DATA_HOME/hearth, else $HOME/.local/share/hearth: history, settings).
 * *out is a malloc'd string the caller frees.  Returns 0, HEARTH_ENOTFOUND (no
 * HOME and no passwd entry) or HEARTH_ENOMEM.  Nothing is created on disk. */
int hearth_data_dir_default(char **out);
int hearth_models_dir_default(char **out);
int hearth_hf_cache_default(char **out);

/* Resolves `arg` as described above.  `dirs` may be NULL (defaults).  On success
 * fills *out (clear it with hearth_model_file_clear).  Errors: HEARTH_EINVAL (not
 * a valid name; the message says why), HEARTH_ENOTFOUND (nothing matched; the
 * message names the directories searched: list what exists with
 * hearth_model_list), HEARTH_EINVAL also for a bare name matching repositories of
 * several organisations (the message lists them), HEARTH_ENOMEM. */
int hearth_model_resolve(const char *arg, const hearth_model_dirs *dirs, unsigned flags,
                         hearth_model_file *out);
void hearth_model_file_clear(hearth_model_file *f);

/* Every model file the names above can reach, models directory first, each with
 * the name that selects it; sorted by name within each source.  *out is an array
 * of *n entries freed with hearth_model_list_free (NULL when *n is 0).  Missing
 * directories are simply empty.  Returns 0 or HEARTH_ENOMEM. */
int hearth_model_list(const hearth_model_dirs *dirs, hearth_model_file **out, size_t *n);
void hearth_model_list_free(hearth_model_file *list, size_t n);

/* The quantization named in a file name (its rightmost [-._]-delimited quant
 * token, case-insensitive) copied in upper case into quant[16], and its rank in
 * the preference order above (0 is best); "" and a rank past every known one when
 * there is none. */
int hearth_quant_from_filename(const char *filename, char quant[16]);

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
