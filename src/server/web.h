/*
 * web.h - the web UI's embedded assets and the safe Markdown renderer
 * (src/server/web.c, src/server/markdown.c).
 *
 * The files under web/ are embedded into the binary at build time: tools/embed.c
 * writes $(BUILD)/gen/web_assets.c, a table sorted by path holding each file's
 * bytes, Content-Type and strong ETag (a hash of the content).  Nothing is read
 * from disk or fetched at run time.
 */
#ifndef HEARTH_SRV_WEB_H
#define HEARTH_SRV_WEB_H

#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;

/* One embedded file.  Everything is static data in the binary. */
struct srv_web_asset {
	const char *path;          /* "/index.html": '/' + the path under web/ */
	const char *ctype;         /* Content-Type ("text/css; charset=utf-8") */
	const unsigned char *data; /* the file's bytes */
	size_t len;
	const char *etag;          /* strong ETag, quoted: "\"3f2a...\"" */
};

/* The generated table: srv_web_n_assets entries sorted by strcmp on path
 * (followed by one all-zero entry, so the array is never empty), and the sum of
 * their lengths. */
extern const struct srv_web_asset srv_web_assets[];
extern const size_t srv_web_n_assets;
extern const size_t srv_web_total_bytes;
/* The CSP sources ('sha256-...', space-separated; "" when none) of the
 * stylesheets and scripts tools/embed.c inlined into the HTML files as <style>
 * and <script> elements. */
extern const char srv_web_style_hashes[];
extern const char srv_web_script_hashes[];

/* Answers a GET (head: HEAD) for `path` (MHD's decoded URL path, no query) with
 * the embedded asset it names: "/" and any path without a '.' in its last
 * segment and not under /api/ or /v1/ get index.html (client-side routes).
 * Headers: Content-Type, a strict Content-Security-Policy (no external origins,
 * no inline script or style but the embedded ones, allowed by their hashes:
 * srv_web_csp), X-Content-Type-Options nosniff, Referrer-Policy
 * no-referrer, X-Frame-Options DENY, ETag (a matching If-None-Match -> 304) and
 * Cache-Control no-cache (always revalidate).  Call it after the API routes and
 * only for GET or HEAD.  Returns 1 and sets *status when it queued a response
 * (*queued gets MHD's enum MHD_Result), 0 when no asset matches (the caller
 * answers 404).  Thread-safe (reads static data only). */
int srv_web_respond(struct MHD_Connection *c, const char *path, bool head, int *status, int *queued);

/* srv_web_respond over a table of n entries sorted by path (tests serve a
 * table of their own). */
int srv_web_respond_in(const struct srv_web_asset *tab, size_t n, struct MHD_Connection *c, const char *path,
                       bool head, int *status, int *queued);

/* The asset `path` names in a table of n entries sorted by path, after the
 * rules of srv_web_respond (index.html for "/" and client routes), or NULL.
 * Paths that are not plain ("..", "//", '\\', '%', control bytes, not starting
 * with '/', longer than 512 bytes) never match.  Exposed for tests. */
const struct srv_web_asset *srv_web_resolve(const struct srv_web_asset *tab, size_t n, const char *path);

/* True when an If-None-Match header value (a list of entity tags, weak ones
 * compared weakly, or "*") matches `etag`.  Exposed for tests. */
bool srv_web_etag_match(const char *if_none_match, const char *etag);

/* The Content-Security-Policy sent with every asset (static storage). */
const char *srv_web_csp(void);

/* Total bytes of the embedded assets (reported by /api/status). */
size_t srv_web_assets_bytes(void);

/* Renders Markdown (CommonMark + GitHub tables, strikethrough, task lists,
 * autolinks) to HTML with md4c's parser and our own HTML writer: raw HTML in
 * the input is escaped as text, never passed through; link and image targets
 * are kept only for http:, https:, mailto: and relative URLs, decided on the URL
 * as a browser would decode it (entities, tabs, newlines, leading spaces, case);
 * others become "#"; links open in a new tab with rel="noopener noreferrer
 * nofollow"; images become links (nothing is loaded from elsewhere); fenced code
 * becomes <pre><code class="language-LANG"> with LANG reduced to [A-Za-z0-9_+-];
 * table cell alignment uses the align attribute (no inline style, which the CSP
 * forbids).  Invalid UTF-8 and NUL bytes become U+FFFD, so the output is always
 * valid UTF-8.  Returns a malloc'd NUL-terminated string (*len = its length, len
 * may be NULL), or NULL when out of memory, when the input is over 16 MiB, or
 * when the output would exceed 32 x input + 64 KiB (pathological input; then
 * the caller shows the escaped plain text).  Thread-safe. */
char *srv_markdown_html(const char *md, size_t md_len, size_t *len);

/* HTML-escapes text (& < > " ') into a malloc'd NUL-terminated string (*len =
 * its length, len may be NULL); invalid UTF-8 and NUL bytes become U+FFFD.
 * Returns NULL when out of memory. */
char *srv_html_escape(const char *s, size_t n, size_t *len);

#endif
