/*
 * tokenizer.c - tokenizer throughput: MB/s of hearth_tokenize (and of the
 * streaming detokenizer) over ~1 MiB of English prose, for each vocabulary given
 * (default: llama-spm and qwen2 from testdata/vocab).
 *
 *   build/bench/tokenizer [-f TEXT_FILE] [VOCAB.gguf ...]
 *
 * Without -f the text is 1 MiB of distinct English prose: the licence texts in
 * /usr/share/common-licenses and the Vim user manual (repeated only if those
 * files are missing).  Best of 5 runs, timed in
 * thread CPU time so that other load on the machine distorts it less.
 */
#include "hearth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *append_file(char *buf, size_t *len, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return buf;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		char *nb = realloc(buf, *len + n + 1);
		if (!nb)
			break;
		buf = nb;
		memcpy(buf + *len, chunk, n);
		*len += n;
		buf[*len] = 0;
	}
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	const char *file = NULL;
	const char *vocabs[16];
	int nv = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (nv < 16)
			vocabs[nv++] = argv[i];
	}
	const char *td = getenv("HEARTH_TESTDATA");
	if (!td || !td[0])
		td = "../shared/testdata";
	static char def[2][4096];
	if (nv == 0) {
		snprintf(def[0], sizeof def[0], "%s/vocab/ggml-vocab-llama-spm.gguf", td);
		snprintf(def[1], sizeof def[1], "%s/vocab/ggml-vocab-qwen2.gguf", td);
		vocabs[0] = def[0];
		vocabs[1] = def[1];
		nv = 2;
	}
	char *text = NULL;
	size_t len = 0;
	if (file) {
		text = append_file(text, &len, file);
	} else {
		static const char *const src[] = {
			"/usr/share/common-licenses/GPL-3",     "/usr/share/common-licenses/GPL-2",
			"/usr/share/common-licenses/LGPL-2.1",  "/usr/share/common-licenses/Apache-2.0",
			"/usr/share/common-licenses/MPL-2.0",   "/usr/share/common-licenses/GFDL-1.3",
			"/usr/share/vim/vim90/doc/usr_01.txt",  "/usr/share/vim/vim90/doc/usr_02.txt",
			"/usr/share/vim/vim90/doc/usr_03.txt",  "/usr/share/vim/vim90/doc/usr_04.txt",
			"/usr/share/vim/vim90/doc/usr_05.txt",  "/usr/share/vim/vim90/doc/usr_06.txt",
			"/usr/share/vim/vim90/doc/usr_07.txt",  "/usr/share/vim/vim90/doc/usr_08.txt",
			"/usr/share/vim/vim90/doc/usr_09.txt",  "/usr/share/vim/vim90/doc/usr_10.txt",
			"/usr/share/vim/vim90/doc/usr_11.txt",  "/usr/share/vim/vim90/doc/usr_12.txt",
			"/usr/share/vim/vim90/doc/usr_20.txt",  "/usr/share/vim/vim90/doc/usr_21.txt",
			"/usr/share/vim/vim90/doc/usr_22.txt",  "/usr/share/vim/vim90/doc/usr_23.txt",
			"/usr/share/vim/vim90/doc/usr_24.txt",  "/usr/share/vim/vim90/doc/usr_25.txt",
			"/usr/share/vim/vim90/doc/usr_26.txt",  "/usr/share/vim/vim90/doc/usr_27.txt",
			"/usr/share/vim/vim90/doc/usr_28.txt",  "/usr/share/vim/vim90/doc/usr_29.txt",
			"/usr/share/vim/vim90/doc/usr_30.txt",  "/usr/share/vim/vim90/doc/usr_31.txt",
			"/usr/share/vim/vim90/doc/usr_32.txt",  "/usr/share/vim/vim90/doc/usr_40.txt",
			"/usr/share/vim/vim90/doc/usr_41.txt",  "/usr/share/vim/vim90/doc/usr_42.txt",
			"/usr/share/vim/vim90/doc/usr_43.txt",  "/usr/share/vim/vim90/doc/usr_44.txt",
			"/usr/share/vim/vim90/doc/usr_45.txt",  "/usr/share/vim/vim90/doc/usr_50.txt",
			"/usr/share/vim/vim90/doc/usr_51.txt",  "/usr/share/vim/vim90/doc/usr_52.txt",
			"/usr/share/vim/vim90/doc/usr_90.txt",
		};
		char *one = NULL;
		size_t one_len = 0;
		for (size_t i = 0; i < sizeof src / sizeof src[0] && one_len < (1u << 20); i++)
			one = append_file(one, &one_len, src[i]);
		while (one_len && len < (1u << 20)) {
			size_t take = one_len < (1u << 20) - len ? one_len : (1u << 20) - len;
			char *nb = realloc(text, len + take + 1);
			if (!nb)
				break;
			text = nb;
			memcpy(text + len, one, take);
			len += take;
			text[len] = 0;
		}
		free(one);
	}
	if (!len) {
		fprintf(stderr, "no text (give -f FILE)\n");
		return 1;
	}
	printf("text: %zu bytes (%s)\n", len, file ? file : "licences + Vim user manual, distinct text");
	int32_t *ids = malloc((len + 16) * sizeof *ids);
	for (int k = 0; k < nv; k++) {
		hearth_gguf *g;
		hearth_vocab *v;
		if (hearth_gguf_open(vocabs[k], &g) || hearth_vocab_load(g, &v)) {
			fprintf(stderr, "%s: %s\n", vocabs[k], hearth_errmsg());
			return 1;
		}
		double best = 1e9, best_d = 1e9;
		size_t n = 0;
		for (int r = 0; r < 5; r++) {
			double t0 = now_s();
			if (hearth_tokenize(v, text, len, false, false, ids, len + 16, &n)) {
				fprintf(stderr, "tokenize: %s\n", hearth_errmsg());
				return 1;
			}
			double dt = now_s() - t0;
			if (dt < best)
				best = dt;
			hearth_detok *d;
			hearth_detok_create(v, 0, &d);
			const char *t;
			size_t tl, total = 0;
			t0 = now_s();
			for (size_t i = 0; i < n; i++) {
				hearth_detok_push(d, ids[i], &t, &tl);
				total += tl;
			}
			hearth_detok_flush(d, &t, &tl);
			dt = now_s() - t0;
			if (dt < best_d)
				best_d = dt;
			hearth_detok_free(d);
			(void)total;
		}
		const char *name = strrchr(vocabs[k], '/');
		printf("%-32s %8zu tokens  tokenize %7.2f MB/s (%.3f s)  detokenize %8.2f MB/s\n", name ? name + 1 : vocabs[k],
		       n, (double)len / 1e6 / best, best, (double)len / 1e6 / best_d);
		hearth_vocab_free(v);
		hearth_gguf_free(g);
	}
	free(ids);
	free(text);
	return 0;
}
