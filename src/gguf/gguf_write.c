/*
 * gguf_write.c - the GGUF v3 writer (see gguf_write.h for the usage pattern).
 *
 * Layout written (little-endian, as the reader in gguf.c expects):
 *   "GGUF" | u32 3 | u64 n_tensors | u64 n_kv
 *   kv:  u64 key length | key | u32 type | value
 *   ti:  u64 name length | name | u32 n_dims | u64 ne[n_dims] | u32 type | u64 offset
 *   zero padding to the alignment, then each tensor's data followed by zero
 *   padding to the alignment (the last tensor too, as ggml writes it).
 *
 * Each key/value is serialized into its own buffer when set, so the writer never
 * holds pointers into the file the values came from.
 */
#include "gguf/gguf_write.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GGUF_MAX_NAME 63
#define GGUF_MAX_DEPTH 8

struct buf {
	uint8_t *p;
	size_t len, cap;
};

struct wkv {
	char *key;
	struct buf val; /* u32 type followed by the value */
};

struct wtensor {
	char name[GGUF_MAX_NAME + 1];
	int type;
	uint32_t n_dims;
	int64_t ne[4];
	uint64_t offset, n_bytes;
};

struct gguf_writer {
	uint32_t alignment;
	struct wkv *kvs;
	int64_t n_kv, cap_kv;
	struct wtensor *tensors;
	int64_t n_tensors, cap_tensors;
	uint64_t data_size; /* padded */

	FILE *f;
	char *path;
	uint64_t header_size;
	int64_t cur;          /* tensor being written */
	uint64_t cur_written; /* bytes of it so far */
	bool failed;
};

static int buf_put(struct buf *b, const void *p, size_t n)
{
	if (n > SIZE_MAX - b->len)
		return hx_err(HEARTH_ENOMEM, "GGUF writer: value too large");
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n)
			cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
		uint8_t *np = hx_realloc(b->p, cap);
		if (!np)
			return HEARTH_ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static int buf_u32(struct buf *b, uint32_t v) { return buf_put(b, &v, 4); }
static int buf_u64(struct buf *b, uint64_t v) { return buf_put(b, &v, 8); }

static int buf_str(struct buf *b, const char *s, uint64_t len)
{
	int rc = buf_u64(b, len);
	return rc ? rc : buf_put(b, s, (size_t)len);
}

/* Appends the encoding of a scalar value (its width given by its type). */
static int put_scalar(struct buf *b, const hearth_gguf_value *v)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	float f32;
	switch (v->type) {
	case HEARTH_GGUF_U8:
	case HEARTH_GGUF_BOOL: u8 = (uint8_t)v->v.u64; return buf_put(b, &u8, 1);
	case HEARTH_GGUF_I8: u8 = (uint8_t)(int8_t)v->v.i64; return buf_put(b, &u8, 1);
	case HEARTH_GGUF_U16: u16 = (uint16_t)v->v.u64; return buf_put(b, &u16, 2);
	case HEARTH_GGUF_I16: u16 = (uint16_t)(int16_t)v->v.i64; return buf_put(b, &u16, 2);
	case HEARTH_GGUF_U32: u32 = (uint32_t)v->v.u64; return buf_put(b, &u32, 4);
	case HEARTH_GGUF_I32: u32 = (uint32_t)(int32_t)v->v.i64; return buf_put(b, &u32, 4);
	case HEARTH_GGUF_F32: f32 = (float)v->v.f64; return buf_put(b, &f32, 4);
	case HEARTH_GGUF_U64: return buf_u64(b, v->v.u64);
	case HEARTH_GGUF_I64: u64 = (uint64_t)v->v.i64; return buf_u64(b, u64);
	case HEARTH_GGUF_F64: return buf_put(b, &v->v.f64, 8);
	default: return hx_err(HEARTH_EINVAL, "GGUF writer: invalid value type %d", (int)v->type);
	}
}

/* Appends a value without its type tag. */
static int put_value(struct buf *b, const hearth_gguf_value *v, int depth)
{
	int rc;
	if (v->type == HEARTH_GGUF_STRING)
		return buf_str(b, v->v.str.ptr, v->v.str.len);
	if (v->type != HEARTH_GGUF_ARRAY)
		return put_scalar(b, v);
	if (depth >= GGUF_MAX_DEPTH)
		return hx_err(HEARTH_ELIMIT, "GGUF writer: arrays nested deeper than %d levels", GGUF_MAX_DEPTH);
	const enum hearth_gguf_type et = v->v.arr.type;
	if ((rc = buf_u32(b, (uint32_t)et)) || (rc = buf_u64(b, v->v.arr.n)))
		return rc;
	size_t es = hearth_gguf_type_size(et);
	if (es) {
		uint64_t bytes;
		if (hx_mul_u64(v->v.arr.n, es, &bytes) || bytes > SIZE_MAX)
			return hx_err(HEARTH_ELIMIT, "GGUF writer: array too large");
		return buf_put(b, v->v.arr.data, (size_t)bytes);
	}
	if (et != HEARTH_GGUF_STRING && et != HEARTH_GGUF_ARRAY)
		return hx_err(HEARTH_EINVAL, "GGUF writer: invalid array element type %d", (int)et);
	for (uint64_t i = 0; i < v->v.arr.n; i++) {
		if (v->v.arr.items[i].type != et)
			return hx_err(HEARTH_EINVAL, "GGUF writer: array element %llu has type %s, not %s",
			              (unsigned long long)i, hearth_gguf_type_name(v->v.arr.items[i].type),
			              hearth_gguf_type_name(et));
		if ((rc = put_value(b, &v->v.arr.items[i], depth + 1)))
			return rc;
	}
	return 0;
}

int gguf_writer_create(uint32_t alignment, gguf_writer **out)
{
	*out = NULL;
	if (alignment == 0)
		alignment = 32;
	if (alignment & (alignment - 1))
		return hx_err(HEARTH_EINVAL, "GGUF writer: alignment %u is not a power of two", alignment);
	gguf_writer *w = hx_calloc(1, sizeof *w);
	if (!w)
		return HEARTH_ENOMEM;
	w->alignment = alignment;
	*out = w;
	return 0;
}

void gguf_writer_free(gguf_writer *w)
{
	if (!w)
		return;
	if (w->f)
		fclose(w->f);
	for (int64_t i = 0; i < w->n_kv; i++) {
		free(w->kvs[i].key);
		free(w->kvs[i].val.p);
	}
	free(w->kvs);
	free(w->tensors);
	free(w->path);
	free(w);
}

bool gguf_writer_remove_key(gguf_writer *w, const char *key)
{
	for (int64_t i = 0; i < w->n_kv; i++) {
		if (strcmp(w->kvs[i].key, key) == 0) {
			free(w->kvs[i].key);
			free(w->kvs[i].val.p);
			memmove(&w->kvs[i], &w->kvs[i + 1], (size_t)(w->n_kv - i - 1) * sizeof *w->kvs);
			w->n_kv--;
			return true;
		}
	}
	return false;
}

int gguf_writer_set_value(gguf_writer *w, const char *key, const hearth_gguf_value *v)
{
	if (w->f)
		return hx_err(HEARTH_EINVAL, "GGUF writer: key '%s' set after the header was written", key);
	struct wkv kv = {0};
	int rc;
	if (!key[0])
		return hx_err(HEARTH_EINVAL, "GGUF writer: empty key");
	if ((rc = buf_u32(&kv.val, (uint32_t)v->type)) || (rc = put_value(&kv.val, v, 0))) {
		free(kv.val.p);
		return rc;
	}
	if (!(kv.key = hx_strdup(key))) {
		free(kv.val.p);
		return HEARTH_ENOMEM;
	}
	gguf_writer_remove_key(w, key);
	if (w->n_kv == w->cap_kv) {
		int64_t cap = w->cap_kv ? w->cap_kv * 2 : 32;
		struct wkv *nk = hx_realloc(w->kvs, (size_t)cap * sizeof *nk);
		if (!nk) {
			free(kv.key);
			free(kv.val.p);
			return HEARTH_ENOMEM;
		}
		w->kvs = nk;
		w->cap_kv = cap;
	}
	w->kvs[w->n_kv++] = kv;
	return 0;
}

int gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v)
{
	hearth_gguf_value val = {.type = HEARTH_GGUF_U32};
	val.v.u64 = v;
	return gguf_writer_set_value(w, key, &val);
}

int gguf_writer_set_str(gguf_writer *w, const char *key, const char *s)
{
	hearth_gguf_value val = {.type = HEARTH_GGUF_STRING};
	val.v.str.ptr = s;
	val.v.str.len = strlen(s);
	return gguf_writer_set_value(w, key, &val);
}

int gguf_writer_copy_kvs(gguf_writer *w, const hearth_gguf *g)
{
	for (int64_t i = 0; i < hearth_gguf_n_kv(g); i++) {
		int rc = gguf_writer_set_value(w, hearth_gguf_kv_key(g, i), hearth_gguf_kv_value(g, i));
		if (rc)
			return hx_errprefix(rc, "copying key '%s': ", hearth_gguf_kv_key(g, i));
	}
	return 0;
}

static uint64_t pad_to(uint64_t x, uint32_t a) { return (x + a - 1) & ~(uint64_t)(a - 1); }

int gguf_writer_add_tensor(gguf_writer *w, const char *name, int type, uint32_t n_dims, const int64_t *ne)
{
	if (w->f)
		return hx_err(HEARTH_EINVAL, "GGUF writer: tensor '%s' added after the header was written", name);
	size_t nl = strlen(name);
	if (nl == 0 || nl > GGUF_MAX_NAME)
		return hx_err(HEARTH_EINVAL, "GGUF writer: tensor name '%s' must be 1 to %d bytes", name, GGUF_MAX_NAME);
	for (int64_t i = 0; i < w->n_tensors; i++)
		if (strcmp(w->tensors[i].name, name) == 0)
			return hx_err(HEARTH_EINVAL, "GGUF writer: duplicate tensor '%s'", name);
	int64_t blck = hearth_type_block_size(type);
	if (blck <= 0)
		return hx_err(HEARTH_EINVAL, "GGUF writer: tensor '%s' has unknown type %d", name, type);
	if (n_dims < 1 || n_dims > 4)
		return hx_err(HEARTH_EINVAL, "GGUF writer: tensor '%s' has %u dimensions", name, n_dims);
	struct wtensor t = {0};
	snprintf(t.name, sizeof t.name, "%s", name);
	t.type = type;
	t.n_dims = n_dims;
	uint64_t n_rows = 1;
	for (uint32_t d = 0; d < 4; d++) {
		t.ne[d] = d < n_dims ? ne[d] : 1;
		if (t.ne[d] <= 0)
			return hx_err(HEARTH_EINVAL, "GGUF writer: tensor '%s' dimension %u is %lld", name, d,
			              (long long)t.ne[d]);
		if (d > 0 && hx_mul_u64(n_rows, (uint64_t)t.ne[d], &n_rows))
			return hx_err(HEARTH_ELIMIT, "GGUF writer: tensor '%s' is too large", name);
	}
	if (t.ne[0] % blck)
		return hx_err(HEARTH_EINVAL, "GGUF writer: tensor '%s' row of %lld is not a multiple of %s's block of %lld",
		              name, (long long)t.ne[0], hearth_type_name(type), (long long)blck);
	uint64_t row = (uint64_t)(t.ne[0] / blck) * hearth_type_block_bytes(type), end;
	if (hx_mul_u64(row, n_rows, &t.n_bytes) || hx_add_u64(w->data_size, t.n_bytes, &end) ||
	    end > UINT64_MAX - w->alignment)
		return hx_err(HEARTH_ELIMIT, "GGUF writer: tensor '%s' is too large", name);
	t.offset = w->data_size;
	if (w->n_tensors == w->cap_tensors) {
		int64_t cap = w->cap_tensors ? w->cap_tensors * 2 : 64;
		struct wtensor *nt = hx_realloc(w->tensors, (size_t)cap * sizeof *nt);
		if (!nt)
			return HEARTH_ENOMEM;
		w->tensors = nt;
		w->cap_tensors = cap;
	}
	w->tensors[w->n_tensors++] = t;
	w->data_size = pad_to(end, w->alignment);
	return 0;
}

uint64_t gguf_writer_tensor_size(const gguf_writer *w, int64_t i)
{
	return i >= 0 && i < w->n_tensors ? w->tensors[i].n_bytes : 0;
}

/* Serializes everything before the data section. */
static int build_header(const gguf_writer *w, struct buf *b)
{
	int rc;
	if ((rc = buf_put(b, "GGUF", 4)) || (rc = buf_u32(b, 3)) || (rc = buf_u64(b, (uint64_t)w->n_tensors)) ||
	    (rc = buf_u64(b, (uint64_t)w->n_kv)))
		return rc;
	for (int64_t i = 0; i < w->n_kv; i++)
		if ((rc = buf_str(b, w->kvs[i].key, strlen(w->kvs[i].key))) ||
		    (rc = buf_put(b, w->kvs[i].val.p, w->kvs[i].val.len)))
			return rc;
	for (int64_t i = 0; i < w->n_tensors; i++) {
		const struct wtensor *t = &w->tensors[i];
		if ((rc = buf_str(b, t->name, strlen(t->name))) || (rc = buf_u32(b, t->n_dims)))
			return rc;
		for (uint32_t d = 0; d < t->n_dims; d++)
			if ((rc = buf_u64(b, (uint64_t)t->ne[d])))
				return rc;
		if ((rc = buf_u32(b, (uint32_t)t->type)) || (rc = buf_u64(b, t->offset)))
			return rc;
	}
	static const uint8_t zeros[256];
	size_t pad = (size_t)(pad_to(b->len, w->alignment) - b->len);
	while (pad) {
		size_t n = HX_MIN(pad, sizeof zeros);
		if ((rc = buf_put(b, zeros, n)))
			return rc;
		pad -= n;
	}
	return 0;
}

uint64_t gguf_writer_file_size(const gguf_writer *w)
{
	struct buf b = {0};
	uint64_t size = 0;
	if (build_header(w, &b) == 0)
		size = b.len + w->data_size;
	free(b.p);
	return size;
}

static int write_fail(gguf_writer *w)
{
	w->failed = true;
	return hx_err(HEARTH_EIO, "%s: write failed: %s", w->path, strerror(errno));
}

int gguf_writer_open(gguf_writer *w, const char *path)
{
	if (w->f)
		return hx_err(HEARTH_EINVAL, "GGUF writer: already open");
	struct buf b = {0};
	int rc = build_header(w, &b);
	if (rc) {
		free(b.p);
		return rc;
	}
	free(w->path);
	if (!(w->path = hx_strdup(path))) {
		free(b.p);
		return HEARTH_ENOMEM;
	}
	w->f = fopen(path, "wb");
	if (!w->f) {
		free(b.p);
		return hx_err(HEARTH_EIO, "%s: cannot create: %s", path, strerror(errno));
	}
	w->header_size = b.len;
	w->cur = 0;
	w->cur_written = 0;
	w->failed = false;
	size_t n = fwrite(b.p, 1, b.len, w->f);
	free(b.p);
	if (n != w->header_size)
		return write_fail(w);
	return 0;
}

/* Writes the zero padding that follows tensor `cur` and moves to the next. */
static int finish_tensor(gguf_writer *w)
{
	static const uint8_t zeros[256];
	const struct wtensor *t = &w->tensors[w->cur];
	uint64_t pad = pad_to(t->offset + t->n_bytes, w->alignment) - (t->offset + t->n_bytes);
	if (pad && fwrite(zeros, 1, (size_t)pad, w->f) != pad)
		return write_fail(w);
	w->cur++;
	w->cur_written = 0;
	return 0;
}

int gguf_writer_write_data(gguf_writer *w, const void *data, size_t n)
{
	const uint8_t *p = data;
	if (!w->f || w->failed)
		return hx_err(HEARTH_EINVAL, "GGUF writer: not open");
	/* zero-sized tensors cannot exist (every dimension is >= 1) */
	while (n > 0) {
		if (w->cur >= w->n_tensors)
			return hx_err(HEARTH_EINVAL, "GGUF writer: %zu bytes more than the tensors hold", n);
		const struct wtensor *t = &w->tensors[w->cur];
		uint64_t left = t->n_bytes - w->cur_written;
		size_t k = (size_t)HX_MIN((uint64_t)n, left);
		if (fwrite(p, 1, k, w->f) != k)
			return write_fail(w);
		w->cur_written += k;
		p += k;
		n -= k;
		if (w->cur_written == t->n_bytes) {
			int rc = finish_tensor(w);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int gguf_writer_close(gguf_writer *w)
{
	if (!w->f)
		return hx_err(HEARTH_EINVAL, "GGUF writer: not open");
	int rc = 0;
	if (!w->failed && w->cur != w->n_tensors)
		rc = hx_err(HEARTH_EINVAL, "%s: closed after %lld of %lld tensors were written", w->path,
		            (long long)w->cur, (long long)w->n_tensors);
	if (!rc && !w->failed && (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0))
		rc = write_fail(w);
	if (fclose(w->f) != 0 && !rc)
		rc = hx_err(HEARTH_EIO, "%s: close failed: %s", w->path, strerror(errno));
	w->f = NULL;
	if (!rc && w->failed)
		rc = hx_err(HEARTH_EIO, "%s: an earlier write failed", w->path);
	return rc;
}
