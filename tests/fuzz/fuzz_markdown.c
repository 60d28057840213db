/*
 * fuzz_markdown.c - libFuzzer harness for the safe Markdown renderer and the
 * HTML escaper (src/server/markdown.c): any bytes are rendered, and the HTML
 * must pass the independent checker (tests/fuzz/html_check.h: only our tags and
 * attributes, no "<script", no event-handler attribute, every href relative or
 * http/https/mailto as the browser decodes it, escaped text, balanced
 * elements, valid UTF-8) and stay within the output bound.  The escaped text
 * must hold no < > " ' and no NUL.
 */
#include "html_check.h"
#include "server/web.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *html, size_t len)
{
	fprintf(stderr, "fuzz_markdown: %s\n%.*s\n", what, (int)(len > 4096 ? 4096 : len), html);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = 0;
	char *h = srv_markdown_html((const char *)data, size, &len);
	if (h) {
		if (len > 32 * size + 65536)
			fail("output over the bound", h, len);
		const char *err = hc_check(h, len);
		if (err)
			fail(err, h, len);
		/* the literal checks, belt and braces: inside tags (outside quoted
		 * values) no attribute starts with "on"; nowhere a "<script" */
		bool in_tag = false, in_quote = false;
		for (size_t i = 0; i < len; i++) {
			char c = h[i];
			if (!in_tag) {
				if (c == '<') {
					if (strncasecmp(h + i + 1, "script", 6) == 0)
						fail("<script", h, len);
					in_tag = true;
				}
			} else if (in_quote) {
				in_quote = c != '"';
			} else if (c == '"') {
				in_quote = true;
			} else if (c == '>') {
				in_tag = false;
			} else if (c == ' ' && strncasecmp(h + i + 1, "on", 2) == 0) {
				fail("event-handler attribute", h, len);
			}
		}
		for (const char *p = h; (p = strstr(p, "href=\"")); p++)
			if (strncasecmp(p + 6, "javascript:", 11) == 0)
				fail("javascript: href", h, len);
		free(h);
	}
	char *e = srv_html_escape((const char *)data, size, &len);
	if (!e)
		return 0;
	if (strlen(e) != len || strpbrk(e, "<>\"'"))
		fail("escaped text holds < > \" ' or NUL", e, len);
	if (!hc_utf8((const unsigned char *)e, len))
		fail("escaped text is not UTF-8", e, len);
	free(e);
	return 0;
}
