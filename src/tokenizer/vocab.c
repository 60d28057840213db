/*
 * vocab.c - loading and validating a vocabulary from GGUF `tokenizer.*` metadata,
 * with llama.cpp's defaults and adjustments (special ids per tokenizer type,
 * pre-tokenizer names, EOG tokens detected by text, phi-3's rstrip), plus the
 * string table and merge map used by the tokenizers.
 *
 * Keys read: tokenizer.ggml.model (string, required), .tokens (string array,
 * required), .scores (f32 array), .token_type (i32 array), .merges (string array,
 * required for gpt2), .pre (string), .bos/eos/eot/eom/unknown/seperator/padding
 * _token_id (integers), .add_bos_token/.add_eos_token/.add_space_prefix (bool),
 * general.name.  Every array's element type and length is checked; errors name
 * the key.
 */
#include "tokenizer/tokenizer.h"
#include "util/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOK_MAX_TOKENS (1u << 24)
#define TOK_MAX_POOL 0xF0000000u

/* ---------------------------------------------------------------------------------
 * String table
 * ------------------------------------------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ len;
	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return h;
}

uint32_t tok_st_find(const struct tok_strtab *st, const char *s, size_t len)
{
	if (!st->n_slots)
		return UINT32_MAX;
	uint32_t mask = st->n_slots - 1;
	uint32_t i = (uint32_t)hash_bytes(s, len) & mask;
	for (;;) {
		uint32_t e = st->slots[i];
		if (!e)
			return UINT32_MAX;
		uint32_t sid = e - 1;
		if (st->len[sid] == len && memcmp(st->pool + st->off[sid], s, len) == 0)
			return sid;
		i = (i + 1) & mask;
	}
}

static int st_grow_slots(struct tok_strtab *st)
{
	uint32_t ns = st->n_slots ? st->n_slots * 2 : 1024;
	uint32_t *slots = hx_calloc(ns, sizeof *slots);
	if (!slots)
		return HEARTH_ENOMEM;
	for (uint32_t sid = 0; sid < st->n; sid++) {
		uint32_t i = (uint32_t)hash_bytes(st->pool + st->off[sid], st->len[sid]) & (ns - 1);
		while (slots[i])
			i = (i + 1) & (ns - 1);
		slots[i] = sid + 1;
	}
	free(st->slots);
	st->slots = slots;
	st->n_slots = ns;
	return 0;
}

/* Interns s[0..len); returns the sid through *sid. */
static int st_intern(struct tok_strtab *st, const char *s, size_t len, uint32_t *sid)
{
	uint32_t f = tok_st_find(st, s, len);
	if (f != UINT32_MAX) {
		*sid = f;
		return 0;
	}
	if ((uint64_t)st->n * 2 + 2 > st->n_slots && st_grow_slots(st))
		return HEARTH_ENOMEM;
	if (st->n == st->cap) {
		uint32_t nc = st->cap ? st->cap * 2 : 1024;
		uint32_t *o = hx_realloc(st->off, (size_t)nc * sizeof *o);
		if (!o)
			return HEARTH_ENOMEM;
		st->off = o;
		uint32_t *l = hx_realloc(st->len, (size_t)nc * sizeof *l);
		if (!l)
			return HEARTH_ENOMEM;
		st->len = l;
		st->cap = nc;
	}
	if (st->pool_len + len + 1 > TOK_MAX_POOL)
		return hx_err(HEARTH_ELIMIT, "vocabulary strings exceed %u bytes", TOK_MAX_POOL);
	if (st->pool_len + len + 1 > st->pool_cap) {
		size_t nc = st->pool_cap ? st->pool_cap : 65536;
		while (nc < st->pool_len + len + 1)
			nc *= 2;
		char *p = hx_realloc(st->pool, nc);
		if (!p)
			return HEARTH_ENOMEM;
		st->pool = p;
		st->pool_cap = nc;
	}
	memcpy(st->pool + st->pool_len, s, len);
	st->pool[st->pool_len + len] = 0;
	st->off[st->n] = (uint32_t)st->pool_len;
	st->len[st->n] = (uint32_t)len;
	st->pool_len += len + 1;
	uint32_t mask = st->n_slots - 1;
	uint32_t i = (uint32_t)hash_bytes(s, len) & mask;
	while (st->slots[i])
		i = (i + 1) & mask;
	st->slots[i] = st->n + 1;
	*sid = st->n++;
	return 0;
}

static void st_free(struct tok_strtab *st)
{
	free(st->pool);
	free(st->off);
	free(st->len);
	free(st->slots);
	memset(st, 0, sizeof *st);
}

int32_t tok_find(const hearth_vocab *v, const char *s, size_t len)
{
	uint32_t sid = tok_st_find(&v->st, s, len);
	return sid == UINT32_MAX ? -1 : v->tok_of_sid[sid];
}

/* ---------------------------------------------------------------------------------
 * Merge map
 * ------------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

int32_t tok_merge_find(const hearth_vocab *v, uint32_t left, uint32_t right, uint32_t *result)
{
	if (!v->n_merge_slots || left == UINT32_MAX || right == UINT32_MAX)
		return -1;
	uint64_t key = (((uint64_t)left << 32) | right) + 1;
	uint32_t mask = v->n_merge_slots - 1;
	uint32_t i = (uint32_t)mix64(key) & mask;
	for (;;) {
		const struct tok_merge_slot *s = &v->merges[i];
		if (!s->key)
			return -1;
		if (s->key == key) {
			*result = s->result;
			return s->rank;
		}
		i = (i + 1) & mask;
	}
}

/* Inserts unless present (llama.cpp's emplace keeps the first rank). */
static void merge_insert(hearth_vocab *v, uint32_t left, uint32_t right, int32_t rank, uint32_t result)
{
	uint64_t key = (((uint64_t)left << 32) | right) + 1;
	uint32_t mask = v->n_merge_slots - 1;
	uint32_t i = (uint32_t)mix64(key) & mask;
	while (v->merges[i].key) {
		if (v->merges[i].key == key)
			return;
		i = (i + 1) & mask;
	}
	v->merges[i].key = key;
	v->merges[i].rank = rank;
	v->merges[i].result = result;
}

/* ---------------------------------------------------------------------------------
 * SPM character-pair set
 * ------------------------------------------------------------------------------- */

/* Packs a 1..4 byte character (zero padded); collisions only make the set
 * answer "possible" more often, which is always safe. */
static uint32_t pack_char(const char *s, size_t n)
{
	uint32_t v = 0;
	for (size_t k = 0; k < n && k < 4; k++)
		v |= (uint32_t)(uint8_t)s[k] << (8 * k);
	return v;
}

static uint64_t pair_key(const char *a, size_t al, const char *b, size_t bl)
{
	return ((uint64_t)pack_char(a, al) << 32) | pack_char(b, bl);
}

static bool pair_insert(hearth_vocab *v, uint64_t key)
{
	if (key == 0) {
		v->has_zero_pair = true;
		return false;
	}
	uint32_t mask = v->n_pair_slots - 1;
	uint32_t i = (uint32_t)mix64(key) & mask;
	while (v->pairs[i]) {
		if (v->pairs[i] == key)
			return false;
		i = (i + 1) & mask;
	}
	v->pairs[i] = key;
	return true;
}

bool tok_pair_possible(const hearth_vocab *v, const char *a, size_t al, const char *b, size_t bl)
{
	uint64_t key = pair_key(a, al, b, bl);
	if (key == 0)
		return v->has_zero_pair;
	uint32_t mask = v->n_pair_slots - 1;
	uint32_t i = (uint32_t)mix64(key) & mask;
	while (v->pairs[i]) {
		if (v->pairs[i] == key)
			return true;
		i = (i + 1) & mask;
	}
	return false;
}

static int build_pairs(hearth_vocab *v)
{
	uint64_t total = 0;
	for (int32_t i = 0; i < v->n_tokens; i++)
		total += v->tok[i].len;
	uint64_t slots = 1024;
	while (slots < total * 2 + 2)
		slots *= 2;
	if (slots > (1u << 30))
		return hx_err(HEARTH_ELIMIT, "vocabulary: token texts too long");
	v->pairs = hx_calloc((size_t)slots, sizeof *v->pairs);
	if (!v->pairs)
		return HEARTH_ENOMEM;
	v->n_pair_slots = (uint32_t)slots;
	for (int32_t i = 0; i < v->n_tokens; i++) {
		const char *t = v->pool + v->tok[i].off;
		size_t len = v->tok[i].len, off = 0, prev = 0, prev_len = 0;
		bool have_prev = false;
		while (off < len) {
			size_t cl = HX_MIN(tok_utf8_len((uint8_t)t[off]), len - off);
			if (have_prev)
				pair_insert(v, pair_key(t + prev, prev_len, t + off, cl));
			prev = off;
			prev_len = cl;
			have_prev = true;
			off += cl;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------------- */

static int get_array(const hearth_gguf *g, const char *key, enum hearth_gguf_type type, bool required,
                     const hearth_gguf_value **out)
{
	*out = NULL;
	const hearth_gguf_value *val = hearth_gguf_get(g, key);
	if (!val) {
		if (required)
			return hx_err(HEARTH_ENOTFOUND, "vocabulary: key '%s' is missing", key);
		return 0;
	}
	if (val->type != HEARTH_GGUF_ARRAY)
		return hx_err(HEARTH_ETYPE, "vocabulary: key '%s' has type %s, expected an array of %s", key,
		              hearth_gguf_type_name(val->type), hearth_gguf_type_name(type));
	if (val->v.arr.type != type)
		return hx_err(HEARTH_ETYPE, "vocabulary: key '%s' is an array of %s, expected an array of %s", key,
		              hearth_gguf_type_name(val->v.arr.type), hearth_gguf_type_name(type));
	*out = val;
	return 0;
}

/* Reads an optional token id key.  Absent: leaves *id.  Strict ids (bos, eos, eot,
 * unk) out of range are an error; others are ignored as llama.cpp does. */
static int get_id(const hearth_gguf *g, const char *key, int32_t n_tokens, bool strict, int32_t *id)
{
	const hearth_gguf_value *val = hearth_gguf_get(g, key);
	if (!val)
		return 0;
	int64_t x;
	int rc = hearth_gguf_get_i64(g, key, &x);
	if (rc)
		return hx_err(HEARTH_ETYPE, "vocabulary: key '%s' has type %s, expected an integer token id", key,
		              hearth_gguf_type_name(val->type));
	if (x < 0 || x >= n_tokens) {
		if (strict)
			return hx_err(HEARTH_EFORMAT, "vocabulary: key '%s' = %lld is out of range (%d tokens)", key,
			              (long long)x, n_tokens);
		return 0;
	}
	*id = (int32_t)x;
	return 0;
}

static int get_flag(const hearth_gguf *g, const char *key, bool *out)
{
	const hearth_gguf_value *val = hearth_gguf_get(g, key);
	if (!val)
		return 0;
	if (val->type != HEARTH_GGUF_BOOL)
		return hx_err(HEARTH_ETYPE, "vocabulary: key '%s' has type %s, expected bool", key,
		              hearth_gguf_type_name(val->type));
	*out = val->v.u64 != 0;
	return 0;
}

struct pre_name {
	const char *name;
	enum tok_pre pre;
};

static const struct pre_name k_pre_names[] = {
	{"default", TOK_PRE_DEFAULT},
	{"llama3", TOK_PRE_LLAMA3},
	{"llama-v3", TOK_PRE_LLAMA3},
	{"llama-bpe", TOK_PRE_LLAMA3},
	{"falcon3", TOK_PRE_LLAMA3},
	{"falcon-h1", TOK_PRE_LLAMA3},
	{"pixtral", TOK_PRE_LLAMA3},
	{"midm-2.0", TOK_PRE_LLAMA3},
	{"lfm2", TOK_PRE_LLAMA3},
	{"deepseek-llm", TOK_PRE_DEEPSEEK_LLM},
	{"deepseek-coder", TOK_PRE_DEEPSEEK_CODER},
	{"falcon", TOK_PRE_FALCON},
	{"mpt", TOK_PRE_MPT},
	{"starcoder", TOK_PRE_STARCODER},
	{"gpt-2", TOK_PRE_GPT2},
	{"phi-2", TOK_PRE_GPT2},
	{"jina-es", TOK_PRE_GPT2},
	{"jina-de", TOK_PRE_GPT2},
	{"gigachat", TOK_PRE_GPT2},
	{"jina-v1-en", TOK_PRE_GPT2},
	{"jina-v2-es", TOK_PRE_GPT2},
	{"jina-v2-de", TOK_PRE_GPT2},
	{"a.x-4.0", TOK_PRE_GPT2},
	{"mellum", TOK_PRE_GPT2},
	{"refact", TOK_PRE_REFACT},
	{"qwen2", TOK_PRE_QWEN2},
	{"deepseek-r1-qwen", TOK_PRE_QWEN2},
	{"smollm", TOK_PRE_SMOLLM},
};

/* Token texts llama.cpp treats as end-of-generation (and marks CONTROL). */
static const char *const k_eog_texts[] = {
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
	"<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
	"<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
	"<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>",
};
/* Candidates for the EOT token when tokenizer.ggml.eot_token_id is absent (in
 * llama.cpp's list order; llama.cpp takes whichever its hash map yields first). */
static const char *const k_eot_texts[] = {
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
	"<EOT>", "_<EOT>", "[EOT]", "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>",
	"<end_of_utterance>",
};
/* Fill-in-the-middle tokens found by text: the first of each group that exists is
 * made CONTROL; pad, repo and file-separator tokens are also EOG (llama.cpp). */
#define FIM_GROUP_MAX 9
static const struct {
	bool eog;
	const char *texts[FIM_GROUP_MAX];
} k_fim_groups[] = {
	{false, {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>",
	         "<PRE>", "\xE2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>", NULL}},
	{false, {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "hole\xEF\xBD\x9C>",
	         "<SUF>", "\xE2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>", NULL}},
	{false, {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>",
	         "<MID>", "\xE2\x96\x81<MID>", "<|code_middle|>", "<|middle|>", NULL}},
	{true, {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL}},
	{true, {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", NULL}},
	{true, {"<|file_sep|>", NULL}},
};

static void mark_eog(hearth_vocab *v, int32_t id, bool force_control)
{
	if (id < 0 || id >= v->n_tokens)
		return;
	v->tok[id].attr |= TOK_ATTR_EOG;
	if (force_control)
		v->tok[id].type = HEARTH_TOKEN_CONTROL;
}

static int32_t find_cstr(const hearth_vocab *v, const char *s)
{
	return tok_find(v, s, strlen(s));
}

static bool is_special_type(int type)
{
	return type == HEARTH_TOKEN_CONTROL || type == HEARTH_TOKEN_USER_DEFINED || type == HEARTH_TOKEN_UNKNOWN;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int build_specials(hearth_vocab *v)
{
	int32_t n = 0;
	for (int32_t i = 0; i < v->n_tokens; i++)
		if (is_special_type(v->tok[i].type))
			n++;
	v->specials = hx_malloc(((size_t)n + 1) * sizeof *v->specials);
	if (!v->specials)
		return HEARTH_ENOMEM;
	n = 0;
	for (int32_t i = 0; i < v->n_tokens; i++)
		if (is_special_type(v->tok[i].type))
			v->specials[n++] = i;
	v->n_specials = n;
	/* sort by (length descending, id ascending), packed into 64-bit keys */
	uint64_t *keys = hx_malloc(((size_t)n + 1) * sizeof *keys);
	if (!keys)
		return HEARTH_ENOMEM;
	for (int32_t i = 0; i < n; i++) {
		uint32_t len = v->tok[v->specials[i]].len;
		keys[i] = ((uint64_t)(UINT32_MAX - len) << 32) | (uint32_t)v->specials[i];
	}
	qsort(keys, (size_t)n, sizeof *keys, cmp_u64);
	for (int32_t i = 0; i < n; i++)
		v->specials[i] = (int32_t)(keys[i] & 0xFFFFFFFFu);
	free(keys);

	/* trie */
	size_t total = 1;
	for (int32_t i = 0; i < n; i++)
		total += v->tok[v->specials[i]].len;
	if (total > INT32_MAX)
		return hx_err(HEARTH_ELIMIT, "vocabulary: special tokens too long");
	v->trie = hx_malloc(total * sizeof *v->trie);
	if (!v->trie)
		return HEARTH_ENOMEM;
	v->trie[0] = (struct tok_trie_node){-1, -1, -1, 0};
	v->n_trie = 1;
	for (int32_t i = 0; i < n; i++) {
		int32_t id = v->specials[i];
		const uint8_t *s = (const uint8_t *)v->pool + v->tok[id].off;
		int32_t node = 0;
		for (uint32_t k = 0; k < v->tok[id].len; k++) {
			int32_t ch = v->trie[node].first_child;
			while (ch >= 0 && v->trie[ch].byte != s[k])
				ch = v->trie[ch].next_sibling;
			if (ch < 0) {
				ch = v->n_trie++;
				v->trie[ch] = (struct tok_trie_node){-1, v->trie[node].first_child, -1, s[k]};
				v->trie[node].first_child = ch;
			}
			node = ch;
		}
		if (v->trie[node].token < 0)
			v->trie[node].token = id;
	}
	return 0;
}

static int load_tokens(hearth_vocab *v, const hearth_gguf *g)
{
	const hearth_gguf_value *tokens, *scores, *types;
	int rc = get_array(g, "tokenizer.ggml.tokens", HEARTH_GGUF_STRING, true, &tokens);
	if (rc)
		return rc;
	uint64_t n = tokens->v.arr.n;
	if (n == 0 || n > TOK_MAX_TOKENS)
		return hx_err(HEARTH_EFORMAT, "vocabulary: key 'tokenizer.ggml.tokens' has %llu entries (expected 1..%u)",
		              (unsigned long long)n, TOK_MAX_TOKENS);
	if ((rc = get_array(g, "tokenizer.ggml.scores", HEARTH_GGUF_F32, false, &scores)))
		return rc;
	if (scores && scores->v.arr.n != n)
		return hx_err(HEARTH_EFORMAT,
		              "vocabulary: key 'tokenizer.ggml.scores' has %llu entries for %llu tokens",
		              (unsigned long long)scores->v.arr.n, (unsigned long long)n);
	if ((rc = get_array(g, "tokenizer.ggml.token_type", HEARTH_GGUF_I32, false, &types)))
		return rc;
	if (types && types->v.arr.n != n)
		return hx_err(HEARTH_EFORMAT,
		              "vocabulary: key 'tokenizer.ggml.token_type' has %llu entries for %llu tokens",
		              (unsigned long long)types->v.arr.n, (unsigned long long)n);

	v->n_tokens = (int32_t)n;
	v->tok = hx_calloc(n, sizeof *v->tok);
	v->tok_of_sid = NULL;
	if (!v->tok)
		return HEARTH_ENOMEM;
	char empty[32];
	for (uint64_t i = 0; i < n; i++) {
		const hearth_str *s = &tokens->v.arr.items[i].v.str;
		const char *p = s->ptr;
		size_t len = s->len;
		if (len == 0) { /* llama.cpp renames empty tokens */
			len = (size_t)snprintf(empty, sizeof empty, "[EMPTY_%llu]", (unsigned long long)i);
			p = empty;
		}
		if (len > 65536)
			return hx_err(HEARTH_EFORMAT, "vocabulary: key 'tokenizer.ggml.tokens': token %llu is %zu bytes long",
			              (unsigned long long)i, len);
		uint32_t sid;
		if ((rc = st_intern(&v->st, p, len, &sid)))
			return rc;
		v->tok[i].off = v->st.off[sid];
		v->tok[i].len = (uint32_t)len;
		v->tok[i].score = scores ? (float)hearth_gguf_arr_f64(scores, i) : 0.0f;
		int64_t t = types ? hearth_gguf_arr_i64(types, i) : HEARTH_TOKEN_NORMAL;
		v->tok[i].type = (t >= 0 && t <= HEARTH_TOKEN_BYTE) ? (uint8_t)t : HEARTH_TOKEN_UNDEFINED;
	}
	return 0;
}

/* Maps sids to token ids; call again after interning more strings. */
static int build_tok_of_sid(hearth_vocab *v)
{
	int32_t *m = hx_realloc(v->tok_of_sid, ((size_t)v->st.n + 1) * sizeof *m);
	if (!m)
		return HEARTH_ENOMEM;
	v->tok_of_sid = m;
	for (uint32_t i = 0; i < v->st.n; i++)
		m[i] = -1;
	for (int32_t i = 0; i < v->n_tokens; i++) {
		uint32_t sid = tok_st_find(&v->st, v->st.pool + v->tok[i].off, v->tok[i].len);
		m[sid] = i; /* the last id wins, like llama.cpp's token_to_id[word] = i */
	}
	return 0;
}

static int load_merges(hearth_vocab *v, const hearth_gguf *g)
{
	const hearth_gguf_value *merges;
	int rc = get_array(g, "tokenizer.ggml.merges", HEARTH_GGUF_STRING, true, &merges);
	if (rc)
		return rc;
	uint64_t n = merges->v.arr.n;
	if (n > (uint64_t)INT32_MAX / 4)
		return hx_err(HEARTH_EFORMAT, "vocabulary: key 'tokenizer.ggml.merges' has %llu entries",
		              (unsigned long long)n);
	uint32_t slots = 1024;
	while (slots < n * 2 + 2)
		slots *= 2;
	v->merges = hx_calloc(slots, sizeof *v->merges);
	if (!v->merges)
		return HEARTH_ENOMEM;
	v->n_merge_slots = slots;
	char *buf = NULL;
	size_t buf_cap = 0;
	for (uint64_t i = 0; i < n; i++) {
		const hearth_str *s = &merges->v.arr.items[i].v.str;
		const char *sp = s->len > 1 ? memchr(s->ptr + 1, ' ', s->len - 1) : NULL;
		if (!sp) {
			free(buf);
			return hx_err(HEARTH_EFORMAT,
			              "vocabulary: key 'tokenizer.ggml.merges': entry %llu (\"%.*s\") is not \"left right\"",
			              (unsigned long long)i, (int)HX_MIN(s->len, 40), s->ptr);
		}
		size_t ll = (size_t)(sp - s->ptr), rl = s->len - ll - 1;
		if (ll + rl > buf_cap) {
			buf_cap = (ll + rl) * 2 + 64;
			char *nb = hx_realloc(buf, buf_cap);
			if (!nb) {
				free(buf);
				return HEARTH_ENOMEM;
			}
			buf = nb;
		}
		memcpy(buf, s->ptr, ll);
		memcpy(buf + ll, sp + 1, rl);
		uint32_t l, r, res;
		if ((rc = st_intern(&v->st, s->ptr, ll, &l)) || (rc = st_intern(&v->st, sp + 1, rl, &r)) ||
		    (rc = st_intern(&v->st, buf, ll + rl, &res))) {
			free(buf);
			return rc;
		}
		merge_insert(v, l, r, (int32_t)i, res);
	}
	free(buf);
	return 0;
}

static bool name_contains(const char *lower, const char *needle)
{
	return strstr(lower, needle) != NULL;
}

static int load(hearth_vocab *v, const hearth_gguf *g)
{
	hearth_str model;
	int rc = hearth_gguf_get_str(g, "tokenizer.ggml.model", &model);
	if (rc == HEARTH_ENOTFOUND)
		return hx_err(HEARTH_ENOTFOUND, "vocabulary: key 'tokenizer.ggml.model' is missing");
	if (rc)
		return rc;
	if (model.len == 5 && memcmp(model.ptr, "llama", 5) == 0)
		v->type = HEARTH_VOCAB_SPM;
	else if (model.len == 4 && memcmp(model.ptr, "gpt2", 4) == 0)
		v->type = HEARTH_VOCAB_BPE;
	else if (model.len == 4 && memcmp(model.ptr, "bert", 4) == 0)
		v->type = HEARTH_VOCAB_WPM;
	else
		return hx_err(HEARTH_EUNSUPPORTED,
		              "vocabulary: tokenizer.ggml.model '%.*s' is not supported (hearth supports 'llama', 'gpt2' and 'bert')",
		              (int)HX_MIN(model.len, 64), model.ptr);

	if ((rc = load_tokens(v, g)))
		return rc;
	if (v->type == HEARTH_VOCAB_BPE && (rc = load_merges(v, g)))
		return rc;
	if ((rc = build_tok_of_sid(v)))
		return rc;
	v->pool = v->st.pool; /* nothing is interned after this point */

	int32_t n = v->n_tokens;
	v->bos = v->eos = v->eot = v->eom = v->unk = v->pad = v->sep = -1;
	if (v->type == HEARTH_VOCAB_SPM) {
		v->pre = TOK_PRE_NONE;
		v->pre_name[0] = 0;
		v->bos = 1 < n ? 1 : -1;
		v->eos = 2 < n ? 2 : -1;
		v->unk = 0;
		v->add_space_prefix = true;
		v->add_bos = true;
		v->add_eos = false;
	} else if (v->type == HEARTH_VOCAB_WPM) {
		/* BERT: [CLS] ... [SEP] */
		v->pre = TOK_PRE_NONE;
		snprintf(v->pre_name, sizeof v->pre_name, "bert");
		v->bos = 101 < n ? 101 : -1;
		v->unk = 100 < n ? 100 : -1;
		v->sep = 102 < n ? 102 : -1;
		v->pad = 0;
		v->add_space_prefix = false;
		v->add_bos = true;
		v->add_eos = false;
	} else {
		v->bos = 11 < n ? 11 : -1;
		v->eos = 11 < n ? 11 : -1;
		v->add_space_prefix = false;
		v->add_bos = false;
		v->add_eos = false;
		hearth_str pre = {"", 0};
		const hearth_gguf_value *pv = hearth_gguf_get(g, "tokenizer.ggml.pre");
		if (pv) {
			if (pv->type != HEARTH_GGUF_STRING)
				return hx_err(HEARTH_ETYPE, "vocabulary: key 'tokenizer.ggml.pre' has type %s, expected string",
				              hearth_gguf_type_name(pv->type));
			pre = pv->v.str;
		}
		if (pre.len == 0) {
			v->pre = TOK_PRE_DEFAULT;
			snprintf(v->pre_name, sizeof v->pre_name, "default");
		} else {
			v->pre = TOK_PRE_NONE;
			for (size_t i = 0; i < HX_ARRAY_LEN(k_pre_names); i++)
				if (strlen(k_pre_names[i].name) == pre.len && memcmp(k_pre_names[i].name, pre.ptr, pre.len) == 0)
					v->pre = k_pre_names[i].pre;
			if (v->pre == TOK_PRE_NONE)
				return hx_err(HEARTH_EUNSUPPORTED, "vocabulary: unknown pre-tokenizer type '%.*s' (tokenizer.ggml.pre)",
				              (int)HX_MIN(pre.len, 64), pre.ptr);
			snprintf(v->pre_name, sizeof v->pre_name, "%.*s", (int)HX_MIN(pre.len, 63), pre.ptr);
		}
		if (v->pre == TOK_PRE_LLAMA3) {
			v->ignore_merges = true;
			v->add_bos = true;
		}
	}

	if ((rc = get_id(g, "tokenizer.ggml.bos_token_id", n, true, &v->bos)) ||
	    (rc = get_id(g, "tokenizer.ggml.eos_token_id", n, true, &v->eos)) ||
	    (rc = get_id(g, "tokenizer.ggml.eot_token_id", n, true, &v->eot)) ||
	    (rc = get_id(g, "tokenizer.ggml.eom_token_id", n, false, &v->eom)) ||
	    (rc = get_id(g, "tokenizer.ggml.unknown_token_id", n, true, &v->unk)) ||
	    (rc = get_id(g, "tokenizer.ggml.seperator_token_id", n, false, &v->sep)) ||
	    (rc = get_id(g, "tokenizer.ggml.padding_token_id", n, false, &v->pad)))
		return rc;
	if ((rc = get_flag(g, "tokenizer.ggml.add_bos_token", &v->add_bos)) ||
	    (rc = get_flag(g, "tokenizer.ggml.add_eos_token", &v->add_eos)) ||
	    (rc = get_flag(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix)))
		return rc;
	if (v->add_bos && v->bos < 0)
		return hx_err(HEARTH_EFORMAT, "vocabulary: tokenizer.ggml.add_bos_token is true, but there is no BOS token");
	if (v->add_eos && v->eos < 0)
		return hx_err(HEARTH_EFORMAT, "vocabulary: tokenizer.ggml.add_eos_token is true, but there is no EOS token");

	/* EOT / EOG detection by text, as llama.cpp does. */
	if (v->eot < 0) {
		for (size_t i = 0; i < HX_ARRAY_LEN(k_eot_texts) && v->eot < 0; i++) {
			int32_t id = find_cstr(v, k_eot_texts[i]);
			if (id >= 0) {
				v->eot = id;
				v->tok[id].type = HEARTH_TOKEN_CONTROL;
			}
		}
	}
	if (v->eom < 0) {
		int32_t id = find_cstr(v, "<|eom_id|>");
		if (id >= 0) {
			v->eom = id;
			v->tok[id].type = HEARTH_TOKEN_CONTROL;
		}
	}
	for (size_t gi = 0; gi < HX_ARRAY_LEN(k_fim_groups); gi++) {
		for (size_t i = 0; i < FIM_GROUP_MAX && k_fim_groups[gi].texts[i]; i++) {
			int32_t id = find_cstr(v, k_fim_groups[gi].texts[i]);
			if (id < 0)
				continue;
			v->tok[id].type = HEARTH_TOKEN_CONTROL;
			if (k_fim_groups[gi].eog)
				mark_eog(v, id, true);
			break;
		}
	}
	for (size_t i = 0; i < HX_ARRAY_LEN(k_eog_texts); i++)
		mark_eog(v, find_cstr(v, k_eog_texts[i]), true);
	/* llama.cpp always renders these gpt-oss tokens */
	static const char *const k_user_defined[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"};
	for (size_t i = 0; i < HX_ARRAY_LEN(k_user_defined); i++) {
		int32_t id = find_cstr(v, k_user_defined[i]);
		if (id >= 0)
			v->tok[id].type = HEARTH_TOKEN_USER_DEFINED;
	}
	mark_eog(v, v->eos, false);
	mark_eog(v, v->eot, false);
	mark_eog(v, v->eom, false);

	/* SPM byte tokens */
	for (int b = 0; b < 256; b++) {
		char hex[8];
		snprintf(hex, sizeof hex, "<0x%02X>", b);
		v->byte_tok[b] = find_cstr(v, hex);
		if (v->byte_tok[b] < 0) {
			char c = (char)b;
			v->byte_tok[b] = tok_find(v, &c, 1);
		}
		char enc[4];
		size_t el = tok_utf8_encode(tok_byte_to_cpt((uint8_t)b), enc);
		v->byte_sid[b] = tok_st_find(&v->st, enc, el);
	}

	if ((rc = build_specials(v)))
		return rc;
	for (int32_t i = 0; i < n; i++)
		v->max_token_len = HX_MAX(v->max_token_len, v->tok[i].len);

	/* phi-3: special tokens strip the white space that follows them (llama.cpp keys this
	 * on general.name). */
	hearth_str name;
	if (hearth_gguf_get_str(g, "general.name", &name) == 0) {
		char lower[128];
		size_t k = HX_MIN(name.len, sizeof lower - 1);
		for (size_t i = 0; i < k; i++)
			lower[i] = (char)tolower((unsigned char)name.ptr[i]);
		lower[k] = 0;
		if (name_contains(lower, "phi-3") || name_contains(lower, "phi3")) {
			for (int32_t i = 0; i < v->n_specials; i++)
				v->tok[v->specials[i]].attr |= TOK_ATTR_RSTRIP;
			int32_t id = find_cstr(v, "</s>");
			if (id >= 0)
				v->tok[id].attr |= TOK_ATTR_RSTRIP;
			static const char *const no_rstrip[] = {"<unk>", "<s>", "<|endoftext|>"};
			for (size_t i = 0; i < HX_ARRAY_LEN(no_rstrip); i++) {
				id = find_cstr(v, no_rstrip[i]);
				if (id >= 0)
					v->tok[id].attr &= (uint8_t)~TOK_ATTR_RSTRIP;
			}
		}
	}
	if (v->type == HEARTH_VOCAB_SPM && (rc = build_pairs(v)))
		return rc;
	return tok_build_pieces(v);
}

int hearth_vocab_load(const hearth_gguf *g, hearth_vocab **out)
{
	if (!g || !out)
		return hx_err(HEARTH_EINVAL, "hearth_vocab_load: NULL argument");
	*out = NULL;
	tok_unicode_init();
	hearth_vocab *v = hx_calloc(1, sizeof *v);
	if (!v)
		return HEARTH_ENOMEM;
	int rc = load(v, g);
	if (rc) {
		hearth_vocab_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

void hearth_vocab_free(hearth_vocab *v)
{
	if (!v)
		return;
	st_free(&v->st);
	free(v->tok);
	free(v->tok_of_sid);
	free(v->pieces);
	free(v->merges);
	free(v->specials);
	free(v->trie);
	free(v->pairs);
	free(v);
}

enum hearth_vocab_type hearth_vocab_type(const hearth_vocab *v)
{
	return v->type;
}

const char *hearth_vocab_pre(const hearth_vocab *v)
{
	return v->pre_name;
}

int32_t hearth_vocab_n_tokens(const hearth_vocab *v)
{
	return v->n_tokens;
}

int32_t hearth_vocab_bos(const hearth_vocab *v)
{
	return v->bos;
}

int32_t hearth_vocab_eos(const hearth_vocab *v)
{
	return v->eos;
}

int32_t hearth_vocab_eot(const hearth_vocab *v)
{
	return v->eot;
}

int32_t hearth_vocab_unk(const hearth_vocab *v)
{
	return v->unk;
}

int32_t hearth_vocab_pad(const hearth_vocab *v)
{
	return v->pad;
}

bool hearth_vocab_add_bos(const hearth_vocab *v)
{
	return v->add_bos;
}

bool hearth_vocab_add_eos(const hearth_vocab *v)
{
	return v->add_eos;
}

bool hearth_vocab_is_eog(const hearth_vocab *v, int32_t id)
{
	return id >= 0 && id < v->n_tokens && (v->tok[id].attr & TOK_ATTR_EOG);
}

int hearth_vocab_token_type(const hearth_vocab *v, int32_t id)
{
	return id >= 0 && id < v->n_tokens ? v->tok[id].type : -1;
}

hearth_str hearth_vocab_token_text(const hearth_vocab *v, int32_t id)
{
	hearth_str s = {NULL, 0};
	if (id >= 0 && id < v->n_tokens) {
		s.ptr = v->pool + v->tok[id].off;
		s.len = v->tok[id].len;
	}
	return s;
}

int32_t hearth_vocab_find(const hearth_vocab *v, const char *text, size_t len)
{
	return tok_find(v, text, len);
}
