/*
 * fuzz_tokenizer.c - libFuzzer harness for the tokenizers.  Input byte 0 picks a
 * vocabulary from testdata/vocab (each loaded once), byte 1 the flags
 * (parse_special, add_special); the rest is the text.  Checks: no crash, the
 * size query (n_max = 0) agrees with the real call, every id is in range, the
 * streaming detokenizer emits only valid UTF-8, and for valid UTF-8 input
 * detokenize(tokenize(x)) == x wherever the tokenizer is lossless (every byte
 * has a token in the vocabulary; for SPM also no special token was produced and
 * the text has no U+2581, which SPM uses for the space).
 * Without testdata (../shared/testdata or $HEARTH_TESTDATA) it does nothing.
 */
#include "hearth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const k_vocabs[] = {
	"ggml-vocab-llama-spm.gguf", "ggml-vocab-qwen2.gguf",        "ggml-vocab-llama-bpe.gguf",
	"ggml-vocab-gpt-2.gguf",     "ggml-vocab-deepseek-llm.gguf", "ggml-vocab-deepseek-coder.gguf",
	"ggml-vocab-falcon.gguf",    "ggml-vocab-starcoder.gguf",    "ggml-vocab-phi-3.gguf",
	"ggml-vocab-gpt-neox.gguf",  "ggml-vocab-bert-bge.gguf",     "ggml-vocab-mpt.gguf",
};
#define N_VOCABS (sizeof k_vocabs / sizeof k_vocabs[0])

static hearth_vocab *g_vocab[N_VOCABS];
static bool g_tried[N_VOCABS];
static bool g_bytes_ok[N_VOCABS]; /* every single byte round-trips */

static bool byte_roundtrips(const hearth_vocab *v, uint8_t b)
{
	int32_t ids[8];
	size_t n;
	char *out = NULL;
	size_t ol = 0;
	bool ok = hearth_tokenize(v, (const char *)&b, 1, false, false, ids, 8, &n) == 0 &&
	          hearth_detokenize(v, ids, n, HEARTH_DETOK_SPECIAL | HEARTH_DETOK_STRIP_SPACE, &out, &ol) == 0;
	/* bytes >= 0x80 alone are invalid UTF-8 and come back as U+FFFD: check they are
	 * at least not dropped */
	ok = ok && (b < 0x80 ? (ol == 1 && (uint8_t)out[0] == b) : ol > 0);
	free(out);
	return ok;
}

static hearth_vocab *get_vocab(size_t i)
{
	if (g_tried[i])
		return g_vocab[i];
	g_tried[i] = true;
	const char *td = getenv("HEARTH_TESTDATA");
	char path[4096];
	snprintf(path, sizeof path, "%s/vocab/%s", td && td[0] ? td : "../shared/testdata", k_vocabs[i]);
	hearth_gguf *g;
	if (hearth_gguf_open(path, &g) != 0)
		return NULL;
	if (hearth_vocab_load(g, &g_vocab[i]) != 0)
		g_vocab[i] = NULL;
	g_bytes_ok[i] = g_vocab[i] != NULL;
	for (int b = 0; b < 256 && g_bytes_ok[i]; b++)
		g_bytes_ok[i] = byte_roundtrips(g_vocab[i], (uint8_t)b);
	hearth_gguf_free(g); /* the vocabulary keeps its own copy */
	return g_vocab[i];
}

/* Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF). */
static bool valid_utf8(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t b = s[i];
		size_t need;
		uint8_t lo = 0x80, hi = 0xBF;
		if (b < 0x80) {
			i++;
			continue;
		} else if (b >= 0xC2 && b <= 0xDF) {
			need = 1;
		} else if (b >= 0xE0 && b <= 0xEF) {
			need = 2;
			lo = b == 0xE0 ? 0xA0 : 0x80;
			hi = b == 0xED ? 0x9F : 0xBF;
		} else if (b >= 0xF0 && b <= 0xF4) {
			need = 3;
			lo = b == 0xF0 ? 0x90 : 0x80;
			hi = b == 0xF4 ? 0x8F : 0xBF;
		} else {
			return false;
		}
		if (i + need >= n)
			return false;
		for (size_t k = 1; k <= need; k++) {
			uint8_t c = s[i + k];
			if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF))
				return false;
		}
		i += need + 1;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t vi = data[0] % N_VOCABS;
	bool parse_special = data[1] & 1, add_special = (data[1] >> 1) & 1;
	hearth_vocab *v = get_vocab(vi);
	if (!v)
		return 0;
	/* copy so that reads past the text are caught */
	size_t len = size - 2;
	char *text = malloc(len ? len : 1);
	if (!text)
		return 0;
	memcpy(text, data + 2, len);

	size_t n = 0, n2 = 0;
	int rc = hearth_tokenize(v, text, len, add_special, parse_special, NULL, 0, &n);
	if (rc != 0 && rc != HEARTH_ELIMIT)
		abort();
	int32_t *ids = malloc((n + 1) * sizeof *ids);
	if (!ids || hearth_tokenize(v, text, len, add_special, parse_special, ids, n, &n2) != 0 || n2 != n)
		abort();
	bool any_special = false;
	for (size_t i = 0; i < n; i++) {
		int t = hearth_vocab_token_type(v, ids[i]);
		if (t < 0)
			abort();
		if (t == HEARTH_TOKEN_CONTROL || t == HEARTH_TOKEN_USER_DEFINED || t == HEARTH_TOKEN_UNKNOWN)
			any_special = true;
	}
	char *out = NULL;
	size_t ol = 0;
	unsigned flags = HEARTH_DETOK_SPECIAL | HEARTH_DETOK_STRIP_SPACE;
	if (hearth_detokenize(v, ids, n, flags, &out, &ol) != 0)
		abort();
	if (!valid_utf8((const uint8_t *)out, ol))
		abort();
	/* lossless: every byte has a token (falcon, for one, lacks some control bytes),
	 * and for SPM no special token split the text (each text fragment after one
	 * gets a space prefix, as in llama.cpp) */
	bool lossless = g_bytes_ok[vi] && (hearth_vocab_type(v) == HEARTH_VOCAB_BPE || !any_special);
	/* SPM: a literal U+2581 in the text is the escaped space, so it comes back as ' ' */
	if (hearth_vocab_type(v) == HEARTH_VOCAB_SPM && len >= 3 && memmem(text, len, "\xE2\x96\x81", 3))
		lossless = false;
	if (!add_special && lossless && valid_utf8(data + 2, len)) {
		if (ol != len || memcmp(out, text, len) != 0) {
			fprintf(stderr, "round trip failed (%s): %zu bytes in, %zu out\n", k_vocabs[vi], len, ol);
			abort();
		}
	}
	free(out);
	free(ids);
	free(text);
	return 0;
}
