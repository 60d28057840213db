/*
 * test_resolve.c - model resolution: quant names in file names, the models
 * directory (exact names, quant families, sub-directories, tags), the Hugging
 * Face cache layout (refs/main, snapshots, blob symlinks), names that try to
 * leave their directory, path arguments, listing, and the default directories
 * from the environment.  Everything runs in a fresh temporary directory.
 */
#include "hearth.h"
#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_tmp[256];

static void mkdirs(const char *rel)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/%s", g_tmp, rel);
	for (char *s = p + strlen(g_tmp) + 1; *s; s++) {
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0755);
			*s = '/';
		}
	}
	mkdir(p, 0755);
}

/* Creates g_tmp/rel (and its parents) holding `bytes` bytes. */
static void touch(const char *rel, size_t bytes)
{
	char p[1024], d[1024];
	snprintf(d, sizeof d, "%s", rel);
	char *slash = strrchr(d, '/');
	if (slash) {
		*slash = 0;
		mkdirs(d);
	}
	snprintf(p, sizeof p, "%s/%s", g_tmp, rel);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < bytes; i++)
		fputc('x', f);
	fclose(f);
}

static void link_to(const char *target, const char *rel)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/%s", g_tmp, rel);
	assert_int_equal(symlink(target, p), 0);
}

static char *abs_path(const char *rel)
{
	static char p[1024];
	snprintf(p, sizeof p, "%s/%s", g_tmp, rel);
	return p;
}

/* The real path of g_tmp/rel (static buffer). */
static const char *real_of(const char *rel)
{
	static char r[PATH_MAX];
	assert_non_null(realpath(abs_path(rel), r));
	return r;
}

static int setup(void **state)
{
	snprintf(g_tmp, sizeof g_tmp, "/tmp/hearth-resolve-XXXXXX");
	assert_non_null(mkdtemp(g_tmp));
	/* models directory */
	touch("models/llama-Q4_K_M.gguf", 10);
	touch("models/llama-Q8_0.gguf", 20);
	touch("models/llama-F16.gguf", 30);
	touch("models/llamaish-Q2_K.gguf", 1);
	touch("models/other.gguf", 5);
	touch("models/notes.txt", 5);
	touch("models/mmproj-llama-F16.gguf", 5);
	touch("models/big-00001-of-00002.gguf", 5);
	touch("models/big-00002-of-00002.gguf", 5);
	touch("models/sub/x-Q4_0.gguf", 3);
	touch("models/sub/x-Q8_0.gguf", 4);
	touch("models/.hidden.gguf", 4);
	link_to("llama-Q8_0.gguf", "models/alias.gguf");
	touch("outside/secret.gguf", 7);
	touch("outside/dir/y-Q4_K_M.gguf", 7);
	link_to("../outside/secret.gguf", "models/evil.gguf");
	link_to("../outside/dir", "models/evildir");
	/* Hugging Face hub: two snapshots, refs/main picks the second */
	touch("hub/models--Org--Repo-GGUF/blobs/aaa", 11);
	touch("hub/models--Org--Repo-GGUF/blobs/bbb", 12);
	touch("hub/models--Org--Repo-GGUF/blobs/ccc", 13);
	mkdirs("hub/models--Org--Repo-GGUF/snapshots/1111111111111111111111111111111111111111");
	mkdirs("hub/models--Org--Repo-GGUF/snapshots/2222222222222222222222222222222222222222/Q6");
	link_to("../../blobs/ccc",
		"hub/models--Org--Repo-GGUF/snapshots/1111111111111111111111111111111111111111/repo-Q4_K_M.gguf");
	link_to("../../blobs/aaa",
		"hub/models--Org--Repo-GGUF/snapshots/2222222222222222222222222222222222222222/repo-Q4_K_M.gguf");
	link_to("../../blobs/bbb",
		"hub/models--Org--Repo-GGUF/snapshots/2222222222222222222222222222222222222222/repo-Q8_0.gguf");
	link_to("../../../blobs/bbb",
		"hub/models--Org--Repo-GGUF/snapshots/2222222222222222222222222222222222222222/Q6/repo-Q6_K.gguf");
	link_to("../../../../outside/secret.gguf",
		"hub/models--Org--Repo-GGUF/snapshots/2222222222222222222222222222222222222222/repo-Q5_K_M.gguf");
	touch("hub/models--Org--Repo-GGUF/refs/main", 0);
	FILE *f = fopen(abs_path("hub/models--Org--Repo-GGUF/refs/main"), "w");
	assert_non_null(f);
	fputs("2222222222222222222222222222222222222222", f);
	fclose(f);
	/* a repository two organisations publish, and one without refs */
	touch("hub/models--A--Twin/snapshots/abc/twin-Q8_0.gguf", 1);
	touch("hub/models--B--Twin/snapshots/abc/twin-Q8_0.gguf", 1);
	touch("hub/models--Solo--Tiny/snapshots/s1/tiny-f32.gguf", 1);
	touch("hub/models--Solo--Tiny/snapshots/s1/tiny-Q4_0.gguf", 1);
	touch("hub/models--Solo--Tiny/snapshots/s1/tiny.gguf", 1);
	touch("hub/datasets--Org--Data/snapshots/s/d.gguf", 1);
	*state = NULL;
	return 0;
}

static int teardown(void **state)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static hearth_model_dirs dirs(void)
{
	static char m[512], h[512];
	snprintf(m, sizeof m, "%s/models", g_tmp);
	snprintf(h, sizeof h, "%s/hub", g_tmp);
	hearth_model_dirs d = {m, h};
	return d;
}

/* Resolves `name` and checks the file it picked (relative to g_tmp, compared as
 * real paths). */
static void expect(const char *name, unsigned flags, const char *rel, const char *quant)
{
	hearth_model_dirs d = dirs();
	hearth_model_file f;
	int rc = hearth_model_resolve(name, &d, flags, &f);
	if (rc)
		fail_msg("resolve '%s': %s: %s", name, hearth_strerror(rc), hearth_errmsg());
	char want[PATH_MAX], got[PATH_MAX];
	snprintf(want, sizeof want, "%s", real_of(rel));
	assert_non_null(realpath(f.path, got));
	if (strcmp(want, got) != 0)
		fail_msg("resolve '%s': got %s, want %s", name, got, want);
	assert_string_equal(f.quant, quant);
	assert_non_null(f.name);
	struct stat st;
	assert_int_equal(stat(got, &st), 0);
	assert_int_equal(f.size, (uint64_t)st.st_size);
	hearth_model_file_clear(&f);
	assert_null(f.path);
}

static void expect_err(const char *name, unsigned flags, int err, const char *msg_part)
{
	hearth_model_dirs d = dirs();
	hearth_model_file f;
	int rc = hearth_model_resolve(name, &d, flags, &f);
	if (rc != err)
		fail_msg("resolve '%s': rc %d (%s), want %d", name, rc, rc ? hearth_errmsg() : f.path, err);
	if (msg_part && !strstr(hearth_errmsg(), msg_part))
		fail_msg("resolve '%s': message '%s' lacks '%s'", name, hearth_errmsg(), msg_part);
	assert_null(f.path);
	assert_null(f.name);
}

static void test_quant_names(void **state)
{
	char q[16];
	struct {
		const char *file, *quant;
	} cases[] = {
		{"llama-Q4_K_M.gguf", "Q4_K_M"},
		{"Qwen3-0.6B-q8_0.gguf", "Q8_0"},
		{"/a/b/model.Q5_K_S.gguf", "Q5_K_S"},
		{"model-UD-Q4_K_XL.gguf", "Q4_K_XL"},
		{"smollm3-f32.gguf", "F32"},
		{"x-BF16.gguf", "BF16"},
		{"x-IQ4_XS.gguf", "IQ4_XS"},
		{"q8_0-tuned-Q4_0.gguf", "Q4_0"}, /* the rightmost token wins */
		{"model.gguf", ""},
		{"modelQ4_0.gguf", ""},   /* not delimited */
		{"model-Q4_0x.gguf", ""}, /* not delimited */
		{"Q4_K", "Q4_K"},
		{"x-Q3_K_M", "Q3_K_M"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		hearth_quant_from_filename(cases[i].file, q);
		if (strcmp(q, cases[i].quant) != 0)
			fail_msg("%s: quant '%s', want '%s'", cases[i].file, q, cases[i].quant);
	}
	/* the documented order */
	assert_true(hearth_quant_from_filename("a-Q4_K_M", q) < hearth_quant_from_filename("a-Q5_K_M", q));
	assert_true(hearth_quant_from_filename("a-Q5_K_M", q) < hearth_quant_from_filename("a-Q8_0", q));
	assert_true(hearth_quant_from_filename("a-Q8_0", q) < hearth_quant_from_filename("a-Q4_0", q));
	assert_true(hearth_quant_from_filename("a-Q4_0", q) < hearth_quant_from_filename("a-F16", q));
	assert_true(hearth_quant_from_filename("a-F16", q) < hearth_quant_from_filename("a-Q2_K", q));
	assert_true(hearth_quant_from_filename("a-Q2_K", q) < hearth_quant_from_filename("a", q));
}

static void test_models_dir(void **state)
{
	expect("llama", 0, "models/llama-Q4_K_M.gguf", "Q4_K_M");
	expect("llama:q8_0", 0, "models/llama-Q8_0.gguf", "Q8_0");
	expect("llama:F16", 0, "models/llama-F16.gguf", "F16");
	expect("llama:llama-Q8_0", 0, "models/llama-Q8_0.gguf", "Q8_0"); /* a tag may be a stem */
	expect("llama-F16", 0, "models/llama-F16.gguf", "F16");
	expect("llama-F16.gguf", 0, "models/llama-F16.gguf", "F16");
	expect("other", 0, "models/other.gguf", "");
	expect("llamaish", 0, "models/llamaish-Q2_K.gguf", "Q2_K");
	expect("sub", 0, "models/sub/x-Q8_0.gguf", "Q8_0"); /* Q8_0 ranks above Q4_0 */
	expect("sub:Q4_0", 0, "models/sub/x-Q4_0.gguf", "Q4_0");
	expect("sub/x-Q4_0", 0, "models/sub/x-Q4_0.gguf", "Q4_0");
	expect("sub/x", 0, "models/sub/x-Q8_0.gguf", "Q8_0");
	expect("alias", 0, "models/llama-Q8_0.gguf", "Q8_0"); /* symlink inside the directory */
	expect_err("llama:Q6_K", 0, HEARTH_ENOTFOUND, "no model named 'llama:Q6_K'");
	expect_err("big", 0, HEARTH_ENOTFOUND, NULL);   /* split shards are skipped */
	expect_err("nothing", 0, HEARTH_ENOTFOUND, "/models");
	expect_err("mmproj-llama", 0, HEARTH_ENOTFOUND, NULL);
}

static void test_escapes(void **state)
{
	expect_err("evil", 0, HEARTH_ENOTFOUND, NULL);    /* symlink to a file outside */
	expect_err("evildir", 0, HEARTH_ENOTFOUND, NULL); /* symlink to a directory outside */
	expect_err("evildir/y", 0, HEARTH_ENOTFOUND, NULL);
	expect_err("evildir/y-Q4_K_M", 0, HEARTH_ENOTFOUND, NULL);
	expect_err("../outside/secret", 0, HEARTH_EINVAL, "start with '.'");
	expect_err("sub/../../outside/secret", 0, HEARTH_EINVAL, NULL);
	expect_err("..", 0, HEARTH_EINVAL, NULL);
	expect_err(".hidden", 0, HEARTH_EINVAL, NULL);
	expect_err("/etc/passwd", 0, HEARTH_EINVAL, "paths are not accepted");
	expect_err("~root/x", 0, HEARTH_EINVAL, NULL);
	expect_err("a//b", 0, HEARTH_EINVAL, "empty");
	expect_err("a/b/c", 0, HEARTH_EINVAL, "two");
	expect_err("a/", 0, HEARTH_EINVAL, NULL);
	expect_err("a b", 0, HEARTH_EINVAL, NULL);
	expect_err("a\\b", 0, HEARTH_EINVAL, NULL);
	expect_err("a:b:c", 0, HEARTH_EINVAL, "':'");
	expect_err("a:", 0, HEARTH_EINVAL, "empty tag");
	expect_err("a:../x", 0, HEARTH_EINVAL, NULL);
	expect_err("", 0, HEARTH_EINVAL, "empty");
	char longname[400];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	expect_err(longname, 0, HEARTH_EINVAL, "longer");
	/* a hub snapshot file that links out of the hub is never chosen */
	expect_err("Org/Repo-GGUF:Q5_K_M", 0, HEARTH_ENOTFOUND, NULL);
}

static void test_hf_cache(void **state)
{
	expect("Org/Repo-GGUF", 0, "hub/models--Org--Repo-GGUF/blobs/aaa", "Q4_K_M");
	expect("org/repo-gguf", 0, "hub/models--Org--Repo-GGUF/blobs/aaa", "Q4_K_M");
	expect("Repo-GGUF", 0, "hub/models--Org--Repo-GGUF/blobs/aaa", "Q4_K_M");
	expect("Org/Repo-GGUF:Q8_0", 0, "hub/models--Org--Repo-GGUF/blobs/bbb", "Q8_0");
	expect("Org/Repo-GGUF:Q6_K", 0, "hub/models--Org--Repo-GGUF/blobs/bbb", "Q6_K"); /* sub-directory */
	expect("Solo/Tiny", 0, "hub/models--Solo--Tiny/snapshots/s1/tiny-Q4_0.gguf", "Q4_0");
	expect("Tiny:f32", 0, "hub/models--Solo--Tiny/snapshots/s1/tiny-f32.gguf", "F32");
	expect("Tiny:tiny", 0, "hub/models--Solo--Tiny/snapshots/s1/tiny.gguf", "");
	expect("A/Twin", 0, "hub/models--A--Twin/snapshots/abc/twin-Q8_0.gguf", "Q8_0");
	expect_err("Twin", 0, HEARTH_EINVAL, "A/Twin, B/Twin");
	expect_err("Org/Data", 0, HEARTH_ENOTFOUND, NULL); /* datasets are not models */
	expect_err("Org/Nope", 0, HEARTH_ENOTFOUND, "Hugging Face cache");

	/* the models directory wins over the hub; "" disables a source */
	touch("models/Tiny.gguf", 2);
	expect("Tiny", 0, "models/Tiny.gguf", "");
	hearth_model_dirs d = dirs();
	d.models_dir = "";
	hearth_model_file f;
	assert_int_equal(hearth_model_resolve("Tiny", &d, 0, &f), 0);
	assert_int_equal(f.source, HEARTH_MODEL_SRC_HF);
	assert_string_equal(f.quant, "Q4_0");
	hearth_model_file_clear(&f);
	d = dirs();
	d.hf_cache = "";
	assert_int_equal(hearth_model_resolve("Solo/Tiny", &d, 0, &f), HEARTH_ENOTFOUND);
	unlink(abs_path("models/Tiny.gguf"));
}

static void test_paths(void **state)
{
	expect(abs_path("outside/secret.gguf"), HEARTH_RESOLVE_PATHS, "outside/secret.gguf", "");
	expect(abs_path("outside/dir"), HEARTH_RESOLVE_PATHS, "outside/dir/y-Q4_K_M.gguf", "Q4_K_M");
	/* without the flag a path is refused */
	expect_err(abs_path("outside/secret.gguf"), 0, HEARTH_EINVAL, NULL);
	expect_err("/nonexistent/x.gguf", HEARTH_RESOLVE_PATHS, HEARTH_ENOTFOUND, "cannot open");
	expect_err("./nonexistent.gguf", HEARTH_RESOLVE_PATHS, HEARTH_ENOTFOUND, "cannot open");
	/* names still work with the flag, and a relative file path is a path */
	expect("llama", HEARTH_RESOLVE_PATHS, "models/llama-Q4_K_M.gguf", "Q4_K_M");
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(g_tmp), 0);
	hearth_model_dirs d = dirs();
	hearth_model_file f;
	assert_int_equal(hearth_model_resolve("outside/secret.gguf", &d, HEARTH_RESOLVE_PATHS, &f), 0);
	assert_int_equal(f.source, HEARTH_MODEL_SRC_PATH);
	assert_string_equal(f.path, "outside/secret.gguf");
	assert_string_equal(f.name, "secret");
	hearth_model_file_clear(&f);
	assert_int_equal(hearth_model_resolve("outside/secret.gguf", &d, 0, &f), HEARTH_ENOTFOUND);
	assert_int_equal(chdir(cwd), 0);
	hearth_model_file_clear(NULL);
}

static void test_list(void **state)
{
	hearth_model_dirs d = dirs();
	hearth_model_file *l;
	size_t n;
	assert_int_equal(hearth_model_list(&d, &l, &n), 0);
	const char *want[] = {
		/* models directory, by name */
		"alias", "llama-F16", "llama-Q4_K_M", "llama-Q8_0", "llamaish-Q2_K", "other", "sub/x-Q4_0",
		"sub/x-Q8_0",
		/* hub */
		"A/Twin:Q8_0", "B/Twin:Q8_0", "Org/Repo-GGUF:Q4_K_M", "Org/Repo-GGUF:Q6_K", "Org/Repo-GGUF:Q8_0",
		"Solo/Tiny:F32", "Solo/Tiny:Q4_0", "Solo/Tiny:tiny",
	};
	for (size_t i = 0; i < n; i++)
		print_message("  %s -> %s\n", l[i].name, l[i].path);
	assert_int_equal(n, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(l[i].name, want[i]);
		assert_int_equal(l[i].source, i < 8 ? HEARTH_MODEL_SRC_DIR : HEARTH_MODEL_SRC_HF);
		/* every listed name resolves to exactly the listed file */
		hearth_model_file f;
		assert_int_equal(hearth_model_resolve(l[i].name, &d, 0, &f), 0);
		char a[PATH_MAX], b[PATH_MAX];
		assert_non_null(realpath(f.path, a));
		assert_non_null(realpath(l[i].path, b));
		assert_string_equal(a, b);
		hearth_model_file_clear(&f);
	}
	hearth_model_list_free(l, n);

	/* missing directories: an empty list */
	hearth_model_dirs none = {"/nonexistent/models", "/nonexistent/hub"};
	assert_int_equal(hearth_model_list(&none, &l, &n), 0);
	assert_int_equal(n, 0);
	assert_null(l);
	hearth_model_list_free(NULL, 0);
}

static void check_env(const char *want_data, const char *want_models, const char *want_hf)
{
	char *s = NULL;
	assert_int_equal(hearth_data_dir_default(&s), 0);
	assert_string_equal(s, want_data);
	free(s);
	assert_int_equal(hearth_models_dir_default(&s), 0);
	assert_string_equal(s, want_models);
	free(s);
	assert_int_equal(hearth_hf_cache_default(&s), 0);
	assert_string_equal(s, want_hf);
	free(s);
}

static void test_defaults(void **state)
{
	const char *vars[] = {"HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "HEARTH_MODELS", "HF_HOME", "HF_HUB_CACHE"};
	char *saved[6];
	for (int i = 0; i < 6; i++) {
		const char *v = getenv(vars[i]);
		saved[i] = v ? strdup(v) : NULL;
		unsetenv(vars[i]);
	}
	setenv("HOME", "/home/u", 1);
	check_env("/home/u/.local/share/hearth", "/home/u/.local/share/hearth/models", "/home/u/.cache/huggingface/hub");
	setenv("XDG_DATA_HOME", "relative/ignored", 1);
	setenv("XDG_CACHE_HOME", "/xc", 1);
	check_env("/home/u/.local/share/hearth", "/home/u/.local/share/hearth/models", "/xc/huggingface/hub");
	setenv("XDG_DATA_HOME", "/xd", 1);
	setenv("HF_HOME", "/hf", 1);
	check_env("/xd/hearth", "/xd/hearth/models", "/hf/hub");
	setenv("HEARTH_MODELS", "/m", 1);
	setenv("HF_HUB_CACHE", "/hub", 1);
	check_env("/xd/hearth", "/m", "/hub");

	/* NULL dirs: resolution follows the environment */
	char m[512], h[512];
	snprintf(m, sizeof m, "%s/models", g_tmp);
	snprintf(h, sizeof h, "%s/hub", g_tmp);
	setenv("HEARTH_MODELS", m, 1);
	setenv("HF_HUB_CACHE", h, 1);
	hearth_model_file f;
	assert_int_equal(hearth_model_resolve("llama", NULL, 0, &f), 0);
	assert_string_equal(f.quant, "Q4_K_M");
	hearth_model_file_clear(&f);
	assert_int_equal(hearth_model_resolve("Solo/Tiny", NULL, 0, &f), 0);
	assert_string_equal(f.quant, "Q4_0");
	hearth_model_file_clear(&f);

	for (int i = 0; i < 6; i++) {
		if (saved[i])
			setenv(vars[i], saved[i], 1);
		else
			unsetenv(vars[i]);
		free(saved[i]);
	}
}

/* The shipped test models: the quant sweep is one family in a models directory. */
static void test_testdata_family(void **state)
{
	TU_REQUIRE_TESTDATA();
	char dir[4096];
	assert_non_null(tu_path(dir, sizeof dir, "models"));
	hearth_model_dirs d = {dir, ""};
	hearth_model_file f;
	assert_int_equal(hearth_model_resolve("llama-q-sweep", &d, 0, &f), 0);
	assert_string_equal(f.quant, "Q4_K_M");
	hearth_model_file_clear(&f);
	assert_int_equal(hearth_model_resolve("llama-spm", &d, 0, &f), 0);
	assert_string_equal(f.quant, "Q8_0");
	hearth_model_file_clear(&f);
	assert_int_equal(hearth_model_resolve("qwen3:f32", &d, 0, &f), 0);
	assert_string_equal(f.quant, "F32");
	hearth_model_file_clear(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quant_names), cmocka_unit_test(test_models_dir),
		cmocka_unit_test(test_escapes),     cmocka_unit_test(test_hf_cache),
		cmocka_unit_test(test_paths),       cmocka_unit_test(test_list),
		cmocka_unit_test(test_defaults),    cmocka_unit_test(test_testdata_family),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
