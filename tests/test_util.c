/*
 * test_util.c - the small shared helpers in src/util: the growing string
 * (hx_sbuf): empty and 0-byte appends, growth across many appends, printf
 * formatting, a sticky failure, and hx_sbuf_free.
 */
#include "testutil.h"

#include "util/util.h"

#include <stdint.h>

static void test_sbuf_empty(void **state)
{
	hx_sbuf b = {0};
	assert_null(b.p);
	assert_int_equal(hx_sbuf_add(&b, "", 0), 0);
	assert_non_null(b.p);
	assert_string_equal(b.p, "");
	assert_int_equal(b.len, 0);
	hx_sbuf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.cap, 0);
	hx_sbuf_free(NULL);
}

static void test_sbuf_grow(void **state)
{
	hx_sbuf b = {0};
	for (int i = 0; i < 1000; i++)
		assert_int_equal(hx_sbuf_str(&b, "abc"), 0);
	assert_int_equal(b.len, 3000);
	assert_true(b.cap > b.len);
	assert_int_equal(strlen(b.p), 3000);
	assert_memory_equal(b.p + 2997, "abc", 4);
	assert_int_equal(hx_sbuf_add(&b, "xyz", 2), 0);
	assert_string_equal(b.p + 3000, "xy");
	hx_sbuf_free(&b);
}

static void test_sbuf_printf(void **state)
{
	hx_sbuf b = {0};
	assert_int_equal(hx_sbuf_str(&b, "n="), 0);
	assert_int_equal(hx_sbuf_printf(&b, "%d,%s", 42, "x"), 0);
	assert_string_equal(b.p, "n=42,x");
	/* longer than any initial capacity */
	assert_int_equal(hx_sbuf_printf(&b, "%0500d", 7), 0);
	assert_int_equal(b.len, 506);
	assert_int_equal(b.p[505], '7');
	assert_int_equal(b.p[506], 0);
	hx_sbuf_free(&b);
}

static void test_sbuf_sticky_failure(void **state)
{
	hx_sbuf b = {0};
	assert_int_equal(hx_sbuf_str(&b, "kept"), 0);
	/* a length that cannot fit: fails without touching what is there */
	assert_int_equal(hx_sbuf_add(&b, "x", SIZE_MAX - 2), HEARTH_ENOMEM);
	assert_true(b.oom);
	assert_string_equal(b.p, "kept");
	assert_int_equal(hx_sbuf_str(&b, "more"), HEARTH_ENOMEM);
	assert_int_equal(hx_sbuf_printf(&b, "%d", 1), HEARTH_ENOMEM);
	assert_string_equal(b.p, "kept");
	hx_sbuf_free(&b);
	assert_false(b.oom);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sbuf_empty),
	    cmocka_unit_test(test_sbuf_grow),
	    cmocka_unit_test(test_sbuf_printf),
	    cmocka_unit_test(test_sbuf_sticky_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
