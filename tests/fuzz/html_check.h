/*
 * html_check.h - an independent checker for the Markdown renderer's output
 * (srv_markdown_html), shared by tests/test_markdown.c and
 * tests/fuzz/fuzz_markdown.c.
 *
 * It reads the HTML the way a browser's tokenizer would, but only has to accept
 * what our writer produces, so anything else is a failure: tags from a fixed
 * list, attributes from a fixed list with double-quoted values holding no raw
 * quote or angle bracket, text holding no raw < > " ' and '&' only as the start
 * of a well-formed character reference, balanced non-void elements, no link in
 * a link, valid UTF-8 throughout, and every href (as the browser decodes it)
 * relative or http:, https:, mailto:.  Returns NULL when the HTML passes, or a
 * static description of the first problem.
 */
#ifndef HEARTH_HTML_CHECK_H
#define HEARTH_HTML_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *const hc_tags[] = {"p",     "h1",     "h2",   "h3",  "h4",    "h5",    "h6",
                                      "blockquote", "ul", "ol",   "li",  "input", "hr",    "br",
                                      "pre",   "code",   "em",   "strong", "del", "a",     "table",
                                      "thead", "tbody",  "tr",   "th",  "td"};
static const char *const hc_void[] = {"br", "hr", "input"};
static const char *const hc_attrs[] = {"href",  "rel",  "target",   "title",   "class",
                                       "start", "align", "type", "disabled", "checked"};

static bool hc_in(const char *const *list, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
			return true;
	return false;
}

static bool hc_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool hc_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of a well-formed character reference at s, or 0. */
static size_t hc_ref(const char *s, size_t n)
{
	size_t i = 1;
	if (n < 3 || s[0] != '&')
		return 0;
	if (s[1] == '#') {
		i = 2;
		bool hex = i < n && (s[i] == 'x' || s[i] == 'X');
		if (hex)
			i++;
		size_t d = i;
		while (i < n && (hc_digit(s[i]) || (hex && s[i] && strchr("abcdefABCDEF", s[i]))))
			i++;
		return i > d && i < n && s[i] == ';' ? i + 1 : 0;
	}
	if (!hc_alpha(s[1]))
		return 0;
	while (i < n && (hc_alpha(s[i]) || hc_digit(s[i])))
		i++;
	return i < n && s[i] == ';' ? i + 1 : 0;
}

static bool hc_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i], len, cp, min;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (n - i < len)
			return false;
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/* An href value as written: only printable ASCII, '&' only as &amp; or &#39;;
 * decoded, its scheme (if any) is http, https or mailto. */
static const char *hc_href(const char *v, size_t n)
{
	char scheme[8];
	size_t m = 0;
	bool ended = false, colon = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c <= 0x20 || c >= 0x7f)
			return "href holds a space, control or non-ASCII byte";
		if (c == '&') {
			if (n - i >= 5 && memcmp(v + i, "&amp;", 5) == 0)
				i += 4;
			else if (n - i >= 5 && memcmp(v + i, "&#39;", 5) == 0)
				i += 4, c = '\'';
			else
				return "href holds a character reference other than &amp; &#39;";
		}
		if (ended)
			continue;
		if (c == ':' || c == '/' || c == '?' || c == '#') {
			ended = true;
			colon = c == ':';
		} else if (m < sizeof scheme - 1) {
			scheme[m++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		} else {
			m = sizeof scheme; /* too long for an allowed scheme */
		}
	}
	if (!colon)
		return NULL;
	if (m >= sizeof scheme)
		return "href has a scheme other than http, https, mailto";
	scheme[m] = 0;
	if (strcmp(scheme, "http") && strcmp(scheme, "https") && strcmp(scheme, "mailto"))
		return "href has a scheme other than http, https, mailto";
	return NULL;
}

static const char *hc_check(const char *html, size_t n)
{
	if (!hc_utf8((const unsigned char *)html, n))
		return "invalid UTF-8";
	if (strlen(html) != n)
		return "NUL byte in the output";
	size_t cap = 64, depth = 0;
	const char **stack = malloc(cap * sizeof *stack);
	size_t *stack_len = malloc(cap * sizeof *stack_len);
	const char *err = NULL;
	int in_a = 0;
	size_t i = 0;
	if (!stack || !stack_len) {
		err = "out of memory";
		goto out;
	}
	while (i < n && !err) {
		char c = html[i];
		if (c == '&') {
			size_t r = hc_ref(html + i, n - i);
			if (!r) {
				err = "'&' that does not start a character reference";
				break;
			}
			i += r;
			continue;
		}
		if (c == '>' || c == '"' || c == '\'') {
			err = "raw > \" or ' in text";
			break;
		}
		if (c != '<') {
			i++;
			continue;
		}
		/* a tag */
		i++;
		bool close = i < n && html[i] == '/';
		if (close)
			i++;
		size_t ns = i;
		while (i < n && ((html[i] >= 'a' && html[i] <= 'z') || hc_digit(html[i])))
			i++;
		const char *name = html + ns;
		size_t nl = i - ns;
		if (!hc_in(hc_tags, sizeof hc_tags / sizeof hc_tags[0], name, nl)) {
			err = "unknown tag";
			break;
		}
		bool is_void = hc_in(hc_void, sizeof hc_void / sizeof hc_void[0], name, nl);
		bool is_a = nl == 1 && name[0] == 'a';
		if (close) {
			if (i >= n || html[i] != '>') {
				err = "malformed closing tag";
				break;
			}
			i++;
			if (is_void || depth == 0 || stack_len[depth - 1] != nl || memcmp(stack[depth - 1], name, nl)) {
				err = "closing tag does not match the open element";
				break;
			}
			depth--;
			if (is_a)
				in_a--;
			continue;
		}
		bool rel_ok = false, target_ok = false;
		for (;;) {
			if (i >= n) {
				err = "unterminated tag";
				break;
			}
			if (html[i] == '>') {
				i++;
				break;
			}
			if (html[i] != ' ') {
				err = "attribute not preceded by a space";
				break;
			}
			i++;
			size_t as = i;
			while (i < n && html[i] >= 'a' && html[i] <= 'z')
				i++;
			const char *an = html + as;
			size_t al = i - as;
			if (!hc_in(hc_attrs, sizeof hc_attrs / sizeof hc_attrs[0], an, al)) {
				err = "unknown attribute";
				break;
			}
			if (i < n && html[i] != '=')
				continue; /* a boolean attribute */
			if (i + 1 >= n || html[i + 1] != '"') {
				err = "attribute value not double-quoted";
				break;
			}
			i += 2;
			size_t vs = i;
			while (i < n && html[i] != '"' && html[i] != '<' && html[i] != '>')
				i++;
			if (i >= n || html[i] != '"') {
				err = "attribute value holds < or > or is unterminated";
				break;
			}
			const char *v = html + vs;
			size_t vl = i - vs;
			i++;
			for (size_t k = 0; k < vl && !err; k++)
				if (v[k] == '\'')
					err = "raw ' in an attribute value";
				else if (v[k] == '&' && !hc_ref(v + k, vl - k))
					err = "'&' in an attribute value that does not start a reference";
			if (err)
				break;
			if (al == 4 && memcmp(an, "href", 4) == 0) {
				if (!is_a) {
					err = "href on an element other than a";
					break;
				}
				err = hc_href(v, vl);
			} else if (al == 3 && memcmp(an, "rel", 3) == 0) {
				rel_ok = vl == 28 && memcmp(v, "noopener noreferrer nofollow", 28) == 0;
			} else if (al == 6 && memcmp(an, "target", 6) == 0) {
				target_ok = vl == 6 && memcmp(v, "_blank", 6) == 0;
			} else if (al == 5 && memcmp(an, "class", 5) == 0) {
				for (size_t k = 0; k < vl && !err; k++)
					if (!hc_alpha(v[k]) && !hc_digit(v[k]) && !strchr("_+-", v[k]))
						err = "class holds characters other than [A-Za-z0-9_+-]";
			}
			if (err)
				break;
		}
		if (err)
			break;
		if (is_a) {
			if (in_a)
				err = "a link inside a link";
			else if (!rel_ok || !target_ok)
				err = "a link without rel=\"noopener noreferrer nofollow\" target=\"_blank\"";
			in_a++;
		}
		if (is_void || err)
			continue;
		if (depth == cap) {
			cap *= 2;
			const char **ns2 = realloc(stack, cap * sizeof *stack);
			if (ns2)
				stack = ns2;
			size_t *nl2 = realloc(stack_len, cap * sizeof *stack_len);
			if (nl2)
				stack_len = nl2;
			if (!ns2 || !nl2) {
				err = "out of memory";
				break;
			}
		}
		stack[depth] = name;
		stack_len[depth++] = nl;
	}
	if (!err && depth)
		err = "unclosed element";
out:
	free(stack);
	free(stack_len);
	return err;
}

#endif
