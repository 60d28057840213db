/*
 * jinja.h - internals of hearth's Jinja interpreter (chat templates).
 *
 * The interpreter is a small, self-contained subset of Jinja2 as HF transformers
 * configures it for chat templates: trim_blocks, lstrip_blocks, loopcontrols, a
 * Python-compatible tojson, raise_exception, and Python-like string methods.
 *
 * Pieces:
 *  - jinja_value.c: the arena every value lives in, value constructors, Python
 *    style str()/repr()/json.dumps(), equality, ordering, JSON (jansson) import.
 *  - jinja_lex.c:   source -> tokens, applying whitespace control.
 *  - jinja_parse.c: tokens -> syntax tree (struct jnode), with a nesting bound.
 *  - jinja_eval.c:  tree-walking renderer with loop, depth, output and memory
 *    limits; jinja_builtins.c: filters, tests, methods and global functions.
 *
 * Errors inside parse and render are raised with jx_fail(), which formats
 * "NAME:LINE:COL: message" into the thread's error message and longjmps back to
 * the entry point; all memory in use at that moment belongs to arenas that the
 * entry point frees, so nothing leaks.
 */
#ifndef HEARTH_CHAT_JINJA_H
#define HEARTH_CHAT_JINJA_H

#include "util/util.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- arena --------------------------------------------------------------- */
struct jarena_chunk;
typedef struct jarena {
	struct jarena_chunk *head;
	size_t used;  /* bytes handed out plus chunk overhead */
	size_t limit; /* 0: unlimited */
} jarena;

/* ---- failure context -------------------------------------------------- */
typedef struct jfail {
	jmp_buf jb;
	const char *name; /* template name for messages */
} jfail;

_Noreturn void jx_fail(jfail *f, int code, int line, int col, const char *fmt, ...) HX_PRINTF(5, 6);

/* Allocates n zeroed bytes from the arena or fails (HEARTH_ELIMIT past the limit). */
void *ja_alloc(jarena *a, jfail *f, size_t n);
void ja_free(jarena *a);

/* ---- values -------------------------------------------------------------- */
enum jv_type {
	JV_UNDEF = 0,
	JV_NONE,
	JV_BOOL,
	JV_INT,
	JV_FLOAT,
	JV_STR,
	JV_LIST,
	JV_DICT,
	JV_NS,      /* namespace(): a dict whose attributes may be assigned */
	JV_LOOP,    /* the `loop` variable of a for statement */
	JV_MACRO,   /* a macro or a call block's caller() */
	JV_BUILTIN, /* a global function (range, namespace, ...) */
	JV_METHOD,  /* a bound method such as "abc".upper */
};

struct jstr {
	size_t len;
	char p[]; /* NUL-terminated (may also contain NULs) */
};

struct jlist;
struct jdict;
struct jloop;
struct jmacro;
struct jmethod;

typedef struct jv {
	uint8_t t;
	union {
		bool b;
		int64_t i;
		double f;
		struct jstr *s;
		struct jlist *l;
		struct jdict *d;
		struct jloop *loop;
		struct jmacro *m;
		int builtin;
		struct jmethod *meth;
	} u;
} jv;

struct jlist {
	size_t n, cap;
	jv *v;
	bool tuple; /* a Python tuple: prints as (a, b), never equal to a list */
};

struct jdict {
	size_t n, cap;
	jv *k;
	jv *v;
};

struct jloop {
	int64_t index0, length, depth;
	struct jlist *items;
};

struct jmethod {
	jv self;
	const char *name;
};

/* Everything a value operation needs: where to allocate, how to fail, and the
 * work budget that bounds loops and copies. */
typedef struct jvm {
	jarena *arena;
	jfail *fail;
	int line, col;  /* position reported by failures */
	uint64_t steps; /* work done so far */
	uint64_t max_steps;
} jvm;

_Noreturn void jvm_fail(jvm *m, int code, const char *fmt, ...) HX_PRINTF(3, 4);
/* Charges `n` units of work; fails with HEARTH_ELIMIT past the budget. */
void jvm_charge(jvm *m, uint64_t n);

static inline jv jv_undef(void) { jv v = {0}; return v; }
static inline jv jv_none(void) { jv v = {0}; v.t = JV_NONE; return v; }
static inline jv jv_bool(bool b) { jv v = {0}; v.t = JV_BOOL; v.u.b = b; return v; }
static inline jv jv_int(int64_t i) { jv v = {0}; v.t = JV_INT; v.u.i = i; return v; }
static inline jv jv_float(double f) { jv v = {0}; v.t = JV_FLOAT; v.u.f = f; return v; }

struct jstr *jstr_new(jvm *m, const char *p, size_t n);
jv jv_str(jvm *m, const char *p, size_t n);
jv jv_cstr(jvm *m, const char *s);
jv jv_strobj(struct jstr *s);
jv jv_list(jvm *m, size_t cap);
jv jv_dict(jvm *m, size_t cap);
void jl_push(jvm *m, struct jlist *l, jv v);
/* Sets key to val (replacing an equal key, else appending: insertion order kept). */
void jd_set(jvm *m, struct jdict *d, jv key, jv val);
/* Looks up a key; returns false when absent. */
bool jd_get(const struct jdict *d, jv key, jv *out);
bool jd_get_cstr(const struct jdict *d, const char *key, jv *out);

const char *jv_type_name(jv v);
bool jv_truthy(jv v);
bool jv_is_num(jv v); /* int, float or bool */
double jv_num(jv v);
/* Python ==. */
bool jv_eq(jvm *m, jv a, jv b);
/* Python ordering (<0, 0, >0); fails for incomparable types. */
int jv_cmp(jvm *m, jv a, jv b);

/* A growable byte buffer in the arena, bounded by `limit` bytes (0: none). */
typedef struct jbuf {
	char *p;
	size_t n, cap, limit;
} jbuf;
void jb_put(jvm *m, jbuf *b, const char *p, size_t n);
void jb_puts(jvm *m, jbuf *b, const char *s);
void jb_putc(jvm *m, jbuf *b, char c);

/* Python str(v) / repr(v) appended to b. */
void jv_write_str(jvm *m, jbuf *b, jv v);
void jv_write_repr(jvm *m, jbuf *b, jv v, int depth);
/* str(v) as a string value (strings are returned as is). */
struct jstr *jv_to_str(jvm *m, jv v);
/* json.dumps(v, ensure_ascii=False, indent=indent (<0: None), sort_keys). */
void jv_write_json(jvm *m, jbuf *b, jv v, int indent, bool sort_keys, int depth);
/* Formats a double the way Python's repr() does ("1.0", "1e+16", "inf"). */
void jx_format_float(double f, char *buf, size_t len);

/* Converts a jansson value (json_t *) into a value.  Objects keep their key order. */
jv jv_from_json(jvm *m, const void *json, int depth);

/* Maximum nesting that recursive value operations (repr, tojson, ==) accept. */
#define JX_MAX_VALUE_DEPTH 256

/* ---- UTF-8 helpers ------------------------------------------------------ */
/* Decodes one code point at p (n bytes left); invalid bytes decode as themselves
 * (one byte each).  Returns the byte length (>= 1). */
size_t ju_decode(const char *p, size_t n, int32_t *cp);
size_t ju_encode(int32_t cp, char out[4]);
size_t ju_count(const char *p, size_t n); /* code points */
/* Byte offset of code point index `idx` (clamped to n). */
size_t ju_offset(const char *p, size_t n, size_t idx);
bool ju_is_space(int32_t cp); /* Python str.isspace() */

/* ---- tokens -------------------------------------------------------------- */
enum jtok_type {
	JT_EOF = 0,
	JT_TEXT,        /* template data (str) */
	JT_VAR_BEGIN,   /* {{ */
	JT_VAR_END,     /* }} */
	JT_BLOCK_BEGIN, /* {% */
	JT_BLOCK_END,   /* %} */
	JT_NAME,
	JT_STRING,
	JT_INT,
	JT_FLOAT,
	JT_OP,
};

typedef struct jtok {
	uint8_t t;
	char op[3];
	int line, col;
	const char *p; /* JT_NAME: NUL-terminated copy in the arena */
	struct jstr *s; /* JT_TEXT, JT_STRING: decoded text */
	int64_t i;
	double f;
} jtok;

typedef struct jtoks {
	jtok *v;
	size_t n, cap;
} jtoks;

/* Tokenizes `src` (any bytes) into `out` (malloc'd array; free out->v). */
void jx_lex(jvm *m, const char *src, size_t len, jtoks *out);

/* ---- syntax tree --------------------------------------------------------- */
enum jnode_kind {
	/* expressions */
	JN_LIT = 1,
	JN_NAME,
	JN_LIST,   /* kids; flag: a tuple */
	JN_DICT,   /* kids: key, value, key, value, ... */
	JN_ATTR,   /* a.name */
	JN_ITEM,   /* a[b] */
	JN_SLICE,  /* a[kids[0]:kids[1]:kids[2]] (NULL parts) */
	JN_CALL,   /* a(kids; names[i] = keyword or NULL) */
	JN_FILTER, /* a | name(kids; names) ; a NULL in filter blocks */
	JN_TEST,   /* a is [not] name(kids) ; flag = negated */
	JN_BIN,    /* a op b: + - * / // % ** ~ */
	JN_NEG,    /* -a */
	JN_POS,    /* +a */
	JN_NOT,
	JN_AND,
	JN_OR,
	JN_COMPARE, /* kids[0] ops[0] kids[1] ops[1] kids[2] ... */
	JN_COND,    /* b if a else c */
	JN_PLACEHOLDER, /* the body text of a filter block / set block */
	/* statements */
	JN_BODY,  /* kids */
	JN_TEXT,  /* lit */
	JN_OUTPUT, /* {{ a }} */
	JN_IF,    /* if a: b else c */
	JN_FOR,   /* for names in a if b: c else d */
	JN_SET,   /* names = a */
	JN_SETATTR, /* name.names[0] = a */
	JN_SETBLOCK, /* names[0] = capture(b) | c */
	JN_MACRO, /* name(names = kids defaults): b */
	JN_CALLBLOCK, /* call(names = kids) a: b */
	JN_FILTERBLOCK, /* filter a: b */
	JN_BREAK,
	JN_CONTINUE,
	JN_DO,
};

enum jop {
	JOP_ADD = 1, JOP_SUB, JOP_MUL, JOP_DIV, JOP_FLOORDIV, JOP_MOD, JOP_POW, JOP_CONCAT,
	JOP_EQ, JOP_NE, JOP_LT, JOP_LE, JOP_GT, JOP_GE, JOP_IN, JOP_NOTIN,
};

typedef struct jnode {
	uint16_t kind;
	int16_t op;
	bool flag;
	int line, col;
	struct jnode *a, *b, *c, *d;
	struct jnode **kids;
	size_t n_kids;
	const char **names; /* parallel to kids for calls/filters/tests/macros */
	size_t n_names;
	int *ops;
	const char *name;
	jv lit;
} jnode;

/* Parses tokens into a JN_BODY tree allocated in m's arena; `max_depth` bounds
 * statement + expression nesting. */
jnode *jx_parse(jvm *m, const jtoks *toks, int max_depth);

/* ---- rendering ----------------------------------------------------------- */
typedef struct jx_limits {
	size_t max_output;       /* bytes of rendered text */
	size_t max_memory;       /* arena bytes during one render */
	uint64_t max_steps;      /* work units: node evaluations, loop iterations, copies */
	int max_call_depth;      /* nested macro calls */
	int max_nesting;         /* parser: nested statements + expressions */
	int64_t max_range;       /* longest range() */
} jx_limits;

/* A variable binding used to seed the render. */
typedef struct jx_var {
	const char *name;
	jv value;
} jx_var;

/* Renders `root` with the given globals into *out (malloc'd, NUL-terminated).
 * `m` must carry the render arena and failure context already set up. */
void jx_render(jvm *m, const jnode *root, const jx_limits *lim, const jx_var *vars, size_t n_vars,
               jbuf *out);

/* Python's printf-style "fmt % args" (args: one value or a list). */
jv jx_str_format(jvm *m, struct jstr *fmt, jv args);

/* Built-in global function ids (JV_BUILTIN). */
enum jx_builtin {
	JB_RANGE = 1,
	JB_NAMESPACE,
	JB_RAISE,
	JB_STRFTIME,
	JB_DICT,
	JB_JOINER_UNUSED,
};

/* Hooks between the evaluator and the builtins (jinja_builtins.c). */
struct jx_args {
	size_t n;
	jv *v;
	const char **names; /* NULL entry: positional */
};
jv jx_call_filter(jvm *m, const char *name, jv in, const struct jx_args *args, void *rctx);
bool jx_call_test(jvm *m, const char *name, jv in, const struct jx_args *args, void *rctx);
bool jx_has_test(const char *name);
bool jx_has_filter(const char *name);
jv jx_call_method(jvm *m, jv self, const char *name, const struct jx_args *args, void *rctx);
bool jx_has_method(jv self, const char *name);
jv jx_call_builtin(jvm *m, int id, const struct jx_args *args, int64_t max_range);
/* Evaluator callback used by map/select filters that apply other filters/tests. */
jv jx_getattr(jvm *m, jv obj, jv key);
/* Turns an iterable into a list (undefined -> empty); fails for non-iterables. */
struct jlist *jx_iter_list(jvm *m, jv v);
struct jstr *jx_str_arg(jvm *m, jv v, const char *what);

#endif
