/*
 * embed.c - build tool: turns the web UI's files into a C source file holding
 * them as a table (struct srv_web_asset, src/server/web.h).
 *
 *   embed OUT.c ROOT FILE...
 *
 * Each FILE must lie under ROOT ("web/app.js" under "web"); its table path is
 * "/" + the rest ("/app.js").  The table is sorted by strcmp on that path so the
 * server can binary-search it, and each entry carries a Content-Type chosen by
 * extension and a strong ETag: the length and 64-bit FNV-1a hash of the bytes,
 * so the ETag changes whenever the content does.  Paths may contain only
 * [A-Za-z0-9._/-] (no escaping needed, nothing surprising to serve); anything
 * else, an unreadable file or a file over 8 MiB is an error (exit 1, nothing
 * written).  OUT.c is written to a temporary file and renamed into place.
 *
 * Stylesheets and scripts are inlined: a line of an HTML file that is exactly
 * <link rel="stylesheet" href="/X.css"> becomes <style>...</style> holding X.css,
 * and one that is exactly <script src="/X.js"></script> becomes
 * <script>...</script> holding X.js (X among the FILEs); an inlined file is not
 * a table entry of its own.  The page then paints without waiting for another
 * request (in headless Chromium on the 2-core test VM the stylesheet's request
 * was ~25 ms of the first paint, see bench/web-paint.sh), and the page's small
 * boot script runs without one.  The CSP still forbids inline code: the table
 * file also defines srv_web_style_hashes and srv_web_script_hashes, the
 * 'sha256-...' source of every inlined stylesheet (for style-src) and script
 * (for script-src), SHA-256 from libsodium.  A stylesheet containing "</style",
 * or a script containing "</script" or "<!--" (which would end or change the
 * element's text), cannot be inlined and is an error.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#define MAX_FILE (8u << 20)
#define MAX_INLINED 8

struct file {
	char *path; /* "/app.js" */
	const char *ctype;
	unsigned char *data;
	size_t len;
	uint64_t hash;
	int inlined; /* a stylesheet or script now inside an HTML file: no entry of its own */
};

/* What an HTML line naming a file of one kind looks like, what replaces it,
 * what the file may not contain, and the 'sha256-BASE64' sources (space-
 * separated) of the files of this kind inlined so far. */
struct inline_kind {
	const char *pre, *post; /* the line: pre PATH post */
	const char *ext;        /* PATH's extension */
	const char *open, *close;
	const char *bad[2]; /* may not occur in the file (case-insensitive) */
	char hashes[MAX_INLINED * 56 + 1];
	int n;
};

static struct inline_kind styles = {
	"<link rel=\"stylesheet\" href=\"", "\">", ".css", "<style>", "</style>", {"</style", NULL}, "", 0,
};
static struct inline_kind scripts = {
	"<script src=\"", "\"></script>", ".js", "<script>", "</script>", {"</script", "<!--"}, "", 0,
};

/* Content-Type by extension; text types say UTF-8. */
static const struct {
	const char *ext, *ctype;
} types[] = {
	{".html", "text/html; charset=utf-8"},
	{".htm", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".json", "application/json; charset=utf-8"},
	{".map", "application/json; charset=utf-8"},
	{".webmanifest", "application/manifest+json; charset=utf-8"},
	{".txt", "text/plain; charset=utf-8"},
	{".md", "text/markdown; charset=utf-8"},
	{".svg", "image/svg+xml; charset=utf-8"},
	{".png", "image/png"},
	{".jpg", "image/jpeg"},
	{".jpeg", "image/jpeg"},
	{".gif", "image/gif"},
	{".webp", "image/webp"},
	{".ico", "image/x-icon"},
	{".woff2", "font/woff2"},
	{".woff", "font/woff"},
	{".wasm", "application/wasm"},
};

static const char *ctype_for(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');
	if (dot)
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (strcmp(dot, types[i].ext) == 0)
				return types[i].ctype;
	return "application/octet-stream";
}

/* 64-bit FNV-1a. */
static uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int plain_path(const char *p)
{
	if (p[0] != '/' || strstr(p, "..") || strstr(p, "//"))
		return 0;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '_' || *p == '-' || *p == '/'))
			return 0;
	return 1;
}

static int read_file(const char *name, struct file *f)
{
	FILE *fp = fopen(name, "rb");
	if (!fp) {
		fprintf(stderr, "embed: %s: %s\n", name, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0;
	unsigned char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			fclose(fp);
			fprintf(stderr, "embed: out of memory\n");
			return -1;
		}
		size_t got = fread(buf + len, 1, cap - len, fp);
		len += got;
		if (got == 0)
			break;
		if (len > MAX_FILE) {
			fclose(fp);
			free(buf);
			fprintf(stderr, "embed: %s: larger than %u bytes\n", name, MAX_FILE);
			return -1;
		}
		if (len == cap) {
			cap *= 2;
			unsigned char *nb = realloc(buf, cap);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	int bad = ferror(fp);
	fclose(fp);
	if (bad) {
		free(buf);
		fprintf(stderr, "embed: %s: read error\n", name);
		return -1;
	}
	f->data = buf;
	f->len = len;
	f->hash = fnv1a(buf, len);
	return 0;
}

static struct file *find_file(struct file *files, int n, const char *path, size_t plen)
{
	for (int i = 0; i < n; i++)
		if (strlen(files[i].path) == plen && memcmp(files[i].path, path, plen) == 0)
			return &files[i];
	return NULL;
}

static int add_hash(struct inline_kind *k, const unsigned char *text, size_t len)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	crypto_hash_sha256(h, text, len);
	sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_ORIGINAL);
	char src[64];
	snprintf(src, sizeof src, "'sha256-%s'", b64);
	if (strstr(k->hashes, src))
		return 0;
	if (k->n == MAX_INLINED) {
		fprintf(stderr, "embed: more than %d inlined %s files\n", MAX_INLINED, k->ext);
		return -1;
	}
	k->n++;
	if (k->hashes[0])
		strcat(k->hashes, " ");
	strcat(k->hashes, src);
	return 0;
}

/* The file of kind k a whole HTML line (without its newline) names, or NULL. */
static struct file *named_file(const struct inline_kind *k, const unsigned char *line, size_t ll, struct file *files,
                               int n)
{
	size_t pre = strlen(k->pre), post = strlen(k->post), ext = strlen(k->ext);
	if (ll <= pre + post + ext || memcmp(line, k->pre, pre) != 0 || memcmp(line + ll - post, k->post, post) != 0)
		return NULL;
	const char *path = (const char *)line + pre;
	size_t plen = ll - pre - post;
	if (memcmp(path + plen - ext, k->ext, ext) != 0)
		return NULL;
	return find_file(files, n, path, plen);
}

static int inlinable(const struct inline_kind *k, const struct file *f)
{
	for (int b = 0; b < 2 && k->bad[b]; b++) {
		size_t bl = strlen(k->bad[b]);
		for (size_t i = 0; i + bl <= f->len; i++)
			if (strncasecmp((const char *)f->data + i, k->bad[b], bl) == 0) {
				fprintf(stderr, "embed: %s contains \"%s\" and cannot be inlined\n", f->path, k->bad[b]);
				return 0;
			}
	}
	return 1;
}

/* Replaces each line of f (HTML) that is exactly a stylesheet link or a script
 * element naming one of the files with a <style> or <script> element holding
 * that file. */
static int inline_assets(struct file *f, struct file *files, int n)
{
	size_t cap = f->len + 1, len = 0;
	unsigned char *out = malloc(cap);
	if (!out)
		return -1;
	for (size_t at = 0; at < f->len;) {
		const unsigned char *line = f->data + at, *nl = memchr(line, '\n', f->len - at);
		size_t ll = nl ? (size_t)(nl - line) : f->len - at, keep = nl ? ll + 1 : ll;
		struct inline_kind *k = &styles;
		struct file *in = named_file(k, line, ll, files, n);
		if (!in) {
			k = &scripts;
			in = named_file(k, line, ll, files, n);
		}
		if (in && (!inlinable(k, in) || add_hash(k, in->data, in->len) != 0)) {
			free(out);
			return -1;
		}
		size_t ol = strlen(k->open), cl = strlen(k->close);
		size_t need = len + (in ? ol + in->len + cl + 1 : keep) + 1;
		if (need > cap) {
			cap = need * 2;
			unsigned char *nb = realloc(out, cap);
			if (!nb) {
				free(out);
				return -1;
			}
			out = nb;
		}
		if (in) {
			in->inlined = 1;
			memcpy(out + len, k->open, ol);
			memcpy(out + len + ol, in->data, in->len);
			memcpy(out + len + ol + in->len, k->close, cl);
			len += ol + in->len + cl;
			if (nl)
				out[len++] = '\n';
		} else {
			memcpy(out + len, line, keep);
			len += keep;
		}
		at += keep;
	}
	free(f->data);
	f->data = out;
	f->len = len;
	f->hash = fnv1a(out, len);
	return 0;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct file *)a)->path, ((const struct file *)b)->path);
}

static int write_table(FILE *o, const struct file *files, int n)
{
	size_t total = 0;
	int m = 0;
	fprintf(o, "/* Generated by tools/embed.c from web/: do not edit. */\n");
	fprintf(o, "#include \"server/web.h\"\n\n");
	for (int i = 0; i < n; i++) {
		if (files[i].inlined)
			continue;
		fprintf(o, "static const unsigned char asset_%d[%zu] = {", i, files[i].len ? files[i].len : 1);
		for (size_t j = 0; j < files[i].len; j++)
			fprintf(o, "%s%u,", j % 24 ? "" : "\n\t", files[i].data[j]);
		if (!files[i].len)
			fprintf(o, "0");
		fprintf(o, "\n};\n");
		total += files[i].len;
	}
	fprintf(o, "\nconst struct srv_web_asset srv_web_assets[] = {\n");
	for (int i = 0; i < n; i++) {
		if (files[i].inlined)
			continue;
		fprintf(o, "\t{\"%s\", \"%s\", asset_%d, %zu, \"\\\"%zx-%016llx\\\"\"},\n", files[i].path,
		        files[i].ctype, i, files[i].len, files[i].len, (unsigned long long)files[i].hash);
		m++;
	}
	fprintf(o, "\t{0, 0, 0, 0, 0},\n};\n\n");
	fprintf(o, "const size_t srv_web_n_assets = %d;\n", m);
	fprintf(o, "const size_t srv_web_total_bytes = %zu;\n", total);
	fprintf(o, "const char srv_web_style_hashes[] = \"%s\";\n", styles.hashes);
	fprintf(o, "const char srv_web_script_hashes[] = \"%s\";\n", scripts.hashes);
	return ferror(o) ? -1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: embed OUT.c ROOT [FILE...]\n");
		return 2;
	}
	const char *out = argv[1], *root = argv[2];
	size_t rootlen = strlen(root);
	while (rootlen > 1 && root[rootlen - 1] == '/')
		rootlen--;
	int n = argc - 3;
	struct file *files = calloc((size_t)(n ? n : 1), sizeof *files);
	if (!files)
		return 1;
	for (int i = 0; i < n; i++) {
		const char *name = argv[3 + i];
		if (strncmp(name, root, rootlen) != 0 || name[rootlen] != '/') {
			fprintf(stderr, "embed: %s is not under %.*s/\n", name, (int)rootlen, root);
			return 1;
		}
		files[i].path = strdup(name + rootlen);
		if (!files[i].path || !plain_path(files[i].path)) {
			fprintf(stderr, "embed: %s: use only A-Z a-z 0-9 . _ - / in web file names\n", name);
			return 1;
		}
		files[i].ctype = ctype_for(files[i].path);
		if (read_file(name, &files[i]) != 0)
			return 1;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "embed: libsodium failed to initialise\n");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		size_t pl = strlen(files[i].path);
		if (pl > 5 && strcmp(files[i].path + pl - 5, ".html") == 0 && inline_assets(&files[i], files, n) != 0) {
			fprintf(stderr, "embed: %s: cannot inline its stylesheets and scripts\n", files[i].path);
			return 1;
		}
	}
	qsort(files, (size_t)n, sizeof *files, cmp_file);
	for (int i = 1; i < n; i++)
		if (strcmp(files[i - 1].path, files[i].path) == 0) {
			fprintf(stderr, "embed: %s given twice\n", files[i].path);
			return 1;
		}

	size_t olen = strlen(out);
	char *tmp = malloc(olen + 5);
	if (!tmp)
		return 1;
	memcpy(tmp, out, olen);
	memcpy(tmp + olen, ".tmp", 5);
	FILE *o = fopen(tmp, "w");
	if (!o) {
		fprintf(stderr, "embed: %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	int rc = write_table(o, files, n);
	if (fclose(o) != 0)
		rc = -1;
	if (rc != 0 || rename(tmp, out) != 0) {
		fprintf(stderr, "embed: cannot write %s\n", out);
		remove(tmp);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		free(files[i].path);
		free(files[i].data);
	}
	free(files);
	free(tmp);
	return 0;
}
