/*
 * test_web.c - the embedded web UI (src/server/web.c and the table tools/embed.c
 * generates): the real table's order, Content-Types, ETags (recomputed here from
 * the bytes) and total; path resolution with client-side routes and traversal
 * attempts; If-None-Match parsing; and real HTTP exchanges against a
 * libmicrohttpd daemon on a loopback port serving a test table (headers, 304,
 * HEAD, 404, percent-encoded traversal decoded by MHD).
 */
#include "testutil.h"

#include "server/web.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static const unsigned char d_index[] = "<!doctype html><title>t</title>";
static const unsigned char d_app[] = "console.log(1)";
static const unsigned char d_css[] = "body{}";
static const unsigned char d_icon[] = "<svg/>";

/* Sorted by path, as the generator writes it. */
static const struct srv_web_asset tab[] = {
	{"/app.js", "text/javascript; charset=utf-8", d_app, sizeof d_app - 1, "\"e-1\""},
	{"/icons/a.svg", "image/svg+xml; charset=utf-8", d_icon, sizeof d_icon - 1, "\"6-2\""},
	{"/index.html", "text/html; charset=utf-8", d_index, sizeof d_index - 1, "\"1f-3\""},
	{"/style.css", "text/css; charset=utf-8", d_css, sizeof d_css - 1, "\"6-4\""},
};
#define N_TAB (sizeof tab / sizeof tab[0])

static const char *resolve(const char *path)
{
	const struct srv_web_asset *a = srv_web_resolve(tab, N_TAB, path);
	return a ? a->path : NULL;
}

static void test_resolve(void **state)
{
	(void)state;
	assert_string_equal(resolve("/"), "/index.html");
	assert_string_equal(resolve("/index.html"), "/index.html");
	assert_string_equal(resolve("/app.js"), "/app.js");
	assert_string_equal(resolve("/icons/a.svg"), "/icons/a.svg");
	/* client-side routes */
	assert_string_equal(resolve("/chat/42"), "/index.html");
	assert_string_equal(resolve("/settings"), "/index.html");
	assert_string_equal(resolve("/chat/42/"), "/index.html");
	assert_string_equal(resolve("/apis"), "/index.html");
	/* API paths, missing files with an extension */
	assert_null(resolve("/api"));
	assert_null(resolve("/api/"));
	assert_null(resolve("/api/chats"));
	assert_null(resolve("/v1"));
	assert_null(resolve("/v1/models"));
	assert_null(resolve("/missing.js"));
	assert_null(resolve("/icons/b.svg"));
	assert_null(resolve("/chat/42/x.png"));
}

static void test_traversal(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"/../index.html", "/./index.html", "/icons/../index.html", "/icons/..", "/..", "/.", "/chat/..",
		"/..%2findex.html", "/%2e%2e/index.html", "/%2E%2E%2Fetc%2Fpasswd", "/index.html%00.js",
		"//index.html", "/icons//a.svg", "\\index.html", "/\\index.html", "/icons\\a.svg",
		"/..\\..\\etc\\passwd", "index.html", "", "/index.html\n", "/index.html\r", "/in dex.html",
		"/\x7f", "/\xc0\xae\xc0\xae/index.html", "/\xe2\x80\xa8", "/.hidden", "/....//index.html",
		"/app.js/..", "/chat/%2e%2e", "/..;/index.html",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (resolve(bad[i]))
			print_message("resolved: \"%s\"\n", bad[i]);
		assert_null(resolve(bad[i]));
	}
	assert_null(srv_web_resolve(tab, N_TAB, NULL));
	char longp[600];
	memset(longp, 'a', sizeof longp);
	longp[0] = '/';
	longp[sizeof longp - 1] = 0;
	assert_null(resolve(longp));
	/* an empty table never matches */
	assert_null(srv_web_resolve(tab, 0, "/"));
	assert_null(srv_web_resolve(tab, 0, "/chat/1"));
}

static void test_etag_match(void **state)
{
	(void)state;
	const char *e = "\"1f-3\"";
	assert_true(srv_web_etag_match("\"1f-3\"", e));
	assert_true(srv_web_etag_match("W/\"1f-3\"", e));
	assert_true(srv_web_etag_match("\"a\", \"1f-3\"", e));
	assert_true(srv_web_etag_match("\"a\",W/\"1f-3\" ,\"b\"", e));
	assert_true(srv_web_etag_match("*", e));
	assert_false(srv_web_etag_match("\"1f-4\"", e));
	assert_false(srv_web_etag_match("\"1f-3", e));
	assert_false(srv_web_etag_match("1f-3", e));
	assert_false(srv_web_etag_match("\"1f-3\"x", e));
	assert_false(srv_web_etag_match("", e));
	assert_false(srv_web_etag_match(",,, ", e));
	assert_false(srv_web_etag_match(NULL, e));
	assert_false(srv_web_etag_match("\"\"", e));
}

/* 64-bit FNV-1a, computed independently of tools/embed.c. */
static uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static void test_generated_table(void **state)
{
	(void)state;
	size_t total = 0;
	for (size_t i = 0; i < srv_web_n_assets; i++) {
		const struct srv_web_asset *a = &srv_web_assets[i];
		assert_non_null(a->path);
		assert_non_null(a->ctype);
		assert_non_null(a->data);
		assert_true(a->path[0] == '/');
		if (i)
			assert_true(strcmp(srv_web_assets[i - 1].path, a->path) < 0);
		/* every embedded file is reachable by its own path */
		assert_ptr_equal(srv_web_resolve(srv_web_assets, srv_web_n_assets, a->path), a);
		char etag[64];
		snprintf(etag, sizeof etag, "\"%zx-%016llx\"", a->len, (unsigned long long)fnv1a(a->data, a->len));
		assert_string_equal(a->etag, etag);
		const char *dot = strrchr(a->path, '.');
		if (dot && strcmp(dot, ".html") == 0)
			assert_string_equal(a->ctype, "text/html; charset=utf-8");
		if (dot && strcmp(dot, ".js") == 0)
			assert_string_equal(a->ctype, "text/javascript; charset=utf-8");
		if (dot && strcmp(dot, ".css") == 0)
			assert_string_equal(a->ctype, "text/css; charset=utf-8");
		total += a->len;
	}
	assert_null(srv_web_assets[srv_web_n_assets].path);
	assert_int_equal(total, srv_web_assets_bytes());
	if (srv_web_n_assets) {
		const struct srv_web_asset *a = srv_web_resolve(srv_web_assets, srv_web_n_assets, "/");
		assert_non_null(a);
		assert_string_equal(a->path, "/index.html");
	} else {
		print_message("web/ is empty: only the table's shape was checked\n");
	}
}

/* The elements `open`...`close` of index.html: each one's SHA-256 (recomputed
 * here) is in `hashes` and in the CSP directive starting `directive`, in order,
 * and nothing else is in `hashes`.  Returns how many there are. */
static int check_inlined(const char *html, const char *csp, const char *open, const char *close,
                         const char *hashes, const char *directive)
{
	const char *dir = strstr(csp, directive);
	assert_non_null(dir);
	const char *dir_end = strchr(dir, ';');
	assert_non_null(dir_end);
	char expect[1024] = "";
	int n = 0;
	for (const char *p = html; (p = strstr(p, open)) != NULL; n++) {
		p += strlen(open);
		const char *end = strstr(p, close);
		assert_non_null(end);
		unsigned char h[crypto_hash_sha256_BYTES];
		char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
		crypto_hash_sha256(h, (const unsigned char *)p, (size_t)(end - p));
		sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_ORIGINAL);
		char src[80];
		snprintf(src, sizeof src, "%s'sha256-%s'", n ? " " : "", b64);
		strncat(expect, src, sizeof expect - strlen(expect) - 1);
		const char *in = strstr(dir, src + (n ? 1 : 0));
		assert_true(in && in < dir_end);
		p = end;
	}
	assert_string_equal(hashes, expect);
	return n;
}

/* What embed inlined: index.html holds <style> and <script> elements and no
 * stylesheet link or script src but app.js's, which boot.js adds; each one's
 * SHA-256 is in srv_web_style_hashes or srv_web_script_hashes, which the CSP's
 * style-src and script-src list, and nothing else is. */
static void test_inlined_assets(void **state)
{
	(void)state;
	assert_int_equal(sodium_init() >= 0, 1);
	const char *csp = srv_web_csp();
	assert_non_null(strstr(csp, "default-src 'none'; script-src 'self'"));
	assert_null(strstr(csp, "unsafe"));
	const struct srv_web_asset *a = srv_web_resolve(srv_web_assets, srv_web_n_assets, "/index.html");
	if (!a) {
		print_message("no index.html embedded: skipped\n");
		return;
	}
	char *html = strndup((const char *)a->data, a->len);
	assert_non_null(html);
	assert_null(strstr(html, "rel=\"stylesheet\""));
	assert_null(strstr(html, "<script src"));
	/* web/index.html links web/style.css and loads web/boot.js */
	assert_int_equal(check_inlined(html, csp, "<style>", "</style>", srv_web_style_hashes, "style-src 'self'"), 1);
	assert_int_equal(check_inlined(html, csp, "<script>", "</script>", srv_web_script_hashes, "script-src 'self'"), 1);
	/* neither is also served on its own; what boot.js starts is */
	assert_null(srv_web_resolve(srv_web_assets, srv_web_n_assets, "/style.css"));
	assert_null(srv_web_resolve(srv_web_assets, srv_web_n_assets, "/boot.js"));
	assert_non_null(strstr(html, "'/app.js'"));
	assert_non_null(srv_web_resolve(srv_web_assets, srv_web_n_assets, "/app.js"));
	free(html);
}

/* ---- over HTTP -------------------------------------------------------------------- */

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_len, void **con_cls)
{
	(void)cls, (void)version, (void)upload, (void)upload_len, (void)con_cls;
	bool head = strcmp(method, "HEAD") == 0;
	if (head || strcmp(method, "GET") == 0) {
		int status = 0, queued = MHD_NO;
		if (srv_web_respond_in(tab, N_TAB, c, url, head, &status, &queued))
			return (enum MHD_Result)queued;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(9, (void *)"not found", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret = MHD_queue_response(c, 404, r);
	MHD_destroy_response(r);
	return ret;
}

struct daemon_ctx {
	struct MHD_Daemon *d;
	uint16_t port;
};

static int setup_daemon(void **state)
{
	static struct daemon_ctx ctx;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ctx.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
	                         handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
	if (!ctx.d)
		return -1;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(ctx.d, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port)
		return -1;
	ctx.port = info->port;
	*state = &ctx;
	return 0;
}

static int teardown_daemon(void **state)
{
	struct daemon_ctx *ctx = *state;
	if (ctx && ctx->d)
		MHD_stop_daemon(ctx->d);
	return 0;
}

/* Sends a raw request and reads the whole response (HTTP/1.0: the server closes). */
static char *exchange(uint16_t port, const char *req, size_t *len)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	size_t n = strlen(req);
	assert_int_equal(write(fd, req, n), (ssize_t)n);
	size_t cap = 1 << 16, got = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	for (;;) {
		ssize_t r = read(fd, buf + got, cap - got - 1);
		if (r <= 0)
			break;
		got += (size_t)r;
		assert_true(got < cap - 1);
	}
	close(fd);
	buf[got] = 0;
	*len = got;
	return buf;
}

static const char *header(const char *resp, const char *name)
{
	static char val[1024];
	const char *end = strstr(resp, "\r\n\r\n");
	size_t nl = strlen(name);
	for (const char *p = strstr(resp, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
			const char *v = p + 3 + nl;
			while (*v == ' ')
				v++;
			size_t k = 0;
			while (v[k] && v[k] != '\r' && k < sizeof val - 1) {
				val[k] = v[k];
				k++;
			}
			val[k] = 0;
			return val;
		}
	}
	return NULL;
}

static const char *body(const char *resp)
{
	const char *b = strstr(resp, "\r\n\r\n");
	return b ? b + 4 : NULL;
}

static void test_http_get(void **state)
{
	struct daemon_ctx *ctx = *state;
	size_t len;
	char *r = exchange(ctx->port, "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", &len);
	assert_true(strncmp(r, "HTTP/1.0 200", 12) == 0 || strncmp(r, "HTTP/1.1 200", 12) == 0);
	assert_string_equal(header(r, "Content-Type"), "text/html; charset=utf-8");
	assert_string_equal(header(r, "Content-Security-Policy"), srv_web_csp());
	assert_string_equal(header(r, "X-Content-Type-Options"), "nosniff");
	assert_string_equal(header(r, "Referrer-Policy"), "no-referrer");
	assert_string_equal(header(r, "X-Frame-Options"), "DENY");
	assert_string_equal(header(r, "Cache-Control"), "no-cache");
	assert_string_equal(header(r, "ETag"), "\"1f-3\"");
	assert_string_equal(header(r, "Content-Length"), "31");
	assert_string_equal(body(r), (const char *)d_index);
	free(r);

	r = exchange(ctx->port, "GET /chat/7 HTTP/1.0\r\n\r\n", &len);
	assert_non_null(strstr(r, " 200 "));
	assert_string_equal(body(r), (const char *)d_index);
	free(r);

	r = exchange(ctx->port, "GET /style.css?v=2 HTTP/1.0\r\n\r\n", &len);
	assert_non_null(strstr(r, " 200 "));
	assert_string_equal(header(r, "Content-Type"), "text/css; charset=utf-8");
	assert_string_equal(body(r), (const char *)d_css);
	free(r);
}

static void test_http_conditional_and_head(void **state)
{
	struct daemon_ctx *ctx = *state;
	size_t len;
	char *r = exchange(ctx->port, "GET /app.js HTTP/1.0\r\nIf-None-Match: \"x\", \"e-1\"\r\n\r\n", &len);
	assert_non_null(strstr(r, " 304 "));
	assert_string_equal(header(r, "ETag"), "\"e-1\"");
	assert_string_equal(header(r, "Cache-Control"), "no-cache");
	assert_string_equal(body(r), "");
	free(r);

	r = exchange(ctx->port, "GET /app.js HTTP/1.0\r\nIf-None-Match: \"e-2\"\r\n\r\n", &len);
	assert_non_null(strstr(r, " 200 "));
	assert_string_equal(body(r), (const char *)d_app);
	free(r);

	r = exchange(ctx->port, "HEAD /app.js HTTP/1.0\r\n\r\n", &len);
	assert_non_null(strstr(r, " 200 "));
	assert_string_equal(header(r, "Content-Type"), "text/javascript; charset=utf-8");
	assert_string_equal(header(r, "Content-Length"), "14");
	assert_string_equal(body(r), "");
	free(r);
}

static void test_http_not_found(void **state)
{
	struct daemon_ctx *ctx = *state;
	static const char *const reqs[] = {
		"GET /api/chats HTTP/1.0\r\n\r\n",
		"GET /v1/models HTTP/1.0\r\n\r\n",
		"GET /nope.js HTTP/1.0\r\n\r\n",
		"GET /%2e%2e/index.html HTTP/1.0\r\n\r\n",
		"GET /icons/%2E%2E/index.html HTTP/1.0\r\n\r\n",
		"GET /..%2f..%2fetc%2fpasswd HTTP/1.0\r\n\r\n",
		"GET /%5cindex.html HTTP/1.0\r\n\r\n",
		"GET /%252e%252e/index.html HTTP/1.0\r\n\r\n",
		"GET //index.html HTTP/1.0\r\n\r\n",
		"POST /index.html HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
		size_t len;
		char *r = exchange(ctx->port, reqs[i], &len);
		if (!strstr(r, " 404 "))
			print_message("request: %s\nresponse: %s\n", reqs[i], r);
		assert_non_null(strstr(r, " 404 "));
		free(r);
	}
	/* MHD decodes %00 in place, so the path ends there: still only a table entry */
	size_t len;
	char *r = exchange(ctx->port, "GET /index.html%00../../x HTTP/1.0\r\n\r\n", &len);
	assert_true(strstr(r, " 404 ") || (strstr(r, " 200 ") && strcmp(body(r), (const char *)d_index) == 0));
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_traversal),
		cmocka_unit_test(test_etag_match),
		cmocka_unit_test(test_generated_table),
		cmocka_unit_test(test_inlined_assets),
		cmocka_unit_test(test_http_get),
		cmocka_unit_test(test_http_conditional_and_head),
		cmocka_unit_test(test_http_not_found),
	};
	/* the group's state (the daemon) is every test's initial state */
	return cmocka_run_group_tests(tests, setup_daemon, teardown_daemon);
}
