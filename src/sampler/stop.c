/*
 * stop.c - stop strings over streamed text (contract in include/hearth.h,
 * "Sampling").
 *
 * The matcher keeps one buffer: [0, held_off) was released by the previous call
 * (the caller may still be reading it), [held_off, held_off + held_len) is the
 * held-back tail.  Invariant: the held tail is the longest suffix of the text so
 * far that is a proper prefix of some stop string, so any stop string completed by
 * new bytes starts inside the held tail or in the new bytes, and everything before
 * the tail is safe to release.  A feed moves the tail to the front, appends the
 * piece, then checks each new end position against every stop string (longest
 * first, so the longest wins when several end at the same byte).  Stop strings are
 * short and few (HEARTH_STOP_MAX_N x HEARTH_STOP_MAX_LEN), so plain comparisons
 * guarded by a last-byte test are enough.  The buffer grows only when a piece is
 * larger than anything seen before.
 */
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

struct stop_str {
	char *s;
	size_t len;
	int index; /* position in the caller's array */
};

struct hearth_stop {
	struct stop_str *stops; /* sorted longest first */
	size_t n;
	size_t max_len;
	char *buf;
	size_t cap;
	size_t held_off, held_len;
	int matched; /* index of the matched stop string, or -1 */
};

static int cmp_len_desc(const void *a, const void *b)
{
	const struct stop_str *x = a, *y = b;
	if (x->len != y->len)
		return x->len < y->len ? 1 : -1;
	return x->index - y->index;
}

void hearth_stop_free(hearth_stop *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++)
		free(st->stops[i].s);
	free(st->stops);
	free(st->buf);
	free(st);
}

int hearth_stop_create(const char *const *stops, size_t n, hearth_stop **out)
{
	if (!out)
		return hx_err(HEARTH_EINVAL, "hearth_stop_create: out is NULL");
	*out = NULL;
	if (n > 0 && !stops)
		return hx_err(HEARTH_EINVAL, "stop strings: the array is NULL but its count is %zu", n);
	if (n > HEARTH_STOP_MAX_N)
		return hx_err(HEARTH_ELIMIT, "stop strings: %zu given, at most %d are allowed", n, HEARTH_STOP_MAX_N);
	for (size_t i = 0; i < n; i++) {
		if (!stops[i])
			return hx_err(HEARTH_EINVAL, "stop string %zu is NULL", i);
		size_t len = strnlen(stops[i], HEARTH_STOP_MAX_LEN + 1);
		if (len == 0)
			return hx_err(HEARTH_EINVAL, "stop string %zu is empty", i);
		if (len > HEARTH_STOP_MAX_LEN)
			return hx_err(HEARTH_ELIMIT, "stop string %zu is longer than %d bytes", i, HEARTH_STOP_MAX_LEN);
	}

	hearth_stop *st = hx_calloc(1, sizeof *st);
	if (!st)
		return HEARTH_ENOMEM;
	st->matched = -1;
	if (n > 0) {
		st->stops = hx_calloc(n, sizeof *st->stops);
		if (!st->stops)
			goto oom;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(stops[i]);
		st->stops[i].s = hx_strndup(stops[i], len);
		if (!st->stops[i].s)
			goto oom;
		st->n = i + 1;
		st->stops[i].len = len;
		st->stops[i].index = (int)i;
		st->max_len = HX_MAX(st->max_len, len);
	}
	if (n > 1)
		qsort(st->stops, n, sizeof *st->stops, cmp_len_desc);
	st->cap = 4096 + st->max_len;
	st->buf = hx_malloc(st->cap);
	if (!st->buf)
		goto oom;
	*out = st;
	return HEARTH_OK;
oom:
	hearth_stop_free(st);
	return HEARTH_ENOMEM;
}

void hearth_stop_reset(hearth_stop *st)
{
	if (!st)
		return;
	st->held_off = st->held_len = 0;
	st->matched = -1;
}

int hearth_stop_matched(const hearth_stop *st)
{
	return st ? st->matched : -1;
}

/* Length of the longest suffix of buf[0..len) that is a proper prefix of a stop
 * string. */
static size_t held_tail(const hearth_stop *st, const char *buf, size_t len)
{
	size_t best = 0;
	for (size_t k = 0; k < st->n; k++) {
		const struct stop_str *s = &st->stops[k];
		size_t l = HX_MIN(s->len - 1, len);
		for (; l > best; l--) {
			const char *tail = buf + len - l;
			if (tail[0] == s->s[0] && memcmp(tail, s->s, l) == 0)
				break;
		}
		best = HX_MAX(best, l);
	}
	return best;
}

int hearth_stop_feed(hearth_stop *st, const char *piece, size_t len, const char **emit, size_t *emit_len)
{
	if (!st || !emit || !emit_len || (len > 0 && !piece))
		return hx_err(HEARTH_EINVAL, "hearth_stop_feed: NULL argument");
	*emit = st->buf;
	*emit_len = 0;
	if (st->matched >= 0)
		return 1;

	memmove(st->buf, st->buf + st->held_off, st->held_len);
	st->held_off = 0;
	const size_t old = st->held_len;
	if (len > st->cap - old) {
		if (len > SIZE_MAX / 4)
			return hx_err(HEARTH_ENOMEM, "stop strings: a %zu-byte piece is too large", len);
		size_t need = old + len;
		size_t ncap = HX_MAX(need, st->cap * 2);
		char *nb = hx_realloc(st->buf, ncap);
		if (!nb)
			return HEARTH_ENOMEM;
		st->buf = nb;
		st->cap = ncap;
		*emit = st->buf;
	}
	if (len > 0)
		memcpy(st->buf + old, piece, len);
	const size_t total = old + len;
	const char *b = st->buf;

	for (size_t end = old + 1; end <= total; end++) {
		const char last = b[end - 1];
		for (size_t k = 0; k < st->n; k++) {
			const struct stop_str *s = &st->stops[k];
			if (s->len > end || s->s[s->len - 1] != last)
				continue;
			if (memcmp(b + end - s->len, s->s, s->len) == 0) {
				st->matched = s->index;
				st->held_len = 0;
				*emit_len = end - s->len;
				return 1;
			}
		}
	}

	size_t tail = held_tail(st, b, total);
	st->held_off = total - tail;
	st->held_len = tail;
	*emit_len = total - tail;
	return 0;
}

int hearth_stop_flush(hearth_stop *st, const char **emit, size_t *emit_len)
{
	if (!st || !emit || !emit_len)
		return hx_err(HEARTH_EINVAL, "hearth_stop_flush: NULL argument");
	*emit = st->buf + st->held_off;
	*emit_len = 0;
	if (st->matched >= 0)
		return 1;
	*emit_len = st->held_len;
	st->held_off += st->held_len;
	st->held_len = 0;
	return 0;
}
