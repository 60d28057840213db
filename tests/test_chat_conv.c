/*
 * test_chat_conv.c - `hearth chat`'s settings table and conversation files
 * (src/cli/chat_conv.c, compiled into this test): every parameter's parsing and
 * range, flag spellings, the message list operations, a save/load round trip
 * with awkward text, and hostile or malformed files that must be refused with a
 * reason while leaving the conversation and settings untouched; the settings as
 * a stored chat's params (chat --save) and back.
 */
#include "testutil.h"

#include "cli/chat_conv.c"

static char g_dir[64];

static int setup(void **state)
{
	snprintf(g_dir, sizeof g_dir, "/tmp/hearth-chatconv-XXXXXX");
	assert_non_null(mkdtemp(g_dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static const char *path_of(const char *name)
{
	static char p[256];
	snprintf(p, sizeof p, "%s/%s", g_dir, name);
	return p;
}

static void write_file(const char *name, const char *text, size_t len)
{
	FILE *f = fopen(path_of(name), "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void test_settings(void **state)
{
	struct chat_settings s;
	char err[256];
	chat_settings_default(&s);
	hearth_sampler_params d = hearth_sampler_default_params();
	assert_true(s.sp.temperature == d.temperature && s.sp.top_k == d.top_k);
	assert_int_equal(s.max_tokens, 0);
	assert_true(s.think);

	assert_int_equal(chat_settings_set(&s, "temperature", "0", err, sizeof err), 0);
	assert_true(s.sp.temperature == 0.0f);
	assert_int_equal(chat_settings_set(&s, "temp", "1.5", err, sizeof err), 0); /* the flag's name */
	assert_true(s.sp.temperature == 1.5f);
	assert_int_equal(chat_settings_set(&s, "top-k", "7", err, sizeof err), 0); /* '-' for '_' */
	assert_int_equal(s.sp.top_k, 7);
	assert_int_equal(chat_settings_set(&s, "TOP_P", "0.5", err, sizeof err), 0);
	assert_true(s.sp.top_p == 0.5f);
	assert_int_equal(chat_settings_set(&s, "min_p", "0.1", err, sizeof err), 0);
	assert_int_equal(chat_settings_set(&s, "repeat_penalty", "1.1", err, sizeof err), 0);
	assert_int_equal(chat_settings_set(&s, "seed", "42", err, sizeof err), 0);
	assert_int_equal(s.sp.seed, 42);
	assert_int_equal(chat_settings_set(&s, "seed", "-1", err, sizeof err), 0);
	assert_true(s.sp.seed == HEARTH_SEED_RANDOM);
	assert_int_equal(chat_settings_set(&s, "n", "128", err, sizeof err), 0);
	assert_int_equal(s.max_tokens, 128);
	assert_int_equal(chat_settings_set(&s, "max-tokens", "-1", err, sizeof err), 0);
	assert_int_equal(s.max_tokens, 0);
	assert_int_equal(chat_settings_set(&s, "think", "off", err, sizeof err), 0);
	assert_false(s.think);
	assert_int_equal(chat_settings_set(&s, "think", "ON", err, sizeof err), 0);
	assert_true(s.think);
	assert_int_equal(chat_settings_set(&s, "hide_think", "yes", err, sizeof err), 0);
	assert_true(s.hide_think);

	/* refused, with a reason, leaving everything as it was */
	struct chat_settings before = s;
	struct {
		const char *name, *value, *msg;
	} bad[] = {
		{"top_p", "1.5", "top_p"},          {"top_p", "0", "top_p"},
		{"min_p", "-0.1", "min_p"},         {"repeat_penalty", "0", "repeat_penalty"},
		{"temperature", "nan", "number"},   {"temperature", "inf", "number"},
		{"temperature", "1e9", "number"},   {"temperature", "0.5x", "number"},
		{"top_k", "-1", "whole number"},    {"top_k", "4294967296", "whole number"},
		{"seed", "-2", "seed"},             {"seed", "99999999999999999999", "seed"},
		{"max_tokens", "x", "max_tokens"},  {"max_tokens", "3000000000", "max_tokens"},
		{"think", "maybe", "on or off"},    {"nothing", "1", "unknown parameter"},
		{"temperature", "", "needs a value"}, {"temperature", NULL, "needs a value"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = 0;
		if (chat_settings_set(&s, bad[i].name, bad[i].value, err, sizeof err) != -1)
			fail_msg("%s=%s accepted", bad[i].name, bad[i].value ? bad[i].value : "NULL");
		if (!strstr(err, bad[i].msg))
			fail_msg("%s=%s: message '%s' lacks '%s'", bad[i].name, bad[i].value, err, bad[i].msg);
		assert_memory_equal(&s, &before, sizeof s);
	}

	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	chat_settings_print(&s, f, "> ");
	fclose(f);
	assert_non_null(strstr(buf, "> top_k           7\n"));
	assert_non_null(strstr(buf, "> seed            -1 (random)\n"));
	assert_non_null(strstr(buf, "> max_tokens      0 (no limit)\n"));
	free(buf);
}

static void test_conv_ops(void **state)
{
	struct chat_conv c = {0};
	for (int i = 0; i < 40; i++) {
		char t[16];
		snprintf(t, sizeof t, "m%d", i);
		assert_int_equal(chat_conv_add(&c, i % 2 ? "assistant" : "user", t, strlen(t), i % 2 ? "r" : NULL,
					       i % 2 ? 1 : 0),
				 0);
	}
	assert_int_equal(c.n, 40);
	assert_string_equal(c.msgs[39].reasoning, "r");
	assert_null(c.msgs[38].reasoning);
	chat_conv_pop(&c);
	assert_int_equal(c.n, 39);
	chat_conv_drop_front(&c, 2);
	assert_int_equal(c.n, 37);
	assert_string_equal(c.msgs[0].content, "m2");
	chat_conv_drop_front(&c, 1000);
	assert_int_equal(c.n, 0);
	chat_conv_pop(&c); /* empty: nothing happens */
	assert_int_equal(chat_conv_set_system(&c, "sys"), 0);
	assert_string_equal(c.system, "sys");
	assert_int_equal(chat_conv_add(&c, "user", "a\0b", 3, NULL, 0), 0); /* length, not C string */
	chat_conv_clear(&c);
	assert_int_equal(c.n, 0);
	assert_string_equal(c.system, "sys"); /* clear keeps the system prompt */
	assert_int_equal(chat_conv_set_system(&c, ""), 0);
	assert_null(c.system);
	chat_conv_free(&c);
	chat_conv_free(&c); /* twice is fine */
}

static void test_round_trip(void **state)
{
	struct chat_conv c = {0}, d = {0};
	struct chat_settings s, t;
	char err[256];
	chat_settings_default(&s);
	chat_settings_set(&s, "temperature", "0.25", err, sizeof err);
	chat_settings_set(&s, "seed", "9007199254740993", err, sizeof err);
	chat_settings_set(&s, "think", "off", err, sizeof err);
	chat_settings_set(&s, "max_tokens", "77", err, sizeof err);
	const char *texts[] = {"plain", "line 1\nline 2\n", "quotes \" and \\ backslash", "tab\there",
			       "ünïcödé ✓ 😀", "", "{\"json\": [1,2]}", "\x01\x1f control"};
	assert_int_equal(chat_conv_set_system(&c, "You are \"helpful\".\n"), 0);
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		assert_int_equal(chat_conv_add(&c, i % 2 ? "assistant" : "user", texts[i], strlen(texts[i]),
					       i % 2 ? "thought\n" : NULL, 8),
				 0);
	assert_int_equal(chat_conv_save(&c, &s, "model-x", path_of("rt.json"), err, sizeof err), 0);
	chat_settings_default(&t);
	assert_int_equal(chat_conv_add(&d, "user", "old", 3, NULL, 0), 0);
	assert_int_equal(chat_conv_load(&d, &t, path_of("rt.json"), err, sizeof err), 0);
	assert_int_equal(d.n, c.n);
	assert_string_equal(d.system, c.system);
	for (size_t i = 0; i < c.n; i++) {
		assert_string_equal(d.msgs[i].role, c.msgs[i].role);
		assert_string_equal(d.msgs[i].content, c.msgs[i].content);
		if (i % 2)
			assert_string_equal(d.msgs[i].reasoning, "thought\n");
		else
			assert_null(d.msgs[i].reasoning);
	}
	assert_true(t.sp.temperature == 0.25f);
	assert_int_equal(t.sp.seed, 9007199254740993ull); /* integers survive exactly */
	assert_false(t.think);
	assert_int_equal(t.max_tokens, 77);
	/* no temporary file left behind */
	char tmp[300];
	snprintf(tmp, sizeof tmp, "%s.tmp%d", path_of("rt.json"), (int)(getpid() % 100000));
	assert_int_not_equal(access(tmp, F_OK), 0);
	chat_conv_free(&c);
	chat_conv_free(&d);

	/* an OpenAI-style list: the system prompt as the first message */
	const char *oa = "{\"messages\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", "
			 "\"content\": \"u\"}, {\"role\": \"assistant\", \"content\": \"a\", \"reasoning\": null}]}";
	write_file("oa.json", oa, strlen(oa));
	assert_int_equal(chat_conv_load(&d, &t, path_of("oa.json"), err, sizeof err), 0);
	assert_string_equal(d.system, "S");
	assert_int_equal(d.n, 2);
	chat_conv_free(&d);

	/* invalid UTF-8 cannot be saved: refused, nothing written */
	assert_int_equal(chat_conv_add(&c, "user", "\xff\xfe", 2, NULL, 0), 0);
	assert_int_equal(chat_conv_save(&c, &s, NULL, path_of("bad.json"), err, sizeof err), -1);
	assert_non_null(strstr(err, "UTF-8"));
	assert_int_not_equal(access(path_of("bad.json"), F_OK), 0);
	/* an unwritable place */
	chat_conv_clear(&c);
	assert_int_equal(chat_conv_save(&c, &s, NULL, "/nonexistent/dir/x.json", err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot write"));
	chat_conv_free(&c);
}

static void test_hostile_files(void **state)
{
	struct {
		const char *text, *msg;
	} cases[] = {
		{"", "json"},
		{"[]", "not a JSON object"},
		{"{}", "\"messages\" must be an array"},
		{"{\"messages\": {}}", "\"messages\" must be an array"},
		{"{\"format\": \"other\", \"messages\": []}", "\"format\""},
		{"{\"format\": 1, \"messages\": []}", "\"format\""},
		{"{\"messages\": [1]}", "message 1"},
		{"{\"messages\": [{\"role\": \"user\"}]}", "message 1"},
		{"{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", "message 1"},
		{"{\"messages\": [{\"role\": 5, \"content\": \"x\"}]}", "message 1"},
		{"{\"messages\": [{\"role\": \"user\", \"content\": \"x\", \"reasoning\": 3}]}", "message 1"},
		{"{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}", "role \"tool\""},
		{"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"system\", \"content\": "
		 "\"late\"}]}",
		 "role \"system\""},
		{"{\"messages\": [{\"role\": \"user\", \"content\": \"a\\u0000b\"}]}", "NUL"},
		{"{\"messages\": [], \"system\": 3}", "\"system\""},
		{"{\"messages\": [], \"settings\": []}", "\"settings\""},
		{"{\"messages\": [], \"settings\": {\"top_p\": 2}}", "top_p"},
		{"{\"messages\": [], \"settings\": {\"temperature\": \"hot\"}}", "settings.temperature"},
		{"{\"messages\": [], \"messages\": []}", "duplicate"},
		{"{\"messages\": [{\"role\": \"user\", \"content\": \"\xff\"}]}", "decode"},
		{"{\"messages\": [", "json"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct chat_conv c = {0};
		struct chat_settings s, before;
		char err[512] = "";
		chat_settings_default(&s);
		before = s;
		assert_int_equal(chat_conv_add(&c, "user", "keep", 4, NULL, 0), 0);
		write_file("h.json", cases[i].text, strlen(cases[i].text));
		if (chat_conv_load(&c, &s, path_of("h.json"), err, sizeof err) != -1)
			fail_msg("case %zu accepted: %s", i, cases[i].text);
		/* jansson words its own messages; ours name the field */
		if (strcmp(cases[i].msg, "json") != 0 && !strcasestr(err, cases[i].msg))
			fail_msg("case %zu: message '%s' lacks '%s'", i, err, cases[i].msg);
		assert_int_equal(c.n, 1);
		assert_string_equal(c.msgs[0].content, "keep");
		assert_memory_equal(&s, &before, sizeof s);
		chat_conv_free(&c);
	}

	struct chat_conv c = {0};
	struct chat_settings s;
	char err[512];
	chat_settings_default(&s);
	/* not a file, missing, too big, too many messages */
	assert_int_equal(chat_conv_load(&c, &s, g_dir, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(chat_conv_load(&c, &s, path_of("missing.json"), err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot open"));
	FILE *f = fopen(path_of("big.json"), "wb");
	assert_non_null(f);
	assert_int_equal(fseek(f, CHAT_FILE_MAX + 1L, SEEK_SET), 0);
	fputc(' ', f);
	fclose(f);
	assert_int_equal(chat_conv_load(&c, &s, path_of("big.json"), err, sizeof err), -1);
	assert_non_null(strstr(err, "larger than"));
	size_t n = CHAT_MAX_MESSAGES + 1, cap = 32 + n * 3;
	char *many = malloc(cap);
	assert_non_null(many);
	size_t o = (size_t)snprintf(many, cap, "{\"messages\": [");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(many + o, cap - o, "%s1", i ? "," : "");
	o += (size_t)snprintf(many + o, cap - o, "]}");
	write_file("many.json", many, o);
	free(many);
	assert_int_equal(chat_conv_load(&c, &s, path_of("many.json"), err, sizeof err), -1);
	assert_non_null(strstr(err, "more than"));
	/* unknown settings and fields are ignored (files from newer versions) */
	const char *newer = "{\"format\": \"hearth-chat\", \"version\": 9, \"extra\": {}, \"settings\": "
			    "{\"future\": 1, \"hide_think\": true, \"top_k\": 5}, \"messages\": []}";
	write_file("newer.json", newer, strlen(newer));
	assert_int_equal(chat_conv_load(&c, &s, path_of("newer.json"), err, sizeof err), 0);
	assert_int_equal(s.sp.top_k, 5);
	assert_false(s.hide_think); /* a display preference, not part of the conversation */
	chat_conv_free(&c);
}

/* The settings as a stored chat's params, in the server's names, and back. */
static void test_params(void **state)
{
	struct chat_settings s, t;
	char err[256];
	chat_settings_default(&s);
	char *p = chat_settings_params(&s);
	assert_non_null(p);
	/* floats read back as typed; random seed and no max_tokens are left out */
	assert_string_equal(p, "{\"min_p\":0.05,\"repeat_penalty\":1.0,\"temperature\":0.8,\"thinking\":true,"
	                       "\"top_k\":40,\"top_p\":0.95}");
	free(p);
	assert_int_equal(chat_settings_set(&s, "temp", "0.25", err, sizeof err), 0);
	assert_int_equal(chat_settings_set(&s, "seed", "7", err, sizeof err), 0);
	assert_int_equal(chat_settings_set(&s, "n", "99", err, sizeof err), 0);
	assert_int_equal(chat_settings_set(&s, "think", "off", err, sizeof err), 0);
	p = chat_settings_params(&s);
	assert_non_null(p);
	chat_settings_default(&t);
	assert_int_equal(chat_settings_from_params(&t, p, err, sizeof err), 0);
	free(p);
	assert_true(t.sp.temperature == 0.25f && t.sp.seed == 7 && t.max_tokens == 99 && !t.think);
	/* the server's params: unknown fields ignored, bad values refused whole */
	chat_settings_default(&t);
	assert_int_equal(chat_settings_from_params(&t, "{\"presence_penalty\":1,\"top_k\":3,\"seed\":-1}", err,
	                                           sizeof err), 0);
	assert_int_equal(t.sp.top_k, 3);
	assert_true(t.sp.seed == HEARTH_SEED_RANDOM);
	assert_int_equal(chat_settings_from_params(&t, "{\"top_k\":9,\"top_p\":7}", err, sizeof err), -1);
	assert_int_equal(t.sp.top_k, 3);
	assert_int_equal(chat_settings_from_params(&t, "[1]", err, sizeof err), -1);
	assert_int_equal(chat_settings_from_params(&t, "", err, sizeof err), 0);
	/* flags win over stored params: copy the bits given */
	chat_settings_default(&t);
	unsigned mask = chat_settings_bit("temp") | chat_settings_bit("thinking");
	assert_int_equal(chat_settings_bit("nope"), 0);
	chat_settings_copy(&t, &s, mask);
	assert_true(t.sp.temperature == 0.25f && !t.think && t.max_tokens == 0 && t.sp.seed == HEARTH_SEED_RANDOM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_conv_ops),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hostile_files),
		cmocka_unit_test(test_params),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
