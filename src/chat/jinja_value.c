/*
 * jinja_value.c - values of the Jinja interpreter: the arena they live in, Python
 * semantics for str()/repr()/==/<, json.dumps-compatible tojson, UTF-8 helpers,
 * and conversion from jansson documents.
 *
 * Every value is allocated from one arena per render and never freed on its own,
 * so a failure can longjmp out of any depth without leaking.  The arena has a
 * byte limit; every allocation checks it before asking malloc.
 */
#include "chat/jinja.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jarena_chunk {
	struct jarena_chunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

#define JA_CHUNK (64 * 1024)

_Noreturn void jx_fail(jfail *f, int code, int line, int col, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		hx_err(code, "%s:%d:%d: %s", f->name ? f->name : "template", line, col, msg);
	else
		hx_err(code, "%s: %s", f->name ? f->name : "template", msg);
	longjmp(f->jb, code);
}

_Noreturn void jvm_fail(jvm *m, int code, const char *fmt, ...)
{
	char msg[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	jx_fail(m->fail, code, m->line, m->col, "%s", msg);
}

void jvm_charge(jvm *m, uint64_t n)
{
	m->steps += n;
	if (m->max_steps && m->steps > m->max_steps)
		jvm_fail(m, HEARTH_ELIMIT, "template work limit exceeded (%llu steps)",
		         (unsigned long long)m->max_steps);
}

void *ja_alloc(jarena *a, jfail *f, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (n == 0)
		n = 16;
	struct jarena_chunk *c = a->head;
	if (!c || c->size - c->used < n) {
		size_t sz = n > JA_CHUNK / 2 ? n : JA_CHUNK;
		if (sz > SIZE_MAX - sizeof *c - a->used ||
		    (a->limit && a->used + sz + sizeof *c > a->limit))
			jx_fail(f, HEARTH_ELIMIT, 0, 0, "template memory limit exceeded (%zu bytes)", a->limit);
		c = malloc(sizeof *c + sz);
		if (!c)
			jx_fail(f, HEARTH_ENOMEM, 0, 0, "out of memory");
		c->size = sz;
		c->used = 0;
		a->used += sz + sizeof *c;
		if (a->head && n > JA_CHUNK / 2) {
			/* keep the partly used head chunk current */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	void *p = c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

void ja_free(jarena *a)
{
	struct jarena_chunk *c = a->head;
	while (c) {
		struct jarena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->used = 0;
}

/* ---- UTF-8 ----------------------------------------------------------------- */
size_t ju_decode(const char *s, size_t n, int32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	if (n == 0) {
		*cp = 0;
		return 1;
	}
	unsigned c = p[0];
	if (c < 0x80) {
		*cp = (int32_t)c;
		return 1;
	}
	size_t len;
	int32_t v, min;
	if ((c & 0xE0) == 0xC0) {
		len = 2; v = c & 0x1F; min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3; v = c & 0x0F; min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		len = 4; v = c & 0x07; min = 0x10000;
	} else {
		*cp = (int32_t)c;
		return 1;
	}
	if (len > n) {
		*cp = (int32_t)c;
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80) {
			*cp = (int32_t)c;
			return 1;
		}
		v = (v << 6) | (p[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
		*cp = (int32_t)c;
		return 1;
	}
	*cp = v;
	return len;
}

size_t ju_encode(int32_t cp, char out[4])
{
	unsigned c = (unsigned)cp;
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xC0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xE0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		out[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	out[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

size_t ju_count(const char *p, size_t n)
{
	size_t count = 0, i = 0;
	int32_t cp;
	while (i < n) {
		i += ju_decode(p + i, n - i, &cp);
		count++;
	}
	return count;
}

size_t ju_offset(const char *p, size_t n, size_t idx)
{
	size_t i = 0;
	int32_t cp;
	while (i < n && idx > 0) {
		i += ju_decode(p + i, n - i, &cp);
		idx--;
	}
	return i;
}

bool ju_is_space(int32_t c)
{
	if ((c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0)
		return true;
	if (c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
	    c == 0x202F || c == 0x205F || c == 0x3000)
		return true;
	return false;
}

/* ---- constructors ---------------------------------------------------------- */
struct jstr *jstr_new(jvm *m, const char *p, size_t n)
{
	if (n > SIZE_MAX / 2)
		jvm_fail(m, HEARTH_ELIMIT, "string too long");
	struct jstr *s = ja_alloc(m->arena, m->fail, sizeof *s + n + 1);
	s->len = n;
	if (n)
		memcpy(s->p, p, n);
	s->p[n] = 0;
	return s;
}

jv jv_strobj(struct jstr *s)
{
	jv v = {0};
	v.t = JV_STR;
	v.u.s = s;
	return v;
}

jv jv_str(jvm *m, const char *p, size_t n) { return jv_strobj(jstr_new(m, p, n)); }

jv jv_cstr(jvm *m, const char *s) { return jv_str(m, s, strlen(s)); }

jv jv_list(jvm *m, size_t cap)
{
	jv v = {0};
	v.t = JV_LIST;
	v.u.l = ja_alloc(m->arena, m->fail, sizeof *v.u.l);
	if (cap) {
		if (cap > SIZE_MAX / sizeof(jv) / 2)
			jvm_fail(m, HEARTH_ELIMIT, "list too long");
		v.u.l->v = ja_alloc(m->arena, m->fail, cap * sizeof(jv));
		v.u.l->cap = cap;
	}
	return v;
}

jv jv_dict(jvm *m, size_t cap)
{
	jv v = {0};
	v.t = JV_DICT;
	v.u.d = ja_alloc(m->arena, m->fail, sizeof *v.u.d);
	if (cap) {
		if (cap > SIZE_MAX / sizeof(jv) / 2)
			jvm_fail(m, HEARTH_ELIMIT, "dict too large");
		v.u.d->k = ja_alloc(m->arena, m->fail, cap * sizeof(jv));
		v.u.d->v = ja_alloc(m->arena, m->fail, cap * sizeof(jv));
		v.u.d->cap = cap;
	}
	return v;
}

void jl_push(jvm *m, struct jlist *l, jv v)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 4;
		if (nc > SIZE_MAX / sizeof(jv) / 2)
			jvm_fail(m, HEARTH_ELIMIT, "list too long");
		jv *nv = ja_alloc(m->arena, m->fail, nc * sizeof(jv));
		if (l->n)
			memcpy(nv, l->v, l->n * sizeof(jv));
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = v;
}

static bool key_eq(jv a, jv b)
{
	if (a.t == JV_STR && b.t == JV_STR)
		return a.u.s->len == b.u.s->len && memcmp(a.u.s->p, b.u.s->p, a.u.s->len) == 0;
	if (jv_is_num(a) && jv_is_num(b))
		return jv_num(a) == jv_num(b);
	if (a.t == JV_NONE && b.t == JV_NONE)
		return true;
	return false;
}

bool jd_get(const struct jdict *d, jv key, jv *out)
{
	for (size_t i = 0; i < d->n; i++)
		if (key_eq(d->k[i], key)) {
			*out = d->v[i];
			return true;
		}
	return false;
}

bool jd_get_cstr(const struct jdict *d, const char *key, jv *out)
{
	size_t n = strlen(key);
	for (size_t i = 0; i < d->n; i++)
		if (d->k[i].t == JV_STR && d->k[i].u.s->len == n && memcmp(d->k[i].u.s->p, key, n) == 0) {
			*out = d->v[i];
			return true;
		}
	return false;
}

void jd_set(jvm *m, struct jdict *d, jv key, jv val)
{
	/* linear key search: charged, so huge dict literals fail instead of crawling */
	jvm_charge(m, 2 * d->n);
	for (size_t i = 0; i < d->n; i++)
		if (key_eq(d->k[i], key)) {
			d->v[i] = val;
			return;
		}
	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 4;
		if (nc > SIZE_MAX / sizeof(jv) / 2)
			jvm_fail(m, HEARTH_ELIMIT, "dict too large");
		jv *nk = ja_alloc(m->arena, m->fail, nc * sizeof(jv));
		jv *nv = ja_alloc(m->arena, m->fail, nc * sizeof(jv));
		if (d->n) {
			memcpy(nk, d->k, d->n * sizeof(jv));
			memcpy(nv, d->v, d->n * sizeof(jv));
		}
		d->k = nk;
		d->v = nv;
		d->cap = nc;
	}
	jvm_charge(m, 1);
	d->k[d->n] = key;
	d->v[d->n] = val;
	d->n++;
}

/* ---- predicates ------------------------------------------------------------ */
const char *jv_type_name(jv v)
{
	switch (v.t) {
	case JV_UNDEF: return "undefined";
	case JV_NONE: return "NoneType";
	case JV_BOOL: return "bool";
	case JV_INT: return "int";
	case JV_FLOAT: return "float";
	case JV_STR: return "str";
	case JV_LIST: return "list";
	case JV_DICT: return "dict";
	case JV_NS: return "Namespace";
	case JV_LOOP: return "LoopContext";
	case JV_MACRO: return "Macro";
	case JV_BUILTIN: return "function";
	case JV_METHOD: return "method";
	}
	return "?";
}

bool jv_truthy(jv v)
{
	switch (v.t) {
	case JV_UNDEF:
	case JV_NONE: return false;
	case JV_BOOL: return v.u.b;
	case JV_INT: return v.u.i != 0;
	case JV_FLOAT: return v.u.f != 0.0;
	case JV_STR: return v.u.s->len != 0;
	case JV_LIST: return v.u.l->n != 0;
	case JV_DICT: return v.u.d->n != 0;
	default: return true;
	}
}

bool jv_is_num(jv v) { return v.t == JV_INT || v.t == JV_FLOAT || v.t == JV_BOOL; }

double jv_num(jv v)
{
	if (v.t == JV_INT)
		return (double)v.u.i;
	if (v.t == JV_FLOAT)
		return v.u.f;
	if (v.t == JV_BOOL)
		return v.u.b ? 1.0 : 0.0;
	return 0.0;
}

static bool eq_depth(jvm *m, jv a, jv b, int depth)
{
	if (depth > JX_MAX_VALUE_DEPTH)
		jvm_fail(m, HEARTH_ELIMIT, "values nested too deeply to compare");
	if (jv_is_num(a) && jv_is_num(b)) {
		if (a.t != JV_FLOAT && b.t != JV_FLOAT)
			return (a.t == JV_INT ? a.u.i : a.u.b) == (b.t == JV_INT ? b.u.i : b.u.b);
		return jv_num(a) == jv_num(b);
	}
	if (a.t != b.t)
		return false;
	switch (a.t) {
	case JV_UNDEF:
	case JV_NONE: return true;
	case JV_STR: return key_eq(a, b);
	case JV_LIST:
		if (a.u.l->n != b.u.l->n || a.u.l->tuple != b.u.l->tuple)
			return false;
		jvm_charge(m, a.u.l->n);
		for (size_t i = 0; i < a.u.l->n; i++)
			if (!eq_depth(m, a.u.l->v[i], b.u.l->v[i], depth + 1))
				return false;
		return true;
	case JV_DICT:
	case JV_NS:
		if (a.u.d->n != b.u.d->n)
			return false;
		jvm_charge(m, a.u.d->n * (a.u.d->n + 1));
		for (size_t i = 0; i < a.u.d->n; i++) {
			jv o;
			if (!jd_get(b.u.d, a.u.d->k[i], &o) || !eq_depth(m, a.u.d->v[i], o, depth + 1))
				return false;
		}
		return true;
	case JV_LOOP: return a.u.loop == b.u.loop;
	case JV_MACRO: return a.u.m == b.u.m;
	case JV_BUILTIN: return a.u.builtin == b.u.builtin;
	case JV_METHOD: return a.u.meth == b.u.meth;
	}
	return false;
}

bool jv_eq(jvm *m, jv a, jv b) { return eq_depth(m, a, b, 0); }

static int cmp_depth(jvm *m, jv a, jv b, int depth)
{
	if (depth > JX_MAX_VALUE_DEPTH)
		jvm_fail(m, HEARTH_ELIMIT, "values nested too deeply to compare");
	if (jv_is_num(a) && jv_is_num(b)) {
		if (a.t != JV_FLOAT && b.t != JV_FLOAT) {
			int64_t x = a.t == JV_INT ? a.u.i : a.u.b, y = b.t == JV_INT ? b.u.i : b.u.b;
			return x < y ? -1 : x > y;
		}
		double x = jv_num(a), y = jv_num(b);
		return x < y ? -1 : x > y;
	}
	if (a.t == JV_STR && b.t == JV_STR) {
		size_t n = HX_MIN(a.u.s->len, b.u.s->len);
		int r = memcmp(a.u.s->p, b.u.s->p, n);
		if (r)
			return r < 0 ? -1 : 1;
		return a.u.s->len < b.u.s->len ? -1 : a.u.s->len > b.u.s->len;
	}
	if (a.t == JV_LIST && b.t == JV_LIST) {
		size_t n = HX_MIN(a.u.l->n, b.u.l->n);
		jvm_charge(m, n);
		for (size_t i = 0; i < n; i++) {
			if (eq_depth(m, a.u.l->v[i], b.u.l->v[i], depth + 1))
				continue;
			return cmp_depth(m, a.u.l->v[i], b.u.l->v[i], depth + 1);
		}
		return a.u.l->n < b.u.l->n ? -1 : a.u.l->n > b.u.l->n;
	}
	jvm_fail(m, HEARTH_ETYPE, "'<' not supported between instances of '%s' and '%s'", jv_type_name(a),
	         jv_type_name(b));
}

int jv_cmp(jvm *m, jv a, jv b) { return cmp_depth(m, a, b, 0); }

/* ---- buffers --------------------------------------------------------------- */
void jb_put(jvm *m, jbuf *b, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (b->limit && (n > b->limit || b->n > b->limit - n))
		jvm_fail(m, HEARTH_ELIMIT, "template output limit exceeded (%zu bytes)", b->limit);
	if (b->n + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 256;
		while (nc < b->n + n + 1) {
			if (nc > SIZE_MAX / 4)
				jvm_fail(m, HEARTH_ELIMIT, "string too long");
			nc *= 2;
		}
		char *np = ja_alloc(m->arena, m->fail, nc);
		if (b->n)
			memcpy(np, b->p, b->n);
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = 0;
}

void jb_puts(jvm *m, jbuf *b, const char *s) { jb_put(m, b, s, strlen(s)); }

void jb_putc(jvm *m, jbuf *b, char c) { jb_put(m, b, &c, 1); }

/* ---- formatting ------------------------------------------------------------ */
void jx_format_float(double f, char *buf, size_t len)
{
	if (isnan(f)) {
		snprintf(buf, len, "nan");
		return;
	}
	if (isinf(f)) {
		snprintf(buf, len, f < 0 ? "-inf" : "inf");
		return;
	}
	/* shortest %.Ne that round-trips */
	char tmp[64];
	int prec;
	for (prec = 0; prec < 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*e", prec, f);
		if (strtod(tmp, NULL) == f)
			break;
	}
	snprintf(tmp, sizeof tmp, "%.*e", prec, f);
	/* split into sign, digits, exponent */
	const char *p = tmp;
	bool neg = false;
	if (*p == '-') {
		neg = true;
		p++;
	}
	char digits[32];
	size_t nd = 0;
	while (*p && *p != 'e') {
		if (*p >= '0' && *p <= '9' && nd < sizeof digits - 1)
			digits[nd++] = *p;
		p++;
	}
	digits[nd] = 0;
	int exp = *p == 'e' ? atoi(p + 1) : 0;
	while (nd > 1 && digits[nd - 1] == '0')
		digits[--nd] = 0;
	char out[64];
	size_t o = 0;
	if (neg)
		out[o++] = '-';
	if (exp >= -4 && exp < 16) {
		if (exp < 0) {
			out[o++] = '0';
			out[o++] = '.';
			for (int i = 0; i < -exp - 1; i++)
				out[o++] = '0';
			for (size_t i = 0; i < nd; i++)
				out[o++] = digits[i];
		} else {
			for (int i = 0; i <= exp; i++)
				out[o++] = (size_t)i < nd ? digits[i] : '0';
			out[o++] = '.';
			if ((size_t)exp + 1 < nd) {
				for (size_t i = (size_t)exp + 1; i < nd; i++)
					out[o++] = digits[i];
			} else {
				out[o++] = '0';
			}
		}
		out[o] = 0;
	} else {
		out[o++] = digits[0];
		if (nd > 1) {
			out[o++] = '.';
			for (size_t i = 1; i < nd; i++)
				out[o++] = digits[i];
		}
		out[o] = 0;
		snprintf(out + o, sizeof out - o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	}
	snprintf(buf, len, "%s", out);
}

static void write_repr_str(jvm *m, jbuf *b, const char *p, size_t n)
{
	bool has_sq = memchr(p, '\'', n) != NULL, has_dq = memchr(p, '"', n) != NULL;
	char q = (has_sq && !has_dq) ? '"' : '\'';
	jb_putc(m, b, q);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		char esc[8];
		if (c == (unsigned char)q || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			jb_put(m, b, esc, 2);
		} else if (c == '\n') {
			jb_put(m, b, "\\n", 2);
		} else if (c == '\r') {
			jb_put(m, b, "\\r", 2);
		} else if (c == '\t') {
			jb_put(m, b, "\\t", 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof esc, "\\x%02x", c);
			jb_put(m, b, esc, 4);
		} else {
			jb_putc(m, b, (char)c);
		}
	}
	jb_putc(m, b, q);
}

void jv_write_repr(jvm *m, jbuf *b, jv v, int depth)
{
	if (depth > JX_MAX_VALUE_DEPTH)
		jvm_fail(m, HEARTH_ELIMIT, "value nested too deeply to print");
	switch (v.t) {
	case JV_STR: write_repr_str(m, b, v.u.s->p, v.u.s->len); return;
	case JV_LIST:
		jvm_charge(m, v.u.l->n);
		jb_putc(m, b, v.u.l->tuple ? '(' : '[');
		for (size_t i = 0; i < v.u.l->n; i++) {
			if (i)
				jb_put(m, b, ", ", 2);
			jv_write_repr(m, b, v.u.l->v[i], depth + 1);
		}
		if (v.u.l->tuple && v.u.l->n == 1)
			jb_putc(m, b, ',');
		jb_putc(m, b, v.u.l->tuple ? ')' : ']');
		return;
	case JV_DICT:
		jvm_charge(m, v.u.d->n);
		jb_putc(m, b, '{');
		for (size_t i = 0; i < v.u.d->n; i++) {
			if (i)
				jb_put(m, b, ", ", 2);
			jv_write_repr(m, b, v.u.d->k[i], depth + 1);
			jb_put(m, b, ": ", 2);
			jv_write_repr(m, b, v.u.d->v[i], depth + 1);
		}
		jb_putc(m, b, '}');
		return;
	case JV_UNDEF: jb_puts(m, b, "Undefined"); return;
	default: jv_write_str(m, b, v); return;
	}
}

void jv_write_str(jvm *m, jbuf *b, jv v)
{
	char tmp[64];
	switch (v.t) {
	case JV_UNDEF: return;
	case JV_NONE: jb_put(m, b, "None", 4); return;
	case JV_BOOL: jb_puts(m, b, v.u.b ? "True" : "False"); return;
	case JV_INT:
		snprintf(tmp, sizeof tmp, "%lld", (long long)v.u.i);
		jb_puts(m, b, tmp);
		return;
	case JV_FLOAT:
		jx_format_float(v.u.f, tmp, sizeof tmp);
		jb_puts(m, b, tmp);
		return;
	case JV_STR: jb_put(m, b, v.u.s->p, v.u.s->len); return;
	case JV_LIST:
	case JV_DICT: jv_write_repr(m, b, v, 0); return;
	case JV_NS:
		jb_puts(m, b, "<Namespace ");
		{
			jv d = v;
			d.t = JV_DICT;
			jv_write_repr(m, b, d, 0);
		}
		jb_putc(m, b, '>');
		return;
	case JV_LOOP: jb_puts(m, b, "<LoopContext>"); return;
	case JV_MACRO: jb_puts(m, b, "<Macro>"); return;
	case JV_BUILTIN: jb_puts(m, b, "<built-in function>"); return;
	case JV_METHOD: jb_puts(m, b, "<built-in method>"); return;
	}
}

struct jstr *jv_to_str(jvm *m, jv v)
{
	if (v.t == JV_STR)
		return v.u.s;
	jbuf b = {0};
	jv_write_str(m, &b, v);
	return jstr_new(m, b.p ? b.p : "", b.n);
}

static void write_json_str(jvm *m, jbuf *b, const char *p, size_t n)
{
	jb_putc(m, b, '"');
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		const char *esc = NULL;
		char tmp[8];
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		default:
			if (c < 0x20) {
				snprintf(tmp, sizeof tmp, "\\u%04x", c);
				esc = tmp;
			}
		}
		if (esc) {
			jb_put(m, b, p + run, i - run);
			jb_puts(m, b, esc);
			run = i + 1;
		}
	}
	jb_put(m, b, p + run, n - run);
	jb_putc(m, b, '"');
}

static void json_newline(jvm *m, jbuf *b, int indent, int level)
{
	jb_putc(m, b, '\n');
	for (int i = 0; i < indent * level; i++)
		jb_putc(m, b, ' ');
}

static void write_json_level(jvm *m, jbuf *b, jv v, int indent, bool sort_keys, int depth);

static void write_json_key(jvm *m, jbuf *b, jv k)
{
	char tmp[64];
	switch (k.t) {
	case JV_STR: write_json_str(m, b, k.u.s->p, k.u.s->len); return;
	case JV_INT: snprintf(tmp, sizeof tmp, "\"%lld\"", (long long)k.u.i); break;
	case JV_FLOAT: {
		char f[48];
		jx_format_float(k.u.f, f, sizeof f);
		snprintf(tmp, sizeof tmp, "\"%s\"", f);
		break;
	}
	case JV_BOOL: snprintf(tmp, sizeof tmp, "\"%s\"", k.u.b ? "true" : "false"); break;
	case JV_NONE: snprintf(tmp, sizeof tmp, "\"null\""); break;
	default: jvm_fail(m, HEARTH_ETYPE, "keys must be str, int, float, bool or None, not %s", jv_type_name(k));
	}
	jb_puts(m, b, tmp);
}

static void write_json_level(jvm *m, jbuf *b, jv v, int indent, bool sort_keys, int depth)
{
	char tmp[64];
	if (depth > JX_MAX_VALUE_DEPTH)
		jvm_fail(m, HEARTH_ELIMIT, "value nested too deeply for tojson");
	switch (v.t) {
	case JV_NONE: jb_puts(m, b, "null"); return;
	case JV_BOOL: jb_puts(m, b, v.u.b ? "true" : "false"); return;
	case JV_INT:
		snprintf(tmp, sizeof tmp, "%lld", (long long)v.u.i);
		jb_puts(m, b, tmp);
		return;
	case JV_FLOAT:
		if (isnan(v.u.f))
			jb_puts(m, b, "NaN");
		else if (isinf(v.u.f))
			jb_puts(m, b, v.u.f < 0 ? "-Infinity" : "Infinity");
		else {
			jx_format_float(v.u.f, tmp, sizeof tmp);
			jb_puts(m, b, tmp);
		}
		return;
	case JV_STR: write_json_str(m, b, v.u.s->p, v.u.s->len); return;
	case JV_LIST: {
		struct jlist *l = v.u.l;
		jvm_charge(m, l->n);
		if (l->n == 0) {
			jb_puts(m, b, "[]");
			return;
		}
		jb_putc(m, b, '[');
		for (size_t i = 0; i < l->n; i++) {
			if (i)
				jb_puts(m, b, indent >= 0 ? "," : ", ");
			if (indent >= 0)
				json_newline(m, b, indent, depth + 1);
			write_json_level(m, b, l->v[i], indent, sort_keys, depth + 1);
		}
		if (indent >= 0)
			json_newline(m, b, indent, depth);
		jb_putc(m, b, ']');
		return;
	}
	case JV_DICT:
	case JV_NS: {
		struct jdict *d = v.u.d;
		jvm_charge(m, d->n);
		if (d->n == 0) {
			jb_puts(m, b, "{}");
			return;
		}
		size_t *order = ja_alloc(m->arena, m->fail, d->n * sizeof *order);
		for (size_t i = 0; i < d->n; i++)
			order[i] = i;
		if (sort_keys) {
			/* insertion sort: dicts in templates are small; charged anyway */
			jvm_charge(m, d->n * d->n);
			for (size_t i = 1; i < d->n; i++) {
				size_t x = order[i], j = i;
				while (j > 0 && jv_cmp(m, d->k[order[j - 1]], d->k[x]) > 0) {
					order[j] = order[j - 1];
					j--;
				}
				order[j] = x;
			}
		}
		jb_putc(m, b, '{');
		for (size_t i = 0; i < d->n; i++) {
			if (i)
				jb_puts(m, b, indent >= 0 ? "," : ", ");
			if (indent >= 0)
				json_newline(m, b, indent, depth + 1);
			write_json_key(m, b, d->k[order[i]]);
			jb_puts(m, b, ": ");
			write_json_level(m, b, d->v[order[i]], indent, sort_keys, depth + 1);
		}
		if (indent >= 0)
			json_newline(m, b, indent, depth);
		jb_putc(m, b, '}');
		return;
	}
	default: jvm_fail(m, HEARTH_ETYPE, "Object of type %s is not JSON serializable", jv_type_name(v));
	}
}

void jv_write_json(jvm *m, jbuf *b, jv v, int indent, bool sort_keys, int depth)
{
	write_json_level(m, b, v, indent, sort_keys, depth);
}

/* ---- JSON import ----------------------------------------------------------- */
jv jv_from_json(jvm *m, const void *jsonp, int depth)
{
	const json_t *j = jsonp;
	if (depth > JX_MAX_VALUE_DEPTH)
		jvm_fail(m, HEARTH_ELIMIT, "JSON nested too deeply (more than %d levels)", JX_MAX_VALUE_DEPTH);
	jvm_charge(m, 1);
	switch (json_typeof(j)) {
	case JSON_NULL: return jv_none();
	case JSON_TRUE: return jv_bool(true);
	case JSON_FALSE: return jv_bool(false);
	case JSON_INTEGER: return jv_int((int64_t)json_integer_value(j));
	case JSON_REAL: return jv_float(json_real_value(j));
	case JSON_STRING: return jv_str(m, json_string_value(j), json_string_length(j));
	case JSON_ARRAY: {
		size_t n = json_array_size(j);
		jv l = jv_list(m, n);
		for (size_t i = 0; i < n; i++)
			jl_push(m, l.u.l, jv_from_json(m, json_array_get(j, i), depth + 1));
		return l;
	}
	case JSON_OBJECT: {
		jv d = jv_dict(m, json_object_size(j));
		const char *key;
		json_t *val;
		/* keys are unique in a jansson object: append without searching */
		json_object_foreach((json_t *)j, key, val) {
			struct jdict *dd = d.u.d;
			HX_ASSERT(dd->n < dd->cap);
			dd->k[dd->n] = jv_cstr(m, key);
			dd->v[dd->n] = jv_from_json(m, val, depth + 1);
			dd->n++;
		}
		return d;
	}
	}
	return jv_undef();
}
