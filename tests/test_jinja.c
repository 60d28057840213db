/*
 * test_jinja.c - the chat-template interpreter: every golden case in
 * ../shared/testdata/templates renders byte-identically, the built-in fallback
 * templates match the reference formats, and unit tests cover whitespace control,
 * expressions, filters, methods, undefined values, error positions and the
 * safety limits against hostile templates.
 */
#include "testutil.h"

#include "hearth.h"

#include <glob.h>
#include <jansson.h>
#include <time.h>

static const char *k_msgs = "[{\"role\":\"user\",\"content\":\"hi\"}]";

/* Renders tmpl with k_msgs and kwargs; returns malloc'd output or NULL (error). */
static char *render(const char *tmpl, const char *kwargs)
{
	char *out = NULL;
	size_t len = 0;
	int rc = hearth_chat_render(tmpl, strlen(tmpl), k_msgs, kwargs, true, "<s>", "</s>", &out, &len);
	if (rc)
		return NULL;
	return out;
}

static void check(const char *tmpl, const char *kwargs, const char *expected)
{
	char *out = render(tmpl, kwargs);
	if (!out) {
		print_message("template %s failed: %s\n", tmpl, hearth_errmsg());
		fail();
	}
	if (strcmp(out, expected) != 0) {
		print_message("template: %s\n got: [%s]\nwant: [%s]\n", tmpl, out, expected);
		free(out);
		fail();
	}
	free(out);
}

/* Expects failure with code `code` (0: any) and `msg` inside the error message. */
static void check_err(const char *tmpl, int code, const char *msg)
{
	char *out = NULL;
	int rc = hearth_chat_render(tmpl, strlen(tmpl), k_msgs, NULL, true, "<s>", "</s>", &out, NULL);
	if (rc == 0) {
		print_message("template %s rendered [%s], expected error '%s'\n", tmpl, out, msg);
		free(out);
		fail();
	}
	if (code && rc != code) {
		print_message("template %.200s: rc %d (%s), expected %d\n", tmpl, rc, hearth_errmsg(), code);
		fail();
	}
	if (!strstr(hearth_errmsg(), msg)) {
		print_message("template %.200s: error [%s] does not contain [%s]\n", tmpl, hearth_errmsg(), msg);
		fail();
	}
	assert_null(out);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Runs every case of one .cases.json against template source `src`; counts. */
static void run_cases(const char *name, const char *src, size_t len, const char *cases_path, int *n_ok, int *n_bad,
                      bool skip_errors)
{
	hearth_chat_template *t = NULL;
	int rc = hearth_chat_template_parse(src, len, name, NULL, &t);
	if (rc) {
		print_message("%s: parse failed: %s\n", name, hearth_errmsg());
		(*n_bad)++;
		return;
	}
	json_error_t je;
	json_t *cases = json_load_file(cases_path, 0, &je);
	assert_non_null(cases);
	size_t k;
	json_t *c;
	json_array_foreach(cases, k, c) {
		char *msgs = json_dumps(json_object_get(c, "messages"), JSON_COMPACT);
		json_t *kwj = json_object_get(c, "kwargs");
		char *kw = kwj ? json_dumps(kwj, JSON_COMPACT) : NULL;
		char *out = NULL;
		size_t ol = 0;
		const char *cname = json_string_value(json_object_get(c, "name"));
		json_t *exp = json_object_get(c, "expected");
		if (json_is_null(exp) && skip_errors) {
			free(msgs);
			free(kw);
			continue;
		}
		rc = hearth_chat_template_render(t, msgs, kw, json_is_true(json_object_get(c, "add_generation_prompt")),
		                                 json_string_value(json_object_get(c, "bos_token")),
		                                 json_string_value(json_object_get(c, "eos_token")), &out, &ol);
		if (json_is_null(exp)) {
			const char *ee = json_string_value(json_object_get(c, "expect_error"));
			if (rc != 0 && ee && strstr(hearth_errmsg(), ee)) {
				(*n_ok)++;
			} else {
				(*n_bad)++;
				print_message("%s/%s: expected error '%s', got rc %d\n", name, cname, ee ? ee : "?", rc);
			}
		} else if (rc != 0) {
			(*n_bad)++;
			print_message("%s/%s: render failed: %s\n", name, cname, hearth_errmsg());
		} else if (ol != json_string_length(exp) || memcmp(out, json_string_value(exp), ol) != 0) {
			(*n_bad)++;
			print_message("%s/%s: mismatch\n--- got\n%s\n--- expected\n%s\n", name, cname, out,
			              json_string_value(exp));
		} else {
			(*n_ok)++;
		}
		free(out);
		free(msgs);
		free(kw);
	}
	json_decref(cases);
	hearth_chat_template_free(t);
}

static void test_golden_cases(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	char pat[4096];
	tu_path(pat, sizeof pat, "templates/*.cases.json");
	glob_t g;
	assert_int_equal(glob(pat, 0, NULL, &g), 0);
	int ok = 0, bad = 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char jp[4096];
		snprintf(jp, sizeof jp, "%s", g.gl_pathv[i]);
		char *dot = strstr(jp, ".cases.json");
		assert_non_null(dot);
		strcpy(dot, ".jinja");
		size_t len = 0;
		char *src = slurp(jp, &len);
		assert_non_null(src);
		const char *base = strrchr(jp, '/');
		run_cases(base ? base + 1 : jp, src, len, g.gl_pathv[i], &ok, &bad, false);
		free(src);
	}
	print_message("note: template golden cases: %d of %d match (%zu templates)\n", ok, ok + bad, g.gl_pathc);
	globfree(&g);
	assert_int_equal(bad, 0);
	assert_true(ok >= 70);
}

/* The built-in fallbacks render the same text as the models' own templates. */
static void test_builtin_vs_reference(void **state)
{
	(void)state;
	TU_REQUIRE_TESTDATA();
	static const struct {
		const char *builtin, *cases;
	} pairs[] = {
		{"llama2", "templates/llama-2-chat.cases.json"},
		{"zephyr", "templates/zephyr.cases.json"},
		{"gemma", "templates/google-gemma-2-2b-it.cases.json"},
	};
	int ok = 0, bad = 0;
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		const char *src = hearth_chat_builtin_template(pairs[i].builtin);
		assert_non_null(src);
		char p[4096];
		tu_path(p, sizeof p, pairs[i].cases);
		run_cases(pairs[i].builtin, src, strlen(src), p, &ok, &bad, true);
	}
	print_message("note: built-in templates vs reference cases: %d of %d match\n", ok, ok + bad);
	assert_int_equal(bad, 0);
}

static void test_builtin_templates(void **state)
{
	(void)state;
	const char *msgs = "[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"Hi\"},"
	                   "{\"role\":\"assistant\",\"content\":\"Yo\"},{\"role\":\"user\",\"content\":\"Q\"}]";
	static const struct {
		const char *name, *bos, *eos, *want;
	} cases[] = {
		{"chatml", "", "<|im_end|>",
		 "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n"
		 "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"},
		{"llama3", "<|begin_of_text|>", "<|eot_id|>",
		 "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user"
		 "<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nYo<|eot_id|>"
		 "<|start_header_id|>user<|end_header_id|>\n\nQ<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
		{"gemma", "<bos>", "<eos>",
		 "<bos><start_of_turn>user\nS\n\nHi<end_of_turn>\n<start_of_turn>model\nYo<end_of_turn>\n"
		 "<start_of_turn>user\nQ<end_of_turn>\n<start_of_turn>model\n"},
		{"llama2", "<s>", "</s>", "<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nHi [/INST] Yo </s><s>[INST] Q [/INST]"},
		{"zephyr", "<s>", "</s>",
		 "<|system|>\nS</s>\n<|user|>\nHi</s>\n<|assistant|>\nYo</s>\n<|user|>\nQ</s>\n<|assistant|>\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *src = hearth_chat_builtin_template(cases[i].name);
		assert_non_null(src);
		char *out;
		int rc = hearth_chat_render(src, strlen(src), msgs, NULL, true, cases[i].bos, cases[i].eos, &out, NULL);
		if (rc)
			print_message("%s: %s\n", cases[i].name, hearth_errmsg());
		assert_int_equal(rc, 0);
		if (strcmp(out, cases[i].want))
			print_message("%s:\n got [%s]\nwant [%s]\n", cases[i].name, out, cases[i].want);
		assert_string_equal(out, cases[i].want);
		free(out);
	}
	assert_null(hearth_chat_builtin_template("nope"));
}

static bool has_tok(void *user, const char *tok)
{
	const char *const *list = user;
	for (; *list; list++)
		if (!strcmp(*list, tok))
			return true;
	return false;
}

static void test_detect(void **state)
{
	(void)state;
	const char *q[] = {"a", "<|endoftext|>", "<|im_start|>", "<|im_end|>"};
	assert_string_equal(hearth_chat_detect_builtin(q, 4), "chatml");
	const char *l3[] = {"<|begin_of_text|>", "<|start_header_id|>", "<|eot_id|>", NULL};
	assert_string_equal(hearth_chat_detect_builtin(l3, 4), "llama3");
	const char *g[] = {"<bos>", "<start_of_turn>", "<end_of_turn>"};
	assert_string_equal(hearth_chat_detect_builtin(g, 3), "gemma");
	const char *m[] = {"<s>", "</s>", "[INST]", "[/INST]"};
	assert_string_equal(hearth_chat_detect_builtin(m, 4), "llama2");
	const char *z[] = {"<s>", "</s>", "<|user|>", "<|assistant|>"};
	assert_string_equal(hearth_chat_detect_builtin(z, 4), "zephyr");
	const char *none[] = {"<s>", "</s>", "hello"};
	assert_string_equal(hearth_chat_detect_builtin(none, 3), "chatml");
	assert_string_equal(hearth_chat_detect_builtin(NULL, 0), "chatml");
	const char *pl[] = {"<start_of_turn>", NULL};
	assert_string_equal(hearth_chat_detect_builtin_fn(has_tok, (void *)pl), "gemma");
}

static void test_whitespace(void **state)
{
	(void)state;
	/* trim_blocks removes one newline after a block tag; lstrip_blocks indentation */
	check("{% if true %}\nA\n{% endif %}\nB", NULL, "A\nB");
	check("  {% if true %}\n  A\n  {% endif %}\n", NULL, "  A\n");
	/* variables are not lstripped and do not trim */
	check("  {{ 'x' }}\nY", NULL, "  x\nY");
	/* explicit control */
	check("a  {%- if true -%}  b  {%- endif -%}  c", NULL, "abc");
	check("a  {{- 'x' -}}  c", NULL, "axc");
	check("a\n{#- comment -#}\nb", NULL, "ab");
	check("a\n  {# comment #}\nb", NULL, "a\nb");
	/* '+' disables lstrip and trim */
	check("  {%+ if true +%}\nA{% endif %}", NULL, "  \nA");
	/* one trailing newline dropped, \r\n normalized */
	check("x\n", NULL, "x");
	check("x\n\n", NULL, "x\n");
	check("a\r\nb", NULL, "a\nb");
	/* text after a variable on the same line keeps spaces before a block tag */
	check("{{ 'v' }}   {% if true %}t{% endif %}", NULL, "v   t");
	/* raw */
	check("{% raw %}{{ not evaluated }}{% endraw %}", NULL, "{{ not evaluated }}");
	check("{% raw %}\n  x\n  {% endraw %}\nY", NULL, "\n  x\nY");
	check("x {%- raw %} y {% endraw -%} z", NULL, "x y z");
	/* brace balancing inside tags */
	check("{{ {'a': {'b': 1}}['a']['b'] }}", NULL, "1");
}

static void test_expressions(void **state)
{
	(void)state;
	check("{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % 3 }}|{{ -7 % 3 }}", NULL,
	      "7|9|3|-4|1|2");
	check("{{ 7 / 2 }}|{{ 4 / 2 }}|{{ 2 ** 10 }}|{{ 1.5 + 1 }}|{{ 0.1 + 0.2 }}|{{ 1e20 }}|{{ 1e-5 }}", NULL,
	      "3.5|2.0|1024|2.5|0.30000000000000004|1e+20|1e-05");
	check("{{ 'a' ~ 1 ~ none ~ true }}|{{ 'ab' * 3 }}|{{ [1] + [2] }}", NULL, "a1NoneTrue|ababab|[1, 2]");
	check("{{ 1 < 2 < 3 }}{{ 3 > 2 > 2 }}{{ 'b' > 'a' }}{{ 1 == 1.0 }}{{ [1,2] == [1,2] }}", NULL,
	      "TrueFalseTrueTrueTrue");
	check("{{ 'x' in 'axb' }}{{ 3 in [1,2] }}{{ 'k' in {'k': 1} }}{{ 3 not in [1] }}", NULL, "TrueFalseTrueTrue");
	check("{{ 'y' if false }}|{{ 'y' if 0 else 'n' }}|{{ none or 'd' }}|{{ 0 and 1 }}|{{ not none }}", NULL,
	      "|n|d|0|True");
	check("{{ \"q\\\"\\n\\t\\\\\\u00e9\\x41\" }}", NULL, "q\"\n\t\\\xc3\xa9" "A");
	check("{{ 'a' 'b' }}", NULL, "ab");
	check("{{ [1, 2, 3][1:] }}{{ [1, 2, 3][::-1] }}{{ 'h\xc3\xa9llo'[1:3] }}{{ 'abc'[-1] }}{{ [1,2,3][-2] }}", NULL,
	      "[2, 3][3, 2, 1]\xc3\xa9l" "c2");
	check("{{ {'a': 1, 'b': [true, none]} }}|{{ ['x', \"it's\"] }}", NULL, "{'a': 1, 'b': [True, None]}|['x', \"it's\"]");
	check("{{ messages[0].role }}{{ messages[0]['content'] }}{{ messages.0.role }}", NULL, "userhiuser");
	check("{{ -3 | abs }}{{ -(3) }}{{ 2 ** -1 }}", NULL, "3-30.5");
}

static void test_statements(void **state)
{
	(void)state;
	check("{% for x in [1,2,3] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}"
	      "{{ loop.revindex }};{% endfor %}",
	      NULL, "10TrueFalse33;21FalseFalse32;32FalseTrue31;");
	check("{% for x in [] %}a{% else %}empty{% endfor %}", NULL, "empty");
	check("{% for x in range(10) if x is odd %}{{ x }}{{ loop.last }}{% endfor %}", NULL,
	      "1False3False5False7False9True");
	check("{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}"
	      "{{ x }}{% endfor %}",
	      NULL, "013");
	check("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }},{% endfor %}", NULL, "a=1,b=2,");
	check("{% for k in {'a': 1, 'b': 2} %}{{ k }}{% endfor %}", NULL, "ab");
	check("{% for c in 'h\xc3\xa9' %}[{{ c }}]{% endfor %}", NULL, "[h][\xc3\xa9]");
	check("{% if false %}a{% elif 0 %}b{% elif 1 %}c{% else %}d{% endif %}", NULL, "c");
	/* set inside a loop does not leak; namespace does */
	check("{% set x = 1 %}{% for i in [1,2] %}{% set x = x + 10 %}{% endfor %}{{ x }}", NULL, "1");
	check("{% set ns = namespace(x=1) %}{% for i in [1,2] %}{% set ns.x = ns.x + 10 %}{% endfor %}{{ ns.x }}", NULL,
	      "21");
	check("{% set ns = namespace() %}{% set ns.a = 'v' %}{{ ns.a }}", NULL, "v");
	check("{% set a, b = [1, 2] %}{{ b }}{{ a }}", NULL, "21");
	check("{% set blk %}in {{ 1 + 1 }}{% endset %}[{{ blk }}]", NULL, "[in 2]");
	check("{% set blk | upper %}abc{% endset %}{{ blk }}", NULL, "ABC");
	check("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} "
	      "{{ greet('B', punct='?') }}",
	      NULL, "Hi A! Hi B?");
	check("{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}inner{% endcall %}", NULL, "[inner]");
	check("{% filter upper %}abc{% endfilter %}", NULL, "ABC");
	/* macros are closures over the scope they are defined in */
	check("{% for m in messages %}{% macro f() %}{{ m.role }}{{ loop.index }}{% endmacro %}{{ f() }}{% endfor %}", NULL,
	      "user1");
	/* a macro carried out of its loop sees only the top level (Jinja2 would keep
	 * the whole closure; here the point is that the dead scope is never read) */
	check("{% set ns = namespace(f=none) %}{% for i in [1] %}{% macro g() %}{{ i }}{% endmacro %}{% set ns.f = g %}"
	      "{% endfor %}[{{ ns.f() }}]",
	      NULL, "[]");
	check("{% for x in [1,2] %}{{ loop.cycle('a', 'b') }}{% endfor %}", NULL, "ab");
	check("{% for a in [1,2] %}{% for b in [3] %}{{ loop.index }}{% endfor %}{{ loop.index }}{% endfor %}", NULL,
	      "1112");
	check("{% generation %}gen{% endgeneration %}", NULL, "gen");
}

static void test_filters(void **state)
{
	(void)state;
	check("[{{ '  a b \n' | trim }}]{{ 'xxaxx' | trim('x') }}", NULL, "[a b]a");
	check("{{ 'h\xc3\xa9' | length }}{{ [1,2] | count }}{{ {'a':1} | length }}{{ undefined_thing | length }}", NULL,
	      "2210");
	check("{{ 'aBc' | upper }}{{ 'AbC' | lower }}{{ 'hello world' | title }}{{ 'hELLO' | capitalize }}", NULL,
	      "ABCabcHello WorldHello");
	check("{{ x | default('d') }}{{ '' | default('e', true) }}{{ 'v' | d('z') }}", NULL, "dev");
	check("{{ [3,1,2] | first }}{{ [3,1,2] | last }}{{ [3,1,2] | sort | join(',') }}{{ [3,1,2] | reverse | list }}",
	      NULL, "321,2,3[2, 1, 3]");
	check("{{ 'a-b-c' | replace('-', '+') }}{{ 5 | string }}{{ '42' | int + 1 }}{{ 'x' | int }}{{ '2.5' | float }}",
	      NULL, "a+b+c5430" "2.5");
	check("{{ 2.675 | round(2) }}{{ 2.567 | round(2) }}{{ 2.5 | round }}{{ 3.5 | round }}{{ 7 | round }}{{ 2.1 | round(0, 'ceil') }}", NULL,
	      "2.672.572.04.073.0");
	check("{{ [{'n': 'a', 'k': 1}, {'n': 'b', 'k': 2}] | map(attribute='n') | join }}"
	      "{{ [{'n': 'a', 'k': 1}, {'n': 'b', 'k': 2}] | selectattr('k', 'equalto', 2) | map(attribute='n') | list }}"
	      "{{ [{'n': 'a', 'k': 1}, {'n': 'b'}] | rejectattr('k', 'defined') | map(attribute='n') | first }}"
	      "{{ ['A', 'b'] | map('lower') | join }}{{ [1, 2, 3, 4] | select('even') | list }}",
	      NULL, "ab['b']bab[2, 4]");
	check("{{ {'b': 1, 'a': 2} | dictsort }}{{ {'b': 1, 'a': 2} | items | list }}", NULL,
	      "[('a', 2), ('b', 1)][('b', 1), ('a', 2)]");
	check("{{ [1, 2, 1, 3] | unique | list }}{{ ['b', 'A', 'a'] | sort }}{{ [1, 5, 3] | max }}{{ [1, 5, 3] | min }}"
	      "{{ [1, 2] | sum }}",
	      NULL, "[1, 2, 3]['A', 'a', 'b']513");
	check("{{ 'a\nb' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}|{{ 'one two  three' | wordcount }}", NULL,
	      "a\n  b|  a\n  b|3");
	check("{{ [1,2,3,4,5] | batch(2) | list }}{{ '<&>' | e }}{{ '%s-%d' | format('a', 3) }}{{ 'x' | safe }}", NULL,
	      "[[1, 2], [3, 4], [5]]&lt;&amp;&gt;a-3x");
	/* tojson: Python json.dumps, ensure_ascii off, key order kept */
	check("{{ {'b': 1, 'a': [1.5, true, none, 'q\"\\\\\n\xc3\xa9']} | tojson }}", NULL,
	      "{\"b\": 1, \"a\": [1.5, true, null, \"q\\\"\\\\\\n\xc3\xa9\"]}");
	check("{{ {'a': [1, {}], 'b': []} | tojson(indent=2) }}", NULL,
	      "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}");
	check("{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}{{ '\x01' | tojson }}", NULL,
	      "{\"a\": 2, \"b\": 1}\"\\u0001\"");
}

static void test_methods(void **state)
{
	(void)state;
	check("{{ ' \\n a b \\t'.strip() }}|{{ 'xxaxx'.lstrip('x') }}|{{ 'xxaxx'.rstrip('x') }}|{{ '\\n\\nq'.lstrip('\\n') }}",
	      NULL, "a b|axx|xxa|q");
	check("{{ 'a,b,,c'.split(',') }}{{ '  a  b '.split() }}{{ 'a,b,c'.split(',', 1) }}{{ 'a,b,c'.rsplit(',', 1) }}",
	      NULL, "['a', 'b', '', 'c']['a', 'b']['a', 'b,c']['a,b', 'c']");
	check("{{ 'x</think>y</think>z'.split('</think>')[-1] }}{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x', 'c')) }}",
	      NULL, "zTrueTrue");
	check("{{ 'aaa'.replace('a', 'b', 2) }}{{ 'h\xc3\xa9llo'.find('l') }}{{ 'abc'.find('z') }}{{ 'banana'.count('an') }}",
	      NULL, "bba2-12");
	check("{{ 'hello world'.title() }}{{ 'ab'.upper() }}{{ '-'.join(['a', 'b']) }}{{ '{} and {name}'.format(1, name='n') }}",
	      NULL, "Hello WorldAB" "a-b1 and n");
	check("{{ {'a': 1}.get('a') }}{{ {'a': 1}.get('b', 'z') }}{{ {'a': 1}.get('b') }}{{ {'a': 1}.keys() | list }}"
	      "{{ {'a': 1}.values() | list }}",
	      NULL, "1zNone['a'][1]");
	check("{{ '12'.isdigit() }}{{ 'ab'.isalpha() }}{{ [1, 2, 2].count(2) }}{{ [1, 2].index(2) }}", NULL,
	      "TrueTrue21");
}

static void test_undefined_and_tests(void **state)
{
	(void)state;
	check("[{{ nothing }}][{{ nothing.attr }}][{{ nothing['k'] }}][{{ messages[5].role }}]", NULL, "[][][][]");
	check("{% for x in nothing %}a{% endfor %}{{ nothing is defined }}{{ nothing is undefined }}", NULL,
	      "FalseTrue");
	check("{{ none is none }}{{ 'a' is string }}{{ 1 is number }}{{ 1.0 is float }}{{ 1 is integer }}"
	      "{{ {} is mapping }}{{ [] is iterable }}{{ [] is sequence }}{{ true is boolean }}",
	      NULL, "TrueTrueTrueTrueTrueTrueTrueTrueTrue");
	check("{{ false is false }}{{ 0 is false }}{{ true is true }}{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}"
	      "{{ 2 is eq 2 }}{{ 'a' is in 'cat' }}{{ x is not defined }}{{ 'ab' is lower }}",
	      NULL, "TrueFalseTrueTrueTrueTrueTrueTrueTrueTrue");
	check("{{ enable_thinking }}{% if enable_thinking is defined and enable_thinking is false %}off{% endif %}",
	      "{\"enable_thinking\": false}", "Falseoff");
	check("{{ tools is defined }}", NULL, "False");
	check("{{ tools | length }}", "{\"tools\": [{\"name\": \"f\"}]}", "1");
	check("{{ add_generation_prompt }}{{ bos_token }}{{ eos_token }}", NULL, "True<s></s>");
}

static void test_errors(void **state)
{
	(void)state;
	check_err("{{ raise_exception('boom') }}", HEARTH_EINVAL, "template:1:4: boom");
	check_err("line1\n{{ x | foo }}", HEARTH_EFORMAT, "template:2:8: unknown filter 'foo'");
	check_err("{% if x is frobbed %}{% endif %}", HEARTH_EFORMAT, "template:1:12: unknown test 'frobbed'");
	check_err("{% if true %}\nno end", HEARTH_EFORMAT, "template:2:7: unexpected end of template");
	check_err("{% for %}", HEARTH_EFORMAT, "template:1:8: unexpected '%}', expected a name");
	check_err("{% frob %}", HEARTH_EFORMAT, "template:1:4: unknown tag 'frob'");
	check_err("{% endif %}", HEARTH_EFORMAT, "unknown tag 'endif'");
	check_err("{{ 1 +", HEARTH_EFORMAT, "template:1:1: unexpected end of template: missing '}}'");
	check_err("{{ 'abc }}", HEARTH_EFORMAT, "template:1:4: unterminated string literal");
	check_err("{# open", HEARTH_EFORMAT, "template:1:1: unterminated comment");
	check_err("{% include 'x.jinja' %}", HEARTH_EFORMAT, "'include' is not supported");
	check_err("{% break %}", HEARTH_EFORMAT, "'break' outside of a loop");
	check_err("\n\n   {{ 'a' + 1 }}", HEARTH_ETYPE, "template:3:11: unsupported operand type(s) for +: 'str' and 'int'");
	check_err("{{ nothing() }}", HEARTH_ENOTFOUND, "'nothing' is undefined");
	check_err("{{ 1 / 0 }}", HEARTH_EINVAL, "division by zero");
	check_err("{% for x in none %}{% endfor %}", HEARTH_ETYPE, "'NoneType' object is not iterable");
	check_err("{% set x = 1 %}{% set x.a = 2 %}", HEARTH_ETYPE, "can only assign attributes on namespace objects");
	check_err("{{ 9223372036854775807 + 1 }}", HEARTH_ELIMIT, "integer overflow");
	check_err("{{ 1 is odd(1, 2) | frob }}", HEARTH_EFORMAT, "unknown filter 'frob'");

	/* bad JSON inputs */
	char *out = NULL;
	assert_int_equal(hearth_chat_render("x", 1, "{not json", NULL, false, NULL, NULL, &out, NULL), HEARTH_EINVAL);
	assert_non_null(strstr(hearth_errmsg(), "messages"));
	assert_int_equal(hearth_chat_render("x", 1, "{}", NULL, false, NULL, NULL, &out, NULL), HEARTH_EINVAL);
	assert_int_equal(hearth_chat_render("x", 1, "[]", "[1]", false, NULL, NULL, &out, NULL), HEARTH_EINVAL);
	assert_null(out);
	/* a named template prefixes its messages */
	hearth_chat_template *t;
	assert_int_equal(hearth_chat_template_parse("{{ x | }}", 9, "model.gguf", NULL, &t), HEARTH_EFORMAT);
	assert_non_null(strstr(hearth_errmsg(), "model.gguf:1:8: unexpected"));
	assert_null(t);
	/* unknown filters fail when they run (Jinja2 3.x), so unused branches may name them */
	assert_int_equal(hearth_chat_template_parse("{% if x %}{{ x | nope }}{% endif %}ok", 37, "model.gguf", NULL, &t), 0);
	assert_int_equal(hearth_chat_template_render(t, "[]", NULL, false, NULL, NULL, &out, NULL), 0);
	assert_string_equal(out, "ok");
	free(out);
	out = NULL;
	assert_int_equal(hearth_chat_template_render(t, "[]", "{\"x\": 1}", false, NULL, NULL, &out, NULL), HEARTH_EFORMAT);
	assert_non_null(strstr(hearth_errmsg(), "model.gguf:1:18: unknown filter 'nope'"));
	assert_null(out);
	hearth_chat_template_free(t);
}

static double elapsed(struct timespec a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
}

/* Hostile templates fail cleanly and fast. */
static void test_limits(void **state)
{
	(void)state;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* deep nesting in the parser: parentheses, not, unary minus, statements, long chains */
	char *deep = malloc(1200000);
	assert_non_null(deep);
	size_t n = 0;
	n += (size_t)sprintf(deep + n, "{{ ");
	for (int i = 0; i < 50000; i++)
		deep[n++] = '(';
	deep[n++] = '1';
	for (int i = 0; i < 50000; i++)
		deep[n++] = ')';
	n += (size_t)sprintf(deep + n, " }}");
	deep[n] = 0;
	check_err(deep, HEARTH_ELIMIT, "nested too deeply");
	n = (size_t)sprintf(deep, "{{ ");
	for (int i = 0; i < 30000; i++)
		n += (size_t)sprintf(deep + n, "not ");
	sprintf(deep + n, "1 }}");
	check_err(deep, HEARTH_ELIMIT, "nested too deeply");
	n = (size_t)sprintf(deep, "{{ 1");
	for (int i = 0; i < 30000; i++)
		n += (size_t)sprintf(deep + n, " + 1");
	sprintf(deep + n, " }}");
	check_err(deep, HEARTH_ELIMIT, "nested too deeply");
	n = 0;
	for (int i = 0; i < 10000; i++)
		n += (size_t)sprintf(deep + n, "{%% if 1 %%}");
	deep[n] = 0;
	check_err(deep, HEARTH_ELIMIT, "nested too deeply");
	/* many distinct variables cannot make scope lookups quadratic */
	n = 0;
	for (int i = 0; i < 40000; i++)
		n += (size_t)sprintf(deep + n, "{%% set v%d = v%d %%}", i, i / 2);
	check_err(deep, HEARTH_ELIMIT, "work limit");
	n = (size_t)sprintf(deep, "{{ {");
	for (int i = 0; i < 40000; i++)
		n += (size_t)sprintf(deep + n, "%d: 1, ", i);
	sprintf(deep + n, "} | length }}");
	check_err(deep, HEARTH_ELIMIT, "work limit");
	/* a long elif chain is fine (no recursion), and fast */
	n = (size_t)sprintf(deep, "{%% if false %%}");
	for (int i = 0; i < 15000; i++)
		n += (size_t)sprintf(deep + n, "{%% elif %d == 14999 %%}%d", i, i);
	sprintf(deep + n, "{%% else %%}no{%% endif %%}");
	check(deep, NULL, "14999");
	n = (size_t)sprintf(deep, "{{ x");
	for (int i = 0; i < 30000; i++)
		n += (size_t)sprintf(deep + n, "|trim");
	sprintf(deep + n, " }}");
	check_err(deep, HEARTH_ELIMIT, "nested too deeply");
	free(deep);

	/* huge ranges, nested loops, string and list bombs, recursion */
	check_err("{% for i in range(1000000000) %}{% endfor %}", HEARTH_ELIMIT, "range too big");
	check_err("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", HEARTH_ELIMIT,
	          "work limit");
	check_err("{{ 'x' * 100000000000 }}", HEARTH_ELIMIT, "too large");
	check_err("{% set s = namespace(v='xxxxxxxxxxxxxxxx') %}{% for i in range(60) %}{% set s.v = s.v + s.v %}"
	          "{% endfor %}{{ s.v | length }}",
	          HEARTH_ELIMIT, "limit");
	check_err("{{ [1] * 4000000000 }}", HEARTH_ELIMIT, "too large");
	check_err("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", HEARTH_ELIMIT, "macro calls nested too deeply");
	check_err("{% macro f() %}{{ f() ~ f() }}{% endmacro %}{{ f() }}", HEARTH_ELIMIT, "nested too deeply");
	check_err("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", HEARTH_ELIMIT, "output limit");
	check_err("{{ 2 ** 100 }}", HEARTH_ELIMIT, "integer overflow");
	/* deeply nested values built at run time cannot blow the stack */
	check_err("{% set ns = namespace(v=[]) %}{% for i in range(5000) %}{% set ns.v = [ns.v] %}{% endfor %}"
	          "{{ ns.v | tojson }}",
	          HEARTH_ELIMIT, "nested too deeply");
	check_err("{% set ns = namespace(v=[]) %}{% for i in range(5000) %}{% set ns.v = [ns.v] %}{% endfor %}"
	          "{{ ns.v == ns.v }}",
	          HEARTH_ELIMIT, "nested too deeply");
	/* deep JSON input */
	char *j = malloc(20000);
	assert_non_null(j);
	n = (size_t)sprintf(j, "[{\"role\":\"user\",\"content\":");
	for (int i = 0; i < 1000; i++)
		j[n++] = '[';
	for (int i = 0; i < 1000; i++)
		j[n++] = ']';
	sprintf(j + n, "}]");
	char *out = NULL;
	assert_int_equal(hearth_chat_render("x", 1, j, NULL, false, NULL, NULL, &out, NULL), HEARTH_ELIMIT);
	free(j);
	/* custom small limits */
	hearth_chat_limits lim = hearth_chat_default_limits();
	lim.max_output = 10;
	hearth_chat_template *t;
	assert_int_equal(hearth_chat_template_parse("{{ 'x' * 11 }}", 14, NULL, &lim, &t), 0);
	assert_int_equal(hearth_chat_template_render(t, "[]", NULL, false, NULL, NULL, &out, NULL), HEARTH_ELIMIT);
	hearth_chat_template_free(t);
	double secs = elapsed(t0);
	print_message("note: hostile-template suite took %.2f s\n", secs);
	/* fast natively; valgrind (make valgrind sets VALGRIND) is ~100x slower */
	if (!getenv("VALGRIND"))
		assert_true(secs < 60.0);
}

/* One parsed template renders many conversations (the server's pattern). */
static void test_parse_once(void **state)
{
	(void)state;
	const char *src = hearth_chat_builtin_template("chatml");
	hearth_chat_template *t;
	assert_int_equal(hearth_chat_template_parse(src, strlen(src), "chatml", NULL, &t), 0);
	for (int i = 0; i < 100; i++) {
		char msgs[128], want[128];
		snprintf(msgs, sizeof msgs, "[{\"role\":\"user\",\"content\":\"n%d\"}]", i);
		snprintf(want, sizeof want, "<|im_start|>user\nn%d<|im_end|>\n", i);
		char *out;
		size_t len = 0;
		assert_int_equal(hearth_chat_template_render(t, msgs, NULL, false, NULL, NULL, &out, &len), 0);
		assert_string_equal(out, want);
		assert_int_equal(len, strlen(want));
		free(out);
	}
	hearth_chat_template_free(t);
	hearth_chat_template_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_cases),
		cmocka_unit_test(test_builtin_vs_reference),
		cmocka_unit_test(test_builtin_templates),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_expressions),
		cmocka_unit_test(test_statements),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_undefined_and_tests),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_parse_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
