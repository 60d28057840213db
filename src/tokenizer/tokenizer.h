/*
 * tokenizer.h - internals of the tokenizers (src/tokenizer): the vocabulary
 * structure shared by vocab.c (loading), pretok.c (regex-equivalent
 * pre-tokenizers), spm.c, bpe.c, tokenize.c (special-token partition and the
 * public entry point) and detok.c (pieces and streaming detokenization).
 *
 * Strings are interned in one table: every token text, and for BPE also every
 * merge's left part, right part and result, get a "string id" (sid).  Token ids
 * are sids below n_tokens only when the token text is unique; tok_of_sid maps back.
 * BPE merges are then a hash map (sid_left, sid_right) -> (rank, sid_result), so
 * merging never builds or hashes strings.
 */
#ifndef HEARTH_TOKENIZER_H
#define HEARTH_TOKENIZER_H

#include "hearth.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Pre-tokenizers (llama.cpp's LLAMA_VOCAB_PRE_TYPE_* that hearth implements). */
enum tok_pre {
	TOK_PRE_NONE = 0, /* SPM */
	TOK_PRE_DEFAULT,
	TOK_PRE_LLAMA3,
	TOK_PRE_DEEPSEEK_LLM,
	TOK_PRE_DEEPSEEK_CODER,
	TOK_PRE_FALCON,
	TOK_PRE_MPT,
	TOK_PRE_STARCODER,
	TOK_PRE_GPT2,
	TOK_PRE_REFACT,
	TOK_PRE_QWEN2,
	TOK_PRE_SMOLLM,
};

/* Per-token attribute bits (besides the type). */
enum {
	TOK_ATTR_LSTRIP = 1,
	TOK_ATTR_RSTRIP = 2,
	TOK_ATTR_EOG = 4,
};

struct tok_token {
	uint32_t off;   /* text in v->pool */
	uint32_t len;
	float score;
	uint8_t type;   /* enum hearth_token_type */
	uint8_t attr;   /* TOK_ATTR_* */
	uint32_t piece_off; /* decoded piece in v->pieces */
	uint32_t piece_len;
};

/* Open-addressing hash of interned strings. */
struct tok_strtab {
	char *pool;          /* string bytes */
	size_t pool_len, pool_cap;
	uint32_t *off, *len; /* per sid */
	uint32_t n, cap;     /* sids used / allocated */
	uint32_t *slots;     /* sid + 1, 0 = empty */
	uint32_t n_slots;    /* power of two */
};

struct tok_merge_slot {
	uint64_t key;   /* (left << 32 | right) + 1; 0 = empty */
	int32_t rank;
	uint32_t result;
};

/* Byte trie over the special (CONTROL/USER_DEFINED/UNKNOWN) token texts. */
struct tok_trie_node {
	int32_t first_child;
	int32_t next_sibling;
	int32_t token; /* -1 if no special token ends here */
	uint8_t byte;
};

struct hearth_vocab {
	enum hearth_vocab_type type;
	enum tok_pre pre;
	char pre_name[64];
	int32_t n_tokens;
	struct tok_token *tok;
	char *pool;         /* token texts, each NUL-terminated */
	char *pieces;       /* decoded pieces */

	struct tok_strtab st; /* sid 0..n_tokens-1 are token texts (when unique) */
	int32_t *tok_of_sid;  /* sid -> token id or -1 (last id wins, as llama.cpp) */

	struct tok_merge_slot *merges;
	uint32_t n_merge_slots; /* power of two, 0 for SPM */

	int32_t bos, eos, eot, eom, unk, pad, sep;
	bool add_bos, add_eos, add_space_prefix, ignore_merges;
	uint32_t max_token_len; /* WPM: longest token text in bytes */

	int32_t byte_tok[256];   /* SPM: <0xNN> token per byte (or -1) */
	uint32_t byte_sid[256];  /* BPE: sid of each byte's byte-level char (UINT32_MAX: none) */

	/* SPM: the set of adjacent character pairs that occur inside some token; text is
	 * cut where the pair across a boundary is not in it (no merge can cross it) */
	uint64_t *pairs;
	uint32_t n_pair_slots; /* power of two */
	bool has_zero_pair;

	/* special tokens sorted by text length (longest first), then id */
	int32_t *specials;
	int32_t n_specials;
	struct tok_trie_node *trie;
	int32_t n_trie;
};

/* --- strtab (vocab.c) --- */
/* Returns the sid of s[0..len) or UINT32_MAX. */
uint32_t tok_st_find(const struct tok_strtab *st, const char *s, size_t len);
/* Returns the merge for (left, right): its rank (>= 0) and result sid, or -1. */
int32_t tok_merge_find(const hearth_vocab *v, uint32_t left, uint32_t right, uint32_t *result);
/* SPM: whether some token contains the character a immediately followed by b. */
bool tok_pair_possible(const hearth_vocab *v, const char *a, size_t al, const char *b, size_t bl);
/* Token id of text s[0..len) or -1. */
int32_t tok_find(const hearth_vocab *v, const char *s, size_t len);

/* --- Unicode (pretok.c) --- */
enum {
	TOK_CPT_NUMBER = 1 << 0,
	TOK_CPT_LETTER = 1 << 1,
	TOK_CPT_PUNCT = 1 << 2,
	TOK_CPT_MARK = 1 << 3,
	TOK_CPT_SYMBOL = 1 << 4,
	TOK_CPT_SEPARATOR = 1 << 5,
	TOK_CPT_CONTROL = 1 << 6,
	TOK_CPT_UNDEFINED = 1 << 7,
	TOK_CPT_SPACE = 1 << 8, /* Unicode White_Space */
};
/* Fills the Unicode tables; hearth_vocab_load calls it, so every function below
 * may be used by whoever holds a loaded vocabulary. */
void tok_unicode_init(void);
/* Category flags of a code point (never 0 for a code point <= 0x10FFFF). */
unsigned tok_cpt_flags(uint32_t cp);
/* Decodes UTF-8 as llama.cpp does (an invalid byte becomes U+FFFD and is skipped).
 * `cpts` must have room for len entries; returns the count. */
size_t tok_utf8_decode(const char *s, size_t len, uint32_t *cpts);
/* Encodes one code point; returns the byte count (1..4). */
size_t tok_utf8_encode(uint32_t cp, char *out);
/* Length of the UTF-8 sequence a lead byte announces (llama.cpp's table: 1..4). */
size_t tok_utf8_len(uint8_t lead);

/* Splits cpts[0..n) into words for pre-tokenizer `pre`: writes word lengths (in code
 * points) to lens (room for n entries) and returns the word count. */
size_t tok_pretokenize(enum tok_pre pre, const uint32_t *cpts, size_t n, size_t *lens, size_t *tmp);

/* GPT-2 byte-level mapping. */
uint32_t tok_byte_to_cpt(uint8_t b);
/* Byte for a byte-level code point, or -1. */
int tok_cpt_to_byte(uint32_t cp);

/* --- growing id buffer used while tokenizing --- */
struct tok_out {
	int32_t *ids;
	size_t n, cap;
	bool oom;
};
void tok_out_push(struct tok_out *o, int32_t id);

/* --- per-call cache: word/segment text -> its token ids (tokenize.c) ---
 * Tokenizing a word depends only on its bytes, so repeated words (most of prose)
 * are looked up instead of merged again.  Lives for one hearth_tokenize call, so
 * the vocabulary stays immutable and thread-safe. */
struct tok_cache {
	uint32_t *slots; /* entry index + 1 */
	uint32_t n_slots, n, cap;
	struct tok_cache_entry {
		uint64_t hash;
		uint32_t woff, wlen; /* in words */
		uint32_t ioff, ilen; /* in ids */
	} *e;
	char *words;
	size_t words_len, words_cap;
	int32_t *ids;
	size_t ids_len, ids_cap;
	bool disabled;
};
/* Appends the cached ids of w[0..len) to o and returns true, or returns false. */
bool tok_cache_get(struct tok_cache *c, const char *w, size_t len, struct tok_out *o);
/* Records that w[0..len) tokenizes to ids[0..n) (ignored when full or out of memory). */
void tok_cache_put(struct tok_cache *c, const char *w, size_t len, const int32_t *ids, size_t n);
void tok_cache_free(struct tok_cache *c);

/* --- algorithms (spm.c, bpe.c) --- */
/* Tokenizes one text fragment (already "▁"-escaped) with SPM. Returns 0 or ENOMEM. */
int tok_spm_fragment(const hearth_vocab *v, const char *text, size_t len, struct tok_out *o, struct tok_cache *c);
/* Tokenizes one text fragment with the BPE pre-tokenizer and merges. */
int tok_bpe_fragment(const hearth_vocab *v, const char *text, size_t len, struct tok_out *o, struct tok_cache *c);

/* Tokenizes one text fragment with WordPiece (wpm.c). */
int tok_wpm_fragment(const hearth_vocab *v, const char *text, size_t len, struct tok_out *o);

/* --- detok.c --- */
/* Builds v->pieces for every token. */
int tok_build_pieces(hearth_vocab *v);


/* A candidate merge of two adjacent symbols, for the SPM and BPE merge loops:
 * the pair with the smallest key is merged first, the leftmost on ties.  SPM keys
 * are negated token scores, BPE keys are merge ranks.  `size` (bytes of the pair)
 * recognises stale entries; `result` is the merged symbol (BPE). */
struct tok_bigram {
	int32_t left, right;
	double key;
	uint32_t size;
	uint32_t result;
};

/* A binary min-heap of candidate merges over a caller-sized array. */
struct tok_heap {
	struct tok_bigram *a;
	size_t n;
};

static inline bool tok_bigram_before(const struct tok_bigram *a, const struct tok_bigram *b)
{
	return a->key < b->key || (a->key == b->key && a->left < b->left);
}

static inline void tok_heap_push(struct tok_heap *h, struct tok_bigram b)
{
	size_t i = h->n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!tok_bigram_before(&b, &h->a[p]))
			break;
		h->a[i] = h->a[p];
		i = p;
	}
	h->a[i] = b;
}

static inline struct tok_bigram tok_heap_pop(struct tok_heap *h)
{
	struct tok_bigram top = h->a[0];
	struct tok_bigram last = h->a[--h->n];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1;
		if (l >= h->n)
			break;
		size_t c = l;
		if (l + 1 < h->n && tok_bigram_before(&h->a[l + 1], &h->a[l]))
			c = l + 1;
		if (!tok_bigram_before(&h->a[c], &last))
			break;
		h->a[i] = h->a[c];
		i = c;
	}
	if (h->n)
		h->a[i] = last;
	return top;
}

#endif
