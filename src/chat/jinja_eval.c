/*
 * jinja_eval.c - the tree-walking renderer.
 *
 * Scoping follows Jinja2: the template's top level is one scope (holding the
 * caller's variables too); every for-loop iteration and every macro call gets a
 * fresh scope; `set` writes to the innermost scope, so values set inside a loop
 * do not leak out (templates use namespace() for that).  A macro body sees its
 * arguments and the top level; a call block's caller() sees the scope where the
 * call block stands.
 *
 * Limits: every node evaluation, loop iteration and per-element copy charges the
 * work budget (max_steps); macro calls nest at most max_call_depth deep; output
 * and every captured string are bounded by max_output; all values come from an
 * arena bounded by max_memory.  Parse-time bounds keep recursion shallow.
 */
#include "chat/jinja.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct jmacro {
	const jnode *def; /* JN_MACRO, or JN_CALLBLOCK for a caller() */
	const jnode *body;
	int parent;         /* scope the body resolves names in after its own ... */
	uint64_t serial;    /* ... if that scope still exists (else the top level) */
	const char *name;
};

struct var {
	const char *name;
	jv v;
};

struct frame {
	size_t start;
	int parent;
	uint64_t serial; /* unique per pushed scope, so closures can tell it is gone */
};

struct rctx {
	jvm *m;
	const jx_limits *lim;
	jbuf *out;
	struct var *vars;
	size_t n_vars, cap_vars;
	struct frame *frames;
	int n_frames, cap_frames;
	int call_depth;
	uint64_t next_serial;
	jv placeholder;
};

static jv eval(struct rctx *c, const jnode *n);
static int exec(struct rctx *c, const jnode *n);

static void at(struct rctx *c, const jnode *n)
{
	c->m->line = n->line;
	c->m->col = n->col;
}

/* ---- scopes ----------------------------------------------------------------- */
static void push_frame(struct rctx *c, int parent)
{
	if (c->n_frames == c->cap_frames) {
		int nc = c->cap_frames ? c->cap_frames * 2 : 16;
		struct frame *nf = ja_alloc(c->m->arena, c->m->fail, (size_t)nc * sizeof *nf);
		if (c->n_frames)
			memcpy(nf, c->frames, (size_t)c->n_frames * sizeof *nf);
		c->frames = nf;
		c->cap_frames = nc;
	}
	c->frames[c->n_frames].start = c->n_vars;
	c->frames[c->n_frames].parent = parent;
	c->frames[c->n_frames].serial = ++c->next_serial;
	c->n_frames++;
}

static void pop_frame(struct rctx *c)
{
	c->n_frames--;
	c->n_vars = c->frames[c->n_frames].start;
}

static void set_var(struct rctx *c, const char *name, jv v)
{
	size_t start = c->frames[c->n_frames - 1].start;
	/* scopes are scanned linearly: charge the scan so that a template with
	 * huge numbers of variables runs out of budget instead of going quadratic */
	jvm_charge(c->m, c->n_vars - start);
	for (size_t i = c->n_vars; i > start; i--)
		if (!strcmp(c->vars[i - 1].name, name)) {
			c->vars[i - 1].v = v;
			return;
		}
	if (c->n_vars == c->cap_vars) {
		size_t nc = c->cap_vars ? c->cap_vars * 2 : 32;
		struct var *nv = ja_alloc(c->m->arena, c->m->fail, nc * sizeof *nv);
		if (c->n_vars)
			memcpy(nv, c->vars, c->n_vars * sizeof *nv);
		c->vars = nv;
		c->cap_vars = nc;
	}
	c->vars[c->n_vars].name = name;
	c->vars[c->n_vars].v = v;
	c->n_vars++;
}

static const struct {
	const char *name;
	int id;
} k_globals[] = {
	{"range", JB_RANGE},
	{"namespace", JB_NAMESPACE},
	{"raise_exception", JB_RAISE},
	{"strftime_now", JB_STRFTIME},
	{"dict", JB_DICT},
};

static bool lookup(struct rctx *c, const char *name, jv *out)
{
	int f = c->n_frames - 1;
	jvm_charge(c->m, c->n_vars);
	while (f >= 0) {
		size_t start = c->frames[f].start;
		size_t end = f == c->n_frames - 1 ? c->n_vars : c->frames[f + 1].start;
		for (size_t i = end; i > start; i--)
			if (!strcmp(c->vars[i - 1].name, name)) {
				*out = c->vars[i - 1].v;
				return true;
			}
		f = c->frames[f].parent;
	}
	for (size_t i = 0; i < HX_ARRAY_LEN(k_globals); i++)
		if (!strcmp(k_globals[i].name, name)) {
			out->t = JV_BUILTIN;
			out->u.builtin = k_globals[i].id;
			return true;
		}
	return false;
}

/* ---- attribute and item access ------------------------------------------- */
static jv method(jvm *m, jv self, const char *name)
{
	struct jmethod *mt = ja_alloc(m->arena, m->fail, sizeof *mt);
	mt->self = self;
	mt->name = name;
	jv v = {0};
	v.t = JV_METHOD;
	v.u.meth = mt;
	return v;
}

static jv loop_attr(jvm *m, struct jloop *l, const char *name)
{
	int64_t i = l->index0, n = l->length;
	if (!strcmp(name, "index0")) return jv_int(i);
	if (!strcmp(name, "index")) return jv_int(i + 1);
	if (!strcmp(name, "revindex")) return jv_int(n - i);
	if (!strcmp(name, "revindex0")) return jv_int(n - i - 1);
	if (!strcmp(name, "first")) return jv_bool(i == 0);
	if (!strcmp(name, "last")) return jv_bool(i == n - 1);
	if (!strcmp(name, "length")) return jv_int(n);
	if (!strcmp(name, "depth")) return jv_int(l->depth + 1);
	if (!strcmp(name, "depth0")) return jv_int(l->depth);
	if (!strcmp(name, "previtem")) return i > 0 ? l->items->v[i - 1] : jv_undef();
	if (!strcmp(name, "nextitem")) return i + 1 < n ? l->items->v[i + 1] : jv_undef();
	if (!strcmp(name, "cycle") || !strcmp(name, "changed")) {
		jv self = {0};
		self.t = JV_LOOP;
		self.u.loop = l;
		return method(m, self, name);
	}
	return jv_undef();
}

jv jx_getattr(jvm *m, jv obj, jv key)
{
	switch (obj.t) {
	case JV_DICT:
	case JV_NS: {
		jv out;
		jvm_charge(m, obj.u.d->n);
		if (jd_get(obj.u.d, key, &out))
			return out;
		if (obj.t == JV_DICT && key.t == JV_STR && jx_has_method(obj, key.u.s->p))
			return method(m, obj, key.u.s->p);
		return jv_undef();
	}
	case JV_LIST:
	case JV_STR: {
		if (key.t == JV_STR)
			return jx_has_method(obj, key.u.s->p) ? method(m, obj, key.u.s->p) : jv_undef();
		if (key.t != JV_INT && key.t != JV_BOOL)
			return jv_undef();
		int64_t i = key.t == JV_INT ? key.u.i : key.u.b;
		if (obj.t == JV_LIST) {
			int64_t n = (int64_t)obj.u.l->n;
			if (i < 0)
				i += n;
			return (i >= 0 && i < n) ? obj.u.l->v[i] : jv_undef();
		}
		size_t cps = ju_count(obj.u.s->p, obj.u.s->len);
		jvm_charge(m, obj.u.s->len / 16);
		if (i < 0)
			i += (int64_t)cps;
		if (i < 0 || (uint64_t)i >= cps)
			return jv_undef();
		size_t off = ju_offset(obj.u.s->p, obj.u.s->len, (size_t)i);
		int32_t cp;
		size_t l = ju_decode(obj.u.s->p + off, obj.u.s->len - off, &cp);
		return jv_str(m, obj.u.s->p + off, l);
	}
	case JV_LOOP:
		if (key.t == JV_STR)
			return loop_attr(m, obj.u.loop, key.u.s->p);
		return jv_undef();
	default: return jv_undef();
	}
}

static int64_t slice_index(jvm *m, jv v, int64_t n, int64_t dflt, bool neg_step)
{
	if (v.t == JV_UNDEF || v.t == JV_NONE)
		return dflt;
	if (v.t != JV_INT && v.t != JV_BOOL)
		jvm_fail(m, HEARTH_ETYPE, "slice indices must be integers or None, not %s", jv_type_name(v));
	int64_t i = v.t == JV_INT ? v.u.i : v.u.b;
	if (i < 0) {
		i += n;
		if (i < 0)
			i = neg_step ? -1 : 0;
	} else if (i >= n) {
		i = neg_step ? n - 1 : n;
	}
	return i;
}

static jv do_slice(jvm *m, jv obj, jv vstart, jv vstop, jv vstep)
{
	int64_t step = 1;
	if (vstep.t == JV_INT)
		step = vstep.u.i;
	else if (vstep.t != JV_UNDEF && vstep.t != JV_NONE)
		jvm_fail(m, HEARTH_ETYPE, "slice step must be an integer");
	if (step == 0)
		jvm_fail(m, HEARTH_EINVAL, "slice step cannot be zero");
	/* like Jinja2's getitem, slicing what cannot be sliced gives undefined */
	if (obj.t != JV_LIST && obj.t != JV_STR)
		return jv_undef();
	/* strings are sliced by code point */
	size_t n_items;
	size_t *offs = NULL;
	if (obj.t == JV_LIST) {
		n_items = obj.u.l->n;
	} else {
		const char *p = obj.u.s->p;
		size_t len = obj.u.s->len;
		n_items = ju_count(p, len);
		offs = ja_alloc(m->arena, m->fail, (n_items + 1) * sizeof *offs);
		size_t i = 0, k = 0;
		int32_t cp;
		while (i < len) {
			offs[k++] = i;
			i += ju_decode(p + i, len - i, &cp);
		}
		offs[k] = len;
	}
	jvm_charge(m, n_items);
	int64_t n = (int64_t)n_items;
	int64_t start = slice_index(m, vstart, n, step > 0 ? 0 : n - 1, step < 0);
	int64_t stop = slice_index(m, vstop, n, step > 0 ? n : -1, step < 0);
	if (obj.t == JV_LIST) {
		jv out = jv_list(m, 0);
		for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step)
			jl_push(m, out.u.l, obj.u.l->v[i]);
		return out;
	}
	if (step == 1) {
		if (stop <= start)
			return jv_str(m, "", 0);
		return jv_str(m, obj.u.s->p + offs[start], offs[stop] - offs[start]);
	}
	jbuf b = {0};
	for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step)
		jb_put(m, &b, obj.u.s->p + offs[i], offs[i + 1] - offs[i]);
	return jv_str(m, b.p ? b.p : "", b.n);
}

/* ---- arithmetic -------------------------------------------------------------- */
static int64_t as_int(jv v) { return v.t == JV_INT ? v.u.i : v.u.b; }

_Noreturn static void bad_operands(jvm *m, const char *op, jv a, jv b)
{
	jvm_fail(m, HEARTH_ETYPE, "unsupported operand type(s) for %s: '%s' and '%s'", op, jv_type_name(a),
	         jv_type_name(b));
}

static jv repeat(jvm *m, jv seq, int64_t times)
{
	if (times < 0)
		times = 0;
	if (seq.t == JV_STR) {
		uint64_t total;
		if (hx_mul_u64(seq.u.s->len, (uint64_t)times, &total) || total > SIZE_MAX / 2 ||
		    (m->arena->limit && total > m->arena->limit))
			jvm_fail(m, HEARTH_ELIMIT, "string repetition too large");
		jvm_charge(m, total / 64);
		struct jstr *s = ja_alloc(m->arena, m->fail, sizeof *s + (size_t)total + 1);
		s->len = (size_t)total;
		for (int64_t i = 0; i < times; i++)
			memcpy(s->p + (size_t)i * seq.u.s->len, seq.u.s->p, seq.u.s->len);
		return jv_strobj(s);
	}
	uint64_t total;
	if (hx_mul_u64(seq.u.l->n, (uint64_t)times, &total) || total > SIZE_MAX / sizeof(jv) / 4 ||
	    (m->arena->limit && total * sizeof(jv) > m->arena->limit))
		jvm_fail(m, HEARTH_ELIMIT, "list repetition too large");
	jvm_charge(m, total);
	jv out = jv_list(m, (size_t)total);
	for (int64_t i = 0; i < times; i++)
		for (size_t k = 0; k < seq.u.l->n; k++)
			jl_push(m, out.u.l, seq.u.l->v[k]);
	return out;
}

jv jx_str_format(jvm *m, struct jstr *fmt, jv args)
{
	jbuf b = {0};
	size_t ai = 0;
	struct jlist one = {1, 1, &args, false};
	struct jlist *al = args.t == JV_LIST ? args.u.l : &one;
	for (size_t i = 0; i < fmt->len; i++) {
		char ch = fmt->p[i];
		if (ch != '%') {
			jb_putc(m, &b, ch);
			continue;
		}
		if (++i >= fmt->len)
			jvm_fail(m, HEARTH_EINVAL, "incomplete format");
		int prec = -1;
		if (fmt->p[i] == '.') {
			prec = 0;
			while (++i < fmt->len && fmt->p[i] >= '0' && fmt->p[i] <= '9')
				prec = HX_MIN(prec * 10 + (fmt->p[i] - '0'), 60);
			if (i >= fmt->len)
				jvm_fail(m, HEARTH_EINVAL, "incomplete format");
		}
		char conv = fmt->p[i];
		if (conv == '%') {
			jb_putc(m, &b, '%');
			continue;
		}
		if (ai >= al->n)
			jvm_fail(m, HEARTH_EINVAL, "not enough arguments for format string");
		jv a = al->v[ai++];
		char tmp[96];
		switch (conv) {
		case 's': jv_write_str(m, &b, a); break;
		case 'r': jv_write_repr(m, &b, a, 0); break;
		case 'd':
		case 'i':
			if (!jv_is_num(a))
				jvm_fail(m, HEARTH_ETYPE, "%%d format: a number is required, not %s", jv_type_name(a));
			snprintf(tmp, sizeof tmp, "%lld", a.t == JV_FLOAT ? (long long)a.u.f : (long long)as_int(a));
			jb_puts(m, &b, tmp);
			break;
		case 'f':
			if (!jv_is_num(a))
				jvm_fail(m, HEARTH_ETYPE, "%%f format: a number is required, not %s", jv_type_name(a));
			snprintf(tmp, sizeof tmp, "%.*f", prec < 0 ? 6 : prec, jv_num(a));
			jb_puts(m, &b, tmp);
			break;
		default: jvm_fail(m, HEARTH_EUNSUPPORTED, "unsupported format character '%c'", conv);
		}
	}
	if (ai < al->n && args.t == JV_LIST)
		jvm_fail(m, HEARTH_EINVAL, "not all arguments converted during string formatting");
	return jv_str(m, b.p ? b.p : "", b.n);
}

static jv binop(jvm *m, int op, jv a, jv b)
{
	bool nums = jv_is_num(a) && jv_is_num(b);
	bool ints = nums && a.t != JV_FLOAT && b.t != JV_FLOAT;
	int64_t r;
	switch (op) {
	case JOP_ADD:
		if (ints) {
			if (__builtin_add_overflow(as_int(a), as_int(b), &r))
				jvm_fail(m, HEARTH_ELIMIT, "integer overflow");
			return jv_int(r);
		}
		if (nums)
			return jv_float(jv_num(a) + jv_num(b));
		if (a.t == JV_STR && b.t == JV_STR) {
			size_t la = a.u.s->len, lb = b.u.s->len;
			if (la > SIZE_MAX / 4 || lb > SIZE_MAX / 4)
				jvm_fail(m, HEARTH_ELIMIT, "string too long");
			jvm_charge(m, (la + lb) / 64);
			struct jstr *s = ja_alloc(m->arena, m->fail, sizeof *s + la + lb + 1);
			memcpy(s->p, a.u.s->p, la);
			memcpy(s->p + la, b.u.s->p, lb);
			s->len = la + lb;
			return jv_strobj(s);
		}
		if (a.t == JV_LIST && b.t == JV_LIST) {
			jvm_charge(m, a.u.l->n + b.u.l->n);
			jv out = jv_list(m, a.u.l->n + b.u.l->n);
			out.u.l->tuple = a.u.l->tuple && b.u.l->tuple;
			for (size_t i = 0; i < a.u.l->n; i++)
				jl_push(m, out.u.l, a.u.l->v[i]);
			for (size_t i = 0; i < b.u.l->n; i++)
				jl_push(m, out.u.l, b.u.l->v[i]);
			return out;
		}
		bad_operands(m, "+", a, b);
	case JOP_SUB:
		if (ints) {
			if (__builtin_sub_overflow(as_int(a), as_int(b), &r))
				jvm_fail(m, HEARTH_ELIMIT, "integer overflow");
			return jv_int(r);
		}
		if (nums)
			return jv_float(jv_num(a) - jv_num(b));
		bad_operands(m, "-", a, b);
	case JOP_MUL:
		if (ints) {
			if (__builtin_mul_overflow(as_int(a), as_int(b), &r))
				jvm_fail(m, HEARTH_ELIMIT, "integer overflow");
			return jv_int(r);
		}
		if (nums)
			return jv_float(jv_num(a) * jv_num(b));
		if ((a.t == JV_STR || a.t == JV_LIST) && (b.t == JV_INT || b.t == JV_BOOL))
			return repeat(m, a, as_int(b));
		if ((b.t == JV_STR || b.t == JV_LIST) && (a.t == JV_INT || a.t == JV_BOOL))
			return repeat(m, b, as_int(a));
		bad_operands(m, "*", a, b);
	case JOP_DIV:
		if (!nums)
			bad_operands(m, "/", a, b);
		if (jv_num(b) == 0.0)
			jvm_fail(m, HEARTH_EINVAL, "division by zero");
		return jv_float(jv_num(a) / jv_num(b));
	case JOP_FLOORDIV:
		if (!nums)
			bad_operands(m, "//", a, b);
		if (jv_num(b) == 0.0)
			jvm_fail(m, HEARTH_EINVAL, "integer division or modulo by zero");
		if (ints) {
			int64_t x = as_int(a), y = as_int(b);
			if (x == INT64_MIN && y == -1)
				jvm_fail(m, HEARTH_ELIMIT, "integer overflow");
			int64_t q = x / y;
			if ((x % y != 0) && ((x < 0) != (y < 0)))
				q--;
			return jv_int(q);
		}
		return jv_float(floor(jv_num(a) / jv_num(b)));
	case JOP_MOD:
		if (a.t == JV_STR)
			return jx_str_format(m, a.u.s, b);
		if (!nums)
			bad_operands(m, "%", a, b);
		if (jv_num(b) == 0.0)
			jvm_fail(m, HEARTH_EINVAL, "integer division or modulo by zero");
		if (ints) {
			int64_t x = as_int(a), y = as_int(b);
			if (y == -1)
				return jv_int(0);
			int64_t q = x % y;
			if (q != 0 && ((q < 0) != (y < 0)))
				q += y;
			return jv_int(q);
		} else {
			double x = jv_num(a), y = jv_num(b), q = fmod(x, y);
			if (q != 0 && ((q < 0) != (y < 0)))
				q += y;
			return jv_float(q);
		}
	case JOP_POW:
		if (!nums)
			bad_operands(m, "**", a, b);
		if (ints && as_int(b) >= 0) {
			int64_t base = as_int(a), e = as_int(b), res = 1;
			while (e > 0) {
				if ((e & 1) && __builtin_mul_overflow(res, base, &res))
					jvm_fail(m, HEARTH_ELIMIT, "integer overflow");
				e >>= 1;
				if (e && __builtin_mul_overflow(base, base, &base))
					jvm_fail(m, HEARTH_ELIMIT, "integer overflow");
			}
			return jv_int(res);
		}
		return jv_float(pow(jv_num(a), jv_num(b)));
	case JOP_CONCAT: {
		jbuf buf = {0};
		jv_write_str(m, &buf, a);
		jv_write_str(m, &buf, b);
		return jv_str(m, buf.p ? buf.p : "", buf.n);
	}
	}
	jvm_fail(m, HEARTH_EINVAL, "unknown operator");
}

static bool contains(jvm *m, jv item, jv seq)
{
	switch (seq.t) {
	case JV_STR:
		if (item.t != JV_STR)
			jvm_fail(m, HEARTH_ETYPE, "'in <string>' requires string as left operand, not %s", jv_type_name(item));
		jvm_charge(m, seq.u.s->len / 16);
		if (item.u.s->len == 0)
			return true;
		return memmem(seq.u.s->p, seq.u.s->len, item.u.s->p, item.u.s->len) != NULL;
	case JV_LIST:
		jvm_charge(m, seq.u.l->n);
		for (size_t i = 0; i < seq.u.l->n; i++)
			if (jv_eq(m, item, seq.u.l->v[i]))
				return true;
		return false;
	case JV_DICT:
	case JV_NS: {
		jv o;
		jvm_charge(m, seq.u.d->n);
		return jd_get(seq.u.d, item, &o);
	}
	case JV_UNDEF: return false;
	default: jvm_fail(m, HEARTH_ETYPE, "argument of type '%s' is not iterable", jv_type_name(seq));
	}
}

/* ---- calls ------------------------------------------------------------------ */
static void eval_args(struct rctx *c, const jnode *n, struct jx_args *args)
{
	args->n = n->n_kids;
	args->names = n->names;
	args->v = n->n_kids ? ja_alloc(c->m->arena, c->m->fail, n->n_kids * sizeof(jv)) : NULL;
	for (size_t i = 0; i < n->n_kids; i++)
		args->v[i] = eval(c, n->kids[i]);
}

static jv capture(struct rctx *c, const jnode *body)
{
	jbuf buf = {0};
	buf.limit = c->lim->max_output;
	jbuf *saved = c->out;
	c->out = &buf;
	exec(c, body);
	c->out = saved;
	return jv_str(c->m, buf.p ? buf.p : "", buf.n);
}

static jv call_macro(struct rctx *c, const jnode *site, struct jmacro *mac, const struct jx_args *args, jv caller)
{
	if (c->call_depth >= c->lim->max_call_depth) {
		at(c, site);
		jvm_fail(c->m, HEARTH_ELIMIT, "macro calls nested too deeply (limit %d)", c->lim->max_call_depth);
	}
	const jnode *def = mac->def;
	/* a macro is a closure over the scope it was defined in, while that lives */
	int parent = mac->parent;
	if (parent < 0 || parent >= c->n_frames || c->frames[parent].serial != mac->serial)
		parent = 0;
	push_frame(c, parent);
	c->call_depth++;
	jv varargs = jv_list(c->m, 0), kwargs = jv_dict(c->m, 0);
	varargs.u.l->tuple = true;
	size_t pos = 0;
	bool *bound = def->n_names ? ja_alloc(c->m->arena, c->m->fail, def->n_names * sizeof *bound) : NULL;
	for (size_t i = 0; i < args->n; i++) {
		if (!args->names[i]) {
			if (pos < def->n_names) {
				set_var(c, def->names[pos], args->v[i]);
				bound[pos] = true;
				pos++;
			} else {
				jl_push(c->m, varargs.u.l, args->v[i]);
			}
			continue;
		}
		size_t k;
		for (k = 0; k < def->n_names; k++)
			if (!strcmp(def->names[k], args->names[i]))
				break;
		if (k < def->n_names) {
			if (bound[k]) {
				at(c, site);
				jvm_fail(c->m, HEARTH_EINVAL, "macro '%s' got multiple values for argument '%s'",
				         mac->name, args->names[i]);
			}
			set_var(c, def->names[k], args->v[i]);
			bound[k] = true;
		} else {
			jd_set(c->m, kwargs.u.d, jv_cstr(c->m, args->names[i]), args->v[i]);
		}
	}
	for (size_t k = 0; k < def->n_names; k++)
		if (!bound[k])
			set_var(c, def->names[k], def->kids[k] ? eval(c, def->kids[k]) : jv_undef());
	set_var(c, "varargs", varargs);
	set_var(c, "kwargs", kwargs);
	if (caller.t != JV_UNDEF)
		set_var(c, "caller", caller);
	jv out = capture(c, mac->body);
	c->call_depth--;
	pop_frame(c);
	return out;
}

static jv call_value(struct rctx *c, const jnode *n, jv callee, const struct jx_args *args, jv caller)
{
	switch (callee.t) {
	case JV_MACRO: return call_macro(c, n, callee.u.m, args, caller);
	case JV_BUILTIN: at(c, n); return jx_call_builtin(c->m, callee.u.builtin, args, c->lim->max_range);
	case JV_METHOD: at(c, n); return jx_call_method(c->m, callee.u.meth->self, callee.u.meth->name, args, c);
	case JV_UNDEF: {
		at(c, n);
		const jnode *f = n->a;
		if (f && f->kind == JN_NAME)
			jvm_fail(c->m, HEARTH_ENOTFOUND, "'%s' is undefined", f->name);
		if (f && f->kind == JN_ATTR)
			jvm_fail(c->m, HEARTH_ENOTFOUND, "'%s' is undefined (no such attribute or method)", f->name);
		jvm_fail(c->m, HEARTH_ENOTFOUND, "called an undefined value");
	}
	default: at(c, n); jvm_fail(c->m, HEARTH_ETYPE, "'%s' object is not callable", jv_type_name(callee));
	}
}

/* ---- expressions ------------------------------------------------------------ */
static jv eval(struct rctx *c, const jnode *n)
{
	jvm *m = c->m;
	jvm_charge(m, 1);
	switch (n->kind) {
	case JN_LIT: return n->lit;
	case JN_NAME: {
		jv v;
		return lookup(c, n->name, &v) ? v : jv_undef();
	}
	case JN_PLACEHOLDER: return c->placeholder;
	case JN_LIST: {
		jv l = jv_list(m, n->n_kids);
		l.u.l->tuple = n->flag;
		for (size_t i = 0; i < n->n_kids; i++)
			jl_push(m, l.u.l, eval(c, n->kids[i]));
		return l;
	}
	case JN_DICT: {
		jv d = jv_dict(m, n->n_kids / 2);
		for (size_t i = 0; i + 1 < n->n_kids; i += 2) {
			jv k = eval(c, n->kids[i]);
			jv v = eval(c, n->kids[i + 1]);
			at(c, n->kids[i]);
			jd_set(m, d.u.d, k, v);
		}
		return d;
	}
	case JN_ATTR: {
		jv obj = eval(c, n->a);
		at(c, n);
		return jx_getattr(m, obj, n->lit);
	}
	case JN_ITEM: {
		jv obj = eval(c, n->a);
		jv key = eval(c, n->b);
		at(c, n);
		if (obj.t == JV_STR || obj.t == JV_LIST) {
			if (key.t != JV_INT && key.t != JV_BOOL)
				return jv_undef();
		}
		if (obj.t == JV_DICT || obj.t == JV_NS) {
			jv out;
			jvm_charge(m, obj.u.d->n);
			return jd_get(obj.u.d, key, &out) ? out : jv_undef();
		}
		return jx_getattr(m, obj, key);
	}
	case JN_SLICE: {
		jv obj = eval(c, n->a);
		jv s = n->b ? eval(c, n->b) : jv_none();
		jv e = n->c ? eval(c, n->c) : jv_none();
		jv st = n->d ? eval(c, n->d) : jv_none();
		at(c, n);
		return do_slice(m, obj, s, e, st);
	}
	case JN_CALL: {
		jv callee = eval(c, n->a);
		struct jx_args args;
		eval_args(c, n, &args);
		return call_value(c, n, callee, &args, jv_undef());
	}
	case JN_FILTER: {
		jv in = n->a ? eval(c, n->a) : c->placeholder;
		struct jx_args args;
		eval_args(c, n, &args);
		at(c, n);
		return jx_call_filter(m, n->name, in, &args, c);
	}
	case JN_TEST: {
		jv in = eval(c, n->a);
		struct jx_args args;
		eval_args(c, n, &args);
		at(c, n);
		bool r = jx_call_test(m, n->name, in, &args, c);
		return jv_bool(n->flag ? !r : r);
	}
	case JN_BIN: {
		jv a = eval(c, n->a);
		jv b = eval(c, n->b);
		at(c, n);
		return binop(m, n->op, a, b);
	}
	case JN_NEG:
	case JN_POS: {
		jv a = eval(c, n->a);
		at(c, n);
		if (!jv_is_num(a))
			jvm_fail(m, HEARTH_ETYPE, "bad operand type for unary %c: '%s'", n->kind == JN_NEG ? '-' : '+',
			         jv_type_name(a));
		if (n->kind == JN_POS)
			return a.t == JV_BOOL ? jv_int(a.u.b) : a;
		if (a.t == JV_FLOAT)
			return jv_float(-a.u.f);
		if (as_int(a) == INT64_MIN)
			jvm_fail(m, HEARTH_ELIMIT, "integer overflow");
		return jv_int(-as_int(a));
	}
	case JN_NOT: return jv_bool(!jv_truthy(eval(c, n->a)));
	case JN_AND: {
		jv a = eval(c, n->a);
		return jv_truthy(a) ? eval(c, n->b) : a;
	}
	case JN_OR: {
		jv a = eval(c, n->a);
		return jv_truthy(a) ? a : eval(c, n->b);
	}
	case JN_COMPARE: {
		jv left = eval(c, n->kids[0]);
		for (size_t i = 1; i < n->n_kids; i++) {
			jv right = eval(c, n->kids[i]);
			at(c, n);
			bool r;
			switch (n->ops[i - 1]) {
			case JOP_EQ: r = jv_eq(m, left, right); break;
			case JOP_NE: r = !jv_eq(m, left, right); break;
			case JOP_LT: r = jv_cmp(m, left, right) < 0; break;
			case JOP_LE: r = jv_cmp(m, left, right) <= 0; break;
			case JOP_GT: r = jv_cmp(m, left, right) > 0; break;
			case JOP_GE: r = jv_cmp(m, left, right) >= 0; break;
			case JOP_IN: r = contains(m, left, right); break;
			case JOP_NOTIN: r = !contains(m, left, right); break;
			default: r = false;
			}
			if (!r)
				return jv_bool(false);
			left = right;
		}
		return jv_bool(true);
	}
	case JN_COND:
		if (jv_truthy(eval(c, n->a)))
			return eval(c, n->b);
		return n->c ? eval(c, n->c) : jv_undef();
	default: at(c, n); jvm_fail(m, HEARTH_EINVAL, "internal: not an expression (node %d)", n->kind);
	}
}

/* ---- statements ------------------------------------------------------------- */
enum { FLOW_NEXT = 0, FLOW_BREAK, FLOW_CONTINUE };

static void bind_targets(struct rctx *c, const jnode *n, const char **names, size_t n_names, jv v)
{
	if (n_names == 1) {
		set_var(c, names[0], v);
		return;
	}
	struct jlist *l = NULL;
	if (v.t == JV_LIST)
		l = v.u.l;
	else if (v.t == JV_STR)
		l = jx_iter_list(c->m, v);
	if (!l || l->n != n_names) {
		at(c, n);
		jvm_fail(c->m, HEARTH_EINVAL, "cannot unpack %s into %zu names", jv_type_name(v), n_names);
	}
	for (size_t i = 0; i < n_names; i++)
		set_var(c, names[i], l->v[i]);
}

struct jlist *jx_iter_list(jvm *m, jv v)
{
	switch (v.t) {
	case JV_UNDEF: return jv_list(m, 0).u.l;
	case JV_LIST: return v.u.l;
	case JV_DICT:
	case JV_NS: {
		jv l = jv_list(m, v.u.d->n);
		jvm_charge(m, v.u.d->n);
		for (size_t i = 0; i < v.u.d->n; i++)
			jl_push(m, l.u.l, v.u.d->k[i]);
		return l.u.l;
	}
	case JV_STR: {
		size_t nc = ju_count(v.u.s->p, v.u.s->len);
		jvm_charge(m, nc);
		jv l = jv_list(m, nc);
		size_t i = 0;
		int32_t cp;
		while (i < v.u.s->len) {
			size_t k = ju_decode(v.u.s->p + i, v.u.s->len - i, &cp);
			jl_push(m, l.u.l, jv_str(m, v.u.s->p + i, k));
			i += k;
		}
		return l.u.l;
	}
	default: jvm_fail(m, HEARTH_ETYPE, "'%s' object is not iterable", jv_type_name(v));
	}
}

static int exec_for(struct rctx *c, const jnode *n)
{
	jv it = eval(c, n->a);
	at(c, n->a);
	struct jlist *items = jx_iter_list(c->m, it);
	if (n->b) {
		/* loop filter: loop.* counts only the items that pass */
		jv kept = jv_list(c->m, 0);
		push_frame(c, c->n_frames - 1);
		for (size_t i = 0; i < items->n; i++) {
			jvm_charge(c->m, 1);
			c->n_vars = c->frames[c->n_frames - 1].start;
			bind_targets(c, n, n->names, n->n_names, items->v[i]);
			if (jv_truthy(eval(c, n->b)))
				jl_push(c->m, kept.u.l, items->v[i]);
		}
		pop_frame(c);
		items = kept.u.l;
	}
	if (items->n == 0) {
		if (n->d)
			return exec(c, n->d);
		return FLOW_NEXT;
	}
	struct jloop *lp = ja_alloc(c->m->arena, c->m->fail, sizeof *lp);
	lp->items = items;
	lp->length = (int64_t)items->n;
	jv outer;
	if (lookup(c, "loop", &outer) && outer.t == JV_LOOP)
		lp->depth = outer.u.loop->depth + 1;
	jv loopv = {0};
	loopv.t = JV_LOOP;
	loopv.u.loop = lp;
	push_frame(c, c->n_frames - 1);
	for (size_t i = 0; i < items->n; i++) {
		jvm_charge(c->m, 1);
		c->n_vars = c->frames[c->n_frames - 1].start;
		lp->index0 = (int64_t)i;
		set_var(c, "loop", loopv);
		bind_targets(c, n, n->names, n->n_names, items->v[i]);
		int r = exec(c, n->c);
		if (r == FLOW_BREAK)
			break;
	}
	pop_frame(c);
	return FLOW_NEXT;
}

static int exec(struct rctx *c, const jnode *n)
{
	jvm *m = c->m;
	jvm_charge(m, 1);
	switch (n->kind) {
	case JN_BODY:
		for (size_t i = 0; i < n->n_kids; i++) {
			int r = exec(c, n->kids[i]);
			if (r != FLOW_NEXT)
				return r;
		}
		return FLOW_NEXT;
	case JN_TEXT:
		at(c, n);
		jb_put(m, c->out, n->lit.u.s->p, n->lit.u.s->len);
		return FLOW_NEXT;
	case JN_OUTPUT: {
		jv v = eval(c, n->a);
		at(c, n);
		jv_write_str(m, c->out, v);
		return FLOW_NEXT;
	}
	case JN_IF:
		/* walk the elif chain iteratively */
		while (n && n->kind == JN_IF) {
			if (jv_truthy(eval(c, n->a)))
				return exec(c, n->b);
			n = n->c;
			jvm_charge(m, 1);
		}
		return n ? exec(c, n) : FLOW_NEXT;
	case JN_FOR: return exec_for(c, n);
	case JN_SET: bind_targets(c, n, n->names, n->n_names, eval(c, n->a)); return FLOW_NEXT;
	case JN_SETATTR: {
		jv obj;
		if (!lookup(c, n->name, &obj) || obj.t != JV_NS) {
			at(c, n);
			jvm_fail(m, HEARTH_ETYPE, "can only assign attributes on namespace objects ('%s' is %s)", n->name,
			         jv_type_name(obj));
		}
		jv v = eval(c, n->a);
		at(c, n);
		jd_set(m, obj.u.d, jv_cstr(m, n->names[0]), v);
		return FLOW_NEXT;
	}
	case JN_SETBLOCK: {
		jv v = capture(c, n->b);
		if (n->c) {
			jv saved = c->placeholder;
			c->placeholder = v;
			v = eval(c, n->c);
			c->placeholder = saved;
		}
		set_var(c, n->names[0], v);
		return FLOW_NEXT;
	}
	case JN_MACRO: {
		struct jmacro *mac = ja_alloc(m->arena, m->fail, sizeof *mac);
		mac->def = n;
		mac->body = n->b;
		mac->parent = c->n_frames - 1;
		mac->serial = c->frames[c->n_frames - 1].serial;
		mac->name = n->name;
		jv v = {0};
		v.t = JV_MACRO;
		v.u.m = mac;
		set_var(c, n->name, v);
		return FLOW_NEXT;
	}
	case JN_CALLBLOCK: {
		struct jmacro *mac = ja_alloc(m->arena, m->fail, sizeof *mac);
		mac->def = n;
		mac->body = n->b;
		mac->parent = c->n_frames - 1;
		mac->serial = c->frames[c->n_frames - 1].serial;
		mac->name = "caller";
		jv caller = {0};
		caller.t = JV_MACRO;
		caller.u.m = mac;
		const jnode *call = n->a;
		jv callee = eval(c, call->a);
		struct jx_args args;
		eval_args(c, call, &args);
		if (callee.t != JV_MACRO) {
			at(c, call);
			jvm_fail(m, HEARTH_ETYPE, "a call block needs a macro, not %s", jv_type_name(callee));
		}
		jv out = call_value(c, call, callee, &args, caller);
		at(c, n);
		jb_put(m, c->out, out.u.s->p, out.u.s->len);
		return FLOW_NEXT;
	}
	case JN_FILTERBLOCK: {
		jv v = capture(c, n->b);
		jv saved = c->placeholder;
		c->placeholder = v;
		v = eval(c, n->a);
		c->placeholder = saved;
		at(c, n);
		jv_write_str(m, c->out, v);
		return FLOW_NEXT;
	}
	case JN_BREAK: return FLOW_BREAK;
	case JN_CONTINUE: return FLOW_CONTINUE;
	case JN_DO: eval(c, n->a); return FLOW_NEXT;
	default: at(c, n); jvm_fail(m, HEARTH_EINVAL, "internal: not a statement (node %d)", n->kind);
	}
}

void jx_render(jvm *m, const jnode *root, const jx_limits *lim, const jx_var *vars, size_t n_vars, jbuf *out)
{
	struct rctx c = {0};
	c.m = m;
	c.lim = lim;
	c.out = out;
	out->limit = lim->max_output;
	push_frame(&c, -1);
	for (size_t i = 0; i < n_vars; i++)
		set_var(&c, vars[i].name, vars[i].value);
	exec(&c, root);
}
