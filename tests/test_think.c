/*
 * test_think.c - the streaming reasoning/content splitter: markers split at every
 * byte boundary, byte-at-a-time feeding, generation starting inside reasoning,
 * custom (multi-byte) markers, near-misses, hold-back of only possible marker
 * prefixes, and a randomized comparison against a whole-text reference splitter.
 */
#include "testutil.h"

#include "hearth.h"

/* Collected output: parts merged into "R[...]C[...]" so part order is checked. */
struct sink {
	char buf[8192];
	size_t n;
	int last; /* -1 none */
};

static void sink_reset(struct sink *s)
{
	s->n = 0;
	s->buf[0] = 0;
	s->last = -1;
}

static void emit(void *user, enum hearth_think_part part, const char *text, size_t len)
{
	struct sink *s = user;
	assert_true(len > 0);
	if ((int)part != s->last) {
		if (s->last >= 0)
			s->buf[s->n++] = ']';
		s->buf[s->n++] = part == HEARTH_THINK_REASONING ? 'R' : 'C';
		s->buf[s->n++] = '[';
		s->last = (int)part;
	}
	assert_true(s->n + len + 2 < sizeof s->buf);
	memcpy(s->buf + s->n, text, len);
	s->n += len;
	s->buf[s->n] = 0;
}

static const char *sink_done(struct sink *s)
{
	if (s->last >= 0)
		s->buf[s->n++] = ']';
	s->buf[s->n] = 0;
	s->last = -1;
	return s->buf;
}

static hearth_think *mk(const char *open, const char *close, bool in_reasoning, bool trim)
{
	hearth_think_params p = hearth_think_default_params();
	p.open_tag = open;
	p.close_tag = close;
	p.start_in_reasoning = in_reasoning;
	p.trim_content_start = trim;
	hearth_think *t = NULL;
	assert_int_equal(hearth_think_create(&p, &t), 0);
	return t;
}

/* Feeds `text` whole, then split at every byte, then byte by byte; all must give `want`. */
static void check_all_splits(const char *open, const char *close, bool in_reasoning, bool trim, const char *text,
                             const char *want)
{
	size_t len = strlen(text);
	hearth_think *t = mk(open, close, in_reasoning, trim);
	struct sink s;
	for (size_t cut = 0; cut <= len; cut++) {
		sink_reset(&s);
		hearth_think_reset(t, in_reasoning);
		hearth_think_feed(t, text, cut, emit, &s);
		hearth_think_feed(t, text + cut, len - cut, emit, &s);
		hearth_think_finish(t, emit, &s);
		const char *got = sink_done(&s);
		if (strcmp(got, want)) {
			print_message("split at %zu of [%s]:\n got %s\nwant %s\n", cut, text, got, want);
			fail();
		}
	}
	/* every pair of cuts (three pieces) */
	for (size_t a = 0; a <= len; a++)
		for (size_t b = a; b <= len; b++) {
			sink_reset(&s);
			hearth_think_reset(t, in_reasoning);
			hearth_think_feed(t, text, a, emit, &s);
			hearth_think_feed(t, text + a, b - a, emit, &s);
			hearth_think_feed(t, text + b, len - b, emit, &s);
			hearth_think_finish(t, emit, &s);
			assert_string_equal(sink_done(&s), want);
		}
	sink_reset(&s);
	hearth_think_reset(t, in_reasoning);
	for (size_t i = 0; i < len; i++)
		hearth_think_feed(t, text + i, 1, emit, &s);
	hearth_think_finish(t, emit, &s);
	assert_string_equal(sink_done(&s), want);
	hearth_think_free(t);
}

static void test_basic(void **state)
{
	(void)state;
	check_all_splits(NULL, NULL, false, true, "<think>\nLet me see.\n</think>\n\nIt is 51.",
	                 "R[Let me see.\n]C[It is 51.]");
	check_all_splits(NULL, NULL, false, false, "<think>\nr\n</think>\n\nc", "R[\nr\n]C[\n\nc]");
	check_all_splits(NULL, NULL, false, true, "plain answer, no tags", "C[plain answer, no tags]");
	check_all_splits(NULL, NULL, false, true, "", "");
	check_all_splits(NULL, NULL, false, true, "<think></think>answer", "C[answer]");
	check_all_splits(NULL, NULL, false, true, "<think>only reasoning, cut off", "R[only reasoning, cut off]");
}

static void test_start_in_reasoning(void **state)
{
	(void)state;
	/* DeepSeek-R1 / Qwen3: the prompt ended with "<think>\n" */
	check_all_splits(NULL, NULL, true, true, "Hmm, 17*3.\n</think>\n\n51", "R[Hmm, 17*3.\n]C[51]");
	check_all_splits(NULL, NULL, true, true, "no close tag", "R[no close tag]");
}

static void test_near_misses(void **state)
{
	(void)state;
	check_all_splits(NULL, NULL, false, true, "a<b<think>c", "C[a<b]R[c]");
	check_all_splits(NULL, NULL, false, true, "<<think>x</think>y", "C[<]R[x]C[y]");
	check_all_splits(NULL, NULL, false, true, "x <thin", "C[x <thin]");
	check_all_splits(NULL, NULL, false, true, "<think>r</thinking></think>c", "R[r</thinking>]C[c]");
	check_all_splits(NULL, NULL, false, true, "<think>r<</</think>c", "R[r<</]C[c]");
	check_all_splits(NULL, NULL, false, true, "<think>a</think>b<think>c</think>d", "R[a]C[b]R[c]C[d]");
	check_all_splits(NULL, NULL, false, true, "<thinkthink><think>x", "C[<thinkthink>]R[x]");
}

static void test_custom_markers(void **state)
{
	(void)state;
	const char *o = "<\xef\xbd\x9cthink\xef\xbd\x9c>", *c = "<\xef\xbd\x9c/think\xef\xbd\x9c>";
	char text[256];
	snprintf(text, sizeof text, "%s\xe6\x80\x9d\xe8\x80\x83%s \xe7\xad\x94", o, c);
	check_all_splits(o, c, false, true, text, "R[\xe6\x80\x9d\xe8\x80\x83]C[\xe7\xad\x94]");
	check_all_splits("<|START_THINKING|>", "<|END_THINKING|>", false, true,
	                 "<|START_THINKING|>plan<|END_THINKING|>answer<|END", "R[plan]C[answer<|END]");
	hearth_think *t = NULL;
	hearth_think_params p = hearth_think_default_params();
	p.open_tag = "";
	assert_int_equal(hearth_think_create(&p, &t), HEARTH_EINVAL);
	assert_null(t);
	hearth_think_free(NULL);
}

/* Only bytes that may start a marker are held back. */
static void test_holdback(void **state)
{
	(void)state;
	hearth_think *t = mk(NULL, NULL, false, true);
	struct sink s;
	sink_reset(&s);
	hearth_think_feed(t, "hello <th", 9, emit, &s);
	assert_string_equal(s.buf, "C[hello ");
	hearth_think_feed(t, "ink>", 4, emit, &s);
	assert_true(hearth_think_in_reasoning(t));
	hearth_think_feed(t, "deep", 4, emit, &s);
	assert_string_equal(s.buf, "C[hello ]R[deep");
	hearth_think_feed(t, "</", 2, emit, &s);
	assert_string_equal(s.buf, "C[hello ]R[deep");
	hearth_think_feed(t, "x", 1, emit, &s);
	assert_string_equal(s.buf, "C[hello ]R[deep</x");
	hearth_think_free(t);
}

static void test_prompt_opens(void **state)
{
	(void)state;
	const char *ds = "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c><think>\n";
	assert_true(hearth_think_prompt_opens(ds, strlen(ds), NULL, NULL));
	const char *off = "<|im_start|>assistant\n<think>\n\n</think>\n\n";
	assert_false(hearth_think_prompt_opens(off, strlen(off), NULL, NULL));
	const char *none = "<|im_start|>assistant\n";
	assert_false(hearth_think_prompt_opens(none, strlen(none), NULL, NULL));
	const char *hist = "<think>old</think>answer<|im_start|>assistant\n<think>\n";
	assert_true(hearth_think_prompt_opens(hist, strlen(hist), NULL, NULL));
	assert_false(hearth_think_prompt_opens(NULL, 0, NULL, NULL));
	assert_true(hearth_think_prompt_opens("[T]", 3, "[T]", "[/T]"));
}

/* Reference: the whole text at once, with the same trimming rule. */
static void reference(const char *text, bool in_reasoning, struct sink *s)
{
	const char *open = "<think>", *close = "</think>";
	bool trimming = in_reasoning;
	const char *p = text;
	for (;;) {
		const char *tag = in_reasoning ? close : open;
		const char *f = strstr(p, tag);
		const char *end = f ? f : p + strlen(p);
		const char *q = p;
		if (trimming) {
			while (q < end && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))
				q++;
			if (q < end)
				trimming = false;
		}
		if (end > q)
			emit(s, in_reasoning ? HEARTH_THINK_REASONING : HEARTH_THINK_CONTENT, q, (size_t)(end - q));
		if (!f)
			break;
		p = f + strlen(tag);
		in_reasoning = !in_reasoning;
		trimming = true;
	}
}

static void test_random_against_reference(void **state)
{
	(void)state;
	static const char *const atoms[] = {"<", "/", "t", "h", "i", "n", "k", ">", "a", " ", "\n", "<think>",
	                                    "</think>", "<thi", "</th"};
	uint64_t rng = 0x9E3779B97F4A7C15ull;
	hearth_think *t = mk(NULL, NULL, false, true);
	for (int iter = 0; iter < 3000; iter++) {
		char text[512];
		size_t n = 0;
		int atoms_n = 1 + (int)(rng % 40);
		for (int k = 0; k < atoms_n; k++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			const char *a = atoms[(rng >> 33) % (sizeof atoms / sizeof atoms[0])];
			size_t al = strlen(a);
			if (n + al >= sizeof text)
				break;
			memcpy(text + n, a, al);
			n += al;
		}
		text[n] = 0;
		bool in_r = (rng >> 20) & 1;
		struct sink want, got;
		sink_reset(&want);
		reference(text, in_r, &want);
		sink_done(&want);
		sink_reset(&got);
		hearth_think_reset(t, in_r);
		size_t i = 0;
		while (i < n) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			size_t step = 1 + (rng >> 40) % 9;
			if (step > n - i)
				step = n - i;
			hearth_think_feed(t, text + i, step, emit, &got);
			i += step;
		}
		hearth_think_finish(t, emit, &got);
		sink_done(&got);
		if (strcmp(got.buf, want.buf)) {
			print_message("text [%s] start_in_reasoning=%d\n got %s\nwant %s\n", text, in_r, got.buf, want.buf);
			fail();
		}
	}
	hearth_think_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_start_in_reasoning),
		cmocka_unit_test(test_near_misses),
		cmocka_unit_test(test_custom_markers),
		cmocka_unit_test(test_holdback),
		cmocka_unit_test(test_prompt_opens),
		cmocka_unit_test(test_random_against_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
