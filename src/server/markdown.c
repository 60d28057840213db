/*
 * markdown.c - Markdown to safe HTML: md4c's parser with our own HTML writer.
 *
 * md4c (CommonMark + the GitHub extensions: tables, strikethrough, task lists,
 * permissive autolinks) reports blocks, spans and text through callbacks; this
 * file writes every tag itself, so the output holds only the elements and
 * attributes listed here:
 *
 *   p h1-h6 blockquote ul ol(start) li(class) input(type class disabled checked)
 *   hr br pre code(class) em strong del a(href rel target title class)
 *   table thead tbody tr th(align) td(align)
 *
 * Raw HTML is turned off in the parser (MD_FLAG_NOHTML), so it arrives as text,
 * and all text and attribute values are escaped (& < > " ').  Invalid UTF-8 and
 * NUL become U+FFFD so the result is always valid UTF-8 (it travels in JSON).
 *
 * URLs are decided on what a browser will see: character references are decoded
 * (numeric ones, a few named ones; any other named one is kept literally, its '&'
 * escaped so the browser does not decode it either), leading and trailing
 * spaces and controls are stripped and tabs and newlines removed, as the URL
 * parser does; then a URL whose first ':' comes before any '/', '?' or '#' must
 * have the scheme http, https or mailto (any case), or it becomes "#".  The
 * checked string is written percent-encoding anything outside the URL
 * characters and HTML-escaping the rest, so the attribute the browser decodes is
 * exactly the string we checked.
 *
 * md4c itself is not trusted to be perfect (0.4.8, as Debian ships it, has
 * known reads past the end of its input and can leave spans unnested): it
 * parses a private copy followed by zero padding, every range it reports is
 * cut at the input's end, and the writer keeps its own stack of open elements,
 * so the output is balanced whatever order the callbacks come in.  The output
 * is bounded (32 x input + 64 KiB): past that the parse is aborted.
 */
#include "server/web.h"
#include "util/util.h"

#include <md4c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MD_INPUT_MAX (16u << 20)
#define MD_OUT_RATIO 32u
#define MD_OUT_SLACK (64u << 10)
#define LANG_MAX 32
#define MD_PAD 64 /* zero bytes after the parsed copy (see srv_markdown_html) */

static const char link_attrs[] = " rel=\"noopener noreferrer nofollow\" target=\"_blank\"";

/* ---- output buffer ---------------------------------------------------------------- */

struct out {
	char *buf;
	size_t len, cap, limit;
	bool fail; /* out of memory or over the limit: the parse is aborted */
	bool over; /* ... because of the limit */
	const char *src; /* the parsed copy of the input, src_len bytes + MD_PAD */
	size_t src_len;
};

static bool reserve(struct out *o, size_t n)
{
	if (o->fail)
		return false;
	if (n > o->limit || o->len > o->limit - n) {
		o->fail = o->over = true;
		return false;
	}
	if (o->len + n + 1 <= o->cap)
		return true;
	size_t cap = o->cap ? o->cap : 256;
	while (cap < o->len + n + 1)
		cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
	char *p = realloc(o->buf, cap);
	if (!p) {
		o->fail = true;
		return false;
	}
	o->buf = p;
	o->cap = cap;
	return true;
}

static void put(struct out *o, const char *s, size_t n)
{
	if (!reserve(o, n))
		return;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = 0;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void putc_(struct out *o, char c)
{
	put(o, &c, 1);
}

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

/* The length of md4c's range (s, n) cut at the end of the input when it points
 * into our copy: md4c 0.4.8 has known reads past the end of its input, which
 * must not reach the output. */
static size_t in_src(const struct out *o, const char *s, size_t n)
{
	if (!o->src || s < o->src || s > o->src + o->src_len + MD_PAD)
		return n;
	if (s >= o->src + o->src_len)
		return 0;
	size_t left = (size_t)(o->src + o->src_len - s);
	return n < left ? n : left;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 (overlong, surrogate,
 * beyond U+10FFFF, truncated, or a stray continuation byte). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	uint32_t cp, min;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Writes text escaped for HTML element content and quoted attribute values. */
static void put_escaped(struct out *o, const char *text, size_t n)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t run = 0; /* start of the pending unescaped run */
	size_t i = 0;
	while (i < n && !o->fail) {
		unsigned char c = s[i];
		const char *rep = NULL;
		size_t adv = 1;
		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case 0: rep = replacement; break;
		default:
			if (c >= 0x80) {
				adv = utf8_seq(s + i, n - i);
				if (adv == 0) {
					rep = replacement;
					adv = 1;
				}
			}
		}
		if (rep) {
			put(o, text + run, i - run);
			puts_(o, rep);
			run = i + adv;
		}
		i += adv;
	}
	put(o, text + run, i - run);
}

char *srv_html_escape(const char *s, size_t n, size_t *len)
{
	struct out o = {.limit = SIZE_MAX};
	if (n > SIZE_MAX / 8 || !reserve(&o, n + n / 4 + 16)) {
		free(o.buf);
		hx_err(HEARTH_ENOMEM, "out of memory escaping %zu bytes", n);
		return NULL;
	}
	o.buf[0] = 0;
	put_escaped(&o, s ? s : "", s ? n : 0);
	if (o.fail) {
		free(o.buf);
		hx_err(HEARTH_ENOMEM, "out of memory escaping %zu bytes", n);
		return NULL;
	}
	if (len)
		*len = o.len;
	return o.buf;
}

/* ---- character references --------------------------------------------------------- */

/* UTF-8 for a code point into b; NUL, surrogates and values beyond U+10FFFF
 * become U+FFFD.  Returns the length. */
static size_t utf8_encode(uint32_t cp, char b[4])
{
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		memcpy(b, replacement, 3);
		return 3;
	}
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (char)(0xf0 | cp >> 18);
	b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	b[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A numeric reference "&#123;" / "&#x7b;": its code point (0 when invalid). */
static bool numeric_ref(const char *s, size_t n, uint32_t *cp)
{
	if (n < 4 || s[0] != '&' || s[1] != '#' || s[n - 1] != ';')
		return false;
	size_t i = 2;
	bool hex = s[i] == 'x' || s[i] == 'X';
	if (hex)
		i++;
	if (i == n - 1)
		return false;
	uint32_t v = 0;
	for (; i < n - 1; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (hex && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (hex && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		v = v * (hex ? 16 : 10) + d;
		if (v > 0x10ffff)
			v = 0x110000; /* stays invalid, cannot overflow */
	}
	*cp = v;
	return true;
}

/* A named reference "&name;" with name = [A-Za-z][A-Za-z0-9]*. */
static bool named_ref(const char *s, size_t n)
{
	if (n < 3 || s[0] != '&' || s[n - 1] != ';')
		return false;
	for (size_t i = 1; i < n - 1; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if (!alpha && !(i > 1 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

/* Writes a reference into text or an attribute value: numeric ones decoded (and
 * escaped), well-formed named ones as they are (the browser decodes them into
 * text, which cannot become markup), anything else escaped literally. */
static void put_entity(struct out *o, const char *s, size_t n)
{
	uint32_t cp;
	char b[4];
	if (numeric_ref(s, n, &cp))
		put_escaped(o, b, utf8_encode(cp, b));
	else if (named_ref(s, n)) {
		put(o, s, n);
	} else {
		put_escaped(o, s, n);
	}
}

/* Named references decoded in URLs; any other stays literal text. */
static const struct {
	const char *name;
	char c;
} url_refs[] = {
	{"&amp;", '&'},    {"&AMP;", '&'},   {"&lt;", '<'},     {"&gt;", '>'},    {"&quot;", '"'},
	{"&apos;", '\''},  {"&colon;", ':'}, {"&sol;", '/'},    {"&quest;", '?'}, {"&num;", '#'},
	{"&equals;", '='}, {"&period;", '.'}, {"&Tab;", '\t'},  {"&NewLine;", '\n'},
};

/* Appends an md4c attribute with its references decoded (the URL as a browser
 * reads it). */
static void decode_attr(struct out *t, const MD_ATTRIBUTE *a)
{
	if (!a->text || !a->substr_offsets || !a->substr_types)
		return;
	size_t size = in_src(t, a->text, a->size);
	for (unsigned i = 0; a->substr_offsets[i] < size; i++) {
		const char *s = a->text + a->substr_offsets[i];
		size_t end = HX_MIN((size_t)a->substr_offsets[i + 1], size);
		size_t n = end - a->substr_offsets[i];
		uint32_t cp;
		switch (a->substr_types[i]) {
		case MD_TEXT_NULLCHAR: puts_(t, replacement); break;
		case MD_TEXT_ENTITY:
			if (numeric_ref(s, n, &cp)) {
				char b[4];
				put(t, b, utf8_encode(cp, b));
			} else {
				size_t k = 0;
				while (k < HX_ARRAY_LEN(url_refs) &&
				       !(strlen(url_refs[k].name) == n && memcmp(url_refs[k].name, s, n) == 0))
					k++;
				if (k < HX_ARRAY_LEN(url_refs))
					putc_(t, url_refs[k].c);
				else
					put(t, s, n);
			}
			break;
		default: put(t, s, n); break;
		}
	}
}

/* Writes an attribute value given as md4c substrings (a title). */
static void put_attr(struct out *o, const MD_ATTRIBUTE *a)
{
	if (!a->text || !a->substr_offsets || !a->substr_types)
		return;
	size_t size = in_src(o, a->text, a->size);
	for (unsigned i = 0; a->substr_offsets[i] < size; i++) {
		const char *s = a->text + a->substr_offsets[i];
		size_t end = HX_MIN((size_t)a->substr_offsets[i + 1], size);
		size_t n = end - a->substr_offsets[i];
		switch (a->substr_types[i]) {
		case MD_TEXT_NULLCHAR: puts_(o, replacement); break;
		case MD_TEXT_ENTITY: put_entity(o, s, n); break;
		default: put_escaped(o, s, n); break;
		}
	}
}

/* ---- URLs ------------------------------------------------------------------------- */

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* True when the (decoded, normalized) URL is relative or has an allowed scheme. */
static bool url_allowed(const char *u, size_t n)
{
	size_t i = 0;
	while (i < n && u[i] != ':' && u[i] != '/' && u[i] != '?' && u[i] != '#')
		i++;
	if (i == n || u[i] != ':')
		return true; /* no scheme: relative */
	static const char *const ok[] = {"http", "https", "mailto"};
	for (size_t k = 0; k < HX_ARRAY_LEN(ok); k++) {
		size_t m = strlen(ok[k]);
		if (m != i)
			continue;
		size_t j = 0;
		while (j < m && lower(u[j]) == ok[k][j])
			j++;
		if (j == m)
			return true;
	}
	return false;
}

static bool url_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("-._~:/?#[]@!$&'()*+,;=%", c) != NULL;
}

/* Writes href="..." for an md4c URL attribute. */
static void put_href(struct out *o, const MD_ATTRIBUTE *a)
{
	struct out t = {.limit = SIZE_MAX, .src = o->src, .src_len = o->src_len};
	decode_attr(&t, a);
	if (t.fail) {
		o->fail = true;
		free(t.buf);
		return;
	}
	/* What the URL parser does first: strip leading and trailing C0 controls and
	 * spaces, remove every tab and newline. */
	const char *u = t.buf ? t.buf : "";
	size_t n = t.len, start = 0, w = 0;
	while (start < n && (unsigned char)u[start] <= 0x20)
		start++;
	while (n > start && (unsigned char)u[n - 1] <= 0x20)
		n--;
	for (size_t i = start; i < n; i++)
		if (u[i] != '\t' && u[i] != '\n' && u[i] != '\r')
			t.buf[w++] = u[i];
	puts_(o, " href=\"");
	if (!url_allowed(t.buf ? t.buf : "", w)) {
		putc_(o, '#');
	} else {
		for (size_t i = 0; i < w; i++) {
			unsigned char c = (unsigned char)t.buf[i];
			char pct[4];
			if (c == '&')
				puts_(o, "&amp;");
			else if (c == '\'')
				puts_(o, "&#39;");
			else if (url_char(c))
				putc_(o, (char)c);
			else {
				snprintf(pct, sizeof pct, "%%%02X", c);
				put(o, pct, 3);
			}
		}
	}
	putc_(o, '"');
	free(t.buf);
}

/* ---- the writer ------------------------------------------------------------------- */

/* Every element we open is pushed with the text that closes it, and every leave
 * callback pops: the output stays balanced even if md4c's callbacks do not nest
 * (fuzzing found a span left inside an image that was entered after it). */
enum open_kind { OPEN_BLOCK, OPEN_SPAN, OPEN_LINK, OPEN_IMG };

struct open {
	const char *close; /* written when the element ends ("" for nothing) */
	size_t start;      /* output length after the opening tag (images: was there alt text?) */
	unsigned char kind;
	bool outer_img;    /* the outermost image: it needs visible text */
};

struct writer {
	struct out o;
	struct open *stack;
	size_t depth, cap;
	int link_depth; /* links inside links are written as their text */
	int img_depth;  /* inside an image: text only (its alt text) */
};

static void push(struct writer *w, enum open_kind kind, const char *close)
{
	if (w->o.fail)
		return;
	if (w->depth == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 32;
		struct open *st = realloc(w->stack, cap * sizeof *st);
		if (!st) {
			w->o.fail = true;
			return;
		}
		w->stack = st;
		w->cap = cap;
	}
	if (kind == OPEN_LINK)
		w->link_depth++;
	if (kind == OPEN_IMG)
		w->img_depth++;
	w->stack[w->depth++] = (struct open){
		.close = close, .start = w->o.len, .kind = (unsigned char)kind,
		.outer_img = kind == OPEN_IMG && w->img_depth == 1};
}

static enum open_kind pop(struct writer *w)
{
	struct open e = w->stack[--w->depth];
	if (e.kind == OPEN_LINK)
		w->link_depth--;
	if (e.kind == OPEN_IMG) {
		if (e.outer_img && w->o.len == e.start)
			puts_(&w->o, "image"); /* no alt text: still something to click */
		w->img_depth--;
	}
	puts_(&w->o, e.close);
	return (enum open_kind)e.kind;
}

static int w_status(struct writer *w)
{
	return w->o.fail ? 1 : 0;
}

static const char *align_attr(MD_ALIGN a)
{
	switch (a) {
	case MD_ALIGN_LEFT: return " align=\"left\"";
	case MD_ALIGN_CENTER: return " align=\"center\"";
	case MD_ALIGN_RIGHT: return " align=\"right\"";
	default: return "";
	}
}

static const char *const h_open[] = {"<h1>", "<h2>", "<h3>", "<h4>", "<h5>", "<h6>"};
static const char *const h_close[] = {"</h1>\n", "</h2>\n", "</h3>\n", "</h4>\n", "</h5>\n", "</h6>\n"};

static int enter_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
	struct writer *w = ud;
	struct out *o = &w->o;
	const char *close = "";
	char tmp[64];
	switch (type) {
	case MD_BLOCK_DOC: break;
	case MD_BLOCK_QUOTE:
		puts_(o, "<blockquote>\n");
		close = "</blockquote>\n";
		break;
	case MD_BLOCK_UL:
		puts_(o, "<ul>\n");
		close = "</ul>\n";
		break;
	case MD_BLOCK_OL: {
		const MD_BLOCK_OL_DETAIL *d = detail;
		if (d->start == 1)
			puts_(o, "<ol>\n");
		else {
			snprintf(tmp, sizeof tmp, "<ol start=\"%u\">\n", d->start);
			puts_(o, tmp);
		}
		close = "</ol>\n";
		break;
	}
	case MD_BLOCK_LI: {
		const MD_BLOCK_LI_DETAIL *d = detail;
		if (d->is_task)
			puts_(o, d->task_mark == ' '
			                 ? "<li class=\"task-list-item\"><input type=\"checkbox\" "
			                   "class=\"task-list-item-checkbox\" disabled>"
			                 : "<li class=\"task-list-item\"><input type=\"checkbox\" "
			                   "class=\"task-list-item-checkbox\" disabled checked>");
		else
			puts_(o, "<li>");
		close = "</li>\n";
		break;
	}
	case MD_BLOCK_HR: puts_(o, "<hr>\n"); break;
	case MD_BLOCK_H: {
		const MD_BLOCK_H_DETAIL *d = detail;
		unsigned lv = d->level < 1 ? 1 : d->level > 6 ? 6 : d->level;
		puts_(o, h_open[lv - 1]);
		close = h_close[lv - 1];
		break;
	}
	case MD_BLOCK_CODE: {
		const MD_BLOCK_CODE_DETAIL *d = detail;
		char lang[LANG_MAX + 1];
		size_t n = 0;
		MD_SIZE size = d->lang.text ? (MD_SIZE)in_src(o, d->lang.text, d->lang.size) : 0;
		for (MD_SIZE i = 0; i < size && n < LANG_MAX; i++) {
			char c = d->lang.text[i];
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
			    c == '+' || c == '-')
				lang[n++] = c;
		}
		lang[n] = 0;
		puts_(o, "<pre><code");
		if (n) {
			puts_(o, " class=\"language-");
			puts_(o, lang);
			putc_(o, '"');
		}
		putc_(o, '>');
		close = "</code></pre>\n";
		break;
	}
	case MD_BLOCK_HTML: break; /* not produced with MD_FLAG_NOHTML; its text is escaped anyway */
	case MD_BLOCK_P:
		puts_(o, "<p>");
		close = "</p>\n";
		break;
	case MD_BLOCK_TABLE:
		puts_(o, "<table>\n");
		close = "</table>\n";
		break;
	case MD_BLOCK_THEAD:
		puts_(o, "<thead>\n");
		close = "</thead>\n";
		break;
	case MD_BLOCK_TBODY:
		puts_(o, "<tbody>\n");
		close = "</tbody>\n";
		break;
	case MD_BLOCK_TR:
		puts_(o, "<tr>");
		close = "</tr>\n";
		break;
	case MD_BLOCK_TH:
	case MD_BLOCK_TD: {
		const MD_BLOCK_TD_DETAIL *d = detail;
		puts_(o, type == MD_BLOCK_TH ? "<th" : "<td");
		puts_(o, align_attr(d->align));
		putc_(o, '>');
		close = type == MD_BLOCK_TH ? "</th>" : "</td>";
		break;
	}
	}
	push(w, OPEN_BLOCK, close);
	return w_status(w);
}

/* Closes the innermost block and any span md4c left open inside it. */
static int leave_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
	struct writer *w = ud;
	while (w->depth > 0 && pop(w) != OPEN_BLOCK)
		;
	return w_status(w);
}

/* The simple spans' tags; NULL for spans written otherwise or not at all. */
static const char *span_tag(MD_SPANTYPE type, bool close)
{
	switch (type) {
	case MD_SPAN_EM: return close ? "</em>" : "<em>";
	case MD_SPAN_STRONG: return close ? "</strong>" : "<strong>";
	case MD_SPAN_CODE: return close ? "</code>" : "<code>";
	case MD_SPAN_DEL: return close ? "</del>" : "<del>";
	default: return NULL; /* links and images below; math, wiki links, underline are off */
	}
}

static void put_link_open(struct out *o, const char *cls, const MD_ATTRIBUTE *href, const MD_ATTRIBUTE *title)
{
	puts_(o, "<a");
	puts_(o, cls);
	put_href(o, href);
	puts_(o, link_attrs);
	if (title->size) {
		puts_(o, " title=\"");
		put_attr(o, title);
		putc_(o, '"');
	}
	putc_(o, '>');
}

static int enter_span(MD_SPANTYPE type, void *detail, void *ud)
{
	struct writer *w = ud;
	struct out *o = &w->o;
	bool plain = w->link_depth > 0 || w->img_depth > 0; /* no nested links; images: text only */
	if (type == MD_SPAN_A) {
		const MD_SPAN_A_DETAIL *d = detail;
		if (!plain)
			put_link_open(o, "", &d->href, &d->title);
		push(w, OPEN_LINK, plain ? "" : "</a>");
	} else if (type == MD_SPAN_IMG) {
		const MD_SPAN_IMG_DETAIL *d = detail;
		if (!plain)
			put_link_open(o, " class=\"md-image\"", &d->src, &d->title);
		push(w, OPEN_IMG, plain ? "" : "</a>");
	} else {
		const char *tag = w->img_depth ? NULL : span_tag(type, false);
		if (tag)
			puts_(o, tag);
		push(w, OPEN_SPAN, tag ? span_tag(type, true) : "");
	}
	return w_status(w);
}

/* Closes the innermost open span (never a block: a stray leave is ignored). */
static int leave_span(MD_SPANTYPE type, void *detail, void *ud)
{
	struct writer *w = ud;
	if (w->depth > 0 && w->stack[w->depth - 1].kind != OPEN_BLOCK)
		pop(w);
	return w_status(w);
}

static int text(MD_TEXTTYPE type, const MD_CHAR *s, MD_SIZE n, void *ud)
{
	struct writer *w = ud;
	struct out *o = &w->o;
	n = (MD_SIZE)in_src(o, s, n);
	switch (type) {
	case MD_TEXT_NULLCHAR: puts_(o, replacement); break;
	case MD_TEXT_BR: puts_(o, w->img_depth ? " " : "<br>\n"); break;
	case MD_TEXT_SOFTBR: puts_(o, w->img_depth ? " " : "\n"); break;
	case MD_TEXT_ENTITY: put_entity(o, s, n); break;
	default: put_escaped(o, s, n); break; /* normal, code, raw HTML (as text), math */
	}
	return w_status(w);
}

char *srv_markdown_html(const char *md, size_t md_len, size_t *len)
{
	if (!md)
		md_len = 0;
	if (md_len > MD_INPUT_MAX) {
		hx_err(HEARTH_ELIMIT, "markdown: %zu bytes is over the %u-byte limit", md_len, MD_INPUT_MAX);
		return NULL;
	}
	struct writer w = {.o = {.limit = MD_OUT_RATIO * md_len + MD_OUT_SLACK}};
	if (!reserve(&w.o, md_len + md_len / 2 + 64)) {
		hx_err(HEARTH_ENOMEM, "markdown: out of memory");
		return NULL;
	}
	w.o.buf[0] = 0;
	MD_PARSER p = {
		.abi_version = 0,
		.flags = MD_FLAG_TABLES | MD_FLAG_STRIKETHROUGH | MD_FLAG_TASKLISTS | MD_FLAG_PERMISSIVEAUTOLINKS |
		         MD_FLAG_NOHTML,
		.enter_block = enter_block,
		.leave_block = leave_block,
		.enter_span = enter_span,
		.leave_span = leave_span,
		.text = text,
	};
	/* md4c parses a private copy that ends in a newline and is followed by
	 * zero bytes: its known over-reads at the end of the input (0.4.8) then
	 * read our padding, and in_src() keeps them out of the output. */
	char *copy = malloc(md_len + 1 + MD_PAD);
	if (!copy) {
		free(w.o.buf);
		hx_err(HEARTH_ENOMEM, "markdown: out of memory");
		return NULL;
	}
	size_t n = md_len;
	if (n)
		memcpy(copy, md, n);
	if (n == 0 || copy[n - 1] != '\n')
		copy[n++] = '\n';
	memset(copy + n, 0, MD_PAD);
	w.o.src = copy;
	w.o.src_len = n;
	int rc = md_parse(copy, (MD_SIZE)n, &p, &w);
	while (rc == 0 && w.depth > 0 && !w.o.fail) /* md4c left something open */
		pop(&w);
	free(copy);
	free(w.stack);
	if (rc != 0 || w.o.fail) {
		free(w.o.buf);
		if (!w.o.over)
			hx_err(HEARTH_ENOMEM, "markdown: out of memory");
		else
			hx_err(HEARTH_ELIMIT, "markdown: the HTML would be over %zu bytes (pathological input)",
			       w.o.limit);
		return NULL;
	}
	if (len)
		*len = w.o.len;
	return w.o.buf;
}
