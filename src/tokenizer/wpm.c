/*
 * wpm.c - WordPiece (tokenizer.ggml.model = "bert"), as llama.cpp's
 * llm_tokenizer_wpm: the text is decomposed (each code point replaced by the first
 * code point of its canonical decomposition, which drops accents), lower-cased,
 * split at white space, with punctuation, ASCII symbols and CJK ideographs as
 * single-character words and control characters, combining marks (\p{M}), NUL and
 * U+FFFD removed.  Each
 * word gets a U+2581 prefix and is covered greedily by the longest token at each
 * byte position; a word that cannot be covered becomes the unknown token.
 */
#include "tokenizer/tokenizer.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static bool is_chinese_char(uint32_t c)
{
	return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
	       (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
	       (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* First code point of the canonical decomposition (NFD) of c. */
static uint32_t nfd_first(uint32_t c)
{
	if (c < 0xC0)
		return c;
	utf8proc_int32_t buf[8];
	int last = 0;
	utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)c, buf, 8, UTF8PROC_DECOMPOSE, &last);
	return n >= 1 && n <= 8 ? (uint32_t)buf[0] : c;
}

/* Covers "▁" + word greedily with the longest tokens. */
static void wpm_word(const hearth_vocab *v, const char *w, size_t n, struct tok_out *o)
{
	size_t before = o->n;
	size_t i = 0;
	while (i < n) {
		bool match = false;
		size_t j = HX_MIN(n, i + v->max_token_len + 1);
		for (; j > i; j--) {
			int32_t id = tok_find(v, w + i, j - i);
			if (id >= 0) {
				tok_out_push(o, id);
				match = true;
				i = j;
				break;
			}
		}
		if (!match) {
			o->n = before;
			break;
		}
	}
	if (o->n == before && v->unk >= 0)
		tok_out_push(o, v->unk);
}

int tok_wpm_fragment(const hearth_vocab *v, const char *text, size_t len, struct tok_out *o)
{
	if (len == 0)
		return 0;
	if (len > INT32_MAX / 8)
		return hx_err(HEARTH_ELIMIT, "text fragment too long to tokenize (%zu bytes)", len);
	uint32_t *cpts = hx_malloc(len * sizeof *cpts);
	char *word = hx_malloc(4 * len + 4);
	if (!cpts || !word) {
		free(cpts);
		free(word);
		return HEARTH_ENOMEM;
	}
	size_t n = tok_utf8_decode(text, len, cpts);
	size_t wl = 3; /* "▁" prefix already in place */
	memcpy(word, "\xE2\x96\x81", 3);
	for (size_t i = 0; i <= n; i++) {
		if (i == n) {
			if (wl > 3)
				wpm_word(v, word, wl, o);
			break;
		}
		uint32_t c = nfd_first(cpts[i]);
		unsigned f = tok_cpt_flags(c);
		if (f & TOK_CPT_SPACE) {
			if (wl > 3)
				wpm_word(v, word, wl, o);
			wl = 3;
			continue;
		}
		if (c == 0 || c == 0xFFFD || (f & (TOK_CPT_CONTROL | TOK_CPT_MARK)))
			continue;
		uint32_t lc = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
		char enc[4];
		size_t el = tok_utf8_encode(lc, enc);
		if ((f & TOK_CPT_PUNCT) || (c < 0x7F && (f & TOK_CPT_SYMBOL)) || is_chinese_char(c)) {
			if (wl > 3)
				wpm_word(v, word, wl, o);
			memcpy(word + 3, enc, el);
			wpm_word(v, word, 3 + el, o);
			wl = 3;
		} else {
			memcpy(word + wl, enc, el);
			wl += el;
		}
	}
	free(cpts);
	free(word);
	return o->oom ? HEARTH_ENOMEM : 0;
}
