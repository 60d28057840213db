/*
 * bpe.c - byte-level BPE (tokenizer.ggml.model = "gpt2"), exactly llama.cpp's
 * llm_tokenizer_bpe: the fragment is split into words by the pre-tokenizer
 * (pretok.c), each word's bytes are mapped to GPT-2's printable characters, and
 * the adjacent pair with the lowest merge rank (leftmost on ties) is merged until
 * no merge applies.  With ignore_merges (Llama 3) a word that is itself a token
 * is emitted directly.  A final symbol that is not a token is emitted byte by byte
 * where single bytes of its byte-level text are tokens (llama.cpp's fallback).
 *
 * Symbols carry interned string ids, so a merge is one hash probe on
 * (left sid, right sid); candidate pairs sit in a binary heap: O(n log n) a word.
 */
#include "tokenizer/tokenizer.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

struct bpe_sym {
	int32_t prev, next;
	uint32_t off, n; /* bytes of the word */
	uint32_t sid;    /* interned text, UINT32_MAX when not interned */
};

static void add_bigram(const hearth_vocab *v, const struct bpe_sym *sym, struct tok_heap *h, int32_t left,
                       int32_t right)
{
	if (left < 0 || right < 0)
		return;
	uint32_t res;
	int32_t rank = tok_merge_find(v, sym[left].sid, sym[right].sid, &res);
	if (rank < 0)
		return;
	struct tok_bigram b = {left, right, rank, sym[left].n + sym[right].n, res};
	tok_heap_push(h, b);
}

/* Byte-level text of word bytes w[0..n) into out (room for 2n); returns its length. */
static size_t byte_level(const char *w, size_t n, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += tok_utf8_encode(tok_byte_to_cpt((uint8_t)w[i]), out + k);
	return k;
}

struct bpe_scratch {
	struct bpe_sym *sym;
	struct tok_heap heap;
	char *enc;
};

static void bpe_word(const hearth_vocab *v, const char *w, size_t n, struct bpe_scratch *sc, struct tok_out *o)
{
	if (n == 0)
		return;
	if (v->ignore_merges) {
		size_t el = byte_level(w, n, sc->enc);
		int32_t id = tok_find(v, sc->enc, el);
		if (id >= 0) {
			tok_out_push(o, id);
			return;
		}
	}
	struct bpe_sym *sym = sc->sym;
	for (size_t i = 0; i < n; i++) {
		sym[i].off = (uint32_t)i;
		sym[i].n = 1;
		sym[i].prev = (int32_t)i - 1;
		sym[i].next = i + 1 == n ? -1 : (int32_t)i + 1;
		sym[i].sid = v->byte_sid[(uint8_t)w[i]];
	}
	struct tok_heap *h = &sc->heap;
	h->n = 0;
	for (size_t i = 1; i < n; i++)
		add_bigram(v, sym, h, (int32_t)i - 1, (int32_t)i);
	while (h->n) {
		struct tok_bigram b = tok_heap_pop(h);
		struct bpe_sym *l = &sym[b.left], *r = &sym[b.right];
		if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
			continue;
		l->n += r->n;
		l->sid = b.result;
		r->n = 0;
		l->next = r->next;
		if (r->next >= 0)
			sym[r->next].prev = b.left;
		add_bigram(v, sym, h, l->prev, b.left);
		add_bigram(v, sym, h, b.left, l->next);
	}
	for (int32_t i = 0; i != -1; i = sym[i].next) {
		int32_t id = sym[i].sid == UINT32_MAX ? -1 : v->tok_of_sid[sym[i].sid];
		if (id >= 0) {
			tok_out_push(o, id);
			continue;
		}
		size_t el = byte_level(w + sym[i].off, sym[i].n, sc->enc);
		for (size_t k = 0; k < el; k++) {
			int32_t bt = tok_find(v, sc->enc + k, 1);
			if (bt >= 0)
				tok_out_push(o, bt);
		}
	}
}

int tok_bpe_fragment(const hearth_vocab *v, const char *text, size_t len, struct tok_out *o, struct tok_cache *c)
{
	if (len == 0)
		return 0;
	if (len > INT32_MAX / 8)
		return hx_err(HEARTH_ELIMIT, "text fragment too long to tokenize (%zu bytes)", len);
	uint32_t *cpts = hx_malloc(len * sizeof *cpts);
	size_t *lens = hx_malloc(len * sizeof *lens);
	size_t *tmp = hx_malloc(len * sizeof *tmp);
	char *word = NULL;
	struct bpe_scratch sc = {0};
	int rc = HEARTH_ENOMEM;
	if (!cpts || !lens || !tmp)
		goto out;
	size_t nc = tok_utf8_decode(text, len, cpts);
	size_t nw = tok_pretokenize(v->pre, cpts, nc, lens, tmp);
	/* the longest word in bytes (a U+FFFD replacement may be longer than its byte) */
	size_t maxb = 0, start = 0;
	for (size_t w = 0; w < nw; w++) {
		size_t b = 0;
		for (size_t k = start; k < start + lens[w]; k++)
			b += cpts[k] < 0x80 ? 1 : cpts[k] < 0x800 ? 2 : cpts[k] < 0x10000 ? 3 : 4;
		maxb = HX_MAX(maxb, b);
		start += lens[w];
	}
	word = hx_malloc(maxb + 1);
	sc.sym = hx_malloc((maxb + 1) * sizeof *sc.sym);
	sc.heap.a = hx_malloc((3 * maxb + 1) * sizeof *sc.heap.a);
	sc.enc = hx_malloc(2 * maxb + 8);
	if (!word || !sc.sym || !sc.heap.a || !sc.enc)
		goto out;
	start = 0;
	for (size_t w = 0; w < nw; w++) {
		size_t b = 0;
		for (size_t k = start; k < start + lens[w]; k++)
			b += tok_utf8_encode(cpts[k], word + b);
		start += lens[w];
		if (tok_cache_get(c, word, b, o))
			continue;
		size_t before = o->n;
		bpe_word(v, word, b, &sc, o);
		if (!o->oom)
			tok_cache_put(c, word, b, o->ids + before, o->n - before);
	}
	rc = o->oom ? HEARTH_ENOMEM : 0;
out:
	free(cpts);
	free(lens);
	free(tmp);
	free(word);
	free(sc.sym);
	free(sc.heap.a);
	free(sc.enc);
	return rc;
}
