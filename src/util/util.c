/*
 * util.c - error messages (thread-local), allocation wrappers, file and clock helpers.
 */
#include "util/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Thread_local char tl_msg[1024];

const char *hearth_strerror(int err)
{
	switch (err) {
	case HEARTH_OK: return "success";
	case HEARTH_EINVAL: return "invalid argument";
	case HEARTH_ENOMEM: return "out of memory";
	case HEARTH_EIO: return "input/output error";
	case HEARTH_EFORMAT: return "malformed input";
	case HEARTH_EUNSUPPORTED: return "not supported";
	case HEARTH_ENOTFOUND: return "not found";
	case HEARTH_ETYPE: return "wrong type";
	case HEARTH_ECTXFULL: return "context full";
	case HEARTH_ECANCELED: return "cancelled";
	case HEARTH_ELIMIT: return "limit exceeded";
	default: return "unknown error";
	}
}

const char *hearth_errmsg(void) { return tl_msg; }

void hx_errclear(void) { tl_msg[0] = 0; }

int hx_verr(int code, const char *fmt, va_list ap)
{
	vsnprintf(tl_msg, sizeof tl_msg, fmt, ap);
	return code;
}

int hx_err(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hx_verr(code, fmt, ap);
	va_end(ap);
	return code;
}

int hx_errprefix(int code, const char *fmt, ...)
{
	char prefix[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return code;
	size_t pl = strlen(prefix), ml = strlen(tl_msg);
	if (pl + ml >= sizeof tl_msg)
		ml = sizeof tl_msg - 1 - pl;
	memmove(tl_msg + pl, tl_msg, ml);
	memcpy(tl_msg, prefix, pl);
	tl_msg[pl + ml] = 0;
	return code;
}

_Noreturn void hx_assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "hearth: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
	abort();
}

void *hx_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		hx_err(HEARTH_ENOMEM, "out of memory allocating %zu bytes", n);
	return p;
}

void *hx_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		hx_err(HEARTH_ENOMEM, "out of memory allocating %zu x %zu bytes", n, size);
	return p;
}

void *hx_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		hx_err(HEARTH_ENOMEM, "out of memory allocating %zu bytes", n);
	return q;
}

void *hx_malloc_aligned(size_t n)
{
	void *p = NULL;
	n = (n + 63) & ~(size_t)63;
	if (posix_memalign(&p, 64, n ? n : 64) != 0) {
		hx_err(HEARTH_ENOMEM, "out of memory allocating %zu bytes", n);
		return NULL;
	}
	return p;
}

void hx_free_aligned(void *p) { free(p); }

char *hx_strdup(const char *s) { return hx_strndup(s, strlen(s)); }

char *hx_strndup(const char *s, size_t n)
{
	char *p = hx_malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

/* Makes room for n more bytes and the NUL. */
static int sbuf_reserve(hx_sbuf *b, size_t n)
{
	if (b->oom)
		return HEARTH_ENOMEM;
	if (n >= SIZE_MAX - b->len) {
		b->oom = true;
		return hx_err(HEARTH_ENOMEM, "out of memory: a string of more than %zu bytes", b->len);
	}
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = hx_realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return HEARTH_ENOMEM;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

int hx_sbuf_add(hx_sbuf *b, const void *s, size_t n)
{
	int rc = sbuf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

int hx_sbuf_str(hx_sbuf *b, const char *s) { return hx_sbuf_add(b, s, strlen(s)); }

int hx_sbuf_printf(hx_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return hx_err(HEARTH_ENOMEM, "could not format a string");
	}
	int rc = sbuf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void hx_sbuf_free(hx_sbuf *b)
{
	if (!b)
		return;
	free(b->p);
	*b = (hx_sbuf){0};
}

int hx_read_stream(FILE *f, const char *name, size_t max, char **out, size_t *out_len)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = hx_malloc(cap);
	if (!buf)
		return HEARTH_ENOMEM;
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > max) {
				free(buf);
				return hx_err(HEARTH_ELIMIT, "%s is over %zu MiB", name, max >> 20);
			}
			char *nb = cap > SIZE_MAX / 2 ? NULL : hx_realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return HEARTH_ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		size_t r = fread(buf + len, 1, cap - len - 1, f);
		len += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		return hx_err(HEARTH_EIO, "%s: read error", name);
	}
	buf[len] = 0;
	*out = buf;
	if (out_len)
		*out_len = len;
	return 0;
}

int hx_read_file(const char *path, char **out, size_t *out_len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return hx_err(HEARTH_EIO, "%s: cannot open: %s", path, strerror(errno));
	int rc = hx_read_stream(f, path, SIZE_MAX, out, out_len);
	fclose(f);
	return rc;
}

int64_t hx_time_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

double hx_time_s(void) { return (double)hx_time_ns() * 1e-9; }

int hx_n_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (int)n;
}
