/*
 * pretok.c - BPE pre-tokenizers: hand-written matchers equivalent to the regular
 * expressions llama.cpp applies for each `tokenizer.ggml.pre`, plus the Unicode
 * helpers they need (categories from utf8proc, White_Space, UTF-8, GPT-2 byte map).
 *
 * llama.cpp splits text with a list of regexes applied in turn: each regex splits
 * every current word into its matches and the unmatched gaps between them (both
 * kept as words).  Two of the regexes (GPT-2's and Llama-3's) have hand-written
 * implementations in llama.cpp and are reproduced here; the others run through
 * std::regex (ECMAScript: leftmost match, first alternative that matches) with
 * non-ASCII White_Space characters mapped to \v so that \s matches them.  The
 * matchers below follow those semantics, including the quirks (U+3000 does not
 * match a class listing it once it became \v, "\s+$" anchors at the word end).
 * Every matcher is linear in the word length.
 */
#include "tokenizer/tokenizer.h"
#include "util/util.h"

#include <pthread.h>
#include <utf8proc.h>

/* ---------------------------------------------------------------------------------
 * Unicode helpers
 * ------------------------------------------------------------------------------- */

static bool is_white_space(uint32_t cp)
{
	if (cp <= 0x20)
		return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
	if (cp < 0x85)
		return false;
	return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

static unsigned flags_slow(uint32_t cp)
{
	unsigned f = 0;
	if (cp > 0x10FFFF)
		return TOK_CPT_UNDEFINED;
	switch (utf8proc_category((utf8proc_int32_t)cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
		f = TOK_CPT_LETTER;
		break;
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME:
		f = TOK_CPT_MARK;
		break;
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		f = TOK_CPT_NUMBER;
		break;
	case UTF8PROC_CATEGORY_PC:
	case UTF8PROC_CATEGORY_PD:
	case UTF8PROC_CATEGORY_PS:
	case UTF8PROC_CATEGORY_PE:
	case UTF8PROC_CATEGORY_PI:
	case UTF8PROC_CATEGORY_PF:
	case UTF8PROC_CATEGORY_PO:
		f = TOK_CPT_PUNCT;
		break;
	case UTF8PROC_CATEGORY_SM:
	case UTF8PROC_CATEGORY_SC:
	case UTF8PROC_CATEGORY_SK:
	case UTF8PROC_CATEGORY_SO:
		f = TOK_CPT_SYMBOL;
		break;
	case UTF8PROC_CATEGORY_ZS:
	case UTF8PROC_CATEGORY_ZL:
	case UTF8PROC_CATEGORY_ZP:
		f = TOK_CPT_SEPARATOR;
		break;
	case UTF8PROC_CATEGORY_CC:
	case UTF8PROC_CATEGORY_CF:
	case UTF8PROC_CATEGORY_CS:
	case UTF8PROC_CATEGORY_CO:
		f = TOK_CPT_CONTROL;
		break;
	default:
		f = TOK_CPT_UNDEFINED;
		break;
	}
	if (is_white_space(cp))
		f |= TOK_CPT_SPACE;
	return f;
}

/* ASCII is by far the most frequent input: a table for it, and the inverse GPT-2
 * byte map, filled once (pthread_once: tokenizers may run on several threads). */
static uint32_t byte_to_cpt_slow(uint8_t b);
static uint16_t g_ascii_flags[128];
static uint16_t g_byte_cpt[256];
static int16_t g_cpt_byte[324];
static pthread_once_t g_tables_once = PTHREAD_ONCE_INIT;

static void init_tables(void)
{
	for (uint32_t c = 0; c < 128; c++)
		g_ascii_flags[c] = (uint16_t)flags_slow(c);
	for (int i = 0; i < 324; i++)
		g_cpt_byte[i] = -1;
	for (int b = 0; b < 256; b++) {
		g_byte_cpt[b] = (uint16_t)byte_to_cpt_slow((uint8_t)b);
		g_cpt_byte[g_byte_cpt[b]] = (int16_t)b;
	}
}

void tok_unicode_init(void)
{
	pthread_once(&g_tables_once, init_tables);
}

unsigned tok_cpt_flags(uint32_t cp)
{
	return cp < 128 ? g_ascii_flags[cp] : flags_slow(cp);
}

size_t tok_utf8_len(uint8_t lead)
{
	static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
	return lookup[lead >> 4];
}

size_t tok_utf8_decode(const char *str, size_t len, uint32_t *cpts)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t n = 0, i = 0;
	while (i < len) {
		uint8_t b = s[i];
		if (b < 0x80) {
			cpts[n++] = b;
			i++;
			continue;
		}
		/* llama.cpp's unicode_cpt_from_utf8: checks the lead pattern and that the
		 * continuation bytes exist and are 10xxxxxx (no overlong/surrogate checks). */
		size_t need;
		uint32_t cp;
		if ((b & 0xE0) == 0xC0) {
			need = 1;
			cp = b & 0x1F;
		} else if ((b & 0xF0) == 0xE0) {
			need = 2;
			cp = b & 0x0F;
		} else if ((b & 0xF8) == 0xF0) {
			need = 3;
			cp = b & 0x07;
		} else {
			cpts[n++] = 0xFFFD;
			i++;
			continue;
		}
		bool ok = i + need < len;
		if (ok) {
			for (size_t k = 1; k <= need; k++) {
				if ((s[i + k] & 0xC0) != 0x80) {
					ok = false;
					break;
				}
				cp = (cp << 6) | (s[i + k] & 0x3F);
			}
		}
		if (!ok) {
			cpts[n++] = 0xFFFD;
			i++;
			continue;
		}
		cpts[n++] = cp;
		i += need + 1;
	}
	return n;
}

size_t tok_utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | ((cp >> 18) & 0x07));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* GPT-2's byte <-> printable code point map: bytes '!'..'~', 0xA1..0xAC and
 * 0xAE..0xFF stand for themselves; the other 68 bytes map to 256, 257, ... in order. */
static uint32_t byte_to_cpt_slow(uint8_t b)
{
	if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE))
		return b;
	uint32_t k = 0;
	for (unsigned c = 0; c < b; c++)
		if (!((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE)))
			k++;
	return 256 + k;
}

uint32_t tok_byte_to_cpt(uint8_t b)
{
	return g_byte_cpt[b];
}

int tok_cpt_to_byte(uint32_t cp)
{
	return cp < 324 ? g_cpt_byte[cp] : -1;
}

/* ---------------------------------------------------------------------------------
 * Splitting machinery
 * ------------------------------------------------------------------------------- */

#define OOR 0xFFFFFFFFu

struct split {
	const uint32_t *c;
	size_t *out;
	size_t n_out;
	size_t prev_end;
};

static void emit_to(struct split *s, size_t end)
{
	if (end > s->prev_end)
		s->out[s->n_out++] = end - s->prev_end;
	s->prev_end = end;
}

static inline uint32_t cpt_at(const uint32_t *c, size_t ini, size_t end, size_t p)
{
	return p >= ini && p < end ? c[p] : OOR;
}

static inline unsigned flags_at(const uint32_t *c, size_t ini, size_t end, size_t p)
{
	return p >= ini && p < end ? tok_cpt_flags(c[p]) : 0u;
}

/* llama.cpp's unicode_regex_split_custom_gpt2 over the word [ini, end). */
static void split_gpt2(struct split *s, size_t ini, size_t end)
{
	const uint32_t *c = s->c;
#define CPT(p) cpt_at(c, ini, end, (p))
#define FL(p) flags_at(c, ini, end, (p))
	s->prev_end = ini;
	size_t pos = ini;
	while (pos < end) {
		uint32_t cpt = c[pos];
		unsigned flags = tok_cpt_flags(cpt);
		if (cpt == '\'' && pos + 1 < end) {
			uint32_t n1 = c[pos + 1];
			if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') {
				pos += 2;
				emit_to(s, pos);
				continue;
			}
			if (pos + 2 < end) {
				uint32_t n2 = c[pos + 2];
				if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) {
					pos += 3;
					emit_to(s, pos);
					continue;
				}
			}
		}
		unsigned f2 = cpt == ' ' ? FL(pos + 1) : flags;
		if (f2 & TOK_CPT_LETTER) {
			pos += cpt == ' ';
			while (f2 & TOK_CPT_LETTER)
				f2 = FL(++pos);
			emit_to(s, pos);
			continue;
		}
		if (f2 & TOK_CPT_NUMBER) {
			pos += cpt == ' ';
			while (f2 & TOK_CPT_NUMBER)
				f2 = FL(++pos);
			emit_to(s, pos);
			continue;
		}
		if (!(f2 & (TOK_CPT_SPACE | TOK_CPT_LETTER | TOK_CPT_NUMBER)) && f2) {
			pos += cpt == ' ';
			while (!(f2 & (TOK_CPT_SPACE | TOK_CPT_LETTER | TOK_CPT_NUMBER)) && f2)
				f2 = FL(++pos);
			emit_to(s, pos);
			continue;
		}
		size_t nws = 0;
		while (FL(pos + nws) & TOK_CPT_SPACE)
			nws++;
		if (nws > 1 && CPT(pos + nws) != OOR) {
			pos += nws - 1;
			emit_to(s, pos);
			continue;
		}
		if (nws > 0) {
			pos += nws;
			emit_to(s, pos);
			continue;
		}
		emit_to(s, ++pos);
	}
}

static uint32_t ascii_lower(uint32_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* llama.cpp's unicode_regex_split_custom_llama3 over [ini, end); max_digits is 3
 * for Llama 3 (\p{N}{1,3}) and 1 for Qwen2's regex (\p{N}), which otherwise
 * has the same shape and ECMAScript semantics. */
static void split_llama3(struct split *s, size_t ini, size_t end, size_t max_digits)
{
	const uint32_t *c = s->c;
	s->prev_end = ini;
	size_t pos = ini;
	while (pos < end) {
		uint32_t cpt = c[pos];
		unsigned flags = tok_cpt_flags(cpt);
		if (cpt == '\'' && pos + 1 < end) {
			uint32_t n1 = ascii_lower(c[pos + 1]);
			if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') {
				pos += 2;
				emit_to(s, pos);
				continue;
			}
			if (pos + 2 < end) {
				uint32_t n2 = ascii_lower(c[pos + 2]);
				if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) {
					pos += 3;
					emit_to(s, pos);
					continue;
				}
			}
		}
		if (!(cpt == '\r' || cpt == '\n' || (flags & TOK_CPT_NUMBER))) {
			if ((flags & TOK_CPT_LETTER) || (FL(pos + 1) & TOK_CPT_LETTER)) {
				pos++;
				while (FL(pos) & TOK_CPT_LETTER)
					pos++;
				emit_to(s, pos);
				continue;
			}
		}
		if (flags & TOK_CPT_NUMBER) {
			size_t i0 = pos;
			while (FL(pos) & TOK_CPT_NUMBER) {
				if (++pos - i0 >= max_digits) {
					emit_to(s, pos);
					i0 = pos;
				}
			}
			emit_to(s, pos);
			continue;
		}
		unsigned f2 = cpt == ' ' ? FL(pos + 1) : flags;
		if (!(f2 & (TOK_CPT_SPACE | TOK_CPT_LETTER | TOK_CPT_NUMBER)) && flags) {
			pos += cpt == ' ';
			while (!(f2 & (TOK_CPT_SPACE | TOK_CPT_LETTER | TOK_CPT_NUMBER)) && f2)
				f2 = FL(++pos);
			uint32_t c2 = CPT(pos);
			while (c2 == '\r' || c2 == '\n')
				c2 = CPT(++pos);
			emit_to(s, pos);
			continue;
		}
		size_t nws = 0, last_rn = 0;
		while (FL(pos + nws) & TOK_CPT_SPACE) {
			uint32_t c2 = c[pos + nws];
			if (c2 == '\r' || c2 == '\n')
				last_rn = pos + nws + 1;
			nws++;
		}
		if (last_rn > 0) {
			pos = last_rn;
			emit_to(s, pos);
			continue;
		}
		if (nws > 1 && CPT(pos + nws) != OOR) {
			pos += nws - 1;
			emit_to(s, pos);
			continue;
		}
		if (nws > 0) {
			pos += nws;
			emit_to(s, pos);
			continue;
		}
		emit_to(s, ++pos);
	}
#undef CPT
#undef FL
}

/* A std::regex step: `match` returns the length of the match starting exactly at p
 * (0: none).  Matches never are empty.  The word is split into matches and gaps. */
typedef size_t (*match_fn)(const uint32_t *c, size_t p, size_t end);

static void split_regex(struct split *s, size_t ini, size_t end, match_fn match)
{
	s->prev_end = ini;
	size_t p = ini;
	while (p < end) {
		size_t m = match(s->c, p, end);
		if (m) {
			emit_to(s, p); /* gap */
			emit_to(s, p + m);
			p += m;
		} else {
			p++;
		}
	}
	emit_to(s, end);
}

/* \s as std::regex sees it after llama.cpp's mapping (ASCII space chars, and every
 * non-ASCII White_Space mapped to \v): exactly Unicode White_Space. */
static bool re_space(uint32_t c)
{
	return is_white_space(c);
}

/* The value std::wregex compares against character ranges. */
static uint32_t wconv(uint32_t c)
{
	return c > 0x7F && is_white_space(c) ? 0x0B : c;
}

static bool cls_falcon_punct(uint32_t c)
{
	/* [\p{P}\$\+<=>\^~\|`] */
	if (c < 128)
		return (tok_cpt_flags(c) & TOK_CPT_PUNCT) || c == '$' || c == '+' || c == '<' || c == '=' ||
		       c == '>' || c == '^' || c == '~' || c == '|' || c == '`';
	return !is_white_space(c) && (tok_cpt_flags(c) & TOK_CPT_PUNCT);
}

static size_t m_falcon_punct(const uint32_t *c, size_t p, size_t end)
{
	size_t q = p;
	while (q < end && cls_falcon_punct(c[q]))
		q++;
	return q - p;
}

static bool is_num(uint32_t c)
{
	return (tok_cpt_flags(c) & TOK_CPT_NUMBER) != 0;
}

static size_t m_num_plus(const uint32_t *c, size_t p, size_t end)
{
	size_t q = p;
	while (q < end && is_num(c[q]))
		q++;
	return q - p;
}

static size_t m_num_one(const uint32_t *c, size_t p, size_t end)
{
	(void)end;
	return is_num(c[p]) ? 1 : 0;
}

static size_t m_ascii_digits3(const uint32_t *c, size_t p, size_t end)
{
	if (p + 3 <= end && c[p] >= '0' && c[p] <= '9' && c[p + 1] >= '0' && c[p + 1] <= '9' && c[p + 2] >= '0' &&
	    c[p + 2] <= '9')
		return 3;
	return 0;
}

static size_t m_cr_or_lf(const uint32_t *c, size_t p, size_t end)
{
	(void)end;
	return c[p] == '\r' || c[p] == '\n';
}

/* \s?X+ with ECMAScript backtracking. */
static size_t m_opt_space_run(const uint32_t *c, size_t p, size_t end, bool (*cls)(uint32_t))
{
	size_t q = p;
	if (re_space(c[q]) && q + 1 < end && cls(c[q + 1]))
		q++;
	size_t r = q;
	while (r < end && cls(c[r]))
		r++;
	return r > q ? r - p : 0;
}

static bool cls_letter(uint32_t c)
{
	return (tok_cpt_flags(c) & TOK_CPT_LETTER) != 0;
}

static bool cls_punct(uint32_t c)
{
	/* \p{P} on llama.cpp's collapsed text: ASCII per its map (= Unicode P) */
	return !(c > 0x7F && is_white_space(c)) && (tok_cpt_flags(c) & TOK_CPT_PUNCT);
}

static size_t m_space_letters(const uint32_t *c, size_t p, size_t end)
{
	return m_opt_space_run(c, p, end, cls_letter);
}

static size_t m_space_punct(const uint32_t *c, size_t p, size_t end)
{
	return m_opt_space_run(c, p, end, cls_punct);
}

/* deepseek-llm's explicit cased-letter class (as written in llama.cpp). */
static const uint32_t k_dsl_letters[][2] = {
	{0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA},
	{0x1BC, 0x1BF}, {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377},
	{0x37B, 0x37D}, {0x37F, 0x37F}, {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C},
	{0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481}, {0x48A, 0x52F}, {0x531, 0x556},
	{0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF},
	{0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D},
	{0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B},
	{0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE},
	{0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC},
	{0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102}, {0x2107, 0x2107}, {0x210A, 0x2113},
	{0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126}, {0x2128, 0x2128},
	{0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149},
	{0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE},
	{0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F}, {0xA771, 0xA787},
	{0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFF21, 0xFF3A},
	{0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
	{0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};

static bool in_ranges(uint32_t c, const uint32_t (*r)[2], size_t n)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c < r[mid][0])
			hi = mid;
		else if (c > r[mid][1])
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static bool cls_dsl_letter(uint32_t c)
{
	return in_ranges(wconv(c), k_dsl_letters, HX_ARRAY_LEN(k_dsl_letters));
}

static bool cls_dsl_punct(uint32_t c)
{
	/* [!-/:-~！-／：-～‘-‟　-。] */
	c = wconv(c);
	return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x7E) || (c >= 0xFF01 && c <= 0xFF0F) ||
	       (c >= 0xFF1A && c <= 0xFF5E) || (c >= 0x2018 && c <= 0x201F) || (c >= 0x3000 && c <= 0x3002);
}

static bool cls_cjk(uint32_t c)
{
	/* [一-龥ࠀ-一가-퟿] */
	c = wconv(c);
	return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x0800 && c <= 0x4E00) || (c >= 0xAC00 && c <= 0xD7FF);
}

static size_t m_dsl_letters(const uint32_t *c, size_t p, size_t end)
{
	return m_opt_space_run(c, p, end, cls_dsl_letter);
}

static size_t m_dsl_punct(const uint32_t *c, size_t p, size_t end)
{
	return m_opt_space_run(c, p, end, cls_dsl_punct);
}

static size_t m_cjk(const uint32_t *c, size_t p, size_t end)
{
	size_t q = p;
	while (q < end && cls_cjk(c[q]))
		q++;
	return q - p;
}

/* "\s+$": only the trailing white-space run of the word can match; searching from
 * any earlier position finds it, so the split is done directly (linear). */
static void split_trailing_space(struct split *s, size_t ini, size_t end)
{
	size_t q = end;
	while (q > ini && re_space(s->c[q - 1]))
		q--;
	s->prev_end = ini;
	emit_to(s, q);
	emit_to(s, end);
}

enum step_kind { STEP_GPT2, STEP_LLAMA3, STEP_QWEN2, STEP_REGEX, STEP_TRAILING_SPACE };

struct step {
	enum step_kind kind;
	match_fn match;
};

static size_t steps_for(enum tok_pre pre, struct step *st)
{
	size_t n = 0;
#define ADD(k, m) (st[n].kind = (k), st[n].match = (m), n++)
	switch (pre) {
	case TOK_PRE_LLAMA3:
		ADD(STEP_LLAMA3, NULL);
		break;
	case TOK_PRE_QWEN2:
		ADD(STEP_QWEN2, NULL);
		break;
	case TOK_PRE_DEEPSEEK_LLM:
		ADD(STEP_REGEX, m_cr_or_lf);
		ADD(STEP_REGEX, m_dsl_letters);
		ADD(STEP_REGEX, m_dsl_punct);
		ADD(STEP_TRAILING_SPACE, NULL);
		ADD(STEP_REGEX, m_cjk);
		ADD(STEP_REGEX, m_num_plus);
		break;
	case TOK_PRE_DEEPSEEK_CODER:
		ADD(STEP_REGEX, m_cr_or_lf);
		ADD(STEP_REGEX, m_space_letters);
		ADD(STEP_REGEX, m_space_punct);
		ADD(STEP_REGEX, m_cjk);
		ADD(STEP_REGEX, m_num_one);
		break;
	case TOK_PRE_FALCON:
		ADD(STEP_REGEX, m_falcon_punct);
		ADD(STEP_GPT2, NULL);
		ADD(STEP_REGEX, m_ascii_digits3);
		break;
	case TOK_PRE_STARCODER:
	case TOK_PRE_REFACT:
	case TOK_PRE_SMOLLM:
		ADD(STEP_REGEX, m_num_one);
		ADD(STEP_GPT2, NULL);
		break;
	case TOK_PRE_GPT2:
	case TOK_PRE_MPT:
		ADD(STEP_GPT2, NULL);
		break;
	case TOK_PRE_DEFAULT:
	case TOK_PRE_NONE:
	default:
		ADD(STEP_REGEX, m_falcon_punct);
		ADD(STEP_GPT2, NULL);
		ADD(STEP_REGEX, m_num_plus);
		ADD(STEP_REGEX, m_ascii_digits3);
		break;
	}
#undef ADD
	return n;
}

size_t tok_pretokenize(enum tok_pre pre, const uint32_t *cpts, size_t n, size_t *lens, size_t *tmp)
{
	if (n == 0)
		return 0;
	struct step steps[8];
	size_t n_steps = steps_for(pre, steps);
	size_t n_words = 1;
	lens[0] = n;
	for (size_t k = 0; k < n_steps; k++) {
		struct split s = {cpts, tmp, 0, 0};
		size_t start = 0;
		for (size_t w = 0; w < n_words; w++) {
			size_t ini = start, end = start + lens[w];
			start = end;
			switch (steps[k].kind) {
			case STEP_GPT2:
				split_gpt2(&s, ini, end);
				break;
			case STEP_LLAMA3:
				split_llama3(&s, ini, end, 3);
				break;
			case STEP_QWEN2:
				split_llama3(&s, ini, end, 1);
				break;
			case STEP_TRAILING_SPACE:
				split_trailing_space(&s, ini, end);
				break;
			case STEP_REGEX:
				split_regex(&s, ini, end, steps[k].match);
				break;
			}
		}
		for (size_t w = 0; w < s.n_out; w++)
			lens[w] = tmp[w];
		n_words = s.n_out;
	}
	return n_words;
}
