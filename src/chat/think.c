/*
 * think.c - streaming splitter of generated text into reasoning and content at
 * the thinking markers (<think> / </think> by default).
 *
 * It is a byte-at-a-time matcher: `match` bytes of the marker being looked for
 * (the open tag while in content, the close tag while in reasoning) have been
 * seen and are held back; on a mismatch, the held bytes plus the new byte are
 * re-examined for the longest suffix that is still a prefix of the marker, and
 * everything before it is released as text.  So a marker split at any byte
 * boundary across pieces is recognised, nothing but a possible marker prefix is
 * ever held, and no allocation happens after create.
 */
#include "chat/chat.h"

#include <stdlib.h>
#include <string.h>

#define THINK_MAX_TAG 64

struct hearth_think {
	char open[THINK_MAX_TAG + 1], close[THINK_MAX_TAG + 1];
	size_t open_len, close_len;
	bool in_reasoning;
	bool trim;     /* trim_content_start option */
	bool trimming; /* currently dropping whitespace after a marker */
	size_t match;  /* bytes of the current marker held back */
	/* output staging: bytes of the current part not yet emitted */
	char out[256];
	size_t n_out;
};

hearth_think_params hearth_think_default_params(void)
{
	hearth_think_params p;
	p.open_tag = NULL;
	p.close_tag = NULL;
	p.start_in_reasoning = false;
	p.trim_content_start = true;
	return p;
}

int hearth_think_create(const hearth_think_params *p, hearth_think **out)
{
	if (!out)
		return hx_err(HEARTH_EINVAL, "think: out is NULL");
	*out = NULL;
	hearth_think_params d = p ? *p : hearth_think_default_params();
	const char *o = d.open_tag ? d.open_tag : "<think>";
	const char *c = d.close_tag ? d.close_tag : "</think>";
	size_t ol = strlen(o), cl = strlen(c);
	if (ol == 0 || cl == 0 || ol > THINK_MAX_TAG || cl > THINK_MAX_TAG)
		return hx_err(HEARTH_EINVAL, "think: markers must be 1 to %d bytes", THINK_MAX_TAG);
	hearth_think *t = hx_calloc(1, sizeof *t);
	if (!t)
		return HEARTH_ENOMEM;
	memcpy(t->open, o, ol);
	memcpy(t->close, c, cl);
	t->open_len = ol;
	t->close_len = cl;
	t->trim = d.trim_content_start;
	hearth_think_reset(t, d.start_in_reasoning);
	*out = t;
	return HEARTH_OK;
}

void hearth_think_free(hearth_think *t) { free(t); }

void hearth_think_reset(hearth_think *t, bool start_in_reasoning)
{
	t->in_reasoning = start_in_reasoning;
	t->trimming = start_in_reasoning && t->trim;
	t->match = 0;
	t->n_out = 0;
}

bool hearth_think_in_reasoning(const hearth_think *t) { return t->in_reasoning; }

static void flush(hearth_think *t, hearth_think_emit_fn emit, void *user)
{
	if (t->n_out && emit)
		emit(user, t->in_reasoning ? HEARTH_THINK_REASONING : HEARTH_THINK_CONTENT, t->out, t->n_out);
	t->n_out = 0;
}

static void put(hearth_think *t, const char *p, size_t n, hearth_think_emit_fn emit, void *user)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (t->trimming) {
			if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
				continue;
			t->trimming = false;
		}
		if (t->n_out == sizeof t->out)
			flush(t, emit, user);
		t->out[t->n_out++] = c;
	}
}

void hearth_think_feed(hearth_think *t, const char *text, size_t len, hearth_think_emit_fn emit, void *user)
{
	for (size_t i = 0; i < len; i++) {
		const char *tag = t->in_reasoning ? t->close : t->open;
		size_t tl = t->in_reasoning ? t->close_len : t->open_len;
		char c = text[i];
		if (c == tag[t->match]) {
			if (++t->match == tl) {
				flush(t, emit, user);
				t->in_reasoning = !t->in_reasoning;
				t->match = 0;
				t->trimming = t->trim;
			}
			continue;
		}
		if (t->match == 0) {
			put(t, &c, 1, emit, user);
			continue;
		}
		/* s = held marker prefix + c; keep its longest suffix that is a marker prefix */
		char s[THINK_MAX_TAG + 1];
		size_t sl = t->match;
		memcpy(s, tag, sl);
		s[sl++] = c;
		size_t k = sl - 1 < tl - 1 ? sl - 1 : tl - 1;
		for (; k > 0; k--)
			if (memcmp(s + sl - k, tag, k) == 0)
				break;
		put(t, s, sl - k, emit, user);
		t->match = k;
	}
	flush(t, emit, user);
}

void hearth_think_finish(hearth_think *t, hearth_think_emit_fn emit, void *user)
{
	if (t->match) {
		const char *tag = t->in_reasoning ? t->close : t->open;
		put(t, tag, t->match, emit, user);
		t->match = 0;
	}
	flush(t, emit, user);
}

static const char *last_occurrence(const char *s, size_t n, const char *tag, size_t tl)
{
	if (tl == 0 || tl > n)
		return NULL;
	for (size_t p = n - tl + 1; p-- > 0;)
		if (memcmp(s + p, tag, tl) == 0)
			return s + p;
	return NULL;
}

bool hearth_think_prompt_opens(const char *prompt, size_t len, const char *open_tag, const char *close_tag)
{
	const char *o = open_tag ? open_tag : "<think>";
	const char *c = close_tag ? close_tag : "</think>";
	if (!prompt)
		return false;
	const char *lo = last_occurrence(prompt, len, o, strlen(o));
	if (!lo)
		return false;
	const char *lc = last_occurrence(prompt, len, c, strlen(c));
	return !lc || lc < lo;
}
