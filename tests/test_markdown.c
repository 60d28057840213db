/*
 * test_markdown.c - the safe Markdown renderer (src/server/markdown.c): script
 * and event-handler injection, URL scheme tricks (case, spaces, tabs, numeric
 * and named references, autolinks, reference links, images), attribute
 * break-outs through titles, URLs and code languages, exact HTML for ordinary
 * Markdown (headings, code, tables, lists, links, quotes), UTF-8 and NUL
 * handling, pathological nesting, and srv_html_escape.  Every rendering is also
 * run through the independent checker in tests/fuzz/html_check.h.
 */
#include "testutil.h"

#include "fuzz/html_check.h"
#include "server/web.h"
#include "util/util.h"

/* Renders md, checks the HTML with the checker and returns it (static buffer). */
static const char *render(const char *md)
{
	static char out[1 << 16];
	size_t len = 0;
	char *h = srv_markdown_html(md, strlen(md), &len);
	assert_non_null(h);
	assert_int_equal(strlen(h), len);
	const char *err = hc_check(h, len);
	if (err)
		print_message("input: %s\noutput: %s\nproblem: %s\n", md, h, err);
	assert_null(err);
	assert_true(len < sizeof out);
	memcpy(out, h, len + 1);
	free(h);
	return out;
}

static void expect(const char *md, const char *html)
{
	const char *h = render(md);
	if (strcmp(h, html) != 0)
		print_message("input: %s\nexpected: %s\ngot:      %s\n", md, html, h);
	assert_string_equal(h, html);
}

static void contains(const char *md, const char *needle)
{
	const char *h = render(md);
	if (!strstr(h, needle))
		print_message("input: %s\noutput: %s\nmissing: %s\n", md, h, needle);
	assert_non_null(strstr(h, needle));
}

static void lacks(const char *md, const char *needle)
{
	const char *h = render(md);
	if (strstr(h, needle))
		print_message("input: %s\noutput: %s\nshould not hold: %s\n", md, h, needle);
	assert_null(strstr(h, needle));
}

#define LINK " rel=\"noopener noreferrer nofollow\" target=\"_blank\""

static void test_raw_html_is_text(void **state)
{
	(void)state;
	expect("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n");
	expect("<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>\n");
	expect("<svg onload=alert(1)>", "<p>&lt;svg onload=alert(1)&gt;</p>\n");
	expect("a <b onclick=\"x\">b</b>", "<p>a &lt;b onclick=&quot;x&quot;&gt;b&lt;/b&gt;</p>\n");
	lacks("<div>\n<script>alert(1)</script>\n</div>", "<script");
	lacks("<!-- c --><iframe src=//x>", "<iframe");
	lacks("<style>*{}</style>", "<style");
	lacks("<a href=\"javascript:alert(1)\">x</a>", "<a href");
	lacks("<SCRIPT SRC=//x></SCRIPT>", "<SCRIPT");
	/* references in text stay text */
	expect("&lt;script&gt;", "<p>&lt;script&gt;</p>\n");
	expect("&#60;script&#62;", "<p>&lt;script&gt;</p>\n");
	expect("&#x3C;b&#x3e;", "<p>&lt;b&gt;</p>\n");
}

static void test_link_schemes(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"[x](javascript:alert(1))",
		"[x](JaVaScRiPt:alert(1))",
		"[x](< javascript:alert(1)>)",
		"[x](<java\tscript:alert(1)>)",
		"[x](<java\nscript:alert(1)>)",
		"[x](&#106;avascript:alert(1))",
		"[x](&#x6A;avascript:alert(1))",
		"[x](&#0000106;avascript:alert(1))",
		"[x](javascript&colon;alert(1))",
		"[x](javascript&#58;alert(1))",
		"[x](javascript&#x3a;alert(1))",
		"[x](jav&#x09;ascript:alert(1))",
		"[x](jav&Tab;ascript:alert(1))",
		"[x](&#x20;javascript:alert(1))",
		"[x](&#1;javascript:alert(1))",
		"[x](\\javascript:alert(1))",
		"[x](vbscript:msgbox(1))",
		"[x](VBScript:msgbox(1))",
		"[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
		"[x](DATA:text/html,<script>alert(1)</script>)",
		"[x](file:///etc/passwd)",
		"[x](javascript:alert(1) \"title\")",
		"[x][r]\n\n[r]: javascript:alert(1)",
		"[x]\n\n[x]: <javascript:alert(1)>",
		"<javascript:alert(1)>",
		"<vbscript:x>",
		"<data:text/html,x>",
		"![x](javascript:alert(1))",
		"![x](data:image/svg+xml,<svg onload=alert(1)>)",
	};
	for (size_t i = 0; i < HX_ARRAY_LEN(bad); i++) {
		const char *h = render(bad[i]);
		/* the checker already refused any other scheme; be explicit as well */
		if (strstr(h, "<a")) {
			if (!strstr(h, "href=\"#\""))
				print_message("input: %s\noutput: %s\n", bad[i], h);
			assert_non_null(strstr(h, "href=\"#\""));
		}
		for (const char *p = h; (p = strstr(p, "href=\"")); p++) {
			assert_true(strncmp(p + 6, "javascript", 10) != 0);
			assert_true(strncmp(p + 6, "data", 4) != 0);
		}
	}
	/* the allowed schemes, in any case, and relative URLs survive */
	expect("[x](http://example.com/a?b=1&c=2)",
	       "<p><a href=\"http://example.com/a?b=1&amp;c=2\"" LINK ">x</a></p>\n");
	contains("[x](HTTPS://Example.com)", "href=\"HTTPS://Example.com\"");
	contains("[x](mailto:a@b.c)", "href=\"mailto:a@b.c\"");
	contains("[x](/chats/12#m3)", "href=\"/chats/12#m3\"");
	contains("[x](docs/a.md)", "href=\"docs/a.md\"");
	contains("[x](#top)", "href=\"#top\"");
	contains("[x](?q=1)", "href=\"?q=1\"");
	/* a ':' after a '/' is not a scheme */
	contains("[x](a/b:c)", "href=\"a/b:c\"");
	/* a reference in an allowed URL is decoded */
	contains("[x](http://a/?x=1&amp;y=2)", "href=\"http://a/?x=1&amp;y=2\"");
	contains("[x](&#104;ttp://a)", "href=\"http://a\"");
	/* an unknown named reference stays literal text in the URL */
	contains("[x](http://a/&eacute;)", "href=\"http://a/&amp;eacute;\"");
}

static void test_autolinks(void **state)
{
	(void)state;
	expect("<http://a.b/c>", "<p><a href=\"http://a.b/c\"" LINK ">http://a.b/c</a></p>\n");
	expect("see https://x.org/a?b=1&c=2 now",
	       "<p>see <a href=\"https://x.org/a?b=1&amp;c=2\"" LINK ">https://x.org/a?b=1&amp;c=2</a> now</p>\n");
	contains("www.example.com", "<a href=\"http://www.example.com\"" LINK ">www.example.com</a>");
	contains("mail me: foo@bar.com", "<a href=\"mailto:foo@bar.com\"" LINK ">foo@bar.com</a>");
	contains("<a@b.c>", "href=\"mailto:a@b.c\"");
}

static void test_attribute_breakouts(void **state)
{
	(void)state;
	/* titles: quotes escaped */
	contains("[x](http://a \"a&quot; onmouseover=&quot;alert(1)\")",
	         "title=\"a&quot; onmouseover=&quot;alert(1)\"");
	contains("[x](http://a 'it\\'s \"q\"')", "title=\"it&#39;s &quot;q&quot;\"");
	lacks("[x](http://a \"x\\\" onclick=\\\"y\")", "\" onclick");
	/* URLs: quotes and brackets percent-encoded */
	contains("[x](<http://a/\"onmouseover=\"alert(1)>)", "href=\"http://a/%22onmouseover=%22alert(1)\"");
	contains("[x](<http://a/\\<b\\>'c>)", "href=\"http://a/%3Cb%3E&#39;c\"");
	contains("[x](<http://a/b c>)", "href=\"http://a/b%20c\"");
	contains("[x](http://a/\xc3\xa9)", "href=\"http://a/%C3%A9\"");
	/* code languages reduced to [A-Za-z0-9_+-] */
	contains("```js\" onload=\"x\nx\n```", "<pre><code class=\"language-js\">");
	contains("```\"><script>alert(1)</script>\nx\n```", "class=\"language-scriptalert1script\"");
	contains("```c++ extra words\nx\n```", "class=\"language-c++\"");
	expect("```\nplain\n```", "<pre><code>plain\n</code></pre>\n");
}

static void test_images_are_links(void **state)
{
	(void)state;
	expect("![a cat](http://img/cat.png)",
	       "<p><a class=\"md-image\" href=\"http://img/cat.png\"" LINK ">a cat</a></p>\n");
	lacks("![x](http://evil/x.png)", "<img");
	contains("![](x.png)", ">image</a>");
	contains("![*em* and `code`](x.png)", ">em and code</a>");
	/* an image inside a link: the image becomes its alt text, no nested <a> */
	expect("[![badge](http://i/b.svg)](http://site)", "<p><a href=\"http://site\"" LINK ">badge</a></p>\n");
	contains("![t](x.png \"the title\")", "title=\"the title\"");
}

static void test_code(void **state)
{
	(void)state;
	expect("`a<b && \"c\"`", "<p><code>a&lt;b &amp;&amp; &quot;c&quot;</code></p>\n");
	expect("```python\nif a < b:\n    print('<x>')\n```",
	       "<pre><code class=\"language-python\">if a &lt; b:\n    print(&#39;&lt;x&gt;&#39;)\n</code></pre>\n");
	expect("    indented <code>\n", "<pre><code>indented &lt;code&gt;\n</code></pre>\n");
	/* references stay literal inside code */
	expect("`&lt;`", "<p><code>&amp;lt;</code></p>\n");
}

static void test_blocks(void **state)
{
	(void)state;
	expect("# Title", "<h1>Title</h1>\n");
	expect("### Three *em*", "<h3>Three <em>em</em></h3>\n");
	expect("Setext\n======", "<h1>Setext</h1>\n");
	expect("###### six", "<h6>six</h6>\n");
	expect("a\nb", "<p>a\nb</p>\n");
	expect("a  \nb", "<p>a<br>\nb</p>\n");
	expect("**b** _i_ ~~d~~", "<p><strong>b</strong> <em>i</em> <del>d</del></p>\n");
	expect("> quote\n> more", "<blockquote>\n<p>quote\nmore</p>\n</blockquote>\n");
	expect("---", "<hr>\n");
	expect("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n");
	expect("1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n");
	expect("3. three", "<ol start=\"3\">\n<li>three</li>\n</ol>\n");
	expect("- a\n\n- b", "<ul>\n<li><p>a</p>\n</li>\n<li><p>b</p>\n</li>\n</ul>\n");
	expect("- [ ] todo\n- [x] done",
	       "<ul>\n<li class=\"task-list-item\"><input type=\"checkbox\" class=\"task-list-item-checkbox\" "
	       "disabled>todo</li>\n<li class=\"task-list-item\"><input type=\"checkbox\" "
	       "class=\"task-list-item-checkbox\" disabled checked>done</li>\n</ul>\n");
	expect("- a\n  - b", "<ul>\n<li>a<ul>\n<li>b</li>\n</ul>\n</li>\n</ul>\n");
	expect("| a | b | c | d |\n|:--|:-:|--:|---|\n| 1 | 2 | 3 | 4 |",
	       "<table>\n<thead>\n<tr><th align=\"left\">a</th><th align=\"center\">b</th><th align=\"right\">c</th>"
	       "<th>d</th></tr>\n</thead>\n<tbody>\n<tr><td align=\"left\">1</td><td align=\"center\">2</td>"
	       "<td align=\"right\">3</td><td>4</td></tr>\n</tbody>\n</table>\n");
	contains("| x |\n|---|\n| <script> |", "<td>&lt;script&gt;</td>");
	expect("[site](https://example.com \"Example\")",
	       "<p><a href=\"https://example.com\"" LINK " title=\"Example\">site</a></p>\n");
	expect("", "");
}

static void test_utf8(void **state)
{
	(void)state;
	expect("h\xc3\xa9llo \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac", "<p>h\xc3\xa9llo \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac</p>\n");
	expect("&eacute; &copy;", "<p>&eacute; &copy;</p>\n");
	expect("&#x1F600; &#0; &#xD800; &#x110000;", "<p>\xf0\x9f\x98\x80 \xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd</p>\n");
	/* invalid UTF-8: stray bytes, overlong, surrogate, truncated */
	expect("a\xff" "b\xc0\xafz\xed\xa0\x80y\xe6\x97", "<p>a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbd</p>\n");
	/* NUL */
	size_t len;
	char *h = srv_markdown_html("a\0b", 3, &len);
	assert_non_null(h);
	assert_string_equal(h, "<p>a\xef\xbf\xbd" "b</p>\n");
	assert_null(hc_check(h, len));
	free(h);
}

static void test_pathological(void **state)
{
	(void)state;
	static const char units[][4] = {">", "[", "*", "- ", "> -", "![", "`", "_", "<", "1. ", "|"};
	size_t n = 200000;
	char *md = malloc(n + 1);
	assert_non_null(md);
	for (size_t u = 0; u < HX_ARRAY_LEN(units); u++) {
		size_t ul = strlen(units[u]);
		for (size_t i = 0; i < n; i++)
			md[i] = units[u][i % ul];
		md[n] = 0;
		size_t len = 0;
		char *h = srv_markdown_html(md, n, &len);
		if (h) {
			assert_true(len <= 32 * n + 65536);
			const char *err = hc_check(h, len);
			if (err)
				print_message("unit '%s': %s\n", units[u], err);
			assert_null(err);
			free(h);
		}
	}
	/* a nesting that expands a lot is cut off (NULL), not rendered without bound */
	memset(md, '>', n);
	size_t len = 0;
	char *h = srv_markdown_html(md, n, &len);
	if (h) {
		assert_true(len <= 32 * n + 65536);
		free(h);
	}
	free(md);
	/* over the input limit */
	assert_null(srv_markdown_html("x", (16u << 20) + 1, NULL));
	/* NULL input */
	h = srv_markdown_html(NULL, 0, &len);
	assert_non_null(h);
	assert_int_equal(len, 0);
	free(h);
}

/* Documents assembled from Markdown fragments by a fixed-seed generator: each
 * must render and pass the checker (a small, deterministic fuzz run). */
static void test_random_documents(void **state)
{
	(void)state;
	static const char *const frags[] = {
		"[", "]", "(", ")", "![", "](", "<", ">", "*", "**", "_", "~~", "`", "```", "\n", "\n\n", "> ",
		"- ", "1. ", "- [ ] ", "| a | b |\n|---|:-:|\n", "|", "# ", "---\n", "    ", "\\", "\"", "'",
		"&", "&#106;", "&colon;", "&amp;", "&#x0;", "javascript:", "JaVaScRiPt:", "http://", "www.x.y",
		"a@b.c", "mailto:", "data:", " onerror=", "<script>", "\t", "\xc3\xa9", "\xff", "\xe2\x80",
		"text", " ", "x", "[r]: ", "[r]", "<http://a>", "\"t\"",
	};
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	char doc[2048];
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = 0;
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		int parts = 1 + (int)((seed >> 33) % 60);
		for (int k = 0; k < parts; k++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			const char *f = frags[(seed >> 33) % (sizeof frags / sizeof frags[0])];
			size_t fl = strlen(f);
			if (n + fl >= sizeof doc)
				break;
			memcpy(doc + n, f, fl);
			n += fl;
		}
		size_t len = 0;
		char *h = srv_markdown_html(doc, n, &len);
		assert_non_null(h);
		const char *err = hc_check(h, len);
		if (err)
			print_message("input: %.*s\noutput: %s\nproblem: %s\n", (int)n, doc, h, err);
		assert_null(err);
		free(h);
	}
}

static void test_escape(void **state)
{
	(void)state;
	size_t len = 0;
	char *e = srv_html_escape("<a href='x'>&\"", 14, &len);
	assert_non_null(e);
	assert_string_equal(e, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;");
	assert_int_equal(len, strlen(e));
	free(e);
	e = srv_html_escape("a\0b\xff\xc3\xa9", 6, NULL);
	assert_non_null(e);
	assert_string_equal(e, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xc3\xa9");
	free(e);
	e = srv_html_escape("", 0, &len);
	assert_non_null(e);
	assert_int_equal(len, 0);
	free(e);
}

static void test_checker_catches(void **state)
{
	(void)state;
	/* the checker itself must refuse what the renderer must never produce */
	static const char *const bad[] = {
		"<script>",
		"<a href=\"javascript:x\" rel=\"noopener noreferrer nofollow\" target=\"_blank\"></a>",
		"<p onclick=\"x\"></p>",
		"<p>a>b</p>",
		"<p>",
		"<img src=\"x\">",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_non_null(hc_check(bad[i], strlen(bad[i])));
	assert_null(hc_check("<p>a &amp; b</p>", strlen("<p>a &amp; b</p>")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_html_is_text),
		cmocka_unit_test(test_link_schemes),
		cmocka_unit_test(test_autolinks),
		cmocka_unit_test(test_attribute_breakouts),
		cmocka_unit_test(test_images_are_links),
		cmocka_unit_test(test_code),
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_pathological),
		cmocka_unit_test(test_random_documents),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_checker_catches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
