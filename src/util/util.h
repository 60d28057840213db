/*
 * util.h - small helpers shared by every layer: error reporting, checked
 * arithmetic, and allocation wrappers.
 *
 * Errors: a failing function calls hx_err(code, fmt, ...), which formats the
 * detail into the calling thread's message buffer (read by hearth_errmsg()) and
 * returns `code`, so the idiom is `return hx_err(HEARTH_EFORMAT, "...", ...);`.
 * hx_errprefix() prepends context ("model.gguf: ") to the current message as an
 * error travels up.
 */
#ifndef HEARTH_UTIL_H
#define HEARTH_UTIL_H

#include "hearth.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define HX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define HX_LIKELY(x) __builtin_expect(!!(x), 1)
#define HX_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define HX_PRINTF(a, b)
#define HX_LIKELY(x) (x)
#define HX_UNLIKELY(x) (x)
#endif

#define HX_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define HX_MIN(a, b) ((a) < (b) ? (a) : (b))
#define HX_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Records the message for this thread and returns `code`. */
int hx_err(int code, const char *fmt, ...) HX_PRINTF(2, 3);
int hx_verr(int code, const char *fmt, va_list ap) HX_PRINTF(2, 0);
/* Prepends a formatted prefix to the current message; returns `code`. */
int hx_errprefix(int code, const char *fmt, ...) HX_PRINTF(2, 3);
/* Clears the message. */
void hx_errclear(void);

/* Programmer-error assertion: aborts with file:line.  Never used for input checks. */
#define HX_ASSERT(x)                                                                    \
	do {                                                                            \
		if (HX_UNLIKELY(!(x)))                                                  \
			hx_assert_fail(#x, __FILE__, __LINE__);                         \
	} while (0)
_Noreturn void hx_assert_fail(const char *expr, const char *file, int line);

/* Checked arithmetic: return true on overflow. */
static inline bool hx_mul_u64(uint64_t a, uint64_t b, uint64_t *r) { return __builtin_mul_overflow(a, b, r); }
static inline bool hx_add_u64(uint64_t a, uint64_t b, uint64_t *r) { return __builtin_add_overflow(a, b, r); }
static inline bool hx_mul_i64(int64_t a, int64_t b, int64_t *r) { return __builtin_mul_overflow(a, b, r); }

/* Allocation: these return NULL on failure (and set HEARTH_ENOMEM's message). */
void *hx_malloc(size_t n);
void *hx_calloc(size_t n, size_t size);
void *hx_realloc(void *p, size_t n);
/* 64-byte aligned allocation, freed with hx_free_aligned. */
void *hx_malloc_aligned(size_t n);
void hx_free_aligned(void *p);
char *hx_strdup(const char *s);
char *hx_strndup(const char *s, size_t n);

/* A growing NUL-terminated string.  Start from {0}: p stays NULL until the
 * first append (even of 0 bytes, which makes it "").  Appends return 0 or
 * HEARTH_ENOMEM; after a failed allocation `oom` is set, p keeps what was
 * appended before, and later appends do nothing and return HEARTH_ENOMEM, so a
 * run of appends can be checked once at the end.  The caller owns p (free it,
 * or call hx_sbuf_free). */
typedef struct hx_sbuf {
	char *p;
	size_t len, cap;
	bool oom;
} hx_sbuf;

int hx_sbuf_add(hx_sbuf *b, const void *s, size_t n);
int hx_sbuf_str(hx_sbuf *b, const char *s);
/* Appends printf-formatted text. */
int hx_sbuf_printf(hx_sbuf *b, const char *fmt, ...) HX_PRINTF(2, 3);
/* Frees p and resets b to {0}; NULL does nothing. */
void hx_sbuf_free(hx_sbuf *b);

/* Reads a whole file into a NUL-terminated malloc'd buffer (*out_len, when not
 * NULL, gets its length without the NUL). */
int hx_read_file(const char *path, char **out, size_t *out_len);
/* Reads f to its end the same way, failing with HEARTH_ELIMIT ("NAME is over N
 * MiB") once more than about `max` bytes have come (SIZE_MAX: no limit); `name`
 * names the input in messages.  f stays open. */
int hx_read_stream(FILE *f, const char *name, size_t max, char **out, size_t *out_len);

/* Monotonic clock in seconds / nanoseconds. */
double hx_time_s(void);
int64_t hx_time_ns(void);

/* Number of online CPUs (at least 1). */
int hx_n_cpus(void);

#endif
