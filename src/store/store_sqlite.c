/*
 * store_sqlite.c - the SQLite backend of the chat-history store (store.h).
 *
 * One connection per handle, serialized by a (recursive) mutex: calls from
 * several HTTP threads queue up; WAL lets other processes (a `sqlite3` shell,
 * `hearth history`) read meanwhile.  Statements are prepared once per
 * connection and cached; every value is bound, never spliced into SQL.
 *
 * Durability: journal_mode=WAL with synchronous=FULL means every COMMIT
 * fsyncs the write-ahead log before returning, so a write acknowledged to a
 * caller survives a power loss or an OS crash (with NORMAL the last commits
 * could be lost, though the database would stay consistent).  Checkpoints
 * copy the log into the main file later; a crash during one is recovered
 * from the log on the next open.
 *
 * Schema (PRAGMA user_version = number of migrations applied; PRAGMA
 * application_id marks the file as hearth's):
 *   users(id, name, created_at)                          user 1 is "local"
 *   chats(id, user_id -> users, title, model, system, params JSON text,
 *         context_from, created_at, updated_at)          index (user_id, updated_at DESC, id DESC)
 *   messages(id, chat_id -> chats ON DELETE CASCADE, role, status, content,
 *            reasoning, model, error, n_prompt, n_cached, n_gen, ttft_ms,
 *            prompt_ms, gen_ms, created_at)              index (chat_id, id)
 *   messages_fts: FTS5 over messages.content (external content, so the text
 *            is stored once), kept in sync by triggers.
 * Ids are AUTOINCREMENT: a deleted message's id is never reused (the server's
 * event ids name replies by message id).  Times are ms since the epoch.
 *
 * Every open handle holds a shared flock on "<path>.lock"; the opener that
 * gets it exclusively (nobody else has the file open) runs the migrations and
 * the crash recovery, so `hearth history` opening the database while
 * `hearth serve` streams a reply does not mark that reply as interrupted.
 */
#include "store/store_int.h"

#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEARTH_APP_ID 0x48727468 /* "Hrth" */

/* ---- schema ------------------------------------------------------------------ */

/* Migration i brings the schema from version i to i + 1; each runs in one
 * transaction together with the user_version bump.  Never edit a released
 * migration: add one. */
/* clang-format off */
static const char *const migrations[] = {
	/* 1: users, chats, messages, full-text index */
	"PRAGMA application_id = 1215460456;\n"
	"CREATE TABLE users (\n"
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"  name TEXT NOT NULL UNIQUE,\n"
	"  created_at INTEGER NOT NULL\n"
	");\n"
	"INSERT INTO users (id, name, created_at)\n"
	"  VALUES (1, 'local', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));\n"
	"CREATE TABLE chats (\n"
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"  user_id INTEGER NOT NULL REFERENCES users (id),\n"
	"  title TEXT NOT NULL,\n"
	"  model TEXT NOT NULL DEFAULT '',\n"
	"  system TEXT NOT NULL DEFAULT '',\n"
	"  params TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),\n"
	"  context_from INTEGER NOT NULL DEFAULT 0,\n"
	"  created_at INTEGER NOT NULL,\n"
	"  updated_at INTEGER NOT NULL\n"
	");\n"
	"CREATE INDEX chats_by_user_updated ON chats (user_id, updated_at DESC, id DESC);\n"
	"CREATE TABLE messages (\n"
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"  chat_id INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,\n"
	"  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),\n"
	"  status TEXT NOT NULL DEFAULT 'complete'\n"
	"    CHECK (status IN ('complete', 'streaming', 'stopped', 'error')),\n"
	"  content TEXT NOT NULL DEFAULT '',\n"
	"  reasoning TEXT NOT NULL DEFAULT '',\n"
	"  model TEXT NOT NULL DEFAULT '',\n"
	"  error TEXT NOT NULL DEFAULT '',\n"
	"  n_prompt INTEGER NOT NULL DEFAULT 0,\n"
	"  n_cached INTEGER NOT NULL DEFAULT 0,\n"
	"  n_gen INTEGER NOT NULL DEFAULT 0,\n"
	"  ttft_ms REAL NOT NULL DEFAULT 0,\n"
	"  prompt_ms REAL NOT NULL DEFAULT 0,\n"
	"  gen_ms REAL NOT NULL DEFAULT 0,\n"
	"  created_at INTEGER NOT NULL\n"
	");\n"
	"CREATE INDEX messages_by_chat ON messages (chat_id, id);\n"
	/* hx_store_recover finds the streaming ones without a scan */
	"CREATE INDEX messages_streaming ON messages (id) WHERE status = 'streaming';\n"
	"CREATE VIRTUAL TABLE messages_fts USING fts5 (\n"
	"  content, content = 'messages', content_rowid = 'id',\n"
	"  tokenize = 'unicode61 remove_diacritics 2',\n"
	/* search-as-you-type: the last word is a prefix; indexing 2- and
	 * 3-character prefixes halves such queries' time (bench/store.c) for
	 * twice the index size */
	"  prefix = '2 3'\n"
	");\n"
	"CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN\n"
	"  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);\n"
	"END;\n"
	"CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN\n"
	"  INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);\n"
	"END;\n"
	/* status/stats-only updates (and there are many while streaming) leave
	 * the index alone */
	"CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages\n"
	"  WHEN old.content IS NOT new.content BEGIN\n"
	"  INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);\n"
	"  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);\n"
	"END;\n",
};
/* clang-format on */
#define N_MIGRATIONS ((int)HX_ARRAY_LEN(migrations))

/* ---- statements ---------------------------------------------------------------- */

/* clang-format off */
#define CHAT_COLS                                                                                           \
	"c.id, c.user_id, c.title, c.model, c.system, c.params, c.context_from, c.created_at, c.updated_at, " \
	"(SELECT count(*) FROM messages m WHERE m.chat_id = c.id)"
#define MSG_COLS                                                                                       \
	"m.id, m.chat_id, m.role, m.status, m.content, m.reasoning, m.model, m.error, m.n_prompt, " \
	"m.n_cached, m.n_gen, m.ttft_ms, m.prompt_ms, m.gen_ms, m.created_at"
/* The row's chat belongs to user ?2 (a primary-key probe, not a list of the
 * user's chats). */
#define OWNED(chat_col) "EXISTS (SELECT 1 FROM chats c WHERE c.id = " chat_col " AND c.user_id = ?2)"

enum {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_USER_INSERT,
	ST_CHAT_INSERT,
	ST_CHAT_GET,
	ST_CHAT_OWNED,
	ST_CHAT_LIST_FIRST,
	ST_CHAT_LIST_AFTER,
	ST_CHAT_UPDATE,
	ST_CHAT_TOUCH,
	ST_CHAT_DELETE,
	ST_MSG_INSERT,
	ST_MSG_UPDATE,
	ST_MSG_GET,
	ST_MSG_DELETE,
	ST_MSG_LATEST,
	ST_MSG_BEFORE,
	ST_MSG_AFTER,
	ST_MSG_ALL,
	ST_RECOVER,
	ST_SEARCH,
	ST_COUNT
};

static const char *const sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT hx_op",
	[ST_RELEASE] = "RELEASE hx_op",
	[ST_ROLLBACK_TO] = "ROLLBACK TO hx_op",
	[ST_USER_INSERT] = "INSERT INTO users (name, created_at) VALUES (?1, ?2)",
	[ST_CHAT_INSERT] = "INSERT INTO chats (user_id, title, model, system, params, context_from, created_at, "
	                   "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_CHAT_GET] = "SELECT " CHAT_COLS " FROM chats c WHERE c.id = ?1 AND c.user_id = ?2",
	[ST_CHAT_OWNED] = "SELECT 1 FROM chats WHERE id = ?1 AND user_id = ?2",
	[ST_CHAT_LIST_FIRST] = "SELECT " CHAT_COLS " FROM chats c WHERE c.user_id = ?1 "
	                       "ORDER BY c.updated_at DESC, c.id DESC LIMIT ?2",
	[ST_CHAT_LIST_AFTER] = "SELECT " CHAT_COLS " FROM chats c WHERE c.user_id = ?1 "
	                       "AND (c.updated_at, c.id) < (?3, ?4) "
	                       "ORDER BY c.updated_at DESC, c.id DESC LIMIT ?2",
	[ST_CHAT_UPDATE] = "UPDATE chats SET title = coalesce(?3, title), model = coalesce(?4, model), "
	                   "system = coalesce(?5, system), params = coalesce(?6, params), "
	                   "context_from = CASE WHEN ?7 THEN ?8 ELSE context_from END, updated_at = ?9 "
	                   "WHERE id = ?1 AND user_id = ?2",
	[ST_CHAT_TOUCH] = "UPDATE chats SET updated_at = ?3 WHERE id = ?1 AND user_id = ?2",
	[ST_CHAT_DELETE] = "DELETE FROM chats WHERE id = ?1 AND user_id = ?2",
	[ST_MSG_INSERT] = "INSERT INTO messages (chat_id, role, status, content, reasoning, model, error, n_prompt, "
	                  "n_cached, n_gen, ttft_ms, prompt_ms, gen_ms, created_at) "
	                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
	[ST_MSG_UPDATE] = "UPDATE messages SET status = ?3, content = ?4, reasoning = ?5, error = ?6, n_prompt = ?7, "
	                  "n_cached = ?8, n_gen = ?9, ttft_ms = ?10, prompt_ms = ?11, gen_ms = ?12 "
	                  "WHERE id = ?1 AND " OWNED("messages.chat_id"),
	[ST_MSG_GET] = "SELECT " MSG_COLS " FROM messages m WHERE m.id = ?1 AND " OWNED("m.chat_id"),
	[ST_MSG_DELETE] = "DELETE FROM messages WHERE id = ?1 AND " OWNED("messages.chat_id"),
	[ST_MSG_LATEST] = "SELECT " MSG_COLS " FROM messages m WHERE m.chat_id = ?1 ORDER BY m.id DESC LIMIT ?2",
	[ST_MSG_BEFORE] = "SELECT " MSG_COLS " FROM messages m WHERE m.chat_id = ?1 AND m.id < ?3 "
	                  "ORDER BY m.id DESC LIMIT ?2",
	[ST_MSG_AFTER] = "SELECT " MSG_COLS " FROM messages m WHERE m.chat_id = ?1 AND m.id > ?3 "
	                 "ORDER BY m.id ASC LIMIT ?2",
	[ST_MSG_ALL] = "SELECT " MSG_COLS " FROM messages m WHERE m.chat_id = ?1 AND m.id >= ?2 ORDER BY m.id",
	[ST_RECOVER] = "UPDATE messages SET status = 'error', error = ?1 WHERE status = 'streaming'",
	[ST_SEARCH] = "SELECT m.chat_id, m.id, c.title, m.role, "
	              "snippet(messages_fts, 0, char(1), char(2), '\xE2\x80\xA6', 24), m.created_at "
	              "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
	              "JOIN chats c ON c.id = m.chat_id "
	              "WHERE messages_fts MATCH ?1 AND c.user_id = ?2 "
	              "ORDER BY bm25(messages_fts), m.created_at DESC, m.id DESC LIMIT ?3 OFFSET ?4",
};

/* clang-format on */

struct sq_store {
	struct hx_store base;
	sqlite3 *db;
	pthread_mutex_t mu; /* recursive: an explicit transaction holds it across calls */
	bool in_tx;         /* inside hx_store_begin .. commit/rollback */
	sqlite3_stmt *st[ST_COUNT];
	char *path;
	int lock_fd; /* "<path>.lock", flock'ed shared while open (-1: none) */
};

static struct sq_store *SQ(hx_store *s)
{
	return (struct sq_store *)s;
}

static void lock(struct sq_store *q)
{
	pthread_mutex_lock(&q->mu);
}
static void unlock(struct sq_store *q)
{
	pthread_mutex_unlock(&q->mu);
}

/* Turns an SQLite result code into a HEARTH_E* code with a message naming
 * what was being done and SQLite's reason. */
static int sq_err(struct sq_store *q, int rc, const char *what)
{
	const char *msg = q && q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc);
	switch (rc & 0xff) {
	case SQLITE_NOMEM: return hx_err(HEARTH_ENOMEM, "%s: out of memory", what);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return hx_err(HEARTH_EFORMAT, "%s: the history database is corrupt or not a database (%s)", what, msg);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return hx_err(HEARTH_EIO, "%s: the history database is locked by another process (%s)", what, msg);
	case SQLITE_FULL: return hx_err(HEARTH_EIO, "%s: the disk is full (%s)", what, msg);
	case SQLITE_READONLY: return hx_err(HEARTH_EIO, "%s: the history database is read-only (%s)", what, msg);
	default: return hx_err(HEARTH_EIO, "%s: database error: %s", what, msg);
	}
}

/* The cached statement `id`, prepared on first use. */
static int prep(struct sq_store *q, int id, sqlite3_stmt **out)
{
	if (!q->st[id]) {
		int rc = sqlite3_prepare_v3(q->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT, &q->st[id], NULL);
		if (rc != SQLITE_OK) {
			q->st[id] = NULL;
			return sq_err(q, rc, "preparing a query");
		}
	}
	*out = q->st[id];
	return 0;
}

/* Makes a cached statement ready for its next use. */
static void done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement without bindings or rows (transaction control). */
static int run(struct sq_store *q, int id, const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(q, id, &st);
	if (rc)
		return rc;
	rc = sqlite3_step(st);
	done(st);
	return rc == SQLITE_DONE ? 0 : sq_err(q, rc, what);
}

static void bind_str(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_STATIC);
}

/* Binds v, or NULL when v is NULL (the "leave unchanged" of updates). */
static void bind_opt(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Column i as a malloc'd string ("" for NULL); sets *oom on failure. */
static char *col_str(sqlite3_stmt *st, int i, bool *oom)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	char *r = t ? hx_strndup((const char *)t, (size_t)sqlite3_column_bytes(st, i)) : hx_strdup("");
	if (!r)
		*oom = true;
	return r;
}

/* Steps a bound UPDATE or DELETE and readies it for reuse: sq_err naming
 * `what` when it fails, HEARTH_ENOTFOUND "<missing> <id>" when no row matched. */
static int step_changed(struct sq_store *q, sqlite3_stmt *st, const char *what, const char *missing, int64_t id)
{
	int r = sqlite3_step(st);
	done(st);
	if (r != SQLITE_DONE)
		return sq_err(q, r, what);
	if (sqlite3_changes(q->db) == 0)
		return hx_err(HEARTH_ENOTFOUND, "%s %" PRId64, missing, id);
	return 0;
}

/* Binds a message's counts and timings to parameters i .. i+5 (n_prompt,
 * n_cached, n_gen, ttft_ms, prompt_ms, gen_ms: the order of both the INSERT
 * and the UPDATE). */
static void bind_msg_stats(sqlite3_stmt *st, int i, const hx_msg *m)
{
	sqlite3_bind_int(st, i, m->n_prompt);
	sqlite3_bind_int(st, i + 1, m->n_cached);
	sqlite3_bind_int(st, i + 2, m->n_gen);
	sqlite3_bind_double(st, i + 3, m->ttft_ms);
	sqlite3_bind_double(st, i + 4, m->prompt_ms);
	sqlite3_bind_double(st, i + 5, m->gen_ms);
}

/* ---- write transactions inside one operation ---------------------------------- */

/* Starts the operation's own transaction, or a savepoint inside the caller's
 * explicit one, so a failing operation never leaves half its writes. */
static int op_begin(struct sq_store *q)
{
	return run(q, q->in_tx ? ST_SAVEPOINT : ST_BEGIN, "starting a transaction");
}

/* Ends what op_begin started: commits when rc is 0, else rolls back; returns
 * rc or the commit's error. */
static int op_end(struct sq_store *q, int rc)
{
	if (q->in_tx) {
		if (rc) {
			run(q, ST_ROLLBACK_TO, "rolling back");
			run(q, ST_RELEASE, "rolling back");
			return rc;
		}
		return run(q, ST_RELEASE, "committing");
	}
	if (rc) {
		if (!sqlite3_get_autocommit(q->db))
			run(q, ST_ROLLBACK, "rolling back");
		return rc;
	}
	rc = run(q, ST_COMMIT, "committing");
	if (rc && !sqlite3_get_autocommit(q->db))
		run(q, ST_ROLLBACK, "rolling back");
	return rc;
}

/* ---- rows ---------------------------------------------------------------------- */

static int read_chat(struct sq_store *q, sqlite3_stmt *st, hx_chat *c)
{
	bool oom = false;
	memset(c, 0, sizeof *c);
	c->id = sqlite3_column_int64(st, 0);
	c->user_id = sqlite3_column_int64(st, 1);
	c->title = col_str(st, 2, &oom);
	c->model = col_str(st, 3, &oom);
	c->system = col_str(st, 4, &oom);
	c->params = col_str(st, 5, &oom);
	c->context_from = sqlite3_column_int64(st, 6);
	c->created_ms = sqlite3_column_int64(st, 7);
	c->updated_ms = sqlite3_column_int64(st, 8);
	c->n_messages = sqlite3_column_int64(st, 9);
	if (oom) {
		hx_chat_clear(c);
		return hx_err(HEARTH_ENOMEM, "out of memory reading a chat");
	}
	(void)q;
	return 0;
}

static int read_msg(sqlite3_stmt *st, hx_msg *m)
{
	bool oom = false;
	memset(m, 0, sizeof *m);
	m->id = sqlite3_column_int64(st, 0);
	m->chat_id = sqlite3_column_int64(st, 1);
	m->role = hx_role_parse((const char *)sqlite3_column_text(st, 2));
	m->status = hx_msg_status_parse((const char *)sqlite3_column_text(st, 3));
	m->content = col_str(st, 4, &oom);
	m->reasoning = col_str(st, 5, &oom);
	m->model = col_str(st, 6, &oom);
	m->error = col_str(st, 7, &oom);
	sqlite3_int64 a = sqlite3_column_int64(st, 8), b = sqlite3_column_int64(st, 9),
	              g = sqlite3_column_int64(st, 10);
	m->n_prompt = a >= 0 && a <= INT32_MAX ? (int32_t)a : 0;
	m->n_cached = b >= 0 && b <= INT32_MAX ? (int32_t)b : 0;
	m->n_gen = g >= 0 && g <= INT32_MAX ? (int32_t)g : 0;
	m->ttft_ms = sqlite3_column_double(st, 11);
	m->prompt_ms = sqlite3_column_double(st, 12);
	m->gen_ms = sqlite3_column_double(st, 13);
	m->created_ms = sqlite3_column_int64(st, 14);
	if (oom) {
		hx_msg_clear(m);
		return hx_err(HEARTH_ENOMEM, "out of memory reading a message");
	}
	if (m->role < 0 || m->status < 0) {
		int64_t id = m->id;
		hx_msg_clear(m);
		return hx_err(HEARTH_EFORMAT, "message %" PRId64 ": unknown role or status in the database", id);
	}
	return 0;
}

/* Steps st and collects up to `max` messages into a new array. */
static int read_msgs(struct sq_store *q, sqlite3_stmt *st, size_t max, hx_msg **out, size_t *n)
{
	hx_msg *v = NULL;
	size_t nv = 0, cap = 0;
	int rc = 0, s;
	while (nv < max && (s = sqlite3_step(st)) == SQLITE_ROW) {
		if (nv == cap) {
			size_t nc = cap ? cap * 2 : 16;
			hx_msg *p = hx_realloc(v, nc * sizeof *v);
			if (!p) {
				rc = HEARTH_ENOMEM;
				break;
			}
			v = p;
			cap = nc;
		}
		if ((rc = read_msg(st, &v[nv])))
			break;
		nv++;
	}
	if (!rc && nv < max && s != SQLITE_DONE)
		rc = sq_err(q, s, "reading messages");
	if (rc) {
		hx_msg_list_free(v, nv);
		return rc;
	}
	*out = v;
	*n = nv;
	return 0;
}

/* 0 when chat `id` exists and belongs to `user`, else HEARTH_ENOTFOUND. */
static int chat_owned(struct sq_store *q, int64_t user, int64_t id)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(q, ST_CHAT_OWNED, &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, user);
	int s = sqlite3_step(st);
	done(st);
	if (s == SQLITE_ROW)
		return 0;
	if (s == SQLITE_DONE)
		return hx_err(HEARTH_ENOTFOUND, "no chat %" PRId64, id);
	return sq_err(q, s, "looking up a chat");
}

/* ---- operations ------------------------------------------------------------------ */

static void sq_close(hx_store *s)
{
	struct sq_store *q = SQ(s);
	if (q->in_tx && q->db)
		run(q, ST_ROLLBACK, "rolling back");
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(q->st[i]);
	sqlite3_close_v2(q->db);
	if (q->lock_fd >= 0)
		close(q->lock_fd);
	pthread_mutex_destroy(&q->mu);
	free(q->path);
	free(q);
}

static int sq_begin(hx_store *s)
{
	struct sq_store *q = SQ(s);
	lock(q);
	if (q->in_tx) {
		unlock(q);
		return hx_err(HEARTH_EINVAL, "hx_store_begin: a transaction is already open");
	}
	int rc = run(q, ST_BEGIN, "starting a transaction");
	if (rc) {
		unlock(q);
		return rc;
	}
	q->in_tx = true;
	return 0; /* the lock stays held until commit/rollback */
}

static int sq_commit(hx_store *s)
{
	struct sq_store *q = SQ(s);
	lock(q);
	if (!q->in_tx) {
		unlock(q);
		return hx_err(HEARTH_EINVAL, "hx_store_commit: no transaction is open");
	}
	int rc = run(q, ST_COMMIT, "committing");
	if (rc && !sqlite3_get_autocommit(q->db))
		run(q, ST_ROLLBACK, "rolling back");
	q->in_tx = false;
	unlock(q);
	unlock(q);
	return rc;
}

static int sq_rollback(hx_store *s)
{
	struct sq_store *q = SQ(s);
	lock(q);
	if (!q->in_tx) {
		unlock(q);
		return 0;
	}
	int rc = sqlite3_get_autocommit(q->db) ? 0 : run(q, ST_ROLLBACK, "rolling back");
	q->in_tx = false;
	unlock(q);
	unlock(q);
	return rc;
}

static int sq_user_create(hx_store *s, const char *name, int64_t created_ms, int64_t *id)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	lock(q);
	int rc = prep(q, ST_USER_INSERT, &st);
	if (!rc) {
		bind_str(st, 1, name);
		sqlite3_bind_int64(st, 2, created_ms);
		int r = sqlite3_step(st);
		done(st);
		if (r == SQLITE_DONE)
			*id = sqlite3_last_insert_rowid(q->db);
		else if ((r & 0xff) == SQLITE_CONSTRAINT)
			rc = hx_err(HEARTH_EINVAL, "user name: \"%s\" is taken", name);
		else
			rc = sq_err(q, r, "adding a user");
	}
	unlock(q);
	return rc;
}

static int sq_recover(hx_store *s, const char *error, int64_t *n_marked)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	lock(q);
	int rc = prep(q, ST_RECOVER, &st);
	if (!rc) {
		bind_str(st, 1, error);
		int r = sqlite3_step(st);
		done(st);
		if (r == SQLITE_DONE)
			*n_marked = sqlite3_changes(q->db);
		else
			rc = sq_err(q, r, "marking interrupted messages");
	}
	unlock(q);
	return rc;
}

/* Runs a check statement whose rows are "ok" or problems. */
static int check_rows(struct sq_store *q, const char *sqltext, const char *what)
{
	sqlite3_stmt *st = NULL;
	int r = sqlite3_prepare_v2(q->db, sqltext, -1, &st, NULL);
	if (r != SQLITE_OK)
		return sq_err(q, r, what);
	int rc = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (t && strcmp(t, "ok") != 0 && !rc)
			rc = hx_err(HEARTH_EFORMAT, "%s: %s", what, t);
	}
	if (r != SQLITE_DONE && !rc)
		rc = sq_err(q, r, what);
	sqlite3_finalize(st);
	return rc;
}

static int sq_check(hx_store *s)
{
	struct sq_store *q = SQ(s);
	lock(q);
	int rc = check_rows(q, "PRAGMA integrity_check", "integrity check");
	if (!rc)
		rc = check_rows(q, "PRAGMA foreign_key_check", "foreign key check");
	if (!rc) {
		/* FTS5 compares its index with the messages table (rank 1: also
		 * the external content, which a plain integrity-check skips). */
		int r =
		    sqlite3_exec(q->db, "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)",
		                 NULL, NULL, NULL);
		if (r != SQLITE_OK)
			rc = hx_err(HEARTH_EFORMAT, "search index check: %s", sqlite3_errmsg(q->db));
	}
	unlock(q);
	return rc;
}

static int sq_chat_get_locked(struct sq_store *q, int64_t user, int64_t id, hx_chat *out)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(q, ST_CHAT_GET, &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, user);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		rc = read_chat(q, st, out);
	else if (r == SQLITE_DONE)
		rc = hx_err(HEARTH_ENOTFOUND, "no chat %" PRId64, id);
	else
		rc = sq_err(q, r, "reading a chat");
	done(st);
	return rc;
}

static int sq_chat_create(hx_store *s, int64_t user, const hx_chat *in, int64_t created_ms, int64_t updated_ms,
                          hx_chat *out)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	lock(q);
	int rc = prep(q, ST_CHAT_INSERT, &st);
	int64_t id = 0;
	if (!rc) {
		sqlite3_bind_int64(st, 1, user);
		bind_str(st, 2, in->title);
		bind_str(st, 3, in->model);
		bind_str(st, 4, in->system);
		bind_str(st, 5, in->params);
		sqlite3_bind_int64(st, 6, in->context_from > 0 ? in->context_from : 0);
		sqlite3_bind_int64(st, 7, created_ms);
		sqlite3_bind_int64(st, 8, updated_ms);
		int r = sqlite3_step(st);
		done(st);
		if (r == SQLITE_DONE)
			id = sqlite3_last_insert_rowid(q->db);
		else if (r == SQLITE_CONSTRAINT_FOREIGNKEY)
			rc = hx_err(HEARTH_ENOTFOUND, "no user %" PRId64, user);
		else
			rc = sq_err(q, r, "creating a chat");
	}
	if (!rc && out)
		rc = sq_chat_get_locked(q, user, id, out);
	unlock(q);
	return rc;
}

static int sq_chat_get(hx_store *s, int64_t user, int64_t id, hx_chat *out)
{
	struct sq_store *q = SQ(s);
	lock(q);
	int rc = sq_chat_get_locked(q, user, id, out);
	unlock(q);
	return rc;
}

static int sq_chat_list(hx_store *s, int64_t user, bool first, int64_t after_updated, int64_t after_id, int limit,
                        hx_chat **out, size_t *n, bool *more)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	lock(q);
	int rc = prep(q, first ? ST_CHAT_LIST_FIRST : ST_CHAT_LIST_AFTER, &st);
	if (rc) {
		unlock(q);
		return rc;
	}
	sqlite3_bind_int64(st, 1, user);
	sqlite3_bind_int(st, 2, limit + 1);
	if (!first) {
		sqlite3_bind_int64(st, 3, after_updated);
		sqlite3_bind_int64(st, 4, after_id);
	}
	hx_chat *v = hx_calloc((size_t)limit, sizeof *v);
	size_t nv = 0;
	int r = SQLITE_DONE;
	if (!v)
		rc = HEARTH_ENOMEM;
	*more = false;
	while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
		if (nv == (size_t)limit) {
			*more = true;
			break;
		}
		if ((rc = read_chat(q, st, &v[nv])))
			break;
		nv++;
	}
	if (!rc && r != SQLITE_ROW && r != SQLITE_DONE)
		rc = sq_err(q, r, "listing chats");
	done(st);
	unlock(q);
	if (rc) {
		hx_chat_list_free(v, nv);
		return rc;
	}
	*out = v;
	*n = nv;
	return 0;
}

static int sq_chat_update(hx_store *s, int64_t user, int64_t id, const hx_chat *patch, bool set_context_from,
                          int64_t updated_ms)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	lock(q);
	int rc = prep(q, ST_CHAT_UPDATE, &st);
	if (!rc) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, user);
		bind_opt(st, 3, patch->title);
		bind_opt(st, 4, patch->model);
		bind_opt(st, 5, patch->system);
		bind_opt(st, 6, patch->params);
		sqlite3_bind_int(st, 7, set_context_from);
		sqlite3_bind_int64(st, 8, patch->context_from);
		sqlite3_bind_int64(st, 9, updated_ms);
		rc = step_changed(q, st, "updating a chat", "no chat", id);
	}
	unlock(q);
	return rc;
}

/* Sets chat `id`'s updated_at (which also checks that it is the user's). */
static int chat_touch(struct sq_store *q, int64_t user, int64_t id, int64_t updated_ms, const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(q, ST_CHAT_TOUCH, &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, user);
	sqlite3_bind_int64(st, 3, updated_ms);
	return step_changed(q, st, what, "no chat", id);
}

static int sq_chat_touch(hx_store *s, int64_t user, int64_t id, int64_t updated_ms)
{
	struct sq_store *q = SQ(s);
	lock(q);
	int rc = chat_touch(q, user, id, updated_ms, "updating a chat");
	unlock(q);
	return rc;
}

/* Runs a one-row DELETE/UPDATE bound to (id, user); HEARTH_ENOTFOUND with
 * `missing` when nothing matched. */
static int run_owned(struct sq_store *q, int which, int64_t user, int64_t id, const char *what, const char *missing)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(q, which, &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, user);
	return step_changed(q, st, what, missing, id);
}

static int sq_chat_delete(hx_store *s, int64_t user, int64_t id)
{
	struct sq_store *q = SQ(s);
	lock(q);
	int rc = op_begin(q);
	if (!rc)
		rc = op_end(q, run_owned(q, ST_CHAT_DELETE, user, id, "deleting a chat", "no chat"));
	unlock(q);
	return rc;
}

static int sq_msg_add(hx_store *s, int64_t user, hx_msg *m)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	lock(q);
	int rc = op_begin(q);
	if (rc) {
		unlock(q);
		return rc;
	}
	/* Bumping the chat first also checks that it is the user's. */
	rc = chat_touch(q, user, m->chat_id, m->created_ms, "adding a message");
	if (!rc)
		rc = prep(q, ST_MSG_INSERT, &st);
	if (!rc) {
		sqlite3_bind_int64(st, 1, m->chat_id);
		bind_str(st, 2, hx_role_name(m->role));
		bind_str(st, 3, hx_msg_status_name(m->status));
		bind_str(st, 4, m->content);
		bind_str(st, 5, m->reasoning);
		bind_str(st, 6, m->model);
		bind_str(st, 7, m->error);
		bind_msg_stats(st, 8, m);
		sqlite3_bind_int64(st, 14, m->created_ms);
		int r = sqlite3_step(st);
		done(st);
		if (r != SQLITE_DONE)
			rc = sq_err(q, r, "adding a message");
		else
			m->id = sqlite3_last_insert_rowid(q->db);
	}
	rc = op_end(q, rc);
	unlock(q);
	return rc;
}

static int sq_msg_update(hx_store *s, int64_t user, const hx_msg *m)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	lock(q);
	int rc = prep(q, ST_MSG_UPDATE, &st);
	if (!rc) {
		sqlite3_bind_int64(st, 1, m->id);
		sqlite3_bind_int64(st, 2, user);
		bind_str(st, 3, hx_msg_status_name(m->status));
		bind_str(st, 4, m->content);
		bind_str(st, 5, m->reasoning);
		bind_str(st, 6, m->error);
		bind_msg_stats(st, 7, m);
		rc = step_changed(q, st, "updating a message", "no message", m->id);
	}
	unlock(q);
	return rc;
}

static int sq_msg_get(hx_store *s, int64_t user, int64_t id, hx_msg *out)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	lock(q);
	int rc = prep(q, ST_MSG_GET, &st);
	if (!rc) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, user);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			rc = read_msg(st, out);
		else if (r == SQLITE_DONE)
			rc = hx_err(HEARTH_ENOTFOUND, "no message %" PRId64, id);
		else
			rc = sq_err(q, r, "reading a message");
		done(st);
	}
	unlock(q);
	return rc;
}

static int sq_msg_delete(hx_store *s, int64_t user, int64_t id)
{
	struct sq_store *q = SQ(s);
	lock(q);
	int rc = run_owned(q, ST_MSG_DELETE, user, id, "deleting a message", "no message");
	unlock(q);
	return rc;
}

static int sq_msg_list(hx_store *s, int64_t user, int64_t chat_id, int64_t before, int64_t after, int limit,
                       hx_msg **out, size_t *n, bool *more)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	int which = before > 0 ? ST_MSG_BEFORE : after > 0 ? ST_MSG_AFTER : ST_MSG_LATEST;
	lock(q);
	int rc = chat_owned(q, user, chat_id);
	if (!rc)
		rc = prep(q, which, &st);
	if (rc) {
		unlock(q);
		return rc;
	}
	sqlite3_bind_int64(st, 1, chat_id);
	sqlite3_bind_int(st, 2, limit + 1);
	if (which != ST_MSG_LATEST)
		sqlite3_bind_int64(st, 3, before > 0 ? before : after);
	hx_msg *v = NULL;
	size_t nv = 0;
	rc = read_msgs(q, st, (size_t)limit + 1, &v, &nv);
	done(st);
	unlock(q);
	if (rc)
		return rc;
	*more = nv > (size_t)limit;
	if (*more)
		hx_msg_clear(&v[--nv]);
	if (which != ST_MSG_AFTER) /* read newest first: make it chronological */
		for (size_t i = 0; i < nv / 2; i++) {
			hx_msg t = v[i];
			v[i] = v[nv - 1 - i];
			v[nv - 1 - i] = t;
		}
	if (nv == 0) {
		free(v);
		v = NULL;
	}
	*out = v;
	*n = nv;
	return 0;
}

static int sq_msg_all(hx_store *s, int64_t user, int64_t chat_id, int64_t from_id, hx_msg **out, size_t *n)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	lock(q);
	int rc = chat_owned(q, user, chat_id);
	if (!rc)
		rc = prep(q, ST_MSG_ALL, &st);
	if (!rc) {
		sqlite3_bind_int64(st, 1, chat_id);
		sqlite3_bind_int64(st, 2, from_id);
		rc = read_msgs(q, st, SIZE_MAX, out, n);
		done(st);
	}
	unlock(q);
	return rc;
}

static int sq_search(hx_store *s, int64_t user, const char *fts, int limit, int offset, hx_hit **out, size_t *n)
{
	struct sq_store *q = SQ(s);
	sqlite3_stmt *st = NULL;
	lock(q);
	int rc = prep(q, ST_SEARCH, &st);
	if (rc) {
		unlock(q);
		return rc;
	}
	bind_str(st, 1, fts);
	sqlite3_bind_int64(st, 2, user);
	sqlite3_bind_int(st, 3, limit);
	sqlite3_bind_int(st, 4, offset);
	hx_hit *v = hx_calloc((size_t)limit, sizeof *v);
	size_t nv = 0;
	int r = SQLITE_DONE;
	if (!v)
		rc = HEARTH_ENOMEM;
	while (!rc && nv < (size_t)limit && (r = sqlite3_step(st)) == SQLITE_ROW) {
		bool oom = false;
		hx_hit *h = &v[nv++];
		h->chat_id = sqlite3_column_int64(st, 0);
		h->message_id = sqlite3_column_int64(st, 1);
		h->chat_title = col_str(st, 2, &oom);
		h->role = hx_role_parse((const char *)sqlite3_column_text(st, 3));
		h->snippet = col_str(st, 4, &oom);
		h->created_ms = sqlite3_column_int64(st, 5);
		if (oom)
			rc = hx_err(HEARTH_ENOMEM, "out of memory reading search results");
	}
	if (!rc && r != SQLITE_ROW && r != SQLITE_DONE)
		rc = sq_err(q, r, "searching");
	done(st);
	unlock(q);
	if (rc) {
		hx_hit_list_free(v, nv);
		return rc;
	}
	if (nv == 0) {
		free(v);
		v = NULL;
	}
	*out = v;
	*n = nv;
	return 0;
}

static const struct hx_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .user_create = sq_user_create,
    .recover = sq_recover,
    .check = sq_check,
    .chat_create = sq_chat_create,
    .chat_get = sq_chat_get,
    .chat_list = sq_chat_list,
    .chat_update = sq_chat_update,
    .chat_touch = sq_chat_touch,
    .chat_delete = sq_chat_delete,
    .msg_add = sq_msg_add,
    .msg_update = sq_msg_update,
    .msg_get = sq_msg_get,
    .msg_delete = sq_msg_delete,
    .msg_list = sq_msg_list,
    .msg_all = sq_msg_all,
    .search = sq_search,
};

/* ---- opening ------------------------------------------------------------------------ */

/* Creates the missing directories of `path`'s parent, mode 0700 (existing ones
 * are left as they are). */
static int make_parent_dirs(const char *path)
{
	char *d = hx_strdup(path);
	if (!d)
		return HEARTH_ENOMEM;
	char *slash = strrchr(d, '/');
	if (!slash || slash == d) {
		free(d);
		return 0;
	}
	*slash = 0;
	for (char *p = d + 1;; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;
			*p = 0;
			if (mkdir(d, 0700) != 0 && errno != EEXIST) {
				int e = errno;
				int rc = hx_err(HEARTH_EIO, "cannot create the directory %s: %s", d, strerror(e));
				free(d);
				return rc;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	free(d);
	return 0;
}

/* A single-value PRAGMA read as an integer. */
static int pragma_int(struct sq_store *q, const char *name, int64_t *v)
{
	char buf[64];
	snprintf(buf, sizeof buf, "PRAGMA %s", name);
	sqlite3_stmt *st = NULL;
	int r = sqlite3_prepare_v2(q->db, buf, -1, &st, NULL);
	if (r != SQLITE_OK)
		return sq_err(q, r, "opening");
	r = sqlite3_step(st);
	*v = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : sq_err(q, r, "opening");
}

static int exec(struct sq_store *q, const char *text, const char *what)
{
	char *msg = NULL;
	int r = sqlite3_exec(q->db, text, NULL, NULL, &msg);
	sqlite3_free(msg);
	return r == SQLITE_OK ? 0 : sq_err(q, r, what);
}

/* Checks what the file is (read-only: nothing is changed in a file that is
 * not ours). */
static int identify(struct sq_store *q)
{
	int64_t app = 0, ver = 0, n_objects = 0;
	int rc;
	if ((rc = pragma_int(q, "application_id", &app)) || (rc = pragma_int(q, "user_version", &ver)))
		return rc;
	if (app != HEARTH_APP_ID) {
		sqlite3_stmt *st;
		int r = sqlite3_prepare_v2(q->db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
		if (r != SQLITE_OK)
			return sq_err(q, r, "opening");
		if ((r = sqlite3_step(st)) == SQLITE_ROW)
			n_objects = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (r != SQLITE_ROW)
			return sq_err(q, r, "opening");
		if (app != 0 || ver != 0 || n_objects != 0)
			return hx_err(HEARTH_EFORMAT, "not a hearth history database (it is an SQLite database of "
			                              "another program): use another file");
	}
	if (ver > N_MIGRATIONS)
		return hx_err(HEARTH_EUNSUPPORTED,
		              "the history database has schema version %" PRId64 ", made by a newer hearth (this "
		              "one knows versions up to %d): upgrade hearth",
		              ver, N_MIGRATIONS);
	if (ver < 0)
		return hx_err(HEARTH_EFORMAT, "the history database has a negative schema version");
	return 0;
}

/* Applies the missing migrations (under the exclusive lock, or after
 * another process did: the version is read again). */
static int migrate(struct sq_store *q)
{
	int64_t ver = 0;
	int rc;
	if ((rc = identify(q)) || (rc = pragma_int(q, "user_version", &ver)))
		return rc;
	for (int i = (int)ver; i < N_MIGRATIONS; i++) {
		char bump[64];
		snprintf(bump, sizeof bump, "PRAGMA user_version = %d", i + 1);
		if ((rc = exec(q, "BEGIN IMMEDIATE", "migrating the schema")))
			return rc;
		rc = exec(q, migrations[i], "migrating the schema");
		if (!rc)
			rc = exec(q, bump, "migrating the schema");
		if (!rc)
			rc = exec(q, "COMMIT", "migrating the schema");
		if (rc) {
			if (!sqlite3_get_autocommit(q->db))
				sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
			return hx_errprefix(rc, "migration %d: ", i + 1);
		}
	}
	return 0;
}

/* Takes "<path>.lock": exclusively when no other process has the store open
 * (*sole: then stale "streaming" messages are really interrupted ones), else
 * shared.  The lock is a separate file because closing any descriptor of the
 * database file itself would drop SQLite's POSIX locks on it. */
static int take_lock(struct sq_store *q, const char *path, bool *sole)
{
	size_t n = strlen(path) + sizeof ".lock";
	char *lp = hx_malloc(n);
	if (!lp)
		return HEARTH_ENOMEM;
	snprintf(lp, n, "%s.lock", path);
	q->lock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	int rc = 0;
	if (q->lock_fd < 0)
		rc = hx_err(HEARTH_EIO, "cannot create the lock file %s: %s", lp, strerror(errno));
	else if (flock(q->lock_fd, LOCK_EX | LOCK_NB) == 0)
		*sole = true;
	else if (errno == EWOULDBLOCK && flock(q->lock_fd, LOCK_SH) == 0)
		*sole = false;
	else
		rc = hx_err(HEARTH_EIO, "cannot lock %s: %s", lp, strerror(errno));
	free(lp);
	return rc;
}

int store_sqlite_open(const char *path, hx_store **out)
{
	*out = NULL;
	bool memory = strcmp(path, ":memory:") == 0, sole = true;
	int rc;
	if (!memory) {
		if ((rc = make_parent_dirs(path)))
			return rc;
		/* Create a new file ourselves for its mode (SQLite gives the -wal and
		 * -shm files the same one); an existing one is not opened here. */
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		else if (errno != EEXIST)
			return hx_err(HEARTH_EIO, "%s: cannot create the history database: %s", path, strerror(errno));
	}
	struct sq_store *q = hx_calloc(1, sizeof *q);
	if (!q)
		return HEARTH_ENOMEM;
	q->base.ops = &sqlite_ops;
	q->lock_fd = -1;
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&q->mu, &a);
	pthread_mutexattr_destroy(&a);
	q->path = hx_strdup(path);
	if (!q->path) {
		pthread_mutex_destroy(&q->mu);
		free(q);
		return HEARTH_ENOMEM;
	}
	int r = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (r != SQLITE_OK) {
		rc = q->db ? hx_err(HEARTH_EIO, "cannot open: %s", sqlite3_errmsg(q->db))
		           : hx_err(HEARTH_ENOMEM, "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(q->db, 1);
	/* A hostile file must not be able to make the schema lie. */
	sqlite3_db_config(q->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_busy_timeout(q->db, 5000);
	/* The first read: a file that is not a database fails here (NOTADB), one
	 * of another program in identify. */
	if ((rc = identify(q)))
		goto fail;
	if (!memory && (rc = take_lock(q, path, &sole)))
		goto fail;
	/* 16 MiB of page cache (the default is 2): chat lists and searches stay
	 * in memory for a history of tens of thousands of messages. */
	if ((rc = exec(q, "PRAGMA foreign_keys = ON", "opening")) ||
	    (rc = exec(q, "PRAGMA synchronous = FULL", "opening")) ||
	    (rc = exec(q, "PRAGMA cache_size = -16384", "opening")))
		goto fail;
	if (!memory) {
		sqlite3_stmt *st;
		r = sqlite3_prepare_v2(q->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
		if (r == SQLITE_OK)
			r = sqlite3_step(st);
		const char *mode = r == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
		bool wal = mode && strcmp(mode, "wal") == 0;
		sqlite3_finalize(st);
		if (r != SQLITE_ROW) {
			rc = sq_err(q, r, "opening");
			goto fail;
		}
		if (!wal) {
			rc = hx_err(HEARTH_EIO, "cannot switch the history database to WAL mode (is the file system "
			                        "a network one?)");
			goto fail;
		}
	}
	if ((rc = migrate(q)))
		goto fail;
	if (sole) {
		int64_t n;
		if ((rc = sq_recover(&q->base, STORE_INTERRUPTED, &n)))
			goto fail;
		if (q->lock_fd >= 0 && flock(q->lock_fd, LOCK_SH) != 0) {
			rc = hx_err(HEARTH_EIO, "cannot lock %s.lock: %s", path, strerror(errno));
			goto fail;
		}
	}
	*out = &q->base;
	return 0;
fail:
	hx_errprefix(rc, "%s: ", path);
	sq_close(&q->base);
	return rc;
}
