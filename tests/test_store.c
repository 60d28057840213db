/*
 * test_store.c - the chat-history store (src/store): migrations on a fresh
 * file and on re-open, files that are not ours (garbage, another program's
 * SQLite database, a newer schema), per-user isolation, CRUD, message pages
 * and chat-list cursors, full-text search with hostile queries and safe
 * snippets, the search index following updates and deletes, crash recovery,
 * transactions, export -> import -> export byte-identical, malformed imports,
 * and titles made from a first message.  Every test gets its own database in
 * a fresh directory under $TMPDIR, removed afterwards.
 */
#include "testutil.h"

#include "store/store.h"
#include "store/store_int.h"
#include "util/util.h"

#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

static char g_dir[512];
static char g_db[600];

static int setup(void **state)
{
	const char *t = getenv("TMPDIR");
	snprintf(g_dir, sizeof g_dir, "%s/hearth-store-XXXXXX", t && t[0] ? t : "/tmp");
	assert_non_null(mkdtemp(g_dir));
	snprintf(g_db, sizeof g_db, "%s/sub/dir/hearth.db", g_dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static hx_store *open_db(void)
{
	hx_store *s = NULL;
	int rc = hx_store_open(g_db, &s);
	if (rc)
		print_message("open: %s\n", hearth_errmsg());
	assert_int_equal(rc, 0);
	assert_non_null(s);
	return s;
}

static int64_t new_chat(hx_store *s, int64_t user, const char *title)
{
	hx_chat in = {.title = (char *)title}, out;
	assert_int_equal(hx_chat_create(s, user, &in, &out), 0);
	int64_t id = out.id;
	hx_chat_clear(&out);
	return id;
}

static int64_t add_msg(hx_store *s, int64_t user, int64_t chat, int role, const char *text)
{
	hx_msg m = {.chat_id = chat, .role = role, .content = (char *)text};
	assert_int_equal(hx_msg_add(s, user, &m), 0);
	assert_true(m.id > 0);
	return m.id;
}

static size_t n_hits(hx_store *s, int64_t user, const char *q)
{
	hx_hit *h = NULL;
	size_t n = 99;
	int rc = hx_search(s, user, q, 100, 0, &h, &n);
	if (rc)
		print_message("search \"%s\": %s\n", q, hearth_errmsg());
	assert_int_equal(rc, 0);
	hx_hit_list_free(h, n);
	return n;
}

/* Runs one SQL statement on the file directly (what another program does). */
static void raw_sql(const char *path, const char *sqltext)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *err = NULL;
	int rc = sqlite3_exec(db, sqltext, NULL, NULL, &err);
	if (rc)
		print_message("sql: %s\n", err);
	sqlite3_free(err);
	assert_int_equal(rc, SQLITE_OK);
	sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *sqltext)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sqltext, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* ---- opening --------------------------------------------------------------------- */

static void test_migrations(void **state)
{
	hx_store *s = open_db();
	struct stat st;
	assert_int_equal(stat(g_db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char d[700];
	snprintf(d, sizeof d, "%s/sub/dir", g_dir);
	assert_int_equal(stat(d, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	int64_t id = new_chat(s, HX_STORE_LOCAL_USER, "kept");
	add_msg(s, 1, id, HX_ROLE_USER, "survives a re-open");
	assert_int_equal(hx_store_check(s), 0);
	hx_store_close(s);
	assert_int_equal(raw_int(g_db, "PRAGMA user_version"), 1);
	assert_int_equal(raw_int(g_db, "SELECT count(*) FROM users WHERE id = 1 AND name = 'local'"), 1);
	assert_int_equal(raw_int(g_db, "PRAGMA journal_mode"), 0); /* "wal" is text: 0 as an int */

	s = open_db();
	hx_chat c;
	assert_int_equal(hx_chat_get(s, 1, id, &c), 0);
	assert_string_equal(c.title, "kept");
	assert_int_equal(c.n_messages, 1);
	hx_chat_clear(&c);
	assert_int_equal(n_hits(s, 1, "survives"), 1);
	hx_store_close(s);
	assert_int_equal(raw_int(g_db, "PRAGMA user_version"), 1);
	assert_int_equal(raw_int(g_db, "SELECT count(*) FROM users"), 1);
}

static void test_not_ours(void **state)
{
	hx_store *s = NULL;
	/* garbage */
	char p[700];
	snprintf(p, sizeof p, "%s/garbage.db", g_dir);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	for (int i = 0; i < 8192; i++)
		fputc((i * 7919 + 13) & 0xff, f);
	fclose(f);
	assert_int_equal(hx_store_open(p, &s), HEARTH_EFORMAT);
	assert_null(s);
	/* a text file */
	f = fopen(p, "wb");
	fputs("SQLite format 3\n but not really, just text that goes on for a while.............\n", f);
	fclose(f);
	assert_int_equal(hx_store_open(p, &s), HEARTH_EFORMAT);
	/* another program's database */
	snprintf(p, sizeof p, "%s/other.db", g_dir);
	raw_sql(p, "CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)");
	assert_int_equal(hx_store_open(p, &s), HEARTH_EFORMAT);
	assert_non_null(strstr(hearth_errmsg(), "not a hearth"));
	/* a directory */
	snprintf(p, sizeof p, "%s/adir", g_dir);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(hx_store_open(p, &s), HEARTH_EIO);
	/* none of these got a lock file: the other program's file is untouched */
	snprintf(p, sizeof p, "%s/other.db.lock", g_dir);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof p, "%s/other.db-wal", g_dir);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof p, "%s/adir.lock", g_dir);
	assert_int_equal(access(p, F_OK), -1);
	/* a newer hearth's */
	s = open_db();
	hx_store_close(s);
	raw_sql(g_db, "PRAGMA user_version = 99");
	assert_int_equal(hx_store_open(g_db, &s), HEARTH_EUNSUPPORTED);
	assert_non_null(strstr(hearth_errmsg(), "newer hearth"));
	assert_null(s);
	/* an empty file is a fresh database */
	snprintf(p, sizeof p, "%s/empty.db", g_dir);
	f = fopen(p, "wb");
	fclose(f);
	assert_int_equal(hx_store_open(p, &s), 0);
	hx_store_close(s);
	assert_int_equal(hx_store_open(NULL, &s), HEARTH_EINVAL);
	char *dp = NULL;
	assert_int_equal(hx_store_default_path(&dp), 0);
	assert_non_null(strstr(dp, "hearth/hearth.db"));
	free(dp);
}

/* Overwrites `n` bytes at `off` of the file with a pattern. */
static void scribble(const char *path, long off, size_t n)
{
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, off, SEEK_SET), 0);
	for (size_t i = 0; i < n; i++)
		fputc((int)((i * 131 + 7) & 0xff), f);
	fclose(f);
}

static void test_corrupt(void **state)
{
	hx_store *s = open_db();
	int64_t c = new_chat(s, 1, "to be damaged");
	for (int i = 0; i < 200; i++)
		add_msg(s, 1, c, HX_ROLE_USER,
		        "some text that fills a few pages of the database file, again and again");
	int64_t n_tables = raw_int(g_db, "SELECT count(*) FROM sqlite_master");
	hx_store_close(s);
	/* re-opening keeps the schema as it was */
	s = open_db();
	hx_store_close(s);
	assert_int_equal(raw_int(g_db, "SELECT count(*) FROM sqlite_master"), n_tables);

	/* the search index out of step with the messages: hx_store_check says so */
	raw_sql(g_db, "DROP TRIGGER messages_fts_update; UPDATE messages SET content = 'changed' WHERE id = 1");
	s = open_db();
	assert_int_equal(hx_store_check(s), HEARTH_EFORMAT);
	assert_non_null(strstr(hearth_errmsg(), "search index"));
	hx_store_close(s);

	/* damaged pages: refused at open, or found by the check; never a crash */
	struct stat st;
	assert_int_equal(stat(g_db, &st), 0);
	scribble(g_db, st.st_size / 2, 4096);
	hx_store *d = NULL;
	int rc = hx_store_open(g_db, &d);
	if (rc == 0) {
		rc = hx_store_check(d);
		hx_hit *h;
		size_t n;
		if (hx_search(d, 1, "text", 10, 0, &h, &n) == 0)
			hx_hit_list_free(h, n);
		hx_store_close(d);
	}
	assert_int_equal(rc, HEARTH_EFORMAT);
	/* a damaged header */
	scribble(g_db, 0, 100);
	assert_int_equal(hx_store_open(g_db, &d), HEARTH_EFORMAT);
	assert_null(d);
	/* a truncated file */
	assert_int_equal(truncate(g_db, 1000), 0);
	rc = hx_store_open(g_db, &d);
	assert_int_equal(rc, HEARTH_EFORMAT);
}

/* ---- chats and messages ------------------------------------------------------------ */

static void test_isolation(void **state)
{
	hx_store *s = open_db();
	int64_t u2;
	assert_int_equal(hx_user_create(s, "second", &u2), 0);
	assert_int_equal(u2, 2);
	assert_int_equal(hx_user_create(s, "second", &u2), HEARTH_EINVAL);
	int64_t c1 = new_chat(s, 1, "mine");
	int64_t m1 = add_msg(s, 1, c1, HX_ROLE_USER, "secret zebra");
	int64_t c2 = new_chat(s, u2, "theirs");
	add_msg(s, u2, c2, HX_ROLE_USER, "public giraffe");

	hx_chat c;
	hx_msg m;
	assert_int_equal(hx_chat_get(s, u2, c1, &c), HEARTH_ENOTFOUND);
	hx_chat patch = {.title = "stolen"};
	assert_int_equal(hx_chat_update(s, u2, c1, &patch, false), HEARTH_ENOTFOUND);
	assert_int_equal(hx_chat_delete(s, u2, c1), HEARTH_ENOTFOUND);
	hx_msg nm = {.chat_id = c1, .role = HX_ROLE_USER, .content = "injected"};
	assert_int_equal(hx_msg_add(s, u2, &nm), HEARTH_ENOTFOUND);
	assert_int_equal(hx_msg_get(s, u2, m1, &m), HEARTH_ENOTFOUND);
	hx_msg up = {.id = m1, .role = HX_ROLE_USER, .content = "changed"};
	assert_int_equal(hx_msg_update(s, u2, &up), HEARTH_ENOTFOUND);
	assert_int_equal(hx_msg_delete(s, u2, m1), HEARTH_ENOTFOUND);
	hx_msg *v;
	size_t n;
	bool more;
	assert_int_equal(hx_msg_list(s, u2, c1, 0, 0, 10, &v, &n, &more), HEARTH_ENOTFOUND);
	assert_int_equal(hx_msg_all(s, u2, c1, 0, &v, &n), HEARTH_ENOTFOUND);
	char *doc;
	size_t len;
	assert_int_equal(hx_export_json(s, u2, c1, &doc, &len), HEARTH_ENOTFOUND);
	assert_int_equal(hx_export_markdown(s, u2, c1, &doc, &len), HEARTH_ENOTFOUND);
	assert_int_equal(n_hits(s, u2, "zebra"), 0);
	assert_int_equal(n_hits(s, 1, "zebra"), 1);
	assert_int_equal(n_hits(s, 1, "giraffe"), 0);
	hx_chat *cv;
	char *next;
	assert_int_equal(hx_chat_list(s, u2, NULL, 50, &cv, &n, &next), 0);
	assert_int_equal(n, 1);
	assert_int_equal(cv[0].id, c2);
	hx_chat_list_free(cv, n);
	/* user 1's chat is untouched */
	assert_int_equal(hx_msg_get(s, 1, m1, &m), 0);
	assert_string_equal(m.content, "secret zebra");
	hx_msg_clear(&m);
	assert_int_equal(hx_chat_get(s, 1, c1, &c), 0);
	assert_string_equal(c.title, "mine");
	hx_chat_clear(&c);
	/* an unknown user cannot own chats */
	hx_chat in = {0};
	assert_int_equal(hx_chat_create(s, 77, &in, NULL), HEARTH_ENOTFOUND);
	hx_store_close(s);
}

static void test_crud(void **state)
{
	hx_store *s = open_db();
	hx_chat c, in = {0};
	assert_int_equal(hx_chat_create(s, 1, NULL, &c), 0);
	assert_string_equal(c.title, "New chat");
	assert_string_equal(c.params, "{}");
	assert_string_equal(c.model, "");
	assert_int_equal(c.n_messages, 0);
	assert_true(c.created_ms > 1700000000000 && c.updated_ms == c.created_ms);
	int64_t id = c.id;
	hx_chat_clear(&c);

	in.params = "[1,2]";
	assert_int_equal(hx_chat_create(s, 1, &in, NULL), HEARTH_EINVAL);
	in.params = "{\"temperature\":";
	assert_int_equal(hx_chat_create(s, 1, &in, NULL), HEARTH_EINVAL);
	in.params = NULL;
	in.title = "\xff\xfe bad utf-8";
	assert_int_equal(hx_chat_create(s, 1, &in, NULL), HEARTH_EINVAL);

	hx_chat patch = {.title = "Renamed", .params = "{\"temperature\":0.5}", .model = "qwen3", .context_from = 5};
	usleep(2000);
	assert_int_equal(hx_chat_update(s, 1, id, &patch, true), 0);
	assert_int_equal(hx_chat_get(s, 1, id, &c), 0);
	assert_string_equal(c.title, "Renamed");
	assert_string_equal(c.model, "qwen3");
	assert_string_equal(c.system, "");
	assert_string_equal(c.params, "{\"temperature\":0.5}");
	assert_int_equal(c.context_from, 5);
	assert_true(c.updated_ms > c.created_ms);
	hx_chat_clear(&c);
	hx_chat p2 = {.system = "Be brief."};
	assert_int_equal(hx_chat_update(s, 1, id, &p2, false), 0);
	assert_int_equal(hx_chat_get(s, 1, id, &c), 0);
	assert_string_equal(c.title, "Renamed");
	assert_string_equal(c.system, "Be brief.");
	assert_int_equal(c.context_from, 5);
	hx_chat_clear(&c);
	assert_int_equal(hx_chat_update(s, 1, id + 100, &p2, false), HEARTH_ENOTFOUND);

	hx_msg m = {.chat_id = id, .role = HX_ROLE_ASSISTANT, .status = HX_MSG_STREAMING, .model = "qwen3"};
	assert_int_equal(hx_msg_add(s, 1, &m), 0);
	m.content = "partial";
	m.reasoning = "thinking";
	m.status = HX_MSG_COMPLETE;
	m.n_prompt = 12;
	m.n_cached = 4;
	m.n_gen = 30;
	m.ttft_ms = 35.25;
	m.prompt_ms = 20.5;
	m.gen_ms = 900.125;
	assert_int_equal(hx_msg_update(s, 1, &m), 0);
	hx_msg g;
	assert_int_equal(hx_msg_get(s, 1, m.id, &g), 0);
	assert_int_equal(g.chat_id, id);
	assert_int_equal(g.role, HX_ROLE_ASSISTANT);
	assert_int_equal(g.status, HX_MSG_COMPLETE);
	assert_string_equal(g.content, "partial");
	assert_string_equal(g.reasoning, "thinking");
	assert_string_equal(g.model, "qwen3");
	assert_string_equal(g.error, "");
	assert_int_equal(g.n_prompt, 12);
	assert_int_equal(g.n_cached, 4);
	assert_int_equal(g.n_gen, 30);
	assert_true(g.ttft_ms == 35.25 && g.prompt_ms == 20.5 && g.gen_ms == 900.125);
	assert_int_equal(g.created_ms, m.created_ms);
	hx_msg_clear(&g);
	assert_int_equal(hx_chat_get(s, 1, id, &c), 0);
	assert_int_equal(c.n_messages, 1);
	assert_int_equal(c.updated_ms, m.created_ms);
	hx_chat_clear(&c);

	hx_msg bad = {.chat_id = id, .role = 7};
	assert_int_equal(hx_msg_add(s, 1, &bad), HEARTH_EINVAL);
	bad.role = HX_ROLE_USER;
	bad.status = 9;
	assert_int_equal(hx_msg_add(s, 1, &bad), HEARTH_EINVAL);
	bad.status = 0;
	bad.chat_id = id + 1000;
	assert_int_equal(hx_msg_add(s, 1, &bad), HEARTH_ENOTFOUND);

	/* ids are never reused: regenerate deletes the last message and adds one */
	int64_t old = m.id;
	assert_int_equal(hx_msg_delete(s, 1, old), 0);
	assert_int_equal(hx_msg_delete(s, 1, old), HEARTH_ENOTFOUND);
	assert_int_equal(hx_msg_get(s, 1, old, &g), HEARTH_ENOTFOUND);
	assert_true(add_msg(s, 1, id, HX_ROLE_ASSISTANT, "again") > old);

	assert_int_equal(hx_chat_delete(s, 1, id), 0);
	assert_int_equal(hx_chat_get(s, 1, id, &c), HEARTH_ENOTFOUND);
	assert_int_equal(hx_chat_delete(s, 1, id), HEARTH_ENOTFOUND);
	assert_int_equal(raw_int(g_db, "SELECT count(*) FROM messages"), 0);
	assert_int_equal(hx_store_check(s), 0);

	/* names */
	assert_int_equal(hx_role_parse("assistant"), HX_ROLE_ASSISTANT);
	assert_int_equal(hx_role_parse("tool"), -1);
	assert_int_equal(hx_msg_status_parse(hx_msg_status_name(HX_MSG_STOPPED)), HX_MSG_STOPPED);
	assert_string_equal(hx_role_name(42), "unknown");
	hx_store_close(s);
}

static void test_msg_pages(void **state)
{
	hx_store *s = open_db();
	int64_t id = new_chat(s, 1, "long");
	int64_t other = new_chat(s, 1, "other");
	int64_t ids[250];
	assert_int_equal(hx_store_begin(s), 0);
	for (int i = 0; i < 250; i++) {
		char t[32];
		snprintf(t, sizeof t, "message %d", i);
		ids[i] = add_msg(s, 1, id, i % 2 ? HX_ROLE_ASSISTANT : HX_ROLE_USER, t);
		if (i % 50 == 0)
			add_msg(s, 1, other, HX_ROLE_USER, "interleaved");
	}
	assert_int_equal(hx_store_commit(s), 0);

	hx_msg *v;
	size_t n;
	bool more;
	assert_int_equal(hx_msg_list(s, 1, id, 0, 0, 100, &v, &n, &more), 0);
	assert_int_equal(n, 100);
	assert_true(more);
	assert_int_equal(v[0].id, ids[150]);
	assert_int_equal(v[99].id, ids[249]);
	assert_string_equal(v[99].content, "message 249");
	hx_msg_list_free(v, n);
	assert_int_equal(hx_msg_list(s, 1, id, ids[150], 0, 100, &v, &n, &more), 0);
	assert_int_equal(n, 100);
	assert_true(more);
	assert_int_equal(v[0].id, ids[50]);
	assert_int_equal(v[99].id, ids[149]);
	hx_msg_list_free(v, n);
	assert_int_equal(hx_msg_list(s, 1, id, ids[50], 0, 100, &v, &n, &more), 0);
	assert_int_equal(n, 50);
	assert_false(more);
	assert_int_equal(v[0].id, ids[0]);
	for (size_t i = 1; i < n; i++)
		assert_true(v[i].id > v[i - 1].id);
	hx_msg_list_free(v, n);
	assert_int_equal(hx_msg_list(s, 1, id, ids[0], 0, 100, &v, &n, &more), 0);
	assert_int_equal(n, 0);
	assert_false(more);
	/* after: forward */
	assert_int_equal(hx_msg_list(s, 1, id, 0, ids[9], 100, &v, &n, &more), 0);
	assert_int_equal(n, 100);
	assert_true(more);
	assert_int_equal(v[0].id, ids[10]);
	assert_int_equal(v[99].id, ids[109]);
	hx_msg_list_free(v, n);
	assert_int_equal(hx_msg_list(s, 1, id, 0, ids[199], 100, &v, &n, &more), 0);
	assert_int_equal(n, 50);
	assert_false(more);
	assert_int_equal(v[49].id, ids[249]);
	hx_msg_list_free(v, n);
	/* exactly a page */
	assert_int_equal(hx_msg_list(s, 1, id, 0, ids[149], 100, &v, &n, &more), 0);
	assert_int_equal(n, 100);
	assert_false(more);
	hx_msg_list_free(v, n);
	assert_int_equal(hx_msg_list(s, 1, id, 0, 0, 0, &v, &n, &more), HEARTH_EINVAL);
	assert_int_equal(hx_msg_list(s, 1, id, 0, 0, 1001, &v, &n, &more), HEARTH_EINVAL);
	/* all, and from an id */
	assert_int_equal(hx_msg_all(s, 1, id, 0, &v, &n), 0);
	assert_int_equal(n, 250);
	hx_msg_list_free(v, n);
	assert_int_equal(hx_msg_all(s, 1, id, ids[240], &v, &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(v[0].id, ids[240]);
	hx_msg_list_free(v, n);
	hx_store_close(s);
}

static void test_chat_cursors(void **state)
{
	hx_store *s = open_db();
	enum { N = 300 };
	assert_int_equal(hx_store_begin(s), 0);
	for (int i = 0; i < N; i++) {
		int64_t id = new_chat(s, 1, "c");
		/* many ties on updated_at: the id breaks them */
		assert_int_equal(s->ops->chat_touch(s, 1, id, 1700000000000 + (i * 37) % 41), 0);
	}
	assert_int_equal(hx_store_commit(s), 0);
	static bool seen[N + 1];
	memset(seen, 0, sizeof seen);
	char *cursor = NULL;
	int total = 0, pages = 0;
	int64_t prev_u = INT64_MAX, prev_id = INT64_MAX;
	for (;;) {
		hx_chat *v;
		size_t n;
		char *next;
		assert_int_equal(hx_chat_list(s, 1, cursor, 7, &v, &n, &next), 0);
		pages++;
		for (size_t i = 0; i < n; i++) {
			assert_true(v[i].id >= 1 && v[i].id <= N);
			assert_false(seen[v[i].id]);
			seen[v[i].id] = true;
			assert_true(v[i].updated_ms < prev_u || (v[i].updated_ms == prev_u && v[i].id < prev_id));
			prev_u = v[i].updated_ms;
			prev_id = v[i].id;
			total++;
		}
		hx_chat_list_free(v, n);
		free(cursor);
		cursor = next;
		if (!cursor)
			break;
		assert_int_equal(n, 7);
	}
	assert_int_equal(total, N);
	assert_int_equal(pages, (N + 6) / 7);
	static const char *const bad[] = {"",
	                                  "abc",
	                                  "1.",
	                                  ".1",
	                                  "01.2",
	                                  "1.2x",
	                                  "-1.2",
	                                  "1.0",
	                                  "1..2",
	                                  " 1.2",
	                                  "1.2 ",
	                                  "1.-2",
	                                  "99999999999999999999.1",
	                                  "1e3.2"};
	for (size_t i = 0; i < HX_ARRAY_LEN(bad); i++) {
		hx_chat *v = (hx_chat *)1;
		size_t n = 9;
		char *next = (char *)1;
		assert_int_equal(hx_chat_list(s, 1, bad[i], 10, &v, &n, &next), HEARTH_EINVAL);
		assert_null(v);
		assert_null(next);
	}
	hx_chat *v;
	size_t n;
	char *next;
	assert_int_equal(hx_chat_list(s, 1, NULL, 0, &v, &n, &next), HEARTH_EINVAL);
	assert_int_equal(hx_chat_list(s, 1, NULL, 201, &v, &n, &next), HEARTH_EINVAL);
	/* a valid cursor past the end: an empty last page */
	assert_int_equal(hx_chat_list(s, 1, "0.1", 10, &v, &n, &next), 0);
	assert_int_equal(n, 0);
	assert_null(next);
	hx_chat_list_free(v, n);
	hx_store_close(s);
}

/* ---- search --------------------------------------------------------------------------- */

static void test_search(void **state)
{
	hx_store *s = open_db();
	int64_t c = new_chat(s, 1, "Search <b>me</b>");
	add_msg(s, 1, c, HX_ROLE_USER, "How do I write a café menu in Rust?");
	add_msg(s, 1, c, HX_ROLE_ASSISTANT, "Use a struct for the menu; Rust's serde helps.");
	add_msg(s, 1, c, HX_ROLE_USER, "what about a OR b and NEAR(x) or col:x \"quoted\" 'single' *star*");
	add_msg(s, 1, c, HX_ROLE_USER, "'); DROP TABLE messages; --");
	add_msg(s, 1, c, HX_ROLE_USER, "Ελληνικά κείμενα and Straße");

	assert_int_equal(n_hits(s, 1, "rust"), 2);
	assert_int_equal(n_hits(s, 1, "RUST menu"), 2);
	assert_int_equal(n_hits(s, 1, "cafe"), 1); /* diacritics removed */
	assert_int_equal(n_hits(s, 1, "CAFÉ"), 1);
	assert_int_equal(n_hits(s, 1, "men"), 2); /* prefix on the last word */
	assert_int_equal(n_hits(s, 1, "rust men"), 2);
	assert_int_equal(n_hits(s, 1, "men struct"), 0);  /* only the last word is a prefix */
	assert_int_equal(n_hits(s, 1, "rust python"), 0); /* AND */
	assert_int_equal(n_hits(s, 1, "ελληνικά"), 1);
	assert_int_equal(n_hits(s, 1, "straße"), 1);
	/* hostile: never an error, never syntax */
	static const char *const hostile[] = {"\"",
	                                      "\"\"\"",
	                                      "a OR b",
	                                      "NEAR(",
	                                      "NEAR(x",
	                                      "col:x",
	                                      "*",
	                                      "**",
	                                      "'); DROP TABLE messages; --",
	                                      "^",
	                                      "-",
	                                      "(",
	                                      ")",
	                                      "a AND",
	                                      "content:rust",
	                                      "{content}: rust",
	                                      "rust*",
	                                      "\"rust",
	                                      "NOT rust",
	                                      "\xe2\x80\x83",
	                                      "🙂",
	                                      ""};
	for (size_t i = 0; i < HX_ARRAY_LEN(hostile); i++)
		n_hits(s, 1, hostile[i]);
	assert_int_equal(n_hits(s, 1, ""), 0);
	assert_int_equal(n_hits(s, 1, "   \t "), 0);
	assert_int_equal(n_hits(s, 1, "*"), 0);
	assert_int_equal(n_hits(s, 1, "a OR b"), 1); /* the words a, or, b: all in message 3 */
	assert_int_equal(n_hits(s, 1, "NEAR("), 1);
	assert_int_equal(n_hits(s, 1, "col:x"), 1);
	assert_int_equal(n_hits(s, 1, "\"quoted"), 1);
	assert_int_equal(n_hits(s, 1, "content:rust"), 0); /* "content rust" as a phrase */
	assert_int_equal(n_hits(s, 1, "'); DROP TABLE"), 1);
	assert_int_equal(n_hits(s, 1, "NOT rust"), 0);
	assert_int_equal(raw_int(g_db, "SELECT count(*) FROM messages"), 5);
	/* invalid UTF-8 and oversize queries */
	hx_hit *h;
	size_t n;
	assert_int_equal(hx_search(s, 1, "\xc3", 10, 0, &h, &n), HEARTH_EINVAL);
	char big[2000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	assert_int_equal(hx_search(s, 1, big, 10, 0, &h, &n), HEARTH_EINVAL);
	assert_int_equal(hx_search(s, 1, "rust", 0, 0, &h, &n), HEARTH_EINVAL);
	assert_int_equal(hx_search(s, 1, "rust", 10, -1, &h, &n), HEARTH_EINVAL);
	/* paging and the hit's fields */
	assert_int_equal(hx_search(s, 1, "rust", 1, 1, &h, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].chat_id, c);
	assert_string_equal(h[0].chat_title, "Search <b>me</b>");
	assert_true(h[0].role == HX_ROLE_USER || h[0].role == HX_ROLE_ASSISTANT);
	assert_true(h[0].created_ms > 0);
	hx_hit_list_free(h, n);
	hx_store_close(s);
}

/* Only <mark> and </mark> may appear as tags in a snippet. */
static void assert_safe_html(const char *h)
{
	for (const char *p = strchr(h, '<'); p; p = strchr(p + 1, '<'))
		assert_true(strncmp(p, "<mark>", 6) == 0 || strncmp(p, "</mark>", 7) == 0);
	assert_null(strchr(h, '"'));
	assert_null(strchr(h, '\x01'));
	assert_null(strchr(h, '\x02'));
	int depth = 0;
	for (const char *p = h; (p = strchr(p, '<')); p++) {
		depth += p[1] == '/' ? -1 : 1;
		assert_true(depth == 0 || depth == 1);
	}
	assert_int_equal(depth, 0);
}

static void test_snippets(void **state)
{
	hx_store *s = open_db();
	int64_t c = new_chat(s, 1, "x");
	add_msg(s, 1, c, HX_ROLE_ASSISTANT,
	        "<script>alert(\"needle\")</script> & the needle is <img src=x onerror=alert(1)> here");
	add_msg(s, 1, c, HX_ROLE_USER, "marker \x02 bytes \x01 around haystack \x01 inside \x02");
	hx_hit *h;
	size_t n;
	assert_int_equal(hx_search(s, 1, "needle", 10, 0, &h, &n), 0);
	assert_int_equal(n, 1);
	assert_safe_html(h[0].snippet);
	assert_non_null(strstr(h[0].snippet, "&lt;script&gt;"));
	assert_non_null(strstr(h[0].snippet, "<mark>needle</mark>"));
	assert_non_null(strstr(h[0].snippet, "&amp;"));
	assert_non_null(strstr(h[0].snippet, "&lt;img"));
	hx_hit_list_free(h, n);
	assert_int_equal(hx_search(s, 1, "haystack", 10, 0, &h, &n), 0);
	assert_int_equal(n, 1);
	assert_safe_html(h[0].snippet);
	hx_hit_list_free(h, n);
	/* a long message: the snippet is an excerpt */
	char big[8000] = "";
	for (int i = 0; i < 300; i++)
		strcat(big, i == 150 ? "unicorn " : "filler ");
	add_msg(s, 1, c, HX_ROLE_USER, big);
	assert_int_equal(hx_search(s, 1, "unicorn", 10, 0, &h, &n), 0);
	assert_int_equal(n, 1);
	assert_true(strlen(h[0].snippet) < 400);
	assert_non_null(strstr(h[0].snippet, "<mark>unicorn</mark>"));
	assert_non_null(strstr(h[0].snippet, "\xE2\x80\xA6"));
	hx_hit_list_free(h, n);
	hx_store_close(s);
}

static void test_fts_sync(void **state)
{
	hx_store *s = open_db();
	int64_t c = new_chat(s, 1, "sync");
	int64_t keep = new_chat(s, 1, "keep");
	add_msg(s, 1, keep, HX_ROLE_USER, "alpha in another chat");
	hx_msg m = {.chat_id = c, .role = HX_ROLE_ASSISTANT, .status = HX_MSG_STREAMING, .content = "alpha"};
	assert_int_equal(hx_msg_add(s, 1, &m), 0);
	assert_int_equal(n_hits(s, 1, "alpha"), 2);
	m.content = "alpha beta";
	assert_int_equal(hx_msg_update(s, 1, &m), 0);
	m.content = "beta gamma";
	assert_int_equal(hx_msg_update(s, 1, &m), 0);
	assert_int_equal(n_hits(s, 1, "alpha"), 1);
	assert_int_equal(n_hits(s, 1, "gamma"), 1);
	m.status = HX_MSG_COMPLETE; /* same content: the index is left alone */
	m.n_gen = 3;
	assert_int_equal(hx_msg_update(s, 1, &m), 0);
	assert_int_equal(n_hits(s, 1, "gamma"), 1);
	assert_int_equal(hx_store_check(s), 0);
	assert_int_equal(hx_msg_delete(s, 1, m.id), 0);
	assert_int_equal(n_hits(s, 1, "gamma"), 0);
	add_msg(s, 1, c, HX_ROLE_USER, "delta one");
	add_msg(s, 1, c, HX_ROLE_ASSISTANT, "delta two");
	assert_int_equal(n_hits(s, 1, "delta"), 2);
	assert_int_equal(hx_chat_delete(s, 1, c), 0);
	assert_int_equal(n_hits(s, 1, "delta"), 0);
	assert_int_equal(n_hits(s, 1, "alpha"), 1);
	assert_int_equal(hx_store_check(s), 0);
	hx_store_close(s);
}

/* ---- recovery, transactions, threads ------------------------------------------------- */

static void test_recover(void **state)
{
	hx_store *s = open_db();
	int64_t c = new_chat(s, 1, "crash");
	hx_msg m = {.chat_id = c, .role = HX_ROLE_ASSISTANT, .status = HX_MSG_STREAMING, .content = "half a rep"};
	assert_int_equal(hx_msg_add(s, 1, &m), 0);
	int64_t done_id = add_msg(s, 1, c, HX_ROLE_USER, "done");
	/* another opener while this one is alive (`hearth history` next to a
	 * running server) must not touch the streaming reply */
	hx_store *s2 = open_db();
	hx_msg g;
	assert_int_equal(hx_msg_get(s2, 1, m.id, &g), 0);
	assert_int_equal(g.status, HX_MSG_STREAMING);
	hx_msg_clear(&g);
	hx_store_close(s2);
	assert_int_equal(hx_msg_get(s, 1, m.id, &g), 0);
	assert_int_equal(g.status, HX_MSG_STREAMING);
	hx_msg_clear(&g);
	hx_store_close(s); /* as if the server died */
	s = open_db();
	assert_int_equal(hx_msg_get(s, 1, m.id, &g), 0);
	assert_int_equal(g.status, HX_MSG_ERROR);
	assert_string_equal(g.content, "half a rep");
	assert_non_null(strstr(g.error, "interrupted"));
	hx_msg_clear(&g);
	assert_int_equal(hx_msg_get(s, 1, done_id, &g), 0);
	assert_int_equal(g.status, HX_MSG_COMPLETE);
	assert_string_equal(g.error, "");
	hx_msg_clear(&g);
	int64_t k = 99;
	assert_int_equal(hx_store_recover(s, &k), 0);
	assert_int_equal(k, 0);
	m.id = 0;
	assert_int_equal(hx_msg_add(s, 1, &m), 0);
	assert_int_equal(hx_store_recover(s, &k), 0);
	assert_int_equal(k, 1);
	hx_store_close(s);
}

static void test_transactions(void **state)
{
	hx_store *s = open_db();
	assert_int_equal(hx_store_begin(s), 0);
	assert_int_equal(hx_store_begin(s), HEARTH_EINVAL);
	int64_t c = new_chat(s, 1, "gone");
	add_msg(s, 1, c, HX_ROLE_USER, "rolled back");
	assert_int_equal(hx_store_rollback(s), 0);
	hx_chat g;
	assert_int_equal(hx_chat_get(s, 1, c, &g), HEARTH_ENOTFOUND);
	assert_int_equal(n_hits(s, 1, "rolled"), 0);
	assert_int_equal(hx_store_commit(s), HEARTH_EINVAL);
	assert_int_equal(hx_store_rollback(s), 0);
	/* a failing call inside a transaction leaves the others' writes */
	assert_int_equal(hx_store_begin(s), 0);
	c = new_chat(s, 1, "stays");
	hx_msg bad = {.chat_id = c + 100, .role = HX_ROLE_USER};
	assert_int_equal(hx_msg_add(s, 1, &bad), HEARTH_ENOTFOUND);
	add_msg(s, 1, c, HX_ROLE_USER, "committed");
	assert_int_equal(hx_store_commit(s), 0);
	assert_int_equal(n_hits(s, 1, "committed"), 1);
	assert_int_equal(hx_store_check(s), 0);
	hx_store_close(s);
}

struct thr {
	hx_store *s;
	int64_t chat;
	int fails;
};

static void *writer(void *arg)
{
	struct thr *t = arg;
	for (int i = 0; i < 25; i++) {
		hx_msg m = {.chat_id = t->chat, .role = HX_ROLE_USER, .content = "from a thread"};
		if (hx_msg_add(t->s, 1, &m) != 0)
			t->fails++;
		hx_msg *v;
		size_t n;
		bool more;
		if (hx_msg_list(t->s, 1, t->chat, 0, 0, 10, &v, &n, &more) != 0)
			t->fails++;
		else
			hx_msg_list_free(v, n);
	}
	return NULL;
}

static void test_threads(void **state)
{
	hx_store *s = open_db();
	int64_t c = new_chat(s, 1, "threads");
	pthread_t th[4];
	struct thr t[4];
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){s, c, 0};
		assert_int_equal(pthread_create(&th[i], NULL, writer, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].fails, 0);
	}
	hx_chat g;
	assert_int_equal(hx_chat_get(s, 1, c, &g), 0);
	assert_int_equal(g.n_messages, 100);
	hx_chat_clear(&g);
	hx_store_close(s);
}

/* ---- export / import --------------------------------------------------------------------- */

static void test_export_roundtrip(void **state)
{
	hx_store *s = open_db();
	hx_chat in = {.title = "Round \"trip\" ✓",
	              .model = "qwen3",
	              .system = "You are terse.\nSecond line > quoted",
	              .params = "{\"temperature\":0.7,\"top_p\":0.95,\"max_tokens\":1024,\"thinking\":true}"};
	hx_chat c;
	assert_int_equal(hx_chat_create(s, 1, &in, &c), 0);
	add_msg(s, 1, c.id, HX_ROLE_SYSTEM, "a system turn");
	add_msg(s, 1, c.id, HX_ROLE_USER, "Hello <b>\"world\"</b>\n\twith tabs, \\ backslashes, 🙂 and ünïcödé");
	hx_msg a = {.chat_id = c.id,
	            .role = HX_ROLE_ASSISTANT,
	            .status = HX_MSG_COMPLETE,
	            .content = "Hi!",
	            .reasoning = "they said hello",
	            .model = "qwen3",
	            .n_prompt = 120,
	            .n_cached = 100,
	            .n_gen = 56,
	            .ttft_ms = 35.2,
	            .prompt_ms = 20.1,
	            .gen_ms = 900.3};
	assert_int_equal(hx_msg_add(s, 1, &a), 0);
	hx_msg e = {.chat_id = c.id,
	            .role = HX_ROLE_ASSISTANT,
	            .status = HX_MSG_ERROR,
	            .content = "part",
	            .error = "context full",
	            .model = "qwen3"};
	assert_int_equal(hx_msg_add(s, 1, &e), 0);
	hx_msg st = {.chat_id = c.id, .role = HX_ROLE_ASSISTANT, .status = HX_MSG_STOPPED, .content = ""};
	assert_int_equal(hx_msg_add(s, 1, &st), 0);

	char *d1, *d2, *d3;
	size_t l1, l2, l3;
	assert_int_equal(hx_export_json(s, 1, c.id, &d1, &l1), 0);
	assert_int_equal(strlen(d1), l1);
	assert_non_null(strstr(d1, "\"format\": \"hearth-chat\""));
	assert_non_null(strstr(d1, "\"ttft_ms\": 35.2,"));
	assert_null(strstr(d1, "\"id\""));
	int64_t c2, c3;
	assert_int_equal(hx_import_json(s, 1, d1, l1, &c2), 0);
	assert_true(c2 != c.id);
	assert_int_equal(hx_export_json(s, 1, c2, &d2, &l2), 0);
	if (strcmp(d1, d2) != 0)
		print_message("first:\n%s\nsecond:\n%s\n", d1, d2);
	assert_string_equal(d1, d2);
	assert_int_equal(hx_import_json(s, 1, d2, l2, &c3), 0);
	assert_int_equal(hx_export_json(s, 1, c3, &d3, &l3), 0);
	assert_string_equal(d2, d3);
	hx_chat g;
	assert_int_equal(hx_chat_get(s, 1, c2, &g), 0);
	assert_int_equal(g.created_ms, c.created_ms);
	assert_int_equal(g.n_messages, 5);
	hx_chat_clear(&g);
	free(d2);
	free(d3);

	char *md;
	size_t ml;
	assert_int_equal(hx_export_markdown(s, 1, c.id, &md, &ml), 0);
	assert_int_equal(strlen(md), ml);
	assert_true(strncmp(md, "# Round \"trip\" ✓\n", strlen("# Round \"trip\" ✓\n")) == 0);
	assert_non_null(strstr(md, "> You are terse.\n> Second line"));
	assert_non_null(strstr(md, "## User\n\nHello"));
	assert_non_null(strstr(md, "## Assistant\n\n<details><summary>Thinking</summary>\n\nthey said hello"));
	assert_non_null(strstr(md, "context full"));
	free(md);

	/* plain formats other tools write */
	const char *plain = "{\"messages\":[{\"role\":\"user\",\"content\":\"# Plain import works\"},"
	                    "{\"role\":\"assistant\",\"content\":\"yes\"}]}";
	assert_int_equal(hx_import_json(s, 1, plain, strlen(plain), &c2), 0);
	assert_int_equal(hx_chat_get(s, 1, c2, &g), 0);
	assert_string_equal(g.title, "Plain import works");
	assert_int_equal(g.n_messages, 2);
	hx_chat_clear(&g);
	const char *arr = "[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":\"bare array\"}]";
	assert_int_equal(hx_import_json(s, 1, arr, strlen(arr), &c2), 0);
	assert_int_equal(hx_chat_get(s, 1, c2, &g), 0);
	assert_string_equal(g.title, "bare array");
	hx_chat_clear(&g);
	const char *titled = "{\"title\":\"Given\",\"messages\":[]}";
	assert_int_equal(hx_import_json(s, 1, titled, strlen(titled), &c2), 0);
	assert_int_equal(hx_chat_get(s, 1, c2, &g), 0);
	assert_string_equal(g.title, "Given");
	assert_int_equal(g.n_messages, 0);
	hx_chat_clear(&g);
	/* a chat exported while generating comes back with the reply as an error */
	char *p = strstr(d1, "\"stopped\"");
	assert_non_null(p);
	char *gen = malloc(l1 + 16);
	assert_non_null(gen);
	snprintf(gen, l1 + 16, "%.*s\"streaming\"%s", (int)(p - d1), d1, p + 9);
	assert_int_equal(hx_import_json(s, 1, gen, strlen(gen), &c2), 0);
	hx_msg *v;
	size_t n;
	assert_int_equal(hx_msg_all(s, 1, c2, 0, &v, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(v[4].status, HX_MSG_ERROR);
	assert_non_null(strstr(v[4].error, "interrupted"));
	hx_msg_list_free(v, n);
	free(gen);
	assert_int_equal(
	    hx_import_json(s, 1, "[{\"role\":\"user\",\"content\":\"x\",\"status\":\"streamin\"}]", 51, &c2),
	    HEARTH_EFORMAT);
	free(d1);
	hx_chat_clear(&c);
	hx_store_close(s);
}

static void test_import_malformed(void **state)
{
	hx_store *s = open_db();
	static const char *const bad[] = {
	    "",
	    "{",
	    "null",
	    "42",
	    "\"text\"",
	    "{}",
	    "{\"messages\":{}}",
	    "{\"messages\":[1]}",
	    "{\"messages\":[{}]}",
	    "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
	    "{\"messages\":[{\"role\":\"user\"}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":null}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"bogus\":1}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"status\":\"done\"}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"n_gen\":-1}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"n_gen\":1.5}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"n_gen\":4294967296}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"gen_ms\":\"1\"}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"gen_ms\":-1}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"created_at\":\"yesterday\"}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"created_at\":\"2026-02-30T00:00:00Z\"}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"created_at\":\"2025-13-01T00:00:00Z\"}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"created_at\":1700000000000}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"a\\u0000b\"}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"content\":\"y\"}]}",
	    "{\"title\":5,\"messages\":[]}",
	    "{\"title\":\"t\",\"messages\":[],\"extra\":true}",
	    "{\"format\":\"other\",\"version\":1,\"chat\":{},\"messages\":[]}",
	    "{\"format\":\"hearth-chat\",\"version\":2,\"chat\":{},\"messages\":[]}",
	    "{\"format\":\"hearth-chat\",\"version\":\"1\",\"chat\":{},\"messages\":[]}",
	    "{\"format\":\"hearth-chat\",\"version\":1,\"messages\":[]}",
	    "{\"format\":\"hearth-chat\",\"version\":1,\"chat\":[],\"messages\":[]}",
	    "{\"format\":\"hearth-chat\",\"version\":1,\"chat\":{\"params\":[]},\"messages\":[]}",
	    "{\"format\":\"hearth-chat\",\"version\":1,\"chat\":{\"id\":3},\"messages\":[]}",
	    "{\"format\":\"hearth-chat\",\"version\":1,\"chat\":{},\"messages\":[],\"more\":1}",
	    "[{\"role\":\"user\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":\"\\ud800\"}]",
	    "[{\"role\":\"user\",\"content\":\"ok\"}] trailing",
	    "\xff\xfe[]",
	};
	for (size_t i = 0; i < HX_ARRAY_LEN(bad); i++) {
		int64_t id = 99;
		int rc = hx_import_json(s, 1, bad[i], strlen(bad[i]), &id);
		if (rc != HEARTH_EFORMAT)
			print_message("case %zu (%s): %d\n", i, bad[i], rc);
		assert_int_equal(rc, HEARTH_EFORMAT);
		assert_int_equal(id, 0);
		assert_non_null(strstr(hearth_errmsg(), "import"));
	}
	/* the message names the field and the index */
	const char *d = "[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\",\"n_gen\":\"x\"}]";
	assert_int_equal(hx_import_json(s, 1, d, strlen(d), NULL), HEARTH_EFORMAT);
	assert_non_null(strstr(hearth_errmsg(), "messages[1].n_gen"));
	/* too many messages */
	size_t n = 100001, cap = n * 32 + 16, len = 0;
	char *big = malloc(cap);
	assert_non_null(big);
	big[len++] = '[';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(big + len, cap - len, "%s{\"role\":\"user\",\"content\":\"\"}", i ? "," : "");
	big[len++] = ']';
	assert_int_equal(hx_import_json(s, 1, big, len, NULL), HEARTH_EFORMAT);
	assert_non_null(strstr(hearth_errmsg(), "100000"));
	free(big);
	/* nothing was written */
	assert_int_equal(raw_int(g_db, "SELECT count(*) FROM chats"), 0);
	assert_int_equal(raw_int(g_db, "SELECT count(*) FROM messages"), 0);
	assert_int_equal(hx_import_json(s, 0, "[]", 2, NULL), HEARTH_EINVAL);
	hx_store_close(s);
}

/* ---- titles ---------------------------------------------------------------------------- */

static void title_is(const char *text, const char *want)
{
	char *t = hx_title_from_text(text);
	assert_non_null(t);
	if (strcmp(t, want) != 0)
		print_message("title of \"%s\": \"%s\", want \"%s\"\n", text ? text : "(null)", t, want);
	assert_string_equal(t, want);
	free(t);
}

static void test_titles(void **state)
{
	title_is("How do I reverse a list in Python?", "How do I reverse a list in Python?");
	title_is(NULL, "New chat");
	title_is("", "New chat");
	title_is("  \n\t \n", "New chat");
	title_is("/help", "New chat");
	title_is("/search rust lifetimes", "rust lifetimes");
	title_is("/usr/bin/env is missing", "/usr/bin/env is missing");
	title_is("# **Bold** heading", "Bold heading");
	title_is("> quoted `code` and [a link](http://x.y/z) and ![img](i.png)", "quoted code and a link and img");
	title_is("- list item with snake_case_name", "list item with snake_case_name");
	title_is("1. first step", "first step");
	title_is("\n\nfirst   line\twith   spaces\nsecond line", "first line with spaces");
	title_is("```python\nprint('hi')\n```", "print('hi')");
	title_is("Explain the difference between threads and processes in operating systems please",
	         "Explain the difference between threads and…");
	title_is("Supercalifragilisticexpialidocious_is_a_very_long_word_without_spaces_at_all",
	         "Supercalifragilisticexpialidocious_is_a_very_lo…");
	/* UTF-8: 60 two-byte characters, cut at a character boundary */
	char u[256] = "";
	for (int i = 0; i < 60; i++)
		strcat(u, "é");
	char *t = hx_title_from_text(u);
	assert_non_null(t);
	assert_int_equal(strlen(t), 47 * 2 + 3);
	assert_string_equal(t + 94, "…");
	free(t);
	/* three-byte characters with spaces */
	title_is("日本語の文章 です。 とても 長い 文章 を 書いて います 日本語の文章 です。 とても 長い 文章 を 書いて",
	         "日本語の文章 です。 とても 長い 文章 を 書いて います 日本語の文章 です。 とても…"); /* 45 + … */
	title_is("bad \xff\xfe bytes", "bad bytes");
	title_is("\x01\x02 control", "control");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_ours, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_isolation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crud, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_msg_pages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_chat_cursors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snippets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fts_sync, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_export_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_malformed, setup, teardown),
	    cmocka_unit_test(test_titles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
