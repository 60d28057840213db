/*
 * jinja_builtins.c - filters, tests, methods and global functions of the Jinja
 * interpreter, with Python/Jinja2 semantics for what chat templates use.
 *
 * Strings are UTF-8; lengths, indices and find() results count code points as
 * Python does.  Case mapping uses utf8proc's simple mappings.  Nothing here can
 * touch files or the network; strftime_now() reads only the clock.  Every copy or
 * scan proportional to an input's size charges the work budget.
 */
#include "chat/jinja.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

/* ---- argument helpers ------------------------------------------------------- */
static bool arg_get(const struct jx_args *a, size_t pos, const char *name, jv *out)
{
	if (name)
		for (size_t i = 0; i < a->n; i++)
			if (a->names[i] && !strcmp(a->names[i], name)) {
				*out = a->v[i];
				return true;
			}
	size_t k = 0;
	for (size_t i = 0; i < a->n; i++) {
		if (a->names[i])
			continue;
		if (k == pos) {
			*out = a->v[i];
			return true;
		}
		k++;
	}
	return false;
}

static jv arg(const struct jx_args *a, size_t pos, const char *name, jv dflt)
{
	jv v;
	return arg_get(a, pos, name, &v) ? v : dflt;
}

static size_t n_positional(const struct jx_args *a)
{
	size_t k = 0;
	for (size_t i = 0; i < a->n; i++)
		if (!a->names[i])
			k++;
	return k;
}

struct jstr *jx_str_arg(jvm *m, jv v, const char *what)
{
	if (v.t != JV_STR)
		jvm_fail(m, HEARTH_ETYPE, "%s must be a string, not %s", what, jv_type_name(v));
	return v.u.s;
}

static int64_t int_arg(jvm *m, jv v, const char *what)
{
	if (v.t == JV_INT)
		return v.u.i;
	if (v.t == JV_BOOL)
		return v.u.b;
	jvm_fail(m, HEARTH_ETYPE, "%s must be an integer, not %s", what, jv_type_name(v));
}

/* soft string: undefined -> "", strings as is, others str() */
static struct jstr *soft_str(jvm *m, jv v)
{
	if (v.t == JV_UNDEF)
		return jstr_new(m, "", 0);
	return jv_to_str(m, v);
}

/* ---- string helpers --------------------------------------------------------- */
typedef int32_t (*cp_map)(int32_t);
static int32_t map_upper(int32_t c) { return utf8proc_toupper(c); }
static int32_t map_lower(int32_t c) { return utf8proc_tolower(c); }
static int32_t map_title(int32_t c) { return utf8proc_totitle(c); }

static bool is_cased(int32_t c)
{
	utf8proc_category_t cat = utf8proc_category(c);
	return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
}

static jv str_map(jvm *m, struct jstr *s, int mode)
{
	/* mode 0 upper, 1 lower, 2 capitalize, 3 str.title, 4 jinja title filter */
	jbuf b = {0};
	jvm_charge(m, s->len / 8);
	size_t i = 0;
	bool first = true, prev_cased = false;
	while (i < s->len) {
		int32_t cp;
		size_t k = ju_decode(s->p + i, s->len - i, &cp);
		int32_t out = cp;
		if (k == 1 && (unsigned char)s->p[i] >= 0x80) {
			jb_put(m, &b, s->p + i, 1); /* invalid byte: keep */
			i++;
			first = false;
			prev_cased = false;
			continue;
		}
		switch (mode) {
		case 0: out = map_upper(cp); break;
		case 1: out = map_lower(cp); break;
		case 2: out = first ? map_upper(cp) : map_lower(cp); break;
		case 3:
			out = prev_cased ? map_lower(cp) : map_title(cp);
			prev_cased = is_cased(cp);
			break;
		case 4: {
			bool sep = ju_is_space(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<';
			out = sep ? cp : (prev_cased ? map_lower(cp) : map_upper(cp));
			prev_cased = !sep;
			break;
		}
		}
		char enc[4];
		jb_put(m, &b, enc, ju_encode(out, enc));
		i += k;
		first = false;
	}
	return jv_str(m, b.p ? b.p : "", b.n);
}

static bool in_chars(int32_t cp, const struct jstr *chars)
{
	size_t i = 0;
	while (i < chars->len) {
		int32_t c;
		i += ju_decode(chars->p + i, chars->len - i, &c);
		if (c == cp)
			return true;
	}
	return false;
}

static bool strip_match(int32_t cp, const struct jstr *chars)
{
	return chars ? in_chars(cp, chars) : ju_is_space(cp);
}

/* which: 1 left, 2 right, 3 both; chars NULL = whitespace */
static jv str_strip(jvm *m, struct jstr *s, const struct jstr *chars, int which)
{
	size_t a = 0, b = s->len;
	jvm_charge(m, s->len / 16);
	if (which & 1) {
		while (a < b) {
			int32_t cp;
			size_t k = ju_decode(s->p + a, b - a, &cp);
			if (!strip_match(cp, chars))
				break;
			a += k;
		}
	}
	if (which & 2) {
		while (b > a) {
			size_t st = b - 1;
			while (st > a && ((unsigned char)s->p[st] & 0xC0) == 0x80 && b - st < 4)
				st--;
			int32_t cp;
			size_t k = ju_decode(s->p + st, b - st, &cp);
			if (st + k != b) {
				st = b - 1;
				cp = (unsigned char)s->p[st];
			}
			if (!strip_match(cp, chars))
				break;
			b = st;
		}
	}
	if (a == 0 && b == s->len)
		return jv_strobj(s);
	return jv_str(m, s->p + a, b - a);
}

static const struct jstr *chars_arg(jvm *m, jv v)
{
	if (v.t == JV_UNDEF || v.t == JV_NONE)
		return NULL;
	return jx_str_arg(m, v, "strip characters");
}

static jv str_split(jvm *m, struct jstr *s, jv sepv, int64_t maxsplit, bool from_right)
{
	jv out = jv_list(m, 0);
	jvm_charge(m, s->len / 8 + 1);
	if (sepv.t == JV_UNDEF || sepv.t == JV_NONE) {
		/* runs of whitespace, no empty strings */
		size_t n = s->len;
		if (!from_right) {
			size_t i = 0;
			while (i < n) {
				int32_t cp;
				size_t k;
				while (i < n && (k = ju_decode(s->p + i, n - i, &cp), ju_is_space(cp)))
					i += k;
				if (i >= n)
					break;
				if (maxsplit >= 0 && (int64_t)out.u.l->n >= maxsplit) {
					size_t e = n;
					jv rest = str_strip(m, jstr_new(m, s->p + i, e - i), NULL, 2);
					jl_push(m, out.u.l, rest);
					break;
				}
				size_t st = i;
				while (i < n && (k = ju_decode(s->p + i, n - i, &cp), !ju_is_space(cp)))
					i += k;
				jl_push(m, out.u.l, jv_str(m, s->p + st, i - st));
			}
			return out;
		}
		/* from the right: split all, then join the leading part if maxsplit */
		jv all = str_split(m, s, jv_none(), -1, false);
		struct jlist *l = all.u.l;
		if (maxsplit < 0 || (size_t)maxsplit >= l->n || l->n == 0)
			return all;
		/* keep the last maxsplit words; the rest is the stripped prefix */
		size_t keep = (size_t)maxsplit, head_words = l->n - keep;
		/* find the end of the head_words-th word in s */
		size_t i = 0, words = 0, end = 0;
		while (i < s->len && words < head_words) {
			int32_t cp;
			size_t k;
			while (i < s->len && (k = ju_decode(s->p + i, s->len - i, &cp), ju_is_space(cp)))
				i += k;
			while (i < s->len && (k = ju_decode(s->p + i, s->len - i, &cp), !ju_is_space(cp)))
				i += k;
			words++;
			end = i;
		}
		jv r = jv_list(m, keep + 1);
		jl_push(m, r.u.l, str_strip(m, jstr_new(m, s->p, end), NULL, 1));
		for (size_t k = head_words; k < l->n; k++)
			jl_push(m, r.u.l, l->v[k]);
		return r;
	}
	struct jstr *sep = jx_str_arg(m, sepv, "separator");
	if (sep->len == 0)
		jvm_fail(m, HEARTH_EINVAL, "empty separator");
	if (!from_right) {
		size_t i = 0;
		for (;;) {
			const char *f = NULL;
			if (maxsplit < 0 || (int64_t)out.u.l->n < maxsplit)
				f = memmem(s->p + i, s->len - i, sep->p, sep->len);
			if (!f) {
				jl_push(m, out.u.l, jv_str(m, s->p + i, s->len - i));
				return out;
			}
			size_t at = (size_t)(f - s->p);
			jl_push(m, out.u.l, jv_str(m, s->p + i, at - i));
			i = at + sep->len;
		}
	}
	/* rsplit with a separator: collect from the right, then reverse */
	jv rev = jv_list(m, 0);
	size_t end = s->len;
	for (;;) {
		size_t found = SIZE_MAX;
		if ((maxsplit < 0 || (int64_t)rev.u.l->n < maxsplit) && end >= sep->len) {
			for (size_t p = end - sep->len + 1; p-- > 0;)
				if (memcmp(s->p + p, sep->p, sep->len) == 0) {
					found = p;
					break;
				}
		}
		if (found == SIZE_MAX) {
			jl_push(m, rev.u.l, jv_str(m, s->p, end));
			break;
		}
		jl_push(m, rev.u.l, jv_str(m, s->p + found + sep->len, end - found - sep->len));
		end = found;
	}
	for (size_t k = rev.u.l->n; k-- > 0;)
		jl_push(m, out.u.l, rev.u.l->v[k]);
	return out;
}

static jv str_replace(jvm *m, struct jstr *s, struct jstr *old, struct jstr *nw, int64_t count)
{
	jbuf b = {0};
	jvm_charge(m, s->len / 8 + 1);
	if (old->len == 0) {
		/* Python inserts `new` before every code point and at the end */
		size_t i = 0;
		int64_t done = 0;
		while (count < 0 || done < count) {
			jb_put(m, &b, nw->p, nw->len);
			done++;
			if (i >= s->len)
				break;
			int32_t cp;
			size_t k = ju_decode(s->p + i, s->len - i, &cp);
			jb_put(m, &b, s->p + i, k);
			i += k;
		}
		jb_put(m, &b, s->p + i, s->len - i);
		return jv_str(m, b.p ? b.p : "", b.n);
	}
	size_t i = 0;
	int64_t done = 0;
	while (count < 0 || done < count) {
		const char *f = memmem(s->p + i, s->len - i, old->p, old->len);
		if (!f)
			break;
		size_t at = (size_t)(f - s->p);
		jb_put(m, &b, s->p + i, at - i);
		jb_put(m, &b, nw->p, nw->len);
		i = at + old->len;
		done++;
	}
	if (done == 0)
		return jv_strobj(s);
	jb_put(m, &b, s->p + i, s->len - i);
	return jv_str(m, b.p ? b.p : "", b.n);
}

static bool str_has_affix(jvm *m, struct jstr *s, jv affix, bool suffix)
{
	if (affix.t == JV_LIST) {
		for (size_t i = 0; i < affix.u.l->n; i++)
			if (str_has_affix(m, s, affix.u.l->v[i], suffix))
				return true;
		return false;
	}
	struct jstr *a = jx_str_arg(m, affix, suffix ? "endswith argument" : "startswith argument");
	if (a->len > s->len)
		return false;
	return memcmp(suffix ? s->p + s->len - a->len : s->p, a->p, a->len) == 0;
}

/* index in code points of the first/last occurrence, or -1 */
static int64_t str_find(jvm *m, struct jstr *s, struct jstr *sub, bool last)
{
	jvm_charge(m, s->len / 8 + 1);
	const char *f = NULL;
	if (!last) {
		f = sub->len ? memmem(s->p, s->len, sub->p, sub->len) : s->p;
	} else if (sub->len <= s->len) {
		for (size_t p = s->len - sub->len + 1; p-- > 0;)
			if (memcmp(s->p + p, sub->p, sub->len) == 0) {
				f = s->p + p;
				break;
			}
	}
	if (!f)
		return -1;
	return (int64_t)ju_count(s->p, (size_t)(f - s->p));
}

static int64_t str_count(jvm *m, struct jstr *s, struct jstr *sub)
{
	jvm_charge(m, s->len / 8 + 1);
	if (sub->len == 0)
		return (int64_t)ju_count(s->p, s->len) + 1;
	int64_t n = 0;
	size_t i = 0;
	const char *f;
	while ((f = memmem(s->p + i, s->len - i, sub->p, sub->len))) {
		n++;
		i = (size_t)(f - s->p) + sub->len;
	}
	return n;
}

/* Python str.format with {} {0} {name} and {{ }}; format specs are not supported. */
static jv str_dot_format(jvm *m, struct jstr *fmt, const struct jx_args *args)
{
	jbuf b = {0};
	size_t auto_idx = 0;
	for (size_t i = 0; i < fmt->len; i++) {
		char c = fmt->p[i];
		if (c == '{' && i + 1 < fmt->len && fmt->p[i + 1] == '{') {
			jb_putc(m, &b, '{');
			i++;
			continue;
		}
		if (c == '}' && i + 1 < fmt->len && fmt->p[i + 1] == '}') {
			jb_putc(m, &b, '}');
			i++;
			continue;
		}
		if (c != '{') {
			jb_putc(m, &b, c);
			continue;
		}
		size_t e = i + 1;
		while (e < fmt->len && fmt->p[e] != '}')
			e++;
		if (e >= fmt->len)
			jvm_fail(m, HEARTH_EINVAL, "single '{' encountered in format string");
		char field[64];
		size_t fl = HX_MIN(e - i - 1, sizeof field - 1);
		memcpy(field, fmt->p + i + 1, fl);
		field[fl] = 0;
		if (strchr(field, ':') || strchr(field, '!'))
			jvm_fail(m, HEARTH_EUNSUPPORTED, "format specs are not supported in str.format");
		jv v;
		bool ok;
		if (fl == 0) {
			ok = arg_get(args, auto_idx++, NULL, &v);
		} else if (field[0] >= '0' && field[0] <= '9') {
			ok = arg_get(args, (size_t)atoi(field), NULL, &v);
		} else {
			ok = false;
			for (size_t k = 0; k < args->n; k++)
				if (args->names[k] && !strcmp(args->names[k], field)) {
					v = args->v[k];
					ok = true;
				}
		}
		if (!ok)
			jvm_fail(m, HEARTH_EINVAL, "format field '%s' has no argument", field);
		jv_write_str(m, &b, v);
		i = e;
	}
	return jv_str(m, b.p ? b.p : "", b.n);
}

/* ---- attribute paths (map/selectattr/sort attribute="a.b.0") ----------------- */
static jv get_path(jvm *m, jv obj, struct jstr *path)
{
	size_t i = 0;
	while (i <= path->len) {
		size_t e = i;
		while (e < path->len && path->p[e] != '.')
			e++;
		bool digits = e > i;
		for (size_t k = i; k < e; k++)
			if (path->p[k] < '0' || path->p[k] > '9')
				digits = false;
		jv key;
		if (digits && e - i < 18)
			key = jv_int(strtoll(path->p + i, NULL, 10));
		else
			key = jv_str(m, path->p + i, e - i);
		obj = jx_getattr(m, obj, key);
		if (e >= path->len)
			break;
		i = e + 1;
	}
	return obj;
}

/* ---- sorting: stable merge sort over precomputed keys ------------------------ */
static jv sort_key(jvm *m, jv v, jv attr, bool case_sensitive)
{
	if (attr.t == JV_STR)
		v = get_path(m, v, attr.u.s);
	if (!case_sensitive && v.t == JV_STR)
		v = str_map(m, v.u.s, 1);
	return v;
}

static void merge_sort(jvm *m, size_t *idx, size_t *tmp, size_t n, const jv *keys, bool reverse)
{
	if (n < 2)
		return;
	size_t h = n / 2;
	merge_sort(m, idx, tmp, h, keys, reverse);
	merge_sort(m, idx + h, tmp, n - h, keys, reverse);
	jvm_charge(m, n);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n) {
		int c = jv_cmp(m, keys[idx[j]], keys[idx[i]]);
		if (reverse)
			c = -c;
		if (c < 0)
			tmp[k++] = idx[j++];
		else
			tmp[k++] = idx[i++];
	}
	while (i < h)
		tmp[k++] = idx[i++];
	while (j < n)
		tmp[k++] = idx[j++];
	memcpy(idx, tmp, n * sizeof *idx);
}

static jv sorted(jvm *m, struct jlist *l, bool reverse, bool case_sensitive, jv attr)
{
	size_t n = l->n;
	jv *keys = ja_alloc(m->arena, m->fail, (n + 1) * sizeof *keys);
	size_t *idx = ja_alloc(m->arena, m->fail, (n + 1) * sizeof *idx);
	size_t *tmp = ja_alloc(m->arena, m->fail, (n + 1) * sizeof *tmp);
	for (size_t i = 0; i < n; i++) {
		keys[i] = sort_key(m, l->v[i], attr, case_sensitive);
		idx[i] = i;
	}
	merge_sort(m, idx, tmp, n, keys, reverse);
	jv out = jv_list(m, n);
	for (size_t i = 0; i < n; i++)
		jl_push(m, out.u.l, l->v[idx[i]]);
	return out;
}

/* ---- filters ---------------------------------------------------------------- */
static const char *const k_filters[] = {
	"abs", "attr", "batch", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
	"forceescape", "format", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max",
	"min", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort",
	"string", "strip", "sum", "title", "tojson", "trim", "unique", "upper", "wordcount",
};

bool jx_has_filter(const char *name)
{
	for (size_t i = 0; i < HX_ARRAY_LEN(k_filters); i++)
		if (!strcmp(k_filters[i], name))
			return true;
	return false;
}

static jv html_escape(jvm *m, struct jstr *s)
{
	jbuf b = {0};
	for (size_t i = 0; i < s->len; i++) {
		switch (s->p[i]) {
		case '&': jb_puts(m, &b, "&amp;"); break;
		case '<': jb_puts(m, &b, "&lt;"); break;
		case '>': jb_puts(m, &b, "&gt;"); break;
		case '"': jb_puts(m, &b, "&#34;"); break;
		case '\'': jb_puts(m, &b, "&#39;"); break;
		default: jb_putc(m, &b, s->p[i]);
		}
	}
	return jv_str(m, b.p ? b.p : "", b.n);
}

/* args shifted by one positional (for map/select: name, then the rest) */
static struct jx_args shift_args(jvm *m, const struct jx_args *a, size_t skip)
{
	struct jx_args r = {0};
	r.v = ja_alloc(m->arena, m->fail, (a->n + 1) * sizeof *r.v);
	r.names = ja_alloc(m->arena, m->fail, (a->n + 1) * sizeof *r.names);
	size_t pos = 0;
	for (size_t i = 0; i < a->n; i++) {
		if (!a->names[i] && pos++ < skip)
			continue;
		r.v[r.n] = a->v[i];
		r.names[r.n] = a->names[i];
		r.n++;
	}
	return r;
}

static jv select_impl(jvm *m, jv in, const struct jx_args *a, bool by_attr, bool keep, void *rctx)
{
	/* Jinja2 iterates only a truthy input ("if seq:"), so false/0/none give [] */
	struct jlist *l = jx_iter_list(m, jv_truthy(in) ? in : jv_undef());
	jv out = jv_list(m, 0);
	jv attr = jv_undef();
	size_t skip = 0;
	if (by_attr) {
		attr = arg(a, 0, NULL, jv_undef());
		jx_str_arg(m, attr, "attribute");
		skip = 1;
	}
	jv testv = arg(a, skip, NULL, jv_undef());
	struct jstr *test = testv.t == JV_UNDEF ? NULL : jx_str_arg(m, testv, "test name");
	if (test && !jx_has_test(test->p))
		jvm_fail(m, HEARTH_EFORMAT, "unknown test '%s'", test->p);
	struct jx_args rest = shift_args(m, a, skip + 1);
	for (size_t i = 0; i < l->n; i++) {
		jvm_charge(m, 1);
		jv v = by_attr ? get_path(m, l->v[i], attr.u.s) : l->v[i];
		bool r = test ? jx_call_test(m, test->p, v, &rest, rctx) : jv_truthy(v);
		if (r == keep)
			jl_push(m, out.u.l, l->v[i]);
	}
	return out;
}

static jv do_round(jvm *m, jv in, const struct jx_args *a)
{
	if (!jv_is_num(in))
		jvm_fail(m, HEARTH_ETYPE, "round expects a number, not %s", jv_type_name(in));
	int64_t prec = int_arg(m, arg(a, 0, "precision", jv_int(0)), "precision");
	jv methv = arg(a, 1, "method", jv_undef());
	const char *meth = methv.t == JV_STR ? methv.u.s->p : "common";
	double x = jv_num(in);
	if (prec < -300 || prec > 300)
		jvm_fail(m, HEARTH_EINVAL, "round precision out of range");
	/* Jinja2 calls Python's round() for "common": integers stay integers and
	 * halves go to the even neighbour */
	if (!strcmp(meth, "common") && in.t != JV_FLOAT && prec >= 0)
		return jv_int(in.t == JV_INT ? in.u.i : in.u.b);
	if (!strcmp(meth, "common") && prec >= 0 && isfinite(x)) {
		/* correctly rounded decimal, ties to even on the exact binary value, as
		 * Python's round(x, n) does (2.675 -> 2.67) */
		char buf[400];
		snprintf(buf, sizeof buf, "%.*f", (int)prec, x);
		return jv_float(strtod(buf, NULL));
	}
	double f = pow(10.0, (double)prec);
	double y = x * f, r;
	if (!strcmp(meth, "common"))
		r = nearbyint(y);
	else if (!strcmp(meth, "ceil"))
		r = ceil(y);
	else if (!strcmp(meth, "floor"))
		r = floor(y);
	else
		jvm_fail(m, HEARTH_EINVAL, "method must be common, ceil or floor");
	return jv_float(r / f);
}

static jv list_minmax(jvm *m, jv in, const struct jx_args *a, bool want_max)
{
	struct jlist *l = jx_iter_list(m, in);
	bool cs = jv_truthy(arg(a, 0, "case_sensitive", jv_bool(false)));
	jv attr = arg(a, 1, "attribute", jv_undef());
	if (l->n == 0)
		return jv_undef();
	size_t best = 0;
	jv bk = sort_key(m, l->v[0], attr, cs);
	for (size_t i = 1; i < l->n; i++) {
		jv k = sort_key(m, l->v[i], attr, cs);
		int c = jv_cmp(m, k, bk);
		if (want_max ? c > 0 : c < 0) {
			best = i;
			bk = k;
		}
	}
	return l->v[best];
}

jv jx_call_filter(jvm *m, const char *name, jv in, const struct jx_args *a, void *rctx)
{
	jvm_charge(m, 1);
	switch (name[0]) {
	case 'a':
		if (!strcmp(name, "abs")) {
			if (in.t == JV_INT) {
				if (in.u.i == INT64_MIN)
					jvm_fail(m, HEARTH_ELIMIT, "integer overflow");
				return jv_int(in.u.i < 0 ? -in.u.i : in.u.i);
			}
			if (in.t == JV_BOOL)
				return jv_int(in.u.b);
			if (in.t == JV_FLOAT)
				return jv_float(fabs(in.u.f));
			jvm_fail(m, HEARTH_ETYPE, "bad operand type for abs(): '%s'", jv_type_name(in));
		}
		if (!strcmp(name, "attr")) {
			/* Jinja2's attr looks up attributes only, never dict items */
			jv key = arg(a, 0, "name", jv_undef());
			if (in.t == JV_DICT && !(key.t == JV_STR && jx_has_method(in, key.u.s->p)))
				return jv_undef();
			return jx_getattr(m, in, key);
		}
		break;
	case 'b':
		if (!strcmp(name, "batch")) {
			int64_t size = int_arg(m, arg(a, 0, "linecount", jv_undef()), "linecount");
			if (size <= 0)
				jvm_fail(m, HEARTH_EINVAL, "batch size must be positive");
			jv fill;
			bool has_fill = arg_get(a, 1, "fill_with", &fill) && fill.t != JV_NONE;
			struct jlist *l = jx_iter_list(m, in);
			jv out = jv_list(m, 0);
			jv cur = jv_undef();
			for (size_t i = 0; i < l->n; i++) {
				if (cur.t == JV_UNDEF)
					cur = jv_list(m, 0);
				jl_push(m, cur.u.l, l->v[i]);
				if ((int64_t)cur.u.l->n == size) {
					jl_push(m, out.u.l, cur);
					cur = jv_undef();
				}
			}
			if (cur.t != JV_UNDEF) {
				while (has_fill && (int64_t)cur.u.l->n < size)
					jl_push(m, cur.u.l, fill);
				jl_push(m, out.u.l, cur);
			}
			return out;
		}
		break;
	case 'c':
		if (!strcmp(name, "capitalize"))
			return str_map(m, soft_str(m, in), 2);
		if (!strcmp(name, "count"))
			return jx_call_filter(m, "length", in, a, rctx);
		break;
	case 'd':
		if (!strcmp(name, "d") || !strcmp(name, "default")) {
			jv dflt = arg(a, 0, "default_value", jv_str(m, "", 0));
			bool boolean = jv_truthy(arg(a, 1, "boolean", jv_bool(false)));
			if (in.t == JV_UNDEF || (boolean && !jv_truthy(in)))
				return dflt;
			return in;
		}
		if (!strcmp(name, "dictsort")) {
			if (in.t != JV_DICT && in.t != JV_NS)
				jvm_fail(m, HEARTH_ETYPE, "dictsort expects a mapping, not %s", jv_type_name(in));
			bool cs = jv_truthy(arg(a, 0, "case_sensitive", jv_bool(false)));
			jv by = arg(a, 1, "by", jv_undef());
			bool rev = jv_truthy(arg(a, 2, "reverse", jv_bool(false)));
			bool by_value = by.t == JV_STR && !strcmp(by.u.s->p, "value");
			jv pairs = jv_list(m, in.u.d->n);
			for (size_t i = 0; i < in.u.d->n; i++) {
				jv p = jv_list(m, 2);
				p.u.l->tuple = true;
				jl_push(m, p.u.l, in.u.d->k[i]);
				jl_push(m, p.u.l, in.u.d->v[i]);
				jl_push(m, pairs.u.l, p);
			}
			return sorted(m, pairs.u.l, rev, cs, jv_cstr(m, by_value ? "1" : "0"));
		}
		break;
	case 'e':
		if (!strcmp(name, "e") || !strcmp(name, "escape"))
			return html_escape(m, soft_str(m, in));
		break;
	case 'f':
		if (!strcmp(name, "first")) {
			if (in.t == JV_LIST)
				return in.u.l->n ? in.u.l->v[0] : jv_undef();
			struct jlist *l = jx_iter_list(m, in);
			return l->n ? l->v[0] : jv_undef();
		}
		if (!strcmp(name, "float")) {
			jv dflt = arg(a, 0, "default", jv_float(0.0));
			if (jv_is_num(in))
				return jv_float(jv_num(in));
			if (in.t == JV_STR) {
				char *end;
				jv t = str_strip(m, in.u.s, NULL, 3);
				double f = strtod(t.u.s->p, &end);
				if (t.u.s->len && *end == 0)
					return jv_float(f);
			}
			return dflt;
		}
		if (!strcmp(name, "forceescape"))
			return html_escape(m, soft_str(m, in));
		if (!strcmp(name, "format")) {
			jv args = jv_list(m, a->n);
			for (size_t i = 0; i < a->n; i++)
				if (!a->names[i])
					jl_push(m, args.u.l, a->v[i]);
			return jx_str_format(m, soft_str(m, in), args);
		}
		break;
	case 'i':
		if (!strcmp(name, "indent")) {
			struct jstr *s = soft_str(m, in);
			jv w = arg(a, 0, "width", jv_int(4));
			bool first = jv_truthy(arg(a, 1, "first", jv_bool(false)));
			bool blank = jv_truthy(arg(a, 2, "blank", jv_bool(false)));
			struct jstr *pad;
			if (w.t == JV_STR) {
				pad = w.u.s;
			} else {
				int64_t n = int_arg(m, w, "width");
				if (n < 0 || n > 1000)
					jvm_fail(m, HEARTH_EINVAL, "indent width out of range");
				char sp[1001];
				memset(sp, ' ', (size_t)n);
				pad = jstr_new(m, sp, (size_t)n);
			}
			jbuf b = {0};
			size_t i = 0;
			bool line_first = true;
			jvm_charge(m, s->len / 8);
			while (i <= s->len) {
				size_t e = i;
				while (e < s->len && s->p[e] != '\n')
					e++;
				bool empty = e == i;
				if ((line_first ? first : true) && (blank || !empty))
					jb_put(m, &b, pad->p, pad->len);
				jb_put(m, &b, s->p + i, e - i);
				if (e >= s->len)
					break;
				jb_putc(m, &b, '\n');
				i = e + 1;
				line_first = false;
			}
			return jv_str(m, b.p ? b.p : "", b.n);
		}
		if (!strcmp(name, "int")) {
			jv dflt = arg(a, 0, "default", jv_int(0));
			if (in.t == JV_INT)
				return in;
			if (in.t == JV_BOOL)
				return jv_int(in.u.b);
			if (in.t == JV_FLOAT) {
				if (!(in.u.f > -9.2e18 && in.u.f < 9.2e18))
					return dflt;
				return jv_int((int64_t)in.u.f);
			}
			if (in.t == JV_STR) {
				jv t = str_strip(m, in.u.s, NULL, 3);
				char *end;
				long long v = strtoll(t.u.s->p, &end, 10);
				if (t.u.s->len && *end == 0)
					return jv_int(v);
				double f = strtod(t.u.s->p, &end);
				if (t.u.s->len && *end == 0 && f > -9.2e18 && f < 9.2e18)
					return jv_int((int64_t)f);
			}
			return dflt;
		}
		if (!strcmp(name, "items")) {
			if (in.t == JV_UNDEF)
				return jv_list(m, 0);
			if (in.t != JV_DICT && in.t != JV_NS)
				jvm_fail(m, HEARTH_ETYPE, "items expects a mapping, not %s", jv_type_name(in));
			struct jx_args none = {0};
			return jx_call_method(m, in, "items", &none, rctx);
		}
		break;
	case 'j':
		if (!strcmp(name, "join")) {
			jv sepv = arg(a, 0, "d", jv_str(m, "", 0));
			struct jstr *sep = soft_str(m, sepv);
			jv attr = arg(a, 1, "attribute", jv_undef());
			struct jlist *l = jx_iter_list(m, in);
			jbuf b = {0};
			jvm_charge(m, l->n);
			for (size_t i = 0; i < l->n; i++) {
				if (i)
					jb_put(m, &b, sep->p, sep->len);
				jv v = attr.t == JV_STR ? get_path(m, l->v[i], attr.u.s) : l->v[i];
				jv_write_str(m, &b, v);
			}
			return jv_str(m, b.p ? b.p : "", b.n);
		}
		break;
	case 'l':
		if (!strcmp(name, "last")) {
			struct jlist *l = in.t == JV_LIST ? in.u.l : jx_iter_list(m, in);
			return l->n ? l->v[l->n - 1] : jv_undef();
		}
		if (!strcmp(name, "length")) {
			switch (in.t) {
			case JV_UNDEF: return jv_int(0);
			case JV_STR: return jv_int((int64_t)ju_count(in.u.s->p, in.u.s->len));
			case JV_LIST: return jv_int((int64_t)in.u.l->n);
			case JV_DICT:
			case JV_NS: return jv_int((int64_t)in.u.d->n);
			default: jvm_fail(m, HEARTH_ETYPE, "object of type '%s' has no len()", jv_type_name(in));
			}
		}
		if (!strcmp(name, "list")) {
			struct jlist *l = jx_iter_list(m, in);
			jv out = jv_list(m, l->n);
			jvm_charge(m, l->n);
			for (size_t i = 0; i < l->n; i++)
				jl_push(m, out.u.l, l->v[i]);
			return out;
		}
		if (!strcmp(name, "lower"))
			return str_map(m, soft_str(m, in), 1);
		break;
	case 'm':
		if (!strcmp(name, "map")) {
			struct jlist *l = jx_iter_list(m, jv_truthy(in) ? in : jv_undef());
			jv out = jv_list(m, l->n);
			jv attr;
			if (arg_get(a, SIZE_MAX, "attribute", &attr)) {
				struct jstr *path = jx_str_arg(m, attr, "attribute");
				jv dflt = arg(a, SIZE_MAX, "default", jv_undef());
				for (size_t i = 0; i < l->n; i++) {
					jvm_charge(m, 1);
					jv v = get_path(m, l->v[i], path);
					jl_push(m, out.u.l, v.t == JV_UNDEF ? dflt : v);
				}
				return out;
			}
			struct jstr *f = jx_str_arg(m, arg(a, 0, NULL, jv_undef()), "filter name");
			if (!jx_has_filter(f->p))
				jvm_fail(m, HEARTH_EFORMAT, "unknown filter '%s'", f->p);
			struct jx_args rest = shift_args(m, a, 1);
			for (size_t i = 0; i < l->n; i++)
				jl_push(m, out.u.l, jx_call_filter(m, f->p, l->v[i], &rest, rctx));
			return out;
		}
		if (!strcmp(name, "max"))
			return list_minmax(m, in, a, true);
		if (!strcmp(name, "min"))
			return list_minmax(m, in, a, false);
		break;
	case 'r':
		if (!strcmp(name, "reject"))
			return select_impl(m, in, a, false, false, rctx);
		if (!strcmp(name, "rejectattr"))
			return select_impl(m, in, a, true, false, rctx);
		if (!strcmp(name, "replace")) {
			struct jstr *s = soft_str(m, in);
			struct jstr *old = soft_str(m, arg(a, 0, "old", jv_undef()));
			struct jstr *nw = soft_str(m, arg(a, 1, "new", jv_undef()));
			jv cnt = arg(a, 2, "count", jv_none());
			return str_replace(m, s, old, nw, cnt.t == JV_NONE ? -1 : int_arg(m, cnt, "count"));
		}
		if (!strcmp(name, "reverse")) {
			if (in.t == JV_STR) {
				struct jx_args none = {0};
				(void)none;
				jbuf b = {0};
				size_t i = in.u.s->len;
				while (i > 0) {
					size_t st = i - 1;
					while (st > 0 && ((unsigned char)in.u.s->p[st] & 0xC0) == 0x80 && i - st < 4)
						st--;
					int32_t cp;
					if (st + ju_decode(in.u.s->p + st, i - st, &cp) != i)
						st = i - 1;
					jb_put(m, &b, in.u.s->p + st, i - st);
					i = st;
				}
				return jv_str(m, b.p ? b.p : "", b.n);
			}
			struct jlist *l = jx_iter_list(m, in);
			jv out = jv_list(m, l->n);
			jvm_charge(m, l->n);
			for (size_t i = l->n; i-- > 0;)
				jl_push(m, out.u.l, l->v[i]);
			return out;
		}
		if (!strcmp(name, "round"))
			return do_round(m, in, a);
		break;
	case 's':
		if (!strcmp(name, "safe"))
			return in;
		if (!strcmp(name, "select"))
			return select_impl(m, in, a, false, true, rctx);
		if (!strcmp(name, "selectattr"))
			return select_impl(m, in, a, true, true, rctx);
		if (!strcmp(name, "sort")) {
			bool rev = jv_truthy(arg(a, 0, "reverse", jv_bool(false)));
			bool cs = jv_truthy(arg(a, 1, "case_sensitive", jv_bool(false)));
			jv attr = arg(a, 2, "attribute", jv_undef());
			return sorted(m, jx_iter_list(m, in), rev, cs, attr);
		}
		if (!strcmp(name, "string"))
			return in.t == JV_UNDEF ? jv_str(m, "", 0) : jv_strobj(jv_to_str(m, in));
		if (!strcmp(name, "strip"))
			return str_strip(m, soft_str(m, in), chars_arg(m, arg(a, 0, "chars", jv_none())), 3);
		if (!strcmp(name, "sum")) {
			jv attr = arg(a, 0, "attribute", jv_undef());
			jv acc = arg(a, 1, "start", jv_int(0));
			struct jlist *l = jx_iter_list(m, in);
			for (size_t i = 0; i < l->n; i++) {
				jv v = attr.t == JV_STR ? get_path(m, l->v[i], attr.u.s) : l->v[i];
				if (!jv_is_num(v) || !jv_is_num(acc))
					jvm_fail(m, HEARTH_ETYPE, "sum expects numbers, not %s", jv_type_name(v));
				if (acc.t != JV_FLOAT && v.t != JV_FLOAT) {
					int64_t r;
					if (__builtin_add_overflow(acc.t == JV_INT ? acc.u.i : acc.u.b,
					                           v.t == JV_INT ? v.u.i : v.u.b, &r))
						jvm_fail(m, HEARTH_ELIMIT, "integer overflow");
					acc = jv_int(r);
				} else {
					acc = jv_float(jv_num(acc) + jv_num(v));
				}
			}
			return acc;
		}
		break;
	case 't':
		if (!strcmp(name, "title"))
			return str_map(m, soft_str(m, in), 4);
		if (!strcmp(name, "tojson")) {
			jv ind = arg(a, 0, "indent", jv_none());
			int indent = -1;
			if (ind.t != JV_NONE) {
				int64_t v = int_arg(m, ind, "indent");
				indent = (int)(v < 0 ? 0 : v > 64 ? 64 : v);
			}
			bool sk = jv_truthy(arg(a, SIZE_MAX, "sort_keys", jv_bool(false)));
			jbuf b = {0};
			jv_write_json(m, &b, in, indent, sk, 0);
			return jv_str(m, b.p ? b.p : "", b.n);
		}
		if (!strcmp(name, "trim"))
			return str_strip(m, soft_str(m, in), chars_arg(m, arg(a, 0, "chars", jv_none())), 3);
		break;
	case 'u':
		if (!strcmp(name, "unique")) {
			bool cs = jv_truthy(arg(a, 0, "case_sensitive", jv_bool(false)));
			jv attr = arg(a, 1, "attribute", jv_undef());
			struct jlist *l = jx_iter_list(m, in);
			jv out = jv_list(m, 0);
			jv seen = jv_list(m, 0);
			for (size_t i = 0; i < l->n; i++) {
				jv k = sort_key(m, l->v[i], attr, cs);
				bool dup = false;
				jvm_charge(m, seen.u.l->n + 1);
				for (size_t j = 0; j < seen.u.l->n && !dup; j++)
					dup = jv_eq(m, seen.u.l->v[j], k);
				if (!dup) {
					jl_push(m, seen.u.l, k);
					jl_push(m, out.u.l, l->v[i]);
				}
			}
			return out;
		}
		if (!strcmp(name, "upper"))
			return str_map(m, soft_str(m, in), 0);
		break;
	case 'w':
		if (!strcmp(name, "wordcount")) {
			jv w = str_split(m, soft_str(m, in), jv_none(), -1, false);
			return jv_int((int64_t)w.u.l->n);
		}
		break;
	}
	jvm_fail(m, HEARTH_EFORMAT, "unknown filter '%s'", name);
}

/* ---- tests ------------------------------------------------------------------- */
static const char *const k_tests[] = {
	"!=", "<", "<=", "==", ">", ">=", "boolean", "callable", "defined", "divisibleby", "eq", "equalto",
	"escaped", "even", "false", "float", "ge", "greaterthan", "gt", "in", "integer", "iterable", "le",
	"lessthan", "lower", "lt", "mapping", "ne", "none", "number", "odd", "sameas", "sequence", "string",
	"true", "undefined", "upper",
};

bool jx_has_test(const char *name)
{
	for (size_t i = 0; i < HX_ARRAY_LEN(k_tests); i++)
		if (!strcmp(k_tests[i], name))
			return true;
	return false;
}

static bool str_all(struct jstr *s, int mode)
{
	/* mode 0: lower, 1: upper -- Python: at least one cased char and no opposite */
	bool any = false;
	size_t i = 0;
	while (i < s->len) {
		int32_t cp;
		i += ju_decode(s->p + i, s->len - i, &cp);
		utf8proc_category_t cat = utf8proc_category(cp);
		if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT) {
			if (mode == 0)
				return false;
			any = true;
		} else if (cat == UTF8PROC_CATEGORY_LL) {
			if (mode == 1)
				return false;
			any = true;
		}
	}
	return any;
}

bool jx_call_test(jvm *m, const char *name, jv in, const struct jx_args *a, void *rctx)
{
	(void)rctx;
	jvm_charge(m, 1);
	jv other = arg(a, 0, NULL, jv_undef());
	if (!strcmp(name, "defined")) return in.t != JV_UNDEF;
	if (!strcmp(name, "undefined")) return in.t == JV_UNDEF;
	if (!strcmp(name, "none")) return in.t == JV_NONE;
	if (!strcmp(name, "string")) return in.t == JV_STR;
	if (!strcmp(name, "number")) return jv_is_num(in);
	if (!strcmp(name, "integer")) return in.t == JV_INT;
	if (!strcmp(name, "float")) return in.t == JV_FLOAT;
	if (!strcmp(name, "boolean")) return in.t == JV_BOOL;
	if (!strcmp(name, "true")) return in.t == JV_BOOL && in.u.b;
	if (!strcmp(name, "false")) return in.t == JV_BOOL && !in.u.b;
	if (!strcmp(name, "mapping")) return in.t == JV_DICT;
	if (!strcmp(name, "iterable"))
		return in.t == JV_STR || in.t == JV_LIST || in.t == JV_DICT || in.t == JV_UNDEF;
	if (!strcmp(name, "sequence")) return in.t == JV_STR || in.t == JV_LIST || in.t == JV_DICT;
	if (!strcmp(name, "callable")) return in.t == JV_MACRO || in.t == JV_BUILTIN || in.t == JV_METHOD;
	if (!strcmp(name, "escaped")) return false;
	if (!strcmp(name, "lower")) return in.t == JV_STR && str_all(in.u.s, 0);
	if (!strcmp(name, "upper")) return in.t == JV_STR && str_all(in.u.s, 1);
	if (!strcmp(name, "odd") || !strcmp(name, "even") || !strcmp(name, "divisibleby")) {
		if (in.t == JV_FLOAT) {
			/* Python: value % 2 == 1 works on floats too */
			double r = fmod(in.u.f, 2.0);
			if (r < 0)
				r += 2.0;
			if (name[0] == 'o') return r == 1.0;
			if (name[0] == 'e') return r == 0.0;
			double d = jv_num(other);
			if (!jv_is_num(other) || d == 0.0)
				jvm_fail(m, HEARTH_EINVAL, "divisibleby needs a non-zero number");
			return fmod(in.u.f, d) == 0.0;
		}
		if (in.t != JV_INT && in.t != JV_BOOL)
			jvm_fail(m, HEARTH_ETYPE, "test '%s' expects a number, not %s", name, jv_type_name(in));
		int64_t x = in.t == JV_INT ? in.u.i : in.u.b;
		if (name[0] == 'o') return (x % 2) != 0;
		if (name[0] == 'e') return (x % 2) == 0;
		int64_t d = int_arg(m, other, "divisor");
		if (d == 0)
			jvm_fail(m, HEARTH_EINVAL, "division by zero");
		return d == -1 || x % d == 0;
	}
	if (!strcmp(name, "eq") || !strcmp(name, "equalto") || !strcmp(name, "==")) return jv_eq(m, in, other);
	if (!strcmp(name, "ne") || !strcmp(name, "!=")) return !jv_eq(m, in, other);
	if (!strcmp(name, "lt") || !strcmp(name, "lessthan") || !strcmp(name, "<")) return jv_cmp(m, in, other) < 0;
	if (!strcmp(name, "le") || !strcmp(name, "<=")) return jv_cmp(m, in, other) <= 0;
	if (!strcmp(name, "gt") || !strcmp(name, "greaterthan") || !strcmp(name, ">")) return jv_cmp(m, in, other) > 0;
	if (!strcmp(name, "ge") || !strcmp(name, ">=")) return jv_cmp(m, in, other) >= 0;
	if (!strcmp(name, "sameas")) {
		if (in.t != other.t)
			return false;
		switch (in.t) {
		case JV_UNDEF:
		case JV_NONE: return true;
		case JV_BOOL: return in.u.b == other.u.b;
		case JV_INT: return in.u.i == other.u.i;
		case JV_FLOAT: return in.u.f == other.u.f;
		default: return in.u.s == other.u.s;
		}
	}
	if (!strcmp(name, "in")) {
		switch (other.t) {
		case JV_STR:
			return in.t == JV_STR && (in.u.s->len == 0 || memmem(other.u.s->p, other.u.s->len, in.u.s->p, in.u.s->len));
		case JV_LIST:
			for (size_t i = 0; i < other.u.l->n; i++)
				if (jv_eq(m, in, other.u.l->v[i]))
					return true;
			return false;
		case JV_DICT: {
			jv o;
			return jd_get(other.u.d, in, &o);
		}
		default: return false;
		}
	}
	jvm_fail(m, HEARTH_EFORMAT, "unknown test '%s'", name);
}

/* ---- methods ------------------------------------------------------------------ */
static const char *const k_str_methods[] = {
	"capitalize", "count", "endswith", "find", "format", "index", "isalnum", "isalpha", "isdigit", "islower",
	"isspace", "isupper", "join", "lower", "lstrip", "replace", "rfind", "rsplit", "rstrip", "split",
	"splitlines", "startswith", "strip", "title", "upper",
};
static const char *const k_dict_methods[] = {"get", "items", "keys", "values"};
static const char *const k_list_methods[] = {"count", "index"};

static bool in_set(const char *const *set, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(set[i], name))
			return true;
	return false;
}

bool jx_has_method(jv self, const char *name)
{
	switch (self.t) {
	case JV_STR: return in_set(k_str_methods, HX_ARRAY_LEN(k_str_methods), name);
	case JV_DICT: return in_set(k_dict_methods, HX_ARRAY_LEN(k_dict_methods), name);
	case JV_LIST: return in_set(k_list_methods, HX_ARRAY_LEN(k_list_methods), name);
	default: return false;
	}
}

static bool str_class(struct jstr *s, int mode)
{
	if (s->len == 0)
		return false;
	size_t i = 0;
	while (i < s->len) {
		int32_t cp;
		i += ju_decode(s->p + i, s->len - i, &cp);
		utf8proc_category_t cat = utf8proc_category(cp);
		bool alpha = cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT ||
		             cat == UTF8PROC_CATEGORY_LM || cat == UTF8PROC_CATEGORY_LO;
		bool digit = cat == UTF8PROC_CATEGORY_ND;
		bool ok = mode == 0 ? digit : mode == 1 ? alpha : mode == 2 ? (alpha || digit) : ju_is_space(cp);
		if (!ok)
			return false;
	}
	return true;
}

static jv str_method(jvm *m, struct jstr *s, const char *name, const struct jx_args *a)
{
	if (!strcmp(name, "upper")) return str_map(m, s, 0);
	if (!strcmp(name, "lower")) return str_map(m, s, 1);
	if (!strcmp(name, "capitalize")) return str_map(m, s, 2);
	if (!strcmp(name, "title")) return str_map(m, s, 3);
	if (!strcmp(name, "strip")) return str_strip(m, s, chars_arg(m, arg(a, 0, "chars", jv_none())), 3);
	if (!strcmp(name, "lstrip")) return str_strip(m, s, chars_arg(m, arg(a, 0, "chars", jv_none())), 1);
	if (!strcmp(name, "rstrip")) return str_strip(m, s, chars_arg(m, arg(a, 0, "chars", jv_none())), 2);
	if (!strcmp(name, "split") || !strcmp(name, "rsplit")) {
		jv ms = arg(a, 1, "maxsplit", jv_int(-1));
		return str_split(m, s, arg(a, 0, "sep", jv_none()), int_arg(m, ms, "maxsplit"), name[0] == 'r');
	}
	if (!strcmp(name, "splitlines")) {
		jv out = jv_list(m, 0);
		size_t i = 0;
		while (i < s->len) {
			size_t e = i;
			while (e < s->len && s->p[e] != '\n' && s->p[e] != '\r')
				e++;
			jl_push(m, out.u.l, jv_str(m, s->p + i, e - i));
			if (e < s->len && s->p[e] == '\r' && e + 1 < s->len && s->p[e + 1] == '\n')
				e++;
			i = e + 1;
		}
		return out;
	}
	if (!strcmp(name, "startswith")) return jv_bool(str_has_affix(m, s, arg(a, 0, "prefix", jv_undef()), false));
	if (!strcmp(name, "endswith")) return jv_bool(str_has_affix(m, s, arg(a, 0, "suffix", jv_undef()), true));
	if (!strcmp(name, "replace")) {
		struct jstr *old = jx_str_arg(m, arg(a, 0, "old", jv_undef()), "replace argument");
		struct jstr *nw = jx_str_arg(m, arg(a, 1, "new", jv_undef()), "replace argument");
		return str_replace(m, s, old, nw, int_arg(m, arg(a, 2, "count", jv_int(-1)), "count"));
	}
	if (!strcmp(name, "find") || !strcmp(name, "rfind") || !strcmp(name, "index")) {
		struct jstr *sub = jx_str_arg(m, arg(a, 0, "sub", jv_undef()), "substring");
		int64_t r = str_find(m, s, sub, name[0] == 'r');
		if (r < 0 && name[0] == 'i')
			jvm_fail(m, HEARTH_EINVAL, "substring not found");
		return jv_int(r);
	}
	if (!strcmp(name, "count"))
		return jv_int(str_count(m, s, jx_str_arg(m, arg(a, 0, "sub", jv_undef()), "substring")));
	if (!strcmp(name, "join")) {
		struct jlist *l = jx_iter_list(m, arg(a, 0, "iterable", jv_undef()));
		jbuf b = {0};
		for (size_t i = 0; i < l->n; i++) {
			if (i)
				jb_put(m, &b, s->p, s->len);
			jb_put(m, &b, jx_str_arg(m, l->v[i], "join item")->p, l->v[i].u.s->len);
		}
		return jv_str(m, b.p ? b.p : "", b.n);
	}
	if (!strcmp(name, "format")) return str_dot_format(m, s, a);
	if (!strcmp(name, "isdigit")) return jv_bool(str_class(s, 0));
	if (!strcmp(name, "isalpha")) return jv_bool(str_class(s, 1));
	if (!strcmp(name, "isalnum")) return jv_bool(str_class(s, 2));
	if (!strcmp(name, "isspace")) return jv_bool(str_class(s, 3));
	if (!strcmp(name, "islower")) return jv_bool(str_all(s, 0));
	if (!strcmp(name, "isupper")) return jv_bool(str_all(s, 1));
	jvm_fail(m, HEARTH_ENOTFOUND, "'str' object has no attribute '%s'", name);
}

jv jx_call_method(jvm *m, jv self, const char *name, const struct jx_args *a, void *rctx)
{
	(void)rctx;
	jvm_charge(m, 1);
	switch (self.t) {
	case JV_STR: return str_method(m, self.u.s, name, a);
	case JV_DICT: {
		struct jdict *d = self.u.d;
		if (!strcmp(name, "get")) {
			jv out;
			if (jd_get(d, arg(a, 0, "key", jv_undef()), &out))
				return out;
			return arg(a, 1, "default", jv_none());
		}
		jvm_charge(m, d->n);
		jv out = jv_list(m, d->n);
		for (size_t i = 0; i < d->n; i++) {
			if (!strcmp(name, "keys")) {
				jl_push(m, out.u.l, d->k[i]);
			} else if (!strcmp(name, "values")) {
				jl_push(m, out.u.l, d->v[i]);
			} else {
				jv p = jv_list(m, 2);
				p.u.l->tuple = true;
				jl_push(m, p.u.l, d->k[i]);
				jl_push(m, p.u.l, d->v[i]);
				jl_push(m, out.u.l, p);
			}
		}
		return out;
	}
	case JV_LIST: {
		struct jlist *l = self.u.l;
		jv x = arg(a, 0, "value", jv_undef());
		jvm_charge(m, l->n);
		int64_t count = 0;
		for (size_t i = 0; i < l->n; i++)
			if (jv_eq(m, l->v[i], x)) {
				if (!strcmp(name, "index"))
					return jv_int((int64_t)i);
				count++;
			}
		if (!strcmp(name, "index"))
			jvm_fail(m, HEARTH_EINVAL, "value is not in list");
		return jv_int(count);
	}
	case JV_LOOP:
		if (!strcmp(name, "cycle")) {
			size_t n = n_positional(a);
			if (n == 0)
				jvm_fail(m, HEARTH_EINVAL, "no items for cycling given");
			return arg(a, (size_t)(self.u.loop->index0 % (int64_t)n), NULL, jv_undef());
		}
		jvm_fail(m, HEARTH_EUNSUPPORTED, "loop.%s is not supported", name);
	default: jvm_fail(m, HEARTH_ETYPE, "'%s' object has no method '%s'", jv_type_name(self), name);
	}
}

/* ---- global functions -------------------------------------------------------- */
jv jx_call_builtin(jvm *m, int id, const struct jx_args *a, int64_t max_range)
{
	switch (id) {
	case JB_RANGE: {
		size_t np = n_positional(a);
		int64_t start = 0, stop, step = 1;
		if (np == 1) {
			stop = int_arg(m, arg(a, 0, NULL, jv_undef()), "range() argument");
		} else if (np == 2 || np == 3) {
			start = int_arg(m, arg(a, 0, NULL, jv_undef()), "range() argument");
			stop = int_arg(m, arg(a, 1, NULL, jv_undef()), "range() argument");
			if (np == 3)
				step = int_arg(m, arg(a, 2, NULL, jv_undef()), "range() argument");
		} else {
			jvm_fail(m, HEARTH_EINVAL, "range expected 1 to 3 arguments, got %zu", np);
		}
		if (step == 0)
			jvm_fail(m, HEARTH_EINVAL, "range() arg 3 must not be zero");
		double count = step > 0 ? ceil(((double)stop - (double)start) / (double)step)
		                        : ceil(((double)start - (double)stop) / (double)-step);
		if (count < 0)
			count = 0;
		if (count > (double)max_range)
			jvm_fail(m, HEARTH_ELIMIT, "range too big (limit %lld items)", (long long)max_range);
		jv out = jv_list(m, (size_t)count);
		jvm_charge(m, (uint64_t)count);
		for (int64_t i = 0; i < (int64_t)count; i++)
			jl_push(m, out.u.l, jv_int(start + i * step));
		return out;
	}
	case JB_NAMESPACE:
	case JB_DICT: {
		jv d = jv_dict(m, a->n);
		for (size_t i = 0; i < a->n; i++) {
			if (a->names[i]) {
				jd_set(m, d.u.d, jv_cstr(m, a->names[i]), a->v[i]);
			} else if (a->v[i].t == JV_DICT) {
				for (size_t k = 0; k < a->v[i].u.d->n; k++)
					jd_set(m, d.u.d, a->v[i].u.d->k[k], a->v[i].u.d->v[k]);
			} else {
				jvm_fail(m, HEARTH_ETYPE, "%s() takes keyword arguments or a mapping",
				         id == JB_DICT ? "dict" : "namespace");
			}
		}
		if (id == JB_NAMESPACE)
			d.t = JV_NS;
		return d;
	}
	case JB_RAISE: {
		jv msg = arg(a, 0, NULL, jv_undef());
		jbuf b = {0};
		jv_write_str(m, &b, msg);
		jvm_fail(m, HEARTH_EINVAL, "%s", b.p ? b.p : "");
	}
	case JB_STRFTIME: {
		struct jstr *fmt = jx_str_arg(m, arg(a, 0, NULL, jv_undef()), "strftime_now format");
		if (fmt->len > 200)
			jvm_fail(m, HEARTH_EINVAL, "strftime_now format too long");
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		char buf[512];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		size_t n = strftime(buf, sizeof buf, fmt->p, &tm);
#pragma GCC diagnostic pop
		return jv_str(m, buf, n);
	}
	}
	jvm_fail(m, HEARTH_EINVAL, "unknown function");
}
