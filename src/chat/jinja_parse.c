/*
 * jinja_parse.c - recursive-descent parser from tokens to the syntax tree.
 *
 * The expression grammar and precedence follow Jinja2's parser: conditional
 * expressions, or, and, not, comparisons (chained, with in / not in), + -, ~,
 * * / // %, **, unary - +, then postfix (.attr, [subscript/slice], (call)) and
 * filter/test chains (| filter, is [not] test) which bind tighter than binary
 * operators, so `a + b | trim` is `a + (b | trim)`.
 *
 * Recursion is bounded: every nested statement or expression level counts toward
 * `max_depth`, and every node's height (which bounds the evaluator's recursion,
 * including long left-leaning chains such as a + b + c + ...) is checked too.
 */
#include "chat/jinja.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct parser {
	jvm *m;
	const jtoks *t;
	size_t i;
	int depth, max_depth;
	int loop_depth; /* for break/continue */
};

/* A node plus its height (longest path to a leaf), used only while parsing. */
struct hnode {
	jnode n;
	int height;
};

static const jtok *peek(struct parser *P) { return &P->t->v[P->i]; }
static const jtok *peek2(struct parser *P) { return P->i + 1 < P->t->n ? &P->t->v[P->i + 1] : &P->t->v[P->t->n - 1]; }

static const jtok *next(struct parser *P)
{
	const jtok *t = &P->t->v[P->i];
	if (t->t != JT_EOF)
		P->i++;
	return t;
}

static bool is_op(const jtok *t, const char *op) { return t->t == JT_OP && strcmp(t->op, op) == 0; }
static bool is_name(const jtok *t, const char *name) { return t->t == JT_NAME && strcmp(t->p, name) == 0; }

static const char *tok_desc(const jtok *t, char *buf, size_t len)
{
	switch (t->t) {
	case JT_EOF: return "end of template";
	case JT_TEXT: return "template text";
	case JT_VAR_BEGIN: return "'{{'";
	case JT_VAR_END: return "'}}'";
	case JT_BLOCK_BEGIN: return "'{%'";
	case JT_BLOCK_END: return "'%}'";
	case JT_NAME: snprintf(buf, len, "'%.40s'", t->p); return buf;
	case JT_STRING: return "string";
	case JT_INT:
	case JT_FLOAT: return "number";
	case JT_OP: snprintf(buf, len, "'%s'", t->op); return buf;
	}
	return "token";
}

_Noreturn static void pfail(struct parser *P, const jtok *t, const char *fmt, ...) HX_PRINTF(3, 4);

_Noreturn static void pfail(struct parser *P, const jtok *t, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	P->m->line = t->line;
	P->m->col = t->col;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	jvm_fail(P->m, HEARTH_EFORMAT, "%s", msg);
}

_Noreturn static void unexpected(struct parser *P, const jtok *t, const char *expected)
{
	char buf[64], msg[200];
	snprintf(msg, sizeof msg, "unexpected %s, expected %s", tok_desc(t, buf, sizeof buf), expected);
	pfail(P, t, "%s", msg);
}

static void expect_op(struct parser *P, const char *op)
{
	const jtok *t = peek(P);
	if (!is_op(t, op)) {
		char e[16];
		snprintf(e, sizeof e, "'%s'", op);
		unexpected(P, t, e);
	}
	next(P);
}

static void expect(struct parser *P, int type, const char *what)
{
	const jtok *t = peek(P);
	if (t->t != type)
		unexpected(P, t, what);
	next(P);
}

static const char *expect_name(struct parser *P)
{
	const jtok *t = peek(P);
	if (t->t != JT_NAME)
		unexpected(P, t, "a name");
	next(P);
	return t->p;
}

static void enter(struct parser *P, const jtok *t)
{
	if (++P->depth > P->max_depth) {
		P->m->line = t->line;
		P->m->col = t->col;
		jvm_fail(P->m, HEARTH_ELIMIT, "template nested too deeply (limit %d)", P->max_depth);
	}
}

static void leave(struct parser *P) { P->depth--; }

static jnode *mk(struct parser *P, int kind, const jtok *t)
{
	struct hnode *h = ja_alloc(P->m->arena, P->m->fail, sizeof *h);
	h->n.kind = (uint16_t)kind;
	h->n.line = t->line;
	h->n.col = t->col;
	h->height = 1;
	return &h->n;
}

static int height(const jnode *n) { return n ? ((const struct hnode *)(const void *)n)->height : 0; }

/* Records a node's height from its children and enforces the bound. */
static jnode *fin(struct parser *P, jnode *n)
{
	int h = HX_MAX(HX_MAX(height(n->a), height(n->b)), HX_MAX(height(n->c), height(n->d)));
	for (size_t i = 0; i < n->n_kids; i++)
		h = HX_MAX(h, height(n->kids[i]));
	((struct hnode *)(void *)n)->height = h + 1;
	if (h + 1 > P->max_depth) {
		P->m->line = n->line;
		P->m->col = n->col;
		jvm_fail(P->m, HEARTH_ELIMIT, "expression nested too deeply (limit %d)", P->max_depth);
	}
	return n;
}

/* growable kid/name arrays */
struct vec {
	jnode **kids;
	const char **names;
	int *ops;
	size_t n, cap;
};

static void vpush(struct parser *P, struct vec *v, jnode *kid, const char *name, int op)
{
	if (v->n == v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 4;
		jnode **nk = ja_alloc(P->m->arena, P->m->fail, nc * sizeof *nk);
		const char **nn = ja_alloc(P->m->arena, P->m->fail, nc * sizeof *nn);
		int *no = ja_alloc(P->m->arena, P->m->fail, nc * sizeof *no);
		if (v->n) {
			memcpy(nk, v->kids, v->n * sizeof *nk);
			memcpy(nn, v->names, v->n * sizeof *nn);
			memcpy(no, v->ops, v->n * sizeof *no);
		}
		v->kids = nk;
		v->names = nn;
		v->ops = no;
		v->cap = nc;
	}
	v->kids[v->n] = kid;
	v->names[v->n] = name;
	v->ops[v->n] = op;
	v->n++;
}

static void vset(jnode *n, struct vec *v)
{
	n->kids = v->kids;
	n->names = v->names;
	n->ops = v->ops;
	n->n_kids = v->n;
	n->n_names = v->n;
}

static jnode *parse_expr(struct parser *P);
static jnode *parse_or(struct parser *P);
static jnode *parse_unary(struct parser *P, bool with_filter);
static jnode *parse_primary(struct parser *P);
static jnode *parse_postfix(struct parser *P, jnode *node);

/* ( args ) after the opening parenthesis has been seen (not consumed). */
static void parse_call_args(struct parser *P, jnode *n)
{
	struct vec v = {0};
	expect_op(P, "(");
	while (!is_op(peek(P), ")")) {
		if (v.n > 0) {
			expect_op(P, ",");
			if (is_op(peek(P), ")"))
				break;
		}
		const jtok *t = peek(P);
		if (is_op(t, "*") || is_op(t, "**"))
			pfail(P, t, "%s", "*args and **kwargs in calls are not supported");
		if (t->t == JT_NAME && is_op(peek2(P), "=")) {
			next(P);
			next(P);
			vpush(P, &v, parse_expr(P), t->p, 0);
		} else {
			for (size_t k = 0; k < v.n; k++)
				if (v.names[k])
					pfail(P, t, "%s", "positional argument follows keyword argument");
			vpush(P, &v, parse_expr(P), NULL, 0);
		}
	}
	next(P);
	vset(n, &v);
}

/* a tuple without parentheses: expr (, expr)*  -> a list node when commas appear */
static jnode *parse_tuple(struct parser *P, bool with_cond)
{
	const jtok *t0 = peek(P);
	jnode *first = with_cond ? parse_expr(P) : parse_or(P);
	if (!is_op(peek(P), ","))
		return first;
	struct vec v = {0};
	vpush(P, &v, first, NULL, 0);
	while (is_op(peek(P), ",")) {
		next(P);
		const jtok *t = peek(P);
		if (t->t == JT_BLOCK_END || t->t == JT_VAR_END || is_op(t, ")") || is_name(t, "if"))
			break;
		vpush(P, &v, with_cond ? parse_expr(P) : parse_or(P), NULL, 0);
	}
	jnode *n = mk(P, JN_LIST, t0);
	n->flag = true;
	vset(n, &v);
	return fin(P, n);
}

static jnode *parse_primary(struct parser *P)
{
	const jtok *t = peek(P);
	jnode *n;
	switch (t->t) {
	case JT_NAME:
		next(P);
		if (!strcmp(t->p, "true") || !strcmp(t->p, "True")) {
			n = mk(P, JN_LIT, t);
			n->lit = jv_bool(true);
		} else if (!strcmp(t->p, "false") || !strcmp(t->p, "False")) {
			n = mk(P, JN_LIT, t);
			n->lit = jv_bool(false);
		} else if (!strcmp(t->p, "none") || !strcmp(t->p, "None")) {
			n = mk(P, JN_LIT, t);
			n->lit = jv_none();
		} else {
			n = mk(P, JN_NAME, t);
			n->name = t->p;
		}
		return n;
	case JT_STRING: {
		next(P);
		n = mk(P, JN_LIT, t);
		if (peek(P)->t != JT_STRING) {
			n->lit = jv_strobj(t->s);
			return n;
		}
		jbuf b = {0};
		jb_put(P->m, &b, t->s->p, t->s->len);
		while (peek(P)->t == JT_STRING) {
			const jtok *u = next(P);
			jb_put(P->m, &b, u->s->p, u->s->len);
		}
		n->lit = jv_str(P->m, b.p ? b.p : "", b.n);
		return n;
	}
	case JT_INT:
		next(P);
		n = mk(P, JN_LIT, t);
		n->lit = jv_int(t->i);
		return n;
	case JT_FLOAT:
		next(P);
		n = mk(P, JN_LIT, t);
		n->lit = jv_float(t->f);
		return n;
	case JT_OP:
		if (is_op(t, "(")) {
			next(P);
			enter(P, t);
			if (is_op(peek(P), ")")) {
				next(P);
				leave(P);
				n = mk(P, JN_LIST, t);
				n->flag = true;
				return n;
			}
			n = parse_tuple(P, true);
			expect_op(P, ")");
			leave(P);
			return n;
		}
		if (is_op(t, "[")) {
			next(P);
			enter(P, t);
			struct vec v = {0};
			while (!is_op(peek(P), "]")) {
				if (v.n > 0) {
					expect_op(P, ",");
					if (is_op(peek(P), "]"))
						break;
				}
				vpush(P, &v, parse_expr(P), NULL, 0);
			}
			next(P);
			leave(P);
			n = mk(P, JN_LIST, t);
			vset(n, &v);
			return fin(P, n);
		}
		if (is_op(t, "{")) {
			next(P);
			enter(P, t);
			struct vec v = {0};
			while (!is_op(peek(P), "}")) {
				if (v.n > 0) {
					expect_op(P, ",");
					if (is_op(peek(P), "}"))
						break;
				}
				vpush(P, &v, parse_expr(P), NULL, 0);
				expect_op(P, ":");
				vpush(P, &v, parse_expr(P), NULL, 0);
			}
			next(P);
			leave(P);
			n = mk(P, JN_DICT, t);
			vset(n, &v);
			return fin(P, n);
		}
		break;
	default: break;
	}
	unexpected(P, t, "an expression");
}

static jnode *parse_subscript(struct parser *P, jnode *obj)
{
	const jtok *t = next(P); /* '.' or '[' */
	if (is_op(t, ".")) {
		const jtok *a = peek(P);
		if (a->t == JT_NAME) {
			next(P);
			jnode *n = mk(P, JN_ATTR, t);
			n->a = obj;
			n->name = a->p;
			n->lit = jv_strobj(a->s);
			return fin(P, n);
		}
		if (a->t == JT_INT) {
			next(P);
			jnode *n = mk(P, JN_ITEM, t);
			n->a = obj;
			n->b = mk(P, JN_LIT, a);
			n->b->lit = jv_int(a->i);
			return fin(P, n);
		}
		unexpected(P, a, "an attribute name");
	}
	enter(P, t);
	jnode *parts[3] = {NULL, NULL, NULL};
	bool is_slice = false;
	if (!is_op(peek(P), ":"))
		parts[0] = parse_expr(P);
	if (is_op(peek(P), ":")) {
		is_slice = true;
		next(P);
		if (!is_op(peek(P), "]") && !is_op(peek(P), ":"))
			parts[1] = parse_expr(P);
		if (is_op(peek(P), ":")) {
			next(P);
			if (!is_op(peek(P), "]"))
				parts[2] = parse_expr(P);
		}
	}
	expect_op(P, "]");
	leave(P);
	jnode *n;
	if (is_slice) {
		n = mk(P, JN_SLICE, t);
		n->a = obj;
		n->b = parts[0];
		n->c = parts[1];
		n->d = parts[2];
	} else {
		n = mk(P, JN_ITEM, t);
		n->a = obj;
		n->b = parts[0];
	}
	return fin(P, n);
}

static jnode *parse_postfix(struct parser *P, jnode *node)
{
	for (;;) {
		const jtok *t = peek(P);
		if (is_op(t, ".") || is_op(t, "[")) {
			node = parse_subscript(P, node);
		} else if (is_op(t, "(")) {
			jnode *n = mk(P, JN_CALL, t);
			n->a = node;
			n->line = node->line; /* report calls at the callee */
			n->col = node->col;
			enter(P, t);
			parse_call_args(P, n);
			leave(P);
			node = fin(P, n);
		} else {
			return node;
		}
	}
}

static jnode *parse_filter(struct parser *P, jnode *node)
{
	const jtok *t = peek(P);
	const char *name = expect_name(P);
	jnode *n = mk(P, JN_FILTER, t);
	n->a = node;
	n->name = name;
	if (is_op(peek(P), "(")) {
		enter(P, t);
		parse_call_args(P, n);
		leave(P);
	}
	return fin(P, n);
}

static jnode *parse_filter_expr(struct parser *P, jnode *node)
{
	for (;;) {
		const jtok *t = peek(P);
		if (is_op(t, "|")) {
			next(P);
			node = parse_filter(P, node);
		} else if (is_name(t, "is")) {
			next(P);
			bool neg = false;
			if (is_name(peek(P), "not")) {
				next(P);
				neg = true;
			}
			const jtok *nt = peek(P);
			const char *name = expect_name(P);
			jnode *n = mk(P, JN_TEST, nt);
			n->a = node;
			n->name = name;
			n->flag = neg;
			const jtok *a = peek(P);
			if (is_op(a, "(")) {
				enter(P, a);
				parse_call_args(P, n);
				leave(P);
			} else if ((a->t == JT_NAME || a->t == JT_STRING || a->t == JT_INT || a->t == JT_FLOAT ||
			            is_op(a, "[") || is_op(a, "{")) &&
			           !(is_name(a, "else") || is_name(a, "or") || is_name(a, "and") || is_name(a, "if") ||
			             is_name(a, "in") || is_name(a, "not") || is_name(a, "is") || is_name(a, "recursive"))) {
				enter(P, a);
				struct vec v = {0};
				jnode *arg = parse_postfix(P, parse_primary(P));
				vpush(P, &v, arg, NULL, 0);
				vset(n, &v);
				leave(P);
			}
			node = fin(P, n);
		} else if (is_op(t, "(")) {
			jnode *n = mk(P, JN_CALL, t);
			n->a = node;
			n->line = node->line; /* report calls at the callee */
			n->col = node->col;
			enter(P, t);
			parse_call_args(P, n);
			leave(P);
			node = fin(P, n);
		} else {
			return node;
		}
	}
}

static jnode *parse_unary(struct parser *P, bool with_filter)
{
	const jtok *t = peek(P);
	jnode *node;
	if (is_op(t, "-") || is_op(t, "+")) {
		next(P);
		enter(P, t);
		node = mk(P, is_op(t, "-") ? JN_NEG : JN_POS, t);
		node->a = parse_unary(P, false);
		leave(P);
		node = fin(P, node);
	} else {
		node = parse_primary(P);
	}
	node = parse_postfix(P, node);
	if (with_filter)
		node = parse_filter_expr(P, node);
	return node;
}

static jnode *binary(struct parser *P, const jtok *t, int op, jnode *a, jnode *b)
{
	jnode *n = mk(P, JN_BIN, t);
	n->op = (int16_t)op;
	n->a = a;
	n->b = b;
	return fin(P, n);
}

static jnode *parse_pow(struct parser *P)
{
	jnode *a = parse_unary(P, true);
	while (is_op(peek(P), "**")) {
		const jtok *t = next(P);
		a = binary(P, t, JOP_POW, a, parse_unary(P, true));
	}
	return a;
}

static jnode *parse_math2(struct parser *P)
{
	jnode *a = parse_pow(P);
	for (;;) {
		const jtok *t = peek(P);
		int op = is_op(t, "*") ? JOP_MUL : is_op(t, "/") ? JOP_DIV : is_op(t, "//") ? JOP_FLOORDIV
		       : is_op(t, "%") ? JOP_MOD : 0;
		if (!op)
			return a;
		next(P);
		a = binary(P, t, op, a, parse_pow(P));
	}
}

static jnode *parse_concat(struct parser *P)
{
	jnode *a = parse_math2(P);
	while (is_op(peek(P), "~")) {
		const jtok *t = next(P);
		a = binary(P, t, JOP_CONCAT, a, parse_math2(P));
	}
	return a;
}

static jnode *parse_math1(struct parser *P)
{
	jnode *a = parse_concat(P);
	for (;;) {
		const jtok *t = peek(P);
		int op = is_op(t, "+") ? JOP_ADD : is_op(t, "-") ? JOP_SUB : 0;
		if (!op)
			return a;
		next(P);
		a = binary(P, t, op, a, parse_concat(P));
	}
}

static jnode *parse_compare(struct parser *P)
{
	const jtok *t0 = peek(P);
	jnode *a = parse_math1(P);
	struct vec v = {0};
	for (;;) {
		const jtok *t = peek(P);
		int op = 0;
		if (is_op(t, "==")) op = JOP_EQ;
		else if (is_op(t, "!=")) op = JOP_NE;
		else if (is_op(t, "<")) op = JOP_LT;
		else if (is_op(t, "<=")) op = JOP_LE;
		else if (is_op(t, ">")) op = JOP_GT;
		else if (is_op(t, ">=")) op = JOP_GE;
		else if (is_name(t, "in")) op = JOP_IN;
		else if (is_name(t, "not") && is_name(peek2(P), "in")) {
			next(P);
			op = JOP_NOTIN;
		}
		if (!op)
			break;
		next(P);
		if (v.n == 0)
			vpush(P, &v, a, NULL, 0);
		v.ops[v.n - 1] = op;
		vpush(P, &v, parse_math1(P), NULL, 0);
	}
	if (v.n == 0)
		return a;
	jnode *n = mk(P, JN_COMPARE, t0);
	vset(n, &v);
	return fin(P, n);
}

static jnode *parse_not(struct parser *P)
{
	const jtok *t = peek(P);
	if (is_name(t, "not")) {
		next(P);
		enter(P, t);
		jnode *n = mk(P, JN_NOT, t);
		n->a = parse_not(P);
		leave(P);
		return fin(P, n);
	}
	return parse_compare(P);
}

static jnode *parse_and(struct parser *P)
{
	jnode *a = parse_not(P);
	while (is_name(peek(P), "and")) {
		const jtok *t = next(P);
		jnode *n = mk(P, JN_AND, t);
		n->a = a;
		n->b = parse_not(P);
		a = fin(P, n);
	}
	return a;
}

static jnode *parse_or(struct parser *P)
{
	jnode *a = parse_and(P);
	while (is_name(peek(P), "or")) {
		const jtok *t = next(P);
		jnode *n = mk(P, JN_OR, t);
		n->a = a;
		n->b = parse_and(P);
		a = fin(P, n);
	}
	return a;
}

static jnode *parse_expr(struct parser *P)
{
	const jtok *t0 = peek(P);
	enter(P, t0);
	jnode *a = parse_or(P);
	while (is_name(peek(P), "if")) {
		const jtok *t = next(P);
		jnode *n = mk(P, JN_COND, t);
		n->b = a;
		n->a = parse_or(P);
		if (is_name(peek(P), "else")) {
			next(P);
			n->c = parse_expr(P);
		}
		a = fin(P, n);
	}
	leave(P);
	return a;
}

/* ---- statements ------------------------------------------------------------ */
static jnode *parse_body(struct parser *P, const char *const *ends, const char **found);

static void end_tag(struct parser *P) { expect(P, JT_BLOCK_END, "'%}'"); }

/* if / elif ... / else / endif.  An elif chain is a list of JN_IF nodes linked
 * through `c`, built iteratively so that long chains cost no recursion. */
static jnode *parse_if(struct parser *P, const jtok *t)
{
	static const char *const ends[] = {"elif", "else", "endif", NULL};
	static const char *const ends2[] = {"endif", NULL};
	jnode *first = mk(P, JN_IF, t), *n = first;
	const char *found;
	for (;;) {
		n->a = parse_expr(P);
		end_tag(P);
		n->b = parse_body(P, ends, &found);
		if (strcmp(found, "elif") != 0)
			break;
		jnode *next_if = mk(P, JN_IF, &P->t->v[P->i - 1]);
		n->c = next_if;
		n = next_if;
	}
	if (!strcmp(found, "else")) {
		end_tag(P);
		n->c = parse_body(P, ends2, &found);
	}
	end_tag(P);
	return first;
}

static jnode *parse_for(struct parser *P, const jtok *t)
{
	jnode *n = mk(P, JN_FOR, t);
	struct vec v = {0};
	bool paren = false;
	if (is_op(peek(P), "(")) {
		next(P);
		paren = true;
	}
	vpush(P, &v, NULL, expect_name(P), 0);
	while (is_op(peek(P), ",")) {
		next(P);
		if (peek(P)->t != JT_NAME)
			break;
		vpush(P, &v, NULL, expect_name(P), 0);
	}
	if (paren)
		expect_op(P, ")");
	n->names = v.names;
	n->n_names = v.n;
	if (!is_name(peek(P), "in"))
		unexpected(P, peek(P), "'in'");
	next(P);
	n->a = parse_tuple(P, false);
	if (is_name(peek(P), "if")) {
		next(P);
		n->b = parse_expr(P);
	}
	if (is_name(peek(P), "recursive"))
		pfail(P, peek(P), "%s", "recursive for loops are not supported");
	end_tag(P);
	static const char *const ends[] = {"else", "endfor", NULL};
	const char *found;
	P->loop_depth++;
	n->c = parse_body(P, ends, &found);
	P->loop_depth--;
	if (!strcmp(found, "else")) {
		end_tag(P);
		static const char *const ends2[] = {"endfor", NULL};
		n->d = parse_body(P, ends2, &found);
	}
	end_tag(P);
	return n;
}

/* filters applied to a placeholder: "| a | b(x)" or "a | b" (filter tag) */
static jnode *parse_filter_chain(struct parser *P, const jtok *t, bool leading_pipe)
{
	jnode *node = mk(P, JN_PLACEHOLDER, t);
	if (!leading_pipe)
		node = parse_filter(P, node);
	while (is_op(peek(P), "|")) {
		next(P);
		node = parse_filter(P, node);
	}
	return node;
}

static jnode *parse_set(struct parser *P, const jtok *t)
{
	const jtok *nt = peek(P);
	const char *name = expect_name(P);
	if (is_op(peek(P), ".")) {
		next(P);
		jnode *n = mk(P, JN_SETATTR, t);
		n->name = name;
		n->names = ja_alloc(P->m->arena, P->m->fail, sizeof *n->names);
		n->names[0] = expect_name(P);
		n->n_names = 1;
		expect_op(P, "=");
		n->a = parse_tuple(P, true);
		end_tag(P);
		return n;
	}
	struct vec v = {0};
	vpush(P, &v, NULL, name, 0);
	while (is_op(peek(P), ",")) {
		next(P);
		vpush(P, &v, NULL, expect_name(P), 0);
	}
	if (is_op(peek(P), "=")) {
		next(P);
		jnode *n = mk(P, JN_SET, t);
		n->names = v.names;
		n->n_names = v.n;
		n->a = parse_tuple(P, true);
		end_tag(P);
		return n;
	}
	if (v.n != 1)
		unexpected(P, peek(P), "'='");
	jnode *n = mk(P, JN_SETBLOCK, t);
	n->names = v.names;
	n->n_names = 1;
	if (is_op(peek(P), "|")) {
		next(P);
		n->c = parse_filter_chain(P, nt, false);
	}
	end_tag(P);
	static const char *const ends[] = {"endset", NULL};
	const char *found;
	n->b = parse_body(P, ends, &found);
	end_tag(P);
	return n;
}

static void parse_params(struct parser *P, jnode *n)
{
	struct vec v = {0};
	expect_op(P, "(");
	while (!is_op(peek(P), ")")) {
		if (v.n > 0)
			expect_op(P, ",");
		if (is_op(peek(P), ")"))
			break;
		const char *pn = expect_name(P);
		jnode *def = NULL;
		if (is_op(peek(P), "=")) {
			next(P);
			def = parse_expr(P);
		}
		vpush(P, &v, def, pn, 0);
	}
	next(P);
	vset(n, &v);
}

static jnode *parse_statement(struct parser *P)
{
	const jtok *t = peek(P);
	if (t->t != JT_NAME)
		unexpected(P, t, "a statement name");
	next(P);
	enter(P, t);
	jnode *n = NULL;
	const char *w = t->p;
	const char *found;
	if (!strcmp(w, "if")) {
		n = parse_if(P, t);
	} else if (!strcmp(w, "for")) {
		n = parse_for(P, t);
	} else if (!strcmp(w, "set")) {
		n = parse_set(P, t);
	} else if (!strcmp(w, "macro")) {
		n = mk(P, JN_MACRO, t);
		n->name = expect_name(P);
		parse_params(P, n);
		end_tag(P);
		static const char *const ends[] = {"endmacro", NULL};
		int saved = P->loop_depth;
		P->loop_depth = 0;
		n->b = parse_body(P, ends, &found);
		P->loop_depth = saved;
		if (peek(P)->t == JT_NAME)
			next(P); /* {% endmacro name %} */
		end_tag(P);
	} else if (!strcmp(w, "call")) {
		n = mk(P, JN_CALLBLOCK, t);
		if (is_op(peek(P), "("))
			parse_params(P, n);
		n->a = parse_expr(P);
		if (n->a->kind != JN_CALL)
			pfail(P, t, "%s", "expected a macro call after 'call'");
		end_tag(P);
		static const char *const ends[] = {"endcall", NULL};
		int saved = P->loop_depth;
		P->loop_depth = 0;
		n->b = parse_body(P, ends, &found);
		P->loop_depth = saved;
		end_tag(P);
	} else if (!strcmp(w, "filter")) {
		n = mk(P, JN_FILTERBLOCK, t);
		n->a = parse_filter_chain(P, t, false);
		end_tag(P);
		static const char *const ends[] = {"endfilter", NULL};
		n->b = parse_body(P, ends, &found);
		end_tag(P);
	} else if (!strcmp(w, "break") || !strcmp(w, "continue")) {
		if (P->loop_depth == 0)
			pfail(P, t, "'%s' outside of a loop", w);
		n = mk(P, w[0] == 'b' ? JN_BREAK : JN_CONTINUE, t);
		end_tag(P);
	} else if (!strcmp(w, "do")) {
		n = mk(P, JN_DO, t);
		n->a = parse_tuple(P, true);
		end_tag(P);
	} else if (!strcmp(w, "generation")) {
		/* transformers' assistant-mask marker: renders its body unchanged */
		end_tag(P);
		static const char *const ends[] = {"endgeneration", NULL};
		n = parse_body(P, ends, &found);
		end_tag(P);
	} else if (!strcmp(w, "include") || !strcmp(w, "import") || !strcmp(w, "from") || !strcmp(w, "extends") ||
	           !strcmp(w, "block")) {
		pfail(P, t, "'%s' is not supported: chat templates cannot load other templates", w);
	} else {
		pfail(P, t, "unknown tag '%s'", w);
	}
	leave(P);
	return n;
}

static jnode *parse_body(struct parser *P, const char *const *ends, const char **found)
{
	const jtok *t0 = peek(P);
	jnode *body = mk(P, JN_BODY, t0);
	struct vec v = {0};
	for (;;) {
		const jtok *t = peek(P);
		if (t->t == JT_EOF) {
			if (ends) {
				char msg[96];
				snprintf(msg, sizeof msg, "'%s'", ends[0]);
				unexpected(P, t, ends[1] ? "an end tag" : msg);
			}
			break;
		}
		if (t->t == JT_TEXT) {
			next(P);
			jnode *n = mk(P, JN_TEXT, t);
			n->lit = jv_strobj(t->s);
			vpush(P, &v, n, NULL, 0);
		} else if (t->t == JT_VAR_BEGIN) {
			next(P);
			jnode *n = mk(P, JN_OUTPUT, t);
			n->a = parse_tuple(P, true);
			expect(P, JT_VAR_END, "'}}'");
			vpush(P, &v, n, NULL, 0);
		} else if (t->t == JT_BLOCK_BEGIN) {
			const jtok *w = peek2(P);
			if (ends && w->t == JT_NAME) {
				bool is_end = false;
				for (size_t k = 0; ends[k]; k++)
					if (!strcmp(w->p, ends[k])) {
						*found = ends[k];
						is_end = true;
					}
				if (is_end) {
					next(P);
					next(P);
					break;
				}
			}
			next(P);
			vpush(P, &v, parse_statement(P), NULL, 0);
		} else {
			unexpected(P, t, "template text or a tag");
		}
	}
	body->kids = v.kids;
	body->n_kids = v.n;
	return body;
}

jnode *jx_parse(jvm *m, const jtoks *toks, int max_depth)
{
	struct parser P = {0};
	P.m = m;
	P.t = toks;
	P.max_depth = max_depth;
	return parse_body(&P, NULL, NULL);
}
