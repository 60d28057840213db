/*
 * store.c - chat-history store benchmark (src/store): builds a database of
 * 10,000 chats (a user and an assistant message each) plus one chat of 5,000
 * messages in a temporary directory, then times what the native API does per
 * request: every page of the chat list (limit 50, following cursors to the
 * end), every page of the long chat (limit 100: the latest page, then
 * `before` back to the first message), a few searches, and single durable
 * writes (hx_msg_add, and hx_msg_update as a streaming flush).  Prints the
 * median and the maximum per call.  The target: under 50 ms per page.
 *
 *   build-me/bench/store [--chats N] [--long M] [--keep]
 *
 * The database lives under $TMPDIR (default /tmp) and is removed at the end
 * unless --keep.  Writes are fsync'd (synchronous=FULL), so the write figures
 * depend on the disk.
 */
#include "store/store.h"

#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- text ----------------------------------------------------------------------- */

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return (uint32_t)(g_rng >> 11);
}

/* A pseudo-word for rank r: common words are short and frequent. */
static void word(unsigned r, char *out)
{
	static const char syl[][4] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qu", "de"};
	int n = 1 + (r > 40) + (r > 400);
	unsigned x = r * 2654435761u;
	out[0] = 0;
	for (int i = 0; i < n; i++) {
		strcat(out, syl[x % 12]);
		x /= 12;
	}
	char num[16];
	snprintf(num, sizeof num, "%u", r % 97);
	if (r > 40)
		strcat(out, num);
}

/* A message of 20..80 words drawn with a Zipf-like skew over 5,000 words. */
static void sentence(char *buf, size_t cap)
{
	int n = 20 + (int)(rnd() % 61);
	size_t len = 0;
	buf[0] = 0;
	for (int i = 0; i < n; i++) {
		unsigned r = rnd() % 5000;
		r = r * r / 5000 * (rnd() % 2) + (rnd() % 2 ? r / 50 : r); /* skew towards small ranks */
		char w[32];
		word(r % 5000, w);
		size_t wl = strlen(w);
		if (len + wl + 2 >= cap)
			break;
		if (len)
			buf[len++] = ' ';
		memcpy(buf + len, w, wl + 1);
		len += wl;
	}
}

/* ---- timing --------------------------------------------------------------------- */

/* Wall-clock and this thread's CPU time of each call: on a shared machine the
 * CPU time is the steadier figure (the store does its work on the calling
 * thread), the wall time includes waiting for the disk and for other work. */
struct times {
	double *ms, *cpu;
	size_t n, cap;
	double w0, c0;
};

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void start(struct times *t)
{
	t->w0 = hx_time_s();
	t->c0 = cpu_s();
}

static void stop(struct times *t)
{
	double w = (hx_time_s() - t->w0) * 1e3, c = (cpu_s() - t->c0) * 1e3;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->ms = realloc(t->ms, t->cap * sizeof *t->ms);
		t->cpu = realloc(t->cpu, t->cap * sizeof *t->cpu);
		if (!t->ms || !t->cpu) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
	}
	t->ms[t->n] = w;
	t->cpu[t->n++] = c;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, struct times *t)
{
	if (!t->n) {
		printf("%-44s no samples\n", what);
		return;
	}
	qsort(t->ms, t->n, sizeof *t->ms, cmp_d);
	qsort(t->cpu, t->n, sizeof *t->cpu, cmp_d);
	printf("%-44s %3zu calls  wall median %7.3f max %7.3f ms  cpu median %7.3f max %7.3f ms\n", what, t->n,
	       t->ms[t->n / 2], t->ms[t->n - 1], t->cpu[t->n / 2], t->cpu[t->n - 1]);
	free(t->ms);
	free(t->cpu);
	memset(t, 0, sizeof *t);
}

static void check(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "%s: %s\n", what, hearth_errmsg());
		exit(1);
	}
}

int main(int argc, char **argv)
{
	int n_chats = 10000, n_long = 5000;
	bool keep = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--chats") == 0 && i + 1 < argc)
			n_chats = atoi(argv[++i]);
		else if (strcmp(argv[i], "--long") == 0 && i + 1 < argc)
			n_long = atoi(argv[++i]);
		else if (strcmp(argv[i], "--keep") == 0)
			keep = true;
		else {
			fprintf(stderr, "usage: %s [--chats N] [--long M] [--keep]\n", argv[0]);
			return 2;
		}
	}
	if (n_chats < 1 || n_long < 1) {
		fprintf(stderr, "--chats and --long must be positive\n");
		return 2;
	}
	const char *tmp = getenv("TMPDIR");
	char dir[512], path[600];
	snprintf(dir, sizeof dir, "%s/hearth-bench-store-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof path, "%s/hearth.db", dir);
	hx_store *s;
	check(hx_store_open(path, &s), "open");
	const int64_t u = HX_STORE_LOCAL_USER;
	static char text[4096];

	/* ---- fill ---- */
	double t0 = hx_time_s(), c0 = cpu_s();
	check(hx_store_begin(s), "begin");
	int64_t long_id = 0;
	for (int i = 0; i < n_chats; i++) {
		hx_chat c;
		sentence(text, 200);
		char *title = hx_title_from_text(text);
		hx_chat in = {.title = title, .model = "qwen3"};
		check(hx_chat_create(s, u, &in, &c), "chat_create");
		free(title);
		hx_msg m = {.chat_id = c.id, .role = HX_ROLE_USER, .content = text};
		check(hx_msg_add(s, u, &m), "msg_add");
		sentence(text, sizeof text);
		hx_msg a = {.chat_id = c.id,
		            .role = HX_ROLE_ASSISTANT,
		            .content = text,
		            .model = "qwen3",
		            .n_prompt = 100,
		            .n_gen = 60,
		            .gen_ms = 1000};
		check(hx_msg_add(s, u, &a), "msg_add");
		if (i == n_chats / 2)
			long_id = c.id; /* one chat in the middle grows long */
		hx_chat_clear(&c);
	}
	for (int i = 0; i < n_long; i++) {
		sentence(text, sizeof text);
		hx_msg m = {.chat_id = long_id, .role = i % 2 ? HX_ROLE_ASSISTANT : HX_ROLE_USER, .content = text};
		check(hx_msg_add(s, u, &m), "msg_add");
	}
	check(hx_store_commit(s), "commit");
	printf("filled %d chats (%d messages) + one chat of %d messages in one transaction: %.2f s (cpu %.2f s)\n",
	       n_chats, 2 * n_chats, n_long, hx_time_s() - t0, cpu_s() - c0);

	struct times t = {0};
	/* ---- chat list: every page ---- */
	char *cursor = NULL;
	size_t seen = 0;
	for (;;) {
		hx_chat *v;
		size_t n;
		char *next;
		start(&t);
		check(hx_chat_list(s, u, cursor, 50, &v, &n, &next), "chat_list");
		stop(&t);
		seen += n;
		hx_chat_list_free(v, n);
		free(cursor);
		cursor = next;
		if (!cursor)
			break;
	}
	if (seen != (size_t)n_chats) {
		fprintf(stderr, "chat list: saw %zu chats, want %d\n", seen, n_chats);
		return 1;
	}
	report("hx_chat_list limit 50 (every page)", &t);

	/* ---- long chat: latest, then before back to the start ---- */
	int64_t before = 0;
	seen = 0;
	for (;;) {
		hx_msg *v;
		size_t n;
		bool more;
		start(&t);
		check(hx_msg_list(s, u, long_id, before, 0, 100, &v, &n, &more), "msg_list");
		stop(&t);
		seen += n;
		if (n)
			before = v[0].id;
		hx_msg_list_free(v, n);
		if (!more)
			break;
	}
	if (seen != (size_t)n_long + 2) {
		fprintf(stderr, "messages: saw %zu, want %d\n", seen, n_long + 2);
		return 1;
	}
	report("hx_msg_list limit 100 (latest, then before)", &t);

	/* ---- searches ---- */
	char common[32], rare[32], q[128];
	word(1, common);
	word(4321, rare);
	char prefix[8], letter[2] = {rare[0], 0};
	snprintf(prefix, sizeof prefix, "%.3s", rare);
	snprintf(q, sizeof q, "%s %s", common, rare);
	/* the last word is a prefix: a common short word matches most messages,
	 * a single letter is the first keystroke of a search-as-you-type box */
	const char *queries[] = {common, letter, prefix, rare, q};
	for (int i = 0; i < (int)HX_ARRAY_LEN(queries); i++) {
		size_t hits = 0;
		for (int r = 0; r < 5; r++) {
			hx_hit *h;
			size_t n;
			start(&t);
			check(hx_search(s, u, queries[i], 20, 0, &h, &n), "search");
			stop(&t);
			hits = n;
			hx_hit_list_free(h, n);
		}
		char label[96];
		snprintf(label, sizeof label, "hx_search \"%s\" (%zu hits shown)", queries[i], hits);
		report(label, &t);
	}

	/* ---- single durable writes ---- */
	hx_msg m = {.chat_id = long_id, .role = HX_ROLE_ASSISTANT, .status = HX_MSG_STREAMING, .content = ""};
	for (int i = 0; i < 20; i++) {
		start(&t);
		check(hx_msg_add(s, u, &m), "msg_add");
		stop(&t);
	}
	report("hx_msg_add (own transaction, fsync)", &t);
	size_t len = 0;
	for (int i = 0; i < 20; i++) {
		len += (size_t)snprintf(text + len, sizeof text - len, "token%d ", i);
		m.content = text;
		start(&t);
		check(hx_msg_update(s, u, &m), "msg_update");
		stop(&t);
	}
	report("hx_msg_update (a streaming flush, fsync)", &t);

	hx_store_close(s);
	if (!keep) {
		char cmd[700];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	} else {
		printf("kept %s\n", path);
	}
	return 0;
}
