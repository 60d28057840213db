/*
 * spm.c - the SentencePiece-style tokenizer (tokenizer.ggml.model = "llama"),
 * exactly llama.cpp's llm_tokenizer_spm: the fragment (already prefixed and with
 * spaces replaced by U+2581) is split into UTF-8 characters, then the adjacent
 * pair whose concatenation is a token with the highest score (leftmost on ties) is
 * merged repeatedly; a final piece that is not a token is emitted as <0xNN> byte
 * tokens (or the unknown token when the vocabulary has no byte tokens).
 *
 * Symbols form a linked list over the text; candidate pairs sit in a binary heap
 * and stale entries are recognised by their size, so a fragment of n characters
 * takes O(n log n).
 */
#include "tokenizer/tokenizer.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

struct spm_sym {
	int32_t prev, next;
	uint32_t off, n;
};

static void try_add(const hearth_vocab *v, const char *text, const struct spm_sym *sym, struct tok_heap *h,
                    int32_t left, int32_t right)
{
	if (left < 0 || right < 0)
		return;
	uint32_t len = sym[left].n + sym[right].n;
	int32_t id = tok_find(v, text + sym[left].off, len);
	if (id < 0)
		return;
	struct tok_bigram b = {left, right, -(double)v->tok[id].score, len, 0};
	tok_heap_push(h, b);
}

/* Merges the symbols [a, b) (linked consecutively) and emits their tokens. */
static void spm_segment(const hearth_vocab *v, const char *text, struct spm_sym *sym, struct tok_heap *h, int32_t a,
                        int32_t b, struct tok_out *o, struct tok_cache *c)
{
	const char *seg = text + sym[a].off;
	size_t seg_len = sym[b - 1].off + sym[b - 1].n - sym[a].off;
	if (tok_cache_get(c, seg, seg_len, o))
		return;
	size_t before = o->n;
	sym[a].prev = -1;
	sym[b - 1].next = -1;
	h->n = 0;
	for (int32_t i = a + 1; i < b; i++)
		try_add(v, text, sym, h, i - 1, i);
	while (h->n) {
		struct tok_bigram bg = tok_heap_pop(h);
		struct spm_sym *l = &sym[bg.left], *r = &sym[bg.right];
		if (l->n == 0 || r->n == 0 || l->n + r->n != bg.size)
			continue;
		l->n += r->n;
		r->n = 0;
		l->next = r->next;
		if (r->next >= 0)
			sym[r->next].prev = bg.left;
		try_add(v, text, sym, h, l->prev, bg.left);
		try_add(v, text, sym, h, bg.left, l->next);
	}
	for (int32_t i = a; i != -1; i = sym[i].next) {
		int32_t id = tok_find(v, text + sym[i].off, sym[i].n);
		if (id >= 0) {
			tok_out_push(o, id);
			continue;
		}
		for (uint32_t k = 0; k < sym[i].n; k++) {
			int32_t bt = v->byte_tok[(uint8_t)text[sym[i].off + k]];
			if (bt < 0)
				bt = v->unk;
			if (bt >= 0)
				tok_out_push(o, bt);
		}
	}
	if (!o->oom)
		tok_cache_put(c, seg, seg_len, o->ids + before, o->n - before);
}

int tok_spm_fragment(const hearth_vocab *v, const char *text, size_t len, struct tok_out *o, struct tok_cache *c)
{
	if (len == 0)
		return 0;
	if (len > INT32_MAX / 4)
		return hx_err(HEARTH_ELIMIT, "text fragment too long to tokenize (%zu bytes)", len);
	struct spm_sym *sym = hx_malloc(len * sizeof *sym);
	/* each merge pushes at most two pairs: n-1 initial + 2(n-1) */
	struct tok_heap h = {hx_malloc((3 * len + 1) * sizeof *h.a), 0};
	if (!sym || !h.a) {
		free(sym);
		free(h.a);
		return HEARTH_ENOMEM;
	}
	int32_t n = 0;
	size_t off = 0;
	while (off < len) {
		size_t cl = HX_MIN(tok_utf8_len((uint8_t)text[off]), len - off);
		sym[n].off = (uint32_t)off;
		sym[n].n = (uint32_t)cl;
		sym[n].prev = n - 1;
		off += cl;
		sym[n].next = off == len ? -1 : n + 1;
		n++;
	}
	/* Cut the text where no token can span the boundary: merges on either side are
	 * then independent, and processing the pieces separately gives exactly the
	 * result of one global merge (and keeps the heap small). */
	int32_t start = 0;
	for (int32_t i = 1; i < n; i++) {
		if (!tok_pair_possible(v, text + sym[i - 1].off, sym[i - 1].n, text + sym[i].off, sym[i].n)) {
			spm_segment(v, text, sym, &h, start, i, o, c);
			start = i;
		}
	}
	spm_segment(v, text, sym, &h, start, n, o, c);
	free(sym);
	free(h.a);
	return o->oom ? HEARTH_ENOMEM : 0;
}
