/*
 * engine.h - internals of the generation engine (src/engine): the streaming
 * reasoning splitter, kept apart so it can be tested on its own.
 */
#ifndef HEARTH_ENGINE_H
#define HEARTH_ENGINE_H

#include "hearth.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * Splits generated text into reasoning and content as it streams.  Reasoning is
 * the text between an opening "<think>" that comes before any other
 * non-whitespace output (or from the start, when the prompt already opened the
 * section) and the next "</think>"; everything else is content.  Tags split
 * across pieces at any byte are recognised: the bytes that may begin a tag are
 * held until the tag completes or cannot.  Whitespace right after a tag is
 * dropped (models write "<think>\n" and "</think>\n\n").
 */
enum think_state {
	TH_START,   /* nothing but whitespace seen: an opening tag may still come */
	TH_INSIDE,  /* inside the reasoning section: looking for the closing tag */
	TH_CONTENT, /* plain content to the end */
};

/* Receives one piece of text (len >= 1); returning true asks to stop. */
typedef bool (*think_out_fn)(void *user, bool reasoning, const char *text, size_t len);

struct think {
	enum think_state st;
	bool skip_ws;
	char *hold; /* held bytes (a possible tag start) */
	size_t n_hold, cap;
};

/* Starts a new generation; in_reasoning: the prompt opened the section. */
void think_reset(struct think *t, bool in_reasoning);
/* Feeds text; final flushes everything held.  Returns 1 when `out` asked to
 * stop (later text of this call is dropped), 0, or HEARTH_ENOMEM (the text was
 * passed on unsplit). */
int think_feed(struct think *t, const char *text, size_t len, bool final, think_out_fn out, void *user);
void think_free(struct think *t);

#endif
