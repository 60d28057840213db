/*
 * tokenize.c - hearth_tokenize(): llama.cpp's tokenizer_st_partition (special
 * tokens are cut out of the text first, longest token text first, each token
 * taking all its non-overlapping occurrences in the remaining text fragments,
 * with lstrip/rstrip), then SPM or BPE on each text fragment, and BOS/EOS.
 *
 * CONTROL and UNKNOWN tokens take part only with parse_special; USER_DEFINED
 * tokens always do.  To avoid llama.cpp's O(specials x text) scan, a byte trie
 * first finds which special tokens occur in the text at all; only those are
 * partitioned (exactly as llama.cpp orders them, so the result is identical).
 */
#include "tokenizer/tokenizer.h"
#include "util/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void tok_out_push(struct tok_out *o, int32_t id)
{
	if (o->oom)
		return;
	if (o->n == o->cap) {
		size_t nc = o->cap ? o->cap * 2 : 64;
		int32_t *p = hx_realloc(o->ids, nc * sizeof *p);
		if (!p) {
			o->oom = true;
			return;
		}
		o->ids = p;
		o->cap = nc;
	}
	o->ids[o->n++] = id;
}

/* ---------------------------------------------------------------------------------
 * Word cache
 * ------------------------------------------------------------------------------- */

#define TOK_CACHE_MAX_ENTRIES (1u << 20)
/* Longest text one call accepts (scratch buffers are a few times the text). */
#define TOK_MAX_TEXT (1u << 30)
#define TOK_CACHE_MAX_WORD 256

static uint64_t cache_hash(const char *s, size_t len)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ len;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t x;
		memcpy(&x, s + i, 8);
		h = (h ^ x) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	uint64_t x = 0;
	memcpy(&x, s + i, len - i);
	h = (h ^ x) * 0x94d049bb133111ebull;
	h ^= h >> 29;
	return h;
}

bool tok_cache_get(struct tok_cache *c, const char *w, size_t len, struct tok_out *o)
{
	if (!c || c->disabled || !c->n_slots || len > TOK_CACHE_MAX_WORD)
		return false;
	uint64_t h = cache_hash(w, len);
	uint32_t mask = c->n_slots - 1;
	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
		uint32_t k = c->slots[i];
		if (!k)
			return false;
		const struct tok_cache_entry *e = &c->e[k - 1];
		if (e->hash == h && e->wlen == len && memcmp(c->words + e->woff, w, len) == 0) {
			for (uint32_t j = 0; j < e->ilen; j++)
				tok_out_push(o, c->ids[e->ioff + j]);
			return true;
		}
	}
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t nc = *cap ? *cap : 4096;
	while (nc < need)
		nc *= 2;
	void *q = realloc(*p, nc * elem);
	if (!q)
		return false;
	*p = q;
	*cap = nc;
	return true;
}

void tok_cache_put(struct tok_cache *c, const char *w, size_t len, const int32_t *ids, size_t n)
{
	if (!c || c->disabled || len > TOK_CACHE_MAX_WORD)
		return;
	if (c->n >= TOK_CACHE_MAX_ENTRIES) {
		c->disabled = true;
		return;
	}
	if ((uint64_t)(c->n + 1) * 2 > c->n_slots) {
		uint32_t ns = c->n_slots ? c->n_slots * 2 : 4096;
		uint32_t *slots = calloc(ns, sizeof *slots);
		if (!slots) {
			c->disabled = true;
			return;
		}
		for (uint32_t k = 0; k < c->n; k++) {
			uint32_t i = (uint32_t)c->e[k].hash & (ns - 1);
			while (slots[i])
				i = (i + 1) & (ns - 1);
			slots[i] = k + 1;
		}
		free(c->slots);
		c->slots = slots;
		c->n_slots = ns;
	}
	size_t ecap = c->cap;
	if (!grow((void **)&c->e, &ecap, (size_t)c->n + 1, sizeof *c->e) ||
	    !grow((void **)&c->words, &c->words_cap, c->words_len + len, 1) ||
	    !grow((void **)&c->ids, &c->ids_cap, c->ids_len + n, sizeof *c->ids)) {
		c->disabled = true;
		return;
	}
	c->cap = (uint32_t)ecap;
	uint64_t h = cache_hash(w, len);
	struct tok_cache_entry *e = &c->e[c->n];
	e->hash = h;
	e->woff = (uint32_t)c->words_len;
	e->wlen = (uint32_t)len;
	e->ioff = (uint32_t)c->ids_len;
	e->ilen = (uint32_t)n;
	memcpy(c->words + c->words_len, w, len);
	c->words_len += len;
	if (n)
		memcpy(c->ids + c->ids_len, ids, n * sizeof *ids);
	c->ids_len += n;
	uint32_t mask = c->n_slots - 1;
	uint32_t i = (uint32_t)h & mask;
	while (c->slots[i])
		i = (i + 1) & mask;
	c->slots[i] = ++c->n;
}

void tok_cache_free(struct tok_cache *c)
{
	free(c->slots);
	free(c->e);
	free(c->words);
	free(c->ids);
	memset(c, 0, sizeof *c);
}

/* ---------------------------------------------------------------------------------
 * Special-token partition
 * ------------------------------------------------------------------------------- */

struct frag {
	size_t off, len;
	int32_t token; /* -1: raw text */
};

struct frags {
	struct frag *a;
	size_t n, cap;
};

static int frag_push(struct frags *f, size_t off, size_t len, int32_t token)
{
	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 16;
		struct frag *p = hx_realloc(f->a, nc * sizeof *p);
		if (!p)
			return HEARTH_ENOMEM;
		f->a = p;
		f->cap = nc;
	}
	f->a[f->n++] = (struct frag){off, len, token};
	return 0;
}

static bool special_allowed(const hearth_vocab *v, int32_t id, bool parse_special)
{
	int t = v->tok[id].type;
	return parse_special || !(t == HEARTH_TOKEN_CONTROL || t == HEARTH_TOKEN_UNKNOWN);
}

/* Marks in `present` (a bitmap over token ids) every allowed special token that
 * occurs somewhere in text.  Returns how many were found. */
static size_t find_present(const hearth_vocab *v, const char *text, size_t len, bool parse_special, uint8_t *present)
{
	const struct tok_trie_node *t = v->trie;
	bool first[256] = {0};
	for (int32_t c = t[0].first_child; c >= 0; c = t[c].next_sibling)
		first[t[c].byte] = true;
	size_t found = 0;
	for (size_t i = 0; i < len; i++) {
		if (!first[(uint8_t)text[i]])
			continue;
		int32_t node = 0;
		for (size_t k = i; k < len; k++) {
			int32_t c = t[node].first_child;
			while (c >= 0 && t[c].byte != (uint8_t)text[k])
				c = t[c].next_sibling;
			if (c < 0)
				break;
			node = c;
			int32_t id = t[node].token;
			if (id >= 0 && special_allowed(v, id, parse_special) && !(present[id >> 3] & (1u << (id & 7)))) {
				present[id >> 3] |= (uint8_t)(1u << (id & 7));
				found++;
			}
		}
	}
	return found;
}

static bool c_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Splits every raw fragment of `in` at the occurrences of special token id. */
static int partition_one(const hearth_vocab *v, const char *text, int32_t id, const struct frags *in,
                         struct frags *out)
{
	const char *tt = v->pool + v->tok[id].off;
	size_t tl = v->tok[id].len;
	uint8_t attr = v->tok[id].attr;
	out->n = 0;
	for (size_t i = 0; i < in->n; i++) {
		struct frag f = in->a[i];
		if (f.token >= 0) {
			if (frag_push(out, f.off, f.len, f.token))
				return HEARTH_ENOMEM;
			continue;
		}
		size_t base = f.off, blen = f.len;
		for (;;) {
			const char *m = blen >= tl ? memmem(text + base, blen, tt, tl) : NULL;
			if (!m) {
				if (blen > 0 && frag_push(out, base, blen, -1))
					return HEARTH_ENOMEM;
				break;
			}
			size_t match = (size_t)(m - text);
			if (match > base) {
				size_t ll = match - base;
				if (attr & TOK_ATTR_LSTRIP)
					while (ll > 0 && c_isspace(text[base + ll - 1]))
						ll--;
				if (ll > 0 && frag_push(out, base, ll, -1))
					return HEARTH_ENOMEM;
			}
			if (frag_push(out, 0, 0, id))
				return HEARTH_ENOMEM;
			if (match + tl < base + blen) {
				size_t roff = match + tl;
				size_t rlen = blen - ((match - base) + tl);
				if (attr & TOK_ATTR_RSTRIP)
					while (rlen > 0 && c_isspace(text[roff])) {
						roff++;
						rlen--;
					}
				base = roff;
				blen = rlen;
			} else {
				break;
			}
		}
	}
	return 0;
}

static int partition(const hearth_vocab *v, const char *text, size_t len, bool parse_special, struct frags *f)
{
	f->n = 0;
	if (len == 0)
		return 0;
	if (frag_push(f, 0, len, -1))
		return HEARTH_ENOMEM;
	if (v->n_specials == 0)
		return 0;
	uint8_t *present = hx_calloc(((size_t)v->n_tokens + 7) / 8, 1);
	if (!present)
		return HEARTH_ENOMEM;
	int rc = 0;
	struct frags tmp = {0};
	if (find_present(v, text, len, parse_special, present)) {
		for (int32_t i = 0; i < v->n_specials; i++) {
			int32_t id = v->specials[i];
			if (!(present[id >> 3] & (1u << (id & 7))))
				continue;
			if ((rc = partition_one(v, text, id, f, &tmp)))
				break;
			struct frags sw = *f;
			*f = tmp;
			tmp = sw;
		}
	}
	free(tmp.a);
	free(present);
	return rc;
}

/* SPM: prefix a space to the fragment when asked and replace every ' ' by U+2581. */
static int spm_text(const hearth_vocab *v, const char *text, size_t len, bool prefix, struct tok_out *o,
                    struct tok_cache *c)
{
	size_t cap = 3 * (len + 1);
	char *buf = hx_malloc(cap);
	if (!buf)
		return HEARTH_ENOMEM;
	size_t k = 0;
	if (prefix) {
		memcpy(buf, "\xE2\x96\x81", 3);
		k = 3;
	}
	for (size_t i = 0; i < len; i++) {
		if (text[i] == ' ') {
			memcpy(buf + k, "\xE2\x96\x81", 3);
			k += 3;
		} else {
			buf[k++] = text[i];
		}
	}
	int rc = tok_spm_fragment(v, buf, k, o, c);
	free(buf);
	return rc;
}

/* Tokenizes the whole text into *res (its ids are the caller's to free, also on error). */
static int tokenize_all(const hearth_vocab *v, const char *text, size_t len, bool add_special, bool parse_special,
                        struct tok_out *res)
{
	if (len > TOK_MAX_TEXT)
		return hx_err(HEARTH_ELIMIT, "hearth_tokenize: text of %zu bytes exceeds the %u-byte limit", len,
		              TOK_MAX_TEXT);
	struct frags f = {0};
	struct tok_out o = {0};
	struct tok_cache cache = {0};
	int rc = partition(v, text, len, parse_special, &f);
	if (rc)
		goto out;
	if (add_special && v->add_bos && v->bos >= 0)
		tok_out_push(&o, v->bos);
	bool prev_special = true;
	for (size_t i = 0; i < f.n && !rc; i++) {
		if (f.a[i].token >= 0) {
			tok_out_push(&o, f.a[i].token);
			prev_special = true;
			continue;
		}
		if (v->type == HEARTH_VOCAB_SPM) {
			rc = spm_text(v, text + f.a[i].off, f.a[i].len, v->add_space_prefix && prev_special, &o, &cache);
			prev_special = false;
		} else if (v->type == HEARTH_VOCAB_WPM) {
			rc = tok_wpm_fragment(v, text + f.a[i].off, f.a[i].len, &o);
		} else {
			rc = tok_bpe_fragment(v, text + f.a[i].off, f.a[i].len, &o, &cache);
		}
	}
	if (rc)
		goto out;
	if (add_special && v->type == HEARTH_VOCAB_WPM && v->sep >= 0)
		tok_out_push(&o, v->sep);
	if (add_special && v->add_eos && v->eos >= 0)
		tok_out_push(&o, v->eos);
	if (o.oom)
		rc = HEARTH_ENOMEM;
out:
	tok_cache_free(&cache);
	free(f.a);
	*res = o;
	return rc;
}

int hearth_tokenize(const hearth_vocab *v, const char *text, size_t len, bool add_special, bool parse_special,
                    int32_t *ids, size_t n_max, size_t *n_out)
{
	if (!v || (!text && len) || (!ids && n_max) || !n_out)
		return hx_err(HEARTH_EINVAL, "hearth_tokenize: NULL argument");
	*n_out = 0;
	struct tok_out o = {0};
	int rc = tokenize_all(v, text, len, add_special, parse_special, &o);
	if (!rc) {
		if (o.n && n_max)
			memcpy(ids, o.ids, HX_MIN(o.n, n_max) * sizeof *ids);
		*n_out = o.n;
		if (o.n > n_max)
			rc = hx_err(HEARTH_ELIMIT, "hearth_tokenize: %zu tokens do not fit in %zu", o.n, n_max);
	}
	free(o.ids);
	return rc;
}

int hearth_tokenize_alloc(const hearth_vocab *v, const char *text, size_t len, bool add_special,
                          bool parse_special, int32_t **ids, size_t *n_out)
{
	if (ids)
		*ids = NULL;
	if (n_out)
		*n_out = 0;
	if (!v || (!text && len) || !ids || !n_out)
		return hx_err(HEARTH_EINVAL, "hearth_tokenize_alloc: NULL argument");
	struct tok_out o = {0};
	int rc = tokenize_all(v, text, len, add_special, parse_special, &o);
	if (!rc && !o.ids && !(o.ids = malloc(sizeof *o.ids)))
		rc = hx_err(HEARTH_ENOMEM, "hearth_tokenize_alloc: out of memory");
	if (rc) {
		free(o.ids);
		return rc;
	}
	*ids = o.ids;
	*n_out = o.n;
	return 0;
}
