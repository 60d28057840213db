/*
 * think.c - the streaming reasoning splitter (see engine.h): separates
 * "<think>...</think>" text from the answer while tokens arrive, holding back
 * only the bytes that could still be the start of a tag.
 */
#include "engine/engine.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

static const char k_open[] = "<think>";
static const char k_close[] = "</think>";
#define OPEN_LEN (sizeof k_open - 1)
#define CLOSE_LEN (sizeof k_close - 1)

void think_reset(struct think *t, bool in_reasoning)
{
	t->st = in_reasoning ? TH_INSIDE : TH_START;
	t->skip_ws = in_reasoning;
	t->n_hold = 0;
}

void think_free(struct think *t)
{
	free(t->hold);
	t->hold = NULL;
	t->n_hold = t->cap = 0;
}

static bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

/* Passes text on, dropping the whitespace that directly follows a tag. */
static bool out_text(struct think *t, bool reasoning, const char *p, size_t n, think_out_fn out, void *user)
{
	if (t->skip_ws) {
		while (n && is_ws(*p)) {
			p++;
			n--;
		}
		if (!n)
			return false;
		t->skip_ws = false;
	}
	return out(user, reasoning, p, n);
}

/* Length of the longest suffix of p[0..n) that is a proper prefix of the closing tag. */
static size_t partial_close(const char *p, size_t n)
{
	for (size_t k = HX_MIN(n, CLOSE_LEN - 1); k > 0; k--)
		if (memcmp(p + n - k, k_close, k) == 0)
			return k;
	return 0;
}

int think_feed(struct think *t, const char *text, size_t len, bool final, think_out_fn out, void *user)
{
	if (t->n_hold + len + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 64;
		while (cap < t->n_hold + len + 1)
			cap *= 2;
		char *p = hx_realloc(t->hold, cap);
		if (!p) {
			if (len)
				out(user, t->st == TH_INSIDE, text, len);
			return HEARTH_ENOMEM;
		}
		t->hold = p;
		t->cap = cap;
	}
	if (len)
		memcpy(t->hold + t->n_hold, text, len);
	const char *b = t->hold;
	size_t n = t->n_hold + len, pos = 0;
	bool stop = false;
	while (pos < n && !stop) {
		if (t->st == TH_CONTENT) {
			stop = out_text(t, false, b + pos, n - pos, out, user);
			pos = n;
		} else if (t->st == TH_START) {
			size_t ws = pos;
			while (ws < n && is_ws(b[ws]))
				ws++;
			size_t rest = n - ws;
			if (rest >= OPEN_LEN && memcmp(b + ws, k_open, OPEN_LEN) == 0) {
				t->st = TH_INSIDE;
				t->skip_ws = true;
				pos = ws + OPEN_LEN;
			} else if (rest < OPEN_LEN && memcmp(b + ws, k_open, rest) == 0 && !final) {
				break; /* only whitespace or a partial "<think>" so far: hold it */
			} else {
				t->st = TH_CONTENT;
			}
		} else {
			const char *hit = memmem(b + pos, n - pos, k_close, CLOSE_LEN);
			if (hit) {
				size_t k = (size_t)(hit - (b + pos));
				stop = k && out_text(t, true, b + pos, k, out, user);
				pos += k + CLOSE_LEN;
				t->st = TH_CONTENT;
				t->skip_ws = true;
			} else {
				size_t keep = final ? 0 : partial_close(b + pos, n - pos);
				if (n - pos - keep)
					stop = out_text(t, true, b + pos, n - pos - keep, out, user);
				pos = n - keep;
				break;
			}
		}
	}
	if (final || stop)
		pos = n;
	memmove(t->hold, b + pos, n - pos);
	t->n_hold = n - pos;
	return stop ? 1 : 0;
}
