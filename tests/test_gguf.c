/*
 * test_gguf.c - the GGUF reader: hand-built files covering every value type and
 * layout rule, the shared hostile corpus, a truncation sweep and random mutation.
 */
#include "hearth.h"
#include "testutil.h"
#include "util/util.h"

#include <dirent.h>
#include <math.h>
#include <sys/mman.h>

/* ---- a tiny in-memory GGUF writer for building test files ---- */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *x, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, x, n);
	b->len += n;
}
static void put_u32(struct buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(struct buf *b, uint64_t v) { put(b, &v, 8); }
static void put_str(struct buf *b, const char *s)
{
	put_u64(b, strlen(s));
	put(b, s, strlen(s));
}
static void put_kv_u32(struct buf *b, const char *k, uint32_t v)
{
	put_str(b, k);
	put_u32(b, HEARTH_GGUF_U32);
	put_u32(b, v);
}
static void pad_to(struct buf *b, size_t align)
{
	while (b->len % align)
		put(b, "", 1);
}

static void header(struct buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
	put(b, "GGUF", 4);
	put_u32(b, version);
	put_u64(b, n_tensors);
	put_u64(b, n_kv);
}

/* A tensor info with 1 or 2 dims. */
static void put_tensor(struct buf *b, const char *name, int64_t ne0, int64_t ne1, uint32_t type, uint64_t off)
{
	put_str(b, name);
	put_u32(b, ne1 ? 2 : 1);
	put_u64(b, (uint64_t)ne0);
	if (ne1)
		put_u64(b, (uint64_t)ne1);
	put_u32(b, type);
	put_u64(b, off);
}

static int open_buf(struct buf *b, hearth_gguf **g)
{
	/* copy into an exact-size allocation so any over-read trips the sanitizers */
	uint8_t *exact = malloc(b->len ? b->len : 1);
	memcpy(exact, b->p, b->len);
	free(b->p);
	b->p = exact;
	b->cap = b->len;
	return hearth_gguf_open_memory(b->p, b->len, "test.gguf", g);
}

static void test_all_value_types(void **state)
{
	(void)state;
	struct buf b = {0};
	header(&b, 3, 1, 16);
	uint8_t u8 = 200;
	int8_t i8 = -5;
	uint16_t u16 = 60000;
	int16_t i16 = -30000;
	int32_t i32 = -7;
	float f32 = 1.5f;
	uint8_t bl = 1;
	uint64_t u64 = 1ull << 40;
	int64_t i64 = -(1ll << 40);
	double f64 = 3.25;
	put_str(&b, "t.u8"), put_u32(&b, 0), put(&b, &u8, 1);
	put_str(&b, "t.i8"), put_u32(&b, 1), put(&b, &i8, 1);
	put_str(&b, "t.u16"), put_u32(&b, 2), put(&b, &u16, 2);
	put_str(&b, "t.i16"), put_u32(&b, 3), put(&b, &i16, 2);
	put_kv_u32(&b, "t.u32", 123456);
	put_str(&b, "t.i32"), put_u32(&b, 5), put(&b, &i32, 4);
	put_str(&b, "t.f32"), put_u32(&b, 6), put(&b, &f32, 4);
	put_str(&b, "t.bool"), put_u32(&b, 7), put(&b, &bl, 1);
	put_str(&b, "t.str"), put_u32(&b, 8), put_str(&b, "hello");
	put_str(&b, "t.u64"), put_u32(&b, 10), put(&b, &u64, 8);
	put_str(&b, "t.i64"), put_u32(&b, 11), put(&b, &i64, 8);
	put_str(&b, "t.f64"), put_u32(&b, 12), put(&b, &f64, 8);
	/* array of f32 */
	put_str(&b, "t.arr_f32"), put_u32(&b, 9), put_u32(&b, 6), put_u64(&b, 3);
	float fs[3] = {1, -2, 0.5f};
	put(&b, fs, sizeof fs);
	/* array of strings */
	put_str(&b, "t.arr_str"), put_u32(&b, 9), put_u32(&b, 8), put_u64(&b, 2);
	put_str(&b, "a"), put_str(&b, "bc");
	/* array of arrays of i32: [[1,2],[3]] */
	put_str(&b, "t.nested"), put_u32(&b, 9), put_u32(&b, 9), put_u64(&b, 2);
	put_u32(&b, 5), put_u64(&b, 2), put_u32(&b, 1), put_u32(&b, 2);
	put_u32(&b, 5), put_u64(&b, 1), put_u32(&b, 3);
	put_kv_u32(&b, "general.alignment", 64);
	put_tensor(&b, "w", 32, 2, HEARTH_TYPE_Q8_0, 0);
	pad_to(&b, 64);
	uint8_t data[68] = {0};
	put(&b, data, sizeof data);

	hearth_gguf *g;
	assert_int_equal(open_buf(&b, &g), 0);
	assert_int_equal(hearth_gguf_version(g), 3);
	assert_int_equal(hearth_gguf_n_kv(g), 16);
	assert_int_equal(hearth_gguf_alignment(g), 64);
	uint32_t u;
	int64_t i;
	float f;
	bool bb;
	hearth_str s;
	assert_int_equal(hearth_gguf_get_u32(g, "t.u32", &u), 0);
	assert_int_equal(u, 123456);
	assert_int_equal(hearth_gguf_get_u32(g, "t.u8", &u), 0);
	assert_int_equal(u, 200);
	assert_int_equal(hearth_gguf_get_u32(g, "t.i32", &u), HEARTH_ETYPE); /* negative */
	assert_int_equal(hearth_gguf_get_u32(g, "t.u64", &u), HEARTH_ETYPE); /* too large */
	assert_int_equal(hearth_gguf_get_u32(g, "t.str", &u), HEARTH_ETYPE);
	assert_non_null(strstr(hearth_errmsg(), "t.str"));
	assert_int_equal(hearth_gguf_get_u32(g, "nope", &u), HEARTH_ENOTFOUND);
	assert_int_equal(hearth_gguf_get_i64(g, "t.i16", &i), 0);
	assert_int_equal(i, -30000);
	assert_int_equal(hearth_gguf_get_i64(g, "t.i64", &i), 0);
	assert_int_equal(i, -(1ll << 40));
	assert_int_equal(hearth_gguf_get_i64(g, "t.u16", &i), 0);
	assert_int_equal(i, 60000);
	assert_int_equal(hearth_gguf_get_i64(g, "t.i8", &i), 0);
	assert_int_equal(i, -5);
	assert_int_equal(hearth_gguf_get_f32(g, "t.f32", &f), 0);
	assert_true(f == 1.5f);
	assert_int_equal(hearth_gguf_get_f32(g, "t.f64", &f), 0);
	assert_true(f == 3.25f);
	assert_int_equal(hearth_gguf_get_bool(g, "t.bool", &bb), 0);
	assert_true(bb);
	assert_int_equal(hearth_gguf_get_bool(g, "t.u8", &bb), HEARTH_ETYPE);
	assert_int_equal(hearth_gguf_get_str(g, "t.str", &s), 0);
	assert_int_equal(s.len, 5);
	assert_memory_equal(s.ptr, "hello", 5);

	const hearth_gguf_value *a;
	assert_int_equal(hearth_gguf_get_arr(g, "t.arr_f32", HEARTH_GGUF_F32, &a), 0);
	assert_int_equal(a->v.arr.n, 3);
	assert_true(hearth_gguf_arr_f64(a, 1) == -2.0);
	assert_int_equal(hearth_gguf_get_arr(g, "t.arr_f32", HEARTH_GGUF_STRING, &a), HEARTH_ETYPE);
	assert_int_equal(hearth_gguf_get_arr(g, "t.arr_str", HEARTH_GGUF_STRING, &a), 0);
	assert_int_equal(a->v.arr.items[1].v.str.len, 2);
	assert_memory_equal(a->v.arr.items[1].v.str.ptr, "bc", 2);
	assert_int_equal(hearth_gguf_get_arr(g, "t.nested", HEARTH_GGUF_ARRAY, &a), 0);
	assert_int_equal(a->v.arr.n, 2);
	assert_int_equal(a->v.arr.items[0].v.arr.n, 2);
	assert_int_equal(hearth_gguf_arr_i64(&a->v.arr.items[0], 1), 2);
	assert_int_equal(hearth_gguf_arr_i64(&a->v.arr.items[1], 0), 3);

	/* key order is file order; lookup is by name */
	assert_string_equal(hearth_gguf_kv_key(g, 0), "t.u8");
	assert_int_equal(hearth_gguf_find_key(g, "t.nested"), 14);
	assert_null(hearth_gguf_kv_key(g, 99));

	const hearth_gguf_tensor *t = hearth_gguf_tensor_find(g, "w");
	assert_non_null(t);
	assert_int_equal(t->n_bytes, 68);
	assert_int_equal(t->ne[0], 32);
	assert_int_equal(t->ne[1], 2);
	assert_int_equal(t->ne[2], 1);
	assert_int_equal(t->n_elements, 64);
	assert_int_equal(hearth_gguf_data_offset(g) % 64, 0);
	assert_ptr_equal(t->data, b.p + hearth_gguf_data_offset(g));
	assert_null(hearth_gguf_tensor_find(g, "x"));
	hearth_gguf_free(g);
	free(b.p);
}

/* Builds a file with one KV of nested arrays `depth` deep. */
static void test_nesting_limit(void **state)
{
	(void)state;
	for (int depth = 1; depth <= 12; depth++) {
		struct buf b = {0};
		header(&b, 3, 0, 1);
		put_str(&b, "deep");
		put_u32(&b, 9);
		for (int d = 1; d < depth; d++) {
			put_u32(&b, 9);
			put_u64(&b, 1);
		}
		put_u32(&b, 0);
		put_u64(&b, 0);
		hearth_gguf *g = NULL;
		int rc = open_buf(&b, &g);
		if (depth <= 8) {
			assert_int_equal(rc, 0);
			hearth_gguf_free(g);
		} else {
			assert_int_equal(rc, HEARTH_EFORMAT);
			assert_non_null(strstr(hearth_errmsg(), "nested"));
		}
		free(b.p);
	}
}

/* Layout rules: v2 accepted, overlap and misalignment rejected, element-count
 * overflow rejected, block-size multiple enforced. */
static int layout_case(uint32_t version, int64_t ne0, uint32_t type, uint64_t off1, size_t data_len)
{
	struct buf b = {0};
	header(&b, version, 2, 0);
	put_tensor(&b, "a", 32, 0, HEARTH_TYPE_F32, 0);
	put_tensor(&b, "b", ne0, 0, type, off1);
	pad_to(&b, 32);
	uint8_t *data = calloc(1, data_len);
	put(&b, data, data_len);
	free(data);
	hearth_gguf *g = NULL;
	int rc = open_buf(&b, &g);
	hearth_gguf_free(g);
	free(b.p);
	return rc;
}

static void test_layout(void **state)
{
	(void)state;
	assert_int_equal(layout_case(3, 32, HEARTH_TYPE_F32, 128, 256), 0);
	assert_int_equal(layout_case(2, 32, HEARTH_TYPE_F32, 128, 256), 0);
	assert_int_equal(layout_case(3, 32, HEARTH_TYPE_F32, 96, 256), HEARTH_EFORMAT); /* overlaps a */
	assert_non_null(strstr(hearth_errmsg(), "overlap"));
	assert_int_equal(layout_case(3, 32, HEARTH_TYPE_F32, 130, 512), HEARTH_EFORMAT); /* misaligned */
	assert_int_equal(layout_case(3, 32, HEARTH_TYPE_F32, 160, 256), HEARTH_EFORMAT); /* past the end */
	assert_int_equal(layout_case(3, 31, HEARTH_TYPE_Q4_0, 128, 256), HEARTH_EFORMAT); /* not whole blocks */
	assert_non_null(strstr(hearth_errmsg(), "block size"));
	assert_int_equal(layout_case(3, 32, 4, 128, 256), HEARTH_EFORMAT); /* removed type */
	assert_int_equal(layout_case(3, 32, 99, 128, 256), HEARTH_EFORMAT);
	assert_int_equal(layout_case(3, 0, HEARTH_TYPE_F32, 128, 256), HEARTH_EFORMAT);
	assert_int_equal(layout_case(3, INT64_MAX, HEARTH_TYPE_F32, 128, 256), HEARTH_EFORMAT);
	assert_int_equal(layout_case(1, 32, HEARTH_TYPE_F32, 128, 256), HEARTH_EFORMAT);
	assert_int_equal(layout_case(0x03000000, 32, HEARTH_TYPE_F32, 128, 256), HEARTH_EFORMAT);
	assert_non_null(strstr(hearth_errmsg(), "big-endian"));
}

static void test_bad_args(void **state)
{
	(void)state;
	hearth_gguf *g = (hearth_gguf *)1;
	assert_int_equal(hearth_gguf_open("/nonexistent/x.gguf", &g), HEARTH_EIO);
	assert_null(g);
	assert_non_null(strstr(hearth_errmsg(), "/nonexistent/x.gguf"));
	assert_int_equal(hearth_gguf_open("/", &g), HEARTH_EIO);
	hearth_gguf_free(NULL);
}

static uint8_t *load(const char *path, size_t *len)
{
	char *buf;
	if (hx_read_file(path, &buf, len) != 0)
		return NULL;
	return (uint8_t *)buf;
}

/* Every container-level file of the hostile corpus is rejected; 00 is accepted. */
static void test_hostile_corpus(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	static const char *model_level[] = {"29-", "30-", "31-", "32-", "33-", "34-", "35-", "36-"};
	char dir[4096], path[4096 + 1 + 256]; /* dir "/" d_name */
	tu_path(dir, sizeof dir, "hostile");
	int n_rejected = 0, n_model_level = 0;
	struct dirent **ents;
	int n_ents = scandir(dir, &ents, NULL, alphasort);
	assert_true(n_ents > 0);
	for (int e = 0; e < n_ents; e++) {
		const char *name = ents[e]->d_name;
		if (strlen(name) < 8 || strcmp(name + strlen(name) - 5, ".gguf") != 0)
			continue;
		int i = atoi(name);
		snprintf(path, sizeof path, "%s/%s", dir, name);
		hearth_gguf *g = NULL;
		int rc = hearth_gguf_open(path, &g);
		bool is_model_level = false;
		for (size_t k = 0; k < sizeof model_level / sizeof *model_level; k++)
			is_model_level |= strncmp(name, model_level[k], 3) == 0;
		if (i == 0) {
			assert_int_equal(rc, 0);
		} else if (is_model_level) {
			n_model_level++; /* the container is fine; the model loader rejects these */
		} else {
			if (rc == 0)
				fail_msg("%s was accepted", name);
			assert_int_equal(rc, HEARTH_EFORMAT);
			assert_non_null(strstr(hearth_errmsg(), name));
			n_rejected++;
		}
		hearth_gguf_free(g);
	}
	for (int e = 0; e < n_ents; e++)
		free(ents[e]);
	free(ents);
	print_message("note: hostile corpus: %d container-level files rejected, %d model-level left to the loader\n",
	              n_rejected, n_model_level);
	assert_int_equal(n_rejected, 28);
}

/* Every proper prefix of a valid file is rejected, without reading past it. */
static void test_truncation_sweep(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	char path[4096];
	size_t len;
	uint8_t *full = load(tu_path(path, sizeof path, "hostile/00-valid-tiny.gguf"), &len);
	assert_non_null(full);
	hearth_gguf *g;
	assert_int_equal(hearth_gguf_open_memory(full, len, "valid", &g), 0);
	hearth_gguf_free(g);
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		memcpy(p, full, cut);
		g = NULL;
		int rc = hearth_gguf_open_memory(p, cut, "cut", &g);
		if (rc != HEARTH_EFORMAT)
			fail_msg("prefix of %zu bytes: rc %d", cut, rc);
		free(p);
	}
	free(full);
}

/* Random byte mutations of a valid file never crash; whatever opens is usable. */
static void test_mutations(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	char path[4096];
	size_t len;
	uint8_t *full = load(tu_path(path, sizeof path, "hostile/00-valid-tiny.gguf"), &len);
	assert_non_null(full);
	uint64_t x = 0x9E3779B97F4A7C15ull;
	int accepted = 0;
	for (int iter = 0; iter < 3000; iter++) {
		uint8_t *p = malloc(len);
		memcpy(p, full, len);
		int flips = 1 + iter % 4;
		for (int k = 0; k < flips; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* mostly hit the header and metadata, where the structure is */
			size_t pos = (size_t)(x % (iter % 2 ? len : 8000));
			p[pos] = (uint8_t)(x >> 32);
		}
		hearth_gguf *g = NULL;
		if (hearth_gguf_open_memory(p, len, "mut", &g) == 0) {
			accepted++;
			for (int64_t i = 0; i < hearth_gguf_n_tensors(g); i++) {
				const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, i);
				const uint8_t *d = t->data;
				volatile uint8_t sink = t->n_bytes ? d[t->n_bytes - 1] : 0;
				(void)sink;
			}
			hearth_gguf_free(g);
		}
		free(p);
	}
	print_message("note: mutation: %d of 3000 mutated files still valid containers\n", accepted);
	free(full);
}

/* The file mapping carries the 2 MiB page advice (VmFlags "hg" in smaps), so
 * weights faulted in from disk come as 2 MiB folios.  Skipped where the kernel
 * refuses MADV_HUGEPAGE or has no /proc/self/smaps. */
static void test_hugepage_advice(void **state)
{
	(void)state;
#ifndef MADV_HUGEPAGE
	skip();
#else
	TU_REQUIRE_TESTDATA();
	void *probe = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(probe != MAP_FAILED);
	int refused = madvise(probe, 4096, MADV_HUGEPAGE) != 0;
	munmap(probe, 4096);
	FILE *f = fopen("/proc/self/smaps", "r");
	if (refused || !f) {
		if (f)
			fclose(f);
		print_message("no MADV_HUGEPAGE or no /proc/self/smaps: skipped\n");
		skip();
	}
	char path[4096];
	assert_non_null(tu_path(path, sizeof path, "models/llama-q-sweep-F16.gguf"));
	hearth_gguf *g = NULL;
	assert_int_equal(hearth_gguf_open(path, &g), 0);
	const hearth_gguf_tensor *t = hearth_gguf_tensor_at(g, 0);
	assert_non_null(t);
	uintptr_t a = (uintptr_t)t->data;
	char line[1024];
	int in = 0, found = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char c;
		if (sscanf(line, "%lx-%lx %c", &lo, &hi, &c) == 3 && strchr(line, '-') < strchr(line, ' '))
			in = lo <= a && a < hi;
		else if (in && strncmp(line, "VmFlags:", 8) == 0)
			found = strstr(line, " hg") != NULL ? 1 : -1;
	}
	fclose(f);
	hearth_gguf_free(g);
	assert_int_equal(found, 1);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_value_types), cmocka_unit_test(test_nesting_limit),
		cmocka_unit_test(test_layout),          cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_hostile_corpus),  cmocka_unit_test(test_truncation_sweep),
		cmocka_unit_test(test_mutations),       cmocka_unit_test(test_hugepage_advice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
