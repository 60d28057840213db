/*
 * web.c - serves the web UI from the table of embedded assets
 * ($(BUILD)/gen/web_assets.c, written by tools/embed.c from web/).
 *
 * Serving is a binary search in a static table: a request path is never joined
 * to a directory, and paths that are not plain (dot segments, "//", backslashes,
 * '%' left after MHD's decoding, control bytes) are refused before the lookup.
 * Every response carries a strict Content-Security-Policy: the UI's own
 * scripts, styles, images, fonts and manifest only, data: images, fetches to
 * this origin only, no inline script or style except the boot script and the
 * stylesheet embed inlined into index.html (allowed by their SHA-256), no
 * framing.
 */
#include "server/web.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define WEB_PATH_MAX 512

static char csp[2048]; /* fits 2 x 8 hashes (tools/embed.c MAX_INLINED) */
static pthread_once_t csp_once = PTHREAD_ONCE_INIT;

static void csp_build(void)
{
	snprintf(csp, sizeof csp,
	         "default-src 'none'; script-src 'self'%s%s; style-src 'self'%s%s; img-src 'self' data:; "
	         "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
	         "form-action 'self'; frame-ancestors 'none'",
	         srv_web_script_hashes[0] ? " " : "", srv_web_script_hashes, srv_web_style_hashes[0] ? " " : "",
	         srv_web_style_hashes);
}

const char *srv_web_csp(void)
{
	pthread_once(&csp_once, csp_build);
	return csp;
}

size_t srv_web_assets_bytes(void)
{
	return srv_web_total_bytes;
}

static const struct srv_web_asset *find(const struct srv_web_asset *tab, size_t n, const char *path)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(path, tab[mid].path);
		if (c == 0)
			return &tab[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* A path we are willing to look up: absolute, short, printable ASCII, no dot
 * segments, no empty segments except a trailing '/', no '\\' or '%'. */
static bool plain_path(const char *p)
{
	if (!p || p[0] != '/')
		return false;
	size_t n = 0;
	for (const char *q = p; *q; q++, n++) {
		unsigned char ch = (unsigned char)*q;
		if (n >= WEB_PATH_MAX || ch <= 0x20 || ch >= 0x7f || ch == '\\' || ch == '%')
			return false;
		if (ch == '/' && q[1] == '/')
			return false;
		if (ch == '.' && (q[-1] == '/' || q[1] == '.'))
			return false; /* "/." "/.." "..": dot segments and hidden files */
	}
	return true;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == 0);
}

const struct srv_web_asset *srv_web_resolve(const struct srv_web_asset *tab, size_t n, const char *path)
{
	if (!plain_path(path))
		return NULL;
	if (strcmp(path, "/") == 0)
		return find(tab, n, "/index.html");
	const struct srv_web_asset *a = find(tab, n, path);
	if (a)
		return a;
	/* A client-side route: no extension in the last segment, not an API path. */
	const char *last = strrchr(path, '/');
	if (strchr(last, '.') || under(path, "/api") || under(path, "/v1"))
		return NULL;
	return find(tab, n, "/index.html");
}

/* The next entity tag of an If-None-Match list at *p, weak prefix removed:
 * a quoted tag or "*".  Returns false at the end of the list or when the
 * header is malformed (which then matches nothing). */
static bool next_tag(const char **p, const char **tag, size_t *len)
{
	const char *s = *p;
	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (!*s)
		return false;
	if (s[0] == 'W' && s[1] == '/')
		s += 2;
	const char *start = s;
	if (*s == '*') {
		s++;
	} else if (*s == '"') {
		s++;
		while (*s && *s != '"')
			s++;
		if (*s != '"')
			return false;
		s++;
	} else {
		return false;
	}
	if (*s && *s != ' ' && *s != '\t' && *s != ',')
		return false;
	*tag = start;
	*len = (size_t)(s - start);
	*p = s;
	return true;
}

bool srv_web_etag_match(const char *if_none_match, const char *etag)
{
	if (!if_none_match || !etag)
		return false;
	size_t elen = strlen(etag);
	const char *p = if_none_match, *tag;
	size_t len;
	while (next_tag(&p, &tag, &len))
		if ((len == 1 && tag[0] == '*') || (len == elen && memcmp(tag, etag, len) == 0))
			return true;
	return false;
}

/* No Cross-Origin-Opener-Policy: with it Chromium starts a new renderer process
 * for every navigation into the page from another document (about:blank, a new
 * tab, another 127.0.0.1 app), which was a third of the first paint on the test
 * VM (112 -> 80 ms median in a new tab, bench/web-paint.sh).  What it would
 * guard against, a page that opened hearth navigating that window elsewhere, has
 * nothing to phish while there are no credentials; revisit with auth.  Framing
 * is refused (frame-ancestors, X-Frame-Options) and links the page opens get
 * rel=noopener. */
static void add_headers(struct MHD_Response *r, const struct srv_web_asset *a)
{
	MHD_add_response_header(r, "ETag", a->etag);
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	MHD_add_response_header(r, "Content-Security-Policy", srv_web_csp());
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
}

int srv_web_respond_in(const struct srv_web_asset *tab, size_t n, struct MHD_Connection *c, const char *path,
                       bool head, int *status, int *queued)
{
	(void)head; /* MHD sends no body for HEAD by itself, with the same headers */
	const struct srv_web_asset *a = srv_web_resolve(tab, n, path);
	if (!a)
		return 0;
	const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	int code = srv_web_etag_match(inm, a->etag) ? 304 : 200;
	struct MHD_Response *r = code == 304
	                                 ? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
	                                 : MHD_create_response_from_buffer(a->len, (void *)a->data,
	                                                                   MHD_RESPMEM_PERSISTENT);
	if (!r) {
		*status = 500;
		*queued = MHD_NO;
		return 1;
	}
	if (code == 200)
		MHD_add_response_header(r, "Content-Type", a->ctype);
	add_headers(r, a);
	*queued = MHD_queue_response(c, (unsigned)code, r);
	MHD_destroy_response(r);
	*status = code;
	return 1;
}

int srv_web_respond(struct MHD_Connection *c, const char *path, bool head, int *status, int *queued)
{
	return srv_web_respond_in(srv_web_assets, srv_web_n_assets, c, path, head, status, queued);
}
