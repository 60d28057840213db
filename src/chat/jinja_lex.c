/*
 * jinja_lex.c - turns template source into tokens, applying Jinja2's whitespace
 * control as HF transformers configures it.
 *
 * Source handling follows Jinja2's lexer: line endings (\r\n, \r) become \n and
 * one trailing newline is dropped (keep_trailing_newline = False).  Then:
 *  - "{%-", "{{-", "{#-" strip all whitespace before the tag; "-%}", "-}}", "-#}"
 *    strip all whitespace after it;
 *  - trim_blocks: a single "\n" right after "%}" or "#}" is removed ("+%}" keeps it);
 *  - lstrip_blocks: spaces and tabs between the start of a line and "{%" or "{#" are
 *    removed ("{%+" keeps them); "{{" is never lstripped.
 *  - "{% raw %}...{% endraw %}" is emitted as text.
 *  - Inside a tag, "}}" and "%}" only end the tag when no bracket is open.
 * Every token carries its 1-based line and column (in bytes).
 */
#include "chat/jinja.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lexer {
	jvm *m;
	const char *s;
	size_t n;
	size_t *lines; /* start offset of each line */
	size_t n_lines;
	jtoks *out;
};

static void lex_pos(struct lexer *L, size_t pos, int *line, int *col)
{
	size_t lo = 0, hi = L->n_lines;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (L->lines[mid] <= pos)
			lo = mid;
		else
			hi = mid;
	}
	*line = (int)HX_MIN(lo + 1, (size_t)INT32_MAX);
	*col = (int)HX_MIN(pos - L->lines[lo] + 1, (size_t)INT32_MAX);
}

_Noreturn static void lex_fail(struct lexer *L, size_t pos, const char *msg)
{
	lex_pos(L, pos, &L->m->line, &L->m->col);
	jvm_fail(L->m, HEARTH_EFORMAT, "%s", msg);
}

static jtok *push(struct lexer *L, int type, size_t pos)
{
	jtoks *o = L->out;
	if (o->n == o->cap) {
		size_t nc = o->cap ? o->cap * 2 : 256;
		jtok *nv = ja_alloc(L->m->arena, L->m->fail, nc * sizeof *nv);
		if (o->n)
			memcpy(nv, o->v, o->n * sizeof *nv);
		o->v = nv;
		o->cap = nc;
	}
	jtok *t = &o->v[o->n++];
	memset(t, 0, sizeof *t);
	t->t = (uint8_t)type;
	lex_pos(L, pos, &t->line, &t->col);
	return t;
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

static void emit_text(struct lexer *L, size_t from, size_t to)
{
	if (to <= from)
		return;
	jtok *t = push(L, JT_TEXT, from);
	t->s = jstr_new(L->m, L->s + from, to - from);
}

/* Decodes a string literal starting at the quote; returns the position after it. */
static size_t lex_string(struct lexer *L, size_t pos)
{
	char q = L->s[pos];
	size_t i = pos + 1;
	jbuf b = {0};
	while (i < L->n && L->s[i] != q) {
		char c = L->s[i];
		if (c != '\\') {
			size_t j = i;
			while (j < L->n && L->s[j] != q && L->s[j] != '\\')
				j++;
			jb_put(L->m, &b, L->s + i, j - i);
			i = j;
			continue;
		}
		if (i + 1 >= L->n)
			break;
		char e = L->s[i + 1];
		i += 2;
		switch (e) {
		case 'n': jb_putc(L->m, &b, '\n'); break;
		case 't': jb_putc(L->m, &b, '\t'); break;
		case 'r': jb_putc(L->m, &b, '\r'); break;
		case 'a': jb_putc(L->m, &b, '\a'); break;
		case 'b': jb_putc(L->m, &b, '\b'); break;
		case 'f': jb_putc(L->m, &b, '\f'); break;
		case 'v': jb_putc(L->m, &b, '\v'); break;
		case '\\': jb_putc(L->m, &b, '\\'); break;
		case '\'': jb_putc(L->m, &b, '\''); break;
		case '"': jb_putc(L->m, &b, '"'); break;
		case '\n': break; /* line continuation */
		case 'x':
		case 'u':
		case 'U': {
			int nd = e == 'x' ? 2 : e == 'u' ? 4 : 8;
			int32_t cp = 0;
			for (int k = 0; k < nd; k++) {
				char h = i + (size_t)k < L->n ? L->s[i + (size_t)k] : 0;
				int d = (h >= '0' && h <= '9') ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10
				      : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
				if (d < 0)
					lex_fail(L, i - 2, "truncated \\x/\\u escape in string literal");
				cp = cp * 16 + d;
			}
			i += (size_t)nd;
			if (cp > 0x10FFFF)
				lex_fail(L, i - 2, "invalid \\U escape in string literal");
			char enc[4];
			jb_put(L->m, &b, enc, ju_encode(cp, enc));
			break;
		}
		default:
			if (e >= '0' && e <= '7') {
				int32_t cp = e - '0';
				for (int k = 0; k < 2 && i < L->n && L->s[i] >= '0' && L->s[i] <= '7'; k++, i++)
					cp = cp * 8 + (L->s[i] - '0');
				char enc[4];
				jb_put(L->m, &b, enc, ju_encode(cp, enc));
			} else {
				/* unknown escapes are kept as written, as in Python */
				jb_putc(L->m, &b, '\\');
				jb_putc(L->m, &b, e);
			}
		}
	}
	if (i >= L->n)
		lex_fail(L, pos, "unterminated string literal");
	jtok *t = push(L, JT_STRING, pos);
	t->s = jstr_new(L->m, b.p ? b.p : "", b.n);
	return i + 1;
}

static size_t lex_number(struct lexer *L, size_t pos, bool after_dot)
{
	const char *s = L->s;
	size_t i = pos;
	char digits[128];
	size_t nd = 0;
	bool is_float = false;
	while (i < L->n && ((s[i] >= '0' && s[i] <= '9') || (s[i] == '_' && i + 1 < L->n && s[i + 1] >= '0' && s[i + 1] <= '9'))) {
		if (s[i] != '_' && nd < sizeof digits - 1)
			digits[nd++] = s[i];
		i++;
	}
	if (!after_dot && i + 1 < L->n && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9') {
		is_float = true;
		digits[nd < sizeof digits - 1 ? nd++ : nd] = '.';
		i++;
		while (i < L->n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_')) {
			if (s[i] != '_' && nd < sizeof digits - 1)
				digits[nd++] = s[i];
			i++;
		}
	}
	if (!after_dot && i < L->n && (s[i] == 'e' || s[i] == 'E')) {
		size_t j = i + 1;
		if (j < L->n && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j < L->n && s[j] >= '0' && s[j] <= '9') {
			is_float = true;
			for (size_t k = i; k < j && nd < sizeof digits - 1; k++)
				digits[nd++] = s[k];
			while (j < L->n && s[j] >= '0' && s[j] <= '9') {
				if (nd < sizeof digits - 1)
					digits[nd++] = s[j];
				j++;
			}
			i = j;
		}
	}
	digits[nd] = 0;
	if (nd >= sizeof digits - 1)
		lex_fail(L, pos, "number literal too long");
	jtok *t = push(L, is_float ? JT_FLOAT : JT_INT, pos);
	if (is_float) {
		t->f = strtod(digits, NULL);
	} else {
		int64_t v = 0;
		for (size_t k = 0; k < nd; k++) {
			if (v > (INT64_MAX - (digits[k] - '0')) / 10)
				lex_fail(L, pos, "integer literal too large");
			v = v * 10 + (digits[k] - '0');
		}
		t->i = v;
	}
	return i;
}

static const char *const k_ops2[] = {"//", "**", "==", "!=", "<=", ">="};

/* Lexes the inside of a {{ }} or {% %} tag; returns the position after its end. */
static size_t lex_tag(struct lexer *L, size_t pos, bool is_block, size_t tag_start)
{
	int depth = 0;
	const char *s = L->s;
	size_t n = L->n;
	for (;;) {
		while (pos < n && is_ws(s[pos]))
			pos++;
		if (pos >= n)
			lex_fail(L, tag_start, is_block ? "unexpected end of template: missing '%}'"
			                                : "unexpected end of template: missing '}}'");
		if (depth == 0) {
			char e = is_block ? '%' : '}';
			size_t end = 0;
			char sign = 0;
			if ((s[pos] == '-' || (is_block && s[pos] == '+')) && pos + 2 < n && s[pos + 1] == e && s[pos + 2] == '}') {
				sign = s[pos];
				end = pos + 3;
			} else if (pos + 1 < n && s[pos] == e && s[pos + 1] == '}') {
				end = pos + 2;
			}
			if (end) {
				push(L, is_block ? JT_BLOCK_END : JT_VAR_END, pos);
				if (sign == '-') {
					while (end < n && is_ws(s[end]))
						end++;
				} else if (is_block && sign != '+' && end < n && s[end] == '\n') {
					end++;
				}
				return end;
			}
		}
		char c = s[pos];
		if (c == '\'' || c == '"') {
			pos = lex_string(L, pos);
			continue;
		}
		if (c >= '0' && c <= '9') {
			bool after_dot = L->out->n > 0 && L->out->v[L->out->n - 1].t == JT_OP &&
			                 strcmp(L->out->v[L->out->n - 1].op, ".") == 0;
			pos = lex_number(L, pos, after_dot);
			continue;
		}
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
			size_t j = pos;
			while (j < n && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') || s[j] == '_' ||
			                 (s[j] >= '0' && s[j] <= '9')))
				j++;
			jtok *t = push(L, JT_NAME, pos);
			struct jstr *nm = jstr_new(L->m, s + pos, j - pos);
			t->p = nm->p;
			t->s = nm;
			pos = j;
			continue;
		}
		jtok *t = NULL;
		for (size_t k = 0; k < HX_ARRAY_LEN(k_ops2); k++)
			if (pos + 1 < n && s[pos] == k_ops2[k][0] && s[pos + 1] == k_ops2[k][1]) {
				t = push(L, JT_OP, pos);
				memcpy(t->op, k_ops2[k], 3);
				pos += 2;
				break;
			}
		if (t)
			continue;
		if (strchr("+-*/%~()[]{},.:|=<>", c) && c) {
			if (c == '(' || c == '[' || c == '{')
				depth++;
			else if (c == ')' || c == ']' || c == '}') {
				if (depth == 0)
					lex_fail(L, pos, "unexpected closing bracket");
				depth--;
			}
			t = push(L, JT_OP, pos);
			t->op[0] = c;
			pos++;
			continue;
		}
		char msg[64];
		snprintf(msg, sizeof msg, "unexpected character '%s%c' in tag",
		         (unsigned char)c < 0x20 || (unsigned char)c >= 0x7f ? "\\" : "", (unsigned char)c < 0x20 || (unsigned char)c >= 0x7f ? 'x' : c);
		lex_fail(L, pos, msg);
	}
}

/* Matches "[-+]? ws* WORD ws* [-+]? %}" at pos (pos just after "{%"); returns the
 * position after "%}" or 0, and the inner signs. */
static size_t match_simple_tag(struct lexer *L, size_t pos, const char *word, char *lsign, char *rsign)
{
	const char *s = L->s;
	size_t n = L->n, wl = strlen(word);
	*lsign = *rsign = 0;
	if (pos < n && (s[pos] == '-' || s[pos] == '+'))
		*lsign = s[pos++];
	while (pos < n && is_ws(s[pos]))
		pos++;
	if (pos + wl > n || memcmp(s + pos, word, wl) != 0)
		return 0;
	pos += wl;
	if (pos < n && ((s[pos] >= 'a' && s[pos] <= 'z') || (s[pos] >= 'A' && s[pos] <= 'Z') || s[pos] == '_' ||
	                (s[pos] >= '0' && s[pos] <= '9')))
		return 0;
	while (pos < n && is_ws(s[pos]))
		pos++;
	if (pos < n && (s[pos] == '-' || s[pos] == '+'))
		*rsign = s[pos++];
	if (pos + 1 < n && s[pos] == '%' && s[pos + 1] == '}')
		return pos + 2;
	return 0;
}

/* The text before a tag, after whitespace control.  Returns the new end. */
static size_t strip_before(struct lexer *L, size_t from, size_t to, char sign, bool lstrip, bool line_starting)
{
	const char *s = L->s;
	if (sign == '-') {
		while (to > from && is_ws(s[to - 1]))
			to--;
		return to;
	}
	if (sign == '+' || !lstrip)
		return to;
	size_t l = to;
	while (l > from && s[l - 1] != '\n')
		l--;
	if (l == from && !line_starting)
		return to; /* no newline in the text and not at a line start */
	if (l == to)
		return to;
	for (size_t i = l; i < to; i++)
		if (!(s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\v' || s[i] == '\f'))
			return to;
	return l;
}

void jx_lex(jvm *m, const char *src, size_t len, jtoks *out)
{
	struct lexer L = {0};
	L.m = m;
	L.out = out;
	/* normalize newlines and drop one trailing newline */
	char *s = ja_alloc(m->arena, m->fail, len + 1);
	size_t n = 0, n_lines = 1;
	for (size_t i = 0; i < len; i++) {
		if (src[i] == '\r') {
			s[n++] = '\n';
			if (i + 1 < len && src[i + 1] == '\n')
				i++;
		} else {
			s[n++] = src[i];
		}
		if (s[n - 1] == '\n')
			n_lines++;
	}
	if (n > 0 && s[n - 1] == '\n') {
		n--;
		n_lines--;
	}
	s[n] = 0;
	L.s = s;
	L.n = n;
	L.lines = ja_alloc(m->arena, m->fail, (n_lines + 1) * sizeof *L.lines);
	L.lines[0] = 0;
	L.n_lines = 1;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\n' && L.n_lines < n_lines + 1)
			L.lines[L.n_lines++] = i + 1;

	size_t pos = 0;
	bool line_starting = true;
	while (pos < n) {
		size_t t = pos;
		bool found = false;
		while (t + 1 < n) {
			if (s[t] == '{' && (s[t + 1] == '{' || s[t + 1] == '%' || s[t + 1] == '#')) {
				found = true;
				break;
			}
			t++;
		}
		if (!found) {
			emit_text(&L, pos, n);
			break;
		}
		char kind = s[t + 1];
		char sign = (t + 2 < n && (s[t + 2] == '-' || s[t + 2] == '+')) ? s[t + 2] : 0;
		if (kind == '{' && sign == '+')
			sign = 0; /* "{{+" is "{{" followed by unary plus */
		size_t text_end = strip_before(&L, pos, t, sign, kind != '{', line_starting);
		emit_text(&L, pos, text_end);
		size_t after = t + 2 + (sign ? 1 : 0);

		if (kind == '#') {
			size_t e = after;
			while (e + 1 < n && !(s[e] == '#' && s[e + 1] == '}'))
				e++;
			if (e + 1 >= n)
				lex_fail(&L, t, "unterminated comment: missing '#}'");
			char rs = (e > after && (s[e - 1] == '-' || s[e - 1] == '+')) ? s[e - 1] : 0;
			pos = e + 2;
			if (rs == '-') {
				while (pos < n && is_ws(s[pos]))
					pos++;
			} else if (rs != '+' && pos < n && s[pos] == '\n') {
				pos++;
			}
			line_starting = s[pos - 1] == '\n';
			continue;
		}

		if (kind == '%') {
			char ls, rs;
			size_t raw_end = match_simple_tag(&L, t + 2, "raw", &ls, &rs);
			if (raw_end) {
				size_t body = raw_end;
				if (rs == '-')
					while (body < n && is_ws(s[body]))
						body++;
				size_t e = body, close = 0;
				while (e + 1 < n) {
					if (s[e] == '{' && s[e + 1] == '%') {
						close = match_simple_tag(&L, e + 2, "endraw", &ls, &rs);
						if (close)
							break;
					}
					e++;
				}
				if (!close)
					lex_fail(&L, t, "missing '{% endraw %}'");
				/* "{%- endraw" strips, and lstrip_blocks applies to it too */
				size_t body_end = strip_before(&L, body, e, ls, true, false);
				emit_text(&L, body, body_end);
				pos = close;
				if (rs == '-') {
					while (pos < n && is_ws(s[pos]))
						pos++;
				} else if (rs != '+' && pos < n && s[pos] == '\n') {
					pos++;
				}
				line_starting = s[pos - 1] == '\n';
				continue;
			}
		}
		push(&L, kind == '%' ? JT_BLOCK_BEGIN : JT_VAR_BEGIN, t);
		pos = lex_tag(&L, after, kind == '%', t);
		line_starting = s[pos - 1] == '\n';
	}
	push(&L, JT_EOF, n);
}
