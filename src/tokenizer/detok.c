/*
 * detok.c - token pieces and the streaming detokenizer.
 *
 * Pieces follow llama.cpp's token_to_piece: CONTROL, UNKNOWN and USER_DEFINED
 * tokens render as their text (CONTROL/UNKNOWN only when special rendering is
 * asked for); NORMAL tokens are un-escaped (SPM, WPM: U+2581 -> ' '; BPE: GPT-2
 * byte-level characters -> bytes); SPM BYTE tokens <0xNN> give that byte; other
 * types render as nothing.  All pieces are computed once at load time.
 *
 * The streaming detokenizer concatenates pieces and releases only complete,
 * valid UTF-8: the bytes of a sequence that is still incomplete are held (at most
 * 3), and bytes that can never be valid become U+FFFD.
 */
#include "tokenizer/tokenizer.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct growbuf {
	char *p;
	size_t n, cap;
};

static int gb_put(struct growbuf *b, const char *s, size_t len)
{
	if (len == 0)
		return 0;
	if (b->n + len > b->cap) {
		size_t nc = b->cap ? b->cap : 256;
		while (nc < b->n + len)
			nc *= 2;
		char *q = hx_realloc(b->p, nc);
		if (!q)
			return HEARTH_ENOMEM;
		b->p = q;
		b->cap = nc;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int piece_of(const hearth_vocab *v, int32_t id, struct growbuf *b)
{
	const struct tok_token *t = &v->tok[id];
	const char *text = v->pool + t->off;
	switch (t->type) {
	case HEARTH_TOKEN_CONTROL:
	case HEARTH_TOKEN_UNKNOWN:
	case HEARTH_TOKEN_USER_DEFINED:
		return gb_put(b, text, t->len);
	case HEARTH_TOKEN_NORMAL:
		break;
	case HEARTH_TOKEN_BYTE:
		if (v->type != HEARTH_VOCAB_BPE) {
			/* llama.cpp: strtol of the two characters after "<0x" */
			if (t->len >= 5) {
				int hi = hexval(text[3]), lo = hexval(text[4]);
				char c;
				if (hi >= 0 && lo >= 0)
					c = (char)(hi * 16 + lo);
				else if (hi >= 0)
					c = (char)hi;
				else
					c = 0;
				return gb_put(b, &c, 1);
			}
			char z = 0;
			return gb_put(b, &z, 1);
		}
		return 0;
	default:
		return 0;
	}
	if (v->type != HEARTH_VOCAB_BPE) { /* SPM and WPM: U+2581 is the space */
		for (uint32_t i = 0; i < t->len; i++) {
			if (i + 2 < t->len && memcmp(text + i, "\xE2\x96\x81", 3) == 0) {
				if (gb_put(b, " ", 1))
					return HEARTH_ENOMEM;
				i += 2;
			} else if (gb_put(b, text + i, 1)) {
				return HEARTH_ENOMEM;
			}
		}
		return 0;
	}
	/* BPE: byte-level decode; characters outside the map are kept as llama.cpp's
	 * "[UNK_BYTE_0x..<text>]" marker. */
	uint32_t cps[64];
	uint32_t *cp = t->len <= 64 ? cps : hx_malloc(t->len * sizeof *cp);
	if (!cp)
		return HEARTH_ENOMEM;
	size_t n = tok_utf8_decode(text, t->len, cp);
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		int byte = tok_cpt_to_byte(cp[i]);
		if (byte >= 0) {
			char c = (char)byte;
			rc = gb_put(b, &c, 1);
		} else {
			char enc[4], hex[32];
			size_t el = tok_utf8_encode(cp[i], enc);
			rc = gb_put(b, "[UNK_BYTE_0x", 12);
			for (size_t k = 0; k < el && !rc; k++) {
				snprintf(hex, sizeof hex, "%02x", (uint8_t)enc[k]);
				rc = gb_put(b, hex, 2);
			}
			if (!rc)
				rc = gb_put(b, text, t->len);
			if (!rc)
				rc = gb_put(b, "]", 1);
		}
	}
	if (cp != cps)
		free(cp);
	return rc;
}

int tok_build_pieces(hearth_vocab *v)
{
	struct growbuf b = {0};
	for (int32_t i = 0; i < v->n_tokens; i++) {
		size_t before = b.n;
		if (piece_of(v, i, &b)) {
			free(b.p);
			return HEARTH_ENOMEM;
		}
		if (b.n > UINT32_MAX) {
			free(b.p);
			return hx_err(HEARTH_ELIMIT, "vocabulary pieces exceed 4 GiB");
		}
		v->tok[i].piece_off = (uint32_t)before;
		v->tok[i].piece_len = (uint32_t)(b.n - before);
	}
	v->pieces = b.p ? b.p : hx_malloc(1);
	return v->pieces ? 0 : HEARTH_ENOMEM;
}

hearth_str hearth_token_piece(const hearth_vocab *v, int32_t id, bool special)
{
	hearth_str s = {"", 0};
	if (!v || id < 0 || id >= v->n_tokens)
		return s;
	const struct tok_token *t = &v->tok[id];
	if (!special && (t->type == HEARTH_TOKEN_CONTROL || t->type == HEARTH_TOKEN_UNKNOWN))
		return s;
	s.ptr = v->pieces + t->piece_off;
	s.len = t->piece_len;
	return s;
}

/* ---------------------------------------------------------------------------------
 * Streaming
 * ------------------------------------------------------------------------------- */

struct hearth_detok {
	const hearth_vocab *v;
	unsigned flags;
	bool started;
	uint8_t pend[4];
	size_t n_pend;
	struct growbuf out;
	struct growbuf in;
};

int hearth_detok_create(const hearth_vocab *v, unsigned flags, hearth_detok **out)
{
	if (!v || !out)
		return hx_err(HEARTH_EINVAL, "hearth_detok_create: NULL argument");
	hearth_detok *d = hx_calloc(1, sizeof *d);
	if (!d)
		return HEARTH_ENOMEM;
	d->v = v;
	d->flags = flags;
	*out = d;
	return 0;
}

void hearth_detok_free(hearth_detok *d)
{
	if (!d)
		return;
	free(d->out.p);
	free(d->in.p);
	free(d);
}

void hearth_detok_reset(hearth_detok *d)
{
	d->started = false;
	d->n_pend = 0;
}

static const char k_fffd[3] = {(char)0xEF, (char)0xBF, (char)0xBD};

/* Length of the valid UTF-8 sequence starting at s[0..n): >0 complete sequence,
 * 0 valid-so-far but incomplete, -k invalid (replace the first k bytes by U+FFFD). */
static int utf8_seq(const uint8_t *s, size_t n)
{
	uint8_t b = s[0];
	if (b < 0x80)
		return 1;
	int need;
	uint8_t lo = 0x80, hi = 0xBF;
	if (b >= 0xC2 && b <= 0xDF)
		need = 1;
	else if (b >= 0xE0 && b <= 0xEF) {
		need = 2;
		if (b == 0xE0)
			lo = 0xA0;
		if (b == 0xED)
			hi = 0x9F;
	} else if (b >= 0xF0 && b <= 0xF4) {
		need = 3;
		if (b == 0xF0)
			lo = 0x90;
		if (b == 0xF4)
			hi = 0x8F;
	} else {
		return -1;
	}
	for (int k = 1; k <= need; k++) {
		if ((size_t)k >= n)
			return 0;
		uint8_t c = s[k];
		if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF))
			return -k;
	}
	return need + 1;
}

/* Moves complete text from d->in to d->out, keeping an incomplete tail in pend. */
static int drain(hearth_detok *d, bool final)
{
	const uint8_t *s = (const uint8_t *)d->in.p;
	size_t n = d->in.n, i = 0;
	d->out.n = 0;
	while (i < n) {
		int r = utf8_seq(s + i, n - i);
		if (r > 0) {
			if (gb_put(&d->out, (const char *)s + i, (size_t)r))
				return HEARTH_ENOMEM;
			i += (size_t)r;
		} else if (r < 0) {
			if (gb_put(&d->out, k_fffd, 3))
				return HEARTH_ENOMEM;
			i += (size_t)-r;
		} else if (final) {
			if (gb_put(&d->out, k_fffd, 3))
				return HEARTH_ENOMEM;
			i = n;
		} else {
			d->n_pend = n - i;
			memcpy(d->pend, s + i, d->n_pend);
			d->in.n = 0;
			return 0;
		}
	}
	d->n_pend = 0;
	d->in.n = 0;
	return 0;
}

int hearth_detok_push(hearth_detok *d, int32_t id, const char **text, size_t *len)
{
	*text = "";
	*len = 0;
	if (id < 0 || id >= d->v->n_tokens)
		return hx_err(HEARTH_EINVAL, "detokenize: token id %d is out of range (%d tokens)", id, d->v->n_tokens);
	bool first = !d->started;
	d->started = true;
	bool strip = first && (d->flags & HEARTH_DETOK_STRIP_SPACE) && d->v->add_space_prefix;
	if (first && (d->flags & HEARTH_DETOK_SKIP_BOS) && id == d->v->bos)
		return 0; /* like llama.cpp: after a removed BOS the space is kept */
	hearth_str p = hearth_token_piece(d->v, id, (d->flags & HEARTH_DETOK_SPECIAL) != 0);
	if (strip && p.len && p.ptr[0] == ' ') {
		p.ptr++;
		p.len--;
	}
	d->in.n = 0;
	if (gb_put(&d->in, (const char *)d->pend, d->n_pend) || gb_put(&d->in, p.ptr, p.len))
		return HEARTH_ENOMEM;
	d->n_pend = 0;
	int rc = drain(d, false);
	if (rc)
		return rc;
	*text = d->out.n ? d->out.p : "";
	*len = d->out.n;
	return 0;
}

int hearth_detok_flush(hearth_detok *d, const char **text, size_t *len)
{
	*text = "";
	*len = 0;
	d->in.n = 0;
	if (gb_put(&d->in, (const char *)d->pend, d->n_pend))
		return HEARTH_ENOMEM;
	int rc = drain(d, true);
	hearth_detok_reset(d);
	if (rc)
		return rc;
	*text = d->out.n ? d->out.p : "";
	*len = d->out.n;
	return 0;
}

int hearth_detokenize(const hearth_vocab *v, const int32_t *ids, size_t n, unsigned flags, char **out,
                      size_t *out_len)
{
	if (!v || (!ids && n) || !out)
		return hx_err(HEARTH_EINVAL, "hearth_detokenize: NULL argument");
	*out = NULL;
	hearth_detok *d;
	int rc = hearth_detok_create(v, flags, &d);
	if (rc)
		return rc;
	struct growbuf r = {0};
	const char *t;
	size_t tl;
	for (size_t i = 0; i < n && !rc; i++) {
		rc = hearth_detok_push(d, ids[i], &t, &tl);
		if (!rc)
			rc = gb_put(&r, t, tl);
	}
	if (!rc)
		rc = hearth_detok_flush(d, &t, &tl);
	if (!rc)
		rc = gb_put(&r, t, tl);
	if (!rc)
		rc = gb_put(&r, "", 1);
	hearth_detok_free(d);
	if (rc) {
		free(r.p);
		return rc;
	}
	*out = r.p;
	if (out_len)
		*out_len = r.n - 1;
	return 0;
}
