/*
 * web.h - the web UI's embedded assets and the safe Markdown renderer
 * (src/server/web.c, src/server/markdown.c).
 *
 * The files under web/ are embedded into the binary at build time (the
 * generated $(BUILD)/gen/web_assets.c); nothing is read from disk or fetched at
 * run time.
 */
#ifndef HEARTH_SRV_WEB_H
#define HEARTH_SRV_WEB_H

#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;

/* Answers a GET (head: HEAD) for `path` with the embedded asset it names ("/"
 * and any path without a '.' in its last segment and not under /api/ or /v1/:
 * index.html, for client-side routes), with Content-Type, a strict
 * Content-Security-Policy (no external origins, no inline script), nosniff,
 * Referrer-Policy no-referrer, an ETag (If-None-Match -> 304) and Cache-Control.
 * Returns 1 and sets *status when it queued a response (*queued gets MHD's
 * result), 0 when no asset matches (the caller answers 404). */
int srv_web_respond(struct MHD_Connection *c, const char *path, bool head, int *status, int *queued);

/* Total bytes of the embedded assets (reported by /api/status). */
size_t srv_web_assets_bytes(void);

/* Renders Markdown (CommonMark + GitHub tables, strikethrough, task lists,
 * autolinks) to HTML with md4c's parser and our own HTML writer: raw HTML in
 * the input is escaped as text, never passed through; link and image targets
 * are kept only for http:, https:, mailto: and relative URLs (others become
 * "#"); images become links (nothing is loaded from elsewhere); fenced code
 * becomes <pre><code class="language-LANG"> with LANG reduced to
 * [A-Za-z0-9_+-].  Returns a malloc'd NUL-terminated string (*len = its length,
 * len may be NULL), or NULL when out of memory or the input is not valid
 * UTF-8-safe text (then the caller shows the escaped plain text). */
char *srv_markdown_html(const char *md, size_t md_len, size_t *len);

/* HTML-escapes text (& < > " ') into a malloc'd string. */
char *srv_html_escape(const char *s, size_t n, size_t *len);

#endif
