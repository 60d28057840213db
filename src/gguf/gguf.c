/*
 * gguf.c - a validating reader for GGUF v2/v3 model files.
 *
 * On-disk format (all integers little-endian):
 *
 *   header   u32 magic "GGUF" | u32 version (2 or 3) | u64 n_tensors | u64 n_kv
 *   kv[n_kv] string key | u32 value type | value
 *   ti[n_tensors]
 *            string name | u32 n_dims | u64 ne[n_dims] | u32 ggml type | u64 offset
 *   padding  to `general.alignment` (u32, default 32, a power of two)
 *   data     tensor data; each tensor at data_start + offset (offset % alignment == 0)
 *
 *   string   u64 length | bytes (not NUL-terminated)
 *   value    u8/i8/u16/i16/u32/i32/f32/bool(u8)/u64/i64/f64 as is | string |
 *            array: u32 element type | u64 count | elements
 *
 * The file is mapped read-only and parsed once.  Nothing read from it is trusted:
 * every length and count is checked against the bytes that remain before it is
 * used or allocated for, sizes are computed with overflow checks, arrays may nest
 * only HX_GGUF_MAX_DEPTH deep, and tensors must be aligned, inside the data
 * section and must not overlap.  Errors name the file, the byte offset and the key
 * or tensor concerned.
 */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_MAGIC 0x46554747u /* "GGUF" read as little-endian u32 */
#define GGUF_DEFAULT_ALIGNMENT 32
#define HX_GGUF_MAX_DEPTH 8        /* nesting of arrays inside arrays */
#define HX_GGUF_MAX_KEY_LEN 65535
#define HX_GGUF_MAX_NAME_LEN 63    /* tensor names, as GGML_MAX_NAME - 1 */
#define HX_GGUF_MAX_DIMS 4

struct hearth_gguf {
	char *path;
	const uint8_t *base;
	size_t size;
	bool mapped;
	uint32_t version;
	uint32_t alignment;
	uint64_t data_off;

	int64_t n_kv;
	char **keys;
	hearth_gguf_value *vals;
	int64_t *kv_sorted; /* indices sorted by key */

	int64_t n_tensors;
	hearth_gguf_tensor *tensors;
	char (*names)[HX_GGUF_MAX_NAME_LEN + 1];
	int64_t *t_sorted; /* indices sorted by name */

	/* allocations for array items, freed together */
	void **blocks;
	size_t n_blocks, cap_blocks;
};

/* A cursor over the mapped bytes. */
struct rd {
	const uint8_t *p;
	size_t off, size;
	const char *file;
	hearth_gguf *g;
};

static size_t rd_left(const struct rd *r) { return r->size - r->off; }

static int rd_fail(const struct rd *r, const char *fmt, ...) HX_PRINTF(2, 3);
static int rd_fail(const struct rd *r, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return hx_err(HEARTH_EFORMAT, "%s: offset %zu: %s", r->file, r->off, msg);
}

static int rd_bytes(struct rd *r, void *dst, size_t n, const char *what)
{
	if (rd_left(r) < n)
		return rd_fail(r, "file ends while reading %s (%zu bytes needed, %zu left)", what, n, rd_left(r));
	memcpy(dst, r->p + r->off, n);
	r->off += n;
	return 0;
}

static int rd_u32(struct rd *r, uint32_t *v, const char *what) { return rd_bytes(r, v, 4, what); }
static int rd_u64(struct rd *r, uint64_t *v, const char *what) { return rd_bytes(r, v, 8, what); }

/* Reads a string; its bytes stay in the mapping. */
static int rd_str(struct rd *r, hearth_str *s, const char *what)
{
	uint64_t len = 0;
	int rc = rd_u64(r, &len, what);
	if (rc)
		return rc;
	if (len > rd_left(r)) {
		r->off -= 8;
		return rd_fail(r, "%s has length %llu but only %zu bytes are left in the file", what,
		               (unsigned long long)len, rd_left(r) - 8);
	}
	s->ptr = (const char *)r->p + r->off;
	s->len = len;
	r->off += (size_t)len;
	return 0;
}

static void *gguf_alloc(hearth_gguf *g, size_t n, size_t size)
{
	if (g->n_blocks == g->cap_blocks) {
		size_t cap = g->cap_blocks ? g->cap_blocks * 2 : 16;
		void **nb = hx_realloc(g->blocks, cap * sizeof *nb);
		if (!nb)
			return NULL;
		g->blocks = nb;
		g->cap_blocks = cap;
	}
	void *p = hx_calloc(n, size);
	if (p)
		g->blocks[g->n_blocks++] = p;
	return p;
}

size_t hearth_gguf_type_size(enum hearth_gguf_type t)
{
	switch (t) {
	case HEARTH_GGUF_U8:
	case HEARTH_GGUF_I8:
	case HEARTH_GGUF_BOOL: return 1;
	case HEARTH_GGUF_U16:
	case HEARTH_GGUF_I16: return 2;
	case HEARTH_GGUF_U32:
	case HEARTH_GGUF_I32:
	case HEARTH_GGUF_F32: return 4;
	case HEARTH_GGUF_U64:
	case HEARTH_GGUF_I64:
	case HEARTH_GGUF_F64: return 8;
	default: return 0;
	}
}

const char *hearth_gguf_type_name(enum hearth_gguf_type t)
{
	static const char *names[] = {"u8",  "i8",  "u16",    "i16",   "u32", "i32", "f32",
	                              "bool", "string", "array", "u64", "i64", "f64"};
	return (unsigned)t < HX_ARRAY_LEN(names) ? names[t] : "invalid";
}

/* Decodes one little-endian scalar at p into v. */
static void decode_scalar(enum hearth_gguf_type t, const uint8_t *p, hearth_gguf_value *v)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	float f32;
	v->type = t;
	switch (t) {
	case HEARTH_GGUF_U8: memcpy(&u8, p, 1); v->v.u64 = u8; break;
	case HEARTH_GGUF_BOOL: memcpy(&u8, p, 1); v->v.u64 = u8 != 0; break;
	case HEARTH_GGUF_I8: v->v.i64 = (int8_t)p[0]; break;
	case HEARTH_GGUF_U16: memcpy(&u16, p, 2); v->v.u64 = u16; break;
	case HEARTH_GGUF_I16: memcpy(&u16, p, 2); v->v.i64 = (int16_t)u16; break;
	case HEARTH_GGUF_U32: memcpy(&u32, p, 4); v->v.u64 = u32; break;
	case HEARTH_GGUF_I32: memcpy(&u32, p, 4); v->v.i64 = (int32_t)u32; break;
	case HEARTH_GGUF_F32: memcpy(&f32, p, 4); v->v.f64 = f32; break;
	case HEARTH_GGUF_U64: memcpy(&u64, p, 8); v->v.u64 = u64; break;
	case HEARTH_GGUF_I64: memcpy(&u64, p, 8); v->v.i64 = (int64_t)u64; break;
	case HEARTH_GGUF_F64: memcpy(&v->v.f64, p, 8); break;
	default: break;
	}
}

static int rd_value(struct rd *r, enum hearth_gguf_type t, hearth_gguf_value *v, const char *key, int depth);

static int rd_array(struct rd *r, hearth_gguf_value *v, const char *key, int depth)
{
	uint32_t et = 0;
	uint64_t n = 0;
	int rc;
	if (depth >= HX_GGUF_MAX_DEPTH)
		return rd_fail(r, "key '%s': arrays nested deeper than %d levels", key, HX_GGUF_MAX_DEPTH);
	if ((rc = rd_u32(r, &et, "array element type")))
		return rc;
	if (et >= HEARTH_GGUF_TYPE_COUNT) {
		r->off -= 4;
		return rd_fail(r, "key '%s': array has invalid element type %u", key, et);
	}
	if ((rc = rd_u64(r, &n, "array length")))
		return rc;
	v->type = HEARTH_GGUF_ARRAY;
	v->v.arr.type = (enum hearth_gguf_type)et;
	v->v.arr.n = n;
	size_t es = hearth_gguf_type_size((enum hearth_gguf_type)et);
	if (es) {
		uint64_t bytes;
		if (hx_mul_u64(n, es, &bytes) || bytes > rd_left(r)) {
			r->off -= 8;
			return rd_fail(r, "key '%s': array of %llu %s values needs more bytes than the %zu left",
			               key, (unsigned long long)n, hearth_gguf_type_name(et), rd_left(r) - 8);
		}
		v->v.arr.data = r->p + r->off;
		r->off += (size_t)bytes;
		return 0;
	}
	/* strings need at least 8 bytes each, arrays at least 12 */
	size_t min = et == HEARTH_GGUF_STRING ? 8 : 12;
	if (n > rd_left(r) / min) {
		r->off -= 8;
		return rd_fail(r, "key '%s': array claims %llu %s elements but only %zu bytes are left", key,
		               (unsigned long long)n, hearth_gguf_type_name(et), rd_left(r) - 8);
	}
	hearth_gguf_value *items = gguf_alloc(r->g, n ? (size_t)n : 1, sizeof *items);
	if (!items)
		return HEARTH_ENOMEM;
	v->v.arr.items = items;
	for (uint64_t i = 0; i < n; i++)
		if ((rc = rd_value(r, (enum hearth_gguf_type)et, &items[i], key, depth + 1)))
			return rc;
	return 0;
}

static int rd_value(struct rd *r, enum hearth_gguf_type t, hearth_gguf_value *v, const char *key, int depth)
{
	if (t == HEARTH_GGUF_STRING) {
		v->type = t;
		return rd_str(r, &v->v.str, "string value");
	}
	if (t == HEARTH_GGUF_ARRAY)
		return rd_array(r, v, key, depth);
	size_t es = hearth_gguf_type_size(t);
	if (!es)
		return rd_fail(r, "key '%s' has invalid value type %u", key, (unsigned)t);
	if (rd_left(r) < es)
		return rd_fail(r, "file ends inside the value of key '%s'", key);
	decode_scalar(t, r->p + r->off, v);
	r->off += es;
	return 0;
}

static const hearth_gguf *g_sort_ctx; /* qsort has no context argument in C11 */

static int cmp_key(const void *a, const void *b)
{
	return strcmp(g_sort_ctx->keys[*(const int64_t *)a], g_sort_ctx->keys[*(const int64_t *)b]);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(g_sort_ctx->names[*(const int64_t *)a], g_sort_ctx->names[*(const int64_t *)b]);
}

static int cmp_offset(const void *a, const void *b)
{
	uint64_t x = g_sort_ctx->tensors[*(const int64_t *)a].offset;
	uint64_t y = g_sort_ctx->tensors[*(const int64_t *)b].offset;
	return x < y ? -1 : x > y;
}

static pthread_mutex_t g_sort_lock = PTHREAD_MUTEX_INITIALIZER;

static void sort_indices(const hearth_gguf *g, int64_t *idx, int64_t n, int (*cmp)(const void *, const void *))
{
	pthread_mutex_lock(&g_sort_lock);
	g_sort_ctx = g;
	qsort(idx, (size_t)n, sizeof *idx, cmp);
	g_sort_ctx = NULL;
	pthread_mutex_unlock(&g_sort_lock);
}

static int parse_kvs(struct rd *r, hearth_gguf *g)
{
	int rc;
	for (int64_t i = 0; i < g->n_kv; i++) {
		hearth_str k;
		size_t at = r->off;
		char what[48];
		snprintf(what, sizeof what, "the key of key/value pair %lld", (long long)i);
		if ((rc = rd_str(r, &k, what)))
			return rc;
		if (k.len == 0) {
			r->off = at;
			return rd_fail(r, "key/value pair %lld has an empty key", (long long)i);
		}
		if (k.len > HX_GGUF_MAX_KEY_LEN) {
			r->off = at;
			return rd_fail(r, "key/value pair %lld has a key of %llu bytes (limit %d)", (long long)i,
			               (unsigned long long)k.len, HX_GGUF_MAX_KEY_LEN);
		}
		if (memchr(k.ptr, 0, (size_t)k.len)) {
			r->off = at;
			return rd_fail(r, "key/value pair %lld has a key containing a NUL byte", (long long)i);
		}
		if (!(g->keys[i] = hx_strndup(k.ptr, (size_t)k.len)))
			return HEARTH_ENOMEM;
		uint32_t t = 0;
		if ((rc = rd_u32(r, &t, "a value type")))
			return rc;
		if (t >= HEARTH_GGUF_TYPE_COUNT) {
			r->off -= 4;
			return rd_fail(r, "key '%s' has invalid value type %u", g->keys[i], t);
		}
		if ((rc = rd_value(r, (enum hearth_gguf_type)t, &g->vals[i], g->keys[i], 0)))
			return rc;
	}
	return 0;
}

static int parse_tensor_infos(struct rd *r, hearth_gguf *g)
{
	int rc;
	for (int64_t i = 0; i < g->n_tensors; i++) {
		hearth_gguf_tensor *t = &g->tensors[i];
		hearth_str name;
		size_t at = r->off;
		if ((rc = rd_str(r, &name, "a tensor name")))
			return rc;
		if (name.len == 0) {
			r->off = at;
			return rd_fail(r, "tensor %lld has an empty name", (long long)i);
		}
		if (name.len > HX_GGUF_MAX_NAME_LEN) {
			r->off = at;
			return rd_fail(r, "tensor %lld has a name of %llu bytes (limit %d)", (long long)i,
			               (unsigned long long)name.len, HX_GGUF_MAX_NAME_LEN);
		}
		if (memchr(name.ptr, 0, (size_t)name.len)) {
			r->off = at;
			return rd_fail(r, "tensor %lld has a name containing a NUL byte", (long long)i);
		}
		memcpy(g->names[i], name.ptr, (size_t)name.len);
		g->names[i][name.len] = 0;
		t->name = g->names[i];

		uint32_t nd = 0;
		if ((rc = rd_u32(r, &nd, "a tensor's dimension count")))
			return rc;
		if (nd < 1 || nd > HX_GGUF_MAX_DIMS) {
			r->off -= 4;
			return rd_fail(r, "tensor '%s' has %u dimensions (must be 1 to %d)", t->name, nd, HX_GGUF_MAX_DIMS);
		}
		t->n_dims = nd;
		for (int d = 0; d < 4; d++)
			t->ne[d] = 1;
		uint64_t n_el = 1;
		for (uint32_t d = 0; d < nd; d++) {
			uint64_t ne = 0;
			if ((rc = rd_u64(r, &ne, "a tensor dimension")))
				return rc;
			if (ne == 0 || ne > (uint64_t)INT64_MAX) {
				r->off -= 8;
				return rd_fail(r, "tensor '%s' dimension %u is %llu (must be 1 to 2^63-1)", t->name, d,
				               (unsigned long long)ne);
			}
			t->ne[d] = (int64_t)ne;
			if (hx_mul_u64(n_el, ne, &n_el) || n_el > (uint64_t)INT64_MAX)
				return rd_fail(r, "tensor '%s' has too many elements (the dimensions' product overflows)",
				               t->name);
		}
		t->n_elements = (int64_t)n_el;

		uint32_t type = 0;
		if ((rc = rd_u32(r, &type, "a tensor type")))
			return rc;
		const char *tn = hearth_type_name((int)type);
		if (!tn) {
			r->off -= 4;
			if (type == 4 || type == 5 || (type >= 31 && type <= 33) || (type >= 36 && type <= 38))
				return rd_fail(r, "tensor '%s' has type %u, a format that was removed from GGUF", t->name,
				               type);
			return rd_fail(r, "tensor '%s' has unknown type %u", t->name, type);
		}
		t->type = (int)type;
		int64_t blck = hearth_type_block_size(t->type);
		if (t->ne[0] % blck != 0) {
			r->off -= 4;
			return rd_fail(r, "tensor '%s' of type %s has rows of %lld elements, not a multiple of its block size %lld",
			               t->name, tn, (long long)t->ne[0], (long long)blck);
		}
		uint64_t bytes;
		if (hx_mul_u64(n_el / (uint64_t)blck, hearth_type_block_bytes(t->type), &bytes))
			return rd_fail(r, "tensor '%s': byte size overflows", t->name);
		t->n_bytes = bytes;
		if ((rc = rd_u64(r, &t->offset, "a tensor offset")))
			return rc;
	}
	return 0;
}

static int validate_layout(struct rd *r, hearth_gguf *g)
{
	/* the data section starts at the next multiple of the alignment */
	uint64_t pos = r->off, data_off;
	if (hx_add_u64(pos, g->alignment - 1, &data_off))
		return rd_fail(r, "data section offset overflows");
	data_off &= ~(uint64_t)(g->alignment - 1);
	g->data_off = data_off;
	if (g->n_tensors == 0)
		return 0;
	if (data_off > g->size)
		return hx_err(HEARTH_EFORMAT, "%s: the file ends (at %zu bytes) before its data section (at %llu)",
		              r->file, g->size, (unsigned long long)data_off);
	uint64_t data_size = g->size - data_off;
	for (int64_t i = 0; i < g->n_tensors; i++) {
		hearth_gguf_tensor *t = &g->tensors[i];
		if (t->offset % g->alignment != 0)
			return hx_err(HEARTH_EFORMAT, "%s: tensor '%s' has offset %llu, not a multiple of the alignment %u",
			              r->file, t->name, (unsigned long long)t->offset, g->alignment);
		uint64_t end;
		if (hx_add_u64(t->offset, t->n_bytes, &end) || end > data_size)
			return hx_err(HEARTH_EFORMAT,
			              "%s: tensor '%s' (%llu bytes at data offset %llu) extends past the end of the file "
			              "(data section holds %llu bytes): the file is truncated or corrupt",
			              r->file, t->name, (unsigned long long)t->n_bytes, (unsigned long long)t->offset,
			              (unsigned long long)data_size);
		t->data = g->base + data_off + t->offset;
	}
	/* no two tensors may share bytes */
	int64_t *idx = hx_malloc((size_t)g->n_tensors * sizeof *idx);
	if (!idx)
		return HEARTH_ENOMEM;
	for (int64_t i = 0; i < g->n_tensors; i++)
		idx[i] = i;
	sort_indices(g, idx, g->n_tensors, cmp_offset);
	int rc = 0;
	for (int64_t i = 1; i < g->n_tensors && !rc; i++) {
		const hearth_gguf_tensor *a = &g->tensors[idx[i - 1]], *b = &g->tensors[idx[i]];
		if (a->offset + a->n_bytes > b->offset)
			rc = hx_err(HEARTH_EFORMAT, "%s: tensors '%s' and '%s' overlap in the data section", r->file,
			            a->name, b->name);
	}
	free(idx);
	return rc;
}

static int parse(hearth_gguf *g)
{
	struct rd r = {.p = g->base, .off = 0, .size = g->size, .file = g->path, .g = g};
	uint32_t magic;
	int rc;
	if (g->size == 0)
		return hx_err(HEARTH_EFORMAT, "%s: the file is empty, not a GGUF model", g->path);
	if (g->size < 4 || (memcpy(&magic, g->base, 4), magic != GGUF_MAGIC)) {
		char shown[5] = {0};
		for (size_t i = 0; i < 4 && i < g->size; i++)
			shown[i] = (g->base[i] >= 32 && g->base[i] < 127) ? (char)g->base[i] : '?';
		return hx_err(HEARTH_EFORMAT, "%s: not a GGUF file (starts with '%s', expected 'GGUF')", g->path, shown);
	}
	r.off = 4;
	if ((rc = rd_u32(&r, &g->version, "the version")))
		return rc;
	if (g->version == 1)
		return hx_err(HEARTH_EFORMAT, "%s: GGUF version 1 is obsolete; convert the model again with a current tool",
		              g->path);
	if (g->version != 2 && g->version != 3)
		return hx_err(HEARTH_EFORMAT, "%s: unsupported GGUF version %u (this build reads versions 2 and 3)%s",
		              g->path, g->version,
		              (g->version & 0xffff) == 0 ? "; the file may be big-endian, which is not supported" : "");
	uint64_t n_tensors = 0, n_kv = 0;
	if ((rc = rd_u64(&r, &n_tensors, "the tensor count")) || (rc = rd_u64(&r, &n_kv, "the key/value count")))
		return rc;
	/* each key/value pair takes at least 14 bytes, each tensor info at least 33 */
	if (n_kv > rd_left(&r) / 14)
		return hx_err(HEARTH_EFORMAT, "%s: header claims %llu key/value pairs but the file has room for at most %zu",
		              g->path, (unsigned long long)n_kv, rd_left(&r) / 14);
	if (n_tensors > rd_left(&r) / 33)
		return hx_err(HEARTH_EFORMAT, "%s: header claims %llu tensors but the file has room for at most %zu",
		              g->path, (unsigned long long)n_tensors, rd_left(&r) / 33);
	g->n_kv = (int64_t)n_kv;
	g->n_tensors = (int64_t)n_tensors;
	g->keys = hx_calloc((size_t)n_kv, sizeof *g->keys);
	g->vals = hx_calloc((size_t)n_kv, sizeof *g->vals);
	g->kv_sorted = hx_calloc((size_t)n_kv, sizeof *g->kv_sorted);
	g->tensors = hx_calloc((size_t)n_tensors, sizeof *g->tensors);
	g->names = hx_calloc((size_t)n_tensors, sizeof *g->names);
	g->t_sorted = hx_calloc((size_t)n_tensors, sizeof *g->t_sorted);
	if (!g->keys || !g->vals || !g->kv_sorted || !g->tensors || !g->names || !g->t_sorted)
		return HEARTH_ENOMEM;

	if ((rc = parse_kvs(&r, g)))
		return rc;
	for (int64_t i = 0; i < g->n_kv; i++)
		g->kv_sorted[i] = i;
	sort_indices(g, g->kv_sorted, g->n_kv, cmp_key);
	for (int64_t i = 1; i < g->n_kv; i++)
		if (strcmp(g->keys[g->kv_sorted[i - 1]], g->keys[g->kv_sorted[i]]) == 0)
			return hx_err(HEARTH_EFORMAT, "%s: key '%s' appears more than once", g->path,
			              g->keys[g->kv_sorted[i]]);

	g->alignment = GGUF_DEFAULT_ALIGNMENT;
	const hearth_gguf_value *al = hearth_gguf_get(g, "general.alignment");
	if (al) {
		if (al->type != HEARTH_GGUF_U32)
			return hx_err(HEARTH_EFORMAT, "%s: key 'general.alignment' must be of type u32 but is %s", g->path,
			              hearth_gguf_type_name(al->type));
		uint64_t a = al->v.u64;
		if (a == 0 || (a & (a - 1)) != 0)
			return hx_err(HEARTH_EFORMAT, "%s: key 'general.alignment' is %llu, which is not a power of two",
			              g->path, (unsigned long long)a);
		g->alignment = (uint32_t)a;
	}

	if ((rc = parse_tensor_infos(&r, g)))
		return rc;
	for (int64_t i = 0; i < g->n_tensors; i++)
		g->t_sorted[i] = i;
	sort_indices(g, g->t_sorted, g->n_tensors, cmp_name);
	for (int64_t i = 1; i < g->n_tensors; i++)
		if (strcmp(g->names[g->t_sorted[i - 1]], g->names[g->t_sorted[i]]) == 0)
			return hx_err(HEARTH_EFORMAT, "%s: tensor name '%s' appears more than once", g->path,
			              g->names[g->t_sorted[i]]);
	return validate_layout(&r, g);
}

void hearth_gguf_free(hearth_gguf *g)
{
	if (!g)
		return;
	if (g->mapped && g->base)
		munmap((void *)g->base, g->size);
	if (g->keys)
		for (int64_t i = 0; i < g->n_kv; i++)
			free(g->keys[i]);
	free(g->keys);
	free(g->vals);
	free(g->kv_sorted);
	free(g->tensors);
	free(g->names);
	free(g->t_sorted);
	for (size_t i = 0; i < g->n_blocks; i++)
		free(g->blocks[i]);
	free(g->blocks);
	free(g->path);
	free(g);
}

static int open_common(hearth_gguf *g, hearth_gguf **out)
{
	int rc = parse(g);
	if (rc) {
		hearth_gguf_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

int hearth_gguf_open_memory(const void *buf, size_t len, const char *name, hearth_gguf **out)
{
	if (!out || (!buf && len))
		return hx_err(HEARTH_EINVAL, "hearth_gguf_open_memory: invalid arguments");
	*out = NULL;
	hearth_gguf *g = hx_calloc(1, sizeof *g);
	if (!g)
		return HEARTH_ENOMEM;
	g->path = hx_strdup(name ? name : "<memory>");
	g->base = buf;
	g->size = len;
	if (!g->path) {
		free(g);
		return HEARTH_ENOMEM;
	}
	return open_common(g, out);
}

int hearth_gguf_open(const char *path, hearth_gguf **out)
{
	if (!path || !out)
		return hx_err(HEARTH_EINVAL, "hearth_gguf_open: invalid arguments");
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hx_err(HEARTH_EIO, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return hx_err(HEARTH_EIO, "%s: cannot stat: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return hx_err(HEARTH_EIO, "%s: not a regular file", path);
	}
	hearth_gguf *g = hx_calloc(1, sizeof *g);
	if (!g) {
		close(fd);
		return HEARTH_ENOMEM;
	}
	g->path = hx_strdup(path);
	g->size = (size_t)st.st_size;
	if (!g->path) {
		close(fd);
		free(g);
		return HEARTH_ENOMEM;
	}
	if (g->size > 0) {
		void *p = mmap(NULL, g->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			int e = errno;
			close(fd);
			hearth_gguf_free(g);
			return hx_err(HEARTH_EIO, "%s: cannot map the file: %s", path, strerror(e));
		}
		g->base = p;
		g->mapped = true;
#ifdef MADV_HUGEPAGE
		/* Optimisation only, failure ignored: pages read in through this
		 * mapping come as 2 MiB folios mapped with 2 MiB pages (fewer TLB
		 * misses in decode; without it most of a cold file ended up in
		 * small folios, bench/README.md).  Pages already cached stay as
		 * they are. */
		(void)madvise(p, g->size, MADV_HUGEPAGE);
#endif
	}
	close(fd);
	return open_common(g, out);
}

const char *hearth_gguf_path(const hearth_gguf *g) { return g->path; }
uint32_t hearth_gguf_version(const hearth_gguf *g) { return g->version; }
uint64_t hearth_gguf_file_size(const hearth_gguf *g) { return g->size; }
uint64_t hearth_gguf_data_offset(const hearth_gguf *g) { return g->data_off; }
uint32_t hearth_gguf_alignment(const hearth_gguf *g) { return g->alignment; }
int64_t hearth_gguf_n_kv(const hearth_gguf *g) { return g->n_kv; }
int64_t hearth_gguf_n_tensors(const hearth_gguf *g) { return g->n_tensors; }

const char *hearth_gguf_kv_key(const hearth_gguf *g, int64_t i)
{
	return i >= 0 && i < g->n_kv ? g->keys[i] : NULL;
}

const hearth_gguf_value *hearth_gguf_kv_value(const hearth_gguf *g, int64_t i)
{
	return i >= 0 && i < g->n_kv ? &g->vals[i] : NULL;
}

int64_t hearth_gguf_find_key(const hearth_gguf *g, const char *key)
{
	int64_t lo = 0, hi = g->n_kv - 1;
	while (lo <= hi) {
		int64_t mid = lo + (hi - lo) / 2;
		int c = strcmp(g->keys[g->kv_sorted[mid]], key);
		if (c == 0)
			return g->kv_sorted[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

const hearth_gguf_value *hearth_gguf_get(const hearth_gguf *g, const char *key)
{
	int64_t i = hearth_gguf_find_key(g, key);
	return i < 0 ? NULL : &g->vals[i];
}

const hearth_gguf_tensor *hearth_gguf_tensor_at(const hearth_gguf *g, int64_t i)
{
	return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const hearth_gguf_tensor *hearth_gguf_tensor_find(const hearth_gguf *g, const char *name)
{
	int64_t lo = 0, hi = g->n_tensors - 1;
	while (lo <= hi) {
		int64_t mid = lo + (hi - lo) / 2;
		int c = strcmp(g->names[g->t_sorted[mid]], name);
		if (c == 0)
			return &g->tensors[g->t_sorted[mid]];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/* ---- typed getters ---- */

static bool is_unsigned(enum hearth_gguf_type t)
{
	return t == HEARTH_GGUF_U8 || t == HEARTH_GGUF_U16 || t == HEARTH_GGUF_U32 || t == HEARTH_GGUF_U64;
}

static bool is_signed(enum hearth_gguf_type t)
{
	return t == HEARTH_GGUF_I8 || t == HEARTH_GGUF_I16 || t == HEARTH_GGUF_I32 || t == HEARTH_GGUF_I64;
}

static int wrong_type(const hearth_gguf *g, const char *key, const hearth_gguf_value *v, const char *expected)
{
	return hx_err(HEARTH_ETYPE, "%s: key '%s' has type %s but %s was expected", g->path, key,
	              hearth_gguf_type_name(v->type), expected);
}

static const hearth_gguf_value *lookup(const hearth_gguf *g, const char *key, int *rc)
{
	const hearth_gguf_value *v = hearth_gguf_get(g, key);
	*rc = v ? 0 : hx_err(HEARTH_ENOTFOUND, "%s: key '%s' is missing", g->path, key);
	return v;
}

int hearth_gguf_get_i64(const hearth_gguf *g, const char *key, int64_t *out)
{
	int rc;
	const hearth_gguf_value *v = lookup(g, key, &rc);
	if (!v)
		return rc;
	if (is_signed(v->type)) {
		*out = v->v.i64;
		return 0;
	}
	if (is_unsigned(v->type)) {
		if (v->v.u64 > (uint64_t)INT64_MAX)
			return hx_err(HEARTH_ETYPE, "%s: key '%s' value %llu is too large", g->path, key,
			              (unsigned long long)v->v.u64);
		*out = (int64_t)v->v.u64;
		return 0;
	}
	return wrong_type(g, key, v, "an integer");
}

int hearth_gguf_get_u32(const hearth_gguf *g, const char *key, uint32_t *out)
{
	int rc;
	const hearth_gguf_value *v = lookup(g, key, &rc);
	if (!v)
		return rc;
	if (!is_signed(v->type) && !is_unsigned(v->type))
		return wrong_type(g, key, v, "u32");
	int64_t x;
	if ((rc = hearth_gguf_get_i64(g, key, &x)))
		return rc;
	if (x < 0 || x > (int64_t)UINT32_MAX)
		return hx_err(HEARTH_ETYPE, "%s: key '%s' value %lld does not fit in u32", g->path, key, (long long)x);
	*out = (uint32_t)x;
	return 0;
}

int hearth_gguf_get_f32(const hearth_gguf *g, const char *key, float *out)
{
	int rc;
	const hearth_gguf_value *v = lookup(g, key, &rc);
	if (!v)
		return rc;
	if (v->type == HEARTH_GGUF_F32 || v->type == HEARTH_GGUF_F64)
		*out = (float)v->v.f64;
	else if (is_signed(v->type))
		*out = (float)v->v.i64;
	else if (is_unsigned(v->type))
		*out = (float)v->v.u64;
	else
		return wrong_type(g, key, v, "f32");
	return 0;
}

int hearth_gguf_get_bool(const hearth_gguf *g, const char *key, bool *out)
{
	int rc;
	const hearth_gguf_value *v = lookup(g, key, &rc);
	if (!v)
		return rc;
	if (v->type != HEARTH_GGUF_BOOL)
		return wrong_type(g, key, v, "bool");
	*out = v->v.u64 != 0;
	return 0;
}

int hearth_gguf_get_str(const hearth_gguf *g, const char *key, hearth_str *out)
{
	int rc;
	const hearth_gguf_value *v = lookup(g, key, &rc);
	if (!v)
		return rc;
	if (v->type != HEARTH_GGUF_STRING)
		return wrong_type(g, key, v, "string");
	*out = v->v.str;
	return 0;
}

int hearth_gguf_get_arr(const hearth_gguf *g, const char *key, enum hearth_gguf_type elem_type,
                        const hearth_gguf_value **out)
{
	int rc;
	const hearth_gguf_value *v = lookup(g, key, &rc);
	if (!v)
		return rc;
	if (v->type != HEARTH_GGUF_ARRAY)
		return wrong_type(g, key, v, "array");
	if (elem_type != HEARTH_GGUF_TYPE_COUNT && v->v.arr.type != elem_type)
		return hx_err(HEARTH_ETYPE, "%s: key '%s' is an array of %s but an array of %s was expected", g->path, key,
		              hearth_gguf_type_name(v->v.arr.type), hearth_gguf_type_name(elem_type));
	*out = v;
	return 0;
}

static hearth_gguf_value arr_elem(const hearth_gguf_value *arr, uint64_t i)
{
	hearth_gguf_value e = {0};
	size_t es = hearth_gguf_type_size(arr->v.arr.type);
	if (es && i < arr->v.arr.n)
		decode_scalar(arr->v.arr.type, arr->v.arr.data + i * es, &e);
	return e;
}

uint64_t hearth_gguf_arr_u64(const hearth_gguf_value *arr, uint64_t i)
{
	hearth_gguf_value e = arr_elem(arr, i);
	return is_signed(e.type) ? (uint64_t)e.v.i64 : e.v.u64;
}

int64_t hearth_gguf_arr_i64(const hearth_gguf_value *arr, uint64_t i)
{
	hearth_gguf_value e = arr_elem(arr, i);
	return is_unsigned(e.type) || e.type == HEARTH_GGUF_BOOL ? (int64_t)e.v.u64 : e.v.i64;
}

double hearth_gguf_arr_f64(const hearth_gguf_value *arr, uint64_t i)
{
	hearth_gguf_value e = arr_elem(arr, i);
	if (e.type == HEARTH_GGUF_F32 || e.type == HEARTH_GGUF_F64)
		return e.v.f64;
	if (is_signed(e.type))
		return (double)e.v.i64;
	return (double)e.v.u64;
}
